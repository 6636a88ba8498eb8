"""Case microdata (sheet ``zaken``): millions of rows, validated and aggregated in DuckDB.

A case file (``zaken.csv`` in the Dutch dialect, or ``zaken.parquet``) is never loaded into memory as a
whole, and never copied or fingerprinted by a validation tool. Instead:

1. **One streaming scan** in DuckDB computes, per product and for the organisation, both the case
   indicators (cases, decisions, decided within term, median and 90th-percentile lead time, backlog at
   year end, objections, complaints), for every registry rule of the ``zaken`` fields, the number of
   rows that break it, and the case-id hashes for the uniqueness check (sorted per file afterwards). The
   rule predicates are generated from the same registry as everything else. Files are scanned in batches
   of ~20 million cases, so memory is bounded by the batch.
   Lines DuckDB cannot parse (text in a date or number, a wrong number of columns) are collected with
   ``store_rejects``; a line longer than ``MAX_CASE_LINE_BYTES`` is found before DuckDB reads the file
   (DuckDB silently skips a line longer than its read buffer), and a file DuckDB cannot read at all is a
   finding on that file only.
2. **Great Expectations** runs the registry's suite for ``zaken`` on a small frame: the first rows of the
   file (a cross-check of the SQL screening) plus, only when the scan counted violations, the offending
   rows fetched with their line numbers. Findings therefore still point at file, line and field.
3. Only the aggregates are stored in the warehouse (``f_zaken_agg``); the file itself is kept in the inbox
   under its checksum like every other file received.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.core.findings import Finding, short_value
from pipeline.core.numbers import count_text, decimal_comma_sql, format_number, parse_number, whole_number_regex
from pipeline.core.safe_files import NotRegularFile, longest_line_over, open_regular
from pipeline.core.workspace import is_out_of_space
from pipeline.ingest.batch import Item
from pipeline.ingest.discover import MAX_CASE_LINE_BYTES, Delivery
from pipeline.metadata.registry import Field, Registry, registry
from pipeline.validate import gx

SQL_TYPES = {"text": "VARCHAR", "code": "VARCHAR", "date": "DATE", "integer": "INTEGER", "number": "DOUBLE"}
SAMPLE_ROWS = 5_000
# the case-id hashes of one scan are held in memory (8 bytes per case, twice: DuckDB's lists and their Arrow
# copy); files are therefore scanned in batches of about this many cases, so memory is bounded by the
# batch (or by the largest single file), not by the total input
SCAN_BATCH_ROWS = 20_000_000
MAX_ROWS_PER_RULE = 50
# the longest line a case file may have (a real one is under 300 bytes); also DuckDB's max_line_size
NUL_RULE = "text:nul"
NULL_STRINGS = ["", "n.v.t.", "-", "onb.", "NULL"]
TEXT = "__text"  # suffix of the column holding a number as written in the file


@dataclass
class CaseScan:
    """The result of validating and aggregating one case file."""

    path: Path
    n_rows: int = 0
    aggregates: pd.DataFrame = field(default_factory=pd.DataFrame)
    findings: list[Finding] = field(default_factory=list)
    violations: dict[str, int] = field(default_factory=dict)
    frame: pd.DataFrame | None = None  # first rows + violating rows, for Great Expectations

    @property
    def n_errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _fields(reg: Registry) -> tuple[Field, ...]:
    return reg.sheet("zaken").fields


def source_sql(path: Path | list[Path], reg: Registry, rejects: str | None = None, ignore_errors: bool = False) -> str:
    """A DuckDB table function reading case files with the registry's declared types (with a list of
    files, the column ``filename`` tells which file a row came from)."""
    many = isinstance(path, list)
    target = "[" + ", ".join(_quote(p) for p in path) + "]" if many else _quote(path)
    first = path[0] if many else path
    if first.suffix.lower() == ".parquet":
        cols = ", ".join(
            f'CAST("{f.code}" AS {SQL_TYPES[f.type]}) AS "{f.code}"'
            + (
                f', CAST(CAST("{f.code}" AS {SQL_TYPES[f.type]}) AS VARCHAR) AS "{f.code}{TEXT}"'
                if f.is_numeric
                else ""
            )
            for f in _fields(reg)
        )
        extra = ", filename" if many else ""
        return f"(SELECT {cols}{extra} FROM read_parquet({target}{', filename=true' if many else ''}))"
    # numbers are read as text and converted by decimal_comma_sql: DuckDB itself would read '1.500' as 2
    columns = "{" + ", ".join(f"'{f.code}': '{_csv_type(f)}'" for f in _fields(reg)) + "}"
    opts = [
        "delim=';'",
        "header=true",
        "dateformat='%d-%m-%Y'",
        f"columns={columns}",
        "quote='\"'",
        f"nullstr={NULL_STRINGS!r}",
        "auto_detect=false",
        f"max_line_size={MAX_CASE_LINE_BYTES}",
    ]
    if rejects:
        opts += ["store_rejects=true", f"rejects_table='{rejects}'", f"rejects_scan='{rejects}_scan'"]
    if many:
        opts.append("filename=true")
    if ignore_errors:
        opts.append("ignore_errors=true")
    return f"(SELECT {_typed_columns(reg)}{', filename' if many else ''} FROM read_csv({target}, {', '.join(opts)}))"


def _csv_type(f: Field) -> str:
    return "VARCHAR" if f.is_numeric else SQL_TYPES[f.type]


def _typed_columns(reg: Registry) -> str:
    """The select list over a case CSV read with numbers as text: each number converted with the Dutch
    convention of the file (:func:`pipeline.core.numbers.decimal_comma_sql`), its text kept in
    ``<field>__text`` (a text that is no number leaves the number NULL: rule ``type:<field>``)."""
    out = []
    for f in _fields(reg):
        col = f'"{f.code}"'
        if f.is_numeric:
            out.append(f'{decimal_comma_sql(col, SQL_TYPES[f.type])} AS {col}, {col} AS "{f.code}{TEXT}"')
        else:
            out.append(col)
    return ", ".join(out)


def numbered_sql(path: Path, reg: Registry, limit: int | None = None) -> str:
    """The case file with its line numbers (header = line 1); unparseable values become NULL here (they
    were reported by the scan's rejects). With ``limit`` only the first rows are read."""
    lim = f" LIMIT {int(limit)}" if limit else ""
    if path.suffix.lower() == ".parquet":
        return f"(SELECT row_number() OVER () AS __row, * FROM (SELECT * FROM {source_sql(path, reg)}{lim}))"
    columns = "{" + ", ".join(f"'{f.code}': 'VARCHAR'" for f in _fields(reg)) + "}"
    exprs = []
    for f in _fields(reg):
        col = f'"{f.code}"'
        if f.type == "date":
            exprs.append(f"CAST(try_strptime({col}, '%d-%m-%Y') AS DATE) AS {col}")
        elif f.is_numeric:
            exprs.append(f'{decimal_comma_sql(col, SQL_TYPES[f.type])} AS {col}, {col} AS "{f.code}{TEXT}"')
        else:
            exprs.append(col)
    # for the first rows a small read buffer is enough (the default buffer tokenises 32 MB per file)
    small = ", buffer_size=2097152" if limit else ""
    src = (
        f"read_csv({_quote(path)}, delim=';', header=true, quote='\"', columns={columns}, "
        f"nullstr={NULL_STRINGS!r}, auto_detect=false, max_line_size={MAX_CASE_LINE_BYTES}{small})"
    )
    return f"(SELECT row_number() OVER () + 1 AS __row, {', '.join(exprs)} FROM (SELECT * FROM {src}{lim}))"


def rule_predicates(reg: Registry) -> list[tuple[str, str, str, str | None]]:
    """(rule id, field, SQL predicate true for a violating row, GX expectation kind), from the registry."""
    out: list[tuple[str, str, str, str | None]] = []
    for f in _fields(reg):
        col = f'"{f.code}"'
        text = f'"{f.code}{TEXT}"'
        if f.required:
            out.append((f"required:{f.code}", f.code, f"{text if f.is_numeric else col} IS NULL", "required"))
        if f.is_numeric:
            out.append((f"type:{f.code}", f.code, f"{text} IS NOT NULL AND {col} IS NULL", "type"))
        if f.is_numeric and (f.min is not None or f.max is not None):
            lo = f.min if f.min is not None else -1e300
            hi = f.max if f.max is not None else 1e300
            out.append((f"range:{f.code}", f.code, f"{col} NOT BETWEEN {lo} AND {hi}", "range"))
        if f.type == "code" and f.codes:
            values = ", ".join("'" + c.replace("'", "''") + "'" for c in f.codes)
            out.append((f"code_list:{f.code}", f.code, f"{col} NOT IN ({values})", "code_list"))
        if f.max_length:
            out.append((f"length:{f.code}", f.code, f"length({col}) > {int(f.max_length)}", "length"))
    for r in reg.rules_for("zaken"):
        if r.kind == "le":
            out.append((f"rule:{r.code}", r.a, f'"{r.a}" > "{r.b}"', "le"))
    return out


def _scan_sql(paths: list[Path], reg: Registry, year: int, rejects: str) -> str:
    """One streaming pass: counts and rule violations per file, product and lead time in days (of decided
    cases). Lead times are whole days, so this histogram gives exact quantiles while its size stays small
    (files × products × distinct lead times), whatever the number of cases. The 64-bit hashes of the case
    ids ride along as lists (``__ids``, 8 bytes per case) for the uniqueness check."""
    y0, y1 = f"DATE '{year}-01-01'", f"DATE '{year}-12-31'"
    checks = ",\n  ".join(f'count(*) FILTER (WHERE {pred}) AS "v|{rid}"' for rid, _, pred, _ in rule_predicates(reg))
    # NUL characters in a text value: binary data that DuckDB reads as text without complaint
    texts = [f.code for f in _fields(reg) if f.type in ("text", "code")]
    checks += (
        ",\n  count(*) FILTER (WHERE " + " OR ".join(f'contains("{c}", chr(0))' for c in texts) + f') AS "v|{NUL_RULE}"'
    )
    return f"""
WITH c AS (
  SELECT filename, product_code, case_id, datum_ontvangst, datum_besluit, termijn_dagen, kanaal, bezwaar, klacht,
         {", ".join(f'"{f.code}{TEXT}"' for f in _fields(reg) if f.is_numeric)},
         datum_besluit - datum_ontvangst AS lead_days,
         datum_besluit IS NOT NULL AND datum_besluit BETWEEN {y0} AND {y1} AS decided
  FROM {source_sql(paths, reg, rejects)}
)
SELECT
  filename, product_code, CASE WHEN decided THEN lead_days END AS lead_days,
  count(*) AS n_rows,
  list(hash(case_id)) FILTER (WHERE case_id IS NOT NULL) AS "__ids",
  count(*) FILTER (WHERE datum_ontvangst BETWEEN {y0} AND {y1}) AS n_cases,
  count(*) FILTER (WHERE decided) AS n_decided,
  count(*) FILTER (WHERE decided AND lead_days <= termijn_dagen) AS n_on_time,
  count(*) FILTER (WHERE datum_ontvangst <= {y1} AND (datum_besluit IS NULL OR datum_besluit > {y1})) AS n_backlog,
  coalesce(sum(bezwaar) FILTER (WHERE decided), 0)::BIGINT AS n_objections,
  coalesce(sum(klacht) FILTER (WHERE datum_ontvangst BETWEEN {y0} AND {y1}), 0)::BIGINT AS n_complaints,
  {checks}
FROM c
GROUP BY ALL
"""


def _group_quantiles(hist: pd.DataFrame, keys: list[str], q: float) -> pd.DataFrame:
    """Linear-interpolation quantile (type 7, as DuckDB's quantile_cont and numpy) of ``lead_days`` per
    group of ``keys`` (column ``value``), from a histogram with the count of each lead time in ``n``.

    With the counts sorted by lead time and cumulated within the group, the k-th smallest value (1-based)
    sits on the one row where ``cum - n < k <= cum``."""
    h = hist.sort_values(keys + ["lead_days"], kind="stable", ignore_index=True)
    grouped = h.groupby(keys, sort=False, dropna=False)
    cum = grouped["n"].cumsum()
    total = grouped["n"].transform("sum")
    pos = (total - 1) * q
    lo, hi = np.floor(pos) + 1, np.ceil(pos) + 1
    at_lo = (cum - h["n"] < lo) & (lo <= cum)
    at_hi = (cum - h["n"] < hi) & (hi <= cum)
    out = h.loc[at_lo, keys].reset_index(drop=True)  # one row per group, in the same order for both
    v_lo = h.loc[at_lo, "lead_days"].to_numpy(dtype="float64")
    v_hi = h.loc[at_hi, "lead_days"].to_numpy(dtype="float64")
    frac = (pos - np.floor(pos))[at_lo].to_numpy(dtype="float64")
    out["value"] = v_lo + frac * (v_hi - v_lo)
    return out


def _aggregate_histogram(hist: pd.DataFrame) -> pd.DataFrame:
    """Per file and product, and per file (is_total = 1): sums of the counts and the lead-time quantiles."""
    sums = [c for c in hist.columns if c not in ("filename", "product_code", "lead_days")]
    hist = hist.assign(product_code=hist["product_code"].astype(object))
    decided = hist.loc[hist["lead_days"].notna(), ["filename", "product_code", "lead_days", "n_decided"]]
    decided = decided.rename(columns={"n_decided": "n"})
    parts = []
    for total in (0, 1):
        keys = ["filename"] if total else ["filename", "product_code"]
        out = hist.groupby(keys, sort=True, dropna=False)[sums].sum().astype("int64").reset_index()
        dec = decided.groupby(keys + ["lead_days"], sort=False, dropna=False, as_index=False)["n"].sum()
        for name, q in (("lead_median", 0.5), ("lead_p90", 0.9)):
            quantiles = _group_quantiles(dec, keys, q).rename(columns={"value": name})
            out = out.merge(quantiles, on=keys, how="left")
        if total:
            out.insert(1, "product_code", None)
        out.insert(2, "is_total", total)
        parts.append(out)
    out = pd.concat(parts, ignore_index=True)
    out["lead_median"] = out["lead_median"].astype("float64")
    out["lead_p90"] = out["lead_p90"].astype("float64")
    first = [
        "filename",
        "product_code",
        "is_total",
        "n_rows",
        "n_cases",
        "n_decided",
        "n_on_time",
        "lead_median",
        "lead_p90",
        "n_backlog",
        "n_objections",
        "n_complaints",
    ]
    return out[first + [c for c in out.columns if c not in first]]


def _duplicate_ids(table: pa.Table) -> dict[str, int]:
    """Per file: the number of case-id hashes that repeat an earlier one (``count - count DISTINCT``).

    The hashes of a file are gathered from its histogram rows (batch by batch, without first combining the
    Arrow chunks into a copy) and sorted (numpy sorts without the GIL, so two files are sorted at once);
    equal neighbours are repeats. A DuckDB ``count(DISTINCT …)`` over the ids costs a second pass and a hash
    table of all ids, several times as long."""
    parts: dict[str, list[np.ndarray]] = {}
    for batch in table.select(["filename", "__ids"]).to_batches():
        names = batch.column(0).to_numpy(zero_copy_only=False)
        ids = batch.column(1)
        offsets = ids.offsets.to_numpy()
        values = ids.values.to_numpy().view(np.int64)  # equality is all that matters; int64 sorts faster
        valid = ids.is_valid().to_numpy(zero_copy_only=False)  # a group with only empty ids has no list
        for i in np.flatnonzero(valid):
            parts.setdefault(str(names[i]), []).append(values[offsets[i] : offsets[i + 1]])
    jobs = sorted(parts.items(), key=lambda job: -sum(len(a) for a in job[1]))  # largest first

    def repeats(job: tuple[str, list[np.ndarray]]) -> tuple[str, int]:
        name, pieces = job
        arr = np.concatenate(pieces)
        arr.sort()
        return name, int(np.count_nonzero(arr[1:] == arr[:-1]))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(repeats, jobs))


