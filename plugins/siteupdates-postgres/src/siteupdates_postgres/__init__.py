"""PostgreSQL storage for siteupdates (``postgresql://`` URLs).

A plugin like any other: the ``siteupdates`` entry point makes every
:class:`siteupdates.plugins.PluginHost` find :func:`siteupdates_storage`.
"""

from __future__ import annotations

import functools
import re
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from siteupdates.builtin import codec
from siteupdates.builtin.sqlbase import CLAIM_WHERE, Cursor, SqlStorage
from siteupdates.domain import TRANSITIONS, Actor, Event, HistoryEntry, Status
from siteupdates.errors import ConfigurationError, StorageError
from siteupdates.hookspecs import hookimpl
from siteupdates.ports import Claim, Lease, Storage

__all__ = ["MIGRATIONS", "PostgresStorage", "redact", "siteupdates_storage"]

_OURS = ("schema", "pool_min", "pool_max", "connect_timeout")
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")

#: Schema migrations; entry N brings version N to N + 1.
MIGRATIONS: Sequence[str] = (
    """
    CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);
    CREATE TABLE groups (id text PRIMARY KEY, name text NOT NULL, kind text NOT NULL);
    CREATE TABLE tenants (
        id text PRIMARY KEY, name text NOT NULL, plan text NOT NULL,
        group_id text, tasks text NOT NULL DEFAULT '[]'
    );
    CREATE TABLE sites (
        tenant_id text NOT NULL REFERENCES tenants(id), kind text NOT NULL,
        version text NOT NULL, since timestamptz NOT NULL, refreshed_at timestamptz,
        automatic boolean NOT NULL DEFAULT false,
        PRIMARY KEY (tenant_id, kind)
    );
    CREATE TABLE contacts (
        id text PRIMARY KEY, name text NOT NULL, email text NOT NULL, role text NOT NULL,
        zone text, tenants text NOT NULL
    );
    CREATE TABLE catalog (version text PRIMARY KEY);
    CREATE TABLE requests (
        id text PRIMARY KEY,
        tenant_id text NOT NULL,
        target text NOT NULL,
        version text,
        db_refresh boolean NOT NULL,
        preferred_start timestamptz NOT NULL,
        zone text NOT NULL,
        requested_by text NOT NULL,
        requested_at timestamptz NOT NULL,
        status text NOT NULL,
        scheduled_for timestamptz,
        revision integer NOT NULL,
        warnings text NOT NULL DEFAULT '[]',
        reason text,
        superseded_by text,
        idempotency_key text,
        group_plan_id text,
        automatic boolean NOT NULL DEFAULT false,
        lease_owner text,
        lease_expires timestamptz,
        attempts integer NOT NULL DEFAULT 0
    );
    CREATE INDEX requests_tenant ON requests (tenant_id, requested_at DESC, id DESC);
    CREATE INDEX requests_queue ON requests (status, requested_at, id);
    CREATE INDEX requests_due ON requests (status, scheduled_for);
    CREATE UNIQUE INDEX requests_idempotency ON requests (requested_by, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    CREATE TABLE history (
        request_id text NOT NULL REFERENCES requests(id),
        seq integer NOT NULL,
        event text NOT NULL, actor text NOT NULL, by_whom text NOT NULL,
        at timestamptz NOT NULL,
        from_status text, to_status text NOT NULL, reason text,
        old_date timestamptz, new_date timestamptz,
        PRIMARY KEY (request_id, seq)
    );
    CREATE TABLE outbox (
        id text PRIMARY KEY,
        key text NOT NULL UNIQUE,
        kind text NOT NULL,
        request_id text,
        payload text NOT NULL,
        created_at timestamptz NOT NULL,
        state text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        last_error text,
        delivered_at timestamptz
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt_at, created_at);
    CREATE INDEX outbox_request ON outbox (request_id, created_at);
    """,
)


_PULL = TRANSITIONS[Event.PULL]
_RECLAIM = TRANSITIONS[Event.RECLAIM]
# The one-statement claim below relies on these rows of the lifecycle table.
assert _PULL.sources == {Status.SCHEDULED} and _PULL.target is _RECLAIM.target
assert _RECLAIM.sources == {Status.NOT_STARTED, Status.IN_PROGRESS}

_CLAIM_SQL = f"""
WITH picked AS (
    SELECT id, status AS old_status, lease_owner AS old_owner FROM requests
    WHERE {CLAIM_WHERE}
    ORDER BY scheduled_for, requested_at, id LIMIT :limit
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE requests r SET
        status = :target,
        revision = r.revision + 1,
        reason = CASE WHEN p.old_status = :pull_from THEN r.reason
                 ELSE 'the lease of ' || coalesce(p.old_owner, 'a worker')
                      || ' expired; taken over (attempt ' || (r.attempts + 1) || ')' END,
        lease_owner = :worker,
        lease_expires = :expires,
        attempts = r.attempts + 1
    FROM picked p WHERE r.id = p.id
    RETURNING r.*, p.old_status
), logged AS (
    INSERT INTO history (request_id, seq, event, actor, by_whom, at, from_status,
                         to_status, reason, old_date, new_date)
    SELECT id, revision,
           CASE WHEN old_status = :pull_from THEN :pull ELSE :reclaim END,
           :actor, :worker, :now, old_status, status,
           CASE WHEN old_status = :pull_from THEN NULL ELSE reason END, NULL, NULL
    FROM claimed
)
SELECT * FROM claimed ORDER BY scheduled_for, requested_at, id
"""


