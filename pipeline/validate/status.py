"""Submission status per organisation and year, and the version history."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipeline.metadata.registry import Organisation


def status_table(con: duckdb.DuckDBPyConnection, orgs: list[Organisation], year: int) -> pd.DataFrame:
    """One row per member: missing, rejected, accepted with open warnings or accepted; version in force."""
    subs = con.execute(
        """SELECT org_code, version, status, n_errors, n_warnings, n_warnings_explained, in_force, original_name
           FROM submissions WHERE year = ? ORDER BY org_code, version""",
        [year],
    ).fetch_df()
    rows = []
    for o in sorted(orgs, key=lambda o: o.org_code):
        if not o.is_member(year):
            continue
        mine = subs[subs["org_code"] == o.org_code]
        if mine.empty:
            rows.append(
                {
                    "org_code": o.org_code,
                    "name": o.name,
                    "state": "missing",
                    "version_in_force": None,
                    "versions": 0,
                    "errors": None,
                    "open_warnings": None,
                    "latest": None,
                }
            )
            continue
        latest = mine.iloc[-1]
        force = mine[mine["in_force"]]
        if not force.empty:
            f = force.iloc[-1]
            open_w = int(f["n_warnings"] - f["n_warnings_explained"])
            state = "accepted_with_warnings" if open_w else "accepted"
            version = int(f["version"])
        else:
            state, open_w, version = "rejected", None, None
        rows.append(
            {
                "org_code": o.org_code,
                "name": o.name,
                "state": state,
                "version_in_force": version,
                "versions": len(mine),
                "errors": int(latest["n_errors"]),
                "open_warnings": open_w,
                "latest": f"v{int(latest['version'])} {latest['status']}",
            }
        )
    return pd.DataFrame(rows)


def history_table(con: duckdb.DuckDBPyConnection, year: int | None = None, org: str | None = None) -> pd.DataFrame:
    sql = """SELECT org_code, year, version, status, in_force, n_errors, n_warnings, original_name,
                    received_at, left(sha256, 12) AS sha256_prefix FROM submissions WHERE 1=1"""
    params: list = []
    if year is not None:
        sql += " AND year = ?"
        params.append(year)
    if org is not None:
        sql += " AND org_code = ?"
        params.append(org)
    return con.execute(sql + " ORDER BY org_code, year, version", params).fetch_df()