def _query(sql: str) -> list[tuple]:
    """Rows of one query on a connection of its own, closed at once (not DuckDB's default connection, whose
    threads would outlive it: pipeline.core.parallel forks only a process without DuckDB threads)."""
    con = duckdb.connect()
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _header_findings(path: Path, reg: Registry) -> list[Finding]:
    """Required columns present? (read from the CSV header line or the Parquet schema)."""
    if path.suffix.lower() == ".parquet":
        try:
            names = [r[0] for r in _query(f"DESCRIBE SELECT * FROM read_parquet({_quote(path)})")]
        except duckdb.Error:
            return [
                Finding(
                    "error",
                    "file_corrupt",
                    f"{path.name} is geen leesbaar Parquet-bestand.",
                    f"{path.name} is not a readable Parquet file.",
                    sheet="zaken",
                    cell=path.name,
                )
            ]
    else:
        try:
            with open_regular(path) as fh:
                head = fh.read(65536)
        except NotRegularFile:
            return [
                Finding(
                    "error",
                    "file_special",
                    f"{path.name} is geen gewoon bestand en is niet gelezen.",
                    f"{path.name} is not a regular file and was not read.",
                    sheet="zaken",
                    cell=path.name,
                )
            ]
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return [
                Finding(
                    "error",
                    "file_encoding",
                    f"{path.name} is opgeslagen als UTF-16; lever zaakbestanden als 'CSV UTF-8' of Parquet.",
                    f"{path.name} was saved as UTF-16; deliver case files as 'CSV UTF-8' or Parquet.",
                    sheet="zaken",
                    cell=path.name,
                )
            ]
        first = head.split(b"\n", 1)[0].decode("utf-8-sig", "replace").strip("\r")
        names = [c.strip().strip('"') for c in first.split(";")]
    missing = [f for f in _fields(reg) if f.code not in names]
    return [
        Finding(
            "error",
            "column_missing",
            f"De kolom '{f.label_nl}' ({f.code}) ontbreekt in {path.name}. De kopregel moet alle veldcodes bevatten, gescheiden door ';'.",
            f"The column '{f.label_en}' ({f.code}) is missing in {path.name}. The header must hold every field code, separated by ';'.",
            sheet="zaken",
            cell=path.name,
            field=f.code,
        )
        for f in missing
    ]


