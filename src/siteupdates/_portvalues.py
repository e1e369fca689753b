"""The values that cross the storage port, defined apart so a read need not build them.

Import them from :mod:`siteupdates.ports`, which names them all and loads this
module on the first use of one (PEP 562): a command that only lists requests
needs none of these classes, and building an attrs class costs about half a
millisecond of start-up.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Mapping, Optional, Sequence, Tuple

import attrs

# At run time, not for the type checker alone: typing.get_type_hints and cattrs
# resolve these classes' annotations in this module (and the names cost nothing:
# siteupdates.ports has loaded the model and the lifecycle already).
from siteupdates.domain.lifecycle import HistoryEntry
from siteupdates.domain.model import Catalog, Contact, Group, Tenant, UpdateRequest


class OutboxState(str, enum.Enum):
    """Where an outgoing message stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    #: A reminder whose request moved or ended before it was due: never sent.
    WITHDRAWN = "withdrawn"


@attrs.frozen
class OutboxItem:
    """A message written with the change that caused it, delivered later.

    ``kind`` is ``notice`` (for the notification hook), ``reminder`` (a notice
    due at ``next_attempt_at``, withdrawn when its request changes) or
    ``calendar`` (for the calendar hook). ``key`` is stable across retries so a
    receiver can drop duplicates (delivery is at least once).

    A deliverer claims an item before sending it: ``lease_owner`` holds it until
    ``lease_expires``, and ``claims`` counts the claims, so it is the fencing
    token of the claim (a deliverer settles an item only while the stored owner
    and count are still its own).
    """

    id: str
    key: str
    kind: str
    request_id: Optional[str]
    payload: Mapping[str, Any]
    created_at: datetime
    state: OutboxState = OutboxState.PENDING
    attempts: int = 0
    next_attempt_at: Optional[datetime] = None
    last_error: Optional[str] = None
    delivered_at: Optional[datetime] = None
    lease_owner: Optional[str] = None
    lease_expires: Optional[datetime] = None
    claims: int = 0


@attrs.frozen
class OutboxEvent:
    """One line of an outbox item's own history: delivered, failed, dead, requeued, withdrawn."""

    outbox_id: str
    at: datetime
    event: str
    by: str
    detail: Optional[str] = None


@attrs.frozen
class Lease:
    """A hosting worker's hold on a request: who, until when, and which attempt it is.

    ``attempts`` counts the claims of the request; it is also the fencing token:
    a worker acts on a request only while the stored lease still names it with
    the same attempt.
    """

    worker: str
    expires: datetime
    attempts: int


@attrs.frozen
class Fence:
    """A condition of a change set: ``worker`` still holds ``request_id`` at ``attempts``."""

    request_id: str
    worker: str
    attempts: int

    @property
    def token(self) -> int:
        """The fencing token: the claim count, raised by every claim of the request.

        A system the update touches can refuse an actor whose token is lower
        than the highest it has seen for the request (see docs/workers.md).
        """
        return self.attempts


@attrs.frozen
class Claim:
    """A claimed request (now Not Started), its lease, and the history entry of the claim."""

    request: UpdateRequest
    lease: Lease
    entry: HistoryEntry

    @property
    def fence(self) -> Fence:
        """The fence every later change by this worker must carry."""
        return Fence(self.request.id, self.lease.worker, self.lease.attempts)


@attrs.frozen
class ChangeSet:
    """Everything one use case writes, committed together.

    ``updates`` pairs a request's new state with the revision it was loaded at;
    the backend raises :class:`~siteupdates.errors.ConflictError` and writes
    nothing when the stored revision differs. ``tenants`` are written only if
    the stored tenant still has the ``revision`` it was loaded with. ``fences`` must all hold (else
    :class:`~siteupdates.errors.LeaseLost` and nothing is written); ``release``
    lists requests whose worker lease ends with the change; ``withdraw`` lists
    requests whose pending reminders are withdrawn with the change (a moved date
    re-arms the ladder with new keys, a cancel ends it).
    """

    inserts: Tuple[UpdateRequest, ...] = ()
    updates: Tuple[Tuple[UpdateRequest, int], ...] = ()
    history: Tuple[HistoryEntry, ...] = ()
    outbox: Tuple[OutboxItem, ...] = ()
    tenants: Tuple[Tenant, ...] = ()
    fences: Tuple[Fence, ...] = ()
    release: Tuple[str, ...] = ()
    withdraw: Tuple[str, ...] = ()

    def __add__(self, other: ChangeSet) -> ChangeSet:
        return ChangeSet.concat((self, other))

    @classmethod
    def concat(cls, sets: Sequence[ChangeSet]) -> ChangeSet:
        """Many change sets as one, in linear time (``a + b + c ...`` copies each time)."""
        if len(sets) == 1 and type(sets[0]) is cls:
            return sets[0]
        return cls(
            *(
                tuple(item for cs in sets for item in getattr(cs, field.name))
                for field in attrs.fields(cls)
            )
        )


@attrs.frozen
class Setup:
    """A provider's reference data: groups, tenants and their sites, contacts, catalog."""

    groups: Tuple[Group, ...] = ()
    tenants: Tuple[Tenant, ...] = ()
    contacts: Tuple[Contact, ...] = ()
    catalog: Catalog = attrs.field(factory=lambda: Catalog(frozenset()))
    settings: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class AuditEntry:
    """One change of reference data: who made it, when, and the value before and after.

    ``kind`` is one of :data:`~siteupdates.ports.AUDIT_KINDS`, ``key`` the ID (a version for the
    catalog, a key for settings), ``action`` ``added``, ``changed`` or
    ``removed``; ``before`` and ``after`` are plain JSON-able data (None when
    the thing did not exist). ``seq`` is given by the storage, increasing.
    """

    at: datetime
    by: str
    kind: str
    key: str
    action: str
    before: Optional[Mapping[str, Any]] = None
    after: Optional[Mapping[str, Any]] = None
    seq: int = 0

    def describe(self) -> str:
        """One line for people: ``changed contact dana: email a@x -> b@x``."""
        head = f"{self.action} {self.kind} {self.key}"
        if self.action != "changed" or self.before is None or self.after is None:
            return head
        parts = []
        for field in sorted(set(self.before) | set(self.after)):
            old, new = self.before.get(field), self.after.get(field)
            if old != new:
                parts.append(f"{field} {_brief(old)} -> {_brief(new)}")
        return f"{head}: " + "; ".join(parts) if parts else head


def _brief(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@attrs.frozen
class ReferenceChange:
    """What one unit writes to reference data: upserts, removals and their audit entries.

    ``upsert`` holds the groups, tenants, contacts, catalog versions and
    settings to write (an existing tenant is written only at the revision it
    carries, else :class:`~siteupdates.errors.ConflictError`); the ``remove_*``
    tuples name what to delete. ``audit`` is recorded in the same transaction.
    """

    upsert: Setup = attrs.field(factory=lambda: Setup())
    remove_groups: Tuple[str, ...] = ()
    remove_tenants: Tuple[str, ...] = ()
    remove_contacts: Tuple[str, ...] = ()
    remove_versions: Tuple[str, ...] = ()
    remove_settings: Tuple[str, ...] = ()
    audit: Tuple[AuditEntry, ...] = ()
