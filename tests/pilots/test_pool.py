"""The pool register of researchers and coaches: reading, checking, the template and the demo pool (real files)."""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from importlib import resources
from pathlib import Path

import openpyxl
import pytest

from pipeline.core.workspace import Workspace
from pipeline.demo.pool import demo_pool, write_demo_pool
from pipeline.ingest.readers import check_workbook
from pipeline.metadata.registry import load_organisations
from pipeline.pilots.pool import (
    POOL_COLUMNS,
    ROLES,
    Pool,
    findings_text,
    load_pool,
    pool_path,
    write_pool,
    write_template,
)

PEOPLE_COLUMNS = [
    "person_id",
    "name",
    "org_code",
    "roles",
    "themes",
    "methods",
    "days_per_year",
    "max_pilots",
    "active_from",
    "active_to",
    "row",
]
LETTER = {c: chr(ord("A") + i) for i, c in enumerate(POOL_COLUMNS)}
MEMBERS = sorted(o.org_code for o in load_organisations() if o.member_since <= 2021 and o.member_until is None)


@pytest.fixture()
def ws(tmp_path) -> Workspace:
    """An empty workspace with a copy of the packaged organisation register."""
    data = tmp_path / "data"
    data.mkdir()
    with resources.as_file(resources.files("pipeline.metadata").joinpath("organisations.csv")) as src:
        shutil.copy(src, data / "organisations.csv")
    return Workspace(tmp_path)


def person(**changes) -> dict:
    row = {
        "person_id": "P001",
        "naam": "Sanne de Vries",
        "org_code": "CJIB",
        "rollen": "coach",
        "themas": "tijdigheid; digitaal",
        "methoden": "procesanalyse; klantreis",
        "dagen_per_jaar": 12,
        "max_pilots": 2,
        "actief_vanaf": 2024,
        "actief_tot": None,
    }
    row.update(changes)
    return row


def pool_file(ws: Workspace, fmt: str) -> Path:
    return ws.root / "data" / f"pool.{fmt}"


def cell(fmt: str, column: str, row: int) -> str:
    return f"Pool!{LETTER[column]}{row}" if fmt == "xlsx" else f"pool.csv, regel {row}, kolom {column}"


def cell_en(fmt: str, column: str, row: int) -> str:
    return f"Pool!{LETTER[column]}{row}" if fmt == "xlsx" else f"pool.csv, line {row}, column {column}"


def of_rule(pool: Pool, rule: str) -> list:
    return [f for f in pool.findings if f.rule == rule]


# ------------------------------------------------------------------ no file, the demo pool


def test_no_pool_file_is_an_empty_pool_without_findings(ws):
    assert pool_path(ws) is None
    pool = load_pool(ws)
    assert pool.path is None and pool.findings == [] and pool.n_errors == 0
    assert list(pool.people.columns) == PEOPLE_COLUMNS and pool.people.empty
    assert pool.active(2025).empty


def test_demo_pool_loads_without_errors_and_is_deterministic(ws):
    rows = demo_pool(MEMBERS, 2021, 2025)
    assert rows == demo_pool(MEMBERS, 2021, 2025)
    assert rows == demo_pool(list(reversed(MEMBERS)), 2021, 2025)
    assert rows != demo_pool(MEMBERS, 2021, 2025, seed=1)
    assert 55 <= len(rows) <= 65
    assert [r["person_id"] for r in rows] == [f"P{i:03d}" for i in range(1, len(rows) + 1)]
    per_org = {c: sum(r["org_code"] == c for r in rows) for c in MEMBERS}
    assert max(per_org.values()) <= 3 and 1 <= sum(n == 0 for n in per_org.values()) <= 6
    assert len({r["naam"] for r in rows}) == len(rows)
    assert any(" van der " in r["naam"] or " de " in r["naam"] for r in rows)

    path = write_demo_pool(ws, MEMBERS, 2021, 2025)
    assert path == pool_file(ws, "xlsx") and pool_path(ws) == path
    pool = load_pool(ws)
    assert pool.n_errors == 0, findings_text(pool.findings)
    assert len(pool.people) == len(rows)
    people = pool.people
    assert list(people.columns) == PEOPLE_COLUMNS
    assert list(people["person_id"]) == sorted(people["person_id"])
    shares = people["roles"].value_counts(normalize=True)
    assert abs(shares[("coach",)] - 0.4) < 0.05 and abs(shares[("onderzoeker",)] - 0.4) < 0.05
    assert abs(shares[("coach", "onderzoeker")] - 0.2) < 0.05
    assert all(set(r) <= set(ROLES) and list(r) == sorted(r) for r in people["roles"])
    assert all(1 <= len(t) <= 3 and list(t) == sorted(t) for t in people["themes"])
    assert people["days_per_year"].between(5, 40).all() and people["max_pilots"].between(1, 3).all()
    assert (people["active_from"] == 2021).mean() > 0.5 and people["active_from"].max() > 2021
    ended = [t for t in people["active_to"] if t is not None]
    assert ended and all(t < 2025 for t in ended)
    assert len(pool.active(2025)) == len(people) - len(ended)
    assert len(pool.active(2021)) == (people["active_from"] == 2021).sum() - sum(t < 2021 for t in ended)


