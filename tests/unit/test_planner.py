"""R8, R10, R13, R14: the planner, by rule and by Hypothesis properties across DST."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, List, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siteupdates.domain import ScheduledTask, WeeklyWindow
from siteupdates.domain.planner import Demand, Occupied, Plan, expand_blackouts, plan
from siteupdates.domain.windows import Blackout
from siteupdates.errors import InvalidInput

UTC = timezone.utc
CHI = "America/Chicago"
SUNDAY = WeeklyWindow("sunday", "04:00", "09:00", CHI)
TWO_H = timedelta(hours=2)
T0 = datetime(2026, 3, 1, tzinfo=UTC)  # a Sunday; 2026-03-08 springs forward in Chicago
HORIZON = datetime(2026, 6, 1, tzinfo=UTC)


def demands(n: int, tenants: int = 100, at: datetime = T0) -> List[Demand]:
    return [Demand(f"r{i:02d}", (f"t{i % tenants}",), at, CHI) for i in range(n)]


def run(ds: Sequence[Demand], **kw: object) -> Plan:
    args: Dict[str, object] = dict(
        windows=[SUNDAY], capacity=2, slot_length=TWO_H, horizon=HORIZON
    )
    args.update(kw)
    return plan(ds, **args)  # type: ignore[arg-type]


def test_r13_a_week_with_more_requests_than_capacity_is_planned_in_submission_order() -> None:
    p = run(demands(6))
    starts = [p.placements[f"r{i:02d}"].start for i in range(6)]
    assert starts == sorted(starts)  # type: ignore[type-var]
    # Sunday 04:00-09:00 holds two 2-hour slots of two: four this week, two the next.
    assert starts[:2] == [datetime(2026, 3, 1, 10, tzinfo=UTC)] * 2
    assert starts[2:4] == [datetime(2026, 3, 1, 12, tzinfo=UTC)] * 2
    # The next Sunday is the spring-forward day: 04:00 CDT is 09:00 UTC.
    assert starts[4:] == [datetime(2026, 3, 8, 9, tzinfo=UTC)] * 2


def test_r13_explain_names_the_requests_that_took_the_earlier_slots() -> None:
    p = run(demands(6))
    e = p.explain("r05")
    assert e.position == 6
    assert [c.ahead for c in e.passed_over] == [("r00", "r01"), ("r02", "r03")]
    text = e.render()
    assert "position 6" in text and "capacity full" in text and "r00, r01" in text
    assert "differs from the preferred start" in text
    assert "outside every window" in text  # Mar 1 00:00 UTC is Saturday evening in Chicago


def test_r13_a_request_is_never_placed_before_its_preferred_time() -> None:
    late = Demand("late", ("t1",), datetime(2026, 3, 1, 11, tzinfo=UTC), CHI)
    p = run([late])
    assert p.placements["late"].start == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_blackouts_are_skipped_and_named() -> None:
    spring = Blackout(
        "spring break", datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC)
    )
    exams = Blackout(
        "exams", datetime(2026, 3, 14, tzinfo=UTC), datetime(2026, 3, 16, tzinfo=UTC), "t1"
    )
    ds = [Demand("a", ("t1",), datetime(2026, 3, 2, tzinfo=UTC), CHI),
          Demand("b", ("t2",), datetime(2026, 3, 2, tzinfo=UTC), CHI)]  # fmt: skip
    p = run(ds, blackouts=[spring, exams])
    assert p.placements["a"].start == datetime(2026, 3, 22, 9, tzinfo=UTC)
    assert p.placements["b"].start == datetime(2026, 3, 15, 9, tzinfo=UTC)
    whys = [c.why for c in p.explain("a").passed_over]
    assert whys[0] == "blackout spring break (all work, provider-wide)"
    assert whys[2] == "blackout exams (all work, tenant t1)"


def test_a_yearly_blackout_repeats_on_the_same_wall_clock_dates() -> None:
    winter = Blackout(
        "winter break", datetime(2020, 12, 24, 6, tzinfo=UTC), datetime(2021, 1, 2, 6, tzinfo=UTC),
        yearly=True, zone=CHI,
    )  # fmt: skip
    years = expand_blackouts(
        [winter], datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)
    )
    assert datetime(2026, 12, 24, 6, tzinfo=UTC) in [b.start for b in years]
    d = Demand("x", ("t",), datetime(2026, 12, 21, tzinfo=UTC), CHI)
    p = run([d], horizon=datetime(2027, 3, 1, tzinfo=UTC), blackouts=[winter])
    assert p.placements["x"].start == datetime(2027, 1, 3, 10, tzinfo=UTC)


def test_r10_a_group_of_three_gets_one_slot_where_every_member_is_free() -> None:
    busy = Occupied(
        "old", ("t2",), datetime(2026, 3, 1, 10, tzinfo=UTC), datetime(2026, 3, 1, 12, tzinfo=UTC)
    )
    group = Demand("g", ("t1", "t2", "t3"), T0, CHI, "State X E.1505.2")
    p = run([group], capacity=4, occupied=[busy])
    assert p.placements["g"].start == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert "not yet free" in p.explain("g").passed_over[0].why


def test_r10_a_group_larger_than_a_slot_is_refused_with_the_reason() -> None:
    p = run([Demand("g", ("a", "b", "c"), T0, CHI)], capacity=2)
    assert not p.placements["g"].placed
    assert "needs 3 places at once" in (p.placements["g"].reason or "")


def test_r14_a_slot_overlapping_a_scheduled_task_carries_a_warning() -> None:
    task = ScheduledTask("nightly export", time(5, 0), CHI)
    p = run(demands(1, tenants=1), tasks={"t0": [task]})
    assert "nightly export" in str(p.placements["r00"].warnings[0])
    assert p.placements["r00"].warnings[0].rule == "R14"


def test_nothing_free_before_the_horizon_is_a_reason_not_a_crash() -> None:
    p = run(demands(3), capacity=1, horizon=datetime(2026, 3, 2, tzinfo=UTC))
    assert [p.placements[f"r{i:02d}"].placed for i in range(3)] == [True, True, False]
    assert "horizon" in (p.placements["r02"].reason or "")
    assert "not placed" in p.explain("r02").render()


def test_bad_planner_input_is_refused() -> None:
    with pytest.raises(InvalidInput):
        run(demands(1), capacity=0)
    with pytest.raises(InvalidInput):
        run(demands(2) + demands(1))
    with pytest.raises(InvalidInput):
        run(demands(1)).explain("nope")


# -- properties ------------------------------------------------------------------------

ZONES = ["America/Chicago", "Europe/Berlin", "Australia/Lord_Howe"]
# Dates a few weeks before a DST change in each zone, so plans cross it.
BASES = [datetime(2026, 2, 20, tzinfo=UTC), datetime(2026, 3, 15, tzinfo=UTC),
         datetime(2026, 9, 20, tzinfo=UTC), datetime(2026, 10, 15, tzinfo=UTC)]  # fmt: skip


@st.composite
def scenarios(draw: st.DrawFn) -> Dict[str, object]:
    zone = draw(st.sampled_from(ZONES))
    base = draw(st.sampled_from(BASES))
    windows = []
    for h in draw(st.lists(st.integers(0, 23), min_size=1, max_size=2)):
        length = draw(st.integers(2, 6))
        windows.append(
            WeeklyWindow(draw(st.integers(0, 6)), time(h), time((h + length) % 24), zone)
        )
    n = draw(st.integers(0, 25))
    tenants = [f"t{i}" for i in range(draw(st.integers(1, 6)))]
    ds = []
    for i in range(n):
        members = tuple(
            sorted(set(draw(st.lists(st.sampled_from(tenants), min_size=1, max_size=2))))
        )
        offset = timedelta(minutes=draw(st.integers(0, 60 * 24 * 30)))
        ds.append(Demand(f"r{i:02d}", members, base + offset, zone))
    blackouts = []
    for j in range(draw(st.integers(0, 2))):
        s = base + timedelta(hours=draw(st.integers(0, 24 * 40)))
        blackouts.append(
            Blackout(f"b{j}", s, s + timedelta(hours=draw(st.integers(1, 24 * 5))),
                     draw(st.sampled_from([None, *tenants])))
        )  # fmt: skip
    return dict(
        demands=ds,
        windows=windows,
        capacity=draw(st.integers(1, 3)),
        slot_length=timedelta(minutes=draw(st.sampled_from([60, 90, 120]))),
        horizon=base + timedelta(days=120),
        blackouts=blackouts,
    )


def _plan(s: Dict[str, object], ds: Sequence[Demand] | None = None) -> Plan:
    args = dict(s)
    args["demands"] = s["demands"] if ds is None else ds
    return plan(args.pop("demands"), **args)  # type: ignore[arg-type]


PROPS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(scenarios())
def test_property_no_slot_exceeds_capacity_and_no_tenant_runs_twice(s: Dict[str, object]) -> None:
    p = _plan(s)
    ds: List[Demand] = s["demands"]  # type: ignore[assignment]
    load: Dict[datetime, int] = {}
    seen: Dict[datetime, set[str]] = {}
    for d in ds:
        pl = p.placements[d.id]
        if pl.start is None:
            continue
        load[pl.start] = load.get(pl.start, 0) + len(d.tenants)
        for t in d.tenants:
            assert t not in seen.setdefault(pl.start, set())
            seen[pl.start].add(t)
    assert all(v <= s["capacity"] for v in load.values())  # type: ignore[operator]


@PROPS
@given(scenarios())
def test_property_slots_lie_in_a_window_outside_blackouts_and_not_early(
    s: Dict[str, object],
) -> None:
    p = _plan(s)
    windows: List[WeeklyWindow] = s["windows"]  # type: ignore[assignment]
    blackouts: List[Blackout] = s["blackouts"]  # type: ignore[assignment]
    for d in s["demands"]:  # type: ignore[attr-defined]
        pl = p.placements[d.id]
        if pl.start is None or pl.end is None:
            continue
        assert pl.start >= d.earliest
        assert any(
            o <= pl.start and pl.end <= c
            for w in windows
            for o, c in [w.next_occurrence(pl.start)]
        )
        for b in blackouts:
            if b.applies_to(None) or set(d.tenants) & {b.tenant_id}:
                assert pl.end <= b.start or pl.start >= b.end


@PROPS
@given(scenarios(), st.integers(0, 25))
def test_property_strict_fcfs_removing_later_requests_moves_no_earlier_one(
    s: Dict[str, object], cut: int
) -> None:
    ds: List[Demand] = s["demands"]  # type: ignore[assignment]
    full = _plan(s)
    prefix = _plan(s, ds[:cut])
    for d in ds[:cut]:
        assert prefix.placements[d.id] == full.placements[d.id]


@PROPS
@given(scenarios())
def test_property_the_same_input_gives_the_same_plan(s: Dict[str, object]) -> None:
    assert _plan(s).placements == _plan(s).placements


def test_r8_the_weekly_window_of_a_week_is_found_in_wall_clock_time() -> None:
    from siteupdates.domain.planner import weekly_window_start

    opens, closes = weekly_window_start(SUNDAY, date(2026, 11, 4))
    assert opens == datetime(2026, 11, 8, 10, tzinfo=UTC)  # 04:00 CST
    assert closes - opens == timedelta(hours=5)


@PROPS
@given(scenarios())
def test_property_the_explanation_lists_every_slot_passed_over(s: Dict[str, object]) -> None:
    p = _plan(s)
    for d in s["demands"]:  # type: ignore[attr-defined]
        e = p.explain(d.id)
        assert len(e.passed_over) == p.passed_over_count(d.id)
        assert all(c.start >= d.earliest for c in e.passed_over)
        if e.placement.start is not None:
            assert all(c.start < e.placement.start for c in e.passed_over)


def test_a_scoped_blackout_blocks_only_its_kinds_of_work_and_its_tenants() -> None:
    from siteupdates.domain.planner import Hold
    from siteupdates.domain.windows import WorkKind

    exams = Blackout(
        "exam week", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC),
        kinds="version", group_id="g1",
    )  # fmt: skip
    version = frozenset({WorkKind.VERSION})
    refresh = frozenset({WorkKind.REFRESH})
    ds = [
        Demand("v-g1", ("t1",), T0, CHI, kinds=version, groups=("g1",)),
        Demand("r-g1", ("t2",), T0, CHI, kinds=refresh, groups=("g1",)),
        Demand("v-other", ("t3",), T0, CHI, kinds=version, groups=("g2",)),
        Demand("both-g1", ("t4",), T0, CHI, groups=("g1",)),
        Demand("held", ("t5",), T0, CHI, holds=(Hold(datetime(2026, 3, 20, tzinfo=UTC),
                                                       "notice tier early: 19 days"),)),
    ]  # fmt: skip
    p = run(ds, capacity=5, blackouts=[exams])
    week2 = datetime(2026, 3, 8, 9, tzinfo=UTC)  # 04:00 CDT, after spring forward
    assert p.placements["v-g1"].start == week2
    assert p.placements["both-g1"].start == week2  # a version update with a refresh
    assert p.placements["r-g1"].start == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert p.placements["v-other"].start == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert p.placements["held"].start == datetime(2026, 3, 22, 9, tzinfo=UTC)
    assert p.explain("v-g1").passed_over[0].why == (
        "blackout exam week (version updates, group g1)"
    )
    assert [c.why for c in p.explain("held").passed_over][-1] == "notice tier early: 19 days"


def test_a_blackout_is_for_a_tenant_or_a_group_not_both() -> None:
    with pytest.raises(InvalidInput, match="not both"):
        Blackout("x", T0, HORIZON, "t1", group_id="g1")
    with pytest.raises(InvalidInput, match="'all', 'version' or 'refresh'"):
        Blackout("x", T0, HORIZON, kinds=["versions", "backups"])
    b = Blackout("x", T0, HORIZON, group_id="g1", kinds="refresh")
    assert b.applies_to("t9", "g1") and not b.applies_to("t9", None)
    assert Blackout("x", T0, HORIZON).scope == "all work, provider-wide"
