"""Releases: the results of a year frozen under an id (``2025.1``, a later correction ``2025.2``), and their diff.

``rbb release --year Y`` checks that the results are current (no stale results) and that every submission in
force that year is signed off, builds the year's reports (Dutch and English) stamped with the new release id, and
freezes, in ``data/processed/releases/<id>/``:

* ``tables/<table>.parquet``: the year's rows of every computed table, the submissions and findings of the year,
  the review decisions and sign-offs, the register;
* ``reports/``: a copy of ``reports/<year>/`` as it was released (without packages, diffs and open reports);
* ``manifest.json``: id, year, who and when, the submissions in force (member, submission id, version, checksum),
  the members not in it and why, the package and method versions, and the SHA-256 of every file above.

The folder is written under a temporary name and renamed when complete; its files are made read-only and nothing
in rbb writes to a release afterwards (:func:`verify` checks every checksum). The warehouse records the release in
``releases`` and ``release_submissions``.

:func:`diff` compares two releases (or a release and the current results) per member and indicator: value, rank,
quartile class and significance, with the cause: the member's own submission changed (version before and after),
the methods changed, or other members' submissions changed (a peer effect on rank and class).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline import report
from pipeline.compute.freshness import ensure_fresh, in_force, stale_reasons
from pipeline.core.runlog import methods_sha, package_version, register_sha
from pipeline.core.warehouse import connect, table_exists
from pipeline.core.workspace import Workspace, atomic_write_bytes, atomic_write_text
from pipeline.metadata.registry import load_organisations
from pipeline.validate.review import member_states, signed_off_in_force

#: the computed tables frozen with a release (their rows of the release's year)
COMPUTED = (
    "indicator_values",
    "lineage_values",
    "benchmark_stats",
    "comparisons",
    "strengths_weaknesses",
    "composite_scores",
    "composite_uncertainty",
    "composite_method",
    "composite_sensitivity",
    "composite_value_log",
    "indicator_correlations",
    "theme_reliability",
    "dea_results",
    "comparator_groups",
    "comparator_stats",
    "comparator_profile",
    "compute_inputs",
)
#: the record of the round frozen beside them
RECORD = ("submissions", "findings", "reviews", "signoffs")
WHOLE = ("indicator_catalogue", "organisations", "compute_state")

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS releases (
        release_id VARCHAR PRIMARY KEY, year INTEGER, seq INTEGER, created_at TIMESTAMP, created_by VARCHAR,
        note VARCHAR, n_members INTEGER, manifest_sha256 VARCHAR, path VARCHAR, register_sha256 VARCHAR,
        methods_sha256 VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS release_submissions (
        release_id VARCHAR, org_code VARCHAR, submission_id INTEGER, version INTEGER, sha256 VARCHAR)""",
]


class ReleaseError(ValueError):
    """A release that cannot be made or read; the message says why and what to do (Dutch / English)."""


@dataclass(frozen=True)
class Release:
    release_id: str
    year: int
    folder: Path
    n_members: int
    manifest: dict[str, Any]


def releases_root(ws: Workspace) -> Path:
    return ws.processed / "releases"


def release_dir(ws: Workspace, release_id: str) -> Path:
    return releases_root(ws) / release_id


def parse_release_id(text: str) -> tuple[int, int]:
    year, _, seq = str(text).partition(".")
    if not (year.isdigit() and len(year) == 4 and seq.isdigit()):
        raise ReleaseError(
            f"{text!r} is geen release-id (zoals 2025.1) / {text!r} is not a release id (such as 2025.1)"
        )
    return int(year), int(seq)


def list_releases(con: duckdb.DuckDBPyConnection, year: int | None = None) -> pd.DataFrame:
    if not table_exists(con, "releases"):
        return pd.DataFrame(columns=["release_id", "year", "seq", "created_at", "created_by", "note", "n_members"])
    sql = "SELECT release_id, year, seq, created_at, created_by, note, n_members FROM releases"
    if year is not None:
        return con.execute(sql + " WHERE year = ? ORDER BY seq", [int(year)]).fetch_df()
    return con.execute(sql + " ORDER BY year, seq").fetch_df()


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------------------------------ making


