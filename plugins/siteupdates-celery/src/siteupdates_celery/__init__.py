"""siteupdates-celery: due updates run as Celery tasks, fenced, and reported back.

The library keeps deciding when an update runs and telling the contact; the
hosting team's Celery workers do the update. Two halves:

**Dispatching** (where ``siteupdates dispatch`` runs). Configure the executor in
the setup file, then run one dispatcher per machine, as many as you like::

    [plugins.celery]
    broker = "redis://127.0.0.1:6379/0"
    queue = "siteupdates"

    $ siteupdates --url postgresql://... dispatch --id "$(hostname)" --lease 600

Each due request is claimed under a lease and sent as the task
``siteupdates.run`` with the run's ticket, its task ID being the run's
idempotency key. In a program, register ``CeleryExecutor(celery_app)`` on the
desk's host instead.

**Running** (the team's Celery worker). Wrap the runbook (the whole example,
run by the test suite, is the tutorial ``docs/tutorials/celery-tasks.md``)::

    from celery import Celery
    from siteupdates import Desk
    from siteupdates.errors import UpdateFailed
    from siteupdates_celery import fenced_task

    app = Celery("hosting", broker="redis://127.0.0.1:6379/0")

    def desk():
        # entry_points=True: the installed siteupdates-postgres opens the URL.
        return Desk.open("postgresql://...", entry_points=True)

    @fenced_task(app, desk=desk, queue="siteupdates")
    def upgrade(ticket):
        # ticket.tenant_id, .targets, .version, .db_refresh, .deadline
        if not copy_database(ticket.tenant_id):
            # The contact is told this reason.
            raise UpdateFailed("the copy of production's data did not finish")
        install(ticket.version)

The task reports ``started`` with the run's fencing token and runs the
runbook only if that was applied, so a dispatch delivered twice runs once and a
delivery of an attempt that was taken over does not run at all. It renews the
run's lease while the runbook works and reports the outcome. A worker killed
mid-run stops renewing: after the lease a dispatcher takes the request over
with a new token, and anything the old attempt says afterwards is refused.
Make the runbook idempotent: a taken-over request runs again.
"""

from __future__ import annotations

from .executor import TASK_NAME, CeleryExecutor
from .task import fenced_task

__all__ = ["TASK_NAME", "CeleryExecutor", "fenced_task"]
