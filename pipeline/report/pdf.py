"""PDF copies of the report pages (``rbb report --pdf``): each page printed on A4 by headless Chromium.

Debian's Chromium (``/usr/bin/chromium``, or the program the environment variable ``RBB_CHROMIUM`` names) is
driven through Playwright; no browser is downloaded. Each page is opened from disk, every chart is drawn, the
page's own print handler redraws the charts at the printable width of A4 (``base.html``), and Chromium prints it
with the print style sheet (``@page { size: A4 }``, navigation and downloads left out). ``<name>.pdf`` is
written next to ``<name>.html``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from pipeline.core.workspace import atomic_write_bytes

CHROMIUM_ENV = "RBB_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
#: the printable width of A4 in CSS px: 210 mm less two 15 mm margins (report.css), at 96 px per inch
PRINT_WIDTH = 680
CHART_TIMEOUT = 60.0
_ALL_DRAWN = "[...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('.main-svg'))"
_ALL_PRINTED = (
    "[...document.querySelectorAll('.plotly-graph-div')]"
    ".every(d => d.getAttribute('data-fit') === 'print' && d.querySelector('.main-svg'))"
)


class PdfError(RuntimeError):
    """A page could not be printed (``str()`` is the message for the user)."""


class ChromiumMissing(PdfError):
    """No Chromium (or no Playwright to drive it) to print PDFs with; ``str()`` says what to install."""


def chromium_path() -> Path:
    """The Chromium to print with: ``$RBB_CHROMIUM`` if set, else ``/usr/bin/chromium`` or ``chromium`` on the
    PATH. Raises :class:`ChromiumMissing` when there is none (or Playwright is not installed)."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        found = Path(configured)
        where = f"{found} (from {CHROMIUM_ENV})"
    else:
        found = Path(DEFAULT_CHROMIUM)
        if not found.exists():
            found = Path(shutil.which("chromium") or DEFAULT_CHROMIUM)
        where = str(found)
    if not (found.is_file() and os.access(found, os.X_OK)):
        raise ChromiumMissing(
            f"cannot write PDFs: no Chromium at {where}. Install Debian's chromium "
            f"(apt-get install chromium) or set {CHROMIUM_ENV} to the chromium program."
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise ChromiumMissing(
            "cannot write PDFs: the Python package playwright is not installed (pip install 'rbb-benchmark[pdf]'); "
            "it drives the installed Chromium, no browser is downloaded."
        ) from None
    return found


def pdf_path(html: Path) -> Path:
    """``organisations/BD.en.html`` → ``organisations/BD.en.pdf``."""
    return html.with_suffix(".pdf")


def _wait(page, script: str, what: str, timeout: float) -> None:
    # Polled with evaluate: wait_for_function would need 'unsafe-eval', which the pages' CSP forbids.
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise PdfError(f"cannot write the PDF of {what}: its charts were not drawn within {timeout:.0f} s")
        page.wait_for_timeout(100)


def write_pdfs(pages: Sequence[Path], timeout: float = CHART_TIMEOUT) -> list[Path]:
    """Print every page to ``<name>.pdf`` beside it (A4, backgrounds printed); returns the PDFs written."""
    executable = chromium_path()
    from playwright.sync_api import Error, sync_playwright

    written = []
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(
                executable_path=str(executable),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
            )
        except Error as exc:
            raise PdfError(f"cannot write PDFs: {executable} did not start ({str(exc).splitlines()[0]})") from None
        try:
            for html in pages:
                page = browser.new_page(viewport={"width": PRINT_WIDTH, "height": 1000})
                try:
                    page.goto(html.resolve().as_uri(), wait_until="load")
                    _wait(page, _ALL_DRAWN, html.name, timeout)
                    page.emulate_media(media="print")
                    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
                    _wait(page, _ALL_PRINTED, html.name, timeout)
                    data = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
                finally:
                    page.close()
                target = pdf_path(html)
                atomic_write_bytes(target, data)
                written.append(target)
        finally:
            browser.close()
    return written
