"""``rbb package``: one archive per member, holding nothing about another member, verifiable and reproducible."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
import shutil
import zipfile
from pathlib import Path
from urllib.parse import unquote

import duckdb
import openpyxl
import pytest
from click.testing import CliRunner
from workspaces import copy_workspace

from pipeline.cli import main
from pipeline.core.workspace import Workspace
from pipeline.cycle.package import CURRENT, NOTE, SUMS, PackageError, package
from pipeline.metadata.lineage import Lineage
from pipeline.metadata.registry import load_organisations, registry

YEAR = 2025
WORD = re.compile(r"[\w&-]+")
SUM_LINE = re.compile(r"^\s*([0-9a-f]{64})  (\S+)$", re.MULTILINE)
BUNDLE = re.compile(r"<script>\s*/\*\*\s*\* plotly\.js v.*?</script>", re.DOTALL)
# images and the XLSX downloads (whose cells are those of the CSV downloads, which are read)
BASE64 = re.compile(r"data:[a-z]+/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=]+")


def _copy(demo_workspace: Workspace, root: Path, reports: bool = True) -> Workspace:
    """A workspace holding a copy of the demo warehouse, register and (optionally) the year's reports."""
    ws = copy_workspace(demo_workspace, root)
    shutil.copy2(demo_workspace.root / "data" / "organisations.csv", ws.root / "data" / "organisations.csv")
    if reports:
        shutil.copytree(demo_workspace.reports / str(YEAR), ws.reports / str(YEAR))
    return ws


@pytest.fixture(scope="module")
def ws(demo_workspace, tmp_path_factory) -> Workspace:
    """The copy with DUO's English report rebuilt here and SVB's English report removed, so one archive holds
    both languages and one lacks one."""
    from pipeline import report

    ws = _copy(demo_workspace, tmp_path_factory.mktemp("package"))
    report.run(ws, YEAR, org="DUO", lang="en")
    (ws.reports / str(YEAR) / "organisations" / "SVB.en.html").unlink(missing_ok=True)
    return ws


@pytest.fixture(scope="module")
def archives(ws) -> list[Path]:
    return package(ws, YEAR)


