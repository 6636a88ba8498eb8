"""Recording: one validated delivery into the warehouse, in one transaction.

Every delivery gets a ``submissions`` row (its status, counts and where its copy is kept in the inbox),
its files and its findings. An accepted one is loaded into the fact tables and supersedes the
organisation's earlier version for that year; a rejected one changes no fact table.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.core.findings import Finding
from pipeline.core.safe_files import NotRegularFile
from pipeline.core.warehouse import fact_columns, transaction
from pipeline.core.workspace import Workspace
from pipeline.ingest.archive import store
from pipeline.ingest.batch import Item
from pipeline.ingest.discover import Delivery, printable_text
from pipeline.metadata.lineage import Lineage, is_additive
from pipeline.metadata.registry import Organisation, Registry
from pipeline.validate.cases import aggregate_rows
from pipeline.validate.rules import History


@dataclass
class IngestResult:
    submission_id: int
    org_code: str
    year: int
    version: int
    name: str
    status: str
    n_errors: int
    n_warnings: int
    findings: list[Finding]
    sha256: str = ""


def history_for(con: duckdb.DuckDBPyConnection, reg: Registry, orgs: list[Organisation] | None = None) -> History:
    """Accepted values in force, per organisation and year, for the plausibility checks; with the register
    ``orgs``, a merged or renamed organisation is compared with its predecessors."""
    h = History(
        lineage=Lineage.of(orgs) if orgs else None,
        additive=frozenset(f.code for f in reg.all_fields() if is_additive(f)),
    )
    org_fields = [f.code for f in reg.sheet("organisatie").fields if f.is_numeric]
    for rec in (
        con.execute(f"SELECT org_code, year, {', '.join(org_fields)} FROM v_organisatie").fetch_df().to_dict("records")
    ):
        h.org_values[(rec["org_code"], int(rec["year"]))] = {k: float(rec[k]) for k in org_fields if pd.notna(rec[k])}
    prod_fields = [f.code for f in reg.sheet("producten").fields if f.is_numeric]
    for rec in (
        con.execute(f"SELECT org_code, year, product_code, {', '.join(prod_fields)} FROM v_producten")
        .fetch_df()
        .to_dict("records")
    ):
        if isinstance(rec["product_code"], str):
            h.product_values[(rec["org_code"], int(rec["year"]), rec["product_code"])] = {
                k: float(rec[k]) for k in prod_fields if pd.notna(rec[k])
            }
    return h


def fact_frame(reg: Registry, sheet_code: str, frame: pd.DataFrame, sid: int, org: str, year: int) -> pa.Table:
    """A submission sheet's rows as the columns of its fact table (an Arrow table: DuckDB reads it without
    converting Python objects); a field the delivery does not hold is left out (NULL in the table)."""
    n = len(frame)
    data: dict[str, pa.Array] = {
        "submission_id": pa.array(np.full(n, sid, dtype="int32")),
        "org_code": pa.array([org] * n, type=pa.string()),
        "year": pa.array(np.full(n, year, dtype="int32")),
        "source_row": pa.array(frame["__row"].to_numpy(dtype="int32")),
    }
    for name, sqltype in fact_columns(reg, sheet_code)[4:]:
        numeric = sqltype in ("BIGINT", "DOUBLE")
        if name.endswith("__state"):
            # only the columns holding an answer: the others stay NULL (most cells hold a value)
            if name in frame.columns:
                states = frame[name].to_numpy(dtype=object)
                if any(isinstance(s, str) for s in states):
                    data[name] = pa.array([s if isinstance(s, str) else None for s in states], type=pa.string())
        elif name == "jaar":
            data[name] = pa.array(np.full(n, float(year)))
        elif name in frame.columns:
            data[name] = (
                pa.array(frame[name].to_numpy(dtype="float64"), from_pandas=True)
                if numeric
                else pa.array(_texts(frame[name].to_numpy(dtype=object)), type=pa.string())
            )
        # a field the delivery does not hold is left out: the INSERT names only the columns given, the rest is NULL
    return pa.table(data)


def _texts(values: np.ndarray) -> list:
    """Text cells as Arrow takes them: a missing value (None, NaN, pandas' NA) is null."""
    return [v if isinstance(v, str) else None if v is None or v is pd.NA or v != v else str(v) for v in values]


def record(
    con: duckdb.DuckDBPyConnection,
    reg: Registry,
    ws: Workspace,
    d: Delivery,
    item: Item,
    org_code: str,
    case_scans: list | None = None,
) -> IngestResult:
    try:
        stored = store(ws, d, org_code)
    except (NotRegularFile, FileNotFoundError):
        # replaced by a link or removed while this run read it: recorded as rejected, nothing stored
        stored = ""
        item.findings.append(
            Finding(
                "error",
                "file_changed",
                f"{d.name} is tijdens het inlezen veranderd of verwijderd; het is niet opgeslagen. Lever het opnieuw aan.",
                f"{d.name} changed or disappeared while it was being read; it was not stored. Please deliver it again.",
                cell=d.name,
            )
        )
    accepted = item.n_errors == 0
    status = (
        ("accepted_with_warnings" if item.n_warnings > item.n_warnings_explained else "accepted")
        if accepted
        else "rejected"
    )
    with transaction(con):
        sid = con.execute("SELECT coalesce(max(submission_id), 0) + 1 FROM submissions").fetchone()[0]
        version = con.execute(
            "SELECT count(*) + 1 FROM submissions WHERE org_code = ? AND year = ?", [org_code, d.year]
        ).fetchone()[0]
        if accepted:
            con.execute(
                "UPDATE submissions SET in_force = false, status = 'superseded' "
                "WHERE org_code = ? AND year = ? AND in_force",
                [org_code, d.year],
            )
        con.execute(
            "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                sid,
                org_code,
                d.year,
                version,
                d.sha256,
                d.name,
                d.fmt,
                d.size,
                d.received_at,
                stored,
                item.raw.encoding,
                status,
                item.n_errors,
                item.n_warnings,
                item.n_warnings_explained,
                accepted,
                reg.version,
                item.raw.template_version,
            ],
        )
        for name, sha, size, _ in d.files:
            con.execute("INSERT INTO submission_files VALUES (?, ?, ?, ?, ?)", [sid, name, sha, size, stored])
        if item.findings:
            t = printable_text
            fdf = pd.DataFrame(
                [
                    {
                        "submission_id": sid,
                        "org_code": org_code,
                        "year": d.year,
                        "version": version,
                        "seq": i,
                        "severity": f.severity,
                        "rule": f.rule,
                        "sheet": f.sheet,
                        "cell": t(f.cell),
                        "row_number": f.row,
                        "field": t(f.field),
                        "value": t(f.value),
                        "message_nl": t(f.message_nl),
                        "message_en": t(f.message_en),
                        "explained": f.explained,
                        "explanation": t(f.explanation),
                    }
                    for i, f in enumerate(item.findings, 1)
                ]
            )
            fdf["row_number"] = fdf["row_number"].astype("Int64")
            con.register("_findings", fdf)
            con.execute("INSERT INTO findings SELECT * FROM _findings")
            con.unregister("_findings")
        if accepted:
            for sheet in reg.sheets:
                frame = item.frames.get(sheet.code)
                if frame is None or frame.empty:
                    continue
                facts = fact_frame(reg, sheet.code, frame, sid, org_code, d.year)
                con.register("_facts", facts)
                names = ", ".join(f'"{c}"' for c in facts.column_names)
                con.execute(f"INSERT INTO f_{sheet.code} ({names}) SELECT {names} FROM _facts")
                con.unregister("_facts")
            shas = {name: sha for name, sha, _, _ in d.files}
            for scan in case_scans or []:
                rows = aggregate_rows(scan, sid, org_code, d.year, shas.get(scan.path.name, ""))
                con.register("_agg", rows)
                con.execute("INSERT INTO f_zaken_agg SELECT * FROM _agg")
                con.unregister("_agg")
    return IngestResult(
        sid, org_code, d.year, version, d.name, status, item.n_errors, item.n_warnings, item.findings, d.sha256
    )
