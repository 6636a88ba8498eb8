"""The pool register ``data/pool.xlsx``: colleagues of member organisations who offer themselves as researcher
or coach for the pilots of other members.

:func:`load_pool` reads the pool (``data/pool.xlsx``, or ``data/pool.csv`` in the Dutch Excel dialect), checks
every cell and returns a :class:`Pool`: the usable people and the findings, each pointing at its cell
(``Pool!C5`` or ``pool.csv, regel 5, kolom org_code``) and echoing the value as typed. A row with an error is
left out of the usable pool; a row with only warnings stays in. Nothing a user puts in the file raises: a
damaged or hostile workbook (checked by :func:`pipeline.ingest.readers.check_workbook` before openpyxl sees
it), a FIFO or link, a wrong sheet name, a missing column or an empty file each become a finding.

The column checks run as a Great Expectations suite (:mod:`pipeline.validate.gx`) over a frame of normalised
columns with the row number as index; the items of the list columns (``rollen``, ``themas``) get a frame of
their own. Cross-field rules (membership of the organisation in the years the person is active) are checked
in Python.

:func:`write_template` writes an empty workbook to fill in (with Excel data validation and an explanation
sheet), :func:`write_pool` writes a pool from rows (used by the demo) and :func:`findings_text` gives one
printable line per finding.

The pool holds names of people. It is read only by the pilots stage and never loaded into the warehouse.
"""

from __future__ import annotations

import copy
import csv
import datetime
import hashlib
import io
import math
import os
import re
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.findings import Finding, short_value
from pipeline.core.numbers import convention_of_separator, parse_number
from pipeline.core.safe_files import NotRegularFile, open_regular, read_regular
from pipeline.core.safe_text import register_code, terminal_safe
from pipeline.core.workspace import Workspace, atomic_write_bytes
from pipeline.ingest.reader_child import decode_text
from pipeline.ingest.readers import check_workbook, not_regular_finding
from pipeline.metadata.lineage import join_names
from pipeline.metadata.registry import Organisation, load_organisations, register_path, registry
from pipeline.validate import gx

POOL_COLUMNS: tuple[str, ...] = (
    "person_id",
    "naam",
    "org_code",
    "rollen",
    "themas",
    "methoden",
    "dagen_per_jaar",
    "max_pilots",
    "actief_vanaf",
    "actief_tot",
)
ROLES = ("coach", "onderzoeker")
OPTIONAL_COLUMNS = ("methoden", "actief_tot")
REQUIRED_COLUMNS = tuple(c for c in POOL_COLUMNS if c not in OPTIONAL_COLUMNS)
#: the words accepted in ``rollen`` and the role each stands for
ROLE_WORDS = {"coach": "coach", "onderzoeker": "onderzoeker", "researcher": "onderzoeker"}

SHEET_NAME = "Pool"
XLSX_NAME = "pool.xlsx"
CSV_NAME = "pool.csv"
PEOPLE_COLUMNS = (
    "person_id",
    "name",
    "org_code",
    "roles",
    "themes",
    "methods",
    "days_per_year",
    "max_pilots",
    "active_from",
    "active_to",
    "row",
)

PERSON_ID_RE = r"^[A-Za-z0-9_-]{1,20}$"
WHOLE_RE = r"^-?[0-9]+$"
YEAR_RE = r"^[0-9]{4}$"
NAME_MAX = 100
METHODS_MAX = 300
DAYS_RANGE = (1, 220)
DAYS_USUAL_MAX = 60
MAX_PILOTS_RANGE = (1, 5)
YEAR_RANGE = (2000, 2100)
MAX_CSV_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2_000  # data rows; the whole network has a few hundred colleagues at most
MAX_HEADER_COLUMNS = 200
TEMPLATE_ROWS = 500  # rows of the template that carry data validation

SPLIT_RE = re.compile(r"[;,]")

#: what to fill in, per required column (Dutch, English), in "vul ... in" / "enter ..."
FILL_IN = {
    "person_id": ("een uniek persoonsnummer in, bijv. P001", "a unique person id, e.g. P001"),
    "naam": ("de naam van de persoon in", "the person's name"),
    "org_code": ("de code van de organisatie uit het organisatieregister in", "the organisation's register code"),
    "rollen": ("coach, onderzoeker of beide in (gescheiden door ;)", "coach, onderzoeker or both (separated by ;)"),
    "themas": ("minstens één thema in", "at least one theme"),
    "dagen_per_jaar": (
        "het aantal beschikbare dagen per jaar in (1 tot en met 220)",
        "the days available per year (1 to 220)",
    ),
    "max_pilots": ("het aantal pilots tegelijk in (1 tot en met 5)", "the number of pilots at once (1 to 5)"),
    "actief_vanaf": ("het eerste jaar in met vier cijfers, bijv. 2025", "the first year in four digits, e.g. 2025"),
}


# ------------------------------------------------------------------ the pool


def _empty_people() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in PEOPLE_COLUMNS})
    for c in ("days_per_year", "max_pilots", "active_from", "row"):
        frame[c] = frame[c].astype("int64")
    return frame


@dataclass
class Pool:
    """The usable people of the pool (sorted by ``person_id``), the findings about the file, and its path."""

    people: pd.DataFrame = field(default_factory=_empty_people)
    findings: list[Finding] = field(default_factory=list)
    path: Path | None = None

    def active(self, year: int) -> pd.DataFrame:
        """The people active in ``year``: ``active_from <= year <= active_to`` (no ``active_to``: still active)."""
        p = self.people
        mask = [
            int(a) <= year and (t is None or (isinstance(t, float) and math.isnan(t)) or year <= int(t))
            for a, t in zip(p["active_from"], p["active_to"])
        ]
        return p[pd.Series(mask, index=p.index, dtype=bool)].reset_index(drop=True)

    @property
    def n_errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")


def pool_path(ws: Workspace) -> Path | None:
    """``data/pool.xlsx`` when it is there (whatever kind of entry), else ``data/pool.csv``, else None."""
    data = ws.root / "data"
    for name in (XLSX_NAME, CSV_NAME):
        if os.path.lexists(data / name):
            return data / name
    return None


# ------------------------------------------------------------------ where a finding points


@dataclass
class _Table:
    """The cells of the pool as read: the header and the data rows with their row numbers in the file."""

    name: str  # sheet name (workbook) or file name (CSV)
    is_csv: bool
    header: list[object]
    rows: list[tuple[int, list[object]]]
    decimal_comma: bool = True
    formulas: list[str] = field(default_factory=list)  # cell references such as "C5"
    columns: dict[str, int] = field(default_factory=dict)  # pool column -> 0-based position

    def ref(self, row: int | None, column: str | None) -> tuple[str, str]:
        """Where a cell is, in Dutch and English: ``Pool!C5`` / ``pool.csv, regel 5, kolom org_code``."""
        if self.is_csv:
            nl, en = [self.name], [self.name]
            if row is not None:
                nl.append(f"regel {row}")
                en.append(f"line {row}")
            if column:
                nl.append(f"kolom {column}")
                en.append(f"column {column}")
            return ", ".join(nl), ", ".join(en)
        sheet = _sheet_ref(self.name)
        if row is None:
            return sheet, sheet
        pos = self.columns.get(column or "")
        where = f"{sheet}!{_letter(pos) if pos is not None else 'A'}{row}"
        return where, where

    def rows_text(self, rows: Sequence[int], lang: str) -> str:
        """'rij 5' / 'rijen 5 en 7' (CSV: 'regel' / 'regels'); English 'row(s)' / 'line(s)'."""
        nums = [str(r) for r in rows]
        if lang == "en":
            word = ("line", "lines") if self.is_csv else ("row", "rows")
        else:
            word = ("regel", "regels") if self.is_csv else ("rij", "rijen")
        return f"{word[0] if len(nums) == 1 else word[1]} {join_names(nums, lang)}"


