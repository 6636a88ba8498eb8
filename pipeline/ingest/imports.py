"""Imports of system exports: one long export (one row per product or service) turned into deliveries.

An organisation's own system, or a national inventory, exports one row per product or service with its own
column names, codes and units and a column naming the organisation. A mapping file (YAML, checked against
:class:`Mapping`) says how that export becomes submission sheets: which column (or constant, or sum of
columns) fills which field, which source codes mean 'n.v.t.' or 'onbekend', which unit conversion applies,
which rows count, which second source is joined on a key and aggregated, and how the organisation and channel
sheets aggregate the rows of one organisation. :func:`import_export` writes one CSV folder per organisation
under ``data/raw/<year>/<ORG>/`` in the format the readers accept; ``rbb ingest`` then validates and loads
them like every other delivery.

Folder names carry a checksum of their content: importing the same export again finds the same folders and
writes nothing (and an identical folder is a no-op for ingest anyway); a changed export gives new folders,
which ingest records as new versions.

How parts that hold a code combine (a sum of columns in one row, the rows of one organisation, or the joined
rows of one row): every part a number → their sum; a 'n.v.t.' part counts as 0 (``nvt: zero``, default) or
makes the total unknown (``nvt: onbekend``); an unknown or empty part makes the total unknown (``onbekend:
onbekend``, default) or counts as 0 (``onbekend: zero``); when every part is 'n.v.t.' the total is 'n.v.t.'.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from pipeline.core.workspace import Workspace
from pipeline.ingest.answers import LEEG, NVT, ONBEKEND
from pipeline.metadata.registry import Organisation, Registry, Sheet, load_yaml

STATES = (NVT, ONBEKEND, LEEG)
#: written literally for a missing-value state (what the readers read back as that state)
STATE_TEXT = {NVT: "n.v.t.", ONBEKEND: "onbekend", LEEG: ""}
#: fields the import fills itself on every sheet that has them
AUTO_FIELDS = ("org_code", "jaar")


class ImportProblem(ValueError):
    """A mistake in the export or the mapping: a message in Dutch and English, never a traceback."""

    def __init__(self, nl: str, en: str):
        super().__init__(f"{en} / {nl}")
        self.message_nl = nl
        self.message_en = en


# ------------------------------------------------------------------------------------ the mapping model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceOptions(_Strict):
    """How the export file is written."""

    encoding: str = "utf-8-sig"  # utf-8-sig reads UTF-8 with or without a BOM
    delimiter: str = ","
    quotechar: str = '"'
    decimal: str = "."
    thousands: str | None = None


Scalar = str | int | float


class FieldSpec(_Strict):
    """What fills one field: exactly one of ``column``, ``sum``, ``constant`` and ``state``.

    On a sheet with one row per organisation (``per: organisation``) ``column`` and ``sum`` are summed over the
    organisation's rows; with ``join`` they are summed over the joined rows of the row."""

    column: str | None = None
    sum: list[str] | None = None
    constant: Scalar | None = None
    state: Literal["nvt", "onbekend", "leeg"] | None = None
    join: str | None = None
    scale: float = 1.0
    nvt: Literal["zero", "onbekend"] = "zero"
    onbekend: Literal["onbekend", "zero"] = "onbekend"
    #: the value when a join finds no rows for the key
    absent: Literal["nvt", "onbekend", "leeg", "zero"] = "onbekend"
    #: on a sheet per organisation: ``sum`` the organisation's rows, or take the value they all repeat (``same``:
    #: an organisation total written on every row of an export; rows that differ make it unknown)
    aggregate: Literal["sum", "same"] = "sum"

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        given = [k for k in ("column", "sum", "constant", "state") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of column, sum, constant, state" + (f" (got {', '.join(given)})" if given else "")
            )
        if self.sum is not None and not self.sum:
            raise ValueError("sum needs at least one column")
        if self.join is not None and self.column is None and self.sum is None:
            raise ValueError("join needs column or sum")
        return self


class JoinSpec(_Strict):
    """A second source joined on a key and aggregated per row of the export."""

    file: str  # relative to the export's folder, or absolute
    key: str  # column of the export
    source_key: str | None = None  # column of the joined file (default: the same name as key)
    filter: dict[str, list[str]] = {}
    source: SourceOptions | None = None  # default: the export's options


