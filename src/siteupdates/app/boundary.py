"""The input boundary of the Python API: each public :class:`~siteupdates.Desk` method's arguments.

:func:`checked` wraps a facade method: before the use case runs, the call is
bound to the method's signature (a missing or unknown argument is
:class:`~siteupdates.errors.BadCall`) and every argument is checked by the rule
for its name in :data:`PARAMETERS` (a wrong type is
:class:`~siteupdates.errors.WrongType`, a value out of range
:class:`~siteupdates.errors.InvalidInput`). So a wrongly typed call raises a
:class:`~siteupdates.errors.SiteUpdatesError` subclass before anything is read
or written, and never a ``TypeError`` from a database driver.

The checks run once per public call, at the edge: the domain's values and the
use cases below trust what came through here, and internal calls (the worker,
the planner, the storage) do not pay for them again.
"""

from __future__ import annotations

import functools
import inspect
import os
from datetime import timedelta
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Tuple,
    TypeVar,
    Union,
    overload,
)

from siteupdates import checks, ports
from siteupdates.domain.model import Target, Version
from siteupdates.domain.timeutil import Ambiguity
from siteupdates.errors import BadCall, WrongType
from siteupdates.plugins import PluginHost
from siteupdates.ports import AUDIT_KINDS, Storage

if TYPE_CHECKING:
    from siteupdates.domain.policies import RequestDraft

__all__ = ["PARAMETERS", "Check", "checked", "optional", "required_text"]

#: A check of one argument: given its name and value, the value converted, or a
#: SiteUpdatesError naming the argument.
Check = Callable[[str, Any], Any]
F = TypeVar("F", bound=Callable[..., Any])


def optional(check: Check) -> Check:
    """``check``, letting None through."""

    def run(name: str, value: Any) -> Any:
        return None if value is None else check(name, value)

    return run


def required_text(name: str, value: Any) -> str:
    """Text a person reads (a reason, a question, an answer): one non-empty line."""
    return checks.text(name, value, empty=False)


def _short_text(name: str, value: Any) -> str:
    return checks.text(name, value, limit=64)


def _target(name: str, value: Any) -> Any:
    return value if isinstance(value, Target) else _short_text(name, value)


def _version(name: str, value: Any) -> Any:
    return value if isinstance(value, Version) else _short_text(name, value)


def _ambiguity(name: str, value: Any) -> Ambiguity:
    return checks.one_of(name, value, list(Ambiguity))


def _key(name: str, value: Any) -> str:
    return checks.text(name, value, limit=checks.MAX_ID, empty=False)


def _draft(name: str, value: Any) -> RequestDraft:
    # The policies load with the first draft, not with the facade.
    from siteupdates.domain.policies import RequestDraft

    if not isinstance(value, RequestDraft):
        raise WrongType(name, value, "a RequestDraft")
    checks.ident(f"{name}.tenant_id", value.tenant_id)
    optional(checks.local_time)(f"{name}.local_start", value.local_start)
    optional(_short_text)(f"{name}.zone", value.zone)
    optional(checks.flag)(f"{name}.db_refresh", value.db_refresh)
    return value


def _drafts(name: str, value: Any) -> Any:
    from siteupdates.domain.policies import RequestDraft

    if isinstance(value, (str, bytes, Mapping, RequestDraft)) or not hasattr(value, "__iter__"):
        raise WrongType(name, value, "a list of RequestDraft")
    return value


def _names(name: str, value: Any) -> Any:
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise WrongType(name, value, "a list of names")
    for i, item in enumerate(value):
        _key(f"{name}[{i}]", item)
    return value


def _keys(name: str, value: Any) -> Any:
    if not isinstance(value, (list, tuple)):
        raise WrongType(name, value, "a list of idempotency keys (or None for each)")
    for i, item in enumerate(value):
        optional(_key)(f"{name}[{i}]", item)
    return value


def _setup(name: str, value: Any) -> Any:
    if isinstance(value, (ports.Setup, Mapping)):
        return value
    if isinstance(value, (str, os.PathLike)):
        checks.text(name, str(value), limit=4096)
        return value
    raise WrongType(name, value, "a Setup, a setup file's path or its tables")


def _count(lo: int, hi: int) -> Check:
    return lambda name, value: checks.count(name, value, lo, hi)


def _seconds(lo: float, hi: float) -> Check:
    return lambda name, value: checks.number(name, value, lo, hi)


def _clock(name: str, value: Any) -> Any:
    if not callable(value):
        raise WrongType(name, value, "a function returning a timezone-aware datetime")
    return value


