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

from pipeline import stats
from pipeline.compute import _derive, catalogue, catalogue_config


def _indep(con) -> pd.DataFrame:
    """Every non-survey indicator recomputed in pandas from the accepted data in force."""
    org = con.execute("SELECT * FROM v_organisatie").fetch_df()
    prod = con.execute("SELECT * FROM v_producten").fetch_df()
    chan = con.execute("SELECT * FROM v_kanalen").fetch_df()
    k = ["org_code", "year"]
    p = prod.groupby(k).agg(
        tijdig=("n_besluiten_tijdig", "sum"), besl=("n_besluiten", "sum"), voorraad=("n_voorraad_eind", "sum"),
        instroom=("n_instroom_zaken", "sum"), bezw=("n_bezwaren_ontvangen", "sum"), bezw_af=("n_bezwaren_afgehandeld", "sum"),
        gegrond=("n_bezwaren_gegrond", "sum"), deels=("n_bezwaren_deels_gegrond", "sum"), bezw_t=("n_bezwaren_tijdig", "sum"),
        klachten=("n_klachten", "sum"), kl_af=("n_klachten_afgehandeld", "sum"), kl_t=("n_klachten_tijdig", "sum"),
        aanv=("n_aanvragen_totaal", "sum"), dig=("n_aanvragen_digitaal", "sum"), mut=("n_mutaties", "sum"),
        stp=("n_mutaties_stp", "sum"), kosten=("apparaatskosten_product", "sum"), prods=("n_producten", "sum"),
    ).reset_index()
    lead = prod.assign(w=prod["doorlooptijd_mediaan"] * prod["n_besluiten"]).groupby(k)[["w", "n_besluiten"]].sum().reset_index()
    p = p.merge(lead, on=k)
    tel = chan[chan["kanaal"] == "telefoon"].set_index(k)
    dig_c = chan[chan["kanaal"].isin(["web", "app"])].groupby(k)["n_contacten"].sum()
    pers_c = chan[chan["kanaal"].isin(["telefoon", "balie", "post"])].groupby(k)["n_contacten"].sum()
    m = org.merge(p, on=k, how="left").set_index(k)
    reached = tel["n_beantwoord_agent"] + np.where(tel["definitie_code"] == "AGENT_IVR", tel["n_ivr_afgehandeld"].fillna(0), 0)
    oh = m[[c for c in m.columns if c.startswith("fte_overhead_")]].sum(axis=1)
    ict = m["ict_personeel"] + m["ict_materieel"] + m["kosten_inhuur_ict"]
    out = {
        "tijdig_beslist_pct": 100 * m["tijdig"] / m["besl"],
        "doorlooptijd_mediaan_dagen": m["w"] / m["n_besluiten"],
        "voorraad_ratio": m["voorraad"] / m["instroom"],
        "bezwaar_per_1000": 1000 * m["bezw"] / m["besl"],
        "bezwaar_gegrond_pct": 100 * (m["gegrond"] + m["deels"]) / m["bezw_af"],
        "bezwaar_tijdig_pct": 100 * m["bezw_t"] / m["bezw_af"],
        "klachten_per_10000": 10000 * m["klachten"] / m["n_klanten_actief"],
        "klacht_tijdig_pct": 100 * m["kl_t"] / m["kl_af"],
        "digitaal_aanvraag_pct": 100 * m["dig"] / m["aanv"],
        "stp_pct": 100 * m["stp"] / m["mut"],
        "kosten_per_product": m["kosten"] / m["prods"],
        "kosten_per_klant": m["apparaatskosten_totaal"] / m["n_klanten_actief"],
        "overhead_fte_pct": 100 * oh / m["fte_totaal"],
        "overhead_kosten_pct": 100 * m["kosten_overhead"] / m["apparaatskosten_totaal"],
        "externe_inhuur_pct": 100 * m["kosten_inhuur"] / (m["loonsom_eigen"] + m["kosten_inhuur"]),
        "verzuim_pct": 100 * m["verzuimdagen"] / m["beschikbare_dagen"],
        "meldingsfrequentie": m["n_ziekmeldingen"] / m["gem_personeelsleden"],
        "instroom_pct": 100 * m["n_instroom_personeel"] / m["gem_personeelsleden"],
        "uitstroom_pct": 100 * m["n_uitstroom_personeel"] / m["gem_personeelsleden"],
        "gem_leeftijd": m["gem_leeftijd"],
        "aandeel_55plus": 100 * m["n_leeftijd_55plus"] / (m["n_leeftijd_tot35"] + m["n_leeftijd_35_54"] + m["n_leeftijd_55plus"]),
        "ict_kosten_pct": 100 * ict / m["apparaatskosten_totaal"],
        "ict_kosten_per_fte": ict / m["fte_totaal"],
        "ktv_respons_pct": 100 * m["ktv_respondenten"] / m["ktv_uitgenodigd"],
        "tel_bereikbaarheid_pct": 100 * reached / tel["n_contacten"],
        "tel_wachttijd_gem_sec": tel["sum_wachttijd_sec"] / tel["n_beantwoord_agent"],
        "tel_kwaliteit_pct": 100 * chan.groupby(k)["n_steekproef_correct"].sum() / chan.groupby(k)["n_steekproef"].sum(),
        "contact_digitaal_ratio": dig_c / pers_c,
    }
    frames = []
    for code, s in out.items():
        s = s.replace([np.inf, -np.inf], np.nan).rename("expected").reset_index()
        s["indicator_code"] = code
        frames.append(s)
    return pd.concat(frames, ignore_index=True)


