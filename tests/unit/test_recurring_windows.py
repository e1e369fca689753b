"""R8, R13: windows as recurrence rules, by Hypothesis properties across DST changes.

Each property compares the window's occurrences with a brute-force reading of
the rule, day by day, written without dateutil: the dates match exactly, each
occurrence opens at its wall-clock start (or at the end of a spring-forward gap)
and lasts its wall-clock length (the boundary rule of ``docs/time.md``).
"""

from __future__ import annotations

import calendar
import contextlib
from datetime import date, datetime, time, timedelta, timezone
from typing import List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siteupdates.domain.planner import Demand, plan
from siteupdates.domain.timeutil import get_zone, local_fields, to_instant
from siteupdates.domain.windows import RecurringWindow, WeeklyWindow
from siteupdates.errors import InvalidInput, NonexistentLocalTime, SiteUpdatesError

UTC = timezone.utc
# Chicago and Berlin change by an hour on different dates; Lord Howe by 30 minutes;
# Santiago changes at midnight (the day starts at 01:00); Chatham has a 45-minute offset.
ZONES = [
    "America/Chicago",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "UTC",
]


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _expected(
    freq: str,
    interval: int,
    days: Tuple[int, ...],
    nth: Optional[int],
    month_day: Optional[int],
    starts_on: date,
    excluded: Tuple[date, ...],
    day: date,
) -> bool:
    """Whether the rule opens a window on ``day``, read the long way."""
    if day < starts_on or day in excluded:
        return False
    if freq == "WEEKLY":
        weeks = (_monday(day) - _monday(starts_on)).days // 7
        return day.weekday() in days and weeks % interval == 0
    months = (day.year - starts_on.year) * 12 + day.month - starts_on.month
    if months % interval:
        return False
    last = calendar.monthrange(day.year, day.month)[1]
    if month_day is not None:
        return day.day == (month_day if month_day > 0 else last + month_day + 1)
    assert nth is not None
    if day.weekday() not in days:
        return False
    if nth > 0:
        return (day.day - 1) // 7 + 1 == nth
    return (last - day.day) // 7 + 1 == -nth


@st.composite
def rules(draw: st.DrawFn) -> Tuple[RecurringWindow, Tuple[object, ...]]:
    zone = draw(st.sampled_from(ZONES))
    start = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45])))
    duration = timedelta(minutes=draw(st.integers(1, 16)) * 30)
    starts_on = draw(st.dates(date(2023, 1, 1), date(2027, 12, 31)))
    interval = draw(st.integers(1, 4))
    excluded = tuple(draw(st.lists(st.dates(starts_on, starts_on + timedelta(days=200)),
                                   max_size=3)))  # fmt: skip
    kind = draw(st.sampled_from(["weekly", "monthly-day", "monthly-nth"]))
    nth: Optional[int] = None
    month_day: Optional[int] = None
    days: Tuple[int, ...] = ()
    if kind == "weekly":
        freq = "WEEKLY"
        days = tuple(sorted(draw(st.sets(st.integers(0, 6), min_size=1, max_size=7))))
        text = "BYDAY=" + ",".join(["MO", "TU", "WE", "TH", "FR", "SA", "SU"][d] for d in days)
    elif kind == "monthly-day":
        freq = "MONTHLY"
        month_day = draw(st.sampled_from([1, 2, 15, 28, 29, 30, 31, -1, -2]))
        text = f"BYMONTHDAY={month_day}"
    else:
        freq = "MONTHLY"
        nth = draw(st.sampled_from([1, 2, 3, 4, 5, -1, -2]))
        days = (draw(st.integers(0, 6)),)
        text = f"BYDAY={nth}{['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'][days[0]]}"
    w = RecurringWindow(
        f"FREQ={freq};INTERVAL={interval};{text}", start, duration, zone,
        starts_on=starts_on, excluded=excluded,
    )  # fmt: skip
    return w, (freq, interval, days, nth, month_day, starts_on, excluded)


def _offset(t: datetime) -> timedelta:
    off = t.utcoffset()
    assert off is not None
    return off


def _in_gap(local: datetime, zone: str) -> bool:
    try:
        to_instant(local, zone)
    except NonexistentLocalTime:
        return True
    return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules(), st.integers(0, 400))
