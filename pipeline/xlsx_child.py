"""Child process that parses one workbook with python-calamine.

Run as ``python -m pipeline.xlsx_child FILE``; prints JSON ``{sheet name: rows}`` on stdout. The parent
starts it with a memory and time limit, so a hostile workbook can only take this process down.
"""

from __future__ import annotations

import datetime as dt
import json
import sys


def _cell(value: object) -> object:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return {"date": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def read(path: str) -> dict[str, list[list[object]]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(path)
    out: dict[str, list[list[object]]] = {}
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        out[name] = [[_cell(v) for v in row] for row in rows]
    return out


def main(paths: list[str]) -> int:
    """One JSON line per workbook, in order: ``{"path": ..., "sheets": ...}`` or ``{"path": ..., "error": ...}``."""
    for path in paths:
        try:
            record = {"path": path, "sheets": read(path)}
        except Exception as exc:  # a damaged workbook is reported per file; the batch goes on
            record = {"path": path, "error": type(exc).__name__}
        sys.stdout.write(json.dumps(record, ensure_ascii=False, allow_nan=False, default=str) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
