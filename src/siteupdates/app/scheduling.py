"""Scheduling use cases: plan the queue, explain a date, group and weekly updates.

These run the pure planner (:mod:`siteupdates.domain.planner`) on what the
storage holds, inside one unit of work: the queue and the bookings the plan
depends on are read in the transaction that stores the plan. Blackouts come
from plugins (calendars may be remote), so they are fetched before the unit
opens, never while it holds its locks.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import attrs

from siteupdates.domain import (
    BOOKED,
    OPEN,
    Actor,
    Contact,
    Event,
    PolicyContext,
    RequestDraft,
    ScheduledTask,
    Status,
    Target,
    Tenant,
    UpdateRequest,
    Version,
)
from siteupdates.domain import policies as rules
from siteupdates.domain.planner import (
    Demand,
    Explanation,
    Occupied,
    Plan,
    plan,
    weekly_window_start,
)
from siteupdates.domain.policies import Refusal
from siteupdates.domain.timeutil import require_aware
from siteupdates.domain.windows import Blackout
from siteupdates.errors import InvalidInput, NotFound, RequestRefused
from siteupdates.ports import ChangeSet, Reads, Unit

from . import changes
from .bootstrap import App

__all__ = ["PlanRun", "cloud_week", "explain", "group_update", "plan_queue"]

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


def _occupied(app: App, reads: Reads, *, before: Optional[UpdateRequest] = None) -> List[Occupied]:
    """The booked updates; with ``before``, only those submitted earlier than it."""
    booked = reads.requests_in(tuple(BOOKED), limit=1_000_000)
    length = app.preset.update_duration
    return [
        Occupied(r.id, (r.tenant_id,), r.scheduled_for, r.scheduled_for + length)
        for r in booked
        if r.scheduled_for is not None
        and (before is None or (r.requested_at, r.id) < (before.requested_at, before.id))
    ]


class _Blackouts:
    """Blackouts from the plugins, fetched once per tenant and kept for the use case."""

    def __init__(self, app: App, start: datetime, end: datetime) -> None:
        self.app, self.start, self.end = app, start, end
        self.found: List[Blackout] = list(app.host.blackouts(None, start, end))
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
) -> Plan:
    return plan(
        demands,
        windows=app.preset.windows,
        capacity=app.preset.capacity,
        slot_length=app.preset.update_duration,
        horizon=horizon,
        start=start or app.now(),
        blackouts=blackouts.fetch(t for d in demands for t in d.tenants),
        occupied=_occupied(app, reads, before=before),
        tasks=_tasks(tenants),
    )


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
        demands = [
            Demand(r.id, (r.tenant_id,), max(r.preferred_start, now), r.zone, _label(r))
            for r in queue
        ]
        result = _plan(app, reads, demands, until, tenants.values(), blackouts)
        if uow is None:
            return PlanRun(result, tuple(queue))
        audience: Dict[str, List[Contact]] = {}
        parts: List[ChangeSet] = []
        stored: List[str] = []
        for r in queue:
            p = result.placements[r.id]
            if p.start is None:
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
            parts.append(cs)
            stored.append(r.id)
        uow.apply(ChangeSet.concat(parts))
        return PlanRun(result, tuple(queue), tuple(stored))

    if dry_run:
        return use_case(app.reads, None)
    return app.run(lambda uow: use_case(uow, uow))


def explain(app: App, request_id: str, *, horizon: Optional[datetime] = None) -> Explanation:
    """Why a request has (or would get) its date.

    For a request still To Be Scheduled this is the dry-run plan's explanation;
    for one already booked, the plan is made again as if it were still queued
    behind the same earlier requests.
    """
    r = app.reads.request(request_id)
    if r is None:
        raise NotFound("request", request_id)
    if r.status is Status.TO_BE_SCHEDULED:
        return plan_queue(app, horizon=horizon, dry_run=True).explain(request_id)
    now = app.now()
    until = _horizon(app, horizon)
    start = min(r.preferred_start, now)
    demand = Demand(r.id, (r.tenant_id,), r.preferred_start, r.zone, _label(r))
    result = _plan(
        app, app.reads, [demand], until, app.reads.tenants(), _Blackouts(app, start, until),
        start=start, before=r,
    )  # fmt: skip
    e = result.explain(r.id)
    if r.scheduled_for is not None and e.placement.start != r.scheduled_for:
        moved = [h for h in app.reads.history(r.id) if h.event is Event.RESCHEDULE]
        why = f" ({moved[-1].reason})" if moved else " (placed by the provider)"
        at = r.scheduled_for.isoformat(sep=" ", timespec="minutes")[:16]
        e = attrs.evolve(e, lines=(*e.lines, f"  the provider set {at} UTC{why}"))
    return e


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
        for t in members:
            draft = RequestDraft(t.id, tgt, v, False, None)
            ctx = PolicyContext.build(
                contact=provider, tenant=t, draft=draft, catalog=catalog, preset=app.preset,
                now=now, open_requests=uow.open_version_updates(t.id, tgt),
            )  # fmt: skip
            for policy in _GROUP_RULES:
                for refusal in policy(ctx).refusals:
                    refusals.append(attrs.evolve(refusal, message=f"{t.name}: {refusal.message}"))
        if refusals:
            # Each rule once per message; a catalog refusal is the same for every member.
            raise RequestRefused(list(dict.fromkeys(refusals)))
        demand = Demand(
            plan_id, tuple(t.id for t in members), max(earliest, now), app.preset.default_zone,
            f"{group.name} {v}",
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
            new, cs = changes.booked(
                app, r, t, [c for c in contacts if c.sees(t.id)], by=by, date=p.start,
                reason=f"group update of {group.name} (R10), plan {plan_id}",
            )  # fmt: skip
            made.append(new)
            parts.append(cs)
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
