"""The Excel submission template, generated from the registry.

Each registry sheet becomes a worksheet with three locked header rows (Dutch label, unit and whether the
field is required, field code) above the data area, with Excel data validation (dropdowns for code
lists, whole-number and decimal ranges), input help on every column and an instructions sheet.
``write_workbook`` fills the same layout with data (used for the synthetic demo submissions).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import xlsxwriter

from pipeline.ingest.answers import NVT, ONBEKEND
from pipeline.ingest.versions import layout
from pipeline.metadata.registry import Field, Registry, Sheet, TemplateVersion, load_organisations, registry

HEADER_ROWS = 3  # label, unit, code
FIRST_DATA_ROW = HEADER_ROWS + 1  # Excel row number of the first data row
TEMPLATE_ROWS = {"organisatie": 1, "producten": 60, "kanalen": 10, "enquete": 5000, "toelichting": 100}


#: how the template writes the answers besides a value (each is read back as that answer)
ANSWER_TEXT = {NVT: "n.v.t.", ONBEKEND: "onbekend"}


def answers_hint(f: Field) -> str:
    """The input help's sentence on the answers a field accepts besides a value ('' when none)."""
    parts = []
    if NVT in f.missing:
        parts.append("n.v.t. als het niet van toepassing is")
    if ONBEKEND in f.missing:
        parts.append("onbekend als het cijfer ontbreekt")
    return ("Of vul in: " + "; ".join(parts) + ".") if parts else ""


def _validation(f: Field, codes_ref: dict[str, str], org_codes: list[str], cell: str) -> dict | None:
    """Excel data validation of a column whose first data cell is ``cell`` (for example ``C4``)."""
    hint = answers_hint(f)
    help_text = (f.description_nl + (" " + hint if hint else ""))[:250]
    base = {"input_title": f.label_nl[:32], "input_message": help_text, "error_type": "stop"}
    answers = [ANSWER_TEXT[m] for m in f.missing]
    if f.type == "code":
        values = (list(f.codes) if f.codes is not None else org_codes) + answers
        if sum(len(v) + 1 for v in values) < 250:
            return {
                **base,
                "validate": "list",
                "source": values,
                "error_message": f"Kies een waarde uit de lijst: {', '.join(values)}"[:250],
            }
        return {
            **base,
            "validate": "list",
            "source": codes_ref[f.code],
            "error_message": "Kies een waarde uit de lijst.",
        }
    if f.is_numeric and answers:
        # a number in range, or one of the accepted answers (Excel's own number check cannot allow text)
        checks = [f"ISNUMBER({cell})"]
        if f.type == "integer":
            checks.append(f"INT({cell})={cell}")
        if f.min is not None:
            checks.append(f"{cell}>={f.min:g}")
        if f.max is not None:
            checks.append(f"{cell}<={f.max:g}")
        texts = ",".join(f'{cell}="{a}"' for a in answers)
        kind = "een geheel getal" if f.type == "integer" else "een getal"
        bounds = (
            f" van {f.min:g} tot en met {f.max:g}"
            if f.min is not None and f.max is not None
            else (f" vanaf {f.min:g}" if f.min is not None else "")
        )
        return {
            **base,
            "validate": "custom",
            "value": f"=OR(AND({','.join(checks)}),{texts})",
            "error_message": f"Vul {kind}{bounds} in, of {' of '.join(answers)}."[:250],
        }
    if f.is_numeric:
        lo = f.min if f.min is not None else -1e15
        hi = f.max if f.max is not None else 1e15
        kind = "integer" if f.type == "integer" else "decimal"
        return {
            **base,
            "validate": kind,
            "criteria": "between",
            "minimum": lo,
            "maximum": hi,
            "error_message": f"Vul {'een geheel getal' if kind == 'integer' else 'een getal'} in van {lo:g} tot en met {hi:g}."[
                :250
            ],
        }
    if f.max_length:
        return {
            **base,
            "validate": "length",
            "criteria": "<=",
            "value": f.max_length,
            "error_message": f"Maximaal {f.max_length} tekens.",
        }
    return {**base, "validate": "any"}


def _col(index: int) -> str:
    return xlsxwriter.utility.xl_col_to_name(index)


