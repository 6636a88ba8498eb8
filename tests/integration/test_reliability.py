"""Reliability: hostile and broken input, crashes, concurrent writers, idempotence and reproducibility."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import hostile
import pytest

from pipeline.core.workspace import Workspace
from pipeline.ingest.discover import describe
from pipeline.validate import run as ingest

YEAR = 2025
ORG = "DUO"
ROOT = Path(__file__).resolve().parents[2]
ACCEPTED = ("accepted", "accepted_with_warnings")


# ------------------------------------------------------------------ helpers


def fact_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The warehouse tables holding rows of submissions (``f_*`` with a submission_id)."""
    return [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'submission_id' "
            "AND table_name LIKE 'f\\_%' ESCAPE '\\' ORDER BY 1"
        ).fetchall()
    ]


def rbb(*args: str, root: Path) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", *args, "--root", str(root)]


def run_rbb(*args: str, root: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(rbb(*args, root=root), capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False)


def one_line(text: str) -> str:
    return " ".join(text.split())


def fact_counts(db: Path) -> dict[int, dict[str, int]]:
    """Rows per submission id and fact table."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out: dict[int, dict[str, int]] = {}
        for table in fact_tables(con):
            for sid, n in con.execute(f"SELECT submission_id, count(*) FROM {table} GROUP BY 1").fetchall():
                out.setdefault(sid, {})[table] = n
        return out
    finally:
        con.close()


def submissions(db: Path) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("SELECT * FROM submissions ORDER BY submission_id")
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]
    finally:
        con.close()


def assert_no_partial_loads(db: Path, expected: dict[str, dict[str, int]]) -> list[dict]:
    """Fact rows exist only for accepted (or later superseded) submissions, and exactly as many as expected.

    ``expected`` maps a delivery name to its rows per fact table (tables left out must be empty)."""
    subs = submissions(db)
    counts = fact_counts(db)
    ids = {s["submission_id"] for s in subs}
    assert set(counts) <= ids, f"fact rows for unknown submissions {set(counts) - ids}"
    for s in subs:
        got = {t: n for t, n in counts.get(s["submission_id"], {}).items() if n}
        if s["status"] == "rejected":
            assert got == {}, f"rejected {s['original_name']} has fact rows {got}"
            assert not s["in_force"]
        else:
            assert s["status"] in (*ACCEPTED, "superseded")
            assert got == expected[s["original_name"]], s["original_name"]
    in_force = [(s["org_code"], s["year"]) for s in subs if s["in_force"]]
    assert len(in_force) == len(set(in_force)), "more than one version in force"
    for s in subs:
        assert s["in_force"] == (s["status"] in ACCEPTED)
    return subs


# ------------------------------------------------------------------ hostile and broken input


@pytest.fixture(scope="module")
def good_delivery(demo_workspace) -> Path:
    folder = demo_workspace.raw / str(YEAR) / ORG
    (delivery,) = [p for p in folder.iterdir() if p.is_dir()]
    return delivery


@pytest.fixture(scope="module")
def good_rows(good_delivery) -> hostile.Delivery:
    return hostile.read_csv_delivery(good_delivery)


@pytest.fixture(scope="module")
def good_typed(good_rows) -> hostile.Delivery:
    return hostile.typed_delivery(good_rows)


@pytest.fixture(scope="module")
def good_counts(demo_workspace) -> dict[str, int]:
    """Fact rows of the good delivery, as the demo warehouse holds them."""
    con = duckdb.connect(str(demo_workspace.db_path), read_only=True)
    try:
        (sid,) = con.execute(
            "SELECT submission_id FROM submissions WHERE org_code = ? AND year = ? AND in_force", [ORG, YEAR]
        ).fetchone()
    finally:
        con.close()
    counts = {t: n for t, n in fact_counts(demo_workspace.db_path)[sid].items() if n}
    assert {"f_organisatie", "f_producten", "f_kanalen"} <= set(counts)
    return counts


class Hostile:
    """A fresh workspace holding the good delivery and one hostile file next to it in data/raw/2025/DUO/."""

    def __init__(self, tmp_path: Path, good_delivery: Path, good_counts: dict[str, int]):
        self.ws = Workspace.at(tmp_path / "ws").ensure()
        self.folder = self.ws.raw / str(YEAR) / ORG
        self.good = good_delivery.name
        shutil.copytree(good_delivery, self.folder / self.good)
        self.good_counts = good_counts

    def ingest(self, name: str):
        """Ingest; return the result of ``name`` after checking the good delivery and the fact tables."""
        results = ingest(self.ws)
        name = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")  # stored names are text
        by_name = {r.name: r for r in results}
        assert set(by_name) == {self.good, name}
        assert by_name[self.good].status in ACCEPTED, by_name[self.good].findings
        expected = {self.good: self.good_counts, name: self.good_counts}
        assert_no_partial_loads(self.ws.db_path, expected)
        result = by_name[name]
        for f in result.findings:
            assert f.severity in ("error", "warning", "info")
            assert f.message_nl.strip() and f.message_en.strip()
            assert f.value is None or len(f.value) <= 80
        return result


@pytest.fixture()
def hostile_ws(tmp_path, good_delivery, good_counts) -> Hostile:
    return Hostile(tmp_path, good_delivery, good_counts)


def rejected_with(result, *rules: str):
    assert result.status == "rejected", [(f.rule, f.message_en) for f in result.findings]
    errors = [f for f in result.findings if f.severity == "error"]
    assert errors, "a rejected submission needs an error finding"
    found = {f.rule for f in errors}
    assert found & set(rules), f"expected one of {rules}, got {[(f.rule, f.message_en) for f in errors]}"
    return errors


def test_valid_workbook_built_from_the_good_delivery_is_accepted(hostile_ws, good_typed):
    hostile.write_workbook(hostile_ws.folder / "DUO_2025.xlsx", good_typed)
    result = hostile_ws.ingest("DUO_2025.xlsx")
    assert result.status in ACCEPTED, [(f.rule, f.cell, f.message_en) for f in result.findings]


def test_zip_bomb(hostile_ws, good_typed):
    hostile.zip_bomb(hostile_ws.folder / "bomb.xlsx", good_typed, unpacked_mb=120)
    assert (hostile_ws.folder / "bomb.xlsx").stat().st_size < 2_000_000
    (error,) = rejected_with(hostile_ws.ingest("bomb.xlsx"), "file_zip_bomb")
    assert error.cell == "bomb.xlsx"


def test_zip_bomb_with_forged_sizes(hostile_ws, good_typed):
    hostile.forged_size_zip_bomb(hostile_ws.folder / "forged.xlsx", good_typed)
    rejected_with(hostile_ws.ingest("forged.xlsx"), "file_zip_bomb", "file_corrupt")


def test_xml_entity_bomb(hostile_ws, good_typed):
    hostile.entity_bomb(hostile_ws.folder / "laughs.xlsx", good_typed)
    rejected_with(hostile_ws.ingest("laughs.xlsx"), "file_xml_entities")


def test_xml_entity_bomb_after_a_long_comment(hostile_ws, good_typed):
    hostile.entity_bomb(hostile_ws.folder / "laughs.xlsx", good_typed, padding=8000)
    (error,) = rejected_with(hostile_ws.ingest("laughs.xlsx"), "file_xml_entities")  # found wherever it is
    assert hostile.sheet_member(good_typed, "organisatie") in error.message_en


def test_sparse_workbook_with_huge_used_range(hostile_ws, good_typed):
    hostile.sparse_workbook(hostile_ws.folder / "sparse.xlsx", good_typed)
    (error,) = rejected_with(hostile_ws.ingest("sparse.xlsx"), "file_used_range")
    assert "XFD" not in error.message_en and "16,384 columns" in error.message_en


def test_sparse_workbook_with_single_quoted_cell_reference(hostile_ws, good_typed):
    hostile.sparse_workbook(hostile_ws.folder / "sparse.xlsx", good_typed, quote="'")
    rejected_with(hostile_ws.ingest("sparse.xlsx"), "file_used_range", "file_corrupt")


def test_too_wide_used_range_with_single_quoted_cell_reference(hostile_ws, good_typed):
    xml = hostile.sheet_xml(good_typed["organisatie"])
    far = hostile.col_letter(2_999)
    xml = xml.replace("</sheetData>", f"<row r='20'><c r='{far}20'><v>1</v></c></row></sheetData>")
    hostile.write_workbook(hostile_ws.folder / "wide.xlsx", good_typed, sheet_xml_override={"organisatie": xml})
    rejected_with(hostile_ws.ingest("wide.xlsx"), "file_used_range")


def test_macro_enabled_workbook(hostile_ws, good_typed):
    hostile.macro_workbook(hostile_ws.folder / "macros.xlsm", good_typed)
    rejected_with(hostile_ws.ingest("macros.xlsm"), "file_macros")


def test_binary_junk_renamed_xlsx(hostile_ws):
    hostile.junk(hostile_ws.folder / "junk.xlsx")
    rejected_with(hostile_ws.ingest("junk.xlsx"), "file_not_xlsx")


def test_workbook_with_damaged_compressed_data(hostile_ws, good_typed):
    data = hostile.workbook_bytes(good_typed)
    (hostile_ws.folder / "damaged.xlsx").write_bytes(
        hostile.corrupt_deflate(data, hostile.sheet_member(good_typed, "organisatie"))
    )
    rejected_with(hostile_ws.ingest("damaged.xlsx"), "file_corrupt")


def test_zero_byte_workbook(hostile_ws):
    (hostile_ws.folder / "empty.xlsx").write_bytes(b"")
    rejected_with(hostile_ws.ingest("empty.xlsx"), "file_empty")


def test_zero_byte_csv_file(hostile_ws, good_rows):
    folder = hostile.write_csv_delivery(hostile_ws.folder / "csv_empty", good_rows)
    (folder / "organisatie.csv").write_bytes(b"")
    errors = rejected_with(hostile_ws.ingest("csv_empty"), "file_empty")
    assert any(e.cell == "organisatie.csv" for e in errors)


@pytest.mark.parametrize("fraction", [0.5, 0.98])
def test_truncated_workbook(hostile_ws, good_typed, fraction):
    hostile.truncated(hostile_ws.folder / "cut.xlsx", hostile.workbook_bytes(good_typed), fraction)
    rejected_with(hostile_ws.ingest("cut.xlsx"), "file_not_xlsx", "file_corrupt")


def test_cp1252_csv_with_euro_sign_and_diaeresis_is_read_correctly(hostile_ws, good_rows):
    rows = hostile.copy_delivery(good_rows)
    name = "Studiefinanciëring en tegemoetkoming (€)"
    question = "Geïndexeerde kosten per klant in € verlagen; coördinatie met ketenpartners"
    hostile.set_cell(rows, "producten", 0, "product_naam", name)
    hostile.set_cell(rows, "organisatie", 0, "ontwikkelvraag_tekst", question)
    folder = hostile.write_csv_delivery(hostile_ws.folder / "cp1252", rows, encoding="cp1252")
    assert "€".encode("cp1252") in (folder / "producten.csv").read_bytes()
    result = hostile_ws.ingest("cp1252")
    assert result.status in ACCEPTED, [(f.rule, f.message_en) for f in result.findings]
    con = duckdb.connect(str(hostile_ws.ws.db_path), read_only=True)
    try:
        stored = con.execute(
            "SELECT p.product_naam, o.ontwikkelvraag_tekst, s.encoding FROM f_producten p "
            "JOIN f_organisatie o USING (submission_id) JOIN submissions s USING (submission_id) "
            "WHERE s.original_name = 'cp1252' AND p.source_row = 2"
        ).fetchone()
    finally:
        con.close()
    assert stored[:2] == (name, question)
    assert "cp1252" in stored[2]


def test_utf16_csv(hostile_ws, good_rows):
    hostile.write_csv_delivery(hostile_ws.folder / "unicode_text", good_rows, encoding="utf-16", delimiter="\t")
    result = hostile_ws.ingest("unicode_text")
    assert result.status in ACCEPTED, [(f.rule, f.message_en) for f in result.findings]
    assert {f.cell for f in result.findings if f.rule == "encoding_utf16"} == {f"{c}.csv" for c in good_rows}


def test_utf16_csv_without_byte_order_mark(hostile_ws, good_rows):
    hostile.write_csv_delivery(hostile_ws.folder / "utf16le", good_rows, encoding="utf-16-le", delimiter="\t")
    rejected_with(hostile_ws.ingest("utf16le"), "file_encoding")


def test_absurd_numbers_in_csv(hostile_ws, good_rows):
    hostile.write_csv_delivery(hostile_ws.folder / "absurd", hostile.absurd_delivery(good_rows))
    errors = rejected_with(hostile_ws.ingest("absurd"), "range", "type")
    by_field = {(e.field, e.rule) for e in errors}
    for field, rule in [
        ("fte_totaal", "range"),
        ("verzuimdagen", "type"),
        ("kosten_inhuur", "type"),
        ("n_instroom_personeel", "range"),
        ("n_besluiten", "range"),
    ]:
        assert (field, rule) in by_field, by_field
    cells = {e.field: e.cell for e in errors if e.sheet == "organisatie"}
    assert cells["fte_totaal"] == "organisatie.csv, regel 2, kolom fte_totaal"


def test_absurd_numbers_in_workbook(hostile_ws, good_typed):
    typed = hostile.copy_delivery(good_typed)
    hostile.set_cell(typed, "organisatie", 0, "fte_totaal", 1e308)
    hostile.set_cell(typed, "organisatie", 0, "n_instroom_personeel", -5.0)
    hostile.set_cell(typed, "producten", 0, "n_besluiten", -1e308)
    hostile.write_workbook(hostile_ws.folder / "absurd.xlsx", typed)
    errors = rejected_with(hostile_ws.ingest("absurd.xlsx"), "range")
    cells = {(e.field, e.cell) for e in errors if e.rule == "range"}
    header = good_typed["organisatie"][0]
    assert ("fte_totaal", f"Organisatie!{hostile.col_letter(header.index('fte_totaal'))}2") in cells
    assert ("n_instroom_personeel", f"Organisatie!{hostile.col_letter(header.index('n_instroom_personeel'))}2") in cells


@pytest.mark.parametrize("value", ["NaN", "inf", "-inf"])
def test_non_finite_numbers_in_workbook(hostile_ws, good_typed, value):
    typed = hostile.copy_delivery(good_typed)
    hostile.set_cell(typed, "organisatie", 0, "verzuimdagen", hostile.RawCell("", f"<v>{value}</v>"))
    hostile.write_workbook(hostile_ws.folder / "nonfinite.xlsx", typed)
    rejected_with(hostile_ws.ingest("nonfinite.xlsx"), "type", "required", "range", "file_corrupt")


def test_formula_text_in_csv_is_rejected_or_kept_as_text(hostile_ws, good_rows):
    rows = hostile.copy_delivery(good_rows)
    hostile.set_cell(rows, "producten", 0, "n_besluiten", "=1+1")
    hostile.write_csv_delivery(hostile_ws.folder / "formula_number", rows)
    errors = rejected_with(hostile_ws.ingest("formula_number"), "type")
    assert any(e.field == "n_besluiten" and e.value == "=1+1" and "kolom n_besluiten" in e.cell for e in errors)


def test_hyperlink_formula_in_csv_text_field_is_kept_as_text(hostile_ws, good_rows):
    rows = hostile.copy_delivery(good_rows)
    formula = '=HYPERLINK("http://evil.example/x","klik")'
    hostile.set_cell(rows, "producten", 0, "product_naam", formula)
    hostile.write_csv_delivery(hostile_ws.folder / "formula_text", rows)
    result = hostile_ws.ingest("formula_text")
    if result.status == "rejected":
        assert any(f.field == "product_naam" for f in result.findings if f.severity == "error")
        return
    con = duckdb.connect(str(hostile_ws.ws.db_path), read_only=True)
    try:
        (stored,) = con.execute(
            "SELECT p.product_naam FROM f_producten p JOIN submissions s USING (submission_id) "
            "WHERE s.original_name = 'formula_text' AND p.source_row = 2"
        ).fetchone()
    finally:
        con.close()
    assert stored == formula


def test_formula_text_in_workbook_cells_is_not_evaluated(hostile_ws, good_typed):
    typed = hostile.copy_delivery(good_typed)
    hostile.set_cell(typed, "producten", 0, "n_besluiten", "=1+1")
    hostile.write_workbook(hostile_ws.folder / "formula_text.xlsx", typed)
    errors = rejected_with(hostile_ws.ingest("formula_text.xlsx"), "type")
    assert any(e.field == "n_besluiten" and e.value == "=1+1" for e in errors)


def test_formula_cells_without_cached_value_are_not_evaluated(hostile_ws, good_typed):
    typed = hostile.copy_delivery(good_typed)
    hostile.set_cell(typed, "producten", 0, "n_besluiten", hostile.Formula("1+1"))
    hostile.set_cell(
        typed, "producten", 0, "product_naam", hostile.Formula('HYPERLINK("http://evil.example/x","klik")')
    )
    hostile.write_workbook(hostile_ws.folder / "formulas.xlsx", typed)
    errors = rejected_with(hostile_ws.ingest("formulas.xlsx"), "required", "type", "formula")
    assert {"n_besluiten", "product_naam"} <= {e.field for e in errors}


def test_formula_cells_with_cached_results_are_not_loaded_as_data(hostile_ws, good_typed):
    typed = hostile.copy_delivery(good_typed)
    decisions = hostile.get_cell(typed, "producten", 0, "n_besluiten")
    hostile.set_cell(typed, "producten", 0, "n_besluiten", hostile.Formula(f"{decisions:.0f}-1+1", decisions))
    hostile.set_cell(
        typed, "producten", 0, "product_naam", hostile.Formula('HYPERLINK("http://evil.example/x","klik")', "klik")
    )
    hostile.write_workbook(hostile_ws.folder / "formulas.xlsx", typed)
    result = hostile_ws.ingest("formulas.xlsx")
    flagged = {f.field for f in result.findings if f.severity in ("error", "warning")}
    assert {"n_besluiten", "product_naam"} <= flagged, [(f.rule, f.field) for f in result.findings]


def test_million_character_text_in_csv(hostile_ws, good_rows):
    rows = hostile.copy_delivery(good_rows)
    hostile.set_cell(rows, "organisatie", 0, "ontwikkelvraag_tekst", hostile.LONG_TEXT)
    hostile.write_csv_delivery(hostile_ws.folder / "long_text", rows)
    errors = rejected_with(hostile_ws.ingest("long_text"), "length", "file_csv")
    assert any("organisatie.csv" in (e.cell or "") for e in errors)


def test_million_character_text_in_workbook(hostile_ws, good_typed):
    typed = hostile.copy_delivery(good_typed)
    hostile.set_cell(typed, "organisatie", 0, "ontwikkelvraag_tekst", hostile.LONG_TEXT)
    hostile.write_workbook(hostile_ws.folder / "long_text.xlsx", typed)
    errors = rejected_with(hostile_ws.ingest("long_text.xlsx"), "length")
    (error,) = [e for e in errors if e.rule == "length"]
    assert error.field == "ontwikkelvraag_tekst" and error.cell.startswith("Organisatie!")
    assert f"{len(hostile.LONG_TEXT)}" in error.message_en


def test_file_name_that_is_not_utf8(hostile_ws, good_typed):
    name = os.fsdecode(b"Overzicht_caf\xe9.xlsx")
    hostile.write_workbook(hostile_ws.folder / name, good_typed)
    result = hostile_ws.ingest(name)
    assert result.status in (*ACCEPTED, "rejected")


def test_mistyped_year_folder(hostile_ws, good_delivery):
    shutil.copytree(good_delivery, hostile_ws.ws.raw / "202520252025" / ORG / good_delivery.name)
    results = ingest(hostile_ws.ws)
    assert {r.status for r in results if r.year != YEAR} == {"rejected"}


def test_three_thousand_extra_columns_in_workbook(hostile_ws, good_rows):
    rows = hostile.copy_delivery(good_rows)
    hostile.add_columns(rows, "producten", 3_000)
    hostile.write_workbook(hostile_ws.folder / "wide.xlsx", hostile.typed_delivery(rows))
    rejected_with(hostile_ws.ingest("wide.xlsx"), "file_used_range")


def test_three_thousand_extra_columns_in_csv(hostile_ws, good_rows):
    rows = hostile.copy_delivery(good_rows)
    hostile.add_columns(rows, "producten", 3_000)
    hostile.write_csv_delivery(hostile_ws.folder / "wide", rows)
    result = hostile_ws.ingest("wide")
    assert any(f.sheet == "producten" and "extra_1" in (f.message_en + (f.value or "")) for f in result.findings), [
        (f.rule, f.message_en) for f in result.findings
    ]


def test_check_command_prints_submitted_values_literally(tmp_path, good_rows):
    rows = hostile.copy_delivery(good_rows)
    hostile.set_cell(rows, "producten", 0, "n_besluiten", "[/]")
    hostile.set_cell(rows, "kanalen", 0, "kanaal", "[bold red]telefoon")
    folder = hostile.write_csv_delivery(tmp_path / "markup", rows)
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "check", str(folder)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-1500:]
    assert "[/]" in proc.stdout and "[bold red]telefoon" in proc.stdout


# ------------------------------------------------------------------ crash safety

SMALL_ORGS = ["DUO", "SVB", "UWV", "TSL", "ZIN", "CJIB"]
SMALL_YEARS = [2024, 2025]


def small_workspace(root: Path, demo_workspace: Workspace, orgs=SMALL_ORGS, years=SMALL_YEARS) -> Workspace:
    ws = Workspace.at(root).ensure()
    for year in years:
        for org in orgs:
            src = demo_workspace.raw / str(year) / org
            if src.exists():
                shutil.copytree(src, ws.raw / str(year) / org)
    return ws


def copy_workspace(src: Workspace, dst: Path) -> Workspace:
    shutil.copytree(src.root, dst)
    return Workspace.at(dst)


def canonical_csv(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The table as CSV ordered by all its columns, every value written with repr (exact floats)."""
    cols = [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()]
    rows = con.execute(f'SELECT * FROM "{table}" ORDER BY ALL').fetchall()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    writer.writerows([[repr(v) for v in row] for row in rows])
    return buf.getvalue()


def table_hashes(db: Path, tables: list[str] | None = None) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = tables or [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1"
            ).fetchall()
        ]
        return {t: hashlib.sha256(canonical_csv(con, t).encode()).hexdigest() for t in names}
    finally:
        con.close()


