"""The organisation register's only numbers are years: four digits, never a Dutch thousands number."""

from __future__ import annotations

from importlib import resources

import pytest

from pipeline.metadata.registry import RegisterError, load_organisations, register_year


def _workspace_register(root, member_since: str) -> None:
    text = resources.files("pipeline.metadata").joinpath("organisations.csv").read_text("utf-8")
    lines = text.splitlines()
    cells = lines[1].split(",")
    cells[5] = member_since
    lines[1] = ",".join(cells)
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "organisations.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("text", ["2.010", "2,010", "２０１０", "2_010", "10", "2010.0", ""])
def test_a_year_that_is_not_four_digits_is_a_register_error_naming_the_line(tmp_path, text):
    _workspace_register(tmp_path, text)
    with pytest.raises(RegisterError, match=r"organisations\.csv, line 2: a year is written as four digits"):
        load_organisations(tmp_path)


def test_four_digit_years_are_read(tmp_path):
    _workspace_register(tmp_path, " 2011 ")
    first = load_organisations(tmp_path)[0]
    assert first.member_since == 2011
    assert register_year("2024") == 2024
