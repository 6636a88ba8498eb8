"""Findings: what validation says about a submission, in words a submitter can act on."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass

SEVERITIES = ("error", "warning", "info")


@dataclass
class Finding:
    severity: str  # error | warning | info
    rule: str  # machine-readable rule id, e.g. "required", "range", "yoy_change"
    message_nl: str
    message_en: str
    sheet: str | None = None  # sheet code
    cell: str | None = None  # e.g. "Producten!F14" or "producten.csv, regel 5, kolom n_klachten" (see cell_text)
    row: int | None = None  # row number in the file (Excel row or CSV line)
    field: str | None = None
    value: str | None = None
    explained: bool = False
    explanation: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def message(self, lang: str) -> str:
        return self.message_en if lang == "en" else self.message_nl

    def where(self, lang: str) -> str | None:
        """The cell reference in ``lang`` (:func:`cell_text`)."""
        return cell_text(self.cell, lang)


# a CSV reference as readers write it: "<file>, regel <n>[, kolom <column>]" or "<file>, kolom <column>"
_CSV_REF = re.compile(r"^(?P<file>.+?)(?:, regel (?P<row>[0-9]+))?(?:, kolom (?P<col>.+))?$", re.DOTALL)


def cell_text(cell: str | None, lang: str) -> str | None:
    """A stored cell reference as a reader of ``lang`` reads it: an Excel reference (``Producten!F14``) is
    the same in every language; a CSV reference is stored in Dutch (``producten.csv, regel 5, kolom
    n_klachten``) and reads ``producten.csv, line 5, column n_klachten`` in English. The file and column
    names are the member's own and stay as they are."""
    if cell is None or lang == "nl":
        return cell
    m = _CSV_REF.match(cell)
    if m is None or (m.group("row") is None and m.group("col") is None):
        return cell
    parts = [m.group("file")]
    if m.group("row") is not None:
        parts.append(f"line {m.group('row')}")
    if m.group("col") is not None:
        parts.append(f"column {m.group('col')}")
    return ", ".join(parts)


def _shown_char(ch: str) -> str:
    """A character of a submitted value as a finding keeps it: a space of any kind (a no-break space from
    Excel) is a space as typed; other characters that do not print (controls) become '?'."""
    if ch.isprintable():
        return ch
    return ch if unicodedata.category(ch) == "Zs" else "?"


def short_value(value: object, limit: int = 80) -> str | None:
    """A printable, bounded representation of a submitted value: the text as typed (spaces of any kind
    kept), controls as '?', cut at ``limit`` characters."""
    if value is None:
        return None
    text = str(value)
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    text = "".join(_shown_char(ch) for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
