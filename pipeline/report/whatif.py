"""What-if, offline, in the page's own JavaScript (docs/comparators.md, "What if").

* Member report: "if our value were X": the position and quartile class X would have among the published
  anonymous points of the other members (rounded, as drawn in the indicator chart), the same computation as
  :func:`pipeline.compute.comparators.what_if_position`.
* Analyst overview: the composite index's ranks under other theme weights, recomputed from the theme scores
  (each theme's normalised indicators, 0–100) as :func:`reweighted_ranks` does, beside the published rank
  intervals.

The data travels in a ``<script type="application/json">`` block; the script reads it and writes into ``<output>``
elements. Nothing is requested from anywhere (the reports' CSP has ``connect-src 'none'``).
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from pipeline.report.data import ReportData
from pipeline.report.disclosure import MemberView, display
from pipeline.report.text import TEXT, in_language, ind_name

WORDING: dict[str, Any] = {
    "member_title": ("Wat als?", "What if?"),
    "member_intro": (
        "Kies een indicator en vul een waarde in: de pagina rekent uit welke positie en welk kwartiel u met die "
        "waarde zou hebben onder de andere leden, zoals ze als anonieme punten in de grafieken staan. Er gaat niets "
        "over het netwerk.",
        "Choose an indicator and enter a value: the page works out the position and quartile you would have with "
        "that value among the other members, as drawn as anonymous points in the charts. Nothing goes over the "
        "network.",
    ),
    "indicator": ("Indicator", "Indicator"),
    "value": ("Als onze waarde zou zijn", "If our value were"),
    "result": ("Uitkomst", "Result"),
    "empty": ("Vul een getal in.", "Enter a number."),
    "overview_title": ("Wat als: andere gewichten voor de index", "What if: other weights for the index"),
    "overview_intro": (
        "Verschuif de gewichten van de thema's of kies een voorinstelling: de pagina berekent de index opnieuw als "
        "gewogen gemiddelde van de themascores en toont de positie daarnaast, met het gepubliceerde "
        "positie-interval (5–95 %) uit de onzekerheidsanalyse.",
        "Move the themes' weights or choose a preset: the page recomputes the index as the weighted mean of the "
        "theme scores and shows the position beside it, with the published rank interval (5–95%) from the "
        "uncertainty analysis.",
    ),
    "presets": ("Voorinstellingen", "Presets"),
    "equal": ("Gelijke gewichten", "Equal weights"),
    "double": ("{theme} dubbel", "{theme} doubled"),
    "organisation": ("Organisatie", "Organisation"),
    "nominal": ("Positie (gepubliceerd)", "Position (published)"),
    "interval": ("Interval 5–95 %", "Interval 5–95%"),
    "new_rank": ("Positie met deze gewichten", "Position with these weights"),
    "weights_caption": ("Gewichten per thema", "Weights per theme"),
}
WORDS = {lang: in_language(WORDING, lang) for lang in ("nl", "en")}


def reweighted_ranks(scores: dict[str, dict[str, float]], weights: dict[str, float]) -> dict[str, int]:
    """Ranks of the index Σ w_t·s_t / Σ w_t over the themes a member has a score for (themes in sorted order,
    the page's script sums in the same order), highest = 1, ties share the best rank."""
    index: dict[str, float] = {}
    for org, by_theme in scores.items():
        num = den = 0.0
        for theme in sorted(by_theme):
            w = float(weights.get(theme, 0.0))
            num += w * by_theme[theme]
            den += w
        if den > 0:
            index[org] = num / den
    return {o: 1 + sum(1 for v in index.values() if v > x) for o, x in index.items()}


def _json(data: Any) -> Markup:
    text = json.dumps(data, ensure_ascii=False, sort_keys=True).replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text)


def member_whatif(view: MemberView, lang: str) -> dict[str, Any] | None:
    """The member's what-if widget: per ranked indicator the other members' published points."""
    t, w = TEXT[lang], WORDS[lang]
    items = []
    for ind in view.catalogue:
        if ind.get("direction") not in ("higher", "lower"):
            continue
        others = view.other_points(ind["code"])
        if others is None:
            continue
        own = view.own(ind["code"]) or {}
        mine = display(own.get("value"), int(ind["decimals"]))
        if len(others) < 4:
            continue
        items.append(
            {
                "code": ind["code"],
                "name": ind_name(ind, lang),
                "direction": ind["direction"],
                "decimals": int(ind["decimals"]),
                "others": others,
                "own": mine,
            }
        )
    if not items:
        return None
    labels = {
        "position": t["position_text"],
        "quartile": {str(k): v for k, v in t["quartile_text"].items()},
        "empty": w["empty"],
    }
    return {"words": w, "entries": items, "data": _json({"items": items, "labels": labels, "lang": lang})}


