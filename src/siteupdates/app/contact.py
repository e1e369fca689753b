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
from typing import TYPE_CHECKING, FrozenSet, List, Optional, Sequence, Tuple, Union

import attrs

from siteupdates import ports
from siteupdates.domain.lifecycle import (
    BOOKED,
    OPEN,
    Actor,
    Event,
    allowed_events,
    submitted,
)
from siteupdates.domain.lifecycle import apply as apply_event
from siteupdates.domain.model import (
    Advisory,
    Contact,
    Status,
    Tenant,
    UpdateRequest,
    advisories,
)
from siteupdates.domain.timeutil import Ambiguity
from siteupdates.errors import AccessDenied, DuplicateKey, InvalidInput, NotFound, RequestRefused
from siteupdates.ports import Page, Reads, Unit

from . import changes
from .access import NO_ACCESS, contact, request_for, tenant_for
from .bootstrap import App
from .provider import resolve_in

if TYPE_CHECKING:
    # The planner loads only for the commands that plan, and the policies and the
    # views with the first use case that judges or shows: a read needs neither.
    from siteupdates.domain.planner import Explanation
    from siteupdates.domain.policies import (
        Decision,
        Override,
        Policy,
        PolicyContext,
        RequestDraft,
    )
    from siteupdates.domain.views import Overview

__all__ = [
    "Gadget",
    "Submission",
    "accepted_request",
    "answer",
    "cancel",
    "delete",
    "explain_to",
    "gadget",
    "list_requests",
    "move",
    "request",
    "resolve_id",
    "submit",
    "tenant_overview",
    "tenants_of",
    "try_submit",
]


#: The statuses the overview shows as SCHEDULED, in one order (a set's varies by process).
_BOOKED: Tuple[Status, ...] = tuple(sorted(BOOKED, key=lambda s: s.value))


@attrs.frozen
class Submission:
    """What a submit returns: the request, its warnings, what it superseded.

    ``replayed`` is True when an idempotency key matched an earlier submit and
    that request was returned instead of a new one.
    """

    request: UpdateRequest
    warnings: Tuple[Advisory, ...]
    superseded: Tuple[str, ...] = ()
    replayed: bool = False
    overridden: Tuple[str, ...] = ()


def tenants_of(app: App, contact_id: str, *, offset: int = 0, limit: int = 1000) -> Page[Tenant]:
    """The tenants a contact may choose among (R22), by ID."""
    who = contact(app.reads, contact_id)
    ids = sorted(who.tenants)
    found = app.reads.tenants_by_id(ids[offset : offset + limit])
    return Page(tuple(found), len(ids), offset, limit)


@attrs.frozen
class Gadget:
    """What the contact's gadget shows (R21), read in one statement on SQL backends.

    ``tenants`` are the contact's (R22); ``tenant`` the one shown (the one asked
    for, else the only one; None when the contact has several and chose none),
    with its ``overview``. ``etag`` is a digest of everything shown and of whom
    it is shown to: it changes when anything on the gadget does, and two
    contacts never share one, so a page cached for one is never revalidated
    for another.
    """

    contact_id: str
    tenants: Tuple[Tenant, ...]
    tenant: Optional[Tenant]
    overview: Optional[Overview]
    etag: str


def gadget(app: App, contact_id: str, tenant_id: Optional[str] = None) -> Gadget:
    """The gadget of a contact: their tenants, and the overview of one (R21, R22).

    One read of the contact with their tenants, their sites and the shown
    tenant's booked requests: no read per tenant and no count. A ``tenant_id``
    the contact does not see is AccessDenied (R22).
    """
    import hashlib

    from siteupdates.domain.views import overview

    # The contact, their tenants and the shown tenant's booked requests in one
    # read (one statement on SQL backends), which picks the shown tenant as below.
    got = app.reads.contact_tenants_requests(contact_id, tenant_id or None, _BOOKED)
    if got is None:
        raise AccessDenied(f"unknown contact {contact_id!r}")
    who, found, booked = got[0], tuple(got[1]), got[2]
    shown: Optional[Tenant] = None
    if tenant_id:
        shown = next((t for t in found if t.id == tenant_id), None)
        if shown is None:
            raise AccessDenied(NO_ACCESS.format(what="tenant"))
    elif len(found) == 1:
        shown = found[0]
    view = None
    if shown is not None:
        auto = any(site.automatic for site in shown.sites)
        view = overview(
            shown,
            booked,
            viewer_zone=who.zone or app.default_zone,
            now=app.now(),
            preset=app.preset if auto else None,
        )
    # What the page is made of, but not the moment it was made: the "Updated"
    # line of a revalidated page is when its data was first shown.
    digest = hashlib.sha256(repr((who.id, who.zone, [(t.id, t.name) for t in found])).encode())
    if view is not None:
        digest.update(repr((view.tenant_id, view.tenant_name, view.zone, view.rows)).encode())
    return Gadget(who.id, found, shown, view, digest.hexdigest()[:32])


