"""Generators of hostile and broken submission files, built from a valid CSV delivery.

A delivery is handled here as ``{sheet code: rows}``, each row a list of cell values with the field codes
as the first row. ``read_csv_delivery`` loads a demo CSV folder in that form, ``write_csv_delivery`` writes
one back, and ``write_workbook`` writes a minimal but valid .xlsx (inline strings, one header row of field
codes) that python-calamine reads. The hostile generators start from such a valid delivery, so a pipeline
that ignored the hostile part would accept the file.
"""

from __future__ import annotations

import csv
import io
import random
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from pipeline.metadata.registry import registry

Rows = list[list[object]]
Delivery = dict[str, Rows]

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True)
class Formula:
    """A formula cell; ``cached`` is the result Excel stored next to it (None: no cached value)."""

    text: str
    cached: object = None


@dataclass(frozen=True)
class RawCell:
    """A cell written as the given XML (the ``<c>`` element without its reference)."""

    attrs: str
    inner: str


# ------------------------------------------------------------------ CSV


def decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ValueError("not UTF-8 or cp1252")


def read_csv_delivery(folder: Path) -> Delivery:
    """The sheets of a CSV folder as rows of strings (header row first)."""
    out: Delivery = {}
    for p in sorted(Path(folder).glob("*.csv")):
        text = decode(p.read_bytes())
        out[p.stem] = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=";")]
    return out


def csv_bytes(rows: Rows, encoding: str = "utf-8-sig", delimiter: str = ";") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(
        [["" if v is None else str(v) for v in row] for row in rows]
    )
    return buf.getvalue().encode(encoding)


def write_csv_delivery(folder: Path, delivery: Delivery, encoding: str = "utf-8-sig", delimiter: str = ";") -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for code, rows in delivery.items():
        (folder / f"{code}.csv").write_bytes(csv_bytes(rows, encoding, delimiter))
    return folder


def copy_delivery(delivery: Delivery) -> Delivery:
    return {code: [list(r) for r in rows] for code, rows in delivery.items()}


def set_cell(delivery: Delivery, sheet: str, row: int, field: str, value: object) -> None:
    """Set a field of data row ``row`` (0 = first data row) of a sheet."""
    rows = delivery[sheet]
    rows[1 + row][rows[0].index(field)] = value


def get_cell(delivery: Delivery, sheet: str, row: int, field: str) -> object:
    rows = delivery[sheet]
    return rows[1 + row][rows[0].index(field)]


def add_columns(delivery: Delivery, sheet: str, n: int, prefix: str = "extra_") -> None:
    rows = delivery[sheet]
    rows[0].extend(f"{prefix}{i}" for i in range(1, n + 1))
    for r in rows[1:]:
        r.extend(str(i) for i in range(1, n + 1))


# ------------------------------------------------------------------ typed values for workbooks


def dutch_number(text: str) -> float | None:
    t = text.strip().replace("\u00a0", "").replace(" ", "").lstrip("€")
    if re.match(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$", t):
        t = t.replace(".", "")
    t = t.replace(",", ".")
    return float(t) if _NUMBER.match(t) else None


def typed_delivery(delivery: Delivery) -> Delivery:
    """Numbers as floats in the numeric fields (as a spreadsheet holds them), everything else as text."""
    reg = registry()
    out: Delivery = {}
    for code, rows in delivery.items():
        sheet = reg.sheet(code)
        numeric = {f.code for f in sheet.fields if f.is_numeric}
        header = rows[0]
        body = []
        for r in rows[1:]:
            cells: list[object] = []
            for name, v in zip(header, r):
                if isinstance(v, str) and name in numeric:
                    n = dutch_number(v)
                    cells.append(n if n is not None else (v if v.strip() else None))
                else:
                    cells.append(v if v != "" else None)
            body.append(cells)
        out[code] = [list(header)] + body
    return out


# ------------------------------------------------------------------ xlsx


def col_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _number(v: float) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def cell_xml(ref: str, v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, RawCell):
        return f'<c r="{ref}"{v.attrs}>{v.inner}</c>'
    if isinstance(v, Formula):
        if v.cached is None:
            return f'<c r="{ref}"><f>{escape(v.text)}</f></c>'
        if isinstance(v.cached, str):
            return f'<c r="{ref}" t="str"><f>{escape(v.text)}</f><v>{escape(v.cached)}</v></c>'
        return f'<c r="{ref}"><f>{escape(v.text)}</f><v>{_number(v.cached)}</v></c>'
    if isinstance(v, bool):
        return f'<c r="{ref}" t="b"><v>{int(v)}</v></c>'
    if isinstance(v, (int, float)):
        return f'<c r="{ref}"><v>{_number(v)}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(v))}</t></is></c>'


SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def sheet_xml(rows: Rows, prolog: str = "", head: str = SHEET_HEAD) -> str:
    out = [head.replace("?>\n", "?>\n" + prolog, 1) if prolog else head, "<sheetData>"]
    for i, row in enumerate(rows, start=1):
        cells = "".join(cell_xml(f"{col_letter(j)}{i}", v) for j, v in enumerate(row))
        out.append(f'<row r="{i}">{cells}</row>')
    out.append("</sheetData></worksheet>")
    return "".join(out)


def _package(sheet_names: list[str], macros: bool = False) -> dict[str, str]:
    main = (
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
        if macros
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    )
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(sheet_names) + 1)
    )
    vba = '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>' if macros else ""
    sheets = "".join(
        f'<sheet name="{escape(n)}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(sheet_names, start=1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        f'Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheet_names) + 1)
    )
    if macros:
        rels += (
            '<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
            'Target="vbaProject.bin"/>'
        )
    return {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{vba}'
        f'<Override PartName="/xl/workbook.xml" ContentType="{main}"/>{overrides}</Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{sheets}</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>',
    }


