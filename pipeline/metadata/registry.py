"""The metadata registry: one source of truth for the submission format.

Everything that describes a field (sheet, type, unit, labels, ranges, code lists, level) lives in
``metadata/submission.yaml``. The template, the validation suites, the readers and the data
dictionary are generated from the objects defined here.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

NUMERIC_TYPES = ("integer", "number")


@dataclass(frozen=True)
class Field:
    code: str
    sheet: str
    type: str
    required: bool
    unit: str
    label_nl: str
    label_en: str
    description_nl: str
    description_en: str
    min: float | None = None
    max: float | None = None
    codes: tuple[str, ...] | None = None
    code_list: str | None = None
    max_length: int | None = None
    pattern: str | None = None
    plausibility: bool = False
    #: answers accepted besides a value: "nvt" (not applicable) and/or "onbekend" (unknown)
    missing: tuple[str, ...] = ()
    #: above this a value is implausible (a warning asking for an explanation), not impossible
    plausible_max: float | None = None
    #: a longer text is a warning (``max_length`` is the hard limit)
    plausible_length: int | None = None

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_nl

    def description(self, lang: str) -> str:
        return self.description_en if lang == "en" else self.description_nl


@dataclass(frozen=True)
class Sheet:
    code: str
    name_nl: str
    name_en: str
    level: str
    required: bool
    key: tuple[str, ...]
    description_nl: str
    description_en: str
    max_rows: int | None = None
    fields: tuple[Field, ...] = ()
    storage: str = "sheet"  # "sheet": in the workbook or a CSV per sheet; "file": a separate data file (CSV or Parquet)

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_nl

    def field(self, code: str) -> Field:
        for f in self.fields:
            if f.code == code:
                return f
        raise KeyError(f"{self.code}.{code}")

    @property
    def field_codes(self) -> list[str]:
        return [f.code for f in self.fields]


@dataclass(frozen=True)
class Rule:
    code: str
    sheet: str
    kind: str
    parts: tuple[str, ...] = ()
    total: str | None = None
    a: str | None = None
    b: str | None = None
    total_sheet: str | None = None


@dataclass(frozen=True)
class Ratio:
    code: str
    sheet: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    label_nl: str
    label_en: str


@dataclass(frozen=True)
class SheetChanges:
    """How one sheet of an older template version maps onto the current model (see ``template_versions`` in
    ``submission.yaml``): ``renamed`` old column -> current field, ``added`` current fields that version did
    not ask, ``removed`` old columns no longer used, ``split`` old column -> the current fields it became."""

    renamed: dict[str, str] = field(default_factory=dict)
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    split: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class TemplateVersion:
    """One year's template version; ``changes`` per sheet code (empty for the current version)."""

    version: str
    years: tuple[int, ...]
    changes: dict[str, SheetChanges] = field(default_factory=dict)
    current: bool = False

    def sheet_changes(self, sheet_code: str) -> SheetChanges:
        return self.changes.get(sheet_code) or SheetChanges()


@dataclass(frozen=True)
class Registry:
    version: str
    sheets: tuple[Sheet, ...]
    rules: tuple[Rule, ...]
    code_lists: dict[str, tuple[str, ...]]
    themes: tuple[str, ...]
    yoy_threshold: float
    robust_z_threshold: float
    min_peers: int
    ratios: tuple[Ratio, ...] = field(default=())
    template_versions: tuple[TemplateVersion, ...] = field(default=())

    def template_version(self, version: str | None = None) -> TemplateVersion:
        """The declared template version ``version`` (the current one when ``None``); KeyError if unknown."""
        wanted = self.version if version is None else str(version).strip()
        for v in self.template_versions:
            if v.version == wanted:
                return v
        if wanted == self.version:
            return TemplateVersion(self.version, (), {}, current=True)
        raise KeyError(wanted)

    def version_for_year(self, year: int | None) -> TemplateVersion:
        """The template version used for reporting year ``year`` (the current one for undeclared years)."""
        for v in self.template_versions:
            if year is not None and year in v.years:
                return v
        return self.template_version()

    def sheet(self, code: str) -> Sheet:
        for s in self.sheets:
            if s.code == code:
                return s
        raise KeyError(code)

    @property
    def sheet_codes(self) -> list[str]:
        return [s.code for s in self.sheets]

    @property
    def sheet_level(self) -> tuple[Sheet, ...]:
        """The sheets read into memory and validated row by row (not the large data files)."""
        return tuple(s for s in self.sheets if s.storage == "sheet")

    def all_fields(self) -> list[Field]:
        return [f for s in self.sheets for f in s.fields]

    def rules_for(self, sheet: str) -> list[Rule]:
        return [r for r in self.rules if r.sheet == sheet]


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


