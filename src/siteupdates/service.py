"""The use cases, on one service object: :class:`Desk`.

Each use case is one unit of work: it loads what it needs, asks the domain, and
hands the storage one :class:`~siteupdates.ports.ChangeSet` (the requests' new
states, their history entries, the outgoing notices and calendar entries, site
changes) that commits together or not at all. A request changed by someone else
since it was loaded makes the commit fail with ConflictError, and nothing of the
losing change is written.

Contact-side methods take the contact's ID first and check R22 before anything
else; their refusals never reveal whether a tenant or request the contact cannot
see exists.
"""

from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timezone
from typing import Callable, List, Optional, Sequence, Tuple

import attrs

from siteupdates import scheduling
from siteupdates.domain import (
    Actor,
    Ambiguity,
    Contact,
    Decision,
    Event,
    HistoryEntry,
    Overview,
    PolicyContext,
    ProviderPreset,
    RequestDraft,
    Status,
    Tenant,
    UpdateRequest,
    apply_event,
    check_submission,
    overview,
    submitted,
    superseded_by,
)
from siteupdates.domain.lifecycle import TERMINAL
from siteupdates.domain.planner import Explanation
from siteupdates.domain.timeutil import require_aware
from siteupdates.errors import AccessDenied, DuplicateKey, InvalidInput, NotFound
from siteupdates.notices import CalendarEntry, notice_for
from siteupdates.outbox import DeliveryReport, Dispatcher
from siteupdates.plugins import PluginHost
from siteupdates.ports import ChangeSet, OutboxItem, Page, Setup, Storage
from siteupdates.presets import CAMPUS_HOSTING
from siteupdates.scheduling import PlanRun

__all__ = ["Desk", "Submission"]

UTC = timezone.utc
_OPEN = (
    Status.TO_BE_SCHEDULED,
    Status.SCHEDULED,
    Status.NOT_STARTED,
    Status.IN_PROGRESS,
    Status.PENDING_INPUT,
    Status.DEFERRED,
)
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


def _system_clock() -> datetime:
    return datetime.now(UTC)


