"""``rbb demo``: synthetic submissions for all members over several years, then the whole pipeline."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

from rich.console import Console

from pipeline import compute, pilots
from pipeline.core import runlog, warehouse
from pipeline.core.settings import Deadlines, write_calendar
from pipeline.core.workspace import Workspace
from pipeline.flow import intake
from pipeline.metadata.registry import load_organisations
from pipeline.terminal import print_status


def shown_path(path: Path, ws: Workspace) -> str:
    try:
        return str(Path(path).relative_to(ws.root))
    except ValueError:
        return str(path)


#: when each round of the last year happens (month, day of year Y+1): deliveries, review, sign-off, release
ROUND_DATES = {1: (3, 1), 2: (4, 2), 3: (4, 20), 4: (9, 1)}
RELEASE_DATES = {1: (6, 15), 2: (9, 15)}


def _received_time(year: int, order: int, round_: int = 1) -> float:
    """Deliveries for year Y arrive from 1 March Y+1, a few minutes apart, in their planted order; the later
    rounds of the last year in April (corrections, explanations) and September (a late correction)."""
    month, day = ROUND_DATES[round_]
    base = dt.datetime(year + 1, month, day, 9, 0, tzinfo=dt.UTC)
    return (base + dt.timedelta(minutes=7 * order)).timestamp()


def _at(year: int, month_day: tuple[int, int], hour: int = 16) -> dt.datetime:
    return dt.datetime(year + 1, month_day[0], month_day[1], hour, 0)


def _write_one(args: tuple) -> None:
    raw_root, seed, d = args
    import numpy as np

    from pipeline.demo.data import delivery_sheets, removed_values, write_csv_folder
    from pipeline.ingest.template import write_workbook

    folder = Path(raw_root) / str(d.year) / d.org_code
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / d.name
    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    if d.fmt == "xlsx":
        # made from the template of its version (an older one for some deliveries: read through its column map)
        write_workbook(
            target,
            d.year,
            d.org_code,
            data=d.sheets,
            sheets=list(d.sheets),
            template_version=d.template_version,
            removed=removed_values(d),
        )
    else:
        style = getattr(d, "csv_style", None) or np.random.default_rng([seed, d.received_order])
        write_csv_folder(target, delivery_sheets(d), d.encoding, style)
    stamp = _received_time(d.year, d.received_order, getattr(d, "round", 1))
    for p in [*(sorted(target.iterdir()) if target.is_dir() else []), target]:
        os.utime(p, (stamp, stamp))


def _exported(deliveries: list):
    """The delivery that arrives as a system export: the export member's last one, if it has no planted fault."""
    from pipeline.demo.exports import EXPORT_ORG

    last = max((d.year for d in deliveries), default=None)
    return next((d for d in deliveries if d.org_code == EXPORT_ORG and d.year == last and d.fault is None), None)


def import_exports(ws: Workspace) -> list:
    """``rbb import`` of every demo system export in ``data/exports/`` (its year is in its name)."""
    from pipeline.demo.exports import mapping_path
    from pipeline.ingest.imports import import_export
    from pipeline.metadata.registry import registry

    results = []
    for path in sorted((ws.root / "data" / "exports").glob("*_system_export_*.csv")):
        year = int(path.stem.rsplit("_", 1)[1])
        result = import_export(ws, path, mapping_path(), year, registry(), load_organisations(ws.root))
        stamp = path.stat().st_mtime  # the delivery arrives when the export was made (as every demo delivery)
        for w in result.written:
            for p in [*sorted(w.folder.iterdir()), w.folder]:
                os.utime(p, (stamp, stamp))
        results.append(result)
    return results


