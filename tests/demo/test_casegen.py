"""Case microdata: the generator (``pipeline.casegen``) and the two reference implementations of the case
indicators used by the benchmark (``benchmarks/case_floor.py`` in DuckDB, ``benchmarks/case_pandas.py``).

All fast: 20,000 generated cases, and a hand-written file whose indicators are worked out by hand below.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipeline.demo.cases import (
    CHANNELS,
    FIELDS,
    LARGEST_SHARE,
    TERMS_DAYS,
    generate_cases,
    org_sizes,
    plan_cases,
    zipf_exponent,
)

ROOT = Path(__file__).resolve().parents[2]
YEAR = 2025
N = 20_000


def _load(name: str):
    path = ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


floor = _load("case_floor")
pandas_impl = _load("case_pandas")
bench = _load("bench_cases")

CSV_TYPES = floor.CSV_COLUMNS


@pytest.fixture(scope="module")
def csv_set(tmp_path_factory) -> dict[str, Path]:
    return generate_cases(tmp_path_factory.mktemp("csv"), N, year=YEAR, seed=7, fmt="csv")


@pytest.fixture(scope="module")
def parquet_set(tmp_path_factory) -> dict[str, Path]:
    return generate_cases(tmp_path_factory.mktemp("parquet"), N, year=YEAR, seed=7, fmt="parquet")


def _read_all(files: dict[str, Path], fmt: str) -> pd.DataFrame:
    """All generated rows with an org_code column, read back by DuckDB with the declared types."""
    con = duckdb.connect()
    parts = []
    for org, path in files.items():
        if fmt == "csv":
            rel = con.read_csv(str(path), sep=";", header=True, dtype=CSV_TYPES, date_format="%d-%m-%Y")
        else:
            rel = con.read_parquet(str(path))
        df = rel.df()
        df.insert(0, "org_code", org)
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def cases(csv_set) -> pd.DataFrame:
    return _read_all(csv_set, "csv")


# ------------------------------------------------------------------ files and format


def test_one_file_per_member_with_the_declared_header(csv_set):
    from pipeline.metadata.registry import load_organisations

    members = {o.org_code for o in load_organisations() if o.is_member(YEAR)}
    assert set(csv_set) == members
    for org, path in csv_set.items():
        assert path == path.parent.parent / org / "zaken.csv"
        first = path.read_bytes().split(b"\n", 2)
        assert first[0].decode("utf-8") == ";".join(FIELDS)
        assert re.fullmatch(
            rf"{org}-{YEAR}-\d{{8}};P\d\d;\d\d-\d\d-{YEAR};(\d\d-\d\d-\d{{4}})?;\d+;[a-z]+;[01];[01]",
            first[1].decode("utf-8"),
        )


def test_parquet_types_and_same_data_as_csv(csv_set, parquet_set, cases):
    types = dict(
        duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{parquet_set['UWV']}')").fetchall()[i][:2]
        for i in range(len(FIELDS))
    )
    assert types == {
        "case_id": "VARCHAR",
        "product_code": "VARCHAR",
        "datum_ontvangst": "DATE",
        "datum_besluit": "DATE",
        "termijn_dagen": "SMALLINT",
        "kanaal": "VARCHAR",
        "bezwaar": "TINYINT",
        "klacht": "TINYINT",
    }
    pq = _read_all(parquet_set, "parquet")
    pd.testing.assert_frame_equal(cases, pq, check_dtype=False)


def test_deterministic_for_a_seed(tmp_path, csv_set):
    again = generate_cases(tmp_path / "again", N, year=YEAR, seed=7)
    other = generate_cases(tmp_path / "other", N, year=YEAR, seed=8)
    assert list(again) == list(csv_set)
    assert all(again[o].read_bytes() == csv_set[o].read_bytes() for o in csv_set)
    assert all(other[o].read_bytes() != csv_set[o].read_bytes() for o in csv_set)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_bytes_whatever_the_threads(tmp_path, fmt):
    # 400,000 rows in one file: several DuckDB row groups, so two threads really work in parallel.
    one = generate_cases(tmp_path / "one", 400_000, orgs=["XA"], fmt=fmt, threads=1)
    two = generate_cases(tmp_path / "two", 400_000, orgs=["XA"], fmt=fmt, threads=2)
    assert one["XA"].read_bytes() == two["XA"].read_bytes()


def test_given_orgs_and_products(tmp_path):
    files = generate_cases(
        tmp_path, 3_000, orgs=["XA", "XB", "XC", "XD"], products={"XA": ["AOW", "ANW"], "XD": ["ONE"]}
    )
    assert list(files) == ["XA", "XB", "XC", "XD"]
    df = _read_all(files, "csv")
    assert set(df.loc[df.org_code == "XA", "product_code"]) == {"AOW", "ANW"}
    assert set(df.loc[df.org_code == "XD", "product_code"]) == {"ONE"}
    assert set(df.loc[df.org_code == "XB", "product_code"]) <= {f"P{j:02d}" for j in range(1, 13)}
    assert len(df) == 3_000


# ------------------------------------------------------------------ shape of the data


def test_zipf_skew():
    s = zipf_exponent(35)
    w = np.arange(1, 36) ** -s
    assert w[0] / w.sum() == pytest.approx(LARGEST_SHARE, abs=1e-9)
    sizes = org_sizes(35_000_000, 35)
    assert sum(sizes) == 35_000_000
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] / 35e6 == pytest.approx(0.30, abs=1e-6)
    # a few very large, many small: the top 3 hold over half, 25 of 35 hold less than an equal share
    assert sum(sizes[:3]) / 35e6 > 0.5
    assert sum(n < 1e6 for n in sizes) >= 25
    assert org_sizes(10, 3) == [4, 3, 3]  # too few members for 30 %: equal shares
    assert sum(org_sizes(7, 35)) == 7


def test_generated_sizes_follow_the_plan(csv_set, cases):
    plan = plan_cases(N, year=YEAR, seed=7)
    counts = cases.groupby("org_code").size()
    assert {p.org_code: p.n_cases for p in plan} == counts.to_dict()
    assert counts.max() / N == pytest.approx(0.30, abs=1e-3)
    assert plan[0].org_code == "BD"  # the mass-volume members lead
    assert all(3 <= len(p.products) <= 12 for p in plan)


def test_values_in_their_domains(cases):
    assert cases["case_id"].is_unique
    assert cases["datum_ontvangst"].dt.year.eq(YEAR).all()
    assert set(cases["termijn_dagen"]) <= set(TERMS_DAYS)
    assert set(cases["kanaal"]) <= set(CHANNELS)
    assert set(cases["bezwaar"]) <= {0, 1} and set(cases["klacht"]) <= {0, 1}
    decided = cases["datum_besluit"].notna()
    assert (cases.loc[decided, "datum_besluit"] >= cases.loc[decided, "datum_ontvangst"]).all()
    assert cases.loc[~decided, "bezwaar"].eq(0).all()  # an objection needs a decision
    # one term per product within an organisation
    assert cases.groupby(["org_code", "product_code"])["termijn_dagen"].nunique().eq(1).all()
    digital = cases["kanaal"].isin(["web", "app"]).groupby(cases["org_code"]).mean()
    assert digital.between(0.3, 0.95).all()


def test_planted_edge_cases_present(cases):
    lead = (cases["datum_besluit"] - cases["datum_ontvangst"]).dt.days
    year_end = pd.Timestamp(YEAR, 12, 31)
    open_ = cases["datum_besluit"].isna()
    tie = lead == cases["termijn_dagen"]
    assert tie.mean() > 0.015  # decided exactly on the term day (planted 1.5 % + lognormal)
    assert (lead == 0).mean() > 0.004  # decided the day received (planted 0.7 %)
    assert 0.03 < open_.mean() < 0.30  # missing decision dates: stuck + not decided by the extract
    assert (cases["datum_besluit"] > year_end).sum() > 0  # decisions after 31-12 (members extracting late)
    late_extract = {p.org_code for p in plan_cases(N, year=YEAR, seed=7) if p.extract_lag_days}
    assert late_extract and set(cases.loc[cases["datum_besluit"] > year_end, "org_code"]) <= late_extract
    # stuck cases: open although received early in the year, when any lead time would have ended
    early = cases["datum_ontvangst"] < pd.Timestamp(YEAR, 3, 1)
    assert 0.003 < (open_ & early).sum() / early.sum() < 0.03
    # and the planted shares are spread over the organisations, not in one
    assert cases[tie].groupby("org_code").size().size > 25


# ------------------------------------------------------------------ floor vs pandas


def _keyed(df: pd.DataFrame) -> pd.DataFrame:
    return bench.normalise(df, YEAR)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_floor_and_pandas_agree(fmt, csv_set, parquet_set):
    files = csv_set if fmt == "csv" else parquet_set
    a = floor.run_floor(files, fmt, YEAR)
    b, _ = pandas_impl.run_pandas(files, fmt, YEAR)
    assert len(a) == len(b) == len(files) + sum(len(p.products) for p in plan_cases(N, year=YEAR, seed=7))
    cmp = bench.compare(_keyed(a), _keyed(b))
    assert cmp["same"], cmp
    assert cmp["max_abs_diff"] <= 1e-9
    assert len(cmp["columns"]) == len(floor.INDICATOR_COLUMNS)


def test_compare_is_not_vacuous(csv_set):
    a = _keyed(floor.run_floor(csv_set, "csv", YEAR))
    b = a.copy()
    b.iloc[3, b.columns.get_loc("p90_lead_days")] += 0.5
    cmp = bench.compare(a, b)
    assert not cmp["same"] and cmp["worst_column"] == "p90_lead_days" and cmp["max_abs_diff"] == 0.5
    assert not bench.compare(a, b.iloc[1:])["same"]  # a group missing


# ------------------------------------------------------------------ definitions, by hand

HAND_AAA = """case_id;product_code;datum_ontvangst;datum_besluit;termijn_dagen;kanaal;bezwaar;klacht
A-1;P1;01-03-2025;01-03-2025;28;web;0;0
A-2;P1;01-03-2025;29-03-2025;28;app;1;0
A-3;P1;01-03-2025;30-03-2025;28;post;0;1
A-4;P1;10-12-2025;;28;telefoon;0;0
A-5;P1;15-12-2025;05-01-2026;28;balie;1;0
A-6;P1;20-11-2024;10-01-2025;28;web;0;1
A-7;P2;01-06-2025;;56;web;0;0
A-8;P2;02-06-2025;;56;post;0;1
"""
HAND_BBB = """case_id;product_code;datum_ontvangst;datum_besluit;termijn_dagen;kanaal;bezwaar;klacht
B-1;Q1;31-12-2025;31-12-2025;1;web;0;0
B-2;Q1;30-12-2025;31-12-2025;1;web;1;0
B-3;Q1;01-01-2025;03-01-2025;1;balie;0;0
"""
nan = float("nan")
# Worked out by hand. AAA/P1: received in 2025 = A-1..A-5 (A-6 came in 2024); decided in 2025 = A-1, A-2, A-3,
# A-6 with lead times 0, 28 (= term: on time), 29, 51; A-5 is decided in 2026, so backlog with A-4.
# median of 0, 28, 29, 51 = 28.5; p90 at position 0.9 x 3 = 2.7: 29 + 0.7 x (51 - 29) = 44.4.
# objections among the decided: A-2 (A-5's is not a 2025 decision) = 1/4; complaints among the received: A-3.
# BBB/Q1: lead times 0, 1 (= term), 2; p90 at 1.8: 1 + 0.8 x 1 = 1.8.
EXPECTED = {
    # (org, product): n_records, n_cases, n_decided, n_within, share, median, p90, backlog, obj/1000, compl/1000, digital
    ("AAA", ""): (8, 7, 4, 2, 0.5, 28.5, 44.4, 4, 250.0, 1000 * 2 / 7, 3 / 7),
    ("AAA", "P1"): (6, 5, 4, 2, 0.5, 28.5, 44.4, 2, 250.0, 200.0, 0.4),
    ("AAA", "P2"): (2, 2, 0, 0, nan, nan, nan, 2, nan, 500.0, 0.5),
    ("BBB", ""): (3, 3, 3, 2, 2 / 3, 1.0, 1.8, 0, 1000 / 3, 0.0, 2 / 3),
    ("BBB", "Q1"): (3, 3, 3, 2, 2 / 3, 1.0, 1.8, 0, 1000 / 3, 0.0, 2 / 3),
}


@pytest.fixture()
def hand_files(tmp_path) -> dict[str, Path]:
    files = {}
    for org, text in (("AAA", HAND_AAA), ("BBB", HAND_BBB)):
        path = tmp_path / org / "zaken.csv"
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
        files[org] = path
    return files


@pytest.mark.parametrize("impl", ["floor", "pandas"])
def test_indicator_definitions_by_hand(impl, hand_files):
    if impl == "floor":
        got = floor.run_floor(hand_files, "csv", YEAR)
    else:
        got, _ = pandas_impl.run_pandas(hand_files, "csv", YEAR)
    got = _keyed(got)
    expected = pd.DataFrame.from_dict(EXPECTED, orient="index", columns=list(floor.INDICATOR_COLUMNS))
    expected.index = pd.MultiIndex.from_tuples(expected.index, names=list(bench.KEYS))
    pd.testing.assert_frame_equal(
        got[list(floor.INDICATOR_COLUMNS)], expected.sort_index(), check_dtype=False, rtol=0, atol=1e-12
    )


# ------------------------------------------------------------------ the benchmark's plumbing


def test_pipeline_runner_reports_not_available(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "pipeline.validate.cases", None)  # import fails as if the module did not exist
    with pytest.raises(SystemExit) as exc:
        bench.run_pipeline_child(
            ["--dir", str(tmp_path), "--db", str(tmp_path / "x.duckdb"), "--out", str(tmp_path / "x.parquet")]
        )
    assert exc.value.code == bench.NOT_AVAILABLE
    assert '"available": false' in capsys.readouterr().out


@pytest.mark.parametrize("timer", ["/usr/bin/time", "fallback"])
def test_measure(timer, monkeypatch):
    if timer == "fallback":
        monkeypatch.setattr(bench, "TIME_BIN", "/nonexistent/time")  # perf_counter + os.wait4
    elif not Path(timer).exists():
        pytest.skip("no /usr/bin/time")
    run = bench.measure(
        [sys.executable, "-c", "import json; x = bytearray(80 << 20); print(json.dumps({'wall_s': 0.1}))"]
    )
    assert run.ok and run.payload == {"wall_s": 0.1} and run.wall_s > 0 and 80 < run.rss_mb < 1000


def test_report():
    import argparse

    args = argparse.Namespace(repeat=1, fmt="csv", year=YEAR, seed=1)
    fake = {"returncode": 0, "rss_mb": 100.0, "payload": {"wall_s": 1.0}}
    results = [
        {
            "size": size,
            "load_before": 0.5,
            "load_after": 0.5,
            "available": {"pipeline": False},
            "reason": "ImportError: no pipeline.cases",
            "runs": {
                "floor": [{**fake, "wall_s": size / 1e6}],
                "pandas": [{**fake, "wall_s": 3 * size / 1e6}],
                "pipeline": [],
            },
        }
        for size in (1_000_000, 7_000_000, 35_000_000)
    ]
    text = bench.render(results, args, list(bench.METHODS))
    assert "| 35M | (c) pipeline | 0 | not available |" in text
    assert "| (b) pandas | 3.000 | 3.000 | 3.000 | 1.00 |" in text  # per case and linearity 35M / 7M
    assert "(c) not available: ImportError" in text


@pytest.mark.slow
def test_real_commands_on_a_benchmark_workspace(tmp_path, csv_set):
    """(d) of the benchmark: the generated case files hard-linked into a one-year demo workspace, then the
    real ``rbb ingest`` and ``rbb compute``; the stored case indicators equal the floor's for every member
    whose submission was accepted, and the case files were not copied."""
    import subprocess

    templates = bench.build_workspaces(tmp_path, csv_set, YEAR, seed=1)
    linked = sorted(templates["rbb"].glob(f"data/raw/{YEAR}/*/*/zaken.csv"))
    assert len(linked) + len(templates["unplaced"]) == len(csv_set) and len(templates["unplaced"]) <= 1
    assert all(p.stat().st_nlink >= 2 for p in linked)
    assert not list(templates["rbb_sheets"].glob("data/raw/**/zaken.csv"))
    cmd = bench.method_cmd("rbb", templates["rbb"], "csv", YEAR, tmp_path / "unused", tmp_path / "unused.duckdb")
    done = subprocess.run(cmd, env=bench.child_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    bench.workspace_indicators(templates["rbb"], YEAR, tmp_path / "d.parquet")
    got = bench.normalise(pd.read_parquet(tmp_path / "d.parquet"), YEAR)
    want = bench.normalise(floor.run_floor(csv_set, "csv", YEAR), YEAR)
    cmp = bench.compare(want, got)
    assert cmp["max_abs_diff"] <= bench.TOLERANCE and cmp["only_right"] == 0
    assert 20 <= len(set(got.index.get_level_values("org_code"))) < len(csv_set)  # the demo's planted rejections


def test_sizes_are_read_with_or_without_a_suffix():
    assert [bench.parse_size(s) for s in ("7M", "500k", "1.5e6", "35000000")] == [
        7_000_000,
        500_000,
        1_500_000,
        35_000_000,
    ]
    for bad in ("x", "0", "1.5", "-3M"):
        with pytest.raises(ValueError, match="not a case count"):
            bench.parse_size(bad)
