"""The comparator section of a member report: who the member is compared with (by characteristics, never by
name) and the statistics of its default group and of the analyst sets it belongs to (docs/comparators.md).

Everything comes from the :class:`~pipeline.report.disclosure.MemberView`: published statistics only, rounded,
no count, rank or value of any other member; the group is described by its size and the characteristics it
was formed on, with the group's median per characteristic (a statistic over at least five members).
"""

from __future__ import annotations

import math
from typing import Any

from pipeline.report.disclosure import BAND_MIN_MEMBERS, MIN_MEMBERS, MemberView
from pipeline.report.figures import num, table
from pipeline.report.render import fmt_number
from pipeline.report.text import TEXT, band_text, cluster_label, format_value, in_language, ind_name

COMPARATOR_WORDING: dict[str, Any] = {
    "title": ("Vergelijking met soortgelijke organisaties", "Comparison with similar organisations"),
    "intro_default": ("Uw vergelijkingsgroep: {reason}.", "Your comparator group: {reason}."),
    "intro_set": (
        "U hoort ook bij de {name}: een vergelijkingsset van {size} organisaties die de analisten hebben vastgesteld.",
        "You also belong to the {name}: a comparator set of {size} organisations defined by the analysts.",
    ),
    "set_word": ("set ‘{name}’", "set ‘{name}’"),
    "anonymous": (
        "Wie er in de groep zit, staat nergens in dit rapport; alleen de kenmerken waarop de groep is gevormd en "
        "statistieken over ten minste {k} organisaties.",
        "Who is in the group is not shown anywhere in this report; only the characteristics the group was formed on "
        "and statistics over at least {k} organisations.",
    ),
    "profile_title": ("Uw kenmerken naast die van de groep", "Your characteristics beside the group's"),
    "profile_numeric": ("{label}: u {own}, mediaan van de groep {median}", "{label}: you {own}, group median {median}"),
    "profile_category": (
        "{label}: {same} van de {size} hebben dezelfde taak als u ({cluster})",
        "{label}: {same} of the {size} have the same task as you ({cluster})",
    ),
    "no_group": (
        "Voor {year} is geen vergelijkingsgroep gevormd: er waren te weinig organisaties met vergelijkbare kenmerken.",
        "No comparator group was formed for {year}: there were too few organisations with comparable characteristics.",
    ),
    "table_default": (
        "Uw waarden naast uw vergelijkingsgroep {year}",
        "Your values beside your comparator group {year}",
    ),
    "table_set": ("Uw waarden naast de set ‘{name}’ {year}", "Your values beside the set ‘{name}’ {year}"),
    "indicator": ("Indicator", "Indicator"),
    "own": ("Uw waarde", "Your value"),
    "median": ("Mediaan groep", "Group median"),
    "band": ("P25–P75 groep", "Group P25–P75"),
    "quartile": ("Kwartiel in de groep", "Quartile in the group"),
    "significance": ("Verschil (enquête)", "Difference (survey)"),
    "hidden_few": ("niet gepubliceerd (< {k})", "not published (< {k})"),
    "hidden_diff": ("niet gepubliceerd (*)", "not published (*)"),
    "note_diff": (
        "(*) Niet gepubliceerd omdat deze groep voor die indicator te weinig verschilt van een andere groep "
        "waarmee u wordt vergeleken: het verschil tussen twee zulke statistieken zou de waarden van enkele "
        "organisaties verraden.",
        "(*) Not published because for that indicator this group differs too little from another group you are "
        "compared with: the difference between two such statistics would give a few organisations' values away.",
    ),
    "note_band": (
        "De band P25–P75 staat er alleen bij groepen met ten minste {k} waarden.",
        "The P25–P75 band is shown only for groups with at least {k} values.",
    ),
    "sig": {
        "better": ("significant beter", "significantly better"),
        "worse": ("significant slechter", "significantly worse"),
        "not_significant": ("geen significant verschil", "no significant difference"),
    },
}
WORDS: dict[str, dict[str, Any]] = {lang: in_language(COMPARATOR_WORDING, lang) for lang in ("nl", "en")}


def _two_digits(x: float | None, lang: str) -> str:
    """A context value at two significant digits (1.234 fte reads as 1.200): enough to recognise, not to trace."""
    if x is None or x != x:
        return "—"
    if x == 0:
        return "0"
    e = math.floor(math.log10(abs(x)))
    return fmt_number(round(x, 1 - e), max(0, 1 - e), lang)