def _open_refreshes(
    app: App, reads: Reads, tenant: Tenant, draft: RequestDraft, *, but: Optional[str] = None
) -> List[UpdateRequest]:
    """The tenant's open refreshes of the site ``draft`` refreshes, when an interval applies."""
    refresh = draft.db_refresh
    if refresh is None:
        from siteupdates.domain.policies import refresh_preset

        refresh = refresh_preset(tenant, draft.target, app.preset)
    if not refresh:
        return []
    kind = draft.target.refresh_site
    if kind not in app.preset.refresh_intervals:
        return []
    page = reads.requests_for(tenant.id, statuses=tuple(OPEN), limit=1_000_000)
    return [
        r for r in page.items if r.db_refresh and r.target.refresh_site is kind and r.id != but
    ]


def _context(
    app: App,
    reads: Reads,
    who: Contact,
    tenant: Tenant,
    draft: RequestDraft,
    *,
    moving: Optional[str] = None,
) -> PolicyContext:
    # The module, not a name from it: on Python 3.11 and older ``from`` looks for
    # the module's ``__path__`` on every call and builds and drops an error each time.
    import siteupdates.domain.policies as policies

    return policies.PolicyContext.build(
        contact=who,
        tenant=tenant,
        draft=draft,
        catalog=reads.catalog(),
        preset=app.preset,
        now=app.now(),
        # R17 looks at this site's open version updates (a DB refresh only neither
        # supersedes nor is refused by any); a refresh interval, when the provider
        # set one, at the site's open refreshes. Nothing else reads requests.
        open_requests=()
        if moving or not draft.version
        else reads.open_version_updates(tenant.id, draft.target),
        open_refreshes=_open_refreshes(app, reads, tenant, draft, but=moving),
    )


def accepted_request(
    app: App, who: Contact, ctx: PolicyContext, decision: Decision, key: Optional[str]
) -> UpdateRequest:
    """The new request of a draft the policies accepted under ``ctx`` (one submit or a batch).

    Every field is valid already, so it is built without converters: the draft
    converted the target and the version, the context read the start in a zone
    it found (so a known one) and the clock (checked by :meth:`App.now`); only
    the warnings, which plugins give, go through the request's own conversion.
    """
    start, zone = ctx.start, ctx.zone
    assert start is not None
    draft = ctx.draft
    return UpdateRequest.trusted(
        id=app.new_id(),
        tenant_id=ctx.tenant.id,
        target=draft.target,
        version=draft.version,
        db_refresh=bool(draft.db_refresh),
        preferred_start=start,
        zone=zone if type(zone) is str else str(zone),
        requested_by=who.id,
        # The moment the policies judged it (the context read the clock once).
        requested_at=ctx.now,
        warnings=advisories(decision.warnings) if decision.warnings else (),
        idempotency_key=key,
    )


