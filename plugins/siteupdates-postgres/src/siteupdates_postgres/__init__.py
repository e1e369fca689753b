"""PostgreSQL storage for siteupdates (``postgresql://`` URLs).

A plugin like any other: the ``siteupdates`` entry point makes a
:class:`siteupdates.plugins.PluginHost` built with ``entry_points=True`` (the
command line's) find :func:`siteupdates_storage`. It is built on the public SQL
layer :mod:`siteupdates.sql`: the shared schema and migrations with the
:data:`~siteupdates.sql.POSTGRES` dialect, the shared reads and writes, and a
claim of its own in one statement.

A unit of work is one transaction on one pooled connection, at READ COMMITTED.
The request a use case changes is read ``FOR UPDATE``, writers of one tenant
take a transaction-scoped advisory lock, and the invariants are unique indexes;
a deadlock or serialization failure is reported as a ConflictError, which the
use cases retry.

Threads: one storage (one :class:`~siteupdates.Desk`) is shared by the threads
of a process. Its pool holds ``pool_min`` to ``pool_max`` connections (URL
parameters, default 1 and 8); a thread holds at most one of them at a time: a
read made while the thread's own unit of work is open runs on that unit's
connection, so threads outnumbering ``pool_max`` wait for a connection, and
never deadlock holding one while waiting for a second. A thread waits at most
``connect_timeout`` seconds for a free connection, then gets a StorageError.
Size ``pool_max`` to the threads that use the store at once (a WSGI server's
threads, plus one per background worker), up to what the server's
``max_connections`` allows for every process.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import ConnectionPool

from siteupdates.domain import TRANSITIONS, Actor, Event, HistoryEntry, Status
from siteupdates.domain.model import trusted_constructor
from siteupdates.errors import ConfigurationError, ConflictError, StorageError
from siteupdates.hookspecs import hookimpl
from siteupdates.ports import Claim, Lease, Storage
from siteupdates.sql import (
    CLAIM_DUE_WHERE,
    CLAIM_EXPIRED_WHERE,
    CLAIM_ORDER,
    MIGRATIONS,
    POSTGRES,
    Cursor,
    SqlStorage,
    SqlUnit,
    codec,
    run_migrations,
)

__all__ = ["PostgresStorage", "redact", "siteupdates_storage"]

_OURS = ("schema", "pool_min", "pool_max", "connect_timeout")
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")

#: A database written by the first release records version 1 for what the shared
#: schema calls version 2 (that release created the lease columns in its one step).
_LEGACY_VERSIONS = {1: 2}


_PULL = TRANSITIONS[Event.PULL]
_RECLAIM = TRANSITIONS[Event.RECLAIM]
# The one-statement claim below relies on these rows of the lifecycle table.
assert _PULL.sources == {Status.SCHEDULED} and _PULL.target is _RECLAIM.target
assert _RECLAIM.sources == {Status.NOT_STARTED, Status.IN_PROGRESS}
# Constants of the lifecycle, written into the statement as literals (fewer
# parameters to send and adapt on every claim); plain words, never user input.
_WORDS = {
    "target": _PULL.target.value,
    "pull_from": Status.SCHEDULED.value,
    "pull": Event.PULL.value,
    "reclaim": Event.RECLAIM.value,
    "actor": Actor.PROVIDER.value,
}
assert all(re.fullmatch(r"[a-z-]+", w) for w in _WORDS.values())
_PULL_FROM, _PULL_EVENT, _RECLAIM_EVENT, _PROVIDER = (
    Status.SCHEDULED, Event.PULL, Event.RECLAIM, Actor.PROVIDER
)  # fmt: skip
_LIT = {k: f"'{w}'" for k, w in _WORDS.items()}

#: What a claim returns per request, in this order: the request's columns (as
#: :func:`siteupdates.sql.codec.request_from_values` reads them), then its
#: attempt count and its status before the claim.
_CLAIM_COLUMNS = (*codec.REQUEST_COLUMNS, "attempts", "old_status")
_ATTEMPTS, _OLD_STATUS = len(codec.REQUEST_COLUMNS), len(codec.REQUEST_COLUMNS) + 1

# What a claim builds per request, from values the statement wrote and the codec
# decoded: constructors that run no converter (attrs' own run ``overrides``'s and
# store each field through ``object.__setattr__``): 8k fewer instructions a claim.
_entry = trusted_constructor(HistoryEntry)
_lease = trusted_constructor(Lease)
_claim = trusted_constructor(Claim)
#: A status as stored, to its member, without a call (Status.parse reports anything else).
_STATUSES: Mapping[Any, Status] = Status._value2member_map_  # type: ignore[assignment]

# What both claims write: the claimed row (reading its old status and owner from
# the row it replaces) and its history entry, from the ``claimed`` rows.
_SET_CLAIMED = f"""
        status = {_LIT["target"]},
        revision = r.revision + 1,
        reason = CASE WHEN r.status = {_LIT["pull_from"]} THEN r.reason
                 ELSE 'the lease of ' || coalesce(r.lease_owner, 'a worker')
                      || ' expired; taken over (attempt ' || (r.attempts + 1) || ')' END,
        lease_owner = :worker,
        lease_expires = :expires,
        attempts = r.attempts + 1"""
_LOG_CLAIMED = f"""logged AS (
    INSERT INTO history (request_id, seq, event, actor, by_whom, at, from_status,
                         to_status, reason, old_date, new_date)
    SELECT id, revision,
           CASE WHEN old_status = {_LIT["pull_from"]} THEN {_LIT["pull"]}
                ELSE {_LIT["reclaim"]} END,
           {_LIT["actor"]}, :worker, :now, old_status, status,
           CASE WHEN old_status = {_LIT["pull_from"]} THEN NULL ELSE reason END, NULL, NULL
    FROM claimed
)"""

# Two parts, each an index scan in claim order that stops after LIMIT unlocked
# rows (SKIP LOCKED inside the scan: workers never wait on one another's row):
# expired leases first, then due requests for what is left of the limit. The
# update finds the picked rows by primary key (``= ANY``), not by a join whose
# size the planner cannot know (it would hash the whole table).
_CLAIM_SQL = f"""
WITH expired AS (
    SELECT id, status AS old_status FROM requests
    WHERE {CLAIM_EXPIRED_WHERE}
    ORDER BY {CLAIM_ORDER} LIMIT :limit
    FOR UPDATE SKIP LOCKED
), due AS (
    SELECT id, status AS old_status FROM requests
    WHERE {CLAIM_DUE_WHERE}
    ORDER BY {CLAIM_ORDER} LIMIT greatest(:limit - (SELECT count(*) FROM expired), 0)
    FOR UPDATE SKIP LOCKED
), picked AS (
    SELECT * FROM expired UNION ALL SELECT * FROM due
), updated AS (
    UPDATE requests r SET {_SET_CLAIMED}
    WHERE r.id = ANY (ARRAY(SELECT id FROM picked))
    RETURNING r.*
), claimed AS (
    SELECT u.*, p.old_status FROM updated u JOIN picked p ON p.id = u.id
), {_LOG_CLAIMED}
SELECT {", ".join(_CLAIM_COLUMNS)} FROM claimed
ORDER BY old_status = {_LIT["pull_from"]}, {CLAIM_ORDER}
"""

# The same claim of one request (a worker's usual call), with less for the
# server to run on every claim: the two parts are scalar sub-selects, and
# coalesce runs the due part only when no expired lease was found (each locks
# at most one row). The picked row's ID and its status as locked travel as one
# text array; nothing to join, count or sort. The LIMITs are constants, so the
# planner's generic plan is the one it would make for any call.
_CLAIM_ONE_SQL = f"""
WITH picked AS (
    SELECT coalesce(
        (SELECT ARRAY[id, status] FROM requests WHERE {CLAIM_EXPIRED_WHERE}
         ORDER BY {CLAIM_ORDER} LIMIT 1 FOR UPDATE SKIP LOCKED),
        (SELECT ARRAY[id, status] FROM requests WHERE {CLAIM_DUE_WHERE}
         ORDER BY {CLAIM_ORDER} LIMIT 1 FOR UPDATE SKIP LOCKED)
    ) AS p
), claimed AS (
    UPDATE requests r SET {_SET_CLAIMED}
    WHERE r.id = (SELECT p[1] FROM picked)
    RETURNING {", ".join("r." + c for c in codec.REQUEST_COLUMNS)}, r.attempts,
              (SELECT p[2] FROM picked) AS old_status
), {_LOG_CLAIMED}
SELECT {", ".join(_CLAIM_COLUMNS)} FROM claimed
"""


@functools.lru_cache(maxsize=256)
def _pyformat(text: str) -> str:
    """``:name`` parameters as psycopg's ``%(name)s`` (statements repeat: cached)."""
    return _PARAM.sub(r"%(\1)s", text)


