"""Rounds of ``rbb`` runs for the reliability tests: workspaces cut from the demo, the ``rbb`` command in a
subprocess, and what a warehouse and a report folder hold (fact rows per submission, fingerprints).

Shared by tests/ingest/test_broken_files.py and tests/integration/test_{crash,concurrency,determinism}.py.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from pipeline.core.workspace import Workspace

YEAR = 2025
ROOT = Path(__file__).resolve().parents[1]
ACCEPTED = ("accepted", "accepted_with_warnings")

#: The small workspace of the crash and concurrency tests: six members (CSV folders and workbooks, one of
#: them with a rejected delivery) over two years.
SMALL_ORGS = ["DUO", "SVB", "UWV", "TSL", "ZIN", "CJIB"]
SMALL_YEARS = [2024, 2025]


# ------------------------------------------------------------------ the rbb command


def rbb(*args: str, root: Path) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", *args, "--root", str(root)]


def run_rbb(*args: str, root: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(rbb(*args, root=root), capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False)


def start(*args: str, root: Path) -> subprocess.Popen:
    return subprocess.Popen(rbb(*args, root=root), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def one_line(text: str) -> str:
    return " ".join(text.split())


def kill_at(cmd: list[str], delay: float | None = None, until=None, timeout: float = 300) -> bool:
    """Run ``cmd`` and SIGKILL it after ``delay`` seconds or as soon as ``until()`` holds.

    Returns True when it was killed, False when it finished first (which must then be a clean exit)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, start_new_session=True)
    start_time = time.monotonic()
    try:
        while proc.poll() is None:
            elapsed = time.monotonic() - start_time
            if (delay is not None and elapsed >= delay) or (until is not None and until()):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                try:
                    os.killpg(proc.pid, signal.SIGKILL)  # the Excel reader children of the killed process
                except ProcessLookupError:
                    pass
                return True
            assert elapsed < timeout, f"{cmd} did not finish in {timeout} s"
            time.sleep(0.005)
        stderr = proc.stderr.read().decode()
        assert proc.returncode == 0 and "Traceback" not in stderr, stderr
        return False
    finally:
        proc.stderr.close()


def grows(folder: Path, pattern: str, by: int = 1):
    """A condition that holds once ``by`` more files match ``pattern`` than now."""
    start_count = sum(1 for _ in folder.glob(pattern))
    return lambda: sum(1 for _ in folder.glob(pattern)) >= start_count + by


# ------------------------------------------------------------------ workspaces


def small_workspace(root: Path, demo_workspace: Workspace, orgs=SMALL_ORGS, years=SMALL_YEARS) -> Workspace:
    """A fresh workspace holding the demo's raw deliveries of ``orgs`` in ``years`` (nothing ingested)."""
    ws = Workspace.at(root).ensure()
    for year in years:
        for org in orgs:
            src = demo_workspace.raw / str(year) / org
            if src.exists():
                shutil.copytree(src, ws.raw / str(year) / org)
    return ws


def clone_workspace(src: Workspace, dst: Path) -> Workspace:
    """A copy of the whole workspace folder (raw data, inbox, warehouse and reports)."""
    shutil.copytree(src.root, dst)
    return Workspace.at(dst)


# ------------------------------------------------------------------ what a warehouse holds


def fact_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The warehouse tables holding rows of submissions (``f_*`` with a submission_id)."""
    return [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'submission_id' "
            "AND table_name LIKE 'f\\_%' ESCAPE '\\' ORDER BY 1"
        ).fetchall()
    ]


def fact_counts(db: Path) -> dict[int, dict[str, int]]:
    """Rows per submission id and fact table."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out: dict[int, dict[str, int]] = {}
        for table in fact_tables(con):
            for sid, n in con.execute(f"SELECT submission_id, count(*) FROM {table} GROUP BY 1").fetchall():
                out.setdefault(sid, {})[table] = n
        return out
    finally:
        con.close()


def submissions(db: Path) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("SELECT * FROM submissions ORDER BY submission_id")
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]
    finally:
        con.close()


def assert_no_partial_loads(db: Path, expected: dict[str, dict[str, int]]) -> list[dict]:
    """Fact rows exist only for accepted (or later superseded) submissions, and exactly as many as expected.

    ``expected`` maps a delivery name to its rows per fact table (tables left out must be empty)."""
    subs = submissions(db)
    counts = fact_counts(db)
    ids = {s["submission_id"] for s in subs}
    assert set(counts) <= ids, f"fact rows for unknown submissions {set(counts) - ids}"
    for s in subs:
        got = {t: n for t, n in counts.get(s["submission_id"], {}).items() if n}
        if s["status"] == "rejected":
            assert got == {}, f"rejected {s['original_name']} has fact rows {got}"
            assert not s["in_force"]
        else:
            assert s["status"] in (*ACCEPTED, "superseded")
            assert got == expected[s["original_name"]], s["original_name"]
    in_force = [(s["org_code"], s["year"]) for s in subs if s["in_force"]]
    assert len(in_force) == len(set(in_force)), "more than one version in force"
    for s in subs:
        assert s["in_force"] == (s["status"] in ACCEPTED)
    return subs


def assert_warehouse_consistent(ws: Workspace) -> list[dict]:
    """Every delivery recorded once; fact rows only, and completely, for accepted submissions."""
    subs = submissions(ws.db_path)
    keys = [(s["org_code"], s["year"], s["sha256"]) for s in subs]
    assert len(keys) == len(set(keys)), "a delivery was recorded twice"
    counts = fact_counts(ws.db_path)
    assert set(counts) <= {s["submission_id"] for s in subs}
    for s in subs:
        got = {t: n for t, n in counts.get(s["submission_id"], {}).items() if n}
        if s["status"] == "rejected":
            assert got == {}
        else:
            assert got.get("f_organisatie") == 1 and got.get("f_producten") and got.get("f_kanalen"), got
        assert s["in_force"] == (s["status"] in ACCEPTED)
    return subs


def deliveries_in(ws: Workspace) -> int:
    return sum(1 for _ in ws.raw.glob("*/*/*"))


# ------------------------------------------------------------------ fingerprints


def canonical_csv(con: duckdb.DuckDBPyConnection, table: str, drop: set[str] = frozenset()) -> str:
    """The table as CSV ordered by all its columns (leaving out ``drop``), every value written with repr
    (exact floats)."""
    cols = [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall() if r[0] not in drop]
    names = ", ".join(f'"{c}"' for c in cols)
    rows = con.execute(f'SELECT {names} FROM "{table}" ORDER BY ALL').fetchall()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    writer.writerows([[repr(v) for v in row] for row in rows])
    return buf.getvalue()


def base_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The warehouse's tables, without the run log (it holds times of day and durations)."""
    from pipeline.core.runlog import TIMED_TABLES

    return [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1"
        ).fetchall()
        if r[0] not in TIMED_TABLES
    ]


def table_hashes(db: Path, tables: list[str] | None = None) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: hashlib.sha256(canonical_csv(con, t).encode()).hexdigest() for t in (tables or base_tables(con))}
    finally:
        con.close()


def file_hashes(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` except leftovers of interrupted atomic writes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".tmp-" not in p.name
    }
