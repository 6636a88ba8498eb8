"""Reading submissions: guarded Excel and CSV parsing in child processes.

The result of reading is a :class:`RawSubmission`: per registry sheet the raw cell values with their row
numbers and column letters, so every later finding can point at a cell. Anything that cannot be read
becomes a :class:`~pipeline.findings.Finding`, never an exception.

What guards the main process (see also ``docs/reliability.md``):

* Files are opened only as regular files (``pipeline.safe_files``): no symbolic links, FIFOs or devices.
* A workbook's container is checked before any parser sees it: size, zip bomb, macros, and every XML part
  is parsed in full by expat, which refuses any DOCTYPE or ENTITY declaration wherever it is and any part
  that is not well-formed UTF-8 XML. The same pass counts every cell (``<c>`` elements, with or without an
  ``r=`` reference) for the used-range limit and finds every formula cell; a part that cannot be parsed is
  an error, never "no formulas".
* Workbooks (python-calamine) and CSV sheet files are parsed in child processes with a memory limit
  (``RLIMIT_AS``) and a time limit, in batches; a file that takes its child down is retried alone so only
  it gets the finding. CSV files are further capped in bytes, line length and cells per delivery.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import resource
import subprocess
import sys
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from xml.parsers import expat

from defusedxml import ElementTree as SafeET

from pipeline.core.findings import Finding, short_value
from pipeline.core.numbers import count_text, format_number
from pipeline.core.safe_files import KIND_NAMES, NotRegularFile, entry_kind, open_regular
from pipeline.ingest import versions
from pipeline.ingest.reader_child import decode_text
from pipeline.metadata.registry import Registry, Sheet, TemplateVersion

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 400 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
MAX_ZIP_MEMBERS = 2_000
MAX_USED_CELLS = 5_000_000
MAX_COLUMNS = 2_000
MAX_FORMULA_REFS = 100_000  # formula cells remembered per sheet; more rejects the workbook
MAX_XML_TAG_BYTES = 1 << 20  # one cell or row tag; Excel's are a few dozen bytes
MAX_CSV_LINE_BYTES = 1 << 20  # one physical line of a sheet CSV file
# all CSV sheet files of one delivery together (the largest real delivery has ~25,000); this bounds what the
# main process receives from the child
MAX_DELIVERY_CELLS = 1_000_000
CHILD_MEMORY_BYTES = 3 * 1024**3
CHILD_TIMEOUT_S = 120
MAX_TEXT_CHARS = 10_000

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".txt"}
CASE_FILE_NAMES = ("zaken.csv", "zaken.parquet")


@dataclass
class RawSheet:
    code: str  # registry sheet code
    name: str  # name in the file (sheet name or CSV file name)
    columns: dict[str, str]  # field code -> column letter (Excel) or header name (CSV)
    rows: list[tuple[int, dict[str, object]]]  # (row number in file, field code -> raw value)
    is_csv: bool = False
    decimal_comma: bool = True
    unknown_columns: list[str] = field(default_factory=list)
    # read through an older template version's map (pipeline.ingest.versions)
    not_asked: list[str] = field(default_factory=list)  # current fields that version did not ask
    renamed: dict[str, str] = field(default_factory=dict)  # old header in the file -> current field code
    removed_columns: list[str] = field(default_factory=list)  # old columns no longer used, ignored
    split: dict[str, tuple[str, ...]] = field(default_factory=dict)  # old header -> the fields it became

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
    fmt: str  # xlsx | csv
    sheets: dict[str, RawSheet] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    encoding: str | None = None
    case_files: list[Path] = field(default_factory=list)  # zaken.csv / zaken.parquet, validated in DuckDB
    template_version: str | None = None  # the template version the delivery was read as

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


def not_regular_finding(name: str, kind: str, rule_prefix: str = "file_") -> Finding:
    """The finding for a link, FIFO, device or socket where a delivery file was expected (never read)."""
    nl_kind, en_kind = KIND_NAMES.get(kind, KIND_NAMES["other"])
    if kind == "symlink":
        return Finding(
            "error",
            rule_prefix + "link",
            f"'{name}' is {nl_kind}. Koppelingen worden om veiligheidsredenen niet gevolgd en niet gelezen; "
            "lever het bestand zelf aan.",
            f"'{name}' is {en_kind}. For security, links are neither followed nor read; deliver the file itself.",
            cell=name,
        )
    return Finding(
        "error",
        rule_prefix + "special",
        f"'{name}' is {nl_kind} en geen gewoon bestand; het is niet gelezen. Lever een gewoon bestand aan.",
        f"'{name}' is {en_kind}, not a regular file; it was not read. Deliver a regular file.",
        cell=name,
    )


# ------------------------------------------------------------------------------------------ Excel


class _Refused(Exception):
    """A workbook part that must not be read: ``rule`` names the finding, ``detail`` what was seen."""

    def __init__(self, rule: str, member: str = "", detail: str = "", cells: _SheetCells | None = None):
        super().__init__(rule, member, detail)
        self.rule, self.member, self.detail, self.cells = rule, member, detail, cells


# a row, cell or formula start tag, with or without a namespace prefix; attribute values may hold '>'
_TAG = rb"""<(?:[^\s<>/:!?'"=]+:)?(row|c|f)(?=[\s/>])"""
_TOKEN = re.compile(_TAG + rb"""((?:[^>"']|"[^"]*"|'[^']*')*)>""")
_TAG_START = re.compile(_TAG)
_R_ATTR = re.compile(rb"""\sr\s*=\s*["']([^"']*)["']""")
_CELL_REF = re.compile(rb"([A-Z]{1,3})([0-9]{1,7})")
_ROW_NUM = re.compile(rb"[0-9]{1,7}")
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_XML_SUFFIXES = (".xml", ".rels")


@lru_cache(maxsize=4096)
def _letters_index(letters: bytes) -> int:
    return _col_index(letters.decode())


class _SheetCells:
    """Counts the cells of a worksheet's XML as a reader places them: a cell without ``r=`` follows the
    previous cell of its row, a row without ``r=`` follows the previous row. Remembers formula cells."""

    def __init__(self, member: str):
        self.member = member
        self.cells = self.max_row = self.max_col = 0
        self.row = 0
        self.col = -1
        self.at: tuple[int, int] | None = None  # (column, row) of the last cell, named only for a formula
        self.formulas: list[str] = []
        self.n_formulas = 0
        self.tail = b""

    @property
    def used_range(self) -> int:
        return self.max_row * self.max_col

    def feed(self, chunk: bytes, final: bool = False) -> None:
        data = self.tail + chunk
        body, self.tail = data, b""
        cut = data.rfind(b"<")
        if cut >= 0 and not final:
            rest = data[cut:]
            if _TOKEN.match(rest) is None and (_TAG_START.match(rest) is not None or len(rest) < 64):
                body, self.tail = data[:cut], rest  # an unfinished row/cell/formula tag: wait for the rest
                if len(rest) > MAX_XML_TAG_BYTES:
                    raise _Refused("file_xml", self.member, "tag")
        for m in _TOKEN.finditer(body):
            tag = m.group(1)
            if tag == b"c":
                self.cells += 1
                r = _R_ATTR.search(m.group(2))
                ref = _CELL_REF.fullmatch(r.group(1)) if r else None
                if ref:
                    col, row = _letters_index(ref.group(1)), int(ref.group(2))
                else:
                    col, row = self.col + 1, max(self.row, 1)
                self.col = col
                self.at = (col, row)
                self.max_row = max(self.max_row, row)
                self.max_col = max(self.max_col, col + 1)
            elif tag == b"row":
                r = _R_ATTR.search(m.group(2))
                num = _ROW_NUM.fullmatch(r.group(1)) if r else None
                self.row = int(num.group(0)) if num else self.row + 1
                self.col = -1
                self.max_row = max(self.max_row, self.row)
            else:
                self.n_formulas += 1
                if len(self.formulas) < MAX_FORMULA_REFS and self.at is not None:
                    self.formulas.append(f"{_col_letter(self.at[0])}{self.at[1]}")
        if self.cells > MAX_USED_CELLS or self.max_col > MAX_COLUMNS or self.used_range > MAX_USED_CELLS:
            raise _Refused("file_used_range", self.member, cells=self)


def _refuse(*_args) -> None:
    raise _Refused("file_xml_entities")


def _xml_decl(_version, encoding, _standalone) -> None:
    if encoding and encoding.strip().lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise _Refused("file_xml", detail=f"encoding {encoding}")


def _scan_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cells: _SheetCells | None) -> None:
    """Parse one XML part completely with expat (streamed): any DOCTYPE or ENTITY declaration, anywhere,
    refuses the workbook, as does a part that is not well-formed UTF-8 XML; with ``cells``, also count the
    worksheet's cells and formulas. Raises :class:`_Refused`."""
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.NotationDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.XmlDeclHandler = _xml_decl
    first = True
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(1 << 20):
                if first:
                    if chunk.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in chunk[:4]:
                        raise _Refused("file_xml", info.filename, "encoding UTF-16/UTF-32")
                    first = False
                parser.Parse(chunk, False)
                if cells is not None:
                    cells.feed(chunk)
            parser.Parse(b"", True)
            if cells is not None:
                cells.feed(b"", final=True)
    except expat.ExpatError as exc:
        raise _Refused("file_xml", info.filename, f"{expat.ErrorString(exc.code)}, line {exc.lineno}") from None
    except _Refused as exc:
        exc.member = exc.member or info.filename
        raise


def _byte_scan(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """A part no XML parser is meant to read (VML, images, binaries): refuse it if it declares a DTD or
    entity anyway (in UTF-8 or UTF-16)."""
    needles = [
        b"<!DOCTYPE",
        b"<!ENTITY",
        "<!DOCTYPE".encode("utf-16-le"),
        "<!ENTITY".encode("utf-16-le"),
        "<!DOCTYPE".encode("utf-16-be"),
        "<!ENTITY".encode("utf-16-be"),
    ]
    tail = b""
    with zf.open(info) as fh:
        while chunk := fh.read(1 << 20):
            data = tail + chunk
            if any(n in data for n in needles):
                raise _Refused("file_xml_entities", info.filename)
            tail = data[-32:]


def _member(target: str) -> str:
    """The zip member a workbook relationship target points at."""
    path = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return posixpath.normpath(path)


def _workbook_sheets(zf: zipfile.ZipFile, names: set[str]) -> tuple[dict[str, str], set[str]]:
    """(sheet name -> worksheet member, every member the workbook's relationships point at)."""
    sheets: dict[str, str] = {}
    targets: set[str] = set()
    if "xl/_rels/workbook.xml.rels" not in names:
        return sheets, targets
    rels = SafeET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): _member(r.get("Target", "")) for r in rels if r.get("TargetMode") != "External"}
    targets = {t for t in target.values() if t in names}
    book = SafeET.fromstring(zf.read("xl/workbook.xml"))
    for sheet in book.iter():
        if sheet.tag.endswith("}sheet") or sheet.tag == "sheet":
            member = target.get(sheet.get(f"{_REL_NS}id") or "", "")
            if member in names:
                sheets[sheet.get("name") or member] = member
    return sheets, targets


