"""The foundation end to end: registry, template, readers, Great Expectations validation, warehouse."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest
from inprocess import rbb

from pipeline.core.workspace import Workspace, WorkspaceBusy
from pipeline.demo.data import planted_faults
from pipeline.ingest.template import write_workbook
from pipeline.metadata.registry import load_organisations, registry
from pipeline.validate import check_files
from pipeline.validate import run as ingest

DEMO_SEED, DEMO_YEARS = 2025, [2023, 2024, 2025]

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ registry, template, docs


def test_registry_covers_every_indicator_field():
    from pipeline.compute.engine import catalogue

    fields = {f"{f.sheet}.{f.code}" for f in registry().all_fields()}
    for ind in catalogue():
        for f in ind.fields:
            assert f in fields, f"{ind.code} needs {f}, which the registry does not declare"
    assert len(catalogue()) >= 25


def test_register_has_35_members():
    members = [o for o in load_organisations() if o.is_member(2025)]
    assert len(members) >= 35
    duo = next(o for o in load_organisations() if o.org_code == "DUO")
    assert set(duo.predecessor_codes) == {"IBG", "CFI"}


def test_generated_docs_match_registry():
    from pipeline.report.docs import data_dictionary, indicators_doc

    assert (ROOT / "docs" / "data-dictionary.md").read_text("utf-8") == data_dictionary(), "run: rbb docs"
    assert (ROOT / "docs" / "indicators.md").read_text("utf-8") == indicators_doc(), "run: rbb docs"


def test_template_matches_registry(tmp_path):
    import openpyxl

    path = write_workbook(tmp_path / "t.xlsx", 2025, "DUO")
    wb = openpyxl.load_workbook(path)
    reg = registry()
    assert "Zaken" not in wb.sheetnames, "case microdata is a separate file, not a sheet"
    for sheet in reg.sheet_level:
        ws = wb[sheet.name_nl]
        codes = [c.value for c in ws[3]]
        assert codes == sheet.field_codes
        labels = [c.value.rstrip(" *") for c in ws[1]]
        assert labels == [f.label_nl for f in sheet.fields]
        assert ws.protection.sheet, "header cells are locked"
        assert ws.data_validations.dataValidation, "data validation present"
    assert wb["Organisatie"]["A4"].value == "DUO"
    assert "Instructies" in wb.sheetnames


def test_gx_fingerprint_switch_exists():
    import great_expectations.execution_engine.pandas_execution_engine as pee

    assert hasattr(pee, "HASH_THRESHOLD")


def test_suites_keep_gx_set_semantics_and_configurations_are_kept_only_during_a_run():
    """``gx.new_suite`` adds an expectation once, as GX's own suite does (meta aside); GX's configuration of an
    expectation is kept while a validation runs, rebuilt when a field changes, and not kept afterwards; the
    results equal those of a plain GX suite."""
    import great_expectations as gxlib
    import pandas as pd

    from pipeline.validate import gx

    e = gx.expectations()
    ours, plain = gx.new_suite("ours"), gxlib.ExpectationSuite(name="plain")
    for suite in (ours, plain):
        suite.add_expectation(e.ExpectColumnValuesToNotBeNull(column="a", meta={"rule": "x"}))
        suite.add_expectation(e.ExpectColumnValuesToNotBeNull(column="a", meta={"rule": "y"}))  # the same: not added
        suite.add_expectation(e.ExpectColumnValuesToBeBetween(column="a", min_value=0, max_value=5))
        suite.add_expectation(e.ExpectColumnValuesToBeBetween(column="a", min_value=0, max_value=6))
    assert [x.dict(exclude={"id"}) for x in ours.expectations] == [x.dict(exclude={"id"}) for x in plain.expectations]
    assert len(ours.expectations) == 3

    exp = ours.expectations[0]
    assert exp.configuration is not exp.configuration  # outside a run: GX's own, rebuilt each time
    frame = pd.DataFrame({"a": [1.0, None, 6.0], "__row": [0, 1, 2]})
    results = gx.run(frame, ours, ["__row"])
    expected = gx.run(frame, plain, ["__row"])
    assert [(r.success, r.result.get("unexpected_count")) for r in results] == [
        (r.success, r.result.get("unexpected_count")) for r in expected
    ]
    assert [r.success for r in results] == [False, False, True]
    gx._running += 1  # as during a run
    try:
        first = exp.configuration
        assert exp.configuration is first
        exp.column = "b"  # another object in a field: rebuilt
        again = exp.configuration
        assert again is not first and again.kwargs["column"] == "b"
    finally:
        gx._running -= 1
        gx._kept.clear()
    assert gx._kept == {}


# ------------------------------------------------------------------ demo: planted faults


def test_demo_member_delivers_through_a_system_export(demo_workspace, con):
    """The export member's last delivery is a system export in data/exports/, imported with the demo mapping."""
    from pipeline.demo.exports import EXPORT_ORG

    (export,) = sorted((demo_workspace.root / "data" / "exports").glob("*_system_export_*.csv"))
    assert export.stem.endswith(str(DEMO_YEARS[-1]))
    name, status = con.execute(
        "SELECT original_name, status FROM submissions WHERE org_code = ? AND year = ? AND in_force",
        [EXPORT_ORG, DEMO_YEARS[-1]],
    ).fetchone()
    assert name.startswith("import_") and status in ("accepted", "accepted_with_warnings")
    assert (demo_workspace.raw / str(DEMO_YEARS[-1]) / EXPORT_ORG / name / "producten.csv").is_file()
    n = con.execute(
        "SELECT count(*) FROM v_producten WHERE org_code = ? AND year = ?", [EXPORT_ORG, DEMO_YEARS[-1]]
    ).fetchone()[0]
    rows = sum(1 for _ in export.open(encoding="utf-8")) - 1
    assert n == rows > 0


