"""``rbb package``: one zip archive per member, ready to send after a round.

``reports/<year>/packages/<release or "actueel">/<CODE>_<year>[_<release>].zip`` holds, for one member only:

* ``organisations/<CODE>.html`` and ``organisations/<CODE>.en.html``: its comparison reports (plus
  ``assets/plotly.min.js`` when a report was written with ``--shared-assets`` and loads it);
* ``validation/<CODE>_v<N>.html`` (and ``.en.html``): the feedback page of every version it delivered that year;
* ``data/<sheet>.csv`` per sheet, ``data/indicator_values.csv`` and ``data/<CODE>_<year>.xlsx`` (one worksheet
  each): the rows of its accepted submission as stored in the warehouse (``f_<sheet>``, with the ``__state``
  columns that hold the answers n.v.t./onbekend beside an empty value) and its own computed indicator values.
  A member without an accepted submission gets no data files;
* ``LEESMIJ.txt``: the cover note, Dutch first and English below it, naming the member, the year, the release
  (or "actuele stand, geen release"), the date of the package, what is missing and the SHA-256 of every other
  file; ``SHA256SUMS``: the checksums of all other files in ``sha256sum`` format (``sha256sum -c SHA256SUMS``).

Without a release the reports and feedback pages come from ``reports/<year>/`` and the data from the submission
in force; with a release ``R`` from its frozen copy ``data/processed/releases/<R>/reports/`` and the submission
ids its ``manifest.json`` names. Nothing about another member is added: no overview, open reports, pilot pages,
exports or other members' feedback pages.

The archive is deterministic: entries sorted, every timestamp the package date, fixed permissions. The package
date is the release's date, or without a release the date of the latest delivery received for the year (the
date the reports state their data up to), so the same inputs give a byte-identical archive.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.parallel import forked_map
from pipeline.core.warehouse import connect, table_exists
from pipeline.core.workspace import Workspace, atomic_write_bytes
from pipeline.metadata.registry import Organisation, load_organisations, registry
from pipeline.report.export import csv_bytes, safe_text_frame
from pipeline.report.pages import ASSET
from pipeline.report.xlsx import write_workbook

LANGS = ("nl", "en")
CURRENT = "actueel"  # folder of the packages made from the current results (no release)
NOTE = "LEESMIJ.txt"
SUMS = "SHA256SUMS"
INDICATORS = "indicator_values"
_RELEASE_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,63}")


class PackageError(ValueError):
    """A package cannot be made as asked; the message says why, in Dutch and English."""

    def __init__(self, message_nl: str, message_en: str):
        self.message_nl = message_nl
        self.message_en = message_en
        super().__init__(f"{message_nl} / {message_en}")


@dataclass(frozen=True)
class _Release:
    release_id: str
    year: int
    created: dt.date | None
    reports: Path
    submissions: dict[str, dict[str, Any]]


@dataclass
class _Member:
    org: Organisation
    submission: dict[str, Any] | None
    files: dict[str, bytes] = field(default_factory=dict)  # archive name -> content
    missing: list[tuple[str, str]] = field(default_factory=list)  # (nl, en)


@dataclass(frozen=True)
class Packaged:
    """One archive written: its path, the member, how many files it holds and what is missing (nl, en)."""

    path: Path
    org_code: str
    n_files: int
    has_data: bool
    missing: tuple[tuple[str, str], ...]


def package(
    ws: Workspace,
    year: int,
    release: str | None = None,
    langs: tuple[str, ...] = LANGS,
    org: str | None = None,
) -> list[Path]:
    """Write one archive per member of ``year`` (or only ``org``) and return their paths."""
    return [p.path for p in make_packages(ws, year, release, langs, org)]


def make_packages(
    ws: Workspace,
    year: int,
    release: str | None = None,
    langs: tuple[str, ...] = LANGS,
    org: str | None = None,
) -> list[Packaged]:
    """Write one archive per member of ``year`` (or only ``org``); what :func:`package` does, with details.

    Raises :class:`PackageError` for an unknown organisation or release, a release of another year, or when
    a member with accepted data has no report at all (run ``rbb report`` first). Nothing is written then."""
    langs = tuple(lang for lang in LANGS if lang in langs)
    if not langs:
        raise PackageError("kies minstens één taal: nl of en", "choose at least one language: nl or en")
    rel = _read_release(ws, release, year) if release is not None else None
    members = _members(ws, year, org)
    reports = rel.reports if rel is not None else ws.reports / str(year)
    con = connect(ws.db_path, read_only=True)
    try:
        if not table_exists(con, "submissions"):
            raise PackageError(
                f"geen warehouse met leveringen in {ws.db_path}; voer eerst 'rbb ingest' uit",
                f"no warehouse with submissions at {ws.db_path}; run 'rbb ingest' first",
            )
        made_on = rel.created if rel is not None and rel.created else _data_as_of(con, year)
        items = [_Member(o, _submission(con, o.org_code, year, rel)) for o in members]
        for m in items:
            _add_reports(m, reports, langs)
            _add_feedback(m, reports, year, langs)
        _check_reports(items, year, rel, langs)
        data = {m.org.org_code: _read_data(con, m, year) for m in items if m.submission is not None}
    finally:
        con.close()  # DuckDB's threads end here: the archives are built in forked processes
    out_dir = ws.reports / str(year) / "packages" / (rel.release_id if rel else CURRENT)

    def archive(m: _Member) -> Packaged:
        if m.org.org_code in data:
            _add_data(m, data[m.org.org_code], year, made_on)
        note = _cover_note(m, year, rel, made_on, langs)
        m.files[NOTE] = note.encode("utf-8")
        m.files[SUMS] = _sums(m.files).encode("utf-8")
        name = f"{m.org.org_code}_{year}{'_' + rel.release_id if rel else ''}.zip"
        path = out_dir / name
        atomic_write_bytes(path, zip_bytes(m.files, made_on))
        return Packaged(path, m.org.org_code, len(m.files), m.submission is not None, tuple(m.missing))

    # each archive is a pure function of what was read above: built one per core (the same bytes)
    return forked_map(archive, items)


# ------------------------------------------------------------------------------------------ inputs


def _read_release(ws: Workspace, release_id: str, year: int) -> _Release:
    """The release's manifest and frozen reports; extra keys in the manifest are ignored."""
    folder = ws.processed / "releases" / release_id
    manifest = folder / "manifest.json"
    if not _RELEASE_ID.fullmatch(release_id) or ".." in release_id or not manifest.is_file():
        raise PackageError(
            f"onbekende release {release_id!r} (geen {manifest})",
            f"unknown release {release_id!r} (no {manifest})",
        )
    try:
        data = json.loads(manifest.read_text("utf-8"))
        rel_year = int(data["year"])
        entries = data.get("submissions") or []
        subs = {str(e["org_code"]).upper(): e for e in entries}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PackageError(
            f"het manifest van release {release_id} is onleesbaar ({exc})",
            f"the manifest of release {release_id} cannot be read ({exc})",
        ) from None
    if str(data.get("release_id", release_id)) != release_id:
        raise PackageError(
            f"{manifest} hoort bij release {data['release_id']!r}, niet bij {release_id!r}",
            f"{manifest} belongs to release {data['release_id']!r}, not {release_id!r}",
        )
    if rel_year != year:
        raise PackageError(
            f"release {release_id} is van verslagjaar {rel_year}, niet {year}",
            f"release {release_id} is for reporting year {rel_year}, not {year}",
        )
    created = None
    if data.get("created_at"):
        try:
            created = dt.datetime.fromisoformat(str(data["created_at"])).date()
        except ValueError:
            created = None
    reports = folder / "reports"
    if not reports.is_dir():
        raise PackageError(
            f"release {release_id} heeft geen bevroren rapporten ({reports})",
            f"release {release_id} has no frozen reports ({reports})",
        )
    return _Release(release_id, rel_year, created, reports, subs)


