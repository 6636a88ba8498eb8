"""Comparator groups (docs/comparators.md): every statistic recomputed independently with pandas, the rules of
group formation, the < 5 and differencing checks, and the workspace's method settings."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from inprocess import rbb
from workspaces import copy_workspace

from pipeline.compute import comparators as C
from pipeline.compute.freshness import stale_reasons
from pipeline.core.settings import Settings
from pipeline.core.warehouse import connect
from pipeline.core.workspace import Workspace
from pipeline.metadata.models import MetadataError, load_for

YEAR = 2025
MIN = 5


def _frame(con, sql, *params) -> pd.DataFrame:
    return con.execute(sql, list(params)).fetch_df()


# ------------------------------------------------------------------------- recomputed with pandas (demo)


def _expected(values: pd.DataFrame, catalogue: pd.DataFrame, own: str, stat_members: set[str], code: str) -> dict:
    """The statistics and the member's position, recomputed from the values without DuckDB."""
    v = values[(values["indicator_code"] == code) & values["value"].notna()].set_index("org_code")["value"]
    x = v.reindex(sorted(stat_members & set(v.index))).to_numpy()
    out = {
        "n": len(x),
        "mean": x.mean(),
        "median": np.median(x),
        "p25": np.quantile(x, 0.25),
        "p75": np.quantile(x, 0.75),
        "min": x.min(),
        "max": x.max(),
    }
    direction = catalogue.set_index("code").at[code, "direction"]
    ranking = sorted((stat_members | {own}) & set(v.index))
    if direction != "context" and own in v.index:
        vals = v.reindex(ranking).to_numpy()
        i = ranking.index(own)
        rank = pd.Series(-vals if direction == "higher" else vals).rank(method="min").to_numpy()[i]
        avg = pd.Series(-vals if direction == "higher" else vals).rank(method="average").to_numpy()[i]
        n = len(vals)
        out.update(
            rank=int(rank),
            n_ranked=n,
            percentile=100.0 * (n - rank) / (n - 1) if n > 1 else 100.0,
            quartile=int(min(max(np.ceil((avg - 0.5) / n * 4 - 1e-12), 1), 4)),
        )
    return out


@pytest.fixture(scope="module")
def demo_tables(demo_workspace):
    con = connect(demo_workspace.db_path, read_only=True)
    try:
        yield {
            name: _frame(con, f"SELECT * FROM {name}")
            for name in (
                "comparator_groups",
                "comparator_stats",
                "comparator_sets",
                "indicator_values",
                "indicator_catalogue",
                "organisations",
                "benchmark_stats",
                "compute_state",
                "submissions",
            )
        }
    finally:
        con.close()


def _check_set(t: dict, kind: str, set_code: str) -> int:
    groups = t["comparator_groups"]
    st = t["comparator_stats"]
    values = t["indicator_values"][t["indicator_values"]["year"] == YEAR]
    checked = 0
    g = groups[(groups["year"] == YEAR) & (groups["set_kind"] == kind) & (groups["set_code"] == set_code)]
    assert not g.empty, f"no {kind} set {set_code} in {YEAR}"
    for own, rows in g.groupby("org_code"):
        members = set(rows["comparator_code"]) | ({own} if kind == "analyst" else set())
        mine = st[
            (st["year"] == YEAR) & (st["set_kind"] == kind) & (st["set_code"] == set_code) & (st["org_code"] == own)
        ]
        for r in mine.itertuples():
            exp = _expected(values, t["indicator_catalogue"], own, members, r.indicator_code)
            assert r.n == exp["n"]
            for col in ("mean", "median", "p25", "p75", "min", "max"):
                assert getattr(r, col) == pytest.approx(exp[col], rel=1e-9, abs=1e-9), (own, r.indicator_code, col)
            if r.published and "rank" in exp:
                assert int(r.rank) == exp["rank"], (own, r.indicator_code)
                assert int(r.n_ranked) == exp["n_ranked"]
                assert r.percentile == pytest.approx(exp["percentile"])
                assert int(r.quartile) == exp["quartile"], (own, r.indicator_code)
            if r.published:
                assert exp["n"] >= MIN and not isinstance(r.suppressed_reason, str)
            elif exp["n"] >= MIN:
                assert str(r.suppressed_reason).startswith("differencing:")
            checked += 1
    return checked


def test_default_group_statistics_match_an_independent_pandas_computation(demo_tables):
    assert _check_set(demo_tables, "default", "default") > 1000


