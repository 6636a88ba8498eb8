"""Template versions: reading a delivery made from an older template through its column map.

The registry (``template_versions`` in ``pipeline/metadata/submission.yaml``) declares each year's template
version and, for every older version, per sheet how its columns map onto the current model: renamed,
added (not asked in that version), removed (no longer used) and split columns. This module turns a
version into the column layout of its template (:func:`layout`, used by the template writer and the
demo), into the header lookup the readers use (:func:`lookup`), recognises the version of a delivery
(:func:`detect`: from the stamp the template writes on its instructions sheet, else from the column
headers) and words the findings that tell the member which version the delivery was read as.

Pure Python (no pandas): the readers import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pipeline.core.findings import Finding
from pipeline.metadata.registry import Field, Registry, Sheet, TemplateVersion

REMOVED = "__removed:"  # lookup value prefix of an old column that is no longer used
STAMP_LABELS = ("registerversie", "sjabloonversie", "registry version", "template version")
INFO_SHEETS = ("instructies", "instructions", "info")
POOR_MATCH = 0.8  # a best header match below this share is reported as uncertain


@dataclass(frozen=True)
class Column:
    """One column of a version's template: its header code and the current field(s) it is read into."""

    header: str
    field: Field | None  # None: a removed column
    kind: str  # same | renamed | split | removed
    parts: tuple[str, ...] = ()  # split: every current field the old column became


def layout(sheet: Sheet, version: TemplateVersion) -> list[Column]:
    """The columns of ``sheet`` in the template of ``version``, in template order."""
    ch = version.sheet_changes(sheet.code)
    old_of = {new: old for old, new in ch.renamed.items()}
    split_of = {ts[0]: (old, ts) for old, ts in ch.split.items()}
    split_rest = {t for ts in ch.split.values() for t in ts[1:]}
    cols: list[Column] = []
    for f in sheet.fields:
        if f.code in ch.added or f.code in split_rest:
            continue
        if f.code in old_of:
            cols.append(Column(old_of[f.code], f, "renamed"))
        elif f.code in split_of:
            old, parts = split_of[f.code]
            cols.append(Column(old, f, "split", parts))
        else:
            cols.append(Column(f.code, f, "same"))
    cols.extend(Column(old, None, "removed") for old in ch.removed)
    return cols


def lookup(sheet: Sheet, version: TemplateVersion, strict: bool = False) -> dict[str, str]:
    """Header text (casefolded) -> current field code, or ``REMOVED + old`` for a removed column. Besides the
    version's own header codes, the current codes and the Dutch and English labels are accepted (unless
    ``strict``, used to recognise a version)."""
    out: dict[str, str] = {}
    cols = layout(sheet, version)
    present = {c.field.code for c in cols if c.field is not None}
    for col in cols:
        out[col.header.casefold()] = col.field.code if col.field is not None else REMOVED + col.header
    if not strict:
        for f in sheet.fields:
            out.setdefault(f.code.casefold(), f.code)
    for f in sheet.fields:
        if strict and f.code not in present:
            continue
        out.setdefault(f.label_nl.casefold(), f.code)
        out.setdefault(f.label_en.casefold(), f.code)
    return out


def header_codes(sheet: Sheet, version: TemplateVersion) -> set[str]:
    """The header codes of ``sheet`` in the template of ``version`` (and the current codes)."""
    return {c.header for c in layout(sheet, version)} | set(sheet.field_codes)


def not_asked(sheet: Sheet, version: TemplateVersion) -> list[str]:
    """Current fields of ``sheet`` that the template of ``version`` did not ask."""
    ch = version.sheet_changes(sheet.code)
    rest = [t for ts in ch.split.values() for t in ts[1:]]
    return [f.code for f in sheet.fields if f.code in ch.added or f.code in rest]


def stamp_of(rows: Sequence[Sequence[object]]) -> str | None:
    """The version the template wrote on its instructions sheet (a row 'Registerversie' | value)."""
    for row in rows[:40]:
        cells = [c for c in row if c is not None and str(c).strip()]
        if len(cells) >= 2 and isinstance(cells[0], str) and cells[0].strip().casefold() in STAMP_LABELS:
            value = cells[1]
            if isinstance(value, float):
                return f"{value:.1f}"
            return str(value).strip()
    return None


@dataclass
class Detection:
    """Which version a delivery is read as, how that was decided, and what the member is told about it."""

    version: TemplateVersion
    how: str  # stamp | headers | default
    scores: dict[str, float] = field(default_factory=dict)
    tied: list[str] = field(default_factory=list)
    stamp: str | None = None  # an unknown stamp, reported


