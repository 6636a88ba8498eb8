"""Follow-up of registered pilots: did the pilot organisation improve against comparable organisations?

:func:`follow_up` builds, per registered pilot, a panel of the pilot organisation and its controls (same
cluster, else all members) before and after the start, and :func:`pilot_effect` estimates the effect on it:

* :func:`did_estimate` - two-way fixed effects difference in differences (TWFE) with an HC1 standard error,
  and the pooled 2x2 estimate;
* :func:`randomisation_inference` - Fisher randomisation (placebo-in-space) p, the confidence set by test
  inversion and the event study with a placebo p per year;
* :func:`wild_cluster_bootstrap` - restricted wild-cluster bootstrap p, only with enough treated units.

Each pilot gets a verdict (:data:`VERDICTS`) with its explanation in Dutch and English (docs/pilots.md).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pipeline.pilots.config import default_config
from pipeline.pilots.selection import PilotData, catalogue_map, org_label, org_map
from pipeline.pilots.values import as_float, as_text, format_difference
from pipeline.report.render import fmt_number

TOO_LITTLE_NL = "Te weinig gegevens om een effect vast te stellen"
TOO_LITTLE_EN = "Too little data to tell"


# Rules of the follow-up inference (docs/pilots.md, section 5).
WILD_MIN_CLUSTERS = 12  # the wild-cluster bootstrap needs at least this many organisations ...
WILD_MIN_TREATED = 2  # ... of which at least this many are pilot organisations
WILD_REPS = 999
MAX_ASSIGNMENTS = 5000  # with several pilot organisations: enumerate at most this many assignments


@dataclass
class _Panel:
    """A follow-up panel as arrays: observations with unit and year indices, the true assignment."""

    y: np.ndarray
    unit: np.ndarray  # unit index per observation
    year: np.ndarray  # calendar year per observation
    post: np.ndarray  # year >= start, as float
    units: list[Any]  # unit labels by index
    treated_units: tuple[int, ...]
    fe: np.ndarray  # intercept, unit and year dummies (first of each dropped)
    start_year: int
    basis: np.ndarray = field(init=False)  # orthonormal basis of the columns of fe

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
    fe = np.column_stack(
        [np.ones(n)]
        + [(codes == j).astype(float) for j in range(1, len(units))]
        + [(ycodes == t).astype(float) for t in range(1, len(years))]
    )
    treated_flag = df["treated"].to_numpy(float) > 0
    treated_units = tuple(sorted({int(c) for c in codes[treated_flag]}))
    return _Panel(
        y=df["value"].to_numpy(float),
        unit=codes,
        year=df["year"].to_numpy(int),
        post=(df["year"].to_numpy() >= start_year).astype(float),
        units=list(units),
        treated_units=treated_units,
        fe=fe,
        start_year=int(start_year),
    )


def _basis(x: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column space of ``x`` (rank-deficient designs allowed)."""
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    return u[:, s > s[0] * max(x.shape) * np.finfo(float).eps] if len(s) else u


def did_estimate(
    panel: pd.DataFrame, start_year: int, cov_type: str = "HC1", confidence: float = 0.95
) -> dict[str, Any]:
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
        var = float(np.sum(dt**2 * resid**2)) / ss**2 * n / (n - k)
        dof = n - k
    else:
        if len(p.treated_units) < 2:
            raise ValueError(
                "clustered standard errors are not valid with a single treated unit (its residuals "
                "are fitted almost exactly; Conley & Taber 2011, MacKinnon & Webb 2017); "
                "use HC1 with randomisation inference"
            )
        g = len(p.units)
        scores = np.bincount(p.unit, weights=dt * resid, minlength=g)
        var = float(scores @ scores) / ss**2 * g / (g - 1) * (n - 1) / (n - k)
        dof = g - 1
    se = math.sqrt(max(var, 0.0))
    tcrit = float(stats.t.ppf(0.5 + confidence / 2, dof))
    pval = float(2 * stats.t.sf(abs(est / se), dof)) if se > 0 else math.nan
    treated = p.members(p.treated_units)
    cell = lambda t, post: float(np.mean(p.y[(treated == t) & ((p.post > 0) == post)]))  # noqa: E731
    est22 = (cell(True, True) - cell(True, False)) - (cell(False, True) - cell(False, False))
    return {
        "estimate": est,
        "se": se,
        "ci_low": est - tcrit * se,
        "ci_high": est + tcrit * se,
        "p_value": pval,
        "dof": int(dof),
        "n_obs": int(n),
        "n_params": k,
        "cov_type": cov_type,
        "confidence": confidence,
        "n_units": len(p.units),
        "n_treated_units": len(p.treated_units),
        "estimate_2x2": est22,
    }


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


