"""Pilot selection: where a pilot is most worthwhile and who can help.

:func:`read_pilot_data` reads what selection needs from the warehouse into :class:`PilotData` (tables shaped
as in docs/warehouse.md); everything else is a pure function on those DataFrames:

* :func:`find_candidates` - organisation x ranked indicator combinations where improvement is needed and the
  evidence is credible, each with a score; combinations whose data is not clean, or that already have a
  registered pilot, are kept with ``excluded = True`` and the reason;
* :func:`find_partners` - for each candidate, organisations demonstrably strong on that indicator;
* :func:`build_shortlist` - ranked shortlist with one partner each, spreading the coaching load, and the
  :func:`rationale` of each entry in words and figures;
* :func:`example_pair` - a weak organisation with a strong partner, for the demo.

:func:`catalogue_map`, :func:`org_map` and :func:`org_label` give the indicator catalogue and the organisations
as plain mappings; the register and the follow-up use them too. Criteria, thresholds and weights live in
``metadata/pilots.yaml`` (:mod:`pipeline.pilots.config`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.workspace import Workspace
from pipeline.metadata.models import load as load_metadata
from pipeline.metadata.registry import SIZE_CLASSES, load_organisations
from pipeline.pilots.config import CRITERIA, PARTNER_CRITERIA, default_config
from pipeline.pilots.values import as_float, as_list, as_text, format_value, is_missing
from pipeline.report.render import fmt_number

RANKED = ("higher", "lower")


class PilotError(ValueError):
    """The warehouse lacks what pilot selection needs."""


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
    # a merged or renamed member's values before its first year, made up of its predecessors (compute.lineage)
    lineage_values: pd.DataFrame = field(default_factory=pd.DataFrame)


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
        rows.append(
            {
                "code": ind["code"],
                "theme": ind["theme"],
                "name_nl": ind["name_nl"],
                "name_en": ind["name_en"],
                "unit": str(ind.get("unit") or ""),
                "scale": ind.get("scale"),
                "decimals": int(ind.get("decimals", 1)),
                "direction": ind["direction"],
                "fields": list(ind.get("fields") or []),
                "theme_nl": theme.get("nl", ind["theme"]),
                "theme_en": theme.get("en", ind["theme"]),
            }
        )
    return pd.DataFrame(rows)


def organisations_frame(root: str | Path | None = None) -> pd.DataFrame:
    """The organisation register as a DataFrame shaped like the warehouse table ``organisations``."""
    return pd.DataFrame(
        [
            {
                "org_code": o.org_code,
                "name": o.name,
                "abbreviation": o.abbreviation,
                "cluster": o.cluster,
                "size_class": o.size_class,
                "member_since": o.member_since,
                "member_until": o.member_until,
            }
            for o in load_organisations(Path(root) if root is not None else None)
        ]
    )


def catalogue_map(catalogue: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per indicator code: theme, direction, names, unit, decimals and fields, with defaults filled in."""
    out = {}
    for rec in catalogue.to_dict("records"):
        theme = as_text(rec.get("theme"))
        out[str(rec["code"])] = {
            "theme": theme,
            "direction": as_text(rec.get("direction")),
            "name_nl": as_text(rec.get("name_nl")) or str(rec["code"]),
            "name_en": as_text(rec.get("name_en")) or as_text(rec.get("name_nl")) or str(rec["code"]),
            "unit": as_text(rec.get("unit")),
            "decimals": int(as_float(rec.get("decimals"))) if not math.isnan(as_float(rec.get("decimals"))) else 1,
            "fields": as_list(rec.get("fields")),
            "theme_nl": as_text(rec.get("theme_nl")) or theme,
            "theme_en": as_text(rec.get("theme_en")) or theme,
        }
    return out


def org_map(data: PilotData) -> dict[str, dict[str, str]]:
    """Per organisation code: name, label, cluster and size class (cluster from the comparisons if missing)."""
    out: dict[str, dict[str, str]] = {}
    if not data.organisations.empty:
        for rec in data.organisations.to_dict("records"):
            code = str(rec["org_code"])
            out[code] = {
                "name": as_text(rec.get("name")) or code,
                "label": as_text(rec.get("abbreviation")) or code,
                "cluster": as_text(rec.get("cluster")),
                "size_class": as_text(rec.get("size_class")),
            }
    comp = data.comparisons
    if "cluster" in comp.columns:
        for code, cluster in comp[["org_code", "cluster"]].drop_duplicates("org_code").itertuples(index=False):
            entry = out.setdefault(str(code), {"name": str(code), "label": str(code), "cluster": "", "size_class": ""})
            if not entry["cluster"]:
                entry["cluster"] = as_text(cluster)
    return out


