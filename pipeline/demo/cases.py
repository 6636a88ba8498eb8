"""Synthetic case microdata (sheet ``zaken``): one file per organisation, one row per case.

``generate_cases`` writes ``<out_dir>/<ORG>/zaken.csv`` (or ``.parquet``) for the members of a year, at any
size from a few hundred to tens of millions of cases. It is the data behind the case benchmark
(``benchmarks/bench_cases.py``) and the case tests.

Shape of the data (kept fixed so that benchmark numbers stay comparable over time):

- **Skew.** Organisation sizes follow a Zipf law whose exponent is solved so that the largest member holds
  ~30 % of all cases: a few very large members and many small ones. By default the mass-volume members
  (``VOLUME_LEADERS``: BD, UWV, SVB, ...) come first and the others follow by size class (groot, middel,
  klein) in a seeded order; a given ``orgs`` list is taken as ranked, largest first.
- **Products.** Each organisation handles 3-12 products (``P01``..``P12``, more for the larger members)
  in a Zipf-skewed mix; each product has a term of 28, 42, 56, 84, 91 or 182 days, 56 the most common.
- **Dates.** ``datum_ontvangst`` is uniform over the year. The lead time is lognormal around an
  org-specific fraction (0.30-0.95) of the term, with an org-specific spread.
- **Open cases.** ~1 % of cases are stuck (no decision at all). A case whose decision would fall after
  the extraction date has no ``datum_besluit``. Most members extract on 31-12; about one in three extracts
  2-8 weeks into the next year, so their files also hold decisions dated after 31-12 (backlog too).
- **Planted edge cases.** ~1.5 % of cases are decided exactly on the term day (lead time = term, counts as
  on time) and ~0.7 % on the day they were received (lead time 0); the lognormal adds more of both.
- **Other columns.** ``kanaal`` with a digital share (web + app) of 40-85 % per member; ``bezwaar`` (only
  on decided cases) 0.5-4 %; ``klacht`` 0.2-1 %; ``case_id`` like ``UWV-2025-00000001``, unique per member.

Everything is drawn in DuckDB SQL from ``hash(row number + a per-org, per-stream offset)``, never from
``random()``, so the files are byte-identical for a seed whatever the number of threads; the generator streams
``range(n)`` straight into ``COPY``: 35 M cases take about half a minute with flat memory. CSV and Parquet
written with the same seed hold the same data.

CSV dialect: ``;``, dates ``dd-mm-jjjj``, UTF-8, a header row, an empty field for a missing date. Parquet:
DATE for the dates, SMALLINT for ``termijn_dagen``, TINYINT for ``bezwaar`` and ``klacht``.

Command line (for the benchmark, which times generation in its own process)::

    python -m pipeline.demo.cases OUT_DIR --cases 7000000 [--year 2025] [--seed 1] [--fmt csv|parquet]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

FIELDS: tuple[str, ...] = (
    "case_id",
    "product_code",
    "datum_ontvangst",
    "datum_besluit",
    "termijn_dagen",
    "kanaal",
    "bezwaar",
    "klacht",
)
CHANNELS: tuple[str, ...] = ("telefoon", "web", "app", "balie", "post")
DIGITAL_CHANNELS: tuple[str, ...] = ("web", "app")
TERMS_DAYS: tuple[int, ...] = (28, 42, 56, 84, 91, 182)
TERM_WEIGHTS: tuple[float, ...] = (0.12, 0.15, 0.33, 0.15, 0.10, 0.15)
LARGEST_SHARE = 0.30
FORMATS = ("csv", "parquet")
SIZE_CLASS_ORDER = {"groot": 0, "middel": 1, "klein": 2}
# Members known for mass case volumes (tax assessments, benefits, student finance, vehicle and fine
# registrations) come first, in this order; the others follow by size class, in a seeded order.
VOLUME_LEADERS: tuple[str, ...] = ("BD", "UWV", "SVB", "TSL", "DUO", "RDW", "CJIB", "CAK", "KAD", "KVK")

# Shares of the planted cases (drawn per case from one uniform, so they are mutually exclusive).
STUCK_SHARE = 0.010
ZERO_LEAD_SHARE = 0.007
TERM_TIE_SHARE = 0.015
MAX_LEAD_DAYS = 1000

# hash() streams: one independent uniform per purpose.
_STREAMS = {
    "product": 1,
    "received": 2,
    "normal_r": 3,
    "normal_theta": 4,
    "kind": 5,
    "channel": 6,
    "objection": 7,
    "complaint": 8,
}


@dataclass(frozen=True)
class OrgPlan:
    """What is drawn for one organisation before its rows are generated."""

    org_code: str
    n_cases: int
    products: tuple[str, ...]
    product_weights: tuple[float, ...]
    terms_days: tuple[int, ...]
    lead_fraction: float
    lead_sigma: float
    digital_share: float
    objection_rate: float
    complaint_rate: float
    extract_lag_days: int
    seed: int


def zipf_exponent(n: int, largest_share: float = LARGEST_SHARE) -> float:
    """The exponent ``s`` of weights ``1/r**s`` (r = 1..n) that gives the largest one ``largest_share``.

    With few members even equal sizes give the largest more than ``largest_share``; then ``s`` is 0.
    """
    if n <= 1 or 1.0 / n >= largest_share:
        return 0.0
    ranks = np.arange(1, n + 1, dtype=float)

    def share(s: float) -> float:
        w = ranks**-s
        return float(w[0] / w.sum())

    lo, hi = 0.0, 1.0
    while share(hi) < largest_share:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        if share(mid) < largest_share:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def org_sizes(total_cases: int, n_orgs: int, largest_share: float = LARGEST_SHARE) -> list[int]:
    """Zipf case counts for ``n_orgs`` organisations, largest first, summing exactly to ``total_cases``."""
    if n_orgs <= 0:
        raise ValueError("need at least one organisation")
    s = zipf_exponent(n_orgs, largest_share)
    w = np.arange(1, n_orgs + 1, dtype=float) ** -s
    exact = total_cases * w / w.sum()
    sizes = np.floor(exact).astype(np.int64)
    rest = int(total_cases - sizes.sum())
    # Largest remainders first; ties go to the larger member (stable order).
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[:rest]] += 1
    return [int(x) for x in sizes]


def _rng(seed: int, *keys: str) -> np.random.Generator:
    return np.random.default_rng([seed, *(zlib.crc32(k.encode("utf-8")) for k in keys)])


def default_orgs(year: int) -> list[str]:
    """The register's members in ``year``, in register order."""
    from pipeline.metadata.registry import load_organisations

    return [o.org_code for o in load_organisations() if o.is_member(year)]


