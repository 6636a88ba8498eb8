"""The metadata files load into typed models; a malformed file fails at load time with the entry named; labels
and descriptions read as their author wrote them."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from pipeline.metadata.models import MODELS, MetadataError, load, validate
from pipeline.metadata.registry import load_yaml, registry


def _text(name: str) -> str:
    return resources.files("pipeline.metadata").joinpath(name).read_text("utf-8")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_packaged_metadata_files_match_their_models(name):
    assert load(name)


def test_every_yaml_in_the_metadata_folder_has_a_model():
    names = {p.name for p in resources.files("pipeline.metadata").iterdir() if p.name.endswith(".yaml")}
    assert names == set(MODELS)


def test_unquoted_comma_in_a_flow_mapping_fails_naming_file_and_entry(tmp_path):
    text = _text("indicators.yaml").replace(
        'name_en: "Objections per 1,000 decisions"', "name_en: Objections per 1,000 decisions"
    )
    assert text != _text("indicators.yaml")
    path = tmp_path / "indicators.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(MetadataError) as exc:
        load("indicators.yaml", path)
    msg = str(exc.value)
    assert str(path) in msg
    assert "bezwaar_per_1000" in msg and "000 decisions" in msg and "unknown key" in msg and "quote the value" in msg


def test_missing_key_and_wrong_type_are_named():
    raw = load_yaml(_text("methods.yaml"))
    del raw["dea"]["bootstrap"]["seed"]
    raw["composite"]["uncertainty"]["n_runs"] = "many"
    with pytest.raises(MetadataError) as exc:
        validate("methods.yaml", raw)
    msg = str(exc.value)
    assert "dea.bootstrap.seed: missing" in msg
    assert "composite.uncertainty.n_runs" in msg and "'many'" in msg


def test_submission_registry_refuses_a_stray_key(tmp_path):
    from pipeline.metadata.registry import load_registry

    text = _text("submission.yaml").replace("plausibility: true,", "plausibilty: true,", 1)
    path = tmp_path / "submission.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(MetadataError, match=r"fields\[\d+\] \(fte_totaal\)\.plausibilty: unknown key"):
        load_registry(path)


def _texts() -> list[tuple[str, str]]:
    """Every name, label and description of every field, sheet, ratio, theme and indicator."""
    reg = registry()
    out = []
    for s in reg.sheets:
        out += [(f"sheet {s.code}", t) for t in (s.name_nl, s.name_en, s.description_nl, s.description_en)]
    for f in reg.all_fields():
        out += [(f"field {f.code}", t) for t in (f.label_nl, f.label_en, f.description_nl, f.description_en)]
    for r in reg.ratios:
        out += [(f"ratio {r.code}", t) for t in (r.label_nl, r.label_en)]
    cat = load("indicators.yaml")
    for code, t in cat["themes"].items():
        out += [(f"theme {code}", t["nl"]), (f"theme {code}", t["en"])]
    for i in cat["indicators"]:
        out += [
            (f"indicator {i['code']}", i[f"{k}_{lang}"])
            for k in ("name", "description", "formula", "caveat")
            for lang in ("nl", "en")
        ]
    return out


def test_labels_and_descriptions_are_whole():
    """None is cut in the middle of a number or a parenthesis, and every description is a whole sentence."""
    for where, text in _texts():
        assert isinstance(text, str), where
        assert text == text.strip(), (where, text)
        assert text.count("(") == text.count(")"), (where, text)
        assert not re.search(r"(?:\bper|×)\s+\d{1,3}$", text), (where, text)
    reg = registry()
    for f in reg.all_fields():
        for d in (f.description_nl, f.description_en):
            assert d.endswith((".", ")", "?")), (f.code, d)


def test_the_labels_that_a_comma_used_to_cut():
    reg = registry()
    cat = {i["code"]: i for i in load("indicators.yaml")["indicators"]}
    assert cat["bezwaar_per_1000"]["name_en"] == "Objections per 1,000 decisions"
    assert cat["klachten_per_10000"]["name_en"] == "Complaints per 10,000 clients"
    org = reg.sheet("organisatie")
    assert org.field("apparaatskosten_totaal").description_en == "Total operating costs in whole euros (not × 1,000)."
    assert (
        org.field("ict_materieel").description_nl == "Materiële ICT-kosten (licenties, hardware, diensten) in euro's."
    )
    assert org.field("verzuimdagen").description_en == "Calendar days of sickness absence, excluding pregnancy leave."
