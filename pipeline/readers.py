"""Reading submissions: guarded Excel parsing in a child process, CSV with encoding and dialect detection.

The result of reading is a :class:`RawSubmission`: per registry sheet the raw cell values with their row
numbers and column letters, so every later finding can point at a cell. Anything that cannot be read
becomes a :class:`~pipeline.findings.Finding`, never an exception.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import resource
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from defusedxml import ElementTree as SafeET

from .findings import Finding, short_value
from .registry import Registry, Sheet

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 400 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
MAX_ZIP_MEMBERS = 2_000
MAX_USED_CELLS = 5_000_000
MAX_COLUMNS = 2_000
CHILD_MEMORY_BYTES = 3 * 1024**3
CHILD_TIMEOUT_S = 120
MAX_TEXT_CHARS = 10_000

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".txt"}


@dataclass
class RawSheet:
    code: str                          # registry sheet code
    name: str                          # name in the file (sheet name or CSV file name)
    columns: dict[str, str]            # field code -> column letter (Excel) or header name (CSV)
    rows: list[tuple[int, dict[str, object]]]   # (row number in file, field code -> raw value)
    is_csv: bool = False
    decimal_comma: bool = True
    unknown_columns: list[str] = field(default_factory=list)

    def cell_ref(self, row: int | None, field_code: str | None) -> str:
        col = self.columns.get(field_code or "", "")
        if self.is_csv:
            parts = [self.name]
            if row is not None:
                parts.append(f"regel {row}")
            if col:
                parts.append(f"kolom {col}")
            return ", ".join(parts)
        if row is None:
            return f"{self.name}!{col or ''}".rstrip("!")
        return f"{self.name}!{col}{row}"


@dataclass
class RawSubmission:
    fmt: str                                   # xlsx | csv
    sheets: dict[str, RawSheet] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    encoding: str | None = None
    case_files: list[Path] = field(default_factory=list)   # zaken.csv / zaken.parquet, validated in DuckDB

    @property
    def readable(self) -> bool:
        return not any(f.severity == "error" and f.rule.startswith("file_") for f in self.findings)


def _col_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def _file_error(rule: str, nl: str, en: str, name: str) -> Finding:
    return Finding("error", rule, nl, en, cell=name)


# ------------------------------------------------------------------------------------------ Excel

_CELL_REF = re.compile(rb"""<c[^>]*\sr=["']([A-Z]{1,3})([0-9]{1,7})["']""")
_FORMULA_CELL = re.compile(rb"""<c[^>]*\sr=["']([A-Z]{1,3}[0-9]{1,7})["'][^>]*>\s*<f[\s>/]""")
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_DIM_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})(?::([A-Z]{1,3})([0-9]{1,7}))?")


