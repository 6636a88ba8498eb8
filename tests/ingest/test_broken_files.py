"""Hostile and broken submission files: zip and XML entity bombs, macros, damaged and truncated workbooks,
odd encodings, absurd numbers, formulas, huge texts and ranges, odd file names and folders.

Every case is planted next to the good DUO delivery of the demo (as a delivery of its own in
``data/raw/2025/DUO/``, under a name no other case uses), all of them in ONE workspace that ONE ingest
reads: Great Expectations runs once per sheet suite for a whole batch, so this costs about what a single
case did. Each test then checks its own delivery's result, and every test checks what the old
one-workspace-per-file tests checked: the good delivery is accepted, every planted delivery gives exactly
one result, every finding has a severity, Dutch and English messages and a short value, and no delivery is
loaded in part (an accepted one has exactly the good delivery's fact rows, a rejected one none).
A rejected case never supersedes the good delivery; the few cases that are accepted do, one after the
other, which leaves every submission's fact rows in place (as when each was next to the good delivery
alone). If the shared ingest itself fails, each test runs its case alone, as before, so the failure
points at the file that caused it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import hostile
import pytest
from click.testing import CliRunner
from rounds import ACCEPTED, YEAR, assert_no_partial_loads, fact_counts, submissions

from pipeline.core.workspace import Workspace
from pipeline.ingest.discover import describe
from pipeline.validate import run as ingest

ORG = "DUO"


# ------------------------------------------------------------------ the good delivery


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


# ------------------------------------------------------------------ the cases


@dataclass(frozen=True)
class Good:
    """What a planter builds from: the good delivery as a folder, as rows of text and as typed cells."""

    delivery: Path
    rows: hostile.Delivery
    typed: hostile.Delivery


@dataclass(frozen=True)
class Case:
    """A broken file planted as ``data/raw/<year>/<org>/<name>`` by ``plant(path, good)``."""

    name: str
    plant: Callable[[Path, Good], object]
    org: str = ORG
    year: str = str(YEAR)

    @property
    def key(self) -> tuple[int, str]:
        """How its result is found: the year it is recorded under (0 for a folder that is no year) and the
        delivery name as stored (text)."""
        year = int(self.year) if len(self.year) == 4 and self.year.isascii() and self.year.isdigit() else 0
        return year, self.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


CASES: dict[str, Case] = {}


def case(name: str, **kwargs):
    """Register the decorated planter as the case ``name`` (a delivery name used by no other case)."""

    def register(plant):
        assert name not in CASES, name
        CASES[name] = Case(name, plant, **kwargs)
        return plant

    return register


def edited_csv(path: Path, good: Good, edit, **kwargs) -> Path:
    rows = hostile.copy_delivery(good.rows)
    edit(rows)
    return hostile.write_csv_delivery(path, rows, **kwargs)


def edited_workbook(path: Path, good: Good, edit) -> Path:
    typed = hostile.copy_delivery(good.typed)
    edit(typed)
    return hostile.write_workbook(path, typed)


case("DUO_2025.xlsx")(lambda p, g: hostile.write_workbook(p, g.typed))
case("bomb.xlsx")(lambda p, g: hostile.zip_bomb(p, g.typed, unpacked_mb=120))
case("forged.xlsx")(lambda p, g: hostile.forged_size_zip_bomb(p, g.typed))
case("laughs.xlsx")(lambda p, g: hostile.entity_bomb(p, g.typed))
case("laughs_after_comment.xlsx")(lambda p, g: hostile.entity_bomb(p, g.typed, padding=8000))
case("sparse.xlsx")(lambda p, g: hostile.sparse_workbook(p, g.typed))
case("sparse_quoted.xlsx")(lambda p, g: hostile.sparse_workbook(p, g.typed, quote="'"))
case("macros.xlsm")(lambda p, g: hostile.macro_workbook(p, g.typed))
case("junk.xlsx")(lambda p, g: hostile.junk(p))
case("empty.xlsx")(lambda p, g: p.write_bytes(b""))
for _fraction in (0.5, 0.98):
    case(f"cut_{_fraction}.xlsx")(lambda p, g, f=_fraction: hostile.truncated(p, hostile.workbook_bytes(g.typed), f))
case("unicode_text")(lambda p, g: hostile.write_csv_delivery(p, g.rows, encoding="utf-16", delimiter="\t"))
case("utf16le")(lambda p, g: hostile.write_csv_delivery(p, g.rows, encoding="utf-16-le", delimiter="\t"))
case("absurd")(lambda p, g: hostile.write_csv_delivery(p, hostile.absurd_delivery(g.rows)))


@case("wide_quoted.xlsx")
def _wide_quoted(path: Path, good: Good):
    xml = hostile.sheet_xml(good.typed["organisatie"])
    far = hostile.col_letter(2_999)
    xml = xml.replace("</sheetData>", f"<row r='20'><c r='{far}20'><v>1</v></c></row></sheetData>")
    hostile.write_workbook(path, good.typed, sheet_xml_override={"organisatie": xml})


@case("damaged.xlsx")
def _damaged(path: Path, good: Good):
    data = hostile.workbook_bytes(good.typed)
    path.write_bytes(hostile.corrupt_deflate(data, hostile.sheet_member(good.typed, "organisatie")))


@case("csv_empty")
def _csv_empty(path: Path, good: Good):
    folder = hostile.write_csv_delivery(path, good.rows)
    (folder / "organisatie.csv").write_bytes(b"")


CP1252_NAME = "Studiefinanciëring en tegemoetkoming (€)"
CP1252_QUESTION = "Geïndexeerde kosten per klant in € verlagen; coördinatie met ketenpartners"


@case("cp1252")
def _cp1252(path: Path, good: Good):
    def edit(rows):
        hostile.set_cell(rows, "producten", 0, "product_naam", CP1252_NAME)
        hostile.set_cell(rows, "organisatie", 0, "ontwikkelvraag_tekst", CP1252_QUESTION)

    edited_csv(path, good, edit, encoding="cp1252")


@case("absurd.xlsx")
def _absurd_workbook(path: Path, good: Good):
    def edit(typed):
        hostile.set_cell(typed, "organisatie", 0, "fte_totaal", 1e308)
        hostile.set_cell(typed, "organisatie", 0, "n_instroom_personeel", -5.0)
        hostile.set_cell(typed, "producten", 0, "n_besluiten", -1e308)

    edited_workbook(path, good, edit)


NON_FINITE = ("NaN", "inf", "-inf")
for _value in NON_FINITE:
    case(f"nonfinite_{_value}.xlsx")(
        lambda p, g, v=_value: edited_workbook(
            p, g, lambda t: hostile.set_cell(t, "organisatie", 0, "verzuimdagen", hostile.RawCell("", f"<v>{v}</v>"))
        )
    )

case("formula_number")(
    lambda p, g: edited_csv(p, g, lambda rows: hostile.set_cell(rows, "producten", 0, "n_besluiten", "=1+1"))
)

HYPERLINK = '=HYPERLINK("http://evil.example/x","klik")'
case("formula_text")(
    lambda p, g: edited_csv(p, g, lambda rows: hostile.set_cell(rows, "producten", 0, "product_naam", HYPERLINK))
)
case("formula_text.xlsx")(
    lambda p, g: edited_workbook(p, g, lambda t: hostile.set_cell(t, "producten", 0, "n_besluiten", "=1+1"))
)


@case("formulas_uncached.xlsx")
def _formulas_uncached(path: Path, good: Good):
    def edit(typed):
        hostile.set_cell(typed, "producten", 0, "n_besluiten", hostile.Formula("1+1"))
        hostile.set_cell(
            typed, "producten", 0, "product_naam", hostile.Formula('HYPERLINK("http://evil.example/x","klik")')
        )

    edited_workbook(path, good, edit)


@case("formulas_cached.xlsx")
def _formulas_cached(path: Path, good: Good):
    def edit(typed):
        decisions = hostile.get_cell(typed, "producten", 0, "n_besluiten")
        hostile.set_cell(typed, "producten", 0, "n_besluiten", hostile.Formula(f"{decisions:.0f}-1+1", decisions))
        hostile.set_cell(
            typed, "producten", 0, "product_naam", hostile.Formula('HYPERLINK("http://evil.example/x","klik")', "klik")
        )

    edited_workbook(path, good, edit)


case("long_text")(
    lambda p, g: edited_csv(
        p, g, lambda rows: hostile.set_cell(rows, "organisatie", 0, "ontwikkelvraag_tekst", hostile.LONG_TEXT)
    )
)
case("long_text.xlsx")(
    lambda p, g: edited_workbook(
        p, g, lambda t: hostile.set_cell(t, "organisatie", 0, "ontwikkelvraag_tekst", hostile.LONG_TEXT)
    )
)


# The same bytes as DUO_2025.xlsx in the same folder would be one delivery found twice (read once), so this
# valid workbook goes to SVB's folder, with SVB's code in it.
NON_UTF8_ORG = "SVB"


@case(os.fsdecode(b"Overzicht_caf\xe9.xlsx"), org=NON_UTF8_ORG)
def _non_utf8_name(path: Path, good: Good):
    typed = hostile.copy_delivery(good.typed)
    hostile.set_cell(typed, "organisatie", 0, "org_code", NON_UTF8_ORG)
    hostile.write_workbook(path, typed)


@case("DUO_aanlevering_mistyped_year", year="202520252025")
def _mistyped_year(path: Path, good: Good):
    shutil.copytree(good.delivery, path)


@case("wide_3000.xlsx")
def _wide_workbook(path: Path, good: Good):
    rows = hostile.copy_delivery(good.rows)
    hostile.add_columns(rows, "producten", 3_000)
    hostile.write_workbook(path, hostile.typed_delivery(rows))


case("wide")(lambda p, g: edited_csv(p, g, lambda rows: hostile.add_columns(rows, "producten", 3_000)))


# ------------------------------------------------------------------ one workspace, one ingest


class Broken:
    """A workspace holding the good delivery and the planted cases, and the results of one ingest of it."""

    def __init__(
        self, root: Path, good: Good, good_counts: dict[str, int], cases: list[Case], leftover_manifest: bool = False
    ):
        self.ws = Workspace.at(root).ensure()
        self.good = good.delivery.name
        self.good_counts = good_counts
        self.cases = {c.name: c for c in cases}
        shutil.copytree(good.delivery, self.ws.raw / str(YEAR) / ORG / self.good)
        self.good_described = describe(self.ws.raw / str(YEAR) / ORG / self.good, ORG, YEAR)
        if leftover_manifest:
            # what a crash while storing the good delivery can leave: its manifest in the inbox, empty
            manifest = self.ws.inbox / ORG / str(YEAR) / f"{self.good_described.sha256}.manifest.tsv"
            manifest.parent.mkdir(parents=True)
            manifest.write_bytes(b"")
        self.planting_errors: dict[str, BaseException] = {}
        for c in cases:
            folder = self.ws.raw / c.year / c.org
            folder.mkdir(parents=True, exist_ok=True)
            try:
                c.plant(folder / c.name, good)
            except Exception as exc:  # noqa: BLE001 - reported by the case's own test
                self.planting_errors[c.name] = exc
        self.error: BaseException | None = None
        self.results = []
        try:
            self.results = ingest(self.ws)
        except Exception as exc:  # noqa: BLE001 - each test then runs its case alone
            self.error = exc
        self.by_key = {(r.year, r.name): r for r in self.results}

    def result(self, name: str):
        """The result of case ``name``, after checking the good delivery, every finding and the fact tables."""
        if name in self.planting_errors:
            raise self.planting_errors[name]
        assert self.error is None, self.error
        good = (YEAR, self.good)
        expected = {good} | {c.key for c in self.cases.values() if c.name not in self.planting_errors}
        assert set(self.by_key) == expected
        assert self.by_key[good].status in ACCEPTED, self.by_key[good].findings
        assert_no_partial_loads(self.ws.db_path, {n: self.good_counts for _, n in expected})
        result = self.by_key[self.cases[name].key if name in self.cases else (YEAR, name)]
        for f in result.findings:
            assert f.severity in ("error", "warning", "info")
            assert f.message_nl.strip() and f.message_en.strip()
            assert f.value is None or len(f.value) <= 80
        return result


class Cases:
    """Each test's view on the shared ingest: ``result(name)``, and the workspace and all results of the
    ingest its case was read in."""

    def __init__(self, shared: Broken, tmp_path_factory, good: Good, good_counts: dict[str, int]):
        self.shared, self.tmp, self.good, self.good_counts = shared, tmp_path_factory, good, good_counts
        self.ws, self.results = shared.ws, shared.results

    def result(self, name: str):
        """The result of case ``name`` (or of the good delivery, by its name)."""
        if self.shared.error is None:
            self.read_in = self.shared
            return self.shared.result(name)
        alone = Broken(
            self.tmp.mktemp("alone"),
            self.good,
            self.good_counts,
            [CASES[name]] if name in CASES else [],
            leftover_manifest=name not in CASES,
        )
        self.ws, self.results, self.read_in = alone.ws, alone.results, alone
        if alone.error is not None:
            raise alone.error
        return alone.result(name)


@pytest.fixture(scope="module")
def shared_round(tmp_path_factory, good_delivery, good_rows, good_typed, good_counts) -> Broken:
    return Broken(
        tmp_path_factory.mktemp("broken"),
        Good(good_delivery, good_rows, good_typed),
        good_counts,
        list(CASES.values()),
        leftover_manifest=True,
    )


@pytest.fixture()
def broken(shared_round, tmp_path_factory, good_delivery, good_rows, good_typed, good_counts) -> Cases:
    return Cases(shared_round, tmp_path_factory, Good(good_delivery, good_rows, good_typed), good_counts)


def rejected_with(result, *rules: str):
    assert result.status == "rejected", [(f.rule, f.message_en) for f in result.findings]
    errors = [f for f in result.findings if f.severity == "error"]
    assert errors, "a rejected submission needs an error finding"
    found = {f.rule for f in errors}
    assert found & set(rules), f"expected one of {rules}, got {[(f.rule, f.message_en) for f in errors]}"
    return errors


def stored_row(ws: Workspace, sql: str, name: str):
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        return con.execute(sql, [name]).fetchone()
    finally:
        con.close()


# ------------------------------------------------------------------ the tests


def test_every_case_has_a_test():
    tested = {name for t, body in globals().items() if t.startswith("test_") for name in getattr(body, "cases", ())}
    assert tested == set(CASES), set(CASES) ^ tested


def uses(*names: str):
    """Mark which cases a test checks (test_every_case_has_a_test keeps the case list and the tests in step)."""

    def mark(test):
        test.cases = names
        return test

    return mark


@uses("DUO_2025.xlsx")
def test_valid_workbook_built_from_the_good_delivery_is_accepted(broken):
    result = broken.result("DUO_2025.xlsx")
    assert result.status in ACCEPTED, [(f.rule, f.cell, f.message_en) for f in result.findings]


@uses("bomb.xlsx")
def test_zip_bomb(broken):
    assert (broken.ws.raw / str(YEAR) / ORG / "bomb.xlsx").stat().st_size < 2_000_000
    (error,) = rejected_with(broken.result("bomb.xlsx"), "file_zip_bomb")
    assert error.cell == "bomb.xlsx"


@uses("forged.xlsx")
def test_zip_bomb_with_forged_sizes(broken):
    rejected_with(broken.result("forged.xlsx"), "file_zip_bomb", "file_corrupt")


@uses("laughs.xlsx")
def test_xml_entity_bomb(broken):
    rejected_with(broken.result("laughs.xlsx"), "file_xml_entities")


@uses("laughs_after_comment.xlsx")
def test_xml_entity_bomb_after_a_long_comment(broken, good_typed):
    (error,) = rejected_with(broken.result("laughs_after_comment.xlsx"), "file_xml_entities")  # found wherever it is
    assert hostile.sheet_member(good_typed, "organisatie") in error.message_en


@uses("sparse.xlsx")
def test_sparse_workbook_with_huge_used_range(broken):
    (error,) = rejected_with(broken.result("sparse.xlsx"), "file_used_range")
    assert "XFD" not in error.message_en and "16,384 columns" in error.message_en


@uses("sparse_quoted.xlsx")
def test_sparse_workbook_with_single_quoted_cell_reference(broken):
    rejected_with(broken.result("sparse_quoted.xlsx"), "file_used_range", "file_corrupt")


@uses("wide_quoted.xlsx")
def test_too_wide_used_range_with_single_quoted_cell_reference(broken):
    rejected_with(broken.result("wide_quoted.xlsx"), "file_used_range")


@uses("macros.xlsm")
def test_macro_enabled_workbook(broken):
    rejected_with(broken.result("macros.xlsm"), "file_macros")


@uses("junk.xlsx")
def test_binary_junk_renamed_xlsx(broken):
    rejected_with(broken.result("junk.xlsx"), "file_not_xlsx")


@uses("damaged.xlsx")
def test_workbook_with_damaged_compressed_data(broken):
    rejected_with(broken.result("damaged.xlsx"), "file_corrupt")


@uses("empty.xlsx")
def test_zero_byte_workbook(broken):
    rejected_with(broken.result("empty.xlsx"), "file_empty")


@uses("csv_empty")
def test_zero_byte_csv_file(broken):
    errors = rejected_with(broken.result("csv_empty"), "file_empty")
    assert any(e.cell == "organisatie.csv" for e in errors)


@uses("cut_0.5.xlsx", "cut_0.98.xlsx")
@pytest.mark.parametrize("fraction", [0.5, 0.98])
def test_truncated_workbook(broken, fraction):
    rejected_with(broken.result(f"cut_{fraction}.xlsx"), "file_not_xlsx", "file_corrupt")


@uses("cp1252")
def test_cp1252_csv_with_euro_sign_and_diaeresis_is_read_correctly(broken):
    assert "€".encode("cp1252") in (broken.ws.raw / str(YEAR) / ORG / "cp1252" / "producten.csv").read_bytes()
    result = broken.result("cp1252")
    assert result.status in ACCEPTED, [(f.rule, f.message_en) for f in result.findings]
    stored = stored_row(
        broken.ws,
        "SELECT p.product_naam, o.ontwikkelvraag_tekst, s.encoding FROM f_producten p "
        "JOIN f_organisatie o USING (submission_id) JOIN submissions s USING (submission_id) "
        "WHERE s.original_name = ? AND p.source_row = 2",
        "cp1252",
    )
    assert stored[:2] == (CP1252_NAME, CP1252_QUESTION)
    assert "cp1252" in stored[2]


@uses("unicode_text")
def test_utf16_csv(broken, good_rows):
    result = broken.result("unicode_text")
    assert result.status in ACCEPTED, [(f.rule, f.message_en) for f in result.findings]
    assert {f.cell for f in result.findings if f.rule == "encoding_utf16"} == {f"{c}.csv" for c in good_rows}


@uses("utf16le")
def test_utf16_csv_without_byte_order_mark(broken):
    rejected_with(broken.result("utf16le"), "file_encoding")


@uses("absurd")
def test_absurd_numbers_in_csv(broken):
    errors = rejected_with(broken.result("absurd"), "range", "type")
    by_field = {(e.field, e.rule) for e in errors}
    for field, rule in [
        ("fte_totaal", "type"),  # '1e308': scientific notation is no number in a file with decimal commas
        ("verzuimdagen", "type"),
        ("kosten_inhuur", "type"),
        ("n_instroom_personeel", "range"),
        ("n_besluiten", "type"),  # '-1e308'
    ]:
        assert (field, rule) in by_field, by_field
    cells = {e.field: e.cell for e in errors if e.sheet == "organisatie"}
    assert cells["fte_totaal"] == "organisatie.csv, regel 2, kolom fte_totaal"


@uses("absurd.xlsx")
def test_absurd_numbers_in_workbook(broken, good_typed):
    errors = rejected_with(broken.result("absurd.xlsx"), "range")
    cells = {(e.field, e.cell) for e in errors if e.rule == "range"}
    header = good_typed["organisatie"][0]
    assert ("fte_totaal", f"Organisatie!{hostile.col_letter(header.index('fte_totaal'))}2") in cells
    assert ("n_instroom_personeel", f"Organisatie!{hostile.col_letter(header.index('n_instroom_personeel'))}2") in cells


@uses(*(f"nonfinite_{v}.xlsx" for v in NON_FINITE))
@pytest.mark.parametrize("value", NON_FINITE)
def test_non_finite_numbers_in_workbook(broken, value):
    rejected_with(broken.result(f"nonfinite_{value}.xlsx"), "type", "required", "range", "file_corrupt")


@uses("formula_number")
def test_formula_text_in_csv_is_rejected_or_kept_as_text(broken):
    errors = rejected_with(broken.result("formula_number"), "type")
    assert any(e.field == "n_besluiten" and e.value == "=1+1" and "kolom n_besluiten" in e.cell for e in errors)


@uses("formula_text")
def test_hyperlink_formula_in_csv_text_field_is_kept_as_text(broken):
    result = broken.result("formula_text")
    if result.status == "rejected":
        assert any(f.field == "product_naam" for f in result.findings if f.severity == "error")
        return
    (stored,) = stored_row(
        broken.ws,
        "SELECT p.product_naam FROM f_producten p JOIN submissions s "
        "USING (submission_id) WHERE s.original_name = ? AND p.source_row = 2",
        "formula_text",
    )
    assert stored == HYPERLINK


@uses("formula_text.xlsx")
def test_formula_text_in_workbook_cells_is_not_evaluated(broken):
    errors = rejected_with(broken.result("formula_text.xlsx"), "type")
    assert any(e.field == "n_besluiten" and e.value == "=1+1" for e in errors)


@uses("formulas_uncached.xlsx")
def test_formula_cells_without_cached_value_are_not_evaluated(broken):
    errors = rejected_with(broken.result("formulas_uncached.xlsx"), "required", "type", "formula")
    assert {"n_besluiten", "product_naam"} <= {e.field for e in errors}


@uses("formulas_cached.xlsx")
def test_formula_cells_with_cached_results_are_not_loaded_as_data(broken):
    result = broken.result("formulas_cached.xlsx")
    flagged = {f.field for f in result.findings if f.severity in ("error", "warning")}
    assert {"n_besluiten", "product_naam"} <= flagged, [(f.rule, f.field) for f in result.findings]


@uses("long_text")
def test_million_character_text_in_csv(broken):
    errors = rejected_with(broken.result("long_text"), "length", "file_csv")
    assert any("organisatie.csv" in (e.cell or "") for e in errors)


@uses("long_text.xlsx")
def test_million_character_text_in_workbook(broken):
    errors = rejected_with(broken.result("long_text.xlsx"), "length")
    (error,) = [e for e in errors if e.rule == "length"]
    assert error.field == "ontwikkelvraag_tekst" and error.cell.startswith("Organisatie!")
    assert f"{len(hostile.LONG_TEXT):,} characters" in error.message_en


@uses(os.fsdecode(b"Overzicht_caf\xe9.xlsx"))
def test_file_name_that_is_not_utf8(broken):
    result = broken.result(os.fsdecode(b"Overzicht_caf\xe9.xlsx"))
    assert result.status in (*ACCEPTED, "rejected")


@uses("DUO_aanlevering_mistyped_year")
def test_mistyped_year_folder(broken):
    result = broken.result("DUO_aanlevering_mistyped_year")
    assert result.year != YEAR
    assert {r.status for r in broken.results if r.year != YEAR} == {"rejected"}
    assert result.status == "rejected"


@uses("wide_3000.xlsx")
def test_three_thousand_extra_columns_in_workbook(broken):
    rejected_with(broken.result("wide_3000.xlsx"), "file_used_range")


@uses("wide")
def test_three_thousand_extra_columns_in_csv(broken):
    result = broken.result("wide")
    assert any(f.sheet == "producten" and "extra_1" in (f.message_en + (f.value or "")) for f in result.findings), [
        (f.rule, f.message_en) for f in result.findings
    ]


def test_manifest_left_empty_by_a_crash_is_rewritten(broken, good_delivery):
    """The shared workspace holds an empty manifest of the good delivery in the inbox, as a crash while it
    was being stored can leave it: the delivery is still recorded (not taken as known) and its manifest
    written in full."""
    result = broken.result(good_delivery.name)
    assert result.status in ACCEPTED
    delivery = broken.read_in.good_described
    (stored,) = [
        s["stored_path"]
        for s in submissions(broken.ws.db_path)
        if s["original_name"] == good_delivery.name and s["year"] == YEAR
    ]
    lines = (broken.ws.root / stored).read_text("utf-8").splitlines()
    assert [line.split("\t")[:2] for line in lines] == [[n, s] for n, s, _, _ in delivery.files]


def test_check_command_prints_submitted_values_literally(tmp_path, good_rows):
    from pipeline.cli import main

    rows = hostile.copy_delivery(good_rows)
    hostile.set_cell(rows, "producten", 0, "n_besluiten", "[/]")
    hostile.set_cell(rows, "kanalen", 0, "kanaal", "[bold red]telefoon")
    folder = hostile.write_csv_delivery(tmp_path / "markup", rows)
    run = CliRunner().invoke(main, ["check", str(folder)])
    assert run.exit_code == 1 and isinstance(run.exception, SystemExit), run.output[-1500:]
    assert "[/]" in run.stdout and "[bold red]telefoon" in run.stdout
