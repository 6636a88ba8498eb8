"""``rbb compute``: indicators, comparison statistics, composite index and efficiency analysis.

Indicator values come from the SQL models in ``sql/indicators`` (one per indicator) over the shared
intermediates in ``sql/intermediate``, run by DuckDB on the accepted submissions in force. Everything
here is recomputed from those submissions and written with ``CREATE OR REPLACE`` in one transaction, so
running it twice gives the same tables. Table contract: docs/warehouse.md.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import duckdb
import numpy as np
import pandas as pd

from . import stats
from .registry import load_yaml
from .warehouse import connect, init_schema, table_exists, transaction
from .workspace import OutOfSpace, Workspace, is_out_of_space

SURVEY_METHODS = ("t_mean", "wilson")


@dataclass(frozen=True)
class Indicator:
    code: str
    theme: str
    name_nl: str
    name_en: str
    unit: str
    scale: float
    decimals: int
    direction: str
    uncertainty: str
    min_n: int
    numerator: str
    denominator: str
    fields: tuple[str, ...]
    description: str
    caveat: str

    @property
    def is_survey(self) -> bool:
        return self.theme == "klanttevredenheid" and self.uncertainty in SURVEY_METHODS

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_nl


@lru_cache(maxsize=1)
def catalogue_config() -> dict:
    return load_yaml(resources.files("pipeline.metadata").joinpath("indicators.yaml").read_text("utf-8"))


@lru_cache(maxsize=1)
def methods_config() -> dict:
    return load_yaml(resources.files("pipeline.metadata").joinpath("methods.yaml").read_text("utf-8"))


def catalogue() -> list[Indicator]:
    cfg = catalogue_config()
    return [Indicator(code=i["code"], theme=i["theme"], name_nl=i["name_nl"], name_en=i["name_en"], unit=str(i["unit"]),
                      scale=float(i["scale"]), decimals=int(i["decimals"]), direction=i["direction"],
                      uncertainty=i["uncertainty"], min_n=int(i["min_n"]), numerator=str(i["numerator"]),
                      denominator=str(i["denominator"]), fields=tuple(i["fields"]), description=i["description"],
                      caveat=i.get("caveat") or "") for i in cfg["indicators"]]


def catalogue_frame() -> pd.DataFrame:
    themes = catalogue_config()["themes"]
    rows = []
    for ind in catalogue():
        rows.append({"code": ind.code, "theme": ind.theme, "name_nl": ind.name_nl, "name_en": ind.name_en,
                     "unit": ind.unit, "scale": ind.scale, "decimals": ind.decimals, "direction": ind.direction,
                     "uncertainty": ind.uncertainty, "min_n": ind.min_n, "numerator": ind.numerator,
                     "denominator": ind.denominator, "fields": ";".join(ind.fields), "description": ind.description,
                     "caveat": ind.caveat, "theme_nl": themes[ind.theme]["nl"], "theme_en": themes[ind.theme]["en"]})
    return pd.DataFrame(rows)


def _sql(kind: str, name: str) -> str:
    return resources.files("pipeline.sql").joinpath(f"{kind}/{name}.sql").read_text("utf-8")


# ------------------------------------------------------------------------------------ indicators

def compute_indicator_values(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Run every indicator model and derive value, confidence interval and flags."""
    for name in ("int_org", "int_products", "int_channels", "int_survey", "int_cases"):
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {_sql('intermediate', name)}")
    cfg = catalogue_config()["survey_rules"]
    frames = []
    for ind in catalogue():
        df = con.execute(f"SELECT * FROM ({_sql('indicators', ind.code)}) ORDER BY org_code, year").fetch_df()
        for col in ("sum_w", "sum_w2", "sum_wx2", "flag"):
            if col not in df.columns:
                df[col] = np.nan if col != "flag" else None
        df["indicator_code"] = ind.code
        frames.append(_derive(df, ind, cfg))
    out = pd.concat(frames, ignore_index=True)
    subs = con.execute("SELECT submission_id, sha256 FROM submissions").fetch_df()
    out = out.merge(subs, on="submission_id", how="left")
    cols = ["org_code", "year", "indicator_code", "value", "numerator", "denominator", "n", "n_eff", "se",
            "ci_low", "ci_high", "flags", "submission_id", "sha256"]
    return out[cols].sort_values(["year", "indicator_code", "org_code"], ignore_index=True)


