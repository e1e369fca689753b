"""The public API of siteupdates and its plugins, as the reference documents it.

Pure Python (no Sphinx), so that ``tests/test_docs.py`` can ask the same
questions on every supported Python as the documentation build does:

* :data:`PAGES` lists every public module, page by page; a module's public names
  are its ``__all__`` (or, without one, the names it defines without a leading
  underscore);
* an object exported by several modules is documented once, in its *home*: the
  first module of :data:`PAGES` that exports it; the others link there;
* :func:`undocumented` lists the public names (and public methods and
  properties of public classes) that have no docstring.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
import types
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]

#: page name -> (title, modules in the order their names get their home).
PAGES: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    "domain": (
        "siteupdates.domain",
        (
            "siteupdates.domain",
            "siteupdates.domain.model",
            "siteupdates.domain.lifecycle",
            "siteupdates.domain.policies",
            "siteupdates.domain.preset",
            "siteupdates.domain.timeutil",
            "siteupdates.domain.windows",
            "siteupdates.domain.planner",
            "siteupdates.domain.views",
            "siteupdates.domain.messages",
            "siteupdates.domain.meanings",
            "siteupdates.domain.scheduling_settings",
            "siteupdates.domain.daycount",
        ),
    ),
    "errors": ("siteupdates.errors", ("siteupdates.errors", "siteupdates.checks")),
    "ports": (
        "Ports: storage, plugins and setup files",
        (
            "siteupdates.ports",
            "siteupdates.runs",
            "siteupdates.hookspecs",
            "siteupdates.plugins",
            "siteupdates.setupfile",
            "siteupdates.presets",
            "siteupdates.notices",
            "siteupdates.actionlinks",
            "siteupdates.i18n",
            "siteupdates.leases",
            "siteupdates.registry",
            "siteupdates.logs",
        ),
    ),
    "app": (
        "siteupdates.app and the Desk",
        (
            "siteupdates.service",
            "siteupdates.app",
            # Not siteupdates.app.bootstrap: siteupdates.app exports its names (but
            # merge_settings, the Desk's helper), and its function bootstrap hides
            # the module's name.
            "siteupdates.app.contact",
            "siteupdates.app.access",
            "siteupdates.app.provider",
            "siteupdates.app.planning",
            "siteupdates.app.automatic",
            "siteupdates.app.staged",
            "siteupdates.app.deferral",
            "siteupdates.app.slots",
            "siteupdates.app.worker",
            "siteupdates.app.outbox",
            "siteupdates.app.changes",
            "siteupdates.app.executors",
            "siteupdates.app.reports",
            "siteupdates.app.execution",
            "siteupdates.app.rundispatch",
            "siteupdates.app.polling",
            "siteupdates.app.bulk",
            "siteupdates.app.reference",
            "siteupdates.app.actions",
        ),
    ),
    "usecases": (
        "siteupdates.usecases: one declaration per use case",
        (
            "siteupdates.usecases",
            "siteupdates.usecases.declare",
            "siteupdates.usecases.kinds",
            "siteupdates.usecases.catalog",
        ),
    ),
    "sql": (
        "siteupdates.sql",
        (
            "siteupdates.sql",
            "siteupdates.sql.schema",
            "siteupdates.sql.base",
            "siteupdates.sql.codec",
        ),
    ),
    "builtin": (
        "Built-in plugins",
        (
            "siteupdates.builtin.memory",
            "siteupdates.builtin.sqlite",
            "siteupdates.builtin.smtp",
            "siteupdates.builtin.lognotify",
            "siteupdates.builtin.webhooks",
        ),
    ),
    "operations": (
        "Operations: health, metrics, traces, logs and webhooks",
        (
            "siteupdates.app.health",
            "siteupdates.metrics",
            "siteupdates.observe",
            "siteupdates.tracing",
            "siteupdates.logformat",
            "siteupdates.webhooks",
        ),
    ),
    "testing": ("siteupdates.testing", ("siteupdates.testing",)),
    "siteupdates": ("siteupdates (the package)", ("siteupdates",)),
    "postgres": ("siteupdates-postgres", ("siteupdates_postgres",)),
    "ical": ("siteupdates-ical", ("siteupdates_ical",)),
    "web": ("siteupdates-web", ("siteupdates_web",)),
    "django": ("siteupdates-django", ("siteupdates_django",)),
    "freeze": ("siteupdates-freeze (the example plugin)", ("siteupdates_freeze",)),
}

#: Modules of siteupdates deliberately left out of the reference, and why. A new
#: module must be placed in PAGES or here (tests/test_docs.py checks).
INTERNAL: Dict[str, str] = {
    "siteupdates.app.bootstrap": "siteupdates.app exports its names",
    "siteupdates.builtin": "a namespace for the built-in plugins, each listed",
    "siteupdates.cli": "the command line, documented by --help and docs/setup.md",
    "siteupdates.refusal": "a leaf below siteupdates.errors; siteupdates.domain exports Refusal",
    "siteupdates.testing.calendar": "siteupdates.testing exports its names",
    "siteupdates.testing.notifier": "siteupdates.testing exports its names",
    "siteupdates.testing.races": "siteupdates.testing exports its names",
    "siteupdates.testing.storage": "siteupdates.testing exports its names",
    "siteupdates.testing.support": "siteupdates.testing exports its names",
    "siteupdates.usecases.typed": "static types written from the catalog (typing_gen)",
    "siteupdates.usecases.typing_gen": "writes siteupdates.usecases.typed",
}


def is_internal(modname: str) -> bool:
    """Whether a module is out of the reference: private, the CLI, or a plugin's insides.

    A plugin distribution's API is what its package exports; its submodules are
    how it is built.
    """
    parts = modname.split(".")
    if any(part.startswith("_") for part in parts):
        return True
    if parts[0] != "siteupdates":
        return len(parts) > 1
    return any(modname == m or modname.startswith(m + ".") for m in INTERNAL)


def all_modules() -> List[str]:
    """Every module of the library and the plugins, public or not."""
    import pkgutil

    setup_path()
    found = []
    for top in OURS:
        package = importlib.import_module(top)
        found.append(top)
        if hasattr(package, "__path__"):
            found += [i.name for i in pkgutil.walk_packages(package.__path__, top + ".")]
    return found


#: Where modules that are not installed in a development environment live.
EXTRA_PATHS = (ROOT / "examples" / "siteupdates-freeze",)


def setup_path() -> None:
    """Make the example plugin importable (it is never installed for the docs)."""
    for path in EXTRA_PATHS:
        if str(path) not in sys.path:
            sys.path.append(str(path))


def modules() -> List[str]:
    """Every public module, in home order."""
    return [m for _, mods in PAGES.values() for m in mods]


def public_names(module: types.ModuleType) -> List[str]:
    """The module's ``__all__``, or the public names it defines itself."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    found = []
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        defined_here = getattr(value, "__module__", None) == module.__name__
        if defined_here or name in attribute_docs(module):
            found.append(name)
    return found


