"""Pilots stage: which member could learn what from whom, and what came of the pilots run so far.

Entry point :func:`run` (``rbb pilots``): reads the warehouse, selects candidate pilots with partners, follows up
registered pilots and writes ``reports/<year>/pilots.html``. :func:`add_pilot` records a chosen pilot.

The work is split by responsibility: :mod:`~pipeline.pilots.selection` (warehouse data, candidates, partners,
shortlist), :mod:`~pipeline.pilots.register` (the pilots register CSV), :mod:`~pipeline.pilots.followup`
(difference in differences and verdicts for registered pilots), :mod:`~pipeline.pilots.page` (HTML and CSV
output), with :mod:`~pipeline.pilots.config` (``metadata/pilots.yaml``) and :mod:`~pipeline.pilots.values`
(reading, formatting and escaping single values) shared by them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import pandas as pd

from pipeline.core.workspace import Workspace, atomic_write_text
from pipeline.pilots.config import default_config, load_config
from pipeline.pilots.followup import follow_up
from pipeline.pilots.page import (
    follow_up_csv,
    render_pilot_page,
    render_report,
    shortlist_csv,
    teams_csv,
    write_page,
)
from pipeline.pilots.pool import Pool, load_pool, pool_path
from pipeline.pilots.questions import development_questions
from pipeline.pilots.register import (
    add_pilot,
    choose_pilot,
    close_pilot,
    find_pilot,
    load_register,
    parse_team,
    read_history,
    start_pilot,
    started,
)
from pipeline.pilots.selection import (
    PilotData,
    PilotError,
    build_shortlist,
    example_pair,
    find_candidates,
    find_partners,
    read_pilot_data,
)
from pipeline.pilots.teams import TeamPilot, candidates_from_pool, propose_teams, teams_summary
from pipeline.report.pages import ensure_plotly_asset

__all__ = [
    "PilotError",
    "add_pilot",
    "choose",
    "close",
    "example_pair",
    "load_register",
    "pool_path",
    "read_pilot_data",
    "run",
    "start",
]


def select_pilots(
    data: PilotData, year: int, register: pd.DataFrame | None = None, config: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Candidates, partners, shortlist and follow-ups in one go (no I/O)."""
    cfg = dict(config or default_config())
    candidates = find_candidates(data, year, cfg, register)
    partners = find_partners(
        data, candidates[~candidates["excluded"].astype(bool)] if not candidates.empty else candidates, year, cfg
    )
    shortlist = build_shortlist(candidates, partners, cfg)
    follow = follow_up(data, started(register) if register is not None else pd.DataFrame(), year, cfg)
    return {
        "year": year,
        "config": cfg,
        "candidates": candidates,
        "partners": partners,
        "shortlist": shortlist,
        "follow_up": follow,
    }


#: the follow-up's verdicts and the register's stages in words, for the summary line
VERDICT_WORDS = {
    "improved": "improved",
    "worsened": "worsened",
    "no_clear_effect": "no clear effect",
    "cannot_tell": "cannot tell yet",
    "too_little_data": "too little data",
}
STAGE_WORDS = {"chosen": "chosen", "running": "running", "evaluated": "evaluated"}


