"""Actions from the notice: signed links that let a contact act without signing in.

A notice about a request carries the links that fit the request's status
(:func:`actions_for`): *confirm* (a staged production waiting at its gate goes
ahead as scheduled), *postpone* (Scheduled: to the next window, within the
provider's limits), *cancel* (To Be Scheduled or Scheduled, R16), *answer*
(Pending Input) and *open* (the request's page). A link is a token signed with
itsdangerous under the host's secret; inside are the contact, the request, the
request's revision, the action and an expiry on the desk's clock.

*Used once* without a used-token table: every action changes the request, and
every change raises its ``revision`` (the store refuses a write on a stale one),
so a token bound to the revision it was made for is stale after its first use,
and after any other change of the request too. *open* changes nothing and stays
usable until it expires or the request changes.

:meth:`ActionLinks.resolve` answers None for a link that is forged, expired,
stale, used, for a request gone from the contact's view (R22) or no longer in a
status the action fits: a front end shows one and the same page for all of
them, the page of a link that never existed. Framework-neutral: the Flask
blueprint serves these links, and a Django app can serve them the same way.
Hosts turn them on with :func:`install` (the notices then carry the links).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

import attrs

from siteupdates.domain.model import Status, UpdateRequest
from siteupdates.errors import SiteUpdatesError
from siteupdates.i18n import ENGLISH, N_, Language

if TYPE_CHECKING:
    from siteupdates.service import Desk

__all__ = ["ACTIONS", "ActionLinks", "LinkTarget", "actions_for", "install"]

#: Every action a link may carry, in the order a notice lists them.
ACTIONS = ("confirm", "postpone", "cancel", "answer", "open")

_SALT = "siteupdates.action-link"
_UTC = timezone.utc


def _at_gate(request: UpdateRequest) -> bool:
    """A staged production update waiting for the contact's word after staging."""
    return request.status is Status.PENDING_INPUT and (request.booking or "").startswith("stage:")


def actions_for(request: UpdateRequest) -> Tuple[str, ...]:
    """The actions a link may offer for ``request`` as it is now (``open`` always)."""
    found: List[str] = []
    if _at_gate(request):
        found.append("confirm")
    if request.status is Status.SCHEDULED:
        found.append("postpone")
    if request.status in (Status.TO_BE_SCHEDULED, Status.SCHEDULED):
        found.append("cancel")
    if request.status is Status.PENDING_INPUT and not _at_gate(request):
        found.append("answer")
    found.append("open")
    return tuple(found)


#: How a notice words each link.
_WORDS = {
    "confirm": N_("Go ahead as scheduled"),
    "postpone": N_("Postpone to the next window"),
    "cancel": N_("Cancel the request"),
    "answer": N_("Answer the question"),
    "open": N_("Open the request"),
}


@attrs.frozen
class LinkTarget:
    """What a valid link is for: the contact, the request as it is now, the action."""

    contact_id: str
    request: UpdateRequest
    action: str

    @property
    def words(self) -> str:
        """The action as a button says it (``Cancel the request``)."""
        return _WORDS[self.action]


@attrs.frozen
class ActionLinks:
    """Makes and checks the links of one host: its secret, its address, their lifetime.

    ``base_url`` is where the links are served, with no trailing slash
    (``https://hosting.example/updates/act``); a link is ``base_url/<token>``.
    """

    secret: str = attrs.field(repr=False)
    base_url: str
    max_age: timedelta = timedelta(days=7)

    def _serializer(self) -> Any:
        from itsdangerous import URLSafeSerializer

        return URLSafeSerializer(self.secret, salt=_SALT)

    def token(self, contact_id: str, request: UpdateRequest, action: str, now: datetime) -> str:
        """A signed token for ``action`` on ``request`` (at its revision) by ``contact_id``."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; actions: {', '.join(ACTIONS)}")
        expires = int((now + self.max_age).timestamp())
        data = [contact_id, request.id, request.revision, action, expires]
        return str(self._serializer().dumps(data))

    def url(self, token: str) -> str:
        """The link of ``token``."""
        return f"{self.base_url}/{token}"

    def lines(
        self, contact_id: str, request: UpdateRequest, now: datetime, lang: Language = ENGLISH
    ) -> List[str]:
        """A notice's lines with the links that fit ``request``'s status now, in ``lang``."""
        out = ["", lang.gettext("Act on it without signing in (each link works once):")]
        for action in actions_for(request):
            url = self.url(self.token(contact_id, request, action, now))
            out.append(
                lang.gettext("%(action)s: %(url)s")
                % {"action": lang.gettext(_WORDS[action]), "url": url}
            )
        return out

    def read(self, token: str, now: datetime) -> Optional[Tuple[str, str, int, str]]:
        """The contact, request ID, revision and action inside ``token``; None if not valid."""
        from itsdangerous import BadData

        try:
            data = self._serializer().loads(token)
        except BadData:
            return None
        if not (isinstance(data, list) and len(data) == 5):
            return None
        contact_id, request_id, revision, action, expires = data
        if not (
            isinstance(contact_id, str)
            and isinstance(request_id, str)
            and isinstance(revision, int)
            and action in ACTIONS
            and isinstance(expires, int)
        ):
            return None
        if now.astimezone(_UTC).timestamp() > expires:
            return None
        return contact_id, request_id, revision, action

    def resolve(self, desk: Desk, token: str) -> Optional[LinkTarget]:
        """What ``token`` is for, checked now; None for every kind of invalid link alike."""
        inside = self.read(token, desk.now())
        if inside is None:
            return None
        contact_id, request_id, revision, action = inside
        try:
            request = desk.contact(contact_id).request(request_id)  # R22 on the contact
        except SiteUpdatesError:
            return None
        if request.revision != revision or action not in actions_for(request):
            return None
        return LinkTarget(contact_id, request, action)

    def act(self, desk: Desk, target: LinkTarget, *, answer: str = "") -> UpdateRequest:
        """Do what ``target`` is for, as its contact; the request afterwards.

        Raises what the use case raises (a refusal, a lost race); ``open`` does nothing.
        """
        me = desk.contact(target.contact_id)
        rid = target.request.id
        if target.action == "confirm":
            return me.approve(rid)
        if target.action == "postpone":
            return me.postpone(rid, next_window=True)
        if target.action == "cancel":
            return me.cancel(rid)
        if target.action == "answer":
            return me.answer(rid, answer)
        return target.request


def install(desk: Desk, links: Optional[ActionLinks]) -> None:
    """Let ``desk``'s notices carry ``links`` (None turns them off)."""
    desk.app.links = links
