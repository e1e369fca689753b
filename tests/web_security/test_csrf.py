"""CSRF on every state-changing route: tokens bound to the person and the session.

A token is good only in the session it was shown in, for the person it was shown
to, until that session signs in or out. Each test takes a token as a real page
shows it, then tries it where it must be refused, and checks nothing changed;
a fresh token on the same route is not refused (so the refusal was the token's).
"""

from __future__ import annotations

from typing import Callable, List, Tuple

import pytest

from . import world
from .framework import Framework, Route

Snapshot = Tuple[object, ...]


def snapshot(fw: Framework) -> Snapshot:
    """What a state-changing route could change: the requests, their revisions, the outbox."""
    desk = fw.desk
    found: List[object] = []
    for t in (world.TENANT, world.OTHER_TENANT):
        for r in desk.provider.requests(tenant_id=t, limit=200):
            found.append((r.id, r.status, r.revision, r.scheduled_for, r.preferred_start))
    found.append(tuple((i.id, str(i.state), i.attempts) for i in desk.provider.outbox(limit=500)))
    return tuple(found)


def sign_in_as(fw: Framework, route: Route) -> None:
    # A link's page needs no sign-in, but its holder may be signed in: the token
    # of that session must not outlive the sign-in either.
    if route.who in ("contact", "link"):
        fw.sign_in(contact=world.CONTACT)
    elif route.who == "staff":
        fw.sign_in(staff=world.STAFF)


def refused_without_change(fw: Framework, route: Route, token: str) -> None:
    before = snapshot(fw)
    resp = fw.post(route.path, route.data, token)
    assert fw.csrf_refused(resp), (route, resp.status, resp.text[:300])
    assert snapshot(fw) == before, f"{route} changed something with a refused token"


def accepted(fw: Framework, route: Route) -> None:
    resp = fw.post(route.path, route.data, fw.csrf_token(route.page))
    assert not fw.csrf_refused(resp), f"{route}: a fresh token of this session is refused"


def test_every_state_changing_route_is_in_the_suite(framework: Framework) -> None:
    """A route added later cannot be forgotten: the URL config's writers are all tested."""
    covered = {r.endpoint for r in framework.routes()}
    missing = framework.state_changing_endpoints() - covered
    assert not missing, f"state-changing routes without a CSRF test: {sorted(missing)}"
    assert len(framework.routes()) >= 14


def each_route(test: Callable[[Framework, Route], None], framework: Framework) -> None:
    failures = []
    for route in framework.routes():
        try:
            test(framework, route)
        except AssertionError as exc:
            failures.append(f"{route}: {exc}")
        framework.new_session()
    assert not failures, "\n".join(failures)


def test_a_token_of_a_signed_out_session_is_refused_on_every_route(framework: Framework) -> None:
    """Signed out, then back in as the same person: the token from before is worthless."""

    def check(fw: Framework, route: Route) -> None:
        sign_in_as(fw, route)
        old = fw.csrf_token(route.page)
        fw.sign_out()
        refused_without_change(fw, route, old)  # while signed out
        sign_in_as(fw, route)
        refused_without_change(fw, route, old)  # signed in again, same person
        accepted(fw, route)

    each_route(check, framework)


def test_a_token_of_another_session_of_the_same_person_is_refused(framework: Framework) -> None:
    """Two browsers of one person: a token shown in one is refused in the other."""

    def check(fw: Framework, route: Route) -> None:
        sign_in_as(fw, route)
        other_sessions = fw.csrf_token(route.page)
        fw.new_session()
        sign_in_as(fw, route)
        fw.csrf_token(route.page)  # this session has a token of its own
        refused_without_change(fw, route, other_sessions)

    each_route(check, framework)


def test_no_token_or_a_forged_one_is_refused_on_every_route(framework: Framework) -> None:
    def check(fw: Framework, route: Route) -> None:
        sign_in_as(fw, route)
        good = fw.csrf_token(route.page)
        before = snapshot(fw)
        for token in (None, "", good[:-2] + ("AA" if not good.endswith("AA") else "BB"), "x"):
            resp = fw.post(route.path, route.data, token)
            assert fw.csrf_refused(resp), (token, resp.status)
        assert snapshot(fw) == before

    each_route(check, framework)


def test_a_contacts_token_is_refused_for_the_staff_and_back(framework: Framework) -> None:
    """Bound to the person: a sign-in as someone else in the same session makes a new one."""
    contact_route = next(r for r in framework.routes() if r.who == "contact")
    staff_route = next(r for r in framework.routes() if r.who == "staff")
    framework.sign_in(contact=world.CONTACT)
    as_contact = framework.csrf_token(contact_route.page)
    framework.sign_in(staff=world.STAFF)
    refused_without_change(framework, staff_route, as_contact)
    as_staff = framework.csrf_token(staff_route.page)
    framework.sign_in(contact=world.CONTACT)
    refused_without_change(framework, contact_route, as_staff)
    refused_without_change(framework, contact_route, as_contact)


@pytest.mark.parametrize("other", [world.OTHER])
def test_another_contacts_token_is_refused(framework: Framework, other: str) -> None:
    route = next(r for r in framework.routes() if r.who == "contact")
    framework.sign_in(contact=other)
    theirs = framework.csrf_token(f"{framework.prefix}/t/{world.OTHER_TENANT}/requests")
    framework.sign_in(contact=world.CONTACT)
    refused_without_change(framework, route, theirs)
