"""What contacts are told (R20), as values written to the outbox.

A :class:`Notice` is built inside the unit of work that causes it and carries a
stable ``key`` (request, history sequence, kind) so a notifier can drop the
duplicates that at-least-once delivery may bring.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Mapping, Optional

import attrs

from siteupdates.builtin.codec import parse_ts, ts
from siteupdates.domain import Contact, Event, HistoryEntry, Tenant, UpdateRequest
from siteupdates.domain.views import format_clock, format_day

__all__ = ["NOTIFYING_EVENTS", "CalendarEntry", "Notice", "notice_for"]

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
    lines = [f"{tenant.name}: {what} (request {request.id})."]
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
        subject=f"{subject_of[kind]}: {tenant.name}, request {request.id}",
        body="\n".join(lines),
        created_at=entry.at,
    )
