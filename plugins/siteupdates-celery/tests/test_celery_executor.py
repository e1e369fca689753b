"""R15, R20: runs dispatched to real Celery worker processes over Redis, on PostgreSQL."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import psycopg
import pytest
import redis
from celery import Celery
from psycopg import sql

from siteupdates.app.executors import Run, RunDispatcher
from siteupdates.domain import Event, Status, submitted
from siteupdates.errors import StaleReport
from siteupdates.plugins import PluginHost
from siteupdates.ports import ChangeSet
from siteupdates.service import Desk
from siteupdates.testing import RecordingNotifier, make_request, sample_setup, transition
from siteupdates_celery import CeleryExecutor
from siteupdates_postgres import PostgresStorage

PG_BASE = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Database 7 and keys, queues and schemas of each test's own: other programs share the servers.
REDIS_URL = os.environ.get("SITEUPDATES_REDIS_URL", "redis://127.0.0.1:6379/7")


def _unreachable(what: str, problem: str, hint: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required under CI and not reachable: {problem}")
    pytest.skip(f"no {what} ({problem}); {hint}")


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        _unreachable("Redis server", str(exc), "start one on 127.0.0.1:6379 or set "
                     "SITEUPDATES_REDIS_URL")  # fmt: skip
    return REDIS_URL


@pytest.fixture(scope="session")
def pg_base() -> str:
    try:
        with psycopg.connect(PG_BASE, connect_timeout=3):
            pass
    except psycopg.Error as exc:
        _unreachable("PostgreSQL server", str(exc).strip().splitlines()[0],
                     "start one on 127.0.0.1:5432 or set SITEUPDATES_PG_URL")  # fmt: skip
    return PG_BASE


@pytest.fixture
def pg_url(pg_base: str) -> Iterator[str]:
    """A storage URL on a schema of this test's own, dropped afterwards."""
    name = f"su_celery_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in pg_base else "?"
    yield f"{pg_base}{sep}schema={name}&pool_max=4"
    with psycopg.connect(pg_base, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A Redis key prefix (and queue name) of this test's own, its keys deleted afterwards."""
    name = f"su-celery-test-{uuid.uuid4().hex[:10]}"
    yield name
    r = redis.Redis.from_url(redis_url)
    keys = list(r.scan_iter(f"{name}*")) + list(r.scan_iter(f"*{name}*"))
    if keys:
        r.delete(*set(keys))


HERE = Path(__file__).resolve().parent
CTX = mp.get_context("spawn")
UTC = timezone.utc


def seed(url: str, n: int) -> List[str]:
    """``n`` Scheduled requests (DB refreshes), all due, written in one batch."""
    s = PostgresStorage(url)
    s.save_setup(sample_setup())
    past = datetime.now(UTC) - timedelta(hours=1)
    sets, ids = [], []
    for _ in range(n):
        r = make_request(requested_at=past)
        booked, step = transition(r, Event.SCHEDULE, date=past)
        sets.append(ChangeSet(inserts=(booked,), history=(submitted(r), *step.history)))
        ids.append(r.id)
    s.apply(ChangeSet.concat(sets))
    s.close()
    return ids


def celery_app(broker: str, prefix: str) -> Celery:
    app = Celery("su-celery-test-dispatch", broker=broker)
    app.conf.broker_transport_options = {"global_keyprefix": f"{prefix}:kombu:"}
    return app


def desk_for(url: str, broker: str, prefix: str, *plugins: object) -> Desk:
    executor = CeleryExecutor(celery_app(broker, prefix), queue=prefix)
    host = PluginHost(plugins=[executor, *plugins], entry_points=False)
    return Desk(PostgresStorage(url), host=host)


class Workers:
    """Celery worker processes started by a test, each in a session of its own."""

    def __init__(self, broker: str, store: str, prefix: str) -> None:
        self.broker, self.store, self.prefix = broker, store, prefix
        self.procs: Dict[str, subprocess.Popen[bytes]] = {}
        self.r = redis.Redis.from_url(broker, decode_responses=True)

    def start(self, *names: str, work_seconds: float = 0.005) -> None:
        env = {
            **os.environ,
            "SU_BROKER": self.broker, "SU_STORE": self.store, "SU_PREFIX": self.prefix,
            "SU_WORK_SECONDS": str(work_seconds),
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        }  # fmt: skip
        for name in names:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "celery_testapp", "worker",
                 "--pool=solo", "-Q", self.prefix, "-n", f"{name}.{self.prefix}@localhost",
                 "--without-heartbeat", "--without-gossip", "--without-mingle",
                 "--loglevel=WARNING"],
                env={**env, "SU_WORKER": name}, cwd=str(HERE), start_new_session=True,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
        for _ in names:
            got = self.r.blpop([f"{self.prefix}:ready"], timeout=60)
            assert got is not None, self.stderr()

    def stderr(self) -> str:
        out = []
        for name, p in self.procs.items():
            if p.poll() is not None and p.stderr is not None:
                out.append(f"{name}: {p.stderr.read().decode(errors='replace')[-2000:]}")
        return "\n".join(out) or "workers still running"

    def kill(self, name: str) -> None:
        p = self.procs[name]
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)

    def close(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)


