"""Updates the provider books: a group's in one slot (R10), the weekly automatic one (R8)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Dict, List, Optional, Sequence, Tuple

import attrs

from siteupdates.domain import (
    OPEN,
    Actor,
    Contact,
    Event,
    PolicyContext,
    RequestDraft,
    Target,
    Tenant,
    UpdateRequest,
    Version,
    superseded_by,
)
from siteupdates.domain import policies as rules
from siteupdates.domain.planner import (
    Demand,
    weekly_window_start,
)
from siteupdates.domain.policies import Refusal
from siteupdates.domain.timeutil import require_aware
from siteupdates.domain.windows import WorkKind
from siteupdates.errors import InvalidInput, NotFound, RequestRefused
from siteupdates.ports import ChangeSet, Unit

from . import changes
from .bootstrap import App
from .slots import (
    Blackouts,
    horizon_of,
    notice_hold,
    plan_demands,
)

__all__ = [
    "cloud_week",
    "group_update",
]

_GROUP_RULES = (
    rules.r3_site_exists,
    rules.r5_latest_pack_only,
    rules.r7_offered_and_not_older,
    rules.r17_newer_version_supersedes,
)


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
    until = horizon_of(app, horizon)
    group = app.reads.group(group_id)
    if group is None:
        raise NotFound("group", group_id)
    blackouts = Blackouts(app, now, until)
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
                    refusals.append(
                        attrs.evolve(
                            refusal, message=f"{t.name}: {refusal.message}", template=None
                        )
                    )
        if refusals:
            # Each rule once per message; a catalog refusal is the same for every member.
            raise RequestRefused(list(dict.fromkeys(refusals)))
        zone = app.preset.default_zone
        # Every member's notice tier holds the one slot: the longest lead wins.
        notice = notice_hold(app.preset, [t.id for t in members], now, zone)
        demand = Demand(
            plan_id, tuple(t.id for t in members), max(earliest, now), zone,
            f"{group.name} {v}", frozenset({WorkKind.VERSION}), (group_id,),
            (notice,) if notice is not None else (),
        )  # fmt: skip
        result = plan_demands(app, uow, [demand], until, members, blackouts)
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
    A tenant whose notice tier that window does not meet is booked in the first
    week's window that does (and keyed by that week).
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
            when, key, note = opens, booking, ""
            notice = notice_hold(app.preset, [t.id], now, window.zone)
            if notice is not None and opens < notice.until:
                # The tenant's notice tier: the first week whose window opens after it.
                later = week_of
                while when < notice.until:
                    later += timedelta(days=7)
                    when, _ = weekly_window_start(window, later)
                key = f"cloud-week:{(later - timedelta(days=later.weekday())).isoformat()}"
                note = f"; {notice.why}"
                if uow.booking(t.id, key) is not None:
                    continue
            if contacts is None:
                contacts = uow.contacts()
            r = UpdateRequest(
                id=app.new_id(), tenant_id=t.id, target=target, version=newest,
                db_refresh=False, preferred_start=when, zone=window.zone, requested_by=by,
                requested_at=now, automatic=True, booking=key,
            )  # fmt: skip
            new, cs = changes.booked(
                app, r, t, [c for c in contacts if c.sees(t.id)], by=by, date=when,
                reason=f"weekly automatic update in the maintenance window ({window}) (R8)"
                + note,
            )  # fmt: skip
            made.append(new)
            parts.append(cs)
        if parts:
            uow.apply(ChangeSet.concat(parts))
        return tuple(made)

    return app.run(use_case)