def _sheet_ref(name: str) -> str:
    """A sheet name as Excel writes it in a reference: ``Pool``, ``'pool '``."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
        return name
    return "'" + name.replace("'", "''") + "'"


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _finding(
    severity: str,
    rule: str,
    where: tuple[str, str],
    nl: str,
    en: str,
    row: int | None = None,
    column: str | None = None,
    value: object = None,
) -> Finding:
    return Finding(
        severity,
        rule,
        f"{where[0]}: {nl}",
        f"{where[1]}: {en}",
        sheet="pool",
        cell=where[0],
        row=row,
        field=column,
        value=short_value(value),
    )


def _quoted(values: Sequence[object], lang: str) -> str:
    return join_names([f"'{short_value(v)}'" for v in values], lang)


# ------------------------------------------------------------------ reading the file


def _file_finding(name: str, rule: str, nl: str, en: str) -> Finding:
    return _finding("error", rule, (name, name), nl, en)


def _read_csv(path: Path) -> tuple[_Table | None, list[Finding]]:
    name = path.name
    try:
        data = read_regular(path, MAX_CSV_BYTES)
    except NotRegularFile as exc:
        return None, [_as_pool_finding(not_regular_finding(name, exc.kind, "pool_file_"), name)]
    except OSError as exc:
        return None, [
            _file_finding(
                name,
                "pool_file_unreadable",
                f"het bestand kan niet worden geopend ({type(exc).__name__}).",
                f"the file cannot be opened ({type(exc).__name__}).",
            )
        ]
    if len(data) > MAX_CSV_BYTES:
        mb = MAX_CSV_BYTES // (1024 * 1024)
        return None, [
            _file_finding(
                name,
                "pool_file_too_large",
                f"het bestand is groter dan {mb} MB; dat is geen pool. Het is niet gelezen.",
                f"the file is larger than {mb} MB; that is not a pool. It was not read.",
            )
        ]
    text, _ = decode_text(data)
    if text is None:
        return None, [
            _file_finding(
                name,
                "pool_file_encoding",
                "het bestand is geen leesbare tekst. Sla het in Excel op als 'CSV UTF-8 (door scheidingstekens gescheiden)'.",
                "the file is not readable text. Save it in Excel as 'CSV UTF-8 (comma delimited)'.",
            )
        ]
    if not text.strip():
        return None, [_empty_file(name)]
    first = text.splitlines()[0]
    delimiter = "," if first.count(",") > first.count(";") else ";"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[object] | None = None
    rows: list[tuple[int, list[object]]] = []
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            nl_where, en_where = f"{name}, regel {start}", f"{name}, line {start}"
            return None, [
                _finding(
                    "error",
                    "pool_file_csv",
                    (nl_where, en_where),
                    f"deze regel kan niet worden gelezen ({exc}); controleer de aanhalingstekens. Het bestand is niet gelezen.",
                    f"this line cannot be read ({exc}); check the quotes. The file was not read.",
                    row=start,
                )
            ]
        values: list[object] = [c if c.strip() else None for c in cells]
        if header is None:
            header = values
            continue
        if not any(v is not None for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            return None, [_too_many_rows(name)]
        rows.append((start, values))
    table = _Table(name, True, header or [], rows, decimal_comma=convention_of_separator(delimiter))
    return table, []


def _empty_file(name: str) -> Finding:
    return _file_finding(
        name,
        "pool_file_empty",
        "het bestand is leeg. Vul het sjabloon in (kopregel in rij 1, één persoon per rij) en sla het opnieuw op.",
        "the file is empty. Fill in the template (header in row 1, one person per row) and save it again.",
    )


def _too_many_rows(name: str) -> Finding:
    return _file_finding(
        name,
        "pool_file_too_many_rows",
        f"het bestand heeft meer dan {MAX_ROWS:,} rijen met gegevens; dat is geen pool. Het is niet gelezen.".replace(
            ",", "."
        ),
        f"the file has more than {MAX_ROWS:,} rows of data; that is not a pool. It was not read.",
    )


def _as_pool_finding(f: Finding, name: str) -> Finding:
    """A finding of the workbook guard, in the pool's form (located at the file, which the message names)."""
    named = name in f.message_nl and name in f.message_en
    return Finding(
        f.severity,
        f.rule,
        f.message_nl if named else f"{name}: {f.message_nl}",
        f.message_en if named else f"{name}: {f.message_en}",
        sheet="pool",
        cell=name,
        row=f.row,
        field=f.field,
        value=f.value,
    )


def _read_xlsx(path: Path) -> tuple[_Table | None, list[Finding]]:
    name = path.name
    check = check_workbook(path)
    if check.findings:
        if any(f.rule == "file_empty" for f in check.findings):
            return None, [_empty_file(name)]
        return None, [_as_pool_finding(f, name) for f in check.findings]
    links = _external_links(path)
    if links:
        return None, [
            _file_finding(
                name,
                "pool_file_external_links",
                f"het werkboek bevat {'een koppeling' if links == 1 else f'{links} koppelingen'} naar andere "
                "werkboeken; waarden daaruit worden niet gelezen. Verbreek de koppelingen (Gegevens > Koppelingen "
                "bewerken > Koppeling verbreken) en sla het bestand opnieuw op.",
                f"the workbook holds {'a link' if links == 1 else f'{links} links'} to other workbooks; values from "
                "them are not read. Break the links (Data > Edit Links > Break Link) and save the file again.",
            )
        ]
    import openpyxl

    try:
        with open_regular(path) as fh, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions it does not read
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True, keep_links=False)
            try:
                sheets = list(wb.sheetnames)
                matches = [s for s in sheets if s.strip().casefold() == SHEET_NAME.casefold()]
                if not matches:
                    return None, [_no_pool_sheet(name, sheets)]
                sheet = wb[matches[0]]
                header: list[object] = []
                for cells in sheet.iter_rows(min_row=1, max_row=1, max_col=MAX_HEADER_COLUMNS, values_only=True):
                    header = list(cells)
                while header and _blank(header[-1]):
                    header.pop()
                rows: list[tuple[int, list[object]]] = []
                # without a header only whether there is data below matters (the header finding says the rest)
                width = len(header) or MAX_HEADER_COLUMNS
                for number, cells in enumerate(sheet.iter_rows(min_row=2, max_col=width, values_only=True), start=2):
                    values = [None if _blank(v) else v for v in cells]
                    if not any(v is not None for v in values):
                        continue
                    if len(rows) >= MAX_ROWS:
                        return None, [_too_many_rows(name)]
                    rows.append((number, values))
                    if not header:
                        break
            finally:
                wb.close()
    except NotRegularFile as exc:
        return None, [_as_pool_finding(not_regular_finding(name, exc.kind, "pool_file_"), name)]
    except Exception as exc:  # the guard passed it, but openpyxl could not make sense of the workbook
        return None, [
            _file_finding(
                name,
                "pool_file_corrupt",
                f"het werkboek kan niet worden gelezen ({type(exc).__name__}). Sla het opnieuw op als Excel-werkmap (.xlsx).",
                f"the workbook cannot be read ({type(exc).__name__}). Save it again as an Excel workbook (.xlsx).",
            )
        ]
    table = _Table(matches[0], False, header, rows)
    table.formulas = list(check.formulas.get(matches[0], []))
    if not header and not rows:
        return None, [
            _file_finding(
                _sheet_ref(matches[0]),
                "pool_file_empty",
                "het blad is leeg. Zet de kopregel in rij 1 (zoals in het sjabloon) en daaronder één persoon per rij.",
                "the sheet is empty. Put the header in row 1 (as in the template) and one person per row below it.",
            )
        ]
    return table, []


