"""Text from submitters made safe to show, and folder names read strictly.

Everything a submitter controls (file and folder names, cell values, messages quoting them) may hold
control characters: an ESC sequence can clear or rewrite an analyst's terminal, and a bidi override
(U+202E) can make ``gpj.exe`` look like ``exe.jpg``. :func:`terminal_safe` turns every such character into
a visible escape (``\\x1b``, ``<U+202E>``) instead of dropping it, so what is shown is both harmless and
still tells what was there.

Folder names are read strictly: a year folder holds exactly four ASCII digits (``２０２４`` and ``²⁰²⁵`` are
not 2024 and 2025), and an organisation folder must be a register code in ASCII letters (case does not
matter). A name that only looks like a code (``cjıb`` with a dotless i, full-width letters, Cyrillic
look-alikes) is refused, with the code it probably meant.
"""

from __future__ import annotations

import re
import unicodedata

# bidi embeddings/overrides/isolates and marks: they reorder or hide what follows
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_C0_NAMES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape_char(ch: str) -> str:
    o = ord(ch)
    if ch in _C0_NAMES:
        return _C0_NAMES[ch]
    if o < 0x20 or o == 0x7F or 0x80 <= o <= 0x9F:
        return f"\\x{o:02x}"
    if 0xD800 <= o <= 0xDFFF:  # a lone surrogate (an undecodable byte in a file name)
        return f"\\x{o - 0xDC00:02x}" if o >= 0xDC80 else f"<U+{o:04X}>"
    return f"<U+{o:04X}>"


def _needs_escape(ch: str) -> bool:
    if ch in BIDI_CONTROLS:
        return True
    cat = unicodedata.category(ch)
    # Cc: C0/C1 controls and DEL; Cf: invisible format characters (zero-width, bidi, BOM);
    # Zl/Zp: line and paragraph separators; Cs: surrogates
    return cat in ("Cc", "Cf", "Zl", "Zp", "Cs")


def terminal_safe(text: object) -> str:
    """``text`` with every control, format and bidi character shown as a visible escape.

    C0/C1 controls and DEL become ``\\x1b``-style escapes (tab, newline and carriage return become ``\\t``,
    ``\\n``, ``\\r``), bidi controls and other invisible format characters become ``<U+202E>``. Printable
    text, including accented letters and emoji, is unchanged. Safe for terminals, logs and one-line cells.
    """
    s = "" if text is None else str(text)
    if s.isascii() and s.isprintable():
        return s
    return "".join(_escape_char(ch) if _needs_escape(ch) else ch for ch in s)


# ------------------------------------------------------------------ year folders

_YEAR = re.compile(r"[0-9]{4}", re.ASCII)


def looks_like_number(name: str) -> bool:
    """Whether a folder name consists of digits of any script (``2025``, ``２０２５``, ``²⁰²⁵``, ``٢٠٢٥``)."""
    return bool(name) and all(ch.isdigit() or ch.isnumeric() for ch in name)


def ascii_year(name: str, lo: int, hi: int) -> int | None:
    """The year of a folder name of exactly four ASCII digits in ``lo..hi``; None for anything else."""
    if not _YEAR.fullmatch(name):
        return None
    year = int(name)
    return year if lo <= year <= hi else None


# ------------------------------------------------------------------ organisation codes

# letters that look like Latin ones but are other characters; NFKC does not map them
_CONFUSABLES = str.maketrans(
    {
        "ı": "i",
        "ȷ": "j",
        "ɩ": "i",
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ħ": "h",
        "ŀ": "l",
        # Cyrillic
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "һ": "h",
        "ӏ": "l",
        "ь": "b",
        # Greek
        "α": "a",
        "β": "b",
        "γ": "y",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        "ζ": "z",
        "μ": "u",
        # letter-like symbols and digits that pass for letters
        "ℓ": "l",
        "℮": "e",
        "0": "o",
        "1": "l",
        "5": "s",
    }
)


def skeleton(text: str) -> str:
    """A loose comparison form: NFKC, casefold, accents stripped, look-alike letters mapped to Latin,
    only letters and digits kept. Used only to suggest a code, never to accept one."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    stripped = "".join(ch for ch in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(ch))
    return "".join(ch for ch in stripped.translate(_CONFUSABLES) if ch.isalnum())


def register_code(name: str, codes: set[str] | frozenset[str]) -> tuple[str | None, str | None]:
    """Match a folder name to a register code: ``(code, None)`` for an exact match (ASCII, any case),
    else ``(None, suggestion)`` where the suggestion is the code the name most likely meant (or None)."""
    if name.isascii() and name.upper() in codes:
        return name.upper(), None
    target = skeleton(name)
    if not target:
        return None, None
    matches = sorted(c for c in codes if skeleton(c) == target)
    return None, (matches[0] if len(matches) == 1 else None)


__all__ = ["BIDI_CONTROLS", "ascii_year", "looks_like_number", "register_code", "skeleton", "terminal_safe"]
