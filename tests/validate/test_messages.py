"""Messages that respect what the member typed: the cell quoted as typed, counts in singular or plural, a CSV
delivery's files called files, English without Dutch words, and numbers in the notation of the message."""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest
from inprocess import rbb

from pipeline.core.findings import Finding, cell_text
from pipeline.core.numbers import count_text, format_number
from pipeline.demo.data import generate, write_csv_folder
from pipeline.ingest.template import write_workbook
from pipeline.validate import check_files

YEAR = 2025
NBSP = "\u00a0"
DUTCH = re.compile(r"\b(regel|kolom|blad|cijfer|ontbreekt|verplicht)", re.IGNORECASE)
SHEET_NAMES = ("Organisatie", "Producten", "Kanalen", "Enquete", "Toelichting")


def _clean_sheets() -> tuple[str, dict[str, pd.DataFrame]]:
    """A member's first 2025 delivery of the demo without a planted fault, as frames per sheet."""
    d = next(d for d in generate(years=[YEAR]) if d.fault is None)
    return d.org_code, {k: v.copy() for k, v in d.sheets.items()}


def _put(sheets: dict[str, pd.DataFrame], sheet: str, field: str, row: int, text: object) -> None:
    frame = sheets[sheet]
    frame[field] = frame[field].astype(object)
    frame.loc[row, field] = text


def _overhead_parts(sheets: dict[str, pd.DataFrame]) -> list[str]:
    return [c for c in sheets["organisatie"].columns if c.startswith("fte_overhead_")]


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory) -> dict[str, object]:
    """Three odd deliveries checked together (one Great Expectations run), and two for the plural forms."""
    root = tmp_path_factory.mktemp("messages")
    org, clean = _clean_sheets()
    # a: a CSV delivery with text in number cells, a mark of 11, an unknown channel, a duplicate product code,
    # a missing column and one column too many
    a = {k: v.copy() for k, v in clean.items()}
    _put(a, "organisatie", "fte_totaal", 0, "ongeveer 1200")
    _put(a, "organisatie", "gem_leeftijd", 0, "12,5%")
    _put(a, "organisatie", "kosten_inhuur", 0, f"ongeveer{NBSP}500")
    _put(a, "enquete", "q_overall", 0, "11")
    _put(a, "kanalen", "kanaal", 0, "Webb")
    _put(a, "producten", "norm_termijn_dagen", 0, "1.500.000")
    _put(a, "producten", "product_code", 1, a["producten"].loc[0, "product_code"])
    a["producten"] = a["producten"].drop(columns=["n_klachten_tijdig"])
    a["organisatie"]["opmerking"] = "zie mail"
    write_csv_folder(root / "a_csv", a)
    # b: a CSV delivery without kanalen.csv, overhead parts that exceed the total by a fraction, an unknown
    # figure and two columns too many
    b = {k: v.copy() for k, v in clean.items() if k != "kanalen"}
    for part in _overhead_parts(b):
        _put(b, "organisatie", part, 0, "0")
    _put(b, "organisatie", _overhead_parts(b)[0], 0, "10,5")
    _put(b, "organisatie", "fte_totaal", 0, "10,25")
    _put(b, "organisatie", "gem_personeelsleden", 0, "onbekend")
    b["producten"]["extra_a"] = "1"
    b["producten"]["extra_b"] = "2"
    write_csv_folder(root / "b_csv", b)
    # c: a workbook without its Kanalen sheet and with text in a number cell
    c = {k: v.copy() for k, v in clean.items()}
    _put(c, "organisatie", "fte_totaal", 0, "ongeveer 1200")
    path_c = write_workbook(root / "c.xlsx", YEAR, org, data=c)
    wb = openpyxl.load_workbook(path_c)
    wb.remove(wb["Kanalen"])
    wb.save(path_c)
    # d and e: one error and one warning, two errors and two warnings
    d = {k: v.copy() for k, v in clean.items()}
    _put(d, "organisatie", "fte_totaal", 0, "x")
    _put(d, "organisatie", "gem_personeelsleden", 0, "onbekend")
    write_csv_folder(root / "d_csv", d)
    e = {k: v.copy() for k, v in d.items()}
    _put(e, "organisatie", "gem_leeftijd", 0, "y")
    _put(e, "organisatie", "beschikbare_dagen", 0, "onbekend")
    write_csv_folder(root / "e_csv", e)
    checked = dict(zip("abc", (item for _, item in check_files([root / "a_csv", root / "b_csv", path_c]))))
    return {"items": checked, "root": root, "org": org}


