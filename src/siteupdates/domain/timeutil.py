"""Time zones, local times and instants (R12).

Rules, documented once here and in ``docs/time.md``:

* Instants are timezone-aware :class:`~datetime.datetime` values; the library
  stores them in UTC and shows them in the reader's zone.
* A local time inside a spring-forward gap does not exist: :func:`to_instant`
  raises :class:`~siteupdates.errors.NonexistentLocalTime` naming the gap.
* A local time that occurs twice (fall back) is resolved by an
  :class:`Ambiguity` rule. The default, ``EARLIER``, takes the first
  occurrence (still on daylight time), because a requester who asks for
  "01:30" on that night is most likely thinking of the first 01:30 to come.
  ``LATER`` takes the second one; ``RAISE`` refuses and names both.
"""

from __future__ import annotations

import enum
import re
import sys
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from siteupdates.checks import local_time
from siteupdates.errors import (
    AmbiguousLocalTime,
    NaiveDatetime,
    NonexistentLocalTime,
    UnknownZone,
    WrongType,
)

if TYPE_CHECKING:
    if sys.version_info >= (3, 9):
        from zoneinfo import ZoneInfo
    else:  # pragma: no cover - exercised on 3.8 only
        from backports.zoneinfo import ZoneInfo


def _zoneinfo() -> Any:
    # zoneinfo (and the sysconfig it reads its path from) loads with the first
    # zone: importing the library costs a start-up a few milliseconds less.
    if sys.version_info >= (3, 9):
        import zoneinfo
    else:  # pragma: no cover - exercised on 3.8 only
        from backports import zoneinfo
    return zoneinfo


def __getattr__(name: str) -> Any:
    if name == "ZoneInfo":
        return _zoneinfo().ZoneInfo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Ambiguity",
    "ZoneInfo",
    "format_clock",
    "format_day",
    "format_local_clock",
    "format_local_day",
    "get_zone",
    "local_fields",
    "parse_ts",
    "require_aware",
    "require_zone",
    "stamp",
    "to_instant",
    "to_local",
    "ts",
    "utc",
]

_ZONES: Dict[str, tzinfo] = {}


def get_zone(name: str) -> tzinfo:
    """Return the IANA zone ``name``; raise UnknownZone naming the expected form."""
    if not isinstance(name, str):
        raise WrongType("zone", name, "an IANA zone name such as 'America/Chicago'")
    zone = _ZONES.get(name)
    if zone is None:
        zoneinfo = _zoneinfo()
        try:
            zone = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise UnknownZone(
                f"unknown time zone {name!r}: expected an IANA zone name such as "
                "'America/Chicago' or 'Europe/Berlin'",
                name,
            ) from exc
        _ZONES[name] = zone
    return zone


def require_zone(name: Any) -> str:
    """Validate a zone name and return it unchanged (used as an attrs converter)."""
    get_zone(name)
    return str(name)


def require_aware(name: str, value: Any) -> datetime:
    """Return ``value`` as a UTC instant; raise if it is not a timezone-aware datetime."""
    if value.__class__ is datetime and value.tzinfo is timezone.utc:
        return value  # a UTC instant already (the clock's, every use case asks it)
    if not isinstance(value, datetime):
        raise WrongType(name, value, "a timezone-aware datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetime(
            f"{name} {value.isoformat()} has no time zone: give an aware datetime "
            "(for example with tzinfo=timezone.utc), or a local time with a zone through "
            "to_instant()",
            value,
        )
    return value.astimezone(timezone.utc)


def utc(value: datetime) -> datetime:
    """Shorthand for :func:`require_aware` without a field name."""
    return require_aware("instant", value)


class Ambiguity(str, enum.Enum):
    """How a local time that occurs twice in a fall-back change is read."""

    EARLIER = "earlier"
    LATER = "later"
    RAISE = "raise"


def _gap_bounds(local: datetime, zone: tzinfo) -> Tuple[datetime, datetime]:
    """Wall-clock start and end of the gap that swallows ``local``."""
    before = local.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)
    after = local.replace(tzinfo=zone, fold=1).astimezone(timezone.utc)
    lo, hi = min(before, after), max(before, after)
    off_lo = lo.astimezone(zone).utcoffset()
    # Binary search to the second for the instant the offset changes.
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).utcoffset() == off_lo:
            lo = mid
        else:
            hi = mid
    change = hi.replace(microsecond=0)
    start = (change - timedelta(seconds=1)).astimezone(zone).replace(tzinfo=None)
    start = start + timedelta(seconds=1)
    end = change.astimezone(zone).replace(tzinfo=None)
    return start, end


