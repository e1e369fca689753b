"""The lifecycle's table (R13, R15-R18) at each edge a mutant of ``lifecycle.py`` moved.

Each test pins what one surviving mutant changed (docs/testing.md, "Mutation
score"): who is told what when a change is refused, which reason and date a
change needs, where an answer returns a request, and what the history keeps.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Tuple

import pytest

from siteupdates.domain import Actor, Event, Status, apply_event
from siteupdates.domain import lifecycle as lc
from siteupdates.errors import InvalidInput, NaiveDatetime, TransitionNotAllowed, WrongType
from tests.factories import NOW, request

UTC = timezone.utc
DAY = NOW + timedelta(days=5)
P = Actor.PROVIDER
C = Actor.CONTACT


def _to(r: object, *events: str, **kw: object) -> object:
    """``r`` after the provider's ``events``, each with a reason and a date."""
    for ev in events:
        r, _ = apply_event(r, ev, actor=P, by="ops", at=NOW, reason="why", date=DAY)  # type: ignore[arg-type]
    return r


def _scheduled() -> object:
    return _to(request(), "schedule")


# -- R15: a refused change names the status, the event and what is allowed ------------------


def test_r15_a_refusal_names_the_contact_and_the_events_the_contact_may_cause() -> None:
    with pytest.raises(TransitionNotAllowed) as caught:
        apply_event(_scheduled(), "pull", actor=C, by="c1", at=NOW)  # type: ignore[arg-type]
    err = caught.value
    assert "the contact may only " in str(err)
    assert err.status is Status.SCHEDULED
    assert err.event is Event.PULL
    assert err.allowed == ("move", "cancel", "postpone")
    assert [(r.rule, r.message) for r in err.refusals] == [("R15", str(err))]


def test_r15_a_refusal_names_the_provider_and_the_events_the_provider_may_cause() -> None:
    with pytest.raises(TransitionNotAllowed) as caught:
        apply_event(request(), "delete", actor=P, by="ops", at=NOW)
    err = caught.value
    assert "the provider may only " in str(err)
    assert "schedule" in err.allowed and "move" not in err.allowed
    assert err.rules == ("R18",)


def test_r15_a_status_nothing_leaves_says_the_actor_may_change_nothing() -> None:
    cancelled, _ = apply_event(request(), "cancel", actor=C, by="c1", at=NOW)
    with pytest.raises(TransitionNotAllowed) as caught:
        apply_event(cancelled, "cancel", actor=C, by="c1", at=NOW)
    assert "the contact may change nothing in that status" in str(caught.value)
    assert caught.value.allowed == ()
    assert caught.value.rules == ("R16",)


def test_r15_submit_is_never_applied_to_a_request_even_by_its_contact() -> None:
    with pytest.raises(TransitionNotAllowed) as caught:
        apply_event(request(), "submit", actor=C, by="c1", at=NOW)
    assert caught.value.event is Event.SUBMIT


def test_r15_an_event_given_by_name_or_as_event_is_the_same_change() -> None:
    by_name = apply_event(request(), "schedule", actor=P, by="ops", at=NOW, date=DAY)
    by_enum = apply_event(request(), Event.SCHEDULE, actor=P, by="ops", at=NOW, date=DAY)
    assert by_name == by_enum


