"""Reproducibility: the same seed gives the same warehouse, exports and reports, and running the stages
again changes nothing (idempotence).

By default a fresh ``rbb demo`` (the command, in a process of its own) with the seed and years of the session's
demo workspace (built by ``run_demo`` in another process) is compared with that workspace: one demo more per
test run. With ``--long`` (or ``RBB_LONG=1``) two more fresh one-year demos are also compared, side by side:
``rbb demo`` and ``run_demo`` in the test process."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import pytest
from conftest import DEMO_SEED, DEMO_YEARS
from inprocess import rbb as cli
from rich.console import Console
from rounds import base_tables, canonical_csv, file_hashes, start

from pipeline.core.workspace import Workspace
from pipeline.demo import run_demo
from pipeline.report.export import export

EXPORT_FORMATS = ("csv", "xlsx")


def path_columns(con: duckdb.DuckDBPyConnection, table: str, root: Path) -> set[str]:
    """Columns holding the workspace's absolute path (they differ between workspaces by construction)."""
    cols = [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()]
    return {
        c
        for c in cols
        if con.execute(f'SELECT count(*) FROM "{table}" WHERE CAST("{c}" AS VARCHAR) LIKE ?', [f"%{root}%"]).fetchone()[
            0
        ]
    }


def warehouse_fingerprint(ws: Workspace) -> dict[str, str]:
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        out = {}
        for t in base_tables(con):
            drop = path_columns(con, t, ws.root)
            out[t] = hashlib.sha256(canonical_csv(con, t, drop).encode()).hexdigest() + (
                f" without {sorted(drop)}" if drop else ""
            )
        return out
    finally:
        con.close()


def exports(ws: Workspace, years: list[int], out_dir: Path) -> dict[str, str]:
    """Every export (each year, CSV and XLSX) as ``rbb export`` writes it, through the same function."""
    for year in years:
        for fmt in EXPORT_FORMATS:
            export(ws, year, fmt, out_dir / str(year) / fmt)
    return file_hashes(out_dir)


def differences(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def outputs(ws: Workspace, years: list[int], out_dir: Path) -> tuple[dict, dict, dict]:
    """A workspace's warehouse fingerprint, export hashes and report hashes (each checked to be there)."""
    warehouse = warehouse_fingerprint(ws)
    assert {"submissions", "findings", "f_organisatie", "indicator_values", "comparisons"} <= set(warehouse)
    exported = exports(ws, years, out_dir)
    assert len(exported) >= 2 * len(years)
    reports = file_hashes(ws.reports)
    assert any(k.endswith("index.html") for k in reports)
    return warehouse, exported, reports


def assert_same_outputs(side_a: tuple[dict, dict, dict], fresh: Workspace, years: list[int], out_dir: Path) -> None:
    """``fresh`` gives the same warehouse, exports and reports as ``side_a``, and running its stages again
    changes nothing."""
    warehouse_a, exports_a, reports_a = side_a
    warehouse_b = warehouse_fingerprint(fresh)
    assert differences(warehouse_a, warehouse_b) == []
    assert differences(exports_a, exports(fresh, years, out_dir)) == []
    reports_b = file_hashes(fresh.reports)
    assert differences(reports_a, reports_b) == []
    rerun_changes_nothing(fresh, warehouse_b, reports_b)


def rerun_changes_nothing(ws: Workspace, warehouse: dict[str, str], reports: dict[str, str]) -> None:
    """``rbb ingest``, ``rbb compute`` and ``rbb report`` run again on ``ws`` leave its warehouse and reports
    as they were."""
    for stage in ("ingest", "compute", "report"):
        proc = cli(stage, "--root", str(ws.root))  # the commands in this process (no start-up of their own)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert differences(warehouse_fingerprint(ws), warehouse) == []
    assert differences(file_hashes(ws.reports), reports) == []


@pytest.mark.slow
@pytest.mark.long
def test_two_one_year_demos_give_identical_warehouses_exports_and_reports(tmp_path):
    """``rbb demo`` and ``run_demo`` in this process, with the same seed and year, side by side, give the same
    warehouse, exports and reports; ``rbb ingest``, ``rbb compute`` and ``rbb report`` run again on the
    command's workspace change nothing."""
    years = DEMO_YEARS[-1:]
    fresh = Workspace.at(tmp_path / "fresh")
    demo = start("demo", "--seed", str(DEMO_SEED), "--years", str(years[0]), root=fresh.root)
    try:
        here = Workspace.at(tmp_path / "here").ensure()
        with open(os.devnull, "w") as devnull:
            run_demo(here, seed=DEMO_SEED, years=years, console=Console(file=devnull))
        side_a = outputs(here, years, tmp_path / "exports_here")
    finally:
        _, err = demo.communicate(timeout=900)
    assert demo.returncode == 0 and "Traceback" not in err, err[-2000:]
    assert_same_outputs(side_a, fresh, years, tmp_path / "exports_fresh")


@pytest.mark.slow
@pytest.mark.demo_later
def test_a_fresh_demo_gives_the_warehouse_exports_and_reports_of_the_session_demo(tmp_path, request):
    """A fresh ``rbb demo`` with the seed and years of the session's demo workspace (built in another process
    by the same ``run_demo``) gives the same warehouse, exports and reports; ``rbb ingest``, ``rbb compute``
    and ``rbb report`` run again on it change nothing. The fresh demo starts first and the session's demo is
    asked for afterwards (``demo_later``: this file starts the run), so the two are built at the same time."""
    years = DEMO_YEARS
    fresh = Workspace.at(tmp_path / "fresh")
    demo = start("demo", "--seed", str(DEMO_SEED), "--years", f"{years[0]}-{years[-1]}", root=fresh.root)
    try:
        demo_workspace = request.getfixturevalue("demo_workspace")
        # the session workspace's side while the fresh demo runs
        side_a = outputs(demo_workspace, years, tmp_path / "exports_session")
    finally:
        _, err = demo.communicate(timeout=900)
    assert demo.returncode == 0 and "Traceback" not in err, err[-2000:]
    assert_same_outputs(side_a, fresh, years, tmp_path / "exports_fresh")
