"""The indicator catalogue's texts for readers: in Dutch and in English, in words, without field codes.

Every indicator has a definition and a calculation in words in both languages and a caveat in both or in
neither; none of them holds a field code or an indicator code, none reads as the other language, and the
statistical method stays out of what a manager reads (it is in the method appendix and docs/indicators.md).
The model refuses the keys of the old single-language catalogue.
"""

from __future__ import annotations

import re
from importlib import resources

import pytest
from language import code_set, codes_in, other_language, sentences

from pipeline.metadata.models import MetadataError, load, validate
from pipeline.metadata.registry import load_yaml

KEYS = ("description", "formula", "caveat")
#: method words that belong in the appendix, not in a definition, a calculation in words or a caveat
METHOD = re.compile(r"\b(?:Taylor|Kish|Wilson|design-based|SE|n_eff|t-interval|degrees of freedom|vrijheidsgraden)\b")


def _indicators() -> list[dict]:
    return load("indicators.yaml")["indicators"]


def _raw() -> dict:
    return load_yaml(resources.files("pipeline.metadata").joinpath("indicators.yaml").read_text("utf-8"))


def test_every_indicator_has_its_texts_in_both_languages():
    for ind in _indicators():
        for lang in ("nl", "en"):
            assert ind[f"description_{lang}"].strip(), (ind["code"], lang)
            assert ind[f"formula_{lang}"].strip(), (ind["code"], lang)
        assert bool(ind["caveat_nl"]) == bool(ind["caveat_en"]), ind["code"]
        assert ind["description_nl"] != ind["description_en"], ind["code"]
        assert ind["formula_nl"] != ind["formula_en"], ind["code"]


def test_texts_hold_no_codes_and_no_statistical_method():
    codes = code_set()
    for ind in _indicators():
        for key in KEYS:
            for lang in ("nl", "en"):
                text = ind[f"{key}_{lang}"]
                assert not codes_in(text, codes), (ind["code"], key, lang, text)
                assert not METHOD.search(text), (ind["code"], key, lang, text)
                assert "_" not in text, (ind["code"], key, lang, text)


def test_texts_read_as_their_own_language():
    for ind in _indicators():
        for key in KEYS:
            for lang in ("nl", "en"):
                wrong = [s for s in sentences(ind[f"{key}_{lang}"]) if other_language(s, lang)]
                assert not wrong, (ind["code"], key, lang, wrong)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda i: i.update(description="Weighted mean."), "description: unknown key"),
        (lambda i: i.pop("formula_nl"), "formula_nl: missing"),
        (lambda i: i.update(formula_en=""), "formula_en"),
        (lambda i: i.update(caveat_en=""), "caveat_nl and caveat_en are both given or both empty"),
    ],
)
def test_the_model_refuses_old_missing_and_one_sided_texts(change, message):
    raw = _raw()
    change(raw["indicators"][0])
    with pytest.raises(MetadataError, match=re.escape(message)) as exc:
        validate("indicators.yaml", raw)
    assert "indicators[0] (ktv_rapportcijfer)" in str(exc.value)
