"""A small, deterministic XLSX writer for the report downloads: sheets of text and numbers.

The report pages carry every table as an XLSX download (``pipeline.report.downloads``), some fifty per member
report. A general spreadsheet library builds a whole object model per workbook and takes tens of milliseconds
for each; these workbooks need only a few parts of the Office Open XML format (ECMA-376 Part 1, SpreadsheetML):
the content types, the package and workbook relationships, the workbook, a style sheet (a bold header and one
number format per count of decimals), one worksheet with inline strings, a frozen first row and column widths,
and the core document properties. Written by hand they take well under a millisecond and are a few kilobytes.

Text is always written as a string (``t="inlineStr"``), never as a formula; characters XML 1.0 does not allow
must have been removed by the caller. Zip entry dates and the document dates are fixed (``created``), so the
same cells give the same bytes.
"""

from __future__ import annotations

import datetime
import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
#: decimals with a number format of their own (style index 2 + decimals - 1); more are shown as General
MAX_DECIMALS = 9
MAX_WIDTH = 60


@dataclass(frozen=True)
class Number:
    """A number shown with a fixed count of decimals (``0.0``, ``0.00``, ...)."""

    value: float | int
    decimals: int


Cell = str | int | float | Number | None


def column_letter(index: int) -> str:
    """1 → A, 26 → Z, 27 → AA."""
    out = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _number_text(x: float | int) -> str | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return str(x)
    if math.isnan(x) or math.isinf(x):
        return None
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(float(x))


def _cell_xml(ref: str, value: Cell, header: bool) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, Number):
        text = _number_text(value.value)
        if text is None:
            return ""
        style = 1 + min(max(value.decimals, 0), MAX_DECIMALS) if 0 < value.decimals <= MAX_DECIMALS else 0
        return f'<c r="{ref}"{f" s={chr(34)}{style}{chr(34)}" if style else ""}><v>{text}</v></c>'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = _number_text(value)
        return f'<c r="{ref}"><v>{text}</v></c>' if text is not None else ""
    s = ' s="1"' if header else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'


def _shown_length(value: Cell) -> int:
    if value is None:
        return 0
    if isinstance(value, Number):
        return len(f"{value.value:.{max(0, value.decimals)}f}")
    return len(str(value))


def _sheet(cells: Sequence[Sequence[Cell]]) -> str:
    width = max((len(r) for r in cells), default=0)
    cols = []
    for j in range(width):
        longest = max([_shown_length(r[j]) for r in cells[:201] if j < len(r)] + [6])
        cols.append(f'<col min="{j + 1}" max="{j + 1}" width="{min(MAX_WIDTH, longest + 2)}" customWidth="1"/>')
    letters = [column_letter(j) for j in range(1, width + 1)]
    rows = []
    for i, row in enumerate(cells, start=1):
        body = "".join(_cell_xml(f"{letter}{i}", v, i == 1) for letter, v in zip(letters, row))
        rows.append(f'<row r="{i}">{body}</row>' if body else f'<row r="{i}"/>')
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{''.join(cols)}</cols>" if cols else "")
        + f"<sheetData>{''.join(rows)}</sheetData>"
        '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
        "</worksheet>"
    )


def _styles() -> str:
    fmts = "".join(f'<numFmt numFmtId="{163 + d}" formatCode="0.{"0" * d}"/>' for d in range(1, MAX_DECIMALS + 1))
    xfs = '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    xfs += '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    xfs += "".join(
        f'<xf numFmtId="{163 + d}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        for d in range(1, MAX_DECIMALS + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<styleSheet xmlns="{MAIN_NS}">'
        f'<numFmts count="{MAX_DECIMALS}">{fmts}</numFmts>'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{2 + MAX_DECIMALS}">{xfs}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


def _core(creator: str, created: datetime.datetime, title: str | None = None) -> str:
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        + (f"<dc:title>{escape(title)}</dc:title>" if title else "")
        + f"<dc:creator>{escape(creator)}</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>"
    )


