"""What a cell holds when it holds no value: the missing-value answers members write.

A numeric field can be answered with a number, with "niet van toepassing" (``nvt``: the organisation has no
such channel or product feature) or with "onbekend" (``onbekend``: it exists, but the figure is missing), or be
left empty. Members spell these answers in many ways; :func:`answer_state` maps the common spellings (case and
surrounding spaces ignored) to the state, and everything else stays a value to be checked for its type.
Which answers a field accepts is declared in the registry (``missing:`` in ``submission.yaml``).
"""

from __future__ import annotations

NVT = "nvt"
ONBEKEND = "onbekend"
LEEG = "leeg"

#: spellings read as 'niet van toepassing' (shown in the template and docs/data-dictionary.md)
NVT_SPELLINGS: tuple[str, ...] = (
    "n.v.t.",
    "n.v.t",
    "nvt",
    "nvt.",
    "niet van toepassing",
    "na",
    "n/a",
    "n.a.",
    "-",
    "--",
    "\u2013",
    "\u2014",
    "not applicable",
    "not_applicable",
)
#: spellings read as 'onbekend'
ONBEKEND_SPELLINGS: tuple[str, ...] = (
    "onbekend",
    "onb.",
    "onb",
    "?",
    "??",
    "n.b.",
    "nb",
    "niet bekend",
    "geen gegevens",
    "unknown",
    "no data",
    "no_data",
    "nd",
    "#n/b",
    "#n/a",
)
#: spellings of an empty cell
EMPTY_SPELLINGS: tuple[str, ...] = ("", "leeg", "empty")

_STATES: dict[str, str] = {
    **{s: NVT for s in NVT_SPELLINGS},
    **{s: ONBEKEND for s in ONBEKEND_SPELLINGS},
    **{s: LEEG for s in EMPTY_SPELLINGS},
}

#: every spelling that is not a value (the union of the three lists)
SPELLINGS = frozenset(_STATES)

LABELS = {
    NVT: ("n.v.t. (niet van toepassing)", "n/a (not applicable)"),
    ONBEKEND: ("onbekend", "unknown"),
    LEEG: ("leeg", "empty"),
}


def answer_state(text: str) -> str | None:
    """``nvt``, ``onbekend`` or ``leeg`` when ``text`` is one of the known spellings, else None (a value)."""
    return _STATES.get(" ".join(text.split()).casefold())


def label(state: str, lang: str = "nl") -> str:
    nl, en = LABELS[state]
    return en if lang == "en" else nl