def inspect_workbook(path: Path) -> list[Finding]:
    """Check a workbook's container before any parser sees it: size, zip bomb, macros, used range."""
    name = path.name
    size = path.stat().st_size
    if size == 0:
        return [_file_error("file_empty", f"Het bestand {name} is leeg (0 bytes). Stuur het ingevulde sjabloon opnieuw.",
                            f"The file {name} is empty (0 bytes). Please send the filled-in template again.", name)]
    if size > MAX_FILE_BYTES:
        return [_file_error("file_too_large",
                            f"Het bestand is {size / 1e6:.0f} MB; de grens is {MAX_FILE_BYTES / 1e6:.0f} MB. Verwijder overbodige bladen of opmaak.",
                            f"The file is {size / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB. Remove unneeded sheets or formatting.", name)]
    if not zipfile.is_zipfile(path):
        return [_file_error("file_not_xlsx",
                            f"{name} is geen geldig Excel-werkboek (.xlsx). Sla het bestand op als 'Excel-werkmap (*.xlsx)' en stuur het opnieuw.",
                            f"{name} is not a valid Excel workbook (.xlsx). Save it as 'Excel Workbook (*.xlsx)' and send it again.", name)]
    findings: list[Finding] = []
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ZIP_MEMBERS:
                return [_file_error("file_zip_bomb", f"Het werkboek bevat {len(infos)} onderdelen; dat is te veel om veilig te lezen.",
                                    f"The workbook holds {len(infos)} parts; too many to read safely.", name)]
            total = sum(i.file_size for i in infos)
            packed = max(1, sum(i.compress_size for i in infos))
            if total > MAX_UNCOMPRESSED_BYTES or total / packed > MAX_COMPRESSION_RATIO:
                return [_file_error("file_zip_bomb",
                                    f"Het werkboek pakt uit tot {total / 1e6:.0f} MB (verhouding {total / packed:.0f}:1); dat is niet veilig te lezen.",
                                    f"The workbook unpacks to {total / 1e6:.0f} MB (ratio {total / packed:.0f}:1); it cannot be read safely.", name)]
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names:
                return [_file_error("file_not_xlsx", f"{name} is geen Excel-werkboek (xl/workbook.xml ontbreekt).",
                                    f"{name} is not an Excel workbook (xl/workbook.xml is missing).", name)]
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                return [_file_error("file_macros",
                                    "Het werkboek bevat macro's (VBA). Om veiligheidsredenen nemen we geen bestanden met macro's aan; sla het op als .xlsx zonder macro's.",
                                    "The workbook contains macros (VBA). For security we do not accept files with macros; save it as .xlsx without macros.", name)]
            for member in sorted(n for n in names if n.startswith("xl/") and n.endswith(".xml")):
                head = zf.open(member).read(4096)
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    return [_file_error("file_xml_entities",
                                        "Het werkboek bevat XML-definities (DOCTYPE/ENTITY) die niet in een normaal Excel-bestand voorkomen; het is niet gelezen.",
                                        "The workbook contains XML definitions (DOCTYPE/ENTITY) that a normal Excel file never has; it was not read.", name)]
            for member in sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")):
                cells, cols = _used_range(zf, member)
                if cols > MAX_COLUMNS or cells > MAX_USED_CELLS:
                    return [_file_error("file_used_range",
                                        f"Een werkblad in {name} heeft een gebruikt bereik van {cells:,} cellen en {cols:,} kolommen; de grens is {MAX_USED_CELLS:,} cellen en {MAX_COLUMNS:,} kolommen. Verwijder lege opgemaakte rijen en kolommen (Ctrl+End laat zien waar het bereik eindigt).".replace(",", "."),
                                        f"A worksheet in {name} has a used range of {cells:,} cells and {cols:,} columns; the limit is {MAX_USED_CELLS:,} cells and {MAX_COLUMNS:,} columns. Delete empty formatted rows and columns (Ctrl+End shows where the range ends).", name)]
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError, KeyError) as exc:
        return [_file_error("file_corrupt", f"{name} is beschadigd en kan niet worden gelezen ({type(exc).__name__}). Sla het opnieuw op en stuur het nogmaals.",
                            f"{name} is damaged and cannot be read ({type(exc).__name__}). Save it again and resend it.", name)]
    return findings


def _stream_matches(zf: zipfile.ZipFile, member: str, pattern: re.Pattern[bytes], overlap: int = 512):
    """Regex matches in a (possibly huge) zip member, read in 1 MB chunks; a match cut by a chunk boundary is
    found in the next chunk (which starts with the previous tail), so a match may be seen twice."""
    tail = b""
    with zf.open(member) as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            data = tail + chunk
            yield from pattern.finditer(data)
            tail = data[-overlap:]


def _used_range(zf: zipfile.ZipFile, member: str) -> tuple[int, int]:
    """Largest row and column referenced by any cell (streamed; the dimension tag is not trusted)."""
    max_row = max_col = 0
    for m in _stream_matches(zf, member, _CELL_REF):
        max_col = max(max_col, _col_index(m.group(1).decode()) + 1)
        max_row = max(max_row, int(m.group(2)))
    return max_row * max_col, max_col


def formula_cells(path: Path) -> dict[str, list[str]]:
    """Cells holding a formula, per sheet name (read from the sheet XML; the parser only sees cached results)."""
    out: dict[str, list[str]] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            book = SafeET.fromstring(zf.read("xl/workbook.xml"))
            rels = SafeET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
            target = {r.get("Id"): r.get("Target", "") for r in rels}
            for sheet in book.iter():
                if not sheet.tag.endswith("}sheet"):
                    continue
                member = target.get(sheet.get(f"{_REL_NS}id") or "", "")
                member = member.lstrip("/") if member.startswith("/") else "xl/" + member
                if member not in zf.namelist():
                    continue
                refs = [m.group(1).decode() for m in _stream_matches(zf, member, _FORMULA_CELL)]
                if refs:
                    out[sheet.get("name") or member] = list(dict.fromkeys(refs))
    except (KeyError, zipfile.BadZipFile, OSError, SafeET.ParseError, ValueError):
        return {}
    return out


