"""CSRF tokens: signed, time-limited, and bound to the signed-in person.

The blueprint keeps no session of its own (authentication is the host's), so a
token is the signed-in identity signed with the application's secret key. A page
from another site cannot read it, and a token taken from one person's page is
worthless for another, because the identity inside must match.
"""

from __future__ import annotations

import hmac
from typing import Optional

from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = ["CsrfSigner"]

_SALT = "siteupdates-web.csrf"


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

    def token(self, identity: str) -> str:
        """A token for forms shown to ``identity``."""
        return str(self._serializer.dumps(identity))

    def valid(self, token: Optional[str], identity: str) -> bool:
        """Whether ``token`` was made here, for ``identity``, within ``max_age`` seconds."""
        if not token:
            return False
        try:
            inside = self._serializer.loads(token, max_age=self.max_age)
        except BadSignature:  # also covers an expired signature
            return False
        return isinstance(inside, str) and hmac.compare_digest(inside, identity)
