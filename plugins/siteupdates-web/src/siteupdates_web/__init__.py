"""Your Updates on the web: a Flask blueprint for contacts and the provider.

A host mounts it with one call::

    from siteupdates_web import mount

    mount(app, contact=lambda: session.get("contact_id"), desk=desk, url_prefix="/updates")

Authentication stays the host's: ``contact`` returns the signed-in contact's ID
(or None), ``staff`` the signed-in provider staff member's name (or None) for
the provider screens under ``<prefix>/provider/``. A host that signs people in
and out without clearing its session calls :func:`rotate` there, so no CSRF
token of the pages outlives a sign-in.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable, Dict, List, Optional, Sequence
from urllib.parse import unquote_to_bytes

from flask import Blueprint, Flask, current_app, g, render_template, request, session
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from siteupdates import Desk, checks
from siteupdates.actionlinks import ActionLinks, install
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

from . import forms
from .base import DeskSource, IdentitySource
from .contact import ContactScreens
from .csrf import CsrfSigner, nonce, rotate, rotate_if_changed
from .links import LinkScreens, link_identity
from .provider import ProviderScreens
from .reads import ReadScreens

__all__ = ["DeskSource", "IdentitySource", "create_blueprint", "mount", "rotate"]

logger = logging.getLogger("siteupdates_web")

_MESSAGES = {
    400: ("That did not work", "The form was not accepted. Reload the page and try again."),
    401: ("Please sign in", "Sign in to see your updates."),
    403: ("Not connected", "Your sign-in is not connected to any site."),
    404: ("Not found", "There is nothing here, or it is not yours to see."),
    405: ("Not allowed", "That page cannot be used that way."),
    409: (
        "It changed meanwhile",
        "Someone changed this while you were looking at it. Look at it again and try once more.",
    ),
    413: ("Too much", "That was more than this page accepts."),
    422: ("Not accepted", "That cannot be done now."),
    500: (
        "Something went wrong",
        "We could not finish that. Nothing you entered was lost on our side; try again "
        "in a moment.",
    ),
    503: ("Not available just now", "We could not reach our records; try again in a moment."),
}
_CSRF_FIELD = "csrf_token"
#: A percent sign not followed by two hexadecimal digits: never made by a browser.
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
#: The largest form body the blueprint reads to check its encoding (its forms are small).
_MAX_FORM = 256 * 1024
#: The path parameters that are IDs; a value that could be none is a 404 like any other (R22).
_ID_PARAMS = ("tenant_id", "request_id", "item_id", "name", "action", "tenant")
#: The query parameters that name a tenant: as a path's ID, an impossible one is a 404.
_ID_QUERY = ("tenant",)
#: The action link's token: longer than an ID, but printable text all the same.
_TOKEN_LIMIT = 2000


def create_blueprint(
    *,
    contact: IdentitySource,
    desk: DeskSource,
    staff: Optional[IdentitySource] = None,
    name: str = "siteupdates_web",
    secret_key: Optional[str] = None,
    frame_ancestors: Sequence[str] = ("'self'",),
    login_url: Optional[str] = None,
    action_links: Optional[ActionLinks] = None,
) -> Blueprint:
    """The blueprint, to register under a prefix of the host's choosing.

    ``contact`` returns the signed-in contact's ID or None; ``desk`` is the
    :class:`~siteupdates.Desk` (or a callable returning it for each request; the
    blueprint never closes it); ``staff`` returns the signed-in staff member for
    the provider screens, None for anyone else (without it they answer 404).
    CSRF tokens are signed with ``secret_key``, else the app's ``secret_key``,
    and bound to a nonce kept in Flask's session, made anew at each sign-in and
    sign-out (see :func:`rotate`). Registering the blueprint also adds app-level
    404 and 405 handlers for paths under its prefix (others go to the handler
    the app had) and its security headers on every response under the prefix.
    ``frame_ancestors`` lists the origins that may frame the gadget.
    ``action_links`` serves the signed links of the notices under ``<prefix>/act/``
    (their ``base_url`` must end there); given a :class:`~siteupdates.Desk`, its
    notices then carry them (:func:`siteupdates.actionlinks.install`).
    """
    bp = Blueprint(
        name,
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    people = ContactScreens(contact=contact, desk=desk, staff=staff)
    provider = ProviderScreens(contact=contact, desk=desk, staff=staff)
    reads = ReadScreens(contact=contact, desk=desk, staff=staff)
    acts = LinkScreens(contact=contact, desk=desk, staff=staff)
    acts.links = action_links
    if action_links is not None and isinstance(desk, Desk):
        install(desk, action_links)

    def signer() -> CsrfSigner:
        return CsrfSigner(secret_key or current_app.secret_key or "")

    def session_nonce() -> str:
        return nonce(bp.name, people.identity())

    acts.csrf = lambda token: signer().token(link_identity(token), session_nonce())

    @bp.before_request
    def _guard() -> None:
        # Hostile path parameters are a 404 like any other (R22), before a view
        # hands them to the library; a malformed query or form is refused whole,
        # never stored as the literal text it arrived as.
        for name, value in (request.view_args or {}).items():
            if not _plausible(name, value):
                _abort_page(404, "")
        for name in _ID_QUERY:
            if any(not _plausible(name, v) for v in request.args.getlist(name) if v):
                _abort_page(404, "")
        _check_encoding()
        rotate_if_changed(bp.name, people.identity())
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        token = request.form.get(_CSRF_FIELD) or request.headers.get("X-CSRF-Token")
        who = people.identity()
        if request.endpoint == f"{bp.name}.action_link":  # bound to the link, not a sign-in
            who = link_identity(str((request.view_args or {}).get("token", "")))
        if not signer().valid(token, who, session_nonce()):
            _abort_page(400, "The form has expired or did not come from this site.")

    def helpers() -> Dict[str, Any]:
        return {
            "csrf_field": _CSRF_FIELD,
            "csrf_token": lambda: signer().token(people.identity(), session_nonce()),
            "local_text": forms.local_text,
            "day_text": forms.day_text,
            # What a status means to a contact, in the provider's words where it has some.
            "status_meaning": lambda status: people.desk().meaning(status),
            "login_url": login_url,
            "is_staff": bool(staff is not None and staff()),
        }

    bp.context_processor(helpers)

    def headers(resp: Response) -> Response:
        framing = " ".join(frame_ancestors) if g.get("siteupdates_web_frameable") else "'self'"
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            f"form-action 'self'; frame-ancestors {framing}",
        )
        if not g.get("siteupdates_web_frameable"):
            resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if resp.mimetype == "text/html":
            resp.headers.setdefault("Cache-Control", "private, no-cache")
        return resp

    bp.after_request(headers)

    def _page(status: int, detail: Optional[str] = None) -> ResponseReturnValue:
        title, text = _MESSAGES.get(status, _MESSAGES[500])
        body = render_template(
            "siteupdates_web/error.html", title=title, text=text, detail=detail, status=status
        )
        return body, status

    @bp.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        # 404 and 500 never show a detail: both must look the same whatever the cause (R22).
        detail = exc.description if status in (400, 403) and exc.description else None
        if detail and detail.startswith("The browser (or proxy)"):
            detail = None  # werkzeug's generic text says nothing to a contact
        return _page(status, detail)

    @bp.errorhandler(AccessDenied)
    @bp.errorhandler(NotFound)
    def _not_yours(exc: Exception) -> ResponseReturnValue:
        return _page(404)

    @bp.errorhandler(SiteUpdatesError)
    def _refused(exc: SiteUpdatesError) -> ResponseReturnValue:
        # A library error a view did not turn into words of its own: the input's
        # fault (a 4xx saying what was wrong, in the library's words, which name
        # what is accepted), or the store's (503, nothing of it shown).
        status = _status_of(exc)
        if status >= 500:
            logger.warning("siteupdates-web: %s on %s %s", exc, request.method, request.path)
            return _page(status)
        return _page(status, str(exc) if status in (400, 409, 422) else None)

    @bp.errorhandler(Exception)
    def _crash(exc: Exception) -> ResponseReturnValue:
        logger.exception("siteupdates-web: unhandled error on %s %s", request.method, request.path)
        return _page(500)

    prefixes: List[str] = []

    def within(path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)

    def outside_page(exc: HTTPException) -> ResponseReturnValue:
        # A path under the prefix that matches no route (404), or a route asked
        # with a method it does not take (405): Flask sends these to the app's
        # handlers, never the blueprint's. The blueprint's page is rendered as if
        # at its home route, so its relative links resolve and its 404 is the
        # very bytes of every other 404 (R22).
        status = exc.code or 500
        request.url_rule = next(iter(current_app.url_map.iter_rules(f"{bp.name}.gadget_page")))
        resp = current_app.make_response(_page(status))
        for key, value in exc.get_headers():
            if key.lower() == "allow":  # a 405 names the methods the route takes
                resp.headers[key] = value
        return resp

    @bp.record
    def _on_register(state: BlueprintSetupState) -> None:
        prefixes.append(state.url_prefix or "/")
        app = state.app
        for code in (404, 405):
            earlier = _app_handler(app, code)

            def handler(
                exc: HTTPException, earlier: Optional[Callable[..., Any]] = earlier
            ) -> ResponseReturnValue:
                if within(request.path):
                    return outside_page(exc)
                if earlier is not None:
                    return earlier(exc)  # type: ignore[no-any-return]
                return exc

            app.register_error_handler(code, handler)

    @bp.after_app_request
    def _everywhere(resp: Response) -> Response:
        # The host's sign-in and sign-out views change the session: a new person
        # (or none) gets a new nonce, so no token from before stays good.
        if session.modified and request.blueprint != bp.name:
            try:
                who = people.identity()
            except Exception:  # the host's callables may need what its page lacked
                logger.warning("siteupdates-web: no identity after %s", request.path)
                rotate([bp.name])  # not knowing who it is now, trust no earlier token
            else:
                rotate_if_changed(bp.name, who)
        # Responses under the prefix that no view of the blueprint made (404 and
        # 405 of routing, a host's error page there) carry its headers too.
        if request.blueprint != bp.name and within(request.path):
            headers(resp)
        return resp

    rule = bp.add_url_rule
    rule("/", "gadget_page", people.gadget_page)
    rule("/gadget", "gadget_frame", people.gadget_frame)
    rule("/gadget/fragment", "gadget_fragment", people.gadget_fragment)
    rule("/requests", "requests_home", people.requests_home)
    rule("/t/<tenant_id>/requests", "requests_of", people.requests_of)
    rule("/t/<tenant_id>/hide-complete", "hide_complete", people.hide_complete, methods=["POST"])
    rule("/t/<tenant_id>/new", "new_request", people.new_request, methods=["GET", "POST"])
    rule("/t/<tenant_id>/requests/<request_id>", "request_detail", people.detail)
    rule(
        "/t/<tenant_id>/requests/<request_id>/remove",
        "remove_request",
        people.remove,
        methods=["POST"],
    )
    rule(
        "/t/<tenant_id>/requests/<request_id>/answer",
        "answer_request",
        people.answer,
        methods=["POST"],
    )
    rule(
        "/t/<tenant_id>/requests/<request_id>/move",
        "move_request",
        people.move,
        methods=["POST"],
    )
    for action in ("postpone", "approve", "decline"):
        rule(
            f"/t/<tenant_id>/requests/<request_id>/{action}",
            f"{action}_request",
            getattr(people, action),
            methods=["POST"],
        )
    rule("/calendar.ics", "calendar_feed", people.calendar_feed)
    rule("/act/<token>", "action_link", acts.action_link, methods=["GET", "POST"])
    rule("/provider/", "provider_queue", provider.queue)
    rule("/provider/plan", "provider_plan", provider.plan, methods=["POST"])
    rule("/provider/requests/<request_id>", "provider_request", provider.detail)
    rule(
        "/provider/requests/<request_id>/<action>",
        "provider_act",
        provider.act,
        methods=["POST"],
    )
    rule("/provider/outbox", "provider_outbox", provider.outbox)
    rule("/provider/read/<name>", "provider_read", reads.read)
    rule("/provider/outbox/deliver", "provider_deliver", provider.deliver, methods=["POST"])
    rule("/provider/outbox/<item_id>/retry", "provider_retry", provider.retry, methods=["POST"])
    return bp


def _abort_page(status: int, detail: str) -> None:
    from flask import abort

    abort(status, detail)


def _plausible(name: str, value: Any) -> bool:
    """Whether a path parameter could name anything: an ID, or a link's printable token."""
    if not isinstance(value, str):
        return True  # a converter's value (none of the blueprint's routes has one)
    if name == "token":
        return 0 < len(value) <= _TOKEN_LIMIT and checks.bad_character(value) is None
    if name not in _ID_PARAMS:
        return True
    try:
        checks.ident(name, value)
    except SiteUpdatesError:
        return False
    return True


