"""The plugin manager of one host, and the typed wrapper that calls its hooks.

Each :class:`PluginHost` owns its own :class:`pluggy.PluginManager`; nothing is
registered at import. The built-in plugins are registered by name through the
same hooks as third-party ones, and any of them can be blocked::

    host = PluginHost(blocked=["siteupdates.policy.r8_weekly_maintenance"])

:class:`PluginHost` is the only code that touches ``pm.hook``, so results keep
their types under ``mypy --strict`` everywhere else.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import pluggy

from siteupdates import hookspecs
from siteupdates.domain import Policy, Tenant, UpdateRequest
from siteupdates.domain.messages import CalendarEntry, Notice
from siteupdates.domain.policies import DEFAULT_POLICIES
from siteupdates.domain.windows import Blackout
from siteupdates.errors import ConfigurationError
from siteupdates.hookspecs import hookimpl
from siteupdates.ports import Storage

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PluginHost",
    "PolicyRegistry",
    "hookimpl",
    "load_plugin",
]

ENTRY_POINT_GROUP = "siteupdates"

#: Built-in plugins: (name, "module:attribute") of a class to instantiate.
DEFAULT_PLUGINS: Tuple[Tuple[str, str], ...] = (
    ("siteupdates.storage.memory", "siteupdates.builtin.memory:MemoryStoragePlugin"),
    ("siteupdates.storage.sqlite", "siteupdates.builtin.sqlite:SqliteStoragePlugin"),
    ("siteupdates.notify.smtp", "siteupdates.builtin.smtp:SmtpPlugin"),
    ("siteupdates.notify.log", "siteupdates.builtin.lognotify:LogNotifier"),
)


class PolicyRegistry:
    """Collects the policies that plugins register, in registration order."""

    def __init__(self) -> None:
        self._policies: Dict[str, Policy] = {}

    def register(self, policy: Policy) -> None:
        """Add ``policy``; its ``name`` must be unique."""
        if not isinstance(policy, Policy):
            raise ConfigurationError(
                f"register() takes a siteupdates.domain.Policy, not {type(policy).__name__}"
            )
        if policy.name in self._policies:
            raise ConfigurationError(f"a policy named {policy.name!r} is registered already")
        self._policies[policy.name] = policy

    @property
    def policies(self) -> Tuple[Policy, ...]:
        """The registered policies."""
        return tuple(self._policies.values())


class BuiltinPolicy:
    """A plugin that registers one built-in rule; blocked by its name."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    @hookimpl
    def siteupdates_register_policies(self, registry: PolicyRegistry) -> None:
        """Register the rule."""
        registry.register(self.policy)


