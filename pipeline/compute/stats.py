"""Statistics used by the indicators and comparisons, as small vectorised functions.

Conventions (documented in docs/indicators.md):
- quantiles are linear interpolation (numpy's default, Hyndman–Fan type 7);
- ranks are competition ranks ("1224"): tied organisations share the best rank of their group, and the
  next organisation's rank counts everybody ahead of it; rank 1 is the best value given the direction;
- quartile classes come from mid-rank positions u = (r̄ − 0.5)/n (average ranks r̄ for ties):
  class ⌈4u⌉, 1 = best, so tied organisations share a class and the classes stay balanced;
- percentile = 100 · (N − rank) / (N − 1): the share of the other organisations that do worse or tie lower;
- robust z = (value − median) / (1.4826 · MAD) with 1.4826 = 1/Φ⁻¹(0.75); when the MAD is 0 the scale is
  1.253314 · mean absolute deviation (Iglewicz & Hoaglin 1993); undefined only when both are 0;
- survey variances are design-based (Taylor linearisation of the weighted mean); see docs/methods-comparisons.md.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

MAD_SCALE = 1.0 / sps.norm.ppf(0.75)  # 1.4826…: makes the MAD consistent with the standard deviation


def kish_n_eff(sum_w, sum_w2) -> np.ndarray:
    """Kish's effective sample size (Σw)² / Σw²: the sample-size statement for weighted survey figures."""
    sum_w, sum_w2 = (np.asarray(a, dtype="float64") for a in (sum_w, sum_w2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sum_w2 > 0, sum_w**2 / sum_w2, np.nan)


def taylor_variance(sum_w, sum_wy, sum_w2, sum_w2y, sum_w2y2, n) -> np.ndarray:
    """Linearised (Taylor) variance of the ratio estimator ȳ_w = Σwy / Σw from per-group sums.

    v(ȳ_w) = n/(n − 1) · Σ w_i² (y_i − ȳ_w)² / (Σw)², with the sum expanded as
    Σw²y² − 2ȳ_w·Σw²y + ȳ_w²·Σw². This is the with-replacement design-based variance of a weighted
    mean (Woodruff 1971; Särndal, Swensson & Wretman 1992, §5.6); for a share y ∈ {0, 1} and Σw²y² = Σw²y.
    NaN for n < 2.
    """
    sum_w, sum_wy, sum_w2, sum_w2y, sum_w2y2, n = (
        np.asarray(a, dtype="float64") for a in (sum_w, sum_wy, sum_w2, sum_w2y, sum_w2y2, n)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = sum_wy / sum_w
        ss = np.maximum(sum_w2y2 - 2.0 * mean * sum_w2y + mean**2 * sum_w2, 0.0)
        v = n / (n - 1.0) * ss / sum_w**2
    return np.where((n >= 2) & (sum_w > 0), v, np.nan)


def weighted_mean_ci(sum_w, sum_wy, sum_w2, sum_w2y, sum_w2y2, n, confidence: float = 0.95):
    """Weighted mean with its design-based (Taylor) standard error and t-interval.

    Returns mean, se, ci_low, ci_high, n_eff (Kish) and df = n_eff − 1, the degrees of freedom of the
    interval (Student's t). With unit weights this is the ordinary t-interval.
    """
    mean = np.asarray(sum_wy, dtype="float64") / np.asarray(sum_w, dtype="float64")
    n_eff = kish_n_eff(sum_w, sum_w2)
    se = np.sqrt(taylor_variance(sum_w, sum_wy, sum_w2, sum_w2y, sum_w2y2, n))
    df = n_eff - 1.0
    with np.errstate(invalid="ignore"):
        t = sps.t.ppf(0.5 + confidence / 2, np.where(df >= 1.0, df, np.nan))
    lo, hi = mean - t * se, mean + t * se
    bad = ~(n_eff > 1.0) | np.isnan(se)
    se, lo, hi, df = (np.where(bad, np.nan, a) for a in (se, lo, hi, df))
    return mean, se, lo, hi, n_eff, df


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


def design_share_ci(sum_w, sum_wy, sum_w2, sum_w2y, n, confidence: float = 0.95):
    """Weighted share with its Taylor standard error and a Wilson interval on the design-adjusted n.

    n* = p(1 − p) / v̂ (v̂ the Taylor variance): the sample size at which simple random sampling would give
    the design's variance (Kish's design effect applied to the share itself). When p is 0 or 1 the Taylor
    variance is 0 and n* is undefined; Kish's n_eff is used instead. Returns p, se, ci_low, ci_high, n_eff
    (Kish) and n* (the n of the Wilson interval).
    """
    sum_w = np.asarray(sum_w, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.asarray(sum_wy, dtype="float64") / sum_w
    v = taylor_variance(sum_w, sum_wy, sum_w2, sum_w2y, sum_w2y, n)
    n_eff = kish_n_eff(sum_w, sum_w2)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_star = np.where(v > 0, p * (1.0 - p) / v, n_eff)
    _, _, lo, hi = wilson_ci(p * n_star, n_star, confidence)
    return p, np.sqrt(v), lo, hi, n_eff, n_star


def compare_t(value, se, benchmark, benchmark_se, df) -> np.ndarray:
    """Two-sided p-value of value − benchmark with SE √(se² + benchmark_se²) against Student's t(df).

    With benchmark_se = 0 this is the exact dual of the t-interval value ± t(df)·se: p < α exactly when the
    benchmark lies outside the (1 − α) interval.
    """
    value, se, benchmark, benchmark_se, df = (
        np.asarray(a, dtype="float64") for a in (value, se, benchmark, benchmark_se, df)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (value - benchmark) / np.sqrt(se**2 + benchmark_se**2)
        return 2.0 * sps.t.sf(np.abs(t), np.where(df >= 1.0, df, np.nan))


def compare_score(p_hat, n_star, p0, p0_se) -> np.ndarray:
    """Two-sided score test of a share against a benchmark share p0 (fractions, not percentages).

    z = (p̂ − p0) / √(p0(1 − p0)/n* + p0_se²): the null variance at p0, as in the Wilson interval, plus the
    benchmark's own variance. With p0_se = 0, p < α exactly when p0 lies outside the Wilson interval on n*.
    """
    p_hat, n_star, p0, p0_se = (np.asarray(a, dtype="float64") for a in (p_hat, n_star, p0, p0_se))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p_hat - p0) / np.sqrt(p0 * (1.0 - p0) / n_star + p0_se**2)
        return 2.0 * sps.norm.sf(np.abs(z))


def bootstrap_median_se(values, reps: int, rng: np.random.Generator) -> float:
    """Bootstrap standard error of the median of ``values`` (resampling the values with replacement)."""
    x = np.asarray(values, dtype="float64")
    x = x[~np.isnan(x)]
    if x.size < 2:
        return np.nan
    idx = rng.integers(0, x.size, size=(reps, x.size))
    return float(np.std(sample_medians(x[idx]), ddof=1))


def sample_medians(samples: np.ndarray) -> np.ndarray:
    """The median of each row of ``samples`` (no NaN): what ``np.median(samples, axis=1)`` gives, bit for bit
    (the middle value, or the mean of the two middle values), from one sort of the rows, which for the small
    rows of a bootstrap is several times faster than numpy's partition per row."""
    ordered = np.sort(samples, axis=1)
    n = ordered.shape[1]
    if n % 2:
        return ordered[:, n // 2].copy()
    return (ordered[:, n // 2 - 1] + ordered[:, n // 2]) / 2.0


def competition_rank(values, direction: str) -> np.ndarray:
    """Rank 1 = best; ties share the best rank of their group. NaN values get NaN."""
    v = np.asarray(values, dtype="float64")
    out = np.full(v.shape, np.nan)
    ok = ~np.isnan(v)
    key = -v[ok] if direction == "higher" else v[ok]
    out[ok] = sps.rankdata(key, method="min")
    return out


def _ranking(values, direction: str) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """(NaN array to fill, mask of the present values, their count, sort key with 'best' lowest)."""
    v = np.asarray(values, dtype="float64")
    ok = ~np.isnan(v)
    return np.full(v.shape, np.nan), ok, int(ok.sum()), (-v[ok] if direction == "higher" else v[ok])


def midrank_position(values, direction: str) -> np.ndarray:
    """Mid-rank position u = (r̄ − 0.5) / n in (0, 1), 0 = best; r̄ is the average rank (1 = best) so
    tied values share one position. NaN values get NaN and are not counted in n."""
    out, ok, n, key = _ranking(values, direction)
    if n:
        out[ok] = (sps.rankdata(key, method="average") - 0.5) / n
    return out


def quartile_class(values, direction: str) -> np.ndarray:
    """Quartile class 1 (best) … 4 from the mid-rank position: class = ⌈4u⌉ with u = (r̄ − 0.5)/n.

    Tied values share a class; without ties each class holds n/4 members (rounded, a boundary position
    going to the better class). Computed in integers (4r̄ − 2 is whole), so no floating-point edge.
    """
    out, ok, n, key = _ranking(values, direction)
    if n:
        k = np.rint(4.0 * sps.rankdata(key, method="average") - 2.0).astype(np.int64)
        out[ok] = np.clip(-(-k // n), 1, 4)
    return out


def quartile_of(values, p25: float, p75: float, median: float, direction: str) -> np.ndarray:
    """Threshold quartiles against P25/median/P75 (kept for reference; classes use :func:`quartile_class`)."""
    v = np.asarray(values, dtype="float64")
    if direction == "higher":
        q = np.where(v >= p75, 1, np.where(v >= median, 2, np.where(v >= p25, 3, 4)))
    else:
        q = np.where(v <= p25, 1, np.where(v <= median, 2, np.where(v <= p75, 3, 4)))
    return np.where(np.isnan(v), np.nan, q).astype("float64")


MEANAD_SCALE = 1.253314  # √(π/2): makes the mean absolute deviation consistent with the standard deviation


def robust_z_scale(reference) -> tuple[float, float, str | None]:
    """Centre and scale of the robust z: (median, scale, method).

    Scale = 1.4826 · MAD; when the MAD is 0 (more than half the values tied, e.g. at a ceiling of 100%)
    1.253314 · mean absolute deviation from the median (Iglewicz & Hoaglin 1993); when both are 0 the
    scale is NaN and the method None.
    """
    ref = np.asarray(reference, dtype="float64")
    ref = ref[~np.isnan(ref)]
    if ref.size == 0:
        return np.nan, np.nan, None
    med = float(np.median(ref))
    dev = np.abs(ref - med)
    mad = float(np.median(dev))
    if mad > 0:
        return med, MAD_SCALE * mad, "mad"
    meanad = float(np.mean(dev))
    if meanad > 0:
        return med, MEANAD_SCALE * meanad, "meanad"
    return med, np.nan, None


def robust_z(values, reference=None) -> np.ndarray:
    v = np.asarray(values, dtype="float64")
    med, scale, _ = robust_z_scale(v if reference is None else reference)
    if np.isnan(scale):
        return np.full(v.shape, np.nan)
    return (v - med) / scale


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


def bh_reject(p_values, alpha: float) -> np.ndarray:
    """Benjamini–Hochberg step-up decisions: reject H_(1) … H_(k) for the largest k with p_(k) ≤ k·α/m.

    Returns a float array: 1.0 rejected, 0.0 not rejected, NaN where the p-value is NaN (left out of m).
    """
    p = np.asarray(p_values, dtype="float64")
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    below = pv[order] <= np.arange(1, m + 1) / m * alpha
    k = int(np.nonzero(below)[0].max()) + 1 if below.any() else 0
    res = np.zeros(m)
    res[order[:k]] = 1.0
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
