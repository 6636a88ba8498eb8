"""Tests for pipeline.methods.dea against published DEA results."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.compute.methods.dea import (
    DeaInputError,
    dea,
    dea_csv,
    main_dea_cli,
    robustness,
    super_efficiency,
)

DATA = Path(__file__).parents[1] / "data" / "dea"
MODELS = ["crs_in", "crs_out", "vrs_in", "vrs_out"]
TOL = 1e-6

# reference data set name -> (file, inputs, outputs), as listed in the reference README
DATASETS: dict[str, tuple[str, list[str], list[str]]] = {
    "Coelli_1998": ("Coelli_1998", ["input1", "input2"], ["output"]),
    "Fried1993": ("Fried1993", ["x1", "x2"], ["y"]),
    "Fried1993_y10eq26": ("Fried1993", ["x1", "x2"], ["y"]),
    "Golany_Roll_1989": ("Golany_Roll_1989", ["X1", "X2", "X3"], ["Y1", "Y2"]),
    "Hotels": (
        "Hotels",
        ["Employees", "Guest_rooms", "Area_F&B", "Operating_cost"],
        ["Room_revenue", "F&B_revenue", "Other_revenue"],
    ),
    "Electric_plants": ("Electric_plants", ["Labor", "Fuel", "Capital"], ["Output"]),
    "Airlines": ("Airlines", ["Lab", "Fuel", "Matl", "Cap"], ["Pass", "Cargo"]),
    "Ruggiero2007": ("Ruggiero2007", ["X1", "X2"], ["Y1"]),
    "Power_plants": ("Power_plants", ["X1", "X2", "X3", "X4"], ["Y1", "Y2"]),
    "Coll_Blasco_2006": ("Coll_Blasco_2006", ["Employees", "Capital"], ["Vehicles", "Orders"]),
    "Fortune500": ("Fortune500", ["Assets", "Equity", "Employees"], ["Revenue", "Profit"]),
    "Libraries": ("Libraries", ["AREA", "BOOKS", "STAFF", "POPULATION"], ["REGISTERED", "BORROWED"]),
    "Doyle_Green_1994": (
        "Doyle_Green_1994",
        ["Salaries", "Other_expenses"],
        ["Undergraduates", "Postgraduates", "Research_income", "Publications"],
    ),
    "Departments_TomkinsGreen_DEA1": (
        "Departments",
        ["Staff"],
        ["Undergrad", "Research_post", "Taught_post", "Total_income"],
    ),
}


def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Inputs and outputs of a reference data set, indexed by unit id."""
    file, inputs, outputs = DATASETS[name]
    frame = pd.read_csv(DATA / f"{file}.csv")
    frame = frame.set_index(frame.columns[0])
    frame.index = frame.index.astype(str)
    if name == "Fried1993_y10eq26":
        frame.loc["Unit 10", "y"] = 26.0
    if name == "Departments_TomkinsGreen_DEA1":
        frame["Total_income"] = frame[["Res_co_income", "Other_res_income", "Other_income"]].sum(axis=1)
    return frame[inputs], frame[outputs]


@functools.cache
def solved(name: str, rts: str, orientation: str):
    """``dea`` of a reference data set, solved once per model for the tests that only read the result
    (scores against the references, peers, lambdas and targets)."""
    return dea(*load(name), rts, orientation)


def scores(result) -> pd.Series:
    return pd.Series(result.score, index=[str(i) for i in result.ids])


@pytest.fixture(scope="module")
def benchmarking_ref() -> pd.DataFrame:
    return pd.read_csv(DATA / "ref_deaR_datasets_Benchmarking.csv", dtype={"dmu": str})


@pytest.fixture(scope="module")
def pinned() -> pd.DataFrame:
    return pd.read_csv(DATA / "published_pinned_values.csv", dtype={"dmu": str})


