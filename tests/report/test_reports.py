"""HTML reports: offline and self-contained, deterministic, anonymised, escaped and accessible."""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import duckdb
import plotly.graph_objects as go
import pytest
from markupsafe import escape
from workspaces import copy_workspace, dutch, reporting_orgs

from pipeline.compute.engine import catalogue as catalogue_list
from pipeline.report import disclosure, figures
from pipeline.report.figures import csv_data_uri
from pipeline.report.pages import build_reports
from pipeline.report.render import CSP, fmt_number
from pipeline.report.text import format_value

YEAR = 2025
EVIL = "<script>alert(1)</script><img src=x onerror=alert(2)>"
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


# ------------------------------------------------------------------------------------------ helpers


class Page(HTMLParser):
    """Text nodes, attribute values and inline scripts of a report, with the indicator section of each."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[tuple[str | None, str]] = []
        self.attrs: list[tuple[str | None, str, str]] = []
        self.scripts: list[str] = []
        self.specs: list[dict[str, str]] = []
        self.sections: list[str | None] = []
        self.section_attrs: dict[str, dict[str, str]] = {}
        self._tags: list[str] = []
        self._script_target: str | None = None
        self._script: list[str] = []

    @property
    def indicator(self) -> str | None:
        return next((s for s in reversed(self.sections) if s), None)

    def handle_starttag(self, tag, attrs):
        d = {k: v or "" for k, v in attrs}
        if tag == "section":
            self.sections.append(d.get("data-indicator"))
            if d.get("data-indicator"):
                self.section_attrs[d["data-indicator"]] = d
        for k, v in attrs:
            self.attrs.append((self.indicator, k, v or ""))
        self._tags.append(tag)
        if tag == "script":
            self._script_target = d.get("data-target") if d.get("type") == "application/json" else None

    def handle_endtag(self, tag):
        if tag == "script":
            text = "".join(self._script)
            self.scripts.append(text)
            if self._script_target:
                self.specs.append({"target": self._script_target, "json": text})
            self._script, self._script_target = [], None
        if tag == "section" and self.sections:
            self.sections.pop()
        if self._tags and self._tags[-1] == tag:
            self._tags.pop()

    def handle_data(self, data):
        current = self._tags[-1] if self._tags else ""
        if current == "script":
            self._script.append(data)
        elif current != "style" and data.strip():
            self.texts.append((self.indicator, data))

    def figures(self) -> dict[str, dict]:
        """Every chart's figure spec (data, layout, config) keyed by its div id."""
        return {spec["target"]: json.loads(spec["json"]) for spec in self.specs}


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text("utf-8"))
    page.close()
    return page


def json_strings(obj) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in json_strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in json_strings(v)]
    return []


def csv_cells(uri: str) -> list[str]:
    text = unquote(uri.split(",", 1)[1]).lstrip("\ufeff")
    return [cell for row in csv.reader(io.StringIO(text), delimiter=";") for cell in row]


def whole_word(token: str) -> re.Pattern:
    return re.compile(rf"(?<![\w&-]){re.escape(token)}(?![\w&-])")


WORD = re.compile(r"[\w&-]+")


def mentions(token: str, corpus: str, words: set[str]) -> bool:
    """``whole_word(token)`` found in ``corpus``. ``words`` are the maximal runs of [\\w&-] in it: a token made of
    those characters only is a whole word there exactly when it is one of them (one scan of the page for all
    tokens instead of one regex search per token)."""
    if WORD.fullmatch(token):
        return token in words
    return whole_word(token).search(corpus) is not None


# ---------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def reports(demo_workspace) -> Path:
    """The reports the demo pipeline wrote (``rbb demo`` builds the last year in Dutch)."""
    path = demo_workspace.reports / str(YEAR)
    assert (path / "index.html").exists(), "rbb demo should have built the reports"
    return path


