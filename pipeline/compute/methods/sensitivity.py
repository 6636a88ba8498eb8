"""Uncertainty, sensitivity and redundancy analysis of the composite index.

Three questions an expert reviewer asks of a composite index, answered as data:

1. **How uncertain is each member's rank?** :func:`rank_uncertainty` draws every uncertain choice of the
   method at once (weights, normalisation, aggregation, imputation) *and* the indicators' own sampling
   error (a value is redrawn from N(value, se²), se from its confidence interval) and reports rank intervals.
2. **Which choice drives a member's rank?** :func:`composite_sensitivity` computes variance-based
   (Sobol) sensitivity indices of each member's rank with respect to each uncertain choice, as COINr's
   ``get_sensitivity`` does: the first-order index S_i (the share of the rank's variance that choice i
   explains alone) and the total index S_Ti (its share including all interactions). Estimators: Saltelli et
   al. (2010) for S_i, Jansen (1999) for S_Ti, on a Saltelli A/B/AB design with grouped factors.
   :func:`sobol_indices` is the generic estimator; it is checked on the Ishigami function, whose indices
   are known in closed form, before it is used on ranks.
3. **Are indicators redundant or contradicting?** :func:`indicator_correlations` (Pearson and Spearman,
   within and across themes) and :func:`cronbach_alpha` per theme.

References: Saltelli, A. et al. (2010), "Variance based sensitivity analysis of model output. Design and
estimator for the total sensitivity index", Computer Physics Communications 181(2); Jansen, M.J.W. (1999),
"Analysis of variance designs for model output", Computer Physics Communications 117; Ishigami, T. & Homma,
T. (1990); Saisana, M., Saltelli, A. & Tarantola, S. (2005), "Uncertainty and sensitivity analysis
techniques as tools for the quality assessment of composite indicators", JRSS A 168(2); Becker, W. (2022),
COINr; Cronbach, L.J. (1951), "Coefficient alpha and the internal structure of tests", Psychometrika 16.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from pipeline.compute.methods.composite import CompositeResult, Hierarchy, aggregate_batch, ranks_desc, resolve_target

# ------------------------------------------------------------------------------------------ Sobol


@dataclass(frozen=True)
class SobolResult:
    """First-order and total indices per factor (rows) and model output (columns)."""

    factors: list[str]
    first_order: np.ndarray  # factors x outputs
    total: np.ndarray  # factors x outputs
    variance: np.ndarray  # outputs
    n_base: int

    def frame(self, outputs: Sequence[str] | None = None) -> pd.DataFrame:
        k, m = self.first_order.shape
        names = list(outputs) if outputs is not None else [str(j) for j in range(m)]
        return pd.DataFrame(
            {
                "output": np.repeat(names, k),
                "factor": np.tile(self.factors, m),
                "first_order": self.first_order.T.ravel(),
                "total": self.total.T.ravel(),
            }
        )


def sobol_indices(
    model: Callable[[np.ndarray], np.ndarray], groups: Sequence[tuple[str, int]], n: int, seed: int | None = None
) -> SobolResult:
    """Sobol indices of ``model`` with respect to groups of independent U(0, 1) inputs.

    ``groups`` lists (name, dimension): the model's input columns in that order, a group being one
    uncertain choice (a weight vector, say) whose columns move together. ``model`` maps an (N, D) array of
    inputs in [0, 1) to an (N,) or (N, M) array of outputs. Cost: n · (k + 2) model runs for k groups.
    """
    names = [g for g, _ in groups]
    dims = [int(d) for _, d in groups]
    if n < 2 or any(d < 1 for d in dims):
        raise ValueError("need n >= 2 and a positive dimension per group")
    d_total = sum(dims)
    rng = np.random.default_rng(seed)
    a = rng.random((n, d_total))
    b = rng.random((n, d_total))
    starts = np.cumsum([0, *dims])
    blocks = [a, b]
    for i in range(len(dims)):
        ab = a.copy()
        ab[:, starts[i] : starts[i + 1]] = b[:, starts[i] : starts[i + 1]]
        blocks.append(ab)
    y = np.asarray(model(np.vstack(blocks)), dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    # centred on the mean of the A and B runs: the estimators are unbiased either way, but a large mean
    # (ranks run from 1 to N) would otherwise dominate their Monte Carlo error
    y = y - np.mean(y[: 2 * n], axis=0, keepdims=True)
    ya, yb = y[:n], y[n : 2 * n]
    var = np.var(np.vstack([ya, yb]), axis=0, ddof=1)
    s1 = np.empty((len(dims), y.shape[1]))
    st = np.empty_like(s1)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(len(dims)):
            yab = y[(2 + i) * n : (3 + i) * n]
            s1[i] = np.mean(yb * (yab - ya), axis=0) / var  # Saltelli et al. (2010), table 2 (b)
            st[i] = 0.5 * np.mean((ya - yab) ** 2, axis=0) / var  # Jansen (1999), table 2 (f)
    s1[:, var == 0] = np.nan
    st[:, var == 0] = np.nan
    return SobolResult(factors=names, first_order=s1, total=st, variance=var, n_base=n)


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """The Ishigami test function on inputs in [0, 1)³ mapped to [−π, π)³."""
    z = (np.asarray(x, dtype=float) * 2.0 - 1.0) * np.pi
    return np.sin(z[:, 0]) + a * np.sin(z[:, 1]) ** 2 + b * z[:, 2] ** 4 * np.sin(z[:, 0])


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """The Ishigami function's first-order and total indices in closed form (Homma & Saltelli 1996)."""
    pi = np.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


