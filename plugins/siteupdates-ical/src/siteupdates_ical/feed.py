"""iCalendar feeds of scheduled updates: one per contact (R22) and one for the provider.

A feed is rendered from the requests and tenants a host already has, so a web
host can serve it (``contact_feed(...)`` as the body of a ``text/calendar``
response) and a command line can write it to a file. Times are UTC; the
contact's zone goes into ``X-WR-TIMEZONE`` and each description, for display.

Statuses: Scheduled, Not Started, In Progress and Completed are ``CONFIRMED``;
Pending Input and Deferred ``TENTATIVE``; Cancelled, Deleted, New Version
Requested and Unable to Complete ``CANCELLED``, so subscribed clients remove or
strike them. Requests without a date are not in a feed. ``SEQUENCE`` is the
request's revision, which rises with every change and so with every move.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Collection, Iterable, Mapping, Optional, Protocol, Sequence

from ._zones import UTC, zone_info
from .text import serialize
from .writing import make_event, new_calendar, uid_for

__all__ = ["ContactLike", "RequestLike", "TenantLike", "contact_feed", "provider_feed"]

_STATUS = {
    "scheduled": "CONFIRMED",
    "not-started": "CONFIRMED",
    "in-progress": "CONFIRMED",
    "completed": "CONFIRMED",
    "pending-input": "TENTATIVE",
    "deferred": "TENTATIVE",
}


class TenantLike(Protocol):
    """What a feed reads of a tenant."""

    @property
    def id(self) -> str: ...  # noqa: D102

    @property
    def name(self) -> str: ...  # noqa: D102


class ContactLike(Protocol):
    """What a feed reads of a contact."""

    @property
    def id(self) -> str: ...  # noqa: D102

    @property
    def tenants(self) -> Collection[str]: ...  # noqa: D102

    @property
    def zone(self) -> Optional[str]: ...  # noqa: D102


class RequestLike(Protocol):
    """What a feed reads of an update request."""

    @property
    def id(self) -> str: ...  # noqa: D102

    @property
    def tenant_id(self) -> str: ...  # noqa: D102

    @property
    def status(self) -> str: ...  # noqa: D102

    @property
    def scheduled_for(self) -> Optional[datetime]: ...  # noqa: D102

    @property
    def revision(self) -> int: ...  # noqa: D102

    @property
    def target(self) -> str: ...  # noqa: D102

    @property
    def version(self) -> Optional[object]: ...  # noqa: D102


def _value(x: object) -> str:
    return str(getattr(x, "value", x))


def _summary(request: RequestLike, tenant: TenantLike) -> str:
    if request.version is not None:
        return f"{tenant.name}: update of {_value(request.target)} to {request.version}"
    return f"{tenant.name}: DB refresh of {_value(request.target)}"


def _render(
    requests: Iterable[RequestLike],
    tenants: Mapping[str, TenantLike],
    visible: Optional[Collection[str]],
    *,
    name: str,
    zone: str,
    duration: timedelta,
    stamp: Optional[datetime],
    alarms: Sequence[timedelta],
) -> bytes:
    tz = zone_info(zone)
    now = stamp or datetime.now(UTC)
    cal = new_calendar(name, zone)
    chosen = [
        r
        for r in requests
        if r.scheduled_for is not None
        and r.tenant_id in tenants
        and (visible is None or r.tenant_id in visible)
    ]
    for r in sorted(chosen, key=lambda r: (r.scheduled_for, r.id)):
        assert r.scheduled_for is not None
        status = _STATUS.get(_value(r.status), "CANCELLED")
        local = r.scheduled_for.astimezone(tz)
        cal.add_component(
            make_event(
                uid_for(r.id),
                _summary(r, tenants[r.tenant_id]),
                r.scheduled_for,
                r.scheduled_for + duration,
                sequence=r.revision,
                status=status,
                stamp=now,
                description=f"Request {r.id}, {local:%A %Y-%m-%d %H:%M} ({zone}).",
                alarms=alarms if status != "CANCELLED" else (),
            )
        )
    return serialize(cal)


def contact_feed(
    contact: ContactLike,
    requests: Iterable[RequestLike],
    tenants: Iterable[TenantLike],
    *,
    default_zone: str = "America/Chicago",
    duration: timedelta = timedelta(hours=2),
    stamp: Optional[datetime] = None,
    alarms: Sequence[timedelta] = (),
) -> bytes:
    """The feed of the updates ``contact`` may see: their tenants only (R22).

    ``requests`` and ``tenants`` may hold anything the host has; what the contact
    is not connected to is left out before anything is rendered, names included.
    """
    by_id = {t.id: t for t in tenants if t.id in contact.tenants}
    zone = contact.zone or default_zone
    return _render(requests, by_id, frozenset(contact.tenants), name="Site updates",
                   zone=zone, duration=duration, stamp=stamp, alarms=alarms)  # fmt: skip


def provider_feed(
    requests: Iterable[RequestLike],
    tenants: Iterable[TenantLike],
    *,
    zone: str = "America/Chicago",
    duration: timedelta = timedelta(hours=2),
    stamp: Optional[datetime] = None,
    alarms: Sequence[timedelta] = (),
) -> bytes:
    """The provider's feed: every tenant's scheduled updates."""
    by_id = {t.id: t for t in tenants}
    return _render(requests, by_id, None, name="Site updates (provider)", zone=zone,
                   duration=duration, stamp=stamp, alarms=alarms)  # fmt: skip
