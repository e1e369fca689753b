"""The request lifecycle as one transition table (R13, R15-R18).

Every change of a request is a named :class:`Event`. :data:`TRANSITIONS` says,
for each event, the statuses it may leave from, the status it enters, who may
cause it, and whether it needs a reason or a date. :func:`apply` is a table
look-up: there is no state-machine object per request.

Two rules hold for every change :func:`apply` makes:

* **Answering returns.** A question (``ask-input``) remembers the status the
  request had (``resume_status``); the answer returns it there. A Scheduled
  request keeps its date meanwhile; one asked while being worked on (Not
  Started, In Progress) returns Scheduled with its date, so a worker claims it
  again rather than it sitting In Progress with no worker.
* **A provider date exists exactly in the statuses that have one**
  (:func:`holds_date`): Scheduled, Not Started, In Progress, Completed and
  Deleted, and Pending Input when the answer returns to Scheduled. Entering
  any other status drops the date; the history entry keeps it as ``old_date``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Callable, Dict, FrozenSet, Iterable, Mapping, Optional, Tuple

import attrs

from siteupdates.errors import InvalidInput, TransitionNotAllowed

from .model import NamedEnum, Status, UpdateRequest, trusted_constructor
from .timeutil import require_aware

__all__ = [
    "BOOKED",
    "CLAIMABLE",
    "DATED",
    "OPEN",
    "TERMINAL",
    "WAITING",
    "TRANSITIONS",
    "Actor",
    "Event",
    "HistoryEntry",
    "Transition",
    "allowed_events",
    "apply",
    "holds_date",
    "submitted",
]


class Actor(str, enum.Enum):
    """Who causes an event: the customer's contact or the provider (staff or its workers)."""

    CONTACT = "contact"
    PROVIDER = "provider"


class Event(NamedEnum):
    """The named changes of a request."""

    SUBMIT = "submit"
    SCHEDULE = "schedule"
    RESCHEDULE = "reschedule"
    MOVE = "move"
    PULL = "pull"
    RELEASE = "release"
    RECLAIM = "reclaim"
    START = "start"
    COMPLETE = "complete"
    ASK_INPUT = "ask-input"
    ANSWER = "answer"
    DEFER = "defer"
    RESUME = "resume"
    SUPERSEDE = "supersede"
    FAIL = "fail"
    CANCEL = "cancel"
    DELETE = "delete"
    POSTPONE = "postpone"
    APPROVE = "approve"
    WITHDRAW = "withdraw"
    FOLLOW_STAGING = "follow-staging"


@attrs.frozen
class Transition:
    """One row of the table.

    ``returns``: the request goes back to the status it had when the question was
    asked (``target`` when none is known). ``rule``: the rule that forbids the
    event elsewhere, cited when it is refused (R16 for cancel, R18 for delete).
    """

    event: Event
    sources: FrozenSet[Optional[Status]]
    target: Status
    actors: FrozenSet[Actor]
    needs_reason: bool = False
    needs_date: bool = False
    returns: bool = False
    rule: str = "R15"


S = Status
_P = frozenset({Actor.PROVIDER})
_C = frozenset({Actor.CONTACT})
_BOTH = frozenset({Actor.CONTACT, Actor.PROVIDER})
_OPEN_UNSTARTED = frozenset({S.TO_BE_SCHEDULED, S.SCHEDULED, S.PENDING_INPUT, S.DEFERRED})


def _row(
    event: Event,
    sources: FrozenSet[Optional[Status]],
    target: Status,
    actors: FrozenSet[Actor],
    *,
    reason: bool = False,
    date: bool = False,
    returns: bool = False,
    rule: str = "R15",
) -> Tuple[Event, Transition]:
    return event, Transition(
        event, frozenset(sources), target, actors, reason, date, returns, rule
    )


