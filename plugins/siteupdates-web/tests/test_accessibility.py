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
            page.get_by_role("button", name="Submit Request").click()
            page.wait_for_load_state("load")
            report[f"{who} /t/maple/new (refused)"] = violations(page, axe)
            page.goto(PREFIX + "/t/maple/requests")
            ready(page)
            page.evaluate(
                "() => document.querySelectorAll('form[data-confirm]')"
                ".forEach(f => f.removeAttribute('data-confirm'))"
            )
            page.locator(f"tr[data-request='{rids['queued']}']").get_by_role("button").click()
            page.wait_for_load_state("load")
            assert "Are you sure" in page.content()
            report[f"{who} remove (confirm)"] = violations(page, axe)
        else:
            page.goto(PREFIX + "/provider/")
            page.get_by_role("button", name="Plan the queue (dry run)").click()
            page.wait_for_load_state("load")
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
