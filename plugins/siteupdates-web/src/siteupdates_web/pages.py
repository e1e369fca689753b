"""The screens' page logic, free of any web framework.

A screen reads a :class:`PageRequest` (method, query, form, cookies, who is
signed in, how to build a URL) and returns a :class:`Page` to render, a
:class:`Redirect` or a :class:`Body`; it raises :class:`PageError` where the
framework would abort. The Flask blueprint (:mod:`siteupdates_web`) and the
Django app (``siteupdates_django``) each turn a request into a
:class:`PageRequest` and a result into a response, and route the same
:data:`ROUTES` to the same screens, rendering the same templates.
"""

from __future__ import annotations

from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from siteupdates.errors import (
    AccessDenied,
    ConflictError,
    DeliveryError,
    DuplicateKey,
    LeaseLost,
    NotFound,
    RequestRefused,
    SiteUpdatesError,
    StorageError,
)
from siteupdates.i18n import N_

__all__ = [
    "MESSAGES",
    "ROUTES",
    "Body",
    "Cookie",
    "Fields",
    "Page",
    "PageError",
    "PageRequest",
    "Redirect",
    "Result",
    "Route",
    "etag_matches",
    "security_headers",
    "status_for",
]

#: The error page's title and text by status; other statuses read as 500.
MESSAGES: Mapping[int, Tuple[str, str]] = {
    400: (
        N_("That did not work"),
        N_("The form was not accepted. Reload the page and try again."),
    ),
    401: (N_("Please sign in"), N_("Sign in to see your updates.")),
    403: (N_("Not connected"), N_("Your sign-in is not connected to any site.")),
    404: (N_("Not found"), N_("There is nothing here, or it is not yours to see.")),
    405: (N_("Not allowed"), N_("That page cannot be used that way.")),
    409: (
        N_("Changed meanwhile"),
        N_("Someone changed this at the same time. Look again and retry."),
    ),
    413: (N_("Too much"), N_("That was more than this page accepts.")),
    422: (N_("Not accepted"), N_("That cannot be done now.")),
    500: (
        N_("Something went wrong"),
        N_(
            "We could not finish that. Nothing you entered was lost on our side; try again "
            "in a moment."
        ),
    ),
    503: (
        N_("Not available just now"),
        N_("We could not reach our records; try again in a moment."),
    ),
}


class Fields:
    """Read-only form or query values: each name may come several times."""

    def __init__(self, pairs: Iterable[Tuple[str, str]] = ()) -> None:
        self._values: Dict[str, List[str]] = {}
        for key, value in pairs:
            self._values.setdefault(key, []).append(value)

    def get(self, key: str, default: Any = None) -> Any:
        """The first value given for ``key``, else ``default``."""
        found = self._values.get(key)
        return found[0] if found else default

    def getlist(self, key: str) -> List[str]:
        """Every value given for ``key``, in order."""
        return list(self._values.get(key, ()))

    def items(self) -> Iterator[Tuple[str, str]]:
        """Each name with its first value."""
        return ((k, v[0]) for k, v in self._values.items() if v)

    def __getitem__(self, key: str) -> str:
        found = self._values.get(key)
        if not found:
            raise KeyError(key)
        return found[0]

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __bool__(self) -> bool:
        return bool(self._values)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)


def _nobody() -> Optional[str]:
    return None


class PageRequest:
    """One request as the screens read it; each framework's adapter makes it.

    ``contact`` and ``staff`` return the signed-in contact's ID and staff
    member's name (or None); ``url_for(endpoint, **values)`` builds a URL of
    :data:`ROUTES` (``".requests_of"``), values not in the rule going into the
    query; ``link_csrf(token)`` is the CSRF token of an action link's form.
    """

    def __init__(
        self,
        *,
        method: str = "GET",
        args: Optional[Fields] = None,
        form: Optional[Fields] = None,
        cookies: Optional[Mapping[str, str]] = None,
        is_secure: bool = False,
        if_none_match: str = "",
        url_for: Callable[..., str],
        contact: Callable[[], Optional[str]] = _nobody,
        staff: Callable[[], Optional[str]] = _nobody,
        link_csrf: Callable[[str], str] = lambda token: "",
    ) -> None:
        self.method = method.upper()
        self.args = args if args is not None else Fields()
        self.form = form if form is not None else Fields()
        self.cookies: Mapping[str, str] = cookies or {}
        self.is_secure = is_secure
        self.if_none_match = if_none_match
        self.url_for = url_for
        self.contact = contact
        self.staff = staff
        self.link_csrf = link_csrf

    def identity(self) -> str:
        """Who is signed in, as one string (the gadget's ETag is bound to it)."""
        return f"contact:{self.contact() or ''}|staff:{self.staff() or ''}"


class Cookie:
    """A cookie a result sets."""

    def __init__(
        self,
        name: str,
        value: str,
        *,
        max_age: int,
        path: str,
        samesite: Literal["Lax", "Strict", "None"] = "Lax",
        httponly: bool = True,
        secure: bool = False,
    ) -> None:
        self.name = name
        self.value = value
        self.max_age = max_age
        self.path = path
        self.samesite = samesite
        self.httponly = httponly
        self.secure = secure


class Result:
    """What a screen answers: a status, headers and cookies to set."""

    def __init__(
        self,
        status: int = 200,
        headers: Optional[Mapping[str, str]] = None,
        cookies: Sequence[Cookie] = (),
    ) -> None:
        self.status = status
        self.headers: Dict[str, str] = dict(headers or {})
        self.cookies: List[Cookie] = list(cookies)