#: The lifecycle: for each event, the one row that says from which statuses it
#: leaves, which status it enters, who may cause it and what it needs.
TRANSITIONS: Mapping[Event, Transition] = dict(
    [
        _row(Event.SUBMIT, frozenset({None}), S.TO_BE_SCHEDULED, _C),
        _row(Event.SCHEDULE, frozenset({S.TO_BE_SCHEDULED}), S.SCHEDULED, _P, date=True),
        # R13: the provider may move the date, and must say why.
        _row(
            Event.RESCHEDULE,
            frozenset({S.SCHEDULED}),
            S.SCHEDULED,
            _P,
            reason=True,
            date=True,
            rule="R13",
        ),
        # The contact moves the preferred start of their own request (before the
        # provider's cut-off): back to the queue, in its first-come place.
        _row(
            Event.MOVE,
            frozenset({S.TO_BE_SCHEDULED, S.SCHEDULED}),
            S.TO_BE_SCHEDULED,
            _C,
            date=True,
            rule="R13",
        ),
        _row(Event.PULL, frozenset({S.SCHEDULED}), S.NOT_STARTED, _P),
        _row(Event.RELEASE, frozenset({S.NOT_STARTED}), S.SCHEDULED, _P),
        # A hosting worker's lease expired: another worker takes the request over.
        _row(
            Event.RECLAIM,
            frozenset({S.NOT_STARTED, S.IN_PROGRESS}),
            S.NOT_STARTED,
            _P,
            reason=True,
        ),
        _row(Event.START, frozenset({S.NOT_STARTED}), S.IN_PROGRESS, _P),
        _row(Event.COMPLETE, frozenset({S.IN_PROGRESS}), S.COMPLETED, _P),
        _row(
            Event.ASK_INPUT,
            frozenset({S.TO_BE_SCHEDULED, S.SCHEDULED, S.NOT_STARTED, S.IN_PROGRESS}),
            S.PENDING_INPUT,
            _P,
            reason=True,
        ),
        _row(
            Event.ANSWER,
            frozenset({S.PENDING_INPUT}),
            S.TO_BE_SCHEDULED,
            _BOTH,
            reason=True,
            returns=True,
        ),
        _row(
            Event.DEFER,
            frozenset({S.TO_BE_SCHEDULED, S.SCHEDULED, S.NOT_STARTED, S.PENDING_INPUT}),
            S.DEFERRED,
            _P,
            reason=True,
        ),
        _row(Event.RESUME, frozenset({S.DEFERRED}), S.TO_BE_SCHEDULED, _P),
        # R17: only requests on which no work has begun can be superseded.
        _row(Event.SUPERSEDE, _OPEN_UNSTARTED, S.NEW_VERSION_REQUESTED, _P, reason=True),
        _row(
            Event.FAIL,
            _OPEN_UNSTARTED | {S.NOT_STARTED, S.IN_PROGRESS},
            S.UNABLE_TO_COMPLETE,
            _P,
            reason=True,
        ),
        # R16: cancel only before the work is pulled from the queue.
        _row(
            Event.CANCEL,
            frozenset({S.TO_BE_SCHEDULED, S.SCHEDULED}),
            S.CANCELLED,
            _BOTH,
            rule="R16",
        ),
        # R18: only completed requests may be deleted.
        _row(Event.DELETE, frozenset({S.COMPLETED}), S.DELETED, _C, rule="R18"),
        # A contact's limited deferral: the next window, or some days later.
        _row(
            Event.POSTPONE,
            frozenset({S.SCHEDULED}),
            S.SCHEDULED,
            _C,
            reason=True,
            date=True,
            rule="R13",
        ),
        # Staging, then production: production waits in Pending Input for the gate.
        _row(Event.APPROVE, frozenset({S.PENDING_INPUT}), S.SCHEDULED, _BOTH, date=True),
        _row(Event.WITHDRAW, frozenset({S.PENDING_INPUT}), S.CANCELLED, _BOTH, reason=True),
        # Its date follows staging: moved (staying at the gate) when staging moved or
        # completed too late for the soak to fit before it.
        _row(
            Event.FOLLOW_STAGING,
            frozenset({S.PENDING_INPUT}),
            S.PENDING_INPUT,
            _P,
            reason=True,
            date=True,
            rule="R13",
        ),
    ]
)

