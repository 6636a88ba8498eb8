"""Indicators and comparison statistics checked against independent computations (pandas, numpy, scipy,
statsmodels), not the SQL and code that produce them."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from pipeline.compute import stats
from pipeline.compute.engine import _derive, catalogue, catalogue_config


def _indep(con) -> pd.DataFrame:
    """Every non-survey indicator recomputed in pandas from the accepted data in force."""
    org = con.execute("SELECT * FROM v_organisatie").fetch_df()
    prod = con.execute("SELECT * FROM v_producten").fetch_df()
    chan = con.execute("SELECT * FROM v_kanalen").fetch_df()
    k = ["org_code", "year"]

    def over_products(num: list[str], den: list[str], zero: bool = False, min_coverage: float = 0.5) -> pd.Series:
        """Σ numerator / Σ denominator over the products that have every component (a product answered
        n.v.t. or onbekend is left out of both); with ``zero`` an n.v.t. component counts as 0. Not published
        when the products used hold less than ``min_coverage`` of the denominator of the products in scope
        (not answered n.v.t.)."""
        cols = list(dict.fromkeys(num + den))
        d = prod[k + cols].copy()
        nvt = pd.concat([prod[f"{c}__state"] == "nvt" for c in cols], axis=1).any(axis=1)
        if zero:
            for c in cols:
                d[c] = d[c].where(prod[f"{c}__state"] != "nvt", 0.0)
        used = d[cols].notna().all(axis=1)
        scope = used | ~nvt if not zero else pd.Series(True, index=d.index)
        d["num"] = d[num].sum(axis=1, min_count=len(num))
        d["den"] = d[den].sum(axis=1, min_count=len(den))
        g = d[used].groupby(k)[["num", "den"]].sum()
        cover = d[used].groupby(k)["den"].sum() / d[scope & d[den].notna().all(axis=1)].groupby(k)["den"].sum()
        ratio = g["num"] / g["den"]
        return ratio.where(cover.reindex(ratio.index) >= min_coverage)

    tel = chan[chan["kanaal"] == "telefoon"].set_index(k)
    dig_c = chan[chan["kanaal"].isin(["web", "app"])].groupby(k)["n_contacten"].sum()
    pers_c = chan[chan["kanaal"].isin(["telefoon", "balie", "post"])].groupby(k)["n_contacten"].sum()
    m = org.set_index(k)
    # complaints per 10,000 clients: complaints summed over products (n.v.t. counts as 0), clients from the
    # organisation sheet
    kl = prod[k + ["n_klachten"]].copy()
    kl["n_klachten"] = kl["n_klachten"].where(prod["n_klachten__state"] != "nvt", 0.0)
    klachten = kl[kl["n_klachten"].notna()].groupby(k)["n_klachten"].sum()
    reached = tel["n_beantwoord_agent"] + np.where(
        tel["definitie_code"] == "AGENT_IVR", tel["n_ivr_afgehandeld"].fillna(0), 0
    )
    oh = m[[c for c in m.columns if c.startswith("fte_overhead_")]].sum(axis=1)
    ict = m["ict_personeel"] + m["ict_materieel"] + m["kosten_inhuur_ict"]
    out = {
        "tijdig_beslist_pct": 100 * over_products(["n_besluiten_tijdig"], ["n_besluiten"]),
        "doorlooptijd_mediaan_dagen": _weighted_lead(prod, k).where(
            over_products(["doorlooptijd_mediaan"], ["n_besluiten"]).notna()
        ),
        "voorraad_ratio": over_products(["n_voorraad_eind"], ["n_instroom_zaken"]),
        "bezwaar_per_1000": 1000 * over_products(["n_bezwaren_ontvangen"], ["n_besluiten"], zero=True),
        "bezwaar_gegrond_pct": 100
        * over_products(["n_bezwaren_gegrond", "n_bezwaren_deels_gegrond"], ["n_bezwaren_afgehandeld"]),
        "bezwaar_tijdig_pct": 100 * over_products(["n_bezwaren_tijdig"], ["n_bezwaren_afgehandeld"]),
        "klachten_per_10000": 10000 * klachten.reindex(m.index) / m["n_klanten_actief"],
        "klacht_tijdig_pct": 100 * over_products(["n_klachten_tijdig"], ["n_klachten_afgehandeld"]),
        "digitaal_aanvraag_pct": 100 * over_products(["n_aanvragen_digitaal"], ["n_aanvragen_totaal"]),
        "stp_pct": 100 * over_products(["n_mutaties_stp"], ["n_mutaties"]),
        "kosten_per_product": over_products(["apparaatskosten_product"], ["n_producten"]),
        "kosten_per_klant": m["apparaatskosten_totaal"] / m["n_klanten_actief"],
        "overhead_fte_pct": 100 * oh / m["fte_totaal"],
        "overhead_kosten_pct": 100 * m["kosten_overhead"] / m["apparaatskosten_totaal"],
        "externe_inhuur_pct": 100 * m["kosten_inhuur"] / (m["loonsom_eigen"] + m["kosten_inhuur"]),
        "verzuim_pct": 100 * m["verzuimdagen"] / m["beschikbare_dagen"],
        "meldingsfrequentie": m["n_ziekmeldingen"] / m["gem_personeelsleden"],
        "instroom_pct": 100 * m["n_instroom_personeel"] / m["gem_personeelsleden"],
        "uitstroom_pct": 100 * m["n_uitstroom_personeel"] / m["gem_personeelsleden"],
        "gem_leeftijd": m["gem_leeftijd"],
        "aandeel_55plus": 100
        * m["n_leeftijd_55plus"]
        / (m["n_leeftijd_tot35"] + m["n_leeftijd_35_54"] + m["n_leeftijd_55plus"]),
        "ict_kosten_pct": 100 * ict / m["apparaatskosten_totaal"],
        "ict_kosten_per_fte": ict / m["fte_totaal"],
        "ktv_respons_pct": 100 * m["ktv_respondenten"] / m["ktv_uitgenodigd"],
        "tel_bereikbaarheid_pct": 100 * reached / tel["n_contacten"],
        "tel_wachttijd_gem_sec": tel["sum_wachttijd_sec"] / tel["n_beantwoord_agent"],
        "tel_kwaliteit_pct": 100
        * chan.groupby(k)["n_steekproef_correct"].sum()
        / chan.groupby(k)["n_steekproef"].sum(),
        "contact_digitaal_ratio": dig_c / pers_c,
    }
    frames = []
    for code, s in out.items():
        s = s.replace([np.inf, -np.inf], np.nan).rename("expected").reset_index()
        s["indicator_code"] = code
        frames.append(s)
    return pd.concat(frames, ignore_index=True)


def _weighted_lead(prod: pd.DataFrame, k: list[str]) -> pd.Series:
    """Decision-weighted mean of the products' median lead times, over products that have both."""
    d = prod[prod["doorlooptijd_mediaan"].notna() & prod["n_besluiten"].notna()]
    d = d.assign(w=d["doorlooptijd_mediaan"] * d["n_besluiten"])
    g = d.groupby(k)[["w", "n_besluiten"]].sum()
    return g["w"] / g["n_besluiten"]