def test_register_indicators_equal_independent_computation(con):
    got = con.execute("SELECT org_code, year, indicator_code, value FROM indicator_values").fetch_df()
    exp = _indep(con)
    merged = exp.merge(got, on=["org_code", "year", "indicator_code"], how="left")
    assert len(merged) > 25 * 90
    both = merged.dropna(subset=["expected"])
    np.testing.assert_allclose(both["value"].to_numpy(float), both["expected"].to_numpy(float), rtol=1e-12, atol=1e-9)
    assert merged.loc[merged["expected"].isna(), "value"].isna().all()


def test_survey_marks_and_intervals_equal_independent_computation(con):
    resp = con.execute("SELECT org_code, year, q_overall, q_snelheid, coalesce(weight, 1.0) AS w FROM v_enquete").fetch_df()
    got = con.execute("SELECT * FROM indicator_values WHERE indicator_code IN ('ktv_rapportcijfer', 'ktv_pct_tevreden', 'ktv_aspect_snelheid')").fetch_df()
    got = got.set_index(["org_code", "year", "indicator_code"])
    checked = 0
    for (org, year), g in resp.groupby(["org_code", "year"]):
        for item, code in (("q_overall", "ktv_rapportcijfer"), ("q_snelheid", "ktv_aspect_snelheid")):
            d = g.dropna(subset=[item])
            if d.empty:
                assert (org, year, code) not in got.index
                continue
            x, w = d[item].to_numpy(float), d["w"].to_numpy(float)
            mean = np.average(x, weights=w)
            n_eff = w.sum() ** 2 / (w**2).sum()
            var = np.average((x - mean) ** 2, weights=w) * n_eff / (n_eff - 1)
            se = np.sqrt(var / n_eff)
            t = sps.t.ppf(0.975, n_eff - 1)
            row = got.loc[(org, year, code)]
            flags = row["flags"] if isinstance(row["flags"], str) else ""
            if "suppressed" in flags:
                assert np.isnan(row["value"]) and n_eff < 30
                continue
            assert row["value"] == pytest.approx(mean, rel=1e-12)
            assert row["n_eff"] == pytest.approx(n_eff, rel=1e-12)
            assert row["ci_low"] == pytest.approx(mean - t * se, rel=1e-10)
            assert row["ci_high"] == pytest.approx(mean + t * se, rel=1e-10)
            assert ("indicatief" in flags) == (n_eff < 100 or t * se > 0.3)
            checked += 1
        x, w = g["q_overall"].to_numpy(float), g["w"].to_numpy(float)
        n_eff = w.sum() ** 2 / (w**2).sum()
        p = (w * (x >= 7)).sum() / w.sum()
        lo, hi = proportion_confint(p * n_eff, n_eff, alpha=0.05, method="wilson")
        row = got.loc[(org, year, "ktv_pct_tevreden")]
        if not np.isnan(row["value"]):
            assert row["value"] == pytest.approx(100 * p, rel=1e-12)
            assert row["ci_low"] == pytest.approx(100 * lo, rel=1e-9)
            assert row["ci_high"] == pytest.approx(100 * hi, rel=1e-9)
    assert checked > 150


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
    for (year, code), g in comp.groupby(["year", "indicator_code"]):
        direction = cat[code].direction
        x = g["value"].to_numpy(float)
        if direction == "context":
            assert g["rank"].isna().all()
            continue
        expected_rank = sps.rankdata(-x if direction == "higher" else x, method="min")
        np.testing.assert_array_equal(g["rank"].to_numpy(), expected_rank)
        assert ((g["rank"] >= 1) & (g["rank"] <= len(x))).all()
        p25, med, p75 = np.percentile(x, [25, 50, 75])
        for v, q in zip(x, g["quartile"]):
            if direction == "higher":
                exp_q = 1 if v >= p75 else 2 if v >= med else 3 if v >= p25 else 4
            else:
                exp_q = 1 if v <= p25 else 2 if v <= med else 3 if v <= p75 else 4
            assert q == exp_q
        mad = sps.median_abs_deviation(x, scale="normal")
        if mad > 0:
            np.testing.assert_allclose(g["robust_z"], (x - med) / mad, rtol=1e-9)
        np.testing.assert_allclose(g["gap_median"], x - med)


