"""How a use case is declared: its actor, its parameters (kind, help, default), its result.

A :class:`UseCase` is a value. Every surface of siteupdates is derived from the
declarations in :mod:`siteupdates.usecases.catalog`:

* the Python API: the actor handles (``desk.contact("dana").submit(...)``,
  ``desk.provider.schedule(...)``, ``desk.ops.deliver()``) and the deprecated
  flat :class:`~siteupdates.Desk` methods, generated from the same declaration;
* the input boundary: :meth:`UseCase.bind` checks every argument by its
  parameter's :class:`Kind` before the use case reads or writes anything;
* the command line (``siteupdates contact submit --tenant ...``): options,
  their help texts and how each is read from text;
* the JSON schema of a use case's arguments.

A parameter's kind carries its check (:mod:`siteupdates.checks`), its JSON
schema and how the command line reads it, so a parameter is written once.
"""

from __future__ import annotations

import enum
import importlib
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

import attrs

from siteupdates.errors import BadCall

if TYPE_CHECKING:
    import inspect

__all__ = ["REQUIRED", "Check", "Kind", "Legacy", "Param", "Role", "UseCase", "resolve"]

#: A check of one argument: given its name and value, the value (converted where
#: harmless), or a SiteUpdatesError naming the argument.
Check = Callable[[str, Any], Any]


#: One argument of a call shape's plan: its name, check, position (-1: by name) and
#: whether None leaves it at its default.
_Step = Tuple[str, Check, int, bool]


class _Required(enum.Enum):
    REQUIRED = "REQUIRED"

    def __repr__(self) -> str:
        return "REQUIRED"


#: The default of a parameter that must be given.
REQUIRED = _Required.REQUIRED


class Role(str, enum.Enum):
    """Who runs a use case (its actor): the handle it hangs on and its command group."""

    #: A customer's technical contact: every use case is bound to their ID (R22).
    CONTACT = "contact"
    #: The hosting provider's staff: the queue, the plan, the transitions.
    PROVIDER = "provider"
    #: The long-running parts: delivering notices, dispatching runs, engines' reports.
    OPS = "ops"


def resolve(path: str) -> Any:
    """The object at ``"module:attribute"`` (imported now)."""
    module, _, attr = path.partition(":")
    found: Any = importlib.import_module(module)
    for part in attr.split("."):
        found = getattr(found, part)
    return found


@attrs.frozen
class Kind:
    """What a parameter holds: its check, its JSON schema and how the command line reads it.

    ``check`` runs at every public entry; ``parse`` turns command-line text into
    a value before ``check`` (None: the text itself); ``many`` marks a list the
    command line gathers from a repeated option.
    """

    check: Check
    schema: Mapping[str, Any]
    annotation: str
    metavar: str = "TEXT"
    parse: Optional[Callable[[str], Any]] = None
    many: bool = False
    #: A yes/no flag: ``--name`` on the command line, no value.
    switch: bool = False
    #: Accepted spellings on the command line, shown in its help and completion.
    choices: Tuple[str, ...] = ()
    #: Only reachable from Python (a function, an object): no command-line form.
    python_only: bool = False

    def or_none(self) -> Kind:
        """The same kind, letting None through (an optional parameter)."""
        inner = self.check

        def check(name: str, value: Any) -> Any:
            return None if value is None else inner(name, value)

        return attrs.evolve(
            self,
            check=check,
            schema={"anyOf": [dict(self.schema), {"type": "null"}]},
            annotation=f"Optional[{self.annotation}]",
        )


@attrs.frozen
class Param:
    """One parameter of a use case: its name, kind, help text and default.

    ``positional``: the Python API takes it by position too (the first one or
    two of a use case); every other parameter is keyword-only. ``flag``: its
    command-line spelling, ``--tenant`` for an option or ``""`` for a positional
    argument; None derives ``--name-with-dashes`` (``_id`` dropped).
    """

    name: str
    kind: Kind
    help: str
    default: Any = REQUIRED
    positional: bool = False
    flag: Optional[str] = None

    @property
    def required(self) -> bool:
        """Whether a call must give it."""
        return self.default is REQUIRED

    @property
    def option(self) -> str:
        """The command line's spelling (``--tenant``), or ``""`` for a positional argument."""
        if self.flag is not None:
            return self.flag
        base = self.name[:-3] if self.name.endswith("_id") else self.name
        return "--" + base.replace("_", "-")


@attrs.frozen
class Legacy:
    """The flat :class:`~siteupdates.Desk` method a use case had before 0.3 (deprecated).

    ``positional`` lists the parameters it took by position, in order
    (``contact_id`` first for a contact's use case).
    """

    name: str
    positional: Tuple[str, ...] = ()


