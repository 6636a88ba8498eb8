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
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linprog

__all__ = [
    "DeaInputError",
    "DeaResult",
    "dea",
    "super_efficiency",
    "robustness",
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
                f"{kind} {names[i]!r} of unit {ids[k]!r} (row {k + 1}) "
                f"is not a finite number ({values[k, i]})"
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
    """Phase-1 scores of ``units`` against the reference units (boolean mask)."""
    xr, yr = xs[reference].T, ys[reference].T
    out = np.full(len(units), np.nan)
    for pos, k in enumerate(units):
        out[pos] = _radial(xr, yr, xs[k], ys[k], rts, orientation)[0]
    return out


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


def robustness(
    X: Any, Y: Any, rts: str = "crs", orientation: str = "in", ids: Sequence | None = None
) -> pd.DataFrame:
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
        [
            loo_runs[k] == 0 or bool(np.all(np.abs(masked[present[:, k], k] - 1.0) <= EFFICIENCY_TOL))
            for k in range(n)
        ]
    )
    scaled_slack = (base.slack_x / _column_scale(data.x)).sum(axis=1) + (
        base.slack_y / _column_scale(data.y)
    ).sum(axis=1)
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
# CSV front end
# --------------------------------------------------------------------------- #
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d*,\d+(?:[eE][-+]?\d+)?\s*$")


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _sniff(text: str) -> tuple[str, str]:
    """Return ``(separator, decimal)`` for a CSV text: ``,``/``;``/tab and ``.``/``,``."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: header.count(sep) for sep in (";", "\t", ",")}
    sep = max(counts, key=lambda s: (counts[s], s != ","))
    if counts[sep] == 0:
        sep = ","
    decimal = "."
    if sep != ",":
        reader = csv.reader(io.StringIO(text), delimiter=sep)
        next(reader, None)
        if any(_DECIMAL_COMMA.match(cell) for row in reader for cell in row):
            decimal = ","
    return sep, decimal


def _parse_number(text: str, decimal: str) -> float:
    value = text.strip()
    if decimal == ",":
        value = value.replace(",", ".")
    return float(value)


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
    sep, decimal = _sniff(text)
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

    def numeric(columns: list[str]) -> pd.DataFrame:
        values = np.empty((len(table), len(columns)))
        for i, column in enumerate(columns):
            for row, cell in enumerate(table[column]):
                where = f"{path.name} line {row + 2} (unit {ids[row]!r}), column {column!r}"
                if cell.strip() == "":
                    raise DeaInputError(f"{where}: missing value")
                try:
                    values[row, i] = _parse_number(cell, decimal)
                except ValueError:
                    raise DeaInputError(f"{where}: {cell!r} is not a number") from None
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

    The separator (``,``, ``;`` or tab) and a decimal comma (with ``;``/tab
    separated files) are detected automatically. The unit id is ``id_col`` or
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
) -> pd.DataFrame:
    """Back end of ``rbb dea FILE.csv --inputs a,b --outputs c,d [...] [-o OUT.csv]``.

    Returns the :func:`dea_csv` table and writes it to ``out_path`` (UTF-8,
    comma separated, no index) when given.
    """
    inputs, outputs = _split_names(inputs, "inputs"), _split_names(outputs, "outputs")
    table = dea_csv(path, inputs, outputs, rts, orientation, id_col)
    if out_path is not None:
        out = Path(out_path)
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False)
    return table
