"""Issue 17 through the public API (Desk) and the command line: staged promotion with
soak and gate, limited deferral, advance-notice tiers, scoped blackouts, what-if.

Dates: the clock starts Sunday 1 March 2026 12:00 UTC; the preset's window is
Sunday 04:00-09:00 Chicago, two 2-hour slots (09:00 and 11:00 UTC from 8 March).
"""

from __future__ import annotations

import gettext
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import attrs
import pytest

from siteupdates.cli import main
from siteupdates.domain import (
    Blackout,
    DeferralRules,
    Event,
    NoticeTiers,
    RecurringWindow,
    SchedulingRules,
    StagingRules,
    Status,
)
from siteupdates.domain.messages import refusal_text
from siteupdates.errors import InvalidInput, RequestRefused, TransitionNotAllowed
from siteupdates.i18n import Language, language
from siteupdates.plugins import PluginHost
from siteupdates.ports import OutboxState
from siteupdates.presets import CAMPUS_HOSTING
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, RecordingNotifier, sample_setup

UTC = timezone.utc
MAR8 = datetime(2026, 3, 8, 9, tzinfo=UTC)  # 04:00 CDT


def _desk(url: str, clock: FixedClock, notifier: RecordingNotifier, **rules: object) -> Desk:
    preset = attrs.evolve(CAMPUS_HOSTING, scheduling=SchedulingRules(**rules))  # type: ignore[arg-type]
    d = Desk.open(
        url, host=PluginHost(plugins=[notifier], entry_points=False), clock=clock, preset=preset
    )
    d.load_setup(sample_setup())
    return d


