"""Use cases that were method bodies of the 0.2 facade: transitions, setup, outbox, runs, reads.

Each is a function of the :class:`~siteupdates.app.App` and plain values, as
every use case is, and is declared once in :mod:`siteupdates.usecases.catalog`;
the Python API, the command line and the web plugins reach it through that
declaration. The arguments arrive checked by the declaration's kinds.
"""

from __future__ import annotations

from datetime import datetime
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
    Union,
)

from siteupdates.domain.lifecycle import Event
from siteupdates.errors import InvalidInput, NotFound
from siteupdates.ports import Page

from . import provider as provider_cases
from .bootstrap import App, merge_settings, reminder_ladder, status_meanings, stored_locales

if TYPE_CHECKING:
    from pathlib import Path

    from siteupdates.domain.model import Catalog, Contact, Status, Tenant, UpdateRequest
    from siteupdates.domain.preset import ProviderPreset
    from siteupdates.ports import AuditEntry, OutboxItem, Setup

    from .contact import Submission
    from .executors import DispatchReport, RunDispatcher
    from .outbox import DeliveryReport, Dispatcher
    from .planning import WhatIf
    from .reference import SetupReport

__all__ = [
    "apply_setup",
    "approve",
    "ask_input",
    "audit",
    "catalog",
    "complete",
    "defer",
    "deliver",
    "dispatch",
    "dispatcher",
    "decline",
    "fail",
    "me",
    "outbox",
    "outbox_item",
    "override",
    "pull",
    "requests",
    "reschedule",
    "resume",
    "retry_outbox",
    "run_dispatcher",
    "schedule",
    "start",
    "store_setup",
    "tenants",
    "what_if",
]


# -- the provider's transitions --------------------------------------------------------


def future(app: App, when: datetime, allow_past: bool) -> datetime:
    """``when``, unless it has passed and the provider did not say it may."""
    now = app.now()
    if when < now and not allow_past:
        raise InvalidInput(
            f"{when.isoformat()} is in the past (now {now.isoformat()}); a date that has "
            "passed is refused unless allow_past=True (--allow-past) records it anyway",
            when,
        )
    return when


def schedule(
    app: App,
    request_id: str,
    when: datetime,
    *,
    by: str = "provider",
    reason: Optional[str] = None,
    allow_past: bool = False,
) -> UpdateRequest:
    """Confirm a date by hand (the provider's override of the plan, R13); the contact is told."""
    return provider_cases.act(
        app, request_id, Event.SCHEDULE, by=by, date=future(app, when, allow_past), reason=reason
    )


def reschedule(
    app: App,
    request_id: str,
    when: datetime,
    reason: str,
    *,
    by: str = "provider",
    allow_past: bool = False,
) -> UpdateRequest:
    """Move a scheduled date, with a reason; the contact is told (R13, R20)."""
    return provider_cases.act(
        app, request_id, Event.RESCHEDULE, by=by, reason=reason,
        date=future(app, when, allow_past),
    )  # fmt: skip


def pull(app: App, request_id: str, *, by: str = "provider") -> UpdateRequest:
    """Take a scheduled request from the queue: Not Started."""
    return provider_cases.act(app, request_id, Event.PULL, by=by)


def start(app: App, request_id: str, *, by: str = "provider") -> UpdateRequest:
    """Begin the update: In Progress, the site is offline."""
    return provider_cases.act(app, request_id, Event.START, by=by)


def complete(app: App, request_id: str, *, by: str = "provider") -> UpdateRequest:
    """Finish the update; the tenant's sites take the new version or refresh date."""
    return provider_cases.act(app, request_id, Event.COMPLETE, by=by)


def ask_input(app: App, request_id: str, question: str, *, by: str = "provider") -> UpdateRequest:
    """Ask the contact a question: Pending Input (R20)."""
    return provider_cases.act(app, request_id, Event.ASK_INPUT, by=by, reason=question)


def defer(app: App, request_id: str, reason: str, *, by: str = "provider") -> UpdateRequest:
    """Put a request on hold until further notice."""
    return provider_cases.act(app, request_id, Event.DEFER, by=by, reason=reason)


def resume(app: App, request_id: str, *, by: str = "provider") -> UpdateRequest:
    """Take a deferred request back into the queue."""
    return provider_cases.act(app, request_id, Event.RESUME, by=by)


def fail(app: App, request_id: str, reason: str, *, by: str = "provider") -> UpdateRequest:
    """Give up on a request: Unable to Complete, and the contact is told why (R20)."""
    return provider_cases.act(app, request_id, Event.FAIL, by=by, reason=reason)


