"""Ingest: discover deliveries under ``data/raw/<year>/<ORG>/``, keep every file, validate, load.

A delivery is an Excel workbook or a folder of CSV files inside the organisation's folder. Every
delivery is stored under its checksum in ``data/processed/inbox`` and recorded in ``submissions``; an
identical re-delivery is a no-op. Accepted deliveries are loaded into the fact tables in one transaction
each and supersede the organisation's earlier version for that year; rejected ones change nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

from .findings import Finding
from .readers import EXCEL_SUFFIXES, RawSubmission, inspect_workbook, parse_workbooks, read_submission, read_workbook
from .registry import Registry, load_organisations, registry
from .validation import History, Item, Validator
from .warehouse import connect, fact_columns, init_schema, sync_organisations, transaction
from .workspace import Workspace, atomic_write_text

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

    @property
    def fmt(self) -> str:
        return "csv" if self.path.is_dir() else (self.path.suffix.lower().lstrip(".") or "unknown")


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


def _sha256(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _mtime(path: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(path.stat().st_mtime), tz=dt.timezone.utc).replace(tzinfo=None)


def _printable_name(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (kept by the OS as surrogates) become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _text(value: str | None) -> str | None:
    return None if value is None else _printable_name(value)


def describe(path: Path, org_folder: str, year: int) -> Delivery:
    """Checksum and metadata of one delivery (a file, or a folder whose checksum covers its files)."""
    if path.is_dir():
        files = []
        for p in sorted(x for x in path.iterdir() if x.is_file() and not x.name.startswith(".")):
            sha, size = _sha256(p)
            files.append((_printable_name(p.name), sha, size, p))
        manifest = "".join(f"{n}\t{s}\n" for n, s, _, _ in files).encode()
        sha = hashlib.sha256(manifest).hexdigest()
        size = sum(f[2] for f in files)
        received = max([_mtime(p) for *_, p in files], default=_mtime(path))
    else:
        sha, size = _sha256(path)
        files = [(_printable_name(path.name), sha, size, path)]
        received = _mtime(path)
    return Delivery(path, _printable_name(org_folder), year, _printable_name(path.name), sha, size, received, files)


def discover(ws: Workspace, year: int | None = None) -> list[Delivery]:
    out: list[Delivery] = []
    if not ws.raw.exists():
        return out
    for ydir in sorted(p for p in ws.raw.iterdir() if p.is_dir() and p.name.isdigit()):
        y = int(ydir.name) if MIN_YEAR <= int(ydir.name) <= MAX_YEAR and len(ydir.name) == 4 else 0
        if year is not None and y != year:
            continue
        for odir in sorted(p for p in ydir.iterdir() if not p.name.startswith(".")):
            if odir.is_file():
                out.append(describe(odir, "", y))
                continue
            for entry in sorted(p for p in odir.iterdir() if not p.name.startswith(".")):
                out.append(describe(entry, odir.name, y))
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


def _store(ws: Workspace, d: Delivery, org_code: str) -> str:
    """Copy the delivery into the inbox under its checksum; returns the stored path (relative to the root)."""
    safe_org = _SAFE.sub("_", org_code) or "_onbekend"
    target_dir = ws.inbox / safe_org / str(d.year)
    target_dir.mkdir(parents=True, exist_ok=True)
    stored = []
    for name, sha, _, src in d.files:
        suffix = Path(name).suffix.lower()
        suffix = suffix if suffix in (".xlsx", ".xlsm", ".csv", ".txt", ".parquet") else ".bin"
        target = target_dir / f"{sha}{suffix}"
        if not target.exists():
            tmp = target.with_name(target.name + ".part")
            tmp.unlink(missing_ok=True)
            if src.stat().st_size >= LINK_THRESHOLD_BYTES:
                try:
                    os.link(src, tmp)      # large case files: keep them without a second copy, read-only
                    os.chmod(tmp, 0o444)
                except OSError:
                    shutil.copyfile(src, tmp)
            else:
                shutil.copyfile(src, tmp)
            tmp.replace(target)
        stored.append(target)
    if d.path.is_dir():
        manifest = target_dir / f"{d.sha256}.manifest.tsv"
        text = "".join(f"{n}\t{s}\t{sz}\n" for n, s, sz, _ in d.files)
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


def _org_of(item: Item, d: Delivery) -> str:
    """The organisation a submission is recorded under: its delivery folder, never the code in the file
    (a file in another folder without an organisation folder is recorded as '_ONBEKEND')."""
    return folder_org(d) or "_ONBEKEND"


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
    """Validate and aggregate the case files of each delivery (DuckDB, streaming); findings join the item's."""
    from .cases import scan_case_files, validate_frames
    out: dict[int, list] = {}
    scans = []
    for year in sorted({d.year for d in deliveries}):
        owners = [(item, path) for d, item in zip(deliveries, items) if d.year == year for path in item.raw.case_files]
        if not owners:
            continue
        for (item, _), scan in zip(owners, scan_case_files([p for _, p in owners], year, reg, validate=False)):
            scans.append(scan)
            out.setdefault(item.key, []).append(scan)
    validate_frames(scans, reg)
    for item in items:
        for scan in out.get(item.key, []):
            item.findings.extend(scan.findings)
    return out


