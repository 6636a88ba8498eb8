"""Composite indicator construction following the JRC/OECD handbook as implemented by COINr 6.

Every step is declared as data in a :class:`CompositeSpec`, which serialises to JSON and is
stored with each :class:`CompositeResult`. The stages are

1. denomination: divide an indicator by a denominator column named in its metadata;
2. imputation: group mean (COINr ``indgroup_mean``), indicator mean (``ind_mean``) or none;
3. outlier treatment: COINr 6 ``treat()`` default (iterative Winsorisation on skewness and
   kurtosis with a log fallback);
4. normalisation: min-max, z-score or rank, after multiplying by the indicator direction;
5. aggregation: weighted arithmetic or geometric mean up the declared hierarchy;
6. ranks: highest score is rank 1, ties get the minimum rank.

:func:`uncertainty` runs a vectorised Monte Carlo over weights, normalisation and aggregation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "AggregateMeta",
    "AggregationSpec",
    "CompositeResult",
    "CompositeSpec",
    "ImputationSpec",
    "IndicatorMeta",
    "NormalisationSpec",
    "TreatmentSpec",
    "UncertaintySpec",
    "aggregate",
    "build_composite",
    "denominate",
    "impute",
    "kurtosis",
    "normalise",
    "rank_scores",
    "simulate_ranks",
    "skewness",
    "spec_from_imeta",
    "treat_outliers",
    "uncertainty",
]

ImputationMethod = Literal["none", "indicator_mean", "group_mean"]
TreatmentMethod = Literal["winsorise", "none"]
FallbackMethod = Literal["ctlog", "log", "none"]
NormalisationMethod = Literal["minmax", "zscore", "rank"]
AggregationMethod = Literal["arith_mean", "geom_mean"]

_IMPUTATION_ALIASES = {
    "none": "none",
    "indicator_mean": "indicator_mean",
    "ind_mean": "indicator_mean",
    "group_mean": "group_mean",
    "indgroup_mean": "group_mean",
}


# --------------------------------------------------------------------------------------------
# Specification
# --------------------------------------------------------------------------------------------


@dataclass
class IndicatorMeta:
    """One indicator: its parent aggregate, direction (+1/-1), weight and optional denominator."""

    code: str
    parent: str
    direction: int = 1
    weight: float = 1.0
    denominator: str | None = None
    name: str | None = None


@dataclass
class AggregateMeta:
    """One aggregate: its level (indicators are level 1), parent (None at the top) and weight."""

    code: str
    level: int
    parent: str | None = None
    weight: float = 1.0
    name: str | None = None


@dataclass
class ImputationSpec:
    """Imputation method; ``group_column`` is required for ``group_mean``."""

    method: ImputationMethod = "none"
    group_column: str | None = None

    def __post_init__(self) -> None:
        if self.method not in _IMPUTATION_ALIASES:
            raise ValueError(f"unknown imputation method {self.method!r}")
        self.method = _IMPUTATION_ALIASES[self.method]  # type: ignore[assignment]
        if self.method == "group_mean" and not self.group_column:
            raise ValueError("group_mean imputation needs group_column")


@dataclass
class TreatmentSpec:
    """COINr 6 ``treat()`` parameters; ``winmax=None`` means ceil(0.1 * number of units)."""

    method: TreatmentMethod = "winsorise"
    t_skew: float = 2.0
    t_kurt: float = 3.5
    winmax: int | None = None
    winchange: bool = True
    fallback: FallbackMethod = "ctlog"

    def __post_init__(self) -> None:
        if self.method not in ("winsorise", "none"):
            raise ValueError(f"unknown treatment method {self.method!r}")
        if self.fallback not in ("ctlog", "log", "none"):
            raise ValueError(f"unknown fallback {self.fallback!r}")


@dataclass
class NormalisationSpec:
    """Min-max onto ``range``, z-score with ``mean``/``sd``, or rank (ties averaged)."""

    method: NormalisationMethod = "minmax"
    range: tuple[float, float] = (0.0, 100.0)
    mean: float = 0.0
    sd: float = 1.0

    def __post_init__(self) -> None:
        if self.method not in ("minmax", "zscore", "rank"):
            raise ValueError(f"unknown normalisation method {self.method!r}")
        self.range = (float(self.range[0]), float(self.range[1]))


@dataclass
class AggregationSpec:
    """Aggregation applied at every level: weighted arithmetic or geometric mean (NaN ignored)."""

    method: AggregationMethod = "arith_mean"

    def __post_init__(self) -> None:
        if self.method not in ("arith_mean", "geom_mean"):
            raise ValueError(f"unknown aggregation method {self.method!r}")


def _default_uncertainty_normalisations() -> list[NormalisationSpec]:
    return [
        NormalisationSpec("minmax", range=(1.0, 100.0)),
        NormalisationSpec("zscore", mean=10.0, sd=1.0),
        NormalisationSpec("rank"),
    ]


@dataclass
class UncertaintySpec:
    """Monte Carlo settings.

    Each run multiplies every weight of the levels in ``perturb_levels`` (None: all levels) by an
    independent U(1 - weight_noise, 1 + weight_noise) factor, and draws one normalisation and one
    aggregation uniformly from the listed alternatives. Rank intervals use ``quantiles``.
    """

    weight_noise: float = 0.25
    perturb_levels: list[int] | None = None
    normalisations: list[NormalisationSpec] = field(default_factory=_default_uncertainty_normalisations)
    aggregations: list[AggregationMethod] = field(default_factory=lambda: ["arith_mean", "geom_mean"])
    quantiles: tuple[float, float] = (0.05, 0.95)

    def __post_init__(self) -> None:
        self.normalisations = [
            n if isinstance(n, NormalisationSpec) else NormalisationSpec(**n) for n in self.normalisations
        ]
        self.aggregations = [AggregationSpec(a).method for a in self.aggregations]
        if not self.normalisations or not self.aggregations:
            raise ValueError("uncertainty needs at least one normalisation and one aggregation")
        if not 0.0 <= self.weight_noise < 1.0:
            raise ValueError("weight_noise must be in [0, 1)")
        self.quantiles = (float(self.quantiles[0]), float(self.quantiles[1]))


@dataclass
class CompositeSpec:
    """The full method of a composite indicator, as data.

    ``unit_column`` names the unit identifier column of the input (None: use the index).
    ``rank_decimals`` rounds scores before ranking (COINr's results tables use 2); None ranks
    the unrounded scores.
    """

    indicators: list[IndicatorMeta]
    aggregates: list[AggregateMeta]
    unit_column: str | None = "uCode"
    denominate: bool = True
    imputation: ImputationSpec = field(default_factory=ImputationSpec)
    treatment: TreatmentSpec = field(default_factory=TreatmentSpec)
    normalisation: NormalisationSpec = field(default_factory=NormalisationSpec)
    aggregation: AggregationSpec = field(default_factory=AggregationSpec)
    rank_decimals: int | None = None
    uncertainty: UncertaintySpec = field(default_factory=UncertaintySpec)

    def __post_init__(self) -> None:
        self.indicators = [i if isinstance(i, IndicatorMeta) else IndicatorMeta(**i) for i in self.indicators]
        self.aggregates = [a if isinstance(a, AggregateMeta) else AggregateMeta(**a) for a in self.aggregates]
        for attr, cls in (
            ("imputation", ImputationSpec),
            ("treatment", TreatmentSpec),
            ("normalisation", NormalisationSpec),
            ("aggregation", AggregationSpec),
            ("uncertainty", UncertaintySpec),
        ):
            value = getattr(self, attr)
            if isinstance(value, dict):
                setattr(self, attr, cls(**value))
        Hierarchy(self)

    @property
    def indicator_codes(self) -> list[str]:
        """Indicator codes in declaration order."""
        return [i.code for i in self.indicators]

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-compatible)."""
        return json.loads(json.dumps(asdict(self)))

    def to_json(self, indent: int | None = 2) -> str:
        """JSON form."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CompositeSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(**d)

    @classmethod
    def from_json(cls, s: str) -> CompositeSpec:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(s))


class Hierarchy:
    """Validated hierarchy: per level, child and parent codes, child weights, membership."""

    def __init__(self, spec: CompositeSpec) -> None:
        ind_codes = [i.code for i in spec.indicators]
        agg_codes = [a.code for a in spec.aggregates]
        all_codes = ind_codes + agg_codes
        if len(set(all_codes)) != len(all_codes):
            raise ValueError("indicator and aggregate codes must be unique")
        if not spec.indicators or not spec.aggregates:
            raise ValueError("spec needs at least one indicator and one aggregate")
        level_of = {a.code: int(a.level) for a in spec.aggregates}
        for i in spec.indicators:
            if i.direction not in (1, -1):
                raise ValueError(f"indicator {i.code}: direction must be +1 or -1")
            if level_of.get(i.parent) != 2:
                raise ValueError(f"indicator {i.code}: parent {i.parent!r} is not a level-2 aggregate")
        for a in spec.aggregates:
            if a.level < 2:
                raise ValueError(f"aggregate {a.code}: level must be >= 2")
            if a.parent is not None and level_of.get(a.parent) != a.level + 1:
                raise ValueError(f"aggregate {a.code}: parent {a.parent!r} is not at level {a.level + 1}")
        self.top_level = max(level_of.values())
        self.levels = list(range(2, self.top_level + 1))
        self.children: list[list[str]] = []
        self.parents: list[list[str]] = []
        self.weights: list[np.ndarray] = []
        self.members: list[np.ndarray] = []
        child_nodes: list[Any] = list(spec.indicators)
        for lev in self.levels:
            parents = [a for a in spec.aggregates if a.level == lev]
            pidx = {p.code: k for k, p in enumerate(parents)}
            m = np.zeros((len(child_nodes), len(parents)))
            for k, c in enumerate(child_nodes):
                m[k, pidx[c.parent]] = 1.0
            empty = [p.code for p, n in zip(parents, m.sum(axis=0)) if n == 0]
            if empty:
                raise ValueError(f"aggregates without children: {empty}")
            self.children.append([c.code for c in child_nodes])
            self.parents.append(list(pidx))
            self.weights.append(np.array([float(c.weight) for c in child_nodes]))
            self.members.append(m)
            child_nodes = parents
        self.roots = [a.code for a in spec.aggregates if a.level == self.top_level]
        orphans = [a.code for a in spec.aggregates if a.parent is None and a.level != self.top_level]
        if orphans:
            raise ValueError(f"aggregates below the top level without parent: {orphans}")


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass
class CompositeResult:
    """Every stage of a composite build, indexed by unit code."""

    spec: CompositeSpec
    denominated: pd.DataFrame
    imputed: pd.DataFrame
    imputed_flags: pd.DataFrame
    treated: pd.DataFrame
    treatment_log: pd.DataFrame
    treatment_flags: pd.DataFrame
    normalised: pd.DataFrame
    aggregated: pd.DataFrame
    scores: pd.DataFrame
    ranks: pd.DataFrame

    @property
    def method(self) -> dict[str, Any]:
        """The spec as a JSON-compatible dict, for storing with the results."""
        return self.spec.to_dict()


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def _central_moments(x: np.ndarray) -> tuple[int, float, float, float]:
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        return 0, math.nan, math.nan, math.nan
    d = x - x.mean()
    d2 = d * d
    return n, float(d2.mean()), float((d2 * d).mean()), float((d2 * d2).mean())


def skewness(x: np.ndarray | Sequence[float]) -> float:
    """Bias-corrected sample skewness G1 (e1071 type 2, used by COINr 6), NaN ignored."""
    n, m2, m3, _ = _central_moments(np.asarray(x, dtype=float))
    if n < 3 or not m2 > 0:
        return math.nan
    return m3 / m2**1.5 * math.sqrt(n * (n - 1)) / (n - 2)


def kurtosis(x: np.ndarray | Sequence[float]) -> float:
    """Bias-corrected sample excess kurtosis G2 (e1071 type 2, used by COINr 6), NaN ignored."""
    n, m2, _, m4 = _central_moments(np.asarray(x, dtype=float))
    if n < 4 or not m2 > 0:
        return math.nan
    g2 = m4 / (m2 * m2) - 3.0
    return ((n + 1) * g2 + 6.0) * (n - 1) / ((n - 2) * (n - 3))


# --------------------------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------------------------


def _indicator_frame(data: pd.DataFrame, spec: CompositeSpec) -> pd.DataFrame:
    codes = spec.indicator_codes
    missing = [c for c in codes if c not in data.columns]
    if missing:
        raise KeyError(f"indicator columns missing from data: {missing}")
    if spec.unit_column is None:
        index = pd.Index(data.index.astype(str), name="unit")
    else:
        index = pd.Index(data[spec.unit_column].astype(str).to_numpy(), name="unit")
    if index.has_duplicates:
        raise ValueError("unit codes must be unique")
    values = data[codes].apply(pd.to_numeric, errors="raise").to_numpy(dtype=float)
    return pd.DataFrame(values, index=index, columns=codes)


def denominate(data: pd.DataFrame, spec: CompositeSpec) -> pd.DataFrame:
    """Indicator values divided by their declared denominator column; /0 gives NaN."""
    out = _indicator_frame(data, spec)
    if not spec.denominate:
        return out
    x = out.to_numpy(copy=True)
    for j, ind in enumerate(spec.indicators):
        if ind.denominator:
            if ind.denominator not in data.columns:
                raise KeyError(f"denominator column {ind.denominator!r} missing from data")
            den = pd.to_numeric(data[ind.denominator]).to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                x[:, j] = x[:, j] / den
    x[~np.isfinite(x)] = np.nan
    return pd.DataFrame(x, index=out.index, columns=out.columns)


def impute(
    values: pd.DataFrame,
    imputation: ImputationSpec,
    groups: pd.Series | np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill missing values; returns (imputed values, boolean flags of imputed cells)."""
    if imputation.method == "none":
        return values.copy(), pd.DataFrame(False, index=values.index, columns=values.columns)
    if imputation.method == "indicator_mean":
        filled = values.fillna(values.mean(axis=0))
    else:
        if groups is None:
            raise ValueError("group_mean imputation needs the group labels")
        g = np.asarray(groups)
        if g.shape[0] != values.shape[0]:
            raise ValueError("group labels must align with the units")
        keys = pd.Series(g, index=values.index)
        filled = values.fillna(values.groupby(keys, sort=False).transform("mean"))
    flags = values.isna() & filled.notna()
    return filled, flags


def _winsorise(
    x: np.ndarray, winmax: int, winchange: bool, t_skew: float, t_kurt: float, code: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """COINr ``coin_win``: returns treated copy, last high/low positions and point count."""
    x = x.copy()
    sk, kt = skewness(x), kurtosis(x)
    if winchange:
        windir = 0
    else:
        windir = 1 if sk > 0 else -1
    winz = 0
    imax = np.array([], dtype=int)
    imin = np.array([], dtype=int)
    while abs(sk) > t_skew and kt > t_kurt and winz < winmax:
        if (sk >= 0 and windir == 0) or windir == 1:
            imax = np.flatnonzero(x == np.nanmax(x))
            rest = np.delete(x, imax)
            x[imax] = np.nanmax(rest)
        else:
            imin = np.flatnonzero(x == np.nanmin(x))
            rest = np.delete(x, imin)
            x[imin] = np.nanmin(rest)
        winz += 1
        if np.unique(x[~np.isnan(x)]).size < 2:
            raise ValueError(f"indicator {code}: Winsorising further would leave fewer than two unique values")
        sk, kt = skewness(x), kurtosis(x)
    return x, imax, imin, winz


def treat_outliers(values: pd.DataFrame, treatment: TreatmentSpec) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """COINr 6 ``treat()`` default: returns (treated values, per-indicator log, per-cell flags).

    Per indicator, while |skew| > t_skew and kurtosis > t_kurt and fewer than winmax points are
    done, the maximum (skew >= 0) or minimum (skew < 0) is replaced by the next value. If the
    thresholds still fail after winmax points, the original column is log-transformed instead
    (``ctlog``: ln(x - min + 0.01 (max - min))). Flags are "No", "WHigh", "WLow", "CTLog",
    "Log" or "Err" (log impossible with non-positive values).
    """
    n_units = values.shape[0]
    winmax = treatment.winmax if treatment.winmax is not None else math.ceil(0.1 * n_units)
    x_all = values.to_numpy(dtype=float)
    out = x_all.copy()
    flags = np.full(x_all.shape, "No", dtype=object)
    rows: list[dict[str, Any]] = []
    for j, code in enumerate(values.columns):
        x0 = x_all[:, j]
        entry: dict[str, Any] = {
            "indicator": code,
            "winsorised": 0,
            "low": 0,
            "high": 0,
            "log": False,
            "treatment": "None",
            "skew_before": skewness(x0),
            "kurt_before": kurtosis(x0),
        }
        x = x0
        if treatment.method == "winsorise":
            xw, imax, imin, winz = _winsorise(
                x0, winmax, treatment.winchange, treatment.t_skew, treatment.t_kurt, str(code)
            )
            skw, ktw = skewness(xw), kurtosis(xw)
            if winz >= winmax and abs(skw) > treatment.t_skew and ktw > treatment.t_kurt:
                x, flag, text = _log_fallback(x0, treatment.fallback)
                flags[:, j] = flag
                entry["log"] = flag in ("CTLog", "Log")
                entry["treatment"] = text
            else:
                x = xw
                flags[imax, j] = "WHigh"
                flags[imin, j] = "WLow"
                entry["winsorised"] = winz
                entry["low"] = int((flags[:, j] == "WLow").sum())
                entry["high"] = int((flags[:, j] == "WHigh").sum())
                entry["treatment"] = f"Winsorised {winz} points" if winz > 0 else "None"
        entry["skew_after"] = skewness(x)
        entry["kurt_after"] = kurtosis(x)
        out[:, j] = x
        rows.append(entry)
    treated = pd.DataFrame(out, index=values.index, columns=values.columns)
    flag_frame = pd.DataFrame(flags, index=values.index, columns=values.columns)
    log = pd.DataFrame(rows).set_index("indicator")
    return treated, log, flag_frame


def _log_fallback(x: np.ndarray, fallback: FallbackMethod) -> tuple[np.ndarray, str, str]:
    if fallback == "ctlog":
        lo, hi = np.nanmin(x), np.nanmax(x)
        return np.log(x - lo + 0.01 * (hi - lo)), "CTLog", "CTLog (exceeded winmax)"
    if fallback == "log":
        if np.nansum(x <= 0) > 0:
            return x.copy(), "Err", "None: exceeded winmax but log error"
        return np.log(x), "Log", "Log (exceeded winmax)"
    return x.copy(), "No", "None: exceeded winmax"


def _normalise_array(x: np.ndarray, norm: NormalisationSpec) -> np.ndarray:
    """Column-wise normalisation of an already direction-adjusted matrix (units x indicators)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if norm.method == "minmax":
            lo, hi = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
            a, b = norm.range
            return (x - lo) / (hi - lo) * (b - a) + a
        if norm.method == "zscore":
            mu = np.nanmean(x, axis=0)
            sd = np.nanstd(x, axis=0, ddof=1)
            return (x - mu) / sd * norm.sd + norm.mean
    out = pd.DataFrame(x).rank(axis=0, method="average", na_option="keep")
    return out.to_numpy(dtype=float)


def normalise(values: pd.DataFrame, directions: Sequence[int] | np.ndarray, norm: NormalisationSpec) -> pd.DataFrame:
    """Multiply by direction, then min-max / z-score / rank per indicator (COINr ``normalise``)."""
    d = np.asarray(directions, dtype=float)
    x = values.to_numpy(dtype=float) * d
    return pd.DataFrame(_normalise_array(x, norm), index=values.index, columns=values.columns)


def aggregate_batch(
    x: np.ndarray, weights: list[np.ndarray], members: list[np.ndarray], method: str
) -> list[np.ndarray]:
    """Aggregate up every level for a batch of weight sets.

    ``x`` is units x indicators; ``weights[l]`` is runs x children of level l; returns, per level,
    an array runs x units x parents. NaN children are dropped with their weights.
    """
    out: list[np.ndarray] = []
    v: np.ndarray = x
    for w, m in zip(weights, members):
        a = w[:, :, None] * m[None, :, :]
        mask = ~np.isnan(v)
        if method == "geom_mean":
            if np.any(v[mask] <= 0):
                raise ValueError("geometric mean needs strictly positive values")
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.where(mask, np.log(np.where(mask, v, 1.0)), 0.0)
        else:
            t = np.where(mask, v, 0.0)
        num = t @ a
        den = mask.astype(float) @ a
        with np.errstate(divide="ignore", invalid="ignore"):
            r = num / den
        r[den == 0] = np.nan
        if method == "geom_mean":
            r = np.exp(r)
        out.append(r)
        v = r
    return out


def aggregate(normalised: pd.DataFrame, spec: CompositeSpec) -> pd.DataFrame:
    """Normalised indicators plus every aggregate column, level by level (COINr ``aggregate``)."""
    h = Hierarchy(spec)
    x = normalised[spec.indicator_codes].to_numpy(dtype=float)
    levels = aggregate_batch(x, [w[None, :] for w in h.weights], h.members, spec.aggregation.method)
    out = normalised[spec.indicator_codes].copy()
    for parents, vals in zip(h.parents, levels):
        for k, code in enumerate(parents):
            out[code] = vals[0, :, k]
    return out


def rank_scores(scores: pd.DataFrame, decimals: int | None = None) -> pd.DataFrame:
    """Descending ranks, ties get the minimum rank; optionally on scores rounded to ``decimals``."""
    s = scores.round(decimals) if decimals is not None else scores
    return s.rank(axis=0, method="min", ascending=False, na_option="keep").astype("Int64")


def build_composite(data: pd.DataFrame, spec: CompositeSpec | dict[str, Any]) -> CompositeResult:
    """Run every stage of the composite on ``data`` (one row per unit)."""
    if isinstance(spec, dict):
        spec = CompositeSpec.from_dict(spec)
    h = Hierarchy(spec)
    den = denominate(data, spec)
    groups = None
    if spec.imputation.method == "group_mean":
        col = spec.imputation.group_column
        if col not in data.columns:
            raise KeyError(f"group column {col!r} missing from data")
        groups = data[col].to_numpy()
    imp, imp_flags = impute(den, spec.imputation, groups)
    treated, tlog, tflags = treat_outliers(imp, spec.treatment)
    directions = [i.direction for i in spec.indicators]
    norm = normalise(treated, directions, spec.normalisation)
    agg = aggregate(norm, spec)
    agg_codes = [c for parents in h.parents for c in parents]
    scores = agg[agg_codes]
    ranks = rank_scores(scores, spec.rank_decimals)
    return CompositeResult(
        spec=spec,
        denominated=den,
        imputed=imp,
        imputed_flags=imp_flags,
        treated=treated,
        treatment_log=tlog,
        treatment_flags=tflags,
        normalised=norm,
        aggregated=agg,
        scores=scores,
        ranks=ranks,
    )


# --------------------------------------------------------------------------------------------
# Uncertainty analysis
# --------------------------------------------------------------------------------------------


def ranks_desc(scores: np.ndarray) -> np.ndarray:
    """Row-wise descending 'min' ranks of a runs x units array; NaN scores get NaN ranks."""
    valid = ~np.isnan(scores)
    s = np.where(valid, scores, -np.inf)
    greater = (s[:, None, :] > s[:, :, None]) & valid[:, None, :]
    ranks = 1.0 + greater.sum(axis=2)
    ranks[~valid] = np.nan
    return ranks


def simulate_ranks(
    data: pd.DataFrame,
    spec: CompositeSpec | dict[str, Any],
    n_runs: int = 1000,
    seed: int | np.random.Generator | None = None,
    target: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monte Carlo ranks of ``target`` (default: the top aggregate).

    Returns (ranks: runs x units, runs: normalisation and aggregation chosen per run).
    Data stages up to treatment are computed once; per run the weights are perturbed and one
    normalisation and aggregation alternative of ``spec.uncertainty`` is applied.
    """
    if isinstance(spec, dict):
        spec = CompositeSpec.from_dict(spec)
    return _simulate(build_composite(data, spec), n_runs, seed, target)


def _simulate(
    base: CompositeResult,
    n_runs: int,
    seed: int | np.random.Generator | None,
    target: str | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    spec = base.spec
    if n_runs < 1:
        raise ValueError("n_runs must be positive")
    u = spec.uncertainty
    h = Hierarchy(spec)
    target = resolve_target(h, target)
    t_level = next(k for k, p in enumerate(h.parents) if target in p)
    t_col = h.parents[t_level].index(target)
    units = base.treated.index
    x = base.treated.to_numpy(dtype=float) * np.array([i.direction for i in spec.indicators])

    rng = np.random.default_rng(seed)
    norm_idx = rng.integers(len(u.normalisations), size=n_runs)
    agg_idx = rng.integers(len(u.aggregations), size=n_runs)
    perturb = set(h.levels if u.perturb_levels is None else u.perturb_levels)
    run_weights: list[np.ndarray] = []
    for lev, w in zip(h.levels, h.weights):
        if lev in perturb and u.weight_noise > 0:
            f = rng.uniform(1.0 - u.weight_noise, 1.0 + u.weight_noise, size=(n_runs, w.size))
        else:
            f = np.ones((n_runs, w.size))
        run_weights.append(w[None, :] * f)

    ranks = np.empty((n_runs, units.size))
    for ni, norm in enumerate(u.normalisations):
        xn = _normalise_array(x, norm)
        for ai, method in enumerate(u.aggregations):
            sel = np.flatnonzero((norm_idx == ni) & (agg_idx == ai))
            if sel.size == 0:
                continue
            levels = aggregate_batch(xn, [w[sel] for w in run_weights[: t_level + 1]], h.members[: t_level + 1], method)
            ranks[sel] = ranks_desc(levels[t_level][:, :, t_col])
    runs = pd.DataFrame(
        {
            "normalisation": [u.normalisations[i].method for i in norm_idx],
            "normalisation_index": norm_idx,
            "aggregation": [u.aggregations[i] for i in agg_idx],
        }
    )
    return pd.DataFrame(ranks, columns=units), runs


def resolve_target(h: Hierarchy, target: str | None) -> str:
    if target is None:
        if len(h.roots) != 1:
            raise ValueError(f"several top aggregates {h.roots}; pass target")
        return h.roots[0]
    if not any(target in p for p in h.parents):
        raise KeyError(f"unknown aggregate {target!r}")
    return target


def uncertainty(
    data: pd.DataFrame,
    spec: CompositeSpec | dict[str, Any],
    n_runs: int = 1000,
    seed: int | np.random.Generator | None = None,
    target: str | None = None,
) -> pd.DataFrame:
    """Rank uncertainty per unit: nominal rank, median rank and the quantile rank interval.

    The nominal rank is that of the deterministic build (unrounded scores, ties 'min'); quantiles
    use linear interpolation (R type 7). Columns: unit, nominal_rank, median_rank, rank_lo,
    rank_hi.
    """
    if isinstance(spec, dict):
        spec = CompositeSpec.from_dict(spec)
    base = build_composite(data, spec)
    target = resolve_target(Hierarchy(spec), target)
    ranks, _ = _simulate(base, n_runs, seed, target)
    nominal = base.scores[target]
    nominal_rank = ranks_desc(nominal.to_numpy(dtype=float)[None, :])[0]
    r = ranks.to_numpy()
    qlo, qhi = spec.uncertainty.quantiles
    with np.errstate(invalid="ignore"):
        med = np.nanmedian(r, axis=0)
        lo = np.nanquantile(r, qlo, axis=0)
        hi = np.nanquantile(r, qhi, axis=0)
    return pd.DataFrame(
        {
            "unit": ranks.columns.to_numpy(),
            "nominal_rank": nominal_rank,
            "median_rank": med,
            "rank_lo": lo,
            "rank_hi": hi,
        }
    )


# --------------------------------------------------------------------------------------------
# COINr metadata
# --------------------------------------------------------------------------------------------


def _opt_str(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or pd.isna(v):
        return None
    s = str(v).strip()
    return s or None


def spec_from_imeta(imeta: pd.DataFrame, **options: Any) -> CompositeSpec:
    """Build a spec from a COINr-style iMeta table.

    Uses the columns Level, iCode, Direction, Weight, Parent, Type ("Indicator"/"Aggregate";
    other rows such as groups and denominators are ignored) and optional Denominator and iName.
    ``options`` are passed to :class:`CompositeSpec` (imputation, treatment, unit_column, ...).
    """
    if "Type" in imeta.columns:
        kind = imeta["Type"].astype(str)
    else:
        kind = pd.Series(
            np.where(pd.to_numeric(imeta["Level"]) == 1, "Indicator", "Aggregate"),
            index=imeta.index,
        )
    indicators: list[IndicatorMeta] = []
    aggregates: list[AggregateMeta] = []
    for (_, row), k in zip(imeta.iterrows(), kind):
        weight = float(row["Weight"]) if _opt_str(row.get("Weight")) is not None else 1.0
        name = _opt_str(row.get("iName"))
        if k == "Indicator":
            direction = row.get("Direction")
            indicators.append(
                IndicatorMeta(
                    code=str(row["iCode"]),
                    parent=str(row["Parent"]),
                    direction=int(float(direction)) if _opt_str(direction) is not None else 1,
                    weight=weight,
                    denominator=_opt_str(row.get("Denominator")),
                    name=name,
                )
            )
        elif k == "Aggregate":
            aggregates.append(
                AggregateMeta(
                    code=str(row["iCode"]),
                    level=int(float(row["Level"])),
                    parent=_opt_str(row.get("Parent")),
                    weight=weight,
                    name=name,
                )
            )
    return CompositeSpec(indicators=indicators, aggregates=aggregates, **options)