# -- what a change needs: a readable reason, an aware date -----------------------------------


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_r15_a_reason_of_only_blanks_is_no_reason(reason: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply_event(request(), "defer", actor=P, by="ops", at=NOW, reason=reason)  # type: ignore[arg-type]
    assert str(caught.value) == "defer needs a reason the contact can read"
    assert caught.value.value == reason


def test_r13_a_move_without_a_date_asks_for_the_new_preferred_start() -> None:
    with pytest.raises(InvalidInput) as caught:
        apply_event(request(), "move", actor=C, by="c1", at=NOW)
    assert str(caught.value) == "move needs the new preferred start"


def test_r13_a_schedule_without_a_date_asks_for_the_date_the_update_runs() -> None:
    with pytest.raises(InvalidInput) as caught:
        apply_event(request(), "schedule", actor=P, by="ops", at=NOW)
    assert str(caught.value) == "schedule needs the date the update will run"


def test_r15_a_naive_time_of_the_change_is_refused_naming_at() -> None:
    with pytest.raises(NaiveDatetime) as caught:
        apply_event(request(), "cancel", actor=C, by="c1", at=datetime(2015, 2, 1, 15))
    assert str(caught.value).startswith("at 2015-02-01T15:00:00 has no time zone")


def test_r15_a_naive_date_is_refused_naming_date() -> None:
    with pytest.raises(NaiveDatetime) as caught:
        apply_event(request(), "schedule", actor=P, by="ops", at=NOW, date=datetime(2015, 2, 9))
    assert str(caught.value).startswith("date 2015-02-09T00:00:00 has no time zone")


def test_r15_a_date_in_another_zone_is_kept_as_the_same_instant_in_utc() -> None:
    plus2 = DAY.astimezone(timezone(timedelta(hours=2)))
    done, entry = apply_event(request(), "schedule", actor=P, by="ops", at=NOW, date=plus2)
    assert done.scheduled_for == DAY and done.scheduled_for.utcoffset() == timedelta(0)
    assert entry.new_date == DAY


def test_r15_a_time_of_change_that_is_no_datetime_is_a_wrong_type() -> None:
    with pytest.raises(WrongType):
        apply_event(request(), "cancel", actor=C, by="c1", at="2015-02-01")  # type: ignore[arg-type]


# -- answering returns; a question remembers where ---------------------------------------------


@pytest.mark.parametrize(
    ("events", "asked_in", "back_to"),
    [
        ((), Status.TO_BE_SCHEDULED, Status.TO_BE_SCHEDULED),
        (("schedule",), Status.SCHEDULED, Status.SCHEDULED),
        (("schedule", "pull"), Status.NOT_STARTED, Status.SCHEDULED),
        (("schedule", "pull", "start"), Status.IN_PROGRESS, Status.SCHEDULED),
    ],
)
def test_r15_an_answer_returns_the_request_where_it_was_asked_a_claimed_one_to_scheduled(
    events: Tuple[str, ...], asked_in: Status, back_to: Status
) -> None:
    r = _to(request(), *events)
    assert r.status is asked_in  # type: ignore[attr-defined]
    asked, _ = apply_event(r, "ask-input", actor=P, by="ops", at=NOW, reason="which db?")  # type: ignore[arg-type]
    assert asked.resume_status is back_to
    answered, entry = apply_event(asked, "answer", actor=C, by="c1", at=NOW, reason="prod")
    assert answered.status is back_to and entry.to_status is back_to
    assert answered.resume_status is None
    assert (answered.scheduled_for is not None) is (back_to is Status.SCHEDULED)


def test_r15_an_answer_without_a_remembered_status_goes_to_the_queue() -> None:
    asked = request(status="pending-input", resume_status=None)
    answered, _ = apply_event(asked, "answer", actor=C, by="c1", at=NOW, reason="yes")
    assert answered.status is Status.TO_BE_SCHEDULED


def test_r15_deferring_a_pending_request_defers_it_whatever_its_answer_would_return_to() -> None:
    asked, _ = apply_event(_scheduled(), "ask-input", actor=P, by="ops", at=NOW, reason="q")  # type: ignore[arg-type]
    deferred, entry = apply_event(asked, "defer", actor=P, by="ops", at=NOW, reason="later")
    assert deferred.status is Status.DEFERRED and entry.to_status is Status.DEFERRED
    assert deferred.scheduled_for is None and entry.old_date == DAY and entry.new_date is None


def test_r15_a_pending_request_has_a_date_only_while_its_answer_returns_to_a_dated_status() -> (
    None
):
    assert lc.holds_date(Status.PENDING_INPUT, Status.SCHEDULED)
    assert not lc.holds_date(Status.PENDING_INPUT, Status.TO_BE_SCHEDULED)
    assert not lc.holds_date(Status.PENDING_INPUT)
    assert lc.holds_date(Status.COMPLETED) and not lc.holds_date(Status.DEFERRED)


# -- the revision, the reason and the history entry ---------------------------------------------


def test_r15_a_change_without_a_reason_keeps_the_last_reason_and_counts_one_revision() -> None:
    deferred = _to(request(), "defer")
    resumed, entry = apply_event(deferred, "resume", actor=P, by="ops", at=NOW)  # type: ignore[arg-type]
    assert resumed.reason == "why"
    assert resumed.revision == deferred.revision + 1 == entry.seq  # type: ignore[attr-defined]
    assert entry.reason is None


def test_r15_the_history_entry_records_who_when_from_what_to_what_and_why() -> None:
    at = NOW + timedelta(minutes=7)
    done, entry = apply_event(_scheduled(), "reschedule", actor=P, by="ops", at=at,  # type: ignore[arg-type]
                              reason="storm", date=DAY + timedelta(days=1))  # fmt: skip
    assert entry == lc.HistoryEntry(
        request_id="r1",
        seq=3,
        event=Event.RESCHEDULE,
        actor=P,
        by="ops",
        at=at,
        from_status=Status.SCHEDULED,
        to_status=Status.SCHEDULED,
        reason="storm",
        old_date=DAY,
        new_date=DAY + timedelta(days=1),
    )
    assert done.scheduled_for == DAY + timedelta(days=1) and done.reason == "storm"


def test_r13_a_move_records_the_old_and_new_preferred_starts_and_drops_the_date() -> None:
    booked = _scheduled()
    new = DAY + timedelta(hours=3)
    moved, entry = apply_event(booked, "move", actor=C, by="c1", at=NOW, date=new)  # type: ignore[arg-type]
    assert moved.status is Status.TO_BE_SCHEDULED
    assert moved.preferred_start == new and moved.scheduled_for is None
    assert (entry.old_date, entry.new_date) == (booked.preferred_start, new)  # type: ignore[attr-defined]


def test_r16_a_change_that_clears_the_date_keeps_it_as_the_old_date() -> None:
    cancelled, entry = apply_event(_scheduled(), "cancel", actor=C, by="c1", at=NOW)  # type: ignore[arg-type]
    assert cancelled.scheduled_for is None
    assert (entry.old_date, entry.new_date) == (DAY, None)


def test_r15_a_change_that_keeps_the_date_records_no_dates() -> None:
    pulled, entry = apply_event(_scheduled(), "pull", actor=P, by="w1", at=NOW)  # type: ignore[arg-type]
    assert pulled.scheduled_for == DAY
    assert (entry.old_date, entry.new_date) == (None, None)


def test_r15_a_change_without_dates_on_an_undated_request_records_no_dates() -> None:
    _, entry = apply_event(request(), "defer", actor=P, by="ops", at=NOW, reason="x")
    assert (entry.old_date, entry.new_date) == (None, None)


# -- the first entry and the documentation's table ---------------------------------------------


def test_r15_the_first_entry_is_the_submit_of_a_fresh_request() -> None:
    r = request()
    assert lc.submitted(r) == lc.HistoryEntry(
        request_id="r1",
        seq=1,
        event=Event.SUBMIT,
        actor=C,
        by="c1",
        at=NOW,
        from_status=None,
        to_status=Status.TO_BE_SCHEDULED,
        new_date=r.preferred_start,
    )


@pytest.mark.parametrize("changes", [{"status": "scheduled"}, {"revision": 2}])
def test_r15_a_request_past_its_submit_has_no_first_entry(changes: Dict[str, Any]) -> None:
    r = request(**changes)
    with pytest.raises(InvalidInput) as caught:
        lc.submitted(r)
    assert caught.value.value is r.status


def test_r15_allowed_events_for_an_actor_are_those_of_rows_it_may_cause() -> None:
    assert lc.allowed_events(Status.PENDING_INPUT, C) == (Event.ANSWER, Event.APPROVE,
                                                          Event.WITHDRAW)  # fmt: skip
    assert lc.allowed_events(None) == (Event.SUBMIT,)
    assert Event.ASK_INPUT in lc.allowed_events(Status.PENDING_INPUT.__class__.SCHEDULED)


def test_r15_the_documentation_table_lists_sources_target_and_actors_sorted() -> None:
    rows = lc.table_rows()
    assert rows["submit"] == ("(new)", "to-be-scheduled", "contact")
    assert rows["cancel"] == ("scheduled,to-be-scheduled", "cancelled", "contact,provider")
    assert rows["answer"] == ("pending-input", "to-be-scheduled", "contact,provider")
    assert list(rows) == [e.value for e in lc.TRANSITIONS]
