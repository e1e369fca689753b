"""The public SQL layer that storage plugins build on.

* :mod:`siteupdates.sql.schema`: the one schema, its migrations, and the
  :class:`Dialect` values that hold what differs between databases;
* :mod:`siteupdates.sql.codec`: domain values to rows and back;
* :class:`SqlStorage` and :class:`SqlUnit`: every read, write, claim and
  lease written once; a backend supplies a connection, a transaction and its
  dialect (see the SQLite backend, ``siteupdates.builtin.sqlite``, for a
  complete one in 200 lines).
"""

from __future__ import annotations

from . import codec
from .base import (
    CLAIM_DUE_WHERE,
    CLAIM_EXPIRED_WHERE,
    CLAIM_ORDER,
    CLAIM_WHERE,
    Cursor,
    SqlReads,
    SqlStorage,
    SqlUnit,
    run_migrations,
)
from .schema import MIGRATIONS, OPEN_STATUSES_SQL, POSTGRES, SQLITE, Dialect, Migration

__all__ = [
    "CLAIM_DUE_WHERE",
    "CLAIM_EXPIRED_WHERE",
    "CLAIM_ORDER",
    "CLAIM_WHERE",
    "MIGRATIONS",
    "OPEN_STATUSES_SQL",
    "POSTGRES",
    "SQLITE",
    "Cursor",
    "Dialect",
    "Migration",
    "SqlReads",
    "SqlStorage",
    "SqlUnit",
    "codec",
    "run_migrations",
]
