"""The storage logic shared by SQL backends (SQLite here, PostgreSQL in its plugin).

A backend subclasses :class:`SqlStorage` and supplies a transaction
(:meth:`SqlStorage._write`), reads (:meth:`SqlStorage._read`), the SQL of its
claim query and its schema. Statements are written once, with named
``:parameters``; a backend whose driver wants another style converts them in
:meth:`SqlStorage._sql`. Every value travels as a parameter, never in the text.
"""

from __future__ import annotations

import abc
import json
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type

from siteupdates.builtin import codec
from siteupdates.domain import Catalog, Contact, Group, HistoryEntry, Status, Tenant, UpdateRequest
from siteupdates.errors import ConflictError, DuplicateKey, LeaseLost, StorageError
from siteupdates.leases import claim_one
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

__all__ = ["Cursor", "SqlStorage"]


class Cursor(abc.ABC):
    """The few cursor operations the shared code uses (sqlite3 and psycopg both fit)."""

    rowcount: int

    @abc.abstractmethod
    def execute(self, sql: str, params: Any = ...) -> Any:
        """Run one statement."""

    @abc.abstractmethod
    def executemany(self, sql: str, params: Any) -> Any:
        """Run one statement for each parameter set."""

    @abc.abstractmethod
    def fetchall(self) -> List[Any]:
        """The remaining rows."""


def _in(name: str, values: Sequence[str]) -> Tuple[str, Dict[str, str]]:
    """``:name0, :name1, ...`` and their parameters, for an IN list."""
    params = {f"{name}{i}": v for i, v in enumerate(values)}
    return ", ".join(f":{k}" for k in params), params


_REQ = codec.REQUEST_COLUMNS
_INSERT_REQUEST = (
    f"INSERT INTO requests ({', '.join(_REQ)}) VALUES ({', '.join(':' + c for c in _REQ)})"
)
_UPDATE_REQUEST = (
    "UPDATE requests SET "
    + ", ".join(f"{c} = :{c}" for c in _REQ if c != "id")
    + " WHERE id = :id AND revision = :expected"
)
_CLAIM_REQUEST = (
    "UPDATE requests SET "
    + ", ".join(f"{c} = :{c}" for c in _REQ if c != "id")
    + ", lease_owner = :lease_owner, lease_expires = :lease_expires, attempts = :attempts"
    " WHERE id = :id"
)
_INSERT_HISTORY = (
    f"INSERT INTO history ({', '.join(codec.HISTORY_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in codec.HISTORY_COLUMNS)})"
)
_INSERT_OUTBOX = (
    f"INSERT INTO outbox ({', '.join(codec.OUTBOX_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in codec.OUTBOX_COLUMNS)})"
)
#: Claimable rows (see Storage.claim), through the ``requests_due`` index.
CLAIM_WHERE = (
    "(status = 'scheduled' AND scheduled_for <= :now "
    " AND (lease_expires IS NULL OR lease_expires < :now)) OR "
    "(status IN ('not-started', 'in-progress') AND lease_expires < :now)"
)


