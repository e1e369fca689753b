"""The use cases through Desk, on memory and on a real SQLite file."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import List

import pytest

from siteupdates.app import changes
from siteupdates.app import provider as provider_cases
from siteupdates.domain import Actor, Catalog, Event, Status
from siteupdates.errors import (
    AccessDenied,
    AttemptCancelled,
    ConflictError,
    InvalidInput,
    NotFound,
    RequestRefused,
    TransitionNotAllowed,
    WrongType,
)
from siteupdates.hookspecs import hookimpl
from siteupdates.notices import DeliveryAttempt, Notice
from siteupdates.plugins import PluginHost
from siteupdates.ports import OutboxState, Setup
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, RecordingNotifier

UTC = timezone.utc
SAT_NIGHT = datetime(2026, 3, 7, 22, 0)  # local, America/Chicago for dana


def submit(desk: Desk, version: str | None = "E.1505.2", **kw: object) -> str:
    args: dict[str, object] = dict(at=SAT_NIGHT)
    args.update(kw)
    target = str(args.pop("target", "production/sandbox"))
    return desk.submit("dana", "d1", target, version, **args).request.id  # type: ignore[arg-type]


def kinds(desk: Desk, rid: str) -> list[str]:
    return [o.key.split(":")[-1] for o in desk.storage.outbox(request_id=rid)]


def test_r20_submit_stores_request_history_and_accepted_notice_together(desk: Desk) -> None:
    sub = desk.submit("dana", "d1", "production/sandbox", "E.1505.2", at=SAT_NIGHT)
    r = sub.request
    assert r.status is Status.TO_BE_SCHEDULED
    assert r.preferred_start == datetime(2026, 3, 8, 4, 0, tzinfo=UTC)  # CST, UTC-6
    assert desk.storage.request(r.id) == r
    assert [h.event for h in desk.history(r.id)] == [Event.SUBMIT]
    assert kinds(desk, r.id) == ["accepted"]


def test_submit_returns_every_refusal_at_once_and_stores_nothing(desk: Desk) -> None:
    with pytest.raises(RequestRefused) as err:
        desk.submit("dana", "d1", "production/sandbox", "E.1505.1", at=datetime(2020, 1, 1))
    assert set(err.value.rules) == {"R5", "R12"}
    assert desk.requests("dana", "d1").total == 0
    assert desk.storage.outbox() == []


def test_r22_another_contacts_tenant_and_an_unknown_one_get_the_same_answer(desk: Desk) -> None:
    with pytest.raises(AccessDenied) as theirs:
        desk.submit("dana", "d3", "production/sandbox", None, db_refresh=True, at=SAT_NIGHT)
    with pytest.raises(AccessDenied) as unknown:
        desk.submit("dana", "zz", "production/sandbox", None, db_refresh=True, at=SAT_NIGHT)
    assert str(theirs.value) == str(unknown.value)
    assert "Linked" not in str(theirs.value)
    rid = submit(desk)
    with pytest.raises(AccessDenied):
        desk.cancel("sam-not-here", rid)
    assert [t.id for t in desk.tenants_of("sam")] == ["d1", "d3"]


def test_r22_a_contact_cannot_touch_a_request_of_another_tenant(desk: Desk) -> None:
    rid = desk.submit(
        "sam", "d3", "production/sandbox", None, db_refresh=True, at=SAT_NIGHT
    ).request.id
    with pytest.raises(AccessDenied):
        desk.cancel("dana", rid)
    assert desk.storage.request(rid) is not None


def test_an_idempotency_key_makes_a_retried_submit_return_the_first_request(desk: Desk) -> None:
    first = desk.submit("dana", "d1", "staging", "E.1505.2", at=SAT_NIGHT, idempotency_key="k")
    again = desk.submit("dana", "d1", "staging", "E.1505.2", at=SAT_NIGHT, idempotency_key="k")
    assert again.replayed and again.request == first.request
    assert desk.requests("dana", "d1").total == 1


def test_r17_a_newer_version_supersedes_the_open_older_request(desk: Desk) -> None:
    desk.storage.save_setup(Setup(catalog=Catalog.of("E.1509.0")))
    old = submit(desk)
    desk.schedule(old, datetime(2026, 3, 8, 10, tzinfo=UTC))
    sub = desk.submit("dana", "d1", "production/sandbox", "E.1509.0", at=SAT_NIGHT)
    assert sub.superseded == (old,)
    older = desk.storage.request(old)
    assert older is not None and older.status is Status.NEW_VERSION_REQUESTED
    assert older.superseded_by == sub.request.id
    assert "superseded" in kinds(desk, old)
    assert desk.history(old)[-1].event is Event.SUPERSEDE


def test_r16_cancel_only_before_work_begins_and_cancelled_leaves_the_list(desk: Desk) -> None:
    a, b = submit(desk), submit(desk, target="staging")
    desk.cancel("dana", a)
    assert [r.id for r in desk.requests("dana", "d1").items] == [b]
    assert list(desk.queue()) == [desk.storage.request(b)]
    desk.schedule(b, datetime(2026, 3, 8, 10, tzinfo=UTC))
    desk.pull(b)
    desk.start(b)
    with pytest.raises(TransitionNotAllowed, match="In Progress"):
        desk.cancel("dana", b)
    r = desk.storage.request(b)
    assert r is not None and r.status is Status.IN_PROGRESS


def test_r1_r18_completing_updates_production_and_sandbox_then_delete_keeps_history(
    desk: Desk, clock: FixedClock
) -> None:
    rid = submit(desk, db_refresh=True)
    desk.schedule(rid, datetime(2026, 3, 8, 10, tzinfo=UTC))
    desk.pull(rid)
    desk.start(rid)
    clock.advance(timedelta(hours=1))
    desk.complete(rid)
    tenant = desk.storage.tenant("d1")
    assert tenant is not None
    prod, sandbox = tenant.sites[0], tenant.sites[1]
    assert str(prod.version) == str(sandbox.version) == "E.1505.2"
    assert prod.since == clock.now and sandbox.refreshed_at == clock.now
    desk.delete("dana", rid)
    assert desk.requests("dana", "d1").total == 0
    with pytest.raises(AccessDenied):
        desk.request("dana", rid)
    assert [h.event for h in desk.history(rid)][-2:] == [Event.COMPLETE, Event.DELETE]


def test_r19_hide_complete(desk: Desk) -> None:
    done = submit(desk, target="staging")
    desk.schedule(done, datetime(2026, 3, 8, 10, tzinfo=UTC))
    desk.pull(done)
    desk.start(done)
    desk.complete(done)
    open_ = submit(desk)
    assert {r.id for r in desk.requests("dana", "d1").items} == {done, open_}
    assert [r.id for r in desk.requests("dana", "d1", hide_complete=True).items] == [open_]


def test_r13_r20_reschedule_tells_the_contact_both_dates_and_views_show_the_new_one(
    desk: Desk, notifier: RecordingNotifier
) -> None:
    rid = submit(desk)
    desk.schedule(rid, datetime(2026, 3, 8, 10, tzinfo=UTC))
    desk.reschedule(rid, datetime(2026, 3, 15, 9, tzinfo=UTC), "capacity full")
    report = desk.deliver()
    assert report.delivered == 5  # accepted, scheduled, date-changed + two calendar entries
    kinds_ = [n.kind for n in notifier.delivered]
    assert kinds_ == ["accepted", "scheduled", "date-changed"]
    changed = notifier.delivered[-1]
    assert "Mar. 8, 2026" in changed.body and "Mar. 15, 2026" in changed.body
    assert "capacity full" in changed.body
    assert "differs from the time you asked for" in notifier.delivered[1].body
    ov = desk.overview("dana", "d1")
    assert any(r.text == "E.1505.2 - Mar. 15, 2026" and r.label == "SCHEDULED" for r in ov.rows)


def test_r20_input_needed_and_unable_to_complete_carry_the_question_and_reason(
    desk: Desk, notifier: RecordingNotifier
) -> None:
    rid = submit(desk)
    desk.ask_input(rid, "Which sandbox copy should we keep?")
    desk.answer("dana", rid, "Keep the newest")
    desk.fail(rid, "the database copy failed twice")
    desk.deliver()
    bodies = {n.kind: n.body for n in notifier.delivered}
    assert "Which sandbox copy" in bodies["input-needed"]
    assert "failed twice" in bodies["unable-to-complete"]


def test_r20_the_provider_records_an_answer_given_by_phone_and_the_request_is_queued_again(
    desk: Desk,
) -> None:
    rid = submit(desk)
    desk.ask_input(rid, "Which sandbox copy should we keep?", by="ops")
    back = desk.mark_answered(rid, "Dana phoned: keep the newest copy", by="ops")
    assert back.status is Status.TO_BE_SCHEDULED and back.resume_status is None
    assert desk.find(rid) == back
    last = desk.history(rid)[-1]
    assert (last.event, last.actor, last.by) == (Event.ANSWER, Actor.PROVIDER, "ops")
    assert (last.from_status, last.to_status) == (Status.PENDING_INPUT, Status.TO_BE_SCHEDULED)
    assert last.reason == "Dana phoned: keep the newest copy"
    # The contact's view shows it back in the queue.
    [shown] = desk.requests("dana", "d1").items
    assert shown.status is Status.TO_BE_SCHEDULED


def test_r15_a_question_marked_answered_returns_a_scheduled_request_with_its_date(
    desk: Desk,
) -> None:
    rid = submit(desk)
    slot = datetime(2026, 3, 8, 10, tzinfo=UTC)
    desk.schedule(rid, slot)
    desk.ask_input(rid, "May we take the sandbox offline too?")
    back = desk.mark_answered(rid, "yes, said on the phone")
    assert back.status is Status.SCHEDULED and back.scheduled_for == slot


def test_r20_marking_answered_tells_the_contact_what_their_own_answer_tells_them(
    desk: Desk, notifier: RecordingNotifier
) -> None:
    theirs, ours = submit(desk), submit(desk, target="staging")
    for rid in (theirs, ours):
        desk.ask_input(rid, "Which copy?")
    desk.deliver()
    told = len(notifier.delivered)
    before = {rid: kinds(desk, rid) for rid in (theirs, ours)}
    desk.answer("dana", theirs, "the newest")
    desk.mark_answered(ours, "the newest, by phone")
    added = {rid: kinds(desk, rid)[len(before[rid]) :] for rid in (theirs, ours)}
    assert added[ours] == added[theirs]
    desk.deliver()
    assert notifier.delivered[told:] == []  # an answer tells no one, whoever records it


def test_marking_answered_is_refused_unless_pending_input_and_needs_a_note(desk: Desk) -> None:
    rid = submit(desk)
    with pytest.raises(TransitionNotAllowed) as err:
        desk.mark_answered(rid, "by phone")
    assert "it is To Be Scheduled" in str(err.value) and err.value.rules == ("R15",)
    desk.ask_input(rid, "Which copy?")
    for empty in ("", "   "):
        with pytest.raises(InvalidInput, match="note is empty"):
            desk.mark_answered(rid, empty)
    # Past the facade, the lifecycle refuses an empty note all the same.
    with pytest.raises(InvalidInput, match="answer needs a reason"):
        provider_cases.mark_answered(desk.app, rid, " ")
    with pytest.raises(NotFound):
        desk.mark_answered("no-such-request", "by phone")
    assert desk.find(rid).status is Status.PENDING_INPUT
    assert [h.event for h in desk.history(rid)] == [Event.SUBMIT, Event.ASK_INPUT]
    desk.mark_answered(rid, "by phone")
    with pytest.raises(TransitionNotAllowed):  # a second time: no longer Pending Input
        desk.mark_answered(rid, "by phone")
    assert [h.event for h in desk.history(rid)][-1] == Event.ANSWER
    assert len(desk.history(rid)) == 3


def test_provider_actions_name_what_is_wrong(desk: Desk) -> None:
    with pytest.raises(NotFound):
        desk.schedule("nope", datetime(2026, 3, 8, tzinfo=UTC))
    rid = submit(desk)
    with pytest.raises(InvalidInput, match="no time zone"):
        desk.schedule(rid, datetime(2026, 3, 8))
    with pytest.raises(InvalidInput, match="wall-clock"):
        desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 8, tzinfo=UTC))


def test_two_writers_that_loaded_the_same_request_cannot_both_win(desk: Desk) -> None:
    rid = submit(desk)
    loaded = desk.storage.request(rid)
    assert loaded is not None
    desk.schedule(rid, datetime(2026, 3, 8, 10, tzinfo=UTC))
    _, stale = changes.transition(
        desk.app, desk.storage, loaded, Event.DEFER, actor=Actor.PROVIDER, by="ops", reason="hold"
    )
    with pytest.raises(ConflictError):
        desk.storage.apply(stale)
    assert [h.event for h in desk.history(rid)] == [Event.SUBMIT, Event.SCHEDULE]
    r = desk.storage.request(rid)
    assert r is not None and r.status is Status.SCHEDULED


def test_a_failing_notifier_keeps_every_request_and_notice_until_it_recovers(
    desk: Desk, notifier: RecordingNotifier, clock: FixedClock
) -> None:
    notifier.failing = True
    ids = [submit(desk), submit(desk, target="staging")]
    desk.schedule(ids[0], datetime(2026, 3, 8, 10, tzinfo=UTC))
    first = desk.deliver(base_delay=60)
    assert first.delivered == 1  # only the calendar entry; the notices failed
    assert first.retried == 3
    assert all(desk.storage.request(i) is not None for i in ids)
    pending = [o for o in desk.storage.outbox(state=OutboxState.PENDING) if o.kind == "notice"]
    assert len(pending) == 3 and all(o.attempts == 1 for o in pending)
    assert "mail server unreachable" in (pending[0].last_error or "")
    assert desk.deliver().delivered == 0  # not due yet: backoff
    notifier.failing = False
    clock.advance(timedelta(seconds=61))
    assert desk.deliver().delivered == 3
    assert [o.kind for o in desk.storage.outbox(state=OutboxState.PENDING)] == ["reminder"] * 3
    assert sorted(n.kind for n in notifier.delivered) == ["accepted", "accepted", "scheduled"]


def test_a_notice_that_keeps_failing_goes_to_the_dead_letter_state(
    desk: Desk, notifier: RecordingNotifier, clock: FixedClock
) -> None:
    notifier.failing = True
    rid = submit(desk)
    for _ in range(3):
        desk.deliver(max_attempts=3, base_delay=1)
        clock.advance(timedelta(minutes=10))
    [item] = desk.storage.outbox(request_id=rid)
    assert item.state is OutboxState.DEAD and item.attempts == 3
    r = desk.storage.request(rid)
    assert r is not None and r.status is Status.TO_BE_SCHEDULED


class Hanging:
    """A notifier slower than the dispatcher's timeout: it sends only after ``gate`` opens."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.sent: List[str] = []
        self.refused: List[str] = []
        self.finished = threading.Event()

    @hookimpl
    def siteupdates_deliver_notice(self, notice: Notice, attempt: DeliveryAttempt) -> bool:
        self.gate.wait(5)
        try:
            attempt.commit()
        except AttemptCancelled:
            self.refused.append(notice.key)
            raise
        finally:
            self.finished.set()
        self.sent.append(notice.key)
        return True


