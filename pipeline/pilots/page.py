"""The pilot pages: ``pilots.html`` / ``pilots.en.html`` and the CSV files beside them.

Every table on the pages has a CSV download (inline) and an XLSX download (a file in ``downloads/<page>/``
beside the page, :func:`write_page`).

:func:`render_report` renders the restricted pilot-selection report (shortlist with evidence and partner
options, other and excluded candidates, follow-up of registered pilots) through the ``pilots.html`` template of
:mod:`pipeline.report.render`; :func:`shortlist_csv` (``pilots.csv``) and :func:`follow_up_csv`
(``pilots_follow_up.csv``) write the same results for analysts and charts.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from pipeline.core.workspace import atomic_write_bytes, atomic_write_text
from pipeline.pilots.config import CRITERIA
from pipeline.pilots.questions import QUARTILE_TEXT
from pipeline.pilots.register import STATUS_TEXT, parse_team
from pipeline.pilots.teams import ROLE_EN, TEAM_COLUMNS
from pipeline.pilots.values import (
    as_float,
    as_text,
    escape_cell,
    format_difference,
    format_value,
)
from pipeline.report.downloads import download_folder, externalise, table_downloads
from pipeline.report.figures import num, pilot_follow_up, to_div
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


TEAM_CSV_COLUMNS = TEAM_COLUMNS


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


# ------------------------------------------------------------------------------------- downloads
# Every table of the pilot pages has a CSV and an XLSX with the same rows (pipeline.report.downloads): numbers as
# numbers at the table's decimals, text neutralised against formulas. The pages are rendered with the files
# inline; the writer moves the XLSX files into a downloads/ folder beside the page.


def write_page(path: Path, html: str) -> list[Path]:
    """Write a pilot page with its XLSX downloads as files in ``downloads/<page>/`` beside it (replacing those of
    an earlier run); returns the download files written."""
    folder = download_folder(path.name)
    html, files = externalise(html, folder)
    shutil.rmtree(path.parent / folder, ignore_errors=True)
    atomic_write_text(path, html)
    for rel, content in sorted(files.items()):
        atomic_write_bytes(path.parent / rel, content)
    return [path.parent / rel for rel in sorted(files)]


def _n(value: Any, decimals: int | None = None) -> tuple[str, Any, int | None]:
    x = as_float(value)
    return num(x if math.isfinite(x) else None, None if decimals is None else int(decimals))


def _dl(header: list[str], rows: list[list[Any]], name: str, caption: str, lang: str) -> dict[str, str]:
    return table_downloads(header, rows, name, lang, caption)


def _labels(nl: bool, *pairs: tuple[str, str]) -> list[str]:
    return [a if nl else b for a, b in pairs]


def _team_dl(rows: list[dict[str, Any]], name: str, caption: str, nl: bool, lang: str, reason: bool = True):
    header = _labels(nl, ("Rol", "Role"), ("Persoon", "Person"), ("Id", "Id"))
    if reason:
        header.append("Waarom" if nl else "Why")
    return _dl(
        header,
        [[t["role"], t["person"], t["person_id"]] + ([t["reason"]] if reason else []) for t in rows],
        name,
        caption,
        lang,
    )


def _series_dl(f: Mapping[str, Any], org: str, name: str, nl: bool, lang: str, period: bool) -> dict[str, str]:
    header = ["Jaar" if nl else "Year"] + (["Periode" if nl else "Period"] if period else [])
    header += [org, "Gemiddelde vergelijkers" if nl else "Control mean", "n"]
    rows = []
    for p in f["series"]:
        when = [("vóór" if p["period"] == "before" else "na") if nl else p["period"]] if period else []
        rows.append(
            [_n(p["year"])]
            + when
            + [_n(p["treated"], f["decimals"]), _n(p["control_mean"], f["decimals"]), _n(p["n_controls"])]
        )
    return _dl(header, rows, name, "Waarden per jaar" if nl else "Values per year", lang)


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
    pid = rec["pilot_id"]
    evidence = _evidence_rows(entry, result["config"], nl) if entry else []
    proposed_rows = _team_rows(proposed, nl) if proposed is not None and not proposed.empty else []
    history = _history_rows(result.get("history"), pid, nl)
    summary = [
        ["Organisatie" if nl else "Organisation", rec["org_code"]],
        ["Indicator", indicator],
        ["Leerpartner" if nl else "Learning partner", rec.get("partner_org_code") or None],
        ["Stand" if nl else "Stage", STATUS_TEXT[rec["status"]][0 if nl else 1]],
        ["Gekozen in ronde" if nl else "Chosen in round", _n(rec.get("round_year"))],
        ["Start", _n(rec.get("start_year"))],
    ]
    for key, label in (
        ("outcome", ("Uitkomst", "Outcome")),
        ("lessons", ("Lessen", "Lessons")),
        ("note", ("Notitie", "Note")),
    ):
        if rec.get(key):
            summary.append([label[0 if nl else 1], rec[key]])
    item = ("Gegeven", "Item")
    downloads = {
        "summary": _dl(_labels(nl, item, ("Waarde", "Value")), summary, f"{pid}_stand", pid, lang),
        "evidence": _dl(
            _labels(nl, item, ("Waarde", "Value")),
            [list(r) for r in evidence],
            f"{pid}_cijfers",
            "Cijfers" if nl else "Figures",
            lang,
        ),
        "team": _team_dl(
            team, f"{pid}_team", "Team van de pilot" if nl else "The pilot's team", nl, lang, reason=False
        ),
        "proposed": _team_dl(
            proposed_rows,
            f"{pid}_voorgesteld_team",
            "Voorgesteld team (nog niet gestart)" if nl else "Proposed team (not started yet)",
            nl,
            lang,
        ),
        "series": _series_dl(follow, rec["org_code"], f"{pid}_waarden_per_jaar", nl, lang, period=False)
        if follow
        else None,
        "history": _dl(
            _labels(nl, ("Datum", "Date"), ("Stap", "Step"), ("Door", "By"), ("Notitie", "Note")),
            [[h["on"], h["step"], h["by"], h["note"]] for h in history],
            f"{pid}_geschiedenis",
            "Stappen in het register" if nl else "Steps in the register",
            lang,
        ),
    }
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
        evidence=evidence,
        team=team,
        proposed=proposed_rows,
        follow=f_view,
        history=history,
        downloads=downloads,
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
                "raw": s,
                "raw_options": opts.head(5).to_dict("records"),
            }
        )
    item, value = ("Gegeven", "Item"), ("Waarde", "Value")
    for e in entries:
        s, rank = e.pop("raw"), e["rank"]
        e["downloads"] = {
            "evidence": _dl(
                _labels(nl, item, value),
                [list(r) for r in e["evidence"]],
                f"pilot_{rank}_cijfers",
                "Cijfers" if nl else "Figures",
                lang,
            ),
            "options": _dl(
                _labels(nl, ("Partner", "Partner"), value, ("Eenheid", "Unit"), ("Partnerscore", "Partner score"))
                + _labels(nl, ("Bewijs", "Evidence"), ("Gekozen", "Chosen")),
                [
                    [o["partner_label"], _n(o["partner_value"], s["decimals"]), s["unit"], _n(o["partner_score"], 2)]
                    + [
                        o["evidence_nl"] if nl else o["evidence_en"],
                        _yes(o["partner_org_code"] == s["partner_org_code"], nl),
                    ]
                    for o in e.pop("raw_options")
                ],
                f"pilot_{rank}_partners",
                "Mogelijke partners (beste vijf)" if nl else "Possible partners (best five)",
                lang,
            ),
            "team": _team_dl(e["team"], f"pilot_{rank}_team", "Voorgesteld team" if nl else "Proposed team", nl, lang),
        }
    short_rows = [
        [_n(s["rank"]), s["org_label"], s["indicator_name_nl"] if nl else s["indicator_name_en"]]
        + [_n(s["value"], s["decimals"]), _n(s["reference_median"], s["decimals"]), s["unit"], _n(s["bottom_years"])]
        + [_n(s["score"], 3), as_text(s["partner_label"]) or None, s["partner_status"], e["status"], e["rationale"]]
        for s, e in zip(shortlist.to_dict("records"), entries, strict=True)
    ]
    candidate_header = _labels(nl, ("Organisatie", "Organisation"), ("Indicator", "Indicator"), value)
    candidate_header += _labels(
        nl, ("Mediaan", "Median"), ("Eenheid", "Unit"), ("Jaren laagste kwartiel", "Years bottom quartile")
    )
    short_keys = set(zip(shortlist["org_code"], shortlist["indicator_code"])) if not shortlist.empty else set()
    others, excluded, other_rows, excluded_rows = [], [], [], []
    for c in candidates.to_dict("records"):
        row = {
            "org": c["org_label"],
            "indicator": c["indicator_name_nl"] if nl else c["indicator_name_en"],
            "value": fv(c["value"], c),
            "median": fv(c["reference_median"], c),
            "bottom_years": int(c["bottom_years"]),
            "score": fmt_number(c["score"], 3, lang),
        }
        raw = [
            c["org_label"],
            row["indicator"],
            _n(c["value"], c["decimals"]),
            _n(c["reference_median"], c["decimals"]),
        ]
        raw += [c["unit"], _n(c["bottom_years"])]
        if c["excluded"]:
            excluded.append({**row, "reason": c["exclusion_nl"] if nl else c["exclusion_en"]})
            excluded_rows.append(raw + [excluded[-1]["reason"]])
        elif (c["org_code"], c["indicator_code"]) not in short_keys:
            others.append(row)
            other_rows.append(raw + [_n(c["score"], 3)])
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
                "downloads": _series_dl(
                    f, f["org_label"], f"follow_{len(follow) + 1}_waarden_per_jaar", nl, lang, True
                ),
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
    questions = [
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
    ]
    for i, q in enumerate(questions, start=1):
        q["downloads"] = _dl(
            _labels(nl, ("Indicator", "Indicator"), value, ("Mediaan", "Median"), ("Positie", "Position"))
            + _labels(
                nl,
                ("Op de shortlist", "On the shortlist"),
            ),
            [[e["name"], e["value"], e["median"], e["quartile"], _yes(e["shortlisted"], nl)] for e in q["evidence"]],
            f"ontwikkelvraag_{i}" if nl else f"development_question_{i}",
            "Indicatoren op dit thema" if nl else "Indicators on this theme",
            lang,
        )
    register_rows = _register_rows(result, nl)
    follow_rows = [
        [
            f["org"],
            f["indicator"],
            f["partner"],
            _n(f["start_year"]),
            _n(r["estimate"], r["decimals"]),
            _n(r.get("p_value"), 3),
        ]
        + [
            _n(r.get("p_min"), 3),
            _n(r["ci_low"], r["decimals"]),
            _n(r["ci_high"], r["decimals"]),
            _n(f["n_treated_years"]),
        ]
        + [_n(f["n_before"]), _n(f["n_after"]), _n(f["n_controls"]), f["scope"], f["verdict_text"]]
        for f, r in zip(follow, result["follow_up"], strict=True)
    ]
    downloads = {
        "shortlist": _dl(
            ["#"]
            + _labels(nl, ("Organisatie", "Organisation"), ("Indicator", "Indicator"), value, ("Mediaan", "Median"))
            + _labels(nl, ("Eenheid", "Unit"), ("Jaren laagste kwartiel", "Years bottom quartile"), ("Score", "Score"))
            + _labels(
                nl, ("Partner", "Partner"), ("Soort partner", "Partner kind"), ("Stand", "Stage"), ("Waarom", "Why")
            ),
            short_rows,
            f"shortlist_{year}",
            "Voorgestelde pilots, hoogste score eerst" if nl else "Proposed pilots, highest score first",
            lang,
        ),
        "others": _dl(
            candidate_header + ["Score"],
            other_rows,
            f"overige_kandidaten_{year}" if nl else f"other_candidates_{year}",
            "Overige kandidaten die niet op de shortlist staan" if nl else "Other candidates not on the shortlist",
            lang,
        ),
        "excluded": _dl(
            candidate_header + ["Reden" if nl else "Reason"],
            excluded_rows,
            f"uitgesloten_{year}" if nl else f"excluded_{year}",
            "Kandidaten die aan de criteria voldoen, maar niet meedoen"
            if nl
            else "Candidates that meet the criteria but are left out",
            lang,
        ),
        "register": _dl(
            ["Pilot"]
            + _labels(
                nl, ("Organisatie", "Organisation"), ("Indicator", "Indicator"), ("Stand", "Stage"), ("Ronde", "Round")
            )
            + _labels(nl, ("Start", "Start"), ("Team", "Team"), ("Gemeten", "Measured"), ("Uitkomst", "Outcome")),
            [
                [r["pilot_id"], r["org"], r["indicator"], r["status"], _n(r["round"]), _n(r["start"]), r["team"]]
                + [r["verdict"], r["outcome"]]
                for r in register_rows
            ],
            "pilotregister" if nl else "pilot_register",
            "Pilotregister" if nl else "Pilot register",
            lang,
        ),
        "follow": _dl(
            _labels(
                nl,
                ("Organisatie", "Organisation"),
                ("Indicator", "Indicator"),
                ("Partner", "Partner"),
                ("Start", "Start"),
            )
            + _labels(
                nl,
                ("Effect", "Effect"),
                ("p (permutatie)", "p (permutation)"),
                ("Kleinst mogelijke p", "Smallest possible p"),
            )
            + _labels(
                nl, ("BI onder", "CI low"), ("BI boven", "CI high"), ("Pilotjaren", "Treated years"), ("Vóór", "Before")
            )
            + _labels(
                nl,
                ("Na", "After"),
                ("Vergelijkers", "Controls"),
                ("Vergeleken met", "Compared with"),
                ("Oordeel", "Verdict"),
            ),
            follow_rows,
            f"geregistreerde_pilots_{year}" if nl else f"registered_pilots_{year}",
            "Geregistreerde pilots" if nl else "Registered pilots",
            lang,
        ),
        "weights": _dl(
            _labels(nl, ("Criterium", "Criterion"), ("Gewicht", "Weight")),
            [[_CRITERIA_LABELS[k][0 if nl else 1], _n(cfg["weights"][k], 2)] for k in CRITERIA],
            "gewichten" if nl else "weights",
            "Gewichten van de criteria" if nl else "Criteria weights",
            lang,
        ),
    }
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
        questions=questions,
        downloads=downloads,
        register=register_rows,
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
