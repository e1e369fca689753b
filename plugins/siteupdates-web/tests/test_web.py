"""The blueprint through Flask's test client: CSRF, R22 on every route, idempotent submits."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from webtest_support import PREFIX, ROOT, make_app, open_desk, sign_in, token

from siteupdates import Actor, Desk, Event, HistoryEntry, Status, Target
from siteupdates_web import adapter, forms, mount

UTC = timezone.utc


PG_BASE = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def pg_schema_url() -> Iterator[str]:
    """A URL on a PostgreSQL schema of its own, dropped after; CI requires the server."""
    import psycopg
    from psycopg import sql

    try:
        psycopg.connect(PG_BASE, connect_timeout=3).close()
    except psycopg.Error as exc:
        problem = str(exc).strip().splitlines()[0]
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and not reachable: {problem}")
        pytest.skip(f"no PostgreSQL server ({problem}); start one or set SITEUPDATES_PG_URL")
    schema = f"su_web_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in PG_BASE else "?"
    try:
        yield f"{PG_BASE}{sep}schema={schema}&pool_max=4"
    finally:
        with psycopg.connect(PG_BASE, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    with contextlib.ExitStack() as stack:
        where = (
            tmp_path / "web.db"
            if request.param == "sqlite"
            else stack.enter_context(pg_schema_url())
        )
        d = open_desk(where)
        stack.callback(d.close)
        yield d


@pytest.fixture
def app(desk: Desk) -> Flask:
    return make_app(desk)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def submit_form(**over: str) -> Dict[str, str]:
    form = {
        "key": "k-0123456789",
        "target": "production/sandbox",
        "version": "E.1505.2",
        "db_refresh": "no",
        "date": "2015-02-14",
        "time": "01:00",
        "ambiguity": "earlier",
        "action": "submit",
    }
    form.update(over)
    return form


def sam_request(desk: Desk) -> str:
    """A request of a tenant Dana cannot see (Birch, Sam's)."""
    done = desk.submit(
        "sam", "birch", "staging", None, db_refresh=True, at=datetime(2015, 2, 10, 22)
    )
    return done.request.id


def dana_request(desk: Desk) -> str:
    done = desk.submit(
        "dana", "maple", "staging", None, db_refresh=True, at=datetime(2015, 2, 10, 22)
    )
    return done.request.id


# -- the gadget (R21) -------------------------------------------------------------------------


def test_r21_the_gadget_shows_the_source_documents_overview(client: FlaskClient) -> None:
    sign_in(client, contact="dana")
    page = client.get(PREFIX + "/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Maple Grove District" in html and "Updated 4:39 AM CST" in html
    assert "E.1450.4 - Jan. 10, 2015" in html and "Refresh - Aug. 23, 2014" in html
    assert "E.1418.2 - May. 2, 2014" in html and "Manage Requests" in html


def test_the_fragment_is_embeddable_and_the_frame_may_be_framed(client: FlaskClient) -> None:
    sign_in(client, contact="dana")
    fragment = client.get(PREFIX + "/gadget/fragment").get_data(as_text=True)
    assert "<html" not in fragment and "Updated 4:39 AM CST" in fragment
    framed = client.get(PREFIX + "/gadget")
    assert "frame-ancestors 'self'" in framed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in framed.headers
    other = client.get(PREFIX + "/t/maple/requests")
    assert other.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_r11_a_cloud_choice_tenant_shows_its_automatic_update(client: FlaskClient) -> None:
    sign_in(client, contact="sam")
    html = client.get(PREFIX + "/gadget/fragment?tenant=aspen").get_data(as_text=True)
    assert "E.1450.4 - Jan. 18, 2015 (auto)" in html
    # Sam zone is New York: the overview's time is in it.
    assert "Updated 5:39 AM EST" in html


def test_a_contact_with_several_tenants_is_sent_to_manage_requests(client: FlaskClient) -> None:
    sign_in(client, contact="sam")
    html = client.get(PREFIX + "/").get_data(as_text=True)
    assert "choose one under Manage Requests" in html
    listing = client.get(PREFIX + "/t/cedar/requests").get_data(as_text=True)
    assert '<select id="su-tenant" name="tenant"' in listing
    assert all(name in listing for name in ("Aspen Linked", "Birch Cloud", "Cedar ASP"))
    assert (
        client.get(PREFIX + "/requests?tenant=birch")
        .headers["Location"]
        .endswith("/t/birch/requests")
    )


# -- CSRF -----------------------------------------------------------------------------------


def post_routes(desk: Desk) -> List[str]:
    rid = dana_request(desk)
    return [
        PREFIX + "/t/maple/new",
        PREFIX + "/t/maple/hide-complete",
        PREFIX + f"/t/maple/requests/{rid}/remove",
        PREFIX + f"/t/maple/requests/{rid}/answer",
        PREFIX + f"/t/maple/requests/{rid}/move",
        PREFIX + "/provider/plan",
        PREFIX + f"/provider/requests/{rid}/defer",
        PREFIX + f"/provider/requests/{rid}/answered",
        PREFIX + "/provider/outbox/deliver",
        PREFIX + "/provider/outbox/x/retry",
    ]


def test_every_form_is_refused_without_a_valid_token(client: FlaskClient, desk: Desk) -> None:
    sign_in(client, contact="dana", staff="ops")
    routes = post_routes(desk)
    before = desk.requests("dana", "maple").total
    for path in routes:
        for form in ({}, {"csrf_token": "forged"}, {"csrf_token": ""}):
            resp = client.post(path, data={**submit_form(), "reason": "x", **form})
            assert resp.status_code == 400, path
            assert "expired or did not come from this site" in resp.get_data(as_text=True)
    assert desk.requests("dana", "maple").total == before


def test_a_token_of_another_person_is_refused(app: Flask, desk: Desk) -> None:
    sam = app.test_client()
    sign_in(sam, contact="sam")
    stolen = token(sam, PREFIX + "/t/birch/requests")
    dana = app.test_client()
    sign_in(dana, contact="dana")
    resp = dana.post(PREFIX + "/t/maple/new", data={**submit_form(), "csrf_token": stolen})
    assert resp.status_code == 400
    good = dana.post(PREFIX + "/t/maple/new", data={**submit_form(), "csrf_token": token(dana)})
    assert good.status_code == 303


# -- R22 --------------------------------------------------------------------------------------


def contact_routes(theirs: str, rid: str) -> List[Tuple[str, str]]:
    t = theirs
    return [
        ("GET", PREFIX + f"/gadget?tenant={t}"),
        ("GET", PREFIX + f"/gadget/fragment?tenant={t}"),
        ("GET", PREFIX + f"/?tenant={t}"),
        ("GET", PREFIX + f"/requests?tenant={t}"),
        ("GET", PREFIX + f"/t/{t}/requests"),
        ("GET", PREFIX + f"/t/{t}/new"),
        ("POST", PREFIX + f"/t/{t}/new"),
        ("POST", PREFIX + f"/t/{t}/hide-complete"),
        ("GET", PREFIX + f"/t/{t}/requests/{rid}"),
        ("POST", PREFIX + f"/t/{t}/requests/{rid}/remove"),
        ("POST", PREFIX + f"/t/{t}/requests/{rid}/answer"),
        ("POST", PREFIX + f"/t/{t}/requests/{rid}/move"),
    ]


def fetch(client: FlaskClient, method: str, path: str, csrf: str) -> Tuple[int, str]:
    if method == "GET":
        resp = client.get(path)
    else:
        data = {**submit_form(), "csrf_token": csrf, "confirmed": "1", "answer": "yes",
                "date": "2015-02-21"}  # fmt: skip
        resp = client.post(path, data=data)
    return resp.status_code, resp.get_data(as_text=True)


def test_r22_another_tenants_ids_answer_exactly_like_missing_ones(
    client: FlaskClient, desk: Desk
) -> None:
    theirs = sam_request(desk)
    sign_in(client, contact="dana")
    csrf = token(client)
    for (method, foreign), (_, missing) in zip(
        contact_routes("birch", theirs), contact_routes("no-such", "no-such")
    ):
        a = fetch(client, method, foreign, csrf)
        b = fetch(client, method, missing, csrf)
        assert a[0] == 404, (method, foreign)
        assert a == b, (method, foreign)
        assert "Birch" not in a[1]
    # Another tenant's request under the contact's own tenant: the same 404 again.
    for method, path in contact_routes("maple", theirs)[-4:]:
        assert fetch(client, method, path, csrf) == fetch(
            client, method, path.replace(theirs, "no-such"), csrf
        )
    assert desk.find(theirs).status is Status.TO_BE_SCHEDULED
    assert desk.find(theirs).preferred_start == datetime(2015, 2, 11, 3, tzinfo=UTC)


def test_r22_a_request_is_reachable_only_under_its_own_tenant(
    client: FlaskClient, desk: Desk
) -> None:
    rid = desk.submit(
        "sam", "cedar", "production/sandbox", None, db_refresh=True, at=datetime(2015, 2, 9, 22)
    ).request.id
    sign_in(client, contact="sam")
    assert client.get(PREFIX + f"/t/cedar/requests/{rid}").status_code == 200
    assert client.get(PREFIX + f"/t/birch/requests/{rid}").status_code == 404


def test_provider_screens_answer_404_to_contacts_and_strangers(
    client: FlaskClient, desk: Desk
) -> None:
    rid = dana_request(desk)
    sign_in(client, contact="dana")
    csrf = token(client)
    missing = client.get(PREFIX + "/provider/requests/no-such")
    for path in ("/provider/", f"/provider/requests/{rid}", "/provider/outbox"):
        resp = client.get(PREFIX + path)
        assert resp.status_code == 404
        assert resp.get_data() == missing.get_data()
    resp = client.post(
        PREFIX + f"/provider/requests/{rid}/fail", data={"csrf_token": csrf, "reason": "no"}
    )
    assert resp.status_code == 404
    assert desk.find(rid).status is Status.TO_BE_SCHEDULED


def test_nobody_signed_in_gets_401(client: FlaskClient) -> None:
    resp = client.get(PREFIX + "/t/maple/requests")
    assert resp.status_code == 401 and "Please sign in" in resp.get_data(as_text=True)


def test_a_contact_unknown_to_the_library_is_told_plainly(client: FlaskClient) -> None:
    sign_in(client, contact="nobody")
    resp = client.get(PREFIX + "/")
    assert resp.status_code == 403 and "not connected" in resp.get_data(as_text=True)


# -- submits ----------------------------------------------------------------------------------


def test_a_double_submit_makes_one_request(client: FlaskClient, desk: Desk) -> None:
    sign_in(client, contact="dana")
    csrf = token(client)
    first = client.post(PREFIX + "/t/maple/new", data={**submit_form(), "csrf_token": csrf})
    second = client.post(PREFIX + "/t/maple/new", data={**submit_form(), "csrf_token": csrf})
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert desk.requests("dana", "maple").total == 1
    listing = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Your request was submitted" in listing
    assert "nightly attendance export" in listing  # R14's warning
    assert listing.count('data-request="') == 1


def test_the_form_offers_a_fresh_key_each_time(client: FlaskClient) -> None:
    sign_in(client, contact="dana")
    keys = [
        re.search(r'name="key" value="([^"]+)"', client.get(PREFIX + "/t/maple/new").text)
        for _ in range(2)
    ]
    assert keys[0] and keys[1] and keys[0].group(1) != keys[1].group(1)


def field_errors(html: str) -> Dict[str, str]:
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r'id="err-([a-z_]+)" role="alert">(.*?)</ul>', html, re.S)
    }


