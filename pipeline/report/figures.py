"""Figures and tables for the reports: plain values in, Plotly figure dicts and table models out (no I/O).

The chart functions build figure dicts; :func:`to_div` embeds one in a page. :func:`table` is the model of a
data table with its CSV download (:func:`csv_data_uri`), :func:`block` the model of a figure with its caption,
tables and notes, as the templates render them.

Every figure uses the Okabe–Ito colour-blind-safe palette, Dutch or English number separators and a
compact layout without Plotly's default template, so the embedded JSON stays small and deterministic.
Text that comes from the warehouse (organisation names) is entity-escaped before it goes into a figure:
Plotly renders a few HTML-like tags in labels, and a name must always be shown as plain text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from markupsafe import Markup
from plotly.io.json import to_json_plotly

from pipeline.report.visible import visible

Figure = dict[str, Any]

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
OWN = OKABE_ITO["blue"]
MEDIAN = OKABE_ITO["black"]
CLUSTER = OKABE_ITO["orange"]
PEER = "#767676"
BAND = "rgba(86,180,233,0.35)"
CLUSTER_BAND = "rgba(230,159,0,0.30)"
GRID = "#e3e3e3"
CLUSTER_COLOURS = [OKABE_ITO[c] for c in ("blue", "orange", "green", "purple", "vermillion")]
QUARTILE_COLOURS = {1: OKABE_ITO["blue"], 2: OKABE_ITO["sky"], 3: OKABE_ITO["orange"], 4: OKABE_ITO["vermillion"]}
STATE_COLOURS = {
    "accepted": OKABE_ITO["green"],
    "accepted_with_warnings": OKABE_ITO["orange"],
    "rejected": OKABE_ITO["vermillion"],
    "missing": "#9a9a9a",
}

CONFIG = {
    "showSendToCloud": False,
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}

TEXT = {
    "nl": {
        "all": "Alle leden",
        "own": "Uw organisatie",
        "median": "Mediaan alle leden",
        "band": "Middelste helft alle leden",
        "cluster_median": "Mediaan cluster",
        "cluster_band": "Middelste helft cluster",
        "members": "Leden (anoniem)",
        "year": "Jaar",
        "ci": "95%-betrouwbaarheidsinterval",
        "percentile": "Percentiel (100 = beste)",
        "theme_mean": "Gemiddeld percentiel thema",
        "quartile": "Kwartiel",
        "best": "beste",
        "worst": "minste",
        "rank": "Positie (1 = beste)",
        "rank_interval": "Rangorde-interval (5%–95%)",
        "median_rank": "Mediane positie",
        "nominal_rank": "Positie in de index",
        "completeness": "Indicatoren met een waarde (%)",
        "relative": "Clustermediaan als % van de mediaan van alle leden",
        "value": "Waarde",
        "states": {
            "accepted": "Geaccepteerd",
            "accepted_with_warnings": "Open waarschuwingen",
            "rejected": "Afgewezen",
            "missing": "Niet aangeleverd",
        },
    },
    "en": {
        "all": "All members",
        "own": "Your organisation",
        "median": "Median of all members",
        "band": "Middle half of all members",
        "cluster_median": "Cluster median",
        "cluster_band": "Middle half of cluster",
        "members": "Members (anonymous)",
        "year": "Year",
        "ci": "95% confidence interval",
        "percentile": "Percentile (100 = best)",
        "theme_mean": "Theme mean percentile",
        "quartile": "Quartile",
        "best": "best",
        "worst": "worst",
        "rank": "Position (1 = best)",
        "rank_interval": "Rank interval (5%–95%)",
        "median_rank": "Median position",
        "nominal_rank": "Position in the index",
        "completeness": "Indicators with a value (%)",
        "relative": "Cluster median as % of the median of all members",
        "value": "Value",
        "states": {
            "accepted": "Accepted",
            "accepted_with_warnings": "Open warnings",
            "rejected": "Rejected",
            "missing": "Not submitted",
        },
    },
}


def plain(text: object) -> str:
    """Entity-escape text for Plotly labels so names never turn into markup; hidden and direction-changing
    characters are written out as ``<U+XXXX>``."""
    return html.escape(visible(text), quote=False)


def value_format(decimals: int) -> str:
    """d3 format with thousands grouping; the separators come from the layout."""
    return f",.{max(0, int(decimals))}f"


def _axis(**extra: Any) -> dict[str, Any]:
    axis = {
        "automargin": True,
        "gridcolor": GRID,
        "zeroline": False,
        "linecolor": "#767676",
        "ticks": "outside",
        "showline": True,
    }
    axis.update(extra)
    return axis


def _layout(lang: str, height: int, **extra: Any) -> dict[str, Any]:
    layout = {
        "height": height,
        "separators": ",." if lang == "nl" else ".,",
        "font": {"family": "Liberation Sans, Arial, Helvetica, sans-serif", "size": 13, "color": "#1b1b1b"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        "hoverlabel": {"bgcolor": "#ffffff", "font": {"color": "#1b1b1b"}},
    }
    layout.update(extra)
    # the toolbar stands upright in the right margin, so it never covers the legend or the plot
    layout["modebar"] = {"orientation": "v"}
    layout["margin"] = {**layout["margin"], "r": max(int(layout["margin"].get("r", 0)), 40)}
    return layout


def _band_shape(
    x0: float, x1: float, y0: float, y1: float, colour: str, name: str, xref: str = "x", yref: str = "y"
) -> dict[str, Any]:
    return {
        "type": "rect",
        "xref": xref,
        "yref": yref,
        "x0": x0,
        "x1": x1,
        "y0": y0,
        "y1": y1,
        "fillcolor": colour,
        "line": {"width": 0},
        "layer": "below",
        "showlegend": True,
        "name": name,
    }


def _line_shape(
    x: float,
    y0: float,
    y1: float,
    colour: str,
    name: str | None,
    xref: str = "x",
    yref: str = "y",
    dash: str = "solid",
    width: int = 3,
) -> dict[str, Any]:
    shape = {
        "type": "line",
        "xref": xref,
        "yref": yref,
        "x0": x,
        "x1": x,
        "y0": y0,
        "y1": y1,
        "line": {"color": colour, "width": width, "dash": dash},
    }
    if name:
        shape.update(showlegend=True, name=name)
    return shape


def _trend_traces(trend: Sequence[dict[str, Any]], fmt: str, t: dict[str, Any], axis: str = "2") -> list[dict]:
    """Median line and p25–p75 band over the years (all members)."""
    years = [r["year"] for r in trend]
    xa, ya = f"x{axis}", f"y{axis}"
    return [
        {
            "type": "scatter",
            "x": years,
            "y": [r["p25"] for r in trend],
            "mode": "lines",
            "line": {"width": 0},
            "xaxis": xa,
            "yaxis": ya,
            "showlegend": False,
            "hoverinfo": "skip",
            "connectgaps": False,
        },
        {
            "type": "scatter",
            "x": years,
            "y": [r["p75"] for r in trend],
            "mode": "lines",
            "line": {"width": 0},
            "fill": "tonexty",
            "fillcolor": BAND,
            "xaxis": xa,
            "yaxis": ya,
            "name": t["band"],
            "hoverinfo": "skip",
            "showlegend": False,
            "connectgaps": False,
        },
        {
            "type": "scatter",
            "x": years,
            "y": [r["median"] for r in trend],
            "mode": "lines+markers",
            "line": {"color": MEDIAN, "dash": "dash", "width": 2},
            "marker": {"color": MEDIAN, "size": 6},
            "xaxis": xa,
            "yaxis": ya,
            "name": t["median"],
            "showlegend": False,
            "hovertemplate": f"{plain(t['median'])} %{{x}}: %{{y:{fmt}}}<extra></extra>",
        },
    ]


def indicator_overview(
    points: Sequence[dict[str, Any]],
    stats: dict[str, Any] | None,
    trend: Sequence[dict[str, Any]],
    clusters: Sequence[tuple[str, str]],
    decimals: int,
    unit_label: str,
    lang: str,
) -> Figure:
    """Analyst view of one indicator: every member by name (left) and the median with band over the years (right).

    ``points``: dicts with label (short name), name, value, ci_low, ci_high, cluster; already sorted best first.
    ``clusters``: (code, label) pairs in legend order.
    """
    t = TEXT[lang]
    fmt = value_format(decimals)
    order = [p["label"] for p in points]
    data: list[dict[str, Any]] = []
    for i, (code, label) in enumerate(clusters):
        mine = [p for p in points if p["cluster"] == code]
        if not mine:
            continue
        trace: dict[str, Any] = {
            "type": "scatter",
            "mode": "markers",
            "name": plain(label),
            "x": [p["value"] for p in mine],
            "y": [plain(p["label"]) for p in mine],
            "hovertext": [plain(p["name"]) for p in mine],
            "hovertemplate": f"%{{hovertext}}<br>%{{x:{fmt}}}<extra></extra>",
            "marker": {
                "color": CLUSTER_COLOURS[i % len(CLUSTER_COLOURS)],
                "size": 9,
                "line": {"color": "#ffffff", "width": 1},
            },
        }
        if any(p["ci_low"] is not None for p in mine):
            trace["error_x"] = {
                "type": "data",
                "symmetric": False,
                "color": "#555555",
                "thickness": 1,
                "array": [None if p["ci_high"] is None else p["ci_high"] - p["value"] for p in mine],
                "arrayminus": [None if p["ci_low"] is None else p["value"] - p["ci_low"] for p in mine],
            }
        data.append(trace)
    data.extend(_trend_traces(trend, fmt, t))
    shapes = []
    if stats:
        shapes.append(_band_shape(stats["p25"], stats["p75"], 0, 1, BAND, t["band"], yref="y domain"))
        shapes.append(_line_shape(stats["median"], 0, 1, MEDIAN, t["median"], yref="y domain", dash="dash", width=2))
    height = max(320, 17 * len(points) + 130)
    return {
        "data": data,
        "layout": _layout(
            lang,
            height,
            shapes=shapes,
            xaxis=_axis(domain=[0, 0.56], title={"text": plain(unit_label)}, tickformat=fmt),
            yaxis=_axis(
                type="category",
                categoryorder="array",
                categoryarray=[plain(o) for o in reversed(order)],
                tickmode="array",
                tickvals=[plain(o) for o in order],
                tickfont={"size": 11},
                ticks="",
                showgrid=True,
            ),
            xaxis2=_axis(domain=[0.66, 1], anchor="y2", title={"text": t["year"]}, tickformat="d", dtick=1),
            yaxis2=_axis(anchor="x2", tickformat=fmt, title={"text": plain(unit_label)}),
        ),
    }


def indicator_position(
    own: dict[str, Any] | None,
    peers: Sequence[float],
    stats: dict[str, Any] | None,
    cluster: dict[str, Any] | None,
    own_trend: Sequence[dict[str, Any]],
    trend: Sequence[dict[str, Any]],
    cluster_trend: Sequence[dict[str, Any]],
    decimals: int,
    unit_label: str,
    lang: str,
    cluster_label: str = "",
    peer_names: Sequence[str] | None = None,
    own_note: str | None = None,
) -> Figure:
    """One organisation against the benchmark: position this year (left) and trend (right).

    ``peers`` are the values of all members (including the organisation itself) as ``disclosure.MemberView.peers``
    hands them out: rounded to display precision and sorted by value, so their order reveals nothing. They are
    drawn without labels or hover text unless ``peer_names`` is given (open mode). ``stats``, ``cluster``,
    ``trend`` and ``cluster_trend`` hold only published statistics (a missing p25/p75 leaves the band out).
    ``own_note`` is a second line under the label of the organisation's own row ("no data for 2025").
    """
    t = TEXT[lang]
    fmt = value_format(decimals)
    rows = {"all": 2, "cluster": 1, "own": 0}
    data: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    ticks = [(rows["all"], t["all"])]
    if peers:
        jitter = [((i % 5) - 2) * 0.07 for i in range(len(peers))]
        trace: dict[str, Any] = {
            "type": "scatter",
            "mode": "markers",
            "name": t["members"],
            "x": list(peers),
            "y": [rows["all"] + j for j in jitter],
            "marker": {"color": PEER, "size": 8, "opacity": 0.75, "symbol": "circle-open", "line": {"width": 1.5}},
            "hoverinfo": "skip",
            "legendgroup": "peers",
        }
        if peer_names is not None:
            trace.pop("hoverinfo")
            trace["hovertext"] = [plain(n) for n in peer_names]
            trace["hovertemplate"] = f"%{{hovertext}}<br>%{{x:{fmt}}}<extra></extra>"
        data.append(trace)
    if stats:
        if stats.get("p25") is not None and stats.get("p75") is not None:
            shapes.append(
                _band_shape(stats["p25"], stats["p75"], rows["all"] - 0.32, rows["all"] + 0.32, BAND, t["band"])
            )
        shapes.append(
            _line_shape(
                stats["median"], rows["all"] - 0.38, rows["all"] + 0.38, MEDIAN, t["median"], dash="dash", width=2
            )
        )
    if cluster:
        ticks.append((rows["cluster"], cluster_label or t["cluster_median"]))
        if cluster.get("p25") is not None and cluster.get("p75") is not None:
            shapes.append(
                _band_shape(
                    cluster["p25"],
                    cluster["p75"],
                    rows["cluster"] - 0.32,
                    rows["cluster"] + 0.32,
                    CLUSTER_BAND,
                    t["cluster_band"],
                )
            )
        shapes.append(
            _line_shape(
                cluster["median"], rows["cluster"] - 0.38, rows["cluster"] + 0.38, CLUSTER, None, dash="dot", width=3
            )
        )
    ticks.append((rows["own"], t["own"]))
    if own and own.get("value") is not None:
        marker = {
            "type": "scatter",
            "mode": "markers",
            "name": t["own"],
            "x": [own["value"]],
            "y": [rows["own"]],
            "marker": {"color": OWN, "size": 14, "symbol": "diamond", "line": {"color": "#ffffff", "width": 1}},
            "hovertemplate": f"{plain(t['own'])}: %{{x:{fmt}}}<extra></extra>",
        }
        if own.get("ci_low") is not None and own.get("ci_high") is not None:
            marker["error_x"] = {
                "type": "data",
                "symmetric": False,
                "color": OWN,
                "thickness": 2,
                "array": [own["ci_high"] - own["value"]],
                "arrayminus": [own["value"] - own["ci_low"]],
            }
        data.append(marker)
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [own["value"]],
                "y": [rows["all"]],
                "marker": {"color": OWN, "size": 12, "symbol": "diamond"},
                "showlegend": False,
                "hoverinfo": "skip",
            }
        )
    data.extend(_trend_traces(trend, fmt, t))
    if any(r.get("median") is not None for r in cluster_trend):
        data.append(
            {
                "type": "scatter",
                "x": [r["year"] for r in cluster_trend],
                "y": [r.get("median") for r in cluster_trend],
                "mode": "lines+markers",
                "connectgaps": False,
                "line": {"color": CLUSTER, "width": 2, "dash": "dot"},
                "marker": {"color": CLUSTER, "size": 6},
                "xaxis": "x2",
                "yaxis": "y2",
                "name": t["cluster_median"],
                "hovertemplate": f"{plain(t['cluster_median'])} %{{x}}: %{{y:{fmt}}}<extra></extra>",
            }
        )
    if own_trend:
        line: dict[str, Any] = {
            "type": "scatter",
            "x": [r["year"] for r in own_trend],
            "y": [r["value"] for r in own_trend],
            "mode": "lines+markers",
            "connectgaps": False,
            "line": {"color": OWN, "width": 3},
            "marker": {"color": OWN, "size": 9, "symbol": "diamond"},
            "xaxis": "x2",
            "yaxis": "y2",
            "showlegend": False,
            "hovertemplate": f"{plain(t['own'])} %{{x}}: %{{y:{fmt}}}<extra></extra>",
        }
        if any(r.get("lineage") for r in own_trend):
            # years made up of the member's predecessors (a merger or rename): open markers on the same line
            line["marker"]["symbol"] = ["diamond-open" if r.get("lineage") else "diamond" for r in own_trend]
            line["hovertext"] = [
                plain(str(r["lineage"]).replace(";", " + ")) if r.get("lineage") else plain(t["own"]) for r in own_trend
            ]
            line["hovertemplate"] = f"%{{hovertext}} %{{x}}: %{{y:{fmt}}}<extra></extra>"
        if any(r.get("ci_low") is not None for r in own_trend):
            line["error_y"] = {
                "type": "data",
                "symmetric": False,
                "color": OWN,
                "thickness": 1.5,
                "array": [
                    None if r.get("ci_high") is None or r["value"] is None else r["ci_high"] - r["value"]
                    for r in own_trend
                ],
                "arrayminus": [
                    None if r.get("ci_low") is None or r["value"] is None else r["value"] - r["ci_low"]
                    for r in own_trend
                ],
            }
        data.append(line)
    tickvals, ticktext = zip(*ticks, strict=True)
    return {
        "data": data,
        "layout": _layout(
            lang,
            330,
            shapes=shapes,
            xaxis=_axis(domain=[0, 0.56], title={"text": plain(unit_label)}, tickformat=fmt),
            yaxis=_axis(
                range=[-0.6, 2.6],
                tickvals=list(tickvals),
                ticktext=[plain(x) for x in ticktext[:-1]]
                + [plain(ticktext[-1]) + (f"<br>({plain(own_note)})" if own_note else "")],
                ticks="",
                showgrid=False,
                fixedrange=True,
            ),
            xaxis2=_axis(domain=[0.66, 1], anchor="y2", title={"text": t["year"]}, tickformat="d", dtick=1),
            yaxis2=_axis(anchor="x2", tickformat=fmt, title={"text": plain(unit_label)}),
        ),
    }


def quartile_heatmap(
    org_labels: Sequence[str],
    org_names: Sequence[str],
    indicator_labels: Sequence[str],
    indicator_names: Sequence[str],
    quartiles: Sequence[Sequence[int | None]],
    values: Sequence[Sequence[str]],
    lang: str,
) -> Figure:
    """Indicators (rows, by name) × organisations (columns, by abbreviation), coloured by quartile (1 = best);
    the quartile number is printed in each cell. ``quartiles`` and ``values`` are per organisation."""
    t = TEXT[lang]
    scale = []
    for q in range(1, 5):
        scale += [[(q - 1) / 4, QUARTILE_COLOURS[q]], [q / 4, QUARTILE_COLOURS[q]]]
    n_org, n_ind = len(org_labels), len(indicator_labels)
    z = [[quartiles[i][j] for i in range(n_org)] for j in range(n_ind)]
    custom = [
        [[plain(org_names[i]), plain(indicator_names[j]), values[i][j]] for i in range(n_org)] for j in range(n_ind)
    ]
    height = max(420, 22 * n_ind + 160)
    return {
        "data": [
            {
                "type": "heatmap",
                "z": z,
                "x": [plain(x) for x in org_labels],
                "y": [plain(y) for y in indicator_names],
                "zmin": 0.5,
                "zmax": 4.5,
                "colorscale": scale,
                "xgap": 1,
                "ygap": 1,
                "customdata": custom,
                "texttemplate": "%{z}",
                "textfont": {"color": "#000000", "size": 10},
                "hoverongaps": False,
                "hovertemplate": f"%{{customdata[0]}}<br>%{{customdata[1]}}: %{{customdata[2]}}<br>{t['quartile']} %{{z}}"
                "<extra></extra>",
                "colorbar": {
                    "title": {"text": t["quartile"]},
                    "tickvals": [1, 2, 3, 4],
                    "ticktext": [f"1 ({t['best']})", "2", "3", f"4 ({t['worst']})"],
                    "thickness": 14,
                },
            }
        ],
        "layout": _layout(
            lang,
            height,
            xaxis=_axis(side="top", tickangle=-90, showgrid=False, showline=False, ticks="", tickfont={"size": 10}),
            yaxis=_axis(
                autorange="reversed",
                showgrid=False,
                showline=False,
                ticks="",
                tickmode="array",
                tickvals=[plain(y) for y in indicator_names],
                tickfont={"size": 11},
            ),
            margin={"l": 10, "r": 10, "t": 10, "b": 10},
        ),
    }


def share_heatmap(
    row_labels: Sequence[str],
    row_names: Sequence[str],
    column_labels: Sequence[str],
    z: Sequence[Sequence[float | None]],
    colorbar_title: str,
    lang: str,
) -> Figure:
    """Rows × columns of shares between 0 and 1 (for example total sensitivity indices), the share printed
    in each cell; a light-to-dark blue scale that reads in greyscale too."""
    custom = [[plain(row_names[i]) for _ in column_labels] for i in range(len(row_labels))]
    height = max(360, 19 * len(row_labels) + 160)
    return {
        "data": [
            {
                "type": "heatmap",
                "z": [[None if v is None else round(float(v), 2) for v in r] for r in z],
                "x": [plain(x) for x in column_labels],
                "y": [plain(y) for y in row_labels],
                "zmin": 0,
                "zmax": 1,
                "colorscale": [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]],
                "xgap": 1,
                "ygap": 1,
                "customdata": custom,
                "texttemplate": "%{z:.2f}",
                "hoverongaps": False,
                "hovertemplate": "%{customdata}<br>%{x}: %{z:.2f}<extra></extra>",
                "colorbar": {"title": {"text": plain(colorbar_title)}, "thickness": 14},
            }
        ],
        "layout": _layout(
            lang,
            height,
            xaxis=_axis(side="top", showgrid=False, showline=False, ticks=""),
            yaxis=_axis(
                autorange="reversed",
                showgrid=False,
                showline=False,
                ticks="",
                tickmode="array",
                tickvals=[plain(y) for y in row_labels],
                tickfont={"size": 11},
            ),
            margin={"l": 10, "r": 10, "t": 30, "b": 10},
        ),
    }


CLUSTER_SCALE = {
    "nl": "buiten de schaal (echte waarde bij aanwijzen en in de tabel)",
    "en": "off the scale (true value on hover and in the table)",
}


def cluster_medians(
    indicator_labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], lang: str
) -> Figure:
    """Per indicator the published cluster medians relative to the median of all members (100 = equal).

    The axis runs over the bulk of the values (5th to 95th percentile, at least 50–150), so that a few outliers do
    not squash the rest onto the 100 line; a value beyond it is drawn at the edge as an arrow, with its true value
    on hover and in the table."""
    t = TEXT[lang]
    every = sorted(v for _, rel in series for v in rel if v is not None)
    if every:
        k = len(every) - 1
        lo = min(50.0, every[int(0.05 * k)])
        hi = max(150.0, every[int(round(0.95 * k))])
        lo, hi = max(0.0, lo - 5), hi + 5
    else:
        lo, hi = 0.0, 200.0
    data = []
    out_x, out_y, out_text, out_symbol = [], [], [], []
    for i, (label, rel) in enumerate(series):
        xs, ys = [], []
        for v, ind in zip(rel, indicator_labels):
            if v is None:
                continue
            if v > hi or v < lo:
                out_x.append(hi if v > hi else lo)
                out_y.append(plain(ind))
                out_text.append(f"{plain(label)}: {v:,.0f}".replace(",", "." if lang == "nl" else ","))
                out_symbol.append("triangle-right" if v > hi else "triangle-left")
                continue
            xs.append(v)
            ys.append(plain(ind))
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": plain(label),
                "x": xs,
                "y": ys,
                "marker": {
                    "color": CLUSTER_COLOURS[i % len(CLUSTER_COLOURS)],
                    "size": 10,
                    "symbol": ["circle", "square", "diamond", "triangle-up", "x"][i % 5],
                },
                "hovertemplate": f"{plain(label)}<br>%{{y}}: %{{x:,.0f}}<extra></extra>",
            }
        )
    if out_x:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": CLUSTER_SCALE[lang],
                "x": out_x,
                "y": out_y,
                "hovertext": out_text,
                "hovertemplate": "%{hovertext}<extra></extra>",
                "cliponaxis": False,
                "marker": {"color": "#1b1b1b", "size": 12, "symbol": out_symbol},
            }
        )
    height = max(400, 22 * len(indicator_labels) + 160)
    return {
        "data": data,
        "layout": _layout(
            lang,
            height,
            shapes=[_line_shape(100, 0, 1, MEDIAN, None, yref="y domain", dash="dash", width=2)],
            xaxis=_axis(title={"text": t["relative"]}, tickformat=",.0f", range=[lo, hi]),
            yaxis=_axis(type="category", autorange="reversed", ticks=""),
        ),
    }


def completeness(
    org_labels: Sequence[str], org_names: Sequence[str], pct: Sequence[float], states: Sequence[str], lang: str
) -> Figure:
    """Share of catalogue indicators with a value per organisation, coloured by submission state."""
    t = TEXT[lang]
    data = []
    for state in ("accepted", "accepted_with_warnings", "rejected", "missing"):
        idx = [i for i, s in enumerate(states) if s == state]
        if not idx:
            continue
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": t["states"][state],
                "x": [pct[i] for i in idx],
                "y": [plain(org_labels[i]) for i in idx],
                "hovertext": [plain(org_names[i]) for i in idx],
                "hovertemplate": f"%{{hovertext}}<br>%{{x:,.0f}}% ({t['states'][state]})<extra></extra>",
                "marker": {"color": STATE_COLOURS[state]},
            }
        )
        if state != "accepted":
            data[-1].update(
                text=[t["states"][state]] * len(idx),
                textposition="outside",
                cliponaxis=False,
                textfont={"size": 11, "color": "#1b1b1b"},
            )
    height = max(360, 17 * len(org_labels) + 140)
    return {
        "data": data,
        "layout": _layout(
            lang,
            height,
            barmode="overlay",
            xaxis=_axis(
                title={"text": t["completeness"]}, range=[0, 130], tickvals=[0, 20, 40, 60, 80, 100], tickformat=",.0f"
            ),
            yaxis=_axis(
                type="category",
                categoryorder="array",
                categoryarray=[plain(x) for x in reversed(org_labels)],
                tickmode="array",
                tickvals=[plain(x) for x in org_labels],
                tickfont={"size": 11},
                ticks="",
            ),
        ),
    }


def theme_profile(
    themes: Sequence[str], points: Sequence[dict[str, Any]], means: Sequence[float | None], lang: str
) -> Figure:
    """Percentile of every ranked indicator, one row per theme, coloured by quartile; the theme mean as a bar."""
    t = TEXT[lang]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "orientation": "h",
            "x": list(means),
            "y": [plain(x) for x in themes],
            "name": t["theme_mean"],
            "marker": {"color": "rgba(0,114,178,0.18)", "line": {"color": OWN, "width": 1}},
            "hovertemplate": f"%{{y}}: %{{x:,.0f}}<extra>{plain(t['theme_mean'])}</extra>",
        }
    ]
    for q in range(1, 5):
        mine = [p for p in points if p["quartile"] == q]
        if not mine:
            continue
        suffix = f" ({t['best']})" if q == 1 else (f" ({t['worst']})" if q == 4 else "")
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"{t['quartile']} {q}{suffix}",
                "x": [p["percentile"] for p in mine],
                "y": [plain(p["theme"]) for p in mine],
                "hovertext": [plain(p["name"]) for p in mine],
                "hovertemplate": "%{hovertext}: %{x:,.0f}<extra></extra>",
                "marker": {
                    "color": QUARTILE_COLOURS[q],
                    "size": 11,
                    "symbol": ["circle", "square", "diamond", "triangle-up"][q - 1],
                    "line": {"color": "#ffffff", "width": 1},
                },
            }
        )
    shapes = [_line_shape(x, 0, 1, "#9a9a9a", None, yref="y domain", dash="dot", width=1) for x in (25, 75)]
    shapes.append(_line_shape(50, 0, 1, MEDIAN, None, yref="y domain", dash="dash", width=1))
    height = max(300, 42 * len(themes) + 130)
    return {
        "data": data,
        "layout": _layout(
            lang,
            height,
            shapes=shapes,
            barmode="overlay",
            xaxis=_axis(title={"text": t["percentile"]}, range=[-3, 103], tickvals=[0, 25, 50, 75, 100]),
            yaxis=_axis(
                type="category", categoryorder="array", categoryarray=[plain(x) for x in reversed(themes)], ticks=""
            ),
        ),
    }


def rank_interval(
    rank: float, rank_lo: float, rank_hi: float, median_rank: float | None, n_units: int, lang: str
) -> Figure:
    """The organisation's position in the composite index with its 5%–95% rank interval."""
    t = TEXT[lang]
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": t["nominal_rank"],
            "x": [rank],
            "y": [0],
            "marker": {"color": OWN, "size": 16, "symbol": "diamond"},
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": [rank_hi - rank],
                "arrayminus": [rank - rank_lo],
                "color": OWN,
                "thickness": 3,
                "width": 10,
            },
            "hovertemplate": f"{plain(t['nominal_rank'])}: %{{x:,.0f}}<extra></extra>",
        }
    ]
    if median_rank is not None:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": t["median_rank"],
                "x": [median_rank],
                "y": [0],
                "marker": {"color": MEDIAN, "size": 11, "symbol": "line-ns-open", "line": {"width": 3}},
                "hovertemplate": f"{plain(t['median_rank'])}: %{{x:,.1f}}<extra></extra>",
            }
        )
    return {
        "data": data,
        "layout": _layout(
            lang,
            210,
            xaxis=_axis(
                title={"text": t["rank"]},
                range=[n_units + 0.5, 0.5],
                dtick=max(1, round(n_units / 10)),
                tickformat=",.0f",
            ),
            yaxis=_axis(visible=False, range=[-1, 1], fixedrange=True),
        ),
    }