def test_register_indicators_equal_independent_computation(con):
    got = con.execute("SELECT org_code, year, indicator_code, value FROM indicator_values").fetch_df()
    exp = _indep(con)
    merged = exp.merge(got, on=["org_code", "year", "indicator_code"], how="left")
    assert len(merged) > 25 * 90
    both = merged.dropna(subset=["expected"])
    np.testing.assert_allclose(both["value"].to_numpy(float), both["expected"].to_numpy(float), rtol=1e-12, atol=1e-9)
    assert merged.loc[merged["expected"].isna(), "value"].isna().all()


def _taylor_direct(x, w):
    """Design-based variance of Σwx/Σw computed directly from the respondents (no sums, no pipeline code)."""
    n = len(x)
    mean = np.sum(w * x) / np.sum(w)
    return mean, n / (n - 1) * np.sum(w**2 * (x - mean) ** 2) / np.sum(w) ** 2


def test_survey_marks_and_intervals_equal_independent_computation(con):
    resp = con.execute(
        "SELECT org_code, year, q_overall, q_snelheid, coalesce(weight, 1.0) AS w FROM v_enquete"
    ).fetch_df()
    got = con.execute(
        "SELECT * FROM indicator_values WHERE indicator_code IN ('ktv_rapportcijfer', 'ktv_pct_tevreden', 'ktv_aspect_snelheid')"
    ).fetch_df()
    got = got.set_index(["org_code", "year", "indicator_code"])
    checked = shares = 0
    for (org, year), g in resp.groupby(["org_code", "year"]):
        for item, code in (("q_overall", "ktv_rapportcijfer"), ("q_snelheid", "ktv_aspect_snelheid")):
            d = g.dropna(subset=[item])
            if d.empty:
                assert (org, year, code) not in got.index
                continue
            x, w = d[item].to_numpy(float), d["w"].to_numpy(float)
            mean, var = _taylor_direct(x, w)
            n_eff = w.sum() ** 2 / (w**2).sum()
            se = np.sqrt(var)
            t = sps.t.ppf(0.975, n_eff - 1)
            row = got.loc[(org, year, code)]
            flags = row["flags"] if isinstance(row["flags"], str) else ""
            if "suppressed" in flags:
                assert np.isnan(row["value"]) and n_eff < 30
                continue
            assert row["value"] == pytest.approx(mean, rel=1e-12)
            assert row["n_eff"] == pytest.approx(n_eff, rel=1e-12)
            assert row["se"] == pytest.approx(se, rel=1e-7)
            assert row["ci_df"] == pytest.approx(n_eff - 1, rel=1e-12)
            assert row["ci_low"] == pytest.approx(mean - t * se, rel=1e-9)
            assert row["ci_high"] == pytest.approx(mean + t * se, rel=1e-9)
            assert row["ci_method"] == "t_taylor"
            assert ("indicatief" in flags) == (n_eff < 100 or t * se > 0.3)
            checked += 1
        d = g.dropna(subset=["q_overall"])
        x, w = (d["q_overall"].to_numpy(float) >= 7).astype(float), d["w"].to_numpy(float)
        p, var = _taylor_direct(x, w)
        n_star = p * (1 - p) / var
        lo, hi = proportion_confint(p * n_star, n_star, alpha=0.05, method="wilson")
        row = got.loc[(org, year, "ktv_pct_tevreden")]
        if not np.isnan(row["value"]):
            assert row["value"] == pytest.approx(100 * p, rel=1e-12)
            assert row["ci_n"] == pytest.approx(n_star, rel=1e-7)
            assert row["se"] == pytest.approx(100 * np.sqrt(var), rel=1e-7)
            assert row["ci_low"] == pytest.approx(100 * lo, rel=1e-7)
            assert row["ci_high"] == pytest.approx(100 * hi, rel=1e-7)
            assert row["n_eff"] == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)
            shares += 1
    assert checked > 150 and shares > 75