def file_hashes(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` except leftovers of interrupted atomic writes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".tmp-" not in p.name
    }


INGEST_TABLES = ["submissions", "submission_files", "findings"]


def ingest_tables(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return INGEST_TABLES + fact_tables(con)
    finally:
        con.close()


COMPUTE_TABLES = [
    "indicator_catalogue",
    "indicator_values",
    "benchmark_stats",
    "comparisons",
    "strengths_weaknesses",
    "composite_scores",
    "composite_uncertainty",
    "composite_method",
    "dea_results",
]


class Reference:
    """A clean run of ingest, compute and report on the small workspace, timed per stage."""

    def __init__(self, ws: Workspace, before: dict[str, Workspace], durations: dict[str, float]):
        self.ws, self.before, self.durations = ws, before, durations
        counts = fact_counts(ws.db_path)
        self.rows = {
            (s["org_code"], s["year"], s["sha256"]): counts.get(s["submission_id"], {}) for s in submissions(ws.db_path)
        }
        self.assets = {p.relative_to(ws.reports): p.read_bytes() for p in ws.reports.rglob("plotly.min.js")}

    @classmethod
    def build(cls, root: Path, demo_workspace: Workspace) -> Reference:
        ws = small_workspace(root / "reference", demo_workspace)
        before, durations = {}, {}
        for stage in ("ingest", "compute", "report"):
            before[stage] = copy_workspace(ws, root / f"before_{stage}")
            start = time.monotonic()
            proc = run_rbb(stage, root=ws.root)
            durations[stage] = time.monotonic() - start
            assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        return cls(ws, before, durations)


def check_consistent(ws: Workspace, ref: Reference) -> None:
    """What a crash may leave: a warehouse that opens and holds no half load, and only complete report files."""
    if ws.db_path.exists():
        con = duckdb.connect(str(ws.db_path), read_only=True)
        try:
            tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            if "submissions" in tables:
                subs = con.execute(
                    "SELECT submission_id, org_code, year, sha256, status, in_force, stored_path FROM submissions"
                ).fetchall()
                for table in fact_tables(con):
                    orphans = con.execute(
                        f"SELECT count(*) FROM {table} WHERE submission_id NOT IN "
                        "(SELECT submission_id FROM submissions)"
                    ).fetchone()[0]
                    assert orphans == 0, f"{table} holds rows of submissions that do not exist"
                    counts = dict(con.execute(f"SELECT submission_id, count(*) FROM {table} GROUP BY 1").fetchall())
                    for sid, org, year, sha, status, in_force, _ in subs:
                        want = 0 if status == "rejected" else ref.rows[(org, year, sha)].get(table, 0)
                        assert counts.get(sid, 0) == want, (
                            f"{table}: {org} {year} has {counts.get(sid, 0)} rows, not {want}"
                        )
                        assert in_force == (status in ACCEPTED)
                doubles = con.execute(
                    "SELECT org_code, year FROM submissions WHERE in_force GROUP BY 1, 2 HAVING count(*) > 1"
                ).fetchall()
                assert doubles == [], f"more than one version in force: {doubles}"
                for *_, stored in subs:
                    assert (ws.root / stored).is_file(), f"stored delivery {stored} is missing"
            if "indicator_values" in tables:
                stray = con.execute(
                    "SELECT count(*) FROM indicator_values WHERE submission_id NOT IN "
                    "(SELECT submission_id FROM submissions WHERE in_force)"
                ).fetchone()[0]
                assert stray == 0, "indicator values of submissions not in force"
        finally:
            con.close()

    # a report run writes into a hidden staging folder (reports/.<year>.tmp-<pid>/) and swaps it in whole; a
    # killed run leaves that folder for the next run to remove, never a half-written published report
    def published(paths):
        return [p for p in paths if not p.relative_to(ws.reports).parts[0].startswith(".")]

    for page in published(ws.reports.rglob("*.html")):
        assert page.read_text("utf-8").rstrip().endswith("</html>"), f"truncated report {page}"
    for asset in published(ws.reports.rglob("plotly.min.js")):
        assert asset.read_bytes() == ref.assets[asset.relative_to(ws.reports)], f"truncated {asset}"


def kill_at(cmd: list[str], delay: float | None = None, until=None, timeout: float = 300) -> bool:
    """Run ``cmd`` and SIGKILL it after ``delay`` seconds or as soon as ``until()`` holds.

    Returns True when it was killed, False when it finished first (which must then be a clean exit)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, start_new_session=True)
    start = time.monotonic()
    try:
        while proc.poll() is None:
            elapsed = time.monotonic() - start
            if (delay is not None and elapsed >= delay) or (until is not None and until()):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                try:
                    os.killpg(proc.pid, signal.SIGKILL)  # the Excel reader children of the killed process
                except ProcessLookupError:
                    pass
                return True
            assert elapsed < timeout, f"{cmd} did not finish in {timeout} s"
            time.sleep(0.005)
        stderr = proc.stderr.read().decode()
        assert proc.returncode == 0 and "Traceback" not in stderr, stderr
        return False
    finally:
        proc.stderr.close()


def grows(folder: Path, pattern: str, by: int = 1):
    """A condition that holds once ``by`` more files match ``pattern`` than now."""
    start = sum(1 for _ in folder.glob(pattern))
    return lambda: sum(1 for _ in folder.glob(pattern)) >= start + by


def written(folder: Path, pattern: str):
    """A condition that holds once a file matching ``pattern`` is written (created or replaced) from now on."""
    start = time.time()

    def condition() -> bool:
        for p in folder.glob(pattern):
            try:
                if p.stat().st_mtime > start:
                    return True
            except FileNotFoundError:
                pass
        return False

    return condition


class CrashSeries:
    """Kill one stage at several points on the same workspace, each run starting from what the previous
    kill left; check consistency after every kill, then run the stage to completion."""

    def __init__(self, stage: str, ws: Workspace, ref: Reference):
        self.stage, self.ws, self.ref = stage, ws, ref
        self.kills: list[str] = []

    def kill(self, label: str, delay: float | None = None, until=None) -> None:
        if kill_at(rbb(self.stage, root=self.ws.root), delay=delay, until=until):
            self.kills.append(f"{self.stage}: {label}")
            check_consistent(self.ws, self.ref)

    def finish(self) -> None:
        proc = run_rbb(self.stage, root=self.ws.root)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        check_consistent(self.ws, self.ref)


def crash_ingest(s: CrashSeries, rng: random.Random) -> None:
    s.kill("starting", delay=rng.uniform(0.05, 1.0))
    s.kill("creating the warehouse", until=lambda: s.ws.db_path.exists())
    s.kill("reading and validating", delay=rng.uniform(0.4, 0.8) * s.ref.durations["ingest"])
    s.kill("storing the first delivery", until=grows(s.ws.inbox, "*/*/*", 1))
    s.kill("storing a later delivery", until=grows(s.ws.inbox, "*/*/*", 4))
    s.kill("writing the feedback pages", until=grows(s.ws.reports, "*/validation/*.html", 1))
    s.finish()


def crash_compute_and_report(compute: CrashSeries, report: CrashSeries, rng: random.Random) -> None:
    for _ in range(9):
        compute.kill("random", delay=rng.uniform(0.05, 0.9 * compute.ref.durations["compute"]))
    compute.kill("between commit and checkpoint", until=lambda: Path(f"{compute.ws.db_path}.wal").exists())
    compute.finish()
    for _ in range(8):
        report.kill("random", delay=rng.uniform(0.05, 0.9 * report.ref.durations["report"]))
    report.kill("after the first organisation report", until=written(report.ws.reports, f"{YEAR}/organisations/*.html"))
    report.finish()


def in_thread(func, *args) -> threading.Thread:
    def target():
        try:
            func(*args)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    errors: list[BaseException] = []
    thread = threading.Thread(target=target)
    thread.errors = errors
    thread.start()
    return thread


@pytest.mark.slow
def test_sigkill_at_any_point_leaves_a_consistent_workspace(tmp_path, demo_workspace):
    rng = random.Random(20250301)
    ref = Reference.build(tmp_path, demo_workspace)
    statuses = [s["status"] for s in submissions(ref.ws.db_path)]
    assert len(statuses) == len(SMALL_ORGS) * len(SMALL_YEARS) and "rejected" in statuses

    ingest_series = CrashSeries("ingest", ref.before["ingest"], ref)
    compute_series = CrashSeries("compute", ref.before["compute"], ref)
    report_series = CrashSeries("report", ref.before["report"], ref)
    threads = [
        in_thread(crash_ingest, ingest_series, random.Random(rng.random())),
        in_thread(crash_compute_and_report, compute_series, report_series, random.Random(rng.random())),
    ]
    for t in threads:
        t.join()
    for t in threads:
        if t.errors:
            raise t.errors[0]
    kills = ingest_series.kills + compute_series.kills + report_series.kills
    assert len(kills) >= 20, kills

    tables = ingest_tables(ref.ws.db_path)
    assert table_hashes(ingest_series.ws.db_path, tables) == table_hashes(ref.ws.db_path, tables)
    proc = run_rbb("compute", root=ingest_series.ws.root)
    assert proc.returncode == 0, proc.stderr
    assert table_hashes(ingest_series.ws.db_path, ["indicator_values"]) == table_hashes(
        ref.ws.db_path, ["indicator_values"]
    )
    assert table_hashes(compute_series.ws.db_path, COMPUTE_TABLES) == table_hashes(ref.ws.db_path, COMPUTE_TABLES)
    assert file_hashes(report_series.ws.reports) == file_hashes(ref.ws.reports)


def assert_warehouse_consistent(ws: Workspace) -> list[dict]:
    """Every delivery recorded once; fact rows only, and completely, for accepted submissions."""
    subs = submissions(ws.db_path)
    keys = [(s["org_code"], s["year"], s["sha256"]) for s in subs]
    assert len(keys) == len(set(keys)), "a delivery was recorded twice"
    counts = fact_counts(ws.db_path)
    assert set(counts) <= {s["submission_id"] for s in subs}
    for s in subs:
        got = {t: n for t, n in counts.get(s["submission_id"], {}).items() if n}
        if s["status"] == "rejected":
            assert got == {}
        else:
            assert got.get("f_organisatie") == 1 and got.get("f_producten") and got.get("f_kanalen"), got
        assert s["in_force"] == (s["status"] in ACCEPTED)
    return subs


def deliveries_in(ws: Workspace) -> int:
    return sum(1 for _ in ws.raw.glob("*/*/*"))


# ------------------------------------------------------------------ concurrent writers and readers


def start(*args: str, root: Path) -> subprocess.Popen:
    return subprocess.Popen(rbb(*args, root=root), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


@pytest.mark.slow
def test_two_concurrent_ingests_one_refuses_and_with_wait_both_succeed(tmp_path, demo_workspace):
    ws = small_workspace(tmp_path / "ws", demo_workspace, years=[2024])
    procs = [start("ingest", root=ws.root) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(code == 0 for code in codes) == [False, True], (codes, outputs)
    winner = codes.index(0)
    loser = 1 - winner
    message = one_line(outputs[loser][1])
    assert "Traceback" not in outputs[loser][1]
    assert "another rbb process" in message and f"PID {procs[winner].pid}" in message, message
    assert "--wait" in message
    assert len(assert_warehouse_consistent(ws)) == deliveries_in(ws)

    small_workspace(tmp_path / "ws_2025", demo_workspace, years=[2025])
    shutil.copytree(tmp_path / "ws_2025" / "data" / "raw" / "2025", ws.raw / "2025")
    procs = [start("ingest", "--wait", root=ws.root) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outputs):
        assert p.returncode == 0 and "Traceback" not in err, err
    assert sum("No new deliveries" in out for out, _ in outputs) == 1, [out[-300:] for out, _ in outputs]
    subs = assert_warehouse_consistent(ws)
    assert len(subs) == deliveries_in(ws) == len(SMALL_ORGS) * len(SMALL_YEARS)


def test_ingest_while_the_warehouse_is_open_for_reading_gives_a_clear_message(tmp_path, demo_workspace):
    ws = small_workspace(tmp_path / "ws", demo_workspace, orgs=["SVB"], years=[YEAR])
    duckdb.connect(str(ws.db_path)).close()
    reader = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        proc = run_rbb("ingest", root=ws.root)
    finally:
        reader.close()
    assert "Traceback" not in proc.stderr, proc.stderr[-1500:]
    assert proc.returncode != 0 and proc.stderr.strip()


def has_open(pid: int, path: Path) -> bool:
    try:
        return any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
def test_status_while_a_writer_runs_gives_a_clear_message(tmp_path, demo_workspace):
    ws = small_workspace(tmp_path / "ws", demo_workspace, years=[2024])
    writer = start("ingest", root=ws.root)
    try:
        deadline = time.monotonic() + 120
        while not has_open(writer.pid, ws.db_path):
            assert writer.poll() is None and time.monotonic() < deadline, "the writer never opened the warehouse"
            time.sleep(0.01)
        status = run_rbb("status", root=ws.root)
        if writer.poll() is not None:
            pytest.skip("the writer finished before status read the warehouse")
    finally:
        writer.communicate(timeout=300)
    assert "Traceback" not in status.stderr, status.stderr[-1500:]
    assert status.returncode == 0 or status.stderr.strip()


# ------------------------------------------------------------------ what a crash leaves behind


def test_feedback_pages_are_complete_after_a_crash_between_commit_and_feedback(tmp_path, demo_workspace):
    ws = small_workspace(tmp_path / "ws", demo_workspace, orgs=["DUO", "SVB", "CJIB"], years=[YEAR])
    assert kill_at(rbb("ingest", root=ws.root), until=grows(ws.reports, "*/validation/*.html", 1))
    proc = run_rbb("ingest", root=ws.root)
    assert proc.returncode == 0, proc.stderr
    pages = {p.name for p in ws.reports.glob(f"{YEAR}/validation/*.html")}
    for s in submissions(ws.db_path):
        for suffix in ("", ".en"):
            assert f"{s['org_code']}_v{s['version']}{suffix}.html" in pages, sorted(pages)


def test_manifest_left_empty_by_a_crash_is_rewritten(tmp_path, good_delivery):
    ws = Workspace.at(tmp_path / "ws").ensure()
    shutil.copytree(good_delivery, ws.raw / str(YEAR) / ORG / good_delivery.name)
    delivery = describe(ws.raw / str(YEAR) / ORG / good_delivery.name, ORG, YEAR)
    manifest = ws.inbox / ORG / str(YEAR) / f"{delivery.sha256}.manifest.tsv"
    manifest.parent.mkdir(parents=True)
    manifest.write_bytes(b"")
    (result,) = ingest(ws)
    assert result.status in ACCEPTED
    (stored,) = [s["stored_path"] for s in submissions(ws.db_path)]
    lines = (ws.root / stored).read_text("utf-8").splitlines()
    assert [line.split("\t")[:2] for line in lines] == [[n, s] for n, s, _, _ in delivery.files]


# ------------------------------------------------------------------ idempotence and reproducibility


def path_columns(con: duckdb.DuckDBPyConnection, table: str, root: Path) -> set[str]:
    """Columns holding the workspace's absolute path (they differ between workspaces by construction)."""
    cols = [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()]
    return {
        c
        for c in cols
        if con.execute(f'SELECT count(*) FROM "{table}" WHERE CAST("{c}" AS VARCHAR) LIKE ?', [f"%{root}%"]).fetchone()[
            0
        ]
    }


def warehouse_fingerprint(ws: Workspace) -> dict[str, str]:
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1"
            ).fetchall()
        ]
        out = {}
        for t in tables:
            drop = path_columns(con, t, ws.root)
            cols = [r[0] for r in con.execute(f'DESCRIBE "{t}"').fetchall() if r[0] not in drop]
            names = ", ".join(f'"{c}"' for c in cols)
            rows = con.execute(f'SELECT {names} FROM "{t}" ORDER BY ALL').fetchall()
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerow(cols)
            writer.writerows([[repr(v) for v in row] for row in rows])
            out[t] = hashlib.sha256(buf.getvalue().encode()).hexdigest() + (f" without {sorted(drop)}" if drop else "")
        return out
    finally:
        con.close()


def exports(ws: Workspace, years: list[int]) -> dict[str, str]:
    out_dir = ws.root / "exports"
    for year in years:
        for fmt in ("csv", "xlsx"):
            proc = run_rbb(
                "export", "--year", str(year), "--format", fmt, "-o", str(out_dir / str(year) / fmt), root=ws.root
            )
            assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return file_hashes(out_dir)


def differences(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


@pytest.mark.slow
def test_two_demo_runs_give_identical_warehouses_exports_and_reports(tmp_path):
    years = [2024, 2025]
    roots = [tmp_path / "a", tmp_path / "b"]
    procs = [start("demo", "--seed", "2025", "--years", f"{years[0]}-{years[-1]}", root=r) for r in roots]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0 and "Traceback" not in err, err[-2000:]
    a, b = (Workspace.at(r) for r in roots)

    warehouse_a, warehouse_b = warehouse_fingerprint(a), warehouse_fingerprint(b)
    assert {"submissions", "findings", "f_organisatie", "indicator_values", "comparisons"} <= set(warehouse_a)
    assert differences(warehouse_a, warehouse_b) == []
    exports_a = exports(a, years)
    assert len(exports_a) >= 2 * (len(years))
    assert differences(exports_a, exports(b, years)) == []
    reports_a = file_hashes(a.reports)
    assert any(k.endswith("index.html") for k in reports_a)
    assert differences(reports_a, file_hashes(b.reports)) == []

    for stage in ("ingest", "compute", "report"):
        proc = run_rbb(stage, root=a.root)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert differences(warehouse_fingerprint(a), warehouse_a) == []
    assert differences(file_hashes(a.reports), reports_a) == []
