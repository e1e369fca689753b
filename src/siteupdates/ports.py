"""The ports between the use cases and the outside: storage, outbox, setup.

A storage plugin implements :class:`Storage`. Reads return domain values; every
write of a use case goes through :meth:`Storage.apply` with one
:class:`ChangeSet`, which the backend commits in one transaction: the requests'
new states, their history entries, outgoing notices and site changes commit
together or not at all. Run :mod:`siteupdates.testing`'s contract suite against
a new backend.
"""

from __future__ import annotations

import abc
import enum
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import attrs

from siteupdates.domain import (
    Catalog,
    Contact,
    Group,
    HistoryEntry,
    Status,
    Tenant,
    UpdateRequest,
)

__all__ = [
    "CLAIMABLE",
    "ChangeSet",
    "Claim",
    "Fence",
    "Lease",
    "OutboxItem",
    "OutboxState",
    "Page",
    "Setup",
    "Storage",
]


#: The statuses a worker may claim from (with the conditions in :meth:`Storage.claim`).
CLAIMABLE = (Status.SCHEDULED, Status.NOT_STARTED, Status.IN_PROGRESS)


class OutboxState(str, enum.Enum):
    """Where an outgoing message stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@attrs.frozen
class OutboxItem:
    """A message written with the change that caused it, delivered later.

    ``kind`` is ``notice`` (for the notification hook) or ``calendar`` (for the
    calendar hook). ``key`` is stable across retries so a receiver can drop
    duplicates (delivery is at least once).
    """

    id: str
    key: str
    kind: str
    request_id: Optional[str]
    payload: Mapping[str, Any]
    created_at: datetime
    state: OutboxState = OutboxState.PENDING
    attempts: int = 0
    next_attempt_at: Optional[datetime] = None
    last_error: Optional[str] = None
    delivered_at: Optional[datetime] = None


@attrs.frozen
class Lease:
    """A hosting worker's hold on a request: who, until when, and which attempt it is.

    ``attempts`` counts the claims of the request; it is also the fencing token:
    a worker acts on a request only while the stored lease still names it with
    the same attempt.
    """

    worker: str
    expires: datetime
    attempts: int


@attrs.frozen
class Fence:
    """A condition of a change set: ``worker`` still holds ``request_id`` at ``attempts``."""

    request_id: str
    worker: str
    attempts: int


@attrs.frozen
class Claim:
    """A claimed request (now Not Started), its lease, and the history entry of the claim."""

    request: UpdateRequest
    lease: Lease
    entry: HistoryEntry

    @property
    def fence(self) -> Fence:
        """The fence every later change by this worker must carry."""
        return Fence(self.request.id, self.lease.worker, self.lease.attempts)


@attrs.frozen
class ChangeSet:
    """Everything one use case writes, committed together.

    ``updates`` pairs a request's new state with the revision it was loaded at;
    the backend raises :class:`~siteupdates.errors.ConflictError` and writes
    nothing when the stored revision differs. ``fences`` must all hold (else
    :class:`~siteupdates.errors.LeaseLost` and nothing is written); ``release``
    lists requests whose worker lease ends with the change.
    """

    inserts: Tuple[UpdateRequest, ...] = ()
    updates: Tuple[Tuple[UpdateRequest, int], ...] = ()
    history: Tuple[HistoryEntry, ...] = ()
    outbox: Tuple[OutboxItem, ...] = ()
    tenants: Tuple[Tenant, ...] = ()
    fences: Tuple[Fence, ...] = ()
    release: Tuple[str, ...] = ()

    def __add__(self, other: ChangeSet) -> ChangeSet:
        return ChangeSet(
            self.inserts + other.inserts,
            self.updates + other.updates,
            self.history + other.history,
            self.outbox + other.outbox,
            self.tenants + other.tenants,
            self.fences + other.fences,
            self.release + other.release,
        )


@attrs.frozen
class Setup:
    """A provider's reference data: groups, tenants and their sites, contacts, catalog."""

    groups: Tuple[Group, ...] = ()
    tenants: Tuple[Tenant, ...] = ()
    contacts: Tuple[Contact, ...] = ()
    catalog: Catalog = attrs.field(factory=lambda: Catalog(frozenset()))
    settings: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Page:
    """A slice of a list: ``items`` and the total count before slicing."""

    items: Tuple[UpdateRequest, ...]
    total: int
    offset: int
    limit: int


