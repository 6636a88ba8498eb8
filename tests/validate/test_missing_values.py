"""Answers besides a value, from template to report: 'n.v.t.' (not applicable) and 'onbekend' (unknown).

One round of template workbooks (the real `rbb template` layout filled with demo data) in which members answer the
way real members do: products without a digital channel say 'n.v.t.' (spelt three ways), an unknown figure is '?',
an organisation says 'n.v.t.' for its total staff (not a possible answer), a large organisation has 1.48 billion web
visits, a product name runs to 250 characters, a product code was typed as a number, a survey row names a product
that does not exist and a part exceeds its total by 0,004 fte. Each is checked through ingest, warehouse, indicator
and report against an independent computation from the cells written.
"""

from __future__ import annotations

import duckdb
import openpyxl
import pandas as pd
import pytest
from inprocess import rbb

from pipeline.core.workspace import Workspace
from pipeline.demo.data import generate
from pipeline.ingest.answers import answer_state
from pipeline.ingest.template import write_workbook
from pipeline.metadata.registry import registry

YEAR = 2025
ORGS = ("UWV", "SVB", "DUO", "KAD", "KVK", "BD", "CIZ")
NVT_ORG, STAFF_ORG, BIG_ORG, CODE_ORG, PART_ORG, LOW_ORG = "UWV", "SVB", "DUO", "KAD", "BD", "KVK"


def _deliveries():
    out = {}
    for d in generate(years=[YEAR]):
        if d.org_code in ORGS and d.fault is None:
            out[d.org_code] = {k: v.copy() for k, v in d.sheets.items()}
    assert set(out) == set(ORGS)
    return out


@pytest.fixture(scope="module")
def round_(tmp_path_factory):
    root = tmp_path_factory.mktemp("answers")
    ws = Workspace.at(root).ensure()
    sheets = _deliveries()
    planted: dict[str, object] = {}
    # UWV: three products without a digital channel (three spellings), one unknown complaint count
    p = sheets[NVT_ORG]["producten"]
    for col in ("n_aanvragen_digitaal", "n_klachten"):
        p[col] = p[col].astype(object)
    for i, text in enumerate(("n.v.t.", "NVT", "n/a")):
        p.loc[i, "n_aanvragen_digitaal"] = text
    p.loc[3, "n_klachten"] = "?"
    planted["uwv_products"] = p.copy()
    # SVB: 'n.v.t.' for total staff is not a possible answer
    o = sheets[STAFF_ORG]["organisatie"]
    o["fte_totaal"] = o["fte_totaal"].astype(object)
    o.loc[0, "fte_totaal"] = "n.v.t."
    # DUO: 1.48 billion web visits and a 250-character product name: implausible, not impossible
    k = sheets[BIG_ORG]["kanalen"]
    k.loc[k["kanaal"] == "web", "n_contacten"] = 1_480_000_000
    pr = sheets[BIG_ORG]["producten"]
    pr["product_naam"] = pr["product_naam"].astype(object)
    pr.loc[0, "product_naam"] = ("Aanvraag en toekenning " * 12)[:250]
    # KAD: a product code typed as a number, a survey row naming a product that does not exist
    kp = sheets[CODE_ORG]["producten"]
    kp["product_code"] = kp["product_code"].astype(object)
    kp.loc[0, "product_code"] = 849
    sv = sheets[CODE_ORG]["enquete"]
    sv["product_code"] = sv["product_code"].astype(object)
    sv.loc[0, "product_code"] = "GEENPRODUCT"
    # BD: overhead parts exceed the total staff by 0.004 fte
    io = sheets[PART_ORG]["organisatie"]
    parts = [c for c in io.columns if c.startswith("fte_overhead_")]
    io.loc[0, "fte_totaal"] = round(float(io.loc[0, parts].sum()) - 0.004, 3)
    planted["ind_total"] = float(io.loc[0, "fte_totaal"])
    planted["ind_parts"] = float(io.loc[0, parts].sum())
    # KVK: the digital applications of the products holding most applications are unknown
    rp = sheets[LOW_ORG]["producten"]
    order = rp["n_aanvragen_totaal"].astype(float).sort_values(ascending=False).index
    rp["n_aanvragen_digitaal"] = rp["n_aanvragen_digitaal"].astype(object)
    rp.loc[order[0], "n_aanvragen_digitaal"] = "onbekend"
    planted["rdw_products"] = rp.copy()
    for org, data in sheets.items():
        path = ws.raw / str(YEAR) / org / f"{org}_{YEAR}.xlsx"
        write_workbook(path, YEAR, org, data=data)
        if org == CODE_ORG:
            # the code as Excel stores a number typed into a cell
            wb = openpyxl.load_workbook(path)
            sheet = wb["Producten"]
            sheet["A4"].value = 849
            wb.save(path)
    ingest = rbb("ingest", "--root", str(root))
    compute = rbb("compute", "--root", str(root))
    report = rbb("report", "--root", str(root), "--year", str(YEAR), "--org", NVT_ORG)
    for r in (ingest, compute, report):
        assert "Traceback" not in r.stderr, r.stderr[-3000:]
    assert compute.returncode == 0 and report.returncode == 0, (compute.stderr, report.stderr)
    con = duckdb.connect(str(ws.db_path), read_only=True)
    yield ws, con, planted
    con.close()


