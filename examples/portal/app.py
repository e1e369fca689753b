"""A minimal host portal: the siteupdates-web blueprint on the example setup.

Development only: anyone may sign in as any contact of the setup, or as provider
staff, from a list. A real portal signs people in its own way and passes the
signed-in contact's ID to ``mount``.

Run from the checkout (after installing ``plugins/siteupdates-web``)::

    .venv/bin/flask --app examples/portal/app.py run

``SITEUPDATES_SETUP`` names the setup file (default: examples/district.toml),
``SITEUPDATES_URL`` the storage (default: a SQLite file in a temporary
directory, filled from the setup at start; a ``postgresql://`` URL works once
``siteupdates-postgres`` is installed: storage plugins load from their entry
points), ``SITEUPDATES_NOW`` a fixed clock (the source document's moment,
2015-02-02T10:39:00Z, unless set to ``real``).

Sessions are signed with ``PORTAL_SECRET_KEY``; without it, a random key is
made once and kept in ``PORTAL_SECRET_FILE`` (default: a file of the user's in
the temporary directory, readable by that user only), so every worker process
of a server such as ``gunicorn -w 4 'app:create_app()'`` signs with the same
key. A key file another user could have written is refused. Set
``PORTAL_SECRET_KEY`` (the same value for every worker and every machine) in
production.

The session cookie is ``HttpOnly`` and ``SameSite=Lax`` (a page of another
site cannot post with it), and ``Secure`` when ``PORTAL_SECURE_COOKIE=1`` (set
it behind HTTPS). Signing in or out starts a new session, so no CSRF token of
the pages outlives it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import stat
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional

from flask import Flask, redirect, render_template_string, request, session, url_for
from flask.typing import ResponseReturnValue

from siteupdates import Desk
from siteupdates.errors import SiteUpdatesError
from siteupdates.presets import CAMPUS_HOSTING
from siteupdates.setupfile import load_setup, stored_preset
from siteupdates_web import mount

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT_NOW = "2015-02-02T10:39:00Z"

_SIGN_IN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Example portal: sign in</title>
<link rel="stylesheet" href="{{ url_for('siteupdates_web.static', filename='site.css') }}"></head>
<body class="su"><main class="su-main">
<h1>Example portal</h1>
<p class="su-muted">Development only: choose who you are. A real portal signs people in itself.</p>
<form method="post" class="su-card">
  <label for="who">Sign in as</label>
  <select id="who" name="who">
    {% for c in contacts %}
    <option value="contact:{{ c.id }}">{{ c.name }} ({{ c.role.value }})</option>
    {% endfor %}
    <option value="staff:provider">Provider staff</option>
  </select>
  <button type="submit" class="su-button su-primary">Sign in</button>
</form>
{% if who %}<p>Signed in as {{ who }}.
  <a href="{{ url_for('siteupdates_web.gadget_page') }}">Your Updates</a>
  {% if staff %} · <a href="{{ url_for('siteupdates_web.provider_queue') }}">Provider queue</a>
  {% endif %}</p>
<form method="post" action="{{ url_for('sign_out') }}">
  <button type="submit" class="su-button">Sign out</button>
</form>{% endif %}
</main></body></html>
"""


def _clock(now_text: Optional[str]) -> Optional[datetime]:
    text = now_text if now_text is not None else DOCUMENT_NOW
    if text == "real":
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def open_desk(url: str, setup: Path, now: Optional[datetime]) -> Desk:
    """A desk on ``url`` with the provider preset of ``setup``; loads it into an empty storage."""
    loaded = load_setup(setup)
    preset = stored_preset(loaded.settings)
    desk = Desk.open(
        url,
        clock=(lambda: now) if now else _real_now,
        preset=preset or CAMPUS_HOSTING,
        entry_points=True,  # postgresql:// and other storages come from plugins
    )
    if not desk.provider.tenants(limit=1):
        try:
            desk.provider.load_setup(loaded)
        except SiteUpdatesError:
            # Several workers starting on one empty store: one loads it, and the
            # others' loads lose the race. What counts is that it is loaded.
            if not desk.provider.tenants(limit=1):
                raise
    return desk


def _real_now() -> datetime:
    return datetime.now(timezone.utc)


