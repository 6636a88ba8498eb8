"""Pilot selection: where a pilot is most worthwhile, who can help, and what happened after.

The logic is a set of pure functions on DataFrames shaped like the warehouse tables of
docs/warehouse.md, bundled in :class:`PilotData`:

* :func:`find_candidates` - organisation x ranked indicator combinations where improvement is needed
  and the evidence is credible, each with a score; combinations whose data is not clean are kept
  with ``excluded = True`` and the reason;
* :func:`find_partners` - for each candidate, organisations demonstrably strong on that indicator;
* :func:`build_shortlist` - ranked shortlist with one partner each, spreading the coaching load;
* :func:`follow_up` and :func:`did_estimate` - difference in differences for registered pilots.

:func:`run_pilots` is the stage entry point (reads the warehouse, writes ``reports/<year>/pilots.*``);
:func:`add_pilot` maintains the analyst-editable register ``data/pilots_register.csv``.
Criteria, thresholds and weights live in ``metadata/pilots.yaml``.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from pipeline.metadata.models import load as load_metadata
from pipeline.metadata.models import validate as validate_metadata
from pipeline.metadata.registry import SIZE_CLASSES, load_organisations, load_yaml
from pipeline.report.render import fmt_number, render
from pipeline.core.workspace import Workspace, atomic_write_text

RANKED = ("higher", "lower")
REGISTER_COLUMNS = ("org_code", "indicator_code", "partner_org_code", "start_year", "note")
TOO_LITTLE_NL = "Te weinig gegevens om een effect vast te stellen"
TOO_LITTLE_EN = "Too little data to tell"
CRITERIA = ("gap_median", "gap_best_quartile", "persistence", "significance", "development_question", "efficiency")
PARTNER_CRITERIA = ("same_cluster", "same_size_class", "significantly_better", "top_quartile_years", "dea_peer")
COV_TYPES = ("HC1",)            # standard error shown beside the estimate; significance comes from permutation


class PilotError(ValueError):
    """The warehouse lacks what pilot selection needs."""


# ----------------------------------------------------------------------------------- configuration

@lru_cache(maxsize=1)
def _default_config_text() -> str:
    return resources.files("pipeline.metadata").joinpath("pilots.yaml").read_text("utf-8")


def default_config() -> dict[str, Any]:
    """The packaged settings of ``metadata/pilots.yaml`` (a fresh copy on every call)."""
    return validate_metadata("pilots.yaml", load_yaml(_default_config_text()), "pipeline/metadata/pilots.yaml")


def load_config(root: str | Path | None = None) -> dict[str, Any]:
    """Packaged settings, overridden key by key by ``<root>/data/pilots.yaml`` when it exists."""
    cfg = default_config()
    if root is not None:
        path = Path(root) / "data" / "pilots.yaml"
        if path.exists():
            override = load_yaml(path.read_text("utf-8")) or {}
            if not isinstance(override, dict):
                raise ValueError(f"{path}: expected a mapping of settings, e.g. 'shortlist_size: 8'")
            unknown = sorted(set(override) - set(cfg))
            if unknown:
                raise ValueError(f"{path}: unknown setting(s) {', '.join(unknown)}; "
                                 f"known settings: {', '.join(sorted(cfg))}")
            for key, value in override.items():
                if isinstance(cfg[key], dict) and isinstance(value, dict):
                    cfg[key] = {**cfg[key], **value}
                else:
                    cfg[key] = value
            check_config(cfg, source=str(path))
    return cfg


def check_config(cfg: Mapping[str, Any], source: str = "pilots.yaml") -> None:
    """Raise ValueError naming the setting when a value cannot be used."""
    for group, names in (("weights", CRITERIA), ("partner_weights", PARTNER_CRITERIA)):
        unknown = sorted(set(cfg[group]) - set(names))
        if unknown:
            raise ValueError(f"{source}: unknown {group} {', '.join(unknown)}; expected {', '.join(names)}")
        for name, w in cfg[group].items():
            if not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0:
                raise ValueError(f"{source}: {group}.{name} must be a number >= 0, not {w!r}")
    for name in ("min_bottom_years", "min_top_years", "max_pilots_per_partner", "shortlist_size",
                 "persistence_cap_years", "min_years_before", "min_years_after", "ideal_years",
                 "max_years_before", "min_controls"):
        v = cfg[name]
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{source}: {name} must be a whole number >= 1, not {v!r}")
    v = cfg["max_pilots_per_organisation"]
    if v is not None and (not isinstance(v, int) or v < 1):
        raise ValueError(f"{source}: max_pilots_per_organisation must be a whole number >= 1 or null, not {v!r}")
    for name in ("gap_cap_iqr", "efficiency_cap"):
        if not isinstance(cfg[name], (int, float)) or cfg[name] <= 0:
            raise ValueError(f"{source}: {name} must be a number > 0, not {cfg[name]!r}")
    if cfg["cov_type"] == "cluster":
        raise ValueError(f"{source}: cov_type 'cluster' is no longer available: a pilot has one treated "
                         "organisation, and cluster-robust standard errors with one treated cluster are far too "
                         "small (Conley & Taber 2011; MacKinnon & Webb 2017). Use cov_type: HC1; the verdict "
                         "comes from randomisation inference over the comparable members (docs/pilots.md)")
    if cfg["cov_type"] not in COV_TYPES:
        raise ValueError(f"{source}: cov_type must be one of {', '.join(COV_TYPES)}, not {cfg['cov_type']!r}")
    if not 0 < float(cfg["confidence"]) < 1:
        raise ValueError(f"{source}: confidence must lie between 0 and 1, not {cfg['confidence']!r}")


# ------------------------------------------------------------------------------------- input data

@dataclass
class PilotData:
    """The warehouse tables pilot selection reads (only ``comparisons`` and ``catalogue`` are required).

    ``findings`` should hold the findings of the submissions in force (an ``in_force`` column, when
    present, is used to filter); ``organisatie`` needs ``org_code, year, ontwikkelvraag_thema``.
    """

    comparisons: pd.DataFrame
    catalogue: pd.DataFrame
    organisations: pd.DataFrame = field(default_factory=pd.DataFrame)
    indicator_values: pd.DataFrame = field(default_factory=pd.DataFrame)
    findings: pd.DataFrame = field(default_factory=pd.DataFrame)
    organisatie: pd.DataFrame = field(default_factory=pd.DataFrame)
    dea_results: pd.DataFrame = field(default_factory=pd.DataFrame)
    composite_uncertainty: pd.DataFrame = field(default_factory=pd.DataFrame)


@lru_cache(maxsize=1)
def _indicators_yaml() -> dict[str, Any]:
    return load_metadata("indicators.yaml")


def catalogue_from_yaml() -> pd.DataFrame:
    """The packaged indicator catalogue in the shape of the warehouse table ``indicator_catalogue``."""
    raw = _indicators_yaml()
    themes = raw.get("themes", {})
    rows = []
    for ind in raw["indicators"]:
        theme = themes.get(ind["theme"], {})
        rows.append({
            "code": ind["code"], "theme": ind["theme"], "name_nl": ind["name_nl"], "name_en": ind["name_en"],
            "unit": str(ind.get("unit") or ""), "scale": ind.get("scale"), "decimals": int(ind.get("decimals", 1)),
            "direction": ind["direction"], "fields": list(ind.get("fields") or []),
            "theme_nl": theme.get("nl", ind["theme"]), "theme_en": theme.get("en", ind["theme"]),
        })
    return pd.DataFrame(rows)


def organisations_frame(root: str | Path | None = None) -> pd.DataFrame:
    """The organisation register as a DataFrame shaped like the warehouse table ``organisations``."""
    return pd.DataFrame([{
        "org_code": o.org_code, "name": o.name, "abbreviation": o.abbreviation, "cluster": o.cluster,
        "size_class": o.size_class, "member_since": o.member_since, "member_until": o.member_until,
    } for o in load_organisations(Path(root) if root is not None else None)])


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, float) and math.isnan(value))
    except TypeError:
        return False


def _float(value: Any) -> float:
    if _missing(value):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value).strip()


def _as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    if _missing(value):
        return []
    return [p for p in re.split(r"[;,\s\[\]'\"]+", str(value)) if p]


def _catalogue_map(catalogue: pd.DataFrame) -> dict[str, dict[str, Any]]:
    out = {}
    for rec in catalogue.to_dict("records"):
        theme = _text(rec.get("theme"))
        out[str(rec["code"])] = {
            "theme": theme, "direction": _text(rec.get("direction")),
            "name_nl": _text(rec.get("name_nl")) or str(rec["code"]),
            "name_en": _text(rec.get("name_en")) or _text(rec.get("name_nl")) or str(rec["code"]),
            "unit": _text(rec.get("unit")),
            "decimals": int(_float(rec.get("decimals"))) if not math.isnan(_float(rec.get("decimals"))) else 1,
            "fields": _as_list(rec.get("fields")),
            "theme_nl": _text(rec.get("theme_nl")) or theme, "theme_en": _text(rec.get("theme_en")) or theme,
        }
    return out


def _org_map(data: PilotData) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    if not data.organisations.empty:
        for rec in data.organisations.to_dict("records"):
            code = str(rec["org_code"])
            out[code] = {"name": _text(rec.get("name")) or code,
                         "label": _text(rec.get("abbreviation")) or code,
                         "cluster": _text(rec.get("cluster")), "size_class": _text(rec.get("size_class"))}
    comp = data.comparisons
    if "cluster" in comp.columns:
        for code, cluster in comp[["org_code", "cluster"]].drop_duplicates("org_code").itertuples(index=False):
            entry = out.setdefault(str(code), {"name": str(code), "label": str(code), "cluster": "", "size_class": ""})
            if not entry["cluster"]:
                entry["cluster"] = _text(cluster)
    return out


def _label(orgs: Mapping[str, Mapping[str, str]], code: str) -> str:
    return orgs.get(code, {}).get("label") or code


def _streaks(comparisons: pd.DataFrame, year: int, quartile: int) -> dict[tuple[str, str], int]:
    """Consecutive years up to and including ``year`` in which each org x indicator sat in ``quartile``."""
    q = pd.to_numeric(comparisons["quartile"], errors="coerce")
    hits = comparisons.loc[(q == quartile) & (comparisons["year"] <= year), ["org_code", "indicator_code", "year"]]
    years: dict[tuple[str, str], set[int]] = {}
    for org, ind, y in hits.itertuples(index=False):
        years.setdefault((str(org), str(ind)), set()).add(int(y))
    out = {}
    for key, ys in years.items():
        n, y = 0, year
        while y in ys:
            n, y = n + 1, y - 1
        if n:
            out[key] = n
    return out


def _development_themes(organisatie: pd.DataFrame, year: int) -> dict[str, str]:
    if organisatie.empty or "ontwikkelvraag_thema" not in organisatie.columns:
        return {}
    rows = organisatie[organisatie["year"] == year].sort_values("org_code")
    out = {}
    for org, theme in rows[["org_code", "ontwikkelvraag_thema"]].itertuples(index=False):
        if _text(theme):
            out[str(org)] = _text(theme).lower()
    return out


def _is_input_model(model: str) -> bool:
    tokens = [t for t in re.split(r"[^a-z]+", model.lower()) if t]
    return any(t in ("in", "input", "io", "inp") for t in tokens) or "input" in model.lower()


def parse_lambdas(text: Any, peers: Any = None) -> dict[str, float]:
    """``"CODE:0.5;CODE2:0.25"`` as ``{"CODE": 0.5, "CODE2": 0.25}``; peers without weight get NaN."""
    out: dict[str, float] = {}
    for part in _text(text).split(";"):
        code, _, weight = part.strip().partition(":")
        if code.strip():
            out[code.strip()] = _float(weight.replace(",", ".")) if weight.strip() else math.nan
    for code in _text(peers).split(";"):
        if code.strip() and code.strip() not in out:
            out[code.strip()] = math.nan
    return out


def _dea(dea_results: pd.DataFrame, year: int, cfg: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per organisation: score, model and positive-lambda peers of the preferred input-oriented model."""
    if dea_results.empty:
        return {}
    rows = dea_results[dea_results["year"] == year]
    if "orientation" in rows.columns:
        inputs = rows["orientation"].fillna("").astype(str).str.lower().isin(["in", "input"])
    else:
        inputs = rows["model"].fillna("").astype(str).map(_is_input_model)
    models = sorted({str(m) for m in rows.loc[inputs, "model"].dropna()})
    if not models:
        return {}
    preferred = [m for m in cfg.get("dea_models") or [] if m in models]
    model = preferred[0] if preferred else models[0]
    rows = rows[rows["model"] == model].sort_values(["org_code"] + (["cluster"] if "cluster" in rows else []))
    out: dict[str, dict[str, Any]] = {}
    for rec in rows.to_dict("records"):
        org = str(rec["org_code"])
        if org in out:
            continue
        lambdas = parse_lambdas(rec.get("lambdas"), rec.get("peers"))
        peers = {p: w for p, w in lambdas.items() if p != org and (math.isnan(w) or w > 0)}
        out[org] = {"score": _float(rec.get("score")), "model": model, "peers": peers}
    return out


