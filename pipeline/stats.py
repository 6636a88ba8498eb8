"""Statistics used by the indicators and comparisons, as small vectorised functions.

Conventions (documented in docs/indicators.md):
- quantiles are linear interpolation (numpy's default, Hyndman–Fan type 7);
- ranks are competition ranks ("1224"): tied organisations share the best rank of their group, and the
  next organisation's rank counts everybody ahead of it; rank 1 is the best value given the direction;
- quartile 1 is the best quartile: higher-is-better values at or above P75, lower-is-better at or below
  P25; values exactly on a boundary go to the better quartile;
- percentile = 100 · (N − rank) / (N − 1): the share of the other organisations that do worse or tie lower;
- robust z = (value − median) / (1.4826 · MAD) with 1.4826 = 1/Φ⁻¹(0.75), undefined when MAD is 0.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

MAD_SCALE = 1.0 / sps.norm.ppf(0.75)   # 1.4826…: makes the MAD consistent with the standard deviation


def weighted_mean_ci(sum_w, sum_w2, sum_wx, sum_wx2, n, confidence: float = 0.95):
    """Weighted mean, standard error, CI and Kish effective n from the sums of weights and values.

    Variance: the weighted population variance times n_eff / (n_eff − 1); SE = s / √n_eff;
    the interval uses Student's t with n_eff − 1 degrees of freedom. With unit weights this is the
    ordinary t-interval.
    """
    sum_w, sum_w2, sum_wx, sum_wx2, n = (np.asarray(a, dtype="float64") for a in (sum_w, sum_w2, sum_wx, sum_wx2, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = sum_wx / sum_w
        n_eff = sum_w**2 / sum_w2
        var_pop = np.maximum(sum_wx2 / sum_w - mean**2, 0.0)
        s2 = var_pop * n_eff / (n_eff - 1.0)
        se = np.sqrt(s2 / n_eff)
        t = sps.t.ppf(0.5 + confidence / 2, np.maximum(n_eff - 1.0, 1.0))
        lo, hi = mean - t * se, mean + t * se
    bad = ~(n_eff > 1.0)
    for arr in (se, lo, hi):
        arr[bad] = np.nan
    return mean, se, lo, hi, n_eff


def wilson_ci(successes, n, confidence: float = 0.95):
    """Wilson score interval for a proportion (``successes`` may be weighted; ``n`` an effective n)."""
    successes = np.asarray(successes, dtype="float64")
    n = np.asarray(n, dtype="float64")
    z = sps.norm.ppf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = successes / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        se = np.sqrt(p * (1 - p) / n)
    lo, hi = centre - half, centre + half
    bad = ~(n > 0)
    lo[bad] = hi[bad] = se[bad] = np.nan
    return p, se, lo, hi


def competition_rank(values, direction: str) -> np.ndarray:
    """Rank 1 = best; ties share the best rank of their group. NaN values get NaN."""
    v = np.asarray(values, dtype="float64")
    out = np.full(v.shape, np.nan)
    ok = ~np.isnan(v)
    key = -v[ok] if direction == "higher" else v[ok]
    out[ok] = sps.rankdata(key, method="min")
    return out


def quartile_of(values, p25: float, p75: float, median: float, direction: str) -> np.ndarray:
    v = np.asarray(values, dtype="float64")
    if direction == "higher":
        q = np.where(v >= p75, 1, np.where(v >= median, 2, np.where(v >= p25, 3, 4)))
    else:
        q = np.where(v <= p25, 1, np.where(v <= median, 2, np.where(v <= p75, 3, 4)))
    return np.where(np.isnan(v), np.nan, q).astype("float64")


def robust_z(values, reference=None) -> np.ndarray:
    v = np.asarray(values, dtype="float64")
    ref = v if reference is None else np.asarray(reference, dtype="float64")
    ref = ref[~np.isnan(ref)]
    if ref.size == 0:
        return np.full(v.shape, np.nan)
    med = np.median(ref)
    mad = MAD_SCALE * np.median(np.abs(ref - med))
    if mad == 0:
        return np.full(v.shape, np.nan)
    return (v - med) / mad


def bh_adjust(p_values) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (NaN entries are left out and stay NaN)."""
    p = np.asarray(p_values, dtype="float64")
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv)
    ranked = pv[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def trend(years, values) -> tuple[float, float, int]:
    """OLS slope per year, its two-sided p-value (t-test, n − 2 degrees of freedom) and the number of points."""
    x = np.asarray(years, dtype="float64")
    y = np.asarray(values, dtype="float64")
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    n = len(x)
    if n < 2:
        return np.nan, np.nan, n
    xm, ym = x - x.mean(), y - y.mean()
    sxx = float(xm @ xm)
    if sxx == 0:
        return np.nan, np.nan, n
    slope = float(xm @ ym) / sxx
    if n <= 2:
        return slope, np.nan, n
    resid = ym - slope * xm
    s2 = float(resid @ resid) / (n - 2)
    se = np.sqrt(s2 / sxx)
    if se == 0:
        return slope, 0.0 if slope != 0 else 1.0, n
    p = float(2 * sps.t.sf(abs(slope / se), n - 2))
    return slope, p, n