def _record(con: duckdb.DuckDBPyConnection, reg: Registry, ws: Workspace, d: Delivery, item: Item,
            org_code: str, case_scans: list | None = None) -> IngestResult:
    stored = _store(ws, d, org_code)
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


def _folder_findings(d: Delivery, org_codes: set[str]) -> list[Finding]:
    if d.year == 0:
        folder = d.path.parent.parent.name if d.org_folder else d.path.parent.name
        return [Finding("error", "year_folder",
                        f"De map '{folder}' is geen geldig verslagjaar ({MIN_YEAR}–{MAX_YEAR}); plaats de levering in data/raw/<jaar>/<ORGANISATIECODE>/.",
                        f"The folder '{folder}' is not a valid reporting year ({MIN_YEAR}–{MAX_YEAR}); put the delivery in data/raw/<year>/<ORGANISATION CODE>/.",
                        cell=d.name)]
    if not d.org_folder:
        return [Finding("error", "org_folder",
                        f"{d.name} staat niet in een map per organisatie. Plaats leveringen in data/raw/{d.year}/<ORGANISATIECODE>/.",
                        f"{d.name} is not in a folder per organisation. Put deliveries in data/raw/{d.year}/<ORGANISATION CODE>/.",
                        cell=d.name)]
    if d.org_folder.upper() not in org_codes:
        return [Finding("error", "org_unknown",
                        f"De map '{d.org_folder}' is geen organisatiecode uit het RBB-register.",
                        f"The folder '{d.org_folder}' is not an organisation code in the RBB register.", cell=d.name)]
    return []