def _size_ranking(orgs: Sequence[str], seed: int, ranked_by_class: bool) -> list[str]:
    """Order organisations from largest to smallest: ``VOLUME_LEADERS`` first, then by size class (from
    the register) with a seeded tie-break. A given list (``ranked_by_class`` false) is kept as it is."""
    if not ranked_by_class:
        return list(orgs)
    from pipeline.metadata.registry import organisations_by_code

    register = organisations_by_code()
    leaders = [o for o in VOLUME_LEADERS if o in orgs]
    rest = [o for o in orgs if o not in leaders]
    order = {o: SIZE_CLASS_ORDER.get(register[o].size_class, 1) if o in register else 1 for o in rest}
    tiebreak = {o: float(_rng(seed, "rank", o).random()) for o in rest}
    return leaders + sorted(rest, key=lambda o: (order[o], tiebreak[o]))


def default_products(n_products: int) -> tuple[str, ...]:
    return tuple(f"P{j:02d}" for j in range(1, n_products + 1))


def plan_cases(
    total_cases: int,
    year: int = 2025,
    seed: int = 1,
    orgs: Sequence[str] | None = None,
    products: dict[str, list[str]] | None = None,
) -> list[OrgPlan]:
    """Draw sizes, products, terms and behaviour per organisation; largest organisation first.

    Args:
        total_cases: cases over all organisations.
        year: the report year (dates received fall in it).
        seed: everything follows from it.
        orgs: organisation codes. ``None``: the register's members in ``year``, ranked by size class.
            A given list is taken as ranked: the first gets the largest share.
        products: product codes per organisation; organisations not in it get ``P01``..``Pkk``.
    """
    if total_cases < 0:
        raise ValueError("total_cases must be >= 0")
    if seed < 0:
        raise ValueError("seed must be >= 0")
    ranked = _size_ranking(orgs if orgs is not None else default_orgs(year), seed, ranked_by_class=orgs is None)
    if len(set(ranked)) != len(ranked):
        raise ValueError("duplicate organisation codes")
    sizes = org_sizes(total_cases, len(ranked))
    n = len(ranked)
    plans: list[OrgPlan] = []
    for rank, (org, size) in enumerate(zip(ranked, sizes)):
        rng = _rng(seed, "org", org)
        if products and org in products:
            prods = tuple(products[org])
            if not prods:
                raise ValueError(f"no products for {org}")
        else:
            # Larger members handle more products: 12 for the largest down to 3-5 for the smallest.
            top = 1.0 - rank / max(n - 1, 1)
            k = int(np.clip(round(3 + 9 * top**1.5 + rng.integers(0, 3)), 3, 12))
            prods = default_products(k)
        w = np.arange(1, len(prods) + 1, dtype=float) ** -rng.uniform(0.6, 1.4)
        w = rng.permutation(w) if len(prods) > 1 else w
        terms = tuple(int(_rng(seed, "term", org, p).choice(TERMS_DAYS, p=TERM_WEIGHTS)) for p in prods)
        plans.append(
            OrgPlan(
                org_code=org,
                n_cases=size,
                products=prods,
                product_weights=tuple(float(x) for x in w / w.sum()),
                terms_days=terms,
                lead_fraction=float(rng.uniform(0.30, 0.95)),
                lead_sigma=float(rng.uniform(0.35, 0.80)),
                digital_share=float(rng.uniform(0.40, 0.85)),
                objection_rate=float(rng.uniform(0.005, 0.04)),
                complaint_rate=float(rng.uniform(0.002, 0.01)),
                extract_lag_days=int(rng.integers(14, 61)) if rng.random() < 1 / 3 else 0,
                seed=seed,
            )
        )
    return plans


