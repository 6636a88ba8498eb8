"""Attacks on the disclosure control of the organisation reports (docs/confidentiality.md).

Every test reads the written HTML the way a member with a text editor would (the Plotly JSON, the data tables and
the CSV downloads) and compares what it can recover with the truth in the warehouse.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections import defaultdict
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import duckdb
import numpy as np
import pandas as pd
import pytest
from inprocess import rbb
from workspaces import copy_workspace

from pipeline.compute import engine as compute
from pipeline.core.workspace import Workspace
from pipeline.report import disclosure
from pipeline.report.figures import csv_data_uri
from pipeline.report.pages import ReportWriteError, build_reports

YEAR = 2025
PEERS = {"Leden (anoniem)", "Members (anonymous)"}
FORMULA = ("=", "+", "-", "@", "\t", "\r")
MAX_Q = 10**7
HOSTILE = [
    "=2+5",
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
    "a;=2+5",
    "b,+cmd|' /C calc'!A0",
    "c, @SUM(1+1)",
    'd;"=1+1',
    "e\n=1+1",
    "f\r\n-1+1",
    "  =1",
    "\t=1",
    "x,y;z",
    'quote " in text',
]


# ------------------------------------------------------------------------------------ reading a page


class Page(HTMLParser):
    """Chart specs, CSV downloads and text of a report, per indicator section."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.specs: dict[str, dict] = {}
        self.csv: list[tuple[str | None, str]] = []
        self.texts: list[tuple[str | None, str]] = []
        self._sections: list[str | None] = []
        self._target: str | None = None
        self._buf: list[str] = []
        self._tag = ""

    @property
    def section(self) -> str | None:
        return next((s for s in reversed(self._sections) if s), None)

    def handle_starttag(self, tag, attrs):
        d = {k: v or "" for k, v in attrs}
        self._tag = tag
        if tag == "section":
            self._sections.append(d.get("data-indicator") or None)
        if tag == "script":
            self._target = d.get("data-target") if d.get("type") == "application/json" else None
            self._buf = []
        if d.get("href", "").startswith("data:text/csv"):
            self.csv.append((self.section, d["href"]))

    def handle_endtag(self, tag):
        if tag == "script" and self._target:
            self.specs[self._target] = json.loads("".join(self._buf))
            self._target = None
        if tag == "section" and self._sections:
            self._sections.pop()
        self._tag = ""

    def handle_data(self, data):
        if self._target is not None and self._tag == "script":
            self._buf.append(data)
        elif self._tag not in ("script", "style") and data.strip():
            self.texts.append((self.section, data))


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text("utf-8"))
    page.close()
    return page


def csv_text(uri: str) -> str:
    return unquote(uri.split(",", 1)[1]).lstrip("\ufeff")


def csv_rows(uri: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(csv_text(uri), newline=""), delimiter=delimiter))


def numbers(obj) -> list[float]:
    if isinstance(obj, bool) or obj is None:
        return []
    if isinstance(obj, (int, float)):
        return [float(obj)]
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in numbers(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in numbers(v)]
    return []


def is_own(trace: dict) -> bool:
    """The member's own value and trend (blue diamonds; open diamonds for the years of its own predecessors
    after a merger or rename): its own figures, shown exactly."""
    symbol = trace.get("marker", {}).get("symbol")
    if isinstance(symbol, list):
        return bool(symbol) and set(symbol) <= {"diamond", "diamond-open"}
    return symbol == "diamond"


def shown_values(fig: dict) -> list[float]:
    """Every number of an indicator chart on its value axes that is not the member's own: trace x (left panel)
    and y (trend panel), shapes' x."""
    out: list[float] = []
    for trace in fig["data"]:
        if is_own(trace):
            continue
        if trace.get("xaxis") == "x2":
            out += numbers(trace.get("y"))
        else:
            out += numbers(trace.get("x"))
    for shape in fig["layout"].get("shapes", []):
        if shape.get("xref", "x") == "x":
            out += numbers([shape.get("x0"), shape.get("x1")])
    return out


def _year(x) -> int | None:
    try:
        y = int(str(x)[:4])
    except (TypeError, ValueError):
        return None
    return y if 1990 <= y <= 2100 else None


