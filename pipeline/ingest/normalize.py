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

from pipeline.ingest.readers import PLACEHOLDERS, RawSheet
from pipeline.metadata.registry import Field, Sheet

# ASCII digits only: Python's \d (and float()) also take full-width, Arabic-Indic and other digits, so
# '２０２４' would pass for 2024
NUMBER_RE = r"^-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$"
INTEGER_RE = r"^-?[0-9]+$"
_NUMBER = re.compile(NUMBER_RE)
_THOUSANDS_DOT = re.compile(r"^-?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?$")
_THOUSANDS_COMMA = re.compile(r"^-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


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
        text = _SPACES.sub("", text).lstrip("€")
        if decimal_comma:
            if _THOUSANDS_DOT.match(text):
                text = text.replace(".", "")
            text = text.replace(",", ".") if text.count(",") == 1 else text
        elif _THOUSANDS_COMMA.match(text):
            text = text.replace(",", "")
        if _NUMBER.match(text):
            number = float(text)
            if f.type == "integer" and number.is_integer() and abs(number) < 1e15:
                text = str(int(number))
    elif f.type == "code" and text.isascii():
        # codes match regardless of case, but only in ASCII: 'cjıb'.upper() is 'CJIB' and 'poſt'.casefold()
        # is 'post', look-alikes that must stay what they are (and fail the code list)
        if f.codes:
            text = {c.lower(): c for c in f.codes}.get(text.lower(), text)
        else:
            text = text.upper()
    return text


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
        raws, typed_values = _column(values, f, raw.decimal_comma)
        data[f"{f.code}__raw"] = pd.Series(raws, dtype=object)
        if f.is_numeric:
            data[f.code] = np.array(typed_values, dtype="float64")
        else:
            data[f.code] = pd.Series(typed_values, dtype=object)
    return pd.DataFrame(data)