def to_div(fig: Figure, div_id: str) -> str:
    """The chart container plus its figure as JSON; the page's chart loader draws it with plotly.js.

    The JSON is Plotly's own encoding, which escapes ``<``, ``>`` and ``/``, so no text in a figure can end the
    script element. ``div_id`` must be a fixed, HTML-safe id.
    """
    spec = to_json_plotly({"data": fig["data"], "layout": fig["layout"], "config": CONFIG})
    height = int(fig["layout"]["height"])
    return (
        f'<div id="{div_id}" class="plotly-graph-div" style="height:{height}px; width:100%;"></div>\n'
        f'<script type="application/json" class="chart-spec" data-target="{div_id}">{spec}</script>'
    )


# ---------------------------------------------------------------------------------------------- tables


def _csv_number(value: Any, decimals: int | None, lang: str) -> str:
    """A number as a CSV cell: no grouping, a decimal comma in Dutch files."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if decimals is None:
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    else:
        text = f"{float(value):.{decimals}f}"
    return text.replace(".", ",") if lang == "nl" else text


CSV_SEPARATORS = (";", ",")
FORMULA_PREFIXES = "=+-@\t\r"
# A spreadsheet starts a new cell at the start of a line and after either list separator (a file may be opened
# with the other one); a cell is a formula when it starts with a prefix, possibly after spaces and quotes.
_CELL_START = re.compile(r"(^|[;,\n\r])([ \"]*)(?=[=+\-@\t\r])")


def _csv_text(value: Any) -> str:
    """A text cell that no spreadsheet runs as a formula, whichever list separator it is opened with.

    An apostrophe goes before a formula prefix (= + - @ tab CR) at the start of the text and after every
    ``;``, ``,`` or line break in it (OWASP CSV injection); hidden and direction-changing characters are
    written out as ``<U+XXXX>``.
    """
    text = visible("" if value is None else value)
    return _CELL_START.sub(lambda m: f"{m.group(1)}{m.group(2)}'", text)


def _csv_cell(text: str) -> str:
    """Quote a cell holding either separator, a quote or a line break, so both dialects keep it whole."""
    if any(ch in text for ch in ';,"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_data_uri(header: list[str], rows: list[list[Any]], lang: str) -> str:
    """A CSV file (:func:`csv_text`) as a data: URI."""
    return "data:text/csv;charset=utf-8," + quote(csv_text(header, rows, lang), safe="")


def csv_text(header: list[str], rows: list[list[Any]], lang: str) -> str:
    """A CSV file's text, byte order mark first. Cells: ("num", value, decimals) for numbers, anything else is text.

    Dutch files use ';' and a decimal comma (as Dutch Excel expects); English files ',' and a point. Every cell
    holding ';', ',', a quote or a line break is quoted in both dialects, and text cells are neutralised
    (:func:`_csv_text`), so opening a file with the other separator never yields a formula.
    """
    sep = ";" if lang == "nl" else ","
    lines = [sep.join(_csv_cell(_csv_text(h)) for h in header)]
    for row in rows:
        out = []
        for cell in row:
            if isinstance(cell, tuple) and cell and cell[0] == "num":
                out.append(_csv_cell(_csv_number(cell[1], cell[2], lang)))
            else:
                out.append(_csv_cell(_csv_text(cell)))
        lines.append(sep.join(out))
    return "\ufeff" + "\r\n".join(lines) + "\r\n"


def num(value: Any, decimals: int | None = None) -> tuple[str, Any, int | None]:
    """A numeric CSV cell (:func:`csv_data_uri`); ``decimals`` None prints the value as it is."""
    return ("num", value, decimals)


def slug(text: str) -> str:
    """Text as an id or file name part: letters, digits, ``_`` and ``-`` only."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def table(
    caption: str,
    columns: list[tuple[str, bool]],
    rows: list[list[Any]],
    csv_header: list[str],
    csv_rows: list[list[Any]],
    name: str,
    lang: str,
) -> dict[str, Any]:
    """A data table plus its CSV and XLSX downloads; ``columns`` are (label, numeric) pairs."""
    from pipeline.report.downloads import table_downloads  # builds on this module's CSV cells

    return {"columns": columns, "rows": rows, **table_downloads(csv_header, csv_rows, name, lang, caption)}