@pytest.mark.parametrize("set_code", ["grote_uitvoerders", "vergunnen_registreren"])
def test_analyst_set_statistics_match_an_independent_pandas_computation(demo_tables, set_code):
    sets = demo_tables["comparator_sets"].set_index("code")
    orgs = demo_tables["organisations"]
    submitters = set(demo_tables["indicator_values"].query("year == @YEAR")["org_code"])
    members = set(sets.at[set_code, "members"].split(";"))
    spec = {"grote_uitvoerders": orgs["size_class"] == "groot"}.get(
        set_code, orgs["cluster"].isin(["vergunnen_toetsen", "registreren"])
    )
    assert members == set(orgs.loc[spec, "org_code"])  # resolved by characteristics from the register
    groups = demo_tables["comparator_groups"]
    g = groups[(groups["year"] == YEAR) & (groups["set_code"] == set_code)]
    assert set(g["org_code"]) == members & submitters
    assert _check_set(demo_tables, "analyst", set_code) > 200


def test_every_member_gets_a_published_default_group_of_at_least_five(demo_tables):
    groups = demo_tables["comparator_groups"]
    st = demo_tables["comparator_stats"]
    subs = demo_tables["submissions"]
    for year in sorted(groups["year"].unique()):
        reporting = set(subs[(subs["year"] == year) & subs["in_force"]]["org_code"])
        g = groups[(groups["year"] == year) & (groups["set_kind"] == "default")]
        sizes = g.groupby("org_code")["comparator_code"].nunique()
        assert reporting <= set(sizes.index), sorted(reporting - set(sizes.index))
        assert (sizes >= MIN).all()
        assert (g.groupby("org_code")["group_size"].first() == sizes).all()
        published = st[(st["year"] == year) & (st["set_kind"] == "default") & st["published"]]
        assert reporting <= set(published["org_code"])  # published for at least some indicators, for everybody
    # members of clusters too small to be published get a group like everybody else
    orgs = demo_tables["organisations"]
    small = [
        c
        for c, n in orgs[orgs["org_code"].isin(set(subs[(subs.year == YEAR) & subs.in_force].org_code))]
        .groupby("cluster")
        .size()
        .items()
        if n < MIN
    ]
    assert small, "the demo should have a cluster too small to be published (heffen_innen in 2025)"
    for c in small:
        for o in orgs.loc[orgs["cluster"] == c, "org_code"]:
            assert (groups[(groups.year == YEAR) & (groups.org_code == o)]["group_size"] >= MIN).all()


def test_no_two_published_sets_of_a_member_differ_by_one_to_four_members(demo_tables):
    """The differencing attack: for every member and indicator, every pair of sets published to it (all members,
    its published cluster, its default group, its analyst sets) differs by 0 or at least 5 members with a value."""
    t = demo_tables
    values = t["indicator_values"]
    clusters = t["organisations"].set_index("org_code")["cluster"].to_dict()
    b = t["benchmark_stats"]
    groups = t["comparator_groups"]
    st = t["comparator_stats"]
    checked = 0
    for year in sorted(groups["year"].unique()):
        v = values[(values["year"] == year) & values["value"].notna()]
        present = {c: set(g["org_code"]) for c, g in v.groupby("indicator_code")}
        members = {
            (o, k, s): set(g["comparator_code"]) | ({o} if k == "analyst" else set())
            for (o, k, s), g in groups[groups["year"] == year].groupby(["org_code", "set_kind", "set_code"])
        }
        pub = st[(st["year"] == year) & st["published"]]
        by_member: dict[tuple[str, str], list[set[str]]] = {}
        for r in pub.itertuples():
            by_member.setdefault((r.org_code, r.indicator_code), []).append(
                members[(r.org_code, r.set_kind, r.set_code)] & present[r.indicator_code]
            )
        for r in b[(b["year"] == year) & b["published"]].itertuples():
            for own in present.get(r.indicator_code, set()):
                if r.scope_kind == "all" or clusters.get(own) == r.scope:
                    scope = (
                        present[r.indicator_code]
                        if r.scope_kind == "all"
                        else {o for o in present[r.indicator_code] if clusters.get(o) == r.scope}
                    )
                    by_member.setdefault((own, r.indicator_code), []).append(scope)
        for (own, _code), sets in by_member.items():
            for i in range(len(sets)):
                for j in range(i + 1, len(sets)):
                    d = len((sets[i] ^ sets[j]) - {own})
                    assert d == 0 or d >= MIN, (year, own, _code, d)
                    checked += 1
    assert checked > 10_000


