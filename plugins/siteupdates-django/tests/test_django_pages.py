"""The app through Django's test client: every route, CSRF, R22, permissions, friendly errors."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from django.test import Client

import siteupdates_django
from django_host import PREFIX, open_desk, user
from siteupdates import Desk, Status
from siteupdates_web.pages import ROUTES

UTC = timezone.utc
pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = open_desk(tmp_path / "store.db")
    siteupdates_django.set_desk(d)
    yield d
    siteupdates_django.set_desk(None)
    d.close()


def signed_in(name: str, *, staff: bool = False) -> Client:
    client = Client()
    client.force_login(user(name, staff=staff))
    return client


def token(client: Client, path: str = PREFIX + "/t/maple/requests") -> str:
    """Django's CSRF token from a page the signed-in person may see."""
    html = client.get(path).content.decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def submit_form(**over: str) -> Dict[str, str]:
    form = {
        "key": "k-0123456789", "target": "production/sandbox", "version": "E.1505.2",
        "db_refresh": "no", "date": "2015-02-14", "time": "01:00", "ambiguity": "earlier",
        "action": "submit",
    }  # fmt: skip
    form.update(over)
    return form


def dana_request(desk: Desk) -> str:
    return (
        desk.contact("dana")
        .submit(
            "maple", target="staging", version=None, db_refresh=True, at=datetime(2015, 2, 10, 22)
        )
        .request.id
    )


def sam_request(desk: Desk) -> str:
    return (
        desk.contact("sam")
        .submit(
            "birch", target="staging", version=None, db_refresh=True, at=datetime(2015, 2, 10, 22)
        )
        .request.id
    )


# -- the routes -----------------------------------------------------------------------------


def test_the_app_has_exactly_the_flask_blueprints_routes() -> None:
    from django.urls import get_resolver
    from flask import Flask

    from siteupdates_web import mount

    app = Flask("routes")
    app.secret_key = "x"
    mount(app, contact=lambda: None, desk=lambda: None, url_prefix="/updates")  # type: ignore[arg-type,return-value]
    flask = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", r.rule), r.endpoint.split(".")[-1])
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("siteupdates_web.")
    }
    resolver = get_resolver()
    django = set()
    for name in {r.endpoint for r in ROUTES} | {"static"}:
        ((pattern, _),) = _patterns(resolver, name)
        django.add((PREFIX + "/" + pattern, name))
    assert django == flask


def _patterns(resolver: Any, name: str) -> List[Tuple[str, Any]]:
    sub = resolver.namespace_dict["siteupdates"][1]
    out = []
    for possibility, _pattern, _defaults, _converters in sub.reverse_dict.getlist(name):
        (text, params) = possibility[0]
        out.append((re.sub(r"%\((\w+)\)s", r"<\1>", text), params))
    return out


def test_every_page_renders_for_its_person(desk: Desk) -> None:
    rid = dana_request(desk)
    dana = signed_in("dana", staff=True)
    pages = [
        "/", "/gadget", "/gadget/fragment", "/t/maple/requests", "/t/maple/new",
        f"/t/maple/requests/{rid}", "/calendar.ics", "/provider/", f"/provider/requests/{rid}",
        "/provider/outbox", "/provider/read/queue", "/static/site.css", "/static/site.js",
    ]  # fmt: skip
    for page in pages:
        resp = dana.get(PREFIX + page)
        assert resp.status_code == 200, (page, resp.status_code)
        assert resp["X-Content-Type-Options"] == "nosniff", page
    assert dana.get(PREFIX + "/requests").status_code == 302
    assert b"BEGIN:VCALENDAR" in dana.get(PREFIX + "/calendar.ics").content
    html = dana.get(PREFIX + "/").content.decode()
    assert "Maple Grove District" in html and "Updated 4:39 AM CST" in html
    assert f'href="{PREFIX}/static/site.css"' in html and f'href="{PREFIX}/provider/"' in html


