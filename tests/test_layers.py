"""The package's layers, as DESIGN.md draws them, and the size of its parts.

Every module of ``src/managedjob`` belongs to one layer. A module imports
only from its own layer or lower ones (top-level and function-local imports
alike; imports under ``if TYPE_CHECKING:`` are for annotations and do not
count), modules never import each other in a circle, and nothing in the
product imports ``managedjob.testing``. No module is over 800 lines and no
class over 500.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "managedjob"

# Lowest first. A module's layer is that of the longest prefix listed.
LAYERS: list[tuple[str, ...]] = [
    ("managedjob.exceptions", "managedjob._checks", "managedjob._naming", "managedjob._throttle"),
    ("managedjob._wait", "managedjob._retry", "managedjob._split", "managedjob._limits"),
    ("managedjob._convert", "managedjob._qobj", "managedjob._pubs"),
    ("managedjob.targets",),
    ("managedjob._managed_job", "managedjob._watch"),
    ("managedjob._journal",),
    ("managedjob._results", "managedjob._report", "managedjob._job_set", "managedjob._restore"),
    ("managedjob._manager_sets", "managedjob._manager_exit", "managedjob._estimate"),
    ("managedjob._manager", "managedjob._managed_backend"),
    ("managedjob.cli", "managedjob", "managedjob.__main__"),
]
# Used by nothing in the product; may use everything but the CLI.
SIDE = "managedjob.testing"

MAX_MODULE_LINES = 800
MAX_CLASS_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(name: str) -> int:
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for layer, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if within(name, prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), layer)
    assert best is not None, f"{name} is in no layer: add it to LAYERS and DESIGN.md"
    return best[1]


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported(tree: ast.AST, importer: str, is_package: bool) -> Iterator[tuple[str, int]]:
    """Every managedjob module ``tree`` imports at run time, with its line."""

    def walk(node: ast.AST) -> Iterator[ast.AST]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and is_type_checking(child.test):
                yield from (n for stmt in child.orelse for n in [stmt, *walk(stmt)])
                continue
            yield child
            yield from walk(child)

    package = importer if is_package else importer.rpartition(".")[0]
    known = modules()
    for node in walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if within(alias.name, "managedjob"):
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            if not within(source, "managedjob"):
                continue
            for alias in node.names:
                candidate = f"{source}.{alias.name}"
                yield (candidate if candidate in known else source), node.lineno


def graph() -> dict[str, list[tuple[str, int]]]:
    edges: dict[str, list[tuple[str, int]]] = {}
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        edges[name] = list(imported(tree, name, path.name == "__init__.py"))
    return edges


def test_every_module_has_a_layer() -> None:
    for name in modules():
        if not within(name, SIDE):
            layer_of(name)


def test_imports_go_down_only() -> None:
    wrong = []
    for importer, targets in graph().items():
        for target, line in targets:
            if within(target, SIDE):
                if not within(importer, SIDE):
                    wrong.append(f"{importer}:{line} imports {target} (testing is not product)")
                continue
            if within(importer, SIDE):
                if within(target, "managedjob.cli"):
                    wrong.append(f"{importer}:{line} imports the CLI {target}")
                continue
            if layer_of(target) > layer_of(importer):
                wrong.append(
                    f"{importer}:{line} (layer {layer_of(importer)}) imports {target} "
                    f"(layer {layer_of(target)})"
                )
    assert not wrong, "imports of a higher layer:\n" + "\n".join(wrong)


def test_no_import_cycles() -> None:
    edges = {
        name: sorted({t for t, _ in targets if t != name}) for name, targets in graph().items()
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []
    cycles: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in edges.get(name, []):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("name", sorted(modules()))
def test_parts_are_small(name: str) -> None:
    path = modules()[name]
    text = path.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines (at most {MAX_MODULE_LINES})"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            assert node.end_lineno is not None
            size = node.end_lineno - node.lineno + 1
            assert size <= MAX_CLASS_LINES, (
                f"class {node.name} in {name} has {size} lines (at most {MAX_CLASS_LINES})"
            )
