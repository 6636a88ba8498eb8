"""Great Expectations results turned into findings: Dutch and English messages that point at the cell.

Every unexpected row of a failed expectation becomes a :class:`Finding` on the submission's own sheet and
cell, worded after the rule in the expectation's ``meta`` (numbers in Dutch and English notation:
:func:`fmt_nl`, :func:`fmt_en`). Afterwards a warning is marked explained when the submission's
``toelichting`` sheet explains its field, and a submission's findings are put in :func:`finding_order`.
:func:`identity_rejected` tells whether a submission is rejected for not being what its folder says.
"""

from __future__ import annotations

import math

import pandas as pd

from pipeline.core.findings import Finding, short_value
from pipeline.ingest.answers import NVT, ONBEKEND, label
from pipeline.ingest.batch import Item
from pipeline.ingest.normalize import UNREAD_MARK, number_problem
from pipeline.metadata.registry import Field, Registry, Sheet


def _decimals(x: float) -> int:
    """The decimals that show ``x`` exactly (2 at least, 6 at most): a finding never rounds away the excess
    of a part over its total."""
    text = f"{abs(x):.6f}".rstrip("0")
    return max(2, min(6, len(text.split(".")[1]) if "." in text else 0))


def fmt_nl(x: object) -> str:
    """A number as a finding shows it in Dutch: 1.234.567 and 12,50 (as many decimals as it has, up to 6);
    an empty value is 'leeg'."""
    if isinstance(x, float):
        if math.isnan(x):
            return "leeg"
        if math.isinf(x) or abs(x) >= 1e15:
            return f"{x:.3g}".replace(".", ",")
        if x.is_integer() and abs(x) < 1e15:
            return f"{int(x):,}".replace(",", ".")
        return f"{x:,.{_decimals(x)}f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return str(x)


def fmt_en(x: object) -> str:
    """A number as a finding shows it in English: 1,234,567 and 12.50; an empty value is 'empty'."""
    if isinstance(x, float):
        if math.isnan(x):
            return "empty"
        if math.isinf(x) or abs(x) >= 1e15:
            return f"{x:.3g}"
        if x.is_integer() and abs(x) < 1e15:
            return f"{int(x):,}"
        return f"{x:,.{_decimals(x)}f}"
    return str(x)


def _answers(f: Field, lang: str) -> str:
    """The answers a field accepts besides a value, as the template words them."""
    parts = [("'n.v.t.' als het niet van toepassing is", "'n.v.t.' if it does not apply")] if NVT in f.missing else []
    if ONBEKEND in f.missing:
        parts.append(("'onbekend' als het cijfer ontbreekt", "'onbekend' if the figure is not known"))
    return " of ".join(p[0] for p in parts) if lang == "nl" else " or ".join(p[1] for p in parts)


def structure_findings(registry: Registry, frame: pd.DataFrame, result, by_key: dict[int, Item]) -> None:
    """A missing or empty required sheet, or a missing required column, from the structure suite's result."""
    for entry in result.result.get("unexpected_index_list") or []:
        rec = frame.iloc[int(entry["__row"])]
        it = by_key[int(entry["__sub"])]
        sheet = registry.sheet(rec["sheet"])
        field_code = rec["field"] if isinstance(rec["field"], str) else None
        if field_code is None and rec["exists"]:
            it.findings.append(
                Finding(
                    "error",
                    "sheet_empty",
                    f"Het verplichte blad '{sheet.name_nl}' bevat geen gegevens. Vul de gegevens in vanaf de eerste regel onder de kopregels.",
                    f"The required sheet '{sheet.name_en}' holds no data. Fill in the data from the first row below the headers.",
                    sheet=sheet.code,
                    cell=it.raw.sheets[sheet.code].name,
                )
            )
        elif field_code is None:
            it.findings.append(
                Finding(
                    "error",
                    "sheet_missing",
                    f"Het verplichte blad '{sheet.name_nl}' ontbreekt. Voeg het blad toe zoals in het sjabloon"
                    f" (bij CSV: een bestand {sheet.code}.csv).",
                    f"The required sheet '{sheet.name_en}' is missing. Add it as in the template"
                    f" (for CSV: a file {sheet.code}.csv).",
                    sheet=sheet.code,
                    cell=sheet.name_nl,
                )
            )
        else:
            f = sheet.field(field_code)
            raw_sheet = it.raw.sheets[sheet.code]
            it.findings.append(
                Finding(
                    "error",
                    "column_missing",
                    f"De kolom '{f.label_nl}' ({f.code}) ontbreekt op blad {raw_sheet.name}. Zet de kolom terug zoals in het sjabloon.",
                    f"The column '{f.label_en}' ({f.code}) is missing on sheet {raw_sheet.name}. Restore it as in the template.",
                    sheet=sheet.code,
                    cell=raw_sheet.name,
                    field=f.code,
                )
            )


