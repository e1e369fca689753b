"""The ports between the use cases and the outside: storage, units of work, setup.

A storage plugin implements :class:`Storage`. A use case runs inside one
:class:`Unit` (``with storage.unit() as uow``): every read its decision depends
on and every write it makes happen in one transaction, so what was read cannot
change before the write commits. Writes are :class:`ChangeSet` values (the
requests' new states, their history entries, outgoing notices and site
changes) that commit together or not at all.

The store also enforces the invariants that must hold across processes, so a
backend that lets two writers race still cannot break them:

* at most one open version update per site (tenant and target, R17);
* at most one provider booking per tenant and booking key (``cloud-week:...``);
* revision checks on every write of a request or a tenant.

A violation is a :class:`~siteupdates.errors.ConflictError`, never a driver
error. Run :mod:`siteupdates.testing`'s contract suite against a new backend.
"""

from __future__ import annotations

import abc
import enum
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Dict, Generic, Iterator, List, Mapping, Optional, Sequence, Tuple, TypeVar

import attrs

from siteupdates.domain import (
    CLAIMABLE,
    OPEN,
    Catalog,
    Contact,
    Group,
    HistoryEntry,
    Status,
    Target,
    Tenant,
    UpdateRequest,
)

__all__ = [
    "AUDIT_KINDS",
    "CLAIMABLE",
    "AuditEntry",
    "ChangeSet",
    "Claim",
    "Fence",
    "Lease",
    "OutboxEvent",
    "OutboxItem",
    "OutboxState",
    "Page",
    "Reads",
    "ReferenceChange",
    "Setup",
    "Storage",
    "Unit",
]


class OutboxState(str, enum.Enum):
    """Where an outgoing message stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    #: A reminder whose request moved or ended before it was due: never sent.
    WITHDRAWN = "withdrawn"


@attrs.frozen
class OutboxItem:
    """A message written with the change that caused it, delivered later.

    ``kind`` is ``notice`` (for the notification hook), ``reminder`` (a notice
    due at ``next_attempt_at``, withdrawn when its request changes) or
    ``calendar`` (for the calendar hook). ``key`` is stable across retries so a
    receiver can drop duplicates (delivery is at least once).

    A deliverer claims an item before sending it: ``lease_owner`` holds it until
    ``lease_expires``, and ``claims`` counts the claims, so it is the fencing
    token of the claim (a deliverer settles an item only while the stored owner
    and count are still its own).
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
    lease_owner: Optional[str] = None
    lease_expires: Optional[datetime] = None
    claims: int = 0


@attrs.frozen
class OutboxEvent:
    """One line of an outbox item's own history: delivered, failed, dead, requeued, withdrawn."""

    outbox_id: str
    at: datetime
    event: str
    by: str
    detail: Optional[str] = None


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

    @property
    def token(self) -> int:
        """The fencing token: the claim count, raised by every claim of the request.

        A system the update touches can refuse an actor whose token is lower
        than the highest it has seen for the request (see docs/workers.md).
        """
        return self.attempts


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
    nothing when the stored revision differs. ``tenants`` are written only if
    the stored tenant still has the ``revision`` it was loaded with. ``fences`` must all hold (else
    :class:`~siteupdates.errors.LeaseLost` and nothing is written); ``release``
    lists requests whose worker lease ends with the change; ``withdraw`` lists
    requests whose pending reminders are withdrawn with the change (a moved date
    re-arms the ladder with new keys, a cancel ends it).
    """

    inserts: Tuple[UpdateRequest, ...] = ()
    updates: Tuple[Tuple[UpdateRequest, int], ...] = ()
    history: Tuple[HistoryEntry, ...] = ()
    outbox: Tuple[OutboxItem, ...] = ()
    tenants: Tuple[Tenant, ...] = ()
    fences: Tuple[Fence, ...] = ()
    release: Tuple[str, ...] = ()
    withdraw: Tuple[str, ...] = ()

    def __add__(self, other: ChangeSet) -> ChangeSet:
        return ChangeSet.concat((self, other))

    @classmethod
    def concat(cls, sets: Sequence[ChangeSet]) -> ChangeSet:
        """Many change sets as one, in linear time (``a + b + c ...`` copies each time)."""
        if len(sets) == 1 and type(sets[0]) is cls:
            return sets[0]
        return cls(
            *(
                tuple(item for cs in sets for item in getattr(cs, field.name))
                for field in attrs.fields(cls)
            )
        )


@attrs.frozen
class Setup:
    """A provider's reference data: groups, tenants and their sites, contacts, catalog."""

    groups: Tuple[Group, ...] = ()
    tenants: Tuple[Tenant, ...] = ()
    contacts: Tuple[Contact, ...] = ()
    catalog: Catalog = attrs.field(factory=lambda: Catalog(frozenset()))
    settings: Mapping[str, Any] = attrs.field(factory=dict)