#: sheet levels whose numeric fields accept 'n.v.t.' and 'onbekend' unless the field declares otherwise
MISSING_LEVELS = ("organisation", "product", "channel")
NO_MISSING = ("jaar",)


#: a value this many times the plausible maximum is not implausible but impossible (an error)
ABSURD_FACTOR = 1000


def _absurd(plausible_max: float | None) -> float | None:
    """The hard maximum of a field that declares only a plausible one."""
    return None if plausible_max is None else float(plausible_max) * ABSURD_FACTOR


def _missing_states(f: dict, level: str) -> tuple[str, ...]:
    """The answers a field accepts besides a value: as declared (``missing: [...]``), else both states for the
    numeric fields of the organisation, product and channel sheets and none for the rest."""
    if f.get("missing") is not None:
        return tuple(f["missing"])
    if f["type"] in NUMERIC_TYPES and level in MISSING_LEVELS and f["code"] not in NO_MISSING:
        return ("nvt", "onbekend")
    return ()


def load_yaml(text: str) -> Any:
    """``yaml.safe_load``, through libyaml when PyYAML has it (the registry then loads in 7 ms instead of 200 ms)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_registry(path: Path | None = None) -> Registry:
    """Load the registry from YAML (the packaged one unless ``path`` is given)."""
    if path is None:
        text = resources.files("pipeline.metadata").joinpath("submission.yaml").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    from pipeline.metadata.models import validate

    raw = validate("submission.yaml", load_yaml(text), str(path) if path else "pipeline/metadata/submission.yaml")
    code_lists = {k: tuple(str(x) for x in v) for k, v in raw["code_lists"].items()}
    all_codes = tuple(dict.fromkeys(f["code"] for f in raw["fields"]))
    code_lists["field_codes"] = all_codes
    fields_by_sheet: dict[str, list[Field]] = {}
    levels = {s["code"]: s["level"] for s in raw["sheets"]}
    for f in raw["fields"]:
        codes = f.get("codes")
        code_list = None
        if isinstance(codes, str):
            code_list = codes
            codes = None if codes == "register" else code_lists[codes]
        elif codes is not None:
            codes = tuple(str(c) for c in codes)
        fields_by_sheet.setdefault(f["sheet"], []).append(
            Field(
                code=f["code"],
                sheet=f["sheet"],
                type=f["type"],
                required=bool(f["required"]),
                unit=str(f.get("unit") or ""),
                label_nl=f["label_nl"],
                label_en=f["label_en"],
                description_nl=f["description_nl"],
                description_en=f["description_en"],
                min=f.get("min"),
                max=f.get("max") if f.get("max") is not None else _absurd(f.get("plausible_max")),
                codes=codes,
                code_list=code_list,
                max_length=f.get("max_length"),
                pattern=f.get("pattern"),
                plausibility=bool(f.get("plausibility", False)),
                missing=_missing_states(f, levels[f["sheet"]]),
                plausible_max=f.get("plausible_max"),
                plausible_length=f.get("plausible_length"),
            )
        )
    sheets = tuple(
        Sheet(
            code=s["code"],
            name_nl=s["name_nl"],
            name_en=s["name_en"],
            level=s["level"],
            required=bool(s["required"]),
            key=_tuple(s.get("key")),
            description_nl=s["description_nl"],
            description_en=s["description_en"],
            max_rows=s.get("max_rows"),
            fields=tuple(fields_by_sheet.get(s["code"], [])),
            storage=s.get("storage", "sheet"),
        )
        for s in raw["sheets"]
    )
    rules = tuple(
        Rule(
            code=r["code"],
            sheet=r["sheet"],
            kind=r["kind"],
            parts=_tuple(r.get("parts")),
            total=r.get("total"),
            a=r.get("a"),
            b=r.get("b"),
            total_sheet=r.get("total_sheet"),
        )
        for r in raw["rules"]
    )
    p = raw["plausibility"]
    ratios = tuple(
        Ratio(
            code=x["code"],
            sheet=x["sheet"],
            numerator=_tuple(x["numerator"]),
            denominator=_tuple(x["denominator"]),
            label_nl=x["label_nl"],
            label_en=x["label_en"],
        )
        for x in p["ratios"]
    )
    versions = _template_versions(raw, sheets, str(path) if path else "pipeline/metadata/submission.yaml")
    return Registry(
        version=str(raw["version"]),
        sheets=sheets,
        rules=rules,
        code_lists=code_lists,
        themes=tuple(raw["themes"]),
        yoy_threshold=float(p["yoy_threshold"]),
        robust_z_threshold=float(p["robust_z_threshold"]),
        min_peers=int(p["min_peers"]),
        ratios=ratios,
        template_versions=versions,
    )


def _template_versions(raw: dict, sheets: tuple[Sheet, ...], source: str) -> tuple[TemplateVersion, ...]:
    """The declared template versions, checked: the current version is declared without changes, every
    older one with a map whose sheets and field codes exist; versions and years are not declared twice."""
    from pipeline.metadata.models import MetadataError

    current = str(raw["version"])
    by_sheet = {s.code: s for s in sheets}
    problems: list[str] = []
    out: list[TemplateVersion] = []
    seen_years: dict[int, str] = {}
    for i, v in enumerate(raw.get("template_versions") or []):
        name = str(v["version"])
        where = f"template_versions[{i}] ({name})"
        if any(o.version == name for o in out):
            problems.append(f"{where}: version declared twice")
        for y in v["years"]:
            if y in seen_years:
                problems.append(f"{where}: year {y} is already declared for version {seen_years[y]}")
            seen_years[y] = name
        is_current = name == current
        changes: dict[str, SheetChanges] = {}
        if is_current and v.get("changes"):
            problems.append(f"{where}: the current version {current} has no changes to map")
        if not is_current and v.get("changes") is None:
            problems.append(f"{where}: an older version needs `changes` (its map to version {current})")
        for sheet_code, ch in (v.get("changes") or {}).items():
            sheet = by_sheet.get(sheet_code)
            if sheet is None or sheet.storage != "sheet":
                problems.append(f"{where}.changes: unknown sheet {sheet_code!r}")
                continue
            codes = set(sheet.field_codes)
            renamed = {str(k): str(t) for k, t in (ch.get("renamed") or {}).items()}
            added = tuple(str(x) for x in ch.get("added") or [])
            removed = tuple(str(x) for x in ch.get("removed") or [])
            split = {str(k): tuple(str(x) for x in t) for k, t in (ch.get("split") or {}).items()}
            targets = [("renamed", t) for t in renamed.values()] + [("added", a) for a in added]
            targets += [("split", t) for ts in split.values() for t in ts]
            for kind, target in targets:
                if target not in codes:
                    problems.append(f"{where}.changes.{sheet_code}.{kind}: unknown field code {target!r}")
            for kind, old in [("renamed", k) for k in renamed] + [("removed", r) for r in removed]:
                if old in codes:
                    problems.append(
                        f"{where}.changes.{sheet_code}.{kind}: {old!r} is a current field code, not an old column"
                    )
            for old, ts in split.items():
                if len(ts) < 2:
                    problems.append(f"{where}.changes.{sheet_code}.split: {old!r} must split into two or more fields")
            mapped = [t for _, t in targets]
            twice = sorted({t for t in mapped if mapped.count(t) > 1})
            if twice:
                problems.append(f"{where}.changes.{sheet_code}: field(s) mapped twice: {', '.join(twice)}")
            changes[sheet_code] = SheetChanges(renamed, added, removed, split)
        out.append(TemplateVersion(name, tuple(int(y) for y in v["years"]), changes, current=is_current))
    if out and not any(v.current for v in out):
        problems.append(f"template_versions: the current version {current} is not declared")
    if problems:
        raise MetadataError(f"{source}: " + "; ".join(problems))
    return tuple(out)


@lru_cache(maxsize=1)
def registry() -> Registry:
    return load_registry()


# ------------------------------------------------------------------ organisation register


@dataclass(frozen=True)
class Organisation:
    org_code: str
    name: str
    abbreviation: str
    cluster: str
    size_class: str
    member_since: int
    member_until: int | None
    predecessor_codes: tuple[str, ...]
    successor_code: str | None
    #: other names the organisation goes by in system exports (``rbb import`` matches them)
    aliases: tuple[str, ...] = ()

    def is_member(self, year: int) -> bool:
        return self.member_since <= year and (self.member_until is None or year <= self.member_until)


CLUSTERS = ("uitkeren", "heffen_innen", "registreren", "vergunnen_toetsen", "opvang_zorg_justitie")
CLUSTER_LABELS = {
    "nl": {
        "uitkeren": "Uitkeren",
        "heffen_innen": "Heffen en innen",
        "registreren": "Registreren",
        "vergunnen_toetsen": "Vergunnen, toetsen en examineren",
        "opvang_zorg_justitie": "Opvang, zorg en justitie",
    },
    "en": {
        "uitkeren": "Benefits and payments",
        "heffen_innen": "Tax and collection",
        "registreren": "Registries",
        "vergunnen_toetsen": "Licensing and examination",
        "opvang_zorg_justitie": "Reception, care and justice",
    },
}
SIZE_CLASSES = ("klein", "middel", "groot")


class RegisterError(ValueError):
    """The organisation register is malformed."""


def register_path(root: Path | None) -> Path | None:
    if root is not None:
        p = Path(root) / "data" / "organisations.csv"
        if p.exists():
            return p
    return None


def register_year(text: str) -> int:
    """A year in a register CSV: four ASCII digits (``2.015`` or ``２０１５`` is not read as a year)."""
    value = (text or "").strip()
    if not re.fullmatch(r"[0-9]{4}", value):
        raise ValueError(f"a year is written as four digits such as 2024, not {text!r}")
    return int(value)


def load_organisations(root: Path | None = None) -> list[Organisation]:
    """Load the register: the workspace copy ``data/organisations.csv`` if present, else the packaged one."""
    path = register_path(root)
    if path is None:
        text = resources.files("pipeline.metadata").joinpath("organisations.csv").read_text("utf-8")
        source = "packaged register"
    else:
        text = path.read_text("utf-8-sig")
        source = str(path)
    orgs: list[Organisation] = []
    seen: set[str] = set()
    for i, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            code = row["org_code"].strip().upper()
            if not code or code in seen:
                raise RegisterError(f"empty or duplicate org_code {code!r}")
            if row["cluster"] not in CLUSTERS:
                raise RegisterError(f"unknown cluster {row['cluster']!r}; expected one of {', '.join(CLUSTERS)}")
            if row["size_class"] not in SIZE_CLASSES:
                raise RegisterError(f"unknown size_class {row['size_class']!r}")
            orgs.append(
                Organisation(
                    org_code=code,
                    name=row["name"].strip(),
                    abbreviation=row["abbreviation"].strip(),
                    cluster=row["cluster"],
                    size_class=row["size_class"],
                    member_since=register_year(row["member_since"]),
                    member_until=register_year(row["member_until"]) if row.get("member_until") else None,
                    predecessor_codes=tuple(c for c in (row.get("predecessor_codes") or "").split(";") if c),
                    successor_code=row.get("successor_code") or None,
                    aliases=tuple(a.strip() for a in (row.get("aliases") or "").split(";") if a.strip()),
                )
            )
            seen.add(code)
        except (KeyError, ValueError) as exc:
            raise RegisterError(f"{source}, line {i}: {exc}") from None
    return orgs


def organisations_by_code(root: Path | None = None) -> dict[str, Organisation]:
    return {o.org_code: o for o in load_organisations(root)}