def _members(ws: Workspace, year: int, org: str | None) -> list[Organisation]:
    members = [o for o in load_organisations(ws.root) if o.is_member(year)]
    if org is None:
        return sorted(members, key=lambda o: o.org_code)
    code = org.upper()
    chosen = [o for o in members if o.org_code == code]
    if not chosen:
        raise PackageError(
            f"onbekende organisatiecode {org!r}: geen lid in {year} volgens het register",
            f"unknown organisation code {org!r}: not a member in {year} according to the register",
        )
    return chosen


def _data_as_of(con, year: int) -> dt.date:
    """The date of the latest delivery received for the year (1 January of the next year without one)."""
    last = con.execute("SELECT max(received_at) FROM submissions WHERE year = ?", [year]).fetchone()[0]
    return last.date() if last is not None else dt.date(year + 1, 1, 1)


def _submission(con, code: str, year: int, rel: _Release | None) -> dict[str, Any] | None:
    """The accepted submission the package holds: the one in force, or the one the release names."""
    cols = "submission_id, org_code, year, version, sha256, original_name, received_at, status"
    if rel is None:
        row = con.execute(
            f"SELECT {cols} FROM submissions WHERE org_code = ? AND year = ? AND in_force "
            "ORDER BY version DESC LIMIT 1",
            [code, year],
        ).fetchone()
    else:
        entry = rel.submissions.get(code)
        if entry is None:
            return None
        row = con.execute(
            f"SELECT {cols} FROM submissions WHERE submission_id = ?", [entry["submission_id"]]
        ).fetchone()
        if (
            row is None
            or row[1] != code
            or row[2] != year
            or (entry.get("sha256") and entry["sha256"] != row[4])
            or row[7] not in ("accepted", "accepted_with_warnings", "superseded")
        ):
            raise PackageError(
                f"release {rel.release_id} noemt levering {entry['submission_id']} van {code}, maar het warehouse "
                "houdt die niet (of een andere) vast",
                f"release {rel.release_id} names submission {entry['submission_id']} of {code}, but the warehouse "
                "does not hold it (or holds another)",
            )
    if row is None:
        return None
    return dict(zip([c.strip() for c in cols.split(",")], row))


