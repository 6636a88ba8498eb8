"""The report pages of one year: page assembly and the staged writing of the set under ``reports/<year>/``.

Output under ``reports/<year>/``:

* ``index.html``: overview for analysts and programme management (names every member). It loads plotly.js
  from ``assets/plotly.min.js``, written once per year; the XLSX downloads of its tables are files in
  ``downloads/index/`` (the CSV downloads are inline).
* ``organisations/<CODE>.html``: one report per member of the register that year, confidential to that
  organisation. Other members appear only as unlabeled points; tables and downloads hold only the organisation's
  own figures and published benchmark statistics. A member without an accepted submission that year (nothing
  received, or every delivery rejected) gets a report without own values: its status and what to do (by when,
  from the deadline calendar of ``data/settings.yaml``), the benchmark of the other members and its own values of
  earlier years. Each file is self-contained (plotly.js inline) so it can be
  sent as one e-mail attachment; with ``shared_assets=True`` it loads ``../assets/plotly.min.js`` instead.
* ``organisations-open/<CODE>.html`` (``open_mode=True``): the same report naming every member, for analysts.
* ``validation/<CODE>_v<version>.html``: the validation feedback pages, re-rendered.

English pages get an ``.en`` suffix (``index.en.html``). Output depends only on the warehouse (and the
deadline calendar): fixed chart ids,
sorted inputs and no timestamps, so the same warehouse gives byte-identical files. The set is written to a
staging folder and swapped in whole (:func:`build_reports`); a failed write leaves the previous set unchanged and
raises :class:`ReportWriteError`.
"""

from __future__ import annotations

import base64
import ctypes
import errno
import gzip
import os
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
from markupsafe import Markup

from pipeline.compute.freshness import ensure_fresh, matching_release
from pipeline.core import warehouse
from pipeline.core.parallel import forked_start
from pipeline.core.settings import Deadlines, load_settings
from pipeline.core.workspace import Workspace, atomic_write_bytes, atomic_write_text
from pipeline.report import comparators, glance, sections, whatif
from pipeline.report.data import MissingTables, ReportData, latest_year, load_report_data
from pipeline.report.disclosure import MIN_MEMBERS, MemberView
from pipeline.report.downloads import download_folder, externalise
from pipeline.report.feedback import feedback_inputs, write_feedback_page
from pipeline.report.pdf import chromium_path, write_pdfs
from pipeline.report.render import render
from pipeline.report.text import TEXT, date_text

# ---------------------------------------------------------------------------------------------- pages


def release_text(release: str | None, lang: str) -> str | None:
    """The stamp of a report that belongs to a release (None for results that are not a release)."""
    if not release:
        return None
    return f"Release {release} (vastgesteld)" if lang == "nl" else f"Release {release} (final)"


def render_overview(
    data: ReportData, reports: Path, lang: str, plotly_script: dict[str, Any], release: str | None = None
) -> str:
    """The analyst overview of one year (names every member)."""
    t = TEXT[lang]
    themes = sections.overview_themes(data, lang)
    kpis = sections.overview_kpis(data, lang)
    return render(
        "overview.html",
        lang=lang,
        t=t,
        year=data.year,
        title=t["overview_title"].format(year=data.year),
        subtitle=t["overview_subtitle"],
        confidential=t["overview_badge"],
        plotly=plotly_script,
        kpis=kpis,
        data_as_of=sections.data_as_of(data, lang),
        completeness=sections.completeness_block(data, reports, lang),
        heatmap=sections.heatmap_block(data, lang),
        clusters=sections.clusters_block(data, lang),
        composite=sections.composite_chart(data, lang, sections.composite_overview(data, lang)),
        dea=sections.dea_chart(data, lang, sections.dea_overview(data, lang)),
        review=sections.composite_review(data, lang),
        weights=whatif.overview_whatif(data, lang),
        weights_js=whatif.OVERVIEW_JS,
        themes=themes,
        methodology=sections.methodology(data, lang),
        release_text=release_text(release, lang),
    )


def render_organisation(
    data: ReportData,
    org_code: str,
    lang: str,
    plotly_script: dict[str, Any],
    open_mode: bool = False,
    release: str | None = None,
    deadlines: Deadlines | None = None,
) -> str:
    """One organisation's report; it sees the warehouse only through its disclosure.MemberView.

    A member without an accepted submission this year gets the same report with its own rows of this year
    empty, led by its status and what to do (``deadlines``: the year's calendar, for "by when")."""
    return _render_member(MemberView(data, org_code, open_mode=open_mode), lang, plotly_script, release, deadlines)


