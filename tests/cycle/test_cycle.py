"""The secretariat's annual cycle: review, sign-off, releases, diff, run log and the stale-result guard.

The session's demo plays a whole round of its last year (first deliveries with planted faults, corrected
re-deliveries, an explanation returned and explained again, sign-off, release 2025.1, a late correction, release
2025.2); these tests check that round and, on copies of it, what an analyst does next."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from inprocess import rbb

from pipeline import compute
from pipeline.core.workspace import Workspace
from pipeline.cycle import releases
from pipeline.demo.data import MISSING_ORG, WEAK_EXPLANATION, planted_faults
from pipeline.metadata.registry import load_organisations
from pipeline.validate import review

YEAR = 2025


def _con(ws: Workspace, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(ws.db_path), read_only=read_only)


def workspace_copy(src: Workspace, root: Path) -> Workspace:
    """A copy of the demo workspace to change: its own warehouse; settings, register, releases, reports and
    the inbox hard-linked (rbb only ever replaces files there, never writes into one)."""
    ws = Workspace.at(root).ensure()
    shutil.copy2(src.db_path, ws.db_path)
    for name in ("organisations.csv", "settings.yaml", "methods.yaml"):
        shutil.copy2(src.root / "data" / name, ws.root / "data" / name)
    for sub in (Path("data/processed/releases"), Path("data/processed/inbox"), Path("reports")):
        if (src.root / sub).exists():
            shutil.rmtree(ws.root / sub, ignore_errors=True)
            shutil.copytree(src.root / sub, ws.root / sub, copy_function=os.link)
    return ws


def tree_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def late_corrector(ws: Workspace) -> str:
    with _con(ws) as con:
        row = con.execute(
            "SELECT org_code FROM submissions WHERE year = ? AND original_name LIKE '%_correctie%'", [YEAR]
        ).fetchone()
    assert row is not None, "the demo has a late correction"
    return row[0]


# ------------------------------------------------------------------------------------- the demo round


def test_demo_round_ends_with_every_member_in_the_benchmark_and_two_releases(demo_workspace):
    ws = demo_workspace
    members = sorted(o.org_code for o in load_organisations(ws.root) if o.is_member(YEAR))
    with _con(ws) as con:
        in_benchmark = {
            r[0]
            for r in con.execute("SELECT DISTINCT org_code FROM indicator_values WHERE year = ?", [YEAR]).fetchall()
        }
        states = review.member_states(con, members, YEAR)
        listed = releases.list_releases(con, YEAR)
    assert in_benchmark == set(members) - {MISSING_ORG}
    assert set(states.loc[states["state"] == "signed_off", "org_code"]) == set(members) - {MISSING_ORG}
    assert states.set_index("org_code").at[MISSING_ORG, "state"] == "missing"
    assert list(listed["release_id"]) == [f"{YEAR}.1", f"{YEAR}.2"]
    for rid in listed["release_id"]:
        assert releases.verify(ws, rid) == []
        m = releases.manifest(ws, rid)
        assert {s["org_code"] for s in m["submissions"]} == set(members) - {MISSING_ORG}
        assert m["not_included"] == [{"org_code": MISSING_ORG, "state": "missing"}]
        # the frozen reports carry their release id
        page = (releases.release_dir(ws, rid) / "reports" / "index.html").read_text("utf-8")
        assert f"Release {rid}" in page


def test_every_rejected_member_was_corrected_by_a_new_delivery(demo_workspace):
    errors = {f["org_code"] for f in planted_faults(2025, [2023, 2024, 2025]) if f["severity"] == "error"}
    with _con(demo_workspace) as con:
        rows = con.execute(
            "SELECT org_code, version, status, in_force FROM submissions WHERE year = ? ORDER BY org_code, version",
            [YEAR],
        ).fetch_df()
    for org in errors:
        mine = rows[rows["org_code"] == org]
        assert mine.iloc[0]["status"] == "rejected", org
        assert bool(mine.iloc[-1]["in_force"]) and mine.iloc[-1]["status"] != "rejected", org


def test_review_history_holds_a_returned_explanation_that_the_next_feedback_page_shows(demo_workspace):
    ws = demo_workspace
    with _con(ws) as con:
        h = review.history(con, YEAR)
        returned = con.execute(
            "SELECT org_code, version, note FROM reviews WHERE year = ? AND decision = 'returned'", [YEAR]
        ).fetchall()
        later = con.execute(
            "SELECT max(version) FROM submissions WHERE org_code = ? AND year = ?", [returned[0][0], YEAR]
        ).fetchone()[0]
        warnings = review.warnings_frame(con, YEAR, returned[0][0])
    assert {"accepted", "returned", "signed_off"} <= set(h["what"])
    assert len({(o, v) for o, v, _ in returned}) == 1, "one explanation is returned"
    org, version, note = returned[0]
    assert later > version
    # the returned explanation and the analyst's note are on the member's next feedback page
    page = (ws.reports / str(YEAR) / "validation" / f"{org}_v{later}.html").read_text("utf-8")
    assert "Teruggestuurde toelichtingen" in page and note.split(":")[0] in page and WEAK_EXPLANATION in page
    # and the new explanation of the version in force was accepted
    assert set(warnings["status"]) == {"accepted"}


def test_diff_names_the_corrected_member_and_the_values_that_moved(demo_workspace):
    ws = demo_workspace
    org = late_corrector(ws)
    table, summary = releases.diff(ws, f"{YEAR}.1", f"{YEAR}.2")
    assert [s["org_code"] for s in summary["submissions_changed"]] == [org]
    own = table[table["org_code"] == org]
    assert "tijdig_beslist_pct" in set(own.loc[own["changed"].str.contains("value"), "indicator_code"])
    assert set(own["cause"]) == {f"submission: {org} v1 → v2"}
    peers = table[table["org_code"] != org]
    assert not peers["changed"].str.contains("value").any(), "only the corrected member's values move"
    assert set(peers["cause"]) <= {f"peers: {org}"}
    # the values in the diff are those of the two releases' frozen tables
    for rid, col in ((f"{YEAR}.1", "value_before"), (f"{YEAR}.2", "value_after")):
        con = releases.open_release(ws, rid)
        try:
            v = con.execute(
                "SELECT value FROM indicator_values WHERE org_code = ? AND indicator_code = 'tijdig_beslist_pct'",
                [org],
            ).fetchone()[0]
        finally:
            con.close()
        assert own.set_index("indicator_code").at["tijdig_beslist_pct", col] == pytest.approx(v)
    page = ws.reports / str(YEAR) / "releases" / f"diff_{YEAR}.1_{YEAR}.2.html"
    assert org in page.read_text("utf-8")


# ------------------------------------------------------------------------------ immutability, staleness


def test_a_release_never_changes_after_a_recomputation_with_another_register(demo_workspace, tmp_path):
    ws = workspace_copy(demo_workspace, tmp_path / "ws")
    folder = releases.release_dir(ws, f"{YEAR}.1")
    before = tree_hashes(folder)
    con = releases.open_release(ws, f"{YEAR}.1")
    try:
        frozen = con.execute("SELECT * FROM benchmark_stats ORDER BY ALL").fetch_df()
    finally:
        con.close()
    # a member changes cluster: a new computation and new reports change the current results ...
    register = ws.root / "data" / "organisations.csv"
    lines = register.read_text("utf-8").splitlines()
    header = lines[0].split(",")
    ci = header.index("cluster")
    row = next(i for i, line in enumerate(lines[1:], 1) if line.split(",")[0] == late_corrector(ws))
    cells = lines[row].split(",")
    cells[ci] = "registreren" if cells[ci] != "registreren" else "uitkeren"
    lines[row] = ",".join(cells)
    register.write_text("\n".join(lines) + "\n", "utf-8")
    assert rbb("report", "--root", str(ws.root), "--year", str(YEAR)).returncode != 0  # stale: register changed
    compute.run(ws)
    proc = rbb("report", "--root", str(ws.root), "--year", str(YEAR))
    assert proc.returncode == 0, proc.stderr
    with _con(ws) as con:
        now = con.execute("SELECT * FROM benchmark_stats WHERE year = ? ORDER BY ALL", [YEAR]).fetch_df()
    assert not now.equals(frozen)
    assert f"Release {YEAR}" not in (ws.reports / str(YEAR) / "index.html").read_text("utf-8")
    # ... and the release is exactly as it was
    assert tree_hashes(folder) == before
    assert releases.verify(ws, f"{YEAR}.1") == []
    # a tampered release is found
    victim = next(p for p in sorted(folder.rglob("*.html")))
    victim.unlink()
    victim.write_text("<html>changed</html>", "utf-8")
    assert releases.verify(ws, f"{YEAR}.1") == [f"changed: {victim.relative_to(folder)}"]
    proc = rbb("release", "--root", str(ws.root), "--verify", f"{YEAR}.1")
    assert proc.returncode != 0 and "not intact" in proc.stderr


def _new_version(ws: Workspace, org: str) -> Path:
    """The member's last demo delivery with one value changed, as a new workbook in data/raw."""
    from conftest import DEMO_SEED, DEMO_YEARS

    from pipeline.demo.data import generate_rounds
    from pipeline.ingest.template import write_workbook

    _, later = generate_rounds(DEMO_SEED, DEMO_YEARS, load_organisations(ws.root))
    d = next(d for d in later if d.org_code == org and d.round == 4)
    sheets = {k: v.copy() for k, v in d.sheets.items()}
    sheets["organisatie"].loc[0, "gem_personeelsleden"] = int(sheets["organisatie"].loc[0, "gem_personeelsleden"]) + 7
    target = ws.raw / str(YEAR) / org / f"{org}_benchmark_{YEAR}_v3.xlsx"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_workbook(target, YEAR, org, data=sheets, sheets=list(sheets))
    return target