def test_a_pool_read_again_is_the_same_until_its_file_or_the_register_changes(ws, monkeypatch):
    from pipeline.pilots import pool as pool_module

    path = pool_file(ws, "xlsx")
    write_pool(path, [person(), person(person_id="P002", naam="Jan Bakker", org_code="XYZ")])
    first = load_pool(ws)
    assert [f.rule for f in first.findings if f.severity == "error"]  # XYZ is not in the register
    checks = []
    monkeypatch.setattr(pool_module, "_load_pool", lambda *a: checks.append(a) or Pool(path=path))
    again = load_pool(ws)
    assert checks == [] and again is not first
    assert again.findings == first.findings and again.people.equals(first.people)
    again.findings.clear()  # a copy: what the caller does with it changes nothing kept
    assert load_pool(ws).findings == first.findings
    write_pool(path, [person(), person(person_id="P002", naam="Jan Bakker", org_code="CAK")])
    load_pool(ws)
    assert len(checks) == 1  # another file: checked again
    register = ws.root / "data" / "organisations.csv"
    register.write_text(register.read_text("utf-8") + "\n", "utf-8")
    load_pool(ws)
    assert len(checks) == 2  # another register: checked again


# ------------------------------------------------------------------ the template


def test_template_has_the_header_validations_and_explanation(ws, tmp_path):
    path = write_template(tmp_path / "pool_sjabloon.xlsx")
    assert check_workbook(path).findings == []
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Pool", "Uitleg"]
    sheet = wb["Pool"]
    assert [c.value for c in sheet[1]] == list(POOL_COLUMNS)
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row == 1  # nothing below the header: the examples are on the Uitleg sheet only
    assert sheet.column_dimensions["B"].width > sheet.column_dimensions["A"].width
    validations = {str(dv.sqref).split(":")[0]: dv for dv in sheet.data_validations.dataValidation}
    assert set(validations) == {f"{LETTER[c]}2" for c in POOL_COLUMNS}
    for column, lo, hi in (
        ("dagen_per_jaar", "1", "220"),
        ("max_pilots", "1", "5"),
        ("actief_vanaf", "2000", "2100"),
        ("actief_tot", "2000", "2100"),
    ):
        dv = validations[f"{LETTER[column]}2"]
        assert (dv.type, dv.formula1, dv.formula2) == ("whole", lo, hi), column
        assert dv.operator in (None, "between")  # 'between' is the default, left out of the file
        assert str(dv.sqref) == f"{LETTER[column]}2:{LETTER[column]}501"
    roles = validations[f"{LETTER['rollen']}2"]
    assert roles.type == "list" and "coach" in roles.formula1 and "onderzoeker" in roles.formula1
    assert validations[f"{LETTER['org_code']}2"].type == "list"
    assert all(dv.prompt for dv in validations.values())  # input help on every column

    info = [[c for c in row if c is not None] for row in wb["Uitleg"].iter_rows(values_only=True)]
    texts = [str(c) for row in info for c in row]
    assert set(POOL_COLUMNS) <= set(texts)
    examples = [row for row in info if row and row[0] == "voorbeeld"]
    assert len(examples) == 2
    assert "CJIB" in texts and "tijdigheid; digitaal" in texts

    # the empty template is a valid pool without people
    shutil.copy(path, pool_file(ws, "xlsx"))
    pool = load_pool(ws)
    assert pool.n_errors == 0 and pool.people.empty
    assert [f.rule for f in pool.findings] == ["pool_no_people"]


