"""Maintenance windows in wall-clock time, and blackouts (R8, R13).

A :class:`WeeklyWindow` is a weekday, a start and end wall-clock time and a
zone, such as Sunday 04:00-09:00 ``America/Chicago``. A :class:`RecurringWindow`
is a recurrence rule (weekly on several days, every N weeks, monthly on a day or
on the n-th weekday, the last one included), a wall-clock start and length, an
effective date range and dates not allowed. Occurrences of both follow the wall
clock across DST changes: the window opens at 04:00 local time in summer and in
winter, so its UTC instants move by the DST offset.

Boundary rule (documented in ``docs/time.md``): a boundary that falls in a
spring-forward gap moves to the end of the gap (the first wall-clock time that
exists); one that occurs twice takes its first occurrence. A window therefore
occurs exactly once each period, through both changes. A recurring window's end
is its start plus its length on the wall clock, read by the same rule.

A :class:`Blackout` has a scope: the kinds of work it blocks (version updates,
DB refreshes, or both) and whom (provider-wide, a group, a tenant).
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time, timedelta
from typing import Any, Dict, FrozenSet, Iterable, Iterator, List, Optional, Set, Tuple, Union

import attrs

from siteupdates.errors import InvalidInput, NonexistentLocalTime, WrongType

from .timeutil import Ambiguity, local_fields, require_aware, require_zone, to_instant

#: The weekday names windows and tasks accept, Monday first (``date.weekday()`` order).
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

__all__ = [
    "ALL_WORK",
    "WEEKDAYS",
    "Blackout",
    "RecurringWindow",
    "WeeklyWindow",
    "Window",
    "WorkKind",
    "parse_weekday",
    "parse_work_kinds",
    "resolve_local",
]


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


_RR_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
#: The RRULE frequencies a recurring window accepts.
_FREQS = ("WEEKLY", "MONTHLY")


def _parse_date(value: object, what: str) -> date:
    if isinstance(value, datetime):
        raise WrongType(what, value, "a date (YYYY-MM-DD), not a date-time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
        raise InvalidInput(f"malformed {what} {value!r}: expected YYYY-MM-DD", value)
    raise WrongType(what, value, "a date (YYYY-MM-DD)")


def _start_date(value: object) -> date:
    return _parse_date(value, "window start date")


def _opt_date(value: object) -> Optional[date]:
    return None if value is None else _parse_date(value, "window end date")


def _dates(value: Iterable[object]) -> FrozenSet[date]:
    if isinstance(value, (str, date)):
        value = [value]
    return frozenset(_parse_date(v, "excluded date") for v in value)


def _duration(value: object) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, (timedelta, int)):
        raise WrongType("window duration", value, "a timedelta or whole minutes")
    length = value if isinstance(value, timedelta) else timedelta(minutes=value)
    if not timedelta(0) < length <= timedelta(days=7):
        raise InvalidInput(
            f"window duration {length} out of range: expected more than 0 and at most 7 days",
            value,
        )
    return length


def _rule_part(key: str, value: str, rule: str) -> InvalidInput:
    return InvalidInput(
        f"recurrence {rule!r}: unsupported {key}={value!r}; expected FREQ=WEEKLY or MONTHLY, "
        "INTERVAL=N, BYDAY=MO,TU or (monthly) 2TU / -1SU, BYMONTHDAY=1..31 or -1..-31",
        rule,
    )


@attrs.frozen
class _Rule:
    """The supported RRULE subset, parsed: frequency, interval, days, month day."""

    freq: str
    interval: int
    days: Tuple[Tuple[int, Optional[int]], ...]
    month_day: Optional[int]

    @classmethod
    def parse(cls, text: object) -> _Rule:
        if not isinstance(text, str):
            raise WrongType("recurrence", text, "RRULE text such as 'FREQ=WEEKLY;BYDAY=TU,TH'")
        rule = text.strip()
        if rule.upper().startswith("RRULE:"):
            rule = rule[6:]
        parts = {}
        for item in filter(None, rule.split(";")):
            key, sep, value = item.partition("=")
            key, value = key.strip().upper(), value.strip().upper()
            if not sep or key in parts or key not in ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY"):
                raise _rule_part(key or item, value, text)
            parts[key] = value
        freq = parts.get("FREQ", "")
        if freq not in _FREQS:
            raise _rule_part("FREQ", freq, text)
        interval = 1
        if "INTERVAL" in parts:
            if not parts["INTERVAL"].isdigit() or not 1 <= int(parts["INTERVAL"]) <= 52:
                raise _rule_part("INTERVAL", parts["INTERVAL"], text)
            interval = int(parts["INTERVAL"])
        days: List[Tuple[int, Optional[int]]] = []
        for d in filter(None, parts.get("BYDAY", "").split(",")):
            name, prefix = d[-2:], d[:-2]
            if name not in _RR_DAYS:
                raise _rule_part("BYDAY", d, text)
            nth: Optional[int] = None
            if prefix:
                try:
                    nth = int(prefix)
                except ValueError:
                    raise _rule_part("BYDAY", d, text) from None
                if freq != "MONTHLY" or nth == 0 or not -5 <= nth <= 5:
                    raise _rule_part("BYDAY", d, text)
            days.append((_RR_DAYS.index(name), nth))
        month_day: Optional[int] = None
        if "BYMONTHDAY" in parts:
            try:
                month_day = int(parts["BYMONTHDAY"])
            except ValueError:
                raise _rule_part("BYMONTHDAY", parts["BYMONTHDAY"], text) from None
            if freq != "MONTHLY" or month_day == 0 or not -31 <= month_day <= 31 or days:
                raise _rule_part("BYMONTHDAY", parts["BYMONTHDAY"], text)
        if (
            freq == "MONTHLY"
            and month_day is None
            and (not days or any(n is None for _, n in days))
        ):
            raise InvalidInput(
                f"recurrence {text!r}: a monthly window needs BYMONTHDAY=N or BYDAY with "
                "the week of the month (2TU for the second Tuesday, -1SU for the last Sunday)",
                text,
            )
        if freq == "WEEKLY" and not days:
            raise InvalidInput(
                f"recurrence {text!r}: a weekly window needs BYDAY (such as BYDAY=SA,SU)", text
            )
        return cls(freq, interval, tuple(sorted(set(days), key=lambda x: (x[1] or 0, x[0]))),
                   month_day)  # fmt: skip

    def text(self) -> str:
        out = [f"FREQ={self.freq}"]
        if self.interval != 1:
            out.append(f"INTERVAL={self.interval}")
        if self.days:
            out.append("BYDAY=" + ",".join(f"{'' if n is None else n}{_RR_DAYS[d]}"
                                            for d, n in self.days))  # fmt: skip
        if self.month_day is not None:
            out.append(f"BYMONTHDAY={self.month_day}")
        return ";".join(out)


def _rrule_text(value: object) -> str:
    return _Rule.parse(value).text()


_ORDINAL = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last",
            -2: "second to last"}  # fmt: skip
#: Where an every-N recurrence counts from when no ``starts_on`` is given: a Monday.
EPOCH = date(2001, 1, 1)


@attrs.frozen
class RecurringWindow:
    """A window that recurs by a rule, in wall-clock time of ``zone``.

    ``rule`` is an RRULE subset (``FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH``,
    ``FREQ=MONTHLY;BYDAY=-1SU``, ``FREQ=MONTHLY;BYMONTHDAY=15``); each date it
    gives opens at ``start`` and lasts ``duration`` on the wall clock. Only dates
    from ``starts_on`` (which also anchors ``INTERVAL``) to ``ends_on`` count, and
    none of ``excluded``. A month without the day asked for (the 31st, a fifth
    Tuesday) has no window that month, as in RFC 5545.
    """

    rule: str = attrs.field(converter=_rrule_text)
    start: time = attrs.field(converter=_parse_time)
    duration: timedelta = attrs.field(converter=_duration)
    zone: str = attrs.field(converter=require_zone)
    starts_on: date = attrs.field(default=EPOCH, converter=_start_date)
    ends_on: Optional[date] = attrs.field(default=None, converter=_opt_date)
    excluded: FrozenSet[date] = attrs.field(default=frozenset(), converter=_dates)
    _parsed: _Rule = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_parsed", _Rule.parse(self.rule))
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise InvalidInput(
                f"window ends on {self.ends_on}, before it starts on {self.starts_on}",
                self.ends_on,
            )

    @classmethod
    def weekly(
        cls, days: Iterable[object], start: object, duration: object, zone: str, *,
        every: int = 1, **kw: object,
    ) -> RecurringWindow:  # fmt: skip
        """Weekly on several ``days`` (names or 0-6), every ``every`` weeks."""
        names = ",".join(_RR_DAYS[parse_weekday(d)] for d in days)
        return cls(f"FREQ=WEEKLY;INTERVAL={every};BYDAY={names}", start, duration, zone, **kw)  # type: ignore[arg-type]

    @classmethod
    def monthly(
        cls, start: object, duration: object, zone: str, *, day: Optional[int] = None,
        nth: Optional[int] = None, weekday: object = None, every: int = 1, **kw: object,
    ) -> RecurringWindow:  # fmt: skip
        """Monthly on ``day`` of the month, or on the ``nth`` ``weekday`` (-1: the last)."""
        if (day is None) == (nth is None or weekday is None):
            raise InvalidInput("a monthly window needs day=N, or nth=N with weekday=", day)
        by = (
            f"BYMONTHDAY={day}"
            if day is not None
            else f"BYDAY={nth}{_RR_DAYS[parse_weekday(weekday)]}"
        )
        return cls(f"FREQ=MONTHLY;INTERVAL={every};{by}", start, duration, zone, **kw)  # type: ignore[arg-type]

    def __str__(self) -> str:
        r = self._parsed
        every = (
            ""
            if r.interval == 1
            else f" (every {r.interval} {'weeks' if r.freq == 'WEEKLY' else 'months'})"
        )
        if r.month_day is not None:
            md = r.month_day
            what = f"monthly on day {md}" if md > 0 else f"monthly on day {md} (from the end)"
        elif r.freq == "MONTHLY":
            what = "monthly on the " + ", ".join(
                f"{_ORDINAL.get(n or 0, str(n))} {WEEKDAYS[d].capitalize()}" for d, n in r.days
            )
        else:
            what = ", ".join(WEEKDAYS[d].capitalize() for d, _ in r.days)
        minutes = int(self.duration.total_seconds() // 60)
        length = f"{minutes // 60}h" + (f"{minutes % 60:02d}" if minutes % 60 else "")
        return f"{what}{every} {self.start:%H:%M} for {length} {self.zone}"

    def _iter_days(self, first: date) -> Iterator[date]:
        """The rule's dates from ``first`` on, in the effective range, none excluded."""
        # dateutil loads here, on the first occurrence asked for: a program that
        # never plans (a read command) does not import it.
        from dateutil import rrule as _rr

        r = self._parsed
        anchor = self.starts_on
        # Move the rule's start close to ``first`` by whole periods, so the
        # every-N phase is kept and dateutil does not walk from the epoch.
        if first > anchor:
            if r.freq == "WEEKLY":
                weeks = ((first - anchor).days // 7 - 1) // r.interval * r.interval
                if weeks > 0:
                    anchor += timedelta(weeks=weeks)
            else:
                months = (first.year - anchor.year) * 12 + first.month - anchor.month - 1
                months = months // r.interval * r.interval
                if months > 0:
                    y, m = divmod(anchor.month - 1 + months, 12)
                    anchor = date(anchor.year + y, m + 1, 1)
        kw: Dict[str, Any] = {}
        if r.freq == "WEEKLY":
            # Weeks counted from the anchor's Monday, whatever day it is.
            kw["byweekday"] = [d for d, _ in r.days]
            kw["wkst"] = _rr.MO
        elif r.month_day is not None:
            kw["bymonthday"] = r.month_day
        else:
            kw["byweekday"] = [_rr.weekday(d, n) for d, n in r.days]
        if r.freq == "MONTHLY" and anchor != self.starts_on:
            anchor = anchor.replace(day=1)
        rule = _rr.rrule(getattr(_rr, r.freq), dtstart=datetime.combine(anchor, time()),
                         interval=r.interval, **kw)  # fmt: skip
        for dt in rule:
            day = dt.date()
            if self.ends_on is not None and day > self.ends_on:
                return
            if day < first or day < self.starts_on or day in self.excluded:
                continue
            yield day

    def on(self, day: date) -> Tuple[datetime, datetime]:
        """The UTC instants of an occurrence opening on local ``day`` (by the boundary rule)."""
        local = datetime.combine(day, self.start)
        return resolve_local(local, self.zone), resolve_local(local + self.duration, self.zone)

    def occurrences(self, after: datetime) -> Iterator[Tuple[datetime, datetime]]:
        """Every occurrence that ends after ``after``, in order (none past ``ends_on``)."""
        after = require_aware("after", after)
        first = local_fields(after, self.zone).date() - timedelta(days=self.duration.days + 2)
        for day in self._iter_days(first):
            opens, closes = self.on(day)
            if closes > after:
                yield opens, closes

    def next_occurrence(self, after: datetime) -> Optional[Tuple[datetime, datetime]]:
        """The first occurrence that ends after ``after``, or None past the effective range."""
        return next(self.occurrences(after), None)

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` lies inside an occurrence (start included, end excluded)."""
        found = self.next_occurrence(require_aware("instant", instant))
        return found is not None and found[0] <= instant < found[1]


#: A planning window: weekly, or by a recurrence rule.
Window = Union[WeeklyWindow, RecurringWindow]


class WorkKind(str, enum.Enum):
    """The kinds of work a blackout may block."""

    VERSION = "version"
    REFRESH = "refresh"

    def __str__(self) -> str:
        return "version updates" if self is WorkKind.VERSION else "DB refreshes"


#: Both kinds of work: what a blackout blocks unless told otherwise.
ALL_WORK: FrozenSet[WorkKind] = frozenset(WorkKind)


def parse_work_kinds(value: object) -> FrozenSet[WorkKind]:
    """Kinds of work from ``"all"``, ``"version"``, ``"refresh"`` or a list of them."""
    items = [value] if isinstance(value, (str, WorkKind)) else value
    if not isinstance(items, (list, tuple, set, frozenset)) or not items:
        raise WrongType("kinds of work", value, "'all', 'version', 'refresh' or a list of them")
    out: Set[WorkKind] = set()
    for item in items:
        text = item.value if isinstance(item, WorkKind) else str(item).strip().lower()
        if text == "all":
            out.update(ALL_WORK)
        elif text in ("version", "versions", "version-update", "version updates"):
            out.add(WorkKind.VERSION)
        elif text in ("refresh", "db-refresh", "db refresh", "refreshes"):
            out.add(WorkKind.REFRESH)
        else:
            raise InvalidInput(
                f"unknown kind of work {item!r}: expected 'all', 'version' or 'refresh'", item
            )
    return frozenset(out)


def _instant(value: object) -> datetime:
    return require_aware("blackout time", value)


@attrs.frozen
class Blackout:
    """A period in which some work may not run, for everyone or for some.

    ``start`` and ``end`` are UTC instants; with ``yearly`` the period repeats every
    year on the same wall-clock dates in ``zone`` (a holiday, exam week). The
    scope: ``kinds`` of work it blocks (default both: version updates and DB
    refreshes) and whom: one tenant (``tenant_id``), the tenants of one group
    (``group_id``), or everyone when neither is given.
    """

    name: str
    start: datetime = attrs.field(converter=_instant)
    end: datetime = attrs.field(converter=_instant)
    tenant_id: Optional[str] = None
    yearly: bool = False
    zone: str = attrs.field(default="UTC", converter=require_zone)
    kinds: FrozenSet[WorkKind] = attrs.field(default=ALL_WORK, converter=parse_work_kinds)
    group_id: Optional[str] = None

    def __attrs_post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidInput(
                f"blackout {self.name!r} must end after it starts ({self.start} .. {self.end})",
                (self.start, self.end),
            )

        if self.tenant_id is not None and self.group_id is not None:
            raise InvalidInput(
                f"blackout {self.name!r} is for a tenant or for a group, not both",
                (self.tenant_id, self.group_id),
            )

    def applies_to(self, tenant_id: Optional[str], group_id: Optional[str] = None) -> bool:
        """Whether the blackout covers ``tenant_id`` (of ``group_id``); provider-wide: all."""
        if self.tenant_id is not None:
            return self.tenant_id == tenant_id
        if self.group_id is not None:
            return group_id is not None and self.group_id == group_id
        return True

    def blocks(self, kinds: Iterable[WorkKind]) -> bool:
        """Whether the blackout blocks work of any of ``kinds``."""
        return any(k in self.kinds for k in kinds)

    @property
    def scope(self) -> str:
        """The scope in words: kinds of work and whom (``version updates, group g1``)."""
        what = (
            "all work"
            if self.kinds == ALL_WORK
            else " and ".join(
                str(k) for k in sorted(self.kinds, key=lambda k: k.value, reverse=True)
            )
        )
        if self.tenant_id is not None:
            return f"{what}, tenant {self.tenant_id}"
        if self.group_id is not None:
            return f"{what}, group {self.group_id}"
        return f"{what}, provider-wide"
