""":class:`Desk`: every use case of siteupdates, reached through one handle per actor.

``desk.contact("dana")`` (the contact's use cases, bound to them: R22 by
construction), ``desk.provider`` and ``desk.ops``. Their methods are made from
the declarations of :mod:`siteupdates.usecases.catalog`, as are the command
line, the input checks and the JSON schema of the arguments: each method checks
every argument before anything is read or written, then runs one use case
function of :mod:`siteupdates.app` in one unit of work (a use case that lost a
race runs again on fresh data).

The flat methods of 0.2 (``desk.submit(contact_id, ...)``) are made from the
same declarations and stay for one release, deprecated.
"""

from __future__ import annotations

import functools
import warnings
from datetime import datetime, timedelta
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Tuple,
    Union,
)

from siteupdates import checks
from siteupdates.errors import BadCall, WrongType
from siteupdates.usecases.declare import Legacy, Role, UseCase

if TYPE_CHECKING:
    from pathlib import Path

    from siteupdates.app import App
    from siteupdates.app.contact import Submission
    from siteupdates.app.reference import SetupReport
    from siteupdates.domain.model import Status, UpdateRequest
    from siteupdates.domain.policies import Policy
    from siteupdates.domain.preset import ProviderPreset
    from siteupdates.plugins import PluginHost
    from siteupdates.ports import Setup, Storage
    from siteupdates.usecases.typed import ContactAPI, LegacyDeskAPI, OpsAPI, ProviderAPI
else:  # the methods are made from the declarations (see _install)
    ContactAPI = LegacyDeskAPI = OpsAPI = ProviderAPI = object

__all__ = ["ContactDesk", "Desk", "OpsDesk", "ProviderDesk", "SetupReport", "Submission",
           "is_open"]  # fmt: skip

#: Names this module re-exports, imported on first use (PEP 562): ``from siteupdates
#: import Desk`` loads the declarations, not the application layer and the domain
#: model, which load when a desk is made.
_LAZY = {"Submission": "siteupdates.app.contact", "SetupReport": "siteupdates.app.reference"}


