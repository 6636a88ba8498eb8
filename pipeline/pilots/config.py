"""Settings of pilot selection and follow-up: ``metadata/pilots.yaml``, optionally overridden per workspace.

:func:`default_config` gives the packaged settings, :func:`load_config` merges ``<root>/data/pilots.yaml`` over
them key by key and :func:`check_config` rejects values that cannot be used, naming the setting. The names of
the scoring criteria (:data:`CRITERIA`, :data:`PARTNER_CRITERIA`) are defined here because the weights in the
settings are keyed by them.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline.metadata.models import validate as validate_metadata
from pipeline.metadata.registry import load_yaml

CRITERIA = ("gap_median", "gap_best_quartile", "persistence", "significance", "development_question", "efficiency")
PARTNER_CRITERIA = ("same_cluster", "same_size_class", "significantly_better", "top_quartile_years", "dea_peer")
COV_TYPES = ("HC1",)  # standard error shown beside the estimate; significance comes from permutation


@lru_cache(maxsize=1)
def _default_config_text() -> str:
    return resources.files("pipeline.metadata").joinpath("pilots.yaml").read_text("utf-8")


def default_config() -> dict[str, Any]:
    """The packaged settings of ``metadata/pilots.yaml`` (a fresh copy on every call)."""
    return validate_metadata("pilots.yaml", load_yaml(_default_config_text()), "pipeline/metadata/pilots.yaml")


def load_config(root: str | Path | None = None) -> dict[str, Any]:
    """Packaged settings, overridden key by key by ``<root>/data/pilots.yaml`` when it exists."""
    cfg = default_config()
    if root is not None:
        path = Path(root) / "data" / "pilots.yaml"
        if path.exists():
            override = load_yaml(path.read_text("utf-8")) or {}
            if not isinstance(override, dict):
                raise ValueError(f"{path}: expected a mapping of settings, e.g. 'shortlist_size: 8'")
            unknown = sorted(set(override) - set(cfg))
            if unknown:
                raise ValueError(
                    f"{path}: unknown setting(s) {', '.join(unknown)}; known settings: {', '.join(sorted(cfg))}"
                )
            for key, value in override.items():
                if isinstance(cfg[key], dict) and isinstance(value, dict):
                    merged = {**cfg[key], **value}
                    for sub, inner in value.items():  # e.g. team.weights: key by key as well
                        if isinstance(cfg[key].get(sub), dict) and isinstance(inner, dict):
                            merged[sub] = {**cfg[key][sub], **inner}
                    cfg[key] = merged
                else:
                    cfg[key] = value
            check_config(cfg, source=str(path))
    return cfg


def check_config(cfg: Mapping[str, Any], source: str = "pilots.yaml") -> None:
    """Raise ValueError naming the setting when a value cannot be used."""
    for group, names in (("weights", CRITERIA), ("partner_weights", PARTNER_CRITERIA)):
        unknown = sorted(set(cfg[group]) - set(names))
        if unknown:
            raise ValueError(f"{source}: unknown {group} {', '.join(unknown)}; expected {', '.join(names)}")
        for name, w in cfg[group].items():
            if not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0:
                raise ValueError(f"{source}: {group}.{name} must be a number >= 0, not {w!r}")
    for name in (
        "min_bottom_years",
        "min_top_years",
        "max_pilots_per_partner",
        "shortlist_size",
        "persistence_cap_years",
        "min_years_before",
        "min_years_after",
        "ideal_years",
        "max_years_before",
        "min_controls",
    ):
        v = cfg[name]
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{source}: {name} must be a whole number >= 1, not {v!r}")
    v = cfg["max_pilots_per_organisation"]
    if v is not None and (not isinstance(v, int) or v < 1):
        raise ValueError(f"{source}: max_pilots_per_organisation must be a whole number >= 1 or null, not {v!r}")
    for name in ("gap_cap_iqr", "efficiency_cap"):
        if not isinstance(cfg[name], (int, float)) or cfg[name] <= 0:
            raise ValueError(f"{source}: {name} must be a number > 0, not {cfg[name]!r}")
    if cfg["cov_type"] == "cluster":
        raise ValueError(
            f"{source}: cov_type 'cluster' is no longer available: a pilot has one treated "
            "organisation, and cluster-robust standard errors with one treated cluster are far too "
            "small (Conley & Taber 2011; MacKinnon & Webb 2017). Use cov_type: HC1; the verdict "
            "comes from randomisation inference over the comparable members (docs/pilots.md)"
        )
    if cfg["cov_type"] not in COV_TYPES:
        raise ValueError(f"{source}: cov_type must be one of {', '.join(COV_TYPES)}, not {cfg['cov_type']!r}")
    try:
        validate_metadata("pilots.yaml", dict(cfg), source)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    if not 0 < float(cfg["confidence"]) < 1:
        raise ValueError(f"{source}: confidence must lie between 0 and 1, not {cfg['confidence']!r}")