@dataclass
class WorkbookCheck:
    """What the container check of a workbook found: findings (empty: safe to parse), and the formula
    cells per sheet name."""

    findings: list[Finding] = field(default_factory=list)
    formulas: dict[str, list[str]] = field(default_factory=dict)


def inspect_workbook(path: Path) -> list[Finding]:
    """Check a workbook's container before any parser sees it (see :func:`check_workbook`)."""
    return check_workbook(path).findings


def check_workbook(path: Path) -> WorkbookCheck:
    """Check a workbook before any parser sees it: a regular file, size, zip bomb, macros; every XML part
    parsed in full (no DTD or entities, well-formed UTF-8), cells counted for the used range, formula cells
    found. Any problem is a finding; nothing here raises."""
    name = path.name
    try:
        fh = open_regular(path)
    except NotRegularFile as exc:
        return WorkbookCheck([not_regular_finding(name, exc.kind)])
    except OSError as exc:
        return WorkbookCheck(
            [
                _file_error(
                    "file_corrupt",
                    f"{name} kan niet worden geopend ({type(exc).__name__}).",
                    f"{name} cannot be opened ({type(exc).__name__}).",
                    name,
                )
            ]
        )
    with fh:
        try:
            return _check_open_workbook(fh, name)
        except _Refused as exc:
            return WorkbookCheck([_refusal_finding(exc, name)])
        except (
            zipfile.BadZipFile,
            zlib.error,
            OSError,
            EOFError,
            ValueError,
            RuntimeError,
            KeyError,
            NotImplementedError,
            SafeET.ParseError,
        ) as exc:
            return WorkbookCheck(
                [
                    _file_error(
                        "file_corrupt",
                        f"{name} is beschadigd en kan niet worden gelezen ({type(exc).__name__}). Sla het opnieuw op en stuur het nogmaals.",
                        f"{name} is damaged and cannot be read ({type(exc).__name__}). Save it again and resend it.",
                        name,
                    )
                ]
            )