def _external_links(path: Path) -> int:
    """How many external workbook links (``xl/externalLinks/*.xml``) the checked workbook holds."""
    try:
        with open_regular(path) as fh, zipfile.ZipFile(fh) as zf:
            return sum(
                1
                for n in zf.namelist()
                if n.startswith("xl/externalLinks/") and n.endswith(".xml") and "/_rels/" not in n
            )
    except (OSError, zipfile.BadZipFile):
        return 0  # the guard read it a moment ago; openpyxl's own reading reports what changed since


def _no_pool_sheet(name: str, sheets: list[str]) -> Finding:
    if len(sheets) == 1:
        nl_has, en_has = f"het blad {_quoted(sheets, 'nl')}", f"the sheet {_quoted(sheets, 'en')}"
    else:
        nl_has, en_has = f"de bladen {_quoted(sheets, 'nl')}", f"the sheets {_quoted(sheets, 'en')}"
    return _file_finding(
        name,
        "pool_sheet_missing",
        f"het blad '{SHEET_NAME}' ontbreekt; het werkboek heeft {nl_has}. Noem het blad met de pool '{SHEET_NAME}'.",
        f"the sheet '{SHEET_NAME}' is missing; the workbook has {en_has}. Name the sheet holding the pool '{SHEET_NAME}'.",
    )


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# ------------------------------------------------------------------ the header


def _match_header(table: _Table) -> tuple[bool, list[Finding]]:
    """Map the header to the pool columns; False when the rows cannot be used (a required column missing)."""
    findings: list[Finding] = []
    seen: dict[str, list[int]] = {}
    unknown: list[tuple[int, str]] = []
    known = {c.casefold(): c for c in POOL_COLUMNS}
    for i, cell in enumerate(table.header):
        if _blank(cell):
            continue
        text = str(cell).strip()
        column = known.get(text.casefold())
        if column is None:
            unknown.append((i, text))
        else:
            seen.setdefault(column, []).append(i)
    if not seen:
        shown = ", ".join(POOL_COLUMNS)
        where = (
            (f"{table.name}, regel 1", f"{table.name}, line 1")
            if table.is_csv
            else (f"{_sheet_ref(table.name)}!A1",) * 2
        )
        return False, [
            _finding(
                "error",
                "pool_header_missing",
                where,
                f"de kopregel met de kolomnamen ontbreekt; de eerste rij moet zijn: {shown}.",
                f"the header with the column names is missing; the first row must be: {shown}.",
                row=1,
            )
        ]
    usable = True
    for column, positions in seen.items():
        if len(positions) > 1:
            usable = False
            places_nl = join_names([_header_place(table, p, "nl") for p in positions], "nl")
            places_en = join_names([_header_place(table, p, "en") for p in positions], "en")
            findings.append(
                _finding(
                    "error",
                    "pool_column_twice",
                    table.ref(None, None),
                    f"de kolom '{column}' staat {len(positions)} keer in de kopregel ({places_nl}). Laat er één staan.",
                    f"the column '{column}' occurs {len(positions)} times in the header ({places_en}). Keep one.",
                    column=column,
                )
            )
    table.columns = {c: p[0] for c, p in seen.items()}
    header_text = ", ".join(POOL_COLUMNS)
    for column in POOL_COLUMNS:
        if column in seen:
            continue
        if column in REQUIRED_COLUMNS:
            usable = False
            findings.append(
                _finding(
                    "error",
                    "pool_column_missing",
                    table.ref(None, None),
                    f"de verplichte kolom '{column}' ontbreekt in de kopregel (rij 1); zonder deze kolom is geen enkele "
                    f"persoon bruikbaar. Zet de kolom terug zoals in het sjabloon: {header_text}.",
                    f"the required column '{column}' is missing from the header (row 1); without it no person can be "
                    f"used. Restore the column as in the template: {header_text}.",
                    column=column,
                )
            )
        else:
            consequence = (
                (
                    "niemand heeft een einddatum (iedereen geldt als nog actief)",
                    "nobody has an end year (all count as still active)",
                )
                if column == "actief_tot"
                else ("niemand heeft methoden", "nobody has methods")
            )
            findings.append(
                _finding(
                    "warning",
                    "pool_column_missing",
                    table.ref(None, None),
                    f"de kolom '{column}' ontbreekt in de kopregel; {consequence[0]}. Zet de kolom terug zoals in het sjabloon.",
                    f"the column '{column}' is missing from the header; {consequence[1]}. Restore it as in the template.",
                    column=column,
                )
            )
    for pos, text in unknown:
        where = (
            (f"{table.name}, regel 1, kolom {short_value(text)}", f"{table.name}, line 1, column {short_value(text)}")
            if table.is_csv
            else (f"{_sheet_ref(table.name)}!{_letter(pos)}1",) * 2
        )
        findings.append(
            _finding(
                "warning",
                "pool_column_unknown",
                where,
                f"de kolom '{short_value(text)}' hoort niet bij de pool en wordt niet gelezen. Kolommen van de pool: {header_text}.",
                f"the column '{short_value(text)}' is not part of the pool and is not read. Pool columns: {header_text}.",
                row=1,
                value=text,
            )
        )
    return usable, findings


def _header_place(table: _Table, pos: int, lang: str) -> str:
    if not table.is_csv:
        return f"{_letter(pos)}1"
    return f"{'column' if lang == 'en' else 'kolom'} {pos + 1}"


# ------------------------------------------------------------------ normalised values


