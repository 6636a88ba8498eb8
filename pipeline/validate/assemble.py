"""Great Expectations results turned into findings: Dutch and English messages that point at the cell.

Every unexpected row of a failed expectation becomes a :class:`Finding` on the submission's own sheet and
cell, worded after the rule in the expectation's ``meta``. A message quotes what the member typed as it was
typed (:func:`entered`), shows every number it computes in Dutch or English notation (:func:`fmt_nl`,
:func:`fmt_en`), counts in singular or plural, and names the place in the delivery as it is there: a sheet
of a workbook by its name in the file ('op blad Kanalen' / 'on sheet Kanalen', also in English), a CSV
file by its file name ('in bestand kanalen.csv' / 'in file kanalen.csv'). Afterwards a warning is marked explained when the submission's
``toelichting`` sheet explains its field, and a submission's findings are put in :func:`finding_order`.
:func:`identity_rejected` tells whether a submission is rejected for not being what its folder says.
"""

from __future__ import annotations

import re

import pandas as pd

from pipeline.core.findings import Finding, short_value
from pipeline.core.numbers import count_text, format_number
from pipeline.ingest.answers import NVT, ONBEKEND, label
from pipeline.ingest.batch import Item
from pipeline.ingest.normalize import UNREAD_MARK, number_problem
from pipeline.ingest.readers import RawSheet, RawSubmission
from pipeline.metadata.registry import Field, Registry, Sheet


def fmt_nl(x: object) -> str:
    """A number as a finding shows it in Dutch: 1.234.567 and 12,50 (as many decimals as it has, up to 6);
    an empty value is 'leeg'."""
    return format_number(x, "nl") if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)


def fmt_en(x: object) -> str:
    """A number as a finding shows it in English: 1,234,567 and 12.50; an empty value is 'empty'."""
    return format_number(x, "en") if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)


def fmt(x: object, lang: str) -> str:
    return fmt_nl(x) if lang == "nl" else fmt_en(x)


#: the registry's units (Dutch) in English messages; a mark (1-10) has no unit in English
UNIT_EN = {
    "aanvragen": "applications",
    "antwoorden": "answers",
    "besluiten": "decisions",
    "bezwaren": "objections",
    "cijfer": "",
    "contacten": "contacts",
    "dagen": "days",
    "datum": "date",
    "eenheden": "units",
    "euro": "euro",
    "fte": "FTE",
    "gesprekken": "calls",
    "jaar": "years",
    "kalenderdagen": "calendar days",
    "klachten": "complaints",
    "klanten": "customers",
    "meldingen": "reports",
    "mutaties": "changes",
    "personen": "people",
    "seconden": "seconds",
    "zaken": "cases",
}


def unit_text(f: Field | None, lang: str) -> str:
    """The unit of a field after a number (' fte', ' days'), or '' when it has none."""
    if f is None or not f.unit:
        return ""
    unit = f.unit if lang == "nl" else UNIT_EN.get(f.unit, f.unit)
    return f" {unit}" if unit else ""


def entered(rec: pd.Series, code: str | None) -> str | None:
    """What the member entered in a field's cell, as a message quotes it: the text exactly as typed
    (``ongeveer 1200``, ``12,5%``, ``1.234.567,5``); for a number a workbook holds as a number, the number
    as Dutch Excel shows it in the cell (``1234567,5``). None for an empty cell."""
    if code is None:
        return None
    text = rec.get(f"{code}__cell")
    if isinstance(text, str):
        return short_value(text)
    raw = rec.get(f"{code}__raw")
    if not isinstance(raw, str):
        return None
    raw = raw.removesuffix(UNREAD_MARK)
    if re.fullmatch(r"-?[0-9]+\.[0-9]+", raw):
        raw = raw.replace(".", ",")
    return short_value(raw)


def said(rec: pd.Series, code: str, lang: str, unit: str = "", quote: bool = True) -> str:
    """The member's own number in a message, in the message's notation and with its ``unit``. Where the
    member typed more than a number in some notation (``€ 1.500``, ``1 500 fte``), the text as typed follows
    ('ingevuld als' / 'entered as'), unless ``quote`` is false."""
    value = rec.get(code)
    shown = (format_number(value, lang, least_decimals=0) if isinstance(value, float) else str(value)) + unit
    text = rec.get(f"{code}__cell")
    if not quote or not isinstance(text, str) or re.fullmatch(r"-?[0-9.,]+", text.strip()):
        return shown
    return f"{shown} ({'ingevuld als' if lang == 'nl' else 'entered as'} '{short_value(text)}')"


