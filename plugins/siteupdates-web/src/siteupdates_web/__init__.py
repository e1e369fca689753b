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
from typing import Any, Dict, Optional, Sequence

from flask import Blueprint, Flask, current_app, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from siteupdates import Desk
from siteupdates.actionlinks import ActionLinks, install
from siteupdates.errors import AccessDenied, NotFound, SiteUpdatesError

from . import i18n
from .base import DeskSource, IdentitySource
from .contact import ContactScreens
from .csrf import CsrfSigner, nonce, rotate, rotate_if_changed
from .flaskpages import view
from .links import LinkScreens, link_identity
from .pages import MESSAGES, ROUTES, status_for
from .provider import ProviderScreens
from .reads import ReadScreens
from .security import check_input, install_app_wide, security_headers
from .templating import configure_environment, template_globals

__all__ = ["DeskSource", "IdentitySource", "create_blueprint", "mount", "rotate"]

logger = logging.getLogger("siteupdates_web")

_MESSAGES = MESSAGES  # shared with the Django app (siteupdates_web.pages)
_CSRF_FIELD = "csrf_token"
_ENV_READY = "siteupdates_web.environment"


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
    screens = {"contact": people, "provider": provider, "reads": reads, "links": acts}

    def signer() -> CsrfSigner:
        return CsrfSigner(secret_key or current_app.secret_key or "")

    def session_nonce() -> str:
        return nonce(bp.name, people.identity())

    def link_csrf(token: str) -> str:
        return signer().token(link_identity(token), session_nonce())

    @bp.before_request
    def _environment() -> None:
        # Before any page or error page renders, once per application.
        if not current_app.extensions.get(_ENV_READY):
            configure_environment(current_app.jinja_env)
            current_app.extensions[_ENV_READY] = True
        # The signed-in contact's locale; the provider's default on the provider
        # screens, on a signed link's page (its contact's, once the link is read) and
        # for anyone not signed in. Set on every request: a thread serves many people.
        provider_page = (request.endpoint or "").startswith(f"{bp.name}.provider_")
        who = None if provider_page else contact()
        i18n.use(people.desk().locale_of(who or None))

    @bp.before_request
    def _guard() -> None:
        check_input()
        rotate_if_changed(bp.name, people.identity())
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        token = request.form.get(_CSRF_FIELD) or request.headers.get("X-CSRF-Token")
        who = people.identity()
        if request.endpoint == f"{bp.name}.action_link":  # bound to the link, not a sign-in
            who = link_identity(str((request.view_args or {}).get("token", "")))
        if not signer().valid(token, who, session_nonce()):
            _abort_page(400, i18n.gettext("The form has expired or did not come from this site."))

    def helpers() -> Dict[str, Any]:
        return template_globals(
            desk=people.desk,
            csrf_field=_CSRF_FIELD,
            csrf_token=lambda: signer().token(people.identity(), session_nonce()),
            login_url=login_url,
            is_staff=bool(staff is not None and staff()),
        )

    bp.context_processor(helpers)

    headers = security_headers(frame_ancestors)
    bp.after_request(headers)

    def _page(status: int, detail: Optional[str] = None) -> ResponseReturnValue:
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

    @bp.errorhandler(SiteUpdatesError)
    def _refused(exc: SiteUpdatesError) -> ResponseReturnValue:
        # A library error a view did not turn into words of its own: the input's
        # fault (a 4xx saying what was wrong, in the library's words, which name
        # what is accepted), or the store's (503, nothing of it shown).
        status = status_for(exc)
        if status >= 500:
            logger.warning("siteupdates-web: %s on %s %s", exc, request.method, request.path)
            return _page(status)
        return _page(status, str(exc) if status in (400, 409, 422) else None)

    @bp.errorhandler(Exception)
    def _crash(exc: Exception) -> ResponseReturnValue:
        logger.exception("siteupdates-web: unhandled error on %s %s", request.method, request.path)
        return _page(500)

    def _outside_page(status: int) -> ResponseReturnValue:
        # Routing's 404 and 405 under the prefix: no blueprint hook ran for them.
        _environment()
        return _page(status)

    install_app_wide(bp, people.identity, _outside_page, headers)

    # The pages are routed from one table, the Django app's too (siteupdates_web.pages).
    for route in ROUTES:
        screen = getattr(screens[route.screen], route.view)
        bp.add_url_rule(
            route.rule,
            route.endpoint,
            view(screen, contact=contact, staff=staff, link_csrf=link_csrf),
            methods=list(route.methods),
        )
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
