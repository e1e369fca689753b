"""The engine side of a run, for Python engines: :func:`execute` and :class:`LocalExecutor`.

:func:`execute` reports ``started`` (the gate: a second delivery of the same
run stops there), renews the lease while the runbook works, and reports the
outcome. :class:`LocalExecutor` is the reference executor: it runs each run in
the dispatcher's own process through the ``siteupdates_perform_update`` hook,
by the same reports as any other engine. Exported by
:mod:`siteupdates.app.executors` too.
"""

from __future__ import annotations

import threading
from typing import Callable, Optional

from siteupdates import logs
from siteupdates.errors import (
    ConflictError,
    SiteUpdatesError,
    StaleReport,
    TransitionNotAllowed,
    UpdateFailed,
)
from siteupdates.hookspecs import hookimpl
from siteupdates.leases import LeaseKeeper
from siteupdates.ports import Fence
from siteupdates.runs import GENERIC_REASON, Execution, ExecutionResult, Outcome, Run, Ticket

from . import provider
from .bootstrap import App
from .reports import heartbeat, report

__all__ = ["LocalExecutor", "execute", "generic_reason"]

logger = logs.logger("siteupdates.executors")


class _Heartbeat(LeaseKeeper):
    """Renews a run's lease every third of its length until stopped, or until it is lost."""

    def __init__(self, app: App, ticket: Ticket) -> None:
        self.app = app
        self.ticket = ticket
        self.lost = threading.Event()
        super().__init__(ticket.lease_seconds, "siteupdates-run")

    def renew_round(self) -> bool:
        """One heartbeat; False (and ``lost`` set) once the run's lease is gone."""
        t = self.ticket
        try:
            alive = heartbeat(self.app, t.run_id, t.fencing_token, lease_seconds=t.lease_seconds)
        except SiteUpdatesError as exc:  # a storage hiccup: try again next beat
            logger.warning("heartbeat of run %s failed: %s", t.run_id, exc)
            return True
        if not alive:
            self.lost.set()
        return alive


def generic_reason(exc: BaseException) -> str:
    """The contact's reason for a runbook's exception: its own for UpdateFailed, else generic."""
    if isinstance(exc, UpdateFailed):
        return exc.reason
    return GENERIC_REASON


def execute(
    app: App,
    ticket: Ticket,
    runbook: Callable[[Ticket], object],
    *,
    reason_of: Callable[[BaseException], str] = generic_reason,
) -> Execution:
    """Run ``runbook`` for ``ticket`` under its fencing token: the engine side of a run.

    Reports ``started`` first; when that is ignored (another delivery of the
    same run started it) or refused (the run was taken over), the runbook is not
    run. While it runs, the lease is renewed with the ticket's token only. Then
    reports ``completed``; or ``failed`` with ``reason_of(exc)`` when it raised
    (:class:`~siteupdates.errors.UpdateFailed` carries the contact's reason); or
    ``needs-input`` when it raised :class:`~siteupdates.errors.NeedsInput`.
    """
    try:
        began = report(app, ticket.run_id, ticket.fencing_token, Outcome.STARTED)
    except (StaleReport, TransitionNotAllowed):
        return Execution(ExecutionResult.STALE, ran=False)
    if not began.applied:
        return Execution(ExecutionResult.DUPLICATE, ran=False)
    # The lease was sized for the wait in the engine's queue: renew it for the
    # work now, and give up if it was taken over just as the run started.
    if not heartbeat(app, ticket.run_id, ticket.fencing_token, lease_seconds=ticket.lease_seconds):
        return Execution(ExecutionResult.STALE, ran=False)
    outcome, reason = Outcome.COMPLETED, None
    with _Heartbeat(app, ticket):
        try:
            runbook(ticket)
        except UpdateFailed as exc:
            if exc.ask:  # NeedsInput, or UpdateFailed(..., ask=True): a question
                outcome, reason = Outcome.NEEDS_INPUT, exc.reason
            else:
                outcome, reason = Outcome.FAILED, exc.reason
        except Exception as exc:
            logger.warning("run %s failed: %r", ticket.run_id, exc)
            outcome, reason = Outcome.FAILED, reason_of(exc) or GENERIC_REASON
    try:
        report(app, ticket.run_id, ticket.fencing_token, outcome, contact_reason=reason)
    except (StaleReport, ConflictError, TransitionNotAllowed) as exc:
        logger.warning("run %s ended but its report was refused: %s", ticket.run_id, exc)
        return Execution(ExecutionResult.LOST, ran=True, reason=reason)
    return Execution(ExecutionResult(outcome.value), ran=True, reason=reason)


class LocalExecutor:
    """The reference executor: runs each dispatched run here, through ``perform_update``.

    Register it on the dispatcher's host (``host.register(LocalExecutor(app))``);
    it takes a run only when some plugin implements
    ``siteupdates_perform_update``, and the hook's exception text is the
    contact's reason, as with the hosting worker.
    """

    def __init__(self, app: App) -> None:
        self.app = app

    def _runbook(self, ticket: Ticket) -> None:
        request = provider.find(self.app, ticket.run_id)
        tenant = provider.tenant(self.app, request.tenant_id)
        lease = self.app.storage.lease(request.id)
        # The runbook sees the run's own fencing token, as under the hosting worker.
        fence = Fence(request.id, lease.worker if lease else "-", ticket.fencing_token)
        if self.app.host.perform_update(request, tenant, fence) is not True:
            raise UpdateFailed("the update reported failure")

    @hookimpl
    def siteupdates_executor_dispatch(self, run: Run) -> Optional[str]:
        """Run ``run`` to its end in this process; None when no plugin performs updates."""
        if not self.app.host.performs_updates():
            return None
        execute(
            self.app, run.ticket(), self._runbook,
            reason_of=lambda exc: str(exc) or type(exc).__name__,
        )  # fmt: skip
        return run.idempotency_key
