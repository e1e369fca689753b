"""The submission policies at each edge a surviving mutant of ``policies.py`` moved.

Each test pins what one mutant changed, which the rest of the unit tests let
through (docs/testing.md, "Mutation score"): the suggestion a refusal carries,
the value a bad-input error names, a comparison's exact edge.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, List, Optional, Tuple

import attrs
import pytest

from siteupdates.domain import Actor, RequestDraft, ScheduledTask, apply_event, evaluate
from siteupdates.domain import policies as p
from siteupdates.domain.model import Refusal, SiteKind
from siteupdates.domain.policies import Decision
from siteupdates.errors import InvalidInput, RequestRefused, WrongType
from tests.factories import NOW, ctx, request

PAIR = "production/sandbox"


def _draft(**changes: Any) -> RequestDraft:
    base: dict[str, Any] = dict(
        tenant_id="d1", target=PAIR, version="E.1505.2", db_refresh=False,
        local_start=datetime(2015, 2, 14, 1),
    )  # fmt: skip
    base.update(changes)
    return RequestDraft(**base)


# -- Decision ----------------------------------------------------------------------------------


def test_a_decision_subclass_allows_with_its_own_type() -> None:
    @attrs.frozen
    class Noted(Decision):
        pass

    assert type(Noted.ok()) is Noted and Noted.ok().allowed
    assert Decision.ok() is Decision.ok()  # the shared value, not a copy per rule


# -- R1, R2, R4: a site kind that is no target ---------------------------------------------


@pytest.mark.parametrize(
    ("kind", "version", "refresh", "expected"),
    [
        (SiteKind.SANDBOX, "E.1505.2", False, [("R2", PAIR)]),
        (SiteKind.SANDBOX, None, True, [("R1", PAIR)]),
        (SiteKind.PRODUCTION, "E.1505.2", False, [("R1", PAIR)]),
        (SiteKind.PRODUCTION, None, True, [("R4", None)]),
        (SiteKind.PRODUCTION, "E.1505.2", True, [("R1", PAIR), ("R4", None)]),
        (SiteKind.PRODUCTION, None, False, [("R1", PAIR)]),
    ],
)
def test_r1_r2_r4_a_kind_that_is_no_target_names_every_rule_and_suggests_the_pair(
    kind: SiteKind, version: Any, refresh: bool, expected: List[Tuple[str, Optional[str]]]
) -> None:
    found = p.target_refusals(kind, version, refresh)
    assert [(r.rule, r.suggestion) for r in found] == expected
    assert all(PAIR in r.message for r in found)


def test_r1_a_draft_for_production_alone_is_refused_at_once() -> None:
    with pytest.raises(RequestRefused) as caught:
        _draft(target="production", db_refresh=True)
    assert caught.value.rules == ("R1", "R4")


@pytest.mark.parametrize("flag", ["yes", 1, 0])
def test_r6_a_db_refresh_flag_that_is_no_bool_is_a_wrong_type_naming_it(flag: object) -> None:
    with pytest.raises(WrongType) as caught:
        _draft(db_refresh=flag)
    assert (caught.value.name, caught.value.value) == ("db_refresh", flag)


# -- R12: the preferred start, read in the requester's zone -----------------------------------


def test_r12_a_draft_without_a_start_has_no_start_and_is_refused_for_it() -> None:
    c = ctx(_draft(local_start=None))
    assert c.start is None and c.start_error == "a preferred date and time is required"
    decision = evaluate(c)
    assert ("R12", "a preferred date and time is required") in [
        (r.rule, r.message) for r in decision.refusals
    ]
    assert not decision.warnings


def test_r12_a_fall_back_time_is_read_by_the_drafts_ambiguity_rule() -> None:
    night = datetime(2015, 11, 1, 1, 30)  # occurs twice in Chicago
    earlier = ctx(_draft(local_start=night, ambiguity="earlier")).start
    later = ctx(_draft(local_start=night, ambiguity="later")).start
    assert later is not None and earlier is not None
    assert later - earlier == timedelta(hours=1)


# -- R14: a long task that began days before the update --------------------------------------


def test_r14_a_weekly_task_started_days_before_and_still_running_is_hit() -> None:
    # Monday 00:00, running four days: still running Thursday 2015-02-12 at 01:00.
    task = ScheduledTask("rebuild", time(0), "America/Chicago", weekday=0,
                         duration_minutes=4 * 24 * 60)  # fmt: skip
    start = datetime(2015, 2, 12, 7, tzinfo=NOW.tzinfo)
    assert p.overlapping_tasks((task,), start, timedelta(hours=2)) == (task,)
    assert p.overlapping_tasks((task,), start + timedelta(days=1), timedelta(hours=2)) == ()


# -- refresh interval: how long it is, in words ------------------------------------------------


@pytest.mark.parametrize(
    ("every", "text"),
    [
        (timedelta(days=3), "3 days"),
        (timedelta(days=28), "28 days"),
        (timedelta(days=2), "48 hours"),
        (timedelta(days=3, hours=1), "73 hours"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=12), "12 hours"),
        (timedelta(minutes=90), "1.5 hours"),
    ],
)
def test_refresh_interval_a_span_of_three_whole_days_or_more_is_in_days_else_hours(
    every: timedelta, text: str
) -> None:
    assert p._span(every) == text


# -- R17: which open request a newer version supersedes ---------------------------------------


def test_r17_an_open_request_for_the_same_version_is_not_superseded_but_stands() -> None:
    same = request("r0", version="E.1505.2")
    older = request("r9", version="E.1505.1")
    assert p.superseded_by(same.version, same.target, (same, older)) == (older,)
    decision = p.r17_newer_version_supersedes(ctx(_draft(), open_requests=(same,)))
    assert [r.rule for r in decision.refusals] == ["R17"] and not decision.warnings


# -- R16: cancel ---------------------------------------------------------------------------


def test_r16_a_request_to_be_scheduled_or_scheduled_may_be_cancelled_a_pulled_one_not() -> None:
    queued = request()
    booked, _ = apply_event(queued, "schedule", actor=Actor.PROVIDER, by="ops", at=NOW,
                            date=NOW + timedelta(days=3))  # fmt: skip
    pulled, _ = apply_event(booked, "pull", actor=Actor.PROVIDER, by="w", at=NOW)
    assert p.may_cancel(queued).allowed and p.may_cancel(booked).allowed
    assert [r.rule for r in p.may_cancel(pulled).refusals] == ["R16"]


# -- overrides: which rules, exactly -----------------------------------------------------------


def test_override_rules_given_as_text_are_split_at_commas_trimmed_and_upper_cased() -> None:
    assert p.Override("r5, r9,R5", "agreed").rules == ("R5", "R9")
    assert p.Override("r5 r9", "agreed").rules == ("R5 R9",)


@pytest.mark.parametrize(("rules", "name", "value"), [(5, "rules", 5), (None, "rules", None)])
def test_override_rules_that_are_no_list_are_a_wrong_type(
    rules: object, name: str, value: object
) -> None:
    with pytest.raises(WrongType) as caught:
        p.Override(rules, "agreed")
    assert (caught.value.name, caught.value.value) == (name, value)


@pytest.mark.parametrize("bad", [5, "", "  "])
def test_override_a_rule_that_is_no_text_or_blank_is_a_wrong_type_naming_it(bad: object) -> None:
    with pytest.raises(WrongType) as caught:
        p.Override(["R5", bad], "agreed")
    assert (caught.value.name, caught.value.value) == ("rule", bad)


def test_override_leaves_every_other_refusal_as_it_was() -> None:
    decision = Decision((Refusal("R5", "old pack"), Refusal("R7", "not offered")), ())
    with pytest.raises(RequestRefused) as caught:
        p.apply_override(decision, p.Override(["R5"], "agreed"))
    assert caught.value.refusals == (Refusal("R7", "not offered"),)


def test_override_naming_a_rule_that_does_not_refuse_names_it_and_those_that_do() -> None:
    decision = Decision((Refusal("R5", "old pack"),), ())
    with pytest.raises(InvalidInput) as caught:
        p.apply_override(decision, p.Override(["R5", "R9"], "agreed"))
    assert caught.value.value == ["R9"]
    assert str(caught.value).endswith("refuse it (R5)")
    with pytest.raises(InvalidInput) as none:
        p.apply_override(Decision(), p.Override(["R9"], "agreed"))
    assert str(none.value).endswith("refuse it (none does)")


def test_override_an_accepted_decision_has_no_refusals_and_keeps_its_warnings() -> None:
    warned = Decision((Refusal("R5", "old pack"),), (p.Advisory("R8", "in the window"),))
    accepted, overridden = p.apply_override(warned, p.Override(["R5"], "agreed"))
    assert accepted.refusals == () and accepted.allowed
    assert accepted.warnings == warned.warnings and overridden == warned.refusals


# -- check_submission runs the policies it is given -------------------------------------------


def test_check_submission_runs_only_the_policies_given() -> None:
    old_pack = ctx(_draft(version="E.1505.1"))
    with pytest.raises(RequestRefused):
        p.check_submission(old_pack)
    assert p.check_submission(
        old_pack, (p.r22_contact_sees_tenant, p.r7_offered_and_not_older)
    ).allowed