def _check_open_workbook(fh, name: str) -> WorkbookCheck:
    size = os.fstat(fh.fileno()).st_size
    if size == 0:
        return WorkbookCheck(
            [
                _file_error(
                    "file_empty",
                    f"Het bestand {name} is leeg (0 bytes). Stuur het ingevulde sjabloon opnieuw.",
                    f"The file {name} is empty (0 bytes). Please send the filled-in template again.",
                    name,
                )
            ]
        )
    if size > MAX_FILE_BYTES:
        return WorkbookCheck(
            [
                _file_error(
                    "file_too_large",
                    f"Het bestand is {size / 1e6:.0f} MB; de grens is {MAX_FILE_BYTES / 1e6:.0f} MB. Verwijder overbodige bladen of opmaak.",
                    f"The file is {size / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB. Remove unneeded sheets or formatting.",
                    name,
                )
            ]
        )
    if not zipfile.is_zipfile(fh):
        return WorkbookCheck(
            [
                _file_error(
                    "file_not_xlsx",
                    f"{name} is geen geldig Excel-werkboek (.xlsx). Sla het bestand op als 'Excel-werkmap (*.xlsx)' en stuur het opnieuw.",
                    f"{name} is not a valid Excel workbook (.xlsx). Save it as 'Excel Workbook (*.xlsx)' and send it again.",
                    name,
                )
            ]
        )
    fh.seek(0)
    with zipfile.ZipFile(fh) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            return WorkbookCheck(
                [
                    _file_error(
                        "file_zip_bomb",
                        f"Het werkboek bevat {len(infos)} onderdelen; dat is te veel om veilig te lezen.",
                        f"The workbook holds {len(infos)} parts; too many to read safely.",
                        name,
                    )
                ]
            )
        total = sum(i.file_size for i in infos)
        packed = max(1, sum(i.compress_size for i in infos))
        if total > MAX_UNCOMPRESSED_BYTES or total / packed > MAX_COMPRESSION_RATIO:
            return WorkbookCheck(
                [
                    _file_error(
                        "file_zip_bomb",
                        f"Het werkboek pakt uit tot {total / 1e6:.0f} MB (verhouding {total / packed:.0f}:1); dat is niet veilig te lezen.",
                        f"The workbook unpacks to {total / 1e6:.0f} MB (ratio {total / packed:.0f}:1); it cannot be read safely.",
                        name,
                    )
                ]
            )
        names = {i.filename for i in infos}
        if "xl/workbook.xml" not in names:
            return WorkbookCheck(
                [
                    _file_error(
                        "file_not_xlsx",
                        f"{name} is geen Excel-werkboek (xl/workbook.xml ontbreekt).",
                        f"{name} is not an Excel workbook (xl/workbook.xml is missing).",
                        name,
                    )
                ]
            )
        if any(n.lower().endswith("vbaproject.bin") for n in names):
            return WorkbookCheck(
                [
                    _file_error(
                        "file_macros",
                        "Het werkboek bevat macro's (VBA). Om veiligheidsredenen nemen we geen bestanden met macro's aan; sla het op als .xlsx zonder macro's.",
                        "The workbook contains macros (VBA). For security we do not accept files with macros; save it as .xlsx without macros.",
                        name,
                    )
                ]
            )
        # the relationships and the workbook part first (fully checked), then the sheets they point at
        first = [i for i in infos if i.filename in ("xl/_rels/workbook.xml.rels", "xl/workbook.xml")]
        for info in first:
            _scan_part(zf, info, None)
        sheets, targets = _workbook_sheets(zf, names)
        worksheets = {m for m in names if m.startswith("xl/worksheets/") and m.lower().endswith(".xml")}
        worksheets |= set(sheets.values())
        scanned: dict[str, list[_SheetCells]] = {}
        for info in infos:
            if info in first or info.is_dir():
                continue
            member = info.filename
            if member in worksheets:
                cells = _SheetCells(member)
                _scan_part(zf, info, cells)
                scanned.setdefault(member, []).append(cells)
            elif member.lower().endswith(_XML_SUFFIXES) or member in targets:
                _scan_part(zf, info, None)
            else:
                _byte_scan(zf, info)
    check = WorkbookCheck()
    by_member = {m: s for s, m in sheets.items()}
    for member, parts in scanned.items():
        refs = [r for cells in parts for r in cells.formulas]
        if sum(c.n_formulas for c in parts) > MAX_FORMULA_REFS:
            check.findings.append(_formula_mass_finding(name, sum(c.n_formulas for c in parts)))
        elif refs and member not in by_member:
            check.findings.append(
                _file_error(
                    "file_formula",
                    f"Het werkboek {name} bevat formules in een werkblad-onderdeel ({member}) dat niet bij een blad hoort; lever alleen waarden aan.",
                    f"The workbook {name} holds formulas in a worksheet part ({member}) that belongs to no sheet; deliver values only.",
                    name,
                )
            )
        elif refs:
            check.formulas[by_member[member]] = list(dict.fromkeys(refs))
    return check