def test_report_and_export_refuse_stale_results_after_an_ingest_without_compute(demo_workspace, tmp_path):
    ws = workspace_copy(demo_workspace, tmp_path / "ws")
    org = late_corrector(ws)
    _new_version(ws, org)
    proc = rbb("ingest", "--root", str(ws.root), "--year", str(YEAR))
    assert proc.returncode == 0, proc.stderr
    with _con(ws) as con:
        version = con.execute(
            "SELECT version FROM submissions WHERE org_code = ? AND year = ? AND in_force", [org, YEAR]
        ).fetchone()[0]
    assert version == 3
    for args in (("report", "--year", str(YEAR)), ("export", "--year", str(YEAR))):
        proc = rbb(*args, "--root", str(ws.root))
        assert proc.returncode != 0, args
        assert "Traceback" not in proc.stderr
        assert "rbb compute" in proc.stderr and f"{org} {YEAR}: version 3 is now in force instead of version 2" in (
            " ".join(proc.stderr.split())
        )
    # the release cannot be made either, and after compute the report names the submission its values use
    assert releases.readiness(_con(ws), ws, YEAR)
    compute.run(ws)
    proc = rbb("report", "--root", str(ws.root), "--year", str(YEAR), "--org", org)
    assert proc.returncode == 0, proc.stderr
    page = (ws.reports / str(YEAR) / "organisations" / f"{org}.html").read_text("utf-8")
    assert "versie 3" in page


