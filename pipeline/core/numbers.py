"""Numbers as people write them in CSV files: one parser for every reader.

A CSV file has one decimal convention: the decimal comma (``12,5`` and ``1.500`` for fifteen hundred, as
Dutch Excel writes a ``;``-separated file) or the decimal point (``12.5`` and ``1,500``). The separator
gives the convention (:func:`convention_of_separator`); a column's values can overrule it only when they
prove the other one (:func:`column_decimal_comma`). A value is then read with :func:`parse_number`, which
returns the number, or says why the text is not a number or is ambiguous in this convention. A value is
never guessed: ``1.5`` in a decimal-comma file is rejected (it is neither ``1,5`` nor ``1.500``), and so is
``1,5`` in a decimal-point file.

Rules (``dc`` = decimal comma, ``dp`` = decimal point):

* digits are ASCII ``0``-``9`` only (full-width or Arabic-Indic digits are not numbers);
* an optional leading ``-`` (or ``−``), an optional leading ``€``; spaces, no-break spaces and narrow
  no-break spaces may separate thousands (``1 500 000``) but must then form exact groups of three;
* ``dc``: ``1.500``, ``1.234.567`` and ``1.234,5`` have thousands dots; ``12,5`` is 12.5; a dot that is
  not followed by exactly three digits (``1.5``, ``1.50``) is ambiguous; no scientific notation;
* ``dp``: ``1,500`` and ``1,234,567.5`` have thousands commas (exact groups of three only); ``1.5`` is 1.5;
  ``1,5`` is ambiguous; ``1e3`` and ``1.5E-4`` are allowed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "MIN_PROOF",
    "ParsedNumber",
    "column_decimal_comma",
    "convention_of_separator",
    "count_text",
    "decimal_comma_sql",
    "format_number",
    "parse_number",
    "whole_number_regex",
]

#: a column overrules its file's convention only when at least this many of its values can be read in the
#: other convention alone (and none reads differently in the two): one stray ``1.5`` is rejected, not obeyed
MIN_PROOF = 2

_SPACE_CHARS = " \u00a0\u202f\t"
_SPACED = re.compile(r"^[1-9][0-9]{0,2}(?:[ \u00a0\u202f][0-9]{3})+(?:[.,][0-9]+)?$")
_PLAIN = re.compile(r"^[0-9]+$")
_DC_THOUSANDS = re.compile(r"^[1-9][0-9]{0,2}(?:\.[0-9]{3})+(?:,[0-9]+)?$")
_DC_DECIMAL = re.compile(r"^[0-9]*,[0-9]+$")
_DP_THOUSANDS = re.compile(r"^[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]+)?$")
_DP_DECIMAL = re.compile(r"^[0-9]*\.[0-9]+$")
_DP_SCIENTIFIC = re.compile(r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$")
_ANY_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class ParsedNumber:
    """What :func:`parse_number` made of a text: ``value`` with ``problem`` None, or ``problem``
    (``"empty"``, ``"ambiguous"`` or ``"not_a_number"``) with the reason in Dutch and English."""

    value: float | None
    text: str | None = None  # the number in canonical decimal-point notation ("1500", "-12.5", "1e3")
    problem: str | None = None
    reason_nl: str = ""
    reason_en: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def is_integer(self) -> bool:
        return self.value is not None and math.isfinite(self.value) and float(self.value).is_integer()


def convention_of_separator(separator: str) -> bool:
    """Whether a file with this field separator has decimal commas: ``;`` and tab do (as Dutch Excel
    writes them), ``,`` does not (a comma cannot be both)."""
    return separator != ","


def _ambiguous(text: str, decimal_comma: bool) -> ParsedNumber:
    if decimal_comma:
        nl = (
            f"In dit bestand is de komma het decimaalteken; '{text}' is daarom niet eenduidig: "
            "schrijf een decimaal getal met een komma (1,5) en duizendtallen met een punt (1.500) of zonder scheidingsteken (1500)"
        )
        en = (
            f"In this file the comma is the decimal sign, so '{text}' is ambiguous: "
            "write decimals with a comma (1,5) and thousands with a dot (1.500) or without a separator (1500)"
        )
    else:
        nl = (
            f"In dit bestand is de punt het decimaalteken; '{text}' is daarom niet eenduidig: "
            "schrijf een decimaal getal met een punt (1.5) en duizendtallen zonder scheidingsteken (1500)"
        )
        en = (
            f"In this file the point is the decimal sign, so '{text}' is ambiguous: "
            "write decimals with a point (1.5) and thousands without a separator (1500)"
        )
    return ParsedNumber(None, None, "ambiguous", nl, en)


def _spaced(text: str, body: str) -> ParsedNumber:
    """A text with spaces that are not exact thousands groups."""
    if re.fullmatch(r"[0-9 \u00a0\u202f.,]+", body):
        return _not_a_number(
            text,
            "spaties tussen cijfers alleen als duizendtalscheiding, in groepen van drie",
            "spaces between digits only as thousands separators, in groups of three",
        )
    return _not_a_number(text)


def _not_a_number(text: str, why_nl: str = "", why_en: str = "") -> ParsedNumber:
    nl = f"'{text}' is geen getal" + (f" ({why_nl})" if why_nl else "")
    en = f"'{text}' is not a number" + (f" ({why_en})" if why_en else "")
    return ParsedNumber(None, None, "not_a_number", nl, en)


def _canonical(negative: bool, digits: str, fraction: str, exponent: str = "") -> tuple[float, str]:
    digits = digits.lstrip("0") or "0"
    text = ("-" if negative else "") + digits + (f".{fraction}" if fraction else "") + exponent
    value = float(text)
    if value == 0:
        value, text = 0.0, "0" + (f".{fraction}" if fraction else "") + exponent
    return value, text


def parse_number(cell: object, decimal_comma: bool) -> ParsedNumber:
    """Read one cell as a number in the file's convention (``decimal_comma`` or decimal point)."""
    if cell is None:
        return _EMPTY
    if cell.__class__ is str:
        return _parse_text(cell, bool(decimal_comma))
    return _parse(str(cell), decimal_comma)