def secret_key() -> str:
    """``PORTAL_SECRET_KEY``, else the key in ``PORTAL_SECRET_FILE``, made by the first process.

    A key of each worker's own would make a session signed by one worker
    invalid at the next: the file is created whole (written aside, then linked
    into place), so a process that loses the race reads the winner's key.
    """
    given = os.environ.get("PORTAL_SECRET_KEY")
    if given:
        return given
    uid = os.getuid() if hasattr(os, "getuid") else 0
    path = Path(
        os.environ.get("PORTAL_SECRET_FILE")
        or Path(tempfile.gettempdir()) / f"siteupdates-portal-{uid}.key"
    )
    if not path.exists():
        fd, aside = tempfile.mkstemp(dir=str(path.parent), prefix=".portal-key-")
        try:
            os.write(fd, secrets.token_hex(32).encode())
            os.close(fd)
            os.link(aside, path)
        except FileExistsError:
            pass  # another worker made it first: use theirs
        finally:
            os.unlink(aside)
    _check_key_file(path)
    return path.read_text().strip()


def _check_key_file(path: Path) -> None:
    """Refuse a key file someone else could have written or can read.

    The default lies in a shared temporary directory: another user who made the
    file first would know the key, and could sign any session.
    """
    if not hasattr(os, "getuid"):  # pragma: no cover - no owners to compare on Windows
        return
    st = path.lstat()
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise RuntimeError(
            f"{path} is not a key file of this user's alone (a regular file, owned by "
            "the user, mode 600): remove it, or set PORTAL_SECRET_KEY"
        )


def create_app(
    setup: Optional[Path] = None, url: Optional[str] = None, now: Optional[str] = None
) -> Flask:
    """The portal: a sign-in page and the blueprint under ``/updates``."""
    setup = setup or Path(os.environ.get("SITEUPDATES_SETUP", ROOT / "examples" / "district.toml"))
    if url is None:
        url = os.environ.get("SITEUPDATES_URL")
    if url is None:
        url = "sqlite:///" + str(Path(tempfile.mkdtemp(prefix="portal-")) / "portal.db")
    desk = open_desk(
        url, setup, _clock(now if now is not None else os.environ.get("SITEUPDATES_NOW"))
    )

    app = Flask(__name__)
    app.secret_key = secret_key()
    app.config.update(
        SESSION_COOKIE_NAME="portal_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("PORTAL_SECURE_COOKIE", "") in ("1", "true", "yes"),
    )

    def signed_in(kind: str) -> Optional[str]:
        who = str(session.get("who", ""))
        prefix = kind + ":"
        return who[len(prefix) :] if who.startswith(prefix) else None

    mount(
        app,
        contact=lambda: signed_in("contact"),
        staff=lambda: signed_in("staff"),
        desk=desk,
        url_prefix="/updates",
        login_url="/",
    )

    @app.route("/", methods=["GET", "POST"])
    def sign_in() -> ResponseReturnValue:
        contacts: List[object] = list(desk.storage.contacts())
        if request.method == "POST":
            # A new session for the new person: nothing of the last one's (its
            # CSRF nonce included) carries over. A host that cannot clear its
            # session calls siteupdates_web.rotate() here instead.
            session.clear()
            session["who"] = request.form.get("who", "")
            if session["who"].startswith("staff:"):
                return redirect(url_for("siteupdates_web.provider_queue"))
            return redirect(url_for("siteupdates_web.gadget_page"))
        who = session.get("who")
        return render_template_string(
            _SIGN_IN, contacts=contacts, who=who, staff=str(who or "").startswith("staff:")
        )

    @app.route("/signout", methods=["POST"])
    def sign_out() -> ResponseReturnValue:
        session.clear()
        return redirect(url_for("sign_in"), code=303)

    return app


def main(argv: Optional[List[str]] = None) -> None:
    """``python examples/portal/app.py --setup examples/district.toml``: run the dev server."""
    p = argparse.ArgumentParser(description="Example host portal for siteupdates-web")
    p.add_argument("--setup", type=Path, default=None)
    p.add_argument("--url", default=None, help="storage URL (default: a fresh SQLite file)")
    p.add_argument("--now", default=None, help="fixed clock, ISO instant, or 'real'")
    p.add_argument("--port", type=int, default=5000)
    a = p.parse_args(argv)
    create_app(a.setup, a.url, a.now).run(host="127.0.0.1", port=a.port)


if __name__ == "__main__":
    main()
