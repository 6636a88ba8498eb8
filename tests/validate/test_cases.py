"""Case microdata: indicators from cases equal an independent computation; findings point at file, line, field."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipeline.core.workspace import Workspace
from pipeline.validate import run as ingest
from pipeline.validate.cases import scan_case_file

Y = 2025


def _cases() -> pd.DataFrame:
    d = dt.date
    rows = [
        # case_id, product, received, decided, term, channel, objection, complaint
        ("C01", "P1", d(2025, 1, 1), d(2025, 1, 15), 14, "web", 0, 0),  # exactly on the term boundary: on time
        ("C02", "P1", d(2025, 1, 1), d(2025, 1, 16), 14, "web", 1, 0),  # one day late
        ("C03", "P1", d(2025, 2, 1), d(2025, 2, 1), 14, "post", 0, 0),  # zero-length lead time
        ("C04", "P1", d(2025, 12, 20), None, 14, "web", 0, 1),  # open at year end, no decision date
        ("C05", "P2", d(2024, 12, 1), d(2025, 1, 10), 56, "balie", 0, 0),  # received last year, decided this year
        ("C06", "P2", d(2025, 11, 1), d(2026, 1, 5), 56, "app", 0, 0),  # decided after year end: backlog
        ("C07", "P2", d(2025, 3, 1), d(2025, 4, 26), 56, "telefoon", 1, 0),  # exactly 56 days
        ("C08", "P2", d(2025, 3, 1), d(2025, 3, 30), 56, "web", 0, 0),
        ("C09", "P2", d(2025, 5, 1), None, 56, None, 0, 0),  # open, no channel
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "case_id",
            "product_code",
            "datum_ontvangst",
            "datum_besluit",
            "termijn_dagen",
            "kanaal",
            "bezwaar",
            "klacht",
        ],
    )


def _write_csv(df: pd.DataFrame, path) -> None:
    out = df.copy()
    for c in ("datum_ontvangst", "datum_besluit"):
        out[c] = out[c].map(lambda x: x.strftime("%d-%m-%Y") if isinstance(x, dt.date) else "")
    out.to_csv(path, sep=";", index=False)


def _expected(df: pd.DataFrame, product: str | None) -> dict:
    g = df if product is None else df[df["product_code"] == product]
    start, end = dt.date(Y, 1, 1), dt.date(Y, 12, 31)
    decided = g[g["datum_besluit"].map(lambda x: isinstance(x, dt.date) and start <= x <= end)]
    lead = np.array([(b - a).days for a, b in zip(decided["datum_ontvangst"], decided["datum_besluit"])], dtype=float)
    return {
        "n_rows": len(g),
        "n_cases": int(g["datum_ontvangst"].map(lambda x: start <= x <= end).sum()),
        "n_decided": len(decided),
        "n_on_time": int((lead <= decided["termijn_dagen"].to_numpy()).sum()),
        "lead_median": float(np.percentile(lead, 50)),
        "lead_p90": float(np.percentile(lead, 90)),
        "n_backlog": int(
            sum(
                1
                for a, b in zip(g["datum_ontvangst"], g["datum_besluit"])
                if a <= end and (not isinstance(b, dt.date) or b > end)
            )
        ),
        "n_objections": int(decided["bezwaar"].sum()),
        "n_complaints": int(g["klacht"].sum()),
    }


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_case_indicators_equal_independent_computation(tmp_path, fmt):
    df = _cases()
    path = tmp_path / f"zaken.{fmt}"
    if fmt == "csv":
        _write_csv(df, path)
    else:
        con = duckdb.connect()
        con.register("df", df)
        con.execute(f"""COPY (SELECT case_id, product_code, CAST(datum_ontvangst AS DATE) AS datum_ontvangst,
                        CAST(datum_besluit AS DATE) AS datum_besluit, CAST(termijn_dagen AS SMALLINT) AS termijn_dagen,
                        kanaal, CAST(bezwaar AS TINYINT) AS bezwaar, CAST(klacht AS TINYINT) AS klacht FROM df)
                        TO '{path}' (FORMAT parquet)""")
        con.close()
    scan = scan_case_file(path, Y)
    assert scan.findings == []
    agg = scan.aggregates
    for product in ("P1", "P2", None):
        row = agg[agg["is_total"] == 1].iloc[0] if product is None else agg[agg["product_code"] == product].iloc[0]
        exp = _expected(df, product)
        for k, v in exp.items():
            assert float(row[k]) == pytest.approx(v), (product, k)


def test_case_findings_point_at_line_and_field(tmp_path):
    df = _cases()
    df.loc[3, "termijn_dagen"] = 999  # line 5
    df.loc[5, "kanaal"] = "fax"  # line 7
    df.loc[7, "case_id"] = "C07"  # duplicate of line 8 -> lines 8 and 9
    path = tmp_path / "zaken.csv"
    _write_csv(df, path)
    text = path.read_text().splitlines()
    text[2] = text[2].replace("16-01-2025", "16-13-2025")  # line 3: not a date
    path.write_text("\n".join(text) + "\n")
    scan = scan_case_file(path, Y)
    cells = {(f.rule, f.row, f.field) for f in scan.findings}
    assert ("type", 3, "datum_besluit") in cells
    assert ("range:termijn_dagen", 5, "termijn_dagen") in cells
    assert ("code_list:kanaal", 7, "kanaal") in cells
    assert ("unique:case_id", 8, "case_id") in cells and ("unique:case_id", 9, "case_id") in cells
    assert all(f.severity == "error" for f in scan.findings)


def test_missing_column_is_a_finding(tmp_path):
    path = tmp_path / "zaken.csv"
    _write_csv(_cases().drop(columns=["termijn_dagen"]), path)
    scan = scan_case_file(path, Y)
    assert [f.rule for f in scan.findings] == ["column_missing"]


def _add_delivery(ws: Workspace, demo_workspace, org: str):
    """The demo's 2025 delivery of ``org`` copied into ``ws`` as a folder (to add a case file to)."""
    src = next((demo_workspace.raw / "2025" / org).iterdir())
    delivery = ws.raw / "2025" / org / "levering"
    if src.is_dir():
        shutil.copytree(src, delivery)
    else:
        delivery.mkdir(parents=True)
        shutil.copyfile(src, delivery / src.name)
    return delivery