def _composite_bottom(unc: pd.DataFrame, year: int, share: float) -> dict[str, tuple[float, int]]:
    """Organisations whose best plausible composite rank (rank_lo) still lies in the bottom quarter."""
    if unc.empty:
        return {}
    out = {}
    for rec in unc[unc["year"] == year].to_dict("records"):
        rank_lo, n = _float(rec.get("rank_lo")), _float(rec.get("n_units"))
        if not math.isnan(rank_lo) and not math.isnan(n) and n > 0 and rank_lo > (1 - share) * n:
            out[str(rec["org_code"])] = (rank_lo, int(n))
    return out


def _open_warnings(findings: pd.DataFrame, year: int) -> dict[str, Counter]:
    """Per organisation: unexplained warnings in ``year`` counted per 'sheet.field' (and bare field)."""
    if findings.empty:
        return {}
    f = findings[(findings["year"] == year) & (findings["severity"] == "warning")]
    if "in_force" in f.columns:
        f = f[f["in_force"].fillna(False).astype(bool)]
    if "explained" in f.columns:
        f = f[~f["explained"].fillna(False).astype(bool)]
    out: dict[str, Counter] = {}
    for rec in f.to_dict("records"):
        fld = _text(rec.get("field"))
        if not fld:
            continue
        sheet = _text(rec.get("sheet"))
        out.setdefault(str(rec["org_code"]), Counter())[f"{sheet}.{fld}" if sheet else fld] += 1
    return out


def _unclean_fields(fields: Sequence[str], warnings: Counter | None) -> list[tuple[str, int]]:
    if not warnings:
        return []
    hits = []
    for key in fields:
        bare = key.split(".", 1)[-1]
        n = warnings.get(key, 0) + (warnings.get(bare, 0) if bare != key else 0)
        if n:
            hits.append((key, n))
    return hits


def _value_flags(indicator_values: pd.DataFrame, year: int) -> dict[tuple[str, str], list[str]]:
    if indicator_values.empty or "flags" not in indicator_values.columns:
        return {}
    rows = indicator_values[indicator_values["year"] == year]
    return {(str(o), str(i)): [p for p in _text(fl).split(";") if p]
            for o, i, fl in rows[["org_code", "indicator_code", "flags"]].itertuples(index=False) if _text(fl)}


def _registered(register: pd.DataFrame | None) -> dict[tuple[str, str], list[int]]:
    out: dict[tuple[str, str], list[int]] = {}
    if register is None or register.empty:
        return out
    for rec in register.to_dict("records"):
        out.setdefault((str(rec["org_code"]), str(rec["indicator_code"])), []).append(int(rec["start_year"]))
    return out


def _clip01(x: float) -> float:
    return 0.0 if math.isnan(x) else float(min(1.0, max(0.0, x)))


# ------------------------------------------------------------------------------------- candidates

def find_candidates(data: PilotData, year: int, config: Mapping[str, Any] | None = None,
                    register: pd.DataFrame | None = None) -> pd.DataFrame:
    """Organisation x ranked indicator combinations in ``year`` where a pilot could pay off.

    A combination qualifies when it sits in the bottom quartile for at least ``min_bottom_years``
    consecutive years up to ``year``, or (with ``significant_qualifies``) in the bottom quartile
    and significantly worse this year. Each gets criteria in [0, 1] and a weighted score. A
    qualifying combination is kept with ``excluded = True`` and a reason when its data is not
    clean (unexplained warnings on the indicator's fields, a value flag listed in
    ``exclude_flags``) or when a pilot on it is already registered.

    Returns one row per qualifying combination, ordered by ``excluded``, score (highest first),
    ``org_code``, ``indicator_code``.
    """
    cfg = dict(config or default_config())
    cat = _catalogue_map(data.catalogue)
    comp = data.comparisons[data.comparisons["year"] <= year]
    orgs = _org_map(data)
    bottom = _streaks(comp, year, 4)
    dev = _development_themes(data.organisatie, year)
    dea = _dea(data.dea_results, year, cfg)
    composite = _composite_bottom(data.composite_uncertainty, year, float(cfg["composite_bottom_share"]))
    warnings = _open_warnings(data.findings, year)
    flags = _value_flags(data.indicator_values, year)
    registered = _registered(register)
    weights = {k: float(cfg["weights"].get(k, 0.0)) for k in CRITERIA}
    exclude_flags = set(cfg.get("exclude_flags") or [])

    current = comp[(comp["year"] == year) & comp["indicator_code"].isin(
        [c for c, m in cat.items() if m["direction"] in RANKED])]
    rows = []
    for rec in current.to_dict("records"):
        org, ind = str(rec["org_code"]), str(rec["indicator_code"])
        meta = cat[ind]
        value = _float(rec.get("value"))
        if _float(rec.get("quartile")) != 4 or math.isnan(value):
            continue
        streak = bottom.get((org, ind), 0)
        worse = _text(rec.get("significance_label")) == "worse"
        if not (streak >= cfg["min_bottom_years"] or (worse and cfg["significant_qualifies"])):
            continue
        sign = 1.0 if meta["direction"] == "higher" else -1.0
        published = rec.get("cluster_published")
        cluster_ok = (not _missing(published) and bool(published)
                      and not math.isnan(_float(rec.get("cluster_median"))))
        prefix = "cluster_" if cluster_ok else ""
        median = _float(rec.get(f"{prefix}median"))
        iqr = _float(rec.get(f"{prefix}p75")) - _float(rec.get(f"{prefix}p25"))
        iqr_all = _float(rec.get("p75")) - _float(rec.get("p25"))
        best = _float(rec.get("best_quartile_threshold"))
        if math.isnan(best):
            best = _float(rec.get("p75" if sign > 0 else "p25"))
        gap_median = sign * (median - value)
        gap_best = sign * (best - value)
        gap_median_iqr = gap_median / _scale(iqr, median)
        gap_best_iqr = gap_best / _scale(iqr_all, _float(rec.get("median")))
        theme = meta["theme"]
        org_dea = dea.get(org)
        efficiency_applies = theme in (cfg.get("efficiency_themes") or []) and org_dea is not None \
            and not math.isnan(org_dea["score"])
        crit = {
            "gap_median": _clip01(gap_median_iqr / cfg["gap_cap_iqr"]),
            "gap_best_quartile": _clip01(gap_best_iqr / cfg["gap_cap_iqr"]),
            "persistence": min(streak, cfg["persistence_cap_years"]) / cfg["persistence_cap_years"],
            "significance": 1.0 if worse else (float(cfg["composite_credit"]) if org in composite else 0.0),
            "development_question": 1.0 if dev.get(org) == theme else 0.0,
            "efficiency": _clip01((1.0 - org_dea["score"]) / cfg["efficiency_cap"]) if efficiency_applies else math.nan,
        }
        applicable = [k for k in CRITERIA if not math.isnan(crit[k])]
        total_weight = sum(weights[k] for k in applicable)
        score = sum(weights[k] * crit[k] for k in applicable) / total_weight if total_weight else 0.0

        reasons_nl, reasons_en = _exclusion_reasons(
            year, _unclean_fields(meta["fields"], warnings.get(org)),
            sorted(exclude_flags & set(flags.get((org, ind), []))), registered.get((org, ind), []))
        composite_hit = composite.get(org)
        rows.append({
            "year": year, "org_code": org, "org_name": orgs.get(org, {}).get("name", org),
            "org_label": _label(orgs, org), "cluster": orgs.get(org, {}).get("cluster", ""),
            "size_class": orgs.get(org, {}).get("size_class", ""),
            "indicator_code": ind, "indicator_name_nl": meta["name_nl"], "indicator_name_en": meta["name_en"],
            "theme": theme, "theme_nl": meta["theme_nl"], "theme_en": meta["theme_en"],
            "direction": meta["direction"], "unit": meta["unit"], "decimals": meta["decimals"],
            "value": value, "reference_scope": "cluster" if cluster_ok else "all", "reference_median": median,
            "best_quartile_threshold": best, "iqr": iqr, "gap_median": gap_median, "gap_median_iqr": gap_median_iqr,
            "gap_best_quartile": gap_best, "gap_best_quartile_iqr": gap_best_iqr,
            "bottom_years": streak, "significance_label": _text(rec.get("significance_label")) or None,
            "significantly_worse": worse,
            "composite_bottom": composite_hit is not None,
            "composite_rank_lo": composite_hit[0] if composite_hit else math.nan,
            "composite_n_units": composite_hit[1] if composite_hit else math.nan,
            "development_question_theme": dev.get(org), "development_question_match": dev.get(org) == theme,
            "dea_score": org_dea["score"] if org_dea else math.nan, "dea_model": org_dea["model"] if org_dea else None,
            "efficiency_applies": efficiency_applies,
            **{f"c_{k}": crit[k] for k in CRITERIA},
            "score": round(score, 6),
            "excluded": bool(reasons_nl), "exclusion_nl": "; ".join(reasons_nl), "exclusion_en": "; ".join(reasons_en),
        })
    columns = _CANDIDATE_COLUMNS
    out = pd.DataFrame(rows, columns=columns)
    if out.empty:
        return out
    out = out.sort_values(["excluded", "score", "org_code", "indicator_code"],
                          ascending=[True, False, True, True], kind="mergesort")
    return out.reset_index(drop=True)


def _exclusion_reasons(year: int, unclean: list[tuple[str, int]], bad_flags: list[str],
                       registered_starts: list[int]) -> tuple[list[str], list[str]]:
    nl, en = [], []
    if unclean:
        listed = ", ".join(f"{k} ({n}x)" if n > 1 else k for k, n in unclean)
        nl.append(f"onverklaarde waarschuwing op {listed} in de levering {year}")
        en.append(f"unexplained warning on {listed} in the {year} submission")
    if bad_flags:
        nl.append(f"waarde gemarkeerd als {', '.join(bad_flags)}")
        en.append(f"value flagged {', '.join(bad_flags)}")
    if registered_starts:
        starts = ", ".join(str(s) for s in sorted(registered_starts))
        nl.append(f"er is al een pilot geregistreerd (start {starts})")
        en.append(f"a pilot is already registered (start {starts})")
    return nl, en