# --------------------------------------------------------------------------- #
# Reference results
# --------------------------------------------------------------------------- #
def test_reference_covers_all_datasets(benchmarking_ref):
    assert set(benchmarking_ref["dataset"]) == set(DATASETS)


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("model", MODELS)
def test_matches_benchmarking(benchmarking_ref, name, model):
    rts, orientation = model.split("_")
    expected = benchmarking_ref[benchmarking_ref["dataset"] == name].set_index("dmu")[model]
    got = scores(solved(name, rts, orientation))
    assert list(got.index) == list(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=TOL)


def test_reference_detects_a_data_change(benchmarking_ref):
    """The comparison is sharp: Fried1993 with y10 = 26 does not reproduce the y10 = 26.5 column."""
    x, y = load("Fried1993_y10eq26")
    expected = benchmarking_ref[benchmarking_ref["dataset"] == "Fried1993"].set_index("dmu")["crs_in"]
    got = scores(dea(x, y, "crs", "in"))
    assert abs(got["Unit 10"] - expected["Unit 10"]) > 1e-3


@pytest.mark.parametrize("model", MODELS)
def test_published_fried1993_y10eq26(pinned, model):
    rts, orientation = model.split("_")
    rows = (pinned["dataset"] == "Fried1993_y10eq26") & (pinned["model"] == model)
    expected = pinned[rows].set_index("dmu")
    assert len(expected) == 11
    got = scores(dea(*load("Fried1993_y10eq26"), rts, orientation))
    np.testing.assert_allclose(got[expected.index], expected["published_value"], rtol=0, atol=TOL)


def test_published_coelli(pinned):
    expected = pinned[pinned["dataset"] == "Coelli_1998"].set_index("dmu")["published_value"]
    got = scores(dea(*load("Coelli_1998"), "crs", "in"))
    np.testing.assert_allclose(got[expected.index], expected, rtol=0, atol=1e-8)


@pytest.mark.parametrize("id_col", [None, "TestName"])
def test_published_pydea_example(pinned, id_col):
    expected = pinned[pinned["dataset"] == "pyDEA_DEA_example2"].set_index("dmu")["published_value"]
    table = dea_csv(
        DATA / "pydea_DEA_example2_data_with_header.csv", ["I1", "I2", "I3"], ["O1", "O2"], id_col=id_col
    ).set_index("id")
    assert list(table.index) == list(expected.index)
    np.testing.assert_allclose(table["score"], expected, rtol=0, atol=TOL)


# --------------------------------------------------------------------------- #
# Structural properties
# --------------------------------------------------------------------------- #
def test_scale_models_are_consistent():
    """CRS = union of DRS and IRS technologies: theta_crs = min(theta_drs, theta_irs) <= theta_vrs."""
    x, y = load("Golany_Roll_1989")
    crs, vrs, drs, irs = (dea(x, y, rts, "in").score for rts in ("crs", "vrs", "drs", "irs"))
    np.testing.assert_allclose(crs, np.minimum(drs, irs), atol=1e-9)
    assert np.all(drs <= vrs + 1e-9) and np.all(irs <= vrs + 1e-9)
    assert not np.allclose(crs, vrs)


def test_super_efficiency_input_oriented():
    x, y = load("Fried1993")
    normal = dea(x, y, "crs", "in")
    sup = super_efficiency(x, y, "crs", "in")
    eff = normal.efficient
    strongly = eff & (normal.slack_x.sum(axis=1) + normal.slack_y.sum(axis=1) < 1e-9)
    assert strongly.sum() == 3
    assert np.all(sup[strongly] > 1 + 1e-6)
    assert np.all(sup[eff] >= 1 - 1e-9)
    np.testing.assert_allclose(sup[~eff], normal.score[~eff], atol=1e-9)
    # Unit 1 (5, 13 -> 12) can raise inputs until it meets Unit 4 / Unit 11: 1.130282
    assert sup[0] == pytest.approx(1.1302816901, abs=1e-8)


