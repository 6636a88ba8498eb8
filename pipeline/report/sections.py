"""The sections of the reports: the context each template section renders, from a ReportData or a MemberView.

Overview (analysts, names every member): the key figures, one block per indicator grouped by theme,
completeness, the quartile heatmap, the clusters, the composite index and DEA tables, the review of the composite
index and the methodology. Organisation report (confidential): the key figures, the theme profile, strengths and
points for attention, the composite position and DEA score, one block per indicator, the member's own
explanations and the provenance; for a member without an accepted submission this year first its status and
what to do (:func:`standing`) and its own earlier years (:func:`earlier_years`). Every block carries its data
tables and CSV downloads (:func:`pipeline.report.figures.table`).

The organisation sections read the warehouse only through a :class:`pipeline.report.disclosure.MemberView`: the
member's own rows exactly, other members only as the disclosure rules allow (docs/confidentiality.md), and every
figure passes :func:`pipeline.report.disclosure.seal` before it goes into a block.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.core.settings import Deadlines
from pipeline.metadata.lineage import join_names
from pipeline.metadata.registry import CLUSTER_LABELS, registry
from pipeline.report import disclosure, figures
from pipeline.report.data import CLUSTER_MIN_MEMBERS, SURVEY_RULES, ReportData
from pipeline.report.disclosure import BAND_MIN_MEMBERS, MIN_MEMBERS, MemberView
from pipeline.report.feedback import feedback_path
from pipeline.report.figures import block, num, slug, table
from pipeline.report.render import fmt_number
from pipeline.report.text import (
    REVIEW_TEXT,
    TEXT,
    band_text,
    ci_text,
    cluster_label,
    date_text,
    day_text,
    errors_text,
    flags_text,
    format_value,
    formula,
    ind_meta,
    ind_name,
    ind_text,
    org_label,
    position_text,
    rows_text,
    unit_label,
    years_text,
)

# --------------------------------------------------------------------------------- overview (analysts)


def _source(data: ReportData, lang: str) -> str:
    return TEXT[lang]["source_text"].format(years=years_text(data.years))


def _ranked_points(data: ReportData, ind: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for org_code in sorted(data.orgs):
        v = data.values.get((org_code, data.year, ind["code"]))
        if not v or v["value"] is None:
            continue
        org = data.orgs[org_code]
        rows.append(
            {
                "org_code": org_code,
                "label": org_label(org),
                "name": org["name"],
                "value": v["value"],
                "ci_low": v.get("ci_low"),
                "ci_high": v.get("ci_high"),
                "cluster": org.get("cluster"),
                "flags": v.get("flags"),
                "comp": data.comparisons.get((org_code, data.year, ind["code"])),
            }
        )
    best_high = ind.get("direction") != "lower"
    return sorted(rows, key=lambda r: (-r["value"] if best_high else r["value"], r["org_code"]))


def _trend_rows(data: ReportData, code: str, scope: str = "all") -> list[dict[str, Any]]:
    out = []
    for y in data.years:
        s = data.stat(y, code, scope)
        out.append(
            {
                "year": y,
                "median": s["median"] if s else None,
                "p25": s["p25"] if s else None,
                "p75": s["p75"] if s else None,
                "n": s["n"] if s else None,
            }
        )
    return out


def overview_indicator(data: ReportData, ind: dict[str, Any], lang: str) -> dict[str, Any]:
    """One indicator in the overview: every member by name, the trend, values and trend tables."""
    t = TEXT[lang]
    code, dec = ind["code"], ind["decimals"]
    points = _ranked_points(data, ind)
    clusters = [(c, cluster_label(c, lang)) for c in CLUSTER_LABELS[lang]]
    fig = figures.indicator_overview(
        points, data.stat(data.year, code), _trend_rows(data, code), clusters, dec, unit_label(ind, lang), lang
    )
    value_rows, value_csv = [], []
    for p in points:
        comp = p["comp"] or {}
        q = comp.get("quartile")
        value_rows.append(
            [
                p["name"],
                cluster_label(p["cluster"], lang),
                format_value(p["value"], ind, lang),
                ci_text(p, ind, lang),
                "—" if comp.get("rank") is None else f"{int(comp['rank'])} {t['of']} {int(comp['n_orgs'])}",
                "—" if q is None else str(int(q)),
                flags_text(p["flags"], lang),
            ]
        )
        value_csv.append(
            [
                p["org_code"],
                p["name"],
                p["cluster"] or "",
                num(p["value"], dec),
                num(p["ci_low"], dec),
                num(p["ci_high"], dec),
                num(comp.get("rank")),
                num(comp.get("quartile")),
                p["flags"] or "",
            ]
        )
    trend_rows, trend_csv = [], []
    for y in data.years:
        s = data.stat(y, code)
        if not s:
            continue
        trend_rows.append(
            [
                str(y),
                str(int(s["n"])),
                *(format_value(s[k], ind, lang) for k in ("mean", "median", "p25", "p75", "min", "max")),
            ]
        )
        trend_csv.append(
            [num(y), num(s["n"]), *(num(s[k], dec) for k in ("mean", "median", "p25", "p75", "min", "max"))]
        )
    name = ind_name(ind, lang)
    tables = [
        table(
            t["values_table"].format(year=data.year),
            [
                (t["organisation"], False),
                (t["cluster"], False),
                (t["value"], True),
                (t["ci"], True),
                (t["position"], True),
                (t["quartile"], True),
                (t["flags"], False),
            ],
            value_rows,
            ["org_code", "organisation", "cluster", "value", "ci_low", "ci_high", "rank", "quartile", "flags"],
            value_csv,
            f"{code}_{data.year}_values",
            lang,
        ),
        table(
            t["trend_table"].format(first=data.years[0], last=data.years[-1]),
            [
                (t["year"], False),
                (t["n"], True),
                (t["mean"], True),
                (t["median"], True),
                ("p25", True),
                ("p75", True),
                (t["min"], True),
                (t["max"], True),
            ],
            trend_rows,
            ["year", "n", "mean", "median", "p25", "p75", "min", "max"],
            trend_csv,
            f"{code}_trend",
            lang,
        ),
    ]
    return block(
        f"fig-ind-{slug(code)}",
        name,
        fig,
        t["overview_ind_summary"].format(n=len(points), year=data.year),
        tables,
        meta=ind_meta(ind, lang, years_text(data.years)),
        attrs={"indicator": code},
    )


def completeness_block(data: ReportData, reports: Path, lang: str) -> dict[str, Any]:
    """Submission status and the share of catalogue indicators with a value, per organisation."""
    t = TEXT[lang]
    n_ind = len(data.catalogue)
    status = data.status
    in_force = {s["org_code"]: s for s in data.submissions if s["in_force"]}
    latest = {s["org_code"]: s for s in data.submissions}
    members = set(data.members)
    labels, names, pct, states, rows, csv_rows = [], [], [], [], [], []
    for st in status:
        code = st["org_code"]
        org = data.orgs[code]
        n_val = sum(
            1
            for ind in data.catalogue
            if (data.values.get((code, data.year, ind["code"])) or {}).get("value") is not None
        )
        share = 100.0 * n_val / n_ind if n_ind else 0.0
        sub = in_force.get(code) or latest.get(code)
        labels.append(org_label(org))
        names.append(org["name"])
        pct.append(share)
        states.append(st["state"])
        feedback: Any = "—"
        if sub is not None:
            path = feedback_path(reports, data.year, code, int(sub["version"]), lang)
            feedback = {
                "text": f"{t['feedback']} v{int(sub['version'])}",
                "href": path.relative_to(reports / str(data.year)).as_posix(),
            }
        warn = (
            "—"
            if sub is None
            else (f"{int(sub['n_warnings'] or 0)} ({int(sub['n_warnings_explained'] or 0)} {t['explained']})")
        )
        rows.append(
            [
                code,
                org["name"],
                cluster_label(org.get("cluster"), lang),
                t["states"][st["state"]],
                t["review_states"][st.get("review_state") or "missing"],
                "—" if st["version_in_force"] is None else f"v{int(st['version_in_force'])}",
                "—" if st["errors"] is None else str(int(st["errors"])),
                warn,
                f"{n_val} / {n_ind}",
                fmt_number(share, 0, lang),
                feedback,
                _report_kind(code, in_force, members, lang),
            ]
        )
        csv_rows.append(
            [
                code,
                org["name"],
                org.get("cluster") or "",
                st["state"],
                st.get("review_state") or "",
                num(st["version_in_force"]),
                num(st["errors"]),
                num(None if sub is None else sub["n_warnings"]),
                num(None if sub is None else sub["n_warnings_explained"]),
                num(n_val),
                num(share, 1),
                _report_kind(code, in_force, members, None),
            ]
        )
    fig = figures.completeness(labels, names, pct, states, lang)
    status_table = table(
        t["completeness_table"],
        [
            (t["code"], False),
            (t["organisation"], False),
            (t["cluster"], False),
            (t["status"], False),
            (t["review"], False),
            (t["version"], False),
            (t["errors"], True),
            (t["warnings"], True),
            (t["with_value"], True),
            ("%", True),
            (t["feedback"], False),
            (t["report"], False),
        ],
        rows,
        [
            "org_code",
            "organisation",
            "cluster",
            "state",
            "review_state",
            "version_in_force",
            "errors",
            "warnings",
            "warnings_explained",
            "indicators_with_value",
            "pct",
            "report",
        ],
        csv_rows,
        f"completeness_{data.year}",
        lang,
    )
    return block(
        "fig-completeness",
        t["completeness"],
        fig,
        t["completeness_summary"].format(n=n_ind),
        [status_table],
        meta=[(t["definition"], t["meta_completeness"])],
    )


def _report_kind(code: str, in_force: dict[str, Any], members: set[str], lang: str | None) -> str:
    """Which organisation report a member gets: a full one, or one without its own data (no accepted
    submission this year); none for an organisation that is not a member. ``lang`` None gives the CSV code."""
    if code not in members:
        return "" if lang is None else "—"
    full = code in in_force
    if lang is None:
        return "full" if full else "without_own_data"
    return TEXT[lang]["report_full" if full else "report_no_data"]


def heatmap_block(data: ReportData, lang: str) -> dict[str, Any]:
    """Quartile per organisation and ranked indicator."""
    t = TEXT[lang]
    ranked = [ind for ind in data.catalogue if ind.get("direction") != "context"]
    orgs = [data.orgs[c] for c in sorted(data.reporting_orgs, key=lambda c: (data.orgs[c].get("cluster") or "", c))]
    z, vals, rows, csv_rows = [], [], [], []
    for org in orgs:
        zr, vr, row, crow = [], [], [org["name"]], [org["org_code"], org["name"]]
        for ind in ranked:
            comp = data.comparisons.get((org["org_code"], data.year, ind["code"])) or {}
            q = comp.get("quartile")
            zr.append(None if q is None else int(q))
            vr.append(format_value(comp.get("value"), ind, lang, with_unit=True))
            row.append("—" if q is None else str(int(q)))
            crow.append(num(None if q is None else int(q)))
        z.append(zr)
        vals.append(vr)
        rows.append(row)
        csv_rows.append(crow)
    fig = figures.quartile_heatmap(
        [org_label(o) for o in orgs],
        [o["name"] for o in orgs],
        [ind_name(ind, lang) for ind in ranked],
        [ind_name(ind, lang) for ind in ranked],
        z,
        vals,
        lang,
    )
    quartile_table = table(
        t["heatmap_table"],
        [(t["organisation"], False)] + [(ind_name(ind, lang), True) for ind in ranked],
        rows,
        ["org_code", "organisation"] + [ind["code"] for ind in ranked],
        csv_rows,
        f"quartiles_{data.year}",
        lang,
    )
    return block(
        "fig-heatmap",
        t["heatmap"],
        fig,
        t["heatmap_summary"].format(year=data.year),
        [quartile_table],
        meta=[(t["definition"], t["meta_heatmap"]), (t["source"], _source(data, lang))],
    )


def clusters_block(data: ReportData, lang: str) -> dict[str, Any]:
    """Published cluster medians relative to the median of all members, per indicator."""
    t = TEXT[lang]
    clusters = list(CLUSTER_LABELS[lang])
    series: dict[str, list[float | None]] = {c: [] for c in clusters}
    rows, csv_rows = [], []
    for ind in data.catalogue:
        overall = data.stat(data.year, ind["code"])
        row = [ind_name(ind, lang)]
        for c in clusters:
            s = data.stat(data.year, ind["code"], c)
            raw = data.stats.get((data.year, ind["code"], c))
            if s:
                rel = 100.0 * s["median"] / overall["median"] if overall and overall["median"] else None
                series[c].append(rel)
                row.append(
                    f"{format_value(s['median'], ind, lang)} ({band_text(s['p25'], s['p75'], ind, lang)}; "
                    f"n = {int(s['n'])})"
                )
                csv_rows.append(
                    [
                        ind["code"],
                        c,
                        num(s["n"]),
                        num(s["median"], ind["decimals"]),
                        num(s["p25"], ind["decimals"]),
                        num(s["p75"], ind["decimals"]),
                        "true",
                    ]
                )
            else:
                series[c].append(None)
                n = "" if not raw or raw.get("n") is None else f" (n = {int(raw['n'])})"
                row.append(t["not_published"].format(k=CLUSTER_MIN_MEMBERS) + n)
                csv_rows.append(
                    [ind["code"], c, num(None if not raw else raw.get("n")), num(None), num(None), num(None), "false"]
                )
        rows.append(row)
    fig = figures.cluster_medians(
        [ind_name(ind, lang) for ind in data.catalogue], [(cluster_label(c, lang), series[c]) for c in clusters], lang
    )
    cluster_table = table(
        t["clusters_table"].format(year=data.year),
        [(t["indicator"], False)] + [(cluster_label(c, lang), True) for c in clusters],
        rows,
        ["indicator", "cluster", "n", "median", "p25", "p75", "published"],
        csv_rows,
        f"clusters_{data.year}",
        lang,
    )
    return block(
        "fig-clusters",
        t["clusters"],
        fig,
        t["clusters_summary"].format(k=CLUSTER_MIN_MEMBERS),
        [cluster_table],
        meta=[
            (t["definition"], t["meta_clusters"]),
            (t["caveat"], t["meta_clusters_caveat"]),
            (t["source"], _source(data, lang)),
        ],
    )


def composite_overview(data: ReportData, lang: str) -> dict[str, Any] | None:
    """The composite index table of the overview (score, position, rank interval); None if not computed."""
    t = TEXT[lang]
    if not data.uncertainty and not data.composite:
        return None
    index = {r["org_code"]: r for r in data.composite if r["node"] == "index"}
    unc = {r["org_code"]: r for r in data.uncertainty}
    codes = sorted(set(index) | set(unc), key=lambda c: ((index.get(c) or {}).get("rank") or 10**6, c))
    rows, csv_rows = [], []
    for c in codes:
        i, u = index.get(c) or {}, unc.get(c) or {}
        rows.append(
            [
                data.orgs.get(c, {}).get("name", c),
                fmt_number(i.get("score"), 1, lang),
                "—" if i.get("rank") is None else str(int(i["rank"])),
                "—"
                if u.get("rank_lo") is None
                else f"{fmt_number(u['rank_lo'], 0, lang)} – {fmt_number(u['rank_hi'], 0, lang)}",
            ]
        )
        csv_rows.append(
            [
                c,
                num(i.get("score"), 3),
                num(i.get("rank")),
                num(u.get("median_rank"), 1),
                num(u.get("rank_lo"), 1),
                num(u.get("rank_hi"), 1),
            ]
        )
    return table(
        t["composite_table"].format(year=data.year),
        [(t["organisation"], False), (t["score"], True), (t["rank"], True), (t["rank_interval"], True)],
        rows,
        ["org_code", "score", "rank", "median_rank", "rank_lo", "rank_hi"],
        csv_rows,
        f"composite_{data.year}",
        lang,
    )


OVERVIEW_CHARTS = {
    "nl": {
        "composite_caption": (
            "Positie van elk lid op de samengestelde index met het rangorde-interval (5e–95e percentiel van de "
            "posities bij andere gewichten, normalisaties en aggregaties); de beste bovenaan."
        ),
        "dea_title": "Efficiëntie (DEA) per model en cluster",
        "dea_caption": (
            "Efficiëntiescore per lid en model, ruw en na biascorrectie met het 95%-interval; alleen modellen en "
            "clusters met genoeg leden voor hun aantal grootheden. Ruwe scores van 1,00 zijn bij weinig leden "
            "gewoon; het interval zegt hoe zeker de score is."
        ),
    },
    "en": {
        "composite_caption": (
            "Each member's position on the composite index with its rank interval (5th–95th percentile of the "
            "positions under other weights, normalisations and aggregations); the best at the top."
        ),
        "dea_title": "Efficiency (DEA) per model and cluster",
        "dea_caption": (
            "Efficiency score per member and model, raw and bias-corrected with the 95% interval; only models and "
            "clusters with enough members for their number of quantities. Raw scores of 1.00 are common with few "
            "members; the interval says how certain the score is."
        ),
    },
}


def composite_chart(data: ReportData, lang: str, composite_table: dict[str, Any] | None) -> dict[str, Any] | None:
    """The composite index of the overview as a chart (positions with rank intervals) with its table."""
    if composite_table is None or not data.uncertainty:
        return None
    t = TEXT[lang]
    unc = sorted(
        (r for r in data.uncertainty if r.get("nominal_rank") is not None),
        key=lambda r: (r["nominal_rank"], r["org_code"]),
    )
    if not unc:
        return None
    n = max(int(r.get("n_units") or len(unc)) for r in unc)
    fig = figures.composite_ranks(
        [org_label(data.orgs.get(r["org_code"], {"org_code": r["org_code"]})) for r in unc],
        [int(r["nominal_rank"]) for r in unc],
        [r.get("rank_lo") for r in unc],
        [r.get("rank_hi") for r in unc],
        n,
        lang,
    )
    return block(
        "fig-composite",
        t["composite_table"].format(year=data.year),
        fig,
        OVERVIEW_CHARTS[lang]["composite_caption"],
        [composite_table],
        meta=[(t["definition"], t["meta_composite"]), (t["source"], _source(data, lang))],
    )


def dea_chart(data: ReportData, lang: str, dea_table: dict[str, Any] | None) -> dict[str, Any] | None:
    """The published DEA scores of the overview as a chart with their intervals, with the full table."""
    if dea_table is None:
        return None
    t = TEXT[lang]
    rows = [r for r in data.dea if r.get("score") is not None and r.get("status") != "not_published"]
    if not rows:
        return block("fig-dea", OVERVIEW_CHARTS[lang]["dea_title"], None, t["no_dea"], [dea_table])
    rows.sort(
        key=lambda r: (r.get("model") or "", r.get("cluster") or "", -(r.get("score_bc") or r["score"]), r["org_code"])
    )
    chart_rows = [
        {
            "label": f"{org_label(data.orgs.get(r['org_code'], {'org_code': r['org_code']}))} · {r.get('model')}",
            "score": r["score"],
            "score_bc": r.get("score_bc"),
            "ci_low": r.get("ci_low"),
            "ci_high": r.get("ci_high"),
        }
        for r in rows
    ]
    fig = figures.dea_scores(chart_rows, lang, own=False)
    return block(
        "fig-dea",
        OVERVIEW_CHARTS[lang]["dea_title"],
        fig,
        OVERVIEW_CHARTS[lang]["dea_caption"],
        [dea_table],
        meta=[(t["source"], _source(data, lang))],
    )


def composite_review(data: ReportData, lang: str) -> dict[str, Any] | None:
    """For the analysts: what drives each member's position in the index, which indicators overlap or
    contradict each other, how consistent each theme is, and every imputed or treated value."""
    if not data.sensitivity:
        return None
    r = REVIEW_TEXT[lang]
    t = TEXT[lang]
    factors = [
        f
        for f in ("weights", "normalisation", "aggregation", "imputation", "indicator_error")
        if any(x["factor"] == f for x in data.sensitivity)
    ]
    index = {x["org_code"]: x for x in data.composite if x["node"] == "index"}
    unc = {x["org_code"]: x for x in data.uncertainty}
    by_org: dict[str, dict[str, dict[str, Any]]] = {}
    for x in data.sensitivity:
        by_org.setdefault(x["org_code"], {})[x["factor"]] = x
    orgs = sorted(by_org, key=lambda c: ((index.get(c) or {}).get("rank") or 10**6, c))
    z, rows, csv_rows = [], [], []
    for c in orgs:
        tot = [by_org[c].get(f, {}).get("total") for f in factors]
        z.append([None if v is None else min(1.0, max(0.0, float(v))) for v in tot])
        ok = [(v, f) for v, f in zip(tot, factors) if v is not None]
        main = max(ok)[1] if ok else None
        u = unc.get(c) or {}
        rows.append(
            [
                data.orgs.get(c, {}).get("name", c),
                "—" if (index.get(c) or {}).get("rank") is None else str(int(index[c]["rank"])),
                "—"
                if u.get("rank_lo") is None
                else f"{fmt_number(u['rank_lo'], 0, lang)} – {fmt_number(u['rank_hi'], 0, lang)}",
                r["factors"][main] if main else "—",
            ]
            + ["—" if v is None else fmt_number(v, 2, lang) for v in tot]
        )
        csv_rows.append(
            [c, num((index.get(c) or {}).get("rank")), num(u.get("rank_lo"), 1), num(u.get("rank_hi"), 1), main or ""]
            + [num(v, 3) for v in tot]
        )
    n_base = int(data.sensitivity[0].get("n_base") or 128)
    fig = figures.share_heatmap(
        [org_label(data.orgs.get(c, {"org_code": c})) for c in orgs],
        [data.orgs.get(c, {}).get("name", c) for c in orgs],
        [r["factors"][f] for f in factors],
        z,
        r["colorbar"],
        lang,
    )
    sens_table = table(
        r["sens_table"].format(year=data.year),
        [(t["organisation"], False), (t["rank"], True), (r["rank_interval"], True), (r["main"], False)]
        + [(r["factors"][f], True) for f in factors],
        rows,
        ["org_code", "rank", "rank_lo", "rank_hi", "main_factor"] + [f"total_{f}" for f in factors],
        csv_rows,
        f"composite_sensitivity_{data.year}",
        lang,
    )
    names = {ind["code"]: ind_name(ind, lang) for ind in data.catalogue}
    flagged = [x for x in data.correlations if x.get("redundant") or x.get("contradicting")]
    corr_rows = [
        [
            f"{names.get(x['indicator_a'], x['indicator_a'])} — {names.get(x['indicator_b'], x['indicator_b'])}",
            r["contradicting"] if x.get("contradicting") else r["redundant"],
            fmt_number(x["pearson"], 2, lang),
            fmt_number(x["spearman"], 2, lang),
            str(int(x["n"])),
        ]
        for x in flagged
    ]
    corr_csv = [
        [
            x["indicator_a"],
            x["indicator_b"],
            "contradicting" if x.get("contradicting") else "redundant",
            num(x["pearson"], 3),
            num(x["spearman"], 3),
            num(x["n"]),
        ]
        for x in flagged
    ]
    corr_table = table(
        r["corr_table"].format(year=data.year),
        [(r["pair"], False), (r["kind"], False), ("Pearson r", True), ("Spearman ρ", True), (r["n"], True)],
        corr_rows,
        ["indicator_a", "indicator_b", "kind", "pearson", "spearman", "n"],
        corr_csv,
        f"indicator_correlations_{data.year}",
        lang,
    )
    themes = dict(data.themes(lang))
    alpha_rows = [
        [
            themes.get(x["theme"], x["theme"]),
            fmt_number(x["cronbach_alpha"], 2, lang),
            str(int(x["n_indicators"])),
            str(int(x["n_members"])),
        ]
        for x in data.reliability
    ]
    alpha_csv = [
        [x["theme"], num(x["cronbach_alpha"], 3), num(x["n_indicators"]), num(x["n_members"])] for x in data.reliability
    ]
    alpha_table = table(
        r["alpha_table"].format(year=data.year),
        [(r["theme"], False), (r["alpha"], True), (r["n_ind"], True), (r["n"], True)],
        alpha_rows,
        ["theme", "cronbach_alpha", "n_indicators", "n_members"],
        alpha_csv,
        f"theme_reliability_{data.year}",
        lang,
    )
    ind_by_code = {ind["code"]: ind for ind in data.catalogue}
    log = [x for x in data.value_log if x.get("imputed") or x.get("treatment")]
    log_rows, log_csv = [], []
    for x in log:
        ind = ind_by_code.get(x["indicator_code"], {"decimals": 2, "unit": ""})
        how = [r[f"imputed_{x['imputed_from']}"]] if x.get("imputed") else []
        how += [r[x["treatment"]]] if x.get("treatment") in ("winsorised_high", "winsorised_low", "log") else []
        log_rows.append(
            [
                data.orgs.get(x["org_code"], {}).get("name", x["org_code"]),
                names.get(x["indicator_code"], x["indicator_code"]),
                format_value(x.get("value"), ind, lang),
                format_value(x.get("used_value"), ind, lang),
                "; ".join(how),
            ]
        )
        log_csv.append(
            [
                x["org_code"],
                x["indicator_code"],
                num(x.get("value"), 6),
                num(x.get("used_value"), 6),
                x.get("imputed_from") or "",
                x.get("treatment") or "",
                num(x.get("treated_value"), 6),
            ]
        )
    log_table = table(
        r["log_table"].format(year=data.year),
        [(t["organisation"], False), ("Indicator", False), (r["value"], True), (r["used"], True), (r["how"], False)],
        log_rows,
        ["org_code", "indicator_code", "value", "used_value", "imputed_from", "treatment", "treated_value"],
        log_csv,
        f"composite_value_log_{data.year}",
        lang,
    )
    notes = [] if flagged else [r["corr_none"]]
    if not log:
        notes.append(r["log_none"])
    sensitivity_block = block(
        "fig-composite-sensitivity",
        r["sens_title"],
        fig,
        r["sens_caption"].format(err=fmt_number(1 / n_base**0.5, 2, lang)),
        [sens_table, corr_table, alpha_table, log_table],
        notes=notes,
    )
    return {"title": r["title"], "block": sensitivity_block}


ROBUST_WORDS = {
    "nl": {
        "robust efficient": "op de grens, ook zonder één ander lid",
        "self-identifier": "op de grens door gebrek aan vergelijkbare leden",
        "inefficient": "onder de grens",
        "not_published": "niet gepubliceerd",
    },
    "en": {
        "robust efficient": "on the frontier, also without any one other member",
        "self-identifier": "on the frontier for lack of comparable members",
        "inefficient": "below the frontier",
        "not_published": "not published",
    },
}


def dea_overview(data: ReportData, lang: str) -> dict[str, Any] | None:
    """The DEA table of the overview (every model and cluster); None if not computed."""
    t = TEXT[lang]
    if not data.dea:
        return None
    rows, csv_rows = [], []
    for r in sorted(data.dea, key=lambda r: (r.get("cluster") or "", r.get("model") or "", r["org_code"])):
        rows.append(
            [
                data.orgs.get(r["org_code"], {}).get("name", r["org_code"]),
                cluster_label(r.get("cluster"), lang),
                _dea_label(r, lang),
                fmt_number(r.get("score"), 3, lang),
                fmt_number(r.get("super_efficiency"), 3, lang),
                ROBUST_WORDS[lang].get(r.get("robust_status") or "", r.get("robust_status") or "—"),
                "—" if r.get("n_units") is None else str(int(r["n_units"])),
            ]
        )
        csv_rows.append(
            [
                r["org_code"],
                r.get("cluster") or "",
                r.get("model") or "",
                num(r.get("score"), 4),
                num(r.get("super_efficiency"), 4),
                r.get("robust_status") or "",
                num(r.get("n_units")),
                r.get("peers") or "",
            ]
        )
    return table(
        t["dea_table"].format(year=data.year),
        [
            (t["organisation"], False),
            (t["cluster"], False),
            (t["model"], False),
            (t["score"], True),
            (t["super_efficiency"], True),
            (t["robust"], False),
            (t["units"], True),
        ],
        rows,
        ["org_code", "cluster", "model", "score", "super_efficiency", "robust_status", "n_units", "peers"],
        csv_rows,
        f"dea_{data.year}",
        lang,
    )


def methodology(data: ReportData, lang: str) -> dict[str, Any]:
    """The indicator catalogue as a table (definition, calculation in words, unit, direction, how uncertainty is
    expressed, caveat), with the introduction to the method: how values are computed, the survey rules and where
    case data take precedence. The CSV download adds the code and the calculation in field codes for analysts."""
    t = TEXT[lang]
    rows, csv_rows = [], []
    for ind in data.catalogue:
        rows.append(
            [
                ind_name(ind, lang),
                ind.get(f"theme_{lang}") or ind["theme"],
                ind_text(ind, "description", lang) or "—",
                formula(ind, lang),
                unit_label(ind, lang),
                t["directions"].get(ind.get("direction"), "—"),
                t["uncertainties"].get(ind.get("uncertainty"), ind.get("uncertainty") or "—"),
                ind_text(ind, "caveat", lang) or "—",
            ]
        )
        csv_rows.append(
            [
                ind["code"],
                ind_name(ind, lang),
                ind["theme"],
                ind_text(ind, "description", lang),
                ind_text(ind, "formula", lang),
                ind.get("numerator") or "",
                ind.get("denominator") or "",
                num(ind.get("scale")),
                ind.get("unit") or "",
                ind.get("direction") or "",
                ind.get("uncertainty") or "",
                num(ind.get("min_n")),
                ind_text(ind, "caveat", lang),
            ]
        )
    catalogue_table = table(
        t["methodology"],
        [
            (t["indicator"], False),
            (t["theme"], False),
            (t["definition"], False),
            (t["formula"], False),
            (t["unit"], False),
            (t["direction"], False),
            (t["uncertainty"], False),
            (t["caveat"], False),
        ],
        rows,
        [
            "code",
            "name",
            "theme",
            "description",
            "formula",
            "numerator",
            "denominator",
            "scale",
            "unit",
            "direction",
            "uncertainty",
            "min_n",
            "caveat",
        ],
        csv_rows,
        "indicator_catalogue",
        lang,
    )
    intro = " ".join(
        [
            t["methodology_intro"].format(k=CLUSTER_MIN_MEMBERS),
            t["methodology_survey"].format(
                suppress=fmt_number(SURVEY_RULES["suppress_below_n"], 0, lang),
                indicative=fmt_number(SURVEY_RULES["indicative_below_n"], 0, lang),
                halfwidth=fmt_number(SURVEY_RULES["max_halfwidth_mark"], 1, lang),
            ),
            t["methodology_cases"],
        ]
    )
    return {"intro": intro, "table": catalogue_table}


def data_as_of(data: ReportData, lang: str) -> str:
    """Up to which date submissions are included (the latest received)."""
    dates = [s["received_at"] for s in data.submissions if s.get("received_at") is not None]
    return date_text(max(dates) if dates else None, lang)


def overview_kpis(data: ReportData, lang: str) -> list[tuple[str, str]]:
    """The key figures at the top of the overview."""
    t = TEXT[lang]
    open_warnings = sum(
        max(0, int(s["n_warnings"] or 0) - int(s["n_warnings_explained"] or 0))
        for s in data.submissions
        if s["in_force"]
    )
    return [
        (t["members_with_data"], str(len(data.reporting_orgs))),
        (t["reports_without_data"], str(len(set(data.members) - set(data.reporting_orgs)))),
        (t["indicators"], str(len(data.catalogue))),
        (t["years"], years_text(data.years)),
        (t["open_warnings"], str(open_warnings)),
    ]


def overview_themes(data: ReportData, lang: str) -> list[dict[str, Any]]:
    """One section per theme with a block per indicator (every member by name)."""
    themes = []
    for theme, label in data.themes(lang):
        blocks = [overview_indicator(data, ind, lang) for ind in data.catalogue if ind["theme"] == theme]
        themes.append({"id": f"theme-{slug(theme)}", "label": label, "blocks": blocks})
    return themes


# ------------------------------------------------------------------------ organisation (confidential)
#
# Everything below reads the warehouse only through a disclosure.MemberView: the member's own rows exactly,
# other members only as the disclosure rules allow (docs/confidentiality.md).


def _cluster_stats(view: MemberView, year: int, code: str) -> dict[str, Any] | None:
    """The member's cluster statistics, only when published (at least MIN_MEMBERS members with a value)."""
    if not view.cluster:
        return None
    return view.stat(code, year, view.cluster)