def test_english_template(tmp_path):
    wb = openpyxl.load_workbook(write_template(tmp_path / "pool_template.xlsx", lang="en"))
    assert wb.sheetnames == ["Pool", "Explanation"]
    texts = " ".join(str(c) for row in wb["Explanation"].iter_rows(values_only=True) for c in row if c is not None)
    assert "Required" in texts and "Unique person id" in texts and "example" in texts
    assert "Verplicht" not in texts and "Uniek persoonsnummer" not in texts
    assert [c.value for c in wb["Pool"][1]] == list(POOL_COLUMNS)


def test_filled_in_template_round_trips(ws, tmp_path):
    wb = openpyxl.load_workbook(write_template(tmp_path / "sjabloon.xlsx"))
    sheet = wb["Pool"]
    sheet.append(["P010", "Koen Bakker", "svb", "Onderzoeker", "Kosten, ict", "data-analyse", 15, 1, 2023, 2026])
    sheet.append(["P002", "Iris  Visser", "UWV", "coach; researcher", "tijdigheid", None, "20", "3", "2025", None])
    wb.save(pool_file(ws, "xlsx"))
    pool = load_pool(ws)
    assert pool.findings == [] and pool.path == pool_file(ws, "xlsx")
    people = pool.people.to_dict("records")
    assert people == [
        {
            "person_id": "P002",
            "name": "Iris Visser",
            "org_code": "UWV",
            "roles": ("coach", "onderzoeker"),
            "themes": ("tijdigheid",),
            "methods": (),
            "days_per_year": 20,
            "max_pilots": 3,
            "active_from": 2025,
            "active_to": None,
            "row": 3,
        },
        {
            "person_id": "P010",
            "name": "Koen Bakker",
            "org_code": "SVB",
            "roles": ("onderzoeker",),
            "themes": ("ict", "kosten"),
            "methods": ("data-analyse",),
            "days_per_year": 15,
            "max_pilots": 1,
            "active_from": 2023,
            "active_to": 2026,
            "row": 2,
        },
    ]
    assert list(pool.active(2024)["person_id"]) == ["P010"]
    assert list(pool.active(2026)["person_id"]) == ["P002", "P010"]
    assert list(pool.active(2027)["person_id"]) == ["P002"]
    assert pool.active(2022).empty


