"""A workspace is one benchmark round's folder: ``data/raw``, ``data/processed`` and ``reports``."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


class WorkspaceBusy(RuntimeError):
    """Another rbb process is writing to this workspace."""


#: the writer locks this process holds, by lock file: how many ``writer_lock`` blocks are open on it
_HELD: dict[str, int] = {}
_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_SPACE_TEXTS = tuple(os.strerror(e) for e in _SPACE_ERRNOS)
_WRITING = re.compile(r'(?:write|writing|open|create)[^"]*"([^"]+)"', re.IGNORECASE)


def is_out_of_space(exc: BaseException | None) -> bool:
    """Whether an error (or one it was raised from) means the disk, the quota or the file size limit ran
    out: an OSError with ENOSPC/EDQUOT/EFBIG, or a DuckDB error whose message says so."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OutOfSpace):
            return True
        if isinstance(exc, OSError) and exc.errno in _SPACE_ERRNOS:
            return True
        if any(text in str(exc) for text in _SPACE_TEXTS):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


class OutOfSpace(RuntimeError):
    """The disk filled up while rbb was writing. The message says where, what state the workspace is in
    (``state``: Dutch and English) and what to do."""

    def __init__(self, state: tuple[str, str], cause: BaseException):
        self.state = state
        self.path = _written_path(cause)
        where_nl = f" bij het schrijven van {self.path}" if self.path else ""
        where_en = f" while writing {self.path}" if self.path else ""
        super().__init__(
            f"Schijf vol{where_nl}: {state[0]}; maak ruimte vrij en voer de opdracht opnieuw uit. / "
            f"Out of disk space{where_en}: {state[1]}; free space and run the command again."
        )


def _written_path(exc: BaseException | None) -> str | None:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.filename:
            return os.fsdecode(exc.filename)
        m = _WRITING.search(str(exc))
        if m:
            return m.group(1)
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def at(cls, root: str | Path | None) -> Workspace:
        return cls(Path(root or ".").resolve())

    @property
    def raw(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def processed(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def inbox(self) -> Path:
        """Every file received, stored under its checksum."""
        return self.processed / "inbox"

    @property
    def db_path(self) -> Path:
        return self.processed / "benchmark.duckdb"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def lock_path(self) -> Path:
        return self.processed / ".rbb.lock"

    def ensure(self) -> Workspace:
        for p in (self.raw, self.processed, self.reports):
            p.mkdir(parents=True, exist_ok=True)
        return self

    @contextmanager
    def writer_lock(self, wait: bool = False, timeout: float = 600.0) -> Iterator[None]:
        """Hold the workspace's single-writer lock; raise WorkspaceBusy if another process holds it."""
        with self._flock(fcntl.LOCK_EX, wait, timeout) as fd:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            key = str(self.lock_path.resolve())
            _HELD[key] = _HELD.get(key, 0) + 1
            try:
                yield
            finally:
                _HELD[key] -= 1
                if not _HELD[key]:
                    del _HELD[key]

    def holds_writer_lock(self) -> bool:
        """Whether this process holds the workspace's single-writer lock (inside :meth:`writer_lock`)."""
        return str(self.lock_path.resolve()) in _HELD

    @contextmanager
    def reader_lock(self, wait: bool = False, timeout: float = 600.0) -> Iterator[None]:
        """A shared lock for commands that only read the warehouse: many readers, no writer meanwhile."""
        with self._flock(fcntl.LOCK_SH, wait, timeout):
            yield

    @contextmanager
    def _flock(self, mode: int, wait: bool, timeout: float) -> Iterator[int]:
        self.processed.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        _LOCK_FDS.add(fd)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if not wait or time.monotonic() > deadline:
                        raise WorkspaceBusy(
                            f"another rbb process{_read_holder(self.lock_path)} is using {self.root}; "
                            "wait until it is finished or run with --wait"
                        ) from None
                    time.sleep(0.2)
            yield fd
        finally:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                _LOCK_FDS.discard(fd)
                os.close(fd)


#: descriptors of the lock files this process has open. A forked child closes its copies at once: a lock
#: belongs to the open file, so a child holding a copy would keep the workspace locked after its parent died.
_LOCK_FDS: set[int] = set()


def _close_locks_in_child() -> None:
    for fd in list(_LOCK_FDS):
        try:
            os.close(fd)
        except OSError:
            pass
    _LOCK_FDS.clear()


os.register_at_fork(after_in_child=_close_locks_in_child)


def sweep_partial_files(*folders: Path) -> int:
    """Remove half-written files left by an interrupted run (``.<name>.tmp-<pid>`` and ``*.part``).
    Call only while holding the writer lock; they never replaced a complete file."""
    removed = 0
    for folder in folders:
        if not folder.exists():
            continue
        for p in list(folder.rglob(".*.tmp-*")) + list(folder.rglob("*.part")):
            try:
                p.unlink()
                removed += 1
            except OSError:
                pass
    return removed


def _read_holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return ""
    return f" (PID {pid})" if pid.isdigit() else ""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file via a temporary name and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a disk that filled up leaves no half-written file behind
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
