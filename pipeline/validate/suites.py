"""Great Expectations suites built from the registry, one per sheet of a batch (run through :mod:`.gx`).

Every expectation carries its rule, field and severity in its ``meta``, which :mod:`.assemble` turns into
a finding. Errors: the structure of a submission (required sheets and columns), and per sheet the types,
required values, code lists, lengths, patterns, uniqueness, ranges, the submission's identity (the
organisation and year of its delivery folder) and the cross-field rules. Warnings: the plausibility
expectations (year-on-year change, robust outliers), on the columns :mod:`.rules` computes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from pipeline.ingest.answers import LEEG, NVT, ONBEKEND
from pipeline.ingest.batch import Item
from pipeline.ingest.normalize import INTEGER_RE, NUMBER_RE, is_code_text
from pipeline.metadata.registry import Registry, Rule, Sheet
from pipeline.validate import gx
from pipeline.validate.rules import History, OrgComparison, add_part_sum, add_product_change, add_sheet_sum

Add = Callable[..., None]


def _adder(suite: Any) -> Add:
    def add(exp_cls, meta: dict, **kwargs):
        suite.add_expectation(exp_cls(meta=meta, **kwargs))

    return add


# ------------------------------------------------------------------ structure


def structure_frame(registry: Registry, live: list[Item]) -> pd.DataFrame | None:
    """One row per required sheet and per required column of a present sheet, with whether it is there;
    ``None`` when there is nothing to check."""
    rows = []
    for it in live:
        for sheet in registry.sheet_level:
            present = sheet.code in it.raw.sheets
            if sheet.required or present:
                has_rows = present and bool(it.raw.sheets[sheet.code].rows)
                rows.append(
                    {
                        "__sub": it.key,
                        "__row": 0,
                        "sheet": sheet.code,
                        "field": None,
                        "present": has_rows or not sheet.required,
                        "exists": present,
                    }
                )
            if present:
                cols = it.raw.sheets[sheet.code].columns
                not_asked = it.raw.sheets[sheet.code].not_asked  # by the template version it was read as
                for f in sheet.fields:
                    if f.required and f.code not in not_asked:
                        rows.append(
                            {
                                "__sub": it.key,
                                "__row": 0,
                                "sheet": sheet.code,
                                "field": f.code,
                                "present": f.code in cols,
                                "exists": True,
                            }
                        )
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    frame["__row"] = np.arange(len(frame))
    return frame


def structure_suite() -> Any:
    """The suite for :func:`structure_frame`: everything that is required is present."""
    gxe = gx.expectations()
    suite = gx.new_suite("structure")
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeInSet(column="present", value_set=[True], meta={"rule": "structure"})
    )
    return suite


# ------------------------------------------------------------------ errors per sheet


def sheet_suite(registry: Registry, org_codes: list[str], sheet: Sheet, frame: pd.DataFrame, live: list[Item]) -> Any:
    """The error suite of one sheet over a batch's frame (columns the rules need are added to the frame)."""
    gxe = gx.expectations()
    suite = gx.new_suite(f"rbb_{sheet.code}")
    add = _adder(suite)
    for f in sheet.fields:
        raw = f"{f.code}__raw"
        state = f"{f.code}__state"
        if state not in frame.columns:
            frame[state] = None
        if f.required:
            # "required" means "must be answered": a value, or an answer the field accepts (n.v.t., onbekend)
            add(
                gxe.ExpectColumnValuesToNotBeInSet,
                {"rule": "required", "field": f.code, "severity": "error"},
                column=state,
                value_set=[LEEG],
            )
            refused = [s for s in (NVT, ONBEKEND) if s not in f.missing]
            if refused:
                add(
                    gxe.ExpectColumnValuesToNotBeInSet,
                    {"rule": "answer_not_allowed", "field": f.code, "severity": "error"},
                    column=state,
                    value_set=refused,
                )
            # 'onbekend' in a required field is a warning: counted per field in assemble.unknown_answers
        if f.is_numeric:
            regex = INTEGER_RE if f.type == "integer" else NUMBER_RE
            add(
                gxe.ExpectColumnValuesToMatchRegex,
                {"rule": "type", "field": f.code, "severity": "error"},
                column=raw,
                regex=regex,
            )
            if f.min is not None or f.max is not None:
                add(
                    gxe.ExpectColumnValuesToBeBetween,
                    {"rule": "range", "field": f.code, "severity": "error"},
                    column=f.code,
                    min_value=f.min,
                    max_value=f.max,
                )
            if f.plausible_max is not None:
                add(
                    gxe.ExpectColumnValuesToBeBetween,
                    {"rule": "implausible", "field": f.code, "severity": "warning"},
                    column=f.code,
                    max_value=f.plausible_max,
                )
        if f.type == "code":
            codes = list(f.codes) if f.codes is not None else org_codes
            add(
                gxe.ExpectColumnValuesToBeInSet,
                {"rule": "code_list", "field": f.code, "severity": "error"},
                column=f.code,
                value_set=codes,
            )
        if f.type == "text" and f.max_length:
            add(
                gxe.ExpectColumnValueLengthsToBeBetween,
                {"rule": "length", "field": f.code, "severity": "error"},
                column=raw,
                max_value=f.max_length,
            )
        if f.type == "text" and f.plausible_length:
            add(
                gxe.ExpectColumnValueLengthsToBeBetween,
                {"rule": "long_text", "field": f.code, "severity": "warning"},
                column=raw,
                max_value=f.plausible_length,
            )
        if is_code_text(f) and f"{f.code}__asnumber" in frame.columns:
            add(
                gxe.ExpectColumnValuesToBeNull,
                {"rule": "code_as_number", "field": f.code, "severity": "warning"},
                column=f"{f.code}__asnumber",
            )
        if f.pattern:
            add(
                gxe.ExpectColumnValuesToMatchRegex,
                {"rule": "pattern", "field": f.code, "severity": "error"},
                column=raw,
                regex=f.pattern,
            )
    if sheet.max_rows == 1:
        add(gxe.ExpectColumnValuesToBeUnique, {"rule": "one_row", "field": None, "severity": "error"}, column="__sub")
    elif sheet.key:
        add(
            gxe.ExpectCompoundColumnsToBeUnique,
            {"rule": "unique", "field": sheet.key[0], "severity": "error"},
            column_list=["__sub", *[f"{k}__raw" for k in sheet.key]],
            ignore_row_if="any_value_is_missing",
        )
    if "product_code" in sheet.field_codes and sheet.code != PRODUCTS:
        _known_products(frame, live, add, gxe)
    if sheet.code == "organisatie":
        _identity(frame, live, add, gxe)
    for rule in registry.rules_for(sheet.code):
        _rule(rule, frame, add, gxe)
    if sheet.code == "organisatie":
        _sheet_sums(registry, sheet, frame, live, add, gxe)
    return suite