def unreadable_finding(path: Path, exc: BaseException) -> Finding:
    """The finding for a case file that could not be read at all (the first line of the reader's error)."""
    text = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
    return Finding(
        "error",
        "file_unreadable",
        f"{path.name} kon niet worden gelezen: {text}",
        f"{path.name} could not be read: {text}",
        sheet="zaken",
        cell=path.name,
    )


def line_too_long_finding(path: Path, line: int, length: int) -> Finding:
    limit = MAX_CASE_LINE_BYTES // 1024
    return Finding(
        "error",
        "line_too_long",
        f"Regel {line} van {path.name} is langer dan {limit} KB (minstens {format_number(length, 'nl')} bytes); een zaakregel"
        " is nooit zo lang. Het bestand is niet gelezen; controleer of het een CSV-bestand met één zaak per regel is.",
        f"Line {line} of {path.name} is longer than {limit} KB (at least {format_number(length, 'en')} bytes); a case line is never that long. "
        "The file was not read; check that it is a CSV file with one case per line.",
        sheet="zaken",
        cell=f"{path.name}, regel {line}",
        row=line,
    )


def scan_case_files(
    paths: list[Path],
    year: int,
    reg: Registry | None = None,
    memory_limit: str = "1GB",
    validate: bool = True,
    long_lines: dict[str, tuple[int, int] | None] | None = None,
) -> list[CaseScan]:
    """Validate and aggregate case files: one streaming DuckDB scan over the files of a format (DuckDB
    parallelises over and within files; in batches of ``SCAN_BATCH_ROWS`` cases to bound memory), then one
    GX run over all files' sampled and violating rows.

    ``long_lines`` holds, per CSV path, the first line longer than ``MAX_CASE_LINE_BYTES`` (or None) if the
    caller already looked (ingest does while computing the checksum); other CSV files are checked here.
    A file with such a line, or that DuckDB cannot read, gets a finding; the others are scanned as usual."""
    reg = reg or registry()
    long_lines = long_lines or {}
    # Great Expectations takes seconds to import; DuckDB releases the GIL while it scans, so set GX up
    # in parallel with the scan instead of after it
    warm = threading.Thread(target=gx.prepare, daemon=True)
    warm.start()
    scans = [CaseScan(path=Path(p)) for p in paths]
    for scan in scans:
        scan.findings.extend(_header_findings(scan.path, reg))
        if scan.findings or scan.path.suffix.lower() == ".parquet":
            continue
        try:
            found = (
                long_lines[str(scan.path)]
                if str(scan.path) in long_lines
                else longest_line_over(scan.path, MAX_CASE_LINE_BYTES)
            )
        except OSError as exc:
            scan.findings.append(unreadable_finding(scan.path, exc))
            continue
        if found is not None:
            scan.findings.append(line_too_long_finding(scan.path, *found))
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        for parquet in (False, True):
            group = [s for s in scans if not s.findings and (s.path.suffix.lower() == ".parquet") == parquet]
            for i, batch in enumerate(_batches(group)):
                _scan_group(con, batch, reg, year, f"rejects_{int(parquet)}_{i}")
    finally:
        con.close()
    warm.join()
    if validate:
        validate_frames(scans, reg)
    return scans


