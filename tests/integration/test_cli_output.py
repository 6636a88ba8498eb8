"""What the command line prints, for a person in a terminal and for a log: whole lines and names, words for
statuses and verdicts, a clear refusal of a year without data, and a warning on reports that name members."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from inprocess import rbb
from workspaces import copy_workspace

from pipeline.core.workspace import Workspace

YEAR = 2025
#: codes that are for machines (CSV, JSON) and must never be what a person reads in the command line's output
CODES = ("accepted_with_warnings", "findings_open", "signed_off", "no_clear_effect", "cannot_tell", "too_little_data")
LONG_NAME = (
    "Uitvoeringsorganisatie voor Bijzonder Lange Namen en Nog Langere Omschrijvingen van de Rijksoverheid "
    "(onderdeel Belastingen, Toeslagen en Douane)"
)
BOX = re.compile(r"[│┃━─┏┓┗┛┡┩└┘╇╈┼]")


def _register_rows(root: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((root / "data" / "organisations.csv").read_text("utf-8-sig").splitlines()))


def _reader_workspace(demo: Workspace, root: Path, long_name_for: str) -> Workspace:
    """A workspace that reads the demo warehouse (a link, read-only commands only) with a register in which
    one member has a very long name."""
    ws = Workspace.at(root).ensure()
    ws.db_path.symlink_to(demo.db_path)
    for name in ("settings.yaml", "methods.yaml"):
        shutil.copy2(demo.root / "data" / name, ws.root / "data" / name)
    rows = _register_rows(demo.root)
    for r in rows:
        if r["org_code"] == long_name_for:
            r["name"] = LONG_NAME
    with (ws.root / "data" / "organisations.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return ws


@pytest.fixture(scope="module")
def workspace(demo_workspace, tmp_path_factory) -> Workspace:
    """A copy of the demo workspace with its pilots register and pool, for the commands that write."""
    ws = copy_workspace(demo_workspace, tmp_path_factory.mktemp("cli-output") / "ws")
    for name in ("pilots_register.csv", "pilots_history.csv", "pool.xlsx"):
        if (demo_workspace.root / "data" / name).exists():
            shutil.copy2(demo_workspace.root / "data" / name, ws.root / "data" / name)
    return ws


def _piped(*args: str) -> subprocess.CompletedProcess:
    """``rbb ARGS`` in a process of its own with stdout and stderr piped (not a terminal), as in a log."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE")}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


# ------------------------------------------------------------------ whole lines, whole names


def test_piped_status_prints_plain_lines_with_every_name_in_full(demo_workspace, tmp_path):
    ws = _reader_workspace(demo_workspace, tmp_path / "ws", "DUO")
    out = _piped("status", "--root", str(ws.root), "--year", str(YEAR))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"Submissions {YEAR}"
    header = lines[1].split("\t")
    assert header[:3] == ["org", "name", "state"]
    rows = [line.split("\t") for line in lines[2:] if "\t" in line]
    assert len(rows) >= 30 and all(len(r) == len(header) for r in rows)
    duo = next(r for r in rows if r[0] == "DUO")
    assert duo[1] == LONG_NAME  # not wrapped, not cut short
    assert "…" not in out.stdout and not BOX.search(out.stdout)
    assert not any(code in out.stdout for code in CODES)


def test_piped_output_never_breaks_a_path(workspace):
    out = _piped("report", "--root", str(workspace.root), "--year", str(YEAR), "--org", "CJIB")
    assert out.returncode == 0, out.stderr
    printed = [line.strip() for line in out.stdout.splitlines() if "/" in line]
    assert printed and "…" not in out.stdout
    assert re.fullmatch(rf"\d+ report files? written under {re.escape(str(workspace.reports))}", printed[0])
    for line in printed[1:]:
        assert Path(line).is_file(), line  # each path whole on its own line


def test_a_terminal_folds_a_long_name_and_never_cuts_it(monkeypatch):
    from pipeline.terminal import OutputConsole, Table

    buf = io.StringIO()
    con = OutputConsole(file=buf, force_terminal=True, width=50, highlight=False, color_system=None)
    t = Table(title="Submissions")
    t.add_column("org")
    t.add_column("name")
    t.add_row("DUO", LONG_NAME)
    con.print(t)
    text = buf.getvalue()
    assert "…" not in text
    cells = [line.split("│")[2].strip() for line in text.splitlines() if line.count("│") == 3]
    assert "".join(cells).replace(" ", "") == LONG_NAME.replace(" ", "")
    plain = io.StringIO()
    OutputConsole(file=plain, highlight=False).print(f"written {'/very/long/folder' * 20}/strengths_weaknesses.csv")
    assert plain.getvalue().count("\n") == 1 and plain.getvalue().rstrip().endswith("strengths_weaknesses.csv")


# ------------------------------------------------------------------ words, not codes