def readiness(con: duckdb.DuckDBPyConnection, ws: Workspace, year: int) -> list[tuple[str, str]]:
    """Why ``year`` cannot be released now (Dutch, English); empty when it can."""
    problems: list[tuple[str, str]] = []
    if not table_exists(con, "indicator_values"):
        return [("er zijn geen berekende uitkomsten (rbb compute)", "there are no computed results (rbb compute)")]
    force = in_force(con)
    force = force[force["year"] == year]
    if force.empty:
        return [(f"geen geaccepteerde leveringen voor {year}", f"no accepted submissions for {year}")]
    signed = signed_off_in_force(con, year)
    unsigned = sorted(set(force["org_code"]) - set(signed))
    if unsigned:
        shown = ", ".join(unsigned[:12]) + (f" en {len(unsigned) - 12} andere" if len(unsigned) > 12 else "")
        shown_en = ", ".join(unsigned[:12]) + (f" and {len(unsigned) - 12} others" if len(unsigned) > 12 else "")
        problems.append(
            (
                f"niet afgetekend: {shown} (rbb review, dan rbb signoff)",
                f"not signed off: {shown_en} (rbb review, then rbb signoff)",
            )
        )
    if stale_reasons(con, ws):
        problems.append(
            (
                "de berekende uitkomsten zijn verouderd (rbb compute)",
                "the computed results are out of date (rbb compute)",
            )
        )
    return problems