def test_super_efficiency_output_oriented_and_infeasible():
    x, y = load("Fried1993")
    normal = dea(x, y, "vrs", "out")
    sup = super_efficiency(x, y, "vrs", "out")
    eff = normal.efficient
    np.testing.assert_allclose(sup[~eff], normal.score[~eff], atol=1e-9)
    finite = eff & np.isfinite(sup)
    assert np.all(sup[finite] <= 1 + 1e-9)
    assert np.isnan(sup[0])  # Unit 1 has the smallest x1: nothing else is feasible under VRS
    sup_in = super_efficiency(x, y, "vrs", "in")
    assert np.isposinf(sup_in[8])  # Unit 9 has the largest output


@pytest.mark.parametrize("name", ["Hotels", "Doyle_Green_1994", "Departments_TomkinsGreen_DEA1"])
@pytest.mark.parametrize("rts", ["crs", "vrs", "drs", "irs"])
@pytest.mark.parametrize("orientation", ["in", "out"])
def test_lambdas_reproduce_targets(name, rts, orientation):
    x, y = load(name)
    res = solved(name, rts, orientation)
    xv, yv = x.to_numpy(), y.to_numpy()
    ref_x, ref_y = res.lambdas @ xv, res.lambdas @ yv
    scale_x, scale_y = xv.max(axis=0), yv.max(axis=0)
    assert np.all((ref_x - res.targets_x) / scale_x <= 1e-7)
    assert np.all((res.targets_y - ref_y) / scale_y <= 1e-7)
    np.testing.assert_allclose((ref_x + res.slack_x) / scale_x, res.targets_x / scale_x, atol=1e-7)
    np.testing.assert_allclose((ref_y - res.slack_y) / scale_y, res.targets_y / scale_y, atol=1e-7)
    radial = res.score[:, None]
    if orientation == "in":
        np.testing.assert_allclose(res.targets_x, xv * radial)
        np.testing.assert_array_equal(res.targets_y, yv)
        assert np.all(res.score <= 1 + 1e-9)
    else:
        np.testing.assert_allclose(res.targets_y, yv * radial)
        assert np.all(res.score >= 1 - 1e-9)
    total = res.lambdas.sum(axis=1)
    if rts == "vrs":
        np.testing.assert_allclose(total, 1, atol=1e-7)
    elif rts == "drs":
        assert np.all(total <= 1 + 1e-7)
    elif rts == "irs":
        assert np.all(total >= 1 - 1e-7)


@pytest.mark.parametrize("name", ["Fried1993", "Libraries", "Airlines"])
@pytest.mark.parametrize("model", MODELS)
def test_peers_have_positive_lambda_and_are_efficient(name, model):
    rts, orientation = model.split("_")
    res = solved(name, rts, orientation)
    position = {unit: j for j, unit in enumerate(res.ids)}
    for k, peers in enumerate(res.peers):
        assert peers, f"unit {res.ids[k]} has no peers"
        for peer in peers:
            j = position[peer]
            assert res.lambdas[k, j] > 1e-9
            assert abs(res.score[j] - 1) <= TOL
        assert np.count_nonzero(res.lambdas[k]) == len(peers)
    for k in np.flatnonzero(~res.efficient):
        assert res.ids[k] not in res.peers[k]


def test_to_frame_format():
    res = dea(*load("Fried1993"), "crs", "in")
    table = res.to_frame()
    assert list(table.columns) == ["id", "score", "peers", "lambdas", "target_x1", "target_x2", "target_y"]
    row = table.set_index("id").loc["Unit 10"]
    assert row["score"] == pytest.approx(0.5)
    assert row["peers"] == "Unit 4;Unit 7"
    assert row["lambdas"] == "Unit 4:0.5;Unit 7:0.5"
    assert row["target_x1"] == pytest.approx(21.0)
    assert table.set_index("id").loc["Unit 1", "lambdas"] == "Unit 1:1"