class SheetSpec(_Strict):
    """One submission sheet: one row per export row (``per: row``) or per organisation (``per: organisation``);
    ``rows`` gives several rows per organisation (such as one per channel), each with its own fields."""

    per: Literal["row", "organisation"] = "row"
    fields: dict[str, FieldSpec | Literal["nvt", "onbekend", "leeg"]] = {}
    rows: list[dict[str, FieldSpec | Scalar]] | None = None
    #: what a required field the mapping does not name holds (an optional one stays empty)
    unmapped: Literal["nvt", "onbekend", "leeg"] = ONBEKEND

    @model_validator(mode="after")
    def _rows(self) -> SheetSpec:
        if self.rows is not None and self.per != "organisation":
            raise ValueError("rows needs per: organisation")
        return self


class Mapping(_Strict):
    """The mapping file of ``rbb import``."""

    description: str = ""
    source: SourceOptions = SourceOptions()
    organisation: str  # the column naming the organisation
    #: source code (exact, after trimming spaces) → state, for every column; "" is an empty cell
    codes: dict[str, Literal["nvt", "onbekend", "leeg"]] = {"": LEEG}
    #: per column, codes that override the global ones
    column_codes: dict[str, dict[str, Literal["nvt", "onbekend", "leeg"]]] = {}
    #: only rows whose column holds one of the values (exact, after trimming spaces)
    filter: dict[str, list[str]] = {}
    joins: dict[str, JoinSpec] = {}
    sheets: dict[str, SheetSpec]


def _loc(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top)"


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; every mistake is an :class:`ImportProblem` naming the key."""
    path = Path(path)
    try:
        text = path.read_text("utf-8-sig")
    except FileNotFoundError:
        raise ImportProblem(f"mappingbestand {path} bestaat niet", f"mapping file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportProblem(
            f"mappingbestand {path} is niet te lezen ({exc})", f"mapping file {path} cannot be read ({exc})"
        ) from None
    try:
        data = load_yaml(text)
    except Exception as exc:  # yaml.YAMLError: position and cause
        detail = " ".join(str(exc).split())
        raise ImportProblem(f"{path} is geen geldige YAML: {detail}", f"{path} is not valid YAML: {detail}") from None
    if not isinstance(data, dict):
        raise ImportProblem(
            f"{path}: verwacht een mapping (sleutel: waarde) bovenaan",
            f"{path}: expected a mapping (key: value) at the top",
        )
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = _loc(tuple(p for p in err["loc"] if not str(p).startswith(("FieldSpec", "literal["))))
            if err["type"] == "extra_forbidden":
                lines.append(f"{where}: unknown key")
            elif err["type"] == "missing":
                lines.append(f"{where}: missing")
            else:
                lines.append(f"{where}: {err['msg']} (got {err.get('input')!r})")
        lines = list(dict.fromkeys(lines))
        raise ImportProblem(f"{path}: " + "; ".join(lines), f"{path}: " + "; ".join(lines)) from None


def check_mapping(mapping: Mapping, registry: Registry, path: Path | str = "mapping") -> None:
    """Sheets and fields the mapping names exist; every required field is filled by the mapping or accepts the
    sheet's ``unmapped`` answer."""
    problems: list[str] = []
    for code, spec in mapping.sheets.items():
        try:
            sheet = registry.sheet(code)
        except KeyError:
            problems.append(f"sheets.{code}: unknown sheet (expected one of {', '.join(registry.sheet_codes)})")
            continue
        if sheet.storage != "sheet":
            problems.append(f"sheets.{code}: a data file, not a sheet the import can write")
            continue
        named = set(spec.fields)
        for i, row in enumerate(spec.rows or []):
            named |= set(row)
            for fcode in row:
                if fcode not in sheet.field_codes:
                    problems.append(f"sheets.{code}.rows.{i}.{fcode}: unknown field of sheet {code}")
        for fcode, fspec in spec.fields.items():
            if fcode not in sheet.field_codes:
                problems.append(f"sheets.{code}.fields.{fcode}: unknown field of sheet {code}")
            elif fcode in AUTO_FIELDS:
                problems.append(f"sheets.{code}.fields.{fcode}: filled by the import itself (leave it out)")
            if isinstance(fspec, FieldSpec) and fspec.join is not None and fspec.join not in mapping.joins:
                problems.append(f"sheets.{code}.fields.{fcode}.join: unknown join {fspec.join!r}")
        for f in sheet.fields:
            if f.required and f.code not in named and f.code not in AUTO_FIELDS:
                if spec.unmapped == LEEG or spec.unmapped not in f.missing:
                    problems.append(
                        f"sheets.{code}: required field {f.code} is not mapped and does not accept "
                        f"'{spec.unmapped}' (map it, e.g. {f.code}: {{column: ...}})"
                    )
    for sheet in registry.sheet_level:
        if sheet.required and sheet.code not in mapping.sheets:
            problems.append(f"sheets: the required sheet {sheet.code} is missing")
    if problems:
        text = f"{path}: " + "; ".join(problems)
        raise ImportProblem(text, text)


