"""Engine reports: what an engine tells the library about a run, and a run's status.

:func:`report` is how the engine tells the library what became of a run:
``started`` (In Progress), ``completed``, ``failed`` (Unable to Complete, with
the reason the contact reads) or ``needs-input`` (Pending Input, with the
question). Each report carries the run's **fencing token** and goes through
:func:`siteupdates.app.provider.act` with the lease as its fence: a report of
an attempt that was taken over is refused (:class:`~siteupdates.errors.StaleReport`)
and a report repeated by the same attempt is ignored, so nothing is applied
twice. :func:`heartbeat` keeps the lease of a long run alive; :func:`status`
and :func:`cancel` are the provider's view of a run and its way to stop one.
The values exchanged are in :mod:`siteupdates.runs`; everything here is
exported by :mod:`siteupdates.app.executors` too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional, Tuple

from siteupdates import logs
from siteupdates.domain import Event, HistoryEntry, ProviderPreset, Status, UpdateRequest
from siteupdates.domain.timeutil import require_aware
from siteupdates.errors import (
    InvalidInput,
    LeaseLost,
    SiteUpdatesError,
    StaleReport,
    TransitionNotAllowed,
)
from siteupdates.ports import Claim, Fence
from siteupdates.runs import Outcome, Report, Run

from . import provider
from .bootstrap import App

__all__ = ["cancel", "deadline_for", "heartbeat", "report", "run_for", "status"]

logger = logs.logger("siteupdates.executors")

_EVENT = {
    Outcome.STARTED: Event.START,
    Outcome.COMPLETED: Event.COMPLETE,
    Outcome.FAILED: Event.FAIL,
    Outcome.NEEDS_INPUT: Event.ASK_INPUT,
}


def deadline_for(preset: ProviderPreset, at: datetime) -> datetime:
    """When a run starting at ``at`` must be finished: the close of the window it is in.

    A run outside every window (a provider's override, or one taken over after
    its window closed) gets the preset's ``update_duration`` from ``at``.
    """
    at = require_aware("at", at)
    # A recurring window past its effective range has no next occurrence.
    found = [w.next_occurrence(at) for w in preset.windows]
    closes = [c for o, c in (f for f in found if f is not None) if o <= at]
    return max(closes) if closes else at + preset.update_duration


def run_for(app: App, claim: Claim, lease_seconds: float) -> Run:
    """The run of a fresh claim."""
    return Run(
        request=claim.request,
        fencing_token=claim.lease.attempts,
        owner=claim.lease.worker,
        deadline=deadline_for(app.preset, app.now()),
        lease_seconds=float(lease_seconds),
    )


# -- reports -------------------------------------------------------------------------


def _token(value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(
            f"a fencing token is the whole number (1 or more) the run was given, not {value!r}",
            value,
        )
    return value


_CLAIMS = (Event.PULL, Event.RECLAIM)


def _reporter(owner: str, token: int) -> str:
    """Who a report is by, in the history: the lease's owner and the token."""
    return f"{owner}#{token}"


def _by_token(entry: HistoryEntry) -> Optional[int]:
    owner, sep, token = entry.by.rpartition("#")
    return int(token) if sep and owner and token.isdigit() else None


def _reported(app: App, run_id: str, token: int, event: Event) -> bool:
    """Whether the run with ``token`` already reported ``event`` and is still the newest.

    A start counts as reported once the run reported anything. A run whose
    request was claimed again after its last report is not repeating: it is stale.
    """
    hist = app.reads.history(run_id)
    mine = [i for i, h in enumerate(hist) if _by_token(h) == token]
    if not mine or any(h.event in _CLAIMS for h in hist[mine[-1] + 1 :]):
        return False
    return event is Event.START or any(hist[i].event is event for i in mine)


def _reason(outcome: Outcome, contact_reason: Optional[str]) -> Optional[str]:
    reason = contact_reason.strip() if isinstance(contact_reason, str) else None
    if contact_reason is not None and not isinstance(contact_reason, str):
        raise InvalidInput("contact_reason must be text", contact_reason)
    if outcome in (Outcome.FAILED, Outcome.NEEDS_INPUT) and not reason:
        what = "the reason" if outcome is Outcome.FAILED else "the question"
        raise InvalidInput(
            f"a {outcome.value} report needs {what} the contact reads (contact_reason)",
            contact_reason,
        )
    return reason or None


