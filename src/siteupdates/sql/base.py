"""The storage logic shared by SQL backends (SQLite here, PostgreSQL in its plugin).

A backend subclasses :class:`SqlStorage` and supplies a :class:`Dialect`, a
transaction (:meth:`SqlStorage._write`), autocommit reads
(:meth:`SqlStorage._read`) and, if its driver wants another parameter style
than ``:name``, :meth:`SqlStorage._sql`. Every value travels as a parameter,
never in the text.

Reads are written once, in :class:`SqlReads`, over one method that runs a
statement: the storage runs it on its own (each read sees the latest commit),
a :class:`SqlUnit` runs it on the transaction of a unit of work (the reads a
decision depends on and the writes it makes are one transaction).
"""

from __future__ import annotations

import abc
import json
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Type

import attrs

from siteupdates.domain import (
    Catalog,
    Contact,
    Group,
    HistoryEntry,
    Status,
    Target,
    Tenant,
    UpdateRequest,
)
from siteupdates.errors import ConflictError, DuplicateKey, LeaseLost, StorageError
from siteupdates.leases import claim_one
from siteupdates.ports import (
    AuditEntry,
    ChangeSet,
    Claim,
    Fence,
    Lease,
    OutboxItem,
    OutboxState,
    Page,
    Reads,
    ReferenceChange,
    Setup,
    Storage,
    Unit,
)

from . import codec
from .schema import MIGRATIONS, OPEN_STATUSES_SQL, Dialect

__all__ = ["CLAIM_WHERE", "Cursor", "SqlReads", "SqlStorage", "SqlUnit", "run_migrations"]


class Cursor(abc.ABC):
    """The few cursor operations the shared code uses (sqlite3 and psycopg both fit)."""

    rowcount: int
    description: Any

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
_TENANT_COLUMNS = "id, name, plan, group_id, tasks, revision"
#: Claimable rows (see Storage.claim), through the ``requests_due`` index.
CLAIM_WHERE = (
    "(status = 'scheduled' AND scheduled_for <= :now "
    " AND (lease_expires IS NULL OR lease_expires < :now)) OR "
    "(status IN ('not-started', 'in-progress') AND lease_expires < :now)"
)
#: Which unique index guards which invariant, for the message of a ConflictError.
#: PostgreSQL names the index; SQLite names its columns.
_INVARIANTS = {
    ("requests_one_open_version", "requests.tenant_id, requests.target"): "another open "
    "version update of this site exists (R17: one open version update per site)",
    ("requests_booking", "requests.tenant_id, requests.booking"): "another request holds "
    "this booking already",
}


