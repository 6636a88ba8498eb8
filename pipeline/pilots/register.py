"""The pilots register ``data/pilots_register.csv``: every pilot the board chose, from choice to evaluation.

A pilot's life: *proposed* (on a year's shortlist, with a proposed team: ``reports/<year>/pilots.csv`` and
``pilot_teams.csv``) -> *chosen* by the board (:func:`choose_pilot`) -> *running* from a start year with its team
(:func:`start_pilot`) -> *evaluated* with its outcome and lessons (:func:`close_pilot`). Each step is appended to
``data/pilots_history.csv`` (who, when, from, to, note). :func:`add_pilot` records a pilot that is already running
(the register's older, five-column form is still read: its rows are running pilots).

The register is edited by analysts (``rbb pilots choose|start|close|add`` or by hand). :func:`read_register` reads
it as written (',' or ';' as separator), :func:`validate_entry` checks one entry against the organisation register
and the indicator catalogue and :func:`load_register` returns the valid entries and the problems found.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.workspace import Workspace, atomic_write_text
from pipeline.metadata.registry import load_organisations, register_year
from pipeline.pilots.selection import RANKED, catalogue_from_yaml, catalogue_map
from pipeline.pilots.values import as_text, escape_cell

REGISTER_COLUMNS = (
    "pilot_id",
    "org_code",
    "indicator_code",
    "partner_org_code",
    "status",
    "round_year",
    "start_year",
    "team",
    "outcome",
    "lessons",
    "note",
)
#: the register's first form: running pilots only
LEGACY_COLUMNS = ("org_code", "indicator_code", "partner_org_code", "start_year", "note")
STATUSES = ("chosen", "running", "evaluated")
STATUS_TEXT = {
    "proposed": ("voorgesteld", "proposed"),
    "chosen": ("gekozen door het bestuur", "chosen by the board"),
    "running": ("loopt", "running"),
    "evaluated": ("geëvalueerd", "evaluated"),
}
HISTORY_COLUMNS = ("pilot_id", "on", "by", "from_status", "to_status", "note")
TEAM_ROLES = ("coach", "onderzoeker")


def pilot_id(round_year: int, org_code: str, indicator_code: str) -> str:
    return f"{int(round_year)}-{org_code}-{indicator_code}"


def parse_team(text: Any) -> list[tuple[str, str]]:
    """``P001:coach;P014:onderzoeker`` as [(person_id, role), ...]; ValueError naming the bad part."""
    out = []
    for part in as_text(text).split(";"):
        part = part.strip()
        if not part:
            continue
        pid, _, role = part.partition(":")
        pid, role = pid.strip(), (role.strip().lower() or "onderzoeker")
        role = "onderzoeker" if role == "researcher" else role
        if not pid or role not in TEAM_ROLES:
            raise ValueError(f"team member {part!r} must read PERSON_ID:coach or PERSON_ID:onderzoeker")
        out.append((pid, role))
    return out


def team_text(team: Sequence[tuple[str, str]]) -> str:
    return ";".join(f"{pid}:{role}" for pid, role in team)


def register_path(ws: Workspace) -> Path:
    return ws.root / "data" / "pilots_register.csv"


def history_path(ws: Workspace) -> Path:
    return ws.root / "data" / "pilots_history.csv"


def read_register(ws: Workspace) -> pd.DataFrame:
    """The register as written (strings; no validation). Accepts ',' or ';' as separator and the older
    five-column form (its rows are running pilots)."""
    path = register_path(ws)
    if not path.exists():
        return pd.DataFrame(columns=list(REGISTER_COLUMNS) + ["line"])
    text = path.read_text("utf-8-sig")
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = []
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    names = reader.fieldnames or []
    legacy = "status" not in names
    required = LEGACY_COLUMNS[:4] if legacy else ("org_code", "indicator_code", "status")
    missing = [c for c in required if c not in names]
    if missing and text.strip():
        raise ValueError(
            f"{path}: missing column(s) {', '.join(missing)}; the header must be {','.join(REGISTER_COLUMNS)}"
        )
    for i, row in enumerate(reader, start=2):
        if not any(as_text(v) for v in row.values()):
            continue
        rec = {c: as_text(row.get(c)) for c in REGISTER_COLUMNS}
        if legacy:
            rec["status"] = "running"
        rows.append({**rec, "line": i})
    return pd.DataFrame(rows, columns=list(REGISTER_COLUMNS) + ["line"])


def _year(value: Any, name: str) -> int:
    try:
        year = register_year(str(value))  # four ASCII digits: '2.025', '２０２５' or '2_025' is no year
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a year such as 2026, not {value!r}") from None
    if not 2002 <= year <= 2100:
        raise ValueError(f"{name} {year} is outside 2002-2100")
    return year


def validate_entry(
    org: Any,
    indicator: Any,
    partner: Any,
    start_year: Any,
    organisations: Sequence[Any],
    catalogue: pd.DataFrame,
    started: bool = True,
) -> dict[str, Any]:
    """One register entry, normalised; ValueError with a message an analyst can act on. A pilot that has not
    ``started`` (chosen) may have no start year yet."""
    by_code = {o.org_code: o for o in organisations}
    org_code = as_text(org).upper()
    if not org_code:
        raise ValueError("organisation code is empty")
    if org_code not in by_code:
        raise ValueError(
            f"unknown organisation code {org_code!r}; use a code from data/organisations.csv "
            f"(e.g. {', '.join(sorted(by_code)[:5])})"
        )
    cat = catalogue_map(catalogue)
    ind = as_text(indicator).lower()
    if ind not in cat:
        ranked = sorted(c for c, m in cat.items() if m["direction"] in RANKED)
        raise ValueError(f"unknown indicator code {ind!r}; use a ranked indicator such as {', '.join(ranked[:4])}")
    if cat[ind]["direction"] not in RANKED:
        raise ValueError(
            f"indicator {ind!r} is a context indicator (not ranked); a pilot needs an indicator "
            "whose direction is higher or lower"
        )
    if not started and not as_text(start_year):
        return {
            "org_code": org_code,
            "indicator_code": ind,
            "partner_org_code": _partner(partner, org_code, by_code, None),
            "start_year": None,
        }
    year = _year(start_year, "start_year")
    if not by_code[org_code].is_member(year):
        raise ValueError(f"{org_code} is not a member in {year}")
    return {
        "org_code": org_code,
        "indicator_code": ind,
        "partner_org_code": _partner(partner, org_code, by_code, year),
        "start_year": year,
    }


def _partner(partner: Any, org_code: str, by_code: dict[str, Any], year: int | None) -> str | None:
    partner_code = as_text(partner).upper()
    if not partner_code:
        return None
    if partner_code not in by_code:
        raise ValueError(f"unknown partner organisation code {partner_code!r}")
    if partner_code == org_code:
        raise ValueError("the partner must be another organisation than the pilot organisation")
    if year is not None and not by_code[partner_code].is_member(year):
        raise ValueError(f"partner {partner_code} is not a member in {year}")
    return partner_code


def _validate_row(rec: dict[str, Any], orgs: Sequence[Any], cat: pd.DataFrame) -> dict[str, Any]:
    status = as_text(rec.get("status")).lower() or "running"
    if status not in STATUSES:
        raise ValueError(f"status {status!r} must be one of {', '.join(STATUSES)}")
    entry = validate_entry(
        rec["org_code"],
        rec["indicator_code"],
        rec["partner_org_code"],
        rec["start_year"],
        orgs,
        cat,
        started=status != "chosen",
    )
    round_text = as_text(rec.get("round_year"))
    round_year = _year(round_text, "round_year") if round_text else None
    if round_year is not None and entry["start_year"] is not None and entry["start_year"] < round_year:
        raise ValueError(f"start_year {entry['start_year']} lies before the round {round_year} the pilot was chosen in")
    team = parse_team(rec.get("team"))
    key_year = round_year if round_year is not None else entry["start_year"]
    return {
        "pilot_id": as_text(rec.get("pilot_id")) or pilot_id(key_year, entry["org_code"], entry["indicator_code"]),
        **entry,
        "status": status,
        "round_year": round_year,
        "team": team_text(team),
        "outcome": as_text(rec.get("outcome")),
        "lessons": as_text(rec.get("lessons")),
        "note": as_text(rec.get("note")),
    }


def load_register(
    ws: Workspace, strict: bool = True, catalogue: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Validated register entries and the problems found; with ``strict`` any problem raises ValueError.

    ``start_year`` and ``round_year`` are whole numbers or None (a chosen pilot has no start year yet)."""
    raw = read_register(ws)
    orgs = load_organisations(ws.root)
    cat = catalogue if catalogue is not None else catalogue_from_yaml()
    rows, problems, seen, ids = [], [], set(), set()
    for rec in raw.to_dict("records"):
        try:
            entry = _validate_row(rec, orgs, cat)
            key = (entry["org_code"], entry["indicator_code"], entry["round_year"] or entry["start_year"])
            if key in seen or entry["pilot_id"] in ids:
                raise ValueError(f"duplicate pilot {entry['org_code']} / {entry['indicator_code']} / {key[2]}")
            seen.add(key)
            ids.add(entry["pilot_id"])
            rows.append(entry)
        except ValueError as exc:
            problems.append(f"{register_path(ws).name}, line {rec['line']}: {exc}")
    if strict and problems:
        raise ValueError("; ".join(problems))
    frame = pd.DataFrame(rows, columns=list(REGISTER_COLUMNS))
    for col in ("start_year", "round_year"):
        frame[col] = pd.Series([None if pd.isna(v) else int(v) for v in frame[col]], index=frame.index, dtype=object)
    return frame, problems