_CANDIDATE_COLUMNS = [
    "year", "org_code", "org_name", "org_label", "cluster", "size_class", "indicator_code", "indicator_name_nl",
    "indicator_name_en", "theme", "theme_nl", "theme_en", "direction", "unit", "decimals", "value",
    "reference_scope", "reference_median", "best_quartile_threshold", "iqr", "gap_median", "gap_median_iqr",
    "gap_best_quartile", "gap_best_quartile_iqr", "bottom_years", "significance_label", "significantly_worse",
    "composite_bottom", "composite_rank_lo", "composite_n_units", "development_question_theme",
    "development_question_match", "dea_score", "dea_model", "efficiency_applies",
    *[f"c_{k}" for k in CRITERIA], "score", "excluded", "exclusion_nl", "exclusion_en",
]


def _scale(iqr: float, median: float) -> float:
    if not math.isnan(iqr) and iqr > 0:
        return iqr
    if not math.isnan(median) and median != 0:
        return abs(median)
    return 1.0


# --------------------------------------------------------------------------------------- partners

def find_partners(data: PilotData, candidates: pd.DataFrame, year: int,
                  config: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Organisations demonstrably strong on each candidate's indicator, best first per candidate.

    A partner qualifies when, on that indicator in ``year``, it is significantly better than the
    benchmark, or has been in the best quartile for at least ``min_top_years`` consecutive years,
    or (for ``efficiency_themes``) it is an efficient DEA peer with positive lambda for the
    candidate and in the upper half on the indicator. Its value must beat the candidate's. The
    partner score adds ``partner_weights`` for the same cluster, a similar size class and the
    strength of the evidence; ties go to ``org_code``.
    """
    cfg = dict(config or default_config())
    columns = ["org_code", "indicator_code", "partner_org_code", "partner_label", "partner_rank", "partner_score",
               "same_cluster", "size_match", "significantly_better", "top_years", "dea_peer", "dea_lambda",
               "partner_value", "partner_quartile", "evidence_nl", "evidence_en"]
    if candidates.empty:
        return pd.DataFrame(columns=columns)
    comp = data.comparisons[data.comparisons["year"] <= year]
    orgs = _org_map(data)
    top = _streaks(comp, year, 1)
    dea = _dea(data.dea_results, year, cfg)
    pw = {k: float(cfg["partner_weights"].get(k, 0.0)) for k in PARTNER_CRITERIA}
    cap = cfg["persistence_cap_years"]
    current = comp[comp["year"] == year]
    by_indicator = {ind: g.to_dict("records") for ind, g in current.groupby("indicator_code", sort=True)}
    rows = []
    for cand in candidates.to_dict("records"):
        org, ind = cand["org_code"], cand["indicator_code"]
        sign = 1.0 if cand["direction"] == "higher" else -1.0
        dea_peers = dea.get(org, {}).get("peers", {}) if cand["theme"] in (cfg.get("efficiency_themes") or []) else {}
        me = orgs.get(org, {})
        options = []
        for rec in by_indicator.get(ind, []):
            p = str(rec["org_code"])
            value = _float(rec.get("value"))
            if p == org or math.isnan(value) or sign * (value - cand["value"]) <= 0:
                continue
            quartile = _float(rec.get("quartile"))
            better = _text(rec.get("significance_label")) == "better"
            top_years = top.get((p, ind), 0)
            peer_eff = dea.get(p, {}).get("score", math.nan)
            is_peer = p in dea_peers and quartile in (1.0, 2.0) and (math.isnan(peer_eff) or peer_eff >= 1 - 1e-6)
            if not (better or top_years >= cfg["min_top_years"] or is_peer):
                continue
            them = orgs.get(p, {})
            same_cluster = bool(me.get("cluster")) and me.get("cluster") == them.get("cluster")
            size_match = _size_match(me.get("size_class", ""), them.get("size_class", ""))
            score = (pw["same_cluster"] * same_cluster
                     + pw["same_size_class"] * {"same": 1.0, "adjacent": 0.5}.get(size_match, 0.0)
                     + pw["significantly_better"] * better
                     + pw["top_quartile_years"] * min(top_years, cap) / cap
                     + pw["dea_peer"] * is_peer)
            lam = dea_peers.get(p, math.nan) if is_peer else math.nan
            nl, en = _partner_evidence(better, top_years, is_peer, lam, same_cluster, size_match, year)
            options.append({
                "org_code": org, "indicator_code": ind, "partner_org_code": p, "partner_label": _label(orgs, p),
                "partner_score": round(score, 6), "same_cluster": same_cluster, "size_match": size_match,
                "significantly_better": better, "top_years": top_years, "dea_peer": is_peer, "dea_lambda": lam,
                "partner_value": value, "partner_quartile": quartile, "evidence_nl": nl, "evidence_en": en,
            })
        options.sort(key=lambda o: (-o["partner_score"], o["partner_org_code"]))
        for rank, o in enumerate(options, start=1):
            rows.append({**o, "partner_rank": rank})
    return pd.DataFrame(rows, columns=columns)


def _size_match(a: str, b: str) -> str:
    """'same', 'adjacent' (klein-middel, middel-groot) or 'other'."""
    if a not in SIZE_CLASSES or b not in SIZE_CLASSES:
        return "other"
    distance = abs(SIZE_CLASSES.index(a) - SIZE_CLASSES.index(b))
    return {0: "same", 1: "adjacent"}.get(distance, "other")


def _partner_evidence(better: bool, top_years: int, is_peer: bool, lam: float, same_cluster: bool,
                      size_match: str, year: int) -> tuple[str, str]:
    nl, en = [], []
    if top_years >= 2:
        nl.append(f"{top_years} jaar op rij in het beste kwartiel")
        en.append(f"{top_years} years in a row in the best quartile")
    elif top_years == 1:
        nl.append(f"in {year} in het beste kwartiel")
        en.append(f"in the best quartile in {year}")
    if better:
        nl.append("significant beter dan de benchmark")
        en.append("significantly better than the benchmark")
    if is_peer:
        lam_nl = f" (λ {fmt_number(lam, 2, 'nl')})" if not math.isnan(lam) else ""
        lam_en = f" (λ {fmt_number(lam, 2, 'en')})" if not math.isnan(lam) else ""
        nl.append(f"efficiënte DEA-referentie{lam_nl}")
        en.append(f"efficient DEA peer{lam_en}")
    if same_cluster:
        nl.append("zelfde cluster")
        en.append("same cluster")
    if size_match == "same":
        nl.append("zelfde grootteklasse")
        en.append("same size class")
    return ", ".join(nl), ", ".join(en)


# -------------------------------------------------------------------------------------- shortlist

def build_shortlist(candidates: pd.DataFrame, partners: pd.DataFrame,
                    config: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Rank the non-excluded candidates and give each a partner, spreading the coaching load.

    Candidates are taken by score (highest first), then ``org_code``, ``indicator_code``; an
    organisation appears at most ``max_pilots_per_organisation`` times. Each gets its best partner
    with fewer than ``max_pilots_per_partner`` pilots so far, else the next best
    (``partner_status = 'fallback'``); with none left ``partner_status`` is ``'none_left'``, and
    with no strong organisation at all ``'none_found'``. At most ``shortlist_size`` entries, each
    with ``rationale_nl`` and ``rationale_en``.
    """
    cfg = dict(config or default_config())
    columns = _SHORTLIST_COLUMNS
    if candidates.empty:
        return pd.DataFrame(columns=columns)
    pool = candidates[~candidates["excluded"].astype(bool)].sort_values(
        ["score", "org_code", "indicator_code"], ascending=[False, True, True], kind="mergesort")
    options: dict[tuple[str, str], list[dict]] = {}
    if not partners.empty:
        ordered = partners.sort_values(["org_code", "indicator_code", "partner_score", "partner_org_code"],
                                       ascending=[True, True, False, True], kind="mergesort")
        for rec in ordered.to_dict("records"):
            options.setdefault((rec["org_code"], rec["indicator_code"]), []).append(rec)
    max_partner = int(cfg["max_pilots_per_partner"])
    max_org = cfg.get("max_pilots_per_organisation")
    load: Counter = Counter()
    per_org: Counter = Counter()
    rows = []
    for cand in pool.to_dict("records"):
        if len(rows) >= int(cfg["shortlist_size"]):
            break
        if max_org is not None and per_org[cand["org_code"]] >= int(max_org):
            continue
        choices = options.get((cand["org_code"], cand["indicator_code"]), [])
        chosen = next((c for c in choices if load[c["partner_org_code"]] < max_partner), None)
        if chosen is None:
            status = "none_left" if choices else "none_found"
        else:
            status = "assigned" if chosen is choices[0] else "fallback"
            load[chosen["partner_org_code"]] += 1
        per_org[cand["org_code"]] += 1
        first = choices[0]["partner_label"] if choices and status != "assigned" else None
        entry = {
            **{k: cand[k] for k in _CANDIDATE_COLUMNS if k in cand},
            "rank": len(rows) + 1,
            "partner_org_code": chosen["partner_org_code"] if chosen else None,
            "partner_label": chosen["partner_label"] if chosen else None,
            "partner_score": chosen["partner_score"] if chosen else math.nan,
            "partner_value": chosen["partner_value"] if chosen else math.nan,
            "partner_evidence_nl": chosen["evidence_nl"] if chosen else "",
            "partner_evidence_en": chosen["evidence_en"] if chosen else "",
            "partner_status": status, "first_choice_partner": first,
            "n_partner_options": len(choices),
        }
        entry["rationale_nl"] = rationale(entry, "nl", max_partner)
        entry["rationale_en"] = rationale(entry, "en", max_partner)
        rows.append(entry)
    return pd.DataFrame(rows, columns=columns)


_SHORTLIST_COLUMNS = [
    "rank", *_CANDIDATE_COLUMNS, "partner_org_code", "partner_label", "partner_score", "partner_value",
    "partner_evidence_nl", "partner_evidence_en", "partner_status", "first_choice_partner", "n_partner_options",
    "rationale_nl", "rationale_en",
]

_UNIT_WORDS = {"dagen": ("dagen", "days"), "seconden": ("seconden", "seconds"), "jaar": ("jaar", "years"),
               "per medewerker": ("per medewerker", "per employee"), "per 10.000": ("per 10.000", "per 10,000")}


def format_value(value: Any, unit: str = "", decimals: int = 1, lang: str = "nl") -> str:
    """An indicator value with its unit: 78,1% / € 1.234 / 12,5 dagen; an em dash when missing."""
    x = _float(value)
    if math.isnan(x):
        return "—"
    text = fmt_number(x, int(decimals), lang)
    if unit in ("%", "‰"):
        return text + unit
    if unit == "euro":
        return f"€\u00a0{text}" if lang != "en" else f"€{text}"
    if unit in ("", "cijfer", "ratio"):
        return text
    words = _UNIT_WORDS.get(unit)
    return f"{text}\u00a0{words[1] if lang == 'en' else words[0]}" if words else f"{text}\u00a0{unit}"


def format_difference(value: Any, unit: str = "", decimals: int = 1, lang: str = "nl", signed: bool = True) -> str:
    """A change in an indicator: percentage points for % values (+2,8 %-punt / +2.8 pp)."""
    x = _float(value)
    if math.isnan(x):
        return "—"
    sign = "+" if signed and x > 0 else ""
    text = sign + fmt_number(x, int(decimals), lang)
    if unit == "%":
        return f"{text}\u00a0pp" if lang == "en" else f"{text}\u00a0%-punt"
    if unit == "‰":
        return f"{text}\u00a0‰-point" if lang == "en" else f"{text}\u00a0‰-punt"
    return sign + format_value(x, unit, decimals, lang)


def rationale(entry: Mapping[str, Any], lang: str = "nl", max_partner: int = 2) -> str:
    """The reasons for a shortlist entry in words and figures."""
    nl = lang != "en"
    org = entry["org_label"]
    ind = entry["indicator_name_nl"] if nl else entry["indicator_name_en"]
    fmt = lambda v: format_value(v, entry["unit"], entry["decimals"], "nl" if nl else "en")  # noqa: E731
    n = int(entry["bottom_years"])
    cluster = entry["reference_scope"] == "cluster"
    if nl:
        lead = (f"{org} staat {n} jaar op rij in het laagste kwartiel op {ind}" if n >= 2
                else f"{org} staat in {entry['year']} in het laagste kwartiel op {ind}")
        lead += (f" ({fmt(entry['value'])} tegen {'clustermediaan' if cluster else 'mediaan'} "
                 f"{fmt(entry['reference_median'])}; grens beste kwartiel {fmt(entry['best_quartile_threshold'])})")
    else:
        lead = (f"{org} has been in the bottom quartile on {ind} for {n} years in a row" if n >= 2
                else f"{org} is in the bottom quartile on {ind} in {entry['year']}")
        lead += (f" ({fmt(entry['value'])} against a {'cluster ' if cluster else ''}median of "
                 f"{fmt(entry['reference_median'])}; best-quartile threshold {fmt(entry['best_quartile_threshold'])})")
    parts = [lead]
    if entry["significantly_worse"]:
        parts.append("significant slechter dan de benchmark" if nl else "significantly worse than the benchmark")
    elif entry["composite_bottom"]:
        rank, units = int(entry["composite_rank_lo"]), int(entry["composite_n_units"])
        parts.append(f"ook op de totaalindex robuust in het laagste kwart (op zijn best rang {rank} van {units})" if nl
                     else f"robustly in the bottom quarter of the overall index (best plausible rank {rank} of {units})")
    if entry["development_question_match"]:
        parts.append("ontwikkelvraag op dit thema" if nl else "development question on this theme")
    if entry["efficiency_applies"] and entry["dea_score"] < 1 - 1e-6:
        parts.append(f"DEA-efficiëntie {fmt_number(entry['dea_score'], 2, 'nl')}" if nl
                     else f"DEA efficiency {fmt_number(entry['dea_score'], 2, 'en')}")
    status = entry["partner_status"]
    if status in ("assigned", "fallback"):
        evidence = entry["partner_evidence_nl"] if nl else entry["partner_evidence_en"]
        text = f"partner {entry['partner_label']}: {evidence}"
        if status == "fallback":
            text += (f" ({entry['first_choice_partner']} heeft al {max_partner} pilots)" if nl
                     else f" ({entry['first_choice_partner']} already has {max_partner} pilots)")
        parts.append(text)
    elif status == "none_left":
        parts.append(f"geen partner meer beschikbaar: alle sterke partners hebben al {max_partner} pilots" if nl
                     else f"no partner left: every strong partner already has {max_partner} pilots")
    else:
        parts.append("geen aantoonbaar sterke partner gevonden" if nl else "no demonstrably strong partner found")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------- register

def register_path(ws: Workspace) -> Path:
    return ws.root / "data" / "pilots_register.csv"


def read_register(ws: Workspace) -> pd.DataFrame:
    """The register as written (strings; no validation). Accepts ',' or ';' as separator."""
    path = register_path(ws)
    if not path.exists():
        return pd.DataFrame(columns=list(REGISTER_COLUMNS) + ["line"])
    text = path.read_text("utf-8-sig")
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = []
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    missing = [c for c in REGISTER_COLUMNS[:4] if c not in (reader.fieldnames or [])]
    if missing and text.strip():
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; "
                         f"the header must be {','.join(REGISTER_COLUMNS)}")
    for i, row in enumerate(reader, start=2):
        if not any(_text(v) for v in row.values()):
            continue
        rows.append({**{c: _text(row.get(c)) for c in REGISTER_COLUMNS}, "line": i})
    return pd.DataFrame(rows, columns=list(REGISTER_COLUMNS) + ["line"])