@pytest.fixture(params=["memory", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 's.db'}"


@pytest.fixture
def staged(url: str, clock: FixedClock, notifier: RecordingNotifier) -> Iterator[Desk]:
    d = _desk(url, clock, notifier)
    yield d
    d.close()


def _run(desk: Desk, rid: str, *, ok: bool = True) -> None:
    desk.pull(rid)
    desk.start(rid)
    if ok:
        desk.complete(rid)
    else:
        desk.fail(rid, "the staging database did not come back")


def test_staging_then_production_books_both_with_the_soak_and_waits_at_the_gate(
    staged: Desk, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    made = staged.submit_staged("dana", "d1", "E.1505.2", at=datetime(2026, 3, 7, 9))
    assert made.soak == timedelta(days=2)  # the default
    staged.plan_queue(horizon=clock.now + timedelta(days=60))
    st = staged.find(made.staging.id)
    prod = staged.find(made.production.id)
    assert st.status is Status.SCHEDULED and st.scheduled_for == MAR8
    # Production: the first Sunday slot at least two days after staging's slot ends.
    assert prod.status is Status.PENDING_INPUT
    assert prod.scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)
    assert "soak: production waits 2 days after staging" in staged.explain(prod.id).render()
    # The gate holds until staging has completed.
    with pytest.raises(RequestRefused, match="approve production once staging has completed"):
        staged.approve("dana", prod.id)
    clock.now = MAR8 + timedelta(minutes=5)
    _run(staged, st.id)
    approved = staged.approve("dana", prod.id)
    assert approved.status is Status.SCHEDULED and approved.scheduled_for == prod.scheduled_for
    # One ladder of reminders at a time: the approval's, not the schedule's as well.
    pending = {o.key.split(":")[1] for o in staged.storage.outbox(request_id=prod.id)
               if o.kind == "reminder" and o.state is OutboxState.PENDING}  # fmt: skip
    assert pending == {str(approved.revision)}
    events = [h.event for h in staged.history(prod.id)]
    assert events == [Event.SUBMIT, Event.SCHEDULE, Event.ASK_INPUT, Event.APPROVE]
    staged.deliver()
    kinds = [n.kind for n in notifier.delivered if n.request_id == prod.id]
    assert kinds == ["accepted", "scheduled", "input-needed", "scheduled"]


def test_a_failed_staging_releases_production_and_tells_the_contact(
    staged: Desk, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    made = staged.submit_staged("dana", "d1", "E.1505.2", at=datetime(2026, 3, 7, 9))
    staged.plan_queue(horizon=clock.now + timedelta(days=60))
    clock.now = MAR8 + timedelta(minutes=5)
    _run(staged, made.staging.id, ok=False)
    [released] = staged.advance_stages()
    assert released.id == made.production.id and released.status is Status.CANCELLED
    assert "production released" in (released.reason or "")
    staged.deliver()
    told = [n for n in notifier.delivered if n.request_id == made.production.id]
    assert told[-1].kind == "cancelled" and "Unable to Complete" in told[-1].body


def test_the_gate_is_not_a_question_neither_side_may_answer_it(
    staged: Desk, clock: FixedClock
) -> None:
    made = staged.submit_staged("dana", "d1", "E.1505.2", at=datetime(2026, 3, 7, 9))
    staged.plan_queue(horizon=clock.now + timedelta(days=60))
    prod = made.production.id
    with pytest.raises(RequestRefused, match="approve it") as contact:
        staged.answer("dana", prod, "go ahead")
    with pytest.raises(RequestRefused, match="the contact approves it") as provider:
        staged.mark_answered(prod, "Dana said go ahead on the phone", by="ops")
    assert contact.value.rules == provider.value.rules == ("staging",)
    assert staged.find(prod).status is Status.PENDING_INPUT
    assert [h.event for h in staged.history(prod)][-1] is Event.ASK_INPUT


@pytest.mark.parametrize("auto", [False, True], ids=["approved", "auto-approved"])
def test_r15_a_question_after_the_gate_is_a_real_one_both_sides_may_answer(
    url: str, clock: FixedClock, notifier: RecordingNotifier, auto: bool
) -> None:
    """Once approved, staged production has passed its gate: a later question is R15's."""
    desk = _desk(url, clock, notifier, staging=StagingRules(auto_approve=auto))
    made = desk.submit_staged("dana", "d1", "E.1505.2", at=datetime(2026, 3, 7, 9),
                              soak=timedelta(days=1))  # fmt: skip
    prod = made.production.id
    desk.plan_queue(horizon=clock.now + timedelta(days=60))
    clock.now = MAR8 + timedelta(minutes=5)
    _run(desk, made.staging.id)
    if auto:
        clock.advance(timedelta(days=1, minutes=1))
        [approved] = desk.advance_stages()
    else:
        approved = desk.approve("dana", prod)
    assert approved.status is Status.SCHEDULED
    date = approved.scheduled_for
    desk.ask_input(prod, "Which hour suits you best?", by="ops")
    # Not the gate: the planner's pass leaves the question alone, and the contact
    # may neither approve nor decline it as if it were.
    assert desk.advance_stages() == ()
    for confirm in (desk.approve, desk.decline):
        with pytest.raises(InvalidInput, match="not a production update waiting on staging"):
            confirm("dana", prod)
    answered = desk.answer("dana", prod, "any hour")
    assert answered.status is Status.SCHEDULED and answered.scheduled_for == date
    desk.ask_input(prod, "Still fine?", by="ops")
    marked = desk.mark_answered(prod, "Dana phoned: still fine", by="ops")
    assert marked.status is Status.SCHEDULED and marked.scheduled_for == date
    events = [h.event for h in desk.history(prod)]
    assert events[-4:] == [Event.ASK_INPUT, Event.ANSWER, Event.ASK_INPUT, Event.ANSWER]
    desk.close()


def test_the_contact_may_decline_production_after_staging(staged: Desk, clock: FixedClock) -> None:
    made = staged.submit_staged("dana", "d1", "E.1505.2", at=datetime(2026, 3, 7, 9))
    staged.plan_queue(horizon=clock.now + timedelta(days=60))
    r = staged.decline("dana", made.production.id)
    assert r.status is Status.CANCELLED
    # The slot is free again: the next request takes it.
    assert staged.find(made.staging.id).status is Status.SCHEDULED


def test_production_is_approved_automatically_after_the_soak_when_the_provider_says_so(
    url: str, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    desk = _desk(url, clock, notifier, staging=StagingRules(auto_approve=True))
    made = desk.submit_staged("dana", "d1", "E.1505.2", at=datetime(2026, 3, 7, 9),
                              soak=timedelta(days=1))  # fmt: skip
    desk.plan_queue(horizon=clock.now + timedelta(days=60))
    clock.now = MAR8 + timedelta(minutes=5)
    _run(desk, made.staging.id)
    assert desk.advance_stages() == ()  # completed, not soaked yet
    clock.advance(timedelta(days=1, minutes=1))
    [r] = desk.advance_stages()
    assert r.status is Status.SCHEDULED and "approved automatically" in (r.reason or "")
    desk.close()


def test_a_soak_outside_the_providers_limits_is_refused_naming_them(staged: Desk) -> None:
    with pytest.raises(InvalidInput, match="from 1 day, 0:00:00 to 14 days"):
        staged.submit_staged("dana", "d1", "E.1505.2", at=datetime(2026, 3, 7, 9),
                             soak=timedelta(hours=2))  # fmt: skip
    assert list(staged.queue()) == []


def test_a_staged_request_meets_every_rule_of_both_sites(staged: Desk) -> None:
    with pytest.raises(RequestRefused) as info:  # d1 runs E.1450.4: an older pack (R5)
        staged.submit_staged("dana", "d1", "E.1505.1", at=datetime(2026, 3, 7, 9))
    assert "staging: " in str(info.value) and "production/sandbox: " in str(info.value)
    assert list(staged.queue()) == []


def _scheduled(desk: Desk, clock: FixedClock) -> str:
    r = desk.submit("dana", "d1", "staging", None, db_refresh=True, at=datetime(2026, 3, 7, 9))
    desk.plan_queue(horizon=clock.now + timedelta(days=60))
    assert desk.find(r.request.id).scheduled_for == MAR8
    return r.request.id


def test_limited_deferral_next_window_then_days_then_refused_with_the_limit(
    url: str, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    desk = _desk(
        url, clock, notifier, deferral=DeferralRules(per_request=2, max_skip=timedelta(days=10))
    )
    rid = _scheduled(desk, clock)
    r = desk.postpone("dana", rid, next_window=True)
    assert r.scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)
    r = desk.postpone("dana", rid, days=8)
    assert r.scheduled_for == datetime(2026, 3, 29, 9, tzinfo=UTC)
    assert "0 of 2 deferrals left" in (r.reason or "")
    with pytest.raises(
        RequestRefused, match=r"deferred 2 time\(s\) already: at most 2 per request"
    ) as err:
        desk.postpone("dana", rid, days=1)
    (refused,) = err.value.refusals
    german = refusal_text(refused, language("de"))
    assert "bereits 2-mal verschoben" in german and "höchstens 2-mal je Anfrage" in german
    assert refusal_text(refused, Language("en", gettext.NullTranslations())) == refused.message
    with pytest.raises(InvalidInput, match="expected 1 to 10 days"):
        desk.postpone("dana", rid, days=11)
    desk.deliver()
    moved = [n for n in notifier.delivered if n.kind == "date-changed"]
    assert len(moved) == 2 and "deferred by the contact" in moved[0].body
    assert "Reason: deferred by the contact by 8 days (0 of 2 deferrals left)" in moved[1].body
    desk.close()


def test_deferral_is_limited_per_period_and_only_for_scheduled_requests(
    url: str, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    rules = DeferralRules(per_request=None, per_period=1, period=timedelta(days=30))
    desk = _desk(url, clock, notifier, deferral=rules)
    rid = _scheduled(desk, clock)
    desk.postpone("dana", rid, next_window=True)
    with pytest.raises(RequestRefused, match="at most 1 in that period") as err:
        desk.postpone("dana", rid, next_window=True)
    (refused,) = err.value.refusals
    german = refusal_text(refused, language("de"))
    assert "bereits 1-mal verschoben (Zeitraum: 30 Tage)" in german, german
    assert "höchstens 1-mal in diesem Zeitraum" in german
    assert refusal_text(refused, Language("en", gettext.NullTranslations())) == refused.message
    waiting = desk.submit("dana", "d1", "staging", None, db_refresh=True,
                          at=datetime(2026, 4, 4, 9)).request.id  # fmt: skip
    with pytest.raises(TransitionNotAllowed, match="To Be Scheduled"):
        desk.postpone("dana", waiting, days=1)
    desk.close()


def test_advance_notice_tiers_hold_version_updates_and_are_explained(
    url: str, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    tiers = NoticeTiers({"early": timedelta(days=28), "normal": timedelta(days=14)}, "normal",
                        {"d1": "early"})  # fmt: skip
    desk = _desk(url, clock, notifier, notice=tiers)
    version = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 9))
    refresh = desk.submit("sam", "d3", "production/sandbox", None,
                          db_refresh=True, at=datetime(2026, 3, 7, 9))  # fmt: skip
    desk.plan_queue(horizon=clock.now + timedelta(days=90))
    # Early tier: at least 28 calendar days after the scheduled notice (1 March 06:00
    # CST, 12:00 UTC), in the request's zone: 29 March 06:00 CDT, 11:00 UTC (27 days
    # and 23 elapsed hours later), inside that Sunday's window.
    assert desk.find(version.request.id).scheduled_for == datetime(2026, 3, 29, 11, tzinfo=UTC)
    assert desk.find(refresh.request.id).scheduled_for == MAR8  # a refresh is not held
    text = desk.explain(version.request.id).render()
    assert "notice tier 'early': booked at least 28 days after it is announced" in text
    desk.close()


def test_a_scoped_blackout_blocks_version_updates_of_a_group_but_not_refreshes(
    url: str, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    exams = Blackout(
        "exam week", datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 3, 14, tzinfo=UTC),
        kinds="version", group_id="state-x",
    )  # fmt: skip
    desk = _desk(url, clock, notifier, blackouts=(exams,))
    refresh = desk.submit("sam", "d3", "production/sandbox", None, db_refresh=True,
                          at=datetime(2026, 3, 7, 9))  # fmt: skip
    desk.plan_queue(horizon=clock.now + timedelta(days=60))
    assert desk.find(refresh.request.id).scheduled_for == MAR8
    [member] = desk.group_update(
        "state-x", "production/sandbox", "E.1505.2", earliest=datetime(2026, 3, 7, tzinfo=UTC)
    )
    assert member.scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)
    desk.close()


def test_what_if_shows_every_booking_that_would_move_and_stores_nothing(
    staged: Desk, clock: FixedClock, tmp_path: Path
) -> None:
    ids = []
    for _ in range(3):
        clock.advance(timedelta(seconds=1))
        ids.append(staged.submit("dana", "d1", "staging", None, db_refresh=True,
                                 at=datetime(2026, 3, 7, 9)).request.id)  # fmt: skip
    staged.plan_queue(horizon=clock.now + timedelta(days=60))
    late = staged.submit("sam", "d3", "production/sandbox", None, db_refresh=True,
                         at=datetime(2026, 3, 7, 9)).request.id  # fmt: skip
    before = {i: staged.find(i) for i in [*ids, late]}
    outbox = len(staged.storage.outbox())
    # Saturday nights instead, monthly-free: every Saturday 22:00-02:00 Chicago.
    night = RecurringWindow.weekly(["sat"], "22:00", 240, "America/Chicago")
    changed = attrs.evolve(staged.preset, windows=(night,))
    result = staged.what_if(changed, horizon=clock.now + timedelta(days=60))
    moved = {m.request.id: m for m in result.moves}
    assert set(moved) == {*ids, late}
    assert moved[ids[0]].old == MAR8
    assert moved[ids[0]].new == datetime(2026, 3, 8, 4, tzinfo=UTC)  # Sat 22:00 CST
    assert moved[late].old is not None and moved[late].new is not None
    notice = moved[ids[0]].notices[0]
    assert notice.kind == "date-changed" and "The date moved from" in notice.body
    assert moved[late].notices[0].kind == "scheduled"
    assert {i: staged.find(i) for i in [*ids, late]} == before  # nothing stored
    assert len(staged.storage.outbox()) == outbox  # nothing sent


def _cli(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(["--db", str(db), "--now", "2026-03-01T12:00:00Z", *args])
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


SETUP = """
catalog = ["E.1418.2", "E.1450.4", "E.1505.2"]
[provider]
name = "Example"
default_zone = "America/Chicago"
windows = [{ day = "sunday", start = "04:00", end = "09:00" }]
[provider.scheduling.deferral]
per_request = 1
[[tenants]]
id = "d1"
plan = "asp"
sites = [
  { kind = "production", version = "E.1450.4", since = "2026-01-10 06:00" },
  { kind = "staging", version = "E.1418.2", since = "2026-01-10 06:00" },
]
[[contacts]]
id = "dana"
email = "dana@d1.example"
role = "district"
tenants = ["d1"]
"""

WHAT_IF = SETUP.replace(
    'windows = [{ day = "sunday", start = "04:00", end = "09:00" }]',
    'windows = [{ day = "sunday", start = "04:00", end = "09:00" }]\n'
    "[[provider.scheduling.windows]]\n"
    'rrule = "FREQ=MONTHLY;BYDAY=2TU"\nstart = "22:00"\nduration_minutes = 240\n',
)


def test_the_command_line_stages_postpones_and_previews_a_changed_setup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cli.db"
    (tmp_path / "setup.toml").write_text(SETUP)
    (tmp_path / "whatif.toml").write_text(WHAT_IF)
    assert _cli(db, capsys, "init", str(tmp_path / "setup.toml"))[0] == 0
    code, out, _ = _cli(db, capsys, "--json", "stage", "--as", "dana", "--version", "E.1505.2",
                        "--at", "2026-03-07 09:00", "--soak-hours", "48")  # fmt: skip
    assert code == 0
    made = json.loads(out)
    assert made["soak_hours"] == 48 and made["production"]["status"] == "to-be-scheduled"
    assert _cli(db, capsys, "schedule")[0] == 0
    code, out, _ = _cli(db, capsys, "schedule", "--what-if", str(tmp_path / "whatif.toml"))
    assert code == 0
    assert "would move" in out and "nothing stored, nothing sent" in out
    assert "Date changed" in out  # the notice the contact would get
    code, out, _ = _cli(db, capsys, "--json", "show", made["staging"]["id"])
    # Unchanged: 04:00 CDT, written in the provider's zone with its offset.
    assert json.loads(out)["scheduled_for"] == "2026-03-08T04:00:00-05:00"
    code, out, _ = _cli(db, capsys, "postpone", "--as", "dana", made["staging"]["id"],
                        "--next-window")  # fmt: skip
    assert code == 0 and "Scheduled" in out
    code, out, err = _cli(db, capsys, "postpone", "--as", "dana", made["staging"]["id"],
                          "--days", "3")  # fmt: skip
    assert code == 1 and "at most 1 per request" in out + err
    assert "Traceback" not in out + err
    code, out, err = _cli(db, capsys, "schedule", "--what-if", str(tmp_path / "missing.toml"))
    assert code == 5 and len((out + err).strip().splitlines()) == 1


def test_a_bad_scheduling_table_names_the_place_and_what_is_accepted(tmp_path: Path) -> None:
    from siteupdates.errors import ConfigurationError
    from siteupdates.setupfile import load_setup

    bad = SETUP.replace("per_request = 1", "per_request = 1\nper_week = 2")
    (tmp_path / "bad.toml").write_text(bad)
    with pytest.raises(
        ConfigurationError,
        match=r"provider.scheduling.deferral: unknown key 'per_week'; accepted: per_request",
    ):
        load_setup(tmp_path / "bad.toml")
    (tmp_path / "bad2.toml").write_text(WHAT_IF.replace("2TU", "TU"))
    with pytest.raises(
        ConfigurationError, match=r"provider.scheduling.windows\[0\]: .*second Tuesday"
    ):
        load_setup(tmp_path / "bad2.toml")


def test_the_scheduling_table_survives_init_and_reopening(tmp_path: Path) -> None:
    from siteupdates.setupfile import load_setup, stored_preset

    extra = (
        '[provider.scheduling.notice]\ndefault = "normal"\ntiers = { normal = 14 }\n'
        '[[provider.scheduling.blackouts]]\nname = "exams"\nstart = 2026-05-11T00:00:00\n'
        'end = 2026-05-16T00:00:00\nkinds = ["version"]\ntenant = "d1"\n'
    )
    (tmp_path / "s.toml").write_text(WHAT_IF.replace("[[tenants]]", extra + "[[tenants]]", 1))
    setup = load_setup(tmp_path / "s.toml")
    preset = stored_preset(setup.settings)
    assert preset is not None
    assert [str(w) for w in preset.windows] == [
        "monthly on the second Tuesday 22:00 for 4h America/Chicago"
    ]
    assert preset.scheduling.notice.tier_of("d1") == ("normal", timedelta(days=14))
    [b] = preset.scheduling.blackouts
    assert b.scope == "version updates, tenant d1"
    again = stored_preset(json.loads(json.dumps(setup.settings)))
    assert again == preset
