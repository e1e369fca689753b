"""Hosting workers in several processes on one PostgreSQL database."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from datetime import datetime, timezone
from typing import Any, List

import psycopg
import pytest
from psycopg import sql

from siteupdates.app.worker import Worker
from siteupdates.domain import Event, Status, Tenant, UpdateRequest, submitted
from siteupdates.hookspecs import hookimpl
from siteupdates.plugins import PluginHost
from siteupdates.ports import ChangeSet
from siteupdates.service import Desk
from siteupdates.testing import make_request, sample_setup, transition
from siteupdates_postgres import PostgresStorage

CTX = mp.get_context("spawn")
UTC = timezone.utc
PAST = datetime(2026, 1, 1, tzinfo=UTC)


def seed(url: str, n: int) -> List[str]:
    """``n`` Scheduled requests, all due, written in one batch."""
    s = PostgresStorage(url)
    s.save_setup(sample_setup())
    cs = ChangeSet()
    ids = []
    for _ in range(n):
        r = make_request(requested_at=PAST)
        booked, step = transition(r, Event.SCHEDULE, date=PAST)
        cs = cs + ChangeSet(inserts=(booked,), history=(submitted(r), *step.history))
        ids.append(r.id)
    s.apply(cs)
    s.close()
    return ids


class Recorder:
    @hookimpl
    def siteupdates_perform_update(self, request: UpdateRequest, tenant: Tenant) -> bool:
        return True


class Hang:
    def __init__(self, started: Any) -> None:
        self.started = started

    @hookimpl
    def siteupdates_perform_update(self, request: UpdateRequest, tenant: Tenant) -> bool:
        self.started.set()
        time.sleep(120)
        return True


def _claim_all(url: str, name: str, results: Any) -> None:
    storage = PostgresStorage(url)
    got: List[str] = []
    idle = 0
    while idle < 3:
        claims = storage.claim(name, datetime.now(UTC), 300, limit=5)
        got.extend(c.request.id for c in claims)
        idle = 0 if claims else idle + 1
    storage.close()
    results.put(got)


def _race(url: str, name: str, barrier: Any, results: Any) -> None:
    storage = PostgresStorage(url)
    barrier.wait(timeout=30)
    results.put([c.request.id for c in storage.claim(name, datetime.now(UTC), 300, limit=1)])
    storage.close()


def _hang(url: str, started: Any) -> None:
    desk = Desk(PostgresStorage(url), host=PluginHost(plugins=[Hang(started)], entry_points=False))
    Worker(desk, "doomed", lease_seconds=300).run_once()


@pytest.mark.slow
def test_four_workers_claim_2000_requests_each_exactly_once(pg_url: str) -> None:
    ids = seed(pg_url, 2000)
    results = CTX.Queue()
    procs = [CTX.Process(target=_claim_all, args=(pg_url, f"w{k}", results)) for k in range(4)]
    for p in procs:
        p.start()
    claimed = [i for _ in procs for i in results.get(timeout=300)]
    for p in procs:
        p.join(60)
    assert len(claimed) == len(set(claimed))  # nobody claimed twice
    assert sorted(claimed) == sorted(ids)  # none lost, none left
    s = PostgresStorage(pg_url)
    assert s.requests_in([Status.SCHEDULED]) == []
    assert len(s.requests_in([Status.NOT_STARTED], limit=5000)) == 2000
    s.close()


@pytest.mark.slow
def test_two_workers_racing_for_one_request_exactly_one_wins(pg_url: str) -> None:
    [rid] = seed(pg_url, 1)
    barrier, results = CTX.Barrier(2), CTX.Queue()
    procs = [CTX.Process(target=_race, args=(pg_url, f"w{k}", barrier, results)) for k in range(2)]
    for p in procs:
        p.start()
    got = sorted((results.get(timeout=60) for _ in procs), key=len)
    for p in procs:
        p.join(30)
    assert got == [[], [rid]]


@pytest.mark.slow
def test_a_worker_killed_mid_update_is_finished_by_another(pg_url: str) -> None:
    [rid] = seed(pg_url, 1)
    started = CTX.Event()
    doomed = CTX.Process(target=_hang, args=(pg_url, started))
    doomed.start()
    assert started.wait(60)
    assert doomed.pid is not None
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.join(30)
    storage = PostgresStorage(pg_url)
    desk = Desk(storage, host=PluginHost(plugins=[Recorder()], entry_points=False))
    r = storage.request(rid)
    assert r is not None and r.status is Status.IN_PROGRESS
    assert Worker(desk, "rescuer").run_once() == 0  # the lease is still live
    # Fake the passing of time: move the lease into the past instead of sleeping.
    with psycopg.connect(pg_url.split("?")[0], autocommit=True) as conn:
        schema = pg_url.split("schema=")[1].split("&")[0]
        conn.execute(
            sql.SQL("UPDATE {}.requests SET lease_expires = now() - interval '1 second' "
                    "WHERE id = %s").format(sql.Identifier(schema)),
            (rid,),
        )  # fmt: skip
    rescuer = Worker(desk, "rescuer")
    assert rescuer.run_once() == 1
    done = storage.request(rid)
    assert done is not None and done.status is Status.COMPLETED
    events = [(h.event, h.by) for h in storage.history(rid)]
    assert events[-5:] == [
        (Event.PULL, "doomed"),
        (Event.START, "doomed"),
        (Event.RECLAIM, "rescuer"),
        (Event.START, "rescuer"),
        (Event.COMPLETE, "rescuer"),
    ]
    lease = storage.lease(rid)
    assert lease is None
    storage.close()
