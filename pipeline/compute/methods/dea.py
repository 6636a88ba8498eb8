"""Data Envelopment Analysis (DEA) with radial Farrell efficiency measures.

Every unit (decision making unit, DMU) is evaluated with the envelopment form
of the DEA linear program, solved with ``scipy.optimize.linprog(method="highs")``.
Scores follow the Farrell convention of the R package *Benchmarking*
(``dea(X, Y, RTS, ORIENTATION)``):

* input orientation: ``theta <= 1`` is the largest proportional contraction of
  the inputs that keeps the outputs producible;
* output orientation: ``phi >= 1`` is the largest proportional expansion of the
  outputs that keeps the inputs sufficient.

A score of exactly one (within ``EFFICIENCY_TOL``) means the unit is on the
frontier. See ``docs/methods-dea.md`` for the linear programs.

Around the scores: phase-2 slacks, Andersen–Petersen super-efficiency,
leave-one-out robustness, the Simar–Wilson (1998) smoothed bootstrap for
bias-corrected scores and confidence intervals (:func:`dea_boot`), the
Cooper–Seiford–Tone sample-size rule (:func:`min_units`) and warnings for a
single unit, duplicated units and a sample below the rule (:class:`DeaWarning`).
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from pipeline.core.numbers import column_decimal_comma, convention_of_separator, parse_number

__all__ = [
    "DeaInputError",
    "DeaWarning",
    "DeaResult",
    "DeaBootResult",
    "dea",
    "dea_boot",
    "super_efficiency",
    "robustness",
    "min_units",
    "sample_warnings",
    "duplicate_groups",
    "format_named",
    "DEFAULT_MIN_UNITS_RULE",
    "dea_csv",
    "main_dea_cli",
    "RTS_OPTIONS",
    "ORIENTATIONS",
    "EFFICIENCY_TOL",
    "PEER_TOL",
]

RTS_OPTIONS = ("crs", "vrs", "drs", "irs")
ORIENTATIONS = ("in", "out")
EFFICIENCY_TOL = 1e-6
PEER_TOL = 1e-9


class DeaInputError(ValueError):
    """Raised for invalid DEA data or arguments (message names the culprit)."""


class DeaWarning(UserWarning):
    """A DEA result that is computed but should be read with care.

    ``code`` is one of ``"one_unit"``, ``"duplicate_units"``, ``"below_min_units"``,
    ``"bootstrap_degenerate"``; ``message_en`` / ``message_nl`` explain it in English
    and Dutch (``str()`` gives the English text).
    """

    def __init__(self, code: str, message_en: str, message_nl: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_en = message_en
        self.message_nl = message_nl


# --------------------------------------------------------------------------- #
# Result container
# --------------------------------------------------------------------------- #
@dataclass
class DeaResult:
    """Result of :func:`dea`.

    Attributes
    ----------
    ids : list
        Unit identifiers, in input order.
    score : np.ndarray
        Farrell efficiency per unit (theta <= 1 for ``"in"``, phi >= 1 for ``"out"``).
    lambdas : np.ndarray
        ``(n, n)`` intensity weights; row ``k`` is the reference combination of
        unit ``k`` (weights ``<= PEER_TOL`` are set to zero).
    peers : list[list]
        Per unit, the ids with ``lambda > PEER_TOL`` (natural sort order).
    targets_x, targets_y : np.ndarray
        Radial projections: ``theta * x`` and ``y`` (input orientation) or
        ``x`` and ``phi * y`` (output orientation).
    rts, orientation : str
        Model options used.
    input_names, output_names : list[str]
        Column names of the inputs and outputs.
    slack_x, slack_y : np.ndarray
        Non-radial slacks left after the radial projection (phase 2), so that
        ``lambdas @ X = targets_x - slack_x`` and ``lambdas @ Y = targets_y + slack_y``.
    """

    ids: list
    score: np.ndarray
    lambdas: np.ndarray
    peers: list[list]
    targets_x: np.ndarray
    targets_y: np.ndarray
    rts: str
    orientation: str
    input_names: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    slack_x: np.ndarray | None = None
    slack_y: np.ndarray | None = None

    @property
    def efficient(self) -> np.ndarray:
        """Boolean mask of units whose score is within ``EFFICIENCY_TOL`` of one."""
        return np.abs(self.score - 1.0) <= EFFICIENCY_TOL

    def to_frame(self) -> pd.DataFrame:
        """One row per unit: ``id, score, peers, lambdas`` and ``target_<name>`` columns.

        ``peers`` joins the peer ids with ``;``; ``lambdas`` lists ``id:weight``
        pairs joined with ``;``, weights rounded to 6 decimals without trailing zeros.
        """
        rows: dict[str, Any] = {
            "id": list(self.ids),
            "score": self.score,
            "peers": [";".join(str(p) for p in peer) for peer in self.peers],
            "lambdas": self._format_lambdas(),
        }
        for i, name in enumerate(self.input_names):
            rows[f"target_{name}"] = self.targets_x[:, i]
        for r, name in enumerate(self.output_names):
            rows[f"target_{name}"] = self.targets_y[:, r]
        return pd.DataFrame(rows)

    def _format_lambdas(self) -> list[str]:
        position = {unit: j for j, unit in enumerate(self.ids)}
        return [
            ";".join(f"{peer}:{_format_number(self.lambdas[k, position[peer]])}" for peer in peers)
            for k, peers in enumerate(self.peers)
        ]


def _format_number(value: float, decimals: int = 6) -> str:
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def format_named(names: Sequence[str], values: Sequence[float], decimals: int = 6) -> str:
    """``"name:value;name:value"`` (values rounded as in ``lambdas``), e.g. slacks per variable."""
    return ";".join(f"{name}:{_format_number(float(v), decimals)}" for name, v in zip(names, values, strict=True))


def _natural_key(value: Hashable) -> tuple:
    """Sort key ordering numbers numerically and strings as 'Unit 2' < 'Unit 10'."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return (0, float(value), ())
    parts = re.split(r"(\d+)", str(value))
    return (1, 0.0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p))


# --------------------------------------------------------------------------- #
# Input handling
# --------------------------------------------------------------------------- #
@dataclass
class _Data:
    x: np.ndarray
    y: np.ndarray
    ids: list
    input_names: list[str]
    output_names: list[str]


def _as_matrix(data: Any, label: str, prefix: str) -> tuple[np.ndarray, list[str], pd.Index | None]:
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if isinstance(data, pd.DataFrame):
        names = [str(c) for c in data.columns]
        index = data.index
        try:
            values = data.to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise DeaInputError(f"{label} must be numeric: {exc}") from None
    else:
        index = None
        try:
            values = np.asarray(data, dtype=float)
        except (TypeError, ValueError) as exc:
            raise DeaInputError(f"{label} must be numeric: {exc}") from None
        if values.ndim == 1:
            values = values[:, None]
        names = [f"{prefix}{i + 1}" for i in range(values.shape[1] if values.ndim == 2 else 0)]
    if values.ndim != 2:
        raise DeaInputError(f"{label} must be two-dimensional (units x variables), got shape {values.shape}")
    if values.shape[1] == 0:
        raise DeaInputError(f"{label} has no columns")
    return values, names, index


