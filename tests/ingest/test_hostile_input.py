"""Hostile input that must not stop a round (issue 12, ingest side): one test per reproduced attack.

Each test works on a workspace built from the demo's real deliveries of a few members, with the attack
added; the real ingest (or the ``rbb`` command) runs, and the test checks three things: the attack gets a
clear finding (or message) and nothing it points at is read, the other members' deliveries are recorded as
usual, and no delivery is loaded in part.

Most attacks share one such round (the module fixture ``attacked``): every attack is planted under a name
of its own (a changed copy of a member's delivery instead of a change to the delivery itself), one
in-process ingest records the first part, one ``rbb ingest`` the attacks whose printed output or CLI run
is under test, and each test asserts on its own deliveries plus the whole round (``Round.check``). The
validation run costs about the same for one delivery as for twenty, so this saves one run per test.
Attacks that need a workspace of their own (a full disk, a file size limit) still get one. The disk-full
cases ``leave_kb`` run one per stage by default, all of them with ``--long`` (or ``RBB_LONG=1``).
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import hostile
import pytest
from inprocess import rbb as cli
from rounds import fact_counts, submissions

from pipeline.core.safe_files import LineLengthCheck, NotRegularFile, open_regular
from pipeline.core.safe_text import register_code, terminal_safe
from pipeline.core.workspace import Workspace
from pipeline.validate import IngestResult, check_files
from pipeline.validate import run as ingest
from pipeline.validate.cases import scan_case_file

YEAR = 2025
ROOT = Path(__file__).resolve().parents[2]
ACCEPTED = ("accepted", "accepted_with_warnings")
MEMBERS = ("DUO", "SVB", "UWV")


# ------------------------------------------------------------------ helpers


def findings_of(db: Path, name: str) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute(
            "SELECT f.* FROM findings f JOIN submissions s USING (submission_id) "
            "WHERE s.original_name = ? ORDER BY f.seq",
            [name],
        )
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]
    finally:
        con.close()


def rbb_command(*args: str, root: Path | None = None) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", *args] + (["--root", str(root)] if root else [])


def rbb(*args: str, root: Path | None = None, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        rbb_command(*args, root=root), capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False, **kwargs
    )


@pytest.fixture(scope="module")
def demo_counts(demo_workspace) -> dict[str, dict[str, int]]:
    """Fact rows of the 2025 delivery in force of each member used here, as the demo warehouse holds them."""
    con = duckdb.connect(str(demo_workspace.db_path), read_only=True)
    try:
        sids = dict(
            con.execute(
                "SELECT org_code, submission_id FROM submissions WHERE year = ? AND in_force", [YEAR]
            ).fetchall()
        )
    finally:
        con.close()
    counts = fact_counts(demo_workspace.db_path)
    return {org: counts[sids[org]] for org in MEMBERS}


def _in_force_names(demo_workspace: Workspace) -> dict[str, str]:
    """The name of each member's delivery in force (a member may have sent a correction after its first)."""
    con = duckdb.connect(str(demo_workspace.db_path), read_only=True)
    try:
        return dict(
            con.execute(
                "SELECT org_code, original_name FROM submissions WHERE year = ? AND in_force", [YEAR]
            ).fetchall()
        )
    finally:
        con.close()


