"""What the reports of one year read from the warehouse: :class:`ReportData` and :func:`load_report_data`.

The loader reads the computed tables (``indicator_values``, ``benchmark_stats``, ``comparisons``; without them it
raises :class:`MissingTables`), the submissions and findings of the year, the status table and the optional
composite, DEA and review tables, every query in a fixed order so the same warehouse gives the same reports.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import duckdb

from pipeline.core import warehouse
from pipeline.metadata.models import load as load_metadata
from pipeline.metadata.registry import Organisation
from pipeline.validate.status import status_table


@lru_cache(maxsize=1)
def _catalogue_yaml() -> dict[str, Any]:
    return load_metadata("indicators.yaml")


CLUSTER_MIN_MEMBERS = int(_catalogue_yaml()["comparison"]["cluster_min_members"])
TREND_YEARS = int(_catalogue_yaml()["comparison"]["trend_years"])
SURVEY_RULES: dict[str, Any] = dict(_catalogue_yaml()["survey_rules"])
#: the reader's texts of an indicator, per language (indicators.yaml)
TEXT_KEYS = tuple(f"{key}_{lang}" for key in ("description", "formula", "caveat") for lang in ("nl", "en"))


@dataclass
class ReportData:
    """Everything the reports of one year read from the warehouse."""

    year: int
    years: list[int]
    orgs: dict[str, dict[str, Any]]
    catalogue: list[dict[str, Any]]
    values: dict[tuple[str, int, str], dict[str, Any]]
    stats: dict[tuple[int, str, str], dict[str, Any]]
    comparisons: dict[tuple[str, int, str], dict[str, Any]]
    strengths: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    composite: list[dict[str, Any]] = field(default_factory=list)
    uncertainty: list[dict[str, Any]] = field(default_factory=list)
    dea: list[dict[str, Any]] = field(default_factory=list)
    sensitivity: list[dict[str, Any]] = field(default_factory=list)
    value_log: list[dict[str, Any]] = field(default_factory=list)
    correlations: list[dict[str, Any]] = field(default_factory=list)
    reliability: list[dict[str, Any]] = field(default_factory=list)
    status: list[dict[str, Any]] = field(default_factory=list)
    # a merged or renamed member's values before its first year, from its predecessors (table lineage_values)
    lineage: dict[tuple[str, int, str], dict[str, Any]] = field(default_factory=dict)
    # comparator groups of the year (docs/comparators.md): members per set, statistics, profile, analyst sets
    comparator_groups: list[dict[str, Any]] = field(default_factory=list)
    comparator_stats: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    comparator_profile: list[dict[str, Any]] = field(default_factory=list)
    comparator_sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    _rows_by: dict[tuple[int, str], list[dict[str, Any]]] = field(default_factory=dict, repr=False)

    @property
    def reporting_orgs(self) -> list[str]:
        """Organisations with an accepted submission in force this year."""
        return sorted({s["org_code"] for s in self.submissions if s["in_force"]})

    @property
    def members(self) -> list[str]:
        """Every member of the register this year (``organisations``: member_since/member_until), with or
        without an accepted submission; each of them gets an organisation report."""
        return sorted({r["org_code"] for r in self.status} | set(self.reporting_orgs))

    def themes(self, lang: str) -> list[tuple[str, str]]:
        seen: dict[str, str] = {}
        for ind in self.catalogue:
            seen.setdefault(ind["theme"], ind.get(f"theme_{lang}") or ind["theme"])
        return list(seen.items())

    def stat(self, year: int, code: str, scope: str = "all") -> dict[str, Any] | None:
        """Published statistics only."""
        row = self.stats.get((year, code, scope))
        if row is None or not row.get("published") or row.get("median") is None:
            return None
        return row

    def value_rows(self, year: int, code: str) -> list[dict[str, Any]]:
        """Every member's row of ``values`` with a value for one indicator and year, in the order of ``values``."""
        if not self._rows_by:
            for (_, y, c), v in self.values.items():
                if v.get("value") is not None:
                    self._rows_by.setdefault((y, c), []).append(v)
        return self._rows_by.get((year, code), [])


class MissingTables(ValueError):
    """The warehouse has no computed indicators yet."""


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    cols = [d[0] for d in cur.description]
    return [{c: _clean(v) for c, v in zip(cols, row, strict=True)} for row in cur.fetchall()]


