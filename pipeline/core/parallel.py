"""Pure, independent work items run in forked processes, one per core, with the results in input order.

Used for work that reads only what the process already holds in memory (a year's report data) and writes its
own files: the children are forked, so they share that data and the items without copying or pickling them
(only the results travel back). The result is the same as running the items one after the other: the items
are pure, their order is kept, and an item's exception is raised in the caller as it would have been
in-process. When a child dies (killed for memory, say), the items not yet done are run in-process, so the
caller still gets either every result or the item's own error.

The caller closes its DuckDB connections first where it can: DuckDB's worker threads end with the last
connection to a database, and a process forked while they run may hang or crash when it touches DuckDB state
(DuckDB is not fork-safe: https://github.com/duckdb/duckdb-python/issues/292). The work items never use
DuckDB, and the children never collect an object of the parent (``gc.freeze``), so no DuckDB object is
destroyed in them either.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import itertools
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

#: the function and items of each started batch, by batch number (read by the forked children by position)
_WORK: dict[int, tuple[Callable[[Any], Any], list]] = {}
_NEXT = itertools.count()


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _start_child(parent: int) -> None:
    """A worker dies with the process that forked it: after a crash nothing it would still write is wanted
    (and the next run must find the workspace as the crash left it)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the worker ends when it finds the work queue closed
        pass
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)


#: prctl(2): the signal a process gets when its parent ends
PR_SET_PDEATHSIG = 1


def _call(batch: int, n: int) -> Any:
    func, items = _WORK[batch]
    return func(items[n])


def forked_map(
    func: Callable[[Any], Any], items: Iterable[Any], workers: int | None = None, min_items: int = 4
) -> list:
    """``[func(i) for i in items]``, spread over ``workers`` forked processes (default: one per core, at most
    four). Fewer than ``min_items`` items, one core, or no ``fork`` on this platform: run in-process."""
    with forked_start(func, items, workers, min_items) as results:
        return results()


@contextlib.contextmanager
def forked_start(
    func: Callable[[Any], Any], items: Iterable[Any], workers: int | None = None, min_items: int = 4
) -> Iterator[Callable[[], list]]:
    """Start ``[func(i) for i in items]`` in forked processes and yield a function that waits for the results
    (in input order), so that the caller can do other work meanwhile::

        with forked_start(job, ["a", "b"], min_items=2) as results:
            c = other_work()     # in this process, while the children work
            a, b = results()

    The children are forked when the block starts: what the caller changes afterwards, they do not see. Left
    early (an exception of the caller's own work), the items not started are cancelled and the block waits
    for those running. The in-process cases of :func:`forked_map` run the items when the results are asked for.
    """
    items = list(items)
    workers = min(workers or min(cores(), 4), len(items))
    if workers < 2 or len(items) < min_items or "fork" not in multiprocessing.get_all_start_methods():
        yield lambda: [func(i) for i in items]
        return
    batch = next(_NEXT)
    _WORK[batch] = (func, items)
    # the children's cyclic collector never visits what exists now (nor copies its pages by touching it), so
    # it never destroys an object of the parent, a DuckDB one among them
    gc.freeze()
    try:
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start_child,
            initargs=(os.getpid(),),
        ) as pool:
            futures = [pool.submit(_call, batch, n) for n in range(len(items))]  # the workers are forked here
            gc.unfreeze()

            def results() -> list:
                done: dict[int, Any] = {}
                for n, fut in enumerate(futures):
                    try:
                        done[n] = fut.result()
                    except BrokenProcessPool:
                        break
                # a child that died took its items with it: those not done are run here (or raise their error)
                return [done[n] if n in done else func(item) for n, item in enumerate(items)]

            try:
                yield results
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    finally:
        gc.unfreeze()
        del _WORK[batch]
