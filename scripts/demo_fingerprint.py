"""Fingerprint a full demo run: a SHA-256 per warehouse table, per export file and per report file.

Used to prove that a refactoring leaves behaviour unchanged::

    python scripts/demo_fingerprint.py --out before.json            # on the old commit
    python scripts/demo_fingerprint.py --out after.json             # on the new commit
    python scripts/demo_fingerprint.py --compare before.json after.json

The demo runs in a fresh temporary workspace with a fixed seed, through the ``rbb`` command line. Columns that
hold the workspace's absolute path are left out of the table hashes (they differ between workspaces by
construction), and so is the run log, whose rows carry wall-clock times.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

#: Tables whose rows record when something ran, not what it computed.
TIMED_TABLES = {"run_log", "runs"}
#: Columns that hold wall-clock times.
TIMED_COLUMNS = {"loaded_at", "started_at", "finished_at", "computed_at", "created_at", "received_at"}


def rbb(*args: str, root: Path) -> None:
    env = dict(os.environ, GX_ANALYTICS_ENABLED="False")
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args, "--root", str(root)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"rbb {' '.join(args)} failed:\n{proc.stderr[-3000:]}")


def file_hashes(folder: Path, prefix: str) -> dict[str, str]:
    return {
        f"{prefix}/{p.relative_to(folder)}": hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".tmp-" not in p.name
    }


def table_hashes(db: Path, root: Path) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1"
            ).fetchall()
        ]
        out = {}
        for t in tables:
            if t in TIMED_TABLES:
                continue
            cols = [r[0] for r in con.execute(f'DESCRIBE "{t}"').fetchall()]
            keep = [
                c
                for c in cols
                if c not in TIMED_COLUMNS
                and not con.execute(
                    f'SELECT count(*) FROM "{t}" WHERE CAST("{c}" AS VARCHAR) LIKE ?', [f"%{root}%"]
                ).fetchone()[0]
            ]
            names = ", ".join(f'"{c}"' for c in keep)
            rows = con.execute(f'SELECT {names} FROM "{t}" ORDER BY ALL').fetchall() if keep else []
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerow(keep)
            writer.writerows([[repr(v) for v in row] for row in rows])
            out[f"table/{t}"] = hashlib.sha256(buf.getvalue().encode()).hexdigest()
        return out
    finally:
        con.close()


def fingerprint(seed: int, years: str) -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix="rbb-fingerprint-") as tmp:
        root = Path(tmp)
        rbb("demo", "--seed", str(seed), "--years", years, root=root)
        first, _, last = years.partition("-")
        out: dict[str, str] = {}
        for year in range(int(first), int(last or first) + 1):
            for fmt in ("csv", "xlsx"):
                rbb(
                    "export",
                    "--year",
                    str(year),
                    "--format",
                    fmt,
                    "-o",
                    str(root / "exports" / str(year) / fmt),
                    root=root,
                )
        out.update(table_hashes(root / "data" / "processed" / "benchmark.duckdb", root))
        out.update(file_hashes(root / "exports", "exports"))
        out.update(file_hashes(root / "reports", "reports"))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the fingerprint as JSON here")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--years", default="2023-2025")
    parser.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("BEFORE", "AFTER"),
        help="compare two fingerprints and list what differs",
    )
    args = parser.parse_args()
    if args.compare:
        a, b = (json.loads(p.read_text()) for p in args.compare)
        diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        same = len(set(a) & set(b)) - len([k for k in diff if k in a and k in b])
        print(f"{same} of {len(set(a) | set(b))} items identical")
        for k in diff:
            state = "only before" if k not in b else "only after" if k not in a else "differs"
            print(f"  {state}: {k}")
        sys.exit(1 if diff else 0)
    result = fingerprint(args.seed, args.years)
    text = json.dumps(result, indent=1, sort_keys=True)
    if args.out:
        args.out.write_text(text + "\n")
        print(f"{len(result)} items fingerprinted into {args.out}")
    else:
        print(text)


if __name__ == "__main__":
    main()
