"""Domain values to plain rows and back, shared by every SQL backend.

Instants travel as fixed-width UTC text (``2015-02-14T07:00:00.000000+00:00``,
years below 1000 zero-padded), so text order is time order; a backend with a
timestamp type converts them in :meth:`~siteupdates.sql.SqlStorage._ts`.
Structured fields travel as JSON.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, time, timezone
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Protocol,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

import attrs

from siteupdates import ports
from siteupdates.domain import (
    Actor,
    Contact,
    Event,
    HistoryEntry,
    ScheduledTask,
    Site,
    Status,
    Target,
    Tenant,
    UpdateRequest,
    Version,
)
from siteupdates.domain.model import advisories
from siteupdates.domain.timeutil import parse_ts, require_zone, ts
from siteupdates.errors import StorageError

if TYPE_CHECKING:
    from siteupdates.ports import AuditEntry, OutboxItem

# Bound once: the decoder builds every request of a read through it.
_trusted_request = UpdateRequest.trusted

__all__ = [
    "AUDIT_COLUMNS",
    "HISTORY_COLUMNS",
    "Instant",
    "OUTBOX_COLUMNS",
    "REQUEST_COLUMNS",
    "Row",
    "SITE_COLUMNS",
    "TENANT_COLUMNS",
    "audit_from",
    "audit_row",
    "contact_from",
    "contact_row",
    "history_from",
    "history_row",
    "history_values",
    "outbox_from",
    "outbox_row",
    "outbox_values",
    "parse_ts",
    "request_from",
    "request_from_values",
    "request_row",
    "request_values",
    "tenant_from",
    "tenant_from_values",
    "tenant_rows",
    "ts",
]

UTC = timezone.utc
F = TypeVar("F", bound=Callable[..., Any])


def _decoding(what: str, key: Union[str, int]) -> Callable[[F], F]:
    """Report a row that cannot be decoded as a StorageError naming it, never a raw error.

    A damaged row stops the read that meets it, not the views of other tenants.
    """

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def run(row: Any, *args: Any) -> Any:
            try:
                return fn(row, *args)
            except StorageError:
                raise
            except Exception as exc:
                try:
                    name = row[key]
                except Exception:
                    name = "?"
                raise StorageError(
                    f"stored {what} {name} cannot be read ({type(exc).__name__}: {exc}); "
                    "repair or remove that row"
                ) from None

        return run  # type: ignore[return-value]

    return wrap


class Row(Protocol):
    """A database row: columns by name (a dict, sqlite3.Row, a psycopg dict row)."""

    def __getitem__(self, key: str, /) -> Any: ...


#: The columns of the ``requests`` table, in the order of :func:`request_values`.
REQUEST_COLUMNS: Tuple[str, ...] = (
    "id", "tenant_id", "target", "version", "db_refresh", "preferred_start", "zone",
    "requested_by", "requested_at", "status", "scheduled_for", "revision", "warnings", "reason",
    "superseded_by", "idempotency_key", "group_plan_id", "automatic", "booking", "resume_status",
)  # fmt: skip

#: Encodes an instant for a driver: :func:`ts` (text) by default.
Instant = Callable[[Any], Any]


def request_values(
    r: UpdateRequest, instant: Instant = ts, flag: Callable[[Any], Any] = bool
) -> Tuple[Any, ...]:
    """The columns of the requests table in :data:`REQUEST_COLUMNS` order, for binding by place.

    ``instant`` encodes the instants (:func:`ts`, or a driver's own conversion);
    an empty one is None without a call. ``flag`` encodes the two yes/no columns:
    ``bool`` for a driver with a boolean type, ``int`` for sqlite3, which stores a
    bool as the integer anyway but first fails to find an adapter for it (a
    raised and cleared error per value, several times the cost of the binding).
    """
    # ``_value_`` rather than ``.value``: the enum property is a Python call per read,
    # and a submit encodes a dozen of them.
    version, resume = r.version, r.resume_status
    return (
        r.id,
        r.tenant_id,
        r.target._value_,
        None if version is None else str(version),
        flag(r.db_refresh),
        instant(r.preferred_start),
        r.zone,
        r.requested_by,
        instant(r.requested_at),
        r.status._value_,
        None if r.scheduled_for is None else instant(r.scheduled_for),
        r.revision,
        json.dumps([str(w) for w in r.warnings]) if r.warnings else "[]",
        r.reason,
        r.superseded_by,
        r.idempotency_key,
        r.group_plan_id,
        flag(r.automatic),
        r.booking,
        None if resume is None else resume._value_,
    )


def request_row(r: UpdateRequest) -> Dict[str, Any]:
    """The columns of the requests table, by name."""
    return dict(zip(REQUEST_COLUMNS, request_values(r)))


_NO_WARNINGS: Tuple[Any, ...] = (None, "[]")
_TARGETS: Dict[Any, Target] = Target._value2member_map_  # type: ignore[assignment]
_STATUSES: Dict[Any, Status] = Status._value2member_map_  # type: ignore[assignment]
# request_from_values reads by position and builds in field order: both are this order.
assert tuple(a.name for a in attrs.fields(UpdateRequest)) == REQUEST_COLUMNS


@_decoding("request", "id")
def request_from(row: Row) -> UpdateRequest:
    """An UpdateRequest from a row of the requests table (columns by name).

    One decoder for both kinds of row: the columns are read in
    :data:`REQUEST_COLUMNS` order and decoded by :func:`request_from_values`.
    """
    return request_from_values([row[c] for c in REQUEST_COLUMNS])


def _instant(value: Any) -> datetime:
    if value.__class__ is datetime and value.tzinfo is UTC:
        return value  # a driver's UTC datetime (PostgreSQL's in a UTC session): as is
    found = parse_ts(value)
    if found is None:
        raise ValueError("an instant the request requires is missing")
    return found


@_decoding("request", 0)
def request_from_values(row: Sequence[Any]) -> UpdateRequest:
    """An UpdateRequest from the values of :data:`REQUEST_COLUMNS`, in that order.

    The row may go on with more columns (a claim's). Each stored value is
    converted once, with the checks of the class's converters (enum members,
    version, zone, instants, warnings), and the value is built without running
    those converters a second time: the result equals ``UpdateRequest(...)`` of
    the same values, and a row that cannot be read is a StorageError naming it.
    """
    warnings = row[12]
    resume = row[19]
    # Stored enum values are the members' own: a dict look-up, parse() for anything else.
    target, status = row[2], row[9]
    return _trusted_request(
        row[0],
        row[1],
        _TARGETS.get(target) or Target.parse(target),
        None if row[3] is None else Version.parse(row[3]),
        bool(row[4]),
        _instant(row[5]),
        require_zone(row[6]),
        row[7],
        _instant(row[8]),
        _STATUSES.get(status) or Status.parse(status),
        parse_ts(row[10]),
        int(row[11]),
        () if warnings in _NO_WARNINGS else advisories(tuple(_json(warnings) or ())),
        row[13],
        row[14],
        row[15],
        row[16],
        bool(row[17]),
        row[18],
        None if resume is None else Status.parse(resume),
    )


def _json(value: Any) -> Any:
    if value is None or not isinstance(value, (str, bytes)):
        return value
    return json.loads(value)


#: The columns of the ``history`` table, in the order of :func:`history_values`.
HISTORY_COLUMNS: Tuple[str, ...] = (
    "request_id", "seq", "event", "actor", "by_whom", "at", "from_status", "to_status",
    "reason", "old_date", "new_date", "overrides",
)  # fmt: skip


def history_values(h: HistoryEntry, instant: Instant = ts) -> Tuple[Any, ...]:
    """The columns of the history table in :data:`HISTORY_COLUMNS` order."""
    source = h.from_status
    return (
        h.request_id,
        h.seq,
        h.event._value_,
        h.actor._value_,
        h.by,
        instant(h.at),
        None if source is None else source._value_,
        h.to_status._value_,
        h.reason,
        None if h.old_date is None else instant(h.old_date),
        None if h.new_date is None else instant(h.new_date),
        json.dumps(list(h.overrides)) if h.overrides else "[]",
    )


def history_row(h: HistoryEntry) -> Dict[str, Any]:
    """The columns of the history table, by name."""
    return dict(zip(HISTORY_COLUMNS, history_values(h)))


@_decoding("history entry of request", "request_id")
def history_from(row: Row) -> HistoryEntry:
    """A HistoryEntry from a row of the history table."""
    at = parse_ts(row["at"])
    assert at is not None
    return HistoryEntry(
        request_id=row["request_id"],
        seq=int(row["seq"]),
        event=Event(row["event"]),
        actor=Actor(row["actor"]),
        by=row["by_whom"],
        at=at,
        from_status=None if row["from_status"] is None else Status(row["from_status"]),
        to_status=Status(row["to_status"]),
        reason=row["reason"],
        old_date=parse_ts(row["old_date"]),
        new_date=parse_ts(row["new_date"]),
        overrides=tuple(_json(row["overrides"]) or ()),
    )


#: The columns of the ``outbox`` table, in the order of :func:`outbox_values`.
OUTBOX_COLUMNS: Tuple[str, ...] = (
    "id", "key", "kind", "request_id", "payload", "created_at", "state", "attempts",
    "next_attempt_at", "last_error", "delivered_at", "lease_owner", "lease_expires", "claims",
)  # fmt: skip

#: ``json.dumps(..., sort_keys=True)`` without building an encoder on every call.
_payload_json = json.JSONEncoder(sort_keys=True).encode


def outbox_values(o: OutboxItem, instant: Instant = ts) -> Tuple[Any, ...]:
    """The columns of the outbox table in :data:`OUTBOX_COLUMNS` order."""
    payload = o.payload
    return (
        o.id,
        o.key,
        o.kind,
        o.request_id,
        _payload_json(payload if type(payload) is dict else dict(payload)),
        instant(o.created_at),
        o.state._value_,
        o.attempts,
        None if o.next_attempt_at is None else instant(o.next_attempt_at),
        o.last_error,
        None if o.delivered_at is None else instant(o.delivered_at),
        o.lease_owner,
        None if o.lease_expires is None else instant(o.lease_expires),
        o.claims,
    )


def outbox_row(o: OutboxItem) -> Dict[str, Any]:
    """The columns of the outbox table, by name."""
    return dict(zip(OUTBOX_COLUMNS, outbox_values(o)))


@_decoding("outbox item", "id")
def outbox_from(row: Row) -> OutboxItem:
    """An OutboxItem from a row of the outbox table."""
    created = parse_ts(row["created_at"])
    assert created is not None
    return ports.OutboxItem(
        id=row["id"],
        key=row["key"],
        kind=row["kind"],
        request_id=row["request_id"],
        payload=_json(row["payload"]),
        created_at=created,
        state=ports.OutboxState(row["state"]),
        attempts=int(row["attempts"]),
        next_attempt_at=parse_ts(row["next_attempt_at"]),
        last_error=row["last_error"],
        delivered_at=parse_ts(row["delivered_at"]),
        lease_owner=row["lease_owner"],
        lease_expires=parse_ts(row["lease_expires"]),
        claims=int(row["claims"]),
    )


def tenant_rows(t: Tenant) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """The tenant's row and its sites' rows."""
    tasks = [
        {
            "name": k.name,
            "at": k.at.strftime("%H:%M"),
            "zone": k.zone,
            "weekday": k.weekday,
            "duration_minutes": k.duration_minutes,
        }
        for k in t.tasks
    ]
    row = {
        "id": t.id,
        "name": t.name,
        "plan": t.plan.value,
        "group_id": t.group_id,
        "tasks": json.dumps(tasks),
        "revision": t.revision,
    }
    sites = [
        {
            "tenant_id": t.id,
            "kind": s.kind.value,
            "version": str(s.version),
            "since": ts(s.since),
            "refreshed_at": ts(s.refreshed_at),
            "automatic": bool(s.automatic),
        }
        for s in t.sites
    ]
    return row, sites


#: The columns of a tenant's row that :func:`tenant_from_values` reads, in its order.
TENANT_COLUMNS: Tuple[str, ...] = ("id", "name", "plan", "group_id", "tasks", "revision")
#: The columns of a site's row that :func:`tenant_from_values` reads, in its order.
SITE_COLUMNS: Tuple[str, ...] = ("kind", "version", "since", "refreshed_at", "automatic")


@_decoding("tenant", "id")
def tenant_from(row: Row, sites: Iterable[Row]) -> Tenant:
    """A Tenant from its row and its sites' rows (columns by name)."""
    return tenant_from_values(
        [row[c] for c in TENANT_COLUMNS], [[s[c] for c in SITE_COLUMNS] for s in sites]
    )


@_decoding("tenant", 0)
def tenant_from_values(row: Sequence[Any], sites: Iterable[Sequence[Any]]) -> Tenant:
    """A Tenant from the values of :data:`TENANT_COLUMNS` and its sites' :data:`SITE_COLUMNS`.

    By place, for a read that takes rows as values; the rows may go on with more columns.
    """
    tasks = _json(row[4])
    return Tenant(
        id=row[0],
        name=row[1],
        plan=row[2],
        group_id=row[3],
        sites=tuple(
            Site(s[0], s[1], parse_ts(s[2]), refreshed_at=parse_ts(s[3]), automatic=bool(s[4]))
            for s in sites
        ),
        tasks=tuple(
            ScheduledTask(
                k["name"],
                time.fromisoformat(k["at"]),
                k["zone"],
                k["weekday"],
                k["duration_minutes"],
            )
            for k in tasks
        )
        if tasks
        else (),
        revision=int(row[5]),
    )


def contact_row(c: Contact) -> Dict[str, Any]:
    """The contact's row (its tenants travel as a JSON list)."""
    return {
        "id": c.id,
        "name": c.name,
        "email": c.email,
        "role": c.role.value,
        "zone": c.zone,
        "tenants": json.dumps(sorted(c.tenants)),
    }


@_decoding("contact", "id")
def contact_from(row: Row) -> Contact:
    """A Contact from its row."""
    return Contact(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        role=row["role"],
        tenants=frozenset(_json(row["tenants"])),
        zone=row["zone"],
    )


#: The columns of the audit table (changes of reference data), in insert order.
AUDIT_COLUMNS: Tuple[str, ...] = (
    "seq", "at", "by_whom", "kind", "key", "action", "before", "after",
)  # fmt: skip


def audit_row(a: AuditEntry) -> Dict[str, Any]:
    """The columns of the audit table (before and after as JSON)."""
    return {
        "seq": a.seq,
        "at": ts(a.at),
        "by_whom": a.by,
        "kind": a.kind,
        "key": a.key,
        "action": a.action,
        "before": None if a.before is None else json.dumps(a.before, sort_keys=True),
        "after": None if a.after is None else json.dumps(a.after, sort_keys=True),
    }


@_decoding("audit entry", "seq")
def audit_from(row: Row) -> AuditEntry:
    """An AuditEntry from a row of the audit table."""
    at = parse_ts(row["at"])
    assert at is not None
    return ports.AuditEntry(
        at=at,
        by=row["by_whom"],
        kind=row["kind"],
        key=row["key"],
        action=row["action"],
        before=_json(row["before"]),
        after=_json(row["after"]),
        seq=int(row["seq"]),
    )