def lineage_notes(own_trend: list[dict[str, Any]], lang: str) -> list[str]:
    """'2021-2023: A en B samen (fusie 2024)' for the trend points made up of the member's predecessors."""
    t = TEXT[lang]
    groups: dict[tuple[str, Any], list[int]] = {}
    for p in own_trend:
        if p.get("lineage"):
            groups.setdefault((p["lineage"], p.get("event_year")), []).append(int(p["year"]))
    out = []
    for (codes_text, event), years in groups.items():
        codes = [c for c in str(codes_text).split(";") if c]
        span = f"{min(years)}-{max(years)}" if len(years) > 1 else str(years[0])
        has_event = isinstance(event, (int, float)) and event == event  # not None, not NaN
        if len(codes) == 1:
            what = t["lineage_rename"].format(code=codes[0], year=int(event) if has_event else "")
            out.append(f"{span}: {what}.")
            continue
        ev = t["lineage_merger"].format(year=int(event)) if has_event else t["lineage_point"]
        out.append(t["lineage_note"].format(years=span, codes=join_names(codes, lang), event=ev))
    return out


def _member_trend(view: MemberView, code: str) -> list[dict[str, Any]]:
    out = []
    for y in view.years:
        s = view.stat(code, y) or {}
        out.append({"year": y, "median": s.get("median"), "p25": s.get("p25"), "p75": s.get("p75")})
    return out


