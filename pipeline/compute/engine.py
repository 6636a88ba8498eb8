"""``rbb compute``: indicators, comparison statistics, composite index and efficiency analysis.

Indicator values come from the SQL models in ``sql/indicators`` (one per indicator) over the shared
intermediates in ``sql/intermediate``, run by DuckDB on the accepted submissions in force. Everything
here is recomputed from those submissions and written with ``CREATE OR REPLACE`` in one transaction, so
running it twice gives the same tables. Table contract: docs/warehouse.md.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import duckdb
import numpy as np
import pandas as pd

from pipeline.compute import comparators, stats
from pipeline.compute.coverage import RowPlan, coverage_frame, missing_reason, row_plan, rows_sql
from pipeline.compute.freshness import record_inputs
from pipeline.compute.lineage import lineage_series, register_lineage
from pipeline.core.parallel import forked_start
from pipeline.core.settings import load_settings
from pipeline.core.warehouse import connect, init_schema, replace_organisations, table_exists, transaction
from pipeline.core.workspace import OutOfSpace, Workspace, is_out_of_space
from pipeline.metadata.models import ComparatorsModel, workspace_file
from pipeline.metadata.models import load as load_metadata
from pipeline.metadata.models import load_for as load_metadata_for
from pipeline.metadata.registry import load_organisations

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
    description_nl: str
    description_en: str
    formula_nl: str
    formula_en: str
    caveat_nl: str
    caveat_en: str
    missing: str = "exclude_row"
    min_coverage: float = 0.5

    @property
    def rows(self) -> RowPlan:
        """How the indicator treats a product row with a missing component (:mod:`.coverage`)."""
        return row_plan(self.fields, self.denominator, self.missing, self.min_coverage)

    @property
    def is_survey(self) -> bool:
        return self.theme == "klanttevredenheid" and self.uncertainty in SURVEY_METHODS

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_nl

    def description(self, lang: str) -> str:
        """What the figure means, for a reader of ``lang``."""
        return self.description_en if lang == "en" else self.description_nl

    def formula(self, lang: str) -> str:
        """The calculation in words (the field-code form is ``numerator`` / ``denominator``)."""
        return self.formula_en if lang == "en" else self.formula_nl

    def caveat(self, lang: str) -> str:
        return self.caveat_en if lang == "en" else self.caveat_nl


@lru_cache(maxsize=1)
def catalogue_config() -> dict:
    return load_metadata("indicators.yaml")


@lru_cache(maxsize=1)
def _packaged_methods() -> dict:
    return load_metadata("methods.yaml")


def methods_config(root=None) -> dict:
    """The method settings: the packaged ``methods.yaml``, with a workspace's ``data/methods.yaml`` merged over
    it when ``root`` is given (checked against the same model; :func:`pipeline.metadata.models.load_for`)."""
    if root is None:
        return _packaged_methods()
    return load_metadata_for("methods.yaml", root)


def disclosure_config() -> dict:
    """Publication rules (indicators.yaml ``disclosure``): minimum members for any statistic, and so on."""
    cfg = dict(catalogue_config().get("disclosure") or {})
    cfg.setdefault("min_members", int(catalogue_config()["comparison"]["cluster_min_members"]))
    return cfg


def catalogue() -> list[Indicator]:
    cfg = catalogue_config()
    return [
        Indicator(
            code=i["code"],
            theme=i["theme"],
            name_nl=i["name_nl"],
            name_en=i["name_en"],
            unit=str(i["unit"]),
            scale=float(i["scale"]),
            decimals=int(i["decimals"]),
            direction=i["direction"],
            uncertainty=i["uncertainty"],
            min_n=int(i["min_n"]),
            numerator=str(i["numerator"]),
            denominator=str(i["denominator"]),
            fields=tuple(i["fields"]),
            description_nl=i["description_nl"],
            description_en=i["description_en"],
            formula_nl=i["formula_nl"],
            formula_en=i["formula_en"],
            caveat_nl=i.get("caveat_nl") or "",
            caveat_en=i.get("caveat_en") or "",
            missing=i.get("missing") or cfg["coverage"]["missing"],
            min_coverage=float(
                i["min_coverage"] if i.get("min_coverage") is not None else cfg["coverage"]["min_coverage"]
            ),
        )
        for i in cfg["indicators"]
    ]


def catalogue_frame() -> pd.DataFrame:
    themes = catalogue_config()["themes"]
    rows = []
    for ind in catalogue():
        rows.append(
            {
                "code": ind.code,
                "theme": ind.theme,
                "name_nl": ind.name_nl,
                "name_en": ind.name_en,
                "unit": ind.unit,
                "scale": ind.scale,
                "decimals": ind.decimals,
                "direction": ind.direction,
                "uncertainty": ind.uncertainty,
                "min_n": ind.min_n,
                "numerator": ind.numerator,
                "denominator": ind.denominator,
                "fields": ";".join(ind.fields),
                "description": ind.description_en,
                "caveat": ind.caveat_en,
                "missing": ind.missing if ind.rows.applies else None,
                "min_coverage": ind.min_coverage if ind.rows.applies else None,
                "theme_nl": themes[ind.theme]["nl"],
                "theme_en": themes[ind.theme]["en"],
                "description_nl": ind.description_nl,
                "description_en": ind.description_en,
                "formula_nl": ind.formula_nl,
                "formula_en": ind.formula_en,
                "caveat_nl": ind.caveat_nl,
                "caveat_en": ind.caveat_en,
            }
        )
    return pd.DataFrame(rows)


def _sql(kind: str, name: str) -> str:
    return resources.files("pipeline.compute.sql").joinpath(f"{kind}/{name}.sql").read_text("utf-8")


# ------------------------------------------------------------------------------------ indicators


def compute_indicator_values(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Run every indicator model and derive value, confidence interval and flags."""
    con.execute("CREATE OR REPLACE TEMP VIEW product_rows AS SELECT * FROM v_producten")
    for name in ("int_org", "int_products", "int_channels", "int_survey", "int_cases"):
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {_sql('intermediate', name)}")
    cfg = catalogue_config()["survey_rules"]
    frames = []
    for ind in catalogue():
        plan = ind.rows
        # the product rows this indicator uses (int_products aggregates the view product_rows)
        con.execute(f"CREATE OR REPLACE TEMP VIEW product_rows AS {rows_sql(plan)}")
        df = con.execute(f"SELECT * FROM ({_sql('indicators', ind.code)}) ORDER BY org_code, year").fetch_df()
        for col in ("sum_w", "sum_w2", "sum_wx2", "sum_w2x", "sum_w2x2", "flag"):
            if col not in df.columns:
                df[col] = np.nan if col != "flag" else None
        df["indicator_code"] = ind.code
        derived = _derive(df, ind, cfg)
        frames.append(_with_coverage(con, derived, ind, plan))
    con.execute("CREATE OR REPLACE TEMP VIEW product_rows AS SELECT * FROM v_producten")
    out = pd.concat(frames, ignore_index=True)
    subs = con.execute("SELECT submission_id, sha256 FROM submissions").fetch_df()
    out = out.merge(subs, on="submission_id", how="left")
    cols = [
        "org_code",
        "year",
        "indicator_code",
        "value",
        "numerator",
        "denominator",
        "n",
        "n_eff",
        "se",
        "ci_low",
        "ci_high",
        "flags",
        "submission_id",
        "sha256",
        "ci_method",
        "ci_df",
        "ci_n",
        "rows_total",
        "rows_used",
        "rows_left_out",
        "left_out",
        "coverage",
    ]
    return out[cols].sort_values(["year", "indicator_code", "org_code"], ignore_index=True)