def write_deliveries(
    ws: Workspace,
    seed: int,
    years: list[int],
    workers: int = 2,
    system_export: bool = False,
    deliveries: list | None = None,
) -> list:
    """Generate the demo deliveries of round 1 (or take ``deliveries``) and write them as members send them
    (workbooks and CSV folders); with ``system_export`` the export member's last delivery is written as a system
    export to ``data/exports/`` instead (:func:`import_exports` turns it into a delivery)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from pipeline.demo.data import generate

    if deliveries is None:
        deliveries = generate(seed=seed, years=years, orgs=load_organisations(ws.root))
    exported = _exported(deliveries) if system_export else None
    if exported is not None:
        # this member's last delivery arrives as a system export, turned into a delivery by rbb import
        from pipeline.demo.exports import write_system_export

        names = {o.org_code: o.name for o in load_organisations(ws.root)}
        export = write_system_export(ws.root / "data" / "exports", names[exported.org_code], exported.sheets)
        stamp = _received_time(exported.year, exported.received_order)
        os.utime(export, (stamp, stamp))
    jobs = [(str(ws.raw), seed, d) for d in deliveries if d is not exported]
    if workers > 1 and len(jobs) > 8:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            list(pool.map(_write_one, jobs, chunksize=8))
    else:
        for job in jobs:
            _write_one(job)
    return deliveries


def add_case_files(ws: Workspace, deliveries: list, year: int, total_cases: int, seed: int, fmt: str = "csv") -> int:
    """Case microdata for every organisation delivering in ``year``: ``zaken.<fmt>`` inside its delivery
    folder (a workbook delivery becomes a folder holding the workbook and the case file)."""
    import tempfile

    from pipeline.demo.cases import generate_cases

    latest = _latest_deliveries(deliveries, year)
    products = {
        org: sorted({str(p) for p in d.sheets["producten"]["product_code"] if isinstance(p, str)})
        for org, d in latest.items()
        if "producten" in d.sheets
    }
    with tempfile.TemporaryDirectory(dir=ws.processed) as tmp:
        files = generate_cases(
            Path(tmp), total_cases, year=year, seed=seed, fmt=fmt, orgs=sorted(latest), products=products
        )
        place_case_files(ws, deliveries, year, files)
    return total_cases


def _latest_deliveries(deliveries: list, year: int) -> dict[str, object]:
    latest: dict[str, object] = {}
    for d in deliveries:
        if d.year == year:
            latest[d.org_code] = d  # the last delivery of each organisation (a resubmission wins)
    return latest


def place_case_files(
    ws: Workspace, deliveries: list, year: int, files: dict[str, Path], link: bool = False
) -> list[str]:
    """Put each organisation's case file into its last delivery of ``year`` (moved, or hard-linked with
    ``link``); a workbook delivery becomes a folder holding the workbook and the case file. Returns the
    organisations whose file was placed (one without a delivery that year gets none)."""
    latest = _latest_deliveries(deliveries, year)
    placed = []
    for org, path in files.items():
        d = latest.get(org)
        if d is None:
            continue
        placed.append(org)
        target = ws.raw / str(year) / org / d.name
        if target.is_file():
            folder = target.with_suffix("")
            folder.mkdir()
            stamp = target.stat().st_mtime
            target.replace(folder / target.name)
            target = folder
            os.utime(folder / d.name, (stamp, stamp))
        stamp = max(p.stat().st_mtime for p in target.iterdir())
        dest = target / Path(path).name
        if link:
            os.link(path, dest)
        else:
            shutil.move(str(path), dest)
            os.utime(dest, (stamp, stamp))
        os.utime(target, (stamp, stamp))
    return placed


def run_demo(
    ws: Workspace, seed: int, years: list[int], console: Console, scale: int | None = None, case_format: str = "csv"
) -> dict[str, float]:
    """Generate the demo workspace and run every stage; returns seconds per stage."""

    timings: dict[str, float] = {}
    register = ws.root / "data" / "organisations.csv"
    if not register.exists():
        from importlib import resources

        register.parent.mkdir(parents=True, exist_ok=True)
        from pipeline.demo.data import demo_register_text

        register.write_text(
            demo_register_text(resources.files("pipeline.metadata").joinpath("organisations.csv").read_text("utf-8")),
            "utf-8",
        )

    from pipeline.demo.data import generate_rounds

    t = time.perf_counter()
    deliveries, later = generate_rounds(seed=seed, years=years, orgs=load_organisations(ws.root))
    write_deliveries(ws, seed, years, system_export=True, deliveries=deliveries)
    write_calendar(ws.root, {y: deadlines(y) for y in years})
    write_comparator_settings(ws.root)
    timings["generate"] = time.perf_counter() - t
    console.print(
        f"Generated {len(deliveries)} deliveries for {len({d.org_code for d in deliveries})} organisations, "
        f"{years[0]}–{years[-1]} in {ws.raw}; {len(later)} more follow in the round of {years[-1]}"
    )
    t = time.perf_counter()
    for imported in import_exports(ws):
        for w in imported.written:
            console.print(
                f"Imported a system export for {w.org_code} {years[-1]}: {w.rows} product rows → {shown_path(w.folder, ws)}"
            )
    timings["import"] = time.perf_counter() - t
    if scale:
        t = time.perf_counter()
        exported = _exported(deliveries)
        add_case_files(ws, [d for d in deliveries if d is not exported], years[-1], scale, seed, case_format)
        timings["generate_cases"] = time.perf_counter() - t
        console.print(
            f"Generated {scale:,} cases for {years[-1]} as zaken.{case_format} ({timings['generate_cases']:.1f} s)"
        )

    last = years[-1]
    t = time.perf_counter()
    results = _ingest(ws, 1)
    timings["ingest"] = time.perf_counter() - t
    rejected = sum(1 for r in results if r.status == "rejected")
    console.print(
        f"Round 1: ingested {len(results)} new deliveries: {len(results) - rejected} accepted, {rejected} rejected "
        f"({timings['ingest']:.1f} s); feedback pages in {ws.reports / str(last) / 'validation'}"
    )
    t = time.perf_counter()
    for round_ in (2, 3):
        batch = [d for d in later if d.round == round_]
        _write_round(ws, seed, batch)
        results = _ingest(ws, round_)
        rejected = sum(1 for r in results if r.status == "rejected")
        console.print(f"Round {round_}: {len(results)} corrected or explained deliveries ingested, {rejected} rejected")
        decided = analyst_review(ws, years, _at(last, ROUND_DATES[round_]))
        console.print(f"Review: {decided['accepted']} explanations accepted, {decided['returned']} returned")
    signed = sign_off_resolved(ws, years, _at(last, (5, 1)))
    console.print(f"Signed off: {signed} member years")
    timings["round"] = time.perf_counter() - t

    for stage, func in STAGES:
        t = time.perf_counter()
        message = func(ws, years)
        timings[stage] = time.perf_counter() - t
        if message:
            console.print(f"{message} ({timings[stage]:.1f} s)")

    t = time.perf_counter()
    first = _release(ws, last, _at(last, RELEASE_DATES[1], 10), "Eerste publicatie")
    console.print(first)
    late = [d for d in later if d.round == 4]
    if late:
        _write_round(ws, seed, late)
        results = _ingest(ws, 4)
        console.print(
            f"Round 4: late correction by {', '.join(sorted({r.org_code for r in results}))} "
            f"({', '.join(r.status for r in results)})"
        )
        analyst_review(ws, years, _at(last, (9, 5)))
        sign_off_resolved(ws, years, _at(last, (9, 8)))
        for _stage, func in STAGES:
            func(ws, years)
        console.print(_release(ws, last, _at(last, RELEASE_DATES[2], 10), "Correctie na publicatie"))
        console.print(_diff(ws, f"{last}.1", f"{last}.2"))
    timings["release"] = time.perf_counter() - t
    t = time.perf_counter()
    console.print(_packages(ws, last))
    timings["package"] = time.perf_counter() - t

    con = warehouse.connect(ws.db_path, read_only=True)
    try:
        print_status(con, load_organisations(ws.root), last, Deadlines(**deadlines(last)), _at(last, (9, 30)).date())
    finally:
        con.close()
    console.print(f"\nWarehouse:          {ws.db_path}")
    console.print(f"Validation reports: {ws.reports / str(last) / 'validation'}")
    for label, path in _outputs(ws, last):
        console.print(f"{label:<20}{path}")
    return timings


#: the demo's analyst-defined comparator sets (data/settings.yaml) and method override (data/methods.yaml)
DEMO_COMPARATOR_SETS = [
    {
        "code": "grote_uitvoerders",
        "name_nl": "Grote uitvoerders",
        "name_en": "Large implementing organisations",
        "where": {"size_class": ["groot"]},
    },
    {
        "code": "vergunnen_registreren",
        "name_nl": "Vergunnen en registreren",
        "name_en": "Permits and registers",
        "where": {"cluster": ["vergunnen_toetsen", "registreren"]},
    },
]
DEMO_METHODS = """# This workspace's method settings, merged over the packaged pipeline/metadata/methods.yaml
# (only what is named here changes; checked with the same model; docs/comparators.md).
comparators:
  k: 9
