"""The README and docs name only files, modules and functions of the package that exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PATH = re.compile(r"(?<![\w/.])((?:pipeline|tests|benchmarks|scripts)/[\w./<>-]*[\w/])")
DOTTED = re.compile(r"(?<![\w/.])(pipeline(?:\.\w+)+)")


def resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_named_paths_exist(doc):
    text = doc.read_text("utf-8")
    missing = []
    for ref in sorted(set(PATH.findall(text))):
        if "<" in ref:                      # a pattern such as pipeline/compute/sql/indicators/<code>.sql
            ref = ref[: ref.index("<")]
        if not (ROOT / ref).exists():
            missing.append(ref)
    assert missing == [], f"{doc.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_named_modules_and_functions_exist(doc):
    text = doc.read_text("utf-8")
    missing = [ref for ref in sorted(set(DOTTED.findall(text))) if not resolves(ref)]
    assert missing == [], f"{doc.name} names modules or functions that do not exist: {missing}"
