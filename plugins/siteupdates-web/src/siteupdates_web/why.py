"""Why a contact's action did not go through, in the contact's language.

The library's own texts name events and rules (for the provider and machines);
a contact reads the request's status and the rule's meaning instead.
"""

from __future__ import annotations

from typing import Optional

from siteupdates import Desk, Status, UpdateRequest
from siteupdates.domain import may_cancel
from siteupdates.errors import RequestRefused, SiteUpdatesError

from . import i18n

__all__ = ["cannot_cancel", "not_now", "refused_words"]


def refused_words(exc: RequestRefused) -> Optional[str]:
    """The refusals in the contact's language; None when one has no words in the catalog."""
    if not exc.refusals or any(r.template is None for r in exc.refusals):
        return None
    return i18n.refusals_words(exc.refusals)


def not_now(desk: Desk, contact_id: str, req: UpdateRequest) -> str:
    """Why an action the page offered no longer applies, in the contact's words.

    The library's own text names events and rules; the contact needs the status
    the request has now (it changed since the page was drawn).
    """
    try:
        now = desk.contact(contact_id).request(req.id)
    except SiteUpdatesError:
        now = req
    return i18n.gettext("This cannot be done while the request is %(status)s.") % {
        "status": i18n.gettext(now.status.label)
    }


def cannot_cancel(req: UpdateRequest) -> str:
    """A refused cancel in words a contact understands."""
    if req.status is Status.IN_PROGRESS:
        return i18n.gettext(
            "Request %(id)s is In Progress: work has already begun on your site, so it "
            "cannot be cancelled."
        ) % {"id": req.id}
    decision = may_cancel(req)
    if decision.refusals:
        reason = i18n.refusal_words(decision.refusals[0])
    else:
        reason = i18n.gettext(req.status.label)
    return i18n.gettext("This request cannot be cancelled or deleted: %(why)s.") % {"why": reason}
