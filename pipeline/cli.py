"""The ``rbb`` command line."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import click
import duckdb
from rich.markup import escape

from pipeline.core.findings import cell_text
from pipeline.core.numbers import count_text
from pipeline.core.workspace import (
    OutOfSpace,
    Workspace,
    WorkspaceBusy,
    is_out_of_space,
    sweep_partial_files,
)
from pipeline.flow import intake
from pipeline.metadata.registry import RegisterError
from pipeline.terminal import Table, console, err_console, in_words, ingest_progress, print_status, shown, words


class UserError(click.ClickException):
    """A mistake in how rbb was called or in its input: a message, never a traceback."""

    def show(self, file=None) -> None:  # noqa: ARG002
        err_console.print(f"[bold red]rbb:[/] {shown(self.message)}", soft_wrap=True)


def root_option(func):
    @click.option(
        "--root",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Workspace folder holding data/ and reports/ (default: current directory).",
    )
    @click.option("--wait", is_flag=True, help="Wait for another rbb process writing to this workspace.")
    @functools.wraps(func)
    def wrapper(*args, root=None, wait=False, **kwargs):
        return func(*args, ws=Workspace.at(root), wait=wait, **kwargs)

    return wrapper


def _guard(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise  # already a message for the user (UserError and click's own)
        except OutOfSpace as exc:
            raise UserError(str(exc)) from None
        except WorkspaceBusy as exc:
            raise UserError(str(exc)) from None
        except RegisterError as exc:
            raise UserError(
                f"het organisatieregister is ongeldig, er is niets veranderd / "
                f"the organisation register is invalid, nothing was changed: {exc}"
            ) from None
        except PermissionError as exc:
            raise UserError(f"no permission: {exc.filename}") from None
        except Exception as exc:
            if is_out_of_space(exc):
                state = (
                    "de opdracht is gestopt; wat al volledig geschreven was blijft staan",
                    "the command stopped; what was already written completely stays",
                )
                raise UserError(str(OutOfSpace(state, exc))) from None
            if isinstance(exc, duckdb.IOException):
                first = str(exc).splitlines()[0]
                raise UserError(
                    f"the warehouse cannot be opened ({first}); another program may have it open — "
                    "close it and try again"
                ) from None
            raise

    return wrapper


def logged(command: str):
    """Record the command as a run in the workspace's run log (``rbb log``): arguments, versions, counts,
    duration and outcome; a user's mistake is recorded as ``refused``."""

    def deco(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            from pipeline.core import runlog

            ws = kwargs["ws"] if "ws" in kwargs else next(a for a in args if isinstance(a, Workspace))
            arguments = {
                k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in kwargs.items()
                if v not in (None, False, ()) and k not in ("ws", "wait")
            }
            with runlog.recorded(ws, command, arguments, refused=(click.ClickException,)):
                return func(*args, **kwargs)

        return wrapper

    return deco


def _default_year(ws: Workspace) -> int | None:
    from pipeline.core import warehouse

    if not ws.db_path.exists():
        return None
    con = warehouse.connect(ws.db_path, read_only=True)
    try:
        return warehouse.default_year(con)
    finally:
        con.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rbb-benchmark")
def main() -> None:
    """rbb: the Rijksbrede Benchmarkgroep benchmark pipeline (ingest, validate, compute, report)."""


# --------------------------------------------------------------------------------------- template


def workspace_option(func):
    """``--root`` for a command that may also run without a workspace (then the packaged register is used)."""
    return click.option(
        "--root",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Workspace folder: its organisation register (data/organisations.csv) and warehouse are used.",
    )(func)


@main.command()
@click.option("--year", type=int, required=True, help="Reporting year the template asks for.")
@click.option("--org", "org", default=None, help="Organisation code to prefill.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@workspace_option
@_guard
def template(year: int, org: str | None, output: Path, root: Path | None) -> None:
    """Write the Excel submission template."""
    from pipeline.ingest.template import write_workbook
    from pipeline.metadata.registry import organisations_by_code, register_path

    ws_root = Workspace.at(root).root if root is not None else None
    if org is not None and org.upper() not in organisations_by_code(ws_root):
        where = register_path(ws_root) or "the packaged register"
        raise UserError(
            f"onbekende organisatiecode {org!r} (register: {where}) / unknown organisation code {org!r} "
            f"(register: {where}); add it to data/organisations.csv of the workspace and pass --root"
        )
    write_workbook(output, year, org.upper() if org else None, root=ws_root)
    console.print(f"Template written: {shown(output)}")


# ----------------------------------------------------------------------------------------- ingest


@main.command()
@root_option
@click.option("--year", type=int, default=None, help="Only this reporting year.")
@_guard
@logged("ingest")
def ingest(ws: Workspace, wait: bool, year: int | None) -> None:
    """Ingest and validate new deliveries from data/raw/<year>/<ORG>/."""
    ws.ensure()
    with ws.writer_lock(wait=wait):
        sweep_partial_files(ws.inbox, ws.reports)
        with ingest_progress() as tick:
            results = intake(ws, year, progress=tick)
    from pipeline.core import runlog

    runlog.count(
        deliveries=len(results),
        rejected=sum(r.status == "rejected" for r in results),
        accepted=sum(r.status != "rejected" for r in results),
    )
    runlog.add_inputs([getattr(r, "sha256", None) for r in results])
    if not results:
        console.print("No new deliveries.")
        return
    t = Table(title="New deliveries")
    for c in ("org", "year", "version", "file", "status", "errors", "warnings"):
        t.add_column(c)  # folds: never cut a name short, what was delivered shows in full
    for r in results:
        style = "red" if r.status == "rejected" else ("yellow" if r.n_warnings else "green")
        t.add_row(
            shown(r.org_code),
            str(r.year),
            str(r.version),
            shown(r.name),
            f"[{style}]{words(r.status)}[/]",
            str(r.n_errors),
            str(r.n_warnings),
        )
    console.print(t)
    console.print(f"Feedback reports: {shown(ws.reports)}/<year>/validation/")


# ----------------------------------------------------------------------------------------- import


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--mapping",
    "mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Mapping YAML: columns, codes, units, joins and aggregation (see docs/real-data.md).",
)
@click.option("--year", type=int, required=True, help="Reporting year the deliveries are written for.")
@root_option
@_guard
@logged("import")
def import_(ws: Workspace, wait: bool, file: Path, mapping: Path, year: int) -> None:
    """Turn a long system export into deliveries under data/raw/<year>/<ORG>/ (then run 'rbb ingest')."""
    from pipeline.core.safe_text import ascii_year
    from pipeline.ingest.imports import ImportProblem, import_export
    from pipeline.metadata.registry import load_organisations, register_path, registry

    if ascii_year(str(year), 2000, 2100) is None:
        raise UserError(f"--year must be a reporting year 2000-2100, not {year}")
    orgs = load_organisations(ws.root)
    register = str(register_path(ws.root) or ws.root / "data" / "organisations.csv")
    ws.ensure()
    with ws.writer_lock(wait=wait):
        try:
            result = import_export(ws, file, mapping, year, registry(), orgs, register)
        except ImportProblem as exc:
            raise UserError(str(exc)) from None
    t = Table(title=f"Imported {shown(file.name)} for {year}")
    for c in ("org", "rows", "folder", "status"):
        t.add_column(c, overflow="fold")
    for w in result.written:
        style = "green" if w.status == "new" else "cyan"
        t.add_row(shown(w.org_code), str(w.rows), shown(w.folder.relative_to(ws.root)), f"[{style}]{w.status}[/]")
    console.print(t)
    console.print(
        f"{result.rows_read} rows read, {result.rows_filtered_out} left out by the filter, "
        f"{len(result.written)} deliveries ({sum(w.status == 'new' for w in result.written)} new). "
        "Next: rbb ingest"
    )
    problem = result.unmatched_message(register)
    if problem:
        nl, en = problem
        raise UserError(f"{en} / {nl}")


# ------------------------------------------------------------------------------------------ check


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--lang", type=click.Choice(["nl", "en"]), default="nl")
@workspace_option
@click.option("--wait", is_flag=True, help="Wait for another rbb process writing to this workspace.")
@_guard
def check(files: tuple[Path, ...], lang: str, root: Path | None, wait: bool) -> None:
    """Validate submission files as 'rbb ingest' would, without loading them; exit 1 when there are errors.

    With --root the workspace's register and accepted history are used (year-on-year and peer checks);
    nothing is written to the workspace."""
    from pipeline.validate import precheck

    if root is None:
        report = precheck(list(files), None)
    else:
        ws = Workspace.at(root)
        if not ws.root.is_dir():
            raise UserError(f"werkmap {ws.root} bestaat niet / workspace {ws.root} does not exist")
        if ws.db_path.exists():
            with ws.reader_lock(wait=wait):
                report = precheck(list(files), ws)
        else:
            report = precheck(list(files), ws)
    any_errors = False
    for nl, en in report.skipped:
        console.print(
            f"[cyan]{'overgeslagen' if lang == 'nl' else 'skipped'}:[/] {shown(nl if lang == 'nl' else en)}",
            soft_wrap=True,
        )
    for path, item in report.files:
        errors = item.n_errors
        any_errors |= errors > 0
        one, many = ("fout", "fouten") if lang == "nl" else ("error", "errors")
        warn_one, warn_many = ("waarschuwing", "waarschuwingen") if lang == "nl" else ("warning", "warnings")
        head = (
            f"[bold]{shown(path)}[/]: {count_text(errors, one, many, lang)}, "
            f"{count_text(item.n_warnings, warn_one, warn_many, lang)}"
        )
        console.print(head, soft_wrap=True)
        for f in item.findings:
            colour = {"error": "red", "warning": "yellow"}.get(f.severity, "cyan")
            console.print(
                f"  [{colour}]{f.severity:<7}[/] {shown(f.where(lang) or '-')}: {shown(f.message(lang))}",
                soft_wrap=True,
            )
    sys.exit(1 if any_errors else 0)


# ----------------------------------------------------------------------------------------- status


@main.command()
@root_option
@click.option("--year", type=int, default=None)
@click.option("--history", "show_history", is_flag=True, help="Show every version received per organisation.")
@click.option(
    "--on",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Judge deadlines as on this date (default: today).",
)
@_guard
def status(ws: Workspace, wait: bool, year: int | None, show_history: bool, on) -> None:
    """Where every member stands: received, findings open, all resolved, signed off; to-do and who is late."""
    if not ws.db_path.exists():
        raise UserError(f"no warehouse at {ws.db_path}; run 'rbb ingest' first")
    with ws.reader_lock(wait=wait):
        _status(ws, year, show_history, on.date() if on else None)


def _status(ws: Workspace, year: int | None, show_history: bool, on=None) -> None:
    from pipeline.core import warehouse
    from pipeline.metadata.registry import load_organisations
    from pipeline.validate.status import history_table

    explicit = year is not None
    year = year or _default_year(ws)
    if year is None:
        raise UserError("no submissions yet; run 'rbb ingest' first")
    con = warehouse.connect(ws.db_path, read_only=True)
    try:
        from pipeline.core.settings import SettingsError, load_settings

        try:
            deadlines = load_settings(ws.root).deadlines(year)
        except SettingsError as exc:
            raise UserError(str(exc)) from None
        print_status(con, load_organisations(ws.root), year, deadlines, on)
        if not explicit:
            for later, n in warehouse.later_years(con, year):
                console.print(
                    f"{later}: {n} {'delivery' if n == 1 else 'deliveries'}, none accepted "
                    f"(see 'rbb status --year {later}')"
                )
        if show_history:
            h = history_table(con, year)
            t = Table(title=f"Versions received {year}")
            for c in (
                "org",
                "year",
                "version",
                "status",
                "in force",
                "errors",
                "warnings",
                "file",
                "received",
                "sha256",
            ):
                t.add_column(c)
            for r in h.itertuples(index=False):
                t.add_row(
                    shown(r.org_code),
                    str(r.year),
                    f"v{r.version}",
                    words(r.status),
                    "yes" if r.in_force else "no",
                    str(r.n_errors),
                    str(r.n_warnings),
                    shown(r.original_name),
                    f"{r.received_at:%Y-%m-%d %H:%M}" if r.received_at == r.received_at else "",
                    shown(r.sha256_prefix),
                )
            console.print(t)
    finally:
        con.close()


# ---------------------------------------------------------------------------------------- compute


@main.command()
@root_option
@click.option("--year", type=int, default=None, help="Check that this year has data (all years are recomputed).")
@_guard
@logged("compute")
def compute(ws: Workspace, wait: bool, year: int | None) -> None:
    """Compute indicators, comparisons, composite index and efficiency into the warehouse."""
    from pipeline import compute as compute_stage

    if not ws.db_path.exists():
        raise UserError(f"no warehouse at {ws.db_path}; run 'rbb ingest' first")
    with ws.writer_lock(wait=wait):
        try:
            with console.status("computing"):
                counts = compute_stage.run(ws, year)
        except RegisterError:
            raise  # worded by _guard
        except (FileNotFoundError, ValueError) as exc:
            raise UserError(str(exc)) from None
    from pipeline.core import runlog

    runlog.count(**counts)
    for name, n in counts.items():
        console.print(f"{name:<24}{n:>8} rows")


@main.command()
@root_option
@click.option("--year", type=int, required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "parquet"]), default="csv", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder (default: data/processed/exports/<year>, or .../<year>/<release>).",
)
@click.option(
    "--release", "release_id", default=None, help="The tables of this release (e.g. 2025.1), not the current ones."
)
@_guard
@logged("export")
def export(ws: Workspace, wait: bool, year: int, fmt: str, output: Path | None, release_id: str | None) -> None:
    """Export indicators and comparisons for analysts."""
    from pipeline.report.export import export as do_export

    if not ws.db_path.exists():
        raise UserError(f"no warehouse at {ws.db_path}; run 'rbb ingest' and 'rbb compute' first")
    try:
        with ws.reader_lock(wait=wait):
            if release_id:
                from pipeline.cycle import releases

                try:
                    m = releases.manifest(ws, release_id)
                except releases.ReleaseError as exc:
                    raise UserError(str(exc)) from None
                if int(m["year"]) != year:
                    raise UserError(f"release {release_id} is of {m['year']}, not {year}")
                con = releases.open_release(ws, release_id)
                try:
                    paths = do_export(ws, year, fmt, output, con=con, release_id=release_id)
                finally:
                    con.close()
            else:
                _require_year(ws, year)
                paths = do_export(ws, year, fmt, output)
    except (FileNotFoundError, ValueError) as exc:
        if isinstance(exc, click.ClickException):
            raise
        raise UserError(str(exc)) from None
    from pipeline.core import runlog

    runlog.count(files=len(paths))
    for p in paths:
        console.print(f"written {shown(p)}")