def findings(con, org: str) -> pd.DataFrame:
    return con.execute(
        "SELECT f.* FROM findings f JOIN submissions s USING (submission_id) WHERE f.org_code = ? AND s.year = ?",
        [org, YEAR],
    ).fetch_df()


def status(con, org: str) -> str:
    return con.execute("SELECT status FROM submissions WHERE org_code = ? AND year = ?", [org, YEAR]).fetchone()[0]


def test_spellings_map_to_states():
    assert {answer_state(t) for t in ("n.v.t.", "nvt", "n.v.t", "NA", "n/a", "-", " N.V.T. ")} == {"nvt"}
    assert {answer_state(t) for t in ("onbekend", "onb.", "?", "geen gegevens", "ND", "no_data")} == {"onbekend"}
    assert answer_state("") == "leeg"
    assert answer_state("0") is None and answer_state("12,5") is None and answer_state("x") is None


def test_template_says_what_the_rules_say(tmp_path):
    path = write_workbook(tmp_path / "t.xlsx", YEAR, "DUO")
    wb = openpyxl.load_workbook(path)
    instructions = " ".join(str(c.value) for row in wb["Instructies"].iter_rows() for c in row if c.value)
    assert "n.v.t." in instructions and "onbekend" in instructions
    assert "Laat een cel leeg als een waarde niet van toepassing is" not in instructions
    reg = registry()
    products = wb["Producten"]
    rules = {str(dv.sqref).split(":")[0]: dv for dv in products.data_validations.dataValidation}
    for j, f in enumerate(reg.sheet("producten").fields):
        dv = rules.get(f"{openpyxl.utils.get_column_letter(j + 1)}4")
        if f.is_numeric:
            assert dv is not None and dv.type == "custom", f.code
            for answer, text in (("nvt", '"n.v.t."'), ("onbekend", '"onbekend"')):
                assert (text in dv.formula1) == (answer in f.missing), (f.code, dv.formula1)
            assert "n.v.t." in (dv.prompt or "") or not f.missing
    staff = {str(dv.sqref).split(":")[0]: dv for dv in wb["Organisatie"].data_validations.dataValidation}
    col = openpyxl.utils.get_column_letter(reg.sheet("organisatie").field_codes.index("fte_totaal") + 1)
    assert '"n.v.t."' not in staff[f"{col}4"].formula1 and '"onbekend"' in staff[f"{col}4"].formula1
    channels = {str(dv.sqref).split(":")[0]: dv for dv in wb["Kanalen"].data_validations.dataValidation}
    col = openpyxl.utils.get_column_letter(reg.sheet("kanalen").field_codes.index("definitie_code") + 1)
    assert "n.v.t." in channels[f"{col}4"].formula1