T = TypeVar("T")


#: What reference data an audit entry is about.
AUDIT_KINDS = ("tenant", "contact", "group", "catalog", "settings")


@attrs.frozen
class AuditEntry:
    """One change of reference data: who made it, when, and the value before and after.

    ``kind`` is one of :data:`AUDIT_KINDS`, ``key`` the ID (a version for the
    catalog, a key for settings), ``action`` ``added``, ``changed`` or
    ``removed``; ``before`` and ``after`` are plain JSON-able data (None when
    the thing did not exist). ``seq`` is given by the storage, increasing.
    """

    at: datetime
    by: str
    kind: str
    key: str
    action: str
    before: Optional[Mapping[str, Any]] = None
    after: Optional[Mapping[str, Any]] = None
    seq: int = 0

    def describe(self) -> str:
        """One line for people: ``changed contact dana: email a@x -> b@x``."""
        head = f"{self.action} {self.kind} {self.key}"
        if self.action != "changed" or self.before is None or self.after is None:
            return head
        parts = []
        for field in sorted(set(self.before) | set(self.after)):
            old, new = self.before.get(field), self.after.get(field)
            if old != new:
                parts.append(f"{field} {_brief(old)} -> {_brief(new)}")
        return f"{head}: " + "; ".join(parts) if parts else head


def _brief(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@attrs.frozen
class ReferenceChange:
    """What one unit writes to reference data: upserts, removals and their audit entries.

    ``upsert`` holds the groups, tenants, contacts, catalog versions and
    settings to write (an existing tenant is written only at the revision it
    carries, else :class:`~siteupdates.errors.ConflictError`); the ``remove_*``
    tuples name what to delete. ``audit`` is recorded in the same transaction.
    """

    upsert: Setup = attrs.field(factory=lambda: Setup())
    remove_groups: Tuple[str, ...] = ()
    remove_tenants: Tuple[str, ...] = ()
    remove_contacts: Tuple[str, ...] = ()
    remove_versions: Tuple[str, ...] = ()
    remove_settings: Tuple[str, ...] = ()
    audit: Tuple[AuditEntry, ...] = ()


@attrs.frozen
class Page(Generic[T]):
    """A slice of a list that can grow: ``items`` and the total count before slicing.

    Every view that lists requests or tenants returns one (``Desk.requests``,
    ``Desk.queue``, ``Desk.tenants_of``). Iterating a page, ``len()`` and
    indexing go over ``items``.
    """

    items: Tuple[T, ...]
    total: int
    offset: int = 0
    limit: int = 0

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]