def try_submit(app: App, contact_id: str, draft: RequestDraft) -> Decision:
    """Every refusal and warning a submit of ``draft`` would get, without submitting."""
    from siteupdates.domain.policies import evaluate

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
    db_refresh: Optional[bool] = None,
    at: datetime,
    zone: Optional[str] = None,
    ambiguity: Union[Ambiguity, str] = Ambiguity.EARLIER,
    idempotency_key: Optional[str] = None,
    override: Optional[Override] = None,
) -> Submission:
    """Submit a request; RequestRefused with every refusal, or AccessDenied (R22).

    ``at`` is the preferred start as a wall-clock time in ``zone`` (default: the
    contact's zone, then the provider's). ``db_refresh`` None (not given) takes
    the plan's preset (yes for a cloud tenant's production/sandbox request, R9).
    A newer version supersedes the site's older waiting one in the same
    transaction (R17). With ``idempotency_key``, a retried submit returns the
    first request instead of making a second.

    ``override`` is the provider's (:meth:`siteupdates.Desk.override`), never a
    contact's, and the contact side of the desk does not offer it: the rules it
    names are accepted (never R22 or the structural ones), and the request's
    first history entry is the provider's, with the rules and the reason.
    """
    import siteupdates.domain.policies as policies  # the module: see _context

    _naive(at)

    def use_case(uow: Unit) -> Submission:
        # One writer per tenant from here on: what R17 reads stays true until commit.
        # Taken before the contact and the tenant are read, so an apply that changes
        # or removes either (it takes this lock too) is wholly before or after this
        # submit. The key is looked up after the lock, so a retry racing its first
        # attempt sees that attempt's request (at READ COMMITTED, not before).
        uow.lock(f"tenant:{tenant_id}")
        who = contact(uow, contact_id)
        if not who.sees(tenant_id):
            raise AccessDenied(NO_ACCESS.format(what="tenant"))
        if idempotency_key is not None:
            # Scoped to the contact and the tenant: R22 holds for a replayed key too.
            earlier = _replay(uow, who, tenant_id, idempotency_key)
            if earlier is not None:
                return Submission(earlier, earlier.warnings, replayed=True)
        tenant = tenant_for(uow, who, tenant_id)
        rule = ambiguity if type(ambiguity) is Ambiguity else Ambiguity(ambiguity)
        draft = policies.RequestDraft(tenant.id, target, version, db_refresh, at, zone, rule)
        ctx = _context(app, uow, who, tenant, draft)
        decision = policies.check_submission(ctx, app.policies, override)
        request = accepted_request(app, who, ctx, decision, idempotency_key)
        first = submitted(request)
        if override is not None:
            first = attrs.evolve(
                first,
                actor=Actor.PROVIDER,
                by=override.by,
                reason=f"override of {', '.join(override.rules)}: {override.reason}",
                overrides=override.rules,
            )
        parts = [
            ports.ChangeSet(
                inserts=(request,),
                history=(first,),
                outbox=changes.outbox_items(app, request, first, tenant, [who], False),
            )
        ]
        older = policies.superseded_by(draft.version, draft.target, ctx.open_requests)
        for old in older:  # R17, in the same transaction as the insert
            _, cs = changes.transition(
                app, uow, old, Event.SUPERSEDE, actor=Actor.PROVIDER, by="siteupdates",
                reason=f"newer version {draft.version} requested in request {request.id}",
                tenant=tenant, known=[who], superseded_by=request.id,
            )  # fmt: skip
            parts.append(cs)
        uow.apply(ports.ChangeSet.concat(parts))
        return Submission(
            request, request.warnings, tuple(o.id for o in older),
            overridden=override.rules if override is not None else (),
        )  # fmt: skip

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


def _naive(at: object) -> None:
    if isinstance(at, datetime) and at.tzinfo is not None:
        raise InvalidInput(
            "the preferred start is a wall-clock time read in the requester's zone; "
            "give a naive datetime and the zone separately",
            at,
        )


#: The rules a move checks again: those about the time (R12, R8, R14, the refresh
#: interval) and every plugin's. What was asked (site, version, R17) stands as accepted.
def _not_rechecked_on_move() -> FrozenSet[str]:
    from siteupdates.domain import policies as rules

    return frozenset(
        p.name
        for p in (
            rules.r3_site_exists, rules.r4_refresh_copies_production, rules.r5_latest_pack_only,
            rules.r6_asks_for_something, rules.r7_offered_and_not_older,
            rules.r9_cloud_production_refresh_only, rules.r10_groups_update_together,
            rules.r17_newer_version_supersedes,
        )
    )  # fmt: skip


def _move_policies(app: App) -> Sequence[Policy]:
    skip = _not_rechecked_on_move()
    return [p for p in app.policies if p.name not in skip]


