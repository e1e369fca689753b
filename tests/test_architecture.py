"""The package's layout: its import graph, its private names and its modules' size.

Computed from the source with ``ast``. The layering checks follow every import
that runs (imports under ``if TYPE_CHECKING:`` are for the type checker only and
are left out of them); the cycle and plugin-contract checks of issue 22 follow
those too: a type-only import is a dependency all the same.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "siteupdates"

#: Lower layers never import higher ones; a module may import its own layer.
LAYERS: Dict[str, int] = {
    "siteupdates.errors": 0,
    "siteupdates.refusal": 0,
    "siteupdates.logs": 0,
    "siteupdates.observe": 0,
    "siteupdates.tracing": 0,
    "siteupdates.logformat": 0,
    "siteupdates.checks": 1,
    "siteupdates.domain": 1,
    # The contact's language: gettext catalogs, Babel dates; the notices need it.
    "siteupdates.i18n": 1,
    "siteupdates.ports": 2,
    "siteupdates._portvalues": 2,
    "siteupdates.runs": 2,
    "siteupdates.hookspecs": 2,
    "siteupdates.leases": 2,
    "siteupdates.notices": 2,
    "siteupdates.presets": 2,
    "siteupdates.registry": 2,
    "siteupdates.webhooks": 2,
    "siteupdates.plugins": 3,
    "siteupdates.sql": 3,
    "siteupdates.setupfile": 3,
    "siteupdates.builtin": 4,
    "siteupdates.app": 5,
    "siteupdates.service": 6,
    "siteupdates.metrics": 6,
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


def runtime_imports(path: Path, modules: Set[str], *, type_only: bool = False) -> Set[str]:
    """The package modules ``path`` imports when it runs (and for types, with ``type_only``)."""
    name = module_name(path)
    is_package = path.name == "__init__.py"
    found: Set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child) and not type_only:
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


def graph(*, type_only: bool = False) -> Dict[str, Set[str]]:
    """Module -> the package modules it imports (``type_only``: TYPE_CHECKING ones too)."""
    files = sorted((SRC / PACKAGE).rglob("*.py"))
    modules = {module_name(f) for f in files}
    return {module_name(f): runtime_imports(f, modules, type_only=type_only) for f in files}


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


def cycles(edges: Dict[str, Set[str]]) -> List[List[str]]:
    """The import cycles of ``edges`` (a package importing its own submodules is none)."""
    # A package importing its own submodules to re-export them is not a cycle.
    edges = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in edges.items()}
    state: Dict[str, int] = {}
    found: List[List[str]] = []

    def walk(m: str, stack: List[str]) -> None:
        state[m] = 1
        for t in sorted(edges.get(m, ())):
            if state.get(t) == 1:
                found.append([*stack[stack.index(t) :], t])
            elif t not in state:
                walk(t, [*stack, t])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            walk(m, [m])
    return found


def test_the_package_has_no_import_cycles() -> None:
    found = cycles(graph())
    assert found == [], "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_the_package_has_no_import_cycles_not_even_through_type_only_imports() -> None:
    """Issue 22: ``errors`` -> ``domain.model`` and ``hookspecs`` -> ``app.executors`` were."""
    found = cycles(graph(type_only=True))
    assert found == [], "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_the_cycle_check_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"p": {"p.x"}, "p.x": {"q"}, "q": set()}) == []


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


# -- issue 22: the layout ---------------------------------------------------------------

ROOT = SRC.parent
#: Where the library's and the first-party plugins' code lives: (source root, top package).
SOURCES: List[Tuple[Path, str]] = [(SRC, PACKAGE)] + [
    (src, pkg.name)
    for src in sorted((ROOT / "plugins").glob("*/src"))
    for pkg in sorted(src.iterdir())
    if (pkg / "__init__.py").is_file()
]
#: Modules that hold use cases: the plugin contract and the errors depend on none.
USE_CASES = ("siteupdates.app", "siteupdates.service", "siteupdates.usecases",
             "siteupdates.api", "siteupdates.cli", "siteupdates.testing")  # fmt: skip
MAX_LINES = 600
#: Modules allowed over MAX_LINES, each with the one idea it holds.
LONG_MODULES: Dict[str, str] = {
    "siteupdates/sql/base.py": "the Storage port written once in SQL for every dialect",
    "siteupdates/domain/policies.py": "the submission rules as policies over one context",
    "siteupdates/domain/planner.py": "placing requests into maintenance windows",
    "siteupdates/domain/model.py": "the domain's values and their converters",
    "siteupdates/setupfile.py": "a setup file read into a Setup, every key checked",
    "siteupdates/domain/messages.py": "what each change tells whom: notices, reminders, "
    "calendar entries, each sentence a catalog message",
    "siteupdates/cli/commands.py": "the commands' bodies that are not one use case each: the "
    "0.2 command forms, the long-running loops, the feed",
}


def _sources() -> Iterator[Tuple[str, Path]]:
    """(dotted module name, path) of every module of the library and the plugins."""
    for src, pkg in SOURCES:
        for path in sorted((src / pkg).rglob("*.py")):
            parts = list(path.relative_to(src).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def _private(name: str) -> bool:
    """``_x`` but neither ``__x__`` nor an enum's ``_x_`` (their public protocol)."""
    return name.startswith("_") and not name.startswith("__") and not name.endswith("_")


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def private_imports(module: str, path: Path, modules: Set[str]) -> List[str]:
    """Private names ``module`` takes from another module, by import or attribute.

    ``from m import _x``; a private module imported from outside the package that
    holds it (``pkg._impl`` is the business of ``pkg``'s modules only); and
    ``m._x`` (or ``m.a._x``) on a name an import bound.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: List[str] = []
    bound: Set[str] = set()

    def outside(target: str) -> bool:
        parts = target.split(".")
        for i, part in enumerate(parts):
            if _private(part):
                holder = ".".join(parts[:i])
                return not (module == holder or module.startswith(holder + "."))
        return False

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                bound.add(a.asname or a.name.split(".")[0])
                if outside(a.name):
                    found.append(f"{module}:{node.lineno} imports {a.name}")
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, is_package, node)
            if outside(target):
                found.append(f"{module}:{node.lineno} imports from {target}")
                continue
            for a in node.names:
                bound.add(a.asname or a.name)
                name = f"{target}.{a.name}"
                # ``from pkg import _impl`` names a private module: fine inside pkg.
                if outside(name) if name in modules else _private(a.name):
                    found.append(f"{module}:{node.lineno} imports {name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            root: ast.AST = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in bound:
                found.append(f"{module}:{node.lineno} reads {root.id}...{node.attr}")
    return found


def test_no_private_name_is_imported_from_another_module() -> None:
    """A name with a leading underscore is its module's own; a fast path others need is public.

    Issue 22 counted twelve (``domain.model._trusted_request`` in the app and the
    SQL codec, ``timeutil._day`` in the messages, ...).
    """
    sources = list(_sources())
    modules = {m for m, _ in sources}
    found = [hit for module, path in sources for hit in private_imports(module, path, modules)]
    assert found == []


def test_the_private_name_check_sees_each_form(tmp_path: Path) -> None:
    code = (
        "import pkg._impl\nfrom other import _helper\nfrom other._impl import x\n"
        "from . import _sibling\nimport other\nother._cache.clear()\nother.Thing._x\n"
        "from pkg._impl import fine\nfrom pkg.sub import _Enum\nnot_imported._x\n"
        "other.__name__\nother.KIND._value_\n"
    )
    path = tmp_path / "mod.py"
    path.write_text(code, encoding="utf-8")
    got = private_imports("pkg.mod", path, {"pkg._impl", "pkg._sibling", "other._impl"})
    lines = sorted(int(g.split(":")[1].split()[0]) for g in got)
    assert lines == [2, 3, 6, 7, 9], got


def test_the_plugin_contract_and_the_errors_import_no_use_case() -> None:
    """``hookspecs`` and ``plugins`` name the executors' values from the leaf ``runs``.

    ``errors`` sits below everything: it imports only leaves (modules that import
    nothing of siteupdates), type-only imports included.
    """
    edges = graph(type_only=True)
    contract = [
        f"{m} imports {t}"
        for m in ("siteupdates.hookspecs", "siteupdates.plugins")
        for t in sorted(edges[m])
        if any(t == u or t.startswith(u + ".") for u in USE_CASES)
    ]
    assert contract == []
    assert sorted(t for t in edges["siteupdates.errors"] if edges[t]) == []
    assert "siteupdates.runs" in edges["siteupdates.hookspecs"]


def test_the_testing_fixtures_are_imported_by_no_library_module() -> None:
    """``siteupdates.testing`` (a module or a package of contract suites) is for tests only.

    It sits on top of the layers; no module of the library or of a plugin's code
    imports it (plugins' tests do).
    """
    edges = graph(type_only=True)
    testing = sorted(m for m in edges if m == "siteupdates.testing"
                     or m.startswith("siteupdates.testing."))  # fmt: skip
    assert testing, "siteupdates.testing is gone"
    assert all(layer(m) == max(LAYERS.values()) - 1 for m in testing)
    users = [
        f"{m} imports {t}"
        for m, targets in edges.items()
        if m not in testing
        for t in targets
        if t in testing
    ]
    plugin_users = [
        f"{module} imports siteupdates.testing"
        for module, path in _sources()
        if not module.startswith(PACKAGE + ".") and module != PACKAGE
        and "siteupdates.testing" in path.read_text(encoding="utf-8")
    ]  # fmt: skip
    assert users == [] and plugin_users == []


def test_no_module_is_longer_than_600_lines_without_its_one_idea_stated() -> None:
    sizes = {
        str(path.relative_to(src)): len(path.read_text(encoding="utf-8").splitlines())
        for src, _ in SOURCES
        for path in sorted(src.rglob("*.py"))
    }
    long = {p: n for p, n in sizes.items() if n > MAX_LINES}
    unexplained = sorted(f"{p} ({n} lines)" for p, n in long.items() if p not in LONG_MODULES)
    assert unexplained == [], (
        f"split these, or state their one idea in LONG_MODULES: {unexplained}"
    )
