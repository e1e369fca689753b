"""Issue 27: the pages in German are as accessible as in English, and walkable by keyboard.

axe-core (the version of ``test_accessibility``) on every contact and provider
page, the refused form and the delete confirmation, served in German (the
provider's default locale, so every contact reads German); every violation of
any impact fails. Then the source document's steps by keyboard alone, in German.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from test_accessibility import (
    _axe_script,
    _page,
    contact_pages,
    provider_pages,
    violations,
    walk_by_keyboard,
)
from test_browser import ARGS, CHROMIUM, LiveServer, ready, seed, sync_api
from webtest_support import NOW, PREFIX, SETUP

from siteupdates import Desk
from siteupdates.setupfile import setup_from_dict, stored_preset

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the library's own dependency there
    import tomli as tomllib

UTC = timezone.utc


def german_desk(path: Path) -> Desk:
    """The example's desk with German as the provider's default locale."""
    data = tomllib.loads(SETUP.read_text(encoding="utf-8"))
    data["provider"]["default_locale"] = "de"
    setup = setup_from_dict(data)
    desk = Desk.open("sqlite:///" + str(path), clock=lambda: NOW,
                     preset=stored_preset(setup.settings))  # fmt: skip
    desk.load_setup(setup)
    return desk


@pytest.fixture(scope="module")
def axe() -> str:
    return _axe_script().read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[LiveServer, Dict[str, str]]]:
    desk = german_desk(tmp_path_factory.mktemp("axe-de") / "web.db")
    seed(desk)
    dana = desk.contact("dana")

    def submit(day: int, target: str, version: Any = "E.1505.2") -> str:
        return dana.submit("maple", target=target, version=version, db_refresh=version is None,
                           at=datetime(2015, 2, day, 22)).request.id  # fmt: skip

    rids = {"queued": submit(14, "production/sandbox")}
    rids["scheduled"] = submit(16, "staging")
    desk.provider.schedule(rids["scheduled"], datetime(2015, 2, 17, 4, tzinfo=UTC))
    rids["pending"] = submit(18, "production/sandbox", None)
    desk.provider.ask_input(rids["pending"], "Welche Sandbox sollen wir auffrischen?")
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


def test_axe_core_finds_no_violation_on_any_german_page(
    browser: Any, world: Tuple[LiveServer, Dict[str, str]], axe: str
) -> None:
    server, rids = world
    report: Dict[str, List[Dict[str, Any]]] = {}
    for who, paths in (("contact=dana", contact_pages(rids)),
                       ("contact=sam", ["/", "/t/aspen/requests"]),
                       ("staff=pat", provider_pages(rids))):  # fmt: skip
        page = _page(browser, server, who)
        for path in paths:
            page.goto(PREFIX + path)
            page.wait_for_load_state("load")
            assert page.get_attribute("html", "lang") == "de", path
            report[f"{who} {path}"] = violations(page, axe)
        if who == "contact=dana":
            page.goto(PREFIX + "/t/maple/new")
            ready(page)
            with page.expect_navigation():  # the POST's own page, not the one before
                page.get_by_role("button", name="Anfrage absenden").click()
            assert "Die Anfrage wurde nicht abgesendet" in page.content()
            report[f"{who} /t/maple/new (refused)"] = violations(page, axe)
            page.goto(PREFIX + "/t/maple/requests")
            ready(page)
            page.evaluate(
                "() => document.querySelectorAll('form[data-confirm]')"
                ".forEach(f => f.removeAttribute('data-confirm'))"
            )
            with page.expect_navigation():  # the POST's own page, not the one before
                page.locator(f"tr[data-request='{rids['queued']}']").get_by_role("button").click()
            assert "Möchten Sie diese Anfrage wirklich löschen?" in page.content()
            report[f"{who} remove (confirm)"] = violations(page, axe)
        if who == "staff=pat":
            page.goto(PREFIX + "/provider/")
            with page.expect_navigation():  # the POST's own page, not the one before
                page.get_by_role("button", name="Warteschlange planen (Probelauf)").click()
            report[f"{who} /provider/plan (dry run)"] = violations(page, axe)
        page.context.close()
    print(json.dumps({k: v for k, v in report.items() if v}, indent=1))
    print(f"axe-core in German: {len(report)} pages, "
          f"{sum(len(v) for v in report.values())} violations")  # fmt: skip
    assert len(report) >= 25
    assert not any(report.values()), {k: v for k, v in report.items() if v}


def test_the_source_documents_steps_by_keyboard_alone_in_german(
    browser: Any, tmp_path: Path
) -> None:
    desk = german_desk(tmp_path / "keys-de.db")
    seed(desk)
    server = LiveServer(desk)
    try:
        context = browser.new_context(base_url=server.url, locale="de-DE")
        page = context.new_page()
        walk_by_keyboard(page, {
            "manage": "Anfragen verwalten", "request": "Update anfragen",
            "submit": "Anfrage absenden", "submitted": "Ihre Anfrage wurde abgesendet",
            "when": "14. Feb. 2015 22:00 CST", "status": "Zu planen", "cancelled": "storniert",
        })  # fmt: skip
        context.close()
    finally:
        server.stop()
        desk.close()
