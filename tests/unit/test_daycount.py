"""R12: a rule written in days counts calendar days on its zone's wall clock (issue 23).

The property runs over every zone of the tz database and every clock change from
2024 to 2029. The expected instants are computed here, without the library: naive
wall-clock arithmetic, then zoneinfo's two folds read by the rule of docs/time.md
(a wall time in a gap moves to the end of the gap, found by bisection here; one
that occurs twice takes its first occurrence).
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from typing import Dict, Iterator, List, Tuple

import pytest

from siteupdates.domain.daycount import Days, days_earlier, days_later, within_days

if sys.version_info >= (3, 9):
    from zoneinfo import ZoneInfo, available_timezones
else:  # pragma: no cover - exercised on 3.8 only
    from backports.zoneinfo import ZoneInfo, available_timezones

UTC = timezone.utc
SECOND = timedelta(seconds=1)
ZONES = sorted(z for z in available_timezones() if z not in ("Factory", "localtime"))
DAY_COUNTS = (1, 7, 30)
_TZ: Dict[str, ZoneInfo] = {}


def _tz(zone: str) -> ZoneInfo:
    if zone not in _TZ:
        _TZ[zone] = ZoneInfo(zone)
    return _TZ[zone]


def _offset(instant: datetime, zone: str) -> timedelta:
    off = instant.astimezone(_tz(zone)).utcoffset()
    assert off is not None
    return off


def _wall(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(_tz(zone)).replace(tzinfo=None)


def _change_between(lo: datetime, hi: datetime, zone: str) -> datetime:
    """The first instant in (lo, hi] whose offset differs from lo's, to the second."""
    before = _offset(lo, zone)
    while hi - lo > SECOND:
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            break
        if _offset(mid, zone) == before:
            lo = mid
        else:
            hi = mid
    return hi


def expected_instant(wall: datetime, zone: str) -> datetime:
    """``wall`` in ``zone``: gap -> its end; twice -> the first; else the one instant."""
    tz = _tz(zone)
    a = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    b = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if a == b:
        return a
    exists = _wall(a, zone) == wall or _wall(b, zone) == wall
    if exists:
        return min(a, b)  # an overlap: the first occurrence
    # A gap: the clocks jump over ``wall`` at the change between the two readings.
    return _change_between(min(a, b), max(a, b), zone)


def transitions(zone: str, first_year: int = 2024, last_year: int = 2029) -> List[datetime]:
    """Every instant the zone's UTC offset changes in the years given, to the second."""
    t = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    step = timedelta(hours=12)
    found = []
    off = _offset(t, zone)
    while t < end:
        nxt = t + step
        o = _offset(nxt, zone)
        if o != off:
            found.append(_change_between(t, nxt, zone))
            off = o
        t = nxt
    return found


def cases(zone: str) -> Iterator[Tuple[datetime, int, timedelta]]:
    """Starts ``n`` days either side of each change, at wall times in and around it."""
    for change in transitions(zone):
        old, new = _offset(change - SECOND, zone), _offset(change, zone)
        lo = change.replace(tzinfo=None) + min(old, new)  # wall where the gap/overlap begins
        hi = change.replace(tzinfo=None) + max(old, new)  # and where it ends
        walls = {lo, lo + (hi - lo) / 2, hi - timedelta(minutes=1), hi, lo - timedelta(hours=3)}
        for n in DAY_COUNTS:
            for wall in walls:
                for sign in (-1, 1):
                    start = wall + timedelta(days=sign * n)
                    a = start.replace(tzinfo=_tz(zone), fold=0).astimezone(UTC)
                    b = start.replace(tzinfo=_tz(zone), fold=1).astimezone(UTC)
                    for instant in {a, b}:  # both readings: every occurrence and gap side
                        yield instant, -sign * n, timedelta(0)
                yield wall.replace(tzinfo=_tz(zone)).astimezone(UTC), n, timedelta(hours=5)