def _years_with_data(ws: Workspace) -> tuple[list[int], list[int]]:
    """The years with an accepted submission in force, and the years with any submission at all."""
    from pipeline.core import warehouse

    con = warehouse.connect(ws.db_path, read_only=True)
    try:
        if not warehouse.table_exists(con, "submissions"):
            return [], []
        rows = con.execute("SELECT year, bool_or(in_force) FROM submissions GROUP BY year ORDER BY year").fetchall()
    finally:
        con.close()
    return [int(y) for y, force in rows if force], [int(y) for y, _ in rows]


def _require_year(ws: Workspace, year: int) -> None:
    """Refuse a year without accepted data before anything is written (a report or export of no one)."""
    accepted, received = _years_with_data(ws)
    if year in accepted:
        return
    have = f"years with data: {', '.join(map(str, accepted))}" if accepted else "no year has accepted data yet"
    if year in received:
        raise UserError(f"no accepted submissions for {year} in this workspace (all were rejected); {have}")
    raise UserError(f"no submissions for {year} in this workspace; {have}")


def _require_org(ws: Workspace, org: str, year: int) -> str:
    """An organisation code given with --org, checked against the workspace's register for ``year``."""
    from pipeline.metadata.registry import load_organisations, register_path

    code = org.strip().upper()
    members = {o.org_code for o in load_organisations(ws.root) if o.is_member(year)}
    if code not in members:
        where = register_path(ws.root) or "the packaged register"
        raise UserError(f"unknown organisation code {org!r} for {year} (register: {where})")
    return code