def test_not_applicable_is_stored_beside_null_and_leaves_the_row_out(round_):
    ws, con, planted = round_
    assert status(con, NVT_ORG) in ("accepted", "accepted_with_warnings")
    rows = con.execute(
        "SELECT product_code, n_aanvragen_digitaal, n_aanvragen_digitaal__state, n_aanvragen_totaal, n_klachten, "
        "n_klachten__state FROM v_producten WHERE org_code = ? ORDER BY source_row",
        [NVT_ORG],
    ).fetch_df()
    written = planted["uwv_products"]
    assert list(rows["n_aanvragen_digitaal__state"].iloc[:3]) == ["nvt"] * 3
    assert rows["n_aanvragen_digitaal"].iloc[:3].isna().all()  # NULL, never 0
    assert rows["n_aanvragen_digitaal__state"].iloc[3:].isna().all()
    assert rows.loc[3, "n_klachten__state"] == "onbekend" and pd.isna(rows.loc[3, "n_klachten"])
    # an empty optional cell is 'leeg'; a value has no state; never a state beside a value
    empty = con.execute(
        "SELECT count(*) FILTER (WHERE doorlooptijd_p90 IS NULL AND doorlooptijd_p90__state = 'leeg'), "
        "count(*) FILTER (WHERE doorlooptijd_p90 IS NULL AND doorlooptijd_p90__state IS NULL), "
        "count(*) FILTER (WHERE doorlooptijd_p90 IS NOT NULL AND doorlooptijd_p90__state IS NOT NULL) FROM v_producten"
    ).fetchone()
    expected_empty = sum(int(d["producten"]["doorlooptijd_p90"].isna().sum()) for d in _deliveries().values())
    assert empty[1:] == (0, 0) and 0 < empty[0] <= expected_empty
    # the digital share over the products that have a digital channel, recomputed from the cells written
    digital = pd.to_numeric(written["n_aanvragen_digitaal"], errors="coerce")
    total = written["n_aanvragen_totaal"].astype(float)
    used = digital.notna()
    v = (
        con.execute(
            "SELECT value, numerator, denominator, rows_total, rows_used, rows_left_out, left_out, coverage "
            "FROM indicator_values WHERE org_code = ? AND year = ? AND indicator_code = 'digitaal_aanvraag_pct'",
            [NVT_ORG, YEAR],
        )
        .fetch_df()
        .iloc[0]
    )
    assert v["numerator"] == digital[used].sum() and v["denominator"] == total[used].sum()
    assert v["value"] == pytest.approx(100 * digital[used].sum() / total[used].sum())
    assert (v["rows_total"], v["rows_used"], v["rows_left_out"], v["left_out"]) == (
        len(written),
        int(used.sum()),
        3,
        "nvt:3",
    )
    assert v["coverage"] == 1.0  # n.v.t. rows are out of scope, not missing
    # complaints per client: declared 'zero' for n.v.t., but an unknown count still leaves its product out
    k = con.execute(
        "SELECT rows_used, rows_left_out, left_out FROM indicator_values WHERE org_code = ? AND year = ? "
        "AND indicator_code = 'klachten_per_10000'",
        [NVT_ORG, YEAR],
    ).fetchone()
    assert k == (len(written) - 1, 1, "onbekend:1")


def test_findings_echo_the_cell_and_report_what_was_read(round_):
    ws, con, _ = round_
    f = findings(con, NVT_ORG)
    read = f[f["rule"] == "answers_read"]
    assert len(read) >= 1
    text = " ".join(read["message_nl"])
    assert "'n.v.t.' 1×" in text and "'NVT' 1×" in text and "'n/a' 1×" in text and "'?' 1×" in text
    unknown = f[f["rule"] == "unknown_value"].iloc[0]
    assert unknown["severity"] == "warning" and unknown["value"] == "?" and unknown["field"] == "n_klachten"
    page = (ws.reports / str(YEAR) / "validation" / f"{NVT_ORG}_v1.html").read_text("utf-8")
    assert "(onbekend)" in page and "?" in page


