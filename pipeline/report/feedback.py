"""Validation feedback per submission: ``reports/<year>/validation/<ORG>_v<version>.html``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.core.findings import cell_text
from pipeline.core.parallel import forked_map
from pipeline.core.warehouse import table_exists
from pipeline.core.workspace import atomic_write_text
from pipeline.metadata.registry import registry
from pipeline.report.downloads import table_downloads
from pipeline.report.figures import num
from pipeline.report.render import render
from pipeline.validate.review import STATUS_LABELS, finding_id, warnings_frame

SEVERITY = {
    "nl": {"error": "Fout", "warning": "Waarschuwing", "info": "Informatie"},
    "en": {"error": "Error", "warning": "Warning", "info": "Information"},
}
STATUS = {
    "nl": {
        "accepted": "Geaccepteerd",
        "accepted_with_warnings": "Geaccepteerd, met open waarschuwingen",
        "rejected": "Afgewezen",
        "superseded": "Vervangen door een nieuwere versie",
    },
    "en": {
        "accepted": "Accepted",
        "accepted_with_warnings": "Accepted, with open warnings",
        "rejected": "Rejected",
        "superseded": "Superseded by a newer version",
    },
}


def feedback_path(reports: Path, year: int, org_code: str, version: int, lang: str = "nl") -> Path:
    suffix = "" if lang == "nl" else f".{lang}"
    return reports / str(year) / "validation" / f"{org_code}_v{version}{suffix}.html"


@dataclass(frozen=True)
class FeedbackInputs:
    """What a submission's feedback page shows, read from the warehouse once for all its languages."""

    sub: dict
    findings: list[dict]
    org_name: str | None
    reviews: dict  # see :func:`review_rows`


def feedback_inputs(con: duckdb.DuckDBPyConnection, submission_id: int) -> FeedbackInputs:
    cur = con.execute("SELECT * FROM submissions WHERE submission_id = ?", [submission_id])
    cols = [d[0] for d in cur.description]
    sub = dict(zip(cols, cur.fetchone()))
    cur = con.execute("SELECT * FROM findings WHERE submission_id = ? ORDER BY seq", [submission_id])
    fcols = [d[0] for d in cur.description]
    findings = [dict(zip(fcols, r)) for r in cur.fetchall()]
    org = con.execute("SELECT name FROM organisations WHERE org_code = ?", [sub["org_code"]]).fetchone()
    reviews = review_rows(con, sub, has_warnings=any(f["severity"] == "warning" for f in findings))
    return FeedbackInputs(sub, findings, org[0] if org else None, reviews)


def render_feedback(
    con: duckdb.DuckDBPyConnection | None, submission_id: int, lang: str = "nl", inputs: FeedbackInputs | None = None
) -> str:
    """A submission's feedback page in ``lang``; ``inputs`` (:func:`feedback_inputs`) when already read."""
    inputs = inputs or feedback_inputs(con, submission_id)
    sub = inputs.sub
    findings = [dict(f) for f in inputs.findings]  # this language's cell texts and reviews are added below
    reviewed = review_labels(inputs.reviews, lang)
    csv = sub.get("fmt") == "csv"  # a CSV delivery: its sheets are files (producten.csv), named as such
    for f in findings:
        f["finding_id"] = finding_id(sub["org_code"], sub["year"], sub["version"], f["seq"])
        f["review"] = reviewed["by_seq"].get(f["seq"])
        f["cell"] = cell_text(f["cell"], lang)
    reg = registry()
    order = {"error": 0, "warning": 1, "info": 2}
    groups: dict[str, list[dict]] = {}
    for f in findings:
        if f["sheet"]:
            s = reg.sheet(f["sheet"])
            if csv:
                title = f"{'Bestand' if lang == 'nl' else 'File'} {s.code}.csv"
            else:  # the sheet's name in the workbook, also in English
                title = f"{'Blad' if lang == 'nl' else 'Sheet'} {s.name_nl}"
        else:
            title = "Bestand" if lang == "nl" else "File"
        groups.setdefault(title, []).append(f)
    ordered = sorted(groups.items(), key=lambda kv: (min(order[f["severity"]] for f in kv[1]), kv[0]))
    nl = lang == "nl"
    status_text = STATUS[lang].get(sub["status"], sub["status"])
    if sub["status"] == "rejected":
        advice = (
            "Uw levering is afgewezen. Herstel de fouten hieronder en lever het bestand opnieuw aan; "
            "tot dan blijft een eerder geaccepteerde versie van kracht."
            if nl
            else "Your submission was rejected. Fix the errors below and deliver the file again; until then an "
            "earlier accepted version stays in force."
        )
    elif sub["n_warnings"] > sub["n_warnings_explained"]:
        advice = (
            "Uw levering is geaccepteerd. Er zijn waarschuwingen zonder toelichting: controleer de waarden en "
            f"geef een toelichting {'in bestand toelichting.csv' if csv else 'op blad Toelichting'}."
            if nl
            else "Your submission was accepted. Some warnings have no explanation: check the values and explain "
            f"them {'in file toelichting.csv' if csv else 'on sheet Toelichting'}."
        )
    else:
        advice = "Uw levering is geaccepteerd." if nl else "Your submission was accepted."
    title = (
        f"Terugkoppeling aanlevering {sub['org_code']} {sub['year']}"
        if nl
        else f"Submission feedback {sub['org_code']} {sub['year']}"
    )
    labels = SEVERITY[lang]
    downloads = _downloads(sub, inputs.org_name, status_text, ordered, reviewed, labels, lang)
    return render(
        "feedback.html",
        lang=lang,
        title=title,
        subtitle="Rijksbrede Benchmarkgroep — validatie van de aanlevering"
        if nl
        else "Rijksbrede Benchmarkgroep — submission validation",
        confidential="Vertrouwelijk" if nl else "Confidential",
        sub=sub,
        org_name=inputs.org_name,
        status_text=status_text,
        groups=[{"title": t, "findings": items, "downloads": d} for (t, items), d in zip(ordered, downloads["groups"])],
        severity_labels=labels,
        downloads=downloads,
        advice=advice,
        returned=reviewed["earlier_returned"],
    )


