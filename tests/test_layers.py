"""The tree reads as the pipeline: dependencies flow downward only, and no two modules import each other.

Layers, from the bottom: the shared core (top-level modules of ``avr``), evaluation, data, the two
stages (``sft`` and ``rl``, which never import each other), the CPU-scale world (``miniature``), and
the command line. A module may import its own package or a lower layer, at module level or inside a
function alike (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests import REPO

AVR = REPO / "avr"
LAYERS = {"core": 0, "eval": 1, "data": 2, "sft": 3, "rl": 3, "miniature": 4, "cli": 5}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def group(module: str) -> str:
    """``avr.rl.reward`` -> ``rl``; a top-level module (``avr.formats``) is the core; ``avr.cli`` is cli."""
    parts = module.split(".")
    if module == "avr.cli":
        return "cli"
    if len(parts) >= 2 and parts[1] in LAYERS and (AVR / parts[1]).is_dir():
        return parts[1]
    return "core"


def imports_of(path: Path, module: str) -> set[str]:
    """Every avr module ``path`` imports (module level or not), resolved to existing modules."""
    out: set[str] = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            # `from pkg import sub` imports the submodule; `from pkg import name` imports pkg itself
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
            names = subs if len(subs) == len(node.names) else [base, *subs]
        for name in names:
            if name.startswith("avr.") or name == "avr":
                while name and name not in MODULES:
                    name = name.rpartition(".")[0]
                if name and name != module and name != "avr":
                    out.add(name)
    return out


MODULES = {module_name(p): p for p in AVR.rglob("*.py")}
GRAPH = {m: imports_of(p, m) for m, p in MODULES.items()}


def test_the_layers_cover_every_package():
    packages = {p.name for p in AVR.iterdir() if (p / "__init__.py").is_file()}
    assert packages <= set(LAYERS) | {"assets"}, f"a package with no layer: {packages - set(LAYERS)}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_points_upward_or_across_stages(module):
    mine = group(module)
    for dep in sorted(GRAPH[module]):
        theirs = group(dep)
        if theirs == mine:
            continue
        assert LAYERS[theirs] < LAYERS[mine], (
            f"{module} ({mine}) imports {dep} ({theirs}): dependencies must point down "
            f"({' < '.join(sorted(LAYERS, key=LAYERS.get))}; sft and rl never import each other)"
        )


def test_no_import_cycle():
    """Tarjan's strongly connected components over the module graph: each must be a single module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not cycles, f"modules that import each other: {cycles}"


def test_the_walker_sees_lazy_and_relative_imports(tmp_path):
    """The check itself: an import inside a function counts."""
    assert "avr.miniature.standin" in GRAPH["avr.miniature.experiment.run"]  # imported inside a function
    assert group("avr.rl.reward") == "rl" and group("avr.formats") == "core" and group("avr.cli") == "cli"