def test_benchmark_stats_and_cluster_threshold(con):
    vals = con.execute("""SELECT v.*, o.cluster FROM indicator_values v JOIN organisations o USING (org_code)
                          WHERE v.value IS NOT NULL""").fetch_df()
    bs = con.execute("SELECT * FROM benchmark_stats").fetch_df()
    min_members = catalogue_config()["comparison"]["cluster_min_members"]
    for (year, code), g in vals.groupby(["year", "indicator_code"]):
        row = bs[(bs.year == year) & (bs.indicator_code == code) & (bs.scope == "all")].iloc[0]
        x = g["value"].to_numpy()
        assert row["n"] == len(x)
        assert row["median"] == pytest.approx(np.median(x))
        assert row["p25"] == pytest.approx(np.percentile(x, 25))
        assert row["p75"] == pytest.approx(np.percentile(x, 75))
        assert row["mean"] == pytest.approx(x.mean())
        for cluster, cg in g.groupby("cluster"):
            c = bs[(bs.year == year) & (bs.indicator_code == code) & (bs.scope == cluster)].iloc[0]
            assert bool(c["published"]) == (len(cg) >= min_members)
            if c["published"]:
                assert c["median"] == pytest.approx(cg["value"].median())
            else:
                assert np.isnan(c["median"]) and np.isnan(c["mean"])
    small = bs[(bs.scope_kind == "cluster") & (~bs.published)]
    assert len(small) > 0, "the demo has a cluster below the publication threshold"


def test_comparisons_equal_independent_ranks_and_quartiles(con):
    comp = con.execute("SELECT * FROM comparisons").fetch_df()
    cat = {i.code: i for i in catalogue()}
    for (_year, code), g in comp.groupby(["year", "indicator_code"]):
        direction = cat[code].direction
        x = g["value"].to_numpy(float)
        if direction == "context":
            assert g["rank"].isna().all()
            continue
        expected_rank = sps.rankdata(-x if direction == "higher" else x, method="min")
        np.testing.assert_array_equal(g["rank"].to_numpy(), expected_rank)
        assert ((g["rank"] >= 1) & (g["rank"] <= len(x))).all()
        med = np.median(x)
        # mid-rank quartile classes, recomputed with pandas' average ranks: u = (r - 0.5)/n, class = ceil(4u)
        r = pd.Series(-x if direction == "higher" else x).rank(method="average").to_numpy()
        u = (r - 0.5) / len(x)
        np.testing.assert_array_equal(g["quartile"].to_numpy(), np.clip(np.ceil(4 * u - 1e-12), 1, 4))
        np.testing.assert_allclose(g["midrank_percentile"], 100 * (1 - u))
        mad = sps.median_abs_deviation(x, scale="normal")
        meanad = np.mean(np.abs(x - med))
        if mad > 0:
            np.testing.assert_allclose(g["robust_z"], (x - med) / mad, rtol=1e-9)
            assert (g["robust_z_method"] == "mad").all()
        elif meanad > 0:
            np.testing.assert_allclose(g["robust_z"], (x - med) / (np.sqrt(np.pi / 2) * meanad), rtol=1e-6)
            assert (g["robust_z_method"] == "meanad").all()
        else:
            assert g["robust_z"].isna().all() and g["robust_z_method"].isna().all()
        np.testing.assert_allclose(g["gap_median"], x - med)


def test_significance_uses_bh_correction(con):
    comp = con.execute("""SELECT org_code, year, p_value, p_adjusted, significant FROM comparisons
                          WHERE p_value IS NOT NULL ORDER BY org_code, year, indicator_code""").fetch_df()
    assert len(comp) > 0
    alpha = catalogue_config()["comparison"]["significance_alpha"]
    for _, g in comp.groupby(["org_code", "year"]):
        reject, adj, _, _ = multipletests(g["p_value"].to_numpy(), alpha=alpha, method="fdr_bh")
        np.testing.assert_allclose(g["p_adjusted"].to_numpy(), adj, rtol=1e-12)
        np.testing.assert_array_equal(g["significant"].to_numpy(bool), reject)