def _render_member(
    view: MemberView,
    lang: str,
    plotly_script: dict[str, Any],
    release: str | None = None,
    deadlines: Deadlines | None = None,
) -> str:
    t = TEXT[lang]
    org = view.org
    themes = sections.member_themes(view, lang)
    composite = sections.composite_block(view, lang)
    sw = sections.strengths(view, lang)
    kpis = sections.member_kpis(view, composite, sw, lang)
    badge = t["open_badge"] if view.open_mode else t["org_badge"].format(name=org["name"])
    return render(
        "organisation.html",
        lang=lang,
        t=t,
        year=view.year,
        org=org,
        title=t["org_title"].format(year=view.year, name=org["name"]),
        subtitle=t["org_subtitle"],
        confidential=badge,
        plotly=plotly_script,
        kpis=kpis,
        glance=glance.at_a_glance(view, view.composite(), lang),
        glossary=glance.glossary(lang),
        glossary_title=glance.w("glossary", lang),
        data_as_of=date_text(view.data_as_of(), lang),
        reading=t["reading_text"].format(name=org["name"], k=MIN_MEMBERS),
        standing=sections.standing(view, lang, deadlines),
        earlier=sections.earlier_years(view, lang),
        profile=sections.profile_block(view, lang),
        sw=sw,
        sw_empty=None if view.has_data else t["no_data_sw"].format(year=view.year),
        composite=composite,
        comparators=comparators.comparators_block(view, lang),
        whatif=whatif.member_whatif(view, lang),
        whatif_js=whatif.MEMBER_JS,
        themes=themes,
        explanations=sections.explanations(view, lang),
        methodology=sections.methodology(view, lang),
        provenance=sections.provenance(view, lang),
        release_text=release_text(release, lang),
    )


# ----------------------------------------------------------------------------------------------- I/O


#: The plotly.js bundle of the reports: plotly.js with only the trace types they draw (never a CDN), vendored in
#: the package with its licence and built by ``scripts/build_plotly_bundle.sh`` from the plotly.js version the
#: installed python plotly embeds (docs/reports.md).
PLOTLY_BUNDLE = Path(__file__).with_name("static") / "plotly-rbb.min.js"
#: The trace types in :data:`PLOTLY_BUNDLE` (tests/report/test_plotly_bundle.py checks every figure against it).
PLOTLY_TRACES = ("scatter", "bar", "heatmap")


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The reports' plotly.js: the partial bundle :data:`PLOTLY_BUNDLE`."""
    return PLOTLY_BUNDLE.read_text("utf-8")


ASSET = "assets/plotly.min.js"


def ensure_plotly_asset(out_dir: Path) -> Path:
    """``<out_dir>/assets/plotly.min.js`` (the year's shared plotly.js), written when missing or outdated."""
    asset = out_dir / ASSET
    if not asset.exists() or asset.read_text("utf-8") != plotly_js():
        atomic_write_text(asset, plotly_js())
    return asset


#: How a self-contained page carries plotly.js: the bundle gzip-compressed in base64 (0.54 MB instead of 1.18 MB),
#: unpacked by the browser's own ``DecompressionStream`` and run as an inline script; ``window.rbbPlotly`` is the
#: promise the charts wait for (templates/base.html). Nothing is fetched: the page stays one file that works
#: offline. The bundle's licence header stays in front of it, readable.
_LOADER = """window.rbbPlotly = (function (packed) {
  if (window.Plotly) { return Promise.resolve(window.Plotly); }
  if (!("DecompressionStream" in window)) { return Promise.reject(new Error("DecompressionStream unavailable")); }
  var raw = atob(packed), bytes = new Uint8Array(raw.length);
  for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
  var text = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(text).text().then(function (source) {
    var script = document.createElement("script");
    script.text = source;
    document.head.appendChild(script);
    return window.Plotly;
  });
})("PACKED");"""


def plotly_header() -> str:
    """The leading comment of the bundle (plotly.js version, trace types, copyright and licence)."""
    js = plotly_js()
    return js[: js.index("*/") + 2]


@lru_cache(maxsize=1)
def plotly_packed() -> str:
    """The bundle gzip-compressed (no time stamp: the same bytes every run) in base64."""
    return base64.b64encode(gzip.compress(plotly_js().encode("utf-8"), 9, mtime=0)).decode("ascii")


@lru_cache(maxsize=1)
def plotly_inline() -> str:
    """The inline script of a self-contained page: the bundle's header and the loader of the packed bundle."""
    return plotly_header() + "\n" + _LOADER.replace("PACKED", plotly_packed())


def _inline_script() -> dict[str, Any]:
    return {"inline": Markup(plotly_inline()), "src": None}


