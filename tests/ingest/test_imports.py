"""``rbb import``: a long export with its own columns, codes and units becomes deliveries per organisation."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import pytest

from pipeline.ingest.imports import Cell, ImportProblem, combine, load_mapping
from pipeline.metadata.registry import load_organisations
from tests.inprocess import rbb

REGISTER = """org_code,name,abbreviation,cluster,size_class,member_since,member_until,predecessor_codes,successor_code,aliases
AAA,Agency Alpha,AA,uitkeren,klein,2020,,,,Agence Alpha;Alpha Agency
BBB,Bureau Beta,BB,registreren,klein,2020,,,,
"""

MAPPING = """
source: {encoding: utf-8-sig, delimiter: ",", quotechar: '"'}
organisation: dept
codes: {ND: onbekend, not_applicable: nvt, "": leeg}
column_codes: {web: {"-1": onbekend}}
filter: {kind: [svc]}
joins:
  std:
    file: standards.csv
    key: id
    filter: {type: [time]}
sheets:
  organisatie: {per: organisation}
  producten:
    fields:
      product_code: {column: id}
      product_naam: {column: name}
      n_aanvragen_digitaal: {column: online}
      n_aanvragen_totaal: {sum: [online, paper]}
      apparaatskosten_product: {column: cost_k, scale: 1000}
      n_besluiten_tijdig: {join: std, column: met, absent: nvt}
      n_besluiten: {join: std, column: total, absent: nvt}
  kanalen:
    per: organisation
    rows:
      - {kanaal: web, n_contacten: {column: web}}