def write_xlsx(
    title: str,
    cells: Sequence[Sequence[Cell]],
    created: datetime.datetime,
    creator: str = "Rijksbrede Benchmarkgroep",
) -> bytes:
    """A workbook of one sheet named ``title`` (at most 31 characters, none of ``[]:*?/\\``): ``cells[0]`` is
    the header (bold, frozen), the rest the rows. Text cells are strings, numbers are numbers."""
    return write_workbook([(title, cells)], created, creator)


def write_workbook(
    sheets: Sequence[tuple[str, Sequence[Sequence[Cell]]]],
    created: datetime.datetime,
    creator: str = "Rijksbrede Benchmarkgroep",
    title: str | None = None,
) -> bytes:
    """A workbook of one or more sheets, each ``(name, cells)`` as in :func:`write_xlsx` (names unique), with
    ``title`` as the document title when given."""
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    n = len(sheets)
    sheet_types = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, n + 1)
    )
    sheet_list = "".join(
        f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>' for i, (name, _) in enumerate(sheets, start=1)
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        f'worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, n + 1)
    )
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + sheet_types
            + '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{PKG_REL_NS}">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
            'core-properties" Target="docProps/core.xml"/>'
            "</Relationships>"
        ),
        "docProps/core.xml": _core(creator, created, title),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{sheet_list}</sheets>"
            "</workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{PKG_REL_NS}">'
            + sheet_rels
            + f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        "xl/styles.xml": _styles(),
    }
    for i, (_, cells) in enumerate(sheets, start=1):
        parts[f"xl/worksheets/sheet{i}.xml"] = _sheet(cells)
    return zip_parts([(name, text.encode("utf-8")) for name, text in parts.items()], created.timetuple()[:6])


# ------------------------------------------------------------------ the zip container
#
# The parts go into a plain zip archive (PKWARE APPNOTE 6.3: local file headers, central directory, end
# record), byte for byte as Python's zipfile writes them with ZIP_DEFLATED at level 6 and permissions 0600
# (tested). Written here so that the parts every workbook shares (styles, relationships, properties) are
# compressed once per process instead of once per download: the reports carry some fifty workbooks each.

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_VERSION = 20  # deflate
_UNIX = 3
_ATTR = 0o600 << 16


def _deflate(data: bytes) -> tuple[int, bytes]:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return zlib.crc32(data), c.compress(data) + c.flush()


_deflate_shared = lru_cache(maxsize=256)(_deflate)


def zip_parts(parts: Sequence[tuple[str, bytes]], stamp: tuple[int, ...]) -> bytes:
    """A zip archive of ``parts`` (name, content), every entry dated ``stamp`` (year, month, day, hour,
    minute, second); parts of at most 4 KiB are compressed once and reused (the shared parts of every workbook;
    a worksheet is larger or differs)."""
    dosdate = (stamp[0] - 1980) << 9 | stamp[1] << 5 | stamp[2]
    dostime = stamp[3] << 11 | stamp[4] << 5 | (stamp[5] // 2)
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, data in parts:
        crc, packed = _deflate_shared(data) if len(data) <= 4096 else _deflate(data)
        try:
            encoded, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), 0x800
        header = _LOCAL.pack(
            b"PK\x03\x04", _VERSION, 0, flags, 8, dostime, dosdate, crc, len(packed), len(data), len(encoded), 0
        )
        out += (header, encoded, packed)
        central.append(
            _CENTRAL.pack(
                b"PK\x01\x02",
                _VERSION,
                _UNIX,
                _VERSION,
                0,
                flags,
                8,
                dostime,
                dosdate,
                crc,
                len(packed),
                len(data),
                len(encoded),
                0,
                0,
                0,
                0,
                _ATTR,
                offset,
            )
            + encoded
        )
        offset += len(header) + len(encoded) + len(packed)
    size = sum(map(len, central))
    end = _END.pack(b"PK\x05\x06", 0, 0, len(parts), len(parts), size, offset, 0)
    return b"".join(out) + b"".join(central) + end