def _stream_key(plan: OrgPlan, stream: str) -> int:
    """A 62-bit offset per seed, organisation and stream, so every stream hashes its own integers."""
    key = f"{plan.seed}/{plan.org_code}/{_STREAMS[stream]}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") >> 2


def _uniform(stream: str, plan: OrgPlan) -> str:
    """A uniform in (0, 1) from the row number: the top 53 bits of ``hash(i + key)``.

    ``hash(i, salt, stream)`` would not do: DuckDB combines the hashes of several arguments by XOR-like
    mixing, so two streams differ only by a constant and are strongly correlated (r = 0.59 measured).
    Hashing one integer runs it through a full 64-bit finaliser, and distinct offsets give independent
    streams (|r| < 0.001 at 1 M rows).
    """
    return f"((hash(i + {_stream_key(plan, stream)}::BIGINT) >> 11)::DOUBLE + 0.5) / 9007199254740992.0"


def _d(x: float) -> str:
    """A DOUBLE literal (a bare ``0.123`` would be a DECIMAL in DuckDB)."""
    return f"{float(x)!r}::DOUBLE"


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _sql_list(values: Sequence[object]) -> str:
    return "[" + ", ".join(_sql_str(v) if isinstance(v, str) else repr(v) for v in values) + "]"


def _day_strings(year: int, n: int) -> str:
    """A SQL list of ``dd-mm-jjjj`` strings for the days ``year``-01-01 + 0..n-1."""
    first = np.datetime64(f"{year:04d}-01-01")
    days = (first + np.arange(n)).astype("datetime64[D]").astype(str)
    return "[" + ", ".join(f"'{d[8:10]}-{d[5:7]}-{d[0:4]}'" for d in days) + "]"