def _instance(kind: Union[type, str], words: str) -> Check:
    """An instance of ``kind`` (a class, or ``"module:Class"`` imported at the first call)."""

    def run(name: str, value: Any) -> Any:
        nonlocal kind
        if isinstance(kind, str):
            import importlib

            module, _, attr = kind.partition(":")
            kind = getattr(importlib.import_module(module), attr)
        if not isinstance(value, kind):  # type: ignore[arg-type]
            raise WrongType(name, value, words)
        return value

    return run


def _plugins(name: str, value: Any) -> Any:
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise WrongType(name, value, "a list of plugin objects")
    return value


def _tables(name: str, value: Any) -> Any:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, Mapping) for k, v in value.items()
    ):
        raise WrongType(name, value, "a mapping of plugin names to tables of settings")
    return value


#: The rule for each parameter name of the facade's public methods.
PARAMETERS: Dict[str, Check] = {
    "contact_id": checks.ident,
    "tenant_id": checks.ident,
    "request_id": checks.ident,
    "newer_id": checks.ident,
    "group_id": checks.ident,
    # A prefix as people paste it: surrounding spaces are the use case's to strip.
    "prefix": lambda name, value: checks.text(name, value, limit=checks.MAX_ID, empty=False),
    "by": checks.ident,
    "target": _target,
    "version": optional(_version),
    "db_refresh": optional(checks.flag),
    "hide_complete": checks.flag,
    "dry_run": checks.flag,
    "allow_past": checks.flag,
    "replace": checks.flag,
    "at": checks.local_time,
    "when": checks.instant,
    "earliest": checks.instant,
    "horizon": optional(checks.instant),
    "since": optional(checks.instant),
    "zone": optional(_short_text),
    "ambiguity": _ambiguity,
    "idempotency_key": optional(_key),
    "text": required_text,
    "question": required_text,
    "note": required_text,
    "reason": required_text,
    "offset": _count(0, 1_000_000_000),
    "limit": _count(1, 100_000),
    "week_of": checks.day,
    "draft": _draft,
    "drafts": _drafts,
    "idempotency_keys": optional(_keys),
    "rules": _names,
    "keys": _names,
    "soak": optional(_instance(timedelta, "a timedelta")),
    "days": optional(_count(0, 1_000_000)),
    "next_window": checks.flag,
    "dead": checks.flag,
    "setup": _setup,
    # Outbox dispatcher options (Desk.deliver, Desk.dispatcher).
    "max_attempts": _count(1, 1000),
    "base_delay": _seconds(0, 86_400),
    "max_delay": _seconds(0, 86_400),
    "timeout": _seconds(0.1, 3600),
    "batch": _count(1, 10_000),
    "lease": optional(_seconds(1, 86_400)),
    "owner": optional(checks.ident),
    "clock": optional(_clock),
    "new_id": optional(_clock),
    # Opening a desk.
    "kind": optional(lambda name, value: checks.one_of(name, value, list(AUDIT_KINDS))),
    "key": optional(checks.ident),
    "url": lambda name, value: checks.text(name, value, limit=4096, empty=False),
    "storage": _instance(Storage, "a Storage (or use Desk.open(url))"),
    "host": optional(_instance(PluginHost, "a PluginHost")),
    "preset": optional(_instance("siteupdates.domain.preset:ProviderPreset", "a ProviderPreset")),
    "plugins": _plugins,
    "entry_points": checks.flag,
    "plugin_settings": optional(_tables),
}


@overload
def checked(fn: F) -> F: ...


@overload
def checked(
    *, options: Optional[Union[str, Callable[..., Any]]] = None, **rules: Check
) -> Callable[[F], F]: ...


def checked(
    fn: Optional[F] = None,
    *,
    options: Optional[Union[str, Callable[..., Any]]] = None,
    **rules: Check,
) -> Any:
    """Check a facade method's arguments by :data:`PARAMETERS` (``rules`` override by name).

    ``options`` is the callable that receives the method's ``**options`` (or its
    ``"module:name"``, imported at the first call, so the module loads only when
    used); they are bound to its signature, so an unknown option is a BadCall too.
    """

    def wrap(method: F) -> F:
        name = method.__name__
        # The signature is read on the first call, not here: the facade has ~70
        # methods and reading them all would cost every start of the command line
        # ~3 ms for the one or two a run calls.
        ready: List[_Binding] = []

        @functools.wraps(method)
        def run(*args: Any, **kwargs: Any) -> Any:
            b = ready[0] if ready else _ready(ready, method, rules, options)
            if b.plain and b.fast(args, kwargs):
                return method(*args, **kwargs)
            try:
                bound = b.sig.bind(*args, **kwargs)
            except TypeError as exc:
                raise BadCall(f"{name}(): {exc}") from None
            for key, value in bound.arguments.items():
                rule = b.table.get(key)
                if rule is not None:
                    rule(key, value)
                elif key == b.var_kw:
                    _options(name, value, b.extra())
            return method(*args, **kwargs)

        # For tests: make the binding now (a method with an unchecked parameter fails).
        run.binding = lambda: ready[0] if ready else _ready(ready, method, rules, options)  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return wrap(fn) if fn is not None else wrap


