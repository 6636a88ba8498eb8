"""(b) The pandas baseline for the case indicators: what an analyst would write, competent but not tuned.

Reads each ``<DIR>/<ORG>/zaken.<fmt>`` with ``pd.read_csv`` (C engine, ``;``, ``dd-mm-jjjj`` dates) or
``pd.read_parquet``, all columns, concatenates them, derives the flags, and aggregates with
``groupby(...).agg(...)`` plus ``groupby.median`` and ``groupby.quantile(0.9)`` (linear interpolation, as
DuckDB's ``quantile_cont``). The definitions are those of ``case_floor.py``.

    python benchmarks/case_pandas.py --dir DIR [--fmt csv|parquet] [--year 2025] [--out indicators.parquet]

Prints one JSON object with the wall time inside the process and the phases (read, concat, derive,
aggregate); writes the indicator table to ``--out``.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

DATE_COLUMNS = ["datum_ontvangst", "datum_besluit"]
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
    return {p.parent.name: p for p in sorted(Path(data_dir).glob(f"*/zaken.{fmt}"))}


def read_file(path: Path, fmt: str, org: str) -> pd.DataFrame:
    if fmt == "csv":
        df = pd.read_csv(path, sep=";", parse_dates=DATE_COLUMNS, date_format="%d-%m-%Y")
    else:
        # pandas' default turns DATE into datetime.date objects; datetime64 is what an analyst wants.
        df = pd.read_parquet(path, to_pandas_kwargs={"date_as_object": False})
    df["org_code"] = org
    return df


def derive(df: pd.DataFrame, year: int) -> pd.DataFrame:
    start, end = pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)
    df["is_received"] = df["datum_ontvangst"].between(start, end)
    df["is_decided"] = df["datum_besluit"].between(start, end)  # NaT gives False
    df["lead_days"] = (df["datum_besluit"] - df["datum_ontvangst"]).dt.days
    df["within_term"] = df["is_decided"] & (df["lead_days"] <= df["termijn_dagen"])
    df["backlog"] = df["datum_besluit"].isna() | (df["datum_besluit"] > end)
    df["objection_decided"] = df["bezwaar"].where(df["is_decided"], 0)
    df["complaint_received"] = df["klacht"].where(df["is_received"], 0)
    df["digital"] = df["is_received"] & df["kanaal"].isin(["web", "app"])
    return df


def aggregate(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = df.groupby(keys).agg(
        n_records=("case_id", "size"),
        n_cases=("is_received", "sum"),
        n_decided=("is_decided", "sum"),
        n_within_term=("within_term", "sum"),
        backlog_year_end=("backlog", "sum"),
        n_objections=("objection_decided", "sum"),
        n_complaints=("complaint_received", "sum"),
        n_digital=("digital", "sum"),
    )
    lead = df[df["is_decided"]].groupby(keys)["lead_days"]
    out["median_lead_days"] = lead.median()
    out["p90_lead_days"] = lead.quantile(0.9)
    decided = out["n_decided"].where(out["n_decided"] > 0)
    cases = out["n_cases"].where(out["n_cases"] > 0)
    out["share_within_term"] = out["n_within_term"] / decided
    out["objections_per_1000"] = 1000.0 * out["n_objections"] / decided
    out["complaints_per_1000"] = 1000.0 * out["n_complaints"] / cases
    out["share_digital"] = out["n_digital"] / cases
    return out.reset_index()


def indicators(df: pd.DataFrame) -> pd.DataFrame:
    by_product = aggregate(df, ["org_code", "product_code"])
    by_org = aggregate(df, ["org_code"])
    by_org["product_code"] = None
    out = pd.concat([by_org, by_product], ignore_index=True)
    out = out.sort_values(["org_code", "product_code"], na_position="first", ignore_index=True)
    return out[["org_code", "product_code", *INDICATOR_COLUMNS]]


def run_pandas(files: dict[str, Path], fmt: str, year: int) -> tuple[pd.DataFrame, dict[str, float]]:
    phases: dict[str, float] = {}
    t = time.perf_counter()
    frames = [read_file(path, fmt, org) for org, path in files.items()]
    phases["read_s"] = time.perf_counter() - t
    t = time.perf_counter()
    df = pd.concat(frames, ignore_index=True)
    del frames
    phases["concat_s"] = time.perf_counter() - t
    t = time.perf_counter()
    df = derive(df, year)
    phases["derive_s"] = time.perf_counter() - t
    t = time.perf_counter()
    out = indicators(df)
    phases["aggregate_s"] = time.perf_counter() - t
    return out, phases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, required=True, help="folder with <ORG>/zaken.<fmt>")
    ap.add_argument("--fmt", choices=("csv", "parquet"), default="csv")
    ap.add_argument("--year", type=int, default=2025)
    ap.add_argument("--out", type=Path, help="write the indicator table here (parquet)")
    args = ap.parse_args()
    files = find_files(args.dir, args.fmt)
    if not files:
        sys.exit(f"no */zaken.{args.fmt} under {args.dir}")
    out, phases = run_pandas(files, args.fmt, args.year)
    if args.out:
        out.to_parquet(args.out, index=False)
    org = out[out["product_code"].isna()]
    print(
        json.dumps(
            {
                "method": "pandas",
                "fmt": args.fmt,
                "files": len(files),
                "rows": int(org["n_records"].sum()),
                "groups": len(out),
                **{k: round(v, 4) for k, v in phases.items()},
                "wall_s": round(time.perf_counter() - T0, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
