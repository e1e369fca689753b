"""R20 and beyond: what a contact receives, in order; notifiers under their contract; the CLI."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, List

import attrs
import pytest

from siteupdates.app.worker import Worker
from siteupdates.builtin.lognotify import LogNotifier
from siteupdates.cli import main
from siteupdates.domain import Status, Tenant, UpdateRequest
from siteupdates.errors import ConfigurationError, UpdateFailed
from siteupdates.hookspecs import hookimpl
from siteupdates.plugins import PluginHost
from siteupdates.ports import Fence, OutboxState
from siteupdates.service import Desk
from siteupdates.setupfile import setup_from_dict
from siteupdates.testing import (
    FixedClock,
    NotifierContract,
    Received,
    RecordingNotifier,
    sample_setup,
)
from tests.notifier_plugin import FileNotifier, read_lines

UTC = timezone.utc


class Updater:
    def __init__(self) -> None:
        self.tokens: List[int] = []
        self.steps: List[str] = []
        self.fail_before: Exception | None = None

    @hookimpl
    def siteupdates_before_update(
        self, request: UpdateRequest, tenant: Tenant, fence: Fence
    ) -> None:
        self.steps.append("before")
        if self.fail_before is not None:
            raise self.fail_before

    @hookimpl
    def siteupdates_perform_update(
        self, request: UpdateRequest, tenant: Tenant, fence: Fence
    ) -> bool:
        self.steps.append("perform")
        self.tokens.append(fence.token)
        return True

    @hookimpl
    def siteupdates_after_refresh(
        self, request: UpdateRequest, tenant: Tenant, site: Any, fence: Fence
    ) -> None:
        self.steps.append(f"after_refresh:{site.kind.value}")

    @hookimpl
    def siteupdates_after_update(
        self, request: UpdateRequest, tenant: Tenant, fence: Fence
    ) -> None:
        self.steps.append("after")


class OldUpdater:
    """A hook written for the first release: (request, tenant) only."""

    @hookimpl
    def siteupdates_perform_update(self, request: UpdateRequest, tenant: Tenant) -> bool:
        return True


def _desk(clock: FixedClock, *plugins: object, ladder: Any = None) -> Desk:
    data: dict[str, Any] = {}
    desk = Desk.open("memory://", host=PluginHost(plugins=list(plugins)), clock=clock)
    setup = sample_setup()
    if ladder is not None:
        data = {"notices": {"reminders": ladder}}
        notices = setup_from_dict(data).settings["notices"]
        setup = attrs.evolve(setup, settings={**setup.settings, "notices": notices})
    desk.load_setup(setup)
    return desk


def test_one_request_from_submit_to_completion_tells_the_contact_everything_in_order() -> None:
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    notifier, updater = RecordingNotifier(), Updater()
    desk = _desk(clock, notifier, updater)
    rid = desk.submit(
        "dana", "d1", "production/sandbox", "E.1505.2", db_refresh=True,
        at=datetime(2026, 3, 7, 22),
    ).request.id  # fmt: skip
    start = datetime(2026, 3, 8, 4, tzinfo=UTC)  # 10 PM CST on Mar. 7
    desk.schedule(rid, start)
    desk.deliver()
    for moment in (start - timedelta(hours=72), start - timedelta(hours=24),
                   start - timedelta(hours=1)):  # fmt: skip
        clock.now = moment - timedelta(seconds=1)
        assert desk.deliver().delivered == 0  # not yet
        clock.now = moment
        desk.deliver()
    clock.now = start
    assert Worker(desk, "w1").run_once() == 1
    desk.deliver()
    assert updater.steps == ["before", "perform", "after_refresh:sandbox", "after"]
    assert updater.tokens == [1]
    kinds = [n.kind for n in notifier.delivered]
    keys = [n.key.split(":", 1)[1] for n in notifier.delivered]
    assert kinds == ["accepted", "scheduled", "reminder", "reminder", "reminder", "started",
                     "completed"]  # fmt: skip
    assert keys[2:5] == ["2:reminder-72h", "2:reminder-24h", "2:reminder-1h"]
    by_kind = {n.kind: n for n in notifier.delivered}
    assert all(n.contact_name == "Dana" and n.body.startswith("Hello Dana,") for n in
               notifier.delivered)  # fmt: skip
    assert "starts in 1 hour, on Mar. 7, 2026 at 10:00 PM CST" in notifier.delivered[4].body
    assert "offline until about Mar. 8, 2026 at 12:00 AM CST" in by_kind["started"].body
    assert "production and sandbox now run E.1505.2" in by_kind["completed"].body
    # The planner's own reasons never reach the contact.
    assert all("first come" not in n.body and "position" not in n.body
               for n in notifier.delivered)  # fmt: skip
    r = desk.storage.request(rid)
    assert r is not None and r.status is Status.COMPLETED


def test_moving_the_date_rearms_the_ladder_and_cancelling_withdraws_it() -> None:
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    notifier = RecordingNotifier()
    desk = _desk(clock, notifier, ladder=["48h", "2h"])
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(rid, datetime(2026, 3, 8, 4, tzinfo=UTC))
    first = [o for o in desk.storage.outbox(request_id=rid) if o.kind == "reminder"]
    assert [o.key.split(":", 1)[1] for o in first] == ["2:reminder-48h", "2:reminder-2h"]
    desk.reschedule(rid, datetime(2026, 3, 15, 4, tzinfo=UTC), "the window was full")
    items = {o.key.split(":", 1)[1]: o for o in desk.storage.outbox(request_id=rid)
             if o.kind == "reminder"}  # fmt: skip
    assert items["2:reminder-48h"].state is OutboxState.WITHDRAWN
    assert items["3:reminder-48h"].state is OutboxState.PENDING
    assert items["3:reminder-48h"].next_attempt_at == datetime(2026, 3, 13, 4, tzinfo=UTC)
    desk.cancel("dana", rid)
    assert all(o.state is OutboxState.WITHDRAWN for o in desk.storage.outbox(request_id=rid)
               if o.kind == "reminder")  # fmt: skip
    clock.now = datetime(2026, 3, 14, tzinfo=UTC)
    desk.deliver()
    assert "reminder" not in [n.kind for n in notifier.delivered]


def _pending_reminders(desk: Desk, rid: str) -> List[str]:
    """The keys (without the request ID) of the request's reminders still to send."""
    return [o.key.split(":", 1)[1] for o in desk.storage.outbox(request_id=rid)
            if o.kind == "reminder" and o.state is OutboxState.PENDING]  # fmt: skip