class Storage(abc.ABC):
    """Where a host keeps its data. Every method is safe to call from one thread at a time."""

    url: str = ""

    # -- lifecycle -------------------------------------------------------------

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release connections and files."""

    # -- reference data --------------------------------------------------------

    @abc.abstractmethod
    def save_setup(self, setup: Setup) -> None:
        """Insert or replace groups, tenants, contacts, the catalog and settings, in one batch."""

    @abc.abstractmethod
    def settings(self) -> Dict[str, Any]:
        """The stored settings (for example the provider preset)."""

    @abc.abstractmethod
    def tenant(self, tenant_id: str) -> Optional[Tenant]:
        """The tenant with ``tenant_id``, or None."""

    @abc.abstractmethod
    def tenants(self) -> List[Tenant]:
        """Every tenant, ordered by ID."""

    @abc.abstractmethod
    def group(self, group_id: str) -> Optional[Group]:
        """The group with ``group_id``, or None."""

    @abc.abstractmethod
    def contact(self, contact_id: str) -> Optional[Contact]:
        """The contact with ``contact_id``, or None."""

    @abc.abstractmethod
    def contacts(self) -> List[Contact]:
        """Every contact, ordered by ID."""

    @abc.abstractmethod
    def catalog(self) -> Catalog:
        """The versions on offer."""

    # -- requests --------------------------------------------------------------

    @abc.abstractmethod
    def request(self, request_id: str) -> Optional[UpdateRequest]:
        """The request with ``request_id``, or None."""

    @abc.abstractmethod
    def requests_for(
        self,
        tenant_id: str,
        *,
        statuses: Optional[Sequence[Status]] = None,
        exclude: Sequence[Status] = (),
        offset: int = 0,
        limit: int = 100,
    ) -> Page:
        """A tenant's requests, newest first (``requested_at`` then ID, descending)."""

    @abc.abstractmethod
    def requests_in(self, statuses: Sequence[Status], *, limit: int = 1000) -> List[UpdateRequest]:
        """Requests in ``statuses``, first come first served (``requested_at``, then ID)."""

    @abc.abstractmethod
    def by_idempotency_key(self, requested_by: str, key: str) -> Optional[UpdateRequest]:
        """The request ``requested_by`` submitted with idempotency ``key``, or None."""

    @abc.abstractmethod
    def history(self, request_id: str) -> List[HistoryEntry]:
        """The request's history, oldest first."""

    # -- writes ----------------------------------------------------------------

    @abc.abstractmethod
    def apply(self, changes: ChangeSet) -> None:
        """Commit ``changes`` in one transaction, or raise and write nothing.

        Raises ConflictError when an update's expected revision is stale, and
        DuplicateKey when an insert reuses a contact's idempotency key.
        """

    # -- outbox ----------------------------------------------------------------

    @abc.abstractmethod
    def outbox_due(self, now: datetime, *, limit: int = 100) -> List[OutboxItem]:
        """Pending items whose next attempt is due, oldest first."""

    @abc.abstractmethod
    def outbox(
        self, *, request_id: Optional[str] = None, state: Optional[OutboxState] = None
    ) -> List[OutboxItem]:
        """Outbox items, oldest first, optionally of one request or state."""

    @abc.abstractmethod
    def record_attempt(self, item: OutboxItem) -> None:
        """Store the outcome of a delivery attempt (``item`` carries the new state)."""

    # -- hosting workers -----------------------------------------------------------

    @abc.abstractmethod
    def claim(
        self, worker: str, now: datetime, lease_seconds: float, *, limit: int = 1
    ) -> List[Claim]:
        """Claim up to ``limit`` requests for ``worker``, in one transaction.

        Claimable are Scheduled requests due at ``now`` that no live lease holds,
        and Not Started or In Progress requests whose lease expired. Each claimed
        request becomes Not Started (R15; event ``pull``, or ``reclaim`` for an
        expired lease) with a history entry, a lease until ``now + lease_seconds``
        and its attempt count raised. Concurrent claims never return one request
        twice. Order: ``scheduled_for``, then ``requested_at``, then ID.
        """

    @abc.abstractmethod
    def lease(self, request_id: str) -> Optional[Lease]:
        """The request's current lease, or None."""

    @abc.abstractmethod
    def renew(self, fence: Fence, until: datetime) -> bool:
        """Extend a lease; False (and nothing changed) when ``fence`` no longer holds."""
