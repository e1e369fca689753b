"""Building one application: one plugin host, one storage, the stored preset, one clock.

:func:`bootstrap` is the only place that wires the parts together; the command
line, :class:`~siteupdates.Desk` and host programs all go through it, so they
plan with the same provider settings on the same storage. Precedence of the
provider preset: the one passed in, else the one stored by ``siteupdates init``
(or :meth:`~siteupdates.Desk.from_setup`), else :data:`~siteupdates.presets.CAMPUS_HOSTING`.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
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
    TypeVar,
    Union,
)

import attrs

from siteupdates import observe
from siteupdates.domain.timeutil import require_aware, require_zone
from siteupdates.errors import ConflictError, SiteUpdatesError
from siteupdates.plugins import PluginHost
from siteupdates.ports import Reads, Storage, Unit

if TYPE_CHECKING:
    from typing import Protocol

    from siteupdates.domain import Policy, ProviderPreset, Status, UpdateRequest
    from siteupdates.i18n import Language

    class NoticeLinks(Protocol):
        """What adds action links to a contact's notice (``siteupdates.actionlinks``)."""

        def lines(
            self, contact_id: str, request: UpdateRequest, now: datetime, lang: Language = ...
        ) -> List[str]:
            """The notice's lines with the links that fit ``request`` now, in ``lang``."""


__all__ = [
    "App",
    "bootstrap",
    "merge_settings",
    "new_request_id",
    "reminder_ladder",
    "status_meanings",
    "stored_locales",
    "system_clock",
]

T = TypeVar("T")


def system_clock() -> datetime:
    """The time now, in UTC: the one default clock of the library."""
    return datetime.now(timezone.utc)


def new_request_id() -> str:
    """A fresh request ID: a random 128-bit UUID as 32 hex digits.

    People read shortened IDs (the first 12 digits); the command line finds a
    request by any unambiguous prefix.
    """
    # uuid4().hex without the UUID object (its constructor is most of a submit's ID
    # cost) nor the module (its C part costs a read command ~5 ms to load): the same
    # random bits, version 4 and RFC 4122 variant set, as 32 hex digits.
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    return b.hex()