_CLAIM_STATEMENT = _pyformat(_CLAIM_SQL)
_CLAIM_ONE_STATEMENT = _pyformat(_CLAIM_ONE_SQL)
# As bytes, made once: psycopg encodes a str query on every call, then hashes the
# new bytes (1.6 kB) to find its parsed form and its prepared statement; the same
# bytes object keeps its hash (about 3% of a claim's client instructions).
_CLAIM_BYTES = _CLAIM_STATEMENT.encode()
_CLAIM_ONE_BYTES = _CLAIM_ONE_STATEMENT.encode()


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


class _Connection(psycopg.Connection[Any]):
    """A pooled connection that keeps one cursor for its claims.

    A worker claims in a loop: a new cursor per claim would look up the loaders
    of the claim's 22 result columns every time, a reused one keeps them while
    the result's types stay the same (about a third of a claim's client CPU).
    A pooled connection serves one thread at a time, and so does its cursor.
    """

    _claims: Optional[psycopg.Cursor[Tuple[Any, ...]]] = None
    _values: Optional[psycopg.Cursor[Tuple[Any, ...]]] = None

    def claim_cursor(self) -> psycopg.Cursor[Tuple[Any, ...]]:
        """The cursor of this connection's claims: tuples, in binary."""
        cur = self._claims
        if cur is None or cur.closed:
            cur = self._claims = self.cursor(row_factory=tuple_row, binary=True)
        return cur

    def values_cursor(self) -> psycopg.Cursor[Tuple[Any, ...]]:
        """The cursor of the reads that take rows as values (``_read_values``): tuples, binary.

        Kept for the reason the claims' is: the gadget's read has 38 columns.
        """
        cur = self._values
        if cur is None or cur.closed:
            cur = self._values = self.cursor(row_factory=tuple_row, binary=True)
        return cur