def _text(value: object) -> str | None:
    """A cell as stripped text; None when empty. Whole floats lose their '.0' (Excel stores 12 as 12.0)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() else str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _whole(value: object, decimal_comma: bool) -> tuple[str | None, float]:
    """(text the whole-number check sees, the number or NaN). '12', '12,0' and 12.0 are 12; '12,5' is not whole."""
    if value is None or isinstance(value, bool):
        return _text(value), math.nan
    if isinstance(value, int):
        return str(value), float(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value)), value
        return _text(value), math.nan
    text = _text(value)
    if text is None or not isinstance(value, str):
        return text, math.nan
    # the file's convention first; a whole number in the other one is accepted too ('12,0' in a ','-file):
    # in 1-220 days or 1-5 pilots the two readings never give two different whole numbers in range
    for convention in (decimal_comma, not decimal_comma):
        parsed = parse_number(text, convention)
        if parsed.ok and parsed.is_integer and abs(parsed.value) < 1e15:
            return str(int(parsed.value)), float(parsed.value)
    return text, math.nan


def _year(value: object) -> tuple[str | None, float]:
    """(text the year check sees, the year or NaN): four ASCII digits ('2.025' or '２０２５' is no year)."""
    text = _text(value)
    if isinstance(value, float) and not value.is_integer():
        return text, math.nan
    if text is not None and re.fullmatch(YEAR_RE, text, re.ASCII):
        return text, float(text)
    return text, math.nan


def _items(value: object) -> list[str]:
    text = _text(value)
    return [p.strip() for p in SPLIT_RE.split(text)] if text else []


@dataclass
class _Row:
    number: int
    cells: dict[str, object]  # pool column -> the cell as read (None when empty or no such column)
    roles: list[str] = field(default_factory=list)  # the items of 'rollen' as typed
    themes: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)


def _rows(table: _Table) -> list[_Row]:
    out = []
    for number, values in table.rows:
        cells = {c: (values[p] if p < len(values) else None) for c, p in table.columns.items()}
        row = _Row(number, {c: cells.get(c) for c in POOL_COLUMNS})
        row.roles = [p for p in _items(row.cells["rollen"]) if p]
        row.themes = [p for p in _items(row.cells["themas"]) if p]
        methods = _text(row.cells["methoden"])
        row.methods = list(dict.fromkeys(p.strip() for p in methods.split(";") if p.strip())) if methods else []
        out.append(row)
    return out


def _frames(rows: list[_Row], decimal_comma: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frame the column suite checks (one row per data row) and the frame of list items."""
    text: dict[str, list[Any]] = {}
    numbers: dict[str, list[float]] = {}
    for c in ("person_id", "naam", "org_code", "methoden"):
        text[f"{c}__raw"] = [_text(r.cells[c]) for r in rows]
    text["person_id__key"] = [(_text(r.cells["person_id"]) or "").casefold() or None for r in rows]
    text["org_code"] = [_org_code(r.cells["org_code"]) for r in rows]
    text["rollen__raw"] = ["; ".join(r.roles) or None for r in rows]
    text["themas__raw"] = ["; ".join(r.themes) or None for r in rows]
    for c in ("dagen_per_jaar", "max_pilots"):
        parsed = [_whole(r.cells[c], decimal_comma) for r in rows]
        text[f"{c}__raw"] = [_text(r.cells[c]) for r in rows]
        text[f"{c}__text"] = [p[0] for p in parsed]
        numbers[c] = [p[1] for p in parsed]
    for c in ("actief_vanaf", "actief_tot"):
        parsed = [_year(r.cells[c]) for r in rows]
        text[f"{c}__raw"] = [p[0] for p in parsed]
        numbers[c] = [p[1] for p in parsed]
    frame = pd.DataFrame(
        {
            "__row": pd.Series([r.number for r in rows], dtype="int64"),
            **{k: pd.Series(v, dtype=object) for k, v in text.items()},
            **{k: pd.Series(v, dtype="float64") for k, v in numbers.items()},
        }
    )
    items: dict[str, list[Any]] = {"__row": [], "__item": [], "role": [], "theme": []}
    for r in rows:
        for kind, values in (("role", r.roles), ("theme", r.themes)):
            for v in values:
                items["__row"].append(r.number)
                items["__item"].append(len(items["__item"]))
                items["role"].append(v.casefold() if kind == "role" else None)
                items["theme"].append(v.casefold() if kind == "theme" else None)
    item_frame = pd.DataFrame(
        {
            "__row": pd.Series(items["__row"], dtype="int64"),
            "__item": pd.Series(items["__item"], dtype="int64"),
            "role": pd.Series(items["role"], dtype=object),
            "theme": pd.Series(items["theme"], dtype=object),
        }
    )
    return frame, item_frame


def _org_code(value: object) -> str | None:
    text = _text(value)
    if text is None:
        return None
    return text.upper() if text.isascii() else text


# ------------------------------------------------------------------ the suites


def _column_suite(org_codes: list[str]) -> Any:
    gxe = gx.expectations()
    suite = gx.new_suite("rbb_pool")

    def add(exp_cls, rule: str, field_code: str, severity: str = "error", **kwargs) -> None:
        suite.add_expectation(exp_cls(meta={"rule": rule, "field": field_code, "severity": severity}, **kwargs))

    for c in REQUIRED_COLUMNS:
        add(gxe.ExpectColumnValuesToNotBeNull, "required", c, column=f"{c}__raw")
    add(gxe.ExpectColumnValuesToMatchRegex, "pattern", "person_id", column="person_id__raw", regex=PERSON_ID_RE)
    add(gxe.ExpectColumnValuesToBeUnique, "unique", "person_id", column="person_id__key")
    add(gxe.ExpectColumnValueLengthsToBeBetween, "length", "naam", column="naam__raw", max_value=NAME_MAX)
    add(gxe.ExpectColumnValueLengthsToBeBetween, "length", "methoden", column="methoden__raw", max_value=METHODS_MAX)
    add(gxe.ExpectColumnValuesToBeInSet, "code_list", "org_code", column="org_code", value_set=org_codes)
    for c, (lo, hi) in (("dagen_per_jaar", DAYS_RANGE), ("max_pilots", MAX_PILOTS_RANGE)):
        add(gxe.ExpectColumnValuesToMatchRegex, "type", c, column=f"{c}__text", regex=WHOLE_RE)
        add(gxe.ExpectColumnValuesToBeBetween, "range", c, column=c, min_value=lo, max_value=hi)
    add(
        gxe.ExpectColumnValuesToBeBetween,
        "unusual",
        "dagen_per_jaar",
        "warning",
        column="dagen_per_jaar",
        max_value=DAYS_USUAL_MAX,
    )
    for c in ("actief_vanaf", "actief_tot"):
        add(gxe.ExpectColumnValuesToMatchRegex, "type", c, column=f"{c}__raw", regex=YEAR_RE)
        add(gxe.ExpectColumnValuesToBeBetween, "range", c, column=c, min_value=YEAR_RANGE[0], max_value=YEAR_RANGE[1])
    add(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB,
        "year_order",
        "actief_tot",
        column_A="actief_tot",
        column_B="actief_vanaf",
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    )
    return suite


def _item_suite(themes: Sequence[str]) -> Any:
    gxe = gx.expectations()
    suite = gx.new_suite("rbb_pool_items")
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeInSet(
            column="role", value_set=sorted(ROLE_WORDS), meta={"rule": "role", "field": "rollen", "severity": "error"}
        )
    )
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeInSet(
            column="theme", value_set=list(themes), meta={"rule": "theme", "field": "themas", "severity": "error"}
        )
    )
    return suite


def _unexpected(results: list[Any], index: str) -> list[tuple[dict, list[int]]]:
    """(meta, unexpected index values) of every failed expectation."""
    out = []
    for res in results:
        meta = dict(res.expectation_config.meta or {})
        if res.exception_info and res.exception_info.get("raised_exception"):
            raise RuntimeError(f"pool rule {meta} failed to run: {res.exception_info.get('exception_message')}")
        if res.success:
            continue
        out.append((meta, [int(e[index]) for e in res.result.get("unexpected_index_list") or []]))
    return out


# ------------------------------------------------------------------ findings per cell


@dataclass
class _Context:
    table: _Table
    by_row: dict[int, _Row]
    organisations: dict[str, Organisation]
    examples: str  # a few organisation codes for the messages
    themes: tuple[str, ...]


