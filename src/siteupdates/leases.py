"""What every storage does when a worker claims a request (shared by the backends).

The lifecycle table decides: a due Scheduled request is pulled (``pull``); one
whose worker's lease expired is taken over (``reclaim``). Backends only choose
the rows, lock them, and write what this module returns.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional, Tuple

from siteupdates.domain import (
    TRANSITIONS,
    Actor,
    Event,
    HistoryEntry,
    Status,
    UpdateRequest,
    apply_event,
)
from siteupdates.ports import Claim, Lease

__all__ = ["claim_one", "is_claimable", "reclaim_reason"]


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
    lease = Lease(worker, now + timedelta(seconds=lease_seconds), attempts)
    return new, entry, Claim(new, lease, entry)