_ROWS: Dict[Event, Transition] = dict(TRANSITIONS)
_SUBMIT = Event.SUBMIT

#: Statuses no event leaves from.
TERMINAL: FrozenSet[Status] = frozenset(
    s for s in Status if not any(s in t.sources for t in TRANSITIONS.values())
)


#: Statuses of a request that still needs work: neither final nor completed. The
#: store keeps at most one open version update per site in these (R17).
OPEN: FrozenSet[Status] = frozenset(
    {S.TO_BE_SCHEDULED, S.SCHEDULED, S.NOT_STARTED, S.IN_PROGRESS, S.PENDING_INPUT, S.DEFERRED}
)
#: Open statuses in which no work has begun: what a newer version supersedes (R17).
WAITING: FrozenSet[Status] = frozenset(
    s for s in TRANSITIONS[Event.SUPERSEDE].sources if s is not None
)
#: Statuses holding a date in the plan: they take a place of capacity (R13).
BOOKED: FrozenSet[Status] = frozenset({S.SCHEDULED, S.NOT_STARTED, S.IN_PROGRESS})
#: Statuses in which a request has a provider date (``scheduled_for``); Pending
#: Input has one too while its answer returns to one of these (:func:`holds_date`).
DATED: FrozenSet[Status] = frozenset(
    {S.SCHEDULED, S.NOT_STARTED, S.IN_PROGRESS, S.COMPLETED, S.DELETED}
)
#: The statuses a hosting worker may claim from (pull, or reclaim after a lease expired).
CLAIMABLE: FrozenSet[Status] = frozenset(
    s for e in (Event.PULL, Event.RECLAIM) for s in TRANSITIONS[e].sources if s is not None
)


def allowed_events(status: Optional[Status], actor: Optional[Actor] = None) -> Tuple[Event, ...]:
    """The events that may leave ``status`` (caused by ``actor`` when given)."""
    return tuple(
        e
        for e, t in TRANSITIONS.items()
        if status in t.sources and (actor is None or actor in t.actors)
    )


def _str_tuple(values: Iterable[str]) -> Tuple[str, ...]:
    return tuple(str(v) for v in values)


def holds_date(status: Status, resume_status: Optional[Status] = None) -> bool:
    """Whether a request in ``status`` has a provider date (the invariant of the table).

    ``resume_status`` is where a Pending Input request returns when answered.
    """
    if status is S.PENDING_INPUT:
        return resume_status in DATED
    return status in DATED


def _resume_to(status: Status) -> Status:
    """Where an answer returns a request asked in ``status``."""
    if status in (S.NOT_STARTED, S.IN_PROGRESS):
        return S.SCHEDULED  # a worker claims it again; no one holds it meanwhile
    return status


@attrs.frozen
class HistoryEntry:
    """One change of a request: who, when, from what to what, why, and the dates moved.

    ``seq`` is the request's revision after the change; a request's history is
    the chain 1, 2, 3, ... with each entry's ``from_status`` equal to the previous
    entry's ``to_status``. ``old_date`` and ``new_date`` are the provider dates
    before and after (a change that drops the date keeps it as ``old_date``); for
    the contact's own events (submit, move) they are the preferred starts.
    ``overrides`` names the rules a provider overrode to accept the request.
    """

    request_id: str
    seq: int
    event: Event
    actor: Actor
    by: str
    at: datetime
    from_status: Optional[Status]
    to_status: Status
    reason: Optional[str] = None
    old_date: Optional[datetime] = None
    new_date: Optional[datetime] = None
    overrides: Tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)


_trusted_entry: Callable[..., HistoryEntry] = trusted_constructor(HistoryEntry)
_copy_request = UpdateRequest.trusted_copy


def submitted(request: UpdateRequest) -> HistoryEntry:
    """The first history entry of a freshly built request (event SUBMIT)."""
    if request.status is not Status.TO_BE_SCHEDULED or request.revision != 1:
        raise InvalidInput(
            "a submitted request starts as To Be Scheduled at revision 1", request.status
        )
    # Every field comes from the request, valid already: no converter to run again.
    return _trusted_entry(
        request_id=request.id,
        seq=1,
        event=Event.SUBMIT,
        actor=Actor.CONTACT,
        by=request.requested_by,
        at=request.requested_at,
        from_status=None,
        to_status=Status.TO_BE_SCHEDULED,
        new_date=request.preferred_start,
    )


