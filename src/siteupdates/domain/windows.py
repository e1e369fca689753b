"""Weekly maintenance windows in wall-clock time (R8, R13).

A window is a weekday, a start and end wall-clock time and a zone, such as
Sunday 04:00-09:00 ``America/Chicago``. Its occurrences follow the wall clock
across DST changes: the window opens at 04:00 local time in summer and in
winter, so its UTC instants move by the DST offset.

Boundary rule (documented in ``docs/time.md``): a boundary that falls in a
spring-forward gap moves to the end of the gap (the first wall-clock time that
exists); one that occurs twice takes its first occurrence. A window therefore
occurs exactly once each week, through both changes.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Iterator, Optional, Tuple

import attrs

from siteupdates.errors import InvalidInput, WrongType

from .timeutil import Ambiguity, local_fields, require_aware, require_zone, to_instant

#: The weekday names windows and tasks accept, Monday first (``date.weekday()`` order).
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

__all__ = ["WEEKDAYS", "Blackout", "WeeklyWindow", "parse_weekday", "resolve_local"]


def parse_weekday(value: object) -> int:
    """Return 0 (Monday) to 6 (Sunday) for a weekday number or name (``sun``, ``Sunday``)."""
    if isinstance(value, bool):
        raise WrongType("weekday", value, "0-6 or a weekday name")
    if isinstance(value, int):
        if 0 <= value <= 6:
            return value
        raise InvalidInput(
            f"weekday {value} out of range: expected 0 (Monday) to 6 (Sunday)", value
        )
    if isinstance(value, str):
        text = value.strip().lower()
        for i, name in enumerate(WEEKDAYS):
            if len(text) >= 3 and name.startswith(text):
                return i
        raise InvalidInput(
            f"unknown weekday {value!r}: expected one of {', '.join(WEEKDAYS)} (or 0-6)", value
        )
    raise WrongType("weekday", value, "0-6 or a weekday name")


def _parse_time(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            pass
        raise InvalidInput(f"malformed time {value!r}: expected HH:MM such as '04:00'", value)
    raise WrongType("time", value, "a datetime.time or 'HH:MM'")


def resolve_local(local: datetime, zone: str) -> datetime:
    """A window boundary as a UTC instant, by the boundary rule in this module's docstring."""
    from siteupdates.errors import NonexistentLocalTime

    try:
        return to_instant(local, zone, Ambiguity.EARLIER)
    except NonexistentLocalTime as gap:
        return to_instant(gap.gap_end, zone, Ambiguity.EARLIER)


@attrs.frozen
class WeeklyWindow:
    """A weekly period in wall-clock time; ``end`` at or before ``start`` runs past midnight."""

    weekday: int = attrs.field(converter=parse_weekday)
    start: time = attrs.field(converter=_parse_time)
    end: time = attrs.field(converter=_parse_time)
    zone: str = attrs.field(converter=require_zone)

    def __str__(self) -> str:
        return (
            f"{WEEKDAYS[self.weekday].capitalize()} {self.start:%H:%M}-{self.end:%H:%M} "
            f"{self.zone}"
        )

    @property
    def crosses_midnight(self) -> bool:
        """Whether the window ends on the next day."""
        return self.end <= self.start

    def on(self, day: date) -> Tuple[datetime, datetime]:
        """The UTC instants of the occurrence opening on local ``day`` (its weekday must fit)."""
        if day.weekday() != self.weekday:
            raise InvalidInput(
                f"{day} is a {WEEKDAYS[day.weekday()]}; this window opens on "
                f"{WEEKDAYS[self.weekday]}s",
                day,
            )
        end_day = day + timedelta(days=1) if self.crosses_midnight else day
        opens = resolve_local(datetime.combine(day, self.start), self.zone)
        closes = resolve_local(datetime.combine(end_day, self.end), self.zone)
        return opens, closes

    def occurrences(self, after: datetime) -> Iterator[Tuple[datetime, datetime]]:
        """Every occurrence that ends after ``after``, in order, without end."""
        after = require_aware("after", after)
        day = local_fields(after, self.zone).date() - timedelta(days=1)
        day += timedelta(days=(self.weekday - day.weekday()) % 7)
        while True:
            opens, closes = self.on(day)
            if closes > after:
                yield opens, closes
            day += timedelta(days=7)

    def next_occurrence(self, after: datetime) -> Tuple[datetime, datetime]:
        """The first occurrence that ends after ``after``."""
        return next(self.occurrences(after))

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` lies inside an occurrence (start included, end excluded)."""
        opens, closes = self.next_occurrence(require_aware("instant", instant))
        return opens <= instant < closes


def _instant(value: object) -> datetime:
    return require_aware("blackout time", value)


@attrs.frozen
class Blackout:
    """A period in which no update may run: provider-wide, or for one tenant.

    ``start`` and ``end`` are UTC instants; with ``yearly`` the period repeats every
    year on the same wall-clock dates in ``zone`` (a holiday, exam week).
    """

    name: str
    start: datetime = attrs.field(converter=_instant)
    end: datetime = attrs.field(converter=_instant)
    tenant_id: Optional[str] = None
    yearly: bool = False
    zone: str = attrs.field(default="UTC", converter=require_zone)

    def __attrs_post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidInput(
                f"blackout {self.name!r} must end after it starts ({self.start} .. {self.end})",
                (self.start, self.end),
            )

    def applies_to(self, tenant_id: Optional[str]) -> bool:
        """Whether the blackout covers ``tenant_id`` (provider-wide ones cover everyone)."""
        return self.tenant_id is None or self.tenant_id == tenant_id