class HangingLegacy:
    """The same without the ``attempt`` argument: the dispatcher cannot cancel it."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.sent: List[str] = []

    @hookimpl
    def siteupdates_deliver_notice(self, notice: Notice) -> bool:
        self.gate.wait(0.3)
        self.sent.append(notice.key)
        return True


def test_a_notifier_slower_than_the_timeout_is_cancelled_and_never_sends(
    desk: Desk, clock: FixedClock
) -> None:
    hanging = Hanging()
    stuck = Desk(desk.storage, host=PluginHost(plugins=[hanging], entry_points=False), clock=clock)
    rid = submit(stuck)
    report = stuck.deliver(timeout=0.2)
    hanging.gate.set()
    assert hanging.finished.wait(5)
    assert report.retried == 1 and report.delivered == 0
    assert hanging.sent == [] and len(hanging.refused) == 1  # given up: it could not send
    [item] = desk.storage.outbox(request_id=rid)
    assert item.state is OutboxState.PENDING
    assert "no answer within 0.2 s" in (item.last_error or "")
    r = desk.storage.request(rid)
    assert r is not None and r.status is Status.TO_BE_SCHEDULED
    # The next attempt sends it once.
    clock.advance(timedelta(hours=1))
    hanging.finished.clear()
    assert stuck.deliver(timeout=5).delivered == 1
    assert len(hanging.sent) == 1


def test_a_notifier_that_cannot_be_cancelled_is_waited_for_not_sent_twice(
    desk: Desk, clock: FixedClock
) -> None:
    legacy = HangingLegacy()
    host = PluginHost(plugins=[legacy], entry_points=False)
    slow = Desk(desk.storage, host=host, clock=clock)
    rid = submit(slow)
    report = slow.deliver(timeout=0.2)
    assert report.delivered == 1 and legacy.sent == [f"{rid}:1:accepted"]
    clock.advance(timedelta(hours=1))
    assert slow.deliver(timeout=0.2).delivered == 0
    assert len(legacy.sent) == 1


def test_r21_overview_in_the_contacts_zone(desk: Desk) -> None:
    ov = desk.overview("sam", "d1")
    assert ov.zone == "Europe/Berlin"
    assert ov.updated_line == "Updated 1:00 PM CET"


def test_r22_a_contact_finds_only_their_own_requests_by_a_prefix(desk: Desk) -> None:
    own = submit(desk)
    sam = desk.submit("sam", "d3", "production/sandbox", None, db_refresh=True,
                      at=SAT_NIGHT).request.id  # fmt: skip
    assert desk.resolve_id_for("dana", own[:8]) == own
    assert desk.resolve_id("  " + own[:12] + " ") == own
    # Sam's request is d3's: for dana it is the same answer as no request at all.
    with pytest.raises(AccessDenied) as theirs:
        desk.resolve_id_for("dana", sam[:8])
    with pytest.raises(AccessDenied) as missing:
        desk.resolve_id_for("dana", "ffffffffffff")
    assert str(theirs.value) == str(missing.value)
    for hostile in ("\U0010ffff", "abc\x00d", "ab%", "\udcff", ""):
        with pytest.raises(InvalidInput):
            desk.resolve_id(hostile)
    with pytest.raises(WrongType):  # the typed boundary: a wrong type is WrongType
        desk.resolve_id(5)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        desk.resolve_id("abc")  # too short to look up as a prefix
