"""Disclosure control: the only way figures about other members reach a member's report.

A member sees its own figures and nobody else's (docs/confidentiality.md). The organisation report is built
from a :class:`MemberView`, never from the warehouse rows themselves: the view hands out the member's own rows
exactly and everything that depends on other members only after the rules below.

1. No statistic over fewer than ``MIN_MEMBERS`` members with a value, in any scope (all members included):
   no median, band, position, percentile, quartile, significance, peer points, composite or DEA result.
2. Statistics and peer points at display precision (the catalogue's decimals), never at binary precision,
   so no exact numerator or denominator can be read back; a statistic whose display interval would still pin
   down a member's exact fraction moves one display unit (:func:`display_statistic`); the p25–p75 band only
   from ``BAND_MIN_MEMBERS``.
3. Peer points: sorted by their rounded value (the order says nothing a value does not), no labels, ids,
   hover text or custom data; a value from fewer observations than :func:`point_floor` is not drawn as a
   point (rounding cannot hide a fraction with a small denominator), it still counts in the statistics.
4. Cluster statistics only for the member's own cluster and only when published.
5. Composite: own scores as whole numbers on the 0–100 scale, positions and the rank interval; the index
   imputes only with published statistics (``pipeline.compute.engine.published_imputation``).
6. DEA: the own score at two decimals when at least ``MIN_MEMBERS`` organisations were compared; no
   super-efficiency, reference organisations, weights or targets.

:func:`seal` is the last check on every figure of an organisation report: peer points that carry labels,
ids, hover text or custom data, or any trace with ids or custom data, are refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pipeline.metadata.models import load as load_metadata

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.report.data import ReportData


@lru_cache(maxsize=1)
def _config() -> dict[str, Any]:
    return load_metadata("indicators.yaml")["disclosure"]


MIN_MEMBERS = int(_config().get("min_members", 5))
BAND_MIN_MEMBERS = int(_config().get("band_min_members", 10))
COMPETING_FRACTIONS = float(_config().get("competing_fractions", 7))
SCORE_DECIMALS = int(_config().get("composite_score_decimals", 0))
DEA_DECIMALS = int(_config().get("dea_score_decimals", 2))
FORBIDDEN_TRACE_KEYS = ("text", "hovertext", "customdata", "ids", "meta", "texttemplate", "hovertemplate")
PEER_GROUP = "peers"


class DisclosureError(RuntimeError):
    """A figure for a member would carry something the disclosure rules do not allow."""


def display(value: Any, decimals: int) -> float | None:
    """A number as a member may see it: rounded to ``decimals`` (None for missing values)."""
    if value is None:
        return None
    x = float(value)
    if math.isnan(x) or math.isinf(x):
        return None
    r = round(x, max(0, int(decimals)))
    return 0.0 if r == 0 else r


def _simplest_in(lo: Fraction, hi: Fraction) -> Fraction:
    """The fraction with the smallest denominator in [lo, hi] (Stern–Brocot), 0 <= lo <= hi."""
    fl = math.floor(lo)
    if fl == lo:
        return Fraction(fl)
    if fl + 1 <= hi:
        return Fraction(fl + 1)
    return fl + 1 / _simplest_in(1 / (hi - fl), 1 / (lo - fl))


@lru_cache(maxsize=1 << 16)  # the same statistic is shown on many pages
def display_statistic(value: Any, decimals: int, scale: float) -> float | None:
    """A group statistic at display precision that does not pin down a member's exact fraction.

    A median or quartile can be one member's own value. When the simplest fraction within the rounding
    interval of the displayed number is that exact value (11/12 behind 91,7%), the number is moved one display
    unit away from the value, so the interval no longer holds it.
    """
    x = display(value, decimals)
    if x is None or x < 0:
        return x
    s = float(value)
    step = 10.0 ** (-max(0, int(decimals)))
    sc = Fraction(scale if scale else 1.0).limit_denominator(10**6)
    h = Fraction(1, 2 * 10 ** max(0, int(decimals)))
    shown = Fraction(repr(x))
    f = _simplest_in(max(Fraction(0), (shown - h) / sc), (shown + h) / sc)
    if x != s and math.isclose(float(f * sc), s, rel_tol=1e-12, abs_tol=1e-12):
        x = display(x + step if s <= x else x - step, decimals)
    return x


def point_floor(decimals: int, scale: float) -> int:
    """Fewest observations behind a value that may be drawn as an anonymous peer point.

    A value shown at ``decimals`` lies in an interval of half-width h = 0.5·10^-decimals / scale in ratio
    units. An attacker takes the simplest fraction in that interval (Stern–Brocot). Fractions with
    denominator up to Q have density about 3Q²/π², so the interval holds on average 6hQ²/π² fractions
    simpler than a true p/q with q ≥ Q; from ``COMPETING_FRACTIONS`` (7) of them the chance that the
    true fraction is the simplest is about e^-7 < 0.1%.
    """
    h = 0.5 * 10.0 ** (-max(0, int(decimals))) / (float(scale) if scale else 1.0)
    return max(1, math.ceil(math.sqrt(COMPETING_FRACTIONS * math.pi**2 / (6.0 * h))))


@dataclass(frozen=True)
class Peers:
    """The anonymous peer points of one indicator: rounded, sorted, plus how many were left out."""

    values: list[float]
    hidden: int
    floor: int


class MemberView:
    """Everything an organisation report may use, for one member and one year."""

    def __init__(self, data: ReportData, org_code: str, open_mode: bool = False) -> None:
        self._data = data
        self.org_code = org_code
        self.open_mode = open_mode
        self.year = data.year
        self.years = list(data.years)
        self.catalogue = data.catalogue
        self.org = data.orgs[org_code]
        self.cluster = self.org.get("cluster") or None
        self._ind = {ind["code"]: ind for ind in data.catalogue}
        self._has_data = any(s["org_code"] == org_code and s["in_force"] for s in data.submissions)

    # ------------------------------------------------------------------ the member's own rows (exact)

    def themes(self, lang: str) -> list[tuple[str, str]]:
        return self._data.themes(lang)

    @property
    def has_data(self) -> bool:
        """Whether the member has an accepted submission in force this year. Without one its own rows of this
        year are empty (no value, position, composite or DEA score); earlier years stay its own."""
        return self._has_data

    def _empty(self, year: int | None) -> bool:
        return (year is None or year == self.year) and not self.has_data

    def own(self, code: str, year: int | None = None) -> dict[str, Any] | None:
        if self._empty(year):
            return None
        row = self._data.values.get((self.org_code, self.year if year is None else year, code))
        if not row:
            return None
        return {
            k: row.get(k)
            for k in ("value", "ci_low", "ci_high", "flags", "rows_total", "rows_used", "rows_left_out", "left_out")
        }

    def own_lineage(self, code: str, year: int) -> dict[str, Any] | None:
        """The member's value in a year before its merger or rename, made up of its own predecessors (which
        are the member itself, so a member report may name them); None when it has its own value."""
        row = self._data.lineage.get((self.org_code, year, code))
        if not row or (self.org_code, year, code) in self._data.values:
            return None
        return {k: row.get(k) for k in ("value", "lineage_codes", "event_year", "flags")}

    def submission(self) -> dict[str, Any] | None:
        subs = [s for s in self._data.submissions if s["org_code"] == self.org_code and s["in_force"]]
        return subs[-1] if subs else None

    def state(self) -> str:
        """The member's submission status this year: accepted, accepted_with_warnings, rejected or missing."""
        row = next((r for r in self._data.status if r["org_code"] == self.org_code), None)
        if row is not None:
            return str(row["state"])
        return "accepted" if self.has_data else "missing"

    def latest_delivery(self) -> dict[str, Any] | None:
        """The member's latest delivery this year, whatever its status (None: nothing received)."""
        subs = [s for s in self._data.submissions if s["org_code"] == self.org_code]
        return subs[-1] if subs else None

    def errors(self, submission: dict[str, Any]) -> list[dict[str, Any]]:
        """The error findings of one of the member's own deliveries, in their order."""
        if submission["org_code"] != self.org_code:
            raise DisclosureError("a member sees the findings of its own deliveries only")
        return [
            f
            for f in self._data.findings
            if f["submission_id"] == submission["submission_id"] and f["severity"] == "error"
        ]

    def findings(self) -> list[dict[str, Any]]:
        sub = self.submission()
        if sub is None:
            return []
        return [f for f in self._data.findings if f["submission_id"] == sub["submission_id"]]

    def data_as_of(self):
        dates = [s["received_at"] for s in self._data.submissions if s.get("received_at") is not None]
        return max(dates) if dates else None

    # ------------------------------------------------------------------ group statistics (rules 1, 2, 4)

    def _decimals(self, code: str) -> int:
        return int(self._ind[code]["decimals"])

    def n_with_value(self, code: str, year: int | None = None) -> int:
        row = self._data.stats.get((self.year if year is None else year, code, "all"))
        return 0 if not row or row.get("n") is None else int(row["n"])

    def stat(self, code: str, year: int | None = None, scope: str = "all") -> dict[str, Any] | None:
        """Published statistics of all members (``scope="all"``) or of the member's own cluster, rounded."""
        if scope != "all" and scope != self.cluster:
            return None
        y = self.year if year is None else year
        row = self._data.stats.get((y, code, scope))
        if row is None or not row.get("published") or row.get("median") is None or row.get("n") is None:
            return None
        n = int(row["n"])
        if n < MIN_MEMBERS:
            return None
        dec = self._decimals(code)
        scale = float(self._ind[code].get("scale") or 1)
        band = n >= BAND_MIN_MEMBERS
        return {
            "median": display_statistic(row["median"], dec, scale),
            "n": n,
            "p25": display_statistic(row["p25"], dec, scale) if band else None,
            "p75": display_statistic(row["p75"], dec, scale) if band else None,
        }

    def comparison(self, code: str, year: int | None = None) -> dict[str, Any] | None:
        """The member's own position; anything relative to the group only when the group is large enough."""
        c = (
            None
            if self._empty(year)
            else self._data.comparisons.get((self.org_code, self.year if year is None else year, code))
        )
        if not c:
            return None
        out = {
            "trend_label": c.get("trend_label"),
            "rank": None,
            "n_orgs": None,
            "percentile": None,
            "quartile": None,
            "significance_label": None,
        }
        if c.get("n_orgs") is not None and int(c["n_orgs"]) >= MIN_MEMBERS:
            out.update(
                rank=c.get("rank"),
                n_orgs=int(c["n_orgs"]),
                percentile=c.get("percentile"),
                quartile=c.get("quartile"),
                significance_label=c.get("significance_label"),
            )
        return out

    def peers(self, code: str) -> Peers | None:
        """Every member's value this year as anonymous points (rule 3), or None below ``MIN_MEMBERS``."""
        ind = self._ind[code]
        dec = self._decimals(code)
        floor = point_floor(dec, float(ind.get("scale") or 1))
        rows = self._data.value_rows(self.year, code)
        if len(rows) < MIN_MEMBERS:
            return None
        shown = [display(v["value"], dec) for v in rows if _observations(v) >= floor]
        return Peers(values=sorted(shown), hidden=len(rows) - len(shown), floor=floor)

    def other_points(self, code: str) -> list[float] | None:
        """The anonymous points of :meth:`peers` without the member's own point (when it is drawn): what the
        member sees of the others, for the report's what-if. None below ``MIN_MEMBERS``."""
        peers = self.peers(code)
        if peers is None:
            return None
        others = list(peers.values)
        row = None if self._empty(None) else self._data.values.get((self.org_code, self.year, code))
        if row and row.get("value") is not None and _observations(row) >= peers.floor:
            mine = display(row["value"], self._decimals(code))
            if mine in others:
                others.remove(mine)
        return others

    def named_points(self, code: str) -> list[dict[str, Any]]:
        """Open mode (analysts only): every member by name and exact value."""
        if not self.open_mode:
            raise DisclosureError("named points exist only in open mode")
        out = []
        for org_code in sorted(self._data.orgs):
            v = self._data.values.get((org_code, self.year, code))
            if v and v.get("value") is not None:
                out.append({"org_code": org_code, "name": self._data.orgs[org_code]["name"], "value": v["value"]})
        return out

    # ------------------------------------------------------------------ composite and DEA (rules 5, 6)

    def strengths(self) -> list[dict[str, Any]]:
        out = []
        if not self.has_data:
            return out
        for r in self._data.strengths:
            if r["org_code"] != self.org_code:
                continue
            c = self.comparison(r["indicator_code"])
            if c and c.get("rank") is not None:
                out.append(r)
        return out

    def composite(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """(rank interval, scores per node) of the member, or (None, []) when the index is not shown."""
        unc = next((r for r in self._data.uncertainty if r["org_code"] == self.org_code), None)
        if (
            not self.has_data
            or not unc
            or unc.get("nominal_rank") is None
            or unc.get("n_units") is None
            or int(unc["n_units"]) < MIN_MEMBERS
        ):
            return None, []
        counts: dict[str, int] = {}
        for r in self._data.composite:
            if r.get("score") is not None:
                counts[r["node"]] = counts.get(r["node"], 0) + 1
        scores = []
        for r in self._data.composite:
            if r["org_code"] != self.org_code or counts.get(r["node"], 0) < MIN_MEMBERS:
                continue
            scores.append(
                {
                    "node": r["node"],
                    "level": r.get("level"),
                    "score": display(r.get("score"), SCORE_DECIMALS),
                    "rank": r.get("rank"),
                    "n": counts[r["node"]],
                }
            )
        lo = unc["rank_lo"] if unc.get("rank_lo") is not None else unc["nominal_rank"]
        hi = unc["rank_hi"] if unc.get("rank_hi") is not None else unc["nominal_rank"]
        interval = {
            "nominal_rank": int(unc["nominal_rank"]),
            "n_units": int(unc["n_units"]),
            "rank_lo": display(lo, 1),
            "rank_hi": display(hi, 1),
            "median_rank": display(unc.get("median_rank"), 1),
        }
        return interval, scores

    def dea(self) -> tuple[list[dict[str, Any]], bool]:
        """(own DEA rows that may be shown, whether DEA rows exist for the member at all)."""
        mine = [r for r in self._data.dea if r["org_code"] == self.org_code and self.has_data]
        shown = []
        for r in mine:
            if r.get("n_units") is None or int(r["n_units"]) < MIN_MEMBERS:
                continue
            if r.get("status") == "not_published" or r.get("score") is None:
                continue  # below the model's sample-size rule (docs/methods-dea.md): no score
            group = [
                g
                for g in self._data.dea
                if g.get("model") == r.get("model")
                and g.get("cluster") == r.get("cluster")
                and g.get("score") is not None
            ]
            peers = [p for p in str(r.get("peers") or "").split(";") if p and p != self.org_code]
            shown.append(
                {
                    "model": r.get("model"),
                    "cluster": r.get("cluster"),
                    "score": display(r.get("score"), DEA_DECIMALS),
                    "score_bc": display(r.get("score_bc"), DEA_DECIMALS),
                    "ci_low": display(r.get("ci_low"), DEA_DECIMALS),
                    "ci_high": display(r.get("ci_high"), DEA_DECIMALS),
                    # counts, never who: how many members form the reference, how many are on the frontier
                    "n_reference": len(peers),
                    "n_frontier": sum(1 for g in group if float(g["score"]) >= 0.9995),
                    "robust_status": r.get("robust_status"),
                    "n_units": int(r["n_units"]),
                    "inputs": r.get("inputs"),
                    "outputs": r.get("outputs"),
                    "rts": r.get("rts"),
                    "orientation": r.get("orientation"),
                    "peers": r.get("peers") if self.open_mode else None,
                }
            )
        return shown, bool(mine)

    # ------------------------------------------------------------------ comparator groups (docs/comparators.md)

    @property
    def comparators_computed(self) -> bool:
        """Whether this year's results hold comparator groups at all (results of an older version do not)."""
        return bool(self._data.comparator_groups)

    def comparator_sets(self) -> list[dict[str, Any]]:
        """The comparator sets this member is compared with this year: its default group first, then the
        analyst sets it belongs to. Each with its kind, code, analyst names, size and reason; never who is in it."""
        if not self.has_data and not any(g["org_code"] == self.org_code for g in self._data.comparator_groups):
            return []
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for g in self._data.comparator_groups:
            if g["org_code"] != self.org_code:
                continue
            key = (g["set_kind"], g["set_code"])
            if key in seen:
                continue
            named = self._data.comparator_sets.get(g["set_code"], {}) if g["set_kind"] == "analyst" else {}
            seen[key] = {
                "kind": g["set_kind"],
                "code": g["set_code"],
                "name_nl": named.get("name_nl"),
                "name_en": named.get("name_en"),
                "size": int(g["group_size"]),
                "reason_nl": g.get("reason_nl"),
                "reason_en": g.get("reason_en"),
            }
        return sorted(seen.values(), key=lambda s: (s["kind"] != "default", s["code"]))

    def comparator_profile(self) -> list[dict[str, Any]]:
        """The member's context against its default group's median (a statistic over at least MIN_MEMBERS
        comparators), per context variable; for a categorical variable how many share the member's category."""
        out = []
        for r in self._data.comparator_profile:
            if r["org_code"] != self.org_code or int(r.get("group_size") or 0) < MIN_MEMBERS:
                continue
            out.append(dict(r))
        return out

    def comparator_stat(self, code: str, kind: str, set_code: str) -> dict[str, Any] | None:
        """A comparator set's published statistics for one indicator, rounded like :meth:`stat`, with the
        member's quartile class and significance in it; None when not published (fewer than MIN_MEMBERS values,
        or left out by the differencing check). No count, rank or per-peer value."""
        row = self._data.comparator_stats.get((self.org_code, kind, set_code, code))
        if row is None or not row.get("published") or row.get("n") is None or int(row["n"]) < MIN_MEMBERS:
            return None
        if self._set_values(code, kind, set_code) < MIN_MEMBERS:
            return None  # counted again from the values themselves: the layer does not trust a stored n alone
        dec = self._decimals(code)
        scale = float(self._ind[code].get("scale") or 1)
        band = int(row["n"]) >= BAND_MIN_MEMBERS
        return {
            "median": display_statistic(row["median"], dec, scale),
            "p25": display_statistic(row["p25"], dec, scale) if band else None,
            "p75": display_statistic(row["p75"], dec, scale) if band else None,
            "quartile": row.get("quartile") if self.has_data else None,
            "significance_label": row.get("significance_label") if self.has_data else None,
        }

    def _set_values(self, code: str, kind: str, set_code: str) -> int:
        """How many members of the set (a default group without the member, an analyst set with it) have a
        value for ``code`` this year."""
        members = {
            g["comparator_code"]
            for g in self._data.comparator_groups
            if g["org_code"] == self.org_code and g["set_kind"] == kind and g["set_code"] == set_code
        }
        if kind == "analyst":
            members.add(self.org_code)
        return sum(1 for m in members if (self._data.values.get((m, self.year, code)) or {}).get("value") is not None)

    def comparator_hidden(self, code: str, kind: str, set_code: str) -> str | None:
        """Why a set's statistics are not shown for an indicator: 'few' (below MIN_MEMBERS values) or
        'differencing'; None when shown or when the member has no such set."""
        row = self._data.comparator_stats.get((self.org_code, kind, set_code, code))
        if row is None:
            return None
        if self._set_values(code, kind, set_code) < MIN_MEMBERS:
            return "few"
        if row.get("published") and int(row.get("n") or 0) >= MIN_MEMBERS:
            return None
        return "differencing" if str(row.get("suppressed_reason") or "").startswith("differencing") else "few"

    def dea_hidden(self) -> list[dict[str, Any]]:
        """The member's DEA models below the sample-size rule: model, units in the comparison and units needed."""
        out = []
        for r in self._data.dea:
            if r["org_code"] != self.org_code or not self.has_data or r.get("status") != "not_published":
                continue
            out.append(
                {
                    "model": r.get("model"),
                    "inputs": r.get("inputs"),
                    "outputs": r.get("outputs"),
                    "n_units": int(r["n_units"]) if r.get("n_units") is not None else 0,
                    "min_units": int(r["min_units"]) if r.get("min_units") is not None else None,
                }
            )
        return out


def _observations(row: dict[str, Any]) -> float:
    """Observations behind a value: n (cases, respondents), else the denominator."""
    for key in ("n", "denominator"):
        x = row.get(key)
        if x is not None and not (isinstance(x, float) and math.isnan(x)):
            return float(x)
    return 0.0


def seal(fig: dict[str, Any], open_mode: bool = False) -> dict[str, Any]:
    """The last check on a figure for a member.

    Peer traces (``legendgroup: "peers"``) carry only their x and y: no labels, ids, hover text or custom
    data. No trace carries ids or custom data, and text or hover text on any trace are labels (strings),
    never numbers.
    """
    if open_mode:
        return fig
    for trace in fig.get("data", []):
        name = trace.get("name")
        if trace.get("legendgroup") == PEER_GROUP:
            bad = [k for k in FORBIDDEN_TRACE_KEYS if k in trace]
            if bad or trace.get("hoverinfo") != "skip":
                raise DisclosureError(f"peer points carry {bad or 'hover values'} (trace {name!r})")
        for key in ("customdata", "ids"):
            if key in trace:
                raise DisclosureError(f"a figure for a member carries {key} (trace {name!r})")
        for key in ("text", "hovertext"):
            if key in trace and not all(isinstance(x, str) for x in _as_list(trace[key])):
                raise DisclosureError(f"{key} of trace {name!r} must be labels, not numbers")
    return fig


def _as_list(x: Any) -> list[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]