def test_r21_the_gadget_on_the_hosts_own_django_page_and_in_a_frame(desk: Desk) -> None:
    dana = signed_in("dana")
    home = dana.get("/").content.decode()
    assert '<main id=portal><section class="su-gadget' in home.replace("\n", "")
    assert "Updated 4:39 AM CST" in home and f'href="{PREFIX}/t/maple/requests"' in home
    assert Client().get("/").content.decode().endswith("<main id=portal></main>")
    framed = dana.get(PREFIX + "/gadget")
    assert "frame-ancestors 'self'" in framed["Content-Security-Policy"]
    assert "X-Frame-Options" not in framed
    assert dana.get(PREFIX + "/t/maple/requests")["X-Frame-Options"] == "SAMEORIGIN"


def test_a_host_whose_pages_are_jinja_uses_the_one_environment(desk: Desk) -> None:
    from django.template.backends.jinja2 import Jinja2
    from django.test import RequestFactory

    engine = Jinja2({
        "NAME": "host", "DIRS": [], "APP_DIRS": False,
        "OPTIONS": {"environment": "siteupdates_django.jinja.environment"},
    })  # fmt: skip
    request = RequestFactory().get("/")
    request.user = user("dana")
    html = engine.from_string("<main>{{ siteupdates_gadget(request) }}</main>").render({}, request)
    assert "Updated 4:39 AM CST" in html and "&lt;section" not in html
    # The siteupdates templates are found through the host's environment too.
    assert engine.get_template("siteupdates_web/_macros.html") is not None


