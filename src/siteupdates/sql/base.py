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
import functools
import json
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    Type,
    TypeVar,
)

import attrs

from siteupdates import ports
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
from siteupdates.ports import COUNT_CAP, Page, Reads, Storage, Unit

from . import codec
from .schema import MIGRATIONS, OPEN_STATUSES_SQL, REFERENCE_COUNTED, Dialect

if TYPE_CHECKING:
    from siteupdates.ports import (
        AuditEntry,
        ChangeSet,
        Claim,
        Fence,
        Lease,
        OutboxEvent,
        OutboxItem,
        OutboxState,
        ReferenceChange,
        Setup,
    )

__all__ = [
    "CLAIM_DUE_WHERE",
    "CLAIM_EXPIRED_WHERE",
    "CLAIM_ORDER",
    "CLAIM_WHERE",
    "OUTBOX_DUE",
    "Cursor",
    "SqlReads",
    "SqlStorage",
    "SqlUnit",
    "run_migrations",
]


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


#: The columns of a contact joined with their tenants and the tenants' sites.
_CONTACT_TENANT_COLUMNS = (
    "c.id AS c_id, c.name AS c_name, c.email AS c_email, c.role AS c_role, c.zone AS c_zone, "
    "c.tenants AS c_tenants, t.id, t.name, t.plan, t.group_id, t.tasks, t.revision, s.kind, "
    "s.version, s.since, s.refreshed_at, s.automatic"
)
#: A request's columns in the gadget's statement (``r_`` + the column: a tenant has an ``id``).
_R_COLUMNS = tuple(f"r_{c}" for c in codec.REQUEST_COLUMNS)
#: Where they start in its rows: after ``part`` and the contact's, tenant's and site's.
_R_AT = 1 + _CONTACT_TENANT_COLUMNS.count(",") + 1
assert _R_AT == 18
#: Where the reference version is: after the request's columns.
_VERSION_AT = _R_AT + len(codec.REQUEST_COLUMNS)


def _newest_first(r: UpdateRequest) -> Tuple[datetime, str]:
    return r.requested_at, r.id


@functools.lru_cache(maxsize=16)
def _contact_tenants_requests_sql(in_json_list: str, statuses: str, counted: bool) -> str:
    """The gadget's statement: the contact's tenants and sites, the shown tenant's requests.

    ``in_json_list`` is the dialect's (:class:`Dialect`). The first part is
    :meth:`SqlReads.contact_tenants`' join, a row per site (``part`` 0), with
    the ``reference_version`` its rows were read at when the schema keeps one
    (``counted``); the second the requests in ``statuses`` (an SQL list of the
    lifecycle's literals) of the shown tenant (``part`` 1), newest first through
    the ``requests_tenant`` index, at most 1000. The shown tenant is picked
    among the tenants the contact names that are stored: ``:tenant`` when it
    is one, else (``:tenant`` NULL) the only one. No ORDER BY over the whole:
    the reader groups and orders the few rows itself, and the server sorts
    nothing.
    """
    theirs = in_json_list.format(id="t.id", list="c.tenants")
    wanted = "CAST(:tenant AS TEXT)"
    blanks = ", ".join("NULL" for _ in range(_R_AT - 1))
    version = "(SELECT n FROM reference_version)" if counted else "NULL"
    return (
        f"SELECT 0 AS part, {_CONTACT_TENANT_COLUMNS}, "
        + ", ".join(f"NULL AS {c}" for c in _R_COLUMNS)
        + f", {version} AS reference_version"
        f" FROM contacts c LEFT JOIN tenants t ON {theirs} "
        "LEFT JOIN sites s ON s.tenant_id = t.id WHERE c.id = :id "
        f"UNION ALL SELECT 1, {blanks}, {', '.join(codec.REQUEST_COLUMNS)}, NULL FROM ("
        f"SELECT * FROM requests WHERE status IN ({statuses}) AND tenant_id = ("
        f"SELECT CASE WHEN {wanted} IS NOT NULL OR count(*) = 1 THEN "
        f"max(CASE WHEN {wanted} IS NULL OR t.id = {wanted} THEN t.id END) END "
        f"FROM contacts c JOIN tenants t ON {theirs} WHERE c.id = :id) "
        "ORDER BY requested_at DESC, id DESC LIMIT 1000) r"
    )


@functools.lru_cache(maxsize=16)
def _status_words(statuses: Tuple[Status, ...]) -> str:
    """``statuses`` as an SQL list of their values: enum members, never user input."""
    return ", ".join(f"'{s.value}'" for s in sorted({Status(s) for s in statuses}))


def _values(row: Any) -> Sequence[Any]:
    """A row's values in column order: a mapping's values, else the row (it indexes by place)."""
    return tuple(row.values()) if isinstance(row, dict) else row


def _contact_tenants_from(rows: Sequence[Any]) -> Optional[Tuple[Contact, List[Tenant]]]:
    """The contact and their tenants from rows of :data:`_CONTACT_TENANT_COLUMNS` (by tenant)."""
    if not rows:
        return None
    first = rows[0]
    who = codec.contact_from(
        {"id": first["c_id"], "name": first["c_name"], "email": first["c_email"],
         "role": first["c_role"], "zone": first["c_zone"], "tenants": first["c_tenants"]}
    )  # fmt: skip
    by_id: Dict[str, List[Any]] = {}
    for r in rows:
        if r["id"] is not None:  # a tenant the contact names but no longer stored
            by_id.setdefault(r["id"], []).append(r)
    return who, [
        codec.tenant_from(found[0], [r for r in found if r["kind"] is not None])
        for found in by_id.values()
    ]


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


