"""Pilot selection: candidates, partners, shortlist, register and difference-in-differences follow-up."""

from __future__ import annotations

import io
import math
import re

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from pipeline import pilots
from pipeline.core.workspace import Workspace
from pipeline.metadata.registry import load_organisations
from pipeline.pilots.config import default_config, load_config
from pipeline.pilots.followup import (
    VERDICTS,
    did_estimate,
    follow_up,
    pilot_effect,
    randomisation_inference,
    wild_cluster_bootstrap,
)
from pipeline.pilots.page import FOLLOW_UP_COLUMNS, shortlist_csv
from pipeline.pilots.selection import (
    PilotData,
    build_shortlist,
    catalogue_from_yaml,
    find_candidates,
    find_partners,
    parse_lambdas,
)
from pipeline.pilots.values import escape_cell

TIJDIG = "tijdig_beslist_pct"  # higher is better, theme tijdigheid
KOSTEN = "kosten_per_klant"  # lower is better, theme kosten
YEARS = (2021, 2022, 2023)

ORGS = pd.DataFrame(
    [
        ("UWV", "Uitvoeringsinstituut Werknemersverzekeringen", "UWV", "uitkeren", "groot"),
        ("SVB", "Sociale Verzekeringsbank", "SVB", "uitkeren", "groot"),
        ("DUO", "Dienst Uitvoering Onderwijs", "DUO", "uitkeren", "groot"),
        ("TSL", "Dienst Toeslagen", "Toeslagen", "uitkeren", "groot"),
        ("RVO", "Rijksdienst voor Ondernemend Nederland", "RVO", "uitkeren", "middel"),
        ("ZIN", "Zorginstituut Nederland", "ZIN", "uitkeren", "klein"),
        ("RDW", "Rijksdienst voor het Wegverkeer", "RDW", "registreren", "middel"),
        ("KAD", "Kadaster", "Kadaster", "registreren", "middel"),
    ],
    columns=["org_code", "name", "abbreviation", "cluster", "size_class"],
)
CLUSTER = dict(zip(ORGS["org_code"], ORGS["cluster"]))

# benchmark statistics per indicator: all members, and the (published) uitkeren cluster
STATS = {
    TIJDIG: {
        "direction": "higher",
        "median": 90.0,
        "p25": 85.0,
        "p75": 94.0,
        "cluster": {"uitkeren": (89.0, 84.0, 93.0, True), "registreren": (None, None, None, False)},
    },
    KOSTEN: {
        "direction": "lower",
        "median": 500.0,
        "p25": 400.0,
        "p75": 650.0,
        "cluster": {"uitkeren": (520.0, 420.0, 640.0, True), "registreren": (None, None, None, False)},
    },
}


def row(org: str, year: int, ind: str, value: float, quartile: int | None, sig: str | None = None) -> dict:
    s = STATS[ind]
    cm, c25, c75, published = s["cluster"][CLUSTER[org]]
    best = s["p75"] if s["direction"] == "higher" else s["p25"]
    return {
        "org_code": org,
        "year": year,
        "indicator_code": ind,
        "value": value,
        "direction": s["direction"],
        "quartile": quartile,
        "median": s["median"],
        "p25": s["p25"],
        "p75": s["p75"],
        "best_quartile_threshold": best,
        "cluster": CLUSTER[org],
        "cluster_median": cm,
        "cluster_p25": c25,
        "cluster_p75": c75,
        "cluster_published": published,
        "significance_label": sig,
    }


def tijdig_rows() -> list[dict]:
    """UWV bottom 3 years; RVO bottom 2 years; TSL bottom this year only; DUO bottom 2021 and 2023
    (not consecutive); KAD bottom this year and significantly worse. SVB best quartile 3 years,
    ZIN best quartile 2 years, RDW significantly better this year."""
    q = {
        "UWV": (4, 4, 4),
        "RVO": (3, 4, 4),
        "TSL": (2, 3, 4),
        "DUO": (4, 3, 4),
        "SVB": (1, 1, 1),
        "ZIN": (2, 1, 1),
        "RDW": (2, 2, 2),
        "KAD": (3, 3, 4),
    }
    v = {1: 96.0, 2: 92.0, 3: 87.0, 4: 78.0}
    rows = []
    for org, quartiles in q.items():
        for year, qq in zip(YEARS, quartiles):
            sig = None
            if org == "KAD" and year == 2023:
                sig = "worse"
            if org == "RDW" and year == 2023:
                sig = "better"
            value = v[qq] + (0.5 if org == "RVO" else 0.0)
            rows.append(row(org, year, TIJDIG, value, qq, sig))
    return rows


def catalogue() -> pd.DataFrame:
    cat = catalogue_from_yaml()
    return cat[cat["code"].isin([TIJDIG, KOSTEN, "klachten_per_10000"])].reset_index(drop=True)


def data_for(rows: list[dict], **kw) -> PilotData:
    return PilotData(comparisons=pd.DataFrame(rows), catalogue=catalogue(), organisations=ORGS.copy(), **kw)


def config(**overrides) -> dict:
    cfg = default_config()
    cfg.update(overrides)
    return cfg


# ------------------------------------------------------------------------------------- candidates


def test_candidates_are_persistent_or_significant_bottom_quartile():
    cand = find_candidates(data_for(tijdig_rows()), 2023, config())
    assert set(cand["org_code"]) == {"UWV", "RVO", "KAD"}
    assert dict(zip(cand["org_code"], cand["bottom_years"])) == {"UWV": 3, "RVO": 2, "KAD": 1}
    assert not cand["excluded"].any()
    kad = cand.set_index("org_code").loc["KAD"]
    assert kad["significantly_worse"] and kad["reference_scope"] == "all"
    assert find_candidates(data_for(tijdig_rows()), 2023, config(significant_qualifies=False))["org_code"].tolist() == [
        "UWV",
        "RVO",
    ]