#: printed on stderr whenever reports are written that name every member
NAMED_PEERS_WARNING = (
    "these reports name every member beside its figures: they are for the analysts only, never for members "
    "(written to {folder})"
)


@main.command()
@root_option
@click.option("--year", type=int, default=None)
@click.option("--org", default=None, help="Only this organisation's report.")
@click.option("--lang", type=click.Choice(["nl", "en"]), default="nl", show_default=True)
@click.option(
    "--named-peers",
    "named_peers",
    is_flag=True,
    help="Reports for the analysts that name every member (restricted: not for members).",
)
@click.option("--open", "open_alias", is_flag=True, hidden=True, help="Deprecated name of --named-peers.")
@click.option(
    "--shared-assets",
    is_flag=True,
    help="Organisation reports load ../assets/plotly.min.js instead of carrying it inline (for serving a year's set together).",
)
@click.option(
    "--pdf",
    is_flag=True,
    help="Also print every page written to <name>.pdf beside it (A4, with Chromium: /usr/bin/chromium or $RBB_CHROMIUM).",
)
@_guard
@logged("report")
def report(
    ws: Workspace,
    wait: bool,
    year: int | None,
    org: str | None,
    lang: str,
    named_peers: bool,
    open_alias: bool,
    shared_assets: bool,
    pdf: bool,
) -> None:
    """Write the HTML reports into reports/<year>/ (and their PDFs with --pdf)."""
    from pipeline import report as report_stage

    if open_alias:
        err_console.print("[bold yellow]rbb:[/] --open is deprecated; use --named-peers", soft_wrap=True)
    named_peers = named_peers or open_alias
    if not ws.db_path.exists():
        raise UserError(f"no warehouse at {ws.db_path}; run 'rbb ingest' and 'rbb compute' first")
    with ws.writer_lock(wait=wait):
        year = year or _default_year(ws)
        if year is None:
            raise UserError("no submissions yet; run 'rbb ingest' first")
        _require_year(ws, year)
        code = _require_org(ws, org, year) if org else None
        if named_peers:
            folder = ws.reports / str(year) / "organisations-open"
            err_console.print(
                f"[bold yellow]rbb: warning:[/] {shown(NAMED_PEERS_WARNING.format(folder=folder))}", soft_wrap=True
            )
        sweep_partial_files(ws.reports)
        try:
            paths = report_stage.run(
                ws,
                year=year,
                org=code,
                lang=lang,
                open_mode=named_peers,
                shared_assets=shared_assets,
                pdf=pdf,
            )
        except report_stage.ReportWriteError as exc:  # disk full, no permission: the previous reports are intact
            raise UserError(f"{exc.message_en} / {exc.message_nl}") from None
        except report_stage.PdfError as exc:  # no Chromium: checked before anything is written
            raise UserError(str(exc)) from None
        except (FileNotFoundError, ValueError, KeyError) as exc:
            raise UserError(str(exc)) from None
    from pipeline.core import runlog

    runlog.count(files=len(paths))
    console.print(f"{count_text(len(paths), 'report file', 'report files', 'en')} written under {shown(ws.reports)}")
    for p in paths[:3]:
        console.print(f"  {shown(p)}")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--inputs", required=True, help="Comma-separated input columns.")