# ------------------------------------------------------------------------------------------ the composite as a model


UNCERTAIN_CHOICES = ("weights", "normalisation", "aggregation", "imputation", "indicator_error")


class _CompositeModel:
    """Ranks of the target aggregate as a function of uniform inputs, one group per uncertain choice.

    - weights: one U(0,1) per weight of every level, mapped to a factor U(1 − noise, 1 + noise);
    - normalisation / aggregation: one U(0,1) each, mapped to one of the method's listed alternatives;
    - imputation: one U(0,1), below 1/2 the imputed values are kept, else they are left out (the
      aggregation then averages over the indicators a member has);
    - indicator_error: one U(0,1) per unit and indicator, mapped to a standard normal z; the treated value
      becomes value + z · se (se from the value's confidence interval; 0 where it has none). Winsorised
      values are clipped to the treated range; log-transformed indicators carry no error term.
    """

    def __init__(
        self,
        base: CompositeResult,
        se: pd.DataFrame | None,
        target: str | None,
        choices: Sequence[str] = UNCERTAIN_CHOICES,
        imputed: pd.DataFrame | None = None,
    ) -> None:
        spec = base.spec
        self.spec = spec
        self.h = Hierarchy(spec)
        self.target = resolve_target(self.h, target)
        self.t_level = next(k for k, p in enumerate(self.h.parents) if self.target in p)
        self.t_col = self.h.parents[self.t_level].index(self.target)
        self.units = base.treated.index
        codes = spec.indicator_codes
        self.direction = np.array([i.direction for i in spec.indicators], dtype=float)
        self.x = base.treated[codes].to_numpy(dtype=float)
        flags = base.imputed_flags[codes] if imputed is None else imputed.reindex(index=self.units, columns=codes)
        self.imputed = flags.fillna(False).to_numpy(dtype=bool)
        logged = (
            base.treatment_log["log"].reindex(codes).fillna(False).to_numpy(dtype=bool)
            if "log" in base.treatment_log.columns
            else np.zeros(len(codes), dtype=bool)
        )
        self.lo = np.nanmin(self.x, axis=0)
        self.hi = np.nanmax(self.x, axis=0)
        if se is None:
            self.se = np.zeros_like(self.x)
        else:
            self.se = se.reindex(index=self.units, columns=codes).to_numpy(dtype=float)
            self.se = np.where(np.isfinite(self.se) & (self.se > 0), self.se, 0.0)
        self.se[:, logged] = 0.0
        self.se[self.imputed] = 0.0
        u = spec.uncertainty
        self.noise = u.weight_noise
        self.norms = u.normalisations
        self.aggs = u.aggregations
        self.n_weights = [w.size for w in self.h.weights]
        has = {
            "weights": self.noise > 0,
            "normalisation": len(self.norms) > 1,
            "aggregation": len(self.aggs) > 1,
            "imputation": bool(self.imputed.any()),
            "indicator_error": bool((self.se > 0).any()),
        }
        self.choices = [c for c in choices if has[c]]
        dims = {
            "weights": sum(self.n_weights),
            "normalisation": 1,
            "aggregation": 1,
            "imputation": 1,
            "indicator_error": int(self.x.size),
        }
        self.groups = [(c, dims[c]) for c in self.choices]

    def __call__(self, u: np.ndarray) -> np.ndarray:
        r = u.shape[0]
        col = 0
        parts: dict[str, np.ndarray] = {}
        for name, d in self.groups:
            parts[name] = u[:, col : col + d]
            col += d
        weights = [np.broadcast_to(w, (r, w.size)).copy() for w in self.h.weights]
        if "weights" in parts:
            f = 1.0 - self.noise + 2.0 * self.noise * parts["weights"]
            k = 0
            for w in weights:
                w *= f[:, k : k + w.shape[1]]
                k += w.shape[1]
        norm_idx = (
            np.minimum((parts["normalisation"][:, 0] * len(self.norms)).astype(int), len(self.norms) - 1)
            if "normalisation" in parts
            else np.zeros(r, dtype=int)
        )
        agg_idx = (
            np.minimum((parts["aggregation"][:, 0] * len(self.aggs)).astype(int), len(self.aggs) - 1)
            if "aggregation" in parts
            else np.zeros(r, dtype=int)
        )
        x = np.broadcast_to(self.x, (r, *self.x.shape)).copy()
        if "indicator_error" in parts:
            z = stats.norm.ppf(np.clip(parts["indicator_error"], 1e-12, 1 - 1e-12)).reshape(r, *self.x.shape)
            x = np.clip(x + z * self.se[None], self.lo[None, None, :], self.hi[None, None, :])
        if "imputation" in parts:
            drop = parts["imputation"][:, 0] >= 0.5
            x[drop] = np.where(self.imputed[None], np.nan, x[drop])
        x *= self.direction[None, None, :]
        ranks = np.full((r, self.units.size), np.nan)
        for ni, norm in enumerate(self.norms):
            xn_all = None
            for ai, method in enumerate(self.aggs):
                sel = np.flatnonzero((norm_idx == ni) & (agg_idx == ai))
                if sel.size == 0:
                    continue
                if xn_all is None:
                    xn_all = _normalise_runs(x, norm)
                levels = aggregate_batch(
                    xn_all[sel],
                    [w[sel] for w in weights[: self.t_level + 1]],
                    self.h.members[: self.t_level + 1],
                    method,
                )
                ranks[sel] = ranks_desc(levels[self.t_level][:, :, self.t_col])
        return ranks


