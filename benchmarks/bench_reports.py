"""Seconds per organisation report, against one bare ``fig.to_html()`` in the same run.

Uses an existing demo workspace (``--root``) or builds one with ``rbb demo`` in a temporary folder.

    python benchmarks/bench_reports.py [--root /tmp/rbb_demo] [--year 2025] [--repeat 3]

Reported per organisation report: rendering alone (in memory), writing the ~5 MB self-contained file
(write-then-rename with fsync), and the whole ``build_reports`` run divided by the number of reports. The
baseline is a single 35-bar Plotly chart written as a self-contained page with ``fig.to_html()``, which also
inlines plotly.js; the ratio says how many such bare charts one full report costs.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from markupsafe import Markup  # noqa: E402
from rich.console import Console  # noqa: E402

from pipeline.core import warehouse  # noqa: E402
from pipeline.core.workspace import Workspace, atomic_write_text  # noqa: E402
from pipeline.report import pages  # noqa: E402
from pipeline.report.data import latest_year, load_report_data  # noqa: E402


def bare_to_html() -> str:
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=[f"Organisatie {i}" for i in range(35)], y=list(range(35))))
    return fig.to_html(include_plotlyjs=True, config={"showSendToCloud": False, "displaylogo": False})


def best(times: list[float]) -> float:
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=None, help="existing demo workspace (default: build one)")
    ap.add_argument("--year", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.root is None:
            from pipeline.demo.run import run_demo

            ws = Workspace.at(Path(tmp) / "demo").ensure()
            run_demo(ws, seed=2025, years=[2023, 2024, 2025], console=Console(file=open(os.devnull, "w")))
        else:
            ws = Workspace.at(args.root)
        out = Path(tmp) / "out"

        con = warehouse.connect(ws.db_path, read_only=True)
        try:
            year = args.year or latest_year(con)
            t = time.perf_counter()
            data = load_report_data(con, year)
            load_s = time.perf_counter() - t
        finally:
            con.close()
        codes = data.reporting_orgs
        script = {"inline": Markup(pages.plotly_inline()), "src": None}

        baseline, base_write = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            page = bare_to_html()
            baseline.append(time.perf_counter() - t)
            t = time.perf_counter()
            atomic_write_text(out / "bare.html", page)
            base_write.append(time.perf_counter() - t)

        render_s, write_s, sizes = [], [], []
        for _ in range(args.repeat):
            for code in codes:
                t = time.perf_counter()
                html = pages.render_organisation(data, code, "nl", script)
                render_s.append(time.perf_counter() - t)
                t = time.perf_counter()
                atomic_write_text(out / f"{code}.html", html)
                write_s.append(time.perf_counter() - t)
                sizes.append(len(html.encode("utf-8")))

        t = time.perf_counter()
        pages.render_overview(data, ws.reports, "nl", {"inline": None, "src": pages.ASSET})
        overview_s = time.perf_counter() - t

        full = []
        for _ in range(args.repeat):
            target = Workspace.at(Path(tmp) / f"full{len(full)}").ensure()
            shutil.copy2(ws.db_path, target.db_path)
            t = time.perf_counter()
            pages.build_reports(target, year)
            full.append(time.perf_counter() - t)

    base = best(baseline)
    per_org_render = statistics.median(render_s)
    per_org_write = statistics.median(write_s)
    per_org_full = best(full) / len(codes)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"year {year}: {len(codes)} organisation reports, {len(data.catalogue)} indicators, "
        f"report size {statistics.median(sizes) / 1e6:.2f} MB "
        f"(plotly.js {len(pages.plotly_inline()) / 1e6:.2f} MB inline, packed)\n"
    )
    print("| task | seconds | × bare to_html |")
    print("|---|---:|---:|")
    print(f"| baseline: one bare `fig.to_html()` (35 bars, plotly.js inline) | {base:.4f} | 1.0 |")
    print(f"| baseline + writing it (fsync) | {base + best(base_write):.4f} | {(base + best(base_write)) / base:.1f} |")
    print(f"| read the warehouse for the year (once) | {load_s:.3f} | {load_s / base:.1f} |")
    print(f"| render one organisation report (median) | {per_org_render:.4f} | {per_org_render / base:.1f} |")
    print(f"| write one organisation report (median, fsync) | {per_org_write:.4f} | {per_org_write / base:.1f} |")
    print(f"| overview (render) | {overview_s:.3f} | {overview_s / base:.1f} |")
    print(
        f"| **build_reports, whole year, per organisation report** | **{per_org_full:.3f}** | "
        f"**{per_org_full / base:.1f}** |"
    )
    print(f"| build_reports, whole year (best of {args.repeat}) | {best(full):.2f} | {best(full) / base:.1f} |")


if __name__ == "__main__":
    main()