def test_significance_uses_bh_correction(con):
    comp = con.execute("""SELECT org_code, year, p_value, p_adjusted FROM comparisons
                          WHERE p_value IS NOT NULL ORDER BY org_code, year, indicator_code""").fetch_df()
    assert len(comp) > 0
    for _, g in comp.groupby(["org_code", "year"]):
        _, adj, _, _ = multipletests(g["p_value"].to_numpy(), method="fdr_bh")
        np.testing.assert_allclose(g["p_adjusted"].to_numpy(), adj, rtol=1e-12)


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
    sw = con.execute("SELECT s.*, c.quartile, c.significance_label FROM strengths_weaknesses s JOIN comparisons c USING (org_code, year, indicator_code)").fetch_df()
    assert len(sw) > 0
    assert (sw[sw.kind == "strength"].quartile == 1).all()
    assert (sw[sw.kind == "weakness"].quartile == 4).all()
    survey = sw[sw.indicator_code.str.startswith("ktv_")]
    assert survey["significance_label"].isin(["better", "worse"]).all()


# ------------------------------------------------------------------ edge cases on constructed data

def _frame(num, den, n=None, **extra):
    d = pd.DataFrame({"org_code": [f"O{i}" for i in range(len(num))], "year": 2025, "submission_id": 1,
                      "numerator": num, "denominator": den, "n": n if n is not None else den,
                      "sum_w": np.nan, "sum_w2": np.nan, "sum_wx2": np.nan, "flag": None})
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


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=30),
       st.floats(min_value=1e-3, max_value=1e3))
@settings(max_examples=100, deadline=None)
def test_scaling_numerator_and_denominator_leaves_ratio(nums, factor):
    ind = next(i for i in catalogue() if i.code == "stp_pct")
    dens = [x + 1.0 for x in nums]
    a = _derive(_frame(nums, dens), ind, catalogue_config()["survey_rules"])["value"].to_numpy()
    b = _derive(_frame([x * factor for x in nums], [x * factor for x in dens]), ind, catalogue_config()["survey_rules"])["value"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=40), st.sampled_from(["higher", "lower"]), st.randoms())
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
    from pipeline.compute import compute_benchmark_stats, compute_comparisons
    values = con.execute("SELECT * FROM indicator_values WHERE year = 2025").fetch_df()
    orgs = con.execute("SELECT * FROM organisations").fetch_df()
    a = compute_comparisons(values, orgs, compute_benchmark_stats(values, orgs, 5))
    shuffled = values.sample(frac=1.0, random_state=7).reset_index(drop=True)
    b = compute_comparisons(shuffled, orgs.sample(frac=1.0, random_state=3), compute_benchmark_stats(shuffled, orgs, 5))
    pd.testing.assert_frame_equal(a, b)