def org_indicator(view: MemberView, ind: dict[str, Any], lang: str) -> dict[str, Any]:
    """One indicator in an organisation report: the member against the benchmark, tables, summary, notes."""
    t = TEXT[lang]
    code, dec = ind["code"], ind["decimals"]
    cluster = view.cluster
    own = view.own(code)
    comp = view.comparison(code)
    stats = view.stat(code)
    cstats = _cluster_stats(view, view.year, code)
    own_trend = []
    for y in view.years:
        r = view.own(code, y) or {}
        point = {"year": y, "value": r.get("value"), "ci_low": r.get("ci_low"), "ci_high": r.get("ci_high")}
        lin = view.own_lineage(code, y) if not r else None
        if lin and lin.get("value") is not None:
            point.update(value=lin["value"], lineage=lin.get("lineage_codes"), event_year=lin.get("event_year"))
        own_trend.append(point)
    cluster_trend = [{"year": y, "median": (_cluster_stats(view, y, code) or {}).get("median")} for y in view.years]
    peer_names = None
    peers = view.peers(code)
    peer_values = peers.values if peers else []
    if view.open_mode:
        named = sorted(view.named_points(code), key=lambda p: (p["value"], p["org_code"]))
        peer_values = [p["value"] for p in named]
        peer_names = [p["name"] for p in named]
    fig = figures.indicator_position(
        own,
        peer_values,
        stats,
        cstats,
        own_trend,
        _member_trend(view, code),
        cluster_trend,
        dec,
        unit_label(ind, lang),
        lang,
        cluster_label=cluster_label(cluster, lang),
        peer_names=peer_names,
        own_note=None if view.has_data else t["no_data_for"].format(year=view.year),
    )
    rows, csv_rows = [], []
    hidden = t["not_published"].format(k=MIN_MEMBERS)
    for y in view.years:
        v = view.own(code, y)
        c = view.comparison(code, y)
        s = view.stat(code, y)
        cs = _cluster_stats(view, y, code)
        if not v and not s:
            continue
        rows.append(
            [
                str(y),
                format_value((v or {}).get("value"), ind, lang),
                ci_text(v, ind, lang),
                format_value(s["median"], ind, lang) if s else hidden,
                band_text(s["p25"], s["p75"], ind, lang) if s else hidden,
                format_value(cs["median"], ind, lang) if cs else hidden,
                band_text(cs["p25"], cs["p75"], ind, lang) if cs else hidden,
                "—" if not c or c.get("rank") is None else f"{int(c['rank'])} {t['of']} {int(c['n_orgs'])}",
            ]
        )
        csv_rows.append(
            [
                num(y),
                num((v or {}).get("value"), dec),
                num((v or {}).get("ci_low"), dec),
                num((v or {}).get("ci_high"), dec),
                num(s["median"] if s else None, dec),
                num(s["p25"] if s else None, dec),
                num(s["p75"] if s else None, dec),
                num(cs["median"] if cs else None, dec),
                num(cs["p25"] if cs else None, dec),
                num(cs["p75"] if cs else None, dec),
                num(None if not c else c.get("rank")),
                num(None if not c else c.get("n_orgs")),
            ]
        )
    tables = [
        table(
            t["own_table"],
            [
                (t["year"], False),
                (t["value"], True),
                (t["ci"], True),
                (t["median_all"], True),
                (t["band_all"], True),
                (t["median_cluster"], True),
                (t["band_cluster"], True),
                (t["position"], True),
            ],
            rows,
            [
                "year",
                "value",
                "ci_low",
                "ci_high",
                "median_all",
                "p25_all",
                "p75_all",
                "median_cluster",
                "p25_cluster",
                "p75_cluster",
                "rank",
                "n_orgs",
            ],
            csv_rows,
            f"{view.org_code}_{code}",
            lang,
        )
    ]
    if view.open_mode:
        named = sorted(
            view.named_points(code), key=lambda p: (p["value"], p["org_code"]), reverse=ind.get("direction") != "lower"
        )
        tables.append(
            table(
                t["named_table"].format(year=view.year),
                [(t["organisation"], False), (t["value"], True)],
                [[p["name"], format_value(p["value"], ind, lang)] for p in named],
                ["org_code", "organisation", "value"],
                [[p["org_code"], p["name"], num(p["value"], dec)] for p in named],
                f"{code}_{view.year}_all",
                lang,
            )
        )
    summary = []
    if own and own.get("value") is not None:
        q = (comp or {}).get("quartile")
        summary.append(
            t["own_summary"].format(
                year=view.year,
                value=format_value(own["value"], ind, lang, with_unit=True),
                position=position_text(comp, lang),
                quartile="" if q is None else f", {t['quartile_text'][int(q)]}",
            )
        )
    elif not view.has_data:
        summary.append(t["no_own_value"].format(year=view.year))
    else:
        summary.append(f"{view.year}: {t['no_value']}.")
    if stats and stats.get("p25") is not None:
        summary.append(
            t["bench_summary"].format(
                median=format_value(stats["median"], ind, lang, with_unit=True),
                p25=format_value(stats["p25"], ind, lang),
                p75=format_value(stats["p75"], ind, lang),
                n=int(stats["n"]),
            )
        )
    elif stats:
        summary.append(
            t["bench_median_only"].format(
                median=format_value(stats["median"], ind, lang, with_unit=True), n=int(stats["n"]), k=BAND_MIN_MEMBERS
            )
        )
    else:
        summary.append(t["bench_hidden"].format(k=MIN_MEMBERS))
    if cstats:
        summary.append(
            t["cluster_summary"].format(
                cluster=cluster_label(cluster, lang), median=format_value(cstats["median"], ind, lang, with_unit=True)
            )
        )
    notes = []
    if not cstats:
        notes.append(t["cluster_hidden"].format(k=MIN_MEMBERS))
    if peers and peers.hidden and not view.open_mode:
        notes.append(t["points_hidden"].format(n=peers.hidden, floor=fmt_number(peers.floor, 0, lang)))
    if comp and comp.get("significance_label") in t["significance"]:
        notes.append(t["significance"][comp["significance_label"]].capitalize() + ".")
    if comp and comp.get("trend_label") in t["trend"]:
        notes.append(t["trend_text"].format(label=t["trend"][comp["trend_label"]]))
    notes.extend(lineage_notes(own_trend, lang))
    if rows_text(own, lang):
        notes.append(rows_text(own, lang))
    if own and own.get("flags"):
        notes.append(f"{t['flags']}: {flags_text(own['flags'], lang)}.")
    return _member_block(
        view,
        f"fig-ind-{slug(code)}",
        ind_name(ind, lang),
        fig,
        " ".join(summary),
        tables,
        meta=ind_meta(ind, lang, years_text(view.years)),
        notes=notes,
        attrs={"indicator": code, "cluster-published": "true" if cstats else "false"},
    )


