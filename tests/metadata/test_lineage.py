"""Organisation identity across years: the lineage of the register's predecessor/successor links."""

from __future__ import annotations

from pipeline.metadata.lineage import Lineage, join_names, lineage
from pipeline.metadata.registry import Organisation, load_organisations


def org(code: str, since: int, until: int | None = None, preds: str = "", succ: str | None = None) -> Organisation:
    return Organisation(
        code, code, code, "registreren", "klein", since, until, tuple(p for p in preds.split(";") if p), succ
    )


REGISTER = [
    org("A", 2020, 2024, succ="C"),
    org("B", 2020, 2024, succ="C"),
    org("C", 2025, preds="A;B"),
    org("R", 2020, 2023, succ="S"),
    org("S", 2024, preds="R"),
    org("X", 2020, 2023),
    org("Y", 2024, preds="X"),
    org("Z", 2024, preds="X"),
    org("K", 2020),  # absorbs L from 2024 on
    org("L", 2020, 2023, succ="K"),
]


def test_merger_rename_split_and_absorption():
    lin = Lineage.of(REGISTER)
    assert lin.codes("C", 2023) == ("A", "B") and lin.kind("C", 2023) == "merger"
    assert lin.codes("C", 2025) == ("C",) and lin.kind("C", 2025) == "self"
    assert lin.event_year("C") == 2025 and lin.flag("C", 2024) == "lineage:A+B"
    assert lin.codes("S", 2022) == ("R",) and lin.kind("S", 2022) == "rename"
    assert lin.codes("S", 2019) == () and lin.kind("S", 2019) == "none"
    # a split breaks the series: neither successor inherits a share of X
    assert lin.is_split("X") and lin.codes("Y", 2022) == () and lin.codes("Z", 2022) == ()
    # absorption: K's earlier years are K and L together, later years K alone
    assert lin.codes("K", 2022) == ("K", "L") and lin.codes("K", 2024) == ("K",)
    assert lineage(REGISTER, "A", 2023) == ("A",) and lineage(REGISTER, "A", 2025) == ()


def test_chained_links_and_the_packaged_register():
    chain = [
        org("P", 2010, 2014, succ="Q"),
        org("Q", 2015, 2019, preds="P", succ="C2"),
        org("W", 2010, 2019, succ="C2"),
    ]
    chain.append(org("C2", 2020, preds="Q;W"))
    assert lineage(chain, "C2", 2012) == ("P", "W")
    assert lineage(chain, "C2", 2017) == ("Q", "W")
    duo = Lineage.of(load_organisations())
    assert duo.codes("DUO", 2008) == ("CFI", "IBG") and duo.event_year("DUO") == 2010


def test_join_names():
    assert join_names(["A", "B"]) == "A en B"
    assert join_names(["A", "B", "C"], "en") == "A, B and C"
