"""The messages a change of a request causes (R20): notices and calendar entries.

Pure values computed from the history entry of the change: who is told what,
and what a calendar shows. Each carries a stable ``key`` (request, history
sequence, kind, recipient) so a receiver can drop the duplicates that
at-least-once delivery may bring. The application layer writes them to the
outbox in the same unit of work as the change.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import attrs

from .lifecycle import Event, HistoryEntry
from .model import Contact, Tenant, UpdateRequest
from .views import format_clock, format_day

__all__ = [
    "CALENDAR_ACTIONS",
    "NOTIFYING_EVENTS",
    "CalendarEntry",
    "Notice",
    "calendar_entry_for",
    "messages_for",
    "notice_for",
]

_UTC = timezone.utc


def ts(value: Optional[datetime]) -> Optional[str]:
    """A UTC instant as fixed-width ISO text (text order is time order), or None."""
    if value is None:
        return None
    # Zero-padded by hand: strftime("%Y") drops the padding of years below 1000.
    u = value.astimezone(_UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:"
        f"{u.second:02d}.{u.microsecond:06d}+00:00"
    )


_TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?[+-]\d{2}:\d{2}")


def parse_ts(value: Any) -> Optional[datetime]:
    """Stored text (or a driver's datetime) back to an aware UTC datetime, or None.

    Text is read strictly: the fixed form :func:`ts` writes (four-digit year,
    offset required); anything else is a ValueError naming what was found.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(_UTC) if value.tzinfo else value.replace(tzinfo=_UTC)
    text = str(value)
    if not _TS.fullmatch(text):
        raise ValueError(f"stored instant {text[:40]!r} is not YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM")
    return datetime.fromisoformat(text).astimezone(_UTC)


#: The events a contact is told about, and the kind of notice each makes (R20).
NOTIFYING_EVENTS: Mapping[Event, str] = {
    Event.SUBMIT: "accepted",
    Event.SCHEDULE: "scheduled",
    Event.RESCHEDULE: "date-changed",
    Event.ASK_INPUT: "input-needed",
    Event.FAIL: "unable-to-complete",
    Event.SUPERSEDE: "superseded",
    Event.COMPLETE: "completed",
    Event.CANCEL: "cancelled",
}


@attrs.frozen
class Notice:
    """One message to one contact about one change of a request."""

    key: str
    kind: str
    request_id: str
    tenant_id: str
    contact_id: str
    email: str
    subject: str
    body: str
    created_at: datetime

    def to_payload(self) -> Dict[str, Any]:
        """The notice as JSON-safe data for the outbox."""
        d = attrs.asdict(self)
        d["created_at"] = ts(self.created_at)
        return d

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Notice:
        """A notice from outbox data."""
        d = dict(payload)
        d["created_at"] = parse_ts(d["created_at"])
        return cls(**d)


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
    return f"{format_day(instant, zone)} at {format_clock(instant, zone)}"


def notice_for(
    request: UpdateRequest,
    entry: HistoryEntry,
    tenant: Tenant,
    contact: Contact,
    default_zone: str,
) -> Optional[Notice]:
    """The notice ``entry`` sends to ``contact``, or None when the event tells no one."""
    kind = NOTIFYING_EVENTS.get(entry.event)
    if kind is None:
        return None
    zone = contact.zone or default_zone
    what = (
        f"update of {request.target.value} to {request.version}"
        if request.version is not None
        else f"DB refresh of {request.target.refresh_site.value}"
    )
    if request.version is not None and request.db_refresh:
        what += f" with a DB refresh of {request.target.refresh_site.value}"
    subject_of = {
        "accepted": "Request accepted",
        "scheduled": "Update scheduled",
        "date-changed": "Date changed",
        "input-needed": "Input needed",
        "unable-to-complete": "Unable to complete",
        "superseded": "New version requested",
        "completed": "Update completed",
        "cancelled": "Request cancelled",
    }
    lines = [f"{tenant.name}: {what} (request {request.short_id})."]
    if kind == "accepted":
        lines.append(f"Preferred start: {_when(request.preferred_start, zone)}.")
        lines.extend(f"Note: {w}" for w in request.warnings)
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
    if entry.reason and kind != "accepted":
        label = {"input-needed": "Question", "unable-to-complete": "Reason"}.get(kind, "Reason")
        lines.append(f"{label}: {entry.reason}")
    return Notice(
        key=f"{request.id}:{entry.seq}:{kind}",
        kind=kind,
        request_id=request.id,
        tenant_id=tenant.id,
        contact_id=contact.id,
        email=contact.email,
        subject=f"{subject_of[kind]}: {tenant.name}, request {request.short_id}",
        body="\n".join(lines),
        created_at=entry.at,
    )


#: What a calendar does for each event that moves a booked date.
CALENDAR_ACTIONS: Mapping[Event, str] = {
    Event.SCHEDULE: "publish",
    Event.RESCHEDULE: "move",
    Event.CANCEL: "withdraw",
    Event.SUPERSEDE: "withdraw",
    Event.DEFER: "withdraw",
    Event.FAIL: "withdraw",
}


def calendar_entry_for(
    request: UpdateRequest, entry: HistoryEntry, tenant: Tenant, duration: timedelta
) -> Optional[CalendarEntry]:
    """The calendar change ``entry`` causes, or None (a withdraw only of a dated request)."""
    action = CALENDAR_ACTIONS.get(entry.event)
    if action is None:
        return None
    if action == "withdraw" and (entry.from_status is None or request.scheduled_for is None):
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


def messages_for(
    request: UpdateRequest,
    entry: HistoryEntry,
    tenant: Tenant,
    recipients: Sequence[Contact],
    *,
    default_zone: str,
    duration: timedelta,
    per_recipient_keys: bool,
) -> Tuple[List[Notice], Optional[CalendarEntry]]:
    """Every notice and the calendar entry that ``entry`` causes.

    ``per_recipient_keys`` adds the contact to each notice key: needed when one
    change tells several contacts (a provider-made request tells every contact
    of the tenant), so that each notice keeps a key of its own.
    """
    notices: List[Notice] = []
    for contact in recipients:
        notice = notice_for(request, entry, tenant, contact, default_zone)
        if notice is not None:
            if per_recipient_keys:
                notice = attrs.evolve(notice, key=f"{notice.key}:{contact.id}")
            notices.append(notice)
    return notices, calendar_entry_for(request, entry, tenant, duration)
