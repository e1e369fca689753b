"""What every storage does when a worker claims a request (shared by the backends).

The lifecycle table decides: a due Scheduled request is pulled (``pull``); one
whose worker's lease expired is taken over (``reclaim``). Backends only choose
the rows, lock them, and write what this module returns. A holder keeps its
leases alive with a :class:`LeaseKeeper`.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Optional, Tuple, TypeVar

from siteupdates import ports
from siteupdates.domain import (
    TRANSITIONS,
    Actor,
    Event,
    HistoryEntry,
    Status,
    UpdateRequest,
    apply_event,
)

if TYPE_CHECKING:
    from siteupdates.ports import Claim

__all__ = ["LeaseKeeper", "claim_one", "is_claimable", "reclaim_reason"]

K = TypeVar("K", bound="LeaseKeeper")


class LeaseKeeper:
    """Renews leases on a background thread while a ``with`` block holds them.

    Every third of ``lease_seconds`` (so that a renewal may fail twice before a
    lease runs out) the thread calls :meth:`renew_round`, which a subclass fills
    in; it returns False when nothing is left to keep. Leaving the block stops
    the thread and waits for it. A worker's claims, a deliverer's outbox items
    and an engine's run keep their leases this way.
    """

    def __init__(self, lease_seconds: float, name: str) -> None:
        self.every = max(lease_seconds / 3, 0.01)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self: K) -> K:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def renew_round(self) -> bool:
        """Renew what is held now; False stops the renewals."""
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if not self.renew_round():
                return


def is_claimable(request: UpdateRequest, lease_expires: Optional[datetime], now: datetime) -> bool:
    """Whether a worker may claim ``request`` at ``now`` (see Storage.claim)."""
    if request.status is Status.SCHEDULED:
        due = request.scheduled_for is not None and request.scheduled_for <= now
        return due and (lease_expires is None or lease_expires < now)
    if request.status in TRANSITIONS[Event.RECLAIM].sources:
        return lease_expires is not None and lease_expires < now
    return False


def reclaim_reason(owner: Optional[str], attempts: int) -> str:
    """The history reason of a take-over (backends that claim in SQL must match it)."""
    return f"the lease of {owner or 'a worker'} expired; taken over (attempt {attempts})"


def claim_one(
    request: UpdateRequest,
    owner: Optional[str],
    attempts_so_far: int,
    worker: str,
    now: datetime,
    lease_seconds: float,
) -> Tuple[UpdateRequest, HistoryEntry, Claim]:
    """The claimed request, its history entry and the claim, by the lifecycle table.

    ``owner`` is the worker whose lease expired (None for a fresh claim) and
    ``attempts_so_far`` the claims the request had before this one.
    """
    attempts = attempts_so_far + 1
    if request.status is Status.SCHEDULED:
        new, entry = apply_event(request, Event.PULL, actor=Actor.PROVIDER, by=worker, at=now)
    else:
        new, entry = apply_event(
            request,
            Event.RECLAIM,
            actor=Actor.PROVIDER,
            by=worker,
            at=now,
            reason=reclaim_reason(owner, attempts),
        )
    lease = ports.Lease(worker, now + timedelta(seconds=lease_seconds), attempts)
    return new, entry, ports.Claim(new, lease, entry)
