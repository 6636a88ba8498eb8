"""Team assignment: constraints, optimality against brute force, infeasible rounds, determinism."""

from __future__ import annotations

import itertools
import random

import pandas as pd
import pytest

from pipeline.pilots.teams import (
    ROLES,
    Candidate,
    TeamPilot,
    candidates_from_pool,
    default_team_config,
    objective_of,
    org_cap,
    propose_teams,
    solve,
)

THEMES = ("tijdigheid", "kosten", "digitaal")
ORGS = ("AAA", "BBB", "CCC", "DDD", "EEE")


def person(pid, org, roles=("coach", "onderzoeker"), themes=("tijdigheid",), pilots=2, days=40):
    return Candidate(pid, f"Naam {pid}", org, tuple(roles), tuple(themes), pilots, days, pilots, days)


def random_case(seed: int, n_people: int = 5, n_pilots: int = 2):
    rnd = random.Random(seed)
    people = []
    for i in range(n_people):
        roles = rnd.choice([("coach",), ("onderzoeker",), ("coach", "onderzoeker")])
        themes = tuple(sorted(rnd.sample(THEMES, rnd.randint(1, 2))))
        cap = rnd.randint(1, 2)
        days = rnd.choice([8, 12, 20, 30])
        people.append(Candidate(f"P{i:02d}", f"N{i}", rnd.choice(ORGS[:4]), roles, themes, cap, days, cap, days))
    pilots = []
    for s in range(n_pilots):
        org = rnd.choice(ORGS)
        partner = rnd.choice([o for o in ORGS if o != org])
        strong = tuple(sorted(rnd.sample([o for o in ORGS if o != org], 2)))
        pilots.append(TeamPilot(s + 1, org, f"ind{s}", rnd.choice(THEMES), partner, strong))
    return pilots, people


def brute_force(pilots, people, cfg):
    """The best (fewest unfilled required places, then highest value) over every assignment."""
    slots = [(s, p, r) for s in range(len(pilots)) for p in range(len(people)) for r in ROLES]
    best = None
    # each (pilot, person) pair: nothing, coach or researcher
    pairs = [(s, p) for s in range(len(pilots)) for p in range(len(people))]
    for choice in itertools.product((None, *ROLES), repeat=len(pairs)):
        assignment = [(s, p, r) for (s, p), r in zip(pairs, choice) if r is not None]
        score = objective_of(assignment, pilots, people, cfg)
        if score is None:
            continue
        key = (-score[1], round(score[0], 9))
        if best is None or key > best:
            best = key
    assert slots
    return best


@pytest.mark.parametrize("seed", range(12))
def test_assignment_is_optimal_against_brute_force(seed):
    pilots, people = random_case(seed)
    cfg = {**default_team_config(), "max_org_share": 0.5}
    result = solve(pilots, people, cfg)
    got = [(pl["pilot"], pl["person"], pl["role"]) for pl in result["places"]]
    score = objective_of(got, pilots, people, cfg)
    assert score is not None, "the solver's assignment breaks a constraint"
    unfilled = sum(u["count"] for u in result["unfilled"])
    assert score[1] == unfilled
    assert (-score[1], round(score[0], 9)) == brute_force(pilots, people, cfg)


def test_nobody_from_the_pilots_own_organisation_and_limits_hold():
    rnd = random.Random(7)
    people = [
        person(
            f"P{i:03d}",
            ORGS[i % 5],
            rnd.choice([("coach",), ("onderzoeker",), ("coach", "onderzoeker")]),
            tuple(rnd.sample(THEMES, 1)),
            pilots=rnd.randint(1, 2),
            days=rnd.choice([10, 20, 30]),
        )
        for i in range(30)
    ]
    pilots = [TeamPilot(s + 1, ORGS[s % 5], f"ind{s}", THEMES[s % 3], ORGS[(s + 1) % 5]) for s in range(8)]
    cfg = default_team_config()
    teams = propose_teams(pilots, people, cfg, year=2025)
    filled = teams.dropna(subset=["person_id"])
    assert (filled["person_org_code"] != filled["pilot_org_code"]).all()
    by_id = {p.person_id: p for p in people}
    for pid, rows in filled.groupby("person_id"):
        p = by_id[pid]
        assert len(rows) <= p.max_pilots
        days = sum(cfg["coach_days"] if r == "coach" else cfg["researcher_days"] for r in rows["role"])
        assert days <= p.days_per_year
        assert set(rows["role"]) <= set(p.roles)
    cap = org_cap(len(pilots), cfg)
    assert filled["person_org_code"].value_counts().max() <= cap
    per_team = filled.groupby(["pilot_org_code", "indicator_code", "person_org_code"]).size()
    assert per_team.max() == 1
    for _key, rows in filled.groupby(["pilot_org_code", "indicator_code"]):
        assert (rows["role"] == "coach").sum() <= 1 and 1 <= (rows["role"] == "onderzoeker").sum() <= 2
    assert filled["reason"].str.startswith("gekozen om ").all()
    assert filled["reason_en"].str.startswith("chosen for ").all()


