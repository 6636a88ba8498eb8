"""Case microdata (sheet ``zaken``): millions of rows, validated and aggregated in DuckDB.

A case file (``zaken.csv`` in the Dutch dialect, or ``zaken.parquet``) is never loaded into memory as a
whole, and never copied or fingerprinted by a validation tool. Instead:

1. **One streaming scan** in DuckDB computes, per product and for the organisation, both the case
   indicators (cases, decisions, decided within term, median and 90th-percentile lead time, backlog at
   year end, objections, complaints), for every registry rule of the ``zaken`` fields, the number of
   rows that break it, and the case-id hashes for the uniqueness check (sorted per file afterwards). The
   rule predicates are generated from the same registry as everything else. Files are scanned in batches
   of ~20 million cases, so memory is bounded by the batch.
   Lines DuckDB cannot parse (text in a date or number) are collected with ``store_rejects``.
2. **Great Expectations** runs the registry's suite for ``zaken`` on a small frame: the first rows of the
   file (a cross-check of the SQL screening) plus, only when the scan counted violations, the offending
   rows fetched with their line numbers. Findings therefore still point at file, line and field.
3. Only the aggregates are stored in the warehouse (``f_zaken_agg``); the file itself is kept in the inbox
   under its checksum like every other file received.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from . import gx
from .findings import Finding, short_value
from .registry import Field, Registry, registry

CASE_FILE_NAMES = ("zaken.csv", "zaken.parquet")
SQL_TYPES = {"text": "VARCHAR", "code": "VARCHAR", "date": "DATE", "integer": "INTEGER", "number": "DOUBLE"}
SAMPLE_ROWS = 5_000
# the case-id hashes of one scan are held in memory (8 bytes per case, twice: DuckDB's lists and their Arrow
# copy); files are therefore scanned in batches of about this many cases, so memory is bounded by the
# batch (or by the largest single file), not by the total input
SCAN_BATCH_ROWS = 20_000_000
MAX_ROWS_PER_RULE = 50
NULL_STRINGS = ["", "n.v.t.", "-", "onb.", "NULL"]


@dataclass
class CaseScan:
    """The result of validating and aggregating one case file."""

    path: Path
    n_rows: int = 0
    aggregates: pd.DataFrame = field(default_factory=pd.DataFrame)
    findings: list[Finding] = field(default_factory=list)
    violations: dict[str, int] = field(default_factory=dict)
    frame: pd.DataFrame | None = None       # first rows + violating rows, for Great Expectations

    @property
    def n_errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")


def is_case_file(path: Path) -> bool:
    return path.name.lower() in CASE_FILE_NAMES


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
        cols = ", ".join(f'CAST("{f.code}" AS {SQL_TYPES[f.type]}) AS "{f.code}"' for f in _fields(reg))
        extra = ", filename" if many else ""
        return f"(SELECT {cols}{extra} FROM read_parquet({target}{', filename=true' if many else ''}))"
    columns = "{" + ", ".join(f"'{f.code}': '{SQL_TYPES[f.type]}'" for f in _fields(reg)) + "}"
    opts = ["delim=';'", "header=true", "dateformat='%d-%m-%Y'", f"columns={columns}", "quote='\"'",
            f"nullstr={NULL_STRINGS!r}", "auto_detect=false"]
    if rejects:
        opts += ["store_rejects=true", f"rejects_table='{rejects}'", f"rejects_scan='{rejects}_scan'"]
    if many:
        opts.append("filename=true")
    if ignore_errors:
        opts.append("ignore_errors=true")
    return f"read_csv({target}, {', '.join(opts)})"


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
            exprs.append(f"TRY_CAST({col} AS {SQL_TYPES[f.type]}) AS {col}")
        else:
            exprs.append(col)
    # for the first rows a small read buffer is enough (the default buffer tokenises 32 MB per file)
    small = ", buffer_size=2097152" if limit else ""
    src = (f"read_csv({_quote(path)}, delim=';', header=true, quote='\"', columns={columns}, "
           f"nullstr={NULL_STRINGS!r}, auto_detect=false{small})")
    return f"(SELECT row_number() OVER () + 1 AS __row, {', '.join(exprs)} FROM (SELECT * FROM {src}{lim}))"


def rule_predicates(reg: Registry) -> list[tuple[str, str, str, str | None]]:
    """(rule id, field, SQL predicate true for a violating row, GX expectation kind), from the registry."""
    out: list[tuple[str, str, str, str | None]] = []
    for f in _fields(reg):
        col = f'"{f.code}"'
        if f.required:
            out.append((f"required:{f.code}", f.code, f"{col} IS NULL", "required"))
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
    return f"""
