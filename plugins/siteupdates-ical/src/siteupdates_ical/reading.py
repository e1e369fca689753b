"""Blackout periods from the calendars people export (Outlook, Google, Apple, CalDAV).

Parsing is ``icalendar``'s (quoted parameters, VTIMEZONE and Windows zone
names); recurrences are expanded by ``recurring-ical-events`` (RRULE, RDATE,
EXDATE, RECURRENCE-ID overrides, DURATION, all-day and floating events). This
module adds what blackouts need, read the way the calendar's owner meant it:

- an event in a blackout calendar blocks whatever its free/busy flag says
  (Google and Exchange mark most all-day events ``TRANSP:TRANSPARENT``); a
  source may opt in to honouring ``TRANSP``. Cancelled events and occurrences
  (``STATUS:CANCELLED``) never block;
- the file's octets are unfolded before they are decoded (a fold may split a
  UTF-8 character), as UTF-8 or the charset the server named; a file that is not
  UTF-8 is read as Windows-1252 and reported;
- a file may hold several ``VCALENDAR`` objects;
- floating times and all-day dates are read in the calendar owner's zone
  (``X-WR-TIMEZONE``, a Windows name mapped to its IANA zone);
- a yearly event on 29 February occurs in leap years only (RFC 5545), and its
  name says so;
- what cannot be read as meant is reported as a :class:`Problem` with the UID
  and source, never dropped silently: an unreadable event (the others still
  count), events sharing a UID (each still blocks), an unknown zone name, and
  siteupdates 0.1.0's ``X-SITEUPDATES-TENANT`` property (configuration replaces it).
A calendar that cannot be read at all raises.
"""

from __future__ import annotations

import codecs
import logging
import re
from datetime import date, datetime, timedelta
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import attrs
import icalendar
import recurring_ical_events

from siteupdates.errors import ConfigurationError

from ._zones import UTC, WINDOWS_TO_OLSON, instant, known_zone

__all__ = [
    "TENANT_PROPERTY",
    "Period",
    "Problem",
    "decode_calendar",
    "parse_calendar",
    "parse_calendars",
    "periods_in",
    "utc_range",
]

log = logging.getLogger("siteupdates_ical")

#: Properties whose damage makes an event's times unknowable.
_TIME_PROPS = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID")
#: Properties that may name a zone with a TZID parameter.
_ZONED_PROPS = ("DTSTART", "DTEND", "RDATE", "EXDATE", "RECURRENCE-ID")
#: siteupdates 0.1.0 read a calendar's tenant from this property; configuration does now.
TENANT_PROPERTY = "X-SITEUPDATES-TENANT"
#: What a yearly 29 February event's name says, so ``explain`` shows the rule.
LEAP_NOTE = " (29 February: leap years only)"
_FOLD = re.compile(rb"\r?\n[ \t]")


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


def decode_calendar(data: Union[bytes, str], charset: Optional[str] = None) -> Tuple[str, str]:
    """The text of a calendar file, and a note when it was not UTF-8 ('' when it was).

    The octets are unfolded first (RFC 5545 3.1: a fold may split a multi-byte
    character), then decoded with ``charset`` (a server's ``Content-Type``) or
    UTF-8; a file that is neither is read as Windows-1252, Latin-1's superset.
    """
    if isinstance(data, str):
        return data, ""
    raw = _FOLD.sub(b"", data)
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    for name in (charset, "utf-8"):
        if not name:
            continue
        try:
            return raw.decode(name), ""
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        return raw.decode("cp1252"), "not UTF-8: read as Windows-1252 (Latin-1)"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "not UTF-8: read as Latin-1"