def case_rows_sql(plan: OrgPlan, year: int, csv_dates: bool = False) -> str:
    """The SELECT that produces one organisation's rows, in row-number order.

    With ``csv_dates`` the two dates come out as ``dd-mm-jjjj`` text, looked up in a list of the few
    hundred possible days: that writes CSV 20 % faster than ``COPY``'s DATEFORMAT.

    All literals come from ``plan`` (numbers, and codes quoted with ``_sql_str``); nothing user-supplied
    is spliced in unquoted.
    """
    cum = np.cumsum(plan.product_weights)
    k = len(plan.products)
    if k == 1:
        pidx = "1"
    else:
        whens = " ".join(f"WHEN u_product < {_d(float(cum[j]))} THEN {j + 1}" for j in range(k - 1))
        pidx = f"CASE {whens} ELSE {k} END"
    d = plan.digital_share
    # kanaal thresholds: web, app (digital), then telefoon, post, balie over the rest.
    t_web, t_app = 0.65 * d, d
    t_tel, t_post = d + 0.5 * (1 - d), d + 0.8 * (1 - d)
    first = f"DATE '{year:04d}-01-01'"
    n_days = (np.datetime64(f"{year + 1:04d}-01-01") - np.datetime64(f"{year:04d}-01-01")).astype(int)
    extract = f"(DATE '{year:04d}-12-31' + {plan.extract_lag_days})"
    # case_id number: zero-padded to 8 digits (wider only for a member with 100 M cases or more);
    # string concatenation is 3x faster than printf() in DuckDB 2.0.
    width = max(8, len(str(plan.n_cases)))
    if csv_dates:
        days = _day_strings(year, int(n_days) + plan.extract_lag_days + 1)
        received = f"{days}[datum_ontvangst - {first} + 1] AS datum_ontvangst"
        decision = f"{days}[datum_besluit - {first} + 1] AS datum_besluit"
    else:
        received, decision = "datum_ontvangst", "datum_besluit"
    stuck, zero, tie = STUCK_SHARE, STUCK_SHARE + ZERO_LEAD_SHARE, STUCK_SHARE + ZERO_LEAD_SHARE + TERM_TIE_SHARE
    return f"""
WITH draws AS (
    SELECT
        i,
        {_uniform("product", plan)} AS u_product,
        {_uniform("received", plan)} AS u_received,
        {_uniform("normal_r", plan)} AS u_r,
        {_uniform("normal_theta", plan)} AS u_theta,
        {_uniform("kind", plan)} AS u_kind,
        {_uniform("channel", plan)} AS u_channel,
        {_uniform("objection", plan)} AS u_objection,
        {_uniform("complaint", plan)} AS u_complaint
    FROM range({plan.n_cases}) AS t(i)
), cases AS (
    SELECT
        *,
        {pidx} AS pidx,
        {first} + CAST(floor(u_received * {n_days}) AS INTEGER) AS datum_ontvangst
    FROM draws
), leads AS (
    SELECT
        *,
        {_sql_list(plan.terms_days)}[pidx] AS termijn,
        CASE
            WHEN u_kind < {_d(stuck)} THEN NULL
            WHEN u_kind < {_d(zero)} THEN 0
            WHEN u_kind < {_d(tie)} THEN {_sql_list(plan.terms_days)}[pidx]
            ELSE least({MAX_LEAD_DAYS}, CAST(round(
                {_sql_list(plan.terms_days)}[pidx] * {_d(plan.lead_fraction)}
                * exp({_d(plan.lead_sigma)} * sqrt(-2 * ln(u_r)) * cos(2 * pi() * u_theta))) AS INTEGER))
        END AS lead_days
    FROM cases
), decided AS (
    SELECT
        *,
        CASE WHEN datum_ontvangst + lead_days <= {extract} THEN datum_ontvangst + lead_days END AS datum_besluit
    FROM leads
)
SELECT
    {_sql_str(f"{plan.org_code}-{year}-")} || substr(CAST({10**width} + i + 1 AS VARCHAR), 2) AS case_id,
    {_sql_list(plan.products)}[pidx] AS product_code,
    {received},
    {decision},
    CAST(termijn AS SMALLINT) AS termijn_dagen,
    CASE
        WHEN u_channel < {_d(t_web)} THEN 'web'
        WHEN u_channel < {_d(t_app)} THEN 'app'
        WHEN u_channel < {_d(t_tel)} THEN 'telefoon'
        WHEN u_channel < {_d(t_post)} THEN 'post'
        ELSE 'balie'
    END AS kanaal,
    CAST(CASE WHEN datum_besluit IS NOT NULL AND u_objection < {_d(plan.objection_rate)} THEN 1 ELSE 0 END
         AS TINYINT) AS bezwaar,
    CAST(CASE WHEN u_complaint < {_d(plan.complaint_rate)} THEN 1 ELSE 0 END AS TINYINT) AS klacht
FROM decided
"""