class SqlStorage(Storage):
    """Storage methods written once for every SQL backend."""

    #: The driver's integrity error, raised on a unique or key violation.
    integrity_error: Tuple[Type[BaseException], ...] = ()
    #: Appended to the claim's SELECT to lock the chosen rows (``FOR UPDATE SKIP LOCKED``).
    claim_lock: str = ""

    # -- what a backend supplies ---------------------------------------------------

    @abc.abstractmethod
    def _write(self) -> AbstractContextManager[Cursor]:
        """A transaction: commits when the block ends, rolls back when it raises."""

    @abc.abstractmethod
    def _read(self, sql: str, params: Mapping[str, Any] = ...) -> List[Any]:
        """Rows of one read-only statement (rows index by column name)."""

    def _sql(self, sql: str) -> str:
        """The statement in the driver's parameter style (``:name`` as written)."""
        return sql

    def _ts(self, value: Optional[datetime]) -> Any:
        """An instant as the driver stores it (text by default)."""
        return codec.ts(value)

    def _x(self, cur: Cursor, sql: str, params: Mapping[str, Any] = {}) -> Any:
        return cur.execute(self._sql(sql), params)

    def _xm(self, cur: Cursor, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            cur.executemany(self._sql(sql), rows)

    def _q(self, sql: str, params: Mapping[str, Any] = {}) -> List[Any]:
        return self._read(self._sql(sql), params)

    # -- reference data --------------------------------------------------------------

    def save_setup(self, setup: Setup) -> None:
        """Write the reference data in one transaction, with batched statements."""
        with self._write() as cur:
            self._xm(
                cur,
                "INSERT INTO groups (id, name, kind) VALUES (:id, :name, :kind) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind",
                [{"id": g.id, "name": g.name, "kind": g.kind} for g in setup.groups],
            )
            self._put_tenants(cur, setup.tenants)
            self._xm(
                cur,
                "INSERT INTO contacts (id, name, email, role, zone, tenants) "
                "VALUES (:id, :name, :email, :role, :zone, :tenants) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, "
                "role = excluded.role, zone = excluded.zone, tenants = excluded.tenants",
                [codec.contact_row(c) for c in setup.contacts],
            )
            self._xm(
                cur,
                "INSERT INTO catalog (version) VALUES (:v) ON CONFLICT (version) DO NOTHING",
                [{"v": str(v)} for v in sorted(setup.catalog.versions, key=str)],
            )
            self._xm(
                cur,
                "INSERT INTO settings (key, value) VALUES (:k, :v) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [{"k": k, "v": json.dumps(v)} for k, v in setup.settings.items()],
            )

    def _site_row(self, row: Dict[str, Any]) -> Dict[str, Any]:
        return {
            **row,
            "since": self._tsv(row["since"]),
            "refreshed_at": self._tsv(row["refreshed_at"]),
        }

    def _tsv(self, text: Optional[str]) -> Any:
        return self._ts(codec.parse_ts(text))

    def _put_tenants(self, cur: Cursor, tenants: Sequence[Tenant]) -> None:
        rows = [codec.tenant_rows(t) for t in tenants]
        self._xm(
            cur,
            "INSERT INTO tenants (id, name, plan, group_id, tasks) "
            "VALUES (:id, :name, :plan, :group_id, :tasks) "
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, plan = excluded.plan, "
            "group_id = excluded.group_id, tasks = excluded.tasks",
            [r for r, _ in rows],
        )
        self._xm(cur, "DELETE FROM sites WHERE tenant_id = :id", [{"id": t.id} for t in tenants])
        self._xm(
            cur,
            "INSERT INTO sites (tenant_id, kind, version, since, refreshed_at, automatic) "
            "VALUES (:tenant_id, :kind, :version, :since, :refreshed_at, :automatic)",
            [self._site_row(s) for _, sites in rows for s in sites],
        )

    def settings(self) -> Dict[str, Any]:
        """The stored settings."""
        return {r["key"]: json.loads(r["value"]) for r in self._q("SELECT * FROM settings")}

    def _tenants_where(self, where: str, params: Mapping[str, Any]) -> List[Tenant]:
        rows = self._q(f"SELECT * FROM tenants {where} ORDER BY id", params)
        if not rows:
            return []
        marks, ids = _in("t", [r["id"] for r in rows])
        sites: Dict[str, List[Any]] = {}
        for s in self._q(f"SELECT * FROM sites WHERE tenant_id IN ({marks})", ids):
            sites.setdefault(s["tenant_id"], []).append(s)
        return [codec.tenant_from(r, sites.get(r["id"], [])) for r in rows]

    def tenant(self, tenant_id: str) -> Optional[Tenant]:
        """The tenant, or None."""
        found = self._tenants_where("WHERE id = :id", {"id": tenant_id})
        return found[0] if found else None

    def tenants(self) -> List[Tenant]:
        """Every tenant by ID."""
        return self._tenants_where("", {})

    def group(self, group_id: str) -> Optional[Group]:
        """The group, or None."""
        rows = self._q("SELECT * FROM groups WHERE id = :id", {"id": group_id})
        return Group(rows[0]["id"], rows[0]["name"], rows[0]["kind"]) if rows else None

    def contact(self, contact_id: str) -> Optional[Contact]:
        """The contact, or None."""
        rows = self._q("SELECT * FROM contacts WHERE id = :id", {"id": contact_id})
        return codec.contact_from(rows[0]) if rows else None

    def contacts(self) -> List[Contact]:
        """Every contact by ID."""
        return [codec.contact_from(r) for r in self._q("SELECT * FROM contacts ORDER BY id")]

    def catalog(self) -> Catalog:
        """The catalog."""
        return Catalog.of(*(r["version"] for r in self._q("SELECT version FROM catalog")))

    # -- requests --------------------------------------------------------------------

    def request(self, request_id: str) -> Optional[UpdateRequest]:
        """The request, or None."""
        rows = self._q("SELECT * FROM requests WHERE id = :id", {"id": request_id})
        return codec.request_from(rows[0]) if rows else None

    def requests_for(
        self,
        tenant_id: str,
        *,
        statuses: Optional[Sequence[Status]] = None,
        exclude: Sequence[Status] = (),
        offset: int = 0,
        limit: int = 100,
    ) -> Page:
        """A tenant's requests, newest first, through the ``requests_tenant`` index."""
        where = ["tenant_id = :tenant"]
        params: Dict[str, Any] = {"tenant": tenant_id}
        if statuses is not None:
            marks, more = _in("s", [s.value for s in statuses])
            where.append(f"status IN ({marks})" if statuses else "1 = 0")
            params.update(more)
        if exclude:
            marks, more = _in("x", [s.value for s in exclude])
            where.append(f"status NOT IN ({marks})")
            params.update(more)
        clause = " AND ".join(where)
        total = self._q(f"SELECT count(*) AS n FROM requests WHERE {clause}", params)[0]["n"]
        rows = self._q(
            f"SELECT * FROM requests WHERE {clause} "
            "ORDER BY requested_at DESC, id DESC LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
        return Page(tuple(codec.request_from(r) for r in rows), int(total), offset, limit)

    def requests_in(self, statuses: Sequence[Status], *, limit: int = 1000) -> List[UpdateRequest]:
        """Requests in ``statuses``, first come first served, through ``requests_queue``."""
        if not statuses:
            return []
        marks, params = _in("s", [s.value for s in statuses])
        rows = self._q(
            f"SELECT * FROM requests WHERE status IN ({marks}) "
            "ORDER BY requested_at, id LIMIT :limit",
            {**params, "limit": limit},
        )
        return [codec.request_from(r) for r in rows]

    def by_idempotency_key(self, requested_by: str, key: str) -> Optional[UpdateRequest]:
        """The request submitted with this key, or None."""
        rows = self._q(
            "SELECT * FROM requests WHERE requested_by = :by AND idempotency_key = :key",
            {"by": requested_by, "key": key},
        )
        return codec.request_from(rows[0]) if rows else None

    def history(self, request_id: str) -> List[HistoryEntry]:
        """The history, oldest first."""
        rows = self._q(
            "SELECT * FROM history WHERE request_id = :id ORDER BY seq", {"id": request_id}
        )
        return [codec.history_from(r) for r in rows]

    # -- writes ------------------------------------------------------------------------

    def _request_values(self, r: UpdateRequest) -> Dict[str, Any]:
        row = codec.request_row(r)
        for c in ("preferred_start", "requested_at", "scheduled_for"):
            row[c] = self._ts(getattr(r, c))
        return row

    def _history_values(self, h: HistoryEntry) -> Dict[str, Any]:
        row = codec.history_row(h)
        for c, v in (("at", h.at), ("old_date", h.old_date), ("new_date", h.new_date)):
            row[c] = self._ts(v)
        return row

    def _outbox_values(self, o: OutboxItem) -> Dict[str, Any]:
        row = codec.outbox_row(o)
        for c in ("created_at", "next_attempt_at", "delivered_at"):
            row[c] = self._ts(getattr(o, c))
        return row

    def _fence_sql(self) -> str:
        return "SELECT lease_owner, attempts FROM requests WHERE id = :id"

    def apply(self, changes: ChangeSet) -> None:
        """Commit the change set in one transaction; fences and revisions checked first."""
        with self._write() as cur:
            for f in changes.fences:
                self._x(cur, self._fence_sql(), {"id": f.request_id})
                held = cur.fetchall()
                if (
                    not held
                    or held[0]["lease_owner"] != f.worker
                    or held[0]["attempts"] != f.attempts
                ):
                    raise LeaseLost(f.request_id, f.worker)
            for r in changes.inserts:
                try:
                    self._x(cur, _INSERT_REQUEST, self._request_values(r))
                except self.integrity_error as exc:
                    if r.idempotency_key is not None and "idempotency" in str(exc):
                        raise DuplicateKey(r.requested_by, r.idempotency_key) from exc
                    raise StorageError(f"cannot insert request {r.id}: {exc}") from exc
            for new, expected in changes.updates:
                values = self._request_values(new)
                values["expected"] = expected
                if self._x(cur, _UPDATE_REQUEST, values).rowcount != 1:
                    raise ConflictError(new.id, expected)
            try:
                self._xm(cur, _INSERT_HISTORY, [self._history_values(h) for h in changes.history])
                self._xm(cur, _INSERT_OUTBOX, [self._outbox_values(o) for o in changes.outbox])
            except self.integrity_error as exc:
                raise StorageError(f"change set refused by the database: {exc}") from exc
            if changes.tenants:
                self._put_tenants(cur, changes.tenants)
            self._xm(
                cur,
                "UPDATE requests SET lease_owner = NULL, lease_expires = NULL WHERE id = :id",
                [{"id": rid} for rid in changes.release],
            )

    # -- outbox ----------------------------------------------------------------------

    def outbox_due(self, now: datetime, *, limit: int = 100) -> List[OutboxItem]:
        """Pending items that are due, through the ``outbox_due`` index."""
        rows = self._q(
            "SELECT * FROM outbox WHERE state = 'pending' AND "
            "(next_attempt_at IS NULL OR next_attempt_at <= :now) "
            "ORDER BY created_at, id LIMIT :limit",
            {"now": self._ts(now), "limit": limit},
        )
        return [codec.outbox_from(r) for r in rows]

    def outbox(
        self, *, request_id: Optional[str] = None, state: Optional[OutboxState] = None
    ) -> List[OutboxItem]:
        """Outbox items, oldest first."""
        where, params = [], {}
        if request_id is not None:
            where.append("request_id = :rid")
            params["rid"] = request_id
        if state is not None:
            where.append("state = :state")
            params["state"] = state.value
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        rows = self._q(f"SELECT * FROM outbox {clause} ORDER BY created_at, id", params)
        return [codec.outbox_from(r) for r in rows]

    def record_attempt(self, item: OutboxItem) -> None:
        """Store a delivery outcome."""
        with self._write() as cur:
            done = self._x(
                cur,
                "UPDATE outbox SET state = :state, attempts = :attempts, "
                "next_attempt_at = :next_attempt_at, last_error = :last_error, "
                "delivered_at = :delivered_at WHERE id = :id",
                self._outbox_values(item),
            )
            if done.rowcount != 1:
                raise StorageError(f"no outbox item {item.id}")

    # -- hosting workers -------------------------------------------------------------

    def claim(
        self, worker: str, now: datetime, lease_seconds: float, *, limit: int = 1
    ) -> List[Claim]:
        """Choose and lock due rows, apply the lifecycle in Python, write them back."""
        claims: List[Claim] = []
        with self._write() as cur:
            self._x(
                cur,
                f"SELECT * FROM requests WHERE {CLAIM_WHERE} "
                f"ORDER BY scheduled_for, requested_at, id LIMIT :limit {self.claim_lock}",
                {"now": self._ts(now), "limit": limit},
            )
            rows = cur.fetchall()
            updates, entries = [], []
            for row in rows:
                r = codec.request_from(row)
                new, entry, claim = claim_one(
                    r, row["lease_owner"], int(row["attempts"]), worker, now, lease_seconds
                )
                values = self._request_values(new)
                values.update(
                    lease_owner=worker,
                    lease_expires=self._ts(claim.lease.expires),
                    attempts=claim.lease.attempts,
                )
                updates.append(values)
                entries.append(self._history_values(entry))
                claims.append(claim)
            self._xm(cur, _CLAIM_REQUEST, updates)
            self._xm(cur, _INSERT_HISTORY, entries)
        return claims

    def lease(self, request_id: str) -> Optional[Lease]:
        """The current lease, or None."""
        rows = self._q(
            "SELECT lease_owner, lease_expires, attempts FROM requests WHERE id = :id",
            {"id": request_id},
        )
        if not rows or rows[0]["lease_owner"] is None:
            return None
        expires = codec.parse_ts(rows[0]["lease_expires"])
        assert expires is not None
        return Lease(rows[0]["lease_owner"], expires, int(rows[0]["attempts"]))

    def renew(self, fence: Fence, until: datetime) -> bool:
        """Extend the lease if ``fence`` holds."""
        with self._write() as cur:
            done = self._x(
                cur,
                "UPDATE requests SET lease_expires = :until "
                "WHERE id = :id AND lease_owner = :worker AND attempts = :attempts",
                {
                    "until": self._ts(until),
                    "id": fence.request_id,
                    "worker": fence.worker,
                    "attempts": fence.attempts,
                },
            )
            return bool(done.rowcount == 1)