def move(
    app: App,
    contact_id: str,
    request_id: str,
    *,
    at: datetime,
    zone: Optional[str] = None,
    ambiguity: Union[Ambiguity, str] = Ambiguity.EARLIER,
) -> UpdateRequest:
    """The contact's reschedule: move the preferred start of their own request.

    A To Be Scheduled or Scheduled request may be moved until the provider's
    cut-off (``preset.move_cutoff``, 48 hours by default) before its scheduled
    start; after it the refusal is ``CUTOFF`` (the provider can still move it,
    R13). The new time is read like a submit's (``at`` wall-clock in ``zone``,
    default the contact's) and meets the same time rules (R12, R8, R14, the
    refresh interval, plugin rules). The request keeps its place in the queue
    (first come, first served is by when it came); a Scheduled one gives back
    its date and waits for the next plan. The contact and the provider are told
    through the outbox.
    """
    from siteupdates.domain.policies import RequestDraft, check_submission, may_move

    _naive(at)

    def use_case(uow: Unit) -> UpdateRequest:
        who = contact(uow, contact_id)
        current = request_for(uow, who, request_id)
        uow.lock(f"tenant:{current.tenant_id}")
        tenant = tenant_for(uow, who, current.tenant_id)
        if Event.MOVE not in allowed_events(current.status, Actor.CONTACT):
            # The lifecycle's refusal, naming the status, before anything about the time.
            apply_event(current, Event.MOVE, actor=Actor.CONTACT, by=who.id, at=app.now(),
                        date=current.preferred_start)  # fmt: skip
        viewer = who.zone or app.preset.default_zone
        late = may_move(current, app.now(), app.preset.move_cutoff, viewer)
        if not late.allowed:
            raise RequestRefused(late.refusals)
        draft = RequestDraft(
            tenant.id, current.target, current.version, current.db_refresh, at, zone,
            Ambiguity(ambiguity),
        )  # fmt: skip
        ctx = _context(app, uow, who, tenant, draft, moving=current.id)
        decision = check_submission(ctx, _move_policies(app))
        assert ctx.start is not None
        new, cs = changes.transition(
            app, uow, current, Event.MOVE, actor=Actor.CONTACT, by=who.id, date=ctx.start,
            tenant=tenant, known=[who],
        )  # fmt: skip
        checked = {p.rule for p in _move_policies(app)}
        kept = tuple(w for w in current.warnings if w.rule not in checked)
        new = attrs.evolve(new, zone=ctx.zone, warnings=kept + decision.warnings)
        uow.apply(attrs.evolve(cs, updates=((new, current.revision),)))
        return new

    return app.run(use_case)


def explain_to(
    app: App, contact_id: str, request_id: str, *, horizon: Optional[datetime] = None
) -> Explanation:
    """Why the contact's own request has, or would get, its date: the contact's view.

    Its place in the queue and why earlier slots were passed over; a slot taken
    because of tenants the contact cannot see reads "taken by earlier requests",
    naming and counting nothing (R22). Another tenant's request gets the same
    answer as a missing one.
    """
    who = contact(app.reads, contact_id)
    found = request_for(app.reads, who, request_id)
    from . import planning  # the planner loads only for the commands that plan

    return planning.explain(app, found.id, horizon=horizon, sees=who.sees)


def _act(
    app: App, contact_id: str, request_id: str, event: Event, reason: Optional[str] = None
) -> UpdateRequest:
    def use_case(uow: Unit) -> UpdateRequest:
        who = contact(uow, contact_id)
        current = request_for(uow, who, request_id)
        if event is Event.ANSWER:
            from . import staged

            staged.refuse_answer_at_gate(current, Actor.CONTACT)
        new, cs = changes.transition(
            app, uow, current, event, actor=Actor.CONTACT, by=who.id, reason=reason, known=[who]
        )
        uow.apply(cs)
        return new

    # Named by the event: metrics would otherwise call cancel, delete and answer all "_act".
    return app.run(use_case, name=event.value)


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
) -> Page[UpdateRequest]:
    """A tenant's requests, newest first, never cancelled or deleted (R19)."""
    who = contact(app.reads, contact_id)
    tenant = tenant_for(app.reads, who, tenant_id)
    hidden = [Status.CANCELLED, Status.DELETED]
    if hide_complete:
        hidden.append(Status.COMPLETED)
    return app.reads.requests_for(tenant.id, exclude=hidden, offset=offset, limit=limit)


def resolve_id(app: App, contact_id: str, prefix: str) -> str:
    """The one request of the contact's tenants whose ID is, or starts with, ``prefix``.

    Only the contact's tenants are searched, so the answer never tells whether
    other tenants have requests with that prefix (R22): none, or several of the
    contact's own, is the same AccessDenied as a request the contact cannot see.
    """
    who = contact(app.reads, contact_id)
    try:
        return resolve_in(app.reads, prefix, tenants=sorted(who.tenants))
    except NotFound:
        raise AccessDenied(NO_ACCESS.format(what="request")) from None


def request(app: App, contact_id: str, request_id: str) -> UpdateRequest:
    """One request, if the contact may see it."""
    return request_for(app.reads, contact(app.reads, contact_id), request_id)


def tenant_overview(app: App, contact_id: str, tenant_id: str) -> Overview:
    """The overview of a tenant in the contact's zone (R11, R21)."""
    from siteupdates.domain.views import overview

    who = contact(app.reads, contact_id)
    tenant = tenant_for(app.reads, who, tenant_id)
    shown = app.reads.tenant_requests(tenant.id, tuple(BOOKED))
    # The preset only decides how a site updated automatically is marked (R11):
    # a read command on a tenant without one does not build the preset at all.
    auto = any(site.automatic for site in tenant.sites)
    return overview(
        tenant,
        shown,
        viewer_zone=who.zone or app.default_zone,
        now=app.now(),
        preset=app.preset if auto else None,
    )
