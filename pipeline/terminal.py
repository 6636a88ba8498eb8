"""Terminal output shared by the command line and ``rbb demo``: consoles, safe text, tables, words, progress.

In a terminal the output is Rich's: tables with borders, where a long name or path folds onto the next line
and is never cut short. Outside a terminal (piped to a file, a log or another program) every line is printed
whole, never wrapped, and a table is printed as plain lines: its title, then its header and rows with the
cells separated by a tab. Statuses and verdicts are printed in words (:func:`words`); their codes
(``accepted_with_warnings``, ``no_clear_effect``) stay in the files meant for machines (CSV, JSON).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator

from rich import table as rich_table
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from pipeline.core.safe_text import terminal_safe
from pipeline.validate.status import cycle_table


class Table(rich_table.Table):
    """A Rich table whose columns fold long cells (a name or path is never cut short) and that also prints
    as plain tab-separated lines (:class:`OutputConsole`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.plain_rows: list[tuple[object, ...]] = []

    def add_column(self, *args, **kwargs) -> None:
        kwargs.setdefault("overflow", "fold")
        super().add_column(*args, **kwargs)

    def add_row(self, *cells, **kwargs) -> None:
        super().add_row(*cells, **kwargs)
        self.plain_rows.append(cells)

    def plain_lines(self) -> list[str]:
        """The table as plain lines: its title, its header and one line per row, cells separated by a tab."""

        def plain(cell: object) -> str:
            if cell is None:
                return ""
            text = Text.from_markup(cell) if isinstance(cell, str) else cell
            return text.plain if isinstance(text, Text) else str(text)

        lines = [plain(self.title)] if self.title else []
        lines.append("\t".join(plain(c.header) for c in self.columns))
        lines.extend("\t".join(plain(c) for c in row) for row in self.plain_rows)
        return lines


class OutputConsole(Console):
    """A Rich console that prints for people in a terminal and plain lines elsewhere: outside a terminal
    no line is wrapped or cropped, and a :class:`Table` is printed as tab-separated lines."""

    def print(self, *objects, **kwargs) -> None:
        if self.is_terminal:
            return super().print(*objects, **kwargs)
        kwargs["soft_wrap"] = True
        if any(isinstance(obj, Table) for obj in objects):
            # written as they are: Rich would turn the tabs between the cells into spaces
            for obj in objects:
                lines = obj.plain_lines() if isinstance(obj, Table) else [Text.from_markup(str(obj)).plain]
                self.file.write("".join(f"{line}\n" for line in lines))
            self.file.flush()
            return None
        return super().print(*objects, **kwargs)


console = OutputConsole(highlight=False)
err_console = OutputConsole(stderr=True, highlight=False)

#: the words the command line prints for a status or verdict code (English, as the rest of its output)
WORDS = {
    # submissions
    "accepted": "accepted",
    "accepted_with_warnings": "accepted with warnings",
    "rejected": "rejected",
    "superseded": "superseded",
    # a member's round (pipeline.validate.review.STATES)
    "missing": "not received",
    "findings_open": "findings open",
    "resolved": "all resolved",
    "signed_off": "signed off",
    "withdrawn": "sign-off withdrawn",
    # pilot follow-up verdicts (pipeline.pilots.followup.VERDICTS)
    "improved": "improved",
    "worsened": "worsened",
    "no_clear_effect": "no clear effect",
    "cannot_tell": "cannot tell yet",
    "too_little_data": "too little data",
}


def words(code: object) -> str:
    """A status or verdict code in words (``accepted_with_warnings`` → 'accepted with warnings'); a code
    without words of its own reads with spaces for its underscores."""
    text = "" if code is None else str(code)
    return WORDS.get(text, text.replace("_", " "))


_CODES = re.compile(r"\b(" + "|".join(sorted((c for c in WORDS if "_" in c), key=len, reverse=True)) + r")\b")


def in_words(text: str) -> str:
    """A line built elsewhere with status or verdict codes in it ('2 no_clear_effect'), with those codes in
    words ('2 no clear effect')."""
    return _CODES.sub(lambda m: words(m.group(1)), text)


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
        disable=quiet or not console.is_terminal,  # a log gets the result, not a bar
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
        t.add_column(c)
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
    console.print(", ".join(f"{words(k)}: {v}" for k, v in sorted(counts.items())), soft_wrap=True)
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