PRODUCTS = "producten"


def _known_products(frame: pd.DataFrame, live: list[Item], add: Add, gxe) -> None:
    """Referential integrity: a product code used on another sheet exists on the submission's products sheet."""
    known: dict[int, set[str]] = {}
    for it in live:
        prod = it.frames.get(PRODUCTS)
        if prod is not None and "product_code" in prod.columns:
            known[it.key] = {p for p in prod["product_code"] if isinstance(p, str)}
    codes = frame["product_code"] if "product_code" in frame.columns else pd.Series([None] * len(frame))
    frame["__product_known"] = [
        (c in known[k]) if isinstance(c, str) and k in known else None for k, c in zip(frame["__sub"], codes)
    ]
    add(
        gxe.ExpectColumnValuesToNotBeInSet,
        {"rule": "unknown_product", "field": "product_code", "severity": "warning"},
        column="__product_known",
        value_set=[False],
    )


def _identity(frame: pd.DataFrame, live: list[Item], add: Add, gxe) -> None:
    exp_org = {it.key: it.expected_org for it in live}
    exp_year = {it.key: it.expected_year for it in live}
    frame["__expected_org"] = frame["__sub"].map(exp_org).astype(object)
    frame["__expected_year"] = frame["__sub"].map(exp_year).astype("float64")
    if any(v is not None for v in exp_org.values()):
        add(
            gxe.ExpectColumnPairValuesToBeEqual,
            {"rule": "org_mismatch", "field": "org_code", "severity": "error"},
            column_A="org_code",
            column_B="__expected_org",
            ignore_row_if="either_value_is_missing",
        )
    if any(v is not None for v in exp_year.values()):
        add(
            gxe.ExpectColumnPairValuesToBeEqual,
            {"rule": "year_mismatch", "field": "jaar", "severity": "error"},
            column_A="jaar",
            column_B="__expected_year",
            ignore_row_if="either_value_is_missing",
        )