def _header_cells(reg: Registry, headers: Mapping[str, Sequence[Sequence[object]]]) -> dict[str, set[str]]:
    """Per sheet, the header cells (casefolded) of the row that matches the most header texts of any version."""
    out: dict[str, set[str]] = {}
    for code, rows in headers.items():
        sheet = reg.sheet(code)
        known: set[str] = set()
        for v in reg.template_versions:
            known |= set(lookup(sheet, v, strict=True))
        best: set[str] = set()
        best_hits = 0
        for row in rows[:15]:
            texts = {v.strip().casefold() for v in row if isinstance(v, str) and v.strip()}
            hits = len(texts & known)
            if hits > best_hits:
                best, best_hits = texts, hits
        out[code] = best
    return out


def _score(reg: Registry, version: TemplateVersion, cells: Mapping[str, set[str]]) -> tuple[float, float]:
    """(evidence for ``version``, share of its header matched). Evidence counts only the header texts that
    tell versions apart: found and expected (for), found but not expected or expected but not found
    (against); ``nan`` when the headers hold no such text."""
    hit = against = matched = total = 0
    for code, found in cells.items():
        sheet = reg.sheet(code)
        tables = {v.version: set(lookup(sheet, v, strict=True)) for v in reg.template_versions}
        mine = tables[version.version]
        shared = set.intersection(*tables.values())
        telling = set.union(*tables.values()) - shared
        hit += len(found & mine & telling)
        against += len((found & telling) - mine) + len(
            {c.header.casefold() for c in layout(sheet, version)} & telling - found
        )
        cols = layout(sheet, version)
        got = sum(1 for c in cols if c.header.casefold() in found)
        matched += got
        total += len(cols) + len(found - mine)
    evidence = hit / (hit + against) if hit + against else float("nan")
    return evidence, (matched / total if total else 0.0)


def _rank(reg: Registry, v: TemplateVersion) -> tuple:
    return (not v.current, -max(v.years, default=0), v.version)


def detect(reg: Registry, stamp: str | None, headers: Mapping[str, Sequence[Sequence[object]]]) -> Detection:
    """The version of a delivery: the stamp when it names a declared version, else the version whose header
    set matches the delivery's headers best (``headers``: sheet code -> the first rows of that sheet). A tie
    is read as the newest of the tied versions; the detection says so."""
    versions = sorted(reg.template_versions, key=lambda v: _rank(reg, v))
    if not versions:
        return Detection(reg.template_version(), "default")
    unknown_stamp = None
    if stamp:
        for v in versions:
            if v.version == stamp:
                return Detection(v, "stamp")
        unknown_stamp = stamp
    if not headers:
        return Detection(versions[0], "default", stamp=unknown_stamp)
    cells = _header_cells(reg, headers)
    evidence, scores = {}, {}
    for v in versions:
        evidence[v.version], scores[v.version] = _score(reg, v, cells)
    known = [e for e in evidence.values() if e == e]
    best = max(known) if known else None
    tied = [v.version for v in versions if best is None or evidence[v.version] == best]
    chosen = next(v for v in versions if v.version == tied[0])
    return Detection(chosen, "headers", scores, tied if len(tied) > 1 else [], unknown_stamp)


def _list(items: Sequence[str]) -> str:
    return ", ".join(items)


def _columns(items: Sequence[str], lang: str) -> str:
    """'kolom a' / 'kolommen a, b' ('column a' / 'columns a, b')."""
    one, many = ("kolom", "kolommen") if lang == "nl" else ("column", "columns")
    return f"{one if len(items) == 1 else many} {_list(items)}"