def _formula_mass_finding(name: str, n: int) -> Finding:
    return _file_error(
        "file_formula",
        f"Het werkboek {name} bevat {n:,} formules; lever alleen waarden aan (kopieer de cellen en kies 'Plakken als waarden').".replace(
            ",", "."
        ),
        f"The workbook {name} holds {n:,} formulas; deliver values only (copy the cells and use 'Paste values').",
        name,
    )


def _refusal_finding(exc: _Refused, name: str) -> Finding:
    part = exc.member or "?"
    if exc.rule == "file_xml_entities":
        return _file_error(
            "file_xml_entities",
            f"Het werkboek bevat XML-definities (DOCTYPE/ENTITY, in {part}) die niet in een normaal Excel-bestand voorkomen; het is niet gelezen.",
            f"The workbook contains XML definitions (DOCTYPE/ENTITY, in {part}) that a normal Excel file never has; it was not read.",
            name,
        )
    if exc.rule == "file_used_range" and exc.cells is not None:
        cells, cols = max(exc.cells.used_range, exc.cells.cells), exc.cells.max_col
        return _file_error(
            "file_used_range",
            f"Een werkblad in {name} heeft een gebruikt bereik van {cells:,} cellen en {cols:,} kolommen; de grens is {MAX_USED_CELLS:,} cellen en {MAX_COLUMNS:,} kolommen. Verwijder lege opgemaakte rijen en kolommen (Ctrl+End laat zien waar het bereik eindigt).".replace(
                ",", "."
            ),
            f"A worksheet in {name} has a used range of {cells:,} cells and {cols:,} columns; the limit is {MAX_USED_CELLS:,} cells and {MAX_COLUMNS:,} columns. Delete empty formatted rows and columns (Ctrl+End shows where the range ends).",
            name,
        )
    detail = f" ({exc.detail})" if exc.detail else ""
    return _file_error(
        "file_xml",
        f"Het onderdeel {part} van {name} is geen geldige XML{detail}; het werkboek is beschadigd of niet door Excel gemaakt. Sla het opnieuw op als .xlsx.",
        f"The part {part} of {name} is not valid XML{detail}; the workbook is damaged or was not made by Excel. Save it again as .xlsx.",
        name,
    )


def _match_sheet(name: str, registry: Registry) -> Sheet | None:
    key = name.strip().casefold()
    for s in registry.sheet_level:
        if key in (s.code.casefold(), s.name_nl.casefold(), s.name_en.casefold()):
            return s
    return None


def _header_row(
    rows: list[list[object]], sheet: Sheet, lang_labels: bool = True, version: TemplateVersion | None = None
) -> tuple[int, dict[int, str]] | None:
    """Find the header row: the row holding the most field codes (or Dutch/English labels); with an older
    template ``version``, its header codes count too (mapped to the current field, or ``versions.REMOVED``)."""
    lookup: dict[str, str] = {}
    if version is not None and not version.current:
        lookup = versions.lookup(sheet, version)
        codes = versions.header_codes(sheet, version)
    else:
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


