"""The what-if widgets in Debian Chromium: the page's own JavaScript gives the same position, quartile and
composite ranks as the Python implementation, nothing leaves the page, and axe stays clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_reports_in_chromium import AXE, YEAR, chromium_browser, open_report  # noqa: F401 - the fixture

from pipeline.compute.comparators import what_if_position
from pipeline.report.whatif import reweighted_ranks

pytestmark = pytest.mark.browser


def _data(page, element_id: str) -> dict:
    return json.loads(page.locator(f"#{element_id}").text_content())


def _axe(page, path: Path) -> list[str]:
    if not AXE.exists():
        return []
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .filter(v => v.impact === 'serious' || v.impact === 'critical')
             .map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))"""
    )


def test_member_what_if_gives_the_python_position_offline(chromium_browser, demo_workspace):  # noqa: F811
    path = demo_workspace.reports / str(YEAR) / "organisations" / "BD.html"
    page, problems = open_report(chromium_browser, path)
    try:
        d = _data(page, "whatif-data")
        assert len(d["items"]) >= 10
        checked = 0
        for i, item in enumerate(d["items"][:8]):
            page.select_option("#whatif-indicator", index=i)
            others = item["others"]
            lo, hi = min(others), max(others)
            for x in (lo - 1, lo, others[len(others) // 2], (lo + hi) / 2, hi, hi + 1):
                text = f"{x:.{item['decimals']}f}".replace(".", ",")  # typed the Dutch way
                x_typed = float(f"{x:.{item['decimals']}f}")
                page.fill("#whatif-value", text)
                out = page.locator("#whatif-result")
                want = what_if_position(x_typed, others, item["direction"])
                got = {k: int(out.get_attribute(f"data-{k}")) for k in ("rank", "n", "quartile")}
                assert got == want, (item["code"], x, got, want)
                assert f"{want['rank']} van {want['n']}" in out.text_content()
                # the same function called directly, on values a keyboard cannot type exactly
                js = page.evaluate("([x, o, d]) => window.rbbWhatIf(x, o, d)", [x, others, item["direction"]])
                assert js == what_if_position(x, others, item["direction"])
                checked += 1
        assert checked >= 40
        page.fill("#whatif-value", "")
        assert page.locator("#whatif-result").text_content() == "Vul een getal in."
        assert _axe(page, path) == []
        assert problems["network"] == [] and problems["console"] == []
    finally:
        page.close()


def test_overview_weights_give_the_python_ranks_offline(chromium_browser, demo_workspace):  # noqa: F811
    path = demo_workspace.reports / str(YEAR) / "index.html"
    page, problems = open_report(chromium_browser, path)
    try:
        d = _data(page, "weights-data")
        scores, themes = d["scores"], d["themes"]

        def shown() -> dict[str, int]:
            return page.evaluate(
                """() => Object.fromEntries([...document.querySelectorAll('#weights-table tbody tr')]
                       .map(tr => [tr.dataset.org, Number(tr.querySelector('.new-rank').textContent)]))"""
            )

        # equal weights reproduce the published ranks of the index
        equal = reweighted_ranks(scores, dict.fromkeys(themes, 1.0))
        assert shown() == equal
        published = {r["org"]: r["nominal"] for r in d["rows"] if r["nominal"] is not None}
        assert {o: equal[o] for o in published} == {o: int(r) for o, r in published.items()}
        # every preset
        for i, preset in enumerate(d["presets"]):
            page.click(f'button[data-preset="{i}"]')
            assert shown() == reweighted_ranks(scores, preset["weights"]), preset["label"]
        # sliders
        for values in ([0, 1, 2, 3, 0.5, 1.5, 2.5], [3, 0, 0, 1, 0, 0, 2]):
            weights = {t: float(values[k % len(values)]) for k, t in enumerate(themes)}
            for t, v in weights.items():
                page.locator(f"#weight-{t}").fill(str(v))
            assert shown() == reweighted_ranks(scores, weights), weights
            js = page.evaluate("([s, w]) => window.rbbRanks(s, w)", [scores, weights])
            assert js == reweighted_ranks(scores, weights)
        assert _axe(page, path) == []
        assert problems["network"] == [] and problems["console"] == []
    finally:
        page.close()