def _member_block(
    view: MemberView,
    fig_id: str,
    title: str,
    fig: dict[str, Any] | None,
    caption: str,
    tables: list[dict[str, Any]],
    **kwargs: Any,
) -> dict[str, Any]:
    """A figure block of an organisation report: the figure passes the disclosure gate first."""
    if fig is not None:
        disclosure.seal(fig, open_mode=view.open_mode)
    return block(fig_id, title, fig, caption, tables, **kwargs)


def profile_block(view: MemberView, lang: str) -> dict[str, Any]:
    """The member's percentile per ranked indicator, grouped by theme."""
    t = TEXT[lang]
    themes = view.themes(lang)
    points, rows, csv_rows = [], [], []
    for ind in view.catalogue:
        comp = view.comparison(ind["code"])
        if not comp or comp.get("percentile") is None:
            continue
        label = dict(themes)[ind["theme"]]
        points.append(
            {
                "theme": label,
                "name": ind_name(ind, lang),
                "percentile": comp["percentile"],
                "quartile": None if comp.get("quartile") is None else int(comp["quartile"]),
            }
        )
        rows.append(
            [
                label,
                ind_name(ind, lang),
                fmt_number(comp["percentile"], 0, lang),
                "—" if comp.get("quartile") is None else str(int(comp["quartile"])),
                position_text(comp, lang),
            ]
        )
        csv_rows.append(
            [
                ind["theme"],
                ind["code"],
                num(comp["percentile"], 1),
                num(comp.get("quartile")),
                num(comp.get("rank")),
                num(comp.get("n_orgs")),
            ]
        )
    used = [label for _, label in themes if any(p["theme"] == label for p in points)]
    means = []
    for label in used:
        mine = [p["percentile"] for p in points if p["theme"] == label]
        means.append(sum(mine) / len(mine))
    fig = figures.theme_profile(used, points, means, lang) if points else None
    if not view.has_data:
        return _member_block(
            view,
            "fig-profile",
            t["profile"],
            None,
            t["no_data_profile"].format(year=view.year),
            [],
            meta=[(t["definition"], t["meta_profile"])],
        )
    profile_table = table(
        t["profile_table"],
        [
            (t["theme"], False),
            (t["indicator"], False),
            (t["percentile"], True),
            (t["quartile"], True),
            (t["position"], False),
        ],
        rows,
        ["theme", "indicator", "percentile", "quartile", "rank", "n_orgs"],
        csv_rows,
        f"{view.org_code}_{view.year}_profile",
        lang,
    )
    return _member_block(
        view,
        "fig-profile",
        t["profile"],
        fig,
        t["profile_summary"],
        [profile_table],
        meta=[(t["definition"], t["meta_profile"]), (t["source"], _source(view, lang))],
    )