def shown_by_year(fig: dict) -> set[tuple[int | None, float]]:
    """:func:`shown_values` with the year each number is shown for: the left panel and its shapes are this
    year's, a trend panel's y is the year at the same place of its x (None where a trace has no such pairing:
    such a number is matched against every year)."""
    out: set[tuple[int | None, float]] = set()
    for trace in fig["data"]:
        if is_own(trace):
            continue
        if trace.get("xaxis") == "x2":
            xs, ys = trace.get("x"), trace.get("y")
            if isinstance(xs, list) and isinstance(ys, list) and len(xs) == len(ys):
                for x, y in zip(xs, ys, strict=True):
                    out |= {(_year(x), v) for v in numbers(y)}
            else:
                out |= {(None, v) for v in numbers(ys)}
        else:
            out |= {(YEAR, v) for v in numbers(trace.get("x"))}
    for shape in fig["layout"].get("shapes", []):
        if shape.get("xref", "x") == "x":
            out |= {(YEAR, v) for v in numbers([shape.get("x0"), shape.get("x1")])}
    return out


def peer_points(fig: dict) -> list[float]:
    return [x for t in fig["data"] if t.get("name") in PEERS for x in t["x"]]


# ------------------------------------------------------------------------------------ the attacks


def simplest_in(lo: Fraction, hi: Fraction) -> Fraction:
    """The fraction with the smallest denominator in [lo, hi] (Stern–Brocot), 0 <= lo <= hi."""
    fl = math.floor(lo)
    if fl == lo:
        return Fraction(fl)
    if fl + 1 <= hi:
        return Fraction(fl + 1)
    return fl + 1 / simplest_in(1 / (hi - fl), 1 / (lo - fl))


@functools.cache
def recovered(x: float, decimals: int, scale: float) -> tuple[Fraction, Fraction]:
    """What an attacker gets from one shown number: (limit_denominator fraction, Stern–Brocot fraction).
    A pure function of its arguments, memoised: the same numbers recur on every member's page."""
    sc = Fraction(scale).limit_denominator(10**6)
    exact = (Fraction(x) / sc).limit_denominator(MAX_Q)
    h = Fraction(1, 2 * 10**decimals)
    shown = Fraction(repr(x))
    sb = simplest_in(max(Fraction(0), (shown - h) / sc), (shown + h) / sc) if x >= 0 else Fraction(-1)
    return exact, sb


@pytest.fixture(scope="module")
def truth(demo_workspace):
    con = duckdb.connect(str(demo_workspace.db_path), read_only=True)
    try:
        cat = {
            r[0]: {"decimals": int(r[1]), "scale": float(r[2]), "denominator": r[3]}
            for r in con.execute("SELECT code, decimals, scale, denominator FROM indicator_catalogue").fetchall()
        }
        rows = con.execute("""SELECT org_code, year, indicator_code, value, numerator, denominator, n
                              FROM indicator_values
                              WHERE value IS NOT NULL AND numerator = round(numerator)
                                AND denominator = round(denominator) AND denominator > 0""").fetchall()
        stats = con.execute("""SELECT year, indicator_code, median, p25, p75 FROM benchmark_stats
                               WHERE median IS NOT NULL""").fetchall()
    finally:
        con.close()
    fractions: dict[str, list[tuple[str, int, Fraction, int]]] = defaultdict(list)
    behind: dict[tuple[str, int], dict[float, set[str]]] = defaultdict(lambda: defaultdict(set))
    for org, year, code, value, num, den, n in rows:
        f = Fraction(int(num), int(den))
        c = cat[code]
        # a ratio that display precision shows exactly (1/2 as 50,0%) tells nothing beyond the display value
        if (f * Fraction(c["scale"]).limit_denominator(10**6) * 10 ** c["decimals"]).denominator == 1:
            continue
        fractions[code].append((org, int(year), f, int(den)))
        # who can be behind a shown number: a peer point drawn from this value, or a statistic equal to it
        if int(year) == YEAR and (n or 0) >= disclosure.point_floor(c["decimals"], c["scale"]):
            behind[(code, int(year))][round(value, c["decimals"])].add(org)
        behind[(code, int(year))][value].add(org)
    exact_stats = defaultdict(set)  # per indicator and year: a statistic of one year is shown for that year
    for year, code, *xs in stats:
        exact_stats[(code, int(year))] |= {x for x in xs if x is not None}
    return {"cat": cat, "fractions": fractions, "behind": behind, "stats": exact_stats}


