"""Time per stage of ``rbb demo`` at its default size (35 organisations, 2021–2025).

Baseline in the same run: only reading every delivery (Excel child processes and CSV parsing, no
validation, no loading), so the ingest stage is also reported as a ratio to reading alone.

    python benchmarks/bench_demo.py [--years 2021-2025] [--seed 2025]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from rich.console import Console


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--years", default="2021-2025")
    ap.add_argument("--seed", type=int, default=2025)
    args = ap.parse_args()
    lo, _, hi = args.years.partition("-")
    years = list(range(int(lo), int(hi or lo) + 1))

    from pipeline.core.workspace import Workspace
    from pipeline.demo.run import run_demo
    from pipeline.ingest.batch import read_items
    from pipeline.ingest.discover import discover
    from pipeline.metadata.registry import load_organisations, registry

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.at(Path(tmp) / "demo").ensure()
        t0 = time.perf_counter()
        timings = run_demo(ws, seed=args.seed, years=years, console=Console(file=open(os.devnull, "w")))
        total = time.perf_counter() - t0
        deliveries = discover(ws)
        t = time.perf_counter()
        read_items(deliveries, registry(), {o.org_code for o in load_organisations(ws.root)})
        read_only = time.perf_counter() - t

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"demo: {len(deliveries)} deliveries, years {years[0]}-{years[-1]}, seed {args.seed}\n")
    print("| stage | seconds | share |")
    print("|---|---:|---:|")
    for stage, sec in timings.items():
        print(f"| {stage} | {sec:.1f} | {sec / total:.0%} |")
    print(f"| **total (rbb demo)** | **{total:.1f}** | |")
    print(
        f"\nbaseline, reading all deliveries only: {read_only:.1f} s; ingest / read = {timings['ingest'] / read_only:.1f}x"
    )


if __name__ == "__main__":
    main()