def load_plugin(spec: str) -> Any:
    """The plugin named by ``module`` or ``module:attribute``; a class is instantiated.

    Raises ConfigurationError naming what could not be imported or found.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigurationError(f"a plugin is named MODULE or MODULE:ATTRIBUTE, not {spec!r}")
    module_name, _, attr = spec.strip().partition(":")
    if not module_name:
        raise ConfigurationError(f"plugin {spec!r} names no module: expected MODULE[:ATTRIBUTE]")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or whatever the module raised on import
        raise ConfigurationError(
            f"cannot import plugin {module_name!r}: {type(exc).__name__}: {exc}"
        ) from None
    if not attr:
        return module
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise ConfigurationError(f"plugin module {module_name!r} has no {attr!r}") from None
    if not isinstance(obj, type):
        return obj
    try:
        return obj()
    except Exception as exc:
        raise ConfigurationError(
            f"cannot make plugin {spec!r}: {obj.__name__}() failed: {type(exc).__name__}: {exc}"
        ) from None


class PluginHost:
    """One host's plugins: built-ins, entry points and anything passed in.

    ``plugins`` are extra plugin objects (registered after the built-ins, so a
    host's notifier is asked before the logging one); ``blocked`` names plugins
    never to register; ``entry_points=True`` also loads the plugins installed
    under the ``siteupdates`` entry-point group (the command line does; a host
    program asks for it, so nothing it did not choose runs in its process).
    """

    def __init__(
        self,
        *,
        plugins: Iterable[object] = (),
        blocked: Iterable[str] = (),
        entry_points: bool = False,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        for name in blocked:
            self.pm.set_blocked(name)
        for name, spec in DEFAULT_PLUGINS:
            if not self.pm.is_blocked(name):
                self.pm.register(load_plugin(spec), name=name)
        for policy in DEFAULT_POLICIES:
            name = f"siteupdates.policy.{policy.name}"
            if not self.pm.is_blocked(name):
                self.pm.register(BuiltinPolicy(policy), name=name)
        if entry_points:
            self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        self.entry_points = entry_points
        for plugin in plugins:
            self.pm.register(plugin)
        self.pm.check_pending()

    # -- management ------------------------------------------------------------

    def register(self, plugin: object, name: Optional[str] = None) -> None:
        """Register one more plugin and check its hook names."""
        self.pm.register(plugin, name=name)
        self.pm.check_pending()

    def set_blocked(self, name: str) -> None:
        """Unregister and block the plugin called ``name``."""
        self.pm.set_blocked(name)

    def names(self) -> List[str]:
        """The names of the registered plugins."""
        return sorted(n for n, p in self.pm.list_name_plugin() if p is not None)

    def check_pending(self) -> None:
        """Raise when a plugin implements a hook that does not exist (a misspelling)."""
        self.pm.check_pending()

    # -- typed hook calls ---------------------------------------------------------

    def storage(self, url: str) -> Storage:
        """Open the storage for ``url`` through the storage hook."""
        if not isinstance(url, str) or "://" not in url:
            raise ConfigurationError(
                f"storage URL {url!r} has no scheme; expected memory://, sqlite:///path.db "
                "or another scheme a plugin handles"
            )
        result = self.pm.hook.siteupdates_storage(url=url)
        if result is None:
            scheme = url.split("://", 1)[0]
            hint = (
                ""
                if self.entry_points
                else (
                    "; installed plugins load only with PluginHost(entry_points=True) "
                    "or when passed as plugins=[...]"
                )
            )
            raise ConfigurationError(
                f"no plugin handles storage URLs of scheme {scheme!r}; built in: memory://, "
                f"sqlite:///path.db (postgresql:// needs siteupdates-postgres){hint}"
            )
        if not isinstance(result, Storage):
            raise ConfigurationError(
                f"the storage plugin for {scheme_of(url)} returned no Storage"
            )
        return result

    def configure(self, settings: Mapping[str, Mapping[str, Any]]) -> None:
        """Hand every plugin its settings (``{"smtp": {...}, "ical": {...}}``)."""
        if not isinstance(settings, Mapping) or not all(
            isinstance(v, Mapping) for v in settings.values()
        ):
            raise ConfigurationError(
                "plugin settings are one table per plugin name, such as [plugins.smtp]"
            )
        self.pm.hook.siteupdates_configure(settings=settings)

    def policies(self) -> Tuple[Policy, ...]:
        """Every registered policy, built-in ones first."""
        registry = PolicyRegistry()
        self.pm.hook.siteupdates_register_policies(registry=registry)
        # pluggy calls the newest plugin first; keep the built-in rules in SPEC order.
        order = {p.name: i for i, p in enumerate(DEFAULT_POLICIES)}
        found = registry.policies
        builtin = sorted((p for p in found if p.name in order), key=lambda p: order[p.name])
        return tuple(builtin) + tuple(p for p in found if p.name not in order)

    def deliver_notice(self, notice: Notice) -> bool:
        """Ask the notifiers to deliver ``notice``; True when one did."""
        return bool(self.pm.hook.siteupdates_deliver_notice(notice=notice))

    def calendar_update(self, entry: CalendarEntry) -> bool:
        """Ask the calendars to apply ``entry``; True when one did."""
        return bool(self.pm.hook.siteupdates_calendar_update(entry=entry))

    def performs_updates(self) -> bool:
        """Whether any plugin implements ``siteupdates_perform_update``."""
        return bool(self.pm.hook.siteupdates_perform_update.get_hookimpls())

    def perform_update(self, request: UpdateRequest, tenant: Tenant) -> Optional[bool]:
        """Ask the updater plugin to do ``request``; None when no plugin performs updates."""
        result = self.pm.hook.siteupdates_perform_update(request=request, tenant=tenant)
        return None if result is None else bool(result)

    def blackouts(
        self, tenant_id: Optional[str], start: datetime, end: datetime
    ) -> List[Blackout]:
        """Every blackout any plugin reports for ``tenant_id`` between ``start`` and ``end``."""
        answers = self.pm.hook.siteupdates_blackouts(tenant_id=tenant_id, start=start, end=end)
        return [b for answer in answers for b in (answer or ())]


def scheme_of(url: str) -> str:
    """The scheme of a URL, without anything that could be a password."""
    return url.split("://", 1)[0] + "://"