@pytest.fixture
def workers(redis_url: str, pg_url: str, prefix: str) -> Iterator[Workers]:
    w = Workers(redis_url, pg_url, prefix)
    yield w
    w.close()


def records(r: redis.Redis, key: str) -> List[Tuple[str, int, str]]:
    out = []
    for item in r.lrange(key, 0, -1):
        rid, token, worker = str(item).split(":")
        out.append((rid, int(token), worker))
    return out


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def statuses(desk: Desk, ids: List[str]) -> Counter[Status]:
    found = [desk.storage.request(i) for i in ids]
    return Counter(r.status for r in found if r is not None)


@pytest.mark.slow
@pytest.mark.postgres
def test_r15_a_dispatch_delivered_twice_runs_once(
    redis_url: str, pg_url: str, prefix: str, workers: Workers
) -> None:
    [rid] = seed(pg_url, 1)
    desk = desk_for(pg_url, redis_url, prefix)
    sent: List[Run] = []
    dispatcher = RunDispatcher(desk, "d-1", lease_seconds=30)
    [claim] = desk.storage.claim("d-1", desk.now(), 30)
    run = dispatcher.process(claim)
    assert run is not None
    sent.append(run)
    # The broker connection dropped after the send, say: the same run goes again.
    assert desk.host.executor_dispatch(run) == run.idempotency_key
    workers.start("a")
    wait_until(lambda: workers.r.llen(f"{prefix}:results") == 2, 60, "both deliveries")
    assert sorted(workers.r.lrange(f"{prefix}:results", 0, -1)) == ["completed", "duplicate"]
    assert records(workers.r, f"{prefix}:began") == [(rid, 1, "a")]
    r = desk.find(rid)
    assert r.status is Status.COMPLETED
    assert [h.event for h in desk.history(rid)][-3:] == [Event.PULL, Event.START, Event.COMPLETE]
    desk.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_r20_a_task_that_raises_reports_unable_to_complete_with_the_contact_reason(
    redis_url: str, pg_url: str, prefix: str, workers: Workers
) -> None:
    told, crashed, fine = seed(pg_url, 3)
    workers.r.sadd(f"{prefix}:fail", told)
    workers.r.sadd(f"{prefix}:crash", crashed)
    notifier = RecordingNotifier()
    desk = desk_for(pg_url, redis_url, prefix, notifier)
    workers.start("a")
    assert desk.dispatch("d-1", lease_seconds=30).dispatched == 3
    wait_until(lambda: workers.r.llen(f"{prefix}:results") == 3, 60, "three runs")
    assert desk.find(fine).status is Status.COMPLETED
    for rid in (told, crashed):
        assert desk.find(rid).status is Status.UNABLE_TO_COMPLETE
    desk.deliver()
    bodies = {n.request_id: n.body for n in notifier.delivered if n.kind == "unable-to-complete"}
    assert "did not fit on the staging disk" in bodies[told]
    # An exception's own text (a host address here) never reaches the contact.
    assert "10.0.0.7" not in bodies[crashed] and "hosting team" in bodies[crashed]
    desk.close()


