"""Attacks on identity (issue 12, items 1 and 7): a delivery that claims to be another member, or a stray
delivery for a later year.

A member can put any code in its own file. The pipeline must compare a submission only with the history of
the organisation its delivery folder belongs to, and give a submission rejected for its identity no
plausibility output at all: otherwise the rejected member's feedback page prints another member's figures.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import hostile
import pytest
from inprocess import rbb

from pipeline.core.workspace import Workspace
from pipeline.metadata.registry import registry
from pipeline.report.feedback import render_feedback
from pipeline.validate import run as ingest
from pipeline.validate.assemble import fmt_en, fmt_nl

ATTACKER = "DUO"
YEAR = 2025


def _victim(con: duckdb.DuckDBPyConnection) -> str:
    """A member other than the attacker with accepted data in force in 2024 and 2025."""
    rows = con.execute(
        "SELECT org_code FROM submissions WHERE in_force AND year IN (2024, 2025) AND org_code <> ? "
        "GROUP BY org_code HAVING count(DISTINCT year) = 2 ORDER BY org_code = 'SVB' DESC, org_code",
        [ATTACKER],
    ).fetchall()
    assert rows, "the demo needs a member with accepted data in 2024 and 2025"
    return rows[0][0]


def _figures(con: duckdb.DuckDBPyConnection, org: str, year: int) -> set[str]:
    """The victim's submitted figures as they would be printed in a finding (Dutch and English formats)."""
    reg = registry()
    out: set[str] = set()
    for sheet in ("organisatie", "producten"):
        fields = [f.code for f in reg.sheet(sheet).fields if f.is_numeric]
        cur = con.execute(
            f"SELECT {', '.join(fields)} FROM f_{sheet} f JOIN submissions s USING (submission_id) "
            "WHERE s.in_force AND s.org_code = ? AND s.year = ?",
            [org, year],
        )
        for rec in cur.fetchall():
            for v in rec:
                if v is not None and abs(v) >= 1000:  # distinctive figures; small ones occur everywhere
                    out.update({fmt_nl(float(v)), fmt_en(float(v))})
    return out


def _attack_delivery(source: Path, claimed_org: str, claimed_year: int | None = None) -> hostile.Delivery:
    """The attacker's own delivery with another member's code in it and every number set to 1."""
    d = hostile.read_csv_delivery(source)
    reg = registry()
    for code, rows in d.items():
        numeric = {f.code for f in reg.sheet(code).fields if f.is_numeric}
        header = rows[0]
        for r in rows[1:]:
            for i, name in enumerate(header):
                if name in numeric and name != "jaar" and str(r[i]).strip():
                    r[i] = "1"
    hostile.set_cell(d, "organisatie", 0, "org_code", claimed_org)
    if claimed_year is not None:
        hostile.set_cell(d, "organisatie", 0, "jaar", str(claimed_year))
    return d


@pytest.fixture(scope="module")
def attacked(demo_workspace, tmp_path_factory):
    """A copy of the demo workspace with three new deliveries, ingested in one run:
    - ``data/raw/2025/DUO/claim``: DUO's delivery, its organisation sheet claiming the victim's code;
    - ``data/raw/2026/DUO/claim``: the same in a future year folder (year 2026 in the file);
    - ``data/raw/2026/DUO/own``: DUO's own code and year 2026, a delivery that is plausibility-checked against
      DUO's own history and no one else's."""
    root = tmp_path_factory.mktemp("identity")
    shutil.copytree(demo_workspace.root / "data", root / "data", symlinks=True)
    ws = Workspace.at(root).ensure()
    (source,) = [p for p in (ws.raw / str(YEAR) / ATTACKER).iterdir() if p.is_dir()]
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        victim = _victim(con)
        figures = {2024: _figures(con, victim, 2024), 2025: _figures(con, victim, 2025)}
        own = _figures(con, ATTACKER, 2025)
    finally:
        con.close()
    hostile.write_csv_delivery(ws.raw / "2025" / ATTACKER / "claim", _attack_delivery(source, victim))
    hostile.write_csv_delivery(ws.raw / "2026" / ATTACKER / "claim", _attack_delivery(source, victim, 2026))
    hostile.write_csv_delivery(ws.raw / "2026" / ATTACKER / "own", _attack_delivery(source, ATTACKER, 2026))
    results = {(r.year, r.name): r for r in ingest(ws)}
    assert set(results) == {(2025, "claim"), (2026, "claim"), (2026, "own")}
    return ws, victim, figures, own, results


