"""Shared fixtures: a demo workspace built once per test session by the real pipeline."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from rich.console import Console

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
# shared test helpers (hostile.py, ...) importable from every test folder
TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

DEMO_YEARS = [2023, 2024, 2025]
DEMO_SEED = 2025


def _build_demo(root: Path):
    from pipeline.core.workspace import Workspace
    from pipeline.demo import run_demo

    ws = Workspace.at(root).ensure()
    with ws.writer_lock():
        run_demo(ws, seed=DEMO_SEED, years=DEMO_YEARS, console=Console(file=open(os.devnull, "w")))
    return ws


# ------------------------------------------------------------------ the shared demo with parallel workers
#
# With pytest-xdist every worker's temporary folder lies in the run's shared folder (the controller's). In it:
# demo/ (the workspace), demo.lock (held while a build runs), demo.done (the build completed), demo.failed
# (the traceback of a build that failed), demo.wanted (a worker collected a test that uses the demo). The
# controller starts the build in a process of its own as soon as a worker reports such a test, so that the
# workers run the tests that do not need it meanwhile (they come first, see pytest_collection_modifyitems).


def _shared_folder(config: pytest.Config) -> Path:
    """The run's shared temporary folder: the controller's base folder, the parent of each worker's."""
    basetemp = config._tmp_path_factory.getbasetemp()  # what xdist hands out to its workers, too
    return basetemp.parent if hasattr(config, "workerinput") else basetemp


def build_shared_demo(shared: Path) -> None:
    """Build the demo in ``shared``/demo unless it is there; called with ``shared``/demo.lock held."""
    if (shared / "demo.done").exists():
        return
    shutil.rmtree(shared / "demo", ignore_errors=True)  # what a failed build left
    try:
        _build_demo(shared / "demo")
    except BaseException:
        (shared / "demo.failed").write_text(traceback.format_exc(), "utf-8")
        raise
    (shared / "demo.done").write_text("built\n")


def build_shared_demo_in(shared: str) -> None:
    """The controller's build process (it holds ``shared``/demo.lock, handed over by the controller)."""
    build_shared_demo(Path(shared))


_builder: subprocess.Popen | None = None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """Controller: start building the demo once a worker has collected a test that uses it."""
    global _builder
    config = node.config
    shared = _shared_folder(config)
    if _builder is not None or not (shared / "demo.wanted").exists():
        return
    lock = open(shared / "demo.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # handed to the build process: the workers wait until it ends
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]); import conftest; conftest.build_shared_demo_in(sys.argv[2])"
        )
        with open(shared / "demo.log", "w") as log:
            _builder = subprocess.Popen(
                [sys.executable, "-c", code, str(TESTS), str(shared)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=TESTS.parent,
                pass_fds=(lock.fileno(),),
                start_new_session=True,
            )
    finally:
        lock.close()  # the lock stays held by the build process


def pytest_unconfigure(config):
    """Controller: stop a build that is still running when the run ends (no test needed it any more)."""
    if _builder is not None and _builder.poll() is None:
        os.killpg(_builder.pid, signal.SIGTERM)
        _builder.wait()


def pytest_collection_finish(session):
    """Worker: tell the controller that a selected test uses the demo workspace."""
    if not hasattr(session.config, "workerinput"):
        return
    if any(_uses_demo(item) and not item.get_closest_marker("skip") for item in session.items):
        (_shared_folder(session.config) / "demo.wanted").touch()


def _uses_demo(item) -> bool:
    return "demo_workspace" in item.fixturenames or item.get_closest_marker("demo_later") is not None


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory):
    """The full demo pipeline (generate, ingest, compute, reports, pilots) for 2023–2025, built once per test run.

    With parallel workers (pytest-xdist) the controller builds it in the run's shared temporary folder while the
    workers run the tests that do not need it; a worker that needs it waits for that build (or, if there was
    none, builds it itself while the others wait). Every test only reads it (tests that change a workspace copy
    it). A failed build fails every test that uses it, with the build's traceback."""
    from pipeline.core.workspace import Workspace

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _build_demo(tmp_path_factory.mktemp("demo"))
    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / "demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if the build fails
        failed = shared / "demo.failed"
        if failed.exists():
            pytest.fail(f"building the demo workspace failed:\n{failed.read_text('utf-8')}", pytrace=False)
        build_shared_demo(shared)
    return Workspace.at(shared / "demo")


@pytest.fixture()
def con(demo_workspace):
    from pipeline.core.warehouse import connect

    c = connect(demo_workspace.db_path, read_only=True)
    yield c
    c.close()


def pytest_addoption(parser):
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="also run the long-form simulations (tests marked 'long'; minutes each)",
    )


def _runs(item) -> bool:
    return item.get_closest_marker("skip") is None


def run_order(items) -> list:
    """The files in the order they should start, each file's tests kept together and in their order (xdist's
    --dist loadfile hands out whole files in this order, see --no-loadscope-reorder in pyproject.toml): first
    the files with a test marked ``demo_later`` (it starts long work of its own, then waits for the demo
    workspace: both builds run at once), then the files that do not use the demo workspace (they run while it
    is built), then those that do; within each, the files holding a test marked ``slow`` first, so that the run
    does not end on one long test."""
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def key(name: str) -> tuple[bool, bool, bool]:
        running = [item for item in files[name] if _runs(item)]
        early = any(item.get_closest_marker("demo_later") for item in running)
        uses_demo = any("demo_workspace" in item.fixturenames for item in running)
        slow = any(item.get_closest_marker("slow") for item in running)
        return not early, uses_demo, not slow

    return [item for name in sorted(files, key=key) for item in files[name]]


def pytest_collection_modifyitems(config, items):
    chromium = Path("/usr/bin/chromium").exists()
    long_run = config.getoption("--long") or os.environ.get("RBB_LONG") == "1"
    for item in items:
        if "browser" in item.keywords and not chromium:
            item.add_marker(pytest.mark.skip(reason="Debian chromium is not installed"))
        if "long" in item.keywords and not long_run:
            item.add_marker(pytest.mark.skip(reason="long-form simulation: run with --long (or RBB_LONG=1)"))
    items[:] = run_order(items)