def block(
    fig_id: str,
    title: str,
    fig: dict[str, Any] | None,
    caption: str,
    tables: list[dict[str, Any]],
    meta: list[tuple[str, str]] | None = None,
    attrs: dict[str, str] | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """A figure (or None) with its title, caption, data tables, definition list and notes."""
    return {
        "id": fig_id,
        "title": title,
        "chart": Markup(to_div(fig, fig_id)) if fig else None,
        "caption": caption,
        "tables": tables,
        "meta": meta or [],
        "attrs": attrs or {},
        "notes": notes or [],
    }


# ---------------------------------------------------------------------------------------------- pilots


def pilot_follow_up(
    series: Sequence[dict[str, Any]],
    start_year: int,
    org_label: str,
    decimals: int,
    unit: str,
    lang: str,
) -> Figure:
    """A pilot's follow-up: the pilot member's value per year against the mean (and middle half, with at least
    four) of the comparable members without a pilot, the start marked. For the restricted pilot pages."""
    nl = lang != "en"
    fmt = value_format(decimals)
    years = [int(p["year"]) for p in series]
    suffix = f" {unit}" if unit and unit != "%" else unit
    low = [p.get("control_p25") for p in series]
    high = [p.get("control_p75") for p in series]
    data: list[dict[str, Any]] = []
    band = [(y, lo, hi) for y, lo, hi in zip(years, low, high) if lo is not None and hi is not None and lo == lo]
    if len(band) >= 2:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [b[0] for b in band] + [b[0] for b in reversed(band)],
                "y": [b[2] for b in band] + [b[1] for b in reversed(band)],
                "fill": "toself",
                "fillcolor": BAND,
                "line": {"width": 0},
                "hoverinfo": "skip",
                "name": "Middelste helft vergelijkbare leden" if nl else "Middle half of comparable members",
            }
        )
    data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": years,
            "y": [p["control_mean"] for p in series],
            "name": "Gemiddelde vergelijkbare leden zonder pilot"
            if nl
            else "Mean of comparable members without a pilot",
            "line": {"color": PEER, "dash": "dash", "width": 2},
            "marker": {"symbol": "square", "size": 7, "color": PEER},
            "hovertemplate": f"%{{x}}: %{{y:{fmt}}}{suffix}<extra></extra>",
        }
    )
    data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": years,
            "y": [p["treated"] for p in series],
            "name": plain(org_label),
            "line": {"color": OWN, "width": 3},
            "marker": {"size": 9, "color": OWN},
            "hovertemplate": f"%{{x}}: %{{y:{fmt}}}{suffix}<extra></extra>",
        }
    )
    start_text = f"start pilot {start_year}" if nl else f"pilot starts {start_year}"
    return {
        "data": data,
        "layout": _layout(
            lang,
            340,
            margin={"l": 10, "r": 10, "t": 60, "b": 10},
            xaxis=_axis(title={"text": TEXT[lang]["year"]}, dtick=1, tickformat="d"),
            yaxis=_axis(title={"text": unit or TEXT[lang]["value"]}, tickformat=fmt),
            shapes=[
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": start_year - 0.5,
                    "x1": start_year - 0.5,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": "#1b1b1b", "width": 1.5, "dash": "dot"},
                }
            ],
            annotations=[
                {
                    "xref": "x",
                    "yref": "paper",
                    "x": start_year - 0.5,
                    "y": 0.98,
                    "yanchor": "top",
                    "xanchor": "left",
                    "text": start_text,
                    "showarrow": False,
                    "font": {"size": 12},
                }
            ],
        ),
    }


