"""The service packages import each other without a cycle.

The graph is read from the source with ``ast``: an edge ``a -> b`` for every import in a module of
package ``service.a`` of anything in ``service.b``, also imports inside functions (a deferred import
hides a dependency; it does not remove it). The outer layer that wires the domains to HTTP, the
command line and the demo (``api.py``, ``*_api.py``, ``cli.py``, ``demo.py``, ``service/web/``,
``service/flows.py`` and the app factory) may import any domain and is left out; everything else
(models, operations, schemas, rule modules) must form a layered graph.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[1] / "service"
OUTER_FILES = {"api.py", "cli.py", "demo.py"}
OUTER_TOP = {"__init__.py", "cli.py", "demo.py", "domains.py", "flows.py"}


def _outer(path: Path, root: Path) -> bool:
    relative = path.relative_to(root)
    if len(relative.parts) == 1:
        return relative.name in OUTER_TOP
    return relative.parts[0] == "web" or relative.name in OUTER_FILES or relative.name.endswith("_api.py")


def _module(path: Path, root: Path) -> list[str]:
    parts = ["service", *path.relative_to(root).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def _package(dotted: list[str]) -> str:
    return ".".join(dotted[:2])


def import_graph(root: Path = SERVICE) -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> ["file:line", ...]"""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(root.rglob("*.py")):
        if _outer(path, root):
            continue
        module = _module(path, root)
        package_parts = module if path.name == "__init__.py" else module[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [name.name.split(".") for name in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package_parts[: len(package_parts) - (node.level - 1)]
                    base = base + (node.module.split(".") if node.module else [])
                else:
                    base = (node.module or "").split(".")
                # ``from .. import conduct`` names a package; ``from ..conduct import x`` a module of one
                targets = [base + [name.name] for name in node.names] if len(base) < 2 else [base]
            else:
                continue
            for target in targets:
                if target[0] != "service" or len(target) < 2:
                    continue
                source, imported = _package(module), _package(target)
                if source != imported:
                    graph[source][imported].append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return graph


def find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    """One cycle as a path of packages (first == last), or None."""
    state: dict[str, str] = {}
    trail: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        trail.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == "open":
                return trail[trail.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        trail.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_service_packages_import_each_other_without_a_cycle():
    graph = import_graph()
    cycle = find_cycle(graph)
    if cycle:
        steps = [f"{a} -> {b} ({', '.join(graph[a][b][:3])})" for a, b in zip(cycle, cycle[1:], strict=False)]
        raise AssertionError("import cycle:\n  " + "\n  ".join(steps))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b": []}, "b": {"c": []}, "c": {"a": []}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": []}, "b": {}, "c": {"a": []}}) is None


def test_the_graph_sees_imports_inside_functions_and_skips_the_outer_layer(tmp_path):
    root = tmp_path / "service"
    for package, source in {
        "alpha": "def f():\n    from ..beta.operations import g  # deferred, still a dependency\n",
        "beta": "from ..alpha import operations\n",
    }.items():
        (root / package).mkdir(parents=True)
        (root / package / "operations.py").write_text(source)
        (root / package / "api.py").write_text("from ..gamma import operations\n")
    graph = import_graph(root)
    assert find_cycle(graph) == ["service.alpha", "service.beta", "service.alpha"]
    assert "service.gamma" not in graph["service.alpha"]