def _limit_child() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _run_child(paths: list[Path]) -> tuple[dict[str, dict], str]:
    """Parse workbooks in one child process; returns results per path and how the child ended
    ("ok", "crash" or "timeout")."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pipeline.xlsx_child", *map(str, paths)],
            capture_output=True, timeout=CHILD_TIMEOUT_S * max(1, len(paths)) if len(paths) > 1 else CHILD_TIMEOUT_S,
            preexec_fn=_limit_child, env=env,
        )
        out, state = proc.stdout, ("ok" if proc.returncode == 0 else "crash")
    except subprocess.TimeoutExpired as exc:
        out, state = exc.stdout or b"", "timeout"
    results: dict[str, dict] = {}
    for line in out.decode("utf-8", "replace").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        results[rec["path"]] = rec
    return results, state


def parse_workbooks(paths: list[Path]) -> dict[Path, tuple[dict[str, list[list[object]]] | None, Finding | None]]:
    """Parse many workbooks with few child processes; a file that takes its child down is retried alone,
    so only that file gets a finding."""
    out: dict[Path, tuple[dict | None, Finding | None]] = {}
    pending = list(paths)
    if len(pending) > 1:
        results, _ = _run_child(pending)
        for p in pending:
            rec = results.get(str(p))
            if rec is not None and "sheets" in rec:
                out[p] = (rec["sheets"], None)
        pending = [p for p in pending if p not in out]
    for p in pending:
        results, state = _run_child([p])
        rec = results.get(str(p))
        if rec is not None and "sheets" in rec:
            out[p] = (rec["sheets"], None)
        elif state == "timeout":
            out[p] = (None, _file_error("file_timeout", f"Het lezen van {p.name} duurde te lang en is afgebroken.",
                                        f"Reading {p.name} took too long and was stopped.", p.name))
        else:
            out[p] = (None, _file_error(
                "file_corrupt",
                f"{p.name} kon niet worden gelezen; het bestand is beschadigd of geen geldig Excel-werkboek. Sla het opnieuw op als .xlsx.",
                f"{p.name} could not be read; the file is damaged or not a valid Excel workbook. Save it again as .xlsx.", p.name))
    return out


def parse_workbook_rows(path: Path) -> tuple[dict[str, list[list[object]]] | None, Finding | None]:
    """Parse all sheets of one workbook in a child process with a memory and time limit."""
    return parse_workbooks([path])[path]


def _match_sheet(name: str, registry: Registry) -> Sheet | None:
    key = name.strip().casefold()
    for s in registry.sheet_level:
        if key in (s.code.casefold(), s.name_nl.casefold(), s.name_en.casefold()):
            return s
    return None


def _header_row(rows: list[list[object]], sheet: Sheet, lang_labels: bool = True) -> tuple[int, dict[int, str]] | None:
    """Find the header row: the row holding the most field codes (or Dutch/English labels)."""
    lookup: dict[str, str] = {}
    for f in sheet.fields:
        lookup[f.code.casefold()] = f.code
        if lang_labels:
            lookup.setdefault(f.label_nl.casefold(), f.code)
            lookup.setdefault(f.label_en.casefold(), f.code)
    codes = set(sheet.field_codes)
    best: tuple[int, dict[int, str]] | None = None
    best_score = 0.0
    for i, row in enumerate(rows[:15]):
        found: dict[int, str] = {}
        for j, v in enumerate(row):
            if isinstance(v, str):
                code = lookup.get(v.strip().casefold())
                if code and code not in found.values():
                    found[j] = code
        # a row of field codes beats a row of labels that happen to match
        score = len(found) + 0.5 * sum(1 for v in row if isinstance(v, str) and v.strip() in codes)
        if found and score > best_score:
            best, best_score = (i, found), score
    return best


def _to_sheet(code_sheet: Sheet, name: str, rows: list[list[object]], is_csv: bool, decimal_comma: bool,
              findings: list[Finding]) -> RawSheet | None:
    hdr = _header_row(rows, code_sheet)
    if hdr is None:
        findings.append(Finding(
            "error", "header_missing",
            f"Op blad {name} is de kopregel met veldcodes niet gevonden. Gebruik het sjabloon en laat de kopregels staan.",
            f"The header row with field codes was not found on sheet {name}. Use the template and keep its header rows.",
            sheet=code_sheet.code, cell=name))
        return None
    hi, mapping = hdr
    header_values = rows[hi]
    unknown = [str(v).strip() for j, v in enumerate(header_values)
               if j not in mapping and isinstance(v, str) and v.strip()]
    columns = {code: (str(header_values[j]).strip() if is_csv else _col_letter(j)) for j, code in mapping.items()}
    data: list[tuple[int, dict[str, object]]] = []
    for i in range(hi + 1, len(rows)):
        row = rows[i]
        values = {code: (row[j] if j < len(row) else None) for j, code in mapping.items()}
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values.values()):
            continue
        rownum = i + 1
        data.append((rownum, values))
    if unknown:
        shown = ", ".join(u[:40] for u in unknown[:10]) + (f" … (+{len(unknown) - 10})" if len(unknown) > 10 else "")
        findings.append(Finding(
            "info", "column_unknown",
            f"Blad {name} heeft {len(unknown)} kolom(men) die niet in het sjabloon staan en zijn genegeerd: {shown}.",
            f"Sheet {name} has {len(unknown)} column(s) that are not in the template and were ignored: {shown}.",
            sheet=code_sheet.code, cell=name))
    return RawSheet(code=code_sheet.code, name=name, columns=columns, rows=data, is_csv=is_csv,
                    decimal_comma=decimal_comma, unknown_columns=unknown)


def read_workbook(path: Path, registry: Registry, parsed: tuple | None = None) -> RawSubmission:
    sub = RawSubmission(fmt="xlsx")
    problems = inspect_workbook(path) if parsed is None else []
    if problems:
        sub.findings.extend(problems)
        return sub
    rows_by_sheet, err = parsed if parsed is not None else parse_workbook_rows(path)
    if err is not None:
        sub.findings.append(err)
        return sub
    assert rows_by_sheet is not None
    formulas = formula_cells(path)
    for name, rows in rows_by_sheet.items():
        sheet = _match_sheet(name, registry)
        if sheet is None:
            continue
        raw = _to_sheet(sheet, name, rows, is_csv=False, decimal_comma=True, findings=sub.findings)
        if raw is not None:
            sub.sheets[sheet.code] = raw
            sub.findings.extend(_formula_findings(raw, formulas.get(name, [])))
    return sub


def _formula_findings(raw: RawSheet, refs: list[str]) -> list[Finding]:
    by_letter = {letter: code for code, letter in raw.columns.items()}
    data_rows = {r for r, _ in raw.rows}
    out = []
    for ref in refs:
        m = re.match(r"([A-Z]+)([0-9]+)$", ref)
        if not m or int(m.group(2)) not in data_rows or m.group(1) not in by_letter:
            continue
        code = by_letter[m.group(1)]
        out.append(Finding(
            "error", "formula",
            f"Cel {raw.name}!{ref} bevat een formule. Lever alleen waarden aan: kopieer de cellen en kies 'Plakken als waarden'.",
            f"Cell {raw.name}!{ref} holds a formula. Deliver values only: copy the cells and use 'Paste values'.",
            sheet=raw.code, cell=f"{raw.name}!{ref}", row=int(m.group(2)), field=code))
    return out[:200]


# -------------------------------------------------------------------------------------------- CSV

PLACEHOLDERS = {"", "n.v.t.", "nvt", "n.v.t", "-", "--", "onb.", "onb", "onbekend", "*", "n.b.", "nb", "x", "na", "n/a", "#n/b", "#n/a", "leeg"}


def decode_text(data: bytes) -> tuple[str | None, str | None]:
    """Decode a text file: UTF-16 with BOM, then strict UTF-8 (with or without BOM), then strict cp1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            return None, None
    for enc in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            return None, None
        return text, ("utf-8" if enc == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf") else enc)
    return None, None


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", "\t", ",", "|")}
    best = max(counts, key=lambda d: (counts[d], d == ";"))
    return best if counts[best] > 0 else ";"


def read_csv_text(text: str, name: str) -> tuple[list[list[object]], str]:
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    delim = sniff_delimiter(first)
    csv.field_size_limit(MAX_TEXT_CHARS * 10)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, quotechar='"')
    rows: list[list[object]] = [list(r) for r in reader]
    return rows, delim