#: rules about one cell of a field; not repeated per row when the field's column is missing (reported once)
CELL_RULES = frozenset(
    {
        "required",
        "type",
        "range",
        "code_list",
        "length",
        "pattern",
        "answer_not_allowed",
        "unknown_value",
        "implausible",
        "long_text",
        "code_as_number",
    }
)


def collect(registry: Registry, sheet: Sheet, frame: pd.DataFrame, results: list, by_key: dict[int, Item]) -> None:
    """Add a finding to its submission for every unexpected row of a sheet's GX results."""
    # the first frame row of each (submission, row): one positional look-up per unexpected row, not an index search
    position: dict[tuple[int, int], int] = {}
    for i, key_row in enumerate(zip(frame["__sub"].astype(int), frame["__row"].astype(int))):
        position.setdefault(key_row, i)
    records: dict[int, pd.Series] = {}
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
            if fcode in sheet.field_codes and fcode not in raw_sheet.columns and meta["rule"] in CELL_RULES:
                continue  # the missing column is already reported once
            i = position[(key, row)]
            rec = records.get(i)
            if rec is None:
                rec = records[i] = frame.iloc[i]
            finding = result_finding(registry, sheet, meta, rec, raw_sheet, row)
            if finding is not None:
                it.findings.append(finding)