def write_workbook(
    path: Path,
    year: int,
    org_code: str | None = None,
    data: Mapping[str, pd.DataFrame] | None = None,
    reg: Registry | None = None,
    sheets: list[str] | None = None,
    root: Path | None = None,
    template_version: str | None = None,
    removed: Mapping[str, object] | None = None,
) -> Path:
    """Write the submission workbook; with ``data`` the data rows are filled in (sheet code -> frame).
    The organisation codes come from the register of the workspace ``root`` (default: the packaged one).

    ``template_version`` writes the layout of an older declared template version (its column codes and
    stamp; ``data`` is then converted with :func:`frames_as_version`, ``removed`` filling its removed columns)."""
    reg = reg or registry()
    tv = reg.template_version(template_version)
    if data is not None and not tv.current:
        data = frames_as_version(reg, data, tv.version, removed)
    org_codes = [o.org_code for o in load_organisations(root) if o.is_member(year)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    wb.set_properties(
        {
            "title": f"RBB benchmark {year} aanlevering",
            "subject": "Rijksbrede Benchmarkgroep",
            "created": pd.Timestamp("2000-01-01").to_pydatetime(),
        }
    )
    label_fmt = wb.add_format(
        {
            "bold": True,
            "bg_color": "#1F4E79",
            "font_color": "#FFFFFF",
            "text_wrap": True,
            "valign": "top",
            "locked": True,
            "border": 1,
        }
    )
    unit_fmt = wb.add_format({"italic": True, "bg_color": "#DDEBF7", "locked": True, "border": 1, "text_wrap": True})
    code_fmt = wb.add_format(
        {"font_color": "#595959", "bg_color": "#F2F2F2", "locked": True, "border": 1, "font_size": 9}
    )
    input_fmt = wb.add_format({"locked": False})
    title_fmt = wb.add_format({"bold": True, "font_size": 14})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})

    chosen = [s for s in reg.sheet_level if sheets is None or s.code in sheets]
    instr = wb.add_worksheet("Instructies")
    instr.set_column(0, 0, 22)
    instr.set_column(1, 1, 110)
    instr.write(0, 0, f"Aanlevering RBB-benchmark {year}", title_fmt)
    lines = [
        ("Organisatie", org_code or "(vul uw organisatiecode in op blad Organisatie)"),
        ("Registerversie", tv.version),
        (
            "Hoe",
            "Vul per blad de gegevens in vanaf rij 4. Laat de drie kopregels (naam, eenheid, veldcode) staan; ze zijn beveiligd.",
        ),
        (
            "Geen getal",
            "Vul 'n.v.t.' in als een waarde niet van toepassing is (u heeft bijvoorbeeld geen telefoonkanaal), en 'onbekend' "
            "als het cijfer bestaat maar ontbreekt. Vul 0 in als er niets was. Verplichte velden (gemarkeerd met *) moeten "
            "een antwoord hebben: een getal, of n.v.t. of onbekend waar de invoerhulp dat noemt; laat ze niet leeg. "
            "Een product met n.v.t. of onbekend telt niet mee in de indicatoren die dat veld gebruiken.",
        ),
        ("Getallen", "Vul getallen in zonder tekst, eenheden of procentteken. Bedragen in hele euro's (niet × 1.000)."),
        (
            "Toelichting",
            "Wijkt een waarde sterk af van vorig jaar of van andere organisaties? Licht hem toe op blad Toelichting.",
        ),
        (
            "Controle",
            "Controleer uw bestand vóór verzending met: rbb check <bestand>. Fouten moeten worden hersteld; waarschuwingen vragen om een toelichting.",
        ),
        ("Vertrouwelijk", "Uw gegevens worden alleen geanonimiseerd met andere organisaties gedeeld."),
    ]
    for i, (k, v) in enumerate(lines, start=2):
        instr.write_string(i, 0, k, wb.add_format({"bold": True}))
        instr.write_string(i, 1, v, wrap)
    row = len(lines) + 3
    instr.write_string(row, 0, "Bladen", wb.add_format({"bold": True}))
    for s in chosen:
        row += 1
        instr.write_string(row, 0, s.name_nl)
        instr.write_string(row, 1, s.description_nl + (" (verplicht)" if s.required else " (optioneel)"), wrap)

    codes_ref: dict[str, str] = {}
    long_lists = [
        f
        for s in chosen
        for f in s.fields
        if f.type == "code" and sum(len(v) + 1 for v in (f.codes if f.codes is not None else org_codes)) >= 250
    ]
    if long_lists:
        codes_ws = wb.add_worksheet("Codes")
        for j, f in enumerate(long_lists):
            values = list(f.codes) if f.codes is not None else org_codes
            codes_ws.write_string(0, j, f.code)
            for i, v in enumerate(values, start=1):
                codes_ws.write_string(i, j, v)
            codes_ref[f.code] = f"=Codes!${_col(j)}$2:${_col(j)}${len(values) + 1}"
        codes_ws.hide()
        codes_ws.protect()

    for s in chosen:
        ws = wb.add_worksheet(s.name_nl)
        frame = data.get(s.code) if data is not None else None
        n_rows = max(TEMPLATE_ROWS.get(s.code, 100), 0 if frame is None else len(frame))
        ws.freeze_panes(HEADER_ROWS, 0)
        ws.set_row(0, 45)
        if not tv.current:
            s = dataclasses.replace(s, fields=tuple(version_fields(s, tv)))
        for j, f in enumerate(s.fields):
            ws.set_column(j, j, max(12, min(28, len(f.label_nl) + 2)), input_fmt)
            ws.write_string(0, j, f.label_nl + (" *" if f.required else ""), label_fmt)
            ws.write_string(
                1,
                j,
                (f.unit or "tekst" if f.type == "text" else f.unit or f.type) + ("" if f.required else " (optioneel)"),
                unit_fmt,
            )
            ws.write_string(2, j, f.code, code_fmt)
            v = _validation(f, codes_ref, org_codes, f"{_col(j)}{FIRST_DATA_ROW}")
            if v is not None:
                ws.data_validation(HEADER_ROWS, j, HEADER_ROWS + n_rows - 1, j, v)
        if frame is None and s.code == "organisatie":
            if org_code:
                ws.write_string(HEADER_ROWS, 0, org_code, input_fmt)
            ws.write_number(HEADER_ROWS, 1, year, input_fmt)
        if frame is not None:
            _fill(ws, s, frame, input_fmt)
        ws.protect(
            "",
            {
                "format_columns": True,
                "format_rows": True,
                "insert_rows": True,
                "delete_rows": True,
                "sort": True,
                "autofilter": True,
            },
        )
    wb.close()
    return path


