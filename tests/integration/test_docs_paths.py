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
        if "<" in ref:  # a pattern such as pipeline/compute/sql/indicators/<code>.sql
            ref = ref[: ref.index("<")]
        if not (ROOT / ref).exists():
            missing.append(ref)
    assert missing == [], f"{doc.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_named_modules_and_functions_exist(doc):
    text = doc.read_text("utf-8")
    missing = [ref for ref in sorted(set(DOTTED.findall(text))) if not resolves(ref)]
    assert missing == [], f"{doc.name} names modules or functions that do not exist: {missing}"


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text("utf-8")
    block = readme[readme.index("**Run the tests**") :]
    command = block[block.index("```bash\n") + 8 : block.index("\n```", block.index("```bash\n"))].strip()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text("utf-8").splitlines() if line.strip()]
    assert ci[-1] == command