def org_label(orgs: Mapping[str, Mapping[str, str]], code: str) -> str:
    """The short label (abbreviation) of an organisation, else its code."""
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
        if as_text(theme):
            out[str(org)] = as_text(theme).lower()
    return out


def _is_input_model(model: str) -> bool:
    tokens = [t for t in re.split(r"[^a-z]+", model.lower()) if t]
    return any(t in ("in", "input", "io", "inp") for t in tokens) or "input" in model.lower()


def parse_lambdas(text: Any, peers: Any = None) -> dict[str, float]:
    """``"CODE:0.5;CODE2:0.25"`` as ``{"CODE": 0.5, "CODE2": 0.25}``; peers without weight get NaN."""
    out: dict[str, float] = {}
    for part in as_text(text).split(";"):
        code, _, weight = part.strip().partition(":")
        if code.strip():
            out[code.strip()] = as_float(weight.replace(",", ".")) if weight.strip() else math.nan
    for code in as_text(peers).split(";"):
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
        out[org] = {"score": as_float(rec.get("score")), "model": model, "peers": peers}
    return out


def _composite_bottom(unc: pd.DataFrame, year: int, share: float) -> dict[str, tuple[float, int]]:
    """Organisations whose best plausible composite rank (rank_lo) still lies in the bottom quarter."""
    if unc.empty:
        return {}
    out = {}
    for rec in unc[unc["year"] == year].to_dict("records"):
        rank_lo, n = as_float(rec.get("rank_lo")), as_float(rec.get("n_units"))
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
        fld = as_text(rec.get("field"))
        if not fld:
            continue
        sheet = as_text(rec.get("sheet"))
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
    return {
        (str(o), str(i)): [p for p in as_text(fl).split(";") if p]
        for o, i, fl in rows[["org_code", "indicator_code", "flags"]].itertuples(index=False)
        if as_text(fl)
    }


def _registered(register: pd.DataFrame | None, year: int) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Per organisation x indicator, the pilots of earlier rounds (or started ones) that rule out a new one; a
    pilot the board chose from this very round stays on its shortlist."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    if register is None or register.empty:
        return out
    for rec in register.to_dict("records"):
        round_year = rec.get("round_year")
        if round_year is not None and not pd.isna(round_year) and int(round_year) >= year:
            continue
        start = rec.get("start_year")
        label = (
            (f"start {int(start)}", f"start {int(start)}")
            if start is not None and not pd.isna(start)
            else (f"gekozen in {int(round_year)}", f"chosen in {int(round_year)}")
        )
        out.setdefault((str(rec["org_code"]), str(rec["indicator_code"])), []).append(label)
    return out


def _clip01(x: float) -> float:
    return 0.0 if math.isnan(x) else float(min(1.0, max(0.0, x)))


# ------------------------------------------------------------------------------------- candidates