def test_r5_r12_refusals_are_shown_beside_their_fields(client: FlaskClient, desk: Desk) -> None:
    sign_in(client, contact="dana")
    form = submit_form(
        target="staging", version="E.1505.1", date="2015-03-08", time="02:30", key="k-older-pack"
    )
    resp = client.post(PREFIX + "/t/maple/new", data={**form, "csrf_token": token(client)})
    assert resp.status_code == 422
    errors = field_errors(resp.text)
    assert "choose E.1505.2" in errors["version"]
    assert "does not exist in America/Chicago" in errors["when"]
    assert desk.requests("dana", "maple").total == 0


def test_r9_a_cloud_tenant_gets_refresh_only(client: FlaskClient, desk: Desk) -> None:
    sign_in(client, contact="sam")
    page = client.get(PREFIX + "/t/birch/new").text
    assert 'data-target="production/sandbox"' not in page  # no version on offer
    assert re.search(r'value="yes"\s+checked', page.replace("\n", " "))  # DB refresh preset
    resp = client.post(
        PREFIX + "/t/birch/new",
        data={
            **submit_form(key="k-cloud-version"),
            "csrf_token": token(client, PREFIX + "/t/birch/requests"),
        },
    )
    assert resp.status_code == 422
    assert "may only be a DB refresh" in field_errors(resp.text)["version"]