def _identity(value: Any) -> Optional[int]:
    """Objects worth tracing to a home: classes, functions and mutable values."""
    if isinstance(value, (str, int, float, bool, type(None))):
        return None
    return id(value)


def homes() -> Dict[int, Tuple[str, str]]:
    """``id(object)`` -> (module, name) of the first public module exporting it."""
    setup_path()
    found: Dict[int, Tuple[str, str]] = {}
    for modname in modules():
        module = importlib.import_module(modname)
        for name in public_names(module):
            key = _identity(getattr(module, name))
            if key is not None and key not in found:
                found[key] = (modname, name)
    return found


def home_of(
    modname: str, name: str, table: Optional[Dict[int, Tuple[str, str]]] = None
) -> Tuple[str, str]:
    """Where ``modname.name`` is documented (itself when it is its own home)."""
    table = homes() if table is None else table
    value = getattr(importlib.import_module(modname), name)
    key = _identity(value)
    return table.get(key, (modname, name)) if key is not None else (modname, name)


def attribute_docs(module: types.ModuleType) -> Dict[str, str]:
    """Module-level ``#:`` comments and docstrings after assignments, by name."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    tree = ast.parse(source)
    docs: Dict[str, str] = {}
    body: List[ast.stmt] = []
    for top in tree.body:
        body.append(top)
        if isinstance(top, ast.Try):
            body.extend(top.body)
    for i, node in enumerate(body):
        targets: List[str] = []
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets = [node.target.id]
        if not targets:
            continue
        comment: List[str] = []
        j = node.lineno - 2
        while j >= 0 and lines[j].lstrip().startswith("#:"):
            comment.insert(0, lines[j].lstrip()[2:].strip())
            j -= 1
        text = " ".join(comment)
        after = body[i + 1] if i + 1 < len(body) else None
        if (
            not text
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            text = after.value.value.strip()
        if text:
            for target in targets:
                docs[target] = text
    return docs


#: The distributions' top-level packages: anything else is documented upstream.
OURS = ("siteupdates", "siteupdates_postgres", "siteupdates_ical", "siteupdates_web",
        "siteupdates_django", "siteupdates_freeze")  # fmt: skip


def is_ours(value: Any) -> bool:
    """Whether ``value`` is a class or function of this project, not a re-export."""
    module = getattr(value, "__module__", None) or ""
    return module.split(".")[0] in OURS


def data_doc(modname: str, name: str) -> str:
    """The ``#:`` comment of a data name, found where its package assigns it."""
    value = getattr(importlib.import_module(modname), name)
    package = modname.split(".")[0]
    submodules = sorted(m for m in sys.modules if m.split(".")[0] == package)
    for other in [modname, *modules(), *submodules]:
        module = importlib.import_module(other)
        if getattr(module, name, _MISSING) is value:
            doc = attribute_docs(module).get(name)
            if doc:
                return doc
    return ""