def test_bh_uses_less_or_equal_like_statsmodels_with_ties_at_the_threshold():
    m, alpha = 8, 0.05
    thresholds = np.arange(1, m + 1) / m * alpha  # k·α/m, computed as statsmodels does
    cases = [
        thresholds.copy(),  # every p exactly on its threshold: all rejected
        np.r_[thresholds[:3], thresholds[3], thresholds[3], [0.5, 0.6, 0.9]],  # ties at the 4th threshold
        np.r_[[0.001], [thresholds[4]] * 5, [0.7, 0.8]],  # five ties exactly at the 5th threshold
        np.r_[[0.025, 0.025], [0.4] * 6],  # m = 8: 0.025 > 2·0.05/8, nothing rejected
        np.array([0.05] * m),  # all at α: p_(m) = m·α/m, all rejected
    ]
    rng = np.random.default_rng(3)
    cases += [rng.choice([0.00625, 0.0125, 0.01875, 0.025, 0.03, 0.05, 0.2], size=m) for _ in range(200)]
    for p in cases:
        reject, adj, _, _ = multipletests(p, alpha=alpha, method="fdr_bh")
        np.testing.assert_array_equal(stats.bh_reject(p, alpha) == 1.0, reject)
        np.testing.assert_allclose(stats.bh_adjust(p), adj, rtol=1e-12)
    assert (stats.bh_reject(thresholds, alpha) == 1.0).all()
    assert (stats.bh_reject(np.array([0.05] * m), alpha) == 1.0).all()
    # strict "<" would reject nothing here
    assert not (stats.bh_adjust(thresholds) < alpha).any()
    p = np.array([0.01, np.nan, 0.03])
    out = stats.bh_reject(p, alpha)
    assert np.isnan(out[1]) and out[0] == 1.0 and out[2] == 1.0


def test_significance_is_against_the_others_and_agrees_with_the_shown_interval(con):
    comp = con.execute("""SELECT c.*, v.se, v.ci_low, v.ci_high, v.ci_df, v.ci_n FROM comparisons c
                          JOIN indicator_values v USING (org_code, year, indicator_code)
                          WHERE c.p_value IS NOT NULL""").fetch_df()
    allv = con.execute(
        "SELECT org_code, year, indicator_code, value FROM indicator_values WHERE value IS NOT NULL"
    ).fetch_df()
    cat = {i.code: i for i in catalogue()}
    assert len(comp) > 300
    alpha = catalogue_config()["comparison"]["significance_alpha"]
    for (year, code), g in comp.groupby(["year", "indicator_code"]):
        a = allv[(allv.year == year) & (allv.indicator_code == code)].set_index("org_code")["value"]
        for r in g.itertuples():
            assert r.benchmark_value == pytest.approx(a.drop(r.org_code).median(), rel=1e-12)
            assert r.benchmark_se > 0
    inside = (comp["ci_low"] <= comp["benchmark_value"]) & (comp["benchmark_value"] <= comp["ci_high"])
    sig = comp["significance_label"].isin(["better", "worse"])
    assert not (inside & sig).any(), "an interval that contains the benchmark must not be labelled significant"
    assert (~inside).sum() > 20 and sig.sum() > 0
    # the tests are the duals of the intervals: without the benchmark's uncertainty, p < alpha exactly when
    # the benchmark lies outside the shown interval (t-interval for marks, Wilson interval for shares)
    p0 = np.empty(len(comp))
    for i, r in enumerate(comp.itertuples()):
        ind = cat[r.indicator_code]
        if ind.uncertainty == "wilson":
            assert r.test_method == "score"
            p0[i] = stats.compare_score(r.value / ind.scale, r.ci_n, r.benchmark_value / ind.scale, 0.0)
        else:
            assert r.test_method == "t" and r.test_df == pytest.approx(r.ci_df)
            p0[i] = stats.compare_t(r.value, r.se, r.benchmark_value, 0.0, r.ci_df)
    np.testing.assert_array_equal(p0 < alpha, ~inside.to_numpy())
    # the benchmark's uncertainty only widens the test
    assert (comp["p_value"].to_numpy() >= p0 - 1e-12).all()
    better = comp["significance_label"] == "better"
    assert (comp.loc[better, "value"] > comp.loc[better, "benchmark_value"]).all()


def test_trend_and_change_against_previous_year(con):
    comp = con.execute("SELECT * FROM comparisons WHERE indicator_code = 'verzuim_pct'").fetch_df()
    by = comp.set_index(["org_code", "year"])["value"]
    for r in comp[comp.year == 2025].itertuples():
        if (r.org_code, 2024) in by.index:
            assert r.change_prev == pytest.approx(r.value - by[(r.org_code, 2024)])
        ys = [y for y in (2023, 2024, 2025) if (r.org_code, y) in by.index]
        if len(ys) == 3:
            assert r.trend_slope == pytest.approx(sps.linregress(ys, [by[(r.org_code, y)] for y in ys]).slope)