def _add_flag(flags: object, flag: str) -> str:
    parts = [f for f in (flags.split(";") if isinstance(flags, str) and flags else []) if f != flag]
    return ";".join([*parts, flag])


def _with_coverage(con: duckdb.DuckDBPyConnection, df: pd.DataFrame, ind: Indicator, plan) -> pd.DataFrame:
    """Rows used and left out beside each value; a value below the minimum coverage is not published, and
    a value missing because a component was answered n.v.t. or onbekend says so in its flags."""
    cov = coverage_frame(con, plan)
    absent = cov[~cov["submission_id"].isin(df["submission_id"])] if plan.applies else cov.iloc[:0]
    if len(absent):  # every product row left out: no aggregate row, but the value is missing with its reason
        ids = ", ".join(str(int(x)) for x in absent["submission_id"])
        extra = con.execute(
            f"SELECT DISTINCT submission_id, org_code, year FROM v_producten WHERE submission_id IN ({ids})"
        ).fetch_df()
        extra["indicator_code"] = ind.code
        extra["value"] = np.nan
        extra["flags"] = None
        df = pd.concat([df, extra], ignore_index=True)
    df = df.merge(cov, on="submission_id", how="left")
    flags = df["flags"].tolist()
    value = df["value"].to_numpy(dtype="float64").copy()
    from_cases = [isinstance(f, str) and "bron:zaken" in f.split(";") for f in flags]
    if plan.applies:
        for i in range(len(df)):
            if from_cases[i] or pd.isna(df.at[i, "rows_total"]):
                continue
            left = int(df.at[i, "rows_left_out"])
            if plan.treatment == "missing_org" and left > 0:
                value[i] = np.nan
                flags[i] = _add_flag(flags[i], "missing_component")
            elif not np.isnan(value[i]) and df.at[i, "coverage"] < plan.min_coverage:
                value[i] = np.nan
                flags[i] = _add_flag(flags[i], "low_coverage")
            if int(df.at[i, "rows_used"]) == 0 and left > 0:
                reasons = str(df.at[i, "left_out"] or "")
                flags[i] = _add_flag(
                    flags[i], "nvt" if reasons.startswith("nvt") and "onbekend" not in reasons else "onbekend"
                )
    reasons = missing_reason(con, ind.fields)
    if len(reasons):
        by_sub = dict(zip(reasons["submission_id"], reasons["reason"]))
        for i in range(len(df)):
            r = by_sub.get(df.at[i, "submission_id"])
            if (
                isinstance(r, str)
                and np.isnan(value[i])
                and not (isinstance(flags[i], str) and r in flags[i].split(";"))
            ):
                flags[i] = _add_flag(flags[i], r)
    df["value"] = value
    unpublished = np.isnan(value)
    for c in ("ci_low", "ci_high", "se"):
        df.loc[unpublished, c] = np.nan
    df.loc[unpublished, "ci_method"] = None
    df["flags"] = [f or None for f in flags]
    df["rows_total"] = df["rows_total"].astype("Int64")
    df["rows_used"] = df["rows_used"].astype("Int64")
    df["rows_left_out"] = df["rows_left_out"].astype("Int64")
    return df


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
    ci_df = np.full(len(df), np.nan)  # degrees of freedom of a t-interval
    ci_n = np.full(len(df), np.nan)  # the n a Wilson interval is computed on
    ci_method = None
    conf = float(rules["confidence"])
    sums = {
        c: df[c].astype("float64").to_numpy() if c in df.columns else np.full(len(df), np.nan)
        for c in ("sum_w", "sum_w2", "sum_w2x", "sum_w2x2")
    }
    design = not np.isnan(sums["sum_w2x"]).all()
    if ind.uncertainty == "t_mean":
        # design-based (Taylor) variance of the weighted mean; t with Kish n_eff − 1 degrees of freedom
        mean, se, lo, hi, n_eff, ci_df = stats.weighted_mean_ci(
            sums["sum_w"], num, sums["sum_w2"], sums["sum_w2x"], sums["sum_w2x2"], n, conf
        )
        value = mean * ind.scale
        ci_method = "t_taylor"
    elif ind.uncertainty == "wilson" and design:
        # weighted share: Taylor variance, Wilson interval on the design-adjusted n* = p(1 − p) / v
        p, se, lo, hi, n_eff, ci_n = stats.design_share_ci(sums["sum_w"], num, sums["sum_w2"], sums["sum_w2x"], n, conf)
        se, lo, hi = se * ind.scale, lo * ind.scale, hi * ind.scale
        ci_method = "wilson_design"
    elif ind.uncertainty == "wilson":
        # an unweighted count (no respondent microdata): the ordinary Wilson interval on n
        sw, sw2 = sums["sum_w"], sums["sum_w2"]
        n_eff = stats.kish_n_eff(sw, sw2)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_hat = np.where(den > 0, num / den, np.nan)
        p, se, lo, hi = stats.wilson_ci(p_hat * n_eff, n_eff, conf)
        se, lo, hi = se * ind.scale, lo * ind.scale, hi * ind.scale
        ci_n = n_eff.copy()
        ci_method = "wilson"
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
                value[i] = lo[i] = hi[i] = se[i] = ci_df[i] = ci_n[i] = np.nan
            elif ne < rules["indicative_below_n"] or (
                ind.unit == "cijfer" and (hi[i] - lo[i]) / 2 > rules["max_halfwidth_mark"]
            ):
                flags[i].append("indicatief")
    else:
        for i in range(len(df)):
            if not np.isnan(value[i]) and n[i] < ind.min_n:
                flags[i].append("small_n")
    out = pd.DataFrame(
        {
            "org_code": df["org_code"],
            "year": df["year"].astype("int64"),
            "indicator_code": ind.code,
            "value": value,
            "numerator": num,
            "denominator": den,
            "n": n,
            "n_eff": n_eff,
            "se": se,
            "ci_low": lo,
            "ci_high": hi,
            "flags": [";".join(f) if f else None for f in flags],
            "submission_id": df["submission_id"],
            "ci_method": [ci_method if not np.isnan(lo[i]) else None for i in range(len(df))],
            "ci_df": ci_df,
            "ci_n": ci_n,
        }
    )
    return out


