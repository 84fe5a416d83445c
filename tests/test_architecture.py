"""The package's shape: imports run one way, from the public API down to encoding.

Every ``import`` in ``src/ragtel`` counts: lazy ones inside functions (an
import deferred for speed is still a dependency) and those under
``if TYPE_CHECKING:`` (a type named is a module a reader must know) alike. A
lower layer that must hold an upper layer's objects names them by their shape,
with a ``Protocol``. See ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "ragtel"

# Top to bottom: a module may import from its own layer or any layer below it.
LAYERS: list[tuple[str, ...]] = [
    ("ragtel", "ragtel.__main__", "ragtel.testing", "ragtel.cli", "ragtel.instrumentation"),
    ("ragtel._factory", "ragtel._tracer_options"),
    ("ragtel._tracer",),
    ("ragtel._record",),
    ("ragtel._context",),
    ("ragtel._sdk",),
    ("ragtel._attributes",),
    ("ragtel._encoding",),
    ("ragtel._config", "ragtel._environment", "ragtel._state"),
    ("ragtel._types", "ragtel._documents", "ragtel._version", "ragtel.semconv"),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    best = (-1, -1)  # (length of the longest matching prefix, layer)
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and len(prefix) > best[0]:
                best = (len(prefix), index)
    assert best[1] >= 0, f"{module} belongs to no layer: add it to LAYERS"
    return best[1]


def imports_of(path: Path) -> set[str]:
    """The ragtel modules ``path`` imports, at run time or for types."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    found: set[str] = set()
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from ragtel._sdk import provider` imports the module ragtel._sdk.provider.
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path) for path in PACKAGE.rglob("*.py")}


def test_no_module_imports_one_above_its_layer() -> None:
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        for target in targets
        if layer_of(target) < layer_of(module)
    )
    assert upward == []


def test_there_is_no_import_cycle() -> None:
    graph = import_graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def walk(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            # A package's __init__ importing its own submodules is not a cycle of design.
            if target.startswith(module + "."):
                continue
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                walk(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module)
    assert cycles == []


@pytest.mark.parametrize("module", ["ragtel._tracer", "ragtel._sdk.processor"])
def test_the_graph_is_read(module: str) -> None:
    # Guards the two tests above against reading nothing.
    assert len(import_graph()[module]) >= 3


def test_no_module_finds_another_through_sys_modules() -> None:
    # A dependency taken through sys.modules hides from the import graph and from readers:
    # pass the collaborator in instead.
    hidden = sorted(
        f"{path.relative_to(SRC)}:{number}"
        for path in PACKAGE.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "sys.modules" in line and '"ragtel' in line
    )
    assert hidden == []
