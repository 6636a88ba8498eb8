"""``rbb check``: the checks of ``rbb ingest`` on files a member has not delivered yet, writing nothing.

With a workspace (``--root``) the files are checked exactly as ingest would check them as a delivery of the
organisation and year written in the file: the workspace's organisation register, the file checks, the case
microdata and the plausibility checks (year-on-year change against the accepted history in the warehouse,
outliers against the other accepted members of that year). The warehouse is opened read-only; nothing is
written to it, to the inbox or to the reports.

Without a workspace, or before the first ``rbb ingest``, there is no history to compare with: the file checks
run and :attr:`CheckReport.skipped` says which checks did not run and why (Dutch and English).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.core.warehouse import connect, table_exists
from pipeline.core.workspace import Workspace
from pipeline.ingest.batch import Item
from pipeline.ingest.normalize import sheet_frame
from pipeline.ingest.readers import RawSubmission, read_deliveries
from pipeline.metadata.registry import Registry, load_organisations, registry
from pipeline.validate.cases import scan_case_files, validate_frames
from pipeline.validate.load import history_for
from pipeline.validate.rules import History
from pipeline.validate.validator import Validator

__all__ = ["CheckReport", "precheck"]

PLAUSIBILITY_NL = (
    "de plausibiliteitscontroles (verandering ten opzichte van vorig jaar en vergelijking met de andere leden)"
)
PLAUSIBILITY_EN = "the plausibility checks (year-on-year change and comparison with the other members)"


@dataclass
class CheckReport:
    """What ``rbb check`` found: per file its item (findings), and the checks that did not run, with why."""

    files: list[tuple[Path, Item]]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (Dutch, English)
    history_checked: bool = False


def _identity(raw: RawSubmission, reg: Registry, org_codes: set[str]) -> tuple[str | None, int | None]:
    """The member code and reporting year written in a file, when both are valid."""
    sheet = raw.sheets.get("organisatie") if raw.readable else None
    if sheet is None or not sheet.rows:
        return None, None
    frame = sheet_frame(sheet, reg.sheet("organisatie"))
    org = frame["org_code"].iloc[0] if "org_code" in frame.columns else None
    year = frame["jaar"].iloc[0] if "jaar" in frame.columns else None
    if not isinstance(org, str) or org not in org_codes:
        return None, None
    if not isinstance(year, float) or math.isnan(year) or not year.is_integer():
        return org, None
    return org, int(year)


def _history(ws: Workspace | None, reg: Registry) -> tuple[History | None, tuple[str, str] | None]:
    """The accepted history of the workspace's warehouse, or None with the reason it is not there."""
    if ws is None:
        return None, (
            f"{PLAUSIBILITY_NL} zijn overgeslagen: er is geen werkmap opgegeven (gebruik --root MAP om te "
            "controleren zoals 'rbb ingest' dat doet)",
            f"{PLAUSIBILITY_EN} were skipped: no workspace was given (use --root DIR to check as 'rbb ingest' does)",
        )
    if not ws.db_path.exists():
        return None, (
            f"{PLAUSIBILITY_NL} zijn overgeslagen: de werkmap heeft nog geen warehouse ({ws.db_path}; "
            "eerst 'rbb ingest')",
            f"{PLAUSIBILITY_EN} were skipped: the workspace has no warehouse yet ({ws.db_path}; run 'rbb ingest' first)",
        )
    con = connect(ws.db_path, read_only=True)
    try:
        if not (table_exists(con, "submissions") and table_exists(con, "f_organisatie")):
            return None, (
                f"{PLAUSIBILITY_NL} zijn overgeslagen: het warehouse bevat nog geen leveringen",
                f"{PLAUSIBILITY_EN} were skipped: the warehouse holds no deliveries yet",
            )
        try:
            return history_for(con, reg), None
        except duckdb.CatalogException:
            return None, (
                f"{PLAUSIBILITY_NL} zijn overgeslagen: het warehouse bevat nog geen geaccepteerde leveringen",
                f"{PLAUSIBILITY_EN} were skipped: the warehouse holds no accepted deliveries yet",
            )
    finally:
        con.close()


def precheck(paths: list[Path], ws: Workspace | None = None) -> CheckReport:
    """Check ``paths`` (workbooks or CSV folders) like ingest, without writing anything."""
    reg = registry()
    orgs = load_organisations(ws.root if ws is not None else None)
    org_codes = {o.org_code for o in orgs}
    paths = [Path(p) for p in paths]
    raws = read_deliveries(paths, reg)
    history, why_not = _history(ws, reg)
    skipped: list[tuple[str, str]] = [why_not] if why_not else []
    items = []
    for i, (path, raw) in enumerate(zip(paths, raws)):
        org, year = _identity(raw, reg, org_codes) if history is not None else (None, None)
        if history is not None and (org is None or year is None):
            skipped.append(
                (
                    f"{path.name}: {PLAUSIBILITY_NL} zijn overgeslagen: de organisatiecode of het verslagjaar in "
                    "het bestand ontbreekt of is niet geldig",
                    f"{path.name}: {PLAUSIBILITY_EN} were skipped: the organisation code or reporting year in the "
                    "file is missing or not valid",
                )
            )
            org = year = None
        items.append(Item(key=i, raw=raw, expected_org=org, expected_year=year))
    Validator(reg, sorted(org_codes)).validate(items, history or History())
    _case_checks(items, reg, skipped)
    return CheckReport(list(zip(paths, items)), skipped, history_checked=history is not None)


def _case_checks(items: list[Item], reg: Registry, skipped: list[tuple[str, str]]) -> None:
    """The case microdata of each file, scanned for the year written in the file (as ingest does)."""
    by_year: dict[int, list[tuple[Item, Path]]] = {}
    for it in items:
        if not it.raw.case_files:
            continue
        year = it.expected_year
        if year is None:
            frame = it.frames.get("organisatie")
            value = frame["jaar"].iloc[0] if frame is not None and len(frame) and "jaar" in frame.columns else None
            year = int(value) if isinstance(value, float) and not math.isnan(value) and value.is_integer() else None
        if year is None:
            skipped.append(
                (
                    "de zaakgegevens (zaken) zijn niet gecontroleerd: het verslagjaar in het bestand ontbreekt",
                    "the case microdata (zaken) were not checked: the reporting year in the file is missing",
                )
            )
            continue
        by_year.setdefault(year, []).extend((it, p) for p in it.raw.case_files)
    for year, owners in sorted(by_year.items()):
        scans = scan_case_files([p for _, p in owners], year, reg, validate=False)
        validate_frames(scans, reg)
        for (it, _), scan in zip(owners, scans):
            it.findings.extend(scan.findings)