"""


def write_comparator_settings(root: Path) -> None:
    """The demo's comparator sets in ``data/settings.yaml`` (keeping its calendar) and its ``data/methods.yaml``."""
    import yaml

    from pipeline.core.settings import Settings, settings_path

    path = settings_path(root)
    raw = (yaml.safe_load(path.read_text("utf-8")) or {}) if path.exists() else {}
    raw["comparator_sets"] = DEMO_COMPARATOR_SETS
    Settings.model_validate(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), "utf-8")
    methods = Path(root) / "data" / "methods.yaml"
    if not methods.exists():
        methods.write_text(DEMO_METHODS, "utf-8")


def deadlines(year: int) -> dict[str, dt.date]:
    """The demo round's calendar: deliveries by 15 March, corrections and explanations by 30 April,
    publication on 15 June of the following year."""
    return {
        "delivery": dt.date(year + 1, 3, 15),
        "feedback": dt.date(year + 1, 4, 30),
        "publication": dt.date(year + 1, 6, 15),
    }


def _write_round(ws: Workspace, seed: int, batch: list) -> None:
    for d in batch:
        _write_one((str(ws.raw), seed, d))


def _ingest(ws: Workspace, round_: int) -> list:
    with runlog.recorded(ws, "ingest", {"demo_round": round_}) as run:
        results = intake(ws)
        run.counts.update(deliveries=len(results), rejected=sum(r.status == "rejected" for r in results))
        run.inputs.extend(r.sha256 for r in results)
    return results


