"""Opening submitted files without following links or blocking on special files.

Everything under ``data/raw`` is put there by others. A symbolic link there could make ingest read, list
or copy anything the analyst's account can see (``/etc/shadow``, a home folder); a FIFO or a link to
``/dev/zero`` would block or never end while ingest holds the workspace lock. So submitted paths are
classified with ``lstat`` (never following a link), and opened only with ``O_NOFOLLOW | O_NONBLOCK``
and a check on the opened descriptor that it is a regular file: a file swapped for a link or FIFO between
the listing and the opening is still refused.

Also here: :class:`LineLengthCheck`, which finds a line longer than a limit in a stream of bytes with a few
``memchr`` calls per 16 KB (cheap enough to ride along with the checksum pass over multi-GB case files).
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path
from typing import BinaryIO

KIND_NAMES = {
    "symlink": ("een symbolische koppeling (symlink)", "a symbolic link"),
    "fifo": ("een named pipe (FIFO)", "a named pipe (FIFO)"),
    "device": ("een apparaatbestand", "a device file"),
    "socket": ("een socket", "a socket"),
    "other": ("geen gewoon bestand", "not a regular file"),
}
SPECIAL_KINDS = frozenset(KIND_NAMES)


class NotRegularFile(OSError):
    """A submitted path that is a link, FIFO, device or socket (and so is not read)."""

    def __init__(self, path: str | Path, kind: str):
        super().__init__(errno.EINVAL, f"not a regular file ({kind})", str(path))
        self.kind = kind


def kind_of_mode(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "other"


def entry_kind(path: str | Path) -> str:
    """``file``, ``dir``, ``symlink``, ``fifo``, ``device``, ``socket``, ``other`` or ``missing``, without
    following a link (a dangling link or a link loop is a ``symlink`` like any other)."""
    try:
        return kind_of_mode(os.lstat(path).st_mode)
    except OSError:
        return "missing"


def open_regular(path: str | Path) -> BinaryIO:
    """Open a regular file for reading; raise :class:`NotRegularFile` for anything else.

    ``O_NOFOLLOW`` refuses a link as the last path component, ``O_NONBLOCK`` makes opening a FIFO return at
    once instead of waiting for a writer, and the descriptor's own ``fstat`` decides (so a path swapped
    after it was listed cannot slip through). Blocking mode is restored for the regular file."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegularFile(path, "symlink") from None
        raise
    try:
        kind = kind_of_mode(os.fstat(fd).st_mode)
        if kind != "file":
            raise NotRegularFile(path, kind)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file (at most ``limit`` + 1, so a caller can tell the file is over the limit)."""
    with open_regular(path) as fh:
        return fh.read() if limit is None else fh.read(limit + 1)


class LineLengthCheck:
    """Finds the first line longer than ``limit`` bytes in data fed in chunks of any size.

    The data is looked at in windows of ``limit // 4`` bytes: a window with no newline extends the current
    line; otherwise the line ending in it is measured and the line starting after its last newline begins.
    Only two ``memchr`` calls per window, whatever the number of lines."""

    def __init__(self, limit: int):
        self.limit = limit
        self.window = max(1, limit // 4)
        self.run = 0  # bytes of the current (unfinished) line
        self.offset = 0  # bytes fed so far
        self.newlines = 0  # newlines before the current chunk (counted only once a long line is found)
        self.found: tuple[int, int] | None = None  # (byte offset where the long line starts, length so far)

    def feed(self, chunk: bytes) -> None:
        if self.found is not None:
            return
        n, w, limit = len(chunk), self.window, self.limit
        for s in range(0, n, w):
            e = min(n, s + w)
            first = chunk.find(b"\n", s, e)
            if first < 0:
                self.run += e - s
                if self.run > limit:
                    self.found = (self.offset + e - self.run, self.run)
                    return
                continue
            if self.run + first - s > limit:
                self.found = (self.offset + first - (self.run + first - s), self.run + first - s)
                return
            self.run = e - chunk.rfind(b"\n", s, e) - 1
        self.offset += n

    def finish(self) -> tuple[int, int] | None:
        """``(byte offset of the start of the first over-long line, its length so far)`` or None."""
        if self.found is None and self.run > self.limit:
            self.found = (self.offset - self.run, self.run)
        return self.found


def line_number_at(fh: BinaryIO, offset: int) -> int:
    """The 1-based line number of the byte at ``offset`` (reads the file up to there)."""
    fh.seek(0)
    count, read = 0, 0
    while read < offset:
        chunk = fh.read(min(1 << 20, offset - read))
        if not chunk:
            break
        count += chunk.count(b"\n")
        read += len(chunk)
    return count + 1


def longest_line_over(path: str | Path, limit: int) -> tuple[int, int] | None:
    """``(line number, length so far)`` of the first line of a regular file longer than ``limit`` bytes."""
    check = LineLengthCheck(limit)
    with open_regular(path) as fh:
        while chunk := fh.read(1 << 22):
            check.feed(chunk)
            if check.found:
                break
        found = check.finish()
        return None if found is None else (line_number_at(fh, found[0]), found[1])


__all__ = [
    "KIND_NAMES",
    "SPECIAL_KINDS",
    "LineLengthCheck",
    "NotRegularFile",
    "entry_kind",
    "kind_of_mode",
    "line_number_at",
    "longest_line_over",
    "open_regular",
    "read_regular",
]
