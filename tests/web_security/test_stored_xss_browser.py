"""Stored XSS through every rendered value, in a real browser (headless Chromium).

The world holds a payload in every free-text value a page shows (see
:mod:`.world`). Chromium opens every page the contact and the staff member
may see with the Content-Security-Policy switched off, so escaping alone must
hold: no payload's script runs (``window.__xss`` stays unset, no dialog opens),
no payload's element exists (``[data-xss]``), and each value the pages show
reads literally, angle brackets and all. Chromium is the system's
(``/usr/bin/chromium`` or ``$SITEUPDATES_CHROMIUM``); Playwright never
downloads one. Without either the tests skip, saying which is missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from . import world
from .framework import Framework

CHROMIUM = (
    os.environ.get("SITEUPDATES_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
#: The values that must show literally somewhere (the others need only be harmless).
SHOWN = ("tenant", "other-tenant", "staff", "question", "answer", "defer", "schedule", "fail")

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

_PROBE = """() => ({
  ran: window.__xss === undefined ? null : window.__xss,
  elements: Array.from(document.querySelectorAll('[data-xss]')).map(e => e.dataset.xss),
  text: document.body ? document.body.innerText : '',
})"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def visit_all(fw: Framework, browser: Any, base: str, who: str) -> Dict[str, str]:
    """Open every page of ``who``; fail on any payload that acted; each page's text."""
    context = browser.new_context(bypass_csp=True)  # escaping must hold without the CSP
    page = context.new_page()
    dialogs: List[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    if who == "contact":
        page.goto(base + fw.sign_in_url(contact=world.CONTACT))
    else:
        page.goto(base + fw.sign_in_url(staff=world.STAFF))
    texts: Dict[str, str] = {}
    problems: List[str] = []
    for path in fw.pages(who):
        resp = page.goto(base + path)
        # A read page without its arguments says what it needs (400): shown all the same.
        assert resp is not None and resp.status in (200, 400), f"{path}: {resp and resp.status}"
        page.wait_for_load_state("load")
        found = page.evaluate(_PROBE)
        if found["ran"] is not None:
            problems.append(f"{path}: the script of payload {found['ran']} ran")
        if found["elements"]:
            problems.append(f"{path}: payload elements {found['elements']} were made")
        texts[path] = found["text"]
    if dialogs:
        problems.append(f"dialogs opened: {dialogs}")
    context.close()
    assert not problems, "\n".join(problems)
    return texts


def test_no_hostile_value_runs_or_adds_markup_on_any_page(
    framework: Framework, browser: Any
) -> None:
    with framework.live() as base:
        texts = {
            **visit_all(framework, browser, base, "contact"),
            **visit_all(framework, browser, base, "staff"),
        }
    every = "\n".join(texts.values())
    missing = [what for what in SHOWN if world.PAYLOADS[what] not in every]
    # innerText shows the value as typed: the escaping neither dropped nor doubled it.
    assert not missing, f"values no page shows literally: {missing}"
    assert "&amp;amp;" not in every, "a value was escaped twice"  # it reads "&amp;"


def test_hostile_text_typed_into_the_forms_is_shown_as_typed(
    framework: Framework, browser: Any
) -> None:
    """A contact types markup as an answer; the staff member reads it, literally, in Chromium."""
    typed = world.payload(99, "typed answer")
    rid = framework.ids["asked"]
    with framework.live() as base:
        context = browser.new_context(bypass_csp=True)
        page = context.new_page()
        page.goto(base + framework.sign_in_url(contact=world.CONTACT))
        page.goto(f"{base}{framework.prefix}/t/{world.TENANT}/requests/{rid}")
        page.fill("textarea[name=answer]", typed)
        # Wait for the POST's own navigation: a load state already reached would not.
        with page.expect_navigation():
            page.locator("textarea[name=answer]").evaluate("e => e.form.requestSubmit()")
        page.goto(base + framework.sign_in_url(staff=world.STAFF))
        page.goto(f"{base}{framework.prefix}/provider/requests/{rid}")
        found = page.evaluate(_PROBE)
        context.close()
    assert found["ran"] is None and not found["elements"]
    assert typed in found["text"]
