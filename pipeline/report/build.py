"""``rbb report``: the analyst overview and the confidential organisation reports of one year.

Output under ``reports/<year>/``:

* ``index.html``: overview for analysts and programme management (names every member). It loads plotly.js
  from ``assets/plotly.min.js``, written once per year.
* ``organisations/<CODE>.html``: one report per organisation with accepted data, confidential to that
  organisation. Other members appear only as unlabeled points; tables and downloads hold only the organisation's
  own figures and published benchmark statistics. Each file is self-contained (plotly.js inline) so it can be
  sent as one e-mail attachment; with ``shared_assets=True`` it loads ``../assets/plotly.min.js`` instead.
* ``organisations-open/<CODE>.html`` (``open_mode=True``): the same report naming every member, for analysts.
* ``validation/<CODE>_v<version>.html``: the validation feedback pages, re-rendered.

English pages get an ``.en`` suffix (``index.en.html``). Output depends only on the warehouse: fixed chart ids,
sorted inputs and no timestamps, so the same warehouse gives byte-identical files.
"""

from __future__ import annotations

import ctypes
import errno
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote

import duckdb
import plotly.offline
from markupsafe import Markup

from pipeline.core import warehouse
from pipeline.metadata.models import load as load_metadata
from pipeline.metadata.registry import CLUSTER_LABELS, Organisation
from pipeline.validate.status import status_table
from pipeline.core.workspace import Workspace, atomic_write_text
from pipeline.report import charts
from pipeline.report import disclosure
from pipeline.report.disclosure import BAND_MIN_MEMBERS, MIN_MEMBERS, MemberView
from pipeline.report.feedback import feedback_path, write_feedback
from pipeline.report.render import fmt_number, render
from pipeline.report.visible import visible


@lru_cache(maxsize=1)
def _catalogue_yaml() -> dict[str, Any]:
    return load_metadata("indicators.yaml")


CLUSTER_MIN_MEMBERS = int(_catalogue_yaml()["comparison"]["cluster_min_members"])
TREND_YEARS = int(_catalogue_yaml()["comparison"]["trend_years"])