def test_r12_days_count_on_the_calendar_in_every_zone_across_every_change() -> None:
    failures: List[str] = []
    checked = 0
    changes = 0
    for zone in ZONES:
        changes += len(transitions(zone))
        for instant, n, rest in cases(zone):
            checked += 1
            length = timedelta(days=abs(n)) + rest
            if n >= 0:
                want = expected_instant(_wall(instant, zone) + timedelta(days=n), zone) + rest
                got = days_later(instant, length, zone)
            else:
                back = instant - rest
                want = expected_instant(_wall(back, zone) - timedelta(days=-n), zone)
                got = days_earlier(instant, length, zone)
            if got != want:
                failures.append(f"{zone} {instant.isoformat()} {n:+d}d +{rest}: {got} != {want}")
    assert changes > 1000, changes  # the span really crosses the tz database's changes
    assert checked > 50_000, checked
    assert not failures, f"{len(failures)} of {checked}:\n" + "\n".join(failures[:20])


def test_r12_postponing_7_days_across_spring_forward_keeps_the_wall_time() -> None:
    # Sunday 1 March 2026 04:00 CST (10:00Z) + 7 days: 8 March 04:00 CDT (09:00Z),
    # 167 elapsed hours, not 7 x 24 (which would be 05:00 CDT).
    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert days_later(start, timedelta(days=7), "America/Chicago") == datetime(
        2026, 3, 8, 9, tzinfo=UTC
    )
    # Lord Howe's half-hour change: 169.5 h forward in autumn (5 April 2026).
    lh = datetime(2026, 4, 1, 15, tzinfo=UTC)  # 2 April 02:00 +11:00
    later = days_later(lh, timedelta(days=7), "Australia/Lord_Howe")
    assert later - lh == timedelta(hours=168, minutes=30)


def test_r12_a_wall_time_in_the_gap_moves_to_its_end_and_an_overlap_takes_the_first() -> None:
    zone = "America/Chicago"
    # 1 March 02:30 CST + 7 days: 8 March 02:30 does not exist -> 03:00 CDT (08:00Z).
    assert days_later(datetime(2026, 3, 1, 8, 30, tzinfo=UTC), Days(7), zone) == datetime(
        2026, 3, 8, 8, tzinfo=UTC
    )
    # 25 October 01:30 CDT + 7 days: 1 November 01:30 occurs twice -> the first (CDT).
    assert days_later(datetime(2026, 10, 25, 6, 30, tzinfo=UTC), Days(7), zone) == datetime(
        2026, 11, 1, 6, 30, tzinfo=UTC
    )


def test_r12_a_skipped_calendar_day_moves_to_the_first_instant_after_it() -> None:
    # Apia skipped 30 December 2011: 29 December 12:00 + 1 day is the end of the gap.
    zone = "Pacific/Apia"
    start = datetime(2011, 12, 29, 12).replace(tzinfo=_tz(zone)).astimezone(UTC)
    got = days_later(start, Days(1), zone)
    assert _wall(got, zone) == datetime(2011, 12, 31, 0, 0)


def test_r12_within_days_is_symmetric_and_calendar_based() -> None:
    zone = "Europe/Berlin"
    a = datetime(2026, 3, 22, 9, tzinfo=UTC)  # 10:00 CET
    b = datetime(2026, 3, 29, 8, tzinfo=UTC)  # 10:00 CEST, 7 calendar days, 167 h later
    assert not within_days(a, b, timedelta(days=7), zone)
    assert not within_days(b, a, timedelta(days=7), zone)
    assert within_days(a, b - SECOND, timedelta(days=7), zone)


def test_days_are_timedeltas_that_remember_they_were_days() -> None:
    assert Days(2) == timedelta(hours=48) and repr(Days(2)) == "Days(2)"
    assert type(Days(2) + timedelta(0)) is timedelta


@pytest.mark.parametrize("zone", ["America/Chicago", "Europe/Berlin", "Australia/Lord_Howe"])
def test_r12_hours_stay_elapsed_hours(zone: str) -> None:
    # A length under a day is elapsed time, whatever the calendar does.
    t = datetime(2026, 3, 7, 20, tzinfo=UTC)
    assert days_later(t, timedelta(hours=23), zone) == t + timedelta(hours=23)
    assert days_earlier(t, timedelta(hours=23), zone) == t - timedelta(hours=23)