# ------------------------------------------------------------------------------------ comparisons


def _comparable(values: pd.DataFrame) -> pd.DataFrame:
    """Values that enter comparisons: not suppressed, not missing."""
    return values[values["value"].notna()]


def compute_benchmark_stats(values: pd.DataFrame, orgs: pd.DataFrame, min_cluster: int) -> pd.DataFrame:
    v = _comparable(values).merge(orgs[["org_code", "cluster"]], on="org_code", how="left")
    rows = []
    for (year, code), g in v.groupby(["year", "indicator_code"], sort=True):
        x_all = g["value"].to_numpy()
        # All-member statistics are kept for the analysts, but published (shown to members) only from
        # min_cluster members, the same threshold as a cluster (docs/confidentiality.md).
        rows.append(
            {
                **_describe(x_all, year, code, "all", "all", len(x_all) >= min_cluster),
                "suppressed_reason": None if len(x_all) >= min_cluster else f"below_{min_cluster}",
            }
        )
        for cluster in sorted(orgs["cluster"].unique()):
            x = g.loc[g["cluster"] == cluster, "value"].to_numpy()
            published = len(x) >= min_cluster
            # differencing: a cluster that differs from the published all-member set by 1 to min_cluster - 1
            # members gives the others' values away by subtraction (docs/comparators.md); it is not published
            leaks = published and len(x_all) >= min_cluster and 0 < len(x_all) - len(x) < min_cluster
            row = _describe(
                x if published and not leaks else np.array([]), year, code, cluster, "cluster", published and not leaks
            )
            row["n"] = len(x)
            row["suppressed_reason"] = "differencing:all" if leaks else (None if published else f"below_{min_cluster}")
            rows.append(row)
    out = pd.DataFrame(rows)
    if "suppressed_reason" not in out.columns:
        out["suppressed_reason"] = None
    return out


def _describe(
    x: np.ndarray, year: int, code: str, scope: str, kind: str, published: bool, n: int | None = None
) -> dict:
    if len(x) == 0:
        return {
            "year": int(year),
            "indicator_code": code,
            "scope": scope,
            "scope_kind": kind,
            "n": n or 0,
            "mean": np.nan,
            "median": np.nan,
            "p25": np.nan,
            "p75": np.nan,
            "min": np.nan,
            "max": np.nan,
            "published": published,
        }
    return {
        "year": int(year),
        "indicator_code": code,
        "scope": scope,
        "scope_kind": kind,
        "n": len(x) if n is None else n,
        "mean": float(np.mean(x)),
        "median": float(np.median(x)),
        "p25": float(np.quantile(x, 0.25)),
        "p75": float(np.quantile(x, 0.75)),
        "min": float(np.min(x)),
        "max": float(np.max(x)),
        "published": published,
    }


