"""The package's structure: one data path, one direction, no cycles, nothing from tests or test extras.

values → plan → (manifests | budget | docs) → (validate | diff | write) → commands. Each module sits
on a floor; it may import its own floor and those below, never one above.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "generator"
# The floors, lowest first: a module's floor is the first prefix of its dotted name listed here.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("generator", "generator.problems", "generator.settings", "generator.gopattern", "generator.version", "generator.keys",
     "generator.jsonschemas"),
    ("generator.errors", "generator.yamlio", "generator.yamlemit", "generator.project", "generator.credentials",
     "generator.lock", "generator.valuefiles", "generator.cachefile"),
    ("generator.manifest", "generator.capacity", "generator.kubeschemas", "generator.llamaflags"),
    ("generator.values", "generator.overrides", "generator.extras"),
    ("generator.plan",),
    ("generator.guards", "generator.docs", "generator.waivers", "generator.schemaviews", "generator.monitoring"),
    ("generator.render", "generator.scaffold"),
    ("generator.conflicts",),
    ("generator.tree", "generator.kube", "generator.diffing", "generator.collisions"),
    ("generator.pipeline", "generator.diff", "generator.init"),
    ("generator.cli", "generator.__main__"),
)
TEST_EXTRAS = ("pytest", "yamllint", "checkov", "tests", "testkit", "bench")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module a file imports, relative imports made absolute; `from pkg import module` names the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(part for part in (base, node.module or "") if part)
            for alias in node.names:
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES else target)
    return found


MODULES = {module_name(p) for p in PACKAGE.rglob("*.py")}


def floor(module: str) -> int:
    """The floor of a module: the longest listed name it is or lies under (`generator` only holds itself)."""
    found = [(len(p), level) for level, prefixes in enumerate(FLOORS) for p in prefixes
             if module == p or (p != "generator" and module.startswith(p + "."))]
    assert found, f"{module} is on no floor: add it to FLOORS"
    return max(found)[1]


def graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports."""
    return {module_name(p): {m for m in imports(p) if m in MODULES and m != module_name(p)} for p in PACKAGE.rglob("*.py")}


def test_every_module_is_on_a_floor() -> None:
    for module in graph():
        floor(module)


def test_no_import_runs_back_up() -> None:
    upward = [f"{module} imports {target}" for module, targets in graph().items()
              for target in targets if floor(target) > floor(module)]
    assert upward == []


def test_no_cycles() -> None:
    graphlib.TopologicalSorter(graph()).prepare()  # raises CycleError


def test_the_package_imports_no_test_extra_and_nothing_from_tests() -> None:
    found = [f"{module_name(p)} imports {m}" for p in PACKAGE.rglob("*.py") for m in imports(p)
             if m.split(".")[0] in TEST_EXTRAS]
    assert found == []