@click.option("--outputs", required=True, help="Comma-separated output columns.")
@click.option("--rts", type=click.Choice(["crs", "vrs", "drs", "irs"]), default="crs", show_default=True)
@click.option("--orientation", type=click.Choice(["in", "out"]), default="in", show_default=True)
@click.option("--id", "id_col", default=None, help="Unit id column (default: the first column).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--slacks", is_flag=True, help="Add slack_<variable> columns (phase-2 slacks).")
@click.option("--super", "super_eff", is_flag=True, help="Add super_efficiency (Andersen-Petersen).")
@click.option(
    "--bootstrap",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="N",
    help="Simar-Wilson bootstrap with N replications: adds score_bc, ci_low, ci_high, bias.",
)
@click.option("--seed", type=int, default=None, help="Seed of the bootstrap (same seed, same result).")
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Bootstrap intervals are 1 - alpha.",
)
@click.option("--robust", is_flag=True, help="Add leave-one-out robustness columns (robust_status, ...).")
def dea(
    file: Path,
    inputs: str,
    outputs: str,
    rts: str,
    orientation: str,
    id_col: str | None,
    output: Path | None,
    slacks: bool,
    super_eff: bool,
    bootstrap: int,
    seed: int | None,
    alpha: float,
    robust: bool,
) -> None:
    """Data envelopment analysis on any CSV (one row per unit)."""
    import warnings

    from pipeline.compute.methods.dea import DeaInputError, DeaWarning, main_dea_cli

    if not file.exists():
        raise UserError(f"{file} does not exist")
    if bootstrap == 1:
        raise UserError("--bootstrap needs at least 2 replications (200 or more is usual)")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeaWarning)
            frame = main_dea_cli(
                file,
                inputs,
                outputs,
                rts,
                orientation,
                id_col,
                output,
                slacks=slacks,
                super_eff=super_eff,
                bootstrap=bootstrap,
                seed=seed,
                alpha=alpha,
                robust=robust,
            )
    except DeaInputError as exc:
        raise UserError(str(exc)) from None
    for w in caught:
        if isinstance(w.message, DeaWarning):
            err_console.print(f"[bold yellow]rbb: waarschuwing:[/] {escape(w.message.message_nl)}", soft_wrap=True)
            err_console.print(f"[bold yellow]rbb: warning:[/] {escape(w.message.message_en)}", soft_wrap=True)
    if output is None:
        click.echo(frame.to_csv(index=False), nl=False)
    else:
        console.print(f"written {shown(output)} ({len(frame)} units)")


