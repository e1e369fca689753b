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
from typing import Any, Dict, Iterator, List, Mapping, Optional, Set
from urllib.parse import urlencode

from siteupdates import Desk
from siteupdates.usecases import Role, by_actor

from . import world
from .framework import Resp, Route, Unavailable

PREFIX = "/updates"
NAMESPACE = "siteupdates"
#: Where the host project of the Django app's tests lives.
HOST_DIR = world.ROOT / "plugins" / "siteupdates-django" / "tests"
#: The provider's actions on one request (``/provider/requests/<id>/<action>``).
PROVIDER_ACTIONS = ("schedule", "reschedule", "ask", "answered", "defer", "resume", "fail")
_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
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


class DjangoHost:
    """The Django app in the tests' host project, on the hostile world."""

    name = "django"
    prefix = PREFIX

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
                if name and _WRITES & methods.get(name, set()):
                    found.add(f"{NAMESPACE}:{name}")
        assert found, "the host's URL config has no siteupdates namespace"
        return found

    def routes(self) -> List[Route]:
        t, ids = world.TENANT, self.ids
        mine = f"{PREFIX}/t/{t}/requests/{ids['open']}"
        page = f"{PREFIX}/t/{t}/requests"
        link = self.links.token(
            world.CONTACT, self.desk.contact(world.CONTACT).request(ids["open"]), "cancel",
            world.NOW,
        )  # fmt: skip
        outbox = list(self.desk.provider.outbox(limit=1))
        assert outbox, "the world's notices fill the outbox"
        n = NAMESPACE
        # The link first: the other routes' accepted posts may cancel its request.
        found = [
            Route(f"{n}:action_link", f"{PREFIX}/act/{link}", {}, "link", f"{PREFIX}/act/{link}"),
            Route(f"{n}:hide_complete", f"{PREFIX}/t/{t}/hide-complete", {"hide": "1"},
                  "contact", page),
            Route(f"{n}:new_request", f"{PREFIX}/t/{t}/new", {
                "key": "k-0123456789", "target": "staging", "version": "", "db_refresh": "yes",
                "date": "2015-02-20", "time": "22:00", "ambiguity": "earlier",
                "action": "submit"}, "contact", f"{PREFIX}/t/{t}/new"),
            Route(f"{n}:remove_request", mine + "/remove", {"confirmed": "1"}, "contact", page),
            Route(f"{n}:answer_request", f"{PREFIX}/t/{t}/requests/{ids['asked']}/answer",
                  {"answer": "by phone"}, "contact", page),
            Route(f"{n}:move_request", mine + "/move", {"date": "2015-02-21", "time": "22:00"},
                  "contact", page),
            Route(f"{n}:postpone_request", f"{PREFIX}/t/{t}/requests/{ids['scheduled']}/postpone",
                  {"how": "next-window"}, "contact", page),
            Route(f"{n}:approve_request", mine + "/approve", {}, "contact", page),
            Route(f"{n}:decline_request", mine + "/decline", {"reason": "no"}, "contact", page),
            Route(f"{n}:provider_plan", f"{PREFIX}/provider/plan", {"mode": "store"}, "staff",
                  f"{PREFIX}/provider/"),
            Route(f"{n}:provider_deliver", f"{PREFIX}/provider/outbox/deliver", {}, "staff",
                  f"{PREFIX}/provider/outbox"),
            Route(f"{n}:provider_retry", f"{PREFIX}/provider/outbox/{outbox[0].id}/retry", {},
                  "staff", f"{PREFIX}/provider/outbox"),
        ]  # fmt: skip
        for action in PROVIDER_ACTIONS:
            found.append(
                Route(
                    f"{n}:provider_act",
                    f"{PREFIX}/provider/requests/{ids['open']}/{action}",
                    {"reason": "why", "date": "2015-02-22", "time": "05:00"},
                    "staff",
                    f"{PREFIX}/provider/",
                    label=f"provider_act:{action}",
                )
            )
        return found

    def readable_paths(self) -> List[str]:
        base = PREFIX + "/t/{tenant}"
        return [
            base + "/requests",
            base + "/new",
            base + "/requests/{request}",
            PREFIX + "/gadget/fragment?tenant={tenant}",
            PREFIX + "/requests?tenant={tenant}",
        ]

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

    def pages(self, who: str) -> List[str]:
        ids = self.ids
        if who == "contact":
            t = f"{PREFIX}/t/{world.TENANT}"
            mine = [v for k, v in ids.items() if k != "other"]
            return [
                PREFIX + "/",
                PREFIX + "/gadget",
                PREFIX + "/gadget/fragment",
                t + "/requests",
                t + "/new",
                *(f"{t}/requests/{rid}" for rid in mine),
                f"{PREFIX}/act/"
                + self.links.token(
                    world.CONTACT, self.desk.contact(world.CONTACT).request(ids["asked"]),
                    "answer", world.NOW,
                ),
            ]  # fmt: skip
        reads = sorted(
            uc.name
            for uc in by_actor(Role.PROVIDER)
            if not uc.writes and not uc.python_only and not any(p.required for p in uc.params)
        )
        return [
            PREFIX + "/provider/",
            PREFIX + "/provider/?view=open",
            PREFIX + "/provider/?view=done",
            PREFIX + "/provider/outbox",
            *(f"{PREFIX}/provider/requests/{rid}" for rid in ids.values()),
            *(f"{PREFIX}/provider/read/{name}" for name in reads),
        ]


def make(where: Path) -> DjangoHost:
    """The Django host on a fresh world in ``where`` (the database: see :func:`prepare`)."""
    return DjangoHost(where)
