"""forked_map: the same results, in the same order, as running the items one after the other."""

from __future__ import annotations

import os
import signal

import pytest

from pipeline.core import parallel
from pipeline.core.parallel import forked_map


def test_results_in_input_order_from_other_processes():
    data = {i: i * i for i in range(40)}  # held by the parent only: the children see it through fork

    def square(i):
        return data[i], os.getpid()

    out = forked_map(square, range(40), workers=2)
    assert [v for v, _ in out] == [i * i for i in range(40)]
    assert os.getpid() not in {pid for _, pid in out}


def test_few_items_or_one_worker_run_in_process():
    assert forked_map(lambda i: os.getpid(), range(3)) == [os.getpid()] * 3
    assert forked_map(lambda i: os.getpid(), range(10), workers=1) == [os.getpid()] * 10
    assert forked_map(lambda i: i, []) == []


def test_an_items_error_is_raised_in_the_caller():
    def boom(i):
        if i == 7:
            raise OSError(28, "No space left on device")
        return i

    with pytest.raises(OSError) as info:
        forked_map(boom, range(12), workers=2)
    assert info.value.errno == 28
    assert parallel._WORK == {}  # nothing left over for the next map


def test_a_child_that_dies_leaves_its_items_to_the_caller():
    parent = os.getpid()

    def dies_once(i):
        if i == 3 and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return i * 10

    if parallel.cores() < 2:
        pytest.skip("one core: everything runs in-process")
    assert forked_map(dies_once, range(10), workers=2) == [i * 10 for i in range(10)]


def test_a_forked_child_holds_no_copy_of_the_workspace_lock(tmp_path):
    from pipeline.core.workspace import Workspace

    ws = Workspace.at(tmp_path / "ws").ensure()
    lock = str(ws.lock_path.resolve())

    def open_files(_):
        fds = os.listdir("/proc/self/fd")
        return sorted({os.path.realpath(f"/proc/self/fd/{fd}") for fd in fds if os.path.exists(f"/proc/self/fd/{fd}")})

    with ws.writer_lock():
        here = open_files(None)
        there = forked_map(open_files, range(4), workers=2)
    assert lock in here
    assert all(lock not in files for files in there)


def test_children_die_with_the_parent(tmp_path):
    """A crash of the parent (SIGKILL) ends its workers too: nothing is written after the crash."""
    import subprocess
    import sys
    import time

    pids = tmp_path / "pids"
    code = f"""
import os, time
from pipeline.core.parallel import forked_map
def work(i):
    with open({str(pids)!r}, "a") as fh:
        fh.write(f"{{os.getpid()}}\\n")
    time.sleep(60)
forked_map(work, range(8), workers=2)
"""
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not pids.exists() or len(pids.read_text().split()) < 2):
        time.sleep(0.1)
    children = [int(p) for p in pids.read_text().split()]
    assert len(children) == 2
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10

    def alive(pid):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                return fh.read().split(")")[-1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    while time.monotonic() < deadline and any(alive(p) for p in children):
        time.sleep(0.1)
    assert not any(alive(p) for p in children)


def test_the_caller_works_while_the_children_do():
    from pipeline.core.parallel import forked_start

    seen = {"x": 1}

    def job(i):
        return i, seen["x"], os.getpid()

    with forked_start(job, range(6), workers=2, min_items=2) as results:
        seen["x"] = 2  # after the fork: the children keep what they were forked with
        mine = sum(range(1000))
        out = results()
    assert mine == 499500
    assert [i for i, _, _ in out] == list(range(6))
    if parallel.cores() >= 2:
        assert {x for _, x, _ in out} == {1}
        assert os.getpid() not in {pid for _, _, pid in out}
    assert parallel._WORK == {}


def test_an_error_of_the_callers_own_work_leaves_nothing_running():
    from pipeline.core.parallel import forked_start

    with pytest.raises(ValueError, match="own work"):
        with forked_start(lambda i: i, range(8), workers=2, min_items=2):
            raise ValueError("own work")
    assert parallel._WORK == {}
    assert not multiprocessing_children()


def multiprocessing_children():
    import multiprocessing

    return [p for p in multiprocessing.active_children() if p.is_alive()]
