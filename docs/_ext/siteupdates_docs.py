"""Sphinx directives that draw the reference from the code, so it cannot drift.

* ``apimodule``: one public module of the API: its docstring, then each public
  name documented in its home (see :mod:`apiref`), the others linked there.
* ``hookspec``: one hook of :mod:`siteupdates.hookspecs` with its signature,
  how its answers combine and its docstring. The build fails (``-W``) when a hook
  is documented nowhere or twice, or a documented hook does not exist.
* ``lifecycle-diagram``: the request lifecycle drawn by Graphviz from
  :data:`siteupdates.domain.TRANSITIONS` at build time.
* ``legacy-api-table``: each deprecated flat ``Desk`` method beside the actor
  handle's method that replaces it, drawn from
  :data:`siteupdates.usecases.catalog.CATALOG` at build time (see
  :func:`legacy_rows`), and the use cases that have no flat form.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Dict, List, Set, Tuple

import apiref
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.ext.graphviz import graphviz
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

HOOKS_MODULE = "siteupdates.hookspecs"


def hook_names() -> List[str]:
    """Every hook specification of siteupdates."""
    module = importlib.import_module(HOOKS_MODULE)
    return sorted(
        name
        for name, value in vars(module).items()
        if name.startswith("siteupdates_") and inspect.isfunction(value)
    )


def _rst_block(directive: SphinxDirective, lines: List[str]) -> List[nodes.Node]:
    """Parse generated reST as the directive's content."""
    container = nodes.section()
    container.document = directive.state.document
    source = directive.get_source_info()[0]
    content = StringList()
    for i, line in enumerate(lines):
        content.append(line, source, i)
    directive.state.nested_parse(content, directive.content_offset, container)
    return list(container.children)


class ApiModule(SphinxDirective):
    """``.. apimodule:: siteupdates.domain``: a module and the names it exports."""

    required_arguments = 1
    has_content = False

    def run(self) -> List[nodes.Node]:
        """The module's docstring and its names, as reST parsed in place."""
        modname = self.arguments[0]
        apiref.setup_path()
        module = importlib.import_module(modname)
        table = apiref.homes()
        lines = [f".. automodule:: {modname}", ""]
        elsewhere: List[str] = []
        for name in apiref.public_names(module):
            value = getattr(module, name)
            home_mod, home_name = apiref.home_of(modname, name, table)
            if (home_mod, home_name) != (modname, name):
                elsewhere.append(f":py:obj:`{name} <{home_mod}.{home_name}>`")
                continue
            if modname == HOOKS_MODULE and name.startswith("siteupdates_"):
                continue  # documented in the hook reference
            if inspect.isclass(value) and not apiref.is_ours(value):
                elsewhere.append(f"``{name}`` (from ``{value.__module__}``)")
                continue
            lines += self._document(modname, name, value)
        if modname == HOOKS_MODULE:
            lines += [
                "The hooks are described in :ref:`the hook reference <hook-reference>`.",
                "",
            ]
        if elsewhere:
            lines += [".. rubric:: Also exported here", "", ", ".join(elsewhere), ""]
        self.env.note_dependency(module.__file__ or "")
        return _rst_block(self, lines)

    def _document(self, modname: str, name: str, value: Any) -> List[str]:
        target = f"{modname}.{name}"
        if inspect.ismodule(value):
            if value.__name__ in apiref.modules():
                return [f"``{name}``: the module :py:mod:`{value.__name__}`.", ""]
            return [f".. automodule:: {value.__name__}", "   :members:", ""]
        if inspect.isclass(value):
            kind = "autoexception" if issubclass(value, BaseException) else "autoclass"
            options = ["   :members:", "   :show-inheritance:"]
            import enum

            if issubclass(value, enum.Enum):
                options.append("   :undoc-members:")
            return [f".. {kind}:: {target}", *options, ""]
        if inspect.isroutine(value):
            return [f".. autofunction:: {target}", ""]
        doc = apiref.data_doc(modname, name)
        out = [f".. py:data:: {name}", f"   :module: {modname}"]
        text = repr(value)
        if len(text) <= 70 and "\n" not in text:
            out.append(f"   :value: {text}")
        out.append("")
        out += [f"   {line}" for line in (doc or "").splitlines()]
        return [*out, ""]