@pytest.fixture(scope="module")
def report_sets(demo_workspace, tmp_path_factory):
    """Every organisation report of the demo's last year, Dutch (from rbb demo) and English (built here)."""
    ws = copy_workspace(demo_workspace, tmp_path_factory.mktemp("en"))
    build_reports(ws, YEAR, lang="en")
    nl = sorted(
        p for p in (demo_workspace.reports / str(YEAR) / "organisations").glob("*.html") if ".en." not in p.name
    )
    en = sorted((ws.reports / str(YEAR) / "organisations").glob("*.en.html"))
    assert len(nl) >= 20 and len(en) == len(nl)
    return {"nl": nl, "en": en}


@pytest.fixture(scope="module")
def pages(report_sets) -> dict[Path, Page]:
    """Every page of ``report_sets`` parsed once for all the tests that read them (they only read)."""
    return {path: parse(path) for paths in report_sets.values() for path in paths}


def _all_pages(report_sets, pages):
    for lang, paths in report_sets.items():
        for path in paths:
            yield lang, path, pages[path]


def test_fraction_recovery_attack_finds_no_exact_numerator_or_denominator(report_sets, pages, truth):
    """Issue 12 item 2: every number of every indicator chart, as limit_denominator(10^7) and as the simplest
    fraction within its display rounding (Stern–Brocot), against the true numerator/denominator of every other
    member that can be behind it (one whose point is drawn at that value, or whose value a statistic is)."""
    cat, fractions, behind = truth["cat"], truth["fractions"], truth["behind"]
    hits = []
    checked = 0
    for lang, path, page in _all_pages(report_sets, pages):
        me = path.name.split(".")[0]
        for fig_id, fig in page.specs.items():
            code = fig_id.removeprefix("fig-ind-")
            if code not in cat or code not in fractions:
                continue
            c = cat[code]
            exact_of = {(org, year): (f, den) for org, year, f, den in fractions[code] if org != me}
            # who can be behind a number shown for a year: a value of that year (a number shown for a year
            # says nothing about another year's values, however equal they happen to be)
            candidates: dict[tuple[int, float], set[tuple[str, int]]] = defaultdict(set)
            for (ind, year), by_value in behind.items():
                if ind != code:
                    continue
                for key, orgs in by_value.items():
                    # the exact value, a drawn point's rounded value, and a statistic that is this value, rounded
                    others = {(o, year) for o in orgs if o != me}
                    candidates[(year, key)] |= others
                    if key in truth["stats"][(code, year)]:
                        candidates[(year, round(key, c["decimals"]))] |= others
            for shown_year, x in shown_by_year(fig):
                checked += 1
                exact, sb = recovered(x, c["decimals"], c["scale"])
                years = [shown_year] if shown_year is not None else sorted({y for y, _ in candidates})
                for org, year in set().union(*(candidates.get((y, x), set()) for y in years)):
                    f, den = exact_of.get((org, year), (None, None))
                    if f is None:
                        continue
                    if exact == f:
                        hits.append((lang, path.name, code, x, "limit_denominator", org, year))
                    if sb == f and sb.denominator == den:
                        hits.append((lang, path.name, code, x, "stern-brocot", org, year))
    assert checked > 10_000
    assert hits == [], f"{len(hits)} exact fractions of other members recoverable, e.g. {hits[:5]}"


def test_linkage_attack_cannot_link_peer_points_across_charts(report_sets, pages, truth):
    """Issue 12 item 2: points of indicators with the same denominator (the staff-flow charts share the headcount)
    linked by their recovered denominators; and no order, index or label that ties a point to a member."""
    cat = truth["cat"]
    by_den: dict[str, list[str]] = defaultdict(list)
    for code, c in cat.items():
        by_den[c["denominator"]].append(code)
    groups = [codes for codes in by_den.values() if len(codes) > 1]
    assert any({"instroom_pct", "uitstroom_pct"} <= set(g) for g in groups)
    true_dens = defaultdict(set)
    for code, rows in truth["fractions"].items():
        for _org, year, _f, den in rows:
            if year == YEAR:
                true_dens[code].add(den)
    links = 0
    for _lang, path, page in _all_pages(report_sets, pages):
        figs = {fid.removeprefix("fig-ind-"): fig for fid, fig in page.specs.items() if fid.startswith("fig-ind-")}
        peer_traces = [t for fig in figs.values() for t in fig["data"] if t.get("name") in PEERS]
        assert peer_traces, path.name
        for t in peer_traces:
            # the order is the sorted order of the shown values: it says nothing a value does not
            assert t["x"] == sorted(t["x"]), path.name
            assert not {"text", "hovertext", "customdata", "ids", "meta", "hovertemplate"} & set(t), path.name
            assert t["hoverinfo"] == "skip"
            # the vertical jitter depends only on the position in that sorted order
            assert t["y"] == [2 + ((i % 5) - 2) * 0.07 for i in range(len(t["x"]))], path.name
        for group in groups:
            dens: dict[str, set[int]] = {}
            for code in group:
                if code not in figs:
                    continue
                c = cat[code]
                found = set()
                for x in peer_points(figs[code]):
                    exact, sb = recovered(x, c["decimals"], c["scale"])
                    found |= {exact.denominator, sb.denominator}
                dens[code] = found & true_dens[code]
            for i, a in enumerate(group):
                for b in group[i + 1 :]:
                    links += len(dens.get(a, set()) & dens.get(b, set()))
    assert links == 0, f"{links} true shared denominators recoverable across charts"