def analyst_review(ws: Workspace, years: list[int], at: dt.datetime) -> dict[str, int]:
    """The demo's analyst reviews every explained warning in force: a one-word explanation is returned with a
    question, every other explanation is accepted. Open warnings (no explanation) stay open: the member is asked."""
    from pipeline.demo.data import WEAK_EXPLANATION
    from pipeline.flow import after_review
    from pipeline.validate import review

    done = {"accepted": 0, "returned": 0}
    with runlog.recorded(ws, "review apply", {"demo": "analyst"}) as run:
        con = warehouse.connect(ws.db_path)
        try:
            warehouse.init_schema(con)
            todo = review.warnings_frame(con)
            todo = todo[(todo["status"] == "explained") & todo["year"].isin(years)]
            decisions = []
            for r in todo.itertuples():
                if str(r.explanation).strip() == WEAK_EXPLANATION:
                    note = (
                        "Eén woord is geen toelichting: waardoor stegen de apparaatskosten zo sterk, en is de "
                        "stijging blijvend of eenmalig?"
                    )
                    decisions.append(review.check_decision(con, r.finding_id, "return", note))
                else:
                    decisions.append(review.check_decision(con, r.finding_id, "accept", None))
            review.record(con, decisions, DEMO_ANALYST, at)
        finally:
            con.close()
        after_review(ws, [d.submission_id for d in decisions])
        for d in decisions:
            done[d.decision] += 1
        run.counts.update(done)
    return done


