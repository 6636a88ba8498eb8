"""Pilots stage: which member could learn what from whom, and what came of the pilots run so far.

Entry point :func:`run` (``rbb pilots``): reads the warehouse, selects candidate pilots with partners, follows up
registered pilots and writes ``reports/<year>/pilots.html``. :func:`add_pilot` records a chosen pilot.
"""

from __future__ import annotations

from typing import Any

from pipeline.core.workspace import Workspace
from pipeline.pilots.engine import (
    PilotError,
    add_pilot,
    example_pair,
    load_register,
    read_pilot_data,
    run_pilots,
)

__all__ = ["PilotError", "add_pilot", "example_pair", "load_register", "read_pilot_data", "run"]


def run(ws: Workspace, year: int | None = None) -> dict[str, Any]:
    """Select pilots and follow up registered ones for ``year``; writes the pilot pages."""
    return run_pilots(ws, year)