# ------------------------------------------------------------------------------------------ contents


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _suffix(lang: str) -> str:
    return "" if lang == "nl" else f".{lang}"


def _add_reports(m: _Member, reports: Path, langs: tuple[str, ...]) -> None:
    code = m.org.org_code
    for lang in langs:
        name = f"organisations/{code}{_suffix(lang)}.html"
        content = _read(reports / name)
        if content is None:
            m.missing.append(
                (
                    f"{name}: het {'Nederlandse' if lang == 'nl' else 'Engelse'} rapport is er (nog) niet",
                    f"{name}: the {'Dutch' if lang == 'nl' else 'English'} report does not exist (yet)",
                )
            )
            continue
        m.files[name] = content
        if f'src="../{ASSET}"'.encode() in content and ASSET not in m.files:
            asset = _read(reports / ASSET)
            if asset is None:
                m.missing.append((f"{ASSET}: ontbreekt, het rapport toont geen grafieken", f"{ASSET}: missing"))
            else:
                m.files[ASSET] = asset


def _add_feedback(m: _Member, reports: Path, year: int, langs: tuple[str, ...]) -> None:
    pattern = re.compile(rf"{re.escape(m.org.org_code)}_v([0-9]+)(\.en)?\.html")
    folder = reports / "validation"
    found = []
    for p in folder.iterdir() if folder.is_dir() else ():
        hit = pattern.fullmatch(p.name)
        lang = "en" if hit and hit.group(2) else "nl"
        if hit and lang in langs and p.is_file():
            found.append((int(hit.group(1)), lang, p))
    for _, _, p in sorted(found, key=lambda t: (t[0], LANGS.index(t[1]))):
        m.files[f"validation/{p.name}"] = p.read_bytes()


def _check_reports(items: list[_Member], year: int, rel: _Release | None, langs: tuple[str, ...]) -> None:
    """A member with accepted data must have a report in at least one language."""
    lacking = [
        m.org.org_code
        for m in items
        if m.submission is not None and not any(n.startswith("organisations/") for n in m.files)
    ]
    if not lacking:
        return
    codes = ", ".join(lacking)
    if rel is not None:
        raise PackageError(
            f"release {rel.release_id} bevat geen rapport voor {codes}",
            f"release {rel.release_id} holds no report for {codes}",
        )
    commands = " en ".join(f"'rbb report --year {year}{'' if lang == 'nl' else ' --lang en'}'" for lang in langs)
    commands_en = " and ".join(f"'rbb report --year {year}{'' if lang == 'nl' else ' --lang en'}'" for lang in langs)
    raise PackageError(
        f"geen rapport voor {codes} in reports/{year}/organisations/; voer eerst {commands} uit",
        f"no report for {codes} in reports/{year}/organisations/; run {commands_en} first",
    )


