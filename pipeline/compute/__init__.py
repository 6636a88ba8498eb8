"""Compute stage: indicators, comparisons, composite index and efficiency, from the warehouse into the warehouse.

Entry point :func:`run`. The SQL engine (:mod:`.engine`, models in ``sql/``) computes every indicator over the
accepted submissions in force; :mod:`.stats` holds the comparison statistics and :mod:`.methods` the composite
index, its sensitivity analysis and data envelopment analysis.
"""

from __future__ import annotations

from pipeline.core.workspace import Workspace

__all__ = ["run"]


def run(ws: Workspace, year: int | None = None) -> dict[str, int]:
    """Recompute every derived table in one transaction; returns row counts per table."""
    from pipeline.compute.engine import compute

    return compute(ws, year)
