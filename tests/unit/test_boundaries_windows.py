"""Windows and blackouts (R8, R13) at each edge a surviving mutant of ``windows.py`` moved.

Each test pins what one mutant changed, which the rest of the unit tests let
through (docs/testing.md, "Mutation score"): the accepted range of a weekday, a
length, an interval, a week of the month; the words a window is shown in; an
every-N window's phase far from its start; a blackout's length and scope.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Dict, List

import pytest

from siteupdates.domain.windows import (
    ALL_WORK,
    Blackout,
    RecurringWindow,
    WeeklyWindow,
    WorkKind,
    parse_weekday,
    parse_work_kinds,
    resolve_local,
)
from siteupdates.errors import InvalidInput, WrongType

UTC = timezone.utc
CHICAGO = "America/Chicago"


def _at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# -- weekdays and times ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "day"),
    [(0, 0), (6, 6), ("sun", 6), (" Sunday ", 6), ("MON", 0), ("wednes", 2), ("thu", 3)],
)
def test_r8_a_weekday_is_0_to_6_or_a_name_of_three_letters_or_more(
    value: object, day: int
) -> None:
    assert parse_weekday(value) == day


@pytest.mark.parametrize("value", [-1, 7, "su", "sundays", "", "xyz"])
def test_r8_a_weekday_out_of_range_or_unknown_is_bad_input_naming_it(value: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_weekday(value)
    assert caught.value.value == value


@pytest.mark.parametrize("value", [True, 1.0, None])
def test_r8_a_weekday_that_is_no_number_or_name_is_a_wrong_type(value: object) -> None:
    with pytest.raises(WrongType) as caught:
        parse_weekday(value)
    assert (caught.value.name, caught.value.value) == ("weekday", value)


def test_r8_a_window_time_is_a_time_or_hh_mm_text() -> None:
    w = WeeklyWindow(6, " 04:00 ", time(9), CHICAGO)
    assert (w.start, w.end) == (time(4), time(9))
    with pytest.raises(InvalidInput) as bad:
        WeeklyWindow(6, "4 o'clock", "09:00", CHICAGO)
    assert bad.value.value == "4 o'clock"
    with pytest.raises(WrongType) as wrong:
        WeeklyWindow(6, 4, "09:00", CHICAGO)
    assert (wrong.value.name, wrong.value.value) == ("time", 4)


def test_r13_a_boundary_in_a_gap_moves_to_the_gaps_end_and_a_repeated_one_takes_the_first() -> (
    None
):
    assert resolve_local(datetime(2026, 3, 8, 2, 30), CHICAGO) == _at(2026, 3, 8, 8)
    assert resolve_local(datetime(2026, 11, 1, 1, 30), CHICAGO) == _at(2026, 11, 1, 6, 30)


# -- the weekly window ------------------------------------------------------------------------


def test_r8_a_weekly_window_is_shown_with_its_day_times_and_zone() -> None:
    assert (
        str(WeeklyWindow("sun", "04:00", "09:00", CHICAGO)) == "Sunday 04:00-09:00 America/Chicago"
    )


def test_r8_a_window_ending_at_its_start_lasts_a_whole_day() -> None:
    w = WeeklyWindow("sat", "22:00", "22:00", "UTC")
    assert w.crosses_midnight
    assert w.on(date(2026, 1, 3)) == (_at(2026, 1, 3, 22), _at(2026, 1, 4, 22))
    assert not WeeklyWindow("sat", "22:00", "22:01", "UTC").crosses_midnight


def test_r8_a_window_asked_for_on_another_weekday_is_bad_input_naming_the_day() -> None:
    with pytest.raises(InvalidInput) as caught:
        WeeklyWindow("sun", "04:00", "09:00", "UTC").on(date(2026, 1, 3))
    assert caught.value.value == date(2026, 1, 3)
    assert str(caught.value) == "2026-01-03 is a saturday; this window opens on sundays"


@pytest.mark.parametrize(
    ("after", "opens"),
    [
        (_at(2026, 1, 4, 3, 59), _at(2026, 1, 4, 4)),  # before it opens: this week's
        (_at(2026, 1, 4, 8, 59), _at(2026, 1, 4, 4)),  # while open: still this week's
        (_at(2026, 1, 4, 9), _at(2026, 1, 11, 4)),  # at its close: next week's
        (_at(2026, 1, 5, 1), _at(2026, 1, 11, 4)),  # the day after
        (_at(2026, 1, 3, 23), _at(2026, 1, 4, 4)),  # the day before
    ],
)
def test_r8_the_next_weekly_occurrence_is_the_first_that_ends_after_the_moment(
    after: datetime, opens: datetime
) -> None:
    w = WeeklyWindow("sun", "04:00", "09:00", "UTC")
    assert w.next_occurrence(after) == (opens, opens + timedelta(hours=5))


def test_r8_a_window_past_midnight_still_open_the_next_morning_is_found() -> None:
    w = WeeklyWindow("sat", "22:00", "02:00", "UTC")
    assert w.next_occurrence(_at(2026, 1, 4, 1)) == (_at(2026, 1, 3, 22), _at(2026, 1, 4, 2))
    assert w.contains(_at(2026, 1, 4, 1, 59)) and not w.contains(_at(2026, 1, 4, 2))


# -- a recurring window's rule --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ("RRULE:freq=weekly;byday=th,tu", "FREQ=WEEKLY;BYDAY=TU,TH"),
        ("FREQ=WEEKLY;INTERVAL=1;BYDAY=SU", "FREQ=WEEKLY;BYDAY=SU"),
        ("FREQ=WEEKLY;INTERVAL=52;BYDAY=SU;", "FREQ=WEEKLY;INTERVAL=52;BYDAY=SU"),
        ("FREQ=MONTHLY;BYDAY=5TU", "FREQ=MONTHLY;BYDAY=5TU"),
        ("FREQ=MONTHLY;BYDAY=-5TU", "FREQ=MONTHLY;BYDAY=-5TU"),
        ("FREQ=MONTHLY;BYDAY=1MO,-2FR", "FREQ=MONTHLY;BYDAY=-2FR,1MO"),
        ("FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=MONTHLY;BYMONTHDAY=31"),
        ("FREQ=MONTHLY;BYMONTHDAY=-31", "FREQ=MONTHLY;BYMONTHDAY=-31"),
        ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"),
    ],
)
def test_r13_a_recurrence_is_kept_in_one_normal_form(rule: str, text: str) -> None:
    assert RecurringWindow(rule, "04:00", 60, "UTC").rule == text


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY",
        "BYDAY=SU",
        "FREQ=WEEKLY;BYDAY=SU;FREQ=WEEKLY",
        "FREQ=WEEKLY;BYDAY=SU;COUNT=3",
        "FREQ=WEEKLY;BYDAY",
        "FREQ=WEEKLY;INTERVAL=0;BYDAY=SU",
        "FREQ=WEEKLY;INTERVAL=53;BYDAY=SU",
        "FREQ=WEEKLY;INTERVAL=x;BYDAY=SU",
        "FREQ=WEEKLY;BYDAY=2SU",
        "FREQ=WEEKLY;BYDAY=XY",
        "FREQ=MONTHLY;BYDAY=0SU",
        "FREQ=MONTHLY;BYDAY=6SU",
        "FREQ=MONTHLY;BYDAY=-6SU",
        "FREQ=MONTHLY;BYDAY=xSU",
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=MONTHLY;BYMONTHDAY=-32",
        "FREQ=MONTHLY;BYMONTHDAY=x",
        "FREQ=MONTHLY;BYMONTHDAY=1;BYDAY=2SU",
        "FREQ=WEEKLY;BYMONTHDAY=1",
        "FREQ=MONTHLY",
        "FREQ=MONTHLY;BYDAY=SU",
        "FREQ=MONTHLY;BYDAY=2SU,MO",
        "FREQ=WEEKLY",
    ],
)
def test_r13_a_recurrence_outside_the_supported_subset_is_bad_input_naming_it(rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        RecurringWindow(rule, "04:00", 60, "UTC")
    assert caught.value.value == rule


def test_r13_a_recurrence_that_is_no_text_is_a_wrong_type() -> None:
    with pytest.raises(WrongType) as caught:
        RecurringWindow(7, "04:00", 60, "UTC")
    assert (caught.value.name, caught.value.value) == ("recurrence", 7)


# -- a recurring window's length, dates and words ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "length"),
    [
        (1, timedelta(minutes=1)),
        (timedelta(days=7), timedelta(days=7)),
        (90, timedelta(minutes=90)),
    ],
)
def test_r13_a_window_lasts_more_than_nothing_and_at_most_a_week(
    value: Any, length: timedelta
) -> None:
    assert RecurringWindow("FREQ=WEEKLY;BYDAY=SU", "04:00", value, "UTC").duration == length


@pytest.mark.parametrize("value", [0, -5, timedelta(days=7, seconds=1), timedelta(0)])
def test_r13_a_window_of_no_length_or_longer_than_a_week_is_bad_input(value: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        RecurringWindow("FREQ=WEEKLY;BYDAY=SU", "04:00", value, "UTC")
    assert caught.value.value == value


@pytest.mark.parametrize("value", [True, 1.5, "60"])
def test_r13_a_window_length_that_is_no_timedelta_or_minutes_is_a_wrong_type(value: Any) -> None:
    with pytest.raises(WrongType) as caught:
        RecurringWindow("FREQ=WEEKLY;BYDAY=SU", "04:00", value, "UTC")
    assert (caught.value.name, caught.value.value) == ("window duration", value)


def test_r13_window_dates_are_dates_or_iso_text_and_a_single_exclusion_is_one_date() -> None:
    w = RecurringWindow("FREQ=WEEKLY;BYDAY=SU", "04:00", 60, "UTC", starts_on=" 2026-01-01 ",
                        ends_on=date(2026, 1, 1), excluded="2026-02-01")  # fmt: skip
    assert (w.starts_on, w.ends_on, w.excluded) == (
        date(2026, 1, 1), date(2026, 1, 1), frozenset({date(2026, 2, 1)}),
    )  # fmt: skip
    assert RecurringWindow("FREQ=WEEKLY;BYDAY=SU", "04:00", 60, "UTC",
                           excluded=date(2026, 2, 1)).excluded == {date(2026, 2, 1)}  # type: ignore[arg-type]  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("starts_on", datetime(2026, 1, 1), WrongType),
        ("ends_on", 20260101, WrongType),
        ("excluded", ["2026-13-01"], InvalidInput),
        ("starts_on", "next monday", InvalidInput),
    ],
)
def test_r13_a_window_date_that_is_no_date_is_refused_naming_it(
    field: str, value: Any, error: type
) -> None:
    with pytest.raises(error) as caught:
        RecurringWindow("FREQ=WEEKLY;BYDAY=SU", "04:00", 60, "UTC", **{field: value})
    bad = value[0] if isinstance(value, list) else value
    assert caught.value.value == bad  # type: ignore[attr-defined]


def test_r13_a_window_ending_before_it_starts_is_bad_input_and_one_day_long_is_not() -> None:
    with pytest.raises(InvalidInput) as caught:
        RecurringWindow("FREQ=WEEKLY;BYDAY=SU", "04:00", 60, "UTC", starts_on="2026-01-02",
                        ends_on="2026-01-01")  # fmt: skip
    assert caught.value.value == date(2026, 1, 1)
    RecurringWindow("FREQ=WEEKLY;BYDAY=SU", "04:00", 60, "UTC", starts_on="2026-01-02",
                    ends_on="2026-01-02")  # fmt: skip


@pytest.mark.parametrize(
    ("window", "text"),
    [
        (RecurringWindow.weekly(["thu", "tue"], "22:00", 90, CHICAGO, every=2),
         "Tuesday, Thursday (every 2 weeks) 22:00 for 1h30 America/Chicago"),
        (RecurringWindow.weekly(["sun"], "04:00", 60, "UTC"), "Sunday 04:00 for 1h UTC"),
        (RecurringWindow.monthly("04:00", 120, "UTC", nth=-1, weekday="sun", every=3),
         "monthly on the last Sunday (every 3 months) 04:00 for 2h UTC"),
        (RecurringWindow.monthly("04:00", 60, "UTC", day=-1),
         "monthly on day -1 (from the end) 04:00 for 1h UTC"),
        (RecurringWindow.monthly("04:00", 65, "UTC", day=15),
         "monthly on day 15 04:00 for 1h05 UTC"),
        (RecurringWindow("FREQ=MONTHLY;BYDAY=2TU,-2FR,1MO,3WE,4TH,5SA", "04:00", 600, "UTC"),
         "monthly on the second to last Friday, first Monday, second Tuesday, third Wednesday, "
         "fourth Thursday, fifth Saturday 04:00 for 10h UTC"),
        (RecurringWindow("FREQ=MONTHLY;BYDAY=-3TU", "04:00", 60, "UTC"),
         "monthly on the -3 Tuesday 04:00 for 1h UTC"),
    ],
)  # fmt: skip
def test_r13_a_recurring_window_is_shown_in_words(window: RecurringWindow, text: str) -> None:
    assert str(window) == text


def test_r13_a_monthly_window_needs_a_day_or_a_week_of_the_month_and_weekday_not_both() -> None:
    for kw in ({}, {"day": 1, "nth": 1, "weekday": "sun"}, {"nth": 1}, {"weekday": "sun"}):
        with pytest.raises(InvalidInput):
            RecurringWindow.monthly("04:00", 60, "UTC", **kw)
    assert RecurringWindow.monthly("04:00", 60, "UTC", day=1, nth=1).rule == (
        "FREQ=MONTHLY;BYMONTHDAY=1"
    )


# -- every N: the phase is kept however far from the start ----------------------------------------


def test_r13_an_every_two_weeks_window_keeps_its_phase_years_after_it_starts() -> None:
    w = RecurringWindow.weekly(["tue", "thu"], "22:00", 60, "UTC", every=2, starts_on="2026-01-05")
    days = [o[0].date() for o, _ in zip(w.occurrences(_at(2027, 6, 1)), range(4))]
    assert days == [date(2027, 6, 8), date(2027, 6, 10), date(2027, 6, 22), date(2027, 6, 24)]


@pytest.mark.parametrize("weeks", [0, 1, 2, 3, 4, 5, 9, 10])
def test_r13_an_every_three_weeks_window_is_found_from_any_week_after_its_start(
    weeks: int,
) -> None:
    start = date(2026, 1, 7)  # a Wednesday
    w = RecurringWindow.weekly(["wed"], "04:00", 60, "UTC", every=3, starts_on=start)
    after = datetime.combine(start + timedelta(weeks=weeks), time(5), UTC)
    first = w.next_occurrence(after)
    assert first is not None
    gap = (first[0].date() - start).days
    assert gap % 21 == 0 and 0 <= (first[0] - after).days < 21


@pytest.mark.parametrize("months", [0, 1, 2, 3, 4, 7, 13, 25])
def test_r13_an_every_two_months_window_is_found_from_any_month_after_its_start(
    months: int,
) -> None:
    w = RecurringWindow.monthly("04:00", 60, "UTC", day=10, every=2, starts_on="2026-03-10")
    y, m = divmod(2 + months, 12)
    after = _at(2026 + y, m + 1, 11)
    first = w.next_occurrence(after)
    assert first is not None
    opened = first[0].date()
    assert opened.day == 10 and (opened.year * 12 + opened.month - (2026 * 12 + 3)) % 2 == 0
    assert 0 < (opened - after.date()).days <= 62


def test_r13_a_monthly_window_starting_mid_month_counts_from_its_start_date() -> None:
    w = RecurringWindow.monthly("04:00", 60, "UTC", day=5, starts_on="2026-03-20")
    assert w.next_occurrence(_at(2026, 3, 1)) == (_at(2026, 4, 5, 4), _at(2026, 4, 5, 5))


def test_r13_an_excluded_date_and_dates_before_the_start_have_no_window() -> None:
    w = RecurringWindow.weekly(["sun"], "04:00", 60, "UTC", starts_on="2026-01-11",
                               excluded=["2026-01-18"])  # fmt: skip
    found = [o[0].date() for o, _ in zip(w.occurrences(_at(2026, 1, 1)), range(2))]
    assert found == [date(2026, 1, 11), date(2026, 1, 25)]


def test_r13_a_recurring_window_past_its_end_has_no_next_occurrence_and_contains_nothing() -> None:
    w = RecurringWindow.weekly(["sun"], "04:00", 60, "UTC", ends_on="2026-01-11")
    assert w.next_occurrence(_at(2026, 1, 11, 5)) is None
    assert not w.contains(_at(2026, 1, 18, 4, 30))
    assert w.contains(_at(2026, 1, 11, 4)) and not w.contains(_at(2026, 1, 11, 5))


def test_r13_a_window_longer_than_a_day_still_open_is_found() -> None:
    w = RecurringWindow.weekly(["fri"], "20:00", timedelta(days=3), "UTC")
    assert w.next_occurrence(_at(2026, 1, 11, 19)) == (_at(2026, 1, 9, 20), _at(2026, 1, 12, 20))


# -- blackouts --------------------------------------------------------------------------------


def test_r13_a_blackout_of_no_length_is_bad_input_naming_both_ends() -> None:
    at = _at(2026, 1, 1)
    with pytest.raises(InvalidInput) as caught:
        Blackout("exams", at, at)
    assert caught.value.value == (at, at)
    Blackout("exams", at, at + timedelta(microseconds=1))


def test_r13_a_blackout_for_a_tenant_and_a_group_is_bad_input_naming_both() -> None:
    with pytest.raises(InvalidInput) as caught:
        Blackout("exams", _at(2026, 1, 1), _at(2026, 1, 2), tenant_id="d1", group_id="g1")
    assert caught.value.value == ("d1", "g1")


@pytest.mark.parametrize(
    ("blackout", "tenant", "group", "applies"),
    [
        ({"tenant_id": "d1"}, "d1", None, True),
        ({"tenant_id": "d1"}, "d2", "g1", False),
        ({"group_id": "g1"}, "d2", "g1", True),
        ({"group_id": "g1"}, "d2", "g2", False),
        ({"group_id": "g1"}, "d2", None, False),
        ({}, "d9", None, True),
    ],
)
def test_r13_a_blackout_applies_to_its_tenant_its_groups_tenants_or_everyone(
    blackout: Dict[str, Any], tenant: str, group: Any, applies: bool
) -> None:
    b = Blackout("exams", _at(2026, 1, 1), _at(2026, 1, 2), **blackout)
    assert b.applies_to(tenant, group) is applies


@pytest.mark.parametrize(
    ("kinds", "asked", "blocked"),
    [
        ("version", [WorkKind.VERSION], True),
        ("version", [WorkKind.REFRESH], False),
        ("version", [WorkKind.REFRESH, WorkKind.VERSION], True),
        ("all", [WorkKind.REFRESH], True),
        ("all", [], False),
    ],
)
def test_r13_a_blackout_blocks_only_its_kinds_of_work(
    kinds: str, asked: List[WorkKind], blocked: bool
) -> None:
    assert Blackout("x", _at(2026, 1, 1), _at(2026, 1, 2), kinds=kinds).blocks(asked) is blocked


@pytest.mark.parametrize(
    ("kw", "scope"),
    [
        ({}, "all work, provider-wide"),
        ({"kinds": "refresh", "tenant_id": "d1"}, "DB refreshes, tenant d1"),
        ({"kinds": "version", "group_id": "g1"}, "version updates, group g1"),
        ({"kinds": ["version", "refresh"]}, "all work, provider-wide"),
    ],
)
def test_r13_a_blackouts_scope_in_words(kw: Dict[str, Any], scope: str) -> None:
    assert Blackout("x", _at(2026, 1, 1), _at(2026, 1, 2), **kw).scope == scope


@pytest.mark.parametrize(
    ("value", "kinds"),
    [
        ("all", ALL_WORK),
        (" Version ", {WorkKind.VERSION}),
        ("versions", {WorkKind.VERSION}),
        ("version-update", {WorkKind.VERSION}),
        ("version updates", {WorkKind.VERSION}),
        ("db-refresh", {WorkKind.REFRESH}),
        ("db refresh", {WorkKind.REFRESH}),
        ("refreshes", {WorkKind.REFRESH}),
        (WorkKind.REFRESH, {WorkKind.REFRESH}),
        (["refresh", WorkKind.VERSION], ALL_WORK),
        (("all",), ALL_WORK),
    ],
)
def test_r13_kinds_of_work_by_name_or_list(value: Any, kinds: Any) -> None:
    assert parse_work_kinds(value) == kinds


@pytest.mark.parametrize("value", [[], None, 5, "everything", ["version", "nope"]])
def test_r13_unknown_kinds_of_work_are_refused(value: Any) -> None:
    with pytest.raises((InvalidInput, WrongType)) as caught:
        parse_work_kinds(value)
    if isinstance(caught.value, WrongType):
        assert (caught.value.name, caught.value.value) == ("kinds of work", value)
    else:
        assert isinstance(caught.value, InvalidInput)
        assert caught.value.value in (value, "nope")


def test_r13_kinds_of_work_are_named_in_words() -> None:
    assert (str(WorkKind.VERSION), str(WorkKind.REFRESH)) == ("version updates", "DB refreshes")


def test_r13_a_blackout_time_that_is_naive_is_refused_naming_it() -> None:
    from siteupdates.errors import NaiveDatetime

    with pytest.raises(NaiveDatetime, match=r"^blackout time "):
        Blackout("x", datetime(2026, 1, 1), _at(2026, 1, 2))


# -- the surviving mutants of the first run, killed ---------------------------------------------


@pytest.mark.parametrize(
    ("window", "call", "field"),
    [
        (WeeklyWindow("sun", "04:00", "09:00", "UTC"), "next_occurrence", "after"),
        (WeeklyWindow("sun", "04:00", "09:00", "UTC"), "contains", "instant"),
        (RecurringWindow.weekly(["sun"], "04:00", 60, "UTC"), "next_occurrence", "after"),
        (RecurringWindow.weekly(["sun"], "04:00", 60, "UTC"), "contains", "instant"),
    ],
)
def test_r8_a_naive_moment_asked_of_a_window_is_refused_naming_it(
    window: Any, call: str, field: str
) -> None:
    from siteupdates.errors import NaiveDatetime

    with pytest.raises(NaiveDatetime) as caught:
        getattr(window, call)(datetime(2026, 1, 4, 5))
    assert str(caught.value).startswith(f"{field} 2026-01-04T05:00:00 has no time zone")


@pytest.mark.parametrize(
    ("field", "value", "name"),
    [
        ("starts_on", datetime(2026, 1, 1), "window start date"),
        ("ends_on", 20260101, "window end date"),
        ("excluded", [datetime(2026, 1, 1)], "excluded date"),
    ],
)
def test_r13_a_window_date_of_the_wrong_type_is_named_by_its_field(
    field: str, value: Any, name: str
) -> None:
    with pytest.raises(WrongType) as caught:
        RecurringWindow("FREQ=WEEKLY;BYDAY=SU", "04:00", 60, "UTC", **{field: value})
    assert caught.value.name == name


@pytest.mark.parametrize(
    ("kw", "value"), [({}, None), ({"day": 1, "nth": 1, "weekday": "sun"}, 1), ({"nth": 2}, None)]
)
def test_r13_a_monthly_window_asked_without_a_day_names_the_day_given(
    kw: Dict[str, Any], value: object
) -> None:
    with pytest.raises(InvalidInput) as caught:
        RecurringWindow.monthly("04:00", 60, "UTC", **kw)
    assert caught.value.value == value
    assert str(caught.value) == "a monthly window needs day=N, or nth=N with weekday="


def test_r13_a_monthly_window_on_the_first_is_not_counted_from_the_end() -> None:
    assert str(RecurringWindow.monthly("04:00", 60, "UTC", day=1)) == (
        "monthly on day 1 04:00 for 1h UTC"
    )


def test_r13_a_monthly_window_is_found_in_the_month_asked_not_the_next() -> None:
    w = RecurringWindow.monthly("04:00", 60, "UTC", day=20, starts_on="2026-01-01")
    assert w.next_occurrence(_at(2026, 3, 10)) == (_at(2026, 3, 20, 4), _at(2026, 3, 20, 5))


def test_r13_an_every_five_months_window_keeps_its_phase_years_after_it_starts() -> None:
    # 2026-01, -06, -11, 2027-04, -09, 2028-02, -07: the next after 1 June 2028 is July.
    w = RecurringWindow.monthly("04:00", 60, "UTC", day=15, every=5, starts_on="2026-01-15")
    assert w.next_occurrence(_at(2028, 6, 1)) == (_at(2028, 7, 15, 4), _at(2028, 7, 15, 5))


def test_r13_every_n_weeks_count_from_monday_whatever_the_calendars_first_weekday() -> None:
    import calendar

    w = RecurringWindow.weekly(["sun", "mon"], "04:00", 60, "UTC", every=2, starts_on="2026-01-05")
    before = calendar.firstweekday()
    calendar.setfirstweekday(calendar.SUNDAY)
    try:
        days = [o[0].date() for o, _ in zip(w.occurrences(_at(2026, 1, 1)), range(4))]
    finally:
        calendar.setfirstweekday(before)
    # Weeks of Monday 5 and Monday 19 January: Mon 5, Sun 11, Mon 19, Sun 25.
    assert days == [date(2026, 1, 5), date(2026, 1, 11), date(2026, 1, 19), date(2026, 1, 25)]


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ("BYDAY=SU", "FREQ=''"),
        ("FREQ=DAILY", "FREQ='DAILY'"),
        ("FREQ=WEEKLY;=SU", "=SU='SU'"),
        ("FREQ=WEEKLY;COUNT=3", "COUNT='3'"),
        ("FREQ=WEEKLY;BYDAY=SU=MO", "BYDAY='SU=MO'"),
        ("FREQ=WEEKLY;INTERVAL=0;BYDAY=SU", "INTERVAL='0'"),
        ("FREQ=WEEKLY;BYDAY=XY", "BYDAY='XY'"),
        ("FREQ=MONTHLY;BYDAY=xSU", "BYDAY='XSU'"),
        ("FREQ=MONTHLY;BYDAY=6SU", "BYDAY='6SU'"),
        ("FREQ=MONTHLY;BYMONTHDAY=x", "BYMONTHDAY='X'"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY='32'"),
    ],
)
def test_r13_an_unsupported_recurrence_part_is_named_with_its_value(rule: str, named: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        RecurringWindow(rule, "04:00", 60, "UTC")
    assert str(caught.value).startswith(f"recurrence {rule!r}: unsupported {named};")