def test_demo_status(con):
    counts = dict(con.execute("SELECT status, count(*) FROM submissions GROUP BY 1").fetchall())
    from pipeline.demo.data import demo_organisations

    members = {y: sum(1 for o in demo_organisations() if o.is_member(y)) for y in DEMO_YEARS}
    assert members == {2023: 35, 2024: 34, 2025: 34}  # two members merge into one in 2024
    from pipeline.demo.data import generate_rounds

    _, later = generate_rounds(DEMO_SEED, DEMO_YEARS)
    assert counts["rejected"] == 6  # CAK's first delivery and five more, each corrected later
    # LBIO missing in 2025, CAK's same-day resubmission, and the later rounds (corrections, explanations, a late
    # correction after the first release)
    assert sum(counts.values()) == sum(members.values()) - 1 + 1 + len(later)
    assert counts["superseded"] == sum(d.fault in ("weak_explanation", "explanation", "late_correction") for d in later)
    in_force = con.execute("SELECT count(*) FROM submissions WHERE in_force AND year = 2025").fetchone()[0]
    assert in_force == members[2025] - 1  # every member but LBIO, after the corrections


@pytest.mark.parametrize(
    "fault", [f for f in planted_faults(DEMO_SEED, DEMO_YEARS) if f["severity"]], ids=lambda f: f["id"]
)
def test_planted_fault_caught(con, fault):
    rows = con.execute(
        """SELECT f.severity, f.rule, f.sheet, f.cell, f.field, f.explained, s.status FROM findings f
           JOIN submissions s USING (submission_id) WHERE s.org_code = ? AND s.year = ? AND s.version = 1""",
        [fault["org_code"], fault["year"]],
    ).fetch_df()
    expected_rule = {"required_sheet": "sheet_missing", "yoy": "yoy_change"}.get(fault["rule"], fault["rule"])
    hit = rows[(rows["severity"] == fault["severity"]) & (rows["rule"].str.replace("rule:", "") == expected_rule)]
    if fault["field"] and fault["id"] != "missing_sheet":
        hit = hit[(hit["field"] == fault["field"]) | (hit["rule"].str.startswith("rule:"))]
    assert len(hit) >= 1, rows
    status = rows["status"].iloc[0]
    if fault["severity"] == "error":
        assert status == "rejected"
        name = registry().sheet(fault["sheet"]).name_nl
        assert all(name in c or f"{fault['sheet']}.csv" in c for c in hit["cell"]), hit["cell"].tolist()
    else:
        # accepted (the unexplained jump is superseded later by the same figures with an explanation)
        assert status in ("accepted", "accepted_with_warnings", "superseded")
        if fault["id"] == "yoy_jump_explained":
            assert hit["explained"].all()
        else:
            assert not hit["explained"].any()


def test_cell_reference_points_at_the_cell(con):
    """The text in a number cell is reported at its exact Excel cell or CSV line and column."""
    fault = next(f for f in planted_faults(DEMO_SEED, DEMO_YEARS) if f["id"] == "text_in_number")
    cell, value = con.execute(
        "SELECT cell, value FROM findings WHERE org_code = ? AND year = ? AND rule = 'type'",
        [fault["org_code"], fault["year"]],
    ).fetchone()
    assert "1200" in value
    assert cell.endswith(str(4 + fault["row"])) or f"regel {2 + fault['row']}" in cell


def test_resubmission_supersedes_rejected(con):
    fault = next(f for f in planted_faults(DEMO_SEED, DEMO_YEARS) if f["id"] == "resubmission")
    rows = con.execute(
        "SELECT version, status, in_force FROM submissions WHERE org_code = ? AND year = ? ORDER BY version",
        [fault["org_code"], fault["year"]],
    ).fetchall()
    assert rows == [(1, "rejected", False), (2, rows[1][1], True)]
    assert rows[1][1].startswith("accepted")
    n = con.execute(
        "SELECT count(*) FROM v_organisatie WHERE org_code = ? AND year = ?", [fault["org_code"], fault["year"]]
    ).fetchone()[0]
    assert n == 1


