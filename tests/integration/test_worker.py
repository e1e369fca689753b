"""R15, R20: hosting workers on memory and SQLite: claim, run, fail, take over, stop."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import List

import pytest

from siteupdates.app import changes
from siteupdates.app.worker import GENERIC_REASON, Worker
from siteupdates.domain import Actor, Event, Status, Tenant, UpdateRequest
from siteupdates.errors import LeaseLost
from siteupdates.hookspecs import hookimpl
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, RecordingNotifier

UTC = timezone.utc


class Updater:
    def __init__(self) -> None:
        self.done: List[str] = []
        self.fail_with: str | None = None

    @hookimpl
    def siteupdates_perform_update(self, request: UpdateRequest, tenant: Tenant) -> bool:
        if self.fail_with:
            raise RuntimeError(self.fail_with)
        self.done.append(request.id)
        return True


@pytest.fixture
def updater() -> Updater:
    return Updater()


@pytest.fixture
def host(updater: Updater, notifier: RecordingNotifier) -> PluginHost:
    return PluginHost(plugins=[updater, notifier], entry_points=False)


def booked(desk: Desk, clock: FixedClock, n: int = 1) -> List[str]:
    ids = []
    for _ in range(n):
        clock.advance(timedelta(seconds=1))
        rid = desk.submit(
            "dana", "d1", "production/sandbox", "E.1505.2", at=datetime(2026, 3, 7, 22)
        ).request.id
        desk.schedule(rid, clock.now)
        ids.append(rid)
    return ids


def worker_for(desk: Desk, host: PluginHost, name: str, **kw: float) -> Worker:
    return Worker(Desk(desk.storage, host=host, clock=desk.clock), name, **kw)  # type: ignore[arg-type]


def test_r15_a_worker_runs_a_due_request_to_completion(
    desk: Desk, clock: FixedClock, host: PluginHost, updater: Updater
) -> None:
    [rid] = booked(desk, clock)
    w = worker_for(desk, host, "w1")
    assert w.run_once() == 1
    r = desk.storage.request(rid)
    assert r is not None and r.status is Status.COMPLETED
    assert [h.event for h in desk.history(rid)][-3:] == [Event.PULL, Event.START, Event.COMPLETE]
    assert desk.storage.lease(rid) is None
    tenant = desk.storage.tenant("d1")
    assert tenant is not None and str(tenant.sites[1].version) == "E.1505.2"  # R1: sandbox too
    assert updater.done == [rid] and w.report.completed == 1


def test_a_request_not_yet_due_is_not_claimed(
    desk: Desk, clock: FixedClock, host: PluginHost
) -> None:
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(rid, clock.now + timedelta(hours=1))
    assert worker_for(desk, host, "w1").run_once() == 0


def test_r20_a_failed_update_is_unable_to_complete_and_the_contact_reads_why(
    desk: Desk, clock: FixedClock, host: PluginHost, updater: Updater, notifier: RecordingNotifier
) -> None:
    [rid] = booked(desk, clock)
    updater.fail_with = "database copy failed: disk full"
    worker_for(desk, host, "w1").run_once()
    r = desk.storage.request(rid)
    assert r is not None and r.status is Status.UNABLE_TO_COMPLETE
    desk.deliver()
    [failed] = [n for n in notifier.delivered if n.kind == "unable-to-complete"]
    # The hook's internal error goes to the provider's log, not to the contact.
    assert "disk full" not in failed.body and GENERIC_REASON in failed.body


def test_an_expired_lease_is_taken_over_and_the_first_worker_is_refused(
    desk: Desk, clock: FixedClock, host: PluginHost
) -> None:
    [rid] = booked(desk, clock)
    [first] = desk.storage.claim("w1", clock.now, 30)
    clock.advance(timedelta(seconds=31))
    w2 = worker_for(desk, host, "w2", lease_seconds=30)
    assert w2.run_once() == 1
    r = desk.storage.request(rid)
    assert r is not None and r.status is Status.COMPLETED
    events = [h.event for h in desk.history(rid)]
    assert events[-4:] == [Event.PULL, Event.RECLAIM, Event.START, Event.COMPLETE]
    w1 = worker_for(desk, host, "w1")
    assert w1.process(first) is None and w1.report.lost == 1
    assert [h.event for h in desk.history(rid)] == events


def test_a_request_that_keeps_dying_becomes_unable_to_complete(
    desk: Desk, clock: FixedClock, host: PluginHost
) -> None:
    [rid] = booked(desk, clock)
    for _ in range(3):
        desk.storage.claim("crashy", clock.now, 10)
        clock.advance(timedelta(seconds=11))
    w = worker_for(desk, host, "w", max_attempts=3)
    w.run_once()
    r = desk.storage.request(rid)
    assert r is not None and r.status is Status.UNABLE_TO_COMPLETE
    assert "after 3 attempts" in (r.reason or "")


def test_a_stopping_worker_hands_back_what_it_has_not_started(
    desk: Desk, clock: FixedClock, host: PluginHost
) -> None:
    [rid] = booked(desk, clock)
    [claim] = desk.storage.claim("w1", clock.now, 30)
    w = worker_for(desk, host, "w1")
    w.stop()
    r = w.process(claim)
    assert r is not None and r.status is Status.SCHEDULED
    assert desk.storage.lease(rid) is None
    assert w.run_once() == 0  # a stopped worker claims nothing more
    [again] = desk.storage.claim("w2", clock.now, 30)
    assert again.request.id == rid


def test_without_an_updater_plugin_requests_are_handed_back(desk: Desk, clock: FixedClock) -> None:
    [rid] = booked(desk, clock)
    w = worker_for(desk, PluginHost(entry_points=False), "w1")
    w.run_once()
    r = desk.storage.request(rid)
    assert r is not None and r.status is Status.SCHEDULED and w.report.released == 1


def test_fencing_refuses_any_write_of_a_worker_that_lost_its_lease(
    desk: Desk, clock: FixedClock
) -> None:
    [rid] = booked(desk, clock)
    [first] = desk.storage.claim("w1", clock.now, 30)
    clock.advance(timedelta(seconds=31))
    desk.storage.claim("w2", clock.now, 30)
    current = desk.storage.request(rid)
    assert current is not None
    _, cs = changes.transition(
        desk.app, desk.storage, current, Event.START, actor=Actor.PROVIDER, by="w1",
        fence=first.fence,
    )  # fmt: skip
    with pytest.raises(LeaseLost):
        desk.storage.apply(cs)
    after = desk.storage.request(rid)
    assert after == current
