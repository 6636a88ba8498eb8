"""The package layout as a rule: stages depend one way, and no module reaches into another's private names.

core and metadata ← ingest ← validate ← compute ← report ← pilots ← flow ← demo ← cli (docs/architecture.md).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pipeline"

#: Rank of each top-level part of the package: a module may import only parts of its own rank or lower.
RANKS = {
    "core": 0,
    "metadata": 0,
    "ingest": 1,
    "validate": 2,
    "compute": 3,
    "report": 4,
    "pilots": 5,
    "cycle": 6,
    "flow": 7,
    "terminal": 7,
    "demo": 8,
    "cli": 9,
}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def part_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def absolute(module: str, is_package: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports(module: str, path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, names taken from it) for every import in the module, at any depth."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name, []) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = absolute(module, is_package, node.level, node.module)
            out.append((node.lineno, target, [a.name for a in node.names]))
    return [(line, target, names) for line, target, names in out if target.split(".")[0] == "pipeline"]


def test_every_part_of_the_package_has_a_rank():
    parts = {part_of(m) for m in modules() if m != "pipeline"}
    assert parts <= set(RANKS), f"parts without a rank in RANKS: {sorted(parts - set(RANKS))}"


def test_stages_depend_one_way():
    known = modules()
    wrong = []
    for module, path in known.items():
        if module == "pipeline":
            continue
        own = RANKS[part_of(module)]
        for line, target, names in imports(module, path):
            # 'from pipeline.x import y' may name a module y inside x: its rank is that of x anyway
            candidates = [target] + [f"{target}.{n}" for n in names if f"{target}.{n}" in known]
            for c in candidates:
                part = part_of(c)
                if part and RANKS.get(part, 99) > own:
                    wrong.append(
                        f"{path.relative_to(PACKAGE.parent)}:{line} imports {c} ({part} comes after {part_of(module)})"
                    )
    assert wrong == [], "\n".join(wrong)


def test_no_module_imports_a_private_name_of_another():
    known = modules()
    wrong = []
    for module, path in known.items():
        for line, target, names in imports(module, path):
            if target == module:
                continue
            for n in names:
                if n.startswith("_") and not n.startswith("__"):
                    wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}.{n}")
            if any(p.startswith("_") and not p.startswith("__") for p in target.split(".")):
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports the private module {target}")
    assert wrong == [], "\n".join(wrong)


def test_no_module_reaches_into_a_private_attribute_of_an_imported_module():
    known = modules()
    wrong = []
    for module, path in known.items():
        tree = ast.parse(path.read_text("utf-8"))
        is_package = path.name == "__init__.py"
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = absolute(module, is_package, node.level, node.module)
                for a in node.names:
                    if f"{target}.{a.name}" in known:
                        aliases[a.asname or a.name] = f"{target}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in known:
                        aliases[a.asname or a.name] = a.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and aliases[node.value.id] != module
            ):
                wrong.append(
                    f"{path.relative_to(PACKAGE.parent)}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}"
                )
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("stage", ["ingest", "validate", "compute", "report", "pilots"])
def test_each_stage_exposes_run(stage):
    init = PACKAGE / stage / "__init__.py"
    tree = ast.parse(init.read_text("utf-8"))
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    names |= {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert "run" in names, f"pipeline/{stage}/__init__.py has no run()"


def test_the_rule_catches_a_wrong_import(tmp_path):
    """The checker itself: an ingest module importing the report stage, or a private name, is found."""
    fake = tmp_path / "pipeline" / "ingest"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("from pipeline.report.pages import build_reports\nfrom ..core.workspace import _x\n")
    found = imports("pipeline.ingest.bad", fake / "bad.py")
    assert [(t, n) for _, t, n in found] == [
        ("pipeline.report.pages", ["build_reports"]),
        ("pipeline.core.workspace", ["_x"]),
    ]
    assert RANKS[part_of("pipeline.report.pages")] > RANKS[part_of("pipeline.ingest.bad")]


def test_the_parsing_child_imports_no_heavy_library():
    """The reader child runs under a memory limit: importing it (and the packages above it) stays small."""
    import subprocess
    import sys

    code = (
        "import sys, pipeline.ingest.reader_child; "
        "print(sorted(m for m in ('pandas', 'duckdb', 'great_expectations', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent
    ).stdout.strip()
    assert out == "[]"