@main.group(invoke_without_command=True)
@root_option
@click.option("--year", type=int, default=None)
@click.pass_context
@_guard
def pilots(ctx: click.Context, ws: Workspace, wait: bool, year: int | None) -> None:
    """Pilot selection: shortlist of weak organisation × strong partner pairs, and follow-up of pilots."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = ws
        return
    from pipeline import pilots as pilot_stage
    from pipeline.core import runlog

    with runlog.recorded(ws, "pilots", {"year": year} if year else {}, refused=(click.ClickException,)):
        if not ws.db_path.exists():
            raise UserError(f"no warehouse at {ws.db_path}; run 'rbb ingest' and 'rbb compute' first")
        with ws.writer_lock(wait=wait):
            try:
                result = pilot_stage.run(ws, year)
            except RegisterError:
                raise  # worded by _guard
            except (FileNotFoundError, ValueError) as exc:
                raise UserError(str(exc)) from None
    console.print(shown(in_words(result["summary"])), soft_wrap=True)
    for label, key in (
        ("pilot selection", "html"),
        ("shortlist", "csv"),
        ("teams", "teams_csv"),
        ("follow-up", "follow_up_csv"),
    ):
        console.print(f"{label}: {shown(result[key])}", soft_wrap=True)
    if result.get("pilot_pages"):
        console.print(
            f"pilot files: {len(result['pilot_pages'])} in {shown(result['pilot_pages'][0].parent)}", soft_wrap=True
        )
    for problem in [*result["register_problems"], *(f.message_en for f in result["pool"].findings)]:
        err_console.print(f"[bold yellow]rbb: warning:[/] {escape(problem)}", soft_wrap=True)


@pilots.command("add")
@click.option("--org", required=True)
@click.option("--indicator", required=True)
@click.option("--partner", required=True)
@click.option("--start-year", type=int, required=True)
@click.option("--note", default="")
@click.option("--by", default=None, help="Who records it (default: RBB_USER or the login name).")
@click.pass_obj
@logged("pilots add")
def pilots_add(
    ws: Workspace, org: str, indicator: str, partner: str, start_year: int, note: str, by: str | None
) -> None:
    """Record a pilot that is already running in data/pilots_register.csv."""
    from pipeline.pilots import add_pilot

    try:
        entry = add_pilot(ws, org.upper(), indicator, partner.upper(), start_year, note, by=_reviewer(by))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    console.print(
        f"pilot recorded: {shown(entry['pilot_id'])} ({shown(org.upper())} with partner {shown(partner.upper())} "
        f"on {shown(indicator)}), running from {start_year}",
        soft_wrap=True,
    )


@pilots.command("choose")
@click.option("--year", "round_year", type=int, required=True, help="The round (benchmark year) of the shortlist.")
@click.option("--org", required=True)
@click.option("--indicator", required=True)
@click.option("--partner", default=None, help="Learning partner (default: the shortlist's partner).")
@click.option("--note", default="")
@click.option("--by", default=None, help="Who records the board's choice (default: RBB_USER or the login name).")
@click.pass_obj
@logged("pilots choose")
def pilots_choose(
    ws: Workspace, round_year: int, org: str, indicator: str, partner: str | None, note: str, by: str | None
) -> None:
    """The board chooses a pilot of a round (proposed -> chosen)."""
    from pipeline import pilots as pilot_stage

    with ws.writer_lock(wait=False):
        try:
            entry = pilot_stage.choose(ws, round_year, org, indicator, partner, note=note, by=_reviewer(by))
        except ValueError as exc:
            raise UserError(str(exc)) from None
    console.print(
        f"chosen: {shown(entry['pilot_id'])} (partner {shown(entry['partner_org_code'] or '—')}); "
        f"start it with: rbb pilots start {shown(entry['pilot_id'])} --start-year {round_year + 1}",
        soft_wrap=True,
    )


@pilots.command("start")
@click.argument("pilot")
@click.option("--start-year", type=int, required=True)
@click.option("--team", default=None, help="P001:coach;P014:onderzoeker (default: the team proposed in its round).")
@click.option("--note", default="")
@click.option("--by", default=None)
@click.pass_obj
@logged("pilots start")
def pilots_start(ws: Workspace, pilot: str, start_year: int, team: str | None, note: str, by: str | None) -> None:
    """A chosen pilot starts with its team (chosen -> running)."""
    from pipeline import pilots as pilot_stage

    with ws.writer_lock(wait=False):
        try:
            entry = pilot_stage.start(ws, pilot, start_year, team, note=note, by=_reviewer(by))
        except ValueError as exc:
            raise UserError(str(exc)) from None
    console.print(
        f"started: {shown(entry['pilot_id'])} from {start_year} with team {shown(entry['team'])}", soft_wrap=True
    )


@pilots.command("close")
@click.argument("pilot")
@click.option("--outcome", required=True, help="What the pilot brought, in a sentence.")
@click.option("--lessons", default="", help="What other members can learn from it.")
@click.option("--by", default=None)
@click.pass_obj
@logged("pilots close")
def pilots_close(ws: Workspace, pilot: str, outcome: str, lessons: str, by: str | None) -> None:
    """A running pilot is evaluated (running -> evaluated)."""
    from pipeline import pilots as pilot_stage

    with ws.writer_lock(wait=False):
        try:
            entry = pilot_stage.close(ws, pilot, outcome, lessons, by=_reviewer(by))
        except ValueError as exc:
            raise UserError(str(exc)) from None
    console.print(f"evaluated: {shown(entry['pilot_id'])}", soft_wrap=True)


@pilots.command("list")
@click.pass_obj
def pilots_list(ws: Workspace) -> None:
    """The pilots register: every chosen, running and evaluated pilot."""
    from pipeline.pilots import load_register
    from pipeline.pilots.register import STATUS_TEXT

    try:
        register, problems = load_register(ws, strict=False)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if register.empty:
        console.print("the pilots register is empty (rbb pilots choose)")
    for rec in register.to_dict("records"):
        console.print(
            f"{rec['pilot_id']}  {STATUS_TEXT[rec['status']][1]}  partner {rec['partner_org_code'] or '—'}  "
            f"start {rec['start_year'] or '—'}  team {rec['team'] or '—'}",
            soft_wrap=True,
            markup=False,
        )
    for p in problems:
        err_console.print(f"[bold yellow]rbb: warning:[/] {escape(p)}", soft_wrap=True)


@pilots.group("pool")
def pilots_pool() -> None:
    """The pool of researchers and coaches (data/pool.xlsx)."""


@pilots_pool.command("template")
@click.option("--lang", type=click.Choice(["nl", "en"]), default="nl")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.pass_context
def pilots_pool_template(ctx: click.Context, lang: str, output: Path | None) -> None:
    """Write an empty pool workbook with an explanation of every column."""
    from pipeline.pilots.pool import write_template

    ws = ctx.find_object(Workspace)
    target = output or (ws.root / "data" / ("pool_template.xlsx" if lang == "nl" else "pool_template.en.xlsx"))
    try:
        write_template(target, lang)
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror or exc}") from None
    console.print(f"written {shown(target)}", soft_wrap=True)


@pilots_pool.command("check")
@click.option("--lang", type=click.Choice(["nl", "en"]), default="nl")
@click.pass_context
def pilots_pool_check(ctx: click.Context, lang: str) -> None:
    """Validate data/pool.xlsx (or pool.csv): findings at the cell, the people that can be used."""
    from pipeline.pilots.pool import findings_text, load_pool

    ws = ctx.find_object(Workspace)
    pool = load_pool(ws)
    if pool.path is None:
        raise UserError("no pool: put data/pool.xlsx (or data/pool.csv) in the workspace; rbb pilots pool template")
    for line in findings_text(pool.findings, lang):
        console.print(line, soft_wrap=True, markup=False)
    console.print(
        f"{shown(pool.path)}: {len(pool.people)} usable people, {pool.n_errors} errors, "
        f"{len(pool.findings) - pool.n_errors} warnings",
        soft_wrap=True,
    )
    if pool.n_errors:
        ctx.exit(1)


# ------------------------------------------------------------------------------------ annual cycle


def _reviewer(by: str | None) -> str:
    from pipeline.core.runlog import user_name

    return (by or "").strip() or user_name()


def _writable(ws: Workspace):
    from pipeline.core import warehouse

    if not ws.db_path.exists():
        raise UserError(f"no warehouse at {ws.db_path}; run 'rbb ingest' first")
    con = warehouse.connect(ws.db_path)
    warehouse.init_schema(con)
    return con


@main.group(invoke_without_command=True)
@root_option
@click.option("--year", type=int, default=None)
@click.option("--org", default=None, help="Only this organisation.")
@click.option("--all", "show_all", is_flag=True, help="Also the warnings already accepted.")
@click.option(
    "--export",
    "export_to",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the list as XLSX or CSV to fill in (columns beslissing, notitie), then 'rbb review apply'.",
)
@click.option("--history", "show_history", is_flag=True, help="Every decision and sign-off so far.")
@click.pass_context
@_guard
def review(
    ctx: click.Context,
    ws: Workspace,
    wait: bool,
    year: int | None,
    org: str | None,
    show_all: bool,
    export_to: Path | None,
    show_history: bool,
) -> None:
    """Warnings and explanations awaiting the analyst's decision (accept or return)."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = ws
        return
    from pipeline.core import warehouse
    from pipeline.validate import review as rv

    if not ws.db_path.exists():
        raise UserError(f"no warehouse at {ws.db_path}; run 'rbb ingest' first")
    year = year or _default_year(ws)
    with ws.reader_lock(wait=wait):
        con = warehouse.connect(ws.db_path, read_only=True)
        try:
            if show_history:
                h = rv.history(con, year, org)
                t = Table(title=f"Review history {year}")
                for c in ("when", "org", "what", "finding", "by", "note"):
                    t.add_column(c, overflow="fold")
                for r in h.itertuples(index=False):
                    t.add_row(
                        f"{r.at:%Y-%m-%d %H:%M}",
                        shown(r.org_code),
                        shown(r.what),
                        shown(r.finding_id),
                        shown(r.by),
                        shown(r.note or ""),
                    )
                console.print(t)
                return
            df = rv.warnings_frame(con, year, org)
        finally:
            con.close()
    if not show_all:
        df = df[df["status"] != "accepted"]
    if export_to is not None:
        sheet = rv.review_sheet(df)
        from pipeline.report.export import csv_bytes, safe_text_frame

        if export_to.suffix.lower() == ".csv":
            export_to.write_bytes(csv_bytes(sheet))
        else:
            import pandas as pd

            with pd.ExcelWriter(
                export_to,
                engine="xlsxwriter",
                engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False}},
            ) as xw:
                safe_text_frame(sheet).to_excel(xw, sheet_name="beoordeling", index=False)
        console.print(
            f"written {shown(export_to)} ({len(sheet)} warnings); fill in 'beslissing' (accept/return) and 'notitie', then: rbb review apply {shown(export_to.name)}"
        )
        return
    order = {"explained": 0, "returned": 1, "open": 2, "accepted": 3}
    df = df.sort_values(
        ["status", "org_code", "version", "seq"], key=lambda c: c.map(order) if c.name == "status" else c
    )
    t = Table(title=f"Warnings to review {year}" + (f" ({org.upper()})" if org else ""))
    for c in ("finding", "status", "cell", "value", "explanation", "note"):
        t.add_column(c, overflow="fold")
    for r in df.itertuples(index=False):
        t.add_row(
            shown(r.finding_id),
            shown(r.status),
            shown(cell_text(r.cell, "en") or "-"),
            shown(r.value if r.value is not None else "-"),
            shown(r.explanation if isinstance(r.explanation, str) and r.explanation else "-"),
            shown(r.review_note if isinstance(r.review_note, str) else ""),
        )
    console.print(t)
    counts = df["status"].value_counts().to_dict()
    console.print(
        ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing awaits a decision",
        soft_wrap=True,
    )