@pytest.fixture(scope="module")
def case_ingest(tmp_path_factory, demo_workspace):
    """One ingest run (then compute) of a fresh workspace with two deliveries that carry case microdata: DUO's
    with the good case file above, SVB's with a case decided before it was received. Great Expectations costs
    about the same for one delivery as for two, so the two tests below share the run."""
    ws = Workspace.at(tmp_path_factory.mktemp("cases") / "ws").ensure()
    _write_csv(_cases(), _add_delivery(ws, demo_workspace, "DUO") / "zaken.csv")
    bad = _cases()
    bad.loc[0, "datum_besluit"] = dt.date(2024, 12, 1)  # decided before received
    _write_csv(bad, _add_delivery(ws, demo_workspace, "SVB") / "zaken.csv")
    results = {r.org_code: r for r in ingest(ws)}
    assert sorted(results) == ["DUO", "SVB"]
    from pipeline.compute.engine import compute

    compute(ws)
    return ws, results


def test_ingest_with_case_microdata_takes_precedence(case_ingest):
    ws, results = case_ingest
    result = results["DUO"]
    assert result.status.startswith("accepted"), [f.message_en for f in result.findings if f.severity == "error"]
    con = duckdb.connect(str(ws.db_path), read_only=True)
    value, flags = con.execute("""SELECT value, flags FROM indicator_values
                                  WHERE org_code = 'DUO' AND indicator_code = 'tijdig_beslist_pct'""").fetchone()
    exp = _expected(_cases(), None)
    assert value == pytest.approx(100 * exp["n_on_time"] / exp["n_decided"])
    assert "bron:zaken" in flags
    p90 = con.execute(
        "SELECT value FROM indicator_values WHERE org_code = 'DUO' AND indicator_code = 'doorlooptijd_p90_dagen'"
    ).fetchone()[0]
    assert p90 == pytest.approx(exp["lead_p90"])
    # P1, P2 and the total of DUO's file, and nothing of SVB's rejected one
    assert con.execute("SELECT org_code, count(*) FROM f_zaken_agg GROUP BY 1").fetchall() == [("DUO", 3)]
    con.close()


