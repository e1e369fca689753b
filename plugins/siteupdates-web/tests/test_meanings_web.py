"""What a status means beside it on the contact's pages; rule IDs for the provider only."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from webtest_support import PREFIX, make_app, open_desk, sign_in

from siteupdates import Desk, Status

UTC = timezone.utc


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = open_desk(tmp_path / "web.db")
    yield d
    d.close()


def test_the_contacts_pages_say_what_the_status_means_without_rule_ids(desk: Desk) -> None:
    # Sunday 1:45 AM runs into Maple's nightly export: an R14 warning.
    rid = desk.submit(
        "dana", "maple", "production/sandbox", "E.1505.2", at=datetime(2015, 2, 15, 1, 45)
    ).request.id
    warning = desk.storage.request(rid).warnings[0]  # type: ignore[union-attr]
    assert warning.rule == "R14"
    desk.provider.ask_input(rid, "Which sandbox?")
    client = make_app(desk).test_client()
    sign_in(client, contact="dana")
    meaning = str(escape(Status.PENDING_INPUT.meaning))
    for path in ("/t/maple/requests", f"/t/maple/requests/{rid}"):
        page = client.get(PREFIX + path).get_data(as_text=True)
        assert "Pending Input" in page and meaning in page, path
        assert str(escape(warning.message)) in page
        assert "R14:" not in page, path
    staff: FlaskClient = make_app(desk).test_client()
    sign_in(staff, staff="olga")
    assert "R14" in staff.get(f"{PREFIX}/provider/requests/{rid}").get_data(as_text=True)


def test_the_gadget_lists_staging_before_sandbox_and_explains_a_scheduled_row(
    desk: Desk,
) -> None:
    rid = desk.submit(
        "dana", "maple", "production/sandbox", "E.1505.2", at=datetime(2015, 2, 13, 22)
    ).request.id
    desk.schedule(rid, datetime(2015, 2, 14, 4, tzinfo=UTC))
    client = make_app(desk).test_client()
    sign_in(client, contact="dana")
    page = client.get(PREFIX + "/").get_data(as_text=True)
    assert page.index("E.1418.2") < page.index("Refresh - Aug. 23, 2014")  # staging, Sandbox
    assert "<h1" in page and str(escape(Status.SCHEDULED.meaning)) in page
    fragment = client.get(PREFIX + "/gadget/fragment").get_data(as_text=True)
    assert "<h2" in fragment and "<h1" not in fragment  # the host's page has its own h1
