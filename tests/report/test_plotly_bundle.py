"""The reports' own plotly.js bundle: pinned to the plotly.js of the python plotly, holding every trace type the
written pages draw, carried packed inside a self-contained report, and reports of at most 1.5 MB each."""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path

import plotly.offline
import pytest

from pipeline.report import pages

YEAR = 2025
MAX_REPORT_BYTES = 1_500_000
SPEC = re.compile(r'<script type="application/json" class="chart-spec" data-target="[^"]+">(.*?)</script>', re.S)
PACKED = re.compile(r'window\.rbbPlotly = \(function \(packed\) \{.*?\}\)\("([A-Za-z0-9+/=]+)"\);', re.S)


def registered_traces(js: str) -> set[str]:
    """The trace modules a plotly.js bundle registers (each is ``{moduleType: "trace", name: ...}``)."""
    return set(re.findall(r'moduleType:"trace",name:"([a-z0-9]+)"', js))


def traces_used(html: str) -> set[str]:
    """Every trace type of every figure in a page (a trace without ``type`` is a scatter, as in plotly.js)."""
    used = set()
    for spec in SPEC.findall(html):
        used |= {trace.get("type", "scatter") for trace in json.loads(spec)["data"]}
    return used


def test_the_bundle_is_the_plotly_js_of_the_python_plotly_with_its_licence():
    js = pages.plotly_js()
    header = pages.plotly_header()
    embedded = re.search(r"plotly\.js v(\S+)", plotly.offline.get_plotlyjs()[:200]).group(1)
    assert re.match(rf"/\*\*\n\* plotly\.js v{re.escape(embedded)} \(partial bundle", header), header
    assert "Licensed under the MIT license" in header
    assert "MIT License" in (pages.PLOTLY_BUNDLE.parent / "plotly-rbb.LICENSE.txt").read_text("utf-8")
    assert registered_traces(js) == set(pages.PLOTLY_TRACES)
    assert f"traces {','.join(pages.PLOTLY_TRACES)})" in header
    assert len(js) < 1_400_000  # the full bundle is 4.8 MB
    assert "</script" not in js.lower()  # it is inlined in a script element


def test_the_full_bundle_registers_what_the_parser_looks_for():
    # guards the static check above: the same pattern finds the traces of plotly's own full bundle
    assert {"scatter", "bar", "heatmap", "pie", "scattergl"} <= registered_traces(plotly.offline.get_plotlyjs())


@pytest.fixture(scope="module")
def pages_written(demo_workspace) -> list[Path]:
    """Every HTML page the demo wrote: the years' reports, overviews, pilot pages and the frozen releases."""
    found = sorted(demo_workspace.root.rglob("*.html"))
    assert any(p.parent.name == "organisations" for p in found)
    return found


def test_every_trace_type_the_pages_draw_is_in_the_bundle(pages_written):
    bundle = registered_traces(pages.plotly_js())
    used: dict[str, set[str]] = {}
    for path in pages_written:
        for trace in traces_used(path.read_text("utf-8")):
            used.setdefault(trace, set()).add(path.name)
    assert used, "no figure found in the demo's pages"
    missing = {t: sorted(names)[:3] for t, names in used.items() if t not in bundle}
    assert not missing, f"trace types not in plotly-rbb.min.js (rebuild it, docs/reports.md): {missing}"
    assert {"scatter", "bar", "heatmap"} <= set(used)


def test_every_organisation_report_is_at_most_1_5_mb(demo_workspace):
    reports = sorted((demo_workspace.reports / str(YEAR)).glob("organisations*/*.html"))
    assert len(reports) >= 60  # Dutch and English
    too_big = {p.name: p.stat().st_size for p in reports if p.stat().st_size > MAX_REPORT_BYTES}
    assert not too_big, too_big


def test_a_self_contained_report_carries_the_bundle_packed_and_byte_for_byte(demo_workspace):
    report = next((demo_workspace.reports / str(YEAR) / "organisations").glob("*.html"))
    html = report.read_text("utf-8")
    assert "<script src=" not in html
    packed = PACKED.findall(html)
    assert len(packed) == 1
    assert gzip.decompress(base64.b64decode(packed[0])).decode("utf-8") == pages.plotly_js()
    assert pages.plotly_header() in html  # the licence header stays readable
    shared = demo_workspace.reports / str(YEAR) / pages.ASSET
    assert shared.read_text("utf-8") == pages.plotly_js()
