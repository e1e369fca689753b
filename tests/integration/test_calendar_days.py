"""R12 through the Desk: rules written in days count calendar days (issue 23).

The preset's window is Sunday 04:00-09:00 America/Chicago; clocks spring forward
on Sunday 8 March 2026, so 7 calendar days from 1 March are 167 elapsed hours.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from siteupdates.domain import Catalog, DeferralRules, NoticeTiers, SchedulingRules
from siteupdates.errors import RequestRefused
from siteupdates.plugins import PluginHost
from siteupdates.ports import Setup
from siteupdates.presets import CAMPUS_HOSTING
from siteupdates.service import Desk
from siteupdates.setupfile import setup_from_dict
from siteupdates.testing import FixedClock, RecordingNotifier, sample_setup

UTC = timezone.utc


def _desk(clock: FixedClock, ladder: Any = None, **rules: Any) -> Desk:
    preset = attrs.evolve(CAMPUS_HOSTING, scheduling=SchedulingRules(**rules))
    host = PluginHost(plugins=[RecordingNotifier()], entry_points=False)
    desk = Desk.open("memory://", host=host, clock=clock, preset=preset)
    setup = sample_setup()
    if ladder is not None:
        notices = setup_from_dict({"notices": {"reminders": ladder}}).settings["notices"]
        setup = attrs.evolve(setup, settings={**setup.settings, "notices": notices})
    desk.load_setup(setup)
    return desk


def _booked(desk: Desk, at: datetime) -> str:
    asked = (desk.now() + timedelta(hours=1)).replace(tzinfo=None)  # wall time, an hour off
    rid = desk.submit("dana", "d1", "staging", None, db_refresh=True, at=asked).request.id
    desk.schedule(rid, at)
    return rid


def test_r12_postpone_7_days_across_spring_forward_lands_on_the_same_wall_time() -> None:
    desk = _desk(FixedClock(datetime(2026, 2, 20, 12, tzinfo=UTC)))
    rid = _booked(desk, datetime(2026, 3, 1, 10, tzinfo=UTC))  # Sunday 04:00 CST
    moved = desk.postpone("dana", rid, days=7)
    # Sunday 8 March 04:00 CDT (09:00Z), not 7 x 24 h later (05:00 CDT, whose slot
    # would be 06:00 CDT, 11:00Z).
    assert moved.scheduled_for == datetime(2026, 3, 8, 9, tzinfo=UTC)
    desk.close()


def test_r12_the_deferral_period_counts_calendar_days_in_the_requests_zone() -> None:
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))  # 06:00 CST
    rules = DeferralRules(per_request=None, per_period=1, period=timedelta(days=7))
    desk = _desk(clock, deferral=rules)
    rid = _booked(desk, datetime(2026, 3, 22, 9, tzinfo=UTC))
    desk.postpone("dana", rid, next_window=True)
    clock.now = datetime(2026, 3, 8, 10, 30, tzinfo=UTC)  # 05:30 CDT: within 7 days
    with pytest.raises(RequestRefused, match="in the last 7 days: at most 1 in that period"):
        desk.postpone("dana", rid, next_window=True)
    # 06:30 CDT on 8 March: 7 calendar days after 06:00 CST on 1 March have passed,
    # although only 166 h 30 min have elapsed.
    clock.now = datetime(2026, 3, 8, 11, 30, tzinfo=UTC)
    assert desk.postpone("dana", rid, next_window=True).scheduled_for is not None
    desk.close()


def test_r12_a_reminder_written_in_days_fires_at_the_same_wall_time_on_the_contacts_calendar() -> (
    None
):
    desk = _desk(FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC)), ladder=["2d", "47h"])
    rid = _booked(desk, datetime(2026, 3, 9, 15, tzinfo=UTC))  # Monday 10:00 CDT
    due = {
        o.key.split(":", 2)[2]: o.next_attempt_at
        for o in desk.storage.outbox(request_id=rid)
        if o.kind == "reminder"
    }
    # "2d": Saturday 7 March 10:00 CST (16:00Z), 47 elapsed hours before, the instant
    # "47h" names too: one reminder, not two at once.
    assert due == {"reminder-2d": datetime(2026, 3, 7, 16, tzinfo=UTC)}
    desk.close()


def test_r10_a_group_update_waits_for_the_longest_notice_tier_of_its_members() -> None:
    tiers = NoticeTiers({"normal": timedelta(days=14)}, None, {"d3": "normal"})
    desk = _desk(FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC)), notice=tiers)
    made = desk.group_update(
        "state-x", "production/sandbox", "E.1505.2", earliest=datetime(2026, 3, 2, tzinfo=UTC)
    )
    # 14 calendar days after 1 March 06:00 CST: 15 March 06:00 CDT (11:00Z), the second
    # slot of that Sunday; without the tier the group would go on 8 March.
    assert {r.scheduled_for for r in made} == {datetime(2026, 3, 15, 11, tzinfo=UTC)}
    desk.close()


def test_r8_the_weekly_update_waits_for_the_tenants_notice_tier() -> None:
    tiers = NoticeTiers({"long": timedelta(days=21)}, "long")
    desk = _desk(FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC)), notice=tiers)
    desk.storage.save_setup(Setup(catalog=Catalog.of("E.1509.0")))
    made = desk.cloud_week(date(2026, 3, 11))
    # The week's window (15 March) and the next (22 March 04:00 CDT) open before
    # 22 March 06:00 CDT, 21 calendar days after the notice: 29 March it is.
    assert {r.scheduled_for for r in made} == {datetime(2026, 3, 29, 9, tzinfo=UTC)}
    assert {r.booking for r in made} == {"cloud-week:2026-03-23"}
    assert all("notice tier 'long'" in (r.reason or "") for r in made)
    assert desk.cloud_week(date(2026, 3, 11)) == ()
    assert desk.cloud_week(date(2026, 3, 25)) == ()
    desk.close()
