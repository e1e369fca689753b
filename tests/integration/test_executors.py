"""R15, R20: executors on memory and SQLite: dispatch, fenced reports, the engine side."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siteupdates.app.executors import (
    GENERIC_REASON,
    ExecutionResult,
    LocalExecutor,
    Run,
    Ticket,
    deadline_for,
)
from siteupdates.domain import Event, SiteKind, Status, Tenant, UpdateRequest
from siteupdates.errors import (
    InvalidInput,
    NeedsInput,
    SiteUpdatesError,
    StaleReport,
    TransitionNotAllowed,
    UnknownName,
    UpdateFailed,
)
from siteupdates.hookspecs import hookimpl
from siteupdates.plugins import PluginHost
from siteupdates.presets import CAMPUS_HOSTING
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, RecordingNotifier, sample_setup

UTC = timezone.utc


class Engine:
    """An executor that keeps what it was handed (an engine's queue)."""

    def __init__(self) -> None:
        self.runs: List[Run] = []
        self.down = False
        self.cancelled: List[str] = []

    @hookimpl
    def siteupdates_executor_dispatch(self, run: Run) -> Optional[str]:
        if self.down:
            raise ConnectionError("broker unreachable")
        self.runs.append(run)
        return run.idempotency_key

    @hookimpl
    def siteupdates_executor_status(self, run: Run) -> Optional[str]:
        return (
            "QUEUED" if any(r.idempotency_key == run.idempotency_key for r in self.runs) else None
        )

    @hookimpl
    def siteupdates_executor_cancel(self, run: Run) -> Optional[bool]:
        self.cancelled.append(run.idempotency_key)
        return True


@pytest.fixture
def engine() -> Engine:
    return Engine()


@pytest.fixture
def ddesk(desk: Desk, engine: Engine, notifier: RecordingNotifier) -> Desk:
    """The same storage and clock, with the engine as executor."""
    host = PluginHost(plugins=[engine, notifier], entry_points=False)
    return Desk(desk.storage, host=host, clock=desk.clock)


#: Requests tenant d1 may hold open at once: two version updates, then DB refreshes.
KINDS = [("production/sandbox", "E.1505.2"), ("staging", "E.1505.2")] + [("staging", None)] * 8


def booked(desk: Desk, clock: FixedClock, n: int = 1, skip: int = 0) -> List[str]:
    ids = []
    for target, version in KINDS[skip : skip + n]:
        clock.advance(timedelta(seconds=1))
        rid = desk.submit(
            "dana", "d1", target, version, db_refresh=version is None,
            at=datetime(2026, 3, 7, 22),
        ).request.id  # fmt: skip
        desk.schedule(rid, clock.now)
        ids.append(rid)
    return ids


def dispatched(ddesk: Desk, engine: Engine, clock: FixedClock, n: int = 1) -> List[Run]:
    booked(ddesk, clock, n)
    report = ddesk.dispatch("d-1", lease_seconds=60)
    assert report.dispatched == n
    return engine.runs[-n:]


def events(desk: Desk, rid: str) -> List[Event]:
    return [h.event for h in desk.history(rid)]


def test_r15_a_dispatcher_claims_due_requests_and_hands_each_over_as_a_run(
    ddesk: Desk, engine: Engine, clock: FixedClock
) -> None:
    [run] = dispatched(ddesk, engine, clock)
    assert run.fencing_token == 1 and run.owner == "d-1"
    assert run.idempotency_key == f"siteupdates-{run.id}-1"
    # R1: a version update of production is one of its sandbox too.
    assert run.targets == (SiteKind.PRODUCTION, SiteKind.SANDBOX)
    # T0 lies in the preset's Sunday window, which closes at 09:00 Chicago.
    assert run.deadline == datetime(2026, 3, 1, 15, tzinfo=UTC)
    r = ddesk.find(run.id)
    assert r.status is Status.NOT_STARTED and events(ddesk, run.id)[-1] is Event.PULL
    assert ddesk.dispatch("d-2").claimed == 0  # the live lease keeps it from others


def test_r15_r20_reports_move_a_run_to_completed_once(
    ddesk: Desk, engine: Engine, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    [run] = dispatched(ddesk, engine, clock)
    started = ddesk.report(run.id, run.fencing_token, "started")
    assert started.applied and started.request.status is Status.IN_PROGRESS
    done = ddesk.report(run.id, run.fencing_token, "completed")
    assert done.applied and done.request.status is Status.COMPLETED
    assert ddesk.storage.lease(run.id) is None
    hist = ddesk.history(run.id)
    assert [h.by for h in hist[-2:]] == ["d-1#1", "d-1#1"]
    again = ddesk.report(run.id, run.fencing_token, "completed")
    late_start = ddesk.report(run.id, str(run.fencing_token), "started")
    assert not again.applied and not late_start.applied
    assert len(ddesk.history(run.id)) == len(hist)  # nothing applied twice
    tenant = ddesk.storage.tenant("d1")
    assert tenant is not None and str(tenant.sites[0].version) == "E.1505.2"


def test_r15_a_completed_report_without_start_starts_and_completes(
    ddesk: Desk, engine: Engine, clock: FixedClock
) -> None:
    [run] = dispatched(ddesk, engine, clock)
    done = ddesk.report(run.id, run.fencing_token, "COMPLETED")
    assert done.request.status is Status.COMPLETED
    assert events(ddesk, run.id)[-3:] == [Event.PULL, Event.START, Event.COMPLETE]


def test_r20_a_failed_report_tells_the_contact_the_reason(
    ddesk: Desk, engine: Engine, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    [run] = dispatched(ddesk, engine, clock)
    ddesk.report(run.id, run.fencing_token, "started")
    r = ddesk.report(
        run.id, run.fencing_token, "failed", contact_reason="the staging copy is full"
    )
    assert r.request.status is Status.UNABLE_TO_COMPLETE
    ddesk.deliver()
    [told] = [n for n in notifier.delivered if n.kind == "unable-to-complete"]
    assert "the staging copy is full" in told.body


def test_r20_a_needs_input_report_asks_the_contact(
    ddesk: Desk, engine: Engine, clock: FixedClock
) -> None:
    [run] = dispatched(ddesk, engine, clock)
    r = ddesk.report(run.id, 1, "needs-input", contact_reason="Which staging copy to keep?")
    assert r.request.status is Status.PENDING_INPUT
    assert r.request.reason == "Which staging copy to keep?"
    assert ddesk.storage.lease(run.id) is None


def test_a_report_of_a_run_that_was_taken_over_is_refused_and_writes_nothing(
    ddesk: Desk, engine: Engine, clock: FixedClock
) -> None:
    [first] = dispatched(ddesk, engine, clock)
    ddesk.report(first.id, first.fencing_token, "started")
    clock.advance(timedelta(seconds=61))  # the first engine went silent
    assert ddesk.dispatch("d-2", lease_seconds=60).dispatched == 1
    second = engine.runs[-1]
    assert second.fencing_token == 2 and second.idempotency_key != first.idempotency_key
    before = ddesk.history(first.id)
    for outcome in ("started", "completed", "failed"):
        with pytest.raises(StaleReport) as caught:
            ddesk.report(first.id, first.fencing_token, outcome, contact_reason="x")
        assert caught.value.token == 1 and "newest token 2" in str(caught.value)
    assert ddesk.history(first.id) == before
    assert not ddesk.heartbeat(first.id, first.fencing_token, lease_seconds=600)
    lease = ddesk.storage.lease(first.id)
    assert lease is not None and lease.worker == "d-2" and lease.attempts == 2
    ddesk.report(second.id, second.fencing_token, "completed")
    assert ddesk.find(first.id).status is Status.COMPLETED
    with pytest.raises(StaleReport):  # still refused once the live attempt finished
        ddesk.report(first.id, first.fencing_token, "completed")


def test_a_heartbeat_renews_only_the_run_s_own_lease(
    ddesk: Desk, engine: Engine, clock: FixedClock
) -> None:
    [run] = dispatched(ddesk, engine, clock)
    assert ddesk.heartbeat(run.id, run.fencing_token, lease_seconds=600)
    lease = ddesk.storage.lease(run.id)
    assert lease is not None and lease.expires == clock.now + timedelta(seconds=600)
    assert not ddesk.heartbeat(run.id, run.fencing_token + 1, lease_seconds=900)
    assert ddesk.storage.lease(run.id) == lease


@pytest.mark.parametrize(
    ("token", "outcome", "reason", "error"),
    [
        (1, "finished", None, UnknownName),
        ("one", "completed", None, InvalidInput),
        (0, "completed", None, InvalidInput),
        (True, "completed", None, InvalidInput),
        (1, "failed", None, InvalidInput),
        (1, "failed", "   ", InvalidInput),
        (1, "needs-input", None, InvalidInput),
    ],
)
def test_bad_reports_name_what_was_wrong_and_write_nothing(
    ddesk: Desk,
    engine: Engine,
    clock: FixedClock,
    token: object,
    outcome: str,
    reason: Optional[str],
    error: type,
) -> None:
    [run] = dispatched(ddesk, engine, clock)
    before = ddesk.history(run.id)
    with pytest.raises(error) as caught:
        ddesk.report(run.id, token, outcome, contact_reason=reason)  # type: ignore[arg-type]
    assert isinstance(caught.value, SiteUpdatesError)
    assert ddesk.history(run.id) == before


def test_r15_a_start_report_on_a_request_not_with_an_engine_is_not_allowed(
    ddesk: Desk, clock: FixedClock
) -> None:
    [rid] = booked(ddesk, clock)
    with pytest.raises(StaleReport):
        ddesk.report(rid, 1, "started")


def test_a_duplicate_delivery_runs_the_runbook_once(
    ddesk: Desk, engine: Engine, clock: FixedClock
) -> None:
    [run] = dispatched(ddesk, engine, clock)
    ran: List[str] = []
    first = ddesk.execute(run.ticket(), lambda t: ran.append(t.run_id))
    second = ddesk.execute(run.ticket(), lambda t: ran.append(t.run_id))
    assert first.result is ExecutionResult.COMPLETED and first.ran
    assert second.ran is False and second.result in (
        ExecutionResult.DUPLICATE,
        ExecutionResult.STALE,
    )
    assert ran == [run.id] and ddesk.find(run.id).status is Status.COMPLETED


def test_r20_a_runbook_that_raises_fails_the_run_with_a_reason_fit_for_the_contact(
    ddesk: Desk, engine: Engine, clock: FixedClock
) -> None:
    runs = dispatched(ddesk, engine, clock, 3)

    def leaky(_: Ticket) -> None:
        raise OSError("/srv/db/pg-17 at 10.0.0.7: no space left")

    def told(_: Ticket) -> None:
        raise UpdateFailed("the copy of production's data did not fit")

    def asks(_: Ticket) -> None:
        raise NeedsInput("May we drop the old staging data?")

    results = [ddesk.execute(r.ticket(), fn) for r, fn in zip(runs, (leaky, told, asks))]
    assert [x.result for x in results] == [
        ExecutionResult.FAILED,
        ExecutionResult.FAILED,
        ExecutionResult.NEEDS_INPUT,
    ]
    reasons = [ddesk.find(r.id).reason for r in runs]
    assert reasons == [
        GENERIC_REASON,  # an exception's text may hold internals: never shown
        "the copy of production's data did not fit",
        "May we drop the old staging data?",
    ]
    assert [ddesk.find(r.id).status for r in runs] == [
        Status.UNABLE_TO_COMPLETE,
        Status.UNABLE_TO_COMPLETE,
        Status.PENDING_INPUT,
    ]


class Updater:
    def __init__(self) -> None:
        self.done: List[str] = []
        self.fail_with: Optional[str] = None

    @hookimpl
    def siteupdates_perform_update(self, request: UpdateRequest, tenant: Tenant) -> bool:
        if self.fail_with:
            raise RuntimeError(self.fail_with)
        self.done.append(request.id)
        return True


def test_r15_the_local_executor_is_the_reference_behind_the_same_hook(
    desk: Desk, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    updater = Updater()
    host = PluginHost(plugins=[updater, notifier], entry_points=False)
    local = Desk(desk.storage, host=host, clock=desk.clock)
    host.register(LocalExecutor(local.app))
    ids = booked(local, clock, 2)
    updater.fail_with = None
    report = local.dispatch("local-1")
    assert report.dispatched == 2 and updater.done == ids
    for rid in ids:
        assert events(local, rid)[-3:] == [Event.PULL, Event.START, Event.COMPLETE]
        assert [h.by for h in local.history(rid)[-2:]] == ["local-1#1", "local-1#1"]
    [failing] = booked(local, clock, 1, skip=2)
    updater.fail_with = "staging database copy failed"
    local.dispatch("local-1")
    r = local.find(failing)
    # The perform_update hook's message is the contact's reason, as with the worker.
    assert r.status is Status.UNABLE_TO_COMPLETE and r.reason == "staging database copy failed"


def test_without_an_executor_claims_are_handed_back(desk: Desk, clock: FixedClock) -> None:
    [rid] = booked(desk, clock)
    report = desk.dispatch("d-1")
    assert report.claimed == 1 and report.handed_back == 1 and report.dispatched == 0
    assert desk.find(rid).status is Status.SCHEDULED and desk.storage.lease(rid) is None


def test_an_engine_that_is_down_gets_the_batch_handed_back(
    ddesk: Desk, engine: Engine, clock: FixedClock
) -> None:
    ids = booked(ddesk, clock, 2)
    engine.down = True
    report = ddesk.dispatch("d-1")
    assert report.handed_back == 2 and report.dispatched == 0
    assert report.errors and "broker unreachable" in report.errors[0]
    assert all(ddesk.find(rid).status is Status.SCHEDULED for rid in ids)
    engine.down = False
    assert ddesk.dispatch("d-1").dispatched == 2  # hand-backs cost no attempt


def test_a_request_started_max_attempts_times_becomes_unable_to_complete(
    ddesk: Desk, engine: Engine, clock: FixedClock
) -> None:
    [rid] = booked(ddesk, clock)
    for _ in range(2):
        ddesk.dispatch("d-1", lease_seconds=10, max_attempts=2)
        run = engine.runs[-1]
        ddesk.report(rid, run.fencing_token, "started")
        clock.advance(timedelta(seconds=11))  # the engine dies mid-run each time
    report = ddesk.dispatch("d-1", lease_seconds=10, max_attempts=2)
    assert report.failed == 1
    r = ddesk.find(rid)
    assert r.status is Status.UNABLE_TO_COMPLETE and "after 2 attempts" in (r.reason or "")


def test_status_and_cancel_reach_the_engine_and_fence_out_the_run(
    ddesk: Desk, engine: Engine, clock: FixedClock
) -> None:
    runs = dispatched(ddesk, engine, clock, 2)
    run, said = ddesk.run_status(runs[0].id)
    assert said == "QUEUED" and run.idempotency_key == runs[0].idempotency_key
    r = ddesk.cancel_run(runs[0].id, "the tenant asked to wait")
    assert r.status is Status.DEFERRED and engine.cancelled == [runs[0].idempotency_key]
    ddesk.report(runs[1].id, runs[1].fencing_token, "started")
    r = ddesk.cancel_run(runs[1].id, "stopped by the hosting team")
    assert r.status is Status.UNABLE_TO_COMPLETE
    for x in runs:
        with pytest.raises(StaleReport):
            ddesk.report(x.id, x.fencing_token, "completed")
    with pytest.raises(InvalidInput):
        ddesk.run_status(runs[0].id)  # no run any more


def test_a_report_not_allowed_in_the_status_says_so(
    ddesk: Desk, engine: Engine, clock: FixedClock
) -> None:
    [run] = dispatched(ddesk, engine, clock)
    ddesk.report(run.id, run.fencing_token, "needs-input", contact_reason="which copy?")
    ddesk.answer("dana", run.id, "the newest")
    # The lease ended with the question: a later report of the run is stale.
    with pytest.raises((StaleReport, TransitionNotAllowed)):
        ddesk.report(run.id, run.fencing_token, "completed")


def test_the_deadline_is_the_close_of_the_window_or_one_update_later() -> None:
    inside = datetime(2026, 3, 1, 11, tzinfo=UTC)  # Sunday 05:00 Chicago
    assert deadline_for(CAMPUS_HOSTING, inside) == datetime(2026, 3, 1, 15, tzinfo=UTC)
    outside = datetime(2026, 3, 3, 11, tzinfo=UTC)  # a Tuesday
    assert deadline_for(CAMPUS_HOSTING, outside) == outside + CAMPUS_HOSTING.update_duration


def test_a_ticket_round_trips_through_json(ddesk: Desk, engine: Engine, clock: FixedClock) -> None:
    [run] = dispatched(ddesk, engine, clock)
    t = run.ticket()
    assert Ticket.from_json(json.loads(json.dumps(t.to_json()))) == t
    extra = {**t.to_json(), "added_by_a_newer_release": 1}
    assert Ticket.from_json(extra) == t


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
_FIELDS = (
    "run_id", "fencing_token", "idempotency_key", "tenant_id", "target", "targets",
    "version", "db_refresh", "deadline", "lease_seconds",
)  # fmt: skip


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    broken=st.sampled_from(_FIELDS),
    value=_json,
    whole=st.one_of(_json, st.just({})),
)
def test_a_hostile_ticket_is_refused_with_the_field_named(
    broken: str, value: object, whole: object
) -> None:
    good = {
        "run_id": "r1", "fencing_token": 2, "idempotency_key": "siteupdates-r1-2",
        "tenant_id": "d1", "target": "staging", "targets": ["staging"], "version": "E.1505.2",
        "db_refresh": False, "deadline": "2026-03-01T15:00:00+00:00", "lease_seconds": 60,
    }  # fmt: skip
    for data in ({**good, broken: value}, whole):
        try:
            Ticket.from_json(data)
        except SiteUpdatesError as exc:
            assert isinstance(exc, (InvalidInput, UnknownName)), exc
            assert str(exc)


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "siteupdates.cli", "--db", str(db), *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_report_command_applies_ignores_and_refuses(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    clock = FixedClock()
    engine = Engine()
    desk = Desk.open(
        f"sqlite:///{db}", host=PluginHost(plugins=[engine], entry_points=False), clock=clock
    )
    desk.load_setup(sample_setup())
    [run] = dispatched(desk, engine, clock)
    desk.close()
    ok = _cli(db, "--json", "report", run.id[:12], "1", "started")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["applied"] is True
    again = _cli(db, "report", run.id, "1", "started")
    assert again.returncode == 0 and "ignored" in again.stdout
    stale = _cli(db, "report", run.id, "7", "completed")
    assert stale.returncode == 1 and stale.stderr.count("\n") == 1
    assert "fencing token 7 refused" in stale.stderr
    bad = _cli(db, "report", run.id, "1", "failed")
    assert bad.returncode == 2 and "contact_reason" in bad.stderr and "Traceback" not in bad.stderr
    status = _cli(db, "dispatch", "--status", run.id)
    assert status.returncode == 0 and "no executor can tell" in status.stdout
    no_id = _cli(db, "dispatch")
    assert no_id.returncode == 2 and "--id" in no_id.stderr