def test_a_missing_date_is_named_with_every_other_refusal(client: FlaskClient) -> None:
    sign_in(client, contact="dana")
    form = submit_form(version="", db_refresh="no", date="", key="k-no-date")
    resp = client.post(PREFIX + "/t/maple/new", data={**form, "csrf_token": token(client)})
    errors = field_errors(resp.text)
    assert "Choose a preferred date" in errors["when"]
    assert "DB refresh only needs DB refresh set to yes" in errors["db_refresh"]


def test_check_first_shows_warnings_without_submitting(client: FlaskClient, desk: Desk) -> None:
    sign_in(client, contact="dana")
    form = submit_form(action="check")
    resp = client.post(PREFIX + "/t/maple/new", data={**form, "csrf_token": token(client)})
    assert resp.status_code == 200 and "would be accepted" in resp.text
    assert "nightly attendance export" in resp.text
    assert desk.requests("dana", "maple").total == 0


def test_version_choices_follow_the_rules(desk: Desk) -> None:
    catalog, preset = adapter.catalog(desk), adapter.preset(desk)
    maple = adapter.tenant(desk, "maple")
    birch = adapter.tenant(desk, "birch")
    aspen = adapter.tenant(desk, "aspen")
    cedar = adapter.tenant(desk, "cedar")
    assert maple and birch and aspen and cedar
    got = forms.version_choices(maple, catalog, preset)
    assert [str(v) for v in got[Target.PRODUCTION_SANDBOX]] == ["E.1505.2"]  # R5, R7
    assert [str(v) for v in got[Target.STAGING]] == ["E.1450.4", "E.1505.2"]
    assert forms.version_choices(birch, catalog, preset)[Target.PRODUCTION_SANDBOX] == ()  # R9
    assert all(v == () for v in forms.version_choices(aspen, catalog, preset).values())  # R10
    assert forms.targets_of(cedar) == [Target.PRODUCTION_SANDBOX]  # R3