class Page(Result):
    """A template to render with ``context``; ``frameable`` lets other pages frame it."""

    def __init__(
        self,
        template: str,
        context: Optional[Mapping[str, Any]] = None,
        status: int = 200,
        headers: Optional[Mapping[str, str]] = None,
        *,
        frameable: bool = False,
        cookies: Sequence[Cookie] = (),
    ) -> None:
        super().__init__(status, headers, cookies)
        self.template = template
        self.context: Dict[str, Any] = dict(context or {})
        self.frameable = frameable


class Redirect(Result):
    """Go to ``location`` (302 by default, 303 after a form)."""

    def __init__(
        self, location: str, status: int = 302, *, cookies: Sequence[Cookie] = ()
    ) -> None:
        super().__init__(status, {"Location": location}, cookies)
        self.location = location


class Body(Result):
    """A body as it is (a calendar file), or none (a 304)."""

    def __init__(
        self,
        content: Union[str, bytes] = b"",
        status: int = 200,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(status, headers)
        self.content = content.encode("utf-8") if isinstance(content, str) else content


class PageError(Exception):
    """Answer the error page of ``status``; ``detail`` is shown for 400 and 403 only."""

    def __init__(self, status: int, detail: Optional[str] = None) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail


def status_for(exc: BaseException) -> int:
    """The status of the error page a library error becomes (never 500 for one).

    Not found and not yours read alike (R22); a change made meanwhile is 409; a
    refusal 422; the store's failure 503 (not the request's fault, nothing of
    it shown); any other :class:`~siteupdates.errors.SiteUpdatesError`, and a
    value out of the calendar's range (``OverflowError``), is the request's
    fault: 400.
    """
    if isinstance(exc, PageError):
        return exc.status
    if isinstance(exc, (AccessDenied, NotFound)):
        return 404
    if isinstance(exc, (ConflictError, DuplicateKey, LeaseLost)):
        return 409
    if isinstance(exc, RequestRefused):
        return 422
    if isinstance(exc, (StorageError, DeliveryError)):
        return 503
    if isinstance(exc, (SiteUpdatesError, OverflowError)):
        return 400
    return 500


def etag_matches(header: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weakly compared) or is ``*``."""
    for part in header.split(","):
        tag = part.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag.strip('"') == etag and tag:
            return True
    return False


def security_headers(
    *, frameable: bool, frame_ancestors: Sequence[str], html: bool
) -> Dict[str, str]:
    """The headers every response of the screens carries (set where not set already)."""
    framing = " ".join(frame_ancestors) if frameable else "'self'"
    out = {
        "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; "
        f"frame-ancestors {framing}",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    if not frameable:
        out["X-Frame-Options"] = "SAMEORIGIN"
    if html:
        out["Cache-Control"] = "private, no-cache"
    return out


class Route:
    """One URL rule: its endpoint, the screen and method that answer it, its HTTP methods.

    ``screen`` is ``contact``, ``provider``, ``reads`` or ``links``.
    """

    def __init__(
        self, rule: str, endpoint: str, screen: str, view: str, methods: Sequence[str] = ("GET",)
    ) -> None:
        self.rule = rule
        self.endpoint = endpoint
        self.screen = screen
        self.view = view
        self.methods = tuple(methods)

    def __repr__(self) -> str:
        return f"Route({self.rule!r}, {self.endpoint!r})"


_POST = ("POST",)
_REQ = "/t/<tenant_id>/requests/<request_id>"

#: Every page of the screens, for every framework (the static files' route is
#: each framework's own, endpoint ``static``).
ROUTES: Tuple[Route, ...] = (
    Route("/", "gadget_page", "contact", "gadget_page"),
    Route("/gadget", "gadget_frame", "contact", "gadget_frame"),
    Route("/gadget/fragment", "gadget_fragment", "contact", "gadget_fragment"),
    Route("/requests", "requests_home", "contact", "requests_home"),
    Route("/t/<tenant_id>/requests", "requests_of", "contact", "requests_of"),
    Route("/t/<tenant_id>/hide-complete", "hide_complete", "contact", "hide_complete", _POST),
    Route("/t/<tenant_id>/new", "new_request", "contact", "new_request", ("GET", "POST")),
    Route(_REQ, "request_detail", "contact", "detail"),
    Route(f"{_REQ}/remove", "remove_request", "contact", "remove", _POST),
    Route(f"{_REQ}/answer", "answer_request", "contact", "answer", _POST),
    Route(f"{_REQ}/move", "move_request", "contact", "move", _POST),
    Route(f"{_REQ}/postpone", "postpone_request", "contact", "postpone", _POST),
    Route(f"{_REQ}/approve", "approve_request", "contact", "approve", _POST),
    Route(f"{_REQ}/decline", "decline_request", "contact", "decline", _POST),
    Route("/calendar.ics", "calendar_feed", "contact", "calendar_feed"),
    Route("/act/<token>", "action_link", "links", "action_link", ("GET", "POST")),
    Route("/provider/", "provider_queue", "provider", "queue"),
    Route("/provider/plan", "provider_plan", "provider", "plan", _POST),
    Route("/provider/requests/<request_id>", "provider_request", "provider", "detail"),
    Route("/provider/requests/<request_id>/<action>", "provider_act", "provider", "act", _POST),
    Route("/provider/outbox", "provider_outbox", "provider", "outbox"),
    Route("/provider/read/<name>", "provider_read", "reads", "read"),
    Route("/provider/outbox/deliver", "provider_deliver", "provider", "deliver", _POST),
    Route("/provider/outbox/<item_id>/retry", "provider_retry", "provider", "retry", _POST),
)