def _estimated_rows(path: Path) -> int:
    """Rows of a case file: from the Parquet footer, or the CSV's size over the mean length of its first lines."""
    try:
        if path.suffix.lower() == ".parquet":
            return int(_query(f"SELECT count(*) FROM read_parquet({_quote(path)})")[0][0])
        with open_regular(path) as fh:
            head = fh.read(1 << 20)
        lines = head.count(b"\n")
        return int(path.stat().st_size / (len(head) / lines)) if lines else 1
    except (OSError, duckdb.Error):
        return 1


def _batches(scans: list[CaseScan], limit: int | None = None) -> list[list[CaseScan]]:
    """Files in batches of at most ``limit`` estimated rows (a larger file is a batch of its own), in the
    given order."""
    limit = SCAN_BATCH_ROWS if limit is None else limit
    out: list[list[CaseScan]] = []
    rows = 0
    for scan in scans:
        n = _estimated_rows(scan.path)
        if not out or rows + n > limit:
            out.append([])
            rows = 0
        out[-1].append(scan)
        rows += n
    return [b for b in out if b]


def scan_case_file(
    path: Path, year: int, reg: Registry | None = None, memory_limit: str = "1GB", validate: bool = True
) -> CaseScan:
    """Validate and aggregate one case file in DuckDB (streaming, bounded memory)."""
    return scan_case_files([path], year, reg, memory_limit, validate)[0]


def _scan_group(con: duckdb.DuckDBPyConnection, scans: list[CaseScan], reg: Registry, year: int, rejects: str) -> None:
    """Scan a batch of files; if DuckDB fails on the batch, each file is scanned on its own so only the file
    it cannot read gets the finding (never an exception: one broken file must not stop the run)."""
    before = [list(s.findings) for s in scans]
    try:
        _scan_group_once(con, scans, reg, year, rejects)
    except Exception as exc:  # DuckDB and conversion errors alike become findings
        if is_out_of_space(exc):
            raise
        for s, findings in zip(scans, before):
            s.findings, s.n_rows, s.violations, s.frame = findings, 0, {}, None
            s.aggregates = pd.DataFrame()
        if len(scans) > 1:
            for i, s in enumerate(scans):
                _scan_group(con, [s], reg, year, f"{rejects}_{i}")
            return
        scans[0].findings.append(unreadable_finding(scans[0].path, exc))
    finally:
        try:
            con.execute("SET preserve_insertion_order = true")
        except duckdb.Error:
            pass


