"""Several processes on one SQLite file: races are settled by the database, not by luck."""

from __future__ import annotations

import multiprocessing as mp
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from siteupdates.builtin.sqlite import SqliteStorage
from siteupdates.domain import Event, Status
from siteupdates.errors import ConflictError, TransitionNotAllowed
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, sample_setup

UTC = timezone.utc
CTX = mp.get_context("spawn")


def _schedule(url: str, rid: str, hour: int, barrier: Any, results: Any) -> None:
    desk = Desk.open(url, clock=FixedClock())
    barrier.wait(timeout=30)
    try:
        desk.schedule(rid, datetime(2026, 3, 8, hour, tzinfo=UTC), by=f"ops-{hour}")
        results.put(("won", hour))
    except (ConflictError, TransitionNotAllowed):
        # The other scheduled it first: read inside the unit, the request is Scheduled.
        results.put(("refused", hour))
    finally:
        desk.close()


def _submit_many(url: str, n: int, worker: int, results: Any) -> None:
    desk = Desk.open(url, host=PluginHost(entry_points=False), clock=FixedClock())
    ids = []
    for i in range(n):
        ids.append(
            desk.submit(
                "dana", "d1", "staging", None, db_refresh=True,
                at=datetime(2026, 3, 7, 22, 0), idempotency_key=f"w{worker}-{i}",
            ).request.id
        )  # fmt: skip
    desk.close()
    results.put(ids)


@pytest.mark.slow
def test_two_processes_scheduling_one_request_one_wins_one_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    desk = Desk.open(url, host=PluginHost(entry_points=False), clock=FixedClock())
    desk.load_setup(sample_setup())
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    barrier, results = CTX.Barrier(2), CTX.Queue()
    procs = [CTX.Process(target=_schedule, args=(url, rid, h, barrier, results)) for h in (9, 10)]
    for p in procs:
        p.start()
    outcomes = sorted(results.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(30)
    assert [o[0] for o in outcomes] == ["refused", "won"]
    winner = next(h for kind, h in outcomes if kind == "won")
    history = desk.history(rid)
    assert [h.event for h in history] == [Event.SUBMIT, Event.SCHEDULE]
    assert history[-1].by == f"ops-{winner}"
    r = desk.storage.request(rid)
    assert r is not None and r.status is Status.SCHEDULED
    assert r.scheduled_for == datetime(2026, 3, 8, winner, tzinfo=UTC)
    desk.close()


@pytest.mark.slow
def test_four_processes_writing_one_file_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'many.db'}"
    desk = Desk.open(url, host=PluginHost(entry_points=False), clock=FixedClock())
    desk.load_setup(sample_setup())
    results = CTX.Queue()
    procs = [CTX.Process(target=_submit_many, args=(url, 25, w, results)) for w in range(4)]
    for p in procs:
        p.start()
    made = sorted(i for _ in procs for i in results.get(timeout=120))
    for p in procs:
        p.join(30)
    stored = sorted(r.id for r in desk.storage.requests_in([Status.TO_BE_SCHEDULED]))
    assert made == stored and len(stored) == 100
    assert len(desk.storage.outbox()) == 100
    desk.close()


def _claim_all(url: str, name: str, results: Any) -> None:
    storage = SqliteStorage(url)
    got: list[str] = []
    while True:
        claims = storage.claim(name, datetime(2026, 3, 9, tzinfo=UTC), 300, limit=3)
        if not claims:
            break
        got.extend(c.request.id for c in claims)
    storage.close()
    results.put(got)


@pytest.mark.slow
def test_workers_in_three_processes_claim_each_request_of_a_sqlite_file_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    desk = Desk.open(url, host=PluginHost(entry_points=False), clock=FixedClock())
    desk.load_setup(sample_setup())
    ids = []
    for i in range(150):
        rid = desk.submit(
            "dana", "d1", "staging", None, db_refresh=True, at=datetime(2026, 3, 7, 22),
            idempotency_key=f"k{i}",
        ).request.id  # fmt: skip
        desk.schedule(rid, datetime(2026, 3, 8, tzinfo=UTC))
        ids.append(rid)
    results = CTX.Queue()
    procs = [CTX.Process(target=_claim_all, args=(url, f"w{k}", results)) for k in range(3)]
    for p in procs:
        p.start()
    claimed = [i for _ in procs for i in results.get(timeout=120)]
    for p in procs:
        p.join(30)
    assert len(claimed) == len(set(claimed)) and sorted(claimed) == sorted(ids)
    assert len(desk.storage.requests_in([Status.NOT_STARTED], limit=500)) == 150
    assert desk.storage.requests_in([Status.SCHEDULED]) == []
    desk.close()
