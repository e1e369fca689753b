"""The security suite's adapter for the Flask blueprint (``siteupdates-web``)."""

from __future__ import annotations

import contextlib
import re
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Optional, Set
from urllib.parse import urlencode

from siteupdates import Desk
from siteupdates.actionlinks import ActionLinks, install

from . import world
from .framework import Resp, Unavailable
from .shared import PREFIX, WRITES, WorldPages

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class FlaskHost(WorldPages):
    """A host app as a careless portal writes it: sign-out drops its keys, never clears."""

    name = "flask"
    prefix = PREFIX
    endpoint_prefix = "siteupdates_web."

    def __init__(self, where: Path) -> None:
        try:
            import flask  # noqa: F401

            import siteupdates_web  # noqa: F401
        except ImportError as exc:  # pragma: no cover - the suite's environment has both
            raise Unavailable(f"Flask or siteupdates-web is not installed: {exc}") from exc
        self.desk: Desk = world.open_world(where)
        self.ids: Dict[str, str] = world.populate(self.desk)
        self.links = ActionLinks("links-secret", "http://localhost" + PREFIX + "/act")
        install(self.desk, self.links)
        self._crash = False
        self.app = self._make_app()
        self.client = self.app.test_client()

    def _make_app(self) -> Any:
        from flask import Flask, request, session

        from siteupdates_web import mount

        app = Flask("security_host")
        app.secret_key = "security-host-secret"

        @app.route("/_signin")
        def sign_in() -> str:
            session["contact"] = request.args.get("contact") or None
            session["staff"] = request.args.get("staff") or None
            return "signed in"

        @app.route("/_signout")
        def sign_out() -> str:
            session.pop("contact", None)
            session.pop("staff", None)
            return "signed out"

        def desk() -> Desk:
            if self._crash:
                self._crash = False
                raise RuntimeError("the store fell over (a test asked it to)")
            return self.desk

        mount(
            app,
            contact=lambda: session.get("contact"),
            staff=lambda: session.get("staff"),
            desk=desk,
            url_prefix=PREFIX,
            action_links=self.links,
        )
        return app

    # -- requests ---------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        data: Optional[Mapping[str, str]] = None,
        *,
        raw_body: Optional[bytes] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Resp:
        kw: Dict[str, Any] = {"method": method, "headers": dict(headers or {})}
        if raw_body is not None:
            kw["data"] = raw_body
            kw["content_type"] = "application/x-www-form-urlencoded"
        elif data is not None:
            kw["data"] = dict(data)
        r = self.client.open(path, **kw)
        return Resp(r.status_code, r.get_data(), {k.lower(): v for k, v in r.headers.items()})

    def sign_in(self, contact: Optional[str] = None, staff: Optional[str] = None) -> None:
        assert self.request("GET", self.sign_in_url(contact, staff)).status == 200

    def sign_out(self) -> None:
        assert self.request("GET", "/_signout").status == 200

    def new_session(self) -> None:
        self.client = self.app.test_client()

    def csrf_token(self, page: str) -> str:
        found = _TOKEN.search(self.request("GET", page).text)
        assert found, f"no CSRF token on {page}"
        return found.group(1)

    def post(self, path: str, data: Mapping[str, str], token: Optional[str]) -> Resp:
        body = dict(data)
        if token is not None:
            body["csrf_token"] = token
        return self.request("POST", path, body)

    def csrf_refused(self, resp: Resp) -> bool:
        return resp.status == 400 and b"did not come from this site" in resp.body

    # -- the routes -------------------------------------------------------------------

    def state_changing_endpoints(self) -> Set[str]:
        return {
            r.endpoint
            for r in self.app.url_map.iter_rules()
            if r.endpoint.startswith("siteupdates_web.") and WRITES & set(r.methods or ())
        }

    def crash_next(self) -> None:
        self._crash = True

    # -- a real server, for the browser -------------------------------------------------

    @contextlib.contextmanager
    def live(self) -> Iterator[str]:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

        server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=Quiet)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(10)

    def sign_in_url(self, contact: Optional[str] = None, staff: Optional[str] = None) -> str:
        args = {k: v for k, v in (("contact", contact), ("staff", staff)) if v}
        return "/_signin?" + urlencode(args)


def make(where: Path) -> FlaskHost:
    """The Flask host on a fresh world in ``where``."""
    return FlaskHost(where)
