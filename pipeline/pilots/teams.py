"""Teams for the shortlisted pilots: a coach and one or two researchers from the pool, never from the pilot's own
organisation.

:func:`propose_teams` solves the round's assignment as one integer linear programme with HiGHS
(``scipy.optimize.milp``), so the teams are optimal for the stated objective, not the outcome of an order of
greedy choices. Every pool person *p*, pilot *s* and role *r* the person offers is a binary variable
``x[p,s,r]``; the person may not work for the pilot organisation.

Constraints (``team`` in ``metadata/pilots.yaml``, docs/pilots.md):

* per pilot exactly ``coaches`` coach places and ``researchers_min`` .. ``researchers_max`` researchers; a
  required place that cannot be filled is a slack variable with a large penalty, so an infeasible round is
  reported place by place (with why, and the nearest alternative) instead of thinned silently;
* a person has at most one place per pilot, at most ``max_pilots`` minus the running pilots they are already in,
  and at most their days per year minus the days already taken (``coach_days`` / ``researcher_days`` a place);
* no organisation fills more than ``max_org_share`` of the round's required places (at least one), and with
  ``one_per_organisation`` a team has at most one person per organisation.

Objective (maximised): per filled place ``fill`` plus ``theme`` when the person has expertise on the pilot's
theme, ``partner`` when they work for the pilot's learning partner, ``strong`` when their organisation is one of
the members demonstrably strong on the indicator (the partner options of the selection); minus the penalty per
unfilled required place. Ties are broken by a perturbation smaller than any difference of weights, by pilot rank
and ``person_id``, so the result is deterministic.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

ROLES = ("coach", "onderzoeker")
ROLE_EN = {"coach": "coach", "onderzoeker": "researcher"}

TEAM_COLUMNS = [
    "year",
    "rank",
    "pilot_org_code",
    "indicator_code",
    "role",
    "place",
    "person_id",
    "name",
    "person_org_code",
    "score",
    "reason",
    "reason_en",
]


@dataclass(frozen=True)
class TeamPilot:
    """A pilot that needs a team: who runs it, on what, with which learning partner and strong members."""

    rank: int
    org_code: str
    indicator_code: str
    theme: str
    partner_org_code: str | None = None
    strong_orgs: tuple[str, ...] = ()
    theme_label_nl: str = ""
    theme_label_en: str = ""


@dataclass(frozen=True)
class Candidate:
    """A pool person available for the round, with what they have left."""

    person_id: str
    name: str
    org_code: str
    roles: tuple[str, ...]
    themes: tuple[str, ...]
    pilots_left: int
    days_left: int
    max_pilots: int
    days_per_year: int


def default_team_config() -> dict[str, Any]:
    return {
        "coaches": 1,
        "researchers_min": 1,
        "researchers_max": 2,
        "coach_days": 8,
        "researcher_days": 12,
        "max_org_share": 0.25,
        "one_per_organisation": True,
        "weights": {"fill": 1.0, "theme": 4.0, "partner": 2.0, "strong": 1.0},
    }


def candidates_from_pool(
    people: pd.DataFrame, running: Sequence[Mapping[str, Any]] = (), cfg: Mapping[str, Any] | None = None
) -> list[Candidate]:
    """Pool people with what is left after the places they hold in running pilots.

    ``running`` holds one mapping per place in a running pilot: ``person_id`` and ``role``.
    """
    team = {**default_team_config(), **dict(cfg or {})}
    used_pilots: Counter = Counter()
    used_days: Counter = Counter()
    for place in running:
        pid = str(place["person_id"])
        used_pilots[pid] += 1
        used_days[pid] += int(team["coach_days"] if place["role"] == "coach" else team["researcher_days"])
    out = []
    for rec in people.sort_values("person_id", kind="mergesort").to_dict("records"):
        pid = str(rec["person_id"])
        out.append(
            Candidate(
                person_id=pid,
                name=str(rec["name"]),
                org_code=str(rec["org_code"]),
                roles=tuple(rec["roles"]),
                themes=tuple(rec["themes"]),
                pilots_left=max(0, int(rec["max_pilots"]) - used_pilots[pid]),
                days_left=max(0, int(rec["days_per_year"]) - used_days[pid]),
                max_pilots=int(rec["max_pilots"]),
                days_per_year=int(rec["days_per_year"]),
            )
        )
    return out


def _days(role: str, team: Mapping[str, Any]) -> int:
    return int(team["coach_days"] if role == "coach" else team["researcher_days"])


def place_value(person: Candidate, pilot: TeamPilot, team: Mapping[str, Any]) -> float:
    """The objective's value of ``person`` in a place of ``pilot`` (the same for both roles)."""
    w = team["weights"]
    value = float(w["fill"])
    if pilot.theme in person.themes:
        value += float(w["theme"])
    if pilot.partner_org_code and person.org_code == pilot.partner_org_code:
        value += float(w["partner"])
    elif person.org_code in pilot.strong_orgs:
        value += float(w["strong"])
    return value


