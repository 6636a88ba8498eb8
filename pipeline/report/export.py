"""``rbb export``: the warehouse tables for analysts, as CSV, XLSX or Parquet.

Text cells that a spreadsheet would run as a formula (starting with = + - @, tab or carriage return) are
prefixed with an apostrophe, also after every ``;``, ``,`` or line break inside them (a file opened with the
other list separator splits a cell there), and every text cell is quoted in CSV, so both separators keep it
whole. XLSX cells are written as plain strings (never formulas).
"""

from __future__ import annotations

import csv
import datetime
import re
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.compute.freshness import ensure_fresh, matching_release
from pipeline.core.warehouse import connect, table_exists
from pipeline.core.workspace import Workspace, atomic_write_bytes

TABLES = {
    "indicators": """SELECT org_code, year, indicator_code, value, numerator, denominator, n, n_eff, se, ci_low, ci_high,
                            flags, submission_id, sha256 FROM indicator_values WHERE year = ?
                     ORDER BY indicator_code, org_code""",
    "comparisons": "SELECT * FROM comparisons WHERE year = ? ORDER BY indicator_code, org_code",
    "benchmark_stats": "SELECT * FROM benchmark_stats WHERE year = ? ORDER BY indicator_code, scope_kind, scope",
    "strengths_weaknesses": "SELECT * FROM strengths_weaknesses WHERE year = ? ORDER BY org_code, kind, indicator_code",
    "composite_scores": "SELECT * FROM composite_scores WHERE year = ? ORDER BY node, org_code",
    "composite_uncertainty": "SELECT * FROM composite_uncertainty WHERE year = ? ORDER BY org_code",
    "dea_results": "SELECT * FROM dea_results WHERE year = ? ORDER BY model, cluster, org_code",
    "composite_sensitivity": "SELECT * FROM composite_sensitivity WHERE year = ? ORDER BY org_code, factor",
    "composite_value_log": "SELECT * FROM composite_value_log WHERE year = ? ORDER BY indicator_code, org_code",
    "indicator_correlations": "SELECT * FROM indicator_correlations WHERE year = ? ORDER BY indicator_a, indicator_b",
    "theme_reliability": "SELECT * FROM theme_reliability WHERE year = ? ORDER BY theme",
    # comparator groups, for analysts only (they name every member): one row per member and comparator member
    "comparator_groups": """SELECT * FROM comparator_groups WHERE year = ?
                            ORDER BY set_kind, set_code, org_code, position, comparator_code""",
    "comparator_stats": """SELECT * FROM comparator_stats WHERE year = ?
                           ORDER BY indicator_code, set_kind, set_code, org_code""",
    "comparator_profile": "SELECT * FROM comparator_profile WHERE year = ? ORDER BY org_code, variable",
}


_CELL_START = re.compile(r"(^|[;,\n\r])([ \"]*)(?=[=+\-@\t\r])")


def neutralise(value: object) -> object:
    """A text that no spreadsheet runs as a formula, whichever list separator the file is opened with."""
    if isinstance(value, str) and _CELL_START.search(value):
        return _CELL_START.sub(lambda m: f"{m.group(1)}{m.group(2)}'", value)
    return value


def safe_text_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise).astype(object)
    return out


def csv_bytes(df: pd.DataFrame, neutralised: bool = False) -> bytes:
    """A table as a Dutch Excel CSV (``;``, decimal comma, UTF-8 with BOM), text cells quoted and neutralised
    (``neutralised``: ``df`` is already what :func:`safe_text_frame` made of it)."""
    safe = df if neutralised else safe_text_frame(df)
    text = safe.to_csv(index=False, sep=";", decimal=",", quoting=csv.QUOTE_NONNUMERIC)
    return text.encode("utf-8-sig")


def export(
    ws: Workspace,
    year: int,
    fmt: str,
    out_dir: Path | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    release_id: str | None = None,
) -> list[Path]:
    """The year's tables for analysts. With ``con`` and ``release_id`` the tables of that release (an open
    release connection; the default folder is then ``exports/<year>/<release>``); every table carries its
    ``release_id`` column (empty for current results that are not a release)."""
    default = ws.root / "data" / "processed" / "exports" / str(year)
    out_dir = Path(out_dir) if out_dir else (default / release_id if release_id else default)
    out_dir.mkdir(parents=True, exist_ok=True)
    own = con is None
    con = connect(ws.db_path, read_only=True) if own else con
    written = []
    try:
        if not table_exists(con, "indicator_values"):
            raise FileNotFoundError("no computed indicators; run 'rbb compute' first")
        if own:
            ensure_fresh(con, ws)
            release_id = matching_release(con, year)  # current results that are a release carry its id
        frames = {
            name: con.execute(sql, [year]).fetch_df()
            for name, sql in TABLES.items()
            if table_exists(con, sql.split("FROM ")[1].split()[0])
        }
    finally:
        if own:
            con.close()
    for df in frames.values():
        df.insert(0, "release_id", release_id or "")
    if frames["indicators"].empty:
        raise ValueError(f"no indicators for {year}")
    if fmt == "csv":
        for name, df in frames.items():
            path = out_dir / f"{name}.csv"
            atomic_write_bytes(path, csv_bytes(df))
            written.append(path)
    elif fmt == "parquet":
        import io

        for name, df in frames.items():
            buf = io.BytesIO()
            df.to_parquet(buf, index=False)
            path = out_dir / f"{name}.parquet"
            atomic_write_bytes(path, buf.getvalue())
            written.append(path)
    elif fmt == "xlsx":
        import io

        buf = io.BytesIO()
        with pd.ExcelWriter(
            buf,
            engine="xlsxwriter",
            engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False}},
        ) as xw:
            xw.book.set_properties({"created": datetime.datetime(year + 1, 1, 1)})  # no run time in the file
            for name, df in frames.items():
                safe_text_frame(df).to_excel(xw, sheet_name=name[:31], index=False)
        path = out_dir / f"rbb_benchmark_{year}.xlsx"
        atomic_write_bytes(path, buf.getvalue())
        written.append(path)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return written
