"""What the computed results were computed from, and the guard against reporting stale results.

``rbb compute`` records, in the same transaction as its results, the submissions in force it read
(``compute_inputs``: one row per member and year with submission id, version and checksum) and the register,
settings and method files it ran with (``compute_state``). :func:`stale_reasons` compares that with the
warehouse and workspace as they are now; ``rbb report`` and ``rbb export`` refuse (:class:`StaleResults`) to
work on results older than the latest accepted submission or register, settings or method change.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from pipeline.core.runlog import methods_sha, package_version, register_sha
from pipeline.core.settings import settings_sha
from pipeline.core.warehouse import table_exists
from pipeline.core.workspace import Workspace


class StaleResults(ValueError):
    """The computed results are older than what they were computed from; ``message_nl`` / ``message_en``."""

    def __init__(self, reasons: list[tuple[str, str]]):
        self.reasons = reasons
        nl = "; ".join(r[0] for r in reasons)
        en = "; ".join(r[1] for r in reasons)
        self.message_nl = f"De berekende uitkomsten zijn verouderd: {nl}. Voer eerst 'rbb compute' uit."
        self.message_en = f"The computed results are out of date: {en}. Run 'rbb compute' first."
        super().__init__(f"{self.message_en} / {self.message_nl}")


def in_force(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        """SELECT org_code, year, submission_id, version, sha256 FROM submissions WHERE in_force
           ORDER BY year, org_code"""
    ).fetch_df()


def state(ws: Workspace) -> dict[str, str | None]:
    return {
        "register_sha256": register_sha(ws.root),
        "settings_sha256": settings_sha(ws.root),
        "methods_sha256": methods_sha(ws.root),
        "package_version": package_version(),
    }


def record_inputs(con: duckdb.DuckDBPyConnection, ws: Workspace, methods: dict | None = None, methods_file=None) -> int:
    """Inside compute's transaction: what these results are computed from. Returns the number of submissions.
    With ``methods``, the method settings in effect are recorded beside the checksums (``methods_json``) with
    where they came from (``methods_source``: the packaged file, or the workspace's ``data/methods.yaml``)."""
    inputs = in_force(con)
    con.register("_inputs", inputs)
    con.execute("CREATE OR REPLACE TABLE compute_inputs AS SELECT * FROM _inputs ORDER BY year, org_code")
    con.unregister("_inputs")
    row = state(ws)
    if methods is not None:
        import json

        source = "pipeline/metadata/methods.yaml"
        if methods_file:
            # relative to the workspace: the same settings give the same record (and release) in any folder
            try:
                source = Path(methods_file).resolve().relative_to(Path(ws.root).resolve()).as_posix()
            except ValueError:
                source = str(methods_file)
        row["methods_source"] = source
        row["methods_json"] = json.dumps(methods, sort_keys=True, ensure_ascii=False)
    st = pd.DataFrame([row])
    con.register("_state", st)
    con.execute("CREATE OR REPLACE TABLE compute_state AS SELECT * FROM _state")
    con.unregister("_state")
    return len(inputs)


def computed_from(con: duckdb.DuckDBPyConnection, year: int | None = None) -> pd.DataFrame:
    """The submissions the results were computed from (of one year)."""
    if not table_exists(con, "compute_inputs"):
        return pd.DataFrame(columns=["org_code", "year", "submission_id", "version", "sha256"])
    sql = "SELECT * FROM compute_inputs"
    if year is not None:
        return con.execute(sql + " WHERE year = ? ORDER BY org_code", [year]).fetch_df()
    return con.execute(sql + " ORDER BY year, org_code").fetch_df()


def stale_reasons(con: duckdb.DuckDBPyConnection, ws: Workspace) -> list[tuple[str, str]]:
    """Why the computed results are out of date (Dutch, English); empty when they are current."""
    if not table_exists(con, "indicator_values"):
        return []  # nothing computed: the commands say so themselves
    if not table_exists(con, "compute_inputs") or not table_exists(con, "compute_state"):
        return [
            (
                "ze zijn berekend door een eerdere versie die niet vastlegde waaruit",
                "they were computed by an earlier version that did not record their inputs",
            )
        ]
    reasons: list[tuple[str, str]] = []
    was = computed_from(con)
    now = in_force(con)
    old = {(r.org_code, int(r.year)): (int(r.submission_id), int(r.version)) for r in was.itertuples()}
    new = {(r.org_code, int(r.year)): (int(r.submission_id), int(r.version)) for r in now.itertuples()}
    for key in sorted(set(old) | set(new)):
        org, year = key
        if key not in old:
            v = new[key][1]
            reasons.append(
                (
                    f"nieuwe geaccepteerde levering {org} {year} versie {v}",
                    f"new accepted submission {org} {year} version {v}",
                )
            )
        elif key not in new:
            reasons.append((f"levering {org} {year} geldt niet meer", f"submission {org} {year} is no longer in force"))
        elif old[key] != new[key]:
            v0, v1 = old[key][1], new[key][1]
            reasons.append(
                (
                    f"{org} {year}: versie {v1} geldt nu in plaats van versie {v0}",
                    f"{org} {year}: version {v1} is now in force instead of version {v0}",
                )
            )
    if len(reasons) > 6:
        n = len(reasons)
        reasons = [*reasons[:5], (f"en {n - 5} andere leveringen", f"and {n - 5} other submissions")]
    st = con.execute("SELECT * FROM compute_state").fetch_df().iloc[0].to_dict()
    current = state(ws)
    labels = {
        "register_sha256": ("het organisatieregister is gewijzigd", "the organisation register changed"),
        "settings_sha256": (
            "de instellingen (data/settings.yaml) zijn gewijzigd",
            "the settings (data/settings.yaml) changed",
        ),
        "methods_sha256": (
            "de methoden of definities zijn gewijzigd (of data/methods.yaml)",
            "the methods or definitions changed (or data/methods.yaml)",
        ),
    }
    for key, label in labels.items():
        before = st.get(key)
        before = None if before is None or (isinstance(before, float) and pd.isna(before)) else before
        if before != current[key]:
            reasons.append(label)
    return reasons


def ensure_fresh(con: duckdb.DuckDBPyConnection, ws: Workspace) -> None:
    """Raise :class:`StaleResults` when the results are older than their inputs."""
    reasons = stale_reasons(con, ws)
    if reasons:
        raise StaleResults(reasons)


def matching_release(con: duckdb.DuckDBPyConnection, year: int) -> str | None:
    """The latest release of ``year`` whose results are the current ones (the same submissions, register and
    methods), so a report or export built now carries its id; None when the current results are not a release."""
    if not (
        table_exists(con, "releases") and table_exists(con, "compute_inputs") and table_exists(con, "compute_state")
    ):
        return None
    st = con.execute("SELECT register_sha256, methods_sha256 FROM compute_state").fetchone()
    now = [
        (o, int(s))
        for o, s in con.execute(
            "SELECT org_code, submission_id FROM compute_inputs WHERE year = ? ORDER BY org_code", [year]
        ).fetchall()
    ]
    for (rid,) in con.execute(
        "SELECT release_id FROM releases WHERE year = ? AND register_sha256 = ? AND methods_sha256 = ? "
        "ORDER BY seq DESC",
        [year, st[0], st[1]],
    ).fetchall():
        subs = [
            (o, int(s))
            for o, s in con.execute(
                "SELECT org_code, submission_id FROM release_submissions WHERE release_id = ? ORDER BY org_code", [rid]
            ).fetchall()
        ]
        return rid if subs == now else None
    return None
