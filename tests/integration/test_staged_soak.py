"""R13, staging then production: the soak is measured from staging's actual completion.

The preset's window is Sunday 04:00-09:00 America/Chicago: 2-hour slots from
10:00 UTC on 1 March 2026 (CST) and from 09:00 UTC after 8 March (CDT). A move or a
late completion of staging moves production waiting at its gate, in the same
change, and its contact is told (``production-moved``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List, Tuple

import attrs
import pytest

from siteupdates.domain import Event, SchedulingRules, StagingRules, Status
from siteupdates.notices import Notice
from siteupdates.plugins import PluginHost
from siteupdates.presets import CAMPUS_HOSTING
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, RecordingNotifier, sample_setup

UTC = timezone.utc
SOAK = timedelta(hours=72)
DONE_5 = datetime(2026, 3, 5, 20, tzinfo=UTC)  # staging's completion after its move


@pytest.fixture(params=["memory", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 's.db'}"


def _desk(url: str, clock: FixedClock, notifier: RecordingNotifier) -> Desk:
    rules = SchedulingRules(staging=StagingRules(soak=SOAK))
    preset = attrs.evolve(CAMPUS_HOSTING, scheduling=rules)
    host = PluginHost(plugins=[notifier], entry_points=False)
    desk = Desk.open(url, host=host, clock=clock, preset=preset)
    desk.load_setup(sample_setup())
    return desk


def _staged(desk: Desk, clock: FixedClock, at: datetime) -> Tuple[str, str]:
    made = desk.submit_staged("dana", "d1", "E.1505.2", at=at)
    desk.plan_queue(horizon=clock.now + timedelta(days=60))
    return made.staging.id, made.production.id


def _run(desk: Desk, clock: FixedClock, rid: str, began: datetime, done: datetime) -> None:
    clock.now = began
    desk.pull(rid)
    desk.start(rid)
    clock.now = done
    desk.complete(rid)


def _moved_notices(desk: Desk, notifier: RecordingNotifier, production: str) -> List[Notice]:
    desk.deliver()
    return [
        n for n in notifier.delivered
        if n.request_id == production and n.kind == "production-moved"
    ]  # fmt: skip


def test_r13_staging_moved_then_completed_late_moves_production_past_the_soak(url: str) -> None:
    # The scenario of issue 23: staging booked Sunday 1 March, moved by the provider to
    # Thursday 5 March 19:00Z and completed 20:00Z; production was on 8 March 09:00Z.
    clock, notifier = FixedClock(datetime(2026, 2, 20, 12, tzinfo=UTC)), RecordingNotifier()
    desk = _desk(url, clock, notifier)
    staging, production = _staged(desk, clock, datetime(2026, 3, 1, 4))
    assert desk.find(staging).scheduled_for == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert desk.find(production).scheduled_for == datetime(2026, 3, 8, 9, tzinfo=UTC)
    desk.reschedule(staging, datetime(2026, 3, 5, 19, tzinfo=UTC), "staff away")
    # Moved with staging, in the same change: the first slot from 8 March 21:00Z
    # (staging's new end, 21:00Z, plus 72 h) is Sunday 15 March 09:00Z. Still at the gate.
    moved = desk.find(production)
    assert moved.status is Status.PENDING_INPUT
    assert moved.scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)
    last = desk.history(production)[-1]
    assert last.event is Event.FOLLOW_STAGING
    assert (last.old_date, last.new_date) == (datetime(2026, 3, 8, 9, tzinfo=UTC),
                                              moved.scheduled_for)  # fmt: skip
    [told] = _moved_notices(desk, notifier, production)
    assert told.contact_id == "dana" and "Mar. 15, 2026" in told.body, told.body
    assert "production waits 3 days after it" in told.body
    why = "\n".join(desk.explain(production).lines)
    assert "production waits 3 days after staging" in why and "placed at Mar. 15" in why
    _run(desk, clock, staging, datetime(2026, 3, 5, 19, tzinfo=UTC), DONE_5)
    approved = desk.approve("dana", production)
    assert approved.status is Status.SCHEDULED
    assert approved.scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)
    assert approved.scheduled_for - DONE_5 >= SOAK
    desk.close()


def test_r13_a_late_completion_of_staging_moves_production_and_tells_the_contact(
    url: str,
) -> None:
    clock, notifier = FixedClock(datetime(2026, 2, 20, 12, tzinfo=UTC)), RecordingNotifier()
    desk = _desk(url, clock, notifier)
    staging, production = _staged(desk, clock, datetime(2026, 3, 1, 4))
    # Staging's slot was 1 March 10:00-12:00Z; it ran days late and completed
    # Thursday 5 March 22:00Z: 8 March 09:00Z would be 59 h after it.
    _run(desk, clock, staging, datetime(2026, 3, 5, 20, tzinfo=UTC),
         datetime(2026, 3, 5, 22, tzinfo=UTC))  # fmt: skip
    moved = desk.find(production)
    assert moved.status is Status.PENDING_INPUT
    assert moved.scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)
    [told] = _moved_notices(desk, notifier, production)
    assert "staging (request" in told.body and "completed" in told.body
    approved = desk.approve("dana", production)
    assert approved.scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)
    desk.close()


def test_r13_the_contact_postponing_staging_moves_production_too(url: str) -> None:
    clock, notifier = FixedClock(datetime(2026, 2, 20, 12, tzinfo=UTC)), RecordingNotifier()
    desk = _desk(url, clock, notifier)
    staging, production = _staged(desk, clock, datetime(2026, 3, 1, 4))
    later = desk.postpone("dana", staging, days=7)
    # 8 March 09:00Z is production's own slot (one update of a tenant at a time).
    assert later.scheduled_for == datetime(2026, 3, 8, 11, tzinfo=UTC)
    # 8 March 13:00Z + 72 h: the first slot is Sunday 15 March 09:00Z.
    assert desk.find(production).scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)
    assert len(_moved_notices(desk, notifier, production)) == 1
    desk.close()


def test_r13_staging_moved_by_the_contact_and_planned_again_moves_production(url: str) -> None:
    clock, notifier = FixedClock(datetime(2026, 2, 20, 12, tzinfo=UTC)), RecordingNotifier()
    desk = _desk(url, clock, notifier)
    staging, production = _staged(desk, clock, datetime(2026, 3, 1, 4))
    desk.move("dana", staging, at=datetime(2026, 3, 8, 4))  # back to the queue
    # Production keeps its slot until staging has a new one to soak after.
    assert desk.find(production).scheduled_for == datetime(2026, 3, 8, 9, tzinfo=UTC)
    desk.plan_queue(horizon=clock.now + timedelta(days=60))
    assert desk.find(staging).scheduled_for == datetime(2026, 3, 8, 11, tzinfo=UTC)
    moved = desk.find(production)
    assert moved.status is Status.PENDING_INPUT
    assert moved.scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)
    assert desk.history(production)[-1].by == "planner"
    assert len(_moved_notices(desk, notifier, production)) == 1
    desk.close()


def test_r13_staging_moved_earlier_leaves_production_where_it_is(url: str) -> None:
    clock, notifier = FixedClock(datetime(2026, 2, 20, 12, tzinfo=UTC)), RecordingNotifier()
    desk = _desk(url, clock, notifier)
    staging, production = _staged(desk, clock, datetime(2026, 3, 1, 4))
    desk.reschedule(staging, datetime(2026, 2, 26, 15, tzinfo=UTC), "an earlier opening")
    assert desk.find(production).scheduled_for == datetime(2026, 3, 8, 9, tzinfo=UTC)
    assert desk.history(production)[-1].event is Event.ASK_INPUT
    assert _moved_notices(desk, notifier, production) == []
    desk.close()


def test_r13_production_keeps_its_slot_when_staging_completed_on_time(url: str) -> None:
    clock, notifier = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC)), RecordingNotifier()
    desk = _desk(url, clock, notifier)
    made = desk.submit_staged("dana", "d1", "E.1505.2", at=datetime(2026, 3, 7, 9))
    desk.plan_queue(horizon=clock.now + timedelta(days=60))
    clock.now = datetime(2026, 3, 8, 9, tzinfo=UTC)
    desk.pull(made.staging.id)
    desk.start(made.staging.id)
    clock.now = datetime(2026, 3, 8, 10, tzinfo=UTC)
    desk.complete(made.staging.id)
    approved = desk.approve("dana", made.production.id)
    assert approved.scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)
    assert "moved to" not in (approved.reason or "")
    desk.close()
