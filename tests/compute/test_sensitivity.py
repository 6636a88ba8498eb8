"""Sensitivity and redundancy analysis of the composite: estimators checked against known truths first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from workspaces import dutch

from pipeline.compute.methods.composite import (
    AggregateMeta,
    AggregationSpec,
    CompositeSpec,
    ImputationSpec,
    IndicatorMeta,
    NormalisationSpec,
    TreatmentSpec,
    UncertaintySpec,
    build_composite,
    uncertainty,
)
from pipeline.compute.methods.sensitivity import (
    composite_sensitivity,
    cronbach_alpha,
    indicator_correlations,
    ishigami,
    ishigami_indices,
    rank_uncertainty,
    sobol_indices,
)


def test_sobol_estimators_recover_the_ishigami_indices():
    """Known in closed form: S = (0.314, 0.442, 0), S_T = (0.558, 0.442, 0.244) for a = 7, b = 0.1."""
    s1_true, st_true = ishigami_indices()
    assert np.allclose(s1_true, [0.3139, 0.4424, 0.0], atol=1e-4)
    assert np.allclose(st_true, [0.5576, 0.4424, 0.2437], atol=1e-4)
    res = sobol_indices(ishigami, [("x1", 1), ("x2", 1), ("x3", 1)], n=2**15, seed=7)
    assert np.allclose(res.first_order[:, 0], s1_true, atol=0.03)
    assert np.allclose(res.total[:, 0], st_true, atol=0.03)


def test_sobol_groups_move_together():
    """A model y = x1 + x2 + 0·x3 with (x1, x2) as one group: that group explains everything."""
    res = sobol_indices(lambda u: u[:, 0] + u[:, 1], [("pair", 2), ("idle", 1)], n=4096, seed=1)
    assert res.first_order[0, 0] == pytest.approx(1.0, abs=0.05)
    assert res.total[0, 0] == pytest.approx(1.0, abs=0.05)
    assert abs(res.first_order[1, 0]) < 0.05 and res.total[1, 0] < 0.01


def _spec(indicators: list[str], themes: dict[str, str], **uncertainty_kw) -> CompositeSpec:
    return CompositeSpec(
        indicators=[IndicatorMeta(code=c, parent=themes[c], direction=1) for c in indicators],
        aggregates=[AggregateMeta(code=t, level=2, parent="index") for t in sorted(set(themes.values()))]
        + [AggregateMeta(code="index", level=3)],
        unit_column="unit",
        denominate=False,
        imputation=ImputationSpec(method="indicator_mean"),
        treatment=TreatmentSpec(method="none"),
        normalisation=NormalisationSpec(method="minmax", range=(0, 100)),
        aggregation=AggregationSpec(method="arith_mean"),
        uncertainty=UncertaintySpec(**uncertainty_kw),
    )


@pytest.fixture(scope="module")
def small_composite():
    rng = np.random.default_rng(3)
    n = 20
    data = pd.DataFrame({"unit": [f"U{i:02d}" for i in range(n)]})
    for k, c in enumerate(["a1", "a2", "b1", "b2"]):
        data[c] = rng.normal(50 + k, 10, n)
    data.loc[3, "b2"] = np.nan
    themes = {"a1": "A", "a2": "A", "b1": "B", "b2": "B"}
    return data, themes


def test_only_the_uncertain_choice_that_varies_gets_sensitivity(small_composite):
    """With fixed weights and one aggregation, the normalisation is the only choice left: it explains every
    unit's rank variance alone (S = S_T = 1) wherever the rank moves at all."""
    data, themes = small_composite
    data = data.fillna(50.0)  # nothing imputed: imputation is not an uncertain choice here
    spec = _spec(list(themes), themes, weight_noise=0.0, aggregations=["arith_mean"])
    base = build_composite(data, spec)
    sens = composite_sensitivity(base, n=4096, seed=2)
    moving = sens[sens["rank_variance"] > 0]
    assert set(sens["factor"]) == {"normalisation"}
    assert len(moving) > 0
    assert np.allclose(moving["first_order"], 1.0, atol=0.1)
    assert np.allclose(moving["total"], 1.0, atol=0.1)


def test_sensitivity_names_every_uncertain_choice_and_totals_dominate(small_composite):
    data, themes = small_composite
    spec = _spec(list(themes), themes, weight_noise=0.25)
    base = build_composite(data, spec)
    se = pd.DataFrame(2.0, index=base.treated.index, columns=list(themes))
    sens = composite_sensitivity(base, se=se, n=256, seed=5)
    assert set(sens["factor"]) == {"weights", "normalisation", "aggregation", "imputation", "indicator_error"}
    ok = sens.dropna()
    assert (ok["total"] >= ok["first_order"] - 0.15).all()  # S_T >= S_i up to Monte Carlo error
    per_unit = ok.groupby("unit")["first_order"].sum()
    assert (per_unit <= 1.25).all()