def test_row_order_does_not_matter():
    x, y = load("Hotels")
    order = np.random.default_rng(7).permutation(len(x))
    for rts, orientation in (("crs", "in"), ("vrs", "out")):
        base = dea(x, y, rts, orientation).to_frame().set_index("id")
        shuffled = dea(x.iloc[order], y.iloc[order], rts, orientation).to_frame().set_index("id")
        shuffled = shuffled.loc[base.index]
        np.testing.assert_allclose(shuffled["score"], base["score"], atol=1e-9)
        targets = [c for c in base.columns if c.startswith("target_")]
        np.testing.assert_allclose(shuffled[targets].to_numpy(), base[targets].to_numpy(), rtol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_crs_scores_are_unit_free(seed):
    """Scaling all inputs (or any single input/output) by a constant leaves CRS scores unchanged."""
    rng = np.random.default_rng(seed)
    n, m, s = 15, 3, 2
    x = rng.uniform(1, 100, (n, m))
    y = rng.uniform(1, 100, (n, s))
    for orientation in ("in", "out"):
        base = dea(x, y, "crs", orientation, slacks=False).score
        c = 10 ** rng.uniform(-3, 3)
        np.testing.assert_allclose(dea(x * c, y, "crs", orientation, slacks=False).score, base, atol=1e-8)
        column = np.ones(m)
        column[rng.integers(m)] = c
        rescaled = dea(x * column, y, "crs", orientation, slacks=False).score
        np.testing.assert_allclose(rescaled, base, atol=1e-8)
        np.testing.assert_allclose(dea(x, y * c, "crs", orientation, slacks=False).score, base, atol=1e-8)
    # under CRS the output score is the reciprocal of the input score
    theta = dea(x, y, "crs", "in", slacks=False).score
    phi = dea(x, y, "crs", "out", slacks=False).score
    np.testing.assert_allclose(theta * phi, 1.0, atol=1e-8)


def test_zero_inputs_and_outputs_are_allowed():
    x = np.array([[1.0, 0.0], [2.0, 1.0], [1.0, 2.0], [3.0, 3.0]])
    y = np.array([[1.0, 0.0], [1.0, 2.0], [1.0, 1.0], [2.0, 0.0]])
    for model in MODELS:
        rts, orientation = model.split("_")
        res = dea(x, y, rts, orientation)
        assert np.all(np.isfinite(res.score))
    assert dea(x, y, "crs", "in").score[0] == pytest.approx(1.0)


# --------------------------------------------------------------------------- #
# CSV front end and errors
# --------------------------------------------------------------------------- #
def test_dea_csv_semicolon_decimal_comma(tmp_path):
    x, y = load("Fried1993")
    frame = pd.concat([x, y], axis=1)
    frame.index.name = "Unit"
    frame.loc["Unit 10", "x1"] = 42.25
    path = tmp_path / "fried_nl.csv"
    frame.to_csv(path, sep=";", decimal=",")
    assert "42,25" in path.read_text()

    table = dea_csv(path, ["x1", "x2"], ["y"], rts="vrs", orientation="out")
    expected = dea(frame[["x1", "x2"]], frame[["y"]], "vrs", "out").to_frame()
    pd.testing.assert_frame_equal(table, expected)
    assert table["id"].tolist() == list(frame.index)


def test_main_dea_cli_writes_csv(tmp_path):
    out = tmp_path / "out" / "scores.csv"
    table = main_dea_cli(DATA / "Coelli_1998.csv", "input1,input2", "output", "crs", "in", None, out)
    written = pd.read_csv(out)
    assert written["id"].tolist() == ["DMU1", "DMU2", "DMU3", "DMU4", "DMU5"]
    np.testing.assert_allclose(written["score"], table["score"])
    np.testing.assert_allclose(written["score"], [0.5, 1, 5 / 6, 5 / 7, 1], atol=1e-9)
    assert main_dea_cli(DATA / "Coelli_1998.csv", ["input1"], ["output"], id_col="dmus").shape[0] == 5


def test_missing_column_is_named():
    with pytest.raises(DeaInputError, match="'x3' not found"):
        dea_csv(DATA / "Fried1993.csv", ["x1", "x3"], ["y"])
    with pytest.raises(DeaInputError, match="'Name' not found"):
        dea_csv(DATA / "Fried1993.csv", ["x1"], ["y"], id_col="Name")


def test_negative_value_is_reported(tmp_path):
    path = tmp_path / "neg.csv"
    path.write_text("unit,a,b\nU1,1,2\nU2,-3,4\nU3,2,2\n")
    with pytest.raises(DeaInputError, match=r"input 'a' of unit 'U2' \(row 2\) is negative") as info:
        dea_csv(path, ["a"], ["b"])
    assert isinstance(info.value, ValueError)


def test_bad_cells_are_reported(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("unit;a;b\nU1;1,5;2\nU2;abc;4\nU3;;2\n")
    with pytest.raises(DeaInputError, match=r"line 3 \(unit 'U2'\), column 'a': 'abc' is not a number"):
        dea_csv(path, ["a"], ["b"])
    path.write_text("unit;a;b\nU1;1,5;2\nU2;2;4\nU3;;2\n")
    with pytest.raises(DeaInputError, match=r"line 4 \(unit 'U3'\), column 'a': missing value"):
        dea_csv(path, ["a"], ["b"])


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "message"),
    [
        ([[1.0], [np.nan]], [[1.0], [1.0]], {}, "not a finite number"),
        ([[1.0], [0.0]], [[1.0], [1.0]], {}, "all inputs equal to zero"),
        ([[1.0], [2.0]], [[1.0], [0.0]], {}, "all outputs equal to zero"),
        ([[1.0], [2.0]], [[1.0]], {}, "2 units"),
        ([[1.0], [2.0]], [[1.0], [1.0]], {"rts": "nirs"}, "rts must be one of"),
        ([[1.0], [2.0]], [[1.0], [1.0]], {"orientation": "graph"}, "orientation must be one of"),
        ([[1.0], [2.0]], [[1.0], [1.0]], {"ids": ["a", "a"]}, "unique"),
    ],
)
def test_invalid_input_raises(x, y, kwargs, message):
    with pytest.raises(DeaInputError, match=message):
        dea(x, y, **kwargs)