def test_the_next_spring_forward_gap_is_found() -> None:
    gap = forms.next_gap("America/Chicago", datetime(2015, 2, 2, tzinfo=UTC))
    assert gap is not None
    assert str(gap) == (
        "On Mar. 8, 2015 clocks jump from 02:00 to 03:00; times in between do not exist."
    )
    assert forms.next_gap("UTC", datetime(2015, 2, 2, tzinfo=UTC)) is None


# -- cancel, delete, hide complete -------------------------------------------------------------


def finish(desk: Desk, rid: str) -> None:
    desk.schedule(rid, datetime(2015, 2, 8, 10, tzinfo=UTC))
    desk.pull(rid)
    desk.start(rid)
    desk.complete(rid)


def test_r16_trash_asks_then_cancels_and_a_second_click_changes_nothing(
    client: FlaskClient, desk: Desk
) -> None:
    rid = dana_request(desk)
    sign_in(client, contact="dana")
    path = PREFIX + f"/t/maple/requests/{rid}/remove"
    csrf = token(client)
    ask = client.post(path, data={"csrf_token": csrf, "confirmed": "0"})
    assert "Are you sure that you would like to delete this request?" in ask.text
    assert desk.find(rid).status is Status.TO_BE_SCHEDULED
    for _ in range(2):
        done = client.post(path, data={"csrf_token": csrf, "confirmed": "1"})
        assert done.status_code == 303 and "notice=cancelled" in done.headers["Location"]
    assert desk.find(rid).status is Status.CANCELLED
    assert rid not in client.get(PREFIX + "/t/maple/requests").text


def test_r16_in_progress_is_refused_in_words(client: FlaskClient, desk: Desk) -> None:
    rid = dana_request(desk)
    desk.schedule(rid, datetime(2015, 2, 8, 10, tzinfo=UTC))
    desk.pull(rid)
    desk.start(rid)
    sign_in(client, contact="dana")
    resp = client.post(
        PREFIX + f"/t/maple/requests/{rid}/remove",
        data={"csrf_token": token(client), "confirmed": "1"},
    )
    assert resp.status_code == 409
    assert "work has already begun on your site" in resp.text
    assert desk.find(rid).status is Status.IN_PROGRESS


def test_r18_r19_deleted_and_hidden_completed_requests(client: FlaskClient, desk: Desk) -> None:
    done, kept = dana_request(desk), dana_request(desk)
    finish(desk, done)
    finish(desk, kept)
    sign_in(client, contact="dana")
    csrf = token(client)
    for _ in range(2):  # a double click on delete
        resp = client.post(
            PREFIX + f"/t/maple/requests/{done}/remove",
            data={"csrf_token": csrf, "confirmed": "1"},
        )
        assert resp.status_code == 303 and "notice=deleted" in resp.headers["Location"]
    assert desk.find(done).status is Status.DELETED
    listing = client.get(PREFIX + "/t/maple/requests").text
    assert done not in listing and kept in listing
    client.post(PREFIX + "/t/maple/hide-complete", data={"csrf_token": csrf, "hide": ["0", "1"]})
    hidden = client.get(PREFIX + "/t/maple/requests").text
    assert kept not in hidden and "data-autosubmit checked" in hidden  # sticks
    client.post(PREFIX + "/t/maple/hide-complete", data={"csrf_token": csrf, "hide": "0"})
    assert kept in client.get(PREFIX + "/t/maple/requests").text


def test_a_pending_input_request_can_be_answered(client: FlaskClient, desk: Desk) -> None:
    rid = dana_request(desk)
    desk.ask_input(rid, "Which term's data should the copy hold?")
    sign_in(client, contact="dana")
    page = client.get(PREFIX + f"/t/maple/requests/{rid}").text
    assert "Which term&#39;s data should the copy hold?" in page
    resp = client.post(
        PREFIX + f"/t/maple/requests/{rid}/answer",
        data={"csrf_token": token(client), "answer": "Fall term"},
    )
    assert resp.status_code == 303
    assert desk.find(rid).status is Status.TO_BE_SCHEDULED


def staged_at_its_gate(desk: Desk) -> str:
    """A staged production update, planned: Pending Input at its gate, waiting for approval."""
    made = desk.submit_staged("dana", "maple", "E.1505.2", at=datetime(2015, 2, 10, 22))
    desk.plan_queue()
    assert desk.find(made.production.id).status is Status.PENDING_INPUT
    return made.production.id


