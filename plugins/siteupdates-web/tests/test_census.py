"""Every declared read and every contact's action is reachable from the web plugin (issue 22).

Each page is requested with Flask's test client while an observer on the desk
records which declared use cases ran: the census is of what the pages really
call, not of a table kept beside them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, List, Tuple

import pytest
from flask import Flask
from flask.testing import FlaskClient
from webtest_support import PREFIX, make_app, open_desk, sign_in, token

from siteupdates import Desk
from siteupdates.usecases import CATALOG, Role, UseCase
from siteupdates_web.reads import provider_reads

#: Declared use cases the web plugin leaves to Python and the command line, and why.
NOT_ON_THE_WEB = {
    "contact.resolve_id": "pages link whole request IDs; a prefix is for people typing",
    "contact.submit_many": "a batch is a file for programs: Python or the command line",
    "contact.submit_staged": "staged rollout is started by the provider's tooling",
    "contact.evaluate": "reached as the form's 'check first' (see test below)",
    "contact.overview": "the gadget shows it, read with the tenants in one go (contact.gadget)",
}


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = open_desk(tmp_path / "web.db")
    yield d
    d.close()


@pytest.fixture
def seen(desk: Desk) -> List[str]:
    ran: List[str] = []

    def record(uc: UseCase, lead: Tuple[str, ...], call: Callable[[], Any]) -> Any:
        ran.append(uc.qualname)
        return call()

    desk.observers.append(record)
    return ran


@pytest.fixture
def client(desk: Desk) -> FlaskClient:
    app: Flask = make_app(desk)
    return app.test_client()


def test_every_provider_read_has_its_page_and_runs_it(
    client: FlaskClient, desk: Desk, seen: List[str]
) -> None:
    sign_in(client, staff="pat")
    rid = desk.contact("dana").submit("maple", target="staging", version="E.1505.2",
                                      at=datetime(2015, 2, 14, 1)).request.id  # fmt: skip
    wanted = {uc.qualname for uc in CATALOG if uc.actor is Role.PROVIDER and not uc.writes}
    reached = {f"provider.{n}" for n in provider_reads()}
    args = {"request_id": rid, "tenant_id": "maple", "prefix": rid[:6], "item_id": "x",
            "setup": "examples/district.toml", "statuses": "to-be-scheduled"}  # fmt: skip
    for name, uc in provider_reads().items():
        seen.clear()
        given = {p.name: args[p.name] for p in uc.params if p.name in args}
        resp = client.get(f"{PREFIX}/provider/read/{name}", query_string=given)
        assert resp.status_code in (200, 400), (name, resp.status_code)
        assert uc.qualname in seen, name
        if resp.status_code == 400:  # refused by the domain: no such item, no run yet
            assert name in ("outbox_item", "run_status"), (name, resp.get_data(as_text=True))
    python_only = {uc.qualname for uc in CATALOG if uc.python_only}
    assert wanted - python_only <= reached


def test_the_read_pages_are_the_providers_only(client: FlaskClient) -> None:
    sign_in(client, contact="dana")
    assert client.get(f"{PREFIX}/provider/read/queue").status_code == 404
    assert client.get(f"{PREFIX}/provider/read/no-such-read").status_code == 404


def test_a_read_page_refuses_hostile_input_with_the_declarations_words(
    client: FlaskClient,
) -> None:
    sign_in(client, staff="pat")
    resp = client.get(f"{PREFIX}/provider/read/queue", query_string={"limit": "99999999999"})
    assert resp.status_code == 400
    assert "limit" in resp.get_data(as_text=True)
    resp = client.get(f"{PREFIX}/provider/read/find", query_string={"request_id": "a\x00b"})
    assert resp.status_code == 400
    assert "\x00" not in resp.get_data(as_text=True)


def test_every_contact_use_case_is_reached_by_a_page(
    client: FlaskClient, desk: Desk, seen: List[str]
) -> None:
    sign_in(client, contact="dana")
    me = desk.contact("dana")
    rid = me.submit("maple", target="staging", version="E.1505.2",
                    at=datetime(2015, 2, 14, 1)).request.id  # fmt: skip
    done = me.submit("maple", target="staging", version=None, db_refresh=True,
                     at=datetime(2015, 2, 14, 1)).request.id  # fmt: skip
    for step in ("schedule", "pull", "start", "complete"):
        args: dict[str, Any] = {"when": datetime(2015, 2, 14, 9, tzinfo=timezone.utc)}
        getattr(desk.provider, step)(done, **(args if step == "schedule" else {}))
    csrf = token(client)
    base = f"{PREFIX}/t/maple/requests/{rid}"
    client.get(f"{PREFIX}/gadget")
    client.get(f"{PREFIX}/t/maple/requests")
    client.get(base)
    client.get(f"{PREFIX}/t/maple/new")
    client.post(f"{PREFIX}/t/maple/new", data={"csrf_token": csrf, "action": "check",
                "target": "staging", "version": "E.1505.2", "date": "2015-02-20",
                "time": "01:00", "key": "k"})  # fmt: skip
    client.post(f"{PREFIX}/t/maple/requests/{done}/remove", data={"csrf_token": csrf,
                "confirmed": "1"})  # fmt: skip
    for action in ("move", "answer", "postpone", "approve", "decline", "remove"):
        client.post(f"{base}/{action}", data={"csrf_token": csrf, "date": "2015-02-21",
                    "time": "01:00", "answer": "yes", "confirmed": "1"})  # fmt: skip
    client.post(f"{PREFIX}/t/maple/new", data={"csrf_token": csrf, "target": "staging",
                "version": "E.1505.2", "date": "2015-02-20", "time": "01:00",
                "key": "k2"})  # fmt: skip
    wanted = {uc.qualname for uc in CATALOG if uc.actor is Role.CONTACT}
    missing = wanted - set(seen) - set(NOT_ON_THE_WEB)
    assert missing == set()
    assert "contact.evaluate" in seen  # the form's "check first"
    assert "contact.gadget" in seen