def _cell_finding(ctx: _Context, rule: str, column: str, row: _Row, severity: str = "error") -> Finding:
    table = ctx.table
    raw = row.cells.get(column)
    value = short_value(raw)
    where = table.ref(row.number, column)

    def make(nl: str, en: str, shown: object = raw) -> Finding:
        return _finding(severity, rule, where, nl, en, row=row.number, column=column, value=shown)

    if rule == "required":
        nl_fill, en_fill = FILL_IN[column]
        return make(f"{column} is leeg; vul {nl_fill}.", f"{column} is empty; enter {en_fill}.")
    if rule == "pattern":
        return make(
            f"persoonsnummer '{value}' is niet geldig; gebruik alleen letters, cijfers, - en _ (maximaal 20 tekens), bijv. P001.",
            f"person id '{value}' is not valid; use only letters, digits, - and _ (at most 20 characters), e.g. P001.",
        )
    if rule == "length":
        n = len(_text(raw) or "")
        limit = NAME_MAX if column == "naam" else METHODS_MAX
        what_nl, what_en = (
            ("de naam", "the name") if column == "naam" else ("de lijst met methoden", "the list of methods")
        )
        return make(
            f"{what_nl} is {n} tekens lang; maximaal {limit} tekens. Kort de tekst in.",
            f"{what_en} is {n} characters long; at most {limit}. Shorten the text.",
            shown=short_value(raw, 40),
        )
    if rule == "code_list":
        _, suggestion = register_code(_text(raw) or "", frozenset(ctx.organisations))
        hint_nl = f"bedoelt u {suggestion}? Gebruik" if suggestion else "gebruik"
        hint_en = f"did you mean {suggestion}? Use" if suggestion else "use"
        return make(
            f"onbekende organisatiecode '{value}'; {hint_nl} een code uit het organisatieregister (bijv. {ctx.examples}).",
            f"unknown organisation code '{value}'; {hint_en} a code from the organisation register (e.g. {ctx.examples}).",
        )
    if rule == "type" and column in ("dagen_per_jaar", "max_pilots"):
        example = "12" if column == "dagen_per_jaar" else "2"
        return make(
            f"{column} '{value}' is geen geheel getal; vul alleen een geheel getal in, zonder tekst, bijv. {example}.",
            f"{column} '{value}' is not a whole number; enter only a whole number, without text, e.g. {example}.",
        )
    if rule == "type":
        return make(
            f"{column} '{value}' is geen jaartal; schrijf het jaar met vier cijfers, bijv. 2025.",
            f"{column} '{value}' is not a year; write the year in four digits, e.g. 2025.",
        )
    if rule == "range":
        lo, hi = {"dagen_per_jaar": DAYS_RANGE, "max_pilots": MAX_PILOTS_RANGE}.get(column, YEAR_RANGE)
        what_nl, what_en = {
            "dagen_per_jaar": (
                "het aantal dagen in dat de persoon per jaar beschikbaar is",
                "the days per year the person is available",
            ),
            "max_pilots": (
                "in hoeveel pilots de persoon tegelijk kan doen",
                "how many pilots the person can do at once",
            ),
        }.get(column, ("het jaar in met vier cijfers", "the year in four digits"))
        return make(
            f"{column} '{value}' valt buiten {lo} tot en met {hi}; vul {what_nl}.",
            f"{column} '{value}' is outside {lo} to {hi}; enter {what_en}.",
        )
    if rule == "unusual":
        return make(
            f"{column} '{value}' is ongebruikelijk veel (meer dan {DAYS_USUAL_MAX} dagen per jaar); controleer het aantal. "
            "De persoon blijft in de pool.",
            f"{column} '{value}' is unusually many (more than {DAYS_USUAL_MAX} days a year); check the number. "
            "The person stays in the pool.",
        )
    if rule == "year_order":
        since = _text(row.cells["actief_vanaf"])
        return make(
            f"actief_tot '{value}' ligt vóór actief_vanaf ({since}); vul een jaar in dat gelijk is aan of later dan "
            "actief_vanaf, of laat actief_tot leeg als de persoon nog actief is.",
            f"actief_tot '{value}' is before actief_vanaf ({since}); enter a year equal to or after actief_vanaf, "
            "or leave actief_tot empty if the person is still active.",
        )
    raise ValueError(f"no message for pool rule {rule!r}")


def _duplicate_findings(ctx: _Context, rows: list[int]) -> list[Finding]:
    groups: dict[str, list[int]] = {}
    for number in rows:
        key = (_text(ctx.by_row[number].cells["person_id"]) or "").casefold()
        groups.setdefault(key, []).append(number)
    out = []
    for numbers in groups.values():
        numbers = sorted(numbers)
        for number in numbers:
            row = ctx.by_row[number]
            value = short_value(row.cells["person_id"])
            out.append(
                _finding(
                    "error",
                    "unique",
                    ctx.table.ref(number, "person_id"),
                    f"persoonsnummer '{value}' komt meer dan één keer voor ({ctx.table.rows_text(numbers, 'nl')}); "
                    "elk persoonsnummer mag één keer voorkomen. Geef de personen elk een eigen nummer of verwijder de dubbele rij.",
                    f"person id '{value}' occurs more than once ({ctx.table.rows_text(numbers, 'en')}); each person id "
                    "may occur once. Give each person their own id or delete the duplicate row.",
                    row=number,
                    column="person_id",
                    value=row.cells["person_id"],
                )
            )
    return out


def _item_findings(ctx: _Context, items: pd.DataFrame, failed: list[tuple[dict, list[int]]]) -> list[Finding]:
    """One finding per cell of ``rollen`` or ``themas`` with items outside the list, naming them as typed."""
    out = []
    row_of = dict(zip(items["__item"].astype(int), items["__row"].astype(int)))
    for meta, ids in failed:
        is_role = meta["rule"] == "role"
        column = meta["field"]
        allowed = set(ROLE_WORDS) if is_role else set(ctx.themes)
        for number in sorted({row_of[i] for i in ids}):
            row = ctx.by_row[number]
            typed = row.roles if is_role else row.themes
            values = list(dict.fromkeys(v for v in typed if v.casefold() not in allowed))
            many = len(values) > 1
            if is_role:
                nl = (
                    f"{'onbekende rollen' if many else 'onbekende rol'} {_quoted(values, 'nl')}; "
                    "kies coach, onderzoeker of beide (gescheiden door ;)."
                )
                en = (
                    f"{'unknown roles' if many else 'unknown role'} {_quoted(values, 'en')}; "
                    "choose coach, onderzoeker (researcher) or both (separated by ;)."
                )
            else:
                choices = ", ".join(ctx.themes)
                nl = f"{'onbekende thema’s' if many else 'onbekend thema'} {_quoted(values, 'nl')}; kies uit {choices}."
                en = f"{'unknown themes' if many else 'unknown theme'} {_quoted(values, 'en')}; choose from {choices}."
            out.append(
                _finding(
                    "error",
                    meta["rule"],
                    ctx.table.ref(number, column),
                    nl,
                    en,
                    row=number,
                    column=column,
                    value=row.cells[column],
                )
            )
    return out


def _span(first: int, last: int | None, lang: str) -> str:
    if last is None:
        return f"vanaf {first}" if lang != "en" else f"from {first}"
    if last == first:
        return f"in {first}"
    return f"van {first} tot en met {last}" if lang != "en" else f"from {first} to {last}"


def _membership_findings(ctx: _Context, row: _Row, usable_years: tuple[int, int | None]) -> list[Finding]:
    """The organisation is a member in the years the person is active (error when in none of them)."""
    code = _org_code(row.cells["org_code"])
    org = ctx.organisations.get(code or "")
    if org is None:
        return []
    first, last = usable_years
    since, until = org.member_since, org.member_until
    overlaps = first <= (until if until is not None else math.inf) and since <= (last if last is not None else math.inf)
    before = first < since
    after = until is not None and (last is None or last > until)
    if overlaps and not before and not after:
        return []
    active_nl, active_en = _span(first, last, "nl"), _span(first, last, "en")
    past = until is not None and until < first
    member_nl = f"{org.org_code} {'was' if past else 'is'} lid {_span(since, until, 'nl')}"
    member_en = f"{org.org_code} {'was' if past else 'is'} a member {_span(since, until, 'en')}"
    succ_nl = f" (opgevolgd door {org.successor_code})" if org.successor_code else ""
    succ_en = f" (succeeded by {org.successor_code})" if org.successor_code else ""
    if not overlaps:
        return [
            _finding(
                "error",
                "membership",
                ctx.table.ref(row.number, "org_code"),
                f"{org.org_code} is geen lid in de jaren waarin deze persoon actief is ({active_nl}); {member_nl}{succ_nl}. "
                "Gebruik de code van de organisatie waar de persoon nu werkt, of pas actief_vanaf en actief_tot aan.",
                f"{org.org_code} is not a member in the years this person is active ({active_en}); {member_en}{succ_en}. "
                "Use the code of the organisation the person works for now, or correct actief_vanaf and actief_tot.",
                row=row.number,
                column="org_code",
                value=row.cells["org_code"],
            )
        ]
    column = "actief_vanaf" if before else ("actief_tot" if "actief_tot" in ctx.table.columns else "org_code")
    return [
        _finding(
            "warning",
            "membership_partial",
            ctx.table.ref(row.number, column),
            f"deze persoon is actief {active_nl}, maar {member_nl}{succ_nl}. Pas actief_vanaf of actief_tot aan het lidmaatschap aan; "
            "de persoon blijft in de pool.",
            f"this person is active {active_en}, but {member_en}{succ_en}. Align actief_vanaf or actief_tot with the membership; "
            "the person stays in the pool.",
            row=row.number,
            column=column,
            value=row.cells[column],
        )
    ]


