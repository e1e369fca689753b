"""Attacks on reminder ladders (R20) and on staged production after its gate (R13, R15).

Dates: the clock starts Sunday 1 March 2026 12:00 UTC; the preset's window is
Sunday 04:00-09:00 Chicago, two 2-hour slots (09:00 and 11:00 UTC from 8 March).
A staged submit plans staging on 8 March 09:00 UTC and production, after the
default 2-day soak, on 15 March 09:00 UTC, waiting at the gate (Pending Input).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import attrs
import psycopg
import pytest

from siteupdates.app.slots import stage_link
from siteupdates.app.worker import Worker
from siteupdates.domain import SchedulingRules, StagingRules, Status
from siteupdates.errors import InvalidInput
from siteupdates.plugins import PluginHost
from siteupdates.ports import OutboxState
from siteupdates.presets import CAMPUS_HOSTING
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, RecordingNotifier, sample_setup

UTC = timezone.utc
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
MAR8 = datetime(2026, 3, 8, 9, tzinfo=UTC)
MAR15 = datetime(2026, 3, 15, 9, tzinfo=UTC)
PG_BASE = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_or_skip() -> None:
    try:
        with psycopg.connect(PG_BASE, connect_timeout=3):
            pass
    except psycopg.Error as exc:
        pytest.skip(f"no PostgreSQL server: {str(exc).strip().splitlines()[0]}")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield "memory://"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 's.db'}"
    else:
        _pg_or_skip()
        schema = f"su_attack_{uuid.uuid4().hex[:10]}"
        yield f"{PG_BASE}?schema={schema}&pool_max=2"
        with psycopg.connect(PG_BASE, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _open(url: str, clock: FixedClock, **rules: Any) -> Desk:
    preset = attrs.evolve(CAMPUS_HOSTING, scheduling=SchedulingRules(**rules))
    plugins: List[object] = [RecordingNotifier()]
    if url.startswith("postgresql"):
        import siteupdates_postgres

        plugins.append(siteupdates_postgres)
    desk = Desk.open(
        url, host=PluginHost(plugins=plugins, entry_points=False), clock=clock, preset=preset
    )
    desk.load_setup(sample_setup())
    return desk


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def desk(url: str, clock: FixedClock) -> Iterator[Desk]:
    d = _open(url, clock)
    yield d
    d.close()


def _pending(desk: Desk, rid: str) -> List[str]:
    """The keys (without the request ID) of the request's reminders still to send."""
    return sorted(
        o.key.split(":", 1)[1]
        for o in desk.storage.outbox(request_id=rid)
        if o.kind == "reminder" and o.state is OutboxState.PENDING
    )


def _rungs(desk: Desk, rid: str) -> Counter[str]:
    """How many pending reminders each rung (``reminder-24h``...) has: one each, at most."""
    return Counter(k.split(":")[1] for k in _pending(desk, rid))


def _staged(desk: Desk, clock: FixedClock) -> Tuple[str, str]:
    made = desk.submit_staged("dana", "d1", "E.1505.2", at=datetime(2026, 3, 7, 9))
    desk.plan_queue(horizon=clock.now + timedelta(days=60))
    prod = desk.find(made.production.id)
    assert prod.status is Status.PENDING_INPUT and prod.scheduled_for == MAR15
    return made.staging.id, made.production.id


def _run(desk: Desk, rid: str, *, ok: bool = True) -> None:
    desk.pull(rid)
    desk.start(rid)
    if ok:
        desk.complete(rid)
    else:
        desk.fail(rid, "the staging database did not come back")


def _approved(desk: Desk, clock: FixedClock) -> str:
    """Staged production, planned, its staging run, approved by the contact: its ID."""
    staging, prod = _staged(desk, clock)
    clock.now = MAR8 + timedelta(minutes=5)
    _run(desk, staging)
    desk.approve("dana", prod)
    return prod


# -- R20: no reminder stays pending for a request that leaves its date -----------------


@pytest.mark.parametrize("how", ["decline", "defer", "fail", "staging-failed"])
def test_r20_production_leaving_its_gate_without_its_date_withdraws_its_reminders(
    desk: Desk, clock: FixedClock, how: str
) -> None:
    staging, prod = _staged(desk, clock)
    if how == "decline":
        desk.decline("dana", prod)
    elif how == "defer":
        desk.defer(prod, "host migration")
    elif how == "fail":
        desk.fail(prod, "the licence of the new version is missing")
    else:
        clock.now = MAR8 + timedelta(minutes=5)
        _run(desk, staging, ok=False)
        assert [r.id for r in desk.advance_stages()] == [prod]
    assert desk.find(prod).status is not Status.SCHEDULED
    assert _pending(desk, prod) == []


