"""Ingest stage: discover new deliveries under ``data/raw/<year>/<ORG>/`` and read them.

Entry point :func:`run`. Discovery (:mod:`.discover`) describes every delivery without reading it; the
guarded readers (:mod:`.readers`, parsing in a child process per worker) and normalisation
(:mod:`.normalize`) turn each into sheets of cells; :mod:`.archive` keeps every delivery in the inbox. The
result is a :class:`~pipeline.ingest.batch.Batch` that the validate stage checks and records.

This package imports its modules lazily: the parsing child (``python -m pipeline.ingest.reader_child``,
started for every batch under a memory limit) imports this package first and must stay small (no pandas).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.core.workspace import Workspace
    from pipeline.ingest.batch import Batch, Item
    from pipeline.ingest.discover import Delivery, discover
    from pipeline.metadata.registry import Registry

__all__ = ["Batch", "Delivery", "Item", "discover", "run"]

_LAZY = {"Batch": "pipeline.ingest.batch", "Item": "pipeline.ingest.batch",
         "Delivery": "pipeline.ingest.discover", "discover": "pipeline.ingest.discover",
         "key_org": "pipeline.ingest.discover"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(ws: Workspace, reg: Registry, org_codes: set[str], known: set[tuple[str, int, str]],
        year: int | None = None) -> Batch:
    """The deliveries under ``data/raw`` (optionally of one year) not yet recorded, read.

    ``known`` holds (organisation, year, checksum) of what the warehouse already has: an identical
    re-delivery is skipped. The same delivery found twice in one run is read once."""
    from pipeline.ingest.batch import Batch, read_items
    from pipeline.ingest.discover import discover, key_org

    deliveries = []
    seen: set[tuple[str, int, str]] = set()
    for d in discover(ws, year):
        key = (key_org(d, org_codes), d.year, d.sha256)
        if key not in known and key not in seen:
            seen.add(key)
            deliveries.append(d)
    return Batch(deliveries, read_items(deliveries, reg, org_codes))