class Reads(abc.ABC):
    """What a use case may read: from a :class:`Storage`, or inside a :class:`Unit`.

    Read from a storage, each call sees the latest committed data; read inside a
    unit, it sees the unit's transaction (its own writes included). Methods
    marked optional have a default built on the others; SQL backends answer them
    through an index.
    """

    # -- reference data --------------------------------------------------------

    @abc.abstractmethod
    def settings(self) -> Dict[str, Any]:
        """The stored settings (for example the provider preset)."""

    @abc.abstractmethod
    def tenant(self, tenant_id: str) -> Optional[Tenant]:
        """The tenant with ``tenant_id``, or None."""

    @abc.abstractmethod
    def tenants(self) -> List[Tenant]:
        """Every tenant, ordered by ID."""

    def has_tenants(self) -> bool:
        """Whether any tenant is stored (a setup was applied).

        The default reads them all; a storage overrides it with a cheaper look.
        """
        return bool(self.tenants())

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

    def groups(self) -> List[Group]:
        """Every group, ordered by ID (optional; needed by ``siteupdates apply``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot list groups")

    def audit(
        self, *, kind: Optional[str] = None, key: Optional[str] = None, limit: int = 1000
    ) -> List[AuditEntry]:
        """The changes of reference data, newest first (optional; none by default)."""
        return []

    def tenants_in_group(self, group_id: str) -> List[Tenant]:
        """The tenants linked to ``group_id``, ordered by ID (optional)."""
        return [t for t in self.tenants() if t.group_id == group_id]

    def contacts_of(self, tenant_id: str) -> List[Contact]:
        """The contacts connected to ``tenant_id``, ordered by ID (optional)."""
        return [c for c in self.contacts() if c.sees(tenant_id)]

    # -- requests --------------------------------------------------------------

    @abc.abstractmethod
    def request(self, request_id: str) -> Optional[UpdateRequest]:
        """The request with ``request_id``, or None."""

    def request_ids(
        self, prefix: str, *, limit: int = 2, tenants: Optional[Sequence[str]] = None
    ) -> List[str]:
        """Up to ``limit`` request IDs starting with ``prefix``, in ID order (optional).

        With ``tenants``, only requests of those tenants: a contact's lookup must
        not tell whether IDs of other tenants exist (R22).
        """
        found = self.request(prefix)
        if found is None or (tenants is not None and found.tenant_id not in tenants):
            return []
        return [found.id]

    @abc.abstractmethod
    def requests_for(
        self,
        tenant_id: str,
        *,
        statuses: Optional[Sequence[Status]] = None,
        exclude: Sequence[Status] = (),
        offset: int = 0,
        limit: int = 100,
    ) -> Page[UpdateRequest]:
        """A tenant's requests, newest first (``requested_at`` then ID, descending)."""

    def open_version_updates(self, tenant_id: str, target: Target) -> List[UpdateRequest]:
        """The open version updates of one site, oldest first (optional; R17).

        The store keeps at most one, so a submit reads a constant amount whatever
        the tenant's history.
        """
        page = self.requests_for(tenant_id, statuses=tuple(OPEN), limit=1_000_000)
        found = [r for r in page.items if r.target is target and r.version is not None]
        return sorted(found, key=lambda r: (r.requested_at, r.id))

    def booking(self, tenant_id: str, booking: str) -> Optional[UpdateRequest]:
        """The request that holds a provider ``booking`` of a tenant, or None (optional)."""
        page = self.requests_for(tenant_id, limit=1_000_000)
        return next((r for r in page.items if r.booking == booking), None)

    @abc.abstractmethod
    def requests_in(self, statuses: Sequence[Status], *, limit: int = 1000) -> List[UpdateRequest]:
        """Requests in ``statuses``, first come first served (``requested_at``, then ID)."""

    def page_in(
        self, statuses: Sequence[Status], *, offset: int = 0, limit: int = 1000
    ) -> Page[UpdateRequest]:
        """One page of the requests in ``statuses``, first come first served (optional)."""
        found = self.requests_in(statuses, limit=1_000_000_000)
        return Page(tuple(found[offset : offset + limit]), len(found), offset, limit)

    @abc.abstractmethod
    def by_idempotency_key(self, requested_by: str, key: str) -> Optional[UpdateRequest]:
        """The request ``requested_by`` submitted with idempotency ``key``, or None."""

    @abc.abstractmethod
    def history(self, request_id: str) -> List[HistoryEntry]:
        """The request's history, oldest first."""

    # -- outbox ----------------------------------------------------------------

    @abc.abstractmethod
    def outbox_due(self, now: datetime, *, limit: int = 100) -> List[OutboxItem]:
        """Pending items whose next attempt is due, oldest first."""

    @abc.abstractmethod
    def outbox(
        self, *, request_id: Optional[str] = None, state: Optional[OutboxState] = None
    ) -> List[OutboxItem]:
        """Outbox items, oldest first, optionally of one request or state."""

    # -- hosting workers ---------------------------------------------------------

    @abc.abstractmethod
    def lease(self, request_id: str) -> Optional[Lease]:
        """The request's current lease, or None."""