def _to_sheet(
    code_sheet: Sheet,
    name: str,
    rows: list[list[object]],
    is_csv: bool,
    decimal_comma: bool,
    findings: list[Finding],
    version: TemplateVersion | None = None,
) -> RawSheet | None:
    hdr = _header_row(rows, code_sheet, version=version)
    if hdr is None:
        if is_csv:
            nl = f"In bestand {name} is de kopregel met veldcodes niet gevonden. Zet de veldcodes van het sjabloon op de eerste regel."
            en = f"The header line with field codes was not found in file {name}. Put the template's field codes on the first line."
        else:
            nl = f"Op blad {name} is de kopregel met veldcodes niet gevonden. Gebruik het sjabloon en laat de kopregels staan."
            en = f"The header row with field codes was not found on sheet {name}. Use the template and keep its header rows."
        findings.append(Finding("error", "header_missing", nl, en, sheet=code_sheet.code, cell=name))
        return None
    hi, mapping = hdr
    header_values = rows[hi]
    removed = [str(header_values[j]).strip() for j, c in mapping.items() if c.startswith(versions.REMOVED)]
    mapping = {j: c for j, c in mapping.items() if not c.startswith(versions.REMOVED)}
    unknown = [
        str(v).strip()
        for j, v in enumerate(header_values)
        if j not in mapping and isinstance(v, str) and v.strip() and str(v).strip() not in removed
    ]
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
        n = len(unknown)
        where_nl, where_en = (f"Bestand {name}", f"File {name}") if is_csv else (f"Blad {name}", f"Sheet {name}")
        findings.append(
            Finding(
                "info",
                "column_unknown",
                f"{where_nl} heeft {count_text(n, 'kolom', 'kolommen', 'nl')} die niet in het sjabloon "
                f"{'staat' if n == 1 else 'staan'} en {'is' if n == 1 else 'zijn'} genegeerd: {shown}.",
                f"{where_en} has {count_text(n, 'column', 'columns', 'en')} that {'is' if n == 1 else 'are'} not in "
                f"the template and {'was' if n == 1 else 'were'} ignored: {shown}.",
                sheet=code_sheet.code,
                cell=name,
            )
        )
    raw = RawSheet(
        code=code_sheet.code,
        name=name,
        columns=columns,
        rows=data,
        is_csv=is_csv,
        decimal_comma=decimal_comma,
        unknown_columns=unknown,
    )
    if version is not None and not version.current:
        _apply_version(raw, code_sheet, version, header_values, mapping, removed)
    return raw


def _apply_version(
    raw: RawSheet,
    sheet: Sheet,
    version: TemplateVersion,
    header_values: list[object],
    mapping: dict[int, str],
    removed: list[str],
) -> None:
    """Note on ``raw`` what reading it through ``version``'s map changed: renamed and split columns found,
    removed columns ignored, and the fields that version did not ask (unless the file has them anyway)."""
    ch = version.sheet_changes(sheet.code)
    headers = {str(header_values[j]).strip().casefold(): code for j, code in mapping.items()}
    raw.renamed = {old: new for old, new in ch.renamed.items() if headers.get(old.casefold()) == new}
    raw.split = {old: parts for old, parts in ch.split.items() if headers.get(old.casefold()) == parts[0]}
    raw.removed_columns = removed
    raw.not_asked = [c for c in versions.not_asked(sheet, version) if c not in raw.columns]


def _formula_findings(raw: RawSheet, refs: list[str]) -> list[Finding]:
    by_letter = {letter: code for code, letter in raw.columns.items()}
    data_rows = {r for r, _ in raw.rows}
    out = []
    for ref in refs:
        m = re.match(r"([A-Z]+)([0-9]+)$", ref)
        if not m or int(m.group(2)) not in data_rows or m.group(1) not in by_letter:
            continue
        code = by_letter[m.group(1)]
        out.append(
            Finding(
                "error",
                "formula",
                f"Cel {raw.name}!{ref} bevat een formule. Lever alleen waarden aan: kopieer de cellen en kies 'Plakken als waarden'.",
                f"Cell {raw.name}!{ref} holds a formula. Deliver values only: copy the cells and use 'Paste values'.",
                sheet=raw.code,
                cell=f"{raw.name}!{ref}",
                row=int(m.group(2)),
                field=code,
            )
        )
    return out[:200]


# -------------------------------------------------------------------------------------------- CSV

# Cells that hold no value (n.v.t., onbekend, ...) are recognised in pipeline/ingest/answers.py.


# ------------------------------------------------------------------------------------------ child processes