def comparators_block(view: MemberView, lang: str) -> dict[str, Any] | None:
    """The comparator section of a member report, or None when the warehouse has no comparator groups."""
    w, t = WORDS[lang], TEXT[lang]
    sets = view.comparator_sets()
    if not view.comparators_computed:
        return None
    out: dict[str, Any] = {
        "title": w["title"],
        "profile_title": w["profile_title"],
        "paragraphs": [],
        "profile": [],
        "tables": [],
        "notes": [],
    }
    default = next((s for s in sets if s["kind"] == "default"), None)
    if default is None:
        out["paragraphs"].append(w["no_group"].format(year=view.year))
    else:
        out["paragraphs"].append(w["intro_default"].format(reason=default[f"reason_{lang}"]))
        for p in view.comparator_profile():
            label = p.get(f"label_{lang}") or p["variable"]
            if p["kind"] == "numeric":
                out["profile"].append(
                    w["profile_numeric"].format(
                        label=label,
                        own=_two_digits(p.get("own_value"), lang),
                        median=_two_digits(p.get("group_median"), lang),
                    )
                )
            elif p.get("same_category") is not None:
                out["profile"].append(
                    w["profile_category"].format(
                        label=label,
                        same=int(p["same_category"]),
                        size=int(p["group_size"]),
                        cluster=cluster_label(view.cluster, lang),
                    )
                )
    for s in sets:
        if s["kind"] == "analyst":
            out["paragraphs"].append(
                w["intro_set"].format(name=w["set_word"].format(name=s[f"name_{lang}"]), size=s["size"])
            )
    out["paragraphs"].append(w["anonymous"].format(k=MIN_MEMBERS))
    any_diff = False
    for s in sets:
        rows, csv_rows = [], []
        for ind in view.catalogue:
            code, dec = ind["code"], int(ind["decimals"])
            st = view.comparator_stat(code, s["kind"], s["code"])
            hidden = view.comparator_hidden(code, s["kind"], s["code"])
            own = view.own(code) or {}
            if st is None and hidden != "differencing":
                continue  # fewer than MIN_MEMBERS values (or no such set): nothing of the group to show
            if st is None:
                any_diff |= hidden == "differencing"
                text = w["hidden_diff"] if hidden == "differencing" else w["hidden_few"].format(k=MIN_MEMBERS)
                rows.append([ind_name(ind, lang), format_value(own.get("value"), ind, lang), text, text, "—", "—"])
                csv_rows.append([code, num(own.get("value"), dec), None, None, None, None, None, None])
                continue
            q = st.get("quartile")
            sig = st.get("significance_label")
            rows.append(
                [
                    ind_name(ind, lang),
                    format_value(own.get("value"), ind, lang),
                    format_value(st["median"], ind, lang),
                    band_text(st["p25"], st["p75"], ind, lang) if st.get("p25") is not None else "—",
                    t["quartile_text"][int(q)] if q is not None else "—",
                    w["sig"].get(sig, "—") if sig else "—",
                ]
            )
            csv_rows.append(
                [
                    code,
                    num(own.get("value"), dec),
                    num(st["median"], dec),
                    num(st.get("p25"), dec),
                    num(st.get("p75"), dec),
                    num(q),
                    sig or "",
                    hidden or "",
                ]
            )
        if not rows:
            continue
        caption = (
            w["table_default"].format(year=view.year)
            if s["kind"] == "default"
            else w["table_set"].format(name=s[f"name_{lang}"], year=view.year)
        )
        out["tables"].append(
            table(
                caption,
                [
                    (w["indicator"], False),
                    (w["own"], True),
                    (w["median"], True),
                    (w["band"], True),
                    (w["quartile"], False),
                    (w["significance"], False),
                ],
                rows,
                ["indicator", "value", "median", "p25", "p75", "quartile", "significance", "not_published"],
                csv_rows,
                f"{view.org_code}_comparators_{s['code']}",
                lang,
            )
        )
    if any_diff:
        out["notes"].append(w["note_diff"])
    out["notes"].append(w["note_band"].format(k=BAND_MIN_MEMBERS))
    return out