class HookSpec(SphinxDirective):
    """``.. hookspec:: siteupdates_storage``: one hook, from its specification."""

    required_arguments = 1
    has_content = False

    def run(self) -> List[nodes.Node]:
        """The hook's autodoc entry and how its answers combine."""
        name = self.arguments[0]
        module = importlib.import_module(HOOKS_MODULE)
        function = getattr(module, name, None)
        if name not in hook_names() or function is None:
            logger.warning("no hook %s in %s", name, HOOKS_MODULE, location=self.get_location())
            return []
        documented: Dict[str, str] = self.env.siteupdates_hooks  # type: ignore[attr-defined]
        if name in documented and documented[name] != self.env.docname:
            logger.warning(
                "hook %s is also documented in %s", name, documented[name],
                location=self.get_location(),
            )  # fmt: skip
        documented[name] = self.env.docname
        opts = getattr(function, "siteupdates_spec", {}) or {}
        combine = (
            "The first answer that is not None wins; later plugins are not called."
            if opts.get("firstresult")
            else "Every plugin's answer counts."
        )
        lines = [
            f".. autofunction:: {HOOKS_MODULE}.{name}",
            "",
            f"   *{combine}*",
            "",
        ]
        self.env.note_dependency(module.__file__ or "")
        return _rst_block(self, lines)


class LifecycleDiagram(SphinxDirective):
    """``.. lifecycle-diagram::``: the transition table as a Graphviz drawing."""

    has_content = False

    def run(self) -> List[nodes.Node]:
        """A graphviz node drawn from the table."""
        from siteupdates.domain import TERMINAL, TRANSITIONS, Actor, Status

        def node_id(status: Any) -> str:
            return "new" if status is None else status.name

        lines = [
            "digraph lifecycle {",
            '  graph [rankdir=LR, fontname="sans-serif", nodesep=0.35, ranksep=0.6];',
            '  node [shape=box, style="rounded,filled", fillcolor="#f2f4f8", '
            'fontname="sans-serif", fontsize=13];',
            '  edge [fontname="sans-serif", fontsize=11];',
            '  new [label="(new)", shape=circle, fillcolor="#ffffff", width=0.5];',
        ]
        for status in Status:
            extra = ', peripheries=2, fillcolor="#e8e8e8"' if status in TERMINAL else ""
            lines.append(f'  {status.name} [label="{status.label}"{extra}];')
        for transition in TRANSITIONS.values():
            by_contact = Actor.CONTACT in transition.actors
            by_provider = Actor.PROVIDER in transition.actors
            color = "#1f6feb" if by_contact and not by_provider else "#444444"
            style = "dashed" if by_contact and by_provider else "solid"
            label = transition.event.value
            for source in sorted(transition.sources, key=lambda s: "" if s is None else s.value):
                lines.append(
                    f"  {node_id(source)} -> {transition.target.name} "
                    f'[label="{label}", color="{color}", fontcolor="{color}", style={style}];'
                )
        lines.append("}")
        node = graphviz()
        node["code"] = "\n".join(lines)
        node["options"] = {"docname": self.env.docname}
        node["alt"] = (
            "The request lifecycle: each status a box, each event an arrow from the "
            "statuses it leaves to the status it enters."
        )
        from siteupdates.domain import lifecycle

        self.env.note_dependency(lifecycle.__file__ or "")
        return [node]


_HANDLES = {"contact": "contact(contact_id)", "provider": "provider", "ops": "ops"}


def _call(prefix: str, leading: List[str], keywords: List[str]) -> str:
    """``prefix(a, b, c=...)``: positional names, then keyword-only ones."""
    return f"{prefix}({', '.join([*leading, *(f'{k}=...' for k in keywords)])})"


def _new_call(uc: Any) -> str:
    """How the handle's method is called: positional names, required keywords."""
    return _call(
        f"desk.{_HANDLES[uc.actor.value]}.{uc.name}",
        [p.name for p in uc.params if p.positional],
        [p.name for p in uc.params if p.required and not p.positional],
    )


