"""The contact's side through Desk: reschedule before a cut-off, explanations a contact may
read, provider overrides, refresh limits, answers, one shape for every refusal."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import attrs
import pytest

from siteupdates.domain import (
    Actor,
    Advisory,
    Event,
    RequestDraft,
    SiteKind,
    Status,
    UpdateRequest,
    holds_date,
)
from siteupdates.errors import (
    AccessDenied,
    InvalidInput,
    RequestRefused,
    TransitionNotAllowed,
    UnknownName,
)
from siteupdates.plugins import PluginHost
from siteupdates.ports import Page
from siteupdates.presets import CAMPUS_HOSTING
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, RecordingNotifier, sample_setup

UTC = timezone.utc
ROOT = Path(__file__).resolve().parents[2]
SAT_NIGHT = datetime(2026, 3, 7, 22, 0)  # local, America/Chicago for dana
SUNDAY_SLOT = datetime(2026, 3, 8, 9, tzinfo=UTC)  # 04:00 CDT, the preset's window


def refresh(desk: Desk, who: str = "dana", tenant: str = "d1", **kw: Any) -> str:
    args: dict[str, Any] = dict(db_refresh=True, at=SAT_NIGHT)
    args.update(kw)
    target = "staging" if tenant != "d3" else "production/sandbox"  # d3 has no staging
    return desk.submit(who, tenant, target, None, **args).request.id


def stored(desk: Desk, rid: str) -> UpdateRequest:
    r = desk.storage.request(rid)
    assert r is not None
    return r


def outbox_kinds(desk: Desk, rid: str) -> list[tuple[str, str]]:
    return [
        (o.kind, str(o.payload.get("kind") or o.payload.get("action")))
        for o in desk.storage.outbox(request_id=rid)
    ]


@pytest.fixture
def tight(tmp_path: Path, clock: FixedClock, notifier: RecordingNotifier) -> Iterator[Desk]:
    """A desk whose window holds one update at a time (capacity 1)."""
    preset = attrs.evolve(CAMPUS_HOSTING, capacity=1)
    host = PluginHost(plugins=[notifier], entry_points=False)
    d = Desk.open(f"sqlite:///{tmp_path / 'tight.db'}", host=host, clock=clock, preset=preset)
    d.load_setup(sample_setup())
    yield d
    d.close()


# -- the contact's reschedule -------------------------------------------------------


def test_r13_a_contact_moves_a_queued_request_and_it_keeps_its_place_in_the_queue(
    desk: Desk, clock: FixedClock
) -> None:
    first = refresh(desk)
    clock.advance(timedelta(minutes=1))
    second = refresh(desk)
    moved = desk.move("dana", first, at=datetime(2026, 3, 14, 22, 0))
    assert moved.status is Status.TO_BE_SCHEDULED and moved.scheduled_for is None
    assert moved.preferred_start == datetime(2026, 3, 15, 3, tzinfo=UTC)  # CDT, UTC-5
    assert moved.requested_at == stored(desk, second).requested_at - timedelta(minutes=1)
    assert [r.id for r in desk.queue()] == [first, second]  # first come, first served
    last = desk.history(first)[-1]
    assert (last.event, last.actor, last.by) == (Event.MOVE, Actor.CONTACT, "dana")
    assert last.old_date == datetime(2026, 3, 8, 4, tzinfo=UTC)
    assert last.new_date == moved.preferred_start
    notices = [o.payload for o in desk.storage.outbox(request_id=first) if o.kind == "notice"]
    told = {(p["kind"], p["contact_id"]) for p in notices}
    assert ("start-moved", "dana") in told and ("start-moved", "provider") in told


def test_r13_a_moved_scheduled_request_gives_back_its_date_and_the_next_plan_places_it(
    desk: Desk, clock: FixedClock
) -> None:
    rid = refresh(desk)
    desk.schedule(rid, SUNDAY_SLOT)
    moved = desk.move("dana", rid, at=datetime(2026, 3, 14, 22, 0))
    assert moved.status is Status.TO_BE_SCHEDULED and moved.scheduled_for is None
    # The calendar withdraws the date the provider had set.
    assert ("calendar", "withdraw") in outbox_kinds(desk, rid)
    run = desk.plan_queue(horizon=clock.now + timedelta(days=60))
    assert run.stored == (rid,)
    assert stored(desk, rid).scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)
    events = [h.event for h in desk.history(rid)]
    assert events == [Event.SUBMIT, Event.SCHEDULE, Event.MOVE, Event.SCHEDULE]


def test_cutoff_a_contact_cannot_move_a_request_within_48_hours_of_its_scheduled_start(
    desk: Desk, clock: FixedClock
) -> None:
    rid = refresh(desk)
    desk.schedule(rid, clock.now + timedelta(hours=47))
    with pytest.raises(RequestRefused) as err:
        desk.move("dana", rid, at=datetime(2026, 3, 14, 22, 0))
    assert err.value.rules == ("CUTOFF",)
    assert "48 hours before" in str(err.value) and "ask the provider" in str(err.value)
    assert stored(desk, rid).status is Status.SCHEDULED
    # The provider still moves it (R13).
    desk.reschedule(rid, clock.now + timedelta(days=7), "the district asked by phone")
    assert stored(desk, rid).scheduled_for == clock.now + timedelta(days=7)


def test_cutoff_is_a_provider_setting_from_the_setup_file(tmp_path: Path) -> None:
    setup = {
        "catalog": ["E.1505.2"],
        "provider": {"reschedule_cutoff_hours": 12},
        "tenants": [{"id": "t", "plan": "asp", "sites": [
            {"kind": "production", "version": "E.1505.2", "since": "2026-01-01 00:00"},
            {"kind": "staging", "version": "E.1505.2", "since": "2026-01-01 00:00"}]}],
        "contacts": [{"id": "c", "email": "c@t.example", "role": "district", "tenants": ["t"]}],
    }  # fmt: skip
    clock = FixedClock()
    with Desk.from_setup(setup, url=f"sqlite:///{tmp_path / 's.db'}", clock=clock) as desk:
        assert desk.preset.move_cutoff == timedelta(hours=12)
        rid = refresh(desk, "c", "t")
        desk.schedule(rid, clock.now + timedelta(hours=20))
        assert desk.move("c", rid, at=datetime(2026, 3, 14, 22, 0)).scheduled_for is None
    with Desk.open(f"sqlite:///{tmp_path / 's.db'}") as again:
        assert again.preset.move_cutoff == timedelta(hours=12)


def test_r12_a_move_reads_the_new_time_like_a_submit(desk: Desk) -> None:
    rid = refresh(desk)
    with pytest.raises(RequestRefused) as err:
        desk.move("dana", rid, at=datetime(2026, 2, 1, 10, 0))
    assert err.value.rules == ("R12",)
    with pytest.raises(RequestRefused, match="02:00"):
        desk.move("dana", rid, at=datetime(2026, 3, 8, 2, 30))  # the spring-forward gap
    moved = desk.move("sam", rid, at=datetime(2026, 3, 14, 10, 0))  # sam reads Berlin time
    assert moved.zone == "Europe/Berlin"
    assert moved.preferred_start == datetime(2026, 3, 14, 9, tzinfo=UTC)


def test_r14_a_move_recomputes_the_warnings_about_the_time(desk: Desk) -> None:
    # d1's nightly export runs Sundays 01:30 Chicago for 45 minutes.
    rid = desk.submit(
        "dana", "d1", "production/sandbox", "E.1505.2", at=datetime(2026, 3, 8, 0, 45)
    ).request.id
    assert [w.rule for w in stored(desk, rid).warnings] == ["R14"]
    moved = desk.move("dana", rid, at=datetime(2026, 3, 10, 22, 0))
    assert moved.warnings == ()
    assert stored(desk, rid).warnings == ()


def test_r13_a_request_in_progress_cannot_be_moved_by_its_contact(desk: Desk) -> None:
    rid = refresh(desk)
    desk.schedule(rid, SUNDAY_SLOT + timedelta(days=7))
    desk.pull(rid)
    with pytest.raises(RequestRefused) as err:
        desk.move("dana", rid, at=datetime(2026, 3, 21, 22, 0))
    assert isinstance(err.value, TransitionNotAllowed)
    assert err.value.rules == ("R13",) and "Not Started" in str(err.value)


def test_r22_moving_another_tenants_request_is_answered_like_a_missing_one(desk: Desk) -> None:
    theirs = desk.submit(
        "sam", "d3", "production/sandbox", None, db_refresh=True, at=SAT_NIGHT
    ).request.id
    with pytest.raises(AccessDenied) as other:
        desk.move("dana", theirs, at=datetime(2026, 3, 14, 22, 0))
    with pytest.raises(AccessDenied) as missing:
        desk.move("dana", "0" * 32, at=datetime(2026, 3, 14, 22, 0))
    assert str(other.value) == str(missing.value)
    assert stored(desk, theirs).revision == 1


# -- explanations a contact may read -------------------------------------------------


def test_r22_a_contacts_explanation_names_and_counts_nothing_about_other_tenants(
    tight: Desk, clock: FixedClock
) -> None:
    theirs = refresh(tight, "sam", "d3")  # sam also sees d3; dana does not
    clock.advance(timedelta(minutes=1))
    mine = refresh(tight)
    full = tight.explain(mine).render()
    assert "capacity full (1 of 1" in full and theirs in full  # the provider sees every detail
    e = tight.explain_to("dana", mine)
    text = e.render()
    assert e.position == 2
    assert e.passed_over and all(c.why == "taken by earlier requests" for c in e.passed_over)
    assert all(c.ahead == () for c in e.passed_over)
    for secret in (theirs, theirs[:12], "d3", "Linked", "1 of 1", "capacity"):
        # As words: a random hex ID of the contact's own may hold "d3" by chance.
        assert not re.search(rf"\b{re.escape(secret)}\b", text), secret
    assert "position 2" in text and "placed at" in text


def test_r22_a_contact_sees_their_own_requests_in_the_way(tight: Desk, clock: FixedClock) -> None:
    first = refresh(tight)
    clock.advance(timedelta(minutes=1))
    second = refresh(tight)
    e = tight.explain_to("dana", second)
    assert e.passed_over[0].why == "your tenant already has an update then"
    assert e.passed_over[0].ahead == (first,)


def test_r22_explaining_another_tenants_request_is_answered_like_a_missing_one(
    desk: Desk,
) -> None:
    theirs = refresh(desk, "sam", "d3")
    with pytest.raises(AccessDenied) as other:
        desk.explain_to("dana", theirs)
    with pytest.raises(AccessDenied) as missing:
        desk.explain_to("dana", "f" * 32)
    assert str(other.value) == str(missing.value)


def test_r13_a_booked_request_has_no_place_in_the_queue_any_more(
    desk: Desk, clock: FixedClock
) -> None:
    ids = [refresh(desk)]
    clock.advance(timedelta(seconds=1))
    ids.append(refresh(desk))
    desk.plan_queue(horizon=clock.now + timedelta(days=60))
    for rid in ids:
        e = desk.explain(rid)
        assert e.position is None
        assert "Scheduled, not in the queue" in e.lines[0] and "position" not in e.lines[0]


# -- overrides ---------------------------------------------------------------------


def test_a_provider_overrides_a_refusal_naming_the_rule_and_a_reason(desk: Desk) -> None:
    with pytest.raises(RequestRefused) as err:
        desk.submit("dana", "d1", "production/sandbox", "E.1505.1", at=SAT_NIGHT)
    assert err.value.rules == ("R5",)
    sub = desk.override(
        "dana", "d1", "production/sandbox", "E.1505.1", rules=["R5"], by="ops",
        reason="agreed with the district: E.1505.2 breaks their gradebook", at=SAT_NIGHT,
    )  # fmt: skip
    assert sub.overridden == ("R5",)
    r = sub.request
    assert r.requested_by == "dana" and str(r.version) == "E.1505.1"
    [first] = desk.history(r.id)
    assert (first.actor, first.by, first.overrides) == (Actor.PROVIDER, "ops", ("R5",))
    assert "override of R5: agreed with the district" in (first.reason or "")
    assert desk.requests("dana", "d1").items == (r,)


def test_r22_and_r3_cannot_be_overridden(desk: Desk) -> None:
    with pytest.raises(RequestRefused) as err:
        desk.override("dana", "d1", "preview", "E.1505.2", rules=["R3"], reason="x", at=SAT_NIGHT)
    assert err.value.rules == ("R3",) and "R3 cannot be overridden" in str(err.value)
    with pytest.raises(AccessDenied):
        desk.override(
            "dana", "d3", "production/sandbox", None, db_refresh=True, rules=["R22"],
            reason="x", at=SAT_NIGHT,
        )  # fmt: skip
    assert desk.requests("dana", "d1").total == 0


def test_an_override_is_exact_and_needs_a_reason(desk: Desk) -> None:
    with pytest.raises(InvalidInput, match="R9 does not refuse this request"):
        desk.override(
            "dana", "d1", "production/sandbox", "E.1505.1", rules=["R5", "R9"], reason="x",
            at=SAT_NIGHT,
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="needs a reason"):
        desk.override(
            "dana", "d1", "production/sandbox", "E.1505.1", rules=["R5"], reason=" ",
            at=SAT_NIGHT,
        )  # fmt: skip
    with pytest.raises(RequestRefused) as err:  # R12 is not named: it still refuses
        desk.override(
            "dana", "d1", "production/sandbox", "E.1505.1", rules=["R5"], reason="x",
            at=datetime(2020, 1, 1),
        )  # fmt: skip
    assert err.value.rules == ("R12",)
    assert desk.requests("dana", "d1").total == 0


# -- refresh limits --------------------------------------------------------------------


def limited(tmp_path: Path, clock: FixedClock, **provider: Any) -> Desk:
    setup = {
        "catalog": ["E.1450.4"],
        "provider": provider,
        "tenants": [{"id": "t", "name": "Tern District", "plan": "asp", "sites": [
            {"kind": "production", "version": "E.1450.4", "since": "2026-01-01 00:00"},
            {"kind": "sandbox", "version": "E.1450.4", "since": "2026-01-01 00:00",
             "refreshed_at": "2026-03-01 06:00"}]}],
        "contacts": [{"id": "c", "email": "c@t.example", "role": "district", "tenants": ["t"]}],
    }  # fmt: skip
    return Desk.from_setup(setup, url=f"sqlite:///{tmp_path / 'l.db'}", clock=clock)


def sandbox_refresh(desk: Desk, at: datetime) -> str:
    return desk.submit("c", "t", "production/sandbox", None, db_refresh=True, at=at).request.id


def test_refresh_interval_is_off_by_default(tmp_path: Path, clock: FixedClock) -> None:
    with limited(tmp_path, clock) as desk:
        assert desk.preset.refresh_intervals == {}
        sandbox_refresh(desk, datetime(2026, 3, 2, 22))
        sandbox_refresh(desk, datetime(2026, 3, 3, 22))


def test_refresh_interval_refuses_naming_the_last_refresh_and_the_first_date_allowed(
    tmp_path: Path, clock: FixedClock
) -> None:
    with limited(tmp_path, clock, refresh_interval_days={"sandbox": 7}) as desk:
        assert desk.preset.refresh_intervals == {SiteKind.SANDBOX: timedelta(days=7)}
        with pytest.raises(RequestRefused) as err:
            sandbox_refresh(desk, datetime(2026, 3, 5, 22))
        assert err.value.rules == ("REFRESH-INTERVAL",)
        text = str(err.value)
        assert "at most once every 7 days" in text
        assert "last refreshed Mar. 1, 2026 6:00 AM CST" in text
        # Seven calendar days in the requester's zone: the same wall time across the
        # 8 March clock change (docs/time.md), not 7 x 24 elapsed hours (07:00 CDT).
        assert "first date allowed is Mar. 8, 2026 6:00 AM CDT" in text
        assert err.value.refusals[0].suggestion == "2026-03-08 06:00"
        first = sandbox_refresh(desk, datetime(2026, 3, 8, 7))
        with pytest.raises(RequestRefused) as again:  # an open refresh counts too
            sandbox_refresh(desk, datetime(2026, 3, 12, 22))
        assert f"request {first[:12]} refreshes it Mar. 8, 2026" in str(again.value)
        assert "first date allowed is Mar. 15, 2026 7:00 AM CDT" in str(again.value)
        # Staging has no limit; a move is checked against the others, not itself.
        assert desk.move("c", first, at=datetime(2026, 3, 9, 22)).status is Status.TO_BE_SCHEDULED


def test_refresh_interval_can_be_overridden_by_the_provider(
    tmp_path: Path, clock: FixedClock
) -> None:
    with limited(tmp_path, clock, refresh_interval_days={"sandbox": 7}) as desk:
        sub = desk.override(
            "c", "t", "production/sandbox", None, db_refresh=True, rules=["REFRESH-INTERVAL"],
            reason="restore after a failed import", at=datetime(2026, 3, 2, 22),
        )  # fmt: skip
        assert sub.overridden == ("REFRESH-INTERVAL",)


# -- answers, and the provider date invariant ------------------------------------------------


def test_r15_an_answer_returns_a_scheduled_request_to_scheduled_with_its_date(
    desk: Desk,
) -> None:
    rid = refresh(desk)
    desk.schedule(rid, SUNDAY_SLOT)
    asked = desk.ask_input(rid, "Which sandbox copy should we keep?")
    assert asked.status is Status.PENDING_INPUT and asked.scheduled_for == SUNDAY_SLOT
    back = desk.answer("dana", rid, "The newest")
    assert back.status is Status.SCHEDULED and back.scheduled_for == SUNDAY_SLOT
    [shown] = desk.requests("dana", "d1").items
    assert shown.effective_date == SUNDAY_SLOT


def test_r15_an_answer_returns_a_queued_request_to_the_queue_without_a_date(desk: Desk) -> None:
    rid = refresh(desk)
    desk.ask_input(rid, "Which copy?")
    back = desk.answer("dana", rid, "The newest")
    assert back.status is Status.TO_BE_SCHEDULED and back.scheduled_for is None
    assert back.effective_date == back.preferred_start


def test_r15_a_question_asked_during_the_work_returns_it_scheduled_for_a_worker(
    desk: Desk,
) -> None:
    rid = refresh(desk)
    desk.schedule(rid, SUNDAY_SLOT)
    desk.pull(rid)
    desk.start(rid)
    desk.ask_input(rid, "The copy fails: may we drop the audit table?")
    back = desk.answer("dana", rid, "Yes")
    assert back.status is Status.SCHEDULED and back.scheduled_for == SUNDAY_SLOT


def test_a_provider_date_exists_exactly_in_the_statuses_that_have_one(desk: Desk) -> None:
    ids = [refresh(desk) for _ in range(4)]
    for rid in ids:
        desk.schedule(rid, SUNDAY_SLOT + timedelta(days=7 * ids.index(rid)))
    desk.cancel("dana", ids[0])
    desk.defer(ids[1], "waiting for the vendor")
    desk.fail(ids[2], "no copy possible")
    desk.ask_input(ids[3], "Which?")
    for rid in ids:
        r = stored(desk, rid)
        assert (r.scheduled_for is not None) == holds_date(r.status, r.resume_status), r.status
    assert [stored(desk, i).scheduled_for is None for i in ids] == [True, True, True, False]
    # The calendar is told to withdraw each date that went away.
    assert ("calendar", "withdraw") in outbox_kinds(desk, ids[1])


# -- one shape for every refusal ---------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "version", "db_refresh", "rules"),
    [
        ("sandbox", "E.1505.2", None, ("R2",)),
        ("sandbox", None, True, ("R1",)),
        ("production", None, True, ("R4",)),
        ("production", "E.1505.2", None, ("R1",)),
        ("production", "E.1505.2", True, ("R1", "R4")),
    ],
)
def test_r2_r4_a_target_no_request_can_have_is_refused_with_its_rule(
    desk: Desk, target: str, version: str | None, db_refresh: bool | None, rules: tuple[str, ...]
) -> None:
    with pytest.raises(RequestRefused) as err:
        desk.submit("dana", "d1", target, version, db_refresh=db_refresh, at=SAT_NIGHT)
    assert err.value.rules == rules
    with pytest.raises(RequestRefused):
        RequestDraft("d1", target, version, db_refresh, SAT_NIGHT)


def test_a_typo_stays_bad_input_not_a_refusal(desk: Desk) -> None:
    with pytest.raises(UnknownName, match="unknown target 'prod'") as err:
        desk.submit("dana", "d1", "prod", "E.1505.2", at=SAT_NIGHT)
    assert not isinstance(err.value, RequestRefused)


def test_r16_r18_cancel_and_delete_refusals_name_their_rules(desk: Desk) -> None:
    rid = refresh(desk)
    desk.schedule(rid, SUNDAY_SLOT)
    with pytest.raises(RequestRefused) as deleting:
        desk.delete("dana", rid)
    assert deleting.value.rules == ("R18",) and "Scheduled" in str(deleting.value)
    desk.pull(rid)
    desk.start(rid)
    with pytest.raises(RequestRefused) as cancelling:
        desk.cancel("dana", rid)
    assert cancelling.value.rules == ("R16",) and "In Progress" in str(cancelling.value)


def test_one_warning_type_from_evaluate_submit_the_request_and_the_planner(
    desk: Desk, clock: FixedClock
) -> None:
    at = datetime(2026, 3, 8, 0, 45)  # over d1's Sunday 01:30 export
    draft = RequestDraft("d1", "production/sandbox", "E.1505.2", None, at)
    [w] = desk.evaluate("dana", draft).warnings
    sub = desk.submit("dana", "d1", "production/sandbox", "E.1505.2", at=at)
    assert isinstance(w, Advisory) and sub.warnings == (w,) and sub.request.warnings == (w,)
    assert str(w).startswith("R14: scheduled task 'nightly export'")
    assert stored(desk, sub.request.id).warnings == (w,)
    run = desk.plan_queue(dry_run=True, horizon=clock.now + timedelta(days=60))
    assert all(isinstance(x, Advisory) for p in run.plan.placements.values() for x in p.warnings)


# -- DB refresh: not given, yes, no ---------------------------------------------------------


def test_r9_db_refresh_not_given_takes_the_plans_preset(clock: FixedClock) -> None:
    with Desk.from_setup(ROOT / "examples" / "district.toml", clock=clock) as desk:
        sub = desk.submit("sam", "birch", "production/sandbox", None, at=SAT_NIGHT)
        assert sub.request.db_refresh is True  # cloud: DB refresh is preset to yes (R9)
        with pytest.raises(RequestRefused) as no:
            desk.submit("sam", "birch", "production/sandbox", None, db_refresh=False,
                        at=SAT_NIGHT)  # fmt: skip
        assert set(no.value.rules) == {"R6", "R9"}
        with pytest.raises(RequestRefused) as asp:  # no preset elsewhere: R6 as before
            desk.submit("dana", "maple", "staging", None, at=SAT_NIGHT)
        assert asp.value.rules == ("R6",)
        draft = RequestDraft("birch", "production/sandbox", None, None, SAT_NIGHT)
        assert desk.evaluate("sam", draft).allowed


# -- views and look-ups ---------------------------------------------------------------------


def test_lists_that_can_grow_are_pages_and_lookups_take_the_documented_strings(
    desk: Desk,
) -> None:
    rid = refresh(desk)
    queue, mine, tenants = desk.queue(), desk.requests("dana", "d1"), desk.tenants_of("sam")
    assert all(isinstance(p, Page) for p in (queue, mine, tenants))
    assert [r.id for r in queue] == [rid] and queue.total == 1
    assert [t.id for t in tenants] == ["d1", "d3"] and tenants.total == 2
    d1 = desk.tenant("d1")
    assert d1.site("sandbox") is d1.site(SiteKind.SANDBOX) is not None
    assert d1.site("preview") is None
    with pytest.raises(UnknownName):
        d1.site("sandbx")
