"""``rbb report --pdf``: every page written is printed on A4 by Debian's headless Chromium, with every chart drawn
and no blank page; without Chromium the command says so and stops (exit 1) before writing anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from inprocess import rbb
from workspaces import copy_workspace, reporting_orgs

from pipeline.report.pdf import CHROMIUM_ENV, DEFAULT_CHROMIUM

YEAR = 2025
A4 = (595.28, 841.89)  # points


def _reader(path: Path):
    pypdf = pytest.importorskip("pypdf")
    return pypdf.PdfReader(str(path))


@pytest.fixture(scope="module")
def printed(demo_workspace, tmp_path_factory):
    """One member's reports (Dutch and English), the overview and the member's feedback pages, with --pdf."""
    if not Path(DEFAULT_CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    pytest.importorskip("playwright.sync_api")
    ws = copy_workspace(demo_workspace, tmp_path_factory.mktemp("pdf"))
    org = reporting_orgs(ws.db_path)[0]
    runs = [rbb("report", "--root", str(ws.root), "--year", str(YEAR), "--org", org, "--pdf")]
    runs.append(rbb("report", "--root", str(ws.root), "--year", str(YEAR), "--org", org, "--lang", "en", "--pdf"))
    for r in runs:
        assert r.returncode == 0, r.stderr[-3000:]
    return ws.reports / str(YEAR), org


@pytest.mark.browser
@pytest.mark.slow
def test_every_page_written_has_an_a4_pdf_beside_it(printed):
    year_dir, org = printed
    pages = sorted(p for p in year_dir.rglob("*.html"))
    assert year_dir / "organisations" / f"{org}.html" in pages and year_dir / "index.en.html" in pages
    sizes = {}
    for html in pages:
        pdf = html.with_suffix(".pdf")
        assert pdf.exists(), f"no PDF for {html.relative_to(year_dir)}"
        reader = _reader(pdf)
        sizes[pdf.relative_to(year_dir).as_posix()] = (len(reader.pages), pdf.stat().st_size)
        for i, page in enumerate(reader.pages, start=1):
            box = page.mediabox
            assert (float(box.width), float(box.height)) == pytest.approx(A4, abs=1), (pdf.name, i)
            assert page.extract_text().strip(), f"{pdf.name}: page {i} is blank"
    print("\n" + "\n".join(f"  {name}: {n} pages, {size / 1024:.0f} KiB" for name, (n, size) in sizes.items()))
    for lang in ("", ".en"):
        n = sizes[f"organisations/{org}{lang}.pdf"][0]
        # 38 indicator figures two to a page, the summary and the composite index: about 24 pages
        assert 3 <= n <= 36, (org, lang, n)


@pytest.mark.browser
@pytest.mark.slow
def test_a_member_pdf_holds_the_report_and_every_chart(printed):
    """The text of the first page and charts' axis text come through (a chart not drawn has no tick labels)."""
    year_dir, org = printed
    reader = _reader(year_dir / "organisations" / f"{org}.pdf")
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "RBB-benchmark" in reader.pages[0].extract_text()
    assert "Vertrouwelijk" in reader.pages[0].extract_text()
    assert text.count("Uw organisatie") >= 20  # the label of the own point in the indicator charts
    assert "Download CSV" not in text  # downloads and navigation are left out on paper


def test_report_pdf_without_chromium_is_a_message_and_exit_1(demo_workspace, tmp_path, monkeypatch):
    ws = copy_workspace(demo_workspace, tmp_path / "ws")
    org = reporting_orgs(ws.db_path)[0]
    missing = tmp_path / "no" / "chromium"
    monkeypatch.setenv(CHROMIUM_ENV, str(missing))
    r = rbb("report", "--root", str(ws.root), "--year", str(YEAR), "--org", org, "--pdf")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    said = " ".join(r.stderr.split())
    assert f"no Chromium at {missing}" in said and CHROMIUM_ENV in said
    assert not (ws.reports / str(YEAR)).exists(), "nothing is written when the PDFs cannot be"


@pytest.mark.browser
@pytest.mark.slow
def test_a_page_rewritten_without_pdf_loses_its_old_pdf(printed):
    """A PDF never outlives the page it printed: a run without --pdf drops the PDFs of the pages it rewrites."""
    year_dir, org = printed
    r = rbb("report", "--root", str(year_dir.parents[1]), "--year", str(YEAR), "--org", org)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not (year_dir / "organisations" / f"{org}.pdf").exists() and not (year_dir / "index.pdf").exists()
    assert (year_dir / "organisations" / f"{org}.en.pdf").exists() and (year_dir / "index.en.pdf").exists()