def test_peer_points_and_statistics_are_at_display_precision(report_sets, pages, truth):
    cat = truth["cat"]
    for _lang, path, page in _all_pages(report_sets, pages):
        me = path.name.split(".")[0]
        for fig_id, fig in page.specs.items():
            code = fig_id.removeprefix("fig-ind-")
            if code not in cat:
                continue
            dec = cat[code]["decimals"]
            for x in shown_values(fig):
                assert round(x, dec) == x, (path.name, code, x, me)


# ------------------------------------------------------------------------------ (d) fewer than 5 members


def _recompute_into(ws: Workspace, values: pd.DataFrame) -> None:
    """Derived tables recomputed by pipeline.compute from the given indicator values, written to the warehouse."""
    con = duckdb.connect(str(ws.db_path))
    try:
        orgs = con.execute("SELECT * FROM organisations").fetch_df()
        min_members = compute.disclosure_config()["min_members"]
        bstats = compute.compute_benchmark_stats(values, orgs, min_members)
        comp = compute.compute_comparisons(values, orgs, bstats)
        sw = compute.strengths_weaknesses(comp)
        scores, unc, method = compute.compute_composite(values[values["year"] == YEAR], orgs, bstats)
        for name, df in (
            ("indicator_values", values),
            ("benchmark_stats", bstats),
            ("comparisons", comp),
            ("strengths_weaknesses", sw),
            ("composite_scores", scores),
            ("composite_uncertainty", unc),
            ("composite_method", method),
        ):
            con.register("_df", df)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _df")
            con.unregister("_df")
    finally:
        con.close()


def _copy(demo_workspace, root: Path) -> Workspace:
    return copy_workspace(demo_workspace, root)


def _values(ws: Workspace) -> pd.DataFrame:
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        return con.execute("SELECT * FROM indicator_values ORDER BY year, indicator_code, org_code").fetch_df()
    finally:
        con.close()


@pytest.mark.slow
def test_no_statistic_over_fewer_than_five_members_in_any_page_or_download(demo_workspace, tmp_path):
    """Issue 12 item 3 / rule 1: an indicator with only 4 members with a value shows no median, band, position,
    peer points or strength to any of them (all-member scope included), in the chart, the text or the CSV."""
    ws = _copy(demo_workspace, tmp_path / "thin")
    values = _values(ws)
    code = "verzuim_pct"
    keep = sorted(
        values.loc[(values.year == YEAR) & (values.indicator_code == code) & values.value.notna(), "org_code"]
    )[:4]
    thin = (values.year == YEAR) & (values.indicator_code == code) & ~values.org_code.isin(keep)
    values.loc[thin, "value"] = np.nan
    _recompute_into(ws, values)
    for me in keep:  # the reports read below (each build also writes the overview)
        build_reports(ws, YEAR, org=me)
        build_reports(ws, YEAR, org=me, lang="en")
    for me in keep:
        for suffix, rank_re in (("", r"positie \d+ van \d+"), (".en", r"position \d+ of \d+")):
            page = parse(ws.reports / str(YEAR) / "organisations" / f"{me}{suffix}.html")
            fig = page.specs[f"fig-ind-{code}"]
            assert not [t for t in fig["data"] if t.get("name") in PEERS], me
            assert fig["layout"].get("shapes", []) == [], me
            for t in fig["data"]:
                if t.get("xaxis") == "x2" and "diamond" not in str(t.get("marker")):
                    assert t["y"][t["x"].index(YEAR)] is None, (me, t.get("name"))
            text = " ".join(t for s, t in page.texts if s == code)
            assert not re.search(rank_re, text), (me, text)
            for section, uri in page.csv:
                rows = csv_rows(uri, ";" if suffix == "" else ",")
                header = rows[0]
                if section == code:
                    last = next(r for r in rows[1:] if r[0] == str(YEAR))
                    for col in ("median_all", "p25_all", "p75_all", "median_cluster", "rank", "n_orgs"):
                        assert last[header.index(col)] == "", (me, col, last)
                if "indicator" in header:  # the profile table
                    assert code not in [r[header.index("indicator")] for r in rows[1:]], me
            profile = page.specs["fig-profile"]
            assert all(code not in str(t.get("hovertext")) for t in profile["data"])


