"""``memory://``: a storage in one process's memory, for tests and trials.

It keeps the contract of every storage (units of work that commit or roll back
whole, optimistic concurrency, idempotency keys, the invariants of
:mod:`siteupdates.ports`) so tests written against it hold elsewhere. A unit
holds the storage's lock from start to end, so units run one at a time, and
every read takes the lock too: a thread reading while another's unit runs waits
for it to commit or roll back, and never sees half a change set. One storage
may be shared by the threads of a process.
"""

from __future__ import annotations

import copy
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple

import attrs

from siteupdates import ports
from siteupdates.domain import (
    OPEN,
    Catalog,
    Contact,
    Group,
    HistoryEntry,
    Status,
    Tenant,
    UpdateRequest,
)
from siteupdates.errors import ConflictError, DuplicateKey, LeaseLost, StorageError
from siteupdates.hookspecs import hookimpl
from siteupdates.leases import claim_one, is_claimable
from siteupdates.ports import Page, Storage, Unit

if TYPE_CHECKING:
    from siteupdates.ports import (
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

__all__ = ["MemoryStorage"]


class _MemoryUnit(Unit):
    """A unit on a :class:`MemoryStorage`: reads go straight to it; a failure restores it."""

    def __init__(self, storage: MemoryStorage) -> None:
        self._s = storage

    # The unit holds the storage's lock, so its reads are the storage's own.

    def settings(self) -> Dict[str, Any]:
        return self._s.settings()

    def tenant(self, tenant_id: str) -> Optional[Tenant]:
        return self._s.tenant(tenant_id)

    def tenants(self) -> List[Tenant]:
        return self._s.tenants()

    def group(self, group_id: str) -> Optional[Group]:
        return self._s.group(group_id)

    def contact(self, contact_id: str) -> Optional[Contact]:
        return self._s.contact(contact_id)

    def groups(self) -> List[Group]:
        return self._s.groups()

    def audit(
        self, *, kind: Optional[str] = None, key: Optional[str] = None, limit: int = 1000
    ) -> List[AuditEntry]:
        return self._s.audit(kind=kind, key=key, limit=limit)

    def change_reference(self, change: ReferenceChange) -> None:
        """Write it (the unit restores everything if anything fails later)."""
        self._s._change_reference(change)

    def contacts(self) -> List[Contact]:
        return self._s.contacts()

    def catalog(self) -> Catalog:
        return self._s.catalog()

    def request(self, request_id: str) -> Optional[UpdateRequest]:
        return self._s.request(request_id)

    def request_ids(
        self, prefix: str, *, limit: int = 2, tenants: Optional[Sequence[str]] = None
    ) -> List[str]:
        return self._s.request_ids(prefix, limit=limit, tenants=tenants)

    def requests_for(
        self,
        tenant_id: str,
        *,
        statuses: Optional[Sequence[Status]] = None,
        exclude: Sequence[Status] = (),
        offset: int = 0,
        limit: int = 100,
    ) -> Page[UpdateRequest]:
        return self._s.requests_for(
            tenant_id, statuses=statuses, exclude=exclude, offset=offset, limit=limit
        )

    def requests_in(self, statuses: Sequence[Status], *, limit: int = 1000) -> List[UpdateRequest]:
        return self._s.requests_in(statuses, limit=limit)

    def by_idempotency_key(self, requested_by: str, key: str) -> Optional[UpdateRequest]:
        return self._s.by_idempotency_key(requested_by, key)

    def history(self, request_id: str) -> List[HistoryEntry]:
        return self._s.history(request_id)

    def outbox_due(self, now: datetime, *, limit: int = 100) -> List[OutboxItem]:
        return self._s.outbox_due(now, limit=limit)

    def outbox(
        self, *, request_id: Optional[str] = None, state: Optional[OutboxState] = None
    ) -> List[OutboxItem]:
        return self._s.outbox(request_id=request_id, state=state)

    def lease(self, request_id: str) -> Optional[Lease]:
        return self._s.lease(request_id)

    def apply(self, changes: ChangeSet) -> None:
        """Write ``changes`` (checked first; the unit restores everything if it fails later)."""
        self._s._apply(changes)


class MemoryStorage(Storage):
    """All data in dictionaries behind one lock."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._settings: Dict[str, Any] = {}
        self._audit: List[AuditEntry] = []
        self._groups: Dict[str, Group] = {}
        self._tenants: Dict[str, Tenant] = {}
        self._contacts: Dict[str, Contact] = {}
        self._catalog = Catalog(frozenset())
        self._requests: Dict[str, UpdateRequest] = {}
        self._keys: Dict[Tuple[str, str], str] = {}
        self._history: Dict[str, List[HistoryEntry]] = {}
        self._outbox: Dict[str, OutboxItem] = {}
        self._outbox_keys: set[str] = set()
        self._outbox_log: Dict[str, List[OutboxEvent]] = {}
        # request id -> (worker, lease expiry, attempts); attempts outlive the lease.
        self._leases: Dict[str, Tuple[Optional[str], Optional[datetime], int]] = {}

    def save_setup(self, setup: Setup) -> None:
        """Insert or replace the reference data."""
        with self._lock:
            self._groups.update({g.id: g for g in setup.groups})
            for t in setup.tenants:
                old = self._tenants.get(t.id)
                self._tenants[t.id] = attrs.evolve(
                    t, revision=0 if old is None else old.revision + 1
                )
            self._contacts.update({c.id: c for c in setup.contacts})
            if setup.catalog.versions:
                self._catalog = Catalog(self._catalog.versions | setup.catalog.versions)
            self._settings.update(setup.settings)

    def _change_reference(self, change: ReferenceChange) -> None:
        with self._lock:
            up = change.upsert
            for t in up.tenants:
                stored = self._tenants.get(t.id)
                if stored is not None and stored.revision != t.revision:
                    raise ConflictError(
                        t.id, t.revision, message=f"tenant {t.id} was changed by someone else"
                    )
            self.save_setup(up)
            for key in change.remove_contacts:
                self._contacts.pop(key, None)
            for key in change.remove_tenants:
                self._tenants.pop(key, None)
            for key in change.remove_groups:
                self._groups.pop(key, None)
            gone = set(change.remove_versions)
            self._catalog = Catalog(v for v in self._catalog.versions if str(v) not in gone)
            for key in change.remove_settings:
                self._settings.pop(key, None)
            first = len(self._audit) + 1
            self._audit = self._audit + [
                attrs.evolve(e, seq=i) for i, e in enumerate(change.audit, start=first)
            ]

    def groups(self) -> List[Group]:
        """Every group by ID."""
        with self._lock:
            return [self._groups[k] for k in sorted(self._groups)]

    def audit(
        self, *, kind: Optional[str] = None, key: Optional[str] = None, limit: int = 1000
    ) -> List[AuditEntry]:
        """The changes of reference data, newest first."""
        with self._lock:
            found = [
                e for e in reversed(self._audit)
                if (kind is None or e.kind == kind) and (key is None or e.key == key)
            ]  # fmt: skip
        return found[:limit]

    def settings(self) -> Dict[str, Any]:
        """The stored settings."""
        with self._lock:
            return dict(self._settings)

    def tenant(self, tenant_id: str) -> Optional[Tenant]:
        """The tenant, or None."""
        with self._lock:
            return self._tenants.get(tenant_id)

    def tenants(self) -> List[Tenant]:
        """Every tenant by ID."""
        with self._lock:
            return [self._tenants[k] for k in sorted(self._tenants)]

    def has_tenants(self) -> bool:
        """Whether any tenant is stored."""
        with self._lock:
            return bool(self._tenants)

    def group(self, group_id: str) -> Optional[Group]:
        """The group, or None."""
        with self._lock:
            return self._groups.get(group_id)

    def contact(self, contact_id: str) -> Optional[Contact]:
        """The contact, or None."""
        with self._lock:
            return self._contacts.get(contact_id)

    def contacts(self) -> List[Contact]:
        """Every contact by ID."""
        with self._lock:
            return [self._contacts[k] for k in sorted(self._contacts)]

    def catalog(self) -> Catalog:
        """The catalog."""
        with self._lock:
            return self._catalog

    def request(self, request_id: str) -> Optional[UpdateRequest]:
        """The request, or None."""
        with self._lock:
            return self._requests.get(request_id)

    def request_ids(
        self, prefix: str, *, limit: int = 2, tenants: Optional[Sequence[str]] = None
    ) -> List[str]:
        """IDs starting with ``prefix`` (of ``tenants`` only, when given)."""
        with self._lock:
            found = sorted(
                k
                for k, r in self._requests.items()
                if prefix and k.startswith(prefix) and (tenants is None or r.tenant_id in tenants)
            )
            return found[:limit]

    def requests_for(
        self,
        tenant_id: str,
        *,
        statuses: Optional[Sequence[Status]] = None,
        exclude: Sequence[Status] = (),
        offset: int = 0,
        limit: int = 100,
    ) -> Page[UpdateRequest]:
        """A tenant's requests, newest first."""
        with self._lock:
            rows = [
                r
                for r in self._requests.values()
                if r.tenant_id == tenant_id
                and (statuses is None or r.status in statuses)
                and r.status not in exclude
            ]
        rows.sort(key=lambda r: (r.requested_at, r.id), reverse=True)
        return Page(tuple(rows[offset : offset + limit]), len(rows), offset, limit)

    def requests_in(self, statuses: Sequence[Status], *, limit: int = 1000) -> List[UpdateRequest]:
        """Requests in ``statuses``, first come first served."""
        with self._lock:
            rows = [r for r in self._requests.values() if r.status in statuses]
        rows.sort(key=lambda r: (r.requested_at, r.id))
        return rows[:limit]

    def by_idempotency_key(self, requested_by: str, key: str) -> Optional[UpdateRequest]:
        """The request submitted with this key, or None."""
        with self._lock:
            rid = self._keys.get((requested_by, key))
            return None if rid is None else self._requests.get(rid)

    def history(self, request_id: str) -> List[HistoryEntry]:
        """The history, oldest first."""
        with self._lock:
            return list(self._history.get(request_id, ()))

    _STATE = (
        "_settings", "_audit", "_groups", "_tenants", "_contacts", "_catalog", "_requests",
        "_keys", "_history", "_outbox", "_outbox_keys", "_leases", "_outbox_log",
    )  # fmt: skip

    @contextmanager
    def unit(self) -> Iterator[Unit]:
        """Hold the lock for the unit; on an exception put every table back as it was."""
        with self._lock:
            saved = {name: copy.copy(getattr(self, name)) for name in self._STATE}
            saved["_history"] = {k: list(v) for k, v in self._history.items()}
            saved["_outbox_log"] = {k: list(v) for k, v in self._outbox_log.items()}
            try:
                yield _MemoryUnit(self)
            except BaseException:
                for name, value in saved.items():
                    setattr(self, name, value)
                raise

    def _apply(self, changes: ChangeSet) -> None:
        """Check every constraint first, then change everything; so all or nothing."""
        with self._lock:
            for f in changes.fences:
                held = self._leases.get(f.request_id)
                if held is None or held[0] != f.worker or held[2] != f.attempts:
                    raise LeaseLost(f.request_id, f.worker)
            keys = dict(self._keys)
            for r in changes.inserts:
                if r.id in self._requests:
                    raise StorageError(f"request {r.id} exists already")
                if r.idempotency_key is not None:
                    k = (r.requested_by, r.idempotency_key)
                    if k in keys:
                        raise DuplicateKey(r.requested_by, r.idempotency_key)
                    keys[k] = r.id
            for new, expected in changes.updates:
                current = self._requests.get(new.id)
                if current is None or current.revision != expected:
                    raise ConflictError(new.id, expected)
            known = {r.id for r in changes.inserts} | set(self._requests)
            seen = set()
            for h in changes.history:
                slot = (h.request_id, h.seq)
                taken = any(e.seq == h.seq for e in self._history.get(h.request_id, ()))
                if h.request_id not in known or taken or slot in seen:
                    raise StorageError(f"history {h.request_id}#{h.seq} exists or has no request")
                seen.add(slot)
            after = dict(self._requests)
            after.update({new.id: new for new, _ in changes.updates})
            after.update({r.id: r for r in changes.inserts})
            touched = {r.id for r in changes.inserts} | {n.id for n, _ in changes.updates}
            self._check_invariants(after, touched)
            for t in changes.tenants:
                stored = self._tenants.get(t.id)
                if stored is None or stored.revision != t.revision:
                    raise ConflictError(
                        t.id, t.revision, message=f"tenant {t.id} was changed by someone else"
                    )
            out_keys = set()
            for o in changes.outbox:
                if o.key in self._outbox_keys or o.key in out_keys or o.id in self._outbox:
                    raise StorageError(f"outbox item {o.key} exists already")
                out_keys.add(o.key)
            # Nothing below can fail.
            for r in changes.inserts:
                self._requests[r.id] = r
            for new, _ in changes.updates:
                self._requests[new.id] = new
            self._keys = keys
            for h in changes.history:
                self._history.setdefault(h.request_id, []).append(h)
                self._history[h.request_id].sort(key=lambda e: e.seq)
            for o in changes.outbox:
                self._outbox[o.id] = o
                self._outbox_keys.add(o.key)
            for t in changes.tenants:
                self._tenants[t.id] = attrs.evolve(t, revision=t.revision + 1)
            for rid in changes.release:
                if rid in self._leases:
                    self._leases[rid] = (None, None, self._leases[rid][2])
            if changes.withdraw:
                at = changes.history[-1].at if changes.history else None
                new_ids = {o.id for o in changes.outbox}
                # A set: a plan withdraws for thousands of requests, and every
                # outbox item is tested against it.
                withdraw = set(changes.withdraw)
                why = "the request changed before the reminder was due"
                for o in list(self._outbox.values()):
                    if (
                        o.request_id in withdraw
                        and o.kind == "reminder"
                        and o.state is ports.OutboxState.PENDING
                        and o.id not in new_ids
                    ):
                        self._outbox[o.id] = attrs.evolve(
                            o, state=ports.OutboxState.WITHDRAWN, last_error=why,
                            lease_owner=None, lease_expires=None,
                        )  # fmt: skip
                        self._log(o.id, at or o.created_at, "withdrawn", "siteupdates", why)

    @staticmethod
    def _check_invariants(after: Dict[str, UpdateRequest], touched: set[str]) -> None:
        """One open version update per site and one request per booking (see ports)."""
        sites: Dict[Tuple[str, str], str] = {}
        bookings: Dict[Tuple[str, str], str] = {}
        for r in after.values():
            if r.version is not None and r.status in OPEN:
                key = (r.tenant_id, r.target.value)
                if key in sites and (r.id in touched or sites[key] in touched):
                    raise ConflictError(
                        r.id,
                        message=f"request {r.id}: another open version update of this site "
                        "exists (R17: one open version update per site)",
                    )
                sites[key] = r.id
            if r.booking is not None:
                key = (r.tenant_id, r.booking)
                if key in bookings:
                    raise ConflictError(
                        r.id, message=f"request {r.id}: another request holds this booking"
                    )
                bookings[key] = r.id

    def outbox_due(self, now: datetime, *, limit: int = 100) -> List[OutboxItem]:
        """Pending items that are due."""
        with self._lock:
            due = [
                o
                for o in self._outbox.values()
                if o.state is ports.OutboxState.PENDING
                and (o.next_attempt_at is None or o.next_attempt_at <= now)
                and (o.lease_expires is None or o.lease_expires < now)
            ]
        due.sort(key=lambda o: (o.created_at, o.id))
        return due[:limit]

    def outbox(
        self, *, request_id: Optional[str] = None, state: Optional[OutboxState] = None
    ) -> List[OutboxItem]:
        """Outbox items, oldest first."""
        with self._lock:
            items = [
                o
                for o in self._outbox.values()
                if (request_id is None or o.request_id == request_id)
                and (state is None or o.state is state)
            ]
        items.sort(key=lambda o: (o.created_at, o.id))
        return items

    def record_attempt(self, item: OutboxItem) -> None:
        """Store a delivery outcome."""
        with self._lock:
            if item.id not in self._outbox:
                raise StorageError(f"no outbox item {item.id}")
            self._outbox[item.id] = attrs.evolve(item)

    def _log(self, item_id: str, at: datetime, event: str, by: str, detail: Optional[str]) -> None:
        self._outbox_log.setdefault(item_id, []).append(
            ports.OutboxEvent(item_id, at, event, by, detail)
        )

    def claim_outbox(
        self, owner: str, now: datetime, lease_seconds: float, *, limit: int = 100
    ) -> List[OutboxItem]:
        """Lease due items under the lock."""
        with self._lock:
            expires = now + timedelta(seconds=lease_seconds)
            items = [
                attrs.evolve(o, lease_owner=owner, lease_expires=expires, claims=o.claims + 1)
                for o in self.outbox_due(now, limit=limit)
            ]
            self._outbox.update({o.id: o for o in items})
            return items

    def _holds(self, item: OutboxItem, owner: Optional[str]) -> bool:
        stored = self._outbox.get(item.id)
        return (
            stored is not None
            and stored.state is ports.OutboxState.PENDING
            and stored.lease_owner == owner
            and stored.claims == item.claims
        )

    def renew_outbox(self, owner: str, items: Sequence[OutboxItem], until: datetime) -> List[str]:
        """Extend the leases still held."""
        with self._lock:
            held = [o.id for o in items if self._holds(o, owner)]
            for i in held:
                self._outbox[i] = attrs.evolve(self._outbox[i], lease_expires=until)
            return held

    def settle_outbox(self, item: OutboxItem, *, event: str, by: str, at: datetime) -> bool:
        """Store the outcome if the claim holds."""
        with self._lock:
            if item.lease_owner is None or not self._holds(item, item.lease_owner):
                return False
            self._outbox[item.id] = attrs.evolve(item, lease_owner=None, lease_expires=None)
            self._log(item.id, at, event, by, item.last_error)
            return True

    def requeue_outbox(
        self, keys: Sequence[str] = (), *, dead: bool = False, by: str, at: datetime
    ) -> List[OutboxItem]:
        """Make the named (dead or pending) items, and with ``dead`` every dead one, due."""
        with self._lock:
            wanted = set(keys)
            found = [
                o
                for o in self.outbox()
                if (
                    o.key in wanted
                    and o.state in (ports.OutboxState.DEAD, ports.OutboxState.PENDING)
                )
                or (dead and o.state is ports.OutboxState.DEAD)
            ]
            out = []
            for o in found:
                new = attrs.evolve(
                    o, state=ports.OutboxState.PENDING, attempts=0, next_attempt_at=at,
                    lease_owner=None, lease_expires=None,
                )  # fmt: skip
                self._outbox[o.id] = new
                self._log(o.id, at, "requeued", by, o.last_error)
                out.append(new)
            return out

    def outbox_log(self, outbox_id: str) -> List[OutboxEvent]:
        """The item's log, oldest first."""
        with self._lock:
            return list(self._outbox_log.get(outbox_id, ()))

    def claim(
        self, worker: str, now: datetime, lease_seconds: float, *, limit: int = 1
    ) -> List[Claim]:
        """Claim due requests under the lock."""
        with self._lock:
            due = [
                r
                for r in self._requests.values()
                if is_claimable(r, self._leases.get(r.id, (None, None, 0))[1], now)
            ]
            # Expired leases first (their work had begun), then due requests.
            due.sort(key=lambda r: (r.status is Status.SCHEDULED, r.scheduled_for or now,
                                    r.requested_at, r.id))  # fmt: skip
            claims = []
            for r in due[:limit]:
                owner, _, attempts = self._leases.get(r.id, (None, None, 0))
                new, entry, claim = claim_one(r, owner, attempts, worker, now, lease_seconds)
                self._requests[r.id] = new
                self._history.setdefault(r.id, []).append(entry)
                self._leases[r.id] = (worker, claim.lease.expires, claim.lease.attempts)
                claims.append(claim)
            return claims

    def lease(self, request_id: str) -> Optional[Lease]:
        """The current lease, or None (attempts are kept after it ends)."""
        with self._lock:
            held = self._leases.get(request_id)
        if held is None:
            return None
        worker, expires, attempts = held
        if worker is None or expires is None:
            return None
        return ports.Lease(worker, expires, attempts)

    def renew(self, fence: Fence, until: datetime) -> bool:
        """Extend the lease if ``fence`` holds."""
        with self._lock:
            held = self._leases.get(fence.request_id)
            if held is None or held[0] != fence.worker or held[2] != fence.attempts:
                return False
            self._leases[fence.request_id] = (fence.worker, until, fence.attempts)
            return True


class MemoryStoragePlugin:
    """Handles ``memory://`` URLs."""

    @hookimpl
    def siteupdates_storage(self, url: str) -> Optional[Storage]:
        """A fresh in-memory storage for ``memory://``."""
        return MemoryStorage(url) if url.startswith("memory://") else None