@pytest.mark.parametrize("who", ["contact", "provider"])
def test_r15_an_answer_that_returns_a_request_to_its_date_rearms_the_ladder(who: str) -> None:
    """A question withdraws the reminders; the answer puts the date back, and them with it."""
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    notifier = RecordingNotifier()
    desk = _desk(clock, notifier, ladder=["48h", "2h"])
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(rid, datetime(2026, 3, 8, 4, tzinfo=UTC))
    desk.ask_input(rid, "May we restart the site's cache too?", by="ops")
    assert _pending_reminders(desk, rid) == []
    if who == "contact":
        back = desk.answer("dana", rid, "yes, please")
    else:
        back = desk.mark_answered(rid, "Dana phoned: yes", by="ops")
    assert back.status is Status.SCHEDULED
    assert _pending_reminders(desk, rid) == ["4:reminder-48h", "4:reminder-2h"]
    clock.now = datetime(2026, 3, 6, 4, tzinfo=UTC)
    desk.deliver()
    assert [n.key.split(":", 1)[1] for n in notifier.delivered if n.kind == "reminder"] == [
        "4:reminder-48h"
    ]


def test_r13_a_postponed_request_is_reminded_of_its_new_date() -> None:
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    desk = _desk(clock, RecordingNotifier(), ladder=["48h", "2h"])
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(rid, datetime(2026, 3, 8, 4, tzinfo=UTC))
    moved = desk.postpone("dana", rid, next_window=True)
    assert moved.scheduled_for is not None and moved.scheduled_for > datetime(
        2026, 3, 8, tzinfo=UTC
    )
    seq = moved.revision
    assert _pending_reminders(desk, rid) == [f"{seq}:reminder-48h", f"{seq}:reminder-2h"]
    [first] = [o for o in desk.storage.outbox(request_id=rid)
               if o.key.endswith(f"{seq}:reminder-48h")]  # fmt: skip
    assert first.next_attempt_at == moved.scheduled_for - timedelta(hours=48)