def test_not_applicable_where_no_answer_but_a_value_fits_is_an_error(round_):
    _, con, _ = round_
    assert status(con, STAFF_ORG) == "rejected"
    (err,) = findings(con, STAFF_ORG).query("severity == 'error'").itertuples()
    assert err.rule == "answer_not_allowed" and err.field == "fte_totaal" and err.value == "n.v.t."
    assert "onbekend" in err.message_nl and err.cell.startswith("Organisatie!")


def test_plausibility_bounds_are_warnings(round_):
    _, con, _ = round_
    assert status(con, BIG_ORG) in ("accepted", "accepted_with_warnings")
    f = findings(con, BIG_ORG)
    assert not (f["severity"] == "error").any(), f[f["severity"] == "error"][["rule", "message_en"]]
    big = f[(f["rule"] == "implausible") & (f["field"] == "n_contacten")].iloc[0]
    assert big["severity"] == "warning" and "1.480.000.000" in big["message_nl"]
    long = f[f["rule"] == "long_text"].iloc[0]
    assert long["severity"] == "warning" and "250 tekens" in long["message_nl"]
    stored = con.execute("SELECT max(length(product_naam)) FROM v_producten WHERE org_code = ?", [BIG_ORG]).fetchone()[
        0
    ]
    assert stored == 250  # kept in full


def test_code_typed_as_number_and_unknown_product_are_warnings(round_):
    _, con, _ = round_
    f = findings(con, CODE_ORG)
    as_number = f[f["rule"] == "code_as_number"].iloc[0]
    assert as_number["severity"] == "warning" and as_number["value"] == "849" and "0849" in as_number["message_nl"]
    unknown = f[(f["rule"] == "unknown_product") & (f["value"] == "GEENPRODUCT")].iloc[0]
    assert unknown["severity"] == "warning" and unknown["sheet"] == "enquete"
    assert status(con, CODE_ORG) in ("accepted", "accepted_with_warnings")


def test_part_above_total_names_the_exact_numbers(round_):
    _, con, planted = round_
    assert status(con, PART_ORG) == "rejected"
    err = findings(con, PART_ORG).query("rule == 'rule:overhead_le_totaal'").iloc[0]
    total, parts = planted["ind_total"], planted["ind_parts"]

    def dutch(x: float) -> str:  # 5177.436 -> '5.177,436', as many decimals as the number has
        whole, _, frac = f"{x:.6f}".rstrip("0").partition(".")
        return f"{int(whole):,}".replace(",", ".") + "," + frac.ljust(2, "0")

    assert f"({dutch(parts)}) is groter dan" in err["message_nl"], err["message_nl"]
    assert f"({dutch(total)})" in err["message_nl"]  # the 0,004 excess is visible, not rounded away


def test_report_says_how_many_products_the_value_is_based_on(round_):
    ws, con, planted = round_
    html = (ws.reports / str(YEAR) / "organisations" / f"{NVT_ORG}.html").read_text("utf-8")
    n = len(planted["uwv_products"])
    assert f"Gebaseerd op {n - 3} van {n} producten; 3 niet van toepassing." in html
    assert f"Gebaseerd op {n - 1} van {n} producten; 1 onbekend." in html