def test_rejected_submission_loads_nothing(con):
    n = con.execute("""SELECT count(*) FROM f_organisatie f JOIN submissions s USING (submission_id)
                       WHERE s.status = 'rejected'""").fetchone()[0]
    assert n == 0


def test_feedback_reports_written(demo_workspace, con):
    for org, year, version in con.execute("SELECT org_code, year, version FROM submissions").fetchall():
        page = demo_workspace.reports / str(year) / "validation" / f"{org}_v{version}.html"
        assert page.exists()
    fault = next(f for f in planted_faults(DEMO_SEED, DEMO_YEARS) if f["id"] == "duplicate_product")
    html = (demo_workspace.reports / "2025" / "validation" / f"{fault['org_code']}_v1.html").read_text("utf-8")
    assert "Afgewezen" in html and "Producten!A" in html and "KENT" in html


def test_every_received_file_is_kept(demo_workspace, con):
    for (stored,) in con.execute("SELECT stored_path FROM submissions").fetchall():
        assert (demo_workspace.root / stored).exists()


# ------------------------------------------------------------------ ingest behaviour on a small workspace


def _small_workspace(tmp_path: Path, demo_workspace: Workspace, orgs: list[str], year: int = 2025) -> Workspace:
    ws = Workspace.at(tmp_path / "ws").ensure()
    for org in orgs:
        src = demo_workspace.raw / str(year) / org
        shutil.copytree(src, ws.raw / str(year) / org)
    return ws


MISMATCH_FOLDER = "UWV"


@pytest.fixture(scope="module")
def small_ingest(demo_workspace, tmp_path_factory) -> tuple[Workspace, list]:
    """One ingest run on a small workspace: the demo's 2025 deliveries of DUO and SVB in their own folders, and
    DUO's delivery in UWV's folder. Great Expectations costs about the same for one delivery as for several,
    so the tests below share this run instead of each ingesting its own workspace."""
    ws = _small_workspace(tmp_path_factory.mktemp("small"), demo_workspace, ["DUO", "SVB"])
    src = next((demo_workspace.raw / "2025" / "DUO").iterdir())
    target = ws.raw / "2025" / MISMATCH_FOLDER
    target.mkdir(parents=True)
    (shutil.copytree if src.is_dir() else shutil.copyfile)(src, target / src.name)
    return ws, ingest(ws)


def test_identical_redelivery_is_noop_and_hostile_files_become_findings(small_ingest):
    ws, results = small_ingest
    first = [r for r in results if r.org_code in ("DUO", "SVB")]
    assert sorted(r.org_code for r in first) == ["DUO", "SVB"]
    assert {r.status for r in first} <= {"accepted", "accepted_with_warnings"}
    assert ingest(ws) == []
    con = duckdb.connect(str(ws.db_path), read_only=True)
    before = con.execute("SELECT count(*) FROM f_enquete").fetchone()[0]
    con.close()

    bad = ws.raw / "2025" / "DUO"
    good = next(bad.glob("*.xlsx"), None) or next(p for p in bad.iterdir())
    (bad / "zero.xlsx").write_bytes(b"")
    (bad / "renamed.xlsx").write_text("dit is geen werkboek", encoding="utf-8")
    if good.suffix == ".xlsx":
        data = good.read_bytes()
        (bad / "truncated.xlsx").write_bytes(data[: len(data) // 2])
    sparse = bad / "sparse.xlsx"
    _sparse_workbook(sparse)
    utf16 = bad / "utf16"
    utf16.mkdir()
    (utf16 / "organisatie.csv").write_bytes("org_code;jaar\r\nDUO;2025\r\n".encode("utf-16"))
    results = ingest(ws)
    assert len(results) >= 4
    by_name = {r.name: r for r in results}
    assert all(r.status == "rejected" for r in results)
    assert by_name["zero.xlsx"].findings[0].rule == "file_empty"
    assert by_name["renamed.xlsx"].findings[0].rule == "file_not_xlsx"
    assert by_name["sparse.xlsx"].findings[0].rule == "file_used_range"
    assert any(f.rule == "encoding_utf16" for f in by_name["utf16"].findings)
    if "truncated.xlsx" in by_name:
        assert by_name["truncated.xlsx"].findings[0].rule in ("file_not_xlsx", "file_corrupt")
    con = duckdb.connect(str(ws.db_path), read_only=True)
    assert con.execute("SELECT count(*) FROM f_enquete").fetchone()[0] == before
    assert con.execute("SELECT count(*) FROM submissions WHERE org_code='DUO' AND in_force").fetchone()[0] == 1
    con.close()


def _sparse_workbook(path: Path) -> None:
    """A few KB workbook whose used range spans the whole sheet (A1 and XFD1048576)."""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>org_code</t></is></c></row>'
        '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>'
    )
    files = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Organisatie" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)


def test_folder_must_match_organisation_in_file(small_ingest):
    """DUO's delivery in another member's folder (ingested in the same run as DUO's own)."""
    _ws, results = small_ingest
    (result,) = [r for r in results if r.org_code == MISMATCH_FOLDER]
    assert result.status == "rejected"
    assert any(f.rule == "org_mismatch" for f in result.findings)


def test_check_command_exit_codes(demo_workspace):
    good = next(p for p in sorted((demo_workspace.raw / "2025" / "DUO").iterdir()))
    fault = next(f for f in planted_faults(DEMO_SEED, DEMO_YEARS) if f["id"] == "duplicate_product")
    bad = next((demo_workspace.raw / "2025" / fault["org_code"]).iterdir())
    ok = rbb("check", str(good))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    ko = rbb("check", str(bad))
    assert ko.returncode == 1
    assert "Traceback" not in ko.stderr and "KENT" in ko.stdout


def test_check_reads_without_writing(tmp_path):
    (tmp_path / "x.xlsx").write_text("no", encoding="utf-8")
    ((_, item),) = check_files([tmp_path / "x.xlsx"])
    assert item.n_errors == 1
    assert list(tmp_path.iterdir()) == [tmp_path / "x.xlsx"]


def test_second_writer_gets_clear_message(tmp_path):
    ws = Workspace.at(tmp_path).ensure()
    with ws.writer_lock():
        with pytest.raises(WorkspaceBusy, match="another rbb process"):
            with ws.writer_lock():
                pass
        proc = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "ingest", "--root", str(tmp_path)], capture_output=True, text=True
        )
    assert proc.returncode != 0
    assert "another rbb process" in proc.stderr and "Traceback" not in proc.stderr