def report(
    app: App,
    run_id: str,
    fencing_token: object,
    outcome: object,
    *,
    contact_reason: Optional[str] = None,
) -> Report:
    """Record what an engine says about a run, if the run still holds its fencing token.

    ``outcome`` is ``started``, ``completed`` (a run that never said ``started``
    is started and completed), ``failed`` or ``needs-input``; the last two need
    ``contact_reason``, which the contact is told (R20). Every change goes
    through :func:`~siteupdates.app.provider.act` with the run's lease as fence,
    and every outcome but ``started`` ends the lease.

    A report repeated by the same attempt is ignored (``applied`` False). A
    report of an attempt that no longer holds the request raises
    :class:`~siteupdates.errors.StaleReport` and writes nothing. Bad input raises
    InvalidInput or UnknownName; an unknown run raises NotFound.
    """
    out = Outcome.parse(outcome)
    token = _token(fencing_token)
    reason = _reason(out, contact_reason)
    event = _EVENT[out]
    current = provider.find(app, run_id)
    held = app.reads.lease(run_id)
    refusal: Optional[SiteUpdatesError] = None
    if held is not None and held.attempts == token:
        fence = Fence(run_id, held.worker, token)
        by = _reporter(held.worker, token)
        try:
            if out is Outcome.COMPLETED and current.status is Status.NOT_STARTED:
                provider.act(app, run_id, Event.START, by=by, fence=fence)
            new = provider.act(
                app, run_id, event, by=by, reason=reason, fence=fence,
                release=out is not Outcome.STARTED,
            )  # fmt: skip
            return Report(new, applied=True)
        except (LeaseLost, TransitionNotAllowed) as exc:
            refusal = exc
    if _reported(app, run_id, token, event):
        return Report(provider.find(app, run_id), applied=False)
    if isinstance(refusal, TransitionNotAllowed):
        raise refusal
    newest = held.attempts if held is not None else None
    detail = (
        f"the request was taken over (newest token {newest})"
        if newest is not None and newest != token
        else "the run no longer holds the request"
    )
    raise StaleReport(run_id, token, detail)


def heartbeat(app: App, run_id: str, fencing_token: object, *, lease_seconds: float) -> bool:
    """Extend the run's lease by ``lease_seconds`` from now; False when it no longer holds.

    A run renews only the lease it was given: a heartbeat with an old token
    changes nothing, whoever holds the request now.
    """
    token = _token(fencing_token)
    held = app.reads.lease(run_id)
    if held is None or held.attempts != token:
        return False
    until = app.now() + timedelta(seconds=float(lease_seconds))
    return app.storage.renew(Fence(run_id, held.worker, token), until)


# -- status and cancel ---------------------------------------------------------------


def _current_run(app: App, request_id: str) -> Run:
    request = provider.find(app, request_id)
    held = app.reads.lease(request_id)
    if held is None:
        raise InvalidInput(
            f"request {request_id} is not with an executor (it is {request.status.label}); "
            "only Not Started and In Progress requests under a lease have a run",
            request_id,
        )
    return Run(
        request=request,
        fencing_token=held.attempts,
        owner=held.worker,
        deadline=deadline_for(app.preset, app.now()),
        lease_seconds=max((held.expires - app.now()).total_seconds(), 1.0),
    )


def status(app: App, request_id: str) -> Tuple[Run, Optional[str]]:
    """The request's current run and what its engine says of it (None: it cannot tell)."""
    run = _current_run(app, request_id)
    return run, app.host.executor_status(run)


def cancel(app: App, request_id: str, reason: str, *, by: str = "provider") -> UpdateRequest:
    """Stop the request's run: ask the engine to cancel it, then end the run here.

    A run not yet started is put on hold (Deferred); one In Progress becomes
    Unable to Complete. Either way ``reason`` is recorded (and told to the
    contact, R20) and the lease ends, so any later report of the run is refused.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("cancelling a run needs a reason the contact can read", reason)
    run = _current_run(app, request_id)
    if app.host.executor_cancel(run) is None:
        logger.warning("no executor could cancel run %s; ending it here only", run.idempotency_key)
    event = Event.DEFER if run.request.status is Status.NOT_STARTED else Event.FAIL
    fence = Fence(run.id, run.owner, run.fencing_token)
    return provider.act(
        app, run.id, event, by=by, reason=reason.strip(), fence=fence, release=True
    )