def test_survey_interval_coverage_is_about_95_percent():
    """Repeated weighted samples from a known population: the 95% interval covers the truth ~95% of the time."""
    rng = np.random.default_rng(1)
    pop = rng.choice(np.arange(1, 11), size=200_000, p=[.02, .02, .03, .05, .08, .15, .25, .22, .12, .06])
    truth = pop.mean()
    hits = shares = 0
    reps = 2000
    truth_share = (pop >= 7).mean()
    for _ in range(reps):
        x = rng.choice(pop, size=400)
        w = rng.lognormal(0, 0.5, size=400)
        w = w / w.mean()
        # design weights unrelated to the outcome: the weighted mean is unbiased for the population mean
        _, _, lo, hi, n_eff = stats.weighted_mean_ci([w.sum()], [(w**2).sum()], [(w * x).sum()], [(w * x * x).sum()], [400])
        hits += lo[0] <= truth <= hi[0]
        p = (w * (x >= 7)).sum() / w.sum()
        _, _, plo, phi = stats.wilson_ci([p * n_eff[0]], [n_eff[0]])
        shares += plo[0] <= truth_share <= phi[0]
    coverage, share_coverage = hits / reps, shares / reps
    print(f"measured coverage: mean {coverage:.3f}, share {share_coverage:.3f}")
    assert 0.935 <= coverage <= 0.965
    assert 0.935 <= share_coverage <= 0.965


# ------------------------------------------------------------------ export

def test_export_formats_and_formula_injection(demo_workspace, tmp_path):
    from pipeline.export import export, neutralise
    paths = export(demo_workspace, 2025, "csv", tmp_path / "csv")
    ind = pd.read_csv(tmp_path / "csv" / "indicators.csv", sep=";", decimal=",")
    assert {"org_code", "year", "indicator_code", "value", "numerator", "denominator", "n", "ci_low", "ci_high", "flags"} <= set(ind.columns)
    comp = pd.read_csv(tmp_path / "csv" / "comparisons.csv", sep=";", decimal=",")
    assert {"rank", "n_orgs", "percentile", "quartile", "median", "trend_slope", "significant"} <= set(comp.columns)
    assert len(paths) >= 2
    export(demo_workspace, 2025, "parquet", tmp_path / "pq")
    assert pd.read_parquet(tmp_path / "pq" / "indicators.parquet").shape[0] == ind.shape[0]
    assert neutralise("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")" and neutralise("-5") == "'-5" and neutralise("abc") == "abc"
    from pipeline.export import safe_text_frame
    df = safe_text_frame(pd.DataFrame({"t": ["=1+1", "@SUM(A1)", "ok"]}))
    xlsx = tmp_path / "inj.xlsx"
    with pd.ExcelWriter(xlsx, engine="xlsxwriter", engine_kwargs={"options": {"strings_to_formulas": False}}) as xw:
        df.to_excel(xw, index=False)
    with zipfile.ZipFile(xlsx) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet
    (xfile,) = export(demo_workspace, 2025, "xlsx", tmp_path / "x")
    with zipfile.ZipFile(xfile) as zf:
        assert not any("<f>" in zf.read(n).decode("utf-8", "replace") for n in zf.namelist() if n.startswith("xl/worksheets/"))


def test_all_member_statistics_are_published_only_from_five_values():
    """Disclosure rule 1: no statistic over fewer than 5 members, the all-member scope included."""
    from pipeline.compute import compute_benchmark_stats
    orgs = pd.DataFrame({"org_code": [f"O{i}" for i in range(6)], "cluster": ["a"] * 3 + ["b"] * 3})
    for n, published in ((4, False), (5, True)):
        values = pd.DataFrame({"org_code": [f"O{i}" for i in range(n)], "year": 2025, "indicator_code": "x",
                               "value": np.arange(n, dtype=float)})
        bs = compute_benchmark_stats(values, orgs, 5)
        row = bs[bs.scope == "all"].iloc[0]
        assert bool(row["published"]) is published and row["n"] == n
        assert not bs[bs.scope_kind == "cluster"]["published"].any()
