"""A download behind every table and chart on every page type: a CSV (Dutch Excel dialect in Dutch pages) and
an XLSX, inline or as a file beside the page, holding the same rows as the table, safe to open."""

from __future__ import annotations

import base64
import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pytest
from workspaces import dutch

from pipeline.report.downloads import xlsx_bytes
from pipeline.report.figures import csv_data_uri, num

YEAR = 2025
VOID = {"br", "img", "meta", "link", "input", "hr", "col", "wbr", "source", "area", "base"}
FORMULA = ("=", "+", "-", "@", "\t", "\r")
NEGATIVE = re.compile(r"-\d[\d.,]*")


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []
        self.text: list[str] = []

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    def find(self, tag: str) -> list[Node]:
        return [n for n in self.walk() if n.tag == tag]

    def closest(self, pred) -> Node | None:
        n = self
        while n is not None and not pred(n):
            n = n.parent
        return n

    def content(self) -> str:
        return " ".join(" ".join(t for n in self.walk() for t in n.text).split())


class Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.node = Node("#root", {}, None)
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.node)
        self.node.children.append(node)
        if tag in ("script", "style"):
            self._skip += 1
        if tag not in VOID:
            self.node = node

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        n = self.node
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.node = n.parent

    def handle_data(self, data):
        if not self._skip:
            self.node.text.append(data)


def parse(path: Path) -> Node:
    tree = Tree()
    tree.feed(path.read_text("utf-8"))
    return tree.root


def fetch(page: Path, href: str) -> bytes:
    if href.startswith("data:"):
        head, body = href.split(",", 1)
        return base64.b64decode(body) if head.endswith(";base64") else unquote(body).encode("utf-8")
    target = (page.parent / unquote(href)).resolve()
    assert target.is_file(), f"{page.name}: {href} does not exist"
    return target.read_bytes()


def csv_rows(data: bytes, lang: str) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte order mark"
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";" if lang == "nl" else ","))