def _scan_group_once(
    con: duckdb.DuckDBPyConnection, scans: list[CaseScan], reg: Registry, year: int, rejects: str
) -> None:
    paths = [s.path for s in scans]
    con.execute("SET preserve_insertion_order = false")
    table = con.sql(_scan_sql(paths, reg, year, rejects)).to_arrow_table()
    # uniqueness of case ids per file from the hashes the scan collected (duplicates are confirmed exactly below)
    dup = _duplicate_ids(table)
    agg = _aggregate_histogram(table.drop_columns(["__ids"]).to_pandas())
    del table
    agg["v|unique:case_id"] = agg["filename"].map(lambda f: int(dup.get(str(f), 0)))
    by_file = {str(s.path): s for s in scans}
    structural: set[str] = set()
    for s in scans:
        found, broken = _reject_findings(con, s.path, rejects)
        s.findings.extend(found)
        if broken:
            structural.add(str(s.path))
    con.execute("SET preserve_insertion_order = true")
    for name, part in agg.groupby("filename", sort=False):
        s = by_file.get(str(name)) or by_file.get(str(Path(name)))
        if s is None:
            continue
        total = part[part["is_total"] == 1].iloc[0]
        s.n_rows = int(total["n_rows"])
        violations = {c.split("|", 1)[1]: int(total[c]) for c in part.columns if c.startswith("v|")}
        if violations.get("unique:case_id"):
            # the scan compares 64-bit hashes; confirm duplicates exactly before reporting them
            violations["unique:case_id"] = int(
                con.execute(
                    f"SELECT count(case_id) - count(DISTINCT case_id) FROM {source_sql(s.path, reg, ignore_errors=True)}"
                ).fetchone()[0]
            )
        s.violations = violations
        s.aggregates = part[[c for c in part.columns if not c.startswith("v|") and c != "filename"]].reset_index(
            drop=True
        )
    # a file with lines that could not be split into columns is rejected for them; its rows cannot be
    # numbered reliably, so its rule violations are reported as counts instead of per line
    for s in scans:
        if str(s.path) in structural:
            s.findings.extend(_violation_counts(s))
    _gx_frames(con, [s for s in scans if s.violations and str(s.path) not in structural], reg)


def _count_finding(path: Path, rid: str, n: int) -> Finding:
    if rid == NUL_RULE:
        return Finding(
            "error",
            rid,
            f"{count_text(n, 'regel', 'regels', 'nl')} in {path.name} {'bevat' if n == 1 else 'bevatten'} NUL-tekens"
            " (binaire gegevens, geen tekst).",
            f"{count_text(n, 'line', 'lines', 'en')} in {path.name} {'holds' if n == 1 else 'hold'} NUL characters"
            " (binary data, not text).",
            sheet="zaken",
            cell=path.name,
        )
    return Finding(
        "error",
        rid,
        f"{count_text(n, 'regel', 'regels', 'nl')} in {path.name} {'schendt' if n == 1 else 'schenden'} regel {rid}.",
        f"{count_text(n, 'line', 'lines', 'en')} in {path.name} {'breaks' if n == 1 else 'break'} rule {rid}.",
        sheet="zaken",
        cell=path.name,
    )


def _violation_counts(scan: CaseScan) -> list[Finding]:
    return [_count_finding(scan.path, rid, n) for rid, n in sorted(scan.violations.items()) if n]


_REJECT_TEXT = {
    "MISSING COLUMNS": ("heeft te weinig kolommen", "has too few columns"),
    "TOO MANY COLUMNS": ("heeft te veel kolommen", "has too many columns"),
    "UNQUOTED VALUE": ("heeft een aanhalingsteken midden in een waarde", "has a quote inside an unquoted value"),
    "LINE SIZE OVER MAXIMUM": (
        f"is langer dan {MAX_CASE_LINE_BYTES // 1024} KB",
        f"is longer than {MAX_CASE_LINE_BYTES // 1024} KB",
    ),
    "INVALID ENCODING": ("is geen geldige UTF-8-tekst", "is not valid UTF-8 text"),
    "INVALID UNICODE": ("is geen geldige UTF-8-tekst", "is not valid UTF-8 text"),
    "INVALID STATE": ("kan niet als CSV worden gelezen", "cannot be read as CSV"),
}


def _reject_findings(con: duckdb.DuckDBPyConnection, path: Path, rejects: str) -> tuple[list[Finding], bool]:
    """Findings for the lines DuckDB rejected (``store_rejects``): a value of the wrong type per line and
    column, a line that cannot be split into the 8 columns once per line. Also whether any line was of
    the second kind."""
    try:
        where = f"FROM {rejects} r JOIN {rejects}_scan s USING (scan_id, file_id) WHERE s.file_path = ?"
        rows = con.execute(
            f"""SELECT line, any_value(csv_line), string_agg(DISTINCT error_type, ',' ORDER BY error_type),
                       list(column_name ORDER BY column_name) FILTER (WHERE error_type = 'CAST')
                FROM (SELECT r.line, r.csv_line, CAST(r.error_type AS VARCHAR) AS error_type, r.column_name {where})
                GROUP BY line ORDER BY line LIMIT 200""",
            [str(path)],
        ).fetchall()
        n = con.execute(f"SELECT count(DISTINCT r.line) {where}", [str(path)]).fetchone()[0]
    except duckdb.Error:
        return [], False
    out: list[Finding] = []
    broken = False
    for line, csv_line, types, cast_columns in rows:
        # any reject but CAST means the line could not be split into the columns (a wrong type is CAST);
        # then the CAST rejects of that line are a consequence, not a finding of their own
        kinds = [t for t in (types or "").split(",") if t and t != "CAST"]
        if kinds:
            broken = True
            nl, en = _REJECT_TEXT.get(kinds[0], ("kan niet worden gelezen", "cannot be read"))
            out.append(
                Finding(
                    "error",
                    "line_unreadable",
                    f"Regel {line} van {path.name} {nl} (verwacht: 8 waarden gescheiden door ';'); de regel is niet gelezen.",
                    f"Line {line} of {path.name} {en} (expected: 8 values separated by ';'); the line was not read.",
                    sheet="zaken",
                    cell=f"{path.name}, regel {line}",
                    row=int(line),
                    value=short_value(csv_line),
                )
            )
            continue
        for column in cast_columns or []:
            out.append(
                Finding(
                    "error",
                    "type",
                    f"Regel {line} van {path.name}: de waarde in kolom {column} heeft niet het juiste type; "
                    "datums als dd-mm-jjjj, getallen zonder tekst.",
                    f"Line {line} of {path.name}: the value in column {column} has the wrong type; "
                    "dates as dd-mm-yyyy, numbers without text.",
                    sheet="zaken",
                    cell=f"{path.name}, regel {line}, kolom {column}",
                    row=int(line),
                    field=column,
                    value=short_value(csv_line),
                )
            )
    if n > len(rows):
        out.append(
            Finding(
                "error",
                "type",
                f"Nog {n - len(rows)} regels die niet gelezen konden worden in {path.name}.",
                f"{n - len(rows)} more lines that could not be read in {path.name}.",
                sheet="zaken",
                cell=path.name,
            )
        )
    return out, broken