def _suffix(lang: str) -> str:
    return "" if lang == "nl" else f".{lang}"


class ReportWriteError(RuntimeError):
    """The reports of a year could not be written (disk full, no permission, ...); the previous set is unchanged.

    ``message_nl`` and ``message_en`` are the messages for the user; ``str()`` gives both.
    """

    def __init__(self, year: int, out_dir: Path, exc: OSError) -> None:
        code = exc.errno
        if code in (errno.ENOSPC, errno.EDQUOT):
            nl, en = "de schijf is vol", "the disk is full"
        elif code == errno.EFBIG:
            nl, en = "een bestand is groter dan toegestaan", "a file is larger than allowed"
        elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
            nl, en = "geen schrijfrechten", "no permission to write"
        else:
            nl = en = exc.strerror or type(exc).__name__
        where = f" ({exc.filename})" if exc.filename else ""
        self.year, self.out_dir, self.errno = year, out_dir, code
        self.message_nl = (
            f"Rapporten {year} niet geschreven: {nl}{where}. De vorige rapporten in {out_dir} zijn "
            f"ongewijzigd. Maak ruimte vrij of herstel de oorzaak en probeer het opnieuw."
        )
        self.message_en = (
            f"Reports {year} not written: {en}{where}. The previous reports in {out_dir} are "
            f"unchanged. Free some space or fix the cause and try again."
        )
        super().__init__(f"{self.message_nl} / {self.message_en}")


STAGING = ".{year}.tmp-{pid}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_staging(reports: Path, year: int) -> None:
    """Staging folders of an earlier build of this year whose process is gone (killed half-way)."""
    if not reports.exists():
        return
    for p in reports.glob(f".{year}.tmp-*"):
        pid = p.name.rsplit("-", 1)[-1]
        if p.is_dir() and (not pid.isdigit() or not _pid_alive(int(pid)) or int(pid) == os.getpid()):
            shutil.rmtree(p, ignore_errors=True)


def _fill_from(old: Path, new: Path, skip: str | None = None) -> None:
    """Give the staged year folder every file of the current one it does not replace (hard links: no space),
    except those under the folder ``skip`` (relative to the year folder) and the PDFs of pages it replaces."""
    if not old.exists():
        return
    replaced = {p.relative_to(new) for p in new.rglob("*.html")}
    for src in sorted(old.rglob("*")):
        if src.is_dir() or (src.name.startswith(".") and ".tmp-" in src.name):
            continue
        if skip and src.relative_to(old).as_posix().startswith(skip.rstrip("/") + "/"):
            continue
        dst = new / src.relative_to(old)
        if dst.exists() or (src.suffix == ".pdf" and src.relative_to(old).with_suffix(".html") in replaced):
            continue  # replaced, or the print of a page that was replaced (it would no longer match)
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise
            shutil.copy2(src, dst)


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two folders (Linux renameat2 RENAME_EXCHANGE); False where that is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd = -100
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0


def _swap_in(staged: Path, out_dir: Path) -> Path | None:
    """Put the staged year folder in place of ``out_dir``; returns the folder now holding the old set."""
    if not out_dir.exists():
        os.rename(staged, out_dir)
        return None
    if _exchange(staged, out_dir):
        return staged
    old = staged.with_name(staged.name + "-old")
    os.rename(out_dir, old)
    try:
        os.rename(staged, out_dir)
    except OSError:
        os.rename(old, out_dir)
        raise
    return old