def xlsx_rows(data: bytes) -> list[list[object]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    (sheet,) = book.worksheets
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"a formula in {cell.coordinate}"
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def norm(text: object) -> str:
    return " ".join(str(text or "").split()).lstrip("'")


def check_page(path: Path) -> dict[str, int]:
    """Every table has its downloads in its .table-block; every chart has the downloads of its figure."""
    lang = "en" if path.name.endswith(".en.html") else "nl"  # a release diff page: Dutch Excel CSV, as its file
    # The overview and member reports name members and themes by label on screen and by code in the files, so
    # there the rows are matched by count; the other pages' files start each row with the table's first cell.
    keyed = path.parent.name not in ("organisations",) and not path.name.startswith("index")
    root = parse(path)
    tables = root.find("table")
    for i, table in enumerate(tables, start=1):
        if table.attrs.get("data-interactive") == "true":
            # the what-if table: its last column is what the reader's weights make of the published ranks, computed
            # in the page; a file could not hold it (the published ranks are in the index table with its files)
            continue
        block = table.closest(lambda n: "table-block" in n.classes)
        assert block is not None, f"{path.name}: table {i} ({table.content()[:60]}) has no download"
        links = {a.attrs.get("data-format"): a for a in block.find("a") if "download" in a.attrs}
        assert set(links) == {"csv", "xlsx"}, (path.name, i, sorted(links))
        body = [
            tr
            for tr in table.find("tr")
            if tr.closest(lambda n: n.tag == "thead") is None and "empty" not in tr.classes
        ]
        rows_csv = csv_rows(fetch(path, links["csv"].attrs["href"]), lang)
        rows_xlsx = xlsx_rows(fetch(path, links["xlsx"].attrs["href"]))
        assert len(rows_csv) == len(rows_xlsx), (path.name, i)
        assert [norm(c) for c in rows_csv[0]] == [norm(c) for c in rows_xlsx[0]], (path.name, i)
        if len(rows_csv) != len(body) + 1:
            # a wide table (indicator × cluster) whose file is its long form: one key per table row
            assert not keyed and len({r[0] for r in rows_csv[1:]}) == len(body), (path.name, i, len(body))
        for tr, c_row in zip(body if len(rows_csv) == len(body) + 1 else [], rows_csv[1:]):
            first = norm([n for n in tr.children if n.tag in ("td", "th")][0].content())
            key = norm(c_row[0])
            if keyed:
                assert key in first or first in key or (first == "—" and not key), (path.name, i, first, key)
        for c_row, x_row in zip(rows_csv[1:], rows_xlsx[1:], strict=True):
            assert len(c_row) == len(x_row), (path.name, i)
            for c, x in zip(c_row, x_row, strict=True):
                if isinstance(x, (int, float)):  # the same number, in the page's dialect
                    assert float(c.replace(",", ".") if lang == "nl" else c) == pytest.approx(x), (path.name, c, x)
                else:
                    assert norm(c) == norm(x), (path.name, c, x)
                    start = c.lstrip(' "')
                    assert start[:1] not in FORMULA or NEGATIVE.fullmatch(start), (path.name, c)
    charts = [n for n in root.walk() if "plotly-graph-div" in n.classes]
    for chart in charts:
        figure = chart.closest(lambda n: "figure" in n.classes)
        assert figure is not None, f"{path.name}: chart {chart.attrs.get('id')} is not in a figure"
        blocks = [n for n in figure.walk() if "table-block" in n.classes]
        assert blocks, f"{path.name}: chart {chart.attrs.get('id')} has no download"
    return {"tables": len(tables), "charts": len(charts)}


@pytest.fixture(scope="module")
def reports(demo_workspace) -> Path:
    return demo_workspace.reports / str(YEAR)


@pytest.mark.slow
def test_every_table_and_chart_on_every_page_type_has_its_downloads(reports, demo_workspace):
    from pipeline.pilots.register import load_register

    register, _ = load_register(demo_workspace)
    org = dutch(reports / "organisations")[0]
    pages = [
        reports / "index.html",
        reports / "index.en.html",
        org,
        org.with_name(org.stem + ".en.html"),
        max((reports / "validation").glob("*_v1.html"), key=lambda p: p.stat().st_size),
        *sorted((reports / "validation").glob("*_v*.en.html"))[:2],
        reports / "pilots.html",
        reports / "pilots.en.html",
        *[reports / "pilots" / f"{pid}{s}.html" for pid in sorted(register["pilot_id"]) for s in ("", ".en")],
        *sorted((reports / "releases").glob("diff_*.html")),
    ]
    counts = {p.relative_to(reports).as_posix(): check_page(p) for p in pages}
    assert all(c["tables"] for c in counts.values()), counts
    assert counts["index.html"]["charts"] >= 30 and counts["pilots.html"]["charts"] >= 1, counts
    assert any(k.startswith("releases/") for k in counts), "the demo should have a release diff page"
    # pages read in place keep their XLSX files beside them; self-contained pages carry them inline
    assert "data:application/vnd.openxml" not in (reports / "index.html").read_text("utf-8")
    assert "data:application/vnd.openxml" in org.read_text("utf-8")
    assert (reports / "downloads" / "index").is_dir() and (reports / "downloads" / "pilots").is_dir()


def test_xlsx_matches_the_csv_and_never_holds_a_formula():
    hostile = ["=2+5", "+cmd|' /C calc'!A0", "@SUM(1+1)", "a;=2+5", "x\u202eabc", None]
    rows = [[text, num(-2.25, 2), num(7, 0), num(None, 1)] for text in hostile]
    data = xlsx_bytes(["tekst", "=kop", "n", "leeg"], rows, "Tabel: [x]/y")
    assert data == xlsx_bytes(["tekst", "=kop", "n", "leeg"], rows, "Tabel: [x]/y"), "deterministic bytes"
    got = xlsx_rows(data)
    want = csv_rows(unquote(csv_data_uri(["tekst", "=kop", "n", "leeg"], rows, "nl").split(",", 1)[1]).encode(), "nl")
    assert [norm(c) for c in got[0]] == [norm(c) for c in want[0]] == ["tekst", "=kop", "n", "leeg"]
    assert got[0][1] == "'=kop" and got[1][0] == "'=2+5" and got[4][0] == "a;'=2+5"
    assert got[5][0] == "x<U+202E>abc" and got[6][0] in (None, "")
    assert [r[1] for r in got[1:]] == [-2.25] * len(hostile) and [r[2] for r in got[1:]] == [7] * len(hostile)
    assert all(r[3] is None for r in got[1:])


def test_workbook_zip_is_byte_for_byte_what_zipfile_writes():
    """The workbooks' own zip writer gives the bytes of Python's zipfile (deflate level 6, 0600), with and
    without the shared parts already compressed, for names in ASCII and beyond, and opens in openpyxl."""
    import datetime
    import zipfile

    from pipeline.report.xlsx import Number, write_workbook, zip_parts

    def reference(parts, stamp):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in parts:
                entry = zipfile.ZipInfo(name, date_time=stamp)
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.external_attr = 0o600 << 16
                z.writestr(entry, data, compresslevel=6)
        return out.getvalue()

    stamp = (2026, 6, 15, 10, 30, 59)
    big = ("kolom;" * 3000).encode()
    parts = [("a.xml", b"<a/>"), ("map/b.xml", big), ("naïef €.txt", "ëën".encode()), ("leeg", b"")]
    for _ in range(2):  # the second time from the cache of compressed parts
        assert zip_parts(parts, stamp) == reference(parts, stamp)
    cells = [["Indicator", "Waarde"], ["Doorlooptijd", Number(12.25, 1)], ["=1+1", 3]]
    book = write_workbook([("Tabel", cells), ("Twee", cells[:2])], datetime.datetime(2026, 1, 2, 3, 4, 5), title="T")
    names = zipfile.ZipFile(io.BytesIO(book)).namelist()
    again = [(n, zipfile.ZipFile(io.BytesIO(book)).read(n)) for n in names]
    assert book == reference(again, (2026, 1, 2, 3, 4, 4))  # zip times are in steps of two seconds
    wb = openpyxl.load_workbook(io.BytesIO(book))
    assert wb.sheetnames == ["Tabel", "Twee"]
    assert wb["Tabel"]["A3"].value == "=1+1" and wb["Tabel"]["A3"].data_type == "s"
