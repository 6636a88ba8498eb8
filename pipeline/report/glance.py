"""The first screen of an organisation report and its glossary.

:func:`at_a_glance` answers a manager's question in words: where the member stands per theme (with one compact
figure), what changed since last year, its three strongest and three weakest points with how certain each is, and
where the detail is. :func:`glossary` explains the terms the report uses (mediaan, kwartiel, percentiel,
betrouwbaarheidsinterval, ...); :func:`term` links a term to it.

Everything here reads the member through its :class:`pipeline.report.disclosure.MemberView`: its own values and
positions, never another member's value.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from pipeline.report import disclosure, figures
from pipeline.report.disclosure import MemberView
from pipeline.report.figures import block, num, slug, table
from pipeline.report.render import fmt_number
from pipeline.report.text import format_value, ind_name

RANKED = ("higher", "lower")

#: (Dutch, English)
WORDING: dict[str, tuple[str, str]] = {
    "title": ("In het kort", "At a glance"),
    "index": (
        "Op de samengestelde index van alle thema's staat {name} op plaats {rank} van {n}. Rekening houdend met de "
        "onzekerheid in de cijfers en de keuzes in de index ligt die plaats tussen {lo} en {hi}.",
        "On the composite index of all themes, {name} is in position {rank} of {n}. Allowing for the uncertainty in "
        "the figures and the choices in the index, that position lies between {lo} and {hi}.",
    ),
    "no_index": (
        "Een plaats op de samengestelde index is er dit jaar niet: daarvoor zijn te weinig indicatoren of leden.",
        "There is no position on the composite index this year: too few indicators or members.",
    ),
    "themes_title": ("Positie per thema", "Position per theme"),
    "mean_percentile": ("Gemiddeld percentiel", "Mean percentile"),
    "chart_title": ("Percentiel per thema", "Percentile per theme"),
    "themes_caption": (
        "Gemiddeld percentiel per thema (100 = de beste van alle leden, 50 = het midden)",
        "Mean percentile per theme (100 = the best of all members, 50 = the middle)",
    ),
    "theme_line": ("{theme}: {words} ({n} {indicators})", "{theme}: {words} ({n} {indicators})"),
    "indicator_one": ("indicator", "indicator"),
    "indicator_many": ("indicatoren", "indicators"),
    "band_1": ("bij de besten (beste kwart)", "among the best (top quarter)"),
    "band_2": ("boven het midden", "above the middle"),
    "band_3": ("onder het midden", "below the middle"),
    "band_4": ("achteraan (laagste kwart)", "at the back (bottom quarter)"),
    "strongest": ("Drie sterkste punten", "Three strongest points"),
    "weakest": ("Drie zwakste punten", "Three weakest points"),
    "point": ("{name}: {value}, {position}", "{name}: {value}, {position}"),
    "position": ("plaats {rank} van {n}", "position {rank} of {n}"),
    "sure_better": (
        "zeker: significant beter dan de mediaan",
        "certain: significantly better than the median",
    ),
    "sure_worse": (
        "zeker: significant slechter dan de mediaan",
        "certain: significantly worse than the median",
    ),
    "unsure": (
        "onzeker: het verschil met de mediaan kan toeval zijn (steekproef)",
        "uncertain: the difference from the median may be chance (sample)",
    ),
    "count": (
        "gemeten over alle zaken, zonder steekproefmarge",
        "measured over all cases, without a sampling margin",
    ),
    "changes": ("Wat veranderde sinds {year}", "What changed since {year}"),
    "up": ("{name}: van kwartiel {q0} naar {q1}", "{name}: from quartile {q0} to {q1}"),
    "better_title": ("Vooruit", "Moved up"),
    "worse_title": ("Achteruit", "Moved down"),
    "no_changes": (
        "Geen indicator veranderde van kwartiel ten opzichte van {year}.",
        "No indicator changed quartile compared with {year}.",
    ),
    "no_previous": (
        "Er zijn geen cijfers van {year} om mee te vergelijken.",
        "There are no figures of {year} to compare with.",
    ),
    "detail": ("Waar staan de details", "Where the detail is"),
    "detail_text": (
        "Per thema staat elke indicator met uw waarde, de mediaan en de middelste helft van alle leden, uw cluster "
        "en uw eigen jaren. De begrippen staan onder {glossary}, de berekeningen onder {method}.",
        "Per theme, every indicator shows your value, the median and the middle half of all members, your cluster "
        "and your own years. The terms are explained under {glossary}, the computations under {method}.",
    ),
    "glossary": ("Begrippen", "Terms"),
    "method": ("Methodologie", "Methodology"),
    "quartile_word": ("kwartiel", "quartile"),
}

#: (id, Dutch term, English term, Dutch explanation, English explanation)
GLOSSARY: list[tuple[str, str, str, str, str]] = [
    (
        "mediaan",
        "Mediaan",
        "Median",
        "De middelste waarde van alle leden: de helft van de leden zit erboven, de helft eronder.",
        "The middle value of all members: half of the members are above it, half below.",
    ),
    (
        "kwartiel",
        "Kwartiel",
        "Quartile",
        "De leden in vier even grote groepen, van kwartiel 1 (het beste kwart) tot kwartiel 4 (het laagste kwart). "
        "Bij indicatoren waar lager beter is (zoals kosten of doorlooptijd) staat de laagste waarde in kwartiel 1.",
        "The members in four groups of equal size, from quartile 1 (the best quarter) to quartile 4 (the bottom "
        "quarter). For indicators where lower is better (such as costs or lead time) the lowest value is in "
        "quartile 1.",
    ),
    (
        "middelste-helft",
        "Middelste helft",
        "Middle half",
        "De waarden tussen het 25e en het 75e percentiel: daar zit de middelste helft van de leden. In de figuren "
        "de gekleurde band.",
        "The values between the 25th and the 75th percentile, where the middle half of the members lies. The "
        "coloured band in the figures.",
    ),
    (
        "percentiel",
        "Percentiel",
        "Percentile",
        "Uw plaats op een schaal van 0 tot 100: 100 is de beste van alle leden, 50 het midden.",
        "Your place on a scale from 0 to 100: 100 is the best of all members, 50 the middle.",
    ),
    (
        "betrouwbaarheidsinterval",
        "Betrouwbaarheidsinterval",
        "Confidence interval",
        "Bij cijfers uit een steekproef (zoals de klantenenquête): het gebied waarin de echte waarde met 95% "
        "zekerheid ligt. Hoe smaller, hoe zekerder.",
        "For figures from a sample (such as the client survey): the range that holds the true value with 95% "
        "certainty. The narrower, the more certain.",
    ),
    (
        "significant",
        "Significant",
        "Significant",
        "Het verschil met de mediaan is zo groot dat het met 95% zekerheid geen toeval van de steekproef is, ook na "
        "correctie voor het grote aantal vergelijkingen.",
        "The difference from the median is so large that it is, with 95% certainty, not chance from the sample, "
        "also after correcting for the many comparisons made.",
    ),
    (
        "cluster",
        "Cluster",
        "Cluster",
        "Een groep leden met een vergelijkbare taak (bijvoorbeeld uitkeren of vergunnen). Clustercijfers staan er "
        "alleen als ten minste vijf leden van het cluster een waarde hebben.",
        "A group of members with a similar task (for example paying benefits or licensing). Cluster figures are "
        "shown only when at least five members of the cluster have a value.",
    ),
    (
        "index",
        "Samengestelde index",
        "Composite index",
        "Eén score van 0 tot 100 over alle thema's samen; de plaats daarop wordt gegeven met de marge die ontstaat "
        "als de keuzes in de index (gewichten, aanpak van ontbrekende waarden) anders waren gemaakt.",
        "One score from 0 to 100 over all themes together; the position on it comes with the margin that arises "
        "if the choices in the index (weights, handling of missing values) had been made differently.",
    ),
    (
        "efficientie",
        "Efficiëntiescore (DEA)",
        "Efficiency score (DEA)",
        "Hoeveel minder inzet (kosten of personeel) voor dezelfde productie haalbaar lijkt, vergeleken met de leden "
        "van uw cluster die met minder middelen minstens evenveel produceren. 1,00 betekent: geen vergelijkbaar lid "
        "doet het met minder; 0,80 betekent: 20% minder inzet lijkt haalbaar.",
        "How much less input (costs or staff) for the same output seems feasible, compared with the members of your "
        "cluster that produce at least as much with fewer resources. 1.00 means: no comparable member does it with "
        "less; 0.80 means: 20% less input seems feasible.",
    ),
]


def w(key: str, lang: str) -> str:
    return WORDING[key][0 if lang != "en" else 1]


def term(key: str, lang: str, text: str | None = None) -> Markup:
    """A link to the glossary entry ``key`` (``text`` defaults to the term itself, in lower case)."""
    entry = next(g for g in GLOSSARY if g[0] == key)
    label = text if text is not None else entry[1 if lang != "en" else 2].lower()
    return Markup('<a class="term" href="#term-{}">{}</a>').format(key, label)


def glossary(lang: str) -> list[dict[str, str]]:
    nl = lang != "en"
    return [{"id": f"term-{g[0]}", "term": g[1 if nl else 2], "text": g[3 if nl else 4]} for g in GLOSSARY]


def band(percentile: float) -> int:
    """1 (top quarter) .. 4 (bottom quarter) of a percentile where 100 is best."""
    if percentile >= 75:
        return 1
    if percentile >= 50:
        return 2
    if percentile >= 25:
        return 3
    return 4


def _certainty(comp: dict[str, Any], ind: dict[str, Any], lang: str) -> str:
    label = comp.get("significance_label")
    if label == "better":
        return w("sure_better", lang)
    if label == "worse":
        return w("sure_worse", lang)
    if label == "not_significant" or (ind.get("uncertainty") or "none") != "none":
        return w("unsure", lang)
    return w("count", lang)


def _anchor(code: str) -> str:
    return f"#fig-ind-{slug(code)}-title"


def at_a_glance(view: MemberView, composite: tuple[dict[str, Any] | None, Any], lang: str) -> dict[str, Any] | None:
    """The first screen of a member with data this year (None otherwise)."""
    if not view.has_data:
        return None
    themes = view.themes(lang)
    ranked = [ind for ind in view.catalogue if ind.get("direction") in RANKED]
    positions = []
    for ind in ranked:
        comp = view.comparison(ind["code"])
        if comp and comp.get("percentile") is not None:
            positions.append((ind, comp))
    # position per theme
    theme_rows, labels, means = [], [], []
    for theme, label in themes:
        mine = [c["percentile"] for ind, c in positions if ind["theme"] == theme]
        if not mine:
            continue
        mean = sum(mine) / len(mine)
        n = len(mine)
        theme_rows.append(
            {
                "text": w("theme_line", lang).format(
                    theme=label,
                    words=w(f"band_{band(mean)}", lang),
                    n=n,
                    indicators=w("indicator_one" if n == 1 else "indicator_many", lang),
                ),
                "href": f"#theme-{slug(theme)}",
                "band": band(mean),
            }
        )
        labels.append(label)
        means.append(mean)
    fig = figures.theme_glance(labels, means, lang) if labels else None
    chart = None
    if fig:
        disclosure.seal(fig)
        glance_table = table(
            w("themes_caption", lang),
            [(w("themes_title", lang), False), (w("mean_percentile", lang), True)],
            [[label, fmt_number(m, 0, lang)] for label, m in zip(labels, means)],
            ["theme", "mean_percentile"],
            [[label, num(m, 1)] for label, m in zip(labels, means)],
            f"{view.org_code}_{view.year}_themes",
            lang,
        )
        chart = block("fig-glance", w("chart_title", lang), fig, w("themes_caption", lang), [glance_table])
    # strongest and weakest
    order = sorted(positions, key=lambda p: (-p[1]["percentile"], p[0]["code"]))

    def point(ind: dict[str, Any], comp: dict[str, Any]) -> dict[str, str]:
        own = view.own(ind["code"]) or {}
        return {
            "text": w("point", lang).format(
                name=ind_name(ind, lang),
                value=format_value(own.get("value"), ind, lang, with_unit=True),
                position=w("position", lang).format(rank=int(comp["rank"]), n=int(comp["n_orgs"])),
            ),
            "certainty": _certainty(comp, ind, lang),
            "href": _anchor(ind["code"]),
        }

    n_side = min(3, len(order) // 2)
    strongest = [point(i, c) for i, c in order[:n_side]]
    weakest = [point(i, c) for i, c in reversed(order[len(order) - n_side :])] if n_side else []
    # what changed since last year
    prev_year = view.year - 1
    up, down, compared = [], [], 0
    for ind, comp in positions:
        before = view.comparison(ind["code"], prev_year)
        if not before or before.get("quartile") is None or comp.get("quartile") is None:
            continue
        compared += 1
        q0, q1 = int(before["quartile"]), int(comp["quartile"])
        if q0 == q1:
            continue
        item = {
            "text": w("up", lang).format(name=ind_name(ind, lang), q0=q0, q1=q1),
            "href": _anchor(ind["code"]),
            "move": abs(q0 - q1),
            "code": ind["code"],
        }
        (up if q1 < q0 else down).append(item)
    up.sort(key=lambda x: (-x["move"], x["code"]))
    down.sort(key=lambda x: (-x["move"], x["code"]))
    if not compared:
        change_note = w("no_previous", lang).format(year=prev_year)
    elif not up and not down:
        change_note = w("no_changes", lang).format(year=prev_year)
    else:
        change_note = ""
    unc = composite[0]
    if unc:
        index = w("index", lang).format(
            name=view.org["name"],
            rank=unc["nominal_rank"],
            n=unc["n_units"],
            lo=fmt_number(unc["rank_lo"], 0, lang),
            hi=fmt_number(unc["rank_hi"], 0, lang),
        )
    else:
        index = w("no_index", lang)
    detail = (
        Markup(escape(w("detail_text", lang)))
        .replace("{glossary}", Markup('<a href="#glossary">{}</a>').format(w("glossary", lang)))
        .replace("{method}", Markup('<a href="#methodology">{}</a>').format(w("method", lang)))
    )
    return {
        "title": w("title", lang),
        "index": index,
        "themes_title": w("themes_title", lang),
        "themes_caption": w("themes_caption", lang),
        "themes": theme_rows,
        "chart": chart,
        "strongest_title": w("strongest", lang),
        "weakest_title": w("weakest", lang),
        "strongest": strongest,
        "weakest": weakest,
        "changes_title": w("changes", lang).format(year=prev_year),
        "better_title": w("better_title", lang),
        "worse_title": w("worse_title", lang),
        "up": up[:3],
        "down": down[:3],
        "n_up": len(up),
        "n_down": len(down),
        "change_note": change_note,
        "detail_title": w("detail", lang),
        "detail": detail,
        "terms": [term(g[0], lang) for g in GLOSSARY],
    }
