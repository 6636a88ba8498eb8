"""One workspace for every command: its organisation register and warehouse are what template, check and
compute use; ``rbb check --root`` runs the plausibility checks of ingest without writing anything."""

from __future__ import annotations

import csv
import shutil
from importlib import resources
from pathlib import Path

import duckdb
import pytest
from inprocess import rbb
from workspaces import copy_workspace

from pipeline.core.workspace import Workspace
from pipeline.ingest.readers import read_deliveries
from pipeline.metadata.registry import registry
from pipeline.validate import run as ingest

YEAR = 2025
NEW = "NWORG"


def _register_rows(root: Path | None = None) -> list[dict[str, str]]:
    if root is not None and (root / "data" / "organisations.csv").exists():
        text = (root / "data" / "organisations.csv").read_text("utf-8-sig")
    else:
        text = resources.files("pipeline.metadata").joinpath("organisations.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def _write_register(root: Path, rows: list[dict[str, str]]) -> None:
    path = root / "data" / "organisations.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _with_new_member(root: Path) -> None:
    rows = _register_rows(root)
    rows.append({**{k: "" for k in rows[0]}, "org_code": NEW, "name": "Nieuwe Organisatie", "abbreviation": NEW,
                 "cluster": rows[0]["cluster"], "size_class": "klein", "member_since": str(YEAR)})  # fmt: skip
    _write_register(root, rows)


# ------------------------------------------------------------------ template and check of a new member


def test_new_member_in_the_workspace_register_gets_a_template_and_can_check_it(tmp_path):
    ws = Workspace.at(tmp_path / "ws").ensure()
    _with_new_member(ws.root)
    out = tmp_path / f"{NEW}.xlsx"
    without = rbb("template", "--year", str(YEAR), "--org", NEW, "-o", str(out))
    assert (
        without.returncode == 1 and "unknown organisation code" in without.stderr and "Traceback" not in without.stderr
    )
    made = rbb("template", "--year", str(YEAR), "--org", NEW, "--root", str(ws.root), "-o", str(out))
    assert made.returncode == 0, made.stderr
    (raw,) = read_deliveries([out], registry())
    org_sheet = raw.sheets["organisatie"]
    assert [vals.get("org_code") for _, vals in org_sheet.rows] == [NEW]

    checked = rbb("check", "--root", str(ws.root), "--lang", "en", str(out))
    assert "Traceback" not in checked.stderr
    org_code_findings = [line for line in checked.stdout.splitlines() if "(org_code)" in line]
    assert org_code_findings == []  # the register of the workspace knows the new member
    loose = rbb("check", "--lang", "en", str(out))
    assert any("(org_code)" in line and "not an allowed value" in line for line in loose.stdout.splitlines())


# ------------------------------------------------------------------ compute syncs the register


def _con(ws: Workspace):
    return duckdb.connect(str(ws.db_path), read_only=True)


def test_cluster_change_in_the_register_counts_at_the_next_compute(demo_workspace, tmp_path):
    ws = copy_workspace(demo_workspace, tmp_path / "ws")
    con = _con(ws)
    org, old = con.execute(
        "SELECT o.org_code, o.cluster FROM organisations o JOIN submissions s USING (org_code) "
        "WHERE s.year = ? AND s.in_force ORDER BY o.org_code LIMIT 1",
        [YEAR],
    ).fetchone()
    before = con.execute(
        "SELECT scope, max(n) FROM benchmark_stats WHERE year = ? AND scope_kind = 'cluster' GROUP BY scope",
        [YEAR],
    ).fetchall()
    con.close()
    rows = _register_rows(None)
    new = next(r["cluster"] for r in rows if r["cluster"] != old)
    for r in rows:
        if r["org_code"] == org:
            r["cluster"] = new
    _write_register(ws.root, rows)

    done = rbb("compute", "--root", str(ws.root))
    assert done.returncode == 0, done.stderr
    con = _con(ws)
    assert con.execute("SELECT cluster FROM organisations WHERE org_code = ?", [org]).fetchone()[0] == new
    after = dict(
        con.execute(
            "SELECT scope, max(n) FROM benchmark_stats WHERE year = ? AND scope_kind = 'cluster' GROUP BY scope",
            [YEAR],
        ).fetchall()
    )
    con.close()
    assert after != dict(before)
    assert after.get(new, 0) == dict(before).get(new, 0) + 1


def test_invalid_register_stops_compute_with_a_message_and_keeps_the_results(demo_workspace, tmp_path):
    ws = copy_workspace(demo_workspace, tmp_path / "ws")
    rows = _register_rows(None)
    rows[0]["cluster"] = "geen_cluster"
    _write_register(ws.root, rows)
    con = _con(ws)
    before = con.execute("SELECT count(*), sum(value) FROM indicator_values").fetchone()
    con.close()
    done = rbb("compute", "--root", str(ws.root))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "organisatieregister is ongeldig" in done.stderr and "organisation register is invalid" in done.stderr
    assert "geen_cluster" in done.stderr
    con = _con(ws)
    assert con.execute("SELECT count(*), sum(value) FROM indicator_values").fetchone() == before
    con.close()


# ------------------------------------------------------------------ check --root runs the plausibility checks


def _accepted_csv_delivery(ws: Workspace) -> tuple[str, Path]:
    con = _con(ws)
    rows = con.execute(
        "SELECT s.org_code, s.original_name FROM submissions s WHERE s.year = ? AND s.fmt = 'csv' AND s.in_force "
        "AND s.n_errors = 0 AND EXISTS (SELECT 1 FROM submissions p WHERE p.org_code = s.org_code "
        "AND p.year = ? AND p.in_force) ORDER BY s.org_code",
        [YEAR, YEAR - 1],
    ).fetchall()
    con.close()
    for org, name in rows:
        src = ws.raw / str(YEAR) / org / name
        if src.is_dir() and (src / "organisatie.csv").exists():
            return org, src
    pytest.skip("the demo has no accepted CSV delivery with a previous year")


def _scale(folder: Path, field: str, factor: int) -> None:
    path = folder / "organisatie.csv"
    raw = path.read_bytes()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "cp1252"
    rows = list(csv.reader(raw.decode(encoding).splitlines(), delimiter=";"))
    j = rows[0].index(field)
    value = float(rows[1][j].replace(".", "").replace(",", "."))
    rows[1][j] = str(int(value * factor))
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=";", lineterminator="\r\n").writerows(rows)