_MISSING = object()


def _own_members(cls: type) -> Iterator[Tuple[str, Any]]:
    """Public methods and properties that ``cls`` defines itself (contract tests aside)."""
    for name, value in vars(cls).items():
        if name.startswith(("_", "test_")):
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if inspect.isfunction(value) or isinstance(value, property):
            yield name, value


def undocumented() -> List[str]:
    """Every public name, method or property that has no docstring."""
    setup_path()
    table = homes()
    missing: List[str] = []
    for modname in modules():
        module = importlib.import_module(modname)
        if not (module.__doc__ or "").strip():
            missing.append(f"{modname} (module)")
        for name in public_names(module):
            if not hasattr(module, name):
                missing.append(f"{modname}.{name} (in __all__ but missing)")
                continue
            if home_of(modname, name, table) != (modname, name):
                continue
            value = getattr(module, name)
            where = f"{modname}.{name}"
            if (inspect.isclass(value) or inspect.isroutine(value)) and not is_ours(value):
                continue  # documented by its own project
            if inspect.ismodule(value):
                if not (value.__doc__ or "").strip():
                    missing.append(where)
            elif inspect.isclass(value) or inspect.isroutine(value):
                if not (value.__doc__ or "").strip():
                    missing.append(where)
                if inspect.isclass(value):
                    for member, attr in _own_members(value):
                        doc = attr.__doc__ if not isinstance(attr, property) else attr.fget.__doc__
                        if not (doc or "").strip():
                            missing.append(f"{where}.{member}")
            elif not data_doc(modname, name) and not _own_doc(value):
                missing.append(f"{where} (data: document it with a #: comment)")
    return missing


def _own_doc(value: Any) -> bool:
    """Whether a data value carries a docstring of its own (a documented callable)."""
    doc = getattr(value, "__doc__", None)
    return bool(doc) and doc != getattr(type(value), "__doc__", None)
