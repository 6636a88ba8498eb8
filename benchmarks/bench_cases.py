"""Case microdata benchmark: DuckDB floor vs pandas vs our pipeline, in one run, on the same files.

For each size the case files are generated once (``pipeline.demo.cases``, timed as its own process) into a
temporary folder, read once to warm the page cache, and then, in interleaved rounds, each method runs as
its own process under ``/usr/bin/time -v`` (wall time and maximum resident set size):

- (a) ``benchmarks/case_floor.py``: one DuckDB query, declared types, GROUPING SETS, no validation;
- (a2) ``benchmarks/case_hist.py``: the histogram floor, the same indicators from a lead-time histogram
  (organisation x product x lead days) in one DuckDB query: the fastest baseline we know;
- (b) ``benchmarks/case_pandas.py``: the straightforward pandas version;
- (c) ``pipeline.validate.cases.run_case_pipeline(files, year, db_path)``: ingest + validation + indicators into a
  fresh DuckDB file (run through this script's ``_pipeline`` subcommand). If it cannot be imported, its
  rows say "not available";
- (d) ``rbb ingest`` then ``rbb compute`` (the real commands, ``python -m pipeline.cli``) on a fresh one-year
  workspace: the demo's deliveries for the year (workbooks and CSV folders) with the generated case files
  hard-linked into each member's last delivery; and (e) the same workspace without the case files, so that
  (d) − (e) is what the case files add to a real run. Only with ``--methods ...,rbb,rbb_sheets``.

It then checks that (a), (a2), (b), (c) and (d) give the same indicators (max abs difference per pair, over all
org and org x product groups; (d) only has the members whose submission was accepted) and prints
markdown tables: the machine, wall time (min and median over
``--repeat`` rounds), peak RSS (max over rounds), rows/s, the ratios (c)/(a) and (b)/(c), the time per
case per size and the linearity ratio (time per case at the largest size / at 7 M).

    python benchmarks/bench_cases.py --sizes 1000000,7000000,35000000 --fmt csv [--repeat 3]
        [--methods floor,hist,pandas,pipeline,rbb,rbb_sheets]

Generated files are deleted after each size unless ``--keep`` is given. Without ``/usr/bin/time`` the
wall time comes from ``time.perf_counter`` and the peak RSS from ``os.wait4``'s rusage of that child.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse
import json
import math
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
TIME_BIN = "/usr/bin/time"
METHODS = ("floor", "hist", "pandas", "pipeline", "rbb", "rbb_sheets")
DEFAULT_METHODS = ("floor", "hist", "pandas", "pipeline")
LABELS = {
    "gen": "generate (casegen)",
    "floor": "(a) DuckDB floor",
    "hist": "(a2) histogram floor",
    "pandas": "(b) pandas",
    "pipeline": "(c) pipeline",
    "rbb": "(d) rbb ingest + compute",
    "rbb_sheets": "(e) rbb ingest + compute, no case files",
}
WORKSPACE_METHODS = ("rbb", "rbb_sheets")
NOT_AVAILABLE = 3  # exit code of the _pipeline subcommand when pipeline.validate.cases cannot be used
KEYS = ("org_code", "product_code")
# Canonical indicator column -> the names it may have in a method's output (first match wins).
ALIASES: dict[str, tuple[str, ...]] = {
    "n_records": ("n_records", "n_rows"),
    "n_cases": ("n_cases",),
    "n_decided": ("n_decided",),
    "n_within_term": ("n_within_term", "n_on_time"),
    "share_within_term": ("share_within_term",),
    "median_lead_days": ("median_lead_days", "lead_median"),
    "p90_lead_days": ("p90_lead_days", "lead_p90"),
    "backlog_year_end": ("backlog_year_end", "n_backlog"),
    "objections_per_1000": ("objections_per_1000",),
    "complaints_per_1000": ("complaints_per_1000",),
    "share_digital": ("share_digital",),
}
TOLERANCE = 1e-9
#: the pairs of methods whose indicators are compared
PAIRS = (
    ("floor", "hist"),
    ("floor", "pandas"),
    ("floor", "pipeline"),
    ("hist", "pipeline"),
    ("pandas", "pipeline"),
    ("floor", "rbb"),
)


def short(method: str) -> str:
    """``(a)``, ``(a2)``, ... of a method's label."""
    return LABELS[method].split(" ", 1)[0]