def __getattr__(name: str) -> Any:
    """``Submission`` and ``SetupReport``, imported on first use."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _instance(name: str, value: Any, kind: Any, words: str) -> Any:
    if value is not None and not isinstance(value, kind):
        raise WrongType(name, value, words)
    return value


def _function(name: str, value: Any) -> Any:
    if value is not None and not callable(value):
        raise WrongType(name, value, "a function returning a timezone-aware datetime")
    return value


def _tables(name: str, value: Any) -> Any:
    if value is not None and not (
        isinstance(value, Mapping)
        and all(isinstance(k, str) and isinstance(v, Mapping) for k, v in value.items())
    ):
        raise WrongType(name, value, "a mapping of plugin names to tables of settings")
    return value


class Desk(LegacyDeskAPI):
    """Every use case of siteupdates, over one storage and one plugin host.

    Build one with :meth:`open` (a storage URL) or :meth:`from_setup` (a setup
    file), or pass a :class:`~siteupdates.ports.Storage`. ``preset`` overrides
    the provider preset stored with the setup; without either, the desk plans
    with :data:`~siteupdates.presets.CAMPUS_HOSTING`. One desk may be shared by
    the threads of a process: open one per process and share it (see
    ``docs/concurrency.md``).
    """

    def __init__(
        self,
        storage: Storage,
        *,
        host: Optional[PluginHost] = None,
        preset: Optional[ProviderPreset] = None,
        clock: Optional[Callable[[], datetime]] = None,
        new_id: Optional[Callable[[], str]] = None,
        plugin_settings: Optional[Mapping[str, Mapping[str, Any]]] = None,
    ) -> None:
        # The application layer loads with the first desk, not with the import.
        from siteupdates.app import bootstrap
        from siteupdates.plugins import PluginHost
        from siteupdates.ports import Storage

        if not isinstance(storage, Storage):
            raise WrongType("storage", storage, "a Storage (or use Desk.open(url))")
        _instance("host", host, PluginHost, "a PluginHost")
        if preset is not None:
            from siteupdates.domain.preset import ProviderPreset

            _instance("preset", preset, ProviderPreset, "a ProviderPreset")
        _function("clock", clock)
        _function("new_id", new_id)
        _tables("plugin_settings", plugin_settings)
        self.app: App = bootstrap(
            storage, host=host, preset=preset, clock=clock, new_id=new_id,
            plugin_settings=plugin_settings,
        )  # fmt: skip
        #: Called around every use case this desk runs (metrics, traces): each
        #: observer gets the use case, the contact's ID (if any) and the call to make.
        self.observers: List[Observer] = []

    @classmethod
    def open(
        cls,
        url: str,
        *,
        host: Optional[PluginHost] = None,
        plugins: Iterable[object] = (),
        entry_points: bool = False,
        preset: Optional[ProviderPreset] = None,
        clock: Optional[Callable[[], datetime]] = None,
        plugin_settings: Optional[Mapping[str, Mapping[str, Any]]] = None,
    ) -> Desk:
        """Open a desk on the storage at ``url`` (``sqlite:///siteupdates.db``, ``memory://``).

        The provider settings stored by ``siteupdates apply`` apply, exactly as on
        the command line. Installed plugins (``postgresql://`` needs
        siteupdates-postgres) load with ``entry_points=True`` or ``plugins=[...]``.
        """
        from siteupdates.plugins import PluginHost

        checks.text("url", url, limit=4096, empty=False)
        checks.flag("entry_points", entry_points)
        _instance("host", host, PluginHost, "a PluginHost")
        if isinstance(plugins, (str, bytes, Mapping)) or not hasattr(plugins, "__iter__"):
            raise WrongType("plugins", plugins, "a list of plugin objects")
        host = host or PluginHost(plugins=plugins, entry_points=entry_points)
        return cls(
            host.storage(url), host=host, preset=preset, clock=clock,
            plugin_settings=plugin_settings,
        )  # fmt: skip

    @classmethod
    def from_setup(
        cls,
        setup: Union[str, Path, Mapping[str, Any], Setup],
        *,
        url: str = "memory://",
        **options: Any,
    ) -> Desk:
        """Open ``url``, store a setup (a TOML file, its tables, or a Setup), and plan by it.

        ``options`` are those of :meth:`open`. The setup's ``[provider]`` table
        becomes the stored preset, so later ``Desk.open(url)`` and the command
        line plan the same way.
        """
        from siteupdates.setupfile import load_setup
        from siteupdates.usecases.kinds import SETUP

        SETUP.check("setup", setup)
        unknown = set(options) - {"host", "plugins", "entry_points", "preset", "clock",
                                  "plugin_settings"}  # fmt: skip
        if unknown:
            raise BadCall(f"from_setup(): unknown option {sorted(unknown)[0]!r}")
        loaded = load_setup(setup)
        desk = cls.open(url, **options)
        desk.provider.load_setup(loaded)
        return desk

    # -- the parts ----------------------------------------------------------------

    @property
    def storage(self) -> Storage:
        """The storage."""
        return self.app.storage

    @property
    def host(self) -> PluginHost:
        """The plugin host."""
        return self.app.host

    @property
    def preset(self) -> ProviderPreset:
        """The provider preset the desk plans with."""
        return self.app.preset

    @property
    def default_zone(self) -> str:
        """The provider's zone, for readers without one (``preset.default_zone``, read cheaply)."""
        return self.app.default_zone

    @property
    def reminders(self) -> Tuple[timedelta, ...]:
        """The reminder ladder: how long before a scheduled start each reminder fires."""
        return self.app.reminders

    def meaning(self, status: Union[Status, str], locale: Optional[str] = None) -> str:
        """What ``status`` (a Status or its value) means to a contact, in the provider's words.

        For a contact's screens, the CLI's ``show`` and JSON output; no rule IDs.
        ``locale`` (:data:`siteupdates.i18n.LOCALES`) translates the default words;
        the provider's own are shown as written.
        """
        from siteupdates.domain.meanings import meaning_of
        from siteupdates.domain.model import Status
        from siteupdates.i18n import language

        return meaning_of(Status.parse(status), self.app.meanings, language(locale))

    def locale_of(self, contact_id: Optional[str]) -> str:
        """The locale of ``contact_id`` (the setup file's), else the provider's default.

        None asks for the provider's default (its own screens and notices).
        """
        from siteupdates.i18n import locale_for

        return locale_for(contact_id, self.app.locales)

    def meanings(self) -> Dict[str, Dict[str, str]]:
        """Every status's label and meaning by status value, for JSON output and schemas."""
        from siteupdates.domain.meanings import meanings

        return meanings(self.app.meanings)

    @property
    def clock(self) -> Callable[[], datetime]:
        """The clock."""
        return self.app.clock

    @property
    def policies(self) -> Tuple[Policy, ...]:
        """The submission policies of the registered plugins."""
        return self.app.policies

    def now(self) -> datetime:
        """The desk's clock, as a UTC instant."""
        return self.app.now()

    def close(self) -> None:
        """Close the storage."""
        self.app.storage.close()

    def __enter__(self) -> Desk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the actors -----------------------------------------------------------------

    def contact(self, contact_id: str) -> ContactDesk:
        """The contact's use cases, bound to ``contact_id``: they see their tenants only (R22).

        ``desk.contact("dana").submit("d1", target="production", version="E.1505.2",
        at=datetime(2015, 2, 14, 4, 30))``. The ID is checked here; whether the
        contact exists is checked by each use case, with the same answer as for a
        tenant not theirs.
        """
        return ContactDesk(self, checks.ident("contact_id", contact_id))

    @property
    def provider(self) -> ProviderDesk:
        """The provider's use cases: the queue, the plan, the transitions, setup, outbox."""
        return ProviderDesk(self)

    @property
    def ops(self) -> OpsDesk:
        """The long-running parts' use cases: delivering, dispatching, engines' reports."""
        return OpsDesk(self)

    def call(self, use_case: UseCase, lead: Tuple[str, ...], values: Dict[str, Any]) -> Any:
        """Run a declared use case with checked ``values`` (``lead``: the contact's ID).

        The one way every surface runs a use case: the actor handles, the command
        line and the web plugins. Observers (metrics, traces) see each call.
        """
        fn = use_case.handler_function()
        # Metrics and traces see each unit of work through App.run already; a host
        # that wants them named by declaration adds siteupdates.observe.desk_observer.
        if not self.observers:
            return fn(self.app, *lead, **values)
        return _observed(self.observers, use_case, lead, lambda: fn(self.app, *lead, **values))


Observer = Callable[[UseCase, Tuple[str, ...], Callable[[], Any]], Any]


def _observed(
    observers: List[Observer], use_case: UseCase, lead: Tuple[str, ...], run: Callable[[], Any]
) -> Any:
    """``run()`` wrapped by each observer, outermost first (an observer calls what it wraps)."""
    call = run
    for observer in reversed(observers):
        call = functools.partial(observer, use_case, lead, call)
    return call()


class _Handle:
    """What the actor handles share: the desk they run on."""

    __slots__ = ("_desk",)

    def __init__(self, desk: Desk) -> None:
        self._desk = desk

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._desk!r}>"


