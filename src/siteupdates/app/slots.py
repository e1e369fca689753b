"""The planner on stored state, shared by the scheduling use cases.

These helpers run the pure planner (:mod:`siteupdates.domain.planner`) on what the
storage holds: the demands of stored requests, the slots already held, the
blackouts from plugins (fetched before a unit of work opens, never while it holds
its locks; the provider's own come with its preset), and the first free slot of
one request. The links of staged production to its staging request live here too,
because planning holds production the soak after staging.

Staging, then production: one submit makes two requests. The production one
names its staging request and soak in its booking (``stage:ID:MINUTES``), so the
store's one-request-per-booking index links them without a new column.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import attrs

from siteupdates.domain import (
    BOOKED,
    Event,
    ProviderPreset,
    ScheduledTask,
    Status,
    Tenant,
    UpdateRequest,
)
from siteupdates.domain.daycount import days_later
from siteupdates.domain.planner import (
    Demand,
    Hold,
    Occupied,
    Plan,
    plan,
)
from siteupdates.domain.policies import Refusal
from siteupdates.domain.timeutil import require_aware, to_local
from siteupdates.domain.views import format_clock, format_day
from siteupdates.domain.windows import Blackout, WorkKind
from siteupdates.errors import InvalidInput, RequestRefused
from siteupdates.i18n import N_
from siteupdates.ports import Reads
from siteupdates.refusal import Phrase

from .bootstrap import App

__all__ = [
    "Blackouts",
    "completed_at",
    "STAGE",
    "STAGED",
    "demand_of",
    "horizon_of",
    "label_of",
    "label_words",
    "local_time",
    "notice_hold",
    "occupied_slots",
    "one_slot",
    "plan_demands",
    "slot_holders",
    "soak_link",
    "span",
    "span_words",
    "stage_link",
    "staging_end",
]

#: The booking prefix of a production request that waits on its staging request
#: (its gate: Pending Input until approved).
STAGE = "stage:"
#: The booking prefix of staged production once approved: past its gate, but the
#: soak after staging still holds if it is planned again (moved, deferred).
STAGED = "staged:"


def label_of(r: UpdateRequest) -> str:
    """How the planner names ``r`` in its explanations: tenant, target, version."""
    what = str(r.version) if r.version is not None else "DB refresh"
    return f"{r.tenant_id} {r.target.value} {what}"


def label_words(r: UpdateRequest) -> Phrase:
    """:func:`label_of` as a phrase another language can write (target and refresh as words)."""
    what: object = str(r.version) if r.version is not None else Phrase(N_("DB refresh"))
    return Phrase(
        N_("%(tenant)s %(target)s %(what)s"),
        {"tenant": r.tenant_id, "target": r.target, "what": what},
    )


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


def slot_holders(reads: Reads) -> List[UpdateRequest]:
    """Requests holding a slot: booked ones, and Pending Input ones that keep their date.

    A question keeps a Scheduled request's date (the answer returns it there),
    and staged production waits at its gate in Pending Input with its date: both
    keep their slot meanwhile.
    """
    booked = reads.requests_in(tuple(BOOKED), limit=1_000_000)
    waiting = reads.requests_in((Status.PENDING_INPUT,), limit=1_000_000)
    return booked + [r for r in waiting if r.scheduled_for is not None]


def occupied_slots(
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
        for r in slot_holders(reads)
        if r.scheduled_for is not None
        and r.id not in skip
        and (before is None or (r.requested_at, r.id) < (before.requested_at, before.id))
    ]


class Blackouts:
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
        """Every blackout found so far, after fetching those of ``tenants`` not yet seen."""
        for t in sorted(set(tenants) - self.seen):
            self.seen.add(t)
            self.found.extend(
                b for b in self.app.host.blackouts(t, self.start, self.end) if b.applies_to(t)
            )
        return self.found


def _tasks(tenants: Iterable[Tenant]) -> Dict[str, Tuple[ScheduledTask, ...]]:
    return {t.id: t.tasks for t in tenants if t.tasks}


def plan_demands(
    app: App,
    reads: Reads,
    demands: Sequence[Demand],
    horizon: datetime,
    tenants: Iterable[Tenant],
    blackouts: Blackouts,
    *,
    start: Optional[datetime] = None,
    before: Optional[UpdateRequest] = None,
    occupied: Optional[List[Occupied]] = None,
    preset: Optional[ProviderPreset] = None,
) -> Plan:
    """Plan ``demands`` under the preset (``app``'s or ``preset``) around the slots held."""
    setup = preset or app.preset
    return plan(
        demands,
        windows=setup.windows,
        capacity=setup.capacity,
        slot_length=setup.update_duration,
        horizon=horizon,
        start=start or app.now(),
        blackouts=blackouts.fetch(t for d in demands for t in d.tenants),
        occupied=occupied_slots(app, reads, before=before, preset=setup)
        if occupied is None
        else occupied,
        tasks=_tasks(tenants),
    )


def span(length: timedelta) -> str:
    """A length in words: ``14 days``, ``36 hours``."""
    hours = int(length.total_seconds() // 3600)
    if hours % 24 == 0:
        return f"{hours // 24} day{'s' if hours != 24 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


def span_words(length: timedelta) -> Phrase:
    """:func:`span` as a phrase another language can write."""
    hours = int(length.total_seconds() // 3600)
    if hours % 24 == 0:
        n = hours // 24
        return Phrase(N_("%(n)s day") if n == 1 else N_("%(n)s days"), {"n": n})
    return Phrase(N_("%(n)s hour") if hours == 1 else N_("%(n)s hours"), {"n": hours})


def demand_of(
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
    notice = notice_hold(setup, [r.tenant_id], now, zone)
    if notice is not None and r.version is not None:
        held.append(notice)
    link = soak_link(r)
    if link is not None:
        staging_id, soak = link
        why = f"soak: production waits {span(soak)} after staging (request {staging_id[:12]})"
        words = Phrase(
            N_("soak: production waits %(span)s after staging (request %(id)s)"),
            {"span": span_words(soak), "id": staging_id[:12]},
        )
        if staging_id in set(queued):
            held.append(Hold(now, why, after=staging_id, gap=soak, words=words))
        else:
            staging = reads.request(staging_id)
            ended = None if staging is None else staging_end(reads, staging, now, setup)
            if ended is None:
                return None  # staging is not planned (or failed): nothing to soak after yet
            held.append(Hold(ended + soak, why, words=words))
    return Demand(
        r.id, (r.tenant_id,), earliest or max(r.preferred_start, now), zone, label_of(r),
        frozenset(kinds), (tenant.group_id,) if tenant and tenant.group_id else (), tuple(held),
        words=label_words(r),
    )  # fmt: skip


def notice_hold(
    setup: ProviderPreset, tenant_ids: Iterable[str], now: datetime, zone: str
) -> Optional[Hold]:
    """The advance notice a version update of these tenants needs, announced ``now``.

    The longest lead among the tenants' notice tiers, counted in calendar days in
    ``zone`` (docs/time.md); None when none of them has a tier.
    """
    tiers = [x for x in map(setup.scheduling.notice.tier_of, tenant_ids) if x is not None]
    if not tiers:
        return None
    name, lead = max(tiers, key=lambda x: x[1])
    until = days_later(now, lead, zone)
    when = f"{format_day(until, zone)} {format_clock(until, zone)}"
    words = Phrase(
        N_("notice tier %(name)s: booked at least %(span)s after it is announced (from %(when)s)"),
        {"name": repr(name), "span": span_words(lead), "when": to_local(until, zone)},
    )
    return Hold(until, f"notice tier {name!r}: booked at least {span(lead)} after it is "
                       f"announced (from {when})", words=words)  # fmt: skip


def staging_end(
    reads: Reads, staging: UpdateRequest, now: datetime, setup: ProviderPreset
) -> Optional[datetime]:
    """When ``staging`` ended, or will: the instant its production's soak counts from.

    Measured from what happened: its completion if it completed, else the end of
    its slot, or now if it runs (or waits) past that end. None when it has no
    slot (not planned, failed, withdrawn): there is nothing to soak after yet.
    """
    if staging.scheduled_for is None or staging.status not in (BOOKED | {Status.COMPLETED}):
        return None
    ended = staging.scheduled_for + setup.update_duration
    if staging.status is Status.COMPLETED:
        return completed_at(reads, staging.id) or ended
    if staging.status is not Status.SCHEDULED:
        return max(ended, now)
    return ended


def completed_at(reads: Reads, request_id: str) -> Optional[datetime]:
    """When the request last completed (its history's last ``complete``), or None."""
    done = [h.at for h in reads.history(request_id) if h.event is Event.COMPLETE]
    return done[-1] if done else None


def horizon_of(app: App, horizon: Optional[datetime]) -> datetime:
    """The planning horizon: ``horizon`` (aware), or 180 days from now."""
    return require_aware("horizon", horizon or app.now() + timedelta(days=180))


def one_slot(
    app: App, reads: Reads, r: UpdateRequest, earliest: datetime, holds: Sequence[Hold]
) -> datetime:
    """The first free slot for ``r`` alone from ``earliest``, around every booking but its own."""
    now = app.now()
    until = max(earliest, now) + timedelta(days=180)
    tenant = reads.tenant(r.tenant_id)
    blackouts = Blackouts(app, now, until)
    d = demand_of(app, reads, r, tenant, now, earliest=earliest, holds=holds)
    if d is None:
        raise InvalidInput(f"request {r.short_id} cannot be planned yet", r.id)
    d = attrs.evolve(d, holds=tuple(h for h in d.holds if not h.why.startswith("notice tier")))
    result = plan_demands(
        app, reads, [d], until, [tenant] if tenant else [], blackouts, start=min(earliest, now),
        occupied=occupied_slots(app, reads, without=[r.id]),
    )  # fmt: skip
    p = result.placements[r.id]
    if p.start is None:
        raise RequestRefused(
            [Refusal("R13", f"no free slot for request {r.short_id}: {p.reason}")]
        )
    return p.start


def local_time(instant: datetime, zone: str) -> str:
    """``instant`` as day and clock time in ``zone``."""
    return f"{format_day(instant, zone)} {format_clock(instant, zone)}"
