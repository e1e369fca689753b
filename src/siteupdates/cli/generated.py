"""The actor groups of the command line, derived from the use-case declarations.

``siteupdates contact submit --as dana ...``, ``siteupdates provider schedule
...``, ``siteupdates ops deliver``: one command per declared use case without a
``python_only`` reason (:data:`siteupdates.usecases.catalog.CATALOG`). Its
arguments, help texts, metavars and choices are the parameters' own; its text is
read by the parameter's :class:`~siteupdates.usecases.declare.Kind` and checked by
:meth:`~siteupdates.usecases.declare.UseCase.bind`; it runs through
:meth:`siteupdates.Desk.call`, as every surface does; its output is the result
type's view (:mod:`.views`).

A few commands are not one use case: the long-running ones (``ops worker``,
``ops deliver --loop``, ``ops dispatch --loop``), the calendar feed (``ops
feed``) and ``contact submit-many`` (drafts read from a file). They are listed
in :data:`EXTRA` and written in :mod:`.commands`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from siteupdates.usecases.declare import Param, Role, UseCase

if TYPE_CHECKING:
    from siteupdates.service import Desk

    from .render import Out

__all__ = ["GROUPS", "add_group", "nullable", "use_cases", "values_of"]

#: The actor groups, with their help text.
GROUPS: Dict[str, str] = {
    "contact": "a customer's technical contact (--as CONTACT): submit, move, cancel, answer, ...",
    "provider": "the hosting provider's staff: the queue, the plan, the transitions, the setup",
    "ops": "operations: deliver notices, dispatch due updates, engines' reports, the worker",
}

#: Commands of a group that are not one use case: (group, name) -> help text.
EXTRA: Dict[Tuple[str, str], str] = {
    ("contact", "submit-many"): "submit a CSV or JSON-lines file of drafts in one transaction "
    "(one answer per line)",
    ("ops", "worker"): "run a hosting worker until stopped (SIGTERM)",
    ("ops", "feed"): "print an iCalendar feed (needs siteupdates-ical): with --as CONTACT their "
    "tenants' updates only (R22), else every tenant's",
}


def use_cases(group: str) -> Tuple[UseCase, ...]:
    """The use cases with a command in ``group``, in declaration order."""
    from siteupdates.usecases.catalog import by_actor

    return tuple(uc for uc in by_actor(Role(group)) if not uc.python_only)


def nullable(p: Param) -> bool:
    """Whether the parameter takes None (so a required one may be left out on the command line)."""
    schema = p.kind.schema
    return any(s.get("type") == "null" for s in schema.get("anyOf", ()))


def _dest(p: Param) -> str:
    return "uc_" + p.name


def _metavar(p: Param) -> str:
    if p.option == "":
        base = p.name[:-3] if p.name.endswith("_id") else p.name
        return base.upper()
    return p.kind.metavar


def _help(p: Param) -> str:
    shown = p.default
    if p.required or shown is None or shown is False or shown == ():
        return p.help
    return f"{p.help} (default: {getattr(shown, 'value', shown)})"


def _only_tenant_default(uc: UseCase, p: Param) -> bool:
    """Whether a contact's required ``--tenant`` may be left out: a district contact has one."""
    return uc.actor is Role.CONTACT and p.name == "tenant_id" and p.required and p.option != ""


def _summary(uc: UseCase) -> str:
    first = uc.doc.strip().splitlines()[0].rstrip(".")
    return first[:1].lower() + first[1:]


def add_arguments(sp: argparse.ArgumentParser, uc: UseCase) -> None:
    """The use case's parameters as options and positional arguments of ``sp``."""
    if uc.actor is Role.CONTACT:
        sp.add_argument(
            "--as",
            dest="contact",
            required=True,
            metavar="CONTACT",
            help="the contact who acts (R22: only their own tenants' requests)",
        )
    for p in uc.params:
        if p.kind.python_only:
            continue
        kind, dest = p.kind, _dest(p)
        if p.option == "":
            optional = not p.required or nullable(p)
            nargs = ("*" if optional else "+") if kind.many else ("?" if optional else None)
            sp.add_argument(dest, nargs=nargs, metavar=_metavar(p), help=_help(p),
                            choices=kind.choices or None)  # fmt: skip
        elif kind.switch and p.default is None:
            both = sp.add_mutually_exclusive_group()
            no = "--no-" + p.option[2:]
            both.add_argument(p.option, dest=dest, action="store_const", const=True, default=None,
                              help=f"{p.help}: yes (neither flag: the default)")  # fmt: skip
            both.add_argument(no, dest=dest, action="store_const", const=False,
                              help=f"{p.help}: no")  # fmt: skip
        elif kind.switch:
            sp.add_argument(p.option, dest=dest, action="store_true", default=None,
                            help=_help(p))  # fmt: skip
        else:
            only = _only_tenant_default(uc, p)
            required = p.required and not nullable(p) and not only
            sp.add_argument(
                p.option, dest=dest, required=required, metavar=kind.metavar,
                action="append" if kind.many else "store", choices=kind.choices or None,
                help=_help(p) + ("; repeatable" if kind.many else "")
                + (" (default: your only tenant)" if only else ""),
            )  # fmt: skip