def test_candidate_score_is_the_weighted_mean_of_normalised_criteria():
    organisatie = pd.DataFrame(
        {"org_code": ["RVO", "UWV"], "year": [2023, 2023], "ontwikkelvraag_thema": ["tijdigheid", "kosten"]}
    )
    cand = find_candidates(data_for(tijdig_rows(), organisatie=organisatie), 2023, config())
    uwv = cand.set_index("org_code").loc["UWV"]
    # cluster median published: gap 89 - 78 = 11 over the cluster IQR 9, capped at 2 IQR
    gap_median = min(1.0, (89.0 - 78.0) / 9.0 / 2.0)
    gap_best = min(1.0, (94.0 - 78.0) / 9.0 / 2.0)
    w = default_config()["weights"]
    applicable = (
        w["gap_median"] + w["gap_best_quartile"] + w["persistence"] + w["significance"] + w["development_question"]
    )
    expected = (
        w["gap_median"] * gap_median + w["gap_best_quartile"] * gap_best + w["persistence"] * 3 / 4
    ) / applicable
    assert uwv["reference_scope"] == "cluster" and uwv["reference_median"] == 89.0
    assert math.isnan(uwv["c_efficiency"])  # tijdigheid is not an efficiency theme
    assert uwv["score"] == pytest.approx(expected, abs=1e-6)
    rvo = cand.set_index("org_code").loc["RVO"]
    assert rvo["development_question_match"] and rvo["c_development_question"] == 1.0
    assert not uwv["development_question_match"]


def test_development_question_and_dea_inefficiency_count_in_favour():
    rows = [row(o, y, KOSTEN, 700.0, 4) for o in ("UWV", "SVB") for y in YEARS]
    rows += [row("DUO", y, KOSTEN, 380.0, 1) for y in YEARS]
    dea = pd.DataFrame(
        [
            {
                "year": 2023,
                "cluster": "uitkeren",
                "model": "vrs_in",
                "org_code": "UWV",
                "score": 0.7,
                "peers": "DUO",
                "lambdas": "DUO:1",
                "n_units": 3,
            },
            {
                "year": 2023,
                "cluster": "uitkeren",
                "model": "vrs_in",
                "org_code": "SVB",
                "score": 1.0,
                "peers": "SVB",
                "lambdas": "SVB:1",
                "n_units": 3,
            },
            {
                "year": 2023,
                "cluster": "uitkeren",
                "model": "vrs_out",
                "org_code": "SVB",
                "score": 1.5,
                "peers": "DUO",
                "lambdas": "DUO:1",
                "n_units": 3,
            },
        ]
    )
    organisatie = pd.DataFrame({"org_code": ["SVB"], "year": [2023], "ontwikkelvraag_thema": ["kosten"]})
    cand = find_candidates(data_for(rows, dea_results=dea, organisatie=organisatie), 2023, config())
    c = cand.set_index("org_code")
    assert c.loc["UWV", "dea_score"] == 0.7 and c.loc["UWV", "c_efficiency"] == pytest.approx(0.75)
    assert c.loc["SVB", "c_efficiency"] == 0.0 and c.loc["SVB", "c_development_question"] == 1.0
    assert c.loc["UWV", "dea_model"] == "vrs_in"


def test_composite_rank_robustly_in_bottom_quarter_counts_as_significance():
    unc = pd.DataFrame(
        {
            "year": [2023, 2023],
            "org_code": ["UWV", "RVO"],
            "nominal_rank": [8, 6],
            "median_rank": [8, 6],
            "rank_lo": [7, 4],
            "rank_hi": [8, 8],
            "n_units": [8, 8],
        }
    )
    cand = find_candidates(data_for(tijdig_rows(), composite_uncertainty=unc), 2023, config())
    c = cand.set_index("org_code")
    assert c.loc["UWV", "composite_bottom"] and c.loc["UWV", "c_significance"] == 0.5
    assert not c.loc["RVO", "composite_bottom"] and c.loc["RVO", "c_significance"] == 0.0


def test_candidate_with_unexplained_warning_on_its_fields_is_excluded_with_reason():
    findings = pd.DataFrame(
        [
            {
                "org_code": "UWV",
                "year": 2023,
                "severity": "warning",
                "sheet": "producten",
                "field": "n_besluiten",
                "explained": False,
                "in_force": True,
            },
            {
                "org_code": "RVO",
                "year": 2023,
                "severity": "warning",
                "sheet": "producten",
                "field": "n_besluiten_tijdig",
                "explained": True,
                "in_force": True,
            },
            {
                "org_code": "KAD",
                "year": 2023,
                "severity": "warning",
                "sheet": "organisatie",
                "field": "fte_totaal",
                "explained": False,
                "in_force": True,
            },
            {
                "org_code": "KAD",
                "year": 2022,
                "severity": "warning",
                "sheet": "producten",
                "field": "n_besluiten",
                "explained": False,
                "in_force": True,
            },
        ]
    )
    cand = find_candidates(data_for(tijdig_rows(), findings=findings), 2023, config())
    c = cand.set_index("org_code")
    assert c.loc["UWV", "excluded"]
    assert "producten.n_besluiten" in c.loc["UWV", "exclusion_nl"] and "onverklaarde" in c.loc["UWV", "exclusion_nl"]
    assert "unexplained warning" in c.loc["UWV", "exclusion_en"]
    assert not c.loc["RVO", "excluded"] and not c.loc["KAD", "excluded"]
    assert cand["org_code"].iloc[-1] == "UWV"  # excluded rows come last
    shortlist = build_shortlist(cand, find_partners(data_for(tijdig_rows()), cand, 2023), config())
    assert "UWV" not in set(shortlist["org_code"])


def test_context_indicators_and_suppressed_values_are_not_pilot_candidates():
    rows = tijdig_rows()
    rows.append({**row("UWV", 2023, TIJDIG, 1.0, 4), "indicator_code": "klachten_per_10000", "direction": "context"})
    iv = pd.DataFrame(
        {
            "org_code": ["RVO"],
            "year": [2023],
            "indicator_code": [TIJDIG],
            "value": [78.5],
            "flags": ["small_n;suppressed"],
        }
    )
    cand = find_candidates(data_for(rows, indicator_values=iv), 2023, config())
    assert "klachten_per_10000" not in set(cand["indicator_code"])
    assert cand.set_index("org_code").loc["RVO", "excluded"]


