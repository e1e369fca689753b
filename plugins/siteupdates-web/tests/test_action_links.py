"""Actions from the notice, end to end: real SMTP (aiosmtpd), real Chromium, the real blueprint.

The test reads each link from the mail as a mail client shows it (the decoded
plain-text body), follows it in Chromium: GET shows what it will do and changes
nothing, the button POSTs and acts. A used, stale, forged or other-tenant link
answers the same page as a link that never existed (R22).
"""

from __future__ import annotations

import re
import socket
import threading
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from flask import Flask, session
from test_accessibility import _axe_script, violations
from test_browser import ARGS, CHROMIUM, sync_api
from webtest_support import NOW, PREFIX, SETUP

from siteupdates import Desk, Status
from siteupdates.actionlinks import ActionLinks, actions_for
from siteupdates.builtin.smtp import SmtpNotifier
from siteupdates.plugins import PluginHost
from siteupdates.setupfile import load_setup, stored_preset
from siteupdates_web import mount

aiosmtpd = pytest.importorskip("aiosmtpd.controller")
UTC = timezone.utc
SECRET = "links-test-secret"


class Inbox:
    """Every message the SMTP server accepts."""

    def __init__(self) -> None:
        self.messages: List[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = message_from_bytes(envelope.content, policy=default)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"

    def links(self, subject_start: str) -> Dict[str, str]:
        """The links of the one mail whose subject starts so, by their words."""
        with self.lock:
            (msg,) = [m for m in self.messages if str(m["Subject"]).startswith(subject_start)]
        part = msg.get_body(preferencelist=("plain",))
        assert part is not None
        text = part.get_content()
        return dict(re.findall(r"^([A-Z][^:\r\n]+): (http://\S+)", text, flags=re.M))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Dict[str, Any]]:
    inbox = Inbox()
    smtp = aiosmtpd.Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    clock = [NOW]
    setup = load_setup(SETUP)
    desk = Desk.open(
        "sqlite:///" + str(tmp_path / "links.db"),
        clock=lambda: clock[0],
        preset=stored_preset(setup.settings),
        host=PluginHost(
            plugins=[SmtpNotifier(f"smtp://127.0.0.1:{smtp.port}?from=hosting@example.org")]
        ),
    )
    desk.load_setup(setup)
    port = free_port()
    links = ActionLinks(SECRET, f"http://127.0.0.1:{port}{PREFIX}/act")
    app = Flask("links_host")
    app.secret_key = "host-secret"
    mount(app, contact=lambda: session.get("contact"), desk=desk, url_prefix=PREFIX,
          action_links=links)  # fmt: skip
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"desk": desk, "inbox": inbox, "links": links, "clock": clock,
               "url": f"http://127.0.0.1:{port}"}  # fmt: skip
    finally:
        server.shutdown()
        thread.join(10)
        smtp.stop()
        desk.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_each_notice_carries_the_links_that_fit_its_status() -> None:
    from tests.factories import request

    assert actions_for(request("r", status="to-be-scheduled")) == ("cancel", "open")
    assert actions_for(request("r", status="scheduled",
                               scheduled_for=NOW)) == ("postpone", "cancel", "open")  # fmt: skip
    assert actions_for(request("r", status="in-progress", scheduled_for=NOW)) == ("open",)