def _ready(
    ready: List[_Binding],
    method: Callable[..., Any],
    rules: Mapping[str, Check],
    options: Optional[Union[str, Callable[..., Any]]],
) -> _Binding:
    ready.append(_Binding(method, rules, options))
    return ready[0]


class _Binding:
    """How one facade method's arguments are bound and checked (made at its first call)."""

    def __init__(
        self,
        method: Callable[..., Any],
        rules: Mapping[str, Check],
        options: Optional[Union[str, Callable[..., Any]]],
    ) -> None:
        self.sig = inspect.signature(method)
        self.options = options
        self.table: Dict[str, Check] = {}
        self.var_kw = ""
        for p in self.sig.parameters.values():
            if p.kind is p.VAR_KEYWORD:
                self.var_kw = p.name
            if p.name in ("self", "cls") or p.kind is p.VAR_KEYWORD:
                continue
            rule = rules.get(p.name, PARAMETERS.get(p.name))
            if rule is None:  # pragma: no cover - caught by the test of every method
                raise AssertionError(f"{method.__qualname__}: no rule for {p.name}")
            self.table[p.name] = rule
        self._extra: List[Optional[inspect.Signature]] = []
        # Binding through inspect costs more than most checks: a call that names
        # known parameters only (no **options) is bound here, in signature order;
        # anything else (missing, unknown, repeated) goes to Signature.bind and its
        # message.
        params = list(self.sig.parameters.values())
        self.plain = not self.var_kw and all(
            p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params
        )
        self.positional = tuple(p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD)
        self.required = frozenset(p.name for p in params if p.default is p.empty)
        self.order = tuple(p.name for p in params)
        #: What to check for each shape of plain call seen (the number of positional
        #: arguments and the keywords' names): (name, rule, position or -1 for a
        #: keyword), in signature order. A facade method is called in a few shapes.
        self._plans: Dict[Tuple[int, Tuple[str, ...]], Tuple[Tuple[str, Check, int], ...]] = {}

    def extra(self) -> Optional[inspect.Signature]:
        """The signature that receives the method's ``**options``, if any."""
        if not self._extra:
            target = self.options
            if isinstance(target, str):
                import importlib

                module, _, attr = target.partition(":")
                target = getattr(importlib.import_module(module), attr)
            self._extra.append(inspect.signature(target) if target is not None else None)
        return self._extra[0]

    def fast(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> bool:
        """Check a plain call's arguments; False when it needs Signature.bind."""
        plan = self._plans.get((len(args), tuple(kwargs)))
        if plan is None:
            return self._first(args, kwargs)
        for key, rule, i in plan:
            rule(key, args[i] if i >= 0 else kwargs[key])
        return True

    def _first(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> bool:
        """:meth:`fast` for a shape not seen yet: bind it by name, remember its plan."""
        if len(args) > len(self.positional):
            return False
        given = dict(zip(self.positional, args))
        if len(args) and not kwargs.keys().isdisjoint(given):
            return False
        given.update(kwargs)
        if len(given) != len(args) + len(kwargs) or not self.required <= given.keys():
            return False
        if not given.keys() <= self.sig.parameters.keys():
            return False
        at = {name: i for i, name in enumerate(self.positional[: len(args)])}
        plan = tuple(
            (key, rule, at.get(key, -1))
            for key in self.order
            if key in given and (rule := self.table.get(key)) is not None
        )
        if len(self._plans) < 64:  # bounded: shapes come from callers' code, not data
            self._plans[(len(args), tuple(kwargs))] = plan
        for key, rule, _ in plan:
            rule(key, given[key])
        return True


def _options(method: str, given: Dict[str, Any], sig: Optional[inspect.Signature]) -> None:
    allowed = [
        p.name for p in (sig.parameters.values() if sig else ())
        if p.kind is p.KEYWORD_ONLY and p.name in PARAMETERS
    ]  # fmt: skip
    for key, value in given.items():
        if sig is None:  # passed on to another checked method, which binds them
            if key in PARAMETERS:
                PARAMETERS[key](key, value)
            continue
        if key not in allowed:
            raise BadCall(
                f"{method}(): unknown option {key!r}; accepted: {', '.join(allowed) or 'none'}"
            )
        PARAMETERS[key](key, value)