WITH c AS (
  SELECT filename, product_code, case_id, datum_ontvangst, datum_besluit, termijn_dagen, kanaal, bezwaar, klacht,
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
    out = h.loc[at_lo, keys].reset_index(drop=True)      # one row per group, in the same order for both
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
    first = ["filename", "product_code", "is_total", "n_rows", "n_cases", "n_decided", "n_on_time", "lead_median",
             "lead_p90", "n_backlog", "n_objections", "n_complaints"]
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
        values = ids.values.to_numpy().view(np.int64)   # equality is all that matters; int64 sorts faster
        valid = ids.is_valid().to_numpy(zero_copy_only=False)   # a group with only empty ids has no list
        for i in np.flatnonzero(valid):
            parts.setdefault(str(names[i]), []).append(values[offsets[i]:offsets[i + 1]])
    jobs = sorted(parts.items(), key=lambda job: -sum(len(a) for a in job[1]))   # largest first

    def repeats(job: tuple[str, list[np.ndarray]]) -> tuple[str, int]:
        name, pieces = job
        arr = np.concatenate(pieces)
        arr.sort()
        return name, int(np.count_nonzero(arr[1:] == arr[:-1]))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(repeats, jobs))


def _header_findings(path: Path, reg: Registry) -> list[Finding]:
    """Required columns present? (read from the CSV header line or the Parquet schema)."""
    if path.suffix.lower() == ".parquet":
        try:
            names = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet({_quote(path)})").fetchall()]
        except duckdb.Error:
            return [Finding("error", "file_corrupt", f"{path.name} is geen leesbaar Parquet-bestand.",
                            f"{path.name} is not a readable Parquet file.", sheet="zaken", cell=path.name)]
    else:
        with open(path, "rb") as fh:
            head = fh.read(65536)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return [Finding("error", "file_encoding",
                            f"{path.name} is opgeslagen als UTF-16; lever zaakbestanden als 'CSV UTF-8' of Parquet.",
                            f"{path.name} was saved as UTF-16; deliver case files as 'CSV UTF-8' or Parquet.",
                            sheet="zaken", cell=path.name)]
        first = head.split(b"\n", 1)[0].decode("utf-8-sig", "replace").strip("\r")
        names = [c.strip().strip('"') for c in first.split(";")]
    missing = [f for f in _fields(reg) if f.code not in names]
    return [Finding("error", "column_missing",
                    f"De kolom '{f.label_nl}' ({f.code}) ontbreekt in {path.name}. De kopregel moet alle veldcodes bevatten, gescheiden door ';'.",
                    f"The column '{f.label_en}' ({f.code}) is missing in {path.name}. The header must hold every field code, separated by ';'.",
                    sheet="zaken", cell=path.name, field=f.code) for f in missing]


def scan_case_files(paths: list[Path], year: int, reg: Registry | None = None, memory_limit: str = "1GB",
                    validate: bool = True) -> list[CaseScan]:
    """Validate and aggregate case files: one streaming DuckDB scan over the files of a format (DuckDB
    parallelises over and within files; in batches of ``SCAN_BATCH_ROWS`` cases to bound memory), then one
    GX run over all files' sampled and violating rows."""
    reg = reg or registry()
    # Great Expectations takes seconds to import; DuckDB releases the GIL while it scans, so set GX up
    # in parallel with the scan instead of after it
    warm = threading.Thread(target=gx.prepare, daemon=True)
    warm.start()
    scans = [CaseScan(path=Path(p)) for p in paths]
    for scan in scans:
        scan.findings.extend(_header_findings(scan.path, reg))
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
            return int(duckdb.sql(f"SELECT count(*) FROM read_parquet({_quote(path)})").fetchall()[0][0])
        with open(path, "rb") as fh:
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


