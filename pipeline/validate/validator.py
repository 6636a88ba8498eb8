"""Validation of submissions with Great Expectations, built from the registry.

Submissions of one batch (a year's new deliveries, or the files given to ``rbb check``) are validated
together: one GX run per sheet over all of them, so the fixed cost of GX is paid once per sheet, not once
per organisation. Every expectation carries its severity and rule in its ``meta``; every unexpected row
becomes a :class:`Finding` pointing at the submission's own sheet and cell.

Errors (structure, types, required values, code lists, uniqueness, ranges, cross-field rules) reject a
submission. Warnings (year-on-year change against the organisation's previous accepted year, robust
outliers against the other organisations) accept it but ask for an explanation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.validate import gx
from pipeline.core.findings import Finding, short_value
from pipeline.ingest.normalize import INTEGER_RE, NUMBER_RE, sheet_frame
from pipeline.ingest.batch import Item
from pipeline.metadata.registry import Field, Registry, Rule, Sheet


@dataclass
class History:
    """Accepted values that plausibility checks compare with: per organisation and year."""

    org_values: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    product_values: dict[tuple[str, int, str], dict[str, float]] = field(default_factory=dict)

    def previous(self, org: str, year: int) -> tuple[int | None, dict[str, float]]:
        years = [y for (o, y) in self.org_values if o == org and y < year]
        if not years:
            return None, {}
        y = max(years)
        return y, self.org_values[(org, y)]

    def previous_product(self, org: str, year: int, product: str) -> dict[str, float]:
        y, _ = self.previous(org, year)
        return {} if y is None else self.product_values.get((org, y, product), {})

    def add_item(self, item: "Item", org: str, year: int) -> None:
        frame = item.frames.get("organisatie")
        if frame is not None and len(frame):
            rec = frame.iloc[0]
            self.org_values[(org, year)] = {c: float(rec[c]) for c in frame.columns
                                            if not c.startswith("__") and not c.endswith("__raw")
                                            and isinstance(rec[c], float) and not math.isnan(rec[c])}
        prod = item.frames.get("producten")
        if prod is not None and "product_code" in prod.columns:
            for rec in prod.to_dict("records"):
                if isinstance(rec.get("product_code"), str):
                    self.product_values[(org, year, rec["product_code"])] = {
                        k: v for k, v in rec.items() if isinstance(v, float) and not math.isnan(v) and not k.startswith("__")}


def _fmt(x: object) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return "leeg"
        if math.isinf(x) or abs(x) >= 1e15:
            return f"{x:.3g}".replace(".", ",")
        if x.is_integer() and abs(x) < 1e15:
            return f"{int(x):,}".replace(",", ".")
        return f"{x:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return str(x)


def _fmt_en(x: object) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return "empty"
        if math.isinf(x) or abs(x) >= 1e15:
            return f"{x:.3g}"
        if x.is_integer() and abs(x) < 1e15:
            return f"{int(x):,}"
        return f"{x:,.2f}"
    return str(x)


class Validator:
    def __init__(self, registry: Registry, org_codes: list[str]):
        self.registry = registry
        self.org_codes = sorted(org_codes)

    # ------------------------------------------------------------------ public

    def validate(self, items: list[Item], history: History | None = None) -> None:
        """Pass 1: errors (one GX run per sheet over all items). Pass 2: plausibility warnings against the
        history plus the accepted items of this batch (a year's values are compared with the latest
        accepted earlier year of the same organisation)."""
        history = history or History()
        live = [it for it in items if it.raw.readable]
        for it in items:
            it.findings.extend(it.raw.findings)
        for it in live:
            for code, raw_sheet in it.raw.sheets.items():
                df = sheet_frame(raw_sheet, self.registry.sheet(code))
                df.insert(0, "__sub", it.key)
                it.frames[code] = df
        by_key = {it.key: it for it in live}
        self._check_structure(live, by_key)
        frames: dict[str, pd.DataFrame] = {}
        for sheet in self.registry.sheet_level:
            parts = [it.frames[sheet.code] for it in live if sheet.code in it.frames]
            if not parts:
                continue
            frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].copy()
            for f in sheet.fields:
                if f.code not in frame.columns:
                    frame[f.code] = np.nan if f.is_numeric else None
                    frame[f"{f.code}__raw"] = None
            frames[sheet.code] = frame
            suite = self._suite(sheet, frame, live)
            results = gx.run(frame, suite, ["__sub", "__row"])
            self._collect(sheet, frame, results, by_key)
        for it in sorted(live, key=lambda x: x.key):
            if it.n_errors == 0 and it.expected_year is not None:
                org = self._org(it)
                if org:
                    history.add_item(it, org, it.expected_year)
        # Plausibility compares a submission with history and peers. It runs only for submissions whose
        # identity is settled (the organisation and year of the delivery folder, matching the file), and
        # always looks history up by the folder's organisation: what a file claims to be never opens
        # another member's figures.
        plausible = [it for it in live if not identity_rejected(it)]
        keys = {it.key for it in plausible}
        for code in ("organisatie", "producten"):
            if code in frames:
                frame = frames[code]
                frame = frame[frame["__sub"].isin(keys)].copy() if len(keys) < len(live) else frame
                if frame.empty:
                    continue
                sheet = self.registry.sheet(code)
                suite = self._plausibility_suite(sheet, frame, plausible, history)
                if suite is not None:
                    self._collect(sheet, frame, gx.run(frame, suite, ["__sub", "__row"]), by_key)
        for it in live:
            self._mark_explained(it)
            it.findings.sort(key=_finding_order)

    @staticmethod
    def _org(it: Item) -> str | None:
        """The organisation a submission is compared as: the delivery folder's code. Only where there is
        no folder (``rbb check`` of loose files, which has no history) the code written in the file."""
        if it.expected_org is not None:
            return it.expected_org
        org_frame = it.frames.get("organisatie")
        if org_frame is not None and len(org_frame) and isinstance(org_frame["org_code"].iloc[0], str):
            return org_frame["org_code"].iloc[0]
        return None

    def _plausibility_suite(self, sheet: Sheet, frame: pd.DataFrame, live: list[Item], history: History):
        gxe = gx.expectations()
        suite = gx.new_suite(f"rbb_{sheet.code}_plausibility")

        def add(exp_cls, meta: dict, **kwargs):
            suite.add_expectation(exp_cls(meta=meta, **kwargs))

        if sheet.code == "organisatie":
            self._plausibility_org(sheet, frame, live, history, add, gxe)
        else:
            self._plausibility_products(frame, live, history, add, gxe)
        return suite if suite.expectations else None

    # ------------------------------------------------------------------ structure

    def _check_structure(self, live: list[Item], by_key: dict[int, Item]) -> None:
        rows = []
        for it in live:
            for sheet in self.registry.sheet_level:
                present = sheet.code in it.raw.sheets
                if sheet.required or present:
                    has_rows = present and bool(it.raw.sheets[sheet.code].rows)
                    rows.append({"__sub": it.key, "__row": 0, "sheet": sheet.code, "field": None,
                                 "present": has_rows or not sheet.required, "exists": present})
                if present:
                    cols = it.raw.sheets[sheet.code].columns
                    for f in sheet.fields:
                        if f.required:
                            rows.append({"__sub": it.key, "__row": 0, "sheet": sheet.code, "field": f.code,
                                         "present": f.code in cols, "exists": True})
        if not rows:
            return
        frame = pd.DataFrame(rows)
        frame["__row"] = np.arange(len(frame))
        gxe = gx.expectations()
        suite = gx.new_suite("structure")
        suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="present", value_set=[True], meta={"rule": "structure"}))
        (result,) = gx.run(frame, suite, ["__sub", "__row"])
        for entry in result.result.get("unexpected_index_list") or []:
            rec = frame.iloc[int(entry["__row"])]
            it = by_key[int(entry["__sub"])]
            sheet = self.registry.sheet(rec["sheet"])
            field_code = rec["field"] if isinstance(rec["field"], str) else None
            if field_code is None and rec["exists"]:
                it.findings.append(Finding(
                    "error", "sheet_empty",
                    f"Het verplichte blad '{sheet.name_nl}' bevat geen gegevens. Vul de gegevens in vanaf de eerste regel onder de kopregels.",
                    f"The required sheet '{sheet.name_en}' holds no data. Fill in the data from the first row below the headers.",
                    sheet=sheet.code, cell=it.raw.sheets[sheet.code].name))
            elif field_code is None:
                it.findings.append(Finding(
                    "error", "sheet_missing",
                    f"Het verplichte blad '{sheet.name_nl}' ontbreekt. Voeg het blad toe zoals in het sjabloon"
                    f" (bij CSV: een bestand {sheet.code}.csv).",
                    f"The required sheet '{sheet.name_en}' is missing. Add it as in the template"
                    f" (for CSV: a file {sheet.code}.csv).",
                    sheet=sheet.code, cell=sheet.name_nl))
            else:
                f = sheet.field(field_code)
                raw_sheet = it.raw.sheets[sheet.code]
                it.findings.append(Finding(
                    "error", "column_missing",
                    f"De kolom '{f.label_nl}' ({f.code}) ontbreekt op blad {raw_sheet.name}. Zet de kolom terug zoals in het sjabloon.",
                    f"The column '{f.label_en}' ({f.code}) is missing on sheet {raw_sheet.name}. Restore it as in the template.",
                    sheet=sheet.code, cell=raw_sheet.name, field=f.code))

    # ------------------------------------------------------------------ suites

    def _suite(self, sheet: Sheet, frame: pd.DataFrame, live: list[Item]):
        gxe = gx.expectations()
        suite = gx.new_suite(f"rbb_{sheet.code}")

        def add(exp_cls, meta: dict, **kwargs):
            suite.add_expectation(exp_cls(meta=meta, **kwargs))

        for f in sheet.fields:
            raw = f"{f.code}__raw"
            if f.required:
                add(gxe.ExpectColumnValuesToNotBeNull, {"rule": "required", "field": f.code, "severity": "error"}, column=raw)
            if f.is_numeric:
                regex = INTEGER_RE if f.type == "integer" else NUMBER_RE
                add(gxe.ExpectColumnValuesToMatchRegex, {"rule": "type", "field": f.code, "severity": "error"},
                    column=raw, regex=regex)
                if f.min is not None or f.max is not None:
                    add(gxe.ExpectColumnValuesToBeBetween, {"rule": "range", "field": f.code, "severity": "error"},
                        column=f.code, min_value=f.min, max_value=f.max)
            if f.type == "code":
                codes = list(f.codes) if f.codes is not None else self.org_codes
                add(gxe.ExpectColumnValuesToBeInSet, {"rule": "code_list", "field": f.code, "severity": "error"},
                    column=f.code, value_set=codes)
            if f.type == "text" and f.max_length:
                add(gxe.ExpectColumnValueLengthsToBeBetween, {"rule": "length", "field": f.code, "severity": "error"},
                    column=raw, max_value=f.max_length)
            if f.pattern:
                add(gxe.ExpectColumnValuesToMatchRegex, {"rule": "pattern", "field": f.code, "severity": "error"},
                    column=raw, regex=f.pattern)
        if sheet.max_rows == 1:
            add(gxe.ExpectColumnValuesToBeUnique, {"rule": "one_row", "field": None, "severity": "error"}, column="__sub")
        elif sheet.key:
            add(gxe.ExpectCompoundColumnsToBeUnique, {"rule": "unique", "field": sheet.key[0], "severity": "error"},
                column_list=["__sub", *[f"{k}__raw" for k in sheet.key]], ignore_row_if="any_value_is_missing")
        if sheet.code == "organisatie":
            self._identity(frame, live, add, gxe)
        for rule in self.registry.rules_for(sheet.code):
            self._rule(rule, frame, live, add, gxe)
        if sheet.code == "organisatie":
            self._sheet_sums(sheet, frame, live, add, gxe)
        return suite

    def _identity(self, frame: pd.DataFrame, live: list[Item], add, gxe) -> None:
        exp_org = {it.key: it.expected_org for it in live}
        exp_year = {it.key: it.expected_year for it in live}
        frame["__expected_org"] = frame["__sub"].map(exp_org).astype(object)
        frame["__expected_year"] = frame["__sub"].map(exp_year).astype("float64")
        if any(v is not None for v in exp_org.values()):
            add(gxe.ExpectColumnPairValuesToBeEqual, {"rule": "org_mismatch", "field": "org_code", "severity": "error"},
                column_A="org_code", column_B="__expected_org", ignore_row_if="either_value_is_missing")
        if any(v is not None for v in exp_year.values()):
            add(gxe.ExpectColumnPairValuesToBeEqual, {"rule": "year_mismatch", "field": "jaar", "severity": "error"},
                column_A="jaar", column_B="__expected_year", ignore_row_if="either_value_is_missing")

    def _rule(self, rule: Rule, frame: pd.DataFrame, live: list[Item], add, gxe) -> None:
        meta = {"rule": f"rule:{rule.code}", "severity": "error"}
        if rule.kind == "le":
            add(gxe.ExpectColumnPairValuesAToBeGreaterThanB, {**meta, "field": rule.a}, column_A=rule.b, column_B=rule.a,
                or_equal=True, ignore_row_if="either_value_is_missing")
        elif rule.kind == "sum_le":
            col = f"__sum_{rule.code}"
            frame[col] = frame[list(rule.parts)].sum(axis=1, min_count=1)
            add(gxe.ExpectColumnPairValuesAToBeGreaterThanB, {**meta, "field": rule.total}, column_A=rule.total,
                column_B=col, or_equal=True, ignore_row_if="either_value_is_missing")
        # sheet_sum_le rules are added to the suite of the sheet holding the total (_sheet_sums)

    def _sheet_sums(self, sheet: Sheet, frame: pd.DataFrame, live: list[Item], add, gxe) -> None:
        for rule in self.registry.rules:
            if rule.kind == "sheet_sum_le" and rule.total_sheet == sheet.code:
                sums = {}
                for it in live:
                    part = it.frames.get(rule.sheet)
                    if part is not None and rule.a in part.columns:
                        sums[it.key] = part[rule.a].sum(min_count=1)
                col = f"__sheetsum_{rule.code}"
                frame[col] = frame["__sub"].map(sums).astype("float64")
                add(gxe.ExpectColumnPairValuesAToBeGreaterThanB,
                    {"rule": f"rule:{rule.code}", "field": rule.total, "severity": "error", "parts_sheet": rule.sheet},
                    column_A=rule.total, column_B=col, or_equal=True, ignore_row_if="either_value_is_missing")

    def _plausibility_org(self, sheet: Sheet, frame: pd.DataFrame, live: list[Item], history: History, add, gxe) -> None:
        t = self.registry.yoy_threshold
        year_of = {it.key: it.expected_year for it in live}
        years = frame["__sub"].map(year_of)
        orgs = frame["__sub"].map({it.key: self._org(it) for it in live}).astype(object)
        for f in sheet.fields:
            if not f.plausibility:
                continue
            prev = [history.previous(o, y)[1].get(f.code) if isinstance(o, str) and y is not None and not pd.isna(y) else None
                    for o, y in zip(orgs, years)]
            prev = pd.to_numeric(pd.Series(prev, dtype=object), errors="coerce").astype("float64").to_numpy()
            col = f"__yoy_{f.code}"
            frame[f"__prev_{f.code}"] = prev
            frame[col] = np.where(prev > 0, frame[f.code].to_numpy() / prev - 1.0, np.nan)
            add(gxe.ExpectColumnValuesToBeBetween, {"rule": "yoy_change", "field": f.code, "severity": "warning"},
                column=col, min_value=-t, max_value=t)
        zmax = self.registry.robust_z_threshold
        for ratio in self.registry.ratios:
            if ratio.sheet != sheet.code:
                continue
            num = frame[list(ratio.numerator)].sum(axis=1, min_count=len(ratio.numerator))
            den = frame[list(ratio.denominator)].sum(axis=1, min_count=len(ratio.denominator))
            values = (num / den.where(den > 0)).astype("float64")
            frame[f"__ratio_{ratio.code}"] = values
            z = []
            peer_cache: dict[int, dict[str, float]] = {}
            for o, v, y in zip(orgs, values, years):
                if y is None or pd.isna(y):
                    z.append(np.nan)
                    continue
                if y not in peer_cache:
                    peer_cache[y] = self._peer_ratios(ratio, history, int(y))
                others = dict(peer_cache[y])
                others.pop(o, None)
                arr = np.array([x for x in others.values() if x is not None and not math.isnan(x)])
                if math.isnan(v) or len(arr) < self.registry.min_peers:
                    z.append(np.nan)
                    continue
                med = float(np.median(arr))
                mad = 1.4826 * float(np.median(np.abs(arr - med)))
                z.append((v - med) / mad if mad > 0 else np.nan)
            frame[f"__z_{ratio.code}"] = np.array(z, dtype="float64")
            add(gxe.ExpectColumnValuesToBeBetween,
                {"rule": "outlier", "field": ratio.code, "severity": "warning", "ratio": ratio.code},
                column=f"__z_{ratio.code}", min_value=-zmax, max_value=zmax)

    @staticmethod
    def _peer_ratios(ratio, history: History, year: int) -> dict[str, float]:
        out = {}
        for (org, y), vals in history.org_values.items():
            if y != year:
                continue
            if all(c in vals for c in ratio.numerator + ratio.denominator):
                den = sum(vals[c] for c in ratio.denominator)
                if den > 0:
                    out[org] = sum(vals[c] for c in ratio.numerator) / den
        return out

    def _plausibility_products(self, frame: pd.DataFrame, live: list[Item], history: History, add, gxe) -> None:
        org_of = {it.key: self._org(it) for it in live}
        t = self.registry.yoy_threshold
        for f in self.registry.sheet("producten").fields:
            if not f.plausibility:
                continue
            year_of = {it.key: it.expected_year for it in live}
            prev = [history.previous_product(org_of.get(s), year_of.get(s), p).get(f.code)
                    if isinstance(p, str) and org_of.get(s) and year_of.get(s) else None
                    for s, p in zip(frame["__sub"], frame["product_code"])]
            prev_s = pd.to_numeric(pd.Series(prev, dtype=object), errors="coerce").astype("float64").to_numpy()
            frame[f"__prev_{f.code}"] = prev_s
            frame[f"__yoy_{f.code}"] = np.where(prev_s > 0, frame[f.code].to_numpy() / prev_s - 1.0, np.nan)
            add(gxe.ExpectColumnValuesToBeBetween, {"rule": "yoy_change", "field": f.code, "severity": "warning"},
                column=f"__yoy_{f.code}", min_value=-t, max_value=t)

    # ------------------------------------------------------------------ results -> findings

    def _collect(self, sheet: Sheet, frame: pd.DataFrame, results: list, by_key: dict[int, Item]) -> None:
        indexed = frame.set_index(["__sub", "__row"], drop=False)
        for res in results:
            meta = dict(res.expectation_config.meta or {})
            if res.success:
                continue
            if res.exception_info and res.exception_info.get("raised_exception"):
                raise RuntimeError(f"validation rule {meta} failed to run: {res.exception_info.get('exception_message')}")
            for entry in res.result.get("unexpected_index_list") or []:
                key, row = int(entry["__sub"]), int(entry["__row"])
                it = by_key[key]
                raw_sheet = it.raw.sheets.get(sheet.code)
                fcode = meta.get("field")
                if raw_sheet is None:
                    continue
                if fcode in sheet.field_codes and fcode not in raw_sheet.columns and meta["rule"] in ("required", "type", "range", "code_list", "length", "pattern"):
                    continue  # the missing column is already reported once
                rec = indexed.loc[(key, row)]
                if isinstance(rec, pd.DataFrame):
                    rec = rec.iloc[0]
                finding = self._finding(sheet, meta, rec, raw_sheet, row)
                if finding is not None:
                    it.findings.append(finding)

    def _finding(self, sheet: Sheet, meta: dict, rec: pd.Series, raw_sheet, row: int) -> Finding | None:
        rule = meta["rule"]
        sev = meta.get("severity", "error")
        fcode = meta.get("field")
        f: Field | None = sheet.field(fcode) if fcode in sheet.field_codes else None
        cell = raw_sheet.cell_ref(row, fcode if f else None)
        raw_value = rec.get(f"{fcode}__raw") if f else None
        value = short_value(raw_value)
        lbl_nl = f"'{f.label_nl}' ({f.code})" if f else ""
        lbl_en = f"'{f.label_en}' ({f.code})" if f else ""
        unit = f" {f.unit}" if f and f.unit else ""
        product = rec.get("product_code") if "product_code" in rec.index else None
        where_nl = f" bij product {product}" if isinstance(product, str) and sheet.code == "producten" else ""
        where_en = f" for product {product}" if isinstance(product, str) and sheet.code == "producten" else ""
        if rule == "required":
            nl = f"Het verplichte veld {lbl_nl} is leeg{where_nl}. Vul een waarde in{(' (' + f.unit + ')') if f.unit else ''}; gebruik 0 als er niets was."
            en = f"The required field {lbl_en} is empty{where_en}. Enter a value{(' (' + f.unit + ')') if f.unit else ''}; use 0 if there was none."
        elif rule == "type":
            kind_nl = "geheel getal" if f.type == "integer" else "getal"
            kind_en = "a whole number" if f.type == "integer" else "a number"
            nl = f"{lbl_nl} bevat '{value}'; dat is geen {kind_nl}. Vul alleen een {kind_nl} in, zonder tekst, eenheden of procentteken (bijvoorbeeld 1200)."
            en = f"{lbl_en} contains '{value}', which is not {kind_en}. Enter only {kind_en}, without text, units or percent sign (for example 1200)."
        elif rule == "range":
            nl = f"{lbl_nl} is {_fmt(rec.get(f.code))}{unit}{where_nl}; toegestaan is {_fmt(float(f.min)) if f.min is not None else '…'} tot en met {_fmt(float(f.max)) if f.max is not None else '…'}{unit}. Controleer de waarde en de eenheid."
            en = f"{lbl_en} is {_fmt_en(rec.get(f.code))}{unit}{where_en}; allowed is {_fmt_en(float(f.min)) if f.min is not None else '…'} to {_fmt_en(float(f.max)) if f.max is not None else '…'}{unit}. Check the value and its unit."
        elif rule == "code_list":
            allowed = ", ".join(f.codes) if f.codes else "een code uit het RBB-register"
            allowed_en = ", ".join(f.codes) if f.codes else "a code from the RBB register"
            nl = f"{lbl_nl} bevat '{value}'; dat is geen toegestane waarde. Kies uit: {allowed}."
            en = f"{lbl_en} contains '{value}', which is not an allowed value. Choose from: {allowed_en}."
        elif rule == "length":
            nl = f"{lbl_nl} is {len(str(raw_value))} tekens lang; maximaal {f.max_length} tekens. Kort de tekst in."
            en = f"{lbl_en} is {len(str(raw_value))} characters long; at most {f.max_length}. Shorten the text."
        elif rule == "pattern":
            nl = f"{lbl_nl} bevat '{value}'; gebruik alleen letters, cijfers, punt, streep of liggend streepje (maximaal 40 tekens)."
            en = f"{lbl_en} contains '{value}'; use only letters, digits, dot, dash or underscore (at most 40 characters)."
        elif rule == "one_row":
            nl = f"Blad {raw_sheet.name} mag maar één regel met gegevens bevatten; deze regel is een extra regel. Verwijder hem."
            en = f"Sheet {raw_sheet.name} must hold exactly one data row; this row is an extra one. Delete it."
            cell = raw_sheet.cell_ref(row, None) if raw_sheet.is_csv else f"{raw_sheet.name}!A{row}"
        elif rule == "unique":
            key_nl = ", ".join(sheet.key)
            value = short_value(rec.get(f"{sheet.key[0]}__raw"))
            nl = f"'{value}' komt meer dan één keer voor in kolom {key_nl} op blad {raw_sheet.name}. Elke waarde mag één keer voorkomen: voeg de regels samen of verwijder de dubbele regel."
            en = f"'{value}' occurs more than once in column {key_nl} on sheet {raw_sheet.name}. Each value may occur once: merge the rows or delete the duplicate."
        elif rule == "org_mismatch":
            nl = f"De organisatiecode in het bestand ('{value}') hoort niet bij de map waarin het is aangeleverd ({rec.get('__expected_org')}). Een levering mag alleen gegevens van de eigen organisatie bevatten."
            en = f"The organisation code in the file ('{value}') does not match the folder it was delivered in ({rec.get('__expected_org')}). A delivery may only hold the organisation's own data."
        elif rule == "year_mismatch":
            nl = f"Het verslagjaar in het bestand ({value}) is niet het jaar van de uitvraag ({int(rec.get('__expected_year'))}). Vul het juiste jaar in of lever het bestand bij het juiste jaar aan."
            en = f"The reporting year in the file ({value}) is not the year requested ({int(rec.get('__expected_year'))}). Enter the right year or deliver the file for the right year."
        elif rule.startswith("rule:"):
            return self._rule_finding(sheet, meta, rec, raw_sheet, row)
        elif rule == "yoy_change":
            prev = rec.get(f"__prev_{fcode}")
            change = rec.get(f"__yoy_{fcode}")
            pct = change * 100
            nl = (f"{lbl_nl}{where_nl} is {pct:+.0f}% veranderd ten opzichte van het vorige jaar ({_fmt(prev)} → {_fmt(rec.get(fcode))}{unit}); "
                  f"de drempel is ±{self.registry.yoy_threshold * 100:.0f}%. Controleer de waarde en geef een toelichting op blad Toelichting als hij klopt.")
            en = (f"{lbl_en}{where_en} changed by {pct:+.0f}% against the previous year ({_fmt_en(prev)} → {_fmt_en(rec.get(fcode))}{unit}); "
                  f"the threshold is ±{self.registry.yoy_threshold * 100:.0f}%. Check the value and explain it on the Explanations sheet if it is right.")
            value = short_value(rec.get(f"{fcode}__raw"))
        elif rule == "outlier":
            ratio = next(r for r in self.registry.ratios if r.code == meta["ratio"])
            v = rec.get(f"__ratio_{ratio.code}")
            z = rec.get(f"__z_{ratio.code}")
            pct_like = ratio.code in ("verzuim", "overhead", "inhuur")
            shown_nl = f"{v * 100:.1f}%".replace(".", ",") if pct_like else _fmt(float(v))
            shown_en = f"{v * 100:.1f}%" if pct_like else _fmt_en(float(v))
            fields = ", ".join(list(ratio.numerator)[:3] + list(ratio.denominator)[:1])
            nl = (f"Het {ratio.label_nl} ({shown_nl}) wijkt sterk af van de andere organisaties (robuuste z-score {z:+.1f}). "
                  f"Controleer de onderliggende velden ({fields}) en geef een toelichting als de waarde klopt.")
            en = (f"The {ratio.label_en} ({shown_en}) differs strongly from the other organisations (robust z-score {z:+.1f}). "
                  f"Check the underlying fields ({fields}) and explain it if the value is right.")
            fcode = ratio.numerator[0]
            cell = raw_sheet.cell_ref(row, fcode)
            value = shown_nl
        else:
            nl = en = rule
        return Finding(sev, rule, nl, en, sheet=sheet.code, cell=cell, row=row, field=fcode, value=value)

    def _rule_finding(self, sheet: Sheet, meta: dict, rec: pd.Series, raw_sheet, row: int) -> Finding:
        code = meta["rule"].split(":", 1)[1]
        rule = next(r for r in self.registry.rules if r.code == code)
        reg = self.registry
        if rule.kind == "le":
            fa, fb = sheet.field(rule.a), sheet.field(rule.b)
            va, vb = rec.get(rule.a), rec.get(rule.b)
            extra_nl = extra_en = ""
            if vb and vb > 0:
                extra_nl = f" (dat is {va / vb * 100:.0f}%)".replace(".", ",")
                extra_en = f" (that is {va / vb * 100:.0f}%)"
            product = rec.get("product_code") if "product_code" in rec.index else None
            where_nl = f" bij product {product}" if isinstance(product, str) else ""
            where_en = f" for product {product}" if isinstance(product, str) else ""
            nl = (f"'{fa.label_nl}' ({_fmt(va)}) is groter dan '{fb.label_nl}' ({_fmt(vb)}){extra_nl}{where_nl}. "
                  f"Een deel kan niet groter zijn dan het geheel: controleer beide velden.")
            en = (f"'{fa.label_en}' ({_fmt_en(va)}) is larger than '{fb.label_en}' ({_fmt_en(vb)}){extra_en}{where_en}. "
                  f"A part cannot exceed its whole: check both fields.")
            return Finding("error", meta["rule"], nl, en, sheet=sheet.code, cell=raw_sheet.cell_ref(row, rule.a), row=row,
                           field=rule.a, value=short_value(rec.get(f"{rule.a}__raw")))
        if rule.kind == "sum_le":
            total = sheet.field(rule.total)
            parts_nl = ", ".join(sheet.field(p).label_nl for p in rule.parts)
            parts_en = ", ".join(sheet.field(p).label_en for p in rule.parts)
            s = rec.get(f"__sum_{rule.code}")
            nl = (f"De som van {parts_nl} ({_fmt(s)}) is groter dan '{total.label_nl}' ({_fmt(rec.get(rule.total))}). "
                  f"De delen mogen samen niet meer zijn dan het totaal: controleer de delen en het totaal.")
            en = (f"The sum of {parts_en} ({_fmt_en(s)}) is larger than '{total.label_en}' ({_fmt_en(rec.get(rule.total))}). "
                  f"The parts together may not exceed the total: check the parts and the total.")
            return Finding("error", meta["rule"], nl, en, sheet=sheet.code, cell=raw_sheet.cell_ref(row, rule.total), row=row,
                           field=rule.total, value=short_value(rec.get(f"{rule.total}__raw")))
        # sheet_sum_le
        part_field = reg.sheet(rule.sheet).field(rule.a)
        total = sheet.field(rule.total)
        s = rec.get(f"__sheetsum_{rule.code}")
        nl = (f"De som van '{part_field.label_nl}' over alle producten ({_fmt(s)}) is groter dan '{total.label_nl}' "
              f"({_fmt(rec.get(rule.total))}). Controleer de toerekening van kosten aan producten.")
        en = (f"The sum of '{part_field.label_en}' over all products ({_fmt_en(s)}) is larger than '{total.label_en}' "
              f"({_fmt_en(rec.get(rule.total))}). Check how costs are allocated to products.")
        return Finding("error", meta["rule"], nl, en, sheet=sheet.code, cell=raw_sheet.cell_ref(row, rule.total), row=row,
                       field=rule.total, value=short_value(rec.get(f"{rule.total}__raw")))

    # ------------------------------------------------------------------ explanations

    def _mark_explained(self, it: Item) -> None:
        expl = it.frames.get("toelichting")
        if expl is None or expl.empty or "veld" not in expl.columns:
            return
        notes: dict[tuple[str, str | None], str] = {}
        for _, r in expl.iterrows():
            veld, text = r.get("veld"), r.get("toelichting")
            if not isinstance(veld, str) or not isinstance(text, str):
                continue
            product = r.get("product_code") if isinstance(r.get("product_code"), str) else None
            notes[(veld, product)] = text
        ratio_fields = {r.code: set(r.numerator) | set(r.denominator) for r in self.registry.ratios}
        product_by_row: dict[int, str] = {}
        prod = it.frames.get("producten")
        if prod is not None and "product_code" in prod.columns:
            product_by_row = {int(r): p for r, p in zip(prod["__row"], prod["product_code"]) if isinstance(p, str)}
        for f in it.findings:
            if f.severity != "warning" or f.field is None:
                continue
            product = product_by_row.get(f.row) if f.sheet == "producten" and f.row is not None else None
            candidates = [f.field] if f.rule != "outlier" else sorted(next((v for k, v in ratio_fields.items() if f.field in v), {f.field}))
            for c in candidates:
                text = notes.get((c, product)) or notes.get((c, None))
                if text:
                    f.explained, f.explanation = True, text
                    break


_SEV_ORDER = {"error": 0, "warning": 1, "info": 2}


IDENTITY_RULES = frozenset({"org_mismatch", "year_mismatch"})
IDENTITY_FIELDS = frozenset({"org_code", "jaar"})


def identity_rejected(it: Item) -> bool:
    """Whether a submission is rejected because it is not (or not only) what its folder says it is: another
    organisation's code or another year in the file, or an organisation code or year that is missing or not
    valid. Such a submission gets no plausibility output at all."""
    for f in it.findings:
        if f.severity != "error":
            continue
        if f.rule in IDENTITY_RULES or f.rule.startswith("file_"):
            return True
        if f.sheet == "organisatie" and f.field in IDENTITY_FIELDS:
            return True
    return False


def _finding_order(f: Finding) -> tuple:
    return (_SEV_ORDER.get(f.severity, 3), f.sheet or "", f.row or 0, f.field or "", f.rule)