def _formula_findings(ctx: _Context) -> list[Finding]:
    out = []
    by_pos = {p: c for c, p in ctx.table.columns.items()}
    for ref in ctx.table.formulas:
        m = re.fullmatch(r"([A-Z]+)([0-9]+)", ref)
        if not m or int(m.group(2)) not in ctx.by_row:
            continue
        pos = 0
        for ch in m.group(1):
            pos = pos * 26 + ord(ch) - 64
        column = by_pos.get(pos - 1)
        if column is None:
            continue
        number = int(m.group(2))
        out.append(
            _finding(
                "warning",
                "formula",
                ctx.table.ref(number, column),
                "de cel bevat een formule; de laatst door Excel berekende waarde is gelezen. Vul liever de waarde zelf in.",
                "the cell holds a formula; the value Excel last calculated was read. Prefer entering the value itself.",
                row=number,
                column=column,
                value=ctx.by_row[number].cells.get(column),
            )
        )
    return out


# ------------------------------------------------------------------ loading


def load_pool(ws: Workspace) -> Pool:
    """Read and check the pool of the workspace; no pool file gives an empty pool without findings.

    Organisation codes are checked against the workspace's register (``data/organisations.csv``, else the
    packaged one); a malformed register raises :class:`~pipeline.metadata.registry.RegisterError`, as it does
    in every stage. The same pool file and register read again in this process give a copy of the pool read
    before (the check is a function of their bytes; a file that changes while it is read is not kept)."""
    path = pool_path(ws)
    if path is None:
        return Pool(path=None)
    key = _pool_key(ws, path)
    if key is not None and key in _LOADED:
        return copy.deepcopy(_LOADED[key])
    pool = _load_pool(ws, path)
    if key is not None and _pool_key(ws, path) == key:
        if len(_LOADED) >= 8:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = copy.deepcopy(pool)
    return pool


#: pools read in this process, by :func:`_pool_key`
_LOADED: dict[tuple, Pool] = {}


def _pool_key(ws: Workspace, path: Path) -> tuple | None:
    """What a pool's check depends on: the pool file's path and bytes, the register's bytes, and whether the
    other pool file is there (None: the file cannot be read as a regular file; it is then never kept)."""
    try:
        data = read_regular(path, 4 * MAX_CSV_BYTES)
        register = register_path(ws.root)
        reg = read_regular(register, 4 * MAX_CSV_BYTES) if register is not None else b""
    except (NotRegularFile, OSError):
        return None
    return (
        str(path),
        hashlib.sha256(data).hexdigest(),
        hashlib.sha256(reg).hexdigest(),
        register is not None,
        os.path.lexists(ws.root / "data" / CSV_NAME),
    )


def _load_pool(ws: Workspace, path: Path) -> Pool:
    findings: list[Finding] = []
    other = ws.root / "data" / CSV_NAME
    if path.name == XLSX_NAME and os.path.lexists(other):
        findings.append(
            _file_finding(
                XLSX_NAME,
                "pool_two_files",
                f"er zijn twee poolbestanden, data/{XLSX_NAME} en data/{CSV_NAME}; de pool is gelezen uit {XLSX_NAME}. "
                f"Verwijder data/{CSV_NAME} (of, als dat het juiste bestand is, data/{XLSX_NAME}).",
                f"there are two pool files, data/{XLSX_NAME} and data/{CSV_NAME}; the pool was read from {XLSX_NAME}. "
                f"Remove data/{CSV_NAME} (or, if that is the right file, data/{XLSX_NAME}).",
            )
        )
    table, problems = _read_csv(path) if path.name == CSV_NAME else _read_xlsx(path)
    findings.extend(problems)
    if table is None:
        return Pool(findings=findings, path=path)
    usable, header_findings = _match_header(table)
    findings.extend(header_findings)
    if not usable:
        return Pool(findings=findings, path=path)
    if not table.rows:
        findings.append(
            _finding(
                "warning",
                "pool_no_people",
                table.ref(None, None),
                "de pool bevat nog geen personen; vul onder de kopregel één persoon per rij in.",
                "the pool holds no people yet; fill in one person per row below the header.",
            )
        )
        return Pool(findings=findings, path=path)
    organisations = {o.org_code: o for o in load_organisations(ws.root)}
    rows = _rows(table)
    by_row = {r.number: r for r in rows}
    members = sorted(o.org_code for o in organisations.values() if o.member_until is None)
    themes = tuple(registry().themes)
    ctx = _Context(table, by_row, organisations, ", ".join(members[:3] or sorted(organisations)[:3]), themes)
    frame, items = _frames(rows, table.decimal_comma)
    cell_findings: list[Finding] = []
    for meta, numbers in _unexpected(gx.run(frame, _column_suite(sorted(organisations)), ["__row"]), "__row"):
        if meta["rule"] == "unique":
            cell_findings.extend(_duplicate_findings(ctx, numbers))
            continue
        if meta["field"] not in table.columns:
            continue
        for number in numbers:
            cell_findings.append(_cell_finding(ctx, meta["rule"], meta["field"], by_row[number], meta["severity"]))
    if not items.empty:
        failed = _unexpected(gx.run(items, _item_suite(themes), ["__row", "__item"]), "__item")
        cell_findings.extend(_item_findings(ctx, items, failed))
    years = _usable_years(frame, cell_findings)
    for row in rows:
        if row.number in years:
            cell_findings.extend(_membership_findings(ctx, row, years[row.number]))
    cell_findings.extend(_formula_findings(ctx))
    # a warning about a cell that also has an error says nothing more (300 days is out of range, not 'unusual')
    wrong_cells = {(f.row, f.field) for f in cell_findings if f.severity == "error"}
    cell_findings = [
        f for f in cell_findings if f.severity == "error" or (f.row, f.field) not in wrong_cells or f.rule == "formula"
    ]
    order = {c: i for i, c in enumerate(POOL_COLUMNS)}
    cell_findings.sort(key=lambda f: (f.row or 0, order.get(f.field or "", -1), f.severity != "error"))
    findings.extend(cell_findings)
    bad = {f.row for f in cell_findings if f.severity == "error"}
    people = _people([r for r in rows if r.number not in bad], frame)
    return Pool(people=people, findings=findings, path=path)


def _usable_years(frame: pd.DataFrame, findings: list[Finding]) -> dict[int, tuple[int, int | None]]:
    """The active years of each row whose year cells and organisation code have no error."""
    wrong = {f.row for f in findings if f.severity == "error" and f.field in ("actief_vanaf", "actief_tot", "org_code")}
    out = {}
    for number, first, last in zip(frame["__row"], frame["actief_vanaf"], frame["actief_tot"]):
        if int(number) in wrong or math.isnan(first):
            continue
        out[int(number)] = (int(first), None if math.isnan(last) else int(last))
    return out