def generate_cases(
    out_dir: Path,
    total_cases: int,
    year: int = 2025,
    seed: int = 1,
    fmt: str = "csv",
    orgs: list[str] | None = None,
    products: dict[str, list[str]] | None = None,
    *,
    memory_limit: str = "1GB",
    threads: int | None = None,
) -> dict[str, Path]:
    """Write ``<out_dir>/<ORG>/zaken.<fmt>`` for every organisation and return ``{org_code: path}``.

    Args:
        out_dir: the folder to write into (created if needed; existing ``zaken`` files are overwritten).
        total_cases: cases over all organisations (Zipf split, the largest member ~30 %).
        year: the report year.
        seed: the same seed gives byte-identical files (per format), whatever the thread count.
        fmt: ``csv`` (the Dutch dialect: ``;``, ``dd-mm-jjjj``, UTF-8, header) or ``parquet``.
        orgs: organisation codes, largest first; default the register's members in ``year``.
        products: product codes per organisation; default ``P01``..``Pkk``.
        memory_limit: DuckDB's memory limit while writing.
        threads: DuckDB threads (default: DuckDB's default, the number of cores).
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
    out_dir = Path(out_dir)
    plans = plan_cases(total_cases, year=year, seed=seed, orgs=orgs, products=products)
    options = "FORMAT csv, DELIMITER ';', DATEFORMAT '%d-%m-%Y', HEADER true" if fmt == "csv" else "FORMAT parquet"
    paths: dict[str, Path] = {}
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = {_sql_str(memory_limit)}")
        con.execute("SET preserve_insertion_order = true")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        for plan in plans:
            path = out_dir / plan.org_code / f"zaken.{fmt}"
            path.parent.mkdir(parents=True, exist_ok=True)
            con.execute(
                f"COPY ({case_rows_sql(plan, year, csv_dates=fmt == 'csv')}) TO {_sql_str(str(path))} ({options})"
            )
            paths[plan.org_code] = path
    finally:
        con.close()
    return paths


def plans_summary(plans: Sequence[OrgPlan]) -> list[dict]:
    """The plan as plain data (for a manifest or a benchmark log)."""
    return [
        {
            "org_code": p.org_code,
            "n_cases": p.n_cases,
            "products": list(p.products),
            "terms_days": list(p.terms_days),
            "lead_fraction": round(p.lead_fraction, 4),
            "extract_lag_days": p.extract_lag_days,
        }
        for p in plans
    ]


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m pipeline.demo.cases",
        description="Write synthetic case microdata: OUT_DIR/<ORG>/zaken.<fmt>. "
        "Example: python -m pipeline.demo.cases /tmp/cases --cases 7000000 --fmt csv",
    )
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--cases", type=int, required=True, help="total number of cases over all organisations")
    ap.add_argument("--year", type=int, default=2025)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fmt", choices=FORMATS, default="csv")
    ap.add_argument("--orgs", help="comma-separated organisation codes, largest first (default: the register)")
    args = ap.parse_args(argv)
    orgs = [o.strip() for o in args.orgs.split(",") if o.strip()] if args.orgs else None
    paths = generate_cases(args.out_dir, args.cases, year=args.year, seed=args.seed, fmt=args.fmt, orgs=orgs)
    sizes = {
        o: n
        for o, n in ((p.org_code, p.n_cases) for p in plan_cases(args.cases, year=args.year, seed=args.seed, orgs=orgs))
    }
    print(
        json.dumps(
            {
                "files": {o: str(p) for o, p in paths.items()},
                "n_cases": sizes,
                "bytes": sum(p.stat().st_size for p in paths.values()),
            }
        )
    )


if __name__ == "__main__":
    main()