def _check_encoding() -> None:
    """Refuse (400) a query or form whose percent-escapes are malformed or not UTF-8.

    Werkzeug keeps a malformed escape as its literal text and replaces bytes that
    are not UTF-8: either would be stored as something the person never typed.
    """
    bodies = [request.query_string]
    if request.method not in ("GET", "HEAD", "OPTIONS") and (
        request.mimetype == "application/x-www-form-urlencoded"
    ):
        if (request.content_length or 0) > _MAX_FORM:
            _abort_page(413, "")
        bodies.append(request.get_data(cache=True))
    for raw in bodies:
        if not raw:
            continue
        if _BAD_ESCAPE.search(raw):
            _abort_page(400, "The form held a malformed character escape.")
        try:
            unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            _abort_page(400, "The form held bytes that are not UTF-8 text.")


def _status_of(exc: SiteUpdatesError) -> int:
    """The HTTP status of a library error no view answered itself."""
    if isinstance(exc, (NotFound, AccessDenied)):
        return 404
    if isinstance(exc, (ConflictError, DuplicateKey, LeaseLost)):
        return 409
    if isinstance(exc, RequestRefused):
        return 422
    if isinstance(exc, (StorageError, DeliveryError)):
        return 503
    return 400  # the input's fault: InvalidInput, WrongType and the like


def _app_handler(app: Any, code: int) -> Optional[Callable[..., Any]]:
    """The handler the app already has for ``code``, which the blueprint's hands on to."""
    found: Dict[Any, Callable[..., Any]] = app.error_handler_spec.get(None, {}).get(code, {})
    return next(iter(found.values()), None)


def mount(
    app: Flask,
    *,
    contact: IdentitySource,
    desk: DeskSource,
    url_prefix: str = "/updates",
    staff: Optional[IdentitySource] = None,
    **options: Any,
) -> Blueprint:
    """Mount the screens on ``app`` under ``url_prefix``; return the blueprint.

    The one call a host makes; ``options`` are those of :func:`create_blueprint`.
    """
    bp = create_blueprint(contact=contact, desk=desk, staff=staff, **options)
    app.register_blueprint(bp, url_prefix=url_prefix)
    return bp
