"""Terminal output shared by the command line and ``rbb demo``: consoles, safe text, tables, progress."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.core.safe_text import terminal_safe
from pipeline.validate.status import status_table

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def shown(text: object) -> str:
    """Text from outside (file names, cell values, messages quoting them) as printed: control characters,
    escape sequences and bidi controls made visible (``\\x1b``, ``<U+202E>``), Rich markup escaped."""
    return escape(terminal_safe(text))


@contextlib.contextmanager
def ingest_progress(quiet: bool = False) -> Iterator[Callable[[str, int, int], None]]:
    """A transient progress bar for ``rbb ingest``; yields the callback the validate stage reports to."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet,
    ) as progress:
        task = progress.add_task("ingest", total=None)

        def tick(label: str, done: int, total: int) -> None:
            progress.update(task, description=f"ingest {shown(label)}", completed=done, total=total)

        yield tick


def print_status(con, orgs, year: int) -> None:
    df = status_table(con, orgs, year)
    labels = {
        "missing": "[dim]missing[/]",
        "rejected": "[red]rejected[/]",
        "accepted_with_warnings": "[yellow]accepted, open warnings[/]",
        "accepted": "[green]accepted[/]",
    }
    t = Table(title=f"Submissions {year}")
    for c in ("org", "name", "state", "in force", "versions", "errors (latest)", "open warnings"):
        t.add_column(c)

    def whole(v: object) -> str:
        return "-" if v is None or v != v else str(int(v))

    for r in df.itertuples(index=False):
        t.add_row(
            shown(r.org_code),
            shown(r.name),
            labels[r.state],
            "-"
            if r.version_in_force is None or r.version_in_force != r.version_in_force
            else f"v{int(r.version_in_force)}",
            whole(r.versions),
            whole(r.errors),
            whole(r.open_warnings),
        )
    console.print(t)
    counts = df["state"].value_counts().to_dict()
    console.print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
