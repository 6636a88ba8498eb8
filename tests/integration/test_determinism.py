"""Reproducibility: the same seed gives the same warehouse, exports and reports, and running the stages
again changes nothing (idempotence)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from conftest import DEMO_SEED, DEMO_YEARS
from rounds import base_tables, canonical_csv, file_hashes, run_rbb, start

from pipeline.core.workspace import Workspace
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


@pytest.mark.slow
def test_two_demo_runs_give_identical_warehouses_exports_and_reports(tmp_path, demo_workspace):
    """A fresh ``rbb demo`` with the seed and years of the session's demo workspace (built in-process by
    the same ``run_demo``) gives the same warehouse, exports and reports; ``rbb ingest``, ``rbb compute``
    and ``rbb report`` run again on it change nothing."""
    years = DEMO_YEARS
    fresh = Workspace.at(tmp_path / "fresh")
    demo = start("demo", "--seed", str(DEMO_SEED), "--years", f"{years[0]}-{years[-1]}", root=fresh.root)
    try:
        # the session workspace's side while the fresh demo runs
        warehouse_a = warehouse_fingerprint(demo_workspace)
        assert {"submissions", "findings", "f_organisatie", "indicator_values", "comparisons"} <= set(warehouse_a)
        exports_a = exports(demo_workspace, years, tmp_path / "exports_session")
        assert len(exports_a) >= 2 * len(years)
        reports_a = file_hashes(demo_workspace.reports)
        assert any(k.endswith("index.html") for k in reports_a)
    finally:
        _, err = demo.communicate(timeout=900)
    assert demo.returncode == 0 and "Traceback" not in err, err[-2000:]

    warehouse_b = warehouse_fingerprint(fresh)
    assert differences(warehouse_a, warehouse_b) == []
    assert differences(exports_a, exports(fresh, years, tmp_path / "exports_fresh")) == []
    reports_b = file_hashes(fresh.reports)
    assert differences(reports_a, reports_b) == []

    for stage in ("ingest", "compute", "report"):
        proc = run_rbb(stage, root=fresh.root)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert differences(warehouse_fingerprint(fresh), warehouse_b) == []
    assert differences(file_hashes(fresh.reports), reports_b) == []