def _catalogue(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The indicator catalogue in the order of the YAML declaration (themes first, then indicators)."""
    spec = _catalogue_yaml()
    theme_order = {t: i for i, t in enumerate(spec["themes"])}
    ind_order = {ind["code"]: i for i, ind in enumerate(spec["indicators"])}
    if warehouse.table_exists(con, "indicator_catalogue"):
        rows = _rows(con, "SELECT * FROM indicator_catalogue")
    else:
        rows = [
            {
                **ind,
                "fields": ";".join(ind.get("fields", [])),
                "theme_nl": spec["themes"][ind["theme"]]["nl"],
                "theme_en": spec["themes"][ind["theme"]]["en"],
            }
            for ind in spec["indicators"]
        ]
    packaged = {ind["code"]: ind for ind in spec["indicators"]}
    for r in rows:
        r["decimals"] = int(r.get("decimals") if r.get("decimals") is not None else 1)
        for key in TEXT_KEYS:  # a catalogue table written before the texts had a language
            if r.get(key) is None:
                r[key] = packaged.get(r["code"], {}).get(key) or ""
    return sorted(
        rows,
        key=lambda r: (
            theme_order.get(r["theme"], len(theme_order)),
            r["theme"],
            ind_order.get(r["code"], len(ind_order)),
            r["code"],
        ),
    )


def latest_year(con: duckdb.DuckDBPyConnection) -> int | None:
    for table in ("indicator_values", "submissions"):
        if warehouse.table_exists(con, table):
            y = con.execute(f"SELECT max(year) FROM {table}").fetchone()[0]
            if y is not None:
                return int(y)
    return None


def _organisation(row: dict[str, Any]) -> Organisation:
    return Organisation(
        org_code=row["org_code"],
        name=row["name"],
        abbreviation=row.get("abbreviation") or "",
        cluster=row.get("cluster") or "",
        size_class=row.get("size_class") or "",
        member_since=int(row["member_since"]) if row.get("member_since") is not None else 0,
        member_until=None if row.get("member_until") is None else int(row["member_until"]),
        predecessor_codes=(),
        successor_code=row.get("successor_code"),
    )


def load_report_data(con: duckdb.DuckDBPyConnection, year: int) -> ReportData:
    """Read one year (and the trend window before it) from the warehouse."""
    for table in ("indicator_values", "benchmark_stats", "comparisons"):
        if not warehouse.table_exists(con, table):
            raise MissingTables(f"the warehouse has no table {table}; run 'rbb compute' first")
    years = [
        int(r["year"])
        for r in _rows(con, "SELECT DISTINCT year FROM indicator_values WHERE year <= ? ORDER BY year", [year])
    ]
    years = years[-TREND_YEARS:] or [year]
    first = years[0]
    orgs = {r["org_code"]: r for r in _rows(con, "SELECT * FROM organisations ORDER BY org_code")}
    values = {
        (r["org_code"], int(r["year"]), r["indicator_code"]): r
        for r in _rows(
            con,
            "SELECT * FROM indicator_values WHERE year BETWEEN ? AND ? ORDER BY org_code, year, indicator_code",
            [first, year],
        )
    }
    stats = {
        (int(r["year"]), r["indicator_code"], r["scope"]): r
        for r in _rows(
            con,
            "SELECT * FROM benchmark_stats WHERE year BETWEEN ? AND ? ORDER BY year, indicator_code, scope",
            [first, year],
        )
    }
    comparisons = {
        (r["org_code"], int(r["year"]), r["indicator_code"]): r
        for r in _rows(
            con,
            "SELECT * FROM comparisons WHERE year BETWEEN ? AND ? ORDER BY org_code, year, indicator_code",
            [first, year],
        )
    }
    data = ReportData(
        year=year,
        years=years,
        orgs=orgs,
        catalogue=_catalogue(con),
        values=values,
        stats=stats,
        comparisons=comparisons,
    )
    data.submissions = _rows(con, "SELECT * FROM submissions WHERE year = ? ORDER BY org_code, version", [year])
    data.findings = _rows(con, "SELECT * FROM findings WHERE year = ? ORDER BY org_code, version, seq", [year])
    status = status_table(con, [_organisation(o) for o in orgs.values()], year)
    data.status = [{k: _clean(v) for k, v in r.items()} for r in status.to_dict("records")]
    optional = {
        "strengths": ("strengths_weaknesses", "ORDER BY org_code, kind, score DESC, indicator_code"),
        "composite": ("composite_scores", "ORDER BY org_code, level DESC, node"),
        "uncertainty": ("composite_uncertainty", "ORDER BY org_code"),
        "dea": ("dea_results", "ORDER BY org_code, cluster, model"),
        "sensitivity": ("composite_sensitivity", "ORDER BY org_code, factor"),
        "value_log": ("composite_value_log", "ORDER BY indicator_code, org_code"),
        "correlations": ("indicator_correlations", "ORDER BY indicator_a, indicator_b"),
        "reliability": ("theme_reliability", "ORDER BY theme"),
    }
    for attr, (table, order) in optional.items():
        if warehouse.table_exists(con, table):
            setattr(data, attr, _rows(con, f"SELECT * FROM {table} WHERE year = ? {order}", [year]))
    if warehouse.table_exists(con, "comparator_groups"):
        data.comparator_groups = _rows(
            con,
            "SELECT * FROM comparator_groups WHERE year = ? ORDER BY set_kind, set_code, org_code, position, "
            "comparator_code",
            [year],
        )
        data.comparator_stats = {
            (r["org_code"], r["set_kind"], r["set_code"], r["indicator_code"]): r
            for r in _rows(
                con,
                "SELECT * FROM comparator_stats WHERE year = ? ORDER BY org_code, set_kind, set_code, indicator_code",
                [year],
            )
        }
    if warehouse.table_exists(con, "comparator_profile"):
        data.comparator_profile = _rows(
            con, "SELECT * FROM comparator_profile WHERE year = ? ORDER BY org_code, variable", [year]
        )
    if warehouse.table_exists(con, "comparator_sets"):
        data.comparator_sets = {r["code"]: r for r in _rows(con, "SELECT * FROM comparator_sets ORDER BY code")}
    if warehouse.table_exists(con, "lineage_values"):
        data.lineage = {
            (r["org_code"], int(r["year"]), r["indicator_code"]): r
            for r in _rows(
                con,
                "SELECT * FROM lineage_values WHERE year BETWEEN ? AND ? ORDER BY org_code, year, indicator_code",
                [first, year],
            )
        }
    return data