def _dispatch_until(url: str, broker: str, prefix: str, name: str, n: int, out: Any) -> None:
    desk = desk_for(url, broker, prefix)
    d = RunDispatcher(
        desk, name, lease_seconds=LEASE, start_within=START_WITHIN, batch=10, max_waiting=20
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if d.run_once() == 0:
            done = desk.storage.requests_in((Status.COMPLETED,), limit=n + 1)
            if len(done) >= n:
                break
            time.sleep(0.05)
    out.put((name, d.report.claimed, d.report.dispatched, d.report.lost, d.report.failed))
    desk.close()


#: A running update renews its lease by LEASE seconds; a queued one has START_WITHIN to start.
LEASE = 3.0
START_WITHIN = 8.0
N = 200


@pytest.mark.slow
@pytest.mark.postgres
def test_r15_two_dispatchers_two_workers_one_killed_mid_run_every_request_once(
    redis_url: str, pg_url: str, prefix: str, workers: Workers
) -> None:
    ids = seed(pg_url, N)
    workers.start("a", "b", work_seconds=0.01)
    out = CTX.Queue()
    procs = [
        CTX.Process(target=_dispatch_until, args=(pg_url, redis_url, prefix, f"d-{i}", N, out))
        for i in (1, 2)
    ]
    for p in procs:
        p.start()
    # Midway, worker a hangs in the middle of a run (In Progress, its lease renewed); it dies.
    wait_until(lambda: workers.r.llen(f"{prefix}:finished") >= N // 3, 60, "a third done")
    workers.r.set(f"{prefix}:victim", "a")
    wait_until(lambda: workers.r.get(f"{prefix}:hanging"), 60, "a run to hang on worker a")
    victim_rid, victim_token, _ = str(workers.r.get(f"{prefix}:hanging")).split(":")
    wait_until(
        lambda: Desk(PostgresStorage(pg_url)).find(victim_rid).status is Status.IN_PROGRESS,
        30, "the victim's start",
    )  # fmt: skip
    workers.kill("a")
    reports = [out.get(timeout=150) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0

    desk = Desk(PostgresStorage(pg_url), host=PluginHost(entry_points=False))
    assert statuses(desk, ids) == Counter({Status.COMPLETED: N})  # 0 lost
    finished = records(workers.r, f"{prefix}:finished")
    began = records(workers.r, f"{prefix}:began")
    assert sorted(rid for rid, _, _ in finished) == sorted(ids)  # each runbook finished once
    # ... by the attempt whose completion the library recorded: a live one.
    for rid, token, _ in finished:
        [done] = [h for h in desk.history(rid) if h.event is Event.COMPLETE]
        assert done.by.endswith(f"#{token}")
    assert (victim_rid, int(victim_token), "a") in began
    assert victim_rid not in {rid for rid, _, w in finished if w == "a"}
    ended = {(rid, token) for rid, token, _ in finished}
    # Every attempt that was taken over is fenced out: its late reports are refused.
    taken_over = [(rid, token) for rid, token, _ in began if (rid, token) not in ended]
    assert (victim_rid, int(victim_token)) in taken_over
    refused = 0
    for rid, token in taken_over:
        before = desk.history(rid)
        for outcome in ("completed", "started"):
            with pytest.raises(StaleReport):
                desk.report(rid, token, outcome)
            refused += 1
        assert not desk.heartbeat(rid, token, lease_seconds=60)
        assert desk.history(rid) == before
    reclaims = sum(1 for rid in ids for h in desk.history(rid) if h.event is Event.RECLAIM)
    dispatched = sum(r[2] for r in reports)
    assert dispatched == N + reclaims and all(r[3] == 0 and r[4] == 0 for r in reports)
    assert all(r[2] > 0 for r in reports)  # both dispatchers took part
    print(
        f"\n{N} requests: completed {N}, lost 0, runbook runs finished {len(finished)}, "
        f"attempts begun {len(began)}, reclaimed {reclaims}, stale reports refused {refused}, "
        f"dispatched {dispatched} by {[(r[0], r[2]) for r in reports]}"
    )
    desk.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.postgres
def test_a_broker_that_is_down_gets_the_batch_handed_back_at_no_attempt(
    redis_url: str, pg_url: str, prefix: str, workers: Workers
) -> None:
    ids = seed(pg_url, 2)
    nobody = celery_app(f"redis://127.0.0.1:{_closed_port()}/7", prefix)
    # Fail fast: Celery would otherwise retry the publish for seconds.
    nobody.conf.update(task_publish_retry=False, broker_connection_timeout=1)
    executor = CeleryExecutor(nobody, queue=prefix)
    down = Desk(PostgresStorage(pg_url), host=PluginHost(plugins=[executor], entry_points=False))
    report = down.dispatch("d-1", lease_seconds=30)
    assert report.handed_back == 2 and report.dispatched == 0 and report.errors
    assert statuses(down, ids) == Counter({Status.SCHEDULED: 2})
    assert all(down.storage.lease(rid) is None for rid in ids)
    down.close()
    up = desk_for(pg_url, redis_url, prefix)
    # The hand-back cost no attempt: with one allowed, both still go to the engine
    # (the fencing token has grown; it counts claims, not starts).
    assert up.dispatch("d-1", lease_seconds=30, max_attempts=1).dispatched == 2
    leases = [up.storage.lease(rid) for rid in ids]
    assert [lease.attempts for lease in leases if lease is not None] == [2, 2]
    workers.start("a")
    wait_until(lambda: workers.r.llen(f"{prefix}:results") == 2, 60, "two runs")
    assert statuses(up, ids) == Counter({Status.COMPLETED: 2})
    up.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_r15_a_run_whose_lease_ran_out_goes_again_and_the_old_task_is_fenced_out(
    redis_url: str, pg_url: str, prefix: str, workers: Workers
) -> None:
    [rid] = seed(pg_url, 1)
    desk = desk_for(pg_url, redis_url, prefix)
    assert desk.dispatch("d-1", lease_seconds=1).dispatched == 1  # no worker takes it
    time.sleep(1.5)
    assert desk.dispatch("d-2", lease_seconds=60).dispatched == 1  # the lease ran out
    lease = desk.storage.lease(rid)
    assert lease is not None and lease.attempts == 2 and lease.worker == "d-2"
    # Both tasks wait in the queue; the worker runs the live one and drops the other.
    workers.start("a")
    wait_until(lambda: workers.r.llen(f"{prefix}:results") == 2, 60, "both tasks")
    assert sorted(workers.r.lrange(f"{prefix}:results", 0, -1)) == ["completed", "stale"]
    assert records(workers.r, f"{prefix}:began") == [(rid, 2, "a")]
    assert desk.find(rid).status is Status.COMPLETED
    desk.close()