def find_candidates(
    data: PilotData, year: int, config: Mapping[str, Any] | None = None, register: pd.DataFrame | None = None
) -> pd.DataFrame:
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
    cat = catalogue_map(data.catalogue)
    comp = data.comparisons[data.comparisons["year"] <= year]
    orgs = org_map(data)
    bottom = _streaks(comp, year, 4)
    dev = _development_themes(data.organisatie, year)
    dea = _dea(data.dea_results, year, cfg)
    composite = _composite_bottom(data.composite_uncertainty, year, float(cfg["composite_bottom_share"]))
    warnings = _open_warnings(data.findings, year)
    flags = _value_flags(data.indicator_values, year)
    registered = _registered(register, year)
    weights = {k: float(cfg["weights"].get(k, 0.0)) for k in CRITERIA}
    exclude_flags = set(cfg.get("exclude_flags") or [])

    current = comp[
        (comp["year"] == year) & comp["indicator_code"].isin([c for c, m in cat.items() if m["direction"] in RANKED])
    ]
    rows = []
    for rec in current.to_dict("records"):
        org, ind = str(rec["org_code"]), str(rec["indicator_code"])
        meta = cat[ind]
        value = as_float(rec.get("value"))
        if as_float(rec.get("quartile")) != 4 or math.isnan(value):
            continue
        streak = bottom.get((org, ind), 0)
        worse = as_text(rec.get("significance_label")) == "worse"
        if not (streak >= cfg["min_bottom_years"] or (worse and cfg["significant_qualifies"])):
            continue
        sign = 1.0 if meta["direction"] == "higher" else -1.0
        published = rec.get("cluster_published")
        cluster_ok = (
            not is_missing(published) and bool(published) and not math.isnan(as_float(rec.get("cluster_median")))
        )
        prefix = "cluster_" if cluster_ok else ""
        median = as_float(rec.get(f"{prefix}median"))
        iqr = as_float(rec.get(f"{prefix}p75")) - as_float(rec.get(f"{prefix}p25"))
        iqr_all = as_float(rec.get("p75")) - as_float(rec.get("p25"))
        best = as_float(rec.get("best_quartile_threshold"))
        if math.isnan(best):
            best = as_float(rec.get("p75" if sign > 0 else "p25"))
        gap_median = sign * (median - value)
        gap_best = sign * (best - value)
        gap_median_iqr = gap_median / _scale(iqr, median)
        gap_best_iqr = gap_best / _scale(iqr_all, as_float(rec.get("median")))
        theme = meta["theme"]
        org_dea = dea.get(org)
        efficiency_applies = (
            theme in (cfg.get("efficiency_themes") or []) and org_dea is not None and not math.isnan(org_dea["score"])
        )
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
            year,
            _unclean_fields(meta["fields"], warnings.get(org)),
            sorted(exclude_flags & set(flags.get((org, ind), []))),
            registered.get((org, ind), []),
        )
        composite_hit = composite.get(org)
        rows.append(
            {
                "year": year,
                "org_code": org,
                "org_name": orgs.get(org, {}).get("name", org),
                "org_label": org_label(orgs, org),
                "cluster": orgs.get(org, {}).get("cluster", ""),
                "size_class": orgs.get(org, {}).get("size_class", ""),
                "indicator_code": ind,
                "indicator_name_nl": meta["name_nl"],
                "indicator_name_en": meta["name_en"],
                "theme": theme,
                "theme_nl": meta["theme_nl"],
                "theme_en": meta["theme_en"],
                "direction": meta["direction"],
                "unit": meta["unit"],
                "decimals": meta["decimals"],
                "value": value,
                "reference_scope": "cluster" if cluster_ok else "all",
                "reference_median": median,
                "best_quartile_threshold": best,
                "iqr": iqr,
                "gap_median": gap_median,
                "gap_median_iqr": gap_median_iqr,
                "gap_best_quartile": gap_best,
                "gap_best_quartile_iqr": gap_best_iqr,
                "bottom_years": streak,
                "significance_label": as_text(rec.get("significance_label")) or None,
                "significantly_worse": worse,
                "composite_bottom": composite_hit is not None,
                "composite_rank_lo": composite_hit[0] if composite_hit else math.nan,
                "composite_n_units": composite_hit[1] if composite_hit else math.nan,
                "development_question_theme": dev.get(org),
                "development_question_match": dev.get(org) == theme,
                "dea_score": org_dea["score"] if org_dea else math.nan,
                "dea_model": org_dea["model"] if org_dea else None,
                "efficiency_applies": efficiency_applies,
                **{f"c_{k}": crit[k] for k in CRITERIA},
                "score": round(score, 6),
                "excluded": bool(reasons_nl),
                "exclusion_nl": "; ".join(reasons_nl),
                "exclusion_en": "; ".join(reasons_en),
            }
        )
    columns = _CANDIDATE_COLUMNS
    out = pd.DataFrame(rows, columns=columns)
    if out.empty:
        return out
    out = out.sort_values(
        ["excluded", "score", "org_code", "indicator_code"], ascending=[True, False, True, True], kind="mergesort"
    )
    return out.reset_index(drop=True)


