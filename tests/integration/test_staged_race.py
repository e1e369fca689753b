"""R13, staging then production, raced by real processes on SQLite and PostgreSQL.

Each round: staging was moved and completed late (12 March 20:00Z, soak 72 h), so
production's 15 March slot is too early. Four processes then, behind a barrier,
approve production, decline it, postpone it and plan the queue at once. Whatever
wins, these must hold (a break is a violation):

* exactly one of approve and decline wins; production ends Scheduled (approved)
  or Cancelled (declined), its history a chain with one of the two;
* a Scheduled production starts at least the soak after staging's completion,
  also after a postponement;
* no slot holds more updates than the capacity;
* no process fails with anything but a refusal naming its rule.

The second race moves staging twice at once (the provider's reschedule, the
contact's postponement) while a third process plans the queue: production at
its gate ends at least the soak after staging's final slot, with one
``follow-staging`` entry and one ``production-moved`` notice per move it
followed, and no slot over capacity.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import attrs
import pytest

from siteupdates.domain import BOOKED, Event, SchedulingRules, StagingRules, Status
from siteupdates.errors import SiteUpdatesError
from siteupdates.plugins import PluginHost
from siteupdates.presets import CAMPUS_HOSTING
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, sample_setup

UTC = timezone.utc
CTX = mp.get_context("spawn")
SOAK = timedelta(hours=72)
DONE = datetime(2026, 3, 12, 20, tzinfo=UTC)  # staging's late completion
NOW = datetime(2026, 3, 13, 8, tzinfo=UTC)
ROUNDS = 40
ACTIONS = ("approve", "decline", "postpone", "plan")
#: The second race: staging moved twice at once while the queue is planned.
MOVES = ("reschedule-staging", "postpone-staging", "plan")
BEFORE = datetime(2026, 3, 3, 12, tzinfo=UTC)  # staging booked 8 March, not yet run
MOVED_TO = datetime(2026, 3, 12, 19, tzinfo=UTC)
PG_BASE = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PRESET = attrs.evolve(CAMPUS_HOSTING, scheduling=SchedulingRules(staging=StagingRules(soak=SOAK)))


def _open(url: str, now: datetime) -> Desk:
    host = PluginHost(entry_points=url.startswith("postgres"))
    return Desk.open(url, host=host, clock=FixedClock(now), preset=PRESET)


def _worker(action: str, jobs: Any, barrier: Any, results: Any) -> None:
    while True:
        job = jobs.get(timeout=300)
        if job is None:
            return
        url, now, staging, production = job
        desk = _open(url, now)
        barrier.wait(timeout=120)
        try:
            dana = desk.contact("dana")
            if action == "approve":
                dana.approve(production)
            elif action == "decline":
                dana.decline(production, reason="not now")
            elif action == "postpone":
                dana.postpone(production, next_window=True)
            elif action == "reschedule-staging":
                desk.provider.reschedule(staging, MOVED_TO, reason="staff away")
            elif action == "postpone-staging":
                dana.postpone(staging, days=7)
            else:
                desk.provider.plan_queue()
            results.put((action, "ok"))
        except SiteUpdatesError as exc:
            results.put((action, type(exc).__name__))
        except Exception as exc:
            results.put((action, f"crash {exc!r}"))
        finally:
            desk.close()


def _setup_round(url: str) -> Tuple[str, str]:
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    host = PluginHost(entry_points=url.startswith("postgres"))
    desk = Desk.open(url, host=host, clock=clock, preset=PRESET)
    desk.load_setup(sample_setup())
    made = desk.submit_staged("dana", "d1", "E.1505.2", at=datetime(2026, 3, 7, 9))
    desk.plan_queue(horizon=clock.now + timedelta(days=60))
    desk.reschedule(made.staging.id, datetime(2026, 3, 12, 19, tzinfo=UTC), "staff away")
    clock.now = datetime(2026, 3, 12, 19, tzinfo=UTC)
    desk.pull(made.staging.id)
    desk.start(made.staging.id)
    clock.now = DONE
    desk.complete(made.staging.id)
    desk.close()
    return made.staging.id, made.production.id


def _violations(url: str, production: str, outcomes: List[Tuple[str, str]]) -> List[str]:
    found = [f"{a}: {o}" for a, o in outcomes if o.startswith("crash")]
    won = {a for a, o in outcomes if o == "ok"}
    if ("approve" in won) == ("decline" in won):
        found.append(f"approve and decline: {sorted(won)} won")
    desk = _open(url, NOW)
    r = desk.storage.request(production)
    assert r is not None
    history = desk.history(production)
    events = [h.event for h in history]
    if [h.seq for h in history] != list(range(1, len(history) + 1)):
        found.append("history is not a chain")
    if (Event.APPROVE in events) == (Event.WITHDRAW in events):
        found.append(f"history {events}")
    if r.status is Status.SCHEDULED:
        if "approve" not in won or r.scheduled_for is None or r.scheduled_for < DONE + SOAK:
            found.append(f"scheduled {r.scheduled_for} before the soak after {DONE}")
    elif r.status is Status.CANCELLED:
        if "decline" not in won:
            found.append("cancelled without a decline")
    else:
        found.append(f"production is {r.status.label}")
    slots = Counter(
        b.scheduled_for for b in desk.storage.requests_in(tuple(BOOKED)) if b.scheduled_for
    )
    found += [f"{n} updates at {at}" for at, n in slots.items() if n > PRESET.capacity]
    desk.close()
    return found


@contextmanager
def _storage(backend: str, tmp_path: Path, n: int) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'race{n}.db'}"
        return
    psycopg = pytest.importorskip("psycopg")
    schema = f"su_race_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in PG_BASE else "?"
    try:
        yield f"{PG_BASE}{sep}schema={schema}&pool_max=2"
    finally:
        with psycopg.connect(PG_BASE, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _need(backend: str) -> None:
    if backend == "postgres":
        psycopg = pytest.importorskip("psycopg")
        pytest.importorskip("siteupdates_postgres")
        try:
            psycopg.connect(PG_BASE, connect_timeout=3).close()
        except psycopg.OperationalError as exc:
            pytest.skip(f"no PostgreSQL at {PG_BASE}: {exc}")


def _processes(actions: Tuple[str, ...]) -> Tuple[Any, Any, List[Any], List[Any]]:
    barrier, results = CTX.Barrier(len(actions)), CTX.Queue()
    queues = [CTX.Queue() for _ in actions]
    procs = [CTX.Process(target=_worker, args=(a, q, barrier, results))
             for a, q in zip(actions, queues)]  # fmt: skip
    return barrier, results, queues, procs


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_r13_approve_decline_postpone_and_plan_raced_keep_the_soak_after_staging(
    backend: str, tmp_path: Path
) -> None:
    _need(backend)
    _, results, queues, procs = _processes(ACTIONS)
    for p in procs:
        p.start()
    violations: List[str] = []
    winners: Counter[str] = Counter()
    try:
        for n in range(ROUNDS):
            with _storage(backend, tmp_path, n) as url:
                staging, production = _setup_round(url)
                for q in queues:
                    q.put((url, NOW, staging, production))
                outcomes = [results.get(timeout=120) for _ in ACTIONS]
                winners.update(a for a, o in outcomes if o == "ok")
                violations += [f"round {n}: {v}" for v in _violations(url, production, outcomes)]
    finally:
        for q in queues:
            q.put(None)
        for p in procs:
            p.join(60)
    assert violations == []
    # Both sides of the race were seen to win: the barrier made them race.
    assert winners["approve"] + winners["decline"] == ROUNDS


def _setup_moves(url: str) -> Tuple[str, str]:
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    host = PluginHost(entry_points=url.startswith("postgres"))
    desk = Desk.open(url, host=host, clock=clock, preset=PRESET)
    desk.load_setup(sample_setup())
    made = desk.submit_staged("dana", "d1", "E.1505.2", at=datetime(2026, 3, 7, 9))
    desk.plan_queue(horizon=clock.now + timedelta(days=60))
    desk.close()
    return made.staging.id, made.production.id


def _move_violations(
    url: str, staging_id: str, production: str, outcomes: List[Tuple[str, str]]
) -> List[str]:
    found = [f"{a}: {o}" for a, o in outcomes if o.startswith("crash")]
    won = {a for a, o in outcomes if o == "ok"}
    if "reschedule-staging" not in won:
        found.append(f"the provider's reschedule lost: {outcomes}")
    desk = _open(url, BEFORE)
    staging, r = desk.storage.request(staging_id), desk.storage.request(production)
    assert staging is not None and r is not None and staging.scheduled_for is not None
    if r.status is not Status.PENDING_INPUT or r.scheduled_for is None:
        found.append(f"production is {r.status.label}, {r.scheduled_for}")
    elif r.scheduled_for < staging.scheduled_for + PRESET.update_duration + SOAK:
        found.append(f"production {r.scheduled_for} before the soak after staging "
                     f"{staging.scheduled_for}")  # fmt: skip
    history = desk.history(production)
    if [h.seq for h in history] != list(range(1, len(history) + 1)):
        found.append("history is not a chain")
    follows = [h for h in history if h.event is Event.FOLLOW_STAGING]
    moves = sum(1 for a in ("reschedule-staging", "postpone-staging") if a in won)
    if not 1 <= len(follows) <= moves:
        found.append(f"{len(follows)} follow-staging entries for {moves} moves of staging")
    told = [i for i in desk.provider.outbox(request_id=production, limit=1000).items
            if i.kind == "notice" and i.payload.get("kind") == "production-moved"]  # fmt: skip
    if len(told) != len(follows):
        found.append(f"{len(told)} production-moved notices for {len(follows)} moves")
    slots = Counter(
        b.scheduled_for for b in desk.storage.requests_in(tuple(BOOKED)) if b.scheduled_for
    )
    found += [f"{n} updates at {at}" for at, n in slots.items() if n > PRESET.capacity]
    desk.close()
    return found


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_r13_staging_moved_twice_at_once_while_planning_keeps_production_the_soak_after(
    backend: str, tmp_path: Path
) -> None:
    _need(backend)
    _, results, queues, procs = _processes(MOVES)
    for p in procs:
        p.start()
    violations: List[str] = []
    winners: Counter[str] = Counter()
    try:
        for n in range(ROUNDS):
            with _storage(backend, tmp_path, 1000 + n) as url:
                staging, production = _setup_moves(url)
                for q in queues:
                    q.put((url, BEFORE, staging, production))
                outcomes = [results.get(timeout=120) for _ in MOVES]
                winners.update(a for a, o in outcomes if o == "ok")
                violations += [
                    f"round {n}: {v}" for v in _move_violations(url, staging, production, outcomes)
                ]
    finally:
        for q in queues:
            q.put(None)
        for p in procs:
            p.join(60)
    assert violations == []
    assert winners["reschedule-staging"] == ROUNDS