def make_release(
    ws: Workspace,
    year: int,
    created_by: str,
    note: str | None = None,
    at: dt.datetime | None = None,
    langs: tuple[str, ...] = ("nl", "en"),
) -> Release:
    """Build the reports stamped with the next release id of ``year`` and freeze results and reports."""
    con = connect(ws.db_path)
    try:
        for stmt in SCHEMA:
            con.execute(stmt)
        problems = readiness(con, ws, year)
        if problems:
            raise ReleaseError(
                f"{year} kan niet worden vrijgegeven: {'; '.join(p[0] for p in problems)} / "
                f"{year} cannot be released: {'; '.join(p[1] for p in problems)}"
            )
        previous = con.execute(
            "SELECT release_id, seq FROM releases WHERE year = ? ORDER BY seq DESC LIMIT 1", [year]
        ).fetchone()
        subs = in_force(con)
        subs = subs[subs["year"] == year].sort_values("org_code", ignore_index=True)
        if previous is not None:
            before = con.execute(
                "SELECT org_code, submission_id FROM release_submissions WHERE release_id = ? ORDER BY org_code",
                [previous[0]],
            ).fetchall()
            last = json.loads((release_dir(ws, previous[0]) / "manifest.json").read_text("utf-8"))
            same_subs = [(o, int(s)) for o, s in before] == [
                (o, int(s)) for o, s in zip(subs["org_code"], subs["submission_id"])
            ]
            if (
                same_subs
                and last.get("methods_sha256") == methods_sha(ws.root)
                and last.get("register_sha256") == register_sha(ws.root)
            ):
                raise ReleaseError(
                    f"er is niets veranderd sinds release {previous[0]} / nothing changed since release {previous[0]}"
                )
        seq = (previous[1] + 1) if previous is not None else 1
        release_id = f"{year}.{seq}"
        members = [o.org_code for o in load_organisations(ws.root) if o.is_member(year)]
        states = member_states(con, members, year)
    finally:
        con.close()

    # the reports of this release, stamped with its id (the results are current: checked above)
    for lang in langs:
        report.run(ws, year, lang=lang, release=release_id)

    when = (at or dt.datetime.now()).replace(microsecond=0)
    final = release_dir(ws, release_id)
    stage = final.with_name(f".{release_id}.tmp-{os.getpid()}")
    shutil.rmtree(stage, ignore_errors=True)
    try:
        (stage / "tables").mkdir(parents=True)
        con = connect(ws.db_path, read_only=True)
        try:
            for name in (*COMPUTED, *RECORD, *WHOLE):
                if not table_exists(con, name):
                    continue
                cols = {r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()}
                where = " WHERE year = ?" if "year" in cols and name not in WHOLE else ""
                order = " ORDER BY ALL"
                target = stage / "tables" / f"{name}.parquet"
                con.execute(
                    f"COPY (SELECT * FROM \"{name}\"{where}{order}) TO '{target}' (FORMAT parquet)",
                    [year] if where else [],
                )
        finally:
            con.close()
        source = ws.reports / str(year)
        if source.exists():
            shutil.copytree(
                source,
                stage / "reports",
                ignore=shutil.ignore_patterns("packages", "releases", ".*.tmp-*", "organisations-open"),
            )
        not_in = [
            {"org_code": r["org_code"], "state": r["state"]}
            for r in states.to_dict("records")
            if r["state"] in ("missing", "rejected")
        ]
        files = {str(p.relative_to(stage)): _sha(p) for p in sorted(stage.rglob("*")) if p.is_file()}
        manifest = {
            "release_id": release_id,
            "year": int(year),
            "seq": seq,
            "created_at": when.isoformat(),
            "created_by": created_by,
            "note": (note or "").strip() or None,
            "package_version": package_version(),
            "methods_sha256": methods_sha(ws.root),
            "register_sha256": register_sha(ws.root),
            "submissions": [
                {
                    "org_code": r.org_code,
                    "submission_id": int(r.submission_id),
                    "version": int(r.version),
                    "sha256": r.sha256,
                }
                for r in subs.itertuples()
            ],
            "not_included": not_in,
            "files": files,
        }
        text = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        atomic_write_text(stage / "manifest.json", text)
        for p in stage.rglob("*"):
            if p.is_file():
                os.chmod(p, 0o444)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(stage, final)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    manifest_sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    con = connect(ws.db_path)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "INSERT INTO releases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                release_id,
                year,
                seq,
                when,
                created_by,
                manifest["note"],
                len(subs),
                manifest_sha,
                str(final),
                manifest["register_sha256"],
                manifest["methods_sha256"],
            ],
        )
        for s in manifest["submissions"]:
            con.execute(
                "INSERT INTO release_submissions VALUES (?, ?, ?, ?, ?)",
                [release_id, s["org_code"], s["submission_id"], s["version"], s["sha256"]],
            )
        con.execute("COMMIT")
    finally:
        con.close()
    return Release(release_id, int(year), final, len(subs), manifest)


# ------------------------------------------------------------------------------------------ reading


def manifest(ws: Workspace, release_id: str) -> dict[str, Any]:
    parse_release_id(release_id)
    path = release_dir(ws, release_id) / "manifest.json"
    if not path.exists():
        known = sorted(p.name for p in releases_root(ws).glob("*.*") if (p / "manifest.json").exists())
        hint = f" (bekend / known: {', '.join(known)})" if known else ""
        raise ReleaseError(f"release {release_id} bestaat niet / release {release_id} does not exist{hint}")
    return json.loads(path.read_text("utf-8"))


def verify(ws: Workspace, release_id: str) -> list[str]:
    """Files of a release that changed, disappeared or were added since it was made (empty: intact)."""
    m = manifest(ws, release_id)
    folder = release_dir(ws, release_id)
    problems = []
    for rel, sha in m["files"].items():
        p = folder / rel
        if not p.exists():
            problems.append(f"missing: {rel}")
        elif _sha(p) != sha:
            problems.append(f"changed: {rel}")
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} - {"manifest.json"}
    problems += [f"added: {rel}" for rel in sorted(present - set(m["files"]))]
    return problems