def _exclusion_reasons(
    year: int, unclean: list[tuple[str, int]], bad_flags: list[str], registered_starts: list[tuple[str, str]]
) -> tuple[list[str], list[str]]:
    nl, en = [], []
    if unclean:
        listed = ", ".join(f"{k} ({n}x)" if n > 1 else k for k, n in unclean)
        nl.append(f"onverklaarde waarschuwing op {listed} in de levering {year}")
        en.append(f"unexplained warning on {listed} in the {year} submission")
    if bad_flags:
        nl.append(f"waarde gemarkeerd als {', '.join(bad_flags)}")
        en.append(f"value flagged {', '.join(bad_flags)}")
    if registered_starts:
        nl.append(f"er is al een pilot geregistreerd ({', '.join(sorted(x[0] for x in registered_starts))})")
        en.append(f"a pilot is already registered ({', '.join(sorted(x[1] for x in registered_starts))})")
    return nl, en


_CANDIDATE_COLUMNS = [
    "year",
    "org_code",
    "org_name",
    "org_label",
    "cluster",
    "size_class",
    "indicator_code",
    "indicator_name_nl",
    "indicator_name_en",
    "theme",
    "theme_nl",
    "theme_en",
    "direction",
    "unit",
    "decimals",
    "value",
    "reference_scope",
    "reference_median",
    "best_quartile_threshold",
    "iqr",
    "gap_median",
    "gap_median_iqr",
    "gap_best_quartile",
    "gap_best_quartile_iqr",
    "bottom_years",
    "significance_label",
    "significantly_worse",
    "composite_bottom",
    "composite_rank_lo",
    "composite_n_units",
    "development_question_theme",
    "development_question_match",
    "dea_score",
    "dea_model",
    "efficiency_applies",
    *[f"c_{k}" for k in CRITERIA],
    "score",
    "excluded",
    "exclusion_nl",
    "exclusion_en",
]


def _scale(iqr: float, median: float) -> float:
    if not math.isnan(iqr) and iqr > 0:
        return iqr
    if not math.isnan(median) and median != 0:
        return abs(median)
    return 1.0


# --------------------------------------------------------------------------------------- partners


