"""Typed models of the metadata files in ``pipeline/metadata/``.

Every YAML file is checked against these models when it is loaded: an unknown key, a missing key or a
value of the wrong type stops the load with the file and the entry named. This also catches the classic
YAML slip of an unquoted comma in a flow mapping (``{name_en: Objections per 1,000 decisions}`` reads as
``name_en: Objections per 1`` plus a stray key ``000 decisions``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class MetadataError(ValueError):
    """A metadata file does not match its model."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Number = float | int


# ------------------------------------------------------------------ submission.yaml


class SheetModel(_Strict):
    code: str
    name_nl: str
    name_en: str
    level: Literal["organisation", "product", "channel", "respondent", "case", "explanation"]
    required: bool
    key: list[str] | str | None = None
    description_nl: str
    description_en: str
    max_rows: int | None = None
    storage: Literal["sheet", "file"] = "sheet"


class FieldModel(_Strict):
    code: str
    sheet: str
    type: Literal["integer", "number", "text", "code", "date"]
    required: bool
    unit: str
    label_nl: str
    label_en: str
    description_nl: str
    description_en: str
    codes: list[str] | str | None = None
    min: Number | None = None
    max: Number | None = None
    max_length: int | None = None
    pattern: str | None = None
    plausibility: bool = False
    missing: list[Literal["nvt", "onbekend"]] | None = None
    plausible_max: Number | None = None
    plausible_length: int | None = None


class RuleModel(_Strict):
    code: str
    sheet: str
    kind: Literal["le", "sum_le", "sheet_sum_le"]
    parts: list[str] | None = None
    total: str | None = None
    a: str | None = None
    b: str | None = None
    total_sheet: str | None = None


class RatioModel(_Strict):
    code: str
    sheet: str
    numerator: list[str] | str
    denominator: list[str] | str
    label_nl: str
    label_en: str


class PlausibilityModel(_Strict):
    yoy_threshold: float
    robust_z_threshold: float
    min_peers: int
    ratios: list[RatioModel]


class SheetChangesModel(_Strict):
    """How one sheet of an older template version maps onto the current model."""

    renamed: dict[str, str] = {}
    added: list[str] = []
    removed: list[str] = []
    split: dict[str, list[str]] = {}


class TemplateVersionModel(_Strict):
    version: str
    years: list[int]
    changes: dict[str, SheetChangesModel] | None = None


class SubmissionModel(_Strict):
    version: str
    themes: list[str]
    code_lists: dict[str, list[str]]
    sheets: list[SheetModel]
    fields: list[FieldModel]
    rules: list[RuleModel]
    plausibility: PlausibilityModel
    template_versions: list[TemplateVersionModel] = []


# ------------------------------------------------------------------ indicators.yaml


class SurveyRulesModel(_Strict):
    indicative_below_n: int
    suppress_below_n: int
    max_halfwidth_mark: float
    confidence: float


class BootstrapModel(_Strict):
    reps: int
    seed: int


class ComparisonModel(_Strict):
    cluster_min_members: int
    trend_years: int
    trend_min_points: int
    trend_label_min_points: int
    significance_alpha: float
    multiple_testing: Literal["fdr_bh", "none"]
    benchmark_bootstrap: BootstrapModel


class ThemeModel(_Strict):
    nl: str
    en: str


class IndicatorModel(_Strict):
    code: str
    theme: str
    unit: str
    scale: Number
    decimals: int
    direction: Literal["higher", "lower", "context"]
    uncertainty: Literal["none", "t_mean", "wilson"]
    min_n: int
    name_nl: str
    name_en: str
    numerator: str
    denominator: str
    fields: list[str]
    #: for readers, in Dutch and English: what the figure means, the calculation in words, what to keep in mind
    #: when comparing (empty when nothing); no field codes (``numerator``/``denominator`` hold those)
    description_nl: str = Field(min_length=1)
    description_en: str = Field(min_length=1)
    formula_nl: str = Field(min_length=1)
    formula_en: str = Field(min_length=1)
    caveat_nl: str
    caveat_en: str
    missing: Literal["exclude_row", "zero", "missing_org"] | None = None
    min_coverage: float | None = None

    @model_validator(mode="after")
    def _caveat_in_both_languages(self) -> IndicatorModel:
        if bool(self.caveat_nl.strip()) != bool(self.caveat_en.strip()):
            raise ValueError("caveat_nl and caveat_en are both given or both empty")
        return self


class CoverageModel(_Strict):
    missing: Literal["exclude_row", "zero", "missing_org"]
    min_coverage: float