def overview_whatif(data: ReportData, lang: str) -> dict[str, Any] | None:
    """The analyst overview's weights widget: theme scores per member, names, published rank intervals."""
    w = WORDS[lang]
    scores: dict[str, dict[str, float]] = {}
    for r in data.composite:
        if r["node"] != "index" and r.get("score") is not None:
            scores.setdefault(r["org_code"], {})[r["node"]] = float(r["score"])
    unc = {r["org_code"]: r for r in data.uncertainty}
    if len(scores) < 5 or not unc:
        return None
    themes = sorted({th for s in scores.values() for th in s})
    labels = dict(data.themes(lang))
    rows = []
    for org in sorted(scores):
        u = unc.get(org) or {}
        rows.append(
            {
                "org": org,
                "name": data.orgs.get(org, {}).get("name", org),
                "nominal": u.get("nominal_rank"),
                "lo": u.get("rank_lo"),
                "hi": u.get("rank_hi"),
            }
        )
    presets = [{"label": w["equal"], "weights": dict.fromkeys(themes, 1.0)}]
    for th in themes:
        presets.append(
            {
                "label": w["double"].format(theme=labels.get(th, th)),
                "weights": {x: 2.0 if x == th else 1.0 for x in themes},
            }
        )
    return {
        "words": w,
        "themes": [{"code": th, "label": labels.get(th, th)} for th in themes],
        "presets": presets,
        "rows": rows,
        "data": _json({"scores": scores, "rows": rows, "themes": themes, "presets": presets}),
    }


#: the member widget's script: the same rules as pipeline.compute.comparators.what_if_position
MEMBER_JS = Markup(r"""
(function () {
  var el = document.getElementById('whatif-data');
  if (!el) return;
  var d = JSON.parse(el.textContent);
  var sel = document.getElementById('whatif-indicator');
  var inp = document.getElementById('whatif-value');
  var out = document.getElementById('whatif-result');
  function position(x, others, direction) {
    var better = 0, ties = 1;
    for (var i = 0; i < others.length; i++) {
      var v = others[i];
      if (direction === 'higher' ? v > x : v < x) better++;
      else if (v === x) ties++;
    }
    var n = others.length + 1;
    var q = Math.min(Math.max(Math.ceil((4 * better + 2 * ties) / n), 1), 4);
    return {rank: better + 1, n: n, quartile: q};
  }
  window.rbbWhatIf = position;
  function parse(text) {
    var s = String(text).trim().replace(/\s/g, '');
    if (d.lang === 'nl') s = s.replace(/\./g, '').replace(',', '.'); else s = s.replace(/,/g, '');
    return s === '' ? NaN : Number(s);
  }
  function update() {
    var item = d.items[sel.selectedIndex];
    var x = parse(inp.value);
    if (!isFinite(x)) { out.textContent = d.labels.empty; out.dataset.rank = ''; return; }
    var p = position(x, item.others, item.direction);
    out.dataset.rank = p.rank; out.dataset.n = p.n; out.dataset.quartile = p.quartile;
    out.textContent = d.labels.position.replace('{rank}', p.rank).replace('{n}', p.n) + ', ' + d.labels.quartile[p.quartile];
  }
  sel.addEventListener('change', function () {
    var item = d.items[sel.selectedIndex];
    if (item.own !== null) inp.value = String(item.own).replace('.', d.lang === 'nl' ? ',' : '.');
    update();
  });
  inp.addEventListener('input', update);
  sel.dispatchEvent(new Event('change'));
})();
""")

#: the overview widget's script: the same rules as reweighted_ranks
OVERVIEW_JS = Markup(r"""
(function () {
  var el = document.getElementById('weights-data');
  if (!el) return;
  var d = JSON.parse(el.textContent);
  function ranks(scores, weights) {
    var index = {}, orgs = Object.keys(scores);
    orgs.forEach(function (o) {
      var num = 0, den = 0, th = Object.keys(scores[o]).sort();
      th.forEach(function (t) { var w = Number(weights[t] || 0); num += w * scores[o][t]; den += w; });
      if (den > 0) index[o] = num / den;
    });
    var out = {};
    Object.keys(index).forEach(function (o) {
      var r = 1; Object.keys(index).forEach(function (p) { if (index[p] > index[o]) r++; }); out[o] = r;
    });
    return out;
  }
  window.rbbRanks = ranks;
  function weights() {
    var w = {};
    d.themes.forEach(function (t) { w[t] = Number(document.getElementById('weight-' + t).value); });
    return w;
  }
  function update() {
    var w = weights();
    d.themes.forEach(function (t) { document.getElementById('weight-' + t + '-out').textContent = w[t]; });
    var r = ranks(d.scores, w);
    document.querySelectorAll('#weights-table tbody tr').forEach(function (tr) {
      var cell = tr.querySelector('.new-rank'); cell.textContent = r[tr.dataset.org] || '—';
    });
  }
  d.themes.forEach(function (t) { document.getElementById('weight-' + t).addEventListener('input', update); });
  document.querySelectorAll('button[data-preset]').forEach(function (b) {
    b.addEventListener('click', function () {
      var p = d.presets[Number(b.dataset.preset)].weights;
      d.themes.forEach(function (t) { document.getElementById('weight-' + t).value = p[t]; });
      update();
    });
  });
  update();
})();
""")