def parse_calendars(
    data: Union[bytes, str], source: str, charset: Optional[str] = None
) -> List[icalendar.Calendar]:
    """Every VCALENDAR in ``data``; a ConfigurationError names ``source`` and the reason."""
    text, _ = decode_calendar(data, charset)
    try:
        found = icalendar.Calendar.from_ical(text, multiple=True)
    except (ValueError, IndexError, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigurationError(f"cannot read calendar {source}: {reason}") from None
    cals = [c for c in found if isinstance(c, icalendar.Calendar) and c.name == "VCALENDAR"]
    if not cals:
        raise ConfigurationError(f"cannot read calendar {source}: no VCALENDAR")
    return cals


def parse_calendar(data: Union[bytes, str], source: str) -> icalendar.Calendar:
    """The first calendar in ``data`` (see :func:`parse_calendars` for all of them)."""
    return parse_calendars(data, source)[0]


def _line_of(text: List[str], uid: str) -> Optional[int]:
    wanted = f"UID:{uid}"
    for number, line in enumerate(text, start=1):
        if line.rstrip("\r") == wanted:
            return number
    return None


def _by_uid(cal: icalendar.Calendar) -> List[Tuple[str, List[icalendar.cal.Component]]]:
    groups: Dict[str, List[icalendar.cal.Component]] = {}
    alone: List[Tuple[str, List[icalendar.cal.Component]]] = []
    for event in cal.walk("VEVENT"):
        uid = str(event.get("UID", ""))
        if uid:
            groups.setdefault(uid, []).append(event)
        else:  # no UID: nothing links it to another event
            alone.append((uid, [event]))
    return list(groups.items()) + alone


def _blocks(component: Any, honour_transp: bool) -> bool:
    if str(component.get("STATUS", "CONFIRMED")).upper() == "CANCELLED":
        return False
    return not honour_transp or str(component.get("TRANSP", "OPAQUE")).upper() != "TRANSPARENT"


def _leap_yearly(master: icalendar.cal.Component) -> bool:
    """Whether ``master`` is a yearly event on 29 February (it occurs in leap years only)."""
    rules = master.get("RRULE")
    if rules is None or isinstance(rules, list) or "DTSTART" not in master:
        return False
    freq = [str(f).upper() for f in rules.get("FREQ", [])]
    first = master.decoded("DTSTART")
    return freq == ["YEARLY"] and (first.month, first.day) == (2, 29)


def _owner_zone(cal: icalendar.Calendar, zone: str) -> Tuple[str, Optional[str]]:
    """The zone of floating times and all-day dates, and a problem with X-WR-TIMEZONE."""
    named = str(cal.get("X-WR-TIMEZONE", "") or "").strip()
    if not named:
        return zone, None
    if known_zone(named):
        return named, None
    if named in WINDOWS_TO_OLSON:
        return WINDOWS_TO_OLSON[named], None
    return zone, (
        f"X-WR-TIMEZONE {named!r} is not a known zone name (IANA or Windows): floating "
        f"times and all-day dates are read in {zone}, the source's zone"
    )


def _unknown_tzids(event: Any, defined: Iterable[str]) -> List[str]:
    found = []
    for prop in _ZONED_PROPS:
        for value in _as_list(event.get(prop)):
            tzid = getattr(value, "params", {}).get("TZID")
            if tzid is None or tzid in defined or tzid in found:
                continue
            if not known_zone(str(tzid)) and str(tzid) not in WINDOWS_TO_OLSON:
                found.append(str(tzid))
    return found


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
    honour_transp: bool = False,
) -> Tuple[List[Period], List[Problem]]:
    """The blocking occurrences of ``cal`` that overlap ``start``..``end``, and its problems.

    ``zone`` reads floating times and all-day dates; ``X-WR-TIMEZONE`` of the
    calendar wins over it, as the calendar's owner set it. Every event blocks but
    cancelled ones; with ``honour_transp`` those marked free do not either.
    ``text`` (the raw file) only serves to name the line of a broken event.
    """
    problems: List[Problem] = []

    def report(uid: str, reason: str, line: Optional[int] = None) -> None:
        problem = Problem(source, uid, line, reason)
        log.warning("blackout calendar %s", problem)
        problems.append(problem)

    zone, zone_problem = _owner_zone(cal, zone)
    if zone_problem:
        report("", zone_problem)
    lines: List[str] = []
    if text is not None:
        raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        lines = raw.replace("\r\n", "\n").split("\n")
    if TENANT_PROPERTY in cal:
        report("", _tenant_property_reason(str(cal[TENANT_PROPERTY])))
    # Widened by a day so that all-day and floating events, whose instants
    # depend on the zone, are not cut off before they are converted.
    lo, hi = start - timedelta(days=1), end + timedelta(days=1)
    periods: List[Period] = []
    zones = list(cal.walk("VTIMEZONE"))
    defined = {str(z.get("TZID", "")) for z in zones}
    for uid, events in _by_uid(cal):
        line = _line_of(lines, uid) if uid else None
        for event in events:
            if TENANT_PROPERTY in event:
                report(uid, _tenant_property_reason(str(event[TENANT_PROPERTY])), line)
            for tzid in _unknown_tzids(event, defined):
                report(uid, f"TZID {tzid!r} has no VTIMEZONE and is not a known zone name "
                            f"(IANA or Windows): its times are read in {zone}", line)  # fmt: skip
        masters = [e for e in events if "RECURRENCE-ID" not in e]
        overrides = [e for e in events if "RECURRENCE-ID" in e]
        if len(masters) > 1:
            report(uid, f"{len(masters)} events share this UID without RECURRENCE-ID; "
                        "each of them blocks", line)  # fmt: skip
        for i, master in enumerate(masters or [None]):
            group = ([master] if master is not None else []) + (overrides if i == 0 else [])
            try:
                periods.extend(_expand(uid, group, zones, zone, lo, hi, honour_transp))
            except Exception as exc:  # one bad event must not hide the others
                broken = [f"{n}: {m}" for e in group for n, m in e.errors if n in _TIME_PROPS]
                reason = (
                    broken[0] if broken else (str(exc).splitlines() or [type(exc).__name__])[0]
                )
                report(uid, f"{reason}; the other events still count", line)
    kept = [p for p in periods if p.start < end and p.end > start]
    return sorted(kept, key=lambda p: (p.start, p.end, p.uid)), problems