def _derive(df: pd.DataFrame, ind: Indicator, rules: dict) -> pd.DataFrame:
    num = df["numerator"].astype("float64").to_numpy()
    den = df["denominator"].astype("float64").to_numpy()
    n = df["n"].astype("float64").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(den > 0, num / den, np.nan)
    value = ratio * ind.scale
    se = np.full(len(df), np.nan)
    lo = np.full(len(df), np.nan)
    hi = np.full(len(df), np.nan)
    n_eff = np.full(len(df), np.nan)
    conf = float(rules["confidence"])
    if ind.uncertainty == "t_mean":
        mean, se, lo, hi, n_eff = stats.weighted_mean_ci(df["sum_w"], df["sum_w2"], df["numerator"], df["sum_wx2"], n, conf)
        value = mean * ind.scale
    elif ind.uncertainty == "wilson":
        sw = df["sum_w"].astype("float64").to_numpy()
        sw2 = df["sum_w2"].astype("float64").to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            n_eff = np.where(sw2 > 0, sw**2 / sw2, np.nan)
            p_hat = np.where(den > 0, num / den, np.nan)
        p, se, lo, hi = stats.wilson_ci(p_hat * n_eff, n_eff, conf)
        se, lo, hi = se * ind.scale, lo * ind.scale, hi * ind.scale
    else:
        n_eff = n
    flags: list[list[str]] = [[] for _ in range(len(df))]
    for i, extra in enumerate(df["flag"].tolist()):
        if isinstance(extra, str) and extra:
            flags[i].append(extra)
        if not den[i] > 0:
            flags[i].append("zero_denominator" if den[i] == 0 else "missing")
    if ind.is_survey:
        for i in range(len(df)):
            ne = n_eff[i]
            if np.isnan(value[i]):
                continue
            if ne < rules["suppress_below_n"]:
                flags[i].append("suppressed")
                value[i] = lo[i] = hi[i] = se[i] = np.nan
            elif ne < rules["indicative_below_n"] or (ind.unit == "cijfer" and (hi[i] - lo[i]) / 2 > rules["max_halfwidth_mark"]):
                flags[i].append("indicatief")
    else:
        for i in range(len(df)):
            if not np.isnan(value[i]) and n[i] < ind.min_n:
                flags[i].append("small_n")
    out = pd.DataFrame({
        "org_code": df["org_code"], "year": df["year"].astype("int64"), "indicator_code": ind.code,
        "value": value, "numerator": num, "denominator": den, "n": n, "n_eff": n_eff, "se": se,
        "ci_low": lo, "ci_high": hi, "flags": [";".join(f) if f else None for f in flags],
        "submission_id": df["submission_id"],
    })
    return out


# ------------------------------------------------------------------------------------ comparisons

def _comparable(values: pd.DataFrame) -> pd.DataFrame:
    """Values that enter comparisons: not suppressed, not missing."""
    return values[values["value"].notna()]


def compute_benchmark_stats(values: pd.DataFrame, orgs: pd.DataFrame, min_cluster: int) -> pd.DataFrame:
    v = _comparable(values).merge(orgs[["org_code", "cluster"]], on="org_code", how="left")
    rows = []
    for (year, code), g in v.groupby(["year", "indicator_code"], sort=True):
        rows.append(_describe(g["value"].to_numpy(), year, code, "all", "all", True))
        for cluster in sorted(orgs["cluster"].unique()):
            x = g.loc[g["cluster"] == cluster, "value"].to_numpy()
            published = len(x) >= min_cluster
            rows.append(_describe(x if published else np.array([]), year, code, cluster, "cluster", published, n=len(x)))
    return pd.DataFrame(rows)


def _describe(x: np.ndarray, year: int, code: str, scope: str, kind: str, published: bool, n: int | None = None) -> dict:
    if len(x) == 0:
        return {"year": int(year), "indicator_code": code, "scope": scope, "scope_kind": kind, "n": n or 0,
                "mean": np.nan, "median": np.nan, "p25": np.nan, "p75": np.nan, "min": np.nan, "max": np.nan,
                "published": published}
    return {"year": int(year), "indicator_code": code, "scope": scope, "scope_kind": kind, "n": len(x) if n is None else n,
            "mean": float(np.mean(x)), "median": float(np.median(x)), "p25": float(np.quantile(x, 0.25)),
            "p75": float(np.quantile(x, 0.75)), "min": float(np.min(x)), "max": float(np.max(x)), "published": published}


