"""``memory://``: a storage in one process's memory, for tests and trials.

It keeps the contract of every storage (atomic change sets, optimistic
concurrency, idempotency keys) so tests written against it hold elsewhere.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence, Tuple

import attrs

from siteupdates.domain import Catalog, Contact, Group, HistoryEntry, Status, Tenant, UpdateRequest
from siteupdates.errors import ConflictError, DuplicateKey, LeaseLost, StorageError
from siteupdates.hookspecs import hookimpl
from siteupdates.leases import claim_one, is_claimable
from siteupdates.ports import (
    ChangeSet,
    Claim,
    Fence,
    Lease,
    OutboxItem,
    OutboxState,
    Page,
    Setup,
    Storage,
)

__all__ = ["MemoryStorage"]


class MemoryStorage(Storage):
    """All data in dictionaries behind one lock."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._settings: Dict[str, Any] = {}
        self._groups: Dict[str, Group] = {}
        self._tenants: Dict[str, Tenant] = {}
        self._contacts: Dict[str, Contact] = {}
        self._catalog = Catalog(frozenset())
        self._requests: Dict[str, UpdateRequest] = {}
        self._keys: Dict[Tuple[str, str], str] = {}
        self._history: Dict[str, List[HistoryEntry]] = {}
        self._outbox: Dict[str, OutboxItem] = {}
        self._outbox_keys: set[str] = set()
        # request id -> (worker, lease expiry, attempts); attempts outlive the lease.
        self._leases: Dict[str, Tuple[Optional[str], Optional[datetime], int]] = {}

    def save_setup(self, setup: Setup) -> None:
        """Insert or replace the reference data."""
        with self._lock:
            self._groups.update({g.id: g for g in setup.groups})
            self._tenants.update({t.id: t for t in setup.tenants})
            self._contacts.update({c.id: c for c in setup.contacts})
            if setup.catalog.versions:
                self._catalog = Catalog(self._catalog.versions | setup.catalog.versions)
            self._settings.update(setup.settings)

    def settings(self) -> Dict[str, Any]:
        """The stored settings."""
        with self._lock:
            return dict(self._settings)

    def tenant(self, tenant_id: str) -> Optional[Tenant]:
        """The tenant, or None."""
        return self._tenants.get(tenant_id)

    def tenants(self) -> List[Tenant]:
        """Every tenant by ID."""
        with self._lock:
            return [self._tenants[k] for k in sorted(self._tenants)]

    def group(self, group_id: str) -> Optional[Group]:
        """The group, or None."""
        return self._groups.get(group_id)

    def contact(self, contact_id: str) -> Optional[Contact]:
        """The contact, or None."""
        return self._contacts.get(contact_id)

    def contacts(self) -> List[Contact]:
        """Every contact by ID."""
        with self._lock:
            return [self._contacts[k] for k in sorted(self._contacts)]

    def catalog(self) -> Catalog:
        """The catalog."""
        return self._catalog

    def request(self, request_id: str) -> Optional[UpdateRequest]:
        """The request, or None."""
        return self._requests.get(request_id)

    def requests_for(
        self,
        tenant_id: str,
        *,
        statuses: Optional[Sequence[Status]] = None,
        exclude: Sequence[Status] = (),
        offset: int = 0,
        limit: int = 100,
    ) -> Page:
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
        rid = self._keys.get((requested_by, key))
        return None if rid is None else self._requests.get(rid)

    def history(self, request_id: str) -> List[HistoryEntry]:
        """The history, oldest first."""
        with self._lock:
            return list(self._history.get(request_id, ()))

    def apply(self, changes: ChangeSet) -> None:
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
                self._tenants[t.id] = t
            for rid in changes.release:
                if rid in self._leases:
                    self._leases[rid] = (None, None, self._leases[rid][2])

    def outbox_due(self, now: datetime, *, limit: int = 100) -> List[OutboxItem]:
        """Pending items that are due."""
        with self._lock:
            due = [
                o
                for o in self._outbox.values()
                if o.state is OutboxState.PENDING
                and (o.next_attempt_at is None or o.next_attempt_at <= now)
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
            due.sort(key=lambda r: (r.scheduled_for or now, r.requested_at, r.id))
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
        held = self._leases.get(request_id)
        if held is None:
            return None
        worker, expires, attempts = held
        if worker is None or expires is None:
            return None
        return Lease(worker, expires, attempts)

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