# --------------------------------------------------------------------------------------- partners


def test_partners_are_demonstrably_strong_and_same_cluster_first():
    data = data_for(tijdig_rows())
    cand = find_candidates(data, 2023, config())
    partners = find_partners(data, cand, 2023, config())
    uwv = partners[partners["org_code"] == "UWV"].sort_values("partner_rank")
    # SVB: best quartile 3 years, same cluster and size; ZIN: 2 years, same cluster; RDW: significantly better
    assert uwv["partner_org_code"].tolist() == ["SVB", "ZIN", "RDW"]
    svb = uwv.iloc[0]
    assert svb["top_years"] == 3 and svb["same_cluster"] and svb["size_match"] == "same"
    assert "3 jaar op rij in het beste kwartiel" in svb["evidence_nl"] and "zelfde cluster" in svb["evidence_nl"]
    assert uwv.iloc[2]["significantly_better"] and not uwv.iloc[2]["same_cluster"]
    # KAD (registreren): RDW is in its cluster, of its size class and significantly better
    kad = partners[partners["org_code"] == "KAD"].sort_values("partner_rank")
    assert kad["partner_org_code"].iloc[0] == "RDW"
    assert find_partners(data, cand, 2023, config(min_top_years=3))["partner_org_code"].isin(["ZIN"]).sum() == 0


def test_dea_peer_with_positive_lambda_is_a_partner_for_efficiency_themes():
    rows = [row("UWV", y, KOSTEN, 700.0, 4) for y in YEARS]
    rows += [row("RVO", y, KOSTEN, 480.0, 2) for y in YEARS]  # only a DEA peer, not top quartile
    rows += [row("ZIN", y, KOSTEN, 520.0, 3) for y in YEARS]  # DEA peer but below the median: not strong
    dea = pd.DataFrame(
        [
            {
                "year": 2023,
                "cluster": "uitkeren",
                "model": "kosten_output",
                "orientation": "in",
                "org_code": "UWV",
                "score": 0.8,
                "peers": "RVO;ZIN",
                "lambdas": "RVO:0.6;ZIN:0.3",
                "n_units": 3,
            },
            {
                "year": 2023,
                "cluster": "uitkeren",
                "model": "kosten_output_out",
                "orientation": "out",
                "org_code": "UWV",
                "score": 1.3,
                "peers": "ZIN",
                "lambdas": "ZIN:1",
                "n_units": 3,
            },
        ]
    )
    data = data_for(rows, dea_results=dea)
    cand = find_candidates(data, 2023, config())
    partners = find_partners(data, cand, 2023, config())
    assert partners["partner_org_code"].tolist() == ["RVO"]
    assert partners["dea_peer"].iloc[0] and partners["dea_lambda"].iloc[0] == pytest.approx(0.6)
    assert "DEA" in partners["evidence_nl"].iloc[0]
    assert cand["dea_model"].iloc[0] == "kosten_output" and cand["c_efficiency"].iloc[0] == pytest.approx(0.5)


def test_parse_lambdas():
    assert parse_lambdas("CODE:0.5;CODE2:0.25") == {"CODE": 0.5, "CODE2": 0.25}
    assert parse_lambdas(None) == {}
    assert math.isnan(parse_lambdas("", "A;B")["B"])


# -------------------------------------------------------------------------------------- shortlist


def overload_rows() -> list[dict]:
    """Three organisations weak on costs who all want SVB (best quartile 3 years, same cluster);
    DUO is the next best (best quartile 2 years, same cluster)."""
    rows = []
    for org, value in (("UWV", 800.0), ("TSL", 760.0), ("RVO", 720.0)):
        rows += [row(org, y, KOSTEN, value, 4) for y in YEARS]
    rows += [row("SVB", y, KOSTEN, 350.0, 1) for y in YEARS]
    rows += [row("DUO", y, KOSTEN, q_v[1], q_v[0]) for y, q_v in zip(YEARS, [(2, 450.0), (1, 380.0), (1, 380.0)])]
    rows += [row("ZIN", y, KOSTEN, 500.0, 2) for y in YEARS]
    return rows


def test_partner_overload_falls_back_to_next_best_partner():
    data = data_for(overload_rows())
    cand = find_candidates(data, 2023, config())
    assert cand["org_code"].tolist() == ["UWV", "TSL", "RVO"]  # largest gap first
    partners = find_partners(data, cand, 2023, config())
    short = build_shortlist(cand, partners, config(max_pilots_per_partner=2))
    assert short["org_code"].tolist() == ["UWV", "TSL", "RVO"]
    assert short["partner_org_code"].tolist() == ["SVB", "SVB", "DUO"]
    assert short["partner_status"].tolist() == ["assigned", "assigned", "fallback"]
    assert short.iloc[2]["first_choice_partner"] == "SVB"
    assert "partner DUO" in short.iloc[2]["rationale_nl"] and "SVB heeft al 2 pilots" in short.iloc[2]["rationale_nl"]
    assert "SVB already has 2 pilots" in short.iloc[2]["rationale_en"]


def test_no_partner_left_is_recorded():
    data = data_for(overload_rows())
    cand = find_candidates(data, 2023, config())
    partners = find_partners(data, cand, 2023, config())
    partners = partners[partners["partner_org_code"] == "SVB"]
    short = build_shortlist(cand, partners, config(max_pilots_per_partner=1))
    assert short["partner_org_code"].tolist()[0] == "SVB"
    assert short["partner_org_code"].iloc[1:].isna().all()
    assert short["partner_status"].tolist() == ["assigned", "none_left", "none_left"]
    assert "geen partner meer beschikbaar" in short.iloc[1]["rationale_nl"]
    none_found = build_shortlist(cand, partners.iloc[0:0], config())
    assert set(none_found["partner_status"]) == {"none_found"}


