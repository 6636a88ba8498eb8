"""The language heuristic and the code check shared by the tests of the reports' and the catalogue's texts.

:func:`other_language` flags a sentence that reads as the other language by counting short function words of
each; :func:`codes_in` finds raw field codes (``n_besluiten``, ``enquete.q_overall``) and indicator codes in a
text. Used by ``tests/report/test_language.py`` and ``tests/metadata/test_indicator_texts.py``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pipeline.compute.engine import catalogue
from pipeline.metadata.registry import registry

#: Short function words that are frequent in one language and absent from the other. "is" and "of" are no
#: English markers: both are everyday Dutch words too ("is op zich niet goed of slecht" is Dutch); nor is "door"
#: a Dutch one, nor "in", "per" or "over" (both languages).
MARKERS = {
    "nl": frozenset(
        "de het een en van niet met voor zijn wordt op dat bij te om aan uit naar ook als geen deze worden "
        "heeft".split()
    ),
    "en": frozenset("the and not with for are which this that to from by or an be has have than their its".split()),
}
OTHER = {"nl": "en", "en": "nl"}
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
MIN_WORDS = 5
MIN_MARKERS = 3


def markers(sentence: str, lang: str) -> int:
    """How many words of ``sentence`` are markers of ``lang``."""
    return sum(w.lower() in MARKERS[lang] for w in WORD.findall(sentence))


def other_language(sentence: str, lang: str) -> bool:
    """Whether ``sentence`` on a page in ``lang`` reads as the other language: at least five words, at least
    three markers of the other language and more of them than of the page's own."""
    if len(WORD.findall(sentence)) < MIN_WORDS:
        return False
    other, own = markers(sentence, OTHER[lang]), markers(sentence, lang)
    return other >= MIN_MARKERS and other > own


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


CODE_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)?")


@lru_cache(maxsize=1)
def code_set() -> frozenset[str]:
    """Field codes (``n_besluiten``, ``enquete.q_overall``) and indicator codes. A field code that is an ordinary
    word as well (``jaar``, ``kanaal``, ``weight``) is not a code on sight and left out."""
    codes: set[str] = set()
    for sheet in registry().sheets:
        for f in sheet.fields:
            codes.add(f"{sheet.code}.{f.code}")
            if "_" in f.code:
                codes.add(f.code)
    codes |= {ind.code for ind in catalogue()}
    return frozenset(codes)


def codes_in(text: str, codes: frozenset[str] | set[str]) -> list[str]:
    """The codes of ``codes`` that occur in ``text`` as whole tokens (also as part of ``sheet.field``)."""
    found = []
    for token in CODE_TOKEN.findall(text):
        if token in codes:
            found.append(token)
        elif "." in token:
            found += [part for part in token.split(".") if part in codes]
    return found