@attrs.frozen(eq=False)
class UseCase:
    """One use case, declared once: every surface is derived from this value.

    ``handler`` is ``"module:function"``, imported at the first call, and is
    called as ``handler(app, contact_id, **arguments)`` for a contact's use case
    and ``handler(app, **arguments)`` otherwise. ``result`` names the result
    type (``"module:Type"`` or a builtin's name) for the signature, the docs and
    the JSON schema. ``writes`` is False for a read, which never creates a store.
    """

    name: str
    actor: Role
    handler: str
    doc: str
    params: Tuple[Param, ...] = ()
    result: str = "None"
    writes: bool = True
    legacy: Optional[Legacy] = None
    #: The command's name under its actor's group; None derives it from ``name``.
    command: Optional[str] = None
    #: Why it has no command-line form (it takes a Python object), or "".
    python_only: str = ""
    _plans: Dict[Tuple[int, Tuple[str, ...]], Tuple[_Step, ...]] = attrs.field(
        factory=dict, init=False, repr=False
    )
    _defaults: Dict[str, Any] = attrs.field(factory=dict, init=False, repr=False)
    _fn: List[Callable[..., Any]] = attrs.field(factory=list, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a parameter is declared twice: {names}")
        # Defaults pass their own check once, here (an "earlier" becomes the enum). A
        # default of None is not passed on: the function's own default applies (a
        # dispatcher's 30 s timeout, an engine's reason_of).
        self._defaults.update({
            p.name: p.kind.check(p.name, p.default)
            for p in self.params if not p.required and p.default is not None
        })  # fmt: skip

    @property
    def qualname(self) -> str:
        """``actor.name``, as the census and the metrics name it."""
        return f"{self.actor.value}.{self.name}"

    @property
    def command_name(self) -> str:
        """The command's name under its actor's group (``submit``, ``ask-input``)."""
        return self.command or self.name.replace("_", "-")

    def handler_function(self) -> Callable[..., Any]:
        """The function that runs the use case (imported at the first call)."""
        return self._fn[0] if self._fn else self._resolve()

    def _resolve(self) -> Callable[..., Any]:
        self._fn.append(resolve(self.handler))
        return self._fn[0]

    def param(self, name: str) -> Param:
        """The parameter called ``name``."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    # -- the input boundary ---------------------------------------------------------

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Dict[str, Any]:
        """The call's arguments by name as the handler takes them, every one checked.

        Defaults are filled in, except a default of None: a parameter left at
        None is not passed (the handler's own default applies). A missing,
        unknown or repeated argument is :class:`~siteupdates.errors.BadCall`; a
        wrong type or a value out of range the kind's error. Nothing has been
        read or written when this raises.
        """
        plan = self._plans.get((len(args), tuple(kwargs)))
        if plan is None:
            plan = self._plan(len(args), kwargs)
        values = self._defaults.copy()
        for name, check, i, none_is_default in plan:
            value = check(name, args[i] if i >= 0 else kwargs[name])
            if value is None and none_is_default:
                values.pop(name, None)
            else:
                values[name] = value
        return values

    def _plan(self, n_args: int, kwargs: Mapping[str, Any]) -> Tuple[_Step, ...]:
        """What to check for a call shape (positional count and keyword names)."""
        positional = [p.name for p in self.params if p.positional]
        where = f"{self.qualname}()"
        if n_args > len(positional):
            raise BadCall(
                f"{where} takes {len(positional)} positional argument"
                f"{'' if len(positional) == 1 else 's'} ({', '.join(positional) or 'none'}); "
                f"{n_args} given: name the others"
            )
        at = {name: i for i, name in enumerate(positional[:n_args])}
        known = {p.name for p in self.params}
        for key in kwargs:
            if key not in known:
                raise BadCall(
                    f"{where}: unknown argument {key!r}; accepted: {', '.join(sorted(known))}"
                )
            if key in at:
                raise BadCall(f"{where}: {key!r} given twice (by position and by name)")
        missing = [p.name for p in self.params if p.required and p.name not in at
                   and p.name not in kwargs]  # fmt: skip
        if missing:
            raise BadCall(f"{where}: missing argument {', '.join(map(repr, missing))}")
        plan = tuple(
            (p.name, p.kind.check, at.get(p.name, -1), p.default is None)
            for p in self.params
            if p.name in at or p.name in kwargs
        )
        if len(self._plans) < 64:  # bounded: shapes come from callers' code, not data
            self._plans[(n_args, tuple(kwargs))] = plan
        return plan

    # -- derived forms ----------------------------------------------------------------

    def signature(self, *, first: Sequence[Param] = ()) -> inspect.Signature:
        """The Python signature of the actor handle's method (``self`` first)."""
        import inspect  # for help() and the docs, not for importing the API

        params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)]
        for p in (*first, *self.params):
            kind = (
                inspect.Parameter.POSITIONAL_OR_KEYWORD
                if p.positional
                else inspect.Parameter.KEYWORD_ONLY
            )
            default = inspect.Parameter.empty if p.required else p.default
            params.append(inspect.Parameter(p.name, kind, default=default,
                                            annotation=p.kind.annotation))  # fmt: skip
        return inspect.Signature(params, return_annotation=self.result)

    def docstring(self) -> str:
        """The doc, then one line per parameter (as the API reference shows it)."""
        lines = [self.doc.strip(), ""]
        for p in self.params:
            default = "" if p.required else f" (default: {p.default!r})"
            lines.append(f":param {p.name}: {p.help}{default}")
        lines.append(f":returns: {self.result}")
        return "\n".join(lines)

    def arguments_schema(self) -> Dict[str, Any]:
        """The JSON schema of the use case's arguments (an object)."""
        return {
            "type": "object",
            "title": self.qualname,
            "description": self.doc.strip().splitlines()[0],
            "properties": {
                p.name: {**p.kind.schema, "description": p.help}
                for p in self.params
                if not p.kind.python_only
            },
            "required": [p.name for p in self.params if p.required],
            "additionalProperties": False,
        }
