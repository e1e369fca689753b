"""The worker's side: the team's runbook as a Celery task that reports with its token."""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Dict, Mapping, Optional

from celery import Celery

from siteupdates.app.executors import Ticket, generic_reason
from siteupdates.errors import SiteUpdatesError
from siteupdates.service import Desk

from .executor import TASK_NAME

__all__ = ["fenced_task"]

logger = logging.getLogger("siteupdates.celery")

Runbook = Callable[[Ticket], object]


def fenced_task(
    celery_app: Celery,
    *,
    desk: Callable[[], Desk],
    name: str = TASK_NAME,
    reason_of: Callable[[BaseException], str] = generic_reason,
    **task_options: Any,
) -> Callable[[Runbook], Any]:
    """Make ``runbook(ticket)`` the Celery task the dispatcher sends runs to.

    ``desk`` opens the library's storage (called once per worker process, after
    a fork). The task reports ``started`` with the run's fencing token before
    it calls the runbook and runs it only if that report was applied: a second
    delivery of the same run, or one of an attempt that was taken over, stops
    there. While the runbook works, a thread renews the run's lease with the
    same token (nothing else); then it reports ``completed``, or ``failed`` with
    ``reason_of(exc)`` (an :class:`~siteupdates.errors.UpdateFailed` carries the
    contact's reason; other errors give a generic one), or ``needs-input`` for
    :class:`~siteupdates.errors.NeedsInput`. The task returns what happened
    (``completed``, ``duplicate``, ``stale`` ...), ``rejected`` for a malformed
    ticket.
    """
    opened: Dict[int, Desk] = {}

    def current() -> Desk:
        pid = os.getpid()
        if pid not in opened:
            opened.clear()  # a forked child must not share its parent's connections
            opened[pid] = desk()
        return opened[pid]

    def decorate(runbook: Runbook) -> Any:
        def run(ticket: Mapping[str, Any]) -> str:
            try:
                parsed = Ticket.from_json(ticket)
            except SiteUpdatesError as exc:
                logger.error("task %s: malformed run ticket: %s", name, exc)
                return "rejected"
            done = current().ops.execute(parsed, runbook, reason_of=reason_of)
            return done.result.value

        run.__name__ = getattr(runbook, "__name__", "run")
        run.__doc__ = getattr(runbook, "__doc__", None)
        options: Dict[str, Optional[Any]] = {"ignore_result": True, **task_options}
        return celery_app.task(name=name, **options)(run)

    return decorate
