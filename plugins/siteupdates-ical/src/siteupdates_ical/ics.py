"""A small, strict iCalendar (RFC 5545) reader and writer: what siteupdates needs.

Written: one VEVENT per scheduled update (UID, DTSTAMP, DTSTART, DTEND in UTC,
SUMMARY, SEQUENCE, STATUS). Read: VEVENTs with SUMMARY, DTSTART and DTEND or
DURATION as UTC, TZID or all-day DATE values, RRULE:FREQ=YEARLY, and
X-SITEUPDATES-TENANT. Lines are folded at 75 octets and text is escaped.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Dict, Iterable, List, Optional, Tuple

import attrs

from siteupdates.domain.timeutil import to_instant
from siteupdates.domain.windows import Blackout
from siteupdates.errors import ConfigurationError

__all__ = ["Event", "blackouts_from", "format_calendar", "parse_events"]

UTC = timezone.utc
PRODID = "-//siteupdates//siteupdates-ical//EN"


@attrs.frozen
class Event:
    """One VEVENT as siteupdates reads or writes it."""

    uid: str
    summary: str
    start: datetime
    end: datetime
    sequence: int = 0
    yearly: bool = False
    tenant: Optional[str] = None
    status: str = "CONFIRMED"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts: List[str] = []
    current = b""
    for ch in line:
        b = ch.encode("utf-8")
        limit = 75 if not parts else 74
        if len(current) + len(b) > limit:
            parts.append(current.decode("utf-8"))
            current = b""
        current += b
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def format_calendar(events: Iterable[Event], *, stamp: Optional[datetime] = None) -> str:
    """A VCALENDAR with ``events``, CRLF line ends, folded lines."""
    now = _utc(stamp or datetime.now(UTC))
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    for e in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{e.uid}",
            f"DTSTAMP:{now}",
            f"DTSTART:{_utc(e.start)}",
            f"DTEND:{_utc(e.end)}",
            f"SUMMARY:{_escape(e.summary)}",
            f"SEQUENCE:{e.sequence}",
            f"STATUS:{e.status}",
        ]
        if e.yearly:
            lines.append("RRULE:FREQ=YEARLY")
        if e.tenant:
            lines.append(f"X-SITEUPDATES-TENANT:{_escape(e.tenant)}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(x) for x in lines) + "\r\n"


def _unfold(text: str) -> List[str]:
    lines: List[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw.startswith((" ", "\t")) and lines:
            lines[-1] += raw[1:]
        elif raw:
            lines.append(raw)
    return lines


_PROP = re.compile(r"^([A-Za-z0-9-]+)((?:;[^:]*)?):(.*)$")


def _split(line: str) -> Tuple[str, Dict[str, str], str]:
    m = _PROP.match(line)
    if not m:
        raise ConfigurationError(f"malformed iCalendar line {line[:60]!r}")
    params: Dict[str, str] = {}
    for p in filter(None, m.group(2).split(";")):
        k, _, v = p.partition("=")
        params[k.upper()] = v.strip('"')
    return m.group(1).upper(), params, m.group(3)


def _when(value: str, params: Dict[str, str], zone: str) -> Tuple[datetime, bool]:
    """An instant, and whether it was an all-day DATE."""
    try:
        if params.get("VALUE") == "DATE" or re.fullmatch(r"\d{8}", value):
            d = datetime.strptime(value, "%Y%m%d")
            return to_instant(d, zone), True
        if value.endswith("Z"):
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC), False
        local = datetime.strptime(value, "%Y%m%dT%H%M%S")
    except ValueError:
        raise ConfigurationError(f"malformed iCalendar date-time {value!r}") from None
    return to_instant(local, params.get("TZID", zone)), False


_DUR = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def _duration(value: str) -> timedelta:
    m = _DUR.match(value)
    if not m or value in ("P", "PT"):
        raise ConfigurationError(f"unsupported iCalendar duration {value!r}")
    w, d, h, mi, s = (int(x) if x else 0 for x in m.groups())
    return timedelta(weeks=w, days=d, hours=h, minutes=mi, seconds=s)


def parse_events(text: str, *, zone: str = "UTC") -> List[Event]:
    """Every VEVENT of ``text``; floating and all-day times are read in ``zone``."""
    events: List[Event] = []
    current: Optional[Dict[str, Tuple[Dict[str, str], str]]] = None
    depth = 0
    for line in _unfold(text):
        name, params, value = _split(line)
        if name == "BEGIN" and value.upper() == "VEVENT":
            current, depth = {}, 0
        elif name == "BEGIN" and current is not None:
            depth += 1  # a VALARM inside the event: skipped
        elif name == "END" and value.upper() == "VEVENT" and current is not None:
            events.append(_event(current, zone))
            current = None
        elif name == "END" and current is not None and depth:
            depth -= 1
        elif current is not None and not depth:
            current.setdefault(name, (params, value))
    return events


def _event(props: Dict[str, Tuple[Dict[str, str], str]], zone: str) -> Event:
    uid = props.get("UID", ({}, ""))[1]
    if "DTSTART" not in props:
        raise ConfigurationError(f"iCalendar event {uid or '(no UID)'} has no DTSTART")
    start, all_day = _when(props["DTSTART"][1], props["DTSTART"][0], zone)
    if "DTEND" in props:
        end, _ = _when(props["DTEND"][1], props["DTEND"][0], zone)
    elif "DURATION" in props:
        end = start + _duration(props["DURATION"][1])
    else:
        end = start + (timedelta(days=1) if all_day else timedelta(0))
    yearly = False
    if "RRULE" in props:
        rule = props["RRULE"][1].upper()
        if rule.split(";")[0] != "FREQ=YEARLY" or ";" in rule:
            raise ConfigurationError(
                f"iCalendar event {uid or '(no UID)'}: only RRULE:FREQ=YEARLY is supported, "
                f"not {rule!r}"
            )
        yearly = True
    return Event(
        uid=uid,
        summary=_unescape(props.get("SUMMARY", ({}, uid))[1]),
        start=start,
        end=end,
        sequence=int(props.get("SEQUENCE", ({}, "0"))[1] or 0),
        yearly=yearly,
        tenant=_unescape(props["X-SITEUPDATES-TENANT"][1])
        if "X-SITEUPDATES-TENANT" in props
        else None,
        status=props.get("STATUS", ({}, "CONFIRMED"))[1].upper(),
    )


def blackouts_from(events: Iterable[Event], zone: str) -> List[Blackout]:
    """Blackout periods from calendar events (cancelled events are not blackouts)."""
    out = []
    for e in events:
        if e.status == "CANCELLED" or e.end <= e.start:
            continue
        out.append(Blackout(e.summary, e.start, e.end, e.tenant, e.yearly, zone))
    return out