def _downloads(
    sub: dict, org_name: str | None, status_text: str, groups: list, reviewed: dict, labels: dict, lang: str
) -> dict:
    """The CSV and XLSX behind each table of the feedback page, with the same rows as the table."""
    nl = lang == "nl"
    stem = f"{sub['org_code']}_{sub['year']}_v{sub['version']}"
    summary = [  # the rows of the page's summary table
        ["Organisatie" if nl else "Organisation", sub["org_code"] + (f" — {org_name}" if org_name else "")],
        ["Verslagjaar" if nl else "Year", num(sub["year"])],
        ["Bestand" if nl else "File", f"{sub['original_name']} ({'versie' if nl else 'version'} {sub['version']})"],
        ["Ontvangen" if nl else "Received", str(sub["received_at"])],
        ["SHA-256", sub["sha256"]],
        ["Status", status_text],
        [
            "Bevindingen" if nl else "Findings",
            f"{sub['n_errors']} {'fouten' if nl else 'errors'}, {sub['n_warnings']} "
            f"{'waarschuwingen' if nl else 'warnings'} ({sub['n_warnings_explained']} {'toegelicht' if nl else 'explained'})",
        ],
    ]
    out = {
        "summary": table_downloads(
            ["Gegeven" if nl else "Item", "Waarde" if nl else "Value"],
            summary,
            f"{stem}_samenvatting" if nl else f"{stem}_summary",
            lang,
            "Samenvatting" if nl else "Summary",
        ),
        "returned": None,
        "groups": [],
    }
    if reviewed["earlier_returned"]:
        out["returned"] = table_downloads(
            [
                "Bevinding" if nl else "Finding",
                "Veld" if nl else "Field",
                "Uw toelichting" if nl else "Your explanation",
            ]
            + ["Reactie van de analist" if nl else "The analyst's note"],
            [[r["finding_id"], r["field"], r["explanation"], r["note"]] for r in reviewed["earlier_returned"]],
            f"{stem}_teruggestuurd" if nl else f"{stem}_returned",
            lang,
            "Teruggestuurde toelichtingen" if nl else "Explanations returned",
        )
    header = ["Ernst" if nl else "Severity", "Toegelicht" if nl else "Explained", "Cel" if nl else "Cell"]
    header += [
        "Veld" if nl else "Field",
        "Gevonden waarde" if nl else "Value found",
        "Wat te doen" if nl else "What to do",
    ]
    header += ["Uw toelichting" if nl else "Your explanation", "Bevinding" if nl else "Finding"]
    header += ["Beoordeling" if nl else "Review", "Notitie analist" if nl else "Analyst's note"]
    for i, (title, findings) in enumerate(groups, start=1):
        rows = [
            [
                labels[f["severity"]],
                ("ja" if nl else "yes") if f["explained"] else ("nee" if nl else "no"),
                f["cell"],
                f["field"],
                f["value"],
                f["message_nl"] if nl else f["message_en"],
                f["explanation"] if f["explained"] else None,
                f["finding_id"] if f["review"] else None,
                f["review"]["label"] if f["review"] else None,
                f["review"]["note"] if f["review"] else None,
            ]
            for f in findings
        ]
        out["groups"].append(
            table_downloads(header, rows, f"{stem}_bevindingen_{i}" if nl else f"{stem}_findings_{i}", lang, title)
        )
    return out