class DisclosureModel(_Strict):
    min_members: int
    band_min_members: int
    competing_fractions: float
    composite_score_decimals: int
    dea_score_decimals: int


class IndicatorsModel(_Strict):
    survey_rules: SurveyRulesModel
    comparison: ComparisonModel
    coverage: CoverageModel
    disclosure: DisclosureModel
    themes: dict[str, ThemeModel]
    indicators: list[IndicatorModel]


# ------------------------------------------------------------------ methods.yaml


class ImputationModel(_Strict):
    method: str
    group_column: str | None = None


class TreatmentModel(_Strict):
    method: str
    t_skew: float
    t_kurt: float
    winmax: int
    fallback: str | None = None


class NormalisationModel(_Strict):
    method: str
    range: tuple[Number, Number]


class AggregationModel(_Strict):
    method: str


class UncertaintyModel(_Strict):
    n_runs: int
    seed: int
    weight_noise: float


class SensitivityModel(_Strict):
    n_base: int
    seed: int


class CompositeModel(_Strict):
    exclude_indicators: list[str]
    imputation: ImputationModel
    treatment: TreatmentModel
    normalisation: NormalisationModel
    aggregation: AggregationModel
    min_coverage: float
    uncertainty: UncertaintyModel
    sensitivity: SensitivityModel


class DeaModelSpec(_Strict):
    code: str
    inputs: list[str]
    outputs: list[str]
    rts: Literal["crs", "vrs", "drs", "irs"]
    orientation: Literal["in", "out"]


class MinUnitsRuleModel(_Strict):
    per_variable: int
    product: bool


class DeaBootstrapModel(_Strict):
    n_boot: int
    alpha: float
    seed: int


class DeaModel(_Strict):
    models: list[DeaModelSpec]
    min_units_rule: MinUnitsRuleModel
    bootstrap: DeaBootstrapModel