def _n(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def running_places(register: pd.DataFrame) -> list[dict[str, str]]:
    """The team places people hold in running pilots (they count against their capacity)."""
    out = []
    if register is None or register.empty:
        return out
    for rec in register[register["status"] == "running"].to_dict("records"):
        out.extend(
            {"person_id": pid, "role": role, "pilot_id": rec["pilot_id"]} for pid, role in parse_team(rec["team"])
        )
    return out


def team_pilots(shortlist: pd.DataFrame, partners: pd.DataFrame) -> list[TeamPilot]:
    """The shortlisted pilots as the team assignment sees them: theme, learning partner, strong members."""
    out = []
    for s in shortlist.to_dict("records"):
        strong = ()
        if not partners.empty:
            opts = partners[
                (partners["org_code"] == s["org_code"]) & (partners["indicator_code"] == s["indicator_code"])
            ]
            strong = tuple(sorted(str(o) for o in opts["partner_org_code"]))
        partner = s.get("partner_org_code")
        out.append(
            TeamPilot(
                rank=int(s["rank"]),
                org_code=str(s["org_code"]),
                indicator_code=str(s["indicator_code"]),
                theme=str(s["theme"]),
                partner_org_code=None if partner is None or pd.isna(partner) else str(partner),
                strong_orgs=strong,
                theme_label_nl=str(s.get("theme_nl") or s["theme"]),
                theme_label_en=str(s.get("theme_en") or s["theme"]),
            )
        )
    return out


def _proposed_team(ws: Workspace, rec: dict[str, Any]) -> pd.DataFrame:
    """The team proposed for a registered pilot in its round (``reports/<round>/pilot_teams.csv``)."""
    round_year = rec.get("round_year")
    if round_year is None:
        return pd.DataFrame()
    path = ws.reports / str(int(round_year)) / "pilot_teams.csv"
    if not path.exists():
        return pd.DataFrame()
    teams = pd.read_csv(path, dtype=str, keep_default_na=False)
    return teams[(teams["pilot_org_code"] == rec["org_code"]) & (teams["indicator_code"] == rec["indicator_code"])]


def _round_question(data: PilotData, round_year: int, org_code: str) -> dict[str, Any] | None:
    """The member's development question of the round a pilot was chosen in."""
    empty = pd.DataFrame(columns=["org_code", "indicator_code"])
    return next((q for q in development_questions(data, round_year, empty, empty) if q["org_code"] == org_code), None)


def _round_rationale(ws: Workspace, rec: dict[str, Any]) -> dict[str, str] | None:
    """The shortlist's reasons for a pilot in the round it was chosen in (``reports/<round>/pilots.csv``)."""
    round_year = rec.get("round_year")
    path = ws.reports / str(round_year) / "pilots.csv" if round_year else None
    if path is None or not path.exists():
        return None
    short = pd.read_csv(path, dtype=str, keep_default_na=False)
    hit = short[(short["org_code"] == rec["org_code"]) & (short["indicator_code"] == rec["indicator_code"])]
    if hit.empty:
        return None
    row = hit.iloc[0]
    return {"nl": row["rationale"].lstrip("'"), "en": row["rationale_en"].lstrip("'"), "rank": row["rank"]}


def run(ws: Workspace, year: int | None = None) -> dict[str, Any]:
    """Select pilots, propose their teams and follow up started ones for ``year`` (default: the latest).

    Reads the warehouse, the register and the pool, then writes ``reports/<year>/pilots.html`` (+
    ``pilots.en.html``, ``pilots.csv``, ``pilots_follow_up.csv``, ``pilot_teams.csv``) and a page per registered
    pilot in ``reports/<year>/pilots/``. These pages name people: they are for the board and the coordinators.

    Returns the year, the shortlist, candidates, partners, teams, development questions and follow-up results,
    register and pool problems (invalid rows are skipped, not fatal) and the paths written.
    """
    data, year = read_pilot_data(ws, year)
    cfg = load_config(ws.root)
    register, problems = load_register(ws, strict=False, catalogue=data.catalogue)
    result = select_pilots(data, year, register, cfg)
    result["register"] = register
    result["register_problems"] = problems
    pool = load_pool(ws)
    result["pool"] = pool
    # the pilots of round ``year`` run from the next year: the people must be active then
    people = candidates_from_pool(pool.active(year + 1), running_places(register), cfg["team"])
    result["teams"] = propose_teams(team_pilots(result["shortlist"], result["partners"]), people, cfg["team"], year)
    result["questions"] = development_questions(data, year, result["shortlist"], result["candidates"])
    result["history"] = read_history(ws)
    result["team_summary"] = teams_summary(result["teams"])
    names = {r["person_id"]: (r["name"], r["org_code"]) for r in pool.people.to_dict("records")}
    result["people"] = names
    out_dir = ws.reports / str(year)
    paths = {
        "csv": out_dir / "pilots.csv",
        "html": out_dir / "pilots.html",
        "html_en": out_dir / "pilots.en.html",
        "follow_up_csv": out_dir / "pilots_follow_up.csv",
        "teams_csv": out_dir / "pilot_teams.csv",
    }
    ensure_plotly_asset(out_dir)
    atomic_write_text(paths["csv"], shortlist_csv(result["shortlist"]))
    atomic_write_text(paths["follow_up_csv"], follow_up_csv(result["follow_up"]))
    atomic_write_text(paths["teams_csv"], teams_csv(result["teams"]))
    follow_by_id = {f["pilot_id"]: f for f in result["follow_up"]}
    pages = []
    for rec in register.to_dict("records"):
        round_year = rec.get("round_year") or rec.get("start_year")
        rec = {
            **rec,
            "question": _round_question(data, int(round_year), rec["org_code"]) if round_year else None,
            "round_rationale": _round_rationale(ws, rec),
        }
        team = result["teams"]
        proposed = (
            team[(team["pilot_org_code"] == rec["org_code"]) & (team["indicator_code"] == rec["indicator_code"])]
            if rec.get("round_year") == year
            else _proposed_team(ws, rec)
        )
        for lang in ("nl", "en"):
            path = out_dir / "pilots" / f"{rec['pilot_id']}{'' if lang == 'nl' else '.en'}.html"
            write_page(path, render_pilot_page(result, rec, follow_by_id.get(rec["pilot_id"]), proposed, lang))
            pages.append(path)
    write_page(paths["html"], render_report(result, "nl"))
    write_page(paths["html_en"], render_report(result, "en"))
    result["pilot_pages"] = pages
    result["paths"] = paths
    result.update(paths)
    candidates = result["candidates"]
    n_excluded = int(candidates["excluded"].sum()) if not candidates.empty else 0
    result["n_candidates"] = len(candidates) - n_excluded
    result["n_excluded"] = n_excluded
    result["n_shortlisted"] = len(result["shortlist"])
    result["n_registered"] = len(register)
    verdicts = Counter(f["verdict"] for f in result["follow_up"])
    follow = ", ".join(f"{n} {VERDICT_WORDS.get(v, v)}" for v, n in sorted(verdicts.items())) or "none"
    ts = result["team_summary"]
    stages = Counter(register["status"]) if not register.empty else Counter()
    started_n = len(result["follow_up"])
    result["summary"] = (
        f"Pilot selection {year}: {result['n_shortlisted']} shortlisted of {result['n_candidates']} "
        f"candidates, {n_excluded} excluded; teams from a pool of {len(pool.people)}: {ts['filled']} places filled, "
        f"{ts['unfilled']} open in {_n(ts['incomplete'], 'pilot', 'pilots')}; register: "
        + (
            ", ".join(f"{stages[s]} {STAGE_WORDS[s]}" for s in ("chosen", "running", "evaluated") if stages[s])
            or "empty"
        )
        + f"; follow-up of {_n(started_n, 'started pilot', 'started pilots')}: {follow}"
    )
    return result


def choose(
    ws: Workspace,
    year: int,
    org: str,
    indicator: str,
    partner: str | None = None,
    note: str = "",
    by: str | None = None,
    on=None,
) -> dict[str, Any]:
    """The board chooses a pilot of round ``year``; without ``partner`` the shortlist's partner is taken."""
    if partner is None:
        path = ws.reports / str(int(year)) / "pilots.csv"
        if path.exists():
            short = pd.read_csv(path, dtype=str, keep_default_na=False)
            hit = short[(short["org_code"] == str(org).upper()) & (short["indicator_code"] == str(indicator).lower())]
            if not hit.empty:
                partner = hit.iloc[0]["partner_org_code"] or None
    return choose_pilot(ws, year, org, indicator, partner, note=note, by=by, on=on)


def start(
    ws: Workspace, pilot: str, start_year: int, team: str | None = None, note: str = "", by: str | None = None, on=None
) -> dict[str, Any]:
    """A chosen pilot starts with ``team`` (``P001:coach;P014:onderzoeker``), by default the team proposed in its
    round. Every member must be in the pool, active in ``start_year``, offer the role and not work for the pilot
    organisation."""
    register, _ = load_register(ws, strict=True)
    rec = register.loc[find_pilot(register, pilot)].to_dict()
    if team:
        members = parse_team(team)
    else:
        proposed = _proposed_team(ws, rec)
        members = [(r["person_id"], r["role"]) for r in proposed.to_dict("records") if r["person_id"]]
        if not members:
            raise ValueError(
                f"no team proposed for {pilot} (run 'rbb pilots --year {rec.get('round_year') or start_year}' or give "
                "--team P001:coach;P014:onderzoeker)"
            )
    check_team(load_pool(ws), rec, members, int(start_year))
    return start_pilot(ws, pilot, start_year, members, note=note, by=by, on=on)


def check_team(pool: Pool, rec: dict[str, Any], members: list[tuple[str, str]], year: int) -> None:
    """ValueError naming the member when a team member cannot take the place."""
    people = {r["person_id"]: r for r in pool.people.to_dict("records")}
    active = set(pool.active(year)["person_id"]) if not pool.people.empty else set()
    seen = set()
    for pid, role in members:
        if pid in seen:
            raise ValueError(f"{pid} appears twice in the team")
        seen.add(pid)
        person = people.get(pid)
        if person is None:
            raise ValueError(f"{pid} is not in the pool (data/pool.xlsx)")
        if pid not in active:
            raise ValueError(f"{pid} is not active in the pool in {year}")
        if role not in person["roles"]:
            raise ValueError(f"{pid} does not offer to be {'a researcher' if role == 'onderzoeker' else 'a coach'}")
        if person["org_code"] == rec["org_code"]:
            raise ValueError(f"{pid} works for {rec['org_code']}, the pilot organisation itself")


def close(ws: Workspace, pilot: str, outcome: str, lessons: str = "", by: str | None = None, on=None) -> dict[str, Any]:
    """A running pilot is evaluated with its outcome and lessons."""
    return close_pilot(ws, pilot, outcome, lessons, by=by, on=on)
