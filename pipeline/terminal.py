"""Terminal output shared by the command line and ``rbb demo``: consoles, safe text, tables, progress."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.core.safe_text import terminal_safe
from pipeline.validate.status import cycle_table

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


def print_status(con, orgs, year: int, deadlines=None, today=None) -> None:
    """Where every member stands in the round of ``year``: state, version in force, warnings by review status,
    what is still to do (and by whom) and who is late against the deadline calendar."""
    import datetime as dt

    df = cycle_table(con, orgs, year, deadlines, today or dt.date.today())
    colour = {
        "missing": "dim",
        "rejected": "red",
        "findings_open": "yellow",
        "resolved": "cyan",
        "signed_off": "green",
    }
    t = Table(title=f"Submissions {year}")
    for c in ("org", "name", "state", "in force", "warnings open/explained/returned/accepted", "to do", "late"):
        t.add_column(c, overflow="fold")
    for r in df.itertuples(index=False):
        version = r.version_in_force
        t.add_row(
            shown(r.org_code),
            shown(r.name),
            f"[{colour[r.state]}]{r.state_label}[/]",
            "-" if version is None or version != version else f"v{int(version)}",
            f"{r.open}/{r.explained}/{r.returned}/{r.accepted}" if r.state not in ("missing", "rejected") else "-",
            shown(r.to_do) or "-",
            f"[red]{shown(r.late)}[/]" if r.late else "",
        )
    console.print(t)
    counts = df["state"].value_counts().to_dict() if len(df) else {}
    console.print(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(counts.items())), soft_wrap=True)
    if deadlines is not None:
        dates = [
            f"{label} {d:%Y-%m-%d}"
            for label, d in (
                ("delivery", deadlines.delivery),
                ("feedback", deadlines.feedback),
                ("publication", deadlines.publication),
            )
            if d is not None
        ]
        late = int((df["late"] != "").sum()) if len(df) else 0
        console.print(f"Deadlines {year}: {', '.join(dates)}; {late} late", soft_wrap=True)