def strengths(view: MemberView, lang: str) -> dict[str, list[dict[str, str]]]:
    """The member's strengths and points for attention, with their values and reasons."""
    by_code = {ind["code"]: ind for ind in view.catalogue}
    out: dict[str, list[dict[str, str]]] = {"strength": [], "weakness": []}
    for r in view.strengths():
        if r["kind"] not in out:
            continue
        ind = by_code.get(r["indicator_code"])
        value = (view.own(r["indicator_code"]) or {}).get("value")
        out[r["kind"]].append(
            {
                "indicator": ind_name(ind, lang) if ind else r["indicator_code"],
                "value": format_value(value, ind, lang, with_unit=True) if ind else "",
                "reason": r.get(f"reason_{lang}") or r.get("reason_nl") or "",
                "anchor": f"fig-ind-{slug(r['indicator_code'])}-title",
            }
        )
    return out


def composite_block(view: MemberView, lang: str) -> dict[str, Any]:
    """The member's composite position with its rank interval and its DEA score, or why they are not shown."""
    t = TEXT[lang]
    themes = dict(view.themes(lang))
    result: dict[str, Any] = {
        "rank": None,
        "dea": None,
        "dea_note": None,
        "composite_note": None,
        "kpi": None,
        "dea_kpi": None,
        "dea_block": None,
        "dea_texts": [],
        "dea_rule": [],
    }
    unc, scores = view.composite()
    if unc:
        n_units, lo, hi = unc["n_units"], unc["rank_lo"], unc["rank_hi"]
        fig = figures.rank_interval(unc["nominal_rank"], lo, hi, unc.get("median_rank"), n_units, lang)
        rows, csv_rows = [], []
        for r in sorted(scores, key=lambda r: (r["node"] != "index", -(r.get("level") or 0), r["node"])):
            label = t["index"] if r["node"] == "index" else themes.get(r["node"], r["node"])
            rows.append(
                [
                    label,
                    fmt_number(r.get("score"), disclosure.SCORE_DECIMALS, lang),
                    "—" if r.get("rank") is None else f"{int(r['rank'])} {t['of']} {r['n']}",
                ]
            )
            csv_rows.append(
                [
                    r["node"],
                    num(r.get("level")),
                    num(r.get("score"), disclosure.SCORE_DECIMALS),
                    num(r.get("rank")),
                    num(r["n"]),
                ]
            )
        interval = f"{fmt_number(lo, 0, lang)} – {fmt_number(hi, 0, lang)} {t['of']} {n_units}"
        rows.append([t["rank_interval"], "—", interval])
        csv_rows.append(["rank_interval", num(None), num(None), num(lo, 1), num(n_units)])
        rank_table = table(
            t["rank_table"],
            [(t["node"], False), (t["score"], True), (t["position"], True)],
            rows,
            ["node", "level", "score", "rank", "n"],
            csv_rows,
            f"{view.org_code}_{view.year}_composite",
            lang,
        )
        caption = t["rank_summary"].format(
            rank=unc["nominal_rank"], n=n_units, lo=fmt_number(lo, 0, lang), hi=fmt_number(hi, 0, lang)
        )
        result["rank"] = _member_block(
            view,
            "fig-composite",
            t["index_position"],
            fig,
            caption,
            [rank_table],
            meta=[(t["definition"], t["meta_composite"]), (t["source"], _source(view, lang))],
        )
        result["kpi"] = f"{unc['nominal_rank']} {t['of']} {n_units}"
    elif not view.has_data:
        result["composite_note"] = t["no_data_composite"].format(year=view.year)
    else:
        result["composite_note"] = t["no_composite"]
    shown, any_rows = view.dea()
    hidden = view.dea_hidden()
    if shown:
        result.update(_dea_member(view, shown, lang))
    elif not view.has_data:
        result["dea_note"] = t["no_data_dea"].format(year=view.year)
    elif any_rows:
        result["dea_note"] = t["dea_hidden"].format(k=MIN_MEMBERS)
    else:
        result["dea_note"] = t["no_dea"]
    result["dea_rule"] = [_dea_rule_text(h, lang) for h in hidden]
    return result


