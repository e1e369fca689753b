"""The source document's steps in a real browser: headless Chromium driven by Playwright.

The app runs on a real local server (werkzeug, 127.0.0.1, a free port) over a
SQLite file. Chromium comes from the system's packages (``/usr/bin/chromium``,
or ``$SITEUPDATES_CHROMIUM``); Playwright never downloads a browser. Without
either the tests skip, saying why. Screenshots of each screen go to
``tests/screenshots/`` (or ``$SITEUPDATES_SCREENSHOTS``); their paths are printed.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, List

import pytest
from webtest_support import PREFIX, make_app, open_desk

from siteupdates import Desk

UTC = timezone.utc
CHROMIUM = (
    os.environ.get("SITEUPDATES_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(
    os.environ.get("SITEUPDATES_SCREENSHOTS") or Path(__file__).resolve().parent / "screenshots"
)

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="Playwright for Python is not installed (pip install 'siteupdates-web[test]')",
)
if not Path(CHROMIUM).exists():  # pragma: no cover - CI installs it
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install the system package (apt-get install chromium) "
        "or set SITEUPDATES_CHROMIUM",
        allow_module_level=True,
    )

Page = Any  # playwright's Page; typed loosely so the module imports without it


class LiveServer:
    """The host app on a real HTTP server in a thread."""

    def __init__(self, desk: Desk) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass  # the test output shows the screenshots, not every request

        self.server = make_server(
            "127.0.0.1", 0, make_app(desk), threaded=True, request_handler=Quiet
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(10)


def seed(desk: Desk) -> None:
    """Dana's history: one staging refresh completed, one under way (In Progress)."""
    for day, finish in ((3, True), (5, False)):
        rid = desk.submit(
            "dana", "maple", "staging", None, db_refresh=True, at=datetime(2015, 2, day, 22)
        ).request.id
        desk.schedule(rid, datetime(2015, 2, day + 1, 10, tzinfo=UTC))
        desk.pull(rid)
        desk.start(rid)
        if finish:
            desk.complete(rid)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    desk = open_desk(tmp_path_factory.mktemp("browser") / "web.db")
    seed(desk)
    live = LiveServer(desk)
    yield live
    live.stop()
    desk.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def shots() -> Iterator[List[str]]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    taken: List[str] = []
    yield taken
    for line in taken:
        print(line)


def shoot(page: Page, taken: List[str], name: str, what: str) -> None:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    taken.append(f"screenshot {path}: {what}")


def new_page(browser: Any, server: LiveServer, *, who: str, phone: bool = False) -> Page:
    size = {"width": 390, "height": 844} if phone else {"width": 1200, "height": 900}
    context = browser.new_context(viewport=size, base_url=server.url)
    page = context.new_page()
    page.goto(f"/_signin?{who}")
    return page


def ready(page: Page) -> None:
    """Wait for the page's script: a click right after a navigation may come before it."""
    page.wait_for_load_state("load")
    page.wait_for_function("document.documentElement.classList.contains('js')")


def fill_request(page: Page, target: str, date: str, time: str) -> None:
    ready(page)
    page.get_by_label(target, exact=True).check()
    page.get_by_label("Preferred Date").fill(date)
    page.get_by_label("Time", exact=True).fill(time)


def stale_version(page: Page, version: str) -> None:
    """Put a version on the dropdown that it does not offer, as a page left open too long would."""
    page.eval_on_selector(
        "select[name=version]",
        "(s, v) => { const o = new Option(v, v); s.add(o); s.value = v; }",
        version,
    )