def test_shortlist_size_and_one_pilot_per_organisation():
    rows = overload_rows() + tijdig_rows()
    data = data_for(rows)
    cand = find_candidates(data, 2023, config())
    partners = find_partners(data, cand, 2023, config())
    short = build_shortlist(cand, partners, config())
    assert short["org_code"].is_unique
    assert short["rank"].tolist() == list(range(1, len(short) + 1))
    assert len(build_shortlist(cand, partners, config(shortlist_size=2))) == 2
    both = build_shortlist(cand, partners, config(max_pilots_per_organisation=None))
    assert (both["org_code"] == "UWV").sum() == 2


def test_shortlist_is_deterministic_and_every_entry_has_reasons():
    rows = overload_rows() + tijdig_rows()
    organisatie = pd.DataFrame({"org_code": ["RVO"], "year": [2023], "ontwikkelvraag_thema": ["tijdigheid"]})
    results = []
    for seed in (0, 1, 2):
        shuffled = pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)
        data = PilotData(
            comparisons=shuffled,
            catalogue=catalogue().sample(frac=1.0, random_state=seed),
            organisations=ORGS.sample(frac=1.0, random_state=seed),
            organisatie=organisatie,
        )
        cand = find_candidates(data, 2023, config())
        results.append(build_shortlist(cand, find_partners(data, cand, 2023, config()), config()))
    pd.testing.assert_frame_equal(results[0], results[1])
    pd.testing.assert_frame_equal(results[0], results[2])
    short = results[0]
    assert len(short) >= 4
    for entry in short.to_dict("records"):
        assert entry["org_label"] in entry["rationale_nl"] and entry["indicator_name_nl"] in entry["rationale_nl"]
        assert entry["indicator_name_en"] in entry["rationale_en"]
        assert "laagste kwartiel" in entry["rationale_nl"] and "bottom quartile" in entry["rationale_en"]
    rvo = short.set_index("org_code").loc["RVO"]
    assert "ontwikkelvraag op dit thema" in rvo["rationale_nl"]


def test_rationale_reads_like_the_example():
    data = data_for(tijdig_rows())
    cand = find_candidates(data, 2023, config())
    short = build_shortlist(cand, find_partners(data, cand, 2023, config()), config())
    uwv = short.set_index("org_code").loc["UWV"]
    assert uwv["rationale_nl"].startswith(
        "UWV staat 3 jaar op rij in het laagste kwartiel op Tijdig beslist (78,0% tegen clustermediaan 89,0%"
    )
    assert "partner SVB: 3 jaar op rij in het beste kwartiel, zelfde cluster" in uwv["rationale_nl"]
    assert uwv["rationale_en"].startswith("UWV has been in the bottom quartile on Decisions within term for 3 years")


def test_shortlist_csv_has_required_columns_and_escapes_formulas():
    data = data_for(tijdig_rows())
    cand = find_candidates(data, 2023, config())
    short = build_shortlist(cand, find_partners(data, cand, 2023, config()), config())
    short.loc[0, "rationale_nl"] = '=HYPERLINK("http://x")'
    text = shortlist_csv(short)
    table = pd.read_csv(io.StringIO(text))
    for col in ("org_code", "indicator_code", "partner_org_code", "score", "rationale", "rank", "rationale_en"):
        assert col in table.columns
    assert table.loc[0, "rationale"].startswith("'=")
    assert escape_cell("-5") == "'-5" and escape_cell("@x") == "'@x" and escape_cell(3) == 3


# ----------------------------------------------------------------------------------------- register


def test_add_pilot_and_validation(tmp_path):
    ws = Workspace.at(tmp_path)
    entry = pilots.add_pilot(ws, "uwv", TIJDIG, "svb", 2024, note="Leren van de SVB")
    assert entry["org_code"] == "UWV" and entry["partner_org_code"] == "SVB"
    text = (tmp_path / "data" / "pilots_register.csv").read_text("utf-8")
    assert text.splitlines()[0] == (
        "pilot_id,org_code,indicator_code,partner_org_code,status,round_year,start_year,team,outcome,lessons,note"
    )
    assert text.splitlines()[1] == f"2024-UWV-{TIJDIG},UWV,{TIJDIG},SVB,running,,2024,,,,Leren van de SVB"
    pilots.add_pilot(ws, "RDW", KOSTEN, None, 2025, note="=cmd")
    register, problems = pilots.load_register(ws)
    assert problems == [] and register["org_code"].tolist() == ["UWV", "RDW"]
    assert register["note"].iloc[1] == "'=cmd"
    with pytest.raises(ValueError, match="unknown organisation code 'XYZ'"):
        pilots.add_pilot(ws, "XYZ", TIJDIG, "SVB", 2024)
    with pytest.raises(ValueError, match="unknown indicator code 'tijdig'"):
        pilots.add_pilot(ws, "UWV", "tijdig", "SVB", 2024)
    with pytest.raises(ValueError, match="context indicator"):
        pilots.add_pilot(ws, "UWV", "klachten_per_10000", "SVB", 2024)
    with pytest.raises(ValueError, match="unknown partner organisation code 'NOPE'"):
        pilots.add_pilot(ws, "UWV", KOSTEN, "NOPE", 2024)
    with pytest.raises(ValueError, match="another organisation"):
        pilots.add_pilot(ws, "UWV", KOSTEN, "UWV", 2024)
    with pytest.raises(ValueError, match="start_year"):
        pilots.add_pilot(ws, "UWV", KOSTEN, "SVB", "volgend jaar")
    with pytest.raises(ValueError, match="not a member in 2012"):
        pilots.add_pilot(ws, "UWV", KOSTEN, "TSL", 2012)
    with pytest.raises(ValueError, match="already registered"):
        pilots.add_pilot(ws, "UWV", TIJDIG, "DUO", 2024)
    assert len(pilots.load_register(ws)[0]) == 2


