"""The pilots register ``data/pilots_register.csv``: which pilots were started, with whom and when.

The register is edited by analysts (``rbb pilots add`` or by hand). :func:`read_register` reads it as written
(',' or ';' as separator), :func:`validate_entry` checks one entry against the organisation register and the
indicator catalogue, :func:`load_register` returns the valid entries and the problems found, and
:func:`add_pilot` appends a validated entry.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.workspace import Workspace, atomic_write_text
from pipeline.metadata.registry import load_organisations, register_year
from pipeline.pilots.selection import RANKED, catalogue_from_yaml, catalogue_map
from pipeline.pilots.values import as_text, escape_cell

REGISTER_COLUMNS = ("org_code", "indicator_code", "partner_org_code", "start_year", "note")


def register_path(ws: Workspace) -> Path:
    return ws.root / "data" / "pilots_register.csv"


def read_register(ws: Workspace) -> pd.DataFrame:
    """The register as written (strings; no validation). Accepts ',' or ';' as separator."""
    path = register_path(ws)
    if not path.exists():
        return pd.DataFrame(columns=list(REGISTER_COLUMNS) + ["line"])
    text = path.read_text("utf-8-sig")
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = []
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    missing = [c for c in REGISTER_COLUMNS[:4] if c not in (reader.fieldnames or [])]
    if missing and text.strip():
        raise ValueError(
            f"{path}: missing column(s) {', '.join(missing)}; the header must be {','.join(REGISTER_COLUMNS)}"
        )
    for i, row in enumerate(reader, start=2):
        if not any(as_text(v) for v in row.values()):
            continue
        rows.append({**{c: as_text(row.get(c)) for c in REGISTER_COLUMNS}, "line": i})
    return pd.DataFrame(rows, columns=list(REGISTER_COLUMNS) + ["line"])


def validate_entry(
    org: Any, indicator: Any, partner: Any, start_year: Any, organisations: Sequence[Any], catalogue: pd.DataFrame
) -> dict[str, Any]:
    """One register entry, normalised; ValueError with a message an analyst can act on."""
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
    try:
        year = register_year(str(start_year))  # four ASCII digits: '2.025', '２０２５' or '2_025' is no year
    except (TypeError, ValueError):
        raise ValueError(f"start_year must be a year such as 2026, not {start_year!r}") from None
    if not 2002 <= year <= 2100:
        raise ValueError(f"start_year {year} is outside 2002-2100")
    if not by_code[org_code].is_member(year):
        raise ValueError(f"{org_code} is not a member in {year}")
    partner_code = as_text(partner).upper()
    if partner_code:
        if partner_code not in by_code:
            raise ValueError(f"unknown partner organisation code {partner_code!r}")
        if partner_code == org_code:
            raise ValueError("the partner must be another organisation than the pilot organisation")
        if not by_code[partner_code].is_member(year):
            raise ValueError(f"partner {partner_code} is not a member in {year}")
    return {"org_code": org_code, "indicator_code": ind, "partner_org_code": partner_code or None, "start_year": year}


def load_register(
    ws: Workspace, strict: bool = True, catalogue: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Validated register entries and the problems found; with ``strict`` any problem raises ValueError."""
    raw = read_register(ws)
    orgs = load_organisations(ws.root)
    cat = catalogue if catalogue is not None else catalogue_from_yaml()
    rows, problems, seen = [], [], set()
    for rec in raw.to_dict("records"):
        try:
            entry = validate_entry(
                rec["org_code"], rec["indicator_code"], rec["partner_org_code"], rec["start_year"], orgs, cat
            )
            key = (entry["org_code"], entry["indicator_code"], entry["start_year"])
            if key in seen:
                raise ValueError(
                    f"duplicate pilot {entry['org_code']} / {entry['indicator_code']} / {entry['start_year']}"
                )
            seen.add(key)
            rows.append({**entry, "note": rec["note"]})
        except ValueError as exc:
            problems.append(f"{register_path(ws).name}, line {rec['line']}: {exc}")
    if strict and problems:
        raise ValueError("; ".join(problems))
    return pd.DataFrame(rows, columns=list(REGISTER_COLUMNS)), problems


def add_pilot(
    ws: Workspace, org: str, indicator: str, partner: str | None, start_year: int, note: str = ""
) -> dict[str, Any]:
    """Append a pilot to ``data/pilots_register.csv`` after validating it; returns the entry.

    Raises ValueError for an unknown organisation, partner or indicator, a context indicator, a
    bad start year, a partner equal to the organisation, a duplicate, or an invalid register.
    """
    register, _ = load_register(ws, strict=True)
    entry = validate_entry(org, indicator, partner, start_year, load_organisations(ws.root), catalogue_from_yaml())
    dup = register[
        (register["org_code"] == entry["org_code"])
        & (register["indicator_code"] == entry["indicator_code"])
        & (register["start_year"] == entry["start_year"])
    ]
    if not dup.empty:
        raise ValueError(
            f"pilot {entry['org_code']} / {entry['indicator_code']} starting {entry['start_year']} "
            "is already registered"
        )
    entry["note"] = " ".join(str(note or "").split())
    rows = register.to_dict("records") + [entry]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(REGISTER_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r["org_code"],
                r["indicator_code"],
                r["partner_org_code"] or "",
                int(r["start_year"]),
                escape_cell(as_text(r["note"])),
            ]
        )
    atomic_write_text(register_path(ws), buf.getvalue())
    return entry
