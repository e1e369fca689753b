"""iCalendar files: writing the schedule, reading blackouts across zones and DST."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from siteupdates.errors import ConfigurationError
from siteupdates.notices import CalendarEntry
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, sample_setup
from siteupdates_ical import IcsCalendar, format_calendar, parse_events
from siteupdates_ical.ics import Event

UTC = timezone.utc


def test_events_round_trip_with_escaping_and_folding() -> None:
    long = "Maple Grove District; production/sandbox, E.1505.2 — " + "x" * 80 + "\nsecond line"
    e = Event("r1@siteupdates", long, datetime(2026, 3, 8, 9, tzinfo=UTC),
              datetime(2026, 3, 8, 11, tzinfo=UTC), sequence=3, tenant="d1")  # fmt: skip
    text = format_calendar([e], stamp=datetime(2026, 1, 1, tzinfo=UTC))
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert parse_events(text) == [e]


def test_blackouts_in_a_zone_an_all_day_date_and_a_yearly_rule() -> None:
    text = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0",
        "BEGIN:VEVENT", "UID:a", "SUMMARY:Spring break",
        "DTSTART;TZID=America/Chicago:20270313T180000",
        "DTEND;TZID=America/Chicago:20270315T060000", "END:VEVENT",
        "BEGIN:VEVENT", "UID:b", "SUMMARY:Winter break", "DTSTART;VALUE=DATE:20261224",
        "DTEND;VALUE=DATE:20270102", "RRULE:FREQ=YEARLY", "X-SITEUPDATES-TENANT:d1",
        "BEGIN:VALARM", "TRIGGER:-PT15M", "END:VALARM", "END:VEVENT",
        "BEGIN:VEVENT", "UID:c", "SUMMARY:Exams", "DTSTART:20270510T000000Z",
        "DURATION:P2DT12H", "END:VEVENT",
        "END:VCALENDAR", "",
    ])  # fmt: skip
    spring, winter, exams = parse_events(text, zone="America/Chicago")
    # 2027-03-14 springs forward: 18:00 CST on the 13th, 06:00 CDT on the 15th.
    assert spring.start == datetime(2027, 3, 14, 0, tzinfo=UTC)
    assert spring.end == datetime(2027, 3, 15, 11, tzinfo=UTC)
    assert winter.yearly and winter.tenant == "d1"
    assert winter.start == datetime(2026, 12, 24, 6, tzinfo=UTC)
    assert exams.end - exams.start == timedelta(days=2, hours=12)


def test_unsupported_recurrences_and_broken_lines_are_refused_clearly() -> None:
    weekly = "BEGIN:VEVENT\nUID:w\nDTSTART:20260101T000000Z\nRRULE:FREQ=WEEKLY\nEND:VEVENT\n"
    with pytest.raises(ConfigurationError, match="only RRULE:FREQ=YEARLY"):
        parse_events(weekly)
    with pytest.raises(ConfigurationError, match="malformed iCalendar date-time"):
        parse_events("BEGIN:VEVENT\nUID:x\nDTSTART:tomorrow\nEND:VEVENT\n")
    with pytest.raises(ConfigurationError, match="no DTSTART"):
        parse_events("BEGIN:VEVENT\nUID:x\nEND:VEVENT\n")


def test_the_schedule_file_follows_publish_move_and_withdraw(tmp_path: Path) -> None:
    path = tmp_path / "schedule.ics"
    cal = IcsCalendar(path)
    host = PluginHost(plugins=[cal], entry_points=False)
    desk = Desk.open("memory://", host=host, clock=FixedClock())
    desk.load_setup(sample_setup())
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(rid, datetime(2026, 3, 8, 9, tzinfo=UTC))
    desk.deliver()
    [e] = cal.events()
    assert e.uid == f"{rid}@siteupdates" and e.start == datetime(2026, 3, 8, 9, tzinfo=UTC)
    assert e.end - e.start == timedelta(hours=2) and "Example District" in e.summary
    desk.reschedule(rid, datetime(2026, 3, 15, 9, tzinfo=UTC), "capacity")
    desk.deliver()
    [moved] = cal.events()
    assert moved.start == datetime(2026, 3, 15, 9, tzinfo=UTC) and moved.sequence == 1
    desk.cancel("dana", rid)
    desk.deliver()
    assert cal.events() == []


def test_blackouts_from_a_file_move_planned_dates(tmp_path: Path) -> None:
    (tmp_path / "blackouts.ics").write_text(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:sb\r\nSUMMARY:Spring break\r\n"
        "DTSTART;VALUE=DATE:20260307\r\nDTEND;VALUE=DATE:20260309\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    cal = IcsCalendar(blackouts=tmp_path / "blackouts.ics", zone="America/Chicago")
    desk = Desk.open("memory://", host=PluginHost(plugins=[cal], entry_points=False),
                     clock=FixedClock())  # fmt: skip
    desk.load_setup(sample_setup())
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 1)).request.id
    desk.plan_queue()
    r = desk.storage.request(rid)
    assert r is not None and r.scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)
    assert "blackout Spring break" in desk.explain(rid).render()


def test_a_withdraw_of_an_unknown_event_is_harmless(tmp_path: Path) -> None:
    cal = IcsCalendar(tmp_path / "s.ics")
    entry = CalendarEntry("k", "withdraw", "nope", "d1", "x", None, None)
    assert cal.siteupdates_calendar_update(entry) is True
    assert cal.events() == []
