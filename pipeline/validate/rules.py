"""The figures that the hand-written rules and the plausibility checks test, computed on a batch's frames.

Great Expectations compares columns; what it compares is derived here and written into the sheet's frame
as a hidden ``__`` column: the sum of the parts of a ``sum_le`` rule, the sum over another sheet of a
``sheet_sum_le`` rule, the change of a value against the organisation's previous accepted year
(:class:`History`), and a ratio's robust z-score against the other organisations' ratios of that year.
:mod:`pipeline.validate.suites` adds the expectations on these columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.ingest.batch import Item
from pipeline.metadata.lineage import Lineage
from pipeline.metadata.registry import Field, Ratio, Rule


@dataclass
class History:
    """Accepted values that plausibility checks compare with: per organisation and year.

    With ``lineage`` (from the register), an organisation's previous year may be made up of its predecessors
    (a rename or merger): their ``additive`` fields (counts, FTE, costs) are summed; other fields (means,
    marks) are not compared in that year."""

    org_values: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    product_values: dict[tuple[str, int, str], dict[str, float]] = field(default_factory=dict)
    lineage: Lineage | None = None
    additive: frozenset[str] = frozenset()

    def _codes(self, org: str, year: int) -> tuple[str, ...]:
        if self.lineage is None or org not in self.lineage.orgs:
            return (org,)
        return self.lineage.codes(org, year) or (org,)

    def basis(self, org: str, year: int) -> tuple[int | None, tuple[str, ...]]:
        """The previous year ``org`` is compared with in ``year`` and the codes whose values stand for it
        then: the latest earlier year in which every one of those codes has accepted values."""
        for y in sorted({y for (_, y) in self.org_values if y < year}, reverse=True):
            codes = self._codes(org, y)
            if all((c, y) in self.org_values for c in codes):
                return y, codes
        return None, ()

    def previous(self, org: str, year: int) -> tuple[int | None, dict[str, float]]:
        y, codes = self.basis(org, year)
        if y is None:
            return None, {}
        if codes == (org,):
            return y, self.org_values[(org, y)]
        parts = [self.org_values[(c, y)] for c in codes]
        keys = set.intersection(*(set(p) for p in parts)) & self.additive
        return y, {k: sum(p[k] for p in parts) for k in keys}

    def previous_product(self, org: str, year: int, product: str) -> dict[str, float]:
        y, codes = self.basis(org, year)
        if y is None:
            return {}
        if codes == (org,):
            return self.product_values.get((org, y, product), {})
        parts = [self.product_values[(c, y, product)] for c in codes if (c, y, product) in self.product_values]
        if not parts:
            return {}
        keys = set.intersection(*(set(p) for p in parts)) & self.additive
        return {k: sum(p[k] for p in parts) for k in keys}

    def add_item(self, item: Item, org: str, year: int) -> None:
        frame = item.frames.get("organisatie")
        if frame is not None and len(frame):
            rec = frame.iloc[0]
            self.org_values[(org, year)] = {
                c: float(rec[c])
                for c in frame.columns
                if not c.startswith("__")
                and not c.endswith("__raw")
                and isinstance(rec[c], float)
                and not math.isnan(rec[c])
            }
        prod = item.frames.get("producten")
        if prod is not None and "product_code" in prod.columns:
            # text columns never hold a float: left out before the rows are turned into dicts (slow for them)
            cols = [
                c
                for c in prod.columns
                if c == "product_code" or (not c.startswith("__") and not isinstance(prod[c].dtype, pd.StringDtype))
            ]
            for rec in prod[cols].to_dict("records"):
                if isinstance(rec.get("product_code"), str):
                    self.product_values[(org, year, rec["product_code"])] = {
                        k: v
                        for k, v in rec.items()
                        if isinstance(v, float) and not math.isnan(v) and not k.startswith("__")
                    }


def comparison_org(it: Item) -> str | None:
    """The organisation a submission is compared as: the delivery folder's code. Only where there is
    no folder (``rbb check`` of loose files, which has no history) the code written in the file."""
    if it.expected_org is not None:
        return it.expected_org
    org_frame = it.frames.get("organisatie")
    if org_frame is not None and len(org_frame) and isinstance(org_frame["org_code"].iloc[0], str):
        return org_frame["org_code"].iloc[0]
    return None


# ------------------------------------------------------------------ hand-written rules


def add_part_sum(frame: pd.DataFrame, rule: Rule) -> str:
    """A ``sum_le`` rule: the sum of its parts per row, as a new column of the frame (its name returned)."""
    col = f"__sum_{rule.code}"
    frame[col] = frame[list(rule.parts)].sum(axis=1, min_count=1)
    return col


def add_sheet_sum(frame: pd.DataFrame, rule: Rule, live: list[Item]) -> str:
    """A ``sheet_sum_le`` rule: per submission, the sum of the part over all rows of the other sheet, as a
    new column of the frame holding the total (its name returned)."""
    sums = {}
    for it in live:
        part = it.frames.get(rule.sheet)
        if part is not None and rule.a in part.columns:
            sums[it.key] = part[rule.a].sum(min_count=1)
    col = f"__sheetsum_{rule.code}"
    frame[col] = frame["__sub"].map(sums).astype("float64")
    return col


# ------------------------------------------------------------------ plausibility


class OrgComparison:
    """Plausibility of the ``organisatie`` frame: each row's organisation and year, and what it is compared with."""

    def __init__(self, frame: pd.DataFrame, live: list[Item], history: History):
        self.frame = frame
        self.history = history
        year_of = {it.key: it.expected_year for it in live}
        self.years = frame["__sub"].map(year_of)
        self.orgs = frame["__sub"].map({it.key: comparison_org(it) for it in live}).astype(object)

    def add_change(self, f: Field) -> str:
        """The relative change of a field against the organisation's previous accepted year, as a new column
        (its name returned; also the previous value in ``__prev_<field>``)."""
        frame = self.frame
        prev = [
            self.history.previous(o, y)[1].get(f.code)
            if isinstance(o, str) and y is not None and not pd.isna(y)
            else None
            for o, y in zip(self.orgs, self.years)
        ]
        prev = pd.to_numeric(pd.Series(prev, dtype=object), errors="coerce").astype("float64").to_numpy()
        col = f"__yoy_{f.code}"
        frame[f"__prev_{f.code}"] = prev
        frame[col] = np.where(prev > 0, frame[f.code].to_numpy() / prev - 1.0, np.nan)
        return col

    def add_outlier_score(self, ratio: Ratio, min_peers: int) -> str:
        """A ratio per row (``__ratio_<code>``) and its robust z-score against the other organisations' ratios
        of the same year in the history, as a new column (its name returned). No score with fewer than
        ``min_peers`` peers."""
        frame = self.frame
        num = frame[list(ratio.numerator)].sum(axis=1, min_count=len(ratio.numerator))
        den = frame[list(ratio.denominator)].sum(axis=1, min_count=len(ratio.denominator))
        values = (num / den.where(den > 0)).astype("float64")
        frame[f"__ratio_{ratio.code}"] = values
        z = []
        peer_cache: dict[int, dict[str, float]] = {}
        for o, v, y in zip(self.orgs, values, self.years):
            if y is None or pd.isna(y):
                z.append(np.nan)
                continue
            if y not in peer_cache:
                peer_cache[y] = peer_ratios(ratio, self.history, int(y))
            others = dict(peer_cache[y])
            others.pop(o, None)
            arr = np.array([x for x in others.values() if x is not None and not math.isnan(x)])
            if math.isnan(v) or len(arr) < min_peers:
                z.append(np.nan)
                continue
            med = float(np.median(arr))
            mad = 1.4826 * float(np.median(np.abs(arr - med)))
            z.append((v - med) / mad if mad > 0 else np.nan)
        col = f"__z_{ratio.code}"
        frame[col] = np.array(z, dtype="float64")
        return col