def started(register: pd.DataFrame) -> pd.DataFrame:
    """The pilots that have started (running or evaluated): the ones the follow-up measures."""
    if register is None or register.empty:
        return pd.DataFrame(columns=list(REGISTER_COLUMNS))
    if "status" not in register.columns:  # a bare frame of running pilots
        return register.copy()
    out = register[register["status"].isin(["running", "evaluated"]) & register["start_year"].notna()].copy()
    out["start_year"] = out["start_year"].astype(int)
    return out


def write_register(ws: Workspace, rows: Sequence[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(REGISTER_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                ""
                if r.get(c) is None
                else escape_cell(as_text(r.get(c)))
                if c in ("outcome", "lessons", "note")
                else r.get(c)
                for c in REGISTER_COLUMNS
            ]
        )
    atomic_write_text(register_path(ws), buf.getvalue())


def read_history(ws: Workspace) -> pd.DataFrame:
    path = history_path(ws)
    if not path.exists():
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    return pd.read_csv(path, dtype=str, keep_default_na=False).reindex(columns=list(HISTORY_COLUMNS)).fillna("")


def _log(ws: Workspace, pid: str, before: str, after: str, by: str | None, note: str, on: dt.date | None) -> None:
    history = read_history(ws).to_dict("records")
    history.append(
        {
            "pilot_id": pid,
            "on": (on or dt.date.today()).isoformat(),
            "by": " ".join(str(by or "").split()),
            "from_status": before,
            "to_status": after,
            "note": " ".join(str(note or "").split()),
        }
    )
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HISTORY_COLUMNS)
    for h in history:
        writer.writerow([escape_cell(as_text(h[c])) if c in ("by", "note") else h[c] for c in HISTORY_COLUMNS])
    atomic_write_text(history_path(ws), buf.getvalue())


