"""The layering in DESIGN.md, enforced: imports point down, no cycles, no private reach-ins.

Every import in `traitlab/` counts, including imports inside functions: a lazy import hides a
cycle from Python, not from a reader.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import traitlab

PACKAGE = Path(traitlab.__file__).parent

# What each area may import (besides itself). The core is the bottom: judging, scores,
# statistics, prompts, the record types and JSONL files, and the model interface import nothing
# above them. `traitlab.datasets` holds generation, which runs the lint: nothing below the entry
# points imports it but generation itself.
CORE = {
    "traitlab",
    "traitlab.cli_args",
    "traitlab.embeddings",
    "traitlab.errors",
    "traitlab.files",
    "traitlab.frontmatter",
    "traitlab.judging",
    "traitlab.jsonl",
    "traitlab.lazy",
    "traitlab.llm",
    "traitlab.models",
    "traitlab.prompts",
    "traitlab.records",
    "traitlab.sandbox",
    "traitlab.scores",
    "traitlab.statistics",
    "traitlab.text",
    "traitlab.traits",
}
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "traitlab.solvers": {"core"},
    "traitlab.scorers": {"core", "traitlab.solvers"},
    "traitlab.lint": {"core"},
    "traitlab.training": {"core"},
    "traitlab.report": {"core"},
    "traitlab.datasets": {"core", "traitlab.lint"},
    # An eval may use the shared pieces, never another eval's folder.
    "traitlab.evals": {
        "core",
        "traitlab.solvers",
        "traitlab.scorers",
        "traitlab.lint",
    },
    "top": {"*"},
}
TOP = {"traitlab.cli", "traitlab._registry", "traitlab.training.__main__"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The traitlab modules `path` imports, resolved to modules that exist."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.startswith("traitlab"):
                # `from pkg import submodule` imports the submodule; else the module itself
                while name not in known and "." in name:
                    name = name.rsplit(".", 1)[0]
                if name in known:
                    found.add(name)
    return found


def area(module: str) -> str:
    """The layering area a module belongs to (the most specific one that contains it)."""
    if module in TOP:
        return "top"
    if any(module == core or module.startswith(core + ".") for core in CORE - {"traitlab"}):
        return "core"
    if module == "traitlab":
        return "core"
    for name in sorted(ALLOWED, key=len, reverse=True):
        if module == name or module.startswith(name + "."):
            return name
    raise AssertionError(
        f"{module} is in no layer: add it to tests/test_architecture.py (and DESIGN.md)"
    )


def eval_folder(module: str) -> str | None:
    parts = module.split(".")
    return ".".join(parts[:3]) if parts[:2] == ["traitlab", "evals"] and len(parts) > 2 else None


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(path, set(found)) - {name} for name, path in found.items()}


def test_every_module_belongs_to_a_layer() -> None:
    for module in modules():
        area(module)


def test_imports_point_down() -> None:
    upward = []
    for module, imported in graph().items():
        mine = area(module)
        for target in imported:
            theirs = area(target)
            allowed = ALLOWED[mine]
            if theirs == mine or "*" in allowed or theirs in allowed:
                folder = eval_folder(module)
                if folder and eval_folder(target) not in (None, folder):
                    upward.append(f"{module} -> {target} (another eval's folder)")
                continue
            upward.append(f"{module} ({mine}) -> {target} ({theirs})")
    assert not upward, "imports that point up or sideways:\n" + "\n".join(sorted(upward))


def test_no_import_cycles() -> None:
    edges = graph()
    # Packages import their submodules through __init__; a submodule importing its own package's
    # public name is not a cycle of ideas, so parent-package edges are left out.
    for module, imported in edges.items():
        edges[module] = {t for t in imported if not module.startswith(t + ".")}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in edges.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"


def test_no_private_module_imported_from_outside_its_package() -> None:
    reach_ins = []
    for module, imported in graph().items():
        for target in imported:
            parent, _, leaf = target.rpartition(".")
            private = leaf.startswith("_") and not leaf.startswith("__")
            if private and not (module == parent or module.startswith(parent + ".")):
                reach_ins.append(f"{module} -> {target}")
    assert not reach_ins, "private modules imported from outside:\n" + "\n".join(reach_ins)


def test_no_private_inspect_modules() -> None:
    offenders = [
        f"{module_name(path)}: {node.module}"
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.startswith("inspect_ai.")
        and any(part.startswith("_") for part in node.module.split("."))
    ]
    assert not offenders, offenders


@pytest.mark.parametrize(
    ("importer", "target", "reason"),
    [
        ("traitlab.judging._ask", "traitlab.scorers", "core imports a scorer"),
        ("traitlab.lint.autorate", "traitlab.evals.trait_audit", "lint imports an eval"),
        ("traitlab.lint.items", "traitlab.datasets", "lint imports generation's package"),
        ("traitlab.training.data", "traitlab.datasets.synth", "training imports generation"),
        ("traitlab.evals.odcv.scorer", "traitlab.evals.trait_audit.scorer", "eval to eval"),
    ],
)
def test_the_check_catches_a_planted_violation(importer: str, target: str, reason: str) -> None:
    """The layer rules reject each kind of bad edge (so the tests above can fail)."""
    mine, theirs = area(importer), area(target)
    allowed = theirs == mine or theirs in ALLOWED[mine]
    sideways = eval_folder(importer) not in (None, eval_folder(target)) and bool(
        eval_folder(target)
    )
    assert not allowed or sideways, reason


def test_scorers_and_solvers_export_a_short_documented_api() -> None:
    import traitlab.scorers
    import traitlab.solvers

    for package in (traitlab.scorers, traitlab.solvers):
        assert len(package.__all__) <= 25, f"{package.__name__} exports too much"
        for name in package.__all__:
            # a type alias cannot carry a docstring: the package docstring names it instead
            documented = getattr(package, name).__doc__ or f"`{name}`" in package.__doc__
            assert documented, f"{package.__name__}.{name} is not documented"


def test_each_shared_piece_is_used_by_two_evals() -> None:
    """`solvers/` and `scorers/` hold only what two or more evals use (DESIGN.md)."""
    users: dict[str, set[str]] = defaultdict(set)
    for module, imported in graph().items():
        folder = eval_folder(module)
        if folder is None:
            continue
        for target in imported:
            for shared in ("traitlab.solvers", "traitlab.scorers"):
                if target == shared or target.startswith(shared + "."):
                    users[shared].add(folder)
    for shared in ("traitlab.solvers", "traitlab.scorers"):
        assert len(users[shared]) >= 2, f"{shared} is used by {sorted(users[shared])} only"