def _qmark(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


#: The inserts of a change set, by table: the columns, the statement with ``:name``
#: parameters and the one with ``?`` (for drivers that bind tuples, see SqlStorage.qmark).
_INSERTS: Dict[str, Tuple[Tuple[str, ...], str, str]] = {
    "requests": (_REQ, _INSERT_REQUEST, _qmark("requests", _REQ)),
    "history": (codec.HISTORY_COLUMNS, _INSERT_HISTORY, _qmark("history", codec.HISTORY_COLUMNS)),
    "outbox": (codec.OUTBOX_COLUMNS, _INSERT_OUTBOX, _qmark("outbox", codec.OUTBOX_COLUMNS)),
}
_TENANT_COLUMNS = "id, name, plan, group_id, tasks, revision"
#: Claimable rows come in two parts, each read through its own partial index in
#: claim order, so a claim reads a few index entries whatever the backlog (an OR
#: of the two keeps databases off both indexes and sorts every due row).
#: First, requests whose worker's lease expired (their work had begun), through
#: ``requests_claim_expired``:
CLAIM_EXPIRED_WHERE = "status IN ('not-started', 'in-progress') AND lease_expires < :now"
#: then due Scheduled requests that no live lease holds, through ``requests_claim_due``
#: (whose key is the claim order):
CLAIM_DUE_WHERE = (
    "status = 'scheduled' AND scheduled_for <= :now "
    "AND (lease_expires IS NULL OR lease_expires < :now)"
)
#: Outbox items a deliverer may claim: pending, due, and held by no live lease.
OUTBOX_DUE = (
    "state = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= :now) "
    "AND (lease_expires IS NULL OR lease_expires < :now)"
)
_SETTLE_OUTBOX = (
    "UPDATE outbox SET state = :state, attempts = :attempts, "
    "next_attempt_at = :next_attempt_at, last_error = :last_error, "
    "delivered_at = :delivered_at, lease_owner = NULL, lease_expires = NULL "
    "WHERE id = :id AND state = 'pending' AND lease_owner = :lease_owner AND claims = :claims"
)
#: The settle and its log row in one statement, where UPDATE may stand in WITH: the
#: log row is written only when the fenced UPDATE found the claim (one round trip).
_SETTLE_AND_LOG_OUTBOX = (
    f"WITH settled AS ({_SETTLE_OUTBOX} RETURNING id) "
    "INSERT INTO outbox_log (outbox_id, seq, at, event, by_whom, detail) "
    "SELECT settled.id, coalesce((SELECT max(seq) FROM outbox_log "
    "WHERE outbox_id = settled.id), 0) + 1, :at, :event, :by, :detail FROM settled"
)
#: IDs per claim UPDATE (below SQLite's oldest limit of 999 parameters).
_CLAIM_CHUNK = 500
_LOG_OUTBOX = (
    "INSERT INTO outbox_log (outbox_id, seq, at, event, by_whom, detail) "
    "SELECT :id, coalesce(max(seq), 0) + 1, :at, :event, :by, :detail "
    "FROM outbox_log WHERE outbox_id = :id"
)
#: The order within each part (see Storage.claim).
CLAIM_ORDER = "scheduled_for, requested_at, id"
#: Every claimable row, as one condition: for reading, not for claiming.
CLAIM_WHERE = f"({CLAIM_DUE_WHERE}) OR ({CLAIM_EXPIRED_WHERE})"
#: Which unique index guards which invariant, for the message of a ConflictError.
#: PostgreSQL names the index; SQLite names its columns.
_INVARIANTS = {
    ("requests_one_open_version", "requests.tenant_id, requests.target"): "another open "
    "version update of this site exists (R17: one open version update per site)",
    ("requests_booking", "requests.tenant_id, requests.booking"): "another request holds "
    "this booking already",
}


_R = TypeVar("_R")


@functools.lru_cache(maxsize=64)
def _together(shape: Tuple[int, ...]) -> str:
    """The inserts of one request's rows as one statement: ``shape`` counts each table's rows.

    Tables in :func:`SqlUnit._insert_together`'s order, the last one the
    statement's own ``INSERT``, the others ``WITH`` clauses; parameters are
    ``:p{table}r{row}{column}``.
    """
    tables = (("requests", _REQ), ("history", codec.HISTORY_COLUMNS),
              ("outbox", codec.OUTBOX_COLUMNS))  # fmt: skip
    inserts = []
    for p, count in enumerate(shape):
        table, columns = tables[p]
        rows = ", ".join(
            "(" + ", ".join(f":p{p}r{i}{c}" for c in columns) + ")" for i in range(count)
        )
        inserts.append(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {rows}")
    *first, last = inserts
    clauses = ", ".join(f"w{p} AS ({text})" for p, text in enumerate(first))
    return f"WITH {clauses} {last}" if first else last


#: The reference counter (see :class:`_Reference`).
_COUNTER = "SELECT n FROM reference_version"


@attrs.define
class _Reference:
    """Reference rows decoded once, valid while ``reference_version`` reads ``version``.

    Triggers bump the counter in every transaction that writes contacts,
    tenants, sites or the catalog, so the rows of one counter value are the
    rows any read would find at that value.
    """

    version: int
    contacts: Dict[str, Contact] = attrs.field(factory=dict)
    tenants: Dict[str, Tenant] = attrs.field(factory=dict)
    catalog: Optional[Catalog] = None


class SqlReads(Reads):
    """The reads of :class:`~siteupdates.ports.Reads`, written once over :meth:`_fetch`."""

    #: Appended to a unit's read of one request (``FOR UPDATE``); empty outside units.
    #: Only that read locks: tenant-wide decisions are serialised by the unit's named
    #: lock (``Unit.lock``) and guarded by unique indexes and revisions, so units
    #: never hold row locks in an order that could deadlock.
    _lock_rows: str = ""
    #: The database's SQL differences (a unit's are its storage's).
    dialect: Dialect

    @abc.abstractmethod
    def _fetch(self, sql: str, params: Mapping[str, Any] = {}) -> List[Any]:
        """The rows of one statement written with ``:name`` parameters."""

    @abc.abstractmethod
    def _ts(self, value: Optional[datetime]) -> Any:
        """An instant as the driver stores it."""

    def _fetch_values(self, sql: str, params: Mapping[str, Any] = {}) -> List[Sequence[Any]]:
        """The rows of one statement as values in its columns' order (see :meth:`_fetch`).

        For a read of many columns on a hot path: a backend may skip naming them.
        """
        return [_values(r) for r in self._fetch(sql, params)]

    def settings(self) -> Dict[str, Any]:
        """The stored settings."""
        return {r["key"]: json.loads(r["value"]) for r in self._fetch("SELECT * FROM settings")}

    def _tenants_where(self, where: str, params: Mapping[str, Any]) -> List[Tenant]:
        rows = self._fetch(
            f"SELECT {_TENANT_COLUMNS} FROM tenants {where} ORDER BY id",
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
        """The tenant with its sites (one statement), or None."""
        found = self.tenants_by_id([tenant_id])
        return found[0] if found else None

    def tenants(self) -> List[Tenant]:
        """Every tenant by ID."""
        return self._tenants_where("", {})

    def tenants_by_id(self, tenant_ids: Sequence[str]) -> List[Tenant]:
        """The tenants with these IDs and their sites: one statement however many."""
        if not tenant_ids:
            return []
        marks, params = _in("id", sorted(set(tenant_ids)))
        rows = self._fetch(
            "SELECT t.id, t.name, t.plan, t.group_id, t.tasks, t.revision, s.kind, s.version, "
            "s.since, s.refreshed_at, s.automatic FROM tenants t "
            f"LEFT JOIN sites s ON s.tenant_id = t.id WHERE t.id IN ({marks}) ORDER BY t.id",
            params,
        )
        by_id: Dict[str, List[Any]] = {}
        for r in rows:
            by_id.setdefault(r["id"], []).append(r)
        return [
            codec.tenant_from(found[0], [r for r in found if r["kind"] is not None])
            for found in by_id.values()
        ]

    def contact_tenants(self, contact_id: str) -> Optional[Tuple[Contact, List[Tenant]]]:
        """The contact and their tenants with their sites: one statement, or None."""
        theirs = self.dialect.in_json_list.format(id="t.id", list="c.tenants")
        rows = self._fetch(
            f"SELECT {_CONTACT_TENANT_COLUMNS} FROM contacts c LEFT JOIN tenants t ON {theirs} "
            "LEFT JOIN sites s ON s.tenant_id = t.id WHERE c.id = :id ORDER BY t.id",
            {"id": contact_id},
        )
        return _contact_tenants_from(rows)

    def contact_tenants_requests(
        self, contact_id: str, tenant_id: Optional[str], statuses: Sequence[Status]
    ) -> Optional[Tuple[Contact, List[Tenant], List[UpdateRequest]]]:
        """The contact, their tenants with their sites and the shown tenant's requests.

        One statement (the gadget's, on every home page): the rows of
        :meth:`contact_tenants`, then those of the shown tenant's requests, told
        apart by ``part``. Which tenant is shown is decided in the statement, on
        the tenants it joined, as the port says: ``tenant_id`` if it is one of
        theirs, else their only one; no request of another tenant is read (R22).
        """
        if not statuses:
            both = self.contact_tenants(contact_id)
            return None if both is None else (both[0], both[1], [])
        # The statuses are members of the lifecycle's enum, written as literals (like
        # OPEN_STATUSES_SQL): two parameters to bind, not one per status.
        words = _status_words(tuple(statuses))
        counted = self.dialect.name in REFERENCE_COUNTED
        rows = self._fetch_values(
            _contact_tenants_requests_sql(self.dialect.in_json_list, words, counted),
            {"id": contact_id, "tenant": tenant_id},
        )
        # By place (see the statement): part, the contact (6), the tenant (6), the
        # site (5), the request (20), the reference version; in no order.
        first = next((r for r in rows if not r[0]), None)
        if first is None:
            return None
        # Decoded once per reference version: the rows of one value are the rows
        # any read finds at that value (SqlUnit's copies, shared with them).
        copies = self._copies(first[_VERSION_AT])
        cid = first[1]
        who = copies.contacts.get(cid) if copies is not None else None
        if who is None:
            who = codec.contact_from(
                {"id": cid, "name": first[2], "email": first[3], "role": first[4],
                 "zone": first[5], "tenants": first[6]}
            )  # fmt: skip
            if copies is not None:
                copies.contacts[cid] = who
        by_id: Dict[str, List[Sequence[Any]]] = {}
        requests: List[UpdateRequest] = []
        for r in rows:
            if r[0]:
                requests.append(codec.request_from_values(r[_R_AT:]))
            elif r[7] is not None:  # else a tenant the contact names but no longer stored
                by_id.setdefault(r[7], []).append(r)
        tenants: List[Tenant] = []
        for tid in sorted(by_id):
            tenant = copies.tenants.get(tid) if copies is not None else None
            if tenant is None:
                found = by_id[tid]
                sites = [r[13:] for r in found if r[13] is not None]
                tenant = codec.tenant_from_values(found[0][7:], sites)
                if copies is not None:
                    copies.tenants[tid] = tenant
            tenants.append(tenant)
        if len(requests) > 1:
            requests.sort(key=_newest_first, reverse=True)
        return who, tenants, requests

    def _copies(self, version: Any) -> Optional[_Reference]:
        """The decoded reference rows valid at ``version`` to use and add to, or None.

        None here (a unit keeps its own, see :class:`SqlUnit`); the storage shares
        one set with its units.
        """
        return None

    def has_tenants(self) -> bool:
        """Whether any tenant is stored: one index look, whatever their number."""
        return bool(self._fetch("SELECT 1 FROM tenants LIMIT 1"))

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

    def request_ids(
        self, prefix: str, *, limit: int = 2, tenants: Optional[Sequence[str]] = None
    ) -> List[str]:
        """IDs starting with ``prefix``, through the primary key (a range, not LIKE)."""
        if not prefix or not prefix.isascii() or not prefix.isprintable():
            return []
        if tenants is not None and not tenants:
            return []
        # The successor of the prefix bounds the range; printable ASCII has one.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        params: Dict[str, Any] = {"lo": prefix, "hi": upper, "limit": limit}
        scope = ""
        if tenants is not None:
            marks, more = _in("t", list(tenants))
            scope = f" AND tenant_id IN ({marks})"
            params.update(more)
        rows = self._fetch(
            f"SELECT id FROM requests WHERE id >= :lo AND id < :hi{scope} ORDER BY id "
            "LIMIT :limit",
            params,
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
    ) -> Page[UpdateRequest]:
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

    def tenant_requests(
        self, tenant_id: str, statuses: Sequence[Status], *, limit: int = 1000
    ) -> List[UpdateRequest]:
        """A tenant's requests in ``statuses``, newest first: one statement, no count."""
        if not statuses:
            return []
        marks, named = _in("s", [s.value for s in statuses])
        params: Dict[str, Any] = dict(named)
        params.update({"tenant": tenant_id, "limit": limit})
        rows = self._fetch(
            f"SELECT * FROM requests WHERE tenant_id = :tenant AND status IN ({marks}) "
            "ORDER BY requested_at DESC, id DESC LIMIT :limit",
            params,
        )
        return [codec.request_from(r) for r in rows]

    def open_version_updates(self, tenant_id: str, target: Target) -> List[UpdateRequest]:
        """Through the partial unique index that keeps them at one (R17)."""
        rows = self._fetch(
            "SELECT * FROM requests WHERE tenant_id = :tenant AND target = :target "
            f"AND version IS NOT NULL AND status IN ({OPEN_STATUSES_SQL}) "
            "ORDER BY requested_at, id",
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

    def page_in(
        self,
        statuses: Sequence[Status],
        *,
        offset: int = 0,
        limit: int = 1000,
        after: Optional[str] = None,
    ) -> Page[UpdateRequest]:
        """One page of the queue through ``requests_queue``; counted only up to COUNT_CAP.

        One row past the page says whether more follow; when some do, the list
        is counted with a bounded scan of the index (``exact`` false beyond the
        cap), so the page costs the same whatever the queue's length.
        """
        if not statuses:
            return Page((), 0, offset, limit, more=False)
        marks, named = _in("s", [s.value for s in statuses])
        params: Dict[str, Any] = dict(named)
        keyset = ""
        if after is not None:
            keyset = (
                " AND (requested_at, id) > "
                "(SELECT requested_at, id FROM requests WHERE id = :after)"
            )
            params["after"] = after
        rows = self._fetch(
            f"SELECT * FROM requests WHERE status IN ({marks}){keyset} "
            "ORDER BY requested_at, id LIMIT :limit OFFSET :offset",
            {**params, "limit": limit + 1, "offset": offset},
        )
        more = len(rows) > limit
        items = tuple(codec.request_from(r) for r in rows[:limit])
        if after is None and not more and (items or not offset):
            return Page(items, offset + len(items), offset, limit, more=False)
        params.pop("after", None)
        params["cap"] = COUNT_CAP + 1
        counted = self._fetch(
            f"SELECT count(*) AS n FROM (SELECT 1 FROM requests WHERE status IN ({marks}) "
            "LIMIT :cap) capped",
            params,
        )
        n = int(counted[0]["n"])
        exact = n <= COUNT_CAP
        return Page(items, n if exact else COUNT_CAP, offset, limit, more=more, exact=exact)

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
            f"SELECT * FROM outbox WHERE {OUTBOX_DUE} ORDER BY created_at, id LIMIT :limit",
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

    def outbox_page(
        self,
        *,
        request_id: Optional[str] = None,
        state: Optional[OutboxState] = None,
        offset: int = 0,
        limit: int = 100,
    ) -> Page[OutboxItem]:
        """One page of the outbox, oldest first, paged in the database, and its total."""
        where: List[str] = []
        params: Dict[str, Any] = {"limit": limit, "offset": offset}
        if request_id is not None:
            where.append("request_id = :rid")
            params["rid"] = request_id
        if state is not None:
            where.append("state = :state")
            params["state"] = state.value
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        total = self._fetch(f"SELECT COUNT(*) AS n FROM outbox {clause}", params)[0]["n"]
        rows = self._fetch(
            f"SELECT * FROM outbox {clause} ORDER BY created_at, id LIMIT :limit OFFSET :offset",
            params,
        )
        return Page(tuple(codec.outbox_from(r) for r in rows), int(total), offset, limit)

    def outbox_item(self, item_id: str) -> Optional[OutboxItem]:
        """The outbox item with ``item_id``, or None."""
        rows = self._fetch("SELECT * FROM outbox WHERE id = :id", {"id": item_id})
        return codec.outbox_from(rows[0]) if rows else None

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
        return ports.Lease(rows[0]["lease_owner"], expires, int(rows[0]["attempts"]))


class SqlUnit(SqlReads, Unit):
    """A unit of work on one open transaction of a :class:`SqlStorage`.

    Its reads of a contact, a tenant and the catalog come from the storage's
    decoded copies when ``reference_version`` (read once, in this transaction)
    still holds the value they were read at; what it reads anew is offered to
    the storage when the transaction commits, never before.
    """

    def __init__(self, storage: SqlStorage, cursor: Cursor) -> None:
        self._storage = storage
        self._cur = cursor
        self._lock_rows = storage.dialect.for_update
        self.dialect = storage.dialect
        #: The shared copies valid in this transaction (None: counter not read yet).
        self._seen: Optional[_Reference] = None
        #: What this transaction decoded, at the counter it read.
        self._fresh: Optional[_Reference] = None
        #: Off once the unit writes reference data (it reads its own writes).
        self._cached = storage.dialect.name in REFERENCE_COUNTED
        #: How rows encode instants: the codec's text, unless the backend converts them.
        self._instant: codec.Instant = (
            codec.ts if type(storage)._ts is SqlStorage._ts else storage._ts
        )
        self._qmark = storage.qmark
        #: How the yes/no columns bind (:func:`codec.request_values`).
        self._flag: Callable[[Any], Any] = (
            int if storage.dialect.types.get("bool") == "INTEGER" else bool
        )

    def _reference(self) -> Optional[_Reference]:
        """The copies valid in this transaction (counter read on first use); None when off."""
        if not self._cached:
            return None
        if self._fresh is None:
            n = int(self._fetch(_COUNTER)[0]["n"])
            shared = self._storage._shared_reference
            self._seen = shared if shared is not None and shared.version == n else None
            self._fresh = _Reference(n)
        return self._fresh

    def _uncached(self) -> None:
        """Reference data is written in this unit: read it from the tables from now on."""
        self._cached = False
        self._fresh = self._seen = None

    def contact(self, contact_id: str) -> Optional[Contact]:
        """The contact, or None (decoded copy while the reference counter holds)."""
        return self._copy("contacts", contact_id, super().contact)

    def tenant(self, tenant_id: str) -> Optional[Tenant]:
        """The tenant, or None (decoded copy while the reference counter holds)."""
        return self._copy("tenants", tenant_id, super().tenant)

    def _copy(self, table: str, key: str, load: Callable[[str], Optional[_R]]) -> Optional[_R]:
        """``table``'s row ``key``: this unit's copy, the shared one, else ``load``'s."""
        ref = self._reference()
        if ref is None:
            return load(key)
        mine: Dict[str, _R] = getattr(ref, table)
        found = mine.get(key)
        if found is None and self._seen is not None:
            found = getattr(self._seen, table).get(key)
        if found is None:
            found = load(key)
            if found is not None:
                mine[key] = found
        return found

    def catalog(self) -> Catalog:
        """The catalog (decoded copy while the reference counter holds)."""
        ref = self._reference()
        if ref is None:
            return super().catalog()
        found = ref.catalog
        if found is None and self._seen is not None:
            found = self._seen.catalog
        if found is None:
            found = ref.catalog = super().catalog()
        return found

    def _publish(self) -> None:
        """After commit: offer what this unit decoded to the storage's copies."""
        fresh = self._fresh
        if fresh is None or not self._cached:
            return
        shared = self._storage._shared_reference
        if shared is not None and shared.version == fresh.version:
            shared.contacts.update(fresh.contacts)
            shared.tenants.update(fresh.tenants)
            if fresh.catalog is not None:
                shared.catalog = fresh.catalog
        elif fresh.contacts or fresh.tenants or fresh.catalog is not None:
            # Another counter value: these copies replace the older (or newer) ones;
            # a unit that reads another value reads anew, so either is safe.
            self._storage._shared_reference = fresh

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
        storage = self._storage
        statement = storage.dialect.lock
        if statement is None:
            return
        params = {"name": f"siteupdates:{name}"}
        if not self._cached:
            self._fetch(statement, params)
            return
        # Reads after the lock see what committed before it (READ COMMITTED): the
        # reference counter is read again rather than trusted from before the wait.
        # It is read by a statement of its own (its own snapshot, taken once the lock
        # is held) that the backend may send with the lock in one round trip.
        rows = storage._after(self._cur, storage._sql(statement), params, _COUNTER)
        n = int(rows[0]["n"])
        if self._fresh is not None and self._fresh.version == n:
            return  # what this unit decoded still holds
        shared = storage._shared_reference
        self._seen = shared if shared is not None and shared.version == n else None
        self._fresh = _Reference(n)

    # -- rows ------------------------------------------------------------------------

    def _request_values(self, r: UpdateRequest) -> Dict[str, Any]:
        return dict(zip(_REQ, codec.request_values(r, self._instant, self._flag)))

    def _history_values(self, h: HistoryEntry) -> Dict[str, Any]:
        return dict(zip(codec.HISTORY_COLUMNS, codec.history_values(h, self._instant)))

    def _outbox_values(self, o: OutboxItem) -> Dict[str, Any]:
        return dict(zip(codec.OUTBOX_COLUMNS, codec.outbox_values(o, self._instant)))

    def _insert(self, table: str, rows: Sequence[Tuple[Any, ...]]) -> None:
        """Insert ``rows`` (tuples in the codec's column order) into ``table``.

        A driver that binds tuples gets them as they are, and one row through
        ``execute``: a dict per row and ``executemany`` of one row cost a
        submit more than the row's own binding.
        """
        columns, named, positional = _INSERTS[table]
        if self._qmark:
            if len(rows) == 1:
                self._cur.execute(positional, rows[0])
            elif rows:
                self._cur.executemany(positional, rows)
        else:
            self._xm(named, [dict(zip(columns, row)) for row in rows])

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

    def _insert_batch(self, requests: Sequence[UpdateRequest]) -> bool:
        """Insert ``requests`` with one batched statement; False (nothing written) on a refusal.

        Inside a savepoint: when the database refuses a row, the batch is undone
        and the caller inserts one row at a time to name the request and the
        invariant in its error.
        """
        self._x("SAVEPOINT siteupdates_batch")
        try:
            self._insert(
                "requests", [codec.request_values(r, self._instant, self._flag) for r in requests]
            )
        except self._storage.integrity_error:
            self._x("ROLLBACK TO SAVEPOINT siteupdates_batch")
            self._x("RELEASE SAVEPOINT siteupdates_batch")
            return False
        self._x("RELEASE SAVEPOINT siteupdates_batch")
        return True

    def _insert_together(self, changes: ChangeSet) -> None:
        """The one request of ``changes``, its history and outbox rows: one statement.

        Data-modifying ``WITH`` clauses (PostgreSQL): a submit's three inserts
        are one round trip. The keys are checked at the statement's end, so the
        history row may name the request inserted beside it. A refusal is told
        as the one-insert path tells it: the request's key or invariant, else the
        change set's.
        """
        (r,) = changes.inserts
        instant = self._instant
        parts = [("requests", _REQ, [codec.request_values(r, instant, self._flag)])]
        parts.append(
            ("history", codec.HISTORY_COLUMNS,
             [codec.history_values(h, instant) for h in changes.history])
        )  # fmt: skip
        if changes.outbox:
            parts.append(
                ("outbox", codec.OUTBOX_COLUMNS,
                 [codec.outbox_values(o, instant) for o in changes.outbox])
            )  # fmt: skip
        shape = tuple(len(rows) for _, _, rows in parts)
        params: Dict[str, Any] = {}
        for p, (_, columns, rows) in enumerate(parts):
            for i, row in enumerate(rows):
                params.update(zip([f"p{p}r{i}{c}" for c in columns], row))
        try:
            self._x(_together(shape), params)
        except self._storage.integrity_error as exc:
            text = str(exc)
            if r.idempotency_key is not None and "idempotency" in text:
                raise DuplicateKey(r.requested_by, r.idempotency_key) from exc
            if any(n in text for names in _INVARIANTS for n in names):
                raise self._conflict(exc, r.id) from None
            raise StorageError(f"change set refused by the database: {exc}") from exc

    def put_tenants(self, tenants: Sequence[Tenant], *, check: bool) -> None:
        """Write tenants and their sites; with ``check``, only at their loaded revision."""
        self._uncached()
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
        self._uncached()
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
        self._uncached()
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
        instant = self._instant
        if len(changes.inserts) == 1 and changes.history and self._storage.dialect.insert_in_with:
            self._insert_together(changes)  # the request, history and outbox rows
        else:
            if len(changes.inserts) > 1 and self._insert_batch(changes.inserts):
                pass  # one batched statement wrote them all
            else:
                for r in changes.inserts:
                    try:
                        self._insert("requests", (codec.request_values(r, instant, self._flag),))
                    except integrity as exc:
                        if r.idempotency_key is not None and "idempotency" in str(exc):
                            raise DuplicateKey(r.requested_by, r.idempotency_key) from exc
                        raise self._conflict(exc, r.id) from None
            try:
                self._insert(
                    "history", [codec.history_values(h, instant) for h in changes.history]
                )
                self._insert("outbox", [codec.outbox_values(o, instant) for o in changes.outbox])
            except integrity as exc:
                raise StorageError(f"change set refused by the database: {exc}") from exc
        if changes.tenants:
            self.put_tenants(changes.tenants, check=True)
        if changes.release:
            self._xm(
                "UPDATE requests SET lease_owner = NULL, lease_expires = NULL WHERE id = :id",
                [{"id": rid} for rid in changes.release],
            )
        if changes.withdraw:
            at = changes.history[-1].at if changes.history else datetime.now(timezone.utc)
            self.withdraw_reminders(changes.withdraw, {o.id for o in changes.outbox}, at)

    def withdraw_reminders(
        self, request_ids: Sequence[str], keep: Set[str], when: datetime
    ) -> None:
        """End the pending reminders of ``request_ids`` (but not the new ones, ``keep``)."""
        at = self._ts(when)
        for rid in request_ids:
            rows = self._fetch(
                "SELECT id FROM outbox WHERE request_id = :rid AND kind = 'reminder' "
                "AND state = 'pending'",
                {"rid": rid},
            )
            ids = [r["id"] for r in rows if r["id"] not in keep]
            self._xm(
                "UPDATE outbox SET state = 'withdrawn', lease_owner = NULL, "
                "lease_expires = NULL, last_error = :why WHERE id = :id",
                [{"id": i, "why": "the request changed before the reminder was due"} for i in ids],
            )
            self._xm(
                _LOG_OUTBOX,
                [
                    {"id": i, "at": at, "event": "withdrawn", "by": "siteupdates",
                     "detail": "the request changed before the reminder was due"}
                    for i in ids
                ],
            )  # fmt: skip


class SqlStorage(SqlReads, Storage):
    """Storage methods written once for every SQL backend."""

    #: The dialect's types, locks and statements.
    dialect: Dialect
    #: The driver's integrity error, raised on a unique or key violation.
    integrity_error: Tuple[Type[BaseException], ...] = ()
    #: Contacts, tenants and the catalog as committed units decoded them (see SqlUnit).
    _shared_reference: Optional[_Reference] = None
    #: Whether the driver binds tuples to ``?`` parameters (sqlite3): the inserts of
    #: a change set then skip a dict per row. Named ``:name`` parameters otherwise.
    qmark: bool = False

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

    def _in_transaction(self) -> bool:
        """Whether this thread's reads run inside its open unit of work (True if unknown)."""
        return True

    def _copies(self, version: Any) -> Optional[_Reference]:
        """The storage's decoded reference rows when they are those of ``version``.

        A newer version replaces them (an older one is not kept: a read that saw
        it is decoded anew), as :meth:`SqlUnit._publish` does after a commit.
        """
        if version is None or self._in_transaction():
            return None  # rows this thread's open unit may have written: not yet the version's
        n = int(version)
        shared = self._shared_reference
        if shared is not None and shared.version == n:
            return shared
        if shared is None or shared.version < n:
            fresh = self._shared_reference = _Reference(n)
            return fresh
        return None

    def _read_values(self, sql: str, params: Mapping[str, Any] = {}) -> List[Sequence[Any]]:
        """Rows of one read-only statement as values in column order (``_read``'s by default)."""
        return [_values(r) for r in self._read(sql, params)]

    def _fetch_values(self, sql: str, params: Mapping[str, Any] = {}) -> List[Sequence[Any]]:
        return self._read_values(self._sql(sql), params)

    def _after(self, cur: Cursor, first: str, params: Mapping[str, Any], then: str) -> List[Any]:
        """Run ``first`` (in the driver's style), then ``then`` (no parameters): ``then``'s rows.

        Two statements, in this order, on the unit's cursor; a backend whose driver
        can send both before waiting (PostgreSQL's pipeline mode) does so, one
        round trip instead of two.
        """
        cur.execute(first, params)
        cur.execute(self._sql(then))
        return list(cur.fetchall())

    # -- units of work ----------------------------------------------------------------

    def unit(self) -> AbstractContextManager[SqlUnit]:
        """One transaction; SQLite starts it with ``BEGIN IMMEDIATE``, PostgreSQL locks rows."""
        return _UnitScope(self)

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

    def claim_outbox(
        self, owner: str, now: datetime, lease_seconds: float, *, limit: int = 100
    ) -> List[OutboxItem]:
        """Lock due rows (SKIP LOCKED on PostgreSQL, the write lock on SQLite), lease them."""
        expires = now + timedelta(seconds=lease_seconds)
        with self.unit() as uow:
            rows = uow._fetch(
                f"SELECT * FROM outbox WHERE {OUTBOX_DUE} ORDER BY created_at, id "
                f"LIMIT :limit {self.dialect.claim_lock}",
                {"now": self._ts(now), "limit": limit},
            )
            items = [
                attrs.evolve(
                    codec.outbox_from(r),
                    lease_owner=owner,
                    lease_expires=expires,
                    claims=int(r["claims"]) + 1,
                )
                for r in rows
            ]
            # One statement for the batch, not one per row: the rows are locked (the
            # write lock on SQLite, FOR UPDATE on PostgreSQL), so ``claims + 1`` is
            # the count each item above carries.
            for start in range(0, len(items), _CLAIM_CHUNK):
                marks, params = _in("i", [o.id for o in items[start : start + _CLAIM_CHUNK]])
                uow._x(
                    "UPDATE outbox SET lease_owner = :owner, lease_expires = :expires, "
                    f"claims = claims + 1 WHERE id IN ({marks})",
                    {"owner": owner, "expires": self._ts(expires), **params},
                )
        return items

    def renew_outbox(self, owner: str, items: Sequence[OutboxItem], until: datetime) -> List[str]:
        """Extend the leases still held, in one transaction."""
        held = []
        with self.unit() as uow:
            for o in items:
                done = uow._x(
                    "UPDATE outbox SET lease_expires = :until WHERE id = :id AND "
                    "state = 'pending' AND lease_owner = :owner AND claims = :claims",
                    {"until": self._ts(until), "id": o.id, "owner": owner, "claims": o.claims},
                )
                if done.rowcount == 1:
                    held.append(o.id)
        return held

    def settle_outbox(self, item: OutboxItem, *, event: str, by: str, at: datetime) -> bool:
        """Write the outcome if the claim holds, and log it, in one transaction."""
        with self.unit() as uow:
            instant = uow._instant
            values = {
                "state": item.state._value_,
                "attempts": item.attempts,
                "next_attempt_at": None
                if item.next_attempt_at is None
                else instant(item.next_attempt_at),
                "last_error": item.last_error,
                "delivered_at": None if item.delivered_at is None else instant(item.delivered_at),
                "id": item.id,
                "lease_owner": item.lease_owner,
                "claims": item.claims,
            }  # the statement's columns only: the payload is not encoded again
            log = {"at": self._ts(at), "event": event, "by": by, "detail": item.last_error}
            if self.dialect.insert_in_with:
                return bool(uow._x(_SETTLE_AND_LOG_OUTBOX, {**values, **log}).rowcount == 1)
            done = uow._x(_SETTLE_OUTBOX, values)
            if done.rowcount != 1:
                return False
            uow._x(_LOG_OUTBOX, {"id": item.id, **log})
            return True

    def requeue_outbox(
        self, keys: Sequence[str] = (), *, dead: bool = False, by: str, at: datetime
    ) -> List[OutboxItem]:
        """Dead (or pending) items named by key, and every dead one with ``dead``."""
        with self.unit() as uow:
            rows: List[Any] = []
            if keys:
                marks, params = _in("k", list(keys))
                rows += uow._fetch(
                    f"SELECT * FROM outbox WHERE key IN ({marks}) "
                    f"AND state IN ('dead', 'pending') {self.dialect.for_update}",
                    params,
                )
            if dead:
                rows += uow._fetch(
                    f"SELECT * FROM outbox WHERE state = 'dead' {self.dialect.for_update}"
                )
            found: Dict[str, OutboxItem] = {}
            for r in rows:
                found.setdefault(r["id"], codec.outbox_from(r))
            items = [
                attrs.evolve(
                    o,
                    state=ports.OutboxState.PENDING,
                    attempts=0,
                    next_attempt_at=at,
                    lease_owner=None,
                    lease_expires=None,
                )
                for o in sorted(found.values(), key=lambda o: (o.created_at, o.id))
            ]
            uow._xm(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = :at, "
                "lease_owner = NULL, lease_expires = NULL WHERE id = :id",
                [{"id": o.id, "at": self._ts(at)} for o in items],
            )
            uow._xm(
                _LOG_OUTBOX,
                [
                    {"id": o.id, "at": self._ts(at), "event": "requeued", "by": by,
                     "detail": found[o.id].last_error}
                    for o in items
                ],
            )  # fmt: skip
        return items

    def outbox_log(self, outbox_id: str) -> List[OutboxEvent]:
        """The item's log, oldest first."""
        rows = self._fetch(
            "SELECT * FROM outbox_log WHERE outbox_id = :id ORDER BY seq", {"id": outbox_id}
        )
        out = []
        for r in rows:
            at = codec.parse_ts(r["at"])
            assert at is not None
            out.append(
                ports.OutboxEvent(r["outbox_id"], at, r["event"], r["by_whom"], r["detail"])
            )
        return out

    # -- hosting workers -------------------------------------------------------------

    def claim(
        self, worker: str, now: datetime, lease_seconds: float, *, limit: int = 1
    ) -> List[Claim]:
        """Choose and lock claimable rows, apply the lifecycle in Python, write them back.

        Expired leases first, then due requests: two index-served reads (see
        :data:`CLAIM_EXPIRED_WHERE`), never a sort of the backlog.
        """
        claims: List[Claim] = []
        with self.unit() as uow:
            rows: List[Any] = []
            for where in (CLAIM_EXPIRED_WHERE, CLAIM_DUE_WHERE):
                if len(rows) < limit:
                    rows += uow._fetch(
                        f"SELECT * FROM requests WHERE {where} ORDER BY {CLAIM_ORDER} "
                        f"LIMIT :limit {self.dialect.claim_lock}",
                        {"now": self._ts(now), "limit": limit - len(rows)},
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


class _UnitScope:
    """The block of :meth:`SqlStorage.unit`: the backend's transaction, then the publish.

    A class rather than a generator context manager: it is entered by every
    write, and a generator's frame and ``throw`` cost more than these two calls.
    """

    __slots__ = ("_storage", "_tx", "_uow")

    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage

    def __enter__(self) -> SqlUnit:
        tx = self._tx = self._storage._write()
        uow = self._uow = SqlUnit(self._storage, tx.__enter__())
        return uow

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> Optional[bool]:
        kept = self._tx.__exit__(kind, exc, tb)
        if kind is None or kept:
            self._uow._publish()  # committed: what it decoded is what the counter names
        return kept


def run_migrations(uow: SqlUnit, stored: int) -> int:
    """Bring a schema at version ``stored`` to the newest, inside ``uow``; return it.

    A backend calls this from its own open step (inside one transaction, so
    two processes opening a new database do not both migrate) and records the
    version its own way.
    """
    dialect = uow._storage.dialect
    uow._uncached()  # the counter's table may not exist yet, and repairs write
    pending = MIGRATIONS[stored:]
    # Every pending version's statements first, so that data repairs run on the
    # newest schema and may use today's code (the codec, the domain); then the
    # repairs in order; then the constraints they make true.
    for migration in pending:
        for statement in migration.sql(dialect):
            uow._x(statement)
    for migration in pending:
        if migration.fixup is not None:
            migration.fixup(uow)
    for migration in pending:
        for statement in migration.sql_after(dialect):
            uow._x(statement)
    return len(MIGRATIONS)