def _one_line(text: Any) -> str:
    return " ".join(str(text or "").split())


def add_pilot(
    ws: Workspace,
    org: str,
    indicator: str,
    partner: str | None,
    start_year: int,
    note: str = "",
    by: str | None = None,
    on: dt.date | None = None,
) -> dict[str, Any]:
    """Record a pilot that is already running (from ``start_year``); returns the entry.

    Raises ValueError for an unknown organisation, partner or indicator, a context indicator, a
    bad start year, a partner equal to the organisation, a duplicate, or an invalid register.
    """
    register, _ = load_register(ws, strict=True)
    entry = validate_entry(org, indicator, partner, start_year, load_organisations(ws.root), catalogue_from_yaml())
    dup = register[
        (register["org_code"] == entry["org_code"])
        & (register["indicator_code"] == entry["indicator_code"])
        & ((register["start_year"] == entry["start_year"]) | (register["round_year"] == entry["start_year"]))
    ]
    if not dup.empty:
        raise ValueError(
            f"pilot {entry['org_code']} / {entry['indicator_code']} starting {entry['start_year']} "
            "is already registered"
        )
    entry = {
        "pilot_id": pilot_id(entry["start_year"], entry["org_code"], entry["indicator_code"]),
        **entry,
        "status": "running",
        "round_year": None,
        "team": "",
        "outcome": "",
        "lessons": "",
        "note": _one_line(note),
    }
    write_register(ws, register.to_dict("records") + [entry])
    _log(ws, entry["pilot_id"], "", "running", by, note, on)
    return entry


