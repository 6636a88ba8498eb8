"""Numbers in CSV deliveries: thousands dots are thousands, an ambiguous value is a type error that says why."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.validate import check_files

YEAR = 2025


@pytest.fixture()
def csv_delivery(demo_workspace, tmp_path) -> Path:
    """A copy of an accepted 2025 CSV delivery of the demo (a folder of ';'-separated sheet files)."""
    con = duckdb.connect(str(demo_workspace.db_path), read_only=True)
    rows = con.execute(
        "SELECT org_code, original_name FROM submissions WHERE year = ? AND fmt = 'csv' AND in_force "
        "AND n_errors = 0 ORDER BY org_code",
        [YEAR],
    ).fetchall()
    con.close()
    for org, name in rows:
        src = demo_workspace.raw / str(YEAR) / org / name
        if src.is_dir() and (src / "organisatie.csv").exists():
            target = tmp_path / name
            shutil.copytree(src, target)
            return target
    pytest.skip("the demo has no accepted CSV delivery")


def _set(folder: Path, field: str, text: str) -> None:
    """Write ``text`` as the value of ``field`` on the one data row of organisatie.csv."""
    path = folder / "organisatie.csv"
    raw = path.read_bytes()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "cp1252"
    rows = list(csv.reader(raw.decode(encoding).splitlines(), delimiter=";"))
    header = rows[0]
    rows[1][header.index(field)] = text
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=";", lineterminator="\r\n").writerows(rows)


def _check(folder: Path):
    ((_, item),) = check_files([folder])
    return item


def test_thousands_dots_are_read_as_thousands(csv_delivery):
    _set(csv_delivery, "apparaatskosten_totaal", "12.345.678")
    _set(csv_delivery, "gem_personeelsleden", "1.500")
    _set(csv_delivery, "fte_totaal", "1.234,5")
    item = _check(csv_delivery)
    frame = item.frames["organisatie"]
    assert frame["apparaatskosten_totaal"].iloc[0] == 12345678.0
    assert frame["gem_personeelsleden"].iloc[0] == 1500.0
    assert frame["fte_totaal"].iloc[0] == 1234.5
    assert not [f for f in item.findings if f.rule == "type"]


@pytest.mark.parametrize("text", ["1.5", "1.50", "1234.5"])
def test_dot_decimal_in_a_decimal_comma_file_is_a_type_error_that_says_why(csv_delivery, text):
    _set(csv_delivery, "fte_totaal", text)
    item = _check(csv_delivery)
    (finding,) = [f for f in item.findings if f.rule == "type" and f.field == "fte_totaal"]
    assert finding.severity == "error"
    assert finding.value == text
    assert f"'{text}'" in finding.message_nl and "komma het decimaalteken" in finding.message_nl
    assert "niet eenduidig" in finding.message_nl
    assert "comma is the decimal sign" in finding.message_en and "ambiguous" in finding.message_en
    assert item.frames["organisatie"]["fte_totaal"].isna().all()  # never read as 1.5


def test_text_in_a_number_field_keeps_the_plain_type_message(csv_delivery):
    _set(csv_delivery, "fte_totaal", "12 fte")
    item = _check(csv_delivery)
    (finding,) = [f for f in item.findings if f.rule == "type" and f.field == "fte_totaal"]
    assert finding.value == "12 fte" and "geen getal" in finding.message_nl
    assert "niet eenduidig" not in finding.message_nl


def test_scientific_notation_in_a_decimal_comma_file_is_not_a_number(csv_delivery):
    _set(csv_delivery, "fte_totaal", "1e3")
    item = _check(csv_delivery)
    (finding,) = [f for f in item.findings if f.rule == "type" and f.field == "fte_totaal"]
    assert finding.value == "1e3"
