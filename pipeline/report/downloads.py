"""The downloads behind every table (and so every chart) of the report pages: the same rows as CSV and XLSX.

A table's rows come as cells the way :func:`pipeline.report.figures.csv_data_uri` takes them: ``("num", value,
decimals)`` for a number (:func:`pipeline.report.figures.num`), anything else is text. The CSV is Excel's Dutch
dialect in Dutch pages (``;``, decimal comma, UTF-8 with BOM) and the plain one in English pages; the XLSX holds
the same header and rows in one sheet, numbers as numbers rounded to the table's decimals.

Text cells are neutralised in both files the same way (an apostrophe before a formula prefix, see
:func:`pipeline.report.figures.csv_text`) and XLSX text cells are written as strings, never as formulas.
The XLSX bytes do not depend on the time they were made (fixed zip and document dates), so the same warehouse
still gives byte-identical pages.

Both are ``data:`` URIs in the page (:func:`table_downloads`): a member report or a feedback page stays one
self-contained file. A page that is read in place (the overview, the pilot pages, a release diff) has its XLSX
files written beside it instead (:func:`externalise`), which keeps it from growing by half or more.
"""

from __future__ import annotations

import base64
import datetime
import math
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import pandas as pd

from pipeline.report.export import neutralise
from pipeline.report.figures import csv_text, num, slug
from pipeline.report.visible import visible
from pipeline.report.xlsx import Cell, Number, write_xlsx

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv;charset=utf-8"
#: the date in every XLSX (zip entries and document properties): no run time in a file
FIXED_DATE = (2000, 1, 1, 0, 0, 0)
_INVALID_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def data_uri(data: bytes, mime: str) -> str:
    if mime == CSV_MIME:  # as csv_data_uri writes it: the text stays readable in the page
        return f"data:{mime}," + quote(data.decode("utf-8"), safe="")
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


_XLSX_LINK = re.compile(r'href="data:' + re.escape(XLSX_MIME) + r';base64,([A-Za-z0-9+/=]+)" download="([^"]+)"')


def download_folder(page: str) -> str:
    """Where the files of a page read in place go, relative to the page: ``downloads/<page name>``."""
    name = page.rsplit("/", 1)[-1]
    return "downloads/" + (name[: -len(".html")] if name.endswith(".html") else name)


def externalise(html: str, folder: str) -> tuple[str, dict[str, bytes]]:
    """A page whose XLSX downloads link files in ``folder`` (relative to the page) instead of ``data:`` URIs;
    returns the page and the files (relative path: bytes) to write beside it. The CSV downloads stay inline.

    For pages that are read where they are written and need files beside them anyway (the overview and the
    pilot pages load ``assets/plotly.min.js``): their many tables would otherwise make them much larger.
    A member report or a feedback page travels alone and keeps every download inline."""
    files: dict[str, bytes] = {}

    def swap(m: re.Match) -> str:
        name = m.group(2)
        stem, _, ext = name.rpartition(".")
        path, n = f"{folder}/{name}", 1
        while path in files:
            n += 1
            path = f"{folder}/{stem}-{n}.{ext}"
        files[path] = base64.b64decode(m.group(1))
        return f'href="{quote(path)}" download="{path.rsplit("/", 1)[-1]}"'

    return _XLSX_LINK.sub(swap, html), files


def _xlsx_text(value: Any) -> str:
    text = neutralise(visible("" if value is None else value))  # as csv_text neutralises the CSV cells
    return _INVALID_XML.sub("", text)


def _xlsx_number(value: Any, decimals: int | None) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    try:
        x = float(value)
    except (TypeError, ValueError):
        return _xlsx_text(value)
    if math.isnan(x) or math.isinf(x):
        return None
    if decimals is None:
        return int(x) if x.is_integer() else x
    x = round(x, decimals)
    return int(x) if decimals == 0 else x


def _sheet_title(caption: str) -> str:
    title = re.sub(r"[\[\]:*?/\\']", " ", visible(caption)).strip() or "Tabel"
    return title[:31]


def xlsx_bytes(header: Sequence[Any], rows: Sequence[Sequence[Any]], caption: str = "Tabel") -> bytes:
    """One sheet: the header in bold and frozen, then the rows (numbers as numbers, text as strings)."""
    cells: list[list[Cell]] = [[_xlsx_text(h) for h in header]]
    for row in rows:
        out: list[Cell] = []
        for value in row:
            if isinstance(value, tuple) and value and value[0] == "num":
                x = _xlsx_number(value[1], value[2])
                dec = value[2] if x is not None and not isinstance(x, str) and value[2] else None
                out.append(x if dec is None else Number(x, int(dec)))
            else:
                out.append(_xlsx_text(value))
        cells.append(out)
    return write_xlsx(_sheet_title(caption), cells, created=datetime.datetime(*FIXED_DATE))


def frame_cells(df: pd.DataFrame) -> tuple[list[str], list[list[Any]]]:
    """A data frame as a header and rows of cells for :func:`xlsx_bytes` (numeric columns as numbers)."""
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    rows = []
    for rec in df.itertuples(index=False):
        rows.append(
            [
                num(None if pd.isna(v) else v) if is_num else (None if v is None or v is pd.NA else v)
                for v, is_num in zip(rec, numeric, strict=True)
            ]
        )
    return [str(c) for c in df.columns], rows


def table_downloads(
    header: Sequence[Any], rows: Sequence[Sequence[Any]], name: str, lang: str, caption: str
) -> dict[str, str]:
    """The CSV and XLSX of one table as ``data:`` URIs: ``csv_href``, ``csv_name``, ``xlsx_href``, ``xlsx_name``
    (and the ``caption`` the links name for screen readers)."""
    stem = slug(name)
    return {
        "caption": caption,
        "csv_href": data_uri(csv_text(list(header), [list(r) for r in rows], lang).encode("utf-8"), CSV_MIME),
        "csv_name": f"{stem}.csv",
        "xlsx_href": data_uri(xlsx_bytes(header, rows, caption), XLSX_MIME),
        "xlsx_name": f"{stem}.xlsx",
    }