def randomisation_inference(
    panel: pd.DataFrame, start_year: int, confidence: float = 0.95, seed: int = 0, detail: bool = True
) -> dict[str, Any]:
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
    return {
        "estimate": float(a[0]),
        "p_value": pval,
        "p_min": 1.0 / len(a),
        "n_assignments": len(a),
        "exact": exact,
        "rank": int(np.sum(stat >= stat[0] - 1e-9 * max(1.0, stat[0]))),
        "ci_low": lo,
        "ci_high": hi,
        "confidence": confidence,
        "placebo_sd": float(np.std(a[1:], ddof=1)) if len(a) > 2 else math.nan,
        "placebos": [{"units": names(u), "estimate": float(e)} for u, e in zip(labels[1:], a[1:])],
        "event_study": _event_study(p, labels, yt) if detail else [],
    }


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
            continue  # without the reference year the coefficients are not identified
        e = (mask[:, None] & (rel[:, None] == np.array(ks)[None, :])).astype(float)
        et = p.residualise(e)
        keep = np.einsum("ij,ij->j", et, et) > 1e-10
        if keep.any():
            coefs[i, keep] = np.linalg.lstsq(et[:, keep], yt, rcond=None)[0]
    out = [
        {
            "rel_year": ref,
            "year": p.start_year + ref,
            "estimate": 0.0,
            "p_value": math.nan,
            "placebo_low": math.nan,
            "placebo_high": math.nan,
            "n_assignments": 0,
            "reference": True,
        }
    ]
    for j, k in enumerate(ks):
        col = coefs[:, j]
        ok = ~np.isnan(col)
        placebo = col[1:][ok[1:]]
        out.append(
            {
                "rel_year": k,
                "year": p.start_year + k,
                "estimate": float(col[0]),
                "p_value": _rank_p(np.abs(col[ok]), abs(col[0])) if ok[0] else math.nan,
                "placebo_low": float(placebo.min()) if len(placebo) else math.nan,
                "placebo_high": float(placebo.max()) if len(placebo) else math.nan,
                "n_assignments": int(ok.sum()),
                "reference": False,
            }
        )
    return sorted(out, key=lambda r: r["rel_year"])


WEBB_WEIGHTS = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])


def wild_cluster_bootstrap(
    panel: pd.DataFrame, start_year: int, reps: int = WILD_REPS, weights: str = "webb", seed: int = 0
) -> dict[str, Any]:
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
        raise ValueError(
            f"the wild-cluster bootstrap needs at least {WILD_MIN_TREATED} treated units and "
            f"{WILD_MIN_CLUSTERS} units in all; this panel has {k_treated} and {g}"
        )
    if weights not in ("webb", "rademacher"):
        raise ValueError(f"weights must be webb or rademacher, not {weights!r}")
    d = p.dummy(p.treated_units)
    x = np.column_stack([p.fe, d])
    n, k = len(p.y), int(np.linalg.matrix_rank(x))
    dt = p.residualise(d[:, None])[:, 0]
    ss = float(dt @ dt)
    c = dt / ss  # tau-hat = c @ y
    factor = g / (g - 1) * (n - 1) / (n - k)
    qx = _basis(x)
    member = np.zeros((g, n))
    member[p.unit, np.arange(n)] = 1.0

    def t_stats(ys: np.ndarray) -> np.ndarray:
        tau = c @ ys
        resid = ys - qx @ (qx.T @ ys)
        scores = member @ (c[:, None] * resid)
        return tau / np.sqrt(factor * np.sum(scores**2, axis=0))

    t_obs = float(t_stats(p.y[:, None])[0])
    u = p.residualise(p.y[:, None])[:, 0]
    fitted = p.y - u
    rng = np.random.default_rng(seed)
    w = (
        rng.choice(WEBB_WEIGHTS, size=(g, reps))
        if weights == "webb"
        else rng.choice(np.array([-1.0, 1.0]), size=(g, reps))
    )
    t_boot = t_stats(fitted[:, None] + u[:, None] * w[p.unit])
    return {
        "t": t_obs,
        "p_value": float(np.mean(np.abs(t_boot) >= abs(t_obs))),
        "reps": reps,
        "weights": weights,
        "n_clusters": g,
        "n_treated_clusters": k_treated,
    }


