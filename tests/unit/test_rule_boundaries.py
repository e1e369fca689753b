"""Each rule at its exact boundary: the instant a rule starts or stops applying.

Every test here was shown to fail against the mutant it is named for (a ``<=``
turned ``<``, a ``+=`` turned ``=``, a branch emptied), which the rest of the
suite let through: see docs/testing.md, "Mutation score".
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from siteupdates.domain import (
    Actor,
    Event,
    PolicyContext,
    RequestDraft,
    ScheduledTask,
    Status,
    UpdateRequest,
    apply_event,
    evaluate,
    may_move,
)
from siteupdates.domain import policies as p
from siteupdates.domain.planner import expand_blackouts
from siteupdates.domain.timeutil import get_zone, parse_ts, to_instant, to_local, ts, utc
from siteupdates.domain.windows import Blackout, RecurringWindow, resolve_local
from siteupdates.errors import (
    AccessDenied,
    AmbiguousLocalTime,
    InvalidInput,
    NaiveDatetime,
    NonexistentLocalTime,
    RequestRefused,
)
from tests.factories import NOW, contact, ctx, district, request

UTC = timezone.utc
CHICAGO = "America/Chicago"
CUT = timedelta(hours=48)
#: A Sunday: the preset's weekly maintenance window is Sunday 04:00-09:00 Chicago.
SUNDAY = date(2015, 2, 15)


def _refresh_at(local: datetime) -> RequestDraft:
    """A DB refresh of production/sandbox (all a cloud tenant may ask) at ``local``."""
    return RequestDraft("d1", "production/sandbox", None, True, local)


def _scheduled(when: datetime) -> UpdateRequest:
    r = request(preferred_start=when)
    done, _ = apply_event(r, Event.SCHEDULE, actor=Actor.PROVIDER, by="ops", at=NOW, date=when)
    return done


# -- the contact's cut-off (CUTOFF, R13) ----------------------------------------------


def test_cutoff_r13_a_move_exactly_at_the_cut_off_is_allowed_and_just_after_refused() -> None:
    when = NOW + timedelta(days=5)
    booked = _scheduled(when)
    assert may_move(booked, when - CUT, CUT, "UTC").allowed
    late = may_move(booked, when - CUT + timedelta(microseconds=1), CUT, "UTC")
    assert [r.rule for r in late.refusals] == ["CUTOFF"]


# -- two rules' warnings on one request ---------------------------------------------


def test_r8_r14_warnings_of_two_rules_on_one_request_are_all_returned() -> None:
    task = ScheduledTask("sunday report", time(5, 30), CHICAGO)
    tenant = district(plan="cloud", tasks=(task,))
    decision = evaluate(ctx(_refresh_at(datetime.combine(SUNDAY, time(5))), tenant=tenant))
    assert decision.allowed
    assert sorted(w.rule for w in decision.warnings) == ["R14", "R8"]


# -- R8: the maintenance window's edges ---------------------------------------------------


@pytest.mark.parametrize(
    ("clock", "warned"),
    [(time(3, 59, 59), False), (time(4, 0), True), (time(8, 59, 59), True), (time(9, 0), False)],
)
def test_r8_a_start_exactly_at_the_window_opening_is_warned_and_at_its_close_not(
    clock: time, warned: bool
) -> None:
    c = ctx(_refresh_at(datetime.combine(SUNDAY, clock)), tenant=district(plan="cloud"))
    assert [w.rule for w in p.r8_weekly_maintenance(c).warnings] == (["R8"] if warned else [])


# -- R14: a task's edges ------------------------------------------------------------------

#: The update asked for: 2015-02-14 01:00 Chicago, two hours (the preset's duration).
START = datetime(2015, 2, 14, 1)


@pytest.mark.parametrize(
    ("at", "minutes", "warned"),
    [
        (time(0, 30), 30, False),  # ends exactly when the update starts
        (time(0, 31), 30, True),  # still running a minute into it
        (time(3, 0), 30, False),  # starts exactly when the update ends
        (time(2, 59), 30, True),  # starts a minute before it ends
    ],
)
def test_r14_a_task_ending_exactly_at_the_start_or_starting_at_the_end_is_not_hit(
    at: time, minutes: int, warned: bool
) -> None:
    task = ScheduledTask("export", at, CHICAGO, duration_minutes=minutes)
    c = ctx(_refresh_at(START), tenant=district(tasks=(task,)))
    assert [w.rule for w in p.r14_scheduled_tasks(c).warnings] == (["R14"] if warned else [])


# -- R13 windows: a recurring window's last day ----------------------------------------


def test_r13_a_recurring_window_ending_on_a_window_day_still_opens_that_day() -> None:
    tuesdays = RecurringWindow.weekly(
        ["tue"], "22:00", timedelta(hours=4), CHICAGO, ends_on=date(2026, 3, 10)
    )
    last = resolve_local(datetime(2026, 3, 10, 22), CHICAGO)
    assert tuesdays.next_occurrence(last - timedelta(hours=1)) == (
        last,
        last + timedelta(hours=4),
    )
    assert tuesdays.contains(last)
    assert tuesdays.next_occurrence(last + timedelta(hours=4)) is None


# -- R13 blackouts: zero length and 29 February -------------------------------------------


def test_r13_a_blackout_of_zero_length_is_refused() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="must end after it starts"):
        Blackout("nothing", at, at)
    assert Blackout("a second", at, at + timedelta(seconds=1)).end > at


def _yearly(start: datetime, end: datetime) -> Blackout:
    return Blackout(
        "leap day", resolve_local(start, CHICAGO), resolve_local(end, CHICAGO),
        yearly=True, zone=CHICAGO,
    )  # fmt: skip


def _in_2017(b: Blackout) -> list[tuple[datetime, datetime]]:
    found = expand_blackouts(
        [b], datetime(2017, 1, 1, tzinfo=UTC), datetime(2017, 6, 1, tzinfo=UTC)
    )
    return [(x.start, x.end) for x in found if x.start.year == 2017]


def test_r13_a_yearly_blackout_on_29_february_falls_on_28_february_in_a_common_year() -> None:
    part = _yearly(datetime(2016, 2, 29, 8), datetime(2016, 2, 29, 18))
    feb28 = resolve_local(datetime(2017, 2, 28, 8), CHICAGO)
    assert _in_2017(part) == [(feb28, feb28 + timedelta(hours=10))]


def test_r13_a_yearly_blackout_of_the_whole_29_february_keeps_its_length_in_a_common_year() -> (
    None
):
    # Up to midnight: its end, 1 March, exists every year; its start does not.
    whole = _yearly(datetime(2016, 2, 29), datetime(2016, 3, 1))
    feb28 = resolve_local(datetime(2017, 2, 28), CHICAGO)
    assert _in_2017(whole) == [(feb28, feb28 + timedelta(days=1))]


# -- R12: the messages of ambiguous and skipped local times -------------------------------


@pytest.mark.parametrize(
    ("local", "zone", "offsets"),
    [
        (datetime(2026, 11, 1, 1, 30), CHICAGO, "(UTC offset -05:00 then -06:00)"),
        (datetime(2026, 11, 1, 1, 30), "America/St_Johns", "(UTC offset -02:30 then -03:30)"),
        (datetime(2026, 10, 25, 2, 30), "Europe/Berlin", "(UTC offset +02:00 then +01:00)"),
        (datetime(2026, 10, 25, 1, 30), "Europe/London", "(UTC offset +01:00 then +00:00)"),
    ],
)
def test_r12_an_ambiguous_time_names_both_utc_offsets_with_their_signs(
    local: datetime, zone: str, offsets: str
) -> None:
    with pytest.raises(AmbiguousLocalTime) as err:
        to_instant(local, zone, "raise")
    assert offsets in str(err.value)


def test_r12_a_time_in_a_whole_day_gap_names_both_dates() -> None:
    with pytest.raises(NonexistentLocalTime) as err:
        to_instant(datetime(2011, 12, 30, 12), "Pacific/Apia")
    assert str(err.value) == (
        "2011-12-30 12:00 does not exist in Pacific/Apia: clocks jump from 2011-12-30 00:00 "
        "to 2011-12-31 00:00; choose a time before 2011-12-30 00:00 or from 2011-12-31 00:00"
    )
    # The hours-long gap of an ordinary spring forward names the times only.
    with pytest.raises(NonexistentLocalTime) as hour:
        to_instant(datetime(2026, 3, 8, 2, 30), CHICAGO)
    assert "clocks jump from 02:00 to 03:00 that day" in str(hour.value)


# -- R20 history: transitions that drop the provider's date --------------------------------


@pytest.mark.parametrize(
    ("event", "actor"),
    [
        (Event.DEFER, Actor.PROVIDER),
        (Event.CANCEL, Actor.CONTACT),
        (Event.FAIL, Actor.PROVIDER),
        (Event.SUPERSEDE, Actor.PROVIDER),
    ],
)
def test_r20_a_transition_that_drops_the_date_keeps_it_in_the_history(
    event: Event, actor: Actor
) -> None:
    when = NOW + timedelta(days=3)
    booked = _scheduled(when)
    after, entry = apply_event(booked, event, actor=actor, by="x", at=NOW, reason="because")
    assert after.scheduled_for is None and after.status is not Status.SCHEDULED
    assert (entry.old_date, entry.new_date) == (when, None)


def test_r20_a_transition_that_keeps_the_date_records_no_date_change() -> None:
    when = NOW + timedelta(days=3)
    pulled, entry = apply_event(_scheduled(when), Event.PULL, actor=Actor.PROVIDER, by="x", at=NOW)
    assert pulled.scheduled_for == when
    assert (entry.old_date, entry.new_date) == (None, None)


# -- the surviving mutants of a mutmut run, killed --------------------------------------


def test_r14_a_weekly_task_is_hit_only_on_its_own_weekday() -> None:
    # START is a Saturday (weekday 5) 01:00-03:00 Chicago.
    saturday = ScheduledTask("backup", time(1, 30), CHICAGO, weekday=5)
    sunday = ScheduledTask("backup", time(1, 30), CHICAGO, weekday=6)
    hit = p.r14_scheduled_tasks(ctx(_refresh_at(START), tenant=district(tasks=(saturday,))))
    missed = p.r14_scheduled_tasks(ctx(_refresh_at(START), tenant=district(tasks=(sunday,))))
    assert [w.rule for w in hit.warnings] == ["R14"] and missed.warnings == ()


def test_cutoff_is_only_for_scheduled_requests_other_statuses_are_the_lifecycles() -> None:
    when = NOW + timedelta(days=5)
    pulled, _ = apply_event(_scheduled(when), Event.PULL, actor=Actor.PROVIDER, by="x", at=NOW)
    assert pulled.status is Status.NOT_STARTED and pulled.scheduled_for == when
    assert may_move(pulled, when - timedelta(hours=1), CUT, "UTC").allowed


def test_r13_r14_decisions_added_keep_every_refusal_and_warning() -> None:
    warned = p.Decision.ok(p.Advisory("R14", "a task"))
    refused = p.Decision.refuse("R7", "an older version")
    both = refused + warned + p.Decision.refuse("R5", "an older pack")
    assert [r.rule for r in both.refusals] == ["R7", "R5"]
    assert [w.rule for w in both.warnings] == ["R14"]


def test_r22_check_submission_raises_access_denied_with_the_refusal_message() -> None:
    stranger = ctx(who=contact(tenants={"d9"}))
    with pytest.raises(AccessDenied) as err:
        p.check_submission(stranger)
    assert str(err.value) == p.evaluate(stranger).refusals[0].message


def test_r10_an_override_through_check_submission_accepts_its_rule_and_keeps_warnings() -> None:
    task = ScheduledTask("export", time(1, 30), CHICAGO)
    linked = district(group_id="state-x", tasks=(task,))
    c = ctx(RequestDraft("d1", "staging", "E.1505.2", False, START), tenant=linked)
    with pytest.raises(RequestRefused):
        p.check_submission(c)
    accepted = p.check_submission(c, override=p.Override(("R10",), "agreed with the state"))
    assert accepted.allowed and [w.rule for w in accepted.warnings] == ["R14"]


def test_r12_a_gap_is_named_to_the_second_where_the_clocks_jump() -> None:
    with pytest.raises(NonexistentLocalTime) as err:
        to_instant(datetime(2026, 3, 8, 2, 30), CHICAGO)
    assert (err.value.gap_start, err.value.gap_end) == (
        datetime(2026, 3, 8, 2, 0),
        datetime(2026, 3, 8, 3, 0),
    )


@pytest.mark.parametrize("fn", [utc, lambda v: to_local(v, CHICAGO)])
def test_r12_a_naive_instant_is_refused_naming_it_an_instant(fn: Any) -> None:
    with pytest.raises(NaiveDatetime) as err:
        fn(datetime(2026, 3, 8, 2, 30))
    assert str(err.value).startswith("instant 2026-03-08T02:30:00 has no time zone")


def test_stored_instants_are_utc_text_whatever_the_zone_they_came_in() -> None:
    berlin = datetime(2026, 3, 8, 12, tzinfo=get_zone("Europe/Berlin"))
    assert ts(berlin) == "2026-03-08T11:00:00.000000+00:00"
    assert parse_ts(berlin) == datetime(2026, 3, 8, 11, tzinfo=UTC)
    assert parse_ts(berlin).tzinfo is UTC  # type: ignore[union-attr]
    naive = parse_ts(datetime(2026, 3, 8, 11))
    assert naive is not None and naive.tzinfo is UTC
    assert naive == datetime(2026, 3, 8, 11, tzinfo=UTC)


def test_r8_a_policy_subclass_with_its_own_call_is_asked_through_it() -> None:
    # evaluate() calls a plain Policy's check directly; a subclass keeps its __call__.
    class Loud(p.Policy):
        def __call__(self, ctx: PolicyContext) -> p.Decision:
            return p.Decision.ok(p.Advisory(self.rule, f"checked {ctx.tenant.id}"))

    quiet = Loud("X1", "x1", lambda ctx: p.Decision())
    decision = evaluate(ctx(), policies=[quiet])
    assert [(w.rule, w.message) for w in decision.warnings] == [("X1", "checked d1")]
