"""Crash safety: a SIGKILL of ``rbb ingest``, ``rbb compute`` or ``rbb report`` at any point leaves a
consistent workspace, and the next run completes it exactly as a clean run would."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from inprocess import rbb as cli
from rounds import (
    ACCEPTED,
    SMALL_ORGS,
    SMALL_YEARS,
    YEAR,
    clone_workspace,
    deliveries_in,
    fact_counts,
    fact_tables,
    file_hashes,
    grows,
    kill_at,
    rbb,
    run_rbb,
    small_workspace,
    submissions,
    table_hashes,
)

from pipeline.core.workspace import Workspace

INGEST_TABLES = ["submissions", "submission_files", "findings"]
COMPUTE_TABLES = [
    "indicator_catalogue",
    "indicator_values",
    "benchmark_stats",
    "comparisons",
    "strengths_weaknesses",
    "composite_scores",
    "composite_uncertainty",
    "composite_method",
    "dea_results",
]


def ingest_tables(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return INGEST_TABLES + fact_tables(con)
    finally:
        con.close()


def long_run(request) -> bool:
    return bool(request.config.getoption("--long")) or os.environ.get("RBB_LONG") == "1"


class Reference:
    """A clean run of ingest, compute and report on the small workspace, timed per stage."""

    def __init__(self, ws: Workspace, before: dict[str, Workspace], durations: dict[str, float]):
        self.ws, self.before, self.durations = ws, before, durations
        counts = fact_counts(ws.db_path)
        self.rows = {
            (s["org_code"], s["year"], s["sha256"]): counts.get(s["submission_id"], {}) for s in submissions(ws.db_path)
        }
        self.assets = {p.relative_to(ws.reports): p.read_bytes() for p in ws.reports.rglob("plotly.min.js")}

    @classmethod
    def build(cls, root: Path, demo_workspace: Workspace) -> Reference:
        ws = small_workspace(root / "reference", demo_workspace)
        before, durations = {}, {}
        for stage in ("ingest", "compute", "report"):
            before[stage] = clone_workspace(ws, root / f"before_{stage}")
            start = time.monotonic()
            proc = run_rbb(stage, root=ws.root)
            durations[stage] = time.monotonic() - start
            assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        return cls(ws, before, durations)


def check_consistent(ws: Workspace, ref: Reference) -> None:
    """What a crash may leave: a warehouse that opens and holds no half load, and only complete report files."""
    if ws.db_path.exists():
        con = duckdb.connect(str(ws.db_path), read_only=True)
        try:
            tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            if "submissions" in tables:
                subs = con.execute(
                    "SELECT submission_id, org_code, year, sha256, status, in_force, stored_path FROM submissions"
                ).fetchall()
                for table in fact_tables(con):
                    orphans = con.execute(
                        f"SELECT count(*) FROM {table} WHERE submission_id NOT IN "
                        "(SELECT submission_id FROM submissions)"
                    ).fetchone()[0]
                    assert orphans == 0, f"{table} holds rows of submissions that do not exist"
                    counts = dict(con.execute(f"SELECT submission_id, count(*) FROM {table} GROUP BY 1").fetchall())
                    for sid, org, year, sha, status, in_force, _ in subs:
                        want = 0 if status == "rejected" else ref.rows[(org, year, sha)].get(table, 0)
                        assert counts.get(sid, 0) == want, (
                            f"{table}: {org} {year} has {counts.get(sid, 0)} rows, not {want}"
                        )
                        assert in_force == (status in ACCEPTED)
                doubles = con.execute(
                    "SELECT org_code, year FROM submissions WHERE in_force GROUP BY 1, 2 HAVING count(*) > 1"
                ).fetchall()
                assert doubles == [], f"more than one version in force: {doubles}"
                for *_, stored in subs:
                    assert (ws.root / stored).is_file(), f"stored delivery {stored} is missing"
            if "indicator_values" in tables:
                stray = con.execute(
                    "SELECT count(*) FROM indicator_values WHERE submission_id NOT IN "
                    "(SELECT submission_id FROM submissions WHERE in_force)"
                ).fetchone()[0]
                assert stray == 0, "indicator values of submissions not in force"
        finally:
            con.close()

    # a report run writes into a hidden staging folder (reports/.<year>.tmp-<pid>/) and swaps it in whole; a
    # killed run leaves that folder for the next run to remove, never a half-written published report
    def published(paths):
        return [p for p in paths if not p.relative_to(ws.reports).parts[0].startswith(".")]

    for page in published(ws.reports.rglob("*.html")):
        assert page.read_text("utf-8").rstrip().endswith("</html>"), f"truncated report {page}"
    for asset in published(ws.reports.rglob("plotly.min.js")):
        assert asset.read_bytes() == ref.assets[asset.relative_to(ws.reports)], f"truncated {asset}"


def written(folder: Path, pattern: str):
    """A condition that holds once a file matching ``pattern`` is written (created or replaced) from now on."""
    start = time.time()

    def condition() -> bool:
        for p in folder.glob(pattern):
            try:
                if p.stat().st_mtime > start:
                    return True
            except FileNotFoundError:
                pass
        return False

    return condition


@dataclass(frozen=True)
class KillPoint:
    """Where to kill a stage: after ``delay`` seconds, or once the condition made by ``until()`` holds (it
    is made just before the run, so that it counts the files present then)."""

    label: str
    delay: float | None = None
    until: Callable[[], Callable[[], bool]] | None = None


class CrashSeries:
    """Kill one stage at several points on the same workspace, each run starting from what the previous
    kill left; check consistency after every kill, then run the stage to completion.

    ``points`` is the full series; ``sample`` (when given) runs a seeded draw of that many of them, in the
    series' order, and draws again from the rest for each one that did not kill the stage (it finished
    first), so that the sample always holds ``sample`` kills if the series has them."""

    def __init__(self, stage: str, ws: Workspace, ref: Reference):
        self.stage, self.ws, self.ref = stage, ws, ref
        self.kills: list[str] = []
        self.missed: list[str] = []

    def kill(self, point: KillPoint) -> bool:
        until = point.until() if point.until is not None else None
        if kill_at(rbb(self.stage, root=self.ws.root), delay=point.delay, until=until):
            self.kills.append(f"{self.stage}: {point.label}")
            check_consistent(self.ws, self.ref)
            return True
        self.missed.append(f"{self.stage}: {point.label}")
        return False

    def run(self, points: list[KillPoint], rng: random.Random, sample: int | None) -> None:
        if sample is None:
            for point in points:
                self.kill(point)
        else:
            order = rng.sample(range(len(points)), len(points))
            chosen, rest = sorted(order[:sample]), order[sample:]
            killed = 0
            while chosen:
                killed += self.kill(points[chosen.pop(0)])
                if not chosen and killed < sample and rest:
                    chosen = [rest.pop(0)]
        self.finish()

    def finish(self) -> None:
        proc = run_rbb(self.stage, root=self.ws.root)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        check_consistent(self.ws, self.ref)


def ingest_points(s: CrashSeries, rng: random.Random) -> list[KillPoint]:
    return [
        KillPoint("starting", delay=rng.uniform(0.05, 1.0)),
        KillPoint("creating the warehouse", until=lambda: lambda: s.ws.db_path.exists()),
        KillPoint("reading and validating", delay=rng.uniform(0.4, 0.8) * s.ref.durations["ingest"]),
        KillPoint("storing the first delivery", until=lambda: grows(s.ws.inbox, "*/*/*", 1)),
        KillPoint("storing a later delivery", until=lambda: grows(s.ws.inbox, "*/*/*", 4)),
        KillPoint("writing the feedback pages", until=lambda: grows(s.ws.reports, "*/validation/*.html", 1)),
    ]


def compute_points(s: CrashSeries, rng: random.Random) -> list[KillPoint]:
    return [
        *(KillPoint("random", delay=rng.uniform(0.05, 0.9 * s.ref.durations["compute"])) for _ in range(9)),
        KillPoint("between commit and checkpoint", until=lambda: lambda: Path(f"{s.ws.db_path}.wal").exists()),
    ]


def report_points(s: CrashSeries, rng: random.Random) -> list[KillPoint]:
    return [
        *(KillPoint("random", delay=rng.uniform(0.05, 0.9 * s.ref.durations["report"])) for _ in range(8)),
        KillPoint(
            "after the first organisation report", until=lambda: written(s.ws.reports, f"{YEAR}/organisations/*.html")
        ),
    ]


def crash_ingest(s: CrashSeries, rng: random.Random, sample: int | None) -> None:
    s.run(ingest_points(s, rng), rng, sample)


def crash_compute_and_report(compute: CrashSeries, report: CrashSeries, rng: random.Random, sample: int | None) -> None:
    compute_series, report_series = compute_points(compute, rng), report_points(report, rng)
    compute.run(compute_series, rng, sample)
    report.run(report_series, rng, sample)


def in_thread(func, *args) -> threading.Thread:
    def target():
        try:
            func(*args)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    errors: list[BaseException] = []
    thread = threading.Thread(target=target)
    thread.errors = errors
    thread.start()
    return thread


#: Kill points per stage run by default (a seeded draw); ``--long`` runs every point of the series.
SAMPLE_PER_STAGE = 1
FULL_SERIES_KILLS = 20


@pytest.mark.slow
def test_sigkill_at_any_point_leaves_a_consistent_workspace(tmp_path, demo_workspace, request):
    """Kill ingest, compute and report with SIGKILL and check what each kill leaves; then the next run of
    the stage must complete it exactly as the clean reference run did.

    By default a seeded draw of one kill point per stage (ingest: starting, creating the warehouse,
    reading and validating, storing the first or a later delivery, writing the feedback pages; compute: a
    random moment or between commit and checkpoint; report: a random moment or after the first
    organisation report). The full series (6 + 10 + 9 kill points, at least 20 kills) runs with
    ``python -m pytest tests/integration/test_crash.py --long`` (or ``RBB_LONG=1``)."""
    full = long_run(request)
    sample = None if full else SAMPLE_PER_STAGE
    rng = random.Random(20250301)
    ref = Reference.build(tmp_path, demo_workspace)
    statuses = [s["status"] for s in submissions(ref.ws.db_path)]
    # one submission per delivery (a member may have sent a correction after its first delivery)
    assert len(statuses) == deliveries_in(ref.ws) >= len(SMALL_ORGS) * len(SMALL_YEARS) and "rejected" in statuses

    ingest_series = CrashSeries("ingest", ref.before["ingest"], ref)
    compute_series = CrashSeries("compute", ref.before["compute"], ref)
    report_series = CrashSeries("report", ref.before["report"], ref)
    threads = [
        in_thread(crash_ingest, ingest_series, random.Random(rng.random()), sample),
        in_thread(crash_compute_and_report, compute_series, report_series, random.Random(rng.random()), sample),
    ]
    for t in threads:
        t.join()
    for t in threads:
        if t.errors:
            raise t.errors[0]
    series = (ingest_series, compute_series, report_series)
    kills = [k for s in series for k in s.kills]
    if full:
        assert len(kills) >= FULL_SERIES_KILLS, kills
    else:
        for s in series:
            assert len(s.kills) == SAMPLE_PER_STAGE, (s.stage, s.kills, s.missed)

    tables = ingest_tables(ref.ws.db_path)
    assert table_hashes(ingest_series.ws.db_path, tables) == table_hashes(ref.ws.db_path, tables)
    proc = cli("compute", "--root", str(ingest_series.ws.root))  # after the series: in this process
    assert proc.returncode == 0, proc.stderr
    assert table_hashes(ingest_series.ws.db_path, ["indicator_values"]) == table_hashes(
        ref.ws.db_path, ["indicator_values"]
    )
    assert table_hashes(compute_series.ws.db_path, COMPUTE_TABLES) == table_hashes(ref.ws.db_path, COMPUTE_TABLES)
    assert file_hashes(report_series.ws.reports) == file_hashes(ref.ws.reports)


# ------------------------------------------------------------------ what a crash leaves behind


def test_feedback_pages_are_complete_after_a_crash_between_commit_and_feedback(tmp_path, demo_workspace):
    ws = small_workspace(tmp_path / "ws", demo_workspace, orgs=["DUO", "SVB", "CJIB"], years=[YEAR])
    assert kill_at(rbb("ingest", root=ws.root), until=grows(ws.reports, "*/validation/*.html", 1))
    proc = cli("ingest", "--root", str(ws.root))  # the next run, in this process
    assert proc.returncode == 0, proc.stderr
    pages = {p.name for p in ws.reports.glob(f"{YEAR}/validation/*.html")}
    for s in submissions(ws.db_path):
        for suffix in ("", ".en"):
            assert f"{s['org_code']}_v{s['version']}{suffix}.html" in pages, sorted(pages)
