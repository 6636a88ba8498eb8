"""Single values as the pilot modules read and write them.

Reading: :func:`is_missing`, :func:`as_float`, :func:`as_text` and :func:`as_list` turn warehouse and CSV cells
(None, NA, NaN, numbers, text) into plain Python values. Writing: :func:`format_value` and
:func:`format_difference` put an indicator value or change into words with its unit (Dutch or English), and
:func:`escape_cell` keeps a text cell from being run as a spreadsheet formula.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from pipeline.report.render import fmt_number


def is_missing(value: Any) -> bool:
    """None, NA, NaT or a float NaN."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, float) and math.isnan(value))
    except TypeError:
        return False


def as_float(value: Any) -> float:
    """The value as a float; NaN when missing or not a number."""
    if is_missing(value):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def as_text(value: Any) -> str:
    """The value as stripped text; '' when missing."""
    return "" if is_missing(value) else str(value).strip()


def as_list(value: Any) -> list[str]:
    """A list cell (a sequence, or text separated by ';', ',' or spaces, brackets and quotes ignored) as strings."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    if is_missing(value):
        return []
    return [p for p in re.split(r"[;,\s\[\]'\"]+", str(value)) if p]


_UNIT_WORDS = {
    "dagen": ("dagen", "days"),
    "seconden": ("seconden", "seconds"),
    "jaar": ("jaar", "years"),
    "per medewerker": ("per medewerker", "per employee"),
    "per 10.000": ("per 10.000", "per 10,000"),
}


def format_value(value: Any, unit: str = "", decimals: int = 1, lang: str = "nl") -> str:
    """An indicator value with its unit: 78,1% / € 1.234 / 12,5 dagen; an em dash when missing."""
    x = as_float(value)
    if math.isnan(x):
        return "—"
    text = fmt_number(x, int(decimals), lang)
    if unit in ("%", "‰"):
        return text + unit
    if unit == "euro":
        return f"€\u00a0{text}" if lang != "en" else f"€{text}"
    if unit in ("", "cijfer", "ratio"):
        return text
    words = _UNIT_WORDS.get(unit)
    return f"{text}\u00a0{words[1] if lang == 'en' else words[0]}" if words else f"{text}\u00a0{unit}"


def format_difference(value: Any, unit: str = "", decimals: int = 1, lang: str = "nl", signed: bool = True) -> str:
    """A change in an indicator: percentage points for % values (+2,8 %-punt / +2.8 pp)."""
    x = as_float(value)
    if math.isnan(x):
        return "—"
    sign = "+" if signed and x > 0 else ""
    text = sign + fmt_number(x, int(decimals), lang)
    if unit == "%":
        return f"{text}\u00a0pp" if lang == "en" else f"{text}\u00a0%-punt"
    if unit == "‰":
        return f"{text}\u00a0‰-point" if lang == "en" else f"{text}\u00a0‰-punt"
    return sign + format_value(x, unit, decimals, lang)


def escape_cell(value: Any) -> Any:
    """Text starting with = + - @ (or tab, CR) gets a leading quote so spreadsheets do not run it."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