def test_register_problems_are_reported_per_line(tmp_path):
    ws = Workspace.at(tmp_path)
    path = tmp_path / "data" / "pilots_register.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        f"org_code;indicator_code;partner_org_code;start_year;note\nUWV;{TIJDIG};SVB;2024;ok\nFOO;{TIJDIG};SVB;2024;\n",
        "utf-8",
    )
    register, problems = pilots.load_register(ws, strict=False)
    assert register["org_code"].tolist() == ["UWV"]
    assert problems == [
        "pilots_register.csv, line 3: unknown organisation code 'FOO'; use a code from "
        "data/organisations.csv (e.g. BD, CAK, CBR, CBS, CFI)"
    ]
    with pytest.raises(ValueError, match="line 3"):
        pilots.load_register(ws)


def test_workspace_config_overrides_defaults(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pilots.yaml").write_text("max_pilots_per_partner: 1\nweights: {gap_median: 0.5}\n", "utf-8")
    cfg = load_config(tmp_path)
    assert cfg["max_pilots_per_partner"] == 1 and cfg["weights"]["gap_median"] == 0.5
    assert cfg["weights"]["persistence"] == default_config()["weights"]["persistence"]
    (tmp_path / "data" / "pilots.yaml").write_text("max_partners: 1\n", "utf-8")
    with pytest.raises(ValueError, match="unknown setting"):
        load_config(tmp_path)
    (tmp_path / "data" / "pilots.yaml").write_text("cov_type: HC3\n", "utf-8")
    with pytest.raises(ValueError, match="cov_type must be one of HC1"):
        load_config(tmp_path)
    (tmp_path / "data" / "pilots.yaml").write_text("cov_type: cluster\n", "utf-8")
    with pytest.raises(ValueError, match="no longer available.*one treated cluster.*Conley & Taber"):
        load_config(tmp_path)


# ---------------------------------------------------------------------------------------- follow-up


def did_panel() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for unit, treated in (("T", 1), ("C1", 0), ("C2", 0), ("C3", 0), ("C4", 0)):
        level = rng.normal(80, 4)
        for year in range(2019, 2025):
            effect = 3.0 if treated and year >= 2022 else 0.0
            rows.append(
                {
                    "unit": unit,
                    "year": year,
                    "treated": treated,
                    "value": level + 0.5 * (year - 2019) + effect + rng.normal(0, 1.0),
                }
            )
    return pd.DataFrame(rows)


def unbalanced(panel: pd.DataFrame) -> pd.DataFrame:
    """did_panel with holes: the treated unit misses 2019, two controls miss later years."""
    drop = (
        ((panel["unit"] == "T") & (panel["year"] == 2019))
        | ((panel["unit"] == "C2") & (panel["year"] >= 2023))
        | ((panel["unit"] == "C4") & (panel["year"] == 2020))
    )
    return panel[~drop].reset_index(drop=True)


def dummies_fit(panel: pd.DataFrame, start: int, **fit):
    frame = panel.assign(D=((panel["treated"] == 1) & (panel["year"] >= start)).astype(int))
    return smf.ols("value ~ C(unit) + C(year) + D", data=frame).fit(use_t=True, **fit), frame


@pytest.mark.parametrize("balanced", [True, False])
def test_twfe_matches_statsmodels_ols_with_unit_and_year_dummies(balanced):
    panel = did_panel() if balanced else unbalanced(did_panel())
    ours = did_estimate(panel, 2022, cov_type="HC1")
    fit, frame = dummies_fit(panel, 2022, cov_type="HC1")
    assert ours["estimate"] == pytest.approx(fit.params["D"], abs=1e-10)
    assert ours["se"] == pytest.approx(fit.bse["D"], rel=1e-9)
    lo, hi = fit.conf_int(alpha=0.05).loc["D"]
    assert (ours["ci_low"], ours["ci_high"]) == (pytest.approx(lo, rel=1e-9), pytest.approx(hi, rel=1e-9))
    assert ours["p_value"] == pytest.approx(fit.pvalues["D"], rel=1e-7)
    assert ours["dof"] == int(fit.df_resid) and ours["n_obs"] == len(frame)
    # the pooled 2x2 contrast of means equals the two-way estimate only on a balanced panel
    means = frame.assign(post=frame["year"] >= 2022).groupby(["treated", "post"])["value"].mean()
    did = (means[1, True] - means[1, False]) - (means[0, True] - means[0, False])
    assert ours["estimate_2x2"] == pytest.approx(did, abs=1e-10)
    if balanced:
        assert ours["estimate"] == pytest.approx(did, abs=1e-10)
    else:
        assert abs(ours["estimate"] - did) > 0.05


def test_cluster_se_only_with_several_treated_units_and_then_matches_statsmodels():
    panel = did_panel()
    with pytest.raises(ValueError, match="single treated unit"):
        did_estimate(panel, 2022, cov_type="cluster")
    several = unbalanced(panel.assign(treated=panel["unit"].isin(["T", "C1", "C2"]).astype(int)))
    ours = did_estimate(several, 2022, cov_type="cluster")
    fit, frame = dummies_fit(several, 2022, cov_type="cluster", cov_kwds={"groups": pd.factorize(several["unit"])[0]})
    assert ours["n_treated_units"] == 3
    assert ours["estimate"] == pytest.approx(fit.params["D"], abs=1e-10)
    assert ours["se"] == pytest.approx(fit.bse["D"], rel=1e-9)
    assert ours["p_value"] == pytest.approx(fit.pvalues["D"], rel=1e-7)
    assert ours["dof"] == 4


def test_randomisation_inference_is_the_rank_of_the_placebo_estimates():
    panel = unbalanced(did_panel())
    ri = randomisation_inference(panel, 2022)
    placebo = []
    for unit in ("C1", "C2", "C3", "C4"):
        placebo.append(did_estimate(panel.assign(treated=(panel["unit"] == unit).astype(int)), 2022)["estimate"])
    assert [p["estimate"] for p in ri["placebos"]] == pytest.approx(placebo, abs=1e-9)
    observed = did_estimate(panel, 2022)["estimate"]
    assert ri["estimate"] == pytest.approx(observed, abs=1e-10)
    expected = (1 + sum(abs(p) >= abs(observed) for p in placebo)) / 5
    assert ri["p_value"] == pytest.approx(expected) and ri["p_min"] == pytest.approx(1 / 5)
    assert ri["n_assignments"] == 5 and ri["exact"]
    # alpha below the smallest attainable p: no effect size can be rejected
    assert (ri["ci_low"], ri["ci_high"]) == (-math.inf, math.inf)


def test_randomisation_interval_is_the_set_of_effects_the_test_does_not_reject():
    rng = np.random.default_rng(3)
    panel = sim_panel(rng, n_controls=24, effect=8.0)
    ri = randomisation_inference(panel, 2022, confidence=0.90)
    assert ri["p_min"] == pytest.approx(1 / 25) and ri["p_value"] <= 0.10
    lo, hi = ri["ci_low"], ri["ci_high"]
    assert lo < ri["estimate"] < hi and lo > 0

    def p_at(tau0: float) -> float:
        shifted = panel.assign(value=panel["value"] - tau0 * ((panel["treated"] == 1) & (panel["year"] >= 2022)))
        return randomisation_inference(shifted, 2022)["p_value"]

    width = hi - lo
    assert p_at(lo) > 0.10 and p_at(hi) > 0.10 and p_at(ri["estimate"]) == 1.0
    for outside in (lo - 0.01 * width, lo - 0.5 * width, hi + 0.01 * width, hi + 0.5 * width):
        assert p_at(outside) <= 0.10 + 1e-12


def test_event_study_matches_statsmodels_with_relative_year_dummies():
    panel = unbalanced(did_panel())
    ri = randomisation_inference(panel, 2022)
    es = {e["rel_year"]: e for e in ri["event_study"]}
    assert sorted(es) == [-2, -1, 0, 1, 2] and es[-1]["reference"] and es[-1]["estimate"] == 0
    frame = panel.copy()
    names = []
    for k in (-2, 0, 1, 2):
        name = f"E{k + 10}"
        frame[name] = ((frame["treated"] == 1) & (frame["year"] - 2022 == k)).astype(int)
        names.append(name)
    fit = smf.ols("value ~ C(unit) + C(year) + " + " + ".join(names), data=frame).fit()
    for k, name in zip((-2, 0, 1, 2), names):
        assert es[k]["estimate"] == pytest.approx(fit.params[name], abs=1e-9)
        assert es[k]["year"] == 2022 + k and 0 < es[k]["p_value"] <= 1
        assert es[k]["placebo_low"] <= es[k]["placebo_high"]


# ------------------------------------------------------------------------------ simulations (known truth)


def sim_panel(
    rng: np.random.Generator,
    n_controls: int,
    effect: float = 0.0,
    n_treated: int = 1,
    years: range = range(2019, 2025),
    start: int = 2022,
    rho: float = 0.5,
) -> pd.DataFrame:
    """Unit and year effects, AR(1) noise with a unit-specific scale (heteroskedastic), a year-specific
    scale; the treated units are the first ones and draw their scale like every other unit."""
    n_units, n_years = n_controls + n_treated, len(years)
    unit_fx = rng.normal(80, 5, n_units)
    year_fx = rng.normal(0, 1, n_years).cumsum()
    scale = rng.lognormal(0, 0.5, n_units)[:, None] * np.linspace(0.8, 1.4, n_years)[None, :]
    eps = np.empty((n_units, n_years))
    eps[:, 0] = rng.normal(0, 1, n_units) / math.sqrt(1 - rho**2)
    for t in range(1, n_years):
        eps[:, t] = rho * eps[:, t - 1] + rng.normal(0, 1, n_units)
    treated = np.arange(n_units) < n_treated
    post = np.array([y >= start for y in years])
    value = unit_fx[:, None] + year_fx[None, :] + scale * eps + effect * (treated[:, None] & post[None, :])
    return pd.DataFrame(
        {
            "unit": np.repeat([f"U{i:02d}" for i in range(n_units)], n_years),
            "year": np.tile(list(years), n_units),
            "treated": np.repeat(treated.astype(int), n_years),
            "value": value.ravel(),
        }
    )


def mc_bound(alpha: float, reps: int) -> float:
    return alpha + 2 * math.sqrt(alpha * (1 - alpha) / reps)


@pytest.mark.parametrize(("n_controls", "alpha"), [(11, 0.10), (19, 0.05)])
def test_permutation_inference_keeps_its_size_with_one_treated_unit(n_controls, alpha):
    reps = 300
    rng = np.random.default_rng(20250 + n_controls)
    p = np.array(
        [randomisation_inference(sim_panel(rng, n_controls), 2022, detail=False)["p_value"] for _ in range(reps)]
    )
    rate = float(np.mean(p <= alpha + 1e-12))
    assert rate <= mc_bound(alpha, reps), rate
    # exact test: the rejection rate is the largest attainable level below alpha, 1/12 resp. 1/20
    assert rate >= alpha / 2
    if n_controls == 11:
        assert float(np.mean(p <= 0.05)) == 0.0  # 1/12 > 0.05: no 5% statement is possible


def test_cluster_robust_se_over_rejects_with_one_treated_unit_in_the_same_design():
    import statsmodels.api as sm

    reps, alpha = 100, 0.05
    rng = np.random.default_rng(99)
    rejected = 0
    for _ in range(reps):
        panel = sim_panel(rng, 19)
        x = pd.get_dummies(panel[["unit", "year"]].astype(str), drop_first=True).astype(float)
        x["D"] = ((panel["treated"] == 1) & (panel["year"] >= 2022)).astype(float)
        fit = sm.OLS(panel["value"], sm.add_constant(x)).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(panel["unit"])[0]}, use_t=True
        )
        rejected += fit.pvalues["D"] <= alpha
    assert rejected / reps > 3 * mc_bound(alpha, reps), rejected / reps


