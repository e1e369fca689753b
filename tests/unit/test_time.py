"""R12: local times, instants and weekly windows across zones and DST changes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from siteupdates.domain import Ambiguity, WeeklyWindow, to_instant
from siteupdates.domain.timeutil import get_zone, local_fields, require_aware
from siteupdates.errors import (
    AmbiguousLocalTime,
    InvalidInput,
    NaiveDatetime,
    NonexistentLocalTime,
    UnknownZone,
)

UTC = timezone.utc
ZONES = ["America/Chicago", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]

local_times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2032, 12, 31))


def test_r12_a_time_is_read_in_the_requesters_zone() -> None:
    # 01:00 Central on 2015-02-14 is 07:00 UTC (CST is UTC-6).
    assert to_instant(datetime(2015, 2, 14, 1), "America/Chicago") == datetime(
        2015, 2, 14, 7, tzinfo=UTC
    )
    assert to_instant(datetime(2015, 7, 14, 1), "America/Chicago") == datetime(
        2015, 7, 14, 6, tzinfo=UTC
    )


def test_r12_a_time_in_the_spring_forward_gap_is_refused_with_the_gap_named() -> None:
    with pytest.raises(NonexistentLocalTime) as err:
        to_instant(datetime(2027, 3, 14, 2, 30), "America/Chicago")
    assert "from 02:00 to 03:00" in str(err.value)
    assert err.value.gap_start == datetime(2027, 3, 14, 2, 0)
    assert err.value.gap_end == datetime(2027, 3, 14, 3, 0)


def test_r12_lord_howe_has_a_thirty_minute_gap() -> None:
    with pytest.raises(NonexistentLocalTime, match="from 02:00 to 02:30"):
        to_instant(datetime(2026, 10, 4, 2, 15), "Australia/Lord_Howe")
    assert to_instant(datetime(2026, 10, 4, 2, 30), "Australia/Lord_Howe") == datetime(
        2026, 10, 3, 15, 30, tzinfo=UTC
    )


def test_r12_an_ambiguous_time_takes_the_earlier_occurrence_by_default() -> None:
    local = datetime(2026, 11, 1, 1, 30)
    earlier = to_instant(local, "America/Chicago")
    later = to_instant(local, "America/Chicago", Ambiguity.LATER)
    assert earlier == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # CDT, UTC-5
    assert later == datetime(2026, 11, 1, 7, 30, tzinfo=UTC)  # CST, UTC-6
    with pytest.raises(AmbiguousLocalTime, match="occurs twice"):
        to_instant(local, "America/Chicago", "raise")


def test_r12_bad_zone_and_naive_instants_are_refused_clearly() -> None:
    with pytest.raises(UnknownZone, match="IANA zone name"):
        to_instant(datetime(2026, 1, 1), "Central")
    with pytest.raises(NaiveDatetime, match="no time zone"):
        require_aware("start", datetime(2026, 1, 1))


@settings(max_examples=300)
@given(local_times, st.sampled_from(ZONES), st.sampled_from(list(Ambiguity)[:2]))
def test_r12_every_existing_local_time_round_trips(
    local: datetime, zone: str, rule: Ambiguity
) -> None:
    local = local.replace(second=0, microsecond=0)
    try:
        instant = to_instant(local, zone, rule)
    except NonexistentLocalTime as gap:
        assert gap.gap_start <= local < gap.gap_end
        return
    assert instant.tzinfo is UTC or instant.utcoffset() == timedelta(0)
    assert local_fields(instant, zone) == local


def _dst_days(zone: str, year: int) -> list[date]:
    tz = get_zone(zone)
    days = []
    d = date(year, 1, 1)
    while d.year == year:
        a = datetime.combine(d, time(0), tz).utcoffset()
        b = datetime.combine(d + timedelta(days=1), time(0), tz).utcoffset()
        if a != b:
            days.append(d)
        d += timedelta(days=1)
    return days


@pytest.mark.parametrize("zone", ["America/Chicago", "Europe/Berlin", "Australia/Lord_Howe"])
def test_r12_the_zones_under_test_really_change_offset(zone: str) -> None:
    assert len(_dst_days(zone, 2026)) == 2


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["America/Chicago", "Europe/Berlin", "Australia/Lord_Howe"]),
    st.integers(0, 6),
    st.integers(0, 23),
    st.integers(1, 6),
    st.integers(2024, 2030),
)
def test_windows_occur_once_a_week_at_the_same_wall_clock_time(
    zone: str, weekday: int, hour: int, length: int, year: int
) -> None:
    start = time(hour, 0)
    end = time((hour + length) % 24, 0)
    window = WeeklyWindow(weekday, start, end, zone)
    occs = window.occurrences(datetime(year, 1, 1, tzinfo=UTC))
    previous = None
    for _ in range(60):  # more than a year: both DST changes
        opens, closes = next(occs)
        local_open = local_fields(opens, zone)
        # A window that lies wholly in a spring-forward gap is empty that week.
        assert opens < closes or local_open.date() in _dst_days(zone, local_open.year)
        assert local_open.weekday() == weekday
        # wall clock kept, or moved to the end of a gap by the documented rule
        assert local_open.time() == start or local_open.time() > start
        if previous is not None:
            assert (local_open.date() - previous).days == 7
        previous = local_open.date()


def test_central_sunday_window_keeps_its_wall_clock_across_both_changes() -> None:
    w = WeeklyWindow("sunday", "04:00", "09:00", "America/Chicago")
    winter = w.next_occurrence(datetime(2026, 3, 1, tzinfo=UTC))
    summer = w.next_occurrence(datetime(2026, 3, 9, tzinfo=UTC))
    back = w.next_occurrence(datetime(2026, 10, 30, tzinfo=UTC))
    assert winter == (datetime(2026, 3, 1, 10, tzinfo=UTC), datetime(2026, 3, 1, 15, tzinfo=UTC))
    # 2026-03-08 is the spring-forward Sunday: 04:00 CDT is 09:00 UTC.
    assert w.next_occurrence(datetime(2026, 3, 2, tzinfo=UTC))[0] == datetime(
        2026, 3, 8, 9, tzinfo=UTC
    )
    assert summer[0] == datetime(2026, 3, 15, 9, tzinfo=UTC)
    # 2026-11-01 is the fall-back Sunday: 04:00 CST is 10:00 UTC.
    assert back[0] == datetime(2026, 11, 1, 10, tzinfo=UTC)


def test_a_window_boundary_in_a_gap_moves_to_the_end_of_the_gap() -> None:
    w = WeeklyWindow("sunday", "02:30", "05:00", "America/Chicago")
    opens, closes = w.on(date(2027, 3, 14))
    assert local_fields(opens, "America/Chicago") == datetime(2027, 3, 14, 3, 0)
    assert closes - opens == timedelta(hours=2)


def test_a_window_may_run_past_midnight() -> None:
    w = WeeklyWindow("saturday", "22:00", "02:00", "Europe/Berlin")
    opens, closes = w.on(date(2026, 6, 6))
    assert closes - opens == timedelta(hours=4)
    assert w.contains(opens + timedelta(hours=3))
    assert not w.contains(closes)


@given(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1)))
def test_window_contains_agrees_with_its_occurrences(moment: datetime) -> None:
    w = WeeklyWindow("sunday", "04:00", "09:00", "America/Chicago")
    instant = moment.replace(tzinfo=UTC)
    local = local_fields(instant, "America/Chicago")
    inside = local.weekday() == 6 and time(4) <= local.time() < time(9)
    assume(local.date() not in _dst_days("America/Chicago", local.year))
    assert w.contains(instant) == inside


@pytest.mark.parametrize(
    "local", [datetime(9999, 12, 31, 23, 30), datetime(1, 1, 1), datetime(3000, 1, 1)]
)
def test_r12_a_local_time_outside_the_accepted_years_is_invalid_input(local: datetime) -> None:
    """9999-12-31 23:30 in Chicago overflowed ``datetime`` (OverflowError, a 500 on the web)."""
    with pytest.raises(InvalidInput, match="out of range: dates from 1900-01-01 to 2999-12-31"):
        to_instant(local, "America/Chicago")
    # The edges themselves are read, even where they leave the range in UTC.
    assert to_instant(datetime(2999, 12, 31, 23, 30), "America/Chicago").year == 3000
    assert to_instant(datetime(1900, 1, 1), "Asia/Tokyo").year == 1899
