"""Shared fixtures: a demo workspace built once per test session by the real pipeline."""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from pathlib import Path

import pytest
from rich.console import Console

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
# shared test helpers (hostile.py, ...) importable from every test folder
sys.path.insert(0, str(Path(__file__).resolve().parent))

DEMO_YEARS = [2023, 2024, 2025]
DEMO_SEED = 2025


def _build_demo(root: Path):
    from pipeline.core.workspace import Workspace
    from pipeline.demo import run_demo

    ws = Workspace.at(root).ensure()
    with ws.writer_lock():
        run_demo(ws, seed=DEMO_SEED, years=DEMO_YEARS, console=Console(file=open(os.devnull, "w")))
    return ws


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory):
    """The full demo pipeline (generate, ingest, compute, reports, pilots) for 2023–2025, built once per test run.

    With parallel workers (pytest-xdist) the first worker builds it in the run's shared temporary folder and the
    others wait for it and use the same folder; every test only reads it (tests that change a workspace copy it)."""
    from pipeline.core.workspace import Workspace

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _build_demo(tmp_path_factory.mktemp("demo"))
    shared = tmp_path_factory.getbasetemp().parent
    done = shared / "demo.done"
    with open(shared / "demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if the build fails
        if not done.exists():
            shutil.rmtree(shared / "demo", ignore_errors=True)  # what a failed build of another worker left
            _build_demo(shared / "demo")
            done.write_text("built\n")
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


def pytest_collection_modifyitems(config, items):
    chromium = Path("/usr/bin/chromium").exists()
    long_run = config.getoption("--long") or os.environ.get("RBB_LONG") == "1"
    for item in items:
        if "browser" in item.keywords and not chromium:
            item.add_marker(pytest.mark.skip(reason="Debian chromium is not installed"))
        if "long" in item.keywords and not long_run:
            item.add_marker(pytest.mark.skip(reason="long-form simulation: run with --long (or RBB_LONG=1)"))
