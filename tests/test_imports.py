"""The library's imports: no cycles between its modules (function-local imports included), and ``import accelml`` loads
none of the heavy libraries.

A function-local import hides a cycle from Python at import time but not from the design: the two modules still need
each other. The graph here counts every ``import``/``from ... import`` of ``accelml`` found anywhere in a module (at
module level or inside a function), except those under ``if TYPE_CHECKING:``, which never run. Names resolved at run
time (the registries' ``"accelml.models.lgbm:LightGBMModel"`` strings, ``importlib.import_module``) are not counted:
a registry entry is loaded lazily, by design, and is the registry's business.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "accelml"
SKIPPED = {"accelml.conftest"}  # pytest's collection settings, never imported by the library


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``line``."""

    source: str
    target: str
    line: int


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def library_modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by the name of its ``__init__.py``)."""
    modules = {module_name(path, root): path for path in sorted(root.rglob("*.py"))}
    return {name: path for name, path in modules.items() if name not in SKIPPED}


def _type_checking_only(tree: ast.AST) -> set[int]:
    """The ids of the import nodes under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else None
            if name == "TYPE_CHECKING":
                hidden.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return hidden


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> Iterator[Edge]:
    """Every module of the package that module ``name`` imports, with the line of the import.

    ``import a.b`` and ``from a.b import c`` count as importing ``a.b`` (its ``__init__.py`` for a package), or the
    submodule ``a.b.c`` when ``c`` is one; the parent packages Python also runs on the way are not counted.
    """
    top = name.partition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    hidden = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - (node.level - 1)], *([node.module] if node.module else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        for target in targets:
            # a namespace package (a folder without ``__init__.py``: search/, ensemble/) runs no code: not counted
            if target in modules and target != name and (target == top or target.startswith(f"{top}.")):
                yield Edge(name, target, node.lineno)


def import_graph(root: Path = PACKAGE) -> tuple[dict[str, set[str]], list[Edge]]:
    """Module -> the modules it imports, and every import as an edge with its line."""
    modules = library_modules(root)
    found = {edge for name, path in modules.items() for edge in imported_modules(name, path, modules)}
    edges = sorted(found, key=lambda e: (e.source, e.line, e.target))  # one per module and line
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for edge in edges:
        graph[edge.source].add(edge.target)
    return graph, edges


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module, each sorted (iterative: no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> Iterator[str]:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        return iter(sorted(graph[node]))

    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, visit(root))]
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    work.append((child, visit(child)))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while not component or component[-1] != node:
                    component.append(stack.pop())
                    on_stack.discard(component[-1])
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components)


def describe(component: list[str], edges: list[Edge], root: Path = PACKAGE) -> str:
    """The modules of one cycle and the import lines that join them."""
    members = set(component)
    modules = library_modules(root)
    lines = [f"cycle between {', '.join(component)}:"]
    for edge in edges:
        if edge.source in members and edge.target in members:
            where = modules[edge.source].relative_to(root.parent)
            lines.append(f"    {where}:{edge.line} imports {edge.target}")
    return "\n".join(lines)


def test_no_import_cycles() -> None:
    graph, edges = import_graph()
    cycles = strongly_connected(graph)
    assert not cycles, "import cycles (move the shared code down a layer, see ARCHITECTURE.md):\n" + "\n".join(
        describe(component, edges) for component in cycles
    )


def test_graph_counts_function_local_relative_and_submodule_imports(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    files = {
        "__init__.py": "",
        "a.py": "def f():\n    from pkg.sub import b\n    from pkg.ns import x\n",  # function-local; submodules
        "ns/x.py": "import pkg.ns\n",  # a namespace package: no code of its own
        "sub/__init__.py": "from .b import g\n",  # relative
        "sub/b.py": "import pkg.c\n",
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\nfrom . import d\n",
        "d.py": "import pkg.sub\n",  # a package: its __init__.py
    }
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    graph, edges = import_graph(root)
    assert graph == {
        "pkg": set(), "pkg.a": {"pkg.sub.b", "pkg.ns.x"}, "pkg.ns.x": set(), "pkg.sub": {"pkg.sub.b"},
        "pkg.sub.b": {"pkg.c"}, "pkg.c": {"pkg.d"}, "pkg.d": {"pkg.sub"},
    }
    assert strongly_connected(graph) == [["pkg.c", "pkg.d", "pkg.sub", "pkg.sub.b"]]
    assert "pkg/a.py" not in describe(["pkg.c", "pkg.d", "pkg.sub", "pkg.sub.b"], edges, root)


# what ``import accelml`` must not load: each takes from 0.1 s (numpy) to seconds (torch) to import
HEAVY = (
    "catboost", "fastapi", "lightgbm", "matplotlib", "numpy", "onnx", "onnxruntime", "optuna", "pandas", "scipy",
    "sklearn", "torch", "uvicorn", "xgboost",
)


def test_import_accelml_loads_no_heavy_library() -> None:
    code = f"import sys, accelml; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent
    ).stdout.split()
    assert loaded == [], f"`import accelml` imports {', '.join(loaded)}; import them inside the functions that use them"


def test_fit_result_is_still_importable_from_run() -> None:
    from accelml.result import FitResult
    from accelml.run import FitResult as from_run  # the name before FitResult moved out of run.py

    assert from_run is FitResult


# The package's layers, lowest first (ARCHITECTURE.md): a module imports only from its own layer or lower ones.
# Deviation: tasks sits below schema, since a task needs no schema and schema inference checks the target by its task.
LAYERS = (
    {"_json", "_version", "_device", "space", "budget", "registry", "exceptions", "datasets"},
    {"tasks"},
    {"data", "schema"},
    {"metrics", "features", "profiling", "config"},
    {"models"},
    {"validation"},
    {"search"},
    {"ensemble"},
    {"result", "leaderboard"},
    {"export", "report", "monitor", "explain", "serve"},
    {"run", "run_recommend"},
    {"automl", "sklearn_api"},
    {"cli"},
)
# Upward imports that are deliberate: the service and the ONNX export open a saved model through the facade's load
UPWARD = {("accelml.serve.app", "accelml.automl"), ("accelml.export.onnx", "accelml.automl")}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else None
    return next((i for i, names in enumerate(LAYERS) if top in names), None)


def test_dependencies_flow_one_way() -> None:
    _, edges = import_graph()
    unplaced = sorted({m for e in edges for m in (e.source, e.target) if m != "accelml" and _layer(m) is None})
    assert unplaced == [], f"place these packages in LAYERS: {unplaced}"
    upward = [f"{e.source}:{e.line} imports {e.target}" for e in edges
              if e.source != "accelml" and e.target != "accelml" and (e.source, e.target) not in UPWARD
              and _layer(e.target) > _layer(e.source)]
    assert upward == [], "imports against the layering:\n" + "\n".join(upward)
