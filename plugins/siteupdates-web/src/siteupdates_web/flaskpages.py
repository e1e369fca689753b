"""The Flask side of the screens: Flask's request in, a Flask response out.

A request becomes a :class:`~.pages.PageRequest`, a screen's result a response.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Tuple

from flask import abort, g, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .base import IdentitySource
from .pages import Body, Fields, Page, PageError, PageRequest, Redirect, Result

__all__ = ["page_request", "respond", "view"]


def _nobody() -> Optional[str]:
    return None


class _LazyFields(Fields):
    """Fields read from ``source`` when first asked: most pages never read their form.

    Werkzeug parses a request's form (and decides there is none) on first use;
    the gadget, on every home page, never uses it.
    """

    def __init__(self, source: Callable[[], Iterable[Tuple[str, str]]]) -> None:
        self._source = source

    def __getattr__(self, name: str) -> Any:
        if name != "_values":
            raise AttributeError(name)
        Fields.__init__(self, self._source())
        return self._values


def page_request(
    *,
    contact: IdentitySource,
    staff: Optional[IdentitySource],
    link_csrf: Callable[[str], str],
) -> PageRequest:
    """Flask's current request as the screens read it."""
    return PageRequest(
        method=request.method,
        args=Fields(request.args.items(multi=True)),
        form=_LazyFields(lambda: request.form.items(multi=True)),
        cookies=request.cookies,
        is_secure=request.is_secure,
        if_none_match=request.headers.get("If-None-Match", ""),
        url_for=url_for,
        contact=contact,
        staff=staff or _nobody,
        link_csrf=link_csrf,
    )


def respond(result: Result) -> Response:
    """A screen's result as a Flask response."""
    resp: Response
    if isinstance(result, Page):
        if result.frameable:
            g.siteupdates_web_frameable = True
        resp = make_response(render_template(result.template, **result.context), result.status)
    elif isinstance(result, Redirect):
        resp = redirect(result.location, code=result.status)
    else:
        assert isinstance(result, Body)
        resp = Response(result.content, status=result.status)
    for name, value in result.headers.items():
        if name != "Location":
            resp.headers[name] = value
    for c in result.cookies:
        resp.set_cookie(
            c.name, c.value, max_age=c.max_age, path=c.path, samesite=c.samesite,
            httponly=c.httponly, secure=c.secure,
        )  # fmt: skip
    return resp


def view(
    screen: Callable[..., Result],
    *,
    contact: IdentitySource,
    staff: Optional[IdentitySource],
    link_csrf: Callable[[str], str],
) -> Callable[..., Response]:
    """A Flask view function answering with ``screen`` (the URL's values as arguments)."""

    def flask_view(**values: Any) -> Response:
        rq = page_request(contact=contact, staff=staff, link_csrf=link_csrf)
        try:
            result = screen(rq, **values)
        except PageError as exc:
            # Through Flask's abort, so the blueprint's error handler draws the page.
            if exc.detail:
                abort(exc.status, exc.detail)
            abort(exc.status)
        return respond(result)

    flask_view.__name__ = getattr(screen, "__name__", "view")
    flask_view.__doc__ = screen.__doc__
    return flask_view
