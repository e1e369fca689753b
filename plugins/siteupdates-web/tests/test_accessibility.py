"""axe-core on every page of the web plugin, in the real Chromium; a keyboard-only walk.

axe-core comes from the npm registry (``npm install axe-core``, the version
pinned below) into a directory of its own under the system's temporary
directory, once; the script is injected into each page (the page's CSP is
bypassed for the test's own script only) and ``axe.run`` reports every
violation, of any impact. Without npm the tests skip, saying why (CI has it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from test_browser import ARGS, CHROMIUM, LiveServer, ready, seed, sync_api
from webtest_support import PREFIX, open_desk

from siteupdates import Desk
from siteupdates_web.reads import provider_reads

UTC = timezone.utc
AXE_VERSION = "4.14.1"
Page = Any


def _axe_script() -> Path:
    """axe.min.js of AXE_VERSION, installed with npm on first use (atomically)."""
    home = Path(
        os.environ.get("SITEUPDATES_AXE_DIR")
        or Path(tempfile.gettempdir()) / f"siteupdates-axe-core-{AXE_VERSION}"
    )
    script = home / "node_modules" / "axe-core" / "axe.min.js"
    if script.exists():
        return script
    npm = shutil.which("npm")
    if npm is None:  # pragma: no cover - CI has npm
        pytest.skip("npm is not installed: it fetches axe-core for the accessibility tests")
    staging = Path(tempfile.mkdtemp(prefix="axe-", dir=home.parent))
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(staging),
         f"axe-core@{AXE_VERSION}"],
        check=True, timeout=300,
    )  # fmt: skip
    try:
        staging.rename(home)
    except OSError:  # another run installed it first
        shutil.rmtree(staging, ignore_errors=True)
    assert script.exists(), script
    return script


@pytest.fixture(scope="module")
def axe() -> str:
    return _axe_script().read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[LiveServer, Dict[str, str]]]:
    """A live server with a request in each status a page shows differently."""
    desk: Desk = open_desk(tmp_path_factory.mktemp("axe") / "web.db")
    seed(desk)
    dana = desk.contact("dana")

    def submit(day: int, target: str, version: Any = "E.1505.2") -> str:
        return dana.submit("maple", target=target, version=version, db_refresh=version is None,
                           at=datetime(2015, 2, day, 22)).request.id  # fmt: skip

    rids = {"queued": submit(14, "production/sandbox")}
    rids["scheduled"] = submit(16, "staging")
    desk.provider.schedule(rids["scheduled"], datetime(2015, 2, 17, 4, tzinfo=UTC))
    rids["pending"] = submit(18, "production/sandbox", None)
    desk.provider.ask_input(rids["pending"], "Which sandbox should we refresh?")
    live = LiveServer(desk)
    yield live, rids
    live.stop()
    desk.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _page(browser: Any, server: LiveServer, who: str) -> Page:
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, base_url=server.url, bypass_csp=True
    )
    page = context.new_page()
    page.goto(f"/_signin?{who}")
    return page


def violations(page: Page, axe: str) -> List[Dict[str, Any]]:
    """axe-core's violations on the page as it is now: rule, impact, the nodes."""
    # After a form's POST and redirect the new page may still be loading on a busy machine.
    page.wait_for_load_state("load")
    ready_state = page.evaluate("document.readyState")
    assert ready_state == "complete", ready_state
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe)
    found: List[Dict[str, Any]] = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations.map(v => ({id: v.id, impact: v.impact,
                nodes: v.nodes.map(n => n.target.join(" "))}));
        }"""
    )
    return found


def contact_pages(rids: Dict[str, str]) -> List[str]:
    pages = ["/", "/gadget", "/t/maple/requests", "/t/maple/new", "/t/nowhere/requests"]
    pages += [f"/t/maple/requests/{rid}" for rid in rids.values()]
    return pages


def provider_pages(rids: Dict[str, str]) -> List[str]:
    pages = ["/provider/", "/provider/outbox"]
    pages += [f"/provider/requests/{rid}" for rid in rids.values()]
    pages += [f"/provider/read/{name}" for name in sorted(provider_reads())]
    return pages


def test_axe_core_finds_no_violation_on_any_page(
    browser: Any, world: Tuple[LiveServer, Dict[str, str]], axe: str
) -> None:
    server, rids = world
    report: Dict[str, List[Dict[str, Any]]] = {}
    checked = 0
    # A state contact's gadget (several districts) and a stranger's pages too.
    for who, path in (("contact=sam", "/"), ("contact=sam", "/t/aspen/requests")):
        page = _page(browser, server, who)
        page.goto(PREFIX + path)
        page.wait_for_load_state("load")
        report[f"{who} {path}"] = violations(page, axe)
        page.context.close()
    for who, paths in (
        ("contact=dana", contact_pages(rids)),
        ("staff=pat", provider_pages(rids)),
    ):
        page = _page(browser, server, who)
        for path in paths:
            page.goto(PREFIX + path)
            page.wait_for_load_state("load")
            report[f"{who} {path}"] = violations(page, axe)
        if who.startswith("contact"):
            # The states a form only reaches by a POST: refusals beside the fields,
            # and the trash can's confirmation page (as without the page's script).
            page.goto(PREFIX + "/t/maple/new")
            ready(page)
            with page.expect_navigation():  # the POST's own page, not the one before
                page.get_by_role("button", name="Submit Request").click()
            report[f"{who} /t/maple/new (refused)"] = violations(page, axe)
            page.goto(PREFIX + "/t/maple/requests")
            ready(page)
            page.evaluate(
                "() => document.querySelectorAll('form[data-confirm]')"
                ".forEach(f => f.removeAttribute('data-confirm'))"
            )
            with page.expect_navigation():  # the POST's own page, not the one before
                page.locator(f"tr[data-request='{rids['queued']}']").get_by_role("button").click()
            assert "Are you sure" in page.content()
            report[f"{who} remove (confirm)"] = violations(page, axe)
        else:
            page.goto(PREFIX + "/provider/")
            with page.expect_navigation():  # the POST's own page, not the one before
                page.get_by_role("button", name="Plan the queue (dry run)").click()
            report[f"{who} /provider/plan (dry run)"] = violations(page, axe)
        checked = len(report)
        page.context.close()
    print(json.dumps({k: v for k, v in report.items() if v}, indent=1))
    by_impact: Dict[str, int] = {}
    for found in report.values():
        for v in found:
            by_impact[v["impact"]] = by_impact.get(v["impact"], 0) + 1
    print(f"axe-core {AXE_VERSION}: {len(report)} pages, violations by impact: {by_impact}")
    assert checked >= 25
    assert not any(report.values()), {k: v for k, v in report.items() if v}


def tab_to(page: Page, test: str, *, limit: int = 60) -> None:
    """Press Tab until the focused element passes ``test`` (JS, the element as ``e``)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const e = document.activeElement; return !!({test}); }})()"):
            return
    raise AssertionError(f"no focusable element where {test} within {limit} tabs")


