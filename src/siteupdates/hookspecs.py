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
    from siteupdates.domain import Site, Tenant, UpdateRequest
    from siteupdates.domain.messages import CalendarEntry, Notice
    from siteupdates.domain.windows import Blackout
    from siteupdates.notices import DeliveryAttempt
    from siteupdates.ports import Fence, Storage
    from siteupdates.registry import PolicyRegistry
    from siteupdates.runs import Run

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
def siteupdates_deliver_notice(notice: Notice, attempt: DeliveryAttempt) -> Optional[bool]:
    """Deliver one notice (R20) through your channel (mail, chat, ticket).

    Called by the outbox dispatcher, which claimed the notice first: concurrent
    dispatchers hand each notice to one notifier call. After a crash a notice can
    come again (at least once): drop duplicates by ``notice.key``. Call
    ``attempt.commit()`` right before the step you cannot take back (sending the
    message); it raises AttemptCancelled when the dispatcher gave the attempt up
    (``attempt.remaining`` seconds are left; use them as your network timeout) or
    lost its claim, and then you must not send. An implementation without the
    ``attempt`` argument still works, but the dispatcher cannot cancel it: it
    waits for its answer instead.

    Return True when delivered; return None to let the next notifier try. Raise
    PermanentDeliveryError for a notice that will never go through as it is
    (it is dead-lettered at once with your reason) and TemporaryDeliveryError (or
    anything else) for one that may go through later (retried with backoff).
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
def siteupdates_perform_update(
    request: UpdateRequest, tenant: Tenant, fence: Fence
) -> Optional[bool]:
    """Do the update itself: install ``request.version``, refresh a database (R1, R4).

    Called by a hosting worker after it moved the request to In Progress, while it
    renews its lease in the background. ``fence.token`` is the fencing token of
    the worker's claim: it rises with every claim of the request, so a system
    the update touches can refuse an actor whose token is lower than the highest
    it has seen (a stalled worker whose lease another worker took over). Return
    True when done. Raise UpdateFailed with the reason the contact reads (and
    ``ask=True`` to ask them a question: Pending Input); any other exception
    makes the request Unable to Complete with a generic reason, its text going
    to the provider's log only. Return None when you do not perform updates: the
    worker then hands the request back. Must be safe to call again for a request
    whose earlier attempt died midway. Implementations written for
    ``(request, tenant)`` keep working.
    """


@hookspec
def siteupdates_before_update(request: UpdateRequest, tenant: Tenant, fence: Fence) -> None:
    """A step before the update (a pre-copy step: a backup, a maintenance page).

    Called by a hosting worker, every plugin's in turn, after the request went
    In Progress and before ``siteupdates_perform_update``. Raise UpdateFailed to
    stop the update with an outcome (Pending Input with ``ask=True``, else Unable
    to Complete with ``reason`` for the contact); the update is then not performed.
    """


@hookspec
def siteupdates_after_refresh(
    request: UpdateRequest, tenant: Tenant, site: Site, fence: Fence
) -> None:
    """A step after a DB refresh of ``site`` (scrub email addresses in a refreshed sandbox).

    Called by a hosting worker, every plugin's in turn, after a successful
    ``siteupdates_perform_update`` of a request with a DB refresh, before
    ``siteupdates_after_update``. ``site`` is the refreshed site as it was before.
    A failure ends the request as for ``siteupdates_before_update``: the update
    ran, so say in ``reason`` what the contact should know.
    """


@hookspec
def siteupdates_after_update(request: UpdateRequest, tenant: Tenant, fence: Fence) -> None:
    """A step after the update (a post-copy step: clear caches, lift the maintenance page).

    Called by a hosting worker, every plugin's in turn, after a successful
    ``siteupdates_perform_update`` (and ``siteupdates_after_refresh``), before the
    request is Completed. A failure ends the request as for
    ``siteupdates_before_update``.
    """


# -- Policies -----------------------------------------------------------------------


@hookspec
def siteupdates_register_policies(registry: PolicyRegistry) -> None:
    """Add submission checks by calling ``registry.register(policy)``.

    Called once when a desk is opened. The built-in rules register themselves
    through this hook too, each as a plugin named ``siteupdates.policy.<name>``
    that a host can block.
    """


# -- Executors ----------------------------------------------------------------------


@hookspec(firstresult=True)
def siteupdates_executor_dispatch(run: Run) -> Optional[str]:
    """Hand ``run`` to your engine (a Celery task, an AWX job, a Kubernetes Job ...).

    Called by a dispatcher (``siteupdates dispatch``) for each request it claimed,
    while its lease holds. Return a reference to the engine's run (a task ID)
    when you took it; return None when you are not the configured executor, so
    the next one is asked; raise when your engine cannot take it now: the
    dispatcher hands the request back and tries again later. Use
    ``run.idempotency_key`` as the engine's ID for the run where it has one, so a
    second call for the same run starts nothing new. The engine reports back
    with ``run.id`` and ``run.fencing_token`` (``siteupdates report``).
    """


@hookspec(firstresult=True)
def siteupdates_executor_status(run: Run) -> Optional[str]:
    """What your engine says of ``run`` (``PENDING``, ``STARTED``, ``FAILURE`` ...).

    Called when the provider asks (``siteupdates dispatch --status REQUEST``).
    Return your engine's word for the run's state, or None when you did not
    dispatch it or your engine cannot tell. The library's own status of the
    request does not change.
    """


@hookspec(firstresult=True)
def siteupdates_executor_cancel(run: Run) -> Optional[bool]:
    """Ask your engine to stop ``run``.

    Called when the provider cancels a run (``siteupdates dispatch --cancel
    REQUEST``), just before the library ends it (Deferred, or Unable to Complete
    once started) and drops its lease, so later reports of the run are refused
    whatever the engine does. Return True when the engine was asked, None when
    you did not dispatch it.
    """
