"""R1-R14, R17, R22: each submission rule on its own, then all of them at once."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import attrs
import pytest

from siteupdates.domain import (
    Decision,
    PolicyContext,
    RequestDraft,
    ScheduledTask,
    Site,
    Status,
    Target,
    check_submission,
    evaluate,
    queue_order,
    superseded_by,
)
from siteupdates.domain import policies as p
from siteupdates.domain.model import Version
from siteupdates.errors import AccessDenied, InvalidInput, RequestRefused, UnknownName
from siteupdates.presets import CAMPUS_HOSTING
from tests.factories import CATALOG, NOW, UTC, contact, ctx, district, request

LATER = datetime(2015, 2, 14, 1)  # a Saturday night, local


def draft(
    target: str = "production/sandbox",
    version: str | None = "E.1505.2",
    *,
    db_refresh: bool = False,
    at: datetime = LATER,
) -> RequestDraft:
    return RequestDraft("d1", target, version, db_refresh, at)


def rules(decision: Decision) -> list[str]:
    return [r.rule for r in decision.refusals]


def test_r1_production_and_sandbox_are_one_target() -> None:
    assert Target.parse("production/sandbox").version_sites == ("production", "sandbox")
    with pytest.raises(UnknownName, match="R1"):
        Target.parse("production")


def test_r2_no_target_for_the_sandbox_alone() -> None:
    with pytest.raises(UnknownName) as err:
        Target.parse("sandbox")
    assert "R2" in str(err.value)
    assert "production/sandbox" in err.value.accepted


def test_r2_staging_may_take_a_version_newer_than_production() -> None:
    d = draft("staging", "E.1509.0")
    assert evaluate(ctx(d)).allowed


def test_r3_a_site_kind_the_tenant_lacks_is_refused() -> None:
    asp = district(plan="asp", sites=district().sites[:2])
    decision = p.r3_site_exists(ctx(draft("staging", "E.1505.2"), tenant=asp))
    assert rules(decision) == ["R3"]
    assert "no staging site" in decision.refusals[0].message
    assert p.r3_site_exists(ctx(draft(), tenant=asp)).allowed


def test_r4_a_refresh_copies_production_which_is_needed() -> None:
    no_prod = district(sites=(Site("staging", "E.1418.2", NOW),))
    assert rules(
        p.r4_refresh_copies_production(
            ctx(draft("staging", None, db_refresh=True), tenant=no_prod)
        )
    ) == ["R4"]
    assert p.r4_refresh_copies_production(ctx(draft("staging", None, db_refresh=True))).allowed
    assert Target.PRODUCTION_SANDBOX.refresh_site.value == "sandbox"


def test_r5_an_older_pack_is_refused_naming_the_one_to_choose() -> None:
    decision = p.r5_latest_pack_only(ctx(draft(version="E.1505.1")))
    assert rules(decision) == ["R5"]
    assert decision.refusals[0].suggestion == "E.1505.2"
    assert "choose E.1505.2" in decision.refusals[0].message
    assert p.r5_latest_pack_only(ctx(draft(version="E.1505.2"))).allowed


def test_r6_refresh_only_needs_refresh_yes() -> None:
    assert rules(p.r6_asks_for_something(ctx(draft(version=None)))) == ["R6"]
    assert p.r6_asks_for_something(ctx(draft(version=None, db_refresh=True))).allowed


def test_r7_a_version_not_offered_or_older_is_refused() -> None:
    unknown = p.r7_offered_and_not_older(ctx(draft(version="E.1600.0")))
    assert rules(unknown) == ["R7"] and "E.1505.2" in unknown.refusals[0].message
    older = p.r7_offered_and_not_older(ctx(draft(version="E.1418.2")))
    assert "already runs E.1450.4" in older.refusals[0].message
    same = p.r7_offered_and_not_older(ctx(draft(version="E.1450.4")))
    assert rules(same) == ["R7"]
    assert p.r7_offered_and_not_older(ctx(draft(version="E.1450.4", db_refresh=True))).allowed


def test_r8_a_weekly_updated_tenant_is_warned_about_the_maintenance_window() -> None:
    # 2015-02-15 is a Sunday; 05:00 Central lies in the 04:00-09:00 window.
    d = draft(version=None, db_refresh=True, at=datetime(2015, 2, 15, 5))
    decision = p.r8_weekly_maintenance(ctx(d, tenant=district(plan="cloud")))
    assert decision.allowed
    assert [w.rule for w in decision.warnings] == ["R8"]
    outside = p.r8_weekly_maintenance(
        ctx(draft(version=None, db_refresh=True), tenant=district(plan="cloud"))
    )
    assert outside.warnings == ()
    asp = p.r8_weekly_maintenance(ctx(d, tenant=district(plan="asp")))
    assert asp.warnings == ()


def test_r9_cloud_production_sandbox_may_only_be_a_db_refresh() -> None:
    cloud = district(plan="cloud")
    assert rules(p.r9_cloud_production_refresh_only(ctx(draft(), tenant=cloud))) == ["R9"]
    assert rules(p.r9_cloud_production_refresh_only(ctx(draft(version=None), tenant=cloud))) == [
        "R9"
    ]
    ok = draft(version=None, db_refresh=True)
    assert p.r9_cloud_production_refresh_only(ctx(ok, tenant=cloud)).allowed
    assert p.r9_cloud_production_refresh_only(
        ctx(draft("staging", "E.1505.2"), tenant=cloud)
    ).allowed


def test_r10_group_linked_tenants_request_refreshes_only() -> None:
    linked = district(group_id="state-x")
    assert rules(
        p.r10_groups_update_together(ctx(draft("staging", "E.1505.2"), tenant=linked))
    ) == ["R10"]
    refresh = draft("staging", None, db_refresh=True)
    assert p.r10_groups_update_together(ctx(refresh, tenant=linked)).allowed


def test_r12_the_start_is_read_in_the_contacts_zone() -> None:
    berlin = contact(zone="Europe/Berlin")
    c = ctx(draft(), who=berlin)
    assert c.zone == "Europe/Berlin"
    assert c.start == datetime(2015, 2, 14, 0, tzinfo=UTC)
    assert ctx(draft()).start == datetime(2015, 2, 14, 7, tzinfo=UTC)


def test_r12_a_time_in_the_gap_or_in_the_past_is_refused() -> None:
    gap = ctx(draft(at=datetime(2027, 3, 14, 2, 30)), now=datetime(2027, 1, 1, tzinfo=UTC))
    decision = p.r12_start_in_requester_zone(gap)
    assert rules(decision) == ["R12"] and "02:00 to 03:00" in decision.refusals[0].message
    past = p.r12_start_in_requester_zone(ctx(draft(at=datetime(2015, 1, 1, 9))))
    assert rules(past) == ["R12"] and "has passed" in past.refusals[0].message


def test_r14_a_request_overlapping_a_scheduled_task_names_it() -> None:
    nightly = ScheduledTask("nightly attendance export", time(1, 30), "America/Chicago")
    weekly = ScheduledTask("weekly backup", time(23, 0), "America/Chicago", weekday=0)
    t = district(tasks=(nightly, weekly))
    decision = p.r14_scheduled_tasks(ctx(draft(), tenant=t))
    assert [w.rule for w in decision.warnings] == ["R14"]
    assert "nightly attendance export" in decision.warnings[0].message
    quiet = p.r14_scheduled_tasks(ctx(draft(at=datetime(2015, 2, 14, 10)), tenant=t))
    assert quiet.warnings == ()


def test_r14_a_task_still_running_when_the_update_starts_counts() -> None:
    long = ScheduledTask("grade calc", time(0, 30), "America/Chicago", duration_minutes=60)
    decision = p.r14_scheduled_tasks(ctx(draft(), tenant=district(tasks=(long,))))
    assert "grade calc" in decision.warnings[0].message


def test_r13_the_queue_is_first_come_first_served() -> None:
    a = request("a", requested_at=NOW + timedelta(minutes=2))
    b = request("b", requested_at=NOW)
    c = request("c", requested_at=NOW + timedelta(minutes=1), status="scheduled")
    assert [r.id for r in queue_order([a, b, c])] == ["b", "a"]


def test_r17_a_newer_version_supersedes_the_open_older_one() -> None:
    old = request("old", version="E.1450.4", status="scheduled")
    other_target = request("stg", target="staging", version="E.1450.4")
    started = request("run", version="E.1450.4", status="in-progress")
    assert [
        r.id
        for r in superseded_by(
            Version.parse("E.1505.2"), Target.PRODUCTION_SANDBOX, [old, other_target, started]
        )
    ] == ["old"]
    decision = p.r17_newer_version_supersedes(ctx(draft(), open_requests=(old,)))
    assert decision.allowed and decision.warnings[0].rule == "R17"


def test_r17_asking_for_an_older_version_than_an_open_request_is_refused() -> None:
    newer = request("n", version="E.1509.0")
    decision = p.r17_newer_version_supersedes(ctx(draft(), open_requests=(newer,)))
    assert rules(decision) == ["R17"] and "cancel it first" in decision.refusals[0].message


def test_r22_a_contact_sees_only_connected_tenants_and_learns_nothing_else() -> None:
    stranger = contact(id="c9", tenants={"d2"})
    bad = draft(version="E.0.0", at=datetime(2000, 1, 1))
    decision = evaluate(ctx(bad, who=stranger))
    assert rules(decision) == ["R22"]
    assert "Example District" not in decision.refusals[0].message
    with pytest.raises(AccessDenied):
        check_submission(ctx(bad, who=stranger))
    state = contact(id="s1", role="state", tenants={"d1", "d2"})
    assert evaluate(ctx(draft(), who=state)).allowed


def test_every_refusal_is_returned_at_once() -> None:
    cloud_linked = district(plan="cloud", group_id="state-x")
    d = draft(version="E.1505.1", at=datetime(2015, 1, 2, 9))
    with pytest.raises(RequestRefused) as err:
        check_submission(ctx(d, tenant=cloud_linked))
    assert set(err.value.rules) == {"R5", "R9", "R10", "R12"}


def test_the_source_documents_request_is_allowed() -> None:
    decision = check_submission(ctx(draft()))
    assert decision.allowed
    assert attrs.evolve(request(), status=Status.SCHEDULED).status is Status.SCHEDULED


def test_r9_db_refresh_not_given_is_the_plans_preset() -> None:
    cloud = district(plan="cloud")
    not_given = RequestDraft("d1", "production/sandbox", None, None, LATER)
    assert ctx(not_given, tenant=cloud).db_refresh is True
    assert evaluate(ctx(not_given, tenant=cloud)).allowed
    assert ctx(not_given).db_refresh is False  # cloud-choice: no preset
    said_no = RequestDraft("d1", "production/sandbox", None, False, LATER)
    assert set(rules(evaluate(ctx(said_no, tenant=cloud)))) == {"R6", "R9"}


@pytest.mark.parametrize(
    ("target", "version", "refresh", "expected"),
    [
        ("sandbox", "E.1505.2", None, ["R2"]),
        ("sandbox", None, True, ["R1"]),
        ("production", None, True, ["R4"]),
        ("production", "E.1505.2", False, ["R1"]),
    ],
)
def test_r1_r2_r4_a_site_kind_that_is_no_target_is_refused_with_its_rule(
    target: str, version: str | None, refresh: bool | None, expected: list[str]
) -> None:
    with pytest.raises(RequestRefused) as err:
        RequestDraft("d1", target, version, refresh, LATER)
    assert list(err.value.rules) == expected
    with pytest.raises(UnknownName):
        RequestDraft("d1", "prod", version, refresh, LATER)


def weekly_sandbox_limit() -> Any:
    return attrs.evolve(CAMPUS_HOSTING, refresh_intervals={"sandbox": timedelta(days=7)})


def test_refresh_interval_counts_the_last_refresh_and_the_open_ones() -> None:
    # The factory's sandbox was last refreshed 2014-08-23; one refresh is planned Feb. 10.
    d = RequestDraft("d1", "production/sandbox", None, True, LATER)
    assert p.refresh_interval(ctx(d)).allowed  # off: the preset sets no interval
    planned = request("p1", version=None, db_refresh=True,
                      preferred_start=datetime(2015, 2, 10, 7, tzinfo=UTC))  # fmt: skip
    c = PolicyContext.build(
        contact=contact(), tenant=district(), draft=d, catalog=CATALOG,
        preset=weekly_sandbox_limit(), now=NOW, open_refreshes=(planned,),
    )  # fmt: skip
    decision = p.refresh_interval(c)
    assert rules(decision) == ["REFRESH-INTERVAL"]
    assert "request p1 refreshes it Feb. 10, 2015" in decision.refusals[0].message
    assert "first date allowed is Feb. 17, 2015 1:00 AM CST" in decision.refusals[0].message
    staging = RequestDraft("d1", "staging", None, True, LATER)
    assert p.refresh_interval(attrs.evolve(c, draft=staging)).allowed


def test_an_override_accepts_exactly_the_rules_it_names_and_never_the_structural_ones() -> None:
    decision = evaluate(ctx(draft(version="E.1505.1")))
    assert rules(decision) == ["R5"]
    ok, overridden = p.apply_override(decision, p.Override(["R5"], "agreed"))
    assert ok.allowed and [r.rule for r in overridden] == ["R5"]
    with pytest.raises(InvalidInput, match="R7 does not refuse"):
        p.apply_override(decision, p.Override(["r5", "R7"], "agreed"))
    no_site = evaluate(ctx(draft("preview", "E.1505.2")))
    with pytest.raises(RequestRefused, match="R3 cannot be overridden"):
        p.apply_override(no_site, p.Override(["R3"], "agreed"))
    assert {"R22", "R3", "R17"} <= p.NOT_OVERRIDABLE
    with pytest.raises(InvalidInput, match="reason"):
        p.Override(["R5"], "")