def test_strengths_and_weaknesses_are_extreme_quartiles(con):
    sw = con.execute(
        "SELECT s.*, c.quartile, c.significance_label FROM strengths_weaknesses s JOIN comparisons c USING (org_code, year, indicator_code)"
    ).fetch_df()
    assert len(sw) > 0
    assert (sw[sw.kind == "strength"].quartile == 1).all()
    assert (sw[sw.kind == "weakness"].quartile == 4).all()
    survey = sw[sw.indicator_code.str.startswith("ktv_")]
    assert survey["significance_label"].isin(["better", "worse"]).all()


# ------------------------------------------------------------------ edge cases on constructed data


def _frame(num, den, n=None, **extra):
    d = pd.DataFrame(
        {
            "org_code": [f"O{i}" for i in range(len(num))],
            "year": 2025,
            "submission_id": 1,
            "numerator": num,
            "denominator": den,
            "n": n if n is not None else den,
            "sum_w": np.nan,
            "sum_w2": np.nan,
            "sum_wx2": np.nan,
            "flag": None,
        }
    )
    for k, v in extra.items():
        d[k] = v
    return d


def test_zero_and_missing_denominators():
    ind = next(i for i in catalogue() if i.code == "tijdig_beslist_pct")
    out = _derive(_frame([5.0, 0.0, np.nan, 3.0], [10.0, 0.0, 5.0, np.nan]), ind, catalogue_config()["survey_rules"])
    assert out["value"].iloc[0] == pytest.approx(50.0)
    assert np.isnan(out["value"].iloc[1]) and "zero_denominator" in out["flags"].iloc[1]
    assert np.isnan(out["value"].iloc[2])
    assert np.isnan(out["value"].iloc[3]) and "missing" in out["flags"].iloc[3]
    assert "small_n" in out["flags"].iloc[0]


@given(
    st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=30),
    st.floats(min_value=1e-3, max_value=1e3),
)
@settings(max_examples=100, deadline=None)
def test_scaling_numerator_and_denominator_leaves_ratio(nums, factor):
    ind = next(i for i in catalogue() if i.code == "stp_pct")
    dens = [x + 1.0 for x in nums]
    a = _derive(_frame(nums, dens), ind, catalogue_config()["survey_rules"])["value"].to_numpy()
    b = _derive(
        _frame([x * factor for x in nums], [x * factor for x in dens]), ind, catalogue_config()["survey_rules"]
    )["value"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@given(
    st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=40),
    st.sampled_from(["higher", "lower"]),
    st.randoms(),
)
@settings(max_examples=200, deadline=None)
def test_rank_properties(values, direction, rnd):
    x = np.array(values, dtype=float)
    r = stats.competition_rank(x, direction)
    assert ((r >= 1) & (r <= len(x))).all()
    perm = list(range(len(x)))
    rnd.shuffle(perm)
    r2 = stats.competition_rank(x[perm], direction)
    np.testing.assert_array_equal(r[perm], r2)
    best = x.max() if direction == "higher" else x.min()
    assert (r[x == best] == 1).all()


def test_ties_share_the_best_rank():
    np.testing.assert_array_equal(stats.competition_rank([9, 7, 7, 5], "higher"), [1, 2, 2, 4])
    np.testing.assert_array_equal(stats.competition_rank([9, 7, 7, 5], "lower"), [4, 2, 2, 1])


def test_comparisons_do_not_depend_on_row_order(con):
    from pipeline.compute.engine import compute_benchmark_stats, compute_comparisons

    values = con.execute("SELECT * FROM indicator_values WHERE year = 2025").fetch_df()
    orgs = con.execute("SELECT * FROM organisations").fetch_df()
    a = compute_comparisons(values, orgs, compute_benchmark_stats(values, orgs, 5))
    shuffled = values.sample(frac=1.0, random_state=7).reset_index(drop=True)
    b = compute_comparisons(shuffled, orgs.sample(frac=1.0, random_state=3), compute_benchmark_stats(shuffled, orgs, 5))
    pd.testing.assert_frame_equal(a, b)


def _coverage(W, Y, truth, truth_share):
    """Share of replications (rows) whose mean and share intervals cover the truth: design-based (Taylor)
    and, for contrast, the former Kish-based intervals (s²_w / n_eff)."""
    S = lambda a: a.sum(axis=1)
    n = np.full(len(W), W.shape[1])
    B = (Y >= 7).astype(float)
    _, _, lo, hi, n_eff, _ = stats.weighted_mean_ci(S(W), S(W * Y), S(W * W), S(W * W * Y), S(W * W * Y * Y), n)
    _, _, plo, phi, _, _ = stats.design_share_ci(S(W), S(W * B), S(W * W), S(W * W * B), n)
    mean = S(W * Y) / S(W)
    kish_se = np.sqrt((S(W * Y * Y) / S(W) - mean**2) / (n_eff - 1))
    kish = np.abs(mean - truth) <= sps.t.ppf(0.975, n_eff - 1) * kish_se
    return (np.mean((lo <= truth) & (truth <= hi)), np.mean((plo <= truth_share) & (truth_share <= phi)), np.mean(kish))