def _split(url: str) -> Tuple[str, Dict[str, str]]:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in _OURS}
    rest = [(k, v) for k, v in query if k not in _OURS]
    return urlunsplit(parts._replace(query=urlencode(rest))), ours


class PostgresStorage(SqlStorage):
    """A :class:`~siteupdates.ports.Storage` on PostgreSQL, through a connection pool."""

    integrity_error = (psycopg.errors.IntegrityError,)
    dialect = POSTGRES

    def __init__(self, url: str) -> None:
        try:
            self.url = redact(url)
            self._password = urlsplit(url).password
            conninfo, ours = _split(url)
        except ValueError as exc:
            raise ConfigurationError(f"malformed PostgreSQL URL: {exc}") from None
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
        if not (0 < lo <= 1000 and 0 < hi <= 1000 and 0 < timeout <= 3600):
            raise ConfigurationError(
                "pool_min and pool_max are 1 to 1000, connect_timeout 0 to 3600 seconds"
            )
        #: The connection of the unit of work this thread has open (see _connection).
        self._held = threading.local()
        self._pool: ConnectionPool[_Connection] = ConnectionPool(
            conninfo,
            connection_class=_Connection,
            min_size=lo,
            max_size=max(hi, lo),
            kwargs={"autocommit": True, "row_factory": dict_row},
            configure=self._configure,
            open=False,
            name="siteupdates",
            timeout=timeout,
        )
        # The pool logs every failed attempt; the error below says it once.
        pool_log = logging.getLogger("psycopg.pool")
        level = pool_log.level
        pool_log.setLevel(logging.CRITICAL)
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
        finally:
            pool_log.setLevel(level)

    def __repr__(self) -> str:
        return f"PostgresStorage({self.url!r}, schema={self.schema!r})"

    def _scrub(self, exc: BaseException) -> str:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if self._password:
            text = text.replace(self._password, "***")
        return text

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        # Instants are stored as timestamptz and read back as UTC by the codec. In
        # a UTC session psycopg gives them datetime.timezone.utc, which the codec
        # takes as it is, instead of the server's zone (often Etc/UTC, a ZoneInfo
        # to convert from on every column of every row read).
        conn.execute("SET TimeZone TO 'UTC'")

    def _sql(self, text: str) -> str:
        return _pyformat(text)

    def _ts(self, value: Optional[datetime]) -> Any:
        return value

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """The connection this thread's open unit holds, else one from the pool.

        So a thread never holds two: with every connection held by a unit whose
        thread then reads outside it, a second one could never come.
        """
        held = getattr(self._held, "conn", None)
        if held is not None:
            yield held
            return
        with self._pool.connection() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Cursor]:
        try:
            held = getattr(self._held, "conn", None)
            if held is not None:
                # A unit inside this thread's open unit: a savepoint on its connection.
                with held.transaction():
                    yield held.cursor()
                return
            with self._pool.connection() as conn, conn.transaction():
                self._held.conn = conn
                try:
                    yield conn.cursor()  # type: ignore[misc]
                finally:
                    self._held.conn = None
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as exc:
            # Two units waited on each other; PostgreSQL rolled one back. Run it again.
            raise ConflictError(
                "-", message=f"lost a race on PostgreSQL: {exc.sqlstate}"
            ) from None
        except psycopg.OperationalError as exc:
            raise StorageError(f"PostgreSQL error on {self.url}: {self._scrub(exc)}") from None

    def _after(self, cur: Cursor, first: str, params: Mapping[str, Any], then: str) -> List[Any]:
        """Both statements sent in pipeline mode, then one wait: one round trip, not two.

        Each is a statement of its own, so ``then`` takes its snapshot after
        ``first`` (a lock) is held, as it would sent alone.
        """
        conn = cur.connection  # type: ignore[attr-defined]
        second = conn.cursor()
        with conn.pipeline():
            cur.execute(first, params)
            second.execute(_pyformat(then))
        return list(second.fetchall())

    def _read(self, text: str, params: Mapping[str, Any] = {}) -> List[Any]:
        try:
            with self._connection() as conn:
                return conn.execute(text, params).fetchall()
        except psycopg.OperationalError as exc:
            raise StorageError(f"PostgreSQL error on {self.url}: {self._scrub(exc)}") from None

    def _in_transaction(self) -> bool:
        # Reads outside a unit run on a pooled connection in autocommit: committed rows.
        return getattr(self._held, "conn", None) is not None

    def _read_values(self, text: str, params: Mapping[str, Any] = {}) -> List[Sequence[Any]]:
        # As claim() takes its connection: no context manager of ours or the pool's
        # per read, and a cursor kept by the connection (its loaders stay looked up).
        try:
            held = getattr(self._held, "conn", None)
            conn = held if held is not None else self._pool.getconn()
            try:
                return list(conn.values_cursor().execute(text, params).fetchall())
            finally:
                if held is None:
                    self._pool.putconn(conn)
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
            if row is not None and "booking" not in self._columns(conn, "requests"):
                current = _LEGACY_VERSIONS.get(current, current)
            if current > len(MIGRATIONS):
                raise ConfigurationError(
                    f"{self.url} has schema version {current}, newer than this siteupdates "
                    f"({len(MIGRATIONS)}); upgrade siteupdates"
                )
            version = run_migrations(SqlUnit(self, conn.cursor()), current)  # type: ignore[arg-type]
            if row is None:
                conn.execute("INSERT INTO siteupdates_schema VALUES (%s)", (version,))
            else:
                conn.execute("UPDATE siteupdates_schema SET version = %s", (version,))

    @staticmethod
    def _columns(conn: psycopg.Connection[Any], table: str) -> set[str]:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        ).fetchall()
        return {r["column_name"] for r in rows}

    def claim(
        self, worker: str, now: datetime, lease_seconds: float, *, limit: int = 1
    ) -> List[Claim]:
        """Claim in one statement: pick with SKIP LOCKED, update, log the history.

        One round trip and one implicit transaction per claim. The statuses and
        event names come from the lifecycle table; the reason of a take-over is
        :func:`siteupdates.leases.reclaim_reason`, built the same way in SQL.
        """
        expires = now + timedelta(seconds=lease_seconds)
        params = {"now": now, "limit": limit, "worker": worker, "expires": expires}
        statement = _CLAIM_ONE_BYTES if limit == 1 else _CLAIM_BYTES
        try:
            # As _connection() does, without its two context managers per claim:
            # the unit's connection when this thread has one open, else a pooled
            # one (autocommit: the statement is its own transaction, and nothing
            # is left open to commit or roll back when it goes back).
            held = getattr(self._held, "conn", None)
            conn = held if held is not None else self._pool.getconn()
            try:
                # Tuples in binary: no column names to decode and no timestamps to
                # format and parse; the statement is prepared from the first call.
                rows = conn.claim_cursor().execute(statement, params, prepare=True).fetchall()
            finally:
                if held is None:
                    self._pool.putconn(conn)
        except psycopg.OperationalError as exc:
            raise StorageError(f"PostgreSQL error on {self.url}: {self._scrub(exc)}") from None
        claims = []
        for row in rows:
            request = codec.request_from_values(row)
            old = _STATUSES.get(row[_OLD_STATUS]) or Status.parse(row[_OLD_STATUS])
            pulled = old is _PULL_FROM
            entry = _entry(
                request.id,
                request.revision,
                _PULL_EVENT if pulled else _RECLAIM_EVENT,
                _PROVIDER,
                worker,
                now,
                old,
                request.status,
                None if pulled else request.reason,
            )
            claims.append(_claim(request, _lease(worker, expires, int(row[_ATTEMPTS])), entry))
        return claims

    def schema_version(self) -> int:
        """The schema version of the database."""
        return int(self._fetch("SELECT version FROM siteupdates_schema")[0]["version"])

    def pool_stats(self) -> Dict[str, int]:
        """The connection pool's sizes now, for health checks and tests.

        ``pool_min``, ``pool_max``, ``pool_size`` (open), ``pool_available`` (open
        and idle in the pool) and ``requests_waiting``. Every connection is back
        in the pool (``pool_available == pool_size``) whenever no thread is
        inside a call of this storage.
        """
        stats = self._pool.get_stats()
        keys = ("pool_min", "pool_max", "pool_size", "pool_available", "requests_waiting")
        return {key: int(stats.get(key, 0)) for key in keys}

    def close(self) -> None:
        """Close the pool."""
        self._pool.close()


@hookimpl
def siteupdates_storage(url: str) -> Optional[Storage]:
    """A PostgreSQL storage for ``postgresql://`` (or ``postgres://``) URLs."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStorage(url)
    return None