def test_words_for_every_status_and_verdict():
    from pipeline.pilots.followup import VERDICTS
    from pipeline.terminal import in_words, words
    from pipeline.validate.review import STATES

    for code in (*STATES, *VERDICTS, "accepted", "accepted_with_warnings", "rejected", "superseded", "withdrawn"):
        assert "_" not in words(code), code
    assert words("accepted_with_warnings") == "accepted with warnings"
    assert words("no_clear_effect") == "no clear effect" and words("signed_off") == "signed off"
    assert in_words("follow-up of 2 pilots: 1 cannot_tell, 1 no_clear_effect") == (
        "follow-up of 2 pilots: 1 cannot tell yet, 1 no clear effect"
    )


def test_status_and_pilots_print_words(workspace):
    root = str(workspace.root)
    con = duckdb.connect(str(workspace.db_path), read_only=True)
    org, version, seq = con.execute(
        """SELECT f.org_code, f.version, f.seq FROM findings f JOIN submissions s USING (submission_id)
           WHERE s.year = ? AND s.in_force AND f.severity = 'warning' ORDER BY 1, 2, 3 LIMIT 1""",
        [YEAR],
    ).fetchone()
    other = con.execute(
        "SELECT min(org_code) FROM submissions WHERE year = ? AND in_force AND org_code <> ?", [YEAR, org]
    ).fetchone()[0]
    con.close()
    outputs = []
    for code in (org, other):
        withdrawn = rbb("signoff", "--root", root, "--year", str(YEAR), "--org", code, "--withdraw")
        assert withdrawn.returncode == 0, withdrawn.stderr
        assert withdrawn.stdout.strip().endswith("sign-off withdrawn")
        outputs.append(withdrawn.stdout)
    returned = rbb("review", "--root", root, "return", f"{org}-{YEAR}-v{version}-{seq}", "--note", "Graag toelichten")
    assert returned.returncode == 0, returned.stderr
    outputs.append(returned.stdout)
    status = rbb("status", "--root", root, "--year", str(YEAR), "--history")
    assert status.returncode == 0, status.stderr
    states = {line.split("\t")[0]: line.split("\t")[2] for line in status.stdout.splitlines() if line.count("\t") == 6}
    assert states[org] == "findings open" and states[other] == "all resolved: ready for sign-off"
    assert "signed off" in states.values()
    assert "findings open: 1" in status.stdout and "signed off: " in status.stdout
    history = [line.split("\t") for line in status.stdout.split(f"Versions received {YEAR}")[1].splitlines()[2:]]
    assert {r[3] for r in history} <= {"accepted", "accepted with warnings", "rejected", "superseded"}
    assert {r[4] for r in history} == {"yes", "no"}
    pilots = rbb("pilots", "--root", root, "--year", str(YEAR))
    assert pilots.returncode == 0, pilots.stderr
    assert "follow-up of" in pilots.stdout
    outputs += [status.stdout, pilots.stdout, pilots.stderr]
    for text in outputs:
        assert not any(code in text for code in CODES), text


# ------------------------------------------------------------------ a year without data, an unknown member


@pytest.mark.parametrize("command", ["report", "export", "package"])
def test_a_year_without_submissions_is_refused_and_nothing_is_written(workspace, command):
    before = sorted(p.relative_to(workspace.root) for p in workspace.root.rglob("*") if ".rbb" not in p.name)
    out = rbb(command, "--root", str(workspace.root), "--year", "2019")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "no submissions for 2019 in this workspace; years with data: 2023, 2024, 2025" in out.stderr
    assert not (workspace.reports / "2019").exists()
    assert not (workspace.root / "data" / "processed" / "exports" / "2019").exists()
    after = sorted(p.relative_to(workspace.root) for p in workspace.root.rglob("*") if ".rbb" not in p.name)
    assert after == before


@pytest.mark.parametrize("command", ["report", "package"])
def test_an_unknown_organisation_code_is_refused(workspace, command):
    out = rbb(command, "--root", str(workspace.root), "--year", str(YEAR), "--org", "XYZ")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "unknown organisation code 'XYZ'" in out.stderr


# ------------------------------------------------------------------ reports that name every member


def test_named_peers_warns_that_the_reports_name_every_member(workspace):
    out = rbb("report", "--root", str(workspace.root), "--year", str(YEAR), "--org", "DUO", "--named-peers")
    assert out.returncode == 0, out.stderr
    assert "warning:" in out.stderr and "name every member" in out.stderr and "never for members" in out.stderr
    assert "deprecated" not in out.stderr
    assert (workspace.reports / str(YEAR) / "organisations-open" / "DUO.html").is_file()


def test_open_still_works_with_a_deprecation_note(workspace):
    target = workspace.reports / str(YEAR) / "organisations-open" / "SVB.html"
    out = rbb("report", "--root", str(workspace.root), "--year", str(YEAR), "--org", "SVB", "--open")
    assert out.returncode == 0, out.stderr
    assert "--open is deprecated; use --named-peers" in out.stderr and "name every member" in out.stderr
    assert target.is_file()
    assert "--open" not in rbb("report", "--help").stdout  # hidden: the help names --named-peers only
