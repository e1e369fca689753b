"""The planner (R10, R13, R14) at each edge a surviving mutant of ``planner.py`` moved.

A plain window keeps the arithmetic visible: Sunday 04:00-10:00 UTC, two-hour
slots (04:00, 06:00, 08:00). Each test pins what one mutant changed, which the
rest of the unit tests let through (docs/testing.md, "Mutation score").
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Dict, Optional, Sequence

import pytest

from siteupdates.domain import RecurringWindow, ScheduledTask, WeeklyWindow
from siteupdates.domain.planner import (
    TAKEN,
    Demand,
    Hold,
    Occupied,
    Placement,
    Plan,
    _Intervals,
    _Next,
    expand_blackouts,
    plan,
    weekly_window_start,
)
from siteupdates.domain.windows import Blackout, WorkKind
from siteupdates.errors import InvalidInput, NaiveDatetime

UTC = timezone.utc
SUNDAY = WeeklyWindow("sunday", "04:00", "10:00", "UTC")
TWO_H = timedelta(hours=2)
HORIZON = datetime(2026, 4, 1, tzinfo=UTC)
#: Sunday 1 March 2026, midnight UTC.
SUN = datetime(2026, 3, 1, tzinfo=UTC)


def _h(hours: float, base: datetime = SUN) -> datetime:
    return base + timedelta(hours=hours)


def _week(n: int, hour: float) -> datetime:
    return SUN + timedelta(weeks=n, hours=hour)


def run(ds: Sequence[Demand], **kw: Any) -> Plan:
    args: Dict[str, Any] = dict(windows=[SUNDAY], capacity=1, slot_length=TWO_H, horizon=HORIZON)
    args.update(kw)
    return plan(ds, **args)


def d(rid: str, *tenants: str, at: datetime = SUN, **kw: Any) -> Demand:
    return Demand(rid, tenants or (rid,), at, "UTC", **kw)


def starts(p: Plan) -> Dict[str, Optional[datetime]]:
    return {rid: pl.start for rid, pl in p.placements.items()}


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "value"),
    [
        ({"capacity": 0}, 0),
        ({"slot_length": -TWO_H}, -TWO_H),
        ({"windows": []}, []),
    ],
)
def test_r13_a_plan_needs_a_capacity_a_slot_length_and_a_window(
    kw: Dict[str, Any], value: object
) -> None:
    with pytest.raises(InvalidInput) as caught:
        run([d("a")], **kw)
    assert caught.value.value == value


def test_r13_a_capacity_of_one_and_a_slot_of_a_minute_are_enough() -> None:
    p = run([d("a")], slot_length=timedelta(minutes=1))
    assert p.placements["a"].id == "a" and p.order == ["a"]
    assert p.placements["a"].start == _h(4) and p.placements["a"].end == _h(
        4,
    ) + timedelta(minutes=1)


def test_r13_each_request_appears_once_in_a_plan_and_the_error_names_the_list() -> None:
    with pytest.raises(InvalidInput) as caught:
        run([d("a"), d("b"), d("a")])
    assert caught.value.value == ["a", "b", "a"]


@pytest.mark.parametrize("field", ["horizon", "start"])
def test_r13_the_horizon_and_start_are_instants_named_when_naive(field: str) -> None:
    with pytest.raises(NaiveDatetime, match=f"^{field} "):
        run([d("a")], **{field: datetime(2026, 4, 1)})


def test_r13_explaining_a_request_not_in_the_plan_names_it() -> None:
    with pytest.raises(InvalidInput) as caught:
        run([d("a")]).explain("zz")
    assert caught.value.value == "zz"


# -- holds and weights -------------------------------------------------------------------------


def test_r13_a_demand_starts_at_its_latest_hold_or_its_preferred_start() -> None:
    early = Hold(_h(-5), "soak")
    late = Hold(_h(30), "notice")
    later = Hold(_h(50), "notice 2")
    assert d("a", holds=(early,)).not_before == SUN
    assert d("a", holds=(late, early)).not_before == _h(30)
    assert d("a", holds=(later, late)).not_before == _h(50)
    assert d("a", holds=(Hold(SUN, "same"),)).not_before == SUN
    assert d("g", "t1", "t2", "t3").weight == 3


def test_a_placement_without_a_start_is_not_placed() -> None:
    assert Placement("a", SUN, _h(2), 1).placed
    assert not Placement("a", None, None, 1, "full").placed


def test_r13_a_hold_after_another_demand_waits_for_its_slot_to_end_and_the_gap() -> None:
    staging = d("s", "t1")
    prod = d(
        "p", "t2", holds=(Hold(SUN, "soak after staging", after="s", gap=timedelta(hours=1)),)
    )
    p = run([staging, prod], capacity=2)
    # staging takes 04:00-06:00; production may start from 07:00: the 08:00 slot.
    assert starts(p) == {"s": _h(4), "p": _h(8)}
    e = p.explain("p")
    assert [c.cause for c in e.passed_over] == ["hold", "hold"]
    assert [c.why for c in e.passed_over] == ["soak after staging"] * 2
    assert "  not before Mar. 1, 2026 7:00 AM UTC: soak after staging" in e.lines


def test_r13_a_hold_ending_exactly_at_a_slot_start_lets_the_demand_have_that_slot() -> None:
    p = run([d("a", holds=(Hold(_h(6), "notice"),))])
    assert p.placements["a"].start == _h(6)
    assert [c.cause for c in p.explain("a").passed_over] == ["hold"]


# -- capacity and weight -----------------------------------------------------------------------


def test_r10_a_group_exactly_as_large_as_a_slot_fits_and_one_more_does_not() -> None:
    p = run([d("g", "t1", "t2", "t3"), d("h", "u1", "u2", "u3", "u4")], capacity=3)
    assert p.placements["g"].start == _h(4)
    assert p.placements["h"].reason == "needs 4 places at once (one per tenant) but a slot holds 3"
    assert not p.placements["h"].placed


def test_r10_a_group_that_does_not_fit_what_is_left_takes_the_next_slot_with_room() -> None:
    p = run([d("a"), d("g", "t1", "t2")], capacity=2)
    assert starts(p) == {"a": _h(4), "g": _h(6)}
    (passed,) = p.explain("g").passed_over
    assert (passed.cause, passed.why, passed.ahead) == (
        "capacity", "capacity full (1 of 2 taken by requests ahead)", ("a",),
    )  # fmt: skip


def test_r13_a_slot_fills_exactly_at_capacity() -> None:
    p = run([d("a"), d("b"), d("c")], capacity=2)
    assert starts(p) == {"a": _h(4), "b": _h(4), "c": _h(6)}
    assert p.passed_over_count("c") == 1 and p.passed_over_count("a") == 0


# -- tenants busy, updates booked before -------------------------------------------------------


def test_r13_a_tenant_runs_one_update_at_a_time() -> None:
    p = run([d("a", "t1"), d("b", "t1"), d("c", "t1")], capacity=3)
    assert starts(p) == {"a": _h(4), "b": _h(6), "c": _h(8)}
    passed = p.explain("c").passed_over
    assert [(c.cause, c.ahead) for c in passed] == [("busy", ("a",)), ("busy", ("b",))]


def test_r13_an_update_booked_before_takes_its_slots_and_keeps_its_tenant_busy() -> None:
    booked = Occupied("old", ("t1", "t2"), _h(5), _h(7))  # across the 04:00 and 06:00 slots
    p = run([d("a", "t1"), d("b", "t9"), d("c", "t8")], capacity=3, occupied=[booked])
    # b fills 04:00 (two places taken by "old"); c fits the third place at 06:00.
    assert starts(p) == {"a": _h(8), "b": _h(4), "c": _h(6)}
    assert [(c.cause, c.ahead) for c in p.explain("a").passed_over] == [
        ("busy", ("old",)), ("busy", ("old",)),
    ]  # fmt: skip
    full = run([d("x", "t9")], capacity=2, occupied=[booked])
    assert full.placements["x"].start == _h(8)
    assert full.explain("x").passed_over[0].why == "capacity full (2 of 2 taken by requests ahead)"


def test_r13_an_update_booked_before_that_ends_as_a_slot_starts_leaves_it_free() -> None:
    booked = Occupied("old", ("t1",), _h(2), _h(4))
    after = Occupied("later", ("t1",), _h(10), _h(12))
    p = run([d("a", "t1")], occupied=[booked, after])
    assert p.placements["a"].start == _h(4)


def test_r13_two_updates_booked_before_for_one_tenant_keep_it_busy_in_both_slots() -> None:
    one = Occupied("o1", ("t1",), _h(4), _h(6))
    two = Occupied("o2", ("t1",), _h(6), _h(8))
    p = run([d("a", "t1"), d("b", "t1")], capacity=3, occupied=[one, two])
    assert starts(p) == {"a": _h(8), "b": _week(1, 4)}


def test_r13_a_tenant_with_several_planned_updates_is_busy_in_each() -> None:
    ds = [d("a", "t1"), d("b", "t1"), d("c", "t1"), d("e", "t1")]
    p = run(ds, capacity=4)
    assert starts(p) == {"a": _h(4), "b": _h(6), "c": _h(8), "e": _week(1, 4)}


# -- slots -------------------------------------------------------------------------------------


def test_r13_a_slot_must_end_by_the_windows_close() -> None:
    p = run([d("a"), d("b")], slot_length=timedelta(hours=4))
    # 04:00-08:00 fits; 08:00-12:00 would run past 10:00: next Sunday.
    assert starts(p) == {"a": _h(4), "b": _week(1, 4)}
    assert p.slots[:2] == [(_h(4), _h(8)), (_week(1, 4), _week(1, 8))]


def test_r13_planning_from_inside_a_window_keeps_the_slot_still_running() -> None:
    p = run([d("a", at=_h(5))], start=_h(5))
    assert p.slots[0] == (_h(4), _h(6))  # ends after the start: still listed
    assert p.placements["a"].start == _h(6)  # but none starts before the preferred time
    q = run([d("a", at=_h(6))], start=_h(6))
    assert q.slots[0] == (_h(6), _h(8))  # the one ending exactly at the start is not


def test_r13_no_slot_starts_at_or_after_the_horizon() -> None:
    p = run([d("a", at=_h(5))], horizon=_h(8))
    assert p.slots == [(_h(4), _h(6)), (_h(6), _h(8))]
    assert p.placements["a"].start == _h(6)
    none = run([d("a", at=_h(7))], horizon=_h(8))
    assert (
        none.placements["a"].reason == "no free slot before the horizon 2026-03-01T08:00:00+00:00"
    )
    assert none.placements["a"].position == 1


def test_r13_with_no_demands_the_plan_starts_at_the_horizon() -> None:
    p = run([], horizon=_h(5))
    assert p.slots == [(_h(4), _h(6))] and p.placements == {}


# -- blackouts: merged, bounded, repeated ------------------------------------------------------


def test_r13_intervals_that_overlap_merge_under_both_names_and_touching_ones_do_not() -> None:
    ivs = _Intervals([(_h(4), _h(6), "b"), (_h(0), _h(5), "a"), (_h(5), _h(7), "a"),
                      (_h(7), _h(8), "c")])  # fmt: skip
    assert (ivs.starts, ivs.ends, ivs.names) == ([_h(0), _h(7)], [_h(7), _h(8)], ["a, b", "c"])
    assert ivs.hit(_h(7), _h(9)) == (_h(8), "c")
    assert ivs.hit(_h(8), _h(9)) is None  # starts as the last one ends
    assert ivs.hit(_h(-2), _h(0)) is None  # ends as the first one starts
    assert ivs.hit(
        _h(-2),
        _h(
            0,
        )
        + timedelta(seconds=1),
    ) == (_h(7), "a, b")


def test_r13_union_find_skips_closed_indexes() -> None:
    nxt = _Next(4)
    nxt.close(1)
    nxt.close(2)
    assert [nxt.find(i) for i in range(5)] == [0, 3, 3, 3, 4]
    nxt.close(3)
    assert nxt.find(1) == 4 and nxt.parent[1] == 4  # the path is shortened


def test_r13_a_blackout_touching_a_slot_leaves_it_open() -> None:
    before = Blackout("before", _h(0), _h(4))
    after = Blackout("after", _h(6), _h(9))
    p = run([d("a"), d("b")], blackouts=[before, after])
    assert starts(p) == {"a": _h(4), "b": _week(1, 4)}
    assert p.explain("b").passed_over[-1].why == "blackout after (all work, provider-wide)"


def test_r13_a_scoped_blackout_moves_a_demand_past_its_end() -> None:
    mine = Blackout("mine", _h(3), _h(7), tenant_id="t1")
    other = Blackout("theirs", _h(3), _h(20), tenant_id="t2")
    p = run([d("a", "t1"), d("b", "t3")], capacity=2, blackouts=[mine, other])
    assert starts(p) == {"a": _h(8), "b": _h(4)}
    assert [c.cause for c in p.explain("a").passed_over] == ["tenant-blackout"] * 2


def test_r13_overlapping_scoped_blackouts_move_a_demand_past_the_later_end() -> None:
    short = Blackout("short", _h(3), _h(5), tenant_id="t1")
    long = Blackout("long", _h(3), _h(7), group_id="g1", kinds="version")
    ds = [d("a", "t1", groups=("g1",), kinds=frozenset({WorkKind.VERSION}))]
    p = run(ds, blackouts=[short, long])
    assert p.placements["a"].start == _h(8)
    whys = [c.why for c in p.explain("a").passed_over]
    assert whys == [
        "blackout short (all work, tenant t1)",
        "blackout long (version updates, group g1)",
    ]


def test_r13_a_blackout_of_one_kind_for_everyone_is_scoped_not_provider_wide() -> None:
    versions = Blackout("freeze", _h(3), _h(7), kinds="version")
    refresh = d("r", "t1", kinds=frozenset({WorkKind.REFRESH}))
    version = d("v", "t2", kinds=frozenset({WorkKind.VERSION}))
    p = run([refresh, version], capacity=2, blackouts=[versions])
    assert starts(p) == {"r": _h(4), "v": _h(8)}
    assert p.explain("v").passed_over[0].cause == "blackout"


def test_r13_a_tenant_blackout_of_another_tenant_does_not_touch_a_group_demand() -> None:
    other = Blackout("other", _h(3), _h(7), tenant_id="t9")
    p = run([d("g", "t1", "t2")], capacity=2, blackouts=[other])
    assert p.placements["g"].start == _h(4)


def test_r13_a_yearly_blackout_is_repeated_from_the_year_before_to_the_year_after() -> None:
    xmas = Blackout("xmas", datetime(2020, 12, 24, tzinfo=UTC), datetime(2020, 12, 27, tzinfo=UTC),
                    yearly=True)  # fmt: skip
    once = Blackout("once", _h(0), _h(1))
    out = expand_blackouts([xmas, once], datetime(2026, 6, 1, tzinfo=UTC),
                           datetime(2027, 2, 1, tzinfo=UTC))  # fmt: skip
    assert out[0] is once or out[-1] is once
    years = [b.start.year for b in out if b.name == "xmas"]
    assert years == [2025, 2026, 2027, 2028]
    assert all(
        b.yearly is False and b.end - b.start == timedelta(days=3) for b in out if b is not once
    )


def test_r13_a_yearly_blackout_on_29_february_falls_on_28_february_in_a_common_year() -> None:
    leap = Blackout("leap day", datetime(2024, 2, 29, 6, tzinfo=UTC),
                    datetime(2024, 3, 1, 6, tzinfo=UTC), yearly=True,
                    zone="America/Chicago")  # fmt: skip
    out = expand_blackouts(
        [leap], datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    )
    spans = {b.start.year: (b.start, b.end) for b in out}
    assert sorted(spans) == [2025, 2026, 2027]
    # 00:00 Chicago (CST, 06:00 UTC) on 28 February, for the same day's length.
    assert spans[2026] == (
        datetime(2026, 2, 28, 6, tzinfo=UTC),
        datetime(2026, 3, 1, 6, tzinfo=UTC),
    )
    out = expand_blackouts(
        [leap], datetime(2028, 1, 1, tzinfo=UTC), datetime(2028, 6, 1, tzinfo=UTC)
    )
    assert (datetime(2028, 2, 29, 6, tzinfo=UTC), datetime(2028, 3, 1, 6, tzinfo=UTC)) in [
        (b.start, b.end) for b in out
    ]


# -- what a contact reads ----------------------------------------------------------------------


def test_r22_a_slot_taken_by_a_tenant_the_reader_cannot_see_is_only_taken() -> None:
    p = run([d("a", "t1"), d("b", "t2"), d("c", "t1")], capacity=2)
    # c passes over 04:00 (t1 busy with a, and full).
    mine = p.explain("c", sees=lambda t: t == "t1")
    assert [(c.why, c.ahead) for c in mine.passed_over] == [
        ("your tenant already has an update then", ("a",))
    ]
    stranger = p.explain("c", sees=lambda t: t == "t9")
    assert [(c.why, c.ahead) for c in stranger.passed_over] == [(TAKEN, ())]


def test_r22_a_capacity_full_slot_is_only_taken_for_a_reader() -> None:
    p = run([d("a", "t1"), d("b", "t2")])
    assert [(c.why, c.ahead) for c in p.explain("b", sees=lambda t: True).passed_over] == [
        (TAKEN, ())
    ]


def test_r22_a_tenant_blackout_is_named_only_to_a_reader_who_sees_every_tenant() -> None:
    mine = Blackout("exams", _h(3), _h(5), tenant_id="t1")
    p = run([d("g", "t1", "t2")], capacity=2, blackouts=[mine])
    assert p.explain("g", sees=lambda t: True).passed_over[0].why == (
        "blackout exams (all work, tenant t1)"
    )
    assert p.explain("g", sees=lambda t: t == "t1").passed_over[0].why == TAKEN


def test_r22_a_provider_blackout_and_a_hold_are_named_to_every_reader() -> None:
    closed = Blackout("maintenance", _h(3), _h(5))
    p = run([d("a", holds=(Hold(_h(7), "notice"),))], blackouts=[closed])
    whys = [c.why for c in p.explain("a", sees=lambda t: False).passed_over]
    assert whys == ["notice", "notice"]
    q = run([d("a")], blackouts=[closed])
    assert q.explain("a", sees=lambda t: False).passed_over[0].why == (
        "blackout maintenance (all work, provider-wide)"
    )


def test_r13_the_explanation_says_when_the_preferred_start_is_outside_every_window() -> None:
    inside = run([d("a", at=_h(5), label="E.1505.2")], capacity=1).explain("a")
    assert inside.lines[0] == (
        "request a (E.1505.2): position 1 in the queue, preferred start Mar. 1, 2026 5:00 AM UTC"
    )
    assert not any("outside every window" in line for line in inside.lines)
    outside = run([d("a", at=_h(1))]).explain("a")
    assert outside.lines[1] == (
        "  Mar. 1, 2026 1:00 AM UTC is outside every window (Sunday 04:00-10:00 UTC)"
    )
    exact = run([d("a", at=_h(4))]).explain("a")
    assert exact.lines == (
        "request a: position 1 in the queue, preferred start Mar. 1, 2026 4:00 AM UTC",
        "  placed at Mar. 1, 2026 4:00 AM UTC until Mar. 1, 2026 6:00 AM UTC",
    )


def test_r13_the_explanation_of_a_request_not_placed_gives_the_reason() -> None:
    e = run([d("g", "a", "b")]).explain("g")
    assert (
        e.lines[-1] == "  not placed: needs 2 places at once (one per tenant) but a slot holds 1"
    )
    assert e.placement.start is None and e.position == 1 and e.preferred == SUN


def test_r14_a_placed_request_warns_of_each_tenants_task_during_its_slot() -> None:
    task = ScheduledTask("export", time(5), "UTC")
    other = ScheduledTask("report", time(12), "UTC")
    p = run([d("g", "t1", "t2")], capacity=2, tasks={"t1": [task, other], "t2": [task]})
    warned = p.placements["g"].warnings
    assert [(w.rule, w.message) for w in warned] == [
        ("R14", "scheduled task 'export' of t1 would run during the update"),
        ("R14", "scheduled task 'export' of t2 would run during the update"),
    ]
    assert p.explain("g").lines[-1] == (
        "  warning R14: scheduled task 'export' of t2 would run during the update"
    )


# -- the week of a window ----------------------------------------------------------------------


def test_r8_the_week_of_a_recurring_window_is_its_next_opening_from_monday() -> None:
    monthly = RecurringWindow.monthly("04:00", 60, "UTC", day=1)
    assert weekly_window_start(monthly, date(2026, 3, 4)) == (
        datetime(2026, 4, 1, 4, tzinfo=UTC), datetime(2026, 4, 1, 5, tzinfo=UTC),
    )  # fmt: skip
    # Monday 2 March 2026 itself opens at 04:00: that one, not a later one.
    mondays = RecurringWindow.weekly(["mon"], "00:00", 60, "UTC")
    assert weekly_window_start(mondays, date(2026, 3, 8))[0] == datetime(2026, 3, 2, tzinfo=UTC)
    ended = RecurringWindow.weekly(["mon"], "04:00", 60, "UTC", ends_on="2026-01-05")
    with pytest.raises(InvalidInput) as caught:
        weekly_window_start(ended, date(2026, 3, 4))
    assert caught.value.value is ended


def test_r8_the_week_of_a_weekly_window_is_its_day_in_that_week() -> None:
    # The week runs Monday to Sunday: Sunday 1 March ends the week of 23 February.
    assert weekly_window_start(SUNDAY, date(2026, 3, 1)) == (_h(4), _h(10))
    assert weekly_window_start(SUNDAY, date(2026, 3, 2)) == (_week(1, 4), _week(1, 10))


# -- the surviving mutants of the first run, killed -----------------------------------------------


def test_r13_a_naive_hold_is_refused_naming_it() -> None:
    with pytest.raises(NaiveDatetime, match=r"^hold "):
        Hold(datetime(2026, 3, 1), "soak")


def test_r13_an_explanation_renders_its_lines_one_a_line() -> None:
    e = run([d("a", at=_h(1))]).explain("a")
    assert e.render().split("\n") == list(e.lines) and e.id == "a"


def test_r13_identical_blackouts_keep_their_order_and_an_earlier_longer_one_its_start() -> None:
    same = _Intervals([(_h(1), _h(2), "b"), (_h(1), _h(2), "a")])
    assert same.names == ["b, a"]
    nested = _Intervals([(_h(2), _h(3), "inner"), (_h(0), _h(10), "outer"), (_h(0), _h(1), "x")])
    assert (nested.starts, nested.ends) == ([_h(0)], [_h(10)])
    assert nested.hit(_h(0), _h(1)) == (_h(10), "x, outer, inner")


def test_r13_passed_over_counts_from_the_first_slot_at_the_preferred_start() -> None:
    p = run([d("a", at=_h(5))])
    assert p.passed_over_count("a") == 0 and p.placements["a"].start == _h(6)


def test_r13_each_slot_passed_over_has_its_start_and_end() -> None:
    p = run([d("a"), d("b")])
    assert [(c.start, c.end) for c in p.explain("b").passed_over] == [(_h(4), _h(6))]


def test_r13_a_request_preferring_a_time_after_every_slot_is_explained_not_placed() -> None:
    e = run([d("a", at=_h(9))], horizon=_h(8)).explain("a")
    assert e.lines[-1] == (
        "  not placed: no free slot before the horizon 2026-03-01T08:00:00+00:00"
    )


def test_r13_a_hold_at_the_preferred_start_is_not_mentioned() -> None:
    e = run([d("a", at=_h(4), holds=(Hold(_h(4), "notice"),))]).explain("a")
    assert not any("not before" in line for line in e.lines)


def test_r13_a_slot_passed_over_for_a_reason_other_than_a_hold_is_named_by_it() -> None:
    p = run([d("b", "t2", at=_h(6)), d("a", "t1", holds=(Hold(_h(6), "notice"),))])
    assert [c.cause for c in p.explain("a").passed_over] == ["hold", "capacity"]


def test_r13_a_blackout_passed_over_lists_no_requests() -> None:
    p = run([d("a", at=_h(4))], blackouts=[Blackout("closed", _h(3), _h(5))])
    assert p.explain("a").lines[1] == (
        "  passed over Mar. 1, 2026 4:00 AM UTC: blackout closed (all work, provider-wide)"
    )


def test_r22_the_own_tenants_blackout_is_named_to_the_tenants_reader() -> None:
    p = run([d("a", "t1")], blackouts=[Blackout("exams", _h(3), _h(5), tenant_id="t1")])
    assert p.explain("a", sees=lambda t: t == "t1").passed_over[0].why == (
        "blackout exams (all work, tenant t1)"
    )


def test_r22_only_the_requests_of_the_readers_own_tenant_are_named_as_busy() -> None:
    p = run([d("a", "t1"), d("b", "t2"), d("c", "t1")], capacity=3)
    assert [(c.why, c.ahead) for c in p.explain("c", sees=lambda t: True).passed_over] == [
        ("your tenant already has an update then", ("a",))
    ]


def test_r22_a_busy_slot_taken_by_a_group_the_reader_cannot_wholly_see_is_only_taken() -> None:
    p = run([d("g", "t1", "t9"), d("c", "t1")], capacity=3)
    assert [(c.why, c.ahead) for c in p.explain("c", sees=lambda t: t == "t1").passed_over] == [
        (TAKEN, ())
    ]


def test_r13_each_update_booked_before_is_named_as_itself() -> None:
    o1 = Occupied("o1", ("t1",), _h(4), _h(6))
    o2 = Occupied("o2", ("t2",), _h(6), _h(8))
    p = run([d("a", "t2", at=_h(6))], capacity=3, occupied=[o1, o2])
    assert [(c.cause, c.ahead) for c in p.explain("a").passed_over] == [("busy", ("o2",))]
    assert p.placements["a"].start == _h(8)


def test_r13_an_update_booked_before_across_three_slots_keeps_its_tenant_busy_in_all() -> None:
    long = Occupied("o", ("t1",), _h(4), _h(10))
    p = run([d("a", "t1")], capacity=3, occupied=[long])
    assert p.placements["a"].start == _week(1, 4)


def test_r13_kinds_of_a_demand_are_looked_up_version_updates_first() -> None:
    v = Blackout("v", _h(3), _h(5), tenant_id="t1", kinds="version")
    r = Blackout("r", _h(3), _h(5), tenant_id="t1", kinds="refresh")
    p = run([d("a", "t1")], blackouts=[r, v])
    assert p.explain("a").passed_over[0].why == "blackout v (version updates, tenant t1)"


def test_r13_a_zero_slot_length_is_refused_before_the_windows_are_looked_at() -> None:
    with pytest.raises(InvalidInput) as caught:
        run([d("a")], slot_length=timedelta(0), windows=[])
    assert caught.value.value == timedelta(0)


def test_r13_an_update_booked_past_the_last_slot_is_counted_where_it_overlaps() -> None:
    late = Occupied("late", ("t1",), _h(7), HORIZON + timedelta(days=30))
    p = run([d("a", "t1"), d("b", "t2"), d("c", "t1")], capacity=3, occupied=[late])
    assert starts(p) == {"a": _h(4), "b": _h(4), "c": None}


def test_r13_an_update_booked_from_a_windows_close_leaves_its_last_slot_free() -> None:
    after = Occupied("after", ("t1",), _h(10), _h(11))
    p = run([d("a", "t1", at=_h(8))], occupied=[after])
    assert p.placements["a"].start == _h(8)


def test_r13_two_updates_booked_before_in_one_slot_both_take_capacity() -> None:
    o1 = Occupied("o1", ("t1",), _h(4), _h(6))
    o2 = Occupied("o2", ("t2",), _h(4), _h(6))
    p = run([d("a", "t3")], capacity=2, occupied=[o1, o2])
    assert p.placements["a"].start == _h(6)


def test_r10_a_group_too_big_for_what_is_left_never_goes_earlier_or_over_capacity() -> None:
    p = run([d("x", "t1", at=_h(8)), d("g", "t2", "t3", at=_h(8))], capacity=2, start=SUN)
    assert starts(p) == {"x": _h(8), "g": _week(1, 4)}


def test_r13_after_a_scoped_blackout_the_next_slot_is_still_checked_for_room() -> None:
    b = d("b", "t2", at=_h(6))
    a = d("a", "t1")
    p = run([b, a], blackouts=[Blackout("exams", _h(3), _h(5), tenant_id="t1")])
    assert starts(p) == {"b": _h(6), "a": _h(8)}


def test_r13_a_request_not_placed_keeps_its_id() -> None:
    p = run([d("a", at=_h(9))], horizon=_h(8))
    assert p.placements["a"].id == "a" and p.placements["a"].position == 1


def test_r13_a_busy_tenant_is_never_moved_before_its_preferred_start_nor_doubled() -> None:
    p = run([d("x", "t1", at=_h(8)), d("y", "t1", at=_h(8))], capacity=2, start=SUN)
    assert starts(p) == {"x": _h(8), "y": _week(1, 4)}


def test_r14_a_tenant_without_tasks_gets_no_warning_when_others_have_some() -> None:
    task = ScheduledTask("export", time(5), "UTC")
    p = run([d("a", "t2")], tasks={"t1": [task]})
    assert p.placements["a"].warnings == ()


def test_r13_an_update_booked_before_blocks_every_overlapping_slot_of_overlapping_windows() -> (
    None
):
    # Two windows' two-hour slots interleave (05, 06, 07, 08, 09). The update booked
    # 07:30-08:30 overlaps the 06:00 slot too, which starts before the 07:00 one;
    # the tenant runs one update at a time (R13). This was a bug: only slots from
    # the last one starting before 07:30 were counted, and 06:00 was given.
    later = WeeklyWindow("sunday", "05:00", "11:00", "UTC")
    booked = Occupied("old", ("t1",), _h(7.5), _h(8.5))
    p = run([d("a", "t1", at=_h(6))], windows=[SUNDAY, later], capacity=3, occupied=[booked])
    assert p.placements["a"].start == _h(9)
    assert [(c.start, c.cause) for c in p.explain("a").passed_over] == [
        (_h(6), "busy"), (_h(7), "busy"), (_h(8), "busy"),
    ]  # fmt: skip


def test_r13_two_new_updates_of_one_tenant_never_overlap_in_interleaved_windows() -> None:
    # Slots 04, 06, 08 and 05, 07, 09 interleave. "a" takes 04:00-06:00; the 05:00 slot
    # overlaps it, so "b" (same tenant) must wait for 06:00 (R13: one update at a time).
    later = WeeklyWindow("sunday", "05:00", "11:00", "UTC")
    ds = [d("a", "t1", at=_h(4)), d("b", "t1", at=_h(5))]
    p = run(ds, windows=[SUNDAY, later], capacity=3)
    assert starts(p) == {"a": _h(4), "b": _h(6)}
    assert [(c.start, c.cause) for c in p.explain("b").passed_over] == [(_h(5), "busy")]
    # Another tenant may use the overlapping slot: only the same tenant is held back.
    q = run([d("a", "t1", at=_h(4)), d("c", "t2", at=_h(5))], windows=[SUNDAY, later], capacity=3)
    assert starts(q) == {"a": _h(4), "c": _h(5)}


def test_r10_the_slot_after_one_too_full_is_checked_for_room_too() -> None:
    early = d("z", "t5", "t6", at=_week(1, 4))  # fills next Sunday 04:00
    ds = [early, d("x", "t1", at=_h(8)), d("g", "t2", "t3", at=_h(8))]
    p = run(ds, capacity=2, start=SUN)
    assert starts(p) == {"z": _week(1, 4), "x": _h(8), "g": _week(1, 6)}


def test_r13_a_request_not_placed_does_not_stop_the_ones_after_it() -> None:
    p = run([d("g", "a", "b"), d("x")])
    assert starts(p) == {"g": None, "x": _h(4)}
    assert p.placements["x"].position == 2