def review_state(con: duckdb.DuckDBPyConnection, sub: dict, lang: str, has_warnings: bool = True) -> dict:
    """The analyst's review of this submission's warnings (status and note per finding), and the explanations
    returned on earlier versions of the same year (shown on the next feedback page). ``has_warnings`` False:
    the submission has no warning to review (its statuses are not looked up)."""
    return review_labels(review_rows(con, sub, has_warnings), lang)


def review_labels(rows: dict, lang: str) -> dict:
    """:func:`review_rows` with each status's label in ``lang``."""
    i = 0 if lang == "nl" else 1
    by_seq = {
        seq: {"status": status, "label": STATUS_LABELS[status][i], "note": note}
        for seq, (status, note) in rows["by_seq"].items()
    }
    return {"by_seq": by_seq, "earlier_returned": rows["earlier_returned"]}


def review_rows(con: duckdb.DuckDBPyConnection, sub: dict, has_warnings: bool = True) -> dict:
    """The review data of :func:`review_state` without the language: seq -> (status, note) and the earlier
    returned explanations."""
    by_seq = {}
    if sub["in_force"] and has_warnings:
        for r in warnings_frame(con, submission_ids=[int(sub["submission_id"])]).itertuples():
            by_seq[int(r.seq)] = (r.status, r.review_note if isinstance(r.review_note, str) else None)
    earlier = []
    if table_exists(con, "reviews"):
        rows = con.execute(
            """SELECT r.version, r.seq, r.note, f.field, f.cell, f.explanation FROM reviews r
               JOIN findings f ON f.submission_id = r.submission_id AND f.seq = r.seq
               WHERE r.org_code = ? AND r.year = ? AND r.decision = 'returned' AND r.submission_id <> ?
               ORDER BY r.review_id""",
            [sub["org_code"], sub["year"], sub["submission_id"]],
        ).fetchall()
        for version, seq, note, fld, cell, explanation in rows:
            earlier.append(
                {
                    "finding_id": finding_id(sub["org_code"], sub["year"], version, seq),
                    "version": version,
                    "field": fld,
                    "cell": cell,
                    "explanation": explanation,
                    "note": note,
                }
            )
    return {"by_seq": by_seq, "earlier_returned": earlier}


def write_feedback(
    con: duckdb.DuckDBPyConnection,
    reports: Path,
    submission_ids: list[int] | None = None,
    langs: tuple[str, ...] = ("nl",),
    close: bool = False,
) -> list[Path]:
    """Write the feedback pages of ``submission_ids`` (default: all) in ``langs``; returns their paths. With
    ``close`` the connection is closed once the pages' data is read and the pages are rendered one per core."""
    if submission_ids is None:
        submission_ids = [r[0] for r in con.execute("SELECT submission_id FROM submissions ORDER BY 1").fetchall()]
    jobs = [(inputs, lang) for inputs in (feedback_inputs(con, sid) for sid in submission_ids) for lang in langs]
    if close:
        con.close()  # DuckDB's threads end here: the pages can be rendered in forked processes

    def one(job: tuple[FeedbackInputs, str]) -> Path:
        return write_feedback_page(reports, *job)

    return forked_map(one, jobs) if close else [one(j) for j in jobs]


def write_feedback_page(reports: Path, inputs: FeedbackInputs, lang: str) -> Path:
    """Write one feedback page from its data (:func:`feedback_inputs`); returns its path."""
    sub = inputs.sub
    path = feedback_path(reports, sub["year"], sub["org_code"], sub["version"], lang)
    atomic_write_text(path, render_feedback(None, sub["submission_id"], lang, inputs))
    return path


def write_pending(ws, submission_ids: list[int]) -> list[Path]:
    """Feedback pages (Dutch and English) for the given new submissions, and for any submission whose page is
    missing (an earlier run that stopped before writing it)."""
    from pipeline.core import warehouse

    con = warehouse.connect(ws.db_path)
    try:
        todo = set(submission_ids)
        for sid, org, y, version in con.execute(
            "SELECT submission_id, org_code, year, version FROM submissions"
        ).fetchall():
            if not all(feedback_path(ws.reports, y, org, version, lang).exists() for lang in ("nl", "en")):
                todo.add(sid)
        return write_feedback(con, ws.reports, sorted(todo), langs=("nl", "en"), close=True) if todo else []
    finally:
        con.close()
