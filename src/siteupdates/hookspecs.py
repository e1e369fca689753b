"""Hook specifications: what a siteupdates plugin may provide.

A plugin is any object or module with functions marked ``@hookimpl`` whose names
are those below. Hooks are called with keyword arguments only, and an
implementation may accept a subset of them, so a hook can gain an argument
without breaking plugins. Third-party plugins are found through the entry-point
group ``siteupdates``; see ``docs/plugins.md`` for a walk-through.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, List, Mapping, Optional

import pluggy

if TYPE_CHECKING:
    from siteupdates.domain import Tenant, UpdateRequest
    from siteupdates.domain.messages import CalendarEntry, Notice
    from siteupdates.domain.windows import Blackout
    from siteupdates.plugins import PolicyRegistry
    from siteupdates.ports import Storage

#: The pluggy project name: hook implementations are marked for it.
PROJECT = "siteupdates"
#: Marks the hook specifications below (for this module only).
hookspec = pluggy.HookspecMarker(PROJECT)
#: Marks a plugin's function as a hook implementation: ``@hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT)

# -- Configuration ---------------------------------------------------------------


@hookspec
def siteupdates_configure(settings: Mapping[str, Mapping[str, Any]]) -> None:
    """Receive the plugins' settings: one table per plugin name.

    Called once when an application is built, before any other hook, with the
    ``[plugins.NAME]`` tables of the stored setup file, over which the host or
    the command line may lay its own (``--smtp URL`` sets ``smtp.url``). Read
    your own table (``settings.get("ical", {})``) and ignore the others. Raise
    ConfigurationError naming the key for a value you cannot use; never put a
    secret in the message.
    """


# -- Storage ---------------------------------------------------------------------


@hookspec(firstresult=True)
def siteupdates_storage(url: str) -> Optional[Storage]:
    """Open the storage for ``url`` if this plugin handles its scheme.

    Called when a host opens a desk. Return a :class:`~siteupdates.ports.Storage`
    for a URL whose scheme you handle (``sqlite:///path.db``), else None. The first
    non-None answer wins. Raise ConfigurationError for a URL of your scheme that
    you cannot use; never put a password in the message.
    """


# -- Notification ------------------------------------------------------------------


@hookspec(firstresult=True)
def siteupdates_deliver_notice(notice: Notice) -> Optional[bool]:
    """Deliver one notice (R20) through your channel (mail, chat, ticket).

    Called by the outbox dispatcher, possibly more than once for the same notice
    (delivery is at least once; drop duplicates by ``notice.key``). Return True
    when delivered; return None to let the next notifier try. Raise to report a
    failure: the notice stays pending and is retried with backoff.
    """


# -- Calendars ----------------------------------------------------------------------


@hookspec(firstresult=True)
def siteupdates_calendar_update(entry: CalendarEntry) -> Optional[bool]:
    """Publish, move or withdraw a scheduled update in a calendar (``entry.action``).

    Called by the outbox dispatcher, at least once per change; use ``entry.key``
    or ``entry.request_id`` to make it idempotent. Return True when done, None when
    you keep no calendar; raise to have it retried.
    """


@hookspec
def siteupdates_blackouts(
    tenant_id: Optional[str], start: datetime, end: datetime
) -> List[Blackout]:
    """Periods between ``start`` and ``end`` when updates must not run.

    Called by the scheduler for each tenant it plans (and with ``tenant_id`` None
    for provider-wide periods). Every plugin's answer counts: return a list,
    possibly empty.
    """
    raise NotImplementedError


# -- Hosting workers ----------------------------------------------------------------


@hookspec(firstresult=True)
def siteupdates_perform_update(request: UpdateRequest, tenant: Tenant) -> Optional[bool]:
    """Do the update itself: install ``request.version``, refresh a database (R1, R4).

    Called by a hosting worker after it moved the request to In Progress, while it
    renews its lease in the background. Return True when done; raise to report a
    failure whose message reaches the contact (R20). Return None when you do not
    perform updates: the worker then hands the request back. Must be safe to call
    again for a request whose earlier attempt died midway.
    """


# -- Policies -----------------------------------------------------------------------


@hookspec
def siteupdates_register_policies(registry: PolicyRegistry) -> None:
    """Add submission checks by calling ``registry.register(policy)``.

    Called once when a desk is opened. The built-in rules register themselves
    through this hook too, each as a plugin named ``siteupdates.policy.<name>``
    that a host can block.
    """
