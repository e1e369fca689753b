"""The security suite's adapter for the Django app (``siteupdates-django``).

Django's settings can be configured once per process, and the Django app's own
tests configure them (``plugins/siteupdates-django/tests/django_host.py``): this
adapter uses that very configuration (:func:`configure` calls the same helper,
whichever suite is collected first), the same host project (its URLs, its
development sign-in), and pytest-django's database (a transactional one, so the
live server's threads see the users and sessions). Per test it only overrides
the ``SITEUPDATES`` setting (action links, who is a contact) and hands the
world's desk to :func:`siteupdates_django.set_desk`.

People sign in and out through the host's views (``login``/``logout`` in a real
request), never ``Client.force_login``, which would skip the CSRF rotation a
real sign-in does.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Optional, Set
from urllib.parse import urlencode

from siteupdates import Desk

from . import world
from .framework import Resp, Unavailable
from .shared import PREFIX, WRITES, WorldPages

NAMESPACE = "siteupdates"
#: Where the host project of the Django app's tests lives.
HOST_DIR = world.ROOT / "plugins" / "siteupdates-django" / "tests"
_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_FORM = "application/x-www-form-urlencoded"


def configure() -> bool:
    """Configure Django as the Django app's tests do (once per process); False without Django."""
    try:
        import django

        import siteupdates_django  # noqa: F401
    except ImportError:
        return False
    if str(HOST_DIR) not in sys.path:
        sys.path.insert(0, str(HOST_DIR))
    import django_host

    django_host.configure()
    # The browser tests' Playwright (sync API) keeps an event loop in the main thread for
    # a whole module, around the database setup and flushes, which are synchronous
    # all the same: Django would refuse them as calls "from an async context".
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.apps import apps

    if not apps.ready:
        django.setup()
    return True


def contact_of(user: Any) -> Optional[str]:
    """The suite's mapping: a user with the provider permission is staff, anyone else a contact."""
    from siteupdates_django import conf

    if user.has_perm(conf.permission()):
        return None
    return str(user.get_username())


class DjangoHost(WorldPages):
    """The Django app in the tests' host project, on the hostile world."""

    name = "django"
    prefix = PREFIX
    endpoint_prefix = NAMESPACE + ":"

    def __init__(self, where: Path) -> None:
        if not configure():
            raise Unavailable("Django or siteupdates-django is not installed")
        from django.test import Client
        from django.test.utils import override_settings

        import siteupdates_django
        from siteupdates.actionlinks import install
        from siteupdates_django.store import action_links

        self.desk: Desk = world.open_world(where)
        self.ids: Dict[str, str] = world.populate(self.desk)
        self._override = override_settings(
            SITEUPDATES={
                "URL": f"sqlite:///{where / 'unused.db'}",  # the desk below is used instead
                "CONTACT": contact_of,
                "ACTION_LINKS": {
                    "BASE_URL": "http://testserver" + PREFIX + "/act",
                    "SECRET": "links-secret",
                },
            }
        )
        self._override.enable()
        siteupdates_django.set_desk(self.desk)
        links = action_links()
        assert links is not None
        self.links = links
        install(self.desk, links)
        self._client_class = Client
        self.client = Client(enforce_csrf_checks=True)

    def close(self) -> None:
        """Give the settings and the app's desk back as they were."""
        import siteupdates_django

        siteupdates_django.set_desk(None)
        self._override.disable()
        self.desk.close()

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
        body: Any = ""
        if raw_body is not None:
            body = raw_body
        elif data is not None:
            body = urlencode(list(data.items()))
        r = self.client.generic(
            method, path, body, content_type=_FORM, headers=dict(headers or {})
        )
        found = {k.lower(): v for k, v in r.items()}
        content = b"".join(getattr(r, "streaming_content", ())) if r.streaming else r.content
        return Resp(r.status_code, content, found)

    def sign_in(self, contact: Optional[str] = None, staff: Optional[str] = None) -> None:
        assert self.request("GET", self.sign_in_url(contact, staff)).status == 200

    def sign_out(self) -> None:
        assert self.request("GET", "/_signout").status == 200

    def new_session(self) -> None:
        self.client = self._client_class(enforce_csrf_checks=True)

    def csrf_token(self, page: str) -> str:
        found = _TOKEN.search(self.request("GET", page).text)
        assert found, f"no CSRF token on {page}"
        return found.group(1)

    def post(self, path: str, data: Mapping[str, str], token: Optional[str]) -> Resp:
        body = dict(data)
        if token is not None:
            body["csrfmiddlewaretoken"] = token
        return self.request("POST", path, body)

    def csrf_refused(self, resp: Resp) -> bool:
        return resp.status == 400 and b"did not come from this site" in resp.body

    # -- the routes -------------------------------------------------------------------

    def state_changing_endpoints(self) -> Set[str]:
        """The app's routes taking a write method, read from Django's URL resolver."""
        from django.urls import URLResolver, get_resolver

        from siteupdates_web.pages import ROUTES

        methods = {r.endpoint: set(r.methods) for r in ROUTES}
        found: Set[str] = set()
        for entry in get_resolver().url_patterns:
            if not isinstance(entry, URLResolver) or entry.namespace != NAMESPACE:
                continue
            for pattern in entry.url_patterns:
                name = getattr(pattern, "name", None)
                if name and WRITES & methods.get(name, set()):
                    found.add(f"{NAMESPACE}:{name}")
        assert found, "the host's URL config has no siteupdates namespace"
        return found

    def crash_next(self) -> None:
        from siteupdates_django import store

        real = self.desk

        class Falls:
            """The store, falling over once: the next use raises, and the real desk is back."""

            def __getattr__(self, name: str) -> Any:
                store.set_desk(real)
                raise RuntimeError("the store fell over (a test asked it to)")

        store.set_desk(Falls())  # type: ignore[arg-type]

    # -- a real server, for the browser -------------------------------------------------

    @contextlib.contextmanager
    def live(self) -> Iterator[str]:
        from socketserver import ThreadingMixIn
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        from django.core.handlers.wsgi import WSGIHandler

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

        class Threaded(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        server = make_server(
            "127.0.0.1", 0, WSGIHandler(), server_class=Threaded, handler_class=Quiet
        )
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)

    def sign_in_url(self, contact: Optional[str] = None, staff: Optional[str] = None) -> str:
        if staff:
            return "/_signin?" + urlencode({"user": staff, "staff": "1"})
        return "/_signin?" + urlencode({"user": contact or ""})


def make(where: Path) -> DjangoHost:
    """The Django host on a fresh world in ``where`` (the database: see :func:`prepare`)."""
    return DjangoHost(where)
