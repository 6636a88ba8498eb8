"""Benchmark: Monte Carlo uncertainty of a composite indicator versus one deterministic build.

Synthetic composite: 35 units x 25 indicators in 8 pillars, 2 sub-indices and an index, with
skewed indicators, 5% missing values (group-mean imputed), denominators and lower-is-better
indicators. Prints a markdown table.

Run: python benchmarks/bench_composite.py [--runs 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.compute.methods.composite import (
    AggregateMeta,
    CompositeSpec,
    ImputationSpec,
    IndicatorMeta,
    build_composite,
    uncertainty,
)

N_UNITS = 35
PILLAR_SIZES = [3, 3, 3, 3, 3, 3, 3, 4]


def make_case(seed: int = 0) -> tuple[pd.DataFrame, CompositeSpec]:
    """Synthetic data and spec of the benchmark composite."""
    rng = np.random.default_rng(seed)
    indicators: list[IndicatorMeta] = []
    cols: dict[str, np.ndarray] = {}
    k = 0
    for p, size in enumerate(PILLAR_SIZES):
        for _ in range(size):
            code = f"ind{k:02d}"
            skewed = k % 3 == 0
            x = rng.lognormal(0.0, 1.2, N_UNITS) if skewed else rng.normal(50, 10, N_UNITS)
            x[rng.random(N_UNITS) < 0.05] = np.nan
            cols[code] = x
            indicators.append(
                IndicatorMeta(
                    code,
                    parent=f"P{p}",
                    direction=-1 if k % 5 == 4 else 1,
                    weight=float(rng.integers(1, 3)),
                    denominator="Population" if k % 7 == 0 else None,
                )
            )
            k += 1
    aggregates = [AggregateMeta(f"P{p}", 2, "S0" if p < 4 else "S1") for p in range(8)]
    aggregates += [AggregateMeta("S0", 3, "Index"), AggregateMeta("S1", 3, "Index")]
    aggregates += [AggregateMeta("Index", 4)]
    data = pd.DataFrame(cols)
    data.insert(0, "uCode", [f"U{i:02d}" for i in range(N_UNITS)])
    data.insert(1, "group", rng.choice(["A", "B", "C"], N_UNITS))
    data["Population"] = rng.uniform(1.0, 100.0, N_UNITS)
    spec = CompositeSpec(
        indicators=indicators,
        aggregates=aggregates,
        imputation=ImputationSpec("group_mean", "group"),
    )
    return data, spec


def best_and_median(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Best and median wall time of ``fn`` over ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    data, spec = make_case()
    build_composite(data, spec)
    uncertainty(data, spec, n_runs=10, seed=args.seed)

    b_best, b_med = best_and_median(lambda: build_composite(data, spec), args.repeats * 4)
    u_best, u_med = best_and_median(lambda: uncertainty(data, spec, n_runs=args.runs, seed=args.seed), args.repeats)
    res = uncertainty(data, spec, n_runs=args.runs, seed=args.seed)
    width = (res.rank_hi - res.rank_lo).median()

    n_ind = len(spec.indicators)
    print(
        f"Composite benchmark: {N_UNITS} units x {n_ind} indicators in {len(PILLAR_SIZES)} "
        f"pillars; python {platform.python_version()}, numpy {np.__version__}, "
        f"pandas {pd.__version__}, {os.cpu_count()} CPUs ({platform.machine()})\n"
    )
    print("| task | best (s) | median (s) | ratio to one build (median) |")
    print("|---|---:|---:|---:|")
    print(f"| deterministic build_composite | {b_best:.4f} | {b_med:.4f} | 1.0 |")
    print(f"| uncertainty, {args.runs} Monte Carlo runs | {u_best:.4f} | {u_med:.4f} | {u_med / b_med:.1f} |")
    print(
        f"\nPer Monte Carlo run: {1e3 * u_med / args.runs:.3f} ms; median 5-95% rank interval width: {width:.1f} ranks."
    )


if __name__ == "__main__":
    main()
