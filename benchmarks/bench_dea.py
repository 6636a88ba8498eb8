"""Timing of pipeline.compute.methods.dea on 35 units with 3 inputs and 2 outputs.

Run from the repository root::

    python benchmarks/bench_dea.py [--repeat 5] [--seed 20240101]

Prints a markdown table with the best-of-``repeat`` wall time of each task, the
number of linear programs it solves, and its ratio to a single ``linprog`` call
of the same size (the phase-1 CRS input-oriented LP of one unit).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.compute.methods import dea as dea_module  # noqa: E402
from pipeline.compute.methods.dea import dea, robustness, super_efficiency  # noqa: E402

N_UNITS, N_INPUTS, N_OUTPUTS = 35, 3, 2


def make_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cobb-Douglas style technology with half-normal inefficiency."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(10, 100, (N_UNITS, N_INPUTS))
    frontier = np.prod(x ** np.array([0.3, 0.3, 0.2]), axis=1)
    inefficiency = np.exp(-np.abs(rng.normal(0, 0.3, N_UNITS)))
    share = rng.uniform(0.2, 0.8, N_UNITS)
    y = np.column_stack([share, 1 - share]) * (frontier * inefficiency)[:, None]
    return x, y


def best_time(task: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        task()
        times.append(time.perf_counter() - start)
    return min(times)


def count_lps(task: Callable[[], object]) -> int:
    """Number of linprog calls made by ``task``."""
    original = dea_module.linprog
    calls = 0

    def counting(*args, **kwargs):
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)

    dea_module.linprog = counting
    try:
        task()
    finally:
        dea_module.linprog = original
    return calls


def single_linprog(x: np.ndarray, y: np.ndarray) -> Callable[[], object]:
    """One phase-1 LP (CRS, input orientation) for unit 0, built and solved as in dea()."""
    xs, ys = x / x.mean(axis=0), y / y.mean(axis=0)
    return lambda: dea_module._radial(xs.T, ys.T, xs[0], ys[0], "crs", "in")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20240101)
    args = parser.parse_args()

    x, y = make_data(args.seed)
    tasks: dict[str, Callable[[], object]] = {"single linprog (baseline)": single_linprog(x, y)}
    for rts in ("crs", "vrs"):
        for orientation in ("in", "out"):
            tasks[f"dea {rts}_{orientation}"] = lambda r=rts, o=orientation: dea(x, y, r, o)
    tasks["super_efficiency crs_in"] = lambda: super_efficiency(x, y, "crs", "in")
    tasks["super_efficiency vrs_in"] = lambda: super_efficiency(x, y, "vrs", "in")
    tasks["robustness crs_in"] = lambda: robustness(x, y, "crs", "in")
    tasks["robustness vrs_in"] = lambda: robustness(x, y, "vrs", "in")

    for task in tasks.values():  # warm-up
        task()
    n_eff = {rts: int(dea(x, y, rts, "in").efficient.sum()) for rts in ("crs", "vrs")}
    baseline = best_time(tasks["single linprog (baseline)"], max(args.repeat, 50))

    print(
        f"DEA timing: {N_UNITS} units, {N_INPUTS} inputs, {N_OUTPUTS} outputs, seed {args.seed}, "
        f"best of {args.repeat}; efficient units crs {n_eff['crs']}, vrs {n_eff['vrs']}; "
        f"scipy.optimize.linprog(method='highs')\n"
    )
    print("| task | LPs solved | seconds | x single linprog |")
    print("|---|---:|---:|---:|")
    for name, task in tasks.items():
        seconds = baseline if name.startswith("single") else best_time(task, args.repeat)
        print(f"| {name} | {count_lps(task)} | {seconds:.4f} | {seconds / baseline:.0f} |")
    total = sum(best_time(tasks[name], 1) for name in tasks if name.startswith("dea "))
    print(f"\nall four dea() models together: {total:.3f} s")


if __name__ == "__main__":
    main()