def read_items(deliveries: list[Delivery], reg: Registry, org_codes: set[str], workers: int = 2) -> list[Item]:
    """Read every delivery. Workbooks that pass the container checks are parsed in batches, one child
    process per worker; a workbook that takes its child down is retried alone."""
    pre_findings = {i: _folder_findings(d, org_codes) for i, d in enumerate(deliveries)}
    workbooks: dict[int, Path] = {}
    inspected: dict[int, list[Finding]] = {}
    for i, d in enumerate(deliveries):
        if not pre_findings[i] and d.path.is_file() and d.path.suffix.lower() in EXCEL_SUFFIXES:
            try:
                inspected[i] = inspect_workbook(d.path)
            except Exception as exc:  # never let one file stop the run
                inspected[i] = [Finding("error", "file_corrupt", f"{d.name} is beschadigd ({type(exc).__name__}).",
                                        f"{d.name} is damaged ({type(exc).__name__}).", cell=d.name)]
            if not inspected[i]:
                workbooks[i] = d.path
    keys = list(workbooks)
    chunks = [keys[k::workers] for k in range(workers)]
    parsed: dict[Path, tuple] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for part in pool.map(lambda ks: parse_workbooks([workbooks[k] for k in ks]) if ks else {}, chunks):
            parsed.update(part)

    def one(args: tuple[int, Delivery]) -> Item:
        i, d = args
        try:
            return read_one(i, d)
        except Exception as exc:  # a file that breaks a reader is a finding on that delivery, never a stop
            raw = RawSubmission(fmt=d.fmt)
            raw.findings.append(Finding(
                "error", "file_corrupt",
                f"{d.name} kon niet worden gelezen ({type(exc).__name__}); het bestand is beschadigd. Sla het opnieuw op en lever het opnieuw aan.",
                f"{d.name} could not be read ({type(exc).__name__}); the file is damaged. Save it again and resend it.",
                cell=d.name))
            return Item(key=i, raw=raw, expected_org=folder_org(d), expected_year=d.year)

    def read_one(i: int, d: Delivery) -> Item:
        pre = pre_findings[i]
        if pre:
            raw = RawSubmission(fmt=d.fmt)
        elif i in inspected:
            raw = read_workbook(d.path, reg, parsed[workbooks[i]]) if i in workbooks else RawSubmission(fmt="xlsx", findings=list(inspected[i]))
        else:
            raw = read_submission(d.path, reg)
        raw.findings[:0] = [Finding(f.severity, "file_" + f.rule, f.message_nl, f.message_en, cell=f.cell) for f in pre]
        return Item(key=i, raw=raw, expected_org=folder_org(d), expected_year=d.year)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, enumerate(deliveries)))


def ingest(ws: Workspace, year: int | None = None, progress: Callable[[str, int, int], None] | None = None) -> list[IngestResult]:
    """Ingest every new delivery (optionally of one year); returns one result per new delivery."""
    reg = registry()
    orgs = load_organisations(ws.root)
    org_codes = {o.org_code for o in orgs}
    con = connect(ws.db_path)
    results: list[IngestResult] = []
    try:
        init_schema(con, reg)
        sync_organisations(con, orgs)
        known = {(o, y, s) for o, y, s in con.execute("SELECT org_code, year, sha256 FROM submissions").fetchall()}
        deliveries = [d for d in discover(ws, year)
                      if (folder_org(d) or "_ONBEKEND", d.year, d.sha256) not in known]
        seen: set[tuple[str, int, str]] = set()
        unique = []
        for d in deliveries:
            key = (folder_org(d) or "_ONBEKEND", d.year, d.sha256)
            if key not in seen:
                seen.add(key)
                unique.append(d)
        deliveries = unique
        validator = Validator(reg, sorted(org_codes))
        if progress:
            progress("reading", 0, len(deliveries))
        items = read_items(deliveries, reg, org_codes)
        if progress:
            progress("validating", 0, len(deliveries))
        validator.validate(items, history_for(con, reg))
        scans = scan_cases(deliveries, items, reg)
        for done, (d, item) in enumerate(zip(deliveries, items), start=1):
            results.append(_record(con, reg, ws, d, item, _org_of(item, d), scans.get(item.key, [])))
            if progress:
                progress(f"{d.year} {d.org_folder or d.name}", done, len(deliveries))
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return results


def check_files(paths: list[Path]) -> list[tuple[Path, Item]]:
    """Validate files without loading them (``rbb check``): organisation and year come from the files."""
    reg = registry()
    org_codes = {o.org_code for o in load_organisations(None)}
    items = []
    for i, p in enumerate(paths):
        if not p.exists():
            raw = RawSubmission(fmt="unknown")
            raw.findings.append(Finding("error", "file_missing", f"{p} bestaat niet.", f"{p} does not exist.", cell=str(p)))
        else:
            try:
                raw = read_submission(p, reg)
            except Exception as exc:  # a file that breaks a reader is a finding, never a traceback
                raw = RawSubmission(fmt="unknown")
                raw.findings.append(Finding("error", "file_corrupt", f"{p.name} is beschadigd ({type(exc).__name__}).",
                                            f"{p.name} is damaged ({type(exc).__name__}).", cell=p.name))
        items.append(Item(key=i, raw=raw, expected_org=None, expected_year=None))
    Validator(reg, sorted(org_codes)).validate(items, History())
    return list(zip(paths, items))