def test_quartile_band_only_from_ten_members(report_sets, pages, demo_workspace):
    """At n = 5 the p25 and p75 are two members' own values: a band needs BAND_MIN_MEMBERS members."""
    con = duckdb.connect(str(demo_workspace.db_path), read_only=True)
    try:
        small = con.execute(
            """SELECT indicator_code, scope FROM benchmark_stats WHERE year = ? AND published
                               AND n < ?""",
            [YEAR, disclosure.BAND_MIN_MEMBERS],
        ).fetchall()
        clusters = dict(con.execute("SELECT org_code, cluster FROM organisations").fetchall())
    finally:
        con.close()
    assert small, "the demo has a published cluster with fewer than 10 values"
    checked = 0
    for path in report_sets["nl"]:
        page = pages[path]
        me = path.stem
        for code, scope in small:
            if scope != clusters[me] or f"fig-ind-{code}" not in page.specs:
                continue
            fig = page.specs[f"fig-ind-{code}"]
            bands = [s for s in fig["layout"].get("shapes", []) if s.get("type") == "rect" and 0.5 < s["y0"] < 1.5]
            assert bands == [], (me, code)
            for section, uri in page.csv:
                if section == code:
                    rows = csv_rows(uri, ";")
                    last = next(r for r in rows[1:] if r[0] == str(YEAR))
                    assert last[rows[0].index("median_cluster")] != ""
                    assert last[rows[0].index("p25_cluster")] == "" and last[rows[0].index("p75_cluster")] == ""
                    checked += 1
    assert checked > 0


# ------------------------------------------------------------------------------ (b) composite imputation