class ComparatorVariableModel(_Strict):
    """One context variable of the similarity that forms default comparator groups (docs/comparators.md)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    #: ``field``: a field of the organisation sheet (``v_organisatie``); ``indicator``: an indicator's value;
    #: ``register``: a column of the organisation register (categorical only)
    source: Literal["field", "indicator", "register"]
    name: str = Field(min_length=1)
    kind: Literal["numeric", "categorical"] = "numeric"
    transform: Literal["none", "log"] = "none"
    weight: float = Field(gt=0)
    #: distance of two members whose categorical value differs, in standardised units
    mismatch: float = Field(default=2.0, gt=0)
    label_nl: str = Field(min_length=1)
    label_en: str = Field(min_length=1)

    @model_validator(mode="after")
    def _kind_fits(self) -> ComparatorVariableModel:
        if self.source == "register" and self.kind != "categorical":
            raise ValueError("a register column is a categorical variable (kind: categorical)")
        if self.kind == "categorical" and self.transform != "none":
            raise ValueError("a categorical variable has no transform")
        return self


class ComparatorsModel(_Strict):
    k: int = Field(ge=5, le=30)
    #: context averaged over this many years up to the year (years without a value left out)
    years: int = Field(ge=1, le=10)
    standardise: Literal["zscore", "robust"]
    #: last year's group is kept while its farthest member is within (1 + stability) x the distance of the
    #: member at the same place in this year's nearest list
    stability: float = Field(ge=0, le=1)
    variables: list[ComparatorVariableModel] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> ComparatorsModel:
        codes = [v.code for v in self.variables]
        if len(codes) != len(set(codes)):
            raise ValueError("every comparator variable needs its own code")
        return self


class MethodsModel(_Strict):
    composite: CompositeModel
    dea: DeaModel
    comparators: ComparatorsModel


# ------------------------------------------------------------------ pilots.yaml


class PilotWeightsModel(_Strict):
    gap_median: float
    gap_best_quartile: float
    persistence: float
    significance: float
    development_question: float
    efficiency: float


class PartnerWeightsModel(_Strict):
    same_cluster: float
    same_size_class: float
    significantly_better: float
    top_quartile_years: float
    dea_peer: float


class TeamWeightsModel(_Strict):
    fill: float = Field(gt=0)
    theme: float = Field(ge=0)
    partner: float = Field(ge=0)
    strong: float = Field(ge=0)


class TeamModel(_Strict):
    coaches: int = Field(ge=0, le=3)
    researchers_min: int = Field(ge=0, le=5)
    researchers_max: int = Field(ge=0, le=5)
    coach_days: int = Field(ge=0, le=220)
    researcher_days: int = Field(ge=0, le=220)
    max_org_share: float = Field(gt=0, le=1)
    one_per_organisation: bool
    weights: TeamWeightsModel

    @model_validator(mode="after")
    def _researchers(self) -> TeamModel:
        if self.researchers_max < self.researchers_min:
            raise ValueError("researchers_max must be at least researchers_min")
        return self


class PilotsModel(_Strict):
    min_bottom_years: int
    significant_qualifies: bool
    exclude_flags: list[str]
    gap_cap_iqr: float
    persistence_cap_years: int
    composite_credit: float
    composite_bottom_share: float
    efficiency_cap: float
    efficiency_themes: list[str]
    dea_models: list[str]
    weights: PilotWeightsModel
    min_top_years: int
    max_pilots_per_partner: int
    partner_weights: PartnerWeightsModel
    shortlist_size: int
    max_pilots_per_organisation: int | None
    min_years_before: int
    min_years_after: int
    ideal_years: int
    max_years_before: int
    min_controls: int
    cov_type: str
    confidence: float
    team: TeamModel


MODELS: dict[str, type[_Strict]] = {
    "submission.yaml": SubmissionModel,
    "indicators.yaml": IndicatorsModel,
    "methods.yaml": MethodsModel,
    "pilots.yaml": PilotsModel,
}


def _entry_name(data: Any, loc: tuple) -> str:
    """A readable place for a validation error: ``indicators[12] (bezwaar_per_1000).name_en``."""
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{step}]"]
            node = node[step] if isinstance(node, list) and step < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("code"), str):
                parts[-1] += f" ({node['code']})"
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return ".".join(parts) or "(top level)"


def validate(name: str, data: Any, source: str | None = None) -> Any:
    """Check ``data`` (the parsed YAML of metadata file ``name``) against its model; return it unchanged."""
    model = MODELS[name]
    try:
        model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = _entry_name(data, tuple(err["loc"]))
            if err["type"] == "extra_forbidden":
                key = str(err["loc"][-1])
                fragment = " " in key or not key[:1].isalpha()
                lines.append(
                    f"{where}: unknown key"
                    + (
                        " (it looks like the rest of a value that an unquoted comma or colon split off: quote the value)"
                        if fragment
                        else ""
                    )
                )
            elif err["type"] == "missing":
                lines.append(f"{where}: missing")
            else:
                lines.append(f"{where}: {err['msg']} (got {err.get('input')!r})")
        raise MetadataError(f"{source or name}: " + "; ".join(lines)) from None
    return data


def load(name: str, path: Path | None = None) -> Any:
    """Load and check a metadata file: the packaged one, or ``path``."""
    from pipeline.metadata.registry import load_yaml

    if path is None:
        text = resources.files("pipeline.metadata").joinpath(name).read_text("utf-8")
        source = f"pipeline/metadata/{name}"
    else:
        text = Path(path).read_text("utf-8")
        source = str(path)
    return validate(name, load_yaml(text), source)


#: the metadata files a workspace may override (``<root>/data/<name>``, merged over the packaged file)
WORKSPACE_OVERRIDES = ("methods.yaml",)


def workspace_file(root: Path | None, name: str) -> Path | None:
    """The workspace's override of a packaged metadata file, when it has one (``data/methods.yaml``)."""
    if root is None or name not in WORKSPACE_OVERRIDES:
        return None
    path = Path(root) / "data" / name
    return path if path.is_file() else None


def merge(base: Any, override: Any) -> Any:
    """``override`` over ``base``: mappings merged key by key, anything else (lists included) replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    return override


def load_for(name: str, root: Path | None) -> Any:
    """A metadata file as a workspace uses it: the packaged file with the workspace's ``data/<name>`` merged
    over it (only what the workspace file names changes), checked against the same model as the packaged file.
    An unknown key or a wrong value in the workspace file stops the load with that file and the entry named."""
    from pipeline.metadata.registry import load_yaml

    packaged = load(name)
    path = workspace_file(root, name)
    if path is None:
        return packaged
    try:
        override = load_yaml(path.read_text("utf-8"))
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a message, not a traceback
        raise MetadataError(f"{path}: not readable as YAML ({str(exc).splitlines()[0] if str(exc) else exc})") from None
    if override is None:
        return packaged
    if not isinstance(override, dict):
        raise MetadataError(f"{path}: expected a mapping such as 'comparators:' or 'composite:'")
    return validate(name, merge(packaged, override), str(path))


__all__ = ["MODELS", "WORKSPACE_OVERRIDES", "MetadataError", "load", "load_for", "merge", "validate", "workspace_file"]
