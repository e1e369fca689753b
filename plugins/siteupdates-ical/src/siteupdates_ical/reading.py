"""Blackout periods from the calendars people export (Outlook, Google, Apple, CalDAV).

Parsing is ``icalendar``'s (byte order marks, folding, quoted parameters,
VTIMEZONE and Windows zone names); recurrences are expanded by
``recurring-ical-events`` (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides,
DURATION, all-day and floating events). This module adds what blackouts need:

- cancelled (``STATUS:CANCELLED``) and free (``TRANSP:TRANSPARENT``) events and
  occurrences do not block;
- floating times and all-day dates are read in the calendar owner's zone;
- a yearly event on 29 February also blocks 28 February of common years (the
  calendar shows it only in leap years, but the provider's intent is "every year",
  and blocking a day too many is the safe side);
- one event that cannot be read is reported with its UID and line and the others
  still count; a calendar that cannot be read at all raises.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple, Union

import attrs
import icalendar
import recurring_ical_events

from siteupdates.errors import ConfigurationError

from ._zones import UTC, instant

__all__ = ["Period", "Problem", "parse_calendar", "periods_in", "utc_range"]

log = logging.getLogger("siteupdates_ical")

#: Properties whose damage makes an event's times unknowable.
_TIME_PROPS = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID")


@attrs.frozen
class Period:
    """One blocking occurrence of a calendar event, as UTC instants."""

    name: str
    start: datetime
    end: datetime
    uid: str


@attrs.frozen
class Problem:
    """An event that could not be read: where it is and why."""

    source: str
    uid: str
    line: Optional[int]
    reason: str

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line is not None else ""
        return f"{self.source}: event {self.uid or '(no UID)'}{where}: {self.reason}"


def parse_calendar(data: Union[bytes, str], source: str) -> icalendar.Calendar:
    """The calendar in ``data``; a ConfigurationError names ``source`` and the reason."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        cal = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigurationError(f"cannot read calendar {source}: {reason}") from None
    if not isinstance(cal, icalendar.Calendar) or cal.name != "VCALENDAR":
        raise ConfigurationError(f"cannot read calendar {source}: no VCALENDAR")
    return cal


def _line_of(text: List[str], uid: str) -> Optional[int]:
    wanted = f"UID:{uid}"
    for number, line in enumerate(text, start=1):
        if line.rstrip("\r") == wanted:
            return number
    return None


def _by_uid(cal: icalendar.Calendar) -> Dict[str, List[icalendar.cal.Component]]:
    groups: Dict[str, List[icalendar.cal.Component]] = {}
    for event in cal.walk("VEVENT"):
        groups.setdefault(str(event.get("UID", "")), []).append(event)
    return groups


def _blocks(component: Any) -> bool:
    status = str(component.get("STATUS", "CONFIRMED")).upper()
    transp = str(component.get("TRANSP", "OPAQUE")).upper()
    return status != "CANCELLED" and transp != "TRANSPARENT"


def _leap_day_extras(
    master: icalendar.cal.Component, zone: str, start: datetime, end: datetime
) -> List[Tuple[datetime, datetime]]:
    """28 February stand-ins for a plain yearly 29 February event, in common years."""
    rules = master.get("RRULE")
    if rules is None or isinstance(rules, list) or "DTSTART" not in master:
        return []
    rule = {k.upper(): v for k, v in rules.items()}
    if [str(f).upper() for f in rule.get("FREQ", [])] != ["YEARLY"] or "COUNT" in rule:
        return []
    if set(rule) - {"FREQ", "UNTIL", "INTERVAL", "BYMONTH", "BYMONTHDAY", "WKST"}:
        return []
    first = master.decoded("DTSTART")
    if (first.month, first.day) != (2, 29) or int(rule.get("INTERVAL", [1])[0]) != 1:
        return []
    first_start = instant(first, zone)
    length = _end_of(master, zone) - first_start
    until = rule.get("UNTIL", [None])[0]
    until_instant = None if until is None else instant(until, zone)
    excluded: Set[date] = set()
    for ex in _as_list(master.get("EXDATE")):
        excluded.update(_to_date(d.dt) for d in ex.dts)
    out = []
    for year in range(max(first.year + 1, start.year - 1), end.year + 2):
        if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
            continue
        day = first.replace(year=year, day=28)
        if _to_date(day) in excluded:
            continue
        s = instant(day, zone)
        if until_instant is not None and s > until_instant:
            break
        out.append((s, s + length))
    return out