def validate_entry(org: Any, indicator: Any, partner: Any, start_year: Any,
                   organisations: Sequence[Any], catalogue: pd.DataFrame) -> dict[str, Any]:
    """One register entry, normalised; ValueError with a message an analyst can act on."""
    by_code = {o.org_code: o for o in organisations}
    org_code = _text(org).upper()
    if not org_code:
        raise ValueError("organisation code is empty")
    if org_code not in by_code:
        raise ValueError(f"unknown organisation code {org_code!r}; use a code from data/organisations.csv "
                         f"(e.g. {', '.join(sorted(by_code)[:5])})")
    cat = _catalogue_map(catalogue)
    ind = _text(indicator).lower()
    if ind not in cat:
        ranked = sorted(c for c, m in cat.items() if m["direction"] in RANKED)
        raise ValueError(f"unknown indicator code {ind!r}; use a ranked indicator such as {', '.join(ranked[:4])}")
    if cat[ind]["direction"] not in RANKED:
        raise ValueError(f"indicator {ind!r} is a context indicator (not ranked); a pilot needs an indicator "
                         "whose direction is higher or lower")
    try:
        year = int(str(start_year).strip())
    except (TypeError, ValueError):
        raise ValueError(f"start_year must be a year such as 2026, not {start_year!r}") from None
    if not 2002 <= year <= 2100:
        raise ValueError(f"start_year {year} is outside 2002-2100")
    if not by_code[org_code].is_member(year):
        raise ValueError(f"{org_code} is not a member in {year}")
    partner_code = _text(partner).upper()
    if partner_code:
        if partner_code not in by_code:
            raise ValueError(f"unknown partner organisation code {partner_code!r}")
        if partner_code == org_code:
            raise ValueError("the partner must be another organisation than the pilot organisation")
        if not by_code[partner_code].is_member(year):
            raise ValueError(f"partner {partner_code} is not a member in {year}")
    return {"org_code": org_code, "indicator_code": ind, "partner_org_code": partner_code or None,
            "start_year": year}


