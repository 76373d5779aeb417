"""The layer rule (CONTRIBUTING.md), read from the imports of every module.

A module imports only its own layer or lower ones; content (``roles/``, ``graphs/``,
``schemas/``, ``examples/``) imports only the public API; nothing in the package
imports in a cycle. Every import counts, including those inside functions and under
``TYPE_CHECKING``: a lazy import that dodges the rule is still the dependency.
"""

from __future__ import annotations

import ast
import functools
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import smallagents

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "smallagents"

# Low to high. A module's layer is that of the longest prefix listed here.
LAYERS: list[tuple[str, ...]] = [
    ("smallagents.errors", "smallagents._version", "smallagents.content", "smallagents.dedupe"),
    ("smallagents.structured",),
    ("smallagents.models",),
    ("smallagents.prompts", "smallagents.voting"),
    ("smallagents.run",),
    ("smallagents.role", "smallagents.decompose"),
    ("smallagents.tools",),
    ("smallagents.graph",),
    ("smallagents.jobs", "smallagents.registry"),
    ("smallagents.evaluation",),
    ("smallagents.cli", "smallagents.testing", "smallagents.__main__"),
]

# What content may import: the public face, its public modules (each with an __all__),
# and the test helpers. Everything else in the package is for the runtime itself.
CONTENT_DIRS = ("roles", "graphs", "schemas", "examples")
PUBLIC_MODULES = (
    "smallagents.errors",
    "smallagents.tools",
    "smallagents.voting",
    "smallagents.dedupe",
    "smallagents.decompose",
    "smallagents.testing",
)
CONTENT_MAY_IMPORT = {"smallagents", *PUBLIC_MODULES}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, name: str) -> Iterator[tuple[int, str]]:
    """Every smallagents module this file imports, with the line (relative imports resolved)."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "smallagents":
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "smallagents":
                continue
            modules = package_modules()
            for alias in node.names:
                # `from smallagents.jobs import state` imports the module jobs.state.
                child = f"{target}.{alias.name}"
                yield node.lineno, child if child in modules else target


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def test_every_module_has_a_layer() -> None:
    unplaced = [m for m in package_modules() if m != "smallagents" and layer_of(m) is None]
    assert unplaced == [], f"modules with no layer (add to LAYERS and CONTRIBUTING.md): {unplaced}"


def test_no_module_imports_a_higher_layer() -> None:
    upward = []
    for name, path in package_modules().items():
        if name == "smallagents":
            continue  # the public face re-exports from every layer
        own = layer_of(name)
        for line, target in imports_of(path, name):
            if target == "smallagents":
                upward.append(f"{path.relative_to(ROOT)}:{line} imports the package root")
                continue
            theirs = layer_of(target)
            if own is not None and theirs is not None and theirs > own:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert upward == []


def test_no_import_cycles() -> None:
    modules = package_modules()
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for _, target in imports_of(path, name):
            # A package's own private modules are imported through its __init__: that is
            # how a package is built, not a cycle of design, as long as no private module
            # imports its package back (checked here as an edge to the package).
            if target in modules and target != name:
                edges[name].add(target)
    cycles = []
    for start in modules:
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, trail = stack.pop()
            for nxt in edges[node]:
                if nxt == start:
                    cycles.append(" -> ".join([*trail, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
    # The root re-exports everything; a module importing it closes a cycle through it,
    # which test_no_module_imports_a_higher_layer reports with its line.
    cycles = [c for c in cycles if not c.startswith("smallagents ->")]
    assert sorted(set(cycles))[:5] == []


@pytest.mark.parametrize("folder", CONTENT_DIRS)
def test_content_imports_only_the_public_api(folder: str) -> None:
    reached = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            for imported in names:
                if imported.split(".")[0] == "smallagents" and imported not in CONTENT_MAY_IMPORT:
                    reached.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {imported}")
    assert reached == []


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_public_modules_say_what_is_public(module: str) -> None:
    imported = importlib.import_module(module)
    names = getattr(imported, "__all__", None)
    assert names, f"{module} has no __all__"
    assert [n for n in names if not hasattr(imported, n)] == []
    # reachable after a plain `import smallagents`, as content uses them
    assert getattr(smallagents, module.rsplit(".", 1)[1]) is imported


def test_layer_checker_sees_an_upward_import(tmp_path: Path) -> None:
    # The rule is only as good as the import reader: a nested, lazy import must count.
    source = tmp_path / "probe.py"
    source.write_text(
        "def later():\n    from smallagents.cli import app\n    return app\n", encoding="utf-8"
    )
    found = list(imports_of(source, "smallagents.models.probe"))
    assert [target for _, target in found] == ["smallagents.cli"]
    assert layer_of("smallagents.cli") > layer_of("smallagents.models.probe")  # type: ignore[operator]