def _decide(
    ws: Workspace, wait: bool, findings: tuple[str, ...], decision: str, note: str | None, by: str | None
) -> None:
    from pipeline.flow import after_review
    from pipeline.validate.review import ReviewError, decide

    with ws.writer_lock(wait=wait):
        con = _writable(ws)
        try:
            try:
                done = decide(con, list(findings), decision, note, _reviewer(by))
            except ReviewError as exc:
                raise UserError(str(exc)) from None
        finally:
            con.close()
        pages = after_review(ws, [d.submission_id for d in done])
    from pipeline.core import runlog

    runlog.count(decisions=len(done), decision=decision)
    for d in done:
        console.print(f"{shown(d.finding_id)}: {words(d.decision)}")
    console.print(f"{count_text(len(pages), 'feedback page', 'feedback pages', 'en')} updated")


@review.command("accept")
@click.argument("findings", nargs=-1, required=True)
@click.option("--note", default=None, help="Why (required when the warning has no explanation).")
@click.option("--by", default=None, help="Reviewer's name (default: the user name).")
@click.option("--wait", is_flag=True, help="Wait for another rbb process writing to this workspace.")
@click.pass_obj
@_guard
@logged("review accept")
def review_accept(ws: Workspace, findings: tuple[str, ...], note: str | None, by: str | None, wait: bool) -> None:
    """Accept the explanation of one or more warnings (FINDING such as NVWA-2025-v2-1)."""
    _decide(ws, wait, findings, "accepted", note, by)


@review.command("return")
@click.argument("findings", nargs=-1, required=True)
@click.option("--note", required=True, help="What the member should explain or correct (shown on its feedback page).")
@click.option("--by", default=None, help="Reviewer's name (default: the user name).")
@click.option("--wait", is_flag=True, help="Wait for another rbb process writing to this workspace.")
@click.pass_obj
@_guard
@logged("review return")
def review_return(ws: Workspace, findings: tuple[str, ...], note: str, by: str | None, wait: bool) -> None:
    """Return the explanation of one or more warnings to the member, with a note."""
    _decide(ws, wait, findings, "returned", note, by)


@review.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--by", default=None, help="Reviewer's name (default: the user name).")
@click.option("--wait", is_flag=True, help="Wait for another rbb process writing to this workspace.")
@click.pass_obj
@_guard
@logged("review apply")
def review_apply(ws: Workspace, file: Path, by: str | None, wait: bool) -> None:
    """Record every decision of a reviewed list (from 'rbb review --export'); all or nothing."""
    from pipeline.flow import after_review
    from pipeline.validate.review import ReviewError, decide_from_file

    with ws.writer_lock(wait=wait):
        con = _writable(ws)
        try:
            try:
                done = decide_from_file(con, file, _reviewer(by))
            except ReviewError as exc:
                raise UserError(str(exc)) from None
        finally:
            con.close()
        pages = after_review(ws, [d.submission_id for d in done])
    from pipeline.core import runlog

    runlog.count(decisions=len(done))
    runlog.add_inputs([__import__("hashlib").sha256(file.read_bytes()).hexdigest()])
    accepted = sum(d.decision == "accepted" for d in done)
    console.print(
        f"{count_text(len(done), 'decision', 'decisions', 'en')} recorded ({accepted} accepted, "
        f"{len(done) - accepted} returned); {count_text(len(pages), 'feedback page', 'feedback pages', 'en')} updated",
        soft_wrap=True,
    )


@main.command()
@root_option
@click.option("--year", type=int, required=True)
@click.option("--org", "orgs", multiple=True, help="Member to sign off (repeat for more).")
@click.option("--all-resolved", is_flag=True, help="Every member whose findings are all resolved.")
@click.option("--withdraw", is_flag=True, help="Withdraw the sign-off of --org.")
@click.option("--note", default=None)
@click.option("--by", default=None, help="Analyst's name (default: the user name).")
@_guard
@logged("signoff")
def signoff(
    ws: Workspace,
    wait: bool,
    year: int,
    orgs: tuple[str, ...],
    all_resolved: bool,
    withdraw: bool,
    note: str | None,
    by: str | None,
) -> None:
    """Sign off a member's year: its submission in force is complete (no errors, every warning accepted)."""
    from pipeline.metadata.registry import load_organisations
    from pipeline.validate.review import ReviewError, member_states, sign_off

    if not orgs and not all_resolved:
        raise UserError("name a member with --org CODE, or use --all-resolved")
    if withdraw and (all_resolved or not orgs):
        raise UserError("--withdraw needs --org CODE")
    members = {o.org_code for o in load_organisations(ws.root) if o.is_member(year)}
    unknown = sorted({o.upper() for o in orgs} - members)
    if unknown:
        raise UserError(f"unknown organisation code(s) for {year}: {', '.join(unknown)}")
    with ws.writer_lock(wait=wait):
        con = _writable(ws)
        try:
            codes = sorted({o.upper() for o in orgs})
            if all_resolved:
                states = member_states(con, sorted(members), year)
                codes = sorted(set(codes) | set(states.loc[states["state"] == "resolved", "org_code"]))
            done = []
            try:
                for code in codes:
                    done.append(sign_off(con, code, year, _reviewer(by), note, withdraw=withdraw))
            except ReviewError as exc:
                for d in done:
                    console.print(f"{d['org_code']} {year} v{d['version']}: {words(d['action'])}")
                raise UserError(str(exc)) from None
        finally:
            con.close()
    from pipeline.core import runlog

    runlog.count(**{("withdrawn" if withdraw else "signed_off"): len(done)})
    for d in done:
        console.print(f"{d['org_code']} {year} v{d['version']}: {words(d['action'])}")
    if not done:
        console.print("nothing to sign off (no member is resolved; see 'rbb status')")


