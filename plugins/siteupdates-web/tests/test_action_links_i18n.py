"""Issue 27 end to end in German: the mail, the link's page, the button, the used link.

A real SMTP server (aiosmtpd) receives the notice of a contact whose setup-file
locale is German; the test reads the links from the decoded plain-text part as
a mail client shows it, and a real Chromium follows one: the confirmation page
is in German, GET changes nothing, the button acts, and the used link shows the
page of a link that never existed, in the provider's default (German here too).
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from flask import Flask, session
from test_accessibility import _axe_script, violations
from test_action_links import Inbox, free_port
from test_browser import ARGS, CHROMIUM, sync_api
from webtest_support import NOW, PREFIX, SETUP

from siteupdates import Desk, Status
from siteupdates.actionlinks import ActionLinks
from siteupdates.builtin.smtp import SmtpNotifier
from siteupdates.plugins import PluginHost
from siteupdates.setupfile import setup_from_dict, stored_preset
from siteupdates_web import mount

aiosmtpd = pytest.importorskip("aiosmtpd.controller")
UTC = timezone.utc

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the library's own dependency there
    import tomli as tomllib


@pytest.fixture
def german(tmp_path: Path) -> Iterator[Dict[str, Any]]:
    inbox = Inbox()
    smtp = aiosmtpd.Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    data = tomllib.loads(SETUP.read_text(encoding="utf-8"))
    data["provider"]["default_locale"] = "de"
    setup = setup_from_dict(data)  # every contact German: dana has no locale of her own
    desk = Desk.open(
        "sqlite:///" + str(tmp_path / "links-de.db"),
        clock=lambda: NOW,
        preset=stored_preset(setup.settings),
        host=PluginHost(
            plugins=[SmtpNotifier(f"smtp://127.0.0.1:{smtp.port}?from=hosting@example.org")]
        ),
    )
    desk.load_setup(setup)
    port = free_port()
    app = Flask("links_host_de")
    app.secret_key = "host-secret"
    links = ActionLinks("secret-de", f"http://127.0.0.1:{port}{PREFIX}/act")
    mount(app, contact=lambda: session.get("contact"), desk=desk, url_prefix=PREFIX,
          action_links=links)  # fmt: skip
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"desk": desk, "inbox": inbox, "url": f"http://127.0.0.1:{port}"}
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


def test_a_german_contact_cancels_from_the_german_mail_once(
    german: Dict[str, Any], browser: Any
) -> None:
    desk: Desk = german["desk"]
    inbox: Inbox = german["inbox"]
    dana = desk.contact("dana")
    rid = dana.submit("maple", target="production/sandbox", version="E.1505.2",
                      at=datetime(2015, 2, 14, 22)).request.id  # fmt: skip
    desk.provider.schedule(rid, datetime(2015, 2, 15, 4, tzinfo=UTC))
    assert desk.ops.deliver().delivered >= 2
    scheduled = inbox.links("Update geplant")
    assert set(scheduled) == {"Auf das nächste Wartungsfenster verschieben",
                              "Anfrage stornieren", "Anfrage öffnen"}  # fmt: skip
    with inbox.lock:
        (mail,) = [m for m in inbox.messages if str(m["Subject"]).startswith("Update geplant")]
    body = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Geplant für 14. Feb. 2015 um 22:00 CST." in body

    axe = _axe_script().read_text(encoding="utf-8")
    page = browser.new_context(bypass_csp=True).new_page()  # nobody signed in (CSP: axe's)
    shown = page.goto(scheduled["Anfrage stornieren"])
    assert shown is not None and shown.status == 200
    assert page.get_attribute("html", "lang") == "de"
    sync_api.expect(page.locator("h1")).to_have_text("Anfrage stornieren")
    sync_api.expect(page.locator("main")).to_contain_text("Status: Geplant")
    sync_api.expect(page.locator("main")).to_contain_text("geplant für 14. Feb. 2015 22:00 CST")
    assert dana.request(rid).status is Status.SCHEDULED  # GET changed nothing
    page.wait_for_load_state("load")
    assert violations(page, axe) == []
    page.get_by_role("button", name="Anfrage stornieren").click()
    sync_api.expect(page.locator(".su-notice")).to_contain_text("storniert")
    page.wait_for_load_state("load")
    assert violations(page, axe) == []
    assert desk.provider.find(rid).status is Status.CANCELLED

    used = page.goto(scheduled["Anfrage stornieren"])
    assert used is not None and used.status == 404
    sync_api.expect(page.locator("h1")).to_have_text("Nicht gefunden")
    page.wait_for_load_state("load")
    assert violations(page, axe) == []
    never = page.goto(german["url"] + PREFIX + "/act/no-such-link")
    assert never is not None and never.status == 404
