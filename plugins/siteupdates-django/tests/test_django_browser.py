"""The source document's steps under Django, in a real browser (headless Chromium, Playwright).

The test project (:mod:`django_host`) runs on pytest-django's live server (a
real HTTP server in a thread) over a SQLite store; people sign in through
Django's sessions and post Django's CSRF tokens. Chromium comes from the
system's packages (``/usr/bin/chromium`` or ``$SITEUPDATES_CHROMIUM``); without
it, or without Playwright, the test skips saying why.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, List

import pytest

import siteupdates_django
from django_host import PREFIX, open_desk
from siteupdates import Desk

UTC = timezone.utc
CHROMIUM = (
    os.environ.get("SITEUPDATES_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="Playwright for Python is not installed (pip install 'siteupdates-django[test]')",
)
if not Path(CHROMIUM).exists():  # pragma: no cover - CI installs it
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install the system package (apt-get install chromium) "
        "or set SITEUPDATES_CHROMIUM",
        allow_module_level=True,
    )


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    """Dana's history: one staging refresh completed, one In Progress (as in the Flask walk)."""
    d = open_desk(tmp_path / "store.db")
    for day, finish in ((3, True), (5, False)):
        rid = d.contact("dana").submit(
            "maple", target="staging", version=None, db_refresh=True,
            at=datetime(2015, 2, day, 22),
        ).request.id  # fmt: skip
        d.provider.schedule(rid, datetime(2015, 2, day + 1, 10, tzinfo=UTC))
        d.provider.pull(rid)
        d.provider.start(rid)
        if finish:
            d.provider.complete(rid)
    siteupdates_django.set_desk(d)
    yield d
    siteupdates_django.set_desk(None)
    d.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def ready(page: Any) -> None:
    """Wait for the page's script: a click right after a navigation may come before it."""
    page.wait_for_load_state("load")
    page.wait_for_function("document.documentElement.classList.contains('js')")


def fill_request(page: Any, target: str, date: str, time: str) -> None:
    ready(page)
    page.get_by_label(target, exact=True).check()
    page.get_by_label("Preferred Date").fill(date)
    page.get_by_label("Time", exact=True).fill(time)


@pytest.mark.django_db(transaction=True)
def test_a_contact_and_the_provider_walk_the_source_document_under_django(
    browser: Any, live_server: Any, desk: Desk
) -> None:
    expect = sync_api.expect
    page = browser.new_context(base_url=live_server.url).new_page()
    errors: List[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))  # the pages' script, in Django
    page.goto("/_signin?user=dana")

    # The gadget on the host's own (Django template) home page, then on the app's.
    page.goto("/")
    expect(page.locator("#portal .su-gadget")).to_contain_text("Updated 4:39 AM CST")
    page.goto(PREFIX + "/")
    for text in ("Maple Grove District", "E.1450.4 - Jan. 10, 2015", "Refresh - Aug. 23, 2014"):
        expect(page.locator(".su-gadget")).to_contain_text(text)

    # Manage Requests; the trash can on the In Progress request is refused in words.
    page.get_by_role("link", name="Manage Requests").last.click()
    expect(page.locator(".su-tenant-name")).to_have_text("Maple Grove District")
    expect(page.locator("tbody tr")).to_have_count(2)
    page.on("dialog", lambda d: d.accept())
    ready(page)
    page.locator("tr", has_text="In Progress").get_by_role("button").click()
    expect(page.locator(".su-alert")).to_contain_text("work has already begun")

    # Request an Update: refused beside the fields, then accepted (a double click: one request).
    page.get_by_role("link", name="Request an Update").click()
    expect(page.locator(".su-gap")).to_contain_text("Mar. 8, 2015")
    fill_request(page, "Staging", "2015-03-08", "02:30")
    page.get_by_role("button", name="Submit Request").click()
    expect(page.locator("#err-when")).to_contain_text("does not exist")
    fill_request(page, "Production/Sandbox", "2015-02-14", "01:00")
    page.get_by_label("Version", exact=True).select_option("E.1505.2")
    page.get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Submit Request").dblclick()
    expect(page.locator(".su-notice")).to_contain_text("Your request was submitted")
    expect(page.locator("tr", has_text="E.1505.2")).to_have_count(1)

    # Reschedule it, and read why it has its date.
    page.locator("tr", has_text="E.1505.2").get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Why this date")).to_be_visible()
    page.get_by_label("Preferred date").fill("2015-02-21")
    page.locator("#su-move-time").fill("01:00")
    page.get_by_role("button", name="Change date").click()
    expect(page.locator(".su-notice")).to_contain_text("preferred date was changed")

    # Hide Complete sticks across a reload (the cookie).
    ready(page)
    page.get_by_label("Hide Complete").check()
    expect(page.locator("tr", has_text="Completed")).to_have_count(0)
    page.reload()
    expect(page.get_by_label("Hide Complete")).to_be_checked()

    # The provider: the queue, a dry run, then the plan stored; the contact sees the date.
    ops = browser.new_context(base_url=live_server.url).new_page()
    ops.goto("/_signin?user=staff-ops&staff=1")
    ops.goto(PREFIX + "/provider/")
    expect(ops.locator("tbody tr", has_text="E.1505.2")).to_have_count(1)
    ops.get_by_role("button", name="Plan the queue (dry run)").click()
    expect(ops.locator("tr", has_text="E.1505.2").locator(".su-planned")).to_contain_text(
        "Feb. 22, 2015"
    )
    ops.get_by_role("button", name="Store this plan").click()
    expect(ops.locator(".su-notice")).to_contain_text("scheduled")
    page.goto(PREFIX + "/t/maple/requests")
    expect(page.locator("tr", has_text="E.1505.2")).to_contain_text("Scheduled")
    assert errors == []