class SqlReads(Reads):
    """The reads of :class:`~siteupdates.ports.Reads`, written once over :meth:`_fetch`."""

    #: Appended to reads that a unit must lock (``FOR UPDATE``); empty outside units.
    _lock_rows: str = ""

    @abc.abstractmethod
    def _fetch(self, sql: str, params: Mapping[str, Any] = {}) -> List[Any]:
        """The rows of one statement written with ``:name`` parameters."""

    @abc.abstractmethod
    def _ts(self, value: Optional[datetime]) -> Any:
        """An instant as the driver stores it."""

    def settings(self) -> Dict[str, Any]:
        """The stored settings."""
        return {r["key"]: json.loads(r["value"]) for r in self._fetch("SELECT * FROM settings")}

    def _tenants_where(self, where: str, params: Mapping[str, Any]) -> List[Tenant]:
        rows = self._fetch(
            f"SELECT {_TENANT_COLUMNS} FROM tenants {where} ORDER BY id {self._lock_rows}",
            params,
        )
        if not rows:
            return []
        if len(rows) == 1:
            site_rows = self._fetch(
                "SELECT * FROM sites WHERE tenant_id = :t0", {"t0": rows[0]["id"]}
            )
        else:
            marks, ids = _in("t", [r["id"] for r in rows])
            site_rows = self._fetch(f"SELECT * FROM sites WHERE tenant_id IN ({marks})", ids)
        sites: Dict[str, List[Any]] = {}
        for s in site_rows:
            sites.setdefault(s["tenant_id"], []).append(s)
        return [codec.tenant_from(r, sites.get(r["id"], [])) for r in rows]

    def tenant(self, tenant_id: str) -> Optional[Tenant]:
        """The tenant, or None."""
        found = self._tenants_where("WHERE id = :id", {"id": tenant_id})
        return found[0] if found else None

    def tenants(self) -> List[Tenant]:
        """Every tenant by ID."""
        return self._tenants_where("", {})

    def tenants_in_group(self, group_id: str) -> List[Tenant]:
        """The tenants of a group by ID."""
        return self._tenants_where("WHERE group_id = :g", {"g": group_id})

    def group(self, group_id: str) -> Optional[Group]:
        """The group, or None."""
        rows = self._fetch("SELECT * FROM groups WHERE id = :id", {"id": group_id})
        return Group(rows[0]["id"], rows[0]["name"], rows[0]["kind"]) if rows else None

    def groups(self) -> List[Group]:
        """Every group by ID."""
        rows = self._fetch("SELECT * FROM groups ORDER BY id")
        return [Group(r["id"], r["name"], r["kind"]) for r in rows]

    def audit(
        self, *, kind: Optional[str] = None, key: Optional[str] = None, limit: int = 1000
    ) -> List[AuditEntry]:
        """The changes of reference data, newest first, through ``audit_key``."""
        where: List[str] = []
        params: Dict[str, Any] = {"limit": limit}
        if kind is not None:
            where.append("kind = :kind")
            params["kind"] = kind
        if key is not None:
            where.append("key = :key")
            params["key"] = key
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        rows = self._fetch(f"SELECT * FROM audit {clause} ORDER BY seq DESC LIMIT :limit", params)
        return [codec.audit_from(r) for r in rows]

    def contact(self, contact_id: str) -> Optional[Contact]:
        """The contact, or None."""
        rows = self._fetch("SELECT * FROM contacts WHERE id = :id", {"id": contact_id})
        return codec.contact_from(rows[0]) if rows else None

    def contacts(self) -> List[Contact]:
        """Every contact by ID."""
        return [codec.contact_from(r) for r in self._fetch("SELECT * FROM contacts ORDER BY id")]

    def catalog(self) -> Catalog:
        """The catalog."""
        return Catalog.of(*(r["version"] for r in self._fetch("SELECT version FROM catalog")))

    def request(self, request_id: str) -> Optional[UpdateRequest]:
        """The request, or None."""
        rows = self._fetch(
            f"SELECT * FROM requests WHERE id = :id {self._lock_rows}", {"id": request_id}
        )
        return codec.request_from(rows[0]) if rows else None

    def request_ids(self, prefix: str, *, limit: int = 2) -> List[str]:
        """IDs starting with ``prefix``, through the primary key (a range, not LIKE)."""
        if not prefix:
            return []
        # The successor of the prefix bounds the range; IDs are ASCII.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = self._fetch(
            "SELECT id FROM requests WHERE id >= :lo AND id < :hi ORDER BY id LIMIT :limit",
            {"lo": prefix, "hi": upper, "limit": limit},
        )
        return [r["id"] for r in rows]

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
        total = self._fetch(f"SELECT count(*) AS n FROM requests WHERE {clause}", params)[0]["n"]
        rows = self._fetch(
            f"SELECT * FROM requests WHERE {clause} "
            "ORDER BY requested_at DESC, id DESC LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
        return Page(tuple(codec.request_from(r) for r in rows), int(total), offset, limit)

    def open_version_updates(self, tenant_id: str, target: Target) -> List[UpdateRequest]:
        """Through the partial unique index that keeps them at one (R17)."""
        rows = self._fetch(
            "SELECT * FROM requests WHERE tenant_id = :tenant AND target = :target "
            f"AND version IS NOT NULL AND status IN ({OPEN_STATUSES_SQL}) "
            f"ORDER BY requested_at, id {self._lock_rows}",
            {"tenant": tenant_id, "target": target.value},
        )
        return [codec.request_from(r) for r in rows]

    def booking(self, tenant_id: str, booking: str) -> Optional[UpdateRequest]:
        """Through the ``requests_booking`` index."""
        rows = self._fetch(
            "SELECT * FROM requests WHERE tenant_id = :tenant AND booking = :booking",
            {"tenant": tenant_id, "booking": booking},
        )
        return codec.request_from(rows[0]) if rows else None

    def requests_in(self, statuses: Sequence[Status], *, limit: int = 1000) -> List[UpdateRequest]:
        """Requests in ``statuses``, first come first served, through ``requests_queue``."""
        if not statuses:
            return []
        marks, params = _in("s", [s.value for s in statuses])
        rows = self._fetch(
            f"SELECT * FROM requests WHERE status IN ({marks}) "
            "ORDER BY requested_at, id LIMIT :limit",
            {**params, "limit": limit},
        )
        return [codec.request_from(r) for r in rows]

    def by_idempotency_key(self, requested_by: str, key: str) -> Optional[UpdateRequest]:
        """The request submitted with this key, or None."""
        rows = self._fetch(
            "SELECT * FROM requests WHERE requested_by = :by AND idempotency_key = :key",
            {"by": requested_by, "key": key},
        )
        return codec.request_from(rows[0]) if rows else None

    def history(self, request_id: str) -> List[HistoryEntry]:
        """The history, oldest first."""
        rows = self._fetch(
            "SELECT * FROM history WHERE request_id = :id ORDER BY seq", {"id": request_id}
        )
        return [codec.history_from(r) for r in rows]

    def outbox_due(self, now: datetime, *, limit: int = 100) -> List[OutboxItem]:
        """Pending items that are due, through the ``outbox_due`` index."""
        rows = self._fetch(
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
        rows = self._fetch(f"SELECT * FROM outbox {clause} ORDER BY created_at, id", params)
        return [codec.outbox_from(r) for r in rows]

    def lease(self, request_id: str) -> Optional[Lease]:
        """The current lease, or None."""
        rows = self._fetch(
            "SELECT lease_owner, lease_expires, attempts FROM requests WHERE id = :id",
            {"id": request_id},
        )
        if not rows or rows[0]["lease_owner"] is None:
            return None
        expires = codec.parse_ts(rows[0]["lease_expires"])
        assert expires is not None
        return Lease(rows[0]["lease_owner"], expires, int(rows[0]["attempts"]))


class SqlUnit(SqlReads, Unit):
    """A unit of work on one open transaction of a :class:`SqlStorage`."""

    def __init__(self, storage: SqlStorage, cursor: Cursor) -> None:
        self._storage = storage
        self._cur = cursor
        self._lock_rows = storage.dialect.for_update

    def _x(self, sql: str, params: Mapping[str, Any] = {}) -> Any:
        return self._cur.execute(self._storage._sql(sql), params)

    def _xm(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self._cur.executemany(self._storage._sql(sql), rows)

    def _fetch(self, sql: str, params: Mapping[str, Any] = {}) -> List[Any]:
        self._x(sql, params)
        return self._cur.fetchall() if self._cur.description is not None else []

    def _ts(self, value: Optional[datetime]) -> Any:
        return self._storage._ts(value)

    def lock(self, name: str) -> None:
        """Take the dialect's named transaction lock (none on SQLite: units run one at a time)."""
        if self._storage.dialect.lock is not None:
            self._fetch(self._storage.dialect.lock, {"name": f"siteupdates:{name}"})

    # -- rows ------------------------------------------------------------------------

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

    def _site_values(self, row: Dict[str, Any]) -> Dict[str, Any]:
        return {
            **row,
            "since": self._ts(codec.parse_ts(row["since"])),
            "refreshed_at": self._ts(codec.parse_ts(row["refreshed_at"])),
        }

    def _conflict(self, exc: BaseException, request_id: str) -> ConflictError:
        text = str(exc)
        for names, why in _INVARIANTS.items():
            if any(n in text for n in names):
                return ConflictError(request_id, message=f"request {request_id}: {why}")
        raise StorageError(f"cannot write request {request_id}: {exc}") from exc

    # -- writes ----------------------------------------------------------------------

    def put_tenants(self, tenants: Sequence[Tenant], *, check: bool) -> None:
        """Write tenants and their sites; with ``check``, only at their loaded revision."""
        rows = [codec.tenant_rows(t) for t in tenants]
        if check:
            for t in tenants:
                done = self._x(
                    "UPDATE tenants SET name = :name, plan = :plan, group_id = :group_id, "
                    "tasks = :tasks, revision = revision + 1 "
                    "WHERE id = :id AND revision = :revision",
                    codec.tenant_rows(t)[0],
                )
                if done.rowcount != 1:
                    raise ConflictError(
                        t.id,
                        t.revision,
                        message=f"tenant {t.id} was changed by someone else; try again",
                    )
        else:
            self._xm(
                "INSERT INTO tenants (id, name, plan, group_id, tasks, revision) "
                "VALUES (:id, :name, :plan, :group_id, :tasks, 0) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, plan = excluded.plan, "
                "group_id = excluded.group_id, tasks = excluded.tasks, "
                "revision = tenants.revision + 1",
                [r for r, _ in rows],
            )
        self._xm("DELETE FROM sites WHERE tenant_id = :id", [{"id": t.id} for t in tenants])
        self._xm(
            "INSERT INTO sites (tenant_id, kind, version, since, refreshed_at, automatic) "
            "VALUES (:tenant_id, :kind, :version, :since, :refreshed_at, :automatic)",
            [self._site_values(s) for _, sites in rows for s in sites],
        )

    def save_setup(self, setup: Setup) -> None:
        """Write the reference data with batched statements."""
        self._xm(
            "INSERT INTO groups (id, name, kind) VALUES (:id, :name, :kind) "
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind",
            [{"id": g.id, "name": g.name, "kind": g.kind} for g in setup.groups],
        )
        self.put_tenants(setup.tenants, check=False)
        self._xm(
            "INSERT INTO contacts (id, name, email, role, zone, tenants) "
            "VALUES (:id, :name, :email, :role, :zone, :tenants) "
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, "
            "role = excluded.role, zone = excluded.zone, tenants = excluded.tenants",
            [codec.contact_row(c) for c in setup.contacts],
        )
        self._xm(
            "INSERT INTO catalog (version) VALUES (:v) ON CONFLICT (version) DO NOTHING",
            [{"v": str(v)} for v in sorted(setup.catalog.versions, key=str)],
        )
        self._xm(
            "INSERT INTO settings (key, value) VALUES (:k, :v) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [{"k": k, "v": json.dumps(v)} for k, v in setup.settings.items()],
        )

    def change_reference(self, change: ReferenceChange) -> None:
        """Upserts, removals and audit entries of reference data, in this transaction."""
        up = change.upsert
        stored = {t.id for t in up.tenants if self.tenant(t.id) is not None}
        self.save_setup(attrs.evolve(up, tenants=tuple(t for t in up.tenants
                                                       if t.id not in stored)))  # fmt: skip
        self.put_tenants([t for t in up.tenants if t.id in stored], check=True)
        for table, column, keys in (
            ("contacts", "id", change.remove_contacts),
            ("sites", "tenant_id", change.remove_tenants),
            ("tenants", "id", change.remove_tenants),
            ("groups", "id", change.remove_groups),
            ("catalog", "version", change.remove_versions),
            ("settings", "key", change.remove_settings),
        ):
            self._xm(f"DELETE FROM {table} WHERE {column} = :k", [{"k": k} for k in keys])
        if change.audit:
            top = self._fetch("SELECT coalesce(max(seq), 0) AS n FROM audit")[0]["n"]
            rows = []
            for i, entry in enumerate(change.audit, start=int(top) + 1):
                row = codec.audit_row(attrs.evolve(entry, seq=i))
                row["at"] = self._ts(entry.at)
                rows.append(row)
            self._xm(
                f"INSERT INTO audit ({', '.join(codec.AUDIT_COLUMNS)}) "
                f"VALUES ({', '.join(':' + c for c in codec.AUDIT_COLUMNS)})",
                rows,
            )

    def apply(self, changes: ChangeSet) -> None:
        """Write the change set; fences and revisions are checked first."""
        integrity = self._storage.integrity_error
        for f in changes.fences:
            held = self._fetch(
                f"SELECT lease_owner, attempts FROM requests WHERE id = :id "
                f"{self._storage.dialect.for_update}",
                {"id": f.request_id},
            )
            if not held or held[0]["lease_owner"] != f.worker or held[0]["attempts"] != f.attempts:
                raise LeaseLost(f.request_id, f.worker)
        # Updates first: a superseded request leaves the open set before its successor
        # enters it, so the one-open-version index sees the end state.
        for new, expected in changes.updates:
            values = self._request_values(new)
            values["expected"] = expected
            try:
                done = self._x(_UPDATE_REQUEST, values)
            except integrity as exc:
                raise self._conflict(exc, new.id) from None
            if done.rowcount != 1:
                raise ConflictError(new.id, expected)
        for r in changes.inserts:
            try:
                self._x(_INSERT_REQUEST, self._request_values(r))
            except integrity as exc:
                if r.idempotency_key is not None and "idempotency" in str(exc):
                    raise DuplicateKey(r.requested_by, r.idempotency_key) from exc
                raise self._conflict(exc, r.id) from None
        try:
            self._xm(_INSERT_HISTORY, [self._history_values(h) for h in changes.history])
            self._xm(_INSERT_OUTBOX, [self._outbox_values(o) for o in changes.outbox])
        except integrity as exc:
            raise StorageError(f"change set refused by the database: {exc}") from exc
        if changes.tenants:
            self.put_tenants(changes.tenants, check=True)
        self._xm(
            "UPDATE requests SET lease_owner = NULL, lease_expires = NULL WHERE id = :id",
            [{"id": rid} for rid in changes.release],
        )


class SqlStorage(SqlReads, Storage):
    """Storage methods written once for every SQL backend."""

    #: The dialect's types, locks and statements.
    dialect: Dialect
    #: The driver's integrity error, raised on a unique or key violation.
    integrity_error: Tuple[Type[BaseException], ...] = ()

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

    def _fetch(self, sql: str, params: Mapping[str, Any] = {}) -> List[Any]:
        return self._read(self._sql(sql), params)

    # -- units of work ----------------------------------------------------------------

    @contextmanager
    def unit(self) -> Iterator[SqlUnit]:
        """One transaction; SQLite starts it with ``BEGIN IMMEDIATE``, PostgreSQL locks rows."""
        with self._write() as cur:
            yield SqlUnit(self, cur)

    def save_setup(self, setup: Setup) -> None:
        """Write the reference data in one transaction."""
        with self.unit() as uow:
            uow.save_setup(setup)

    def record_attempt(self, item: OutboxItem) -> None:
        """Store a delivery outcome."""
        with self.unit() as uow:
            done = uow._x(
                "UPDATE outbox SET state = :state, attempts = :attempts, "
                "next_attempt_at = :next_attempt_at, last_error = :last_error, "
                "delivered_at = :delivered_at WHERE id = :id",
                uow._outbox_values(item),
            )
            if done.rowcount != 1:
                raise StorageError(f"no outbox item {item.id}")

    # -- hosting workers -------------------------------------------------------------

    def claim(
        self, worker: str, now: datetime, lease_seconds: float, *, limit: int = 1
    ) -> List[Claim]:
        """Choose and lock due rows, apply the lifecycle in Python, write them back."""
        claims: List[Claim] = []
        with self.unit() as uow:
            rows = uow._fetch(
                f"SELECT * FROM requests WHERE {CLAIM_WHERE} "
                f"ORDER BY scheduled_for, requested_at, id LIMIT :limit "
                f"{self.dialect.claim_lock}",
                {"now": self._ts(now), "limit": limit},
            )
            updates, entries = [], []
            for row in rows:
                r = codec.request_from(row)
                new, entry, claim = claim_one(
                    r, row["lease_owner"], int(row["attempts"]), worker, now, lease_seconds
                )
                values = uow._request_values(new)
                values.update(
                    lease_owner=worker,
                    lease_expires=self._ts(claim.lease.expires),
                    attempts=claim.lease.attempts,
                )
                updates.append(values)
                entries.append(uow._history_values(entry))
                claims.append(claim)
            uow._xm(_CLAIM_REQUEST, updates)
            uow._xm(_INSERT_HISTORY, entries)
        return claims

    def renew(self, fence: Fence, until: datetime) -> bool:
        """Extend the lease if ``fence`` holds."""
        with self.unit() as uow:
            done = uow._x(
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


def run_migrations(uow: SqlUnit, stored: int) -> int:
    """Bring a schema at version ``stored`` to the newest, inside ``uow``; return it.

    A backend calls this from its own open step (inside one transaction, so
    two processes opening a new database do not both migrate) and records the
    version its own way.
    """
    dialect = uow._storage.dialect
    for migration in MIGRATIONS[stored:]:
        if migration.fixup is not None:
            migration.fixup(uow._fetch, dialect)
        for statement in migration.sql(dialect):
            uow._x(statement)
    return len(MIGRATIONS)