def test_r13_a_recurring_window_opens_on_exactly_the_rules_dates(
    drawn: Tuple[RecurringWindow, Tuple[object, ...]], offset: int
) -> None:
    w, spec = drawn
    first = w.starts_on + timedelta(days=offset)
    last = first + timedelta(days=130)
    after = to_instant(datetime.combine(first, time(12)), "UTC") - timedelta(days=2)
    seen: List[date] = []
    prev_close: Optional[datetime] = None
    for opens, closes in w.occurrences(after):
        day = local_fields(opens, w.zone).date()
        if _in_gap(datetime.combine(day, w.start), w.zone) or opens.astimezone(UTC) != to_instant(
            datetime.combine(day, w.start), w.zone
        ):
            # The start was in a gap: it opens at the gap's end, still on its day
            # or (a gap at midnight) on the day after.
            day = day if w.start <= local_fields(opens, w.zone).time() else day - timedelta(1)
        if day > last:
            break
        seen.append(day)
        assert closes > after
        assert prev_close is None or opens >= prev_close - w.duration  # in order
        prev_close = closes
    want = [
        first - timedelta(days=3) + timedelta(days=k)
        for k in range(0, 134)
        if _expected(*spec, first - timedelta(days=3) + timedelta(days=k))  # type: ignore[arg-type,call-arg]
    ]
    assert [d for d in seen if d >= first] == [d for d in want if first <= d <= last]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules(), st.integers(0, 800))
def test_r13_each_occurrence_keeps_its_wall_clock_start_and_length(
    drawn: Tuple[RecurringWindow, Tuple[object, ...]], offset: int
) -> None:
    w, _ = drawn
    after = to_instant(datetime.combine(w.starts_on, time()), "UTC") + timedelta(days=offset)
    for n, (opens, closes) in enumerate(w.occurrences(after)):
        if n == 6:
            break
        local_open = local_fields(opens, w.zone)
        local_close = local_fields(closes, w.zone)
        wanted_open = datetime.combine(local_open.date(), w.start)
        if not _in_gap(wanted_open, w.zone) and local_open.time() == w.start:
            wanted_close = local_open + w.duration
            if not _in_gap(wanted_close, w.zone):
                # Neither boundary in a gap: exactly the wall-clock length, so the
                # elapsed time differs from it by the change of offset in between.
                assert local_close - local_open == w.duration
                tz = get_zone(w.zone)
                shift = _offset(closes.astimezone(tz)) - _offset(opens.astimezone(tz))
                assert closes - opens == w.duration - shift
            else:
                assert local_close > wanted_close  # moved to the gap's end
                assert local_close - wanted_close <= timedelta(hours=1)
        else:
            # The start is in a gap: the window opens where the gap ends, at most
            # an hour (Lord Howe: 30 minutes) later on the wall clock.
            gap = local_open - datetime.combine(local_open.date(), w.start)
            if gap < timedelta(0):  # a gap across midnight (Santiago)
                gap += timedelta(days=1)
            assert timedelta(0) < gap <= timedelta(hours=1)
        assert opens < closes or local_close <= local_open + timedelta(hours=1)
        assert w.contains(opens) == (opens < closes)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(ZONES), st.integers(2024, 2027), st.integers(0, 6))
def test_r8_a_weekly_rule_of_one_day_matches_the_weekly_window(
    zone: str, year: int, weekday: int
) -> None:
    """``FREQ=WEEKLY;BYDAY=SU`` 04:00 for 5h is Sunday 04:00-09:00, through every change."""
    rule = RecurringWindow.weekly([weekday], "04:00", 300, zone)
    weekly = WeeklyWindow(weekday, "04:00", "09:00", zone)
    after = datetime(year, 1, 1, tzinfo=UTC)
    a, b = rule.occurrences(after), weekly.occurrences(after)
    for _ in range(60):  # more than a year of weeks: both changes
        ra, wb = next(a), next(b)
        assert ra[0] == wb[0]
        if not _in_gap(local_fields(ra[0], zone).replace(hour=9, minute=0), zone):
            assert ra[1] == wb[1]


def test_r13_the_second_tuesday_and_the_last_sunday() -> None:
    second_tuesday = RecurringWindow.monthly(
        "22:00", timedelta(hours=4), "Europe/Berlin", nth=2, weekday="tue"
    )
    got = [o for o, _ in _take(second_tuesday, datetime(2026, 1, 1, tzinfo=UTC), 4)]
    assert [local_fields(o, "Europe/Berlin").date() for o in got] == [
        date(2026, 1, 13), date(2026, 2, 10), date(2026, 3, 10), date(2026, 4, 14),
    ]  # fmt: skip
    # 22:00 in Berlin is 21:00 UTC in winter, 20:00 in summer (from 29 March).
    assert [o.hour for o in got] == [21, 21, 21, 20]
    last_sunday = RecurringWindow("FREQ=MONTHLY;BYDAY=-1SU", "02:00", 60, "Australia/Lord_Howe")
    # 5 April 2026: Lord Howe falls back 30 minutes at 02:00 (to 01:30); 4 October
    # 2026 it springs forward at 02:00 to 02:30: the window opens at 02:30.
    opens = {local_fields(o, "Australia/Lord_Howe").date(): local_fields(o, "Australia/Lord_Howe")
             for o, _ in _take(last_sunday, datetime(2026, 9, 1, tzinfo=UTC), 2)}  # fmt: skip
    assert opens[date(2026, 9, 27)].time() == time(2, 0)
    assert opens[date(2026, 10, 25)].time() == time(2, 0)
    gap_day = RecurringWindow("FREQ=MONTHLY;BYDAY=1SU", "02:10", 60, "Australia/Lord_Howe")
    o, c = _take(gap_day, datetime(2026, 10, 1, tzinfo=UTC), 1)[0]
    assert local_fields(o, "Australia/Lord_Howe") == datetime(2026, 10, 4, 2, 30)
    assert local_fields(c, "Australia/Lord_Howe") == datetime(2026, 10, 4, 3, 10)