def _informative_sample(rng, reps, n, sigma, rho):
    """Respondents drawn with probability ∝ 1/w from an infinite population, so the sample distribution is
    z ~ N(0, 1), weight w = exp(σz) (lognormal) and mark y = 7 + 1.5(ρz + √(1 − ρ²)e): weights informative,
    corr(log w, y) = ρ. The population mean is E[wy]/E[w] = 7 + 1.5ρσ and the share y ≥ 7 is Φ(ρσ)."""
    z = rng.standard_normal((reps, n))
    y = 7 + 1.5 * (rho * z + np.sqrt(1 - rho**2) * rng.standard_normal((reps, n)))
    return np.exp(sigma * z), y, 7 + 1.5 * rho * sigma, sps.norm.cdf(rho * sigma)


@pytest.mark.parametrize("n", [200, 1000])
def test_survey_interval_coverage_with_informative_weights(n):
    """Known truth, weights correlated with the answers (ρ = 0.6), lognormal weights (σ = 0.6, Kish
    n_eff ≈ 0.7n): the design-based 95% intervals cover 93.5–96.5% (4,000 replications: MC SE 0.35 points)."""
    rng = np.random.default_rng(20250 + n)
    W, Y, truth, truth_share = _informative_sample(rng, 4000, n, sigma=0.6, rho=0.6)
    mean_cov, share_cov, kish_cov = _coverage(W, Y, truth, truth_share)
    print(f"n={n}: coverage mean {mean_cov:.4f}, share {share_cov:.4f} (Kish-based mean {kish_cov:.4f})")
    assert 0.935 <= mean_cov <= 0.965
    assert 0.935 <= share_cov <= 0.965


def test_survey_interval_coverage_where_kish_fails():
    """Answers linear in the weight (corr(w, y) = 0.6): the former Kish-based interval covers about 90%
    whatever n, the design-based one about 95%."""
    rng = np.random.default_rng(7)
    reps, n, sigma, rho = 3000, 1000, 0.5, 0.6
    W = rng.lognormal(0, sigma, (reps, n))
    m, s = np.exp(sigma**2 / 2), np.sqrt((np.exp(sigma**2) - 1) * np.exp(sigma**2))
    Y = 7 + 1.5 * (rho * (W - m) / s + np.sqrt(1 - rho**2) * rng.standard_normal((reps, n)))
    truth = 7 + 1.5 * rho * s / m  # E[wy] / E[w]
    mean_cov, _, kish_cov = _coverage(W, Y, truth, 0.5)
    print(f"linear in w, n={n}: coverage mean {mean_cov:.4f} (Kish-based {kish_cov:.4f})")
    assert 0.935 <= mean_cov <= 0.965
    assert kish_cov < 0.92


def test_survey_interval_coverage_with_unrelated_weights():
    """Repeated weighted samples from a known finite population, weights unrelated to the answer."""
    rng = np.random.default_rng(1)
    pop = rng.choice(np.arange(1, 11), size=200_000, p=[0.02, 0.02, 0.03, 0.05, 0.08, 0.15, 0.25, 0.22, 0.12, 0.06])
    reps, n = 4000, 400
    Y = pop[rng.integers(0, pop.size, size=(reps, n))].astype(float)
    W = rng.lognormal(0, 0.5, size=(reps, n))
    mean_cov, share_cov, _ = _coverage(W, Y, pop.mean(), (pop >= 7).mean())
    print(f"unrelated weights: coverage mean {mean_cov:.4f}, share {share_cov:.4f}")
    assert 0.935 <= mean_cov <= 0.965
    assert 0.935 <= share_cov <= 0.965


def test_taylor_variance_from_sums_equals_direct_computation():
    rng = np.random.default_rng(5)
    for n in (2, 3, 10, 250):
        x = rng.integers(1, 11, n).astype(float)
        w = rng.lognormal(0, 0.7, n)
        mean, var = _taylor_direct(x, w)
        v = stats.taylor_variance(w.sum(), (w * x).sum(), (w**2).sum(), (w**2 * x).sum(), (w**2 * x**2).sum(), n)
        assert float(v) == pytest.approx(var, rel=1e-9, abs=1e-15)
    # unit weights: the ordinary s²/n, and the interval is the ordinary t-interval
    x = rng.normal(7, 1.2, 50)
    one = np.ones(50)
    _, se, lo, hi, n_eff, df = stats.weighted_mean_ci([50.0], [x.sum()], [50.0], [x.sum()], [(x**2).sum()], [50])
    ref = sps.t.interval(0.95, 49, loc=x.mean(), scale=sps.sem(x))
    assert se[0] == pytest.approx(sps.sem(x), rel=1e-10) and n_eff[0] == 50 and df[0] == 49
    assert (lo[0], hi[0]) == pytest.approx(ref, rel=1e-10)
    # a share with all answers equal has zero Taylor variance: the Wilson interval falls back to Kish's n_eff
    p, se, lo, hi, ne, n_star = stats.design_share_ci([one.sum()], [one.sum()], [50.0], [50.0], [50])
    ref = proportion_confint(50, 50, method="wilson")
    assert se[0] == 0 and n_star[0] == 50 and (lo[0], hi[0]) == pytest.approx(ref)


