"""What the web screens read, through the desk's actor handles only.

Every read here is a declared use case (``desk.contact(...)``, ``desk.provider``,
``desk.ops``): paged, checked, the contact's bound to the contact (R22). Nothing
reaches the storage. The desk's ``preset`` and ``reminders`` are its
configuration, read as properties.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from siteupdates import Catalog, Contact, Desk, ProviderPreset, Status, Tenant, UpdateRequest
from siteupdates.errors import AccessDenied, NotFound

__all__ = [
    "OutboxRow",
    "PlanRow",
    "catalog",
    "contact",
    "contact_zone",
    "outbox",
    "outbox_item",
    "plan_rows",
    "preset",
    "provider_zone",
    "requests_in",
    "requests_of",
    "retry_outbox_item",
    "tenant",
    "tenants",
]

#: The rows one page of a provider's list shows.
PAGE = 200


def preset(desk: Desk) -> ProviderPreset:
    """The provider's preset (windows, default zone, plan rules) the desk works with."""
    return desk.preset


def catalog(desk: Desk, contact_id: Optional[str] = None) -> Catalog:
    """The versions on offer (as the contact may read them, with ``contact_id``)."""
    if contact_id is not None:
        return desk.contact(contact_id).catalog()
    return desk.provider.catalog()


def contact(desk: Desk, contact_id: str) -> Optional[Contact]:
    """The contact's own record (for their zone and role), or None for an unknown one."""
    try:
        return desk.contact(contact_id).me()
    except AccessDenied:
        return None


def contact_zone(desk: Desk, contact_id: str) -> str:
    """The zone a contact reads and enters times in: their profile's, else the provider's."""
    found = contact(desk, contact_id)
    return (found.zone if found is not None else None) or preset(desk).default_zone


def provider_zone(desk: Desk) -> str:
    """The zone the provider's screens show times in."""
    return preset(desk).default_zone


def tenant(desk: Desk, tenant_id: str) -> Optional[Tenant]:
    """Provider side: any tenant by ID, or None."""
    try:
        return desk.provider.tenant(tenant_id)
    except NotFound:
        return None


def tenants(desk: Desk, *, offset: int = 0, limit: int = 1000) -> List[Tenant]:
    """Provider side: one page of the tenants, by ID (the filters' choices)."""
    return list(desk.provider.tenants(offset=offset, limit=limit))


def requests_in(
    desk: Desk, statuses: Sequence[Status], *, offset: int = 0, limit: int = PAGE
) -> List[UpdateRequest]:
    """Provider side: one page of the requests in ``statuses``, first come first served."""
    page = desk.provider.requests(statuses=[s.value for s in statuses], offset=offset, limit=limit)
    return list(page)


def requests_of(desk: Desk, tenant_id: str) -> Iterator[UpdateRequest]:
    """Every request of one tenant, whatever its status, page by page (a feed reads them all)."""
    offset = 0
    while True:
        page = desk.provider.requests(tenant_id=tenant_id, offset=offset, limit=PAGE)
        yield from page
        offset += len(page)
        if not len(page) or offset >= page.total:
            return


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


def outbox(
    desk: Desk, state: Optional[str] = None, *, offset: int = 0, limit: int = PAGE
) -> List[OutboxRow]:
    """One page of the outbox, oldest first, optionally of one state (``pending``, ``dead``)."""
    return [OutboxRow(i) for i in desk.provider.outbox(state=state, offset=offset, limit=limit)]


def outbox_item(desk: Desk, item_id: str) -> Optional[OutboxRow]:
    """One outbox item, or None."""
    try:
        item, _ = desk.provider.outbox_item(item_id)
    except NotFound:
        return None
    return OutboxRow(item)


def retry_outbox_item(desk: Desk, item_id: str) -> Optional[OutboxRow]:
    """Requeue one item (a dead one too) and deliver what is due; None if there is none.

    The item goes through the dispatcher's claim, so a deliverer running
    elsewhere never sends it a second time.
    """
    try:
        item, _ = desk.provider.outbox_item(item_id)
    except NotFound:
        return None
    desk.provider.retry_outbox([item.key], by="web")
    desk.ops.deliver()
    return outbox_item(desk, item_id)


class PlanRow:
    """One queued request in a plan: where the planner put it, or why it could not."""

    def __init__(self, request: UpdateRequest, start: Optional[datetime], reason: str) -> None:
        self.request = request
        self.start = start
        self.reason = reason


def plan_rows(run: Any) -> Tuple[List[PlanRow], Tuple[str, ...], Tuple[str, ...]]:
    """The rows of a ``desk.provider.plan_queue`` result, with the stored and conflicting IDs."""
    rows = []
    for r in run.requests:
        placement = run.plan.placements.get(r.id)
        start = getattr(placement, "start", None)
        reason = getattr(placement, "reason", None) or ""
        rows.append(PlanRow(r, start, reason))
    return rows, tuple(run.stored), tuple(run.conflicts)