def test_permutation_inference_has_power_against_a_large_effect():
    reps = 100
    rng = np.random.default_rng(7)
    p = np.array(
        [randomisation_inference(sim_panel(rng, 19, effect=6.0), 2022, detail=False)["p_value"] for _ in range(reps)]
    )
    assert float(np.mean(p <= 0.05 + 1e-12)) >= 0.8


def test_wild_cluster_bootstrap_refuses_one_treated_cluster_and_keeps_size_with_several():
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match="at least 2 treated units and 12 units"):
        wild_cluster_bootstrap(sim_panel(rng, 19), 2022)
    with pytest.raises(ValueError, match="at least 2 treated units and 12 units"):
        wild_cluster_bootstrap(sim_panel(rng, 8, n_treated=3), 2022)
    reps, alpha = 150, 0.05
    p = np.array(
        [
            wild_cluster_bootstrap(sim_panel(rng, 13, n_treated=3), 2022, reps=199, seed=i)["p_value"]
            for i in range(reps)
        ]
    )
    assert float(np.mean(p <= alpha)) <= mc_bound(alpha, reps)
    big = [
        wild_cluster_bootstrap(sim_panel(rng, 13, effect=8.0, n_treated=3), 2022, reps=199, seed=i)["p_value"]
        for i in range(30)
    ]
    assert float(np.mean(np.array(big) <= 0.10)) >= 0.5
    effect = pilot_effect(sim_panel(rng, 13, n_treated=3), 2022)
    assert 0 <= effect["p_wild_bootstrap"] <= 1 and effect["n_assignments"] == math.comb(16, 3)


