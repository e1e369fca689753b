"""The contact's use cases: what a customer's technical contact may do and see.

Each takes the contact's ID first, loads the contact once, and checks R22
before anything else; a refusal never reveals whether a tenant or request the
contact cannot see exists. Writes run in one unit of work through
:meth:`~siteupdates.app.bootstrap.App.run`: a submit reads the site's open
version update inside the transaction that inserts the new one, under the
tenant's lock, and the store refuses a second open one whatever happens (R17).
"""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional, Tuple, Union

import attrs

from siteupdates.domain import (
    BOOKED,
    Actor,
    Ambiguity,
    Contact,
    Decision,
    Event,
    Overview,
    PolicyContext,
    RequestDraft,
    Status,
    Tenant,
    UpdateRequest,
    check_submission,
    evaluate,
    overview,
    submitted,
    superseded_by,
)
from siteupdates.errors import AccessDenied, DuplicateKey, InvalidInput
from siteupdates.ports import ChangeSet, Page, Reads, Unit

from . import changes
from .bootstrap import App

__all__ = [
    "Submission",
    "answer",
    "cancel",
    "delete",
    "list_requests",
    "request",
    "submit",
    "tenant_overview",
    "tenants_of",
    "try_submit",
]

_NO_ACCESS = "no such {what} among the tenants connected to you"


@attrs.frozen
class Submission:
    """What a submit returns: the request, its warnings, what it superseded.

    ``replayed`` is True when an idempotency key matched an earlier submit and
    that request was returned instead of a new one.
    """

    request: UpdateRequest
    warnings: Tuple[str, ...]
    superseded: Tuple[str, ...] = ()
    replayed: bool = False


def contact(reads: Reads, contact_id: str) -> Contact:
    """The contact, or AccessDenied (the same answer as for a tenant not theirs, R22)."""
    found = reads.contact(contact_id)
    if found is None:
        raise AccessDenied(f"unknown contact {contact_id!r}")
    return found


def tenant_for(reads: Reads, who: Contact, tenant_id: str) -> Tenant:
    """A tenant the contact sees, or AccessDenied (R22)."""
    tenant = reads.tenant(tenant_id) if who.sees(tenant_id) else None
    if tenant is None:
        raise AccessDenied(_NO_ACCESS.format(what="tenant"))
    return tenant


def request_for(reads: Reads, who: Contact, request_id: str) -> UpdateRequest:
    """A request of a tenant the contact sees, not deleted, or AccessDenied (R22)."""
    found = reads.request(request_id)
    if found is None or not who.sees(found.tenant_id) or found.status is Status.DELETED:
        raise AccessDenied(_NO_ACCESS.format(what="request"))
    return found


def tenants_of(app: App, contact_id: str) -> List[Tenant]:
    """The tenants a contact may choose among (R22)."""
    who = contact(app.reads, contact_id)
    found = [app.reads.tenant(t) for t in sorted(who.tenants)]
    return [t for t in found if t is not None]


def _context(
    app: App, reads: Reads, who: Contact, tenant: Tenant, draft: RequestDraft
) -> PolicyContext:
    return PolicyContext.build(
        contact=who,
        tenant=tenant,
        draft=draft,
        catalog=reads.catalog(),
        preset=app.preset,
        now=app.now(),
        # R17 is the only rule that looks at open requests: this site's version updates.
        open_requests=reads.open_version_updates(tenant.id, draft.target),
    )


def try_submit(app: App, contact_id: str, draft: RequestDraft) -> Decision:
    """Every refusal and warning a submit of ``draft`` would get, without submitting."""
    who = contact(app.reads, contact_id)
    tenant = tenant_for(app.reads, who, draft.tenant_id)
    return evaluate(_context(app, app.reads, who, tenant, draft), app.policies)


