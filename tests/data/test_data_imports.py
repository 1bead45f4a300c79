"""The data package imports in one direction: no module of seqlab.data is part of an import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import seqlab

PACKAGE = Path(seqlab.__file__).parent


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("seqlab", *path.relative_to(PACKAGE).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its text (also inside functions and
    ``if TYPE_CHECKING``: a reader sees those edges too)."""
    modules = module_names()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from .x import y, from .. import z
                    parts = package.split(".")
                    anchor = ".".join(parts[: len(parts) - node.level + 1])
                    base = f"{anchor}.{base}" if base else anchor
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
                ]
            else:
                continue
            graph[name].update(target for target in targets if target in modules and target != name)
    return graph


def find_cycle(graph: dict[str, set[str]], through: str) -> list[str] | None:
    """One import cycle through a module whose name starts with ``through``, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt]
                if any(m.startswith(through) for m in cycle):
                    return cycle
            elif nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    graph = {"seqlab.data.a": {"seqlab.data.b"}, "seqlab.data.b": {"seqlab.data.a"}, "seqlab.x": set()}
    assert find_cycle(graph, "seqlab.data") == ["seqlab.data.a", "seqlab.data.b", "seqlab.data.a"]


def test_no_module_of_seqlab_data_is_in_an_import_cycle():
    graph = import_graph()
    assert {"seqlab.data.fetching.catalog", "seqlab.data.fetching.builders.pairs"} <= set(graph)
    assert "seqlab.data.fetching.sources" not in graph["seqlab.data.fetching.builders.pairs"]
    cycle = find_cycle(graph, "seqlab.data")
    assert cycle is None, " -> ".join(cycle or [])


def test_the_supply_chain_does_not_import_the_readers():
    graph = import_graph()
    for name, imported in graph.items():
        if name.startswith("seqlab.data.fetching"):
            outside = {m for m in imported if m.startswith("seqlab.data") and not m.startswith("seqlab.data.fetching")}
            assert not outside, f"{name} imports {outside}"