def test_a_contact_acts_from_the_mail_once_and_every_bad_link_looks_the_same(
    world: Dict[str, Any], browser: Any
) -> None:
    desk: Desk = world["desk"]
    inbox: Inbox = world["inbox"]
    dana = desk.contact("dana")
    rid = dana.submit("maple", target="production/sandbox", version="E.1505.2",
                      at=datetime(2015, 2, 14, 22)).request.id  # fmt: skip
    desk.provider.schedule(rid, datetime(2015, 2, 15, 4, tzinfo=UTC))
    assert desk.ops.deliver().delivered >= 2  # the two notices (and the calendar entry)
    accepted = inbox.links("Request accepted")
    scheduled = inbox.links("Update scheduled")
    assert set(accepted) == {"Cancel the request", "Open the request"}
    assert set(scheduled) == {"Postpone to the next window", "Cancel the request",
                              "Open the request"}  # fmt: skip

    page = browser.new_context(base_url=world["url"]).new_page()  # nobody signed in
    never = page.goto(world["url"] + PREFIX + "/act/no-such-link")
    assert never is not None and never.status == 404
    nothing_page = page.inner_text("main")

    # GET shows what the link does and changes nothing.
    shown = page.goto(scheduled["Cancel the request"])
    assert shown is not None and shown.status == 200
    sync_api.expect(page.locator("h1")).to_have_text("Cancel the request")
    sync_api.expect(page.locator("main")).to_contain_text(Status.SCHEDULED.meaning)
    assert dana.request(rid).status is Status.SCHEDULED
    # The button POSTs (with the link's CSRF token) and acts.
    page.get_by_role("button", name="Cancel the request").click()
    sync_api.expect(page.locator(".su-notice")).to_contain_text("cancelled")
    assert desk.provider.find(rid).status is Status.CANCELLED

    # Used, stale (made for an earlier revision), forged: the page of no link at all.
    used = scheduled["Cancel the request"]
    stale = accepted["Cancel the request"]
    forged = used[:-3] + ("AAA" if not used.endswith("AAA") else "BBB")
    for bad in (used, stale, forged, scheduled["Postpone to the next window"]):
        resp = page.goto(bad)
        assert resp is not None and resp.status == 404, bad
        assert page.inner_text("main") == nothing_page

    # Another tenant's request, signed with the real secret for Dana (R22).
    sam = (
        desk.contact("sam")
        .submit(
            "birch", target="staging", version=None, db_refresh=True, at=datetime(2015, 2, 20, 22)
        )
        .request
    )
    links: ActionLinks = world["links"]
    theirs = links.url(links.token("dana", sam, "cancel", desk.now()))
    resp = page.goto(theirs)
    assert resp is not None and resp.status == 404
    assert page.inner_text("main") == nothing_page
    # An expired link too.
    rid2 = dana.submit("maple", target="staging", version="E.1505.2",
                       at=datetime(2015, 2, 21, 22)).request.id  # fmt: skip
    old = links.url(links.token("dana", dana.request(rid2), "cancel", desk.now()))
    world["clock"][0] = NOW + links.max_age + timedelta(seconds=1)
    resp = page.goto(old)
    assert resp is not None and resp.status == 404
    assert page.inner_text("main") == nothing_page
    world["clock"][0] = NOW
    assert dana.request(rid2).status is Status.TO_BE_SCHEDULED
    # A POST without the link's CSRF token is refused and changes nothing.
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(old, data=b"answer=x"))
    assert refused.value.code in (400, 404)
    assert dana.request(rid2).status is Status.TO_BE_SCHEDULED


def test_a_question_is_answered_from_the_mail(world: Dict[str, Any], browser: Any) -> None:
    desk: Desk = world["desk"]
    inbox: Inbox = world["inbox"]
    dana = desk.contact("dana")
    rid = dana.submit("maple", target="staging", version="E.1505.2",
                      at=datetime(2015, 2, 14, 22)).request.id  # fmt: skip
    desk.provider.ask_input(rid, "May we restart the cache?")
    desk.ops.deliver()
    found = inbox.links("Input needed")
    assert set(found) == {"Answer the question", "Open the request"}
    page = browser.new_context(base_url=world["url"], bypass_csp=True).new_page()
    page.goto(found["Answer the question"])
    sync_api.expect(page.locator("main")).to_contain_text("May we restart the cache?")
    assert violations(page, _axe_script().read_text(encoding="utf-8")) == []
    page.get_by_label("Your answer").fill("Yes, any time after 10 PM.")
    page.get_by_role("button", name="Answer the question").click()
    sync_api.expect(page.locator(".su-notice")).to_contain_text("Your answer was sent")
    assert violations(page, _axe_script().read_text(encoding="utf-8")) == []
    assert dana.request(rid).status is Status.TO_BE_SCHEDULED
    resp = page.goto(found["Answer the question"])
    assert resp is not None and resp.status == 404  # used