def workbook_bytes(
    delivery: Delivery,
    sheet_xml_override: dict[str, str | bytes] | None = None,
    extra_members: dict[str, bytes] | None = None,
    macros: bool = False,
) -> bytes:
    """A workbook with one worksheet per sheet of the delivery, named as in the template (Dutch names)."""
    reg = registry()
    codes = list(delivery)
    names = [reg.sheet(c).name_nl for c in codes]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in _package(names, macros).items():
            zf.writestr(name, text)
        for i, code in enumerate(codes, start=1):
            override = (sheet_xml_override or {}).get(code)
            body = override if override is not None else sheet_xml(delivery[code])
            zf.writestr(f"xl/worksheets/sheet{i}.xml", body.encode("utf-8") if isinstance(body, str) else body)
        for name, data in (extra_members or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def write_workbook(path: Path, delivery: Delivery, **kwargs) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(workbook_bytes(delivery, **kwargs))
    return path


def sheet_member(delivery: Delivery, code: str) -> str:
    return f"xl/worksheets/sheet{list(delivery).index(code) + 1}.xml"


# ------------------------------------------------------------------ hostile workbooks


def zip_bomb(path: Path, typed: Delivery, unpacked_mb: int = 120) -> Path:
    """A valid workbook whose Kanalen sheet is a huge, highly compressible run of identical rows."""
    row = '<row r="9"><c r="A9" t="inlineStr"><is><t>telefoon</t></is></c><c r="B9"><v>0</v></c></row>'
    block = (row * (1 << 14)).encode()
    head = (SHEET_HEAD + "<sheetData>").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        reg = registry()
        codes = list(typed)
        for name, text in _package([reg.sheet(c).name_nl for c in codes]).items():
            zf.writestr(name, text)
        for i, code in enumerate(codes, start=1):
            member = f"xl/worksheets/sheet{i}.xml"
            if code != "kanalen":
                zf.writestr(member, sheet_xml(typed[code]))
                continue
            with zf.open(member, "w", force_zip64=True) as fh:
                fh.write(head)
                written = 0
                while written < unpacked_mb * (1 << 20):
                    fh.write(block)
                    written += len(block)
                fh.write(b"</sheetData></worksheet>")
    Path(path).write_bytes(buf.getvalue())
    return Path(path)


def forged_size_zip_bomb(path: Path, typed: Delivery, unpacked_mb: int = 60) -> Path:
    """A zip bomb whose headers claim the big sheet is tiny (sizes forged in both local and central headers)."""
    zip_bomb(path, typed, unpacked_mb)
    data = bytearray(Path(path).read_bytes())
    target = sheet_member(typed, "kanalen").encode()
    forged = 4096
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(target.decode())
    zip64 = info.file_size >= 0xFFFFFFFF or info.extra
    pos = 0
    while True:
        pos = data.find(b"PK\x03\x04", pos)
        if pos < 0:
            break
        name_len = struct.unpack_from("<H", data, pos + 26)[0]
        extra_len = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 30 : pos + 30 + name_len]) == target:
            _forge_sizes(data, pos + 22, pos + 30 + name_len, extra_len, forged, zip64)
        pos += 4
    pos = 0
    while True:
        pos = data.find(b"PK\x01\x02", pos)
        if pos < 0:
            break
        name_len, extra_len = struct.unpack_from("<HH", data, pos + 28)
        if bytes(data[pos + 46 : pos + 46 + name_len]) == target:
            _forge_sizes(data, pos + 24, pos + 46 + name_len, extra_len, forged, zip64)
        pos += 4
    Path(path).write_bytes(bytes(data))
    return Path(path)