def _feedback_pages(ws: Workspace, submission_id: int) -> str:
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        return render_feedback(con, submission_id, "nl") + render_feedback(con, submission_id, "en")
    finally:
        con.close()


def _leaked(text: str, figures: set[str]) -> set[str]:
    return {f for f in figures if re.search(rf"(?<![\d.,]){re.escape(f)}(?![\d]|[.,]\d)", text)}


@pytest.mark.parametrize("year", [2025, 2026])
def test_attack_1_wrong_code_delivery_shows_no_figures_of_the_member_it_claims(attacked, year):
    ws, victim, figures, _, results = attacked
    result = results[(year, "claim")]
    assert result.status == "rejected"
    assert result.org_code == ATTACKER, "recorded under the folder's organisation, not the file's claim"
    rules = {f.rule for f in result.findings}
    assert "org_mismatch" in rules
    assert not rules & {"yoy_change", "outlier"}, "no plausibility output for a submission rejected for identity"
    text = "\n".join(f"{f.message_nl}\n{f.message_en}\n{f.value}" for f in result.findings)
    text += _feedback_pages(ws, result.submission_id)
    for y in (2024, 2025):
        assert not _leaked(text, figures[y]), f"{victim} {y} figures in {ATTACKER}'s feedback"


def test_attack_1_own_delivery_is_still_checked_against_its_own_history(attacked):
    """The control: DUO's own delivery (every figure 1) gets year-on-year warnings that quote DUO's own
    previous figures, and nothing of the victim."""
    ws, victim, figures, own, results = attacked
    result = results[(2026, "own")]
    yoy = [f for f in result.findings if f.rule == "yoy_change"]
    assert yoy, [(f.rule, f.message_en) for f in result.findings]
    text = "\n".join(f"{f.message_nl}\n{f.message_en}" for f in result.findings)
    assert _leaked(text, own), "the year-on-year check quotes the member's own previous figures"
    assert not _leaked(text + _feedback_pages(ws, result.submission_id), figures[2025] - own)


def test_attack_1_identity_rejection_covers_year_and_code_errors():
    """A wrong year in the file, or an organisation code that is not valid, also counts as an identity
    rejection; an ordinary error (a typo in a number) does not."""
    from pipeline.core.findings import Finding
    from pipeline.ingest.batch import Item
    from pipeline.ingest.readers import RawSubmission
    from pipeline.validate.assemble import identity_rejected

    def item(*findings: Finding) -> Item:
        it = Item(key=0, raw=RawSubmission(fmt="csv"), expected_org="DUO", expected_year=2025)
        it.findings.extend(findings)
        return it

    assert identity_rejected(item(Finding("error", "year_mismatch", "x", "x", sheet="organisatie", field="jaar")))
    assert identity_rejected(item(Finding("error", "code_list", "x", "x", sheet="organisatie", field="org_code")))
    assert identity_rejected(item(Finding("error", "required", "x", "x", sheet="organisatie", field="jaar")))
    assert not identity_rejected(item(Finding("error", "type", "x", "x", sheet="organisatie", field="fte_totaal")))
    assert not identity_rejected(item(Finding("warning", "org_mismatch", "x", "x")))


def _rbb(*args: str, root: Path) -> subprocess.CompletedProcess:
    return rbb(*args, "--root", str(root))


def test_attack_7_stray_future_year_does_not_hijack_the_default_year(attacked):
    """Two rejected deliveries in data/raw/2026/: status and report still default to 2025, the latest year
    with accepted submissions, and status says that 2026 holds deliveries but nothing accepted."""
    ws, *_ = attacked
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        from pipeline.core.warehouse import default_year

        assert con.execute("SELECT max(year) FROM submissions").fetchone()[0] == 2026
        assert default_year(con) == 2025
    finally:
        con.close()
    status = _rbb("status", root=ws.root)
    assert status.returncode == 0, status.stderr
    out = " ".join(status.stdout.split())
    assert "Submissions 2025" in out
    assert "not received: 34" not in out
    assert re.search(r"2026: \d+ deliveries, none accepted", out), out
    report = _rbb("report", "--org", ATTACKER, root=ws.root)
    assert report.returncode == 0, report.stderr
    assert (ws.reports / "2025" / "organisations" / f"{ATTACKER}.html").exists()
    assert not (ws.reports / "2026" / "index.html").exists(), "no empty overview for a year without accepted data"