def _find(item, rule: str, field: str | None = None) -> Finding:
    hits = [f for f in item.findings if f.rule == rule and (field is None or f.field == field)]
    assert hits, [(f.rule, f.field, f.message_nl) for f in item.findings]
    return hits[0]


def _unquoted(text: str) -> str:
    """A message without what it quotes of the member's input ('...'), its file names and real sheet names."""
    text = re.sub(r"'[^']*'", "''", text)
    text = re.sub(r"\b[\w.-]+\.(csv|xlsx|parquet)\b", "FILE", text)
    for name in SHEET_NAMES:
        text = re.sub(rf"\b{name}\b", "SHEET", text)
    return text


# ------------------------------------------------------------------ the member's input, as typed


def test_the_typed_value_is_quoted_exactly_as_typed(deliveries):
    a, c = deliveries["items"]["a"], deliveries["items"]["c"]
    for item, field, typed in (
        (a, "fte_totaal", "ongeveer 1200"),
        (a, "gem_leeftijd", "12,5%"),
        (a, "kosten_inhuur", f"ongeveer{NBSP}500"),
        (c, "fte_totaal", "ongeveer 1200"),
    ):
        f = _find(item, "type", field)
        assert f.value == typed
        assert f"'{typed}'" in f.message_nl and f"'{typed}'" in f.message_en
    channel = _find(a, "code_list", "kanaal")
    assert channel.value == "Webb" and "'Webb'" in channel.message_nl and "'Webb'" in channel.message_en
    term = _find(a, "range", "norm_termijn_dagen")
    assert term.value == "1.500.000"  # not 1500000
    assert "is 1.500.000 dagen" in term.message_nl and "tot en met 730.000 dagen" in term.message_nl
    assert "is 1,500,000 days" in term.message_en and "to 730,000 days" in term.message_en
    total = _find(deliveries["items"]["b"], "rule:overhead_le_totaal")
    assert total.value == "10,25"  # not 10.25


# ------------------------------------------------------------------ singular and plural


def test_counts_are_singular_for_one_and_plural_for_two(deliveries):
    a, b = deliveries["items"]["a"], deliveries["items"]["b"]
    one = _find(a, "column_unknown")
    assert "1 kolom die niet in het sjabloon staat en is genegeerd: opmerking" in one.message_nl
    assert "1 column that is not in the template and was ignored: opmerking" in one.message_en
    two = _find(b, "column_unknown")
    assert "2 kolommen die niet in het sjabloon staan en zijn genegeerd" in two.message_nl
    assert "2 columns that are not in the template and were ignored" in two.message_en
    read = _find(b, "answers_read")
    assert "1 cel als onbekend" in read.message_nl and "1 cell as unknown" in read.message_en
    assert [count_text(n, "fout", "fouten") for n in (0, 1, 2)] == ["0 fouten", "1 fout", "2 fouten"]
    assert [count_text(n, "waarschuwing", "waarschuwingen") for n in (1, 2)] == ["1 waarschuwing", "2 waarschuwingen"]
    assert count_text(1500, "regel", "regels") == "1.500 regels" and count_text(1, "error", "errors", "en") == "1 error"


def test_check_prints_one_fout_and_two_fouten(deliveries):
    root = deliveries["root"]
    heads = {}
    for lang in ("nl", "en"):
        out = rbb("check", "--lang", lang, str(root / "d_csv"), str(root / "e_csv"))
        assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
        heads[lang] = [line for line in out.stdout.splitlines() if line.startswith(str(root))]
        if lang == "en":
            assert "organisatie.csv, line 2, column fte_totaal:" in out.stdout
            assert ", regel " not in out.stdout and ", kolom " not in out.stdout
    assert heads["nl"] == [f"{root / 'd_csv'}: 1 fout, 1 waarschuwing", f"{root / 'e_csv'}: 2 fouten, 2 waarschuwingen"]
    assert heads["en"] == [f"{root / 'd_csv'}: 1 error, 1 warning", f"{root / 'e_csv'}: 2 errors, 2 warnings"]