def read_csv_folder(folder: Path, registry: Registry) -> RawSubmission:
    sub = RawSubmission(fmt="csv")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    encodings: set[str] = set()
    workbooks = [p for p in files if p.suffix.lower() in EXCEL_SUFFIXES]
    if len(workbooks) > 1:
        sub.findings.append(_file_error("file_workbooks", "Een levering mag één Excel-werkboek bevatten.",
                                        "A delivery may contain one Excel workbook.", folder.name))
        return sub
    if workbooks:
        book = read_workbook(workbooks[0], registry)
        sub.fmt = "xlsx"
        sub.sheets.update(book.sheets)
        sub.findings.extend(book.findings)
    for p in files:
        if p.name.lower() in ("zaken.csv", "zaken.parquet"):
            sub.case_files.append(p)
            continue
        if p in workbooks:
            continue
        if p.suffix.lower() not in CSV_SUFFIXES:
            sub.findings.append(Finding("warning", "file_ignored",
                                        f"Bestand {p.name} is genegeerd: een CSV-levering bestaat uit .csv-bestanden per blad.",
                                        f"File {p.name} was ignored: a CSV delivery consists of one .csv file per sheet.", cell=p.name))
            continue
        sheet = _match_sheet(p.stem, registry)
        if sheet is None:
            sub.findings.append(Finding("warning", "file_ignored",
                                        f"Bestand {p.name} hoort bij geen enkel blad ({', '.join(registry.sheet_codes)}) en is genegeerd.",
                                        f"File {p.name} matches no sheet ({', '.join(registry.sheet_codes)}) and was ignored.", cell=p.name))
            continue
        size = p.stat().st_size
        if size == 0:
            sub.findings.append(Finding("error", "file_empty", f"{p.name} is leeg (0 bytes).", f"{p.name} is empty (0 bytes).",
                                        sheet=sheet.code, cell=p.name))
            continue
        if size > MAX_FILE_BYTES:
            sub.findings.append(_file_error("file_too_large", f"{p.name} is groter dan {MAX_FILE_BYTES / 1e6:.0f} MB.",
                                            f"{p.name} is larger than {MAX_FILE_BYTES / 1e6:.0f} MB.", p.name))
            continue
        text, enc = decode_text(p.read_bytes())
        if text is None:
            sub.findings.append(Finding("error", "file_encoding",
                                        f"{p.name} is geen leesbare tekst in UTF-8, Windows-1252 of UTF-16. Sla het op als 'CSV (gescheiden door lijstscheidingsteken)' of 'CSV UTF-8'.",
                                        f"{p.name} is not readable text in UTF-8, Windows-1252 or UTF-16. Save it as 'CSV (delimited)' or 'CSV UTF-8'.",
                                        sheet=sheet.code, cell=p.name))
            continue
        assert enc is not None
        encodings.add(enc)
        if enc == "utf-16":
            sub.findings.append(Finding("info", "encoding_utf16",
                                        f"{p.name} is opgeslagen als UTF-16 ('Unicode-tekst'); het is gelezen, maar lever bij voorkeur 'CSV UTF-8'.",
                                        f"{p.name} was saved as UTF-16 ('Unicode text'); it was read, but please deliver 'CSV UTF-8'.",
                                        sheet=sheet.code, cell=p.name))
        try:
            rows, delim = read_csv_text(text, p.name)
        except csv.Error as exc:
            sub.findings.append(Finding("error", "file_csv", f"{p.name} is geen geldig CSV-bestand ({exc}).",
                                        f"{p.name} is not a valid CSV file ({exc}).", sheet=sheet.code, cell=p.name))
            continue
        raw = _to_sheet(sheet, p.name, rows, is_csv=True, decimal_comma=(delim != ","), findings=sub.findings)
        if raw is not None:
            if sheet.code in sub.sheets:
                sub.findings.append(Finding("error", "sheet_twice", f"Blad {sheet.name_nl} komt twee keer voor ({p.name}).",
                                            f"Sheet {sheet.name_en} occurs twice ({p.name}).", sheet=sheet.code, cell=p.name))
                continue
            sub.sheets[sheet.code] = raw
    sub.encoding = ",".join(sorted(encodings)) or None
    return sub


def read_submission(path: Path, registry: Registry) -> RawSubmission:
    """Read one delivery: an Excel workbook or a folder of CSV files."""
    if path.is_dir():
        return read_csv_folder(path, registry)
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return read_workbook(path, registry)
    sub = RawSubmission(fmt=suffix.lstrip(".") or "unknown")
    sub.findings.append(_file_error(
        "file_type",
        f"{path.name}: dit bestandstype wordt niet ondersteund. Lever het Excel-sjabloon (.xlsx) of een map met CSV-bestanden per blad.",
        f"{path.name}: this file type is not supported. Deliver the Excel template (.xlsx) or a folder with one CSV file per sheet.",
        path.name))
    return sub


__all__ = ["RawSheet", "RawSubmission", "read_submission", "decode_text", "PLACEHOLDERS", "short_value"]
