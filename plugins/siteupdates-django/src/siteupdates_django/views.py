"""The Django side of the screens: one view per route of :data:`siteupdates_web.pages.ROUTES`.

Each view turns Django's request into a :class:`~siteupdates_web.pages.PageRequest`
(who is who from ``request.user``: the ``CONTACT`` callable and the provider
permission), runs the shared screen, and renders its page with the shared
templates. Django's CSRF protects every POST (its token and cookie; a refused
one is the app's 400 page), errors are the app's pages (a library error a 4xx,
never a 500), and every response carries the app's security headers.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponsePermanentRedirect
from django.http.request import RawPostDataException
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.urls import Resolver404, resolve, reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.static import serve

from siteupdates import Desk
from siteupdates_web import i18n
from siteupdates_web.contact import ContactScreens
from siteupdates_web.guards import ID_QUERY, MAX_FORM, malformed, plausible
from siteupdates_web.links import LinkScreens
from siteupdates_web.pages import (
    MESSAGES,
    ROUTES,
    Body,
    Fields,
    Page,
    PageError,
    PageRequest,
    Redirect,
    Result,
    Route,
    security_headers,
    status_for,
)
from siteupdates_web.provider import ProviderScreens
from siteupdates_web.reads import ReadScreens
from siteupdates_web.templating import TEMPLATES, template_globals

from . import conf, store
from .jinja import pages_environment

__all__ = ["APP_NAME", "gadget", "not_found", "route_view", "static"]

logger = logging.getLogger("siteupdates_django")

#: The URL namespace of the app (``include("siteupdates_django.urls")``).
APP_NAME = "siteupdates"
_CSRF_FIELD = "csrfmiddlewaretoken"
_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
_PARAMS: Dict[str, Tuple[str, ...]] = {r.endpoint: tuple(_PARAM.findall(r.rule)) for r in ROUTES}
_PARAMS["static"] = ("filename",)
_STATIC = TEMPLATES.parent / "static"


def _desk() -> Desk:
    return store.desk()


_SCREENS = {
    "contact": ContactScreens(desk=_desk),
    "provider": ProviderScreens(desk=_desk),
    "reads": ReadScreens(desk=_desk),
    "links": LinkScreens(desk=_desk),
}


class _CsrfRefused(Exception):
    """Django's CSRF check refused the request."""


class _CsrfCheck(CsrfViewMiddleware):
    """Django's own CSRF check, answering with the app's page instead of Django's 403."""

    def _reject(self, request: HttpRequest, reason: str) -> HttpResponse:
        raise _CsrfRefused(reason)


