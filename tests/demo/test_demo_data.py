"""Tests for the synthetic demo deliveries in ``pipeline.demo_data``."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.demo.data import (
    DEMO_MERGER,
    FAULT_IDS,
    MERGER_FIELDS,
    MISSING_ORG,
    PLACEHOLDERS,
    SIZE_FTE,
    CsvStyle,
    DemoDelivery,
    demo_organisations,
    format_value,
    generate,
    missing_submissions,
    planted_faults,
    to_cp1252,
    write_csv_folder,
    write_delivery,
)
from pipeline.metadata.registry import Rule, load_organisations, registry

YEARS = list(range(2021, 2026))
LAST = YEARS[-1]
ERROR_FAULTS = {
    "missing_sheet",
    "parts_exceed_total",
    "percentage_over_100",
    "text_in_number",
    "duplicate_product",
    "out_of_range",
}
WARNING_FAULTS = {"yoy_jump", "yoy_jump_explained"}


@pytest.fixture(scope="module")
def deliveries() -> list[DemoDelivery]:
    return generate()


@pytest.fixture(scope="module")
def first(deliveries: list[DemoDelivery]) -> dict[tuple[str, int], DemoDelivery]:
    """The first delivery per organisation and year (resubmissions left out)."""
    return {(d.org_code, d.year): d for d in deliveries if d.fault != "resubmission"}


def clean(deliveries: list[DemoDelivery]) -> list[DemoDelivery]:
    return [d for d in deliveries if d.fault not in ERROR_FAULTS]


def num(frame: pd.DataFrame, column: str) -> np.ndarray:
    return _numbers(frame[column])


def rule_violations(sheets: dict[str, pd.DataFrame], rules: tuple[Rule, ...] | None = None) -> set[str]:
    """Codes of the registry rules that ``sheets`` break (missing values pass)."""
    broken: set[str] = set()
    for rule in rules if rules is not None else registry().rules:
        frame = sheets.get(rule.sheet)
        if frame is None or frame.empty:
            continue
        if rule.kind == "sum_le":
            parts = np.nansum([num(frame, c) for c in rule.parts], axis=0)
            total = num(frame, rule.total)
            bad = ~np.isnan(total) & (parts > total + 1e-6)
        elif rule.kind == "le":
            a, b = num(frame, rule.a), num(frame, rule.b)
            bad = ~np.isnan(a) & ~np.isnan(b) & (a > b + 1e-6)
        elif rule.kind == "sheet_sum_le":
            totals = sheets.get(rule.total_sheet)
            if totals is None:
                continue
            bad = np.array([np.nansum(num(frame, rule.a)) > num(totals, rule.total)[0] + 1e-6])
        else:
            raise AssertionError(f"unknown rule kind {rule.kind}")
        if bool(bad.any()):
            broken.add(rule.code)
    return broken


def _numbers(col: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


#: how the demo writes the answers besides a number
ANSWER_TEXTS = {"n.v.t.": "nvt", "nvt": "nvt", "onbekend": "onbekend"}


def field_problems(sheets: dict[str, pd.DataFrame]) -> list[str]:
    """Type, range, code-list, required, length and key problems against the registry."""
    reg = registry()
    org_codes = {o.org_code for o in demo_organisations()}
    problems: list[str] = []
    for sheet in reg.sheets:
        frame = sheets.get(sheet.code)
        if frame is None:
            if sheet.required:
                problems.append(f"missing sheet {sheet.code}")
            continue
        assert list(frame.columns) == sheet.field_codes, sheet.code
        if sheet.max_rows is not None and len(frame) > sheet.max_rows:
            problems.append(f"{sheet.code}: too many rows")
        if len(frame) and frame.duplicated(subset=list(sheet.key)).any():
            problems.append(f"{sheet.code}: duplicate key {sheet.key}")
        for f in sheet.fields:
            col = frame[f.code]
            if f.is_numeric and pd.api.types.is_numeric_dtype(col):
                values = col.to_numpy(dtype="float64", na_value=np.nan)
                missing = np.isnan(values)
                answered = np.zeros(len(values), dtype=bool)
                not_a_number = False
            else:
                raw = col.to_numpy(dtype=object)
                missing = pd.isna(raw)
                values = _numbers(col) if f.is_numeric else raw
                # an answer the field accepts besides a number (written 'n.v.t.', 'nvt' or 'onbekend')
                answered = np.array([ANSWER_TEXTS.get(str(v).strip().lower()) in f.missing for v in raw], dtype=bool)
                if f.is_numeric and answered.any():
                    missing = missing | answered
                not_a_number = f.is_numeric and bool(np.isnan(values[~missing]).any())
            if f.required and (missing & ~answered).any():
                problems.append(f"{sheet.code}.{f.code}: required value missing")
            if not_a_number:
                problems.append(f"{sheet.code}.{f.code}: not a number")
            elif f.is_numeric:
                values = values[~missing]
                if f.type == "integer" and not (values == np.round(values)).all():
                    problems.append(f"{sheet.code}.{f.code}: not whole")
                if f.min is not None and (values < f.min).any():
                    problems.append(f"{sheet.code}.{f.code}: below {f.min}")
                if f.max is not None and (values > f.max).any():
                    problems.append(f"{sheet.code}.{f.code}: above {f.max}")
                if f.plausible_max is not None and (values > f.plausible_max).any():
                    problems.append(f"{sheet.code}.{f.code}: above the plausible {f.plausible_max}")
            else:
                present = {str(v) for v in values[~missing].tolist()}
                allowed = set(f.codes) if f.codes is not None else (org_codes if f.code_list == "register" else None)
                if allowed is not None and not present <= allowed:
                    problems.append(f"{sheet.code}.{f.code}: value outside code list")
                if f.max_length is not None and any(len(v) > f.max_length for v in present):
                    problems.append(f"{sheet.code}.{f.code}: too long")
                if f.pattern and not all(re.fullmatch(f.pattern.strip("^$"), v) for v in present):
                    problems.append(f"{sheet.code}.{f.code}: pattern")
    return problems


def assert_same_values(original: pd.DataFrame, back: pd.DataFrame, cp1252: bool) -> None:
    assert list(back.columns) == list(original.columns)
    assert len(back) == len(original)
    for column in original.columns:
        o = original[column]
        if pd.api.types.is_numeric_dtype(o):
            expected = o.astype("float64").to_numpy()
            got = pd.to_numeric(back[column]).astype("float64").to_numpy()
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9, equal_nan=True, err_msg=column)
        else:
            fix = to_cp1252 if cp1252 else (lambda s: s)
            expected_text = [None if pd.isna(v) else fix(str(v)) for v in o]
            got_text = [None if pd.isna(v) else str(v) for v in back[column]]
            assert got_text == expected_text, column


def read_back(folder: Path, code: str, encoding: str) -> pd.DataFrame:
    return pd.read_csv(
        folder / f"{code}.csv", sep=";", decimal=",", thousands=".", encoding=encoding, na_values=list(PLACEHOLDERS)
    )


# ------------------------------------------------------------------ determinism and coverage


def test_deterministic_for_a_seed(deliveries: list[DemoDelivery]) -> None:
    again = generate()
    assert len(again) == len(deliveries)
    for a, b in zip(deliveries, again):
        assert (a.org_code, a.year, a.fmt, a.name, a.received_order, a.encoding, a.fault, a.note, a.csv_style) == (
            b.org_code,
            b.year,
            b.fmt,
            b.name,
            b.received_order,
            b.encoding,
            b.fault,
            b.note,
            b.csv_style,
        )
        assert list(a.sheets) == list(b.sheets)
        for code in a.sheets:
            x, y = a.sheets[code], b.sheets[code]
            assert list(x.dtypes) == list(y.dtypes) and x.equals(y), (a.org_code, a.year, code)


def test_other_seed_differs() -> None:
    orgs = [o for o in load_organisations() if o.org_code in {"DUO", "UWV", "CBR", "NEA", "LBIO"}]
    base = {(d.org_code, d.year): d for d in generate(seed=2025, years=[2022, 2023], orgs=orgs)}
    other = {(d.org_code, d.year): d for d in generate(seed=99, years=[2022, 2023], orgs=orgs)}
    assert set(other) == set(base)
    for key in base:
        for code in ("organisatie", "producten", "enquete"):
            assert not other[key].sheets[code].equals(base[key].sheets[code])


def test_all_members_every_year_except_missing(first: dict[tuple[str, int], DemoDelivery]) -> None:
    orgs = demo_organisations()
    merged, preds, merger_year = DEMO_MERGER
    for year in YEARS:
        expected = {o.org_code for o in orgs if o.is_member(year)}
        got = {code for code, y in first if y == year}
        if year == LAST:
            assert got == expected - {MISSING_ORG}
            assert len(got) == 33  # 35 members, two of them merged into one, one without a delivery
        else:
            assert got == expected
            assert len(got) == (35 if year < merger_year else 34)
        assert (merged in got) == (year >= merger_year) and set(preds).isdisjoint(got) == (year >= merger_year)
    assert "IBG" not in {c for c, _ in first} and "CFI" not in {c for c, _ in first}
    cluster = {o.org_code: o.cluster for o in orgs}
    assert sum(1 for c, y in first if y == LAST and cluster[c] == "heffen_innen") == 4
    assert missing_submissions() == [(MISSING_ORG, LAST)]


def test_received_order(deliveries: list[DemoDelivery]) -> None:
    orders = [d.received_order for d in deliveries]
    assert orders == list(range(1, len(deliveries) + 1))
    years_in_order = [d.year for d in deliveries if d.fault != "resubmission"]
    assert years_in_order == sorted(years_in_order)


def test_formats_and_names(deliveries: list[DemoDelivery]) -> None:
    fmts = Counter(d.fmt for d in deliveries)
    assert 0.55 <= fmts["xlsx"] / len(deliveries) <= 0.78
    assert {d.encoding for d in deliveries if d.fmt == "csv"} == {"cp1252", "utf-8-sig"}
    assert {d.encoding for d in deliveries if d.fmt == "xlsx"} == {"utf-8-sig"}
    for d in deliveries:
        pattern = (
            r"[A-Z]+_benchmark_\d{4}(_herzien)?\.xlsx" if d.fmt == "xlsx" else r"[A-Z]+_aanlevering_\d{4}(_herzien)?"
        )
        assert re.fullmatch(pattern, d.name), d.name
    assert len({d.name for d in deliveries}) == len(deliveries)


# ------------------------------------------------------------------ validity of the clean data


def test_clean_deliveries_satisfy_rules_and_ranges(deliveries: list[DemoDelivery]) -> None:
    for d in clean(deliveries):
        assert rule_violations(d.sheets) == set(), (d.org_code, d.year)
        assert field_problems(d.sheets) == [], (d.org_code, d.year)
        assert set(d.sheets) >= {"organisatie", "producten", "kanalen", "enquete"}
        org = d.sheets["organisatie"]
        assert org.loc[0, "org_code"] == d.org_code and org.loc[0, "jaar"] == d.year


def test_realistic_levels(deliveries: list[DemoDelivery]) -> None:
    size = {o.org_code: o.size_class for o in demo_organisations()}
    weighted = 0
    for d in clean(deliveries):
        org, prod, chan, survey = (d.sheets[c] for c in ("organisatie", "producten", "kanalen", "enquete"))
        o = org.iloc[0]
        # the demo merger's predecessors are parts of their successor, whatever their size class says
        if d.fault != "yoy_jump_explained" and d.org_code not in DEMO_MERGER[1]:
            lo, hi = SIZE_FTE[size[d.org_code]]
            assert lo <= o.fte_totaal <= hi
        overhead = sum(o[c] for c in org.columns if c.startswith("fte_overhead_")) / o.fte_totaal
        assert 0.10 <= overhead <= 0.25
        assert 0.045 <= o.verzuimdagen / o.beschikbare_dagen <= 0.07
        assert 0.08 <= o.kosten_inhuur / (o.loonsom_eigen + o.kosten_inhuur) <= 0.20
        assert 0.70 <= prod.n_besluiten_tijdig.sum() / prod.n_besluiten.sum() <= 0.995
        per_1000 = 1000 * prod.n_bezwaren_ontvangen.sum() / prod.n_besluiten.sum()
        assert per_1000 <= 45 and (per_1000 >= 1.5 or prod.n_besluiten.sum() < 5000)
        assert 2 <= len(prod) <= 8
        phone = chan[chan.kanaal == "telefoon"].iloc[0]
        reached = phone.n_beantwoord_agent + (phone.n_ivr_afgehandeld if phone.definitie_code == "AGENT_IVR" else 0)
        assert 0.65 <= reached / phone.n_contacten <= 0.99
        assert {"telefoon", "web", "post"} <= set(chan.kanaal)
        assert 80 <= len(survey) <= 2500
        assert o.ktv_respondenten == len(survey) <= o.ktv_uitgenodigd
        w = survey["weight"]
        if w.notna().any():
            weighted += d.fault is None
            assert w.notna().all() and abs(w.mean() - 1) < 0.02
        mean = np.average(survey.q_overall, weights=w.fillna(1.0))
        assert 5.5 <= mean <= 8.5
        assert set(survey.kanaal.dropna()) <= set(chan.kanaal)
        assert set(survey.product_code.dropna()) <= set(prod.product_code)
    assert 0.35 <= weighted / len(clean(deliveries)) <= 0.65


def test_small_surveys_exist(first: dict[tuple[str, int], DemoDelivery]) -> None:
    small = {c for (c, _), d in first.items() if len(d.sheets["enquete"]) < 150}
    assert 2 <= len(small) <= 4


def test_product_codes_stable(first: dict[tuple[str, int], DemoDelivery]) -> None:
    codes: dict[str, set[tuple[str, ...]]] = {}
    for (org, _), d in first.items():
        if d.fault == "duplicate_product":
            continue
        codes.setdefault(org, set()).add(tuple(d.sheets["producten"].product_code))
    assert all(len(v) == 1 for v in codes.values())
    assert codes["UWV"] == {("WW", "WIA", "ZW", "WAJONG")}


def test_year_on_year_within_threshold(first: dict[tuple[str, int], DemoDelivery]) -> None:
    reg = registry()
    plausible = [f.code for f in reg.sheet("organisatie").fields if f.plausibility]
    jumps: list[tuple[str, int, str]] = []
    for (org, year), d in first.items():
        prev = first.get((org, year - 1))
        if prev is None:
            continue
        a, b = prev.sheets["organisatie"].iloc[0], d.sheets["organisatie"].iloc[0]
        for code in plausible:
            if abs(float(b[code]) / float(a[code]) - 1) > reg.yoy_threshold:
                jumps.append((org, year, code))
        pa = prev.sheets["producten"].drop_duplicates("product_code").set_index("product_code")["n_besluiten"]
        pb = d.sheets["producten"].drop_duplicates("product_code").set_index("product_code")["n_besluiten"]
        ratio = (pb / pa).dropna()
        jumps += [(org, year, f"n_besluiten:{c}") for c in ratio.index if abs(ratio[c] - 1) > reg.yoy_threshold]
    faults = {f["id"]: f for f in planted_faults()}
    expected = {(faults["yoy_jump"]["org_code"], LAST, "apparaatskosten_totaal")}
    expected |= {(faults["yoy_jump_explained"]["org_code"], LAST, f) for f in MERGER_FIELDS}
    assert set(jumps) == expected


def test_development_questions(first: dict[tuple[str, int], DemoDelivery]) -> None:
    themes = set(registry().code_lists["thema"])
    for year in YEARS:
        rows = [d.sheets["organisatie"].iloc[0] for (c, y), d in first.items() if y == year]
        filled = [r for r in rows if pd.notna(r.ontwikkelvraag_thema)]
        if year >= YEARS[-2]:
            assert 6 <= len(filled) <= 10
            for r in filled:
                assert r.ontwikkelvraag_thema in themes
                assert isinstance(r.ontwikkelvraag_tekst, str) and r.ontwikkelvraag_tekst.endswith("?")
        else:
            assert filled == []


def theme_badness(d: DemoDelivery) -> dict[str, float]:
    """Realised value per theme, oriented so that higher is worse."""
    org, prod, chan, survey = (d.sheets[c] for c in ("organisatie", "producten", "kanalen", "enquete"))
    o = org.iloc[0]
    phone = chan[chan.kanaal == "telefoon"].iloc[0]
    reached = phone.n_beantwoord_agent + (phone.n_ivr_afgehandeld if phone.definitie_code == "AGENT_IVR" else 0)
    # a product answered 'n.v.t.' leaves the digital share's numerator and denominator together
    digital = pd.to_numeric(prod.n_aanvragen_digitaal, errors="coerce")
    total = pd.to_numeric(prod.n_aanvragen_totaal, errors="coerce")
    used = digital.notna() & total.notna()
    return {
        "klanttevredenheid": -float(np.average(survey.q_overall, weights=survey.weight.fillna(1.0))),
        "tijdigheid": -prod.n_besluiten_tijdig.sum() / prod.n_besluiten.sum(),
        "bezwaar_klachten": prod.n_bezwaren_ontvangen.sum() / prod.n_besluiten.sum(),
        "bereikbaarheid": -reached / phone.n_contacten,
        "digitaal": -digital[used].sum() / total[used].sum() if used.any() else float("nan"),
        "kosten": o.apparaatskosten_totaal / o.fte_totaal,
        "personeel": o.verzuimdagen / o.beschikbare_dagen,
        "ict": o.kosten_inhuur_ict / (o.loonsom_eigen + o.kosten_inhuur),
    }


def test_development_question_matches_weakness(first: dict[tuple[str, int], DemoDelivery]) -> None:
    for year in YEARS[-2:]:
        year_clean = {c: d for (c, y), d in first.items() if y == year and d.fault is None}
        badness = {c: theme_badness(d) for c, d in year_clean.items()}
        for code, d in year_clean.items():
            theme = d.sheets["organisatie"].loc[0, "ontwikkelvraag_thema"]
            if pd.isna(theme):
                continue
            median = float(np.nanmedian([b[theme] for b in badness.values()]))
            assert badness[code][theme] > median, (code, year, theme)


def test_toelichting_sheets(first: dict[tuple[str, int], DemoDelivery]) -> None:
    with_notes = [d for d in first.values() if "toelichting" in d.sheets]
    assert 0.3 * len(first) <= len(with_notes) <= 0.9 * len(first)
    text = " ".join(" ".join(d.sheets["toelichting"].toelichting) for d in with_notes)
    assert "€" in text and "ë" in text


def test_dutch_characters_present(deliveries: list[DemoDelivery]) -> None:
    text = ""
    for d in deliveries:
        text += " ".join(d.sheets["producten"].product_naam)
        if "toelichting" in d.sheets:
            text += " ".join(d.sheets["toelichting"].toelichting)
        text += " ".join(d.sheets["organisatie"].ontwikkelvraag_tekst.dropna())
    for ch in "éë’€":
        assert ch in text, ch


# ------------------------------------------------------------------ planted faults


def test_each_fault_exactly_once(deliveries: list[DemoDelivery]) -> None:
    counts = Counter(d.fault for d in deliveries if d.fault)
    assert counts == Counter(FAULT_IDS)
    plan = planted_faults()
    assert sorted(f["id"] for f in plan) == sorted(FAULT_IDS)
    by_id = {d.fault: d for d in deliveries if d.fault}
    for f in plan:
        d = by_id[f["id"]]
        assert (d.org_code, d.year) == (f["org_code"], f["year"]) and d.note
        assert f["severity"] in ("error", "warning", None)
    first_orgs = [f["org_code"] for f in plan if f["id"] != "resubmission"]
    assert len(first_orgs) == len(set(first_orgs)) and MISSING_ORG not in first_orgs


def test_error_faults_break_what_they_say(deliveries: list[DemoDelivery]) -> None:
    by_id = {d.fault: d for d in deliveries if d.fault}
    plan = {f["id"]: f for f in planted_faults()}

    d = by_id["missing_sheet"]
    assert d.fmt == "csv" and "kanalen" not in d.sheets
    assert field_problems(d.sheets) == ["missing sheet kanalen"] and rule_violations(d.sheets) == set()

    d = by_id["parts_exceed_total"]
    assert rule_violations(d.sheets) == {"overhead_le_totaal"}

    d = by_id["percentage_over_100"]
    assert rule_violations(d.sheets) == {"tijdig_le_besluiten"}
    prod = d.sheets["producten"]
    assert prod.loc[0, "n_besluiten_tijdig"] > prod.loc[0, "n_besluiten"]
    assert prod.loc[0, "product_code"] == plan["percentage_over_100"]["key"]

    d = by_id["text_in_number"]
    col = d.sheets["producten"]["n_klachten"]
    assert col.dtype == object and col.iloc[plan["text_in_number"]["row"]] == "ca. 1200"
    assert field_problems(d.sheets) == ["producten.n_klachten: not a number"]

    d = by_id["duplicate_product"]
    codes = d.sheets["producten"]["product_code"]
    assert codes.duplicated().sum() == 1 and codes.iloc[1] == codes.iloc[0] == plan["duplicate_product"]["key"]
    assert field_problems(d.sheets) == ["producten: duplicate key ('product_code',)"]
    assert rule_violations(d.sheets) == set()

    d = by_id["out_of_range"]
    survey = d.sheets["enquete"]
    f = plan["out_of_range"]
    assert survey.loc[f["row"], "q_overall"] == 11 and survey.loc[f["row"], "resp_id"] == f["key"]
    assert (survey["q_overall"] > 10).sum() == 1
    assert field_problems(d.sheets) == ["enquete.q_overall: above 10"]


def test_warning_faults(deliveries: list[DemoDelivery], first: dict[tuple[str, int], DemoDelivery]) -> None:
    by_id = {d.fault: d for d in deliveries if d.fault}
    d = by_id["yoy_jump"]
    prev = first[(d.org_code, d.year - 1)]
    now, before = d.sheets["organisatie"].iloc[0], prev.sheets["organisatie"].iloc[0]
    assert now.apparaatskosten_totaal / before.apparaatskosten_totaal == pytest.approx(1.6, abs=1e-6)
    assert now.apparaatskosten_totaal <= registry().sheet("organisatie").field("apparaatskosten_totaal").plausible_max
    notes = d.sheets.get("toelichting")
    assert notes is None or "apparaatskosten_totaal" not in set(notes.veld)

    d = by_id["yoy_jump_explained"]
    prev = first[(d.org_code, d.year - 1)]
    now, before = d.sheets["organisatie"].iloc[0], prev.sheets["organisatie"].iloc[0]
    assert now.fte_totaal / before.fte_totaal == pytest.approx(1.45, abs=0.001)
    notes = d.sheets["toelichting"]
    explained = set(notes.loc[notes.blad == "organisatie", "veld"])
    assert set(MERGER_FIELDS) <= explained


def test_resubmission_supersedes(deliveries: list[DemoDelivery]) -> None:
    by_id = {d.fault: d for d in deliveries if d.fault}
    bad, fix = by_id["parts_exceed_total"], by_id["resubmission"]
    assert (fix.org_code, fix.year) == (bad.org_code, bad.year)
    assert fix.name != bad.name and "herzien" in fix.name
    assert fix.received_order == max(d.received_order for d in deliveries)
    assert all(fix.received_order > d.received_order for d in deliveries if d is not fix)
    assert rule_violations(fix.sheets) == set() and field_problems(fix.sheets) == []
    a, b = bad.sheets["organisatie"], fix.sheets["organisatie"]
    assert a.loc[0, "fte_overhead_management"] == pytest.approx(100 * b.loc[0, "fte_overhead_management"])
    pd.testing.assert_frame_equal(a.drop(columns="fte_overhead_management"), b.drop(columns="fte_overhead_management"))
    pd.testing.assert_frame_equal(bad.sheets["enquete"], fix.sheets["enquete"])


def test_faults_with_fewer_organisations() -> None:
    orgs = [o for o in load_organisations() if o.org_code in {"UWV", "SVB", "BD", "LBIO", "KAD", "RDW", "CBR", "COA"}]
    out = generate(seed=3, years=[2024, 2025], orgs=orgs)
    faults = Counter(d.fault for d in out if d.fault)
    assert set(faults) <= set(FAULT_IDS) and all(v == 1 for v in faults.values())
    assert {d.org_code for d in out if d.year == 2025} == {o.org_code for o in orgs} - {MISSING_ORG}
    for d in clean(out):
        assert rule_violations(d.sheets) == set() and field_problems(d.sheets) == []


# ------------------------------------------------------------------ CSV writer


@pytest.mark.parametrize(
    "style",
    [CsvStyle(thousands=True, placeholder="n.v.t."), CsvStyle(False, "-"), CsvStyle(True, "nvt"), CsvStyle(False, "")],
)
@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])
def test_csv_round_trip(
    first: dict[tuple[str, int], DemoDelivery], tmp_path: Path, style: CsvStyle, encoding: str
) -> None:
    notes = [d for d in first.values() if "toelichting" in d.sheets and d.fault is None]
    delivery = min(notes, key=lambda d: (len(d.sheets["enquete"]), d.org_code, d.year))
    write_csv_folder(tmp_path, delivery.sheets, encoding, style)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{c}.csv" for c in delivery.sheets)
    for code, frame in delivery.sheets.items():
        back = read_back(tmp_path, code, encoding)
        assert_same_values(frame, back, cp1252=encoding == "cp1252")


def test_csv_round_trip_every_csv_delivery_style(deliveries: list[DemoDelivery], tmp_path: Path) -> None:
    csv_deliveries = [d for d in deliveries if d.fmt == "csv" and d.fault is None]
    for d in sorted(csv_deliveries, key=lambda d: len(d.sheets["enquete"]))[:6]:
        folder = tmp_path / d.name
        write_csv_folder(folder, d.sheets, d.encoding, d.csv_style)
        for code, frame in d.sheets.items():
            assert_same_values(frame, read_back(folder, code, d.encoding), cp1252=d.encoding == "cp1252")


def test_csv_looks_like_dutch_excel(tmp_path: Path) -> None:
    org = pd.DataFrame(
        {
            "veld": ["Dienst Justitiële Inrichtingen; afdeling ‘Zuid’", "score ≥ 7, € 5"],
            "bedrag": [1234567.0, 12.5],
            "aantal": pd.array([None, 25000], dtype="Int64"),
        }
    )
    write_csv_folder(tmp_path / "a", {"organisatie": org}, "cp1252", CsvStyle(thousands=True, placeholder="n.v.t."))
    raw = (tmp_path / "a" / "organisatie.csv").read_bytes()
    text = raw.decode("cp1252")
    assert text.splitlines()[0] == "veld;bedrag;aantal"
    assert '"Dienst Justitiële Inrichtingen; afdeling ‘Zuid’";1.234.567;n.v.t.' in text
    assert "score >= 7, € 5;12,5;25.000" in text
    write_csv_folder(tmp_path / "b", {"organisatie": org}, "utf-8-sig", CsvStyle())
    raw = (tmp_path / "b" / "organisatie.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and '‘Zuid’";1234567;\r\n' in raw.decode("utf-8-sig")
    assert format_value(2025, CsvStyle(thousands=True)) == "2025"
    assert format_value(0.7622, CsvStyle()) == "0,7622"


def test_csv_writer_accepts_generator(tmp_path: Path, first: dict[tuple[str, int], DemoDelivery]) -> None:
    d = first[("UWV", 2022)]
    write_csv_folder(tmp_path, {"organisatie": d.sheets["organisatie"]}, "utf-8-sig", np.random.default_rng(1))
    back = pd.read_csv(
        tmp_path / "organisatie.csv",
        sep=";",
        decimal=",",
        thousands=".",
        encoding="utf-8-sig",
        na_values=list(PLACEHOLDERS),
    )
    assert_same_values(d.sheets["organisatie"], back, cp1252=False)


def test_write_delivery_xlsx(first: dict[tuple[str, int], DemoDelivery], tmp_path: Path) -> None:
    d = min((d for d in first.values() if d.fault is None), key=lambda d: len(d.sheets["enquete"]))
    d = DemoDelivery(**{**d.__dict__, "fmt": "xlsx", "name": "TEST_benchmark_2025.xlsx", "template_version": None})
    path = write_delivery(d, tmp_path)
    book = pd.read_excel(path, sheet_name=None, engine="calamine")
    assert list(book) == list(d.sheets)
    for code, frame in d.sheets.items():
        assert_same_values(frame, book[code], cp1252=False)
    # on an older template: its stamp first, its column codes
    old = DemoDelivery(**{**d.__dict__, "name": "TEST_benchmark_2023.xlsx", "template_version": "2023.1"})
    book = pd.read_excel(write_delivery(old, tmp_path), sheet_name=None, engine="calamine", header=None)
    stamp = list(book["Instructies"].iloc[0])
    assert list(book)[0] == "Instructies" and stamp[0] == "Registerversie" and str(stamp[1]) == "2023.1"
    header = list(book["organisatie"].iloc[0])
    assert "kosten_extern" in header and "fte_inhuur" in header and "kosten_inhuur" not in header


def test_demo_merger_predecessors_add_up_to_the_successor(deliveries: list[DemoDelivery]) -> None:
    """The predecessors' deliveries before the merger are the successor's figures, divided: their counts and
    costs add up to a series that continues into the successor's first year without a jump."""
    merged, preds, year = DEMO_MERGER
    by = {(d.org_code, d.year): d for d in deliveries if d.fault is None}
    before = [by[(p, year - 1)].sheets for p in preds]
    after = by[(merged, year)].sheets
    fte = sum(float(s["organisatie"]["fte_totaal"].iloc[0]) for s in before)
    assert 0.8 < float(after["organisatie"]["fte_totaal"].iloc[0]) / fte < 1.25
    products = [set(s["producten"]["product_code"]) for s in before]
    assert all(products) and products[0].isdisjoint(products[1])
    assert set.union(*products) == set(after["producten"]["product_code"])
    # the predecessors' ratios differ (they are two organisations, not one copied twice)
    rates = [
        float(s["organisatie"]["n_ziekmeldingen"].iloc[0]) / float(s["organisatie"]["gem_personeelsleden"].iloc[0])
        for s in before
    ]
    assert abs(rates[0] - rates[1]) > 1e-3
    assert all(by[(p, year - 1)].template_version == "2023.1" for p in preds)