def pilot_effect(panel: pd.DataFrame, start_year: int, confidence: float = 0.95, seed: int = 0) -> dict[str, Any]:
    """Everything the follow-up reports for one panel: two-way estimate with HC1 standard error,
    pooled 2x2 estimate, randomisation inference (p, smallest attainable p, interval, event study)
    and, only where its rule holds, the wild-cluster bootstrap p."""
    twfe = did_estimate(panel, start_year, "HC1", confidence)
    ri = randomisation_inference(panel, start_year, confidence, seed)
    out = {
        "estimate": twfe["estimate"],
        "estimate_2x2": twfe["estimate_2x2"],
        "se": twfe["se"],
        "p_hc1": twfe["p_value"],
        "dof": twfe["dof"],
        "n_obs": twfe["n_obs"],
        "n_units": twfe["n_units"],
        "n_treated_units": twfe["n_treated_units"],
        "inference": "randomisation",
        "p_value": ri["p_value"],
        "p_min": ri["p_min"],
        "n_assignments": ri["n_assignments"],
        "placebo_rank": ri["rank"],
        "placebo_sd": ri["placebo_sd"],
        "ci_low": ri["ci_low"],
        "ci_high": ri["ci_high"],
        "placebos": ri["placebos"],
        "event_study": ri["event_study"],
        "p_wild_bootstrap": math.nan,
        "wild_bootstrap_note": "",
    }
    if twfe["n_treated_units"] >= WILD_MIN_TREATED and twfe["n_units"] >= WILD_MIN_CLUSTERS:
        out["p_wild_bootstrap"] = wild_cluster_bootstrap(panel, start_year, seed=seed)["p_value"]
    else:
        out["wild_bootstrap_note"] = (
            f"not used: {twfe['n_treated_units']} treated of {twfe['n_units']} units "
            f"(needs >= {WILD_MIN_TREATED} treated and >= {WILD_MIN_CLUSTERS} units)"
        )
    return out


