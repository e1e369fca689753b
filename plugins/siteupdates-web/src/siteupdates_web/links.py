"""Actions from the notice: the pages behind the signed links of :mod:`siteupdates.actionlinks`.

GET shows what the link will do and a button (nothing changes); POST, with a
CSRF token bound to the link itself (the contact need not be signed in), does
it. Every link that does not hold (forged, expired, used, stale, a request the
contact no longer sees) answers the blueprint's one 404 page, the page of a
link that never existed (R22).
"""

from __future__ import annotations

from typing import Optional

from siteupdates.actionlinks import ActionLinks, LinkTarget
from siteupdates.errors import (
    ConflictError,
    InvalidInput,
    RequestRefused,
    SiteUpdatesError,
    TransitionNotAllowed,
)
from siteupdates.i18n import N_

from . import adapter, forms, i18n
from .base import Screens
from .pages import Page, PageError, PageRequest

__all__ = ["LinkScreens", "link_identity"]

#: What the contact reads after the action.
_DONE = {
    "confirm": N_("Production will be updated as scheduled."),
    "postpone": N_("The update was postponed; the provider will email you its new date."),
    "cancel": N_("The request was cancelled and removed from the provider's queue."),
    "answer": N_("Your answer was sent; the request goes back to the provider's queue."),
}


def link_identity(token: str) -> str:
    """Who a link page's CSRF token is bound to: the link itself."""
    return f"link:{token}"


class LinkScreens(Screens):
    """The link pages; ``links`` is None when the host has not turned links on."""

    links: Optional[ActionLinks] = None

    def _target(self, token: str) -> LinkTarget:
        found = self.links.resolve(self.desk(), token) if self.links is not None else None
        if found is None:
            raise PageError(404)  # the same page whatever the reason (R22)
        i18n.use(self.desk().locale_of(found.contact_id))  # the page in its contact's locale
        return found

    def _page(
        self,
        rq: PageRequest,
        token: str,
        target: LinkTarget,
        error: Optional[str] = None,
        status: int = 200,
    ) -> Page:
        desk = self.desk()
        context = {
            "token": token,
            "link_csrf_token": rq.link_csrf(token),
            "target": target,
            "req": target.request,
            "zone": adapter.contact_zone(desk, target.contact_id),
            "target_label": forms.target_label,
            "error": error,
        }
        return Page("siteupdates_web/act.html", context, status)

    def action_link(self, rq: PageRequest, token: str) -> Page:
        """GET: what the link does, and a button; POST: do it (once)."""
        target = self._target(token)
        if rq.method in ("GET", "HEAD") or target.action == "open":
            return self._page(rq, token, target)
        text = rq.form.get("answer", "").strip()
        if target.action == "answer" and not text:
            return self._page(rq, token, target, i18n.gettext("Write an answer first."), 400)
        assert self.links is not None
        try:
            after = self.links.act(self.desk(), target, answer=text)
        except RequestRefused as exc:
            error = " ".join(r.message for r in exc.refusals) or str(exc)
        except (TransitionNotAllowed, ConflictError):
            raise PageError(404) from None  # changed meanwhile: the link no longer holds
        except (InvalidInput, SiteUpdatesError) as exc:
            error = i18n.gettext("This cannot be done now: %(why)s") % {"why": exc}
        else:
            desk = self.desk()
            context = {
                "done": i18n.gettext(_DONE[target.action]),
                "req": after,
                "zone": adapter.contact_zone(desk, target.contact_id),
                "target_label": forms.target_label,
            }
            return Page("siteupdates_web/act_done.html", context)
        return self._page(rq, token, target, error, 400)
