"""Review of warnings and their explanations, and the analyst's sign-off of a member's year.

Every warning of a submission in force has a review status:

* ``open``: no explanation yet (the member is asked for one);
* ``explained``: the member explained it on its Explanations sheet; the analyst has not decided;
* ``accepted``: the analyst accepted the explanation (or, with a note of their own, the value without one);
* ``returned``: the analyst sent the explanation back with a note; the member explains again or corrects.

Decisions are rows of ``reviews`` (never updated or deleted: the history stays). A decision is about *this
warning with this explanation*: it is keyed by rule, sheet, field, value found and explanation, so a later
version of the same delivery that repeats the same warning with the same explanation keeps the decision, and a
new explanation is a new question. Errors are never accepted by review: they need a corrected delivery.

A finding is named ``<ORG>-<YEAR>-v<VERSION>-<SEQ>`` (``NVWA-2025-v2-1``), as in ``rbb review`` and the
feedback pages.

Sign-off (``signoffs``) is the analyst's statement that a member's submission in force for a year is complete:
no errors, every warning accepted. It holds for that submission only; a new version in force needs a new
sign-off. States of a member for a year (:func:`member_states`): ``missing`` → ``rejected`` (only rejected
deliveries) → ``findings_open`` → ``resolved`` → ``signed_off``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline.core.warehouse import REVIEW_TABLES, table_exists

SCHEMA = REVIEW_TABLES

DECISIONS = ("accepted", "returned")
STATUS_LABELS = {
    "open": ("open: toelichting gevraagd", "open: explanation requested"),
    "explained": ("toegelicht: wacht op beoordeling", "explained: awaiting review"),
    "accepted": ("geaccepteerd", "accepted"),
    "returned": ("teruggestuurd", "returned"),
}
STATES = ("missing", "rejected", "findings_open", "resolved", "signed_off")
STATE_LABELS = {
    "missing": ("niet ontvangen", "not received"),
    "rejected": ("afgewezen: gecorrigeerde levering nodig", "rejected: a corrected delivery is needed"),
    "findings_open": ("bevindingen open", "findings open"),
    "resolved": ("alles afgehandeld: klaar voor aftekenen", "all resolved: ready for sign-off"),
    "signed_off": ("afgetekend", "signed off"),
}

_ID = re.compile(r"^\s*([A-Za-z0-9_]+)-(\d{4})-v(\d+)-(\d+)\s*$")


class ReviewError(ValueError):
    """A review decision or sign-off that cannot be made; the message says why (Dutch / English)."""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for stmt in SCHEMA:
        con.execute(stmt)


def finding_id(org: str, year: int, version: int, seq: int) -> str:
    return f"{org}-{int(year)}-v{int(version)}-{int(seq)}"


def parse_finding_id(text: str) -> tuple[str, int, int, int]:
    m = _ID.match(str(text or ""))
    if not m:
        raise ReviewError(
            f"{text!r} is geen bevinding-id (zoals NVWA-2025-v2-1) / {text!r} is not a finding id (such as NVWA-2025-v2-1)"
        )
    return m.group(1).upper(), int(m.group(2)), int(m.group(3)), int(m.group(4))


def finding_key(rule: Any, sheet: Any, field: Any, value: Any, explanation: Any) -> str:
    """What a decision is about: this warning (rule, sheet, field, value) with this explanation."""
    parts = [
        "" if x is None or (isinstance(x, float) and pd.isna(x)) else str(x).strip()
        for x in (rule, sheet, field, value, explanation)
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def _now(at: dt.datetime | None) -> dt.datetime:
    return at or dt.datetime.now()  # to the microsecond: the history keeps the order of quick decisions


# ------------------------------------------------------------------------------------------ reading


def warnings_frame(
    con: duckdb.DuckDBPyConnection,
    year: int | None = None,
    org: str | None = None,
    submission_ids: list[int] | None = None,
) -> pd.DataFrame:
    """Every warning of the submissions in force (or of ``submission_ids``), with its review status and the
    latest decision (who, when, note)."""
    ensure_or_empty = table_exists(con, "reviews")
    sql = """SELECT f.submission_id, f.org_code, f.year, f.version, f.seq, f.rule, f.sheet, f.cell, f.field, f.value,
                    f.message_nl, f.message_en, f.explained, f.explanation
             FROM findings f JOIN submissions s USING (submission_id)
             WHERE f.severity = 'warning'"""
    params: list[Any] = []
    if submission_ids is not None:
        if not submission_ids:
            return _empty_warnings()
        sql += f" AND f.submission_id IN ({', '.join(str(int(i)) for i in submission_ids)})"
    else:
        sql += " AND s.in_force"
    if year is not None:
        sql += " AND f.year = ?"
        params.append(int(year))
    if org is not None:
        sql += " AND f.org_code = ?"
        params.append(org.upper())
    df = con.execute(sql + " ORDER BY f.org_code, f.year, f.version, f.seq", params).fetch_df()
    if df.empty:
        return _empty_warnings()
    df["finding_id"] = [
        finding_id(o, y, v, s) for o, y, v, s in zip(df["org_code"], df["year"], df["version"], df["seq"])
    ]
    df["finding_key"] = [
        finding_key(r.rule, r.sheet, r.field, r.value, r.explanation if r.explained else None) for r in df.itertuples()
    ]
    latest = _latest_decisions(con) if ensure_or_empty else {}
    status, by, at, note = [], [], [], []
    for r in df.itertuples():
        d = latest.get((r.org_code, int(r.year), r.finding_key))
        if d is not None:
            status.append(d["decision"])
            by.append(d["reviewer"])
            at.append(d["decided_at"])
            note.append(d["note"])
        else:
            status.append("explained" if r.explained else "open")
            by.append(None)
            at.append(None)
            note.append(None)
    df["status"], df["decided_by"], df["decided_at"], df["review_note"] = status, by, at, note
    return df


def _empty_warnings() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "submission_id",
            "org_code",
            "year",
            "version",
            "seq",
            "rule",
            "sheet",
            "cell",
            "field",
            "value",
            "message_nl",
            "message_en",
            "explained",
            "explanation",
            "finding_id",
            "finding_key",
            "status",
            "decided_by",
            "decided_at",
            "review_note",
        ]
    )


def _latest_decisions(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int, str], dict[str, Any]]:
    rows = con.execute(
        """SELECT org_code, year, finding_key, decision, note, reviewer, decided_at FROM reviews
           QUALIFY row_number() OVER (PARTITION BY org_code, year, finding_key ORDER BY review_id DESC) = 1"""
    ).fetchall()
    return {(o, int(y), k): {"decision": d, "note": n, "reviewer": r, "decided_at": t} for o, y, k, d, n, r, t in rows}


def history(con: duckdb.DuckDBPyConnection, year: int | None = None, org: str | None = None) -> pd.DataFrame:
    """Every decision and sign-off, oldest first (the review history)."""
    if not table_exists(con, "reviews"):
        return pd.DataFrame(columns=["at", "org_code", "year", "what", "finding_id", "by", "note"])
    where, params = "WHERE 1=1", []
    if year is not None:
        where += " AND year = ?"
        params.append(int(year))
    if org is not None:
        where += " AND org_code = ?"
        params.append(org.upper())
    reviews = con.execute(
        f"""SELECT decided_at AS at, org_code, year, decision AS what,
                   org_code || '-' || year || '-v' || version || '-' || seq AS finding_id, reviewer AS by, note,
                   review_id AS n, 0 AS kind
            FROM reviews {where}""",
        params,
    ).fetch_df()
    signs = con.execute(
        f"""SELECT signed_at AS at, org_code, year, action AS what, 'v' || version AS finding_id, analyst AS by, note,
                   signoff_id AS n, 1 AS kind FROM signoffs {where}""",
        params,
    ).fetch_df()
    both = pd.concat([reviews, signs], ignore_index=True) if len(signs) else reviews
    return both.sort_values(["at", "kind", "n"], ignore_index=True).drop(columns=["n", "kind"])


# ------------------------------------------------------------------------------------------ deciding


@dataclass(frozen=True)
class Decision:
    finding_id: str
    decision: str
    note: str
    submission_id: int


def _finding(con: duckdb.DuckDBPyConnection, fid: str) -> dict[str, Any]:
    org, year, version, seq = parse_finding_id(fid)
    cols = [d[0] for d in con.execute("SELECT * FROM findings LIMIT 0").description]
    row = con.execute(
        "SELECT * FROM findings WHERE org_code = ? AND year = ? AND version = ? AND seq = ?", [org, year, version, seq]
    ).fetchone()
    if row is None:
        raise ReviewError(f"bevinding {fid} bestaat niet / finding {fid} does not exist")
    f = dict(zip(cols, row))
    sub = con.execute(
        "SELECT in_force, status FROM submissions WHERE submission_id = ?", [f["submission_id"]]
    ).fetchone()
    f["in_force"], f["sub_status"] = bool(sub[0]), sub[1]
    return f


def check_decision(con: duckdb.DuckDBPyConnection, fid: str, decision: str, note: str | None) -> Decision:
    """The decision if it can be made; :class:`ReviewError` saying why not otherwise."""
    decision = normalise_decision(decision)
    f = _finding(con, fid)
    if f["severity"] == "error":
        raise ReviewError(
            f"{fid} is een fout: een fout wordt niet geaccepteerd, er is een gecorrigeerde levering nodig / "
            f"{fid} is an error: errors are never accepted by review, they need a corrected delivery"
        )
    if f["severity"] != "warning":
        raise ReviewError(f"{fid} is informatie en vraagt geen beslissing / {fid} is information and needs no decision")
    if not f["in_force"]:
        now = con.execute(
            "SELECT max(version) FROM submissions WHERE org_code = ? AND year = ? AND in_force",
            [f["org_code"], f["year"]],
        ).fetchone()[0]
        later = f" (versie {now} geldt) / (version {now} is in force)" if now else ""
        raise ReviewError(
            f"{fid} hoort bij versie {f['version']}, die niet (meer) geldt{later.split(' / ')[0]} / "
            f"{fid} belongs to version {f['version']}, which is not in force{later.split(' / ')[-1] if later else ''}"
        )
    note = (note or "").strip()
    if decision == "returned" and not note:
        raise ReviewError(
            f"{fid}: wie een toelichting terugstuurt, zegt waarom (--note) / {fid}: returning an explanation needs a note (--note)"
        )
    if decision == "accepted" and not f["explained"] and not note:
        raise ReviewError(
            f"{fid} heeft geen toelichting: accepteer de waarde alleen met een eigen notitie (--note) / "
            f"{fid} has no explanation: accept the value only with a note of your own (--note)"
        )
    signed = current_signoff(con, f["org_code"], int(f["year"]))
    if signed is not None and signed["submission_id"] == f["submission_id"]:
        raise ReviewError(
            f"{f['org_code']} {f['year']} is al afgetekend; trek de aftekening eerst in (rbb signoff --withdraw) / "
            f"{f['org_code']} {f['year']} is signed off; withdraw the sign-off first (rbb signoff --withdraw)"
        )
    return Decision(fid, decision, note, int(f["submission_id"]))


def normalise_decision(text: str) -> str:
    t = str(text or "").strip().lower()
    if t in ("accept", "accepted", "akkoord", "accepteren", "geaccepteerd", "ok", "ja", "yes"):
        return "accepted"
    if t in ("return", "returned", "terug", "terugsturen", "teruggestuurd", "nee", "no"):
        return "returned"
    raise ReviewError(
        f"beslissing {text!r} is onbekend: gebruik accept of return / unknown decision {text!r}: use accept or return"
    )


def record(
    con: duckdb.DuckDBPyConnection, decisions: list[Decision], reviewer: str, at: dt.datetime | None = None
) -> int:
    """Record decisions (checked with :func:`check_decision`) in one transaction."""
    ensure_schema(con)
    when = _now(at)
    con.execute("BEGIN TRANSACTION")
    try:
        next_id = con.execute("SELECT coalesce(max(review_id), 0) + 1 FROM reviews").fetchone()[0]
        for i, d in enumerate(decisions):
            f = _finding(con, d.finding_id)
            key = finding_key(
                f["rule"], f["sheet"], f["field"], f["value"], f["explanation"] if f["explained"] else None
            )
            con.execute(
                "INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    next_id + i,
                    f["org_code"],
                    f["year"],
                    f["submission_id"],
                    f["version"],
                    f["seq"],
                    key,
                    d.decision,
                    d.note or None,
                    reviewer,
                    when,
                ],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(decisions)


def decide(
    con: duckdb.DuckDBPyConnection,
    fids: list[str],
    decision: str,
    note: str | None,
    reviewer: str,
    at: dt.datetime | None = None,
) -> list[Decision]:
    """Accept or return one or more findings (all or nothing)."""
    checked = [check_decision(con, fid, decision, note) for fid in fids]
    record(con, checked, reviewer, at)
    return checked


# ------------------------------------------------------------------------------------- bulk (Excel)

COLUMNS_IN = {
    "finding_id": ("finding_id", "bevinding", "id"),
    "decision": ("decision", "beslissing"),
    "note": ("note", "notitie", "opmerking"),
}


def review_sheet(df: pd.DataFrame) -> pd.DataFrame:
    """The list an analyst fills in: one row per warning, empty ``beslissing`` and ``notitie`` columns."""
    out = pd.DataFrame(
        {
            "bevinding": df["finding_id"],
            "status": df["status"],
            "organisatie": df["org_code"],
            "jaar": df["year"],
            "blad": df["sheet"],
            "cel": df["cell"],
            "veld": df["field"],
            "waarde": df["value"],
            "melding": df["message_nl"],
            "toelichting": df["explanation"],
            "eerdere_notitie": df["review_note"],
            "beslissing": "",
            "notitie": "",
        }
    )
    return out


def read_decisions_file(path: Path) -> pd.DataFrame:
    """A reviewed list (CSV with ``;`` or ``,``, or XLSX) as columns finding_id, decision, note."""
    path = Path(path)
    if not path.is_file():
        raise ReviewError(f"{path} bestaat niet / {path} does not exist")
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            raw = pd.read_excel(path, dtype=str, keep_default_na=False)
        else:
            text = path.read_bytes().decode("utf-8-sig")
            dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ";", delimiters=";,\t")
            raw = pd.read_csv(io.StringIO(text), sep=dialect.delimiter, dtype=str, keep_default_na=False)
    except ReviewError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
        raise ReviewError(f"{path.name} is niet te lezen ({exc}) / {path.name} cannot be read ({exc})") from None
    lower = {str(c).strip().lower(): c for c in raw.columns}
    cols = {}
    for want, names in COLUMNS_IN.items():
        found = next((lower[n] for n in names if n in lower), None)
        if found is None and want != "note":
            raise ReviewError(
                f"{path.name}: kolom {names[1]!r} ontbreekt (of {names[0]!r}) / {path.name}: column {names[0]!r} is missing"
            )
        cols[want] = raw[found] if found is not None else ""
    return pd.DataFrame(cols)


def decide_from_file(
    con: duckdb.DuckDBPyConnection, path: Path, reviewer: str, at: dt.datetime | None = None
) -> list[Decision]:
    """Record every decision of a reviewed list; rows without a decision are skipped. All or nothing: one
    wrong row records nothing, and every wrong row is named with its line."""
    df = read_decisions_file(path)
    checked, problems = [], []
    for i, r in enumerate(df.itertuples(index=False), start=2):
        if not str(r.decision or "").strip():
            continue
        try:
            checked.append(check_decision(con, str(r.finding_id), str(r.decision), str(r.note or "")))
        except ReviewError as exc:
            problems.append(f"regel/line {i}: {exc}")
    if problems:
        raise ReviewError(f"{Path(path).name}: niets vastgelegd / nothing recorded:\n  " + "\n  ".join(problems))
    record(con, checked, reviewer, at)
    return checked


# ------------------------------------------------------------------------------------------ sign-off


def current_signoff(con: duckdb.DuckDBPyConnection, org: str, year: int) -> dict[str, Any] | None:
    """The sign-off in effect for a member's year (None when never signed off or withdrawn since)."""
    return latest_signoffs(con, year, org).get(org)