def _gx_frames(con: duckdb.DuckDBPyConnection, scans: list[CaseScan], reg: Registry) -> None:
    """Each file's first rows plus (only if the scan counted any) its violating rows, with line numbers,
    read in one query for all files (DuckDB reads the files in parallel)."""
    if not scans:
        return
    parts = []
    for i, scan in enumerate(scans):
        path, violations = scan.path, scan.violations
        numbered = numbered_sql(path, reg)
        parts.append(f"SELECT {i} AS __file, * FROM {numbered_sql(path, reg, SAMPLE_ROWS)}")
        for rid, _, pred, _ in rule_predicates(reg):
            if violations.get(rid):
                parts.append(f"SELECT {i}, * FROM (SELECT * FROM {numbered} WHERE {pred} LIMIT {MAX_ROWS_PER_RULE})")
        if violations.get("unique:case_id"):
            parts.append(f"""SELECT {i}, * FROM (SELECT * FROM {numbered} WHERE case_id IN (
                               SELECT case_id FROM {numbered} GROUP BY case_id HAVING count(*) > 1 LIMIT {MAX_ROWS_PER_RULE})
                             LIMIT {2 * MAX_ROWS_PER_RULE})""")
    try:
        frame = con.execute(" UNION ".join(parts) + " ORDER BY __file, __row").fetch_df()
    except duckdb.Error:
        if len(scans) > 1:  # find the file whose lines cannot be numbered; the others keep their frames
            for scan in scans:
                _gx_frames(con, [scan], reg)
            return
        scans[0].findings.extend(_violation_counts(scans[0]))
        return
    for f in _fields(reg):
        if f.type == "date":
            frame[f.code] = pd.to_datetime(frame[f.code])
        elif f.is_numeric:
            frame[f.code] = frame[f.code].astype("float64")
        else:
            frame[f.code] = frame[f.code].astype(object)
    for i, part in frame.groupby("__file", sort=False):
        scans[int(i)].frame = part.drop(columns="__file").reset_index(drop=True)


def validate_frames(scans: list[CaseScan], reg: Registry) -> None:
    """One Great Expectations run over the frames of all scans; findings go to their own scan."""
    live = [(i, s) for i, s in enumerate(scans) if s.frame is not None]
    if not live:
        return
    frames = []
    for i, s in live:
        f = s.frame.copy()
        f.insert(0, "__sub", i)
        frames.append(f)
    frame = pd.concat(frames, ignore_index=True)
    # case ids are unique per file: different organisations may well use the same numbers
    frame["__case_key"] = [None if pd.isna(v) else f"{sub}\x1f{v}" for sub, v in zip(frame["__sub"], frame["case_id"])]
    results = gx.run(frame, _suite(reg), ["__sub", "__row"])
    indexed = frame.set_index(["__sub", "__row"])
    seen: dict[int, set[tuple[str, int]]] = {i: set() for i, _ in live}
    for res in results:
        if res.success:
            continue
        meta = dict(res.expectation_config.meta or {})
        for entry in res.result.get("unexpected_index_list") or []:
            i, row = int(entry["__sub"]), int(entry["__row"])
            key = (meta["rule"], row)
            if key in seen[i] or sum(1 for m, _ in seen[i] if m == meta["rule"]) >= 2 * MAX_ROWS_PER_RULE:
                continue
            seen[i].add(key)
            rec = indexed.loc[(i, row)]
            if isinstance(rec, pd.DataFrame):
                rec = rec.iloc[0]
            scans[i].findings.append(_finding(scans[i].path, reg, meta, row, rec))
    for i, scan in live:
        path, violations = scan.path, scan.violations
        missed = {rid for rid, n in violations.items() if n} - {m for m, _ in seen[i]}
        for rid in sorted(missed):
            scan.findings.append(_count_finding(path, rid, violations[rid]))
        for rid, n in sorted(violations.items()):
            shown = sum(1 for m, _ in seen[i] if m == rid)
            if n > shown and rid not in missed:
                scan.findings.append(
                    Finding(
                        "error",
                        rid,
                        f"In totaal {count_text(n, 'regel', 'regels', 'nl')} in {path.name} schenden regel {rid}"
                        f" (de eerste {format_number(shown, 'nl')} staan hierboven).",
                        f"In all {count_text(n, 'line', 'lines', 'en')} in {path.name} break rule {rid}"
                        f" (the first {format_number(shown, 'en')} are listed above).",
                        sheet="zaken",
                        cell=path.name,
                    )
                )
        scan.frame = None


