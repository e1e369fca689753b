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
from contextlib import AbstractContextManager
from datetime import datetime
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Generic,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
)

import attrs

# At run time: typing.get_type_hints resolves the ports' annotations here.
from siteupdates.domain.lifecycle import CLAIMABLE, OPEN, HistoryEntry
from siteupdates.domain.model import Catalog, Contact, Group, Status, Target, Tenant, UpdateRequest

if TYPE_CHECKING:
    from siteupdates._portvalues import (
        AuditEntry,
        ChangeSet,
        Claim,
        Fence,
        Lease,
        OutboxEvent,
        OutboxItem,
        OutboxState,
        ReferenceChange,
        Setup,
    )

__all__ = [
    "AUDIT_KINDS",
    "CLAIMABLE",
    "COUNT_CAP",
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

#: The names :mod:`siteupdates._portvalues` defines, loaded on the first use of one.
#: Until then they are not in this module's namespace, so ``typing.get_type_hints``
#: on a port method that names one (``Unit.apply``'s ``ChangeSet``) needs one of
#: them used first (``ports.ChangeSet`` will do); the values' own annotations
#: resolve at any time.
_LAZY = frozenset(
    {
        "AuditEntry",
        "ChangeSet",
        "Claim",
        "Fence",
        "Lease",
        "OutboxEvent",
        "OutboxItem",
        "OutboxState",
        "ReferenceChange",
        "Setup",
    }
)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from siteupdates import _portvalues

    found = {n: getattr(_portvalues, n) for n in _LAZY}
    globals().update(found)  # later look-ups are plain module attributes
    return found[name]


def __dir__() -> List[str]:
    return sorted(set(globals()) | _LAZY)


T = TypeVar("T")


#: How far a view over a long list counts before it labels its total a lower bound.
#: Ten pages of 100. Counting to 10,000 cost more than the page itself (about
#: 3.5 ms of a 6 ms queue page on PostgreSQL, and more on a table too large for
#: its buffers) to say "at least 10,000" rather than "at least 1,000".
COUNT_CAP = 1_000

#: What reference data an audit entry is about.
AUDIT_KINDS = ("tenant", "contact", "group", "catalog", "settings")


def _more(page: Page[Any]) -> bool:
    return page.total > page.offset + len(page.items)


@attrs.frozen
class Page(Generic[T]):
    """A slice of a list that can grow: ``items``, whether ``more`` follow, and a total.

    Every view that lists requests, tenants or outbox items returns one
    (``desk.contact(id).requests()``, ``desk.provider.queue()``,
    ``desk.provider.outbox()``, ...). Iterating a page, ``len()`` and
    indexing go over ``items``.

    ``more`` says whether items follow this page (ask for the next one with
    ``offset + len(page)``, or, where a view takes it, ``after`` the last
    item's ID: a keyset page, as cheap deep in the list as at its start).
    ``total`` is the count of the whole list when ``exact`` is true. A view
    over a list that may hold millions (the provider's queue) does not count
    past :data:`COUNT_CAP`: there ``exact`` is false and ``total`` is a lower
    bound ("at least"), so a page costs the same at 10,000 items as at
    1,000,000.
    """

    items: Tuple[T, ...]
    total: int
    offset: int = 0
    limit: int = 0
    more: bool = attrs.field(default=attrs.Factory(_more, takes_self=True))
    exact: bool = True

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

    def tenants_by_id(self, tenant_ids: Sequence[str]) -> List[Tenant]:
        """The tenants with these IDs that exist, ordered by ID (optional).

        SQL backends read them and their sites in two statements, however many.
        """
        found = (self.tenant(t) for t in sorted(set(tenant_ids)))
        return [t for t in found if t is not None]

    def contact_tenants(self, contact_id: str) -> Optional[Tuple[Contact, List[Tenant]]]:
        """The contact and their tenants with their sites, ordered by ID, or None (optional).

        What :meth:`contact` then :meth:`tenants_by_id` of the contact's tenants
        give, for a reader that needs both (the gadget): SQL backends send one
        statement.
        """
        who = self.contact(contact_id)
        if who is None:
            return None
        return who, self.tenants_by_id(sorted(who.tenants))

    def contact_tenants_requests(
        self, contact_id: str, tenant_id: Optional[str], statuses: Sequence[Status]
    ) -> Optional[Tuple[Contact, List[Tenant], List[UpdateRequest]]]:
        """:meth:`contact_tenants`, with the shown tenant's requests in ``statuses`` (optional).

        The shown tenant is ``tenant_id`` when it is one of the contact's, else
        (``tenant_id`` None) their only tenant when they have one; its requests
        are those :meth:`tenant_requests` lists (none when no tenant is shown).
        What the gadget reads on every home page: SQL backends send one statement.
        """
        both = self.contact_tenants(contact_id)
        if both is None:
            return None
        who, found = both
        if tenant_id is not None:
            shown = next((t for t in found if t.id == tenant_id), None)
        else:
            shown = found[0] if len(found) == 1 else None
        return who, found, [] if shown is None else self.tenant_requests(shown.id, statuses)

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

    def tenant_requests(
        self, tenant_id: str, statuses: Sequence[Status], *, limit: int = 1000
    ) -> List[UpdateRequest]:
        """A tenant's requests in ``statuses``, newest first, without a count (optional).

        What :meth:`requests_for` lists, for a reader that shows them all and
        needs no total (the overview): SQL backends send one statement.
        """
        return list(self.requests_for(tenant_id, statuses=statuses, limit=limit).items)

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
        self,
        statuses: Sequence[Status],
        *,
        offset: int = 0,
        limit: int = 1000,
        after: Optional[str] = None,
    ) -> Page[UpdateRequest]:
        """One page of the requests in ``statuses``, first come first served (optional).

        ``after`` (a request ID) starts the page after that request in this
        order (wherever it is now), ``offset`` items further on; ``more`` says
        whether any follow. ``total`` counts the whole list up to
        :data:`COUNT_CAP` (beyond it ``exact`` is false); an unknown ``after``
        gives an empty page.
        """
        found = self.requests_in(statuses, limit=1_000_000_000)
        exact = len(found) <= COUNT_CAP
        total = len(found) if exact else COUNT_CAP
        if after is not None:
            last = self.request(after)
            found = (
                []
                if last is None
                else [r for r in found if (r.requested_at, r.id) > (last.requested_at, last.id)]
            )
        items = tuple(found[offset : offset + limit])
        return Page(items, total, offset, limit, more=len(found) > offset + limit, exact=exact)

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

    def outbox_page(
        self,
        *,
        request_id: Optional[str] = None,
        state: Optional[OutboxState] = None,
        offset: int = 0,
        limit: int = 100,
    ) -> Page[OutboxItem]:
        """One page of :meth:`outbox` (optional; SQL backends page in the database)."""
        found = self.outbox(request_id=request_id, state=state)
        return Page(tuple(found[offset : offset + limit]), len(found), offset, limit)

    def outbox_item(self, item_id: str) -> Optional[OutboxItem]:
        """The outbox item with ``item_id``, or None (optional)."""
        return next((o for o in self.outbox() if o.id == item_id), None)

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
    """Where a host keeps its data.

    One storage is shared by the threads of a process (a WSGI server's, a
    worker's lease renewer): every method may be called from several threads at
    once, each :meth:`unit` is one thread's own, and a read outside a unit sees
    committed data only. A thread holds at most one connection: a read it makes
    while its own unit is open may see that unit's writes. The built-in SQLite
    storage has one connection behind a lock; the PostgreSQL plugin a pool of
    ``pool_min`` to ``pool_max`` connections (see ``docs/concurrency.md``).
    Several processes each open their own.
    """

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
