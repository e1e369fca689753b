"""``sqlite:///path.db``: storage in one SQLite file, with the standard library only.

Durability and concurrency choices:

* **WAL with ``synchronous=NORMAL``.** Readers never block the writer. A commit
  survives a crash of the process; on a power loss or OS crash the last
  transactions before the loss may be rolled back (never half-applied: the
  database stays consistent). Pass ``?synchronous=FULL`` in the URL to make every
  commit durable against power loss too, at the price of an fsync per commit.
* **Several processes on one file** are safe: writes start with ``BEGIN
  IMMEDIATE``, a busy timeout waits for the lock and a locked database is retried
  with backoff. SQLite has one writer at a time, so writes from many processes
  queue; for several machines use PostgreSQL.
* The schema version lives in ``PRAGMA user_version``; migrations run on open
  inside a write transaction, so two processes opening a new file at once do not
  both migrate.

URLs follow SQLAlchemy: ``sqlite:///relative.db``, ``sqlite:////absolute/path.db``.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, TypeVar
from urllib.parse import parse_qs, urlsplit

from siteupdates.builtin import codec
from siteupdates.domain import Catalog, Contact, Group, HistoryEntry, Status, Tenant, UpdateRequest
from siteupdates.errors import (
    ConfigurationError,
    ConflictError,
    DuplicateKey,
    LeaseLost,
    StorageError,
)
from siteupdates.hookspecs import hookimpl
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

__all__ = ["MIGRATIONS", "SqliteStorage"]

T = TypeVar("T")

#: Schema migrations; entry N brings user_version N to N + 1.
MIGRATIONS: Sequence[str] = (
    """
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE groups (id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL);
    CREATE TABLE tenants (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, plan TEXT NOT NULL,
        group_id TEXT, tasks TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE sites (
        tenant_id TEXT NOT NULL REFERENCES tenants(id), kind TEXT NOT NULL,
        version TEXT NOT NULL, since TEXT NOT NULL, refreshed_at TEXT,
        automatic INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, kind)
    );
    CREATE TABLE contacts (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, role TEXT NOT NULL,
        zone TEXT, tenants TEXT NOT NULL
    );
    CREATE TABLE catalog (version TEXT PRIMARY KEY);
    CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        target TEXT NOT NULL,
        version TEXT,
        db_refresh INTEGER NOT NULL,
        preferred_start TEXT NOT NULL,
        zone TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        status TEXT NOT NULL,
        scheduled_for TEXT,
        revision INTEGER NOT NULL,
        warnings TEXT NOT NULL DEFAULT '[]',
        reason TEXT,
        superseded_by TEXT,
        idempotency_key TEXT,
        group_plan_id TEXT
    );
    -- The list and overview: one tenant's requests by status, newest first.
    CREATE INDEX requests_tenant ON requests (tenant_id, requested_at DESC, id DESC);
    -- The queue: requests of a status, first come first served.
    CREATE INDEX requests_queue ON requests (status, requested_at, id);
    CREATE UNIQUE INDEX requests_idempotency ON requests (requested_by, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    CREATE TABLE history (
        request_id TEXT NOT NULL REFERENCES requests(id),
        seq INTEGER NOT NULL,
        event TEXT NOT NULL, actor TEXT NOT NULL, by_whom TEXT NOT NULL, at TEXT NOT NULL,
        from_status TEXT, to_status TEXT NOT NULL, reason TEXT,
        old_date TEXT, new_date TEXT,
        PRIMARY KEY (request_id, seq)
    );
    CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        request_id TEXT,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        last_error TEXT,
        delivered_at TEXT
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt_at, created_at);
    CREATE INDEX outbox_request ON outbox (request_id, created_at);
    """,
    """
    ALTER TABLE requests ADD COLUMN automatic INTEGER NOT NULL DEFAULT 0;
    -- Hosting workers: who holds a request, until when, and how often it was tried.
    ALTER TABLE requests ADD COLUMN lease_owner TEXT;
    ALTER TABLE requests ADD COLUMN lease_expires TEXT;
    ALTER TABLE requests ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX requests_due ON requests (status, scheduled_for);
    """,
)


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.netloc:
        raise ConfigurationError(
            f"not a SQLite URL: {url!r}; expected sqlite:///relative.db or "
            "sqlite:////absolute/path.db"
        )
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path:
        raise ConfigurationError("a SQLite URL needs a file: sqlite:///siteupdates.db")
    return path


class SqliteStorage(Storage):
    """A :class:`~siteupdates.ports.Storage` on one SQLite file."""

    def __init__(self, url: str, *, busy_timeout: float = 30.0) -> None:
        self.url = url
        path = _path_of(url)
        query = parse_qs(urlsplit(url).query)
        sync = query.get("synchronous", ["NORMAL"])[0].upper()
        if sync not in ("NORMAL", "FULL"):
            raise ConfigurationError(f"synchronous must be NORMAL or FULL, not {sync!r}")
        self._lock = threading.RLock()
        self._busy_timeout = busy_timeout
        try:
            self._db = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise ConfigurationError(f"cannot open SQLite file {path!r}: {exc}") from exc
        self._db.row_factory = sqlite3.Row
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        self._retry(lambda: self._db.execute("PRAGMA journal_mode = WAL").fetchone())
        self._db.execute(f"PRAGMA synchronous = {sync}")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def __repr__(self) -> str:
        return f"SqliteStorage({self.url!r})"

    # -- plumbing ----------------------------------------------------------------

    def _retry(self, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying with backoff while another process holds the lock."""
        deadline = time.monotonic() + self._busy_timeout
        delay = 0.01
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                locked = "locked" in str(exc) or "busy" in str(exc)
                if not locked or time.monotonic() > deadline:
                    raise StorageError(f"SQLite error on {self.url}: {exc}") from exc
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._retry(lambda: self._db.execute("BEGIN IMMEDIATE"))
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._retry(lambda: self._db.execute("COMMIT"))

    def _read(self, sql: str, params: Sequence[Any] = ()) -> List[sqlite3.Row]:
        with self._lock:
            return self._retry(lambda: self._db.execute(sql, params).fetchall())

    def _migrate(self) -> None:
        with self._write() as db:
            current = db.execute("PRAGMA user_version").fetchone()[0]
            if current > len(MIGRATIONS):
                raise ConfigurationError(
                    f"{self.url} has schema version {current}, newer than this siteupdates "
                    f"({len(MIGRATIONS)}); upgrade siteupdates"
                )
            for version in range(current, len(MIGRATIONS)):
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {version + 1}")

    def schema_version(self) -> int:
        """The schema version of the file."""
        return int(self._read("PRAGMA user_version")[0][0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    # -- reference data ------------------------------------------------------------

    def save_setup(self, setup: Setup) -> None:
        """Write the reference data in one transaction, with batched statements."""
        import json

        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO groups (id, name, kind) VALUES (?, ?, ?)",
                [(g.id, g.name, g.kind) for g in setup.groups],
            )
            self._put_tenants(db, setup.tenants)
            rows = [codec.contact_row(c) for c in setup.contacts]
            db.executemany(
                "INSERT OR REPLACE INTO contacts (id, name, email, role, zone, tenants) "
                "VALUES (:id, :name, :email, :role, :zone, :tenants)",
                rows,
            )
            db.executemany(
                "INSERT OR IGNORE INTO catalog (version) VALUES (?)",
                [(str(v),) for v in setup.catalog.versions],
            )
            db.executemany(
                "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                [(k, json.dumps(v)) for k, v in setup.settings.items()],
            )

    @staticmethod
    def _put_tenants(db: sqlite3.Connection, tenants: Sequence[Tenant]) -> None:
        rows = [codec.tenant_rows(t) for t in tenants]
        db.executemany(
            "INSERT INTO tenants (id, name, plan, group_id, tasks) "
            "VALUES (:id, :name, :plan, :group_id, :tasks) "
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, plan = excluded.plan, "
            "group_id = excluded.group_id, tasks = excluded.tasks",
            [r for r, _ in rows],
        )
        db.executemany("DELETE FROM sites WHERE tenant_id = ?", [(t.id,) for t in tenants])
        db.executemany(
            "INSERT INTO sites (tenant_id, kind, version, since, refreshed_at, automatic) "
            "VALUES (:tenant_id, :kind, :version, :since, :refreshed_at, :automatic)",
            [s for _, sites in rows for s in sites],
        )

    def settings(self) -> Dict[str, Any]:
        """The stored settings."""
        import json

        return {r["key"]: json.loads(r["value"]) for r in self._read("SELECT * FROM settings")}

    def _tenants_where(self, where: str, params: Sequence[Any]) -> List[Tenant]:
        rows = self._read(f"SELECT * FROM tenants {where} ORDER BY id", params)
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        marks = ",".join("?" * len(ids))
        sites: Dict[str, List[sqlite3.Row]] = {}
        for s in self._read(f"SELECT * FROM sites WHERE tenant_id IN ({marks})", ids):
            sites.setdefault(s["tenant_id"], []).append(s)
        return [codec.tenant_from(r, sites.get(r["id"], [])) for r in rows]

    def tenant(self, tenant_id: str) -> Optional[Tenant]:
        """The tenant, or None."""
        found = self._tenants_where("WHERE id = ?", (tenant_id,))
        return found[0] if found else None

    def tenants(self) -> List[Tenant]:
        """Every tenant by ID."""
        return self._tenants_where("", ())

    def group(self, group_id: str) -> Optional[Group]:
        """The group, or None."""
        rows = self._read("SELECT * FROM groups WHERE id = ?", (group_id,))
        return Group(rows[0]["id"], rows[0]["name"], rows[0]["kind"]) if rows else None

    def contact(self, contact_id: str) -> Optional[Contact]:
        """The contact, or None."""
        rows = self._read("SELECT * FROM contacts WHERE id = ?", (contact_id,))
        return codec.contact_from(rows[0]) if rows else None

    def contacts(self) -> List[Contact]:
        """Every contact by ID."""
        return [codec.contact_from(r) for r in self._read("SELECT * FROM contacts ORDER BY id")]

    def catalog(self) -> Catalog:
        """The catalog."""
        return Catalog.of(*(r["version"] for r in self._read("SELECT version FROM catalog")))

    # -- requests -------------------------------------------------------------------

    def request(self, request_id: str) -> Optional[UpdateRequest]:
        """The request, or None."""
        rows = self._read("SELECT * FROM requests WHERE id = ?", (request_id,))
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
        where = ["tenant_id = ?"]
        params: List[Any] = [tenant_id]
        if statuses is not None:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            params.extend(s.value for s in statuses)
        if exclude:
            where.append(f"status NOT IN ({','.join('?' * len(exclude))})")
            params.extend(s.value for s in exclude)
        clause = " AND ".join(where)
        total = self._read(f"SELECT count(*) FROM requests WHERE {clause}", params)[0][0]
        rows = self._read(
            f"SELECT * FROM requests WHERE {clause} "
            "ORDER BY requested_at DESC, id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return Page(tuple(codec.request_from(r) for r in rows), int(total), offset, limit)

    def requests_in(self, statuses: Sequence[Status], *, limit: int = 1000) -> List[UpdateRequest]:
        """Requests in ``statuses``, first come first served, through ``requests_queue``."""
        marks = ",".join("?" * len(statuses))
        rows = self._read(
            f"SELECT * FROM requests WHERE status IN ({marks}) ORDER BY requested_at, id LIMIT ?",
            [*(s.value for s in statuses), limit],
        )
        return [codec.request_from(r) for r in rows]

    def by_idempotency_key(self, requested_by: str, key: str) -> Optional[UpdateRequest]:
        """The request submitted with this key, or None."""
        rows = self._read(
            "SELECT * FROM requests WHERE requested_by = ? AND idempotency_key = ?",
            (requested_by, key),
        )
        return codec.request_from(rows[0]) if rows else None

    def history(self, request_id: str) -> List[HistoryEntry]:
        """The history, oldest first."""
        rows = self._read("SELECT * FROM history WHERE request_id = ? ORDER BY seq", (request_id,))
        return [codec.history_from(r) for r in rows]

    # -- writes ------------------------------------------------------------------------

    def apply(self, changes: ChangeSet) -> None:
        """Commit the change set in one IMMEDIATE transaction."""
        cols = codec.REQUEST_COLUMNS
        insert_sql = (
            f"INSERT INTO requests ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"
        )
        update_sql = (
            "UPDATE requests SET "
            + ", ".join(f"{c} = :{c}" for c in cols if c != "id")
            + " WHERE id = :id AND revision = :expected"
        )
        hcols = codec.HISTORY_COLUMNS
        ocols = codec.OUTBOX_COLUMNS
        with self._write() as db:
            for f in changes.fences:
                held = db.execute(
                    "SELECT lease_owner, attempts FROM requests WHERE id = ?", (f.request_id,)
                ).fetchone()
                if held is None or held[0] != f.worker or held[1] != f.attempts:
                    raise LeaseLost(f.request_id, f.worker)
            for r in changes.inserts:
                try:
                    db.execute(insert_sql, codec.request_row(r))
                except sqlite3.IntegrityError as exc:
                    if r.idempotency_key is not None and "idempotency_key" in str(exc):
                        raise DuplicateKey(r.requested_by, r.idempotency_key) from exc
                    raise StorageError(f"cannot insert request {r.id}: {exc}") from exc
            for new, expected in changes.updates:
                row = codec.request_row(new)
                row["expected"] = expected
                if db.execute(update_sql, row).rowcount != 1:
                    raise ConflictError(new.id, expected)
            try:
                db.executemany(
                    f"INSERT INTO history ({', '.join(hcols)}) "
                    f"VALUES ({', '.join(':' + c for c in hcols)})",
                    [codec.history_row(h) for h in changes.history],
                )
                db.executemany(
                    f"INSERT INTO outbox ({', '.join(ocols)}) "
                    f"VALUES ({', '.join(':' + c for c in ocols)})",
                    [codec.outbox_row(o) for o in changes.outbox],
                )
            except sqlite3.IntegrityError as exc:
                raise StorageError(f"change set refused by the database: {exc}") from exc
            if changes.tenants:
                self._put_tenants(db, changes.tenants)
            db.executemany(
                "UPDATE requests SET lease_owner = NULL, lease_expires = NULL WHERE id = ?",
                [(rid,) for rid in changes.release],
            )

    # -- outbox ----------------------------------------------------------------------

    def outbox_due(self, now: datetime, *, limit: int = 100) -> List[OutboxItem]:
        """Pending items that are due, through the ``outbox_due`` index."""
        rows = self._read(
            "SELECT * FROM outbox WHERE state = 'pending' AND "
            "(next_attempt_at IS NULL OR next_attempt_at <= ?) "
            "ORDER BY created_at, id LIMIT ?",
            (codec.ts(now), limit),
        )
        return [codec.outbox_from(r) for r in rows]

    def outbox(
        self, *, request_id: Optional[str] = None, state: Optional[OutboxState] = None
    ) -> List[OutboxItem]:
        """Outbox items, oldest first."""
        where, params = [], []
        if request_id is not None:
            where.append("request_id = ?")
            params.append(request_id)
        if state is not None:
            where.append("state = ?")
            params.append(state.value)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        rows = self._read(f"SELECT * FROM outbox {clause} ORDER BY created_at, id", params)
        return [codec.outbox_from(r) for r in rows]

    def record_attempt(self, item: OutboxItem) -> None:
        """Store a delivery outcome."""
        row = codec.outbox_row(item)
        with self._write() as db:
            cur = db.execute(
                "UPDATE outbox SET state = :state, attempts = :attempts, "
                "next_attempt_at = :next_attempt_at, last_error = :last_error, "
                "delivered_at = :delivered_at WHERE id = :id",
                row,
            )
            if cur.rowcount != 1:
                raise StorageError(f"no outbox item {item.id}")

    # -- hosting workers -----------------------------------------------------------

    def claim(
        self, worker: str, now: datetime, lease_seconds: float, *, limit: int = 1
    ) -> List[Claim]:
        """Claim in one IMMEDIATE transaction: SQLite's single writer rules out double claims.

        Through ``requests_due``; several processes on one file take turns.
        """
        cols = codec.REQUEST_COLUMNS
        update_sql = (
            "UPDATE requests SET "
            + ", ".join(f"{c} = :{c}" for c in cols if c != "id")
            + ", lease_owner = :lease_owner, lease_expires = :lease_expires, "
            "attempts = :attempts WHERE id = :id"
        )
        hcols = codec.HISTORY_COLUMNS
        marks = ", ".join(":" + c for c in hcols)
        history_sql = f"INSERT INTO history ({', '.join(hcols)}) VALUES ({marks})"
        stamp = codec.ts(now)
        claims: List[Claim] = []
        with self._write() as db:
            rows = db.execute(
                "SELECT * FROM requests WHERE "
                "(status = 'scheduled' AND scheduled_for <= :now "
                " AND (lease_expires IS NULL OR lease_expires < :now)) OR "
                "(status IN ('not-started', 'in-progress') AND lease_expires < :now) "
                "ORDER BY scheduled_for, requested_at, id LIMIT :limit",
                {"now": stamp, "limit": limit},
            ).fetchall()
            for row in rows:
                r = codec.request_from(row)
                new, entry, claim = claim_one(
                    r, row["lease_owner"], int(row["attempts"]), worker, now, lease_seconds
                )
                values = codec.request_row(new)
                values.update(
                    lease_owner=worker,
                    lease_expires=codec.ts(claim.lease.expires),
                    attempts=claim.lease.attempts,
                )
                db.execute(update_sql, values)
                db.execute(history_sql, codec.history_row(entry))
                claims.append(claim)
        return claims

    def lease(self, request_id: str) -> Optional[Lease]:
        """The current lease, or None."""
        rows = self._read(
            "SELECT lease_owner, lease_expires, attempts FROM requests WHERE id = ?",
            (request_id,),
        )
        if not rows or rows[0][0] is None:
            return None
        expires = codec.parse_ts(rows[0][1])
        assert expires is not None
        return Lease(rows[0][0], expires, int(rows[0][2]))

    def renew(self, fence: Fence, until: datetime) -> bool:
        """Extend the lease if ``fence`` holds."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE requests SET lease_expires = ? "
                "WHERE id = ? AND lease_owner = ? AND attempts = ?",
                (codec.ts(until), fence.request_id, fence.worker, fence.attempts),
            )
            return cur.rowcount == 1


class SqliteStoragePlugin:
    """Handles ``sqlite://`` URLs."""

    @hookimpl
    def siteupdates_storage(self, url: str) -> Optional[Storage]:
        """A SQLite storage for ``sqlite:///path.db``."""
        return SqliteStorage(url) if url.startswith("sqlite:") else None
