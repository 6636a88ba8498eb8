"""Fuzzing readers, validation and loading with malformed CSV and xlsx deliveries (hypothesis).

Every generated delivery is a mutation of the valid DUO 2025 demo delivery (its survey cut to a few
respondents to keep the runs short): byte flips, truncation, random cell values, other delimiters and
encodings, duplicated, renamed and missing headers, missing, empty and doubled files, broken sheet XML,
entity declarations past the first 4 KB, formulas behind an unparseable part, cells without ``r=``.
``check_files`` must turn every one into findings without raising and without writing; ``ingest`` must
load exactly the accepted ones, completely. A third run puts links (to a file and a folder outside
``data/raw``, dangling, looping, to ``/dev/zero``), FIFOs, look-alike year and organisation folders and
broken case files among the deliveries: ingest must finish (bounded by an alarm), record every one of
them with a finding, read nothing outside ``data/raw`` and load no delivery in part.

Sample sizes: by default a bounded sample of about a third of the long form (a batch costs one fixed
validation run, so the default runs fewer batches); ``pytest --long`` (or ``RBB_LONG=1``) runs the long
form. Both draw the same inputs every run (derandomised hypothesis); ``RBB_FUZZ_RANDOM=1`` draws new ones.
Deliveries per test, default -> long (batches x deliveries):

* CSV through check_files: 2 x 150 = 300 -> 5 x 176 = 880
* xlsx content through check_files: 1 x 40 -> 2 x 60 = 120
* xlsx container damage through check_files: 1 x 20 -> 1 x 60 (each plus one explicit case)
* ingest loads exactly the accepted deliveries: 1 x 8 -> 2 x 12 = 24
* ingest with links, special files and broken case files: 1 x 7 -> 2 x 7 = 14

Run the long form with ``python -m pytest --long tests/integration/test_fuzz.py``.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import signal
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path

import duckdb
import hostile
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rounds import fact_tables

from pipeline.core.workspace import Workspace
from pipeline.ingest.readers import read_submission
from pipeline.metadata.registry import load_organisations, registry
from pipeline.validate import check_files
from pipeline.validate import run as ingest

YEAR = 2025
ORG = "DUO"
SURVEY_ROWS = 12
# (batches, deliveries per batch) of each fuzz test: the default sample, and the long form (--long)
SIZES = {
    "csv": ((2, 150), (5, 176)),
    "xlsx_content": ((1, 40), (2, 60)),
    "xlsx_container": ((1, 20), (1, 60)),
    "ingest": ((1, 8), (2, 12)),
    "round": ((1, 7), (2, 7)),
}


@pytest.fixture(scope="module")
def long_form(request) -> bool:
    """The long form, as tests/conftest.py decides it: ``--long`` or ``RBB_LONG=1``. (The hypothesis settings
    are applied inside each test, so they can follow it.)"""
    return bool(request.config.getoption("--long")) or os.environ.get("RBB_LONG") == "1"


def fuzz_settings(batches: int):
    """One example is a batch of deliveries, validated together as ``rbb check`` does; no shrinking (a failure
    names the mutations of the failing delivery). The same inputs every run, so the suite is reproducible;
    ``RBB_FUZZ_RANDOM=1`` draws new ones (for longer fuzzing sessions)."""
    return settings(
        max_examples=batches,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize="RBB_FUZZ_RANDOM" not in os.environ,
    )


SPECIAL_VALUES = [
    "",
    " ",
    "n.v.t.",
    "-",
    "0",
    "-0",
    "-1",
    "1e308",
    "-1e308",
    "1e309",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "1.234.567",
    "1,234,567",
    "1.234,5",
    "12,5%",
    "€ 1.000",
    "1 000",
    "0x1F",
    "1_000",
    "١٢٣",
    "½",
    "=1+1",
    '=HYPERLINK("http://evil.example","klik")',
    "+31 20",
    "@SUM(A1)",
    "\t=1",
    "'",
    '"',
    '""',
    ";",
    "\x00",
    "\u202e",
    "\ufeff",
    "ja",
    "nee",
    "JA",
    "DUO",
    "duo",
    "XXX",
    "31-12-2025",
    "2025",
    "99999999999999999999",
    "9" * 400,
    "a" * 5000,
    "\r\n",
    "\n",
    "é" * 3,
    "😀",
]


# ------------------------------------------------------------------ the valid base delivery


def trimmed(delivery: hostile.Delivery) -> hostile.Delivery:
    out = hostile.copy_delivery(delivery)
    if "enquete" in out:
        out["enquete"] = out["enquete"][: 1 + SURVEY_ROWS]
    return out


@pytest.fixture(scope="module")
def base(demo_workspace) -> hostile.Delivery:
    folder = demo_workspace.raw / str(YEAR) / ORG
    (delivery,) = [p for p in folder.iterdir() if p.is_dir()]
    rows = trimmed(hostile.read_csv_delivery(delivery))
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = hostile.write_csv_delivery(Path(tmp) / "base", rows)
        xlsx_path = hostile.write_workbook(Path(tmp) / "base.xlsx", hostile.typed_delivery(rows))
        for _, item in check_files([csv_path, xlsx_path]):
            assert item.n_errors == 0, [(f.rule, f.cell, f.message_en) for f in item.findings]
    return rows


# ------------------------------------------------------------------ mutations


@st.composite
def csv_operation(draw):
    kind = draw(
        st.sampled_from(
            [
                "flip",
                "truncate",
                "cell",
                "cell",
                "cell",
                "delimiter",
                "encoding",
                "header",
                "header",
                "file",
                "insert",
                "rows",
            ]
        )
    )
    sheet = draw(st.sampled_from(["organisatie", "producten", "kanalen", "enquete", "toelichting"]))
    if kind == "flip":
        return (
            kind,
            sheet,
            draw(st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=8)),
        )
    if kind == "truncate":
        return (kind, sheet, draw(st.floats(0, 1)))
    if kind == "cell":
        value = draw(
            st.one_of(
                st.sampled_from(SPECIAL_VALUES),
                st.text(max_size=40),
                st.floats(allow_nan=True, allow_infinity=True).map(str),
                st.integers(-(10**20), 10**20).map(str),
            )
        )
        return (kind, sheet, draw(st.integers(0, 50)), draw(st.integers(0, 60)), value)
    if kind == "delimiter":
        return (kind, sheet, draw(st.sampled_from([",", "\t", "|", ":", " ", "'"])))
    if kind == "encoding":
        return (
            kind,
            sheet,
            draw(
                st.sampled_from(
                    [
                        "utf-8",
                        "cp1252",
                        "utf-16",
                        "utf-16-le",
                        "utf-16-be",
                        "utf-32",
                        "latin-1",
                        "mac_roman",
                        "cp850",
                        "utf-7",
                    ]
                )
            ),
        )
    if kind == "header":
        return (
            kind,
            sheet,
            draw(st.sampled_from(["duplicate", "blank", "drop_row", "rename", "swap", "upper", "labels", "shift"])),
            draw(st.integers(0, 60)),
            draw(st.integers(0, 60)),
            draw(st.text(max_size=12)),
        )
    if kind == "file":
        return (
            kind,
            sheet,
            draw(st.sampled_from(["drop", "empty", "double", "rename_txt", "junk", "nul", "bom_only"])),
        )
    if kind == "insert":
        return (
            kind,
            sheet,
            draw(st.integers(0, 10**6)),
            draw(st.sampled_from(['"', "\x00", "\r", "\n", ";", "\ufeff", "\x1a", "\\", "\u2028"])),
        )
    return (
        kind,
        sheet,
        draw(st.sampled_from(["blank", "ragged", "duplicate_row", "many", "only_header"])),
        draw(st.integers(0, 50)),
    )


def apply_csv(base: hostile.Delivery, ops: list[tuple]) -> dict[str, bytes]:
    """The files of a mutated CSV delivery: name -> bytes."""
    rows = hostile.copy_delivery(base)
    style = {code: ("utf-8-sig", ";") for code in rows}
    extra: dict[str, bytes] = {}
    byte_ops = []
    for op in ops:
        kind, sheet = op[0], op[1]
        if sheet not in rows:
            continue
        table = rows[sheet]
        if kind == "cell" and len(table) > 1:
            r = table[1 + op[2] % (len(table) - 1)]
            r[op[3] % len(r)] = op[4]
        elif kind == "delimiter":
            style[sheet] = (style[sheet][0], op[2])
        elif kind == "encoding":
            style[sheet] = (op[2], style[sheet][1])
        elif kind == "header":
            header, what, i, j, text = table[0], op[2], op[3] % len(table[0]), op[4] % len(table[0]), op[5]
            if what == "duplicate":
                header[i] = header[j]
            elif what == "blank":
                header[i] = ""
            elif what == "drop_row":
                table.pop(0)
            elif what == "rename":
                header[i] = text
            elif what == "swap":
                header[i], header[j] = header[j], header[i]
            elif what == "upper":
                table[0] = [h.upper() for h in header]
            elif what == "labels":
                sheet_def = registry().sheet(sheet)
                labels = {f.code: f.label_nl for f in sheet_def.fields}
                table[0] = [labels.get(h, h) for h in header]
            elif what == "shift":
                table[0] = [""] + header[:-1]
        elif kind == "rows":
            what, i = op[2], op[3]
            if what == "blank":
                table.insert(1 + i % len(table), [""] * len(table[0]))
            elif what == "ragged" and len(table) > 1:
                r = table[1 + i % (len(table) - 1)]
                del r[len(r) // 2 :]
            elif what == "duplicate_row" and len(table) > 1:
                table.append(list(table[1 + i % (len(table) - 1)]))
            elif what == "many" and len(table) > 1:
                table.extend(list(table[1]) for _ in range(200))
            elif what == "only_header":
                del table[1:]
        else:
            byte_ops.append(op)
    files = {}
    for code, table in rows.items():
        enc, delim = style[code]
        try:
            files[f"{code}.csv"] = hostile.csv_bytes(table, enc, delim)
        except UnicodeEncodeError:
            files[f"{code}.csv"] = hostile.csv_bytes(table, "utf-8", delim)
    for op in byte_ops:
        kind, name = op[0], f"{op[1]}.csv"
        if name not in files:
            continue
        data = bytearray(files[name])
        if kind == "flip" and data:
            for pos, xor in op[2]:
                data[pos % len(data)] ^= xor
        elif kind == "truncate":
            del data[int(len(data) * op[2]) :]
        elif kind == "insert":
            pos = op[2] % (len(data) + 1)
            data[pos:pos] = op[3].encode("utf-8")
        elif kind == "file":
            what = op[2]
            if what == "drop":
                del files[name]
                continue
            if what == "empty":
                data = bytearray()
            elif what == "double":
                extra[f"{op[1].capitalize()}.txt"] = bytes(data)
            elif what == "rename_txt":
                del files[name]
                files[f"{op[1]}.txt"] = bytes(data)
                continue
            elif what == "junk":
                extra["notities.docx"] = b"PK\x03\x04" + bytes(data[:100])
            elif what == "nul":
                data = bytearray(b"\x00" * 64) + data
            elif what == "bom_only":
                data = bytearray(b"\xef\xbb\xbf")
        files[name] = bytes(data)
    files.update(extra)
    return files


CONTAINER_DAMAGE = ("zip_flip", "truncate", "deflate")
CONTENT_DAMAGE = ("xml_flip", "xml_cut", "cell", "cell", "cell", "header", "sheet_name", "member", "part")
# parts of a workbook that must always reject it (whatever else the mutation did)
MUST_REJECT = ("entity_after_4kb", "broken_workbook_part", "too_wide_without_refs")


@st.composite
def xlsx_operation(draw, kinds=CONTENT_DAMAGE):
    kind = draw(st.sampled_from(kinds))
    sheet = draw(st.sampled_from(["organisatie", "producten", "kanalen", "enquete", "toelichting"]))
    if kind == "zip_flip":
        return (
            kind,
            sheet,
            draw(st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=4)),
        )
    if kind in ("truncate",):
        return (kind, sheet, draw(st.floats(0, 1)))
    if kind == "deflate":
        return (kind, sheet)
    if kind == "xml_flip":
        return (
            kind,
            sheet,
            draw(st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=6)),
        )
    if kind == "xml_cut":
        return (kind, sheet, draw(st.floats(0, 1)))
    if kind == "cell":
        value = draw(
            st.one_of(
                st.sampled_from(SPECIAL_VALUES),
                st.text(max_size=40),
                st.floats(allow_nan=False, allow_infinity=False),
                st.integers(-(10**18), 10**18),
                st.booleans(),
                st.sampled_from(
                    [
                        hostile.Formula("1+1", 2),
                        hostile.Formula("1/0"),
                        hostile.Formula("A1", "DUO"),
                        hostile.RawCell("", "<v>NaN</v>"),
                        hostile.RawCell("", "<v>inf</v>"),
                        hostile.RawCell("", "<v>1e999</v>"),
                        hostile.RawCell("", "<v></v>"),
                        hostile.RawCell("", "<v>abc</v>"),
                        hostile.RawCell(' t="e"', "<v>#DIV/0!</v>"),
                        hostile.RawCell(' t="s"', "<v>7</v>"),
                        hostile.RawCell(' t="d"', "<v>2025-13-45</v>"),
                        hostile.RawCell(' t="n"', "<v>45000.5</v>"),
                        hostile.RawCell(' s="99"', "<v>1</v>"),
                    ]
                ),
            )
        )
        return (kind, sheet, draw(st.integers(0, 50)), draw(st.integers(0, 60)), value)
    if kind == "header":
        return (
            kind,
            sheet,
            draw(st.sampled_from(["duplicate", "blank", "drop_row", "rename", "swap"])),
            draw(st.integers(0, 60)),
            draw(st.integers(0, 60)),
            draw(st.text(max_size=12)),
        )
    if kind == "sheet_name":
        return (
            kind,
            sheet,
            draw(st.sampled_from(["Organisatie", "Products", "producten", "Blad1", " Kanalen ", "ENQUETE", "x" * 31])),
        )
    if kind == "part":
        return (
            kind,
            sheet,
            draw(st.sampled_from(MUST_REJECT + ("without_refs",))),
            draw(st.sampled_from(sorted(hostile.BROKEN_WORKBOOK_XML))),
        )
    return (kind, sheet, draw(st.sampled_from(["drop_workbook", "drop_sheet", "drop_rels", "drop_types", "dupe"])))


def apply_xlsx(typed: hostile.Delivery, ops: list[tuple]) -> bytes:
    delivery = hostile.copy_delivery(typed)
    renames: dict[str, str] = {}
    for op in ops:
        kind, sheet = op[0], op[1]
        table = delivery.get(sheet)
        if table is None:
            continue
        if kind == "cell" and len(table) > 1:
            r = table[1 + op[2] % (len(table) - 1)]
            r[op[3] % len(r)] = op[4]
        elif kind == "header":
            header, what, i, j, text = table[0], op[2], op[3] % len(table[0]), op[4] % len(table[0]), op[5]
            if what == "duplicate":
                header[i] = header[j]
            elif what == "blank":
                header[i] = None
            elif what == "drop_row":
                table.pop(0)
            elif what == "rename":
                header[i] = text
            elif what == "swap":
                header[i], header[j] = header[j], header[i]
        elif kind == "sheet_name":
            renames[sheet] = op[2]
    overrides = {}
    for op in ops:
        if op[0] == "part" and op[2] in ("without_refs", "too_wide_without_refs") and op[1] in delivery:
            xml = _without_refs(hostile.sheet_xml(delivery[op[1]]))
            if op[2] == "too_wide_without_refs":
                xml = xml.replace("</sheetData>", "<row>" + "<c><v>1</v></c>" * 2_500 + "</row></sheetData>")
            overrides[op[1]] = xml
        elif op[0] == "part" and op[2] == "broken_workbook_part" and "producten" in delivery:
            decisions = hostile.get_cell(delivery, "producten", 0, "n_besluiten")
            if isinstance(decisions, float):
                hostile.set_cell(delivery, "producten", 0, "n_besluiten", hostile.Formula("1+1", decisions))
    data = hostile.workbook_bytes(delivery, sheet_xml_override=overrides or None)
    for op in ops:
        if op[0] == "part" and op[2] == "entity_after_4kb":
            data = _rezip(
                data,
                {
                    "xl/workbook.xml": lambda b: b.replace(
                        b"?>", b"?><!--" + b"x" * 5000 + b"--><!DOCTYPE workbook [<!ENTITY e 'x'>]>", 1
                    )
                },
            )
        elif op[0] == "part" and op[2] == "broken_workbook_part":
            data = _rezip(data, {"xl/workbook.xml": hostile.BROKEN_WORKBOOK_XML[op[3]]})
    if renames:
        data = _rezip(data, {"xl/workbook.xml": lambda b: _rename_sheets(b, renames)})
    for op in ops:
        kind, sheet = op[0], op[1]
        member = hostile.sheet_member(delivery, sheet) if sheet in delivery else None
        if kind == "zip_flip" and data:
            buf = bytearray(data)
            for pos, xor in op[2]:
                buf[pos % len(buf)] ^= xor
            data = bytes(buf)
        elif kind == "truncate":
            data = data[: int(len(data) * op[2])]
        elif kind == "deflate" and member:
            try:
                data = hostile.corrupt_deflate(data, member)
            except KeyError:
                pass
        elif kind in ("xml_flip", "xml_cut") and member:

            def edit(b: bytes, op=op) -> bytes:
                if op[0] == "xml_cut":
                    return b[: int(len(b) * op[2])]
                buf = bytearray(b)
                for pos, xor in op[2] if buf else ():  # an earlier cut may have emptied the part
                    buf[pos % len(buf)] ^= xor
                return bytes(buf)

            data = _rezip(data, {member: edit})
        elif kind == "member":
            what = op[2]
            target = {
                "drop_workbook": "xl/workbook.xml",
                "drop_sheet": member,
                "drop_rels": "xl/_rels/workbook.xml.rels",
                "drop_types": "[Content_Types].xml",
                "dupe": None,
            }[what]
            data = _rezip(data, {target: None} if target else {}, duplicate=member if what == "dupe" else None)
    return data


def _without_refs(xml: str) -> str:
    """Sheet XML with every ``r=`` attribute of rows and cells removed (cells then follow each other)."""
    import re

    return re.sub(r'<(row|c) r="[A-Z]*[0-9]+"', r"<\1", xml)


def _rename_sheets(workbook_xml: bytes, renames: dict[str, str]) -> bytes:
    text = workbook_xml.decode()
    reg = registry()
    for code, name in renames.items():
        text = text.replace(f'name="{reg.sheet(code).name_nl}"', f'name="{name}"')
    return text.encode()


def _rezip(data: bytes, edits: dict, duplicate: str | None = None) -> bytes:
    """Rewrite members of a zip: an edit function per member, None to drop it."""
    try:
        src = zipfile.ZipFile(io.BytesIO(data))
        members = [(i.filename, src.read(i)) for i in src.infolist()]
    except (zipfile.BadZipFile, zlib.error, KeyError, OSError, EOFError, ValueError, NotImplementedError):
        return data
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore")
        for name, body in members:
            if name in edits:
                if edits[name] is None:
                    continue
                body = edits[name](body)
            zf.writestr(name, body)
            if name == duplicate:
                zf.writestr(zipfile.ZipInfo(name), body)
    return out.getvalue()


# ------------------------------------------------------------------ invariants


def assert_well_formed(item) -> None:
    for f in item.findings:
        assert f.severity in ("error", "warning", "info"), f
        assert f.rule and f.message_nl.strip() and f.message_en.strip(), f
        assert f.value is None or len(f.value) <= 80, f
    if item.n_errors:
        return
    reg = registry()
    members = {o.org_code for o in load_organisations(None)}
    for sheet in getattr(reg, "sheet_level", reg.sheets):
        frame = item.frames.get(sheet.code)
        if sheet.required:
            assert frame is not None and len(frame), f"accepted without rows on {sheet.code}"
        if frame is None:
            continue
        for f in sheet.fields:
            if f.code not in frame.columns:
                assert not f.required, f"accepted without required column {sheet.code}.{f.code}"
                continue
            values = frame[f.code].tolist()
            states = frame[f"{f.code}__state"].tolist() if f"{f.code}__state" in frame.columns else [None] * len(values)
            if f.required:
                # answered: a value, or an answer the field accepts (n.v.t., onbekend), never an empty cell
                assert all(
                    (v is not None and not (isinstance(v, float) and math.isnan(v))) or s in f.missing
                    for v, s in zip(values, states)
                ), f"accepted with an empty required {sheet.code}.{f.code}"
            if f.is_numeric:
                for v in values:
                    if v is None or (isinstance(v, float) and math.isnan(v)):
                        continue
                    assert math.isfinite(v), f"accepted with {v} in {sheet.code}.{f.code}"
                    assert f.min is None or v >= f.min, f"accepted with {v} in {sheet.code}.{f.code}"
                    assert f.max is None or v <= f.max, f"accepted with {v} in {sheet.code}.{f.code}"
    org = item.frames["organisatie"]["org_code"].iloc[0]
    assert org in members, f"accepted with organisation {org!r}"


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def write_case(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


# ------------------------------------------------------------------ check_files (no writes)


def batch(operation, size: int):
    return st.lists(st.lists(operation, min_size=1, max_size=3), min_size=size, max_size=size, unique_by=repr)


def check_batch(paths: list[Path], cases: list, folder: Path) -> None:
    before = snapshot(folder)
    results = check_files(paths)
    assert snapshot(folder) == before, "check_files wrote files"
    assert [p for p, _ in results] == paths
    for (path, item), ops in zip(results, cases):
        try:
            assert_well_formed(item)
            if any(op[0] == "part" and op[2] in MUST_REJECT for op in ops):
                assert item.n_errors, "accepted a workbook with an entity, a broken part or an oversized row"
        except AssertionError as exc:
            raise AssertionError(f"{path.name}: {exc}\nmutations: {ops!r}") from None


def test_fuzz_csv_deliveries_through_check_files(base, long_form):
    batches, per_batch = SIZES["csv"][long_form]
    checked: list[int] = []

    @fuzz_settings(batches)
    @given(batch(csv_operation(), per_batch))
    def run(cases):
        with tempfile.TemporaryDirectory() as tmp:
            paths = [write_case(Path(tmp) / f"case{i}", apply_csv(base, ops)) for i, ops in enumerate(cases)]
            check_batch(paths, cases, Path(tmp))
        checked.append(len(cases))

    run()
    assert sum(checked) == batches * per_batch


def xlsx_batch_run(base, operations, batches: int, per_batch: int, explicit: list | None = None) -> int:
    """``explicit`` cases (each a list of operations) are added to the first batch: checked every run,
    without a validation run of their own."""
    typed = hostile.typed_delivery(base)
    checked: list[int] = []

    @fuzz_settings(batches)
    @given(batch(operations, per_batch))
    def run(cases):
        if not checked and explicit:
            cases = [*explicit, *(ops for ops in cases if ops not in explicit)]
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for i, ops in enumerate(cases):
                paths.append(Path(tmp) / f"case{i}.xlsx")
                paths[-1].write_bytes(apply_xlsx(typed, ops))
            check_batch(paths, cases, Path(tmp))
        checked.append(len(cases))

    run()
    return sum(checked)


def test_fuzz_xlsx_content_through_check_files(base, long_form):
    batches, per_batch = SIZES["xlsx_content"][long_form]
    assert xlsx_batch_run(base, xlsx_operation(), batches, per_batch) >= batches * per_batch


def test_fuzz_xlsx_container_damage_through_check_files(base, long_form):
    batches, per_batch = SIZES["xlsx_container"][long_form]
    assert (
        xlsx_batch_run(
            base,
            xlsx_operation(CONTAINER_DAMAGE + CONTENT_DAMAGE),
            batches,
            per_batch,
            explicit=[[("deflate", "organisatie")]],
        )
        >= batches * per_batch
    )


# ------------------------------------------------------------------ ingest (loads exactly the accepted deliveries)


def loaded_rows(con: duckdb.DuckDBPyConnection, sid: int) -> dict[str, int]:
    counts = {
        t: con.execute(f"SELECT count(*) FROM {t} WHERE submission_id = ?", [sid]).fetchone()[0]
        for t in fact_tables(con)
    }
    return {t: n for t, n in counts.items() if n}


def test_fuzz_ingest_loads_exactly_the_accepted_deliveries(base, tmp_path_factory, long_form):
    batches, per_batch = SIZES["ingest"][long_form]
    typed = hostile.typed_delivery(base)
    reg = registry()
    ingested: list[int] = []
    case = st.tuples(
        st.booleans(),
        st.lists(csv_operation(), min_size=1, max_size=2),
        st.lists(xlsx_operation(CONTENT_DAMAGE), min_size=1, max_size=2),
    )

    @fuzz_settings(batches)
    @given(st.lists(case, min_size=per_batch, max_size=per_batch, unique_by=repr))
    def run(cases):
        ws = Workspace.at(tmp_path_factory.mktemp("fuzz_ingest")).ensure()
        folder = ws.raw / str(YEAR) / ORG
        folder.mkdir(parents=True)
        read_rows = {}
        for i, (as_xlsx, csv_ops, xlsx_ops) in enumerate(cases):
            if as_xlsx:
                path = folder / f"case{i:02d}.xlsx"
                path.write_bytes(apply_xlsx(typed, xlsx_ops))
            else:
                path = write_case(folder / f"case{i:02d}", apply_csv(base, csv_ops))
            raw = read_submission(path, reg)
            read_rows[path.name] = {f"f_{code}": len(sheet.rows) for code, sheet in raw.sheets.items() if sheet.rows}
        results = ingest(ws)
        assert sorted(r.name for r in results) == sorted(read_rows)
        con = duckdb.connect(str(ws.db_path), read_only=True)
        try:
            subs = con.execute("SELECT submission_id, original_name, status FROM submissions").fetchall()
            assert len(subs) == len(cases)
            for sid, name, status in subs:
                got = loaded_rows(con, sid)
                if status == "rejected":
                    assert got == {}, f"{name} was rejected but has rows {got}"
                else:
                    assert got == read_rows[name], f"{name}: loaded {got}, read {read_rows[name]}"
            in_force = con.execute("SELECT count(*) FROM submissions WHERE in_force").fetchone()[0]
            assert in_force == (1 if any(s != "rejected" for _, _, s in subs) else 0)
        finally:
            con.close()
        shutil.rmtree(ws.root)
        ingested.append(len(cases))

    run()
    assert sum(ingested) == batches * per_batch


# ------------------------------------------------------------------ ingest with links, special files and broken case files

FS_ENTRIES = (
    "link_to_file",
    "link_to_folder",
    "dangling_link",
    "link_loop",
    "link_to_dev_zero",
    "fifo",
    "link_in_delivery",
    "fifo_in_delivery",
    "superscript_year",
    "fullwidth_year",
    "lookalike_org",
    "case_file",
    "case_file",
)
SECRET = b"OUTSIDE-DATA-RAW-7f3a9c " * 8
HANG_LIMIT_S = 600


@st.composite
def fs_entry(draw):
    kind = draw(st.sampled_from(FS_ENTRIES))
    if kind == "case_file":
        return (kind, draw(st.sampled_from(hostile.MALFORMED_CASES + ("valid", "valid"))), draw(st.integers(0, 10**6)))
    return (kind, None, 0)


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"ingest did not finish within {HANG_LIMIT_S} s")


def test_fuzz_ingest_with_links_special_files_and_broken_case_files(base, tmp_path_factory, long_form):
    batches, entries_per_batch = SIZES["round"][long_form]
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_bytes(SECRET)
    (outside / "organisatie.csv").write_bytes(SECRET)
    (outside / "hidden-name-LOOKALIKE.csv").write_bytes(SECRET)
    done: list[int] = []

    @fuzz_settings(batches)
    @given(st.lists(fs_entry(), min_size=entries_per_batch, max_size=entries_per_batch))
    def run(entries):
        ws = Workspace.at(tmp_path_factory.mktemp("fuzz_round")).ensure()
        year_dir = ws.raw / str(YEAR)
        hostile.write_csv_delivery(year_dir / ORG / "base", base)
        expect: dict[str, str] = {"base": "accepted"}  # delivery name -> "accepted" | "rejected"
        for i, (kind, case_kind, seed) in enumerate(entries):
            name = f"e{i:02d}_{kind}"
            where = year_dir / ORG / name
            if kind == "link_to_file":
                where.symlink_to(outside / "secret.txt")
            elif kind == "link_to_folder":
                where.symlink_to(outside, target_is_directory=True)
            elif kind == "dangling_link":
                where.symlink_to(outside / "does-not-exist")
            elif kind == "link_loop":
                where.symlink_to(where)
            elif kind == "link_to_dev_zero":
                where.symlink_to("/dev/zero")
            elif kind == "fifo":
                os.mkfifo(where)
            elif kind in ("link_in_delivery", "fifo_in_delivery"):
                hostile.write_csv_delivery(where, base)
                (where / "toelichting.csv").unlink(missing_ok=True)
                if kind == "fifo_in_delivery":
                    os.mkfifo(where / "toelichting.csv")
                else:
                    (where / "toelichting.csv").symlink_to(outside / "secret.txt")
            elif kind in ("superscript_year", "fullwidth_year", "lookalike_org"):
                folder = {
                    "superscript_year": ws.raw / "²⁰²⁵" / ORG,
                    "fullwidth_year": ws.raw / "２０２５" / ORG,
                    "lookalike_org": year_dir / "DUО",
                }[kind]  # a Cyrillic О
                where = hostile.write_csv_delivery(folder / name, base)
                (where / f"{name}.md").write_text(name)  # its own checksum
            else:
                where = hostile.write_csv_delivery(where, base)
                (where / f"{name}.md").write_text(name)
                if case_kind == "valid":
                    hostile.case_file(where / "zaken.csv", hostile.case_lines(25, seed))
                else:
                    hostile.malformed_case_file(where / "zaken.csv", case_kind, n=25, seed=seed, long_bytes=200_000)
                    expect[name] = "rejected"
                    continue
                expect[name] = "accepted"
                continue
            expect[name] = "rejected"
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(HANG_LIMIT_S)
        try:
            results = ingest(ws)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
        by_name = {r.name: r for r in results}
        assert set(by_name) == set(expect), (sorted(by_name), sorted(expect))
        for name, want in expect.items():
            got = by_name[name]
            if want == "rejected":
                assert got.status == "rejected" and got.n_errors, (name, [(f.rule, f.message_en) for f in got.findings])
            else:
                assert got.status != "rejected", (
                    name,
                    [(f.rule, f.message_en) for f in got.findings if f.severity == "error"],
                )
            for f in got.findings:
                assert f.message_nl.strip() and f.message_en.strip() and f.severity in ("error", "warning", "info")
        con = duckdb.connect(str(ws.db_path), read_only=True)
        try:
            subs = con.execute("SELECT submission_id, original_name, status FROM submissions").fetchall()
            texts = " ".join(
                str(v)
                for row in con.execute("SELECT cell, value, message_nl, message_en FROM findings").fetchall()
                for v in row
            )
            for sid, name, status in subs:
                got = loaded_rows(con, sid)
                if status == "rejected":
                    assert got == {}, f"{name} was rejected but has rows {got}"
                else:
                    assert got.get("f_organisatie") == 1 and got.get("f_producten"), (name, got)
                    if "case_file" in name:
                        assert got.get("f_zaken_agg"), (name, got)
        finally:
            con.close()
        assert "LOOKALIKE" not in texts and "secret.txt" not in texts
        for p in ws.inbox.rglob("*"):
            assert not p.is_symlink(), p
            if p.is_file():
                assert SECRET[:24] not in p.read_bytes(), f"{p} holds data from outside data/raw"
        shutil.rmtree(ws.root)
        done.append(len(entries))

    run()
    assert sum(done) == batches * entries_per_batch