def result_finding(registry: Registry, sheet: Sheet, meta: dict, rec: pd.Series, raw_sheet, row: int) -> Finding | None:
    """The finding for one unexpected row ``rec`` of an expectation with this ``meta``."""
    rule = meta["rule"]
    sev = meta.get("severity", "error")
    fcode = meta.get("field")
    f: Field | None = sheet.field(fcode) if fcode in sheet.field_codes else None
    cell = raw_sheet.cell_ref(row, fcode if f else None)
    raw_value = rec.get(f"{fcode}__raw") if f else None
    if raw_value is None and f is not None and isinstance(rec.get(f"{fcode}__cell"), str):
        raw_value = rec.get(f"{fcode}__cell")  # an answer such as 'nvt': echoed exactly as written
    value = short_value(raw_value)
    lbl_nl = f"'{f.label_nl}' ({f.code})" if f else ""
    lbl_en = f"'{f.label_en}' ({f.code})" if f else ""
    unit = f" {f.unit}" if f and f.unit else ""
    product = rec.get("product_code") if "product_code" in rec.index else None
    where_nl = f" bij product {product}" if isinstance(product, str) and sheet.code == "producten" else ""
    where_en = f" for product {product}" if isinstance(product, str) and sheet.code == "producten" else ""
    if rule == "required":
        unit_nl = f" ({f.unit})" if f.unit else ""
        alt_nl = f", {_answers(f, 'nl')}" if f.missing else ""
        alt_en = f", {_answers(f, 'en')}" if f.missing else ""
        zero_nl, zero_en = ("; gebruik 0 als er niets was", "; use 0 if there was none") if f.is_numeric else ("", "")
        nl = f"Het verplichte veld {lbl_nl} is leeg{where_nl}. Vul een waarde in{unit_nl}{alt_nl}{zero_nl}."
        en = f"The required field {lbl_en} is empty{where_en}. Enter a value{unit_nl}{alt_en}{zero_en}."
    elif rule == "answer_not_allowed":
        state = rec.get(f"{fcode}__state")
        shown_nl, shown_en = (label(state, "nl"), label(state, "en")) if state in (NVT, ONBEKEND) else ("", "")
        alt_nl = f" of {_answers(f, 'nl')}" if f.missing else ""
        alt_en = f" or {_answers(f, 'en')}" if f.missing else ""
        nl = f"{lbl_nl} bevat '{value}'{where_nl}, gelezen als {shown_nl}; dat antwoord is voor dit veld niet mogelijk. Vul een waarde in{alt_nl}."
        en = f"{lbl_en} contains '{value}'{where_en}, read as {shown_en}; that answer is not possible for this field. Enter a value{alt_en}."
    elif rule == "unknown_value":
        nl = (
            f"{lbl_nl} is '{value}' (onbekend){where_nl}. De indicatoren die dit veld gebruiken worden zonder dit cijfer"
            " berekend of niet gepubliceerd. Lever het cijfer alsnog aan, of licht op blad Toelichting toe waarom het ontbreekt."
        )
        en = (
            f"{lbl_en} is '{value}' (unknown){where_en}. The indicators that use this field are computed without this figure"
            " or not published. Deliver the figure, or explain on the Explanations sheet why it is missing."
        )
    elif rule == "implausible":
        nl = (
            f"{lbl_nl} is {fmt_nl(rec.get(f.code))}{unit}{where_nl}; dat is meer dan de {fmt_nl(float(f.plausible_max))}{unit}"
            " die we als plausibel aannemen. Controleer de waarde en de eenheid, en licht hem toe op blad Toelichting als hij klopt."
        )
        en = (
            f"{lbl_en} is {fmt_en(rec.get(f.code))}{unit}{where_en}; that is more than the {fmt_en(float(f.plausible_max))}{unit}"
            " we take as plausible. Check the value and its unit, and explain it on the Explanations sheet if it is right."
        )
    elif rule == "long_text":
        n = len(str(raw_value))
        nl = f"{lbl_nl} is {n} tekens lang{where_nl}; meer dan de {f.plausible_length} die we verwachten. De tekst is volledig bewaard; kort hem in als dat kan."
        en = f"{lbl_en} is {n} characters long{where_en}; more than the {f.plausible_length} we expect. The text is kept in full; shorten it if you can."
    elif rule == "code_as_number":
        nl = (
            f"{lbl_nl} is als getal ingevuld ('{value}'){where_nl}. Een code die met een nul begint (bijvoorbeeld 0{value})"
            " verliest daardoor zijn voorloopnullen. Maak de kolom in Excel tekst (Celeigenschappen, Tekst) en vul de code opnieuw in."
        )
        en = (
            f"{lbl_en} was entered as a number ('{value}'){where_en}. A code that starts with a zero (for example 0{value})"
            " loses its leading zeros that way. Format the column as text in Excel and enter the code again."
        )
    elif rule == "unknown_product":
        nl = (
            f"Productcode '{value}' op blad {raw_sheet.name} staat niet op blad Producten. Gebruik de codes van blad Producten"
            " of voeg het product daar toe."
        )
        en = (
            f"Product code '{value}' on sheet {raw_sheet.name} is not on the Products sheet. Use the codes of the Products"
            " sheet or add the product there."
        )
    elif rule == "type":
        kind_nl = "geheel getal" if f.type == "integer" else "getal"
        kind_en = "a whole number" if f.type == "integer" else "a number"
        alt_nl = f", of {_answers(f, 'nl')}" if f.missing else ""
        alt_en = f", or {_answers(f, 'en')}" if f.missing else ""
        nl = f"{lbl_nl} bevat '{value}'; dat is geen {kind_nl}. Vul alleen een {kind_nl} in, zonder tekst, eenheden of procentteken (bijvoorbeeld 1200){alt_nl}."
        en = f"{lbl_en} contains '{value}', which is not {kind_en}. Enter only {kind_en}, without text, units or percent sign (for example 1200){alt_en}."
        value = short_value(str(raw_value).removesuffix(UNREAD_MARK)) if raw_value is not None else value
        doubt = number_problem(raw_sheet, row, f)
        if doubt is not None and doubt.problem == "ambiguous":
            nl, en = f"{lbl_nl}: {doubt.reason_nl}.", f"{lbl_en}: {doubt.reason_en}."
    elif rule == "range":
        nl = f"{lbl_nl} is {fmt_nl(rec.get(f.code))}{unit}{where_nl}; toegestaan is {fmt_nl(float(f.min)) if f.min is not None else '…'} tot en met {fmt_nl(float(f.max)) if f.max is not None else '…'}{unit}. Controleer de waarde en de eenheid."
        en = f"{lbl_en} is {fmt_en(rec.get(f.code))}{unit}{where_en}; allowed is {fmt_en(float(f.min)) if f.min is not None else '…'} to {fmt_en(float(f.max)) if f.max is not None else '…'}{unit}. Check the value and its unit."
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
        return rule_finding(registry, sheet, meta, rec, raw_sheet, row)
    elif rule == "yoy_change":
        prev = rec.get(f"__prev_{fcode}")
        change = rec.get(f"__yoy_{fcode}")
        pct = change * 100
        nl = (
            f"{lbl_nl}{where_nl} is {pct:+.0f}% veranderd ten opzichte van het vorige jaar ({fmt_nl(prev)} → {fmt_nl(rec.get(fcode))}{unit}); "
            f"de drempel is ±{registry.yoy_threshold * 100:.0f}%. Controleer de waarde en geef een toelichting op blad Toelichting als hij klopt."
        )
        en = (
            f"{lbl_en}{where_en} changed by {pct:+.0f}% against the previous year ({fmt_en(prev)} → {fmt_en(rec.get(fcode))}{unit}); "
            f"the threshold is ±{registry.yoy_threshold * 100:.0f}%. Check the value and explain it on the Explanations sheet if it is right."
        )
        value = short_value(rec.get(f"{fcode}__raw"))
    elif rule == "outlier":
        ratio = next(r for r in registry.ratios if r.code == meta["ratio"])
        v = rec.get(f"__ratio_{ratio.code}")
        z = rec.get(f"__z_{ratio.code}")
        pct_like = ratio.code in ("verzuim", "overhead", "inhuur")
        shown_nl = f"{v * 100:.1f}%".replace(".", ",") if pct_like else fmt_nl(float(v))
        shown_en = f"{v * 100:.1f}%" if pct_like else fmt_en(float(v))
        fields = ", ".join(list(ratio.numerator)[:3] + list(ratio.denominator)[:1])
        nl = (
            f"Het {ratio.label_nl} ({shown_nl}) wijkt sterk af van de andere organisaties (robuuste z-score {z:+.1f}). "
            f"Controleer de onderliggende velden ({fields}) en geef een toelichting als de waarde klopt."
        )
        en = (
            f"The {ratio.label_en} ({shown_en}) differs strongly from the other organisations (robust z-score {z:+.1f}). "
            f"Check the underlying fields ({fields}) and explain it if the value is right."
        )
        fcode = ratio.numerator[0]
        cell = raw_sheet.cell_ref(row, fcode)
        value = shown_nl
    else:
        nl = en = rule
    return Finding(sev, rule, nl, en, sheet=sheet.code, cell=cell, row=row, field=fcode, value=value)