def follow_up(
    data: PilotData, register: pd.DataFrame, year: int, config: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """For each registered pilot: the pilot organisation's change against comparable organisations.

    Before = years ``start - max_years_before .. start - 1``, after = ``start .. year``, both the
    years in which the pilot organisation has a value. Controls: organisations of the same cluster
    that are not the pilot organisation, its partner or another pilot organisation on the same
    indicator and that have a value before and after in those years; all members when the cluster
    has fewer than ``min_controls``. Too few years or controls give the 'too little data' verdict.
    """
    cfg = dict(config or default_config())
    cat = catalogue_map(data.catalogue)
    orgs = org_map(data)
    iv = data.indicator_values
    bad_flags = set(cfg.get("exclude_flags") or [])
    if not iv.empty and "flags" in iv.columns and bad_flags:
        flagged = iv["flags"].map(lambda fl: bool(bad_flags & set(as_text(fl).split(";"))))
        iv = iv[~flagged]
    iv = iv.dropna(subset=["value"]) if not iv.empty else iv
    lineage = data.lineage_values
    out = []
    if register is None or register.empty:
        return out
    pilot_orgs = {}
    for rec in register.to_dict("records"):
        pilot_orgs.setdefault(str(rec["indicator_code"]), set()).add(str(rec["org_code"]))
    ordered = register.sort_values(["start_year", "org_code", "indicator_code"], kind="mergesort")
    for rec in ordered.to_dict("records"):
        out.append(_follow_up_one(rec, iv, cat, orgs, pilot_orgs, year, cfg, lineage))
    return out


def _follow_up_one(
    rec: Mapping[str, Any],
    iv: pd.DataFrame,
    cat: Mapping[str, Any],
    orgs: Mapping[str, Any],
    pilot_orgs: Mapping[str, set],
    year: int,
    cfg: Mapping[str, Any],
    lineage: pd.DataFrame | None = None,
) -> dict[str, Any]:
    org, ind, start = str(rec["org_code"]), str(rec["indicator_code"]), int(rec["start_year"])
    partner = as_text(rec.get("partner_org_code")) or None
    meta = cat.get(ind, {"name_nl": ind, "name_en": ind, "unit": "", "decimals": 1, "direction": "higher"})
    rows = iv[(iv["indicator_code"] == ind) & (iv["year"] <= year)] if not iv.empty else iv
    values: dict[str, dict[int, float]] = {}
    if not rows.empty:
        for o, y, v in rows[["org_code", "year", "value"]].itertuples(index=False):
            values.setdefault(str(o), {})[int(y)] = float(v)
    mine = dict(values.get(org, {}))
    # a pilot organisation that merged keeps its pre-period through its predecessors (summed, compute.lineage)
    through: dict[int, str] = {}
    if lineage is not None and not lineage.empty:
        own = lineage[(lineage["org_code"] == org) & (lineage["indicator_code"] == ind) & (lineage["year"] <= year)]
        for y, v, fl in own[["year", "value", "flags"]].itertuples(index=False):
            if int(y) not in mine and not pd.isna(v):
                mine[int(y)] = float(v)
                through[int(y)] = str(fl)
    before = sorted(y for y in mine if start - cfg["max_years_before"] <= y < start)
    after = sorted(y for y in mine if start <= y <= year)
    window = set(before) | set(after)
    exclude = {org} | ({partner} if partner else set()) | set(pilot_orgs.get(ind, set()))

    def controls_in(members: list[str]) -> list[str]:
        return sorted(
            o
            for o in members
            if o not in exclude
            and any(y in values.get(o, {}) for y in before)
            and any(y in values.get(o, {}) for y in after)
        )

    cluster = orgs.get(org, {}).get("cluster", "")
    scope = "cluster"
    controls = controls_in([o for o in values if orgs.get(o, {}).get("cluster") == cluster]) if cluster else []
    if len(controls) < cfg["min_controls"]:
        scope = "all"
        controls = controls_in(list(values))
    result: dict[str, Any] = {
        "pilot_id": as_text(rec.get("pilot_id")),
        "status": as_text(rec.get("status")) or "running",
        "org_code": org,
        "org_label": org_label(orgs, org),
        "indicator_code": ind,
        "indicator_name_nl": meta["name_nl"],
        "indicator_name_en": meta["name_en"],
        "unit": meta["unit"],
        "decimals": meta["decimals"],
        "direction": meta["direction"],
        "partner_org_code": partner,
        "partner_label": org_label(orgs, partner) if partner else None,
        "start_year": start,
        "note": as_text(rec.get("note")),
        "years_before": before,
        "years_after": after,
        "n_treated_before": len(before),
        "n_treated_after": len(after),
        "n_treated_years": len(before) + len(after),
        "control_scope": scope,
        "control_org_codes": controls,
        "n_control_units": len(controls),
        "estimate": math.nan,
        "se": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "p_value": math.nan,
        "cov_type": cfg["cov_type"],
        "confidence": float(cfg["confidence"]),
        "inference": "randomisation",
        "estimate_2x2": math.nan,
        "p_min": math.nan,
        "p_hc1": math.nan,
        "n_assignments": 0,
        "placebo_rank": 0,
        "placebo_sd": math.nan,
        "placebos": [],
        "event_study": [],
        "p_wild_bootstrap": math.nan,
        "wild_bootstrap_note": "",
        "pre_trend_years": [],
        "lineage_years": sorted(through),
        "lineage": ";".join(sorted(set(through.values()))) or None,
    }
    series = []
    for y in sorted(window):
        cv = [values[o][y] for o in controls if y in values[o]]
        series.append(
            {
                "year": y,
                "period": "after" if y >= start else "before",
                "treated": mine.get(y, math.nan),
                "control_mean": float(np.mean(cv)) if cv else math.nan,
                "control_p25": float(np.percentile(cv, 25)) if len(cv) >= 4 else math.nan,
                "control_p75": float(np.percentile(cv, 75)) if len(cv) >= 4 else math.nan,
                "n_controls": len(cv),
            }
        )
    result["series"] = series
    means = {
        "treated_before": _mean([mine[y] for y in before]),
        "treated_after": _mean([mine[y] for y in after]),
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
            + [
                {"unit": o, "year": y, "value": values[o][y], "treated": 0}
                for o in controls
                for y in sorted(window)
                if y in values[o]
            ]
        )
        try:
            result.update(pilot_effect(panel, start, float(cfg["confidence"])))
        except ValueError as exc:
            short_nl.append("de gegevens laten geen schatting toe")
            short_en.append(f"the data do not allow an estimate ({exc})")
    alpha = 1.0 - float(cfg["confidence"])
    result["pre_trend_years"] = [
        e["year"]
        for e in result["event_study"]
        if e["rel_year"] < 0 and not e["reference"] and as_float(e["p_value"]) <= alpha + 1e-12
    ]
    result.update(_verdict(result, short_nl, short_en, cfg))
    return result


def _mean(xs: list[float]) -> float:
    return float(np.mean(xs)) if xs else math.nan


def _p_text(p: float, lang: str) -> str:
    return fmt_number(p, 3, lang)


def _verdict(r: Mapping[str, Any], short_nl: list[str], short_en: list[str], cfg: Mapping[str, Any]) -> dict[str, str]:
    """Verdict code and words from the randomisation inference (docs/pilots.md, 'Verdict').

    ``too_little_data``: no estimate (too few years or controls). ``cannot_tell``: an estimate, but
    the smallest attainable permutation p exceeds alpha, so no significance statement is possible
    whatever the data. ``improved`` / ``worsened``: p <= alpha (direction of the indicator decides).
    ``no_clear_effect``: p > alpha although alpha was attainable."""
    if short_nl:
        return {
            "verdict": "too_little_data",
            "verdict_nl": f"{TOO_LITTLE_NL}: {'; '.join(short_nl)}.",
            "verdict_en": f"{TOO_LITTLE_EN}: {'; '.join(short_en)}.",
        }
    fd = lambda v, lang: format_difference(v, r["unit"], r["decimals"], lang)  # noqa: E731
    alpha = 1.0 - float(cfg["confidence"])
    n_all, n_ctrl = int(r["n_assignments"]), int(r["n_control_units"])
    est_nl, est_en = fd(r["estimate"], "nl"), fd(r["estimate"], "en")
    p_nl, p_en = _p_text(r["p_value"], "nl"), _p_text(r["p_value"], "en")
    test_nl = (
        f"permutatietoets over {n_all} organisaties: p = {p_nl}, "
        f"kleinste haalbare p = 1/{n_all} = {_p_text(r['p_min'], 'nl')}"
    )
    test_en = (
        f"permutation test over {n_all} organisations: p = {p_en}, "
        f"smallest attainable p = 1/{n_all} = {_p_text(r['p_min'], 'en')}"
    )
    if math.isfinite(r["ci_low"]) and math.isfinite(r["ci_high"]):
        pct = f"{int(round(float(cfg['confidence']) * 100))}%"
        test_nl += f"; {pct}-interval {fd(r['ci_low'], 'nl')} tot {fd(r['ci_high'], 'nl')}"
        test_en += f"; {pct} interval {fd(r['ci_low'], 'en')} to {fd(r['ci_high'], 'en')}"
    if not math.isnan(as_float(r.get("p_wild_bootstrap"))):
        test_nl += f"; wild-cluster-bootstrap p = {_p_text(r['p_wild_bootstrap'], 'nl')}"
        test_en += f"; wild-cluster bootstrap p = {_p_text(r['p_wild_bootstrap'], 'en')}"
    sign = 1.0 if r["direction"] == "higher" else -1.0
    if r["p_min"] > alpha + 1e-12:
        verdict = "cannot_tell"
        nl = (
            f"Niet vast te stellen: met {n_ctrl} vergelijkbare organisaties zonder pilot kan de permutatietoets "
            f"niet onder p = {_p_text(r['p_min'], 'nl')} komen, meer dan {_p_text(alpha, 'nl')}; te weinig "
            f"vergelijkbare leden voor een uitspraak over significantie. Geschat effect {est_nl} "
            f"(plaats {r['placebo_rank']} van {n_all} in de placebotoets; p = {p_nl})."
        )
        en = (
            f"Cannot tell: with {n_ctrl} comparable organisations without a pilot the permutation test cannot "
            f"go below p = {_p_text(r['p_min'], 'en')}, more than {_p_text(alpha, 'en')}; too few comparable "
            f"members for a significance statement. Estimated effect {est_en} "
            f"(rank {r['placebo_rank']} of {n_all} in the placebo test; p = {p_en})."
        )
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