DEMO_ANALYST = "analist programmabureau"


def sign_off_resolved(ws: Workspace, years: list[int], at: dt.datetime) -> int:
    """The demo's analyst signs off every member year whose findings are all resolved."""
    from pipeline.validate import review

    n = 0
    with runlog.recorded(ws, "signoff", {"demo": "all resolved"}) as run:
        con = warehouse.connect(ws.db_path)
        try:
            orgs = load_organisations(ws.root)
            for year in years:
                states = review.member_states(con, [o.org_code for o in orgs if o.is_member(year)], year)
                for code in states.loc[states["state"] == "resolved", "org_code"]:
                    review.sign_off(con, code, year, DEMO_ANALYST, at=at)
                    n += 1
        finally:
            con.close()
        run.counts.update(signed_off=n)
    return n


def _release(ws: Workspace, year: int, at: dt.datetime, note: str) -> str:
    from pipeline.cycle import releases

    with runlog.recorded(ws, "release", {"year": year, "demo": note}) as run:
        try:
            rel = releases.make_release(ws, year, DEMO_ANALYST, note, at=at)
        except releases.ReleaseError as exc:
            run.outcome = "refused"
            return f"Release skipped: {exc}"
        run.counts.update(release=rel.release_id, members=rel.n_members)
    missing = ", ".join(f"{m['org_code']} ({m['state']})" for m in rel.manifest["not_included"]) or "none"
    return (
        f"Release {rel.release_id}: {rel.n_members} members, reports in Dutch and English frozen in "
        f"{shown_path(rel.folder, ws)}; not in it: {missing}"
    )


def _packages(ws: Workspace, year: int) -> str:
    """One archive per member of the year's latest release, ready to send."""
    from pipeline.cycle import releases
    from pipeline.cycle.package import PackageError, make_packages

    con = warehouse.connect(ws.db_path, read_only=True)
    try:
        listed = releases.list_releases(con, year)
    finally:
        con.close()
    if listed.empty:
        return "Packages skipped: no release"
    rid = str(listed["release_id"].iloc[-1])
    with runlog.recorded(ws, "package", {"year": year, "release": rid}) as run:
        try:
            made = make_packages(ws, year, release=rid)
        except PackageError as exc:
            run.outcome = "refused"
            return f"Packages skipped: {exc}"
        run.counts.update(packages=len(made))
    folder = shown_path(made[0].path.parent, ws) if made else "-"
    return f"Packages {rid}: {len(made)} member archives (report, feedback, own data, cover note) in {folder}"


def _diff(ws: Workspace, before: str, after: str) -> str:
    from pipeline.cycle import releases

    with runlog.recorded(ws, "diff", {"before": before, "after": after}):
        try:
            table, summary, paths = releases.write_diff(ws, before, after)
        except releases.ReleaseError as exc:
            return f"Diff skipped: {exc}"
    subs = ", ".join(f"{s['org_code']} {s['before']} → {s['after']}" for s in summary["submissions_changed"])
    return (
        f"Diff {before} → {after}: {summary['values_changed']} values changed ({subs}); "
        f"{summary['rows']} member × indicator rows in {shown_path(paths[1], ws)}"
    )


def _compute(ws: Workspace, years: list[int]) -> str:
    counts = compute.run(ws)
    return (
        f"Computed {counts['indicator_values']} indicator values, {counts['comparisons']} comparisons, "
        f"composite index for {len(years)} years, {counts['dea_results']} efficiency scores"
    )


