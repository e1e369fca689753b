"""Staging, then production: submit both, the contact's gate, and moving past it.

Planned, production is scheduled at least the soak after staging's slot and then
waits in Pending Input (the gate): it keeps its slot, and no worker claims it,
until the contact approves (or, with ``auto_approve``, the soak after staging's
completion passes); if staging fails or the contact declines, it is withdrawn.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, List, Optional, Tuple

import attrs

from siteupdates.domain import (
    Actor,
    Ambiguity,
    Event,
    PolicyContext,
    RequestDraft,
    Status,
    Target,
    UpdateRequest,
    check_submission,
    submitted,
)
from siteupdates.domain import policies as rules
from siteupdates.domain.planner import Hold
from siteupdates.domain.policies import Refusal
from siteupdates.errors import AccessDenied, InvalidInput, RequestRefused
from siteupdates.ports import ChangeSet, Unit

from . import access, changes
from .bootstrap import App
from .slots import (
    STAGE,
    STAGED,
    completed_at,
    local_time,
    one_slot,
    span,
    stage_link,
    staging_end,
)

__all__ = [
    "StagedSubmission",
    "advance_stages",
    "FOLLOWED",
    "confirm_stage",
    "follow_staging",
    "refuse_answer_at_gate",
    "submit_staged",
]


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


#: Staging ended without the update: its production is released.
_STAGING_GONE = frozenset(
    {Status.UNABLE_TO_COMPLETE, Status.CANCELLED, Status.NEW_VERSION_REQUESTED, Status.DELETED}
)


def _keep_or_replan(app: App, uow: Unit, r: UpdateRequest, after: datetime) -> datetime:
    """``r``'s slot if it still lies ahead, else the first free slot after ``after``."""
    if r.scheduled_for is not None and r.scheduled_for >= after:
        return r.scheduled_for
    return one_slot(app, uow, r, after, ())


def _after_the_soak(
    app: App, uow: Unit, r: UpdateRequest, staging: UpdateRequest, soak: timedelta, now: datetime
) -> Tuple[datetime, str]:
    """Production's date at approval: at least ``soak`` after staging actually completed.

    Its slot stays if it lies after both now and staging's completion plus the
    soak; else it moves to the first free slot from there, and the reason says why.
    """
    done = completed_at(uow, staging.id)
    after = max(now, done + soak) if done is not None else now
    date = _keep_or_replan(app, uow, r, after)
    if date == r.scheduled_for or done is None:
        return date, ""
    return date, (
        f"; moved to {local_time(date, r.zone)}: staging completed "
        f"{local_time(done, r.zone)} and production waits {span(soak)} after it"
    )


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
        now = app.now()
        date, why = _after_the_soak(app, uow, r, staging, link[1], now)
        new, cs = _through_the_gate(r, *changes.transition(
            app, uow, r, Event.APPROVE, actor=Actor.CONTACT, by=who.id, date=date,
            reason=(reason or "the contact approved production after staging") + why,
            known=[who],
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
                done = completed_at(uow, staging.id) or now
                if now < done + link[1]:
                    return None
                date, why = _after_the_soak(app, uow, r, staging, link[1], now)
                new, cs = _through_the_gate(r, *changes.transition(
                    app, uow, r, Event.APPROVE, actor=Actor.PROVIDER, by=by, date=date,
                    reason=f"staging completed and soaked {span(link[1])}: approved "
                    "automatically (provider setting)" + why,
                ))  # fmt: skip
            else:
                return None
            uow.apply(cs)
            return new

        done = app.run(use_case)
        if done is not None:
            moved.append(done)
    return tuple(moved)


#: The events of a staging request after which its production at the gate is
#: checked again: staging got a (new) date, or completed.
FOLLOWED = frozenset({Event.SCHEDULE, Event.RESCHEDULE, Event.POSTPONE, Event.COMPLETE})


def follow_staging(
    app: App, uow: Unit, staging: UpdateRequest, *, by: str
) -> Optional[UpdateRequest]:
    """Move staging's production at its gate when it no longer starts the soak after staging.

    Call it in the unit of work that applied a change of ``staging`` (a new date,
    or its completion), after applying it. Production waiting at its gate keeps
    its slot when that still lies at least the soak after staging's end (its
    completion, else the end of its slot); otherwise it moves, still at the
    gate, to the first free slot from there (never earlier), in the same unit,
    and its contact is told (``production-moved``). Returns the moved
    production, or None when nothing moved.
    """
    if staging.target is not Target.STAGING or staging.version is None:
        return None  # staged submissions are version updates: a refresh has no production
    now = app.now()
    ended = staging_end(uow, staging, now, app.preset)
    if ended is None:
        return None
    for p in uow.open_version_updates(staging.tenant_id, Target.PRODUCTION_SANDBOX):
        link = stage_link(p)
        if link is None or link[0] != staging.id or p.status is not Status.PENDING_INPUT:
            continue
        if p.scheduled_for is None or p.scheduled_for >= ended + link[1]:
            return None
        # One planner at a time books slots: the slot found stays free until commit.
        uow.lock("planner")
        what = "completed" if staging.status is Status.COMPLETED else "now ends"
        why = (
            f"staging (request {staging.short_id}) {what} {local_time(ended, p.zone)}: "
            f"production waits {span(link[1])} after it"
        )
        date = one_slot(app, uow, p, ended + link[1], (Hold(ended + link[1], f"soak: {why}"),))
        new, cs = changes.transition(
            app, uow, p, Event.FOLLOW_STAGING, actor=Actor.PROVIDER, by=by, date=date,
            reason=why,
        )  # fmt: skip
        uow.apply(cs)
        return new
    return None
