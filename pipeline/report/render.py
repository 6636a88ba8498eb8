"""Shared rendering: the Jinja2 environment, number formats (nl-NL and en) and the page look."""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources

import jinja2
from markupsafe import Markup

from pipeline.report.visible import visible

CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'none'; form-action 'none'; base-uri 'none'"
)


def fmt_number(value: object, decimals: int = 1, lang: str = "nl", unit: str = "") -> str:
    """7,4 and 1.234 in Dutch; 7.4 and 1,234 in English; an em dash for a missing value."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "—"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    text = f"{x:,.{decimals}f}"
    if lang != "en":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    if unit == "%":
        return text + ("%" if lang == "en" else "%")
    return f"{text} {unit}".strip() if unit else text


def fmt_int(value: object, lang: str = "nl") -> str:
    return fmt_number(value, 0, lang)


def _finalize(value: object) -> object:
    """Every ``{{ }}`` output: hidden and direction-changing characters are shown as ``<U+XXXX>``."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
    )
    env.filters["num"] = fmt_number
    env.filters["int"] = fmt_int
    env.globals["CSP"] = CSP
    return env


def stylesheet() -> str:
    return resources.files("pipeline.report").joinpath("static/report.css").read_text("utf-8")


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(css=stylesheet(), **context)