def test_reminders_already_past_are_skipped_and_a_late_deliverer_sends_one_not_a_burst() -> None:
    clock = FixedClock(datetime(2026, 3, 7, 12, tzinfo=UTC))
    notifier = RecordingNotifier()
    desk = _desk(clock, notifier)
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(rid, datetime(2026, 3, 8, 4, tzinfo=UTC))  # 16 h ahead: only 1h is armed
    reminders = [o for o in desk.storage.outbox(request_id=rid) if o.kind == "reminder"]
    assert [o.key.split(":", 1)[1] for o in reminders] == ["2:reminder-1h"]
    # A ladder armed early, delivered late: the 72h and 24h rungs are withdrawn, 1h is sent.
    clock.now = datetime(2026, 3, 1, tzinfo=UTC)
    rid2 = desk.submit(
        "dana", "d1", "staging", None, db_refresh=True, at=datetime(2026, 3, 7, 22)
    ).request.id
    desk.schedule(rid2, datetime(2026, 3, 8, 6, tzinfo=UTC))
    desk.deliver()
    clock.now = datetime(2026, 3, 8, 5, 30, tzinfo=UTC)
    report = desk.deliver()
    sent = [n for n in notifier.delivered if n.kind == "reminder"]
    # rid2: 72h and 24h are overtaken by 1h, which is sent; rid's 1h: its start has passed.
    assert [(n.request_id, n.key.split(":", 2)[2]) for n in sent] == [(rid2, "reminder-1h")]
    assert report.withdrawn == 3


def test_a_ladder_in_the_setup_file_is_checked() -> None:
    # "1d" stays written in days: it counts on the contact's calendar (docs/time.md).
    assert setup_from_dict({"notices": {"reminders": ["1d", "90m"]}}).settings["notices"] == {
        "reminders": ["1d", "90m"]
    }
    with pytest.raises(ConfigurationError, match=r"notices\.reminders"):
        setup_from_dict({"notices": {"reminders": ["soon"]}})
    with pytest.raises(ConfigurationError, match=r"notices\.reminders"):
        setup_from_dict({"notices": {"reminders": "72h"}})


def test_a_hook_failure_has_a_contact_reason_apart_from_its_internal_error() -> None:
    clock = FixedClock(datetime(2026, 3, 1, 5, tzinfo=UTC))
    notifier, updater = RecordingNotifier(), Updater()
    desk = _desk(clock, notifier, updater)
    a = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(a, datetime(2026, 3, 8, 4, tzinfo=UTC))
    clock.now = datetime(2026, 3, 8, 5, tzinfo=UTC)
    updater.fail_before = UpdateFailed(
        "Your staging site has custom code we must check with you first. Which branch is live?",
        internal="pre-copy: git status shows 3 untracked files in /srv/d1/staging",
        ask=True,
    )
    Worker(desk, "w1").run_once()
    r = desk.storage.request(a)
    assert r is not None and r.status is Status.PENDING_INPUT
    assert updater.steps == ["before"]  # the update itself never ran
    desk.deliver()
    [asked] = [n for n in notifier.delivered if n.kind == "input-needed"]
    assert "Which branch is live?" in asked.body and "untracked" not in asked.body


def test_an_update_hook_written_for_the_first_release_still_works() -> None:
    clock = FixedClock(datetime(2026, 3, 1, 5, tzinfo=UTC))
    desk = _desk(clock, RecordingNotifier(), OldUpdater())
    a = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(a, datetime(2026, 3, 8, 4, tzinfo=UTC))
    clock.now = datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert Worker(desk, "w1").run_once() == 1
    r = desk.storage.request(a)
    assert r is not None and r.status is Status.COMPLETED


# -- notifiers under their contract ---------------------------------------------------