"""

ROWS = [
    ["dept", "kind", "id", "name", "online", "paper", "cost_k", "web"],
    ["agency alpha", "svc", "a1", 'Permits, "fast"\nand more', "10", "5", "1.5", "100"],
    ["AGENCE  ALPHA", "svc", "a2", "Grants", "not_applicable", "7", "2", "50"],
    ["Alpha Agency", "svc", "a3", "Loans", "3", "ND", "ND", "not_applicable"],
    ["Agency Alpha", "other", "a4", "Not a service", "1", "1", "1", "1"],
    ["BB", "svc", "b1", "Registry", "4", "not_applicable", "0", "-1"],
    ["Gamma Office", "svc", "g1", "Unknown org", "1", "1", "1", "1"],
]
STANDARDS = [
    ["id", "type", "met", "total"],
    ["a1", "time", "8", "10"],
    ["a1", "time", "2", "5"],
    ["a1", "acces", "99", "1"],
    ["a2", "time", "ND", "4"],
]


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC).writerows(rows)
    return path


@pytest.fixture
def setup(tmp_path):
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    (ws / "data" / "organisations.csv").write_text(REGISTER, "utf-8")
    export = _write(tmp_path / "export.csv", ROWS)
    _write(tmp_path / "standards.csv", STANDARDS)
    mapping = tmp_path / "map.yaml"
    mapping.write_text(MAPPING, "utf-8")
    return ws, export, mapping


def _sheet(folder: Path, name: str) -> list[dict[str, str]]:
    text = (folder / f"{name}.csv").read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(text.decode("utf-8-sig").splitlines(keepends=True), delimiter=";"))


def test_combine_rules():
    n, nvt, unk = Cell(value=3), Cell(state="nvt"), Cell(state="onbekend")
    assert combine([n, Cell(value=4)]).value == 7
    assert combine([n, nvt]).value == 3  # a not-applicable part counts as 0
    assert combine([n, nvt], nvt="onbekend").state == "onbekend"
    assert combine([n, unk]).state == "onbekend"  # an unknown part makes the total unknown
    assert combine([n, unk], onbekend="zero").value == 3
    assert combine([nvt, nvt]).state == "nvt"
    assert combine([n, Cell(value="12a")]).value == "12a"  # kept so that validation names it


def test_register_aliases_are_optional():
    assert load_organisations(None)[0].aliases == ()


def test_import_writes_one_delivery_per_organisation(setup):
    ws, export, mapping = setup
    r = rbb("import", str(export), "--mapping", str(mapping), "--year", "2024", "--root", str(ws))
    assert "Traceback" not in r.stdout + r.stderr
    assert r.returncode == 1  # the unknown organisation is named, the others are written
    assert "Gamma Office" in r.stderr and "aliases" in r.stderr
    (a,) = (ws / "data" / "raw" / "2024" / "AAA").iterdir()
    (b,) = (ws / "data" / "raw" / "2024" / "BBB").iterdir()
    prods = {p["product_code"]: p for p in _sheet(a, "producten")}
    assert set(prods) == {"a1", "a2", "a3"}  # the filtered row is not there
    assert prods["a1"]["product_naam"] == 'Permits, "fast"\nand more'
    assert prods["a1"]["n_aanvragen_totaal"] == "15"
    assert prods["a1"]["apparaatskosten_product"] == "1500"
    assert (prods["a1"]["n_besluiten_tijdig"], prods["a1"]["n_besluiten"]) == ("10", "15")  # time standards only
    assert prods["a2"]["n_aanvragen_digitaal"] == "n.v.t."
    assert prods["a2"]["n_aanvragen_totaal"] == "7"
    assert (prods["a2"]["n_besluiten_tijdig"], prods["a2"]["n_besluiten"]) == ("onbekend", "4")
    assert prods["a3"]["n_aanvragen_totaal"] == "onbekend"
    assert prods["a3"]["n_besluiten"] == "n.v.t."  # no standard for the service
    assert prods["a3"]["n_instroom_zaken"] == "onbekend"  # a required field the export does not have
    (org,) = _sheet(a, "organisatie")
    assert (org["org_code"], org["jaar"], org["fte_totaal"]) == ("AAA", "2024", "onbekend")
    (web,) = _sheet(a, "kanalen")
    assert (web["kanaal"], web["n_contacten"]) == ("web", "150")  # 100 + 50 + n.v.t.
    assert _sheet(b, "kanalen")[0]["n_contacten"] == "onbekend"  # the column's own code -1
    # the same export again: the same folders, nothing new
    again = rbb("import", str(export), "--mapping", str(mapping), "--year", "2024", "--root", str(ws))
    assert "(0 new)" in again.stdout
    assert [p.name for p in (ws / "data" / "raw" / "2024" / "AAA").iterdir()] == [a.name]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda m: m.replace("organisation: dept", "organisation: [dept"), "not valid YAML"),
        (lambda m: m.replace("column: online}", "column: onlien}"), "onlien"),
        (lambda m: m.replace("n_aanvragen_digitaal:", "n_aanvragen_digitale:"), "n_aanvragen_digitale: unknown field"),
        (lambda m: m.replace("scale: 1000", "scael: 1000"), "scael: unknown key"),
        (lambda m: m.replace("sheets:", "sheet:"), "sheets: missing"),
        (lambda m: m.replace("file: standards.csv", "file: nothere.csv"), "nothere.csv does not exist"),
        (lambda m: m.replace("encoding: utf-8-sig", "encoding: klingon"), "unknown encoding"),
    ],
)
def test_user_mistakes_get_a_message(setup, change, expected):
    ws, export, mapping = setup
    mapping.write_text(change(MAPPING), "utf-8")
    r = rbb("import", str(export), "--mapping", str(mapping), "--year", "2024", "--root", str(ws))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert expected in r.stderr, r.stderr
    assert not (ws / "data" / "raw").exists() or not any((ws / "data" / "raw").rglob("*.csv"))


def test_missing_files(setup, tmp_path):
    ws, export, mapping = setup
    r = rbb("import", str(tmp_path / "none.csv"), "--mapping", str(mapping), "--year", "2024", "--root", str(ws))
    assert r.returncode == 1 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    r = rbb("import", str(export), "--mapping", str(tmp_path / "none.yaml"), "--year", "2024", "--root", str(ws))
    assert r.returncode == 1 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_mapping_model_names_the_key(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text(
        textwrap.dedent("""
        organisation: dept
        sheets:
          producten:
            fields:
              n_besluiten: {column: a, constant: 3}
        """),
        "utf-8",
    )
    with pytest.raises(ImportProblem, match=r"sheets\.producten\.fields\.n_besluiten.*exactly one"):
        load_mapping(p)