def rule_finding(registry: Registry, sheet: Sheet, meta: dict, rec: pd.Series, raw_sheet, row: int) -> Finding:
    """The finding for a row that breaks a cross-field rule of the registry (``le``, ``sum_le``, ``sheet_sum_le``)."""
    code = meta["rule"].split(":", 1)[1]
    rule = next(r for r in registry.rules if r.code == code)
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
        nl = (
            f"'{fa.label_nl}' ({fmt_nl(va)}) is groter dan '{fb.label_nl}' ({fmt_nl(vb)}){extra_nl}{where_nl}. "
            f"Een deel kan niet groter zijn dan het geheel: controleer beide velden."
        )
        en = (
            f"'{fa.label_en}' ({fmt_en(va)}) is larger than '{fb.label_en}' ({fmt_en(vb)}){extra_en}{where_en}. "
            f"A part cannot exceed its whole: check both fields."
        )
        return Finding(
            "error",
            meta["rule"],
            nl,
            en,
            sheet=sheet.code,
            cell=raw_sheet.cell_ref(row, rule.a),
            row=row,
            field=rule.a,
            value=short_value(rec.get(f"{rule.a}__raw")),
        )
    if rule.kind == "sum_le":
        total = sheet.field(rule.total)
        parts_nl = ", ".join(sheet.field(p).label_nl for p in rule.parts)
        parts_en = ", ".join(sheet.field(p).label_en for p in rule.parts)
        s = rec.get(f"__sum_{rule.code}")
        nl = (
            f"De som van {parts_nl} ({fmt_nl(s)}) is groter dan '{total.label_nl}' ({fmt_nl(rec.get(rule.total))}). "
            f"De delen mogen samen niet meer zijn dan het totaal: controleer de delen en het totaal."
        )
        en = (
            f"The sum of {parts_en} ({fmt_en(s)}) is larger than '{total.label_en}' ({fmt_en(rec.get(rule.total))}). "
            f"The parts together may not exceed the total: check the parts and the total."
        )
        return Finding(
            "error",
            meta["rule"],
            nl,
            en,
            sheet=sheet.code,
            cell=raw_sheet.cell_ref(row, rule.total),
            row=row,
            field=rule.total,
            value=short_value(rec.get(f"{rule.total}__raw")),
        )
    # sheet_sum_le
    part_field = registry.sheet(rule.sheet).field(rule.a)
    total = sheet.field(rule.total)
    s = rec.get(f"__sheetsum_{rule.code}")
    nl = (
        f"De som van '{part_field.label_nl}' over alle producten ({fmt_nl(s)}) is groter dan '{total.label_nl}' "
        f"({fmt_nl(rec.get(rule.total))}). Controleer de toerekening van kosten aan producten."
    )
    en = (
        f"The sum of '{part_field.label_en}' over all products ({fmt_en(s)}) is larger than '{total.label_en}' "
        f"({fmt_en(rec.get(rule.total))}). Check how costs are allocated to products."
    )
    return Finding(
        "error",
        meta["rule"],
        nl,
        en,
        sheet=sheet.code,
        cell=raw_sheet.cell_ref(row, rule.total),
        row=row,
        field=rule.total,
        value=short_value(rec.get(f"{rule.total}__raw")),
    )