TEXT: dict[str, dict[str, Any]] = {
    "nl": {
        "overview_title": "RBB-benchmark {year}: overzicht",
        "overview_subtitle": "Rijksbrede Benchmarkgroep — benchmarkrapport voor analisten en programmaleiding",
        "overview_badge": "Vertrouwelijk — alleen programmaleiding en analisten",
        "org_title": "RBB-benchmark {year}: {name}",
        "org_subtitle": "Rijksbrede Benchmarkgroep — vergelijkingsrapport",
        "org_badge": "Vertrouwelijk — alleen voor {name}",
        "open_badge": "Niet geanonimiseerd — alleen voor analisten",
        "toc": "Inhoud", "summary": "Samenvatting", "completeness": "Aanlevering en volledigheid",
        "heatmap": "Kwartielen per organisatie en indicator", "clusters": "Clusters",
        "theme": "Thema", "methodology": "Methodologie", "composite": "Samengestelde index en efficiëntie",
        "profile": "Profiel per thema", "sw": "Sterke punten en aandachtspunten",
        "explanations": "Uw toelichtingen op gesignaleerde waarden", "reading": "Leeswijzer",
        "strengths": "Sterke punten", "weaknesses": "Aandachtspunten",
        "no_strengths": "Geen sterke punten aangewezen.", "no_weaknesses": "Geen aandachtspunten aangewezen.",
        "members_with_data": "Leden met geaccepteerde gegevens", "indicators": "Indicatoren",
        "years": "Jaren", "open_warnings": "Open waarschuwingen", "index_position": "Positie in de index",
        "efficiency": "Efficiëntiescore (DEA)", "not_available": "niet beschikbaar",
        "organisation": "Organisatie", "code": "Code", "cluster": "Cluster", "value": "Waarde", "ci": "95%-BI",
        "position": "Positie", "quartile": "Kwartiel", "percentile": "Percentiel", "flags": "Kenmerken",
        "year": "Jaar", "n": "n", "mean": "Gemiddelde", "median": "Mediaan", "min": "Minimum", "max": "Maximum",
        "median_all": "Mediaan alle leden", "band_all": "p25–p75 alle leden", "median_cluster": "Mediaan cluster",
        "band_cluster": "p25–p75 cluster", "status": "Status", "version": "Versie", "errors": "Fouten",
        "warnings": "Waarschuwingen", "explained": "toegelicht", "with_value": "Indicatoren met waarde",
        "feedback": "Terugkoppeling", "indicator": "Indicator", "definition": "Definitie", "formula": "Formule",
        "unit": "Eenheid", "direction": "Richting", "uncertainty": "Onzekerheid", "caveat": "Kanttekening",
        "source": "Bron", "sheet": "Blad", "cell": "Cel", "field": "Veld", "message": "Melding",
        "explanation": "Toelichting", "score": "Score", "rank": "Positie",
        "node": "Onderdeel", "index": "Index", "rank_interval": "Rangorde-interval (5%–95%)",
        "model": "Model", "super_efficiency": "Superefficiëntie",
        "robust": "Robuustheid", "units": "Aantal organisaties in de vergelijking", "peers": "Referentieorganisaties",
        "show_table": "Toon de gegevens als tabel", "download": "Download CSV", "of": "van",
        "position_text": "positie {rank} van {n}", "no_rank": "geen rangorde (contextindicator)",
        "quartile_text": {1: "kwartiel 1: het beste kwart", 2: "kwartiel 2", 3: "kwartiel 3",
                          4: "kwartiel 4: het minste kwart"},
        "not_published": "niet gepubliceerd (minder dan {k} leden)", "no_value": "geen waarde",
        "directions": {"higher": "hoger is beter", "lower": "lager is beter", "context": "context, geen rangorde"},
        "uncertainties": {"none": "geen", "t_mean": "t-interval (Kish effectieve n)", "wilson": "Wilson-interval"},
        "significance": {"better": "significant beter dan de mediaan van de andere leden",
                         "worse": "significant slechter dan de mediaan van de andere leden",
                         "not_significant": "geen significant verschil met de mediaan van de andere leden"},
        "trend": {"improving": "verbetert", "declining": "verslechtert", "stable": "stabiel"},
        "trend_text": "Meerjarige trend: {label}.",
        "flags_text": {"indicatief": "indicatief (kleine steekproef of breed interval)",
                       "suppressed": "onderdrukt: te weinig respondenten", "small_n": "klein aantal waarnemingen",
                       "definitie:AGENT_IVR": "definitie: inclusief gesprekken afgehandeld in het keuzemenu",
                       "incl_zwangerschap": "inclusief zwangerschapsverlof"},
        "states": {"accepted": "Geaccepteerd", "accepted_with_warnings": "Geaccepteerd, open waarschuwingen",
                   "rejected": "Afgewezen", "missing": "Niet aangeleverd"},
        "units_label": {"cijfer": "rapportcijfer", "%": "%", "‰": "‰", "dagen": "dagen", "ratio": "ratio",
                        "euro": "euro", "per 10.000": "per 10.000", "seconden": "seconden",
                        "per medewerker": "per medewerker", "jaar": "jaar"},
        "source_text": "Aanleveringen van de RBB-leden {years}; berekend door de RBB-pipeline "
                       "(indicatorwaarden en benchmarkstatistieken).",
        "own_summary": "Uw waarde {year}: {value} ({position}{quartile}).",
        "bench_summary": "Mediaan alle leden {median} (middelste helft {p25} tot {p75}, n = {n}).",
        "bench_median_only": "Mediaan alle leden {median} (n = {n}; de middelste helft wordt pas vanaf {k} leden "
                             "getoond).",
        "bench_hidden": "Geen benchmark getoond: minder dan {k} leden hebben een waarde.",
        "points_hidden": "{n} waarde(n) gebaseerd op minder dan {floor} waarnemingen staan niet als punt in de "
                         "figuur (ze tellen wel mee in de mediaan en de kwartielen).",
        "cluster_summary": "Mediaan van uw cluster {cluster}: {median}.",
        "cluster_hidden": "Clusterstatistiek niet getoond: minder dan {k} leden van uw cluster hebben een waarde.",
        "overview_ind_summary": "Waarden van {n} leden in {year}, beste bovenaan; rechts de mediaan en de middelste "
                                "helft (p25–p75) per jaar.",
        "values_table": "Waarden per organisatie in {year}", "trend_table": "Ontwikkeling {first}–{last}",
        "own_table": "Uw waarden en de benchmark per jaar", "named_table": "Alle leden in {year} (niet geanonimiseerd)",
        "heatmap_summary": "Kwartiel per organisatie (rijen) en indicator (kolommen) in {year}; 1 = beste kwart. "
                           "Contextindicatoren hebben geen kwartiel en ontbreken.",
        "heatmap_table": "Kwartiel per organisatie en indicator",
        "clusters_summary": "Gepubliceerde clustermedianen als percentage van de mediaan van alle leden "
                            "(100 = gelijk). Clusters met minder dan {k} waarden zijn niet gepubliceerd.",
        "clusters_table": "Clusterstatistieken {year}",
        "completeness_summary": "Aandeel van de {n} catalogusindicatoren met een waarde per organisatie, gekleurd "
                                "naar de status van de aanlevering.",
        "completeness_table": "Status en volledigheid per organisatie",
        "profile_summary": "Percentiel per indicator (100 = beste) gegroepeerd per thema; de balk is het gemiddelde "
                           "percentiel van het thema.",
        "profile_table": "Percentiel en kwartiel per indicator",
        "rank_summary": "Uw positie in de samengestelde index: {rank} van {n}; bij andere gewichten en methoden "
                        "ligt die tussen {lo} en {hi}.",
        "rank_table": "Scores per onderdeel van de index",
        "dea_hidden": ("Efficiëntiescore niet getoond: te weinig organisaties in de vergelijking (minstens {k}, en "
                       "voor een betrouwbare score minstens drie per gebruikte grootheid; zie de methode)."),
        "no_composite": "De samengestelde index is voor dit jaar niet berekend.",
        "no_dea": "De efficiëntieanalyse (DEA) is voor dit jaar niet berekend.",
        "no_explanations": "Er zijn geen toegelichte bevindingen voor dit jaar.",
        "open_findings": "Bevindingen zonder toelichting: {n}.",
        "composite_table": "Samengestelde index {year}", "dea_table": "Efficiëntie (DEA) {year}",
        "methodology_intro": "Alle indicatoren worden door de pipeline berekend uit de aangeleverde brongegevens "
                             "(teller / noemer × schaal). Kwartielen en posities houden rekening met de richting "
                             "van de indicator; contextindicatoren krijgen geen positie. Clusterstatistieken worden "
                             "alleen gepubliceerd als ten minste {k} leden van het cluster een waarde hebben.",
        "reading_text": "Dit rapport is vertrouwelijk en alleen bestemd voor {name}. Andere leden zijn anoniem: zij "
                        "verschijnen alleen als naamloze punten in de figuren. Extern mag u alleen uw eigen cijfers "
                        "en de benchmarkgemiddelden (mediaan, kwartielen) overnemen. Clustercijfers staan er alleen "
                        "als ten minste {k} leden van het cluster een waarde hebben.",
        "figure_note": "Elke figuur heeft de gegevens ook als tabel en als CSV-bestand.",
        "data_as_of": "Gegevens: aanleveringen ontvangen tot en met {date}.",
        "meta_completeness": "Registratie van de ontvangen aanleveringen en hun validatie (rbb ingest).",
        "meta_heatmap": "Kwartiel van de organisatie onder alle leden met een waarde; de richting van de indicator "
                        "bepaalt wat het beste kwart is.",
        "meta_clusters": "Mediaan van het cluster gedeeld door de mediaan van alle leden, × 100.",
        "meta_clusters_caveat": "Clusters verschillen in primair proces; vergelijk binnen een indicator, niet tussen "
                                "indicatoren.",
        "meta_profile": "Percentiel: de plaats van uw waarde onder alle leden (100 = beste, 0 = minste); alleen "
                        "indicatoren met een richting.",
        "meta_composite": "Samengestelde index volgens de methode van het JRC/OECD-handboek; het rangorde-interval "
                          "komt uit een Monte-Carlo-analyse van gewichten, normalisatie en aggregatie (5e–95e "
                          "percentiel).",
            },
    "en": {
        "overview_title": "RBB benchmark {year}: overview",
        "overview_subtitle": "Rijksbrede Benchmarkgroep — benchmark report for analysts and programme management",
        "overview_badge": "Confidential — programme management and analysts only",
        "org_title": "RBB benchmark {year}: {name}",
        "org_subtitle": "Rijksbrede Benchmarkgroep — comparison report",
        "org_badge": "Confidential — for {name} only",
        "open_badge": "Not anonymised — analysts only",
        "toc": "Contents", "summary": "Summary", "completeness": "Submissions and completeness",
        "heatmap": "Quartiles per organisation and indicator", "clusters": "Clusters",
        "theme": "Theme", "methodology": "Methodology", "composite": "Composite index and efficiency",
        "profile": "Profile per theme", "sw": "Strengths and points for attention",
        "explanations": "Your explanations of flagged values", "reading": "How to read this report",
        "strengths": "Strengths", "weaknesses": "Points for attention",
        "no_strengths": "No strengths identified.", "no_weaknesses": "No points for attention identified.",
        "members_with_data": "Members with accepted data", "indicators": "Indicators",
        "years": "Years", "open_warnings": "Open warnings", "index_position": "Position in the index",
        "efficiency": "Efficiency score (DEA)", "not_available": "not available",
        "organisation": "Organisation", "code": "Code", "cluster": "Cluster", "value": "Value", "ci": "95% CI",
        "position": "Position", "quartile": "Quartile", "percentile": "Percentile", "flags": "Flags",
        "year": "Year", "n": "n", "mean": "Mean", "median": "Median", "min": "Minimum", "max": "Maximum",
        "median_all": "Median of all members", "band_all": "p25–p75 all members", "median_cluster": "Cluster median",
        "band_cluster": "p25–p75 cluster", "status": "Status", "version": "Version", "errors": "Errors",
        "warnings": "Warnings", "explained": "explained", "with_value": "Indicators with a value",
        "feedback": "Feedback", "indicator": "Indicator", "definition": "Definition", "formula": "Formula",
        "unit": "Unit", "direction": "Direction", "uncertainty": "Uncertainty", "caveat": "Caveat",
        "source": "Source", "sheet": "Sheet", "cell": "Cell", "field": "Field", "message": "Message",
        "explanation": "Explanation", "score": "Score", "rank": "Position",
        "node": "Component", "index": "Index", "rank_interval": "Rank interval (5%–95%)",
        "model": "Model", "super_efficiency": "Super-efficiency",
        "robust": "Robustness", "units": "Organisations in the comparison", "peers": "Reference organisations",
        "show_table": "Show the data as a table", "download": "Download CSV", "of": "of",
        "position_text": "position {rank} of {n}", "no_rank": "not ranked (context indicator)",
        "quartile_text": {1: "quartile 1: the best quarter", 2: "quartile 2", 3: "quartile 3",
                          4: "quartile 4: the worst quarter"},
        "not_published": "not published (fewer than {k} members)", "no_value": "no value",
        "directions": {"higher": "higher is better", "lower": "lower is better", "context": "context, not ranked"},
        "uncertainties": {"none": "none", "t_mean": "t-interval (Kish effective n)", "wilson": "Wilson interval"},
        "significance": {"better": "significantly better than the median of the other members",
                         "worse": "significantly worse than the median of the other members",
                         "not_significant": "no significant difference from the median of the other members"},
        "trend": {"improving": "improving", "declining": "declining", "stable": "stable"},
        "trend_text": "Multi-year trend: {label}.",
        "flags_text": {"indicatief": "indicative (small sample or wide interval)",
                       "suppressed": "suppressed: too few respondents", "small_n": "small number of observations",
                       "definitie:AGENT_IVR": "definition: includes calls resolved in the voice menu",
                       "incl_zwangerschap": "includes pregnancy leave"},
        "states": {"accepted": "Accepted", "accepted_with_warnings": "Accepted, open warnings",
                   "rejected": "Rejected", "missing": "Not submitted"},
        "units_label": {"cijfer": "mark", "%": "%", "‰": "‰", "dagen": "days", "ratio": "ratio",
                        "euro": "euro", "per 10.000": "per 10,000", "seconden": "seconds",
                        "per medewerker": "per employee", "jaar": "years"},
        "source_text": "Submissions of the RBB members {years}; computed by the RBB pipeline "
                       "(indicator values and benchmark statistics).",
        "own_summary": "Your value {year}: {value} ({position}{quartile}).",
        "bench_summary": "Median of all members {median} (middle half {p25} to {p75}, n = {n}).",
        "bench_median_only": "Median of all members {median} (n = {n}; the middle half is shown from {k} members).",
        "bench_hidden": "No benchmark shown: fewer than {k} members have a value.",
        "points_hidden": "{n} value(s) based on fewer than {floor} observations are not drawn as points (they do "
                         "count in the median and quartiles).",
        "cluster_summary": "Median of your cluster {cluster}: {median}.",
        "cluster_hidden": "Cluster statistics not shown: fewer than {k} members of your cluster have a value.",
        "overview_ind_summary": "Values of {n} members in {year}, best at the top; right, the median and the middle "
                                "half (p25–p75) per year.",
        "values_table": "Values per organisation in {year}", "trend_table": "Development {first}–{last}",
        "own_table": "Your values and the benchmark per year", "named_table": "All members in {year} (not anonymised)",
        "heatmap_summary": "Quartile per organisation (rows) and indicator (columns) in {year}; 1 = best quarter. "
                           "Context indicators have no quartile and are left out.",
        "heatmap_table": "Quartile per organisation and indicator",
        "clusters_summary": "Published cluster medians as a percentage of the median of all members (100 = equal). "
                            "Clusters with fewer than {k} values are not published.",
        "clusters_table": "Cluster statistics {year}",
        "completeness_summary": "Share of the {n} catalogue indicators with a value per organisation, coloured by "
                                "submission status.",
        "completeness_table": "Status and completeness per organisation",
        "profile_summary": "Percentile per indicator (100 = best) grouped by theme; the bar is the theme's mean "
                           "percentile.",
        "profile_table": "Percentile and quartile per indicator",
        "rank_summary": "Your position in the composite index: {rank} of {n}; with other weights and methods it lies "
                        "between {lo} and {hi}.",
        "rank_table": "Scores per component of the index",
        "dea_hidden": ("Efficiency score not shown: too few organisations in the comparison (at least {k}, and for a "
                       "reliable score at least three per quantity used; see the method)."),
        "no_composite": "The composite index was not computed for this year.",
        "no_dea": "The efficiency analysis (DEA) was not computed for this year.",
        "no_explanations": "There are no explained findings for this year.",
        "open_findings": "Findings without an explanation: {n}.",
        "composite_table": "Composite index {year}", "dea_table": "Efficiency (DEA) {year}",
        "methodology_intro": "The pipeline computes every indicator from the submitted source data (numerator / "
                             "denominator × scale). Quartiles and positions take the indicator's direction into "
                             "account; context indicators are not ranked. Cluster statistics are published only "
                             "when at least {k} members of the cluster have a value.",
        "reading_text": "This report is confidential and meant for {name} only. Other members are anonymous: they "
                        "appear only as unlabeled points in the figures. Externally you may quote only your own "
                        "figures and the benchmark averages (median, quartiles). Cluster figures are shown only when "
                        "at least {k} members of the cluster have a value.",
        "figure_note": "Every figure also has its data as a table and as a CSV file.",
        "data_as_of": "Data: submissions received up to and including {date}.",
        "meta_completeness": "Register of the submissions received and their validation (rbb ingest).",
        "meta_heatmap": "The organisation's quartile among all members with a value; the indicator's direction "
                        "decides which quarter is best.",
        "meta_clusters": "Cluster median divided by the median of all members, × 100.",
        "meta_clusters_caveat": "Clusters differ in primary process; compare within an indicator, not across "
                                "indicators.",
        "meta_profile": "Percentile: where your value lies among all members (100 = best, 0 = worst); only "
                        "indicators with a direction.",
        "meta_composite": "Composite index following the JRC/OECD handbook; the rank interval comes from a Monte "
                          "Carlo analysis of weights, normalisation and aggregation (5th–95th percentile).",
            },
}