def load_register(ws: Workspace, strict: bool = True,
                  catalogue: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Validated register entries and the problems found; with ``strict`` any problem raises ValueError."""
    raw = read_register(ws)
    orgs = load_organisations(ws.root)
    cat = catalogue if catalogue is not None else catalogue_from_yaml()
    rows, problems, seen = [], [], set()
    for rec in raw.to_dict("records"):
        try:
            entry = validate_entry(rec["org_code"], rec["indicator_code"], rec["partner_org_code"],
                                   rec["start_year"], orgs, cat)
            key = (entry["org_code"], entry["indicator_code"], entry["start_year"])
            if key in seen:
                raise ValueError(f"duplicate pilot {entry['org_code']} / {entry['indicator_code']} / {entry['start_year']}")
            seen.add(key)
            rows.append({**entry, "note": rec["note"]})
        except ValueError as exc:
            problems.append(f"{register_path(ws).name}, line {rec['line']}: {exc}")
    if strict and problems:
        raise ValueError("; ".join(problems))
    return pd.DataFrame(rows, columns=list(REGISTER_COLUMNS)), problems


def add_pilot(ws: Workspace, org: str, indicator: str, partner: str | None, start_year: int,
              note: str = "") -> dict[str, Any]:
    """Append a pilot to ``data/pilots_register.csv`` after validating it; returns the entry.

    Raises ValueError for an unknown organisation, partner or indicator, a context indicator, a
    bad start year, a partner equal to the organisation, a duplicate, or an invalid register.
    """
    register, _ = load_register(ws, strict=True)
    entry = validate_entry(org, indicator, partner, start_year, load_organisations(ws.root), catalogue_from_yaml())
    dup = register[(register["org_code"] == entry["org_code"]) & (register["indicator_code"] == entry["indicator_code"])
                   & (register["start_year"] == entry["start_year"])]
    if not dup.empty:
        raise ValueError(f"pilot {entry['org_code']} / {entry['indicator_code']} starting {entry['start_year']} "
                         "is already registered")
    entry["note"] = " ".join(str(note or "").split())
    rows = register.to_dict("records") + [entry]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(REGISTER_COLUMNS)
    for r in rows:
        writer.writerow([r["org_code"], r["indicator_code"], r["partner_org_code"] or "", int(r["start_year"]),
                         escape_cell(_text(r["note"]))])
    atomic_write_text(register_path(ws), buf.getvalue())
    return entry


def escape_cell(value: Any) -> Any:
    """Text starting with = + - @ (or tab, CR) gets a leading quote so spreadsheets do not run it."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# -------------------------------------------------------------------------------------- follow-up

# Rules of the follow-up inference (docs/pilots.md, section 5).
WILD_MIN_CLUSTERS = 12          # the wild-cluster bootstrap needs at least this many organisations ...
WILD_MIN_TREATED = 2            # ... of which at least this many are pilot organisations
WILD_REPS = 999
MAX_ASSIGNMENTS = 5000          # with several pilot organisations: enumerate at most this many assignments


@dataclass
class _Panel:
    """A follow-up panel as arrays: observations with unit and year indices, the true assignment."""

    y: np.ndarray
    unit: np.ndarray            # unit index per observation
    year: np.ndarray            # calendar year per observation
    post: np.ndarray            # year >= start, as float
    units: list[Any]            # unit labels by index
    treated_units: tuple[int, ...]
    fe: np.ndarray              # intercept, unit and year dummies (first of each dropped)
    start_year: int
    basis: np.ndarray = field(init=False)   # orthonormal basis of the columns of fe

    def __post_init__(self) -> None:
        self.basis = _basis(self.fe)

    def residualise(self, m: np.ndarray) -> np.ndarray:
        """Residuals of the columns of ``m`` after the unit and year effects (an exact projection)."""
        return m - self.basis @ (self.basis.T @ m)

    def members(self, assignment: Sequence[int]) -> np.ndarray:
        """Per observation: does it belong to one of the units in ``assignment``."""
        flag = np.zeros(len(self.units), dtype=bool)
        flag[list(assignment)] = True
        return flag[self.unit]

    def dummy(self, assignment: Sequence[int]) -> np.ndarray:
        return (self.members(assignment) & (self.post > 0)).astype(float)


def _panel(panel: pd.DataFrame, start_year: int) -> _Panel:
    df = panel[panel["value"].notna().to_numpy()]
    # a year observed for one organisation only carries no information once year effects are in
    pairs = df[["unit", "year"]].drop_duplicates()
    single = pairs["year"].value_counts()
    if (single < 2).any():
        df = df[~df["year"].isin(single.index[single < 2])]
    codes, units = pd.factorize(df["unit"], sort=False)
    ycodes, years = pd.factorize(df["year"], sort=True)
    n = len(df)
    fe = np.column_stack([np.ones(n)]
                         + [(codes == j).astype(float) for j in range(1, len(units))]
                         + [(ycodes == t).astype(float) for t in range(1, len(years))])
    treated_flag = df["treated"].to_numpy(float) > 0
    treated_units = tuple(sorted({int(c) for c in codes[treated_flag]}))
    return _Panel(y=df["value"].to_numpy(float), unit=codes, year=df["year"].to_numpy(int),
                  post=(df["year"].to_numpy() >= start_year).astype(float), units=list(units),
                  treated_units=treated_units, fe=fe, start_year=int(start_year))


def _basis(x: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column space of ``x`` (rank-deficient designs allowed)."""
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    return u[:, s > s[0] * max(x.shape) * np.finfo(float).eps] if len(s) else u


def did_estimate(panel: pd.DataFrame, start_year: int, cov_type: str = "HC1",
                 confidence: float = 0.95) -> dict[str, Any]:
    """Two-way fixed effects difference in differences: ``value ~ C(unit) + C(year) + D``.

    ``panel`` has columns ``unit, year, value, treated`` (1 for pilot organisations); the panel may be
    unbalanced. ``D = treated and year >= start_year``; the estimate is its coefficient (via
    Frisch-Waugh-Lovell on the unit and year dummies). ``estimate_2x2`` is the pooled
    (treated after - treated before) - (controls after - controls before) on observation means, which
    equals the two-way estimate only on a balanced panel.

    Standard errors: ``HC1`` (White, scaled ``n/(n-k)``, k counting the dummies), Student's t with
    ``n-k`` degrees of freedom; ``cluster`` (CR1 by unit, ``G/(G-1)*(n-1)/(n-k)``, t with ``G-1``) only
    with at least two treated units: with one treated cluster its residuals are fitted almost exactly
    and the clustered standard error is far too small (Conley & Taber 2011; MacKinnon & Webb 2017).
    Both match statsmodels OLS with dummies (``use_t=True``). Significance for the pilot verdict does
    not come from these standard errors but from :func:`randomisation_inference`.
    """
    if cov_type not in ("HC1", "cluster"):
        raise ValueError(f"cov_type must be HC1 or cluster, not {cov_type!r}")
    p = _panel(panel, start_year)
    d = p.dummy(p.treated_units)
    n = len(p.y)
    x = np.column_stack([p.fe, d])
    k = int(np.linalg.matrix_rank(x))
    dt = p.residualise(d[:, None])[:, 0]
    ss = float(dt @ dt)
    if not p.treated_units or n <= k or ss <= 1e-10 * max(float(d @ d), 1.0):
        raise ValueError("the panel needs treated and control observations both before and after the start")
    est = float(dt @ p.y / ss)
    resid = p.y - x @ np.linalg.lstsq(x, p.y, rcond=None)[0]
    if cov_type == "HC1":
        var = float(np.sum(dt ** 2 * resid ** 2)) / ss ** 2 * n / (n - k)
        dof = n - k
    else:
        if len(p.treated_units) < 2:
            raise ValueError("clustered standard errors are not valid with a single treated unit (its residuals "
                             "are fitted almost exactly; Conley & Taber 2011, MacKinnon & Webb 2017); "
                             "use HC1 with randomisation inference")
        g = len(p.units)
        scores = np.bincount(p.unit, weights=dt * resid, minlength=g)
        var = float(scores @ scores) / ss ** 2 * g / (g - 1) * (n - 1) / (n - k)
        dof = g - 1
    se = math.sqrt(max(var, 0.0))
    tcrit = float(stats.t.ppf(0.5 + confidence / 2, dof))
    pval = float(2 * stats.t.sf(abs(est / se), dof)) if se > 0 else math.nan
    treated = p.members(p.treated_units)
    cell = lambda t, post: float(np.mean(p.y[(treated == t) & ((p.post > 0) == post)]))  # noqa: E731
    est22 = (cell(True, True) - cell(True, False)) - (cell(False, True) - cell(False, False))
    return {"estimate": est, "se": se, "ci_low": est - tcrit * se, "ci_high": est + tcrit * se, "p_value": pval,
            "dof": int(dof), "n_obs": int(n), "n_params": k, "cov_type": cov_type, "confidence": confidence,
            "n_units": len(p.units), "n_treated_units": len(p.treated_units), "estimate_2x2": est22}


def _assignments(p: _Panel, seed: int = 0) -> tuple[list[tuple[int, ...]], bool]:
    """Every way to give the treatment to as many units as really got it (the true one first).

    With one pilot organisation: each unit in turn. With more: all subsets when there are at most
    MAX_ASSIGNMENTS, else a seeded random sample of them (``exact`` False)."""
    n, k = len(p.units), len(p.treated_units)
    true = tuple(p.treated_units)
    if math.comb(n, k) <= MAX_ASSIGNMENTS:
        others = [a for a in itertools.combinations(range(n), k) if a != true]
        return [true] + others, True
    rng = np.random.default_rng(seed)
    seen, out = {true}, [true]
    while len(out) < MAX_ASSIGNMENTS:
        a = tuple(sorted(int(i) for i in rng.choice(n, size=k, replace=False)))
        if a not in seen:
            seen.add(a)
            out.append(a)
    return out, False


def _rank_p(stat: np.ndarray, observed: float) -> float:
    """(number of assignments whose statistic is at least the observed one, the true one included) / count."""
    tol = 1e-9 * max(1.0, abs(observed))
    return float(np.sum(stat >= observed - tol)) / len(stat)


def _confidence_set(a: np.ndarray, b: np.ndarray, alpha: float) -> tuple[float, float]:
    """Hull of the effects tau0 that the permutation test does not reject at ``alpha``.

    Under H0: effect = tau0 (the same in every pilot year), the outcome without the pilot is
    ``y - tau0 * D``; assignment A's estimate becomes ``a_A - tau0 * b_A`` with ``b_A`` the estimate of
    A on ``D`` itself (``b = 1`` for the true assignment, index 0). The comparisons change only at the
    roots of ``(a_A - tau0 b_A)^2 = (a_0 - tau0)^2``, so checking those roots and the points between
    them is exact. Returns (-inf, inf) when every tau0 is accepted (e.g. smallest p above alpha)."""
    c = a[0]

    def accepted(t0: float) -> bool:
        s = np.abs(a - t0 * b)
        return _rank_p(s, s[0]) > alpha

    roots = []
    for aj, bj in zip(a[1:], b[1:]):
        qa, qb, qc = bj * bj - 1.0, 2.0 * (c - aj * bj), aj * aj - c * c
        if abs(qa) < 1e-12:
            if abs(qb) > 1e-12:
                roots.append(-qc / qb)
            continue
        disc = qb * qb - 4 * qa * qc
        if disc >= 0:
            r = math.sqrt(disc)
            roots += [(-qb - r) / (2 * qa), (-qb + r) / (2 * qa)]
    roots = sorted(set(float(r) for r in roots if math.isfinite(r)) | {float(c)})
    span = max(1.0, roots[-1] - roots[0], abs(c))
    probes = [roots[0] - 10 * span, roots[-1] + 10 * span]
    if accepted(probes[0]) or accepted(probes[1]):
        return -math.inf, math.inf
    points = roots + [(x + y) / 2 for x, y in zip(roots, roots[1:])]
    ok = [t for t in points if accepted(t)]
    return (min(ok), max(ok)) if ok else (float(c), float(c))


def randomisation_inference(panel: pd.DataFrame, start_year: int, confidence: float = 0.95,
                            seed: int = 0, detail: bool = True) -> dict[str, Any]:
    """Fisher randomisation (placebo-in-space) inference for the two-way fixed effects estimate.

    The treatment is given in turn to every unit of the panel (with several pilot organisations: to
    every set of that size), the two-way estimate recomputed, and
    ``p = #{assignments with |estimate| >= |observed|} / #assignments`` (the true assignment counts;
    this is ``(1 + #{placebos >= observed}) / (1 + n_controls)`` with one pilot organisation). Under the
    null of no effect and exchangeable units it is exact: P(p <= alpha) <= alpha. The smallest
    attainable p is ``1 / #assignments``. ``ci_low, ci_high`` invert the test for a constant effect.
    The event study (one coefficient per year relative to the start, reference the year before) gets a
    placebo p per year in the same way. ``detail=False`` skips the interval and the event study (for
    simulations that need only p).
    """
    p = _panel(panel, start_year)
    assigns, exact = _assignments(p, seed)
    yt = p.residualise(p.y[:, None])[:, 0]
    dmat = np.column_stack([p.dummy(a) for a in assigns])
    dres = p.residualise(dmat)
    ss = np.einsum("ij,ij->j", dres, dres)
    valid = ss > 1e-10 * np.maximum(dmat.sum(axis=0), 1.0)
    if not valid[0]:
        raise ValueError("the panel needs treated and control observations both before and after the start")
    a = (dres.T @ yt)[valid] / ss[valid]
    b = (dres.T @ dmat[:, 0])[valid] / ss[valid]
    labels = [a_ for a_, v in zip(assigns, valid) if v]
    stat = np.abs(a)
    alpha = 1.0 - confidence
    pval = _rank_p(stat, stat[0])
    lo, hi = _confidence_set(a, b, alpha) if detail else (math.nan, math.nan)
    names = lambda idx: ";".join(str(p.units[i]) for i in idx)  # noqa: E731
    return {"estimate": float(a[0]), "p_value": pval, "p_min": 1.0 / len(a), "n_assignments": len(a),
            "exact": exact, "rank": int(np.sum(stat >= stat[0] - 1e-9 * max(1.0, stat[0]))),
            "ci_low": lo, "ci_high": hi, "confidence": confidence,
            "placebo_sd": float(np.std(a[1:], ddof=1)) if len(a) > 2 else math.nan,
            "placebos": [{"units": names(u), "estimate": float(e)} for u, e in zip(labels[1:], a[1:])],
            "event_study": _event_study(p, labels, yt) if detail else []}


def _event_study(p: _Panel, assigns: Sequence[tuple[int, ...]], yt: np.ndarray) -> list[dict[str, Any]]:
    """Per year relative to the start: the coefficient of the pilot organisation(s) and its placebo p."""
    rel = p.year - p.start_year
    true = p.members(assigns[0])
    pre = sorted(set(rel[true & (rel < 0)]))
    if not pre:
        return []
    ref = -1 if -1 in pre else max(pre)
    ks = [int(k) for k in sorted(set(rel[true])) if k != ref]
    coefs = np.full((len(assigns), len(ks)), np.nan)
    for i, a in enumerate(assigns):
        mask = p.members(a)
        if not np.any(mask & (rel == ref)):
            continue            # without the reference year the coefficients are not identified
        e = (mask[:, None] & (rel[:, None] == np.array(ks)[None, :])).astype(float)
        et = p.residualise(e)
        keep = np.einsum("ij,ij->j", et, et) > 1e-10
        if keep.any():
            coefs[i, keep] = np.linalg.lstsq(et[:, keep], yt, rcond=None)[0]
    out = [{"rel_year": ref, "year": p.start_year + ref, "estimate": 0.0, "p_value": math.nan,
            "placebo_low": math.nan, "placebo_high": math.nan, "n_assignments": 0, "reference": True}]
    for j, k in enumerate(ks):
        col = coefs[:, j]
        ok = ~np.isnan(col)
        placebo = col[1:][ok[1:]]
        out.append({"rel_year": k, "year": p.start_year + k, "estimate": float(col[0]),
                    "p_value": _rank_p(np.abs(col[ok]), abs(col[0])) if ok[0] else math.nan,
                    "placebo_low": float(placebo.min()) if len(placebo) else math.nan,
                    "placebo_high": float(placebo.max()) if len(placebo) else math.nan,
                    "n_assignments": int(ok.sum()), "reference": False})
    return sorted(out, key=lambda r: r["rel_year"])


WEBB_WEIGHTS = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])


def wild_cluster_bootstrap(panel: pd.DataFrame, start_year: int, reps: int = WILD_REPS, weights: str = "webb",
                           seed: int = 0) -> dict[str, Any]:
    """Restricted wild-cluster bootstrap (WCR) p for the two-way estimate, clustered by unit.

    The null ``tau = 0`` is imposed: the model without ``D`` gives fitted values and residuals; each
    replication flips the residuals of a whole unit with one weight (Rademacher +-1 or Webb's six
    points) and recomputes the CR1 t-statistic; ``p`` = share of ``|t*| >= |t|`` (Cameron, Gelbach &
    Miller 2008; MacKinnon & Webb 2017). Only used with at least WILD_MIN_TREATED treated units and
    WILD_MIN_CLUSTERS units: with one treated cluster it is not valid, and ValueError is raised.
    """
    p = _panel(panel, start_year)
    g, k_treated = len(p.units), len(p.treated_units)
    if k_treated < WILD_MIN_TREATED or g < WILD_MIN_CLUSTERS:
        raise ValueError(f"the wild-cluster bootstrap needs at least {WILD_MIN_TREATED} treated units and "
                         f"{WILD_MIN_CLUSTERS} units in all; this panel has {k_treated} and {g}")
    if weights not in ("webb", "rademacher"):
        raise ValueError(f"weights must be webb or rademacher, not {weights!r}")
    d = p.dummy(p.treated_units)
    x = np.column_stack([p.fe, d])
    n, k = len(p.y), int(np.linalg.matrix_rank(x))
    dt = p.residualise(d[:, None])[:, 0]
    ss = float(dt @ dt)
    c = dt / ss                                         # tau-hat = c @ y
    factor = g / (g - 1) * (n - 1) / (n - k)
    qx = _basis(x)
    member = np.zeros((g, n))
    member[p.unit, np.arange(n)] = 1.0

    def t_stats(ys: np.ndarray) -> np.ndarray:
        tau = c @ ys
        resid = ys - qx @ (qx.T @ ys)
        scores = member @ (c[:, None] * resid)
        return tau / np.sqrt(factor * np.sum(scores ** 2, axis=0))

    t_obs = float(t_stats(p.y[:, None])[0])
    u = p.residualise(p.y[:, None])[:, 0]
    fitted = p.y - u
    rng = np.random.default_rng(seed)
    w = (rng.choice(WEBB_WEIGHTS, size=(g, reps)) if weights == "webb"
         else rng.choice(np.array([-1.0, 1.0]), size=(g, reps)))
    t_boot = t_stats(fitted[:, None] + u[:, None] * w[p.unit])
    return {"t": t_obs, "p_value": float(np.mean(np.abs(t_boot) >= abs(t_obs))), "reps": reps,
            "weights": weights, "n_clusters": g, "n_treated_clusters": k_treated}


def pilot_effect(panel: pd.DataFrame, start_year: int, confidence: float = 0.95, seed: int = 0) -> dict[str, Any]:
    """Everything the follow-up reports for one panel: two-way estimate with HC1 standard error,
    pooled 2x2 estimate, randomisation inference (p, smallest attainable p, interval, event study)
    and, only where its rule holds, the wild-cluster bootstrap p."""
    twfe = did_estimate(panel, start_year, "HC1", confidence)
    ri = randomisation_inference(panel, start_year, confidence, seed)
    out = {"estimate": twfe["estimate"], "estimate_2x2": twfe["estimate_2x2"], "se": twfe["se"],
           "p_hc1": twfe["p_value"], "dof": twfe["dof"], "n_obs": twfe["n_obs"], "n_units": twfe["n_units"],
           "n_treated_units": twfe["n_treated_units"], "inference": "randomisation",
           "p_value": ri["p_value"], "p_min": ri["p_min"], "n_assignments": ri["n_assignments"],
           "placebo_rank": ri["rank"], "placebo_sd": ri["placebo_sd"], "ci_low": ri["ci_low"],
           "ci_high": ri["ci_high"], "placebos": ri["placebos"], "event_study": ri["event_study"],
           "p_wild_bootstrap": math.nan, "wild_bootstrap_note": ""}
    if twfe["n_treated_units"] >= WILD_MIN_TREATED and twfe["n_units"] >= WILD_MIN_CLUSTERS:
        out["p_wild_bootstrap"] = wild_cluster_bootstrap(panel, start_year, seed=seed)["p_value"]
    else:
        out["wild_bootstrap_note"] = (f"not used: {twfe['n_treated_units']} treated of {twfe['n_units']} units "
                                      f"(needs >= {WILD_MIN_TREATED} treated and >= {WILD_MIN_CLUSTERS} units)")
    return out


def follow_up(data: PilotData, register: pd.DataFrame, year: int,
              config: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """For each registered pilot: the pilot organisation's change against comparable organisations.

    Before = years ``start - max_years_before .. start - 1``, after = ``start .. year``, both the
    years in which the pilot organisation has a value. Controls: organisations of the same cluster
    that are not the pilot organisation, its partner or another pilot organisation on the same
    indicator and that have a value before and after in those years; all members when the cluster
    has fewer than ``min_controls``. Too few years or controls give the 'too little data' verdict.
    """
    cfg = dict(config or default_config())
    cat = _catalogue_map(data.catalogue)
    orgs = _org_map(data)
    iv = data.indicator_values
    bad_flags = set(cfg.get("exclude_flags") or [])
    if not iv.empty and "flags" in iv.columns and bad_flags:
        flagged = iv["flags"].map(lambda fl: bool(bad_flags & set(_text(fl).split(";"))))
        iv = iv[~flagged]
    iv = iv.dropna(subset=["value"]) if not iv.empty else iv
    out = []
    if register is None or register.empty:
        return out
    pilot_orgs = {}
    for rec in register.to_dict("records"):
        pilot_orgs.setdefault(str(rec["indicator_code"]), set()).add(str(rec["org_code"]))
    ordered = register.sort_values(["start_year", "org_code", "indicator_code"], kind="mergesort")
    for rec in ordered.to_dict("records"):
        out.append(_follow_up_one(rec, iv, cat, orgs, pilot_orgs, year, cfg))
    return out


def _follow_up_one(rec: Mapping[str, Any], iv: pd.DataFrame, cat: Mapping[str, Any], orgs: Mapping[str, Any],
                   pilot_orgs: Mapping[str, set], year: int, cfg: Mapping[str, Any]) -> dict[str, Any]:
    org, ind, start = str(rec["org_code"]), str(rec["indicator_code"]), int(rec["start_year"])
    partner = _text(rec.get("partner_org_code")) or None
    meta = cat.get(ind, {"name_nl": ind, "name_en": ind, "unit": "", "decimals": 1, "direction": "higher"})
    rows = iv[(iv["indicator_code"] == ind) & (iv["year"] <= year)] if not iv.empty else iv
    values: dict[str, dict[int, float]] = {}
    if not rows.empty:
        for o, y, v in rows[["org_code", "year", "value"]].itertuples(index=False):
            values.setdefault(str(o), {})[int(y)] = float(v)
    mine = values.get(org, {})
    before = sorted(y for y in mine if start - cfg["max_years_before"] <= y < start)
    after = sorted(y for y in mine if start <= y <= year)
    window = set(before) | set(after)
    exclude = {org} | ({partner} if partner else set()) | set(pilot_orgs.get(ind, set()))

    def controls_in(members: list[str]) -> list[str]:
        return sorted(o for o in members if o not in exclude
                      and any(y in values.get(o, {}) for y in before) and any(y in values.get(o, {}) for y in after))

    cluster = orgs.get(org, {}).get("cluster", "")
    scope = "cluster"
    controls = controls_in([o for o in values if orgs.get(o, {}).get("cluster") == cluster]) if cluster else []
    if len(controls) < cfg["min_controls"]:
        scope = "all"
        controls = controls_in(list(values))
    result: dict[str, Any] = {
        "org_code": org, "org_label": _label(orgs, org), "indicator_code": ind,
        "indicator_name_nl": meta["name_nl"], "indicator_name_en": meta["name_en"], "unit": meta["unit"],
        "decimals": meta["decimals"], "direction": meta["direction"],
        "partner_org_code": partner, "partner_label": _label(orgs, partner) if partner else None,
        "start_year": start, "note": _text(rec.get("note")), "years_before": before, "years_after": after,
        "n_treated_before": len(before), "n_treated_after": len(after), "n_treated_years": len(before) + len(after),
        "control_scope": scope, "control_org_codes": controls, "n_control_units": len(controls),
        "estimate": math.nan, "se": math.nan, "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan,
        "cov_type": cfg["cov_type"], "confidence": float(cfg["confidence"]), "inference": "randomisation",
        "estimate_2x2": math.nan, "p_min": math.nan, "p_hc1": math.nan, "n_assignments": 0, "placebo_rank": 0,
        "placebo_sd": math.nan, "placebos": [], "event_study": [], "p_wild_bootstrap": math.nan,
        "wild_bootstrap_note": "", "pre_trend_years": [],
    }
    series = []
    for y in sorted(window):
        cv = [values[o][y] for o in controls if y in values[o]]
        series.append({"year": y, "period": "after" if y >= start else "before", "treated": mine.get(y, math.nan),
                       "control_mean": float(np.mean(cv)) if cv else math.nan, "n_controls": len(cv)})
    result["series"] = series
    means = {
        "treated_before": _mean([mine[y] for y in before]), "treated_after": _mean([mine[y] for y in after]),
        "control_before": _mean([values[o][y] for o in controls for y in before if y in values[o]]),
        "control_after": _mean([values[o][y] for o in controls for y in after if y in values[o]]),
    }
    result.update(means)
    short_nl, short_en = [], []
    if start > year:
        short_nl.append(f"de pilot start pas in {start}")
        short_en.append(f"the pilot only starts in {start}")
    elif len(after) < cfg["min_years_after"]:
        short_nl.append(f"{len(after)} jaar met gegevens vanaf de start (minimaal {cfg['min_years_after']})")
        short_en.append(f"{len(after)} year(s) with data from the start (at least {cfg['min_years_after']} needed)")
    if len(before) < cfg["min_years_before"]:
        short_nl.append(f"{len(before)} jaar met gegevens vóór de start (minimaal {cfg['min_years_before']})")
        short_en.append(f"{len(before)} year(s) with data before the start (at least {cfg['min_years_before']} needed)")
    if len(controls) < cfg["min_controls"] and start <= year:
        short_nl.append(f"{len(controls)} vergelijkbare organisaties met gegevens (minimaal {cfg['min_controls']})")
        short_en.append(f"{len(controls)} comparable organisations with data (at least {cfg['min_controls']} needed)")
    if not short_nl:
        panel = pd.DataFrame(
            [{"unit": org, "year": y, "value": mine[y], "treated": 1} for y in sorted(window)]
            + [{"unit": o, "year": y, "value": values[o][y], "treated": 0}
               for o in controls for y in sorted(window) if y in values[o]])
        try:
            result.update(pilot_effect(panel, start, float(cfg["confidence"])))
        except ValueError as exc:
            short_nl.append("de gegevens laten geen schatting toe")
            short_en.append(f"the data do not allow an estimate ({exc})")
    alpha = 1.0 - float(cfg["confidence"])
    result["pre_trend_years"] = [e["year"] for e in result["event_study"]
                                 if e["rel_year"] < 0 and not e["reference"] and _float(e["p_value"]) <= alpha + 1e-12]
    result.update(_verdict(result, short_nl, short_en, cfg))
    return result


def _mean(xs: list[float]) -> float:
    return float(np.mean(xs)) if xs else math.nan


def _p_text(p: float, lang: str) -> str:
    return fmt_number(p, 3, lang)


def _verdict(r: Mapping[str, Any], short_nl: list[str], short_en: list[str],
             cfg: Mapping[str, Any]) -> dict[str, str]:
    """Verdict code and words from the randomisation inference (docs/pilots.md, 'Verdict').

    ``too_little_data``: no estimate (too few years or controls). ``cannot_tell``: an estimate, but
    the smallest attainable permutation p exceeds alpha, so no significance statement is possible
    whatever the data. ``improved`` / ``worsened``: p <= alpha (direction of the indicator decides).
    ``no_clear_effect``: p > alpha although alpha was attainable."""
    if short_nl:
        return {"verdict": "too_little_data",
                "verdict_nl": f"{TOO_LITTLE_NL}: {'; '.join(short_nl)}.",
                "verdict_en": f"{TOO_LITTLE_EN}: {'; '.join(short_en)}."}
    fd = lambda v, lang: format_difference(v, r["unit"], r["decimals"], lang)  # noqa: E731
    alpha = 1.0 - float(cfg["confidence"])
    n_all, n_ctrl = int(r["n_assignments"]), int(r["n_control_units"])
    est_nl, est_en = fd(r["estimate"], "nl"), fd(r["estimate"], "en")
    p_nl, p_en = _p_text(r["p_value"], "nl"), _p_text(r["p_value"], "en")
    test_nl = (f"permutatietoets over {n_all} organisaties: p = {p_nl}, "
               f"kleinste haalbare p = 1/{n_all} = {_p_text(r['p_min'], 'nl')}")
    test_en = (f"permutation test over {n_all} organisations: p = {p_en}, "
               f"smallest attainable p = 1/{n_all} = {_p_text(r['p_min'], 'en')}")
    if math.isfinite(r["ci_low"]) and math.isfinite(r["ci_high"]):
        pct = f"{int(round(float(cfg['confidence']) * 100))}%"
        test_nl += f"; {pct}-interval {fd(r['ci_low'], 'nl')} tot {fd(r['ci_high'], 'nl')}"
        test_en += f"; {pct} interval {fd(r['ci_low'], 'en')} to {fd(r['ci_high'], 'en')}"
    if not math.isnan(_float(r.get("p_wild_bootstrap"))):
        test_nl += f"; wild-cluster-bootstrap p = {_p_text(r['p_wild_bootstrap'], 'nl')}"
        test_en += f"; wild-cluster bootstrap p = {_p_text(r['p_wild_bootstrap'], 'en')}"
    sign = 1.0 if r["direction"] == "higher" else -1.0
    if r["p_min"] > alpha + 1e-12:
        verdict = "cannot_tell"
        nl = (f"Niet vast te stellen: met {n_ctrl} vergelijkbare organisaties zonder pilot kan de permutatietoets "
              f"niet onder p = {_p_text(r['p_min'], 'nl')} komen, meer dan {_p_text(alpha, 'nl')}; te weinig "
              f"vergelijkbare leden voor een uitspraak over significantie. Geschat effect {est_nl} "
              f"(plaats {r['placebo_rank']} van {n_all} in de placebotoets; p = {p_nl}).")
        en = (f"Cannot tell: with {n_ctrl} comparable organisations without a pilot the permutation test cannot "
              f"go below p = {_p_text(r['p_min'], 'en')}, more than {_p_text(alpha, 'en')}; too few comparable "
              f"members for a significance statement. Estimated effect {est_en} "
              f"(rank {r['placebo_rank']} of {n_all} in the placebo test; p = {p_en}).")
    elif r["p_value"] <= alpha + 1e-12:
        if sign * r["estimate"] > 0:
            verdict = "improved"
            nl = f"Verbeterd ten opzichte van vergelijkbare organisaties: {est_nl} ({test_nl})."
            en = f"Improved relative to comparable organisations: {est_en} ({test_en})."
        else:
            verdict = "worsened"
            nl = f"Verslechterd ten opzichte van vergelijkbare organisaties: {est_nl} ({test_nl})."
            en = f"Worsened relative to comparable organisations: {est_en} ({test_en})."
    else:
        verdict = "no_clear_effect"
        nl = f"Geen aantoonbaar effect: {est_nl} valt binnen wat vergelijkbare organisaties zonder pilot laten zien ({test_nl})."
        en = f"No clear effect: {est_en} lies within what comparable organisations without a pilot show ({test_en})."
    if r.get("pre_trend_years"):
        yrs = ", ".join(str(y) for y in r["pre_trend_years"])
        nl += f" Let op: vóór de start week de pilotorganisatie al af van de vergelijkers ({yrs}); de aanname van parallelle trends is twijfelachtig."
        en += f" Note: before the start the pilot organisation already differed from the controls ({yrs}); parallel trends are doubtful."
    ideal = cfg["ideal_years"]
    if r["n_treated_before"] < ideal or r["n_treated_after"] < ideal:
        nl += f" Indicatief: minder dan {ideal} jaar gegevens vóór of na de start."
        en += f" Indicative: fewer than {ideal} years of data before or after the start."
    return {"verdict": verdict, "verdict_nl": nl, "verdict_en": en}


VERDICTS = ("improved", "worsened", "no_clear_effect", "cannot_tell", "too_little_data")


# ------------------------------------------------------------------------------------ stage entry

def _read_table(con: Any, name: str, sql: str | None = None, params: list | None = None) -> pd.DataFrame:
    from pipeline.core import warehouse
    if not warehouse.table_exists(con, name):
        return pd.DataFrame()
    return con.execute(sql or f"SELECT * FROM {name}", params or []).df()


def read_pilot_data(ws: Workspace, year: int | None = None) -> tuple[PilotData, int]:
    """Read what pilot selection needs from the warehouse (read-only); ``year`` defaults to the latest."""
    from pipeline.core import warehouse
    if not ws.db_path.exists():
        raise PilotError(f"no warehouse at {ws.db_path}; run 'rbb ingest' and 'rbb compute' first")
    con = warehouse.connect(ws.db_path, read_only=True)
    try:
        for name in ("comparisons", "indicator_catalogue"):
            if not warehouse.table_exists(con, name):
                raise PilotError(f"the warehouse has no table {name!r}; run 'rbb compute' first")
        if year is None:
            latest = con.execute("SELECT max(year) FROM comparisons").fetchone()[0]
            if latest is None:
                raise PilotError("the comparisons table is empty; run 'rbb compute' first")
            year = int(latest)
        findings = pd.DataFrame()
        if warehouse.table_exists(con, "findings") and warehouse.table_exists(con, "submissions"):
            findings = con.execute(
                "SELECT f.org_code, f.year, f.severity, f.rule, f.sheet, f.field, f.explained, s.in_force "
                "FROM findings f JOIN submissions s USING (submission_id) "
                "WHERE s.in_force AND f.severity = 'warning' AND f.year = ?", [year]).df()
        organisatie = pd.DataFrame()
        if warehouse.table_exists(con, "v_organisatie"):
            organisatie = con.execute(
                "SELECT org_code, year, ontwikkelvraag_thema FROM v_organisatie WHERE year <= ?", [year]).df()
        data = PilotData(
            comparisons=_read_table(con, "comparisons", "SELECT * FROM comparisons WHERE year <= ?", [year]),
            catalogue=_read_table(con, "indicator_catalogue"),
            organisations=_read_table(con, "organisations"),
            indicator_values=_read_table(
                con, "indicator_values",
                "SELECT org_code, year, indicator_code, value, flags FROM indicator_values WHERE year <= ?", [year]),
            findings=findings, organisatie=organisatie,
            dea_results=_read_table(con, "dea_results", "SELECT * FROM dea_results WHERE year <= ?", [year]),
            composite_uncertainty=_read_table(
                con, "composite_uncertainty", "SELECT * FROM composite_uncertainty WHERE year <= ?", [year]),
        )
    finally:
        con.close()
    if data.organisations.empty:
        data.organisations = organisations_frame(ws.root)
    return data, year


def select_pilots(data: PilotData, year: int, register: pd.DataFrame | None = None,
                  config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Candidates, partners, shortlist and follow-ups in one go (no I/O)."""
    cfg = dict(config or default_config())
    candidates = find_candidates(data, year, cfg, register)
    partners = find_partners(data, candidates[~candidates["excluded"].astype(bool)] if not candidates.empty
                             else candidates, year, cfg)
    shortlist = build_shortlist(candidates, partners, cfg)
    follow = follow_up(data, register if register is not None else pd.DataFrame(), year, cfg)
    return {"year": year, "config": cfg, "candidates": candidates, "partners": partners,
            "shortlist": shortlist, "follow_up": follow}


def run_pilots(ws: Workspace, year: int | None = None) -> dict[str, Any]:
    """Read the warehouse, select pilots and write ``reports/<year>/pilots.html`` (+ ``pilots.en.html``, ``pilots.csv``).

    Returns the year, the shortlist, candidates, partners and follow-up results, register problems
    (invalid rows are skipped, not fatal) and the paths written.
    """
    data, year = read_pilot_data(ws, year)
    cfg = load_config(ws.root)
    register, problems = load_register(ws, strict=False, catalogue=data.catalogue)
    result = select_pilots(data, year, register, cfg)
    result["register"] = register
    result["register_problems"] = problems
    out_dir = ws.reports / str(year)
    paths = {"csv": out_dir / "pilots.csv", "html": out_dir / "pilots.html", "html_en": out_dir / "pilots.en.html",
             "follow_up_csv": out_dir / "pilots_follow_up.csv"}
    atomic_write_text(paths["csv"], shortlist_csv(result["shortlist"]))
    atomic_write_text(paths["follow_up_csv"], follow_up_csv(result["follow_up"]))
    atomic_write_text(paths["html"], render_report(result, "nl"))
    atomic_write_text(paths["html_en"], render_report(result, "en"))
    result["paths"] = paths
    result.update(paths)
    candidates = result["candidates"]
    n_excluded = int(candidates["excluded"].sum()) if not candidates.empty else 0
    result["n_candidates"] = len(candidates) - n_excluded
    result["n_excluded"] = n_excluded
    result["n_shortlisted"] = len(result["shortlist"])
    result["n_registered"] = len(register)
    verdicts = Counter(f["verdict"] for f in result["follow_up"])
    follow = ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())) or "none"
    result["summary"] = (f"Pilot selection {year}: {result['n_shortlisted']} shortlisted of {result['n_candidates']} "
                         f"candidates, {n_excluded} excluded; follow-up of {len(register)} registered pilot(s): {follow}")
    return result


CSV_COLUMNS = [
    "rank", "year", "org_code", "org_name", "indicator_code", "indicator_name_nl", "theme", "partner_org_code",
    "score", "rationale", "rationale_en", "value", "reference_scope", "reference_median", "best_quartile_threshold",
    "gap_median_iqr", "bottom_years", "significance_label", "composite_bottom", "development_question_match",
    "dea_score", "partner_status", "first_choice_partner",
    *[f"c_{k}" for k in CRITERIA],
]


def shortlist_csv(shortlist: pd.DataFrame) -> str:
    """The shortlist as CSV: rationale columns included, text cells escaped against formula injection."""
    df = shortlist.rename(columns={"rationale_nl": "rationale"}).reindex(columns=CSV_COLUMNS)
    for col in df.columns:
        if df[col].dtype == object or str(df[col].dtype).startswith(("string", "str")):
            df[col] = df[col].map(lambda v: escape_cell(v) if isinstance(v, str) else v)
    for col in ("score", *[f"c_{k}" for k in CRITERIA], "gap_median_iqr", "dea_score"):
        df[col] = pd.to_numeric(df[col], errors="coerce").round(4)
    return df.to_csv(index=False, lineterminator="\n")


FOLLOW_UP_COLUMNS = [
    "org_code", "indicator_code", "partner_org_code", "start_year", "verdict", "estimate", "estimate_2x2", "se",
    "p_value", "p_min", "n_assignments", "ci_low", "ci_high", "n_control_units", "control_scope",
    "rel_year", "year", "es_estimate", "es_p_value", "es_placebo_low", "es_placebo_high", "es_reference",
]


def follow_up_csv(follow: Sequence[Mapping[str, Any]]) -> str:
    """The follow-ups as CSV, one row per pilot and year relative to the start (the event study; a pilot
    without an estimate gets one row with empty event-study columns), for charts and analysts."""
    rows = []
    for f in follow:
        head = {c: f.get(c) for c in FOLLOW_UP_COLUMNS[:15]}
        head["partner_org_code"] = escape_cell(_text(head["partner_org_code"]))
        events = f.get("event_study") or [{}]
        for e in events:
            rows.append({**head, "rel_year": e.get("rel_year"), "year": e.get("year"),
                         "es_estimate": e.get("estimate"), "es_p_value": e.get("p_value"),
                         "es_placebo_low": e.get("placebo_low"), "es_placebo_high": e.get("placebo_high"),
                         "es_reference": e.get("reference")})
    df = pd.DataFrame(rows, columns=FOLLOW_UP_COLUMNS)
    for col in ("estimate", "estimate_2x2", "se", "p_value", "p_min", "ci_low", "ci_high", "es_estimate",
                "es_p_value", "es_placebo_low", "es_placebo_high"):
        df[col] = pd.to_numeric(df[col], errors="coerce").round(6)
    return df.to_csv(index=False, lineterminator="\n")


# ----------------------------------------------------------------------------------------- report

def _yes(flag: Any, nl: bool) -> str:
    return ("ja" if nl else "yes") if bool(flag) else ("nee" if nl else "no")


def _evidence_rows(c: Mapping[str, Any], cfg: Mapping[str, Any], nl: bool) -> list[tuple[str, str]]:
    lang = "nl" if nl else "en"
    fv = lambda v: format_value(v, c["unit"], c["decimals"], lang)  # noqa: E731
    scope = "cluster" if c["reference_scope"] == "cluster" else ("alle leden" if nl else "all members")
    sig = {"worse": "slechter" if nl else "worse", "better": "beter" if nl else "better",
           "not_significant": "niet significant" if nl else "not significant"}.get(_text(c["significance_label"]), "—")
    rows = [
        ("Waarde" if nl else "Value", fv(c["value"])),
        (f"Mediaan ({scope})" if nl else f"Median ({scope})", fv(c["reference_median"])),
        ("Grens beste kwartiel" if nl else "Best-quartile threshold", fv(c["best_quartile_threshold"])),
        ("Achterstand op mediaan, in IQR" if nl else "Gap to median, in IQRs", fmt_number(c["gap_median_iqr"], 2, lang)),
        ("Jaren op rij laagste kwartiel" if nl else "Years in a row in bottom quartile", str(int(c["bottom_years"]))),
        ("Significantie" if nl else "Significance", sig),
        ("Totaalindex robuust laagste kwart" if nl else "Composite index robustly bottom quarter",
         (_yes(True, nl) + f" (rang ≥ {int(c['composite_rank_lo'])} / {int(c['composite_n_units'])})"
          if c["composite_bottom"] else _yes(False, nl))),
        ("Ontwikkelvraag" if nl else "Development question",
         (_text(c["development_question_theme"]) or "—") + (" ✓" if c["development_question_match"] else "")),
        ("DEA-efficiëntie (input)" if nl else "DEA efficiency (input)", _dea_text(c, nl)),
    ]
    crit = ", ".join(
        f"{_CRITERIA_LABELS[k][0 if nl else 1]} {fmt_number(c[f'c_{k}'], 2, lang)} "
        f"× {fmt_number(cfg['weights'][k], 2, lang)}"
        for k in CRITERIA if not math.isnan(_float(c[f"c_{k}"])))
    rows.append(("Criteria × gewicht" if nl else "Criteria × weight", crit))
    rows.append(("Score", fmt_number(c["score"], 3, lang)))
    return rows


def _dea_text(c: Mapping[str, Any], nl: bool) -> str:
    score = _float(c["dea_score"])
    if math.isnan(score):
        return "—"
    text = fmt_number(score, 3, "nl" if nl else "en")
    if not c["efficiency_applies"]:
        text += " (telt niet mee voor dit thema)" if nl else " (not counted for this theme)"
    return text


_CRITERIA_LABELS = {
    "gap_median": ("achterstand mediaan", "gap to median"),
    "gap_best_quartile": ("achterstand beste kwartiel", "gap to best quartile"),
    "persistence": ("hardnekkigheid", "persistence"),
    "significance": ("significantie", "significance"),
    "development_question": ("ontwikkelvraag", "development question"),
    "efficiency": ("efficiëntie", "efficiency"),
}


def render_report(result: Mapping[str, Any], lang: str = "nl") -> str:
    """The restricted pilot-selection report as HTML."""
    nl = lang != "en"
    cfg = result["config"]
    year = result["year"]
    shortlist = result["shortlist"]
    candidates = result["candidates"]
    partners = result["partners"]
    fv = lambda v, row: format_value(v, row["unit"], row["decimals"], lang)  # noqa: E731
    fd = lambda v, row, signed=True: format_difference(v, row["unit"], row["decimals"], lang, signed)  # noqa: E731
    entries = []
    for s in shortlist.to_dict("records"):
        opts = partners[(partners["org_code"] == s["org_code"]) & (partners["indicator_code"] == s["indicator_code"])] \
            if not partners.empty else partners
        entries.append({
            "rank": s["rank"], "org": f"{s['org_label']} — {s['org_name']}", "org_label": s["org_label"],
            "indicator": s["indicator_name_nl"] if nl else s["indicator_name_en"],
            "theme": s["theme_nl"] if nl else s["theme_en"],
            "value": fv(s["value"], s), "median": fv(s["reference_median"], s),
            "bottom_years": int(s["bottom_years"]), "score": fmt_number(s["score"], 3, lang),
            "partner": _text(s["partner_label"]) or "—", "partner_value": fv(s["partner_value"], s),
            "partner_status": s["partner_status"],
            "rationale": s["rationale_nl"] if nl else s["rationale_en"],
            "evidence": _evidence_rows(s, cfg, nl),
            "options": [{"label": o["partner_label"], "score": fmt_number(o["partner_score"], 2, lang),
                         "value": fv(o["partner_value"], s), "evidence": o["evidence_nl"] if nl else o["evidence_en"],
                         "chosen": o["partner_org_code"] == s["partner_org_code"]}
                        for o in opts.head(5).to_dict("records")],
        })
    short_keys = set(zip(shortlist["org_code"], shortlist["indicator_code"])) if not shortlist.empty else set()
    others, excluded = [], []
    for c in candidates.to_dict("records"):
        row = {"org": c["org_label"], "indicator": c["indicator_name_nl"] if nl else c["indicator_name_en"],
               "value": fv(c["value"], c), "median": fv(c["reference_median"], c), "bottom_years": int(c["bottom_years"]),
               "score": fmt_number(c["score"], 3, lang)}
        if c["excluded"]:
            excluded.append({**row, "reason": c["exclusion_nl"] if nl else c["exclusion_en"]})
        elif (c["org_code"], c["indicator_code"]) not in short_keys:
            others.append(row)
    follow = []
    for f in result["follow_up"]:
        follow.append({
            "org": f["org_label"], "indicator": f["indicator_name_nl"] if nl else f["indicator_name_en"],
            "partner": f["partner_label"] or "—", "start_year": f["start_year"], "note": f["note"],
            "estimate": fd(f["estimate"], f), "se": fd(f["se"], f, False),
            "p": "—" if math.isnan(_float(f.get("p_value"))) else fmt_number(f["p_value"], 3, lang),
            "p_min": "—" if math.isnan(_float(f.get("p_min"))) else fmt_number(f["p_min"], 3, lang),
            "ci": "—" if math.isnan(_float(f["ci_low"]))
                  else ("onbegrensd" if nl else "unbounded") if not math.isfinite(_float(f["ci_low"]))
                  or not math.isfinite(_float(f["ci_high"]))
                  else f"{fd(f['ci_low'], f)} {'tot' if nl else 'to'} {fd(f['ci_high'], f)}",
            "n_treated_years": f["n_treated_years"], "n_before": f["n_treated_before"], "n_after": f["n_treated_after"],
            "n_controls": f["n_control_units"],
            "scope": "cluster" if f["control_scope"] == "cluster" else ("alle leden" if nl else "all members"),
            "verdict": f["verdict"], "verdict_text": f["verdict_nl"] if nl else f["verdict_en"],
            "means": [fv(f[k], f) for k in ("treated_before", "treated_after", "control_before", "control_after")],
            "series": [{"year": p["year"], "period": ("vóór" if p["period"] == "before" else "na") if nl else p["period"],
                        "treated": fv(p["treated"], f), "control": fv(p["control_mean"], f), "n": p["n_controls"]}
                       for p in f["series"]],
        })
    weights = [(_CRITERIA_LABELS[k][0 if nl else 1], fmt_number(cfg["weights"][k], 2, lang)) for k in CRITERIA]
    title = f"Pilotselectie {year}" if nl else f"Pilot selection {year}"
    return render(
        "pilots.html", lang=lang, title=title,
        subtitle=("Rijksbrede Benchmarkgroep — waar een pilot het meest oplevert en wie kan helpen" if nl
                  else "Rijksbrede Benchmarkgroep — where a pilot pays off most and who can help"),
        confidential="Vertrouwelijk — alleen voor het Dagelijks Bestuur en de programmaleiding" if nl
        else "Restricted — Executive Board and programme management only",
        year=year, entries=entries, others=others, excluded=excluded, follow=follow, weights=weights, cfg=cfg,
        n_candidates=int((~candidates["excluded"].astype(bool)).sum()) if not candidates.empty else 0,
        n_excluded=len(excluded), problems=result.get("register_problems", []),
    )


# ------------------------------------------------------------------------------------------ demo

def example_pair(data: PilotData, first_year: int, last_year: int) -> tuple[str, str, str] | None:
    """A weak organisation x indicator in the first year with a strong same-cluster partner, both with data to the end."""
    cat = _catalogue_map(data.catalogue)
    comp = data.comparisons
    ranked = [c for c, m in cat.items() if m["direction"] in RANKED]
    orgs = _org_map(data)
    full = comp[comp["indicator_code"].isin(ranked) & comp["value"].notna()]
    years_per = full.groupby(["org_code", "indicator_code"])["year"].apply(set).to_dict()
    needed = set(range(first_year, last_year + 1))
    first = full[full["year"] == first_year]
    q = pd.to_numeric(first["quartile"], errors="coerce")
    weak = first[q == 4].sort_values(["percentile", "org_code", "indicator_code"] if "percentile" in first
                                     else ["org_code", "indicator_code"], kind="mergesort")
    strong = first[q == 1]
    for w in weak.to_dict("records"):
        org, ind = str(w["org_code"]), str(w["indicator_code"])
        if not needed <= years_per.get((org, ind), set()):
            continue
        cluster = orgs.get(org, {}).get("cluster")
        mates = sorted(str(p) for p in strong.loc[strong["indicator_code"] == ind, "org_code"]
                       if orgs.get(str(p), {}).get("cluster") == cluster and str(p) != org)
        if mates:
            return org, ind, mates[0]
    return None