def _as_list(value: Any) -> List[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _to_date(value: Union[date, datetime]) -> date:
    return value.date() if isinstance(value, datetime) else value


def _end_of(event: Any, zone: str) -> datetime:
    first: Union[date, datetime] = event.decoded("DTSTART")
    if "DTEND" in event:
        return instant(event.decoded("DTEND"), zone)
    if "DURATION" in event:
        length: timedelta = event.decoded("DURATION")
        return instant(first, zone) + length
    if isinstance(first, datetime):
        return instant(first, zone)
    return instant(first + timedelta(days=1), zone)


def periods_in(
    cal: icalendar.Calendar,
    *,
    source: str,
    zone: str,
    start: datetime,
    end: datetime,
    text: Optional[Union[bytes, str]] = None,
) -> Tuple[List[Period], List[Problem]]:
    """The blocking occurrences of ``cal`` that overlap ``start``..``end``, and its problems.

    ``zone`` reads floating times and all-day dates; ``X-WR-TIMEZONE`` of the
    calendar wins over it, as the calendar's owner set it. ``text`` (the raw
    file) only serves to name the line of a broken event.
    """
    zone = str(cal.get("X-WR-TIMEZONE", "") or zone)
    lines: List[str] = []
    if text is not None:
        raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        lines = raw.replace("\r\n", "\n").split("\n")
    # Widened by a day so that all-day and floating events, whose instants
    # depend on the zone, are not cut off before they are converted.
    lo, hi = start - timedelta(days=1), end + timedelta(days=1)
    periods: List[Period] = []
    problems: List[Problem] = []
    zones = list(cal.walk("VTIMEZONE"))
    for uid, events in _by_uid(cal).items():
        try:
            periods.extend(_expand(uid, events, zones, zone, lo, hi))
        except Exception as exc:  # one bad event must not hide the others
            broken = [f"{n}: {msg}" for e in events for n, msg in e.errors if n in _TIME_PROPS]
            reason = broken[0] if broken else (str(exc).splitlines() or [type(exc).__name__])[0]
            problem = Problem(source, uid, _line_of(lines, uid), reason)
            log.warning("blackout calendar %s; the other events still count", problem)
            problems.append(problem)
    kept = [p for p in periods if p.start < end and p.end > start]
    return sorted(kept, key=lambda p: (p.start, p.end, p.uid)), problems


def _expand(
    uid: str,
    events: Iterable[icalendar.cal.Component],
    zones: Iterable[Any],
    zone: str,
    lo: datetime,
    hi: datetime,
) -> List[Period]:
    one = icalendar.Calendar()
    for tz in zones:
        one.add_component(tz)
    masters = []
    for event in events:
        if "DTSTART" not in event:
            raise ConfigurationError("no DTSTART")
        one.add_component(event)
        if "RECURRENCE-ID" not in event:
            masters.append(event)
    out: List[Period] = []
    for occ in recurring_ical_events.of(one).between(lo, hi):
        if not _blocks(occ):
            continue
        s = instant(occ.decoded("DTSTART"), zone)
        e = _end_of(occ, zone)
        if e > s:
            out.append(Period(str(occ.get("SUMMARY", uid)), s, e, uid))
    for master in masters:
        if _blocks(master):
            name = str(master.get("SUMMARY", uid))
            out.extend(Period(name, s, e, uid) for s, e in _leap_day_extras(master, zone, lo, hi))
    return out


def utc_range(start: datetime, end: datetime) -> Tuple[str, str]:
    """``start`` and ``end`` as CalDAV time-range values (``20260101T000000Z``)."""
    fmt = "%Y%m%dT%H%M%SZ"
    return start.astimezone(UTC).strftime(fmt), end.astimezone(UTC).strftime(fmt)
