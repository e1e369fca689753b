"""Dispatch throughput: the library's dispatchers against a bare ``send_task`` loop.

    python benchmarks/bench_dispatch.py [N] [K]

K dispatcher processes (default 2) claim N due requests (default 2000) on
PostgreSQL (``SITEUPDATES_PG_URL``, a schema made for the run and dropped after
it) and send each as a Celery task to Redis (``SITEUPDATES_REDIS_URL``, default
database 7, a queue and key prefix of the run's own, deleted after it). The
baseline, in the same run and on the same broker, is one process sending N
tasks with the same ticket in a bare loop: no claim, no lease, no history. No
worker consumes the tasks: this measures handing work over, not doing it.

Prints each rate, their ratio, how many tasks reached the queue and how many
requests were dispatched more than once (must be zero).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, List

import psycopg
import redis
from celery import Celery
from psycopg import sql

from siteupdates.app.executors import RunDispatcher
from siteupdates.domain import Event, Status, submitted
from siteupdates.plugins import PluginHost
from siteupdates.ports import ChangeSet
from siteupdates.service import Desk
from siteupdates.testing import make_request, sample_setup, transition
from siteupdates_celery import TASK_NAME, CeleryExecutor
from siteupdates_postgres import PostgresStorage

UTC = timezone.utc
PG = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("SITEUPDATES_REDIS_URL", "redis://127.0.0.1:6379/7")
CTX = mp.get_context("spawn")


def celery_app(prefix: str) -> Celery:
    app = Celery("bench-dispatch", broker=REDIS)
    app.conf.broker_transport_options = {"global_keyprefix": f"{prefix}:"}
    return app


def seed(url: str, n: int) -> None:
    s = PostgresStorage(url)
    s.save_setup(sample_setup())
    past = datetime.now(UTC) - timedelta(hours=1)
    sets = []
    for _ in range(n):
        r = make_request(requested_at=past)
        booked, step = transition(r, Event.SCHEDULE, date=past)
        sets.append(ChangeSet(inserts=(booked,), history=(submitted(r), *step.history)))
    s.apply(ChangeSet.concat(sets))
    s.close()


def dispatcher(url: str, prefix: str, name: str, barrier: Any, out: Any) -> None:
    executor = CeleryExecutor(celery_app(prefix), queue=f"{prefix}-lib")
    desk = Desk(PostgresStorage(url), host=PluginHost(plugins=[executor], entry_points=False))
    d = RunDispatcher(desk, name, lease_seconds=300, batch=50)
    d.run_once()  # warm the connections and the broker; not timed, not counted
    warm = d.report.dispatched
    barrier.wait()
    start = time.perf_counter()
    while d.run_once():
        pass
    out.put((d.report.dispatched - warm, time.perf_counter() - start))
    desk.close()


def bare(prefix: str, n: int, ticket: Any) -> float:
    app = celery_app(prefix)
    queue = f"{prefix}-bare"
    app.send_task(TASK_NAME, kwargs={"ticket": ticket}, task_id="warm", queue=queue)
    start = time.perf_counter()
    for i in range(n):
        app.send_task(TASK_NAME, kwargs={"ticket": ticket}, task_id=f"bare-{i}", queue=queue)
    return time.perf_counter() - start


def main(argv: List[str]) -> None:
    n = int(argv[1]) if len(argv) > 1 else 2000
    k = int(argv[2]) if len(argv) > 2 else 2
    schema = f"su_bench_dispatch_{uuid.uuid4().hex[:8]}"
    prefix = f"su-bench-dispatch-{uuid.uuid4().hex[:8]}"
    url = f"{PG}{'&' if '?' in PG else '?'}schema={schema}&pool_max=2"
    r = redis.Redis.from_url(REDIS)
    try:
        seed(url, n)
        barrier, out = CTX.Barrier(k + 1), CTX.Queue()
        procs = [
            CTX.Process(target=dispatcher, args=(url, prefix, f"bench-{i}", barrier, out))
            for i in range(k)
        ]
        for p in procs:
            p.start()
        barrier.wait()
        results = [out.get(timeout=600) for _ in procs]
        for p in procs:
            p.join()
        wall = max(seconds for _, seconds in results)
        lib_rate = sum(count for count, _ in results) / wall
        storage = PostgresStorage(url)
        sample = storage.requests_in((Status.NOT_STARTED,), limit=1)
        storage.close()
        ticket = {"run_id": sample[0].id if sample else "x", "fencing_token": 1}
        ticket.update(
            idempotency_key="siteupdates-x-1", tenant_id="d1", target="production/sandbox",
            targets=["sandbox"], version=None, db_refresh=True,
            deadline=datetime.now(UTC).isoformat(), lease_seconds=300.0,
        )  # fmt: skip
        bare_rate = n / bare(prefix, n, ticket)
        queued = sum(
            int(r.llen(key) or 0)
            for key in r.scan_iter(f"{prefix}:{prefix}-lib*")
            if r.type(key) == b"list"
        )
        pg = psycopg.connect(PG, autocommit=True)
        dup = pg.execute(
            sql.SQL(
                "SELECT count(*) FROM (SELECT request_id FROM {}.history WHERE event = 'pull' "
                "GROUP BY request_id HAVING count(*) > 1) AS d"
            ).format(sql.Identifier(schema))
        ).fetchone()
        pg.close()
        print(f"requests: {n}, dispatcher processes: {k}")
        print(f"library dispatch (claim + lease + history + send_task): {lib_rate:8.0f} runs/s")
        print(f"bare send_task loop, one process:                        {bare_rate:8.0f} tasks/s")
        print(f"ratio library/bare: {lib_rate / bare_rate:.2f}")
        twice = dup[0] if dup else None
        print(f"tasks in the library's queue: {queued} (of {n}); dispatched twice: {twice}")
    finally:
        keys = list(r.scan_iter(f"{prefix}*")) + list(r.scan_iter(f"*{prefix}*"))
        if keys:
            r.delete(*set(keys))
        with psycopg.connect(PG, autocommit=True) as c:
            c.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


if __name__ == "__main__":
    main(sys.argv)
