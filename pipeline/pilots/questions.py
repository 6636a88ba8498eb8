"""The members' development questions of a round, each with the evidence behind it, for the board.

A member states its development question in its submission (``organisatie.ontwikkelvraag_thema``: the theme,
``organisatie.ontwikkelvraag_tekst``: the question in its own words). :func:`development_questions` lists them
with, per question, how the member stands on the ranked indicators of that theme (value, median, quartile) and
which of them made the shortlist or the candidates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from pipeline.pilots.selection import RANKED, PilotData, catalogue_map, org_map
from pipeline.pilots.values import as_float, as_text, format_value

QUARTILE_TEXT = {
    1: ("beste kwart", "best quarter"),
    2: ("tweede kwart", "second quarter"),
    3: ("derde kwart", "third quarter"),
    4: ("laagste kwart", "bottom quarter"),
}


def development_questions(
    data: PilotData, year: int, shortlist: pd.DataFrame, candidates: pd.DataFrame
) -> list[dict[str, Any]]:
    """One entry per member with a development question in ``year`` (theme, text or both), by organisation."""
    org = data.organisatie
    if org is None or org.empty or "ontwikkelvraag_thema" not in org.columns:
        return []
    rows = org[org["year"] == year]
    cat = catalogue_map(data.catalogue)
    orgs = org_map(data)
    comp = data.comparisons[data.comparisons["year"] == year] if not data.comparisons.empty else data.comparisons
    short = set(zip(shortlist["org_code"], shortlist["indicator_code"])) if not shortlist.empty else set()
    cands = set(zip(candidates["org_code"], candidates["indicator_code"])) if not candidates.empty else set()
    theme_names: dict[str, tuple[str, str]] = {}
    for meta in cat.values():
        theme_names.setdefault(
            meta["theme"], (meta.get("theme_nl") or meta["theme"], meta.get("theme_en") or meta["theme"])
        )
    out = []
    for rec in rows.sort_values("org_code", kind="mergesort").to_dict("records"):
        code = str(rec["org_code"])
        theme = as_text(rec.get("ontwikkelvraag_thema"))
        text = as_text(rec.get("ontwikkelvraag_tekst"))
        if not theme and not text:
            continue
        evidence = []
        if theme:
            mine = comp[(comp["org_code"] == code)] if not comp.empty else comp
            by_ind = {str(r["indicator_code"]): r for r in mine.to_dict("records")}
            for ind, meta in sorted(cat.items(), key=lambda kv: kv[0]):
                if meta["theme"] != theme or meta["direction"] not in RANKED:
                    continue
                r = by_ind.get(ind)
                if r is None or math.isnan(as_float(r.get("value"))):
                    continue
                q = as_float(r.get("quartile"))
                evidence.append(
                    {
                        "indicator_code": ind,
                        "name_nl": meta["name_nl"],
                        "name_en": meta["name_en"],
                        "value_nl": format_value(r["value"], meta["unit"], meta["decimals"], "nl"),
                        "value_en": format_value(r["value"], meta["unit"], meta["decimals"], "en"),
                        "median_nl": format_value(r.get("median"), meta["unit"], meta["decimals"], "nl"),
                        "median_en": format_value(r.get("median"), meta["unit"], meta["decimals"], "en"),
                        "quartile": None if math.isnan(q) else int(q),
                        "shortlisted": (code, ind) in short,
                        "candidate": (code, ind) in cands,
                    }
                )
        names = theme_names.get(theme, (theme, theme))
        bottom = sum(1 for e in evidence if e["quartile"] == 4)
        out.append(
            {
                "org_code": code,
                "org_label": orgs.get(code, {}).get("label", code),
                "org_name": orgs.get(code, {}).get("name", code),
                "theme": theme,
                "theme_nl": names[0] if theme else "",
                "theme_en": names[1] if theme else "",
                "text": text,
                "evidence": evidence,
                "n_bottom": bottom,
                "n_ranked": len(evidence),
                "on_shortlist": [e for e in evidence if e["shortlisted"]],
                "summary_nl": _summary(evidence, bottom, "nl"),
                "summary_en": _summary(evidence, bottom, "en"),
            }
        )
    return out


def _summary(evidence: list[Mapping[str, Any]], bottom: int, lang: str) -> str:
    nl = lang != "en"
    if not evidence:
        return (
            "Geen gerangschikte indicatoren met een waarde op dit thema."
            if nl
            else "No ranked indicators with a value on this theme."
        )
    n = len(evidence)
    short = [e for e in evidence if e["shortlisted"]]
    if nl:
        text = f"{bottom} van {n} {'indicator' if n == 1 else 'indicatoren'} op dit thema in het laagste kwart"
        if short:
            text += f"; op de shortlist: {', '.join(e['name_nl'] for e in short)}"
    else:
        text = f"{bottom} of {n} {'indicator' if n == 1 else 'indicators'} on this theme in the bottom quarter"
        if short:
            text += f"; on the shortlist: {', '.join(e['name_en'] for e in short)}"
    return text + "."
