"""Validate stage: check a batch of new deliveries and record each in the warehouse.

Entry point :func:`run` (``rbb ingest``): the ingest stage reads the new deliveries; Great Expectations
suites generated from the registry and the hand-written rules (:mod:`.validator` with :mod:`.suites`,
:mod:`.rules` and :mod:`.assemble`; :mod:`.cases` for case microdata) turn what is wrong into findings;
:mod:`.load` records every delivery with its findings and loads the accepted ones. :func:`check_files` / :func:`precheck` validate files without loading them (``rbb check``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from pipeline import ingest
from pipeline.core.warehouse import connect, init_schema, sync_organisations
from pipeline.core.workspace import OutOfSpace, Workspace, is_out_of_space
from pipeline.ingest.batch import Item
from pipeline.ingest.discover import key_org
from pipeline.metadata.registry import load_organisations, registry
from pipeline.validate.cases import scan_cases
from pipeline.validate.load import IngestResult, history_for, record
from pipeline.validate.precheck import CheckReport, precheck
from pipeline.validate.validator import Validator

__all__ = ["CheckReport", "IngestResult", "check_files", "precheck", "run"]


def run(
    ws: Workspace, year: int | None = None, progress: Callable[[str, int, int], None] | None = None
) -> list[IngestResult]:
    """Validate and record every new delivery (optionally of one year); one result per new delivery.

    Each delivery is recorded in its own transaction. When the disk fills up, :class:`OutOfSpace` says how
    far it got: the deliveries recorded before are complete, the one being written is not recorded."""
    reg = registry()
    orgs = load_organisations(ws.root)
    org_codes = {o.org_code for o in orgs}
    results: list[IngestResult] = []
    deliveries: list = []
    stage = "opening"
    con = None
    try:
        con = connect(ws.db_path)
        init_schema(con, reg)
        sync_organisations(con, orgs)
        known = {(o, y, s) for o, y, s in con.execute("SELECT org_code, year, sha256 FROM submissions").fetchall()}
        history = history_for(con, reg, orgs)
        # closed while the deliveries are read and validated (nothing is written then; the workspace's writer
        # lock keeps other runs out), so that Great Expectations can run in forked processes
        con.close()
        con = None
        if progress:
            progress("reading", 0, 0)
        stage = "reading"
        batch = ingest.run(ws, reg, org_codes, known, year)
        deliveries, items = batch.deliveries, batch.items
        validator = Validator(reg, sorted(org_codes), fork=True)
        if progress:
            progress("validating", 0, len(deliveries))
        validator.validate(items, history)
        scans = scan_cases(deliveries, items, reg)
        stage = "recording"
        con = connect(ws.db_path)
        for done, (d, item) in enumerate(zip(deliveries, items), start=1):
            results.append(record(con, reg, ws, d, item, key_org(d, org_codes), scans.get(item.key, [])))
            if progress:
                progress(f"{d.year} {d.org_folder or d.name}", done, len(deliveries))
        stage = "checkpoint"
        con.execute("CHECKPOINT")
    except Exception as exc:
        if is_out_of_space(exc):
            raise OutOfSpace(ingest_state(stage, len(results), len(deliveries)), exc) from exc
        raise
    finally:
        if con is not None:
            with contextlib.suppress(Exception):  # a connection DuckDB invalidated after a failed write
                con.close()
    return results


def ingest_state(stage: str, recorded: int, total: int) -> tuple[str, str]:
    if stage == "checkpoint":
        every_nl = "de nieuwe levering is" if total == 1 else f"alle {total} nieuwe leveringen zijn"
        every_en = "the new delivery was" if total == 1 else f"all {total} new deliveries were"
        return (
            f"{every_nl} vastgelegd (in het logbestand van het warehouse, dat bij de volgende run wordt verwerkt)",
            f"{every_en} recorded (in the warehouse's log file, which the next run merges)",
        )
    if stage == "recording":
        done_nl = f"{recorded} van de {total} nieuwe leveringen {'is' if recorded == 1 else 'zijn'}"
        done_en = f"{recorded} of {total} new {'delivery was' if total == 1 else 'deliveries were'}"
        return (
            f"{done_nl} volledig vastgelegd; de levering die werd geschreven is niet vastgelegd (niets half)",
            f"{done_en} recorded completely; the one being written was not recorded (nothing half-written)",
        )
    return ("er is niets veranderd", "nothing was changed")


def check_files(paths: list[Path], ws: Workspace | None = None) -> list[tuple[Path, Item]]:
    """Validate files without loading them (``rbb check``): organisation and year come from the files.
    Read in batches like ingest; a file that breaks a reader (or does not exist, or is a link) is a
    finding, never a traceback. With a workspace its register and accepted history are used
    (:func:`pipeline.validate.precheck.precheck`, which also says which checks were skipped)."""
    return precheck(paths, ws).files