def latest_signoffs(con: duckdb.DuckDBPyConnection, year: int, org: str | None = None) -> dict[str, dict[str, Any]]:
    """The sign-off in effect for every member's ``year`` (or only ``org``'s), in one query: org_code ->
    sign-off; a member never signed off or withdrawn since is not in it."""
    if not table_exists(con, "signoffs"):
        return {}
    rows = con.execute(
        f"""SELECT org_code, submission_id, version, action, analyst, signed_at, note FROM signoffs
           WHERE year = ?{" AND org_code = ?" if org is not None else ""}
           QUALIFY row_number() OVER (PARTITION BY org_code ORDER BY signoff_id DESC) = 1""",
        [int(year)] if org is None else [int(year), org],
    ).fetchall()
    return {
        code: {"submission_id": int(sid), "version": int(version), "analyst": analyst, "at": at, "note": note}
        for code, sid, version, action, analyst, at, note in rows
        if action == "signed_off"
    }


def member_states(con: duckdb.DuckDBPyConnection, org_codes: list[str], year: int) -> pd.DataFrame:
    """One row per member: state, version in force, counts of warnings per review status, errors of the latest
    delivery, and the sign-off (who, when) when it holds for the version in force."""
    one = org_codes[0] if len(org_codes) == 1 else None
    subs = con.execute(
        f"""SELECT org_code, submission_id, version, status, n_errors, in_force, received_at FROM submissions
           WHERE year = ?{" AND org_code = ?" if one else ""} ORDER BY org_code, version""",
        [int(year), one] if one else [int(year)],
    ).fetchall()
    by_org: dict[str, list[tuple]] = {}
    for r in subs:
        by_org.setdefault(r[0], []).append(r)
    warn = warnings_frame(con, year, org=one)
    counts = Counter(zip(map(int, warn["submission_id"]), warn["status"]))
    signoffs = latest_signoffs(con, year, one)
    rows = []
    for code in sorted(org_codes):
        mine = by_org.get(code, [])
        row: dict[str, Any] = {
            "org_code": code,
            "state": "missing",
            "version_in_force": None,
            "submission_id": None,
            "latest_version": None,
            "latest_status": None,
            "latest_errors": None,
            "received_at": None,
            "open": 0,
            "explained": 0,
            "returned": 0,
            "accepted": 0,
            "signed_off_by": None,
            "signed_off_at": None,
        }
        if mine:
            _, _, version, status, n_errors, _, received_at = mine[-1]
            row.update(
                latest_version=int(version),
                latest_status=status,
                latest_errors=int(n_errors or 0),
                received_at=pd.Timestamp(received_at) if received_at is not None else pd.NaT,
            )
            force = [r for r in mine if r[5]]
            if not force:
                row["state"] = "rejected"
            else:
                f = force[-1]
                row["version_in_force"], row["submission_id"] = int(f[2]), int(f[1])
                for s in ("open", "explained", "returned", "accepted"):
                    row[s] = counts.get((int(f[1]), s), 0)
                signed = signoffs.get(code)
                if signed is not None and signed["submission_id"] == row["submission_id"]:
                    row["state"] = "signed_off"
                    row["signed_off_by"], row["signed_off_at"] = signed["analyst"], signed["at"]
                elif row["open"] or row["explained"] or row["returned"]:
                    row["state"] = "findings_open"
                else:
                    row["state"] = "resolved"
        rows.append(row)
    return pd.DataFrame(rows)