# ---------------------------------------------------------------------------------------- first screen


GLANCE_TEXT = {
    "nl": {
        "axis": "Gemiddeld percentiel (100 = beste)",
        "bands": ["laagste kwart", "onder het midden", "boven het midden", "beste kwart"],
    },
    "en": {
        "axis": "Mean percentile (100 = best)",
        "bands": ["bottom quarter", "below the middle", "above the middle", "top quarter"],
    },
}


def theme_glance(themes: Sequence[str], means: Sequence[float], lang: str) -> Figure:
    """The first screen's compact figure: the member's mean percentile per theme as a bar, against the four
    quarters of the members as a background."""
    g = GLANCE_TEXT[lang]
    colours = [QUARTILE_COLOURS[4 - (min(3, int(m // 25)))] for m in means]
    shapes = []
    for i, (x0, x1) in enumerate(((0, 25), (25, 50), (50, 75), (75, 100))):
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": x0,
                "x1": x1,
                "y0": 0,
                "y1": 1,
                "fillcolor": ["#fbeee9", "#fdf6e7", "#eef6fb", "#e6f0f7"][i],
                "line": {"width": 0},
                "layer": "below",
            }
        )
    annotations = [
        {
            "xref": "x",
            "yref": "paper",
            "x": (x0 + x1) / 2,
            "y": 1,
            "yanchor": "bottom",
            "text": plain(text),
            "showarrow": False,
            "font": {"size": 11, "color": "#4a4a4a"},
        }
        for (x0, x1), text in zip(((0, 25), (25, 50), (50, 75), (75, 100)), g["bands"])
    ]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": [round(m, 1) for m in means],
                "y": [plain(x) for x in themes],
                "marker": {"color": colours, "line": {"color": "#1b1b1b", "width": 0.5}},
                "hovertemplate": "%{y}: %{x:,.0f}<extra></extra>",
                "showlegend": False,
            }
        ],
        "layout": _layout(
            lang,
            max(220, 30 * len(themes) + 90),
            margin={"l": 10, "r": 10, "t": 30, "b": 10},
            shapes=shapes,
            annotations=annotations,
            bargap=0.35,
            xaxis=_axis(title={"text": g["axis"]}, range=[0, 101], tickvals=[0, 25, 50, 75, 100], fixedrange=True),
            yaxis=_axis(
                type="category",
                categoryorder="array",
                categoryarray=[plain(x) for x in reversed(themes)],
                ticks="",
                fixedrange=True,
            ),
        ),
    }