class Desk:
    """Every use case of siteupdates, over one storage and one plugin host."""

    def __init__(
        self,
        storage: Storage,
        *,
        host: Optional[PluginHost] = None,
        preset: ProviderPreset = CAMPUS_HOSTING,
        clock: Callable[[], datetime] = _system_clock,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex[:12],
    ) -> None:
        self.storage = storage
        self.host = host or PluginHost()
        self.preset = preset
        self.clock = clock
        self.new_id = new_id
        self.policies = self.host.policies()

    @classmethod
    def open(
        cls,
        url: str,
        *,
        host: Optional[PluginHost] = None,
        preset: ProviderPreset = CAMPUS_HOSTING,
        clock: Callable[[], datetime] = _system_clock,
    ) -> Desk:
        """Open a desk on the storage at ``url`` (``sqlite:///siteupdates.db``, ``memory://``)."""
        host = host or PluginHost()
        return cls(host.storage(url), host=host, preset=preset, clock=clock)

    def close(self) -> None:
        """Close the storage."""
        self.storage.close()

    def __enter__(self) -> Desk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> datetime:
        """The desk's clock, as a UTC instant."""
        return require_aware("clock", self.clock())

    # -- setup --------------------------------------------------------------------

    def load_setup(self, setup: Setup) -> None:
        """Store the provider's reference data (tenants, sites, contacts, catalog)."""
        self.storage.save_setup(setup)

    # -- helpers ------------------------------------------------------------------

    def _contact(self, contact_id: str) -> Contact:
        contact = self.storage.contact(contact_id)
        if contact is None:
            # Same answer as for a tenant the contact cannot see (R22).
            raise AccessDenied(f"unknown contact {contact_id!r}")
        return contact

    def _tenant_for(self, contact: Contact, tenant_id: str) -> Tenant:
        tenant = self.storage.tenant(tenant_id) if contact.sees(tenant_id) else None
        if tenant is None:
            raise AccessDenied(_NO_ACCESS.format(what="tenant"))
        return tenant

    def _request_for(self, contact: Contact, request_id: str) -> UpdateRequest:
        req = self.storage.request(request_id)
        if req is None or not contact.sees(req.tenant_id) or req.status is Status.DELETED:
            raise AccessDenied(_NO_ACCESS.format(what="request"))
        return req

    def _request(self, request_id: str) -> UpdateRequest:
        req = self.storage.request(request_id)
        if req is None:
            raise NotFound("request", request_id)
        return req

    def _tenant(self, tenant_id: str) -> Tenant:
        tenant = self.storage.tenant(tenant_id)
        if tenant is None:
            raise NotFound("tenant", tenant_id)
        return tenant

    def _messages(
        self,
        request: UpdateRequest,
        entry: HistoryEntry,
        tenant: Tenant,
        audience: Optional[Sequence[Contact]] = None,
    ) -> Tuple[OutboxItem, ...]:
        """The outbox rows ``entry`` causes: notices and a calendar entry.

        A contact's own request is told to that contact. Requests the provider
        made (group and weekly updates) are told to every contact of the tenant:
        ``audience`` when the caller has them at hand, else they are looked up.
        """
        items: List[OutboxItem] = []
        requester = self.storage.contact(request.requested_by)
        if requester is not None:
            recipients: Sequence[Contact] = [requester]
        elif audience is not None:
            recipients = [c for c in audience if c.sees(tenant.id)]
        else:
            recipients = [c for c in self.storage.contacts() if c.sees(tenant.id)]
        for contact in recipients:
            notice = notice_for(request, entry, tenant, contact, self.preset.default_zone)
            if notice is not None:
                key = notice.key if requester is not None else f"{notice.key}:{contact.id}"
                notice = attrs.evolve(notice, key=key)
                items.append(self._item(key, "notice", request.id, notice.to_payload()))
        action = {
            Event.SCHEDULE: "publish",
            Event.RESCHEDULE: "move",
            Event.CANCEL: "withdraw",
            Event.SUPERSEDE: "withdraw",
            Event.DEFER: "withdraw",
            Event.FAIL: "withdraw",
        }.get(entry.event)
        if action is not None and (
            action != "withdraw" or (entry.from_status is not None and request.scheduled_for)
        ):
            start = request.scheduled_for if action != "withdraw" else None
            what = str(request.version) if request.version else "DB refresh"
            cal = CalendarEntry(
                key=f"{request.id}:{entry.seq}:calendar",
                action=action,
                request_id=request.id,
                tenant_id=tenant.id,
                summary=f"{tenant.name}: {request.target.value} {what}",
                start=start,
                end=None if start is None else start + self.preset.update_duration,
            )
            items.append(self._item(cal.key, "calendar", request.id, cal.to_payload()))
        return tuple(items)

    def _item(
        self, key: str, kind: str, request_id: str, payload: dict[str, object]
    ) -> OutboxItem:
        return OutboxItem(
            # Time-ordered IDs keep the outbox in causal order when the clock is fixed.
            id=f"{time.time_ns():016x}{uuid.uuid4().hex[:8]}",
            key=key,
            kind=kind,
            request_id=request_id,
            payload=payload,
            created_at=self.now(),
        )

    def _transition(
        self,
        request: UpdateRequest,
        event: Event,
        actor: Actor,
        by: str,
        *,
        reason: Optional[str] = None,
        date: Optional[datetime] = None,
        **changes: object,
    ) -> Tuple[UpdateRequest, ChangeSet]:
        new, entry = apply_event(
            request, event, actor=actor, by=by, at=self.now(), reason=reason, date=date
        )
        if changes:
            new = attrs.evolve(new, **changes)  # type: ignore[arg-type]
        tenant = self._tenant(request.tenant_id)
        cs = ChangeSet(
            updates=((new, request.revision),),
            history=(entry,),
            outbox=self._messages(new, entry, tenant),
        )
        return new, cs

    def _change(
        self,
        request_id: str,
        event: Event,
        *,
        actor: Actor = Actor.PROVIDER,
        by: str = "provider",
        reason: Optional[str] = None,
        date: Optional[datetime] = None,
        request: Optional[UpdateRequest] = None,
    ) -> UpdateRequest:
        req = request or self._request(request_id)
        new, cs = self._transition(req, event, actor, by, reason=reason, date=date)
        if event is Event.COMPLETE:
            cs = cs + ChangeSet(tenants=(self._completed_sites(new),))
        self.storage.apply(cs)
        return new

    def _completed_sites(self, request: UpdateRequest) -> Tenant:
        """The tenant after ``request`` completed: versions moved (R1), refresh dated (R4)."""
        tenant = self._tenant(request.tenant_id)
        now = self.now()
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

    # -- contact side -----------------------------------------------------------------

    def tenants_of(self, contact_id: str) -> List[Tenant]:
        """The tenants a contact may choose among (R22)."""
        contact = self._contact(contact_id)
        found = [self.storage.tenant(t) for t in sorted(contact.tenants)]
        return [t for t in found if t is not None]

    def evaluate(self, contact_id: str, draft: RequestDraft) -> Decision:
        """Every refusal and warning a submit of ``draft`` would get, without submitting."""
        contact = self._contact(contact_id)
        tenant = self._tenant_for(contact, draft.tenant_id)
        return self._decide(contact, tenant, draft)

    def _context(self, contact: Contact, tenant: Tenant, draft: RequestDraft) -> PolicyContext:
        open_page = self.storage.requests_for(tenant.id, statuses=_OPEN, limit=10_000)
        return PolicyContext.build(
            contact=contact,
            tenant=tenant,
            draft=draft,
            catalog=self.storage.catalog(),
            preset=self.preset,
            now=self.now(),
            open_requests=open_page.items,
        )

    def _decide(self, contact: Contact, tenant: Tenant, draft: RequestDraft) -> Decision:
        from siteupdates.domain import evaluate

        return evaluate(self._context(contact, tenant, draft), self.policies)

    def submit(
        self,
        contact_id: str,
        tenant_id: str,
        target: str,
        version: Optional[str],
        *,
        db_refresh: bool = False,
        at: datetime,
        zone: Optional[str] = None,
        ambiguity: Ambiguity | str = Ambiguity.EARLIER,
        idempotency_key: Optional[str] = None,
    ) -> Submission:
        """Submit a request; raise RequestRefused with every refusal, or AccessDenied (R22).

        ``at`` is the preferred start as a wall-clock time in ``zone`` (default: the
        contact's zone, then the provider's). With ``idempotency_key``, a retried
        submit returns the first request instead of making a second.
        """
        contact = self._contact(contact_id)
        if idempotency_key is not None:
            earlier = self.storage.by_idempotency_key(contact.id, idempotency_key)
            if earlier is not None:
                return Submission(earlier, earlier.warnings, replayed=True)
        tenant = self._tenant_for(contact, tenant_id)
        if isinstance(at, datetime) and at.tzinfo is not None:
            raise InvalidInput(
                "the preferred start is a wall-clock time read in the requester's zone; "
                "give a naive datetime and the zone separately",
                at,
            )
        draft = RequestDraft(
            tenant.id, target, version, db_refresh, at, zone, Ambiguity(ambiguity)
        )
        ctx = self._context(contact, tenant, draft)
        decision = check_submission(ctx, self.policies)
        assert ctx.start is not None
        now = self.now()
        request = UpdateRequest(
            id=self.new_id(),
            tenant_id=tenant.id,
            target=draft.target,
            version=draft.version,
            db_refresh=draft.db_refresh,
            preferred_start=ctx.start,
            zone=ctx.zone,
            requested_by=contact.id,
            requested_at=now,
            warnings=tuple(f"{w.rule}: {w.message}" for w in decision.warnings),
            idempotency_key=idempotency_key,
        )
        first = submitted(request)
        cs = ChangeSet(
            inserts=(request,),
            history=(first,),
            outbox=self._messages(request, first, tenant),
        )
        older = superseded_by(draft.version, draft.target, ctx.open_requests)
        for old in older:  # R17
            _, more = self._transition(
                old,
                Event.SUPERSEDE,
                Actor.PROVIDER,
                "siteupdates",
                reason=f"newer version {draft.version} requested in request {request.id}",
                superseded_by=request.id,
            )
            cs = cs + more
        try:
            self.storage.apply(cs)
        except DuplicateKey:
            assert idempotency_key is not None
            earlier = self.storage.by_idempotency_key(contact.id, idempotency_key)
            assert earlier is not None
            return Submission(earlier, earlier.warnings, replayed=True)
        return Submission(request, request.warnings, tuple(o.id for o in older))

    def cancel(self, contact_id: str, request_id: str) -> UpdateRequest:
        """Cancel a To Be Scheduled or Scheduled request (R16)."""
        contact = self._contact(contact_id)
        req = self._request_for(contact, request_id)
        return self._change(req.id, Event.CANCEL, actor=Actor.CONTACT, by=contact.id, request=req)

    def delete(self, contact_id: str, request_id: str) -> UpdateRequest:
        """Delete a completed request from the contact's view; its history stays (R18)."""
        contact = self._contact(contact_id)
        req = self._request_for(contact, request_id)
        return self._change(req.id, Event.DELETE, actor=Actor.CONTACT, by=contact.id, request=req)

    def answer(self, contact_id: str, request_id: str, text: str) -> UpdateRequest:
        """Answer the provider's question on a Pending Input request."""
        contact = self._contact(contact_id)
        req = self._request_for(contact, request_id)
        return self._change(
            req.id, Event.ANSWER, actor=Actor.CONTACT, by=contact.id, reason=text, request=req
        )

    def requests(
        self,
        contact_id: str,
        tenant_id: str,
        *,
        hide_complete: bool = False,
        offset: int = 0,
        limit: int = 50,
    ) -> Page:
        """A tenant's requests, newest first, never cancelled or deleted (R19)."""
        contact = self._contact(contact_id)
        tenant = self._tenant_for(contact, tenant_id)
        hidden = [Status.CANCELLED, Status.DELETED]
        if hide_complete:
            hidden.append(Status.COMPLETED)
        return self.storage.requests_for(tenant.id, exclude=hidden, offset=offset, limit=limit)

    def request(self, contact_id: str, request_id: str) -> UpdateRequest:
        """One request, if the contact may see it."""
        return self._request_for(self._contact(contact_id), request_id)

    def overview(self, contact_id: str, tenant_id: str) -> Overview:
        """The overview of a tenant in the contact's zone (R11, R21)."""
        contact = self._contact(contact_id)
        tenant = self._tenant_for(contact, tenant_id)
        shown = self.storage.requests_for(
            tenant.id,
            statuses=(Status.SCHEDULED, Status.NOT_STARTED, Status.IN_PROGRESS),
            limit=1000,
        )
        return overview(
            tenant,
            shown.items,
            viewer_zone=contact.zone or self.preset.default_zone,
            now=self.now(),
            preset=self.preset,
        )

    # -- provider side ------------------------------------------------------------------

    def queue(self, *, limit: int = 1000) -> List[UpdateRequest]:
        """The To Be Scheduled requests, first come first served (R13)."""
        return self.storage.requests_in((Status.TO_BE_SCHEDULED,), limit=limit)

    def find(self, request_id: str) -> UpdateRequest:
        """Provider side: any request by ID, deleted ones included; NotFound otherwise."""
        return self._request(request_id)

    def history(self, request_id: str) -> List[HistoryEntry]:
        """A request's full history (kept after deletion, R18)."""
        self._request(request_id)
        return self.storage.history(request_id)

    def schedule(
        self,
        request_id: str,
        when: datetime,
        *,
        by: str = "provider",
        reason: Optional[str] = None,
    ) -> UpdateRequest:
        """Confirm a date by hand; the contact is told (R20).

        This is the provider's override of the plan (R13): ``reason`` says why,
        and stays in the request's history.
        """
        return self._change(
            request_id, Event.SCHEDULE, by=by, date=require_aware("when", when), reason=reason
        )

    # -- scheduling (see siteupdates.scheduling) ------------------------------------------

    def plan_queue(
        self, *, horizon: Optional[datetime] = None, dry_run: bool = False, by: str = "planner"
    ) -> PlanRun:
        """Plan the queue first come, first served, and store it unless ``dry_run`` (R13)."""
        return scheduling.plan_queue(self, horizon=horizon, dry_run=dry_run, by=by)

    def explain(self, request_id: str, *, horizon: Optional[datetime] = None) -> Explanation:
        """Why a request has, or would get, its date."""
        return scheduling.explain(self, request_id, horizon=horizon)

    def group_update(
        self,
        group_id: str,
        target: str,
        version: str,
        *,
        earliest: datetime,
        horizon: Optional[datetime] = None,
        by: str = "provider",
    ) -> Tuple[UpdateRequest, ...]:
        """Plan one version update for a whole group, one request per member (R10)."""
        return scheduling.group_update(
            self, group_id, target, version, earliest=earliest, horizon=horizon, by=by
        )

    def cloud_week(self, week_of: date, *, by: str = "provider") -> Tuple[UpdateRequest, ...]:
        """Book the weekly automatic update of the week containing ``week_of`` (R8)."""
        return scheduling.cloud_week(self, week_of, by=by)

    def reschedule(
        self, request_id: str, when: datetime, reason: str, *, by: str = "provider"
    ) -> UpdateRequest:
        """Move a scheduled date, with a reason; the contact is told (R13, R20)."""
        return self._change(
            request_id, Event.RESCHEDULE, by=by, reason=reason, date=require_aware("when", when)
        )

    def pull(self, request_id: str, *, by: str = "provider") -> UpdateRequest:
        """Take a scheduled request from the queue: Not Started."""
        return self._change(request_id, Event.PULL, by=by)

    def start(self, request_id: str, *, by: str = "provider") -> UpdateRequest:
        """Begin the update: In Progress, the site is offline."""
        return self._change(request_id, Event.START, by=by)

    def complete(self, request_id: str, *, by: str = "provider") -> UpdateRequest:
        """Finish the update; the tenant's sites take the new version or refresh date."""
        return self._change(request_id, Event.COMPLETE, by=by)

    def ask_input(self, request_id: str, question: str, *, by: str = "provider") -> UpdateRequest:
        """Ask the contact a question: Pending Input (R20)."""
        return self._change(request_id, Event.ASK_INPUT, by=by, reason=question)

    def defer(self, request_id: str, reason: str, *, by: str = "provider") -> UpdateRequest:
        """Put a request on hold until further notice."""
        return self._change(request_id, Event.DEFER, by=by, reason=reason)

    def resume(self, request_id: str, *, by: str = "provider") -> UpdateRequest:
        """Take a deferred request back into the queue."""
        return self._change(request_id, Event.RESUME, by=by)

    def fail(self, request_id: str, reason: str, *, by: str = "provider") -> UpdateRequest:
        """Give up on a request: Unable to Complete, and the contact is told why (R20)."""
        return self._change(request_id, Event.FAIL, by=by, reason=reason)

    def supersede(self, request_id: str, newer_id: str, *, by: str = "provider") -> UpdateRequest:
        """Mark a request New Version Requested in favour of ``newer_id`` (R17)."""
        req = self._request(request_id)
        self._request(newer_id)
        new, cs = self._transition(
            req,
            Event.SUPERSEDE,
            Actor.PROVIDER,
            by,
            reason=f"newer version requested in request {newer_id}",
            superseded_by=newer_id,
        )
        self.storage.apply(cs)
        return new

    # -- outbox ---------------------------------------------------------------------

    def dispatcher(self, **options: float) -> Dispatcher:
        """A dispatcher for this desk's outbox (see :class:`~siteupdates.outbox.Dispatcher`)."""
        return Dispatcher(self.storage, self.host, clock=self.clock, **options)  # type: ignore[arg-type]

    def deliver(self, **options: float) -> DeliveryReport:
        """Deliver every due outbox item once; see :meth:`Dispatcher.run_once`."""
        return self.dispatcher(**options).run_once()


def is_open(request: UpdateRequest) -> bool:
    """Whether ``request`` still needs work (neither terminal nor completed)."""
    return request.status not in TERMINAL and request.status is not Status.COMPLETED