def legacy_rows() -> List[Tuple[str, str, str]]:
    """(0.2 call, 0.3 call, what it does) for every use case with a flat method.

    Each call shows the arguments it takes by position, then its other required
    arguments as keywords; optional arguments keep their names.
    """
    from siteupdates.usecases.catalog import CATALOG

    rows = []
    for uc in CATALOG:
        if uc.legacy is None:
            continue
        positional = list(uc.legacy.positional)
        keywords = [p.name for p in uc.params if p.required and p.name not in positional]
        old = _call(f"desk.{uc.legacy.name}", positional, keywords)
        rows.append((old, _new_call(uc), uc.doc.strip().splitlines()[0]))
    return rows


def new_use_cases() -> List[str]:
    """The handles' methods that have no flat form (new in 0.3), as calls."""
    from siteupdates.usecases.catalog import CATALOG

    return [_new_call(uc) for uc in CATALOG if uc.legacy is None]


class LegacyApiTable(SphinxDirective):
    """``.. legacy-api-table::``: the deprecated flat methods and their replacements."""

    has_content = False

    def run(self) -> List[nodes.Node]:
        """A list-table drawn from the catalog, then the use cases new in 0.3."""
        from siteupdates.usecases import catalog

        lines = [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 35 40 25",
            "",
            "   * - 0.2 (deprecated; removed in 0.4)",
            "     - 0.3",
            "     - what it does",
        ]
        for old, new, doc in legacy_rows():
            lines += [f"   * - ``{old}``", f"     - ``{new}``", f"     - {doc}"]
        lines += [
            "",
            "New in 0.3, with no flat form: "
            + ", ".join(f"``{name}``" for name in new_use_cases())
            + ".",
            "",
        ]
        self.env.note_dependency(catalog.__file__ or "")
        return _rst_block(self, lines)


#: Names two public modules define, by the module prefix that means each one:
#: an annotation ``Actor`` in ``siteupdates.service`` is the use cases' actor,
#: in ``siteupdates.app.changes`` the lifecycle's.
_AMBIGUOUS = {
    "Actor": (
        (("siteupdates.usecases", "siteupdates.service", "siteupdates.cli"),
         "siteupdates.usecases.Actor"),
        (("siteupdates",), "siteupdates.domain.Actor"),
    ),
}  # fmt: skip


def _qualify(app: Sphinx, doctree: nodes.document) -> None:
    """Point an unqualified ``Actor`` in a signature at the one its module means."""
    from sphinx.addnodes import pending_xref

    for node in doctree.findall(pending_xref):
        choices = _AMBIGUOUS.get(node.get("reftarget", ""))
        if node.get("refdomain") != "py" or not choices:
            continue
        module = node.get("py:module") or ""
        for prefixes, target in choices:
            if module.startswith(prefixes):
                node["reftarget"] = target
                node["refspecific"] = False
                break


def _init_hooks(app: Sphinx, env: BuildEnvironment, docnames: Set[str]) -> None:
    if not hasattr(env, "siteupdates_hooks"):
        env.siteupdates_hooks = {}  # type: ignore[attr-defined]
    for docname in docnames:
        for hook, where in list(env.siteupdates_hooks.items()):  # type: ignore[attr-defined]
            if where == docname:
                del env.siteupdates_hooks[hook]  # type: ignore[attr-defined]


def _check_hooks(app: Sphinx, env: BuildEnvironment) -> None:
    documented = getattr(env, "siteupdates_hooks", {})
    for name in hook_names():
        if name not in documented:
            logger.warning("hook %s is in %s but in no hookspec directive", name, HOOKS_MODULE)


def setup(app: Sphinx) -> Dict[str, Any]:
    """Register the directives."""
    app.add_directive("apimodule", ApiModule)
    app.add_directive("hookspec", HookSpec)
    app.add_directive("lifecycle-diagram", LifecycleDiagram)
    app.add_directive("legacy-api-table", LegacyApiTable)
    app.connect("env-before-read-docs", _init_hooks)
    app.connect("doctree-read", _qualify)
    app.connect("env-check-consistency", _check_hooks)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
