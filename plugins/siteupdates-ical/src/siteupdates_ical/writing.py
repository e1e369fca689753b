"""Events of scheduled updates, written through ``icalendar``.

Every event has ``UID:<request id>@siteupdates``, times in UTC, a ``SEQUENCE``
that rises when the times change (so clients update it in place), and a
``STATUS``. All text goes through :func:`~siteupdates_ical.text.canonical_text`
and the library's escaping; nothing here writes content lines by hand.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Optional

import icalendar

from ._zones import UTC
from .text import canonical_text

__all__ = ["PRODID", "make_event", "new_calendar", "uid_for", "update_event"]

PRODID = "-//siteupdates//siteupdates-ical//EN"


def uid_for(request_id: str) -> str:
    """The UID of a request's event: stable for the life of the request."""
    return f"{canonical_text(request_id)}@siteupdates"


def new_calendar(name: Optional[str] = None, zone: Optional[str] = None) -> icalendar.Calendar:
    """An empty VCALENDAR; ``name`` and ``zone`` are hints for subscribing clients."""
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", "PUBLISH")
    if name is not None:
        # X- properties default to an unescaped type; the name is text.
        cal.add("X-WR-CALNAME", icalendar.vText(canonical_text(name)))
    if zone is not None:
        cal.add("X-WR-TIMEZONE", icalendar.vText(canonical_text(zone)))
    return cal


def make_event(
    uid: str,
    summary: str,
    start: datetime,
    end: datetime,
    *,
    sequence: int = 0,
    status: str = "CONFIRMED",
    stamp: Optional[datetime] = None,
    description: Optional[str] = None,
    alarms: Iterable[timedelta] = (),
) -> icalendar.Event:
    """One VEVENT in UTC; ``alarms`` are reminders this long before the start."""
    event = icalendar.Event()
    event.add("UID", canonical_text(uid))
    event.add("DTSTAMP", (stamp or datetime.now(UTC)).astimezone(UTC))
    event.add("DTSTART", start.astimezone(UTC))
    event.add("DTEND", end.astimezone(UTC))
    event.add("SUMMARY", canonical_text(summary))
    if description is not None:
        event.add("DESCRIPTION", canonical_text(description))
    event.add("SEQUENCE", sequence)
    event.add("STATUS", status)
    event.add("TRANSP", "OPAQUE")
    for before in alarms:
        alarm = icalendar.Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("DESCRIPTION", canonical_text(summary))
        alarm.add("TRIGGER", -before)
        event.add_component(alarm)
    return event


def update_event(
    event: icalendar.cal.Component,
    summary: str,
    start: datetime,
    end: datetime,
    *,
    status: str = "CONFIRMED",
    stamp: Optional[datetime] = None,
) -> bool:
    """Set an existing event's times, summary and status in place; True if it changed.

    Other properties (someone's note, a LOCATION) are kept. SEQUENCE rises when
    the times or the status change, as RFC 5545 asks for significant changes.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    summary = canonical_text(summary)
    old = (
        _instant_or_none(event, "DTSTART"),
        _instant_or_none(event, "DTEND"),
        str(event.get("STATUS", "CONFIRMED")).upper(),
    )
    significant = old != (start, end, status)
    if not significant and str(event.get("SUMMARY", "")) == summary:
        return False
    for prop in ("DTSTART", "DTEND", "DURATION", "SUMMARY", "STATUS", "DTSTAMP"):
        event.pop(prop, None)
    event.add("DTSTAMP", (stamp or datetime.now(UTC)).astimezone(UTC))
    event.add("DTSTART", start)
    event.add("DTEND", end)
    event.add("SUMMARY", summary)
    event.add("STATUS", status)
    if significant:
        sequence = int(event.get("SEQUENCE", 0)) + 1
        event.pop("SEQUENCE", None)
        event.add("SEQUENCE", sequence)
    return True


def _instant_or_none(event: icalendar.cal.Component, prop: str) -> Optional[datetime]:
    try:
        value = event.decoded(prop)
    except (KeyError, ValueError):
        return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return None