# ------------------------------------------------------------------ measuring one process


@dataclass
class Run:
    """One measured process."""

    wall_s: float
    rss_mb: float
    returncode: int
    payload: dict = field(default_factory=dict)
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _parse_elapsed(text: str) -> float:
    """``h:mm:ss`` or ``m:ss.ss`` from GNU time."""
    parts = [float(p) for p in text.strip().split(":")]
    secs = 0.0
    for p in parts:
        secs = secs * 60 + p
    return secs


def _last_json(stdout: str) -> dict:
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return {}


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("GX_ANALYTICS_ENABLED", "False")
    return env


def measure(cmd: list[str], timeout: float | None = None) -> Run:
    """Run ``cmd`` as its own process; wall time and peak RSS of that process."""
    env = child_env()
    if os.access(TIME_BIN, os.X_OK):
        with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as tf:
            tpath = tf.name
        try:
            proc = subprocess.run(
                [TIME_BIN, "-v", "-o", tpath, *cmd],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=env,
                timeout=timeout,
                check=False,
            )
            report = Path(tpath).read_text()
        finally:
            os.unlink(tpath)
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", report)
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report)
        return Run(
            wall_s=_parse_elapsed(wall.group(1)) if wall else math.nan,
            rss_mb=int(rss.group(1)) / 1024 if rss else math.nan,
            returncode=proc.returncode,
            payload=_last_json(proc.stdout),
            stderr_tail=proc.stderr[-2000:],
        )
    # Fallback: wait4 gives the rusage of exactly this child (RUSAGE_CHILDREN would be the max so far).
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        ru_kb = usage.ru_maxrss / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS, KiB on Linux
        return Run(
            wall_s=wall,
            rss_mb=ru_kb / 1024,
            returncode=proc.returncode,
            payload=_last_json(out.read()),
            stderr_tail=err.read()[-2000:],
        )


def method_cmd(method: str, data_dir: Path, fmt: str, year: int, out: Path, db: Path) -> list[str]:
    py = sys.executable
    if method == "floor":
        return [
            py,
            str(BENCH / "case_floor.py"),
            "--dir",
            str(data_dir),
            "--fmt",
            fmt,
            "--year",
            str(year),
            "--out",
            str(out),
        ]
    if method in ("pandas", "hist"):
        return [
            py,
            str(BENCH / ("case_pandas.py" if method == "pandas" else "case_hist.py")),
            "--dir",
            str(data_dir),
            "--fmt",
            fmt,
            "--year",
            str(year),
            "--out",
            str(out),
        ]
    if method == "pipeline":
        return [
            py,
            str(Path(__file__).resolve()),
            "_pipeline",
            "--dir",
            str(data_dir),
            "--fmt",
            fmt,
            "--year",
            str(year),
            "--db",
            str(db),
            "--out",
            str(out),
        ]
    if method in WORKSPACE_METHODS:  # data_dir is the workspace here: the real commands, one after the other
        rbb = f"{shlex.quote(py)} -m pipeline.cli"
        ws = shlex.quote(str(data_dir))
        return ["sh", "-c", f"{rbb} ingest --root {ws} >/dev/null && {rbb} compute --root {ws} >/dev/null"]
    raise ValueError(method)


def build_workspaces(base: Path, files: dict[str, Path], year: int, seed: int) -> dict[str, Path | list[str]]:
    """Two workspace templates for (d) and (e): the demo's deliveries for ``year`` (workbooks and CSV
    folders of the members delivering that year), once without and once with the generated case files
    (hard links, the same files the other methods read) inside each member's last delivery. ``unplaced``
    lists the members without a delivery in the demo year (their case file is not in (d))."""
    from importlib import resources

    sys.path.insert(0, str(ROOT))
    from pipeline.core.workspace import Workspace
    from pipeline.demo.run import place_case_files, write_deliveries

    sheets = Workspace.at(base / "ws_sheets")
    sheets.ensure()
    register = sheets.root / "data" / "organisations.csv"
    register.write_text(resources.files("pipeline.metadata").joinpath("organisations.csv").read_text("utf-8"), "utf-8")
    deliveries = write_deliveries(sheets, seed, [year])
    full = Workspace.at(base / "ws_rbb")
    shutil.copytree(sheets.root, full.root, copy_function=os.link)
    placed = place_case_files(full, deliveries, year, files, link=True)
    return {"rbb": full.root, "rbb_sheets": sheets.root, "unplaced": sorted(set(files) - set(placed))}


