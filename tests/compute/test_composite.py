"""Tests for pipeline.methods.composite against COINr 6's published ASEM run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pipeline.compute.methods.composite import (
    AggregateMeta,
    AggregationSpec,
    CompositeSpec,
    ImputationSpec,
    IndicatorMeta,
    NormalisationSpec,
    TreatmentSpec,
    UncertaintySpec,
    aggregate,
    build_composite,
    kurtosis,
    normalise,
    simulate_ranks,
    skewness,
    spec_from_imeta,
    treat_outliers,
    uncertainty,
)

DATA = Path(__file__).parents[1] / "data" / "coinr_asem"
DENOMINATORS = {
    "Den_Area": "Area",
    "Den_Energy": "Energy",
    "Den_GDP": "GDP",
    "Den_Pop": "Population",
}
RTOL = 1e-9
ATOL = 1e-9


def _ref(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{name}.csv").set_index("UnitCode")


@pytest.fixture(scope="module")
def asem_data() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "data_Raw.csv")
    den = pd.read_csv(DATA / "input_Denominators.csv")[["UnitCode", *DENOMINATORS]]
    return raw.merge(den.rename(columns=DENOMINATORS), on="UnitCode", validate="one_to_one")


@pytest.fixture(scope="module")
def asem_spec() -> CompositeSpec:
    method = json.loads((DATA / "method.json").read_text())
    t = method["treat"]
    return spec_from_imeta(
        pd.read_csv(DATA / "ASEM_iMeta.csv"),
        unit_column="UnitCode",
        imputation=ImputationSpec(method["impute"]["imtype"][0], method["impute"]["groupvar"][0]),
        treatment=TreatmentSpec(
            t_skew=t["t_skew"][0],
            t_kurt=t["t_kurt"][0],
            winchange=t["winchange"][0],
            fallback=t["deflog"][0].lower(),
        ),
        normalisation=NormalisationSpec(method["normalise"]["ntype"][0], range=(0, 100)),
        aggregation=AggregationSpec(method["aggregate"]["agtype"][0]),
        rank_decimals=2,
    )


@pytest.fixture(scope="module")
def asem(asem_data: pd.DataFrame, asem_spec: CompositeSpec):
    return build_composite(asem_data, asem_spec)


def _assert_stage(ours: pd.DataFrame, reference: str) -> None:
    ref = _ref(reference).loc[ours.index, ours.columns]
    np.testing.assert_array_equal(ours.isna().to_numpy(), ref.isna().to_numpy())
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(dtype=float), rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------- reference, stage by stage


def test_spec_structure_matches_reference(asem_spec: CompositeSpec) -> None:
    structure = pd.read_csv(DATA / "data_Aggregated.csv", nrows=0).columns
    assert set(asem_spec.indicator_codes) <= set(structure)
    assert len(asem_spec.indicators) == 49
    assert sorted(a.code for a in asem_spec.aggregates if a.level == 2) == sorted(
        ["Physical", "ConEcFin", "Political", "Instit", "P2P", "Environ", "Social", "SusEcFin"]
    )
    assert [a.code for a in asem_spec.aggregates if a.parent is None] == ["Index"]


def test_denominated(asem) -> None:
    _assert_stage(asem.denominated, "data_Denominated")
    assert int(asem.denominated.isna().sum().sum()) == 65


def test_imputed(asem) -> None:
    _assert_stage(asem.imputed, "data_Imputed")
    flags = asem.imputed_flags
    assert int(flags.to_numpy().sum()) == 65
    assert flags.equals(asem.denominated.isna())
    assert not asem.imputed.isna().to_numpy().any()


def test_imputation_is_group_mean(asem, asem_data: pd.DataFrame) -> None:
    groups = asem_data.set_index("UnitCode")["Group_EurAsia"]
    unit, code = asem.imputed_flags.stack().loc[lambda s: s].index[0]
    peers = asem.denominated.loc[groups == groups[unit], code]
    assert asem.imputed.loc[unit, code] == pytest.approx(peers.mean())


def test_treated(asem) -> None:
    _assert_stage(asem.treated, "data_Treated")


def test_treatment_summary(asem) -> None:
    summary = pd.read_csv(DATA / "treat_summary.csv", keep_default_na=False).set_index("IndCode")
    log = asem.treatment_log.loc[summary.index]
    np.testing.assert_array_equal(log["low"].to_numpy(), summary["Low"].to_numpy())
    np.testing.assert_array_equal(log["high"].to_numpy(), summary["High"].to_numpy())
    assert list(log["treatment"]) == list(summary["Treatment"])
    assert not log["log"].any()
    winsorised = set(summary.index[summary["Treatment"] != "None"])
    assert set(log.index[log["winsorised"] > 0]) == winsorised
    treated = log[log["winsorised"] > 0]
    within = (treated["skew_after"].abs() <= 2.0) | (treated["kurt_after"] <= 3.5)
    assert within.all()


def test_treatment_flags(asem) -> None:
    ref = pd.read_csv(DATA / "treat_flags.csv").set_index("UnitCode")
    ours = asem.treatment_flags.loc[ref.index, ref.columns]
    assert (ours.to_numpy() == ref.to_numpy()).all()


def test_normalised(asem) -> None:
    _assert_stage(asem.normalised, "data_Normalised")
    assert asem.normalised.min().min() == 0.0
    assert asem.normalised.max().max() == 100.0


def test_aggregated(asem) -> None:
    _assert_stage(asem.aggregated, "data_Aggregated")


def test_scores_and_ranks(asem) -> None:
    ranks = pd.read_csv(DATA / "results_AggregatesRank.csv").set_index("UnitCode")
    ours = asem.ranks.loc[ranks.index, ranks.columns[1:]]
    assert (ours.to_numpy() == ranks[ranks.columns[1:]].to_numpy()).all()
    scores = pd.read_csv(DATA / "results_AggregatesScore.csv").set_index("UnitCode")
    cols = list(scores.columns[3:])
    np.testing.assert_allclose(
        asem.scores.loc[scores.index, cols].round(2).to_numpy(), scores[cols].to_numpy(), atol=1e-9
    )


def test_index_top_and_bottom(asem) -> None:
    index = asem.scores["Index"].sort_values(ascending=False)
    assert list(index.index[:3]) == ["CHE", "NLD", "DNK"]
    assert index.iloc[:3].round(2).tolist() == [68.38, 64.82, 64.80]
    assert asem.ranks.loc["PAK", "Index"] == 50
    assert asem.ranks.loc["RUS", "Index"] == 51


def test_ranks_use_rounded_scores(asem_data: pd.DataFrame, asem_spec: CompositeSpec) -> None:
    spec = CompositeSpec.from_dict({**asem_spec.to_dict(), "rank_decimals": None})
    exact = build_composite(asem_data, spec).ranks
    ref = pd.read_csv(DATA / "results_AggregatesRank.csv").set_index("UnitCode")
    diff = exact.loc[ref.index, ref.columns[1:]] != ref[ref.columns[1:]]
    assert sorted(diff.stack().loc[lambda s: s].index) == [("PRT", "Instit"), ("RUS", "ConEcFin")]


def test_other_imputation_does_not_match_reference(asem_data, asem_spec) -> None:
    spec = CompositeSpec.from_dict({**asem_spec.to_dict(), "imputation": {"method": "indicator_mean"}})
    res = build_composite(asem_data, spec)
    with pytest.raises(AssertionError):
        _assert_stage(res.imputed, "data_Imputed")


def test_spec_round_trips_through_json(asem_spec: CompositeSpec, asem) -> None:
    again = CompositeSpec.from_json(asem_spec.to_json())
    assert again == asem_spec
    assert json.loads(json.dumps(asem.method)) == asem_spec.to_dict()
    assert asem.method["treatment"]["fallback"] == "ctlog"
    assert asem.method["imputation"] == {"method": "group_mean", "group_column": "Group_EurAsia"}


# ---------------------------------------------------------------- building blocks


def test_skewness_kurtosis_are_bias_corrected() -> None:
    x = np.random.default_rng(3).lognormal(size=40)
    x[5] = np.nan
    assert skewness(x) == pytest.approx(stats.skew(x, bias=False, nan_policy="omit"))
    assert kurtosis(x) == pytest.approx(stats.kurtosis(x, bias=False, nan_policy="omit"))


def test_log_fallback_when_winsorising_fails() -> None:
    x = 2.0 ** np.arange(30)
    values = pd.DataFrame({"a": x, "b": np.linspace(1, 2, 30)})
    treated, log, flags = treat_outliers(values, TreatmentSpec(winmax=2))
    assert log.loc["a", "log"] and log.loc["a", "treatment"] == "CTLog (exceeded winmax)"
    lo, hi = x.min(), x.max()
    np.testing.assert_allclose(treated["a"], np.log(x - lo + 0.01 * (hi - lo)))
    assert (flags["a"] == "CTLog").all() and (flags["b"] == "No").all()
    assert log.loc["b", "treatment"] == "None"


def test_treatment_needs_both_skew_and_kurtosis() -> None:
    x = np.r_[np.zeros(26), np.ones(4)] + np.linspace(0, 0.01, 30)
    assert abs(skewness(x)) > 2.0 and kurtosis(x) < 3.5
    treated, log, _ = treat_outliers(pd.DataFrame({"a": x}), TreatmentSpec())
    assert log.loc["a", "treatment"] == "None"
    np.testing.assert_array_equal(treated["a"], x)


def test_default_winmax_is_ten_percent_of_units() -> None:
    x = np.linspace(0, 1, 30)
    x[-3:] = [100.0, 200.0, 300.0]
    values = pd.DataFrame({"a": x})
    _, log, flags = treat_outliers(values, TreatmentSpec())
    assert log.loc["a", "treatment"] == "Winsorised 3 points"
    assert list(flags["a"].iloc[-3:]) == ["WHigh"] * 3
    _, log2, _ = treat_outliers(values, TreatmentSpec(winmax=2))
    assert log2.loc["a", "log"]


def test_winsorise_low_side() -> None:
    x = np.r_[-50.0, np.linspace(0, 1, 29)]
    treated, log, flags = treat_outliers(pd.DataFrame({"a": x}), TreatmentSpec())
    assert log.loc["a", "low"] == 1 and log.loc["a", "high"] == 0
    assert treated["a"].iloc[0] == 0.0 and flags["a"].iloc[0] == "WLow"


def _toy_spec(**kw) -> CompositeSpec:
    return CompositeSpec(
        indicators=[
            IndicatorMeta("x1", "P1"),
            IndicatorMeta("x2", "P1", direction=-1),
            IndicatorMeta("x3", "P2", weight=2.0),
            IndicatorMeta("x4", "P2"),
        ],
        aggregates=[
            AggregateMeta("P1", 2, "Index"),
            AggregateMeta("P2", 2, "Index"),
            AggregateMeta("Index", 3),
        ],
        unit_column="unit",
        treatment=TreatmentSpec(method="none"),
        **kw,
    )


def _toy_data(n: int = 12, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.gamma(2.0, 3.0, size=(n, 4)), columns=["x1", "x2", "x3", "x4"])
    df.insert(0, "unit", [f"U{i:02d}" for i in range(n)])
    return df


def test_geometric_mean_of_equal_values() -> None:
    spec = _toy_spec(aggregation=AggregationSpec("geom_mean"))
    norm = pd.DataFrame(7.5, index=["a", "b"], columns=spec.indicator_codes)
    norm.loc["b"] = [2.0, 8.0, 4.0, 4.0]
    out = aggregate(norm, spec)
    assert out.loc["a", ["P1", "P2", "Index"]].tolist() == pytest.approx([7.5, 7.5, 7.5])
    assert out.loc["b", "P1"] == pytest.approx(4.0)
    arith = aggregate(norm, _toy_spec())
    assert (out[["P1", "P2", "Index"]] <= arith[["P1", "P2", "Index"]] + 1e-12).all().all()


def test_geometric_mean_rejects_non_positive() -> None:
    spec = _toy_spec(aggregation=AggregationSpec("geom_mean"))
    with pytest.raises(ValueError):
        build_composite(_toy_data(), spec)


def test_arithmetic_mean_ignores_missing_and_uses_weights() -> None:
    spec = _toy_spec()
    norm = pd.DataFrame([[10.0, np.nan, 30.0, 60.0]], index=["a"], columns=spec.indicator_codes)
    out = aggregate(norm, spec)
    assert out.loc["a", "P1"] == 10.0
    assert out.loc["a", "P2"] == pytest.approx(40.0)
    assert out.loc["a", "Index"] == pytest.approx(25.0)


def test_direction_reversal() -> None:
    data = _toy_data()
    res = build_composite(data, _toy_spec())
    x2 = data["x2"].to_numpy()
    expected = (x2.max() - x2) / (x2.max() - x2.min()) * 100
    np.testing.assert_allclose(res.normalised["x2"], expected)
    flipped = _toy_spec()
    flipped.indicators[1].direction = 1
    res2 = build_composite(data, flipped)
    np.testing.assert_allclose(res.normalised["x2"], 100 - res2.normalised["x2"])
    assert res.normalised["x2"].idxmax() == data.loc[data["x2"].idxmin(), "unit"]


def test_zscore_and_rank_normalisation() -> None:
    data = _toy_data()
    values = data.set_index("unit")[["x1", "x2"]]
    z = normalise(values, [1, -1], NormalisationSpec("zscore", mean=10, sd=2))
    np.testing.assert_allclose(z.mean(), [10, 10])
    np.testing.assert_allclose(z.std(ddof=1), [2, 2])
    assert z["x2"].idxmax() == values["x2"].idxmin()
    tied = pd.DataFrame({"a": [3.0, 1.0, 3.0, np.nan]})
    r = normalise(tied, [1], NormalisationSpec("rank"))
    assert r["a"].tolist()[:3] == [2.5, 1.0, 2.5] and np.isnan(r["a"].iloc[3])


def test_imputation_variants() -> None:
    data = _toy_data()
    data.loc[[0, 1], "x1"] = np.nan
    data["grp"] = ["A", "B"] * 6
    none = build_composite(data, _toy_spec())
    assert not none.imputed_flags.to_numpy().any() and none.imputed["x1"].isna().sum() == 2
    mean = build_composite(data, _toy_spec(imputation=ImputationSpec("indicator_mean")))
    assert mean.imputed.loc["U00", "x1"] == pytest.approx(data["x1"].mean())
    grp = build_composite(data, _toy_spec(imputation=ImputationSpec("group_mean", "grp")))
    assert grp.imputed.loc["U01", "x1"] == pytest.approx(data.loc[data.grp == "B", "x1"].mean())
    assert grp.imputed_flags["x1"].sum() == 2


def test_ties_get_minimum_rank() -> None:
    spec = _toy_spec()
    data = _toy_data(4)
    data.loc[1, ["x1", "x2", "x3", "x4"]] = data.loc[0, ["x1", "x2", "x3", "x4"]].to_numpy()
    ranks = build_composite(data, spec).ranks["Index"]
    assert ranks["U00"] == ranks["U01"]
    assert sorted(ranks.tolist()).count(ranks["U00"]) == 2


@settings(max_examples=15, deadline=None)
@given(st.permutations(list(range(51))))
def test_unit_order_does_not_change_scores(asem_data, asem_spec, asem, perm) -> None:
    shuffled = asem_data.iloc[list(perm)].reset_index(drop=True)
    res = build_composite(shuffled, asem_spec)
    pd.testing.assert_frame_equal(
        res.scores.loc[asem.scores.index], asem.scores, check_exact=False, rtol=1e-12, atol=1e-10
    )
    assert res.ranks.loc[asem.ranks.index].equals(asem.ranks)


# ---------------------------------------------------------------- uncertainty


def test_uncertainty_reproducible_and_contains_nominal(asem_data, asem_spec, asem) -> None:
    a = uncertainty(asem_data, asem_spec, n_runs=500, seed=42)
    b = uncertainty(asem_data, asem_spec, n_runs=500, seed=42)
    pd.testing.assert_frame_equal(a, b)
    c = uncertainty(asem_data, asem_spec, n_runs=500, seed=43)
    assert not a.equals(c)
    assert list(a.columns) == ["unit", "nominal_rank", "median_rank", "rank_lo", "rank_hi"]
    assert (a.rank_lo <= a.nominal_rank).all() and (a.nominal_rank <= a.rank_hi).all()
    assert (a.rank_lo <= a.median_rank).all() and (a.median_rank <= a.rank_hi).all()
    nominal = asem.scores["Index"].rank(ascending=False, method="min")
    np.testing.assert_array_equal(a.set_index("unit").nominal_rank, nominal.loc[a.unit])


def test_uncertainty_runs_and_alternatives(asem_data, asem_spec) -> None:
    ranks, runs = simulate_ranks(asem_data, asem_spec, n_runs=300, seed=7)
    assert ranks.shape == (300, 51) and len(runs) == 300
    assert set(runs["aggregation"]) == {"arith_mean", "geom_mean"}
    assert set(runs["normalisation"]) == {"minmax", "zscore", "rank"}
    r = ranks.to_numpy()
    assert np.array_equal(np.sort(r, axis=1), np.tile(np.arange(1, 52), (300, 1)))


def test_uncertainty_without_noise_is_nominal(asem_data, asem_spec) -> None:
    d = asem_spec.to_dict()
    d["uncertainty"] = {
        "weight_noise": 0.0,
        "normalisations": [{"method": "minmax", "range": [0, 100]}],
        "aggregations": ["arith_mean"],
    }
    u = uncertainty(asem_data, d, n_runs=20, seed=1)
    assert (u.rank_lo == u.nominal_rank).all() and (u.rank_hi == u.nominal_rank).all()


def test_uncertainty_spec_defaults() -> None:
    u = UncertaintySpec()
    assert u.weight_noise == 0.25 and u.quantiles == (0.05, 0.95)
    assert [n.method for n in u.normalisations] == ["minmax", "zscore", "rank"]


def test_published_imputation_uses_only_published_statistics() -> None:
    """The benchmark's use of the method: a missing value gets the cluster mean only when that cluster is
    published, else the all-member mean from 5 values, else it stays missing."""
    from pipeline.compute.engine import compute_benchmark_stats, published_imputation

    # a third cluster of five keeps the big cluster's five values from differing from all members' by fewer
    # than five (differencing: such a cluster would not be published, docs/comparators.md)
    codes = [f"O{i}" for i in range(13)]
    orgs = pd.DataFrame({"org_code": codes, "cluster": ["big"] * 6 + ["small"] * 2 + ["other"] * 5})
    rows = []
    for i, c in enumerate(codes):
        rows.append({"org_code": c, "year": 2025, "indicator_code": "x", "value": float(10 * i)})
        if i < 3:
            rows.append({"org_code": c, "year": 2025, "indicator_code": "y", "value": float(i)})
    values = pd.DataFrame(rows)
    values.loc[(values.org_code == "O7") & (values.indicator_code == "x"), "value"] = np.nan  # small cluster
    values.loc[(values.org_code == "O0") & (values.indicator_code == "x"), "value"] = np.nan  # big cluster
    bstats = compute_benchmark_stats(values, orgs, 5)
    wide = values.pivot(index="org_code", columns="indicator_code", values="value")
    filled, source = published_imputation(wide, orgs.set_index("org_code")["cluster"], bstats, 2025, 5)
    all_mean = values.loc[(values.indicator_code == "x"), "value"].mean()
    big_mean = values.loc[values.org_code.isin(codes[1:6]) & (values.indicator_code == "x"), "value"].mean()
    assert filled.loc["O0", "x"] == pytest.approx(big_mean) and source.loc["O0", "x"] == "cluster"
    # the small cluster (one other member, O6 = 60) is unpublished: the all-member mean, not 60
    assert filled.loc["O7", "x"] == pytest.approx(all_mean) and source.loc["O7", "x"] == "all"
    # y has 3 values: no published statistic, stays missing
    assert np.isnan(filled.loc["O5", "y"]) and source.loc["O5", "y"] == ""