DEA_TEXT = {
    "nl": {
        "score": "Uw score (zonder correctie)",
        "corrected": "Uw score na biascorrectie",
        "interval": "95%-interval (na biascorrectie)",
        "median": "Mediaan van het cluster",
        "axis": "Efficiëntiescore (1 = geen vergelijkbaar lid doet het met minder)",
    },
    "en": {
        "score": "Your score (uncorrected)",
        "corrected": "Your bias-corrected score",
        "interval": "95% interval (bias-corrected)",
        "median": "Cluster median",
        "axis": "Efficiency score (1 = no comparable member does it with less)",
    },
}


DEA_OVERVIEW_TEXT = {
    "nl": {"score": "Score (zonder correctie)", "corrected": "Score na biascorrectie"},
    "en": {"score": "Score (uncorrected)", "corrected": "Bias-corrected score"},
}


def dea_scores(rows: Sequence[dict[str, Any]], lang: str, own: bool = True) -> Figure:
    """Efficiency scores per row (a model of the member, or in the analysts' overview a member and model): the raw
    score, the bias-corrected score and its 95% interval."""
    t = dict(DEA_TEXT[lang])
    if not own:
        t.update(DEA_OVERVIEW_TEXT[lang])
    labels = [plain(r["label"]) for r in rows]
    data: list[dict[str, Any]] = []
    lo = [r.get("ci_low") for r in rows]
    if any(x is not None for x in lo):
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": t["interval"],
                "x": [v for r in rows for v in (r.get("ci_low"), r.get("ci_high"), None)],
                "y": [v for lab in labels for v in (lab, lab, None)],
                "line": {"color": BAND.replace("0.35", "0.9"), "width": 10},
                "hoverinfo": "skip",
            }
        )
    medians = [r.get("median") for r in rows]
    if any(m is not None for m in medians):
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": t["median"],
                "x": medians,
                "y": labels,
                "marker": {"symbol": "line-ns-open", "size": 18, "color": MEDIAN, "line": {"width": 2}},
                "hovertemplate": "%{y}: %{x:.2f}<extra></extra>",
            }
        )
    if any(r.get("score_bc") is not None for r in rows):
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": t["corrected"],
                "x": [r.get("score_bc") for r in rows],
                "y": labels,
                "marker": {"color": OWN, "size": 13, "symbol": "circle"},
                "hovertemplate": "%{y}: %{x:.2f}<extra></extra>",
            }
        )
    data.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": t["score"],
            "x": [r["score"] for r in rows],
            "y": labels,
            "marker": {"color": "#ffffff", "size": 12, "symbol": "diamond", "line": {"color": "#4a4a4a", "width": 2}},
            "hovertemplate": "%{y}: %{x:.2f}<extra></extra>",
        }
    )
    low = min([r["score"] for r in rows] + [x for x in lo if x is not None] + [0.5])
    return {
        "data": data,
        "layout": _layout(
            lang,
            max(200, 60 * len(rows) + 120),
            xaxis=_axis(title={"text": t["axis"]}, range=[max(0.0, low - 0.05), 1.02], tickformat=".2f"),
            yaxis=_axis(type="category", ticks="", fixedrange=True),
        ),
    }