def test_a_district_contact_walks_the_source_document(
    browser: Any, server: LiveServer, shots: List[str]
) -> None:
    page = new_page(browser, server, who="contact=dana")

    # The gadget on the home page.
    page.goto(PREFIX + "/")
    gadget = page.locator(".su-gadget")
    for text in (
        "Maple Grove District",
        "Updated 4:39 AM CST",
        "E.1450.4 - Jan. 10, 2015",
        "Refresh - Aug. 23, 2014",
        "E.1418.2 - May. 2, 2014",
    ):
        sync_api.expect(gadget).to_contain_text(text)
    shoot(page, shots, "01-gadget", "the gadget: CURRENT versions, sandbox refresh, 4:39 AM CST")

    # Manage Requests: the district's name, the list.
    page.get_by_role("link", name="Manage Requests").last.click()
    sync_api.expect(page.locator(".su-tenant-name")).to_have_text("Maple Grove District")
    rows = page.locator("tbody tr")
    sync_api.expect(rows).to_have_count(2)
    shoot(page, shots, "02-manage-requests", "Manage Requests: a Completed and an In Progress row")

    # The trash can on the In Progress request: asked, then refused in words.
    asked: List[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    ready(page)
    page.locator("tr", has_text="In Progress").get_by_role("button").click()
    sync_api.expect(page.locator(".su-alert")).to_contain_text("work has already begun")
    assert asked == ["Are you sure that you would like to delete this request?"]
    shoot(page, shots, "03-in-progress-refused", "cancelling an In Progress request, refused")

    # Request an Update: an older pack, and a time in the spring-forward gap.
    page.get_by_role("link", name="Request an Update").click()
    sync_api.expect(page.locator(".su-zone")).to_contain_text("America/Chicago")
    sync_api.expect(page.locator(".su-gap")).to_contain_text("Mar. 8, 2015")
    fill_request(page, "Staging", "2015-03-08", "02:30")
    stale_version(page, "E.1505.1")
    page.get_by_role("button", name="Submit Request").click()
    sync_api.expect(page.locator("#err-version")).to_contain_text("choose E.1505.2")
    sync_api.expect(page.locator("#err-when")).to_contain_text("does not exist")
    shoot(page, shots, "04-refused-older-pack", "refusals beside the fields: R5 pack, R12 gap")

    # The accepted request, with R14's warning, then in the list.
    fill_request(page, "Production/Sandbox", "2015-02-14", "01:00")
    options = page.locator("select[name=version] option:not([hidden])")
    sync_api.expect(options).to_have_text(["DB Refresh Only", "E.1505.2 (Production/Sandbox)"])
    page.get_by_label("Version", exact=True).select_option("E.1505.2")
    page.get_by_label("No", exact=True).check()
    shoot(page, shots, "05-request-an-update", "Request an Update filled in: production E.1505.2")
    page.get_by_role("button", name="Submit Request").dblclick()
    sync_api.expect(page.locator(".su-notice")).to_contain_text("Your request was submitted")
    sync_api.expect(page.locator(".su-notice")).to_contain_text("nightly attendance export")
    sync_api.expect(page.locator("tr", has_text="E.1505.2")).to_have_count(1)  # one, not two
    sync_api.expect(page.locator("tr", has_text="E.1505.2")).to_contain_text("To Be Scheduled")
    shoot(page, shots, "06-request-listed", "the new request listed with the R14 warning")

    # Cancel a request: the question, No keeps it, Yes cancels it.
    page.get_by_role("link", name="Request an Update").click()
    fill_request(page, "Staging", "2015-02-20", "22:00")
    page.get_by_label("Yes", exact=True).check()
    page.get_by_role("button", name="Submit Request").click()
    sync_api.expect(page.locator("tbody tr")).to_have_count(4)
    page.remove_listener("dialog", accept)
    page.once("dialog", lambda d: d.dismiss())
    row = page.locator("tr", has_text="Feb. 20, 2015")
    ready(page)
    row.get_by_role("button").click()
    sync_api.expect(page.locator("tbody tr")).to_have_count(4)
    page.once("dialog", lambda d: d.accept())
    ready(page)
    row.get_by_role("button").click()
    sync_api.expect(page.locator(".su-notice")).to_contain_text("cancelled")
    sync_api.expect(page.locator("tbody tr")).to_have_count(3)
    shoot(page, shots, "07-cancelled", "after Yes: the request is gone from the list")

    # Hide Complete sticks.
    ready(page)
    page.get_by_label("Hide Complete").check()
    sync_api.expect(page.locator("tr", has_text="Completed")).to_have_count(0)
    page.reload()
    sync_api.expect(page.get_by_label("Hide Complete")).to_be_checked()
    sync_api.expect(page.locator("tbody tr")).to_have_count(2)
    ready(page)
    shoot(page, shots, "08-hide-complete", "Hide Complete ticked, still ticked after a reload")
    page.get_by_label("Hide Complete").uncheck()
    sync_api.expect(page.locator("tr", has_text="Completed")).to_have_count(1)


def test_a_state_contact_picks_a_district_and_a_cloud_tenant_gets_refresh_only(
    browser: Any, server: LiveServer, shots: List[str]
) -> None:
    page = new_page(browser, server, who="contact=sam")
    page.goto(PREFIX + "/")
    page.get_by_role("link", name="Manage Requests").last.click()
    sync_api.expect(page).to_have_url(re.compile(r".*/t/aspen/requests$"))
    ready(page)
    page.get_by_label("District").select_option(label="Birch Cloud District")
    sync_api.expect(page).to_have_url(re.compile(r".*/t/birch/requests$"))
    shoot(page, shots, "09-state-contact-dropdown", "a state contact's dropdown of districts")

    page.get_by_role("link", name="Request an Update").click()
    sync_api.expect(page.locator(".su-zone")).to_contain_text("America/New_York")
    fill_request(page, "Production/Sandbox", "2015-02-17", "20:00")
    options = page.locator("select[name=version] option:not([hidden])")
    sync_api.expect(options).to_have_text(["DB Refresh Only"])
    sync_api.expect(page.get_by_label("Yes", exact=True)).to_be_checked()
    stale_version(page, "E.1505.2")
    page.get_by_role("button", name="Submit Request").click()
    sync_api.expect(page.locator("#err-version")).to_contain_text("may only be a DB refresh")
    shoot(page, shots, "10-refused-cloud-version", "a cloud tenant's version update, refused (R9)")


def test_the_provider_plans_and_moves_a_date_and_the_contact_sees_it(
    browser: Any, server: LiveServer, shots: List[str]
) -> None:
    # Dana's request exists from the first test when run in order; make sure of one here.
    dana = new_page(browser, server, who="contact=dana")
    dana.goto(PREFIX + "/t/maple/requests")
    if dana.locator("tr", has_text="E.1505.2").count() == 0:
        dana.get_by_role("link", name="Request an Update").click()
        fill_request(dana, "Production/Sandbox", "2015-02-14", "01:00")
        dana.get_by_label("Version", exact=True).select_option("E.1505.2")
        dana.get_by_label("No", exact=True).check()
        dana.get_by_role("button", name="Submit Request").click()

    ops = new_page(browser, server, who="staff=ops")
    ops.goto(PREFIX + "/provider/")
    sync_api.expect(ops.locator("tbody tr", has_text="E.1505.2")).to_have_count(1)
    shoot(ops, shots, "11-provider-queue", "the provider's queue, first come first served")
    ops.get_by_role("button", name="Plan the queue (dry run)").click()
    planned = ops.locator("tr", has_text="E.1505.2").locator(".su-planned")
    sync_api.expect(planned).to_have_text("Feb. 15, 2015 4:00 AM CST")
    shoot(ops, shots, "12-provider-plan-dry-run", "the dry run: Sunday Feb. 15 4:00 AM CST")
    ops.get_by_role("button", name="Store this plan").click()
    sync_api.expect(ops.locator(".su-notice")).to_contain_text("scheduled")

    ops.locator("tr", has_text="E.1505.2").get_by_role("link").first.click()
    ops.get_by_label("Date", exact=True).fill("2015-02-22")
    ops.get_by_label("Time", exact=True).fill("04:00")
    ops.get_by_label("Reason (told to the contact)").first.fill("a storage upgrade on the 15th")
    ops.get_by_role("button", name="Move date").click()
    sync_api.expect(ops.locator(".su-notice")).to_contain_text("The date was moved")
    sync_api.expect(ops.locator(".su-scheduled")).to_have_text("Feb. 22, 2015 4:00 AM CST")
    shoot(ops, shots, "13-provider-moved-date", "the provider moved the date, with a reason")

    dana.goto(PREFIX + "/t/maple/requests")
    row = dana.locator("tr", has_text="E.1505.2")
    sync_api.expect(row.locator(".su-scheduled")).to_have_text("Feb. 22, 2015 4:00 AM CST")
    sync_api.expect(row).to_contain_text("Scheduled")
    shoot(dana, shots, "14-contact-sees-new-date", "the contact's list shows the new date")
    dana.goto(PREFIX + "/")
    sync_api.expect(dana.locator(".su-gadget")).to_contain_text("E.1505.2 - Feb. 22, 2015")
    sync_api.expect(dana.locator(".su-gadget")).to_contain_text("SCHEDULED")
    shoot(dana, shots, "15-gadget-scheduled", "the gadget: E.1505.2 - Feb. 22, 2015 SCHEDULED")


def test_pages_read_well_on_a_phone(browser: Any, server: LiveServer, shots: List[str]) -> None:
    page = new_page(browser, server, who="contact=dana", phone=True)
    page.goto(PREFIX + "/t/maple/requests")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    shoot(page, shots, "16-phone-manage-requests", "Manage Requests on a 390px-wide phone")
    page.goto(PREFIX + "/t/maple/new")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Keyboard: the skip link comes first and every field has a label.
    page.keyboard.press("Tab")
    sync_api.expect(page.locator(":focus")).to_have_text("Skip to content")
    unlabeled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
              .map(e => e.name)"""
    )
    assert unlabeled == []
    shoot(page, shots, "17-phone-request-form", "Request an Update on a phone")


def test_the_provider_asks_then_marks_the_answer_given_by_phone(
    browser: Any, server: LiveServer, shots: List[str]
) -> None:
    # Dana's own request, a staging refresh, so the test does not depend on the others.
    dana = new_page(browser, server, who="contact=dana")
    dana.goto(PREFIX + "/t/maple/new")
    fill_request(dana, "Staging", "2015-02-27", "22:00")
    dana.get_by_label("Yes", exact=True).check()
    dana.get_by_role("button", name="Submit Request").click()
    sync_api.expect(dana.locator(".su-notice")).to_contain_text("Your request was submitted")
    mine = dana.locator("tbody tr", has_text="Feb. 27, 2015")
    sync_api.expect(mine).to_have_count(1)
    rid = mine.get_attribute("data-request")
    assert rid

    ops = new_page(browser, server, who="staff=ops")
    ops.goto(PREFIX + f"/provider/requests/{rid}")
    sync_api.expect(ops.get_by_role("button", name="Mark answered")).to_have_count(0)
    ops.get_by_label("Question for the contact").fill("Which term's data should the copy hold?")
    ops.get_by_role("button", name="Send question").click()
    sync_api.expect(ops.locator(".su-notice")).to_contain_text("The question was sent")
    sync_api.expect(ops.locator(".su-status")).to_have_text("Pending Input")
    shoot(ops, shots, "18-provider-asked-a-question", "the provider asked: Pending Input")

    # Dana phones in the answer; the provider records it with a note.
    ops.get_by_label("Note: how the contact answered").fill("Dana phoned: the fall term")
    ops.get_by_role("button", name="Mark answered").click()
    sync_api.expect(ops.locator(".su-notice")).to_contain_text("marked answered")
    sync_api.expect(ops.locator(".su-status")).to_have_text("To Be Scheduled")
    sync_api.expect(ops.locator(".su-history li").last).to_contain_text(
        "answer → To Be Scheduled by ops: Dana phoned: the fall term"
    )
    sync_api.expect(ops.get_by_role("button", name="Mark answered")).to_have_count(0)
    shoot(ops, shots, "19-provider-marked-answered", "marked answered, with the phone note")

    dana.goto(PREFIX + "/t/maple/requests")
    row = dana.locator(f'tr[data-request="{rid}"]')
    sync_api.expect(row.locator(".su-status")).to_have_text("To Be Scheduled")
    shoot(dana, shots, "20-contact-sees-to-be-scheduled", "the contact's list: To Be Scheduled")