def to_instant(
    local: datetime, zone: str, ambiguity: Ambiguity | str = Ambiguity.EARLIER
) -> datetime:
    """Read a wall-clock ``local`` time in ``zone`` and return the UTC instant (R12).

    ``local`` must be naive (a wall-clock reading). A time in a spring-forward gap
    raises NonexistentLocalTime; a fall-back time follows ``ambiguity``.
    """
    if not isinstance(local, datetime):
        raise WrongType("local time", local, "a naive datetime (a wall-clock reading)")
    if local.tzinfo is not None:
        raise WrongType(
            "local time", local, "a naive datetime; it is read in the zone given separately"
        )
    # The accepted range (1900 to 2999) keeps every zone's conversion inside what
    # datetime can hold: 9999-12-31 23:30 west of UTC would overflow, not refuse.
    local_time("local time", local)
    rule = Ambiguity(ambiguity) if not isinstance(ambiguity, Ambiguity) else ambiguity
    tz = get_zone(zone)
    first = local.replace(tzinfo=tz, fold=0)
    second = local.replace(tzinfo=tz, fold=1)
    u_first = first.astimezone(timezone.utc)
    u_second = second.astimezone(timezone.utc)
    if u_first == u_second:
        return u_first
    if u_first.astimezone(tz).replace(tzinfo=None) != local:
        start, end = _gap_bounds(local, tz)
        if end - start >= timedelta(days=1) or start.date() != end.date():
            # A whole day or more skipped (Apia, 2011-12-30): say so, with both dates.
            raise NonexistentLocalTime(
                f"{_stamp(local)} does not exist in {zone}: clocks jump from {_stamp(start)} "
                f"to {_stamp(end)}; choose a time before {_stamp(start)} or from {_stamp(end)}",
                local,
                start,
                end,
            )
        raise NonexistentLocalTime(
            f"{_stamp(local)} does not exist in {zone}: clocks jump from "
            f"{start:%H:%M} to {end:%H:%M} that day; choose a time before {start:%H:%M} "
            f"or from {end:%H:%M}",
            local,
            start,
            end,
        )
    if rule is Ambiguity.RAISE:
        off1 = first.utcoffset()
        off2 = second.utcoffset()
        raise AmbiguousLocalTime(
            f"{_stamp(local)} occurs twice in {zone} (UTC offset {_fmt_off(off1)} "
            f"then {_fmt_off(off2)}); choose ambiguity='earlier' or 'later'",
            local,
        )
    return u_first if rule is Ambiguity.EARLIER else u_second


def stamp(value: datetime) -> str:
    """``YYYY-MM-DD HH:MM`` with a four-digit year (strftime's %Y drops the zeros of 999)."""
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}"
    )


_stamp = stamp


def _fmt_off(off: timedelta | None) -> str:
    minutes = int((off or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def to_local(instant: datetime, zone: str) -> datetime:
    """Show ``instant`` in ``zone`` (an aware datetime in that zone)."""
    return require_aware("instant", instant).astimezone(get_zone(zone))


def local_fields(instant: datetime, zone: str) -> datetime:
    """The wall-clock reading of ``instant`` in ``zone``, as a naive datetime."""
    return to_local(instant, zone).replace(tzinfo=None)


_UTC = timezone.utc


#: The last instant :func:`ts` wrote and its text. One change writes the same
#: instant several times (the request's submission, its history entry, each
#: outbox row and notice), and an aware ``isoformat`` costs as much as a row's
#: binding. Held as one tuple so that threads swap it whole; the object kept in
#: it cannot be freed, so an identity match is the same value.
_LAST_TS: Tuple[Optional[datetime], str] = (None, "")


def ts(value: Optional[datetime]) -> Optional[str]:
    """A UTC instant as fixed-width ISO text (text order is time order), or None."""
    global _LAST_TS
    if value is None:
        return None
    last = _LAST_TS
    if last[0] is value:
        return last[1]
    # isoformat pads the year to four digits (strftime("%Y") does not, below 1000);
    # the library's own instants are UTC already and skip the conversion.
    u = value if value.tzinfo is _UTC else value.astimezone(_UTC)
    text = u.isoformat(timespec="microseconds")
    _LAST_TS = (value, text)
    return text


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


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_day(instant: datetime, zone: str) -> str:
    """``Jan. 10, 2015``: the local date of ``instant`` in ``zone``, locale-independent."""
    return format_local_day(to_local(instant, zone))


def format_clock(instant: datetime, zone: str) -> str:
    """``4:39 AM CST``: the local time of ``instant`` in ``zone`` with the zone's abbreviation."""
    return format_local_clock(to_local(instant, zone))


def format_local_day(local: datetime) -> str:
    """:func:`format_day` of a time already in its zone (a caller showing both converts once)."""
    return f"{_MONTHS[local.month - 1]}. {local.day}, {local.year}"


def format_local_clock(local: datetime) -> str:
    """:func:`format_clock` of a time already in its zone."""
    hour = local.hour % 12 or 12
    return f"{hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'} {local.tzname()}"
