"""Report stage: HTML reports with Plotly charts, offline and self-contained, from the warehouse.

Entry point :func:`run` (``rbb report``). :mod:`.disclosure` is the only way figures about other members reach
an organisation report; :mod:`.charts` builds the figures, :mod:`.build` assembles the pages, :mod:`.render`
holds the Jinja environment, :mod:`.feedback` the validation feedback pages and :mod:`.export` the analyst
downloads.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core.workspace import Workspace
from pipeline.report.build import MissingTables, ReportWriteError, build_reports

__all__ = ["MissingTables", "ReportWriteError", "run"]


def run(ws: Workspace, year: int | None = None, org: str | None = None, lang: str = "nl", open_mode: bool = False,
        shared_assets: bool = False) -> list[Path]:
    """Write the reports of one year into ``reports/<year>/``; returns the files written."""
    return build_reports(ws, year, org=org, lang=lang, open_mode=open_mode, shared_assets=shared_assets)