def compute_comparisons(values: pd.DataFrame, orgs: pd.DataFrame, bstats: pd.DataFrame) -> pd.DataFrame:
    cfg = catalogue_config()["comparison"]
    cat = {i.code: i for i in catalogue()}
    v = _comparable(values).merge(orgs[["org_code", "cluster"]], on="org_code", how="left")
    allstats = {(r["year"], r["indicator_code"]): r for r in bstats[bstats["scope_kind"] == "all"].to_dict("records")}
    cstats = {(r["year"], r["indicator_code"], r["scope"]): r
              for r in bstats[bstats["scope_kind"] == "cluster"].to_dict("records")}
    by_key = values.set_index(["org_code", "indicator_code", "year"])["value"].to_dict()
    out = []
    for (year, code), g in v.groupby(["year", "indicator_code"], sort=True):
        ind = cat[code]
        s = allstats[(year, code)]
        vals = g["value"].to_numpy()
        ranked = ind.direction in ("higher", "lower")
        n_orgs = len(vals)
        rank = stats.competition_rank(vals, ind.direction) if ranked else np.full(n_orgs, np.nan)
        pct = 100.0 * (n_orgs - rank) / (n_orgs - 1) if n_orgs > 1 else np.where(np.isnan(rank), np.nan, 100.0)
        quart = stats.quartile_of(vals, s["p25"], s["p75"], s["median"], ind.direction) if ranked else np.full(n_orgs, np.nan)
        best_q = s["p75"] if ind.direction == "higher" else (s["p25"] if ind.direction == "lower" else np.nan)
        rz = stats.robust_z(vals)
        for i, rec in enumerate(g.itertuples(index=False)):
            c = cstats.get((year, code, rec.cluster))
            prev = by_key.get((rec.org_code, code, year - 1), np.nan)
            hist_years = [y for y in range(year - cfg["trend_years"] + 1, year + 1)]
            hist_vals = [by_key.get((rec.org_code, code, y), np.nan) for y in hist_years]
            slope, p_trend, n_pts = stats.trend(hist_years, hist_vals)
            if n_pts < cfg["trend_min_points"]:
                slope, p_trend = np.nan, np.nan
            label = None
            if not np.isnan(slope):
                if p_trend < cfg["significance_alpha"]:
                    better = slope > 0 if ind.direction != "lower" else slope < 0
                    label = ("improving" if better else "declining") if ind.direction != "context" else ("rising" if slope > 0 else "falling")
                else:
                    label = "stable"
            gap_best = rec.value - best_q     # NaN for context indicators (no best quartile)
            out.append({
                "org_code": rec.org_code, "year": int(year), "indicator_code": code, "value": rec.value,
                "direction": ind.direction, "rank": rank[i], "n_orgs": n_orgs, "percentile": pct[i] if ranked else np.nan,
                "quartile": quart[i], "mean": s["mean"], "median": s["median"], "p25": s["p25"], "p75": s["p75"],
                "best_quartile_threshold": best_q, "gap_median": rec.value - s["median"], "gap_best_quartile": gap_best,
                "robust_z": rz[i], "cluster": rec.cluster,
                "cluster_n": int(c["n"]) if c is not None else 0,
                "cluster_median": c["median"] if c is not None and c["published"] else np.nan,
                "cluster_p25": c["p25"] if c is not None and c["published"] else np.nan,
                "cluster_p75": c["p75"] if c is not None and c["published"] else np.nan,
                "cluster_published": bool(c["published"]) if c is not None else False,
                "prev_value": prev, "change_prev": rec.value - prev if not np.isnan(prev) else np.nan,
                "trend_slope": slope, "trend_n_years": n_pts, "trend_p_value": p_trend, "trend_label": label,
            })
    comp = pd.DataFrame(out)
    return _significance(comp, values, cat, cfg)