def compute_comparisons(
    values: pd.DataFrame, orgs: pd.DataFrame, bstats: pd.DataFrame, series: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Each member's position per year and indicator. ``series`` (:func:`pipeline.compute.lineage.lineage_series`)
    continues a merged or renamed member's previous value and trend through its predecessors' combined values;
    such a comparison is marked in ``trend_lineage`` (``lineage:A+B``)."""
    cfg = catalogue_config()["comparison"]
    cat = {i.code: i for i in catalogue()}
    v = _comparable(values).merge(orgs[["org_code", "cluster"]], on="org_code", how="left")
    allstats = {(r["year"], r["indicator_code"]): r for r in bstats[bstats["scope_kind"] == "all"].to_dict("records")}
    cstats = {
        (r["year"], r["indicator_code"], r["scope"]): r
        for r in bstats[bstats["scope_kind"] == "cluster"].to_dict("records")
    }
    by_key = values.set_index(["org_code", "indicator_code", "year"])["value"].to_dict()
    lineage_flag: dict[tuple[str, str, int], str] = {}
    if series is not None and not series.empty:
        for r in series[["org_code", "indicator_code", "year", "value", "flags"]].itertuples(index=False):
            key = (r.org_code, r.indicator_code, int(r.year))
            if key not in by_key or pd.isna(by_key[key]):
                by_key[key] = r.value
                lineage_flag[key] = r.flags
    out = []
    for (year, code), g in v.groupby(["year", "indicator_code"], sort=True):
        ind = cat[code]
        s = allstats[(year, code)]
        vals = g["value"].to_numpy()
        ranked = ind.direction in ("higher", "lower")
        n_orgs = len(vals)
        rank = stats.competition_rank(vals, ind.direction) if ranked else np.full(n_orgs, np.nan)
        pct = 100.0 * (n_orgs - rank) / (n_orgs - 1) if n_orgs > 1 else np.where(np.isnan(rank), np.nan, 100.0)
        quart = stats.quartile_class(vals, ind.direction) if ranked else np.full(n_orgs, np.nan)
        midpct = 100.0 * (1.0 - stats.midrank_position(vals, ind.direction)) if ranked else np.full(n_orgs, np.nan)
        best_q = s["p75"] if ind.direction == "higher" else (s["p25"] if ind.direction == "lower" else np.nan)
        rz_med, rz_scale, rz_method = stats.robust_z_scale(vals)
        rz = (vals - rz_med) / rz_scale if rz_method else np.full(n_orgs, np.nan)
        for i, rec in enumerate(g.itertuples(index=False)):
            c = cstats.get((year, code, rec.cluster))
            prev = by_key.get((rec.org_code, code, year - 1), np.nan)
            hist_years = [y for y in range(year - cfg["trend_years"] + 1, year + 1)]
            hist_vals = [by_key.get((rec.org_code, code, y), np.nan) for y in hist_years]
            slope, p_trend, n_pts = stats.trend(hist_years, hist_vals)
            if n_pts < cfg["trend_min_points"]:
                slope, p_trend = np.nan, np.nan
            used = [lineage_flag.get((rec.org_code, code, y)) for y in [year - 1, *hist_years]]
            marks = sorted({m for m in used if m})
            gap_best = rec.value - best_q  # NaN for context indicators (no best quartile)
            out.append(
                {
                    "org_code": rec.org_code,
                    "year": int(year),
                    "indicator_code": code,
                    "value": rec.value,
                    "direction": ind.direction,
                    "rank": rank[i],
                    "n_orgs": n_orgs,
                    "percentile": pct[i] if ranked else np.nan,
                    "quartile": quart[i],
                    "mean": s["mean"],
                    "median": s["median"],
                    "p25": s["p25"],
                    "p75": s["p75"],
                    "best_quartile_threshold": best_q,
                    "gap_median": rec.value - s["median"],
                    "gap_best_quartile": gap_best,
                    "robust_z": rz[i],
                    "cluster": rec.cluster,
                    "cluster_n": int(c["n"]) if c is not None else 0,
                    "cluster_median": c["median"] if c is not None and c["published"] else np.nan,
                    "cluster_p25": c["p25"] if c is not None and c["published"] else np.nan,
                    "cluster_p75": c["p75"] if c is not None and c["published"] else np.nan,
                    "cluster_published": bool(c["published"]) if c is not None else False,
                    "prev_value": prev,
                    "change_prev": rec.value - prev if not np.isnan(prev) else np.nan,
                    "trend_slope": slope,
                    "trend_n_years": n_pts,
                    "trend_p_value": p_trend,
                    "trend_label": None,
                    "robust_z_method": rz_method if not np.isnan(rz[i]) else None,
                    "midrank_percentile": midpct[i],
                    "trend_lineage": ";".join(marks) or None,
                }
            )
    comp = pd.DataFrame(out)
    comp = _trend_labels(comp, cfg)
    comp = _significance(comp, values, cat, cfg)
    # the columns the reports read keep their order; columns added later come at the end
    return comp[COMPARISON_COLUMNS + [c for c in comp.columns if c not in COMPARISON_COLUMNS]]


COMPARISON_COLUMNS = [
    "org_code",
    "year",
    "indicator_code",
    "value",
    "direction",
    "rank",
    "n_orgs",
    "percentile",
    "quartile",
    "mean",
    "median",
    "p25",
    "p75",
    "best_quartile_threshold",
    "gap_median",
    "gap_best_quartile",
    "robust_z",
    "cluster",
    "cluster_n",
    "cluster_median",
    "cluster_p25",
    "cluster_p75",
    "cluster_published",
    "prev_value",
    "change_prev",
    "trend_slope",
    "trend_n_years",
    "trend_p_value",
    "trend_label",
    "benchmark_value",
    "p_value",
    "p_adjusted",
    "significant",
    "significance_label",
    # added with the design-based comparison rules (docs/methods-comparisons.md)
    "robust_z_method",
    "midrank_percentile",
    "trend_p_adjusted",
    "benchmark_se",
    "test_method",
    "test_df",
]


def _trend_labels(comp: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Trend labels only for series with at least ``trend_label_min_points`` values whose slope is
    significant after Benjamini–Hochberg over that organisation's eligible series of the year (p_(k) ≤ kα/m).
    Every other series keeps its slope and p-value but gets no label (NULL): a non-significant slope on a
    few points is not evidence of stability."""
    comp["trend_p_adjusted"] = np.nan
    alpha = float(cfg["significance_alpha"])
    eligible = (comp["trend_n_years"] >= int(cfg["trend_label_min_points"])) & comp["trend_p_value"].notna()
    labels = np.array(comp["trend_label"].tolist(), dtype=object)
    for _, g in comp[eligible].groupby(["org_code", "year"], sort=False):
        p = g["trend_p_value"].to_numpy(dtype="float64")
        comp.loc[g.index, "trend_p_adjusted"] = stats.bh_adjust(p)
        reject = stats.bh_reject(p, alpha)
        for j, ix in enumerate(g.index):
            if reject[j] != 1.0:
                continue
            slope, direction = comp.at[ix, "trend_slope"], comp.at[ix, "direction"]
            if direction == "context":
                labels[comp.index.get_loc(ix)] = "rising" if slope > 0 else "falling"
            else:
                better = slope > 0 if direction == "higher" else slope < 0
                labels[comp.index.get_loc(ix)] = "improving" if better else "declining"
    comp["trend_label"] = labels
    return comp


def _significance(comp: pd.DataFrame, values: pd.DataFrame, cat: dict, cfg: dict) -> pd.DataFrame:
    """Survey indicators: each organisation against the benchmark without it, BH-adjusted per org-year.

    Benchmark = median of the other organisations' values (leave-one-out); its standard error is a seeded
    bootstrap of that median over the others' values. Means: t-test with the member's Taylor SE and the
    benchmark SE combined, df of the member's t-interval (Kish n_eff − 1). Shares: score test with the null
    variance at the benchmark share on the member's n* (the n of its Wilson interval), plus the benchmark's
    variance. Without benchmark uncertainty both tests are the exact duals of the shown intervals, so a
    member whose interval contains the benchmark is never labelled significant. Significant: rejected by
    the Benjamini–Hochberg step-up rule p_(k) ≤ k·α/m over the organisation-year's survey indicators.
    Method: docs/methods-comparisons.md.
    """
    import zlib

    vi = values.set_index(["org_code", "year", "indicator_code"])
    comp["benchmark_value"] = np.nan
    comp["p_value"] = np.nan
    comp["p_adjusted"] = np.nan
    comp["significant"] = pd.array([pd.NA] * len(comp), dtype="boolean")
    comp["significance_label"] = None
    comp["benchmark_se"] = np.nan
    comp["test_method"] = None
    comp["test_df"] = np.nan
    boot = cfg["benchmark_bootstrap"]
    reps, seed = int(boot["reps"]), int(boot["seed"])
    survey = comp["indicator_code"].map(lambda c: cat[c].is_survey and cat[c].direction != "context")
    for (year, code), g in comp[survey].groupby(["year", "indicator_code"], sort=True):
        ind = cat[code]
        g = g.sort_values("org_code")
        vals = g["value"].to_numpy(dtype="float64")
        keys = [(o, year, code) for o in g["org_code"]]
        se = np.array([vi.at[k, "se"] for k in keys], dtype="float64")
        rng = np.random.default_rng([seed, int(year), zlib.crc32(code.encode())])
        bench = np.full(len(g), np.nan)
        bench_se = np.full(len(g), np.nan)
        for j in range(len(g)):
            others = np.delete(vals, j)
            if others.size >= 2:
                bench[j] = np.median(others)
                bench_se[j] = stats.bootstrap_median_se(others, reps, rng)
        if ind.uncertainty == "wilson":
            n_star = np.array([vi.at[k, "ci_n"] for k in keys], dtype="float64")
            p = stats.compare_score(vals / ind.scale, n_star, bench / ind.scale, bench_se / ind.scale)
            method, df = "score", np.full(len(g), np.nan)
        else:
            df = np.array([vi.at[k, "ci_df"] for k in keys], dtype="float64")
            p = stats.compare_t(vals, se, bench, bench_se, df)
            method = "t"
        comp.loc[g.index, "benchmark_value"] = bench
        comp.loc[g.index, "benchmark_se"] = bench_se
        comp.loc[g.index, "p_value"] = p
        comp.loc[g.index, "test_df"] = df
        comp.loc[g.index, "test_method"] = [method if not np.isnan(x) else None for x in p]
    alpha = cfg["significance_alpha"]
    for _, g in comp[survey].groupby(["org_code", "year"]):
        pv = g["p_value"].to_numpy(dtype="float64")
        comp.loc[g.index, "p_adjusted"] = stats.bh_adjust(pv)
        reject = stats.bh_reject(pv, alpha)
        for j, ix in enumerate(g.index):
            if np.isnan(reject[j]):
                continue
            sig = bool(reject[j] == 1.0)
            comp.loc[ix, "significant"] = sig
            d = comp.loc[ix, "value"] - comp.loc[ix, "benchmark_value"]
            better = d > 0 if comp.loc[ix, "direction"] == "higher" else d < 0
            comp.loc[ix, "significance_label"] = ("better" if better else "worse") if sig else "not_significant"
    return comp.sort_values(["year", "indicator_code", "org_code"], ignore_index=True)


def strengths_weaknesses(comp: pd.DataFrame) -> pd.DataFrame:
    """Indicators where an organisation stands out: best or worst quartile, and for survey figures only
    when the difference from the benchmark is significant after correction."""
    cat = {i.code: i for i in catalogue()}
    min_members = disclosure_config()["min_members"]
    rows = []
    for rec in comp.itertuples(index=False):
        ind = cat[rec.indicator_code]
        if ind.direction == "context" or pd.isna(rec.quartile) or rec.n_orgs < min_members:
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
        rows.append(
            {
                "org_code": rec.org_code,
                "year": rec.year,
                "indicator_code": rec.indicator_code,
                "kind": kind,
                "score": score,
                "reason_nl": f"{'beste' if kind == 'strength' else 'laagste'} kwartiel, positie {int(rec.rank)} van {rec.n_orgs}{sig_nl}",
                "reason_en": f"{'best' if kind == 'strength' else 'bottom'} quartile, position {int(rec.rank)} of {rec.n_orgs}{sig_en}",
            }
        )
    cols = ["org_code", "year", "indicator_code", "kind", "score", "reason_nl", "reason_en"]
    return pd.DataFrame(rows, columns=cols).sort_values(
        ["year", "org_code", "kind", "score", "indicator_code"],
        ascending=[True, True, True, False, True],
        ignore_index=True,
    )


# ---------------------------------------------------------------------------- composite and DEA


def published_imputation(
    wide: pd.DataFrame, clusters: pd.Series, bstats: pd.DataFrame, year: int, min_members: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill a member's missing indicator only with statistics that members may see.

    A missing value gets the mean of the member's cluster when that cluster's statistics are published (at least
    ``min_members`` members with a value), else the mean of all members when at least ``min_members`` have a
    value, else it stays missing (the aggregation then leaves it out with its weight). An unpublished group
    statistic can therefore never be read back from an imputed score. Returns (filled values, source per cell:
    "cluster", "all" or "" for observed and still missing cells).
    """
    b = bstats[(bstats["year"] == year) & bstats["published"].astype(bool) & (bstats["n"] >= min_members)]
    mean = {(r["indicator_code"], r["scope"]): r["mean"] for r in b.to_dict("records")}
    filled = wide.copy()
    source = pd.DataFrame("", index=wide.index, columns=wide.columns)
    for org in wide.index:
        cluster = clusters.get(org)
        for code in wide.columns:
            if not pd.isna(wide.at[org, code]):
                continue
            for scope, label in ((cluster, "cluster"), ("all", "all")):
                m = mean.get((code, scope))
                if scope is not None and m is not None and not pd.isna(m):
                    filled.at[org, code] = float(m)
                    source.at[org, code] = label
                    break
    return filled, source


REVIEW_COLUMNS = {
    "composite_sensitivity": ["year", "org_code", "factor", "first_order", "total", "rank_variance", "n_base"],
    "composite_value_log": [
        "year",
        "org_code",
        "indicator_code",
        "value",
        "imputed",
        "imputed_from",
        "used_value",
        "treatment",
        "treated_value",
    ],
    "indicator_correlations": [
        "year",
        "indicator_a",
        "indicator_b",
        "theme_a",
        "theme_b",
        "n",
        "pearson",
        "pearson_p",
        "spearman",
        "spearman_p",
        "same_theme",
        "redundant",
        "contradicting",
    ],
    "theme_reliability": ["year", "theme", "cronbach_alpha", "n_indicators", "n_members"],
}


def _value_se(values: pd.DataFrame, year: int, index: pd.Index, codes: list[str], confidence: float) -> pd.DataFrame:
    """Standard errors of the values from their confidence intervals (NaN where a value has none)."""
    from scipy import stats as sps

    v = values[(values["year"] == year) & values["indicator_code"].isin(codes)]
    z = float(sps.norm.ppf(0.5 + confidence / 2))
    se = (
        ((v["ci_high"] - v["ci_low"]) / (2 * z))
        if {"ci_low", "ci_high"} <= set(v.columns)
        else pd.Series(np.nan, index=v.index)
    )
    wide = v.assign(_se=se).pivot(index="org_code", columns="indicator_code", values="_se")
    return wide.reindex(index=index, columns=codes)


def compute_composite(
    values: pd.DataFrame,
    orgs: pd.DataFrame,
    bstats: pd.DataFrame | None = None,
    review: dict[str, pd.DataFrame] | None = None,
    methods: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Composite scores, rank intervals and the method per year. With ``review`` (a dict), also the
    analysis an expert reviewer asks for (``REVIEW_COLUMNS``): Sobol sensitivity of every member's rank to
    every uncertain choice, the imputation and outlier-treatment log per value, indicator correlations and
    Cronbach's alpha per theme (methods in docs/methods-composite.md)."""
    from pipeline.compute.methods.composite import (
        AggregateMeta,
        AggregationSpec,
        CompositeSpec,
        ImputationSpec,
        IndicatorMeta,
        NormalisationSpec,
        TreatmentSpec,
        UncertaintySpec,
        build_composite,
    )
    from pipeline.compute.methods.sensitivity import (
        composite_sensitivity,
        cronbach_alpha,
        indicator_correlations,
        rank_uncertainty,
    )

    cfg = (methods or methods_config())["composite"]
    sens_cfg = cfg["sensitivity"]
    confidence = float(catalogue_config()["survey_rules"]["confidence"])
    review_rows: dict[str, list[pd.DataFrame]] = {k: [] for k in REVIEW_COLUMNS}
    min_members = int(disclosure_config()["min_members"])
    if bstats is None:
        bstats = compute_benchmark_stats(values, orgs, min_members)
    imp_cfg = dict(cfg["imputation"])
    published = imp_cfg.get("method") == "published_mean"
    cat = [i for i in catalogue() if i.direction != "context" and i.code not in cfg["exclude_indicators"]]
    clusters = orgs.set_index("org_code")["cluster"]
    scores_rows, unc_rows, method_rows = [], [], []
    for year in sorted(values["year"].unique()):
        wide = values[(values["year"] == year) & values["indicator_code"].isin([i.code for i in cat])].pivot(
            index="org_code", columns="indicator_code", values="value"
        )
        # an indicator enters the index only with a value for at least min_members members: its min-max
        # normalisation would otherwise be a statistic over fewer members, readable from a member's own score
        codes = [i.code for i in cat if i.code in wide.columns and wide[i.code].notna().sum() >= min_members]
        if not codes:
            continue
        wide = wide[codes]
        wide = wide[wide.notna().mean(axis=1) >= cfg["min_coverage"]]
        if len(wide) < min_members:
            continue
        observed = wide.copy()
        imputed_from = pd.DataFrame("", index=wide.index, columns=wide.columns)
        if published:
            wide, imputed_from = published_imputation(wide, clusters, bstats, int(year), min_members)
            imputation = ImputationSpec(method="none")
        else:
            imputation = ImputationSpec(**imp_cfg)
        data = wide.reset_index().merge(orgs[["org_code", "cluster"]], on="org_code", how="left")
        used = [i for i in cat if i.code in codes]
        used_themes = sorted({i.theme for i in used})
        spec = CompositeSpec(
            indicators=[
                IndicatorMeta(code=i.code, parent=i.theme, direction=1 if i.direction == "higher" else -1) for i in used
            ],
            aggregates=[AggregateMeta(code=t, level=2, parent="index") for t in used_themes]
            + [AggregateMeta(code="index", level=3)],
            unit_column="org_code",
            denominate=False,
            imputation=imputation,
            treatment=TreatmentSpec(**cfg["treatment"]),
            normalisation=NormalisationSpec(
                method=cfg["normalisation"]["method"], range=tuple(cfg["normalisation"]["range"])
            ),
            aggregation=AggregationSpec(**cfg["aggregation"]),
            uncertainty=UncertaintySpec(weight_noise=cfg["uncertainty"]["weight_noise"]),
        )
        res = build_composite(data, spec)
        for node in used_themes + ["index"]:
            for org, score in res.scores[node].items() if node in res.scores.columns else []:
                rank = res.ranks.loc[org, node]
                scores_rows.append(
                    {
                        "year": int(year),
                        "org_code": org,
                        "node": node,
                        "level": 3 if node == "index" else 2,
                        "score": float(score),
                        "rank": int(rank) if pd.notna(rank) else None,
                    }
                )
        # rank intervals from every uncertain choice and from the indicators' own sampling error
        se = _value_se(values, int(year), res.treated.index, codes, confidence)
        imputed_mask = (imputed_from != "") if published else None
        unc = rank_uncertainty(
            res,
            se,
            n_runs=cfg["uncertainty"]["n_runs"],
            seed=cfg["uncertainty"]["seed"],
            target="index",
            imputed=imputed_mask,
        )
        if review is not None:
            _review_year(
                review_rows,
                int(year),
                res,
                observed,
                imputed_from,
                se,
                imputed_mask,
                used,
                sens_cfg,
                composite_sensitivity,
                indicator_correlations,
                cronbach_alpha,
            )
        for r in unc.itertuples(index=False):
            unc_rows.append(
                {
                    "year": int(year),
                    "org_code": r.unit,
                    "nominal_rank": r.nominal_rank,
                    "median_rank": r.median_rank,
                    "rank_lo": r.rank_lo,
                    "rank_hi": r.rank_hi,
                    "n_units": len(data),
                }
            )
        spec_json = spec.to_dict()
        if published:
            # the reference method gets already imputed values; the stored spec says how they were imputed
            spec_json["imputation"] = {
                "method": "published_mean",
                "group_column": imp_cfg.get("group_column"),
                "min_members": min_members,
                "applied_before": "build_composite",
            }
        method_rows.append(
            {
                "year": int(year),
                "spec_json": json.dumps(spec_json),
                "n_runs": cfg["uncertainty"]["n_runs"],
                "seed": cfg["uncertainty"]["seed"],
            }
        )
    if review is not None:
        for name, cols in REVIEW_COLUMNS.items():
            parts = [f for f in review_rows[name] if not f.empty]
            review[name] = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    return (
        pd.DataFrame(scores_rows, columns=["year", "org_code", "node", "level", "score", "rank"]),
        pd.DataFrame(
            unc_rows, columns=["year", "org_code", "nominal_rank", "median_rank", "rank_lo", "rank_hi", "n_units"]
        ),
        pd.DataFrame(method_rows, columns=["year", "spec_json", "n_runs", "seed"]),
    )


def _review_year(
    rows: dict[str, list[pd.DataFrame]],
    year: int,
    res,
    observed: pd.DataFrame,
    imputed_from: pd.DataFrame,
    se: pd.DataFrame,
    imputed_mask: pd.DataFrame | None,
    used: list,
    sens_cfg: dict,
    composite_sensitivity,
    indicator_correlations,
    cronbach_alpha,
) -> None:
    codes = [i.code for i in used]
    sens = composite_sensitivity(
        res, se, n=int(sens_cfg["n_base"]), seed=int(sens_cfg["seed"]) + year, target="index", imputed=imputed_mask
    )
    rows["composite_sensitivity"].append(
        sens.rename(columns={"unit": "org_code"}).assign(year=year, n_base=int(sens_cfg["n_base"]))
    )
    imputed = imputed_from.reindex(index=res.treated.index, columns=codes).fillna("")
    flags = res.treatment_flags[codes]
    log = pd.DataFrame(
        {
            "org_code": np.repeat(res.treated.index.to_numpy(), len(codes)),
            "indicator_code": np.tile(codes, len(res.treated.index)),
            "value": observed.reindex(index=res.treated.index, columns=codes).to_numpy(dtype=float).ravel(),
            "imputed_from": imputed.to_numpy().ravel(),
            "used_value": res.imputed[codes].to_numpy(dtype=float).ravel(),
            "treatment": flags.to_numpy().ravel(),
            "treated_value": res.treated[codes].to_numpy(dtype=float).ravel(),
        }
    )
    log["imputed"] = log["imputed_from"] != ""
    log["imputed_from"] = log["imputed_from"].replace("", None)
    log["treatment"] = log["treatment"].map(
        {"No": None, "WHigh": "winsorised_high", "WLow": "winsorised_low", "CTLog": "log", "Log": "log", "Err": "error"}
    )
    rows["composite_value_log"].append(log.assign(year=year))
    themes = {i.code: i.theme for i in used}
    corr = indicator_correlations(observed[codes], themes, {i.code: 1 if i.direction == "higher" else -1 for i in used})
    rows["indicator_correlations"].append(corr.assign(year=year))
    rel = []
    for theme in sorted(set(themes.values())):
        members = [c for c in codes if themes[c] == theme]
        alpha, k, n = cronbach_alpha(res.normalised[members])
        rel.append({"year": year, "theme": theme, "cronbach_alpha": alpha, "n_indicators": k, "n_members": n})
    rows["theme_reliability"].append(pd.DataFrame(rel))


DEA_COLUMNS = [
    "year",
    "cluster",
    "model",
    "org_code",
    "score",
    "super_efficiency",
    "peers",
    "lambdas",
    "robust_status",
    "n_units",
    "inputs",
    "outputs",
    "rts",
    "orientation",
    "status",
    "reason_nl",
    "reason_en",
    "flags",
    "min_units",
    "score_bc",
    "bias",
    "ci_low",
    "ci_high",
    "n_boot",
    "input_slacks",
    "output_slacks",
]


def _dea_seed(seed: int, year: int, cluster: str, model: str) -> np.random.SeedSequence:
    """A bootstrap seed per model, cluster and year, independent of the order they are computed in."""
    import zlib

    return np.random.SeedSequence([int(seed), int(year), zlib.crc32(str(cluster).encode()), zlib.crc32(model.encode())])


def dea_inputs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The inputs and outputs of the DEA models per organisation and year (read by :func:`compute_dea`)."""
    return con.execute("""SELECT o.org_code, o.year, o.apparaatskosten_totaal, o.fte_totaal, o.n_klanten_actief,
                                 p.n_besluiten
                          FROM int_org o JOIN int_products p USING (org_code, year, submission_id)""").fetch_df()


def compute_dea(
    con: duckdb.DuckDBPyConnection | None,
    orgs: pd.DataFrame,
    methods: dict | None = None,
    base: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """DEA per model, year and cluster (docs/methods-dea.md).

    A model/cluster with fewer distinct organisations than the sample-size rule (``min_units_rule``) is not
    published: its rows carry ``status = 'not_published'`` and a reason, and no score. Published rows add the
    Simar–Wilson bootstrap (``score_bc``, ``bias``, ``ci_low``, ``ci_high``) and the phase-2 slacks.
    ``base``: the frame of :func:`dea_inputs` when it was read before (then ``con`` is not used).
    """
    import warnings

    from pipeline.compute.methods.dea import (
        DeaWarning,
        dea,
        dea_boot,
        duplicate_groups,
        format_named,
        min_units,
        robustness,
        super_efficiency,
    )

    cfg = (methods or methods_config())["dea"]
    boot_cfg = cfg["bootstrap"]
    base = (dea_inputs(con) if base is None else base).merge(orgs[["org_code", "cluster"]], on="org_code", how="left")
    rows = []
    for model in cfg["models"]:
        cols = model["inputs"] + model["outputs"]
        m, s = len(model["inputs"]), len(model["outputs"])
        need = min_units(m, s, cfg["min_units_rule"])
        for (year, cluster), g in base.groupby(["year", "cluster"], sort=True):
            g = g.dropna(subset=cols)
            g = g[(g[cols] > 0).all(axis=1)].sort_values("org_code")
            if g.empty:
                continue
            X, Y, ids = g[model["inputs"]].to_numpy(float), g[model["outputs"]].to_numpy(float), g["org_code"].tolist()
            groups = duplicate_groups(X, Y, ids)
            duplicated = {u for group in groups for u in group}
            distinct = len(ids) - sum(len(group) - 1 for group in groups)
            common = {
                "year": int(year),
                "cluster": cluster,
                "model": model["code"],
                "n_units": len(ids),
                "inputs": ",".join(model["inputs"]),
                "outputs": ",".join(model["outputs"]),
                "rts": model["rts"],
                "orientation": model["orientation"],
                "min_units": need,
            }
            if distinct < need:
                units_nl = f"{distinct} verschillende organisaties" if groups else f"{distinct} organisaties"
                units_en = f"{distinct} distinct organisations" if groups else f"{distinct} organisations"
                reason_nl = (
                    f"niet gepubliceerd: {units_nl} in het cluster, minstens {need} nodig bij {m} input(s) "
                    f"en {s} output(s) (n ≥ max(m·s, 3(m+s)))"
                )
                reason_en = (
                    f"not published: {units_en} in the cluster, at least {need} needed for {m} input(s) "
                    f"and {s} output(s) (n ≥ max(m·s, 3(m+s)))"
                )
                for org in ids:
                    flags = (
                        ["below_min_units"]
                        + (["one_unit"] if len(ids) == 1 else [])
                        + (["duplicate_units"] if org in duplicated else [])
                    )
                    rows.append(
                        {
                            **common,
                            "org_code": org,
                            "status": "not_published",
                            "reason_nl": reason_nl,
                            "reason_en": reason_en,
                            "flags": ";".join(flags),
                        }
                    )
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeaWarning)
                res = dea(
                    pd.DataFrame(X, columns=model["inputs"]),
                    pd.DataFrame(Y, columns=model["outputs"]),
                    rts=model["rts"],
                    orientation=model["orientation"],
                    ids=ids,
                )
                sup = super_efficiency(X, Y, model["rts"], model["orientation"], ids=ids)
                rob = robustness(X, Y, model["rts"], model["orientation"], ids=ids).set_index("id")
                boot = dea_boot(
                    X,
                    Y,
                    model["rts"],
                    model["orientation"],
                    ids=ids,
                    n_boot=boot_cfg["n_boot"],
                    alpha=boot_cfg["alpha"],
                    seed=_dea_seed(boot_cfg["seed"], year, cluster, model["code"]),
                )
            frame = res.to_frame().set_index("id")
            degenerate = not np.isfinite(boot.bandwidth)
            for k, org in enumerate(ids):
                flags = (["duplicate_units"] if org in duplicated else []) + (
                    ["bootstrap_degenerate"] if degenerate else []
                )
                rows.append(
                    {
                        **common,
                        "org_code": org,
                        "score": float(res.score[k]),
                        "super_efficiency": float(sup[k]),
                        "peers": frame.loc[org, "peers"],
                        "lambdas": frame.loc[org, "lambdas"],
                        "robust_status": rob.loc[org, "status"],
                        "status": "published",
                        "flags": ";".join(flags) or None,
                        "score_bc": float(boot.score_bc[k]),
                        "bias": float(boot.bias[k]),
                        "ci_low": float(boot.ci_low[k]),
                        "ci_high": float(boot.ci_high[k]),
                        "n_boot": int(boot.n_boot),
                        "input_slacks": format_named(res.input_names, res.slack_x[k]),
                        "output_slacks": format_named(res.output_names, res.slack_y[k]),
                    }
                )
    out = pd.DataFrame(rows, columns=DEA_COLUMNS)
    for col in ("score", "super_efficiency", "score_bc", "bias", "ci_low", "ci_high"):
        out[col] = out[col].astype("float64")
    for col in ("n_boot",):
        out[col] = out[col].astype("Int64")
    return out


# ------------------------------------------------------------------------------------------ run


def _replace(con: duckdb.DuckDBPyConnection, name: str, df: pd.DataFrame, order: list[str]) -> None:
    df = df.sort_values(order, ignore_index=True) if len(df) else df
    con.register("_df", df)
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _df")
    con.unregister("_df")


def compute(ws: Workspace, year: int | None = None) -> dict[str, int]:
    """Recompute every derived table; returns row counts per table. The ``organisations`` table is first
    synced from the workspace's register (``data/organisations.csv``, else the packaged one), so a change of
    a member's cluster or membership counts from this computation on. The register and all tables are
    replaced in one transaction: when the register is invalid (:class:`RegisterError`) or the disk fills up
    (:class:`OutOfSpace`) the warehouse keeps the previous register and results."""
    register = load_organisations(ws.root)  # an invalid register stops here, before anything is opened
    methods = methods_config(ws.root)  # the workspace's data/methods.yaml over the packaged file, checked
    settings = load_settings(ws.root)
    con = connect(ws.db_path)
    stage = "computing"
    try:
        if not table_exists(con, "submissions"):
            raise FileNotFoundError("no submissions in the warehouse; run 'rbb ingest' first")
        init_schema(con)  # tables added by later versions (for example f_zaken_agg) exist before they are read
        with transaction(con):
            replace_organisations(con, register)
            orgs = con.execute("SELECT * FROM organisations").fetch_df()
            min_members = int(disclosure_config()["min_members"])
            sets = comparators.resolve_sets(list(settings.comparator_sets), orgs)
            values = compute_indicator_values(con)
            # analyst sets that would leak by differencing refuse the configuration before anything is written
            comparators.check_sets(sets, orgs, sorted(int(y) for y in values["year"].unique()), min_members)
            if year is not None and year not in set(values["year"]):
                raise ValueError(f"no accepted submissions for {year}")
            cfg = catalogue_config()["comparison"]
            bstats = compute_benchmark_stats(values, orgs, cfg["cluster_min_members"])
            series = lineage_series(values, register_lineage(orgs), {i.code: i.scale for i in catalogue()})
            cmp_cfg = ComparatorsModel.model_validate(methods["comparators"]).model_dump()
            context = comparators.context_frame(con, values, orgs, cmp_cfg)
            dea_base = dea_inputs(con)
            review: dict[str, pd.DataFrame] = {}

            def job(name: str):  # pure: everything it needs was read above
                if name == "comparisons":
                    comp = compute_comparisons(values, orgs, bstats, series)
                    return comp, strengths_weaknesses(comp)
                if name == "composite":
                    return *compute_composite(values, orgs, bstats, review, methods), review
                assert name == "dea", name
                return compute_dea(None, orgs, methods, base=dea_base)

            # comparisons, composite and DEA in forked processes while this one finds the comparator groups
            # and their statistics (which query the warehouse): the same tables as one after the other
            with forked_start(job, ["comparisons", "composite", "dea"], workers=2, min_items=2) as results:
                default, profile = comparators.default_groups(
                    None, values, orgs, sets, cmp_cfg, min_members, context=context
                )
                groups = pd.concat([default, comparators.analyst_groups(values, orgs, sets)], ignore_index=True)
                cat_frame = catalogue_frame()
                cmp_stats = comparators.finish_stats(
                    comparators.stats_rows(con, values, groups, cat_frame), values, orgs, bstats, cat_frame, min_members
                )
                (comp, sw), (scores, unc, method, review), dea_rows = results()
            tables = {
                "indicator_catalogue": (cat_frame, ["code"]),
                "indicator_values": (values, ["year", "indicator_code", "org_code"]),
                "lineage_values": (series, ["year", "indicator_code", "org_code"]),
                "benchmark_stats": (bstats, ["year", "indicator_code", "scope_kind", "scope"]),
                "comparisons": (comp, ["year", "indicator_code", "org_code"]),
                "strengths_weaknesses": (sw, ["year", "org_code", "kind", "indicator_code"]),
                "composite_scores": (scores, ["year", "node", "org_code"]),
                "composite_uncertainty": (unc, ["year", "org_code"]),
                "composite_method": (method, ["year"]),
                "composite_sensitivity": (review["composite_sensitivity"], ["year", "org_code", "factor"]),
                "composite_value_log": (review["composite_value_log"], ["year", "org_code", "indicator_code"]),
                "indicator_correlations": (review["indicator_correlations"], ["year", "indicator_a", "indicator_b"]),
                "theme_reliability": (review["theme_reliability"], ["year", "theme"]),
                "dea_results": (dea_rows, ["year", "model", "cluster", "org_code"]),
                "comparator_groups": (
                    groups,
                    ["year", "set_kind", "set_code", "org_code", "position", "comparator_code"],
                ),
                "comparator_stats": (cmp_stats, ["year", "indicator_code", "set_kind", "set_code", "org_code"]),
                "comparator_sets": (_set_frame(sets), ["code"]),
                "comparator_profile": (profile, ["year", "org_code", "variable"]),
            }
            for name, (df, order) in tables.items():
                _replace(con, name, df, order)
            record_inputs(con, ws, methods=methods, methods_file=workspace_file(ws.root, "methods.yaml"))
        stage = "checkpoint"
        con.execute("CHECKPOINT")
        return {name: len(df) for name, (df, _) in tables.items()}
    except Exception as exc:
        if is_out_of_space(exc):
            raise OutOfSpace(_compute_state(stage), exc) from exc
        raise
    finally:
        with contextlib.suppress(Exception):  # a connection DuckDB invalidated after a failed write
            con.close()


def _set_frame(sets: list) -> pd.DataFrame:
    """The analyst sets as computed (``comparator_sets``): code, names and members."""
    return pd.DataFrame(
        [
            {"code": s.code, "name_nl": s.name_nl, "name_en": s.name_en, "members": ";".join(sorted(s.members))}
            for s in sets
        ],
        columns=["code", "name_nl", "name_en", "members"],
    )


def _compute_state(stage: str) -> tuple[str, str]:
    if stage == "checkpoint":
        return (
            "de nieuwe uitkomsten zijn vastgelegd in het logbestand van het warehouse, dat de volgende schrijvende opdracht verwerkt",
            "the new results were recorded in the warehouse's log file, which the next command that writes merges",
        )
    return (
        "er is niets veranderd, het warehouse bevat de vorige uitkomsten",
        "nothing was changed, the warehouse holds the previous results",
    )
