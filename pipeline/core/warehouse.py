"""The DuckDB warehouse ``data/processed/benchmark.duckdb``: schema, connection and submission history.

Accepted submissions are stored in one wide table per sheet (``f_<sheet>``), keyed by ``submission_id``,
so every version stays queryable; the views ``v_<sheet>`` show only the version in force per
organisation and year. Rejected submissions never reach the fact tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.metadata.registry import Organisation, Registry, registry

SQL_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "text": "VARCHAR", "code": "VARCHAR", "date": "DATE"}

STATUSES = ("accepted", "accepted_with_warnings", "rejected", "superseded")


def fact_columns(reg: Registry, sheet_code: str) -> list[tuple[str, str]]:
    sheet = reg.sheet(sheet_code)
    cols = [
        ("submission_id", "INTEGER NOT NULL"),
        ("org_code", "VARCHAR NOT NULL"),
        ("year", "INTEGER NOT NULL"),
        ("source_row", "INTEGER NOT NULL"),
    ]
    for f in sheet.fields:
        if f.code in ("org_code",):
            continue
        cols.append((f.code, SQL_TYPES[f.type]))
    if sheet.level in STATE_LEVELS:
        # the answer beside a NULL value: 'nvt', 'onbekend' or 'leeg' (NULL where the cell holds a value)
        cols += [(state_column(f.code), "VARCHAR") for f in sheet.fields if f.code not in ("org_code", "jaar")]
    return cols


#: sheets whose fact tables keep each cell's missing-value answer (the microdata sheets do not)
STATE_LEVELS = ("organisation", "product", "channel")


def state_column(code: str) -> str:
    """The warehouse column holding a field's missing-value answer."""
    return f"{code}__state"


#: the analyst's review decisions and sign-offs (pipeline/validate/review.py); rows are only ever added
REVIEW_TABLES = [
    """CREATE TABLE IF NOT EXISTS reviews (
        review_id BIGINT, org_code VARCHAR, year INTEGER, submission_id INTEGER, version INTEGER, seq INTEGER,
        finding_key VARCHAR, decision VARCHAR, note VARCHAR, reviewer VARCHAR, decided_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS signoffs (
        signoff_id BIGINT, org_code VARCHAR, year INTEGER, submission_id INTEGER, version INTEGER,
        action VARCHAR, note VARCHAR, analyst VARCHAR, signed_at TIMESTAMP)""",
]


def schema_sql(reg: Registry) -> list[str]:
    stmts = [
        """CREATE TABLE IF NOT EXISTS organisations (
            org_code VARCHAR PRIMARY KEY, name VARCHAR, abbreviation VARCHAR, cluster VARCHAR, size_class VARCHAR,
            member_since INTEGER, member_until INTEGER, predecessor_codes VARCHAR, successor_code VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS submissions (
            submission_id INTEGER PRIMARY KEY, org_code VARCHAR, year INTEGER, version INTEGER,
            sha256 VARCHAR NOT NULL, original_name VARCHAR, fmt VARCHAR, size_bytes BIGINT,
            received_at TIMESTAMP, stored_path VARCHAR, encoding VARCHAR, status VARCHAR NOT NULL,
            n_errors INTEGER, n_warnings INTEGER, n_warnings_explained INTEGER, in_force BOOLEAN NOT NULL,
            registry_version VARCHAR, template_version VARCHAR)""",
        # a warehouse made before template versions were recorded gets the column (appended at the end)
        "ALTER TABLE submissions ADD COLUMN IF NOT EXISTS template_version VARCHAR",
        """CREATE TABLE IF NOT EXISTS submission_files (
            submission_id INTEGER, file_name VARCHAR, sha256 VARCHAR, size_bytes BIGINT, stored_path VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS findings (
            submission_id INTEGER, org_code VARCHAR, year INTEGER, version INTEGER, seq INTEGER, severity VARCHAR,
            rule VARCHAR, sheet VARCHAR, cell VARCHAR, row_number INTEGER, field VARCHAR, value VARCHAR,
            message_nl VARCHAR, message_en VARCHAR, explained BOOLEAN, explanation VARCHAR)""",
    ]
    stmts += REVIEW_TABLES
    stmts.append("""CREATE TABLE IF NOT EXISTS f_zaken_agg (
            submission_id INTEGER, org_code VARCHAR, year INTEGER, product_code VARCHAR, n_rows BIGINT,
            n_cases BIGINT, n_decided BIGINT, n_on_time BIGINT, lead_median DOUBLE, lead_p90 DOUBLE,
            n_backlog BIGINT, n_objections BIGINT, n_complaints BIGINT, source_file VARCHAR, source_sha256 VARCHAR)""")
    stmts.append(
        "CREATE OR REPLACE VIEW v_zaken_agg AS SELECT f.* FROM f_zaken_agg f "
        "JOIN submissions s USING (submission_id) WHERE s.in_force"
    )
    for sheet in reg.sheet_level:
        cols = ",\n  ".join(f'"{c}" {t}' for c, t in fact_columns(reg, sheet.code))
        stmts.append(f"CREATE TABLE IF NOT EXISTS f_{sheet.code} (\n  {cols})")
        # a warehouse made by an earlier version gains the columns added since (the state columns, ...)
        stmts += [
            f'ALTER TABLE f_{sheet.code} ADD COLUMN IF NOT EXISTS "{c}" {t}'
            for c, t in fact_columns(reg, sheet.code)
            if "NOT NULL" not in t
        ]
        stmts.append(
            f"CREATE OR REPLACE VIEW v_{sheet.code} AS SELECT f.* FROM f_{sheet.code} f "
            f"JOIN submissions s USING (submission_id) WHERE s.in_force"
        )
    return stmts