@main.command()
@root_option
@click.option("--year", type=int, default=None, help="The year to release.")
@click.option("--note", default=None, help="What this release is (e.g. 'correctie SVB').")
@click.option("--by", default=None, help="Analyst's name (default: the user name).")
@click.option("--list", "list_only", is_flag=True, help="List the releases.")
@click.option(
    "--verify", "verify_id", default=None, metavar="RELEASE", help="Check a release's files against its manifest."
)
@_guard
@logged("release")
def release(
    ws: Workspace,
    wait: bool,
    year: int | None,
    note: str | None,
    by: str | None,
    list_only: bool,
    verify_id: str | None,
) -> None:
    """Freeze the year's signed-off results and reports under the next release id (2025.1, 2025.2, ...)."""
    from pipeline.core import warehouse
    from pipeline.cycle import releases

    if not ws.db_path.exists():
        raise UserError(f"no warehouse at {ws.db_path}; run 'rbb ingest' first")
    if verify_id:
        try:
            problems = releases.verify(ws, verify_id)
        except releases.ReleaseError as exc:
            raise UserError(str(exc)) from None
        if problems:
            raise UserError(f"release {verify_id} is not intact: " + "; ".join(problems[:10]))
        console.print(f"release {shown(verify_id)}: every file matches its manifest")
        return
    if list_only:
        con = warehouse.connect(ws.db_path, read_only=True)
        try:
            df = releases.list_releases(con, year)
        finally:
            con.close()
        t = Table(title="Releases")
        for c in ("release", "year", "made", "by", "members", "note"):
            t.add_column(c, overflow="fold")
        for r in df.itertuples(index=False):
            t.add_row(
                r.release_id,
                str(r.year),
                f"{r.created_at:%Y-%m-%d %H:%M}",
                shown(r.created_by),
                str(r.n_members),
                shown(r.note or ""),
            )
        console.print(t)
        return
    if year is None:
        raise UserError("--year is required (the year to release)")
    with ws.writer_lock(wait=wait):
        sweep_partial_files(ws.reports)
        try:
            rel = releases.make_release(ws, year, _reviewer(by), note)
        except releases.ReleaseError as exc:
            raise UserError(str(exc)) from None
    from pipeline.core import runlog

    runlog.count(release=rel.release_id, members=rel.n_members, files=len(rel.manifest["files"]))
    console.print(
        f"release {rel.release_id}: {count_text(rel.n_members, 'member', 'members', 'en')}, "
        f"{count_text(len(rel.manifest['files']), 'file', 'files', 'en')} frozen in {shown(rel.folder)}",
        soft_wrap=True,
    )
    for item in rel.manifest["not_included"]:
        console.print(f"  not in this release: {item['org_code']} ({words(item['state'])})")


@main.command()
@click.argument("before")
@click.argument("after", required=False)
@root_option
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder (default: reports/<year>/releases/).",
)
@_guard
@logged("diff")
def diff(ws: Workspace, wait: bool, before: str, after: str | None, output: Path | None) -> None:
    """What changed between two releases (or a release and the current results): value, rank, class, significance."""
    from pipeline.cycle import releases

    with ws.reader_lock(wait=wait):
        try:
            table, summary, paths = releases.write_diff(ws, before, after, output)
        except (releases.ReleaseError, ValueError) as exc:
            raise UserError(str(exc)) from None
    changed = ", ".join(
        f"{s['org_code']} {s['before'] or '-'} → {s['after'] or '-'}" for s in summary["submissions_changed"]
    )
    console.print(
        f"{before} → {summary['after']}: {summary['rows']} member × indicator rows changed "
        f"({summary['values_changed']} values); submissions changed: {changed or 'none'}"
        + ("; methods changed" if summary["methods_changed"] else ""),
        soft_wrap=True,
    )
    t = Table(title=f"Changed values {before} → {summary['after']}")
    for c in ("org", "indicator", "before", "after", "rank", "class", "cause"):
        t.add_column(c, overflow="fold")
    for r in table[table["changed"].str.contains("value")].head(40).itertuples(index=False):
        t.add_row(
            shown(r.org_code),
            shown(r.indicator_code),
            f"{r.value_before:.4g}" if r.value_before == r.value_before and r.value_before is not None else "-",
            f"{r.value_after:.4g}" if r.value_after == r.value_after and r.value_after is not None else "-",
            f"{_n(r.rank_before)} → {_n(r.rank_after)}",
            f"{_n(r.class_before)} → {_n(r.class_after)}",
            shown(r.cause),
        )
    console.print(t)
    for p in paths:
        console.print(f"written {shown(p)}")


def _short(text: str, n: int = 160) -> str:
    """The English part of a bilingual message (after ' / '); in a terminal at most ``n`` characters (piped to a
    file or a log it is printed whole)."""
    part = text.split(" / ")[-1] if " / " in text else text
    return part if len(part) <= n or not console.is_terminal else part[: n - 1] + "…"


def _n(v) -> str:
    return "-" if v is None or v != v else str(int(v))


@main.command()
@root_option
@click.option("--limit", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--command", "command", default=None, help="Only runs of this command.")
@_guard
def log(ws: Workspace, wait: bool, limit: int, command: str | None) -> None:
    """The run log: every command that wrote to this workspace, newest first."""
    import json

    from pipeline.core import runlog, warehouse

    if not ws.db_path.exists():
        raise UserError(f"no warehouse at {ws.db_path}; nothing has run here yet")
    with ws.reader_lock(wait=wait):
        con = warehouse.connect(ws.db_path, read_only=True)
        try:
            rows = runlog.runs(con, limit, command)
        finally:
            con.close()
    pending = runlog.read_pending(ws)
    t = Table(title="Runs")
    for c in ("run", "started", "command", "arguments", "outcome", "s", "counts", "by"):
        t.add_column(c, overflow="fold")
    for r in rows:
        args = json.loads(r["arguments"] or "{}")
        counts = json.loads(r["counts"] or "{}")
        style = {"ok": "green", "refused": "yellow"}.get(r["outcome"], "red")
        t.add_row(
            str(r["run_id"]),
            f"{r['started_at']:%Y-%m-%d %H:%M:%S}",
            shown(r["command"]),
            shown(" ".join(f"{k}={v}" for k, v in args.items())),
            f"[{style}]{r['outcome']}[/]" + (f": {shown(_short(r['message']))}" if r["message"] else ""),
            f"{r['duration_s']:.1f}",
            shown(", ".join(f"{in_words(k)} {in_words(v) if isinstance(v, str) else v}" for k, v in counts.items())),
            shown(r["user_name"]),
        )
    console.print(t)
    if pending:
        console.print(
            f"{count_text(len(pending), 'run waits', 'runs wait', 'en')} in {shown(runlog.pending_path(ws))} "
            "(written by the next command)",
            soft_wrap=True,
        )


# ---------------------------------------------------------------------------------------- package


@main.command()
@root_option
@click.option("--year", type=int, required=True, help="Reporting year of the packages.")
@click.option("--release", "release", default=None, help="Package this release's frozen reports and submissions.")
@click.option("--org", default=None, help="Only this member's package.")
@click.option(
    "--lang",
    "langs",
    type=click.Choice(["nl", "en"]),
    multiple=True,
    default=("nl", "en"),
    show_default=True,
    help="Languages of the reports and feedback pages (repeat for both).",
)
@_guard
@logged("package")
def package(ws: Workspace, wait: bool, year: int, release: str | None, org: str | None, langs: tuple[str, ...]) -> None:
    """Write one zip archive per member: its reports, feedback pages, own data and a cover note with checksums."""
    from pipeline.cycle.package import PackageError, make_packages

    if not ws.db_path.exists():
        raise UserError(f"no warehouse at {ws.db_path}; run 'rbb ingest', 'rbb compute' and 'rbb report' first")
    try:
        with ws.reader_lock(wait=wait):
            if not release:
                _require_year(ws, year)
            paths = make_packages(ws, year, release=release, langs=langs, org=org)
    except PackageError as exc:
        raise UserError(str(exc)) from None
    from pipeline.core import runlog

    runlog.count(packages=len(paths))
    t = Table(title=f"Packages {year} ({shown(release) if release else 'current results, not a release'})")
    for c in ("org", "files", "data", "missing"):
        t.add_column(c, overflow="fold")
    for p in paths:
        style = "yellow" if p.missing else "green"
        missing = "; ".join(en for _, en in p.missing) or "-"
        t.add_row(shown(p.org_code), str(p.n_files), "yes" if p.has_data else "no", f"[{style}]{shown(missing)}[/]")
    console.print(t)
    if paths:
        console.print(
            f"{count_text(len(paths), 'package', 'packages', 'en')} written under {shown(paths[0].path.parent)}"
        )


# ------------------------------------------------------------------------------------------- docs


@main.command()
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("docs"))
def docs(output: Path) -> None:
    """Regenerate the generated documentation (data dictionary, indicator catalogue)."""
    from pipeline.report.docs import write_docs

    for p in write_docs(output):
        console.print(f"written {shown(p)}")


