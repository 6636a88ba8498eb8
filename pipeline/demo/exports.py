"""One member's delivery as a system export: the demo's use of ``rbb import``.

In the last demo year one member (``EXPORT_ORG``) does not fill in the template: its case system exports one
row per product, in its own column names and codes (``N/A``, ``unknown``), decimal points, with the
organisation's totals and channel figures repeated on every row. The demo writes that export to
``data/exports/`` and turns it into a delivery with the mapping ``pipeline/demo/system_export.yaml``, exactly
as ``rbb import FILE --mapping MAP.yaml --year Y`` does; the survey is not in such an export.
"""

from __future__ import annotations

import csv
import math
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.metadata.registry import Registry, registry

EXPORT_ORG = "KVK"
CHANNELS = ("telefoon", "web", "app", "balie", "post")
STATE_TEXT = {"nvt": "N/A", "n.v.t.": "N/A", "nvt.": "N/A", "onbekend": "unknown"}


def mapping_path() -> Path:
    return Path(str(resources.files("pipeline.demo").joinpath("system_export.yaml")))


def org_column(label: str) -> str:
    return f"Org {label}"


def channel_column(channel: str, label: str) -> str:
    return f"{channel.capitalize()} {label}"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, str):
        return STATE_TEXT.get(value.strip().lower(), value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_system_export(folder: Path, name: str, sheets: dict[str, pd.DataFrame], reg: Registry | None = None) -> Path:
    """The member's sheets as one long export (one row per product) in ``folder``; returns its path."""
    reg = reg or registry()
    org = sheets["organisatie"].iloc[0]
    channels = {r["kanaal"]: r for r in sheets["kanalen"].to_dict("records")}
    header = ["Organisation"]
    product_fields = [f for f in reg.sheet("producten").fields]
    org_fields = [f for f in reg.sheet("organisatie").fields if f.code not in ("org_code", "jaar")]
    channel_fields = [f for f in reg.sheet("kanalen").fields if f.code != "kanaal"]
    header += [f.label_en for f in product_fields]
    header += [org_column(f.label_en) for f in org_fields]
    header += [channel_column(c, f.label_en) for c in CHANNELS for f in channel_fields]
    rows = []
    for prod in sheets["producten"].to_dict("records"):
        row = [name]
        row += [_text(prod.get(f.code)) for f in product_fields]
        row += [_text(org.get(f.code)) for f in org_fields]
        for c in CHANNELS:
            rec = channels.get(c)
            row += [_text(rec.get(f.code)) if rec is not None else "N/A" for f in channel_fields]
        rows.append(row)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{EXPORT_ORG.lower()}_system_export_{int(org['jaar'])}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def mapping_yaml(reg: Registry | None = None) -> str:
    """The mapping of :func:`write_system_export`'s columns (written to ``system_export.yaml``)."""
    reg = reg or registry()
    lines = [
        "# The demo member's case-system export (pipeline/demo/exports.py) → one RBB delivery.",
        "# rbb import kvk_system_export_2025.csv --mapping pipeline/demo/system_export.yaml --year 2025",
        "description: Demo case-system export, one row per product, organisation and channel totals on every row",
        'source: {encoding: utf-8-sig, delimiter: ",", quotechar: \'"\'}',
        "organisation: Organisation",
        "codes:",
        "  N/A: nvt",
        "  unknown: onbekend",
        '  "": leeg',
        "sheets:",
        "  organisatie:",
        "    per: organisation",
        "    fields:",
    ]
    for f in reg.sheet("organisatie").fields:
        if f.code in ("org_code", "jaar"):
            continue
        lines.append(f'      {f.code}: {{column: "{org_column(f.label_en)}", aggregate: same}}')
    lines += ["  producten:", "    per: row", "    fields:"]
    for f in reg.sheet("producten").fields:
        lines.append(f'      {f.code}: {{column: "{f.label_en}"}}')
    lines += ["  kanalen:", "    per: organisation", "    rows:"]
    for c in CHANNELS:
        parts = [f"kanaal: {c}"] + [
            f'{f.code}: {{column: "{channel_column(c, f.label_en)}", aggregate: same}}'
            for f in reg.sheet("kanalen").fields
            if f.code != "kanaal"
        ]
        lines.append("      - {" + ", ".join(parts) + "}")
    return "\n".join(lines) + "\n"
