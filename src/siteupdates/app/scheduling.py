"""Scheduling use cases: planning, explaining, group, weekly, staged and deferred updates.

Also the what-if preview of a changed setup.

These run the pure planner (:mod:`siteupdates.domain.planner`) on what the
storage holds, inside one unit of work: the queue and the bookings the plan
depends on are read in the transaction that stores the plan. Blackouts come
from plugins (calendars may be remote), so they are fetched before the unit
opens, never while it holds its locks; the provider's own blackouts come with
its preset.

Staging, then production: one submit makes two requests. The production one
names its staging request and soak in its booking (``stage:ID:MINUTES``), so the
store's one-request-per-booking index links them without a new column. Planned,
production is scheduled at least the soak after staging's slot and then waits
in Pending Input (the gate): it keeps its slot, and no worker claims it, until
the contact approves (or, with ``auto_approve``, the soak after staging's
completion passes); if staging fails or the contact declines, it is withdrawn.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import attrs

from siteupdates import observe
from siteupdates.domain import (
    BOOKED,
    OPEN,
    Actor,
    Ambiguity,
    Contact,
    Event,
    PolicyContext,
    ProviderPreset,
    RequestDraft,
    ScheduledTask,
    Status,
    Target,
    Tenant,
    UpdateRequest,
    Version,
    check_submission,
    submitted,
    superseded_by,
)
from siteupdates.domain import policies as rules
from siteupdates.domain.messages import Notice
from siteupdates.domain.planner import (
    Demand,
    Explanation,
    Hold,
    Occupied,
    Plan,
    plan,
    weekly_window_start,
)
from siteupdates.domain.policies import Refusal
from siteupdates.domain.timeutil import require_aware
from siteupdates.domain.views import format_clock, format_day
from siteupdates.domain.windows import Blackout, WorkKind
from siteupdates.errors import AccessDenied, InvalidInput, NotFound, RequestRefused
from siteupdates.ports import ChangeSet, Reads, Unit

from . import access, changes
from .bootstrap import App

__all__ = [
    "Move",
    "PlanRun",
    "StagedSubmission",
    "WhatIf",
    "advance_stages",
    "cloud_week",
    "confirm_stage",
    "explain",
    "group_update",
    "plan_queue",
    "postpone",
    "submit_staged",
    "what_if",
]

#: The booking prefix of a production request that waits on its staging request
#: (its gate: Pending Input until approved).
STAGE = "stage:"
#: The booking prefix of staged production once approved: past its gate, but the
#: soak after staging still holds if it is planned again (moved, deferred).
STAGED = "staged:"

#: The rules a provider's group update must meet for every member (R3, R5, R7, R17).
_GROUP_RULES = (
    rules.r3_site_exists,
    rules.r5_latest_pack_only,
    rules.r7_offered_and_not_older,
    rules.r17_newer_version_supersedes,
)


@attrs.frozen
class PlanRun:
    """A plan of the queue, and what was stored of it (nothing on a dry run)."""

    plan: Plan
    requests: Tuple[UpdateRequest, ...]
    stored: Tuple[str, ...] = ()
    conflicts: Tuple[str, ...] = ()

    def explain(self, request_id: str) -> Explanation:
        """The explanation of one request's date."""
        return self.plan.explain(request_id)


def _label(r: UpdateRequest) -> str:
    what = str(r.version) if r.version is not None else "DB refresh"
    return f"{r.tenant_id} {r.target.value} {what}"


def stage_link(r: UpdateRequest) -> Optional[Tuple[str, timedelta]]:
    """The staging request and soak of production that has not passed its gate, or None."""
    return _link(r, STAGE)


def soak_link(r: UpdateRequest) -> Optional[Tuple[str, timedelta]]:
    """The staging request and soak production waits after, approved or not, or None."""
    return _link(r, STAGE) or _link(r, STAGED)


def _link(r: UpdateRequest, prefix: str) -> Optional[Tuple[str, timedelta]]:
    if r.booking is None or not r.booking.startswith(prefix):
        return None
    staging_id, _, minutes = r.booking[len(prefix) :].partition(":")
    return staging_id, timedelta(minutes=int(minutes or 0))


def refuse_answer_at_gate(r: UpdateRequest, actor: Actor) -> None:
    """RequestRefused (rule ``staging``) when ``r`` is staged production at its gate.

    Such a request waits in Pending Input for the contact's approval, not on a
    question: an answer, the contact's or the one the provider records, would
    skip the gate. The refusal says to ``actor`` what moves the request instead.
    """
    if r.status is not Status.PENDING_INPUT or stage_link(r) is None:
        return  # any other status: the lifecycle's own refusal names it
    if actor is Actor.CONTACT:
        how = "approve it (once staging has completed) or decline it"
    else:
        how = "the contact approves it (once staging has completed) or declines it"
    message = f"request {r.short_id} waits for its staging update, not on a question: {how}"
    raise RequestRefused([Refusal("staging", message)])


