"""A batch of new deliveries, read: what the ingest stage hands to validation.

Nothing un-validated is written to the warehouse (a rejected delivery changes no fact table), so the
hand-off from ingest to validation is this in-memory batch; the deliveries themselves are already safe in
``data/raw`` and are copied into the inbox when they are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from pipeline.core.findings import Finding
from pipeline.ingest.discover import Delivery, expected_org, folder_findings
from pipeline.ingest.readers import RawSubmission, read_deliveries
from pipeline.metadata.registry import Registry


@dataclass
class Item:
    """One delivery in a validation batch."""

    key: int
    raw: RawSubmission
    expected_org: str | None
    expected_year: int | None
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def n_errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def n_warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def n_warnings_explained(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning" and f.explained)


@dataclass
class Batch:
    """New deliveries and what was read from each, in the same order."""

    deliveries: list[Delivery] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)


def read_items(deliveries: list[Delivery], reg: Registry, org_codes: set[str], workers: int = 2) -> list[Item]:
    """Read every delivery that passed the folder checks: workbooks and CSV folders are parsed in batches,
    one child process per worker (a file that takes its child down is retried alone); links and special
    files are never read."""
    pre_findings = {i: folder_findings(d, org_codes) for i, d in enumerate(deliveries)}
    todo = [i for i in range(len(deliveries)) if not pre_findings[i]]
    raws = dict(zip(todo, read_deliveries([deliveries[i].path for i in todo], reg, workers)))
    items = []
    for i, d in enumerate(deliveries):
        raw = raws.get(i) or RawSubmission(fmt=d.fmt)
        pre = pre_findings[i]
        raw.findings[:0] = [
            Finding(f.severity, "file_" + f.rule, f.message_nl, f.message_en, cell=f.cell, value=f.value) for f in pre
        ]
        items.append(Item(key=i, raw=raw, expected_org=expected_org(d, org_codes), expected_year=d.year))
    return items
