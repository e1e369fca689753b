"""The blueprint's defences that are not a screen's: input checks, headers, app-wide pages.

* :func:`check_input`: a path parameter (or ``?tenant=``) no record could
  have is the one 404 (R22), before a view hands it to the library; a query or
  form with a malformed percent-escape or bytes that are not UTF-8 is refused
  whole, never stored as text nobody typed (the checks themselves, free of
  Flask, are :mod:`.guards`).
* :func:`security_headers`: the headers of every response under the prefix.
* :func:`install_app_wide`: what Flask sends to the app, not the blueprint
  (routing's 404 and 405 under the prefix; the host's sign-in and sign-out
  views, which rotate the CSRF nonce).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional, Sequence

from flask import Blueprint, abort, current_app, g, request, session
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from .csrf import rotate, rotate_if_changed
from .guards import ID_QUERY, MAX_FORM, malformed, plausible

__all__ = ["check_input", "install_app_wide", "security_headers"]

logger = logging.getLogger("siteupdates_web")


def check_input() -> None:
    """Abort with the one 404 for an impossible ID, with 400 for a malformed query or form."""
    for name, value in (request.view_args or {}).items():
        if not plausible(name, value):
            abort(404)
    for name in ID_QUERY:
        if any(not plausible(name, v) for v in request.args.getlist(name) if v):
            abort(404)
    _check_encoding()


def security_headers(frame_ancestors: Sequence[str]) -> Callable[[Response], Response]:
    """What adds the headers to a response (those the host set first are kept)."""

    def policy(framing: str) -> str:
        return (
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            f"form-action 'self'; frame-ancestors {framing}"
        )

    common = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"))
    # Built once: every response under the prefix gets one of the two sets.
    framed = (("Content-Security-Policy", policy(" ".join(frame_ancestors))), *common)
    unframed = (
        ("Content-Security-Policy", policy("'self'")),
        ("X-Frame-Options", "SAMEORIGIN"),
        *common,
    )
    lowered = {name: name.lower() for name, _ in unframed}

    def headers(resp: Response) -> Response:
        wanted = framed if g.get("siteupdates_web_frameable") else unframed
        # The names already set, looked at once (not one scan of the headers per name).
        have = {name.lower() for name, _ in resp.headers}  # (name, value) pairs
        for name, value in wanted:
            if lowered[name] not in have:
                resp.headers.add(name, value)
        if "cache-control" not in have and resp.mimetype == "text/html":
            resp.headers.add("Cache-Control", "private, no-cache")
        return resp

    return headers


def install_app_wide(
    bp: Blueprint,
    identity: Callable[[], str],
    page: Callable[[int], ResponseReturnValue],
    headers: Callable[[Response], Response],
) -> None:
    """Handle on the app what Flask never shows the blueprint, for paths under its prefix.

    Routing's 404 and 405 there get the blueprint's ``page`` (every other path
    goes to the handler the app had); every response there gets ``headers``;
    after any of the app's requests that changed the session (the host's sign-in
    and sign-out views), the CSRF nonce is rotated when the identity changed.
    """
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
        resp = current_app.make_response(page(status))
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
                who = identity()
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


def _check_encoding() -> None:
    """Refuse (400) a query or form whose percent-escapes are malformed or not UTF-8.

    Werkzeug keeps a malformed escape as its literal text and replaces bytes that
    are not UTF-8: either would be stored as something the person never typed.
    """
    bodies = [request.query_string]
    if request.method not in ("GET", "HEAD", "OPTIONS") and (
        request.mimetype == "application/x-www-form-urlencoded"
    ):
        if (request.content_length or 0) > MAX_FORM:
            abort(413)
        bodies.append(request.get_data(cache=True))
    for raw in bodies:
        problem = malformed(raw)
        if problem:
            abort(400, problem)


def _app_handler(app: Any, code: int) -> Optional[Callable[..., Any]]:
    """The handler the app already has for ``code``, which the blueprint's hands on to."""
    found: Dict[Any, Callable[..., Any]] = app.error_handler_spec.get(None, {}).get(code, {})
    return next(iter(found.values()), None)