def _parse(raw: str, decimal_comma: bool) -> ParsedNumber:
    text = raw.strip(_SPACE_CHARS + "\r\n")
    if not text:
        return ParsedNumber(None, None, "empty")
    body = text
    negative = False
    if body[:1] in ("-", "\u2212"):
        negative, body = True, body[1:].lstrip(_SPACE_CHARS)
    if body.startswith("€"):
        body = body[1:].lstrip(_SPACE_CHARS)
        if not negative and body[:1] in ("-", "\u2212"):
            negative, body = True, body[1:].lstrip(_SPACE_CHARS)
    if not body:
        return _not_a_number(text)
    if not body.isascii():
        if any(ch in body for ch in " \u00a0\u202f"):
            if not _SPACED.match(body):
                return _spaced(text, body)
            body = re.sub(r"[ \u00a0\u202f]", "", body)
        if not body.isascii():
            if _ANY_DIGIT.search(body):
                return _not_a_number(text, "gebruik de cijfers 0-9", "use the digits 0-9")
            return _not_a_number(text)
    elif " " in body or "\t" in body:
        if not _SPACED.match(body):
            return _spaced(text, body)
        body = body.replace(" ", "")
    if _PLAIN.match(body):
        value, canon = _canonical(negative, body, "")
        return ParsedNumber(value, canon)
    if decimal_comma:
        if _DC_THOUSANDS.match(body):
            whole, _, fraction = body.partition(",")
            value, canon = _canonical(negative, whole.replace(".", ""), fraction)
            return ParsedNumber(value, canon)
        if _DC_DECIMAL.match(body):
            whole, _, fraction = body.partition(",")
            value, canon = _canonical(negative, whole, fraction)
            return ParsedNumber(value, canon)
        if _DP_DECIMAL.match(body) or _DP_THOUSANDS.match(body):
            return _ambiguous(text, decimal_comma)
        if _DP_SCIENTIFIC.match(body) or re.match(r"^[0-9]*,?[0-9]+[eE][-+]?[0-9]+$", body):
            return _not_a_number(
                text,
                "wetenschappelijke notatie alleen in een bestand met een decimale punt; schrijf het getal voluit",
                "scientific notation only in a file with a decimal point; write the number in full",
            )
        return _not_a_number(text)
    if _DP_THOUSANDS.match(body):
        whole, _, fraction = body.partition(".")
        value, canon = _canonical(negative, whole.replace(",", ""), fraction)
        return ParsedNumber(value, canon)
    if _DP_DECIMAL.match(body):
        whole, _, fraction = body.partition(".")
        value, canon = _canonical(negative, whole, fraction)
        return ParsedNumber(value, canon)
    if _DP_SCIENTIFIC.match(body):
        mantissa, exponent = re.split(r"[eE]", body)
        whole, _, fraction = mantissa.partition(".")
        value, canon = _canonical(negative, whole or "0", fraction, "e" + exponent)
        if not math.isfinite(value):
            return _not_a_number(text, "te groot", "too large")
        return ParsedNumber(value, canon)
    if _DC_DECIMAL.match(body) or _DC_THOUSANDS.match(body):
        return _ambiguous(text, decimal_comma)
    return _not_a_number(text)