# ----------------------------------------------------------------------------------------------- data


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
    _sorted_values: dict[tuple[int, str], list[float]] = field(default_factory=dict, repr=False)

    @property
    def reporting_orgs(self) -> list[str]:
        """Organisations with an accepted submission in force this year."""
        return sorted({s["org_code"] for s in self.submissions if s["in_force"]})

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

    def peer_values(self, year: int, code: str) -> list[float]:
        """Every member's value for one indicator and year, sorted ascending (so the order says nothing)."""
        if not self._sorted_values:
            for (_, y, c), v in self.values.items():
                if v["value"] is not None:
                    self._sorted_values.setdefault((y, c), []).append(v["value"])
            for vals in self._sorted_values.values():
                vals.sort()
        return list(self._sorted_values.get((year, code), []))


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
        rows = [{**ind, "fields": ";".join(ind.get("fields", [])),
                 "theme_nl": spec["themes"][ind["theme"]]["nl"], "theme_en": spec["themes"][ind["theme"]]["en"]}
                for ind in spec["indicators"]]
    for r in rows:
        r["decimals"] = int(r.get("decimals") if r.get("decimals") is not None else 1)
    return sorted(rows, key=lambda r: (theme_order.get(r["theme"], len(theme_order)), r["theme"],
                                       ind_order.get(r["code"], len(ind_order)), r["code"]))


def latest_year(con: duckdb.DuckDBPyConnection) -> int | None:
    for table in ("indicator_values", "submissions"):
        if warehouse.table_exists(con, table):
            y = con.execute(f"SELECT max(year) FROM {table}").fetchone()[0]
            if y is not None:
                return int(y)
    return None


def _organisation(row: dict[str, Any]) -> Organisation:
    return Organisation(org_code=row["org_code"], name=row["name"], abbreviation=row.get("abbreviation") or "",
                        cluster=row.get("cluster") or "", size_class=row.get("size_class") or "",
                        member_since=int(row["member_since"]) if row.get("member_since") is not None else 0,
                        member_until=None if row.get("member_until") is None else int(row["member_until"]),
                        predecessor_codes=(), successor_code=row.get("successor_code"))


def load_report_data(con: duckdb.DuckDBPyConnection, year: int) -> ReportData:
    """Read one year (and the trend window before it) from the warehouse."""
    for table in ("indicator_values", "benchmark_stats", "comparisons"):
        if not warehouse.table_exists(con, table):
            raise MissingTables(f"the warehouse has no table {table}; run 'rbb compute' first")
    years = [int(r["year"]) for r in _rows(
        con, "SELECT DISTINCT year FROM indicator_values WHERE year <= ? ORDER BY year", [year])]
    years = years[-TREND_YEARS:] or [year]
    first = years[0]
    orgs = {r["org_code"]: r for r in _rows(con, "SELECT * FROM organisations ORDER BY org_code")}
    values = {(r["org_code"], int(r["year"]), r["indicator_code"]): r for r in _rows(
        con, "SELECT * FROM indicator_values WHERE year BETWEEN ? AND ? ORDER BY org_code, year, indicator_code",
        [first, year])}
    stats = {(int(r["year"]), r["indicator_code"], r["scope"]): r for r in _rows(
        con, "SELECT * FROM benchmark_stats WHERE year BETWEEN ? AND ? ORDER BY year, indicator_code, scope",
        [first, year])}
    comparisons = {(r["org_code"], int(r["year"]), r["indicator_code"]): r for r in _rows(
        con, "SELECT * FROM comparisons WHERE year BETWEEN ? AND ? ORDER BY org_code, year, indicator_code",
        [first, year])}
    data = ReportData(year=year, years=years, orgs=orgs, catalogue=_catalogue(con), values=values, stats=stats,
                      comparisons=comparisons)
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
    return data


# ----------------------------------------------------------------------------------------- formatting


def unit_label(ind: dict[str, Any], lang: str) -> str:
    unit = ind.get("unit") or ""
    return TEXT[lang]["units_label"].get(unit, unit)


def format_value(value: Any, ind: dict[str, Any], lang: str, with_unit: bool = False) -> str:
    """An indicator value as the reports print it: the catalogue's decimals, nl-NL or en separators."""
    text = fmt_number(value, ind["decimals"], lang)
    if not with_unit or text == "—":
        return text
    unit = ind.get("unit") or ""
    if unit == "euro":
        return f"€ {text}"
    if unit in ("%", "‰"):
        return f"{text}{unit}"
    if unit in ("cijfer", "ratio"):
        return text
    return f"{text} {unit_label(ind, lang)}"


def _ci_text(row: dict[str, Any] | None, ind: dict[str, Any], lang: str) -> str:
    if not row or row.get("ci_low") is None or row.get("ci_high") is None:
        return "—"
    return f"{format_value(row['ci_low'], ind, lang)} – {format_value(row['ci_high'], ind, lang)}"


def _band_text(p25: Any, p75: Any, ind: dict[str, Any], lang: str) -> str:
    if p25 is None or p75 is None:
        return "—"
    return f"{format_value(p25, ind, lang)} – {format_value(p75, ind, lang)}"


def _position_text(comp: dict[str, Any] | None, lang: str) -> str:
    t = TEXT[lang]
    if not comp or comp.get("rank") is None:
        return t["no_rank"]
    return t["position_text"].format(rank=int(comp["rank"]), n=int(comp["n_orgs"]))


def _flags_text(flags: str | None, lang: str) -> str:
    if not flags:
        return ""
    known = TEXT[lang]["flags_text"]
    return "; ".join(known.get(f, f) for f in flags.split(";") if f)


def _csv_number(value: Any, decimals: int | None, lang: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if decimals is None:
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    else:
        text = f"{float(value):.{decimals}f}"
    return text.replace(".", ",") if lang == "nl" else text


CSV_SEPARATORS = (";", ",")
FORMULA_PREFIXES = "=+-@\t\r"
# A spreadsheet starts a new cell at the start of a line and after either list separator (a file may be opened
# with the other one); a cell is a formula when it starts with a prefix, possibly after spaces and quotes.
_CELL_START = re.compile(r"(^|[;,\n\r])([ \"]*)(?=[=+\-@\t\r])")


def _csv_text(value: Any) -> str:
    """A text cell that no spreadsheet runs as a formula, whichever list separator it is opened with.

    An apostrophe goes before a formula prefix (= + - @ tab CR) at the start of the text and after every
    ``;``, ``,`` or line break in it (OWASP CSV injection); hidden and direction-changing characters are
    written out as ``<U+XXXX>``.
    """
    text = visible("" if value is None else value)
    return _CELL_START.sub(lambda m: f"{m.group(1)}{m.group(2)}'", text)


def _csv_cell(text: str) -> str:
    """Quote a cell holding either separator, a quote or a line break, so both dialects keep it whole."""
    if any(ch in text for ch in ';,"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_data_uri(header: list[str], rows: list[list[Any]], lang: str) -> str:
    """A CSV file as a data: URI. Cells: ("num", value, decimals) for numbers, anything else is text.

    Dutch files use ';' and a decimal comma (as Dutch Excel expects); English files ',' and a point. Every cell
    holding ';', ',', a quote or a line break is quoted in both dialects, and text cells are neutralised
    (:func:`_csv_text`), so opening a file with the other separator never yields a formula.
    """
    sep = ";" if lang == "nl" else ","
    lines = [sep.join(_csv_cell(_csv_text(h)) for h in header)]
    for row in rows:
        out = []
        for cell in row:
            if isinstance(cell, tuple) and cell and cell[0] == "num":
                out.append(_csv_cell(_csv_number(cell[1], cell[2], lang)))
            else:
                out.append(_csv_cell(_csv_text(cell)))
        lines.append(sep.join(out))
    return "data:text/csv;charset=utf-8," + quote("\ufeff" + "\r\n".join(lines) + "\r\n", safe="")


def _num(value: Any, decimals: int | None = None) -> tuple[str, Any, int | None]:
    return ("num", value, decimals)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def _table(caption: str, columns: list[tuple[str, bool]], rows: list[list[Any]], csv_header: list[str],
           csv_rows: list[list[Any]], name: str, lang: str) -> dict[str, Any]:
    """A data table plus its CSV download; ``columns`` are (label, numeric) pairs."""
    return {"caption": caption, "columns": columns, "rows": rows,
            "csv_href": csv_data_uri(csv_header, csv_rows, lang), "csv_name": f"{_slug(name)}.csv"}


def _block(fig_id: str, title: str, fig: dict[str, Any] | None, caption: str, tables: list[dict[str, Any]],
           meta: list[tuple[str, str]] | None = None, attrs: dict[str, str] | None = None,
           notes: list[str] | None = None) -> dict[str, Any]:
    return {"id": fig_id, "title": title, "chart": Markup(charts.to_div(fig, fig_id)) if fig else None,
            "caption": caption, "tables": tables, "meta": meta or [], "attrs": attrs or {}, "notes": notes or []}


def _org_label(org: dict[str, Any]) -> str:
    return org.get("abbreviation") or org["org_code"]


def _cluster_label(code: str | None, lang: str) -> str:
    if not code:
        return "—"
    return CLUSTER_LABELS[lang].get(code, code)


def _ind_name(ind: dict[str, Any], lang: str) -> str:
    return ind.get(f"name_{lang}") or ind["code"]


def _formula(ind: dict[str, Any], lang: str) -> str:
    scale = ind.get("scale")
    scale_text = "" if scale in (None, 1) else f" × {fmt_number(scale, 0, lang)}"
    num, den = ind.get("numerator") or "", ind.get("denominator") or ""
    if not num and not den:
        return "—"
    return f"({num}) / ({den}){scale_text}"


def _ind_meta(ind: dict[str, Any], lang: str, years_text: str) -> list[tuple[str, str]]:
    t = TEXT[lang]
    meta = [(t["definition"], ind.get("description") or "—"),
            (t["formula"], _formula(ind, lang)),
            (t["unit"], unit_label(ind, lang) + f" · {t['directions'].get(ind.get('direction'), '')}")]
    if ind.get("caveat"):
        meta.append((t["caveat"], ind["caveat"]))
    meta.append((t["source"], t["source_text"].format(years=years_text)))
    return meta


def _source(data: "ReportData", lang: str) -> str:
    return TEXT[lang]["source_text"].format(years=_years_text(data.years))


def _years_text(years: list[int]) -> str:
    return f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])


