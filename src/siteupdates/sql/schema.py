"""The one schema of every SQL backend, with the differences between dialects as data.

A schema version is a :class:`Migration`: statements written once with
``{placeholders}`` that a :class:`Dialect` fills in (column types, literals),
and optionally a Python step that runs before them on the same transaction (to
repair data that a new constraint would refuse). A backend runs
``MIGRATIONS[stored:]`` inside one write transaction and records the new
version its own way (SQLite's ``user_version``, a table elsewhere).

The invariants the store enforces live here as constraints, not in the use
cases: one open version update per site (``requests_one_open_version``), one
request per provider booking (``requests_booking``), and the revision columns
that every write checks.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import attrs

from siteupdates.domain import OPEN, WAITING, Event, Status
from siteupdates.domain.messages import ts
from siteupdates.errors import ConfigurationError

__all__ = [
    "MIGRATIONS",
    "OPEN_STATUSES_SQL",
    "POSTGRES",
    "SQLITE",
    "Dialect",
    "Migration",
]


@attrs.frozen
class Dialect:
    """What differs between SQL databases, as data.

    ``types`` fills the placeholders of the schema (``{text}``, ``{ts}``,
    ``{bool}``, ``{false}``); ``for_update`` is appended to the reads of a unit
    of work that must lock the rows they return; ``lock`` is the statement that
    takes a named transaction lock (``:name``), or None where units already run
    one at a time; ``claim_lock`` is appended to the claim's SELECT.
    """

    name: str
    types: Mapping[str, str]
    for_update: str = ""
    lock: Optional[str] = None
    claim_lock: str = ""


SQLITE = Dialect(
    "sqlite",
    {"text": "TEXT", "ts": "TEXT", "bool": "INTEGER", "false": "0", "int": "INTEGER"},
)
POSTGRES = Dialect(
    "postgresql",
    {"text": "text", "ts": "timestamptz", "bool": "boolean", "false": "false", "int": "integer"},
    for_update="FOR UPDATE",
    # Transaction-scoped: released at commit or rollback, never leaked by a crash.
    lock="SELECT pg_advisory_xact_lock(hashtext(:name))",
    claim_lock="FOR UPDATE SKIP LOCKED",
)

#: The open statuses as an SQL list; constants of the lifecycle, never user input.
OPEN_STATUSES_SQL = ", ".join(f"'{s.value}'" for s in sorted(OPEN, key=lambda s: s.value))

Fixup = Callable[[Callable[[str, Mapping[str, Any]], List[Any]], Dialect], None]


@attrs.frozen
class Migration:
    """One schema version: an optional data repair, then statements (``;``-separated)."""

    statements: str
    fixup: Optional[Fixup] = None

    def sql(self, dialect: Dialect) -> List[str]:
        """The statements of this version in ``dialect``."""
        text = self.statements.format(**dialect.types, open_statuses=OPEN_STATUSES_SQL)
        return [s.strip() for s in text.split(";") if s.strip()]


_V1 = """
CREATE TABLE settings (key {text} PRIMARY KEY, value {text} NOT NULL);
CREATE TABLE groups (id {text} PRIMARY KEY, name {text} NOT NULL, kind {text} NOT NULL);
CREATE TABLE tenants (
    id {text} PRIMARY KEY, name {text} NOT NULL, plan {text} NOT NULL,
    group_id {text}, tasks {text} NOT NULL DEFAULT '[]'
);
CREATE TABLE sites (
    tenant_id {text} NOT NULL REFERENCES tenants(id), kind {text} NOT NULL,
    version {text} NOT NULL, since {ts} NOT NULL, refreshed_at {ts},
    automatic {bool} NOT NULL DEFAULT {false},
    PRIMARY KEY (tenant_id, kind)
);
CREATE TABLE contacts (
    id {text} PRIMARY KEY, name {text} NOT NULL, email {text} NOT NULL, role {text} NOT NULL,
    zone {text}, tenants {text} NOT NULL
);
CREATE TABLE catalog (version {text} PRIMARY KEY);
CREATE TABLE requests (
    id {text} PRIMARY KEY,
    tenant_id {text} NOT NULL,
    target {text} NOT NULL,
    version {text},
    db_refresh {bool} NOT NULL,
    preferred_start {ts} NOT NULL,
    zone {text} NOT NULL,
    requested_by {text} NOT NULL,
    requested_at {ts} NOT NULL,
    status {text} NOT NULL,
    scheduled_for {ts},
    revision {int} NOT NULL,
    warnings {text} NOT NULL DEFAULT '[]',
    reason {text},
    superseded_by {text},
    idempotency_key {text},
    group_plan_id {text}
);
-- The list and overview: one tenant's requests by status, newest first.
CREATE INDEX requests_tenant ON requests (tenant_id, requested_at DESC, id DESC);
-- The queue: requests of a status, first come first served.
CREATE INDEX requests_queue ON requests (status, requested_at, id);
CREATE UNIQUE INDEX requests_idempotency ON requests (requested_by, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE TABLE history (
    request_id {text} NOT NULL REFERENCES requests(id),
    seq {int} NOT NULL,
    event {text} NOT NULL, actor {text} NOT NULL, by_whom {text} NOT NULL, at {ts} NOT NULL,
    from_status {text}, to_status {text} NOT NULL, reason {text},
    old_date {ts}, new_date {ts},
    PRIMARY KEY (request_id, seq)
);
CREATE TABLE outbox (
    id {text} PRIMARY KEY,
    key {text} NOT NULL UNIQUE,
    kind {text} NOT NULL,
    request_id {text},
    payload {text} NOT NULL,
    created_at {ts} NOT NULL,
    state {text} NOT NULL,
    attempts {int} NOT NULL DEFAULT 0,
    next_attempt_at {ts},
    last_error {text},
    delivered_at {ts}
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at, created_at);
CREATE INDEX outbox_request ON outbox (request_id, created_at)
"""

_V2 = """
ALTER TABLE requests ADD COLUMN automatic {bool} NOT NULL DEFAULT {false};
-- Hosting workers: who holds a request, until when, and how often it was tried.
ALTER TABLE requests ADD COLUMN lease_owner {text};
ALTER TABLE requests ADD COLUMN lease_expires {ts};
ALTER TABLE requests ADD COLUMN attempts {int} NOT NULL DEFAULT 0;
CREATE INDEX requests_due ON requests (status, scheduled_for)
"""

_V3 = """
-- Every write of a tenant checks the revision it was loaded at.
ALTER TABLE tenants ADD COLUMN revision {int} NOT NULL DEFAULT 0;
-- The provider booking a request fills (a tenant's weekly automatic update).
ALTER TABLE requests ADD COLUMN booking {text};
CREATE UNIQUE INDEX requests_booking ON requests (tenant_id, booking)
    WHERE booking IS NOT NULL;
-- R17: one open version update per site, whoever writes and however they race.
CREATE UNIQUE INDEX requests_one_open_version ON requests (tenant_id, target)
    WHERE version IS NOT NULL AND status IN ({open_statuses})
"""


_V4 = """
-- Every change of reference data (siteupdates apply): who, when, before and after.
CREATE TABLE audit (
    seq {int} PRIMARY KEY,
    at {ts} NOT NULL,
    by_whom {text} NOT NULL,
    kind {text} NOT NULL,
    key {text} NOT NULL,
    action {text} NOT NULL,
    before {text},
    after {text}
);
CREATE INDEX audit_key ON audit (kind, key, seq)
"""


def _one_open_version_each(
    q: Callable[[str, Mapping[str, Any]], List[Any]], dialect: Dialect
) -> None:
    """Supersede the duplicates that earlier versions let races write (R17).

    Per site, the update that is already pulled or running stands, else the one
    requested last; the other waiting ones become New Version Requested, with a
    history entry, as if the survivor had superseded them.
    """
    rows = q(
        f"SELECT id, tenant_id, target, status, revision, requested_at FROM requests "
        f"WHERE version IS NOT NULL AND status IN ({OPEN_STATUSES_SQL}) "
        "ORDER BY tenant_id, target",
        {},
    )
    groups: Dict[Tuple[str, str], List[Any]] = {}
    for r in rows:
        groups.setdefault((r["tenant_id"], r["target"]), []).append(r)
    waiting = {s.value for s in WAITING}
    now: Any = datetime.now(timezone.utc)
    if dialect.types["ts"] == "TEXT":
        now = ts(now)
    for (tenant, target), found in groups.items():
        if len(found) < 2:
            continue
        found.sort(key=lambda r: (r["status"] not in waiting, str(r["requested_at"]), r["id"]))
        keep = found[-1]
        for r in found[:-1]:
            if r["status"] not in waiting:
                raise ConfigurationError(
                    f"requests {r['id']} and {keep['id']} are both under way for {tenant} "
                    f"{target}; finish or fail one, then open the storage again"
                )
            reason = f"newer request {keep['id']} kept when upgrading the storage (R17)"
            revision = int(r["revision"]) + 1
            q(
                "UPDATE requests SET status = :status, revision = :revision, reason = :reason, "
                "superseded_by = :keep WHERE id = :id",
                {
                    "status": Status.NEW_VERSION_REQUESTED.value,
                    "revision": revision,
                    "reason": reason,
                    "keep": keep["id"],
                    "id": r["id"],
                },
            )
            q(
                "INSERT INTO history (request_id, seq, event, actor, by_whom, at, from_status, "
                "to_status, reason) VALUES (:id, :seq, :event, 'provider', 'siteupdates', :at, "
                ":from_status, :to_status, :reason)",
                {
                    "id": r["id"],
                    "seq": revision,
                    "event": Event.SUPERSEDE.value,
                    "at": now,
                    "from_status": r["status"],
                    "to_status": Status.NEW_VERSION_REQUESTED.value,
                    "reason": reason,
                },
            )


#: Schema versions; entry N brings version N to N + 1.
MIGRATIONS: Sequence[Migration] = (
    Migration(_V1),
    Migration(_V2),
    Migration(_V3, fixup=_one_open_version_each),
    Migration(_V4),
)