def _significance(comp: pd.DataFrame, values: pd.DataFrame, cat: dict, cfg: dict) -> pd.DataFrame:
    """Survey indicators: z-test of the organisation's value against the all-member median, BH-adjusted per org-year."""
    se = values.set_index(["org_code", "year", "indicator_code"])["se"]
    comp["benchmark_value"] = np.nan
    comp["p_value"] = np.nan
    comp["p_adjusted"] = np.nan
    comp["significant"] = pd.array([pd.NA] * len(comp), dtype="boolean")
    comp["significance_label"] = None
    survey = comp["indicator_code"].map(lambda c: cat[c].is_survey and cat[c].direction != "context")
    idx = comp.index[survey]
    keys = list(zip(comp.loc[idx, "org_code"], comp.loc[idx, "year"], comp.loc[idx, "indicator_code"]))
    s = np.array([se.get(k, np.nan) for k in keys], dtype="float64")
    bench = comp.loc[idx, "median"].to_numpy(dtype="float64")
    val = comp.loc[idx, "value"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (val - bench) / s
    from scipy.stats import norm
    p = 2 * norm.sf(np.abs(z))
    comp.loc[idx, "benchmark_value"] = bench
    comp.loc[idx, "p_value"] = p
    alpha = cfg["significance_alpha"]
    for _, g in comp.loc[idx].groupby(["org_code", "year"]):
        adj = stats.bh_adjust(g["p_value"].to_numpy())
        comp.loc[g.index, "p_adjusted"] = adj
        for j, ix in enumerate(g.index):
            if np.isnan(adj[j]):
                continue
            sig = bool(adj[j] < alpha)
            comp.loc[ix, "significant"] = sig
            d = comp.loc[ix, "value"] - comp.loc[ix, "benchmark_value"]
            better = d > 0 if comp.loc[ix, "direction"] == "higher" else d < 0
            comp.loc[ix, "significance_label"] = ("better" if better else "worse") if sig else "not_significant"
    return comp.sort_values(["year", "indicator_code", "org_code"], ignore_index=True)


def strengths_weaknesses(comp: pd.DataFrame) -> pd.DataFrame:
    """Indicators where an organisation stands out: best or worst quartile, and for survey figures only
    when the difference from the benchmark is significant after correction."""
    cat = {i.code: i for i in catalogue()}
    rows = []
    for rec in comp.itertuples(index=False):
        ind = cat[rec.indicator_code]
        if ind.direction == "context" or pd.isna(rec.quartile):
            continue
        if ind.is_survey and rec.significance_label not in ("better", "worse"):
            continue
        kind = None
        if rec.quartile == 1 and (not ind.is_survey or rec.significance_label == "better"):
            kind = "strength"
        elif rec.quartile == 4 and (not ind.is_survey or rec.significance_label == "worse"):
            kind = "weakness"
        if kind is None:
            continue
        score = abs(rec.robust_z) if not pd.isna(rec.robust_z) else 0.0
        sig_nl = " (significant verschil)" if ind.is_survey else ""
        sig_en = " (significant difference)" if ind.is_survey else ""
        rows.append({
            "org_code": rec.org_code, "year": rec.year, "indicator_code": rec.indicator_code, "kind": kind, "score": score,
            "reason_nl": f"{'beste' if kind == 'strength' else 'laagste'} kwartiel, positie {int(rec.rank)} van {rec.n_orgs}{sig_nl}",
            "reason_en": f"{'best' if kind == 'strength' else 'bottom'} quartile, position {int(rec.rank)} of {rec.n_orgs}{sig_en}",
        })
    cols = ["org_code", "year", "indicator_code", "kind", "score", "reason_nl", "reason_en"]
    return pd.DataFrame(rows, columns=cols).sort_values(["year", "org_code", "kind", "score", "indicator_code"],
                                                        ascending=[True, True, True, False, True], ignore_index=True)


# ---------------------------------------------------------------------------- composite and DEA

def compute_composite(values: pd.DataFrame, orgs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from .methods.composite import (
        AggregateMeta,
        AggregationSpec,
        CompositeSpec,
        ImputationSpec,
        IndicatorMeta,
        NormalisationSpec,
        TreatmentSpec,
        UncertaintySpec,
        build_composite,
        uncertainty,
    )
    cfg = methods_config()["composite"]
    cat = [i for i in catalogue() if i.direction != "context" and i.code not in cfg["exclude_indicators"]]
    scores_rows, unc_rows, method_rows = [], [], []
    for year in sorted(values["year"].unique()):
        wide = (values[(values["year"] == year) & values["indicator_code"].isin([i.code for i in cat])]
                .pivot(index="org_code", columns="indicator_code", values="value"))
        codes = [i.code for i in cat if i.code in wide.columns and wide[i.code].notna().sum() >= 3]
        if not codes:
            continue
        wide = wide[codes]
        wide = wide[wide.notna().mean(axis=1) >= cfg["min_coverage"]]
        if len(wide) < 5:
            continue
        data = wide.reset_index().merge(orgs[["org_code", "cluster"]], on="org_code", how="left")
        used = [i for i in cat if i.code in codes]
        used_themes = sorted({i.theme for i in used})
        spec = CompositeSpec(
            indicators=[IndicatorMeta(code=i.code, parent=i.theme, direction=1 if i.direction == "higher" else -1) for i in used],
            aggregates=[AggregateMeta(code=t, level=2, parent="index") for t in used_themes] + [AggregateMeta(code="index", level=3)],
            unit_column="org_code", denominate=False,
            imputation=ImputationSpec(**cfg["imputation"]), treatment=TreatmentSpec(**cfg["treatment"]),
            normalisation=NormalisationSpec(method=cfg["normalisation"]["method"], range=tuple(cfg["normalisation"]["range"])),
            aggregation=AggregationSpec(**cfg["aggregation"]),
            uncertainty=UncertaintySpec(weight_noise=cfg["uncertainty"]["weight_noise"]),
        )
        res = build_composite(data, spec)
        for node in used_themes + ["index"]:
            for org, score in res.scores[node].items() if node in res.scores.columns else []:
                rank = res.ranks.loc[org, node]
                scores_rows.append({"year": int(year), "org_code": org, "node": node, "level": 3 if node == "index" else 2,
                                    "score": float(score), "rank": int(rank) if pd.notna(rank) else None})
        unc = uncertainty(data, spec, n_runs=cfg["uncertainty"]["n_runs"], seed=cfg["uncertainty"]["seed"], target="index")
        for r in unc.itertuples(index=False):
            unc_rows.append({"year": int(year), "org_code": r.unit, "nominal_rank": r.nominal_rank, "median_rank": r.median_rank,
                             "rank_lo": r.rank_lo, "rank_hi": r.rank_hi, "n_units": len(data)})
        method_rows.append({"year": int(year), "spec_json": spec.to_json(indent=None),
                            "n_runs": cfg["uncertainty"]["n_runs"], "seed": cfg["uncertainty"]["seed"]})
    return (pd.DataFrame(scores_rows, columns=["year", "org_code", "node", "level", "score", "rank"]),
            pd.DataFrame(unc_rows, columns=["year", "org_code", "nominal_rank", "median_rank", "rank_lo", "rank_hi", "n_units"]),
            pd.DataFrame(method_rows, columns=["year", "spec_json", "n_runs", "seed"]))


DEA_COLUMNS = ["year", "cluster", "model", "org_code", "score", "super_efficiency", "peers", "lambdas", "robust_status",
               "n_units", "inputs", "outputs", "rts", "orientation"]


def compute_dea(con: duckdb.DuckDBPyConnection, orgs: pd.DataFrame) -> pd.DataFrame:
    from .methods.dea import dea, robustness, super_efficiency
    cfg = methods_config()["dea"]
    base = con.execute("""SELECT o.org_code, o.year, o.apparaatskosten_totaal, o.fte_totaal, o.n_klanten_actief,
                                 p.n_besluiten
                          FROM int_org o JOIN int_products p USING (org_code, year, submission_id)""").fetch_df()
    base = base.merge(orgs[["org_code", "cluster"]], on="org_code", how="left")
    rows = []
    for model in cfg["models"]:
        cols = model["inputs"] + model["outputs"]
        for (year, cluster), g in base.groupby(["year", "cluster"], sort=True):
            g = g.dropna(subset=cols)
            g = g[(g[cols] > 0).all(axis=1)].sort_values("org_code")
            if len(g) < cfg["min_units"]:
                continue
            X, Y, ids = g[model["inputs"]].to_numpy(float), g[model["outputs"]].to_numpy(float), g["org_code"].tolist()
            res = dea(X, Y, rts=model["rts"], orientation=model["orientation"], ids=ids)
            sup = super_efficiency(X, Y, model["rts"], model["orientation"], ids=ids)
            rob = robustness(X, Y, model["rts"], model["orientation"], ids=ids).set_index("id")
            frame = res.to_frame().set_index("id")
            for k, org in enumerate(ids):
                rows.append({"year": int(year), "cluster": cluster, "model": model["code"], "org_code": org,
                             "score": float(res.score[k]), "super_efficiency": float(sup[k]),
                             "peers": frame.loc[org, "peers"], "lambdas": frame.loc[org, "lambdas"],
                             "robust_status": rob.loc[org, "status"], "n_units": len(ids),
                             "inputs": ",".join(model["inputs"]), "outputs": ",".join(model["outputs"]),
                             "rts": model["rts"], "orientation": model["orientation"]})
    return pd.DataFrame(rows, columns=DEA_COLUMNS)


# ------------------------------------------------------------------------------------------ run

def _replace(con: duckdb.DuckDBPyConnection, name: str, df: pd.DataFrame, order: list[str]) -> None:
    df = df.sort_values(order, ignore_index=True) if len(df) else df
    con.register("_df", df)
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _df")
    con.unregister("_df")


def compute(ws: Workspace, year: int | None = None) -> dict[str, int]:
    """Recompute every derived table; returns row counts per table. All tables are replaced in one
    transaction: when the disk fills up (:class:`OutOfSpace`) the warehouse keeps the previous results."""
    con = connect(ws.db_path)
    stage = "computing"
    try:
        if not table_exists(con, "submissions"):
            raise FileNotFoundError("no submissions in the warehouse; run 'rbb ingest' first")
        init_schema(con)   # tables added by later versions (for example f_zaken_agg) exist before they are read
        orgs = con.execute("SELECT * FROM organisations").fetch_df()
        values = compute_indicator_values(con)
        if year is not None and year not in set(values["year"]):
            raise ValueError(f"no accepted submissions for {year}")
        cfg = catalogue_config()["comparison"]
        bstats = compute_benchmark_stats(values, orgs, cfg["cluster_min_members"])
        comp = compute_comparisons(values, orgs, bstats)
        sw = strengths_weaknesses(comp)
        scores, unc, method = compute_composite(values, orgs)
        dea_rows = compute_dea(con, orgs)
        tables = {
            "indicator_catalogue": (catalogue_frame(), ["code"]),
            "indicator_values": (values, ["year", "indicator_code", "org_code"]),
            "benchmark_stats": (bstats, ["year", "indicator_code", "scope_kind", "scope"]),
            "comparisons": (comp, ["year", "indicator_code", "org_code"]),
            "strengths_weaknesses": (sw, ["year", "org_code", "kind", "indicator_code"]),
            "composite_scores": (scores, ["year", "node", "org_code"]),
            "composite_uncertainty": (unc, ["year", "org_code"]),
            "composite_method": (method, ["year"]),
            "dea_results": (dea_rows, ["year", "model", "cluster", "org_code"]),
        }
        with transaction(con):
            for name, (df, order) in tables.items():
                _replace(con, name, df, order)
        stage = "checkpoint"
        con.execute("CHECKPOINT")
        return {name: len(df) for name, (df, _) in tables.items()}
    except Exception as exc:
        if is_out_of_space(exc):
            raise OutOfSpace(_compute_state(stage), exc) from exc
        raise
    finally:
        with contextlib.suppress(Exception):   # a connection DuckDB invalidated after a failed write
            con.close()


def _compute_state(stage: str) -> tuple[str, str]:
    if stage == "checkpoint":
        return ("de nieuwe uitkomsten zijn vastgelegd in het logbestand van het warehouse, dat de volgende schrijvende opdracht verwerkt",
                "the new results were recorded in the warehouse's log file, which the next command that writes merges")
    return ("er is niets veranderd, het warehouse bevat de vorige uitkomsten", "nothing was changed, the warehouse holds the previous results")


def demo_stage(ws: Workspace, years: list[int]) -> str:
    counts = compute(ws)
    return (f"Computed {counts['indicator_values']} indicator values, {counts['comparisons']} comparisons, "
            f"composite index for {len(years)} years, {counts['dea_results']} efficiency scores")
