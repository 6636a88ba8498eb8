"""A merger and a rename in a synthetic three-year workspace, with a known truth.

AAA and BBB merge into CCC in the third year, RRR is renamed SSS in the third year. CCC's year-on-year check
compares with the sum of AAA and BBB, its trend slope is the slope of the values recomputed by hand from
AAA's and BBB's summed numerators and denominators, its report shows the marked series, and SSS's series
continues unbroken.
"""

from __future__ import annotations

from importlib import resources

import duckdb
import numpy as np
import pytest

from pipeline.compute import engine
from pipeline.core.workspace import Workspace
from pipeline.demo.data import generate, write_delivery
from pipeline.metadata.registry import load_organisations, registry
from pipeline.validate import run as ingest
from pipeline.validate.load import history_for

YEARS = [2023, 2024, 2025]
BASE = ["JUSTIS", "CAK", "IND", "CJIB", "RDW", "NVWA", "DICTU", "CBR", "LBIO", "KAD", "UWV"]
EXTRA = """AAA,Dienst A,A,registreren,klein,2015,2024,,CCC
BBB,Dienst B,B,registreren,klein,2015,2024,,CCC
CCC,Dienst C,C,registreren,middel,2025,,AAA;BBB,
RRR,Dienst R,R,registreren,klein,2015,2024,,SSS
SSS,Dienst S,S,registreren,klein,2025,,RRR,
"""
JUMP = 1.6


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("lineage")
    ws = Workspace.at(root).ensure()
    packaged = resources.files("pipeline.metadata").joinpath("organisations.csv").read_text("utf-8").splitlines()
    rows = [packaged[0]] + [r for r in packaged[1:] if r.split(",")[0] in BASE]
    (ws.root / "data" / "organisations.csv").write_text("\n".join(rows) + "\n" + EXTRA, "utf-8")
    orgs = load_organisations(ws.root)
    deliveries = generate(seed=7, years=YEARS, orgs=orgs)
    for d in deliveries:
        if d.org_code == "CCC" and d.year == 2025:
            org = d.sheets["organisatie"]
            org["fte_totaal"] = (org["fte_totaal"].astype(float) * JUMP).round(2)  # a jump to be explained
    for d in deliveries:
        write_delivery(d, ws.raw / str(d.year) / d.org_code)
    for year in YEARS:
        ingest(ws, year)
    engine.compute(ws)
    return ws


def _q(ws, sql, params=()):
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        return con.execute(sql, list(params)).fetch_df()
    finally:
        con.close()


def test_merged_organisation_is_compared_with_the_sum_of_its_predecessors(ws):
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        h = history_for(con, registry(), load_organisations(ws.root))
    finally:
        con.close()
    org = _q(ws, "SELECT org_code, fte_totaal, verzuimdagen FROM v_organisatie WHERE year = 2024")
    by = org.set_index("org_code")
    year, prev = h.previous("CCC", 2025)
    assert year == 2024
    assert prev["fte_totaal"] == pytest.approx(by.loc["AAA", "fte_totaal"] + by.loc["BBB", "fte_totaal"])
    assert prev["verzuimdagen"] == pytest.approx(by.loc["AAA", "verzuimdagen"] + by.loc["BBB", "verzuimdagen"])
    assert "gem_leeftijd" not in prev, "a mean is not summed"
    found = _q(ws, "SELECT rule, field, message_nl, message_en FROM findings WHERE org_code = 'CCC' AND year = 2025")
    yoy = found[(found["rule"] == "yoy_change") & (found["field"] == "fte_totaal")]
    assert len(yoy) == 1
    assert "Vergeleken met de som van AAA en BBB in 2024" in yoy.iloc[0]["message_nl"]
    assert "Compared with the sum of AAA and BBB in 2024" in yoy.iloc[0]["message_en"]
    # the rename: compared with its predecessor alone
    assert h.basis("SSS", 2025) == (2024, ("RRR",))


@pytest.mark.parametrize("code", ["tijdig_beslist_pct", "meldingsfrequentie"])
def test_merged_trend_is_the_slope_of_the_summed_series(ws, code):
    iv = _q(
        ws,
        "SELECT org_code, year, numerator, denominator, value FROM indicator_values WHERE indicator_code = ?",
        [code],
    )
    scale = next(i.scale for i in engine.catalogue() if i.code == code)
    by = iv.set_index(["org_code", "year"])
    series = []
    for y in YEARS[:2]:
        num = by.loc[("AAA", y), "numerator"] + by.loc[("BBB", y), "numerator"]
        den = by.loc[("AAA", y), "denominator"] + by.loc[("BBB", y), "denominator"]
        series.append(num / den * scale)
    series.append(by.loc[("CCC", 2025), "value"])
    slope = np.polyfit(np.array(YEARS, dtype=float), np.array(series), 1)[0]
    means = [(by.loc[("AAA", y), "value"] + by.loc[("BBB", y), "value"]) / 2 for y in YEARS[:2]]
    assert not np.allclose(means, series[:2]), "the combined value is not the mean of the ratios"
    comp = _q(ws, "SELECT * FROM comparisons WHERE org_code = 'CCC' AND indicator_code = ? AND year = 2025", [code])
    assert comp.iloc[0]["trend_n_years"] == 3
    assert comp.iloc[0]["trend_slope"] == pytest.approx(slope, rel=1e-9)
    assert comp.iloc[0]["prev_value"] == pytest.approx(series[1], rel=1e-12)
    assert comp.iloc[0]["trend_lineage"] == "lineage:AAA+BBB"
    lin = _q(ws, "SELECT * FROM lineage_values WHERE org_code = 'CCC' AND indicator_code = ? ORDER BY year", [code])
    assert list(lin["year"]) == YEARS[:2] and list(lin["flags"]) == ["lineage:AAA+BBB"] * 2
    assert list(lin["value"]) == pytest.approx(series[:2], rel=1e-12)
    # the combined values never enter the benchmark of those years
    stats = _q(ws, "SELECT year, n FROM benchmark_stats WHERE indicator_code = ? AND scope_kind = 'all'", [code])
    counted = iv[iv["value"].notna()].groupby("year").size()
    assert dict(zip(stats["year"], stats["n"])) == {int(y): int(n) for y, n in counted.items()}


def test_rename_gives_an_unbroken_series(ws):
    comp = _q(ws, "SELECT * FROM comparisons WHERE org_code = 'SSS' AND year = 2025 AND trend_n_years IS NOT NULL")
    assert (comp["trend_n_years"] == 3).all() and len(comp) > 10
    assert set(comp["trend_lineage"].dropna()) == {"lineage:RRR"}
    lin = _q(ws, "SELECT year, value FROM lineage_values WHERE org_code = 'SSS' AND indicator_code = 'verzuim_pct'")
    own = _q(ws, "SELECT year, value FROM indicator_values WHERE org_code = 'RRR' AND indicator_code = 'verzuim_pct'")
    assert sorted(zip(lin["year"], lin["value"])) == sorted(zip(own["year"], own["value"]))


def test_report_shows_the_marked_series_and_names_no_other_member(ws):
    from pipeline.report import run as report

    files = report(ws, 2025, org="CCC", lang="nl")
    page = next(p for p in files if p.name == "CCC.html").read_text("utf-8")
    assert "2023-2024: AAA en BBB samen (fusie 2025)" in page
    assert "diamond-open" in page
    other = report(ws, 2025, org="KAD", lang="nl")
    text = next(p for p in other if p.name == "KAD.html").read_text("utf-8")
    assert "AAA en BBB" not in text and "Dienst A" not in text and "fusie 2025" not in text
