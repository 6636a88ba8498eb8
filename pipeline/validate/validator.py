"""Validation of submissions with Great Expectations, built from the registry.

Submissions of one batch (a year's new deliveries, or the files given to ``rbb check``) are validated
together: one GX run per sheet over all of them, so the fixed cost of GX is paid once per sheet, not once
per organisation. Every expectation carries its severity and rule in its ``meta``; every unexpected row
becomes a :class:`Finding` pointing at the submission's own sheet and cell.

Errors (structure, types, required values, code lists, uniqueness, ranges, cross-field rules) reject a
submission. Warnings (year-on-year change against the organisation's previous accepted year, robust
outliers against the other organisations) accept it but ask for an explanation.

:class:`Validator` runs one batch; the suites come from :mod:`.suites`, the figures the rules and the
plausibility checks test from :mod:`.rules` (with :class:`History`), and the findings from :mod:`.assemble`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.findings import Finding
from pipeline.core.parallel import forked_map
from pipeline.ingest.batch import Item
from pipeline.ingest.normalize import sheet_frame
from pipeline.metadata.lineage import join_names
from pipeline.metadata.registry import Registry, Sheet
from pipeline.validate import gx
from pipeline.validate.assemble import (
    collect,
    finding_order,
    identity_rejected,
    mapped_answers,
    mark_explained,
    structure_findings,
    unknown_answers,
)
from pipeline.validate.rules import History, comparison_org
from pipeline.validate.suites import plausibility_suite, sheet_suite, structure_frame, structure_suite

__all__ = ["History", "Validator", "identity_rejected"]


class Validator:
    """Validates one batch of submissions against the registry; ``org_codes`` are the members' codes. With
    ``fork`` the Great Expectations runs of the error pass are spread over forked processes
    (:mod:`pipeline.core.parallel`: the caller holds no DuckDB connection while :meth:`validate` runs)."""

    def __init__(self, registry: Registry, org_codes: list[str], fork: bool = False):
        self.registry = registry
        self.org_codes = sorted(org_codes)
        self.fork = fork

    def validate(self, items: list[Item], history: History | None = None) -> None:
        """Pass 1: errors (one GX run per sheet over all items). Pass 2: plausibility warnings against the
        history plus the accepted items of this batch (a year's values are compared with the latest
        accepted earlier year of the same organisation)."""
        history = history or History()
        live = [it for it in items if it.raw.readable]
        for it in items:
            it.findings.extend(it.raw.findings)
        reg = self.registry

        def typed(it: Item) -> dict[str, pd.DataFrame]:
            return {code: sheet_frame(raw_sheet, reg.sheet(code)) for code, raw_sheet in it.raw.sheets.items()}

        for it, frames_of in zip(live, forked_map(typed, live) if self.fork else map(typed, live)):
            for code, df in frames_of.items():
                df.insert(0, "__sub", it.key)
                it.frames[code] = df
        by_key = {it.key: it for it in live}
        # the GX runs of the error pass only add findings: each is run where it is cheapest (one per core,
        # forked, when the caller holds no DuckDB connection) and its findings are added in this order
        runs: list[Callable[[], None]] = [lambda: self._check_structure(live, by_key)]
        frames: dict[str, pd.DataFrame] = {}
        for sheet in self.registry.sheet_level:
            parts = [it.frames[sheet.code] for it in live if sheet.code in it.frames]
            if not parts:
                continue
            frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].copy()
            for f in sheet.fields:
                if f.code not in frame.columns:
                    frame[f.code] = np.nan if f.is_numeric else None
                    frame[f"{f.code}__raw"] = None
                    frame[f"{f.code}__state"] = None
            frames[sheet.code] = frame
            suite = sheet_suite(self.registry, self.org_codes, sheet, frame, live)
            runs.append(partial(self._check_sheet, sheet, frame, suite, by_key))
        collected = partial(_added_findings, by_key)
        for added in forked_map(collected, runs) if self.fork else map(collected, runs):
            for key, found in added:
                by_key[key].findings.extend(found)
        for it in sorted(live, key=lambda x: x.key):
            if it.n_errors == 0 and it.expected_year is not None:
                org = comparison_org(it)
                if org:
                    history.add_item(it, org, it.expected_year)
        # Plausibility compares a submission with history and peers. It runs only for submissions whose
        # identity is settled (the organisation and year of the delivery folder, matching the file), and
        # always looks history up by the folder's organisation: what a file claims to be never opens
        # another member's figures.
        plausible = [it for it in live if not identity_rejected(it)]
        keys = {it.key for it in plausible}
        for code in ("organisatie", "producten"):
            if code in frames:
                frame = frames[code]
                # a copy either way: the error pass added many helper columns (one block again)
                frame = frame[frame["__sub"].isin(keys)].copy() if len(keys) < len(live) else frame.copy()
                if frame.empty:
                    continue
                sheet = self.registry.sheet(code)
                suite = plausibility_suite(self.registry, sheet, frame, plausible, history)
                if suite is not None:
                    collect(self.registry, sheet, frame, gx.run(frame, suite, ["__sub", "__row"]), by_key)
        note_lineage(plausible, history)
        for it in live:
            unknown_answers(self.registry, it)
            mapped_answers(self.registry, it)
            mark_explained(self.registry, it)
            it.findings.sort(key=finding_order)

    def _check_sheet(self, sheet: Sheet, frame: pd.DataFrame, suite: Any, by_key: dict[int, Item]) -> None:
        collect(self.registry, sheet, frame, gx.run(frame, suite, ["__sub", "__row"]), by_key)

    def _check_structure(self, live: list[Item], by_key: dict[int, Item]) -> None:
        """Required sheets and columns: one GX run over a frame with a row per thing that must be there."""
        frame = structure_frame(self.registry, live)
        if frame is None:
            return
        (result,) = gx.run(frame, structure_suite(), ["__sub", "__row"])
        structure_findings(self.registry, frame, result, by_key)


def _added_findings(by_key: dict[int, Item], run: Callable[[], None]) -> list[tuple[int, list[Finding]]]:
    """Run a check that adds findings to the items, and take those findings off again: (key, findings) per
    item, to be added by the caller (in whatever process the check ran)."""
    before = {key: len(it.findings) for key, it in by_key.items()}
    run()
    added = []
    for key, it in by_key.items():
        n = before[key]
        if len(it.findings) > n:
            added.append((key, it.findings[n:]))
            del it.findings[n:]
    return added


def note_lineage(items: list[Item], history: History) -> None:
    """Say in each year-on-year finding when the previous year is made up of the organisation's predecessors
    (a rename or merger in the register): 'vergeleken met de som van A en B in 2023'. Only the member's own
    predecessors are named (they are the member itself)."""
    for it in items:
        org, year = comparison_org(it), it.expected_year
        if not org or year is None:
            continue
        prev_year, codes = history.basis(org, year)
        if prev_year is None or codes == (org,):
            continue
        if len(codes) > 1:
            nl = f" Vergeleken met de som van {join_names(codes)} in {prev_year} (voorgangers volgens het register)."
            en = f" Compared with the sum of {join_names(codes, 'en')} in {prev_year} (predecessors in the register)."
        else:
            nl = f" Vergeleken met {codes[0]} in {prev_year} (voorganger volgens het register)."
            en = f" Compared with {codes[0]} in {prev_year} (predecessor in the register)."
        for f in it.findings:
            if f.rule == "yoy_change" and nl not in f.message_nl:
                f.message_nl += nl
                f.message_en += en