class TestLogNotifierContract(NotifierContract):
    @pytest.fixture
    def notifier(self, caplog: pytest.LogCaptureFixture) -> Any:
        caplog.set_level(logging.INFO, logger="siteupdates.notices")
        return LogNotifier()

    @pytest.fixture
    def received(self, caplog: pytest.LogCaptureFixture) -> Callable[[], List[Received]]:
        def got() -> List[Received]:
            out = []
            for rec in caplog.records:
                n = getattr(rec, "siteupdates_notice", None)
                if n is not None:
                    text = rec.getMessage()
                    out.append(Received(n.key, text.split(": ", 1)[0], n.subject, text))
            return out

        return got


def test_the_log_notifier_declines_where_nobody_would_read_it() -> None:
    log = logging.getLogger("siteupdates.notices")
    assert log.getEffectiveLevel() > logging.INFO  # as in a host that configured nothing
    assert (
        NotifierContract.deliver(
            LogNotifier(), __import__("siteupdates.testing").testing.sample_notice()
        )
        is False
    )


class TestThirdPartyNotifierContract(NotifierContract):
    @pytest.fixture
    def notifier(self, tmp_path: Path) -> FileNotifier:
        return FileNotifier(str(tmp_path / "sent.jsonl"))

    @pytest.fixture
    def received(self, notifier: FileNotifier) -> Callable[[], List[Received]]:
        return lambda: [
            Received(r["key"], r["to"], r["subject"], r["body"]) for r in read_lines(notifier.path)
        ]

    @pytest.fixture
    def permanent_failure(self, notifier: FileNotifier) -> Callable[[], Any]:
        @contextmanager
        def refusing() -> Iterator[None]:
            notifier.fail = "permanent"
            yield
            notifier.fail = None

        return refusing

    @pytest.fixture
    def temporary_failure(self, notifier: FileNotifier) -> Callable[[], Any]:
        @contextmanager
        def busy() -> Iterator[None]:
            notifier.fail = "temporary"
            yield
            notifier.fail = None

        return busy


# -- the command line -----------------------------------------------------------------

SETUP = Path(__file__).resolve().parents[2] / "examples" / "district.toml"


def _run(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["--db", str(db), "--now", "2015-02-10T12:00:00Z", *args])
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "args",
    [
        ["deliver", "--timeout", "0"],
        ["deliver", "--timeout", "nan"],
        ["deliver", "--timeout", "inf"],
        ["deliver", "--timeout", "-1"],
        ["deliver", "--batch", "-1"],
        ["deliver", "--lease", "nan"],
        ["deliver", "--max-attempts", "0"],
        ["deliver", "--base-delay", "-5"],
        ["worker", "--id", "w", "--lease", "nan"],
        ["worker", "--id", "w", "--batch", "-1"],
        ["worker", "--id", "w", "--poll", "inf"],
        ["worker", "--id", "w", "--lease", "0"],
    ],
)
def test_bad_option_values_are_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: List[str]
) -> None:
    code, _, err = _run(capsys, tmp_path / "x.db", *args)
    assert code == 2 and err.count("\n") == 1 and args[-2] in err


def test_deliver_says_when_notices_only_went_to_the_log_and_outbox_retry_requeues(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "cli.db"
    assert _run(capsys, db, "init", str(SETUP))[0] == 0
    code, out, _ = _run(
        capsys, db, "submit", "--as", "dana", "--tenant", "maple", "--target", "staging",
        "--version", "E.1505.2", "--at", "2015-02-14 01:00",
    )  # fmt: skip
    assert code == 0
    code, out, err = _run(capsys, db, "deliver")
    assert code == 0 and "delivered 1" in out
    assert "no mail notifier is configured" in out
    assert "siteupdates.notices: notice" in err and "Hello" in err  # shown, not swallowed
    code, out, err = _run(capsys, db, "outbox", "retry")
    assert code == 2 and "KEY... or --dead" in err
    code, out, err = _run(capsys, db, "outbox", "retry", "no-such-key")
    assert code == 3 and "no dead or pending item with key: no-such-key" in out
    code, out, _ = _run(capsys, db, "outbox", "retry", "--dead")
    assert code == 0 and out.startswith("requeued 0")