def peer_ratios(ratio: Ratio, history: History, year: int) -> dict[str, float]:
    """The ratio of every organisation with all its fields in the history for that year."""
    out = {}
    for (org, y), vals in history.org_values.items():
        if y != year:
            continue
        if all(c in vals for c in ratio.numerator + ratio.denominator):
            den = sum(vals[c] for c in ratio.denominator)
            if den > 0:
                out[org] = sum(vals[c] for c in ratio.numerator) / den
    return out


def add_product_change(frame: pd.DataFrame, f: Field, live: list[Item], history: History) -> str:
    """The relative change of a product's field against the organisation's previous accepted year, as a new
    column of the ``producten`` frame (its name returned; also the previous value in ``__prev_<field>``)."""
    org_of = {it.key: comparison_org(it) for it in live}
    year_of = {it.key: it.expected_year for it in live}
    prev = [
        history.previous_product(org_of.get(s), year_of.get(s), p).get(f.code)
        if isinstance(p, str) and org_of.get(s) and year_of.get(s)
        else None
        for s, p in zip(frame["__sub"], frame["product_code"])
    ]
    prev_s = pd.to_numeric(pd.Series(prev, dtype=object), errors="coerce").astype("float64").to_numpy()
    frame[f"__prev_{f.code}"] = prev_s
    col = f"__yoy_{f.code}"
    with np.errstate(divide="ignore", invalid="ignore"):  # np.where evaluates both branches
        frame[col] = np.where(prev_s > 0, frame[f.code].to_numpy() / prev_s - 1.0, np.nan)
    return col