def test_status_command(demo_workspace):
    proc = rbb("status", "--root", str(demo_workspace.root), "--year", "2025")
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())
    assert "LBIO" in out and "not received: 1" in out and "signed off: " in out


def test_partial_files_of_an_interrupted_run_are_swept(tmp_path):
    from pipeline.core.workspace import atomic_write_text, sweep_partial_files

    ws = Workspace.at(tmp_path).ensure()
    good = ws.reports / "2025" / "index.html"
    atomic_write_text(good, "<html></html>")
    (good.parent / ".index.html.tmp-999").write_text("<html><bo", encoding="utf-8")
    (ws.inbox / "DUO").mkdir(parents=True)
    (ws.inbox / "DUO" / "abc.xlsx.part").write_bytes(b"PK")
    assert sweep_partial_files(ws.inbox, ws.reports) == 2
    assert [p.name for p in good.parent.iterdir()] == ["index.html"]
    assert good.read_text("utf-8") == "<html></html>"


def test_gx_ids_of_plain_kwargs_are_gx_own_and_everything_else_takes_gx_route():
    """The fast path of ``IDDict.to_id`` gives GX's own id for every plain value, and leaves the rest to GX."""
    import numpy as np
    from great_expectations.core.id_dict import IDDict

    from pipeline.validate import gx

    gx.prepare()
    fast = IDDict.to_id
    own = fast.gx_own
    samples = [
        {"column": "a", "batch_id": "x"},
        {"column": "a", "row_condition": None, "condition_parser": "pandas", "n": 3, "flag": True},
        {"value_set": ["DUO", "SVB", "UWV"] * 20, "result_format": {"result_format": "COMPLETE", "x": [1, 2.5]}},
        {"min_value": 0.1, "max_value": float("inf"), "pair": ("a", "b"), "nested": IDDict({"k": [None, -1]})},
        {"min_value": float("nan"), "max_value": 1},  # NaN: GX writes null
        {"v": np.int64(3), "w": np.float64(0.1)},  # numpy values: GX's route
        {"d": {1: "a"}, "e": "x"},  # a key that is not text: GX's route
        {"s": {"a", "b"}, "t": 1},  # a set: GX's route
        {"only": [1, 2]},  # one key: GX's own format
        {},
    ]
    for sample in samples:
        d = IDDict(sample)
        assert fast(d) == own(d), sample
        assert fast(d, id_ignore_keys={"column"}) == own(d, id_ignore_keys={"column"}), sample
    plain = (1, "a", None, True, 0.5, float("inf"), [1, ("a", None)], {"a": {"b": 1}})
    other = (float("nan"), np.int64(1), np.float64(1.0), {1: 2}, {"a"}, [float("nan")])
    assert [gx._plain(v) for v in plain] == [True] * len(plain)
    assert not any(gx._plain(v) for v in other)
