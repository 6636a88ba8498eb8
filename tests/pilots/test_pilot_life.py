"""A pilot's life in the register (proposed -> chosen -> running -> evaluated), its teams and pages, and the
pool's personal data kept out of everything meant for members."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline import pilots
from pipeline.core.workspace import Workspace
from pipeline.pilots.page import teams_csv
from pipeline.pilots.pool import load_pool, write_pool
from pipeline.pilots.register import load_register, read_history, started
from pipeline.pilots.teams import TeamPilot, candidates_from_pool, default_team_config, propose_teams

YEAR = 2025
TIJDIG = "tijdig_beslist_pct"


def _person(pid, name, org, rollen, themas="tijdigheid", dagen=20, max_pilots=2, vanaf=2020, tot=""):
    return {
        "person_id": pid,
        "naam": name,
        "org_code": org,
        "rollen": rollen,
        "themas": themas,
        "methoden": "procesanalyse",
        "dagen_per_jaar": dagen,
        "max_pilots": max_pilots,
        "actief_vanaf": vanaf,
        "actief_tot": tot,
    }


@pytest.fixture()
def ws(tmp_path) -> Workspace:
    ws = Workspace.at(tmp_path).ensure()
    write_pool(
        tmp_path / "data" / "pool.xlsx",
        [
            _person("P001", "Anna de Vries", "SVB", "coach"),
            _person("P002", "Bram Jansen", "DUO", "onderzoeker"),
            _person("P003", "Carla Bakker", "UWV", "coach; onderzoeker"),
            _person("P004", "Dirk Smit", "RDW", "onderzoeker", tot="2021"),
        ],
    )
    return ws


def test_a_pilot_goes_from_chosen_to_running_to_evaluated_with_its_history(ws):
    chosen = pilots.choose(ws, 2024, "uwv", TIJDIG, "svb", note="DB maart", by="Secretaris", on=dt.date(2025, 3, 12))
    assert chosen["pilot_id"] == f"2024-UWV-{TIJDIG}" and chosen["status"] == "chosen"
    register, problems = load_register(ws)
    assert problems == [] and register.loc[0, "start_year"] is None and register.loc[0, "round_year"] == 2024
    assert started(register).empty  # a chosen pilot is not followed up yet
    with pytest.raises(ValueError, match="only a running pilot can be closed"):
        pilots.close(ws, chosen["pilot_id"], "klaar")
    with pytest.raises(ValueError, match="already in the register"):
        pilots.choose(ws, 2024, "UWV", TIJDIG, "SVB")
    # P003 works for UWV itself, P004 is no longer active, P002 is no coach
    for team, message in (
        ("P003:coach;P002:onderzoeker", "works for UWV, the pilot organisation itself"),
        ("P001:coach;P004:onderzoeker", "P004 is not active in the pool in 2025"),
        ("P002:coach", "P002 does not offer to be a coach"),
        ("P009:coach", "P009 is not in the pool"),
        ("P001:leider", "must read PERSON_ID:coach or PERSON_ID:onderzoeker"),
    ):
        with pytest.raises(ValueError, match=re.escape(message)):
            pilots.start(ws, chosen["pilot_id"], 2025, team)
    with pytest.raises(ValueError, match="no team proposed"):
        pilots.start(ws, chosen["pilot_id"], 2025)  # no round page with a proposed team
    running = pilots.start(ws, chosen["pilot_id"], 2025, "P001:coach;P002:onderzoeker", on=dt.date(2025, 9, 1))
    assert running["status"] == "running" and running["team"] == "P001:coach;P002:onderzoeker"
    with pytest.raises(ValueError, match="only a chosen pilot can start"):
        pilots.start(ws, chosen["pilot_id"], 2025, "P001:coach")
    with pytest.raises(ValueError, match="the outcome is empty"):
        pilots.close(ws, chosen["pilot_id"], "  ")
    with pytest.raises(ValueError, match="unknown pilot 'nope'"):
        pilots.close(ws, "nope", "x")
    pilots.close(ws, chosen["pilot_id"], "=Doorlooptijd 10% korter", "Dagstart werkt", on=dt.date(2026, 2, 1))
    register, _ = load_register(ws)
    rec = register.iloc[0]
    assert rec["status"] == "evaluated" and rec["start_year"] == 2025
    assert rec["outcome"] == "'=Doorlooptijd 10% korter"  # a formula is stored as text
    assert len(started(register)) == 1
    history = read_history(ws)
    assert history[["from_status", "to_status", "on"]].values.tolist() == [
        ["proposed", "chosen", "2025-03-12"],
        ["chosen", "running", "2025-09-01"],
        ["running", "evaluated", "2026-02-01"],
    ]
    assert history.loc[0, "by"] == "Secretaris"


def test_the_older_register_form_is_read_as_running_pilots(ws):
    path = ws.root / "data" / "pilots_register.csv"
    path.write_text(f"org_code;indicator_code;partner_org_code;start_year;note\nUWV;{TIJDIG};SVB;2024;oud\n", "utf-8")
    register, problems = load_register(ws)
    assert problems == []
    rec = register.iloc[0]
    assert (rec["pilot_id"], rec["status"], rec["start_year"], rec["round_year"]) == (
        f"2024-UWV-{TIJDIG}",
        "running",
        2024,
        None,
    )


def test_start_takes_the_team_proposed_in_its_round(ws):
    pool = load_pool(ws)
    people = candidates_from_pool(pool.active(2025))
    teams = propose_teams([TeamPilot(1, "CJIB", TIJDIG, "tijdigheid", "SVB")], people, default_team_config(), 2024)
    (ws.reports / "2024").mkdir(parents=True)
    (ws.reports / "2024" / "pilot_teams.csv").write_text(teams_csv(teams), "utf-8")
    chosen = pilots.choose(ws, 2024, "CJIB", TIJDIG, "SVB")
    running = pilots.start(ws, chosen["pilot_id"], 2025)
    proposed = teams.dropna(subset=["person_id"])
    assert running["team"] == ";".join(f"{p}:{r}" for p, r in zip(proposed["person_id"], proposed["role"]))
    assert "P004" not in running["team"]  # inactive in 2025


def test_a_pilot_chosen_in_this_round_stays_on_its_shortlist_and_an_earlier_one_is_excluded():
    register = pd.DataFrame(
        [
            {"org_code": "UWV", "indicator_code": TIJDIG, "round_year": 2025, "start_year": None, "status": "chosen"},
            {"org_code": "CJIB", "indicator_code": TIJDIG, "round_year": 2024, "start_year": 2025, "status": "running"},
        ]
    )
    from pipeline.pilots import selection

    reg = selection._registered(register, 2025)
    assert ("UWV", TIJDIG) not in reg and reg[("CJIB", TIJDIG)] == [("start 2025", "start 2025")]


# --------------------------------------------------------------------------------------------- the demo


@pytest.fixture(scope="module")
def demo(demo_workspace):
    return demo_workspace


def test_demo_has_a_pool_teams_and_pilots_in_every_stage(demo):
    pool = load_pool(demo)
    assert pool.n_errors == 0 and 50 <= len(pool.people) <= 70
    register, problems = load_register(demo)
    assert problems == []
    stages = register["status"].value_counts().to_dict()
    assert stages.get("evaluated", 0) >= 2 and stages.get("running", 0) >= 1 and stages.get("chosen", 0) >= 1
    teams = pd.read_csv(demo.reports / str(YEAR) / "pilot_teams.csv", dtype=str, keep_default_na=False)
    for col in ("pilot_org_code", "indicator_code", "person_id", "role", "reason"):
        assert col in teams.columns
    filled = teams[teams["person_id"] != ""]
    assert len(filled) > 0 and (filled["person_org_code"] != filled["pilot_org_code"]).all()
    assert filled["reason"].str.startswith("gekozen om ").all()
    # a running pilot's team members are still in the pool and not from the pilot organisation
    people = pool.people.set_index("person_id")
    for rec in register[register["status"] != "chosen"].to_dict("records"):
        for part in rec["team"].split(";"):
            pid = part.split(":")[0]
            assert people.loc[pid, "org_code"] != rec["org_code"]
    for rec in register.to_dict("records"):
        page = demo.reports / str(YEAR) / "pilots" / f"{rec['pilot_id']}.html"
        html = page.read_text("utf-8")
        assert rec["org_code"] in html and "Geschiedenis" in html
        if rec["status"] != "chosen":
            assert 'class="chart-spec"' in html and "start pilot" in html
    html = (demo.reports / str(YEAR) / "pilots.html").read_text("utf-8")
    assert "Ontwikkelvragen" in html and "Voorgesteld team" in html and "Pilotregister" in html
    assert html.count('class="chart-spec"') >= stages.get("evaluated", 0) + stages.get("running", 0)


def _member_side_files(ws: Workspace) -> list[Path]:
    """Every file a member or an export can receive: reports (not the pilot pages), feedback, packages."""
    out = []
    for path in ws.reports.rglob("*"):
        if not path.is_file() or path.suffix not in (".html", ".csv", ".zip", ".txt", ".xlsx", ".json"):
            continue
        rel = path.relative_to(ws.reports).as_posix()
        if re.search(r"(^|/)(pilots[^/]*\.(html|csv)|pilot_teams\.csv|pilots/|downloads/pilots)", rel):
            continue
        out.append(path)
    return out


def _texts(path: Path) -> list[str]:
    data = path.read_bytes()
    if path.suffix in (".zip", ".xlsx"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return [zf.read(n).decode("utf-8", "replace") for n in zf.namelist()]
    return [data.decode("utf-8", "replace")]


def test_personal_data_stays_out_of_member_reports_exports_and_the_warehouse(demo, tmp_path):
    from pipeline.report.export import export

    pool = load_pool(demo)
    names = [n for n in pool.people["name"] if len(n) > 5]
    ids = list(pool.people["person_id"])
    assert names and ids
    # the scan can fail: the pilot pages do name people
    assert any(n in (demo.reports / str(YEAR) / "pilots.html").read_text("utf-8") for n in names)
    export(demo, YEAR, "xlsx", tmp_path / "export")
    export(demo, YEAR, "csv", tmp_path / "export-csv")
    files = _member_side_files(demo) + [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any("organisations" in p.as_posix() for p in files) and any(p.suffix == ".zip" for p in files)
    pattern = re.compile("|".join(re.escape(n) for n in names))
    id_pattern = re.compile(r"\b(" + "|".join(re.escape(i) for i in ids) + r")\b")
    for path in files:
        for text in _texts(path):
            hit = pattern.search(text)
            assert hit is None, (path, hit.group(0))
            assert id_pattern.search(text) is None, path
    con = duckdb.connect(str(demo.db_path), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        for table in tables:
            frame = con.execute(f'SELECT * FROM "{table}"').df()
            blob = json.dumps(frame.astype(str).values.tolist(), ensure_ascii=False)
            assert pattern.search(blob) is None, table
    finally:
        con.close()