def _through_the_gate(
    old: UpdateRequest, new: UpdateRequest, cs: ChangeSet
) -> Tuple[UpdateRequest, ChangeSet]:
    """``new``, approved at its gate, marked past it, and its change set.

    The gate link is what marks Pending Input as the gate (:func:`refuse_answer_at_gate`,
    :func:`confirm_stage`, :func:`advance_stages`); once approved, production has
    passed it, and a question the provider asks later is a real one (R15) that
    either side may answer, not a second gate. The staging request and the soak
    stay (:func:`soak_link`): planned again, production still waits them out.
    """
    assert new.booking is not None and new.booking.startswith(STAGE)
    new = attrs.evolve(new, booking=STAGED + new.booking[len(STAGE) :])
    return new, attrs.evolve(cs, updates=((new, old.revision),))


def _booked(reads: Reads) -> List[UpdateRequest]:
    """Requests holding a slot: booked ones, and Pending Input ones that keep their date.

    A question keeps a Scheduled request's date (the answer returns it there),
    and staged production waits at its gate in Pending Input with its date: both
    keep their slot meanwhile.
    """
    booked = reads.requests_in(tuple(BOOKED), limit=1_000_000)
    waiting = reads.requests_in((Status.PENDING_INPUT,), limit=1_000_000)
    return booked + [r for r in waiting if r.scheduled_for is not None]


def _occupied(
    app: App,
    reads: Reads,
    *,
    before: Optional[UpdateRequest] = None,
    without: Iterable[str] = (),
    preset: Optional[ProviderPreset] = None,
) -> List[Occupied]:
    """The booked updates; with ``before``, only those submitted earlier than it."""
    length = (preset or app.preset).update_duration
    skip = set(without)
    return [
        Occupied(r.id, (r.tenant_id,), r.scheduled_for, r.scheduled_for + length)
        for r in _booked(reads)
        if r.scheduled_for is not None
        and r.id not in skip
        and (before is None or (r.requested_at, r.id) < (before.requested_at, before.id))
    ]


class _Blackouts:
    """Blackouts from the plugins, fetched once per tenant and kept for the use case.

    The preset's own blackouts (``scheduling.blackouts``) come first.
    """

    def __init__(
        self, app: App, start: datetime, end: datetime, preset: Optional[ProviderPreset] = None
    ) -> None:
        self.app, self.start, self.end = app, start, end
        self.found: List[Blackout] = [
            *(preset or app.preset).scheduling.blackouts,
            *app.host.blackouts(None, start, end),
        ]
        self.seen: set[str] = set()

    def fetch(self, tenants: Iterable[str]) -> List[Blackout]:
        for t in sorted(set(tenants) - self.seen):
            self.seen.add(t)
            self.found.extend(
                b for b in self.app.host.blackouts(t, self.start, self.end) if b.applies_to(t)
            )
        return self.found


def _tasks(tenants: Iterable[Tenant]) -> Dict[str, Tuple[ScheduledTask, ...]]:
    return {t.id: t.tasks for t in tenants if t.tasks}


def _plan(
    app: App,
    reads: Reads,
    demands: Sequence[Demand],
    horizon: datetime,
    tenants: Iterable[Tenant],
    blackouts: _Blackouts,
    *,
    start: Optional[datetime] = None,
    before: Optional[UpdateRequest] = None,
    occupied: Optional[List[Occupied]] = None,
    preset: Optional[ProviderPreset] = None,
) -> Plan:
    setup = preset or app.preset
    return plan(
        demands,
        windows=setup.windows,
        capacity=setup.capacity,
        slot_length=setup.update_duration,
        horizon=horizon,
        start=start or app.now(),
        blackouts=blackouts.fetch(t for d in demands for t in d.tenants),
        occupied=_occupied(app, reads, before=before, preset=setup)
        if occupied is None
        else occupied,
        tasks=_tasks(tenants),
    )