def test_r20_production_at_its_gate_sends_no_reminder_while_it_waits(
    desk: Desk, clock: FixedClock
) -> None:
    """The gate's pending ladder (see above) must at least never be sent."""
    _, prod = _staged(desk, clock)
    clock.now = MAR15 - timedelta(minutes=30)
    desk.deliver()
    assert all(
        o.state is not OutboxState.DELIVERED
        for o in desk.storage.outbox(request_id=prod)
        if o.kind == "reminder"
    )


@pytest.mark.parametrize("approver", ["contact", "auto"])
def test_r20_approval_leaves_exactly_one_ladder_of_rungs_still_ahead(
    url: str, clock: FixedClock, approver: str
) -> None:
    desk = _open(url, clock, staging=StagingRules(auto_approve=approver == "auto"))
    try:
        staging, prod = _staged(desk, clock)
        clock.now = MAR8 + timedelta(minutes=5)
        _run(desk, staging)
        if approver == "contact":
            approved = desk.approve("dana", prod)
        else:
            clock.now = MAR8 + timedelta(days=2, hours=1)
            [approved] = desk.advance_stages()
        assert approved.status is Status.SCHEDULED and stage_link(approved) is None
        seq = approved.revision
        assert _pending(desk, prod) == sorted(
            f"{seq}:reminder-{lead}" for lead in ("72h", "24h", "1h")
        )
        # A later question is an ordinary one (R15) and its answer re-arms one ladder.
        desk.ask_input(prod, "May we restart the cache?", by="ops")
        assert _pending(desk, prod) == []
        back = desk.answer("dana", prod, "yes")
        assert back.status is Status.SCHEDULED and back.scheduled_for == MAR15
        assert set(_rungs(desk, prod).values()) == {1}
        assert {k.split(":")[0] for k in _pending(desk, prod)} == {str(back.revision)}
    finally:
        desk.close()


def test_r15_questions_answered_again_and_again_keep_one_ladder(
    desk: Desk, clock: FixedClock
) -> None:
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    start = datetime(2026, 3, 8, 4, tzinfo=UTC)
    desk.schedule(rid, start)
    for i in range(3):
        clock.advance(timedelta(hours=10))
        desk.ask_input(rid, f"question {i}?", by="ops")
        if i % 2:
            desk.mark_answered(rid, "phoned", by="ops")
        else:
            desk.answer("dana", rid, "ok")
    r = desk.find(rid)
    assert r.status is Status.SCHEDULED
    # 1 March 12:00 + 30 h = 2 March 18:00: the 72h rung (5 March 04:00) is ahead.
    assert _pending(desk, rid) == sorted(
        f"{r.revision}:reminder-{lead}" for lead in ("72h", "24h", "1h")
    )


def test_r13_a_reschedule_so_close_that_every_rung_is_past_arms_nothing_and_withdraws_all(
    desk: Desk, clock: FixedClock
) -> None:
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(rid, datetime(2026, 3, 8, 4, tzinfo=UTC))
    assert len(_pending(desk, rid)) == 3
    desk.reschedule(rid, clock.now + timedelta(minutes=30), reason="a free slot came up")
    assert _pending(desk, rid) == []


def test_r20_a_worker_handing_a_due_request_back_arms_no_rung_in_the_past(
    desk: Desk, clock: FixedClock
) -> None:
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    start = datetime(2026, 3, 8, 4, tzinfo=UTC)
    desk.schedule(rid, start)
    clock.now = start + timedelta(minutes=1)
    worker = Worker(Desk(desk.storage, host=PluginHost(entry_points=False), clock=clock), "w1")
    assert worker.run_once() == 1 and worker.report.released == 1
    r = desk.find(rid)
    assert r.status is Status.SCHEDULED
    fresh = [
        o
        for o in desk.storage.outbox(request_id=rid)
        if o.kind == "reminder" and o.key.startswith(f"{rid}:{r.revision}:")
    ]
    assert fresh == []


def test_r20_group_and_weekly_bookings_arm_one_reminder_per_rung_and_contact(
    desk: Desk, clock: FixedClock
) -> None:
    made = desk.group_update(
        "state-x", "production/sandbox", "E.1505.2", earliest=datetime(2026, 3, 5, tzinfo=UTC)
    )
    week = desk.cloud_week(datetime(2026, 3, 9, tzinfo=UTC).date())
    assert made
    for r in (*made, *week):
        keys = _pending(desk, r.id)
        assert len(keys) == len(set(keys))
        per_rung = Counter(k.split(":")[1] for k in keys)
        assert len(set(per_rung.values())) <= 1  # every rung reaches the same contacts