def test_low_coverage_is_not_published(round_):
    """Unknown digital applications for the product holding most applications: the share is not published,
    its numerator and denominator over the products used are kept, and the coverage says why."""
    _, con, planted = round_
    written = planted["rdw_products"]
    digital = pd.to_numeric(written["n_aanvragen_digitaal"], errors="coerce")
    total = written["n_aanvragen_totaal"].astype(float)
    used = digital.notna()
    expected = total[used].sum() / total.sum()
    assert expected < 0.5
    v = (
        con.execute(
            "SELECT value, numerator, denominator, rows_used, rows_left_out, left_out, coverage, flags "
            "FROM indicator_values WHERE org_code = ? AND year = ? AND indicator_code = 'digitaal_aanvraag_pct'",
            [LOW_ORG, YEAR],
        )
        .fetch_df()
        .iloc[0]
    )
    assert pd.isna(v["value"]) and "low_coverage" in v["flags"]
    assert v["coverage"] == pytest.approx(expected)
    assert v["numerator"] == digital[used].sum() and v["denominator"] == total[used].sum()
    assert (v["rows_used"], v["rows_left_out"], v["left_out"]) == (int(used.sum()), 1, "onbekend:1")
    # not in any statistic either
    n = con.execute(
        "SELECT count(*) FROM comparisons WHERE org_code = ? AND year = ? AND indicator_code = 'digitaal_aanvraag_pct' "
        "AND value IS NOT NULL",
        [LOW_ORG, YEAR],
    ).fetchone()[0]
    assert n == 0


def test_coverage_counts_an_unknown_denominator_as_an_average_row():
    from pipeline.compute.coverage import coverage_frame, row_plan

    plan = row_plan(
        ("producten.n_aanvragen_digitaal", "producten.n_aanvragen_totaal"), "Σ n_aanvragen_totaal", "exclude_row", 0.5
    )
    db = duckdb.connect()
    db.execute(
        "CREATE TABLE v_producten (submission_id INTEGER, n_aanvragen_digitaal DOUBLE, n_aanvragen_digitaal__state "
        "VARCHAR, n_aanvragen_totaal DOUBLE, n_aanvragen_totaal__state VARCHAR)"
    )
    db.execute(
        "INSERT INTO v_producten VALUES (1, NULL, 'onbekend', 100, NULL), (1, 5, NULL, 900, NULL), "
        "(1, NULL, 'nvt', 50, NULL), (1, NULL, 'onbekend', NULL, 'onbekend')"
    )
    cov = coverage_frame(db, plan).iloc[0]
    # in scope: 100 (unknown digital), 900 (used) and an unknown row counted as the mean known row (500)
    assert cov["coverage"] == pytest.approx(900 / 1500)
    assert (cov["rows_total"], cov["rows_used"], cov["rows_left_out"]) == (4, 1, 3)
    assert cov["left_out"] == "nvt:1;onbekend:2"


def test_case_file_product_codes_must_be_on_the_products_sheet(tmp_path):
    from pipeline.demo.data import write_csv_folder

    ws = Workspace.at(tmp_path / "ws").ensure()
    sheets = _deliveries()[NVT_ORG]
    folder = ws.raw / str(YEAR) / NVT_ORG / f"{NVT_ORG}_{YEAR}"
    write_csv_folder(folder, sheets)
    first = sheets["producten"]["product_code"].iloc[0]
    (folder / "zaken.csv").write_text(
        "case_id;product_code;datum_ontvangst;datum_besluit;termijn_dagen;kanaal;bezwaar;klacht\n"
        f"Z1;{first};02-01-2025;20-01-2025;56;web;0;0\n"
        "Z2;ONBEKEND1;03-01-2025;25-01-2025;56;web;0;0\n"
        "Z3;ONBEKEND1;03-01-2025;;56;post;0;0\n",
        encoding="utf-8",
    )
    out = rbb("ingest", "--root", str(ws.root))
    assert "Traceback" not in out.stderr
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        rows = con.execute(
            "SELECT severity, message_en FROM findings WHERE rule = 'unknown_product' AND sheet = 'zaken'"
        ).fetchall()
        agg = con.execute("SELECT n_cases FROM v_zaken_agg WHERE product_code IS NULL").fetchone()
    finally:
        con.close()
    assert [r[0] for r in rows] == ["warning"]
    assert "the product code 'ONBEKEND1' (2)" in rows[0][1] and "is not in file producten.csv" in rows[0][1]
    assert agg == (3,)  # the cases still count in the organisation's total
