"""Show invisible and direction-changing characters instead of obeying them.

A right-to-left override (U+202E) in a file name turns ``rapport\u202excod.xlsx`` into what reads as
``rapportxlsx.docx``; zero-width and control characters hide text. Everything rendered into a page, a chart
label or a CSV download passes through :func:`visible`, which writes such a character as ``<U+202E>``.
(The terminal output of the CLI has its own helper.)
"""

from __future__ import annotations

import re

_HIDDEN = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"  # C0 (except tab, LF, CR), DEL, C1
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"  # soft hyphen, joiners, Arabic letter mark, fillers
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f"  # zero width, LRM/RLM, line/para sep, embeddings,
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"  # overrides, isolates, invisible operators, BOM
    "\U000e0000-\U000e007f]"
)  # tag characters


def _mark(m: re.Match[str]) -> str:
    return f"<U+{ord(m.group(0)):04X}>"


def visible(text: object) -> str:
    """``text`` with every bidi control, zero-width and control character written out as ``<U+XXXX>``."""
    s = "" if text is None else str(text)
    return _HIDDEN.sub(_mark, s)


def has_hidden(text: object) -> bool:
    return bool(_HIDDEN.search("" if text is None else str(text)))
