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

import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import attrs

from siteupdates import ports
from siteupdates.domain import DATED, OPEN, WAITING, Actor, Event, UpdateRequest, apply_event
from siteupdates.ports import Unit

if TYPE_CHECKING:
    from siteupdates.ports import ChangeSet, OutboxItem

__all__ = [
    "MIGRATIONS",
    "OPEN_STATUSES_SQL",
    "POSTGRES",
    "REFERENCE_COUNTED",
    "REFERENCE_TABLES",
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
    one at a time; ``claim_lock`` is appended to the claim's SELECT;
    ``insert_in_with`` allows data-modifying ``WITH`` clauses.
    """

    name: str
    types: Mapping[str, str]
    for_update: str = ""
    lock: Optional[str] = None
    claim_lock: str = ""
    #: Whether ``INSERT`` and ``UPDATE`` may stand in a ``WITH`` clause, so a change
    #: set's request, history and outbox rows go in one statement (one round trip to a
    #: server), and so do an outbox item's settle and its log row.
    insert_in_with: bool = False
    #: ``{id}`` is one of the elements of the JSON list of text ``{list}``: a contact's
    #: tenants joined in the statement that reads the contact, through the key's index.
    in_json_list: str = "{id} IN (SELECT value FROM json_each({list}))"


#: SQLite: text instants, integer booleans; units of work lock by ``BEGIN IMMEDIATE``.
SQLITE = Dialect(
    "sqlite",
    {"text": "TEXT", "ts": "TEXT", "bool": "INTEGER", "false": "0", "int": "INTEGER"},
)
#: PostgreSQL: ``timestamptz``, row locks, advisory locks, ``SKIP LOCKED`` claims.
POSTGRES = Dialect(
    "postgresql",
    {"text": "text", "ts": "timestamptz", "bool": "boolean", "false": "false", "int": "integer"},
    for_update="FOR UPDATE",
    # Transaction-scoped: released at commit or rollback, never leaked by a crash.
    lock="SELECT pg_advisory_xact_lock(hashtext(:name))",
    claim_lock="FOR UPDATE SKIP LOCKED",
    insert_in_with=True,
    # = ANY(ARRAY(...)), not a join on the set-returning function: its guess of 100
    # elements would have the planner scan every tenant and site.
    in_json_list="{id} = ANY(ARRAY(SELECT json_array_elements_text({list}::json)))",
)

#: The open statuses as an SQL list; constants of the lifecycle, never user input.
OPEN_STATUSES_SQL = ", ".join(f"'{s.value}'" for s in sorted(OPEN, key=lambda s: s.value))

#: A data repair: runs on the migrating unit of work once every pending version's
#: statements have run (so on the newest schema, with today's code), and before
#: any pending version's ``after`` statements (the constraints it makes true).
Fixup = Callable[[Unit], None]


@attrs.frozen
class Migration:
    """One schema version: statements, an optional data repair, then ``after`` statements.

    Statements are ``;``-separated and written with the dialect's placeholders.
    """

    statements: str
    fixup: Optional[Fixup] = None
    after: str = ""
    #: Statements one dialect runs as written, after ``statements`` (trigger bodies
    #: hold ``;``, so they cannot be split like the rest), by :attr:`Dialect.name`.
    verbatim: Mapping[str, Tuple[str, ...]] = attrs.field(factory=dict)

    def sql(self, dialect: Dialect) -> List[str]:
        """The statements that run before the repair, in ``dialect``."""
        return _split(self.statements, dialect) + list(self.verbatim.get(dialect.name, ()))

    def sql_after(self, dialect: Dialect) -> List[str]:
        """The statements that run after the repair, in ``dialect``."""
        return _split(self.after, dialect)


def _split(text: str, dialect: Dialect) -> List[str]:
    filled = text.format(**dialect.types, open_statuses=OPEN_STATUSES_SQL)
    return [s.strip() for s in filled.split(";") if s.strip()]


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
    WHERE booking IS NOT NULL
"""

_V3_AFTER = """
-- R17: one open version update per site, whoever writes and however they race.
CREATE UNIQUE INDEX requests_one_open_version ON requests (tenant_id, target)
    WHERE version IS NOT NULL AND status IN ({open_statuses})
"""

_V4 = """
-- Deliverers claim outbox items before sending: who, until when, how often (the fence).
ALTER TABLE outbox ADD COLUMN lease_owner {text};
ALTER TABLE outbox ADD COLUMN lease_expires {ts};
ALTER TABLE outbox ADD COLUMN claims {int} NOT NULL DEFAULT 0;
-- Each item's own history: delivered, failed, dead, requeued, withdrawn.
CREATE TABLE outbox_log (
    outbox_id {text} NOT NULL REFERENCES outbox(id),
    seq {int} NOT NULL,
    at {ts} NOT NULL,
    event {text} NOT NULL,
    by_whom {text} NOT NULL,
    detail {text},
    PRIMARY KEY (outbox_id, seq)
)
"""

_V6 = """
-- Hosting workers claim through two partial indexes: due Scheduled requests in
-- claim order (scheduled_for, requested_at, id), and the requests in work by
-- lease expiry (only the expired few are sorted). They replace requests_due,
-- with which a claim sorted every due row. The leading status column makes
-- SQLite prefer them to requests_queue.
CREATE INDEX requests_claim_due ON requests (status, scheduled_for, requested_at, id)
    WHERE status = 'scheduled';
CREATE INDEX requests_claim_expired ON requests (status, lease_expires)
    WHERE status IN ('not-started', 'in-progress');
DROP INDEX requests_due
"""


_V7 = """
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

_V8 = """
-- One counter of every change of the reference data a submit reads (contacts,
-- tenants, sites, catalog), bumped by triggers in the writing transaction, so a
-- process may keep those rows in memory while the counter it read stays the same.
CREATE TABLE reference_version (n {int} NOT NULL);
INSERT INTO reference_version (n) VALUES (0)
"""

# PostgreSQL only: the two claim indexes without the status column that their
# predicates fix already. Every claim descends both, and a text key is compared
# through the database's collation where a timestamp is one integer compare: the
# expired part becomes one descent on ``lease_expires`` instead of one per status,
# the due part's key is the claim order alone, and each claim's UPDATE inserts a
# smaller key into the expired index (about 6% of a claim's server instructions,
# counted with valgrind; benchmarks/RESULTS.md). SQLite keeps the leading status column,
# which makes its planner prefer these indexes to requests_queue (version 6): its
# step is empty.
_V9_POSTGRES = (
    "DROP INDEX requests_claim_expired",
    "CREATE INDEX requests_claim_expired ON requests (lease_expires) "
    "WHERE status IN ('not-started', 'in-progress')",
    "DROP INDEX requests_claim_due",
    "CREATE INDEX requests_claim_due ON requests (scheduled_for, requested_at, id) "
    "WHERE status = 'scheduled'",
)

#: The tables whose every change bumps ``reference_version``.
REFERENCE_TABLES: Tuple[str, ...] = ("contacts", "tenants", "sites", "catalog")


def _sqlite_bumps() -> Tuple[str, ...]:
    return tuple(
        f"CREATE TRIGGER reference_{table}_{op.lower()} AFTER {op} ON {table} "
        "BEGIN UPDATE reference_version SET n = n + 1; END"
        for table in REFERENCE_TABLES
        for op in ("INSERT", "UPDATE", "DELETE")
    )


# BEFORE and per statement: a writer takes the counter's row lock before any row
# lock of the statement, so two writers of reference data always lock in the same
# order (no deadlock between them). The function's search_path is the schema's,
# whoever writes.
_POSTGRES_BUMPS = (
    "CREATE FUNCTION reference_bump() RETURNS trigger LANGUAGE plpgsql "
    "SET search_path FROM CURRENT AS $$ BEGIN "
    "UPDATE reference_version SET n = n + 1; RETURN NULL; END $$",
    *(
        f"CREATE TRIGGER reference_{table} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
        f"ON {table} FOR EACH STATEMENT EXECUTE PROCEDURE reference_bump()"
        for table in REFERENCE_TABLES
    ),
)

#: The dialects whose schema keeps ``reference_version`` (their storages may cache).
REFERENCE_COUNTED = frozenset({SQLITE.name, POSTGRES.name})

_REPAIRER = "siteupdates upgrade"


def _survivor(found: Sequence[UpdateRequest]) -> UpdateRequest:
    """The one open version update of a site that stands, in R17's order.

    Work already begun stands (the earliest requested, if several began);
    otherwise the newest version of the release line asked for last.
    """
    begun = [r for r in found if r.status not in WAITING]
    if begun:
        return min(begun, key=lambda r: (r.requested_at, r.id))
    line = max(found, key=lambda r: (r.requested_at, r.id)).version
    assert line is not None
    same = [r for r in found if r.version is not None and r.version.line == line.line]
    return max(same, key=lambda r: (r.version, r.requested_at, r.id))


def _one_open_version_each(uow: Unit) -> None:
    """End the extra open version updates that earlier releases let races write (R17).

    Per site one stands (:func:`_survivor`). An older waiting version of its line
    becomes New Version Requested, as if the survivor had superseded it; anything
    else (another line, work already begun, a newer version queued behind an
    update under way) becomes Unable to Complete with a reason the contact can
    read. Each gets a history entry and a notice through the outbox, as any change.
    """
    import uuid

    from siteupdates.domain.messages import messages_for

    rows = uow.requests_in(tuple(OPEN), limit=10_000_000)
    sites: Dict[Tuple[str, str], List[UpdateRequest]] = {}
    for r in rows:
        if r.version is not None:
            sites.setdefault((r.tenant_id, r.target.value), []).append(r)
    now = datetime.now(timezone.utc)
    provider = uow.settings().get("provider") or {}
    zone = str(provider.get("default_zone") or "UTC")
    length = timedelta(minutes=int(provider.get("update_duration_minutes") or 120))
    parts: List[ChangeSet] = []
    for (tenant_id, _), found in sorted(sites.items()):
        if len(found) < 2:
            continue
        keep = _survivor(found)
        tenant = uow.tenant(tenant_id)
        for r in found:
            if r.id == keep.id:
                continue
            assert r.version is not None and keep.version is not None
            if (
                r.status in WAITING
                and keep.status in WAITING
                and r.version.line == keep.version.line
                and r.version <= keep.version
            ):
                event, reason = (
                    Event.SUPERSEDE,
                    (f"newer version {keep.version} requested in request {keep.short_id}"),
                )
            else:
                event, reason = (
                    Event.FAIL,
                    (
                        f"request {keep.short_id} for {keep.version} is open for the same site, "
                        "and a site has one open version update at a time; ask again once it "
                        "has finished"
                    ),
                )
            new, entry = apply_event(
                r, event, actor=Actor.PROVIDER, by=_REPAIRER, at=now, reason=reason
            )
            if event is Event.SUPERSEDE:
                new = attrs.evolve(new, superseded_by=keep.id)
            outbox: List[OutboxItem] = []
            requester = uow.contact(r.requested_by)
            if tenant is not None:
                audience = [requester] if requester else uow.contacts_of(tenant_id)
                notices, _ = messages_for(
                    new, entry, tenant, audience, default_zone=zone,
                    duration=length, per_recipient_keys=requester is None,
                )  # fmt: skip
                outbox = [
                    ports.OutboxItem(
                        f"{time.time_ns():016x}{uuid.uuid4().hex[:16]}",
                        n.key,
                        "notice",
                        r.id,
                        n.to_payload(),
                        now,
                    )
                    for n in notices
                ]
            parts.append(
                ports.ChangeSet(
                    updates=((new, r.revision),), history=(entry,), outbox=tuple(outbox)
                )
            )
    if parts:
        uow.apply(ports.ChangeSet.concat(parts))


#: The statuses that hold a provider date, as an SQL list (constants of the lifecycle).
_DATED_SQL = ", ".join(f"'{s.value}'" for s in sorted(DATED, key=lambda s: s.value))

_V5 = (
    """
-- While Pending Input: the status an answer returns the request to (lifecycle).
ALTER TABLE requests ADD COLUMN resume_status {text};
-- Questions asked before: a request with a date returns Scheduled, one without queued.
UPDATE requests SET resume_status = 'scheduled'
    WHERE status = 'pending-input' AND scheduled_for IS NOT NULL;
UPDATE requests SET resume_status = 'to-be-scheduled'
    WHERE status = 'pending-input' AND scheduled_for IS NULL;
-- A provider date exists exactly in the statuses that have one (the history keeps the rest).
UPDATE requests SET scheduled_for = NULL
    WHERE scheduled_for IS NOT NULL AND status NOT IN ('pending-input', """
    + _DATED_SQL
    + """);
-- The rules a provider overrode to accept a request, in its history.
ALTER TABLE history ADD COLUMN overrides {text} NOT NULL DEFAULT '[]'
"""
)

#: Schema versions; entry N brings version N to N + 1.
MIGRATIONS: Sequence[Migration] = (
    Migration(_V1),
    Migration(_V2),
    Migration(_V3, fixup=_one_open_version_each, after=_V3_AFTER),
    Migration(_V4),
    Migration(_V5),
    Migration(_V6),
    Migration(_V7),
    Migration(_V8, verbatim={SQLITE.name: _sqlite_bumps(), POSTGRES.name: _POSTGRES_BUMPS}),
    Migration("", verbatim={POSTGRES.name: _V9_POSTGRES}),
)
