"""Workspaces for tests: copies of the shared demo workspace and what they hold."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from pipeline.core.workspace import Workspace

YEAR = 2025


def reporting_orgs(db: Path, year: int = YEAR) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT org_code FROM submissions WHERE year = ? AND in_force ORDER BY 1", [year]
            ).fetchall()
        ]
    finally:
        con.close()


def copy_workspace(src: Workspace, root: Path) -> Workspace:
    """A fresh workspace holding a copy of the demo warehouse with the register and settings it was computed
    with (``data/organisations.csv``, ``data/settings.yaml``, ``data/methods.yaml``), and nothing else."""
    ws = Workspace.at(root).ensure()
    shutil.copy2(src.db_path, ws.db_path)
    for name in ("organisations.csv", "settings.yaml", "methods.yaml"):
        if (src.root / "data" / name).exists():
            shutil.copy2(src.root / "data" / name, ws.root / "data" / name)
    return ws


def dutch(folder: Path) -> list[Path]:
    """The Dutch pages of a report folder (the English ones are ``<name>.en.html``), sorted."""
    return sorted(p for p in folder.glob("*.html") if not p.name.endswith(".en.html"))