def override(
    app: App,
    contact_id: str,
    tenant_id: str,
    target: str,
    version: Optional[str],
    *,
    rules: Sequence[str],
    reason: str,
    by: str = "provider",
    db_refresh: Optional[bool] = None,
    at: datetime,
    zone: Optional[str] = None,
    ambiguity: Any = "earlier",
    idempotency_key: Optional[str] = None,
) -> Submission:
    """Submit for a contact, overriding exactly the rules named, with a reason (history)."""
    from siteupdates.domain.policies import Override

    from .contact import submit

    return submit(
        app, contact_id, tenant_id, target, version, db_refresh=db_refresh, at=at, zone=zone,
        ambiguity=ambiguity, idempotency_key=idempotency_key,
        override=Override(tuple(rules), reason, by),
    )  # fmt: skip


# -- setup -----------------------------------------------------------------------------


def store_setup(
    app: App,
    setup: Union[Setup, str, Path, Mapping[str, Any]],
    *,
    by: str,
    replace: bool,
    dry_run: bool = False,
) -> SetupReport:
    """Store a setup's reference data (over what is stored, or making it equal); audited.

    A ``[plugins]`` table a plugin refuses stores nothing. After a real run the
    reminder ladder and (unless the desk was given one) the preset follow the
    stored settings.
    """
    from siteupdates.setupfile import load_setup, stored_preset

    from . import reference

    loaded = load_setup(setup)
    if "plugins" in loaded.settings:
        app.host.configure(merge_settings(loaded.settings["plugins"], app.plugin_overrides))
    report = reference.apply_setup(app, loaded, by=by, replace=replace, dry_run=dry_run)
    if not dry_run:
        stored = app.storage.settings()
        app.reminders = reminder_ladder(stored)
        app.meanings = status_meanings(stored)
        app.locales = stored_locales(stored)
        if not app.preset_fixed:
            found = stored_preset(app.storage.settings())
            if found is not None:
                app.preset = found
    return report


def apply_setup(
    app: App,
    setup: Union[Setup, str, Path, Mapping[str, Any]],
    *,
    by: str = "provider",
    dry_run: bool = False,
) -> SetupReport:
    """Make the stored reference data equal to ``setup``; every change is audited.

    Removed contacts lose access at once, withdrawn versions are no longer
    offered, removing a tenant with open requests is refused (nothing is
    written). ``dry_run`` reports the difference and writes nothing.
    """
    return store_setup(app, setup, by=by, replace=True, dry_run=dry_run)


def load_setup(
    app: App, setup: Union[Setup, str, Path, Mapping[str, Any]], *, by: str = "siteupdates"
) -> SetupReport:
    """Add the provider's reference data over what is stored (nothing is removed); audited."""
    return store_setup(app, setup, by=by, replace=False)


def audit(
    app: App, *, kind: Optional[str] = None, key: Optional[str] = None, limit: int = 1000
) -> List[AuditEntry]:
    """The recorded changes of reference data, newest first."""
    return app.storage.audit(kind=kind, key=key, limit=limit)


def what_if(
    app: App,
    setup: Union[ProviderPreset, str, Path, Mapping[str, Any]],
    *,
    horizon: Optional[datetime] = None,
) -> WhatIf:
    """Plan the queue under a changed setup (a preset or a setup file); store nothing."""
    from siteupdates.domain.preset import ProviderPreset
    from siteupdates.setupfile import load_setup as read_setup
    from siteupdates.setupfile import stored_preset

    from . import planning

    preset = (
        setup if isinstance(setup, ProviderPreset) else stored_preset(read_setup(setup).settings)
    )
    if preset is None:
        raise InvalidInput("the setup has no [provider] table to plan with", None)
    return planning.what_if(app, preset, horizon=horizon)


# -- reads a user interface lists ------------------------------------------------------


def catalog(app: App) -> Catalog:
    """The versions on offer."""
    return app.reads.catalog()


def catalog_for(app: App, contact_id: str) -> Catalog:
    """The versions on offer, for a contact who may see at least one tenant."""
    from .access import contact

    contact(app.reads, contact_id)
    return app.reads.catalog()


def me(app: App, contact_id: str) -> Contact:
    """The contact's own record (name, email, zone, tenants)."""
    from .access import contact

    return contact(app.reads, contact_id)


def tenants(app: App, *, offset: int = 0, limit: int = 100) -> Page[Tenant]:
    """Every tenant, by ID, one page."""
    found = app.reads.tenants()
    return Page(tuple(found[offset : offset + limit]), len(found), offset, limit)