def _limit_child() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _run_child(jobs: list[dict]) -> tuple[dict[str, dict], str]:
    """Run parse jobs in one child process (``pipeline.reader_child``, jobs as JSON lines on stdin); returns
    the results per job id and how the child ended ("ok", "crash" or "timeout")."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    # ASCII JSON: a file name that is not UTF-8 (held as surrogates) travels as \udcXX escapes
    payload = "".join(json.dumps(j) + "\n" for j in jobs).encode("ascii")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pipeline.ingest.reader_child"],
            input=payload,
            capture_output=True,
            timeout=CHILD_TIMEOUT_S * max(1, len(jobs)),
            preexec_fn=_limit_child,
            env=env,
            check=False,
        )
        out, state = proc.stdout, ("ok" if proc.returncode == 0 else "crash")
    except subprocess.TimeoutExpired as exc:
        out, state = exc.stdout or b"", "timeout"
    results: dict[str, dict] = {}
    for line in out.split(b"\n"):  # not splitlines(): U+2028 or U+0085 inside a cell is no record end
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(rec, dict) and "id" in rec:
            results[rec["id"]] = rec
    return results, state


def run_jobs(jobs: list[dict], workers: int = 2) -> dict[str, dict]:
    """Parse jobs in batches, one child process per worker; a job whose batch child died (memory, crash,
    time) is retried alone, so only that file gets a finding (``{"error": "timeout" | "crash"}``)."""
    if not jobs:
        return {}
    chunks = [jobs[k::workers] for k in range(workers)]

    def batch(part: list[dict]) -> dict[str, dict]:
        if not part:
            return {}
        done: dict[str, dict] = {}
        if len(part) > 1:
            results, _ = _run_child(part)
            done.update({j["id"]: results[j["id"]] for j in part if j["id"] in results})
        for job in part:
            if job["id"] in done:
                continue
            results, state = _run_child([job])
            done[job["id"]] = results.get(job["id"]) or {
                "id": job["id"],
                "error": "timeout" if state == "timeout" else "crash",
            }
        return done

    out: dict[str, dict] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for part in pool.map(batch, chunks):
            out.update(part)
    return out


def _path_text(path: Path) -> str:
    return os.fsdecode(path) if isinstance(path, Path) else str(path)


# ------------------------------------------------------------------------------------------ reading plans


@dataclass
class _Plan:
    """What reading one delivery takes: parent-side findings so far, the jobs for the children, and the
    steps that turn their results into a :class:`RawSubmission`."""

    path: Path
    fmt: str
    findings: list[Finding] = field(default_factory=list)
    jobs: list[dict] = field(default_factory=list)
    workbook: tuple[Path, WorkbookCheck, str] | None = None  # (path, check, job id)
    steps: list[tuple] = field(default_factory=list)  # CSV folder steps, in file order
    case_files: list[Path] = field(default_factory=list)
    csv_job: str | None = None


def _plan_workbook(plan: _Plan, path: Path, key: str) -> None:
    check = check_workbook(path)
    if check.findings:
        plan.findings.extend(check.findings)
        return
    job = f"{key}:xlsx"
    plan.jobs.append({"id": job, "kind": "xlsx", "path": _path_text(path)})
    plan.workbook = (path, check, job)


def _plan(path: Path, registry: Registry, key: str) -> _Plan:
    kind = entry_kind(path)
    if kind == "missing":
        plan = _Plan(path, "unknown")
        plan.findings.append(
            Finding("error", "file_missing", f"{path} bestaat niet.", f"{path} does not exist.", cell=str(path))
        )
        return plan
    if kind not in ("file", "dir"):
        plan = _Plan(path, kind)
        plan.findings.append(not_regular_finding(path.name, kind))
        return plan
    if kind == "dir":
        return _plan_folder(path, registry, key)
    suffix = path.suffix.lower()
    plan = _Plan(path, suffix.lstrip(".") or "unknown")
    if suffix in EXCEL_SUFFIXES:
        plan.fmt = "xlsx"
        _plan_workbook(plan, path, key)
        return plan
    plan.findings.append(
        _file_error(
            "file_type",
            f"{path.name}: dit bestandstype wordt niet ondersteund. Lever het Excel-sjabloon (.xlsx) of een map met CSV-bestanden per blad.",
            f"{path.name}: this file type is not supported. Deliver the Excel template (.xlsx) or a folder with one CSV file per sheet.",
            path.name,
        )
    )
    return plan


def _plan_folder(folder: Path, registry: Registry, key: str) -> _Plan:
    plan = _Plan(folder, "csv")
    entries = []
    with os.scandir(folder) as it:
        for entry in it:
            if not entry.name.startswith("."):
                entries.append((entry.name, entry_kind(entry.path)))
    entries.sort()
    files = []
    for name, kind in entries:
        if kind == "file":
            files.append(folder / name)
        elif kind != "dir":
            plan.findings.append(not_regular_finding(name, kind))
    if plan.findings:
        return plan  # a delivery holding a link or special file is not read at all
    workbooks = [p for p in files if p.suffix.lower() in EXCEL_SUFFIXES]
    if len(workbooks) > 1:
        plan.findings.append(
            _file_error(
                "file_workbooks",
                "Een levering mag één Excel-werkboek bevatten.",
                "A delivery may contain one Excel workbook.",
                folder.name,
            )
        )
        return plan
    if workbooks:
        plan.fmt = "xlsx"
        _plan_workbook(plan, workbooks[0], key)
    csv_files = []
    for p in files:
        if p.name.lower() in CASE_FILE_NAMES:
            plan.case_files.append(p)
            continue
        if p in workbooks:
            continue
        if p.suffix.lower() not in CSV_SUFFIXES:
            plan.steps.append(("ignored_type", p))
            continue
        sheet = _match_sheet(p.stem, registry)
        if sheet is None:
            plan.steps.append(("ignored_sheet", p))
            continue
        size = p.lstat().st_size
        if size == 0:
            plan.steps.append(("empty", p, sheet))
        elif size > MAX_FILE_BYTES:
            plan.steps.append(("too_large", p, sheet))
        else:
            plan.steps.append(("parse", p, sheet, len(csv_files)))
            csv_files.append(_path_text(p))
    if csv_files:
        plan.csv_job = f"{key}:csv"
        plan.jobs.append(
            {
                "id": plan.csv_job,
                "kind": "csv",
                "files": csv_files,
                "max_bytes": MAX_FILE_BYTES,
                "max_line": MAX_CSV_LINE_BYTES,
                "max_cells": MAX_DELIVERY_CELLS,
                "max_field": MAX_TEXT_CHARS * 10,
            }
        )
    return plan


def _child_failure(name: str, rec: dict) -> Finding:
    error = rec.get("error")
    if error == "timeout":
        return _file_error(
            "file_timeout",
            f"Het lezen van {name} duurde te lang en is afgebroken.",
            f"Reading {name} took too long and was stopped.",
            name,
        )
    if error == "MemoryError":
        return _file_error(
            "file_too_complex",
            f"{name} vraagt te veel geheugen om veilig te lezen en is niet gelezen. Verwijder overbodige inhoud en lever het opnieuw aan.",
            f"{name} needs too much memory to read safely and was not read. Remove unneeded content and resend it.",
            name,
        )
    if error == "NotRegularFile":
        return not_regular_finding(name, rec.get("kind", "other"))
    return _file_error(
        "file_corrupt",
        f"{name} kon niet worden gelezen; het bestand is beschadigd of geen geldig Excel-werkboek. Sla het opnieuw op als .xlsx.",
        f"{name} could not be read; the file is damaged or not a valid Excel workbook. Save it again as .xlsx.",
        name,
    )


def _assemble_workbook(sub: RawSubmission, path: Path, check: WorkbookCheck, rec: dict, registry: Registry) -> None:
    if "sheets" not in rec:
        sub.findings.append(_child_failure(path.name, rec))
        return
    stamp = None
    headers: dict[str, list[list[object]]] = {}
    for name, rows in rec["sheets"].items():
        sheet = _match_sheet(name, registry)
        if sheet is None and name.strip().casefold() in versions.INFO_SHEETS:
            stamp = stamp or versions.stamp_of(rows)
        elif sheet is not None:
            headers.setdefault(sheet.code, rows[:15])
    det = versions.detect(registry, stamp, headers)
    read: dict[str, RawSheet] = {}
    for name, rows in rec["sheets"].items():
        sheet = _match_sheet(name, registry)
        if sheet is None:
            continue
        raw = _to_sheet(sheet, name, rows, is_csv=False, decimal_comma=True, findings=sub.findings, version=det.version)
        if raw is not None:
            sub.sheets[sheet.code] = raw
            read[sheet.code] = raw
            sub.findings.extend(_formula_findings(raw, check.formulas.get(name, [])))
    sub.template_version = det.version.version
    sub.findings.extend(versions.detection_findings(registry, det, read))


def _csv_problem(p: Path, sheet: Sheet, res: dict) -> Finding:
    problem, name = res.get("problem"), p.name
    if problem == "empty":
        return Finding(
            "error",
            "file_empty",
            f"{name} is leeg (0 bytes).",
            f"{name} is empty (0 bytes).",
            sheet=sheet.code,
            cell=name,
        )
    if problem == "too_large":
        return _file_error(
            "file_too_large",
            f"{name} is groter dan {MAX_FILE_BYTES / 1e6:.0f} MB.",
            f"{name} is larger than {MAX_FILE_BYTES / 1e6:.0f} MB.",
            name,
        )
    if problem == "encoding":
        return Finding(
            "error",
            "file_encoding",
            f"{name} is geen leesbare tekst in UTF-8, Windows-1252 of UTF-16. Sla het op als 'CSV (gescheiden door lijstscheidingsteken)' of 'CSV UTF-8'.",
            f"{name} is not readable text in UTF-8, Windows-1252 or UTF-16. Save it as 'CSV (delimited)' or 'CSV UTF-8'.",
            sheet=sheet.code,
            cell=name,
        )
    if problem == "line_too_long":
        line, length = int(res.get("line", 0)), int(res.get("length", 0))
        return Finding(
            "error",
            "file_line_too_long",
            f"Regel {line} van {name} is langer dan {format_number(MAX_CSV_LINE_BYTES // 1024, 'nl')} KB (minstens "
            f"{format_number(length, 'nl')} bytes); zo'n regel komt in een ingevuld bestand niet voor. Het bestand is niet gelezen.",
            f"Line {line} of {name} is longer than {format_number(MAX_CSV_LINE_BYTES // 1024, 'en')} KB (at least "
            f"{format_number(length, 'en')} bytes); a filled-in file never has such a line. The file was not read.",
            sheet=sheet.code,
            cell=f"{name}, regel {line}",
            row=line,
        )
    if problem == "cells":
        return Finding(
            "error",
            "file_used_range",
            f"De CSV-bestanden van deze levering bevatten samen meer dan {MAX_DELIVERY_CELLS:,} cellen (grens bereikt in {name}); dat is niet veilig te lezen.".replace(
                ",", "."
            ),
            f"The CSV files of this delivery hold more than {MAX_DELIVERY_CELLS:,} cells together (limit reached in {name}); they cannot be read safely.",
            sheet=sheet.code,
            cell=name,
        )
    if problem == "not_regular":
        return not_regular_finding(name, res.get("kind", "other"))
    if problem == "csv":
        msg = short_value(res.get("message", ""), 200)
        return Finding(
            "error",
            "file_csv",
            f"{name} is geen geldig CSV-bestand ({msg}).",
            f"{name} is not a valid CSV file ({msg}).",
            sheet=sheet.code,
            cell=name,
        )
    return _file_error("file_corrupt", f"{name} kon niet worden gelezen.", f"{name} could not be read.", name)


def _assemble(plan: _Plan, results: dict[str, dict], registry: Registry) -> RawSubmission:
    sub = RawSubmission(fmt=plan.fmt, findings=list(plan.findings), case_files=list(plan.case_files))
    if plan.workbook is not None:
        path, check, job = plan.workbook
        _assemble_workbook(sub, path, check, results.get(job, {"error": "crash"}), registry)
    if plan.csv_job is None and not plan.steps:
        return sub
    csv_rec = results.get(plan.csv_job, {}) if plan.csv_job else {}
    parsed = csv_rec.get("files")
    encodings: set[str] = set()
    headers: dict[str, list[list[object]]] = {}
    for step in plan.steps:
        if step[0] == "parse" and parsed is not None and step[3] < len(parsed) and "rows" in parsed[step[3]]:
            headers.setdefault(step[2].code, parsed[step[3]]["rows"][:15])
    det = versions.detect(registry, None, headers)
    read: dict[str, RawSheet] = {}
    for step in plan.steps:
        kind, p = step[0], step[1]
        if kind == "ignored_type":
            sub.findings.append(
                Finding(
                    "warning",
                    "file_ignored",
                    f"Bestand {p.name} is genegeerd: een CSV-levering bestaat uit .csv-bestanden"
                    f" ({', '.join(f'{c}.csv' for c in registry.sheet_codes)}).",
                    f"File {p.name} was ignored: a CSV delivery consists of .csv files"
                    f" ({', '.join(f'{c}.csv' for c in registry.sheet_codes)}).",
                    cell=p.name,
                )
            )
            continue
        if kind == "ignored_sheet":
            sub.findings.append(
                Finding(
                    "warning",
                    "file_ignored",
                    f"Bestand {p.name} is geen van de bestanden van het sjabloon"
                    f" ({', '.join(f'{c}.csv' for c in registry.sheet_codes)}) en is genegeerd.",
                    f"File {p.name} is none of the template's files"
                    f" ({', '.join(f'{c}.csv' for c in registry.sheet_codes)}) and was ignored.",
                    cell=p.name,
                )
            )
            continue
        sheet = step[2]
        if kind in ("empty", "too_large"):
            sub.findings.append(_csv_problem(p, sheet, {"problem": kind}))
            continue
        if parsed is None:  # the child failed on this delivery's CSV files
            sub.findings.append(_child_failure(p.name, csv_rec or {"error": "crash"}))
            break
        res = parsed[step[3]] if step[3] < len(parsed) else {"problem": "cells"}
        if "rows" not in res:
            sub.findings.append(_csv_problem(p, sheet, res))
            continue
        enc = res["encoding"]
        encodings.add(enc)
        if enc == "utf-16":
            sub.findings.append(
                Finding(
                    "info",
                    "encoding_utf16",
                    f"{p.name} is opgeslagen als UTF-16 ('Unicode-tekst'); het is gelezen, maar lever bij voorkeur 'CSV UTF-8'.",
                    f"{p.name} was saved as UTF-16 ('Unicode text'); it was read, but please deliver 'CSV UTF-8'.",
                    sheet=sheet.code,
                    cell=p.name,
                )
            )
        raw = _to_sheet(
            sheet,
            p.name,
            res["rows"],
            is_csv=True,
            decimal_comma=(res["delimiter"] != ","),
            findings=sub.findings,
            version=det.version,
        )
        if raw is not None:
            if sheet.code in sub.sheets:
                sub.findings.append(
                    Finding(
                        "error",
                        "sheet_twice",
                        f"Zowel {sub.sheets[sheet.code].name} als {p.name} bevat de gegevens van {sheet.name_nl}"
                        f" ({sheet.code}.csv); lever er één aan.",
                        f"Both {sub.sheets[sheet.code].name} and {p.name} hold the data of {sheet.name_nl}"
                        f" ({sheet.code}.csv); deliver only one of them.",
                        sheet=sheet.code,
                        cell=p.name,
                    )
                )
                continue
            sub.sheets[sheet.code] = raw
            read[sheet.code] = raw
    sub.encoding = ",".join(sorted(encodings)) or None
    if read:
        sub.template_version = sub.template_version or det.version.version
        sub.findings.extend(versions.detection_findings(registry, det, read))
    return sub


def _unreadable(path: Path, exc: BaseException) -> RawSubmission:
    sub = RawSubmission(fmt="unknown")
    sub.findings.append(
        _file_error(
            "file_corrupt",
            f"{path.name} kon niet worden gelezen ({type(exc).__name__}); het bestand is beschadigd. Sla het opnieuw op en lever het opnieuw aan.",
            f"{path.name} could not be read ({type(exc).__name__}); the file is damaged. Save it again and resend it.",
            path.name,
        )
    )
    return sub


def read_deliveries(paths: list[Path], registry: Registry, workers: int = 2) -> list[RawSubmission]:
    """Read many deliveries (workbooks or CSV folders): container checks here, parsing in batched child
    processes (one per worker) with memory and time limits. One result per path, in order; a file that
    breaks a reader is a finding on that delivery only."""
    plans: list[_Plan | RawSubmission] = []
    for i, p in enumerate(paths):
        try:
            plans.append(_plan(Path(p), registry, str(i)))
        except Exception as exc:  # noqa: BLE001 - never let one file stop the run
            plans.append(_unreadable(Path(p), exc))
    results = run_jobs([j for plan in plans if isinstance(plan, _Plan) for j in plan.jobs], workers)
    out = []
    for p, plan in zip(paths, plans):
        if isinstance(plan, RawSubmission):
            out.append(plan)
            continue
        try:
            out.append(_assemble(plan, results, registry))
        except Exception as exc:  # noqa: BLE001 - never let one file stop the run
            out.append(_unreadable(Path(p), exc))
    return out


def read_submission(path: Path, registry: Registry) -> RawSubmission:
    """Read one delivery: an Excel workbook or a folder of CSV files."""
    return read_deliveries([path], registry, workers=1)[0]


__all__ = [
    "RawSheet",
    "RawSubmission",
    "check_workbook",
    "decode_text",
    "inspect_workbook",
    "not_regular_finding",
    "read_deliveries",
    "read_submission",
    "short_value",
]
