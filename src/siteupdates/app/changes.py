"""The one place where an event becomes a :class:`~siteupdates.ports.ChangeSet`.

A change of a request is: the lifecycle table's new state and history entry
(:func:`~siteupdates.domain.apply_event`), the messages the entry causes
(:func:`~siteupdates.domain.messages.messages_for`) as outbox rows, the site
changes of a completed update (R1, R4), and the fence of a hosting worker.
Every use case, the worker included, builds its writes here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

import attrs

from siteupdates import ports
from siteupdates.domain import (
    Actor,
    Contact,
    Event,
    HistoryEntry,
    Status,
    Tenant,
    UpdateRequest,
    apply_event,
    submitted,
)
from siteupdates.ports import Reads

from .bootstrap import App

if TYPE_CHECKING:
    from siteupdates.ports import ChangeSet, Fence, OutboxItem

__all__ = ["booked", "completed_sites", "outbox_items", "recipients", "transition"]


def recipients(
    reads: Reads, request: UpdateRequest, tenant: Tenant, known: Sequence[Contact] = ()
) -> Tuple[List[Contact], bool]:
    """Who hears of a change of ``request``, and whether keys need the recipient.

    A contact's own request is told to that contact; a request the provider made
    (group and weekly updates) to every contact of the tenant. ``known`` are
    contacts the use case has loaded already, so none is loaded twice.
    """
    for c in known:
        if c.id == request.requested_by:
            return [c], False
    requester = reads.contact(request.requested_by)
    if requester is not None:
        return [requester], False
    return reads.contacts_of(tenant.id), True


def outbox_items(
    app: App,
    request: UpdateRequest,
    entry: HistoryEntry,
    tenant: Tenant,
    audience: Sequence[Contact],
    per_recipient: bool,
) -> Tuple[OutboxItem, ...]:
    """The outbox rows of ``entry``: notices, reminders and the calendar change.

    A notice per recipient (and the provider's, for a contact's move), the
    reminders it arms (due at their times, see
    :func:`~siteupdates.domain.messages.reminders_for`), and the calendar change.
    """
    # The notices' words load with the first change, not with a read command; as
    # modules, not names (on Python 3.11 and older ``from`` looks for the module's
    # ``__path__`` on every call and builds and drops an error each time).
    import siteupdates.domain.messages as messages
    import siteupdates.i18n as i18n

    messages_for, provider_notice_for = messages.messages_for, messages.provider_notice_for
    reminders_for, language, locale_for = messages.reminders_for, i18n.language, i18n.locale_for

    preset = app.preset  # a property: read once
    zone, duration = preset.default_zone, preset.update_duration
    locales = app.locales

    def language_of(contact: Contact) -> i18n.Language:
        return language(locale_for(contact.id, locales))

    notices, calendar = messages_for(
        request,
        entry,
        tenant,
        audience,
        default_zone=zone,
        duration=duration,
        per_recipient_keys=per_recipient,
        meanings=app.meanings,
        language_of=language_of,
    )
    if app.links is not None:  # the actions that fit the request, as signed links
        at = app.now()
        links = app.links
        notices = [
            attrs.evolve(
                n,
                body="\n".join(
                    [n.body, *links.lines(n.contact_id, request, at,
                                          language(locale_for(n.contact_id, locales)))]
                ),
            )
            for n in notices
        ]  # fmt: skip
    for_provider = provider_notice_for(
        request, entry, tenant, email=preset.email, zone=zone,
        lang=language(locale_for(None, locales)),
    )  # fmt: skip
    if for_provider is not None:
        notices.append(for_provider)
    now = app.now()
    rid = request.id
    items = [
        ports.OutboxItem(app.outbox_id(), n.key, "notice", rid, n.to_payload(), now)
        for n in notices
    ]
    if calendar is not None:
        items.append(
            ports.OutboxItem(
                app.outbox_id(), calendar.key, "calendar", rid, calendar.to_payload(), now
            )
        )
    reminders = reminders_for(
        request,
        entry,
        tenant,
        audience,
        ladder=app.reminders,
        now=now,
        default_zone=zone,
        duration=duration,
        per_recipient_keys=per_recipient,
        language_of=language_of,
    )
    for reminder in reminders:
        items.append(
            ports.OutboxItem(
                app.outbox_id(), reminder.notice.key, "reminder", rid,
                reminder.to_payload(), now, next_attempt_at=reminder.fires_at,
            )
        )  # fmt: skip
    # Channels of plugins (webhooks): written with the change, like the notices.
    for m in app.host.change_messages(request, entry, tenant, reminders):
        items.append(
            ports.OutboxItem(
                app.outbox_id(), m.key, m.kind, rid, m.payload, now, next_attempt_at=m.due_at
            )
        )
    return tuple(items)


def completed_sites(tenant: Tenant, request: UpdateRequest, now: datetime) -> Tenant:
    """The tenant after ``request`` completed: versions moved (R1), refresh dated (R4)."""
    sites = []
    for site in tenant.sites:
        if request.version is not None and site.kind in request.target.version_sites:
            site = attrs.evolve(
                site, version=request.version, since=now, automatic=request.automatic
            )
        if request.db_refresh and site.kind is request.target.refresh_site:
            site = attrs.evolve(site, refreshed_at=now)
        sites.append(site)
    return attrs.evolve(tenant, sites=tuple(sites))


def transition(
    app: App,
    reads: Reads,
    request: UpdateRequest,
    event: Event,
    *,
    actor: Actor,
    by: str,
    reason: Optional[str] = None,
    date: Optional[datetime] = None,
    tenant: Optional[Tenant] = None,
    known: Sequence[Contact] = (),
    fence: Optional[Fence] = None,
    release: bool = False,
    superseded_by: Optional[str] = None,
) -> Tuple[UpdateRequest, ChangeSet]:
    """Apply ``event`` to ``request`` and return its new state and everything to write.

    ``tenant`` and ``known`` contacts spare loads the caller has made already;
    ``fence`` makes the write conditional on a worker's lease, and ``release``
    ends that lease with the change.
    """
    now = app.now()
    new, entry = apply_event(request, event, actor=actor, by=by, at=now, reason=reason, date=date)
    if superseded_by is not None:
        new = attrs.evolve(new, superseded_by=superseded_by)
    if tenant is None:
        tenant = reads.tenant(request.tenant_id)
        assert tenant is not None, f"request {request.id} names no stored tenant"
    audience, per_recipient = recipients(reads, new, tenant, known)
    return new, ports.ChangeSet(
        updates=((new, request.revision),),
        history=(entry,),
        outbox=outbox_items(app, new, entry, tenant, audience, per_recipient),
        tenants=(completed_sites(tenant, new, now),) if event is Event.COMPLETE else (),
        fences=(fence,) if fence is not None else (),
        release=(new.id,) if release else (),
        # Reminders live while the request is Scheduled for one date: any change
        # from there withdraws them, and any change to there arms a new ladder
        # above and withdraws what an earlier one left (staged production keeps
        # its schedule's ladder at the gate; its approval arms the next).
        withdraw=(new.id,) if Status.SCHEDULED in (request.status, new.status) else (),
    )


def booked(
    app: App,
    request: UpdateRequest,
    tenant: Tenant,
    audience: Sequence[Contact],
    *,
    by: str,
    date: datetime,
    reason: str,
) -> Tuple[UpdateRequest, ChangeSet]:
    """A request the provider makes already Scheduled (group and weekly updates).

    Two history entries (submit, schedule) and the schedule's notices to every
    contact of the tenant, in one insert.
    """
    first = attrs.evolve(submitted(request), actor=Actor.PROVIDER)
    new, entry = apply_event(
        request, Event.SCHEDULE, actor=Actor.PROVIDER, by=by, at=app.now(), date=date,
        reason=reason,
    )  # fmt: skip
    return new, ports.ChangeSet(
        inserts=(new,),
        history=(first, entry),
        outbox=outbox_items(app, new, entry, tenant, audience, per_recipient=True),
    )
