"""Your Updates on the web: a Flask blueprint for contacts and the provider.

A host mounts it with one call::

    from siteupdates_web import mount

    mount(app, contact=lambda: session.get("contact_id"), desk=desk, url_prefix="/updates")

Authentication stays the host's: ``contact`` returns the signed-in contact's ID
(or None), ``staff`` the signed-in provider staff member's name (or None) for
the provider screens under ``<prefix>/provider/``.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Sequence

from flask import Blueprint, Flask, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from siteupdates import Desk
from siteupdates.actionlinks import ActionLinks, install
from siteupdates.errors import AccessDenied, NotFound
from siteupdates.i18n import N_

from . import i18n
from .base import DeskSource, IdentitySource
from .contact import ContactScreens
from .csrf import CsrfSigner
from .links import LinkScreens, link_identity
from .provider import ProviderScreens
from .reads import ReadScreens

__all__ = ["DeskSource", "IdentitySource", "create_blueprint", "mount"]

logger = logging.getLogger("siteupdates_web")

_MESSAGES = {
    400: (
        N_("That did not work"),
        N_("The form was not accepted. Reload the page and try again."),
    ),
    401: (N_("Please sign in"), N_("Sign in to see your updates.")),
    403: (N_("Not connected"), N_("Your sign-in is not connected to any site.")),
    404: (N_("Not found"), N_("There is nothing here, or it is not yours to see.")),
    405: (N_("Not allowed"), N_("That page cannot be used that way.")),
    500: (
        N_("Something went wrong"),
        N_(
            "We could not finish that. Nothing you entered was lost on our side; try again "
            "in a moment."
        ),
    ),
}
_CSRF_FIELD = "csrf_token"


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
    CSRF tokens are signed with ``secret_key``, else the app's ``secret_key``.
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

    acts.csrf = lambda token: signer().token(link_identity(token))

    @bp.before_request
    def _locale() -> None:
        # The templates' gettext on the app's environment (i18n.install: once, then a no-op).
        i18n.install(current_app.jinja_env)
        # The signed-in contact's locale; the provider's default on the provider
        # screens, on a signed link's page (its contact's, once the link is read) and
        # for anyone not signed in.
        provider_page = (request.endpoint or "").startswith(f"{bp.name}.provider_")
        who = None if provider_page else contact()
        i18n.use(people.desk().locale_of(who or None))

    @bp.before_request
    def _check_csrf() -> None:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        token = request.form.get(_CSRF_FIELD) or request.headers.get("X-CSRF-Token")
        who = people.identity()
        if request.endpoint == f"{bp.name}.action_link":  # bound to the link, not a sign-in
            who = link_identity(str((request.view_args or {}).get("token", "")))
        if not signer().valid(token, who):
            _abort_page(400, i18n.gettext("The form has expired or did not come from this site."))

    @bp.context_processor
    def _helpers() -> Dict[str, Any]:
        return {
            "csrf_field": _CSRF_FIELD,
            "csrf_token": lambda: signer().token(people.identity()),
            "local_text": i18n.local_text,
            "day_text": i18n.day_text,
            # What a status means to a contact, in the provider's words where it has some.
            "status_meaning": lambda status: people.desk().meaning(status, i18n.current()),
            "login_url": login_url,
            "is_staff": bool(staff is not None and staff()),
        }

    @bp.after_request
    def _headers(resp: Response) -> Response:
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

    def _page(status: int, detail: Optional[str] = None) -> ResponseReturnValue:
        i18n.install(current_app.jinja_env)  # an error before any view still has the words
        title, text = (i18n.gettext(m) for m in _MESSAGES.get(status, _MESSAGES[500]))
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

    @bp.errorhandler(Exception)
    def _crash(exc: Exception) -> ResponseReturnValue:
        logger.exception("siteupdates-web: unhandled error on %s %s", request.method, request.path)
        return _page(500)

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
