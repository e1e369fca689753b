"""R8, R10, R13: planning the stored queue, explaining dates, group and weekly updates."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from siteupdates.domain import Catalog, Event, Status
from siteupdates.domain.windows import Blackout
from siteupdates.errors import RequestRefused
from siteupdates.hookspecs import hookimpl
from siteupdates.plugins import PluginHost
from siteupdates.ports import Setup
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, RecordingNotifier

UTC = timezone.utc


def submit(desk: Desk, clock: FixedClock, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        clock.advance(timedelta(seconds=1))  # distinct submission times: a real queue order
        r = desk.submit("sam", "d1", "staging", None, db_refresh=True, at=datetime(2026, 3, 7, 9))
        ids.append(r.request.id)
    return ids


def test_r13_planning_stores_dates_in_submission_order_and_tells_each_contact(
    desk: Desk, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    ids = submit(desk, clock, 3)
    run = desk.plan_queue(horizon=clock.now + timedelta(days=60))
    assert run.stored == tuple(ids)
    reqs = [desk.storage.request(i) for i in ids]
    assert all(r is not None and r.status is Status.SCHEDULED for r in reqs)
    dates = [r.scheduled_for for r in reqs if r is not None]
    # The preset's Sunday window, two 2-hour slots; one tenant runs one update at a time.
    assert dates == [
        datetime(2026, 3, 8, 9, tzinfo=UTC),  # 04:00 CDT, the spring-forward Sunday
        datetime(2026, 3, 8, 11, tzinfo=UTC),
        datetime(2026, 3, 15, 9, tzinfo=UTC),
    ]
    history = desk.history(ids[2])
    assert history[-1].event is Event.SCHEDULE and "position 3" in (history[-1].reason or "")
    desk.deliver()
    scheduled = [n for n in notifier.delivered if n.kind == "scheduled"]
    assert len(scheduled) == 3 and "differs from the time you asked for" in scheduled[0].body
    assert list(desk.queue()) == []


def test_r13_a_dry_run_stores_nothing_and_explain_names_the_requests_ahead(
    desk: Desk, clock: FixedClock
) -> None:
    ids = submit(desk, clock, 3)
    run = desk.plan_queue(dry_run=True)
    assert run.stored == ()
    assert all(r.status is Status.TO_BE_SCHEDULED for r in desk.queue())
    text = desk.explain(ids[2]).render()
    assert "position 3" in text and ids[0] in text and ids[1] in text
    assert "not yet free" in text


def test_blackouts_from_a_calendar_plugin_are_respected(
    tmp_path: object, clock: FixedClock
) -> None:
    class Calendar:
        @hookimpl
        def siteupdates_blackouts(
            self, tenant_id: str | None, start: datetime, end: datetime
        ) -> list[Blackout]:
            if tenant_id is None:
                return [Blackout("spring break", datetime(2026, 3, 7, tzinfo=UTC),
                                 datetime(2026, 3, 9, tzinfo=UTC))]  # fmt: skip
            return []

    from siteupdates.testing import sample_setup

    d = Desk.open(
        "memory://", host=PluginHost(plugins=[Calendar()], entry_points=False), clock=clock
    )
    d.load_setup(sample_setup())
    [rid] = submit(d, clock, 1)
    d.plan_queue()
    r = d.storage.request(rid)
    assert r is not None and r.scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)
    assert "blackout spring break" in d.explain(rid).render()


def test_r13_a_provider_override_keeps_its_reason_in_the_history(
    desk: Desk, clock: FixedClock
) -> None:
    [rid] = submit(desk, clock, 1)
    desk.schedule(rid, datetime(2026, 3, 10, 15, tzinfo=UTC), reason="district asked by phone")
    entry = desk.history(rid)[-1]
    assert entry.event is Event.SCHEDULE and entry.reason == "district asked by phone"
    assert "placed by the provider" in desk.explain(rid).render()


def test_r10_a_group_of_three_gets_one_slot_and_three_requests(
    desk: Desk, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    from siteupdates.domain import Site, Tenant

    members = [
        Tenant(f"g{i}", f"Member {i}", "cloud-choice", group_id="state-x",
               sites=(Site("production", "E.1450.4", clock.now),))
        for i in range(2)
    ]  # fmt: skip
    desk.load_setup(Setup(tenants=tuple(members)))  # with d3: three members
    made = desk.group_update(
        "state-x", "production/sandbox", "E.1505.2", earliest=datetime(2026, 3, 2, tzinfo=UTC)
    )
    assert sorted(r.tenant_id for r in made) == ["d3", "g0", "g1"]
    assert len({r.scheduled_for for r in made}) == 1
    assert len({r.group_plan_id for r in made}) == 1
    desk.pull(made[0].id)
    desk.fail(made[0].id, "disk full")
    statuses = sorted(
        s.status.value for s in (desk.storage.request(r.id) for r in made) if s is not None
    )
    assert statuses == ["scheduled", "scheduled", "unable-to-complete"]
    desk.deliver()
    assert any(n.email == "sam@state.example" for n in notifier.delivered)


def test_r17_a_newer_group_update_supersedes_the_older_waiting_one(
    desk: Desk, clock: FixedClock
) -> None:
    desk.storage.save_setup(Setup(catalog=Catalog.of("E.1509.0")))
    first = desk.group_update("state-x", "production/sandbox", "E.1505.2",
                              earliest=datetime(2026, 3, 2, tzinfo=UTC))  # fmt: skip
    [second] = desk.group_update("state-x", "production/sandbox", "E.1509.0",
                                 earliest=datetime(2026, 3, 2, tzinfo=UTC))  # fmt: skip
    old = desk.storage.request(first[0].id)
    assert old is not None and old.status is Status.NEW_VERSION_REQUESTED
    assert old.superseded_by == second.id
    assert [r.id for r in desk.storage.open_version_updates("d3", second.target)] == [second.id]
    with pytest.raises(RequestRefused) as err:  # an older one than open is refused, not retried
        desk.group_update("state-x", "production/sandbox", "E.1505.2",
                          earliest=datetime(2026, 3, 2, tzinfo=UTC))  # fmt: skip
    assert err.value.rules == ("R17",)


def test_r10_a_group_update_to_an_older_pack_is_refused(desk: Desk) -> None:
    with pytest.raises(RequestRefused) as err:
        desk.group_update("state-x", "production/sandbox", "E.1505.1",
                          earliest=datetime(2026, 3, 2, tzinfo=UTC))  # fmt: skip
    assert err.value.rules == ("R5",)


def test_r8_cloud_tenants_get_the_newest_version_in_the_weekly_window_once(
    desk: Desk, clock: FixedClock
) -> None:
    desk.storage.save_setup(Setup(catalog=Catalog.of("E.1509.0")))
    made = desk.cloud_week(date(2026, 3, 11))
    # d2 is cloud on E.1505.2; d3 is cloud-choice on E.1450.4; d1 is asp.
    assert sorted(r.tenant_id for r in made) == ["d2", "d3"]
    assert {str(r.version) for r in made} == {"E.1509.0"}
    assert {r.scheduled_for for r in made} == {datetime(2026, 3, 15, 9, tzinfo=UTC)}
    assert all(r.automatic and r.status is Status.SCHEDULED for r in made)
    assert desk.cloud_week(date(2026, 3, 11)) == ()
    r = made[0]
    desk.pull(r.id)
    desk.start(r.id)
    desk.complete(r.id)
    tenant = desk.storage.tenant(r.tenant_id)
    assert tenant is not None and tenant.sites[0].automatic