def open_release(ws: Workspace, release_id: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection whose tables are the release's frozen tables (read them like the
    warehouse)."""
    manifest(ws, release_id)
    con = duckdb.connect()
    for p in sorted((release_dir(ws, release_id) / "tables").glob("*.parquet")):
        con.execute(f"CREATE TABLE \"{p.stem}\" AS SELECT * FROM read_parquet('{p}')")
    return con


# ------------------------------------------------------------------------------------------ diff

DIFF_COLUMNS = [
    "org_code",
    "indicator_code",
    "value_before",
    "value_after",
    "rank_before",
    "rank_after",
    "class_before",
    "class_after",
    "significance_before",
    "significance_after",
    "changed",
    "cause",
]


def _comparison_frame(con: duckdb.DuckDBPyConnection, year: int) -> pd.DataFrame:
    values = con.execute(
        "SELECT org_code, indicator_code, value FROM indicator_values WHERE year = ?", [year]
    ).fetch_df()
    cols = {r[0] for r in con.execute("DESCRIBE comparisons").fetchall()} if table_exists(con, "comparisons") else set()
    pick = {"rank": "rank", "quartile": "quartile_class", "significance_label": "significance"}
    have = [c for c in pick if c in cols]
    if have:
        comp = con.execute(
            f"SELECT org_code, indicator_code, {', '.join(f'{c} AS {pick[c]}' for c in have)} "
            "FROM comparisons WHERE year = ?",
            [year],
        ).fetch_df()
        values = values.merge(comp, on=["org_code", "indicator_code"], how="outer")
    for c in ("rank", "quartile_class", "significance"):
        if c not in values.columns:
            values[c] = None
    return values


def _same(a: Any, b: Any) -> bool:
    na = a is None or (isinstance(a, float) and pd.isna(a))
    nb = b is None or (isinstance(b, float) and pd.isna(b))
    if na or nb:
        return na and nb
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)), abs(float(b)))
    return a == b


def diff(ws: Workspace, before: str, after: str | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per member and indicator what changed from release ``before`` to ``after`` (a release id, or None for the
    current results), with the cause; and a summary (submissions and methods that changed)."""
    m0 = manifest(ws, before)
    year = int(m0["year"])
    con0 = open_release(ws, before)
    try:
        a = _comparison_frame(con0, year)
    finally:
        con0.close()
    if after is None:
        con1 = connect(ws.db_path, read_only=True)
        try:
            ensure_fresh(con1, ws)
            b = _comparison_frame(con1, year)
            subs1 = in_force(con1)
            subs1 = {
                r.org_code: (int(r.submission_id), int(r.version)) for r in subs1[subs1["year"] == year].itertuples()
            }
        finally:
            con1.close()
        methods1 = methods_sha(ws.root)
        label_after = "actueel"
    else:
        m1 = manifest(ws, after)
        if int(m1["year"]) != year:
            raise ReleaseError(
                f"{before} en {after} gaan over verschillende jaren / {before} and {after} are releases of different years"
            )
        con1 = open_release(ws, after)
        try:
            b = _comparison_frame(con1, year)
        finally:
            con1.close()
        subs1 = {s["org_code"]: (int(s["submission_id"]), int(s["version"])) for s in m1["submissions"]}
        methods1 = m1.get("methods_sha256")
        label_after = after
    subs0 = {s["org_code"]: (int(s["submission_id"]), int(s["version"])) for s in m0["submissions"]}
    methods_changed = m0.get("methods_sha256") != methods1
    changed_subs = {
        org: (subs0.get(org), subs1.get(org))
        for org in sorted(set(subs0) | set(subs1))
        if subs0.get(org) != subs1.get(org)
    }
    merged = a.merge(b, on=["org_code", "indicator_code"], how="outer", suffixes=("_before", "_after"))
    rows = []
    for r in merged.to_dict("records"):
        what = []
        for key, label in (
            ("value", "value"),
            ("rank", "rank"),
            ("quartile_class", "class"),
            ("significance", "significance"),
        ):
            if not _same(r.get(f"{key}_before"), r.get(f"{key}_after")):
                what.append(label)
        if not what:
            continue
        org = r["org_code"]
        if org in changed_subs:
            v0, v1 = changed_subs[org]
            if v0 is None:
                cause = f"submission: {org} now in the benchmark (v{v1[1]})"
            elif v1 is None:
                cause = f"submission: {org} no longer in the benchmark (was v{v0[1]})"
            else:
                cause = f"submission: {org} v{v0[1]} → v{v1[1]}"
        elif methods_changed:
            cause = "method change"
        elif changed_subs:
            cause = "peers: " + ", ".join(f"{o}" for o in changed_subs)
        else:
            cause = "recomputation"
        rows.append(
            {
                "org_code": org,
                "indicator_code": r["indicator_code"],
                "value_before": r.get("value_before"),
                "value_after": r.get("value_after"),
                "rank_before": r.get("rank_before"),
                "rank_after": r.get("rank_after"),
                "class_before": r.get("quartile_class_before"),
                "class_after": r.get("quartile_class_after"),
                "significance_before": r.get("significance_before"),
                "significance_after": r.get("significance_after"),
                "changed": ", ".join(what),
                "cause": cause,
            }
        )
    out = pd.DataFrame(rows, columns=DIFF_COLUMNS)
    for c in ("rank_before", "rank_after", "class_before", "class_after"):
        out[c] = pd.to_numeric(out[c], errors="coerce").round().astype("Int64")
    if len(out):
        own = out["cause"].str.startswith("submission")
        out = pd.concat([out[own], out[~own]], ignore_index=True)
    summary = {
        "year": year,
        "before": before,
        "after": label_after,
        "submissions_changed": [
            {
                "org_code": org,
                "before": None if v0 is None else f"v{v0[1]}",
                "after": None if v1 is None else f"v{v1[1]}",
            }
            for org, (v0, v1) in changed_subs.items()
        ],
        "methods_changed": methods_changed,
        "values_changed": int(out["changed"].str.contains("value").sum()) if len(out) else 0,
        "rows": len(out),
    }
    return out, summary


