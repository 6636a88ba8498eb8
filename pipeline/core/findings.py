"""Findings: what validation says about a submission, in words a submitter can act on."""

from __future__ import annotations

from dataclasses import asdict, dataclass

SEVERITIES = ("error", "warning", "info")


@dataclass
class Finding:
    severity: str  # error | warning | info
    rule: str  # machine-readable rule id, e.g. "required", "range", "yoy_change"
    message_nl: str
    message_en: str
    sheet: str | None = None  # sheet code
    cell: str | None = None  # e.g. "Producten!F14" or "producten.csv, regel 5, kolom n_klachten"
    row: int | None = None  # row number in the file (Excel row or CSV line)
    field: str | None = None
    value: str | None = None
    explained: bool = False
    explanation: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def message(self, lang: str) -> str:
        return self.message_en if lang == "en" else self.message_nl


def short_value(value: object, limit: int = 80) -> str | None:
    """A printable, bounded representation of a submitted value."""
    if value is None:
        return None
    text = str(value)
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