def test_a_staged_production_at_its_gate_is_not_answered_in_words_and_says_why(
    client: FlaskClient, desk: Desk
) -> None:
    prod = staged_at_its_gate(desk)
    sign_in(client, contact="dana")
    resp = client.post(
        PREFIX + f"/t/maple/requests/{prod}/answer",
        data={"csrf_token": token(client), "answer": "go ahead"},
    )
    # The refusal in words on the page, not a server error.
    assert resp.status_code == 400 and "waits for its staging update" in resp.text
    assert desk.find(prod).status is Status.PENDING_INPUT


def test_an_answer_of_two_lines_is_refused_in_words(client: FlaskClient, desk: Desk) -> None:
    rid = dana_request(desk)
    desk.ask_input(rid, "Which term?")
    sign_in(client, contact="dana")
    resp = client.post(
        PREFIX + f"/t/maple/requests/{rid}/answer",
        data={"csrf_token": token(client), "answer": "Fall\nterm"},
    )
    assert resp.status_code == 400 and "cannot be sent" in resp.text
    assert desk.find(rid).status is Status.PENDING_INPUT


# -- provider ---------------------------------------------------------------------------------


def test_r13_plan_dry_run_then_store_then_move_with_a_reason(
    client: FlaskClient, desk: Desk
) -> None:
    rid = desk.submit(
        "dana", "maple", "production/sandbox", "E.1505.2", at=datetime(2015, 2, 14, 1)
    ).request.id
    sign_in(client, staff="ops")
    csrf = token(client, PREFIX + "/provider/")
    assert rid in client.get(PREFIX + "/provider/?tenant=maple").text
    dry = client.post(PREFIX + "/provider/plan", data={"csrf_token": csrf, "mode": "preview"})
    assert "dry run" in dry.text and "Feb. 15, 2015 4:00 AM CST" in dry.text
    assert desk.find(rid).status is Status.TO_BE_SCHEDULED
    stored = client.post(PREFIX + "/provider/plan", data={"csrf_token": csrf, "mode": "store"})
    assert "1 request scheduled" in stored.text
    assert desk.find(rid).status is Status.SCHEDULED
    move = PREFIX + f"/provider/requests/{rid}/reschedule"
    base = {"csrf_token": csrf, "date": "2015-02-22", "time": "04:00", "zone": "America/Chicago"}
    no_reason = client.post(move, data=base)
    assert no_reason.status_code == 422 and "Give a reason" in no_reason.text
    gap = client.post(move, data={**base, "time": "02:30", "date": "2015-03-08", "reason": "x"})
    assert "does not exist" in gap.text
    ok = client.post(move, data={**base, "reason": "a storage upgrade that night"})
    assert ok.status_code == 303
    assert desk.find(rid).scheduled_for == datetime(2015, 2, 22, 10, tzinfo=UTC)
    page = client.get(ok.headers["Location"]).text
    assert "The date was moved" in page and "a storage upgrade that night" in page


def test_provider_ask_defer_resume_fail(client: FlaskClient, desk: Desk) -> None:
    rid = dana_request(desk)
    sign_in(client, staff="ops")
    csrf = token(client, PREFIX + "/provider/")
    act = PREFIX + f"/provider/requests/{rid}/"
    assert (
        client.post(act + "defer", data={"csrf_token": csrf, "reason": "hold"}).status_code == 303
    )
    assert desk.find(rid).status is Status.DEFERRED
    assert client.post(act + "resume", data={"csrf_token": csrf}).status_code == 303
    assert client.post(act + "ask", data={"csrf_token": csrf, "reason": "Which term?"}).status_code
    assert desk.find(rid).status is Status.PENDING_INPUT
    refused = client.post(act + "reschedule", data={"csrf_token": csrf, "reason": "x",
                          "date": "2015-02-22", "time": "04:00"})  # fmt: skip
    assert refused.status_code == 409
    fail = client.post(act + "fail", data={"csrf_token": csrf, "reason": "no backup space"})
    assert fail.status_code == 303
    assert desk.find(rid).status is Status.UNABLE_TO_COMPLETE
    assert client.post(act + "nonsense", data={"csrf_token": csrf}).status_code == 404


def asked(desk: Desk) -> str:
    """Dana's request, on which the provider asked a question: Pending Input."""
    rid = dana_request(desk)
    desk.ask_input(rid, "Which term's data should the copy hold?", by="ops")
    return rid


def answered_entries(desk: Desk, rid: str) -> List[HistoryEntry]:
    return [h for h in desk.history(rid) if h.event is Event.ANSWER]