def _people(rows: list[_Row], frame: pd.DataFrame) -> pd.DataFrame:
    if not rows:
        return _empty_people()
    values = frame.set_index("__row")
    records = []
    for r in rows:
        v = values.loc[r.number]
        last = v["actief_tot"]
        records.append(
            {
                "person_id": _text(r.cells["person_id"]),
                "name": " ".join((_text(r.cells["naam"]) or "").split()),
                "org_code": v["org_code"],
                "roles": tuple(sorted({ROLE_WORDS[x.casefold()] for x in r.roles})),
                "themes": tuple(sorted({x.casefold() for x in r.themes})),
                "methods": tuple(r.methods),
                "days_per_year": int(v["dagen_per_jaar"]),
                "max_pilots": int(v["max_pilots"]),
                "active_from": int(v["actief_vanaf"]),
                "active_to": None if math.isnan(last) else int(last),
                "row": r.number,
            }
        )
    people = pd.DataFrame(records, columns=list(PEOPLE_COLUMNS))
    people["active_to"] = pd.Series([r["active_to"] for r in records], dtype=object)
    return people.sort_values("person_id", kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------ printing


SEVERITY_WORDS = {
    "nl": {"error": "fout", "warning": "waarschuwing", "info": "info"},
    "en": {"error": "error", "warning": "warning", "info": "info"},
}


def findings_text(findings: Iterable[Finding], lang: str = "nl") -> list[str]:
    """One printable line per finding: 'fout: Pool!C5: ...' ('error: ...' in English), control characters escaped."""
    words = SEVERITY_WORDS["en" if lang == "en" else "nl"]
    return [f"{words.get(f.severity, f.severity)}: {terminal_safe(f.message(lang))}" for f in findings]


# ------------------------------------------------------------------ writing


def _cell_value(value: object) -> object:
    """A row value as it goes into a cell: lists joined with '; ', None and NaN as empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        return "; ".join(str(v) for v in value)
    return value


def _check_rows(people: Iterable[Mapping]) -> list[Mapping]:
    rows = list(people)
    for i, row in enumerate(rows, start=1):
        unknown = sorted(set(row) - set(POOL_COLUMNS))
        if unknown:
            raise ValueError(
                f"pool row {i}: unknown column(s) {', '.join(unknown)}; columns: {', '.join(POOL_COLUMNS)}"
            )
    return rows


def write_pool(path: Path, people: Iterable[Mapping]) -> Path:
    """Write a pool from rows keyed by the Dutch column names: a workbook (sheet 'Pool') for ``.xlsx``, else a
    CSV file in the Dutch Excel dialect (``;``, decimal comma, UTF-8 with BOM)."""
    path = Path(path)
    rows = _check_rows(people)
    if path.suffix.lower() == ".xlsx":
        atomic_write_bytes(path, _pool_workbook(rows))
        return path
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(POOL_COLUMNS)
    for row in rows:
        writer.writerow([_csv_text(_cell_value(row.get(c))) for c in POOL_COLUMNS])
    atomic_write_bytes(path, buf.getvalue().encode("utf-8-sig"))
    return path


_NUMBERISH = re.compile(r"-?[0-9]+(?:[.,][0-9]+)*")


def _csv_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value).replace(".", ",")
    text = str(value)
    # text that a spreadsheet would run as a formula gets a leading quote (numbers such as -3 stay as they are)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBERISH.fullmatch(text):
        return "'" + text
    return text


COLUMN_WIDTHS = {
    "person_id": 12,
    "naam": 28,
    "org_code": 11,
    "rollen": 22,
    "themas": 36,
    "methoden": 36,
    "dagen_per_jaar": 15,
    "max_pilots": 11,
    "actief_vanaf": 13,
    "actief_tot": 12,
}


def _new_workbook() -> tuple[Any, io.BytesIO]:
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf,
        {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    wb.set_properties(
        {
            "title": "RBB pool van onderzoekers en coaches",
            "subject": "Rijksbrede Benchmarkgroep",
            "created": datetime.datetime(2000, 1, 1),  # the same rows give the same bytes
        }
    )
    return wb, buf


def _pool_sheet(wb: Any) -> Any:
    """The 'Pool' sheet with its header row (bold, frozen) and column widths."""
    header = wb.add_format({"bold": True, "bg_color": "#1F4E79", "font_color": "#FFFFFF", "border": 1})
    sheet = wb.add_worksheet(SHEET_NAME)
    sheet.freeze_panes(1, 0)
    for j, c in enumerate(POOL_COLUMNS):
        sheet.set_column(j, j, COLUMN_WIDTHS[c])
        sheet.write_string(0, j, c, header)
    return sheet


def _write_cell(sheet: Any, i: int, j: int, value: object) -> None:
    value = _cell_value(value)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        sheet.write_string(i, j, str(value))
    else:
        sheet.write_number(i, j, value)


def _pool_workbook(rows: list[Mapping]) -> bytes:
    wb, buf = _new_workbook()
    sheet = _pool_sheet(wb)
    for i, row in enumerate(rows, start=1):
        for j, c in enumerate(POOL_COLUMNS):
            _write_cell(sheet, i, j, row.get(c))
    wb.close()
    return buf.getvalue()


#: per column: required, explanation (nl, en), example value
COLUMN_HELP: dict[str, tuple[bool, str, str, str]] = {
    "person_id": (
        True,
        "Uniek persoonsnummer: letters, cijfers, - en _, maximaal 20 tekens. Houd het nummer gelijk zolang de persoon in de pool staat.",
        "Unique person id: letters, digits, - and _, at most 20 characters. Keep the id while the person is in the pool.",
        "P001",
    ),
    "naam": (True, "Voor- en achternaam, maximaal 100 tekens.", "First name and surname, at most 100 characters.", ""),
    "org_code": (
        True,
        "Code van de organisatie waar de persoon werkt, uit het organisatieregister (zie de lijst hieronder).",
        "Code of the organisation the person works for, from the organisation register (see the list below).",
        "CJIB",
    ),
    "rollen": (
        True,
        "coach, onderzoeker of beide, gescheiden door ; (researcher mag ook voor onderzoeker).",
        "coach, onderzoeker (researcher) or both, separated by ;.",
        "coach; onderzoeker",
    ),
    "themas": (
        True,
        "Minstens één thema waarop de persoon kan helpen, gescheiden door ;. Thema's: {themes}.",
        "At least one theme the person can help with, separated by ;. Themes: {themes}.",
        "tijdigheid; digitaal",
    ),
    "methoden": (
        False,
        "Methoden die de persoon beheerst, vrije tekst gescheiden door ;, bijv. procesanalyse; klantreis; data-analyse.",
        "Methods the person masters, free text separated by ;, e.g. procesanalyse; klantreis; data-analyse.",
        "procesanalyse; klantreis",
    ),
    "dagen_per_jaar": (
        True,
        "Dagen per jaar die de persoon beschikbaar is: een geheel getal van 1 tot en met 220 (meer dan 60 is ongebruikelijk).",
        "Days per year the person is available: a whole number from 1 to 220 (more than 60 is unusual).",
        "12",
    ),
    "max_pilots": (
        True,
        "Hoeveel pilots de persoon tegelijk kan doen: een geheel getal van 1 tot en met 5.",
        "How many pilots the person can do at once: a whole number from 1 to 5.",
        "2",
    ),
    "actief_vanaf": (
        True,
        "Eerste jaar waarin de persoon in de pool zit, vier cijfers (2000-2100).",
        "First year the person is in the pool, four digits (2000-2100).",
        "2025",
    ),
    "actief_tot": (
        False,
        "Laatste jaar waarin de persoon in de pool zit; leeg als de persoon nog actief is. Niet vóór actief_vanaf.",
        "Last year the person is in the pool; empty if the person is still active. Not before actief_vanaf.",
        "",
    ),
}

EXAMPLES = (
    {
        "person_id": "P001",
        "naam": "Voorbeeld Jansen",
        "org_code": "CJIB",
        "rollen": "coach",
        "themas": "tijdigheid; digitaal",
        "methoden": "procesanalyse; klantreis",
        "dagen_per_jaar": 12,
        "max_pilots": 2,
        "actief_vanaf": 2025,
        "actief_tot": None,
    },
    {
        "person_id": "P002",
        "naam": "Voorbeeld de Vries",
        "org_code": "SVB",
        "rollen": "coach; onderzoeker",
        "themas": "klanttevredenheid",
        "methoden": "data-analyse",
        "dagen_per_jaar": 20,
        "max_pilots": 1,
        "actief_vanaf": 2024,
        "actief_tot": 2026,
    },
)

TEMPLATE_TEXT = {
    "nl": {
        "sheet": "Uitleg",
        "title": "Pool van onderzoekers en coaches (RBB-pilots)",
        "intro": (
            "Vul op blad Pool één persoon per rij in, vanaf rij 2. Laat de kopregel (rij 1) staan. Sla het bestand op als "
            "data/pool.xlsx in de werkmap van de benchmarkronde. Rijen met een fout worden niet gebruikt; rijen met alleen "
            "een waarschuwing wel.",
            "De pool bevat namen van personen. Hij wordt alleen gebruikt voor de pilotpagina's voor het Dagelijks Bestuur en "
            "de coördinatoren, en nooit in de rapporten voor leden of in exports.",
        ),
        "table": ("Kolom", "Verplicht", "Uitleg", "Voorbeeld"),
        "yes_no": ("ja", "nee"),
        "examples": "Voorbeelden (alleen ter illustratie; niet op dit blad invullen, maar op blad Pool)",
        "example": "voorbeeld",
        "codes": "Organisatiecodes (leden)",
        "code_table": ("Code", "Organisatie"),
    },
    "en": {
        "sheet": "Explanation",
        "title": "Pool of researchers and coaches (RBB pilots)",
        "intro": (
            "Fill in one person per row on the Pool sheet, from row 2. Keep the header (row 1). Save the file as "
            "data/pool.xlsx in the folder of the benchmark round. Rows with an error are not used; rows with only a "
            "warning are.",
            "The pool holds names of people. It is used only for the pilot pages for the board and the coordinators, "
            "never in member reports or exports.",
        ),
        "table": ("Column", "Required", "Explanation", "Example"),
        "yes_no": ("yes", "no"),
        "examples": "Examples (for illustration only; fill in the Pool sheet, not this one)",
        "example": "example",
        "codes": "Organisation codes (members)",
        "code_table": ("Code", "Organisation"),
    },
}


def write_template(path: Path, lang: str = "nl") -> Path:
    """An empty pool workbook to fill in: sheet 'Pool' with the header (bold, frozen), column widths and Excel data
    validation with input help on every column, and a sheet that explains every column with two example rows
    (Dutch; English with ``lang="en"``)."""
    text = TEMPLATE_TEXT["en" if lang == "en" else "nl"]
    en = lang == "en"
    themes = ", ".join(registry().themes)
    members = sorted((o for o in load_organisations(None) if o.member_until is None), key=lambda o: o.org_code)
    wb, buf = _new_workbook()
    pool = _pool_sheet(wb)
    info = wb.add_worksheet(text["sheet"])
    bold = wb.add_format({"bold": True})
    title = wb.add_format({"bold": True, "font_size": 14})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    note = wb.add_format({"italic": True, "font_color": "#7F7F7F"})
    info.set_column(0, 0, 16)
    info.set_column(1, 1, 12)
    info.set_column(2, 2, 90)
    info.set_column(3, 11, 18)
    info.write_string(0, 0, text["title"], title)
    r = 2
    for line in text["intro"]:
        info.merge_range(r, 0, r, 3, line, wrap)
        info.set_row(r, 45)
        r += 1
    r += 1
    for j, h in enumerate(text["table"]):
        info.write_string(r, j, h, head)
    for c in POOL_COLUMNS:
        r += 1
        required, nl, en_text, example = COLUMN_HELP[c]
        info.write_string(r, 0, c, bold)
        info.write_string(r, 1, text["yes_no"][0 if required else 1])
        info.write_string(r, 2, (en_text if en else nl).format(themes=themes), wrap)
        if example:
            info.write_string(r, 3, example)
    r += 2
    info.write_string(r, 0, text["examples"], bold)
    r += 1
    for j, c in enumerate(POOL_COLUMNS, start=1):
        info.write_string(r, j, c, head)
    for example in EXAMPLES:
        r += 1
        info.write_string(r, 0, text["example"], note)
        for j, c in enumerate(POOL_COLUMNS, start=1):
            _write_cell(info, r, j, example[c])
    r += 2
    info.write_string(r, 0, text["codes"], bold)
    r += 1
    info.write_string(r, 0, text["code_table"][0], head)
    info.write_string(r, 1, text["code_table"][1], head)
    first_code = r + 1
    for o in members:
        r += 1
        info.write_string(r, 0, o.org_code)
        info.write_string(r, 1, o.name)
    codes_range = f"='{text['sheet']}'!$A${first_code + 1}:$A${max(first_code + 1, r + 1)}"
    _template_validations(pool, codes_range, themes, en)
    pool.activate()
    wb.close()
    atomic_write_bytes(Path(path), buf.getvalue())
    return Path(path)


def _template_validations(sheet: Any, codes_range: str, themes: str, en: bool) -> None:
    def help_text(c: str) -> str:
        required, nl, en_text, _ = COLUMN_HELP[c]
        return (en_text if en else nl).format(themes=themes)[:255]

    def validate(c: str, rule: dict) -> None:
        j = POOL_COLUMNS.index(c)
        sheet.data_validation(1, j, TEMPLATE_ROWS, j, {"input_title": c[:32], "input_message": help_text(c), **rule})

    def stop(message_nl: str, message_en: str) -> dict:
        return {"error_type": "stop", "error_title": "Pool", "error_message": message_en if en else message_nl}

    validate(
        "person_id",
        {
            "validate": "length",
            "criteria": "between",
            "minimum": 1,
            "maximum": 20,
            **stop("Maximaal 20 tekens: letters, cijfers, - en _.", "At most 20 characters: letters, digits, - and _."),
        },
    )
    validate(
        "naam",
        {
            "validate": "length",
            "criteria": "<=",
            "value": NAME_MAX,
            **stop("Maximaal 100 tekens.", "At most 100 characters."),
        },
    )
    validate(
        "org_code",
        {
            "validate": "list",
            "source": codes_range,
            "error_type": "warning",
            "error_title": "Pool",
            "error_message": "Use a code from the organisation register."
            if en
            else "Gebruik een code uit het organisatieregister.",
        },
    )
    validate(
        "rollen",
        {
            "validate": "list",
            "source": ["coach", "onderzoeker", "coach; onderzoeker"],
            "error_type": "information",
            "error_title": "Pool",
            "error_message": "Roles: coach, onderzoeker or both (separated by ;)."
            if en
            else "Rollen: coach, onderzoeker of beide (gescheiden door ;).",
        },
    )
    validate("themas", {"validate": "any"})
    validate("methoden", {"validate": "any"})
    for c, (lo, hi) in (
        ("dagen_per_jaar", DAYS_RANGE),
        ("max_pilots", MAX_PILOTS_RANGE),
        ("actief_vanaf", YEAR_RANGE),
        ("actief_tot", YEAR_RANGE),
    ):
        validate(
            c,
            {
                "validate": "integer",
                "criteria": "between",
                "minimum": lo,
                "maximum": hi,
                **stop(f"Een geheel getal van {lo} tot en met {hi}.", f"A whole number from {lo} to {hi}."),
            },
        )


__all__ = [
    "POOL_COLUMNS",
    "ROLES",
    "Pool",
    "findings_text",
    "load_pool",
    "pool_path",
    "write_pool",
    "write_template",
]
