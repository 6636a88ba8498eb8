"""Comparator groups: a default group of similar members per member, analyst-defined sets, their statistics.

Rules and reasons: docs/comparators.md. In short:

* **Default group.** For each member and year the ``k`` members nearest on the context variables of
  ``methods.yaml`` ``comparators`` (a workspace may override them in ``data/methods.yaml``): each numeric
  variable (optionally log-transformed) is averaged over the last ``years`` years with a value, standardised
  over the year's members (z-score or robust), and the distance is the weighted root mean square of the
  differences; a categorical variable (the register's cluster, the primary task) adds ``mismatch`` standardised
  units when it differs. Last year's group is kept while its farthest member stays within ``1 + stability``
  times the distance at the same place of this year's nearest list, so groups do not move with small changes.
* **Analyst sets** (``data/settings.yaml`` ``comparator_sets``): by register characteristics or as a list.
* **Differencing.** Two sets published to the same member whose memberships (without the member itself) differ
  by 1 to ``min_members - 1`` members give away those members' values by subtraction. An analyst set that does
  so with another set (all members, a published cluster, another analyst set) is refused
  (:class:`ComparatorConfigError`); a default group is resized (from ``k`` upwards, else downwards to
  ``min_members``) until it differs enough from every other set published to the member. The same check runs
  per indicator on the members with a value; a set that fails it there is not published for that indicator.
* **Statistics** (n, mean, median, quartiles, min, max, the member's rank, percentile and mid-rank quartile
  class) are computed by DuckDB over ``comparator_members``; survey indicators also get a significance test
  against the group's median (as :func:`pipeline.compute.engine._significance` does against all members).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from pipeline.compute import stats
from pipeline.core.settings import ComparatorSetSpec

GROUP_COLUMNS = [
    "year",
    "set_kind",
    "set_code",
    "org_code",
    "comparator_code",
    "group_size",
    "position",
    "distance",
    "basis",
    "reason_nl",
    "reason_en",
]
STAT_COLUMNS = [
    "year",
    "indicator_code",
    "set_kind",
    "set_code",
    "org_code",
    "n",
    "mean",
    "median",
    "p25",
    "p75",
    "min",
    "max",
    "published",
    "suppressed_reason",
    "own_value",
    "rank",
    "n_ranked",
    "percentile",
    "quartile",
    "benchmark_value",
    "p_value",
    "p_adjusted",
    "significance_label",
]


class ComparatorConfigError(ValueError):
    """The comparator settings cannot be used (unknown members, too small, or a set that leaks by differencing)."""


@dataclass(frozen=True)
class AnalystSet:
    code: str
    name_nl: str
    name_en: str
    members: frozenset[str]


# ------------------------------------------------------------------------------------------ differencing


def leak(a: set[str] | frozenset[str], b: set[str] | frozenset[str], own: str, min_members: int) -> int:
    """How many members two sets published to ``own`` differ by when that is 1 to ``min_members - 1`` (a pair
    of statistics would then give their values away by subtraction); 0 when the pair is safe. The member
    itself does not count: it knows its own value."""
    d = len((set(a) ^ set(b)) - {own})
    return d if 0 < d < min_members else 0


def active_members(orgs: pd.DataFrame, year: int) -> list[str]:
    """Members of the register in ``year`` (member_since ≤ year ≤ member_until)."""
    since = pd.to_numeric(orgs["member_since"], errors="coerce").fillna(0)
    until = pd.to_numeric(orgs["member_until"], errors="coerce").fillna(9999)
    return sorted(orgs.loc[(since <= year) & (until >= year), "org_code"])


def resolve_sets(specs: list[ComparatorSetSpec], orgs: pd.DataFrame) -> list[AnalystSet]:
    """The analyst sets with their members from the register; unknown codes or characteristics are refused."""
    known = set(orgs["org_code"])
    out = []
    for spec in specs:
        if spec.members is not None:
            unknown = sorted(set(spec.members) - known)
            if unknown:
                raise ComparatorConfigError(
                    f"vergelijkingsset '{spec.code}': onbekende organisatie(s) {', '.join(unknown)} / "
                    f"comparator set '{spec.code}': unknown organisation(s) {', '.join(unknown)}"
                )
            members = frozenset(spec.members)
        else:
            mask = pd.Series(True, index=orgs.index)
            for column, allowed in (spec.where or {}).items():
                present = set(orgs[column].dropna())
                unknown = sorted(set(allowed) - present)
                if unknown:
                    raise ComparatorConfigError(
                        f"vergelijkingsset '{spec.code}': {column} {', '.join(unknown)} komt niet voor in het register / "
                        f"comparator set '{spec.code}': {column} {', '.join(unknown)} does not occur in the register"
                    )
                mask &= orgs[column].isin(allowed)
            members = frozenset(orgs.loc[mask, "org_code"])
        out.append(AnalystSet(spec.code, spec.name_nl, spec.name_en, members))
    return out


def check_sets(sets: list[AnalystSet], orgs: pd.DataFrame, years: list[int], min_members: int) -> None:
    """Refuse analyst sets that are too small or that differ by 1 to ``min_members - 1`` members from another
    set published to one of their members (all members, the member's cluster, another analyst set), in any
    computed year, by the register's membership of that year."""
    clusters = orgs.set_index("org_code")["cluster"].to_dict()
    problems: list[tuple[str, str]] = []
    for year in years:
        active = set(active_members(orgs, year))
        by_cluster: dict[str, set[str]] = {}
        for o in active:
            by_cluster.setdefault(clusters.get(o) or "", set()).add(o)
        for s in sets:
            members = s.members & active
            if 0 < len(members) < min_members:
                problems.append(
                    (
                        f"'{s.code}' heeft in {year} {len(members)} leden, minstens {min_members} nodig",
                        f"'{s.code}' has {len(members)} members in {year}, at least {min_members} needed",
                    )
                )
                continue
            for own in sorted(members):
                others: list[tuple[str, set[str]]] = [("alle leden / all members", active)]
                cl = by_cluster.get(clusters.get(own) or "", set())
                if len(cl) >= min_members:
                    others.append((f"cluster {clusters.get(own)}", cl))
                others += [(f"'{t.code}'", set(t.members & active)) for t in sets if t is not s and own in t.members]
                for label, other in others:
                    d = leak(members, other, own, min_members)
                    if d:
                        problems.append(
                            (
                                f"'{s.code}' en {label} verschillen in {year} maar {d} organisatie(s) (voor {own})",
                                f"'{s.code}' and {label} differ by only {d} organisation(s) in {year} (for {own})",
                            )
                        )
                        break
                else:
                    continue
                break
    if problems:
        seen: list[tuple[str, str]] = []
        for p in problems:
            if p not in seen:
                seen.append(p)
        nl = "; ".join(p[0] for p in seen[:5])
        en = "; ".join(p[1] for p in seen[:5])
        raise ComparatorConfigError(
            "De vergelijkingssets in data/settings.yaml worden geweigerd, want twee gepubliceerde groepen die minder "
            f"dan {min_members} organisaties verschillen verraden door aftrekken hun waarden: {nl}. / "
            "The comparator sets in data/settings.yaml are refused, because two published groups that differ by "
            f"fewer than {min_members} organisations give their values away by subtraction: {en}."
        )


# ------------------------------------------------------------------------------------------ similarity


def context_frame(
    con: duckdb.DuckDBPyConnection, values: pd.DataFrame, orgs: pd.DataFrame, cfg: dict
) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """(numeric context per org and year, one column per variable, transformed; categorical per org)."""
    numeric = [v for v in cfg["variables"] if v["kind"] == "numeric"]
    frame = values[["org_code", "year"]].drop_duplicates().reset_index(drop=True)
    fields = [v["name"] for v in numeric if v["source"] == "field"]
    if fields:
        cols = {r[0] for r in con.execute("DESCRIBE int_org").fetchall()}
        unknown = sorted(set(fields) - cols)
        if unknown:
            raise ComparatorConfigError(
                f"methods.yaml comparators: onbekend veld {', '.join(unknown)} / unknown field {', '.join(unknown)}"
            )
        quoted = ", ".join(f'"{f}"' for f in sorted(set(fields)))
        org = con.execute(f"SELECT org_code, year, {quoted} FROM int_org").fetch_df()
        frame = frame.merge(org, on=["org_code", "year"], how="left")
    codes = set(values["indicator_code"])
    for v in numeric:
        if v["source"] == "indicator":
            if v["name"] not in codes:
                raise ComparatorConfigError(
                    f"methods.yaml comparators: onbekende indicator {v['name']} / unknown indicator {v['name']}"
                )
            ind = values.loc[values["indicator_code"] == v["name"], ["org_code", "year", "value"]]
            frame = frame.merge(ind.rename(columns={"value": f"__{v['code']}"}), on=["org_code", "year"], how="left")
    out = frame[["org_code", "year"]].copy()
    for v in numeric:
        x = frame[v["name"] if v["source"] == "field" else f"__{v['code']}"].astype("float64")
        if v["transform"] == "log":
            x = np.log(x.where(x > 0))
        out[v["code"]] = x
    categorical = {}
    for v in cfg["variables"]:
        if v["kind"] == "categorical":
            if v["source"] != "register" or v["name"] not in orgs.columns:
                raise ComparatorConfigError(
                    f"methods.yaml comparators: {v['code']} moet een kolom van het register zijn / "
                    f"{v['code']} must be a column of the register"
                )
            categorical[v["code"]] = orgs.set_index("org_code")[v["name"]]
    return out, categorical


def averaged(context: pd.DataFrame, year: int, window: int, codes: list[str]) -> pd.DataFrame:
    """Each member's context averaged over ``year - window + 1 .. year`` (years without a value left out)."""
    w = context[(context["year"] > year - window) & (context["year"] <= year)]
    return w.groupby("org_code")[codes].mean()


def standardise(x: pd.DataFrame, method: str) -> pd.DataFrame:
    """Per column: (x − median) / (1.4826 MAD) (``robust``; the SD when the MAD is 0) or a z-score."""
    out = x.copy()
    for c in x.columns:
        col = x[c].dropna()
        if col.empty:
            out[c] = np.nan
            continue
        if method == "robust":
            centre = float(col.median())
            scale = float(stats.MAD_SCALE * (col - centre).abs().median())
            if not scale > 0:
                scale = float(col.std(ddof=1)) if len(col) > 1 else 0.0
        else:
            centre = float(col.mean())
            scale = float(col.std(ddof=1)) if len(col) > 1 else 0.0
        out[c] = (x[c] - centre) / scale if scale > 0 else 0.0
    return out


def distances(z: pd.DataFrame, cats: dict[str, pd.Series], cfg: dict, own: str, candidates: list[str]) -> pd.Series:
    """Weighted root-mean-square distance from ``own`` to each candidate over the variables both have.

    The numeric variables come first, then the categorical ones, each in the configured order; the numeric ones
    are summed over all candidates at once (the same additions, in the same order, as one candidate at a time)."""
    num = [v for v in cfg["variables"] if v["kind"] == "numeric"]
    cat = [v for v in cfg["variables"] if v["kind"] == "categorical"]
    n = len(candidates)
    total, weight = np.zeros(n), np.zeros(n)
    zo = z.loc[own] if own in z.index else None
    rows = z.reindex(candidates) if num else None
    for v in num:
        a = zo[v["code"]] if zo is not None else np.nan
        if pd.isna(a):
            continue
        b = rows[v["code"]].to_numpy(dtype="float64", na_value=np.nan)
        both = ~np.isnan(b)
        squares = np.array([d**2 for d in (float(a) - b[both]).tolist()])  # C pow, as for one float
        total[both] += v["weight"] * squares
        weight[both] += v["weight"]
    for v in cat:
        a = cats[v["code"]].get(own)
        if a is None or pd.isna(a):
            continue
        for i, c in enumerate(candidates):
            b = cats[v["code"]].get(c)
            if b is None or pd.isna(b):
                continue
            total[i] += v["weight"] * (0.0 if a == b else float(v["mismatch"]) ** 2)
            weight[i] += v["weight"]
    out = {c: float(np.sqrt(total[i] / weight[i])) if weight[i] > 0 else np.inf for i, c in enumerate(candidates)}
    return pd.Series(out, dtype="float64")


def _describe_vars(cfg: dict, lang: str) -> str:
    labels = [v[f"label_{lang}"] for v in cfg["variables"]]
    sep = " en " if lang == "nl" else " and "
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + sep + labels[-1]


def _reason(cfg: dict, size: int, year: int, basis: str, lang: str) -> str:
    first = year - int(cfg["years"]) + 1
    span = f"{first}–{year}" if first < year else str(year)
    what = _describe_vars(cfg, lang)
    if lang == "nl":
        text = f"de {size} organisaties die qua {what} het meest op u lijken (gemiddelde {span})"
        if basis == "kept":
            text += "; dezelfde groep als vorig jaar, want de kenmerken veranderden weinig"
        elif basis == "resized":
            text += (
                f"; {size} in plaats van {cfg['k']}, zodat de groep genoeg verschilt van de andere groepen "
                "waarmee u wordt vergeleken"
            )
        return text
    text = f"the {size} organisations most like yours in {what} (average {span})"
    if basis == "kept":
        text += "; the same group as last year, as the characteristics changed little"
    elif basis == "resized":
        text += (
            f"; {size} instead of {cfg['k']}, so the group differs enough from the other groups you are compared with"
        )
    return text


def default_groups(
    con: duckdb.DuckDBPyConnection,
    values: pd.DataFrame,
    orgs: pd.DataFrame,
    sets: list[AnalystSet],
    cfg: dict,
    min_members: int,
    context: tuple[pd.DataFrame, dict[str, pd.Series]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The default comparator group of every member in every year (rows of ``comparator_groups``) and how the
    group compares with the member on each context variable (rows of ``comparator_profile``).

    Candidates are the members with an accepted submission in the year; a member without one that year gets a
    group from its context of the years before (averaged over the window). ``context``: the result of
    :func:`context_frame` when it was read before (then ``con`` is not used)."""
    context, cats = context if context is not None else context_frame(con, values, orgs, cfg)
    codes = [v["code"] for v in cfg["variables"] if v["kind"] == "numeric"]
    clusters = orgs.set_index("org_code")["cluster"].to_dict()
    k, stability = int(cfg["k"]), float(cfg["stability"])
    rows, profile = [], []
    previous: dict[str, list[str]] = {}
    for year in sorted(values["year"].unique()):
        year = int(year)
        submitters = sorted(set(values.loc[values["year"] == year, "org_code"]))
        active = set(active_members(orgs, year)) | set(submitters)
        avg = averaged(context, year, int(cfg["years"]), codes)
        z = standardise(avg.reindex(sorted(set(avg.index) & active)), cfg["standardise"])
        current: dict[str, list[str]] = {}
        for own in sorted(active):
            if own not in z.index and own not in submitters:
                continue
            candidates = [c for c in submitters if c != own]
            d = distances(z, cats, cfg, own, candidates)
            d = d[np.isfinite(d)]
            order = sorted(d.index, key=lambda c: (round(float(d[c]), 12), c))
            published = [set(submitters)]
            cl = {o for o in submitters if clusters.get(o) == clusters.get(own)}
            if len(cl) >= min_members:
                published.append(cl)
            published += [set(s.members) & set(submitters) for s in sets if own in s.members]
            published = [p for p in published if len(p) >= min_members]

            def safe(group: list[str], published=published, own=own) -> bool:
                return all(not leak(set(group), p, own, min_members) for p in published)

            group, basis = None, "nearest"
            prev = previous.get(own)
            if prev and all(c in d.index for c in prev) and len(prev) <= len(order) and safe(prev):
                reach = float(d[order[len(prev) - 1]])
                if max(float(d[c]) for c in prev) <= (1.0 + stability) * reach + 1e-12:
                    group, basis = list(prev), "kept"
            if group is None:
                sizes = list(range(k, len(order) + 1)) + list(range(min(k, len(order) + 1) - 1, min_members - 1, -1))
                for size in sizes:
                    if safe(order[:size]):
                        group, basis = order[:size], ("nearest" if size == k else "resized")
                        break
            if group is None:
                continue
            current[own] = group
            profile += _profile(year, own, group, avg, cats, cfg)
            ranked = sorted(group, key=lambda c: (round(float(d[c]), 12), c))
            for pos, c in enumerate(ranked, start=1):
                rows.append(
                    {
                        "year": year,
                        "set_kind": "default",
                        "set_code": "default",
                        "org_code": own,
                        "comparator_code": c,
                        "group_size": len(group),
                        "position": pos,
                        "distance": float(d[c]),
                        "basis": basis,
                        "reason_nl": _reason(cfg, len(group), year, basis, "nl"),
                        "reason_en": _reason(cfg, len(group), year, basis, "en"),
                    }
                )
        previous = current
    return pd.DataFrame(rows, columns=GROUP_COLUMNS), pd.DataFrame(profile, columns=PROFILE_COLUMNS)


PROFILE_COLUMNS = [
    "year",
    "org_code",
    "variable",
    "kind",
    "label_nl",
    "label_en",
    "own_value",
    "group_median",
    "same_category",
    "group_size",
]


def _profile(year: int, own: str, group: list[str], avg: pd.DataFrame, cats: dict, cfg: dict) -> list[dict]:
    """The member against its group per context variable: its own (window-averaged) value and the group's
    median for a numeric variable (back on the original scale), how many share its category for a categorical one."""
    out = []
    for v in cfg["variables"]:
        row = {
            "year": year,
            "org_code": own,
            "variable": v["code"],
            "kind": v["kind"],
            "label_nl": v["label_nl"],
            "label_en": v["label_en"],
            "group_size": len(group),
        }
        if v["kind"] == "numeric":
            col = avg[v["code"]] if v["code"] in avg.columns else pd.Series(dtype="float64")
            back = np.exp(col) if v["transform"] == "log" else col
            mine = back.get(own, np.nan)
            others = back.reindex(group).dropna()
            row.update(
                own_value=float(mine) if pd.notna(mine) else np.nan,
                group_median=float(others.median()) if len(others) else np.nan,
                same_category=None,
            )
        else:
            mine = cats[v["code"]].get(own)
            row.update(
                own_value=np.nan,
                group_median=np.nan,
                same_category=int(sum(1 for c in group if cats[v["code"]].get(c) == mine)),
            )
        out.append(row)
    return out


def analyst_groups(values: pd.DataFrame, orgs: pd.DataFrame, sets: list[AnalystSet]) -> pd.DataFrame:
    """Rows of ``comparator_groups`` for the analyst sets: per year, every member of a set with an accepted
    submission, against every other such member (``group_size`` counts the member itself)."""
    rows = []
    for year in sorted(values["year"].unique()):
        year = int(year)
        submitters = set(values.loc[values["year"] == year, "org_code"])
        for s in sets:
            members = sorted(s.members & submitters)
            for own in members:
                for c in members:
                    if c == own:
                        continue
                    rows.append(
                        {
                            "year": year,
                            "set_kind": "analyst",
                            "set_code": s.code,
                            "org_code": own,
                            "comparator_code": c,
                            "group_size": len(members),
                            "position": None,
                            "distance": None,
                            "basis": "analyst",
                            "reason_nl": f"vergelijkingsset '{s.name_nl}', vastgesteld door de analisten",
                            "reason_en": f"comparator set '{s.name_en}', defined by the analysts",
                        }
                    )
    out = pd.DataFrame(rows, columns=GROUP_COLUMNS)
    out["position"] = out["position"].astype("Int64")
    out["distance"] = out["distance"].astype("float64")
    return out


# ------------------------------------------------------------------------------------------ statistics

STATS_SQL = """
WITH vals AS (
    SELECT org_code, year, indicator_code, value FROM _cmp_values WHERE value IS NOT NULL AND NOT isnan(value)
),
agg AS (
    SELECT m.year, v.indicator_code, m.set_kind, m.set_code, m.org_code, count(*) AS n,
           avg(v.value ORDER BY m.member_code) AS mean,  -- summed in one order: the same bits on every run
           median(v.value) AS median, quantile_cont(v.value, 0.25) AS p25, quantile_cont(v.value, 0.75) AS p75,
           min(v.value) AS min, max(v.value) AS max, list(m.member_code ORDER BY m.member_code) AS members
    FROM _cmp_members m JOIN vals v ON v.org_code = m.member_code AND v.year = m.year
    GROUP BY ALL
),
rankset AS (
    SELECT year, set_kind, set_code, org_code, member_code FROM _cmp_members
    UNION SELECT DISTINCT year, set_kind, set_code, org_code, org_code FROM _cmp_members
),
pos AS (
    SELECT r.year, v.indicator_code, r.set_kind, r.set_code, r.org_code, any_value(own.value) AS own_value,
           any_value(c.direction) AS direction, count(*) AS n_ranked,
           count(*) FILTER (WHERE (c.direction = 'higher' AND v.value > own.value)
                               OR (c.direction = 'lower' AND v.value < own.value)) AS better,
           count(*) FILTER (WHERE v.value = own.value) AS ties
    FROM rankset r
    JOIN vals v ON v.org_code = r.member_code AND v.year = r.year
    JOIN vals own ON own.org_code = r.org_code AND own.year = r.year AND own.indicator_code = v.indicator_code
    JOIN _cmp_catalogue c ON c.code = v.indicator_code
    GROUP BY ALL
)
SELECT a.*, p.own_value,
       CASE WHEN p.direction IN ('higher', 'lower') THEN p.better + 1 END AS rank,
       CASE WHEN p.direction IN ('higher', 'lower') THEN p.n_ranked END AS n_ranked,
       CASE WHEN p.direction IN ('higher', 'lower') THEN
           CASE WHEN p.n_ranked > 1 THEN 100.0 * (p.n_ranked - p.better - 1) / (p.n_ranked - 1) ELSE 100.0 END
       END AS percentile,
       CASE WHEN p.direction IN ('higher', 'lower') THEN
           least(greatest((4 * p.better + 2 * p.ties + p.n_ranked - 1) // p.n_ranked, 1), 4)
       END AS quartile
FROM agg a
LEFT JOIN pos p USING (year, indicator_code, set_kind, set_code, org_code)
ORDER BY year, indicator_code, set_kind, set_code, org_code
"""


def compute_stats(
    con: duckdb.DuckDBPyConnection,
    values: pd.DataFrame,
    groups: pd.DataFrame,
    orgs: pd.DataFrame,
    bstats: pd.DataFrame,
    catalogue: pd.DataFrame,
    min_members: int,
) -> pd.DataFrame:
    """``comparator_stats``: per year, indicator, set and member, computed by DuckDB over the set's members.

    A default group's statistics are over the comparators (the member itself left out); an analyst set's over
    all its members. Position (rank, percentile, mid-rank quartile class) is the member's among the set and
    itself. Published from ``min_members`` values and only when no other set published to the member differs
    from it by 1 to ``min_members - 1`` members with a value (the differencing check per indicator).

    The query is :func:`stats_rows`, the rest (publication, differencing, significance) :func:`finish_stats`."""
    return finish_stats(stats_rows(con, values, groups, catalogue), values, orgs, bstats, catalogue, min_members)


def stats_rows(
    con: duckdb.DuckDBPyConnection, values: pd.DataFrame, groups: pd.DataFrame, catalogue: pd.DataFrame
) -> pd.DataFrame:
    """The statistics of every set over its members (DuckDB), before any publication rule."""
    members = groups[["year", "set_kind", "set_code", "org_code", "comparator_code"]].rename(
        columns={"comparator_code": "member_code"}
    )
    analyst_self = groups.loc[groups["set_kind"] == "analyst", ["year", "set_kind", "set_code", "org_code"]]
    analyst_self = analyst_self.drop_duplicates().assign(member_code=lambda f: f["org_code"])
    members = pd.concat([members, analyst_self], ignore_index=True).drop_duplicates()
    con.register("_cmp_members", members)
    con.register("_cmp_values", values[["org_code", "year", "indicator_code", "value"]])
    con.register("_cmp_catalogue", catalogue[["code", "direction"]])
    try:
        out = con.execute(STATS_SQL).fetch_df()
    finally:
        for name in ("_cmp_members", "_cmp_values", "_cmp_catalogue"):
            con.unregister(name)
    return out


def finish_stats(
    out: pd.DataFrame,
    values: pd.DataFrame,
    orgs: pd.DataFrame,
    bstats: pd.DataFrame,
    catalogue: pd.DataFrame,
    min_members: int,
) -> pd.DataFrame:
    """``comparator_stats`` from :func:`stats_rows`: the publication threshold, the differencing check and the
    significance of survey indicators (no warehouse access)."""
    if out.empty:
        return pd.DataFrame(columns=STAT_COLUMNS)
    out["members"] = out["members"].map(lambda x: frozenset(x))
    out["published"] = out["n"] >= min_members
    out["suppressed_reason"] = np.where(out["published"], None, f"below_{min_members}")
    _differencing(out, values, orgs, bstats, min_members)
    _group_significance(out, values, catalogue)
    hide = ~out["published"].astype(bool)
    for c in ("mean", "median", "p25", "p75", "min", "max"):
        out[c] = out[c].astype("float64")
    for c in ("rank", "n_ranked", "quartile"):
        out[c] = out[c].astype("Int64")
    out.loc[hide, ["rank", "n_ranked", "quartile"]] = pd.NA
    out.loc[hide, ["percentile", "benchmark_value", "p_value", "p_adjusted"]] = np.nan
    out.loc[hide, "significance_label"] = None
    return out[STAT_COLUMNS]


def _differencing(
    out: pd.DataFrame, values: pd.DataFrame, orgs: pd.DataFrame, bstats: pd.DataFrame, min_members: int
) -> None:
    """Unpublish, per indicator, a set that differs by 1 to ``min_members - 1`` members with a value from
    another set published to one of its members: analyst sets first (against all members, the member's cluster
    and earlier analyst sets), then each default group (against those and the member's analyst sets)."""
    clusters = orgs.set_index("org_code")["cluster"].to_dict()
    v = values[values["value"].notna()]
    with_value = {k: set(g["org_code"]) for k, g in v.groupby(["year", "indicator_code"])}
    published_cluster = {
        (int(r.year), r.indicator_code, r.scope)
        for r in bstats[(bstats["scope_kind"] == "cluster") & bstats["published"].astype(bool)].itertuples()
    }
    all_published = {
        (int(r.year), r.indicator_code)
        for r in bstats[(bstats["scope_kind"] == "all") & bstats["published"].astype(bool)].itertuples()
    }
    for (year, code), g in out.groupby(["year", "indicator_code"], sort=True):
        present = with_value.get((year, code), set())
        base: dict[str, list[tuple[str, set[str]]]] = {}

        def base_sets(own: str, year=year, code=code, present=present, base=base) -> list[tuple[str, set[str]]]:
            if own not in base:
                sets = [("all", present)] if (year, code) in all_published else []
                cl = clusters.get(own)
                if (year, code, cl) in published_cluster:
                    sets.append((f"cluster:{cl}", {o for o in present if clusters.get(o) == cl}))
                base[own] = sets
            return base[own]

        analyst = g[(g["set_kind"] == "analyst") & g["published"]]
        accepted: dict[str, set[str]] = {}
        for set_code, rows in analyst.groupby("set_code", sort=False):
            members = set(rows["members"].iloc[0])
            reason = None
            for own in sorted(members):
                others = base_sets(own) + [(f"set:{c}", m) for c, m in accepted.items() if own in m]
                hit = next((label for label, other in others if leak(members, other, own, min_members)), None)
                if hit:
                    reason = f"differencing:{hit}"
                    break
            if reason:
                out.loc[rows.index, ["published", "suppressed_reason"]] = [False, reason]
            else:
                accepted[set_code] = members
        default = g[(g["set_kind"] == "default") & g["published"]]
        for ix, own, group in zip(default.index, default["org_code"], default["members"], strict=True):
            others = base_sets(own) + [(f"set:{c}", m) for c, m in accepted.items() if own in m]
            hit = next((label for label, other in others if leak(set(group), other, own, min_members)), None)
            if hit:
                out.loc[ix, ["published", "suppressed_reason"]] = [False, f"differencing:{hit}"]


def _group_significance(out: pd.DataFrame, values: pd.DataFrame, catalogue: pd.DataFrame) -> None:
    """Survey indicators: the member against the median of the other members of the set (bootstrap SE of that
    median), t-test for means and score test for shares, Benjamini–Hochberg per member, year and set."""
    import zlib

    from pipeline.compute.engine import catalogue_config

    cfg = catalogue_config()["comparison"]
    reps, seed = int(cfg["benchmark_bootstrap"]["reps"]), int(cfg["benchmark_bootstrap"]["seed"])
    cat = catalogue.set_index("code")
    survey = {
        c
        for c, r in cat.iterrows()
        if r["theme"] == "klanttevredenheid"
        and r["uncertainty"] in ("t_mean", "wilson")
        and r["direction"] != "context"
    }
    # each member's row by (org_code, year, indicator_code): plain lookups, not a MultiIndex per value
    rows = {
        (o, int(y), c): rec
        for o, y, c, rec in zip(
            values["org_code"], values["year"], values["indicator_code"], values.to_dict("records"), strict=True
        )
    }
    scales = cat["scale"].to_dict()
    uncertainty, directions = cat["uncertainty"].to_dict(), cat["direction"].to_dict()
    out["benchmark_value"] = np.nan
    out["p_value"] = np.nan
    out["p_adjusted"] = np.nan
    out["significance_label"] = None
    # the tests' arguments row by row, then each test once over all its rows (the same p-values: elementwise)
    tests: dict[str, tuple[list, list]] = {"wilson": ([], []), "t_mean": ([], [])}
    benches: dict = {}
    sel = out[out["indicator_code"].isin(survey) & out["published"]]
    for ix, y, code, org, members, set_code in zip(
        sel.index, sel["year"], sel["indicator_code"], sel["org_code"], sel["members"], sel["set_code"], strict=True
    ):
        year = int(y)
        row = rows.get((org, year, code))
        if row is None or pd.isna(row["value"]):
            continue
        others = np.array(sorted(float(rows[(o, year, code)]["value"]) for o in members if o != org))
        if others.size < 2:
            continue
        rng = np.random.default_rng([seed, year, zlib.crc32(f"{code}:{set_code}".encode())])
        bench, bench_se = float(np.median(others)), stats.bootstrap_median_se(others, reps, rng)
        benches[ix] = bench
        if uncertainty[code] == "wilson":
            scale = float(scales[code])
            tests["wilson"][0].append(ix)
            tests["wilson"][1].append((row["value"] / scale, row["ci_n"], bench / scale, bench_se / scale))
        else:
            tests["t_mean"][0].append(ix)
            tests["t_mean"][1].append((row["value"], row["se"], bench, bench_se, row["ci_df"]))
    if benches:
        out.loc[list(benches), "benchmark_value"] = list(benches.values())
    for kind, (ixs, args) in tests.items():
        if ixs:
            test = stats.compare_score if kind == "wilson" else stats.compare_t
            out.loc[ixs, "p_value"] = np.asarray(test(*zip(*args, strict=True)), dtype="float64")
    alpha = float(cfg["significance_alpha"])
    for _, g in out[out["p_value"].notna()].groupby(["org_code", "year", "set_kind", "set_code"]):
        pv = g["p_value"].to_numpy(dtype="float64")
        out.loc[g.index, "p_adjusted"] = stats.bh_adjust(pv)
        reject = stats.bh_reject(pv, alpha)
        labels = []
        for j, (code, own, bench) in enumerate(zip(g["indicator_code"], g["own_value"], g["benchmark_value"])):
            d = own - bench
            better = d > 0 if directions[code] == "higher" else d < 0
            labels.append(("better" if better else "worse") if reject[j] == 1.0 else "not_significant")
        out.loc[g.index, "significance_label"] = pd.Series(labels, index=g.index, dtype=object)


def what_if_position(x: float, others: list[float], direction: str) -> dict[str, int]:
    """Where a member would stand with value ``x`` among the published anonymous points ``others`` (the other
    members, rounded): rank (1 = best, ties share the best rank), n and mid-rank quartile class, as in
    :func:`pipeline.compute.stats.quartile_class`. The member report's "what if" computes the same in the page."""
    better = sum(1 for v in others if (v > x if direction == "higher" else v < x))
    ties = 1 + sum(1 for v in others if v == x)
    n = len(others) + 1
    quartile = min(max(-(-(4 * better + 2 * ties) // n), 1), 4)
    return {"rank": better + 1, "n": n, "quartile": int(quartile)}