# ------------------------------------------------------------------ a CSV file is a file, a sheet a sheet


def test_a_csv_delivery_names_its_files_and_never_a_sheet(deliveries):
    a, b = deliveries["items"]["a"], deliveries["items"]["b"]
    for item in (a, b):
        for f in item.findings:
            assert not re.search(r"\bblad\b", f.message_nl, re.IGNORECASE), f.message_nl
            assert not re.search(r"\bsheets?\b", f.message_en, re.IGNORECASE), f.message_en
    column = _find(a, "column_missing", "n_klachten_tijdig")
    assert "ontbreekt in bestand producten.csv" in column.message_nl
    assert "is missing in file producten.csv" in column.message_en
    dup = _find(a, "unique")
    assert "in bestand producten.csv" in dup.message_nl and "merge the lines" in dup.message_en
    missing = _find(b, "sheet_missing")
    assert missing.message_nl.startswith("Het verplichte bestand kanalen.csv ontbreekt.")
    assert missing.message_en.startswith("The required file kanalen.csv is missing.")
    assert missing.cell == "kanalen.csv"
    unknown = _find(b, "unknown_value", "gem_personeelsleden")
    assert "in bestand toelichting.csv" in unknown.message_nl and "in file toelichting.csv" in unknown.message_en


def test_a_workbook_names_its_sheets_by_their_names_in_the_file(deliveries):
    c = deliveries["items"]["c"]
    missing = _find(c, "sheet_missing")
    assert missing.message_nl.startswith("Het verplichte blad 'Kanalen' ontbreekt.")
    assert missing.message_en.startswith("The required sheet 'Kanalen' is missing.")
    for f in c.findings:
        assert not re.search(r"\b(Channels|Products|Explanations|Survey|Organisation) sheet\b", f.message_en)
        assert "'Channels'" not in f.message_en


# ------------------------------------------------------------------ English is English, numbers by language


def test_english_messages_hold_no_dutch_words(deliveries):
    for key, item in deliveries["items"].items():
        assert item.findings, key
        for f in item.findings:
            assert not DUTCH.search(_unquoted(f.message_en)), (key, f.message_en)
            assert not DUTCH.search(_unquoted(f.where("en") or "")), (key, f.cell)
    mark = _find(deliveries["items"]["a"], "range", "q_overall")
    assert "is 11; allowed is 1 to 10." in mark.message_en


def test_numbers_a_message_computes_are_in_the_notation_of_its_language(deliveries):
    total = _find(deliveries["items"]["b"], "rule:overhead_le_totaal")
    assert "(10,50)" in total.message_nl and "(10,25)" in total.message_nl
    assert "(10.50)" in total.message_en and "(10.25)" in total.message_en
    decimal_point = re.compile(r"(?<![\d.,])\d+\.\d{1,2}(?![\d])")
    decimal_comma = re.compile(r"(?<![\d.,])\d+,\d{1,2}(?![\d])")
    numeric = ("range", "implausible", "yoy_change", "outlier")
    for item in deliveries["items"].values():
        for f in item.findings:
            if f.rule in numeric or f.rule.startswith("rule:"):
                assert not decimal_point.search(_unquoted(f.message_nl)), f.message_nl
                assert not decimal_comma.search(_unquoted(f.message_en)), f.message_en
    assert format_number(1234567.5, "nl") == "1.234.567,50" and format_number(1234567.5, "en") == "1,234,567.50"


def test_cell_references_read_in_the_language_of_the_reader():
    assert cell_text("producten.csv, regel 19, kolom n_klachten", "en") == "producten.csv, line 19, column n_klachten"
    assert cell_text("producten.csv, regel 19, kolom n_klachten", "nl") == "producten.csv, regel 19, kolom n_klachten"
    assert cell_text("organisatie.csv, regel 2", "en") == "organisatie.csv, line 2"
    assert cell_text("Producten!F14", "en") == "Producten!F14"
    assert cell_text(None, "en") is None
