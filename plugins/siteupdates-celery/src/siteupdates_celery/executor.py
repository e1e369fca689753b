"""The dispatcher's side: runs become Celery tasks named by their idempotency key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from celery import Celery

from siteupdates.hookspecs import hookimpl

if TYPE_CHECKING:
    from siteupdates.runs import Run

__all__ = ["TASK_NAME", "CeleryExecutor"]

#: The task name the dispatcher sends and :func:`~siteupdates_celery.fenced_task` registers.
TASK_NAME = "siteupdates.run"


class CeleryExecutor:
    """An executor plugin that sends each run to a Celery task.

    The task ID is the run's idempotency key, so a dispatch that is sent twice
    is one task to Celery's result backend and to ``revoke``, and the task's
    :func:`~siteupdates.app.executors.execute` runs the runbook once whatever
    Celery delivers. The task expires at the run's deadline: a worker that
    receives it later drops it, and the lease runs out for a new attempt.
    """

    def __init__(
        self, celery_app: Celery, *, task: str = TASK_NAME, queue: Optional[str] = None
    ) -> None:
        self.celery = celery_app
        self.task = task
        self.queue = queue

    @hookimpl
    def siteupdates_executor_dispatch(self, run: Run) -> Optional[str]:
        """Send ``run`` as a task; its ID is the run's idempotency key."""
        options: dict[str, Any] = {"task_id": run.idempotency_key, "expires": run.deadline}
        if self.queue:
            options["queue"] = self.queue
        self.celery.send_task(self.task, kwargs={"ticket": run.ticket().to_json()}, **options)
        return run.idempotency_key

    @hookimpl
    def siteupdates_executor_status(self, run: Run) -> Optional[str]:
        """The task's state from the result backend; None without one."""
        if type(self.celery.backend).__name__ == "DisabledBackend":
            return None
        return str(self.celery.AsyncResult(run.idempotency_key).state)

    @hookimpl
    def siteupdates_executor_cancel(self, run: Run) -> Optional[bool]:
        """Revoke the task: a worker that has not started it drops it."""
        self.celery.control.revoke(run.idempotency_key)
        return True
