"""Ingest: discover deliveries under ``data/raw/<year>/<ORG>/``, keep every file, validate, load.

A delivery is an Excel workbook or a folder of CSV files inside the organisation's folder. Every
delivery is stored under its checksum in ``data/processed/inbox`` and recorded in ``submissions``; an
identical re-delivery is a no-op. Accepted deliveries are loaded into the fact tables in one transaction
each and supersede the organisation's earlier version for that year; rejected ones change nothing.
Nothing under ``data/raw`` is followed or read unless it is a regular file: a link, FIFO or device is
recorded as a delivery with a finding (``docs/reliability.md``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

from .cases import MAX_CASE_LINE_BYTES, is_case_file
from .findings import Finding
from .readers import RawSubmission, not_regular_finding, read_deliveries
from .registry import Registry, load_organisations, registry
from .safe_files import (
    SPECIAL_KINDS,
    LineLengthCheck,
    NotRegularFile,
    entry_kind,
    line_number_at,
    open_regular,
)
from .safe_text import ascii_year, looks_like_number, register_code
from .validation import History, Item, Validator
from .warehouse import (
    connect,
    fact_columns,
    init_schema,
    sync_organisations,
    transaction,
)
from .workspace import OutOfSpace, Workspace, atomic_write_text, is_out_of_space

_SAFE = re.compile(r"[^A-Za-z0-9_-]")
LINK_THRESHOLD_BYTES = 64 * 1024 * 1024
MIN_YEAR, MAX_YEAR = 1990, 2100


@dataclass
class Delivery:
    path: Path
    org_folder: str
    year: int
    name: str
    sha256: str
    size: int
    received_at: dt.datetime
    files: list[tuple[str, str, int, Path]] = field(default_factory=list)   # (name, sha256, size, path)
    kind: str = "file"                     # file | dir, or symlink | fifo | device | socket | other (not read)
    refused: list[tuple[str, str]] = field(default_factory=list)   # links and special files in a folder: (name, kind)
    long_lines: dict[str, tuple[int, int] | None] = field(default_factory=dict)   # case CSV path -> (line, length)
    year_folder: str = ""                  # the name of the year folder it was found in

    @property
    def fmt(self) -> str:
        if self.kind == "dir":
            return "csv"
        if self.kind in SPECIAL_KINDS:
            return self.kind
        return self.path.suffix.lower().lstrip(".") or "unknown"


@dataclass
class IngestResult:
    submission_id: int
    org_code: str
    year: int
    version: int
    name: str
    status: str
    n_errors: int
    n_warnings: int
    findings: list[Finding]


def _digest(path: Path, case_csv: bool = False) -> tuple[str, int, tuple[int, int] | None]:
    """SHA-256 and size of a regular file (never a link or special file: raises NotRegularFile); for a
    case CSV file also the first line longer than ``MAX_CASE_LINE_BYTES`` (line number, length), found
    in the same pass."""
    h = hashlib.sha256()
    size = 0
    check = LineLengthCheck(MAX_CASE_LINE_BYTES) if case_csv else None
    with open_regular(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
            if check is not None:
                check.feed(chunk)
        found = check.finish() if check is not None else None
        long_line = (line_number_at(fh, found[0]), found[1]) if found else None
    return h.hexdigest(), size, long_line


def _sha256(path: Path) -> tuple[str, int]:
    sha, size, _ = _digest(path)
    return sha, size


def _mtime(path: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(os.lstat(path).st_mtime), tz=dt.timezone.utc).replace(tzinfo=None)


def _printable_name(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (kept by the OS as surrogates) become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _text(value: str | None) -> str | None:
    return None if value is None else _printable_name(value)


def _listing(folder: Path) -> list[tuple[str, Path, str]]:
    """(name, path, kind) of a folder's entries, hidden ones left out, sorted by name; kinds from lstat,
    so nothing behind a link is ever listed."""
    with os.scandir(folder) as it:
        entries = [(e.name, Path(e.path)) for e in it if not e.name.startswith(".")]
    return [(name, path, entry_kind(path)) for name, path in sorted(entries)]


def _special(path: Path, org_folder: str, year: int, kind: str, year_folder: str) -> Delivery:
    """A link or special file where a delivery was expected: recorded (never read), under a checksum of
    what it is, so the same link is reported once."""
    target = b""
    if kind == "symlink":
        try:
            target = os.fsencode(os.readlink(path))
        except OSError:
            pass
    sha = hashlib.sha256(kind.encode() + b"\0" + os.fsencode(path.name) + b"\0" + target).hexdigest()
    try:
        received = _mtime(path)
    except OSError:
        received = dt.datetime(1970, 1, 1)
    return Delivery(path, _printable_name(org_folder), year, _printable_name(path.name), sha, 0, received, [],
                    kind=kind, year_folder=_printable_name(year_folder))


def describe(path: Path, org_folder: str, year: int, kind: str | None = None, year_folder: str = "") -> Delivery:
    """Checksum and metadata of one delivery (a file, or a folder whose checksum covers its files).

    Nothing is followed or read unless it is a regular file: a link, FIFO, device or socket as the delivery
    is recorded as such (see ``_special``); inside a folder it is listed in ``refused`` (and in the checksum)."""
    kind = kind or entry_kind(path)
    year_folder = year_folder or (path.parent.parent.name if org_folder else path.parent.name)
    if kind == "dir":
        files, refused, long_lines = [], [], {}
        for name, p, k in _listing(path):
            if k == "dir" or k == "missing":
                continue
            if k == "file":
                try:
                    sha, size, long_line = _digest(p, case_csv=is_case_file(p) and p.suffix.lower() == ".csv")
                except NotRegularFile as exc:     # swapped for a link or FIFO since it was listed
                    refused.append((_printable_name(name), exc.kind))
                    continue
                files.append((_printable_name(name), sha, size, p))
                if is_case_file(p):
                    long_lines[str(p)] = long_line
            else:
                refused.append((_printable_name(name), k))
        manifest = "".join(f"{n}\t{s}\n" for n, s, _, _ in files) + "".join(f"{n}\t({k})\n" for n, k in refused)
        sha = hashlib.sha256(manifest.encode()).hexdigest()
        size = sum(f[2] for f in files)
        received = max([_mtime(p) for *_, p in files], default=_mtime(path))
        return Delivery(path, _printable_name(org_folder), year, _printable_name(path.name), sha, size, received,
                        files, kind="dir", refused=refused, long_lines=long_lines, year_folder=_printable_name(year_folder))
    if kind == "file":
        try:
            sha, size, _ = _digest(path)
        except NotRegularFile as exc:
            kind = exc.kind
        else:
            return Delivery(path, _printable_name(org_folder), year, _printable_name(path.name), sha, size, _mtime(path),
                            [(_printable_name(path.name), sha, size, path)], year_folder=_printable_name(year_folder))
    return _special(path, org_folder, year, kind, year_folder)


def discover(ws: Workspace, year: int | None = None) -> list[Delivery]:
    """Every delivery under ``data/raw/<year>/<ORG>/``. Year folders are names of four ASCII digits (a name
    of other digits, such as ``２０２４`` or ``²⁰²⁵``, is year 0 and gets a finding); a link or special file
    at any level is a delivery that gets a finding and is never followed or read."""
    out: list[Delivery] = []
    if not ws.raw.is_dir():
        return out
    for yname, ydir, ykind in _listing(ws.raw):
        y = ascii_year(yname, MIN_YEAR, MAX_YEAR) or 0
        if ykind in SPECIAL_KINDS:
            if year is None or y == year:
                out.append(_special(ydir, "", y, ykind, yname))
            continue
        if ykind != "dir" or not looks_like_number(yname):
            continue
        if year is not None and y != year:
            continue
        for oname, odir, okind in _listing(ydir):
            if okind == "missing":
                continue
            if okind != "dir":
                out.append(describe(odir, "", y, okind, yname))     # a file or link outside an organisation folder
                continue
            for _, entry, ekind in _listing(odir):
                if ekind != "missing":
                    out.append(describe(entry, oname, y, ekind, yname))
    out.sort(key=lambda d: (d.year, d.received_at, d.org_folder, d.name))
    return out


def history_for(con: duckdb.DuckDBPyConnection, reg: Registry) -> History:
    """Accepted values in force, per organisation and year, for the plausibility checks."""
    h = History()
    org_fields = [f.code for f in reg.sheet("organisatie").fields if f.is_numeric]
    for rec in con.execute(f"SELECT org_code, year, {', '.join(org_fields)} FROM v_organisatie").fetch_df().to_dict("records"):
        h.org_values[(rec["org_code"], int(rec["year"]))] = {k: float(rec[k]) for k in org_fields if pd.notna(rec[k])}
    prod_fields = [f.code for f in reg.sheet("producten").fields if f.is_numeric]
    for rec in con.execute(f"SELECT org_code, year, product_code, {', '.join(prod_fields)} FROM v_producten").fetch_df().to_dict("records"):
        if isinstance(rec["product_code"], str):
            h.product_values[(rec["org_code"], int(rec["year"]), rec["product_code"])] = {
                k: float(rec[k]) for k in prod_fields if pd.notna(rec[k])}
    return h


def _copy_regular(src: Path, dst: Path) -> None:
    """Copy a regular file (opened without following links) to ``dst``; a partial copy is removed."""
    try:
        with open_regular(src) as fin, open(dst, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
    except OSError as exc:
        dst.unlink(missing_ok=True)
        if exc.filename is None and not isinstance(exc, NotRegularFile):   # a failed write names no file
            raise OSError(exc.errno, exc.strerror, str(dst)) from exc
        raise
    except BaseException:
        dst.unlink(missing_ok=True)
        raise


def _store(ws: Workspace, d: Delivery, org_code: str) -> str:
    """Copy the delivery into the inbox under its checksum; returns the stored path (relative to the root).

    A folder (and a link or special file, which is never copied) is stored as a manifest of what it held."""
    safe_org = _SAFE.sub("_", org_code) or "_onbekend"
    target_dir = ws.inbox / safe_org / str(d.year)
    target_dir.mkdir(parents=True, exist_ok=True)
    stored = []
    for name, sha, size, src in d.files:
        suffix = Path(name).suffix.lower()
        suffix = suffix if suffix in (".xlsx", ".xlsm", ".csv", ".txt", ".parquet") else ".bin"
        target = target_dir / f"{sha}{suffix}"
        if not target.exists():
            tmp = target.with_name(target.name + ".part")
            tmp.unlink(missing_ok=True)
            if size >= LINK_THRESHOLD_BYTES:
                try:
                    os.link(src, tmp, follow_symlinks=False)   # large case files: no second copy, read-only
                except OSError as exc:
                    if is_out_of_space(exc):
                        raise
                    _copy_regular(src, tmp)
                else:
                    if entry_kind(tmp) != "file":      # the source became a link since it was read
                        tmp.unlink()
                        raise NotRegularFile(src, "symlink")
                    os.chmod(tmp, 0o444)
            else:
                _copy_regular(src, tmp)
            tmp.replace(target)
        stored.append(target)
    if d.kind != "file":
        manifest = target_dir / f"{d.sha256}.manifest.tsv"
        text = "".join(f"{n}\t{s}\t{sz}\n" for n, s, sz, _ in d.files)
        text += "".join(f"{n}\t({k})\t0\n" for n, k in d.refused)
        if d.kind != "dir":
            text += f"{d.name}\t({d.kind})\t0\n"
        if not manifest.exists() or manifest.read_text("utf-8", errors="replace") != text:
            atomic_write_text(manifest, text)
        return str(manifest.relative_to(ws.root))
    return str(stored[0].relative_to(ws.root)) if stored else ""


def folder_org(d: Delivery) -> str | None:
    """The organisation a delivery belongs to: its folder's name, upper-cased only where it is plain ASCII
    (so that a look-alike such as 'cjıb' never turns into a register code)."""
    if not d.org_folder:
        return None
    return d.org_folder.upper() if d.org_folder.isascii() else d.org_folder


def _fact_frame(reg: Registry, sheet_code: str, frame: pd.DataFrame, sid: int, org: str, year: int) -> pd.DataFrame:
    n = len(frame)
    data: dict[str, object] = {
        "submission_id": np.full(n, sid, dtype="int32"),
        "org_code": pd.Series([org] * n, dtype="string[pyarrow]"),
        "year": np.full(n, year, dtype="int32"),
        "source_row": frame["__row"].to_numpy(dtype="int32"),
    }
    for name, sqltype in fact_columns(reg, sheet_code)[4:]:
        numeric = sqltype in ("BIGINT", "DOUBLE")
        if name == "jaar":
            data[name] = np.full(n, float(year))
        elif name in frame.columns:
            data[name] = (frame[name].to_numpy(dtype="float64") if numeric
                          else pd.Series(frame[name].to_numpy(dtype=object), dtype="string[pyarrow]"))
        else:
            data[name] = np.full(n, np.nan) if numeric else pd.Series([None] * n, dtype="string[pyarrow]")
    return pd.DataFrame(data)


def scan_cases(deliveries: list[Delivery], items: list[Item], reg: Registry) -> dict[int, list]:
    """Validate and aggregate the case files of each delivery (DuckDB, streaming); findings join the item's.

    A case file that cannot be read is a finding on its own delivery; it never stops the run."""
    from .cases import CaseScan, scan_case_files, unreadable_finding, validate_frames
    out: dict[int, list] = {}
    scans = []
    checked = {path: found for d in deliveries for path, found in d.long_lines.items()}
    for year in sorted({d.year for d in deliveries}):
        owners = [(item, path) for d, item in zip(deliveries, items) if d.year == year for path in item.raw.case_files]
        if not owners:
            continue
        paths = [p for _, p in owners]
        try:
            year_scans = scan_case_files(paths, year, reg, validate=False,
                                         long_lines={str(p): checked[str(p)] for p in paths if str(p) in checked})
        except Exception as exc:  # a second line of defence: scan_case_files reports per file
            if is_out_of_space(exc):
                raise
            year_scans = [CaseScan(path=p, findings=[unreadable_finding(p, exc)]) for p in paths]
        for (item, _), scan in zip(owners, year_scans):
            scans.append(scan)
            out.setdefault(item.key, []).append(scan)
    try:
        validate_frames(scans, reg)
    except Exception as exc:  # never let the case validation stop the run
        if is_out_of_space(exc):
            raise
        for scan in scans:
            if scan.frame is not None:
                scan.findings.append(unreadable_finding(scan.path, exc))
                scan.frame = None
    for item in items:
        for scan in out.get(item.key, []):
            item.findings.extend(scan.findings)
    return out


def _record(con: duckdb.DuckDBPyConnection, reg: Registry, ws: Workspace, d: Delivery, item: Item,
            org_code: str, case_scans: list | None = None) -> IngestResult:
    try:
        stored = _store(ws, d, org_code)
    except (NotRegularFile, FileNotFoundError):
        # replaced by a link or removed while this run read it: recorded as rejected, nothing stored
        stored = ""
        item.findings.append(Finding(
            "error", "file_changed",
            f"{d.name} is tijdens het inlezen veranderd of verwijderd; het is niet opgeslagen. Lever het opnieuw aan.",
            f"{d.name} changed or disappeared while it was being read; it was not stored. Please deliver it again.",
            cell=d.name))
    accepted = item.n_errors == 0
    status = ("accepted_with_warnings" if item.n_warnings > item.n_warnings_explained else "accepted") if accepted else "rejected"
    with transaction(con):
        sid = con.execute("SELECT coalesce(max(submission_id), 0) + 1 FROM submissions").fetchone()[0]
        version = con.execute("SELECT count(*) + 1 FROM submissions WHERE org_code = ? AND year = ?",
                              [org_code, d.year]).fetchone()[0]
        if accepted:
            con.execute("UPDATE submissions SET in_force = false, status = 'superseded' "
                        "WHERE org_code = ? AND year = ? AND in_force", [org_code, d.year])
        con.execute(
            "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [sid, org_code, d.year, version, d.sha256, d.name, d.fmt, d.size, d.received_at, stored,
             item.raw.encoding, status, item.n_errors, item.n_warnings, item.n_warnings_explained, accepted, reg.version])
        for name, sha, size, _ in d.files:
            con.execute("INSERT INTO submission_files VALUES (?, ?, ?, ?, ?)", [sid, name, sha, size, stored])
        if item.findings:
            t = _text
            fdf = pd.DataFrame([{
                "submission_id": sid, "org_code": org_code, "year": d.year, "version": version, "seq": i,
                "severity": f.severity, "rule": f.rule, "sheet": f.sheet, "cell": t(f.cell), "row_number": f.row,
                "field": t(f.field), "value": t(f.value), "message_nl": t(f.message_nl), "message_en": t(f.message_en),
                "explained": f.explained, "explanation": t(f.explanation)} for i, f in enumerate(item.findings, 1)])
            fdf["row_number"] = fdf["row_number"].astype("Int64")
            con.register("_findings", fdf)
            con.execute("INSERT INTO findings SELECT * FROM _findings")
            con.unregister("_findings")
        if accepted:
            for sheet in reg.sheets:
                frame = item.frames.get(sheet.code)
                if frame is None or frame.empty:
                    continue
                facts = _fact_frame(reg, sheet.code, frame, sid, org_code, d.year)
                con.register("_facts", facts)
                names = ", ".join(f'"{c}"' for c in facts.columns)
                con.execute(f"INSERT INTO f_{sheet.code} ({names}) SELECT {names} FROM _facts")
                con.unregister("_facts")
            from .cases import aggregate_rows
            shas = {name: sha for name, sha, _, _ in d.files}
            for scan in case_scans or []:
                rows = aggregate_rows(scan, sid, org_code, d.year, shas.get(scan.path.name, ""))
                con.register("_agg", rows)
                con.execute("INSERT INTO f_zaken_agg SELECT * FROM _agg")
                con.unregister("_agg")
    return IngestResult(sid, org_code, d.year, version, d.name, status, item.n_errors, item.n_warnings, item.findings)


MAX_REFUSED_SHOWN = 20


def _folder_findings(d: Delivery, org_codes: set[str]) -> list[Finding]:
    """Findings on where a delivery is and what it is, before anything is read (rules without the
    ``file_`` prefix that ``read_items`` adds)."""
    if d.kind in SPECIAL_KINDS:
        return [not_regular_finding(d.name, d.kind, rule_prefix="")]
    if d.year == 0:
        folder = d.year_folder or (d.path.parent.parent.name if d.org_folder else d.path.parent.name)
        return [Finding("error", "year_folder",
                        f"De map '{folder}' is geen geldig verslagjaar (vier cijfers 0–9, {MIN_YEAR}–{MAX_YEAR}); plaats de levering in data/raw/<jaar>/<ORGANISATIECODE>/.",
                        f"The folder '{folder}' is not a valid reporting year (four digits 0–9, {MIN_YEAR}–{MAX_YEAR}); put the delivery in data/raw/<year>/<ORGANISATION CODE>/.",
                        cell=d.name)]
    if not d.org_folder:
        return [Finding("error", "org_folder",
                        f"{d.name} staat niet in een map per organisatie. Plaats leveringen in data/raw/{d.year}/<ORGANISATIECODE>/.",
                        f"{d.name} is not in a folder per organisation. Put deliveries in data/raw/{d.year}/<ORGANISATION CODE>/.",
                        cell=d.name)]
    code, suggestion = register_code(d.org_folder, org_codes)
    if code is None:
        hint_nl = f" Bedoelt u {suggestion}? Gebruik de code precies zo, in gewone letters (A–Z)." if suggestion else ""
        hint_en = f" Did you mean {suggestion}? Use the code exactly, in plain letters (A–Z)." if suggestion else ""
        return [Finding("error", "org_unknown",
                        f"De map '{d.org_folder}' is geen organisatiecode uit het RBB-register.{hint_nl}",
                        f"The folder '{d.org_folder}' is not an organisation code in the RBB register.{hint_en}",
                        cell=d.name, value=d.org_folder[:80])]
    out = []
    for name, kind in d.refused[:MAX_REFUSED_SHOWN]:
        f = not_regular_finding(name, kind, rule_prefix="")
        out.append(Finding(f.severity, f.rule, f"In de levering {d.name}: {f.message_nl}",
                           f"In the delivery {d.name}: {f.message_en}", cell=f"{d.name}/{name}"))
    if len(d.refused) > MAX_REFUSED_SHOWN:
        n = len(d.refused) - MAX_REFUSED_SHOWN
        out.append(Finding("error", "link", f"Nog {n} koppelingen of bijzondere bestanden in {d.name}; geen ervan is gelezen.",
                           f"{n} more links or special files in {d.name}; none of them was read.", cell=d.name))
    return out


def _expected_org(d: Delivery, org_codes: set[str]) -> str | None:
    """The register code of the delivery's organisation folder (None outside one, or for a name that is
    not exactly a code)."""
    return register_code(d.org_folder, org_codes)[0] if d.org_folder else None


def _key_org(d: Delivery, org_codes: set[str]) -> str:
    """The organisation a submission is recorded under: its delivery folder, never the code in the file. A
    register code as the register spells it; any other folder name as written (upper-cased only when plain
    ASCII), so a look-alike (``cjıb``, whose upper case is CJIB) is never recorded under the code it imitates;
    '_ONBEKEND' outside an organisation folder."""
    if not d.org_folder:
        return "_ONBEKEND"
    return _expected_org(d, org_codes) or folder_org(d) or "_ONBEKEND"


def read_items(deliveries: list[Delivery], reg: Registry, org_codes: set[str], workers: int = 2) -> list[Item]:
    """Read every delivery that passed the folder checks: workbooks and CSV folders are parsed in batches,
    one child process per worker (a file that takes its child down is retried alone); links and special
    files are never read."""
    pre_findings = {i: _folder_findings(d, org_codes) for i, d in enumerate(deliveries)}
    todo = [i for i in range(len(deliveries)) if not pre_findings[i]]
    raws = dict(zip(todo, read_deliveries([deliveries[i].path for i in todo], reg, workers)))
    items = []
    for i, d in enumerate(deliveries):
        raw = raws.get(i) or RawSubmission(fmt=d.fmt)
        pre = pre_findings[i]
        raw.findings[:0] = [Finding(f.severity, "file_" + f.rule, f.message_nl, f.message_en, cell=f.cell, value=f.value)
                            for f in pre]
        items.append(Item(key=i, raw=raw, expected_org=_expected_org(d, org_codes), expected_year=d.year))
    return items


def ingest(ws: Workspace, year: int | None = None, progress: Callable[[str, int, int], None] | None = None) -> list[IngestResult]:
    """Ingest every new delivery (optionally of one year); returns one result per new delivery.

    Each delivery is recorded in its own transaction. When the disk fills up, :class:`OutOfSpace` says how
    far it got: the deliveries recorded before are complete, the one being written is not recorded."""
    reg = registry()
    orgs = load_organisations(ws.root)
    org_codes = {o.org_code for o in orgs}
    results: list[IngestResult] = []
    deliveries: list[Delivery] = []
    stage = "opening"
    con = None
    try:
        con = connect(ws.db_path)
        init_schema(con, reg)
        sync_organisations(con, orgs)
        known = {(o, y, s) for o, y, s in con.execute("SELECT org_code, year, sha256 FROM submissions").fetchall()}
        seen: set[tuple[str, int, str]] = set()
        for d in discover(ws, year):
            key = (_key_org(d, org_codes), d.year, d.sha256)
            if key not in known and key not in seen:
                seen.add(key)
                deliveries.append(d)
        validator = Validator(reg, sorted(org_codes))
        if progress:
            progress("reading", 0, len(deliveries))
        stage = "reading"
        items = read_items(deliveries, reg, org_codes)
        if progress:
            progress("validating", 0, len(deliveries))
        validator.validate(items, history_for(con, reg))
        scans = scan_cases(deliveries, items, reg)
        stage = "recording"
        for done, (d, item) in enumerate(zip(deliveries, items), start=1):
            results.append(_record(con, reg, ws, d, item, _key_org(d, org_codes), scans.get(item.key, [])))
            if progress:
                progress(f"{d.year} {d.org_folder or d.name}", done, len(deliveries))
        stage = "checkpoint"
        con.execute("CHECKPOINT")
    except Exception as exc:
        if is_out_of_space(exc):
            raise OutOfSpace(_ingest_state(stage, len(results), len(deliveries)), exc) from exc
        raise
    finally:
        if con is not None:
            with contextlib.suppress(Exception):   # a connection DuckDB invalidated after a failed write
                con.close()
    return results


def _ingest_state(stage: str, recorded: int, total: int) -> tuple[str, str]:
    if stage == "checkpoint":
        return (f"alle {total} nieuwe leveringen zijn vastgelegd (in het logbestand van het warehouse, dat bij de volgende run wordt verwerkt)",
                f"all {total} new deliveries were recorded (in the warehouse's log file, which the next run merges)")
    if stage == "recording":
        return (f"{recorded} van de {total} nieuwe leveringen zijn volledig vastgelegd; de levering die werd geschreven is niet vastgelegd (niets half)",
                f"{recorded} of {total} new deliveries were recorded completely; the one being written was not recorded (nothing half-written)")
    return ("er is niets veranderd", "nothing was changed")


def check_files(paths: list[Path]) -> list[tuple[Path, Item]]:
    """Validate files without loading them (``rbb check``): organisation and year come from the files.
    Read in batches like ingest; a file that breaks a reader (or does not exist, or is a link) is a
    finding, never a traceback."""
    reg = registry()
    org_codes = {o.org_code for o in load_organisations(None)}
    raws = read_deliveries([Path(p) for p in paths], reg)
    items = [Item(key=i, raw=raw, expected_org=None, expected_year=None) for i, raw in enumerate(raws)]
    Validator(reg, sorted(org_codes)).validate(items, History())
    return list(zip(paths, items))
