"""Pilots stage: which member could learn what from whom, and what came of the pilots run so far.

Entry point :func:`run` (``rbb pilots``): reads the warehouse, selects candidate pilots with partners, follows up
registered pilots and writes ``reports/<year>/pilots.html``. :func:`add_pilot` records a chosen pilot.

The work is split by responsibility: :mod:`~pipeline.pilots.selection` (warehouse data, candidates, partners,
shortlist), :mod:`~pipeline.pilots.register` (the pilots register CSV), :mod:`~pipeline.pilots.followup`
(difference in differences and verdicts for registered pilots), :mod:`~pipeline.pilots.page` (HTML and CSV
output), with :mod:`~pipeline.pilots.config` (``metadata/pilots.yaml``) and :mod:`~pipeline.pilots.values`
(reading, formatting and escaping single values) shared by them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import pandas as pd

from pipeline.core.workspace import Workspace, atomic_write_text
from pipeline.pilots.config import default_config, load_config
from pipeline.pilots.followup import follow_up
from pipeline.pilots.page import follow_up_csv, render_report, shortlist_csv
from pipeline.pilots.register import add_pilot, load_register
from pipeline.pilots.selection import (
    PilotData,
    PilotError,
    build_shortlist,
    example_pair,
    find_candidates,
    find_partners,
    read_pilot_data,
)

__all__ = ["PilotError", "add_pilot", "example_pair", "load_register", "read_pilot_data", "run"]


def select_pilots(
    data: PilotData, year: int, register: pd.DataFrame | None = None, config: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Candidates, partners, shortlist and follow-ups in one go (no I/O)."""
    cfg = dict(config or default_config())
    candidates = find_candidates(data, year, cfg, register)
    partners = find_partners(
        data, candidates[~candidates["excluded"].astype(bool)] if not candidates.empty else candidates, year, cfg
    )
    shortlist = build_shortlist(candidates, partners, cfg)
    follow = follow_up(data, register if register is not None else pd.DataFrame(), year, cfg)
    return {
        "year": year,
        "config": cfg,
        "candidates": candidates,
        "partners": partners,
        "shortlist": shortlist,
        "follow_up": follow,
    }


def run(ws: Workspace, year: int | None = None) -> dict[str, Any]:
    """Select pilots and follow up registered ones for ``year`` (default: the latest in the warehouse).

    Reads the warehouse and the register, then writes ``reports/<year>/pilots.html`` (+ ``pilots.en.html``,
    ``pilots.csv``, ``pilots_follow_up.csv``).

    Returns the year, the shortlist, candidates, partners and follow-up results, register problems
    (invalid rows are skipped, not fatal) and the paths written.
    """
    data, year = read_pilot_data(ws, year)
    cfg = load_config(ws.root)
    register, problems = load_register(ws, strict=False, catalogue=data.catalogue)
    result = select_pilots(data, year, register, cfg)
    result["register"] = register
    result["register_problems"] = problems
    out_dir = ws.reports / str(year)
    paths = {
        "csv": out_dir / "pilots.csv",
        "html": out_dir / "pilots.html",
        "html_en": out_dir / "pilots.en.html",
        "follow_up_csv": out_dir / "pilots_follow_up.csv",
    }
    atomic_write_text(paths["csv"], shortlist_csv(result["shortlist"]))
    atomic_write_text(paths["follow_up_csv"], follow_up_csv(result["follow_up"]))
    atomic_write_text(paths["html"], render_report(result, "nl"))
    atomic_write_text(paths["html_en"], render_report(result, "en"))
    result["paths"] = paths
    result.update(paths)
    candidates = result["candidates"]
    n_excluded = int(candidates["excluded"].sum()) if not candidates.empty else 0
    result["n_candidates"] = len(candidates) - n_excluded
    result["n_excluded"] = n_excluded
    result["n_shortlisted"] = len(result["shortlist"])
    result["n_registered"] = len(register)
    verdicts = Counter(f["verdict"] for f in result["follow_up"])
    follow = ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())) or "none"
    result["summary"] = (
        f"Pilot selection {year}: {result['n_shortlisted']} shortlisted of {result['n_candidates']} "
        f"candidates, {n_excluded} excluded; follow-up of {len(register)} registered pilot(s): {follow}"
    )
    return result
