"""Generated documentation: the data dictionary (from the registry)."""

from __future__ import annotations

from pipeline.ingest.answers import NVT_SPELLINGS, ONBEKEND_SPELLINGS
from pipeline.metadata.registry import Registry, registry


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def data_dictionary(reg: Registry | None = None) -> str:
    reg = reg or registry()
    out = [
        "# Data dictionary",
        "",
        "<!-- Generated from pipeline/metadata/submission.yaml by `rbb docs`; do not edit by hand. -->",
        "",
        f"Registry version **{reg.version}**. One submission per organisation per year; an Excel workbook with one",
        "sheet per part below (header rows: Dutch label, unit, field code; data from row 4), or a folder of CSV",
        "files named after the sheet code (`organisatie.csv`, ...). Types: `integer` whole count ≥ 0, `number`",
        "decimal, `code` value from a code list, `text` free text, `date` a calendar date.",
        "",
        "**Answers besides a value.** A field marked *or `n.v.t.` / `onbekend`* may be answered with `n.v.t.` (not",
        "applicable: the organisation has no such channel or product feature) or `onbekend` (unknown: it exists, the",
        "figure is missing). *Required* means *must be answered*: a value or one of these answers, never an empty",
        "cell. Common spellings are read as the same answer and every delivery's feedback lists what was read:",
        f"not applicable: {', '.join(f'`{x}`' for x in NVT_SPELLINGS if x.strip() and x.isascii())};",
        f"unknown: {', '.join(f'`{x}`' for x in ONBEKEND_SPELLINGS)}. The warehouse keeps the answer in the column",
        "`<field>__state` (`nvt`, `onbekend`, `leeg`) beside a NULL value, never a 0. `onbekend` in a required field is",
        "a warning; a value above the *warning above* bound is a warning that asks for an explanation, not an error.",
        "",
    ]
    for s in reg.sheets:
        storage = (
            " · a separate file `zaken.csv` (`;`, `dd-mm-jjjj`) or `zaken.parquet` in the delivery folder, "
            "validated and aggregated in DuckDB without loading it into memory"
            if s.storage == "file"
            else ""
        )
        out += [
            f"## {s.name_nl} / {s.name_en} (`{s.code}`)",
            "",
            f"Level: **{s.level}** · {'required' if s.required else 'optional'} · key: {', '.join(s.key) or '—'}"
            + (f" · exactly {s.max_rows} row" if s.max_rows == 1 else "")
            + storage,
            "",
            f"{s.description_nl} — {s.description_en}",
            "",
            "| code | label (nl) | label (en) | type | unit | required | allowed | description |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for f in s.fields:
            if f.type == "code":
                allowed = (
                    "register codes"
                    if f.codes is None
                    else (", ".join(f.codes) if len(f.codes) <= 12 else f"{len(f.codes)} codes ({f.code_list})")
                )
            elif f.is_numeric:
                allowed = f"{f'{f.min:g}' if f.min is not None else '…'} – {f'{f.max:g}' if f.max is not None else '…'}"
                if f.plausible_max is not None:
                    allowed += f" (warning above {f.plausible_max:g})"
            elif f.max_length:
                allowed = f"≤ {f.max_length} chars"
                if f.plausible_length:
                    allowed += f" (warning above {f.plausible_length})"
            else:
                allowed = ""
            if f.missing:
                allowed += "; or " + " / ".join({"nvt": "`n.v.t.`", "onbekend": "`onbekend`"}[m] for m in f.missing)
            out.append(
                f"| `{f.code}` | {_md(f.label_nl)} | {_md(f.label_en)} | {f.type} | {_md(f.unit)} | "
                f"{'yes' if f.required else 'no'} | {_md(allowed)} | {_md(f.description_en)} |"
            )
        out.append("")
    out += ["## Cross-field rules (errors)", "", "| rule | sheet | check |", "|---|---|---|"]
    for r in reg.rules:
        if r.kind == "le":
            check = f"`{r.a}` ≤ `{r.b}`"
        elif r.kind == "sum_le":
            check = " + ".join(f"`{p}`" for p in r.parts) + f" ≤ `{r.total}`"
        else:
            check = f"sum of `{r.a}` over all rows ≤ `{r.total_sheet}.{r.total}`"
        out.append(f"| `{r.code}` | {r.sheet} | {check} |")
    out += [
        "",
        "## Plausibility checks (warnings)",
        "",
        f"- Year-on-year change of more than ±{reg.yoy_threshold * 100:.0f}% against the organisation's previous accepted year, for: "
        + ", ".join(f"`{f.code}`" for f in reg.all_fields() if f.plausibility)
        + ".",
        f"- Robust outliers against the other organisations of the same year (|robust z| > {reg.robust_z_threshold}, "
        f"z = (value − median) / (1.4826 · MAD), at least {reg.min_peers} other organisations) for the ratios: "
        + ", ".join(f"{r.label_en} (`{'+'.join(r.numerator)}` / `{'+'.join(r.denominator)}`)" for r in reg.ratios)
        + ".",
        "- A warning is shown as explained when the submission's Explanations sheet has a row for that field.",
        "",
    ]
    return "\n".join(out)


#: the statistical method behind each ``uncertainty`` of the catalogue (docs/methods-comparisons.md)
UNCERTAINTY = {
    "none": "no interval: administrative data, not a sample",
    "t_mean": "weighted mean; design-based (Taylor-linearised) standard error; 95% t-interval with Kish's "
    "n_eff − 1 degrees of freedom",
    "wilson": "share; Wilson interval, for weighted survey data on the design-adjusted n* = p(1 − p)/v",
}


def _indicator_sql(code: str) -> str:
    """The SQL model of an indicator (``pipeline/compute/sql/indicators/<code>.sql``)."""
    from importlib import resources

    return resources.files("pipeline.compute.sql").joinpath(f"indicators/{code}.sql").read_text("utf-8")


def indicators_doc() -> str:
    from pipeline.compute.engine import catalogue, catalogue_config

    cfg = catalogue_config()
    themes = cfg["themes"]
    out = [
        "# Indicator catalogue",
        "",
        "<!-- Generated from pipeline/metadata/indicators.yaml by `rbb docs`; do not edit by hand. -->",
        "",
        f"{len(catalogue())} indicators in {len(themes)} themes. Each is computed by the SQL model "
        "`pipeline/compute/sql/indicators/<code>.sql` over the accepted submissions in force; organisation values from "
        "product rows are volume-weighted (numerators and denominators are summed, never percentages averaged). "
        "value = numerator / denominator × scale. Numerator, denominator and n are stored beside every value.",
        "",
        "Directions: **higher** is better, **lower** is better, **context** (no normative direction: not ranked).",
        "",
        "## Keys of an indicator",
        "",
        "For the engine and this page: `code`, `theme`, `unit`, `scale`, `decimals`, `direction`, `uncertainty`, "
        "`min_n`, `numerator` and `denominator` (the calculation in field codes), `fields` (the registry fields it "
        'reads, `sheet.field`), optionally `missing` and `min_coverage` (see "Rows left out"). For readers, in '
        "Dutch and English (`_nl`, `_en`): `name`, `description` (what the figure means), `formula` (the calculation "
        "in words, without field codes) and `caveat` (what to keep in mind when comparing; empty when there is "
        "nothing, but then in both languages). A report shows the texts of its own language. They are written for a "
        "manager: statistical method (standard errors, intervals, effective sample size) belongs in the reports' "
        "method appendix and on this page, not in a definition. The model in `pipeline/metadata/models.py` "
        "(`IndicatorModel`) refuses a missing or unknown key.",
        "",
        "## Statistics",
        "",
        f"- Survey marks: weighted mean with a design-based (Taylor-linearised) standard error and a 95% t-interval "
        "with Kish n_eff − 1 degrees of freedom, n_eff = (Σw)²/Σw²; shares: Taylor variance and a Wilson interval on "
        "the design-adjusted n* = p(1 − p)/v. Kish's n_eff is the sample-size statement: below n_eff "
        f"{cfg['survey_rules']['suppress_below_n']} a value is suppressed; "
        f"below {cfg['survey_rules']['indicative_below_n']} or with a half-width over {cfg['survey_rules']['max_halfwidth_mark']} "
        "mark it is flagged *indicatief*. Method: `docs/methods-comparisons.md`.",
        "- Benchmark statistics per indicator and year over all members and per cluster: n, mean, median, P25, P75 "
        "(linear interpolation), min, max. A cluster statistic is published only with at least "
        f"{cfg['comparison']['cluster_min_members']} values.",
        "- Rank: competition ranking, 1 = best given the direction; tied organisations share the best rank of their "
        "group (1, 2, 2, 4). Shown as *k of N*.",
        "- Percentile = 100 · (N − rank) / (N − 1). Quartile class from the mid-rank position u = (r̄ − 0.5)/N with "
        "average ranks r̄ (1 = best): class ⌈4u⌉, 1 = best quarter; tied organisations share a class.",
        "- Gap to the median and to the best-quartile threshold (P75, or P25 for lower-is-better): value − threshold "
        "(sign in the indicator's unit).",
        "- Robust z = (value − median) / (1.4826 · MAD); when the MAD is 0, the scale is 1.253314 · mean absolute "
        "deviation (Iglewicz & Hoaglin); undefined only when all values are equal.",
        f"- Trend: OLS slope per year over the last {cfg['comparison']['trend_years']} years (at least "
        f"{cfg['comparison']['trend_min_points']} values); a label (*improving*/*declining*, *rising*/*falling* for "
        f"context) only with at least {cfg['comparison']['trend_label_min_points']} values and significance after "
        "Benjamini–Hochberg over the organisation's series of the year; otherwise no label.",
        "- Significance (survey indicators): the organisation's value against the median of the other members "
        "(leave-one-out), whose uncertainty (bootstrap SE) is added to the organisation's SE; t-test with the "
        "interval's degrees of freedom for marks, score test consistent with the Wilson interval for shares; "
        "Benjamini–Hochberg (p_(k) ≤ k·α/m) over the survey indicators of one organisation-year, "
        f"α = {cfg['comparison']['significance_alpha']}.",
        "- Strengths and weaknesses: best (worst) quartile, and for survey indicators only when significantly "
        "better (worse); ordered by |robust z|.",
        "",
        "## Rows left out",
        "",
        "An indicator over product rows treats a product whose component is answered `n.v.t.` or `onbekend`, or is "
        "empty, as its declaration says (`missing` per indicator, default "
        f"`{cfg['coverage']['missing']}`):",
        "",
        "- `exclude_row`: the product leaves numerator and denominator together (a product without a digital channel "
        "does not add its applications to the digital share's denominator).",
        "- `zero`: an `n.v.t.` component counts as 0 (declared where that is the meaning: objections or complaints "
        "that cannot occur for a product); an unknown or empty one still leaves the product out.",
        "- `missing_org`: one product without the component makes the organisation's value missing.",
        "",
        "Beside every value `indicator_values` stores `rows_total`, `rows_used`, `rows_left_out`, `left_out` (the "
        "reasons, e.g. `nvt:34;onbekend:2`) and `coverage`: the share of the denominator in scope that the products "
        "used hold. Products answered `n.v.t.` are out of scope; an in-scope product whose denominator is itself "
        "unknown counts as an average product. Below a coverage of "
        f"{cfg['coverage']['min_coverage']:g} (`min_coverage`) the value is not published (flag `low_coverage`; "
        "numerator and denominator are kept). The member's report says on what the value is based (*Gebaseerd op 7 "
        "van 41 producten; 34 niet van toepassing.*). A value missing because a component on the organisation or "
        "channel sheet was answered `n.v.t.` or `onbekend` carries that as a flag.",
        "",
    ]
    for theme, names in themes.items():
        out += [f"## {names['nl']} / {names['en']}", ""]
        for ind in [i for i in catalogue() if i.theme == theme]:
            out += [
                f"### `{ind.code}` — {ind.name_nl} / {ind.name_en}",
                "",
                f"- Definition: {ind.description_en}",
                f"  - *nl:* {ind.description_nl}",
                f"- In words: {ind.formula_en}",
                f"  - *nl:* {ind.formula_nl}",
                f"- Formula: `({ind.numerator}) / ({ind.denominator})"
                + (f" × {ind.scale:g}" if ind.scale != 1 else "")
                + "`",
                f"- Unit: {ind.unit}; direction: {ind.direction}; uncertainty: {ind.uncertainty} "
                f"({UNCERTAINTY[ind.uncertainty]}); minimum n: {ind.min_n}",
                f"- Data needed: {', '.join('`' + f + '`' for f in ind.fields)}",
            ]
            if ind.rows.applies:
                out.append(
                    f"- Products with a missing component: `{ind.missing}`; published from a coverage of "
                    f"{ind.min_coverage:g}"
                )
            if "bron:zaken" in _indicator_sql(ind.code):
                out.append(
                    "- From case microdata when the organisation submits them (they take precedence; flag "
                    "`bron:zaken`; `docs/case-microdata.md`)"
                    if ind.fields and not ind.fields[0].startswith("zaken.")
                    else "- Only from case microdata (flag `bron:zaken`; `docs/case-microdata.md`)"
                )
            if ind.caveat_en:
                out += [f"- Caveats: {ind.caveat_en}", f"  - *nl:* {ind.caveat_nl}"]
            out.append("")
    return "\n".join(out)


def write_docs(folder) -> list:
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in (("data-dictionary.md", data_dictionary()), ("indicators.md", indicators_doc())):
        p = folder / name
        p.write_text(text, encoding="utf-8")
        out.append(p)
    return out