def workbook_cells(df: pd.DataFrame) -> list[list]:
    """A frame as the cells of a sheet: the column names, then the rows (numbers as numbers, missing values
    empty, dates and other values as their text)."""
    columns = []
    for col in df.columns:
        values = df[col].tolist()
        kind = df[col].dtype
        if kind == np.float64:  # what _cell makes of a float, without its checks per value
            columns.append([None if v != v else v for v in values])
        elif kind in (np.int64, np.int32, np.int16, np.int8):
            columns.append(values)
        else:
            columns.append([_cell(v) for v in values])
    rows = [list(r) for r in zip(*columns, strict=True)] if columns else []
    return [[str(c) for c in df.columns], *rows]


def _cell(v):
    if v is None or (not isinstance(v, (str, bytes)) and pd.isna(v)):
        return None
    if isinstance(v, bool | np.bool_):
        return str(bool(v))  # as in the CSV beside it
    if isinstance(v, int | float):
        return v
    if isinstance(v, Decimal | np.number):
        return float(v)
    return str(v)


def _read_data(con, m: _Member, year: int) -> dict[str, pd.DataFrame]:
    """The member's rows of its submission, per sheet, and its own indicator values (for :func:`_add_data`)."""
    sid = int(m.submission["submission_id"])
    code = m.org.org_code
    frames: dict[str, pd.DataFrame] = {}
    for sheet in registry().sheet_level:
        table = f"f_{sheet.code}"
        if not table_exists(con, table):
            continue
        frames[sheet.code] = con.execute(
            f"SELECT * FROM {table} WHERE submission_id = ? AND org_code = ? ORDER BY source_row", [sid, code]
        ).fetch_df()
    if table_exists(con, INDICATORS):
        values = con.execute(
            f"SELECT * FROM {INDICATORS} WHERE org_code = ? AND year = ? AND submission_id = ? ORDER BY indicator_code",
            [code, year, sid],
        ).fetch_df()
        if values.empty:
            m.missing.append(
                (
                    f"data/{INDICATORS}.csv: geen berekende indicatoren bij levering {sid} (voer 'rbb compute' uit)",
                    f"data/{INDICATORS}.csv: no computed indicators for submission {sid} (run 'rbb compute')",
                )
            )
        else:
            frames[INDICATORS] = values
    return frames


def _add_data(m: _Member, frames: dict[str, pd.DataFrame], year: int, made_on: dt.date) -> None:
    """The member's data (:func:`_read_data`) as CSV files and one workbook."""
    code = m.org.org_code
    safe = {name: safe_text_frame(df) for name, df in frames.items()}
    for name, df in safe.items():
        m.files[f"data/{name}.csv"] = csv_bytes(df, neutralised=True)
    stamp = dt.datetime.combine(made_on, dt.time())  # no run time in the file
    sheets = [(name[:31], workbook_cells(df)) for name, df in safe.items()]
    m.files[f"data/{code}_{year}.xlsx"] = write_workbook(sheets, stamp, title=f"{code} {year}")


# ------------------------------------------------------------------------------------------ note and archive


def _describe(name: str, lang: str) -> str:
    nl = lang == "nl"
    if name.startswith("organisations/"):
        which = "Engels" if name.endswith(".en.html") else "Nederlands"
        which_en = "English" if name.endswith(".en.html") else "Dutch"
        return f"vergelijkingsrapport ({which})" if nl else f"comparison report ({which_en})"
    if name == ASSET:
        return "plotly.js voor de grafieken in het rapport" if nl else "plotly.js for the report's charts"
    if name.startswith("validation/"):
        version = re.search(r"_v([0-9]+)", name).group(1)
        en = name.endswith(".en.html")
        if nl:
            return f"terugkoppeling op levering versie {version} ({'Engels' if en else 'Nederlands'})"
        return f"feedback on delivery version {version} ({'English' if en else 'Dutch'})"
    if name.endswith(".xlsx"):
        return "alle gegevensbestanden als één Excel-werkmap" if nl else "all data files as one Excel workbook"
    stem = Path(name).stem
    if stem == INDICATORS:
        return "eigen berekende indicatorwaarden" if nl else "own computed indicator values"
    sheet = registry().sheet(stem)
    return f"blad {sheet.name('nl')} zoals geleverd en geaccepteerd" if nl else f"sheet {sheet.name('en')} as delivered"


