"""The Celery app the test workers run: a runbook that records what it did in Redis.

Configured by the environment the test sets: ``SU_BROKER``, ``SU_STORE`` (the
storage URL), ``SU_PREFIX`` (Redis keys), ``SU_WORKER`` (this worker's name).
"""

from __future__ import annotations

import os
import time
from typing import Any

import redis
from celery import Celery
from celery.signals import task_postrun, worker_ready

from siteupdates.app.executors import Ticket
from siteupdates.errors import UpdateFailed
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates_celery import fenced_task
from siteupdates_postgres import PostgresStorage

BROKER = os.environ["SU_BROKER"]
P = os.environ["SU_PREFIX"]
WORKER = os.environ["SU_WORKER"]

app = Celery("su-celery-test", broker=BROKER)
app.conf.update(
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    # Keys of the test's own in the shared Redis database.
    broker_transport_options={"global_keyprefix": f"{P}:kombu:"},
)
r = redis.Redis.from_url(BROKER, decode_responses=True)


def _desk() -> Desk:
    return Desk(PostgresStorage(os.environ["SU_STORE"]), host=PluginHost(entry_points=False))


@fenced_task(app, desk=_desk)
def runbook(ticket: Ticket) -> None:
    """Record the start, obey the test's switches, record the end."""
    me = f"{ticket.run_id}:{ticket.fencing_token}:{WORKER}"
    r.rpush(f"{P}:began", me)
    if r.sismember(f"{P}:fail", ticket.run_id):
        raise UpdateFailed("the copy of production's data did not fit on the staging disk")
    if r.sismember(f"{P}:crash", ticket.run_id):
        raise RuntimeError("pg_restore: connection to 10.0.0.7 refused")
    if r.get(f"{P}:victim") == WORKER and r.set(f"{P}:hanging", me, nx=True):
        time.sleep(300)  # killed here, mid-run
    time.sleep(float(os.environ.get("SU_WORK_SECONDS", "0.005")))
    r.rpush(f"{P}:finished", me)


@task_postrun.connect  # type: ignore[untyped-decorator]
def _record(retval: Any = None, **_: Any) -> None:
    r.rpush(f"{P}:results", str(retval))


@worker_ready.connect  # type: ignore[untyped-decorator]
def _ready(**_: Any) -> None:
    r.rpush(f"{P}:ready", WORKER)