def _yoy_lines(text: str) -> list[str]:
    return sorted(line.strip() for line in text.splitlines() if "against the previous year" in line)


def test_check_with_root_reports_the_yoy_warning_ingest_reports(demo_workspace, tmp_path):
    org, src = _accepted_csv_delivery(demo_workspace)
    jumped = tmp_path / "upload" / f"{org}_{YEAR}_jump"
    shutil.copytree(src, jumped)
    _scale(jumped, "apparaatskosten_totaal", 3)

    ws = copy_workspace(demo_workspace, tmp_path / "ws")
    before = ws.db_path.read_bytes()
    checked = rbb("check", "--root", str(ws.root), "--lang", "en", str(jumped))
    assert "Traceback" not in checked.stderr, checked.stderr
    yoy = _yoy_lines(checked.stdout)
    assert any("apparaatskosten_totaal" in line for line in yoy), checked.stdout
    assert "skipped" not in checked.stdout
    assert ws.db_path.read_bytes() == before  # nothing written
    assert not any(ws.inbox.rglob("*")) if ws.inbox.exists() else True

    # the same file delivered and ingested gives the same warning
    target = ws.raw / str(YEAR) / org / jumped.name
    shutil.copytree(jumped, target)
    (result,) = ingest(ws, YEAR)
    ingested = sorted(
        f"warning {f.where('en')}: {f.message_en}"
        for f in result.findings
        if f.rule == "yoy_change" and f.severity == "warning"
    )
    shown = sorted(" ".join(line.split()) for line in yoy)
    assert [" ".join(x.split()) for x in ingested] == shown

    loose = rbb("check", "--lang", "en", str(jumped))
    assert _yoy_lines(loose.stdout) == []
    assert "skipped:" in loose.stdout and "no workspace was given" in loose.stdout
    dutch = rbb("check", str(jumped))
    assert "overgeslagen:" in dutch.stdout and "geen werkmap opgegeven" in dutch.stdout


def test_check_in_a_workspace_without_warehouse_says_what_it_skipped(demo_workspace, tmp_path):
    _org, src = _accepted_csv_delivery(demo_workspace)
    ws = Workspace.at(tmp_path / "empty").ensure()
    checked = rbb("check", "--root", str(ws.root), "--lang", "en", str(src))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no warehouse yet" in checked.stdout
    assert not ws.db_path.exists()
