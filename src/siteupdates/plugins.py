"""The plugin manager of one host, and the typed wrapper that calls its hooks.

Each :class:`PluginHost` owns its own :class:`pluggy.PluginManager`; nothing is
registered at import. The built-in plugins are registered by name through the
same hooks as third-party ones, and any of them can be blocked::

    host = PluginHost(blocked=["siteupdates.policy.r8_weekly_maintenance"])

:class:`PluginHost` is the only code that touches ``pm.hook``, so results keep
their types under ``mypy --strict`` everywhere else.

Installed plugins load when first needed (``entry_points=True``):

* storage plugins declare the URL schemes they open as entry points of the
  group ``siteupdates.storage`` (``postgresql = "siteupdates_postgres"``); a
  storage URL imports only the plugin named for its scheme, and only when no
  registered plugin (the built-in ``memory://`` and ``sqlite://`` ones, say)
  opens it;
* the other plugins (group ``siteupdates``) load together, before the first
  hook call that could reach them: policies, notices, calendars, blackouts,
  updates, :meth:`PluginHost.names`, or plugin settings with a table that no
  built-in plugin reads. Each receives the settings of the last
  :meth:`PluginHost.configure` call when it loads, so it is configured before
  any of its other hooks runs. A command that only reads (``siteupdates list``
  on SQLite) imports none of them.

The built-in plugins register at construction, unless the host asks for
``lazy_builtins=True`` (the command line does, for a command that only reads):
then each registers on first need, beneath every plugin registered before it
(so it is asked last, as when it registered at construction): a built-in
storage plugin when a URL of its scheme is opened (``siteupdates.storage.sqlite``
for ``sqlite://``), the others (notifiers, webhooks, health) before the first
hook call that could reach them, or when :meth:`PluginHost.configure` is given
a table one of them reads. A read command on SQLite registers only the SQLite
plugin. Registering late takes the later plugins off and puts them back, so
it is for a host that calls its hooks from one thread.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple

import pluggy

from siteupdates import hookspecs, ports
from siteupdates.errors import ConfigurationError
from siteupdates.hookspecs import hookimpl
from siteupdates.ports import Storage
from siteupdates.registry import PolicyRegistry

if TYPE_CHECKING:
    from siteupdates.domain import Policy, Site, Tenant, UpdateRequest
    from siteupdates.domain.lifecycle import HistoryEntry
    from siteupdates.domain.messages import CalendarEntry, Notice, Reminder
    from siteupdates.domain.windows import Blackout
    from siteupdates.notices import DeliveryAttempt, OutboxMessage
    from siteupdates.ports import Fence
    from siteupdates.runs import Run

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "STORAGE_ENTRY_POINT_GROUP",
    "PluginHost",
    "PolicyRegistry",
    "hookimpl",
    "load_plugin",
]

#: The entry-point group third-party plugins are installed under.
ENTRY_POINT_GROUP = "siteupdates"
#: Storage plugins: entry-point names are the URL schemes each opens.
STORAGE_ENTRY_POINT_GROUP = "siteupdates.storage"
#: Setting tables the built-in plugins read; any other table may be an installed plugin's.
BUILTIN_TABLES = frozenset({"smtp", "webhooks", "health"})


#: Built-in plugins: (name, "module:attribute") of a class to instantiate.
DEFAULT_PLUGINS: Tuple[Tuple[str, str], ...] = (
    ("siteupdates.storage.memory", "siteupdates.builtin.memory:MemoryStoragePlugin"),
    ("siteupdates.storage.sqlite", "siteupdates.builtin.sqlite:SqliteStoragePlugin"),
    ("siteupdates.notify.smtp", "siteupdates.builtin.smtp:SmtpPlugin"),
    ("siteupdates.notify.log", "siteupdates.builtin.lognotify:LogNotifier"),
    ("siteupdates.notify.webhooks", "siteupdates.builtin.webhooks:WebhookPlugin"),
    ("siteupdates.ops.health", "siteupdates.builtin.webhooks:HealthSettings"),
)


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


def installed_entry_points(group: str) -> List[Any]:
    """The entry points of ``group`` (importing :mod:`importlib.metadata` only now)."""
    from importlib import metadata

    found = metadata.entry_points()
    if hasattr(found, "select"):
        return list(found.select(group=group))
    return list(found.get(group, ()))  # pragma: no cover - Python 3.8 and 3.9


class PluginHost:
    """One host's plugins: built-ins, entry points and anything passed in.

    ``plugins`` are extra plugin objects (registered after the built-ins, so a
    host's notifier is asked before the logging one); ``blocked`` names plugins
    never to register; ``entry_points=True`` also uses the plugins installed
    under the ``siteupdates`` and ``siteupdates.storage`` entry-point groups (the
    command line does; a host program asks for it, so nothing it did not choose
    runs in its process). They load on first need (see the module's notes); the
    plugins passed in keep being asked before them, as if they had loaded first.
    A storage plugin from ``siteupdates.storage`` is registered under its scheme
    (block ``postgresql`` to refuse it). ``lazy_builtins=True`` registers the
    built-in plugins on first need rather than now (see the module's notes): for
    a short-lived host on one thread, such as a read command.
    """

    def __init__(
        self,
        *,
        plugins: Iterable[object] = (),
        blocked: Iterable[str] = (),
        entry_points: bool = False,
        lazy_builtins: bool = False,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        for name in blocked:
            self.pm.set_blocked(name)
        #: The built-in plugins still to register (name, spec), see _register_builtins.
        self._builtins: List[Tuple[str, str]] = []
        if lazy_builtins:
            self._builtins = list(DEFAULT_PLUGINS)
        else:
            for name, spec in DEFAULT_PLUGINS:
                if not self.pm.is_blocked(name):
                    self.pm.register(load_plugin(spec), name=name)
        #: The built-in rules are registered on first need (see _builtin_policies).
        self._rules_pending = True
        self.entry_points = entry_points
        #: The ``siteupdates`` entry points are still to load.
        self._pending = entry_points
        #: Plugins registered by the host, asked before the entry points (name, plugin).
        self._extra: List[Tuple[Optional[str], object]] = []
        #: The settings of the last configure(), for plugins that load later.
        self._settings: Optional[Mapping[str, Mapping[str, Any]]] = None
        for plugin in plugins:
            self.pm.register(plugin)
            self._extra.append((None, plugin))
        self.pm.check_pending()

    # -- management ------------------------------------------------------------

    def register(self, plugin: object, name: Optional[str] = None) -> None:
        """Register one more plugin and check its hook names."""
        self.pm.register(plugin, name=name)
        self._extra.append((name, plugin))
        self.pm.check_pending()

    def set_blocked(self, name: str) -> None:
        """Unregister and block the plugin called ``name``."""
        self.pm.set_blocked(name)

    def _register_builtins(self, name: Optional[str] = None) -> None:
        """Register the built-in plugin ``name`` (None: every one) if still to do, once.

        Each is registered beneath the plugins registered since construction
        (they are taken off and put back after it), so pluggy asks it after
        them, as when every built-in registered first; a blocked one is left
        out. It receives the settings of the last configure() call.
        """
        wanted = [(n, s) for n, s in self._builtins if name is None or n == name]
        if not wanted:
            return
        self._builtins = [b for b in self._builtins if b not in wanted]
        plugins = [(n, load_plugin(s)) for n, s in wanted if not self.pm.is_blocked(n)]
        if not plugins:
            return
        before = set(map(id, self.pm.get_plugins()))
        builtin = {n for n, _ in DEFAULT_PLUGINS}
        later = [
            (n, p) for n, p in self.pm.list_name_plugin() if p is not None and n not in builtin
        ]
        for _, plugin in later:
            self.pm.unregister(plugin)
        try:
            for n, plugin in plugins:
                self.pm.register(plugin, name=n)
        finally:
            for n, plugin in later:
                self.pm.register(plugin, name=n)
        self.pm.check_pending()
        self._configure_new(before)

    def names(self) -> List[str]:
        """The names of the registered plugins (installed ones included)."""
        self._builtin_policies()
        self.load_entry_points()
        return sorted(n for n, p in self.pm.list_name_plugin() if p is not None)

    def _builtin_policies(self) -> None:
        """Register one plugin per built-in rule, unless blocked, once.

        Only now: the rules import the policies and the planner's settings, which
        a command that only reads never needs. Blocking a rule's name before this
        keeps it out, as it did when they registered at construction; the order
        they are asked in does not matter (:meth:`policies` sorts them).
        """
        if not self._rules_pending:
            return
        self._rules_pending = False
        if self._builtins:  # first: so that the rules need not be put back after them
            self._register_builtins()
        from siteupdates.domain.policies import DEFAULT_POLICIES

        for policy in DEFAULT_POLICIES:
            name = f"siteupdates.policy.{policy.name}"
            if not self.pm.is_blocked(name):
                self.pm.register(BuiltinPolicy(policy), name=name)

    def load_entry_points(self) -> None:
        """Load the ``siteupdates`` entry-point plugins now, if asked for and not yet done.

        They are registered before the plugins the host passed in, as they were
        when they loaded at construction: a host's own plugin is asked first.
        The built-in plugins still to register come first, beneath them.
        """
        if self._builtins:
            self._register_builtins()
        if not self._pending:
            return
        self._pending = False
        before = set(map(id, self.pm.get_plugins()))
        extra = [(n, p) for n, p in self._extra if self.pm.is_registered(p)]
        for _, plugin in extra:
            self.pm.unregister(plugin)
        try:
            self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        finally:
            for name, plugin in extra:
                self.pm.register(plugin, name=name)
        self.pm.check_pending()
        self._configure_new(before)

    def _configure_new(self, before: set) -> None:  # type: ignore[type-arg]
        """Give the plugins registered since ``before`` the settings of the last configure()."""
        if self._settings is None:
            return
        old = [p for p in self.pm.get_plugins() if id(p) in before]
        if len(old) < len(self.pm.get_plugins()):
            caller = self.pm.subset_hook_caller("siteupdates_configure", remove_plugins=old)
            caller(settings=self._settings)

    def _storage_entry_point(self, scheme: str) -> bool:
        """Load the ``siteupdates.storage`` plugin named for ``scheme``; True if one was new."""
        for ep in installed_entry_points(STORAGE_ENTRY_POINT_GROUP):
            if ep.name != scheme or self.pm.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
            except ImportError as exc:
                raise ConfigurationError(
                    f"cannot import the storage plugin for {scheme}:// ({ep.value}): {exc}"
                ) from None
            if self.pm.is_registered(plugin):
                return False
            before = set(map(id, self.pm.get_plugins()))
            self.pm.register(plugin, name=ep.name)
            self.pm.check_pending()
            self._configure_new(before)
            return True
        return False

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
        scheme = url.split("://", 1)[0]
        if self._builtins:  # the built-in plugin named for the scheme, if any
            self._register_builtins(f"siteupdates.storage.{scheme}")
        result = self.pm.hook.siteupdates_storage(url=url)
        if result is None and self._builtins:
            self._register_builtins()
            result = self.pm.hook.siteupdates_storage(url=url)
        if result is None and self.entry_points and self._storage_entry_point(scheme):
            result = self.pm.hook.siteupdates_storage(url=url)
        if result is None and self._pending:
            self.load_entry_points()  # a storage plugin of the older, general group
            result = self.pm.hook.siteupdates_storage(url=url)
        if result is None:
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

    def setting_names(self) -> Set[str]:
        """The names a settings table may have: each registered plugin's, in short too.

        ``siteupdates.notify.smtp`` takes ``[plugins.smtp]``; an entry point's
        plugin takes its entry-point name (``ical``). Asking loads the installed
        plugins the host asked for, so that their names count.
        """
        self.load_entry_points()
        names = set()
        for name, plugin in self.pm.list_name_plugin():
            if plugin is not None and name is not None:
                names.update({name, name.rsplit(".", 1)[-1]})
        return names

    def table(self, name: str) -> Mapping[str, Any]:
        """The settings table ``name`` of the last :meth:`configure` (empty when none)."""
        return (self._settings or {}).get(name) or {}

    def versions(self) -> Dict[str, str]:
        """Each registered plugin's name and the version of the distribution it came from.

        Built-in plugins and those a host passed in without a distribution show
        the library's version; the built-in rules (``siteupdates.policy.*``) are
        left out.
        """
        from importlib import metadata

        try:
            own = metadata.version("siteupdates")
        except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
            own = "unknown"
        self.load_entry_points()
        dists = {id(p): d for p, d in self.pm.list_plugin_distinfo()}
        out: Dict[str, str] = {}
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None or name is None or name.startswith("siteupdates.policy."):
                continue  # the built-in rules: one plugin per rule, all of this version
            dist = dists.get(id(plugin))
            out[name] = (
                f"{dist.project_name} {dist.version}" if dist is not None else f"siteupdates {own}"
            )
        return dict(sorted(out.items()))

    def configure(self, settings: Mapping[str, Mapping[str, Any]]) -> None:
        """Hand every plugin its settings (``{"smtp": {...}, "ical": {...}}``).

        A table that no registered plugin is named after is logged as a warning
        (a typo, or a plugin this host does not load), not refused: a stored setup
        may serve hosts with different plugins.
        """
        if not isinstance(settings, Mapping) or not all(
            isinstance(v, Mapping) for v in settings.values()
        ):
            raise ConfigurationError(
                "plugin settings are one table per plugin name, such as [plugins.smtp]"
            )
        if self._builtins and set(settings) & BUILTIN_TABLES:
            # A table of a built-in plugin: register them now, so it checks it now.
            self._settings = None
            self._register_builtins()
        extra = set(settings) - BUILTIN_TABLES
        if self._pending and extra:
            # A table for an installed plugin: load it now, so it checks its table now.
            self._settings = None
            self.load_entry_points()
        self._settings = settings
        if extra:  # only then: the names of installed plugins cost loading them
            from siteupdates.logs import logger

            for name in sorted(extra - self.setting_names()):
                logger("siteupdates.plugins").warning(
                    "settings [plugins.%s] name no loaded plugin; ignored", name
                )
        self.pm.hook.siteupdates_configure(settings=settings)

    def policies(self) -> Tuple[Policy, ...]:
        """Every registered policy, built-in ones first."""
        from siteupdates.domain.policies import DEFAULT_POLICIES

        self._builtin_policies()
        self.load_entry_points()
        registry = PolicyRegistry()
        self.pm.hook.siteupdates_register_policies(registry=registry)
        # pluggy calls the newest plugin first; keep the built-in rules in SPEC order.
        order = {p.name: i for i, p in enumerate(DEFAULT_POLICIES)}
        found = registry.policies
        builtin = sorted((p for p in found if p.name in order), key=lambda p: order[p.name])
        return tuple(builtin) + tuple(p for p in found if p.name not in order)

    def deliver_notice(self, notice: Notice, attempt: Optional[DeliveryAttempt] = None) -> bool:
        """Ask the notifiers to deliver ``notice``; True when one did."""
        from siteupdates.notices import DeliveryAttempt

        self.load_entry_points()
        attempt = attempt or DeliveryAttempt(notice.key)
        return bool(self.pm.hook.siteupdates_deliver_notice(notice=notice, attempt=attempt))

    def notifiers(self) -> List[str]:
        """The names of the notifier plugins that would be asked, first asked first.

        A plugin with an ``active`` attribute that is false (the SMTP plugin before
        it is configured) is left out.
        """
        if self._builtins:
            self._register_builtins()
        impls = self.pm.hook.siteupdates_deliver_notice.get_hookimpls()
        return [
            i.plugin_name
            for i in reversed(impls)
            if getattr(i.plugin, "active", True) is not False
        ]

    def notifiers_cancellable(self) -> bool:
        """Whether every notifier takes the ``attempt`` (so a timeout can cancel it)."""
        if self._builtins:
            self._register_builtins()
        impls = self.pm.hook.siteupdates_deliver_notice.get_hookimpls()
        return all("attempt" in i.argnames for i in impls)

    def change_messages(
        self,
        request: UpdateRequest,
        entry: HistoryEntry,
        tenant: Tenant,
        reminders: List[Reminder],
    ) -> List[OutboxMessage]:
        """Every plugin's own outbox messages for one change (webhooks); often none.

        Plugins with an ``active`` attribute that is false (the webhook notifier
        without subscriptions) are not asked, so a change costs nothing for them.
        """
        if self._pending or self._builtins:
            self.load_entry_points()
        impls = self.pm.hook.siteupdates_change_messages.get_hookimpls()
        if not any(getattr(i.plugin, "active", True) is not False for i in impls):
            return []
        answers = self.pm.hook.siteupdates_change_messages(
            request=request, entry=entry, tenant=tenant, reminders=reminders
        )
        return [m for answer in answers for m in (answer or ())]

    def deliver_outbox(
        self, kind: str, key: str, payload: Mapping[str, Any], attempt: DeliveryAttempt
    ) -> Optional[bool]:
        """Ask the plugins to deliver an item of their own ``kind``; None when none did."""
        self.load_entry_points()
        result = self.pm.hook.siteupdates_deliver_outbox(
            kind=kind, key=key, payload=payload, attempt=attempt
        )
        return None if result is None else bool(result)

    def calendar_update(self, entry: CalendarEntry) -> bool:
        """Ask the calendars to apply ``entry``; True when one did."""
        self.load_entry_points()
        return bool(self.pm.hook.siteupdates_calendar_update(entry=entry))

    def performs_updates(self) -> bool:
        """Whether any plugin implements ``siteupdates_perform_update``."""
        self.load_entry_points()
        return bool(self.pm.hook.siteupdates_perform_update.get_hookimpls())

    def perform_update(
        self, request: UpdateRequest, tenant: Tenant, fence: Optional[Fence] = None
    ) -> Optional[bool]:
        """Ask the updater plugin to do ``request``; None when no plugin performs updates."""
        self.load_entry_points()
        fence = fence or ports.Fence(request.id, "-", 0)
        result = self.pm.hook.siteupdates_perform_update(
            request=request, tenant=tenant, fence=fence
        )
        return None if result is None else bool(result)

    def before_update(self, request: UpdateRequest, tenant: Tenant, fence: Fence) -> None:
        """Run every plugin's step before an update (the first to raise stops the rest)."""
        if self._builtins:
            self._register_builtins()
        self.pm.hook.siteupdates_before_update(request=request, tenant=tenant, fence=fence)

    def after_refresh(
        self, request: UpdateRequest, tenant: Tenant, site: Site, fence: Fence
    ) -> None:
        """Run every plugin's step after a DB refresh of ``site``."""
        if self._builtins:
            self._register_builtins()
        self.pm.hook.siteupdates_after_refresh(
            request=request, tenant=tenant, site=site, fence=fence
        )

    def after_update(self, request: UpdateRequest, tenant: Tenant, fence: Fence) -> None:
        """Run every plugin's step after an update."""
        if self._builtins:
            self._register_builtins()
        self.pm.hook.siteupdates_after_update(request=request, tenant=tenant, fence=fence)

    def blackouts(
        self, tenant_id: Optional[str], start: datetime, end: datetime
    ) -> List[Blackout]:
        """Every blackout any plugin reports for ``tenant_id`` between ``start`` and ``end``."""
        self.load_entry_points()
        answers = self.pm.hook.siteupdates_blackouts(tenant_id=tenant_id, start=start, end=end)
        return [b for answer in answers for b in (answer or ())]

    # -- executors ---------------------------------------------------------------------

    def executor_dispatch(self, run: Run) -> Optional[str]:
        """Hand ``run`` to the executor that takes it; its reference, None when none did."""
        if self._builtins:
            self._register_builtins()
        result = self.pm.hook.siteupdates_executor_dispatch(run=run)
        return None if result is None else str(result)

    def executor_status(self, run: Run) -> Optional[str]:
        """The engine's word for the state of ``run``; None when no executor can tell."""
        if self._builtins:
            self._register_builtins()
        result = self.pm.hook.siteupdates_executor_status(run=run)
        return None if result is None else str(result)

    def executor_cancel(self, run: Run) -> Optional[bool]:
        """Ask the engine to stop ``run``; None when no executor took the request."""
        if self._builtins:
            self._register_builtins()
        result = self.pm.hook.siteupdates_executor_cancel(run=run)
        return None if result is None else bool(result)


def scheme_of(url: str) -> str:
    """The scheme of a URL, without anything that could be a password."""
    return url.split("://", 1)[0] + "://"
