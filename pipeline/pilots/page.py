"""The pilot pages: ``pilots.html`` / ``pilots.en.html`` and the CSV files beside them.

:func:`render_report` renders the restricted pilot-selection report (shortlist with evidence and partner
options, other and excluded candidates, follow-up of registered pilots) through the ``pilots.html`` template of
:mod:`pipeline.report.render`; :func:`shortlist_csv` (``pilots.csv``) and :func:`follow_up_csv`
(``pilots_follow_up.csv``) write the same results for analysts and charts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import pandas as pd
from markupsafe import Markup

from pipeline.pilots.config import CRITERIA
from pipeline.pilots.questions import QUARTILE_TEXT
from pipeline.pilots.register import STATUS_TEXT, parse_team
from pipeline.pilots.teams import ROLE_EN
from pipeline.pilots.values import (
    as_float,
    as_text,
    escape_cell,
    format_difference,
    format_value,
)
from pipeline.report.figures import pilot_follow_up, to_div
from pipeline.report.render import fmt_number, render
from pipeline.report.text import unit_label

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


TEAM_CSV_COLUMNS = [
    "year",
    "rank",
    "pilot_org_code",
    "indicator_code",
    "role",
    "place",
    "person_id",
    "name",
    "person_org_code",
    "score",
    "reason",
    "reason_en",
]


def teams_csv(teams: pd.DataFrame) -> str:
    """The proposed teams, one row per team place (an open place has no ``person_id`` and says why)."""
    df = teams.reindex(columns=TEAM_CSV_COLUMNS).copy()
    for col in ("name", "reason", "reason_en"):
        df[col] = df[col].map(lambda v: escape_cell(v) if isinstance(v, str) else v)
    df["score"] = pd.to_numeric(df["score"], errors="coerce").round(4)
    return df.to_csv(index=False, lineterminator="\n")


# ----------------------------------------------------------------------------------------- report


def _role(role: str, nl: bool) -> str:
    return role if nl else ROLE_EN.get(role, role)


def _team_rows(teams: pd.DataFrame, nl: bool) -> list[dict[str, Any]]:
    rows = []
    for t in teams.to_dict("records"):
        filled = isinstance(t.get("person_id"), str) and bool(t["person_id"])
        rows.append(
            {
                "role": _role(str(t["role"]), nl),
                "person": f"{t['name']} ({t['person_org_code']})" if filled else "—",
                "person_id": t["person_id"] if filled else "",
                "reason": t["reason"] if nl else t["reason_en"],
                "open": not filled,
            }
        )
    return rows


def _follow_chart(f: Mapping[str, Any] | None, lang: str, div_id: str) -> str:
    if not f or len(f.get("series") or []) < 2:
        return ""
    unit = unit_label({"unit": f["unit"]}, lang)
    fig = pilot_follow_up(f["series"], int(f["start_year"]), f["org_label"], int(f["decimals"]), unit, lang)
    return Markup(to_div(fig, div_id))


def _history_rows(history: pd.DataFrame, pid: str, nl: bool) -> list[dict[str, str]]:
    if history is None or history.empty:
        return []
    rows = []
    for h in history[history["pilot_id"] == pid].to_dict("records"):
        rows.append(
            {
                "on": h["on"],
                "by": h["by"] or "—",
                "step": " → ".join(
                    STATUS_TEXT.get(x, (x, x))[0 if nl else 1] for x in (h["from_status"], h["to_status"]) if x
                ),
                "note": h["note"],
            }
        )
    return rows


def _register_rows(result: Mapping[str, Any], nl: bool) -> list[dict[str, Any]]:
    register = result.get("register")
    if register is None or register.empty:
        return []
    people = result.get("people", {})
    cat = {}
    cand = result["candidates"]
    if not cand.empty:
        for c in cand.to_dict("records"):
            cat[c["indicator_code"]] = c["indicator_name_nl"] if nl else c["indicator_name_en"]
    follow = {f["pilot_id"]: f for f in result["follow_up"]}
    rows = []
    for rec in register.to_dict("records"):
        f = follow.get(rec["pilot_id"])
        team = [f"{people.get(pid, (pid, ''))[0]} ({_role(role, nl)})" for pid, role in parse_team(rec.get("team"))]
        rows.append(
            {
                "pilot_id": rec["pilot_id"],
                "href": f"pilots/{rec['pilot_id']}{'' if nl else '.en'}.html",
                "org": rec["org_code"],
                "indicator": (f["indicator_name_nl"] if nl else f["indicator_name_en"])
                if f
                else cat.get(rec["indicator_code"]) or _indicator_label(rec["indicator_code"], nl),
                "status": STATUS_TEXT[rec["status"]][0 if nl else 1],
                "round": rec["round_year"] or "—",
                "start": rec["start_year"] or "—",
                "team": ", ".join(team) or "—",
                "verdict": (f["verdict_nl"] if nl else f["verdict_en"]) if f else "—",
                "outcome": rec.get("outcome") or "",
            }
        )
    return rows


def render_pilot_page(
    result: Mapping[str, Any],
    rec: Mapping[str, Any],
    follow: Mapping[str, Any] | None,
    proposed: pd.DataFrame,
    lang: str = "nl",
) -> str:
    """One registered pilot for the board: the question, the evidence, the team, the follow-up and its history."""
    nl = lang != "en"
    year = result["year"]
    people = result.get("people", {})
    questions = {q["org_code"]: q for q in result.get("questions", [])}
    shortlist = result["shortlist"]
    hit = (
        shortlist[(shortlist["org_code"] == rec["org_code"]) & (shortlist["indicator_code"] == rec["indicator_code"])]
        if not shortlist.empty
        else shortlist
    )
    entry = hit.iloc[0].to_dict() if not hit.empty else None
    indicator = (
        (follow["indicator_name_nl"] if nl else follow["indicator_name_en"])
        if follow
        else (entry["indicator_name_nl"] if nl else entry["indicator_name_en"])
        if entry
        else _indicator_label(rec["indicator_code"], nl)
    )
    team = [
        {
            "person": f"{people.get(pid, (pid, '?'))[0]} ({people.get(pid, (pid, '?'))[1]})",
            "person_id": pid,
            "role": _role(role, nl),
        }
        for pid, role in parse_team(rec.get("team"))
    ]
    f_view = None
    if follow:
        fd = lambda v: format_difference(v, follow["unit"], follow["decimals"], lang)  # noqa: E731
        f_view = {
            "estimate": fd(follow["estimate"]),
            "verdict": follow["verdict_nl"] if nl else follow["verdict_en"],
            "n_controls": follow["n_control_units"],
            "scope": "cluster" if follow["control_scope"] == "cluster" else ("alle leden" if nl else "all members"),
            "chart": _follow_chart(follow, lang, f"follow-{rec['pilot_id']}"),
            "series": [
                {
                    "year": p["year"],
                    "treated": format_value(p["treated"], follow["unit"], follow["decimals"], lang),
                    "control": format_value(p["control_mean"], follow["unit"], follow["decimals"], lang),
                    "n": p["n_controls"],
                }
                for p in follow["series"]
            ],
        }
    title = f"Pilot {rec['org_code']}: {indicator}"
    return render(
        "pilot.html",
        lang=lang,
        title=title,
        subtitle=(
            f"Rijksbrede Benchmarkgroep — pilotdossier (stand {year})"
            if nl
            else f"Rijksbrede Benchmarkgroep — pilot file (as of {year})"
        ),
        confidential="Vertrouwelijk — alleen voor het Dagelijks Bestuur en de coördinatoren; bevat namen van personen"
        if nl
        else "Restricted — Executive Board and coordinators only; contains names of people",
        plotly={"inline": None, "src": "../assets/plotly.min.js"},
        rec=rec,
        status=STATUS_TEXT[rec["status"]][0 if nl else 1],
        indicator=indicator,
        question=rec.get("question") or questions.get(rec["org_code"]),
        question_year=rec.get("round_year") or year,
        rationale=(entry["rationale_nl"] if nl else entry["rationale_en"])
        if entry
        else (rec["round_rationale"]["nl" if nl else "en"] if rec.get("round_rationale") else ""),
        rationale_round=None if entry else rec.get("round_year"),
        evidence=_evidence_rows(entry, result["config"], nl) if entry else [],
        team=team,
        proposed=_team_rows(proposed, nl) if proposed is not None and not proposed.empty else [],
        follow=f_view,
        history=_history_rows(result.get("history"), rec["pilot_id"], nl),
        back="../pilots.html" if nl else "../pilots.en.html",
    )


def _indicator_label(code: str, nl: bool) -> str:
    """An indicator's name from the packaged catalogue (for a registered pilot that is in none of this round's
    tables), else its code."""
    names = _catalogue_names().get(code)
    return (names[0] if nl else names[1]) if names else code


def _theme_label(theme: str, nl: bool) -> str:
    names = _catalogue_names().get(f"theme:{theme}")
    return (names[0] if nl else names[1]) if names else theme


@lru_cache(maxsize=1)
def _catalogue_names() -> dict[str, tuple[str, str]]:
    from pipeline.metadata.models import load

    spec = load("indicators.yaml")
    out = {i["code"]: (i["name_nl"], i["name_en"]) for i in spec["indicators"]}
    out.update({f"theme:{k}": (v["nl"], v["en"]) for k, v in spec["themes"].items()})
    return out


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
                _yes(True, nl)
                + f" ({'rang' if nl else 'rank'} ≥ {int(c['composite_rank_lo'])} / {int(c['composite_n_units'])})"
                if c["composite_bottom"]
                else _yes(False, nl)
            ),
        ),
        (
            "Ontwikkelvraag" if nl else "Development question",
            (_theme_label(as_text(c["development_question_theme"]), nl) or "—")
            + (" ✓" if c["development_question_match"] else ""),
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
    teams = result.get("teams", pd.DataFrame())
    chosen = {}
    register = result.get("register")
    if register is not None and not register.empty:
        for rec in register.to_dict("records"):
            if rec.get("round_year") == year:
                chosen[(rec["org_code"], rec["indicator_code"])] = rec
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
                "team": _team_rows(
                    teams[(teams["pilot_org_code"] == s["org_code"]) & (teams["indicator_code"] == s["indicator_code"])]
                    if not teams.empty
                    else teams,
                    nl,
                ),
                "status": STATUS_TEXT[
                    chosen[(s["org_code"], s["indicator_code"])]["status"]
                    if (s["org_code"], s["indicator_code"]) in chosen
                    else "proposed"
                ][0 if nl else 1],
                "page": (
                    f"pilots/{chosen[(s['org_code'], s['indicator_code'])]['pilot_id']}{'' if nl else '.en'}.html"
                    if (s["org_code"], s["indicator_code"]) in chosen
                    else None
                ),
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
                "chart": _follow_chart(f, lang, f"follow-{len(follow) + 1}"),
                "page": f"pilots/{f['pilot_id']}{'' if nl else '.en'}.html" if f.get("pilot_id") else None,
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
        questions=[
            {
                "org": q["org_label"],
                "theme": q["theme_nl"] if nl else q["theme_en"],
                "text": q["text"],
                "summary": q["summary_nl"] if nl else q["summary_en"],
                "evidence": [
                    {
                        "name": e["name_nl"] if nl else e["name_en"],
                        "value": e["value_nl"] if nl else e["value_en"],
                        "median": e["median_nl"] if nl else e["median_en"],
                        "quartile": _quartile_text(e["quartile"], nl),
                        "shortlisted": e["shortlisted"],
                    }
                    for e in q["evidence"]
                ],
            }
            for q in result.get("questions", [])
        ],
        register=_register_rows(result, nl),
        pool=result.get("pool"),
        pool_findings=[
            f.message("nl" if nl else "en") for f in (result["pool"].findings if result.get("pool") else [])
        ],
        team_summary=result.get("team_summary"),
        plotly={"inline": None, "src": "assets/plotly.min.js"},
    )


def _quartile_text(q: Any, nl: bool) -> str:
    if q is None:
        return "—"
    return QUARTILE_TEXT[int(q)][0 if nl else 1]