def test_rank_intervals_with_indicator_error(small_composite):
    """Without indicator error the intervals match the method-only Monte Carlo; with it they are wider,
    and with a negligible error they collapse back."""
    data, themes = small_composite
    spec = _spec(list(themes), themes, weight_noise=0.25)
    base = build_composite(data, spec)
    width = lambda u: float((u["rank_hi"] - u["rank_lo"]).mean())  # noqa: E731
    plain = rank_uncertainty(base, None, n_runs=2000, seed=1)
    reference = uncertainty(data, spec, n_runs=2000, seed=1)
    assert (plain["nominal_rank"].to_numpy() == reference["nominal_rank"].to_numpy()).all()
    assert abs(width(plain) - width(reference)) < 0.5
    tiny = rank_uncertainty(base, pd.DataFrame(1e-9, index=base.treated.index, columns=list(themes)), 2000, 1)
    wide = rank_uncertainty(base, pd.DataFrame(8.0, index=base.treated.index, columns=list(themes)), 2000, 1)
    assert width(wide) > width(plain) + 1.0
    assert abs(width(tiny) - width(plain)) < 0.5


def test_cronbach_alpha_matches_the_covariance_form_and_a_known_truth():
    """Parallel items y_ij = t_i + e_ij with var(t) = 1, var(e) = s²: the population alpha is
    k·ρ/(1 + (k − 1)·ρ) with ρ = 1/(1 + s²) (Spearman–Brown)."""
    rng = np.random.default_rng(11)
    k, n, s2 = 4, 40_000, 1.5
    t = rng.normal(size=(n, 1))
    y = t + rng.normal(scale=np.sqrt(s2), size=(n, k))
    rho = 1 / (1 + s2)
    truth = k * rho / (1 + (k - 1) * rho)
    alpha, kk, nn = cronbach_alpha(y)
    assert (kk, nn) == (k, n)
    assert alpha == pytest.approx(truth, abs=0.01)
    c = np.cov(y[:500], rowvar=False)
    cov_form = k / (k - 1) * (1 - np.trace(c) / c.sum())
    assert cronbach_alpha(y[:500])[0] == pytest.approx(cov_form, rel=1e-12)
    assert np.isnan(cronbach_alpha(y[:, :1])[0])


def test_indicator_correlations_against_independent_computation():
    rng = np.random.default_rng(4)
    n = 30
    base = rng.normal(size=n)
    df = pd.DataFrame(
        {
            "x": base,
            "x_copy": base * 2 + rng.normal(scale=0.05, size=n),
            "y": rng.normal(size=n),
            "bad": -base + rng.normal(scale=0.3, size=n),
        }
    )
    df.loc[2, "y"] = np.nan
    themes = {"x": "T", "x_copy": "T", "y": "U", "bad": "T"}
    out = indicator_correlations(df, themes, {"x": 1, "x_copy": 1, "y": 1, "bad": 1})
    rec = out.set_index(["indicator_a", "indicator_b"])
    ok = df["y"].notna()
    assert rec.loc[("x", "y"), "n"] == n - 1
    assert rec.loc[("x", "y"), "pearson"] == pytest.approx(np.corrcoef(df.x[ok], df.y[ok])[0, 1], rel=1e-12)
    rx, ry = stats.rankdata(df.x[ok]), stats.rankdata(df.y[ok])
    assert rec.loc[("x", "y"), "spearman"] == pytest.approx(np.corrcoef(rx, ry)[0, 1], rel=1e-12)
    assert rec.loc[("x", "x_copy"), "redundant"]
    assert rec.loc[("x", "bad"), "contradicting"]
    assert not rec.loc[("x", "y"), "redundant"] and not rec.loc[("x", "y"), "contradicting"]
    # aligning a lower-is-better indicator turns the contradiction into agreement
    flipped = indicator_correlations(df, themes, {"x": 1, "x_copy": 1, "y": 1, "bad": -1}).set_index(
        ["indicator_a", "indicator_b"]
    )
    assert not flipped.loc[("x", "bad"), "contradicting"]
    assert flipped.loc[("x", "bad"), "pearson"] == pytest.approx(-rec.loc[("x", "bad"), "pearson"])


