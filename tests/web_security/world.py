"""The world every framework's security tests run in: the example, with hostile text everywhere.

Every free-text value a page shows (tenant, group and contact names, the staff
member's name written into the history, questions, answers and reasons) is a
payload that would run script or add an element if it reached a page unescaped:
each carries its own number, so a test names the value that got through.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict

from siteupdates import Desk
from siteupdates.setupfile import load_setup, stored_preset

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "examples" / "district.toml"
UTC = timezone.utc
#: The moment of the source document's overview; the world's clock stands there.
NOW = datetime(2015, 2, 2, 10, 39, tzinfo=UTC)
#: The contact the tests sign in as (tenant ``maple``), and another one (``birch`` and more).
CONTACT = "dana"
OTHER = "sam"
TENANT = "maple"
OTHER_TENANT = "birch"


def payload(n: int, what: str) -> str:
    """A value that adds ``<b data-xss=n>`` and sets ``window.__xss`` if shown unescaped."""
    return (
        f'{what} <b data-xss="{n}">b{n}</b><script>window.__xss={n}</script>'
        f'<img src=x onerror="window.__xss={n}">\'"&amp;'
    )


#: Every hostile value of the world, by what it is.
PAYLOADS: Dict[str, str] = {
    what: payload(n, what)
    for n, what in enumerate(
        (
            "tenant",
            "other-tenant",
            "group",
            "contact",
            "staff",
            "question",
            "answer",
            "defer",
            "schedule",
            "fail",
            "provider",
        ),
        start=1,
    )
}
#: The provider staff member the tests sign in as: their name goes into the history.
STAFF = PAYLOADS["staff"]


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def setup_text() -> str:
    """The example setup with hostile names in place of the friendly ones."""
    text = SETUP.read_text()
    for old, what in (
        ("Maple Grove District", "tenant"),
        ("Birch Cloud District", "other-tenant"),
        ("State of Example", "group"),
        ("Dana Reyes", "contact"),
        ("Campus Hosting", "provider"),
    ):
        text, found = re.subn(f'"{re.escape(old)}"', _toml(PAYLOADS[what]), text, count=1)
        assert found, old
    return text


def open_world(where: Path, url: str = "") -> Desk:
    """A desk on a SQLite file in ``where`` (or ``url``), set up with the hostile setup."""
    path = where / "hostile.toml"
    path.write_text(setup_text())
    setup = load_setup(path)
    preset = stored_preset(setup.settings)
    assert preset is not None
    desk = Desk.open(url or f"sqlite:///{where / 'web.db'}", clock=lambda: NOW, preset=preset)
    desk.provider.load_setup(setup)
    return desk


def populate(desk: Desk) -> Dict[str, str]:
    """Requests in the states the pages show differently, by name; their IDs."""
    me = desk.contact(CONTACT)
    ids: Dict[str, str] = {}

    def submit(name: str, target: str, day: int, who: str = CONTACT, tenant: str = TENANT) -> str:
        done = desk.contact(who).submit(
            tenant, target=target, version=None, db_refresh=True, at=datetime(2015, 2, day, 22)
        )
        ids[name] = done.request.id
        return done.request.id

    submit("open", "staging", 10)
    asked = submit("asked", "staging", 11)
    desk.provider.ask_input(asked, PAYLOADS["question"], by=STAFF)
    me.answer(asked, PAYLOADS["answer"])
    desk.provider.ask_input(asked, PAYLOADS["question"], by=STAFF)
    scheduled = submit("scheduled", "production/sandbox", 12)
    desk.provider.schedule(
        scheduled, datetime(2015, 2, 15, 10, tzinfo=UTC), by=STAFF, reason=PAYLOADS["schedule"]
    )
    deferred = submit("deferred", "staging", 13)
    desk.provider.defer(deferred, PAYLOADS["defer"], by=STAFF)
    failed = submit("failed", "staging", 14)
    desk.provider.fail(failed, PAYLOADS["fail"], by=STAFF)
    submit("other", "staging", 10, who=OTHER, tenant=OTHER_TENANT)
    return ids
