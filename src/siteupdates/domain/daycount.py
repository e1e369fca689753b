"""Day-based rules count calendar days on a zone's wall clock (issue 23).

A rule written in days (postpone by 7 days, a 30-day deferral period, a 14-day
notice tier, a refresh interval of 28 days, a reminder ``2d`` before) means what
a calendar means: the same wall-clock time so many dates later (or earlier) in
the zone the rule belongs to, whatever clock change lies between. So across a
spring-forward night 7 days are 167 elapsed hours, across a fall-back night 169.

* The whole days of a length are counted on the calendar of the zone; what is
  left (hours, minutes) is elapsed time, added after.
* The wall time reached is read by the boundary rule of ``docs/time.md``: in a
  spring-forward gap it moves to the end of the gap; in a fall-back overlap it
  takes the first occurrence.
* Rules written in hours (the soak, the cut-off, reminders in ``h`` or ``m``)
  do not use this module: they count elapsed time.

:class:`Days` marks a length written in days where a rule accepts both (the
reminder ladder); the other day-based rules always count their whole days on
the calendar.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from siteupdates.errors import NonexistentLocalTime

from .timeutil import Ambiguity, local_fields, to_instant

__all__ = ["Days", "days_earlier", "days_later", "within_days"]

_DAY = timedelta(days=1)


def _resolve(wall: datetime, zone: str) -> datetime:
    """``wall`` in ``zone`` by the boundary rule: a gap moves to its end, an overlap is first."""
    try:
        return to_instant(wall, zone, Ambiguity.EARLIER)
    except NonexistentLocalTime as gap:
        return to_instant(gap.gap_end, zone, Ambiguity.EARLIER)


class Days(timedelta):
    """A length written in days (``2d``): counted on the calendar, not in elapsed hours.

    It equals the timedelta of as many 24-hour days (``Days(2) == timedelta(hours=48)``);
    arithmetic on it gives a plain timedelta.
    """

    __slots__ = ()

    def __new__(cls, days: int) -> Days:
        """``days`` whole calendar days."""
        return super().__new__(cls, days=days)

    def __repr__(self) -> str:
        return f"Days({self.days})"


def days_later(instant: datetime, length: timedelta, zone: str) -> datetime:
    """``instant`` plus ``length``: its whole days on ``zone``'s calendar, the rest elapsed."""
    days, rest = divmod(length, _DAY)
    if days:
        wall = local_fields(instant, zone) + timedelta(days=days)
        instant = _resolve(wall, zone)
    return instant + rest


def days_earlier(instant: datetime, length: timedelta, zone: str) -> datetime:
    """``instant`` minus ``length``: the rest elapsed first, then whole days on the calendar."""
    days, rest = divmod(length, _DAY)
    instant = instant - rest
    if days:
        wall = local_fields(instant, zone) - timedelta(days=days)
        instant = _resolve(wall, zone)
    return instant


def within_days(a: datetime, b: datetime, length: timedelta, zone: str) -> bool:
    """Whether ``a`` and ``b`` lie closer than ``length`` counted on ``zone``'s calendar."""
    first, last = (a, b) if a <= b else (b, a)
    return last < days_later(first, length, zone)