def _forge_sizes(data: bytearray, size_at: int, extra_at: int, extra_len: int, forged: int, zip64: bool) -> None:
    """Set the uncompressed size field (and the ZIP64 extra field's, if any) to ``forged``."""
    if struct.unpack_from("<I", data, size_at)[0] == 0xFFFFFFFF and zip64:
        end = extra_at + extra_len
        p = extra_at
        while p + 4 <= end:
            tag, ln = struct.unpack_from("<HH", data, p)
            if tag == 0x0001:
                struct.pack_into("<Q", data, p + 4, forged)
                break
            p += 4 + ln
    else:
        struct.pack_into("<I", data, size_at, forged)


BILLION_LAUGHS = (
    '<!DOCTYPE worksheet [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]>\n"
)


def entity_bomb(path: Path, typed: Delivery, padding: int = 0) -> Path:
    """Billion laughs in the Organisatie sheet; ``padding`` puts a comment of that size before the DOCTYPE."""
    prolog = (f"<!--{'x' * padding}-->\n" if padding else "") + BILLION_LAUGHS
    delivery = copy_delivery(typed)
    set_cell(delivery, "organisatie", 0, "ontwikkelvraag_tekst", RawCell(' t="inlineStr"', "<is><t>&lol9;</t></is>"))
    xml = sheet_xml(delivery["organisatie"], prolog=prolog)
    return write_workbook(path, typed, sheet_xml_override={"organisatie": xml})


def sparse_workbook(path: Path, typed: Delivery, quote: str = '"') -> Path:
    """The valid workbook plus one value in the sheet's last cell (XFD1048576): a huge used range."""
    xml = sheet_xml(typed["organisatie"])
    last = f'<row r="1048576"><c r={quote}XFD1048576{quote}><v>1</v></c></row>'
    xml = xml.replace("</sheetData>", last + "</sheetData>")
    return write_workbook(path, typed, sheet_xml_override={"organisatie": xml})


def macro_workbook(path: Path, typed: Delivery) -> Path:
    """A valid workbook saved as .xlsm with a VBA project."""
    vba = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 504
        + b'Attribute VB_Name = "Module1"\nSub AutoOpen()\nEnd Sub\n'
    )
    return write_workbook(path, typed, extra_members={"xl/vbaProject.bin": vba}, macros=True)


def junk(path: Path, size: int = 64 * 1024, seed: int = 1) -> Path:
    rng = random.Random(seed)
    Path(path).write_bytes(bytes(rng.getrandbits(8) for _ in range(size)))
    return Path(path)


def truncated(path: Path, source: bytes, fraction: float = 0.5) -> Path:
    Path(path).write_bytes(source[: int(len(source) * fraction)])
    return Path(path)


ABSURD_ORG_VALUES = {
    "fte_totaal": "1e308",
    "verzuimdagen": "NaN",
    "kosten_inhuur": "inf",
    "n_instroom_personeel": "-5",
}


def absurd_delivery(delivery: Delivery) -> Delivery:
    out = copy_delivery(delivery)
    for field, value in ABSURD_ORG_VALUES.items():
        set_cell(out, "organisatie", 0, field, value)
    set_cell(out, "producten", 0, "n_besluiten", "-1e308")
    return out


LONG_TEXT = ("Lang verhaal. " * 71_429)[:999_999] + "."  # 1,000,000 characters


def corrupt_deflate(data: bytes, member: str) -> bytes:
    """The workbook with the compressed stream of ``member`` starting with an invalid deflate block type."""
    buf = bytearray(data)
    target = member.encode()
    pos = 0
    while (pos := buf.find(b"PK\x03\x04", pos)) >= 0:
        name_len, extra_len = struct.unpack_from("<HH", buf, pos + 26)
        if bytes(buf[pos + 30 : pos + 30 + name_len]) == target:
            buf[pos + 30 + name_len + extra_len] = 0x07  # BFINAL=1, BTYPE=11 (reserved)
            return bytes(buf)
        pos += 4
    raise KeyError(member)


# ------------------------------------------------------------------ hostile parts of a workbook