def find_partners(
    data: PilotData, candidates: pd.DataFrame, year: int, config: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Organisations demonstrably strong on each candidate's indicator, best first per candidate.

    A partner qualifies when, on that indicator in ``year``, it is significantly better than the
    benchmark, or has been in the best quartile for at least ``min_top_years`` consecutive years,
    or (for ``efficiency_themes``) it is an efficient DEA peer with positive lambda for the
    candidate and in the upper half on the indicator. Its value must beat the candidate's. The
    partner score adds ``partner_weights`` for the same cluster, a similar size class and the
    strength of the evidence; ties go to ``org_code``.
    """
    cfg = dict(config or default_config())
    columns = [
        "org_code",
        "indicator_code",
        "partner_org_code",
        "partner_label",
        "partner_rank",
        "partner_score",
        "same_cluster",
        "size_match",
        "significantly_better",
        "top_years",
        "dea_peer",
        "dea_lambda",
        "partner_value",
        "partner_quartile",
        "evidence_nl",
        "evidence_en",
    ]
    if candidates.empty:
        return pd.DataFrame(columns=columns)
    comp = data.comparisons[data.comparisons["year"] <= year]
    orgs = org_map(data)
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
            value = as_float(rec.get("value"))
            if p == org or math.isnan(value) or sign * (value - cand["value"]) <= 0:
                continue
            quartile = as_float(rec.get("quartile"))
            better = as_text(rec.get("significance_label")) == "better"
            top_years = top.get((p, ind), 0)
            peer_eff = dea.get(p, {}).get("score", math.nan)
            is_peer = p in dea_peers and quartile in (1.0, 2.0) and (math.isnan(peer_eff) or peer_eff >= 1 - 1e-6)
            if not (better or top_years >= cfg["min_top_years"] or is_peer):
                continue
            them = orgs.get(p, {})
            same_cluster = bool(me.get("cluster")) and me.get("cluster") == them.get("cluster")
            size_match = _size_match(me.get("size_class", ""), them.get("size_class", ""))
            score = (
                pw["same_cluster"] * same_cluster
                + pw["same_size_class"] * {"same": 1.0, "adjacent": 0.5}.get(size_match, 0.0)
                + pw["significantly_better"] * better
                + pw["top_quartile_years"] * min(top_years, cap) / cap
                + pw["dea_peer"] * is_peer
            )
            lam = dea_peers.get(p, math.nan) if is_peer else math.nan
            nl, en = _partner_evidence(better, top_years, is_peer, lam, same_cluster, size_match, year)
            options.append(
                {
                    "org_code": org,
                    "indicator_code": ind,
                    "partner_org_code": p,
                    "partner_label": org_label(orgs, p),
                    "partner_score": round(score, 6),
                    "same_cluster": same_cluster,
                    "size_match": size_match,
                    "significantly_better": better,
                    "top_years": top_years,
                    "dea_peer": is_peer,
                    "dea_lambda": lam,
                    "partner_value": value,
                    "partner_quartile": quartile,
                    "evidence_nl": nl,
                    "evidence_en": en,
                }
            )
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


def _partner_evidence(
    better: bool, top_years: int, is_peer: bool, lam: float, same_cluster: bool, size_match: str, year: int
) -> tuple[str, str]:
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


def build_shortlist(
    candidates: pd.DataFrame, partners: pd.DataFrame, config: Mapping[str, Any] | None = None
) -> pd.DataFrame:
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
        ["score", "org_code", "indicator_code"], ascending=[False, True, True], kind="mergesort"
    )
    options: dict[tuple[str, str], list[dict]] = {}
    if not partners.empty:
        ordered = partners.sort_values(
            ["org_code", "indicator_code", "partner_score", "partner_org_code"],
            ascending=[True, True, False, True],
            kind="mergesort",
        )
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
            "partner_status": status,
            "first_choice_partner": first,
            "n_partner_options": len(choices),
        }
        entry["rationale_nl"] = rationale(entry, "nl", max_partner)
        entry["rationale_en"] = rationale(entry, "en", max_partner)
        rows.append(entry)
    return pd.DataFrame(rows, columns=columns)


_SHORTLIST_COLUMNS = [
    "rank",
    *_CANDIDATE_COLUMNS,
    "partner_org_code",
    "partner_label",
    "partner_score",
    "partner_value",
    "partner_evidence_nl",
    "partner_evidence_en",
    "partner_status",
    "first_choice_partner",
    "n_partner_options",
    "rationale_nl",
    "rationale_en",
]


def rationale(entry: Mapping[str, Any], lang: str = "nl", max_partner: int = 2) -> str:
    """The reasons for a shortlist entry in words and figures."""
    nl = lang != "en"
    org = entry["org_label"]
    ind = entry["indicator_name_nl"] if nl else entry["indicator_name_en"]
    fmt = lambda v: format_value(v, entry["unit"], entry["decimals"], "nl" if nl else "en")  # noqa: E731
    n = int(entry["bottom_years"])
    cluster = entry["reference_scope"] == "cluster"
    if nl:
        lead = (
            f"{org} staat {n} jaar op rij in het laagste kwartiel op {ind}"
            if n >= 2
            else f"{org} staat in {entry['year']} in het laagste kwartiel op {ind}"
        )
        lead += (
            f" ({fmt(entry['value'])} tegen {'clustermediaan' if cluster else 'mediaan'} "
            f"{fmt(entry['reference_median'])}; grens beste kwartiel {fmt(entry['best_quartile_threshold'])})"
        )
    else:
        lead = (
            f"{org} has been in the bottom quartile on {ind} for {n} years in a row"
            if n >= 2
            else f"{org} is in the bottom quartile on {ind} in {entry['year']}"
        )
        lead += (
            f" ({fmt(entry['value'])} against a {'cluster ' if cluster else ''}median of "
            f"{fmt(entry['reference_median'])}; best-quartile threshold {fmt(entry['best_quartile_threshold'])})"
        )
    parts = [lead]
    if entry["significantly_worse"]:
        parts.append("significant slechter dan de benchmark" if nl else "significantly worse than the benchmark")
    elif entry["composite_bottom"]:
        rank, units = int(entry["composite_rank_lo"]), int(entry["composite_n_units"])
        parts.append(
            f"ook op de totaalindex robuust in het laagste kwart (op zijn best rang {rank} van {units})"
            if nl
            else f"robustly in the bottom quarter of the overall index (best plausible rank {rank} of {units})"
        )
    if entry["development_question_match"]:
        parts.append("ontwikkelvraag op dit thema" if nl else "development question on this theme")
    if entry["efficiency_applies"] and entry["dea_score"] < 1 - 1e-6:
        parts.append(
            f"DEA-efficiëntie {fmt_number(entry['dea_score'], 2, 'nl')}"
            if nl
            else f"DEA efficiency {fmt_number(entry['dea_score'], 2, 'en')}"
        )
    status = entry["partner_status"]
    if status in ("assigned", "fallback"):
        evidence = entry["partner_evidence_nl"] if nl else entry["partner_evidence_en"]
        text = f"partner {entry['partner_label']}: {evidence}"
        if status == "fallback":
            text += (
                f" ({entry['first_choice_partner']} heeft al {max_partner} pilots)"
                if nl
                else f" ({entry['first_choice_partner']} already has {max_partner} pilots)"
            )
        parts.append(text)
    elif status == "none_left":
        parts.append(
            f"geen partner meer beschikbaar: alle sterke partners hebben al {max_partner} pilots"
            if nl
            else f"no partner left: every strong partner already has {max_partner} pilots"
        )
    else:
        parts.append("geen aantoonbaar sterke partner gevonden" if nl else "no demonstrably strong partner found")
    return "; ".join(parts)


# ------------------------------------------------------------------------------------- warehouse


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
                "WHERE s.in_force AND f.severity = 'warning' AND f.year = ?",
                [year],
            ).df()
        organisatie = pd.DataFrame()
        if warehouse.table_exists(con, "v_organisatie"):
            columns = {r[0] for r in con.execute("DESCRIBE v_organisatie").fetchall()}
            text = ", ontwikkelvraag_tekst" if "ontwikkelvraag_tekst" in columns else ""
            organisatie = con.execute(
                f"SELECT org_code, year, ontwikkelvraag_thema{text} FROM v_organisatie WHERE year <= ?", [year]
            ).df()
        data = PilotData(
            comparisons=_read_table(con, "comparisons", "SELECT * FROM comparisons WHERE year <= ?", [year]),
            catalogue=_read_table(con, "indicator_catalogue"),
            organisations=_read_table(con, "organisations"),
            indicator_values=_read_table(
                con,
                "indicator_values",
                "SELECT org_code, year, indicator_code, value, flags FROM indicator_values WHERE year <= ?",
                [year],
            ),
            findings=findings,
            organisatie=organisatie,
            dea_results=_read_table(con, "dea_results", "SELECT * FROM dea_results WHERE year <= ?", [year]),
            composite_uncertainty=_read_table(
                con, "composite_uncertainty", "SELECT * FROM composite_uncertainty WHERE year <= ?", [year]
            ),
            lineage_values=_read_table(
                con,
                "lineage_values",
                "SELECT org_code, year, indicator_code, value, flags FROM lineage_values WHERE year <= ?",
                [year],
            ),
        )
    finally:
        con.close()
    if data.organisations.empty:
        data.organisations = organisations_frame(ws.root)
    return data, year


# ------------------------------------------------------------------------------------------ demo


def example_pair(data: PilotData, first_year: int, last_year: int) -> tuple[str, str, str] | None:
    """A weak organisation x indicator in the first year with a strong same-cluster partner, both with data to the end."""
    cat = catalogue_map(data.catalogue)
    comp = data.comparisons
    ranked = [c for c, m in cat.items() if m["direction"] in RANKED]
    orgs = org_map(data)
    full = comp[comp["indicator_code"].isin(ranked) & comp["value"].notna()]
    years_per = full.groupby(["org_code", "indicator_code"])["year"].apply(set).to_dict()
    needed = set(range(first_year, last_year + 1))
    first = full[full["year"] == first_year]
    q = pd.to_numeric(first["quartile"], errors="coerce")
    weak = first[q == 4].sort_values(
        ["percentile", "org_code", "indicator_code"] if "percentile" in first else ["org_code", "indicator_code"],
        kind="mergesort",
    )
    strong = first[q == 1]
    for w in weak.to_dict("records"):
        org, ind = str(w["org_code"]), str(w["indicator_code"])
        if not needed <= years_per.get((org, ind), set()):
            continue
        cluster = orgs.get(org, {}).get("cluster")
        mates = sorted(
            str(p)
            for p in strong.loc[strong["indicator_code"] == ind, "org_code"]
            if orgs.get(str(p), {}).get("cluster") == cluster and str(p) != org
        )
        if mates:
            return org, ind, mates[0]
    return None