def test_r20_the_provider_marks_a_question_answered_and_the_contact_sees_it_queued(
    app: Flask, desk: Desk
) -> None:
    rid = asked(desk)
    ops = app.test_client()
    sign_in(ops, staff="ops")
    page = ops.get(PREFIX + f"/provider/requests/{rid}").text
    assert f'action="{PREFIX}/provider/requests/{rid}/answered"' in page
    assert '<label for="reason-answered">Note: how the contact answered' in page
    resp = ops.post(
        PREFIX + f"/provider/requests/{rid}/answered",
        data={"csrf_token": token(ops, PREFIX + "/provider/"), "reason": "Dana phoned: fall term"},
    )
    assert resp.status_code == 303 and resp.headers["Location"].endswith("?done=answered")
    done = ops.get(resp.headers["Location"]).text
    assert "The question is marked answered" in done and "Dana phoned: fall term" in done
    assert "/answered" not in done  # no longer Pending Input: the form is gone
    [entry] = answered_entries(desk, rid)
    assert (entry.actor, entry.by, entry.reason) == (
        Actor.PROVIDER,
        "ops",
        "Dana phoned: fall term",
    )
    dana = app.test_client()
    sign_in(dana, contact="dana")
    row = re.search(rf'data-request="{rid}".*?</tr>', dana.get(PREFIX + "/t/maple/requests").text,
                    re.S)  # fmt: skip
    assert row and "To Be Scheduled" in row.group(0)


def test_mark_answered_is_offered_only_while_pending_input(
    client: FlaskClient, desk: Desk
) -> None:
    rid = dana_request(desk)
    sign_in(client, staff="ops")
    detail = PREFIX + f"/provider/requests/{rid}"
    assert "/answered" not in client.get(detail).text
    desk.ask_input(rid, "Which term?")
    assert f"{rid}/answered" in client.get(detail).text


def test_mark_answered_needs_a_valid_token(app: Flask, desk: Desk) -> None:
    rid = asked(desk)
    ops = app.test_client()
    sign_in(ops, staff="ops")
    sam = app.test_client()
    sign_in(sam, contact="sam")
    path = PREFIX + f"/provider/requests/{rid}/answered"
    for csrf in (None, "", "forged", token(sam, PREFIX + "/t/birch/requests")):
        form = (
            {"reason": "by phone"} if csrf is None else {"reason": "by phone", "csrf_token": csrf}
        )
        resp = ops.post(path, data=form)
        assert resp.status_code == 400, csrf
        assert "expired or did not come from this site" in resp.text
    assert desk.find(rid).status is Status.PENDING_INPUT and answered_entries(desk, rid) == []


def test_r22_mark_answered_answers_404_to_a_contact_as_for_a_missing_request(
    client: FlaskClient, desk: Desk
) -> None:
    # The provider routes are scoped by staff, not by tenant: the request's own
    # contact gets exactly the 404 that a request that does not exist gets.
    rid = asked(desk)
    sign_in(client, contact="dana")
    csrf = token(client)
    form = {"csrf_token": csrf, "reason": "I answer myself"}
    theirs = client.post(PREFIX + f"/provider/requests/{rid}/answered", data=form)
    missing = client.post(PREFIX + "/provider/requests/no-such/answered", data=form)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_data() == missing.get_data() and rid not in theirs.text
    assert desk.find(rid).status is Status.PENDING_INPUT and answered_entries(desk, rid) == []


def test_mark_answered_for_an_unknown_request_is_the_pages_404(
    client: FlaskClient, desk: Desk
) -> None:
    sign_in(client, staff="ops")
    csrf = token(client, PREFIX + "/provider/")
    resp = client.post(
        PREFIX + "/provider/requests/no-such/answered", data={"csrf_token": csrf, "reason": "x"}
    )
    assert resp.status_code == 404
    assert resp.get_data() == client.get(PREFIX + "/provider/requests/no-such").get_data()


def test_mark_answered_without_a_note_is_422_beside_the_field(
    client: FlaskClient, desk: Desk
) -> None:
    rid = asked(desk)
    sign_in(client, staff="ops")
    csrf = token(client, PREFIX + "/provider/")
    for note in ("", "   "):
        resp = client.post(
            PREFIX + f"/provider/requests/{rid}/answered",
            data={"csrf_token": csrf, "reason": note},
        )
        assert resp.status_code == 422
        form = resp.text.split(f"{rid}/answered", 1)[1].split("</form>", 1)[0]
        assert "Say how the contact answered" in field_errors(form)["reason"]
    assert desk.find(rid).status is Status.PENDING_INPUT and answered_entries(desk, rid) == []


def test_mark_answered_when_not_pending_input_is_409_in_words(
    client: FlaskClient, desk: Desk
) -> None:
    rid = dana_request(desk)
    sign_in(client, staff="ops")
    resp = client.post(
        PREFIX + f"/provider/requests/{rid}/answered",
        data={"csrf_token": token(client, PREFIX + "/provider/"), "reason": "by phone"},
    )
    assert resp.status_code == 409
    alert = re.search(r'class="su-alert" role="alert">(.*?)</div>', resp.text, re.S)
    assert alert and "cannot answer request" in alert.group(1)
    assert "it is To Be Scheduled" in alert.group(1)
    assert desk.find(rid).status is Status.TO_BE_SCHEDULED and answered_entries(desk, rid) == []


