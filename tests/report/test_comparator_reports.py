"""Re-identification attacks on the comparator section of the member reports (docs/comparators.md,
docs/confidentiality.md): read as a curious member would, the section names nobody, shows no per-peer value,
count or rank, and every number in it is the member's own value or a published, rounded statistic."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest

from pipeline.core.warehouse import connect
from pipeline.report import disclosure
from pipeline.report.comparators import WORDS
from pipeline.report.text import format_value

YEAR = 2025


@pytest.fixture(scope="module")
def truth(demo_workspace):
    con = connect(demo_workspace.db_path, read_only=True)
    try:
        return {
            "orgs": con.execute("SELECT * FROM organisations").fetch_df(),
            "stats": con.execute("SELECT * FROM comparator_stats WHERE year = ?", [YEAR]).fetch_df(),
            "groups": con.execute("SELECT * FROM comparator_groups WHERE year = ?", [YEAR]).fetch_df(),
            "cat": con.execute("SELECT * FROM indicator_catalogue").fetch_df(),
            "sets": con.execute("SELECT * FROM comparator_sets").fetch_df(),
        }
    finally:
        con.close()


def _section(page: str) -> str:
    m = re.search(r'<section aria-labelledby="comparators".*?</section>', page, re.S)
    assert m, "no comparator section"
    return m.group(0)


def _tables(section: str) -> list[tuple[str, list[list[str]]]]:
    out = []
    for cap, body in re.findall(r"<caption>(.*?)</caption>.*?<tbody>(.*?)</tbody>", section, re.S):
        rows = []
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S):
            rows.append(
                [
                    html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                    for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)
                ]
            )
        out.append((html.unescape(cap), rows))
    return out


def _pages(ws):
    folder = ws.reports / str(YEAR) / "organisations"
    for path in sorted(folder.glob("*.html")):
        lang = "en" if path.name.endswith(".en.html") else "nl"
        yield path.name.split(".")[0], lang, path.read_text("utf-8")


def test_comparator_section_names_no_other_member(demo_workspace, truth):
    orgs = truth["orgs"]
    seen = 0
    for code, _lang, page in _pages(demo_workspace):
        text = html.unescape(re.sub(r"<[^>]+>", " ", _section(page)))
        text = re.sub(r"data:[^\s\"]+", " ", text)
        for r in orgs.itertuples():
            if r.org_code == code:
                continue
            for word in {r.org_code, r.name, r.abbreviation}:
                if isinstance(word, str) and len(word) > 2:
                    assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text), (code, word)
        seen += 1
    assert seen >= 30


def test_comparator_section_has_no_points_counts_or_ranks(demo_workspace):
    """No chart (no anonymous points that could be linked with the other charts), no count, rank or position
    next to a value: a group's exact n beside its median would help a differencing attack."""
    for code, lang, page in _pages(demo_workspace):
        section = _section(page)
        assert "plotly" not in section.lower(), code
        w = WORDS[lang]
        for _caption, rows in _tables(section):
            for row in rows:
                assert len(row) == 6
                assert not any(re.search(r"\b(van|of)\s+\d+\b", c) for c in row[1:]), (code, row)
        assert "position" not in section.split("<table")[-1].lower() or lang == "nl"
        assert w["title"] in section


def test_every_number_is_own_or_a_published_rounded_statistic(demo_workspace, truth):
    cat = truth["cat"].set_index("code")
    names = {}
    for c, r in cat.iterrows():
        names[("nl", r["name_nl"])] = c
        names[("en", r["name_en"])] = c
    stats = truth["stats"].set_index(["org_code", "set_kind", "set_code", "indicator_code"])
    sets = truth["sets"].set_index("code")
    checked = hidden = 0
    for code, lang, page in _pages(demo_workspace):
        w = WORDS[lang]
        for caption, rows in _tables(_section(page)):
            if caption == w["table_default"].format(year=YEAR):
                kind, set_code = "default", "default"
            else:
                set_code = next(s for s in sets.index if sets.at[s, f"name_{lang}"] in caption)
                kind = "analyst"
            for row in rows:
                ind_code = names[(lang, row[0])]
                ind = cat.loc[ind_code].to_dict() | {"code": ind_code}
                r = stats.loc[(code, kind, set_code, ind_code)]
                if not r["published"]:
                    assert str(r["suppressed_reason"]).startswith("differencing"), (code, ind_code)
                    assert "(*)" in row[2] and row[3] == row[2], (code, ind_code, row)
                    hidden += 1
                    continue
                shown = disclosure.display_statistic(r["median"], int(ind["decimals"]), float(ind["scale"]))
                assert row[2] == format_value(shown, ind, lang), (code, ind_code, row)
                if r["n"] < disclosure.BAND_MIN_MEMBERS:
                    assert row[3] == "—"
                checked += 1
    assert checked > 2000 and hidden >= 1


def test_group_membership_is_nowhere_in_a_member_report(demo_workspace, truth):
    """The comparators of a member are not recoverable from its report: no list, no per-peer identifier, and
    the analyst tables holding them are not part of any report set."""
    g = truth["groups"]
    for code, _lang, page in _pages(demo_workspace):
        # plotly.js itself holds country codes such as "DJI"; the figures' own scripts stay in
        page = re.sub(
            r"<script[^>]*>.*?</script>", lambda m: "" if len(m.group(0)) > 200_000 else m.group(0), page, flags=re.S
        )
        mine = set(g[(g["org_code"] == code) & (g["set_kind"] == "default")]["comparator_code"])
        for other in mine:
            assert f'"{other}"' not in page and f">{other}<" not in page, (code, other)
    assert pd.notna(g["reason_nl"]).all()


def test_what_if_data_adds_nothing_to_the_published_points(demo_workspace):
    """The what-if widget's data are the indicator chart's anonymous points (the member's own one taken out),
    sorted by value: no identifier, no other order, no value the chart does not show."""
    import json

    from pipeline.report.data import load_report_data
    from pipeline.report.disclosure import MemberView

    con = connect(demo_workspace.db_path, read_only=True)
    try:
        data = load_report_data(con, YEAR)
    finally:
        con.close()
    checked = 0
    for code, _lang, page in _pages(demo_workspace):
        m = re.search(r'<script type="application/json" id="whatif-data">(.*?)</script>', page, re.S)
        if not m:
            continue
        view = MemberView(data, code)
        for item in json.loads(m.group(1))["items"]:
            assert set(item) == {"code", "name", "direction", "decimals", "others", "own"}
            peers = list(view.peers(item["code"]).values)
            others = list(item["others"])
            assert others == sorted(others)
            for x in others:  # every value is a drawn point; at most the member's own point is missing
                peers.remove(x)
            assert len(peers) <= 1 and (not peers or peers == [item["own"]])
            checked += 1
    assert checked > 300