def place(raw_sheet: RawSheet, lang: str) -> str:
    """Where a sheet's data is in the delivery: 'blad Kanalen' / 'sheet Kanalen' for a workbook's sheet (by
    its name in the file), 'bestand kanalen.csv' / 'file kanalen.csv' for a CSV file."""
    if raw_sheet.is_csv:
        return f"{'bestand' if lang == 'nl' else 'file'} {raw_sheet.name}"
    return f"{'blad' if lang == 'nl' else 'sheet'} {raw_sheet.name}"


def on(raw_sheet: RawSheet, lang: str) -> str:
    """'op blad Kanalen' / 'on sheet Kanalen', or 'in bestand kanalen.csv' / 'in file kanalen.csv'."""
    if raw_sheet.is_csv:
        return f"in {place(raw_sheet, lang)}"
    return f"{'op' if lang == 'nl' else 'on'} {place(raw_sheet, lang)}"


def other_place(
    registry: Registry, code: str, lang: str, raw: RawSubmission | None, csv: bool, preposition: bool = True
) -> str:
    """Where another sheet of the same delivery is (or belongs): its name in the file when the delivery has
    it, else the template's name (``Toelichting``) or, in a CSV delivery, its file name (``toelichting.csv``)."""
    there = raw.sheets.get(code) if raw is not None else None
    if there is None:
        name = f"{code}.csv" if csv else registry.sheet(code).name_nl
        there = RawSheet(code=code, name=name, columns={}, rows=[], is_csv=csv)
    return on(there, lang) if preposition else place(there, lang)


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
            raw_sheet = it.raw.sheets[sheet.code]
            if raw_sheet.is_csv:
                nl = f"Het verplichte bestand {raw_sheet.name} bevat geen gegevens. Vul de gegevens in vanaf de regel onder de kopregel."
                en = f"The required file {raw_sheet.name} holds no data. Fill in the data from the line below the header."
            else:
                nl = f"Het verplichte blad '{raw_sheet.name}' bevat geen gegevens. Vul de gegevens in vanaf de eerste regel onder de kopregels."
                en = f"The required sheet '{raw_sheet.name}' holds no data. Fill in the data from the first row below the headers."
            it.findings.append(Finding("error", "sheet_empty", nl, en, sheet=sheet.code, cell=raw_sheet.name))
        elif field_code is None:
            if it.raw.fmt == "csv":
                name = f"{sheet.code}.csv"
                nl = (
                    f"Het verplichte bestand {name} ontbreekt. Voeg het toe aan de levering: een CSV-levering heeft"
                    f" een bestand per onderdeel van het sjabloon ({sheet.name_nl} is {name})."
                )
                en = (
                    f"The required file {name} is missing. Add it to the delivery: a CSV delivery has a file for each"
                    f" part of the template ({sheet.name_nl} is {name})."
                )
            else:
                name = sheet.name_nl
                nl = f"Het verplichte blad '{name}' ontbreekt. Voeg het blad toe zoals in het sjabloon."
                en = f"The required sheet '{name}' is missing. Add the sheet as in the template."
            it.findings.append(Finding("error", "sheet_missing", nl, en, sheet=sheet.code, cell=name))
        else:
            f = sheet.field(field_code)
            raw_sheet = it.raw.sheets[sheet.code]
            it.findings.append(
                Finding(
                    "error",
                    "column_missing",
                    f"De kolom '{f.label_nl}' ({f.code}) ontbreekt {on(raw_sheet, 'nl')}. Zet de kolom terug zoals in het sjabloon.",
                    f"The column '{f.label_en}' ({f.code}) is missing {on(raw_sheet, 'en')}. Restore it as in the template.",
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
            finding = result_finding(registry, sheet, meta, rec, raw_sheet, row, it.raw)
            if finding is not None:
                it.findings.append(finding)


def _fixed(x: float, decimals: int, lang: str) -> str:
    """``x`` with exactly ``decimals`` decimals in the notation of ``lang`` (12,5 / 12.5; 1.234 / 1,234)."""
    text = f"{x:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".") if lang == "nl" else text


def _signed(x: float, decimals: int, lang: str) -> str:
    """``x`` with its sign (+12 / -12) and ``decimals`` decimals in the notation of ``lang``."""
    text = _fixed(x, decimals, lang)
    return text if text.startswith("-") else f"+{text}"


def result_finding(
    registry: Registry,
    sheet: Sheet,
    meta: dict,
    rec: pd.Series,
    raw_sheet: RawSheet,
    row: int,
    raw: RawSubmission | None = None,
) -> Finding | None:
    """The finding for one unexpected row ``rec`` of an expectation with this ``meta``; ``raw`` is the whole
    delivery (the names of its other sheets or files)."""
    rule = meta["rule"]
    sev = meta.get("severity", "error")
    fcode = meta.get("field")
    f: Field | None = sheet.field(fcode) if fcode in sheet.field_codes else None
    cell = raw_sheet.cell_ref(row, fcode if f else None)
    raw_value = rec.get(f"{fcode}__raw") if f else None
    value = entered(rec, fcode) if f else None
    lbl_nl = f"'{f.label_nl}' ({f.code})" if f else ""
    lbl_en = f"'{f.label_en}' ({f.code})" if f else ""
    unit_nl, unit_en = unit_text(f, "nl"), unit_text(f, "en")
    csv = raw_sheet.is_csv
    here_nl, here_en = on(raw_sheet, "nl"), on(raw_sheet, "en")
    explain_nl = other_place(registry, "toelichting", "nl", raw, csv)
    explain_en = other_place(registry, "toelichting", "en", raw, csv)
    product = rec.get("product_code") if "product_code" in rec.index else None
    where_nl = f" bij product {product}" if isinstance(product, str) and sheet.code == "producten" else ""
    where_en = f" for product {product}" if isinstance(product, str) and sheet.code == "producten" else ""
    if rule == "required":
        in_nl = f" ({f.unit})" if f.unit else ""
        in_en = f" ({unit_en.strip()})" if unit_en else ""
        alt_nl = f", {_answers(f, 'nl')}" if f.missing else ""
        alt_en = f", {_answers(f, 'en')}" if f.missing else ""
        zero_nl, zero_en = ("; gebruik 0 als er niets was", "; use 0 if there was none") if f.is_numeric else ("", "")
        nl = f"Het verplichte veld {lbl_nl} is leeg{where_nl}. Vul een waarde in{in_nl}{alt_nl}{zero_nl}."
        en = f"The required field {lbl_en} is empty{where_en}. Enter a value{in_en}{alt_en}{zero_en}."
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
            f" berekend of niet gepubliceerd. Lever het cijfer alsnog aan, of licht {explain_nl} toe waarom het ontbreekt."
        )
        en = (
            f"{lbl_en} is '{value}' (unknown){where_en}. The indicators that use this field are computed without this figure"
            f" or not published. Deliver the figure, or explain {explain_en} why it is not known."
        )
    elif rule == "implausible":
        nl = (
            f"{lbl_nl} is {said(rec, f.code, 'nl', unit_nl)}{where_nl}; dat is meer dan de {fmt_nl(float(f.plausible_max))}{unit_nl}"
            f" die we als plausibel aannemen. Controleer de waarde en de eenheid, en licht hem {explain_nl} toe als hij klopt."
        )
        en = (
            f"{lbl_en} is {said(rec, f.code, 'en', unit_en)}{where_en}; that is more than the {fmt_en(float(f.plausible_max))}{unit_en}"
            f" we take as plausible. Check the value and its unit, and explain it {explain_en} if it is right."
        )
    elif rule == "long_text":
        n = len(str(raw_value))
        nl = (
            f"{lbl_nl} is {count_text(n, 'teken', 'tekens', 'nl')} lang{where_nl}; meer dan de {fmt_nl(f.plausible_length)}"
            " die we verwachten. De tekst is volledig bewaard; kort hem in als dat kan."
        )
        en = (
            f"{lbl_en} is {count_text(n, 'character', 'characters', 'en')} long{where_en}; more than the"
            f" {fmt_en(f.plausible_length)} we expect. The text is kept in full; shorten it if you can."
        )
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
        products_nl = other_place(registry, "producten", "nl", raw, csv)
        products_en = other_place(registry, "producten", "en", raw, csv)
        of_nl = other_place(registry, "producten", "nl", raw, csv, preposition=False)
        of_en = other_place(registry, "producten", "en", raw, csv, preposition=False)
        nl = (
            f"Productcode '{value}' {here_nl} staat niet {products_nl}. Gebruik de codes van {of_nl}"
            " of voeg het product daar toe."
        )
        en = (
            f"Product code '{value}' {here_en} is not {products_en}. Use the codes of {of_en} or add the product there."
        )
    elif rule == "type":
        kind_nl = "geheel getal" if f.type == "integer" else "getal"
        kind_en = "a whole number" if f.type == "integer" else "a number"
        alt_nl = f", of {_answers(f, 'nl')}" if f.missing else ""
        alt_en = f", or {_answers(f, 'en')}" if f.missing else ""
        nl = f"{lbl_nl} bevat '{value}'; dat is geen {kind_nl}. Vul alleen een {kind_nl} in, zonder tekst, eenheden of procentteken (bijvoorbeeld 1200){alt_nl}."
        en = f"{lbl_en} contains '{value}', which is not {kind_en}. Enter only {kind_en}, without text, units or percent sign (for example 1200){alt_en}."
        doubt = number_problem(raw_sheet, row, f)
        if doubt is not None and doubt.problem == "ambiguous":
            nl, en = f"{lbl_nl}: {doubt.reason_nl}.", f"{lbl_en}: {doubt.reason_en}."
    elif rule == "range":
        lo_nl, hi_nl = (fmt_nl(float(x)) if x is not None else "…" for x in (f.min, f.max))
        lo_en, hi_en = (fmt_en(float(x)) if x is not None else "…" for x in (f.min, f.max))
        nl = f"{lbl_nl} is {said(rec, f.code, 'nl', unit_nl)}{where_nl}; toegestaan is {lo_nl} tot en met {hi_nl}{unit_nl}. Controleer de waarde en de eenheid."
        en = f"{lbl_en} is {said(rec, f.code, 'en', unit_en)}{where_en}; allowed is {lo_en} to {hi_en}{unit_en}. Check the value and its unit."
    elif rule == "code_list":
        allowed = ", ".join(f.codes) if f.codes else "een code uit het RBB-register"
        allowed_en = ", ".join(f.codes) if f.codes else "a code from the RBB register"
        nl = f"{lbl_nl} bevat '{value}'; dat is geen toegestane waarde. Kies uit: {allowed}."
        en = f"{lbl_en} contains '{value}', which is not an allowed value. Choose from: {allowed_en}."
    elif rule == "length":
        n = len(str(raw_value))
        nl = f"{lbl_nl} is {count_text(n, 'teken', 'tekens', 'nl')} lang; maximaal {count_text(f.max_length, 'teken', 'tekens', 'nl')}. Kort de tekst in."
        en = f"{lbl_en} is {count_text(n, 'character', 'characters', 'en')} long; at most {fmt_en(f.max_length)}. Shorten the text."
    elif rule == "pattern":
        nl = f"{lbl_nl} bevat '{value}'; gebruik alleen letters, cijfers, punt, streep of liggend streepje (maximaal 40 tekens)."
        en = f"{lbl_en} contains '{value}'; use only letters, digits, dot, dash or underscore (at most 40 characters)."
    elif rule == "one_row":
        if csv:
            nl = f"Bestand {raw_sheet.name} mag maar één regel met gegevens bevatten; deze regel is een extra regel. Verwijder hem."
            en = f"File {raw_sheet.name} must hold exactly one data line; this line is an extra one. Delete it."
        else:
            nl = f"Blad {raw_sheet.name} mag maar één regel met gegevens bevatten; deze regel is een extra regel. Verwijder hem."
            en = f"Sheet {raw_sheet.name} must hold exactly one data row; this row is an extra one. Delete it."
        cell = raw_sheet.cell_ref(row, None) if csv else f"{raw_sheet.name}!A{row}"
    elif rule == "unique":
        key_nl = ", ".join(sheet.key)
        value = entered(rec, sheet.key[0])
        nl = f"'{value}' komt meer dan één keer voor in kolom {key_nl} {here_nl}. Elke waarde mag één keer voorkomen: voeg de regels samen of verwijder de dubbele regel."
        dup_en = "line" if csv else "row"
        en = f"'{value}' occurs more than once in column {key_nl} {here_en}. Each value may occur once: merge the {dup_en}s or delete the duplicate {dup_en}."
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
        pct = rec.get(f"__yoy_{fcode}") * 100
        threshold = registry.yoy_threshold * 100
        nl = (
            f"{lbl_nl}{where_nl} is {_signed(pct, 0, 'nl')}% veranderd ten opzichte van het vorige jaar"
            f" ({fmt_nl(prev)} → {said(rec, fcode, 'nl', unit_nl, quote=False)}); de drempel is ±{_fixed(threshold, 0, 'nl')}%."
            f" Controleer de waarde en geef een toelichting {explain_nl} als hij klopt."
        )
        en = (
            f"{lbl_en}{where_en} changed by {_signed(pct, 0, 'en')}% against the previous year"
            f" ({fmt_en(prev)} → {said(rec, fcode, 'en', unit_en, quote=False)}); the threshold is ±{_fixed(threshold, 0, 'en')}%."
            f" Check the value and explain it {explain_en} if it is right."
        )
    elif rule == "outlier":
        ratio = next(r for r in registry.ratios if r.code == meta["ratio"])
        v = rec.get(f"__ratio_{ratio.code}")
        z = rec.get(f"__z_{ratio.code}")
        pct_like = ratio.code in ("verzuim", "overhead", "inhuur")
        shown_nl = f"{_fixed(v * 100, 1, 'nl')}%" if pct_like else fmt_nl(float(v))
        shown_en = f"{_fixed(v * 100, 1, 'en')}%" if pct_like else fmt_en(float(v))
        fields = ", ".join(list(ratio.numerator)[:3] + list(ratio.denominator)[:1])
        nl = (
            f"Het {ratio.label_nl} ({shown_nl}) wijkt sterk af van de andere organisaties (robuuste z-score {_signed(z, 1, 'nl')}). "
            f"Controleer de onderliggende velden ({fields}) en geef een toelichting als de waarde klopt."
        )
        en = (
            f"The {ratio.label_en} ({shown_en}) differs strongly from the other organisations (robust z-score {_signed(z, 1, 'en')}). "
            f"Check the underlying fields ({fields}) and explain it if the value is right."
        )
        fcode = ratio.numerator[0]
        cell = raw_sheet.cell_ref(row, fcode)
        value = shown_nl
    else:
        nl = en = rule
    return Finding(sev, rule, nl, en, sheet=sheet.code, cell=cell, row=row, field=fcode, value=value)


def rule_finding(
    registry: Registry, sheet: Sheet, meta: dict, rec: pd.Series, raw_sheet: RawSheet, row: int
) -> Finding:
    """The finding for a row that breaks a cross-field rule of the registry (``le``, ``sum_le``, ``sheet_sum_le``)."""
    code = meta["rule"].split(":", 1)[1]
    rule = next(r for r in registry.rules if r.code == code)
    if rule.kind == "le":
        fa, fb = sheet.field(rule.a), sheet.field(rule.b)
        va, vb = rec.get(rule.a), rec.get(rule.b)
        extra_nl = extra_en = ""
        if vb and vb > 0:
            extra_nl = f" (dat is {_fixed(va / vb * 100, 0, 'nl')}%)"
            extra_en = f" (that is {_fixed(va / vb * 100, 0, 'en')}%)"
        product = rec.get("product_code") if "product_code" in rec.index else None
        where_nl = f" bij product {product}" if isinstance(product, str) else ""
        where_en = f" for product {product}" if isinstance(product, str) else ""
        nl = (
            f"'{fa.label_nl}' ({said(rec, rule.a, 'nl', quote=False)}) is groter dan '{fb.label_nl}' ({said(rec, rule.b, 'nl', quote=False)}){extra_nl}{where_nl}. "
            f"Een deel kan niet groter zijn dan het geheel: controleer beide velden."
        )
        en = (
            f"'{fa.label_en}' ({said(rec, rule.a, 'en', quote=False)}) is larger than '{fb.label_en}' ({said(rec, rule.b, 'en', quote=False)}){extra_en}{where_en}. "
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
            value=entered(rec, rule.a),
        )
    if rule.kind == "sum_le":
        total = sheet.field(rule.total)
        parts_nl = ", ".join(sheet.field(p).label_nl for p in rule.parts)
        parts_en = ", ".join(sheet.field(p).label_en for p in rule.parts)
        s = rec.get(f"__sum_{rule.code}")
        nl = (
            f"De som van {parts_nl} ({fmt_nl(s)}) is groter dan '{total.label_nl}' ({said(rec, rule.total, 'nl', quote=False)}). "
            f"De delen mogen samen niet meer zijn dan het totaal: controleer de delen en het totaal."
        )
        en = (
            f"The sum of {parts_en} ({fmt_en(s)}) is larger than '{total.label_en}' ({said(rec, rule.total, 'en', quote=False)}). "
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
            value=entered(rec, rule.total),
        )
    # sheet_sum_le
    part_field = registry.sheet(rule.sheet).field(rule.a)
    total = sheet.field(rule.total)
    s = rec.get(f"__sheetsum_{rule.code}")
    nl = (
        f"De som van '{part_field.label_nl}' over alle producten ({fmt_nl(s)}) is groter dan '{total.label_nl}' "
        f"({said(rec, rule.total, 'nl', quote=False)}). Controleer de toerekening van kosten aan producten."
    )
    en = (
        f"The sum of '{part_field.label_en}' over all products ({fmt_en(s)}) is larger than '{total.label_en}' "
        f"({said(rec, rule.total, 'en', quote=False)}). Check how costs are allocated to products."
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
        value=entered(rec, rule.total),
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
                    it.findings.append(result_finding(registry, sheet, meta, rec, raw_sheet, int(rec["__row"]), it.raw))
                continue
            rows = sorted(int(r) for r in frame.loc[hits, "__row"])
            shown = ", ".join(str(r) for r in rows[:5]) + (", …" if len(rows) > 5 else "")
            cells = frame.loc[hits, f"{fld.code}__cell"]
            values = sorted({str(v) for v in cells if isinstance(v, str)})
            written = ", ".join(f"'{short_value(v, 20)}'" for v in values[:3])
            csv = raw_sheet.is_csv
            rows_en = ("line", "lines") if csv else ("row", "rows")
            explain_nl = other_place(registry, "toelichting", "nl", it.raw, csv)
            explain_en = other_place(registry, "toelichting", "en", it.raw, csv)
            it.findings.append(
                Finding(
                    "warning",
                    "unknown_value",
                    f"'{fld.label_nl}' ({fld.code}) is onbekend ({written}) in {count_text(len(rows), 'regel', 'regels', 'nl')}"
                    f" van {place(raw_sheet, 'nl')} ({'regel' if len(rows) == 1 else 'regels'} {shown}). De indicatoren"
                    " die dit veld gebruiken worden zonder deze regels berekend of niet gepubliceerd. Lever de cijfers"
                    f" alsnog aan, of licht {explain_nl} toe waarom ze ontbreken.",
                    f"'{fld.label_en}' ({fld.code}) is unknown ({written}) in {count_text(len(rows), *rows_en, 'en')}"
                    f" of {place(raw_sheet, 'en')} ({rows_en[0] if len(rows) == 1 else rows_en[1]} {shown}). The"
                    f" indicators that use this field are computed without these {rows_en[1]} or not published. Deliver"
                    f" the figures, or explain {explain_en} why they are not known.",
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
            spellings_nl = ", ".join(f"'{short_value(k, 20)}' {fmt_nl(n)}×" for k, n in sorted(counts[state].items()))
            spellings_en = ", ".join(f"'{short_value(k, 20)}' {fmt_en(n)}×" for k, n in sorted(counts[state].items()))
            parts_nl.append(f"{count_text(total, 'cel', 'cellen', 'nl')} als {label(state, 'nl')} ({spellings_nl})")
            parts_en.append(f"{count_text(total, 'cell', 'cells', 'en')} as {label(state, 'en')} ({spellings_en})")
        if parts_nl:
            it.findings.append(
                Finding(
                    "info",
                    "answers_read",
                    f"{place(raw_sheet, 'nl').capitalize()}: gelezen {' en '.join(parts_nl)}. Klopt dat niet, pas de cellen dan aan.",
                    f"{place(raw_sheet, 'en').capitalize()}: read {' and '.join(parts_en)}. If that is not what you meant, change the cells.",
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
