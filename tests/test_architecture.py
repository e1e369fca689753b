"""The package's import graph: no cycles, no import upward, no core module on a built-in.

Computed from the source with ``ast``: every import that runs (imports under
``if TYPE_CHECKING:`` are for the type checker only and are left out).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "siteupdates"

#: Lower layers never import higher ones; a module may import its own layer.
LAYERS: Dict[str, int] = {
    "siteupdates.errors": 0,
    "siteupdates.logs": 0,
    "siteupdates.checks": 1,
    "siteupdates.domain": 1,
    "siteupdates.ports": 2,
    "siteupdates._portvalues": 2,
    "siteupdates.hookspecs": 2,
    "siteupdates.leases": 2,
    "siteupdates.notices": 2,
    "siteupdates.presets": 2,
    "siteupdates.registry": 2,
    "siteupdates.plugins": 3,
    "siteupdates.sql": 3,
    "siteupdates.setupfile": 3,
    "siteupdates.builtin": 4,
    "siteupdates.app": 5,
    "siteupdates.service": 6,
    "siteupdates.usecases": 6,
    "siteupdates.cli": 7,
    "siteupdates.testing": 7,
    "siteupdates": 8,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _is_dynamic_import(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return (
        name in ("import_module", "__import__")
        and bool(call.args)
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
        and call.args[0].value.startswith(PACKAGE)
    )


def runtime_imports(path: Path, modules: Set[str]) -> Set[str]:
    """The package modules ``path`` imports when it runs."""
    name = module_name(path)
    is_package = path.name == "__init__.py"
    found: Set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Call) and _is_dynamic_import(child):
                # import_module("siteupdates.x") is an import all the same.
                found.add(str(child.args[0].value))  # type: ignore[attr-defined]
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                subs = {f"{target}.{a.name}" for a in child.names} & modules
                # ``from pkg import sub`` depends on the submodule, not on the package.
                found.update(subs or {target})
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in modules and m != name}


def graph() -> Dict[str, Set[str]]:
    files = sorted((SRC / PACKAGE).rglob("*.py"))
    modules = {module_name(f) for f in files}
    return {module_name(f): runtime_imports(f, modules) for f in files}


def layer(module: str) -> int:
    best = max((k for k in LAYERS if module == k or module.startswith(k + ".")), key=len)
    return LAYERS[best]


def test_no_module_imports_its_own_package() -> None:
    """A submodule reaching for its package's ``__init__`` is a cycle in waiting."""
    offenders = [
        f"{m} imports its package {t}"
        for m, targets in graph().items()
        for t in targets
        # ``python -m pkg`` runs pkg.__main__ after pkg: importing it there is the point.
        if m.startswith(t + ".") and not m.endswith(".__main__")
    ]
    assert offenders == []


def test_the_package_has_no_import_cycles() -> None:
    edges = graph()
    # A package importing its own submodules to re-export them is not a cycle.
    edges = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in edges.items()}
    state: Dict[str, int] = {}
    cycles: List[List[str]] = []

    def walk(m: str, stack: List[str]) -> None:
        state[m] = 1
        for t in sorted(edges.get(m, ())):
            if state.get(t) == 1:
                cycles.append([*stack[stack.index(t) :], t])
            elif t not in state:
                walk(t, [*stack, t])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            walk(m, [m])
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_module_imports_a_higher_layer() -> None:
    upward = [
        f"{m} (layer {layer(m)}) imports {t} (layer {layer(t)})"
        for m, targets in graph().items()
        for t in targets
        if layer(t) > layer(m)
    ]
    assert upward == []


def test_the_core_never_imports_a_builtin_plugin() -> None:
    """Built-ins are plugins: the core names them only in ``plugins.DEFAULT_PLUGINS``.

    That list holds "module:attribute" strings loaded like any plugin, so a host
    can block each by name; no other module may import one.
    """
    offenders = [
        f"{m} imports {t}"
        for m, targets in graph().items()
        for t in targets
        if t.startswith("siteupdates.builtin") and not m.startswith("siteupdates.builtin")
    ]
    assert offenders == []


def test_the_graph_sees_real_imports() -> None:
    """The checks above could pass on an empty graph; this one could not."""
    edges = graph()
    assert "siteupdates.app.bootstrap" in edges["siteupdates.app.contact"]
    assert "siteupdates.domain.model" in edges["siteupdates.domain.lifecycle"]
    assert "siteupdates.sql" in edges["siteupdates.builtin.sqlite"]
    assert "siteupdates.hookspecs" in edges["siteupdates.plugins"]


def test_nothing_outside_the_facade_calls_a_private_member_of_the_desk() -> None:
    root = SRC.parent
    private = "desk" + "._"  # spelled apart so that this file does not match itself
    hits = [
        f"{p.relative_to(root)}:{n}"
        for base in ("src", "tests", "plugins", "examples", "benchmarks")
        for p in (root / base).rglob("*.py")
        if p.name != "service.py"
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if private in line or private.capitalize() in line
    ]
    assert hits == []