def requests(
    app: App,
    *,
    tenant_id: Optional[str] = None,
    statuses: Sequence[Status] = (),
    since: Optional[datetime] = None,
    until: Optional[datetime] = None,
    offset: int = 0,
    limit: int = 100,
) -> Page[UpdateRequest]:
    """Requests of one tenant (newest first) or of some statuses (first come first served).

    ``since``/``until`` keep those whose scheduled start (or, unscheduled, whose
    preferred start) lies in the range. Without ``tenant_id``, ``statuses`` must
    name at least one status.
    """
    if tenant_id is not None:
        page = app.reads.requests_for(
            tenant_id, statuses=tuple(statuses) or None, offset=0 if since or until else offset,
            limit=limit if not (since or until) else 1_000_000,
        )  # fmt: skip
        if not (since or until):
            return page
        found: List[UpdateRequest] = list(page.items)
    else:
        if not statuses:
            raise InvalidInput("name a tenant or at least one status to list requests", None)
        if not (since or until):
            return app.reads.page_in(tuple(statuses), offset=offset, limit=limit)
        found = app.reads.requests_in(tuple(statuses), limit=1_000_000)

    def within(r: UpdateRequest) -> bool:
        at = r.scheduled_for or r.preferred_start
        if at is None:
            return False
        return (since is None or at >= since) and (until is None or at < until)

    kept = [r for r in found if within(r)]
    return Page(tuple(kept[offset : offset + limit]), len(kept), offset, limit)


def outbox(
    app: App,
    *,
    state: Optional[str] = None,
    request_id: Optional[str] = None,
    offset: int = 0,
    limit: int = 100,
) -> Page[OutboxItem]:
    """Outgoing notices and their delivery state, oldest first, one page."""
    from siteupdates.ports import OutboxState

    chosen = None if state is None else OutboxState(state)
    return app.reads.outbox_page(state=chosen, request_id=request_id, offset=offset, limit=limit)


def outbox_item(app: App, item_id: str) -> Tuple[OutboxItem, List[Any]]:
    """One outbox item and its delivery log; NotFound otherwise."""
    found = app.reads.outbox_item(item_id)
    if found is None:
        raise NotFound("outbox item", item_id)
    return found, app.storage.outbox_log(item_id)


# -- outbox and runs -------------------------------------------------------------------


def dispatcher(
    app: App, *, clock: Optional[Callable[[], datetime]] = None, **options: Any
) -> Dispatcher:
    """A dispatcher for the app's outbox (options: those of ``outbox.Dispatcher``)."""
    from .outbox import Dispatcher

    return Dispatcher(app.storage, app.host, clock=clock or app.clock, **options_of(options))


def deliver(app: App, **options: Any) -> DeliveryReport:
    """Deliver every due outbox item once (each claimed first); None options take the default."""
    return dispatcher(app, **options_of(options)).run_once()


def retry_outbox(
    app: App, keys: Sequence[str] = (), *, dead: bool = False, by: str = "provider"
) -> List[OutboxItem]:
    """Requeue dead outbox items (by key, or every dead one)."""
    return dispatcher(app).retry(keys, dead=dead, by=by)


def run_dispatcher(app: App, dispatcher_id: str, **options: Any) -> RunDispatcher:
    """A dispatcher handing due requests to the executor."""
    from .executors import RunDispatcher

    return RunDispatcher(app, dispatcher_id, **options_of(options))


def dispatch(app: App, dispatcher_id: str, **options: Any) -> DispatchReport:
    """Claim what is due now and hand it to the executor, once."""
    return run_dispatcher(app, dispatcher_id, **options).run(until_idle=True)


def options_of(values: Mapping[str, Any]) -> Dict[str, Any]:
    """``values`` without the ones left at None (the callee's defaults apply)."""
    return {k: v for k, v in values.items() if v is not None}


# -- the contact's gate on a staged update ---------------------------------------------


def approve(app: App, contact_id: str, request_id: str) -> UpdateRequest:
    """The contact lets a staged production update go ahead (staging completed)."""
    from . import staged

    return staged.confirm_stage(app, contact_id, request_id, approve=True)


def decline(
    app: App, contact_id: str, request_id: str, *, reason: Optional[str] = None
) -> UpdateRequest:
    """The contact releases a staged production update after staging."""
    from . import staged

    return staged.confirm_stage(app, contact_id, request_id, approve=False, reason=reason)