@attrs.define
class App:
    """What every use case runs on: storage, plugins, preset, clock, IDs and policies.

    :meth:`run` runs a use case in one unit of work and runs it again on fresh
    data when it lost a race (:class:`~siteupdates.errors.ConflictError`), up to
    ``attempts`` times.
    """

    storage: Storage
    host: PluginHost
    #: The provider preset; None reads it on first use from ``preset_source``.
    _preset: Optional[ProviderPreset] = attrs.field(default=None, alias="preset")
    clock: Callable[[], datetime] = system_clock
    new_id: Callable[[], str] = new_request_id
    #: The submission policies; None asks the host on first use (installed plugins
    #: may add some, and a command that only reads never needs them).
    _policies: Optional[Tuple[Policy, ...]] = attrs.field(default=None, alias="policies")
    attempts: int = 8
    #: The reminder ladder; None is the default one (see :attr:`reminders`).
    _reminders: Optional[Tuple[timedelta, ...]] = attrs.field(default=None, alias="reminders")
    #: The provider's words for what statuses mean (``[notices.statuses]``), by status.
    meanings: Mapping[Status, str] = attrs.field(factory=dict)
    #: The setup's locales: ``{"default": "de", "contacts": {"c1": "en"}}``.
    locales: Mapping[str, Any] = attrs.field(factory=dict)
    #: Signed action links for the contact's notices (:mod:`siteupdates.actionlinks`).
    links: Optional[NoticeLinks] = None
    #: Where the preset comes from when none was given (default: the built-in one).
    #: Asked on first use: a command that only reads never parses the stored
    #: provider settings, nor imports the planner's windows to do so.
    preset_source: Optional[Callable[[], ProviderPreset]] = None
    #: The stored preset's zone, read without parsing the rest (see :attr:`default_zone`).
    stored_zone: Optional[str] = None
    #: Whether the host gave the preset: a stored setup then never replaces it.
    preset_fixed: bool = False
    #: Plugin settings the host lays over the stored ``[plugins]`` tables.
    plugin_overrides: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)

    @property
    def default_zone(self) -> str:
        """The provider's zone: times are shown in it to readers without a zone of their own.

        Before the preset is parsed, the stored settings' zone is used as it is: a
        read command needs the zone, not the planner's whole preset.
        """
        if self._preset is None and self.stored_zone is not None:
            return self.stored_zone
        return self.preset.default_zone

    @property
    def preset(self) -> ProviderPreset:
        """The provider preset the use cases plan and judge with."""
        if self._preset is None:
            if self.preset_source is None:
                from siteupdates.presets import CAMPUS_HOSTING

                self._preset = CAMPUS_HOSTING
            else:
                self._preset = self.preset_source()
        return self._preset

    @preset.setter
    def preset(self, value: ProviderPreset) -> None:
        self._preset = value

    @property
    def reminders(self) -> Tuple[timedelta, ...]:
        """The reminder ladder: how long before a scheduled start each reminder fires."""
        if self._reminders is None:
            from siteupdates.domain.messages import DEFAULT_REMINDERS

            self._reminders = DEFAULT_REMINDERS
        return self._reminders

    @reminders.setter
    def reminders(self, value: Tuple[timedelta, ...]) -> None:
        self._reminders = value

    @property
    def policies(self) -> Tuple[Policy, ...]:
        """The submission policies of the registered plugins."""
        if self._policies is None:
            self._policies = self.host.policies()
        return self._policies

    def now(self) -> datetime:
        """The clock, checked to be a UTC-aware instant."""
        return require_aware("clock", self.clock())

    @property
    def reads(self) -> Reads:
        """Reads outside a unit, for views: each sees the latest commit."""
        return self.storage

    def run(self, use_case: Callable[[Unit], T], *, name: Optional[str] = None) -> T:
        """Run ``use_case`` in one unit of work; retry it whole when it lost a race.

        ``name`` is what metrics and traces call it (default: the name of the
        function that defined ``use_case``, ``submit`` for ``submit.<locals>.use_case``).
        """

        def once() -> T:
            with self.storage.unit() as uow:
                return use_case(uow)

        if not observe.active():
            return self.retry(once)
        # The use case's name is its defining function's (submit.<locals>.use_case).
        if name is None:
            name = getattr(use_case, "__qualname__", "use_case").split(".", 1)[0]
        return observe.run_use_case(name, lambda: self.retry(once))

    def retry(self, work: Callable[[], T]) -> T:
        """Run ``work`` (one transaction of its own) again while it loses races."""
        for attempt in range(self.attempts):
            try:
                return work()
            except ConflictError:
                if attempt == self.attempts - 1:
                    raise
                # Jittered backoff, so racing writers do not meet again in step.
                import random  # loaded on the first lost race only

                time.sleep(random.uniform(0, 0.002 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def outbox_id(self) -> str:
        """A time-ordered outbox ID, so items keep their causal order under a fixed clock."""
        # The first half of a uuid4's hex digits (version nibble included), as before.
        b = bytearray(os.urandom(8))
        b[6] = (b[6] & 0x0F) | 0x40
        return f"{time.time_ns():016x}{b.hex()}"


def reminder_ladder(settings: Mapping[str, Any]) -> Tuple[timedelta, ...]:
    """The reminder ladder of stored settings (``[notices] reminders``), else the default."""
    from siteupdates.domain.messages import DEFAULT_REMINDERS, parse_ladder

    notices = settings.get("notices") or {}
    if "reminders" not in notices:
        return DEFAULT_REMINDERS
    return parse_ladder(notices["reminders"])


def status_meanings(settings: Mapping[str, Any]) -> Dict[Status, str]:
    """The provider's words for statuses in stored settings (``[notices.statuses]``)."""
    from siteupdates.domain.meanings import from_table

    table = (settings.get("notices") or {}).get("statuses") or {}
    return from_table(table) if isinstance(table, Mapping) else {}


def stored_locales(settings: Mapping[str, Any]) -> Dict[str, Any]:
    """The setup's locales in stored settings: the provider's default and each contact's."""
    table = settings.get("locales") or {}
    return dict(table) if isinstance(table, Mapping) else {}


def merge_settings(
    base: Mapping[str, Any], extra: Mapping[str, Mapping[str, Any]]
) -> Dict[str, Dict[str, Any]]:
    """Plugin tables ``extra`` laid over the stored ones, key by key."""
    merged: Dict[str, Dict[str, Any]] = {k: dict(v) for k, v in base.items()}
    for name, table in extra.items():
        merged.setdefault(name, {}).update(table)
    return merged


def _stored_zone(settings: Mapping[str, Any]) -> Optional[str]:
    """The stored preset's zone, as parsing it would give; None when unsure (parse it all).

    With no stored preset it is the built-in one's; a stored one without a zone
    takes the built-in one's too (:func:`siteupdates.setupfile.stored_preset`).
    """
    from siteupdates.presets import CAMPUS_ZONE

    provider = settings.get("provider")
    if provider is None:
        return CAMPUS_ZONE
    if not isinstance(provider, Mapping):
        return None
    zone = provider.get("default_zone")
    if zone is None:
        return CAMPUS_ZONE
    if not isinstance(zone, str):
        return None
    try:
        return require_zone(zone)
    except SiteUpdatesError:
        return None


def bootstrap(
    storage: Union[Storage, str],
    *,
    host: Optional[PluginHost] = None,
    plugins: Iterable[object] = (),
    entry_points: bool = False,
    preset: Optional[ProviderPreset] = None,
    clock: Optional[Callable[[], datetime]] = None,
    new_id: Optional[Callable[[], str]] = None,
    plugin_settings: Optional[Mapping[str, Mapping[str, Any]]] = None,
) -> App:
    """Build the application over ``storage`` (a Storage, or a URL for the storage hook).

    ``plugin_settings`` (``{"smtp": {"url": ...}}``) is laid over the ``[plugins]``
    tables stored from the setup file, and every plugin receives the result
    through ``siteupdates_configure``. Entry-point plugins load only with
    ``entry_points=True`` (the command line's default) or through ``host``.
    """
    host = host or PluginHost(plugins=plugins, entry_points=entry_points)
    store = host.storage(storage) if isinstance(storage, str) else storage
    settings = store.settings()

    def stored() -> ProviderPreset:
        from siteupdates.presets import CAMPUS_HOSTING

        if settings.get("provider") is None:
            # Nothing stored: the setup-file reader (and what it loads) is not needed.
            return CAMPUS_HOSTING
        from siteupdates.setupfile import stored_preset

        return stored_preset(settings) or CAMPUS_HOSTING

    host.configure(merge_settings(settings.get("plugins") or {}, plugin_settings or {}))
    if os.environ.get("SITEUPDATES_TRACING"):
        from siteupdates import tracing

        tracing.enable_from_environment()
    return App(
        stored_zone=None if preset is not None else _stored_zone(settings),
        storage=store,
        host=host,
        preset=preset,
        preset_source=stored,
        clock=clock or system_clock,
        new_id=new_id or new_request_id,
        reminders=reminder_ladder(settings) if settings.get("notices") else None,
        meanings=status_meanings(settings),
        locales=stored_locales(settings),
        preset_fixed=preset is not None,
        plugin_overrides=dict(plugin_settings or {}),
    )