def scan_case_file(path: Path, year: int, reg: Registry | None = None, memory_limit: str = "1GB",
                   validate: bool = True) -> CaseScan:
    """Validate and aggregate one case file in DuckDB (streaming, bounded memory)."""
    return scan_case_files([path], year, reg, memory_limit, validate)[0]


def _scan_group(con: duckdb.DuckDBPyConnection, scans: list[CaseScan], reg: Registry, year: int, rejects: str) -> None:
    paths = [s.path for s in scans]
    con.execute("SET preserve_insertion_order = false")
    try:
        table = con.sql(_scan_sql(paths, reg, year, rejects)).to_arrow_table()
    except duckdb.Error as exc:
        if len(scans) > 1:      # find the file that cannot be read; the others are scanned on their own
            for s in scans:
                _scan_group(con, [s], reg, year, f"{rejects}_{abs(hash(str(s.path))) % 10**8}")
            return
        scans[0].findings.append(Finding(
            "error", "file_unreadable",
            f"{paths[0].name} kon niet worden gelezen: {str(exc).splitlines()[0][:300]}",
            f"{paths[0].name} could not be read: {str(exc).splitlines()[0][:300]}", sheet="zaken", cell=paths[0].name))
        return
    # uniqueness of case ids per file from the hashes the scan collected (duplicates are confirmed exactly below)
    dup = _duplicate_ids(table)
    agg = _aggregate_histogram(table.drop_columns(["__ids"]).to_pandas())
    del table
    agg["v|unique:case_id"] = agg["filename"].map(lambda f: int(dup.get(str(f), 0)))
    by_file = {str(s.path): s for s in scans}
    for s in scans:
        s.findings.extend(_reject_findings(con, s.path, rejects))
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
            violations["unique:case_id"] = int(con.execute(
                f"SELECT count(case_id) - count(DISTINCT case_id) FROM {source_sql(s.path, reg)}").fetchone()[0])
        s.violations = violations
        s.aggregates = part[[c for c in part.columns if not c.startswith("v|") and c != "filename"]].reset_index(drop=True)
    _gx_frames(con, [s for s in scans if s.violations], reg)


def _reject_findings(con: duckdb.DuckDBPyConnection, path: Path, rejects: str) -> list[Finding]:
    try:
        where = f"FROM {rejects} r JOIN {rejects}_scan s USING (scan_id, file_id) WHERE s.file_path = ?"
        rows = con.execute(f"SELECT r.line, r.column_name, r.error_type, r.csv_line {where} ORDER BY r.line LIMIT 200",
                           [str(path)]).fetchall()
        n = con.execute(f"SELECT count(*) {where}", [str(path)]).fetchone()[0]
    except duckdb.Error:
        return []
    out = []
    for line, column, error_type, csv_line in rows:
        out.append(Finding(
            "error", "type",
            f"Regel {line} van {path.name}: de waarde in kolom {column} heeft niet het juiste type ({error_type}); "
            "datums als dd-mm-jjjj, getallen zonder tekst.",
            f"Line {line} of {path.name}: the value in column {column} has the wrong type ({error_type}); "
            "dates as dd-mm-yyyy, numbers without text.",
            sheet="zaken", cell=f"{path.name}, regel {line}, kolom {column}", row=int(line), field=column,
            value=short_value(csv_line)))
    if n > len(rows):
        out.append(Finding("error", "type", f"Nog {n - len(rows)} regels met een typefout in {path.name}.",
                           f"{n - len(rows)} more lines with a type error in {path.name}.", sheet="zaken", cell=path.name))
    return out


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
    frame = con.execute(" UNION ".join(parts) + " ORDER BY __file, __row").fetch_df()
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
            scan.findings.append(Finding("error", rid, f"{violations[rid]} regels in {path.name} schenden regel {rid}.",
                                         f"{violations[rid]} lines in {path.name} break rule {rid}.", sheet="zaken", cell=path.name))
        for rid, n in sorted(violations.items()):
            shown = sum(1 for m, _ in seen[i] if m == rid)
            if n > shown and rid not in missed:
                scan.findings.append(Finding(
                    "error", rid, f"In totaal {n} regels in {path.name} schenden regel {rid} (de eerste {shown} staan hierboven).",
                    f"In all {n} lines in {path.name} break rule {rid} (the first {shown} are listed above).",
                    sheet="zaken", cell=path.name))
        scan.frame = None