def _prepare(X: Any, Y: Any, ids: Sequence | None) -> _Data:
    """Convert and validate inputs/outputs; raise :class:`DeaInputError` on bad data."""
    x, in_names, x_index = _as_matrix(X, "X (inputs)", "x")
    y, out_names, y_index = _as_matrix(Y, "Y (outputs)", "y")
    n = x.shape[0]
    if y.shape[0] != n:
        raise DeaInputError(f"X has {n} units (rows) but Y has {y.shape[0]}")
    if n == 0:
        raise DeaInputError("no units to evaluate")
    if ids is None:
        if x_index is not None and y_index is not None and not x_index.equals(y_index):
            raise DeaInputError("X and Y are DataFrames with different indexes; align them or pass ids")
        index = x_index if x_index is not None else y_index
        ids = list(index) if index is not None else list(range(n))
    else:
        ids = list(ids)
        if len(ids) != n:
            raise DeaInputError(f"ids has {len(ids)} entries but there are {n} units")
    if len(set(ids)) != n:
        dupes = sorted({str(u) for u in ids if ids.count(u) > 1})
        raise DeaInputError(f"unit ids must be unique; duplicated: {', '.join(dupes)}")
    clash = set(in_names) & set(out_names)
    if clash:
        raise DeaInputError(f"variables used both as input and output: {', '.join(sorted(clash))}")

    for values, names, kind in ((x, in_names, "input"), (y, out_names, "output")):
        bad = ~np.isfinite(values)
        if bad.any():
            k, i = np.argwhere(bad)[0]
            raise DeaInputError(
                f"{kind} {names[i]!r} of unit {ids[k]!r} (row {k + 1}) is not a finite number ({values[k, i]})"
            )
        neg = values < 0
        if neg.any():
            k, i = np.argwhere(neg)[0]
            raise DeaInputError(
                f"{kind} {names[i]!r} of unit {ids[k]!r} (row {k + 1}) is negative ({values[k, i]:g}); "
                "DEA requires non-negative data"
            )
        zero_rows = np.flatnonzero(~(values > 0).any(axis=1))
        if zero_rows.size:
            k = zero_rows[0]
            raise DeaInputError(f"unit {ids[k]!r} (row {k + 1}) has all {kind}s equal to zero")
    return _Data(x=x, y=y, ids=ids, input_names=in_names, output_names=out_names)


def _check_options(rts: str, orientation: str) -> tuple[str, str]:
    rts_l = str(rts).lower()
    orient = str(orientation).lower()
    orient = {"input": "in", "output": "out"}.get(orient, orient)
    if rts_l not in RTS_OPTIONS:
        raise DeaInputError(f"rts must be one of {RTS_OPTIONS}, got {rts!r}")
    if orient not in ORIENTATIONS:
        raise DeaInputError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
    return rts_l, orient


def _column_scale(values: np.ndarray) -> np.ndarray:
    """Per-column mean used to bring all variables to order one (scores are unit-free)."""
    scale = values.mean(axis=0)
    return np.where(scale > 0, scale, 1.0)


# --------------------------------------------------------------------------- #
# Linear programs
# --------------------------------------------------------------------------- #
_Rows = tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None]


def _rts_rows(rts: str, k: int, offset: int, width: int) -> _Rows:
    """``(A_ub, b_ub, A_eq, b_eq)`` rows on ``sum(lambda)`` for the returns-to-scale assumption."""
    row = np.zeros((1, width))
    row[0, offset : offset + k] = 1.0
    if rts == "vrs":
        return None, None, row, np.ones(1)
    if rts == "drs":
        return row, np.ones(1), None, None
    if rts == "irs":
        return -row, -np.ones(1), None, None
    return None, None, None, None


def _stack(blocks: list[np.ndarray | None]) -> np.ndarray | None:
    present = [b for b in blocks if b is not None]
    return np.vstack(present) if present else None


def _concat(blocks: list[np.ndarray | None]) -> np.ndarray | None:
    present = [b for b in blocks if b is not None]
    return np.concatenate(present) if present else None


def _radial(
    xr: np.ndarray, yr: np.ndarray, x0: np.ndarray, y0: np.ndarray, rts: str, orientation: str
) -> tuple[float, np.ndarray | None, int]:
    """Phase 1: radial score of (x0, y0) against reference columns ``xr`` (m x k), ``yr`` (s x k).

    Returns ``(score, lambdas, status)``; ``status`` is linprog's status code.
    """
    m, k = xr.shape
    s = yr.shape[0]
    width = 1 + k
    c = np.zeros(width)
    if orientation == "in":
        c[0] = 1.0
        a_in = np.hstack([-x0[:, None], xr])
        b_in = np.zeros(m)
        a_out = np.hstack([np.zeros((s, 1)), -yr])
        b_out = -y0
    else:
        c[0] = -1.0
        a_in = np.hstack([np.zeros((m, 1)), xr])
        b_in = x0.copy()
        a_out = np.hstack([y0[:, None], -yr])
        b_out = np.zeros(s)
    a_rts, b_rts, a_eq, b_eq = _rts_rows(rts, k, 1, width)
    res = linprog(
        c,
        A_ub=_stack([a_in, a_out, a_rts]),
        b_ub=_concat([b_in, b_out, b_rts]),
        A_eq=a_eq,
        b_eq=b_eq,
        bounds=[(0, None)] * width,
        method="highs",
    )
    if res.status != 0:
        return np.nan, None, res.status
    return float(res.x[0]), res.x[1:], 0


