"""Organisation identity across years: which codes stand for an organisation in an earlier year.

The register (``organisations.csv``) links organisations through ``predecessor_codes`` (``;``-separated)
and ``successor_code``, with ``member_since`` / ``member_until``. From these links, for an organisation and a
year, :func:`lineage` gives the codes whose figures make up that organisation in that year:

* the organisation itself while it is a member;
* a **rename** (A becomes C): A's code in A's years, so C's series is unbroken;
* a **merger** (A and B become C, or B is absorbed into A): all of them together in the years before the
  merger; their additive figures (counts, FTE, costs) are summed and ratios are recomputed from the summed
  numerators and denominators, never averaged;
* a **split** (A becomes B and C: A is named as predecessor by more than one organisation): the series
  breaks. The register does not say which share of A each successor took over, and assuming one would
  invent figures, so B and C start their own series in their first year.

A predecessor link counts for the years before the predecessor's membership ended (``member_until``); a
link without an end year counts for the years before the successor became a member. Pure: everything
comes from the register given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.metadata.registry import Field, Organisation

# units of numeric fields that are not counts, FTE or amounts: a merged organisation's value is not the sum
NON_ADDITIVE_UNITS = ("jaar", "cijfer", "dagen", "0/1", "")


def is_additive(f: Field) -> bool:
    """Whether predecessors' values of ``f`` add up to the merged organisation's (counts, FTE, costs)."""
    return f.is_numeric and f.unit not in NON_ADDITIVE_UNITS


@dataclass(frozen=True)
class Lineage:
    """The links of a register, for looking up many organisations and years."""

    orgs: dict[str, Organisation]

    def __post_init__(self) -> None:
        preds: dict[str, list[str]] = {}
        for code, org in self.orgs.items():
            named = list(org.predecessor_codes)
            named += [o.org_code for o in self.orgs.values() if o.successor_code == code and o.org_code not in named]
            preds[code] = [p for p in named if p in self.orgs and p != code]
        succs: dict[str, list[str]] = {}
        for code, ps in preds.items():
            for p in ps:
                succs.setdefault(p, []).append(code)
        object.__setattr__(self, "_preds", preds)
        object.__setattr__(self, "_succs", {k: sorted(set(v)) for k, v in succs.items()})

    @classmethod
    def of(cls, orgs: Iterable[Organisation]) -> Lineage:
        return cls({o.org_code: o for o in orgs})

    def predecessors(self, code: str) -> list[str]:
        """Direct predecessors of ``code``: named in its ``predecessor_codes`` or naming it as successor."""
        return list(self._preds.get(code, []))

    def successors(self, code: str) -> list[str]:
        """Organisations that name ``code`` as a predecessor (or that ``code`` names as successor)."""
        return list(self._succs.get(code, []))

    def is_split(self, code: str) -> bool:
        """Whether ``code`` went on in more than one organisation (its series then breaks)."""
        return len(self.successors(code)) > 1

    def _until(self, pred: str, succ: str) -> int | None:
        """The last year in which ``pred`` stands for (part of) ``succ``."""
        p = self.orgs[pred]
        if p.member_until is not None:
            return p.member_until
        s = self.orgs.get(succ)
        return s.member_since - 1 if s is not None else None

    def codes(self, code: str, year: int, _seen: frozenset[str] = frozenset()) -> tuple[str, ...]:
        """The codes whose figures make up ``code`` in ``year`` (sorted; empty when none)."""
        org = self.orgs.get(code)
        if org is None or code in _seen:
            return ()
        out: set[str] = {code} if org.is_member(year) else set()
        for pred in self.predecessors(code):
            until = self._until(pred, code)
            if until is None or year > until or self.is_split(pred):
                continue
            out.update(self.codes(pred, year, _seen | {code}))
        return tuple(sorted(out))

    def kind(self, code: str, year: int) -> str:
        """``self`` (the organisation itself), ``rename`` (one other code), ``merger`` (several codes) or
        ``none`` (nothing stands for it in that year)."""
        codes = self.codes(code, year)
        if not codes:
            return "none"
        if codes == (code,):
            return "self"
        return "merger" if len(codes) > 1 else "rename"

    def event_year(self, code: str) -> int | None:
        """The first year ``code`` stands alone after its last predecessor link ended (the merger or rename year)."""
        ends = [self._until(p, code) for p in self.predecessors(code) if not self.is_split(p)]
        ends = [e for e in ends if e is not None]
        return max(ends) + 1 if ends else None

    def flag(self, code: str, year: int) -> str | None:
        """The mark of a value that stands for ``code`` through its predecessors (``lineage:A+B``), else None."""
        codes = self.codes(code, year)
        if not codes or codes == (code,):
            return None
        return "lineage:" + "+".join(codes)


def lineage(orgs: Iterable[Organisation], code: str, year: int) -> tuple[str, ...]:
    """The codes whose figures make up organisation ``code`` in ``year`` (see :class:`Lineage`)."""
    return Lineage.of(orgs).codes(code, year)


def join_names(codes: Iterable[str], lang: str = "nl") -> str:
    """'A en B' / 'A, B and C'."""
    items = list(codes)
    if len(items) <= 1:
        return "".join(items)
    word = " and " if lang == "en" else " en "
    return ", ".join(items[:-1]) + word + items[-1]


__all__ = ["NON_ADDITIVE_UNITS", "Lineage", "is_additive", "join_names", "lineage"]