def detection_findings(reg: Registry, det: Detection, sheets: Mapping[str, object]) -> list[Finding]:
    """Info findings naming the version a delivery was read as and what its map changed; ``sheets`` are the
    read sheets (:class:`~pipeline.ingest.readers.RawSheet`) by sheet code."""
    v = det.version.version
    out: list[Finding] = []
    if det.stamp:
        out.append(
            Finding(
                "info",
                "template_version_unknown",
                f"De registerversie '{det.stamp}' op het instructieblad is geen bekende sjabloonversie "
                f"({_list([t.version for t in reg.template_versions])}); de versie is bepaald aan de kolomkoppen.",
                f"The registry version '{det.stamp}' on the instructions sheet is not a known template version "
                f"({_list([t.version for t in reg.template_versions])}); the version was recognised from the headers.",
                value=det.stamp,
            )
        )
    best = det.scores.get(v)
    if det.tied:
        out.append(
            Finding(
                "info",
                "template_version_ambiguous",
                f"De kolomkoppen passen even goed bij sjabloonversie {_list(det.tied)}; gelezen als {v}. "
                "Gebruik het sjabloon van dit jaar.",
                f"The headers fit template versions {_list(det.tied)} equally well; read as {v}. "
                "Use this year's template.",
                value=v,
            )
        )
    elif det.how == "headers" and best is not None and best < POOR_MATCH:
        out.append(
            Finding(
                "info",
                "template_version_uncertain",
                f"De kolomkoppen passen bij geen enkele sjabloonversie goed (beste: {v}, {best:.0%} overeenkomst); "
                f"gelezen als {v}. Gebruik het sjabloon van dit jaar.",
                f"The headers fit no template version well (best: {v}, {best:.0%} match); read as {v}. "
                "Use this year's template.",
                value=v,
            )
        )
    if det.version.current:
        return out
    how_nl = {"stamp": "herkend aan de registerversie in het werkboek", "headers": "herkend aan de kolomkoppen"}
    how_en = {"stamp": "recognised from the registry version in the workbook", "headers": "recognised from the headers"}
    renames = [(raw.name, old, new) for raw in sheets.values() for old, new in getattr(raw, "renamed", {}).items()]
    ren_nl = "".join(f"; kolom {old} heet nu {new}" for _, old, new in renames)
    ren_en = "".join(f"; column {old} is now called {new}" for _, old, new in renames)
    out.append(
        Finding(
            "info",
            "template_version",
            f"Gelezen als sjabloonversie {v} ({how_nl.get(det.how, 'standaard')}); de huidige versie is "
            f"{reg.version}{ren_nl}.",
            f"Read as template version {v} ({how_en.get(det.how, 'default')}); the current version is "
            f"{reg.version}{ren_en}.",
            value=v,
        )
    )
    for code, raw in sheets.items():
        sheet = reg.sheet(code)
        name = getattr(raw, "name", sheet.name_nl)
        csv = bool(getattr(raw, "is_csv", False))
        where_nl, where_en = (f"Bestand {name}", f"File {name}") if csv else (f"Blad {name}", f"Sheet {name}")
        if getattr(raw, "removed_columns", None):
            out.append(
                Finding(
                    "info",
                    "column_removed",
                    f"{where_nl}: {_columns(raw.removed_columns, 'nl')} uit sjabloonversie {v} {'wordt' if len(raw.removed_columns) == 1 else 'worden'} niet meer gevraagd en {'is' if len(raw.removed_columns) == 1 else 'zijn'} genegeerd.",
                    f"{where_en}: {_columns(raw.removed_columns, 'en')} of template version {v} {'is' if len(raw.removed_columns) == 1 else 'are'} no longer asked and {'was' if len(raw.removed_columns) == 1 else 'were'} ignored.",
                    sheet=code,
                    cell=name,
                )
            )
        for old, parts in getattr(raw, "split", {}).items():
            out.append(
                Finding(
                    "info",
                    "column_split",
                    f"{where_nl}: kolom {old} is nu gesplitst in {_list(parts)}; de waarde is gelezen als "
                    f"{parts[0]}, {_list(parts[1:])} is in versie {v} niet gevraagd.",
                    f"{where_en}: column {old} is now split into {_list(parts)}; its value was read as "
                    f"{parts[0]}, {_list(parts[1:])} was not asked in version {v}.",
                    sheet=code,
                    cell=name,
                    field=parts[0],
                )
            )
        if getattr(raw, "not_asked", None):
            cols = _list(raw.not_asked)
            one = len(raw.not_asked) == 1
            out.append(
                Finding(
                    "info",
                    "field_not_asked",
                    f"{where_nl}: {cols} {'werd' if one else 'werden'} in sjabloonversie {v} nog niet gevraagd en "
                    f"{'is' if one else 'zijn'} leeg gelaten (geen fout); indicatoren die "
                    f"{'dit veld' if one else 'deze velden'} nodig hebben ontbreken voor dit jaar.",
                    f"{where_en}: {cols} {'was' if one else 'were'} not yet asked in template version {v} and "
                    f"{'is' if one else 'are'} left empty (not an error); indicators that need "
                    f"{'it' if one else 'them'} are missing for this year.",
                    sheet=code,
                    cell=name,
                )
            )
    return out


__all__ = [
    "Column",
    "Detection",
    "detect",
    "detection_findings",
    "header_codes",
    "layout",
    "lookup",
    "not_asked",
    "stamp_of",
]
