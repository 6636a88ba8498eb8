"""Report stage: HTML reports with Plotly charts, offline and self-contained, from the warehouse.

Entry point :func:`run` (``rbb report``). :mod:`.data` reads a year from the warehouse; :mod:`.disclosure` is
the only way figures about other members reach an organisation report; :mod:`.figures` builds the figures and
table models, :mod:`.sections` the context of each report section, :mod:`.pages` assembles and writes the pages;
:mod:`.text` holds the wording in both languages, :mod:`.render` the Jinja environment, :mod:`.feedback` the
validation feedback pages, :mod:`.downloads` the CSV and XLSX behind every table, :mod:`.pdf` the A4 prints
(``rbb report --pdf``) and :mod:`.export` the analyst downloads.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core.workspace import Workspace
from pipeline.report.data import MissingTables
from pipeline.report.pages import ReportWriteError, build_reports
from pipeline.report.pdf import ChromiumMissing, PdfError

__all__ = ["ChromiumMissing", "MissingTables", "PdfError", "ReportWriteError", "run"]


def run(
    ws: Workspace,
    year: int | None = None,
    org: str | None = None,
    lang: str = "nl",
    open_mode: bool = False,
    shared_assets: bool = False,
    release: str | None = None,
    pdf: bool = False,
) -> list[Path]:
    """Write the reports of one year into ``reports/<year>/``; returns the files written. With ``release`` every
    page is stamped with that release id (``rbb release``); with ``pdf`` every page is also printed to
    ``<name>.pdf`` beside it (:mod:`.pdf`)."""
    return build_reports(
        ws, year, org=org, lang=lang, open_mode=open_mode, shared_assets=shared_assets, release=release, pdf=pdf
    )
