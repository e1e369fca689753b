"""Planning use cases: plan the queue, explain a date, preview a changed setup.

The queue and the bookings the plan depends on are read in the transaction that
stores the plan (one unit of work under the planner's lock).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Callable, Dict, List, Optional, Tuple

import attrs

from siteupdates import observe
from siteupdates.domain import (
    Actor,
    Contact,
    Event,
    ProviderPreset,
    Status,
    Target,
    UpdateRequest,
)
from siteupdates.domain.messages import Notice
from siteupdates.domain.planner import (
    Demand,
    Explanation,
    Plan,
)
from siteupdates.domain.timeutil import to_local
from siteupdates.errors import NotFound
from siteupdates.i18n import N_
from siteupdates.ports import ChangeSet, Reads, Unit
from siteupdates.refusal import Phrase

from . import changes
from .bootstrap import App
from .slots import (
    Blackouts,
    demand_of,
    horizon_of,
    label_of,
    label_words,
    local_time,
    occupied_slots,
    plan_demands,
    span,
    stage_link,
)
from .staged import advance_stages, follow_staging

__all__ = [
    "Move",
    "PlanRun",
    "WhatIf",
    "explain",
    "plan_queue",
    "what_if",
]


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
    until = horizon_of(app, horizon)
    blackouts = Blackouts(app, now, until)
    blackouts.fetch(r.tenant_id for r in app.reads.requests_in((Status.TO_BE_SCHEDULED,)))

    def use_case(reads: Reads, uow: Optional[Unit]) -> PlanRun:
        if uow is not None:
            uow.lock("planner")
        queue = reads.requests_in((Status.TO_BE_SCHEDULED,), limit=1_000_000)
        tenants = {t.id: t for t in reads.tenants()}
        ids = {r.id for r in queue}
        found = [
            demand_of(app, reads, r, tenants.get(r.tenant_id), now, queued=ids) for r in queue
        ]
        demands = [d for d in found if d is not None]
        result = plan_demands(app, reads, demands, until, tenants.values(), blackouts)
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
                    f"soak {span(link[1])}; "
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
        # A staging request planned again (after a move): its production at the gate
        # keeps the soak after it, around the slots just stored.
        placed_ids = set(stored)
        for r in queue:
            if r.id in placed_ids and r.target is Target.STAGING:
                placed = uow.request(r.id)
                if placed is not None:
                    follow_staging(app, uow, placed, by=by)
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
    until = horizon_of(app, horizon)
    start = min(r.preferred_start, now)
    tenant = app.reads.tenant(r.tenant_id)
    # The notice was announced when the request was scheduled, not now.
    dated = [h.at for h in app.reads.history(r.id) if h.event is Event.SCHEDULE]
    announced = dated[-1] if dated else now
    demand = demand_of(app, app.reads, r, tenant, announced, earliest=r.preferred_start) or Demand(
        r.id, (r.tenant_id,), r.preferred_start, r.zone, label_of(r), words=label_words(r)
    )
    result = plan_demands(
        app, app.reads, [demand], until, app.reads.tenants(), Blackouts(app, start, until),
        start=start, before=r,
    )  # fmt: skip
    e = result.explain(r.id, sees=sees)
    head = e.lines[0].split(": position ", 1)[0]
    when = local_time(r.preferred_start, r.zone)
    first = e.phrases[0] if e.phrases else None
    # The head keeps the request's ID and label; the rest of the line is new.
    again = (
        None
        if first is None
        else Phrase(
            N_(
                "request %(id)s (%(label)s): %(status)s, not in the queue; "
                "preferred start %(preferred)s"
            )
            if first.params.get("label")
            else N_("request %(id)s: %(status)s, not in the queue; preferred start %(preferred)s"),
            {**first.params, "status": r.status, "preferred": to_local(r.preferred_start, r.zone)},
        )
    )
    e = attrs.evolve(
        e,
        position=None,
        lines=(f"{head}: {r.status.label}, not in the queue; preferred start {when}",
               *e.lines[1:]),
        phrases=(again, *e.phrases[1:]),
    )  # fmt: skip
    if r.scheduled_for is not None and e.placement.start != r.scheduled_for:
        moved = [
            h for h in app.reads.history(r.id)
            if h.event in (Event.RESCHEDULE, Event.FOLLOW_STAGING)
        ]  # fmt: skip
        why = f" ({moved[-1].reason})" if moved else " (placed by the provider)"
        reason = Phrase(str(moved[-1].reason)) if moved else Phrase(N_("placed by the provider"))
        e = attrs.evolve(
            e,
            lines=(*e.lines, f"  the provider set {local_time(r.scheduled_for, r.zone)}{why}"),
            phrases=(
                *e.phrases,
                Phrase(
                    N_("the provider set %(when)s (%(why)s)"),
                    {"when": to_local(r.scheduled_for, r.zone), "why": reason},
                ),
            ),
        )
    return e


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
    until = horizon_of(app, horizon)
    reads = app.reads
    today = plan_queue(app, horizon=until, dry_run=True)
    queue = sorted(
        reads.requests_in((Status.TO_BE_SCHEDULED, Status.SCHEDULED), limit=1_000_000),
        key=lambda r: (r.requested_at, r.id),
    )
    tenants = {t.id: t for t in reads.tenants()}
    ids = {r.id for r in queue}
    found = [
        demand_of(app, reads, r, tenants.get(r.tenant_id), now, queued=ids, preset=preset)
        for r in queue
    ]
    demands = [d for d in found if d is not None]
    blackouts = Blackouts(app, now, until, preset)
    # Work already begun, and production at its gate, keep their slots.
    kept = occupied_slots(app, reads, without=ids, preset=preset)
    result = plan_demands(app, reads, demands, until, tenants.values(), blackouts,
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
