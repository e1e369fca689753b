"""Scheduling use cases: plan the queue, explain a date, group and cloud updates.

These run the pure planner (:mod:`siteupdates.domain.planner`) on what the
storage holds and store its result through the desk, one unit of work per
batch. They are reached as methods of :class:`~siteupdates.service.Desk`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import attrs

from siteupdates.domain import (
    Actor,
    Event,
    Status,
    Target,
    Tenant,
    UpdateRequest,
    Version,
    apply_event,
    submitted,
)
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
from siteupdates.errors import ConflictError, InvalidInput, NotFound, RequestRefused
from siteupdates.ports import ChangeSet

if TYPE_CHECKING:
    from siteupdates.service import Desk

__all__ = ["PlanRun", "cloud_week", "explain", "group_update", "plan_queue"]

_BOOKED = (Status.SCHEDULED, Status.NOT_STARTED, Status.IN_PROGRESS)


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


def _occupied(desk: Desk, *, before: Optional[UpdateRequest] = None) -> List[Occupied]:
    """The booked updates; with ``before``, only those submitted earlier than it."""
    booked = desk.storage.requests_in(_BOOKED, limit=1_000_000)
    length = desk.preset.update_duration
    return [
        Occupied(r.id, (r.tenant_id,), r.scheduled_for, r.scheduled_for + length)
        for r in booked
        if r.scheduled_for is not None
        and (before is None or (r.requested_at, r.id) < (before.requested_at, before.id))
    ]


def _blackouts(
    desk: Desk, tenants: Sequence[str], start: datetime, end: datetime
) -> List[Blackout]:
    found = list(desk.host.blackouts(None, start, end))
    for t in sorted(set(tenants)):
        found.extend(b for b in desk.host.blackouts(t, start, end) if b.applies_to(t))
    return found


def _run(
    desk: Desk, demands: Sequence[Demand], horizon: datetime, tenants: Dict[str, Tenant]
) -> Plan:
    now = desk.now()
    ids = [t for d in demands for t in d.tenants]
    return plan(
        demands,
        windows=desk.preset.windows,
        capacity=desk.preset.capacity,
        slot_length=desk.preset.update_duration,
        horizon=horizon,
        start=now,
        blackouts=_blackouts(desk, ids, now, horizon),
        occupied=_occupied(desk),
        tasks={t.id: t.tasks for t in tenants.values() if t.tasks},
    )


def plan_queue(
    desk: Desk, *, horizon: Optional[datetime] = None, dry_run: bool = False, by: str = "planner"
) -> PlanRun:
    """Plan every To Be Scheduled request, first come first served (R13).

    Stored, each placed request becomes Scheduled with its slot, its history
    keeps the plan's explanation in short, and the contact is told (R20), with
    the difference from the date asked for. ``dry_run`` stores nothing.
    """
    now = desk.now()
    horizon = require_aware("horizon", horizon or now + timedelta(days=180))
    queue = desk.queue(limit=1_000_000)
    tenants = {t.id: t for t in desk.storage.tenants()}
    demands = [
        Demand(r.id, (r.tenant_id,), max(r.preferred_start, now), r.zone, _label(r)) for r in queue
    ]
    result = _run(desk, demands, horizon, tenants)
    if dry_run:
        return PlanRun(result, tuple(queue))
    changes: List[Tuple[UpdateRequest, ChangeSet]] = []
    for r in queue:
        p = result.placements[r.id]
        if p.start is None:
            continue
        passed = result.passed_over_count(r.id)
        note = f"planned first come, first served: position {p.position}"
        if passed:
            note += f", {passed} earlier slot{'s' if passed != 1 else ''} passed over"
        _, cs = desk._transition(r, Event.SCHEDULE, Actor.PROVIDER, by, reason=note, date=p.start)
        if p.warnings:
            new = cs.updates[0][0]
            new = attrs.evolve(new, warnings=tuple(dict.fromkeys(new.warnings + p.warnings)))
            cs = attrs.evolve(cs, updates=((new, r.revision),))
        changes.append((r, cs))
    stored: List[str] = []
    conflicts: List[str] = []
    batch = ChangeSet()
    for _, cs in changes:
        batch = batch + cs
    try:
        desk.storage.apply(batch)  # one transaction for the whole plan, the common case
        stored = [r.id for r, _ in changes]
    except ConflictError:
        # Someone changed a request meanwhile: store the rest one by one.
        for r, cs in changes:
            try:
                desk.storage.apply(cs)
                stored.append(r.id)
            except ConflictError:
                conflicts.append(r.id)
    return PlanRun(result, tuple(queue), tuple(stored), tuple(conflicts))


def explain(desk: Desk, request_id: str, *, horizon: Optional[datetime] = None) -> Explanation:
    """Why a request has (or would get) its date.

    For a request still To Be Scheduled this is the dry-run plan's explanation;
    for one already booked, the plan is made again as if it were still queued
    behind the same earlier requests.
    """
    r = desk._request(request_id)
    if r.status is Status.TO_BE_SCHEDULED:
        return plan_queue(desk, horizon=horizon, dry_run=True).explain(request_id)
    now = desk.now()
    horizon = require_aware("horizon", horizon or now + timedelta(days=180))
    tenants = {t.id: t for t in desk.storage.tenants()}
    demand = Demand(r.id, (r.tenant_id,), r.preferred_start, r.zone, _label(r))
    result = plan(
        [demand],
        windows=desk.preset.windows,
        capacity=desk.preset.capacity,
        slot_length=desk.preset.update_duration,
        horizon=horizon,
        start=min(r.preferred_start, now),
        blackouts=_blackouts(desk, [r.tenant_id], min(r.preferred_start, now), horizon),
        occupied=_occupied(desk, before=r),
        tasks={t.id: t.tasks for t in tenants.values() if t.tasks},
    )
    e = result.explain(r.id)
    if r.scheduled_for is not None and e.placement.start != r.scheduled_for:
        moved = [h for h in desk.storage.history(r.id) if h.event is Event.RESCHEDULE]
        why = f" ({moved[-1].reason})" if moved else " (placed by the provider)"
        e = attrs.evolve(
            e, lines=(*e.lines, f"  the provider set {r.scheduled_for:%Y-%m-%d %H:%M} UTC{why}")
        )
    return e


def group_update(
    desk: Desk,
    group_id: str,
    target: str,
    version: str,
    *,
    earliest: datetime,
    horizon: Optional[datetime] = None,
    by: str = "provider",
) -> Tuple[UpdateRequest, ...]:
    """Plan one version update for every tenant of a group, in one slot (R10).

    The slot is one in which every member is free; the update fans out to one
    Scheduled request per member, linked by ``group_plan_id``, each with its own
    status from then on.
    """
    group = desk.storage.group(group_id)
    if group is None:
        raise NotFound("group", group_id)
    tgt = Target.parse(target)
    v = Version.parse(version)
    members = [t for t in desk.storage.tenants() if t.group_id == group_id]
    if not members:
        raise InvalidInput(f"group {group_id!r} has no tenants", group_id)
    catalog = desk.storage.catalog()
    refusals: List[Refusal] = []
    latest = catalog.latest_pack(v)
    if not catalog.offers(v):
        refusals.append(Refusal("R7", f"{v} is not offered"))
    elif latest is not None and latest != v:
        refusals.append(
            Refusal(
                "R5",
                f"choose {latest}, the most recent update of {v.line}.{v.release}",
                str(latest),
            )
        )
    for t in members:
        site = t.site(tgt.main_site)
        if site is None:
            refusals.append(Refusal("R3", f"{t.name} has no {tgt.main_site.value} site"))
        elif site.version.line == v.line and site.version >= v:
            refusals.append(Refusal("R7", f"{t.name} already runs {site.version}"))
    if refusals:
        raise RequestRefused(refusals)
    now = desk.now()
    earliest = require_aware("earliest", earliest)
    horizon = require_aware("horizon", horizon or now + timedelta(days=180))
    plan_id = f"group-{uuid.uuid4().hex[:8]}"
    demand = Demand(
        plan_id,
        tuple(t.id for t in members),
        max(earliest, now),
        desk.preset.default_zone,
        f"{group.name} {v}",
    )
    result = _run(desk, [demand], horizon, {t.id: t for t in members})
    p = result.placements[plan_id]
    if p.start is None:
        raise RequestRefused(
            [Refusal("R10", f"no slot where every tenant of {group.name} is free: {p.reason}")]
        )
    made: List[UpdateRequest] = []
    cs = ChangeSet()
    audience = desk.storage.contacts()
    for t in members:
        r = UpdateRequest(
            id=desk.new_id(), tenant_id=t.id, target=tgt, version=v, db_refresh=False,
            preferred_start=p.start, zone=desk.preset.default_zone, requested_by=by,
            requested_at=now, group_plan_id=plan_id,
        )  # fmt: skip
        first = attrs.evolve(submitted(r), actor=Actor.PROVIDER)
        booked, entry = apply_event(
            r, Event.SCHEDULE, actor=Actor.PROVIDER, by=by, at=now, date=p.start,
            reason=f"group update of {group.name} (R10), plan {plan_id}",
        )  # fmt: skip
        cs = cs + ChangeSet(
            inserts=(r,),
            updates=(),
            history=(first, entry),
            outbox=desk._messages(booked, entry, t, audience),
        )
        made.append(booked)
    # The inserted rows carry revision 1; write the booked state in the same unit.
    cs = attrs.evolve(cs, inserts=tuple(made))
    desk.storage.apply(cs)
    return tuple(made)


def cloud_week(desk: Desk, week_of: date, *, by: str = "provider") -> Tuple[UpdateRequest, ...]:
    """Book the weekly automatic update of every tenant whose plan has one (R8).

    Each such tenant whose production runs an older version than the newest of
    its line gets a Scheduled production/sandbox request in the maintenance
    window of the week containing ``week_of``. Tenants already booked for that
    version are skipped, so running it twice books nothing twice.
    """
    window = desk.preset.maintenance_window
    opens, _ = weekly_window_start(window, week_of)
    now = desk.now()
    catalog = desk.storage.catalog()
    made: List[UpdateRequest] = []
    cs = ChangeSet()
    audience = desk.storage.contacts()
    for t in desk.storage.tenants():
        if not desk.preset.rules_for(t.plan).automatic_weekly_update:
            continue
        prod = t.site(Target.PRODUCTION_SANDBOX.main_site)
        newest = catalog.newest(prod.version.line) if prod else None
        if prod is None or newest is None or newest <= prod.version:
            continue
        open_ = desk.storage.requests_for(
            t.id, statuses=(*_BOOKED, Status.TO_BE_SCHEDULED), limit=1000
        )
        if any(r.automatic and r.version == newest for r in open_.items):
            continue
        r = UpdateRequest(
            id=desk.new_id(), tenant_id=t.id, target=Target.PRODUCTION_SANDBOX, version=newest,
            db_refresh=False, preferred_start=opens, zone=window.zone, requested_by=by,
            requested_at=now, automatic=True,
        )  # fmt: skip
        first = attrs.evolve(submitted(r), actor=Actor.PROVIDER)
        booked, entry = apply_event(
            r, Event.SCHEDULE, actor=Actor.PROVIDER, by=by, at=now, date=opens,
            reason=f"weekly automatic update in the maintenance window ({window}) (R8)",
        )  # fmt: skip
        cs = cs + ChangeSet(
            inserts=(booked,),
            history=(first, entry),
            outbox=desk._messages(booked, entry, t, audience),
        )
        made.append(booked)
    if made:
        desk.storage.apply(cs)
    return tuple(made)