def connect(db_path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path), read_only=read_only)
    con.execute("SET threads TO 2")
    return con


def init_schema(con: duckdb.DuckDBPyConnection, reg: Registry | None = None) -> None:
    for stmt in schema_sql(reg or registry()):
        con.execute(stmt)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")


def sync_organisations(con: duckdb.DuckDBPyConnection, orgs: list[Organisation]) -> None:
    """Replace the ``organisations`` table by the register ``orgs``, in a transaction of its own."""
    with transaction(con):
        replace_organisations(con, orgs)


def replace_organisations(con: duckdb.DuckDBPyConnection, orgs: list[Organisation]) -> None:
    """Replace the ``organisations`` table by the register ``orgs`` (inside the caller's transaction)."""
    df = pd.DataFrame(
        [
            {
                "org_code": o.org_code,
                "name": o.name,
                "abbreviation": o.abbreviation,
                "cluster": o.cluster,
                "size_class": o.size_class,
                "member_since": o.member_since,
                "member_until": o.member_until,
                "predecessor_codes": ";".join(o.predecessor_codes) or None,
                "successor_code": o.successor_code,
            }
            for o in orgs
        ]
    )
    df["member_until"] = df["member_until"].astype("Int64")
    con.execute("DELETE FROM organisations")
    con.register("_orgs", df)
    con.execute("INSERT INTO organisations SELECT * FROM _orgs ORDER BY org_code")
    con.unregister("_orgs")


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table or view ``name`` exists (what ``information_schema.tables`` lists, at a third of its cost
    for a table: it is asked a few thousand times in a demo)."""
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0]:
        return True
    return bool(
        con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT internal", [name]).fetchone()[0]
    )


def default_year(con: duckdb.DuckDBPyConnection) -> int | None:
    """The year a command works on when none is given: the latest year with an accepted submission in
    force. A stray delivery for a later year (rejected, or misfiled) never moves it. Without any accepted
    submission: the latest year that has deliveries at all."""
    if not table_exists(con, "submissions"):
        return None
    y = con.execute("SELECT max(year) FROM submissions WHERE in_force AND year > 0").fetchone()[0]
    if y is None:
        y = con.execute("SELECT max(year) FROM submissions WHERE year > 0").fetchone()[0]
    return int(y) if y is not None else None


def later_years(con: duckdb.DuckDBPyConnection, year: int) -> list[tuple[int, int]]:
    """Years after ``year`` that have deliveries but nothing accepted: (year, number of deliveries)."""
    if not table_exists(con, "submissions"):
        return []
    return [
        (int(y), int(n))
        for y, n in con.execute(
            "SELECT year, count(*) FROM submissions WHERE year > ? GROUP BY year "
            "HAVING NOT bool_or(in_force) ORDER BY year",
            [year],
        ).fetchall()
    ]