def test_a_double_submit_of_mark_answered_makes_one_history_entry(
    client: FlaskClient, desk: Desk
) -> None:
    rid = asked(desk)
    sign_in(client, staff="ops")
    form = {"csrf_token": token(client, PREFIX + "/provider/"), "reason": "Dana phoned"}
    path = PREFIX + f"/provider/requests/{rid}/answered"
    first, second = client.post(path, data=form), client.post(path, data=form)
    assert first.status_code == 303
    assert second.status_code == 409 and "it is To Be Scheduled" in second.text
    assert len(answered_entries(desk, rid)) == 1
    assert len(desk.history(rid)) == 3  # submit, ask-input, answer


def test_staged_production_at_its_gate_is_not_marked_answered(
    client: FlaskClient, desk: Desk
) -> None:
    prod = staged_at_its_gate(desk)
    sign_in(client, staff="ops")
    resp = client.post(
        PREFIX + f"/provider/requests/{prod}/answered",
        data={"csrf_token": token(client, PREFIX + "/provider/"), "reason": "go ahead"},
    )
    assert resp.status_code == 409 and "the contact approves it" in resp.text
    assert desk.find(prod).status is Status.PENDING_INPUT and answered_entries(desk, prod) == []


def test_outbox_lists_delivers_and_retries(client: FlaskClient, desk: Desk) -> None:
    dana_request(desk)
    sign_in(client, staff="ops")
    csrf = token(client, PREFIX + "/provider/")
    page = client.get(PREFIX + "/provider/outbox?state=pending").text
    item = re.search(r"/provider/outbox/([0-9a-f]+)/retry", page)
    assert item, page
    retried = client.post(PREFIX + f"/provider/outbox/{item.group(1)}/retry",
                          data={"csrf_token": csrf})  # fmt: skip
    assert "delivered" in client.get(retried.headers["Location"]).text
    resp = client.post(PREFIX + "/provider/outbox/deliver", data={"csrf_token": csrf})
    assert "Delivered" in client.get(resp.headers["Location"]).text
    assert client.post(PREFIX + "/provider/outbox/nope/retry",
                       data={"csrf_token": csrf}).status_code == 404  # fmt: skip


# -- errors and mounting ----------------------------------------------------------------------


def test_a_crash_is_a_friendly_page_with_nothing_leaked(tmp_path: Path) -> None:
    def broken() -> Desk:
        raise RuntimeError("password=hunter2 at /srv/secret.db")

    app = Flask("crashing")
    app.secret_key = "s"
    mount(app, contact=lambda: "dana", desk=broken, url_prefix="/u")
    resp = app.test_client().get("/u/t/maple/requests")
    assert resp.status_code == 500
    assert "Something went wrong" in resp.text
    assert "hunter2" not in resp.text and "Traceback" not in resp.text


def test_without_a_secret_the_host_is_told_what_to_set(desk: Desk) -> None:
    app = Flask("no_secret")
    mount(app, contact=lambda: "dana", desk=lambda: desk, url_prefix="/u")
    resp = app.test_client().get("/u/t/maple/requests")
    assert resp.status_code == 500  # the host's mistake, logged with the fix


def test_two_mounts_live_side_by_side(desk: Desk) -> None:
    app = make_app(desk)
    mount(app, contact=lambda: "sam", desk=desk, url_prefix="/other", name="second")
    client = app.test_client()
    assert "choose one under Manage Requests" in client.get("/other/").text