# ------------------------------------------------------------------------------------------- demo


@main.command()
@root_option
@click.option("--seed", type=int, default=2025, show_default=True)
@click.option("--years", default="2021-2025", show_default=True, help="Range of reporting years, e.g. 2021-2025.")
@click.option(
    "--scale",
    type=click.IntRange(min=1),
    default=None,
    help="Also generate case microdata: this many cases in the last year, over all organisations.",
)
@click.option("--case-format", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True)
@_guard
@logged("demo")
def demo(ws: Workspace, wait: bool, seed: int, years: str, scale: int | None, case_format: str) -> None:
    """Generate realistic synthetic submissions for all members and run the whole pipeline."""
    from pipeline.demo import run_demo

    try:
        lo, _, hi = years.partition("-")
        year_list = list(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise UserError(f"--years must look like 2021-2025, not {years!r}") from None
    if not year_list or len(year_list) > 30:
        raise UserError("--years must span 1 to 30 years")
    ws.ensure()
    with ws.writer_lock(wait=wait):
        run_demo(ws, seed=seed, years=year_list, console=console, scale=scale, case_format=case_format)


# ----------------------------------------------------------------------------------------- examples

#: The example each command's help ends with (shown after the options).
EXAMPLES: dict[str, list[str]] = {
    "": ["rbb demo --root /tmp/rbb-demo", "rbb ingest && rbb compute && rbb report --year 2025"],
    "template": ["rbb template --year 2025 --org DUO --root . -o DUO_2025.xlsx"],
    "ingest": ["rbb ingest --year 2025"],
    "import": ["rbb import export_2025.csv --mapping docs/mappings/canada-2020-21.yaml --year 2025"],
    "check": ["rbb check --root . data/raw/2025/DUO/DUO_2025.xlsx --lang en"],
    "status": ["rbb status --year 2025 --history", "rbb status --year 2025 --on 2026-04-30"],
    "compute": ["rbb compute"],
    "export": ["rbb export --year 2025 --format xlsx -o exports/2025", "rbb export --year 2025 --release 2025.1"],
    "report": ["rbb report --year 2025 --lang en", "rbb report --year 2025 --org DUO"],
    "dea": [
        "rbb dea units.csv --inputs fte,kosten --outputs producten --rts vrs --bootstrap 500 --seed 1 -o scores.csv"
    ],
    "pilots": ["rbb pilots --year 2025"],
    "package": ["rbb package --year 2025", "rbb package --year 2025 --release 2025.1 --org DUO"],
    "pilots add": ["rbb pilots add --org CJIB --indicator tijdig_beslist_pct --partner DUO --start-year 2025"],
    "pilots choose": ['rbb pilots choose --year 2025 --org CJIB --indicator tijdig_beslist_pct --note "DB 12 maart"'],
    "pilots start": [
        "rbb pilots start 2025-CJIB-tijdig_beslist_pct --start-year 2026",
        'rbb pilots start 2025-CJIB-tijdig_beslist_pct --start-year 2026 --team "P004:coach;P017:onderzoeker"',
    ],
    "pilots close": [
        'rbb pilots close 2025-CJIB-tijdig_beslist_pct --outcome "Doorlooptijd bezwaar 20% korter" '
        '--lessons "Dagstart met het team werkt"'
    ],
    "pilots list": ["rbb pilots list"],
    "pilots pool": ["rbb pilots pool check"],
    "pilots pool template": ["rbb pilots pool template --output data/pool.xlsx"],
    "pilots pool check": ["rbb pilots pool check --lang en"],
    "docs": ["rbb docs -o docs"],
    "review": ["rbb review --year 2025", "rbb review --year 2025 --export review_2025.xlsx"],
    "review accept": ["rbb review accept DICTU-2025-v1-1 DICTU-2025-v1-2"],
    "review return": ['rbb review return NVWA-2025-v2-1 --note "Waardoor stegen de kosten met 60%?"'],
    "review apply": ["rbb review apply review_2025.xlsx"],
    "signoff": ["rbb signoff --year 2025 --all-resolved", "rbb signoff --year 2025 --org CAK"],
    "release": ["rbb release --year 2025", "rbb release --list", "rbb release --verify 2025.1"],
    "diff": ["rbb diff 2025.1 2025.2"],
    "log": ["rbb log --limit 20"],
    "demo": ["rbb demo --root /tmp/rbb-demo --years 2023-2025"],
}


def _add_examples(group: click.Group, prefix: str = "") -> None:
    group.epilog = "\b\nExample:\n" + "\n".join(f"  {line}" for line in EXAMPLES[prefix.strip()])
    for name, cmd in group.commands.items():
        key = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            _add_examples(cmd, f"{key} ")
        else:
            cmd.epilog = "\b\nExample:\n" + "\n".join(f"  {line}" for line in EXAMPLES[key])


_add_examples(main)


if __name__ == "__main__":  # pragma: no cover
    main()