_EMPTY = ParsedNumber(None, None, "empty")
#: the same texts recur in a column and are parsed again for the column's convention and its values (the result
#: is immutable, so it is shared)
_parse_text = lru_cache(maxsize=1 << 16)(_parse)


def column_decimal_comma(values: Iterable[object], default: bool, min_proof: int = MIN_PROOF) -> bool:
    """The convention of one column: ``default`` (the file's, from its separator) unless the column proves
    the other one: at least ``min_proof`` values that only the other convention reads, none that only the
    default reads, and none that both read but to different numbers (``1.500``). Overruling therefore
    never changes the value of a number; it only accepts values the default would reject."""
    other_only = 0
    for v in values:
        if not isinstance(v, str) or not v.strip():
            continue
        mine, theirs = parse_number(v, default), parse_number(v, not default)
        if mine.ok and theirs.ok:
            if mine.value != theirs.value:
                return default
        elif mine.ok:
            return default
        elif theirs.ok:
            other_only += 1
    return (not default) if other_only >= min_proof else default


def whole_number_regex() -> str:
    """The whole numbers :func:`decimal_comma_sql` reads: ``14``, ``-3``, ``1.500``, ``1.234.567``."""
    return r"^\s*-?(?:[0-9]+|[1-9][0-9]{0,2}(?:\.[0-9]{3})+)\s*$"


def decimal_comma_sql(column: str, sql_type: str) -> str:
    """A DuckDB expression reading the text ``column`` of a decimal-comma file as ``sql_type``, by the
    rules of :func:`parse_number` for machine-written values: whole numbers with optional thousands dots
    (``1.500`` is 1500) and, for ``DOUBLE``, a decimal comma (``12,5``, ``1.234,5``). Anything else, such
    as ``1.5``, ``1,5`` in a whole-number column, text or a number out of the type's range, is NULL."""
    t = f"trim({column})"
    whole = f"regexp_full_match({t}, '-?[0-9]+')"
    dots = f"regexp_full_match({t}, '-?[1-9][0-9]{{0,2}}(\\.[0-9]{{3}})+')"
    cases = [
        f"WHEN {whole} THEN TRY_CAST({t} AS {sql_type})",
        f"WHEN {dots} THEN TRY_CAST(replace({t}, '.', '') AS {sql_type})",
    ]
    if sql_type == "DOUBLE":
        comma = f"regexp_full_match({t}, '-?([0-9]+|[1-9][0-9]{{0,2}}(\\.[0-9]{{3}})+),[0-9]+')"
        cases.append(f"WHEN {comma} THEN TRY_CAST(replace(replace({t}, '.', ''), ',', '.') AS DOUBLE)")
    return f"(CASE {' '.join(cases)} END)"


# ------------------------------------------------------------------ numbers as messages show them


def _decimals(x: float, least: int) -> int:
    """The decimals that show ``x`` exactly (``least`` at least, 6 at most)."""
    text = f"{abs(x):.6f}".rstrip("0")
    return max(least, min(6, len(text.split(".")[1]) if "." in text else 0))


def format_number(x: object, lang: str = "nl", least_decimals: int = 2) -> str:
    """A number as a message in ``lang`` shows it: Dutch ``1.234.567`` and ``12,50``, English ``1,234,567`` and
    ``12.50``. A fraction keeps the decimals that show it exactly (``least_decimals`` at least, 6 at most), so a
    message never rounds away the excess of a part over its total; an empty value is 'leeg' / 'empty'.
    Anything that is not a number is returned as text."""
    if isinstance(x, bool) or x is None:
        return str(x)
    if isinstance(x, int) or (hasattr(x, "dtype") and getattr(x.dtype, "kind", "") in "iu"):
        text = f"{int(x):,}"
    else:
        try:
            v = float(x)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(x)
        if isinstance(x, str):
            return x
        if math.isnan(v):
            return "leeg" if lang == "nl" else "empty"
        if math.isinf(v) or abs(v) >= 1e15:
            text = f"{v:.3g}"
            return text.replace(".", ",") if lang == "nl" else text
        text = f"{int(v):,}" if v.is_integer() else f"{v:,.{_decimals(v, least_decimals)}f}"
    if lang == "nl":
        return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def count_text(n: int, one: str, many: str, lang: str = "nl") -> str:
    """A count with the word in singular or plural: '1 fout', '2 fouten', '1.500 regels', '1 error'."""
    return f"{format_number(int(n), lang)} {one if n == 1 else many}"
