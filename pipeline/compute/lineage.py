"""Indicator series across renames and mergers (the register's predecessor/successor links).

For an organisation whose predecessors stand for it in earlier years (:mod:`pipeline.metadata.lineage`),
:func:`lineage_series` recomputes each indicator of such a year from the predecessors' summed numerators
and denominators (never the mean of their ratios), so the successor's trend continues through the merger.
These values are marked (``flags`` = ``lineage:A+B``), kept in their own table ``lineage_values`` and never
enter the benchmark statistics of that year: the predecessors are already in them under their own codes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from pipeline.metadata.lineage import Lineage
from pipeline.metadata.registry import Organisation

LINEAGE_COLUMNS = [
    "org_code",
    "year",
    "indicator_code",
    "value",
    "numerator",
    "denominator",
    "lineage_codes",
    "event_year",
    "flags",
]
SKIP_FLAGS = {"suppressed"}  # a predecessor value that may not be shown does not enter a combined value


def _text(r: Mapping, key: str) -> str:
    v = r.get(key)
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else str(v)


def register_lineage(orgs: pd.DataFrame) -> Lineage:
    """The lineage of the warehouse table ``organisations``."""
    out = []
    for r in orgs.to_dict("records"):
        text = lambda key, r=r: _text(r, key)  # noqa: E731
        until = r.get("member_until")
        out.append(
            Organisation(
                org_code=str(r["org_code"]),
                name=text("name"),
                abbreviation=text("abbreviation"),
                cluster=text("cluster"),
                size_class=text("size_class"),
                member_since=int(r["member_since"]) if not pd.isna(r.get("member_since")) else 0,
                member_until=None if until is None or pd.isna(until) else int(until),
                predecessor_codes=tuple(c for c in text("predecessor_codes").split(";") if c),
                successor_code=text("successor_code") or None,
            )
        )
    return Lineage.of(out)


def lineage_series(values: pd.DataFrame, lineage: Lineage, scales: Mapping[str, float]) -> pd.DataFrame:
    """Per organisation with predecessors, indicator and earlier year without its own value: the value of its
    predecessors together, ``Σ numerator / Σ denominator × scale`` (``scales``: indicator code -> scale).
    A year is left out when one of the predecessors has no usable value for that indicator."""
    rows: list[dict] = []
    if values.empty:
        return _frame(rows)
    years = sorted(int(y) for y in values["year"].unique())
    table = {
        (r["org_code"], int(r["year"]), r["indicator_code"]): r
        for r in values[["org_code", "year", "indicator_code", "numerator", "denominator", "flags"]].to_dict("records")
    }
    codes_by_ind = sorted(values["indicator_code"].unique())
    for org in sorted(lineage.orgs):
        if not lineage.predecessors(org):
            continue
        event = lineage.event_year(org)
        for y in years:
            codes = lineage.codes(org, y)
            if not codes or codes == (org,):
                continue
            for ind in codes_by_ind:
                if (org, y, ind) in table:
                    continue
                parts = [table.get((c, y, ind)) for c in codes]
                if any(p is None for p in parts):
                    continue
                nums = [p["numerator"] for p in parts]
                dens = [p["denominator"] for p in parts]
                flags = {f for p in parts for f in str(p.get("flags") or "").split(";") if f}
                if any(pd.isna(x) for x in nums + dens) or flags & SKIP_FLAGS:
                    continue
                num, den = float(sum(nums)), float(sum(dens))
                value = num / den * float(scales.get(ind, 1.0)) if den > 0 else math.nan
                if math.isnan(value):
                    continue
                rows.append(
                    {
                        "org_code": org,
                        "year": y,
                        "indicator_code": ind,
                        "value": value,
                        "numerator": num,
                        "denominator": den,
                        "lineage_codes": ";".join(codes),
                        "event_year": event,
                        "flags": "lineage:" + "+".join(codes),
                    }
                )
    return _frame(rows)


def _frame(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=LINEAGE_COLUMNS)
    for c in ("org_code", "indicator_code", "lineage_codes", "flags"):
        out[c] = out[c].astype("string")
    for c in ("value", "numerator", "denominator"):
        out[c] = out[c].astype("float64")
    out["year"] = out["year"].astype("int64")
    out["event_year"] = out["event_year"].astype("Int64")
    return out


__all__ = ["LINEAGE_COLUMNS", "lineage_series", "register_lineage"]
