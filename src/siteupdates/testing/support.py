"""Clocks, sample data and change sets the contract suites and the library's tests share."""

from __future__ import annotations

import itertools
from datetime import datetime, time, timedelta, timezone
from typing import Any, List, Optional

from siteupdates.domain import (
    Actor,
    Catalog,
    Contact,
    Event,
    Group,
    ScheduledTask,
    Site,
    Tenant,
    UpdateRequest,
    apply_event,
    submitted,
)
from siteupdates.domain.timeutil import get_zone
from siteupdates.errors import PermanentDeliveryError
from siteupdates.notices import DeliveryAttempt, Notice
from siteupdates.ports import ChangeSet, OutboxItem, Setup

__all__ = [
    "T0",
    "UTC",
    "FixedClock",
    "RecordingNotifier",
    "ZoneAware",
    "make_request",
    "notice_item",
    "sample_setup",
    "submit_changes",
    "transition",
]

UTC = timezone.utc
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


class FixedClock:
    """A clock that moves only when told to: ``clock()`` and ``clock.advance(...)``."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        self.now += delta


class RecordingNotifier:
    """A notifier plugin that records notices.

    Set ``failing`` to make it fail temporarily (a ConnectionError), or
    ``refusing`` to a reason to make it fail permanently (PermanentDeliveryError).
    """

    def __init__(self) -> None:
        self.delivered: List[Notice] = []
        self.failing = False
        self.refusing: Optional[str] = None
        self.calls = 0

    def siteupdates_deliver_notice(self, notice: Notice, attempt: DeliveryAttempt) -> bool:
        """Record ``notice``, or raise while ``failing`` or ``refusing``."""
        self.calls += 1
        if self.refusing:
            raise PermanentDeliveryError(self.refusing)
        if self.failing:
            raise ConnectionError("mail server unreachable")
        attempt.commit()
        self.delivered.append(notice)
        return True


# pluggy finds the hook through this marker; set here to keep the class import-light.
from siteupdates.hookspecs import hookimpl  # noqa: E402

RecordingNotifier.siteupdates_deliver_notice = hookimpl(  # type: ignore[method-assign]
    RecordingNotifier.siteupdates_deliver_notice
)


def sample_setup() -> Setup:
    """A small provider: a group, three tenants (one in the group), two contacts."""
    berlin = ZoneAware.at(2015, 1, 10, 13, "Europe/Berlin")
    return Setup(
        groups=(Group("state-x", "State X", "state"),),
        tenants=(
            Tenant(
                "d1",
                "Example District",
                "asp",
                sites=(
                    Site("production", "E.1450.4", berlin),
                    Site("sandbox", "E.1450.4", berlin, refreshed_at=T0, automatic=True),
                    Site("staging", "E.1418.2", T0),
                ),
                tasks=(ScheduledTask("nightly export", time(1, 30), "America/Chicago", 6, 45),),
            ),
            Tenant("d2", "Cloud District", "cloud", sites=(Site("production", "E.1505.2", T0),)),
            Tenant(
                "d3",
                "Linked District",
                "cloud-choice",
                sites=(Site("production", "E.1450.4", T0), Site("sandbox", "E.1450.4", T0)),
                group_id="state-x",
            ),
        ),
        contacts=(
            Contact("dana", "Dana", "dana@d1.example", "district", {"d1"}),
            Contact("sam", "Sam", "sam@state.example", "state", {"d1", "d3"}, "Europe/Berlin"),
        ),
        catalog=Catalog.of("E.1418.2", "E.1450.4", "E.1505.1", "E.1505.2"),
        settings={"preset": {"name": "test"}},
    )


class ZoneAware:
    """Build zone-aware instants for tests."""

    @staticmethod
    def at(y: int, m: int, d: int, h: int, zone: str) -> datetime:
        """An aware datetime at a wall-clock time in ``zone``."""
        return datetime(y, m, d, h, tzinfo=get_zone(zone))


_ids = itertools.count(1)


def make_request(tenant_id: str = "d1", **changes: Any) -> UpdateRequest:
    """A valid To Be Scheduled request with a unique ID: a DB refresh of the sandbox.

    A refresh, so that a test may hold many open at once; a version update is
    one per site (give ``version=``, and ``target=`` for a second site).
    """
    base: dict[str, Any] = dict(
        id=f"req-{next(_ids):06d}",
        tenant_id=tenant_id,
        target="production/sandbox",
        version=None,
        db_refresh=True,
        preferred_start=ZoneAware.at(2026, 3, 8, 1, "America/Chicago"),
        zone="America/Chicago",
        requested_by="dana",
        requested_at=T0,
    )
    base.update(changes)
    return UpdateRequest(**base)


def notice_item(request_id: str, key: str, at: datetime = T0) -> OutboxItem:
    """An outbox item for ``request_id``."""
    return OutboxItem(
        id=f"out-{key}",
        key=key,
        kind="notice",
        request_id=request_id,
        payload={"key": key, "n": 1, "nested": {"a": [1, 2]}},
        created_at=at,
    )


def submit_changes(r: UpdateRequest, key: Optional[str] = None) -> ChangeSet:
    """The change set of submitting ``r``: the request, its first entry, one notice."""
    return ChangeSet(
        inserts=(r,), history=(submitted(r),), outbox=(notice_item(r.id, key or f"{r.id}:1"),)
    )


def transition(
    r: UpdateRequest, event: Event, at: datetime = T0, **kw: Any
) -> tuple[UpdateRequest, ChangeSet]:
    """Apply ``event`` as the provider; the change set that stores it."""
    new, entry = apply_event(r, event, actor=Actor.PROVIDER, by="ops", at=at, **kw)
    return new, ChangeSet(
        updates=((new, r.revision),),
        history=(entry,),
        outbox=(notice_item(r.id, f"{r.id}:{entry.seq}"),),
    )