def unknown_answers(registry: Registry, it: Item, limit: int = 3) -> None:
    """A warning for 'onbekend' in a required field: one per cell when a field has at most ``limit`` of them,
    else one per field naming the first rows and how many (an export without a column would otherwise give a
    warning for every product). Counted from the states in the frames, so a delivery with thousands of
    unknown cells costs no more than one with none."""
    for code, frame in it.frames.items():
        sheet = registry.sheet(code)
        raw_sheet = it.raw.sheets.get(code)
        if raw_sheet is None:
            continue
        for fld in sheet.fields:
            col = f"{fld.code}__state"
            if not fld.required or ONBEKEND not in fld.missing or col not in frame.columns:
                continue
            hits = frame.index[frame[col].to_numpy(dtype=object) == ONBEKEND]
            if len(hits) == 0:
                continue
            meta = {"rule": "unknown_value", "field": fld.code, "severity": "warning"}
            if len(hits) <= limit:
                for i in hits:
                    rec = frame.loc[i]
                    it.findings.append(result_finding(registry, sheet, meta, rec, raw_sheet, int(rec["__row"])))
                continue
            rows = sorted(int(r) for r in frame.loc[hits, "__row"])
            shown = ", ".join(str(r) for r in rows[:5]) + (", …" if len(rows) > 5 else "")
            cells = frame.loc[hits, f"{fld.code}__cell"]
            values = sorted({str(v) for v in cells if isinstance(v, str)})
            written = ", ".join(f"'{short_value(v, 20)}'" for v in values[:3])
            it.findings.append(
                Finding(
                    "warning",
                    "unknown_value",
                    f"'{fld.label_nl}' ({fld.code}) is onbekend ({written}) in {len(rows)} regels van blad"
                    f" {raw_sheet.name} (regel {shown}). De indicatoren die dit veld gebruiken worden zonder deze"
                    " regels berekend of niet gepubliceerd. Lever de cijfers alsnog aan, of licht op blad Toelichting"
                    " toe waarom ze ontbreken.",
                    f"'{fld.label_en}' ({fld.code}) is unknown ({written}) in {len(rows)} rows of sheet"
                    f" {raw_sheet.name} (row {shown}). The indicators that use this field are computed without these"
                    " rows or not published. Deliver the figures, or explain on the Explanations sheet why they are"
                    " missing.",
                    sheet=code,
                    cell=raw_sheet.cell_ref(rows[0], fld.code),
                    row=None,
                    field=fld.code,
                    value=short_value(values[0], 80) if values else None,
                )
            )