def org_cap(n_pilots: int, team: Mapping[str, Any]) -> int:
    """The most places one organisation may fill in a round of ``n_pilots`` pilots."""
    required = n_pilots * (int(team["coaches"]) + int(team["researchers_min"]))
    return max(1, math.floor(float(team["max_org_share"]) * required))


def _eligible(person: Candidate, pilot: TeamPilot, role: str, team: Mapping[str, Any]) -> bool:
    return (
        role in person.roles
        and person.org_code != pilot.org_code
        and person.pilots_left >= 1
        and person.days_left >= _days(role, team)
    )


def solve(
    pilots: Sequence[TeamPilot], people: Sequence[Candidate], cfg: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The optimal assignment: ``places`` (filled, per pilot and role), ``unfilled`` (pilot index, role, count),
    ``objective`` (without the tie-break) and ``status``."""
    team = {**default_team_config(), **dict(cfg or {})}
    team["weights"] = {**default_team_config()["weights"], **dict(team.get("weights") or {})}
    variables = [
        (s, p, r)
        for s, pilot in enumerate(pilots)
        for p, person in enumerate(people)
        for r in ROLES
        if _eligible(person, pilot, r, team)
    ]
    n_x = len(variables)
    slack = [(s, r) for s in range(len(pilots)) for r in ROLES]
    n = n_x + len(slack)
    need = {"coach": int(team["coaches"]), "onderzoeker": int(team["researchers_min"])}
    most = {"coach": int(team["coaches"]), "onderzoeker": int(team["researchers_max"])}
    values = np.array([place_value(people[p], pilots[s], team) for s, p, r in variables], dtype=float)
    penalty = 1.0 + float(values.sum()) if n_x else 1.0
    # tie-break: earlier pilots and lower person ids first, far below any difference of the weights
    order = np.arange(n_x, 0, -1, dtype=float)
    tie = 1e-4 * order / (n_x * max(1, len(pilots) * sum(most.values()))) if n_x else order
    c = np.concatenate([-(values + tie), np.full(len(slack), penalty)])
    rows: list[tuple[dict[int, float], float, float]] = []
    by_slot: dict[tuple[int, str], list[int]] = {}
    for k, (s, _p, r) in enumerate(variables):
        by_slot.setdefault((s, r), []).append(k)
    for j, (s, r) in enumerate(slack):
        ks = by_slot.get((s, r), [])
        rows.append(({**{k: 1.0 for k in ks}, n_x + j: 1.0}, need[r], np.inf))  # filled + unfilled >= need
        rows.append(({k: 1.0 for k in ks}, 0.0, most[r]))
    by_person_pilot: dict[tuple[int, int], list[int]] = {}
    by_person: dict[int, list[int]] = {}
    by_org: dict[str, list[int]] = {}
    by_org_pilot: dict[tuple[str, int], list[int]] = {}
    for k, (s, p, _r) in enumerate(variables):
        by_person_pilot.setdefault((p, s), []).append(k)
        by_person.setdefault(p, []).append(k)
        by_org.setdefault(people[p].org_code, []).append(k)
        by_org_pilot.setdefault((people[p].org_code, s), []).append(k)
    for ks in by_person_pilot.values():
        if len(ks) > 1:
            rows.append(({k: 1.0 for k in ks}, 0.0, 1.0))
    for p, ks in by_person.items():
        rows.append(({k: 1.0 for k in ks}, 0.0, people[p].pilots_left))
        rows.append(({k: float(_days(variables[k][2], team)) for k in ks}, 0.0, people[p].days_left))
    cap = org_cap(len(pilots), team)
    for ks in by_org.values():
        rows.append(({k: 1.0 for k in ks}, 0.0, cap))
    if team["one_per_organisation"]:
        for ks in by_org_pilot.values():
            if len(ks) > 1:
                rows.append(({k: 1.0 for k in ks}, 0.0, 1.0))
    upper = np.concatenate([np.ones(n_x), [need[r] for _s, r in slack]])
    if not rows:
        return {"places": [], "unfilled": [], "objective": 0.0, "status": "optimal", "org_cap": cap}
    a = lil_matrix((len(rows), n))
    lo, hi = np.empty(len(rows)), np.empty(len(rows))
    for i, (coefs, low, high) in enumerate(rows):
        for k, v in coefs.items():
            a[i, k] = v
        lo[i], hi[i] = low, high
    res = milp(
        c,
        constraints=LinearConstraint(a.tocsr(), lo, hi),
        integrality=np.ones(n),
        bounds=Bounds(np.zeros(n), upper),
        options={"mip_rel_gap": 0.0, "presolve": True},
    )
    if res.x is None:  # cannot happen: the all-unfilled assignment is feasible
        raise RuntimeError(f"team assignment failed: {res.message}")
    x = np.round(res.x).astype(int)
    places = [
        {"pilot": s, "person": p, "role": r, "value": float(values[k])}
        for k, (s, p, r) in enumerate(variables)
        if x[k] == 1
    ]
    unfilled = [{"pilot": s, "role": r, "count": int(x[n_x + j])} for j, (s, r) in enumerate(slack) if x[n_x + j] > 0]
    objective = sum(pl["value"] for pl in places) - penalty * sum(u["count"] for u in unfilled)
    return {"places": places, "unfilled": unfilled, "objective": objective, "status": "optimal", "org_cap": cap}


def objective_of(
    assignment: Sequence[tuple[int, int, str]],
    pilots: Sequence[TeamPilot],
    people: Sequence[Candidate],
    cfg: Mapping[str, Any] | None = None,
) -> tuple[float, int] | None:
    """(value of the filled places, number of unfilled required places) of an assignment, or None when it
    breaks a constraint. Independent of :func:`solve`: used to check it by brute force."""
    team = {**default_team_config(), **dict(cfg or {})}
    team["weights"] = {**default_team_config()["weights"], **dict(team.get("weights") or {})}
    seen = set()
    per_slot: Counter = Counter()
    per_person: Counter = Counter()
    days: Counter = Counter()
    per_org: Counter = Counter()
    per_org_pilot: Counter = Counter()
    value = 0.0
    for s, p, r in assignment:
        person, pilot = people[p], pilots[s]
        if (s, p) in seen or r not in person.roles or person.org_code == pilot.org_code:
            return None
        seen.add((s, p))
        per_slot[(s, r)] += 1
        per_person[p] += 1
        days[p] += _days(r, team)
        per_org[person.org_code] += 1
        per_org_pilot[(person.org_code, s)] += 1
        value += place_value(person, pilot, team)
    most = {"coach": int(team["coaches"]), "onderzoeker": int(team["researchers_max"])}
    need = {"coach": int(team["coaches"]), "onderzoeker": int(team["researchers_min"])}
    if any(n > most[r] for (_s, r), n in per_slot.items()):
        return None
    if any(n > people[p].pilots_left or days[p] > people[p].days_left for p, n in per_person.items()):
        return None
    if any(n > org_cap(len(pilots), team) for n in per_org.values()):
        return None
    if team["one_per_organisation"] and any(n > 1 for n in per_org_pilot.values()):
        return None
    unfilled = sum(max(0, need[r] - per_slot[(s, r)]) for s in range(len(pilots)) for r in ROLES)
    return value, unfilled


# ----------------------------------------------------------------------------------------- explanation


def _reason(person: Candidate, pilot: TeamPilot, lang: str) -> str:
    nl = lang != "en"
    why = []
    theme = (pilot.theme_label_nl if nl else pilot.theme_label_en) or pilot.theme
    theme = theme[:1].lower() + theme[1:]
    if pilot.theme in person.themes:
        why.append(f"de expertise op het thema {theme}" if nl else f"the expertise on the theme {theme}")
    if pilot.partner_org_code and person.org_code == pilot.partner_org_code:
        why.append(
            f"de band met leerpartner {person.org_code}" if nl else f"the link with learning partner {person.org_code}"
        )
    elif person.org_code in pilot.strong_orgs:
        why.append(
            f"de ervaring van {person.org_code}, dat aantoonbaar sterk is op deze indicator"
            if nl
            else f"the experience of {person.org_code}, which is demonstrably strong on this indicator"
        )
    if not why:
        why.append(
            "de beschikbaarheid: niemand met een sterkere match had nog ruimte"
            if nl
            else "availability: nobody with a stronger match had room left"
        )
    joined = why[0] if len(why) == 1 else f"{', '.join(why[:-1])} {'en' if nl else 'and'} {why[-1]}"
    return ("gekozen om " if nl else "chosen for ") + joined


#: why people could not take a place, as (nl one, nl several, en one, en several)
CATEGORIES = {
    "own": (
        "werkt bij de pilotorganisatie zelf",
        "werken bij de pilotorganisatie zelf",
        "works for the pilot organisation itself",
        "work for the pilot organisation itself",
    ),
    "member": ("zit al in dit team", "zitten al in dit team", "is already in this team", "are already in this team"),
    "pilots": (
        "zit al aan het maximum aantal pilots tegelijk",
        "zitten al aan hun maximum aantal pilots tegelijk",
        "is at the maximum number of pilots at once",
        "are at their maximum number of pilots at once",
    ),
    "days": (
        "heeft niet genoeg dagen meer",
        "hebben niet genoeg dagen meer",
        "has too few days left",
        "have too few days left",
    ),
    "org": (
        "werkt bij een organisatie die al het maximum aantal plaatsen vult",
        "werken bij een organisatie die al het maximum aantal plaatsen vult",
        "works for an organisation that already fills the most places allowed",
        "work for an organisation that already fills the most places allowed",
    ),
    "team_org": (
        "werkt bij een organisatie die al in dit team zit",
        "werken bij een organisatie die al in dit team zit",
        "works for an organisation already in this team",
        "work for an organisation already in this team",
    ),
}


def _blockers(
    person: Candidate,
    pilot: TeamPilot,
    role: str,
    team: Mapping[str, Any],
    load: Counter,
    days: Counter,
    org_load: Counter,
    team_orgs: set[str],
    members: set[str],
    cap: int,
) -> list[tuple[str, str, str]]:
    """Why ``person`` is not in this place: (category, nl, en), empty when nothing stands in the way."""
    if person.org_code == pilot.org_code:
        return [("own", "werkt bij de pilotorganisatie zelf", "works for the pilot organisation itself")]
    if person.person_id in members:
        return [("member", "zit al in dit team", "is already in this team")]
    out = []
    if person.pilots_left - load[person.person_id] < 1:
        out.append(
            (
                "pilots",
                f"zit al aan het maximum van {person.max_pilots} {'pilot' if person.max_pilots == 1 else 'pilots'} "
                "tegelijk",
                f"already at the maximum of {person.max_pilots} {'pilot' if person.max_pilots == 1 else 'pilots'} "
                "at once",
            )
        )
    left, need = person.days_left - days[person.person_id], _days(role, team)
    if left < need:
        out.append(
            (
                "days",
                f"heeft nog {left} van {person.days_per_year} dagen, een plaats vraagt er {need}",
                f"has {left} of {person.days_per_year} days left, a place takes {need}",
            )
        )
    if org_load[person.org_code] >= cap:
        out.append(
            (
                "org",
                f"{person.org_code} vult al {cap} plaatsen, het maximum per organisatie",
                f"{person.org_code} already fills {cap} places, the maximum per organisation",
            )
        )
    if team["one_per_organisation"] and person.org_code in team_orgs:
        out.append(
            (
                "team_org",
                f"het team heeft al iemand van {person.org_code}",
                f"the team already has someone from {person.org_code}",
            )
        )
    return out


def propose_teams(
    pilots: Sequence[TeamPilot], people: Sequence[Candidate], cfg: Mapping[str, Any] | None = None, year: int = 0
) -> pd.DataFrame:
    """One row per team place (``TEAM_COLUMNS``) of every pilot, filled or not, each with its reason in Dutch
    and English. An unfilled place has no ``person_id`` and says why, with the nearest alternative."""
    team = {**default_team_config(), **dict(cfg or {})}
    team["weights"] = {**default_team_config()["weights"], **dict(team.get("weights") or {})}
    result = solve(pilots, people, team)
    cap = result["org_cap"]
    load: Counter = Counter()
    days: Counter = Counter()
    org_load: Counter = Counter()
    for pl in result["places"]:
        person = people[pl["person"]]
        load[person.person_id] += 1
        days[person.person_id] += _days(pl["role"], team)
        org_load[person.org_code] += 1
    rows = []
    for s, pilot in enumerate(pilots):
        mine = [pl for pl in result["places"] if pl["pilot"] == s]
        team_orgs = {people[pl["person"]].org_code for pl in mine}
        members = {people[pl["person"]].person_id for pl in mine}
        base = {
            "year": year,
            "rank": pilot.rank,
            "pilot_org_code": pilot.org_code,
            "indicator_code": pilot.indicator_code,
        }
        for role in ROLES:
            chosen = sorted(
                (pl for pl in mine if pl["role"] == role), key=lambda pl: (-pl["value"], people[pl["person"]].person_id)
            )
            for i, pl in enumerate(chosen, start=1):
                person = people[pl["person"]]
                rows.append(
                    {
                        **base,
                        "role": role,
                        "place": i,
                        "person_id": person.person_id,
                        "name": person.name,
                        "person_org_code": person.org_code,
                        "score": pl["value"],
                        "reason": _reason(person, pilot, "nl"),
                        "reason_en": _reason(person, pilot, "en"),
                    }
                )
            missing = next((u["count"] for u in result["unfilled"] if u["pilot"] == s and u["role"] == role), 0)
            for i in range(missing):
                nl, en = _unfilled_reason(pilot, role, people, team, (load, days, org_load, team_orgs, members, cap))
                rows.append(
                    {
                        **base,
                        "role": role,
                        "place": len(chosen) + i + 1,
                        "person_id": None,
                        "name": None,
                        "person_org_code": None,
                        "score": math.nan,
                        "reason": nl,
                        "reason_en": en,
                    }
                )
    return pd.DataFrame(rows, columns=TEAM_COLUMNS)


def _unfilled_reason(
    pilot: TeamPilot,
    role: str,
    people: Sequence[Candidate],
    team: Mapping[str, Any],
    state: tuple[Counter, Counter, Counter, set[str], set[str], int],
) -> tuple[str, str]:
    role_nl, role_en = role, ROLE_EN[role]
    offering = [p for p in people if role in p.roles]
    if not offering:
        return (
            f"Geen {role_nl} gevonden: niemand in de pool biedt zich als {role_nl} aan.",
            f"No {role_en} found: nobody in the pool offers to be a {role_en}.",
        )
    counts: Counter = Counter()
    blocked = []
    for person in offering:
        reasons = _blockers(person, pilot, role, team, *state)
        counts[reasons[0][0] if reasons else "member"] += 1
        if reasons and reasons[0][0] not in ("own", "member"):
            blocked.append((person, reasons[0]))
    total = len(offering)
    head_nl = (
        f"Geen {role_nl} gevonden: {total} {'persoon biedt' if total == 1 else 'personen bieden'} zich als "
        f"{role_nl} aan, maar niemand past"
    )
    head_en = f"No {role_en} found: {total} {'person offers' if total == 1 else 'people offer'} to be a {role_en}, but nobody fits"
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    detail_nl = "; ".join(f"{n} {CATEGORIES[c][0 if n == 1 else 1]}" for c, n in ordered)
    detail_en = "; ".join(f"{n} {CATEGORIES[c][2 if n == 1 else 3]}" for c, n in ordered)
    text_nl, text_en = f"{head_nl} ({detail_nl}).", f"{head_en} ({detail_en})."
    if blocked:
        person, (_cat, why_nl, why_en) = min(
            blocked, key=lambda pr: (-place_value(pr[0], pilot, team), pr[0].person_id)
        )
        text_nl += f" Dichtstbijzijnde alternatief: {person.person_id} ({person.org_code}), {why_nl}."
        text_en += f" Nearest alternative: {person.person_id} ({person.org_code}), {why_en}."
    return text_nl, text_en


def teams_summary(teams: pd.DataFrame) -> dict[str, int]:
    """Counts for the summary line: pilots, filled places, unfilled places, pilots with an incomplete team."""
    if teams.empty:
        return {"pilots": 0, "filled": 0, "unfilled": 0, "incomplete": 0}
    unfilled = teams["person_id"].isna()
    keys = teams[["pilot_org_code", "indicator_code"]].drop_duplicates()
    incomplete = teams[unfilled][["pilot_org_code", "indicator_code"]].drop_duplicates()
    return {
        "pilots": len(keys),
        "filled": int((~unfilled).sum()),
        "unfilled": int(unfilled.sum()),
        "incomplete": len(incomplete),
    }
