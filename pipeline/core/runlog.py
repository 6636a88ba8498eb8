"""The run log: every command that writes records a run in the warehouse table ``runs``.

A run holds the command, its arguments, the versions it ran with (package, submission registry, a checksum of
the method files and of the organisation register), the checksums of its inputs, counts of what it did, its
duration and its outcome (``ok``, ``refused`` for a user's mistake, ``failed``). ``rbb log`` shows them.

A run is written when the command ends, in a short transaction of its own. When the warehouse cannot be
opened for writing at that moment (another program holds it) the run goes to ``data/processed/runs.pending.jsonl``
and is moved into the table by the next run that can write: no run is lost and no command fails because of
its log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import duckdb

#: tables whose rows hold the time of day (left out of determinism checks)
TIMED_TABLES = ("runs",)

RUNS_SQL = """CREATE TABLE IF NOT EXISTS runs (
    run_id BIGINT, command VARCHAR, arguments VARCHAR, started_at TIMESTAMP, duration_s DOUBLE, outcome VARCHAR,
    message VARCHAR, package_version VARCHAR, registry_version VARCHAR, methods_sha256 VARCHAR,
    register_sha256 VARCHAR, inputs VARCHAR, counts VARCHAR, user_name VARCHAR)"""

COLUMNS = (
    "run_id",
    "command",
    "arguments",
    "started_at",
    "duration_s",
    "outcome",
    "message",
    "package_version",
    "registry_version",
    "methods_sha256",
    "register_sha256",
    "inputs",
    "counts",
    "user_name",
)

#: the packaged files whose content decides how results are computed
METHOD_FILES = ("methods.yaml", "indicators.yaml", "submission.yaml", "pilots.yaml")


def package_version() -> str:
    try:
        return metadata.version("rbb-benchmark")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0+unknown"


#: the method files a workspace may override in ``data/`` (``pipeline.metadata.models.WORKSPACE_OVERRIDES``)
WORKSPACE_METHOD_FILES = ("methods.yaml",)


def methods_sha(root: Path | None = None) -> str:
    """One checksum over the packaged method, indicator, registry and pilot files and, with ``root``, the
    workspace's own method settings (``data/methods.yaml``), so a method change in either shows."""
    h = hashlib.sha256()
    folder = resources.files("pipeline.metadata")
    for name in METHOD_FILES:
        h.update(name.encode())
        h.update(folder.joinpath(name).read_bytes())
    if root is not None:
        for name in WORKSPACE_METHOD_FILES:
            p = Path(root) / "data" / name
            if p.is_file():
                h.update(f"workspace:{name}".encode())
                h.update(p.read_bytes())
    return h.hexdigest()


def register_sha(root: Path | None) -> str:
    """Checksum of the organisation register in use: the workspace's ``data/organisations.csv`` or the packaged one."""
    p = Path(root) / "data" / "organisations.csv" if root is not None else None
    if p is not None and p.exists():
        return hashlib.sha256(p.read_bytes()).hexdigest()
    return hashlib.sha256(resources.files("pipeline.metadata").joinpath("organisations.csv").read_bytes()).hexdigest()


def user_name() -> str:
    """Who runs the command: RBB_USER, else the login name."""
    for var in ("RBB_USER", "USER", "LOGNAME"):
        if os.environ.get(var):
            return os.environ[var]
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return "unknown"


@dataclass
class Run:
    """One command's run; the command fills in ``counts`` and ``inputs`` while it works."""

    command: str
    arguments: dict[str, Any]
    started_at: dt.datetime
    counts: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    outcome: str = "ok"
    message: str | None = None
    duration_s: float = 0.0

    def row(self, root: Path | None) -> dict[str, Any]:
        from pipeline.metadata.registry import registry

        try:
            reg_version = registry().version
        except Exception:  # noqa: BLE001 - the log never fails a command
            reg_version = None
        return {
            "command": self.command,
            "arguments": json.dumps(self.arguments, ensure_ascii=False, sort_keys=True, default=str),
            "started_at": self.started_at.isoformat(sep=" "),
            "duration_s": round(self.duration_s, 3),
            "outcome": self.outcome,
            "message": (self.message or None) and self.message[:1000],
            "package_version": package_version(),
            "registry_version": reg_version,
            "methods_sha256": methods_sha(root),
            "register_sha256": register_sha(root),
            "inputs": json.dumps(sorted(set(self.inputs))) if self.inputs else None,
            "counts": json.dumps(self.counts, ensure_ascii=False, sort_keys=True, default=str) if self.counts else None,
            "user_name": user_name(),
        }