def _tenant_property_reason(value: str) -> str:
    return (
        f"{TENANT_PROPERTY}:{value} (siteupdates 0.1.0) is ignored: who a calendar blocks is "
        'configuration now; give this source tenant = "ID" or tenants = [...] in '
        "[plugins.ical] blackouts (without them it blocks every tenant)"
    )


def _expand(
    uid: str,
    events: Iterable[icalendar.cal.Component],
    zones: Iterable[Any],
    zone: str,
    lo: datetime,
    hi: datetime,
    honour_transp: bool = False,
) -> List[Period]:
    one = icalendar.Calendar()
    for tz in zones:
        one.add_component(tz)
    leap = False
    for event in events:
        if "DTSTART" not in event:
            raise ConfigurationError("no DTSTART")
        one.add_component(event)
        if "RECURRENCE-ID" not in event:
            leap = leap or _leap_yearly(event)
    out: List[Period] = []
    for occ in recurring_ical_events.of(one).between(lo, hi):
        if not _blocks(occ, honour_transp):
            continue
        s = instant(occ.decoded("DTSTART"), zone)
        e = _end_of(occ, zone)
        if e > s:
            name = str(occ.get("SUMMARY", uid)) + (LEAP_NOTE if leap else "")
            out.append(Period(name, s, e, uid))
    return out


def utc_range(start: datetime, end: datetime) -> Tuple[str, str]:
    """``start`` and ``end`` as CalDAV time-range values (``20260101T000000Z``)."""
    fmt = "%Y%m%dT%H%M%SZ"
    return start.astimezone(UTC).strftime(fmt), end.astimezone(UTC).strftime(fmt)
