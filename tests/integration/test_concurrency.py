"""Concurrent writers and readers: the workspace lock, ``--wait``, and a warehouse another process holds."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from rounds import (
    ROOT,
    SMALL_ORGS,
    SMALL_YEARS,
    YEAR,
    assert_warehouse_consistent,
    deliveries_in,
    one_line,
    rbb,
    run_rbb,
    small_workspace,
    start,
)

#: The workspace the ingests race on. The winner must still hold the lock when the others look, which the
#: fixed cost of a validation run (seconds, whatever the number of deliveries) ensures.
RACE_ORGS = ["DUO", "SVB", "CJIB"]


@pytest.mark.slow
def test_two_concurrent_ingests_one_refuses_and_with_wait_both_succeed(tmp_path, demo_workspace):
    """Two ingests started together: one runs, the other refuses with a clear message (the PID holding
    the workspace, the hint to use --wait). An ingest with --wait started while the winner still runs
    waits for it and then succeeds, finding no new deliveries; everything is recorded exactly once.

    (One validation run serves both halves: the --wait ingest waits for the winner of the race, instead
    of a second race of two --wait ingests over a second year of deliveries.)"""
    ws = small_workspace(tmp_path / "ws", demo_workspace, orgs=RACE_ORGS, years=SMALL_YEARS)
    procs = [start("ingest", root=ws.root) for _ in range(2)]
    deadline = time.monotonic() + 300
    while all(p.poll() is None for p in procs):  # until the loser gives up (or, wrongly, one finishes)
        assert time.monotonic() < deadline, "neither ingest finished"
        time.sleep(0.02)
    waiting = start("ingest", "--wait", root=ws.root)
    outputs = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(code == 0 for code in codes) == [False, True], (codes, outputs)
    winner = codes.index(0)
    loser = 1 - winner
    message = one_line(outputs[loser][1])
    assert "Traceback" not in outputs[loser][1] and "Traceback" not in outputs[winner][1], outputs
    assert "another rbb process" in message and f"PID {procs[winner].pid}" in message, message
    assert "--wait" in message

    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0 and "Traceback" not in err, err
    both = [outputs[winner][0], out]
    assert sum("No new deliveries" in o for o in both) == 1 and "No new deliveries" in out, [o[-300:] for o in both]
    subs = assert_warehouse_consistent(ws)
    # every delivery recorded once (a member may have sent a correction after its first delivery)
    assert len(subs) == deliveries_in(ws) >= len(RACE_ORGS) * len(SMALL_YEARS)


def test_ingest_while_the_warehouse_is_open_for_reading_gives_a_clear_message(tmp_path, demo_workspace):
    ws = small_workspace(tmp_path / "ws", demo_workspace, orgs=["SVB"], years=[YEAR])
    duckdb.connect(str(ws.db_path)).close()
    reader = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        proc = run_rbb("ingest", root=ws.root)
    finally:
        reader.close()
    assert "Traceback" not in proc.stderr, proc.stderr[-1500:]
    assert proc.returncode != 0 and proc.stderr.strip()


def has_open(pid: int, path: Path) -> bool:
    try:
        return any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
def test_status_while_a_writer_runs_gives_a_clear_message(tmp_path, demo_workspace):
    ws = small_workspace(tmp_path / "ws", demo_workspace, orgs=SMALL_ORGS, years=[2024])
    writer = subprocess.Popen(
        rbb("ingest", root=ws.root),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not has_open(writer.pid, ws.db_path):
            assert writer.poll() is None and time.monotonic() < deadline, "the writer never opened the warehouse"
            time.sleep(0.01)
        status = run_rbb("status", root=ws.root)
        writer_finished_first = writer.poll() is not None
    finally:
        # what the writer does after status has read is no part of this test: stop it (and its readers)
        try:
            os.killpg(writer.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        writer.wait(timeout=300)
    if writer_finished_first:
        pytest.skip("the writer finished before status read the warehouse")
    assert "Traceback" not in status.stderr, status.stderr[-1500:]
    assert status.returncode == 0 or status.stderr.strip()


def test_a_run_log_waits_while_another_process_holds_the_writer_lock(tmp_path):
    """A command's run is written to the warehouse only under the writer lock: while another process holds it
    (and may be about to open the warehouse, which DuckDB gives to one process at a time) the run waits in the
    pending file; the next run written takes it along. Under its own lock a process writes directly."""
    import datetime as dt
    import sys

    from pipeline.core import runlog
    from pipeline.core.workspace import Workspace

    ws = Workspace.at(tmp_path / "ws").ensure()
    duckdb.connect(str(ws.db_path)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pipeline.core.workspace import Workspace\n"
            "with Workspace.at(sys.argv[1]).writer_lock():\n    print('held', flush=True); time.sleep(60)",
            str(ws.root),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        runlog.write(ws, runlog.Run("ingest", {}, dt.datetime(2026, 3, 1, 9, 0)))
        assert runlog.pending_path(ws).exists()
        assert len(runlog.read_pending(ws)) == 1
    finally:
        holder.kill()
        holder.wait()
    with ws.writer_lock():
        assert ws.holds_writer_lock()
        runlog.write(ws, runlog.Run("compute", {}, dt.datetime(2026, 3, 1, 9, 5)))
    assert not ws.holds_writer_lock()
    assert not runlog.pending_path(ws).exists()
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        assert [r[0] for r in con.execute("SELECT command FROM runs ORDER BY run_id").fetchall()] == [
            "ingest",
            "compute",
        ]
    finally:
        con.close()