def test_bad_case_file_rejects_the_submission(case_ingest):
    ws, results = case_ingest
    result = results["SVB"]
    assert result.status == "rejected"
    assert any(f.rule == "rule:ontvangst_le_besluit" and f.row == 2 for f in result.findings)
    con = duckdb.connect(str(ws.db_path), read_only=True)
    assert con.execute("SELECT count(*) FROM f_zaken_agg WHERE org_code = 'SVB'").fetchone()[0] == 0
    con.close()


def test_histogram_quantiles_equal_numpy_on_random_histograms():
    """Median and P90 from the lead-time histogram equal numpy's linear-interpolation percentiles of the
    expanded values, per file x product and per file (ties, single values, zero lead times)."""
    from pipeline.validate.cases import _aggregate_histogram

    rng = np.random.default_rng(7)
    rows = []
    for f in ("a.csv", "b.csv", "c.csv"):
        for p in ("P1", "P2", "P3"):
            size = int(rng.choice([1, 2, 3, 40]))
            for v, n in zip(*np.unique(rng.integers(0, 30, size=size), return_counts=True)):
                rows.append(
                    {
                        "filename": f,
                        "product_code": p,
                        "lead_days": float(v),
                        "n_rows": int(n),
                        "n_decided": int(n),
                        "v|x": 0,
                    }
                )
        rows.append({"filename": f, "product_code": "P9", "lead_days": np.nan, "n_rows": 5, "n_decided": 0, "v|x": 1})
    hist = pd.DataFrame(rows).assign(n_cases=1, n_on_time=0, n_backlog=0, n_objections=0, n_complaints=0)
    agg = _aggregate_histogram(hist)
    expanded = hist[hist["lead_days"].notna()].loc[lambda d: d.index.repeat(d["n_decided"])]
    for _, r in agg.iterrows():
        sel = expanded[expanded["filename"] == r["filename"]]
        if not r["is_total"]:
            sel = sel[sel["product_code"] == r["product_code"]]
        if sel.empty:
            assert np.isnan(r["lead_median"]) and np.isnan(r["lead_p90"])
            continue
        assert r["lead_median"] == pytest.approx(np.percentile(sel["lead_days"], 50), abs=1e-12)
        assert r["lead_p90"] == pytest.approx(np.percentile(sel["lead_days"], 90), abs=1e-12)
    totals = agg[agg["is_total"] == 1].set_index("filename")
    assert (totals["n_rows"] == hist.groupby("filename")["n_rows"].sum()).all()
    assert (totals["v|x"] == 1).all()


def test_duplicate_case_ids_counted_per_file_like_pandas(tmp_path):
    """The hash-and-sort uniqueness check gives count - count(DISTINCT) per file, also for an id repeated
    under another product, three times, and with empty ids."""
    from pipeline.validate.cases import _duplicate_ids

    rng = np.random.default_rng(3)
    frames = []
    for name, n in (("big", 20_000), ("small", 300), ("clean", 1_000)):
        ids = [f"{name}-{i}" for i in rng.integers(0, n if name != "clean" else 10**9, size=n)]
        if name == "clean":
            ids = [f"clean-{i}" for i in range(n)]
        ids[:3] = [None, None, ids[3]]
        frames.append(
            pd.DataFrame(
                {
                    "filename": name,
                    "case_id": ids,
                    "product_code": rng.choice(["P1", "P2"], size=n),
                    "lead_days": rng.integers(0, 50, size=n),
                }
            )
        )
    frames.append(pd.DataFrame({"filename": "clean", "case_id": [None, None], "product_code": "P9", "lead_days": 99}))
    df = pd.concat(frames, ignore_index=True)
    table = duckdb.sql("""SELECT filename, product_code, lead_days,
                                 list(hash(case_id)) FILTER (WHERE case_id IS NOT NULL) AS "__ids"
                          FROM df GROUP BY ALL""").to_arrow_table()
    got = _duplicate_ids(table)
    want = {f: int(g["case_id"].notna().sum() - g["case_id"].nunique()) for f, g in df.groupby("filename")}
    assert got == want
    assert got["clean"] == 1 and got["big"] > 1000  # the planted repeat; many repeats in the random file