def values_of(uc: UseCase, a: argparse.Namespace) -> Dict[str, Any]:
    """The arguments given on the command line, each read from text by its kind."""
    values: Dict[str, Any] = {}
    for p in uc.params:
        if p.kind.python_only:
            continue
        given = getattr(a, _dest(p), None)
        if given is None or (p.kind.many and not given and not p.required):
            if p.required and nullable(p):
                values[p.name] = None
            continue
        parse = p.kind.parse
        if p.kind.many:
            values[p.name] = tuple(parse(v) if parse else v for v in given)
        else:
            values[p.name] = parse(given) if parse and isinstance(given, str) else given
    return values


def run_use_case(uc: UseCase) -> Callable[[Desk, argparse.Namespace, Out], int]:
    """The command function of ``uc``: read, bind, :meth:`~siteupdates.Desk.call`, render."""

    def run(desk: Desk, a: argparse.Namespace, out: Out) -> int:
        from .views import show

        lead: Tuple[str, ...] = (a.contact,) if uc.actor is Role.CONTACT else ()
        given = values_of(uc, a)
        for p in uc.params:
            if _only_tenant_default(uc, p) and p.name not in given:
                given[p.name] = _only_tenant(desk, a.contact)
        values = uc.bind((), given)
        result = desk.call(uc, lead, dict(values))
        return show(desk, uc, lead, values, result, out)

    return run


def _only_tenant(desk: Desk, contact_id: str) -> str:
    """The contact's only tenant; else one error naming the tenants to choose among."""
    from siteupdates.errors import InvalidInput

    mine = list(desk.contact(contact_id).tenants(limit=11))
    if len(mine) == 1:
        return str(mine[0].id)
    choices = ", ".join(t.id for t in mine[:10]) or "none"
    more = ", ..." if len(mine) > 10 else ""
    raise InvalidInput(
        f"choose --tenant among the tenants connected to you: {choices}{more}", None
    )


def add_group(
    sub: Any,
    group: str,
    command: Optional[str],
    listed_only: Callable[..., argparse.ArgumentParser],
    extras: Callable[[argparse.ArgumentParser, str, str], None],
    parser_class: type,
) -> argparse.ArgumentParser:
    """The group parser ``group`` (``contact``, ``provider``, ``ops``), its commands listed.

    Only ``command`` (None: every one) gets its arguments; the others are listed
    so that the group's help and "invalid choice" read the same.
    """
    described = GROUPS[group][:1].upper() + GROUPS[group][1:] + "."
    gp: argparse.ArgumentParser = sub.add_parser(
        group,
        help=GROUPS[group],
        description=described,
        epilog="Global options (--db, --json, ...): see siteupdates --help.",
    )
    gsub: Any = gp.add_subparsers(
        dest="group_command", metavar="COMMAND", parser_class=parser_class,
        help="the command (siteupdates GROUP COMMAND --help)",
    )  # fmt: skip
    gsub.required = True
    names: List[Tuple[str, Optional[UseCase], str]] = [
        (uc.command_name, uc, _summary(uc)) for uc in use_cases(group)
    ]
    names += [(name, None, help_) for (g, name), help_ in EXTRA.items() if g == group]
    for name, uc, help_ in names:
        if command is not None and name != command:
            listed_only(gsub, name, help_)
            continue
        sp = gsub.add_parser(
            name,
            help=help_,
            description=(uc.doc if uc else help_[:1].upper() + help_[1:] + "."),
            epilog="Global options (--db, --json, ...): see siteupdates --help.",
        )
        if uc is not None:
            add_arguments(sp, uc)
            sp.set_defaults(func=run_use_case(uc), reads=not uc.writes, setup=uc.name in
                            ("apply_setup", "load_setup"))  # fmt: skip
        extras(sp, group, name)
    return gp