def test_csv_in_the_dutch_dialect_reads_like_the_workbook(ws):
    rows = [person(), person(person_id="P002", dagen_per_jaar="12,0", rollen="coach, onderzoeker", actief_tot=2025)]
    write_pool(pool_file(ws, "csv"), rows)
    data = pool_file(ws, "csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.splitlines()[0].decode("utf-8-sig") == ";".join(POOL_COLUMNS)
    from_csv = load_pool(ws)
    assert from_csv.findings == []
    pool_file(ws, "csv").unlink()
    write_pool(pool_file(ws, "xlsx"), rows)
    from_xlsx = load_pool(ws)
    assert from_xlsx.findings == []
    assert from_csv.people.drop(columns="row").equals(from_xlsx.people.drop(columns="row"))
    assert list(from_csv.people["days_per_year"]) == [12, 12]
    assert from_csv.people["roles"].iloc[1] == ("coach", "onderzoeker")


def test_csv_with_commas_when_the_header_uses_them(ws):
    header = ",".join(POOL_COLUMNS)
    pool_file(ws, "csv").write_text(
        f'{header}\nP001,Sanne de Vries,CJIB,"coach;onderzoeker",ict,lean,"12,0",1,2024,\n', "utf-8"
    )
    pool = load_pool(ws)
    assert pool.findings == []
    assert pool.people.iloc[0]["days_per_year"] == 12 and pool.people.iloc[0]["roles"] == ("coach", "onderzoeker")


def test_write_pool_refuses_unknown_columns(tmp_path):
    with pytest.raises(ValueError, match="unknown column"):
        write_pool(tmp_path / "pool.xlsx", [person(email="x@example.org")])


# ------------------------------------------------------------------ errors per cell

#: (column, value as typed, rule, words in the Dutch message); each goes in a row of its own
CASES = [
    ("person_id", "P 001", "pattern", "persoonsnummer 'P 001' is niet geldig"),
    ("naam", None, "required", "naam is leeg"),
    ("naam", "x" * 101, "length", "101 tekens lang; maximaal 100"),
    ("org_code", "XYZ", "code_list", "onbekende organisatiecode 'XYZ'; gebruik een code uit het organisatieregister"),
    ("org_code", "IBG", "membership", "IBG is geen lid in de jaren waarin deze persoon actief is"),
    ("rollen", "trainer", "role", "onbekende rol 'trainer'; kies coach, onderzoeker of beide"),
    ("rollen", "trainer; Mentor; coach", "role", "onbekende rollen 'trainer' en 'Mentor'"),
    ("themas", "klantreis", "theme", "onbekend thema 'klantreis'; kies uit klanttevredenheid"),
    ("themas", ";", "required", "themas is leeg"),
    ("dagen_per_jaar", "ongeveer 12", "type", "dagen_per_jaar 'ongeveer 12' is geen geheel getal"),
    ("dagen_per_jaar", 0, "range", "dagen_per_jaar '0' valt buiten 1 tot en met 220"),
    ("dagen_per_jaar", "-3", "range", "dagen_per_jaar '-3' valt buiten 1 tot en met 220"),
    ("dagen_per_jaar", "1.500", "range", "dagen_per_jaar '1.500' valt buiten 1 tot en met 220"),
    ("max_pilots", 6, "range", "max_pilots '6' valt buiten 1 tot en met 5"),
    ("max_pilots", "2,5", "type", "max_pilots '2,5' is geen geheel getal"),
    ("actief_vanaf", "24", "type", "actief_vanaf '24' is geen jaartal"),
    ("actief_vanaf", 1999, "range", "actief_vanaf '1999' valt buiten 2000 tot en met 2100"),
    ("actief_tot", 2020, "year_order", "actief_tot '2020' ligt vóór actief_vanaf (2024)"),
]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_each_error_points_at_its_cell_and_echoes_the_value(ws, fmt):
    rows = [person(person_id="OK1")]
    for i, (column, value, _, _) in enumerate(CASES):
        rows.append(person(**{"person_id": f"E{i:02d}", column: value}))
    rows.append(person(person_id="OK2", naam="Bas Smit", org_code="SVB"))
    write_pool(pool_file(ws, fmt), rows)
    pool = load_pool(ws)
    assert list(pool.people["person_id"]) == ["OK1", "OK2"]  # rows with an error are left out, the others kept
    assert pool.people.iloc[1]["row"] == len(CASES) + 3
    by_row = {}
    for f in pool.findings:
        by_row.setdefault(f.row, []).append(f)
    for i, (column, value, rule, words) in enumerate(CASES):
        number = i + 3  # header in row 1, OK1 in row 2
        found = by_row.get(number, [])
        assert [(f.severity, f.rule, f.field) for f in found] == [("error", rule, column)], (column, value, found)
        f = found[0]
        assert f.cell == cell(fmt, column, number) and f.sheet == "pool" and f.row == number
        assert f.message_nl.startswith(cell(fmt, column, number) + ": "), f.message_nl
        assert f.message_en.startswith(cell_en(fmt, column, number) + ": "), f.message_en
        assert words in f.message_nl, f.message_nl
        if value is not None and rule != "length":
            assert f.value == str(value)  # as typed: 'ongeveer 12' stays 'ongeveer 12', '1.500' stays '1.500'
    assert pool.n_errors == len(CASES)


def test_messages_say_what_to_do_in_both_languages(ws):
    write_pool(pool_file(ws, "csv"), [person(org_code="XYZ"), person(person_id="P2", dagen_per_jaar="ongeveer 12")])
    pool = load_pool(ws)
    org, days = pool.findings
    assert org.message_nl == (
        "pool.csv, regel 2, kolom org_code: onbekende organisatiecode 'XYZ'; gebruik een code uit het "
        "organisatieregister (bijv. BD, CAK, CBR)."
    )
    assert org.message_en == (
        "pool.csv, line 2, column org_code: unknown organisation code 'XYZ'; use a code from the organisation "
        "register (e.g. BD, CAK, CBR)."
    )
    assert "'ongeveer 12'" in days.message_nl and "'ongeveer 12'" in days.message_en and days.value == "ongeveer 12"
    assert findings_text(pool.findings) == [
        f"fout: {org.message_nl}",
        f"fout: {days.message_nl}",
    ]
    assert findings_text(pool.findings, "en")[0] == f"error: {org.message_en}"


def test_a_look_alike_code_gets_a_suggestion_and_case_does_not_matter(ws):
    look_alike = "\u0421JIB"  # a Cyrillic Es in front
    write_pool(pool_file(ws, "xlsx"), [person(org_code="cjib"), person(person_id="P2", org_code=look_alike)])
    pool = load_pool(ws)
    assert list(pool.people["org_code"]) == ["CJIB"]
    (f,) = pool.findings
    assert f.cell == "Pool!C3" and f.value == look_alike
    assert "bedoelt u CJIB?" in f.message_nl and "did you mean CJIB?" in f.message_en


DUTCH = re.compile(r"\b(regel|regels|kolom|onbekende?|rij|rijen|leeg|bijv|vul|geen|lid|blad)\b", re.IGNORECASE)
ENGLISH = re.compile(r"\b(line|lines|column|unknown|row|rows|empty|enter|member|sheet|the)\b", re.IGNORECASE)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_english_messages_have_no_dutch_words_and_dutch_ones_no_english(ws, fmt):
    rows = [person(person_id="P0", naam="Thijs Bos")]
    for i, (column, value, _, _) in enumerate(CASES):
        rows.append(person(**{"person_id": f"E{i:02d}", "naam": "Thijs Bos", column: value}))
    rows += [
        person(person_id="P0", naam="Thijs Bos", dagen_per_jaar=80),
        person(person_id="W1", org_code="TSL", actief_vanaf=2019),
    ]
    write_pool(pool_file(ws, fmt), rows)
    (ws.root / "data" / ("pool.csv" if fmt == "xlsx" else "ignored.csv")).write_text("x", "utf-8")
    pool = load_pool(ws)
    rules = {f.rule for f in pool.findings}
    assert {"unique", "unusual", "membership_partial"} <= rules and (fmt == "csv" or "pool_two_files" in rules)
    for f in pool.findings:
        # the values as typed and the column names are left out: they are the user's words and the file's
        en = f.message_en.replace(f"'{f.value}'", "''") if f.value else f.message_en
        nl = f.message_nl.replace(f"'{f.value}'", "''") if f.value else f.message_nl
        assert not DUTCH.search(en), f.message_en
        assert not ENGLISH.search(nl), f.message_nl
    assert all(line.startswith(("fout: ", "waarschuwing: ")) for line in findings_text(pool.findings))
    assert all(line.startswith(("error: ", "warning: ")) for line in findings_text(pool.findings, "en"))


def test_duplicate_person_id_names_both_rows_and_excludes_them(ws):
    write_pool(
        pool_file(ws, "xlsx"),
        [person(), person(person_id="P002"), person(person_id="p001", naam="Bas Smit")],
    )
    pool = load_pool(ws)
    assert list(pool.people["person_id"]) == ["P002"]
    dups = of_rule(pool, "unique")
    assert [f.cell for f in dups] == ["Pool!A2", "Pool!A4"]
    assert all("(rijen 2 en 4)" in f.message_nl and "(rows 2 and 4)" in f.message_en for f in dups)
    assert [f.value for f in dups] == ["P001", "p001"]

    pool_file(ws, "xlsx").unlink()
    write_pool(pool_file(ws, "csv"), [person(), person()])
    dups = of_rule(load_pool(ws), "unique")
    assert [f.cell for f in dups] == ["pool.csv, regel 2, kolom person_id", "pool.csv, regel 3, kolom person_id"]
    assert "(regels 2 en 3)" in dups[0].message_nl and "(lines 2 and 3)" in dups[0].message_en


def test_rows_with_only_warnings_stay_in_the_pool(ws):
    write_pool(
        pool_file(ws, "xlsx"),
        [
            person(dagen_per_jaar=80),
            person(person_id="P002", org_code="TSL", actief_vanaf=2019),
            person(person_id="P003", dagen_per_jaar=300),
        ],
    )
    pool = load_pool(ws)
    assert list(pool.people["person_id"]) == ["P001", "P002"]
    unusual, partial, out_of_range = pool.findings
    assert (unusual.severity, unusual.rule, unusual.cell) == ("warning", "unusual", "Pool!G2")
    assert "ongebruikelijk veel" in unusual.message_nl and "blijft in de pool" in unusual.message_nl
    assert (partial.severity, partial.rule, partial.cell) == ("warning", "membership_partial", "Pool!I3")
    assert "TSL is lid vanaf 2021" in partial.message_nl
    # 300 days is out of range: an error, and not also 'unusual'
    assert (out_of_range.severity, out_of_range.rule, out_of_range.cell) == ("error", "range", "Pool!G4")
    assert pool.n_errors == 1


def test_a_formula_is_read_as_its_value_with_a_warning(ws):
    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.title = "Pool"
    sheet.append(list(POOL_COLUMNS))
    sheet.append(["P001", "Sanne de Vries", "CJIB", "coach", "ict", None, "=10+2", 1, 2024])
    wb.save(pool_file(ws, "xlsx"))
    pool = load_pool(ws)  # openpyxl stores no calculated value: the cell reads as empty
    assert [(f.severity, f.rule, f.cell) for f in pool.findings] == [
        ("error", "required", "Pool!G2"),
        ("warning", "formula", "Pool!G2"),
    ]


# ------------------------------------------------------------------ the file as a whole


def test_both_files_present_is_an_error_naming_the_one_to_remove(ws):
    write_pool(pool_file(ws, "xlsx"), [person()])
    write_pool(pool_file(ws, "csv"), [person(), person(person_id="P002")])
    pool = load_pool(ws)
    (f,) = pool.findings
    assert (f.severity, f.rule) == ("error", "pool_two_files")
    assert "Verwijder data/pool.csv" in f.message_nl and "Remove data/pool.csv" in f.message_en
    assert pool.path == pool_file(ws, "xlsx") and list(pool.people["person_id"]) == ["P001"]


def test_wrong_sheet_name_says_which_sheets_there_are(ws):
    wb = openpyxl.Workbook()
    wb.active.title = "Blad1"
    wb.create_sheet("Uitleg")
    wb.save(pool_file(ws, "xlsx"))
    pool = load_pool(ws)
    (f,) = pool.findings
    assert (f.severity, f.rule, f.cell) == ("error", "pool_sheet_missing", "pool.xlsx")
    assert "het werkboek heeft de bladen 'Blad1' en 'Uitleg'" in f.message_nl
    assert "the workbook has the sheets 'Blad1' and 'Uitleg'" in f.message_en
    assert pool.people.empty


def test_sheet_name_is_matched_without_case_and_spaces(ws):
    write_pool(pool_file(ws, "xlsx"), [person()])
    wb = openpyxl.load_workbook(pool_file(ws, "xlsx"))
    wb["Pool"].title = "POOL "
    wb.save(pool_file(ws, "xlsx"))
    pool = load_pool(ws)
    assert pool.findings == [] and len(pool.people) == 1


def test_missing_columns(ws):
    header = [c for c in POOL_COLUMNS if c not in ("org_code", "actief_tot")] + ["opmerking"]
    pool_file(ws, "csv").write_text(";".join(header) + "\nP001;Sanne;coach;ict;lean;12;1;2024;x\n", "utf-8")
    pool = load_pool(ws)
    assert [(f.severity, f.rule, f.field) for f in pool.findings] == [
        ("error", "pool_column_missing", "org_code"),
        ("warning", "pool_column_missing", "actief_tot"),
        ("warning", "pool_column_unknown", None),
    ]
    assert "de verplichte kolom 'org_code' ontbreekt" in pool.findings[0].message_nl
    assert pool.findings[2].cell == "pool.csv, regel 1, kolom opmerking"
    assert pool.people.empty  # without org_code nobody can be used

    header = [c for c in POOL_COLUMNS if c != "actief_tot"]
    pool_file(ws, "csv").write_text(";".join(header) + "\nP001;Sanne;CJIB;coach;ict;lean;12;1;2024\n", "utf-8")
    pool = load_pool(ws)
    assert [(f.severity, f.field) for f in pool.findings] == [("warning", "actief_tot")]
    assert pool.people.iloc[0]["active_to"] is None


def test_header_in_another_case_and_order(ws):
    header = ["Naam", " PERSON_ID ", *POOL_COLUMNS[2:]]
    pool_file(ws, "csv").write_text(";".join(header) + "\nSanne;P001;CJIB;coach;ict;;12;1;2024;\n", "utf-8")
    pool = load_pool(ws)
    assert pool.findings == [] and pool.people.iloc[0]["name"] == "Sanne"


@pytest.mark.parametrize(
    ("name", "content", "rule"),
    [
        ("pool.csv", b"", "pool_file_empty"),
        ("pool.csv", b"\xef\xbb\xbf \r\n\r\n", "pool_file_empty"),
        ("pool.xlsx", b"", "pool_file_empty"),
        ("pool.xlsx", b"PK\x03\x04 this is not a workbook" * 20, "file_not_xlsx"),
        ("pool.csv", b"\x00\x01\x02\xff" * 100, "pool_file_encoding"),
        ("pool.csv", b"person_id;naam\n" + b"x" * (5 * 1024 * 1024), "pool_file_too_large"),
    ],
)
def test_empty_and_unreadable_files_give_one_error(ws, name, content, rule):
    (ws.root / "data" / name).write_bytes(content)
    pool = load_pool(ws)
    assert [(f.severity, f.rule) for f in pool.findings] == [("error", rule)]
    assert pool.findings[0].cell == name and pool.findings[0].message_nl.startswith(name)
    assert pool.people.empty and pool.path == ws.root / "data" / name


def test_header_only_is_a_pool_without_people(ws):
    write_pool(pool_file(ws, "csv"), [])
    pool = load_pool(ws)
    assert [(f.severity, f.rule) for f in pool.findings] == [("warning", "pool_no_people")]


def test_zip_bomb_is_refused(ws):
    write_pool(pool_file(ws, "xlsx"), [person()])
    with zipfile.ZipFile(pool_file(ws, "xlsx"), "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/image1.bin", b"\0" * (8 << 20))
    pool = load_pool(ws)
    assert [(f.severity, f.rule) for f in pool.findings] == [("error", "file_zip_bomb")]
    assert pool.people.empty


def test_external_links_are_refused(ws):
    write_pool(pool_file(ws, "xlsx"), [person()])
    with zipfile.ZipFile(pool_file(ws, "xlsx"), "a") as zf:
        zf.writestr(
            "xl/externalLinks/externalLink1.xml",
            '<?xml version="1.0" encoding="UTF-8"?><externalLink '
            'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>',
        )
    pool = load_pool(ws)
    assert [(f.severity, f.rule) for f in pool.findings] == [("error", "pool_file_external_links")]


def test_fifo_and_link_are_not_read(ws, tmp_path):
    os.mkfifo(pool_file(ws, "csv"))  # reading would wait for a writer forever
    pool = load_pool(ws)
    assert [(f.severity, f.rule) for f in pool.findings] == [("error", "pool_file_special")]
    assert "named pipe" in pool.findings[0].message_en
    pool_file(ws, "csv").unlink()

    target = write_pool(tmp_path / "elsewhere.xlsx", [person()])
    os.symlink(target, pool_file(ws, "xlsx"))
    pool = load_pool(ws)
    assert [(f.severity, f.rule) for f in pool.findings] == [("error", "file_link")]
    assert pool.people.empty


def test_a_broken_quote_in_a_csv_is_a_finding(ws):
    header = ";".join(POOL_COLUMNS)
    big = "x" * 200_000  # longer than the csv module's field limit
    pool_file(ws, "csv").write_text(f'{header}\nP001;"{big}";CJIB\n', "utf-8")
    pool = load_pool(ws)
    assert [(f.rule, f.cell) for f in pool.findings] == [("pool_file_csv", "pool.csv, regel 2")]
