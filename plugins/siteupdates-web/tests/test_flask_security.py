"""What only the Flask blueprint and its example portal do for security.

The framework-neutral suite is ``tests/web_security`` at the repository's root
(CSRF on every route, R22, headers, hostile input, stored XSS in Chromium);
here: how the CSRF nonce follows a Flask host's sign-ins, ``rotate()``, the
app-level 404/405 handlers beside a host's own, and the example portal's cookie
and signing key.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, session
from flask.testing import FlaskClient
from webtest_support import PREFIX, ROOT, open_desk, token

from siteupdates import Desk
from siteupdates.errors import ConflictError, InvalidInput, StorageError
from siteupdates_web import mount, rotate
from siteupdates_web.csrf import CsrfSigner


@pytest.fixture
def desk(tmp_path: Path) -> Any:
    d = open_desk(tmp_path / "web.db")
    yield d
    d.close()


def host(desk: Desk, **hooks: Any) -> Flask:
    """A host whose sign-in and sign-out only set and drop its keys (no clear)."""
    app = Flask("flask_security_host")
    app.secret_key = "s3cret"

    @app.route("/in/<who>")
    def sign_in(who: str) -> str:
        session["contact"] = who
        if hooks.get("rotate_at_sign_in"):
            rotate()
        return "in"

    @app.route("/out")
    def sign_out() -> str:
        session.pop("contact", None)
        return "out"

    @app.route("/out-and-in/<who>")
    def swap(who: str) -> str:
        session["contact"] = who  # a sign-in over a sign-in: same person, new session's work
        if hooks.get("rotate_at_sign_in"):
            rotate()
        return "swapped"

    @app.errorhandler(404)
    def host_404(exc: Exception) -> Any:
        return "the host's own 404", 404

    mount(app, contact=lambda: session.get("contact"), desk=desk, url_prefix=PREFIX)
    return app


def hide(client: FlaskClient, tok: str) -> int:
    return client.post(PREFIX + "/t/maple/hide-complete", data={"csrf_token": tok}).status_code


def test_sign_out_and_in_between_two_pages_rotates_without_a_request_of_the_pages(
    desk: Desk,
) -> None:
    """The host's views changed the session: the app-level hook rotated there."""
    client = host(desk).test_client()
    client.get("/in/dana")
    old = token(client)
    client.get("/out")
    client.get("/in/dana")  # no page of the blueprint in between
    assert hide(client, old) == 400
    assert hide(client, token(client)) == 302


def test_rotate_at_sign_in_makes_earlier_tokens_worthless(desk: Desk) -> None:
    plain = host(desk).test_client()
    plain.get("/in/dana")
    kept = token(plain)
    plain.get("/out-and-in/dana")  # nothing changed that the blueprint can see
    assert hide(plain, kept) == 302
    rotating = host(desk, rotate_at_sign_in=True).test_client()
    rotating.get("/in/dana")
    old = token(rotating)
    rotating.get("/out-and-in/dana")
    assert hide(rotating, old) == 400
    assert hide(rotating, token(rotating)) == 302


def test_a_token_of_the_identity_only_form_is_refused(desk: Desk) -> None:
    """Tokens made before session binding (the identity alone, signed) are no longer good."""
    client = host(desk).test_client()
    client.get("/in/dana")
    token(client)
    legacy = CsrfSigner("s3cret")._serializer.dumps("contact:dana|staff:")
    assert hide(client, str(legacy)) == 400


def test_the_hosts_404_stays_its_own_outside_the_prefix(desk: Desk) -> None:
    client = host(desk).test_client()
    client.get("/in/dana")
    outside = client.get("/nowhere")
    assert outside.get_data(as_text=True) == "the host's own 404"
    assert "Content-Security-Policy" not in outside.headers
    inside = client.get(PREFIX + "/nowhere")
    assert inside.status_code == 404 and "Back to Your Updates" in inside.get_data(as_text=True)
    assert inside.headers["X-Frame-Options"] == "SAMEORIGIN"


# -- the example portal -------------------------------------------------------------------


def _portal() -> Any:
    spec = importlib.util.spec_from_file_location(
        "portal_app_security", ROOT / "examples" / "portal" / "app.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def portal_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    monkeypatch.delenv("PORTAL_SECURE_COOKIE", raising=False)
    monkeypatch.setenv("PORTAL_SECRET_FILE", str(tmp_path / "portal.key"))
    return tmp_path


def test_the_portal_session_cookie_is_httponly_and_samesite_lax(
    portal_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _portal().create_app(url=f"sqlite:///{portal_env / 'p.db'}")
    cookie = app.test_client().post("/", data={"who": "contact:dana"}).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    monkeypatch.setenv("PORTAL_SECURE_COOKIE", "1")
    app = _portal().create_app(url=f"sqlite:///{portal_env / 'p.db'}")
    cookie = app.test_client().post("/", data={"who": "contact:dana"}).headers["Set-Cookie"]
    assert "Secure" in cookie and "SameSite=Lax" in cookie


def test_the_portals_sign_out_and_in_leaves_no_token_good(portal_env: Path) -> None:
    app = _portal().create_app(url=f"sqlite:///{portal_env / 'p.db'}")
    client = app.test_client()
    client.post("/", data={"who": "contact:dana"})
    old = token(client)
    assert client.post("/signout").status_code == 303
    client.post("/", data={"who": "contact:dana"})
    assert hide(client, old) == 400
    assert hide(client, token(client)) == 302


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="file owners are a POSIX matter")
def test_the_portal_refuses_a_key_file_others_could_read_or_write(portal_env: Path) -> None:
    portal = _portal()
    key = portal_env / "portal.key"
    first = portal.secret_key()
    assert key.stat().st_mode & 0o077 == 0 and len(first) == 64
    assert portal.secret_key() == first  # the next worker reads the same key
    key.chmod(0o644)
    with pytest.raises(RuntimeError, match="PORTAL_SECRET_KEY"):
        portal.secret_key()
    key.unlink()
    key.symlink_to(portal_env / "elsewhere")
    (portal_env / "elsewhere").write_text("attacker's key")
    with pytest.raises(RuntimeError, match="not a key file"):
        portal.secret_key()


@pytest.mark.parametrize(
    ("error", "status", "shown"),
    [
        (InvalidInput("offset 9 is out of range: expected 0 to 1"), 400, "out of range"),
        (ConflictError("it changed meanwhile"), 409, "changed meanwhile"),
        (StorageError("disk on fire at /var/lib/x"), 503, None),
        (RuntimeError("a bug at line 3"), 500, None),
    ],
)
def test_every_library_error_is_a_friendly_page_with_the_headers(
    desk: Desk, error: Exception, status: int, shown: Any
) -> None:
    """A library error no view answered: a 4xx in its words, the store's a 503, a bug a 500."""
    app = Flask("failing_host")
    app.secret_key = "s"

    def failing() -> Desk:
        raise error

    mount(app, contact=lambda: "dana", desk=failing, url_prefix=PREFIX)
    resp = app.test_client().get(PREFIX + "/t/maple/requests")
    text = resp.get_data(as_text=True)
    assert resp.status_code == status and "Back to Your Updates" in text
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    if shown:
        assert shown in text
    else:
        assert str(error) not in text and "/var/lib" not in text