def _span(length: timedelta) -> str:
    """A length in words: ``14 days``, ``36 hours``."""
    hours = int(length.total_seconds() // 3600)
    if hours % 24 == 0:
        return f"{hours // 24} day{'s' if hours != 24 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


def _demand(
    app: App,
    reads: Reads,
    r: UpdateRequest,
    tenant: Optional[Tenant],
    now: datetime,
    *,
    queued: Iterable[str] = (),
    preset: Optional[ProviderPreset] = None,
    earliest: Optional[datetime] = None,
    holds: Sequence[Hold] = (),
) -> Optional[Demand]:
    """The planner's view of ``r``: kinds of work, groups and holds (None: not plannable yet).

    Holds: the tenant's advance-notice tier for a version update (booked at least
    the tier's lead after the scheduled notice, which is sent now), and for a
    staged production the soak after its staging request's slot.
    """
    setup = preset or app.preset
    kinds = set()
    if r.version is not None:
        kinds.add(WorkKind.VERSION)
    if r.db_refresh or r.version is None:
        kinds.add(WorkKind.REFRESH)
    held = list(holds)
    zone = r.zone
    tier = setup.scheduling.notice.tier_of(r.tenant_id)
    if tier is not None and r.version is not None:
        name, lead = tier
        until = now + lead
        held.append(
            Hold(until, f"notice tier {name!r}: booked at least {_span(lead)} after it is "
                        f"announced (from {format_day(until, zone)} {format_clock(until, zone)})")
        )  # fmt: skip
    link = soak_link(r)
    if link is not None:
        staging_id, soak = link
        why = f"soak: production waits {_span(soak)} after staging (request {staging_id[:12]})"
        if staging_id in set(queued):
            held.append(Hold(now, why, after=staging_id, gap=soak))
        else:
            staging = reads.request(staging_id)
            if (
                staging is None
                or staging.scheduled_for is None
                or staging.status not in (BOOKED | {Status.COMPLETED})
            ):
                return None  # staging is not planned (or failed): nothing to soak after yet
            held.append(Hold(staging.scheduled_for + setup.update_duration + soak, why))
    return Demand(
        r.id, (r.tenant_id,), earliest or max(r.preferred_start, now), zone, _label(r),
        frozenset(kinds), (tenant.group_id,) if tenant and tenant.group_id else (), tuple(held),
    )  # fmt: skip


def _horizon(app: App, horizon: Optional[datetime]) -> datetime:
    return require_aware("horizon", horizon or app.now() + timedelta(days=180))


def plan_queue(
    app: App, *, horizon: Optional[datetime] = None, dry_run: bool = False, by: str = "planner"
) -> PlanRun:
    """Plan every To Be Scheduled request, first come first served (R13).

    Stored, each placed request becomes Scheduled with its slot, its history
    keeps the plan's explanation in short, and the contact is told (R20), with
    the difference from the date asked for. The whole plan is one unit of work
    under the planner's lock, so two planners never book one slot twice.
    ``dry_run`` stores nothing.
    """
    now = app.now()
    until = _horizon(app, horizon)
    blackouts = _Blackouts(app, now, until)
    blackouts.fetch(r.tenant_id for r in app.reads.requests_in((Status.TO_BE_SCHEDULED,)))

    def use_case(reads: Reads, uow: Optional[Unit]) -> PlanRun:
        if uow is not None:
            uow.lock("planner")
        queue = reads.requests_in((Status.TO_BE_SCHEDULED,), limit=1_000_000)
        tenants = {t.id: t for t in reads.tenants()}
        ids = {r.id for r in queue}
        found = [_demand(app, reads, r, tenants.get(r.tenant_id), now, queued=ids) for r in queue]
        demands = [d for d in found if d is not None]
        result = _plan(app, reads, demands, until, tenants.values(), blackouts)
        if uow is None:
            return PlanRun(result, tuple(queue))
        audience: Dict[str, List[Contact]] = {}
        parts: List[ChangeSet] = []
        stored: List[str] = []
        for r in queue:
            p = result.placements.get(r.id)
            if p is None or p.start is None:
                continue
            passed = result.passed_over_count(r.id)
            note = f"planned first come, first served: position {p.position}"
            if passed:
                note += f", {passed} earlier slot{'s' if passed != 1 else ''} passed over"
            new, cs = changes.transition(
                app, uow, r, Event.SCHEDULE, actor=Actor.PROVIDER, by=by, reason=note,
                date=p.start, tenant=tenants[r.tenant_id], known=audience.get(r.requested_by, ()),
            )  # fmt: skip
            if p.warnings:
                new = attrs.evolve(new, warnings=tuple(dict.fromkeys(new.warnings + p.warnings)))
                cs = attrs.evolve(cs, updates=((new, r.revision),))
            link = stage_link(r)
            if link is not None:  # the gate: production waits for staging and approval
                gate = (
                    f"production waits for staging (request {link[0][:12]}) to complete and "
                    f"soak {_span(link[1])}; "
                    + ("it then goes ahead unless you decline"
                       if app.preset.scheduling.staging.auto_approve
                       else "then confirm with 'approve' (or decline) to keep this date")
                )  # fmt: skip
                new, more = changes.transition(
                    app, uow, new, Event.ASK_INPUT, actor=Actor.PROVIDER, by=by, reason=gate,
                    tenant=tenants[r.tenant_id], known=audience.get(r.requested_by, ()),
                )  # fmt: skip
                # Reminders are pending only while a request is Scheduled: none at the
                # gate (the approval arms the ladder, for the rungs still ahead).
                kept = tuple(o for o in cs.outbox if o.kind != "reminder")
                cs = attrs.evolve(
                    cs, updates=((new, r.revision),), history=cs.history + more.history,
                    outbox=kept + more.outbox,
                )  # fmt: skip
            parts.append(cs)
            stored.append(r.id)
        uow.apply(ChangeSet.concat(parts))
        return PlanRun(result, tuple(queue), tuple(stored))

    if dry_run:
        return use_case(app.reads, None)
    advance_stages(app, by=by)
    began = time.perf_counter()
    run = app.run(lambda uow: use_case(uow, uow))
    observe.observe("plan", seconds=time.perf_counter() - began, scheduled=len(run.stored))
    return run


def explain(
    app: App,
    request_id: str,
    *,
    horizon: Optional[datetime] = None,
    sees: Optional[Callable[[str], bool]] = None,
) -> Explanation:
    """Why a request has (or would get) its date.

    For a request still To Be Scheduled this is the dry-run plan's explanation,
    with its place in the queue; for one no longer queued (booked, say) the
    plan is made again as if it were still queued behind the same earlier
    requests, and it has no place in the queue (``position`` None). With
    ``sees`` (whether the reader may see a tenant) it is a contact's view: see
    :meth:`~siteupdates.domain.planner.Plan.explain`.
    """
    r = app.reads.request(request_id)
    if r is None:
        raise NotFound("request", request_id)
    if r.status is Status.TO_BE_SCHEDULED:
        return plan_queue(app, horizon=horizon, dry_run=True).plan.explain(request_id, sees=sees)
    now = app.now()
    until = _horizon(app, horizon)
    start = min(r.preferred_start, now)
    tenant = app.reads.tenant(r.tenant_id)
    # The notice was announced when the request was scheduled, not now.
    dated = [h.at for h in app.reads.history(r.id) if h.event is Event.SCHEDULE]
    announced = dated[-1] if dated else now
    demand = _demand(app, app.reads, r, tenant, announced, earliest=r.preferred_start) or Demand(
        r.id, (r.tenant_id,), r.preferred_start, r.zone, _label(r)
    )
    result = _plan(
        app, app.reads, [demand], until, app.reads.tenants(), _Blackouts(app, start, until),
        start=start, before=r,
    )  # fmt: skip
    e = result.explain(r.id, sees=sees)
    head = e.lines[0].split(": position ", 1)[0]
    when = _local(r.preferred_start, r.zone)
    e = attrs.evolve(
        e,
        position=None,
        lines=(f"{head}: {r.status.label}, not in the queue; preferred start {when}",
               *e.lines[1:]),
    )  # fmt: skip
    if r.scheduled_for is not None and e.placement.start != r.scheduled_for:
        moved = [h for h in app.reads.history(r.id) if h.event is Event.RESCHEDULE]
        why = f" ({moved[-1].reason})" if moved else " (placed by the provider)"
        e = attrs.evolve(
            e, lines=(*e.lines, f"  the provider set {_local(r.scheduled_for, r.zone)}{why}")
        )
    return e


def _local(instant: datetime, zone: str) -> str:
    return f"{format_day(instant, zone)} {format_clock(instant, zone)}"


def _provider_contact(tenants: Sequence[Tenant]) -> Contact:
    """The provider as the rules see it: connected to every tenant it acts on."""
    return Contact("provider", "Provider", "provider@invalid", "partner", {t.id for t in tenants})


def group_update(
    app: App,
    group_id: str,
    target: str,
    version: str,
    *,
    earliest: datetime,
    horizon: Optional[datetime] = None,
    by: str = "provider",
) -> Tuple[UpdateRequest, ...]:
    """Plan one version update for every tenant of a group, in one slot (R10).

    Every member must meet the same rules as a contact's request (R3, R5, R7,
    R17). The slot is one in which every member is free; the update fans out to
    one Scheduled request per member, linked by ``group_plan_id``, each with its
    own status from then on.
    """
    tgt = Target.parse(target)
    v = Version.parse(version)
    earliest = require_aware("earliest", earliest)
    now = app.now()
    until = _horizon(app, horizon)
    group = app.reads.group(group_id)
    if group is None:
        raise NotFound("group", group_id)
    blackouts = _Blackouts(app, now, until)
    blackouts.fetch(t.id for t in app.reads.tenants_in_group(group_id))
    plan_id = f"group-{app.new_id()[:12]}"

    def use_case(uow: Unit) -> Tuple[UpdateRequest, ...]:
        uow.lock("planner")
        members = uow.tenants_in_group(group_id)
        if not members:
            raise InvalidInput(f"group {group_id!r} has no tenants", group_id)
        for t in members:  # sorted by ID: every use case locks tenants in one order
            uow.lock(f"tenant:{t.id}")
        catalog = uow.catalog()
        provider = _provider_contact(members)
        refusals: List[Refusal] = []
        open_of: Dict[str, List[UpdateRequest]] = {}
        for t in members:
            draft = RequestDraft(t.id, tgt, v, False, None)
            open_of[t.id] = uow.open_version_updates(t.id, tgt)
            ctx = PolicyContext.build(
                contact=provider, tenant=t, draft=draft, catalog=catalog, preset=app.preset,
                now=now, open_requests=open_of[t.id],
            )  # fmt: skip
            for policy in _GROUP_RULES:
                for refusal in policy(ctx).refusals:
                    refusals.append(attrs.evolve(refusal, message=f"{t.name}: {refusal.message}"))
        if refusals:
            # Each rule once per message; a catalog refusal is the same for every member.
            raise RequestRefused(list(dict.fromkeys(refusals)))
        demand = Demand(
            plan_id, tuple(t.id for t in members), max(earliest, now), app.preset.default_zone,
            f"{group.name} {v}", frozenset({WorkKind.VERSION}), (group_id,),
        )  # fmt: skip
        result = _plan(app, uow, [demand], until, members, blackouts)
        p = result.placements[plan_id]
        if p.start is None:
            raise RequestRefused(
                [Refusal("R10", f"no slot where every tenant of {group.name} is free: {p.reason}")]
            )
        contacts = uow.contacts()
        made: List[UpdateRequest] = []
        parts: List[ChangeSet] = []
        for t in members:
            r = UpdateRequest(
                id=app.new_id(), tenant_id=t.id, target=tgt, version=v, db_refresh=False,
                preferred_start=p.start, zone=app.preset.default_zone, requested_by=by,
                requested_at=now, group_plan_id=plan_id,
            )  # fmt: skip
            audience = [c for c in contacts if c.sees(t.id)]
            new, cs = changes.booked(
                app, r, t, audience, by=by, date=p.start,
                reason=f"group update of {group.name} (R10), plan {plan_id}",
            )  # fmt: skip
            made.append(new)
            parts.append(cs)
            for old in superseded_by(v, tgt, open_of[t.id]):  # R17, as for a contact's submit
                _, more = changes.transition(
                    app, uow, old, Event.SUPERSEDE, actor=Actor.PROVIDER, by=by,
                    reason=f"newer version {v} planned for the group in request {r.id}",
                    tenant=t, known=audience, superseded_by=r.id,
                )  # fmt: skip
                parts.append(more)
        uow.apply(ChangeSet.concat(parts))
        return tuple(made)

    return app.run(use_case)


def cloud_week(app: App, week_of: date, *, by: str = "provider") -> Tuple[UpdateRequest, ...]:
    """Book the weekly automatic update of every tenant whose plan has one (R8).

    Each such tenant whose production runs an older version than the newest of
    its line gets a Scheduled production/sandbox request in the maintenance
    window of the week containing ``week_of``. The booking ``cloud-week:DATE`` is
    unique per tenant in the store, so running it twice, or twice at once, books
    nothing twice; a tenant with an open version update of production keeps it.
    """
    window = app.preset.maintenance_window
    opens, _ = weekly_window_start(window, week_of)
    # Keyed by the week's Monday: any day of the week books the same slot.
    booking = f"cloud-week:{(week_of - timedelta(days=week_of.weekday())).isoformat()}"
    target = Target.PRODUCTION_SANDBOX

    def use_case(uow: Unit) -> Tuple[UpdateRequest, ...]:
        now = app.now()
        catalog = uow.catalog()
        contacts: Optional[List[Contact]] = None
        made: List[UpdateRequest] = []
        parts: List[ChangeSet] = []
        for t in uow.tenants():
            if not app.preset.rules_for(t.plan).automatic_weekly_update:
                continue
            prod = t.site(target.main_site)
            newest = catalog.newest(prod.version.line) if prod else None
            if prod is None or newest is None or newest <= prod.version:
                continue
            uow.lock(f"tenant:{t.id}")
            if uow.booking(t.id, booking) is not None:
                continue
            if any(r.status in OPEN for r in uow.open_version_updates(t.id, target)):
                continue
            if contacts is None:
                contacts = uow.contacts()
            r = UpdateRequest(
                id=app.new_id(), tenant_id=t.id, target=target, version=newest,
                db_refresh=False, preferred_start=opens, zone=window.zone, requested_by=by,
                requested_at=now, automatic=True, booking=booking,
            )  # fmt: skip
            new, cs = changes.booked(
                app, r, t, [c for c in contacts if c.sees(t.id)], by=by, date=opens,
                reason=f"weekly automatic update in the maintenance window ({window}) (R8)",
            )  # fmt: skip
            made.append(new)
            parts.append(cs)
        if parts:
            uow.apply(ChangeSet.concat(parts))
        return tuple(made)

    return app.run(use_case)


# -- Staging, then production ---------------------------------------------------


@attrs.frozen
class StagedSubmission:
    """What :func:`submit_staged` made: the staging request and the production one."""

    staging: UpdateRequest
    production: UpdateRequest
    soak: timedelta
    superseded: Tuple[str, ...] = ()


def submit_staged(
    app: App,
    contact_id: str,
    tenant_id: str,
    version: str,
    *,
    at: datetime,
    zone: Optional[str] = None,
    soak: Optional[timedelta] = None,
    ambiguity: Any = Ambiguity.EARLIER,
) -> StagedSubmission:
    """One request for "staging, then production" of ``version``: two linked requests.

    Staging asks for ``at`` (wall-clock, in ``zone``); production for at least
    ``soak`` later (the provider's default when None, refused outside its
    ``min_soak``..``max_soak``). Both drafts meet every rule a single submit meets,
    in one unit of work; a refusal of either refuses both, naming which.
    """
    soak = app.preset.scheduling.staging.check(soak)
    if isinstance(at, datetime) and at.tzinfo is not None:
        raise InvalidInput(
            "the preferred start is a wall-clock time read in the requester's zone; "
            "give a naive datetime and the zone separately",
            at,
        )

    def use_case(uow: Unit) -> StagedSubmission:
        who = access.contact(uow, contact_id)
        if not who.sees(tenant_id):
            raise AccessDenied("no such tenant among the tenants connected to you")
        uow.lock(f"tenant:{tenant_id}")
        tenant = uow.tenant(tenant_id)
        if tenant is None:
            raise AccessDenied("no such tenant among the tenants connected to you")
        now = app.now()
        made: List[Tuple[RequestDraft, PolicyContext]] = []
        refusals: List[Refusal] = []
        for target in (Target.STAGING, Target.PRODUCTION_SANDBOX):
            draft = RequestDraft(tenant.id, target, version, False, at, zone, Ambiguity(ambiguity))
            ctx = PolicyContext.build(
                contact=who, tenant=tenant, draft=draft, catalog=uow.catalog(),
                preset=app.preset, now=now,
                open_requests=uow.open_version_updates(tenant.id, target),
            )  # fmt: skip
            try:
                check_submission(ctx, app.policies)
            except RequestRefused as refused:
                refusals.extend(
                    attrs.evolve(x, message=f"{target.value}: {x.message}")
                    for x in refused.refusals
                )
            made.append((draft, ctx))
        if refusals:
            raise RequestRefused(refusals)
        (s_draft, s_ctx), (p_draft, _) = made
        assert s_ctx.start is not None
        staging = UpdateRequest(
            id=app.new_id(), tenant_id=tenant.id, target=Target.STAGING, version=s_draft.version,
            db_refresh=False, preferred_start=s_ctx.start, zone=s_ctx.zone, requested_by=who.id,
            requested_at=now,
        )  # fmt: skip
        minutes = int(soak.total_seconds() // 60)
        production = UpdateRequest(
            id=app.new_id(), tenant_id=tenant.id, target=Target.PRODUCTION_SANDBOX,
            version=p_draft.version, db_refresh=False, preferred_start=s_ctx.start + soak,
            zone=s_ctx.zone, requested_by=who.id,
            # A microsecond later: first come, first served puts staging first.
            requested_at=now + timedelta(microseconds=1),
            booking=f"{STAGE}{staging.id}:{minutes}",
        )  # fmt: skip
        parts: List[ChangeSet] = []
        for r in (staging, production):
            first = submitted(r)
            parts.append(
                ChangeSet(
                    inserts=(r,), history=(first,),
                    outbox=changes.outbox_items(app, r, first, tenant, [who], False),
                )
            )  # fmt: skip
        superseded: List[str] = []
        for new, (draft, ctx) in ((staging, made[0]), (production, made[1])):
            for old in rules.superseded_by(draft.version, draft.target, ctx.open_requests):
                _, cs = changes.transition(
                    app, uow, old, Event.SUPERSEDE, actor=Actor.PROVIDER, by="siteupdates",
                    reason=f"newer version {draft.version} requested in request {new.id}",
                    tenant=tenant, known=[who], superseded_by=new.id,
                )  # fmt: skip
                parts.append(cs)
                superseded.append(old.id)
        uow.apply(ChangeSet.concat(parts))
        return StagedSubmission(staging, production, soak, tuple(superseded))

    return app.run(use_case)


def _completed_at(reads: Reads, request_id: str) -> Optional[datetime]:
    done = [h.at for h in reads.history(request_id) if h.event is Event.COMPLETE]
    return done[-1] if done else None


#: Staging ended without the update: its production is released.
_STAGING_GONE = frozenset(
    {Status.UNABLE_TO_COMPLETE, Status.CANCELLED, Status.NEW_VERSION_REQUESTED, Status.DELETED}
)


def _keep_or_replan(app: App, uow: Unit, r: UpdateRequest, after: datetime) -> datetime:
    """``r``'s slot if it still lies ahead, else the first free slot after ``after``."""
    if r.scheduled_for is not None and r.scheduled_for >= after:
        return r.scheduled_for
    return _one_slot(app, uow, r, after, ())


def _one_slot(
    app: App, reads: Reads, r: UpdateRequest, earliest: datetime, holds: Sequence[Hold]
) -> datetime:
    """The first free slot for ``r`` alone from ``earliest``, around every booking but its own."""
    now = app.now()
    until = max(earliest, now) + timedelta(days=180)
    tenant = reads.tenant(r.tenant_id)
    blackouts = _Blackouts(app, now, until)
    d = _demand(app, reads, r, tenant, now, earliest=earliest, holds=holds)
    if d is None:
        raise InvalidInput(f"request {r.short_id} cannot be planned yet", r.id)
    d = attrs.evolve(d, holds=tuple(h for h in d.holds if not h.why.startswith("notice tier")))
    result = _plan(
        app, reads, [d], until, [tenant] if tenant else [], blackouts, start=min(earliest, now),
        occupied=_occupied(app, reads, without=[r.id]),
    )  # fmt: skip
    p = result.placements[r.id]
    if p.start is None:
        raise RequestRefused(
            [Refusal("R13", f"no free slot for request {r.short_id}: {p.reason}")]
        )
    return p.start


def confirm_stage(
    app: App, contact_id: str, request_id: str, *, approve: bool, reason: Optional[str] = None
) -> UpdateRequest:
    """The contact's gate on a staged production request: go ahead, or release it.

    Approving needs staging completed; production keeps its slot (or, if that has
    passed, gets the first free one). Declining withdraws it and tells the contact.
    """

    def use_case(uow: Unit) -> UpdateRequest:
        who = access.contact(uow, contact_id)
        r = access.request_for(uow, who, request_id)
        link = stage_link(r)
        if link is None:
            raise InvalidInput(
                f"request {r.short_id} is not a production update waiting on staging; "
                "only those are approved or declined",
                request_id,
            )
        staging = uow.request(link[0])
        if not approve:
            why = reason or "the contact declined production after staging"
            new, cs = changes.transition(
                app, uow, r, Event.WITHDRAW, actor=Actor.CONTACT, by=who.id,
                reason=f"{why}: production released", known=[who],
            )  # fmt: skip
            uow.apply(cs)
            return new
        if staging is None or staging.status is not Status.COMPLETED:
            state = staging.status.label if staging is not None else "gone"
            raise RequestRefused(
                [Refusal("staging", f"staging (request {link[0][:12]}) is {state}; approve "
                                    "production once staging has completed")]
            )  # fmt: skip
        date = _keep_or_replan(app, uow, r, app.now())
        new, cs = _through_the_gate(r, *changes.transition(
            app, uow, r, Event.APPROVE, actor=Actor.CONTACT, by=who.id, date=date,
            reason=reason or "the contact approved production after staging", known=[who],
        ))  # fmt: skip
        uow.apply(cs)
        return new

    return app.run(use_case)


def advance_stages(app: App, *, by: str = "planner") -> Tuple[UpdateRequest, ...]:
    """Move every staged production at its gate, if its staging allows.

    Release it if staging failed or was cancelled; with ``auto_approve``, approve
    it once staging completed and soaked. Each is its own unit of work;
    ``plan_queue`` runs this first.
    """
    waiting = [
        r for r in app.reads.requests_in((Status.PENDING_INPUT,), limit=1_000_000)
        if stage_link(r) is not None
    ]  # fmt: skip
    moved: List[UpdateRequest] = []
    auto = app.preset.scheduling.staging.auto_approve
    for item in waiting:

        def use_case(uow: Unit, rid: str = item.id) -> Optional[UpdateRequest]:
            r = uow.request(rid)
            link = stage_link(r) if r is not None else None
            if r is None or link is None or r.status is not Status.PENDING_INPUT:
                return None
            uow.lock(f"tenant:{r.tenant_id}")
            staging = uow.request(link[0])
            now = app.now()
            if staging is None or staging.status in _STAGING_GONE:
                state = staging.status.label if staging is not None else "gone"
                new, cs = changes.transition(
                    app, uow, r, Event.WITHDRAW, actor=Actor.PROVIDER, by=by,
                    reason=f"staging (request {link[0][:12]}) is {state}: production released",
                )  # fmt: skip
            elif staging.status is Status.COMPLETED and auto:
                done = _completed_at(uow, staging.id) or now
                if now < done + link[1]:
                    return None
                new, cs = _through_the_gate(r, *changes.transition(
                    app, uow, r, Event.APPROVE, actor=Actor.PROVIDER, by=by,
                    date=_keep_or_replan(app, uow, r, now),
                    reason=f"staging completed and soaked {_span(link[1])}: approved "
                    "automatically (provider setting)",
                ))  # fmt: skip
            else:
                return None
            uow.apply(cs)
            return new

        done = app.run(use_case)
        if done is not None:
            moved.append(done)
    return tuple(moved)


# -- Limited deferral by the contact -----------------------------------------------


def postpone(
    app: App,
    contact_id: str,
    request_id: str,
    *,
    days: Optional[int] = None,
    next_window: bool = False,
) -> UpdateRequest:
    """The contact defers a Scheduled request: to the next available window, or ``days`` later.

    Limited by the provider's deferral rules (per request, and per period on the
    same request); a deferral past a limit is refused naming it. The new date is
    the first free slot, first come first served among the bookings, after the
    chosen point; the contact is told and the provider's calendar moves.
    """
    if next_window == (days is not None):
        raise InvalidInput("defer to the next available window, or by some days: one of the two")
    rules_ = app.preset.scheduling.deferral
    if days is not None:
        most = rules_.max_skip.days
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= most:
            raise InvalidInput(f"skip {days!r} days: expected 1 to {most} days", days)

    def use_case(uow: Unit) -> UpdateRequest:
        who = access.contact(uow, contact_id)
        r = access.request_for(uow, who, request_id)
        uow.lock(f"tenant:{r.tenant_id}")
        if r.status is not Status.SCHEDULED or r.scheduled_for is None:
            # The table's refusal names the status and what is allowed.
            apply_refusal = changes.transition
            apply_refusal(app, uow, r, Event.POSTPONE, actor=Actor.CONTACT, by=who.id,
                          reason="-", date=app.now())  # fmt: skip
        assert r.scheduled_for is not None
        now = app.now()
        used = [h for h in uow.history(r.id) if h.event is Event.POSTPONE]
        if rules_.per_request is not None and len(used) >= rules_.per_request:
            raise RequestRefused([Refusal("deferral", (
                f"request {r.short_id} was deferred {len(used)} time(s) already: at most "
                f"{rules_.per_request} per request"))])  # fmt: skip
        recent = [h for h in used if h.at > now - rules_.period]
        if rules_.per_period is not None and len(recent) >= rules_.per_period:
            limit = (
                f"request {r.short_id} was deferred {len(recent)} time(s) in the last "
                f"{_span(rules_.period)}: at most {rules_.per_period} in that period"
            )
            raise RequestRefused([Refusal("deferral", limit)])
        if next_window:
            after = r.scheduled_for + app.preset.update_duration
            for w in app.preset.windows:
                occ = w.next_occurrence(r.scheduled_for)
                if occ is not None and occ[0] <= r.scheduled_for < occ[1]:
                    after = max(after, occ[1])
            why = "deferred by the contact to the next available window"
        else:
            assert days is not None
            after = r.scheduled_for + timedelta(days=days)
            why = f"deferred by the contact by {days} day{'s' if days != 1 else ''}"
        hold = Hold(after, f"deferral: {why}")
        date = _one_slot(app, uow, r, after, (hold,))
        left = "" if rules_.per_request is None else (
            f" ({rules_.per_request - len(used) - 1} of {rules_.per_request} deferrals left)"
        )  # fmt: skip
        new, cs = changes.transition(
            app, uow, r, Event.POSTPONE, actor=Actor.CONTACT, by=who.id, date=date,
            reason=why + left, known=[who],
        )  # fmt: skip
        uow.apply(cs)
        return new

    return app.run(use_case)


# -- What-if ----------------------------------------------------------------------


@attrs.frozen
class Move:
    """A booking that would move under a changed setup: old and new dates, notices."""

    request: UpdateRequest
    old: Optional[datetime]
    new: Optional[datetime]
    reason: Optional[str]
    notices: Tuple[Notice, ...]


@attrs.frozen
class WhatIf:
    """The queue planned under a changed setup, stored nowhere: what would move."""

    plan: Plan
    requests: Tuple[UpdateRequest, ...]
    moves: Tuple[Move, ...]
    unchanged: Tuple[str, ...]


def what_if(app: App, preset: ProviderPreset, *, horizon: Optional[datetime] = None) -> WhatIf:
    """Plan the queue (To Be Scheduled and Scheduled requests) under ``preset``.

    Nothing is stored and nothing is sent. Each request's old date is its stored
    one (Scheduled) or the one today's setup would give (To Be Scheduled); every
    request whose date differs is a :class:`Move`, with the notices its contact
    would get.
    """
    now = app.now()
    until = _horizon(app, horizon)
    reads = app.reads
    today = plan_queue(app, horizon=until, dry_run=True)
    queue = sorted(
        reads.requests_in((Status.TO_BE_SCHEDULED, Status.SCHEDULED), limit=1_000_000),
        key=lambda r: (r.requested_at, r.id),
    )
    tenants = {t.id: t for t in reads.tenants()}
    ids = {r.id for r in queue}
    found = [
        _demand(app, reads, r, tenants.get(r.tenant_id), now, queued=ids, preset=preset)
        for r in queue
    ]
    demands = [d for d in found if d is not None]
    blackouts = _Blackouts(app, now, until, preset)
    # Work already begun, and production at its gate, keep their slots.
    kept = _occupied(app, reads, without=ids, preset=preset)
    result = _plan(app, reads, demands, until, tenants.values(), blackouts,
                   occupied=kept, preset=preset)  # fmt: skip
    moves: List[Move] = []
    same: List[str] = []
    for r in queue:
        p = result.placements.get(r.id)
        if p is None:
            continue
        if r.status is Status.SCHEDULED:
            old = r.scheduled_for
        else:
            was = today.plan.placements.get(r.id)
            old = was.start if was is not None else None
        if p.start == old:
            same.append(r.id)
            continue
        notices: Tuple[Notice, ...] = ()
        if p.start is not None:
            event = Event.RESCHEDULE if r.status is Status.SCHEDULED else Event.SCHEDULE
            _, cs = changes.transition(
                app, reads, r, event, actor=Actor.PROVIDER, by="what-if", date=p.start,
                reason="the provider changed its maintenance setup",
                tenant=tenants.get(r.tenant_id),
            )  # fmt: skip
            notices = tuple(
                Notice.from_payload(i.payload) for i in cs.outbox if i.kind == "notice"
            )
        moves.append(Move(r, old, p.start, p.reason, notices))
    return WhatIf(result, tuple(queue), tuple(moves), tuple(same))