def follow_data(panel: pd.DataFrame, clusters: dict[str, str]) -> PilotData:
    iv = panel.rename(columns={"unit": "org_code"}).assign(indicator_code=TIJDIG, flags=None)
    orgs = pd.DataFrame(
        {
            "org_code": list(clusters),
            "name": list(clusters),
            "abbreviation": list(clusters),
            "cluster": list(clusters.values()),
            "size_class": "middel",
        }
    )
    return PilotData(
        comparisons=pd.DataFrame(columns=["org_code", "year", "indicator_code", "quartile"]),
        catalogue=catalogue(),
        organisations=orgs,
        indicator_values=iv,
    )


def test_follow_up_estimates_against_cluster_controls():
    panel = did_panel()
    clusters = {"T": "uitkeren", "C1": "uitkeren", "C2": "uitkeren", "C3": "uitkeren", "C4": "registreren"}
    register = pd.DataFrame(
        [{"org_code": "T", "indicator_code": TIJDIG, "partner_org_code": None, "start_year": 2022, "note": ""}]
    )
    [res] = follow_up(follow_data(panel, clusters), register, 2024, config(max_years_before=3))
    assert res["control_scope"] == "cluster" and res["control_org_codes"] == ["C1", "C2", "C3"]
    assert (res["n_treated_before"], res["n_treated_after"], res["n_control_units"]) == (3, 3, 3)
    expected = did_estimate(panel[panel["unit"] != "C4"], 2022, cov_type="HC1")
    assert res["estimate"] == pytest.approx(expected["estimate"]) and res["se"] == pytest.approx(expected["se"])
    # three controls: the permutation test cannot go below p = 1/4, so the data cannot tell
    assert res["p_min"] == pytest.approx(0.25) and res["n_assignments"] == 4
    assert res["verdict"] == "cannot_tell" and res["ci_low"] == -math.inf
    assert res["verdict_en"].startswith("Cannot tell: with 3 comparable organisations")
    assert "too few comparable members for a significance statement" in res["verdict_en"]
    assert res["verdict_nl"].startswith("Niet vast te stellen: met 3 vergelijkbare organisaties")
    assert [p["year"] for p in res["series"]] == list(range(2019, 2025))
    assert [e["rel_year"] for e in res["event_study"]] == [-3, -2, -1, 0, 1, 2]


def many_controls_data(effect: float, n_controls: int = 24, seed: int = 11) -> tuple[PilotData, pd.DataFrame]:
    panel = sim_panel(np.random.default_rng(seed), n_controls, effect=effect)
    panel["unit"] = panel["unit"].replace({"U00": "T"})
    data = follow_data(panel, {u: "uitkeren" for u in panel["unit"].unique()})
    register = pd.DataFrame(
        [{"org_code": "T", "indicator_code": TIJDIG, "partner_org_code": None, "start_year": 2022, "note": ""}]
    )
    return data, register


@pytest.mark.parametrize(("effect", "verdict"), [(10.0, "improved"), (-10.0, "worsened"), (0.0, "no_clear_effect")])
def test_verdict_follows_the_permutation_test_when_alpha_is_attainable(effect, verdict):
    data, register = many_controls_data(effect)
    [res] = follow_up(data, register, 2024, config())
    assert res["n_control_units"] == 24 and res["p_min"] == pytest.approx(1 / 25)
    assert res["verdict"] == verdict, res["verdict_en"]
    assert "permutation test over 25 organisations" in res["verdict_en"]
    assert "smallest attainable p = 1/25 = 0.040" in res["verdict_en"]
    if verdict != "no_clear_effect":
        assert res["p_value"] == pytest.approx(1 / 25) and res["placebo_rank"] == 1
        assert res["ci_low"] <= res["estimate"] <= res["ci_high"] and math.isfinite(res["ci_low"])
    else:
        assert res["p_value"] > 0.05 and "lies within what comparable organisations" in res["verdict_en"]
    assert math.isnan(res["p_wild_bootstrap"]) and "not used: 1 treated" in res["wild_bootstrap_note"]


def test_pre_period_divergence_is_flagged():
    data, register = many_controls_data(0.0)
    iv = data.indicator_values
    iv.loc[(iv["org_code"] == "T") & (iv["year"] == 2019), "value"] += 25.0
    [res] = follow_up(data, register, 2024, config())
    assert res["pre_trend_years"] == [2019]
    assert "parallel trends are doubtful" in res["verdict_en"] and "parallelle trends" in res["verdict_nl"]


def test_follow_up_falls_back_to_all_members_and_excludes_partner():
    panel = did_panel()
    clusters = {"T": "uitkeren", "C1": "uitkeren", "C2": "registreren", "C3": "registreren", "C4": "registreren"}
    register = pd.DataFrame(
        [{"org_code": "T", "indicator_code": TIJDIG, "partner_org_code": "C2", "start_year": 2022, "note": ""}]
    )
    [res] = follow_up(follow_data(panel, clusters), register, 2024, config())
    assert res["control_scope"] == "all" and res["control_org_codes"] == ["C1", "C3", "C4"]


