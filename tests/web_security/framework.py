"""What the security suite needs of a framework: the interface every adapter implements.

The suite never imports a web framework itself. An adapter module
(``tests/web_security/<name>_adapter.py``) has a function ``make(where: Path)``
returning a :class:`Framework` on a fresh store set up from :func:`world.setup_text`
(the example's tenants, with a hostile value in every free-text field), and is
listed in :data:`ADAPTERS`. ``make`` raises :class:`Unavailable` when the
framework's packages are missing; the suite then skips that framework.

An adapter may also have ``close()`` (called after the test: give back what it
changed). The Django adapter
(``django_adapter.py``) configures Django with the very helper of
``plugins/siteupdates-django/tests/django_host.py`` (settings are once per
process), uses pytest-django's transactional database, overrides only the
``SITEUPDATES`` setting per test, gives the world's desk to
``siteupdates_django.set_desk``, signs in and out through the host's views
(``login``/``logout``: ``Client.force_login`` would skip the CSRF rotation of a
real sign-in), sends tokens as ``csrfmiddlewaretoken`` (the app's 400 page
refuses them) and lists the state-changing routes from Django's URL resolver
(``siteupdates_web.pages.ROUTES`` names them for both frameworks).
"""

from __future__ import annotations

from typing import Any, Callable, ContextManager, Dict, List, Mapping, Optional, Protocol, Set

import attrs

from siteupdates import Desk

__all__ = ["ADAPTERS", "Framework", "Resp", "Route", "Unavailable"]

#: The adapters the suite runs, by name (a module ``tests.web_security.<name>_adapter``).
ADAPTERS = ("flask", "django")


class Unavailable(Exception):
    """The framework (or its plugin) is not installed here: its tests skip."""


@attrs.frozen
class Resp:
    """A response as the suite sees it: status, body bytes, headers with lower-case names."""

    status: int
    body: bytes
    headers: Mapping[str, str]

    @property
    def text(self) -> str:
        """The body as text (the pages are UTF-8)."""
        return self.body.decode("utf-8", "replace")


@attrs.frozen
class Route:
    """One state-changing route with sample parameters.

    ``endpoint`` is the framework's name of the route (what
    :meth:`Framework.state_changing_endpoints` lists); ``who`` is ``contact``
    (signed in as :data:`world.CONTACT`), ``staff`` (as :data:`world.STAFF`) or
    ``link`` (nobody signed in: the route's own token is in its path); ``page``
    is a page that shows the form whose CSRF token the route takes.
    """

    endpoint: str
    path: str
    data: Mapping[str, str]
    who: str
    page: str
    label: str = ""

    def __str__(self) -> str:
        return self.label or self.endpoint


class Framework(Protocol):
    """One framework's host app with the siteupdates pages mounted under :attr:`prefix`."""

    name: str
    #: Where the pages are mounted, such as ``/updates``.
    prefix: str
    desk: Desk
    #: Request IDs of the world by name (see :func:`world.populate`).
    ids: Dict[str, str]

    def request(
        self,
        method: str,
        path: str,
        data: Optional[Mapping[str, str]] = None,
        *,
        raw_body: Optional[bytes] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Resp:
        """One request of this session (cookies kept); ``path`` may hold a query string."""

    def sign_in(self, contact: Optional[str] = None, staff: Optional[str] = None) -> None:
        """Sign this session in as the host does."""

    def sign_out(self) -> None:
        """Sign this session out as the host does."""

    def new_session(self) -> None:
        """Forget every cookie: the next request starts another session."""

    def csrf_token(self, page: str) -> str:
        """The CSRF token of the first form on ``page`` (GET, in this session)."""

    def post(self, path: str, data: Mapping[str, str], token: Optional[str]) -> Resp:
        """POST ``data`` with ``token`` where the framework expects it (None: no token)."""

    def csrf_refused(self, resp: Resp) -> bool:
        """Whether ``resp`` is the framework's refusal of a missing or wrong CSRF token."""

    def routes(self) -> List[Route]:
        """Every state-changing route, with sample parameters of the world."""

    def state_changing_endpoints(self) -> Set[str]:
        """The names of every route taking POST (or PUT, PATCH, DELETE), from the URL config."""

    def readable_paths(self) -> List[str]:
        """Every GET page of one request, with ``{tenant}`` and ``{request}`` placeholders."""

    def crash_next(self) -> None:
        """Make the next request's use of the store fail with an unexpected error (a 500)."""

    def live(self) -> ContextManager[str]:
        """The host on a real HTTP server: the base URL, for a browser."""

    def sign_in_url(self, contact: Optional[str] = None, staff: Optional[str] = None) -> str:
        """A path a browser opens to sign in (development sign-in of the test host)."""

    def pages(self, who: str) -> List[str]:
        """Every HTML page ``who`` (``contact`` or ``staff``) may open in the world."""


#: Builds a framework adapter on a directory of its own.
Maker = Callable[[Any], Framework]