def write_diff(
    ws: Workspace, before: str, after: str | None, out_dir: Path | None = None
) -> tuple[pd.DataFrame, dict[str, Any], list[Path]]:
    """The diff as CSV, XLSX and a short HTML page for the analysts (``reports/<year>/releases/``)."""
    from pipeline.report.downloads import download_folder, externalise, frame_cells, table_downloads, xlsx_bytes
    from pipeline.report.export import csv_bytes
    from pipeline.report.render import render

    table, summary = diff(ws, before, after)
    out_dir = Path(out_dir) if out_dir else ws.reports / str(summary["year"]) / "releases"
    stem = f"diff_{before}_{summary['after']}"
    csv_path = out_dir / f"{stem}.csv"
    atomic_write_bytes(csv_path, csv_bytes(table))
    xlsx_path = out_dir / f"{stem}.xlsx"
    header, cells = frame_cells(table)
    atomic_write_bytes(xlsx_path, xlsx_bytes(header, cells, "What changed"))
    html_path = out_dir / f"{stem}.html"
    changed = table_downloads(
        ["member", "before", "after"],
        [[s["org_code"], s["before"], s["after"]] for s in summary["submissions_changed"]],
        f"{stem}_submissions",
        "nl",  # the Dutch Excel dialect, as the diff's own CSV (export.csv_bytes)
        "Submissions that changed",
    )
    rows_downloads = {
        "caption": "What changed, per member and indicator",
        "csv_href": csv_path.name,
        "csv_name": csv_path.name,
        "xlsx_href": xlsx_path.name,
        "xlsx_name": xlsx_path.name,
    }
    page, files = externalise(
        render(
            "release_diff.html",
            lang="en",
            title=f"Release {before} → {summary['after']}",
            subtitle="Rijksbrede Benchmarkgroep — what changed between two releases (analysts only)",
            confidential="Confidential: names every member",
            summary=summary,
            rows=table.to_dict("records"),
            downloads={"changed": changed, "rows": rows_downloads},
        ),
        download_folder(html_path.name),
    )
    atomic_write_text(html_path, page)
    for rel, content in files.items():
        atomic_write_bytes(out_dir / rel, content)
    return table, summary, [csv_path, html_path, xlsx_path]