@pytest.mark.parametrize("case", ["no_before", "too_few_controls", "not_started"])
def test_too_little_data_gives_the_honest_verdict(case):
    panel = did_panel()
    start, year, min_controls = 2022, 2024, 3
    if case == "no_before":
        panel = panel[~((panel["unit"] == "T") & (panel["year"] < 2022))]
    elif case == "too_few_controls":
        panel = panel[panel["unit"].isin(["T", "C1", "C2"])]
    else:
        start = 2025
    clusters = {u: "uitkeren" for u in panel["unit"].unique()}
    register = pd.DataFrame(
        [{"org_code": "T", "indicator_code": TIJDIG, "partner_org_code": None, "start_year": start, "note": ""}]
    )
    [res] = follow_up(follow_data(panel, clusters), register, year, config(min_controls=min_controls))
    assert res["verdict"] == "too_little_data"
    assert res["verdict_nl"].startswith("Te weinig gegevens om een effect vast te stellen")
    assert res["verdict_en"].startswith("Too little data to tell")
    assert math.isnan(res["estimate"]) and math.isnan(res["se"])


def test_follow_up_ignores_suppressed_values():
    panel = did_panel()
    clusters = {u: "uitkeren" for u in panel["unit"].unique()}
    data = follow_data(panel, clusters)
    data.indicator_values.loc[
        (data.indicator_values["org_code"] == "T") & (data.indicator_values["year"] < 2022), "flags"
    ] = "suppressed"
    register = pd.DataFrame(
        [{"org_code": "T", "indicator_code": TIJDIG, "partner_org_code": None, "start_year": 2022, "note": ""}]
    )
    [res] = follow_up(data, register, 2024, config())
    assert res["n_treated_before"] == 0 and res["verdict"] == "too_little_data"


def test_one_year_either_side_is_marked_indicative():
    panel = did_panel()
    panel = panel[panel["year"].isin([2021, 2022])]
    clusters = {u: "uitkeren" for u in panel["unit"].unique()}
    register = pd.DataFrame(
        [{"org_code": "T", "indicator_code": TIJDIG, "partner_org_code": None, "start_year": 2022, "note": ""}]
    )
    [res] = follow_up(follow_data(panel, clusters), register, 2022, config())
    assert res["verdict"] != "too_little_data" and "Indicatief" in res["verdict_nl"]
    assert res["n_treated_years"] == 2 and res["n_control_units"] == 4


# ------------------------------------------------------------------------------------ stage (DuckDB)


def test_run_pilots_on_a_tiny_warehouse(tmp_path):
    ws = Workspace.at(tmp_path).ensure()
    comparisons = pd.DataFrame(overload_rows() + tijdig_rows())
    comparisons["significance_label"] = comparisons["significance_label"].astype(object)
    cat = catalogue_from_yaml()
    cat["fields"] = cat["fields"].map(lambda f: ";".join(f))
    values = comparisons[["org_code", "year", "indicator_code", "value"]].assign(flags=None)
    con = duckdb.connect(str(ws.db_path))
    for name, frame in (
        ("comparisons", comparisons),
        ("indicator_catalogue", cat),
        ("organisations", ORGS),
        ("indicator_values", values),
    ):
        con.register("_df", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _df")
        con.unregister("_df")
    con.close()
    pilots.add_pilot(ws, "UWV", TIJDIG, "SVB", 2022)
    result = pilots.run(ws)
    assert result["year"] == 2023
    html = (tmp_path / "reports" / "2023" / "pilots.html").read_text("utf-8")
    assert "Pilotselectie 2023" in html and "Wat gebeurde er daarna" in html
    assert result["shortlist"]["rationale_nl"].iloc[0] in html
    # plotly.js comes from the year's own asset, never from the network
    assert re.findall(r'<script src="([^"]*)"', html) == ["assets/plotly.min.js"]
    assert (tmp_path / "reports" / "2023" / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    assert "cdn.plot.ly" not in html
    assert (tmp_path / "reports" / "2023" / "pilots.en.html").exists()
    table = pd.read_csv(tmp_path / "reports" / "2023" / "pilots.csv")
    assert table["org_code"].tolist() == result["shortlist"]["org_code"].tolist()
    # UWV's timeliness pilot is registered, so that combination is excluded from the new shortlist
    excluded = result["candidates"][result["candidates"]["excluded"]]
    assert ("UWV", TIJDIG) in set(zip(excluded["org_code"], excluded["indicator_code"]))
    [f] = result["follow_up"]
    assert f["org_code"] == "UWV" and f["n_treated_before"] == 1 and f["n_treated_after"] == 2
    follow = pd.read_csv(tmp_path / "reports" / "2023" / "pilots_follow_up.csv")
    assert list(follow.columns) == FOLLOW_UP_COLUMNS
    assert follow["verdict"].unique().tolist() == [f["verdict"]]
    if f["event_study"]:
        assert follow["rel_year"].tolist() == [e["rel_year"] for e in f["event_study"]]
    assert f["verdict"] in VERDICTS and f["verdict_nl"] in html


@pytest.mark.parametrize("text", ["2.025", "２０２５", "2_025", "2025.0"])
def test_pilot_start_year_is_four_digits_not_a_dutch_number(text):
    """The pilots register has one number, the start year: written as 2025, never read from '2.025'."""
    from pipeline.pilots.register import validate_entry

    orgs = load_organisations(None)
    with pytest.raises(ValueError, match="start_year must be a year such as 2026"):
        validate_entry("CJIB", "tijdig_beslist_pct", "DUO", text, orgs, catalogue_from_yaml())
    assert (
        validate_entry("CJIB", "tijdig_beslist_pct", "DUO", " 2025 ", orgs, catalogue_from_yaml())["start_year"] == 2025
    )
