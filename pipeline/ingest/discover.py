"""Discovery: every delivery under ``data/raw/<year>/<ORG>/``, described without reading it.

A delivery is an Excel workbook or a folder of CSV files inside the organisation's folder. Nothing under
``data/raw`` is followed or read unless it is a regular file: a link, FIFO or device is a delivery of its
own kind that gets a finding (``docs/reliability.md``). The organisation a delivery is recorded under is
its folder, never the code written in the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.findings import Finding
from pipeline.core.safe_files import (
    SPECIAL_KINDS,
    LineLengthCheck,
    NotRegularFile,
    entry_kind,
    line_number_at,
    open_regular,
)
from pipeline.core.safe_text import ascii_year, looks_like_number, register_code
from pipeline.core.workspace import Workspace
from pipeline.ingest.readers import CASE_FILE_NAMES, not_regular_finding

MIN_YEAR, MAX_YEAR = 1990, 2100
#: A case CSV line longer than this is a finding (DuckDB would skip it silently).
MAX_CASE_LINE_BYTES = 64 * 1024


def is_case_file(path: Path) -> bool:
    """A case microdata file inside a delivery folder (``zaken.csv`` or ``zaken.parquet``)."""
    return path.name.lower() in CASE_FILE_NAMES


@dataclass
class Delivery:
    path: Path
    org_folder: str
    year: int
    name: str
    sha256: str
    size: int
    received_at: dt.datetime
    files: list[tuple[str, str, int, Path]] = field(default_factory=list)  # (name, sha256, size, path)
    kind: str = "file"  # file | dir, or symlink | fifo | device | socket | other (not read)
    refused: list[tuple[str, str]] = field(default_factory=list)  # links and special files in a folder: (name, kind)
    long_lines: dict[str, tuple[int, int] | None] = field(default_factory=dict)  # case CSV path -> (line, length)
    year_folder: str = ""  # the name of the year folder it was found in

    @property
    def fmt(self) -> str:
        if self.kind == "dir":
            return "csv"
        if self.kind in SPECIAL_KINDS:
            return self.kind
        return self.path.suffix.lower().lstrip(".") or "unknown"


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
    return dt.datetime.fromtimestamp(int(os.lstat(path).st_mtime), tz=dt.UTC).replace(tzinfo=None)


def printable_name(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (kept by the OS as surrogates) become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def printable_text(value: str | None) -> str | None:
    return None if value is None else printable_name(value)


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
    return Delivery(
        path,
        printable_name(org_folder),
        year,
        printable_name(path.name),
        sha,
        0,
        received,
        [],
        kind=kind,
        year_folder=printable_name(year_folder),
    )


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
                except NotRegularFile as exc:  # swapped for a link or FIFO since it was listed
                    refused.append((printable_name(name), exc.kind))
                    continue
                files.append((printable_name(name), sha, size, p))
                if is_case_file(p):
                    long_lines[str(p)] = long_line
            else:
                refused.append((printable_name(name), k))
        manifest = "".join(f"{n}\t{s}\n" for n, s, _, _ in files) + "".join(f"{n}\t({k})\n" for n, k in refused)
        sha = hashlib.sha256(manifest.encode()).hexdigest()
        size = sum(f[2] for f in files)
        received = max([_mtime(p) for *_, p in files], default=_mtime(path))
        return Delivery(
            path,
            printable_name(org_folder),
            year,
            printable_name(path.name),
            sha,
            size,
            received,
            files,
            kind="dir",
            refused=refused,
            long_lines=long_lines,
            year_folder=printable_name(year_folder),
        )
    if kind == "file":
        try:
            sha, size, _ = _digest(path)
        except NotRegularFile as exc:
            kind = exc.kind
        else:
            return Delivery(
                path,
                printable_name(org_folder),
                year,
                printable_name(path.name),
                sha,
                size,
                _mtime(path),
                [(printable_name(path.name), sha, size, path)],
                year_folder=printable_name(year_folder),
            )
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
                out.append(describe(odir, "", y, okind, yname))  # a file or link outside an organisation folder
                continue
            for _, entry, ekind in _listing(odir):
                if ekind != "missing":
                    out.append(describe(entry, oname, y, ekind, yname))
    out.sort(key=lambda d: (d.year, d.received_at, d.org_folder, d.name))
    return out


def folder_org(d: Delivery) -> str | None:
    """The organisation a delivery belongs to: its folder's name, upper-cased only where it is plain ASCII
    (so that a look-alike such as 'cjıb' never turns into a register code)."""
    if not d.org_folder:
        return None
    return d.org_folder.upper() if d.org_folder.isascii() else d.org_folder


MAX_REFUSED_SHOWN = 20


def folder_findings(d: Delivery, org_codes: set[str]) -> list[Finding]:
    """Findings on where a delivery is and what it is, before anything is read (rules without the
    ``file_`` prefix that ``read_items`` adds)."""
    if d.kind in SPECIAL_KINDS:
        return [not_regular_finding(d.name, d.kind, rule_prefix="")]
    if d.year == 0:
        folder = d.year_folder or (d.path.parent.parent.name if d.org_folder else d.path.parent.name)
        return [
            Finding(
                "error",
                "year_folder",
                f"De map '{folder}' is geen geldig verslagjaar (vier cijfers 0–9, {MIN_YEAR}–{MAX_YEAR}); plaats de levering in data/raw/<jaar>/<ORGANISATIECODE>/.",
                f"The folder '{folder}' is not a valid reporting year (four digits 0–9, {MIN_YEAR}–{MAX_YEAR}); put the delivery in data/raw/<year>/<ORGANISATION CODE>/.",
                cell=d.name,
            )
        ]
    if not d.org_folder:
        return [
            Finding(
                "error",
                "org_folder",
                f"{d.name} staat niet in een map per organisatie. Plaats leveringen in data/raw/{d.year}/<ORGANISATIECODE>/.",
                f"{d.name} is not in a folder per organisation. Put deliveries in data/raw/{d.year}/<ORGANISATION CODE>/.",
                cell=d.name,
            )
        ]
    code, suggestion = register_code(d.org_folder, org_codes)
    if code is None:
        hint_nl = f" Bedoelt u {suggestion}? Gebruik de code precies zo, in gewone letters (A–Z)." if suggestion else ""
        hint_en = f" Did you mean {suggestion}? Use the code exactly, in plain letters (A–Z)." if suggestion else ""
        return [
            Finding(
                "error",
                "org_unknown",
                f"De map '{d.org_folder}' is geen organisatiecode uit het RBB-register.{hint_nl}",
                f"The folder '{d.org_folder}' is not an organisation code in the RBB register.{hint_en}",
                cell=d.name,
                value=d.org_folder[:80],
            )
        ]
    out = []
    for name, kind in d.refused[:MAX_REFUSED_SHOWN]:
        f = not_regular_finding(name, kind, rule_prefix="")
        out.append(
            Finding(
                f.severity,
                f.rule,
                f"In de levering {d.name}: {f.message_nl}",
                f"In the delivery {d.name}: {f.message_en}",
                cell=f"{d.name}/{name}",
            )
        )
    if len(d.refused) > MAX_REFUSED_SHOWN:
        n = len(d.refused) - MAX_REFUSED_SHOWN
        out.append(
            Finding(
                "error",
                "link",
                f"Nog {n} koppelingen of bijzondere bestanden in {d.name}; geen ervan is gelezen.",
                f"{n} more links or special files in {d.name}; none of them was read.",
                cell=d.name,
            )
        )
    return out


def expected_org(d: Delivery, org_codes: set[str]) -> str | None:
    """The register code of the delivery's organisation folder (None outside one, or for a name that is
    not exactly a code)."""
    return register_code(d.org_folder, org_codes)[0] if d.org_folder else None


def key_org(d: Delivery, org_codes: set[str]) -> str:
    """The organisation a submission is recorded under: its delivery folder, never the code in the file. A
    register code as the register spells it; any other folder name as written (upper-cased only when plain
    ASCII), so a look-alike (``cjıb``, whose upper case is CJIB) is never recorded under the code it imitates;
    '_ONBEKEND' outside an organisation folder."""
    if not d.org_folder:
        return "_ONBEKEND"
    return expected_org(d, org_codes) or folder_org(d) or "_ONBEKEND"
