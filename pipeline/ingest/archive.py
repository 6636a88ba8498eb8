"""The inbox: every delivery kept under its checksum in ``data/processed/inbox/<ORG>/<year>/``.

A file is copied (a large case file is hard-linked, read-only); a folder, link or special file is kept as a
manifest of what it held. Nothing received is ever lost, accepted or not.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from pipeline.core.safe_files import NotRegularFile, entry_kind, open_regular
from pipeline.core.workspace import Workspace, atomic_write_text, is_out_of_space
from pipeline.ingest.discover import Delivery

_SAFE = re.compile(r"[^A-Za-z0-9_-]")
LINK_THRESHOLD_BYTES = 64 * 1024 * 1024


def copy_regular(src: Path, dst: Path) -> None:
    """Copy a regular file (opened without following links) to ``dst``; a partial copy is removed."""
    try:
        with open_regular(src) as fin, open(dst, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
    except OSError as exc:
        dst.unlink(missing_ok=True)
        if exc.filename is None and not isinstance(exc, NotRegularFile):   # a failed write names no file
            raise OSError(exc.errno, exc.strerror, str(dst)) from exc
        raise
    except BaseException:
        dst.unlink(missing_ok=True)
        raise


def store(ws: Workspace, d: Delivery, org_code: str) -> str:
    """Copy the delivery into the inbox under its checksum; returns the stored path (relative to the root).

    A folder (and a link or special file, which is never copied) is stored as a manifest of what it held."""
    safe_org = _SAFE.sub("_", org_code) or "_onbekend"
    target_dir = ws.inbox / safe_org / str(d.year)
    target_dir.mkdir(parents=True, exist_ok=True)
    stored = []
    for name, sha, size, src in d.files:
        suffix = Path(name).suffix.lower()
        suffix = suffix if suffix in (".xlsx", ".xlsm", ".csv", ".txt", ".parquet") else ".bin"
        target = target_dir / f"{sha}{suffix}"
        if not target.exists():
            tmp = target.with_name(target.name + ".part")
            tmp.unlink(missing_ok=True)
            if size >= LINK_THRESHOLD_BYTES:
                try:
                    os.link(src, tmp, follow_symlinks=False)   # large case files: no second copy, read-only
                except OSError as exc:
                    if is_out_of_space(exc):
                        raise
                    copy_regular(src, tmp)
                else:
                    if entry_kind(tmp) != "file":      # the source became a link since it was read
                        tmp.unlink()
                        raise NotRegularFile(src, "symlink")
                    os.chmod(tmp, 0o444)
            else:
                copy_regular(src, tmp)
            tmp.replace(target)
        stored.append(target)
    if d.kind != "file":
        manifest = target_dir / f"{d.sha256}.manifest.tsv"
        text = "".join(f"{n}\t{s}\t{sz}\n" for n, s, sz, _ in d.files)
        text += "".join(f"{n}\t({k})\t0\n" for n, k in d.refused)
        if d.kind != "dir":
            text += f"{d.name}\t({d.kind})\t0\n"
        if not manifest.exists() or manifest.read_text("utf-8", errors="replace") != text:
            atomic_write_text(manifest, text)
        return str(manifest.relative_to(ws.root))
    return str(stored[0].relative_to(ws.root)) if stored else ""