@pytest.fixture(scope="module")
def warehouse_frames(demo_workspace):
    con = duckdb.connect(str(demo_workspace.db_path), read_only=True)
    try:
        yield {
            "orgs": con.execute("SELECT org_code, name, abbreviation, cluster FROM organisations").fetchall(),
            "values": con.execute(
                "SELECT org_code, year, indicator_code, value, ci_low, ci_high FROM indicator_values"
                " WHERE value IS NOT NULL"
            ).fetchall(),
            "stats": con.execute(
                "SELECT year, indicator_code, scope, median, p25, p75, published FROM benchmark_stats"
            ).fetchall(),
            "catalogue": {
                r[0]: r
                for r in con.execute(
                    "SELECT code, decimals, name_nl, name_en, description, caveat, numerator, denominator, unit, "
                    "description_nl, description_en, formula_nl, formula_en, caveat_nl, caveat_en "
                    "FROM indicator_catalogue"
                ).fetchall()
            },
            "cluster_raw": con.execute(
                """SELECT v.indicator_code, o.cluster, count(*) AS n, median(v.value), quantile_cont(v.value, 0.25),
                          quantile_cont(v.value, 0.75)
                   FROM indicator_values v JOIN organisations o USING (org_code)
                   WHERE v.year = ? AND v.value IS NOT NULL GROUP BY ALL""",
                [YEAR],
            ).fetchall(),
            "unpublished": {
                (r[0], r[1])
                for r in con.execute(
                    "SELECT indicator_code, scope FROM benchmark_stats WHERE year = ? AND scope_kind = 'cluster' "
                    "AND NOT published",
                    [YEAR],
                ).fetchall()
            },
            "comparisons": con.execute("SELECT * FROM comparisons WHERE org_code IS NOT NULL").fetch_df(),
        }
    finally:
        con.close()


# ------------------------------------------------------------------------------------- unit level


def test_csv_download_escapes_formulas_and_uses_dutch_numbers():
    uri = csv_data_uri(
        ["naam", "waarde"],
        [
            ['=HYPERLINK("x")', ("num", 1234.5, 1)],
            ["@SUM", ("num", -2.25, 2)],
            ["+31 20", ("num", None, 1)],
            ["-x", ("num", 3, None)],
        ],
        "nl",
    )
    assert uri.startswith("data:text/csv;charset=utf-8,")
    text = unquote(uri.split(",", 1)[1])
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows == [
        ["naam", "waarde"],
        ['\'=HYPERLINK("x")', "1234,5"],
        ["'@SUM", "-2,25"],
        ["'+31 20", ""],
        ["'-x", "3"],
    ]
    en = unquote(csv_data_uri(["a"], [[("num", 1234.5, 1)]], "en").split(",", 1)[1])
    assert en.lstrip("\ufeff").splitlines() == ["a", "1234.5"]


def test_value_formats_follow_language():
    ind = {"decimals": 1, "unit": "%"}
    assert format_value(7.44, ind, "nl") == "7,4"
    assert format_value(1234.0, {"decimals": 0, "unit": "euro"}, "nl", with_unit=True) == "€ 1.234"
    assert format_value(1234.56, {"decimals": 2, "unit": "euro"}, "en", with_unit=True) == "€ 1,234.56"
    assert format_value(88.0, ind, "nl", with_unit=True) == "88,0%"
    assert format_value(None, ind, "nl") == "—"


# ------------------------------------------------------------------------------- files and shipping