# --------------------------------------------------------------------------------- overview (analysts)


def _ranked_points(data: ReportData, ind: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for org_code in sorted(data.orgs):
        v = data.values.get((org_code, data.year, ind["code"]))
        if not v or v["value"] is None:
            continue
        org = data.orgs[org_code]
        rows.append({"org_code": org_code, "label": _org_label(org), "name": org["name"], "value": v["value"],
                     "ci_low": v.get("ci_low"), "ci_high": v.get("ci_high"), "cluster": org.get("cluster"),
                     "flags": v.get("flags"), "comp": data.comparisons.get((org_code, data.year, ind["code"]))})
    best_high = ind.get("direction") != "lower"
    return sorted(rows, key=lambda r: (-r["value"] if best_high else r["value"], r["org_code"]))


def _trend_rows(data: ReportData, code: str, scope: str = "all") -> list[dict[str, Any]]:
    out = []
    for y in data.years:
        s = data.stat(y, code, scope)
        out.append({"year": y, "median": s["median"] if s else None, "p25": s["p25"] if s else None,
                    "p75": s["p75"] if s else None, "n": s["n"] if s else None})
    return out


def _overview_indicator(data: ReportData, ind: dict[str, Any], lang: str) -> dict[str, Any]:
    t = TEXT[lang]
    code, dec = ind["code"], ind["decimals"]
    points = _ranked_points(data, ind)
    clusters = [(c, _cluster_label(c, lang)) for c in CLUSTER_LABELS[lang]]
    fig = charts.indicator_overview(points, data.stat(data.year, code), _trend_rows(data, code), clusters, dec,
                                    unit_label(ind, lang), lang)
    value_rows, value_csv = [], []
    for p in points:
        comp = p["comp"] or {}
        q = comp.get("quartile")
        value_rows.append([p["name"], _cluster_label(p["cluster"], lang), format_value(p["value"], ind, lang),
                           _ci_text(p, ind, lang),
                           "—" if comp.get("rank") is None else f"{int(comp['rank'])} {t['of']} {int(comp['n_orgs'])}",
                           "—" if q is None else str(int(q)), _flags_text(p["flags"], lang)])
        value_csv.append([p["org_code"], p["name"], p["cluster"] or "", _num(p["value"], dec),
                          _num(p["ci_low"], dec), _num(p["ci_high"], dec), _num(comp.get("rank")),
                          _num(comp.get("quartile")), p["flags"] or ""])
    trend_rows, trend_csv = [], []
    for y in data.years:
        s = data.stat(y, code)
        if not s:
            continue
        trend_rows.append([str(y), str(int(s["n"])), *(format_value(s[k], ind, lang)
                                                       for k in ("mean", "median", "p25", "p75", "min", "max"))])
        trend_csv.append([_num(y), _num(s["n"]), *(_num(s[k], dec) for k in ("mean", "median", "p25", "p75",
                                                                            "min", "max"))])
    name = _ind_name(ind, lang)
    tables = [
        _table(t["values_table"].format(year=data.year),
               [(t["organisation"], False), (t["cluster"], False), (t["value"], True), (t["ci"], True),
                (t["position"], True), (t["quartile"], True), (t["flags"], False)],
               value_rows, ["org_code", "organisation", "cluster", "value", "ci_low", "ci_high", "rank", "quartile",
                            "flags"], value_csv, f"{code}_{data.year}_values", lang),
        _table(t["trend_table"].format(first=data.years[0], last=data.years[-1]),
               [(t["year"], False), (t["n"], True), (t["mean"], True), (t["median"], True), ("p25", True),
                ("p75", True), (t["min"], True), (t["max"], True)],
               trend_rows, ["year", "n", "mean", "median", "p25", "p75", "min", "max"], trend_csv,
               f"{code}_trend", lang),
    ]
    return _block(f"fig-ind-{_slug(code)}", name, fig,
                  t["overview_ind_summary"].format(n=len(points), year=data.year), tables,
                  meta=_ind_meta(ind, lang, _years_text(data.years)), attrs={"indicator": code})


def _completeness_block(data: ReportData, reports: Path, lang: str) -> dict[str, Any]:
    t = TEXT[lang]
    n_ind = len(data.catalogue)
    status = data.status
    in_force = {s["org_code"]: s for s in data.submissions if s["in_force"]}
    latest = {s["org_code"]: s for s in data.submissions}
    labels, names, pct, states, rows, csv_rows = [], [], [], [], [], []
    for st in status:
        code = st["org_code"]
        org = data.orgs[code]
        n_val = sum(1 for ind in data.catalogue
                    if (data.values.get((code, data.year, ind["code"])) or {}).get("value") is not None)
        share = 100.0 * n_val / n_ind if n_ind else 0.0
        sub = in_force.get(code) or latest.get(code)
        labels.append(_org_label(org))
        names.append(org["name"])
        pct.append(share)
        states.append(st["state"])
        feedback: Any = "—"
        if sub is not None:
            path = feedback_path(reports, data.year, code, int(sub["version"]), lang)
            feedback = {"text": f"{t['feedback']} v{int(sub['version'])}",
                        "href": path.relative_to(reports / str(data.year)).as_posix()}
        warn = "—" if sub is None else (f"{int(sub['n_warnings'] or 0)} "
                                        f"({int(sub['n_warnings_explained'] or 0)} {t['explained']})")
        rows.append([code, org["name"], _cluster_label(org.get("cluster"), lang), t["states"][st["state"]],
                     "—" if st["version_in_force"] is None else f"v{int(st['version_in_force'])}",
                     "—" if st["errors"] is None else str(int(st["errors"])), warn,
                     f"{n_val} / {n_ind}", fmt_number(share, 0, lang), feedback])
        csv_rows.append([code, org["name"], org.get("cluster") or "", st["state"], _num(st["version_in_force"]),
                         _num(st["errors"]), _num(None if sub is None else sub["n_warnings"]),
                         _num(None if sub is None else sub["n_warnings_explained"]), _num(n_val), _num(share, 1)])
    fig = charts.completeness(labels, names, pct, states, lang)
    table = _table(t["completeness_table"],
                   [(t["code"], False), (t["organisation"], False), (t["cluster"], False), (t["status"], False),
                    (t["version"], False), (t["errors"], True), (t["warnings"], True), (t["with_value"], True),
                    ("%", True), (t["feedback"], False)],
                   rows, ["org_code", "organisation", "cluster", "state", "version_in_force", "errors", "warnings",
                          "warnings_explained", "indicators_with_value", "pct"], csv_rows,
                   f"completeness_{data.year}", lang)
    return _block("fig-completeness", t["completeness"], fig, t["completeness_summary"].format(n=n_ind), [table],
                  meta=[(t["definition"], t["meta_completeness"])])


def _heatmap_block(data: ReportData, lang: str) -> dict[str, Any]:
    t = TEXT[lang]
    ranked = [ind for ind in data.catalogue if ind.get("direction") != "context"]
    orgs = [data.orgs[c] for c in sorted(data.reporting_orgs, key=lambda c: (data.orgs[c].get("cluster") or "", c))]
    z, vals, rows, csv_rows = [], [], [], []
    for org in orgs:
        zr, vr, row, crow = [], [], [org["name"]], [org["org_code"], org["name"]]
        for ind in ranked:
            comp = data.comparisons.get((org["org_code"], data.year, ind["code"])) or {}
            q = comp.get("quartile")
            zr.append(None if q is None else int(q))
            vr.append(format_value(comp.get("value"), ind, lang, with_unit=True))
            row.append("—" if q is None else str(int(q)))
            crow.append(_num(None if q is None else int(q)))
        z.append(zr)
        vals.append(vr)
        rows.append(row)
        csv_rows.append(crow)
    fig = charts.quartile_heatmap([_org_label(o) for o in orgs], [o["name"] for o in orgs],
                                  [ind["code"] for ind in ranked], [_ind_name(ind, lang) for ind in ranked], z, vals,
                                  lang)
    table = _table(t["heatmap_table"], [(t["organisation"], False)] + [(ind["code"], True) for ind in ranked], rows,
                   ["org_code", "organisation"] + [ind["code"] for ind in ranked], csv_rows,
                   f"quartiles_{data.year}", lang)
    return _block("fig-heatmap", t["heatmap"], fig, t["heatmap_summary"].format(year=data.year), [table],
                  meta=[(t["definition"], t["meta_heatmap"]), (t["source"], _source(data, lang))])


def _clusters_block(data: ReportData, lang: str) -> dict[str, Any]:
    t = TEXT[lang]
    clusters = list(CLUSTER_LABELS[lang])
    series: dict[str, list[float | None]] = {c: [] for c in clusters}
    rows, csv_rows = [], []
    for ind in data.catalogue:
        overall = data.stat(data.year, ind["code"])
        row = [_ind_name(ind, lang)]
        for c in clusters:
            s = data.stat(data.year, ind["code"], c)
            raw = data.stats.get((data.year, ind["code"], c))
            if s:
                rel = 100.0 * s["median"] / overall["median"] if overall and overall["median"] else None
                series[c].append(rel)
                row.append(f"{format_value(s['median'], ind, lang)} ({_band_text(s['p25'], s['p75'], ind, lang)}; "
                           f"n = {int(s['n'])})")
                csv_rows.append([ind["code"], c, _num(s["n"]), _num(s["median"], ind["decimals"]),
                                 _num(s["p25"], ind["decimals"]), _num(s["p75"], ind["decimals"]), "true"])
            else:
                series[c].append(None)
                n = "" if not raw or raw.get("n") is None else f" (n = {int(raw['n'])})"
                row.append(t["not_published"].format(k=CLUSTER_MIN_MEMBERS) + n)
                csv_rows.append([ind["code"], c, _num(None if not raw else raw.get("n")), _num(None), _num(None),
                                 _num(None), "false"])
        rows.append(row)
    fig = charts.cluster_medians([_ind_name(ind, lang) for ind in data.catalogue],
                                 [(_cluster_label(c, lang), series[c]) for c in clusters], lang)
    table = _table(t["clusters_table"].format(year=data.year),
                   [(t["indicator"], False)] + [(_cluster_label(c, lang), True) for c in clusters], rows,
                   ["indicator", "cluster", "n", "median", "p25", "p75", "published"], csv_rows,
                   f"clusters_{data.year}", lang)
    return _block("fig-clusters", t["clusters"], fig, t["clusters_summary"].format(k=CLUSTER_MIN_MEMBERS), [table],
                  meta=[(t["definition"], t["meta_clusters"]), (t["caveat"], t["meta_clusters_caveat"]),
                        (t["source"], _source(data, lang))])


def _composite_overview(data: ReportData, lang: str) -> dict[str, Any] | None:
    t = TEXT[lang]
    if not data.uncertainty and not data.composite:
        return None
    index = {r["org_code"]: r for r in data.composite if r["node"] == "index"}
    unc = {r["org_code"]: r for r in data.uncertainty}
    codes = sorted(set(index) | set(unc), key=lambda c: ((index.get(c) or {}).get("rank") or 10**6, c))
    rows, csv_rows = [], []
    for c in codes:
        i, u = index.get(c) or {}, unc.get(c) or {}
        rows.append([data.orgs.get(c, {}).get("name", c), fmt_number(i.get("score"), 1, lang),
                     "—" if i.get("rank") is None else str(int(i["rank"])),
                     "—" if u.get("rank_lo") is None else f"{fmt_number(u['rank_lo'], 0, lang)} – "
                                                          f"{fmt_number(u['rank_hi'], 0, lang)}"])
        csv_rows.append([c, _num(i.get("score"), 3), _num(i.get("rank")), _num(u.get("median_rank"), 1),
                         _num(u.get("rank_lo"), 1), _num(u.get("rank_hi"), 1)])
    return _table(t["composite_table"].format(year=data.year),
                  [(t["organisation"], False), (t["score"], True), (t["rank"], True), (t["rank_interval"], True)],
                  rows, ["org_code", "score", "rank", "median_rank", "rank_lo", "rank_hi"], csv_rows,
                  f"composite_{data.year}", lang)


REVIEW_TEXT = {
    "nl": {
        "title": "Hoe robuust is de index?",
        "factors": {"weights": "Gewichten", "normalisation": "Normalisatie", "aggregation": "Aggregatie",
                    "imputation": "Imputatie", "indicator_error": "Meetonzekerheid"},
        "sens_title": "Wat bepaalt de positie in de index",
        "sens_caption": ("Per organisatie het aandeel van de variatie in haar positie in de index dat elke methodekeuze "
                         "verklaart, inclusief samenspel met de andere keuzes (totale Sobol-index, 0 tot 1). "
                         "Een donkere cel: die keuze verschuift de positie het meest. Schattingen hebben een "
                         "onnauwkeurigheid van ongeveer ±{err}; lees waarden onder 0,1 als ‘vrijwel geen’."),
        "sens_table": "Gevoeligheid van de positie per organisatie {year}",
        "colorbar": "Aandeel",
        "main": "Grootste invloed", "rank_interval": "Positie-interval (5–95 %)",
        "corr_table": "Indicatoren die elkaar overlappen of tegenspreken {year}",
        "corr_none": "Geen paren met |r| > 0,9 en geen tegenstrijdige indicatoren binnen een thema.",
        "pair": "Paar", "kind": "Soort", "redundant": "overlappend (|r| > 0,9)",
        "contradicting": "tegenstrijdig binnen het thema", "n": "Leden",
        "alpha_table": "Samenhang per thema (Cronbachs alfa) {year}", "theme": "Thema", "alpha": "Alfa",
        "n_ind": "Indicatoren",
        "log_table": "Geïmputeerde en behandelde waarden {year}", "value": "Waarde", "used": "Gebruikt",
        "how": "Bewerking", "imputed_cluster": "geïmputeerd: clustergemiddelde",
        "imputed_all": "geïmputeerd: gemiddelde van alle leden", "winsorised_high": "afgetopt (hoog)",
        "winsorised_low": "afgetopt (laag)", "log": "logaritmisch getransformeerd", "log_none": "Geen waarden geïmputeerd of behandeld.",
    },
    "en": {
        "title": "How robust is the index?",
        "factors": {"weights": "Weights", "normalisation": "Normalisation", "aggregation": "Aggregation",
                    "imputation": "Imputation", "indicator_error": "Measurement error"},
        "sens_title": "What drives the position in the index",
        "sens_caption": ("Per organisation, the share of the variation in its position in the index that each choice of "
                         "method explains, interactions with the other choices included (total Sobol index, 0 to 1). "
                         "A dark cell: that choice moves the position most. Estimates are uncertain by about ±{err}; "
                         "read values below 0.1 as 'hardly any'."),
        "sens_table": "Sensitivity of the position per organisation {year}",
        "colorbar": "Share",
        "main": "Largest influence", "rank_interval": "Rank interval (5–95%)",
        "corr_table": "Indicators that overlap or contradict each other {year}",
        "corr_none": "No pairs with |r| > 0.9 and no contradicting indicators within a theme.",
        "pair": "Pair", "kind": "Kind", "redundant": "overlapping (|r| > 0.9)",
        "contradicting": "contradicting within the theme", "n": "Members",
        "alpha_table": "Consistency per theme (Cronbach's alpha) {year}", "theme": "Theme", "alpha": "Alpha",
        "n_ind": "Indicators",
        "log_table": "Imputed and treated values {year}", "value": "Value", "used": "Used",
        "how": "Treatment", "imputed_cluster": "imputed: cluster mean", "imputed_all": "imputed: mean of all members",
        "winsorised_high": "capped (high)", "winsorised_low": "capped (low)", "log": "log-transformed",
        "log_none": "No values imputed or treated.",
    },
}


def _composite_review(data: ReportData, lang: str) -> dict[str, Any] | None:
    """For the analysts: what drives each member's position in the index, which indicators overlap or
    contradict each other, how consistent each theme is, and every imputed or treated value."""
    if not data.sensitivity:
        return None
    r = REVIEW_TEXT[lang]
    t = TEXT[lang]
    factors = [f for f in ("weights", "normalisation", "aggregation", "imputation", "indicator_error")
               if any(x["factor"] == f for x in data.sensitivity)]
    index = {x["org_code"]: x for x in data.composite if x["node"] == "index"}
    unc = {x["org_code"]: x for x in data.uncertainty}
    by_org: dict[str, dict[str, dict[str, Any]]] = {}
    for x in data.sensitivity:
        by_org.setdefault(x["org_code"], {})[x["factor"]] = x
    orgs = sorted(by_org, key=lambda c: ((index.get(c) or {}).get("rank") or 10**6, c))
    z, rows, csv_rows = [], [], []
    for c in orgs:
        tot = [by_org[c].get(f, {}).get("total") for f in factors]
        z.append([None if v is None else min(1.0, max(0.0, float(v))) for v in tot])
        ok = [(v, f) for v, f in zip(tot, factors) if v is not None]
        main = max(ok)[1] if ok else None
        u = unc.get(c) or {}
        rows.append([data.orgs.get(c, {}).get("name", c),
                     "—" if (index.get(c) or {}).get("rank") is None else str(int(index[c]["rank"])),
                     "—" if u.get("rank_lo") is None else f"{fmt_number(u['rank_lo'], 0, lang)} – {fmt_number(u['rank_hi'], 0, lang)}",
                     r["factors"][main] if main else "—"]
                    + ["—" if v is None else fmt_number(v, 2, lang) for v in tot])
        csv_rows.append([c, _num((index.get(c) or {}).get("rank")), _num(u.get("rank_lo"), 1), _num(u.get("rank_hi"), 1),
                         main or ""] + [_num(v, 3) for v in tot])
    n_base = int(data.sensitivity[0].get("n_base") or 128)
    fig = charts.share_heatmap([_org_label(data.orgs.get(c, {"org_code": c})) for c in orgs],
                               [data.orgs.get(c, {}).get("name", c) for c in orgs],
                               [r["factors"][f] for f in factors], z, r["colorbar"], lang)
    sens_table = _table(r["sens_table"].format(year=data.year),
                        [(t["organisation"], False), (t["rank"], True), (r["rank_interval"], True), (r["main"], False)]
                        + [(r["factors"][f], True) for f in factors], rows,
                        ["org_code", "rank", "rank_lo", "rank_hi", "main_factor"] + [f"total_{f}" for f in factors],
                        csv_rows, f"composite_sensitivity_{data.year}", lang)
    names = {ind["code"]: _ind_name(ind, lang) for ind in data.catalogue}
    flagged = [x for x in data.correlations if x.get("redundant") or x.get("contradicting")]
    corr_rows = [[f"{names.get(x['indicator_a'], x['indicator_a'])} — {names.get(x['indicator_b'], x['indicator_b'])}",
                  r["contradicting"] if x.get("contradicting") else r["redundant"],
                  fmt_number(x["pearson"], 2, lang), fmt_number(x["spearman"], 2, lang), str(int(x["n"]))]
                 for x in flagged]
    corr_csv = [[x["indicator_a"], x["indicator_b"], "contradicting" if x.get("contradicting") else "redundant",
                 _num(x["pearson"], 3), _num(x["spearman"], 3), _num(x["n"])] for x in flagged]
    corr_table = _table(r["corr_table"].format(year=data.year),
                        [(r["pair"], False), (r["kind"], False), ("Pearson r", True), ("Spearman ρ", True), (r["n"], True)],
                        corr_rows, ["indicator_a", "indicator_b", "kind", "pearson", "spearman", "n"], corr_csv,
                        f"indicator_correlations_{data.year}", lang)
    themes = dict(data.themes(lang))
    alpha_rows = [[themes.get(x["theme"], x["theme"]), fmt_number(x["cronbach_alpha"], 2, lang),
                   str(int(x["n_indicators"])), str(int(x["n_members"]))] for x in data.reliability]
    alpha_csv = [[x["theme"], _num(x["cronbach_alpha"], 3), _num(x["n_indicators"]), _num(x["n_members"])]
                 for x in data.reliability]
    alpha_table = _table(r["alpha_table"].format(year=data.year),
                         [(r["theme"], False), (r["alpha"], True), (r["n_ind"], True), (r["n"], True)],
                         alpha_rows, ["theme", "cronbach_alpha", "n_indicators", "n_members"], alpha_csv,
                         f"theme_reliability_{data.year}", lang)
    ind_by_code = {ind["code"]: ind for ind in data.catalogue}
    log = [x for x in data.value_log if x.get("imputed") or x.get("treatment")]
    log_rows, log_csv = [], []
    for x in log:
        ind = ind_by_code.get(x["indicator_code"], {"decimals": 2, "unit": ""})
        how = [r[f"imputed_{x['imputed_from']}"]] if x.get("imputed") else []
        how += [r[x["treatment"]]] if x.get("treatment") in ("winsorised_high", "winsorised_low", "log") else []
        log_rows.append([data.orgs.get(x["org_code"], {}).get("name", x["org_code"]), names.get(x["indicator_code"], x["indicator_code"]),
                         format_value(x.get("value"), ind, lang), format_value(x.get("used_value"), ind, lang), "; ".join(how)])
        log_csv.append([x["org_code"], x["indicator_code"], _num(x.get("value"), 6), _num(x.get("used_value"), 6),
                        x.get("imputed_from") or "", x.get("treatment") or "", _num(x.get("treated_value"), 6)])
    log_table = _table(r["log_table"].format(year=data.year),
                       [(t["organisation"], False), ("Indicator", False), (r["value"], True), (r["used"], True), (r["how"], False)],
                       log_rows, ["org_code", "indicator_code", "value", "used_value", "imputed_from", "treatment",
                                  "treated_value"], log_csv, f"composite_value_log_{data.year}", lang)
    notes = [] if flagged else [r["corr_none"]]
    if not log:
        notes.append(r["log_none"])
    block = _block("fig-composite-sensitivity", r["sens_title"], fig,
                   r["sens_caption"].format(err=fmt_number(1 / n_base ** 0.5, 2, lang)),
                   [sens_table, corr_table, alpha_table, log_table], notes=notes)
    return {"title": r["title"], "block": block}


def _dea_model(row: dict[str, Any]) -> str:
    """Model name with its inputs, outputs and returns to scale, when the warehouse has them."""
    parts = [row.get("model") or "—"]
    if row.get("inputs") and row.get("outputs"):
        spec = f"{row['inputs']} → {row['outputs']}".replace(",", ", ")
        extra = ", ".join(str(row[k]) for k in ("rts", "orientation") if row.get(k))
        parts.append(f"({spec}{'; ' + extra if extra else ''})")
    return " ".join(parts)


def _dea_overview(data: ReportData, lang: str) -> dict[str, Any] | None:
    t = TEXT[lang]
    if not data.dea:
        return None
    rows, csv_rows = [], []
    for r in sorted(data.dea, key=lambda r: (r.get("cluster") or "", r.get("model") or "", r["org_code"])):
        rows.append([data.orgs.get(r["org_code"], {}).get("name", r["org_code"]),
                     _cluster_label(r.get("cluster"), lang), _dea_model(r), fmt_number(r.get("score"), 3, lang),
                     fmt_number(r.get("super_efficiency"), 3, lang), r.get("robust_status") or "—",
                     "—" if r.get("n_units") is None else str(int(r["n_units"]))])
        csv_rows.append([r["org_code"], r.get("cluster") or "", r.get("model") or "", _num(r.get("score"), 4),
                         _num(r.get("super_efficiency"), 4), r.get("robust_status") or "", _num(r.get("n_units")),
                         r.get("peers") or ""])
    return _table(t["dea_table"].format(year=data.year),
                  [(t["organisation"], False), (t["cluster"], False), (t["model"], False), (t["score"], True),
                   (t["super_efficiency"], True), (t["robust"], False), (t["units"], True)],
                  rows, ["org_code", "cluster", "model", "score", "super_efficiency", "robust_status", "n_units",
                         "peers"], csv_rows, f"dea_{data.year}", lang)


def _methodology(data: ReportData, lang: str) -> dict[str, Any]:
    t = TEXT[lang]
    rows, csv_rows = [], []
    for ind in data.catalogue:
        rows.append([_ind_name(ind, lang), ind.get(f"theme_{lang}") or ind["theme"], ind.get("description") or "—",
                     _formula(ind, lang), unit_label(ind, lang), t["directions"].get(ind.get("direction"), "—"),
                     t["uncertainties"].get(ind.get("uncertainty"), ind.get("uncertainty") or "—"),
                     ind.get("caveat") or "—"])
        csv_rows.append([ind["code"], _ind_name(ind, lang), ind["theme"], ind.get("description") or "",
                         ind.get("numerator") or "", ind.get("denominator") or "", _num(ind.get("scale")),
                         ind.get("unit") or "", ind.get("direction") or "", ind.get("uncertainty") or "",
                         _num(ind.get("min_n")), ind.get("caveat") or ""])
    table = _table(t["methodology"],
                   [(t["indicator"], False), (t["theme"], False), (t["definition"], False), (t["formula"], False),
                    (t["unit"], False), (t["direction"], False), (t["uncertainty"], False), (t["caveat"], False)],
                   rows, ["code", "name", "theme", "description", "numerator", "denominator", "scale", "unit",
                          "direction", "uncertainty", "min_n", "caveat"], csv_rows, "indicator_catalogue", lang)
    return {"intro": t["methodology_intro"].format(k=CLUSTER_MIN_MEMBERS), "table": table}


def _data_as_of(data: ReportData, lang: str) -> str:
    dates = [s["received_at"] for s in data.submissions if s.get("received_at") is not None]
    return _date_text(max(dates) if dates else None, lang)


def _date_text(last: Any, lang: str) -> str:
    if last is None:
        return ""
    text = last.strftime("%d-%m-%Y") if lang == "nl" else last.strftime("%Y-%m-%d")
    return TEXT[lang]["data_as_of"].format(date=text)


def render_overview(data: ReportData, reports: Path, lang: str, plotly_script: dict[str, Any]) -> str:
    t = TEXT[lang]
    themes = []
    for theme, label in data.themes(lang):
        blocks = [_overview_indicator(data, ind, lang) for ind in data.catalogue if ind["theme"] == theme]
        themes.append({"id": f"theme-{_slug(theme)}", "label": label, "blocks": blocks})
    open_warnings = sum(max(0, int(s["n_warnings"] or 0) - int(s["n_warnings_explained"] or 0))
                        for s in data.submissions if s["in_force"])
    kpis = [(t["members_with_data"], str(len(data.reporting_orgs))), (t["indicators"], str(len(data.catalogue))),
            (t["years"], _years_text(data.years)), (t["open_warnings"], str(open_warnings))]
    return render(
        "overview.html", lang=lang, t=t, year=data.year,
        title=t["overview_title"].format(year=data.year), subtitle=t["overview_subtitle"],
        confidential=t["overview_badge"], plotly=plotly_script, kpis=kpis, data_as_of=_data_as_of(data, lang),
        completeness=_completeness_block(data, reports, lang), heatmap=_heatmap_block(data, lang),
        clusters=_clusters_block(data, lang), composite=_composite_overview(data, lang),
        dea=_dea_overview(data, lang), review=_composite_review(data, lang), themes=themes,
        methodology=_methodology(data, lang),
    )


# ------------------------------------------------------------------------ organisation (confidential)
#
# Everything below reads the warehouse only through a disclosure.MemberView: the member's own rows exactly,
# other members only as the disclosure rules allow (docs/confidentiality.md).


def _cluster_stats(view: MemberView, year: int, code: str) -> dict[str, Any] | None:
    """The member's cluster statistics, only when published (at least MIN_MEMBERS members with a value)."""
    if not view.cluster:
        return None
    return view.stat(code, year, view.cluster)


def _member_trend(view: MemberView, code: str) -> list[dict[str, Any]]:
    out = []
    for y in view.years:
        s = view.stat(code, y) or {}
        out.append({"year": y, "median": s.get("median"), "p25": s.get("p25"), "p75": s.get("p75")})
    return out


def _org_indicator(view: MemberView, ind: dict[str, Any], lang: str) -> dict[str, Any]:
    t = TEXT[lang]
    code, dec = ind["code"], ind["decimals"]
    cluster = view.cluster
    own = view.own(code)
    comp = view.comparison(code)
    stats = view.stat(code)
    cstats = _cluster_stats(view, view.year, code)
    own_trend = []
    for y in view.years:
        r = view.own(code, y) or {}
        own_trend.append({"year": y, "value": r.get("value"), "ci_low": r.get("ci_low"), "ci_high": r.get("ci_high")})
    cluster_trend = [{"year": y, "median": (_cluster_stats(view, y, code) or {}).get("median")} for y in view.years]
    peer_names = None
    peers = view.peers(code)
    peer_values = peers.values if peers else []
    if view.open_mode:
        named = sorted(view.named_points(code), key=lambda p: (p["value"], p["org_code"]))
        peer_values = [p["value"] for p in named]
        peer_names = [p["name"] for p in named]
    fig = charts.indicator_position(own, peer_values, stats, cstats, own_trend, _member_trend(view, code),
                                    cluster_trend, dec, unit_label(ind, lang), lang,
                                    cluster_label=_cluster_label(cluster, lang), peer_names=peer_names)
    rows, csv_rows = [], []
    hidden = t["not_published"].format(k=MIN_MEMBERS)
    for y in view.years:
        v = view.own(code, y)
        c = view.comparison(code, y)
        s = view.stat(code, y)
        cs = _cluster_stats(view, y, code)
        if not v and not s:
            continue
        rows.append([str(y), format_value((v or {}).get("value"), ind, lang), _ci_text(v, ind, lang),
                     format_value(s["median"], ind, lang) if s else hidden,
                     _band_text(s["p25"], s["p75"], ind, lang) if s else hidden,
                     format_value(cs["median"], ind, lang) if cs else hidden,
                     _band_text(cs["p25"], cs["p75"], ind, lang) if cs else hidden,
                     "—" if not c or c.get("rank") is None else f"{int(c['rank'])} {t['of']} {int(c['n_orgs'])}"])
        csv_rows.append([_num(y), _num((v or {}).get("value"), dec), _num((v or {}).get("ci_low"), dec),
                         _num((v or {}).get("ci_high"), dec), _num(s["median"] if s else None, dec),
                         _num(s["p25"] if s else None, dec), _num(s["p75"] if s else None, dec),
                         _num(cs["median"] if cs else None, dec), _num(cs["p25"] if cs else None, dec),
                         _num(cs["p75"] if cs else None, dec), _num(None if not c else c.get("rank")),
                         _num(None if not c else c.get("n_orgs"))])
    tables = [_table(t["own_table"],
                     [(t["year"], False), (t["value"], True), (t["ci"], True), (t["median_all"], True),
                      (t["band_all"], True), (t["median_cluster"], True), (t["band_cluster"], True),
                      (t["position"], True)],
                     rows, ["year", "value", "ci_low", "ci_high", "median_all", "p25_all", "p75_all",
                            "median_cluster", "p25_cluster", "p75_cluster", "rank", "n_orgs"], csv_rows,
                     f"{view.org_code}_{code}", lang)]
    if view.open_mode:
        named = sorted(view.named_points(code), key=lambda p: (p["value"], p["org_code"]),
                       reverse=ind.get("direction") != "lower")
        tables.append(_table(
            t["named_table"].format(year=view.year), [(t["organisation"], False), (t["value"], True)],
            [[p["name"], format_value(p["value"], ind, lang)] for p in named],
            ["org_code", "organisation", "value"],
            [[p["org_code"], p["name"], _num(p["value"], dec)] for p in named], f"{code}_{view.year}_all", lang))
    summary = []
    if own and own.get("value") is not None:
        q = (comp or {}).get("quartile")
        summary.append(t["own_summary"].format(
            year=view.year, value=format_value(own["value"], ind, lang, with_unit=True),
            position=_position_text(comp, lang), quartile="" if q is None else f", {t['quartile_text'][int(q)]}"))
    else:
        summary.append(f"{view.year}: {t['no_value']}.")
    if stats and stats.get("p25") is not None:
        summary.append(t["bench_summary"].format(
            median=format_value(stats["median"], ind, lang, with_unit=True),
            p25=format_value(stats["p25"], ind, lang), p75=format_value(stats["p75"], ind, lang),
            n=int(stats["n"])))
    elif stats:
        summary.append(t["bench_median_only"].format(
            median=format_value(stats["median"], ind, lang, with_unit=True), n=int(stats["n"]), k=BAND_MIN_MEMBERS))
    else:
        summary.append(t["bench_hidden"].format(k=MIN_MEMBERS))
    if cstats:
        summary.append(t["cluster_summary"].format(cluster=_cluster_label(cluster, lang),
                                                   median=format_value(cstats["median"], ind, lang, with_unit=True)))
    notes = []
    if not cstats:
        notes.append(t["cluster_hidden"].format(k=MIN_MEMBERS))
    if peers and peers.hidden and not view.open_mode:
        notes.append(t["points_hidden"].format(n=peers.hidden, floor=fmt_number(peers.floor, 0, lang)))
    if comp and comp.get("significance_label") in t["significance"]:
        notes.append(t["significance"][comp["significance_label"]].capitalize() + ".")
    if comp and comp.get("trend_label") in t["trend"]:
        notes.append(t["trend_text"].format(label=t["trend"][comp["trend_label"]]))
    if own and own.get("flags"):
        notes.append(f"{t['flags']}: {_flags_text(own['flags'], lang)}.")
    return _member_block(view, f"fig-ind-{_slug(code)}", _ind_name(ind, lang), fig, " ".join(summary), tables,
                         meta=_ind_meta(ind, lang, _years_text(view.years)), notes=notes,
                         attrs={"indicator": code, "cluster-published": "true" if cstats else "false"})


def _member_block(view: MemberView, fig_id: str, title: str, fig: dict[str, Any] | None, caption: str,
                  tables: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """A figure block of an organisation report: the figure passes the disclosure gate first."""
    if fig is not None:
        disclosure.seal(fig, open_mode=view.open_mode)
    return _block(fig_id, title, fig, caption, tables, **kwargs)


def _profile_block(view: MemberView, lang: str) -> dict[str, Any]:
    t = TEXT[lang]
    themes = view.themes(lang)
    points, rows, csv_rows = [], [], []
    for ind in view.catalogue:
        comp = view.comparison(ind["code"])
        if not comp or comp.get("percentile") is None:
            continue
        label = dict(themes)[ind["theme"]]
        points.append({"theme": label, "name": _ind_name(ind, lang), "percentile": comp["percentile"],
                       "quartile": None if comp.get("quartile") is None else int(comp["quartile"])})
        rows.append([label, _ind_name(ind, lang), fmt_number(comp["percentile"], 0, lang),
                     "—" if comp.get("quartile") is None else str(int(comp["quartile"])), _position_text(comp, lang)])
        csv_rows.append([ind["theme"], ind["code"], _num(comp["percentile"], 1), _num(comp.get("quartile")),
                         _num(comp.get("rank")), _num(comp.get("n_orgs"))])
    used = [label for _, label in themes if any(p["theme"] == label for p in points)]
    means = []
    for label in used:
        mine = [p["percentile"] for p in points if p["theme"] == label]
        means.append(sum(mine) / len(mine))
    fig = charts.theme_profile(used, points, means, lang) if points else None
    table = _table(t["profile_table"],
                   [(t["theme"], False), (t["indicator"], False), (t["percentile"], True), (t["quartile"], True),
                    (t["position"], False)],
                   rows, ["theme", "indicator", "percentile", "quartile", "rank", "n_orgs"], csv_rows,
                   f"{view.org_code}_{view.year}_profile", lang)
    return _member_block(view, "fig-profile", t["profile"], fig, t["profile_summary"], [table],
                         meta=[(t["definition"], t["meta_profile"]), (t["source"], _source(view, lang))])


def _strengths(view: MemberView, lang: str) -> dict[str, list[dict[str, str]]]:
    by_code = {ind["code"]: ind for ind in view.catalogue}
    out: dict[str, list[dict[str, str]]] = {"strength": [], "weakness": []}
    for r in view.strengths():
        if r["kind"] not in out:
            continue
        ind = by_code.get(r["indicator_code"])
        value = (view.own(r["indicator_code"]) or {}).get("value")
        out[r["kind"]].append({
            "indicator": _ind_name(ind, lang) if ind else r["indicator_code"],
            "value": format_value(value, ind, lang, with_unit=True) if ind else "",
            "reason": r.get(f"reason_{lang}") or r.get("reason_nl") or "",
            "anchor": f"fig-ind-{_slug(r['indicator_code'])}-title"})
    return out


def _composite_block(view: MemberView, lang: str) -> dict[str, Any]:
    t = TEXT[lang]
    themes = dict(view.themes(lang))
    result: dict[str, Any] = {"rank": None, "dea": None, "dea_note": None, "composite_note": None, "kpi": None,
                              "dea_kpi": None}
    unc, scores = view.composite()
    if unc:
        n_units, lo, hi = unc["n_units"], unc["rank_lo"], unc["rank_hi"]
        fig = charts.rank_interval(unc["nominal_rank"], lo, hi, unc.get("median_rank"), n_units, lang)
        rows, csv_rows = [], []
        for r in sorted(scores, key=lambda r: (r["node"] != "index", -(r.get("level") or 0), r["node"])):
            label = t["index"] if r["node"] == "index" else themes.get(r["node"], r["node"])
            rows.append([label, fmt_number(r.get("score"), disclosure.SCORE_DECIMALS, lang),
                         "—" if r.get("rank") is None else f"{int(r['rank'])} {t['of']} {r['n']}"])
            csv_rows.append([r["node"], _num(r.get("level")), _num(r.get("score"), disclosure.SCORE_DECIMALS),
                             _num(r.get("rank")), _num(r["n"])])
        interval = f"{fmt_number(lo, 0, lang)} – {fmt_number(hi, 0, lang)} {t['of']} {n_units}"
        rows.append([t["rank_interval"], "—", interval])
        csv_rows.append(["rank_interval", _num(None), _num(None), _num(lo, 1), _num(n_units)])
        table = _table(t["rank_table"], [(t["node"], False), (t["score"], True), (t["position"], True)], rows,
                       ["node", "level", "score", "rank", "n"], csv_rows, f"{view.org_code}_{view.year}_composite",
                       lang)
        caption = t["rank_summary"].format(rank=unc["nominal_rank"], n=n_units, lo=fmt_number(lo, 0, lang),
                                           hi=fmt_number(hi, 0, lang))
        result["rank"] = _member_block(view, "fig-composite", t["index_position"], fig, caption, [table],
                                       meta=[(t["definition"], t["meta_composite"]),
                                             (t["source"], _source(view, lang))])
        result["kpi"] = f"{unc['nominal_rank']} {t['of']} {n_units}"
    else:
        result["composite_note"] = t["no_composite"]
    shown, any_rows = view.dea()
    if shown:
        columns = [(t["model"], False), (t["cluster"], False), (t["score"], True), (t["robust"], False),
                   (t["units"], True)]
        header = ["model", "cluster", "score", "robust_status", "n_units"]
        rows = [[_dea_model(r), _cluster_label(r.get("cluster"), lang),
                 fmt_number(r.get("score"), disclosure.DEA_DECIMALS, lang), r.get("robust_status") or "—",
                 str(r["n_units"])] for r in shown]
        csv_rows = [[r.get("model") or "", r.get("cluster") or "", _num(r.get("score"), disclosure.DEA_DECIMALS),
                     r.get("robust_status") or "", _num(r.get("n_units"))] for r in shown]
        if view.open_mode:
            columns.append((t["peers"], False))
            header.append("peers")
            for row, csv_row, r in zip(rows, csv_rows, shown, strict=True):
                row.append(r.get("peers") or "—")
                csv_row.append(r.get("peers") or "")
        result["dea"] = _table(t["dea_table"].format(year=view.year), columns, rows, header, csv_rows,
                               f"{view.org_code}_{view.year}_dea", lang)
        result["dea_kpi"] = fmt_number(shown[0].get("score"), disclosure.DEA_DECIMALS, lang)
    elif any_rows:
        result["dea_note"] = t["dea_hidden"].format(k=MIN_MEMBERS)
    else:
        result["dea_note"] = t["no_dea"]
    return result


def _explanations(view: MemberView, lang: str) -> dict[str, Any]:
    t = TEXT[lang]
    if view.submission() is None:
        return {"table": None, "open": 0}
    mine = [f for f in view.findings() if f["severity"] != "error"]
    explained = [f for f in mine if f.get("explained")]
    open_count = sum(1 for f in mine if f["severity"] == "warning" and not f.get("explained"))
    if not explained:
        return {"table": None, "open": open_count}
    rows = [[f.get("sheet") or "—", f.get("cell") or "—", f.get("field") or "—",
             "—" if f.get("value") is None else str(f["value"]), f.get(f"message_{lang}") or f.get("message_nl") or "",
             f.get("explanation") or ""] for f in explained]
    csv_rows = [[f.get("sheet") or "", f.get("cell") or "", f.get("field") or "", f.get("value") or "",
                 f.get(f"message_{lang}") or "", f.get("explanation") or ""] for f in explained]
    table = _table(t["explanations"], [(t["sheet"], False), (t["cell"], False), (t["field"], False),
                                       (t["value"], True), (t["message"], False), (t["explanation"], False)],
                   rows, ["sheet", "cell", "field", "value", "message", "explanation"], csv_rows,
                   f"{view.org_code}_{view.year}_explanations", lang)
    return {"table": table, "open": open_count}


def render_organisation(data: ReportData, org_code: str, lang: str, plotly_script: dict[str, Any],
                        open_mode: bool = False) -> str:
    """One organisation's report; it sees the warehouse only through its disclosure.MemberView."""
    return _render_member(MemberView(data, org_code, open_mode=open_mode), lang, plotly_script)


def _render_member(view: MemberView, lang: str, plotly_script: dict[str, Any]) -> str:
    t = TEXT[lang]
    org = view.org
    themes = []
    for theme, label in view.themes(lang):
        blocks = [_org_indicator(view, ind, lang) for ind in view.catalogue if ind["theme"] == theme]
        themes.append({"id": f"theme-{_slug(theme)}", "label": label, "blocks": blocks})
    composite = _composite_block(view, lang)
    sw = _strengths(view, lang)
    kpis = [(t["cluster"], _cluster_label(view.cluster, lang)),
            (t["index_position"], composite["kpi"] or t["not_available"]),
            (t["efficiency"], composite["dea_kpi"] or t["not_available"]),
            (t["strengths"], str(len(sw["strength"]))), (t["weaknesses"], str(len(sw["weakness"])))]
    badge = t["open_badge"] if view.open_mode else t["org_badge"].format(name=org["name"])
    return render(
        "organisation.html", lang=lang, t=t, year=view.year, org=org,
        title=t["org_title"].format(year=view.year, name=org["name"]), subtitle=t["org_subtitle"],
        confidential=badge, plotly=plotly_script, kpis=kpis, data_as_of=_date_text(view.data_as_of(), lang),
        reading=t["reading_text"].format(name=org["name"], k=MIN_MEMBERS),
        profile=_profile_block(view, lang), sw=sw, composite=composite, themes=themes,
        explanations=_explanations(view, lang), methodology=_methodology(view, lang),
        provenance=_provenance(view, lang),
    )


def _provenance(view: MemberView, lang: str) -> str:
    """Which submission version of this organisation the report is based on (its own only)."""
    s = view.submission()
    if s is None:
        return ""
    org_code, year = view.org_code, view.year
    if lang == "en":
        return (f"Based on {org_code}'s submission version {int(s['version'])} for {year} "
                f"(file {s['original_name']}, received {s['received_at']:%d-%m-%Y}, SHA-256 {s['sha256'][:16]}…) "
                f"and the other members' submissions in force on the same date of this warehouse.")
    return (f"Gebaseerd op aanlevering versie {int(s['version'])} van {org_code} over {year} "
            f"(bestand {s['original_name']}, ontvangen {s['received_at']:%d-%m-%Y}, SHA-256 {s['sha256'][:16]}…) "
            f"en de geldende aanleveringen van de andere leden in dit datapakhuis.")


# ----------------------------------------------------------------------------------------------- I/O


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The plotly.js bundle that ships with the installed plotly package (never a CDN)."""
    return plotly.offline.get_plotlyjs()


ASSET = "assets/plotly.min.js"


def _inline_script() -> dict[str, Any]:
    return {"inline": Markup(plotly_js()), "src": None}


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
        self.message_nl = (f"Rapporten {year} niet geschreven: {nl}{where}. De vorige rapporten in {out_dir} zijn "
                           f"ongewijzigd. Maak ruimte vrij of herstel de oorzaak en probeer het opnieuw.")
        self.message_en = (f"Reports {year} not written: {en}{where}. The previous reports in {out_dir} are "
                           f"unchanged. Free some space or fix the cause and try again.")
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


def _fill_from(old: Path, new: Path) -> None:
    """Give the staged year folder every file of the current one it does not replace (hard links: no space)."""
    if not old.exists():
        return
    for src in sorted(old.rglob("*")):
        if src.is_dir() or (src.name.startswith(".") and ".tmp-" in src.name):
            continue
        dst = new / src.relative_to(old)
        if dst.exists():
            continue
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


def build_reports(ws: Workspace, year: int | None = None, org: str | None = None, lang: str = "nl",
                  open_mode: bool = False, shared_assets: bool = False) -> list[Path]:
    """Write the reports of one year into ``reports/<year>/`` and return the files written.

    The new files are written to a staging folder next to it (``reports/.<year>.tmp-<pid>/``), completed with
    hard links to the current files they do not replace, and swapped in as a whole. On any error (a full disk
    among them) the previous reports stay complete and unchanged, nothing temporary is left, and an
    ``OSError`` becomes a :class:`ReportWriteError` with a Dutch and English message.

    Args:
        ws: the workspace; the warehouse is opened read-only.
        year: reporting year (default: the latest year in the warehouse).
        org: only this organisation's report (the overview is still written).
        lang: "nl" (default) or "en".
        open_mode: name every member in the organisation reports (analysts only); written to
            ``organisations-open/`` so they are never mistaken for the confidential member reports.
        shared_assets: organisation reports load ``../assets/plotly.min.js`` instead of carrying plotly.js inline.
    """
    if lang not in TEXT:
        raise ValueError(f"unsupported language {lang!r}; use 'nl' or 'en'")
    con = warehouse.connect(ws.db_path, read_only=True)
    try:
        year = year or latest_year(con)
        if year is None:
            raise MissingTables("the warehouse holds no submissions yet")
        data = load_report_data(con, year)
        codes = data.reporting_orgs
        if org is not None:
            org = org.upper()
            if org not in codes:
                raise ValueError(f"no accepted data for organisation {org!r} in {year}")
            codes = [org]
        out_dir = ws.reports / str(year)
        _remove_stale_staging(ws.reports, year)
        stage_root = ws.reports / STAGING.format(year=year, pid=os.getpid())
        stage = stage_root / str(year)
        old_set: Path | None = None
        try:
            written = _write_set(con, data, ws.reports, out_dir, stage_root, stage, codes, org, lang, open_mode,
                                 shared_assets)
            _fill_from(out_dir, stage)
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


def _write_set(con: duckdb.DuckDBPyConnection, data: ReportData, reports: Path, out_dir: Path, stage_root: Path,
               stage: Path, codes: list[str], org: str | None, lang: str, open_mode: bool,
               shared_assets: bool) -> list[Path]:
    """Render the year's files into ``stage``; returns their final paths under ``out_dir``."""
    suffix = _suffix(lang)
    stage.mkdir(parents=True, exist_ok=True)
    asset = out_dir / ASSET
    written = [asset]
    if not asset.exists() or asset.read_text("utf-8") != plotly_js():
        atomic_write_text(stage / ASSET, plotly_js())
    atomic_write_text(stage / f"index{suffix}.html",
                      render_overview(data, reports, lang, {"inline": None, "src": ASSET}))
    written.append(out_dir / f"index{suffix}.html")
    folder = "organisations-open" if open_mode else "organisations"
    script = {"inline": None, "src": f"../{ASSET}"} if shared_assets else _inline_script()
    for code in codes:
        name = f"{folder}/{code}{suffix}.html"
        atomic_write_text(stage / name, render_organisation(data, code, lang, script, open_mode=open_mode))
        written.append(out_dir / name)
    ids = [s["submission_id"] for s in data.submissions if org is None or s["org_code"] == org]
    for path in write_feedback(con, stage_root, ids, langs=(lang,)):
        written.append(out_dir / path.relative_to(stage))
    return written
