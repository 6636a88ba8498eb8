"""From raw cell values to typed columns, driven by the registry.

Each registry field becomes two columns: ``<code>__raw``, the value as a canonical string (``None`` for
an empty cell or a placeholder such as ``n.v.t.``), which validation checks for type, and ``<code>``,
the typed value (``NaN``/``None`` where the raw value is empty or not of the field's type).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from pipeline.core.numbers import ParsedNumber, column_decimal_comma, parse_number
from pipeline.ingest.readers import PLACEHOLDERS, RawSheet
from pipeline.metadata.registry import Field, Sheet

# ASCII digits only: Python's \d (and float()) also take full-width, Arabic-Indic and other digits, so
# '２０２４' would pass for 2024
NUMBER_RE = r"^-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$"
INTEGER_RE = r"^-?[0-9]+$"
_NUMBER = re.compile(NUMBER_RE)
#: appended to the canonical text of a value that reads as a number only by mistake (``1.5`` in a file with
#: decimal commas), so that it fails the type check; :func:`number_problem` gives the value as written
UNREAD_MARK = " (?)"


def canonical(value: object, f: Field, decimal_comma: bool) -> str | None:
    """The canonical text of a raw value, or None when the cell is empty or a placeholder."""
    if value is None:
        return None
    if isinstance(value, dict) and "date" in value:
        return f"datum {value['date']}"
    if isinstance(value, bool):
        text = "ja" if value else "nee"
    elif isinstance(value, (int, np.integer)):
        text = str(int(value))
    elif isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf"
        text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    else:
        text = str(value).strip()
    if text.casefold() in PLACEHOLDERS:
        return None
    if f.is_numeric and isinstance(value, str):
        parsed = parse_number(text, decimal_comma)
        if not parsed.ok:  # not a number: the type check rejects it, assemble says why (number_problem)
            return text + UNREAD_MARK if _NUMBER.match(text) else text
        text = parsed.text
        if f.type == "integer" and parsed.is_integer and abs(parsed.value) < 1e15:
            text = str(int(parsed.value))
    elif f.type == "code" and text.isascii():
        # codes match regardless of case, but only in ASCII: 'cjıb'.upper() is 'CJIB' and 'poſt'.casefold()
        # is 'post', look-alikes that must stay what they are (and fail the code list)
        if f.codes:
            text = {c.lower(): c for c in f.codes}.get(text.lower(), text)
        else:
            text = text.upper()
    return text


def column_convention(raw: RawSheet, field_code: str) -> bool:
    """Whether a column has decimal commas: a CSV column's values may overrule the file's convention
    (:func:`pipeline.core.numbers.column_decimal_comma`); a workbook's text cells follow the sheet's."""
    if not raw.is_csv:
        return raw.decimal_comma
    return column_decimal_comma((vals.get(field_code) for _, vals in raw.rows), raw.decimal_comma)


def number_problem(raw: RawSheet, row: int, f: Field) -> ParsedNumber | None:
    """Why the text in ``row`` of a numeric field is not read as a number (ambiguous in the column's
    convention, or not a number), or None when it is a number, empty or not text."""
    value = next((vals.get(f.code) for r, vals in raw.rows if r == row), None)
    if not f.is_numeric or not isinstance(value, str) or value.strip().casefold() in PLACEHOLDERS:
        return None
    parsed = parse_number(value, column_convention(raw, f.code))
    return None if parsed.ok or parsed.problem == "empty" else parsed


def typed(text: str | None, f: Field) -> object:
    if text is None:
        return None
    if f.is_numeric:
        return float(text) if _NUMBER.match(text) else None
    return text


def _column(values: list[object], f: Field, decimal_comma: bool) -> tuple[list[object], list[object]]:
    """Canonical texts and typed values of one column (fast path for numbers read from Excel)."""
    raws: list[object] = []
    typed_values: list[object] = []
    numeric = f.is_numeric
    integer = f.type == "integer"
    nan = float("nan")
    for v in values:
        if numeric and v.__class__ is float:
            if v != v:
                raws.append(None)
                typed_values.append(nan)
            elif v.is_integer() and abs(v) < 1e15:
                raws.append(str(int(v)))
                typed_values.append(v)
            elif math.isinf(v):
                raws.append("inf")
                typed_values.append(nan)
            else:
                raws.append(repr(v) if not integer else repr(v))
                typed_values.append(v)
            continue
        if v is None or v == "":
            raws.append(None)
            typed_values.append(nan if numeric else None)
            continue
        text = canonical(v, f, decimal_comma)
        raws.append(text)
        t = typed(text, f)
        typed_values.append((nan if t is None else t) if numeric else t)
    return raws, typed_values


def sheet_frame(raw: RawSheet, sheet: Sheet) -> pd.DataFrame:
    """One row per data row of the sheet: ``__row`` plus typed and raw columns for each present field."""
    present = [f for f in sheet.fields if f.code in raw.columns]
    data: dict[str, object] = {"__row": np.fromiter((r for r, _ in raw.rows), dtype="int64", count=len(raw.rows))}
    for f in present:
        values = [vals.get(f.code) for _, vals in raw.rows]
        raws, typed_values = _column(values, f, column_convention(raw, f.code) if f.is_numeric else raw.decimal_comma)
        data[f"{f.code}__raw"] = pd.Series(raws, dtype=object)
        if f.is_numeric:
            data[f.code] = np.array(typed_values, dtype="float64")
        else:
            data[f.code] = pd.Series(typed_values, dtype=object)
    return pd.DataFrame(data)