def test_demo_writes_overview_and_one_report_per_member(demo_workspace, reports):
    con = duckdb.connect(str(demo_workspace.db_path), read_only=True)
    try:
        members = [
            r[0]
            for r in con.execute(
                "SELECT org_code FROM organisations WHERE member_since <= ? "
                "AND (member_until IS NULL OR member_until >= ?) ORDER BY 1",
                [YEAR, YEAR],
            ).fetchall()
        ]
    finally:
        con.close()
    orgs = reporting_orgs(demo_workspace.db_path)
    written = sorted(p.stem for p in dutch(reports / "organisations"))
    # members without an accepted submission get a report without own values
    assert written == members and set(orgs) < set(members) and len(orgs) >= 20
    assert (reports / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    assert any((reports / "validation").glob("*_v1.html"))


def test_plotly_is_offline_self_contained_and_never_from_a_cdn(reports):
    index = (reports / "index.html").read_text("utf-8")
    assert '<script src="assets/plotly.min.js"></script>' in index
    org_path = dutch(reports / "organisations")[0]
    org = org_path.read_text("utf-8")
    assert "<script src=" not in org, "organisation reports must work as a single e-mailed file"
    assert 900_000 < org_path.stat().st_size <= 1_500_000  # plotly.js packed inline (test_plotly_bundle.py)
    for text in (index, org):
        assert f'content="{escape(CSP)}"' in text
        sources = re.findall(r'<script[^>]*\ssrc="([^"]*)"', text)
        assert all(src == "assets/plotly.min.js" for src in sources), sources
        assert '"showSendToCloud":false' in text and '"displaylogo":false' in text


def test_every_figure_is_a_valid_plotly_figure_with_a_fixed_id(reports):
    for path in (reports / "index.html", dutch(reports / "organisations")[0]):
        figures = parse(path).figures()
        assert len(figures) >= 30
        for div_id, fig in figures.items():
            assert re.fullmatch(r"fig-[A-Za-z0-9_-]+", div_id)
            go.Figure(data=fig["data"], layout=fig["layout"])
            assert fig["config"]["showSendToCloud"] is False
            assert fig["layout"]["separators"] == ",."


def test_same_warehouse_gives_byte_identical_reports(demo_workspace, reports, tmp_path):
    ws = copy_workspace(demo_workspace, tmp_path / "again")
    build_reports(ws, YEAR)
    again = ws.reports / str(YEAR)
    names = ["index.html", "assets/plotly.min.js"] + [
        f"organisations/{p.name}" for p in sorted(dutch(reports / "organisations"))
    ]
    assert len(names) > 20
    for name in names:
        assert (again / name).read_bytes() == (reports / name).read_bytes(), name
    feedback = sorted(p.name for p in (reports / "validation").glob("*.html") if not p.name.endswith(".en.html"))
    for name in feedback:
        assert (again / "validation" / name).read_bytes() == (reports / "validation" / name).read_bytes(), name


def test_english_report_and_shared_assets(demo_workspace, tmp_path):
    ws = copy_workspace(demo_workspace, tmp_path / "en")
    org = reporting_orgs(ws.db_path)[0]
    paths = build_reports(ws, YEAR, org=org, lang="en", shared_assets=True)
    page = ws.reports / str(YEAR) / "organisations" / f"{org}.en.html"
    assert page in paths and (ws.reports / str(YEAR) / "index.en.html") in paths
    html = page.read_text("utf-8")
    assert '<html lang="en">' in html and "Your organisation" in html and re.search(r"position \d+ of \d+", html)
    assert '<script src="../assets/plotly.min.js"></script>' in html
    assert page.stat().st_size < 1_500_000
    assert '"separators":".,"' in html


def test_missing_composite_and_dea_tables_are_handled(demo_workspace, tmp_path):
    ws = copy_workspace(demo_workspace, tmp_path / "bare")
    con = duckdb.connect(str(ws.db_path))
    for table in ("composite_scores", "composite_uncertainty", "dea_results", "strengths_weaknesses"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.close()
    org = reporting_orgs(ws.db_path)[0]
    build_reports(ws, YEAR, org=org)
    html = (ws.reports / str(YEAR) / "organisations" / f"{org}.html").read_text("utf-8")
    assert "De samengestelde index is voor dit jaar niet berekend." in html
    assert "De efficiëntieanalyse (DEA) is voor dit jaar niet berekend." in html


def test_open_mode_names_members_in_a_separate_folder(demo_workspace, tmp_path, warehouse_frames):
    ws = copy_workspace(demo_workspace, tmp_path / "open")
    org = reporting_orgs(ws.db_path)[0]
    build_reports(ws, YEAR, org=org, open_mode=True)
    assert not (ws.reports / str(YEAR) / "organisations").exists()
    html = (ws.reports / str(YEAR) / "organisations-open" / f"{org}.html").read_text("utf-8")
    others = [name for code, name, _, _ in warehouse_frames["orgs"] if code != org]
    assert sum(name in html for name in others) >= 10


# ------------------------------------------------------------------------------ confidentiality


def _formats(value: float, decimals: int) -> frozenset[str]:
    """How a number can appear in a report: as text (1.234,5) and in a CSV download (1234,5)."""
    return _formats_of(value, math.copysign(1.0, value), decimals)  # the sign keeps -0.0 ("-0,0") apart from 0.0


@functools.cache
def _formats_of(value: float, _sign: float, decimals: int) -> frozenset[str]:
    """Memoised: the same values are looked for on every member's page."""
    text = fmt_number(value, decimals, "nl")
    return frozenset({text, text.replace(".", "")})


def own_predecessors(code: str) -> set[str]:
    """The codes that stood for ``code`` in earlier years (the demo register's merger)."""
    from pipeline.demo.data import demo_organisations
    from pipeline.metadata.lineage import Lineage

    lin = Lineage.of(demo_organisations())
    return {c for y in range(2000, 2030) for c in lin.codes(code, y)} - {code}


def test_organisation_reports_do_not_leak_other_members(reports, warehouse_frames):
    orgs = warehouse_frames["orgs"]
    catalogue = warehouse_frames["catalogue"]
    clusters = {code: cluster for code, _, _, cluster in orgs}
    published: dict[str, set[str]] = {}
    scales = {i.code: i.scale for i in catalogue_list()}
    for _year, code, _scope, *numbers, is_published in warehouse_frames["stats"]:
        if is_published:
            for x in numbers:
                if x is not None:
                    published.setdefault(code, set()).update(_formats(x, catalogue[code][1]))
                    # as the disclosure layer shows it (moved one unit where it would pin down a fraction)
                    shown = disclosure.display_statistic(x, catalogue[code][1], scales[code])
                    published[code].update(_formats(shown, catalogue[code][1]))
    for code, row in catalogue.items():
        for text in row[2:]:
            published.setdefault(code, set()).update(NUMBER.findall(text or ""))
    catalogue_texts = {t for row in catalogue.values() for t in row[2:] if t}
    values_by_org: dict[str, list[tuple[str, float]]] = {}
    for org, _year, code, value, lo, hi in warehouse_frames["values"]:
        values_by_org.setdefault(org, []).append((code, value))
        for x in (lo, hi):
            if x is not None:
                values_by_org[org].append((code, x))

    paths = sorted(dutch(reports / "organisations"))
    assert len(paths) >= 20
    for path in paths:
        me = path.stem
        page = parse(path)
        texts = [(ind, t) for ind, t in page.texts if t.strip() not in catalogue_texts]
        for ind, name, value in page.attrs:
            if value.startswith("data:text/csv"):
                texts += [(ind, c) for c in csv_cells(value) if c not in catalogue_texts]
            elif name not in ("href", "download", "id", "aria-labelledby"):
                texts.append((ind, value))
        figs = page.figures()
        figure_texts = [s for fig in figs.values() for s in json_strings(fig["data"])]
        figure_texts += [s for fig in figs.values() for s in json_strings(fig["layout"])]
        corpus = "\n".join(t for _, t in texts) + "\n" + "\n".join(figure_texts)
        words = set(WORD.findall(corpus))

        for code, name, abbreviation, _ in orgs:
            if code == me or code in own_predecessors(me):
                continue  # a member's report may name its own predecessors: they are the member itself
            assert name not in corpus, f"{path.name} names {name}"
            for token in {code, abbreviation} - {None, ""}:
                assert not mentions(token, corpus, words), f"{path.name} mentions {token}"

        own_allowed: dict[str, set[str]] = {}
        for code, value in values_by_org.get(me, []):
            own_allowed.setdefault(code, set()).update(_formats(value, catalogue[code][1]))
        tokens: dict[str, set[str]] = {}
        for ind, text in texts:
            if ind:
                tokens.setdefault(ind, set()).update(NUMBER.findall(text))
        for other, pairs in values_by_org.items():
            if other == me:
                continue
            for code, value in pairs:
                decimals = catalogue[code][1]
                if decimals == 0 and abs(value) < 1000:
                    continue  # a bare small integer cannot be told apart from a count or a rank
                seen = _formats(value, decimals) & tokens.get(code, set())
                leaked = seen - published.get(code, set()) - own_allowed.get(code, set())
                assert not leaked, f"{path.name}: value {leaked} of another member in section {code}"

        for code, scope in warehouse_frames["unpublished"]:
            if scope != clusters[me] or code not in page.section_attrs:
                continue
            assert page.section_attrs[code]["data-cluster-published"] == "false", (path.name, code)
            fig = figs[f"fig-ind-{code}"]
            cluster_shapes = [
                s
                for s in fig["layout"].get("shapes", [])
                if figures.CLUSTER in (s.get("line", {}).get("color"), s.get("fillcolor"))
                or s.get("fillcolor") == figures.CLUSTER_BAND
            ]
            assert cluster_shapes == [], (path.name, code)
            for trace in fig["data"]:
                if trace.get("name") == "Mediaan cluster":
                    assert trace["y"][trace["x"].index(YEAR)] is None, (path.name, code)
            for ind_code, cluster, _n, *stats in warehouse_frames["cluster_raw"]:
                if ind_code == code and cluster == scope:
                    hidden = set().union(*(_formats(x, catalogue[code][1]) for x in stats if x is not None))
                    shown = hidden & tokens.get(code, set())
                    assert not (shown - published.get(code, set()) - own_allowed.get(code, set())), (path.name, code)


def test_other_members_are_unlabeled_points_in_value_order(reports):
    page = parse(sorted(dutch(reports / "organisations"))[0])
    peers = [t for fig in page.figures().values() for t in fig["data"] if t.get("name") == "Leden (anoniem)"]
    assert len(peers) >= 25
    for trace in peers:
        assert trace["hoverinfo"] == "skip"
        assert not {"text", "hovertext", "customdata", "ids"} & set(trace)
        assert trace["x"] == sorted(trace["x"])