def test_robust_z_falls_back_to_mean_absolute_deviation_when_mad_is_zero():
    x = np.array([100.0] * 7 + [80.0])  # a ceiling indicator: 7 of 8 at 100%
    med, scale, method = stats.robust_z_scale(x)
    assert method == "meanad" and scale == pytest.approx(1.253314 * 2.5)
    z = stats.robust_z(x)
    assert z[-1] == pytest.approx(-20 / (1.253314 * 2.5)) and abs(z[-1]) > 3.5  # the outlier is flagged
    assert (z[:-1] == 0).all()
    assert stats.robust_z_scale([5.0, 5.0, 5.0])[2] is None and np.isnan(stats.robust_z([5.0, 5.0, 5.0])).all()
    y = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    assert stats.robust_z(y) == pytest.approx((y - 3) / sps.median_abs_deviation(y, scale="normal"))


def test_quartile_classes_stay_balanced_under_ties():
    # 5 of 8 tied at the best value: they share one class (their mid-rank position lies in the 2nd quarter)
    q = stats.quartile_class([100, 100, 100, 100, 100, 90, 80, 70], "higher")
    np.testing.assert_array_equal(q, [2, 2, 2, 2, 2, 3, 4, 4])
    old = stats.quartile_of(
        np.array([100, 100, 100, 100, 100, 90, 80, 70.0]),
        *np.percentile([100] * 5 + [90, 80, 70], [25, 75]),
        100.0,
        "higher",
    )
    assert (old == 1).sum() == 5 and (old == 2).sum() == 0  # the former threshold rule
    np.testing.assert_array_equal(stats.quartile_class([1, 2, 3, 4, 5, 6, 7, 8], "lower"), [1, 1, 2, 2, 3, 3, 4, 4])
    np.testing.assert_array_equal(stats.quartile_class([3, np.nan, 1, 2, 4], "lower"), [3, np.nan, 1, 2, 4])


@given(st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=40), st.sampled_from(["higher", "lower"]))
@settings(max_examples=200, deadline=None)
def test_quartile_class_properties(values, direction):
    x = np.array(values, dtype=float)
    q = stats.quartile_class(x, direction)
    n = len(x)
    for v in np.unique(x):
        assert len(set(q[x == v])) == 1  # tied values share a class
    better = x[:, None] > x[None, :] if direction == "higher" else x[:, None] < x[None, :]
    assert (q[:, None] <= q[None, :])[better].all()  # a better value never gets a worse class
    if len(np.unique(x)) == n:  # without ties: n/4 per class, rounded
        counts = np.bincount(q.astype(int), minlength=5)[1:]
        assert counts.max() - counts.min() <= 1 and counts.sum() == n


def _trend_values(series: dict[str, list[float]], code: str = "verzuim_pct") -> pd.DataFrame:
    rows = []
    for org, vals in series.items():
        for k, v in enumerate(vals):
            rows.append(
                {
                    "org_code": org,
                    "year": 2021 + k,
                    "indicator_code": code,
                    "value": v,
                    "se": np.nan,
                    "ci_n": np.nan,
                    "ci_df": np.nan,
                }
            )
    return pd.DataFrame(rows)


def test_trend_labels_need_enough_points_and_bh_significance():
    from pipeline.compute.engine import compute_benchmark_stats, compute_comparisons

    rng = np.random.default_rng(11)
    series = {f"O{i:02d}": list(5 + 0.3 * rng.standard_normal(5)) for i in range(12)}  # no trend
    series["STEEP"] = [5.0, 4.0, 3.0, 2.0, 1.0 + 1e-3]  # falling verzuim = improving, p ≈ 0
    series["SHORT"] = [np.nan, np.nan, 5.0, 4.0, 3.0]  # three points: slope, no label
    values = _trend_values(series).dropna(subset=["value"])
    orgs = pd.DataFrame({"org_code": list(series), "cluster": "A"})
    comp = compute_comparisons(values, orgs, compute_benchmark_stats(values, orgs, 5))
    last = comp[comp.year == 2025].set_index("org_code")
    assert last.loc["STEEP", "trend_label"] == "improving" and last.loc["STEEP", "trend_p_adjusted"] < 0.05
    assert last.loc["SHORT", "trend_slope"] == pytest.approx(-1.0)
    assert pd.isna(last.loc["SHORT", "trend_label"]) and np.isnan(last.loc["SHORT", "trend_p_adjusted"])
    assert comp["trend_label"].isin(["improving", "declining", "rising", "falling", None]).all()
    assert "stable" not in set(comp["trend_label"].dropna())
    noise = last.drop(["STEEP", "SHORT"])
    assert noise["trend_label"].isna().sum() >= len(noise) - 1  # no trend: (almost) never labelled


