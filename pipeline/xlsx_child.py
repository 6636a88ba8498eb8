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


def main(path: str) -> int:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(path)
    out: dict[str, list[list[object]]] = {}
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        out[name] = [[_cell(v) for v in row] for row in rows]
    json.dump(out, sys.stdout, ensure_ascii=False, allow_nan=False, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
