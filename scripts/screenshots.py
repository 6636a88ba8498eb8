"""Regenerate docs/screenshots/ (overview, an organisation report, first screens) from a demo workspace.

    python scripts/screenshots.py [--root /tmp/rbb_demo] [--org BD]

Without ``--root`` the demo pipeline (synthetic data, 2023–2025) runs in a temporary folder first. The pages
are opened from file:// in headless Debian chromium, every chart is drawn, and the top of each page is saved.
``first-screen-<ORG>-<width>.png``: the first screen of a large (UWV) and a small (ZIN) member's report on a desktop
(1,400 × 1,000) and a phone (390 × 844).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1280, 1900


def draw_all_charts(page) -> None:
    """Draw every chart now (the pages draw them one by one after loading) and wait until all are there."""
    page.evaluate("window.dispatchEvent(new Event('beforeprint')); window.dispatchEvent(new Event('afterprint'))")
    deadline = time.monotonic() + 60
    while not page.evaluate(
        "[...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('.main-svg'))"
    ):
        if time.monotonic() > deadline:
            raise RuntimeError("charts did not render")
        page.wait_for_timeout(100)
    page.wait_for_timeout(300)


def shoot(browser, html: Path, png: Path) -> None:
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    page.goto(html.resolve().as_uri(), wait_until="load")
    draw_all_charts(page)
    png.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(png), full_page=True, clip={"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT})
    page.close()
    print(f"written {png.relative_to(ROOT)}")


FIRST_SCREENS = ("UWV", "ZIN")
VIEWPORTS = ((1400, 1000), (390, 844))


def first_screen(browser, html: Path, png: Path, width: int, height: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(html.resolve().as_uri(), wait_until="load")
    deadline = time.monotonic() + 60  # the charts on the first screen, drawn as a reader's browser draws them
    while not page.evaluate("document.querySelector('#fig-glance .main-svg') !== null"):
        if time.monotonic() > deadline:
            raise RuntimeError("the first screen's chart did not render")
        page.wait_for_timeout(100)
    page.wait_for_timeout(500)
    page.screenshot(path=str(png))
    page.close()
    print(f"written {png.relative_to(ROOT)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=None, help="existing demo workspace (default: run the demo)")
    ap.add_argument("--org", default=None, help="organisation report to show (default: the first one)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright
    from rich.console import Console

    from pipeline.core.workspace import Workspace
    from pipeline.report.pages import build_reports

    with tempfile.TemporaryDirectory() as tmp:
        if args.root is None:
            from pipeline.demo.run import run_demo

            ws = Workspace.at(Path(tmp) / "demo").ensure()
            with ws.writer_lock():
                run_demo(ws, seed=2025, years=[2023, 2024, 2025], console=Console(file=open(os.devnull, "w")))
        else:
            ws = Workspace.at(args.root)
        paths = build_reports(ws)
        index = next(p for p in paths if p.name == "index.html")
        orgs = sorted(p for p in paths if p.parent.name == "organisations")
        org = next((p for p in orgs if p.stem == (args.org or "").upper()), orgs[0])
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
            )
            shoot(browser, index, args.out / "overview.png")
            shoot(browser, org, args.out / "organisation.png")
            for code in FIRST_SCREENS:
                member = next((p for p in orgs if p.stem == code), None)
                for width, height in VIEWPORTS if member else ():
                    first_screen(browser, member, args.out / f"first-screen-{code}-{width}.png", width, height)
            browser.close()


if __name__ == "__main__":
    main()