DEA_WORDS = {
    "nl": {
        "model": "{inputs} voor {outputs}",
        "and": " en ",
        "frontier": (
            "Uw score is 1,00: geen lid van uw cluster produceert met minder {input} minstens evenveel. Dat betekent "
            "niet dat u goedkoop werkt: met {n} vergelijkbare leden en {k} grootheden komt 1,00 snel voor ({f} van "
            "de {n} leden scoren 1,00). Na correctie voor die vertekening is uw score {bc} (95%-interval {lo} tot "
            "{hi})."
        ),
        "below": (
            "Voor dezelfde productie lijkt ongeveer {pct}% minder {input} haalbaar, gemeten aan {r} "
            "{members} van uw cluster die met minder middelen minstens evenveel produceren. Na correctie voor "
            "de vertekening door het kleine aantal leden is dat {pct_bc}% (95%-interval {a}% tot {b}%)."
        ),
        "member_one": "lid",
        "member_many": "leden",
        "robust efficient": "Blijft op de grens ook als één ander lid wordt weggelaten.",
        "self-identifier": (
            "Op de grens vooral omdat geen ander lid op u lijkt in deze verhouding van inzet en productie; weinig "
            "zeggend."
        ),
        "rule": (
            "{model}: niet getoond. Een betrouwbare score vraagt minstens {need} organisaties in de vergelijking "
            "(drie per gebruikte grootheid, en niet minder dan het aantal inzet- maal productiegrootheden); uw "
            "cluster telt er {n}."
        ),
        "table": "Efficiëntie (DEA) {year}: uw score met de marge",
        "caption": (
            "Uw efficiëntiescore per model, ruw en na correctie voor de vertekening door het kleine aantal leden, met "
            "het 95%-interval; alleen uw eigen score, nooit die van een ander lid."
        ),
        "col_model": "Model",
        "col_score": "Score",
        "col_bc": "Gecorrigeerd",
        "col_interval": "95%-interval",
        "col_saving": "Haalbare besparing",
        "col_units": "Leden in de vergelijking",
    },
    "en": {
        "model": "{inputs} for {outputs}",
        "and": " and ",
        "frontier": (
            "Your score is 1.00: no member of your cluster produces at least as much with less {input}. That does "
            "not mean you work cheaply: with {n} comparable members and {k} quantities, 1.00 comes easily ({f} of "
            "the {n} members score 1.00). Corrected for that bias your score is {bc} (95% interval {lo} to {hi})."
        ),
        "below": (
            "For the same output about {pct}% less {input} seems feasible, measured against {r} {members} of "
            "your cluster that produce at least as much with fewer resources. Corrected for the bias of the small "
            "number of members that is {pct_bc}% (95% interval {a}% to {b}%)."
        ),
        "member_one": "member",
        "member_many": "members",
        "robust efficient": "Stays on the frontier also when any one other member is left out.",
        "self-identifier": (
            "On the frontier mainly because no other member resembles you in this mix of input and output; says little."
        ),
        "rule": (
            "{model}: not shown. A reliable score needs at least {need} organisations in the comparison (three per "
            "quantity used, and no fewer than the number of inputs times outputs); your cluster has {n}."
        ),
        "table": "Efficiency (DEA) {year}: your score with its margin",
        "caption": (
            "Your efficiency score per model, raw and corrected for the bias of the small number of members, with the "
            "95% interval; only your own score, never another member's."
        ),
        "col_model": "Model",
        "col_score": "Score",
        "col_bc": "Corrected",
        "col_interval": "95% interval",
        "col_saving": "Feasible saving",
        "col_units": "Members in the comparison",
    },
}