class Round:
    """A workspace holding the demo's 2025 deliveries of DUO, SVB and UWV, each as a delivery folder
    ``<ORG>_levering`` (a workbook delivery is put in one), to which a test adds an attack. ``extra``: fact
    rows per organisation that an attack adds to a good delivery (checked with the demo's)."""

    def __init__(
        self,
        root: Path,
        demo_workspace: Workspace,
        counts: dict[str, dict[str, int]],
        extra: dict[str, dict[str, int]] | None = None,
    ):
        self.ws = Workspace.at(root).ensure()
        self.counts = counts
        self.extra = extra or {}
        self.good: dict[str, str] = {}
        in_force = _in_force_names(demo_workspace)
        for org in MEMBERS:
            src = demo_workspace.raw / str(YEAR) / org / in_force[org]
            dst = self.ws.raw / str(YEAR) / org / f"{org}_levering"
            if src.is_dir():
                shutil.copytree(src, dst)
            else:
                dst.mkdir(parents=True)
                shutil.copyfile(src, dst / src.name)
            self.good[org] = dst.name

    def folder(self, org: str) -> Path:
        return self.ws.raw / str(YEAR) / org

    def delivery(self, org: str) -> Path:
        return self.folder(org) / self.good[org]

    def copy_of(self, org: str, name: str, folder: Path | None = None) -> Path:
        """A copy of the organisation's good delivery, named ``name``, in its folder (or in ``folder``)."""
        return Path(shutil.copytree(self.delivery(org), (folder or self.folder(org)) / name))

    def check(self, skip: tuple[str, ...] = (), extra: dict[str, dict[str, int]] | None = None) -> list[dict]:
        """Every good delivery not in ``skip`` is accepted with exactly the demo's fact rows (plus ``extra``
        rows per organisation); rejected submissions have no fact rows; one version in force per
        organisation and year."""
        subs = submissions(self.ws.db_path)
        counts = fact_counts(self.ws.db_path)
        for s in subs:
            got = {t: n for t, n in counts.get(s["submission_id"], {}).items() if n}
            if s["status"] == "rejected":
                assert got == {}, f"rejected {s['original_name']} has fact rows {got}"
                assert not s["in_force"]
        for org, name in self.good.items():
            if org in skip:
                continue
            (s,) = [s for s in subs if s["org_code"] == org and s["original_name"] == name]
            assert s["status"] in ACCEPTED, (org, findings_of(self.ws.db_path, name))
            got = {t: n for t, n in counts.get(s["submission_id"], {}).items() if n}
            assert got == {**self.counts[org], **self.extra.get(org, {}), **(extra or {}).get(org, {})}, (org, got)
        in_force = [(s["org_code"], s["year"]) for s in subs if s["in_force"]]
        assert len(in_force) == len(set(in_force)), "more than one version in force"
        return subs


@pytest.fixture()
def round_(tmp_path, demo_workspace, demo_counts) -> Round:
    return Round(tmp_path / "ws", demo_workspace, demo_counts)


def duo_rows(round_: Round) -> hostile.Delivery:
    """The rows of DUO's delivery (a CSV folder in the demo)."""
    return hostile.read_csv_delivery(round_.delivery("DUO"))


def inbox_holds(ws: Workspace, data: bytes) -> bool:
    return any(p.is_file() and data in p.read_bytes() for p in ws.inbox.rglob("*"))


def all_text_written(ws: Workspace) -> str:
    """Everything ingest wrote that a person reads: findings in the warehouse and the feedback pages."""
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        rows = con.execute("SELECT cell, value, message_nl, message_en FROM findings").fetchall()
    finally:
        con.close()
    pages = "".join(p.read_text("utf-8") for p in ws.reports.rglob("*.html"))
    return " ".join(str(x) for r in rows for x in r) + pages


# ------------------------------------------------------------------ the shared attacked round

EVIL = "evil\x1b[2J\x1b]0;owned\x07\u202egpj.xlsx"
EVIL_ORG = "COA"  # a member of its own: the workbook is accepted and supersedes no good delivery
BROKEN_CASES = "DUO_zaken_onleesbaar"  # attack 4: DUO's delivery with a line of one column in zaken.csv
LONG_CASE_LINE = "DUO_zaken_lange_regel"  # attack 4: DUO's delivery with a 3 MB line in zaken.csv
SVB_LINK = "SVB_met_link"  # attack 5: SVB's delivery with toelichting.csv a link outside
SVB_FIFO = "SVB_met_fifo"  # attack 5: SVB's delivery with a FIFO in it
SUPERSCRIPT = "levering_superscript"  # attack 5: UWV's delivery under data/raw/²⁰²⁵/
LOOKALIKE_YEARS = ["２０２４", "٢٠٢٤"]  # attack 11: SVB's delivery under each of these year folders


def lookalike_year_name(folder: str) -> str:
    return f"levering_{folder}"


@dataclass
class Attacked:
    round: Round
    results: dict[str, IngestResult]  # the in-process ingest of part 1, per delivery name
    cli_ingest: subprocess.CompletedProcess  # `rbb ingest` recording part 2
    cli_again: subprocess.CompletedProcess  # `rbb ingest` once more: nothing new
    cli_check: subprocess.CompletedProcess  # `rbb check` of the workbook named EVIL
    broken_case_line: int  # the line of one column in BROKEN_CASES/zaken.csv
    evil: Path


