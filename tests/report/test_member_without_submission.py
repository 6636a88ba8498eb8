"""A report for every member: members without an accepted submission in the year (nothing received, or every
delivery rejected) get a report without own values, with their status, what to do and by when, the benchmark of
the other members and their own earlier years."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from inprocess import rbb
from workspaces import copy_workspace, reporting_orgs

from pipeline import compute, report
from pipeline.core.settings import write_calendar
from pipeline.demo.data import MISSING_ORG
from pipeline.report.text import TEXT, format_value

YEAR = 2025
FIX_CELL = "Producten!C7"
FIX_MESSAGE_NL = "Het aantal afgehandelde zaken ontbreekt: vul een aantal in of kies n.v.t."
FIX_MESSAGE_EN = "The number of cases handled is missing: fill in a number or choose n/a."


# ------------------------------------------------------------------------------------------ helpers


def members(db: Path, year: int = YEAR) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [
            r[0]
            for r in con.execute(
                "SELECT org_code FROM organisations WHERE member_since <= ? "
                "AND (member_until IS NULL OR member_until >= ?) ORDER BY 1",
                [year, year],
            ).fetchall()
        ]
    finally:
        con.close()


def own_values(db: Path, org: str) -> dict[tuple[int, str], float]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT year, indicator_code, value FROM indicator_values WHERE org_code = ? AND value IS NOT NULL",
            [org],
        ).fetchall()
    finally:
        con.close()
    return {(int(y), c): v for y, c, v in rows}


def chart_specs(page: str) -> dict[str, dict]:
    specs = re.findall(r'<script type="application/json"[^>]*data-target="([^"]+)"[^>]*>(.*?)</script>', page, re.S)
    return {target: json.loads(text) for target, text in specs}


def section(page: str, section_id: str) -> str:
    """The html of one <section> by its heading id (sections of the organisation report do not nest deeper)."""
    start = page.index(f'aria-labelledby="{section_id}"')
    return page[start : page.index("</section>", start)]


def text_of(fragment: str) -> str:
    fragment = re.sub(r"<script.*?</script>", " ", fragment, flags=re.S)
    fragment = re.sub(r'href="data:[^"]*"', "", fragment)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment)))


def kpis(page: str) -> dict[str, str]:
    tiles = re.findall(r'<div class="kpi"><span>(.*?)</span><strong>(.*?)</strong></div>', page)
    return {html.unescape(k): html.unescape(v) for k, v in tiles}


# ---------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def built(demo_workspace, tmp_path_factory):
    """A copy of the demo warehouse in which one member's in-force delivery of the last year is rejected (and the
    computed tables recomputed without it), with a deadline calendar, and every report of the year in Dutch and
    English."""
    ws = copy_workspace(demo_workspace, tmp_path_factory.mktemp("all-members"))
    # the demo's own register (with its merged member): compute rewrites the warehouse's organisations from it
    shutil.copy2(demo_workspace.root / "data" / "organisations.csv", ws.root / "data" / "organisations.csv")
    candidates = [c for c in reporting_orgs(ws.db_path) if c != MISSING_ORG]
    rejected = next(c for c in candidates if any(y < YEAR for y, _ in own_values(ws.db_path, c)))
    old_values = {k: v for k, v in own_values(ws.db_path, rejected).items() if k[0] == YEAR}
    assert old_values, "the member to reject had accepted values this year"
    con = duckdb.connect(str(ws.db_path))
    try:
        sub_id, version, org_year = con.execute(
            "SELECT submission_id, version, year FROM submissions WHERE org_code = ? AND year = ? AND in_force",
            [rejected, YEAR],
        ).fetchone()
        con.execute(
            "UPDATE submissions SET status = 'rejected', in_force = false, n_errors = 2 WHERE submission_id = ?",
            [sub_id],
        )
        seq = con.execute("SELECT coalesce(max(seq), 0) FROM findings WHERE submission_id = ?", [sub_id]).fetchone()[0]
        for i, cell in enumerate((FIX_CELL, "Producten!C8")):
            con.execute(
                """INSERT INTO findings (submission_id, org_code, year, version, seq, severity, rule, sheet, cell,
                                         row_number, field, value, message_nl, message_en, explained, explanation)
                   VALUES (?, ?, ?, ?, ?, 'error', 'required', 'producten', ?, ?, 'afgehandeld', NULL, ?, ?,
                           false, NULL)""",
                [sub_id, rejected, org_year, version, seq + 1 + i, cell, 7 + i, FIX_MESSAGE_NL, FIX_MESSAGE_EN],
            )
        received = con.execute("SELECT max(received_at) FROM submissions WHERE year = ?", [YEAR]).fetchone()[0]
    finally:
        con.close()
    compute.run(ws)
    as_of = received.date()
    delivery, feedback = as_of - dt.timedelta(days=1), as_of + dt.timedelta(days=30)
    write_calendar(ws.root, {YEAR: {"delivery": delivery, "feedback": feedback}})
    paths = {lang: report.run(ws, YEAR, lang=lang) for lang in ("nl", "en")}
    return {
        "ws": ws,
        "rejected": rejected,
        "version": int(version),
        "old_values": old_values,
        "paths": paths,
        "delivery": delivery,
        "feedback": feedback,
        "folder": ws.reports / str(YEAR),
    }


def page_of(built, org: str, lang: str = "nl") -> str:
    suffix = "" if lang == "nl" else f".{lang}"
    return (built["folder"] / "organisations" / f"{org}{suffix}.html").read_text("utf-8")


# ------------------------------------------------------------------------------------------- tests


def test_every_member_of_the_register_gets_a_report_in_both_languages(built):
    ws = built["ws"]
    expected = members(ws.db_path)
    with_data = reporting_orgs(ws.db_path)
    assert MISSING_ORG in expected and MISSING_ORG not in with_data
    assert built["rejected"] in expected and built["rejected"] not in with_data
    folder = built["folder"] / "organisations"
    nl = sorted(p.name.removesuffix(".html") for p in folder.glob("*.html") if not p.name.endswith(".en.html"))
    en = sorted(p.name.removesuffix(".en.html") for p in folder.glob("*.en.html"))
    assert nl == expected and en == expected
    assert len(expected) > len(with_data)
    for lang, paths in built["paths"].items():
        assert sum(1 for p in paths if p.parent.name == "organisations") == len(expected), lang


def test_missing_member_says_no_delivery_and_shows_no_own_value(built):
    nl, en = page_of(built, MISSING_ORG), page_of(built, MISSING_ORG, "en")
    assert '<html lang="nl">' in nl and '<html lang="en">' in en
    status_nl, status_en = text_of(section(nl, "standing")), text_of(section(en, "standing"))
    assert f"Voor {YEAR} is geen aanlevering van" in status_nl and "geen eigen waarden" in status_nl
    assert "No submission of" in status_en and f"for {YEAR} has been received" in status_en
    # the calendar's delivery date is behind the data of the warehouse: the deadline has passed
    assert f"De termijn is verstreken op {built['delivery']:%d-%m-%Y}" in status_nl
    assert f"The deadline passed on {built['delivery']:%Y-%m-%d}" in status_en
    assert "Fouten in versie" not in nl and "../validation/" not in section(nl, "standing")

    for lang, page in (("nl", nl), ("en", en)):
        t = TEXT[lang]
        figs = {k: v for k, v in chart_specs(page).items() if k.startswith("fig-ind-")}
        assert len(figs) >= 30
        for fig_id, fig in figs.items():
            names = [t.get("name") for t in fig["data"]]
            assert "Uw organisatie" not in names and "Your organisation" not in names, fig_id
            for trace in fig["data"]:
                if trace.get("xaxis") != "x2" and trace.get("marker", {}).get("symbol") == "diamond":
                    pytest.fail(f"{fig_id}: an own marker in the position panel")
                if trace.get("xaxis") == "x2" and trace.get("marker", {}).get("symbol") == "diamond":
                    assert trace["y"][trace["x"].index(YEAR)] is None, fig_id  # no own point this year
                if trace.get("legendgroup") == "peers":
                    assert trace["hoverinfo"] == "skip" and not {"text", "hovertext", "customdata"} & set(trace)
            assert t["no_data_for"].format(year=YEAR) in fig["layout"]["yaxis"]["ticktext"][-1]
        assert TEXT[lang]["no_own_value"].format(year=YEAR) in text_of(page)

    tiles = kpis(nl)
    assert tiles["Status"] == "Niet aangeleverd"
    for label in ("Positie in de index", "Efficiëntiescore (DEA)", "Sterke punten", "Aandachtspunten"):
        assert tiles[label] == f"geen gegevens voor {YEAR}", label
    assert kpis(en)["Strengths"] == f"no data for {YEAR}"
    for page in (nl, en):
        assert not re.search(r"\bnan\b", text_of(page), re.I)
        assert all(v not in ("0", "nan") for v in kpis(page).values())


def test_missing_member_report_holds_its_earlier_years(built):
    values = own_values(built["ws"].db_path, MISSING_ORG)
    assert not any(y == YEAR for y, _ in values), "the demo's missing member has no values this year"
    earlier = {k: v for k, v in values.items() if k[0] < YEAR}
    assert earlier, "the demo's missing member delivered in earlier years"
    con = duckdb.connect(str(built["ws"].db_path), read_only=True)
    try:
        catalogue = {
            r[0]: {"code": r[0], "decimals": int(r[1]), "unit": r[2]}
            for r in con.execute("SELECT code, decimals, unit FROM indicator_catalogue").fetchall()
        }
    finally:
        con.close()
    for lang in ("nl", "en"):
        page = page_of(built, MISSING_ORG, lang)
        block = section(page, "fig-earlier-title")
        assert TEXT[lang]["earlier_title"] in block
        cells = re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", block, re.S)
        table_text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)) for _, row in cells)
        shown = 0
        for (year, code), value in sorted(earlier.items()):
            assert format_value(value, catalogue[code], lang) in table_text, (lang, year, code)
            shown += 1
        assert shown >= 30
        years = re.findall(r'<th scope="col" class="num">(\d{4})</th>', block)
        assert years and all(int(y) < YEAR for y in years)


def test_rejected_member_names_what_to_fix_links_its_feedback_and_has_no_own_value(built):
    code, version = built["rejected"], built["version"]
    nl, en = page_of(built, code), page_of(built, code, "en")
    status_nl, status_en = section(nl, "standing"), section(en, "standing")
    text_nl, text_en = text_of(status_nl), text_of(status_en)
    assert f"versie {version}" in text_nl and "afgewezen met 2 fouten" in text_nl
    assert f"version {version}" in text_en and "rejected with 2 errors" in text_en
    assert FIX_CELL in text_nl and FIX_MESSAGE_NL in text_nl and FIX_MESSAGE_EN in text_en
    assert f"Lever vóór {built['feedback']:%d-%m-%Y} een gecorrigeerd bestand aan." in text_nl
    assert f"Deliver a corrected file before {built['feedback']:%Y-%m-%d}." in text_en
    href = f"../validation/{code}_v{version}.html"
    assert f'href="{href}"' in status_nl
    assert f'href="../validation/{code}_v{version}.en.html"' in status_en
    assert (built["folder"] / "organisations" / href).resolve().exists()
    assert kpis(nl)["Status"] == "Afgewezen"

    # its values of this year (from the delivery now rejected) are nowhere as its own: no own marker, no own
    # point in the trend and an empty own value in every indicator table
    figs = {k: v for k, v in chart_specs(nl).items() if k.startswith("fig-ind-")}
    for (_, ind), _value in built["old_values"].items():
        fig = figs[f"fig-ind-{ind}"]
        assert "Uw organisatie" not in [t.get("name") for t in fig["data"]], ind
        for trace in fig["data"]:
            if trace.get("xaxis") == "x2" and trace.get("marker", {}).get("symbol") == "diamond":
                assert trace["y"][trace["x"].index(YEAR)] is None, ind
    own_rows = re.findall(rf"<tr><th scope=\"row\">{YEAR}</th><td class=\"num\">(.*?)</td>", nl)
    assert len(own_rows) >= 30 and set(own_rows) == {"—"}


def test_overview_lists_members_without_data_honestly(built):
    index = (built["folder"] / "index.html").read_text("utf-8")
    rows = re.findall(r"<tr><th scope=\"row\">([A-Z0-9-]+)</th>(.*?)</tr>", index, re.S)
    kinds = {code: text_of(row) for code, row in rows}
    for code in (MISSING_ORG, built["rejected"]):
        assert "rapport zonder eigen gegevens" in kinds[code], code
    with_data = reporting_orgs(built["ws"].db_path)
    assert all("rapport zonder eigen gegevens" not in kinds[c] for c in with_data)
    tiles = kpis(index)
    assert tiles["Leden met geaccepteerde gegevens"] == str(len(with_data))
    n_without = len(members(built["ws"].db_path)) - len(with_data)
    assert tiles["Rapporten zonder eigen gegevens"] == str(n_without)


def test_without_calendar_the_report_says_what_to_do_and_is_deterministic(demo_workspace, tmp_path):
    ws = copy_workspace(demo_workspace, tmp_path / "plain")
    settings = ws.root / "data" / "settings.yaml"  # the demo's calendar: none here (its other settings stay)
    raw = yaml.safe_load(settings.read_text("utf-8"))
    raw.pop("calendar", None)
    settings.write_text(yaml.safe_dump(raw, sort_keys=False), "utf-8")
    report.run(ws, YEAR, org=MISSING_ORG)
    page = ws.reports / str(YEAR) / "organisations" / f"{MISSING_ORG}.html"
    first = page.read_bytes()
    status = text_of(section(first.decode("utf-8"), "standing"))
    assert "Wat te doen:" in status
    assert "Lever vóór" not in status and "termijn" not in status
    report.run(ws, YEAR, org=MISSING_ORG)
    assert page.read_bytes() == first


def test_cli_report_for_a_member_without_data_and_an_unknown_code(demo_workspace, tmp_path):
    ws = copy_workspace(demo_workspace, tmp_path / "cli")
    done = rbb("report", "--root", str(ws.root), "--year", str(YEAR), "--org", MISSING_ORG.lower())
    assert done.returncode == 0, done.stderr
    page = ws.reports / str(YEAR) / "organisations" / f"{MISSING_ORG}.html"
    assert page.exists() and "Niet aangeleverd" in page.read_text("utf-8")

    unknown = rbb("report", "--root", str(ws.root), "--year", str(YEAR), "--org", "XYZ")
    assert unknown.returncode != 0
    assert "unknown organisation code 'XYZ'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    assert not (ws.reports / str(YEAR) / "organisations" / "XYZ.html").exists()

    with pytest.raises(ValueError, match="unknown organisation code 'XYZ'"):
        report.run(ws, YEAR, org="xyz")