def _no_response(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    raise AssertionError("the CSRF check never calls the view")


_CSRF = _CsrfCheck(_no_response)


def _namespace(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and APP_NAME in (match.app_names or []):
        return str(match.namespace)
    return APP_NAME


def _url_for(namespace: str) -> Callable[..., str]:
    def url_for(endpoint: str, **values: Any) -> str:
        name = endpoint.lstrip(".")
        params = _PARAMS.get(name, ())
        kwargs = {k: str(values.pop(k)) for k in params if k in values}
        path = reverse(f"{namespace}:{name}", kwargs=kwargs)
        query = [(k, v) for k, v in values.items() if v is not None]
        return path + ("?" + urlencode(query, doseq=True) if query else "")

    return url_for


def _who(request: HttpRequest) -> Tuple[Callable[[], Optional[str]], Callable[[], Optional[str]]]:
    user = getattr(request, "user", None)
    found: Dict[str, Optional[str]] = {}

    def contact() -> Optional[str]:
        if "contact" not in found:
            signed_in = user is not None and user.is_authenticated
            cid = conf.contact_source()(user) if signed_in else None
            found["contact"] = str(cid) if cid else None
        return found["contact"]

    def staff() -> Optional[str]:
        if "staff" not in found:
            found["staff"] = None
            active = user is not None and user.is_authenticated and user.is_active
            if active and user is not None and user.has_perm(conf.permission()):
                found["staff"] = str(user.get_username())
        return found["staff"]

    return contact, staff


def page_request(request: HttpRequest) -> PageRequest:
    """Django's request as the screens read it."""
    contact, staff = _who(request)
    return PageRequest(
        method=request.method or "GET",
        args=Fields((k, v) for k in request.GET for v in request.GET.getlist(k)),
        form=Fields((k, v) for k in request.POST for v in request.POST.getlist(k)),
        cookies=request.COOKIES,
        is_secure=request.is_secure(),
        if_none_match=request.headers.get("If-None-Match", ""),
        url_for=_url_for(_namespace(request)),
        contact=contact,
        staff=staff,
        # Django's token is bound to the browser's CSRF cookie (or session), not the
        # person, so a link's form takes the same token as every other form.
        link_csrf=lambda token: get_token(request),
    )


def _render(request: HttpRequest, rq: PageRequest, template: str, context: Dict[str, Any]) -> str:
    full = template_globals(
        desk=_desk,
        csrf_field=_CSRF_FIELD,
        csrf_token=lambda: get_token(request),
        login_url=conf.login_url(),
        is_staff=bool(rq.staff()),
    )
    full["url_for"] = rq.url_for
    full.update(context)
    return pages_environment().get_template(template).render(full)


def _error(
    request: HttpRequest, rq: PageRequest, status: int, detail: Optional[str] = None
) -> Page:
    title, text = (i18n.gettext(m) for m in MESSAGES.get(status, MESSAGES[500]))
    # 404 and 500 never show a detail: both must look the same whatever the cause (R22).
    shown = detail if status in (400, 403) else None
    context = {"title": title, "text": text, "detail": shown, "status": status}
    return Page("siteupdates_web/error.html", context, status)


def _respond(request: HttpRequest, rq: PageRequest, result: Result) -> HttpResponse:
    response: HttpResponse
    frameable = False
    if isinstance(result, Page):
        frameable = result.frameable
        body = _render(request, rq, result.template, result.context)
        response = HttpResponse(
            body, status=result.status, content_type="text/html; charset=utf-8"
        )
    elif isinstance(result, Redirect):
        response = HttpResponse(status=result.status)
    else:
        assert isinstance(result, Body)
        response = HttpResponse(result.content, status=result.status)
    for name, value in result.headers.items():
        response[name] = value
    for c in result.cookies:
        response.set_cookie(
            c.name, c.value, max_age=c.max_age, path=c.path, samesite=c.samesite,
            httponly=c.httponly, secure=c.secure,
        )  # fmt: skip
    html = response.get("Content-Type", "").startswith("text/html")
    for name, value in security_headers(
        frameable=frameable, frame_ancestors=conf.frame_ancestors(), html=html
    ).items():
        if name not in response:
            response[name] = value
    if frameable:
        # Django's XFrameOptionsMiddleware would add DENY; the CSP names who may frame.
        response.xframe_options_exempt = True
    return response


def _answer(request: HttpRequest, route: Route, values: Dict[str, Any]) -> HttpResponse:
    rq = page_request(request)
    allowed: List[str] = list(route.methods)
    if "GET" in allowed:
        allowed.append("HEAD")
    try:
        _use_locale(rq, route)
        _check_input(request, values)
        if request.method not in allowed:
            response = _respond(request, rq, _error(request, rq, 405))
            response["Allow"] = ", ".join(sorted(set(allowed) | {"OPTIONS"}))
            return response
        if request.method not in ("GET", "HEAD"):
            _CSRF.process_request(request)
            _CSRF.process_view(request, _answer, (), {})
        screens = _SCREENS[route.screen]
        if isinstance(screens, LinkScreens):
            screens.links = store.action_links()  # from the settings, as they are now
        result = getattr(screens, route.view)(rq, **values)
    except _CsrfRefused:
        result = _error(
            request, rq, 400, i18n.gettext("The form has expired or did not come from this site.")
        )
    except PageError as exc:
        result = _error(request, rq, exc.status, exc.detail)
    except _Refused as exc:
        result = _error(request, rq, exc.status, exc.detail)
    except Exception as exc:
        status = status_for(exc)
        if status >= 500:
            logger.exception(
                "siteupdates-django: unhandled error on %s %s", request.method, request.path
            )
        result = _error(request, rq, status)
    try:
        response = _respond(request, rq, result)
    except Exception:  # rendering failed: the plain error page, logged
        logger.exception("siteupdates-django: rendering failed on %s", request.path)
        response = _respond(request, rq, _error(request, rq, 500))
    # The CSRF cookie a page's token needs: Django's middleware sets it too, when the host has it.
    _CSRF.process_response(request, response)
    return response


class _Refused(Exception):
    """A request's raw parts are impossible: answered with ``status`` before any view runs."""

    def __init__(self, status: int, detail: Optional[str] = None) -> None:
        super().__init__(detail or str(status))
        self.status, self.detail = status, detail


def _use_locale(rq: PageRequest, route: Optional[Route]) -> None:
    """The reader's locale for this request (a thread serves many people, so set on each one).

    The signed-in contact's; the provider's default on the provider's pages and
    for anyone not signed in (a signed link's page switches to its contact's).
    """
    i18n.use(None)  # until the reader is known: never the previous request's locale
    provider_page = route is not None and route.endpoint.startswith("provider_")
    who = None if provider_page else rq.contact()
    i18n.use(_desk().locale_of(who or None))


def _check_input(request: HttpRequest, values: Dict[str, Any]) -> None:
    """The one 404 for an impossible ID (R22); 400/413 for a malformed query or form."""
    for name, value in values.items():
        if not plausible(name, value):
            raise PageError(404)
    for name in ID_QUERY:
        if any(not plausible(name, v) for v in request.GET.getlist(name) if v):
            raise PageError(404)
    # Django keeps a malformed escape as its text and replaces bytes that are not
    # UTF-8: either would be stored as something nobody typed.
    bodies = [request.META.get("QUERY_STRING", "").encode("latin-1", "replace")]
    if request.method not in ("GET", "HEAD", "OPTIONS") and (
        request.content_type == "application/x-www-form-urlencoded"
    ):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_FORM:
            raise _Refused(413)
        with contextlib.suppress(RawPostDataException):  # the host's middleware read it first
            bodies.append(request.body)
    for raw in bodies:
        problem = malformed(raw)
        if problem:
            raise _Refused(400, i18n.gettext(problem))


def route_view(route: Route) -> Callable[..., HttpResponseBase]:
    """The Django view of one route."""

    @csrf_exempt  # checked inside, by Django's own CsrfViewMiddleware, to answer our page
    def view(request: HttpRequest, **values: Any) -> HttpResponseBase:
        return _answer(request, route, values)

    view.__name__ = route.endpoint
    view.__doc__ = getattr(getattr(_SCREENS[route.screen], route.view), "__doc__", None)
    return view


def static(request: HttpRequest, filename: str) -> HttpResponseBase:
    """The pages' stylesheet and script (siteupdates-web's ``static`` folder)."""
    try:
        response: HttpResponseBase = serve(request, filename, document_root=str(_STATIC))
    except Exception:  # Http404, or a name no file system takes: the one 404 page
        return _not_found_page(request)
    return _with_headers(response)


def not_found(request: HttpRequest, rest: str = "") -> HttpResponseBase:
    """Any other path under the prefix: the app's 404 page with its headers, not Django's.

    With ``APPEND_SLASH`` a path that names a page once a slash is added is
    redirected there, as Django's CommonMiddleware would have done.
    """
    if getattr(settings, "APPEND_SLASH", True) and not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.url_name != "not_found":
            query = request.META.get("QUERY_STRING", "")
            target = request.path + "/" + ("?" + query if query else "")
            return _with_headers(HttpResponsePermanentRedirect(target))
    return _not_found_page(request)


def _not_found_page(request: HttpRequest) -> HttpResponse:
    rq = page_request(request)
    try:
        _use_locale(rq, None)
    except Exception:  # the store is down: the 404 page all the same, in English
        logger.exception("siteupdates-django: no locale for the 404 page of %s", request.path)
    response = _respond(request, rq, _error(request, rq, 404))
    _CSRF.process_response(request, response)
    return response


def _with_headers(response: HttpResponseBase) -> HttpResponseBase:
    for name, value in security_headers(
        frameable=False, frame_ancestors=conf.frame_ancestors(), html=False
    ).items():
        if name not in response:
            response[name] = value
    return response


def gadget(request: HttpRequest) -> SafeString:
    """The gadget as an HTML fragment for a host's page; empty for someone who is not a contact."""
    rq = page_request(request)
    screens = _SCREENS["contact"]
    assert isinstance(screens, ContactScreens)
    try:
        _use_locale(rq, None)  # the contact's language, whatever the host's page is in
        result = screens.gadget_fragment(rq)
    except (PageError, Exception) as exc:
        if status_for(exc) >= 500:
            logger.exception("siteupdates-django: the gadget failed on %s", request.path)
        return mark_safe("")
    if not isinstance(result, Page):  # pragma: no cover - no If-None-Match given
        return mark_safe("")
    # The host's page carries Django's CSRF cookie if it needs one; the gadget has no form.
    return mark_safe(_render(request, rq, result.template, result.context))
