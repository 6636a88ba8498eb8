"""(a) The DuckDB floor for the case indicators: one query over all files, declared types, no validation.

Reads every ``<DIR>/<ORG>/zaken.<fmt>`` in one ``read_csv`` / ``read_parquet`` call and computes all case
indicators in ONE query with ``GROUP BY GROUPING SETS ((org_code, product_code), (org_code))``: nothing is
validated or stored, so this is the least any pipeline can take on this machine. ``quantile_cont`` is the
direct (holistic) form: the "floor" every other method is compared with.

    python benchmarks/case_floor.py --dir DIR [--fmt csv|parquet] [--year 2025] [--out indicators.parquet]

Prints one JSON object: wall time inside the process (``wall_s``, from interpreter start of this script),
the query time, rows and groups; writes the indicator table to ``--out`` for the comparison.

Indicator definitions (year Y; the same in ``case_pandas.py`` and ``tests/demo/test_casegen.py``):

- ``n_records``: rows in the group's files (an extra, for checking row counts);
- ``n_cases``: cases received in Y; ``n_decided``: ``datum_besluit`` not null and within Y;
- lead time = ``datum_besluit - datum_ontvangst`` in days, over decided cases;
- ``n_within_term`` / ``share_within_term``: decided with lead time <= ``termijn_dagen`` (equal = on time),
  over decided;
- ``median_lead_days`` / ``p90_lead_days``: linear-interpolation quantiles over decided cases;
- ``backlog_year_end``: ``datum_besluit`` null or after 31-12-Y;
- ``objections_per_1000``: sum(bezwaar) over decided / decided x 1000;
- ``complaints_per_1000``: sum(klacht) over cases received in Y / n_cases x 1000;
- ``share_digital``: cases received in Y via web or app / n_cases (an extra).

A share or rate with a zero denominator is NULL. Org-level rows have ``product_code`` NULL.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse
import json
import sys
from pathlib import Path

import duckdb

CSV_COLUMNS = {
    "case_id": "VARCHAR",
    "product_code": "VARCHAR",
    "datum_ontvangst": "DATE",
    "datum_besluit": "DATE",
    "termijn_dagen": "SMALLINT",
    "kanaal": "VARCHAR",
    "bezwaar": "TINYINT",
    "klacht": "TINYINT",
}
INDICATOR_COLUMNS = (
    "n_records",
    "n_cases",
    "n_decided",
    "n_within_term",
    "share_within_term",
    "median_lead_days",
    "p90_lead_days",
    "backlog_year_end",
    "objections_per_1000",
    "complaints_per_1000",
    "share_digital",
)


def find_files(data_dir: Path, fmt: str) -> dict[str, Path]:
    """``{ORG: <data_dir>/<ORG>/zaken.<fmt>}``, sorted by organisation code."""
    return {p.parent.name: p for p in sorted(Path(data_dir).glob(f"*/zaken.{fmt}"))}


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def source_sql(files: dict[str, Path], fmt: str) -> str:
    """One scan of all files; ``org_code`` is the name of the file's folder."""
    paths = "[" + ", ".join(_lit(str(p)) for p in files.values()) + "]"
    if fmt == "csv":
        cols = "{" + ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in CSV_COLUMNS.items()) + "}"
        scan = (
            f"read_csv({paths}, delim = ';', header = true, quote = '\"', dateformat = '%d-%m-%Y', "
            f"columns = {cols}, filename = true)"
        )
    elif fmt == "parquet":
        scan = f"read_parquet({paths}, filename = true)"
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return (
        r"SELECT regexp_extract(filename, '([^/\\]+)[/\\]zaken\.[a-z]+$', 1) AS org_code, * EXCLUDE (filename) "
        f"FROM {scan}"
    )


def floor_sql(files: dict[str, Path], fmt: str, year: int) -> str:
    """The one indicator query (grain: org x product, plus one row per org with ``product_code`` NULL)."""
    y0, y1 = f"DATE '{int(year):04d}-01-01'", f"DATE '{int(year):04d}-12-31'"
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
grouped AS (
    SELECT
        org_code,
        CASE WHEN grouping(product_code) = 0 THEN product_code END AS product_code,
        count(*) AS n_records,
        count(*) FILTER (WHERE is_received) AS n_cases,
        count(*) FILTER (WHERE is_decided) AS n_decided,
        count(*) FILTER (WHERE is_decided AND lead_days <= termijn_dagen) AS n_within_term,
        quantile_cont(lead_days, 0.5) FILTER (WHERE is_decided) AS median_lead_days,
        quantile_cont(lead_days, 0.9) FILTER (WHERE is_decided) AS p90_lead_days,
        count(*) FILTER (WHERE datum_besluit IS NULL OR datum_besluit > {y1}) AS backlog_year_end,
        coalesce(sum(bezwaar) FILTER (WHERE is_decided), 0) AS n_objections,
        coalesce(sum(klacht) FILTER (WHERE is_received), 0) AS n_complaints,
        count(*) FILTER (WHERE is_received AND kanaal IN ('web', 'app')) AS n_digital
    FROM cases
    GROUP BY GROUPING SETS ((org_code, product_code), (org_code))
)
SELECT
    org_code,
    product_code,
    n_records,
    n_cases,
    n_decided,
    n_within_term,
    n_within_term / nullif(n_decided, 0) AS share_within_term,
    median_lead_days::DOUBLE AS median_lead_days,
    p90_lead_days::DOUBLE AS p90_lead_days,
    backlog_year_end,
    1000.0 * n_objections / nullif(n_decided, 0) AS objections_per_1000,
    1000.0 * n_complaints / nullif(n_cases, 0) AS complaints_per_1000,
    n_digital / nullif(n_cases, 0) AS share_digital
FROM grouped
ORDER BY org_code, product_code NULLS FIRST
"""


def run_floor(
    files: dict[str, Path], fmt: str, year: int, out: Path | None = None, con: duckdb.DuckDBPyConnection | None = None
):
    """Run the floor query; return the indicator table as a pandas DataFrame (and write it to ``out``)."""
    own = con is None
    con = con or duckdb.connect()
    try:
        df = con.sql(floor_sql(files, fmt, year)).df()
    finally:
        if own:
            con.close()
    if out is not None:
        df.to_parquet(out, index=False)
    return df


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
    df = con.sql(floor_sql(files, args.fmt, args.year)).df()
    query_s = time.perf_counter() - t
    if args.out:
        df.to_parquet(args.out, index=False)
    org = df[df["product_code"].isna()]
    print(
        json.dumps(
            {
                "method": "floor",
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
