"""The shape of the house, checked: no import cycles, no imports by string, no task names outside tasks/.

These read the package's source with :mod:`ast`; nothing is imported, so they run in milliseconds.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "seqlab"
TASK_NAMES = {
    "language-model",
    "classification",
    "image-classification",
    "autoencoder",
    "series-autoencoder",
    "gan",
    "image-translation",
    "seq2seq",
    "forecast",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, tuple[Path, ast.Module]]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        found[module_name(path)] = (path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return found


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """True for an import under ``if TYPE_CHECKING:`` (types only; never executed)."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports(modules: dict[str, tuple[Path, ast.Module]]) -> dict[str, set[str]]:
    """Module -> the seqlab modules it imports, at module level or inside functions (not for types only)."""
    graph: dict[str, set[str]] = {}
    for name, (path, tree) in modules.items():
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(tree):
            if _type_checking_only(node, parents):
                continue
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in modules else base)
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_the_package():
    """Data flows one way; a lazy import inside a function counts too, since it hides the same loop."""
    # a package's __init__ re-exporting its own submodules is how a package is built, not a loop
    graph = imports(sources())
    for name in graph:
        graph[name] = {t for t in graph[name] if not (t.startswith(name + ".") or name.startswith(t + "."))}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_no_import_by_string_inside_the_package():
    """Only ``seqlab/__init__.py``'s documented lazy attributes import by name."""
    found = []
    for name, (path, tree) in sources().items():
        if name == "seqlab":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = ast.unparse(node.func)
                if called in ("__import__", "importlib.import_module", "import_module"):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "\n".join(found)


def _task_name_literals(node: ast.AST) -> set[str]:
    values = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return {v.value for v in values if isinstance(v, ast.Constant) and v.value in TASK_NAMES}


def test_no_branch_on_a_task_name_outside_tasks():
    """What differs between tasks is a method of the task's class, not an ``if task == ...`` elsewhere."""
    found = []
    for name, (path, tree) in sources().items():
        if name.startswith("seqlab.tasks"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                names = set().union(*(_task_name_literals(n) for n in [node.left, *node.comparators]))
                if names:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {ast.unparse(node)}")
            elif isinstance(node, ast.match_case) and _task_name_literals(getattr(node.pattern, "value", node)):
                found.append(f"{path.relative_to(PACKAGE)}:{node.pattern.lineno}: case {ast.unparse(node.pattern)}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("floor", ["seqlab.layers", "seqlab.text", "seqlab.decode", "seqlab.training"])
def test_floors_import_nothing_above_them(floor):
    """The floors never import tasks, run, cli, serve or experiments."""
    above = ("seqlab.tasks", "seqlab.run", "seqlab.cli", "seqlab.serve", "seqlab.experiments")
    graph = imports(sources())
    bad = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module == floor or module.startswith(floor + ".")
        for target in targets
        if any(target == name or target.startswith(name + ".") for name in above)  # seqlab.rundir is not seqlab.run
    ]
    assert not bad, "\n".join(bad)


class _Stop(Exception):
    """Raised from the first optimizer step, to end the traced command there."""


@pytest.mark.network("shakespeare")
def test_seqlab_train_reaches_optimizer_step_through_at_most_six_files(monkeypatch, cli, tmp_path):
    """From the console script to ``optimizer.step()``, a reader opens at most six seqlab files."""
    import traceback

    import torch

    seen: list[str] = []

    def step(self, *args, **kwargs):
        seen.extend(frame.filename for frame in traceback.extract_stack())
        raise _Stop

    monkeypatch.setattr(torch.optim.Optimizer, "step", step)
    from seqlab.training.fused_adam import FusedAdam, FusedAdamW

    for cls in (torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD, torch.optim.RMSprop, FusedAdam, FusedAdamW):
        monkeypatch.setattr(cls, "step", step)
    overrides = ["data.limit=3000", "data.block_size=16", "model.embed_dim=8", "model.hidden_size=8"]
    args = ["--debug", "train", "shakespeare-char", "--run-dir", str(tmp_path / "run")]
    with pytest.raises(_Stop):
        cli(*args, *(a for o in overrides for a in ("--set", o)))
    files = list(dict.fromkeys(f for f in seen if f"{PACKAGE}" in f))
    assert files, "optimizer.step() was never reached"
    assert len(files) <= 6, "\n".join(str(Path(f).relative_to(PACKAGE)) for f in files)