def version_fields(sheet: Sheet, tv: TemplateVersion) -> list[Field]:
    """The columns of ``sheet`` in the template of an older version, as fields coded by their old header (a
    removed column becomes an optional text field)."""
    out = []
    for col in layout(sheet, tv):
        if col.field is not None:
            out.append(dataclasses.replace(col.field, code=col.header))
        else:
            out.append(
                Field(
                    code=col.header,
                    sheet=sheet.code,
                    type="text",
                    required=False,
                    unit="",
                    label_nl=col.header,
                    label_en=col.header,
                    description_nl=f"Kolom van sjabloonversie {tv.version}.",
                    description_en=f"Column of template version {tv.version}.",
                )
            )
    return out


def frames_as_version(
    reg: Registry, frames: Mapping[str, pd.DataFrame], version: str, removed: Mapping[str, object] | None = None
) -> dict[str, pd.DataFrame]:
    """Sheets of the current model as a delivery on the template of an older ``version`` would hold them:
    renamed columns under their old code, fields that version did not ask left out, split fields summed
    into their old column, removed columns present (filled from ``removed``, old column -> value or
    values, else empty)."""
    tv = reg.template_version(version)
    out: dict[str, pd.DataFrame] = {}
    for code, frame in frames.items():
        try:
            sheet = reg.sheet(code)
        except KeyError:
            out[code] = frame.copy()
            continue
        cols: dict[str, object] = {}
        for col in layout(sheet, tv):
            if col.kind == "removed":
                cols[col.header] = (removed or {}).get(col.header)
            elif col.kind == "split":
                parts = [frame[p] for p in col.parts if p in frame.columns]
                if parts:
                    cols[col.header] = pd.concat(parts, axis=1).sum(axis=1, min_count=1)
            elif col.field is not None and col.field.code in frame.columns:
                cols[col.header] = frame[col.field.code]
        out[code] = pd.DataFrame(cols, index=frame.index)  # columns in layout order, built at once
    return out


def _fill(ws, sheet: Sheet, frame: pd.DataFrame, fmt) -> None:
    cols = [(j, f) for j, f in enumerate(sheet.fields) if f.code in frame.columns]
    values = {f.code: frame[f.code].tolist() for _, f in cols}
    for i in range(len(frame)):
        r = HEADER_ROWS + i
        for j, f in cols:
            v = values[f.code][i]
            if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
                continue
            if isinstance(v, str):
                ws.write_string(r, j, v, fmt)
            elif isinstance(v, bool):
                ws.write_string(r, j, "ja" if v else "nee", fmt)
            else:
                ws.write_number(r, j, float(v), fmt)