def workspace_indicators(root: Path, year: int, out: Path) -> None:
    """The case indicators (d) stored in its warehouse (accepted submissions), for the comparison."""
    import duckdb

    from pipeline.core.workspace import Workspace

    con = duckdb.connect(str(Workspace.at(root).db_path), read_only=True)
    try:
        con.sql(f"""SELECT org_code, product_code, n_rows, n_cases, n_decided, n_on_time, lead_median, lead_p90,
                           n_backlog, n_on_time / nullif(n_decided, 0) AS share_within_term,
                           1000.0 * n_objections / nullif(n_decided, 0) AS objections_per_1000,
                           1000.0 * n_complaints / nullif(n_cases, 0) AS complaints_per_1000
                    FROM f_zaken_agg WHERE year = {int(year)}""").df().to_parquet(out, index=False)
    finally:
        con.close()


def run_pipeline_child(argv: list[str]) -> None:
    """The ``_pipeline`` subcommand: (c) in its own process; prints JSON, writes the indicators."""
    ap = argparse.ArgumentParser(prog="bench_cases.py _pipeline")
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--fmt", default="csv")
    ap.add_argument("--year", type=int, default=2025)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    try:
        from pipeline.validate.cases import run_case_pipeline
    except (ImportError, AttributeError) as exc:
        print(json.dumps({"method": "pipeline", "available": False, "reason": f"{type(exc).__name__}: {exc}"}))
        sys.exit(NOT_AVAILABLE)
    files = {p.parent.name: p for p in sorted(args.dir.glob(f"*/zaken.{args.fmt}"))}
    t = time.perf_counter()
    df = run_case_pipeline(files, args.year, args.db)
    run_s = time.perf_counter() - t
    df.to_parquet(args.out, index=False)
    print(
        json.dumps(
            {
                "method": "pipeline",
                "available": True,
                "files": len(files),
                "groups": len(df),
                "run_s": round(run_s, 4),
                "wall_s": round(time.perf_counter() - T0, 4),
            }
        )
    )


# ------------------------------------------------------------------ comparing results


def normalise(df, year: int):
    """A method's indicator table on the canonical keys and columns (org rows: product_code '')."""
    import pandas as pd

    cols = {c.lower(): c for c in df.columns}
    if "year" in cols:
        df = df[df[cols["year"]] == year]
    out = pd.DataFrame(
        {
            "org_code": df[cols["org_code"]].astype(str).to_numpy(),
            "product_code": df[cols["product_code"]]
            .astype(object)
            .where(df[cols["product_code"]].notna(), "")
            .astype(str)
            .to_numpy(),
        }
    )
    for canon, names in ALIASES.items():
        name = next((cols[n] for n in names if n in cols), None)
        if name is not None:
            out[canon] = pd.to_numeric(df[name], errors="coerce").astype("float64").to_numpy()
    return out.set_index(list(KEYS)).sort_index()


def compare(a, b) -> dict:
    """Max abs difference over the groups and indicator columns both tables have."""
    import numpy as np

    common_cols = [c for c in ALIASES if c in a.columns and c in b.columns]
    only_a = a.index.difference(b.index)
    only_b = b.index.difference(a.index)
    idx = a.index.intersection(b.index)
    worst, worst_col = 0.0, None
    for c in common_cols:
        x, y = a.loc[idx, c].to_numpy(), b.loc[idx, c].to_numpy()
        both_nan = np.isnan(x) & np.isnan(y)
        d = np.where(both_nan, 0.0, np.abs(x - y))
        d = np.where(np.isnan(d), np.inf, d)  # one side missing
        m = float(d.max()) if len(d) else 0.0
        if worst_col is None or m > worst:
            worst, worst_col = m, c
    return {
        "max_abs_diff": worst,
        "worst_column": worst_col,
        "columns": common_cols,
        "groups": len(idx),
        "only_left": len(only_a),
        "only_right": len(only_b),
        "orgs_only_left": sorted({org for org, _ in only_a}),
        "same": worst <= TOLERANCE and not len(only_a) and not len(only_b),
    }