def sign_off(
    con: duckdb.DuckDBPyConnection,
    org: str,
    year: int,
    analyst: str,
    note: str | None = None,
    at: dt.datetime | None = None,
    withdraw: bool = False,
) -> dict[str, Any]:
    """Sign off (or withdraw the sign-off of) a member's year; refused unless every finding is resolved."""
    ensure_schema(con)
    org = org.upper()
    state = member_states(con, [org], year).iloc[0].to_dict()
    if withdraw:
        signed = current_signoff(con, org, year)
        if signed is None:
            raise ReviewError(f"{org} {year} is niet afgetekend / {org} {year} is not signed off")
        sid, version = signed["submission_id"], signed["version"]
        action = "withdrawn"
    else:
        if state["state"] == "signed_off":
            raise ReviewError(
                f"{org} {year} is al afgetekend (versie {state['version_in_force']}) / "
                f"{org} {year} is already signed off (version {state['version_in_force']})"
            )
        if state["state"] != "resolved":
            nl, en = STATE_LABELS[state["state"]]
            todo = ""
            if state["state"] == "findings_open":
                todo = (
                    f" ({state['open']} open, {state['explained']} te beoordelen, {state['returned']} teruggestuurd) / "
                    f"({state['open']} open, {state['explained']} to review, {state['returned']} returned)"
                )
                nl_todo, en_todo = todo.split(" / ")
            else:
                nl_todo = en_todo = ""
            raise ReviewError(
                f"{org} {year} kan niet worden afgetekend: {nl}{nl_todo} / {org} {year} cannot be signed off: {en}{en_todo}"
            )
        sid, version, action = int(state["submission_id"]), int(state["version_in_force"]), "signed_off"
    con.execute("BEGIN TRANSACTION")
    try:
        next_id = con.execute("SELECT coalesce(max(signoff_id), 0) + 1 FROM signoffs").fetchone()[0]
        con.execute(
            "INSERT INTO signoffs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [next_id, org, int(year), sid, version, action, (note or "").strip() or None, analyst, _now(at)],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"org_code": org, "year": int(year), "version": version, "action": action}


def signed_off_in_force(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, int]:
    """Members whose submission in force for ``year`` is signed off: org_code -> submission_id."""
    signoffs = latest_signoffs(con, year)
    if not signoffs:
        return {}
    out = {}
    for org, sid in con.execute(
        "SELECT org_code, submission_id FROM submissions WHERE year = ? AND in_force", [int(year)]
    ).fetchall():
        s = signoffs.get(org)
        if s is not None and s["submission_id"] == sid:
            out[org] = int(sid)
    return out
