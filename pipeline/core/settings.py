"""The workspace's own settings, ``data/settings.yaml``: the round's deadline calendar.

```yaml
calendar:
  2025:
    delivery: 2026-03-15      # deliveries due
    feedback: 2026-04-30      # corrections and explanations due
    publication: 2026-06-15   # release and reports
```

Analyst-defined comparator sets (docs/comparators.md), by characteristics of the register or as a list:

```yaml
comparator_sets:
  - {code: grote_uitvoerders, name_nl: Grote uitvoerders, name_en: Large implementing organisations,
     where: {size_class: [groot]}}
  - {code: uitkeren_breed, name_nl: ..., name_en: ..., members: [DUO, SVB, UWV, CAK, RVO]}
```

The file is optional; a year without an entry has no deadlines. It is checked when it is read: an unknown key,
a date that is not a date or deadlines out of order stop the command with the file and the entry named.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class SettingsError(ValueError):
    """``data/settings.yaml`` does not match its model."""


class Deadlines(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    delivery: dt.date
    feedback: dt.date | None = None
    publication: dt.date | None = None

    @model_validator(mode="after")
    def _in_order(self) -> Deadlines:
        dates = [d for d in (self.delivery, self.feedback, self.publication) if d is not None]
        if dates != sorted(dates):
            raise ValueError("the deadlines must follow each other: delivery, then feedback, then publication")
        return self

    def due(self, step: str) -> dt.date | None:
        return getattr(self, step)


class ComparatorSetSpec(BaseModel):
    """An analyst-defined comparator set: members by register characteristics (``where``) or by code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    name_nl: str = Field(min_length=1, max_length=80)
    name_en: str = Field(min_length=1, max_length=80)
    where: dict[Literal["cluster", "size_class"], list[str]] | None = None
    members: list[str] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> ComparatorSetSpec:
        if (self.where is None) == (self.members is None):
            raise ValueError("a comparator set has either 'where' (characteristics) or 'members' (a list)")
        if self.where is not None and (not self.where or not all(self.where.values())):
            raise ValueError("'where' needs at least one characteristic with at least one value")
        if self.members is not None and len(set(self.members)) != len(self.members):
            raise ValueError("a member is named twice in 'members'")
        return self


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    calendar: dict[int, Deadlines] = {}
    comparator_sets: list[ComparatorSetSpec] = []

    @model_validator(mode="after")
    def _unique_sets(self) -> Settings:
        codes = [c.code for c in self.comparator_sets]
        if len(codes) != len(set(codes)):
            raise ValueError("every comparator set needs its own code")
        if {"default", "all"} & set(codes):
            raise ValueError("'default' and 'all' are reserved comparator set codes")
        return self

    def deadlines(self, year: int) -> Deadlines | None:
        return self.calendar.get(int(year))


def settings_path(root: Path) -> Path:
    return Path(root) / "data" / "settings.yaml"


def load_settings(root: Path | None) -> Settings:
    """The workspace's settings (empty settings without a workspace or without the file)."""
    if root is None:
        return Settings()
    path = settings_path(root)
    if not path.exists():
        return Settings()
    try:
        raw = yaml.safe_load(path.read_text("utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not readable as YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: expected a mapping with 'calendar:' or 'comparator_sets:'")
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise SettingsError(f"{path}: {problems}") from None


#: settings that say when things happen, not how results are computed (a change does not make results stale)
CALENDAR_KEYS = ("calendar",)


def settings_sha(root: Path | None) -> str | None:
    """Checksum of the settings the computed results depend on: ``data/settings.yaml`` without its calendar
    (None when there are none)."""
    if root is None or not settings_path(root).exists():
        return None
    try:
        raw = yaml.safe_load(settings_path(root).read_text("utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError):
        return hashlib.sha256(settings_path(root).read_bytes()).hexdigest()
    if not isinstance(raw, dict):
        return hashlib.sha256(settings_path(root).read_bytes()).hexdigest()
    rest = {k: v for k, v in raw.items() if k not in CALENDAR_KEYS}
    if not rest:
        return None
    return hashlib.sha256(yaml.safe_dump(rest, sort_keys=True).encode("utf-8")).hexdigest()


def write_calendar(root: Path, calendar: dict[int, dict[str, dt.date]]) -> Path:
    """Write (or replace) the calendar of ``data/settings.yaml``, keeping the file's other settings."""
    path = settings_path(root)
    raw = {}
    if path.exists():
        raw = yaml.safe_load(path.read_text("utf-8")) or {}
    raw["calendar"] = {int(y): {k: v for k, v in d.items() if v is not None} for y, d in sorted(calendar.items())}
    Settings.model_validate(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), "utf-8")
    return path