def _files(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _text(name: str, content: bytes) -> str:
    """What a reader of the file sees: the text of a page (without the plotly.js bundle), a CSV, a workbook's cells."""
    if name.endswith(".xlsx"):
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        cells = [str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row]
        return "\n".join(c for c in cells if c != "None")
    text = content.decode("utf-8-sig")
    if name.endswith(".html"):
        text = BASE64.sub("", BUNDLE.sub("", text))
        text = unquote(html.unescape(text))  # entity-encoded text and the data: URIs of the CSV downloads
    return text


def _csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def _xlsx_rows(content: bytes) -> dict[str, list[dict]]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    out = {}
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        out[sheet.title] = [dict(zip(rows[0], r)) for r in rows[1:]] if rows else []
    return out


def _own_codes(me: str, orgs) -> set[str]:
    """The member and the codes that stood for it in other years (a report may name its own predecessors)."""
    lin = Lineage.of(orgs)
    return {me} | {c for y in range(2000, 2031) for c in lin.codes(me, y)}


@pytest.fixture(scope="module")
def values(ws) -> dict[str, list[float]]:
    """Every member's indicator values (and their numerators and denominators) of the year."""
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        rows = con.execute(
            "SELECT org_code, value, numerator, denominator FROM indicator_values WHERE year = ?", [YEAR]
        ).fetchall()
    finally:
        con.close()
    out: dict[str, list[float]] = {}
    for code, *numbers in rows:
        out.setdefault(code, []).extend(x for x in numbers if x is not None)
    return out


@pytest.fixture(scope="module")
def catalogue(ws) -> list[str]:
    """The indicator catalogue's wording, the same in every report ("... (CBS definition)" names a source)."""
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        rows = con.execute(
            "SELECT description, caveat, description_nl, description_en, formula_nl, formula_en, caveat_nl, "
            "caveat_en FROM indicator_catalogue"
        ).fetchall()
    finally:
        con.close()
    return sorted({t for r in rows for t in r if t}, key=len, reverse=True)


def leaks(me: str, files: dict[str, bytes], orgs, values: dict[str, list[float]], catalogue: list[str]) -> list[str]:
    """Everything in one member's archive that is about another member (outside the indicator catalogue)."""
    found = []
    own = _own_codes(me, orgs)
    others = [o for o in orgs if o.org_code not in own]
    own_values = set(values.get(me, []))
    # another member's value as the CSV writes it (repr, decimal comma) and as the workbook stores it; values
    # with few decimals are left out, a count or a round amount in the member's own data may equal them
    foreign = {
        v for code, vs in values.items() if code not in own for v in vs if round(v, 3) != v and v not in own_values
    }
    foreign_csv = {repr(v).replace(".", ",") for v in foreign}
    for name, content in sorted(files.items()):
        if me not in name and not name.startswith(("data/", "assets/")) and name not in (NOTE, SUMS):
            found.append(f"{name}: a file that is not the member's")
        text = _text(name, content)
        for t in catalogue:
            text = text.replace(t, " ")
        words = set(WORD.findall(text))
        for o in others:
            if o.name in text:
                found.append(f"{name} names {o.name}")
            for token in {o.org_code, o.abbreviation} - {""}:
                hit = (
                    token in words
                    if WORD.fullmatch(token)
                    else re.search(rf"(?<![\w&-]){re.escape(token)}(?![\w&-])", text)
                )
                if hit:
                    found.append(f"{name} mentions {token}")
        if name.endswith(".csv"):
            rows = _csv_rows(content)
            found += [f"{name}: a row of {r['org_code']}" for r in rows if r.get("org_code", me) != me]
            cells = {c.strip('"') for line in content.decode("utf-8-sig").splitlines() for c in line.split(";")}
            found += [f"{name}: value {c} of another member" for c in sorted(cells & foreign_csv)]
        if name.endswith(".xlsx"):
            for sheet, rows in _xlsx_rows(content).items():
                found += [f"{name}/{sheet}: a row of {r['org_code']}" for r in rows if r.get("org_code", me) != me]
                numbers = {v for r in rows for v in r.values() if isinstance(v, float)}
                found += [f"{name}/{sheet}: value {v} of another member" for v in sorted(numbers & foreign)]
    return found


def test_every_member_of_the_year_gets_one_archive(ws, archives):
    members = sorted(o.org_code for o in load_organisations(ws.root) if o.is_member(YEAR))
    assert [p.name for p in archives] == [f"{c}_{YEAR}.zip" for c in members]
    assert {p.parent for p in archives} == {ws.reports / str(YEAR) / "packages" / CURRENT}
    assert not list(archives[0].parent.glob(".*tmp-*")), "a temporary file was left behind"


def test_no_archive_holds_anything_about_another_member(ws, archives, values, catalogue):
    orgs = load_organisations(ws.root)
    checked_data = 0
    for path in archives:
        me = path.name.split("_")[0]
        files = _files(path)
        assert leaks(me, files, orgs, values, catalogue) == [], path.name
        checked_data += f"data/{me}_{YEAR}.xlsx" in files
    assert checked_data >= 20  # the members with an accepted submission


def test_the_leak_check_finds_another_members_rows(ws, archives, values, catalogue):
    """The check above can fail: another member's data rows and name in an archive are found."""
    orgs = load_organisations(ws.root)
    duo = _files(ws.reports / str(YEAR) / "packages" / CURRENT / "DUO_2025.zip")
    svb = _files(ws.reports / str(YEAR) / "packages" / CURRENT / "SVB_2025.zip")
    tampered = dict(duo)
    tampered["data/indicator_values.csv"] = svb["data/indicator_values.csv"]
    tampered["organisations/DUO.html"] = duo["organisations/DUO.html"] + b"<p>Vergelijk met SVB</p>"
    found = leaks("DUO", tampered, orgs, values, catalogue)
    assert any("a row of SVB" in f for f in found)
    assert any("of another member" in f for f in found)
    assert any("mentions SVB" in f for f in found)


def test_an_archive_holds_the_members_reports_feedback_and_data(ws, archives):
    files = _files(ws.reports / str(YEAR) / "packages" / CURRENT / "DUO_2025.zip")
    source = ws.reports / str(YEAR)
    assert files["organisations/DUO.html"] == (source / "organisations" / "DUO.html").read_bytes()
    assert files["organisations/DUO.en.html"] == (source / "organisations" / "DUO.en.html").read_bytes()
    feedback = sorted(p.name for p in (source / "validation").glob("DUO_v*.html"))
    assert feedback and sorted(n.split("/")[1] for n in files if n.startswith("validation/")) == feedback
    sheets = {s.code for s in registry().sheet_level}
    assert {n for n in files if n.endswith(".csv")} == {f"data/{s}.csv" for s in sheets | {"indicator_values"}}
    assert set(_xlsx_rows(files["data/DUO_2025.xlsx"])) == sheets | {"indicator_values"}
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        sid, n_products = con.execute(
            "SELECT s.submission_id, count(p.source_row) FROM submissions s JOIN f_producten p USING (submission_id) "
            "WHERE s.org_code = 'DUO' AND s.year = ? AND s.in_force GROUP BY 1",
            [YEAR],
        ).fetchone()
    finally:
        con.close()
    products = _csv_rows(files["data/producten.csv"])
    assert len(products) == n_products and {r["submission_id"] for r in products} == {str(sid)}
    note = files[NOTE].decode("utf-8")
    assert note.index("Organisatie: Dienst Uitvoering Onderwijs (DUO)") < note.index("Organisation: Dienst")
    assert "actuele stand, geen release" in note and "current results, not a release" in note
    assert "Ontbreekt:" not in note  # both languages are there


def test_a_missing_language_and_missing_data_are_named(ws, archives):
    files = _files(ws.reports / str(YEAR) / "packages" / CURRENT / "SVB_2025.zip")
    assert "organisations/SVB.html" in files and "organisations/SVB.en.html" not in files
    note = files[NOTE].decode("utf-8")
    assert "organisations/SVB.en.html: het Engelse rapport is er (nog) niet" in note
    assert "organisations/SVB.en.html: the English report does not exist (yet)" in note
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        without = [
            r[0]
            for r in con.execute(
                "SELECT o.org_code FROM organisations o WHERE NOT EXISTS (SELECT 1 FROM submissions s "
                "WHERE s.org_code = o.org_code AND s.year = ? AND s.in_force) ORDER BY 1",
                [YEAR],
            ).fetchall()
        ]
    finally:
        con.close()
    members = {o.org_code for o in load_organisations(ws.root) if o.is_member(YEAR)}
    without = [c for c in without if c in members]
    assert without, "the demo has members without an accepted submission"
    for code in without:
        files = _files(ws.reports / str(YEAR) / "packages" / CURRENT / f"{code}_{YEAR}.zip")
        assert not [n for n in files if n.startswith("data/")]
        assert f"Geen geaccepteerde levering voor {YEAR}" in files[NOTE].decode("utf-8")
        assert f"No accepted delivery for {YEAR}" in files[NOTE].decode("utf-8")


def test_checksums_match_and_archives_are_reproducible(ws, archives):
    before = {p: p.read_bytes() for p in archives}
    for path in before:
        files = _files(path)
        assert list(files) == sorted(files)
        others = {n: hashlib.sha256(c).hexdigest() for n, c in files.items() if n not in (NOTE, SUMS)}
        in_note = {(name, digest) for digest, name in SUM_LINE.findall(files[NOTE].decode("utf-8"))}
        assert in_note == set(others.items()), path.name  # named in both halves, the same set
        in_sums = {(name, digest) for digest, name in SUM_LINE.findall(files[SUMS].decode("utf-8"))}
        assert in_sums == set(others.items()) | {(NOTE, hashlib.sha256(files[NOTE]).hexdigest())}
        assert files[SUMS].decode("utf-8").count("\n") == len(others) + 1  # sha256sum format: one line per file
    again = package(ws, YEAR)
    assert again == archives
    assert all(p.read_bytes() == before[p] for p in again), "a second run gave different archives"


# ------------------------------------------------------------------------------------------ releases


@pytest.fixture(scope="module")
def release_ws(demo_workspace, tmp_path_factory) -> Workspace:
    """A workspace holding a release 2025.1 (as ``pipeline/cycle/releases.py`` lays it out) but no live reports;
    since the release DUO's submission was withdrawn and its frozen report differs from what it would be now."""
    ws = _copy(demo_workspace, tmp_path_factory.mktemp("release"), reports=False)
    folder = ws.processed / "releases" / "2025.1"
    shutil.copytree(demo_workspace.reports / str(YEAR), folder / "reports", ignore=shutil.ignore_patterns("packages"))
    report = folder / "reports" / "organisations" / "DUO.html"
    report.write_bytes(report.read_bytes() + b"<!-- frozen in release 2025.1 -->\n")
    con = duckdb.connect(str(ws.db_path))
    try:
        subs = con.execute(
            "SELECT org_code, submission_id, version, sha256 FROM submissions WHERE year = ? AND in_force "
            "AND org_code <> 'BD' ORDER BY 1",
            [YEAR],
        ).fetchall()
        con.execute("UPDATE submissions SET in_force = false WHERE org_code = 'DUO' AND year = ?", [YEAR])
    finally:
        con.close()
    manifest = {
        "release_id": "2025.1",
        "year": YEAR,
        "created_at": "2026-06-15T10:00:00",
        "submissions": [{"org_code": c, "submission_id": s, "version": v, "sha256": h} for c, s, v, h in subs],
        "note": "an extra key the package ignores",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    other = ws.processed / "releases" / "2024.1"
    other.mkdir(parents=True)
    (other / "reports").mkdir()
    (other / "manifest.json").write_text(json.dumps({**manifest, "release_id": "2024.1", "year": 2024}), "utf-8")
    return ws


def test_a_release_package_takes_the_releases_reports_and_submissions(release_ws):
    paths = package(release_ws, YEAR, release="2025.1")
    folder = release_ws.reports / str(YEAR) / "packages" / "2025.1"
    assert {p.parent for p in paths} == {folder} and (folder / "DUO_2025_2025.1.zip") in paths
    files = _files(folder / "DUO_2025_2025.1.zip")
    frozen = release_ws.processed / "releases" / "2025.1" / "reports"
    assert files["organisations/DUO.html"] == (frozen / "organisations" / "DUO.html").read_bytes()
    assert files["organisations/DUO.html"].endswith(b"<!-- frozen in release 2025.1 -->\n")
    manifest = json.loads((frozen.parent / "manifest.json").read_text("utf-8"))
    sid = next(e["submission_id"] for e in manifest["submissions"] if e["org_code"] == "DUO")
    for name in ("data/organisatie.csv", "data/producten.csv", "data/indicator_values.csv"):
        rows = _csv_rows(files[name])
        assert rows and {r["submission_id"] for r in rows} == {str(sid)}, name
    note = files[NOTE].decode("utf-8")
    assert "Release: 2025.1" in note and "2026-06-15 (datum van release 2025.1)" in note
    with zipfile.ZipFile(folder / "DUO_2025_2025.1.zip") as zf:
        assert {i.date_time for i in zf.infolist()} == {(2026, 6, 15, 0, 0, 0)}
    # BD is not in the release: its release package holds no data, though the warehouse has BD's submission
    bd = _files(folder / "BD_2025_2025.1.zip")
    assert not [n for n in bd if n.startswith("data/")]
    assert "Geen geaccepteerde levering in release 2025.1" in bd[NOTE].decode("utf-8")


def test_without_reports_the_package_says_to_run_rbb_report(release_ws):
    with pytest.raises(PackageError, match=r"rbb report --year 2025.*--lang en"):
        package(release_ws, YEAR)
    assert not (release_ws.reports / str(YEAR) / "packages" / CURRENT).exists()


def test_cli_unknown_release_year_mismatch_and_unknown_org_fail(release_ws):
    runner = CliRunner()
    base = ["package", "--root", str(release_ws.root), "--year", str(YEAR)]
    for extra, expected in (
        (["--release", "2099.9"], "unknown release '2099.9'"),
        (["--release", "../2025.1"], "unknown release"),
        (["--release", "2024.1"], "release 2024.1 is for reporting year 2024, not 2025"),
        (["--release", "2025.1", "--org", "XYZ"], "unknown organisation code 'XYZ'"),
    ):
        result = runner.invoke(main, base + extra)
        assert result.exit_code != 0, extra
        said = " ".join((result.stdout + result.stderr).split())
        assert expected in said and "Traceback" not in said, (extra, said)
    result = runner.invoke(main, [*base, "--release", "2025.1", "--org", "duo"])
    assert result.exit_code == 0, result.output
    assert "1 package written" in result.output
