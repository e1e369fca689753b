"""Helpers of the web tests: a host app on a SQLite file with the example setup, a fixed clock."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Optional, Union

from flask import Flask, session
from flask.testing import FlaskClient

from siteupdates import Desk
from siteupdates.plugins import PluginHost
from siteupdates.setupfile import load_setup, stored_preset
from siteupdates_web import mount

ROOT = Path(__file__).resolve().parents[3]
SETUP = ROOT / "examples" / "district.toml"
#: The moment of the source document's overview ("Updated 4:39 AM CST").
NOW = datetime(2015, 2, 2, 10, 39, tzinfo=timezone.utc)
PREFIX = "/updates"


def open_desk(where: Union[Path, str]) -> Desk:
    """A desk on a SQLite file (a path) or a storage URL, set up from the example."""
    # The preset is read from the setup and given to open(): the desk's own
    # preset attribute is not writable in every version of the library.
    setup = load_setup(SETUP)
    preset = stored_preset(setup.settings)
    assert preset is not None
    if isinstance(where, Path):
        desk = Desk.open("sqlite:///" + str(where), clock=lambda: NOW, preset=preset)
    else:
        import siteupdates_postgres

        host = PluginHost(plugins=[siteupdates_postgres], entry_points=False)
        desk = Desk.open(where, host=host, clock=lambda: NOW, preset=preset)
    desk.load_setup(setup)
    return desk


def make_app(desk: Desk) -> Flask:
    """The host: a development sign-in at /_signin?contact=ID or ?staff=NAME."""
    app = Flask("test_host")
    app.secret_key = "test-secret"

    @app.route("/_signin")
    def sign_in() -> str:
        from flask import request

        session["contact"] = request.args.get("contact") or None
        session["staff"] = request.args.get("staff") or None
        return "ok"

    mount(
        app,
        contact=lambda: session.get("contact"),
        staff=lambda: session.get("staff"),
        desk=desk,
        url_prefix=PREFIX,
    )
    return app


def sign_in(
    client: FlaskClient, contact: Optional[str] = None, staff: Optional[str] = None
) -> None:
    args: Dict[str, str] = {}
    if contact:
        args["contact"] = contact
    if staff:
        args["staff"] = staff
    assert client.get("/_signin", query_string=args).status_code == 200


def token(client: FlaskClient, path: str = PREFIX + "/t/maple/requests") -> str:
    """A CSRF token from a page the signed-in person may see."""
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, html
    return m.group(1)