def apply(
    request: UpdateRequest,
    event: Event | str,
    *,
    actor: Actor,
    by: str,
    at: datetime,
    reason: Optional[str] = None,
    date: Optional[datetime] = None,
) -> Tuple[UpdateRequest, HistoryEntry]:
    """Apply ``event`` to ``request``; return the new request and its history entry.

    Raises TransitionNotAllowed (a RequestRefused citing the row's rule: R16 for
    cancel, R18 for delete, R15 otherwise) when the table has no row for the
    request's status and ``actor``, naming the status and the events that are
    allowed; raises InvalidInput when a required reason or date is missing.
    For ``move`` (the contact's reschedule) ``date`` is the new preferred start.
    """
    ev = event if type(event) is Event else Event.parse(event)
    row = _ROWS[ev]
    status = request.status
    if status not in row.sources or actor not in row.actors or ev is _SUBMIT:
        allowed = [e.value for e in allowed_events(status, actor)]
        who = "the contact" if actor is Actor.CONTACT else "the provider"
        message = f"cannot {ev.value} request {request.id}: it is {status.label}; {who} may " + (
            ("only " + ", ".join(allowed)) if allowed else "change nothing in that status"
        )
        from siteupdates.refusal import Refusal  # a refusal's value, only when one is made

        raise TransitionNotAllowed(
            message, status, ev, allowed, refusals=(Refusal(row.rule, message),)
        )
    at = require_aware("at", at)
    if row.needs_reason and not (reason and reason.strip()):
        raise InvalidInput(f"{ev.value} needs a reason the contact can read", reason)
    if row.needs_date and date is None:
        what = "the new preferred start" if ev is Event.MOVE else "the date the update will run"
        raise InvalidInput(f"{ev.value} needs {what}", date)
    when = None if date is None else require_aware("date", date)
    target = row.target
    resume: Optional[Status] = None
    preferred = request.preferred_start
    new_date = request.scheduled_for
    if ev is Event.ASK_INPUT:
        resume = _resume_to(status)
    elif ev is Event.FOLLOW_STAGING:
        resume = request.resume_status  # still at the gate: the answer returns it as before
    elif row.returns and request.resume_status is not None:
        target = request.resume_status
    if ev is Event.MOVE:
        assert when is not None
        preferred, new_date = when, None
    elif row.needs_date:
        new_date = when
    if not holds_date(target, resume):
        new_date = None  # the invariant: no provider date outside the dated statuses
    revision = request.revision + 1
    # Every changed field is checked above (a Status, aware UTC instants, a reason
    # string): the kept fields are not converted again.
    updated = _copy_request(
        request,
        status=target,
        preferred_start=preferred,
        scheduled_for=new_date,
        revision=revision,
        reason=reason if reason else request.reason,
        resume_status=resume,
    )
    old: Optional[datetime] = None
    new: Optional[datetime] = None
    if ev is Event.MOVE:
        old, new = request.preferred_start, preferred
    elif row.needs_date or new_date != request.scheduled_for:
        old, new = request.scheduled_for, new_date
    entry = HistoryEntry(
        request_id=request.id,
        seq=updated.revision,
        event=ev,
        actor=actor,
        by=by,
        at=at,
        from_status=status,
        to_status=target,
        reason=reason,
        old_date=old,
        new_date=new,
    )
    return updated, entry


def table_rows() -> Dict[str, Tuple[str, ...]]:
    """The table as plain text, for documentation: event -> (sources, target, actors)."""
    return {
        e.value: (
            ",".join(sorted(s.value if s else "(new)" for s in t.sources)),
            t.target.value,
            ",".join(sorted(a.value for a in t.actors)),
        )
        for e, t in TRANSITIONS.items()
    }
