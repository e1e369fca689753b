"""iCalendar feeds of scheduled updates: one per contact (R22) and one for the provider.

A feed is rendered from the requests and tenants a host already has, so a web
host can serve it (``contact_feed(...)`` as the body of a ``text/calendar``
response) and a command line can write it to a file. Times are UTC; the
contact's zone goes into ``X-WR-TIMEZONE`` and each description, for display.

Statuses: Scheduled, Not Started, In Progress and Completed are ``CONFIRMED``;
Pending Input and Deferred ``TENTATIVE``; Cancelled, Deleted, New Version
Requested and Unable to Complete ``CANCELLED``. ``SEQUENCE`` is the request's
revision, which rises with every change and so with every move.

A request that leaves the calendar (cancelled, superseded, unable to complete,
deleted) loses its date; a client that imported the feed would keep its event
for ever. So the host passes each such request's last date (``departed``, built
with :func:`departure` from its history), and the feed keeps it as
``STATUS:CANCELLED`` at that date with its (higher) SEQUENCE, which makes a
client remove or strike it, for :data:`KEEP_CANCELLED` after the later of its
end and the moment it left; then it leaves the feed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Collection, Iterable, Mapping, Optional, Protocol, Sequence, Tuple

from ._zones import UTC, zone_info
from .schedule import KEEP_CANCELLED
from .text import serialize
from .writing import make_event, new_calendar, uid_for

__all__ = [
    "KEEP_CANCELLED",
    "ContactLike",
    "HistoryLike",
    "RequestLike",
    "TenantLike",
    "contact_feed",
    "departure",
    "provider_feed",
]

#: A departure: the last date a request had, and when it lost it.
Departure = Tuple[datetime, datetime]

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


class HistoryLike(Protocol):
    """What :func:`departure` reads of a history entry."""

    @property
    def at(self) -> datetime: ...  # noqa: D102

    @property
    def old_date(self) -> Optional[datetime]: ...  # noqa: D102

    @property
    def new_date(self) -> Optional[datetime]: ...  # noqa: D102


def departure(history: Sequence[HistoryLike]) -> Optional[Departure]:
    """The last date a request had and when it lost it, from its history; None if it has one.

    The entry that drops a date keeps it as ``old_date`` (with no ``new_date``).
    """
    for entry in reversed(history):
        if entry.new_date is not None:
            return None  # its last change gave it a date
        if entry.old_date is not None:
            return entry.old_date, entry.at
    return None


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
    departed: Mapping[str, Departure],
) -> bytes:
    tz = zone_info(zone)
    now = stamp or datetime.now(UTC)
    cal = new_calendar(name, zone)
    chosen = []
    for r in requests:
        if r.tenant_id not in tenants or (visible is not None and r.tenant_id not in visible):
            continue
        gone = departed.get(r.id)
        when = r.scheduled_for
        if when is None and gone is not None:
            when = gone[0]
        if when is None:
            continue
        left = gone is not None and _value(r.status) not in _STATUS
        if left and gone is not None and max(when + duration, gone[1]) + KEEP_CANCELLED < now:
            continue  # cancelled long enough: clients have removed it
        chosen.append((when, r))
    for when, r in sorted(chosen, key=lambda x: (x[0], x[1].id)):
        status = _STATUS.get(_value(r.status), "CANCELLED")
        local = when.astimezone(tz)
        cal.add_component(
            make_event(
                uid_for(r.id),
                _summary(r, tenants[r.tenant_id]),
                when,
                when + duration,
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
    departed: Mapping[str, Departure] = {},
) -> bytes:
    """The feed of the updates ``contact`` may see: their tenants only (R22).

    ``requests`` and ``tenants`` may hold anything the host has; what the contact
    is not connected to is left out before anything is rendered, names included.
    ``departed`` maps a request that lost its date to :func:`departure`'s answer:
    it stays in the feed as cancelled for :data:`KEEP_CANCELLED`.
    """
    by_id = {t.id: t for t in tenants if t.id in contact.tenants}
    zone = contact.zone or default_zone
    return _render(requests, by_id, frozenset(contact.tenants), name="Site updates",
                   zone=zone, duration=duration, stamp=stamp, alarms=alarms,
                   departed=departed)  # fmt: skip


def provider_feed(
    requests: Iterable[RequestLike],
    tenants: Iterable[TenantLike],
    *,
    zone: str = "America/Chicago",
    duration: timedelta = timedelta(hours=2),
    stamp: Optional[datetime] = None,
    alarms: Sequence[timedelta] = (),
    departed: Mapping[str, Departure] = {},
) -> bytes:
    """The provider's feed: every tenant's scheduled updates (``departed``: as above)."""
    by_id = {t.id: t for t in tenants}
    return _render(requests, by_id, None, name="Site updates (provider)", zone=zone,
                   duration=duration, stamp=stamp, alarms=alarms,
                   departed=departed)  # fmt: skip
