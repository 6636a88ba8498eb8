"""Real-data conformance: the Canada Service Inventory 2018-19 to 2020-21 through ``rbb import``, ``rbb ingest``
and ``rbb compute``, checked against a recomputation from the raw files that shares no code with the pipeline.

The six exports live gzip-compressed in ``tests/data/real/canada-service-inventory/`` (and, in a checkout next
to the shared data, uncompressed in ``../shared/real-data/canada-service-inventory/``). Mappings and the
department register are in ``docs/mappings/``; what they do and what comes out: ``docs/real-data.md``.
"""

from __future__ import annotations

import gzip
import os
import shutil
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.inprocess import rbb

ROOT = Path(__file__).resolve().parents[2]
COPY = ROOT / "tests" / "data" / "real" / "canada-service-inventory"
SHARED = ROOT.parent / "shared" / "real-data" / "canada-service-inventory"
MAPPINGS = ROOT / "docs" / "mappings"
YEARS = {2018: "2018-2019", 2019: "2019-2020", 2020: "2020-2021"}
SHORT = {2018: "2018-19", 2019: "2019-20", 2020: "2020-21"}
KINDS = ("services", "standards")

# the recomputation's own reading of the codes (docs/real-data.md, "Codes")
NVT_CODES = {2018: set(), 2019: set(), 2020: {"not_applicable"}}
UNKNOWN_CODES = {2018: {"ND"}, 2019: {"ND"}, 2020: {"ND", "no_data"}}
APPLICATION_PARTS = {
    2018: ["online_applications", "in_person_applications", "postal_mail_applications", "other_applications"],
    2019: [
        "online_applications",
        "telephone_applications",
        "in_person_applications",
        "postal_mail_applications",
        "other_applications",
    ],
    2020: [
        "online_applications",
        "telephone_applications",
        "in_person_applications",
        "postal_mail_applications",
        "email_applications",
        "fax_applications",
        "other_applications",
    ],
}
#: the error rules that name an impossible value (a rejection for any other reason fails the test)
IMPOSSIBLE = {"tijdig_le_besluiten", "digitaal_le_aanvragen", "range", "type"}


#: the default run imports every 6th department (by English name, over all three years) of each export: all three
#: years, both kinds of file, large and small departments, about a sixth of the cost; ``--long`` imports them all
EVERY = 6


def _subset(frames: dict[tuple[str, str], pd.DataFrame]) -> set[str]:
    names = sorted({n for (_, kind), df in frames.items() if kind == "services" for n in df["department_name_en"]})
    return set(names[::EVERY])