def _suite(reg: Registry):
    gxe = gx.expectations()
    suite = gx.new_suite("rbb_zaken")
    for rid, fcode, _, kind in rule_predicates(reg):
        f = reg.sheet("zaken").field(fcode)
        meta = {"rule": rid, "field": fcode, "severity": "error"}
        if kind == "required":
            suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=fcode, meta=meta))
        elif kind == "range":
            suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=fcode, min_value=f.min, max_value=f.max, meta=meta))
        elif kind == "code_list":
            suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column=fcode, value_set=list(f.codes), meta=meta))
        elif kind == "length":
            suite.add_expectation(gxe.ExpectColumnValueLengthsToBeBetween(column=fcode, max_value=f.max_length, meta=meta))
        elif kind == "le":
            rule = next(r for r in reg.rules_for("zaken") if f"rule:{r.code}" == rid)
            suite.add_expectation(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=rule.b, column_B=rule.a, or_equal=True, ignore_row_if="either_value_is_missing", meta=meta))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="case_id", meta={"rule": "unique:case_id", "field": "case_id", "severity": "error"}))
    return suite


def _finding(path: Path, reg: Registry, meta: dict, row: int, rec: pd.Series) -> Finding:
    fcode = meta["field"]
    f = reg.sheet("zaken").field(fcode)
    value = rec.get(fcode)
    shown = None if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT else (
        value.strftime("%d-%m-%Y") if hasattr(value, "strftime") else short_value(value))
    kind = meta["rule"].split(":", 1)[0]
    where = f"Regel {row} van {path.name}"
    where_en = f"Line {row} of {path.name}"
    if kind == "required":
        nl, en = f"{where}: het verplichte veld '{f.label_nl}' is leeg.", f"{where_en}: the required field '{f.label_en}' is empty."
    elif kind == "range":
        nl = f"{where}: '{f.label_nl}' is {shown}; toegestaan is {f.min:g} tot en met {f.max:g}."
        en = f"{where_en}: '{f.label_en}' is {shown}; allowed is {f.min:g} to {f.max:g}."
    elif kind == "code_list":
        nl = f"{where}: '{f.label_nl}' bevat '{shown}'; kies uit {', '.join(f.codes)}."
        en = f"{where_en}: '{f.label_en}' contains '{shown}'; choose from {', '.join(f.codes)}."
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
    return Finding("error", meta["rule"], nl, en, sheet="zaken", cell=f"{path.name}, regel {row}, kolom {fcode}",
                   row=row, field=fcode, value=shown)


def aggregate_rows(scan: CaseScan, submission_id: int, org: str, year: int, sha256: str) -> pd.DataFrame:
    """The rows for ``f_zaken_agg``: one per product and one organisation total (product_code NULL)."""
    a = scan.aggregates.copy()
    a.loc[a["is_total"] == 1, "product_code"] = None
    out = pd.DataFrame({
        "submission_id": submission_id, "org_code": org, "year": year, "product_code": a["product_code"].astype(object),
        "n_rows": a["n_rows"], "n_cases": a["n_cases"], "n_decided": a["n_decided"], "n_on_time": a["n_on_time"],
        "lead_median": a["lead_median"].astype("float64"), "lead_p90": a["lead_p90"].astype("float64"),
        "n_backlog": a["n_backlog"], "n_objections": a["n_objections"].astype("int64"),
        "n_complaints": a["n_complaints"].astype("int64"), "source_file": scan.path.name, "source_sha256": sha256,
    })
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
    from .warehouse import connect, init_schema, transaction

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