def arrow_to(page: Page, value: str, *, limit: int) -> None:
    """Press the down arrow on the focused control until its value is ``value``."""
    for _ in range(limit):
        if page.evaluate("document.activeElement.value") == value:
            break
        page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.value") == value


def walk_by_keyboard(page: Page, words: Dict[str, str]) -> None:
    """The source document's steps by Tab, Enter and arrows alone, on the page's ``words``.

    ``words``: the link and button texts (``manage``, ``request``, ``submit``), and
    what the pages then say (``submitted``, ``when``, ``status``, ``cancelled``).
    """
    page.goto("/_signin?contact=dana")
    page.goto(PREFIX + "/")
    ready(page)
    # Manage Requests, then Request an Update: links followed with Enter.
    tab_to(page, f"e.textContent.trim() === {words['manage']!r}")
    page.keyboard.press("Enter")
    page.wait_for_url("**/t/maple/requests")
    ready(page)
    tab_to(page, f"e.textContent.trim() === {words['request']!r}")
    page.keyboard.press("Enter")
    page.wait_for_url("**/t/maple/new")
    ready(page)
    # Choose a Site: arrows move the choice within the radio group.
    tab_to(page, "e.name === 'target'")
    arrow_to(page, "staging", limit=6)
    tab_to(page, "e.name === 'date'")
    # The date and time fields are the browser's own widgets, in its UI's order
    # (headless Chromium's is US English whatever the page's language).
    page.keyboard.type("02142015")
    tab_to(page, "e.name === 'time'")
    page.keyboard.type("1000PM")
    tab_to(page, "e.name === 'version'")
    arrow_to(page, "E.1505.2", limit=8)
    typed = page.evaluate("[document.querySelector('[name=date]').value, "
                          "document.querySelector('[name=time]').value]")  # fmt: skip
    assert typed == ["2015-02-14", "22:00"], typed
    tab_to(page, f"e.textContent.trim() === {words['submit']!r}")
    page.keyboard.press("Enter")
    page.wait_for_url("**/t/maple/requests?**")
    sync_api.expect(page.locator(".su-notice")).to_contain_text(words["submitted"])
    row = page.locator("tr", has_text="E.1505.2")
    sync_api.expect(row).to_contain_text(words["when"])
    sync_api.expect(row).to_contain_text(words["status"])
    ready(page)
    # The trash can of that request, Enter, and Yes to the question.
    page.once("dialog", lambda d: d.accept())
    tab_to(page, "(e.getAttribute('aria-label') || '').includes('E.1505.2')")
    page.keyboard.press("Enter")
    sync_api.expect(page.locator(".su-notice")).to_contain_text(words["cancelled"])
    sync_api.expect(page.locator("tr", has_text="E.1505.2")).to_have_count(0)


def test_the_source_documents_steps_by_keyboard_alone(browser: Any, tmp_path: Path) -> None:
    desk: Desk = open_desk(tmp_path / "keys.db")
    seed(desk)
    server = LiveServer(desk)
    try:
        context = browser.new_context(base_url=server.url, locale="en-US")
        page = context.new_page()
        walk_by_keyboard(page, {
            "manage": "Manage Requests", "request": "Request an Update",
            "submit": "Submit Request", "submitted": "Your request was submitted",
            "when": "Feb. 14, 2015", "status": "To Be Scheduled", "cancelled": "cancelled",
        })  # fmt: skip
        # Cancelled: gone from the contact's list (R19), only the seeded refreshes remain.
        assert all(r.version is None for r in desk.contact("dana").requests("maple").items)
        context.close()
    finally:
        server.stop()
        desk.close()
