"""Everything the web screens need that the ``Desk`` facade does not offer (yet).

This module is the one place that reaches past the facade, through the public
``Storage`` port (``desk.storage``), the desk's ``preset`` and its dispatcher.
When the facade grows a method for one of these, change it here and nowhere else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, List, Optional, Sequence, Tuple

from siteupdates import Catalog, Contact, Desk, ProviderPreset, Status, Tenant, UpdateRequest

__all__ = [
    "OutboxRow",
    "PlanRow",
    "catalog",
    "contact",
    "contact_zone",
    "outbox",
    "plan_rows",
    "preset",
    "provider_zone",
    "requests_in",
    "retry_outbox_item",
    "tenant",
    "tenants",
]


def preset(desk: Desk) -> ProviderPreset:
    """The provider's preset (windows, default zone, plan rules) the desk works with."""
    return desk.preset


def catalog(desk: Desk) -> Catalog:
    """The versions on offer."""
    return desk.storage.catalog()


def contact(desk: Desk, contact_id: str) -> Optional[Contact]:
    """The contact with ``contact_id`` (for their zone and role), or None."""
    return desk.storage.contact(contact_id)


def contact_zone(desk: Desk, contact_id: str) -> str:
    """The zone a contact reads and enters times in: their profile's, else the provider's."""
    found = contact(desk, contact_id)
    return (found.zone if found is not None else None) or preset(desk).default_zone


def provider_zone(desk: Desk) -> str:
    """The zone the provider's screens show times in."""
    return preset(desk).default_zone


def tenant(desk: Desk, tenant_id: str) -> Optional[Tenant]:
    """Provider side: any tenant by ID, or None."""
    return desk.storage.tenant(tenant_id)


def tenants(desk: Desk) -> List[Tenant]:
    """Provider side: every tenant."""
    return desk.storage.tenants()


def requests_in(desk: Desk, statuses: Sequence[Status], limit: int = 1000) -> List[UpdateRequest]:
    """Provider side: requests in ``statuses``, first come first served."""
    return desk.storage.requests_in(tuple(statuses), limit=limit)


class OutboxRow:
    """One outbox item as the provider's outbox screen shows it."""

    def __init__(self, item: Any) -> None:
        self.id: str = item.id
        self.key: str = item.key
        self.kind: str = item.kind
        self.state: str = str(getattr(item.state, "value", item.state))
        self.attempts: int = item.attempts
        self.request_id: Optional[str] = item.request_id
        payload = item.payload
        self.subject: str = str(payload.get("subject") or payload.get("summary") or "")
        self.to: str = str(payload.get("email") or "")
        self.last_error: Optional[str] = item.last_error
        self.created_at: datetime = item.created_at
        self.next_attempt_at: Optional[datetime] = item.next_attempt_at


def outbox(desk: Desk, state: Optional[str] = None) -> List[OutboxRow]:
    """The outbox, oldest first, optionally only the ``pending``, ``delivered`` or ``dead``."""
    items = desk.storage.outbox()
    rows = [OutboxRow(i) for i in items]
    if state:
        rows = [r for r in rows if r.state == state]
    return rows


def retry_outbox_item(desk: Desk, item_id: str) -> Optional[OutboxRow]:
    """Requeue one item (a dead one too) and deliver what is due; None if there is none.

    The item goes through the dispatcher's claim, so a deliverer running
    elsewhere never sends it a second time.
    """
    for item in desk.storage.outbox():
        if item.id == item_id:
            desk.retry_outbox([item.key], by="web")
            desk.deliver()
            now = [o for o in desk.storage.outbox(request_id=item.request_id) if o.id == item_id]
            return OutboxRow(now[0] if now else item)
    return None


class PlanRow:
    """One queued request in a plan: where the planner put it, or why it could not."""

    def __init__(self, request: UpdateRequest, start: Optional[datetime], reason: str) -> None:
        self.request = request
        self.start = start
        self.reason = reason


def plan_rows(run: Any) -> Tuple[List[PlanRow], Tuple[str, ...], Tuple[str, ...]]:
    """The rows of a ``desk.plan_queue`` result, with the stored and conflicting IDs."""
    rows = []
    for r in run.requests:
        placement = run.plan.placements.get(r.id)
        start = getattr(placement, "start", None)
        reason = getattr(placement, "reason", None) or ""
        rows.append(PlanRow(r, start, reason))
    return rows, tuple(run.stored), tuple(run.conflicts)