def _field_labels(codes: Any, lang: str) -> list[str]:

    fields = {f.code: f for f in registry().all_fields()}
    out = []
    for code in [c for c in str(codes or "").split(",") if c]:
        f = fields.get(code)
        label = (f.label_en if lang == "en" else f.label_nl) if f else code
        out.append(label[:1].lower() + label[1:] if label[:2] != label[:2].upper() else label)
    return out


def _dea_label(row: dict[str, Any], lang: str) -> str:
    d = DEA_WORDS[lang]
    ins, outs = _field_labels(row.get("inputs"), lang), _field_labels(row.get("outputs"), lang)
    if not ins or not outs:
        return str(row.get("model") or "—")
    text = d["model"].format(inputs=d["and"].join(ins), outputs=d["and"].join(outs))
    return text[:1].upper() + text[1:]


def _dea_rule_text(h: dict[str, Any], lang: str) -> str:
    m = len([c for c in str(h.get("inputs") or "").split(",") if c])
    s_ = len([c for c in str(h.get("outputs") or "").split(",") if c])
    need = h.get("min_units") or max(m * s_, 3 * (m + s_))
    return DEA_WORDS[lang]["rule"].format(model=_dea_label(h, lang), need=need, n=h["n_units"])


def _pct(x: float | None) -> str:
    return "—" if x is None else str(max(0, round(100 * (1 - x))))