def test_trend_bh_is_over_the_organisations_series_of_the_year():
    from pipeline.compute.engine import _trend_labels

    p = [0.004, 0.03, 0.04, 0.2]
    comp = pd.DataFrame(
        {
            "org_code": "A",
            "year": 2025,
            "indicator_code": list("abcd"),
            "direction": "higher",
            "trend_slope": 1.0,
            "trend_n_years": 5,
            "trend_p_value": p,
            "trend_label": None,
        }
    )
    comp = pd.concat([comp, comp.assign(org_code="B", trend_n_years=4)], ignore_index=True)
    out = _trend_labels(comp, {"significance_alpha": 0.05, "trend_label_min_points": 5})
    a = out[out.org_code == "A"]
    reject, adj, _, _ = multipletests(p, alpha=0.05, method="fdr_bh")
    np.testing.assert_allclose(a["trend_p_adjusted"], adj)
    assert (a["trend_label"].notna().to_numpy() == reject).all()
    assert a["trend_label"].tolist()[0] == "improving"
    assert out[out.org_code == "B"]["trend_label"].isna().all()  # 4 points: below the declared minimum


# ------------------------------------------------------------------ export


def test_export_formats_and_formula_injection(demo_workspace, tmp_path):
    from pipeline.report.export import export, neutralise

    paths = export(demo_workspace, 2025, "csv", tmp_path / "csv")
    ind = pd.read_csv(tmp_path / "csv" / "indicators.csv", sep=";", decimal=",")
    assert {
        "org_code",
        "year",
        "indicator_code",
        "value",
        "numerator",
        "denominator",
        "n",
        "ci_low",
        "ci_high",
        "flags",
    } <= set(ind.columns)
    comp = pd.read_csv(tmp_path / "csv" / "comparisons.csv", sep=";", decimal=",")
    assert {"rank", "n_orgs", "percentile", "quartile", "median", "trend_slope", "significant"} <= set(comp.columns)
    assert len(paths) >= 2
    export(demo_workspace, 2025, "parquet", tmp_path / "pq")
    assert pd.read_parquet(tmp_path / "pq" / "indicators.parquet").shape[0] == ind.shape[0]
    assert (
        neutralise('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
        and neutralise("-5") == "'-5"
        and neutralise("abc") == "abc"
    )
    from pipeline.report.export import safe_text_frame

    df = safe_text_frame(pd.DataFrame({"t": ["=1+1", "@SUM(A1)", "ok"]}))
    xlsx = tmp_path / "inj.xlsx"
    with pd.ExcelWriter(xlsx, engine="xlsxwriter", engine_kwargs={"options": {"strings_to_formulas": False}}) as xw:
        df.to_excel(xw, index=False)
    with zipfile.ZipFile(xlsx) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet
    (xfile,) = export(demo_workspace, 2025, "xlsx", tmp_path / "x")
    with zipfile.ZipFile(xfile) as zf:
        assert not any(
            "<f>" in zf.read(n).decode("utf-8", "replace") for n in zf.namelist() if n.startswith("xl/worksheets/")
        )


def test_export_csv_is_safe_opened_with_either_separator():
    """A text cell with a formula behind a comma or a semicolon: opened with ';' or with ',' no cell starts a
    formula, and the ';' reading gives back every cell whole."""
    import csv as csvmod
    import io

    from pipeline.report.export import csv_bytes

    hostile = ["ok", "=2+5", "a,=2+5", "b;+cmd|' /C calc'!A0", "c, @SUM(1+1)", 'd,"=1+1"', "-5 tekst", "x\n=1"]
    df = pd.DataFrame({"t": hostile, "v": [1.5] * len(hostile)})
    text = csv_bytes(df).decode("utf-8-sig")
    for sep in (";", ","):
        for row in csvmod.reader(io.StringIO(text, newline=""), delimiter=sep):
            for cell in row:
                assert not cell.lstrip(' "').startswith(("=", "+", "-", "@")), (sep, cell)
    back = list(csvmod.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert len(back) == len(hostile) + 1 and all(len(r) == 2 for r in back)
    assert back[1][0] == "ok" and back[2][0] == "'=2+5" and back[3][0] == "a,'=2+5"


def test_all_member_statistics_are_published_only_from_five_values():
    """Disclosure rule 1: no statistic over fewer than 5 members, the all-member scope included."""
    from pipeline.compute.engine import compute_benchmark_stats

    orgs = pd.DataFrame({"org_code": [f"O{i}" for i in range(6)], "cluster": ["a"] * 3 + ["b"] * 3})
    for n, published in ((4, False), (5, True)):
        values = pd.DataFrame(
            {
                "org_code": [f"O{i}" for i in range(n)],
                "year": 2025,
                "indicator_code": "x",
                "value": np.arange(n, dtype=float),
            }
        )
        bs = compute_benchmark_stats(values, orgs, 5)
        row = bs[bs.scope == "all"].iloc[0]
        assert bool(row["published"]) is published and row["n"] == n
        assert not bs[bs.scope_kind == "cluster"]["published"].any()
