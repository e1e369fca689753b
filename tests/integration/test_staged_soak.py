"""R13, staging then production: the soak is measured from staging's actual completion.

The preset's window is Sunday 04:00-09:00 America/Chicago: two 2-hour slots, at
09:00 and 11:00 UTC in March 2026 (after 8 March, CDT).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest

from siteupdates.domain import SchedulingRules, StagingRules, Status
from siteupdates.plugins import PluginHost
from siteupdates.presets import CAMPUS_HOSTING
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, RecordingNotifier, sample_setup

UTC = timezone.utc
SOAK = timedelta(hours=72)


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


def test_r13_production_waits_the_soak_after_staging_completed_late_through_approve(
    url: str,
) -> None:
    clock, notifier = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC)), RecordingNotifier()
    desk = _desk(url, clock, notifier)
    made = desk.submit_staged("dana", "d1", "E.1505.2", at=datetime(2026, 3, 7, 9))
    desk.plan_queue(horizon=clock.now + timedelta(days=60))
    assert desk.find(made.staging.id).scheduled_for == datetime(2026, 3, 8, 9, tzinfo=UTC)
    assert desk.find(made.production.id).scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)
    # Staging moves to Thursday 12 March 19:00Z and completes at 20:00Z.
    desk.reschedule(made.staging.id, datetime(2026, 3, 12, 19, tzinfo=UTC), "staff away")
    clock.now = datetime(2026, 3, 12, 19, tzinfo=UTC)
    desk.pull(made.staging.id)
    desk.start(made.staging.id)
    clock.now = datetime(2026, 3, 12, 20, tzinfo=UTC)
    desk.complete(made.staging.id)
    clock.now = datetime(2026, 3, 13, 8, tzinfo=UTC)
    approved = desk.approve("dana", made.production.id)
    # 15 March 09:00Z would be 61 h after the completion: the first slot at least 72 h
    # after it (15 March 20:00Z) is Sunday 22 March 09:00Z.
    assert approved.status is Status.SCHEDULED
    assert approved.scheduled_for == datetime(2026, 3, 22, 9, tzinfo=UTC)
    assert approved.scheduled_for - datetime(2026, 3, 12, 20, tzinfo=UTC) >= SOAK
    assert "production waits 3 days after it" in (approved.reason or "")
    desk.deliver()
    told = [n for n in notifier.delivered if n.request_id == made.production.id]
    assert any("Mar. 22, 2026" in n.body for n in told), [n.body for n in told]
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
