"""Limited deferral by the contact: postpone a Scheduled request."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from siteupdates.domain import (
    Actor,
    Event,
    Status,
    UpdateRequest,
)
from siteupdates.domain.daycount import days_earlier, days_later
from siteupdates.domain.planner import (
    Hold,
)
from siteupdates.domain.policies import Refusal
from siteupdates.errors import InvalidInput, RequestRefused
from siteupdates.ports import Unit

from . import access, changes
from .bootstrap import App
from .slots import (
    one_slot,
    span,
)
from .staged import follow_staging

__all__ = [
    "postpone",
    "postponed_after",
]


def postponed_after(scheduled_for: datetime, days: int, zone: str) -> datetime:
    """Where postponing by ``days`` looks for a slot from: ``days`` calendar days later.

    Calendar days in the request's ``zone``: the same wall time so many dates
    later, whatever clock change lies between (docs/time.md).
    """
    return days_later(scheduled_for, timedelta(days=days), zone)


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
        # The period is calendar days in the request's zone (docs/time.md).
        since = days_earlier(now, rules_.period, r.zone)
        recent = [h for h in used if h.at > since]
        if rules_.per_period is not None and len(recent) >= rules_.per_period:
            limit = (
                f"request {r.short_id} was deferred {len(recent)} time(s) in the last "
                f"{span(rules_.period)}: at most {rules_.per_period} in that period"
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
            after = postponed_after(r.scheduled_for, days, r.zone)
            why = f"deferred by the contact by {days} day{'s' if days != 1 else ''}"
        hold = Hold(after, f"deferral: {why}")
        date = one_slot(app, uow, r, after, (hold,))
        left = "" if rules_.per_request is None else (
            f" ({rules_.per_request - len(used) - 1} of {rules_.per_request} deferrals left)"
        )  # fmt: skip
        new, cs = changes.transition(
            app, uow, r, Event.POSTPONE, actor=Actor.CONTACT, by=who.id, date=date,
            reason=why + left, known=[who],
        )  # fmt: skip
        uow.apply(cs)
        # A staging request postponed: its production at the gate keeps the soak after it.
        follow_staging(app, uow, new, by=who.id)
        return new

    return app.run(use_case)
