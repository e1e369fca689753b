"""The messages a change of a request causes (R20): notices, reminders, calendar entries.

Pure values computed from the history entry of the change: who is told what,
and what a calendar shows. Each carries a stable ``key`` (request, history
sequence, kind, recipient) so a receiver can drop the duplicates that
at-least-once delivery may bring. The application layer writes them to the
outbox in the same unit of work as the change.

Notices are written for the contact: plain sentences in the contact's zone,
addressed by name; the planner's internal reasons ("planned first come, first
served: position 1") never reach them. Reminders come in a ladder before the
scheduled start (default 72, 24 and 1 hours before); each is keyed by the
history entry that set the date, so moving the date writes a new ladder under
new keys and the old one is withdrawn.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import attrs

from siteupdates.errors import InvalidInput

from .daycount import Days, days_earlier
from .lifecycle import BOOKED, Event, HistoryEntry
from .meanings import meaning_of
from .model import Contact, Status, Tenant, UpdateRequest
from .timeutil import format_clock, format_local_clock, format_local_day, parse_ts, to_local, ts

__all__ = [
    "CALENDAR_ACTIONS",
    "DEFAULT_REMINDERS",
    "NOTIFYING_EVENTS",
    "CalendarEntry",
    "Notice",
    "Reminder",
    "calendar_entry_for",
    "lead_label",
    "messages_for",
    "notice_for",
    "parse_ladder",
    "reminders_for",
    "provider_notice_for",
    "status_line",
]

_UTC = timezone.utc


#: The events a contact is told about, and the kind of notice each makes (R20).
NOTIFYING_EVENTS: Mapping[Event, str] = {
    Event.SUBMIT: "accepted",
    Event.SCHEDULE: "scheduled",
    Event.RESCHEDULE: "date-changed",
    Event.START: "started",
    Event.MOVE: "start-moved",
    Event.ASK_INPUT: "input-needed",
    Event.FAIL: "unable-to-complete",
    Event.SUPERSEDE: "superseded",
    Event.COMPLETE: "completed",
    Event.CANCEL: "cancelled",
    Event.POSTPONE: "date-changed",
    Event.APPROVE: "scheduled",
    Event.WITHDRAW: "cancelled",
    Event.FOLLOW_STAGING: "production-moved",
}


@attrs.frozen
class Notice:
    """One message to one contact about one change of a request.

    ``contact_name`` is the contact's name, for the greeting and the address
    (``"Dana Smith" <dana@example.org>``); empty in notices written by older
    releases.
    """

    key: str
    kind: str
    request_id: str
    tenant_id: str
    contact_id: str
    email: str
    subject: str
    body: str
    created_at: datetime
    contact_name: str = ""

    def to_payload(self) -> Dict[str, Any]:
        """The notice as JSON-safe data for the outbox."""
        # Every field is flat, so this is attrs.asdict without its recursion (spelled
        # out: every submit writes one; test_messages checks it against the fields).
        return {
            "key": self.key,
            "kind": self.kind,
            "request_id": self.request_id,
            "tenant_id": self.tenant_id,
            "contact_id": self.contact_id,
            "email": self.email,
            "subject": self.subject,
            "body": self.body,
            "created_at": ts(self.created_at),
            "contact_name": self.contact_name,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Notice:
        """A notice from outbox data (keys it does not know, such as a reminder's, are left)."""
        names = {f.name for f in attrs.fields(cls)}
        d = {k: v for k, v in payload.items() if k in names}
        d["created_at"] = parse_ts(d["created_at"])
        return cls(**d)


_NOTICE_FIELDS = tuple(f.name for f in attrs.fields(Notice))


@attrs.frozen
class CalendarEntry:
    """A scheduled update as a calendar sees it; ``action`` is publish, move or withdraw."""

    key: str
    action: str
    request_id: str
    tenant_id: str
    summary: str
    start: Optional[datetime]
    end: Optional[datetime]

    def to_payload(self) -> Dict[str, Any]:
        """The entry as JSON-safe data for the outbox."""
        d = attrs.asdict(self)
        d["start"], d["end"] = ts(self.start), ts(self.end)
        return d

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> CalendarEntry:
        """An entry from outbox data."""
        d = dict(payload)
        d["start"], d["end"] = parse_ts(d["start"]), parse_ts(d["end"])
        return cls(**d)


def _when(instant: Optional[datetime], zone: str) -> str:
    if instant is None:
        return "(no date)"
    local = to_local(instant, zone)  # once for both halves
    return f"{format_local_day(local)} at {format_local_clock(local)}"


def _what(request: UpdateRequest) -> str:
    if request.version is not None:
        what = f"update of {request.target.value} to {request.version}"
        if request.db_refresh:
            what += f" with a DB refresh of {request.target.refresh_site.value}"
        return what
    return f"DB refresh of {request.target.refresh_site.value}"


def _offline(request: UpdateRequest) -> str:
    """The sites an update takes offline, as words (R1: production with its sandbox)."""
    if request.version is None:
        return f"your {request.target.refresh_site.value} site"
    sites = [k.value for k in request.target.version_sites]
    return "your " + " and ".join(sites) + (" sites" if len(sites) > 1 else " site")


_SUBJECTS = {
    "accepted": "Request accepted",
    "scheduled": "Update scheduled",
    "date-changed": "Date changed",
    "start-moved": "Preferred start moved",
    "started": "Update started",
    "input-needed": "Input needed",
    "unable-to-complete": "Unable to complete",
    "superseded": "New version requested",
    "completed": "Update completed",
    "cancelled": "Request cancelled",
    "production-moved": "Production moved after staging",
    "reminder": "Reminder",
}

#: The kinds whose history reason the contact reads, and how it is labelled. Others
#: (a schedule's planner reason, a worker's take-over) are the provider's own.
_TOLD_REASONS = {
    "date-changed": "Reason",
    "input-needed": "Question",
    "unable-to-complete": "Reason",
    "superseded": "Reason",
    "cancelled": "Reason",
    "production-moved": "Reason",
}


def _greeting(contact: Contact) -> str:
    return f"Hello {contact.name}," if contact.name else "Hello,"


def status_line(status: Status, meanings: Optional[Mapping[Status, str]] = None) -> str:
    """A notice's status line: ``Status: Deferred.`` and what the status means."""
    return f"Status: {status.label}. {meaning_of(status, meanings)}"


def notice_for(
    request: UpdateRequest,
    entry: HistoryEntry,
    tenant: Tenant,
    contact: Contact,
    default_zone: str,
    *,
    duration: Optional[timedelta] = None,
    meanings: Optional[Mapping[Status, str]] = None,
) -> Optional[Notice]:
    """The notice ``entry`` sends to ``contact``, or None when the event tells no one.

    ``duration`` (the preset's update length) lets a start notice say until when
    the site is offline. Every notice ends with the request's status and what it
    means, in the provider's words from ``meanings`` where it has some
    (:func:`~siteupdates.domain.meanings.meaning_of`). Warnings are shown without
    their rule IDs: those are the provider's.
    """
    kind = NOTIFYING_EVENTS.get(entry.event)
    if kind is None:
        return None
    zone = contact.zone or default_zone
    short = request.short_id
    lines = [
        _greeting(contact),
        "",
        f"{tenant.name}: {_what(request)} (request {short}).",
    ]
    if kind == "accepted":
        lines.append(f"Preferred start: {_when(request.preferred_start, zone)}.")
        if request.warnings:
            lines.extend(f"Note: {w.message}" for w in request.warnings)
    elif kind == "scheduled":
        lines.append(f"Scheduled for {_when(request.scheduled_for, zone)}.")
        if request.scheduled_for != request.preferred_start:
            lines.append(
                f"This differs from the time you asked for, "
                f"{_when(request.preferred_start, zone)}."
            )
    elif kind == "date-changed":
        lines.append(
            f"The date moved from {_when(entry.old_date, zone)} to {_when(entry.new_date, zone)}."
        )
    elif kind == "production-moved":
        lines.append(
            f"Staging moved or finished later, so production moved from "
            f"{_when(entry.old_date, zone)} to {_when(entry.new_date, zone)}: it waits "
            "the soak after staging, and still goes ahead only once staging has completed."
        )
    elif kind == "started":
        text = f"The work has started: {_offline(request)} may be offline"
        if duration is not None:
            text += f" until about {_when(entry.at + duration, zone)}"
        lines.append(text + ". We will tell you when it is done.")
    elif kind == "completed":
        if request.version is not None:
            sites = " and ".join(k.value for k in request.target.version_sites)
            lines.append(f"Done: {sites} now run{'s' if ' and ' not in sites else ''} "
                         f"{request.version}.")  # fmt: skip
        if request.db_refresh:
            lines.append(
                f"The {request.target.refresh_site.value} database was refreshed from production."
            )
    elif kind == "start-moved":
        lines.append(
            f"The preferred start moved from {_when(entry.old_date, zone)} to "
            f"{_when(entry.new_date, zone)}. The request keeps its place in the queue; "
            "you will be told its date once it is planned."
        )
    label = _TOLD_REASONS.get(kind)
    if label and entry.reason:
        lines.append(f"{label}: {entry.reason}")
    lines.append(status_line(request.status, meanings))
    return Notice(
        key=f"{request.id}:{entry.seq}:{kind}",
        kind=kind,
        request_id=request.id,
        tenant_id=tenant.id,
        contact_id=contact.id,
        email=contact.email,
        subject=f"{_SUBJECTS[kind]}: {tenant.name}, request {short}",
        body="\n".join(lines),
        created_at=entry.at,
        contact_name=contact.name,
    )


#: The reminder ladder when the setup file sets none: 72, 24 and 1 hours before.
DEFAULT_REMINDERS: Tuple[timedelta, ...] = (
    timedelta(hours=72),
    timedelta(hours=24),
    timedelta(hours=1),
)

_UNITS = {"d": 86400, "h": 3600, "m": 60}


def parse_ladder(value: Any) -> Tuple[timedelta, ...]:
    """A reminder ladder from the setup file: ``["72h", "24h", "1h"]`` (also ``d``, ``m``).

    Plain numbers are hours. The result is longest lead first, without repeats;
    an empty list means no reminders. InvalidInput names a value it cannot read.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise InvalidInput(
            f'reminders must be a list such as ["72h", "24h", "1h"], not {value!r}', value
        )
    leads: Set[timedelta] = set()
    for item in value:
        seconds: Optional[float] = None
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            seconds = float(item) * 3600
        elif isinstance(item, str) and item.strip()[-1:].lower() in _UNITS:
            try:
                seconds = float(item.strip()[:-1]) * _UNITS[item.strip()[-1].lower()]
            except ValueError:
                seconds = None
        if seconds is None or not (0 < seconds < 366 * 86400):
            raise InvalidInput(
                f'reminder {item!r} is not a lead time such as "72h", "90m" or "2d" '
                "(positive, under a year)",
                item,
            )
        if isinstance(item, str) and item.strip()[-1].lower() == "d" and seconds % 86400 == 0:
            # Written in days: counted on the contact's calendar (docs/time.md).
            leads.add(Days(int(seconds // 86400)))
        else:
            leads.add(timedelta(seconds=round(seconds)))
    return tuple(sorted(leads, reverse=True))


def lead_label(lead: timedelta) -> str:
    """A lead time as a short label for keys: ``72h``, ``90m``, ``2d`` (written in days)."""
    if isinstance(lead, Days):
        return f"{lead.days}d"
    minutes = int(lead.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def _lead_words(lead: timedelta) -> str:
    if isinstance(lead, Days):
        return "1 day" if lead.days == 1 else f"{lead.days} days"
    minutes = int(lead.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return "1 hour" if hours == 1 else f"{hours} hours"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


@attrs.frozen
class Reminder:
    """A notice due at ``fires_at``, ``lead`` before the scheduled ``start``.

    ``next_at`` is when the next, shorter reminder of the ladder fires (None for
    the last): a deliverer that comes to this one after ``next_at`` skips it,
    so a late deliverer sends one reminder, not a burst.
    """

    notice: Notice
    fires_at: datetime
    start: datetime
    lead: timedelta
    next_at: Optional[datetime]

    def to_payload(self) -> Dict[str, Any]:
        """The notice's payload with the reminder's times."""
        d = self.notice.to_payload()
        d.update(
            fires_at=ts(self.fires_at),
            start=ts(self.start),
            lead_seconds=int(self.lead.total_seconds()),
            next_at=ts(self.next_at),
        )
        return d


def _fires(start: datetime, lead: timedelta, zone: str) -> datetime:
    return days_earlier(start, lead, zone) if isinstance(lead, Days) else start - lead


def reminders_for(
    request: UpdateRequest,
    entry: HistoryEntry,
    tenant: Tenant,
    recipients: Sequence[Contact],
    *,
    ladder: Sequence[timedelta],
    now: datetime,
    default_zone: str,
    duration: Optional[timedelta] = None,
    per_recipient_keys: bool = False,
) -> List[Reminder]:
    """The reminders ``entry`` arms: one per rung still ahead, per recipient.

    Every change that leaves a request Scheduled arms a ladder for its date: a
    schedule, a new date (reschedule, postpone), and a return to the date the
    request kept (an answer to a question, staged production approved, a worker
    releasing it). Every change from Scheduled withdraws the pending ones
    (:func:`siteupdates.app.changes.transition`), so one ladder is pending at a
    time. Rungs already past at ``now`` (a request scheduled late) are skipped.
    """
    start = request.scheduled_for
    if entry.to_status is not Status.SCHEDULED or request.status is not Status.SCHEDULED:
        return []
    if start is None:
        return []
    out: List[Reminder] = []
    for contact in recipients:
        zone = contact.zone or default_zone
        # A rung written in days fires at the same wall time so many dates before,
        # on the contact's calendar; one in hours or minutes, that long before.
        fires: Dict[datetime, timedelta] = {}
        for lead in sorted(set(ladder), reverse=True):  # two rungs at one time: one reminder
            fires.setdefault(_fires(start, lead, zone), lead)
        times = sorted(fires.items(), key=lambda x: x[0])
        rungs = [(at, lead) for at, lead in times if at > now]
        for i, (at, lead) in enumerate(rungs):
            next_at = rungs[i + 1][0] if i + 1 < len(rungs) else None
            lines = [
                _greeting(contact),
                "",
                f"{tenant.name}: the {_what(request)} (request {request.short_id}) starts in "
                f"{_lead_words(lead)}, on {_when(start, zone)}.",
            ]
            if duration is not None:
                lines.append(
                    f"{_offline(request).capitalize()} may be offline until about "
                    f"{format_clock(start + duration, zone)}."
                )
            key = f"{request.id}:{entry.seq}:reminder-{lead_label(lead)}"
            if per_recipient_keys:
                key += f":{contact.id}"
            notice = Notice(
                key=key,
                kind="reminder",
                request_id=request.id,
                tenant_id=tenant.id,
                contact_id=contact.id,
                email=contact.email,
                subject=f"Reminder: {tenant.name}, request {request.short_id} starts in "
                f"{_lead_words(lead)}",
                body="\n".join(lines),
                created_at=entry.at,
                contact_name=contact.name,
            )
            out.append(Reminder(notice, at, start, lead, next_at))
    out.sort(key=lambda m: m.fires_at)  # rung by rung, each in the recipients' order
    return out


#: What a calendar does for each event that moves a booked date.
CALENDAR_ACTIONS: Mapping[Event, str] = {
    Event.SCHEDULE: "publish",
    Event.RESCHEDULE: "move",
    Event.MOVE: "withdraw",
    Event.CANCEL: "withdraw",
    Event.SUPERSEDE: "withdraw",
    Event.DEFER: "withdraw",
    Event.FAIL: "withdraw",
    Event.POSTPONE: "move",
    Event.APPROVE: "publish",
    Event.WITHDRAW: "withdraw",
    Event.FOLLOW_STAGING: "move",
}


def calendar_entry_for(
    request: UpdateRequest, entry: HistoryEntry, tenant: Tenant, duration: timedelta
) -> Optional[CalendarEntry]:
    """The calendar change ``entry`` causes, or None (a withdraw only of a dated request)."""
    action = CALENDAR_ACTIONS.get(entry.event)
    if action is None:
        return None
    # Withdraw only what a calendar shows: a booked date, or one kept while Pending Input.
    if action == "withdraw" and not (
        entry.from_status in BOOKED
        or (entry.from_status is Status.PENDING_INPUT and entry.old_date is not None)
    ):
        return None
    start = request.scheduled_for if action != "withdraw" else None
    what = str(request.version) if request.version else "DB refresh"
    return CalendarEntry(
        key=f"{request.id}:{entry.seq}:calendar",
        action=action,
        request_id=request.id,
        tenant_id=tenant.id,
        summary=f"{tenant.name}: {request.target.value} {what}",
        start=start,
        end=None if start is None else start + duration,
    )


def provider_notice_for(
    request: UpdateRequest,
    entry: HistoryEntry,
    tenant: Tenant,
    *,
    email: Optional[str],
    zone: str,
) -> Optional[Notice]:
    """The notice a contact's change tells the provider (their reschedule), or None.

    Addressed to ``contact_id`` ``provider`` at the preset's ``email`` (empty when
    none is set: notifiers that need an address leave it to the others).
    """
    if entry.event is not Event.MOVE:
        return None
    lines = [
        f"{tenant.name}: contact {entry.by} moved the preferred start of request "
        f"{request.short_id} from {_when(entry.old_date, zone)} to {_when(entry.new_date, zone)}.",
    ]
    if entry.from_status is Status.SCHEDULED:
        lines.append("The date you had set is withdrawn; the request waits in the queue again.")
    lines.append("It keeps its first-come place in the queue (submitted "
                 f"{_when(request.requested_at, zone)}).")  # fmt: skip
    return Notice(
        key=f"{request.id}:{entry.seq}:start-moved:provider",
        kind="start-moved",
        request_id=request.id,
        tenant_id=tenant.id,
        contact_id="provider",
        email=email or "",
        subject=f"Contact moved a request: {tenant.name}, request {request.short_id}",
        body="\n".join(lines),
        created_at=entry.at,
    )


def messages_for(
    request: UpdateRequest,
    entry: HistoryEntry,
    tenant: Tenant,
    recipients: Sequence[Contact],
    *,
    default_zone: str,
    duration: timedelta,
    per_recipient_keys: bool,
    meanings: Optional[Mapping[Status, str]] = None,
) -> Tuple[List[Notice], Optional[CalendarEntry]]:
    """Every notice and the calendar entry that ``entry`` causes.

    ``per_recipient_keys`` adds the contact to each notice key: needed when one
    change tells several contacts (a provider-made request tells every contact
    of the tenant), so that each notice keeps a key of its own.
    """
    notices: List[Notice] = []
    for contact in recipients:
        notice = notice_for(
            request, entry, tenant, contact, default_zone, duration=duration, meanings=meanings
        )
        if notice is not None:
            if per_recipient_keys:
                notice = attrs.evolve(notice, key=f"{notice.key}:{contact.id}")
            notices.append(notice)
    return notices, calendar_entry_for(request, entry, tenant, duration)