def test_groups_are_stable_across_demo_years(demo_tables):
    g = demo_tables["comparator_groups"]
    d = g[g["set_kind"] == "default"]
    members = d.groupby(["year", "org_code"])["comparator_code"].apply(frozenset).unstack(0)
    both = members[[YEAR - 1, YEAR]].dropna()
    same = (both[YEAR - 1] == both[YEAR]).mean()
    assert same >= 0.6, same
    kept = d[(d["year"] == YEAR) & (d["basis"] == "kept")]["org_code"].unique()
    for o in kept:
        assert members.at[o, YEAR] == members.at[o, YEAR - 1]


def test_workspace_methods_override_is_used_and_recorded(demo_workspace, demo_tables):
    state = demo_tables["compute_state"].iloc[0]
    assert state["methods_source"].endswith("data/methods.yaml")
    assert json.loads(state["methods_json"])["comparators"]["k"] == 9  # the demo's override (packaged: 8)
    g = demo_tables["comparator_groups"]
    nearest = g[(g["set_kind"] == "default") & (g["basis"] == "nearest")]
    assert set(nearest["group_size"]) == {9}
    assert load_for("methods.yaml", demo_workspace.root)["comparators"]["k"] == 9


def test_reasons_describe_characteristics_never_names(demo_tables):
    orgs = demo_tables["organisations"]
    g = demo_tables["comparator_groups"]
    words = set(orgs["org_code"]) | set(orgs["name"]) | set(orgs["abbreviation"].dropna())
    for text in set(g["reason_nl"]) | set(g["reason_en"]):
        assert "omvang" in text or "size" in text or "set" in text
        assert not [w for w in words if len(w) > 2 and f" {w} " in f" {text} "]


# ------------------------------------------------------------------------------- rules, without the demo


def _cfg(**extra) -> dict:
    cfg = {
        "k": 6,
        "years": 3,
        "standardise": "robust",
        "stability": 0.25,
        "variables": [
            {"code": "omvang", "source": "indicator", "name": "size", "kind": "numeric", "transform": "log",
             "weight": 2.0, "mismatch": 2.0, "label_nl": "omvang", "label_en": "size"},
            {"code": "taak", "source": "register", "name": "cluster", "kind": "categorical", "transform": "none",
             "weight": 2.0, "mismatch": 2.0, "label_nl": "taak", "label_en": "task"},
        ],
    }  # fmt: skip
    cfg.update(extra)
    return cfg