def _sources(tmp: Path, full: bool) -> Path | None:
    """The six exports as plain CSV files in ``tmp/exports`` (all departments, or the default subset)."""
    if all((COPY / f"{y}_{k}.csv.gz").is_file() for y in YEARS.values() for k in KINDS):

        def opener(y, k):
            return gzip.open(COPY / f"{y}_{k}.csv.gz", "rb")
    elif all((SHARED / f"{y}_{k}.csv").is_file() for y in YEARS.values() for k in KINDS):

        def opener(y, k):
            return open(SHARED / f"{y}_{k}.csv", "rb")
    else:
        return None
    out = tmp / "exports"
    out.mkdir()
    if full:
        for y in YEARS.values():
            for k in KINDS:
                with opener(y, k) as src, open(out / f"{y}_{k}.csv", "wb") as dst:
                    shutil.copyfileobj(src, dst)
        return out
    frames = {}
    for y in YEARS.values():
        for k in KINDS:
            with opener(y, k) as src:
                frames[(y, k)] = pd.read_csv(src, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    keep = _subset(frames)
    for (y, k), df in frames.items():
        df[df["department_name_en"].isin(keep)].to_csv(out / f"{y}_{k}.csv", index=False, encoding="utf-8-sig")
    return out


@pytest.fixture(scope="module")
def real(tmp_path_factory, request):
    tmp = tmp_path_factory.mktemp("canada")
    full = request.config.getoption("--long") or os.environ.get("RBB_LONG") == "1"
    src = _sources(tmp, full)
    if src is None:
        pytest.skip(f"Canada Service Inventory files not found in {COPY} or {SHARED}")
    ws = tmp / "ws"
    (ws / "data").mkdir(parents=True)
    shutil.copy(MAPPINGS / "canada-organisations.csv", ws / "data" / "organisations.csv")
    started = time.perf_counter()
    outputs = []
    for year, fy in YEARS.items():
        r = rbb(
            "import",
            str(src / f"{fy}_services.csv"),
            "--mapping",
            str(MAPPINGS / f"canada-{SHORT[year]}.yaml"),
            "--year",
            str(year),
            "--root",
            str(ws),
        )
        outputs.append(r)
        assert r.returncode == 0, r.stdout + r.stderr
    again = rbb(
        "import",
        str(src / "2018-2019_services.csv"),
        "--mapping",
        str(MAPPINGS / "canada-2018-19.yaml"),
        "--year",
        "2018",
        "--root",
        str(ws),
    )
    outputs.append(again)
    for cmd in ("ingest", "compute"):
        r = rbb(cmd, "--root", str(ws))
        outputs.append(r)
        assert r.returncode == 0, r.stdout + r.stderr
    elapsed = time.perf_counter() - started
    print(f"\nCanada import + ingest + compute: {elapsed:.1f} s")
    con = duckdb.connect(str(ws / "data" / "processed" / "benchmark.duckdb"), read_only=True)
    data = {
        "submissions": con.execute("SELECT submission_id, org_code, year, status FROM submissions").fetch_df(),
        "findings": con.execute("SELECT submission_id, severity, rule, field, message_en FROM findings").fetch_df(),
        "values": con.execute(
            "SELECT org_code, year, indicator_code, value, numerator, denominator, rows_total, rows_used, "
            "rows_left_out, left_out, coverage, flags FROM indicator_values "
            "WHERE indicator_code IN ('digitaal_aanvraag_pct', 'tijdig_beslist_pct')"
        ).fetch_df(),
    }
    con.close()
    return {"src": src, "ws": ws, "outputs": outputs, "again": again, "full": full, **data}


# ------------------------------------------------------------------------------------ the recomputation


def _read(src: Path, year: int, kind: str) -> pd.DataFrame:
    df = pd.read_csv(src / f"{YEARS[year]}_{kind}.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return df.apply(lambda s: s.str.strip())


def _state(values: pd.Series, year: int) -> pd.Series:
    """'num', 'nvt' or 'unk' per cell."""
    is_num = pd.to_numeric(values, errors="coerce").notna()
    out = np.where(is_num, "num", np.where(values.isin(NVT_CODES[year]), "nvt", "unk"))
    return pd.Series(out, index=values.index)


def expected_digital(src: Path, year: int) -> pd.DataFrame:
    """Per department: services used (online and the channel total both known), left out, Σ online, Σ total."""
    s = _read(src, year, "services")
    parts = APPLICATION_PARTS[year]
    states = pd.DataFrame({c: _state(s[c], year) for c in parts})
    nums = pd.DataFrame({c: pd.to_numeric(s[c], errors="coerce").fillna(0) for c in parts})
    total_known = ~(states == "unk").any(axis=1) & ~(states == "nvt").all(axis=1)
    used = total_known & (states["online_applications"] == "num")
    frame = pd.DataFrame(
        {
            "org": s["department_name_en"],
            "used": used,
            "num": np.where(used, nums["online_applications"], 0.0),
            "den": np.where(used, nums.sum(axis=1), 0.0),
        }
    )
    g = frame.groupby("org")
    return pd.DataFrame(
        {
            "rows_total": g.size(),
            "rows_used": g["used"].sum(),
            "numerator": g["num"].sum(),
            "denominator": g["den"].sum(),
        }
    )


def expected_timeliness(src: Path, year: int) -> pd.DataFrame:
    s = _read(src, year, "services")
    st = _read(src, year, "standards")
    st = st[st["service_std_type"] == "time"]
    met = pd.to_numeric(st["volume_meeting_target"], errors="coerce")
    tot = pd.to_numeric(st["total_volume"], errors="coerce")
    per = pd.DataFrame({"service_id": st["service_id"], "met": met, "tot": tot})
    agg = per.groupby("service_id").agg(
        met=("met", lambda x: x.sum() if x.notna().all() else np.nan),
        tot=("tot", lambda x: x.sum() if x.notna().all() else np.nan),
    )
    m = s[["service_id", "department_name_en"]].merge(agg, left_on="service_id", right_index=True, how="left")
    m["used"] = m["met"].notna() & m["tot"].notna()
    m["num"] = m["met"].where(m["used"], 0)
    m["den"] = m["tot"].where(m["used"], 0)
    g = m.groupby("department_name_en")
    return pd.DataFrame(
        {
            "rows_total": g.size(),
            "rows_used": g["used"].sum(),
            "numerator": g["num"].sum(),
            "denominator": g["den"].sum(),
        }
    )


def _codes() -> dict[str, str]:
    reg = pd.read_csv(MAPPINGS / "canada-organisations.csv", dtype=str, keep_default_na=False)
    return dict(zip(reg["name"], reg["org_code"]))


def _compare(real, indicator: str, expected_of) -> int:
    names = _codes()
    got = real["values"][real["values"]["indicator_code"] == indicator].set_index(["org_code", "year"])
    compared = 0
    for year in YEARS:
        exp = expected_of(real["src"], year)
        for name, e in exp.iterrows():
            key = (names[name], year)
            assert key in got.index, f"{indicator}: no value row for {key}"
            g = got.loc[key]
            assert int(g["rows_total"]) == int(e["rows_total"]), (key, g["rows_total"], e["rows_total"])
            assert int(g["rows_used"]) == int(e["rows_used"]), (key, g["rows_used"], e["rows_used"])
            assert int(g["rows_left_out"]) == int(e["rows_total"] - e["rows_used"]), key
            if e["rows_used"] == 0:
                assert pd.isna(g["numerator"]) and pd.isna(g["value"]), key
                continue
            assert g["numerator"] == pytest.approx(e["numerator"], rel=1e-12, abs=1e-9), key
            assert g["denominator"] == pytest.approx(e["denominator"], rel=1e-12, abs=1e-9), key
            if not pd.isna(g["value"]):
                assert g["value"] == pytest.approx(e["numerator"] / e["denominator"] * 100, rel=1e-9), key
            compared += 1
    return compared


# ------------------------------------------------------------------------------------ the checks


def test_every_command_ran_without_a_traceback(real):
    for r in real["outputs"]:
        assert "Traceback" not in r.stdout + r.stderr
    assert "(0 new)" in real["again"].stdout  # a re-import of the same export writes nothing new


def test_digital_share_matches_the_recomputation(real):
    assert _compare(real, "digitaal_aanvraag_pct", expected_digital) > (100 if real["full"] else 10)


def test_timeliness_share_matches_the_recomputation(real):
    assert _compare(real, "tijdig_beslist_pct", expected_timeliness) > (100 if real["full"] else 10)


def test_incomplete_departments_are_accepted_and_rejections_name_impossible_values(real):
    subs, findings = real["submissions"], real["findings"]
    for year in YEARS:
        assert len(subs[subs["year"] == year]) == _read(real["src"], year, "services")["department_name_en"].nunique()
    rejected = subs[subs["status"] == "rejected"]
    for sid, org, year in rejected[["submission_id", "org_code", "year"]].itertuples(index=False):
        errors = findings[(findings["submission_id"] == sid) & (findings["severity"] == "error")]
        print(f"rejected {org} {year}: " + "; ".join(errors["message_en"].head(3)))
        assert set(errors["rule"]) <= IMPOSSIBLE, (org, year, sorted(set(errors["rule"])))
    accepted = subs[subs["status"] != "rejected"]
    errors = findings[findings["submission_id"].isin(accepted["submission_id"]) & (findings["severity"] == "error")]
    assert errors.empty
    # incomplete data is said, not hidden: unknown answers are warnings, and each delivery lists its answers
    unknown = findings[findings["rule"] == "unknown_value"]
    assert set(unknown["submission_id"]) == set(subs["submission_id"])
    assert set(findings.loc[findings["rule"] == "answers_read", "submission_id"]) == set(subs["submission_id"])


def test_codes_are_read_as_their_states(real):
    v = real["values"]
    digital = v[v["indicator_code"] == "digitaal_aanvraag_pct"]
    # 2020-21 says not_applicable: services without an online channel are left out as n.v.t.
    assert digital.loc[digital["year"] == 2020, "left_out"].fillna("").str.contains("nvt").any()
    # 2018-19 and 2019-20 only know ND: nothing is n.v.t., everything missing is onbekend
    assert not digital.loc[digital["year"] < 2020, "left_out"].fillna("").str.contains("nvt").any()
    # a value on too small a share of the applications is not published
    low = digital[digital["flags"].fillna("").str.contains("low_coverage")]
    assert len(low) and low["value"].isna().all() and (low["coverage"] < 0.5).all()