# ------------------------------------------------------------------------------------------ review rules


def _finding(con, severity: str, **where) -> str:
    sql = "SELECT org_code, year, version, seq FROM findings WHERE severity = ? AND year = ?"
    params: list = [severity, YEAR]
    for k, v in where.items():
        sql += f" AND {k} = ?"
        params.append(v)
    o, y, v, s = con.execute(sql + " ORDER BY submission_id, seq LIMIT 1", params).fetchone()
    return review.finding_id(o, y, v, s)


def test_review_decisions_follow_the_rules_and_keep_their_history(demo_workspace, tmp_path):
    ws = workspace_copy(demo_workspace, tmp_path / "ws")
    con = _con(ws, read_only=False)
    try:
        error = _finding(con, "error")
        with pytest.raises(review.ReviewError, match="errors are never accepted"):
            review.decide(con, [error], "accept", "ok", "tester")
        info = _finding(con, "info")
        with pytest.raises(review.ReviewError, match="needs no decision"):
            review.decide(con, [info], "accept", None, "tester")
        with pytest.raises(review.ReviewError, match="not a finding id"):
            review.decide(con, ["NVWA-25-1"], "accept", None, "tester")
        # a signed-off member's warnings cannot be decided on until the sign-off is withdrawn
        w = review.warnings_frame(con, YEAR)
        target = w[w["status"] == "accepted"].iloc[0]
        with pytest.raises(review.ReviewError, match="signed off"):
            review.decide(con, [target.finding_id], "return", "waarom?", "tester")
        review.sign_off(con, target.org_code, YEAR, "tester", withdraw=True)
        with pytest.raises(review.ReviewError, match="needs a note"):
            review.decide(con, [target.finding_id], "return", "", "tester")
        review.decide(con, [target.finding_id], "return", "Licht de stijging toe.", "tester")
        states = review.member_states(con, [target.org_code], YEAR).iloc[0]
        assert states["state"] == "findings_open" and states["returned"] >= 1
        with pytest.raises(review.ReviewError, match="cannot be signed off"):
            review.sign_off(con, target.org_code, YEAR, "tester")
        h = review.history(con, YEAR, target.org_code)
        assert list(h["what"])[-2:] == ["withdrawn", "returned"], h.tail(4).to_string()
        assert (h["what"] == "accepted").any(), "the earlier acceptance stays in the history"
    finally:
        con.close()


