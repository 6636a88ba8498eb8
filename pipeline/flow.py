"""The stage sequence behind each command, shared by the command line and ``rbb demo``.

Each stage has one entry point (``pipeline.<stage>.run``) and hands over through the warehouse; this module
only strings them together where one command runs more than one stage.
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline import validate
from pipeline.core.workspace import Workspace
from pipeline.report.feedback import write_pending
from pipeline.validate import IngestResult


def intake(
    ws: Workspace, year: int | None = None, progress: Callable[[str, int, int], None] | None = None
) -> list[IngestResult]:
    """``rbb ingest``: read, validate and record the new deliveries, then write their feedback pages."""
    results = validate.run(ws, year, progress=progress)
    write_pending(ws, [r.submission_id for r in results])
    return results


def after_review(ws: Workspace, submission_ids: list[int]) -> list:
    """Review decisions were recorded: the feedback pages of those submissions show them (Dutch and English)."""
    from pipeline.core import warehouse
    from pipeline.report.feedback import write_feedback

    ids = sorted(set(submission_ids))
    if not ids:
        return []
    con = warehouse.connect(ws.db_path, read_only=True)
    try:
        return write_feedback(con, ws.reports, ids, langs=("nl", "en"), close=True)
    finally:
        con.close()
