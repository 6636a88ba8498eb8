"""The pilot pages: ``pilots.html`` / ``pilots.en.html`` and the CSV files beside them.

:func:`render_report` renders the restricted pilot-selection report (shortlist with evidence and partner
options, other and excluded candidates, follow-up of registered pilots) through the ``pilots.html`` template of
:mod:`pipeline.report.render`; :func:`shortlist_csv` (``pilots.csv``) and :func:`follow_up_csv`
(``pilots_follow_up.csv``) write the same results for analysts and charts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from pipeline.pilots.config import CRITERIA
from pipeline.pilots.values import (
    as_float,
    as_text,
    escape_cell,
    format_difference,
    format_value,
)
from pipeline.report.render import fmt_number, render

# -------------------------------------------------------------------------------------------- CSV
CSV_COLUMNS = [
    "rank",
    "year",
    "org_code",
    "org_name",
    "indicator_code",
    "indicator_name_nl",
    "theme",
    "partner_org_code",
    "score",
    "rationale",
    "rationale_en",
    "value",
    "reference_scope",
    "reference_median",
    "best_quartile_threshold",
    "gap_median_iqr",
    "bottom_years",
    "significance_label",
    "composite_bottom",
    "development_question_match",
    "dea_score",
    "partner_status",
    "first_choice_partner",
    *[f"c_{k}" for k in CRITERIA],
]


def shortlist_csv(shortlist: pd.DataFrame) -> str:
    """The shortlist as CSV: rationale columns included, text cells escaped against formula injection."""
    df = shortlist.rename(columns={"rationale_nl": "rationale"}).reindex(columns=CSV_COLUMNS)
    for col in df.columns:
        if df[col].dtype == object or str(df[col].dtype).startswith(("string", "str")):
            df[col] = df[col].map(lambda v: escape_cell(v) if isinstance(v, str) else v)
    for col in ("score", *[f"c_{k}" for k in CRITERIA], "gap_median_iqr", "dea_score"):
        df[col] = pd.to_numeric(df[col], errors="coerce").round(4)
    return df.to_csv(index=False, lineterminator="\n")


FOLLOW_UP_COLUMNS = [
    "org_code",
    "indicator_code",
    "partner_org_code",
    "start_year",
    "verdict",
    "estimate",
    "estimate_2x2",
    "se",
    "p_value",
    "p_min",
    "n_assignments",
    "ci_low",
    "ci_high",
    "n_control_units",
    "control_scope",
    "rel_year",
    "year",
    "es_estimate",
    "es_p_value",
    "es_placebo_low",
    "es_placebo_high",
    "es_reference",
]


def follow_up_csv(follow: Sequence[Mapping[str, Any]]) -> str:
    """The follow-ups as CSV, one row per pilot and year relative to the start (the event study; a pilot
    without an estimate gets one row with empty event-study columns), for charts and analysts."""
    rows = []
    for f in follow:
        head = {c: f.get(c) for c in FOLLOW_UP_COLUMNS[:15]}
        head["partner_org_code"] = escape_cell(as_text(head["partner_org_code"]))
        events = f.get("event_study") or [{}]
        for e in events:
            rows.append(
                {
                    **head,
                    "rel_year": e.get("rel_year"),
                    "year": e.get("year"),
                    "es_estimate": e.get("estimate"),
                    "es_p_value": e.get("p_value"),
                    "es_placebo_low": e.get("placebo_low"),
                    "es_placebo_high": e.get("placebo_high"),
                    "es_reference": e.get("reference"),
                }
            )
    df = pd.DataFrame(rows, columns=FOLLOW_UP_COLUMNS)
    for col in (
        "estimate",
        "estimate_2x2",
        "se",
        "p_value",
        "p_min",
        "ci_low",
        "ci_high",
        "es_estimate",
        "es_p_value",
        "es_placebo_low",
        "es_placebo_high",
    ):
        df[col] = pd.to_numeric(df[col], errors="coerce").round(6)
    return df.to_csv(index=False, lineterminator="\n")


# ----------------------------------------------------------------------------------------- report


def _yes(flag: Any, nl: bool) -> str:
    return ("ja" if nl else "yes") if bool(flag) else ("nee" if nl else "no")


def _evidence_rows(c: Mapping[str, Any], cfg: Mapping[str, Any], nl: bool) -> list[tuple[str, str]]:
    lang = "nl" if nl else "en"
    fv = lambda v: format_value(v, c["unit"], c["decimals"], lang)  # noqa: E731
    scope = "cluster" if c["reference_scope"] == "cluster" else ("alle leden" if nl else "all members")
    sig = {
        "worse": "slechter" if nl else "worse",
        "better": "beter" if nl else "better",
        "not_significant": "niet significant" if nl else "not significant",
    }.get(as_text(c["significance_label"]), "—")
    rows = [
        ("Waarde" if nl else "Value", fv(c["value"])),
        (f"Mediaan ({scope})" if nl else f"Median ({scope})", fv(c["reference_median"])),
        ("Grens beste kwartiel" if nl else "Best-quartile threshold", fv(c["best_quartile_threshold"])),
        (
            "Achterstand op mediaan, in IQR" if nl else "Gap to median, in IQRs",
            fmt_number(c["gap_median_iqr"], 2, lang),
        ),
        ("Jaren op rij laagste kwartiel" if nl else "Years in a row in bottom quartile", str(int(c["bottom_years"]))),
        ("Significantie" if nl else "Significance", sig),
        (
            "Totaalindex robuust laagste kwart" if nl else "Composite index robustly bottom quarter",
            (
                _yes(True, nl) + f" (rang ≥ {int(c['composite_rank_lo'])} / {int(c['composite_n_units'])})"
                if c["composite_bottom"]
                else _yes(False, nl)
            ),
        ),
        (
            "Ontwikkelvraag" if nl else "Development question",
            (as_text(c["development_question_theme"]) or "—") + (" ✓" if c["development_question_match"] else ""),
        ),
        ("DEA-efficiëntie (input)" if nl else "DEA efficiency (input)", _dea_text(c, nl)),
    ]
    crit = ", ".join(
        f"{_CRITERIA_LABELS[k][0 if nl else 1]} {fmt_number(c[f'c_{k}'], 2, lang)} "
        f"× {fmt_number(cfg['weights'][k], 2, lang)}"
        for k in CRITERIA
        if not math.isnan(as_float(c[f"c_{k}"]))
    )
    rows.append(("Criteria × gewicht" if nl else "Criteria × weight", crit))
    rows.append(("Score", fmt_number(c["score"], 3, lang)))
    return rows


def _dea_text(c: Mapping[str, Any], nl: bool) -> str:
    score = as_float(c["dea_score"])
    if math.isnan(score):
        return "—"
    text = fmt_number(score, 3, "nl" if nl else "en")
    if not c["efficiency_applies"]:
        text += " (telt niet mee voor dit thema)" if nl else " (not counted for this theme)"
    return text


_CRITERIA_LABELS = {
    "gap_median": ("achterstand mediaan", "gap to median"),
    "gap_best_quartile": ("achterstand beste kwartiel", "gap to best quartile"),
    "persistence": ("hardnekkigheid", "persistence"),
    "significance": ("significantie", "significance"),
    "development_question": ("ontwikkelvraag", "development question"),
    "efficiency": ("efficiëntie", "efficiency"),
}


def render_report(result: Mapping[str, Any], lang: str = "nl") -> str:
    """The restricted pilot-selection report as HTML."""
    nl = lang != "en"
    cfg = result["config"]
    year = result["year"]
    shortlist = result["shortlist"]
    candidates = result["candidates"]
    partners = result["partners"]
    fv = lambda v, row: format_value(v, row["unit"], row["decimals"], lang)  # noqa: E731
    fd = lambda v, row, signed=True: format_difference(v, row["unit"], row["decimals"], lang, signed)  # noqa: E731
    entries = []
    for s in shortlist.to_dict("records"):
        opts = (
            partners[(partners["org_code"] == s["org_code"]) & (partners["indicator_code"] == s["indicator_code"])]
            if not partners.empty
            else partners
        )
        entries.append(
            {
                "rank": s["rank"],
                "org": f"{s['org_label']} — {s['org_name']}",
                "org_label": s["org_label"],
                "indicator": s["indicator_name_nl"] if nl else s["indicator_name_en"],
                "theme": s["theme_nl"] if nl else s["theme_en"],
                "value": fv(s["value"], s),
                "median": fv(s["reference_median"], s),
                "bottom_years": int(s["bottom_years"]),
                "score": fmt_number(s["score"], 3, lang),
                "partner": as_text(s["partner_label"]) or "—",
                "partner_value": fv(s["partner_value"], s),
                "partner_status": s["partner_status"],
                "rationale": s["rationale_nl"] if nl else s["rationale_en"],
                "evidence": _evidence_rows(s, cfg, nl),
                "options": [
                    {
                        "label": o["partner_label"],
                        "score": fmt_number(o["partner_score"], 2, lang),
                        "value": fv(o["partner_value"], s),
                        "evidence": o["evidence_nl"] if nl else o["evidence_en"],
                        "chosen": o["partner_org_code"] == s["partner_org_code"],
                    }
                    for o in opts.head(5).to_dict("records")
                ],
            }
        )
    short_keys = set(zip(shortlist["org_code"], shortlist["indicator_code"])) if not shortlist.empty else set()
    others, excluded = [], []
    for c in candidates.to_dict("records"):
        row = {
            "org": c["org_label"],
            "indicator": c["indicator_name_nl"] if nl else c["indicator_name_en"],
            "value": fv(c["value"], c),
            "median": fv(c["reference_median"], c),
            "bottom_years": int(c["bottom_years"]),
            "score": fmt_number(c["score"], 3, lang),
        }
        if c["excluded"]:
            excluded.append({**row, "reason": c["exclusion_nl"] if nl else c["exclusion_en"]})
        elif (c["org_code"], c["indicator_code"]) not in short_keys:
            others.append(row)
    follow = []
    for f in result["follow_up"]:
        follow.append(
            {
                "org": f["org_label"],
                "indicator": f["indicator_name_nl"] if nl else f["indicator_name_en"],
                "partner": f["partner_label"] or "—",
                "start_year": f["start_year"],
                "note": f["note"],
                "estimate": fd(f["estimate"], f),
                "se": fd(f["se"], f, False),
                "p": "—" if math.isnan(as_float(f.get("p_value"))) else fmt_number(f["p_value"], 3, lang),
                "p_min": "—" if math.isnan(as_float(f.get("p_min"))) else fmt_number(f["p_min"], 3, lang),
                "ci": "—"
                if math.isnan(as_float(f["ci_low"]))
                else ("onbegrensd" if nl else "unbounded")
                if not math.isfinite(as_float(f["ci_low"])) or not math.isfinite(as_float(f["ci_high"]))
                else f"{fd(f['ci_low'], f)} {'tot' if nl else 'to'} {fd(f['ci_high'], f)}",
                "n_treated_years": f["n_treated_years"],
                "n_before": f["n_treated_before"],
                "n_after": f["n_treated_after"],
                "n_controls": f["n_control_units"],
                "scope": "cluster" if f["control_scope"] == "cluster" else ("alle leden" if nl else "all members"),
                "verdict": f["verdict"],
                "verdict_text": f["verdict_nl"] if nl else f["verdict_en"],
                "means": [fv(f[k], f) for k in ("treated_before", "treated_after", "control_before", "control_after")],
                "series": [
                    {
                        "year": p["year"],
                        "period": ("vóór" if p["period"] == "before" else "na") if nl else p["period"],
                        "treated": fv(p["treated"], f),
                        "control": fv(p["control_mean"], f),
                        "n": p["n_controls"],
                    }
                    for p in f["series"]
                ],
            }
        )
    weights = [(_CRITERIA_LABELS[k][0 if nl else 1], fmt_number(cfg["weights"][k], 2, lang)) for k in CRITERIA]
    title = f"Pilotselectie {year}" if nl else f"Pilot selection {year}"
    return render(
        "pilots.html",
        lang=lang,
        title=title,
        subtitle=(
            "Rijksbrede Benchmarkgroep — waar een pilot het meest oplevert en wie kan helpen"
            if nl
            else "Rijksbrede Benchmarkgroep — where a pilot pays off most and who can help"
        ),
        confidential="Vertrouwelijk — alleen voor het Dagelijks Bestuur en de programmaleiding"
        if nl
        else "Restricted — Executive Board and programme management only",
        year=year,
        entries=entries,
        others=others,
        excluded=excluded,
        follow=follow,
        weights=weights,
        cfg=cfg,
        n_candidates=int((~candidates["excluded"].astype(bool)).sum()) if not candidates.empty else 0,
        n_excluded=len(excluded),
        problems=result.get("register_problems", []),
    )