def test_bulk_review_from_a_filled_in_sheet_is_all_or_nothing(demo_workspace, tmp_path):
    ws = workspace_copy(demo_workspace, tmp_path / "ws")
    con = _con(ws, read_only=False)
    try:
        w = review.warnings_frame(con, YEAR)
        orgs = list(dict.fromkeys(w["org_code"]))[:2]
        for org in orgs:
            review.sign_off(con, org, YEAR, "tester", withdraw=True)
    finally:
        con.close()
    out = tmp_path / "review.xlsx"
    proc = rbb("review", "--root", str(ws.root), "--year", str(YEAR), "--all", "--export", str(out))
    assert proc.returncode == 0, proc.stderr
    sheet = pd.read_excel(out, dtype=str, keep_default_na=False)
    mine = sheet[sheet["organisatie"].isin(orgs)].copy()
    assert len(mine) >= 2
    mine["beslissing"] = "terug"
    mine["notitie"] = "Graag een toelichting met bedragen."
    bad = mine.copy()
    bad.iloc[0, bad.columns.get_loc("beslissing")] = "misschien"
    bad_path = tmp_path / "bad.xlsx"
    bad.to_excel(bad_path, index=False)
    with _con(ws) as con:
        before = con.execute("SELECT count(*) FROM reviews").fetchone()[0]
    proc = rbb("review", "--root", str(ws.root), "apply", str(bad_path), "--by", "analist")
    assert proc.returncode != 0 and "nothing recorded" in proc.stderr and "line 2" in proc.stderr
    with _con(ws) as con:
        assert con.execute("SELECT count(*) FROM reviews").fetchone()[0] == before
    good = tmp_path / "good.csv"
    mine.to_csv(good, sep=";", index=False, encoding="utf-8-sig")
    proc = rbb("review", "--root", str(ws.root), "apply", str(good), "--by", "analist")
    assert proc.returncode == 0, proc.stderr
    with _con(ws) as con:
        after = con.execute("SELECT reviewer, decision FROM reviews WHERE review_id > ?", [before]).fetchall()
        st = review.warnings_frame(con, YEAR)
    assert after == [("analist", "returned")] * len(mine)
    assert set(st[st["org_code"].isin(orgs)]["status"]) == {"returned"}
    # the feedback pages of those members show the return
    for org in orgs:
        version = int(st[st["org_code"] == org]["version"].iloc[0])
        page = (ws.reports / str(YEAR) / "validation" / f"{org}_v{version}.html").read_text("utf-8")
        assert "teruggestuurd" in page and "Graag een toelichting met bedragen." in page