def choose_pilot(
    ws: Workspace,
    round_year: int,
    org: str,
    indicator: str,
    partner: str | None = None,
    note: str = "",
    by: str | None = None,
    on: dt.date | None = None,
) -> dict[str, Any]:
    """The board chooses a pilot of the round ``round_year`` (usually from its shortlist): status *chosen*."""
    register, _ = load_register(ws, strict=True)
    round_year = _year(round_year, "year")
    entry = validate_entry(
        org, indicator, partner, "", load_organisations(ws.root), catalogue_from_yaml(), started=False
    )
    pid = pilot_id(round_year, entry["org_code"], entry["indicator_code"])
    if pid in set(register["pilot_id"]):
        raise ValueError(f"pilot {pid} is already in the register")
    entry = {
        "pilot_id": pid,
        **entry,
        "status": "chosen",
        "round_year": round_year,
        "team": "",
        "outcome": "",
        "lessons": "",
        "note": _one_line(note),
    }
    write_register(ws, register.to_dict("records") + [entry])
    _log(ws, pid, "proposed", "chosen", by, note, on)
    return entry


def find_pilot(register: pd.DataFrame, pid: str) -> int:
    """The row index of pilot ``pid`` in the register; ValueError naming the pilots there when it is unknown."""
    hits = register.index[register["pilot_id"] == as_text(pid)].tolist()
    if not hits:
        known = ", ".join(register["pilot_id"].tolist()[:6]) or "none yet"
        raise ValueError(f"unknown pilot {pid!r}; pilots in the register: {known} (rbb pilots list)")
    return hits[0]


def _step(
    ws: Workspace,
    pid: str,
    before: str,
    after: str,
    check,
    note: str,
    by: str | None,
    on: dt.date | None,
) -> dict[str, Any]:
    """Move pilot ``pid`` from stage ``before`` to ``after``: ``check(rec)`` validates and returns the changed
    fields; the register is rewritten and the step appended to the history."""
    register, _ = load_register(ws, strict=True)
    i = find_pilot(register, pid)
    rec = register.loc[i].to_dict()
    if rec["status"] != before:
        verb = "start" if after == "running" else "be closed"
        raise ValueError(f"pilot {pid} is {rec['status']}; only a {before} pilot can {verb}")
    rec.update(check(rec))
    rows = register.to_dict("records")
    rows[i] = rec
    write_register(ws, rows)
    _log(ws, pid, before, after, by, note, on)
    return rec


def start_pilot(
    ws: Workspace,
    pid: str,
    start_year: int,
    team: Sequence[tuple[str, str]],
    note: str = "",
    by: str | None = None,
    on: dt.date | None = None,
) -> dict[str, Any]:
    """A chosen pilot starts in ``start_year`` with ``team`` ([(person_id, role)], checked by the caller)."""
    year = _year(start_year, "start_year")

    def check(rec: dict[str, Any]) -> dict[str, Any]:
        orgs = load_organisations(ws.root)
        validate_entry(
            rec["org_code"], rec["indicator_code"], rec["partner_org_code"], year, orgs, catalogue_from_yaml()
        )
        if rec["round_year"] is not None and year < int(rec["round_year"]):
            raise ValueError(f"start_year {year} lies before the round {rec['round_year']} the pilot was chosen in")
        changed = {"status": "running", "start_year": year, "team": team_text(team)}
        if note:
            changed["note"] = _one_line(" ".join(x for x in (rec["note"], note) if x))
        return changed

    return _step(ws, pid, "chosen", "running", check, note or f"start {year}", by, on)


def close_pilot(
    ws: Workspace,
    pid: str,
    outcome: str,
    lessons: str = "",
    by: str | None = None,
    on: dt.date | None = None,
) -> dict[str, Any]:
    """A running pilot is evaluated: its outcome (required) and lessons are recorded."""

    def check(rec: dict[str, Any]) -> dict[str, Any]:
        if not _one_line(outcome):
            raise ValueError("the outcome is empty; say in a sentence what the pilot brought")
        return {"status": "evaluated", "outcome": _one_line(outcome), "lessons": _one_line(lessons)}

    return _step(ws, pid, "running", "evaluated", check, outcome, by, on)
