"""From raw cell values to typed columns, driven by the registry.

Each registry field becomes four columns: ``<code>__raw``, the value as a canonical string (``None`` for an
empty cell or a missing-value answer such as ``n.v.t.``), which validation checks for type; ``<code>``, the
typed value (``NaN``/``None`` where the raw value is empty or not of the field's type); ``<code>__state``, the
answer when the cell holds no value (``nvt``, ``onbekend`` or ``leeg``; ``None`` for a value, see
:mod:`pipeline.ingest.answers`); and ``<code>__cell``, the text exactly as written (every text cell: an
answer, a value, or text that is neither; ``None`` for an empty cell and for a number or date a workbook
holds as such), so findings echo what the member typed (``ongeveer 1200``, ``12,5%``, ``1.234.567,5``)
rather than what it was read as.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from pipeline.core.numbers import ParsedNumber, column_decimal_comma, parse_number
from pipeline.ingest.answers import LEEG, answer_state
from pipeline.ingest.readers import RawSheet
from pipeline.metadata.registry import Field, Sheet

# ASCII digits only: Python's \d (and float()) also take full-width, Arabic-Indic and other digits, so
# '２０２４' would pass for 2024
NUMBER_RE = r"^-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$"
INTEGER_RE = r"^-?[0-9]+$"
_NUMBER = re.compile(NUMBER_RE)
#: appended to the canonical text of a value that reads as a number only by mistake (``1.5`` in a file with
#: decimal commas), so that it fails the type check; :func:`number_problem` gives the value as written
UNREAD_MARK = " (?)"


def field_state(text: str, f: Field) -> str | None:
    """The missing-value state of a cell's text for field ``f``: ``nvt``/``onbekend`` when it is one of their
    spellings (kept even when ``f`` does not accept it, for a required field, so validation can say so),
    ``leeg`` for an empty cell (and for a not-accepted answer in an optional field: read as empty, as the
    template always asked), None for a value."""
    state = answer_state(text)
    if state is None or state == LEEG or state in f.missing or f.required:
        return state
    return LEEG


def canonical(value: object, f: Field, decimal_comma: bool) -> str | None:
    """The canonical text of a raw value that is not a missing-value answer (:func:`field_state` has sorted those
    out), or None when the cell is empty."""
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
    if not f.is_numeric or not isinstance(value, str) or answer_state(value) is not None:
        return None
    parsed = parse_number(value, column_convention(raw, f.code))
    return None if parsed.ok or parsed.problem == "empty" else parsed


def typed(text: str | None, f: Field) -> object:
    if text is None:
        return None
    if f.is_numeric:
        return float(text) if _NUMBER.match(text) else None
    return text


def _column(
    values: list[object], f: Field, decimal_comma: bool
) -> tuple[list[object], list[object], list[object], list[object]]:
    """Canonical texts, typed values, missing-value states and cell texts of one column (fast path for
    numbers read from Excel)."""
    raws: list[object] = []
    typed_values: list[object] = []
    states: list[object] = []
    cells: list[object] = []
    numeric = f.is_numeric
    integer = f.type == "integer"
    nan = float("nan")
    seen: dict[str, tuple[object, object, object, object]] = {}
    for v in values:
        if numeric and v.__class__ is float:
            if v != v:
                raws.append(None)
                typed_values.append(nan)
                states.append(LEEG)
                cells.append(None)
            elif v.is_integer() and abs(v) < 1e15:
                raws.append(str(int(v)))
                typed_values.append(v)
                states.append(None)
                cells.append(None)
            elif math.isinf(v):
                raws.append("inf")
                typed_values.append(nan)
                states.append(None)
                cells.append(None)
            else:
                raws.append(repr(v) if not integer else repr(v))
                typed_values.append(v)
                states.append(None)
                cells.append(None)
            continue
        if v.__class__ is str:  # the same texts recur in a column (answers, codes, scale points): read once
            out = seen.get(v)
            if out is None:
                out = seen[v] = _value(v, f, decimal_comma, numeric)
        else:
            out = _value(v, f, decimal_comma, numeric)
        raws.append(out[0])
        typed_values.append(out[1])
        states.append(out[2])
        cells.append(out[3])
    return raws, typed_values, states, cells


def _value(v: object, f: Field, decimal_comma: bool, numeric: bool) -> tuple[object, object, object, object]:
    """Canonical text, typed value, missing-value state and cell text of one value that is not a float."""
    nan = float("nan")
    if v is None or v == "":
        return None, (nan if numeric else None), LEEG, None
    state = field_state(v, f) if isinstance(v, str) else None
    if state is not None:
        return None, (nan if numeric else None), state, (v.strip() or None)
    text = canonical(v, f, decimal_comma)
    t = typed(text, f)
    return (
        text,
        ((nan if t is None else t) if numeric else t),
        None,
        ((v.strip() or None) if isinstance(v, str) else None),
    )


def is_code_text(f: Field) -> bool:
    """A text field that holds a code (a product code, a respondent or case id), where leading zeros matter."""
    return f.type == "text" and (f.pattern is not None or f.code.endswith(("_code", "_id")))


def sheet_frame(raw: RawSheet, sheet: Sheet) -> pd.DataFrame:
    """One row per data row of the sheet: ``__row`` plus typed and raw columns for each present field."""
    present = [f for f in sheet.fields if f.code in raw.columns]
    order = ["__row"]
    numbers: dict[str, np.ndarray] = {
        "__row": np.fromiter((r for r, _ in raw.rows), dtype="int64", count=len(raw.rows))
    }
    objects: dict[str, list[object]] = {}  # built as one frame of dtype object: a Series per column costs more
    for f in present:
        values = [vals.get(f.code) for _, vals in raw.rows]
        convention = column_convention(raw, f.code) if f.is_numeric else raw.decimal_comma
        raws, typed_values, states, cells = _column(values, f, convention)
        objects[f"{f.code}__raw"] = raws
        objects[f"{f.code}__state"] = states
        objects[f"{f.code}__cell"] = cells
        order += [f"{f.code}__raw", f"{f.code}__state", f"{f.code}__cell"]
        if is_code_text(f):
            # a code typed as a number in Excel (0849 becomes 849): the text it became, to warn about
            objects[f"{f.code}__asnumber"] = [
                r if (v.__class__ in (int, float) and r is not None) else None for v, r in zip(values, raws)
            ]
            order.append(f"{f.code}__asnumber")
        if f.is_numeric:
            numbers[f.code] = np.array(typed_values, dtype="float64")
        else:
            objects[f.code] = typed_values
        order.append(f.code)
    parts = [pd.DataFrame(numbers)]
    if objects:
        parts.append(pd.DataFrame(objects, dtype=object))
    frame = pd.concat(parts, axis=1) if len(parts) > 1 else parts[0]
    return frame[order] if list(frame.columns) != order else frame