def test_imputation_done_before_the_build_is_still_an_uncertain_choice(small_composite):
    """The pipeline imputes with published statistics before the reference method runs (which then imputes
    nothing); given the mask of those cells, leaving them out is still one of the uncertain choices."""
    data, themes = small_composite
    mask = data[list(themes)].isna().set_axis(data["unit"])
    filled = data.fillna({"b2": data["b2"].mean()})
    spec = _spec(list(themes), themes, weight_noise=0.25)
    spec.imputation = ImputationSpec(method="none")
    base = build_composite(filled, spec)
    assert not base.imputed_flags.to_numpy().any()
    without = composite_sensitivity(base, n=128, seed=3)
    with_mask = composite_sensitivity(base, n=128, seed=3, imputed=mask)
    assert "imputation" not in set(without["factor"])
    assert "imputation" in set(with_mask["factor"])
    moved = with_mask[(with_mask["factor"] == "imputation") & (with_mask["unit"] == "U03")]
    assert moved["total"].iloc[0] > 0


# ------------------------------------------------------------------ stored by rbb compute (demo warehouse)


def test_compute_stores_the_review_tables(con):
    years = [r[0] for r in con.execute("SELECT DISTINCT year FROM composite_scores ORDER BY 1").fetchall()]
    assert years
    sens = con.execute("SELECT * FROM composite_sensitivity").fetch_df()
    assert set(sens["year"]) == set(years)
    assert {"weights", "normalisation", "aggregation", "indicator_error"} <= set(sens["factor"])
    ok = sens.dropna(subset=["first_order", "total"])
    assert (ok["total"] >= -0.05).all() and (ok["total"] <= 1.5).all()
    # every member in the index has one row per factor and year
    n_units = con.execute("SELECT year, count(*) FROM composite_uncertainty GROUP BY 1").fetchall()
    for y, n in n_units:
        assert sens[sens["year"] == y].groupby("factor")["org_code"].nunique().eq(n).all()


def test_value_log_marks_exactly_the_cells_that_were_missing(con):
    log = con.execute("SELECT * FROM composite_value_log").fetch_df()
    assert len(log)
    assert (log["imputed"] == log["value"].isna() & log["used_value"].notna()).all()
    assert set(log.loc[log["imputed"], "imputed_from"]) <= {"cluster", "all"}
    assert log.loc[~log["imputed"], "imputed_from"].isna().all()
    values = con.execute(
        "SELECT org_code, year, indicator_code, value FROM indicator_values WHERE value IS NOT NULL"
    ).fetch_df()
    merged = log[~log["imputed"] & log["value"].notna()].merge(
        values, on=["org_code", "year", "indicator_code"], suffixes=("", "_iv")
    )
    assert len(merged) == int((~log["imputed"] & log["value"].notna()).sum())
    assert np.allclose(merged["value"], merged["value_iv"])


def test_correlations_and_reliability_recomputed_independently(con):
    corr = con.execute("SELECT * FROM indicator_correlations").fetch_df()
    log = con.execute("SELECT * FROM composite_value_log").fetch_df()
    year = int(corr["year"].max())
    rec = corr[(corr["year"] == year) & (corr["n"] >= 10)].iloc[0]
    wide = log[log["year"] == year].pivot(index="org_code", columns="indicator_code", values="value")
    cat = {r[0]: r[1] for r in con.execute("SELECT code, direction FROM indicator_catalogue").fetchall()}
    a = wide[rec["indicator_a"]] * (1 if cat[rec["indicator_a"]] == "higher" else -1)
    b = wide[rec["indicator_b"]] * (1 if cat[rec["indicator_b"]] == "higher" else -1)
    ok = a.notna() & b.notna()
    assert rec["pearson"] == pytest.approx(np.corrcoef(a[ok], b[ok])[0, 1], rel=1e-9)
    rel = con.execute("SELECT * FROM theme_reliability WHERE n_indicators >= 2").fetch_df()
    assert len(rel) and (rel["cronbach_alpha"].dropna() <= 1.0 + 1e-12).all()


def test_overview_shows_the_review_and_member_reports_do_not(demo_workspace, con):
    import re
    from urllib.parse import unquote

    year = con.execute("SELECT max(year) FROM composite_sensitivity").fetchone()[0]
    n_members = con.execute(
        "SELECT count(DISTINCT org_code) FROM composite_sensitivity WHERE year = ?", [year]
    ).fetchone()[0]
    overview = (demo_workspace.reports / str(year) / "index.html").read_text("utf-8")
    assert 'id="composite-review"' in overview and "fig-composite-sensitivity" in overview
    (href,) = re.findall(rf'href="(data:text/csv[^"]+)"[^>]*download="composite_sensitivity_{year}\.csv"', overview)
    lines = unquote(href.split(",", 1)[1]).lstrip("\ufeff").strip().splitlines()
    assert len(lines) == n_members + 1
    for page in dutch(demo_workspace.reports / str(year) / "organisations"):
        text = page.read_text("utf-8")
        assert "composite-sensitivity" not in text and "Sobol" not in text