def test_composite_imputation_bypass_reads_back_only_published_statistics(demo_workspace, tmp_path):
    """Issue 12 item 3: a member missing one indicator, in a cluster with fewer than 5 members reporting it. Its
    theme score on the page must follow from a published statistic (the all-member mean), not from the mean of
    its cluster's few members; the score is shown as a whole number."""
    from pipeline.compute.methods.composite import build_composite

    ws = _copy(demo_workspace, tmp_path / "imp")
    values = _values(ws)
    con = duckdb.connect(str(ws.db_path), read_only=True)
    orgs = con.execute("SELECT * FROM organisations").fetch_df()
    con.close()
    clusters = orgs.set_index("org_code")["cluster"]
    this = values[(values.year == YEAR) & values.value.notna()].assign(cluster=lambda d: d.org_code.map(clusters))
    counts = this.groupby(["cluster"]).org_code.nunique()
    cluster = next(c for c, n in counts.items() if 2 <= n < compute.disclosure_config()["min_members"] + 1)
    members = sorted(this.loc[this.cluster == cluster, "org_code"].unique())
    cat = {i.code: i for i in compute.catalogue()}
    excluded = set(compute.methods_config()["composite"]["exclude_indicators"])
    candidates = []
    for code in sorted(this.indicator_code.unique()):
        ind = cat[code]
        if ind.direction == "context" or code in excluded:
            continue
        peers = this[(this.indicator_code == code) & (this.cluster == cluster)].set_index("org_code").value
        if len(peers) < 2:
            continue
        all_mean = this.loc[this.indicator_code == code, "value"]
        for me in members:
            others = peers.drop(me, errors="ignore")
            if len(others) == len(peers) - 1 and len(others) < compute.disclosure_config()["min_members"]:
                # how far the unpublished cluster mean is from the published all-member mean, in that indicator's sd
                gap = abs(
                    others.mean()
                    - all_mean.drop(all_mean.index[this.loc[this.indicator_code == code, "org_code"] == me]).mean()
                )
                candidates.append((gap / all_mean.std(), code, me, others))
    _gap, code, me, others = max(candidates, key=lambda c: c[0])
    theme = cat[code].theme
    values.loc[(values.year == YEAR) & (values.indicator_code == code) & (values.org_code == me), "value"] = np.nan
    _recompute_into(ws, values)
    build_reports(ws, YEAR, org=me)
    page = parse(ws.reports / str(YEAR) / "organisations" / f"{me}.html")
    uri = next(u for _s, u in page.csv if csv_rows(u, ";")[0][:3] == ["node", "level", "score"])
    rows = {r[0]: r for r in csv_rows(uri, ";")[1:]}
    shown = rows[theme][2]
    assert re.fullmatch(r"\d+", shown), f"theme score {shown!r} is not a whole number"

    # The attacker's best case: it knows every other input of the index exactly and solves for its own imputed
    # cell. Which value of that cell reproduces the score on the page?
    con = duckdb.connect(str(ws.db_path), read_only=True)
    spec = json.loads(con.execute("SELECT spec_json FROM composite_method WHERE year = ?", [YEAR]).fetchone()[0])
    bstats = con.execute("SELECT * FROM benchmark_stats WHERE year = ? AND indicator_code = ?", [YEAR, code]).fetch_df()
    con.close()
    assert spec["imputation"]["method"] == "published_mean"
    spec["imputation"] = {"method": "none", "group_column": None}
    used = [i["code"] for i in spec["indicators"]]
    wide = values[(values.year == YEAR) & values.indicator_code.isin(used)].pivot(
        index="org_code", columns="indicator_code", values="value"
    )
    wide = wide[wide.notna().mean(axis=1) >= compute.methods_config()["composite"]["min_coverage"]]
    filled, _ = compute.published_imputation(
        wide,
        clusters,
        compute.compute_benchmark_stats(values, orgs, compute.disclosure_config()["min_members"]),
        YEAR,
        compute.disclosure_config()["min_members"],
    )

    def theme_score(v: float) -> float:
        w = filled.copy()
        w.loc[me, code] = v
        res = build_composite(w.reset_index(), spec)
        return float(res.scores.loc[me, theme])

    cluster_mean = float(others.mean())
    published_mean = float(bstats.loc[bstats.scope == "all", "mean"].iloc[0])
    assert bool(bstats.loc[bstats.scope == cluster, "published"].iloc[0]) is False
    assert round(theme_score(cluster_mean)) != round(theme_score(published_mean)), (
        "precondition: the page can tell the cluster mean and the all-member mean apart"
    )
    assert int(shown) == round(theme_score(published_mean))
    assert int(shown) != round(theme_score(cluster_mean)), "the unpublished cluster mean can be read back"


# ------------------------------------------------------------------------------ (c) CSV injection


def _formula_cells(uri: str) -> list[str]:
    bad = []
    for delimiter in (";", ","):
        for row in csv_rows(uri, delimiter):
            for cell in row:
                stripped = cell.lstrip(' "')
                if stripped[:1] in FORMULA and not re.match(r"-\d", stripped):
                    bad.append(cell)
    return bad


def test_csv_download_neutralises_formulas_opened_with_either_separator():
    """Issue 12 item 9: commas in the Dutch ';' dialect and semicolons in the English ',' dialect."""
    for lang in ("nl", "en"):
        uri = csv_data_uri(
            ["kolom", "=kop", "waarde"],
            [[text, text, ("num", -2.25, 2)] for text in HOSTILE] + [[("num", -1234.5, 1), "x", "y"]],
            lang,
        )
        assert _formula_cells(uri) == [], lang
        sep = ";" if lang == "nl" else ","
        rows = csv_rows(uri, sep)
        assert [r[2] for r in rows[1:]] == (
            ["-2,25"] * len(HOSTILE) + ["y"] if lang == "nl" else ["-2.25"] * len(HOSTILE) + ["y"]
        )
        assert rows[-1][0] == ("-1234,5" if lang == "nl" else "-1234.5")
        # the text survives, with an apostrophe before each formula prefix
        assert rows[1][0] == "'=2+5" and rows[5][0] == "a;'=2+5" and rows[13][0] == "x,y;z"
        assert rows[14][0] == 'quote " in text'