# --------------------------------------------------------------------------- #
# Robustness
# --------------------------------------------------------------------------- #
def test_robustness_flags_self_identifier():
    """A, B, C span the isoquant and are used by D, E, F; X is efficient only
    because nobody else uses as little of input 1 (it defines itself)."""
    ids = ["A", "B", "C", "D", "E", "F", "X"]
    x = np.array([[1, 4], [2, 2], [4, 1], [3, 3], [2, 6], [6, 3], [0.5, 10]], dtype=float)
    y = np.ones((7, 1))
    table = robustness(x, y, "crs", "in", ids=ids).set_index("id")

    assert table.loc[["A", "B", "C", "X"], "efficient"].all()
    assert not table.loc[["D", "E", "F"], "efficient"].any()
    assert table.loc["X", "status"] == "self-identifier"
    assert table.loc["X", "peer_count"] == 0
    assert not table.loc["X", "robust_efficient"]
    assert table.loc["X", "influence"] == pytest.approx(0, abs=1e-9)
    assert table.loc[["A", "B", "C"], "robust_efficient"].all()
    assert table.loc["B", "peer_count"] == 3  # D, E, F
    # without B, D (3, 3) is projected onto the A-C segment x1 + x2 = 5: theta 5/6 instead of 2/3
    assert table.loc["D", "score"] == pytest.approx(2 / 3)
    assert table.loc["D", "score_max"] == pytest.approx(5 / 6)
    assert table.loc["B", "influence"] == pytest.approx(1 / 6)
    assert table.loc["D", "loo_runs"] == 4
    assert table.loc["X", "loo_runs"] == 3