def _max_slacks(
    xr: np.ndarray, yr: np.ndarray, x_target: np.ndarray, y_target: np.ndarray, rts: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Phase 2: maximise the sum of (scaled) slacks with the radial target fixed.

    Solves ``xr @ lam + s_minus = x_target``, ``yr @ lam - s_plus = y_target``
    (plus the RTS constraint). Returns ``(lam, s_minus, s_plus)`` or ``None``.
    """
    m, k = xr.shape
    s = yr.shape[0]
    width = k + m + s
    c = np.concatenate([np.zeros(k), -np.ones(m + s)])
    a_eq = np.block([[xr, np.eye(m), np.zeros((m, s))], [yr, np.zeros((s, m)), -np.eye(s)]])
    b_eq = np.concatenate([x_target, y_target])
    a_rts, b_rts, a_rts_eq, b_rts_eq = _rts_rows(rts, k, 0, width)
    res = linprog(
        c,
        A_ub=a_rts,
        b_ub=b_rts,
        A_eq=_stack([a_eq, a_rts_eq]),
        b_eq=_concat([b_eq, b_rts_eq]),
        bounds=[(0, None)] * width,
        method="highs",
    )
    if res.status != 0:
        return None
    return res.x[:k], res.x[k : k + m], res.x[k + m :]


def _scores(
    xs: np.ndarray, ys: np.ndarray, rts: str, orientation: str, units: Sequence[int], reference: np.ndarray
) -> np.ndarray:
    """Phase-1 scores of ``units`` against the reference units (boolean mask), solved together
    by :func:`_radial_batch`."""
    xr, yr = xs[reference].T, ys[reference].T
    units = np.asarray(units, dtype=int)
    p = units.size
    return _radial_batch(
        np.broadcast_to(xr, (p, *xr.shape)), np.broadcast_to(yr, (p, *yr.shape)), xs[units], ys[units], rts, orientation
    )


# Bootstrap replications evaluate every unit against many pseudo-samples: B * n
# small LPs (robustness needs E * n). One linprog call costs ~1 ms of set-up, and HiGHS on a stacked
# block-diagonal LP is not much faster per LP, so these LPs are solved together by
# a dense two-phase simplex vectorised over the LPs (:func:`_simplex_batch`); any
# LP it does not solve is re-solved by linprog. tests/test_dea.py checks it against
# linprog on random and degenerate problems for every model.
_BATCH_CELLS = 2_000_000  # tableau entries per chunk


def _radial_batch(
    xr: np.ndarray, yr: np.ndarray, x0: np.ndarray, y0: np.ndarray, rts: str, orientation: str
) -> np.ndarray:
    """Phase-1 scores of many evaluations at once.

    ``xr`` (p, m, k) / ``yr`` (p, s, k) are the reference columns of evaluation
    ``q`` and ``x0`` (p, m) / ``y0`` (p, s) its evaluated point. Returns ``p``
    scores (NaN where the LP is infeasible).
    """
    p, m, k = xr.shape
    s = yr.shape[1]
    per_lp = (m + s + 2) * (2 * (m + s) + k + 4)
    step = max(1, _BATCH_CELLS // per_lp)
    out = np.full(p, np.nan)
    for start in range(0, p, step):
        part = slice(start, min(p, start + step))
        value, ok = _radial_lp_batch(xr[part], yr[part], x0[part], y0[part], rts, orientation)
        for q in np.flatnonzero(~ok):
            j = start + q
            value[q] = _radial(xr[j], yr[j], x0[j], y0[j], rts, orientation)[0]
        out[part] = value
    return out


def _simplex_batch(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, basis: np.ndarray, n_art: int, tol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``p`` small LPs ``min c z  s.t.  a z = b, z >= 0`` at once (dense two-phase simplex).

    ``a`` is ``(p, R, N)`` with ``b >= 0``; the last ``n_art`` columns are
    artificial variables; ``basis`` ``(p, R)`` gives, per row, a column that is a
    unit vector in ``a`` (a slack or an artificial) forming the starting basis.
    Bland's rule (lowest index enters, ties leave by lowest index) rules out
    cycling on the degenerate LPs DEA produces. Returns ``(objective, ok)``; ``ok``
    is False where the LP was not solved to optimality (infeasible, unbounded or
    out of iterations), for the caller to solve another way.
    """
    p, rows, cols = a.shape
    tab = np.zeros((p, rows + 1, cols + 1))
    tab[:, :rows, :cols] = a
    tab[:, :rows, cols] = b
    basis = basis.copy()
    ok = np.ones(p, dtype=bool)
    first_art = cols - n_art

    def objective_row(cost: np.ndarray) -> None:
        cb = np.take_along_axis(cost, basis, axis=1)  # (p, R)
        tab[:, rows, :cols] = cost - np.einsum("pr,prn->pn", cb, tab[:, :rows, :cols])
        tab[:, rows, cols] = -np.einsum("pr,pr->p", cb, tab[:, :rows, cols])

    def run(allowed: np.ndarray, phase_two: bool) -> None:
        active = ok.copy()
        for _ in range(50 * (rows + cols)):
            reduced = tab[:, rows, :cols]
            candidates = (reduced < -tol) & allowed
            active &= candidates.any(axis=1)
            sub = np.flatnonzero(active)
            if sub.size == 0:
                return
            enter = np.argmax(candidates[sub], axis=1)  # Bland: lowest index
            column = tab[sub, :rows, enter]  # (q, R)
            rhs = tab[sub, :rows, cols]
            eligible = column > tol
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(eligible, rhs / column, np.inf)
            if phase_two:
                # an artificial left in the basis sits at zero: pivot it out first
                # (any non-zero pivot keeps the solution, the right-hand side being zero)
                stuck = (basis[sub] >= first_art) & (np.abs(column) > tol)
                ratio = np.where(stuck, -1.0, ratio)
                eligible |= stuck
            unbounded = ~eligible.any(axis=1)
            if unbounded.any():
                ok[sub[unbounded]] = False
                active[sub[unbounded]] = False
                keep = ~unbounded
                sub, enter, ratio = sub[keep], enter[keep], ratio[keep]
                if sub.size == 0:
                    return
            best = ratio.min(axis=1, keepdims=True)
            ties = ratio <= best + tol * np.maximum(1.0, np.abs(best))
            leave = np.argmin(np.where(ties, basis[sub], np.iinfo(basis.dtype).max), axis=1)
            pivot_row = tab[sub, leave, :] / tab[sub, leave, enter][:, None]
            column = tab[sub, :, enter]
            block = tab[sub] - column[:, :, None] * pivot_row[:, None, :]
            block[np.arange(sub.size), leave, :] = pivot_row
            tab[sub] = block
            basis[sub, leave] = enter
        ok[active] = False

    phase_one = np.zeros((p, cols))
    phase_one[:, first_art:] = 1.0
    if n_art:
        objective_row(phase_one)
        run(np.ones(cols, dtype=bool), phase_two=False)
        infeasible = -tab[:, rows, cols] > 1e-8 * (1.0 + np.abs(b).sum(axis=1))
        ok &= ~infeasible
    objective_row(c)
    allowed = np.ones(cols, dtype=bool)
    allowed[first_art:] = False
    run(allowed, phase_two=True)
    return -tab[:, rows, cols], ok


def _radial_lp_batch(
    xr: np.ndarray, yr: np.ndarray, x0: np.ndarray, y0: np.ndarray, rts: str, orientation: str
) -> tuple[np.ndarray, np.ndarray]:
    """Radial scores of ``p`` evaluations with :func:`_simplex_batch` (see :func:`_radial_batch`)."""
    p, m, k = xr.shape
    s = yr.shape[1]
    rts_row = rts != "crs"
    rows = m + s + int(rts_row)
    extra = 1 if rts in ("drs", "irs") else 0  # slack of the sum(lambda) row
    # columns: score, lambda (k), slack per x row (m), slack per y row (s), rts slack, artificials
    if orientation == "in":
        n_art = s + (1 if rts in ("vrs", "irs") else 0)
    else:
        n_art = 1 if rts in ("vrs", "irs") else 0
    cols = 1 + k + m + s + extra + n_art
    a = np.zeros((p, rows, cols))
    b = np.zeros((p, rows))
    basis = np.zeros((p, rows), dtype=np.int64)
    lam = slice(1, 1 + k)
    art = 1 + k + m + s + extra
    if orientation == "in":
        # x rows: xr lam - x0 theta + s = 0 (s basic);  y rows: yr lam - t + art = y0
        a[:, :m, lam] = xr
        a[:, :m, 0] = -x0
        a[:, np.arange(m), 1 + k + np.arange(m)] = 1.0
        basis[:, :m] = 1 + k + np.arange(m)
        a[:, m : m + s, lam] = yr
        a[:, m + np.arange(s), 1 + k + m + np.arange(s)] = -1.0
        a[:, m + np.arange(s), art + np.arange(s)] = 1.0
        b[:, m : m + s] = y0
        basis[:, m : m + s] = art + np.arange(s)
        next_art = art + s
    else:
        # x rows: xr lam + s = x0 (s basic);  y rows: phi y0 - yr lam + t = 0 (t basic)
        a[:, :m, lam] = xr
        a[:, np.arange(m), 1 + k + np.arange(m)] = 1.0
        b[:, :m] = x0
        basis[:, :m] = 1 + k + np.arange(m)
        a[:, m : m + s, 0] = y0
        a[:, m : m + s, lam] = -yr
        a[:, m + np.arange(s), 1 + k + m + np.arange(s)] = 1.0
        basis[:, m : m + s] = 1 + k + m + np.arange(s)
        next_art = art
    if rts_row:
        r = m + s
        a[:, r, lam] = 1.0
        b[:, r] = 1.0
        if rts == "drs":  # sum + u = 1, u basic
            a[:, r, 1 + k + m + s] = 1.0
            basis[:, r] = 1 + k + m + s
        else:
            if rts == "irs":  # sum - u = 1
                a[:, r, 1 + k + m + s] = -1.0
            a[:, r, next_art] = 1.0
            basis[:, r] = next_art
    c = np.zeros((p, cols))
    c[:, 0] = 1.0 if orientation == "in" else -1.0
    value, ok = _simplex_batch(a, b, c, basis, n_art)
    return (value if orientation == "in" else -value), ok


def _undominated(xr: np.ndarray, yr: np.ndarray) -> np.ndarray:
    """Mask of the reference units (columns) that can matter for a radial score.

    Dropped are identical copies (the first is kept) and units dominated by
    another unit (no more of any input, no less of any output). Such a unit lies
    in the technology of the others under every returns-to-scale assumption (free
    disposal, lambda = 1 on the dominating unit), so every radial score against
    the reduced set equals the score against the full set.
    """
    z = np.hstack([xr.T, -yr.T])  # (k, d): smaller is better in every column
    keep = np.zeros(z.shape[0], dtype=bool)
    keep[np.unique(z, axis=0, return_index=True)[1]] = True
    idx = np.flatnonzero(keep)
    zk = z[idx]
    dominates = (zk[:, None, :] <= zk[None, :, :]).all(axis=2)  # [i, j]: i dominates j (distinct rows)
    np.fill_diagonal(dominates, False)
    keep[idx[dominates.any(axis=0)]] = False
    return keep


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #
def dea(
    X: Any,
    Y: Any,
    rts: str = "crs",
    orientation: str = "in",
    ids: Sequence | None = None,
    *,
    slacks: bool = True,
    warn: bool = True,
) -> DeaResult:
    """Radial (Farrell) DEA efficiency of every unit.

    Parameters
    ----------
    X : array-like or DataFrame, shape (n, m)
        Inputs, one row per unit. DataFrame column names become variable names
        and its index becomes the ids (unless ``ids`` is given).
    Y : array-like or DataFrame, shape (n, s)
        Outputs, one row per unit.
    rts : {"crs", "vrs", "drs", "irs"}
        Returns to scale: constant; variable (``sum lambda = 1``); decreasing
        / non-increasing (``sum lambda <= 1``); increasing / non-decreasing
        (``sum lambda >= 1``).
    orientation : {"in", "out"}
        Input orientation gives theta <= 1, output orientation phi >= 1.
    ids : sequence, optional
        Unit identifiers (default: DataFrame index or ``0..n-1``).
    slacks : bool, default True
        Run phase 2 (maximise the slacks at the fixed radial score) so that the
        lambdas and peers describe a point on the efficient frontier. With
        ``False`` the phase-1 lambdas are returned and slacks are derived from them.
    warn : bool, default True
        Emit a :class:`DeaWarning` for a single unit (scored 1 by construction) and
        for units with identical inputs and outputs (see :func:`sample_warnings`;
        the sample-size rule is checked by the callers that publish scores).

    Returns
    -------
    DeaResult

    Raises
    ------
    DeaInputError
        On negative, non-finite or all-zero rows, mismatched shapes or bad options.
    """
    rts, orientation = _check_options(rts, orientation)
    data = _prepare(X, Y, ids)
    if warn:
        for warning in sample_warnings(data.x, data.y, data.ids, size_rule=False):
            warnings.warn(warning, stacklevel=2)
    n = len(data.ids)
    sx, sy = _column_scale(data.x), _column_scale(data.y)
    xs, ys = data.x / sx, data.y / sy
    xr, yr = xs.T, ys.T

    score = np.empty(n)
    lambdas = np.zeros((n, n))
    slack_x = np.zeros_like(xs)
    slack_y = np.zeros_like(ys)
    for k in range(n):
        value, lam, status = _radial(xr, yr, xs[k], ys[k], rts, orientation)
        if status != 0:
            raise RuntimeError(f"DEA LP failed for unit {data.ids[k]!r} (linprog status {status})")
        score[k] = value
        x_target = xs[k] * value if orientation == "in" else xs[k]
        y_target = ys[k] * value if orientation == "out" else ys[k]
        phase2 = _max_slacks(xr, yr, x_target, y_target, rts) if slacks else None
        if phase2 is None:
            lam = np.clip(lam, 0.0, None)
            s_minus = np.clip(x_target - xr @ lam, 0.0, None)
            s_plus = np.clip(yr @ lam - y_target, 0.0, None)
        else:
            lam, s_minus, s_plus = (np.clip(v, 0.0, None) for v in phase2)
        lambdas[k] = lam
        slack_x[k] = s_minus
        slack_y[k] = s_plus

    lambdas[lambdas <= PEER_TOL] = 0.0
    peers = [sorted((data.ids[j] for j in np.flatnonzero(row)), key=_natural_key) for row in lambdas]
    if orientation == "in":
        targets_x, targets_y = data.x * score[:, None], data.y.copy()
    else:
        targets_x, targets_y = data.x.copy(), data.y * score[:, None]
    return DeaResult(
        ids=data.ids,
        score=score,
        lambdas=lambdas,
        peers=peers,
        targets_x=targets_x,
        targets_y=targets_y,
        rts=rts,
        orientation=orientation,
        input_names=data.input_names,
        output_names=data.output_names,
        slack_x=slack_x * sx,
        slack_y=slack_y * sy,
    )


def super_efficiency(
    X: Any, Y: Any, rts: str = "crs", orientation: str = "in", ids: Sequence | None = None
) -> np.ndarray:
    """Andersen–Petersen super-efficiency: each unit is evaluated without itself.

    Inefficient units keep their ordinary score; efficient units get
    ``theta >= 1`` (input orientation) or ``phi <= 1`` (output orientation),
    measuring how far they could worsen and remain efficient.

    When the unit lies outside the technology spanned by the others the LP is
    infeasible: under VRS/DRS/IRS, and for input orientation under CRS when no
    other unit produces an output the unit produces. Such units get ``np.inf``
    for input orientation (no finite input expansion reaches the frontier of the
    others) and ``np.nan`` for output orientation.
    """
    rts, orientation = _check_options(rts, orientation)
    data = _prepare(X, Y, ids)
    n = len(data.ids)
    xs, ys = data.x / _column_scale(data.x), data.y / _column_scale(data.y)
    out = np.empty(n)
    for k in range(n):
        reference = np.ones(n, dtype=bool)
        reference[k] = False
        if not reference.any():
            out[k] = np.inf if orientation == "in" else np.nan
            continue
        value, _, status = _radial(xs[reference].T, ys[reference].T, xs[k], ys[k], rts, orientation)
        if status == 2:
            value = np.inf if orientation == "in" else np.nan
        elif status != 0:
            raise RuntimeError(f"super-efficiency LP failed for unit {data.ids[k]!r} (status {status})")
        out[k] = value
    return out


def robustness(X: Any, Y: Any, rts: str = "crs", orientation: str = "in", ids: Sequence | None = None) -> pd.DataFrame:
    """Leave-one-out robustness of the efficient frontier.

    For every efficient unit ``j`` (score within ``EFFICIENCY_TOL`` of one) all
    other units are re-scored with ``j`` removed from the data. Per unit the
    table reports:

    ``score``
        Score on the full data.
    ``efficient``
        ``|score - 1| <= EFFICIENCY_TOL``.
    ``loo_runs``
        Number of leave-one-out runs in which the unit is present.
    ``score_min`` / ``score_max``
        Range of its score over those runs (NaN when there are none, i.e. the
        unit is the only efficient unit).
    ``peer_count``
        Number of *other* units that have this unit as a peer (lambda > ``PEER_TOL``)
        on the full data.
    ``influence``
        For efficient units: the largest absolute change in any other unit's
        score when this unit is removed; 0 for inefficient units (removing a
        dominated unit does not change the frontier).
    ``robust_efficient``
        The unit is efficient (with zero slacks), stays efficient in every run
        where it is present, and is a peer for at least one other unit.
    ``status``
        ``"robust efficient"`` as above; ``"weakly efficient"`` for a unit with
        score one but positive slacks (it is projected onto other units);
        ``"self-identifier"`` for an efficient unit that is a peer only for
        itself (it defines the frontier where no other unit is evaluated,
        typically through an unusual input/output mix); ``"efficient (not
        robust)"`` for an efficient unit that loses efficiency when another
        unit is removed; ``"inefficient"`` otherwise.
    """
    rts, orientation = _check_options(rts, orientation)
    base = dea(X, Y, rts, orientation, ids)
    data = _prepare(X, Y, ids)
    n = len(data.ids)
    xs, ys = data.x / _column_scale(data.x), data.y / _column_scale(data.y)
    efficient = base.efficient

    loo = np.full((n, n), np.nan)  # loo[j, k]: score of k without j
    for j in np.flatnonzero(efficient):
        reference = np.ones(n, dtype=bool)
        reference[j] = False
        others = np.flatnonzero(reference)
        loo[j, others] = _scores(xs, ys, rts, orientation, others, reference)

    present = ~np.isnan(loo)
    loo_runs = present.sum(axis=0)
    masked = np.where(present, loo, np.nan)
    with np.errstate(all="ignore"):
        score_min = np.array([np.nanmin(masked[:, k]) if loo_runs[k] else np.nan for k in range(n)])
        score_max = np.array([np.nanmax(masked[:, k]) if loo_runs[k] else np.nan for k in range(n)])

    peer_matrix = base.lambdas > PEER_TOL
    np.fill_diagonal(peer_matrix, False)
    peer_count = peer_matrix.sum(axis=0)

    influence = np.zeros(n)
    for j in np.flatnonzero(efficient):
        change = np.abs(loo[j] - base.score)
        influence[j] = np.nanmax(change) if np.isfinite(change).any() else 0.0

    stays = np.array(
        [loo_runs[k] == 0 or bool(np.all(np.abs(masked[present[:, k], k] - 1.0) <= EFFICIENCY_TOL)) for k in range(n)]
    )
    scaled_slack = (base.slack_x / _column_scale(data.x)).sum(axis=1) + (base.slack_y / _column_scale(data.y)).sum(
        axis=1
    )
    weak = efficient & (scaled_slack > EFFICIENCY_TOL)
    robust = efficient & ~weak & stays & (peer_count > 0)
    status = np.select(
        [~efficient, robust, weak, peer_count == 0],
        ["inefficient", "robust efficient", "weakly efficient", "self-identifier"],
        default="efficient (not robust)",
    )
    return pd.DataFrame(
        {
            "id": base.ids,
            "score": base.score,
            "efficient": efficient,
            "loo_runs": loo_runs,
            "score_min": score_min,
            "score_max": score_max,
            "peer_count": peer_count,
            "influence": influence,
            "robust_efficient": robust,
            "status": status,
        }
    )


# --------------------------------------------------------------------------- #
# Sample-size rule and data warnings
# --------------------------------------------------------------------------- #
#: Cooper, Seiford & Tone (2007): n >= max(m * s, 3 * (m + s)).
DEFAULT_MIN_UNITS_RULE: dict[str, Any] = {"per_variable": 3, "product": True}


def min_units(n_inputs: int, n_outputs: int, rule: dict[str, Any] | None = None) -> int:
    """Smallest number of (distinct) units for which DEA scores are published.

    ``rule`` is ``{"per_variable": c, "product": bool}`` (default
    :data:`DEFAULT_MIN_UNITS_RULE`): ``n >= max(m * s if product else 0, c * (m + s))``
    for ``m`` inputs and ``s`` outputs, the rule of thumb of Cooper, Seiford and
    Tone (2007). With too few units relative to the number of variables most
    units end up on the frontier and the scores do not discriminate.
    """
    rule = {**DEFAULT_MIN_UNITS_RULE, **(rule or {})}
    unknown = set(rule) - set(DEFAULT_MIN_UNITS_RULE)
    if unknown:
        raise DeaInputError(f"unknown keys in the sample-size rule: {', '.join(sorted(unknown))}")
    m, s = int(n_inputs), int(n_outputs)
    by_product = m * s if rule["product"] else 0
    return max(by_product, int(rule["per_variable"]) * (m + s))


def duplicate_groups(X: Any, Y: Any, ids: Sequence | None = None) -> list[list]:
    """Groups (two or more ids) of units with identical inputs and outputs."""
    data = _prepare(X, Y, ids)
    rows = np.hstack([data.x, data.y])
    _, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    inverse = np.asarray(inverse).ravel()
    groups = [[data.ids[k] for k in np.flatnonzero(inverse == g)] for g in np.flatnonzero(counts > 1)]
    return sorted(groups, key=lambda group: _natural_key(group[0]))


def sample_warnings(
    X: Any, Y: Any, ids: Sequence | None = None, rule: dict[str, Any] | None = None, *, size_rule: bool = True
) -> list[DeaWarning]:
    """The :class:`DeaWarning` s that apply to a data set (not emitted, returned).

    ``one_unit``: a single unit is efficient by construction. ``duplicate_units``:
    identical rows share one frontier point and each other as peers.
    ``below_min_units`` (when ``size_rule``): fewer distinct units than
    :func:`min_units`.
    """
    data = _prepare(X, Y, ids)
    n, m, s = len(data.ids), data.x.shape[1], data.y.shape[1]
    out: list[DeaWarning] = []
    if n == 1:
        out.append(
            DeaWarning(
                "one_unit",
                f"only one unit ({data.ids[0]!r}): its score is 1 by construction and says nothing about efficiency",
                f"maar één eenheid ({data.ids[0]!r}): de score is per definitie 1 en zegt niets over efficiëntie",
            )
        )
    groups = duplicate_groups(data.x, data.y, data.ids)
    if groups:
        listed = "; ".join(", ".join(str(u) for u in g) for g in groups)
        out.append(
            DeaWarning(
                "duplicate_units",
                f"units with identical inputs and outputs: {listed}; they get the same score and count once "
                "for the sample-size rule",
                f"eenheden met identieke inputs en outputs: {listed}; ze krijgen dezelfde score en tellen één keer "
                "mee voor de minimale steekproefomvang",
            )
        )
    distinct = n - sum(len(g) - 1 for g in groups)
    need = min_units(m, s, rule)
    if size_rule and n > 1 and distinct < need:
        out.append(
            DeaWarning(
                "below_min_units",
                f"{distinct} distinct units for {m} input(s) and {s} output(s); at least {need} are needed "
                f"(n >= max(m*s, 3*(m+s)), Cooper, Seiford & Tone 2007): scores do not discriminate well",
                f"{distinct} verschillende eenheden bij {m} input(s) en {s} output(s); er zijn er minstens {need} "
                f"nodig (n >= max(m*s, 3*(m+s)), Cooper, Seiford & Tone 2007): de scores onderscheiden slecht",
            )
        )
    return out


# --------------------------------------------------------------------------- #
# Simar-Wilson bootstrap
# --------------------------------------------------------------------------- #
@dataclass
class DeaBootResult:
    """Result of :func:`dea_boot` (Farrell scale, like :class:`DeaResult`).

    ``score`` is the DEA score; ``score_bc`` the bias-corrected score;
    ``bias = score - score_bc``; ``ci_low``/``ci_high`` the ``1 - alpha``
    interval for the true efficiency; ``boot`` the ``(n, n_boot)`` bootstrap
    scores; ``bandwidth`` the kernel bandwidth on the distance scale (NaN, and
    the bootstrap columns NaN, when no unit is inefficient).
    Input orientation: ``ci_low <= ci_high <= score`` and ``score_bc <= score``.
    Output orientation: ``score <= ci_low <= ci_high`` and ``score_bc >= score``.
    """

    ids: list
    score: np.ndarray
    score_bc: np.ndarray
    bias: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    var: np.ndarray
    boot: np.ndarray
    bandwidth: float
    alpha: float
    n_boot: int
    rts: str
    orientation: str

    def to_frame(self) -> pd.DataFrame:
        """``id, score, score_bc, bias, ci_low, ci_high``."""
        return pd.DataFrame(
            {
                "id": list(self.ids),
                "score": self.score,
                "score_bc": self.score_bc,
                "bias": self.bias,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )


def _bandwidth(dist: np.ndarray) -> float:
    """Silverman's rule on the reflected distances, as in Daraio & Simar (2007, eqs. 3.23-3.26).

    Distances equal to one are left out (their spike would shrink the bandwidth);
    the others are reflected about one, ``h0 = 0.9 min(sd, IQR/1.349) (2n')^(-1/5)``
    on that sample of ``2n'`` values, and ``h = h0 * sd(dist)/sd(reflected) *
    (2n'/n)^(1/5)`` adjusts it back to the ``n`` original distances. NaN when
    every distance is one.
    """
    above = dist[dist > 1.0 + EFFICIENCY_TOL]
    if above.size == 0:
        return float("nan")
    reflected = np.concatenate([above, 2.0 - above])
    sd_reflected = np.std(reflected, ddof=1)
    spread = sd_reflected
    q75, q25 = np.quantile(reflected, [0.75, 0.25])
    iqr = (q75 - q25) / 1.349
    if EFFICIENCY_TOL < iqr < spread:
        spread = iqr
    h0 = 0.9 * spread * reflected.size ** (-0.2)
    sd_dist = np.std(dist, ddof=1) if dist.size > 1 else sd_reflected
    return float(h0 * sd_dist / sd_reflected * (reflected.size / dist.size) ** 0.2)


def _smoothed_draws(dist: np.ndarray, h: float, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_boot, n)`` draws from the reflected kernel density of the distances (>= 1).

    Simar & Wilson (1998), steps [2]-[3]: resample the reflected sample
    ``{d_j, 2 - d_j}``, add ``h * N(0, 1)`` noise, shrink towards the draw's mean by
    ``(1 + h^2 / var)^(-1/2)`` so the draws keep the sample variance, and reflect
    values below one back above it.
    """
    n = dist.size
    reflected = np.concatenate([dist, 2.0 - dist])
    variance = np.var(reflected, ddof=1)
    beta = reflected[rng.integers(0, reflected.size, size=(n_boot, n))]
    noisy = beta + h * rng.standard_normal((n_boot, n))
    mean = beta.mean(axis=1, keepdims=True)
    draws = mean + (noisy - mean) / np.sqrt(1.0 + h * h / variance)
    return np.where(draws < 1.0, 2.0 - draws, draws)


def dea_boot(
    X: Any,
    Y: Any,
    rts: str = "vrs",
    orientation: str = "in",
    ids: Sequence | None = None,
    *,
    n_boot: int = 200,
    alpha: float = 0.05,
    seed: Any = None,
    bandwidth: float | None = None,
) -> DeaBootResult:
    """Simar–Wilson (1998) smoothed (homogeneous) bootstrap of the DEA scores.

    Works, like R's ``Benchmarking::dea.boot``, on distances ``d >= 1``: the
    Shephard input distance ``1/theta`` for input orientation, the Farrell output
    score ``phi`` for output orientation. Per replication ``b``:

    1. draw ``d*_j`` from the reflected kernel density of the ``d_j``
       (:func:`_smoothed_draws`, bandwidth :func:`_bandwidth` unless given);
    2. pseudo-data: input orientation ``x*_j = (d*_j / d_j) x_j`` (the unit is
       projected onto the estimated frontier and pushed out by its draw), outputs
       unchanged; output orientation ``y*_j = (d_j / d*_j) y_j``, inputs unchanged;
    3. re-estimate every original unit against the pseudo-sample: ``d*_kb``.

    Then ``bias_d = mean_b(d*_kb) - d_k``, ``d_bc = d_k - bias_d`` and the interval
    ``d_k + [q_{alpha/2}, q_{1-alpha/2}]`` of ``d_k - d*_kb`` (Simar & Wilson 1998,
    2000; quantiles of type 9 as in Benchmarking). Results are converted back to
    the Farrell scale of :func:`dea` (``theta = 1/d`` for input orientation, with
    the interval's ends swapped).

    ``seed`` is anything :func:`numpy.random.default_rng` accepts; the same seed
    gives the same result. When every unit is efficient the density is degenerate:
    a ``bootstrap_degenerate`` :class:`DeaWarning` is emitted and the bootstrap
    columns are NaN.
    """
    rts, orientation = _check_options(rts, orientation)
    n_boot = int(n_boot)
    if n_boot < 2:
        raise DeaInputError(f"n_boot must be at least 2, got {n_boot}")
    if not 0 < float(alpha) < 1:
        raise DeaInputError(f"alpha must be between 0 and 1, got {alpha}")
    data = _prepare(X, Y, ids)
    n = len(data.ids)
    xs, ys = data.x / _column_scale(data.x), data.y / _column_scale(data.y)
    score = _radial_batch(
        np.broadcast_to(xs.T, (n, *xs.T.shape)), np.broadcast_to(ys.T, (n, *ys.T.shape)), xs, ys, rts, orientation
    )
    dist = 1.0 / score if orientation == "in" else score.copy()
    h = _bandwidth(dist) if bandwidth is None else float(bandwidth)
    nan = np.full(n, np.nan)
    if not np.isfinite(h) or h <= 0:
        warnings.warn(
            DeaWarning(
                "bootstrap_degenerate",
                "every unit is efficient: the bootstrap has no spread of scores to resample; no intervals",
                "alle eenheden zijn efficiënt: de bootstrap heeft geen spreiding in scores; geen intervallen",
            ),
            stacklevel=2,
        )
        return DeaBootResult(
            ids=data.ids,
            score=score,
            score_bc=nan,
            bias=nan,
            ci_low=nan,
            ci_high=nan,
            var=nan,
            boot=np.full((n, n_boot), np.nan),
            bandwidth=float("nan"),
            alpha=float(alpha),
            n_boot=n_boot,
            rts=rts,
            orientation=orientation,
        )

    rng = np.random.default_rng(seed)
    draws = _smoothed_draws(dist, h, n_boot, rng)  # (B, n)
    ratio = draws / dist[None, :]
    # pseudo-samples (B, n, m) and (B, n, s), each reduced to its undominated units
    if orientation == "in":
        ref_x, ref_y = xs[None, :, :] * ratio[:, :, None], np.broadcast_to(ys, (n_boot, *ys.shape))
    else:
        ref_x, ref_y = np.broadcast_to(xs, (n_boot, *xs.shape)), ys[None, :, :] / ratio[:, :, None]
    keep = [np.flatnonzero(_undominated(ref_x[b].T, ref_y[b].T)) for b in range(n_boot)]
    width = max(len(k) for k in keep)
    # pad every reference set to the same width by repeating a kept unit (a repeated
    # column does not change the LP) so all B * n LPs can be stacked
    index = np.array([np.concatenate([k, np.full(width - len(k), k[0])]) for k in keep])  # (B, width)
    rows = np.arange(n_boot)[:, None]
    xr = np.transpose(ref_x[rows, index], (0, 2, 1))  # (B, m, width)
    yr = np.transpose(ref_y[rows, index], (0, 2, 1))  # (B, s, width)
    m, s = xs.shape[1], ys.shape[1]
    theta = (
        _radial_batch(
            np.broadcast_to(xr[:, None], (n_boot, n, m, width)).reshape(-1, m, width),
            np.broadcast_to(yr[:, None], (n_boot, n, s, width)).reshape(-1, s, width),
            np.broadcast_to(xs, (n_boot, n, m)).reshape(-1, m),
            np.broadcast_to(ys, (n_boot, n, s)).reshape(-1, s),
            rts,
            orientation,
        )
        .reshape(n_boot, n)
        .T
    )  # (n, B)
    boot_dist = 1.0 / theta if orientation == "in" else theta

    bias_d = np.nanmean(boot_dist, axis=1) - dist
    dist_bc = dist - bias_d
    q_lo, q_hi = np.nanquantile(dist[:, None] - boot_dist, [alpha / 2, 1 - alpha / 2], axis=1, method="normal_unbiased")
    lo_d, hi_d = dist + q_lo, dist + q_hi
    if orientation == "in":
        score_bc, ci_low, ci_high, boot = 1.0 / dist_bc, 1.0 / hi_d, 1.0 / lo_d, 1.0 / boot_dist
    else:
        score_bc, ci_low, ci_high, boot = dist_bc, lo_d, hi_d, boot_dist
    return DeaBootResult(
        ids=data.ids,
        score=score,
        score_bc=score_bc,
        bias=score - score_bc,
        ci_low=ci_low,
        ci_high=ci_high,
        var=np.nanvar(boot, axis=1, ddof=1),
        boot=boot,
        bandwidth=h,
        alpha=float(alpha),
        n_boot=n_boot,
        rts=rts,
        orientation=orientation,
    )


# --------------------------------------------------------------------------- #
# CSV front end
# --------------------------------------------------------------------------- #
def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _separator(text: str) -> str:
    """The field separator of a CSV text: ``;``, tab or ``,`` (the most frequent in the header line)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: header.count(sep) for sep in (";", "\t", ",")}
    sep = max(counts, key=lambda s: (counts[s], s != ","))
    return sep if counts[sep] else ","


def _load_csv(
    path: str | Path, inputs: Sequence[str], outputs: Sequence[str], id_col: str | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    path = Path(path)
    if not path.is_file():
        raise DeaInputError(f"file not found: {path}")
    inputs, outputs = _split_names(inputs, "inputs"), _split_names(outputs, "outputs")
    both = set(inputs) & set(outputs)
    if both:
        raise DeaInputError(f"columns listed as both input and output: {', '.join(sorted(both))}")
    text = _read_text(path)
    sep = _separator(text)
    try:
        table = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DeaInputError(f"cannot parse {path}: {exc}") from None
    table.columns = [str(c).strip() for c in table.columns]
    if table.empty:
        raise DeaInputError(f"{path} contains no data rows")

    if id_col is None:
        id_col = table.columns[0]
        for column in table.columns:
            blank_name = column == "" or column.startswith("Unnamed:")
            if not (blank_name and (table[column].str.strip() == "").all()):
                id_col = column
                break
    available = ", ".join(repr(c) for c in table.columns)
    for column in [id_col, *inputs, *outputs]:
        if column not in table.columns:
            raise DeaInputError(f"column {column!r} not found in {path.name}; available columns: {available}")

    ids = [v.strip() for v in table[id_col]]
    for row, unit in enumerate(ids):
        if unit == "":
            raise DeaInputError(f"{path.name} line {row + 2}: empty unit id in column {id_col!r}")

    file_decimal_comma = convention_of_separator(sep)

    def numeric(columns: list[str]) -> pd.DataFrame:
        values = np.empty((len(table), len(columns)))
        for i, column in enumerate(columns):
            decimal_comma = column_decimal_comma(table[column], file_decimal_comma)
            for row, cell in enumerate(table[column]):
                where = f"{path.name} line {row + 2} (unit {ids[row]!r}), column {column!r}"
                parsed = parse_number(cell, decimal_comma)
                if parsed.problem == "empty":
                    raise DeaInputError(f"{where}: missing value")
                if not parsed.ok:
                    raise DeaInputError(
                        f"{path.name} regel {row + 2} (eenheid {ids[row]!r}), kolom {column!r}: {parsed.reason_nl} / "
                        f"{where}: {parsed.reason_en}"
                    )
                values[row, i] = parsed.value
        return pd.DataFrame(values, columns=columns, index=pd.Index(ids, name=id_col))

    return numeric(inputs), numeric(outputs)


def _split_names(names: Sequence[str] | str, label: str) -> list[str]:
    if isinstance(names, str):
        names = names.split(",")
    result = [str(n).strip() for n in names if str(n).strip()]
    if not result:
        raise DeaInputError(f"no {label} given")
    return result


def dea_csv(
    path: str | Path,
    inputs: Sequence[str],
    outputs: Sequence[str],
    rts: str = "crs",
    orientation: str = "in",
    id_col: str | None = None,
) -> pd.DataFrame:
    """Run :func:`dea` on a CSV file and return :meth:`DeaResult.to_frame`.

    The separator (``,``, ``;`` or tab) is detected; numbers are read with
    :func:`pipeline.core.numbers.parse_number`: a ``;``/tab separated file has
    decimal commas and thousands dots (``1.500`` is 1500) unless a column's
    values prove decimal points, and an ambiguous value (``1.5`` there) is
    rejected, never guessed. The unit id is ``id_col`` or
    else the first column (a leading column that is unnamed and entirely blank
    is skipped). ``inputs``/``outputs`` are column names (a list, or one
    comma-separated string).

    Raises
    ------
    DeaInputError
        Naming the missing column, or the line, unit and column of a missing,
        non-numeric or negative value.
    """
    rts, orientation = _check_options(rts, orientation)
    x, y = _load_csv(path, inputs, outputs, id_col)
    return dea(x, y, rts, orientation).to_frame()


def main_dea_cli(
    path: str | Path,
    inputs: Sequence[str] | str,
    outputs: Sequence[str] | str,
    rts: str = "crs",
    orientation: str = "in",
    id_col: str | None = None,
    out_path: str | Path | None = None,
    *,
    slacks: bool = False,
    super_eff: bool = False,
    bootstrap: int = 0,
    seed: int | None = None,
    alpha: float = 0.05,
    robust: bool = False,
    min_units_rule: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Back end of ``rbb dea FILE.csv --inputs a,b --outputs c,d [...] [-o OUT.csv]``.

    Returns the :func:`dea_csv` table, with extra columns on request, and writes it
    to ``out_path`` (UTF-8, comma separated, no index) when given:

    * ``bootstrap=N`` (with ``seed``): ``score_bc, ci_low, ci_high, bias`` right after
      ``score`` (:func:`dea_boot`, ``1 - alpha`` intervals);
    * ``super_eff``: ``super_efficiency`` after those;
    * ``slacks``: ``slack_<name>`` per input and output, at the end;
    * ``robust``: ``robust_status, loo_runs, loo_score_min, loo_score_max,
      peer_count, influence`` (:func:`robustness`), at the end.

    Emits each applicable :class:`DeaWarning` once: one unit, duplicated units, a
    sample below :func:`min_units` (``min_units_rule``) and a degenerate bootstrap.
    The scores are computed and written in every case.
    """
    rts, orientation = _check_options(rts, orientation)
    inputs, outputs = _split_names(inputs, "inputs"), _split_names(outputs, "outputs")
    x, y = _load_csv(path, inputs, outputs, id_col)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeaWarning)
        res = dea(x, y, rts, orientation, warn=False)
        table = res.to_frame()
        at = 2  # after id, score
        if bootstrap:
            boot = dea_boot(x, y, rts, orientation, n_boot=bootstrap, alpha=alpha, seed=seed)
            for name in ("score_bc", "ci_low", "ci_high", "bias"):
                table.insert(at, name, getattr(boot, name))
                at += 1
        if super_eff:
            table.insert(at, "super_efficiency", super_efficiency(x, y, rts, orientation))
        if slacks:
            for i, name in enumerate(res.input_names):
                table[f"slack_{name}"] = res.slack_x[:, i]
            for r, name in enumerate(res.output_names):
                table[f"slack_{name}"] = res.slack_y[:, r]
        if robust:
            rob = robustness(x, y, rts, orientation)
            table["robust_status"] = rob["status"].to_numpy()
            table["loo_runs"] = rob["loo_runs"].to_numpy()
            table["loo_score_min"] = rob["score_min"].to_numpy()
            table["loo_score_max"] = rob["score_max"].to_numpy()
            table["peer_count"] = rob["peer_count"].to_numpy()
            table["influence"] = rob["influence"].to_numpy()
    found = sample_warnings(x, y, rule=min_units_rule) + [
        w.message for w in caught if isinstance(w.message, DeaWarning) and w.message.code == "bootstrap_degenerate"
    ]
    for w in caught:
        if not isinstance(w.message, DeaWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    seen: set[str] = set()
    for warning in found:
        if warning.code not in seen:
            seen.add(warning.code)
            warnings.warn(warning, stacklevel=2)
    if out_path is not None:
        out = Path(out_path)
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False)
    return table