def test_the_example_portal_starts_and_signs_in(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "portal_app", ROOT / "examples" / "portal" / "app.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app = module.create_app(url="sqlite:///" + str(tmp_path / "portal.db"))
    client = app.test_client()
    assert "Dana Reyes" in client.get("/").text
    client.post("/", data={"who": "contact:dana"})
    assert "Updated 4:39 AM CST" in client.get("/updates/").text
    client.post("/", data={"who": "staff:provider"})
    assert client.get("/updates/provider/").status_code == 200


@pytest.mark.parametrize("path", ["/static/site.css", "/static/site.js"])
def test_static_files_are_served_from_the_blueprint(client: FlaskClient, path: str) -> None:
    assert client.get(PREFIX + path).status_code == 200


# -- the contact's reschedule, explanation and calendar feed ------------------------------------


def move_form(client: FlaskClient, day: str, clock: str = "22:00") -> Dict[str, str]:
    return {"csrf_token": token(client), "date": day, "time": clock}


def test_a_contact_moves_their_preferred_date_before_the_cutoff(
    client: FlaskClient, desk: Desk
) -> None:
    rid = dana_request(desk)
    sign_in(client, contact="dana")
    page = client.get(PREFIX + f"/t/maple/requests/{rid}").text
    assert "Change your preferred date" in page
    resp = client.post(
        PREFIX + f"/t/maple/requests/{rid}/move", data=move_form(client, "2015-02-20")
    )
    assert resp.status_code == 303 and "notice=moved" in resp.headers["Location"]
    # 22:00 in Dana's zone (Chicago, CST) is 04:00 UTC the next day.
    assert desk.find(rid).preferred_start == datetime(2015, 2, 21, 4, tzinfo=UTC)
    again = client.post(
        PREFIX + f"/t/maple/requests/{rid}/move", data=move_form(client, "2015-02-20")
    )
    assert again.status_code == 303 and desk.find(rid).status is Status.TO_BE_SCHEDULED


def test_cutoff_a_move_too_close_to_the_scheduled_start_is_refused_in_words(
    client: FlaskClient, desk: Desk
) -> None:
    rid = dana_request(desk)
    soon = datetime(2015, 2, 3, 10, tzinfo=UTC)  # within the 48 hours before it starts
    desk.schedule(rid, soon)
    sign_in(client, contact="dana")
    resp = client.post(
        PREFIX + f"/t/maple/requests/{rid}/move", data=move_form(client, "2015-02-20")
    )
    assert resp.status_code == 400 and "ask the provider to move it" in resp.text
    assert desk.find(rid).scheduled_for == soon and desk.find(rid).status is Status.SCHEDULED
    bad = client.post(
        PREFIX + f"/t/maple/requests/{rid}/move", data=move_form(client, "2015-02-30")
    )
    assert bad.status_code == 400 and "not a date and time on the calendar" in bad.text


def test_the_request_page_explains_the_date_to_the_contact(
    client: FlaskClient, desk: Desk
) -> None:
    rid = dana_request(desk)
    sam_request(desk)
    lines = desk.explain_to("dana", rid).lines
    sign_in(client, contact="dana")
    page = client.get(PREFIX + f"/t/maple/requests/{rid}").text
    assert "Why this date" in page and lines
    assert all(escape(line) in page for line in lines)
    assert "Birch" not in page  # R22: nothing of another tenant in the explanation


def test_r22_the_calendar_feed_holds_the_contacts_tenants_only(
    client: FlaskClient, desk: Desk
) -> None:
    icalendar = pytest.importorskip("icalendar")
    mine, theirs = dana_request(desk), sam_request(desk)
    desk.schedule(mine, datetime(2015, 2, 11, 4, tzinfo=UTC))
    desk.schedule(theirs, datetime(2015, 2, 11, 4, tzinfo=UTC))
    assert client.get(PREFIX + "/calendar.ics").status_code == 401
    sign_in(client, contact="dana")
    assert "/calendar.ics" in client.get(PREFIX + f"/t/maple/requests/{mine}").text
    resp = client.get(PREFIX + "/calendar.ics")
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    events = list(icalendar.Calendar.from_ical(resp.data).walk("VEVENT"))
    assert [str(e["UID"]) for e in events] == [f"{mine}@siteupdates"]
    assert theirs.encode() not in resp.data and b"Birch" not in resp.data
    assert [a.decoded("TRIGGER") for a in events[0].walk("VALARM")]  # the reminder ladder


def test_without_the_calendar_plugin_there_is_no_feed(
    client: FlaskClient, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = dana_request(desk)
    monkeypatch.setitem(sys.modules, "siteupdates_ical", None)
    sign_in(client, contact="dana")
    assert client.get(PREFIX + "/calendar.ics").status_code == 404
    assert "/calendar.ics" not in client.get(PREFIX + f"/t/maple/requests/{rid}").text


def test_a_cancelled_request_stays_in_the_web_feed_as_cancelled_with_a_higher_sequence(
    client: FlaskClient, desk: Desk
) -> None:
    icalendar = pytest.importorskip("icalendar")
    mine = dana_request(desk)
    desk.provider.schedule(mine, datetime(2015, 2, 11, 4, tzinfo=UTC))
    sign_in(client, contact="dana")
    before = icalendar.Calendar.from_ical(client.get(PREFIX + "/calendar.ics").data)
    desk.contact("dana").cancel(mine)
    after = icalendar.Calendar.from_ical(client.get(PREFIX + "/calendar.ics").data)
    (old,) = [e for e in before.walk("VEVENT") if str(e["UID"]) == f"{mine}@siteupdates"]
    (new,) = [e for e in after.walk("VEVENT") if str(e["UID"]) == f"{mine}@siteupdates"]
    assert str(new["STATUS"]) == "CANCELLED"
    assert int(new["SEQUENCE"]) > int(old.get("SEQUENCE", 0))
