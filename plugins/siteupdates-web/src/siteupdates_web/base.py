"""What every screen shares: who is signed in, which desk, framing."""

from __future__ import annotations

from typing import Callable, Optional, Union

from flask import abort, g

from siteupdates import Desk

__all__ = ["DeskSource", "IdentitySource", "Screens"]

#: A desk, or a callable returning the desk for the current request.
DeskSource = Union[Desk, Callable[[], Desk]]
#: A callable returning the signed-in person's ID, or None when nobody is.
IdentitySource = Callable[[], Optional[str]]


class Screens:
    """The host's callables, shared by the contact and provider screens."""

    def __init__(
        self,
        *,
        contact: IdentitySource,
        desk: DeskSource,
        staff: Optional[IdentitySource] = None,
    ) -> None:
        self._contact = contact
        self._desk = desk
        self._staff = staff

    def desk(self) -> Desk:
        """The desk for this request."""
        if isinstance(self._desk, Desk):
            return self._desk
        return self._desk()

    def contact_id(self) -> str:
        """The signed-in contact's ID; 401 when nobody is signed in as a contact."""
        cid = self._contact()
        if not cid:
            abort(401)
        return cid

    def staff_id(self) -> str:
        """The signed-in provider staff member; 404 for everyone else.

        404, not 403: the provider screens do not announce themselves to contacts.
        """
        who = self._staff() if self._staff is not None else None
        if not who:
            abort(404)
        return who

    def identity(self) -> str:
        """Who the CSRF token of this request is bound to."""
        contact = self._contact() or ""
        staff = (self._staff() if self._staff is not None else None) or ""
        return f"contact:{contact}|staff:{staff}"

    @staticmethod
    def allow_framing() -> None:
        """Let the host's pages frame this response (the gadget)."""
        g.siteupdates_web_frameable = True