COMPOSITE_TEXT = {
    "nl": {"rank": "Positie in de index", "interval": "Rangorde-interval (5%–95%)", "axis": "Positie (1 = beste)"},
    "en": {"rank": "Position in the index", "interval": "Rank interval (5%–95%)", "axis": "Position (1 = best)"},
}


def composite_ranks(
    labels: Sequence[str],
    ranks: Sequence[float],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    n: int,
    lang: str,
) -> Figure:
    """The analysts' overview of the composite index: every member's position with its rank interval, best on top."""
    t = COMPOSITE_TEXT[lang]
    ys = [plain(x) for x in labels]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": t["interval"],
                "x": [v for lo, hi in zip(lows, highs) for v in (lo, hi, None)],
                "y": [v for y in ys for v in (y, y, None)],
                "line": {"color": BAND.replace("0.35", "0.9"), "width": 8},
                "hoverinfo": "skip",
            },
            {
                "type": "scatter",
                "mode": "markers",
                "name": t["rank"],
                "x": list(ranks),
                "y": ys,
                "marker": {"color": OWN, "size": 9, "symbol": "diamond"},
                "hovertemplate": "%{y}: %{x}<extra></extra>",
            },
        ],
        "layout": _layout(
            lang,
            max(360, 20 * len(labels) + 140),
            xaxis=_axis(title={"text": t["axis"]}, range=[n + 0.5, 0.5], dtick=max(1, round(n / 10))),
            yaxis=_axis(
                type="category",
                categoryorder="array",
                categoryarray=list(reversed(ys)),
                ticks="",
                tickfont={"size": 11},
            ),
        ),
    }