@functools.lru_cache(maxsize=256)
def _pyformat(text: str) -> str:
    """``:name`` parameters as psycopg's ``%(name)s`` (statements repeat: cached)."""
    return _PARAM.sub(r"%(\1)s", text)


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _split(url: str) -> Tuple[str, Dict[str, str]]:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in _OURS}
    rest = [(k, v) for k, v in query if k not in _OURS]
    return urlunsplit(parts._replace(query=urlencode(rest))), ours


class PostgresStorage(SqlStorage):
    """A :class:`~siteupdates.ports.Storage` on PostgreSQL, through a connection pool."""

    integrity_error = (psycopg.errors.IntegrityError,)
    claim_lock = "FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str) -> None:
        self.url = redact(url)
        self._password = urlsplit(url).password
        conninfo, ours = _split(url)
        self.schema = ours.get("schema", "public")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", self.schema):
            raise ConfigurationError(
                f"schema {self.schema!r} is not a plain identifier (letters, digits, _)"
            )
        try:
            lo, hi = int(ours.get("pool_min", 1)), int(ours.get("pool_max", 8))
            timeout = float(ours.get("connect_timeout", 10))
        except ValueError as exc:
            raise ConfigurationError(
                f"pool_min, pool_max and connect_timeout are numbers: {exc}"
            ) from None
        self._pool = ConnectionPool(
            conninfo,
            min_size=lo,
            max_size=max(hi, lo),
            kwargs={"autocommit": True, "row_factory": dict_row},
            configure=self._configure,
            open=False,
            name="siteupdates",
            timeout=timeout,
        )
        try:
            self._pool.open(wait=True, timeout=timeout)
            self._migrate()
        except (psycopg.Error, Exception) as exc:
            self._pool.close()
            if isinstance(exc, ConfigurationError):
                raise
            raise ConfigurationError(
                f"cannot open PostgreSQL storage {self.url}: {self._scrub(exc)}"
            ) from None

    def __repr__(self) -> str:
        return f"PostgresStorage({self.url!r}, schema={self.schema!r})"

    def _scrub(self, exc: BaseException) -> str:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if self._password:
            text = text.replace(self._password, "***")
        return text

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))

    def _sql(self, text: str) -> str:
        return _pyformat(text)

    def _ts(self, value: Optional[datetime]) -> Any:
        return value

    def _fence_sql(self) -> str:
        return "SELECT lease_owner, attempts FROM requests WHERE id = :id FOR UPDATE"

    @contextmanager
    def _write(self) -> Iterator[Cursor]:
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield conn.cursor()  # type: ignore[misc]
        except psycopg.OperationalError as exc:
            raise StorageError(f"PostgreSQL error on {self.url}: {self._scrub(exc)}") from None

    def _read(self, text: str, params: Mapping[str, Any] = {}) -> List[Any]:
        try:
            with self._pool.connection() as conn:
                return conn.execute(text, params).fetchall()
        except psycopg.OperationalError as exc:
            raise StorageError(f"PostgreSQL error on {self.url}: {self._scrub(exc)}") from None

    def _migrate(self) -> None:
        with self._pool.connection() as conn, conn.transaction():
            # One process migrates at a time; the others wait, then find it done.
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"siteupdates:{self.schema}",)
            )
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )
            conn.execute(
                sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(self.schema))
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS siteupdates_schema (version integer NOT NULL)"
            )
            row = conn.execute("SELECT version FROM siteupdates_schema").fetchone()
            current = 0 if row is None else int(row["version"])
            if current > len(MIGRATIONS):
                raise ConfigurationError(
                    f"{self.url} has schema version {current}, newer than this plugin "
                    f"({len(MIGRATIONS)}); upgrade siteupdates-postgres"
                )
            for version in range(current, len(MIGRATIONS)):
                conn.execute(MIGRATIONS[version])
            if row is None:
                conn.execute("INSERT INTO siteupdates_schema VALUES (%s)", (len(MIGRATIONS),))
            else:
                conn.execute("UPDATE siteupdates_schema SET version = %s", (len(MIGRATIONS),))

    def claim(
        self, worker: str, now: datetime, lease_seconds: float, *, limit: int = 1
    ) -> List[Claim]:
        """Claim in one statement: pick with SKIP LOCKED, update, log the history.

        One round trip and one implicit transaction per claim. The statuses and
        event names come from the lifecycle table; the reason of a take-over is
        :func:`siteupdates.leases.reclaim_reason`, built the same way in SQL.
        """
        expires = now + timedelta(seconds=lease_seconds)
        params = {
            "now": now,
            "limit": limit,
            "worker": worker,
            "expires": expires,
            "target": _PULL.target.value,
            "pull_from": Status.SCHEDULED.value,
            "pull": Event.PULL.value,
            "reclaim": Event.RECLAIM.value,
            "actor": Actor.PROVIDER.value,
        }
        rows = self._q(_CLAIM_SQL, params)
        claims = []
        for row in rows:
            request = codec.request_from(row)
            pulled = row["old_status"] == Status.SCHEDULED.value
            entry = HistoryEntry(
                request_id=request.id,
                seq=request.revision,
                event=Event.PULL if pulled else Event.RECLAIM,
                actor=Actor.PROVIDER,
                by=worker,
                at=now,
                from_status=Status(row["old_status"]),
                to_status=request.status,
                reason=None if pulled else request.reason,
            )
            claims.append(Claim(request, Lease(worker, expires, int(row["attempts"])), entry))
        return claims

    def schema_version(self) -> int:
        """The schema version of the database."""
        return int(self._q("SELECT version FROM siteupdates_schema")[0]["version"])

    def close(self) -> None:
        """Close the pool."""
        self._pool.close()


@hookimpl
def siteupdates_storage(url: str) -> Optional[Storage]:
    """A PostgreSQL storage for ``postgresql://`` (or ``postgres://``) URLs."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStorage(url)
    return None
