"""Submission status per organisation and year, and the version history."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from pipeline.core.numbers import count_text
from pipeline.core.settings import Deadlines
from pipeline.metadata.registry import Organisation
from pipeline.validate.review import STATE_LABELS, member_states


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
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    states = member_states(con, list(out["org_code"]), year).set_index("org_code")
    out["review_state"] = [states.at[c, "state"] for c in out["org_code"]]
    out["signed_off_by"] = [states.at[c, "signed_off_by"] for c in out["org_code"]]
    return out


def cycle_table(
    con: duckdb.DuckDBPyConnection,
    orgs: list[Organisation],
    year: int,
    deadlines: Deadlines | None,
    today: dt.date,
    lang: str = "en",
) -> pd.DataFrame:
    """Per member where it stands in the round: review state, what is still to do (and by whom), and whether it
    is late against the deadline calendar."""
    members = [o for o in sorted(orgs, key=lambda o: o.org_code) if o.is_member(year)]
    states = member_states(con, [o.org_code for o in members], year)
    names = {o.org_code: o.name for o in members}
    i = 0 if lang == "nl" else 1
    rows = []
    for r in states.to_dict("records"):
        state = r["state"]
        todo: list[str] = []
        late = ""
        due_delivery = deadlines.delivery if deadlines else None
        due_feedback = deadlines.feedback if deadlines else None
        if state == "missing":
            todo.append(("lid: levering aanleveren", "member: deliver")[i])
            if due_delivery and today > due_delivery:
                late = (
                    f"levering te laat (termijn {due_delivery:%d-%m-%Y})",
                    f"delivery late (due {due_delivery:%Y-%m-%d})",
                )[i]
        elif state == "rejected":
            n = int(r["latest_errors"] or 0)
            todo.append(
                (
                    f"lid: gecorrigeerde levering ({count_text(n, 'fout', 'fouten', 'nl')} in v{int(r['latest_version'])})",
                    f"member: corrected delivery ({count_text(n, 'error', 'errors', 'en')} in v{int(r['latest_version'])})",
                )[i]
            )
            due = due_feedback or due_delivery
            if due and today > due:
                late = (f"correctie te laat (termijn {due:%d-%m-%Y})", f"correction late (due {due:%Y-%m-%d})")[i]
        elif state == "findings_open":
            if r["open"]:
                todo.append(
                    (
                        f"lid: {count_text(r['open'], 'toelichting', 'toelichtingen', 'nl')} geven",
                        f"member: explain {count_text(r['open'], 'warning', 'warnings', 'en')}",
                    )[i]
                )
            if r["returned"]:
                todo.append(
                    (
                        f"lid: {count_text(r['returned'], 'teruggestuurde toelichting', 'teruggestuurde toelichtingen', 'nl')} herzien",
                        f"member: revise {count_text(r['returned'], 'returned explanation', 'returned explanations', 'en')}",
                    )[i]
                )
            if r["explained"]:
                todo.append(
                    (
                        f"analist: {count_text(r['explained'], 'toelichting', 'toelichtingen', 'nl')} beoordelen",
                        f"analyst: review {count_text(r['explained'], 'explanation', 'explanations', 'en')}",
                    )[i]
                )
            if due_feedback and today > due_feedback and (r["open"] or r["returned"]):
                late = (
                    f"toelichting te laat (termijn {due_feedback:%d-%m-%Y})",
                    f"explanations late (due {due_feedback:%Y-%m-%d})",
                )[i]
        elif state == "resolved":
            todo.append(("analist: aftekenen", "analyst: sign off")[i])
        rows.append(
            {
                "org_code": r["org_code"],
                "name": names[r["org_code"]],
                "state": state,
                "state_label": STATE_LABELS[state][i],
                "version_in_force": r["version_in_force"],
                "open": r["open"],
                "explained": r["explained"],
                "returned": r["returned"],
                "accepted": r["accepted"],
                "signed_off_by": r["signed_off_by"],
                "to_do": "; ".join(todo),
                "late": late,
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
