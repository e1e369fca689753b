"""axe-core on the Django app's pages, in the real Chromium: no violation of any impact.

The same check as siteupdates-web's (its ``test_accessibility.py``): axe-core of
the same pinned version, installed with npm once into the same directory, is
injected into each page (the page's CSP bypassed for the test's script only).
The pages are the shared templates; here they are served by Django, with
Django's sessions, CSRF tokens and error pages. Without npm the test skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

import siteupdates_django
from django_host import PREFIX, open_desk
from siteupdates import Desk
from siteupdates_web.reads import provider_reads
from test_django_browser import ARGS, CHROMIUM, sync_api

UTC = timezone.utc
#: The version siteupdates-web's accessibility test pins (one download for both).
AXE_VERSION = "4.14.1"


def _axe_script() -> Path:
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


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    """A request in each state the pages show differently."""
    d = open_desk(tmp_path / "store.db")
    dana = d.contact("dana")

    def submit(day: int, target: str, version: Any = "E.1505.2") -> str:
        return dana.submit("maple", target=target, version=version, db_refresh=version is None,
                           at=datetime(2015, 2, day, 22)).request.id  # fmt: skip

    submit(14, "production/sandbox")
    scheduled = submit(16, "staging")
    d.provider.schedule(scheduled, datetime(2015, 2, 17, 4, tzinfo=UTC))
    pending = submit(18, "production/sandbox", None)
    d.provider.ask_input(pending, "Which sandbox should we refresh?")
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


def violations(page: Any, axe: str) -> List[Dict[str, Any]]:
    """axe-core's violations on the page as it is now: rule, impact, the nodes."""
    assert page.evaluate("document.readyState") == "complete"
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


@pytest.mark.django_db(transaction=True)
def test_axe_core_finds_no_violation_on_any_django_page(
    browser: Any, live_server: Any, desk: Desk
) -> None:
    axe = _axe_script().read_text(encoding="utf-8")
    rids = [r.id for r in desk.provider.requests(tenant_id="maple", limit=50)]
    contact = ["/", "/gadget", "/t/maple/requests", "/t/maple/new", "/t/nowhere/requests"]
    contact += [f"/t/maple/requests/{rid}" for rid in rids] + ["/no/such/page"]
    staff = ["/provider/", "/provider/outbox", *(f"/provider/requests/{rid}" for rid in rids)]
    staff += [f"/provider/read/{name}" for name in sorted(provider_reads())]
    report: Dict[str, List[Dict[str, Any]]] = {}
    for sign_in, paths in (("user=dana", contact), ("user=staff-ops&staff=1", staff)):
        context = browser.new_context(
            viewport={"width": 1200, "height": 900}, base_url=live_server.url, bypass_csp=True
        )
        page = context.new_page()
        page.goto(f"/_signin?{sign_in}")
        for path in paths:
            page.goto(PREFIX + path)
            page.wait_for_load_state("load")
            report[f"{sign_in} {path}"] = violations(page, axe)
        context.close()
    assert len(report) >= 20
    assert not any(report.values()), {k: v for k, v in report.items() if v}