def _synthetic(years: list[int], drift: float = 0.0, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    codes = [f"O{i:02d}" for i in range(24)]
    clusters = ["a"] * 3 + ["b"] * 7 + ["c"] * 7 + ["d"] * 7  # cluster a has 3 members and is never published
    orgs = pd.DataFrame(
        {"org_code": codes, "cluster": clusters, "size_class": "middel", "member_since": 2000, "member_until": None}
    )
    base = np.exp(rng.normal(7, 1.2, len(codes)))
    rows = []
    for y in years:
        size = base * np.exp(rng.normal(0, drift, len(codes))) if drift else base
        for o, s in zip(codes, size, strict=True):
            rows.append({"org_code": o, "year": y, "indicator_code": "size", "value": float(s)})
            rows.append({"org_code": o, "year": y, "indicator_code": "x", "value": float(rng.normal(50, 10))})
    return pd.DataFrame(rows), orgs


def test_members_of_a_three_member_cluster_get_a_group_of_at_least_five():
    values, orgs = _synthetic([2024, 2025])
    groups, profile = C.default_groups(None, values, orgs, [], _cfg(), MIN)
    for o in ("O00", "O01", "O02"):
        g = groups[(groups["org_code"] == o) & (groups["year"] == 2025)]
        assert len(g) >= MIN and o not in set(g["comparator_code"])
        assert set(orgs.set_index("org_code").loc[list(g["comparator_code"]), "cluster"]) - {"a"}
    assert (groups.groupby(["year", "org_code"]).size() >= MIN).all()
    assert groups["org_code"].nunique() == len(orgs)
    assert set(profile["variable"]) == {"omvang", "taak"}


def test_groups_stay_the_same_when_the_context_is_stable():
    values, orgs = _synthetic([2021, 2022, 2023, 2024, 2025])
    groups, _ = C.default_groups(None, values, orgs, [], _cfg(), MIN)
    by = groups.groupby(["org_code", "year"])["comparator_code"].apply(frozenset).unstack()
    assert (by.nunique(axis=1) == 1).all()
    # a small yearly wobble of the context keeps them too (multi-year average and the stability margin)
    values, orgs = _synthetic([2021, 2022, 2023, 2024, 2025], drift=0.03)
    groups, _ = C.default_groups(None, values, orgs, [], _cfg(), MIN)
    by = groups.groupby(["org_code", "year"])["comparator_code"].apply(frozenset).unstack()
    assert (by[2025] == by[2024]).mean() >= 0.8


def test_default_group_is_resized_away_from_a_set_it_would_leak_against():
    values, orgs = _synthetic([2025])
    # cluster b has 7 members: a group of 6 or 7 nearest holding the other 6 members of b differs by 0-1 from it
    groups, _ = C.default_groups(None, values, orgs, [], _cfg(k=7), MIN)
    present = set(orgs["org_code"])
    clusters = orgs.set_index("org_code")["cluster"]
    for own, g in groups.groupby("org_code"):
        group = set(g["comparator_code"])
        for other in (present, set(clusters[clusters == clusters[own]].index)):
            if len(other) >= MIN:
                assert not C.leak(group, other, own, MIN), (own, sorted(group))


def test_leak_counts_the_difference_without_the_member_itself():
    assert C.leak({"A", "B", "C", "D", "E"}, {"A", "B", "C", "D", "E", "X"}, "Z", 5) == 1
    assert C.leak({"A", "B", "C", "D", "E"}, {"A", "B", "C", "D", "E", "Z"}, "Z", 5) == 0  # Z knows itself
    assert C.leak(set("ABCDE"), set("ABCDEFGHIJ"), "Z", 5) == 0
    assert C.leak(set("ABCDE"), set("ABCDE"), "A", 5) == 0


def _sets(raw: list[dict], orgs: pd.DataFrame) -> list[C.AnalystSet]:
    return C.resolve_sets(list(Settings.model_validate({"comparator_sets": raw}).comparator_sets), orgs)


def test_analyst_sets_that_would_leak_are_refused_with_a_clear_message():
    _, orgs = _synthetic([2025])
    b = [f"O{i:02d}" for i in range(3, 10)]  # cluster b
    leaking = _sets([{"code": "b_plus", "name_nl": "B plus", "name_en": "B plus", "members": [*b, "O10", "O11"]}], orgs)
    with pytest.raises(C.ComparatorConfigError) as exc:
        C.check_sets(leaking, orgs, [2025], MIN)
    msg = str(exc.value)
    assert "'b_plus'" in msg and "cluster b" in msg and "differ by only 2" in msg and "verschillen" in msg
    # the same against another analyst set
    pair = _sets(
        [
            {"code": "eerste", "name_nl": "E", "name_en": "E", "members": [f"O{i:02d}" for i in range(3, 17)]},
            {"code": "tweede", "name_nl": "T", "name_en": "T", "members": [f"O{i:02d}" for i in range(3, 19)]},
        ],
        orgs,
    )
    with pytest.raises(C.ComparatorConfigError, match="'tweede' and 'eerste' differ by only 2"):
        C.check_sets(pair, orgs, [2025], MIN)
    small = _sets([{"code": "klein", "name_nl": "K", "name_en": "K", "members": ["O10", "O11", "O12", "O13"]}], orgs)
    with pytest.raises(C.ComparatorConfigError, match="'klein' has 4 members in 2025, at least 5 needed"):
        C.check_sets(small, orgs, [2025], MIN)
    with pytest.raises(C.ComparatorConfigError, match="unknown organisation"):
        _sets([{"code": "x1", "name_nl": "X", "name_en": "X", "members": ["O10", "NOPE"]}], orgs)
    with pytest.raises(C.ComparatorConfigError, match="does not occur in the register"):
        _sets([{"code": "x2", "name_nl": "X", "name_en": "X", "where": {"cluster": ["zz"]}}], orgs)
    safe = _sets([{"code": "ok", "name_nl": "O", "name_en": "O", "members": [f"O{i:02d}" for i in range(3, 17)]}], orgs)
    C.check_sets(safe, orgs, [2025], MIN)  # clusters b and c: 7 more than either cluster, 10 fewer than all


def test_what_if_position_follows_the_rank_and_quartile_rules():
    from pipeline.compute import stats

    others = [3.0, 5.0, 5.0, 7.0, 9.0, 11.0, 13.0]
    for x in (1.0, 5.0, 8.0, 13.0, 20.0):
        for direction in ("higher", "lower"):
            got = C.what_if_position(x, others, direction)
            vals = np.array([*others, x])
            assert got["rank"] == int(stats.competition_rank(vals, direction)[-1])
            assert got["quartile"] == int(stats.quartile_class(vals, direction)[-1])
            assert got["n"] == len(vals)


# ---------------------------------------------------------------------- workspace settings, end to end


def test_methods_override_is_checked_with_the_packaged_model(tmp_path):
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "methods.yaml"
    path.write_text("comparators:\n  k: 7\n", "utf-8")
    cfg = load_for("methods.yaml", tmp_path)
    assert cfg["comparators"]["k"] == 7 and cfg["comparators"]["variables"]  # the rest from the packaged file
    path.write_text("comparators:\n  kk: 7\n", "utf-8")
    with pytest.raises(MetadataError, match=r"data/methods.yaml: comparators.kk: unknown key"):
        load_for("methods.yaml", tmp_path)
    path.write_text("comparators:\n  k: 2\n", "utf-8")
    with pytest.raises(MetadataError, match=r"comparators.k: Input should be greater than or equal to 5"):
        load_for("methods.yaml", tmp_path)


def test_compute_uses_the_workspace_register_and_methods_and_refuses_a_leaking_set(demo_workspace, tmp_path):
    ws = copy_workspace(demo_workspace, tmp_path / "ws")
    # a changed methods file makes the results stale
    (ws.root / "data" / "methods.yaml").write_text("comparators:\n  k: 7\n", "utf-8")
    con = connect(ws.db_path, read_only=True)
    try:
        assert any("methods" in en for _, en in stale_reasons(con, Workspace.at(ws.root)))
        org = con.execute(
            "SELECT org_code FROM organisations WHERE cluster = 'uitkeren' AND size_class = 'groot' ORDER BY 1 LIMIT 1"
        ).fetchone()[0]
    finally:
        con.close()
    # a member moved to another cluster in the workspace register counts at the next compute, without ingest
    path = ws.root / "data" / "organisations.csv"
    rows = list(csv.DictReader(path.read_text("utf-8").splitlines()))
    for r in rows:
        if r["org_code"] == org:
            r["cluster"] = "registreren"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    done = rbb("compute", "--root", str(ws.root))
    assert done.returncode == 0, done.stderr
    con = connect(ws.db_path, read_only=True)
    try:
        prof = con.execute(
            "SELECT same_category, group_size FROM comparator_profile WHERE year = ? AND org_code = ? "
            "AND variable = 'taak'",
            [YEAR, org],
        ).fetchone()
        nearest = {
            r[0] for r in con.execute("SELECT group_size FROM comparator_groups WHERE basis = 'nearest'").fetchall()
        }
        same_cluster = con.execute(
            "SELECT count(*) FROM comparator_groups g JOIN organisations o ON o.org_code = g.comparator_code "
            "WHERE g.year = ? AND g.org_code = ? AND g.set_kind = 'default' AND o.cluster = 'registreren'",
            [YEAR, org],
        ).fetchone()[0]
        assert not stale_reasons(con, Workspace.at(ws.root))
    finally:
        con.close()
    assert nearest == {7}
    assert prof[0] == same_cluster  # the profile counts the new cluster
    # an analyst set that differs from a cluster by fewer than five members is refused, with a message
    settings = ws.root / "data" / "settings.yaml"
    raw = yaml.safe_load(settings.read_text("utf-8"))
    registreren = sorted(r["org_code"] for r in rows if r["cluster"] == "registreren" and not r["member_until"])
    raw["comparator_sets"] = [
        {"code": "bijna_registreren", "name_nl": "Bijna registreren", "name_en": "Almost registers",
         "members": registreren[:-1]},
    ]  # fmt: skip
    settings.write_text(yaml.safe_dump(raw, sort_keys=False), "utf-8")
    done = rbb("compute", "--root", str(ws.root))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    text = done.stderr + done.stdout
    assert "'bijna_registreren'" in text and "refused" in text and "geweigerd" in text


def test_export_writes_the_groups_for_analysts(demo_workspace, tmp_path):
    from pipeline.report.export import export

    written = {p.name: p for p in export(demo_workspace, YEAR, "csv", out_dir=tmp_path)}
    assert {"comparator_groups.csv", "comparator_stats.csv", "comparator_profile.csv"} <= set(written)
    groups = pd.read_csv(written["comparator_groups.csv"], sep=";", decimal=",", encoding="utf-8-sig")
    assert {"org_code", "comparator_code", "group_size", "reason_nl", "reason_en"} <= set(groups.columns)
    d = groups[groups["set_kind"] == "default"]
    assert (d.groupby("org_code").size() == d.groupby("org_code")["group_size"].first()).all()
    assert set(groups["set_code"]) == {"default", "grote_uitvoerders", "vergunnen_registreren"}


def test_bootstrap_medians_are_numpys_bit_for_bit_and_the_se_matches_a_direct_bootstrap():
    """The sorted-rows median of the group significance equals ``np.median(axis=1)`` exactly for every row
    length (odd, even, ties, scales), and the bootstrap SE equals one computed with numpy's median."""
    from pipeline.compute.stats import bootstrap_median_se, sample_medians

    rng = np.random.default_rng(1)
    for n in range(1, 41):
        for scale in (1.0, 1e-3, 1e6):
            x = rng.normal(size=(300, n)) * scale
            x[:, 0] = x[:, -1]  # ties
            assert sample_medians(x).tobytes() == np.median(x, axis=1).tobytes(), n
    values = [61.0, 70.5, 72.0, 80.25, 66.0, 74.0, 69.5, float("nan")]
    x = np.array([v for v in values if v == v])
    idx = np.random.default_rng(7).integers(0, x.size, size=(2000, x.size))
    direct = float(np.std(np.median(x[idx], axis=1), ddof=1))
    assert bootstrap_median_se(values, 2000, np.random.default_rng(7)) == direct
    assert np.isnan(bootstrap_median_se([1.0], 100, np.random.default_rng(0)))


def _distances_one_by_one(z, cats, cfg, own, candidates):
    """The distance of each candidate on its own, as a reader would compute it by hand (the numeric variables
    first, then the categorical ones, each in the configured order)."""
    out = {}
    ordered = sorted(cfg["variables"], key=lambda v: v["kind"] != "numeric")
    for c in candidates:
        total = weight = 0.0
        for v in ordered:
            if v["kind"] == "numeric":
                a = z.loc[own, v["code"]] if own in z.index else np.nan
                b = z.loc[c, v["code"]] if c in z.index else np.nan
                if pd.isna(a) or pd.isna(b):
                    continue
                total += v["weight"] * (float(a) - float(b)) ** 2
            else:
                a, b = cats[v["code"]].get(own), cats[v["code"]].get(c)
                if a is None or b is None or pd.isna(a) or pd.isna(b):
                    continue
                total += v["weight"] * (0.0 if a == b else float(v["mismatch"]) ** 2)
            weight += v["weight"]
        out[c] = float(np.sqrt(total / weight)) if weight > 0 else np.inf
    return out


def test_distances_equal_a_candidate_by_candidate_computation_to_the_bit():
    rng = np.random.default_rng(7)
    orgs = [f"O{i:02d}" for i in range(30)]
    z = pd.DataFrame(rng.normal(size=(27, 3)), index=orgs[:27], columns=["size", "cost", "digital"])
    z[z > 1.2] = np.nan  # gaps: a variable is left out for a pair where either has no value
    cats = {"cluster": pd.Series(rng.choice(["a", "b", None], size=29), index=orgs[1:], dtype=object)}
    cfg = {
        "variables": [
            {"code": "size", "kind": "numeric", "weight": 2},
            {"code": "cluster", "kind": "categorical", "weight": 1.0, "mismatch": 1.5},
            {"code": "cost", "kind": "numeric", "weight": 1.0},
            {"code": "digital", "kind": "numeric", "weight": 0.5},
        ]
    }
    for own in orgs:  # members with and without context, with and without a cluster
        candidates = [c for c in orgs if c != own]
        got = C.distances(z, cats, cfg, own, candidates)
        want = _distances_one_by_one(z, cats, cfg, own, candidates)
        assert list(got.index) == candidates
        assert {c: float(x) for c, x in got.items()} == want  # the same floats, not only close ones
    assert np.isinf(C.distances(z, cats, {"variables": cfg["variables"][:1]}, "O29", ["O01"])["O01"])
