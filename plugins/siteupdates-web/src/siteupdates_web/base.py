"""What every screen shares: who is signed in, which desk."""

from __future__ import annotations

from typing import Callable, Optional, Union

from siteupdates import Desk

from .pages import PageError, PageRequest

__all__ = ["DeskSource", "IdentitySource", "Screens"]

#: A desk, or a callable returning the desk for the current request.
DeskSource = Union[Desk, Callable[[], Desk]]
#: A callable returning the signed-in person's ID, or None when nobody is.
IdentitySource = Callable[[], Optional[str]]


class Screens:
    """The host's desk, shared by the contact and provider screens.

    The screens take who is signed in from each :class:`~.pages.PageRequest`;
    ``contact`` and ``staff`` given here serve :meth:`identity` only, for a
    framework hook that runs outside a screen (the Flask blueprint's CSRF check).
    """

    def __init__(
        self,
        *,
        desk: DeskSource,
        contact: Optional[IdentitySource] = None,
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

    @staticmethod
    def contact_id(rq: PageRequest) -> str:
        """The signed-in contact's ID; 401 when nobody is signed in as a contact."""
        cid = rq.contact()
        if not cid:
            raise PageError(401)
        return cid

    @staticmethod
    def staff_id(rq: PageRequest) -> str:
        """The signed-in provider staff member; 404 for everyone else.

        404, not 403: the provider screens do not announce themselves to contacts.
        """
        who = rq.staff()
        if not who:
            raise PageError(404)
        return who

    def identity(self) -> str:
        """Who the CSRF token of this request is bound to (the host's callables')."""
        contact = (self._contact() if self._contact is not None else None) or ""
        staff = (self._staff() if self._staff is not None else None) or ""
        return f"contact:{contact}|staff:{staff}"