def test_r13_every_two_weeks_from_the_start_date_without_excluded_dates_until_the_end() -> None:
    w = RecurringWindow.weekly(
        ["tue", "thu"], "21:00", 120, "America/Chicago", every=2,
        starts_on=date(2026, 3, 2), ends_on=date(2026, 4, 10), excluded=[date(2026, 3, 19)],
    )  # fmt: skip
    days = [
        local_fields(o, w.zone).date() for o, _ in w.occurrences(datetime(2026, 1, 1, tzinfo=UTC))
    ]
    assert days == [date(2026, 3, 3), date(2026, 3, 5), date(2026, 3, 17),
                    date(2026, 3, 31), date(2026, 4, 2)]  # fmt: skip
    assert w.next_occurrence(datetime(2026, 5, 1, tzinfo=UTC)) is None
    assert str(w) == "Tuesday, Thursday (every 2 weeks) 21:00 for 2h America/Chicago"


def test_r13_the_planner_places_requests_in_recurring_windows() -> None:
    w = RecurringWindow("FREQ=MONTHLY;BYMONTHDAY=15", "01:00", 240, "America/Chicago")
    ds = [Demand(f"r{i}", (f"t{i}",), datetime(2026, 3, 1, tzinfo=UTC)) for i in range(3)]
    p = plan(ds, windows=[w], capacity=1, slot_length=timedelta(hours=2),
             horizon=datetime(2026, 6, 1, tzinfo=UTC))  # fmt: skip
    starts = [p.placements[f"r{i}"].start for i in range(3)]
    assert starts == [datetime(2026, 3, 15, 6, tzinfo=UTC), datetime(2026, 3, 15, 8, tzinfo=UTC),
                      datetime(2026, 4, 15, 6, tzinfo=UTC)]  # fmt: skip
    assert "monthly on day 15 01:00 for 4h America/Chicago" in p.explain("r2").render()


@pytest.mark.parametrize(
    "rule, fragment",
    [
        ("FREQ=DAILY", "FREQ=WEEKLY or MONTHLY"),
        ("FREQ=WEEKLY", "needs BYDAY"),
        ("FREQ=MONTHLY;BYDAY=TU", "second Tuesday"),
        ("FREQ=WEEKLY;BYDAY=2TU", "BYDAY='2TU'"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"),
        ("FREQ=WEEKLY;BYDAY=MO;COUNT=3", "COUNT"),
        ("FREQ=WEEKLY;INTERVAL=0;BYDAY=MO", "INTERVAL"),
        ("", "FREQ"),
        (7, "RRULE text"),
    ],
)
def test_r13_a_bad_recurrence_is_refused_naming_what_is_accepted(
    rule: object, fragment: str
) -> None:
    with pytest.raises(SiteUpdatesError, match=fragment.replace("(", r"\(")):
        RecurringWindow(rule, "01:00", 60, "UTC")


@given(st.text(max_size=40))
def test_r13_hostile_recurrence_text_raises_only_the_librarys_error(text: str) -> None:
    with contextlib.suppress(SiteUpdatesError):  # anything else fails the test
        RecurringWindow(text, "01:00", 60, "UTC")


def test_r13_bad_window_fields_are_refused() -> None:
    with pytest.raises(InvalidInput, match="at most 7 days"):
        RecurringWindow("FREQ=WEEKLY;BYDAY=MO", "01:00", timedelta(days=8), "UTC")
    with pytest.raises(InvalidInput, match="before it starts"):
        RecurringWindow("FREQ=WEEKLY;BYDAY=MO", "01:00", 60, "UTC",
                        starts_on=date(2026, 2, 1), ends_on=date(2026, 1, 1))  # fmt: skip
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        RecurringWindow("FREQ=WEEKLY;BYDAY=MO", "01:00", 60, "UTC", excluded=["soon"])


def _take(w: RecurringWindow, after: datetime, n: int) -> List[Tuple[datetime, datetime]]:
    it = w.occurrences(after)
    return [next(it) for _ in range(n)]
