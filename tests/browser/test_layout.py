"""Every page type at a phone's width (390 px) and a desktop's (1,400 px) in Debian Chromium: nothing wider than
the viewport except inside a labelled scroll region, every chart drawn, axe finds nothing serious or critical.

Screenshots of each page's first screen are saved in ``tests/browser/artifacts/layout/`` (not in git) and their
paths printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from test_reports_in_chromium import AXE, YEAR, chromium_browser, reports  # noqa: F401  (fixtures)
from workspaces import dutch

ARTIFACTS = Path(__file__).parent / "artifacts" / "layout"
WIDTHS = {390: 844, 1400: 900}

#: elements whose box lies outside the viewport, other than those inside a labelled, focusable scroll region
#: (and what is meant to be off-screen: the skip link until focused, visually hidden text, Plotly's text probe)
OVERFLOW = """() => {
  const vw = document.documentElement.clientWidth;
  const inRegion = el => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (p.getAttribute('role') === 'region' && p.getAttribute('tabindex') === '0'
          && (p.getAttribute('aria-label') || p.getAttribute('aria-labelledby'))
          && ['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) { return true; }
    }
    return false;
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('#js-plotly-tester, .visually-hidden, .skip')) { continue; }
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) { continue; }
    if ((r.right > vw + 0.5 || r.left < -0.5) && !inRegion(el)) {
      const where = el.closest('section[id], section[aria-labelledby], [id]');
      out.push(`${el.tagName.toLowerCase()}.${el.getAttribute('class') || ''} in #${where ? where.id : '?'}`
               + ` (${Math.round(r.left)}–${Math.round(r.right)} of ${vw})`);
    }
  }
  return out;
}"""


def page_types(year_dir: Path, demo_workspace) -> dict[str, Path]:
    from pipeline.pilots.register import load_register

    register, _ = load_register(demo_workspace)
    evaluated = sorted(register[register["status"] == "evaluated"]["pilot_id"])
    org = dutch(year_dir / "organisations")[0]
    feedback = max((year_dir / "validation").glob("*_v1.html"), key=lambda p: p.stat().st_size)
    pages = {
        "overview": year_dir / "index.html",
        "member-nl": org,
        "member-en": org.with_name(org.stem + ".en.html"),
        "feedback": feedback,
        "pilots": year_dir / "pilots.html",
        "pilot": year_dir / "pilots" / f"{evaluated[0]}.html",
    }
    diffs = sorted((year_dir / "releases").glob("diff_*.html")) if (year_dir / "releases").exists() else []
    if diffs:
        pages["release-diff"] = diffs[0]
    return pages


def open_at(browser, path: Path, width: int):
    page = browser.new_page(viewport={"width": width, "height": WIDTHS[width]})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.resolve().as_uri(), wait_until="load")
    deadline = time.monotonic() + 60
    while not page.evaluate(
        "[...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('.main-svg'))"
    ):
        assert time.monotonic() < deadline, f"charts of {path.name} were not drawn at {width} px"
        page.wait_for_timeout(100)
    page.wait_for_timeout(300)  # the debounced refit after the first draw
    return page, errors


@pytest.mark.browser
@pytest.mark.slow
def test_every_page_type_fits_a_phone_and_a_desktop(chromium_browser, reports, demo_workspace):  # noqa: F811
    pages = page_types(reports, demo_workspace)
    assert "release-diff" in pages, "the demo should have written a release diff page"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, object] = {}
    shots = []
    for name, path in pages.items():
        for width in WIDTHS:
            page, errors = open_at(chromium_browser, path, width)
            try:
                key = f"{name}@{width}"
                shot = ARTIFACTS / f"{name}-{width}.png"
                page.screenshot(path=str(shot))
                shots.append(shot)
                scroll_width = page.evaluate("document.documentElement.scrollWidth")
                inner = page.evaluate("innerWidth")
                if scroll_width > inner:
                    problems[f"{key} scrollWidth"] = (scroll_width, inner)
                outside = page.evaluate(OVERFLOW)
                if outside:
                    problems[f"{key} outside"] = outside[:8]
                charts = page.evaluate(
                    """() => [...document.querySelectorAll('.plotly-graph-div')].map(d => {
                         const svg = d.querySelector('.main-svg'); const box = d.closest('.chart') || d.parentElement;
                         return [d.id, svg ? svg.getBoundingClientRect().width : 0, box.clientWidth];
                       })"""
                )
                for div_id, drawn, room in charts:
                    if drawn == 0 or drawn < min(room, 300) - 1:
                        problems.setdefault(f"{key} charts", []).append((div_id, drawn, room))
                if errors:
                    problems[f"{key} errors"] = errors[:3]
                if AXE.exists():
                    page.add_script_tag(path=str(AXE))
                    found = page.evaluate(
                        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                             .filter(v => v.impact === 'serious' || v.impact === 'critical')
                             .map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))"""
                    )
                    if found:
                        problems[f"{key} axe"] = found
            finally:
                page.close()
    print("\nscreenshots of the first screen:\n" + "\n".join(f"  {p}" for p in shots))
    assert problems == {}
    assert len(shots) == 2 * len(pages)
    if not AXE.exists():
        pytest.skip("axe-core not installed: run npm install in tests/browser (layout checks passed)")


@pytest.mark.browser
@pytest.mark.slow
def test_charts_are_drawn_at_the_a4_width_for_print(chromium_browser, reports):  # noqa: F811
    """The print handler redraws every chart at the printable width of A4 (680 px); the print style sheet lets
    it take that width (no card padding, no minimum width of a scrolled heatmap)."""
    from pipeline.report.pdf import PRINT_WIDTH

    for path in (dutch(reports / "organisations")[0], reports / "index.html"):
        page, _ = open_at(chromium_browser, path, 390)
        try:
            page.set_viewport_size({"width": PRINT_WIDTH, "height": 1000})
            page.emulate_media(media="print")
            page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
            deadline = time.monotonic() + 60
            while not page.evaluate(
                "[...document.querySelectorAll('.plotly-graph-div')].every(d => d.getAttribute('data-fit') === 'print'"
                " && d.querySelector('.main-svg'))"
            ):
                assert time.monotonic() < deadline
                page.wait_for_timeout(100)
            widths = page.evaluate(
                "[...document.querySelectorAll('.plotly-graph-div .main-svg:first-child')]"
                ".map(s => Math.round(s.getBoundingClientRect().width))"
            )
            main = page.evaluate("document.querySelector('main').getBoundingClientRect().width")
            assert widths and set(widths) == {PRINT_WIDTH}, (path.name, sorted(set(widths)))
            assert main == pytest.approx(PRINT_WIDTH, abs=1)
            assert page.evaluate("document.documentElement.scrollWidth") <= PRINT_WIDTH
            hidden = page.evaluate(
                "[...document.querySelectorAll('nav.toc, .downloads')].every(e => getComputedStyle(e).display === 'none')"
            )
            assert hidden, path.name
        finally:
            page.close()