def _dea_member(view: MemberView, shown: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    """A member's DEA scores in words (what the score means, the feasible saving, its margin), as a chart and a
    table; only its own scores and counts of its comparison (never who)."""
    d = DEA_WORDS[lang]
    fmt = lambda x: "—" if x is None else fmt_number(x, disclosure.DEA_DECIMALS, lang)  # noqa: E731
    texts, rows, csv_rows, chart_rows = [], [], [], []
    for r in shown:
        label = _dea_label(r, lang)
        ins = _field_labels(r.get("inputs"), lang)
        input_words = d["and"].join(ins) if ins else "inzet"
        k = len(ins) + len(_field_labels(r.get("outputs"), lang))
        bc = r.get("score_bc")
        if r["score"] is not None and r["score"] >= 0.9995:
            text = d["frontier"].format(
                input=input_words,
                n=r["n_units"],
                k=k,
                f=r["n_frontier"],
                bc=fmt(bc),
                lo=fmt(r["ci_low"]),
                hi=fmt(r["ci_high"]),
            )
        else:
            text = d["below"].format(
                pct=_pct(r["score"]),
                input=input_words,
                r=r["n_reference"],
                members=d["member_one" if r["n_reference"] == 1 else "member_many"],
                pct_bc=_pct(bc),
                a=_pct(r["ci_high"]),
                b=_pct(r["ci_low"]),
            )
        robust = d.get(str(r.get("robust_status") or ""))
        texts.append({"model": label, "text": text, "robust": robust or ""})
        interval = f"{fmt(r['ci_low'])} – {fmt(r['ci_high'])}" if r.get("ci_low") is not None else "—"
        saving = (
            f"{_pct(bc)}% ({_pct(r['ci_high'])}–{_pct(r['ci_low'])}%)" if bc is not None else f"{_pct(r['score'])}%"
        )
        rows.append([label, fmt(r["score"]), fmt(bc), interval, saving, str(r["n_units"])])
        csv_rows.append(
            [
                r.get("model") or "",
                num(r.get("score"), disclosure.DEA_DECIMALS),
                num(bc, disclosure.DEA_DECIMALS),
                num(r.get("ci_low"), disclosure.DEA_DECIMALS),
                num(r.get("ci_high"), disclosure.DEA_DECIMALS),
                num(r.get("n_units")),
            ]
        )
        chart_rows.append(
            {"label": label, "score": r["score"], "score_bc": bc, "ci_low": r["ci_low"], "ci_high": r["ci_high"]}
        )
    columns = [
        (d["col_model"], False),
        (d["col_score"], True),
        (d["col_bc"], True),
        (d["col_interval"], True),
        (d["col_saving"], True),
        (d["col_units"], True),
    ]
    header = ["model", "score", "score_bias_corrected", "ci_low", "ci_high", "n_units"]
    if view.open_mode:  # analysts only: who the reference members are
        columns.append((TEXT[lang]["peers"], False))
        header.append("peers")
        for row, csv_row, r in zip(rows, csv_rows, shown, strict=True):
            row.append(r.get("peers") or "—")
            csv_row.append(r.get("peers") or "")
    dea_table = table(
        d["table"].format(year=view.year),
        columns,
        rows,
        header,
        csv_rows,
        f"{view.org_code}_{view.year}_dea",
        lang,
    )
    fig = disclosure.seal(figures.dea_scores(chart_rows, lang), view.open_mode)
    first = shown[0]
    kpi = fmt(first.get("score_bc") if first.get("score_bc") is not None else first["score"])
    if first.get("ci_low") is not None:
        kpi += f" ({fmt(first['ci_low'])}–{fmt(first['ci_high'])})"
    block_ = _member_block(
        view,
        "fig-dea",
        TEXT[lang]["efficiency"],
        fig,
        d["caption"],
        [dea_table],
        meta=[(TEXT[lang]["definition"], figures.DEA_TEXT[lang]["axis"]), (TEXT[lang]["source"], _source(view, lang))],
    )
    return {"dea": dea_table, "dea_block": block_, "dea_texts": texts, "dea_kpi": kpi}


def explanations(view: MemberView, lang: str) -> dict[str, Any]:
    """The member's explanations of flagged values, and how many warnings are still unexplained."""
    t = TEXT[lang]
    if view.submission() is None:
        return {"table": None, "open": 0}
    mine = [f for f in view.findings() if f["severity"] != "error"]
    explained = [f for f in mine if f.get("explained")]
    open_count = sum(1 for f in mine if f["severity"] == "warning" and not f.get("explained"))
    if not explained:
        return {"table": None, "open": open_count}
    rows = [
        [
            f.get("sheet") or "—",
            f.get("cell") or "—",
            f.get("field") or "—",
            "—" if f.get("value") is None else str(f["value"]),
            f.get(f"message_{lang}") or f.get("message_nl") or "",
            f.get("explanation") or "",
        ]
        for f in explained
    ]
    csv_rows = [
        [
            f.get("sheet") or "",
            f.get("cell") or "",
            f.get("field") or "",
            f.get("value") or "",
            f.get(f"message_{lang}") or "",
            f.get("explanation") or "",
        ]
        for f in explained
    ]
    findings_table = table(
        t["explanations"],
        [
            (t["sheet"], False),
            (t["cell"], False),
            (t["field"], False),
            (t["value"], True),
            (t["message"], False),
            (t["explanation"], False),
        ],
        rows,
        ["sheet", "cell", "field", "value", "message", "explanation"],
        csv_rows,
        f"{view.org_code}_{view.year}_explanations",
        lang,
    )
    return {"table": findings_table, "open": open_count}


def provenance(view: MemberView, lang: str) -> str:
    """Which submission version of this organisation the report is based on (its own only)."""
    s = view.submission()
    org_code, year = view.org_code, view.year
    if s is None:
        return TEXT[lang]["provenance_none"].format(org=org_code, year=year)
    if lang == "en":
        return (
            f"Based on {org_code}'s submission version {int(s['version'])} for {year} "
            f"(file {s['original_name']}, received {s['received_at']:%d-%m-%Y}, SHA-256 {s['sha256'][:16]}…) "
            f"and the other members' submissions in force on the same date of this warehouse."
        )
    return (
        f"Gebaseerd op aanlevering versie {int(s['version'])} van {org_code} over {year} "
        f"(bestand {s['original_name']}, ontvangen {s['received_at']:%d-%m-%Y}, SHA-256 {s['sha256'][:16]}…) "
        f"en de geldende aanleveringen van de andere leden in dit datapakhuis."
    )


def member_themes(view: MemberView, lang: str) -> list[dict[str, Any]]:
    """One section per theme with a block per indicator (the member against the benchmark)."""
    themes = []
    for theme, label in view.themes(lang):
        blocks = [org_indicator(view, ind, lang) for ind in view.catalogue if ind["theme"] == theme]
        themes.append({"id": f"theme-{slug(theme)}", "label": label, "blocks": blocks})
    return themes


def member_kpis(
    view: MemberView, composite: dict[str, Any], sw: dict[str, list[dict[str, str]]], lang: str
) -> list[tuple[str, str]]:
    """The key figures at the top of an organisation report, from its composite and strengths sections."""
    t = TEXT[lang]
    if not view.has_data:
        none = t["no_data_for"].format(year=view.year)
        return [
            (t["cluster"], cluster_label(view.cluster, lang)),
            (t["status"], t["states"][view.state()]),
            (t["index_position"], none),
            (t["efficiency"], none),
            (t["strengths"], none),
            (t["weaknesses"], none),
        ]
    return [
        (t["cluster"], cluster_label(view.cluster, lang)),
        (t["index_position"], composite["kpi"] or t["not_available"]),
        (t["efficiency"], composite["dea_kpi"] or t["not_available"]),
        (t["strengths"], str(len(sw["strength"]))),
        (t["weaknesses"], str(len(sw["weakness"]))),
    ]


# ---------------------------------------------------------- a member without an accepted submission this year

#: How many error findings the report of a rejected member lists (all of them are on its feedback page).
FIXES_SHOWN = 5


def _due_text(state: str, deadlines: Deadlines | None, as_of: Any, lang: str) -> str:
    """By when: the deadline that applies ahead of or behind ``as_of`` (the date the warehouse's data
    describes, so the same warehouse and calendar give the same text); "" without a calendar."""
    if deadlines is None:
        return ""
    t = TEXT[lang]
    due = deadlines.delivery if state == "missing" else (deadlines.feedback or deadlines.delivery)
    as_of_day = as_of.date() if hasattr(as_of, "date") else as_of
    if as_of_day is not None and as_of_day > due:
        return t["due_passed"].format(date=day_text(due, lang))
    return t["due_ahead_" + ("missing" if state == "missing" else "rejected")].format(date=day_text(due, lang))


def standing(view: MemberView, lang: str, deadlines: Deadlines | None = None) -> dict[str, Any] | None:
    """Why a member's report holds no own values this year and what it should do (None for a member with an
    accepted submission): no delivery received, or its latest delivery rejected, with the first errors to fix,
    its feedback page and, from the round's calendar (``pipeline.core.settings.Deadlines``), by when."""
    if view.has_data:
        return None
    t = TEXT[lang]
    name = view.org["name"]
    latest = view.latest_delivery()
    out: dict[str, Any] = {
        "state": "missing" if latest is None else "rejected",
        "title": t["standing"].format(year=view.year),
        "fixes": None,
        "fixes_more": "",
        "feedback": None,
    }
    if latest is None:
        out["text"] = t["standing_missing"].format(year=view.year, name=name)
        out["todo"] = t["todo_missing"].format(year=view.year)
    else:
        version = int(latest["version"])
        errors = view.errors(latest)
        n = int(latest["n_errors"]) if latest.get("n_errors") is not None else len(errors)
        received = latest.get("received_at")
        out["text"] = t["standing_rejected"].format(
            year=view.year,
            version=version,
            date="—" if received is None else day_text(received, lang),
            errors=errors_text(n, lang),
        )
        out["todo"] = t["todo_rejected"]
        shown = errors[:FIXES_SHOWN]
        rows = [
            [
                f.get("sheet") or "—",
                f.get("cell") or "—",
                f.get("field") or "—",
                f.get(f"message_{lang}") or f.get("message_nl") or "",
            ]
            for f in shown
        ]
        csv_rows = [
            [f.get("sheet") or "", f.get("cell") or "", f.get("field") or "", f.get(f"message_{lang}") or ""]
            for f in shown
        ]
        out["fixes"] = table(
            t["fix_table"].format(version=version),
            [(t["sheet"], False), (t["cell"], False), (t["field"], False), (t["message"], False)],
            rows,
            ["sheet", "cell", "field", "message"],
            csv_rows,
            f"{view.org_code}_{view.year}_v{version}_errors",
            lang,
        )
        out["fixes"]["open"] = True
        out["fixes_more"] = t["fix_more"].format(shown=len(shown), n=n) if n > len(shown) else ""
        page = feedback_path(Path(), view.year, view.org_code, version, lang)  # organisations/ is next to it
        out["feedback"] = {
            "text": t["fix_feedback_link"].format(version=version),
            "href": "../" + page.relative_to(str(view.year)).as_posix(),
        }
    out["due"] = _due_text(out["state"], deadlines, view.data_as_of(), lang)
    return out


def earlier_years(view: MemberView, lang: str) -> dict[str, Any] | None:
    """The member's own accepted values of the years before this one (None for a member with data this year:
    its indicator blocks show them)."""
    if view.has_data:
        return None
    t = TEXT[lang]
    years = [y for y in view.years if y < view.year]
    shown = [(ind, {y: (view.own(ind["code"], y) or {}).get("value") for y in years}) for ind in view.catalogue]
    shown = [(ind, by_year) for ind, by_year in shown if any(v is not None for v in by_year.values())]
    used = [y for y in years if any(by_year[y] is not None for _, by_year in shown)]
    if not shown:
        return _member_block(
            view, "fig-earlier", t["earlier_title"], None, t["earlier_none"].format(year=view.year), []
        )
    rows = [
        [ind_name(ind, lang), unit_label(ind, lang)] + [format_value(by_year[y], ind, lang) for y in used]
        for ind, by_year in shown
    ]
    csv_rows = [[ind["code"]] + [num(by_year[y], ind["decimals"]) for y in used] for ind, by_year in shown]
    earlier_table = table(
        t["earlier_table"],
        [(t["indicator"], False), (t["unit"], False)] + [(str(y), True) for y in used],
        rows,
        ["indicator"] + [str(y) for y in used],
        csv_rows,
        f"{view.org_code}_earlier_years",
        lang,
    )
    earlier_table["open"] = True
    return _member_block(
        view,
        "fig-earlier",
        t["earlier_title"],
        None,
        t["earlier_summary"].format(years=years_text(used), year=view.year),
        [earlier_table],
        meta=[(t["source"], _source(view, lang))],
    )
