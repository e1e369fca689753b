"""Values of the source document's story, shared by the tests."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from siteupdates.domain import (
    Catalog,
    Contact,
    PolicyContext,
    RequestDraft,
    Site,
    Tenant,
    UpdateRequest,
    submitted,
)
from siteupdates.domain.lifecycle import HistoryEntry
from siteupdates.presets import CAMPUS_HOSTING

UTC = timezone.utc
NOW = datetime(2015, 2, 1, 15, 0, tzinfo=UTC)

CATALOG = Catalog.of("E.1418.2", "E.1450.3", "E.1450.4", "E.1505.1", "E.1505.2", "E.1509.0")


def district(**changes: Any) -> Tenant:
    base = dict(
        id="d1",
        name="Example District",
        plan="cloud-choice",
        sites=(
            Site("production", "E.1450.4", datetime(2015, 1, 10, 12, tzinfo=UTC)),
            Site(
                "sandbox",
                "E.1450.4",
                datetime(2015, 1, 10, 12, tzinfo=UTC),
                refreshed_at=datetime(2014, 8, 23, 12, tzinfo=UTC),
            ),
            Site("staging", "E.1418.2", datetime(2014, 5, 2, 12, tzinfo=UTC)),
        ),
    )
    base.update(changes)
    return Tenant(**base)  # type: ignore[arg-type]


def contact(**changes: Any) -> Contact:
    base: dict[str, Any] = dict(
        id="c1", name="Dana", email="dana@d1.example", role="district", tenants={"d1"}
    )
    base.update(changes)
    return Contact(**base)


def ctx(
    draft: Optional[RequestDraft] = None,
    *,
    tenant: Optional[Tenant] = None,
    who: Optional[Contact] = None,
    open_requests: tuple[UpdateRequest, ...] = (),
    now: datetime = NOW,
) -> PolicyContext:
    return PolicyContext.build(
        contact=who or contact(),
        tenant=tenant or district(),
        draft=draft
        or RequestDraft("d1", "production/sandbox", "E.1505.2", False, datetime(2015, 2, 14, 1)),
        catalog=CATALOG,
        preset=CAMPUS_HOSTING,
        now=now,
        open_requests=open_requests,
    )


def request(rid: str = "r1", **changes: Any) -> UpdateRequest:
    base: dict[str, Any] = dict(
        id=rid,
        tenant_id="d1",
        target="production/sandbox",
        version="E.1505.2",
        db_refresh=False,
        preferred_start=datetime(2015, 2, 14, 7, tzinfo=UTC),
        zone="America/Chicago",
        requested_by="c1",
        requested_at=NOW,
    )
    base.update(changes)
    return UpdateRequest(**base)


def first_entry(r: UpdateRequest) -> HistoryEntry:
    return submitted(r)
