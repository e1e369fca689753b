"""The gadget answers 304 when nothing on it changed, and never with another contact's page."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from webtest_support import PREFIX, ROOT, make_app, open_desk, sign_in

from siteupdates import Desk

UTC = timezone.utc


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = open_desk(tmp_path / "web.db")
    yield d
    d.close()


@pytest.mark.parametrize("path", ["/", "/gadget", "/gadget/fragment"])
def test_a_gadget_asked_again_unchanged_is_a_304_without_a_body(desk: Desk, path: str) -> None:
    client = make_app(desk).test_client()
    sign_in(client, contact="dana")
    first = client.get(PREFIX + path)
    assert first.status_code == 200 and first.headers["ETag"]
    assert "private" in first.headers["Cache-Control"]
    again = client.get(PREFIX + path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == first.headers["ETag"]


def test_a_change_to_the_tenant_gives_the_page_again_with_a_new_tag(desk: Desk) -> None:
    client = make_app(desk).test_client()
    sign_in(client, contact="dana")
    first = client.get(PREFIX + "/")
    rid = desk.submit(
        "dana", "maple", "staging", None, db_refresh=True, at=datetime(2015, 2, 10, 22)
    ).request.id
    pending = client.get(PREFIX + "/", headers={"If-None-Match": first.headers["ETag"]})
    assert pending.status_code == 304  # a request to be scheduled is not on the overview
    desk.schedule(rid, datetime(2015, 2, 8, 10, tzinfo=UTC))
    booked = client.get(PREFIX + "/", headers={"If-None-Match": first.headers["ETag"]})
    assert booked.status_code == 200 and booked.headers["ETag"] != first.headers["ETag"]
    assert "Refresh - Feb. 8, 2015" in booked.get_data(as_text=True)


def test_no_contact_is_answered_with_another_contacts_cached_page(desk: Desk) -> None:
    dana, sam = make_app(desk).test_client(), make_app(desk).test_client()
    sign_in(dana, contact="dana")
    sign_in(sam, contact="sam")
    danas = dana.get(PREFIX + "/")
    assert "Maple Grove District" in danas.get_data(as_text=True)
    # Sam's browser replays Dana's tag: Sam gets Sam's own page, not a 304.
    replay = sam.get(PREFIX + "/?tenant=birch", headers={"If-None-Match": danas.headers["ETag"]})
    html = replay.get_data(as_text=True)
    assert replay.status_code == 200 and replay.headers["ETag"] != danas.headers["ETag"]
    assert "Maple Grove District" not in html and "Birch" in html
    assert "Cookie" in replay.headers["Vary"]
    # Nor with Dana's tag for a tenant of Dana's that Sam asks for by ID.
    other = sam.get(PREFIX + "/?tenant=maple", headers={"If-None-Match": danas.headers["ETag"]})
    assert other.status_code == 404


def test_a_contact_with_no_tenant_or_a_foreign_one_is_refused_as_before(desk: Desk) -> None:
    client = make_app(desk).test_client()
    sign_in(client, contact="nobody")
    assert client.get(PREFIX + "/").status_code == 403
    assert client.get(PREFIX + "/?tenant=maple").status_code == 403
    sign_in(client, contact="dana")
    assert client.get(PREFIX + "/?tenant=birch").status_code == 404


def _portal() -> Any:
    spec = importlib.util.spec_from_file_location(
        "portal_app_keys", ROOT / "examples" / "portal" / "app.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_portal_workers_without_a_configured_key_sign_with_one_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    monkeypatch.setenv("PORTAL_SECRET_FILE", str(tmp_path / "portal.key"))
    portal = str(ROOT / "examples" / "portal" / "app.py")
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('p', {portal!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(m.secret_key())\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(keys) == 1 and len(keys.pop()) == 64  # four processes at once, one key
    monkeypatch.setenv("PORTAL_SECRET_KEY", "given")
    assert _portal().secret_key() == "given"


@pytest.mark.postgres
def test_the_portal_opens_postgresql_from_its_url() -> None:
    import os
    import uuid

    psycopg = pytest.importorskip("psycopg")
    base = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        psycopg.connect(base, connect_timeout=3).close()
    except psycopg.Error as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI: {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")
    schema = f"su_test_portal_{uuid.uuid4().hex[:8]}"
    sep = "&" if "?" in base else "?"
    try:
        app = _portal().create_app(url=f"{base}{sep}schema={schema}")
        client = app.test_client()
        client.post("/", data={"who": "contact:dana"})
        assert "Updated 4:39 AM CST" in client.get("/updates/").text
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