def test_robustness_weakly_efficient_unit():
    x, y = load("Fried1993")
    table = robustness(x, y, "crs", "in").set_index("id")
    assert table.loc["Unit 11", "status"] == "weakly efficient"  # (5, 17) vs Unit 1 (5, 13), same output
    assert table.loc[["Unit 1", "Unit 4", "Unit 7"], "robust_efficient"].all()
    assert table.loc["Unit 9", "score_max"] > table.loc["Unit 9", "score"]


# --------------------------------------------------------------------------- #
# Dutch numbers: thousands dots are thousands, an ambiguous value is rejected
# --------------------------------------------------------------------------- #
UNITS = {"A": (1500, 3000, 30), "B": (2000, 2500, 40), "C": (1200, 1800, 20), "D": (1800, 4000, 35)}


def _units_csv(path: Path, sep: str, cell) -> Path:
    lines = [sep.join(["unit", "fte", "kosten", "producten"])]
    lines += [sep.join([u, *(cell(v) for v in vals)]) for u, vals in UNITS.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _dutch(v: int) -> str:
    return f"{v:,}".replace(",", ".")  # 1500 -> 1.500, as Dutch Excel writes it


def test_thousands_dots_in_a_semicolon_file_are_thousands(tmp_path):
    dutch = _units_csv(tmp_path / "nl.csv", ";", _dutch)
    assert "1.500" in dutch.read_text()
    plain = _units_csv(tmp_path / "plain.csv", ",", str)
    got = main_dea_cli(dutch, "fte,kosten", "producten", "vrs")
    want = main_dea_cli(plain, "fte,kosten", "producten", "vrs")
    pd.testing.assert_frame_equal(got, want)
    x = pd.DataFrame([v[:2] for v in UNITS.values()], index=list(UNITS), columns=["fte", "kosten"], dtype=float)
    y = pd.DataFrame([v[2:] for v in UNITS.values()], index=list(UNITS), columns=["producten"], dtype=float)
    np.testing.assert_allclose(got["score"], dea(x, y, "vrs", "in").score)


def test_decimal_points_throughout_a_semicolon_column_are_decimal_points(tmp_path):
    points = tmp_path / "points.csv"
    points.write_text("unit;a;b\nU1;0.5;2.25\nU2;1.25;4.5\nU3;2.75;2.5\n", encoding="utf-8")
    commas = tmp_path / "commas.csv"
    commas.write_text("unit;a;b\nU1;0,5;2,25\nU2;1,25;4,5\nU3;2,75;2,5\n", encoding="utf-8")
    got = dea_csv(points, ["a"], ["b"])
    pd.testing.assert_frame_equal(got, dea_csv(commas, ["a"], ["b"]))
    np.testing.assert_allclose(got["score"], [2.25 / 0.5 / 4.5, 4.5 / 1.25 / 4.5, 2.5 / 2.75 / 4.5])


def test_ambiguous_value_is_rejected_with_unit_column_and_value(tmp_path):
    path = _units_csv(tmp_path / "nl.csv", ";", _dutch)
    path.write_text(path.read_text().replace("2.500", "2.5"), encoding="utf-8")
    with pytest.raises(DeaInputError) as info:
        main_dea_cli(path, "fte,kosten", "producten")
    message = str(info.value)
    assert "unit 'B'" in message and "column 'kosten'" in message and "'2.5'" in message
    assert "eenheid 'B'" in message and "niet eenduidig" in message and "ambiguous" in message


def test_rbb_dea_rejects_an_ambiguous_value_without_traceback(tmp_path):
    from inprocess import rbb

    path = _units_csv(tmp_path / "nl.csv", ";", _dutch)
    ok = rbb("dea", str(path), "--inputs", "fte,kosten", "--outputs", "producten")
    assert ok.returncode == 0, ok.stderr
    assert "1.0" in ok.stdout
    path.write_text(path.read_text().replace("1.800", "1.8"), encoding="utf-8")
    bad = rbb("dea", str(path), "--inputs", "fte,kosten", "--outputs", "producten")
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert "'1.8'" in bad.stderr and "niet eenduidig" in bad.stderr and "ambiguous" in bad.stderr