def _normalise_runs(x: np.ndarray, norm) -> np.ndarray:
    """Per run (axis 0) and indicator (axis 2) normalisation over the units (axis 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if norm.method == "minmax":
            lo, hi = np.nanmin(x, axis=1, keepdims=True), np.nanmax(x, axis=1, keepdims=True)
            a, b = norm.range
            return (x - lo) / (hi - lo) * (b - a) + a
        if norm.method == "zscore":
            mu = np.nanmean(x, axis=1, keepdims=True)
            sd = np.nanstd(x, axis=1, ddof=1, keepdims=True)
            return (x - mu) / sd * norm.sd + norm.mean
    out = stats.rankdata(x, axis=1, method="average", nan_policy="omit")
    return np.where(np.isnan(x), np.nan, out)


def rank_uncertainty(
    base: CompositeResult,
    se: pd.DataFrame | None = None,
    n_runs: int = 1000,
    seed: int | None = None,
    target: str | None = None,
    imputed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rank intervals from every uncertain choice at once, the indicators' sampling error included.

    ``imputed`` marks the cells that were imputed before the build (default: the build's own imputation
    flags). Columns: unit, nominal_rank, median_rank, rank_lo, rank_hi (quantiles of ``spec.uncertainty``)."""
    model = _CompositeModel(base, se, target, imputed=imputed)
    rng = np.random.default_rng(seed)
    d = sum(dim for _, dim in model.groups)
    ranks = model(rng.random((n_runs, d))) if d else np.empty((0, model.units.size))
    nominal = ranks_desc(base.scores[model.target].to_numpy(dtype=float)[None, :])[0]
    qlo, qhi = base.spec.uncertainty.quantiles
    with np.errstate(invalid="ignore"):
        return pd.DataFrame(
            {
                "unit": model.units.to_numpy(),
                "nominal_rank": nominal,
                "median_rank": np.nanmedian(ranks, axis=0) if len(ranks) else nominal,
                "rank_lo": np.nanquantile(ranks, qlo, axis=0) if len(ranks) else nominal,
                "rank_hi": np.nanquantile(ranks, qhi, axis=0) if len(ranks) else nominal,
            }
        )