def rewrite_member(data: bytes, member: str, edit) -> bytes:
    """The workbook with one member's bytes replaced by ``edit(bytes)``."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            body = src.read(info)
            zf.writestr(info.filename, edit(body) if info.filename == member else body)
    return out.getvalue()


def entity_in_workbook_xml(path: Path, typed: Delivery, padding: int = 5000) -> Path:
    """A valid workbook whose ``xl/workbook.xml`` declares an entity behind a comment of ``padding`` bytes
    (past a check of the first 4 KB only)."""
    prolog = f'<!--{"x" * padding}--><!DOCTYPE workbook [<!ENTITY e "entity">]>'
    data = rewrite_member(
        workbook_bytes(typed), "xl/workbook.xml", lambda b: b.replace(b"?>", b"?>" + prolog.encode(), 1)
    )
    Path(path).write_bytes(data)
    return Path(path)


BROKEN_WORKBOOK_XML = {
    # each leaves xl/workbook.xml readable to a lenient reader but not well-formed XML
    "junk_after_root": lambda b: b + b"<x/>",
    "mismatched_tag": lambda b: b.replace(b"</sheets>", b"</sheetz>"),
    "bare_ampersand": lambda b: b.replace(b"<sheets>", b"<sheets><extra v='a&b'/>"),
    "entity_after_5kb": lambda b: b.replace(
        b"?>", b"?><!--" + b"x" * 5000 + b"--><!DOCTYPE workbook [<!ENTITY e 'x'>]>", 1
    ),
}


def formulas_behind_broken_part(path: Path, typed: Delivery, how: str = "junk_after_root") -> Path:
    """A formula with a cached result in Producten!n_besluiten, with xl/workbook.xml broken by ``how`` so
    that a formula scan that parses it (and gives up quietly) would see no formulas."""
    delivery = copy_delivery(typed)
    decisions = get_cell(delivery, "producten", 0, "n_besluiten")
    set_cell(delivery, "producten", 0, "n_besluiten", Formula(f"{decisions:.0f}-1+1", decisions))
    data = rewrite_member(workbook_bytes(delivery), "xl/workbook.xml", BROKEN_WORKBOOK_XML[how])
    Path(path).write_bytes(data)
    return Path(path)


def cells_without_refs(path: Path, typed: Delivery, n: int = 3_000, sheet: str = "organisatie") -> Path:
    """The valid workbook plus a row of ``n`` cells without ``r=`` references (placed one after another)."""
    xml = sheet_xml(typed[sheet])
    row = "<row>" + "<c><v>1</v></c>" * n + "</row>"
    xml = xml.replace("</sheetData>", row + "</sheetData>")
    return write_workbook(path, typed, sheet_xml_override={sheet: xml})


# ------------------------------------------------------------------ case files (zaken.csv)

CASE_HEADER = "case_id;product_code;datum_ontvangst;datum_besluit;termijn_dagen;kanaal;bezwaar;klacht"


def case_lines(n: int, seed: int = 0, prefix: str = "C") -> list[str]:
    """``n`` valid case lines (received and decided in 2025)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        day = rng.randint(1, 27)
        lead = rng.randint(0, 30)
        decided = f"{min(28, day + lead):02d}-06-2025" if rng.random() < 0.8 else ""
        out.append(
            f"{prefix}{i:06d};P{rng.randint(1, 2)};{day:02d}-06-2025;{decided};21;"
            f"{rng.choice(['web', 'post', 'telefoon'])};{int(rng.random() < 0.05)};{int(rng.random() < 0.02)}"
        )
    return out


def case_file(path: Path, lines: list[str], header: str = CASE_HEADER) -> Path:
    Path(path).write_text(header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)


MALFORMED_CASES = (
    "too_few_columns",
    "too_many_columns",
    "long_line",
    "long_last_line",
    "binary",
    "nul_bytes",
    "bad_quote",
    "not_utf8",
)


def malformed_case_file(
    path: Path, kind: str, n: int = 30, seed: int = 0, long_bytes: int = 3_000_000
) -> tuple[Path, int]:
    """A case file of ``n`` valid lines plus one malformed line; returns the path and that line's number
    (header = line 1). ``long_line``: ``long_bytes`` of garbage after the first valid row, with more rows
    after it; ``long_last_line``: the same without a line end."""
    lines = case_lines(n, seed)
    rng = random.Random(seed)
    idx = 1 if kind in ("long_line", "long_last_line") else rng.randrange(1, n)
    bad = {
        "too_few_columns": b"garbage",
        "too_many_columns": (lines[0] + ";x;y;z").encode(),
        "bad_quote": b'C9;P1;01-06-2025;"02-06"-2025;21;web;0;0',
        "binary": bytes(rng.getrandbits(8) for _ in range(4096)),
        "nul_bytes": b"C1;P1\x00\x00;01-06-2025;;21;web;0;0",
        "not_utf8": b"C\xff\xfe1;P1;01-06-2025;;21;web;0;0",
    }.get(kind)
    if kind in ("long_line", "long_last_line"):
        bad = ("".join(rng.choice("abcdefghij0123456789") for _ in range(1000)) * (long_bytes // 1000)).encode()
    if bad is None:
        raise ValueError(kind)
    head = [CASE_HEADER.encode()] + [ln.encode() for ln in lines[:idx]]
    tail = [] if kind == "long_last_line" else [ln.encode() for ln in lines[idx:]]
    data = b"\n".join(head + [bad] + tail) + (b"" if kind == "long_last_line" else b"\n")
    Path(path).write_bytes(data)
    return Path(path), idx + 2
