"""Template versions as data: older templates read through their column map into the same warehouse values."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipeline.core.workspace import Workspace
from pipeline.demo.data import generate, write_csv_folder
from pipeline.ingest.batch import Item
from pipeline.ingest.readers import read_submission
from pipeline.ingest.template import frames_as_version, write_workbook
from pipeline.ingest.versions import detect
from pipeline.metadata.models import MetadataError
from pipeline.metadata.registry import load_organisations, load_registry, registry
from pipeline.validate import run as ingest
from pipeline.validate.validator import Validator

ROOT = Path(__file__).resolve().parents[2]
YEAR = 2025
VERSIONS = ["2025.1", "2024.1", "2023.1"]


@pytest.fixture(scope="module")
def clean_delivery():
    """One clean demo delivery (no planted fault) of the last year."""
    orgs = [o for o in load_organisations() if o.is_member(YEAR)][:12]
    return next(d for d in generate(2025, [2024, 2025], orgs=orgs) if d.fault is None and d.year == YEAR)


def _yaml_with(tmp_path: Path, block: str) -> Path:
    text = (ROOT / "pipeline/metadata/submission.yaml").read_text("utf-8")
    head = text.split("template_versions:")[0]
    path = tmp_path / "submission.yaml"
    path.write_text(head + "template_versions:\n" + block, "utf-8")
    return path


def test_shipped_registry_declares_three_versions_with_rename_addition_removal():
    reg = registry()
    versions = {v.version: v for v in reg.template_versions}
    assert set(VERSIONS) <= set(versions)
    assert versions[reg.version].current and not versions[reg.version].changes
    changes = [ch for v in versions.values() for ch in v.changes.values()]
    assert any(ch.renamed for ch in changes) and any(ch.added for ch in changes) and any(ch.removed for ch in changes)
    assert reg.version_for_year(2022).version == "2023.1"
    assert reg.version_for_year(2024).version == "2024.1"
    assert reg.version_for_year(2025).current


def test_map_with_unknown_field_fails_at_load(tmp_path):
    path = _yaml_with(
        tmp_path,
        '  - {version: "2025.1", years: [2025]}\n'
        '  - version: "2024.1"\n    years: [2024]\n    changes:\n'
        "      organisatie: {renamed: {kosten_extern: kosten_extern_nieuw}, added: [geen_veld]}\n",
    )
    with pytest.raises(MetadataError) as exc:
        load_registry(path)
    msg = str(exc.value)
    assert "kosten_extern_nieuw" in msg and "geen_veld" in msg and "2024.1" in msg and "unknown field code" in msg


@pytest.mark.parametrize(
    "block, expected",
    [
        ('  - {version: "2024.1", years: [2024], changes: {organisatie: {added: [fte_totaal]}}}\n', "not declared"),
        (
            '  - {version: "2025.1", years: [2025]}\n'
            '  - {version: "2024.1", years: [2024], changes: {organisatie: {removed: [fte_totaal]}}}\n',
            "is a current field code",
        ),
        (
            '  - {version: "2025.1", years: [2025]}\n'
            '  - {version: "2024.1", years: [2025], changes: {producten: {added: [n_klachten]}}}\n',
            "year 2025 is already declared",
        ),
        ('  - {version: "2025.1", years: [2025]}\n  - {version: "2024.1", years: [2024]}\n', "needs `changes`"),
        (
            '  - {version: "2025.1", years: [2025]}\n'
            '  - {version: "2024.1", years: [2024], changes: {bestaat_niet: {added: [n_klachten]}}}\n',
            "unknown sheet 'bestaat_niet'",
        ),
    ],
)
def test_malformed_version_maps_are_named(tmp_path, block, expected):
    with pytest.raises(MetadataError, match=expected):
        load_registry(_yaml_with(tmp_path, block))


def test_template_of_an_older_version_writes_its_columns_and_stamp(tmp_path):
    import openpyxl

    wb = openpyxl.load_workbook(write_workbook(tmp_path / "t.xlsx", 2023, "DUO", template_version="2023.1"))
    codes = [c.value for c in wb["Organisatie"][3]]
    assert "kosten_extern" in codes and "ktv_respons" in codes and "fte_inhuur" in codes
    assert "kosten_inhuur" not in codes and "n_uitstroom_pensioen" not in codes
    stamp = {r[0].value: r[1].value for r in wb["Instructies"].iter_rows(min_row=1, max_row=12) if r[0].value}
    assert stamp["Registerversie"] == "2023.1"


def _write_all(clean_delivery, tmp_path: Path) -> dict[tuple[str, str], tuple[str, Path]]:
    """The same delivery as a workbook and as a CSV folder of every version, each under its own member."""
    members = sorted(o.org_code for o in load_organisations() if o.is_member(YEAR) and o.org_code != "LBIO")
    ws = Workspace.at(tmp_path / "ws").ensure()
    out = {}
    i = 0
    for version in VERSIONS:
        for fmt in ("xlsx", "csv"):
            org = members[i]
            i += 1
            sheets = {k: v.copy() for k, v in clean_delivery.sheets.items()}
            sheets["organisatie"]["org_code"] = org
            folder = ws.raw / str(YEAR) / org
            folder.mkdir(parents=True)
            if fmt == "xlsx":
                path = write_workbook(folder / f"{org}.xlsx", YEAR, org, data=sheets, template_version=version)
            else:
                path = folder / f"{org}_csv"
                old = sheets if version == registry().version else frames_as_version(registry(), sheets, version)
                write_csv_folder(path, old)
            out[(version, fmt)] = (org, path)
    return ws, out


def test_every_version_reads_into_the_same_warehouse_values(clean_delivery, tmp_path):
    ws, made = _write_all(clean_delivery, tmp_path)
    results = {r.org_code: r for r in ingest(ws, YEAR)}
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        subs = {
            r[0]: r[1:]
            for r in con.execute("SELECT org_code, status, template_version, n_errors FROM submissions").fetchall()
        }
        facts = {}
        for sheet in ("organisatie", "producten", "kanalen", "enquete"):
            df = con.execute(f"SELECT * FROM f_{sheet}").fetch_df()
            cols = [c for c in df.columns if c not in ("submission_id", "org_code", "source_row")]
            facts[sheet] = {
                org: g[cols].sort_values(cols[:3]).reset_index(drop=True) for org, g in df.groupby("org_code")
            }
        findings = con.execute("SELECT org_code, rule, severity, message_nl, message_en FROM findings").fetchall()
    finally:
        con.close()
    current_org = made[("2025.1", "xlsx")][0]
    for (version, fmt), (org, _) in made.items():
        status, read_as, n_errors = subs[org]
        assert status in ("accepted", "accepted_with_warnings"), (version, fmt, results[org].findings)
        assert n_errors == 0
        assert read_as == version, (version, fmt)
        mine = [f for f in findings if f[0] == org]
        assert not any(f[1] == "column_unknown" for f in mine), (version, fmt)
        for sheet, by_org in facts.items():
            got, want = by_org[org].copy(), by_org[current_org].copy()
            if version != "2025.1" and sheet == "organisatie":
                # not asked in the older versions: empty, everything else identical
                assert got["n_uitstroom_pensioen"].isna().all()
                got, want = got.drop(columns="n_uitstroom_pensioen"), want.drop(columns="n_uitstroom_pensioen")
            assert got.equals(want) or got.fillna(-1).equals(want.fillna(-1)), (version, fmt, sheet)
        if version == "2025.1":
            assert not any(f[1] == "template_version" for f in mine)
            continue
        info = [f for f in mine if f[1] == "template_version"]
        assert len(info) == 1 and info[0][2] == "info"
        assert f"Gelezen als sjabloonversie {version}" in info[0][3]
        assert "kolom kosten_extern heet nu kosten_inhuur" in info[0][3]
        assert f"Read as template version {version}" in info[0][4]
        # a workbook is recognised by its stamp, a CSV folder by its headers
        assert ("registerversie" in info[0][3]) == (fmt == "xlsx")
        assert any(f[1] == "field_not_asked" and "n_uitstroom_pensioen" in f[3] for f in mine)
        if version == "2023.1":
            assert any(f[1] == "column_removed" and "fte_inhuur" in f[3] for f in mine)
            assert "kolom ktv_respons heet nu ktv_respondenten" in info[0][3]


def _split_registry(tmp_path: Path):
    """A registry whose older version had one age column for 35 and over (now two fields) and did not ask the
    required field n_ziekmeldingen."""
    return load_registry(
        _yaml_with(
            tmp_path,
            '  - {version: "2025.1", years: [2025]}\n'
            '  - version: "2022.1"\n    years: [2022]\n    changes:\n'
            "      organisatie:\n"
            "        split: {n_leeftijd_35plus: [n_leeftijd_35_54, n_leeftijd_55plus]}\n"
            "        added: [n_ziekmeldingen]\n",
        )
    )


def test_split_and_added_required_field(clean_delivery, tmp_path):
    reg = _split_registry(tmp_path)
    sheets = {k: v.copy() for k, v in clean_delivery.sheets.items()}
    org = sheets["organisatie"]
    total = float(org["n_leeftijd_35_54"].iloc[0] + org["n_leeftijd_55plus"].iloc[0])
    path = write_workbook(
        tmp_path / "old.xlsx", YEAR, clean_delivery.org_code, data=sheets, reg=reg, template_version="2022.1"
    )
    raw = read_submission(path, reg)
    assert raw.template_version == "2022.1"
    rs = raw.sheets["organisatie"]
    assert rs.split == {"n_leeftijd_35plus": ("n_leeftijd_35_54", "n_leeftijd_55plus")}
    assert set(rs.not_asked) == {"n_ziekmeldingen", "n_leeftijd_55plus"}
    assert float(rs.rows[0][1]["n_leeftijd_35_54"]) == total, "the old total is read into the first field"
    item = Item(key=0, raw=raw, expected_org=None, expected_year=None)
    Validator(reg, [o.org_code for o in load_organisations()]).validate([item])
    assert item.n_errors == 0, [f.message_en for f in item.findings if f.severity == "error"]
    rules = {f.rule for f in item.findings}
    assert {"template_version", "column_split", "field_not_asked"} <= rules
    assert "column_missing" not in rules
    # without the map (only the current version declared) the same workbook lacks required columns
    bare = load_registry(_yaml_with(tmp_path, '  - {version: "2025.1", years: [2025]}\n'))
    item = Item(key=0, raw=read_submission(path, bare), expected_org=None, expected_year=None)
    Validator(bare, [o.org_code for o in load_organisations()]).validate([item])
    assert {"n_ziekmeldingen", "n_leeftijd_55plus"} <= {f.field for f in item.findings if f.rule == "column_missing"}


def test_detection_by_headers_says_when_it_is_unsure():
    reg = registry()
    org = reg.sheet("organisatie")
    codes = org.field_codes
    # only columns every version shares: a tie, read as the newest, and said so
    shared = [c for c in codes if c not in ("kosten_inhuur", "ktv_respondenten", "n_uitstroom_pensioen")]
    det = detect(reg, None, {"organisatie": [shared[:5]]})
    assert det.tied and det.version.current
    # the old column set: 2023.1
    old = [
        {"kosten_inhuur": "kosten_extern", "ktv_respondenten": "ktv_respons"}.get(c, c)
        for c in codes
        if c != "n_uitstroom_pensioen"
    ] + ["fte_inhuur"]
    assert detect(reg, None, {"organisatie": [old]}).version.version == "2023.1"
    # an unknown stamp: recognised from the headers, and the stamp reported
    det = detect(reg, "2019.3", {"organisatie": [old]})
    assert det.version.version == "2023.1" and det.stamp == "2019.3"