def test_infeasible_round_is_reported_place_by_place():
    # two pilots of AAA, one coach from elsewhere with room for one pilot: one coach place stays open and says why
    people = [
        person("P001", "BBB", ("coach",), pilots=1),
        person("P002", "CCC", ("onderzoeker",)),
        person("P003", "AAA", ("coach",)),  # from the pilots' own organisation
    ]
    pilots = [TeamPilot(1, "AAA", "ind1", "tijdigheid", "BBB"), TeamPilot(2, "AAA", "ind2", "kosten", "BBB")]
    cfg = {**default_team_config(), "max_org_share": 1.0}
    teams = propose_teams(pilots, people, cfg, year=2025)
    assert len(teams) == 4  # every place is a row, filled or not
    open_places = teams[teams["person_id"].isna()]
    assert len(open_places) == 1
    gap = open_places.iloc[0]
    assert gap["role"] == "coach" and gap["indicator_code"] == "ind2"  # the higher-ranked pilot is served first
    assert gap["reason"] == (
        "Geen coach gevonden: 2 personen bieden zich als coach aan, maar niemand past (1 werkt bij de "
        "pilotorganisatie zelf; 1 zit al aan het maximum aantal pilots tegelijk). Dichtstbijzijnde alternatief: "
        "P001 (BBB), zit al aan het maximum van 1 pilot tegelijk."
    )
    assert gap["reason_en"].startswith("No coach found: 2 people offer to be a coach, but nobody fits")
    # both researchers places are filled by the one researcher
    assert teams[teams["role"] == "onderzoeker"]["person_id"].tolist() == ["P002", "P002"]


def test_round_with_nobody_offering_a_role():
    people = [person("P001", "BBB", ("onderzoeker",))]
    teams = propose_teams([TeamPilot(1, "AAA", "ind1", "tijdigheid")], people, default_team_config())
    coach = teams[teams["role"] == "coach"].iloc[0]
    assert pd.isna(coach["person_id"])
    assert "niemand in de pool biedt zich als coach aan" in coach["reason"]


def test_preferences_theme_and_partner_win_when_there_is_room():
    people = [
        person("P001", "CCC", ("coach",), ("kosten",)),
        person("P002", "BBB", ("coach",), ("kosten",)),  # the learning partner's organisation
        person("P003", "DDD", ("coach",), ("tijdigheid",)),  # expertise on the theme
        person("P004", "EEE", ("coach",), ("tijdigheid",)),
        person("P005", "EEE", ("onderzoeker",), ("tijdigheid",)),
        person("P006", "CCC", ("onderzoeker",), ("kosten",)),
    ]
    pilots = [TeamPilot(1, "AAA", "ind1", "tijdigheid", "BBB", ("DDD",))]
    teams = propose_teams(pilots, people, {**default_team_config(), "max_org_share": 1.0})
    coach = teams[teams["role"] == "coach"].iloc[0]
    # theme (4) beats partner (2); theme + strong member (DDD) beats theme alone
    assert coach["person_id"] == "P003"
    assert coach["reason"] == (
        "gekozen om de expertise op het thema tijdigheid en de ervaring van DDD, dat aantoonbaar sterk is op deze "
        "indicator"
    )
    researchers = teams[teams["role"] == "onderzoeker"]["person_id"].tolist()
    assert researchers == ["P005", "P006"]


def test_running_pilots_use_up_capacity():
    pool = pd.DataFrame(
        [
            {
                "person_id": "P001",
                "name": "A",
                "org_code": "BBB",
                "roles": ("coach",),
                "themes": ("tijdigheid",),
                "max_pilots": 1,
                "days_per_year": 20,
            }
        ]
    )
    [fresh] = candidates_from_pool(pool)
    [busy] = candidates_from_pool(pool, running=[{"person_id": "P001", "role": "coach"}])
    assert fresh.pilots_left == 1 and busy.pilots_left == 0 and busy.days_left == 20 - 8
    teams = propose_teams([TeamPilot(1, "AAA", "ind", "tijdigheid")], [busy], default_team_config())
    coach = teams[teams["role"] == "coach"].iloc[0]
    assert (
        pd.isna(coach["person_id"])
        and "Dichtstbijzijnde alternatief: P001 (BBB), zit al aan het maximum" in (coach["reason"])
    )


def test_same_round_gives_the_same_teams():
    pilots, people = random_case(3, n_people=12, n_pilots=4)
    a = propose_teams(pilots, people, default_team_config())
    b = propose_teams(pilots, people, default_team_config())
    pd.testing.assert_frame_equal(a, b)
