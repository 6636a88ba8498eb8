"""Rows left out: how an indicator over product rows treats a product whose component is missing.

An indicator such as the digital share sums its numerator and its denominator over the products of an
organisation. A product whose digital applications are ``n.v.t.`` (no digital channel) or ``onbekend`` must not
add its applications to the denominator alone: by default (``exclude_row``) such a row leaves numerator and
denominator together. ``zero`` counts an ``n.v.t.`` component as 0 (declared where that is the meaning, such as
objections to a product nobody can object to); an unknown or empty component still leaves the row out.
``missing_org`` makes the organisation's value missing as soon as one row lacks a component.

Beside every value the engine stores how many rows were used and left out and why, and the share of the
denominator in scope that the rows used hold (``coverage``; rows marked ``n.v.t.`` are out of scope, an in-scope
row whose denominator is itself unknown counts as an average row). A value whose coverage is below the declared
minimum is not published (flag ``low_coverage``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from pipeline.core.warehouse import state_column

PRODUCTS = "producten"
TREATMENTS = ("exclude_row", "zero", "missing_org")


@dataclass(frozen=True)
class RowPlan:
    """The product components of one indicator and how a missing one is treated."""

    components: tuple[str, ...]
    denominator: tuple[str, ...]
    treatment: str
    min_coverage: float

    @property
    def applies(self) -> bool:
        return bool(self.components)


def row_plan(fields: tuple[str, ...], denominator_text: str, treatment: str, min_coverage: float) -> RowPlan:
    """The plan of an indicator from its declared ``fields`` (``sheet.field``) and denominator formula."""
    if treatment not in TREATMENTS:
        raise ValueError(f"unknown treatment of missing components {treatment!r}; expected one of {TREATMENTS}")
    comps = tuple(f.split(".", 1)[1] for f in fields if f.startswith(f"{PRODUCTS}."))
    words = set(re.findall(r"[a-z_0-9]+", denominator_text))
    den = tuple(c for c in comps if c in words)
    return RowPlan(comps, den, treatment, float(min_coverage))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _present(c: str) -> str:
    return f"{_q(c)} IS NOT NULL"


def _state(c: str, state: str) -> str:
    return f"coalesce({_q(state_column(c))} = '{state}', false)"


def rows_sql(plan: RowPlan) -> str:
    """The product rows the indicator uses (the view ``product_rows`` its intermediate aggregates)."""
    if not plan.applies or plan.treatment == "missing_org":
        return "SELECT * FROM v_producten"
    if plan.treatment == "zero":
        repl = ", ".join(f"CASE WHEN {_state(c, 'nvt')} THEN 0 ELSE {_q(c)} END AS {_q(c)}" for c in plan.components)
        keep = " AND ".join(f"({_present(c)} OR {_state(c, 'nvt')})" for c in plan.components)
        return f"SELECT * REPLACE ({repl}) FROM v_producten WHERE {keep}"
    return f"SELECT * FROM v_producten WHERE {' AND '.join(_present(c) for c in plan.components)}"


def coverage_frame(con: duckdb.DuckDBPyConnection, plan: RowPlan) -> pd.DataFrame:
    """Per submission in force: rows total, used and left out (by reason), and the coverage share."""
    cols = ["submission_id", "rows_total", "rows_used", "rows_left_out", "left_out", "coverage"]
    if not plan.applies:
        return pd.DataFrame(columns=cols)
    comps = plan.components
    nvt_any = " OR ".join(_state(c, "nvt") for c in comps)
    unk_any = " OR ".join(_state(c, "onbekend") for c in comps)
    if plan.treatment == "zero":
        used = " AND ".join(f"({_present(c)} OR {_state(c, 'nvt')})" for c in comps)
        out_of_scope = "false"
    else:
        used = " AND ".join(_present(c) for c in comps)
        out_of_scope = f"({nvt_any})"
    den = " + ".join(f"coalesce({_q(c)}, 0)" for c in plan.denominator) if plan.denominator else "1"
    den_known = " AND ".join(_present(c) for c in plan.denominator) if plan.denominator else "true"
    sql = f"""
        WITH r AS (
            SELECT submission_id,
                   ({used}) AS used,
                   NOT ({used}) AND {out_of_scope} AS left_nvt,
                   NOT ({used}) AND NOT {out_of_scope} AND ({unk_any}) AS left_unknown,
                   ({den_known}) AS den_known,
                   {den} AS den
            FROM v_producten
        )
        SELECT submission_id,
               count(*) AS rows_total,
               count(*) FILTER (WHERE used) AS rows_used,
               count(*) FILTER (WHERE left_nvt) AS left_nvt,
               count(*) FILTER (WHERE left_unknown) AS left_unknown,
               count(*) FILTER (WHERE NOT used AND NOT left_nvt AND NOT left_unknown) AS left_empty,
               sum(den) FILTER (WHERE used) AS den_used,
               sum(den) FILTER (WHERE NOT left_nvt AND den_known) AS den_scope_known,
               count(*) FILTER (WHERE NOT left_nvt AND den_known) AS n_scope_known,
               count(*) FILTER (WHERE NOT left_nvt) AS n_scope
        FROM r GROUP BY submission_id
    """
    df = con.execute(sql).fetch_df()
    if df.empty:
        return pd.DataFrame(columns=cols)
    for c in df.columns:
        if c != "submission_id":
            df[c] = df[c].astype("float64")
    mean_den = df["den_scope_known"] / df["n_scope_known"].where(df["n_scope_known"] > 0)
    scope = df["den_scope_known"] + (df["n_scope"] - df["n_scope_known"]) * mean_den.fillna(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = np.where(scope > 0, df["den_used"].fillna(0) / scope, np.where(df["n_scope"] > 0, 0.0, np.nan))
    df["coverage"] = cov
    df["rows_left_out"] = df["rows_total"] - df["rows_used"]
    df["left_out"] = [
        ";".join(f"{k}:{int(v)}" for k, v in (("nvt", a), ("onbekend", b), ("leeg", c)) if v > 0) or None
        for a, b, c in zip(df["left_nvt"], df["left_unknown"], df["left_empty"])
    ]
    for c in ("rows_total", "rows_used", "rows_left_out"):
        df[c] = df[c].astype("int64")
    return df[cols]


def missing_reason(con: duckdb.DuckDBPyConnection, fields: tuple[str, ...]) -> pd.DataFrame:
    """Per submission in force: ``nvt`` or ``onbekend`` when a component on the organisation or channel sheet
    holds that answer (``nvt`` first), to say why a value is missing."""
    parts = []
    for sheet in ("organisatie", "kanalen"):
        comps = [f.split(".", 1)[1] for f in fields if f.startswith(f"{sheet}.")]
        cols = [state_column(c) for c in comps]
        if not cols:
            continue
        nvt = " OR ".join(f"coalesce({_q(c)} = 'nvt', false)" for c in cols)
        unk = " OR ".join(f"coalesce({_q(c)} = 'onbekend', false)" for c in cols)
        parts.append(
            f"SELECT submission_id, bool_or({nvt}) AS nvt, bool_or({unk}) AS unk FROM v_{sheet} GROUP BY submission_id"
        )
    if not parts:
        return pd.DataFrame(columns=["submission_id", "reason"])
    df = con.execute(
        f"SELECT submission_id, bool_or(nvt) AS nvt, bool_or(unk) AS unk FROM ({' UNION ALL '.join(parts)}) "
        "GROUP BY submission_id"
    ).fetch_df()
    df["reason"] = np.where(df["nvt"].fillna(False), "nvt", np.where(df["unk"].fillna(False), "onbekend", None))
    return df[["submission_id", "reason"]]
