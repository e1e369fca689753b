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
* **Threads.** One storage (one :class:`~siteupdates.Desk`) may be shared by
  the threads of a process: it holds one connection, and a lock lets one thread
  at a time use it, for a whole unit of work or for one read. A read therefore
  never sees another thread's uncommitted writes; units of one process queue as
  those of several processes do, and the file is open once (three descriptors:
  the file, its WAL and its shared memory) however many threads share it.
* The schema version lives in ``PRAGMA user_version``; migrations run on open
  inside a write transaction, so two processes opening a new file at once do not
  both migrate.

URLs follow SQLAlchemy: ``sqlite:///relative.db``, ``sqlite:////absolute/path.db``.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from typing import Any, Callable, List, Mapping, Optional, TypeVar

from siteupdates.errors import ConfigurationError, StorageError
from siteupdates.hookspecs import hookimpl
from siteupdates.ports import Storage
from siteupdates.sql import MIGRATIONS, SQLITE, Cursor, SqlStorage, SqlUnit, run_migrations

__all__ = ["SqliteStorage"]

T = TypeVar("T")


#: Characters after which a SQLite URL is read by urllib; without them the path is
#: the text after ``sqlite:///`` (what urllib would give), and urllib is not loaded:
#: its import costs a command ~2 ms.
_NOT_PLAIN = frozenset("?#%\\;[]@")


def _plain_path(url: str) -> Optional[str]:
    """The path of a plain ``sqlite:///path`` URL (no query, no escapes); else None."""
    if not url.startswith("sqlite:///") or not url.isprintable():
        return None
    rest = url[len("sqlite:///") :]
    if not rest.strip() or rest != rest.strip() or _NOT_PLAIN & set(rest):
        return None
    return rest


def _path_of(url: str) -> str:
    plain = _plain_path(url)
    if plain is not None:
        return plain
    from urllib.parse import urlsplit

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


class SqliteStorage(SqlStorage):
    """A :class:`~siteupdates.ports.Storage` on one SQLite file."""

    integrity_error = (sqlite3.IntegrityError,)
    dialect = SQLITE
    qmark = True

    def __init__(self, url: str, *, busy_timeout: float = 30.0) -> None:
        self.url = url
        path = _path_of(url)
        if _plain_path(url) is None:
            from urllib.parse import parse_qs, urlsplit

            query = parse_qs(urlsplit(url).query)
        else:
            query = {}
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
        # Bound once (partials, no Python frame): every write runs both through _retry.
        self._begin: Callable[[], Any] = functools.partial(self._db.execute, "BEGIN IMMEDIATE")
        self._commit: Callable[[], Any] = functools.partial(self._db.execute, "COMMIT")
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            version = self._refuse_foreign(path)
            self._retry(lambda: self._db.execute("PRAGMA journal_mode = WAL").fetchone())
            self._db.execute(f"PRAGMA synchronous = {sync}")
            self._db.execute("PRAGMA foreign_keys = ON")
            if version != len(MIGRATIONS):
                # Only then the write lock: a file already up to date is opened by
                # readers without waiting for a writer (the version is read again
                # under the lock, in case another process migrated meanwhile).
                self._migrate()
        except (sqlite3.DatabaseError, StorageError) as exc:
            self._db.close()
            raise ConfigurationError(f"{path!r} is not a siteupdates SQLite file: {exc}") from None

    def __repr__(self) -> str:
        return f"SqliteStorage({self.url!r})"

    def _refuse_foreign(self, path: str) -> int:
        """Refuse, before changing anything, a SQLite file another program made.

        Returns the file's schema version.
        """
        # One statement, so one snapshot: another process creating the schema
        # between two reads would look like a stranger's tables at version 0.
        version, tables = self._db.execute(
            "SELECT (SELECT user_version FROM pragma_user_version), "
            "(SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%')"
        ).fetchone()
        if version == 0 and tables:
            raise StorageError(f"it holds {tables} tables or indexes of another program")
        return int(version)

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
                import random  # only when busy: a read that never waits does not load it

                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)

    def _write(self) -> AbstractContextManager[Cursor]:
        return _Transaction(self)

    def _read(self, sql: str, params: Mapping[str, Any] = {}) -> List[Any]:
        with self._lock:
            return self._retry(lambda: self._db.execute(sql, params).fetchall())

    def _in_transaction(self) -> bool:
        # One connection, its transactions under the lock: a transaction open now
        # is this thread's own, or began after its last read (which saw commits only).
        return self._db.in_transaction

    def _migrate(self) -> None:
        with self._write() as db:
            db.execute("PRAGMA user_version")
            current = db.fetchall()[0][0]
            if current > len(MIGRATIONS):
                raise ConfigurationError(
                    f"{self.url} has schema version {current}, newer than this siteupdates "
                    f"({len(MIGRATIONS)}); upgrade siteupdates"
                )
            if current < len(MIGRATIONS):
                version = run_migrations(SqlUnit(self, db), current)
                db.execute(f"PRAGMA user_version = {version}")

    def schema_version(self) -> int:
        """The schema version of the file."""
        return int(self._read("PRAGMA user_version")[0][0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()


class _Transaction:
    """One write transaction: the lock, ``BEGIN IMMEDIATE``, then ``COMMIT`` or ``ROLLBACK``.

    A class rather than a generator context manager: every write enters one,
    and this is a few calls cheaper per transaction.
    """

    __slots__ = ("_storage",)

    def __init__(self, storage: SqliteStorage) -> None:
        self._storage = storage

    def __enter__(self) -> Cursor:
        storage = self._storage
        storage._lock.acquire()
        try:
            storage._retry(storage._begin)
            return storage._db.cursor()  # type: ignore[return-value]
        except BaseException:
            storage._lock.release()
            raise

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        storage = self._storage
        try:
            if kind is not None:
                storage._db.execute("ROLLBACK")
            else:
                storage._retry(storage._commit)
        finally:
            storage._lock.release()


class SqliteStoragePlugin:
    """Handles ``sqlite://`` URLs."""

    @hookimpl
    def siteupdates_storage(self, url: str) -> Optional[Storage]:
        """A SQLite storage for ``sqlite:///path.db``."""
        return SqliteStorage(url) if url.startswith("sqlite:") else None