@pytest.fixture(scope="module")
def attacked(tmp_path_factory, demo_workspace, demo_counts) -> Attacked:
    """One round with the attacks of most tests below, each under its own name (see the module docstring).

    Part 1 (one in-process ingest): broken case files (attack 4), links to files and folders outside
    data/raw (5), entities and broken workbook parts (6), used-range and cell caps (8), look-alike
    organisation and year folders and cell values (11). SVB's good delivery gets a valid case file (attack 4:
    a valid and a broken case file in the same DuckDB scan), so it has 3 ``f_zaken_agg`` rows more.
    Part 2 (``rbb ingest``, then ``rbb ingest`` again): FIFOs, a link to /dev/zero, dangling and looping
    links, a superscript year folder (5) and a workbook whose name holds terminal escapes (11), which
    ``rbb check`` reads at the same time."""
    tmp = tmp_path_factory.mktemp("attacked")
    r = Round(tmp / "ws", demo_workspace, demo_counts, extra={"SVB": {"f_zaken_agg": 3}})
    duo = r.folder("DUO")
    typed = hostile.typed_delivery(duo_rows(r))

    # ---- part 1
    _, broken_case_line = hostile.malformed_case_file(
        r.copy_of("DUO", BROKEN_CASES) / "zaken.csv", "too_few_columns", n=40, seed=4
    )
    hostile.malformed_case_file(
        r.copy_of("DUO", LONG_CASE_LINE) / "zaken.csv", "long_line", n=40, seed=7, long_bytes=3_000_000
    )
    secret = tmp / "secret.txt"
    secret.write_bytes(b"SECRET-CONTENT-4711 " * 10)
    (duo / "shadow.xlsx").symlink_to("/etc/shadow")
    (duo / "secret.xlsx").symlink_to(secret)
    inside = r.copy_of("SVB", SVB_LINK) / "toelichting.csv"
    inside.unlink(missing_ok=True)
    inside.symlink_to(secret)  # a link inside a delivery folder: that delivery is refused
    outside = tmp / "outside"
    outside.mkdir()
    for name in ("passwd-LOOKALIKE-1.csv", "organisatie.csv", "private-key-LOOKALIKE-2.txt"):
        (outside / name).write_text("org_code;jaar\nDUO;2025\n")
    (duo / "levering_link").symlink_to(outside, target_is_directory=True)
    (r.ws.raw / str(YEAR) / "link_to_etc").symlink_to("/etc", target_is_directory=True)
    hostile.entity_in_workbook_xml(duo / "entity.xlsx", typed, padding=5000)
    for how in sorted(hostile.BROKEN_WORKBOOK_XML):
        hostile.formulas_behind_broken_part(duo / f"formula_{how}.xlsx", typed, how)
    hostile.cells_without_refs(duo / "wide.xlsx", typed, n=3_000)
    folder = hostile.write_csv_delivery(duo / "many_cells", duo_rows(r))
    with open(folder / "producten.csv", "ab") as fh:
        fh.write((b";" * 10 + b"\r\n") * 500_000)
    r.copy_of("UWV", "cjib_levering", folder=r.ws.raw / str(YEAR) / "cjıb")
    for year_folder in LOOKALIKE_YEARS:
        name = lookalike_year_name(year_folder)
        copy = r.copy_of("SVB", name, folder=r.ws.raw / year_folder / "SVB")
        (copy / f"{name}.md").write_text(name)  # its own checksum: the same delivery twice in a run is read once
    rows = duo_rows(r)
    hostile.set_cell(rows, "organisatie", 0, "fte_totaal", "１２３４")
    hostile.set_cell(rows, "kanalen", 0, "kanaal", "poſt")
    hostile.write_csv_delivery(duo / "lookalikes", rows)
    hostile.case_file(r.delivery("SVB") / "zaken.csv", hostile.case_lines(40, seed=5))
    recorded = ingest(r.ws)
    results = {res.name: res for res in recorded}
    assert len(results) == len(recorded), "two deliveries of part 1 share a name"

    # ---- part 2
    os.mkfifo(duo / "pipe.xlsx")
    (r.folder("UWV") / "zero.xlsx").symlink_to("/dev/zero")
    os.mkfifo(r.copy_of("SVB", SVB_FIFO) / "kanalen.csv.fifo")
    (duo / "dangling.xlsx").symlink_to(r.ws.root / "does-not-exist.xlsx")
    (duo / "loop_a").symlink_to(duo / "loop_b")
    (duo / "loop_b").symlink_to(duo / "loop_a")
    r.copy_of("UWV", SUPERSCRIPT, folder=r.ws.raw / "²⁰²⁵" / "UWV")
    evil = r.folder(EVIL_ORG) / EVIL
    evil.parent.mkdir(parents=True)
    demo_workbook(demo_workspace, EVIL_ORG, evil)
    check = subprocess.Popen(
        rbb_command("check", str(evil)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        cli_ingest = rbb("ingest", root=r.ws.root, timeout=300)
        cli_again = rbb("ingest", root=r.ws.root)
        out, err = check.communicate(timeout=600)
    finally:
        check.kill()
    cli_check = subprocess.CompletedProcess(check.args, check.returncode, out, err)
    return Attacked(r, results, cli_ingest, cli_again, cli_check, broken_case_line, evil)


def demo_workbook(demo_workspace: Workspace, org: str, path: Path) -> Path:
    """The organisation's demo delivery as one workbook at ``path``."""
    (src,) = list((demo_workspace.raw / str(YEAR) / org).iterdir())
    if src.is_dir():
        return hostile.write_workbook(path, hostile.typed_delivery(hostile.read_csv_delivery(src)))
    shutil.copyfile(src, path)
    return path


# ------------------------------------------------------------------ attack 4: broken case files


def test_attack_4_malformed_case_line_rejects_only_that_delivery(attacked):
    """A line with one column in DUO's zaken.csv: that DUO delivery gets a finding for that line and is
    rejected; SVB (with a valid case file in the same DuckDB scan) and UWV are recorded and loaded as usual."""
    round_ = attacked.round
    duo = attacked.results[BROKEN_CASES]
    assert duo.status == "rejected" and duo.org_code == "DUO"
    assert any(
        f.rule == "line_unreadable" and f.row == attacked.broken_case_line and "too few columns" in f.message_en
        for f in duo.findings
    ), [(f.rule, f.row, f.message_en) for f in duo.findings]
    round_.check(extra={"SVB": {"f_zaken_agg": 3}})  # products P1, P2 and the total
    svb = attacked.results[round_.good["SVB"]]
    assert svb.org_code == "SVB"
    con = duckdb.connect(str(round_.ws.db_path), read_only=True)
    try:
        n_rows = con.execute(
            "SELECT n_rows FROM f_zaken_agg WHERE submission_id = ? AND product_code IS NULL", [svb.submission_id]
        ).fetchone()
    finally:
        con.close()
    assert n_rows == (40,)


def test_attack_4_long_garbage_line_after_one_valid_row_is_a_finding(attacked):
    """A 3 MB garbage line after the first valid case (longer than the declared 64 KB per line) rejects the
    delivery with a finding that names line 3; nothing of the file is aggregated, the others load."""
    duo = attacked.results[LONG_CASE_LINE]
    assert duo.status == "rejected" and duo.org_code == "DUO"
    (long_line,) = [f for f in duo.findings if f.rule == "line_too_long"]
    assert long_line.row == 3 and "64 KB" in long_line.message_en
    attacked.round.check()


def test_attack_4_long_last_line_without_line_end_is_a_finding(tmp_path):
    path, line = hostile.malformed_case_file(tmp_path / "zaken.csv", "long_last_line", n=5, long_bytes=2_000_000)
    scan = scan_case_file(path, YEAR)
    assert [(f.rule, f.row) for f in scan.findings] == [("line_too_long", line)]


@pytest.mark.parametrize("kind", ["too_many_columns", "bad_quote", "not_utf8", "binary", "nul_bytes"])
def test_attack_4_other_broken_case_lines_are_findings_not_loads(tmp_path, kind):
    path, _ = hostile.malformed_case_file(tmp_path / "zaken.csv", kind, n=30, seed=11)
    scan = scan_case_file(path, YEAR)
    errors = [f for f in scan.findings if f.severity == "error"]
    assert errors, kind
    assert all(f.message_nl.strip() and f.message_en.strip() for f in errors)


def test_line_length_check_finds_the_first_long_line_wherever_chunks_end():
    data = b"a;b\n" * 1000 + b"x" * 5000 + b"\n" + b"c;d\n" * 10
    for chunk in (1, 7, 100, 4096, len(data)):
        check = LineLengthCheck(4096)
        for i in range(0, len(data), chunk):
            check.feed(data[i : i + chunk])
        assert check.finish() is not None and check.finish()[0] == 4000
    ok = LineLengthCheck(4096)
    ok.feed(b"y" * 4096 + b"\n" + b"z" * 4096)
    assert ok.finish() is None


# ------------------------------------------------------------------ attack 5: links and special files


def test_attack_5_symlink_to_etc_shadow_not_archived(attacked):
    """Links to files outside data/raw (/etc/shadow, and a secret file of our own so the test does not
    depend on reading /etc/shadow) are findings; their content is nowhere in the archive."""
    round_, by_name = attacked.round, attacked.results
    for name in ("shadow.xlsx", "secret.xlsx"):
        assert by_name[name].status == "rejected" and by_name[name].org_code == "DUO"
        assert [f.rule for f in by_name[name].findings] == ["file_link"]
    svb = by_name[SVB_LINK]
    assert svb.org_code == "SVB"
    assert svb.status == "rejected" and any(f.rule == "file_link" and "toelichting.csv" in f.cell for f in svb.findings)
    assert not inbox_holds(round_.ws, b"SECRET-CONTENT-4711")
    if os.access("/etc/shadow", os.R_OK):
        assert not inbox_holds(round_.ws, Path("/etc/shadow").read_bytes()[:32] or b"\x00never")
    round_.check()


def test_attack_5_linked_folder_lists_nothing_outside(attacked):
    round_, results = attacked.round, attacked.results
    assert results["levering_link"].status == "rejected"
    assert [f.rule for f in results["levering_link"].findings] == ["file_link"]
    assert results["link_to_etc"].status == "rejected" and results["link_to_etc"].org_code == "_ONBEKEND"
    proc = attacked.cli_again  # `rbb ingest` after the pages were written; nothing new to record
    assert proc.returncode == 0, proc.stderr
    text = all_text_written(round_.ws)
    for name in ("LOOKALIKE", "passwd", "hostname", "fstab"):
        assert name not in text, name
    assert not inbox_holds(round_.ws, b"org_code;jaar\nDUO;2025")
    round_.check()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_attack_5_fifo_and_link_to_dev_zero_do_not_hang(attacked):
    """A FIFO and a link to /dev/zero among the deliveries: `rbb ingest` finishes (with findings for both)
    instead of blocking forever while it holds the workspace lock."""
    round_ = attacked.round
    proc = attacked.cli_ingest  # run with a 300 s time-out
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    by_name = {s["original_name"]: s for s in submissions(round_.ws.db_path)}
    assert by_name["pipe.xlsx"]["status"] == "rejected" and by_name["pipe.xlsx"]["fmt"] == "fifo"
    assert [f["rule"] for f in findings_of(round_.ws.db_path, "pipe.xlsx")] == ["file_special"]
    assert [f["rule"] for f in findings_of(round_.ws.db_path, "zero.xlsx")] == ["file_link"]
    assert by_name[SVB_FIFO]["org_code"] == "SVB" and by_name[SVB_FIFO]["status"] == "rejected"
    assert any(f["rule"] == "file_special" for f in findings_of(round_.ws.db_path, SVB_FIFO))
    round_.check()


def test_attack_5_dangling_link_link_loop_and_superscript_year_give_findings_not_tracebacks(attacked):
    round_ = attacked.round
    proc = attacked.cli_ingest
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    subs = {s["original_name"]: s for s in submissions(round_.ws.db_path)}
    for name in ("dangling.xlsx", "loop_a", "loop_b"):
        assert subs[name]["status"] == "rejected"
        assert [f["rule"] for f in findings_of(round_.ws.db_path, name)] == ["file_link"]
    assert subs[SUPERSCRIPT]["year"] == 0 and subs[SUPERSCRIPT]["status"] == "rejected"
    (year_finding,) = findings_of(round_.ws.db_path, SUPERSCRIPT)
    assert year_finding["rule"] == "file_year_folder" and "²⁰²⁵" in year_finding["message_en"]
    round_.check()
    again = attacked.cli_again
    assert again.returncode == 0 and "No new deliveries" in again.stdout, again.stdout + again.stderr


def test_open_regular_refuses_links_fifos_and_devices(tmp_path):
    regular = tmp_path / "a.csv"
    regular.write_text("x")
    (tmp_path / "link").symlink_to(regular)
    os.mkfifo(tmp_path / "fifo")
    with open_regular(regular) as fh:
        assert fh.read() == b"x"
    for name, kind in (("link", "symlink"), ("fifo", "fifo")):
        with pytest.raises(NotRegularFile) as exc:
            open_regular(tmp_path / name)
        assert exc.value.kind == kind
    with pytest.raises(NotRegularFile) as exc:
        open_regular("/dev/zero")
    assert exc.value.kind == "device"


# ------------------------------------------------------------------ attack 6: entities and formulas


def test_attack_6_entity_after_a_5kb_comment_in_workbook_xml_is_refused(attacked):
    entity = attacked.results["entity.xlsx"]
    assert entity.status == "rejected"
    assert [f.rule for f in entity.findings] == ["file_xml_entities"]
    assert "xl/workbook.xml" in entity.findings[0].message_en
    attacked.round.check()


@pytest.mark.parametrize("how", sorted(hostile.BROKEN_WORKBOOK_XML))
def test_attack_6_formula_behind_a_broken_workbook_part_is_not_accepted(attacked, how):
    """A formula cell with a cached value, in a workbook whose xl/workbook.xml a lenient reader accepts but
    an XML parser does not: the workbook is rejected (the unparseable part is itself the error), never
    loaded with the cached value."""
    result = attacked.results[f"formula_{how}.xlsx"]
    assert result.status == "rejected", [(f.rule, f.message_en) for f in result.findings]
    assert {f.rule for f in result.findings} & {"file_xml", "file_xml_entities"}
    attacked.round.check()


def test_formula_with_cached_value_in_a_clean_workbook_is_still_found(tmp_path, demo_workspace):
    (src,) = list((demo_workspace.raw / str(YEAR) / "DUO").iterdir())
    typed = hostile.typed_delivery(hostile.read_csv_delivery(src))
    delivery = hostile.copy_delivery(typed)
    value = hostile.get_cell(delivery, "producten", 0, "n_besluiten")
    hostile.set_cell(delivery, "producten", 0, "n_besluiten", hostile.Formula("1+1", value))
    path = hostile.write_workbook(tmp_path / "f.xlsx", delivery)
    ((_, item),) = check_files([path])
    assert any(f.rule == "formula" and f.field == "n_besluiten" for f in item.findings)


# ------------------------------------------------------------------ attack 8: memory caps


def test_attack_8_cells_without_r_attributes_count_for_the_used_range(attacked):
    result = attacked.results["wide.xlsx"]
    assert result.status == "rejected"
    (error,) = [f for f in result.findings if f.severity == "error"]
    assert error.rule == "file_used_range" and "3,000 columns" in error.message_en
    attacked.round.check()


def test_attack_8_csv_cells_are_capped_per_delivery(attacked):
    """5.5 million empty cells in a CSV sheet file (5 MB): a finding instead of parsing them all."""
    result = attacked.results["many_cells"]
    assert result.status == "rejected"
    assert any(f.rule == "file_used_range" and f.cell == "producten.csv" for f in result.findings), [
        (f.rule, f.message_en) for f in result.findings
    ]
    attacked.round.check()


# VmHWM, not ru_maxrss: Linux carries ru_maxrss over an exec, so it would report the test process's peak
PEAK_SCRIPT = """
import re, sys
from pathlib import Path
from pipeline.ingest.readers import read_submission
from pipeline.metadata.registry import registry
sub = read_submission(Path(sys.argv[1]), registry())
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
print(peak_kb // 1024, sorted({f.rule for f in sub.findings}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_attack_8_large_csv_files_are_parsed_outside_the_main_process(tmp_path, demo_workspace):
    """Five CSV sheet files of 30 MB each (just under the 50 MB file limit's spirit, 3.3 million cells
    each): the main process stays small because parsing happens in the limited child, which stops at the
    cell budget of the delivery."""
    (src,) = list((demo_workspace.raw / str(YEAR) / "DUO").iterdir())
    folder = hostile.write_csv_delivery(tmp_path / "big", hostile.read_csv_delivery(src))
    filler = (b"12345678;" * 100 + b"\r\n") * 33_000
    for name in ("organisatie", "producten", "kanalen", "enquete", "toelichting"):
        with open(folder / f"{name}.csv", "ab") as fh:
            fh.write(filler)
    proc = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(folder)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    peak_mb, rules = proc.stdout.split(" ", 1)
    assert "file_used_range" in rules
    assert int(peak_mb) < 400, f"the main process peaked at {peak_mb} MB"


def test_attack_8_csv_parsing_is_under_the_child_memory_limit(tmp_path, demo_workspace, monkeypatch):
    """Under a child memory limit that a normal delivery fits in (120 MB) but a 25 MB sheet file of long
    cells does not, the large one gets a finding and the normal one is read: CSV parsing is limited like
    workbook parsing, and the main process is untouched either way."""
    from pipeline.ingest import readers

    (src,) = list((demo_workspace.raw / str(YEAR) / "DUO").iterdir())
    rows = hostile.read_csv_delivery(src)
    normal = hostile.write_csv_delivery(tmp_path / "normal", rows)
    large = hostile.write_csv_delivery(tmp_path / "large", rows)
    with open(large / "enquete.csv", "ab") as fh:
        fh.write((b"abcdefghijklmnopqrstuvwxyz0123456789ABCD;" * 50 + b"\r\n") * 12_000)  # 600,000 cells
    monkeypatch.setattr(readers, "CHILD_MEMORY_BYTES", 120 * 1024**2)
    (_, normal_item), (_, large_item) = check_files([normal, large])
    assert not [f for f in normal_item.findings if f.rule.startswith("file_")], normal_item.findings
    assert {f.rule for f in large_item.findings} & {"file_too_complex", "file_corrupt"}, [
        (f.rule, f.message_en) for f in large_item.findings
    ]


# ------------------------------------------------------------------ attack 10: disk full


def _mount_tmpfs(path: Path, size: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("a tmpfs can only be mounted as root")
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {proc.stderr.strip()}")


@pytest.fixture()
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    _mount_tmpfs(mnt, "64m")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Take all free space on ``disk`` but ``leave`` bytes."""
    st = os.statvfs(disk)
    free = st.f_bavail * st.f_frsize
    filler = disk / "filler.bin"
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.posix_fallocate(fd, 0, max(1, free - leave))
    finally:
        os.close(fd)
    return filler


def assert_out_of_space_message(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0, proc.stdout[-1000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    message = " ".join(proc.stderr.split())
    assert "Schijf vol" in message and "Out of disk space" in message and "run the command again" in message, message
    return message


# Where the disk fills up with ``leave_kb`` free (64 MB tmpfs, DUO, SVB and UWV): 40 while storing the first
# delivery in the inbox ("0 of 3 recorded"), 400 while storing the second, after the first was recorded
# ("1 of 3"), 1500 at the checkpoint ("all 3 recorded in the log file"). 400 takes the recording path of 40
# and also leaves a warehouse with a complete delivery in it, so 40 runs with --long only.
@pytest.mark.slow
@pytest.mark.parametrize("leave_kb", [pytest.param(40, marks=pytest.mark.long), 400, 1500])
def test_attack_10_disk_full_during_ingest_is_a_clear_message_and_the_warehouse_stays_intact(
    small_disk, demo_workspace, demo_counts, leave_kb
):
    """The disk fills up at some point of ingest (opening the warehouse, storing or recording a delivery,
    the checkpoint): a clear message, a non-zero exit, no traceback; the warehouse opens and holds only
    complete deliveries; after freeing space the next run records the rest."""
    r = Round(small_disk / "ws", demo_workspace, demo_counts)
    filler = fill(small_disk, leave_kb * 1024)
    proc = rbb("ingest", root=r.ws.root)
    message = assert_out_of_space_message(proc)
    if r.ws.db_path.exists():
        for s in submissions(r.ws.db_path):  # the warehouse opens; whatever it holds is complete
            if s["status"] != "rejected":
                got = {t: n for t, n in fact_counts(r.ws.db_path).get(s["submission_id"], {}).items() if n}
                assert got == demo_counts[s["org_code"]], (s["org_code"], got, message)
    filler.unlink()
    proc = cli("ingest", "--root", str(r.ws.root))  # the next run: in this process, no limit on it
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    r.check()
    assert len(submissions(r.ws.db_path)) == len(MEMBERS)


def test_attack_10_disk_full_during_compute_changes_nothing(small_disk, demo_workspace, demo_counts):
    r = Round(small_disk / "ws", demo_workspace, demo_counts)
    assert sorted(x.org_code for x in ingest(r.ws)) == sorted(MEMBERS)  # set-up: in-process, no rbb start-up
    filler = fill(small_disk, 16 * 1024)
    proc = rbb("compute", root=r.ws.root)
    message = assert_out_of_space_message(proc)
    assert "nothing was changed" in message or "log file" in message, message
    con = duckdb.connect(str(r.ws.db_path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM submissions").fetchone()[0] == len(MEMBERS)
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    finally:
        con.close()
    if "nothing was changed" in message:  # the first compute of this warehouse left no table behind
        assert "indicator_values" not in tables and "comparisons" not in tables, tables
    filler.unlink()
    proc = cli("compute", "--root", str(r.ws.root))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    con = duckdb.connect(str(r.ws.db_path), read_only=True)
    try:
        assert con.execute("SELECT count(DISTINCT org_code) FROM indicator_values").fetchone()[0] == len(MEMBERS)
    finally:
        con.close()


def _fsize_limit(limit: int):
    def limit_file_size() -> None:  # pragma: no cover - runs in the child
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_file_size


@pytest.mark.slow
def test_attack_10_file_size_limit_during_ingest_is_the_same_clear_message(round_):
    """Without root (no tmpfs) the same path is taken with a file size limit: writes past it fail with
    EFBIG, which is reported like a full disk."""
    proc = rbb("ingest", root=round_.ws.root, preexec_fn=_fsize_limit(300 * 1024))
    assert_out_of_space_message(proc)
    proc = cli("ingest", "--root", str(round_.ws.root))  # the next run: in this process, no limit on it
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    round_.check()


def test_out_of_space_is_recognised_in_os_and_duckdb_errors():
    from pipeline.core.workspace import OutOfSpace, is_out_of_space

    assert is_out_of_space(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/x/benchmark.duckdb"))
    assert is_out_of_space(
        duckdb.TransactionException(
            'TransactionContext Error: Failed to commit: Could not write file "/x/benchmark.duckdb.wal": No space left on device'
        )
    )
    assert not is_out_of_space(duckdb.IOException("Could not set lock on file"))
    message = str(OutOfSpace(("niets", "nothing"), OSError(errno.ENOSPC, "No space left on device", "/x/y.csv")))
    assert "/x/y.csv" in message and "Schijf vol" in message and "Out of disk space" in message


# ------------------------------------------------------------------ attack 11: terminal escapes and look-alikes


def test_attack_11_escape_sequences_in_file_names_are_printed_escaped(attacked):
    """A workbook named EVIL (COA's valid demo delivery, in COA's folder): `rbb ingest` and `rbb check` print
    its name with the escapes and the bidi override made visible."""
    assert attacked.evil.name == EVIL
    for proc in (attacked.cli_ingest, attacked.cli_check):
        out = proc.stdout + proc.stderr
        assert "Traceback" not in out, out[-2000:]
        for raw in ("\x1b", "\x07", "\u202e"):
            assert raw not in out, repr(out[-500:])
        assert "\\x1b" in out and "<U+202E>" in out, repr(out[-1500:])


def test_terminal_safe_makes_controls_and_bidi_visible():
    assert terminal_safe("gewoon café 😀") == "gewoon café 😀"
    assert terminal_safe("a\x1b[31mb") == "a\\x1b[31mb"
    assert terminal_safe("x\u202ey\u2066z\u200f") == "x<U+202E>y<U+2066>z<U+200F>"
    assert terminal_safe("\x9b\x00\x7f\t\n") == "\\x9b\\x00\\x7f\\t\\n"
    assert terminal_safe(os.fsdecode(b"caf\xe9")) == "caf\\xe9"


def test_attack_11_dotless_i_org_folder_is_not_cjib(attacked):
    round_ = attacked.round
    result = attacked.results["cjib_levering"]
    assert result.status == "rejected" and result.org_code != "CJIB"
    (finding,) = [f for f in result.findings if f.severity == "error"]
    assert (
        finding.rule == "file_org_unknown"
        and "Bedoelt u CJIB?" in finding.message_nl
        and "Did you mean CJIB?" in finding.message_en
    )
    assert not [s for s in submissions(round_.ws.db_path) if s["org_code"] == "CJIB"]
    round_.check()


def test_register_codes_match_exactly_and_look_alikes_get_a_suggestion():
    codes = {"CJIB", "DUO", "COA", "UWV"}
    assert register_code("cjib", codes) == ("CJIB", None)
    assert register_code("Duo", codes) == ("DUO", None)
    for name, meant in (("cjıb", "CJIB"), ("ＣＪＩＢ", "CJIB"), ("DUО", "DUO"), ("C0A", "COA"), ("ÜWV", "UWV")):
        assert register_code(name, codes) == (None, meant), name
    assert register_code("XYZ", codes) == (None, None)


@pytest.mark.parametrize("folder", LOOKALIKE_YEARS)
def test_attack_11_fullwidth_year_folder_is_not_2024(attacked, folder):
    round_ = attacked.round
    result = attacked.results[lookalike_year_name(folder)]
    assert result.org_code == "SVB"
    assert result.year == 0 and result.status == "rejected"
    assert [f.rule for f in result.findings] == ["file_year_folder"]
    assert not [s for s in submissions(round_.ws.db_path) if s["year"] == 2024]
    round_.check()


def test_attack_11_fullwidth_digits_and_look_alike_codes_in_cells_are_not_accepted(attacked):
    result = attacked.results["lookalikes"]
    assert result.status == "rejected"
    errors = {(f.field, f.rule) for f in result.findings if f.severity == "error"}
    assert ("fte_totaal", "type") in errors and ("kanaal", "code_list") in errors, errors
    attacked.round.check()