def _suite(reg: Registry):
    gxe = gx.expectations()
    suite = gx.new_suite("rbb_zaken")
    for rid, fcode, _, kind in rule_predicates(reg):
        f = reg.sheet("zaken").field(fcode)
        meta = {"rule": rid, "field": fcode, "severity": "error"}
        if kind == "required":
            column = f"{fcode}{TEXT}" if f.is_numeric else fcode
            suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column, meta=meta))
        elif kind == "type":
            suite.add_expectation(
                gxe.ExpectColumnValuesToMatchRegex(column=f"{fcode}{TEXT}", regex=whole_number_regex(), meta=meta)
            )
        elif kind == "range":
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeBetween(column=fcode, min_value=f.min, max_value=f.max, meta=meta)
            )
        elif kind == "code_list":
            suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column=fcode, value_set=list(f.codes), meta=meta))
        elif kind == "length":
            suite.add_expectation(
                gxe.ExpectColumnValueLengthsToBeBetween(column=fcode, max_value=f.max_length, meta=meta)
            )
        elif kind == "le":
            rule = next(r for r in reg.rules_for("zaken") if f"rule:{r.code}" == rid)
            suite.add_expectation(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=rule.b, column_B=rule.a, or_equal=True, ignore_row_if="either_value_is_missing", meta=meta
                )
            )
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeUnique(
            column="__case_key", meta={"rule": "unique:case_id", "field": "case_id", "severity": "error"}
        )
    )
    return suite


def _finding(path: Path, reg: Registry, meta: dict, row: int, rec: pd.Series) -> Finding:
    fcode = meta["field"]
    f = reg.sheet("zaken").field(fcode)
    value = rec.get(fcode)
    shown = (
        None
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT
        else (value.strftime("%d-%m-%Y") if hasattr(value, "strftime") else short_value(value))
    )
    kind = meta["rule"].split(":", 1)[0]
    where = f"Regel {row} van {path.name}"
    where_en = f"Line {row} of {path.name}"
    if kind == "required":
        nl, en = (
            f"{where}: het verplichte veld '{f.label_nl}' is leeg.",
            f"{where_en}: the required field '{f.label_en}' is empty.",
        )
    elif kind == "range":
        written = rec.get(f"{fcode}{TEXT}")
        typed = short_value(written.strip()) if isinstance(written, str) and written.strip() else None
        said_nl, said_en = (format_number(float(value), lang, least_decimals=0) for lang in ("nl", "en"))
        if typed is not None and not re.fullmatch(r"-?[0-9.,]+", typed):
            said_nl, said_en = f"{said_nl} (ingevuld als '{typed}')", f"{said_en} (entered as '{typed}')"
        shown = typed or shown
        nl = f"{where}: '{f.label_nl}' is {said_nl}; toegestaan is {format_number(float(f.min), 'nl')} tot en met {format_number(float(f.max), 'nl')}."
        en = f"{where_en}: '{f.label_en}' is {said_en}; allowed is {format_number(float(f.min), 'en')} to {format_number(float(f.max), 'en')}."
    elif kind == "code_list":
        nl = f"{where}: '{f.label_nl}' bevat '{shown}'; kies uit {', '.join(f.codes)}."
        en = f"{where_en}: '{f.label_en}' contains '{shown}'; choose from {', '.join(f.codes)}."
    elif kind == "type":
        written = rec.get(f"{fcode}{TEXT}")
        shown = short_value(written)
        parsed = parse_number(written, decimal_comma=True)
        if parsed.problem == "ambiguous":
            nl, en = f"{where}: '{f.label_nl}': {parsed.reason_nl}.", f"{where_en}: '{f.label_en}': {parsed.reason_en}."
        else:
            nl = (
                f"{where}: '{f.label_nl}' bevat '{shown}'; dat is geen geheel getal (schrijf bijvoorbeeld 14 of 1.500)."
            )
            en = f"{where_en}: '{f.label_en}' contains '{shown}', which is not a whole number (write for example 14 or 1.500)."
    elif kind == "unique":
        nl = f"{where}: zaaknummer '{shown}' komt meer dan één keer voor; elk zaaknummer mag één keer voorkomen."
        en = f"{where_en}: case id '{shown}' occurs more than once; each case id may occur once."
    elif kind == "rule":
        other = rec.get("datum_besluit")
        other = other.strftime("%d-%m-%Y") if hasattr(other, "strftime") else other
        nl = f"{where}: de datum van ontvangst ({shown}) ligt na de datum van het besluit ({other})."
        en = f"{where_en}: the date received ({shown}) is after the date decided ({other})."
    else:
        nl = f"{where}: '{f.label_nl}' voldoet niet aan regel {meta['rule']}."
        en = f"{where_en}: '{f.label_en}' breaks rule {meta['rule']}."
    return Finding(
        "error",
        meta["rule"],
        nl,
        en,
        sheet="zaken",
        cell=f"{path.name}, regel {row}, kolom {fcode}",
        row=row,
        field=fcode,
        value=shown,
    )


def aggregate_rows(scan: CaseScan, submission_id: int, org: str, year: int, sha256: str) -> pd.DataFrame:
    """The rows for ``f_zaken_agg``: one per product and one organisation total (product_code NULL)."""
    a = scan.aggregates.copy()
    a.loc[a["is_total"] == 1, "product_code"] = None
    out = pd.DataFrame(
        {
            "submission_id": submission_id,
            "org_code": org,
            "year": year,
            "product_code": a["product_code"].astype(object),
            "n_rows": a["n_rows"],
            "n_cases": a["n_cases"],
            "n_decided": a["n_decided"],
            "n_on_time": a["n_on_time"],
            "lead_median": a["lead_median"].astype("float64"),
            "lead_p90": a["lead_p90"].astype("float64"),
            "n_backlog": a["n_backlog"],
            "n_objections": a["n_objections"].astype("int64"),
            "n_complaints": a["n_complaints"].astype("int64"),
            "source_file": scan.path.name,
            "source_sha256": sha256,
        }
    )
    return out.sort_values("product_code", na_position="last", ignore_index=True)