def build_reports(
    ws: Workspace,
    year: int | None = None,
    org: str | None = None,
    lang: str = "nl",
    open_mode: bool = False,
    shared_assets: bool = False,
    release: str | None = None,
    pdf: bool = False,
) -> list[Path]:
    """Write the reports of one year into ``reports/<year>/`` and return the files written.

    The new files are written to a staging folder next to it (``reports/.<year>.tmp-<pid>/``), completed with
    hard links to the current files they do not replace, and swapped in as a whole. On any error (a full disk
    among them) the previous reports stay complete and unchanged, nothing temporary is left, and an
    ``OSError`` becomes a :class:`ReportWriteError` with a Dutch and English message.

    Args:
        ws: the workspace; the warehouse is opened read-only.
        year: reporting year (default: the latest year in the warehouse).
        org: only this organisation's report (the overview is still written); any member of the register that
            year, with or without accepted data. A code that is not a member raises ``ValueError``.
        lang: "nl" (default) or "en".
        open_mode: name every member in the organisation reports (analysts only); written to
            ``organisations-open/`` so they are never mistaken for the confidential member reports.
        shared_assets: organisation reports load ``../assets/plotly.min.js`` instead of carrying plotly.js inline.
        release: the release id the reports belong to (``rbb release``): stamped on every page.
        pdf: also print every page written to ``<name>.pdf`` beside it (A4, headless Chromium, :mod:`.pdf`);
            raises :class:`pipeline.report.pdf.ChromiumMissing` before writing anything when there is no Chromium.
    """
    if pdf:
        chromium_path()
    if lang not in TEXT:
        raise ValueError(f"unsupported language {lang!r}; use 'nl' or 'en'")
    con = warehouse.connect(ws.db_path, read_only=True)
    try:
        year = year or latest_year(con)
        if year is None:
            raise MissingTables("the warehouse holds no submissions yet")
        ensure_fresh(con, ws)  # never a report whose values come from other submissions than it names
        release = release or matching_release(con, year)  # the current results may be those of a release
        data = load_report_data(con, year)
        codes = data.members
        if org is not None:
            org = org.upper()
            if org not in data.orgs:
                raise ValueError(f"unknown organisation code {org!r}: not in the register")
            if org not in codes:
                raise ValueError(f"organisation {org!r} is not a member in {year}")
            codes = [org]
        deadlines = load_settings(ws.root).deadlines(year)
        out_dir = ws.reports / str(year)
        _remove_stale_staging(ws.reports, year)
        stage_root = ws.reports / STAGING.format(year=year, pid=os.getpid())
        stage = stage_root / str(year)
        old_set: Path | None = None
        try:
            written = _write_set(
                con,
                data,
                ws.reports,
                out_dir,
                stage_root,
                stage,
                codes,
                org,
                lang,
                open_mode,
                shared_assets,
                release,
                deadlines,
            )
            # the overview's downloads of this language are all new: none of the current set is carried over
            _fill_from(out_dir, stage, skip=download_folder(f"index{_suffix(lang)}.html"))
            if pdf:  # printed from the complete staged set, so the PDFs are swapped in with their pages
                pages = [stage / p.relative_to(out_dir) for p in written if p.suffix == ".html"]
                written += [out_dir / p.relative_to(stage) for p in write_pdfs(pages)]
            old_set = _swap_in(stage, out_dir)
        except OSError as exc:
            raise ReportWriteError(year, out_dir, exc) from exc
        finally:
            shutil.rmtree(stage_root, ignore_errors=True)
            if old_set is not None:
                shutil.rmtree(old_set, ignore_errors=True)
    finally:
        con.close()
    return written


def _write_set(
    con: duckdb.DuckDBPyConnection,
    data: ReportData,
    reports: Path,
    out_dir: Path,
    stage_root: Path,
    stage: Path,
    codes: list[str],
    org: str | None,
    lang: str,
    open_mode: bool,
    shared_assets: bool,
    release: str | None = None,
    deadlines: Deadlines | None = None,
) -> list[Path]:
    """Render the year's files into ``stage``; returns their final paths under ``out_dir``."""
    suffix = _suffix(lang)
    stage.mkdir(parents=True, exist_ok=True)
    asset = out_dir / ASSET
    written = [asset]
    if not asset.exists() or asset.read_text("utf-8") != plotly_js():
        atomic_write_text(stage / ASSET, plotly_js())
    folder = "organisations-open" if open_mode else "organisations"
    script = {"inline": None, "src": f"../{ASSET}"} if shared_assets else _inline_script()
    ids = [s["submission_id"] for s in data.submissions if org is None or s["org_code"] == org]
    feedback = [feedback_inputs(con, sid) for sid in ids]
    con.close()  # DuckDB's threads end here: the pages below are rendered in forked processes

    def one_page(job: tuple[str, Any]) -> Path:
        kind, x = job
        if kind == "member":
            name = f"{folder}/{x}{suffix}.html"
            atomic_write_text(
                stage / name,
                render_organisation(data, x, lang, script, open_mode=open_mode, release=release, deadlines=deadlines),
            )
            return out_dir / name
        return out_dir / write_feedback_page(stage_root, x, lang).relative_to(stage)

    # every page is a pure function of the data read above: rendered one per core (the same files), the
    # overview in this process meanwhile
    jobs = [("member", c) for c in codes] + [("feedback", f) for f in feedback]
    with forked_start(one_page, jobs) as pages:
        page = f"index{suffix}.html"
        html, files = externalise(
            render_overview(data, reports, lang, {"inline": None, "src": ASSET}, release), download_folder(page)
        )
        atomic_write_text(stage / page, html)
        for rel, content in files.items():
            atomic_write_bytes(stage / rel, content)
        written.append(out_dir / page)
        written += pages()
    return written