def test_every_report_download_is_safe_with_either_separator(report_sets, pages, demo_workspace, tmp_path):
    """All CSV downloads of every organisation report (both languages), plus one whose explanations and file
    name carry formulas."""
    ws = _copy(demo_workspace, tmp_path / "inj")
    con = duckdb.connect(str(ws.db_path))
    org = con.execute(
        "SELECT org_code FROM findings WHERE explained AND year = ? ORDER BY 1 LIMIT 1", [YEAR]
    ).fetchone()[0]
    con.execute(
        "UPDATE findings SET explanation = ? WHERE org_code = ? AND year = ? AND explained",
        ["Reorganisatie; =2+5, +cmd|' /C calc'!A0\n@SUM(1+1)", org, YEAR],
    )
    con.execute("UPDATE findings SET value = ? WHERE org_code = ? AND year = ? AND explained", ["-x,=1+1", org, YEAR])
    con.close()
    build_reports(ws, YEAR, org=org)
    build_reports(ws, YEAR, org=org, lang="en")
    extra = [ws.reports / str(YEAR) / "organisations" / f"{org}{s}.html" for s in ("", ".en")]
    n = 0
    extra_pages = {path: parse(path) for path in extra}
    for path in [*report_sets["nl"], *report_sets["en"], *extra]:
        for _section, uri in (pages[path] if path in pages else extra_pages[path]).csv:
            n += 1
            assert _formula_cells(uri) == [], path.name
    assert n > 1000
    text = " ".join(csv_text(u) for _s, u in extra_pages[extra[0]].csv)
    assert "Reorganisatie; '=2+5, '+cmd" in text


# ------------------------------------------------------------------------------ (e) disk full


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _tmp_files(folder: Path) -> list[str]:
    return [p.as_posix() for p in folder.rglob("*") if ".tmp-" in p.name]