def test_r20_a_batch_submit_arms_no_reminder(desk: Desk) -> None:
    from siteupdates.domain import RequestDraft, Target, Version

    drafts = [
        RequestDraft("d1", Target.STAGING, Version.parse("E.1505.2"), False,
                     datetime(2026, 3, 7, 22)),
        RequestDraft("d1", Target.PRODUCTION_SANDBOX, None, True, datetime(2026, 3, 7, 22)),
    ]  # fmt: skip
    results = desk.submit_many("dana", drafts)
    assert [r.accepted for r in results] == [True, True], [r.refusals for r in results]
    reminders = [o for o in desk.storage.outbox() if o.kind == "reminder"]
    assert reminders == []


# -- R13: the soak is a rule of production, not of its gate -----------------------------


def test_r13_approved_production_moved_and_planned_again_still_waits_the_soak_after_staging(
    desk: Desk, clock: FixedClock
) -> None:
    prod = _approved(desk, clock)
    # The contact moves it to the slot right after staging (8 March 11:00 UTC).
    desk.move("dana", prod, at=datetime(2026, 3, 8, 6))
    desk.plan_queue(horizon=clock.now + timedelta(days=60))
    r = desk.find(prod)
    soak_ends = MAR8 + desk.preset.update_duration + timedelta(days=2)
    assert r.scheduled_for is not None and r.scheduled_for >= soak_ends, r.scheduled_for
    # ... and it is not a second gate (the reason the link was cleared).
    assert r.status is Status.SCHEDULED


def test_r15_approved_production_is_no_second_gate_and_explains_its_date(
    desk: Desk, clock: FixedClock
) -> None:
    prod = _approved(desk, clock)
    with pytest.raises(InvalidInput, match="not a production update waiting on staging"):
        desk.approve("dana", prod)
    desk.ask_input(prod, "Which cache?", by="ops")
    assert desk.mark_answered(prod, "phoned", by="ops").status is Status.SCHEDULED
    text = desk.explain(prod).render()
    assert "Scheduled, not in the queue" in text


# -- two processes answering one question at once ----------------------------------------

RACE_ROUNDS = 8


def _race_answerer(url: str, index: int, rounds: int, barrier: Any, results: Any) -> None:
    """Process 0 asks and answers as the contact; process 1 records an answer for the provider."""
    from siteupdates.errors import ConflictError, RequestRefused

    desk = _open(url, FixedClock(T0)) if index == 0 else None
    if desk is None:
        plugins: List[object] = []
        if url.startswith("postgresql"):
            import siteupdates_postgres

            plugins.append(siteupdates_postgres)
        desk = Desk.open(url, host=PluginHost(plugins=plugins, entry_points=False),
                         clock=FixedClock(T0))  # fmt: skip
    try:
        for n in range(rounds):
            if index == 0:
                rid = desk.submit(
                    "dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)
                ).request.id
                desk.schedule(rid, datetime(2026, 3, 8, 4, tzinfo=UTC))
                desk.ask_input(rid, f"question {n}?", by="ops")
            barrier.wait(timeout=60)
            if index == 1:
                [waiting] = desk.storage.requests_in((Status.PENDING_INPUT,))
                rid = waiting.id
            barrier.wait(timeout=60)
            try:
                if index == 0:
                    desk.answer("dana", rid, "yes")
                else:
                    desk.mark_answered(rid, "phoned: yes", by="ops")
                outcome = "answered"
            except RequestRefused:
                outcome = "refused"
            except ConflictError:
                outcome = "conflict"
            barrier.wait(timeout=60)
            if index == 0:
                r = desk.find(rid)
                results.put((n, index, outcome, r.status.value, r.revision, _pending(desk, rid)))
                desk.cancel("dana", rid)
            else:
                results.put((n, index, outcome, "", 0, []))
            barrier.wait(timeout=60)
    finally:
        desk.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_r15_two_processes_answering_at_once_leave_one_ladder(
    backend: str, tmp_path: Path
) -> None:
    import multiprocessing

    if backend == "postgres":
        _pg_or_skip()
        schema = f"su_attack_{uuid.uuid4().hex[:10]}"
        url = f"{PG_BASE}?schema={schema}&pool_max=2"
    else:
        url = f"sqlite:///{tmp_path / 'race.db'}"
    _open(url, FixedClock(T0)).close()  # the schema and the setup, before the race
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_race_answerer, args=(url, i, RACE_ROUNDS, barrier, results))
        for i in range(2)
    ]
    try:
        for p in procs:
            p.start()
        found = [results.get(timeout=120) for _ in range(2 * RACE_ROUNDS)]
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
    finally:
        if backend == "postgres":
            with psycopg.connect(PG_BASE, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    for n in range(RACE_ROUNDS):
        rows = [f for f in found if f[0] == n]
        outcomes = sorted(f[2] for f in rows)
        assert outcomes.count("answered") == 1, (n, outcomes)
        [(_, _, _, status, revision, pending)] = [f for f in rows if f[1] == 0]
        assert status == "scheduled"
        assert pending == sorted(f"{revision}:reminder-{x}" for x in ("72h", "24h", "1h"))