def composite_sensitivity(
    base: CompositeResult,
    se: pd.DataFrame | None = None,
    n: int = 256,
    seed: int | None = None,
    target: str | None = None,
    imputed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """First-order and total Sobol indices of every unit's rank for every uncertain choice.

    Columns: unit, factor, first_order, total, rank_variance. Indices are NaN for a unit whose rank never
    moves (variance 0). Estimates carry Monte Carlo error of roughly ±1/√n; small negative first-order
    estimates are reported as they come out (they mean "about 0")."""
    model = _CompositeModel(base, se, target, imputed=imputed)
    if not model.groups:
        return pd.DataFrame(columns=["unit", "factor", "first_order", "total", "rank_variance"])
    res = sobol_indices(model, model.groups, n, seed)
    out = res.frame(list(model.units)).rename(columns={"output": "unit"})
    out["rank_variance"] = np.repeat(res.variance, len(res.factors))
    return out


# ------------------------------------------------------------------------------------------ redundancy


def indicator_correlations(
    values: pd.DataFrame,
    themes: dict[str, str],
    directions: dict[str, int] | None = None,
    redundant: float = 0.9,
    min_pairs: int = 5,
) -> pd.DataFrame:
    """Pearson and Spearman correlation of every pair of indicators over the units that have both.

    ``values`` is units x indicators. With ``directions`` (+1 higher is better, −1 lower is better) the
    correlations are of direction-aligned values, so a negative correlation within a theme means the two
    indicators contradict each other. Flags: ``redundant`` (|Pearson| > ``redundant``), ``contradicting``
    (same theme, aligned Pearson < −0.3 and significant at 5 %)."""
    codes = list(values.columns)
    x = values.to_numpy(dtype=float)
    if directions:
        x = x * np.array([directions.get(c, 1) for c in codes], dtype=float)
    rows = []
    for i in range(len(codes)):
        for j in range(i + 1, len(codes)):
            ok = ~np.isnan(x[:, i]) & ~np.isnan(x[:, j])
            n = int(ok.sum())
            rec = {
                "indicator_a": codes[i],
                "indicator_b": codes[j],
                "theme_a": themes.get(codes[i]),
                "theme_b": themes.get(codes[j]),
                "n": n,
                "pearson": np.nan,
                "pearson_p": np.nan,
                "spearman": np.nan,
                "spearman_p": np.nan,
            }
            a, b = x[ok, i], x[ok, j]
            if n >= min_pairs and np.ptp(a) > 0 and np.ptp(b) > 0:
                pr = stats.pearsonr(a, b)
                sr = stats.spearmanr(a, b)
                rec.update(
                    pearson=float(pr.statistic),
                    pearson_p=float(pr.pvalue),
                    spearman=float(sr.statistic),
                    spearman_p=float(sr.pvalue),
                )
            rec["same_theme"] = rec["theme_a"] == rec["theme_b"]
            rec["redundant"] = bool(np.isfinite(rec["pearson"]) and abs(rec["pearson"]) > redundant)
            rec["contradicting"] = bool(
                rec["same_theme"] and np.isfinite(rec["pearson"]) and rec["pearson"] < -0.3 and rec["pearson_p"] < 0.05
            )
            rows.append(rec)
    return pd.DataFrame(
        rows,
        columns=[
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
    )


def cronbach_alpha(items: pd.DataFrame | np.ndarray) -> tuple[float, int, int]:
    """Cronbach's alpha of the columns (items) over the rows with every item present.

    α = k/(k−1) · (1 − Σ var(item) / var(Σ items)), sample variances. Returns (alpha, k, n); alpha is NaN
    with fewer than 2 items or 3 complete rows."""
    x = np.asarray(items, dtype=float)
    x = x[~np.isnan(x).any(axis=1)]
    n, k = x.shape
    if k < 2 or n < 3:
        return float("nan"), k, n
    item_var = x.var(axis=0, ddof=1).sum()
    total_var = x.sum(axis=1).var(ddof=1)
    if total_var == 0:
        return float("nan"), k, n
    return float(k / (k - 1) * (1 - item_var / total_var)), k, n
