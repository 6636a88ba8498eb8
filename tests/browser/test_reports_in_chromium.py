"""Reports in Debian Chromium: every chart renders offline, nothing is fetched, axe finds no serious problem,
and a hostile organisation name stays text."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest
from workspaces import copy_workspace, dutch, reporting_orgs

from pipeline.report.pages import build_reports

YEAR = 2025
CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
#: the trace types of every chart spec of a page (a trace without a type is a scatter, as in plotly.js)
USED_TRACES = """[...new Set([...document.querySelectorAll('script.chart-spec')]
    .flatMap(n => JSON.parse(n.textContent).data.map(t => t.type || 'scatter')))]"""
EVIL = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def reports(demo_workspace) -> Path:
    """The reports the demo pipeline wrote (``rbb demo`` builds the last year in Dutch)."""
    path = demo_workspace.reports / str(YEAR)
    assert (path / "index.html").exists(), "rbb demo should have built the reports"
    return path


@pytest.fixture(scope="module")
def chromium_browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield b
        b.close()


def open_report(browser, path: Path):
    """Load a report from file:// and wait until every chart has rendered; returns (page, problems)."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems = {"console": [], "network": [], "dialogs": []}
    page.on("console", lambda m: problems["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems["console"].append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else problems["network"].append(r.url))
    page.on("dialog", lambda d: (problems["dialogs"].append(d.message), d.dismiss()))
    page.goto(path.resolve().as_uri(), wait_until="load")
    # Polled with evaluate: wait_for_function would need 'unsafe-eval', which the reports' CSP forbids.
    deadline = time.monotonic() + 30
    while not page.evaluate(
        "[...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('.main-svg'))"
    ):
        assert time.monotonic() < deadline, f"charts of {path.name} did not render"
        page.wait_for_timeout(100)
    return page, problems


def _check_page(browser, path: Path, axe: bool = True) -> dict:
    page, problems = open_report(browser, path)
    try:
        n_divs = page.locator(".plotly-graph-div").count()
        rendered = page.evaluate(
            "[...document.querySelectorAll('.js-plotly-plot')].filter(d => d.querySelector('.main-svg')).length"
        )
        tables = page.locator("details.data table").count()
        violations = []
        if axe and AXE.exists():
            page.add_script_tag(path=str(AXE))
            violations = page.evaluate(
                """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))"""
            )
        return {
            "divs": n_divs,
            "rendered": rendered,
            "tables": tables,
            "violations": violations,
            "title": page.title(),
            "h1": page.locator("h1").inner_text(),
            "text": page.evaluate("document.querySelector('main').textContent"),
            **problems,
            "imgs": page.locator("main img").count(),
        }
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.slow
def test_reports_render_offline_without_errors_and_pass_axe(chromium_browser, reports):
    orgs = sorted(dutch(reports / "organisations"))
    feedback = sorted((reports / "validation").glob("*_v1.html"))[0]
    # axe runs on the overview and a member report at a phone's and a desktop's width in test_layout.py (the
    # same pages); here it runs on a feedback page other than the one there, and rendering is checked on all.
    pages = [(reports / "index.html", False), (orgs[0], False), (orgs[-1], False), (feedback, True)]
    for path, axe in pages:
        result = _check_page(chromium_browser, path, axe=axe)
        assert result["console"] == [], (path.name, result["console"])
        assert result["network"] == [], (path.name, result["network"])
        assert result["dialogs"] == []
        assert result["rendered"] == result["divs"], path.name
        if path != feedback:
            assert result["divs"] >= 30, path.name
            assert result["tables"] >= result["divs"], path.name
        assert result["violations"] == [], (path.name, result["violations"])
    if not AXE.exists():
        pytest.skip("axe-core not installed: run npm install in tests/browser (rendering checks passed)")


@pytest.mark.browser
@pytest.mark.slow
def test_the_partial_plotly_bundle_draws_every_trace_type_of_the_pages(chromium_browser, reports, demo_workspace):
    """plotly.js as the browser has it (unpacked from a self-contained report, or the shared asset) registers
    every trace type the pages use; a pilot page (shared asset) renders too."""
    pilot = sorted(demo_workspace.reports.glob("*/pilots/*.html"))
    org = sorted(dutch(reports / "organisations"))[0]
    for path in [org, reports / "index.html", *pilot[:1]]:
        page, problems = open_report(chromium_browser, path)
        try:
            registered = set(page.evaluate("Object.keys(Plotly.PlotSchema.get().traces)"))
            used = set(page.evaluate(USED_TRACES))
            assert used and used <= registered, (path.name, used - registered)
            assert problems["console"] == [] and problems["network"] == [], (path.name, problems)
        finally:
            page.close()
    assert pilot, "the demo writes pilot pages"


@pytest.mark.browser
@pytest.mark.slow
def test_hostile_organisation_name_is_shown_as_text(chromium_browser, demo_workspace, tmp_path):
    ws = copy_workspace(demo_workspace, tmp_path / "xss")
    org = reporting_orgs(ws.db_path)[0]
    con = duckdb.connect(str(ws.db_path))
    con.execute("UPDATE organisations SET name = ?, abbreviation = ? WHERE org_code = ?", [EVIL, EVIL, org])
    con.close()
    build_reports(ws, YEAR, org=org)
    year_dir = ws.reports / str(YEAR)
    html = (year_dir / "organisations" / f"{org}.html").read_text("utf-8")
    assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    results = {}
    for path in (year_dir / "organisations" / f"{org}.html", year_dir / "index.html"):
        result = results[path.name] = _check_page(chromium_browser, path, axe=False)
        assert result["dialogs"] == [] and result["console"] == [] and result["network"] == []
        assert result["imgs"] == 0
        assert result["rendered"] == result["divs"]
        assert EVIL in result["text"], path.name
    assert EVIL in results[f"{org}.html"]["title"] and EVIL in results[f"{org}.html"]["h1"]


@pytest.mark.browser
@pytest.mark.slow
def test_pilot_pages_render_offline_and_pass_axe(chromium_browser, reports, demo_workspace):
    """The restricted pilot selection (teams, questions, register, follow-up charts) and a pilot's own page, in
    both languages: every chart drawn, nothing fetched, axe clean."""
    from pipeline.pilots.register import load_register

    register, _ = load_register(demo_workspace)
    started = register[register["status"] == "evaluated"]["pilot_id"].tolist()
    assert started, "the demo should have evaluated pilots"
    pages = [
        reports / "pilots.html",
        reports / "pilots.en.html",
        reports / "pilots" / f"{started[0]}.html",
        reports / "pilots" / f"{started[0]}.en.html",
    ]
    for path in pages:
        result = _check_page(chromium_browser, path, axe=True)
        assert result["console"] == [], (path.name, result["console"])
        assert result["network"] == [], (path.name, result["network"])
        assert result["divs"] >= 1 and result["rendered"] == result["divs"], path.name
        assert result["violations"] == [], (path.name, result["violations"])
    if not AXE.exists():
        pytest.skip("axe-core not installed: run npm install in tests/browser (rendering checks passed)")