def test_files_are_scanned_in_batches_with_the_same_result(tmp_path, monkeypatch):
    """Batching bounds memory; the batches cover every file once, in order, and the scans equal one batch."""
    from pipeline.demo.cases import generate_cases
    from pipeline.validate import cases as cases_mod

    files = generate_cases(tmp_path, 30_000, year=Y, seed=5, fmt="csv")
    paths = [files[o] for o in sorted(files)]
    est = {p: cases_mod._estimated_rows(p) for p in paths}
    real = {p: p.read_bytes().count(b"\n") - 1 for p in paths}
    assert all(abs(est[p] - real[p]) <= 0.05 * real[p] + 5 for p in paths)
    batches = cases_mod._batches([cases_mod.CaseScan(path=p) for p in paths], limit=5_000)
    assert [s.path for b in batches for s in b] == paths and len(batches) > 3
    assert all(len(b) == 1 or sum(est[s.path] for s in b) <= 5_000 for b in batches)

    one = cases_mod.scan_case_files(paths, Y, validate=False)
    monkeypatch.setattr(cases_mod, "SCAN_BATCH_ROWS", 5_000)
    many = cases_mod.scan_case_files(paths, Y, validate=False)
    for a, b in zip(one, many):
        pd.testing.assert_frame_equal(a.aggregates, b.aggregates)
        assert a.violations == b.violations and a.n_rows == b.n_rows == real[a.path]


def test_thousands_dots_in_case_numbers_are_thousands_and_a_dot_decimal_is_a_type_error(tmp_path):
    """DuckDB alone would read '1.500' in an INTEGER column as 2; the case file follows the Dutch convention."""
    df = _cases()
    path = tmp_path / "zaken.csv"
    _write_csv(df, path)
    lines = path.read_text().splitlines()
    # line 2: term '1.500' days = 1500 (over the maximum of 730: a range finding with 1500, not 2)
    lines[1] = lines[1].replace(";14;", ";1.500;")
    # line 3: objection '1.5' is no whole number in a file with decimal commas
    head = lines[0].split(";")
    cells = lines[2].split(";")
    cells[head.index("bezwaar")] = "1.5"
    lines[2] = ";".join(cells)
    path.write_text("\n".join(lines) + "\n")
    scan = scan_case_file(path, Y)
    by_cell = {(f.rule, f.row, f.field): f for f in scan.findings}
    term = by_cell[("range:termijn_dagen", 2, "termijn_dagen")]
    assert term.value == "1.500"  # as typed; read as 1500, not 2
    assert "is 1.500; toegestaan is 1 tot en met 730." in term.message_nl
    assert "is 1,500; allowed is 1 to 730." in term.message_en
    ambiguous = by_cell[("type:bezwaar", 3, "bezwaar")]
    assert ambiguous.value == "1.5"
    assert "niet eenduidig" in ambiguous.message_nl and "ambiguous" in ambiguous.message_en
    assert not any(f.field == "bezwaar" and f.rule.startswith(("required", "range")) for f in scan.findings)


def test_padded_case_numbers_give_the_same_indicators(tmp_path):
    df = _cases()
    plain, dotted = tmp_path / "plain" / "zaken.csv", tmp_path / "dotted" / "zaken.csv"
    plain.parent.mkdir()
    dotted.parent.mkdir()
    _write_csv(df, plain)
    df2 = df.copy()
    df2["termijn_dagen"] = df2["termijn_dagen"].astype(object).map(lambda v: f" {v} ")
    _write_csv(df2, dotted)
    a, b = scan_case_file(plain, Y), scan_case_file(dotted, Y)
    assert a.findings == [] and b.findings == []
    pd.testing.assert_frame_equal(a.aggregates, b.aggregates)