def submit(
    app: App,
    contact_id: str,
    tenant_id: str,
    target: str,
    version: Optional[str],
    *,
    db_refresh: bool = False,
    at: datetime,
    zone: Optional[str] = None,
    ambiguity: Union[Ambiguity, str] = Ambiguity.EARLIER,
    idempotency_key: Optional[str] = None,
) -> Submission:
    """Submit a request; RequestRefused with every refusal, or AccessDenied (R22).

    ``at`` is the preferred start as a wall-clock time in ``zone`` (default: the
    contact's zone, then the provider's). A newer version supersedes the site's
    older waiting one in the same transaction (R17). With ``idempotency_key``, a
    retried submit returns the first request instead of making a second.
    """
    if isinstance(at, datetime) and at.tzinfo is not None:
        raise InvalidInput(
            "the preferred start is a wall-clock time read in the requester's zone; "
            "give a naive datetime and the zone separately",
            at,
        )

    def use_case(uow: Unit) -> Submission:
        who = contact(uow, contact_id)
        # R22 first: a replayed key never returns what the contact may no longer see.
        if not who.sees(tenant_id):
            raise AccessDenied(_NO_ACCESS.format(what="tenant"))
        if idempotency_key is not None:
            earlier = _replay(uow, who, tenant_id, idempotency_key)
            if earlier is not None:
                return Submission(earlier, earlier.warnings, replayed=True)
        # One writer per tenant from here on: what R17 reads stays true until commit.
        uow.lock(f"tenant:{tenant_id}")
        tenant = tenant_for(uow, who, tenant_id)
        draft = RequestDraft(
            tenant.id, target, version, db_refresh, at, zone, Ambiguity(ambiguity)
        )
        ctx = _context(app, uow, who, tenant, draft)
        decision = check_submission(ctx, app.policies)
        assert ctx.start is not None
        request = UpdateRequest(
            id=app.new_id(),
            tenant_id=tenant.id,
            target=draft.target,
            version=draft.version,
            db_refresh=draft.db_refresh,
            preferred_start=ctx.start,
            zone=ctx.zone,
            requested_by=who.id,
            requested_at=app.now(),
            warnings=tuple(f"{w.rule}: {w.message}" for w in decision.warnings),
            idempotency_key=idempotency_key,
        )
        first = submitted(request)
        parts = [
            ChangeSet(
                inserts=(request,),
                history=(first,),
                outbox=changes.outbox_items(app, request, first, tenant, [who], False),
            )
        ]
        older = superseded_by(draft.version, draft.target, ctx.open_requests)
        for old in older:  # R17, in the same transaction as the insert
            _, cs = changes.transition(
                app, uow, old, Event.SUPERSEDE, actor=Actor.PROVIDER, by="siteupdates",
                reason=f"newer version {draft.version} requested in request {request.id}",
                tenant=tenant, known=[who], superseded_by=request.id,
            )  # fmt: skip
            parts.append(cs)
        uow.apply(ChangeSet.concat(parts))
        return Submission(request, request.warnings, tuple(o.id for o in older))

    try:
        return app.run(use_case)
    except DuplicateKey:
        # The same key at the same moment from another process: its request stands.
        assert idempotency_key is not None
        who = contact(app.reads, contact_id)
        earlier = _replay(app.reads, who, tenant_id, idempotency_key)
        assert earlier is not None
        return Submission(earlier, earlier.warnings, replayed=True)


def _replay(reads: Reads, who: Contact, tenant_id: str, key: str) -> Optional[UpdateRequest]:
    """The request ``who`` submitted for ``tenant_id`` with ``key``, or None.

    A key is scoped to the contact and the tenant: one used for another tenant
    is refused without saying anything about that tenant's request (R22).
    """
    earlier = reads.by_idempotency_key(who.id, key)
    if earlier is None:
        return None
    if earlier.tenant_id != tenant_id or not who.sees(earlier.tenant_id):
        raise InvalidInput(
            f"idempotency key {key!r} was used by you for another request; "
            "choose a new key for this one",
            key,
        )
    return earlier


def _act(
    app: App, contact_id: str, request_id: str, event: Event, reason: Optional[str] = None
) -> UpdateRequest:
    def use_case(uow: Unit) -> UpdateRequest:
        who = contact(uow, contact_id)
        current = request_for(uow, who, request_id)
        new, cs = changes.transition(
            app, uow, current, event, actor=Actor.CONTACT, by=who.id, reason=reason, known=[who]
        )
        uow.apply(cs)
        return new

    return app.run(use_case)


def cancel(app: App, contact_id: str, request_id: str) -> UpdateRequest:
    """Cancel a To Be Scheduled or Scheduled request (R16)."""
    return _act(app, contact_id, request_id, Event.CANCEL)


def delete(app: App, contact_id: str, request_id: str) -> UpdateRequest:
    """Delete a completed request from the contact's view; its history stays (R18)."""
    return _act(app, contact_id, request_id, Event.DELETE)


def answer(app: App, contact_id: str, request_id: str, text: str) -> UpdateRequest:
    """Answer the provider's question on a Pending Input request."""
    return _act(app, contact_id, request_id, Event.ANSWER, text)


def list_requests(
    app: App,
    contact_id: str,
    tenant_id: str,
    *,
    hide_complete: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> Page:
    """A tenant's requests, newest first, never cancelled or deleted (R19)."""
    who = contact(app.reads, contact_id)
    tenant = tenant_for(app.reads, who, tenant_id)
    hidden = [Status.CANCELLED, Status.DELETED]
    if hide_complete:
        hidden.append(Status.COMPLETED)
    return app.reads.requests_for(tenant.id, exclude=hidden, offset=offset, limit=limit)


def request(app: App, contact_id: str, request_id: str) -> UpdateRequest:
    """One request, if the contact may see it."""
    return request_for(app.reads, contact(app.reads, contact_id), request_id)


def tenant_overview(app: App, contact_id: str, tenant_id: str) -> Overview:
    """The overview of a tenant in the contact's zone (R11, R21)."""
    who = contact(app.reads, contact_id)
    tenant = tenant_for(app.reads, who, tenant_id)
    shown = app.reads.requests_for(tenant.id, statuses=tuple(BOOKED), limit=1000)
    return overview(
        tenant,
        shown.items,
        viewer_zone=who.zone or app.preset.default_zone,
        now=app.now(),
        preset=app.preset,
    )