def mapped_answers(registry: Registry, it: Item) -> None:
    """One info finding per sheet saying which cells were read as 'n.v.t.' or 'onbekend', with the spellings
    found (so a member sees that '-' was read as not applicable, and can say so if it meant something else)."""
    for code, frame in it.frames.items():
        sheet = registry.sheet(code)
        raw_sheet = it.raw.sheets.get(code)
        if raw_sheet is None:
            continue
        counts: dict[str, dict[str, int]] = {NVT: {}, ONBEKEND: {}}
        for f in sheet.fields:
            col = f"{f.code}__state"
            if col not in frame.columns or not f.missing:
                continue
            for state, cell in zip(frame[col], frame[f"{f.code}__cell"]):
                if state in f.missing and isinstance(cell, str):
                    counts[state][cell] = counts[state].get(cell, 0) + 1
        parts_nl, parts_en = [], []
        for state in (NVT, ONBEKEND):
            if not counts[state]:
                continue
            total = sum(counts[state].values())
            spellings = ", ".join(f"'{short_value(k, 20)}' {n}×" for k, n in sorted(counts[state].items()))
            parts_nl.append(f"{total} {'cel' if total == 1 else 'cellen'} als {label(state, 'nl')} ({spellings})")
            parts_en.append(f"{total} {'cell' if total == 1 else 'cells'} as {label(state, 'en')} ({spellings})")
        if parts_nl:
            it.findings.append(
                Finding(
                    "info",
                    "answers_read",
                    f"Blad {raw_sheet.name}: gelezen {' en '.join(parts_nl)}. Klopt dat niet, pas de cellen dan aan.",
                    f"Sheet {raw_sheet.name}: read {' and '.join(parts_en)}. If that is not what you meant, change the cells.",
                    sheet=code,
                    cell=raw_sheet.name,
                )
            )


def mark_explained(registry: Registry, it: Item) -> None:
    """Mark the warnings whose field (or one of the outlier ratio's fields) the ``toelichting`` sheet explains."""
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
    ratio_fields = {r.code: set(r.numerator) | set(r.denominator) for r in registry.ratios}
    product_by_row: dict[int, str] = {}
    prod = it.frames.get("producten")
    if prod is not None and "product_code" in prod.columns:
        product_by_row = {int(r): p for r, p in zip(prod["__row"], prod["product_code"]) if isinstance(p, str)}
    for f in it.findings:
        if f.severity != "warning" or f.field is None:
            continue
        product = product_by_row.get(f.row) if f.sheet == "producten" and f.row is not None else None
        candidates = (
            [f.field]
            if f.rule != "outlier"
            else sorted(next((v for k, v in ratio_fields.items() if f.field in v), {f.field}))
        )
        for c in candidates:
            text = notes.get((c, product)) or notes.get((c, None))
            if text:
                f.explained, f.explanation = True, text
                break


SEV_ORDER = {"error": 0, "warning": 1, "info": 2}


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


def finding_order(f: Finding) -> tuple:
    """Sort key of a submission's findings: errors first, then by sheet, row, field and rule."""
    return (SEV_ORDER.get(f.severity, 3), f.sheet or "", f.row or 0, f.field or "", f.rule)
