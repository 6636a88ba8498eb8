"""A synthetic pool of researchers and coaches for the demo (``data/pool.xlsx``).

The people are made up: every name is a combination of a common Dutch first name and a common Dutch surname
from the fixed lists below, drawn at random, and belongs to nobody in particular. The same input gives the same
pool: :func:`demo_pool` draws everything from ``random.Random(seed)``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from pipeline.core.workspace import Workspace
from pipeline.metadata.registry import registry
from pipeline.pilots.pool import write_pool

#: about this many people in a pool of the whole membership
TARGET_SIZE = 60

FIRST_NAMES = (
    "Anna",
    "Bram",
    "Daan",
    "Emma",
    "Fleur",
    "Gijs",
    "Hanna",
    "Iris",
    "Jasper",
    "Julia",
    "Koen",
    "Lotte",
    "Maarten",
    "Noor",
    "Olivier",
    "Pien",
    "Ruben",
    "Sanne",
    "Thijs",
    "Vera",
    "Wouter",
    "Yara",
    "Zoë",
    "Anouk",
    "Bas",
    "Charlotte",
    "Dirk",
    "Eva",
    "Femke",
    "Hugo",
    "Ilse",
    "Jeroen",
    "Karin",
    "Lars",
    "Marloes",
    "Niels",
    "Esther",
    "Pieter",
    "Rosa",
    "Sem",
)
SURNAMES = (
    "de Vries",
    "Jansen",
    "van Dijk",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Smits",
    "de Graaf",
    "van der Meer",
    "van der Linden",
    "Kok",
    "Jacobs",
    "de Haan",
    "Vermeulen",
    "van den Heuvel",
    "van der Veen",
    "van den Broek",
    "de Bruijn",
    "de Jong",
    "Schouten",
    "van Beek",
    "Willems",
    "van Vliet",
    "van de Ven",
    "Hoekstra",
    "Maas",
    "Verhoeven",
)
METHODS = (
    "procesanalyse",
    "klantreis",
    "data-analyse",
    "interviews",
    "enquêteonderzoek",
    "lean",
    "benchmarking",
    "design thinking",
    "experimenteel onderzoek",
    "werksessies",
)


def _counts(codes: list[str], rng: random.Random) -> dict[str, int]:
    """People per organisation: a few members none, the others 1-3, about :data:`TARGET_SIZE` in all."""
    order = codes[:]
    rng.shuffle(order)
    n_none = len(order) // 10
    counts = {c: 0 for c in order[:n_none]}
    givers = order[n_none:]
    counts.update({c: rng.choice((1, 2, 2, 3)) for c in givers})
    total = sum(counts.values())
    while total < TARGET_SIZE and any(counts[c] < 3 for c in givers):
        c = rng.choice([c for c in givers if counts[c] < 3])
        counts[c] += 1
        total += 1
    while total > TARGET_SIZE and any(counts[c] > 1 for c in givers):
        c = rng.choice([c for c in givers if counts[c] > 1])
        counts[c] -= 1
        total -= 1
    return counts


def _names(n: int, rng: random.Random) -> list[str]:
    pairs = [(f, s) for f in FIRST_NAMES for s in SURNAMES]
    return [f"{f} {s}" for f, s in rng.sample(pairs, min(n, len(pairs)))]


def demo_pool(org_codes: Sequence[str], first_year: int, last_year: int, seed: int = 0) -> list[dict]:
    """About 60 synthetic people spread over the organisations, as rows for :func:`write_pool` (Dutch column
    names): roles about 40 % coach, 40 % onderzoeker and 20 % both; 1-3 themes; 5-40 days a year; 1-3 pilots at
    once; most active from ``first_year``, some joining later and a few leaving before ``last_year``."""
    if last_year < first_year:
        raise ValueError(f"last_year {last_year} is before first_year {first_year}")
    rng = random.Random(seed)
    codes = sorted(dict.fromkeys(org_codes))
    counts = _counts(codes, rng)
    orgs = [c for c in codes for _ in range(counts[c])]
    n = len(orgs)
    n_coach, n_researcher = round(0.4 * n), round(0.4 * n)
    roles = ["coach"] * n_coach + ["onderzoeker"] * n_researcher + ["coach; onderzoeker"] * (n - n_coach - n_researcher)
    rng.shuffle(roles)
    names = _names(n, rng)
    themes = registry().themes
    people = []
    for i, (org, role, name) in enumerate(zip(orgs, roles, names), start=1):
        later = last_year > first_year and rng.random() < 0.3
        since = rng.randint(first_year + 1, last_year) if later else first_year
        until = None
        if since < last_year and rng.random() < 0.1:
            until = rng.randint(since, last_year - 1)
        people.append(
            {
                "person_id": f"P{i:03d}",
                "naam": name,
                "org_code": org,
                "rollen": role,
                "themas": "; ".join(sorted(rng.sample(themes, rng.choice((1, 1, 2, 2, 3))))),
                "methoden": "; ".join(rng.sample(METHODS, rng.randint(1, 3))),
                "dagen_per_jaar": rng.randint(5, 40),
                "max_pilots": rng.choice((1, 1, 2, 2, 3)),
                "actief_vanaf": since,
                "actief_tot": until,
            }
        )
    return people


def write_demo_pool(ws: Workspace, org_codes: Sequence[str], first_year: int, last_year: int, seed: int = 0) -> Path:
    """Write :func:`demo_pool` as the workspace's ``data/pool.xlsx``."""
    return write_pool(ws.root / "data" / "pool.xlsx", demo_pool(org_codes, first_year, last_year, seed))


__all__ = ["demo_pool", "write_demo_pool"]
