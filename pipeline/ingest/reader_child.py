"""Child process that parses submitted files: workbooks with python-calamine, CSV sheet files with csv.

Run as ``python -m pipeline.ingest.reader_child``; reads jobs as JSON lines on stdin and writes one JSON line per
job on stdout, in order:

* ``{"id", "kind": "xlsx", "path"}`` -> ``{"id", "sheets": {sheet name: rows}}``;
* ``{"id", "kind": "csv", "files": [path, ...], "max_bytes", "max_line", "max_cells", "max_field"}`` ->
  ``{"id", "files": [{"rows", "delimiter", "encoding"} | {"problem", ...}, ...]}`` (the files of one
  delivery; ``max_cells`` is their shared budget);
* on failure ``{"id", "error": exception name}``.

The parent starts it with a memory limit (``RLIMIT_AS``) and a time limit, so a hostile file can only take
this process down. Files are opened as regular files only (no links, FIFOs or devices). This module
imports nothing heavy: it starts for every batch.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys

from pipeline.core.safe_files import LineLengthCheck, NotRegularFile, open_regular


def _cell(value: object) -> object:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return {"date": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def read_xlsx(path: str) -> dict[str, list[list[object]]]:
    from python_calamine import CalamineWorkbook

    with open_regular(path) as fh:
        wb = CalamineWorkbook.from_filelike(fh)
        out: dict[str, list[list[object]]] = {}
        for name in wb.sheet_names:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            out[name] = [[_cell(v) for v in row] for row in rows]
        return out


# ------------------------------------------------------------------ CSV


def decode_text(data: bytes) -> tuple[str | None, str | None]:
    """Decode a text file: UTF-16 with BOM, then strict UTF-8 (with or without BOM), then strict cp1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            return None, None
    for enc in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            return None, None
        return text, ("utf-8" if enc == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf") else enc)
    return None, None


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", "\t", ",", "|")}
    best = max(counts, key=lambda d: (counts[d], d == ";"))
    return best if counts[best] > 0 else ";"


class TooManyCells(Exception):
    pass


def read_csv_text(text: str, max_field: int, max_cells: int) -> tuple[list[list[str]], str, int]:
    """Rows, delimiter and number of cells of a CSV text; raises TooManyCells past ``max_cells``."""
    first = next((ln for ln in io.StringIO(text, newline="") if ln.strip()), "")
    delim = sniff_delimiter(first)
    csv.field_size_limit(max_field)
    rows: list[list[str]] = []
    cells = 0
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delim, quotechar='"'):
        cells += max(1, len(row))
        if cells > max_cells:
            raise TooManyCells(cells)
        rows.append(row)
    return rows, delim, cells


def read_csv_file(path: str, max_bytes: int, max_line: int, max_field: int, max_cells: int) -> tuple[dict, int]:
    """One sheet CSV file: ``({"rows", "delimiter", "encoding"} or {"problem", ...}, cells used)``."""
    try:
        with open_regular(path) as fh:
            data = fh.read(max_bytes + 1)
    except NotRegularFile as exc:
        return {"problem": "not_regular", "kind": exc.kind}, 0
    if not data:
        return {"problem": "empty"}, 0
    if len(data) > max_bytes:
        return {"problem": "too_large"}, 0
    check = LineLengthCheck(max_line)
    check.feed(data)
    found = check.finish()
    if found is not None:
        return {"problem": "line_too_long", "line": data.count(b"\n", 0, found[0]) + 1, "length": found[1]}, 0
    text, enc = decode_text(data)
    del data
    if text is None:
        return {"problem": "encoding"}, 0
    try:
        rows, delim, cells = read_csv_text(text, max_field, max_cells)
    except TooManyCells:
        return {"problem": "cells"}, max_cells
    except csv.Error as exc:
        return {"problem": "csv", "message": str(exc)}, 0
    return {"rows": rows, "delimiter": delim, "encoding": enc}, cells


def read_csv_files(job: dict) -> list[dict]:
    budget = int(job["max_cells"])
    out = []
    for path in job["files"]:
        if budget <= 0:
            out.append({"problem": "cells"})
            continue
        res, used = read_csv_file(path, int(job["max_bytes"]), int(job["max_line"]), int(job["max_field"]), budget)
        budget -= used
        out.append(res)
    return out


def main() -> int:
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        job = json.loads(line)
        try:
            if job["kind"] == "xlsx":
                record = {"id": job["id"], "sheets": read_xlsx(job["path"])}
            else:
                record = {"id": job["id"], "files": read_csv_files(job)}
        except NotRegularFile as exc:
            record = {"id": job["id"], "error": "NotRegularFile", "kind": exc.kind}
        except Exception as exc:  # noqa: BLE001 - a damaged file is reported per job; the batch goes on
            record = {"id": job["id"], "error": type(exc).__name__}
        try:
            text = json.dumps(record, allow_nan=False, default=str)
        except ValueError as exc:  # an infinite number in a cell: not representable, not deliverable
            text = json.dumps({"id": job["id"], "error": type(exc).__name__})
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