def test_the_gadget_answers_304_to_the_etag_it_gave(desk: Desk) -> None:
    dana = signed_in("dana")
    first = dana.get(PREFIX + "/")
    again = dana.get(PREFIX + "/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""


# -- the contact's actions -------------------------------------------------------------------


def test_a_contact_submits_moves_and_cancels(desk: Desk) -> None:
    dana = signed_in("dana")
    csrf = token(dana)
    done = dana.post(PREFIX + "/t/maple/new", {**submit_form(), "csrfmiddlewaretoken": csrf})
    assert done.status_code == 303
    assert re.search(r"/t/maple/requests\?notice=submitted&rid=", done["Location"])
    again = dana.post(PREFIX + "/t/maple/new", {**submit_form(), "csrfmiddlewaretoken": csrf})
    assert again["Location"] == done["Location"]  # the idempotency key: one request
    (req,) = desk.contact("dana").requests("maple").items
    listing = dana.get(done["Location"]).content.decode()
    assert "Your request was submitted" in listing and "E.1505.2" in listing

    moved = dana.post(
        PREFIX + f"/t/maple/requests/{req.id}/move",
        {"csrfmiddlewaretoken": csrf, "date": "2015-02-21", "time": "01:00"},
    )
    assert moved.status_code == 303, moved.content.decode()
    assert desk.provider.find(req.id).preferred_start == datetime(2015, 2, 21, 7, tzinfo=UTC)

    confirm = dana.post(
        PREFIX + f"/t/maple/requests/{req.id}/remove", {"csrfmiddlewaretoken": csrf}
    )
    assert confirm.status_code == 200 and "Are you sure" in confirm.content.decode()
    gone = dana.post(
        PREFIX + f"/t/maple/requests/{req.id}/remove",
        {"csrfmiddlewaretoken": csrf, "confirmed": "1"},
    )
    assert gone.status_code == 303 and "notice=cancelled" in gone["Location"]
    assert desk.provider.find(req.id).status is Status.CANCELLED


def test_a_refused_submit_shows_the_rules_beside_the_fields(desk: Desk) -> None:
    dana = signed_in("dana")
    resp = dana.post(
        PREFIX + "/t/maple/new",
        {**submit_form(version="E.1505.1", date="2015-03-08", time="02:30"),
         "csrfmiddlewaretoken": token(dana)},
    )  # fmt: skip
    html = resp.content.decode()
    assert resp.status_code == 422
    assert 'id="err-version"' in html and 'id="err-when"' in html


def test_hide_complete_sticks_in_a_cookie_on_the_apps_path(desk: Desk) -> None:
    dana = signed_in("dana")
    resp = dana.post(
        PREFIX + "/t/maple/hide-complete", {"csrfmiddlewaretoken": token(dana), "hide": "1"}
    )
    cookie = resp.cookies["siteupdates_hide_complete"]
    assert resp.status_code == 302 and cookie.value == "1"
    assert cookie["path"] == PREFIX + "/" and cookie["httponly"] and cookie["samesite"] == "Lax"


def test_the_provider_plans_dry_then_stores_and_works_the_outbox(desk: Desk) -> None:
    rid = dana_request(desk)
    ops = signed_in("staff-ops", staff=True)
    csrf = token(ops, PREFIX + "/provider/")
    dry = ops.post(PREFIX + "/provider/plan", {"csrfmiddlewaretoken": csrf})
    assert dry.status_code == 200 and "Store this plan" in dry.content.decode()
    assert desk.provider.find(rid).status is Status.TO_BE_SCHEDULED
    stored = ops.post(PREFIX + "/provider/plan", {"csrfmiddlewaretoken": csrf, "mode": "store"})
    assert stored.status_code == 200
    assert desk.provider.find(rid).status is Status.SCHEDULED
    moved = ops.post(
        PREFIX + f"/provider/requests/{rid}/defer", {"csrfmiddlewaretoken": csrf, "reason": "wait"}
    )
    assert moved.status_code == 303 and desk.provider.find(rid).status is Status.DEFERRED
    assert desk.provider.history(rid)[-1].by == "staff-ops"
    sent = ops.post(PREFIX + "/provider/outbox/deliver", {"csrfmiddlewaretoken": csrf})
    assert sent.status_code == 303 and "delivered=" in sent["Location"]
    assert "Delivered" in ops.get(sent["Location"]).content.decode()


def test_the_contact_answers_a_question_and_postpones_a_scheduled_update(desk: Desk) -> None:
    rid = dana_request(desk)
    desk.provider.ask_input(rid, "May we restart the web server?", by="ops")
    dana = signed_in("dana")
    csrf = token(dana)
    page = dana.get(PREFIX + f"/t/maple/requests/{rid}").content.decode()
    assert "May we restart the web server?" in page
    empty = dana.post(PREFIX + f"/t/maple/requests/{rid}/answer", {"csrfmiddlewaretoken": csrf})
    assert empty.status_code == 400 and "Write an answer first" in empty.content.decode()
    answered = dana.post(
        PREFIX + f"/t/maple/requests/{rid}/answer", {"csrfmiddlewaretoken": csrf, "answer": "Yes"}
    )
    assert answered.status_code == 303 and "notice=answered" in answered["Location"]
    desk.provider.plan_queue(by="ops")
    assert desk.provider.find(rid).status is Status.SCHEDULED
    detail = dana.get(PREFIX + f"/t/maple/requests/{rid}").content.decode()
    assert "Why this date" in detail
    postponed = dana.post(
        PREFIX + f"/t/maple/requests/{rid}/postpone",
        {"csrfmiddlewaretoken": csrf, "how": "next-window"},
    )
    assert postponed.status_code == 303, postponed.content.decode()
    assert "notice=postponed" in postponed["Location"]


def test_a_signed_action_link_shows_its_button_then_acts_once(desk: Desk, settings: Any) -> None:
    settings.SITEUPDATES = {
        **settings.SITEUPDATES, "ACTION_LINKS": {"BASE_URL": "http://testserver/updates/act"},
    }  # fmt: skip
    siteupdates_django.set_desk(desk)  # the settings changed: the desk stays the tests'
    links = siteupdates_django.store.action_links()
    assert links is not None
    rid = dana_request(desk)
    link = links.token("dana", desk.provider.find(rid), "cancel", desk.now())
    browser = Client(enforce_csrf_checks=True)  # nobody signed in: the link is enough
    shown = browser.get(PREFIX + f"/act/{link}")
    assert shown.status_code == 200 and desk.provider.find(rid).status is Status.TO_BE_SCHEDULED
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', shown.content.decode())
    assert csrf is not None
    done = browser.post(PREFIX + f"/act/{link}", {"csrfmiddlewaretoken": csrf.group(1)})
    assert done.status_code == 200 and desk.provider.find(rid).status is Status.CANCELLED
    again = browser.post(PREFIX + f"/act/{link}", {"csrfmiddlewaretoken": csrf.group(1)})
    forged = browser.get(PREFIX + "/act/forged")
    assert again.status_code == forged.status_code == 404 and again.content == forged.content


# -- CSRF (Django's own) ---------------------------------------------------------------------


def post_routes(desk: Desk) -> List[str]:
    rid = dana_request(desk)
    routes = [
        "/t/maple/new", "/t/maple/hide-complete", f"/t/maple/requests/{rid}/remove",
        f"/t/maple/requests/{rid}/answer", f"/t/maple/requests/{rid}/move",
        f"/t/maple/requests/{rid}/postpone", f"/t/maple/requests/{rid}/approve",
        f"/t/maple/requests/{rid}/decline", "/provider/plan", f"/provider/requests/{rid}/defer",
        "/provider/outbox/deliver", "/provider/outbox/x/retry", "/act/not-a-token",
    ]  # fmt: skip
    posts = {r.rule for r in ROUTES if "POST" in r.methods}
    shapes = {re.sub(r"/(maple|" + rid + r"|x|not-a-token)(?=/|$)", "/<p>", p) for p in routes}
    assert len(shapes) == len(posts), "every POST route is in the list"
    return [PREFIX + p for p in routes]


def test_every_post_is_refused_without_djangos_csrf_token(desk: Desk) -> None:
    dana = Client(enforce_csrf_checks=True)
    dana.force_login(user("dana", staff=True))
    token(dana)  # the CSRF cookie is set; the forms below leave the token out or forge it
    before = desk.contact("dana").requests("maple").total
    for path in post_routes(desk):
        for form in ({}, {"csrfmiddlewaretoken": "forged" * 6}):
            resp = dana.post(path, {**submit_form(), "reason": "x", **form})
            assert resp.status_code == 400, path
            assert "expired or did not come from this site" in resp.content.decode()
            assert resp["X-Content-Type-Options"] == "nosniff"
    assert desk.contact("dana").requests("maple").total == before + 1  # post_routes' own


# -- R22, permissions, errors --------------------------------------------------------------


def contact_routes(t: str, rid: str) -> List[Tuple[str, str]]:
    return [
        ("GET", f"/gadget?tenant={t}"), ("GET", f"/gadget/fragment?tenant={t}"),
        ("GET", f"/?tenant={t}"), ("GET", f"/requests?tenant={t}"), ("GET", f"/t/{t}/requests"),
        ("GET", f"/t/{t}/new"), ("POST", f"/t/{t}/new"), ("POST", f"/t/{t}/hide-complete"),
        ("GET", f"/t/{t}/requests/{rid}"), ("POST", f"/t/{t}/requests/{rid}/remove"),
        ("POST", f"/t/{t}/requests/{rid}/answer"), ("POST", f"/t/{t}/requests/{rid}/move"),
        ("POST", f"/t/{t}/requests/{rid}/postpone"), ("POST", f"/t/{t}/requests/{rid}/approve"),
        ("POST", f"/t/{t}/requests/{rid}/decline"),
    ]  # fmt: skip


def fetch(client: Client, method: str, path: str, csrf: str) -> Tuple[int, bytes]:
    if method == "GET":
        resp = client.get(PREFIX + path)
    else:
        data = {**submit_form(), "csrfmiddlewaretoken": csrf, "confirmed": "1", "answer": "yes",
                "date": "2015-02-21"}  # fmt: skip
        resp = client.post(PREFIX + path, data)
    return resp.status_code, resp.content


def test_r22_another_tenants_ids_answer_byte_for_byte_like_missing_ones(desk: Desk) -> None:
    theirs = sam_request(desk)
    dana = signed_in("dana")
    csrf = token(dana)
    for (method, foreign), (_, missing) in zip(
        contact_routes("birch", theirs), contact_routes("no-such", "no-such")
    ):
        a, b = fetch(dana, method, foreign, csrf), fetch(dana, method, missing, csrf)
        assert a[0] == 404, (method, foreign)
        assert a == b, (method, foreign)
        assert b"Birch" not in a[1]
    for method, path in contact_routes("maple", theirs)[-7:]:
        assert fetch(dana, method, path, csrf) == fetch(
            dana, method, path.replace(theirs, "no-such"), csrf
        )
    assert desk.provider.find(theirs).status is Status.TO_BE_SCHEDULED


def test_the_provider_pages_need_the_permission(desk: Desk) -> None:
    rid = dana_request(desk)
    dana = signed_in("dana")  # a contact without the permission
    missing = dana.get(PREFIX + "/provider/requests/no-such")
    for path in ("/provider/", f"/provider/requests/{rid}", "/provider/outbox",
                 "/provider/read/queue"):  # fmt: skip
        resp = dana.get(PREFIX + path)
        assert resp.status_code == 404 and resp.content == missing.content, path
    resp = dana.post(
        PREFIX + f"/provider/requests/{rid}/fail",
        {"csrfmiddlewaretoken": token(dana), "reason": "no"},
    )
    assert resp.status_code == 404
    assert desk.provider.find(rid).status is Status.TO_BE_SCHEDULED
    assert signed_in("staff-ops", staff=True).get(PREFIX + "/provider/").status_code == 200


def test_nobody_signed_in_is_asked_to_sign_in_and_a_stranger_is_told_plainly(desk: Desk) -> None:
    resp = Client().get(PREFIX + "/t/maple/requests")
    assert resp.status_code == 401 and "Please sign in" in resp.content.decode()
    other = signed_in("nobody").get(PREFIX + "/")
    assert other.status_code == 403 and "not connected" in other.content.decode()


def test_library_input_errors_are_friendly_4xx_pages_never_500(desk: Desk) -> None:
    dana = signed_in("dana", staff=True)
    csrf = token(dana)
    rid = dana_request(desk)
    for method, path, data in [
        ("GET", "/t/maple/requests?page=999999999999", {}),
        ("GET", "/t/maple/requests/%00x", {}),
        ("GET", "/t/maple/requests/" + "x" * 300, {}),
        ("GET", "/t/maple/requests/%20x", {}),
        ("GET", "/provider/requests/%00x", {}),
        ("GET", "/provider/read/queue?limit=-4", {}),
        ("POST", f"/provider/requests/{rid}/schedule",
         {"date": "9999-12-31", "time": "23:30", "zone": "Pacific/Kiritimati"}),
        ("POST", f"/t/maple/requests/{rid}/move", {"date": "9999-12-31", "time": "23:30"}),
    ]:  # fmt: skip
        if method == "GET":
            resp = dana.get(PREFIX + path)
        else:
            resp = dana.post(PREFIX + path, {"csrfmiddlewaretoken": csrf, **data})
        assert 400 <= resp.status_code < 500, (path, resp.status_code)
        assert "Traceback" not in resp.content.decode()


def test_a_wrong_method_is_the_apps_405_page(desk: Desk) -> None:
    resp = signed_in("dana").get(PREFIX + "/provider/plan")
    assert resp.status_code == 405 and "POST" in resp["Allow"]
    assert "cannot be used that way" in resp.content.decode()
    assert resp["X-Content-Type-Options"] == "nosniff"
