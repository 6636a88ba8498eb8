"""Scale benchmark: a ten-year warehouse (35 organisations, the aggregates of 35M cases a year) computed and
reported in one run, with wall time and peak RSS per step and per year.

Set-up (timed, not part of the run): the demo's deliveries (workbooks and CSV folders) of every year, ingested
with ``rbb ingest``; then the case aggregates of every year are stored in ``f_zaken_agg`` for the in-force
submission of each member (aggregates only, not the raw cases: that is all the warehouse keeps of case files).
They are synthetic: one sample of ``--sample`` cases (``pipeline.demo.cases``) is aggregated per organisation
and product by the histogram query of ``benchmarks/case_hist.py``, and its counts are multiplied by
``--cases / --sample`` (the lead-time quantiles are those of the sample).

The run, each step as its own process under ``/usr/bin/time -v``: ``rbb compute`` once (every year is
recomputed), then ``rbb report --year Y`` for every year, oldest first.

    python benchmarks/bench_scale.py [--years 2016-2025] [--cases 35000000] [--sample 350000] [--lang nl]

Prints markdown tables (the machine, the set-up, the run per step and year) for ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))
from bench_cases import child_env, machine, measure
from case_floor import find_files
from case_hist import hist_sql


def rbb(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", *args]


def case_aggregates(sample_dir: Path, year: int, factor: int):
    """Aggregate rows (``f_zaken_agg`` columns) per organisation and product, and per organisation, of the
    sample, with every count multiplied by ``factor``."""
    import duckdb

    df = duckdb.connect().sql(hist_sql(find_files(sample_dir, "csv"), "csv", year)).df()
    out = df.rename(
        columns={
            "n_records": "n_rows",
            "n_within_term": "n_on_time",
            "median_lead_days": "lead_median",
            "p90_lead_days": "lead_p90",
            "backlog_year_end": "n_backlog",
        }
    )
    out["n_objections"] = (out["objections_per_1000"].fillna(0) * out["n_decided"] / 1000).round()
    out["n_complaints"] = (out["complaints_per_1000"].fillna(0) * out["n_cases"] / 1000).round()
    for c in ("n_rows", "n_cases", "n_decided", "n_on_time", "n_backlog", "n_objections", "n_complaints"):
        out[c] = (out[c] * factor).astype("int64")
    return out[
        [
            "org_code",
            "product_code",
            "n_rows",
            "n_cases",
            "n_decided",
            "n_on_time",
            "lead_median",
            "lead_p90",
            "n_backlog",
            "n_objections",
            "n_complaints",
        ]
    ]


def store_case_aggregates(db_path: Path, agg, years: list[int]) -> int:
    """The same aggregates for every year, under each member's submission in force that year."""
    import duckdb

    con = duckdb.connect(str(db_path))
    try:
        con.register("agg", agg)
        con.execute(
            """INSERT INTO f_zaken_agg
               SELECT s.submission_id, a.org_code, s.year, a.product_code, a.n_rows, a.n_cases, a.n_decided,
                      a.n_on_time, a.lead_median, a.lead_p90, a.n_backlog, a.n_objections, a.n_complaints,
                      'zaken.csv', 'synthetic'
               FROM agg a JOIN submissions s ON s.org_code = a.org_code AND s.in_force
               WHERE s.year BETWEEN ? AND ?""",
            [min(years), max(years)],
        )
        return con.execute("SELECT count(*) FROM f_zaken_agg").fetchone()[0]
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--years", default="2016-2025")
    ap.add_argument("--cases", type=int, default=35_000_000, help="cases a year the aggregates stand for")
    ap.add_argument("--sample", type=int, default=350_000, help="cases generated and aggregated once")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--lang", default="nl", choices=("nl", "en"))
    ap.add_argument("--tmp", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    lo, _, hi = args.years.partition("-")
    years = list(range(int(lo), int(hi or lo) + 1))

    from pipeline.core.workspace import Workspace
    from pipeline.demo.run import write_deliveries

    base = Path(tempfile.mkdtemp(prefix="rbb-scale-", dir=args.tmp))
    setup: list[tuple[str, float, float]] = []
    runs: list[tuple[str, object]] = []
    try:
        ws = Workspace.at(base / "ws")
        ws.ensure()
        register = ws.root / "data" / "organisations.csv"
        register.write_text(
            resources.files("pipeline.metadata").joinpath("organisations.csv").read_text("utf-8"), "utf-8"
        )
        t = time.perf_counter()
        write_deliveries(ws, args.seed, years)
        setup.append((f"demo deliveries of {len(years)} years written", time.perf_counter() - t, float("nan")))
        r = measure(rbb("ingest", "--root", str(ws.root)))
        if not r.ok:
            sys.exit(f"rbb ingest failed:\n{r.stderr_tail}")
        setup.append(("`rbb ingest` of every delivery", r.wall_s, r.rss_mb))
        t = time.perf_counter()
        sample = base / "sample"
        subprocess.run(
            [sys.executable, "-m", "pipeline.demo.cases", str(sample), "--cases", str(args.sample)]
            + ["--fmt", "csv", "--seed", str(args.seed), "--year", str(years[-1])],
            check=True,
            capture_output=True,
            env=child_env(),
        )
        agg = case_aggregates(sample, years[-1], max(1, args.cases // args.sample))
        stored = store_case_aggregates(ws.db_path, agg, years)
        shutil.rmtree(sample)
        setup.append(
            (
                f"case aggregates of {args.cases / 1e6:g}M cases a year stored ({stored:,} rows)",
                time.perf_counter() - t,
                0,
            )
        )
        print(f"set-up done in {base}", file=sys.stderr)

        r = measure(rbb("compute", "--root", str(ws.root)))
        runs.append((f"`rbb compute` (all {len(years)} years)", r))
        print(f"compute {r.wall_s:.1f} s {r.rss_mb:.0f} MB ok={r.ok}", file=sys.stderr)
        if not r.ok:
            sys.exit(f"rbb compute failed:\n{r.stderr_tail}")
        for year in years:
            r = measure(rbb("report", "--root", str(ws.root), "--year", str(year), "--lang", args.lang))
            size = sum(p.stat().st_size for p in (ws.reports / str(year)).rglob("*") if p.is_file())
            n = len(list((ws.reports / str(year) / "organisations").glob("*.html")))
            runs.append((f"`rbb report --year {year}` ({n} member reports, {size / 1e6:.0f} MB)", r))
            print(f"report {year} {r.wall_s:.1f} s {r.rss_mb:.0f} MB ok={r.ok}", file=sys.stderr)
            if not r.ok:
                print(r.stderr_tail, file=sys.stderr)
    finally:
        if args.keep:
            print(f"kept {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)

    mach = machine()
    lines = [
        f"Machine: {mach['cpus']} × {mach['cpu']}, {mach['ram_gib']} GiB, Python {mach['python']}, "
        f"duckdb {mach['duckdb']}; {mach['timing']}.",
        "",
        "| set-up | s | peak RSS MB |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {name} | {s:.1f} | {rss:,.0f} |" if rss == rss and rss else f"| {name} | {s:.1f} | |"
        for name, s, rss in setup
    ]
    lines += ["", "| the run: step | wall s | peak RSS MB | ok |", "|---|---:|---:|---|"]
    lines += [f"| {name} | {r.wall_s:.1f} | {r.rss_mb:,.0f} | {'yes' if r.ok else '**no**'} |" for name, r in runs]
    total = sum(r.wall_s for _, r in runs)
    lines += [f"| **total** | **{total:.1f}** | {max(r.rss_mb for _, r in runs):,.0f} | |"]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