@pytest.fixture()
def small_disk(tmp_path):
    mount = tmp_path / "reports"
    mount.mkdir()
    if not shutil.which("mount") or os.geteuid() != 0:
        pytest.skip("a tmpfs needs root and mount(8); the RLIMIT_FSIZE test covers the same path")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {r.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_report_disk_full_keeps_the_previous_set(demo_workspace, small_disk):
    """Issue 12 item 10: a real out-of-space condition (a 24 MB tmpfs as reports/) while writing a year's set."""
    ws = copy_workspace(demo_workspace, small_disk.parent)
    con = duckdb.connect(str(ws.db_path), read_only=True)
    org = con.execute("SELECT min(org_code) FROM submissions WHERE year = ? AND in_force", [YEAR]).fetchone()[0]
    con.close()
    build_reports(ws, YEAR, org=org)  # ~6 MB: overview, plotly.js, one report, feedback pages
    year_dir = ws.reports / str(YEAR)
    before = _snapshot(year_dir)
    with pytest.raises(ReportWriteError) as info:
        build_reports(ws, YEAR)  # 35 self-contained reports of ~1.2 MB do not fit
    assert info.value.errno == 28
    assert "de schijf is vol" in info.value.message_nl and "the disk is full" in info.value.message_en
    assert str(year_dir) in info.value.message_en
    assert _snapshot(year_dir) == before
    assert _tmp_files(ws.reports) == []
    assert sorted(p.name for p in ws.reports.iterdir()) == [str(YEAR)]
    cli = rbb("report", "--root", str(ws.root), "--year", str(YEAR))
    assert cli.returncode == 1 and "Traceback" not in cli.stderr, cli.stderr[-2000:]
    said = " ".join(cli.stderr.split())
    assert "the disk is full" in said and "de schijf is vol" in said
    assert _snapshot(year_dir) == before and _tmp_files(ws.reports) == []
    paths = build_reports(ws, YEAR, org=org, lang="en")  # a build that fits still works afterwards
    assert all(p.exists() for p in paths) and _snapshot(year_dir).keys() > before.keys()


def test_report_file_size_limit_keeps_the_previous_set(demo_workspace, tmp_path):
    """The same with RLIMIT_FSIZE in a child process (SIGXFSZ ignored, so the write fails with EFBIG)."""
    ws = _copy(demo_workspace, tmp_path / "fsize")
    con = duckdb.connect(str(ws.db_path), read_only=True)
    org = con.execute("SELECT min(org_code) FROM submissions WHERE year = ? AND in_force", [YEAR]).fetchone()[0]
    con.close()
    build_reports(ws, YEAR, org=org, shared_assets=True)
    year_dir = ws.reports / str(YEAR)
    before = _snapshot(year_dir)
    script = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (800_000, 800_000))  # a self-contained report is ~1.2 MB
        from pipeline.report.pages import ReportWriteError, build_reports
        from pipeline.core.workspace import Workspace
        try:
            build_reports(Workspace.at({str(ws.root)!r}), {YEAR}, org={org!r})
        except ReportWriteError as exc:
            print(exc.message_en)
            sys.exit(3)
    """)
    r = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(Path.cwd()))},
    )
    assert r.returncode == 3, r.stderr[-2000:]
    assert "a file is larger than allowed" in r.stdout and "are unchanged" in r.stdout
    assert _snapshot(year_dir) == before
    assert _tmp_files(ws.reports) == []


# ------------------------------------------------------------------------------ item 11: bidi spoofing


def test_bidi_override_in_file_names_and_texts_is_shown_not_obeyed(demo_workspace, tmp_path):
    ws = _copy(demo_workspace, tmp_path / "bidi")
    con = duckdb.connect(str(ws.db_path))
    org = con.execute(
        "SELECT org_code FROM findings WHERE explained AND year = ? ORDER BY 1 LIMIT 1", [YEAR]
    ).fetchone()[0]
    con.execute(
        "UPDATE submissions SET original_name = ? WHERE org_code = ? AND year = ?",
        ["rapport\u202excod.xlsx", org, YEAR],
    )
    con.execute(
        "UPDATE findings SET explanation = ? WHERE org_code = ? AND year = ? AND explained",
        ["zie bijlage\u2067\u200b\u202e gnirts", org, YEAR],
    )
    con.close()
    paths = build_reports(ws, YEAR, org=org)
    pages = [p for p in paths if p.suffix == ".html" and (p.parent.name in ("organisations", "validation"))]
    assert any(p.parent.name == "validation" for p in pages)
    for p in pages:
        html = p.read_text("utf-8")
        assert not re.search("[\u202a-\u202e\u2066-\u2069\u200b-\u200f]", html), p.name
    org_html = (ws.reports / str(YEAR) / "organisations" / f"{org}.html").read_text("utf-8")
    assert "rapport&lt;U+202E&gt;xcod.xlsx" in org_html
    assert "zie bijlage&lt;U+2067&gt;&lt;U+200B&gt;&lt;U+202E&gt; gnirts" in org_html
    csv_all = " ".join(csv_text(u) for _s, u in parse(ws.reports / str(YEAR) / "organisations" / f"{org}.html").csv)
    assert "<U+202E> gnirts" in csv_all and "\u202e" not in csv_all


def test_seal_refuses_labelled_peer_points():
    fig = {
        "data": [
            {"type": "scatter", "x": [1.0], "y": [2], "legendgroup": "peers", "hoverinfo": "skip", "hovertext": ["DUO"]}
        ],
        "layout": {},
    }
    with pytest.raises(disclosure.DisclosureError):
        disclosure.seal(fig)
    fig["data"][0].pop("hovertext")
    assert disclosure.seal(fig) is fig
    with pytest.raises(disclosure.DisclosureError):
        disclosure.seal({"data": [{"x": [1], "customdata": [[1.234]]}], "layout": {}})


def test_a_moved_statistic_never_gives_away_a_small_fraction_and_plain_rounding_would():
    """The rule behind every statistic (display_statistic) against the Stern–Brocot attack, for every fraction
    p/q with q up to 60 on a percentage scale at one decimal: the shown number never yields p/q, while plain
    rounding would give most of them away (so the attack is one that can succeed)."""
    plain_hits = moved_hits = 0
    for q in range(2, 61):
        for p in range(0, q + 1):
            value = 100 * p / q
            plain = disclosure.display(value, 1)
            moved = disclosure.display_statistic(value, 1, 100)
            if Fraction(p, q) * 1000 == int(Fraction(p, q) * 1000):
                continue  # shown exactly at this precision: nothing beyond the display value
            plain_hits += recovered(plain, 1, 100.0)[1] == Fraction(p, q)
            moved_hits += recovered(moved, 1, 100.0)[1] == Fraction(p, q)
            assert abs(moved - value) < 0.15 + 1e-9  # at most one display unit beyond plain rounding
    assert moved_hits == 0
    assert plain_hits > 500
