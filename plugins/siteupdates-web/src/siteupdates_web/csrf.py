"""CSRF tokens: signed, time-limited, and bound to the person *and* the session.

The blueprint keeps no session of its own (authentication is the host's), but it
keeps one random value, the session's *nonce*, in the host's Flask session, next
to a digest of who was signed in when it was made. A token is the signed-in
identity and that nonce, signed with the application's secret key:

* a page from another site cannot read it, and a token taken from one person's
  page is worthless for another (the identity inside must match);
* a token outlives neither its session nor a sign-in or sign-out in it: the
  nonce is thrown away when the host clears the session, when the identity the
  session records differs from the one signed in now (checked before every
  request of the blueprint and after every request of the app that changed the
  session, so a host's sign-in and sign-out views rotate it), and when the host
  calls :func:`rotate`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, Iterable, Optional

from flask import session
from flask.sessions import SessionMixin
from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = ["SESSION_KEY", "CsrfSigner", "nonce", "rotate"]

_SALT = "siteupdates-web.csrf"
#: Where the nonce lives in Flask's session (one entry per mounted blueprint).
SESSION_KEY = "_siteupdates_csrf"


class CsrfSigner:
    """Makes and checks the tokens of one application secret."""

    def __init__(self, secret: str | bytes, max_age: int = 8 * 3600) -> None:
        if not secret:
            raise RuntimeError(
                "siteupdates-web needs a secret to sign its CSRF tokens: set "
                "app.secret_key (or pass secret_key=... to mount)"
            )
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.max_age = max_age

    def token(self, identity: str, session_nonce: str = "") -> str:
        """A token for forms shown to ``identity`` in the session of ``session_nonce``."""
        return str(self._serializer.dumps([identity, session_nonce]))

    def valid(self, token: Optional[str], identity: str, session_nonce: str = "") -> bool:
        """Whether ``token`` was made here for ``identity`` in this session, in ``max_age`` s."""
        if not token or not session_nonce:
            return False
        try:
            inside = self._serializer.loads(token, max_age=self.max_age)
        except BadSignature:  # also covers an expired signature
            return False
        if not (isinstance(inside, list) and len(inside) == 2):
            return False  # a token of the earlier, identity-only form
        who, made_in = inside
        if not (isinstance(who, str) and isinstance(made_in, str)):
            return False
        # Both compared, neither short-circuiting on the first: no timing hint of which failed.
        same_who = hmac.compare_digest(who.encode(), identity.encode())
        same_session = hmac.compare_digest(made_in.encode(), session_nonce.encode())
        return same_who and same_session


def _digest(identity: str) -> str:
    # The session cookie is signed, not encrypted: a digest, not the identity itself.
    return hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _writable(where: SessionMixin) -> SessionMixin:
    from flask.sessions import NullSession

    if isinstance(where, NullSession):
        raise RuntimeError(
            "siteupdates-web binds its CSRF tokens to the Flask session: set app.secret_key "
            "(or give the app another session interface)"
        )
    return where


def nonce(slot: str, identity: str) -> str:
    """The nonce of this session for ``identity``: a new one after a sign-in or sign-out.

    ``slot`` tells apart two blueprints mounted on one app.
    """
    where = _writable(session)
    key = f"{SESSION_KEY}.{slot}"
    held: Any = where.get(key)
    who = _digest(identity)
    if isinstance(held, dict) and held.get("w") == who and isinstance(held.get("n"), str):
        return str(held["n"])
    made = secrets.token_urlsafe(24)
    where[key] = {"n": made, "w": who}
    return made


def rotate_if_changed(slot: str, identity: str) -> None:
    """Throw the nonce away when the session now holds someone else (a sign-in or sign-out)."""
    key = f"{SESSION_KEY}.{slot}"
    held: Any = session.get(key)
    if isinstance(held, dict) and held.get("w") != _digest(identity):
        session.pop(key, None)


def rotate(slots: Optional[Iterable[str]] = None) -> None:
    """Make every CSRF token of this session invalid; call it at sign-in and sign-out.

    A host that clears its session there (``session.clear()``) need not call it,
    and the blueprint rotates by itself when the signed-in identity changes; a
    host that signs out and back in as the same person without clearing the
    session must call it, or a token from before the sign-out stays good. Call it
    within a request; ``slots`` limits it to some blueprints (by name).
    """
    wanted = None if slots is None else {f"{SESSION_KEY}.{s}" for s in slots}
    for key in [k for k in session if str(k).startswith(SESSION_KEY + ".")]:
        if wanted is None or key in wanted:
            session.pop(key, None)