_current: list[Run] = []


def current() -> Run | None:
    """The run of the command being executed (None outside a recorded command)."""
    return _current[-1] if _current else None


def count(**counts: Any) -> None:
    """Add counts to the current run (nothing outside a recorded command)."""
    run = current()
    if run is not None:
        run.counts.update(counts)


def add_inputs(checksums: list[str]) -> None:
    run = current()
    if run is not None:
        run.inputs.extend(str(c) for c in checksums if c)


@contextmanager
def recorded(
    ws, command: str, arguments: dict[str, Any] | None = None, refused: tuple[type[BaseException], ...] = ()
) -> Iterator[Run]:
    """Record ``command`` as one run of the workspace ``ws`` (outcome from how the block ends)."""
    run = Run(command, dict(arguments or {}), dt.datetime.now().replace(microsecond=0))
    t0 = time.perf_counter()
    _current.append(run)
    try:
        yield run
    except SystemExit as exc:
        run.outcome = "ok" if exc.code in (0, None) else "refused"
        raise
    except refused as exc:
        run.outcome, run.message = "refused", str(exc)
        raise
    except BaseException as exc:
        run.outcome, run.message = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        _current.pop()
        run.duration_s = time.perf_counter() - t0
        with contextlib.suppress(Exception):  # the log never turns a result into a failure
            write(ws, run)


def pending_path(ws) -> Path:
    return ws.processed / "runs.pending.jsonl"


def write(ws, run: Run) -> None:
    """Write ``run`` to the warehouse (with any runs that were pending); to the pending file if it is busy.

    The warehouse is opened for writing only under the workspace's writer lock: held by the command itself, or
    taken here without waiting. A run whose command has let go of the lock (or never had it, such as one refused
    because another process is writing) is not written while another process holds it: that process may be
    about to open the warehouse, which DuckDB allows to one process at a time. It waits in the pending file,
    which the next run log written takes along."""
    if not ws.processed.exists():
        return
    row = run.row(ws.root)
    if not ws.db_path.exists():
        _append_pending(ws, row)
        return
    if ws.holds_writer_lock():
        _write_now(ws, row)
        return
    from pipeline.core.workspace import WorkspaceBusy

    try:
        with ws.writer_lock(wait=False):
            _write_now(ws, row)
    except WorkspaceBusy:
        _append_pending(ws, row)


def _write_now(ws, row: dict[str, Any]) -> None:
    try:
        con = duckdb.connect(str(ws.db_path))
    except duckdb.Error:
        _append_pending(ws, row)
        return
    try:
        insert(con, [*read_pending(ws), row])
        pending_path(ws).unlink(missing_ok=True)
    finally:
        con.close()


def insert(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    con.execute(RUNS_SQL)
    con.execute("BEGIN TRANSACTION")
    try:
        next_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchone()[0]
        for i, r in enumerate(rows):
            con.execute(
                f"INSERT INTO runs VALUES ({', '.join('?' for _ in COLUMNS)})",
                [next_id + i, *[r.get(c) for c in COLUMNS[1:]]],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _append_pending(ws, row: dict[str, Any]) -> None:
    with open(pending_path(ws), "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_pending(ws) -> list[dict[str, Any]]:
    p = pending_path(ws)
    if not p.exists():
        return []
    rows = []
    for line in p.read_text("utf-8").splitlines():
        with contextlib.suppress(ValueError):
            rows.append(json.loads(line))
    return rows


def runs(con: duckdb.DuckDBPyConnection, limit: int | None = 50, command: str | None = None) -> list[dict[str, Any]]:
    """The latest runs, newest first."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'runs'").fetchone()[0]
    if not exists:
        return []
    sql = "SELECT * FROM runs"
    params: list[Any] = []
    if command:
        sql += " WHERE command = ?"
        params.append(command)
    sql += " ORDER BY run_id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    cols = [d[0] for d in con.execute("SELECT * FROM runs LIMIT 0").description]
    return [dict(zip(cols, r)) for r in con.execute(sql, params).fetchall()]
