"""Blackouts from calendars shaped like real exports, checked against recurring-ical-events."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import List, Tuple

import icalendar
import pytest
import recurring_ical_events

from siteupdates.errors import ConfigurationError
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, sample_setup
from siteupdates_ical import BlackoutCalendars, BlackoutSource, parse_calendar, periods_in
from siteupdates_ical._zones import zone_info

UTC = timezone.utc
HERE = Path(__file__).parent / "calendars"
H0, H1 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC)


def u(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def read(
    name: str, zone: str, honour_transp: bool = False
) -> List[Tuple[str, datetime, datetime]]:
    data = (HERE / name).read_bytes()
    periods, problems = periods_in(parse_calendar(data, name), source=name, zone=zone,
                                   start=H0, end=H1, text=data,
                                   honour_transp=honour_transp)  # fmt: skip
    assert problems == []
    return [(p.name, p.start, p.end) for p in periods]


def library_view(
    name: str, zone: str, honour_transp: bool = False
) -> List[Tuple[datetime, datetime]]:
    """The same calendar expanded by recurring-ical-events alone, not cancelled."""

    def at(v: object) -> datetime:
        if not isinstance(v, datetime):
            assert isinstance(v, date)
            v = datetime(v.year, v.month, v.day)
        if v.tzinfo is None:
            v = v.replace(tzinfo=zone_info(zone))
        return v.astimezone(UTC)

    cal = icalendar.Calendar.from_ical((HERE / name).read_bytes())
    out = []
    for occ in recurring_ical_events.of(cal).between(H0, H1):
        if occ.get("STATUS") == "CANCELLED":
            continue
        if honour_transp and occ.get("TRANSP") == "TRANSPARENT":
            continue
        s = at(occ.decoded("DTSTART"))
        e = at(occ.decoded("DTEND")) if "DTEND" in occ else s + occ.decoded("DURATION")
        out.append((s, e))
    return sorted(out)


def test_outlook_windows_zone_yearly_bymonth_and_exdate() -> None:
    got = read("outlook.ics", "UTC", honour_transp=True)
    # 07:00-18:00 CDT on 6 July; 2027 is excluded by EXDATE; the free event does not
    # block, as the source honours TRANSP.
    assert got == [
        ("Summer enrolment", u(2026, 7, 6, 12), u(2026, 7, 6, 23)),
        ("Summer enrolment", u(2028, 7, 6, 12), u(2028, 7, 6, 23)),
    ]
    assert [(s, e) for _, s, e in got] == library_view("outlook.ics", "UTC", True)


def test_an_event_marked_free_blocks_unless_the_source_honours_transp() -> None:
    got = read("outlook.ics", "UTC")
    assert ("Board lunch (free)", u(2026, 3, 10, 13), u(2026, 3, 10, 22)) in got
    assert [(s, e) for _, s, e in got] == library_view("outlook.ics", "UTC")


def test_outlook_without_vtimezone_maps_the_windows_name() -> None:
    text = (HERE / "outlook.ics").read_bytes().decode("utf-8")
    head, rest = text.split("BEGIN:VTIMEZONE", 1)
    stripped = head + rest.split("END:VTIMEZONE\r\n", 1)[1]
    periods, _ = periods_in(parse_calendar(stripped, "x"), source="x", zone="UTC",
                            start=H0, end=H1)  # fmt: skip
    assert next(p.start for p in periods if p.name == "Summer enrolment") == u(2026, 7, 6, 12)


def test_google_weekly_rule_exdate_override_all_day_and_cancelled() -> None:
    got = read("google.ics", "UTC")  # X-WR-TIMEZONE (Chicago) reads the all-day date
    assert got == [
        ("State testing", u(2026, 3, 1, 10), u(2026, 3, 1, 14)),
        ("State testing", u(2026, 3, 8, 9), u(2026, 3, 8, 13)),  # after the DST change
        ("State testing (late start)", u(2026, 3, 22, 10), u(2026, 3, 22, 14)),
        ("State testing", u(2026, 3, 29, 9), u(2026, 3, 29, 13)),
        ("Good Friday", u(2026, 4, 3, 5), u(2026, 4, 4, 5)),
    ]
    assert [(s, e) for _, s, e in got] == library_view("google.ics", "America/Chicago")


def test_apple_bom_altrep_floating_duration_and_leap_day() -> None:
    got = read("apple.ics", "America/Denver")
    assert ("Graduation, night run", u(2026, 5, 3, 4), u(2026, 5, 3, 14)) in got
    # RFC 5545: a yearly event on 29 February occurs in leap years only, and its name
    # says so (explain shows the name of a blackout that passed a slot over).
    leap = [
        (s, e) for name, s, e in got if name == "Leap day audit (29 February: leap years only)"
    ]
    assert leap == [(u(2028, 2, 29, 7), u(2028, 3, 1, 7))]
    assert library_view("apple.ics", "America/Denver") == [(s, e) for _, s, e in got]


def test_a_broken_event_is_reported_with_uid_and_line_and_hides_nothing() -> None:
    data = (HERE / "tenant-broken.ics").read_bytes()
    periods, problems = periods_in(parse_calendar(data, "pine.ics"), source="pine.ics",
                                   zone="UTC", start=H0, end=H1, text=data)  # fmt: skip
    assert [p.name for p in periods] == ["Spring break"]
    [problem] = problems
    assert (problem.uid, problem.line) == ("broken-1", 12)
    assert "DTSTART" in str(problem) and "pine.ics" in str(problem)


def test_an_unreadable_source_stops_with_one_line_naming_it(tmp_path: Path) -> None:
    missing = BlackoutCalendars([BlackoutSource(str(tmp_path / "nope.ics"))])
    with pytest.raises(ConfigurationError, match=r"nope\.ics") as info:
        missing.siteupdates_blackouts(None, H0, H1)
    assert "\n" not in str(info.value)
    (tmp_path / "junk.ics").write_text("this is not a calendar")
    junk = BlackoutCalendars([BlackoutSource(str(tmp_path / "junk.ics"))])
    with pytest.raises(ConfigurationError, match=r"junk\.ics"):
        junk.siteupdates_blackouts(None, H0, H1)


def test_a_tenant_calendar_never_blocks_another_tenant() -> None:
    cals = BlackoutCalendars([BlackoutSource(str(HERE / "tenant-broken.ics"), {"d1"})])
    assert cals.siteupdates_blackouts(None, H0, H1) == []
    assert cals.siteupdates_blackouts("d2", H0, H1) == []
    [b] = cals.siteupdates_blackouts("d1", H0, H1)
    assert b.tenant_id == "d1" and b.name == "Spring break"
    assert cals.reads == 1  # one read serves every tenant of the same plan


def _planned(cals: BlackoutCalendars) -> datetime:
    desk = Desk.open("memory://", host=PluginHost(plugins=[cals], entry_points=False),
                     clock=FixedClock())  # fmt: skip
    desk.load_setup(sample_setup())
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 1)).request.id
    desk.plan_queue()
    r = desk.storage.request(rid)
    assert r is not None and r.scheduled_for is not None
    return r.scheduled_for


@pytest.mark.parametrize(
    ("tenants", "expected"),
    [((), u(2026, 3, 15, 9)), (("d1",), u(2026, 3, 15, 9)), (("d2", "d3"), u(2026, 3, 8, 9))],
)
def test_the_scope_of_a_source_decides_whom_it_blocks(
    tenants: Tuple[str, ...], expected: datetime
) -> None:
    source = BlackoutSource(str(HERE / "tenant-broken.ics"), frozenset(tenants))
    assert _planned(BlackoutCalendars([source])) == expected


def test_a_yearly_29_february_blocks_leap_years_only_as_rfc_5545_says() -> None:
    text = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:x", "BEGIN:VEVENT", "UID:l",
        "DTSTAMP:20240101T000000Z", "DTSTART;VALUE=DATE:20240229",
        "RRULE:FREQ=YEARLY;UNTIL=20290101", "SUMMARY:Leap", "END:VEVENT", "END:VCALENDAR", "",
    ])  # fmt: skip
    periods, _ = periods_in(parse_calendar(text, "x"), source="x", zone="UTC",
                            start=datetime(2024, 1, 1, tzinfo=UTC), end=H1)  # fmt: skip
    assert [p.start.date() for p in periods] == [date(2024, 2, 29), date(2028, 2, 29)]
    assert {p.name for p in periods} == {"Leap (29 February: leap years only)"}
    assert all(p.end - p.start == timedelta(days=1) for p in periods)