# ------------------------------------------------------------------------------------ reading the export


def read_source(path: Path, options: SourceOptions) -> pd.DataFrame:
    """The export as text cells (nothing converted), spaces around each cell trimmed."""
    path = Path(path)
    if not path.is_file():
        raise ImportProblem(f"bestand {path} bestaat niet", f"file {path} does not exist")
    try:
        df = pd.read_csv(
            path,
            sep=options.delimiter,
            quotechar=options.quotechar,
            encoding=options.encoding,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
        )
    except LookupError:
        raise ImportProblem(
            f"onbekende tekenset {options.encoding!r} in source.encoding",
            f"unknown encoding {options.encoding!r} in source.encoding",
        ) from None
    except UnicodeDecodeError as exc:
        raise ImportProblem(
            f"{path} is niet in tekenset {options.encoding} geschreven (byte {exc.start}); pas source.encoding aan",
            f"{path} is not written in encoding {options.encoding} (byte {exc.start}); change source.encoding",
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise ImportProblem(
            f"{path} is niet als CSV te lezen met deze opties ({detail})",
            f"{path} cannot be read as CSV with these options ({detail})",
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    return df.apply(lambda s: s.str.strip())


def _require_columns(df: pd.DataFrame, columns: set[str], what: tuple[str, str], path: Path) -> None:
    missing = sorted(c for c in columns if c not in df.columns)
    if missing:
        shown = ", ".join(missing)
        raise ImportProblem(
            f"de mapping noemt kolommen die {what[0]} {path.name} niet heeft: {shown}",
            f"the mapping names columns that {what[1]} {path.name} does not have: {shown}",
        )


def _filtered(df: pd.DataFrame, flt: dict[str, list[str]]) -> pd.DataFrame:
    keep = pd.Series(True, index=df.index)
    for col, values in flt.items():
        keep &= df[col].isin([str(v).strip() for v in values])
    return df[keep]


# ------------------------------------------------------------------------------------ values and states


@dataclass(frozen=True)
class Cell:
    """A value (number or text), or a missing-value state; ``raw`` keeps a text that is neither."""

    value: Any = None
    state: str | None = None

    @property
    def is_value(self) -> bool:
        return self.state is None


def _number(text: str, options: SourceOptions) -> float | int | None:
    t = text
    if options.thousands:
        t = t.replace(options.thousands, "")
    if options.decimal != ".":
        t = t.replace(options.decimal, ".")
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", t):
        return None
    x = float(t)
    if not math.isfinite(x):
        return None
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


class _Reader:
    """Cells of an export: codes to states, numbers parsed and scaled."""

    def __init__(self, mapping: Mapping, options: SourceOptions):
        self.codes = mapping.codes
        self.column_codes = mapping.column_codes
        self.options = options

    def cell(self, column: str, text: str, numeric: bool, scale: float = 1.0) -> Cell:
        codes = self.column_codes.get(column, {})
        state = codes.get(text, self.codes.get(text))
        if state is not None:
            return Cell(state=state)
        if text == "":
            return Cell(state=LEEG)
        if not numeric:
            return Cell(value=text)
        x = _number(text, self.options)
        if x is None:
            return Cell(value=text)  # neither a number nor a known code: written as is, validation names it
        if scale != 1.0:
            x = x * scale
            x = int(x) if float(x).is_integer() else x
        return Cell(value=x)


def combine(parts: list[Cell], nvt: str = "zero", onbekend: str = "onbekend") -> Cell:
    """Parts that may hold codes, added up by the rule in the module docstring (no parts: 'onbekend')."""
    if not parts:
        return Cell(state=ONBEKEND)
    for p in parts:
        if p.is_value and not isinstance(p.value, (int, float)):
            return p  # a text that is not a number: kept, so validation shows it
    if all(p.state == NVT for p in parts):
        return Cell(state=NVT)
    total: int | float = 0
    for p in parts:
        if p.is_value:
            total += p.value
        elif p.state == NVT:
            if nvt == "onbekend":
                return Cell(state=ONBEKEND)
        elif onbekend == "onbekend":
            return Cell(state=ONBEKEND)
    return Cell(value=total)


# ------------------------------------------------------------------------------------ organisations


def _norm(name: str) -> str:
    return " ".join(str(name).split()).casefold()


def organisation_index(orgs: list[Organisation]) -> dict[str, set[str]]:
    """Normalised code, name, abbreviation and aliases → register codes (case and spaces ignored)."""
    index: dict[str, set[str]] = {}
    for o in orgs:
        for key in (o.org_code, o.name, o.abbreviation, *o.aliases):
            if key and key.strip():
                index.setdefault(_norm(key), set()).add(o.org_code)
    return index


# ------------------------------------------------------------------------------------ writing


def _format(cell: Cell) -> str:
    if not cell.is_value:
        return STATE_TEXT[cell.state]
    v = cell.value
    if isinstance(v, bool):
        return "ja" if v else "nee"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 2**53:
            return str(int(v))
        text = repr(v)
        if "e" in text:
            text = f"{v:.12f}".rstrip("0").rstrip(".")
        return text.replace(".", ",")
    return str(v)


def csv_bytes(columns: list[str], rows: list[list[Cell]]) -> bytes:
    """One sheet as the readers accept it: ';', decimal comma, UTF-8 with BOM, header = field codes."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([_format(c) for c in row])
    return buf.getvalue().encode("utf-8-sig")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:60] or "export"


@dataclass
class Written:
    org_code: str
    rows: int
    folder: Path
    status: str  # "new" or "unchanged"


@dataclass
class Unmatched:
    name: str
    rows: int
    candidates: tuple[str, ...] = ()  # more than one register code for the name


@dataclass
class ImportResult:
    written: list[Written] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    rows_read: int = 0
    rows_filtered_out: int = 0

    def unmatched_message(self, register: str) -> tuple[str, str] | None:
        if not self.unmatched:
            return None
        names = "; ".join(
            f"'{u.name}' ({u.rows} rows" + (f", matches {', '.join(u.candidates)}" if u.candidates else "") + ")"
            for u in self.unmatched
        )
        names_nl = names.replace(" rows", " regels").replace("matches", "past bij")
        n = sum(u.rows for u in self.unmatched)
        return (
            f"{n} regels niet geïmporteerd: organisatie niet (eenduidig) in het register: {names_nl}. Voeg de naam "
            f"toe aan de kolom aliases (gescheiden door ';') van de juiste organisatie in {register}.",
            f"{n} rows not imported: organisation not (unambiguously) in the register: {names}. Add the name "
            f"to the aliases column (separated by ';') of the right organisation in {register}.",
        )


def _write_folder(target: Path, files: dict[str, bytes]) -> str:
    """Write a delivery folder through a hidden staging folder (discovery skips hidden names); 'unchanged'
    when the folder already holds exactly these files."""
    if target.is_dir():
        present = {p.name: p.read_bytes() for p in target.iterdir() if p.is_file()}
        if present == files:
            return "unchanged"
        raise ImportProblem(
            f"de map {target} bestaat al met andere inhoud; verwijder of hernoem haar",
            f"the folder {target} already exists with other content; remove or rename it",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir()
    try:
        for name, data in files.items():
            with open(stage / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.rename(stage, target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return "new"


# ------------------------------------------------------------------------------------ the import


class _Builder:
    """Sheets of one organisation from its export rows."""

    def __init__(self, mapping: Mapping, registry: Registry, reader: _Reader, joined: dict[str, dict[str, list]]):
        self.mapping = mapping
        self.registry = registry
        self.reader = reader
        self.joined = joined  # join name -> key -> rows (dicts) of the joined file

    def _row_cell(self, sheet: Sheet, fcode: str, spec: FieldSpec, row: dict[str, str]) -> Cell:
        numeric = sheet.field(fcode).is_numeric
        if spec.constant is not None:
            return Cell(value=spec.constant)
        if spec.state is not None:
            return Cell(state=spec.state)
        cols = [spec.column] if spec.column is not None else list(spec.sum or [])
        if spec.join is not None:
            key = row[self.mapping.joins[spec.join].key]
            others = self.joined[spec.join].get(key, [])
            if not others:
                return Cell(value=0) if spec.absent == "zero" else Cell(state=spec.absent)
            parts = [self.reader.cell(c, r[c], numeric, spec.scale) for r in others for c in cols]
            return combine(parts, spec.nvt, spec.onbekend)
        parts = [self.reader.cell(c, row[c], numeric, spec.scale) for c in cols]
        if spec.column is not None:
            return parts[0]
        return combine(parts, spec.nvt, spec.onbekend)

    def _org_cell(self, sheet: Sheet, fcode: str, spec: FieldSpec, rows: list[dict[str, str]]) -> Cell:
        if spec.constant is not None or spec.state is not None:
            return self._row_cell(sheet, fcode, spec, {})
        if not sheet.field(fcode).is_numeric or spec.aggregate == "same":
            values = {self._row_cell(sheet, fcode, spec, r) for r in rows}
            return values.pop() if len(values) == 1 else Cell(state=ONBEKEND)
        return combine([self._row_cell(sheet, fcode, spec, r) for r in rows], spec.nvt, spec.onbekend)

    def sheet(self, sheet: Sheet, spec: SheetSpec, org: str, year: int, rows: list[dict[str, str]]) -> bytes:
        columns = sheet.field_codes

        def fill(named: dict[str, Any], cell_of) -> list[Cell]:
            out = []
            for f in sheet.fields:
                if f.code == "org_code":
                    out.append(Cell(value=org))
                elif f.code == "jaar":
                    out.append(Cell(value=year))
                elif f.code in named:
                    s = named[f.code]
                    if isinstance(s, FieldSpec):
                        out.append(cell_of(f.code, s))
                    elif isinstance(s, str) and s in STATES:
                        out.append(Cell(state=s))
                    else:
                        out.append(Cell(value=s))
                elif f.required:
                    out.append(Cell(state=spec.unmapped))
                else:
                    out.append(Cell(state=LEEG))
            return out

        if spec.per == "row":
            out_rows = [fill(spec.fields, lambda c, s, r=r: self._row_cell(sheet, c, s, r)) for r in rows]
        else:
            variants = spec.rows or [{}]
            out_rows = [fill({**spec.fields, **v}, lambda c, s: self._org_cell(sheet, c, s, rows)) for v in variants]
        return csv_bytes(columns, out_rows)


def import_export(
    ws: Workspace,
    export: Path,
    mapping_path: Path,
    year: int,
    registry: Registry,
    orgs: list[Organisation],
    register_name: str = "data/organisations.csv",
) -> ImportResult:
    """Turn ``export`` into one delivery folder per organisation under ``data/raw/<year>/<ORG>/``."""
    mapping = load_mapping(mapping_path)
    check_mapping(mapping, registry, mapping_path)
    export = Path(export)
    df = read_source(export, mapping.source)
    needed = {mapping.organisation, *mapping.filter, *mapping.column_codes}
    needed.update(j.key for j in mapping.joins.values())
    join_cols: dict[str, set[str]] = {n: set() for n in mapping.joins}
    for spec in mapping.sheets.values():
        for fspec in [*spec.fields.values(), *(v for r in spec.rows or [] for v in r.values())]:
            if not isinstance(fspec, FieldSpec):
                continue
            cols = {fspec.column} if fspec.column else set(fspec.sum or [])
            (join_cols[fspec.join] if fspec.join else needed).update(cols)
    _require_columns(df, needed, ("het exportbestand", "the export"), export)
    result = ImportResult(rows_read=len(df))
    kept = _filtered(df, mapping.filter)
    result.rows_filtered_out = len(df) - len(kept)

    joined: dict[str, dict[str, list]] = {}
    for name, j in mapping.joins.items():
        jpath = Path(j.file) if Path(j.file).is_absolute() else export.parent / j.file
        jdf = read_source(jpath, j.source or mapping.source)
        skey = j.source_key or j.key
        _require_columns(
            jdf,
            {skey, *j.filter, *join_cols[name]},
            (f"het bestand van join '{name}'", f"the file of join '{name}'"),
            jpath,
        )
        jdf = _filtered(jdf, j.filter)
        groups: dict[str, list] = {}
        for rec in jdf.to_dict("records"):
            groups.setdefault(rec[skey], []).append(rec)
        joined[name] = groups

    index = organisation_index(orgs)
    by_org: dict[str, list[dict[str, str]]] = {}
    unmatched: dict[str, Unmatched] = {}
    for rec in kept.to_dict("records"):
        name = rec[mapping.organisation]
        codes = index.get(_norm(name), set())
        if len(codes) == 1:
            by_org.setdefault(next(iter(codes)), []).append(rec)
        else:
            u = unmatched.setdefault(name, Unmatched(name, 0, tuple(sorted(codes))))
            u.rows += 1
    result.unmatched = sorted(unmatched.values(), key=lambda u: u.name)

    builder = _Builder(mapping, registry, _Reader(mapping, mapping.source), joined)
    for org in sorted(by_org):
        rows = by_org[org]
        files = {
            f"{code}.csv": builder.sheet(registry.sheet(code), spec, org, year, rows)
            for code, spec in mapping.sheets.items()
        }
        digest = hashlib.sha256(b"".join(n.encode() + b"\0" + d for n, d in sorted(files.items()))).hexdigest()
        target = ws.raw / str(year) / org / f"import_{_slug(export.stem)}_{digest[:10]}"
        status = _write_folder(target, files)
        result.written.append(Written(org, len(rows), target, status))
    return result
