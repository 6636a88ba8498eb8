"""The reports for their readers: the member report's first screen and glossary, efficiency scores that mean
something, and readable overview charts."""

from __future__ import annotations

import html
import json
import re

import duckdb
import pandas as pd
import pytest
from workspaces import dutch

from pipeline.report.glance import GLOSSARY, band

YEAR = 2025


def _specs(page: str) -> dict[str, dict]:
    return {
        m.group(1): json.loads(m.group(2))
        for m in re.finditer(r'class="chart-spec" data-target="([^"]+)">(.*?)</script>', page, re.S)
    }


def _section(page: str, section_id: str) -> str:
    """From a section's heading to the next top-level heading (sections nest figure blocks)."""
    start = page.index(f'id="{section_id}"')
    end = page.find("<h2 ", start + 1)
    return page[start : end if end > 0 else len(page)]


def _text(fragment: str) -> str:
    fragment = re.sub(r"<script.*?</script>", " ", fragment, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


@pytest.fixture(scope="module")
def reports(demo_workspace):
    return demo_workspace.reports / str(YEAR)


@pytest.fixture(scope="module")
def comparisons(demo_workspace) -> pd.DataFrame:
    con = duckdb.connect(str(demo_workspace.db_path), read_only=True)
    try:
        return con.execute(
            "SELECT c.org_code, c.year, c.indicator_code, c.percentile, c.quartile, c.n_orgs, i.theme, i.direction "
            "FROM comparisons c JOIN indicator_catalogue i ON i.code = c.indicator_code"
        ).df()
    finally:
        con.close()


def test_first_screen_states_the_position_per_theme_as_computed_independently(reports, comparisons):
    org = "UWV"
    page = (reports / "organisations" / f"{org}.html").read_text("utf-8")
    glance = _section(page, "glance")
    assert page.index('id="glance"') < page.index('id="toc-title"')  # before everything else
    mine = comparisons[
        (comparisons["org_code"] == org)
        & (comparisons["year"] == YEAR)
        & comparisons["direction"].isin(["higher", "lower"])
        & (comparisons["n_orgs"] >= 5)
        & comparisons["percentile"].notna()
    ]
    means = mine.groupby("theme")["percentile"].mean()
    words = {1: "bij de besten", 2: "boven het midden", 3: "onder het midden", 4: "achteraan"}
    text = _text(glance)
    for theme, mean in means.items():
        assert band(mean) == (1 if mean >= 75 else 2 if mean >= 50 else 3 if mean >= 25 else 4)
        n = int((mine["theme"] == theme).sum())
        assert re.search(rf"{words[band(mean)]}[^()]*\({n} indicator", text), (theme, mean)
    spec = _specs(glance)["fig-glance"]
    bars = spec["data"][0]
    assert len(bars["x"]) == len(means)
    assert sorted(round(x, 1) for x in bars["x"]) == sorted(round(m, 1) for m in means)
    # three strongest and three weakest, each with how certain it is
    for title in ("Drie sterkste punten", "Drie zwakste punten"):
        part = glance[glance.index(title) :]
        items = re.findall(r"<li>(.*?)</li>", part[: part.index("</ol>")], re.S)
        assert len(items) == 3
        for item in items:
            assert re.search(r"zeker|onzeker|gemeten over alle zaken", _text(item))
    assert "Wat veranderde sinds 2024" in text
    # the terms link to the glossary, and every glossary entry is there
    for key, *_ in GLOSSARY:
        assert f'href="#term-{key}"' in glance and f'id="term-{key}"' in page


def test_first_screen_in_english_and_no_jargon_on_member_pages(reports):
    page = (reports / "organisations" / "UWV.en.html").read_text("utf-8")
    glance = _text(_section(page, "glance"))
    assert "At a glance" in page and "Three strongest points" in glance and "What changed since 2024" in glance
    for path in dutch(reports / "organisations")[:6]:
        visible = _text(path.read_text("utf-8"))
        for jargon in ("p25", "p75", "IQR", "HC1", "z-score"):
            assert jargon not in visible, (path.name, jargon)


def test_efficiency_scores_come_with_meaning_margin_and_saving_never_with_peers(reports, demo_workspace):
    con = duckdb.connect(str(demo_workspace.db_path), read_only=True)
    try:
        dea = con.execute(
            "SELECT org_code, model, score, score_bc, ci_low, ci_high, peers, status, n_units, min_units "
            "FROM dea_results WHERE year = ?",
            [YEAR],
        ).df()
    finally:
        con.close()
    published = dea[dea["status"] == "published"]
    assert not published.empty
    frontier = published[published["score"] >= 0.9995].iloc[0]
    below = published[published["score"] < 0.99].iloc[0]
    for row, phrase in ((frontier, "Uw score is 1,00"), (below, "minder")):
        page = (reports / "organisations" / f"{row['org_code']}.html").read_text("utf-8")
        part = _text(_section(page, "composite"))
        assert phrase in part and "95%-interval" in part
        assert f"{row['score_bc']:.2f}".replace(".", ",") in part  # the bias-corrected score
        others = {p for p in str(row["peers"]).split(";") if p and p != row["org_code"]}
        for other in others:  # reference members stay anonymous
            assert not re.search(rf"\b{re.escape(other)}\b", part), other
        spec = _specs(page)["fig-dea"]
        assert all(len(tr["x"]) > 0 for tr in spec["data"])
    saving = round(100 * (1 - below["score"]))
    page = _text((reports / "organisations" / f"{below['org_code']}.html").read_text("utf-8"))
    assert f"ongeveer {saving}% minder" in page
    hidden = dea[dea["status"] == "not_published"].iloc[0]
    page = _text((reports / "organisations" / f"{hidden['org_code']}.html").read_text("utf-8"))
    assert f"minstens {int(hidden['min_units'])} organisaties" in page and f"telt er {int(hidden['n_units'])}" in page


def test_overview_charts_use_labels_a_robust_scale_and_keep_the_toolbar_clear(reports, comparisons):
    page = (reports / "index.html").read_text("utf-8")
    specs = _specs(page)
    codes = set(comparisons["indicator_code"])
    heat = specs["fig-heatmap"]["data"][0]
    assert not set(heat["y"]) & codes and len(heat["y"]) >= 20  # indicator names, not codes
    clusters = specs["fig-clusters"]
    lo, hi = clusters["layout"]["xaxis"]["range"]
    inside = [x for tr in clusters["data"] if tr.get("mode") == "markers" for x in tr["x"]]
    assert all(lo <= x <= hi for x in inside)
    assert hi < 400  # two cost outliers no longer stretch the axis
    off = [tr for tr in clusters["data"] if "buiten de schaal" in tr.get("name", "")]
    if off:
        assert all(x in (lo, hi) for x in off[0]["x"]) and off[0]["hovertext"]
    assert "fig-composite" in specs and "fig-dea" in specs
    for name, spec in specs.items():
        assert spec["layout"]["modebar"]["orientation"] == "v", name
        assert spec["layout"]["margin"]["r"] >= 40, name
