"""The shared number parser: decimal comma or decimal point, never a guess."""

from __future__ import annotations

import re

import duckdb
import pytest

from pipeline.core.numbers import (
    column_decimal_comma,
    convention_of_separator,
    decimal_comma_sql,
    parse_number,
    whole_number_regex,
)

NBSP, NNBSP = "\u00a0", "\u202f"

DECIMAL_COMMA = [
    ("1.500", 1500.0),
    ("1.234.567", 1234567.0),
    ("1.234,5", 1234.5),
    ("12,5", 12.5),
    ("0,25", 0.25),
    ("-12,5", -12.5),
    ("−3", -3.0),
    ("€ 1.500", 1500.0),
    ("€1.234,50", 1234.5),
    ("-€ 2,5", -2.5),
    ("1 500", 1500.0),
    (f"1{NBSP}500", 1500.0),
    (f"1{NNBSP}500{NNBSP}000,5", 1500000.5),
    ("  42  ", 42.0),
    ("007", 7.0),
]
DECIMAL_POINT = [
    ("1,500", 1500.0),
    ("1,234,567.5", 1234567.5),
    ("1.5", 1.5),
    ("1.500", 1.5),
    ("-0.25", -0.25),
    ("1e3", 1000.0),
    ("1.5E-4", 0.00015),
    ("€ 12.5", 12.5),
    (f"1{NBSP}500.25", 1500.25),
]


@pytest.mark.parametrize(("text", "value"), DECIMAL_COMMA)
def test_decimal_comma_numbers(text, value):
    parsed = parse_number(text, decimal_comma=True)
    assert parsed.ok and parsed.value == pytest.approx(value)
    assert float(parsed.text) == pytest.approx(value)


@pytest.mark.parametrize(("text", "value"), DECIMAL_POINT)
def test_decimal_point_numbers(text, value):
    parsed = parse_number(text, decimal_comma=False)
    assert parsed.ok and parsed.value == pytest.approx(value)


@pytest.mark.parametrize("text", ["1.5", "1.50", "12.3456", "1234.567", "0.500", "1,234,567.5"])
def test_dot_that_is_no_thousands_dot_is_ambiguous_with_decimal_comma(text):
    parsed = parse_number(text, decimal_comma=True)
    assert parsed.problem == "ambiguous"
    assert f"'{text}'" in parsed.reason_nl and "komma het decimaalteken" in parsed.reason_nl
    assert "comma is the decimal sign" in parsed.reason_en


@pytest.mark.parametrize("text", ["1,5", "1,50", "1234,5", "1.234,5", "1.234.567", "0,500"])
def test_comma_that_is_no_thousands_comma_is_ambiguous_with_decimal_point(text):
    parsed = parse_number(text, decimal_comma=False)
    assert parsed.problem == "ambiguous"
    assert "punt het decimaalteken" in parsed.reason_nl and "point is the decimal sign" in parsed.reason_en


@pytest.mark.parametrize("text", ["1e3", "1,5E3", "1.5e-4"])
def test_scientific_notation_only_with_decimal_point(text):
    parsed = parse_number(text, decimal_comma=True)
    assert not parsed.ok
    assert parse_number("1e3", decimal_comma=False).value == 1000.0


@pytest.mark.parametrize(
    "text", ["１２", "١٢", "12 fte", "1 5", "12%", "abc", "1.2.3", "--5", "€", "1,2,3", "1e999", "1_000", "+-1"]
)
@pytest.mark.parametrize("decimal_comma", [True, False])
def test_not_a_number(text, decimal_comma):
    parsed = parse_number(text, decimal_comma)
    assert parsed.problem in ("not_a_number", "ambiguous") and parsed.value is None
    assert parsed.reason_nl and parsed.reason_en


def test_full_width_digits_are_named():
    assert "0-9" in parse_number("１２", True).reason_en


@pytest.mark.parametrize("text", [None, "", "   ", NBSP])
def test_empty(text):
    assert parse_number(text, True).problem == "empty"


def test_separator_gives_the_convention():
    assert convention_of_separator(";") and convention_of_separator("\t")
    assert not convention_of_separator(",")


def test_column_proves_its_convention_only_without_doubt():
    # one stray value does not overrule the separator: it is rejected
    assert column_decimal_comma(["1.5", "2", "3"], default=True) is True
    # a column written with decimal points throughout is read so
    assert column_decimal_comma(["0.87", "1.25", "3"], default=True) is False
    # ... unless a value would change meaning (1.500 = 1500 or 1.5) or only the default reads it
    assert column_decimal_comma(["0.87", "1.25", "1.500"], default=True) is True
    assert column_decimal_comma(["0.87", "1.25", "12,5"], default=True) is True
    assert column_decimal_comma(["12,5", "0,25"], default=False) is True
    assert column_decimal_comma(["1,500", "12,5", "0,25"], default=False) is False
    assert column_decimal_comma([], default=True) is True


@pytest.mark.parametrize(
    ("text", "integer", "number"),
    [
        ("14", 14, 14.0),
        (" 7 ", 7, 7.0),
        ("-3", -3, -3.0),
        ("1.500", 1500, 1500.0),
        ("1.234.567", 1234567, 1234567.0),
        ("12,5", None, 12.5),
        ("1.234,5", None, 1234.5),
        ("1.5", None, None),
        ("0.500", None, None),
        ("1e3", None, None),
        ("１２", None, None),
        ("abc", None, None),
    ],
)
def test_sql_reads_like_the_parser(text, integer, number):
    con = duckdb.connect()
    i, d = con.execute(
        f"SELECT {decimal_comma_sql('x', 'INTEGER')}, {decimal_comma_sql('x', 'DOUBLE')} FROM (SELECT ?::VARCHAR AS x)",
        [text],
    ).fetchone()
    con.close()
    assert (i, d) == (integer, number)
    parsed = parse_number(text, decimal_comma=True)
    if number is not None:
        assert parsed.value == number
    assert bool(re.match(whole_number_regex(), text)) == (integer is not None)