# ------------------------------------------------------------------ machine


def machine() -> dict:
    info: dict = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        m = re.search(r"model name\s*:\s*(.+)", cpuinfo)
        info["cpu"] = m.group(1).strip() if m else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    try:
        mem = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        info["ram_gib"] = round(int(mem.group(1)) / 1024**2, 1) if mem else None
    except OSError:
        info["ram_gib"] = None
    for pkg in ("duckdb", "pandas", "pyarrow", "numpy", "great_expectations"):
        try:
            info[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            info[pkg] = "not installed"
    info["timing"] = f"{TIME_BIN} -v" if os.access(TIME_BIN, os.X_OK) else "perf_counter + os.wait4 rusage"
    return info


def warm_cache(files: list[Path]) -> tuple[int, float]:
    """Read every file once so all methods start from a warm page cache."""
    t = time.perf_counter()
    total = 0
    for p in files:
        with open(p, "rb", buffering=0) as fh:
            while chunk := fh.read(16 << 20):
                total += len(chunk)
    return total, time.perf_counter() - t


# ------------------------------------------------------------------ the benchmark


def fmt_size(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def bench_size(size: int, args, methods: list[str]) -> dict:
    base = Path(tempfile.mkdtemp(prefix=f"rbb-cases-{fmt_size(size)}-", dir=args.tmp))
    data_dir = base / "data"
    result: dict = {
        "size": size,
        "dir": str(base),
        "runs": {m: [] for m in methods},
        "available": {},
        "load_before": os.getloadavg()[0],
    }
    try:
        gen = measure(
            [
                sys.executable,
                "-m",
                "pipeline.demo.cases",
                str(data_dir),
                "--cases",
                str(size),
                "--fmt",
                args.fmt,
                "--seed",
                str(args.seed),
                "--year",
                str(args.year),
            ],
            args.timeout,
        )
        if not gen.ok:
            raise RuntimeError(f"generation failed:\n{gen.stderr_tail}")
        files = sorted(data_dir.glob(f"*/zaken.{args.fmt}"))
        nbytes, warm_s = warm_cache(files)
        result.update(gen=gen.__dict__, files=len(files), bytes=nbytes, warm_s=warm_s)
        print(
            f"[{fmt_size(size)}] generated {len(files)} files, {nbytes / 1e6:,.0f} MB in {gen.wall_s:.1f} s "
            f"(peak {gen.rss_mb:,.0f} MB); cache warmed in {warm_s:.1f} s",
            file=sys.stderr,
        )
        outs = {m: base / f"indicators_{m}.parquet" for m in methods}
        db = base / "pipeline.duckdb"
        templates = {}
        if any(m in WORKSPACE_METHODS for m in methods):
            t = time.perf_counter()
            templates = build_workspaces(base, {p.parent.name: p for p in files}, args.year, args.seed)
            result["unplaced"] = templates["unplaced"]
            print(
                f"[{fmt_size(size)}] workspaces for (d)/(e) written in {time.perf_counter() - t:.1f} s", file=sys.stderr
            )
        for r in range(args.repeat):
            for m in methods:
                if result["available"].get(m) is False:
                    continue
                for p in (db, Path(str(db) + ".wal")):
                    p.unlink(missing_ok=True)
                where = data_dir
                if m in WORKSPACE_METHODS:  # a fresh workspace for each run (hard links, no copies)
                    where = base / f"{m}_round{r + 1}"
                    shutil.copytree(templates[m], where, copy_function=os.link)
                run = measure(method_cmd(m, where, args.fmt, args.year, outs[m], db), args.timeout)
                if m == "rbb" and run.ok:
                    workspace_indicators(where, args.year, outs[m])
                if m in WORKSPACE_METHODS:
                    shutil.rmtree(where, ignore_errors=True)
                if m == "pipeline" and run.returncode == NOT_AVAILABLE:
                    result["available"][m] = False
                    result["reason"] = run.payload.get("reason", run.stderr_tail[-300:])
                    print(f"[{fmt_size(size)}] (c) not available: {result['reason']}", file=sys.stderr)
                    continue
                result["available"][m] = True
                result["runs"][m].append(run.__dict__)
                status = "ok" if run.ok else f"FAILED (exit {run.returncode})"
                print(
                    f"[{fmt_size(size)}] round {r + 1}: {m:8s} {run.wall_s:7.2f} s  {run.rss_mb:8,.0f} MB  {status}",
                    file=sys.stderr,
                )
                if not run.ok:
                    print(run.stderr_tail, file=sys.stderr)
        db.unlink(missing_ok=True)
        result["load_after"] = os.getloadavg()[0]
        result["compare"] = compare_outputs(outs, methods, result, args.year)
    finally:
        if args.keep:
            print(f"[{fmt_size(size)}] kept {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)
    return result


def compare_outputs(outs: dict[str, Path], methods: list[str], result: dict, year: int) -> dict:
    import pandas as pd

    tables = {}
    for m in methods:
        runs = result["runs"][m]
        if runs and all(r["returncode"] == 0 for r in runs) and outs[m].exists():
            tables[m] = normalise(pd.read_parquet(outs[m]), year)
    cmp = {}
    for a, b in PAIRS:
        if a in tables and b in tables:
            cmp[f"{a}|{b}"] = compare(tables[a], tables[b])
    if "floor|rbb" in cmp:  # (d) stores accepted submissions only: the members rejected for their workbooks lack
        c = cmp["floor|rbb"]
        c["same"] = c["max_abs_diff"] <= TOLERANCE and not c["only_right"]
    cmp["columns"] = {m: [c for c in ALIASES if c in t.columns] for m, t in tables.items()}
    return cmp


def summary(runs: list[dict], size: int) -> dict | None:
    ok = [r for r in runs if r["returncode"] == 0]
    if not ok:
        return None
    walls = [r["wall_s"] for r in ok]
    inner = [r["payload"].get("wall_s") for r in ok if r["payload"].get("wall_s") is not None]
    return {
        "n": len(ok),
        "min": min(walls),
        "median": statistics.median(walls),
        "inner_min": min(inner) if inner else math.nan,
        "rss": max(r["rss_mb"] for r in ok),
        "rows_per_s": size / min(walls),
        "s_per_m": min(walls) / (size / 1e6),
    }


def render(results: list[dict], args, methods: list[str]) -> str:
    lines: list[str] = []
    mach = machine()
    lines += [
        "### Machine",
        "",
        "| item | value |",
        "|---|---|",
        f"| CPU | {mach['cpus']} × {mach['cpu']} |",
        f"| RAM | {mach['ram_gib']} GiB |",
        f"| OS | {mach['platform']} |",
        f"| Python | {mach['python']} |",
        f"| duckdb / pandas / pyarrow / numpy | {mach['duckdb']} / {mach['pandas']} / {mach['pyarrow']} / {mach['numpy']} |",
        (
            f"| timing | {mach['timing']}, own process per method, warm page cache, {args.repeat} round(s), "
            "interleaved; wall = min (median), RSS = max over rounds |"
        ),
        f"| data | `pipeline.demo.cases`, format {args.fmt}, year {args.year}, seed {args.seed} |",
        "| load average (1 min) before / after each size | "
        + ", ".join(
            f"{fmt_size(r['size'])}: {r['load_before']:.2f} / {r.get('load_after', math.nan):.2f}" for r in results
        )
        + f" (on {mach['cpus']} CPUs; other work on the machine shows here) |",
        "",
    ]
    lines += [
        "### Results",
        "",
        "| size | method | runs | wall min s | wall median s | in-process s | peak RSS MB | rows/s | s per M cases |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    stats: dict[tuple[int, str], dict | None] = {}
    for res in results:
        size = res["size"]
        g = res.get("gen")
        if g:
            lines.append(
                f"| {fmt_size(size)} | {LABELS['gen']} ({res['bytes'] / 1e6:,.0f} MB, {res['files']} files) | 1 | "
                f"{g['wall_s']:.2f} | | | {g['rss_mb']:,.0f} | {size / g['wall_s'] / 1e6:.2f} M | "
                f"{g['wall_s'] / (size / 1e6):.3f} |"
            )
        for m in methods:
            if res["available"].get(m) is False:
                stats[(size, m)] = None
                lines.append(f"| {fmt_size(size)} | {LABELS[m]} | 0 | not available | | | | | |")
                continue
            if m not in res["runs"]:  # not measured at this size
                continue
            s = summary(res["runs"][m], size)
            stats[(size, m)] = s
            if s is None:
                lines.append(f"| {fmt_size(size)} | {LABELS[m]} | 0 | FAILED | | | | | |")
                continue
            lines.append(
                f"| {fmt_size(size)} | {LABELS[m]} | {s['n']} | {s['min']:.2f} | {s['median']:.2f} | "
                f"{s['inner_min']:.2f} | {s['rss']:,.0f} | {s['rows_per_s'] / 1e6:.2f} M | {s['s_per_m']:.3f} |"
            )
    lines += [
        "",
        "### Ratios (wall min) and the goal: (c) ≤ 2× (a), (c) ≥ 2× faster than (b), (c) peak RSS < 2 GB",
        "",
        "| size | (c)/(a) | (b)/(c) | (b)/(a) | (c) ≤ 2× floor | (b)/(c) ≥ 2 | (c) RSS < 2 GB |",
        "|---|---:|---:|---:|---|---|---|",
    ]

    def ratio(x, y):
        return f"{x['min'] / y['min']:.2f}" if x and y else "n/a"

    def verdict(c, cond) -> str:
        return ("yes" if cond else "**no**") if c else "n/a"

    for res in results:
        size = res["size"]
        a, b, c = (stats.get((size, m)) for m in ("floor", "pandas", "pipeline"))
        lines.append(
            f"| {fmt_size(size)} | {ratio(c, a)} | {ratio(b, c)} | {ratio(b, a)} | "
            f"{verdict(c, c and a and c['min'] <= 2 * a['min'])} | "
            f"{verdict(c, c and b and b['min'] >= 2 * c['min'])} | {verdict(c, c and c['rss'] < 2048)} |"
        )
    lines += [
        "",
        "### Issue 20's goals: (d) ≤ 1.25× (a), (c) ≤ 1.5× (a2), peak RSS of (c) and (d) < 2 GB",
        "",
        "| size | (a2)/(a) | (c)/(a2) | (c)/(a) | (d)/(a) | (c) ≤ 1.5× (a2) | (d) ≤ 1.25× (a) | RSS < 2 GB |",
        "|---|---:|---:|---:|---:|---|---|---|",
    ]
    for res in results:
        size = res["size"]
        a, a2, c, d = (stats.get((size, m)) for m in ("floor", "hist", "pipeline", "rbb"))
        rss = [x["rss"] for x in (c, d) if x]
        lines.append(
            f"| {fmt_size(size)} | {ratio(a2, a)} | {ratio(c, a2)} | {ratio(c, a)} | {ratio(d, a)} | "
            f"{verdict(c and a2, c and a2 and c['min'] <= 1.5 * a2['min'])} | "
            f"{verdict(d and a, d and a and d['min'] <= 1.25 * a['min'])} | "
            f"{verdict(rss, rss and max(rss) < 2048)} |"
        )
    if any(stats.get((res["size"], "rbb")) for res in results):
        lines += [
            "",
            (
                "### The real commands: (d) `rbb ingest` + `rbb compute` of a one-year workspace with the "
                "case files, (e) the same workspace without them"
            ),
            "",
            "| size | (d) s | (e) s | (d) − (e) s | (d)/(a) | ((d) − (e))/(a) | (d) peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for res in results:
            size = res["size"]
            a, d, e = (stats.get((size, m)) for m in ("floor", "rbb", "rbb_sheets"))
            if not d:
                continue
            extra = d["min"] - e["min"] if e else math.nan
            lines.append(
                f"| {fmt_size(size)} | {d['min']:.2f} | {e['min'] if e else math.nan:.2f} | {extra:.2f} | "
                f"{ratio(d, a)} | {extra / a['min'] if a else math.nan:.2f} | {d['rss']:,.0f} |"
            )
    sizes = [r["size"] for r in results]
    if len(sizes) > 1:
        largest = max(sizes)
        ref = 7_000_000 if 7_000_000 in sizes and largest != 7_000_000 else min(sizes)
        lines += [
            "",
            (
                f"### Time per case (s per M cases, wall min) and linearity = per case at "
                f"{fmt_size(largest)} / per case at {fmt_size(ref)}"
            ),
            "",
            "| method | " + " | ".join(fmt_size(s) for s in sizes) + " | linearity |",
            "|---|" + "---:|" * (len(sizes) + 1),
        ]
        for m in methods:
            cells = [stats.get((s, m)) for s in sizes]
            ref_s, big = stats.get((ref, m)), stats.get((largest, m))
            lin = f"{big['s_per_m'] / ref_s['s_per_m']:.2f}" if ref_s and big else "n/a"
            lines.append(
                f"| {LABELS[m]} | " + " | ".join(f"{x['s_per_m']:.3f}" if x else "n/a" for x in cells) + f" | {lin} |"
            )
    lines += [
        "",
        (
            f"### Same indicators? (max abs difference over matched org and org × product groups; "
            f"tolerance {TOLERANCE:g})"
        ),
        "",
        "| size | pair | groups | only in one | max abs diff | worst column | same | columns compared |",
        "|---|---|---:|---:|---:|---|---|---|",
    ]
    for res in results:
        cmp = res.get("compare", {})
        for pair in (f"{a}|{b}" for a, b in PAIRS):
            c = cmp.get(pair)
            if not c:
                continue
            a, b = pair.split("|")
            lines.append(
                f"| {fmt_size(res['size'])} | {short(a)} vs {short(b)} | {c['groups']} | "
                f"{c['only_left']} / {c['only_right']} | {c['max_abs_diff']:.3g} | "
                f"{c['worst_column'] if c['max_abs_diff'] > 0 else '—'} | "
                f"{'yes' if c['same'] else '**NO**'} | {len(c['columns'])} |"
            )
        lacking = cmp.get("floor|rbb", {}).get("orgs_only_left")
        if lacking:
            unplaced = [o for o in lacking if o in res.get("unplaced", [])]
            rejected = [o for o in lacking if o not in unplaced]
            why = []
            if rejected:
                why.append(
                    f"{len(rejected)} whose submission was rejected for planted workbook faults of the demo "
                    f"data ({', '.join(rejected)})"
                )
            if unplaced:
                why.append(f"{len(unplaced)} without a delivery in the demo year ({', '.join(unplaced)})")
            lines.append(f"| {fmt_size(res['size'])} | (d) lacks | | | | members: {'; '.join(why)} | | |")
        cols = cmp.get("columns", {})
        if "pipeline" in cols:
            missing = [c for c in cols.get("floor", []) if c not in cols["pipeline"]]
            if missing:
                lines.append(f"| {fmt_size(res['size'])} | (c) lacks | | | | {', '.join(missing)} | | |")
    reasons = {r.get("reason") for r in results if r.get("reason")}
    for reason in reasons:
        lines += ["", f"(c) not available: {reason}"]
    return "\n".join(lines)


def parse_size(text: str) -> int:
    """A case count as given on the command line: ``7000000``, ``7M``, ``500K`` or ``1.5e6``."""
    t = text.strip().upper().replace("_", "")
    factor = {"K": 1_000, "M": 1_000_000}.get(t[-1:], 1)
    number = t[:-1] if factor > 1 else t
    try:
        value = float(number) * factor
    except ValueError:
        raise ValueError(f"not a case count: {text!r} (e.g. 7000000 or 7M)") from None
    if value < 1 or value != int(value):
        raise ValueError(f"not a case count: {text!r} (e.g. 7000000 or 7M)")
    return int(value)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_pipeline":
        run_pipeline_child(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000000,7000000", help="comma-separated case counts (default 1M,7M)")
    ap.add_argument("--fmt", choices=("csv", "parquet"), default="csv")
    ap.add_argument("--repeat", type=int, default=1, help="rounds per size (report min wall, max RSS)")
    ap.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help=f"subset of {','.join(METHODS)} (default {','.join(DEFAULT_METHODS)})",
    )
    ap.add_argument("--year", type=int, default=2025)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tmp", type=Path, default=None, help="where to put the generated files (default: $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per process")
    ap.add_argument("--json", type=Path, help="also write all measurements as JSON")
    args = ap.parse_args()
    try:
        sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError as exc:
        sys.exit(f"--sizes: {exc}")
    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(METHODS)
    if unknown:
        sys.exit(f"unknown methods: {', '.join(sorted(unknown))}")
    results = [bench_size(size, args, methods) for size in sizes]
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=1, default=str))
    print(render(results, args, methods))


if __name__ == "__main__":
    main()