class Unit(Reads):
    """One transaction of a use case: reads, then :meth:`apply`; commits when the block ends.

    Obtained from :meth:`Storage.unit`. Every read sees the transaction; the
    writes of :meth:`apply` are visible to the unit's later reads and commit
    together when the ``with`` block ends without an exception (else nothing is
    written). Invariant violations and stale revisions raise
    :class:`~siteupdates.errors.ConflictError`; the application layer retries the
    whole use case on a fresh unit.
    """

    @abc.abstractmethod
    def apply(self, changes: ChangeSet) -> None:
        """Write ``changes`` in this transaction (see :meth:`Storage.apply` for the checks)."""

    def change_reference(self, change: ReferenceChange) -> None:
        """Write a change of reference data and its audit entries in this transaction.

        Optional for storages written before it; ``siteupdates apply`` needs it.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot change reference data")

    def lock(self, name: str) -> None:
        """Hold the named lock until the unit ends (one writer per tenant, say).

        A backend whose units already run one at a time (SQLite's ``BEGIN
        IMMEDIATE``, the memory storage's lock) needs to do nothing.
        """


class Storage(Reads):
    """Where a host keeps its data. Every method is safe to call from one thread at a time."""

    url: str = ""

    # -- lifecycle -------------------------------------------------------------

    def close(self) -> None:
        """Release connections and files."""

    @abc.abstractmethod
    def unit(self) -> AbstractContextManager[Unit]:
        """A unit of work: one transaction for the reads and writes of one use case."""

    # -- reference data --------------------------------------------------------

    @abc.abstractmethod
    def save_setup(self, setup: Setup) -> None:
        """Insert or replace groups, tenants, contacts, the catalog and settings, in one batch."""

    # -- writes ----------------------------------------------------------------

    def apply(self, changes: ChangeSet) -> None:
        """Commit ``changes`` in one transaction, or raise and write nothing.

        Raises ConflictError when an update's expected revision is stale or an
        invariant of the store would break (two open version updates of one site,
        two requests holding one booking), LeaseLost when a fence does not hold,
        and DuplicateKey when an insert reuses a contact's idempotency key.
        """
        with self.unit() as uow:
            uow.apply(changes)

    # -- outbox ----------------------------------------------------------------

    @abc.abstractmethod
    def record_attempt(self, item: OutboxItem) -> None:
        """Store the outcome of a delivery attempt (``item`` carries the new state).

        Unfenced: a deliverer that claimed the item settles it with
        :meth:`settle_outbox` instead.
        """

    @abc.abstractmethod
    def claim_outbox(
        self, owner: str, now: datetime, lease_seconds: float, *, limit: int = 100
    ) -> List[OutboxItem]:
        """Claim up to ``limit`` due items for deliverer ``owner``, in one transaction.

        Due are pending items whose next attempt is due (``next_attempt_at`` null
        or at most ``now``) and that no live lease holds. Each claimed item gets
        ``lease_owner = owner``, ``lease_expires = now + lease_seconds`` and its
        ``claims`` raised by one. Concurrent claims (threads, processes, hosts)
        never return one item twice while its lease lives. Order: ``created_at``,
        then ID. PostgreSQL uses ``FOR UPDATE SKIP LOCKED``; SQLite an immediate
        transaction.
        """

    @abc.abstractmethod
    def renew_outbox(self, owner: str, items: Sequence[OutboxItem], until: datetime) -> List[str]:
        """Extend the leases of ``items`` (as claimed) that ``owner`` still holds.

        Returns the IDs still held; the others were lost (expired and claimed by
        another deliverer, withdrawn, or settled).
        """

    @abc.abstractmethod
    def settle_outbox(self, item: OutboxItem, *, event: str, by: str, at: datetime) -> bool:
        """Store the outcome of a claimed item's attempt, if the claim still holds.

        ``item`` carries the new state and, as the fence, the ``lease_owner`` and
        ``claims`` of the claim. The write happens only while the stored item is
        pending with that owner and claim count; it ends the lease and appends
        ``event`` (``delivered``, ``failed``, ``dead``, ``withdrawn``) to the item's
        log. False (nothing written) when the claim was lost.
        """

    @abc.abstractmethod
    def requeue_outbox(
        self, keys: Sequence[str] = (), *, dead: bool = False, by: str, at: datetime
    ) -> List[OutboxItem]:
        """Make dead items pending again, due at ``at``, with their attempts reset.

        ``keys`` names items (dead or pending; delivered and withdrawn ones are
        left alone); ``dead=True`` adds every dead item. Each requeue is logged
        (``requeued``, by ``by``). Returns the requeued items.
        """

    def outbox_log(self, outbox_id: str) -> List[OutboxEvent]:
        """The item's own history, oldest first (optional: empty by default)."""
        return []

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
        twice. Order: requests whose lease expired first (their work had begun and
        a site may be offline), then due Scheduled ones; each by ``scheduled_for``,
        then ``requested_at``, then ID.
        """

    @abc.abstractmethod
    def renew(self, fence: Fence, until: datetime) -> bool:
        """Extend a lease; False (and nothing changed) when ``fence`` no longer holds."""
