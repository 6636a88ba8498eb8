"""(a2) The histogram floor for the case indicators: the same indicators as (a), from a lead-time histogram.

Reads every ``<DIR>/<ORG>/zaken.<fmt>`` in one ``read_csv`` / ``read_parquet`` call (as ``case_floor.py``) and
computes all case indicators in ONE query: the scan groups the cases by organisation, product and lead time in
days (of decided cases), with the counts and sums of every indicator; the organisation and organisation ×
product rows are sums over that histogram (``GROUPING SETS``), and the median and P90 come from its cumulated
counts with the same linear interpolation as ``quantile_cont`` (type 7). Lead times are whole days, so the
quantiles are exact and the histogram stays small whatever the number of cases: no holistic aggregate keeps
the lead times of the largest organisation in memory. Nothing is validated or stored: the fastest baseline we
know for these indicators.

    python benchmarks/case_hist.py --dir DIR [--fmt csv|parquet] [--year 2025] [--out indicators.parquet]

Prints one JSON object like ``case_floor.py``; the indicator definitions are those in ``case_floor.py``.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse
import json
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from case_floor import _lit, find_files, source_sql

SUMS = (
    "n_records",
    "n_cases",
    "n_decided",
    "n_within_term",
    "backlog_year_end",
    "n_objections",
    "n_complaints",
    "n_digital",
)


def hist_sql(files: dict[str, Path], fmt: str, year: int) -> str:
    """The one indicator query over the lead-time histogram (the grain and columns of ``floor_sql``)."""
    y0, y1 = f"DATE '{int(year):04d}-01-01'", f"DATE '{int(year):04d}-12-31'"
    sums = ",\n        ".join(f"sum({c}) AS {c}" for c in SUMS)
    return f"""
WITH source AS ({source_sql(files, fmt)}),
cases AS (
    SELECT
        org_code,
        product_code,
        termijn_dagen,
        kanaal,
        bezwaar,
        klacht,
        datum_besluit,
        datum_ontvangst BETWEEN {y0} AND {y1} AS is_received,
        datum_besluit BETWEEN {y0} AND {y1} AS is_decided,
        datum_besluit - datum_ontvangst AS lead_days
    FROM source
),
hist AS (  -- the one scan: organisation x product x lead time in days of the decided cases (NULL: the others)
    SELECT
        org_code,
        product_code,
        CASE WHEN is_decided THEN lead_days END AS lead_days,
        count(*) AS n_records,
        count(*) FILTER (WHERE is_received) AS n_cases,
        count(*) FILTER (WHERE is_decided) AS n_decided,
        count(*) FILTER (WHERE is_decided AND lead_days <= termijn_dagen) AS n_within_term,
        count(*) FILTER (WHERE datum_besluit IS NULL OR datum_besluit > {y1}) AS backlog_year_end,
        coalesce(sum(bezwaar) FILTER (WHERE is_decided), 0) AS n_objections,
        coalesce(sum(klacht) FILTER (WHERE is_received), 0) AS n_complaints,
        count(*) FILTER (WHERE is_received AND kanaal IN ('web', 'app')) AS n_digital
    FROM cases
    GROUP BY ALL
),
levels AS (  -- the same histogram per organisation x product and per organisation
    SELECT
        org_code,
        grouping(product_code) AS is_org,
        CASE WHEN grouping(product_code) = 0 THEN product_code END AS product_code,
        lead_days,
        {sums}
    FROM hist
    GROUP BY GROUPING SETS ((org_code, product_code, lead_days), (org_code, lead_days))
),
totals AS (
    SELECT org_code, is_org, product_code, {", ".join(f"sum({c}) AS {c}" for c in SUMS)}
    FROM levels
    GROUP BY ALL
),
ranked AS (  -- cumulated counts of the decided cases by lead time
    SELECT
        org_code,
        is_org,
        product_code,
        lead_days,
        n_decided AS n,
        sum(n_decided) OVER (
            PARTITION BY org_code, is_org, product_code ORDER BY lead_days ROWS UNBOUNDED PRECEDING
        ) AS cum,
        sum(n_decided) OVER (PARTITION BY org_code, is_org, product_code)::DOUBLE AS total
    FROM levels
    WHERE lead_days IS NOT NULL
),
positions AS (  -- quantile_cont's position (n - 1) q, the 1-based ranks either side of it
    SELECT *, floor(pos) + 1 AS k_lo, ceil(pos) + 1 AS k_hi, pos - floor(pos) AS frac
    FROM (SELECT ranked.*, q, (total - 1) * q AS pos FROM ranked, (VALUES (0.5), (0.9)) AS qs(q))
),
quantiles AS (
    SELECT
        org_code,
        is_org,
        product_code,
        q,
        any_value(frac) AS frac,
        max(lead_days) FILTER (WHERE cum - n < k_lo AND k_lo <= cum)::DOUBLE AS v_lo,
        max(lead_days) FILTER (WHERE cum - n < k_hi AND k_hi <= cum)::DOUBLE AS v_hi
    FROM positions
    GROUP BY ALL
)
SELECT
    t.org_code,
    t.product_code,
    t.n_records,
    t.n_cases,
    t.n_decided,
    t.n_within_term,
    t.n_within_term / nullif(t.n_decided, 0) AS share_within_term,
    m.v_lo + m.frac * (m.v_hi - m.v_lo) AS median_lead_days,
    p.v_lo + p.frac * (p.v_hi - p.v_lo) AS p90_lead_days,
    t.backlog_year_end,
    1000.0 * t.n_objections / nullif(t.n_decided, 0) AS objections_per_1000,
    1000.0 * t.n_complaints / nullif(t.n_cases, 0) AS complaints_per_1000,
    t.n_digital / nullif(t.n_cases, 0) AS share_digital
FROM totals AS t
LEFT JOIN quantiles AS m
    ON m.org_code = t.org_code AND m.is_org = t.is_org AND m.product_code IS NOT DISTINCT FROM t.product_code
    AND m.q = 0.5
LEFT JOIN quantiles AS p
    ON p.org_code = t.org_code AND p.is_org = t.is_org AND p.product_code IS NOT DISTINCT FROM t.product_code
    AND p.q = 0.9
ORDER BY t.org_code, t.product_code NULLS FIRST
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, required=True, help="folder with <ORG>/zaken.<fmt>")
    ap.add_argument("--fmt", choices=("csv", "parquet"), default="csv")
    ap.add_argument("--year", type=int, default=2025)
    ap.add_argument("--out", type=Path, help="write the indicator table here (parquet)")
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: DuckDB's default)")
    ap.add_argument("--memory-limit", help="DuckDB memory_limit (default: DuckDB's default)")
    args = ap.parse_args()
    files = find_files(args.dir, args.fmt)
    if not files:
        sys.exit(f"no */zaken.{args.fmt} under {args.dir}")
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    if args.memory_limit:
        con.execute(f"SET memory_limit = {_lit(args.memory_limit)}")
    t = time.perf_counter()
    df = con.sql(hist_sql(files, args.fmt, args.year)).df()
    query_s = time.perf_counter() - t
    if args.out:
        df.to_parquet(args.out, index=False)
    org = df[df["product_code"].isna()]
    print(
        json.dumps(
            {
                "method": "hist",
                "fmt": args.fmt,
                "files": len(files),
                "rows": int(org["n_records"].sum()),
                "groups": len(df),
                "query_s": round(query_s, 4),
                "wall_s": round(time.perf_counter() - T0, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
