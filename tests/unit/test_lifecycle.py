"""R15-R18: the lifecycle table, driven by hand and by a Hypothesis state machine."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import List, Optional

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from siteupdates.domain import (
    DATED,
    TERMINAL,
    TRANSITIONS,
    Actor,
    Event,
    HistoryEntry,
    Status,
    UpdateRequest,
    allowed_events,
    apply_event,
    holds_date,
    may_cancel,
    may_delete,
    may_move,
    submitted,
)
from siteupdates.errors import (
    InvalidInput,
    RequestRefused,
    SiteUpdatesError,
    TransitionNotAllowed,
)
from tests.factories import NOW, request

UTC = timezone.utc
P, C = Actor.PROVIDER, Actor.CONTACT


def walk(r: UpdateRequest, *events: Event) -> UpdateRequest:
    for e in events:
        row = TRANSITIONS[e]
        actor = P if P in row.actors else C
        r, _ = apply_event(
            r, e, actor=actor, by="x", at=NOW, reason="because", date=NOW + timedelta(days=3)
        )
    return r


def test_r15_every_status_of_the_source_is_modelled() -> None:
    labels = {s.label for s in Status}
    for name in [
        "To Be Scheduled",
        "Scheduled",
        "Not Started",
        "In Progress",
        "Completed",
        "Pending Input",
        "Deferred",
        "New Version Requested",
        "Unable to Complete",
    ]:
        assert name in labels


def test_r15_the_main_path_reaches_completed_with_a_history_chain() -> None:
    r = request()
    history = [submitted(r)]
    for e in [Event.SCHEDULE, Event.PULL, Event.START, Event.COMPLETE]:
        r, entry = apply_event(r, e, actor=P, by="ops", at=NOW, date=NOW + timedelta(days=1))
        history.append(entry)
    assert r.status is Status.COMPLETED
    assert [h.seq for h in history] == [1, 2, 3, 4, 5]
    assert [h.to_status for h in history][-1] is Status.COMPLETED
    assert history[1].new_date == NOW + timedelta(days=1)


def test_r16_cancel_is_allowed_only_while_to_be_scheduled_or_scheduled() -> None:
    assert walk(request(), Event.CANCEL).status is Status.CANCELLED
    assert walk(request(), Event.SCHEDULE, Event.CANCEL).status is Status.CANCELLED
    in_progress = walk(request(), Event.SCHEDULE, Event.PULL, Event.START)
    assert may_cancel(in_progress).refusals[0].rule == "R16"
    with pytest.raises(TransitionNotAllowed) as err:
        apply_event(in_progress, Event.CANCEL, actor=C, by="c1", at=NOW)
    assert "In Progress" in str(err.value)
    assert err.value.allowed == ()


def test_r16_no_later_status_can_be_cancelled() -> None:
    cancellable = {s for s in Status if Event.CANCEL in allowed_events(s)}
    assert cancellable == {Status.TO_BE_SCHEDULED, Status.SCHEDULED}


def test_r18_only_a_completed_request_may_be_deleted() -> None:
    done = walk(request(), Event.SCHEDULE, Event.PULL, Event.START, Event.COMPLETE)
    assert may_delete(done).allowed
    assert walk(done, Event.DELETE).status is Status.DELETED
    assert may_delete(request()).refusals[0].rule == "R18"


def test_r13_rescheduling_needs_a_reason_and_records_both_dates() -> None:
    r = walk(request(), Event.SCHEDULE)
    old = r.scheduled_for
    with pytest.raises(InvalidInput, match="needs a reason"):
        apply_event(r, Event.RESCHEDULE, actor=P, by="ops", at=NOW, date=NOW)
    moved, entry = apply_event(
        r, "reschedule", actor=P, by="ops", at=NOW, reason="maintenance", date=NOW + timedelta(9)
    )
    assert moved.scheduled_for == NOW + timedelta(9)
    assert moved.effective_date == NOW + timedelta(9)
    assert (entry.old_date, entry.new_date, entry.reason) == (
        old,
        moved.scheduled_for,
        "maintenance",
    )


def test_an_event_not_allowed_names_the_status_and_the_allowed_events() -> None:
    with pytest.raises(TransitionNotAllowed) as err:
        apply_event(request(), Event.COMPLETE, actor=P, by="ops", at=NOW)
    msg = str(err.value)
    assert "To Be Scheduled" in msg and "schedule" in msg
    assert "schedule" in err.value.allowed


def test_a_contact_cannot_cause_a_provider_event() -> None:
    with pytest.raises(TransitionNotAllowed, match="the contact may only move, cancel"):
        apply_event(request(), Event.SCHEDULE, actor=C, by="c1", at=NOW, date=NOW)


def test_unknown_events_are_named_with_the_accepted_ones() -> None:
    with pytest.raises(SiteUpdatesError, match="expected one of: submit, schedule"):
        apply_event(request(), "explode", actor=P, by="ops", at=NOW)


def test_terminal_statuses_are_those_no_event_leaves() -> None:
    assert {
        Status.CANCELLED,
        Status.DELETED,
        Status.NEW_VERSION_REQUESTED,
        Status.UNABLE_TO_COMPLETE,
    } == TERMINAL


def test_r16_r18_a_refused_transition_is_a_request_refused_naming_its_rule() -> None:
    started = walk(request(), Event.SCHEDULE, Event.PULL, Event.START)
    with pytest.raises(RequestRefused) as cancel:
        apply_event(started, Event.CANCEL, actor=C, by="c1", at=NOW)
    assert cancel.value.rules == ("R16",)
    with pytest.raises(RequestRefused) as delete:
        apply_event(started, Event.DELETE, actor=C, by="c1", at=NOW)
    assert delete.value.rules == ("R18",)
    with pytest.raises(RequestRefused) as other:
        apply_event(request(), Event.COMPLETE, actor=P, by="ops", at=NOW)
    assert other.value.rules == ("R15",)


def test_r13_a_contact_move_changes_the_preferred_start_and_drops_the_providers_date() -> None:
    scheduled = walk(request(), Event.SCHEDULE)
    later = NOW + timedelta(days=10)
    moved, entry = apply_event(scheduled, Event.MOVE, actor=C, by="c1", at=NOW, date=later)
    assert moved.status is Status.TO_BE_SCHEDULED
    assert (moved.preferred_start, moved.scheduled_for) == (later, None)
    assert moved.requested_at == scheduled.requested_at  # its place in the queue
    assert (entry.old_date, entry.new_date) == (scheduled.preferred_start, later)
    with pytest.raises(TransitionNotAllowed):
        apply_event(scheduled, Event.MOVE, actor=P, by="ops", at=NOW, date=later)


def test_cutoff_is_measured_from_the_scheduled_start() -> None:
    scheduled = walk(request(), Event.SCHEDULE)  # scheduled for NOW + 3 days
    assert may_move(scheduled, NOW, timedelta(hours=48), "UTC").allowed
    late = may_move(scheduled, NOW + timedelta(days=2), timedelta(hours=48), "UTC")
    assert [r.rule for r in late.refusals] == ["CUTOFF"]
    assert may_move(request(), NOW + timedelta(days=30), timedelta(hours=48), "UTC").allowed


@pytest.mark.parametrize(
    ("path", "returns"),
    [
        ((), Status.TO_BE_SCHEDULED),
        ((Event.SCHEDULE,), Status.SCHEDULED),
        ((Event.SCHEDULE, Event.PULL), Status.SCHEDULED),
        ((Event.SCHEDULE, Event.PULL, Event.START), Status.SCHEDULED),
    ],
)
def test_r15_an_answer_returns_to_the_status_the_question_was_asked_in(
    path: tuple[Event, ...], returns: Status
) -> None:
    before = walk(request(), *path)
    asked, _ = apply_event(before, Event.ASK_INPUT, actor=P, by="ops", at=NOW, reason="q")
    assert asked.scheduled_for == before.scheduled_for
    back, entry = apply_event(asked, Event.ANSWER, actor=C, by="c1", at=NOW, reason="a")
    assert back.status is returns and entry.to_status is returns
    assert back.scheduled_for == before.scheduled_for and back.resume_status is None


def test_the_dated_statuses_are_those_after_a_date_is_set() -> None:
    assert {
        Status.SCHEDULED, Status.NOT_STARTED, Status.IN_PROGRESS, Status.COMPLETED,
        Status.DELETED,
    } == DATED  # fmt: skip
    assert holds_date(Status.PENDING_INPUT, Status.SCHEDULED)
    assert not holds_date(Status.PENDING_INPUT, Status.TO_BE_SCHEDULED)
    deferred = walk(request(), Event.SCHEDULE, Event.DEFER)
    assert deferred.scheduled_for is None


class Lifecycle(RuleBasedStateMachine):
    """Random events against one request; the table is the only judge."""

    def __init__(self) -> None:
        super().__init__()
        self.req = request()
        self.history: List[HistoryEntry] = [submitted(self.req)]
        self.clock = NOW
        self.seen: set[Status] = {self.req.status}
        self.terminal_at: Optional[Status] = None
        self.asked_in: Optional[Status] = None

    def _do(self, event: Event, actor: Actor) -> None:
        self.clock += timedelta(minutes=5)
        before = self.req
        try:
            after, entry = apply_event(
                before,
                event,
                actor=actor,
                by=actor.value,
                at=self.clock,
                reason="r",
                date=self.clock + timedelta(days=1),
            )
        except TransitionNotAllowed:
            row = TRANSITIONS[event]
            assert (
                before.status not in row.sources
                or actor not in row.actors
                or (event is Event.SUBMIT)
            )
            return
        assert before.status in TRANSITIONS[event].sources
        # The lifecycle skips the converters of the fields it keeps: the state it
        # builds must be the one the validating constructor builds from the same fields.
        rebuilt = UpdateRequest(**attrs.asdict(after, recurse=False))
        assert rebuilt == after and attrs.astuple(rebuilt, recurse=False) == attrs.astuple(
            after, recurse=False
        )
        assert type(after.status) is Status
        assert after.scheduled_for is None or after.scheduled_for.tzinfo is UTC
        if event is Event.CANCEL:
            assert before.status in {Status.TO_BE_SCHEDULED, Status.SCHEDULED}
        if event is Event.ANSWER:
            # Back to the status the question was asked in (work in hand: Scheduled).
            assert after.status is self.asked_in
            assert after.scheduled_for == before.scheduled_for
        if event is Event.ASK_INPUT:
            self.asked_in = (
                Status.SCHEDULED
                if before.status in (Status.NOT_STARTED, Status.IN_PROGRESS)
                else before.status
            )
        self.req = after
        self.history.append(entry)
        self.seen.add(after.status)

    @rule(event=st.sampled_from(list(Event)), actor=st.sampled_from(list(Actor)))
    def random_event(self, event: Event, actor: Actor) -> None:
        self._do(event, actor)

    @precondition(lambda self: self.req.status not in TERMINAL | {Status.COMPLETED})
    @rule()
    def main_path(self) -> None:
        step = {
            Status.TO_BE_SCHEDULED: Event.SCHEDULE,
            Status.SCHEDULED: Event.PULL,
            Status.NOT_STARTED: Event.START,
            Status.IN_PROGRESS: Event.COMPLETE,
            Status.PENDING_INPUT: Event.ANSWER,
            Status.DEFERRED: Event.RESUME,
        }[self.req.status]
        self._do(step, Actor.PROVIDER)

    @invariant()
    def terminal_statuses_never_change(self) -> None:
        if self.terminal_at is not None:
            assert self.req.status is self.terminal_at
        elif self.req.status in TERMINAL:
            self.terminal_at = self.req.status

    @invariant()
    def history_is_a_gap_free_chain_of_every_change(self) -> None:
        assert [h.seq for h in self.history] == list(range(1, len(self.history) + 1))
        assert self.req.revision == len(self.history)
        for prev, cur in zip(self.history, self.history[1:]):
            assert cur.from_status is prev.to_status
            assert cur.at >= prev.at
        assert self.history[-1].to_status is self.req.status

    @invariant()
    def a_provider_date_exists_exactly_in_the_statuses_that_have_one(self) -> None:
        r = self.req
        assert (r.scheduled_for is not None) == holds_date(r.status, r.resume_status)
        assert (r.resume_status is not None) == (r.status is Status.PENDING_INPUT)


Lifecycle.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestLifecycle = Lifecycle.TestCase


def test_the_state_machine_reaches_in_progress() -> None:
    # The main_path rule must make In Progress reachable; check it directly once.
    m = Lifecycle()
    for _ in range(3):
        m.main_path()
    assert Status.IN_PROGRESS in m.seen