class ContactDesk(_Handle, ContactAPI):
    """A contact's use cases, every one bound to the contact (R22 by construction).

    Made by :meth:`Desk.contact`; its methods are made from
    :mod:`siteupdates.usecases.catalog` (``help(ContactDesk.submit)`` shows one).
    """

    __slots__ = ("contact_id",)
    actor = Role.CONTACT

    def __init__(self, desk: Desk, contact_id: str) -> None:
        super().__init__(desk)
        #: The contact every use case of this handle acts as.
        self.contact_id = contact_id

    def __repr__(self) -> str:
        return f"<ContactDesk {self.contact_id!r}>"


class ProviderDesk(_Handle, ProviderAPI):
    """The provider's use cases (``desk.provider``), made from the declarations."""

    __slots__ = ()
    actor = Role.PROVIDER


class OpsDesk(_Handle, OpsAPI):
    """The long-running parts' use cases (``desk.ops``), made from the declarations."""

    __slots__ = ()
    actor = Role.OPS


def _handle_method(use_case: UseCase) -> Callable[..., Any]:
    bind = use_case.bind
    if use_case.actor is Role.CONTACT:

        def method(self: ContactDesk, *args: Any, **kwargs: Any) -> Any:
            return self._desk.call(use_case, (self.contact_id,), bind(args, kwargs))

    else:

        def method(self: _Handle, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            return self._desk.call(use_case, (), bind(args, kwargs))

    method.__name__ = use_case.name
    method.__doc__ = use_case.docstring()
    method.__signature__ = use_case.signature()  # type: ignore[attr-defined]
    return method


def _legacy_method(use_case: UseCase, legacy: Legacy) -> Callable[..., Any]:
    positional = legacy.positional
    contact = use_case.actor is Role.CONTACT
    handle = {Role.CONTACT: "contact(contact_id)", Role.PROVIDER: "provider",
              Role.OPS: "ops"}[use_case.actor]  # fmt: skip
    message = (
        f"Desk.{legacy.name}() is deprecated since 0.3 and goes in 0.4: "
        f"use desk.{handle}.{use_case.name}()"
    )

    def alias(self: Desk, *args: Any, **kwargs: Any) -> Any:
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        if len(args) > len(positional):
            raise BadCall(
                f"{legacy.name}() takes {len(positional)} positional arguments "
                f"({', '.join(positional) or 'none'}); {len(args)} given"
            )
        given = dict(zip(positional, args))
        for key in kwargs:
            if key in given:
                raise BadCall(f"{legacy.name}(): {key!r} given twice")
        given.update(kwargs)
        lead: Tuple[str, ...] = ()
        if contact:
            if "contact_id" not in given:
                raise BadCall(f"{legacy.name}(): missing argument 'contact_id'")
            lead = (checks.ident("contact_id", given.pop("contact_id")),)
        return self.call(use_case, lead, use_case.bind((), given))

    alias.__name__ = legacy.name
    alias.__doc__ = f"Deprecated: {message}.\n\n{use_case.docstring()}"
    return alias


class _Declared:
    """A declared method of a class, made at its first lookup and then put in its place.

    Importing :mod:`siteupdates` makes no signatures or docstrings for the
    hundred-odd methods; the first ``handle.submit`` (or ``help()``) makes that
    one, and from then on it is an ordinary function of the class.
    """

    __slots__ = ("_cls", "_make", "_name")

    def __init__(self, cls: type, name: str, make: Callable[[], Callable[..., Any]]) -> None:
        self._cls, self._name, self._make = cls, name, make

    def __get__(self, obj: Any, owner: Optional[type] = None) -> Any:
        method = self._make()
        method.__qualname__ = f"{self._cls.__name__}.{self._name}"
        setattr(self._cls, self._name, method)  # two racing threads make equal ones
        return method if obj is None else method.__get__(obj, owner)


def _install() -> None:
    """Give the handles their methods and the desk its deprecated flat ones, from the catalog."""
    from siteupdates.usecases.catalog import CATALOG

    handles = {Role.CONTACT: ContactDesk, Role.PROVIDER: ProviderDesk, Role.OPS: OpsDesk}
    for use_case in CATALOG:
        cls = handles[use_case.actor]
        make = functools.partial(_handle_method, use_case)
        setattr(cls, use_case.name, _Declared(cls, use_case.name, make))
        if use_case.legacy is not None:
            make = functools.partial(_legacy_method, use_case, use_case.legacy)
            setattr(Desk, use_case.legacy.name, _Declared(Desk, use_case.legacy.name, make))


_install()


def is_open(request: UpdateRequest) -> bool:
    """Whether ``request`` still needs work (neither terminal nor completed)."""
    from siteupdates.domain.lifecycle import TERMINAL
    from siteupdates.domain.model import Status

    return request.status not in TERMINAL and request.status is not Status.COMPLETED