def _cover_note(m: _Member, year: int, rel: _Release | None, made_on: dt.date, langs: tuple[str, ...]) -> str:
    o = m.org
    s = m.submission
    names = sorted(m.files)
    sums = [f"  {hashlib.sha256(m.files[n]).hexdigest()}  {n}" for n in names]
    lines: list[str] = []
    for lang in ("nl", "en"):
        nl = lang == "nl"
        title = (
            "Rijksbrede Benchmarkgroep: pakket voor de deelnemer"
            if nl
            else "Rijksbrede Benchmarkgroep: package for the member"
        )
        lines += [title, "=" * len(title), ""]
        lines.append(f"{'Organisatie' if nl else 'Organisation'}: {o.name} ({o.org_code})")
        lines.append(f"{'Verslagjaar' if nl else 'Reporting year'}: {year}")
        if rel is not None:
            lines.append(f"Release: {rel.release_id}")
            why = f"datum van release {rel.release_id}" if nl else f"date of release {rel.release_id}"
        else:
            lines.append(f"Release: {'actuele stand, geen release' if nl else 'current results, not a release'}")
            why = (
                f"stand van de gegevens: laatste levering over {year} ontvangen"
                if nl
                else f"state of the data: latest delivery for {year} received"
            )
        lines.append(f"{'Datum van het pakket' if nl else 'Date of the package'}: {made_on.isoformat()} ({why})")
        if s is not None:
            received = s["received_at"].strftime("%Y-%m-%d") if s.get("received_at") else "?"
            lines.append(
                f"Levering: versie {s['version']} ({s['original_name']}), ontvangen {received}, SHA-256 {s['sha256']}"
                if nl
                else f"Delivery: version {s['version']} ({s['original_name']}), received {received}, "
                f"SHA-256 {s['sha256']}"
            )
        else:
            where = f"in release {rel.release_id}" if rel is not None else f"voor {year}"
            where_en = f"in release {rel.release_id}" if rel is not None else f"for {year}"
            lines.append(
                f"Geen geaccepteerde levering {where}: dit pakket bevat geen gegevensbestanden."
                if nl
                else f"No accepted delivery {where_en}: this package holds no data files."
            )
        lines += ["", "Inhoud:" if nl else "Contents:"]
        width = max(len(n) for n in names) if names else 0
        lines += [f"  {n:<{width}}  {_describe(n, lang)}" for n in names]
        if m.missing:
            lines += ["", "Ontbreekt:" if nl else "Missing:"]
            lines += [f"  - {nl_text if nl else en_text}" for nl_text, en_text in m.missing]
        lines += [
            "",
            "Controlegetallen (SHA-256) van de andere bestanden:" if nl else "Checksums (SHA-256) of the other files:",
            *sums,
            "",
            (
                f"{SUMS} bevat dezelfde controlegetallen (ook van {NOTE}); controleer met: sha256sum -c {SUMS}"
                if nl
                else f"{SUMS} holds the same checksums (also of {NOTE}); verify with: sha256sum -c {SUMS}"
            ),
            (
                "Vertrouwelijk: alleen voor deze organisatie; andere leden zijn niet herkenbaar."
                if nl
                else "Confidential: for this organisation only; other members cannot be identified."
            ),
            "",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _sums(files: dict[str, bytes]) -> str:
    return "".join(f"{hashlib.sha256(files[n]).hexdigest()}  {n}\n" for n in sorted(files) if n != SUMS)


def zip_bytes(files: dict[str, bytes], stamp: dt.date) -> bytes:
    """A deterministic zip: entries sorted by name, every timestamp ``stamp`` at midnight, fixed permissions."""
    when = (max(stamp.year, 1980), stamp.month, stamp.day, 0, 0, 0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permissions below are read
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name], compresslevel=1)
    return buf.getvalue()