def _rule(rule: Rule, frame: pd.DataFrame, add: Add, gxe) -> None:
    meta = {"rule": f"rule:{rule.code}", "severity": "error"}
    if rule.kind == "le":
        add(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB,
            {**meta, "field": rule.a},
            column_A=rule.b,
            column_B=rule.a,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        )
    elif rule.kind == "sum_le":
        col = add_part_sum(frame, rule)
        add(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB,
            {**meta, "field": rule.total},
            column_A=rule.total,
            column_B=col,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        )
    # sheet_sum_le rules are added to the suite of the sheet holding the total (_sheet_sums)


def _sheet_sums(registry: Registry, sheet: Sheet, frame: pd.DataFrame, live: list[Item], add: Add, gxe) -> None:
    for rule in registry.rules:
        if rule.kind == "sheet_sum_le" and rule.total_sheet == sheet.code:
            col = add_sheet_sum(frame, rule, live)
            add(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB,
                {"rule": f"rule:{rule.code}", "field": rule.total, "severity": "error", "parts_sheet": rule.sheet},
                column_A=rule.total,
                column_B=col,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )


# ------------------------------------------------------------------ plausibility warnings


def plausibility_suite(
    registry: Registry, sheet: Sheet, frame: pd.DataFrame, live: list[Item], history: History
) -> Any | None:
    """The warning suite of ``organisatie`` or ``producten`` over the submissions whose identity is settled;
    ``None`` when it has no expectations."""
    gxe = gx.expectations()
    suite = gx.new_suite(f"rbb_{sheet.code}_plausibility")
    add = _adder(suite)
    if sheet.code == "organisatie":
        _plausibility_org(registry, sheet, frame, live, history, add, gxe)
    else:
        _plausibility_products(registry, frame, live, history, add, gxe)
    return suite if suite.expectations else None


def _plausibility_org(
    registry: Registry, sheet: Sheet, frame: pd.DataFrame, live: list[Item], history: History, add: Add, gxe
) -> None:
    t = registry.yoy_threshold
    comparison = OrgComparison(frame, live, history)
    for f in sheet.fields:
        if not f.plausibility:
            continue
        col = comparison.add_change(f)
        add(
            gxe.ExpectColumnValuesToBeBetween,
            {"rule": "yoy_change", "field": f.code, "severity": "warning"},
            column=col,
            min_value=-t,
            max_value=t,
        )
    zmax = registry.robust_z_threshold
    for ratio in registry.ratios:
        if ratio.sheet != sheet.code:
            continue
        col = comparison.add_outlier_score(ratio, registry.min_peers)
        add(
            gxe.ExpectColumnValuesToBeBetween,
            {"rule": "outlier", "field": ratio.code, "severity": "warning", "ratio": ratio.code},
            column=col,
            min_value=-zmax,
            max_value=zmax,
        )


def _plausibility_products(
    registry: Registry, frame: pd.DataFrame, live: list[Item], history: History, add: Add, gxe
) -> None:
    t = registry.yoy_threshold
    for f in registry.sheet("producten").fields:
        if not f.plausibility:
            continue
        col = add_product_change(frame, f, live, history)
        add(
            gxe.ExpectColumnValuesToBeBetween,
            {"rule": "yoy_change", "field": f.code, "severity": "warning"},
            column=col,
            min_value=-t,
            max_value=t,
        )