def test_a_decision_carries_over_to_a_new_version_with_the_same_explanation_only():
    key = review.finding_key
    assert key("yoy", "organisatie", "fte", "10", "fusie") == key("yoy", "organisatie", "fte", "10", "fusie")
    assert key("yoy", "organisatie", "fte", "10", "fusie") != key("yoy", "organisatie", "fte", "10", "fusie 2024")
    assert key("yoy", "organisatie", "fte", "10", None) != key("yoy", "organisatie", "fte", "11", None)


# ------------------------------------------------------------------------------------------ run log


def test_every_command_that_writes_records_a_run(demo_workspace, tmp_path):
    ws = workspace_copy(demo_workspace, tmp_path / "ws")
    org = late_corrector(ws)
    commands = [
        (("compute",), "ok"),
        (("report", "--year", str(YEAR), "--org", org), "ok"),
        (("export", "--year", str(YEAR)), "ok"),
        (("export", "--year", str(YEAR), "--release", f"{YEAR}.1"), "ok"),
        (("signoff", "--year", str(YEAR), "--org", org), "refused"),  # already signed off
        (("release", "--year", str(YEAR)), "refused"),  # nothing changed since 2025.2
        (("diff", f"{YEAR}.1", f"{YEAR}.2"), "ok"),
        (("package", "--year", str(YEAR), "--org", org, "--release", f"{YEAR}.2"), "ok"),
    ]
    for args, _ in commands:
        rbb(*args, "--root", str(ws.root))
    with _con(ws) as con:
        runs = con.execute(
            "SELECT command, outcome, arguments, counts, methods_sha256, register_sha256, package_version, "
            "duration_s FROM runs ORDER BY run_id DESC LIMIT ?",
            [len(commands)],
        ).fetchall()[::-1]
    assert [(r[0], r[1]) for r in runs] == [(a[0], o) for a, o in commands]
    for command, _, arguments, _counts, methods, register, version, duration in runs:
        assert methods and register and version and duration >= 0, command
        assert isinstance(json.loads(arguments), dict)
    counts = {r[0]: json.loads(r[3] or "{}") for r in runs if r[1] == "ok"}
    assert counts["compute"]["indicator_values"] > 0 and counts["report"]["files"] > 0
    assert counts["package"]["packages"] == 1
    # the release's export carries its id and its frozen values
    exported = pd.read_csv(
        ws.processed / "exports" / str(YEAR) / f"{YEAR}.1" / "indicators.csv",
        sep=";",
        decimal=",",
        dtype={"release_id": str},
    )
    assert set(exported["release_id"]) == {f"{YEAR}.1"}
    proc = rbb("log", "--root", str(ws.root), "--limit", "3")
    assert proc.returncode == 0 and "package" in proc.stdout


def test_status_shows_the_to_do_and_who_is_late_against_the_calendar(demo_workspace):
    proc = rbb("status", "--root", str(demo_workspace.root), "--year", str(YEAR), "--on", f"{YEAR + 1}-04-01")
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())
    assert "signed off: " in out and "not received: 1" in out
    assert f"Deadlines {YEAR}: delivery {YEAR + 1}-03-15" in out and out.endswith("; 1 late")
    with duckdb.connect(str(demo_workspace.db_path), read_only=True) as con:
        from pipeline.core.settings import load_settings
        from pipeline.validate.status import cycle_table

        table = cycle_table(
            con,
            load_organisations(demo_workspace.root),
            YEAR,
            load_settings(demo_workspace.root).deadlines(YEAR),
            dt.date(YEAR + 1, 4, 1),
        )
    late = table[table["late"] != ""]
    assert list(late["org_code"]) == [MISSING_ORG] and late["late"].iloc[0].startswith("delivery late")
    assert table.set_index("org_code").at[MISSING_ORG, "to_do"] == "member: deliver"
    proc = rbb("status", "--root", str(demo_workspace.root), "--year", str(YEAR), "--on", f"{YEAR + 1}-03-01")
    assert " ".join(proc.stdout.split()).endswith("; 0 late")