#: who records the board's decisions in the demo
DEMO_BOARD = "Dagelijks Bestuur (demo)"


def _demo_rounds(ws: Workspace, years: list[int]) -> list[str]:
    """Three rounds of pilots in different stages, as the board would have run them (dates fixed, so the demo
    is reproducible): the round three years back chose two pilots that started the next year and are evaluated
    now; the round before last chose two, of which one is running; the last round chose one that has not
    started. The rest of each shortlist stays proposed."""
    import datetime as dt

    done: list[str] = []
    to_close: list[str] = []
    rounds = years[-3:]
    for i, round_year in enumerate(rounds):
        result = pilots.run(ws, round_year)
        age = len(rounds) - 1 - i  # 2: evaluated, 1: running, 0: only chosen
        shortlist = result["shortlist"]
        complete = [
            s
            for s in shortlist.to_dict("records")
            if not result["teams"][
                (result["teams"]["pilot_org_code"] == s["org_code"])
                & (result["teams"]["indicator_code"] == s["indicator_code"])
                & result["teams"]["person_id"].isna()
            ].shape[0]
        ]
        chosen = complete[: 1 if age == 0 else 2]
        for k, s in enumerate(chosen):
            entry = pilots.choose(
                ws,
                round_year,
                s["org_code"],
                s["indicator_code"],
                note=f"Gekozen uit de shortlist {round_year} (plaats {int(s['rank'])}).",
                by=DEMO_BOARD,
                on=dt.date(round_year + 1, 3, 12),
            )
            done.append(f"{entry['pilot_id']} chosen")
            if age == 0 or (age == 1 and k > 0):
                continue
            pilots.start(ws, entry["pilot_id"], round_year + 1, by=DEMO_BOARD, on=dt.date(round_year + 1, 9, 1))
            if age == 2:
                to_close.append(entry["pilot_id"])
    for pid in to_close:  # evaluated after the last year's figures are in
        pilots.close(
            ws,
            pid,
            "De werkwijze van de leerpartner is ingevoerd; de gemeten follow-up staat in het pilotdossier.",
            "Een vaste coach van buiten en een maandelijkse meting hielden de pilot op koers.",
            by=DEMO_BOARD,
            on=dt.date(years[-1] + 1, 2, 1),
        )
        done.append(f"{pid} evaluated")
    return done


def _pilots(ws: Workspace, years: list[int]) -> str:
    """A pool of researchers and coaches, three rounds of pilots in their stages, then this year's selection."""
    from pipeline.demo.pool import write_demo_pool
    from pipeline.metadata.registry import load_organisations

    years = sorted(int(y) for y in years)
    try:
        pilots.read_pilot_data(ws, years[-1])
    except pilots.PilotError as exc:
        return f"Pilot selection skipped: {exc}"
    if pilots.pool_path(ws) is None:
        codes = [o.org_code for o in load_organisations(ws.root) if o.is_member(years[-1])]
        write_demo_pool(ws, codes, years[0], years[-1])
    register, _ = pilots.load_register(ws, strict=False)
    added = ""
    if register.empty:
        steps = _demo_rounds(ws, years)
        added = f"; demo register: {len(steps)} pilots chosen over {min(3, len(years))} round(s)"
    return pilots.run(ws, years[-1])["summary"] + added


#: The stages after the review, each through its entry point: (name, runner returning the line to print). The
#: reports are built by the release (stamped with its id), see run_demo.
STAGES = [("compute", _compute), ("pilots", _pilots)]


def _outputs(ws: Workspace, year: int) -> list[tuple[str, Path]]:
    out = []
    index = ws.reports / str(year) / "index.html"
    if index.exists():
        out.append(("Overview report:", index))
        out.append(("Organisation reports:", ws.reports / str(year) / "organisations"))
    pilots = ws.reports / str(year) / "pilots.html"
    if pilots.exists():
        out.append(("Pilot selection:", pilots))
    return out