def case_indicator_table(stored: list[pd.DataFrame]) -> pd.DataFrame:
    """Case indicators per organisation and product (product_code None = organisation), from the rows
    stored for ``f_zaken_agg`` (``aggregate_rows``)."""
    frames = [rows for rows in stored if not rows.empty]
    if not frames:
        return pd.DataFrame()
    t = pd.concat(frames, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        t["share_within_term"] = t["n_on_time"] / t["n_decided"]
        t["objections_per_1000"] = 1000 * t["n_objections"] / t["n_decided"]
        t["complaints_per_1000"] = 1000 * t["n_complaints"] / t["n_cases"]
    return t.drop(columns=["submission_id", "source_file", "source_sha256"])


def run_case_pipeline(files: dict[str, Path], year: int, db_path: Path) -> pd.DataFrame:
    """The case-data path of ingest + validation + compute, on its own: scan and validate every file,
    store the accepted files' aggregates in the DuckDB file ``db_path`` (one transaction per file) and
    return the case indicators. Used by the benchmark; ``rbb ingest`` uses the same functions."""
    from pipeline.core.warehouse import connect, init_schema, transaction

    reg = registry()
    orgs = sorted(files)
    scans = dict(zip(orgs, scan_case_files([Path(files[o]) for o in orgs], year, reg)))
    con = connect(Path(db_path))
    stored = []
    try:
        init_schema(con, reg)
        for i, (org, scan) in enumerate(sorted(scans.items()), start=1):
            if scan.n_errors:
                continue
            rows = aggregate_rows(scan, i, org, year, "")
            stored.append(rows)
            with transaction(con):
                con.execute("DELETE FROM f_zaken_agg WHERE org_code = ? AND year = ?", [org, year])
                con.register("_agg", rows)
                con.execute("INSERT INTO f_zaken_agg SELECT * FROM _agg")
                con.unregister("_agg")
    finally:
        con.close()
    return case_indicator_table(stored)


def scan_cases(deliveries: list[Delivery], items: list[Item], reg: Registry) -> dict[int, list]:
    """Validate and aggregate the case files of each delivery (DuckDB, streaming); findings join the item's.

    A case file that cannot be read is a finding on its own delivery; it never stops the run."""
    out: dict[int, list] = {}
    scans = []
    checked = {path: found for d in deliveries for path, found in d.long_lines.items()}
    for year in sorted({d.year for d in deliveries}):
        owners = [(item, path) for d, item in zip(deliveries, items) if d.year == year for path in item.raw.case_files]
        if not owners:
            continue
        paths = [p for _, p in owners]
        try:
            year_scans = scan_case_files(
                paths,
                year,
                reg,
                validate=False,
                long_lines={str(p): checked[str(p)] for p in paths if str(p) in checked},
            )
        except Exception as exc:  # a second line of defence: scan_case_files reports per file
            if is_out_of_space(exc):
                raise
            year_scans = [CaseScan(path=p, findings=[unreadable_finding(p, exc)]) for p in paths]
        for (item, _), scan in zip(owners, year_scans):
            scans.append(scan)
            out.setdefault(item.key, []).append(scan)
    try:
        validate_frames(scans, reg)
    except Exception as exc:  # never let the case validation stop the run
        if is_out_of_space(exc):
            raise
        for scan in scans:
            if scan.frame is not None:
                scan.findings.append(unreadable_finding(scan.path, exc))
                scan.frame = None
    for item in items:
        for scan in out.get(item.key, []):
            item.findings.extend(scan.findings)
            item.findings.extend(_unknown_products(scan, item))
    return out


def _unknown_products(scan: CaseScan, item: Item) -> list[Finding]:
    """Referential integrity: one warning per case file naming the product codes that are not on the products
    sheet, with their number of cases (their cases still count in the organisation's total)."""
    prod = item.frames.get("producten")
    agg = scan.aggregates
    if prod is None or "product_code" not in prod.columns or agg is None or agg.empty or "product_code" not in agg:
        return []
    known = {p for p in prod["product_code"] if isinstance(p, str)}
    rows = agg[agg["product_code"].map(lambda p: isinstance(p, str) and p not in known)]
    if "is_total" in rows.columns:
        rows = rows[rows["is_total"] != 1]
    if rows.empty:
        return []
    counts = rows.groupby("product_code")["n_rows" if "n_rows" in rows else "n_cases"].sum().sort_index()
    shown_nl = ", ".join(
        f"'{short_value(c, 40)}' ({format_number(int(n), 'nl')})" for c, n in list(counts.items())[:10]
    )
    shown_en = ", ".join(
        f"'{short_value(c, 40)}' ({format_number(int(n), 'en')})" for c, n in list(counts.items())[:10]
    )
    more = f" en {len(counts) - 10} meer" if len(counts) > 10 else ""
    more_en = f" and {len(counts) - 10} more" if len(counts) > 10 else ""
    one = len(counts) == 1
    products = item.raw.sheets.get("producten")
    if (products is not None and products.is_csv) or (products is None and item.raw.fmt == "csv"):
        name = products.name if products is not None else "producten.csv"
        on_nl, on_en, of_nl, of_en = f"in bestand {name}", f"in file {name}", f"bestand {name}", f"file {name}"
    else:
        name = products.name if products is not None else "Producten"
        on_nl, on_en, of_nl, of_en = f"op blad {name}", f"on sheet {name}", f"blad {name}", f"sheet {name}"
    return [
        Finding(
            "warning",
            "unknown_product",
            f"{scan.path.name}: {'de productcode' if one else 'de productcodes'} {shown_nl}{more} (tussen haakjes het"
            f" aantal zaken) {'staat' if one else 'staan'} niet {on_nl}. Gebruik de codes van {of_nl} of voeg"
            f" {'het product' if one else 'de producten'} daar toe.",
            f"{scan.path.name}: the product {'code' if one else 'codes'} {shown_en}{more_en} (number of cases in"
            f" brackets) {'is' if one else 'are'} not {on_en}. Use the codes of {of_en} or add the"
            f" {'product' if one else 'products'} there.",
            sheet="zaken",
            cell=scan.path.name,
            field="product_code",
            value=short_value(str(counts.index[0]), 40),
        )
    ]
