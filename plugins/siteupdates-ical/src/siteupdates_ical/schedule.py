"""The provider's schedule as an iCalendar file that calendar applications subscribe to."""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, List, Optional, Union

import icalendar

from siteupdates.errors import ConfigurationError
from siteupdates.hookspecs import hookimpl
from siteupdates.notices import CalendarEntry

from ._zones import UTC
from .reading import parse_calendar
from .text import serialize
from .writing import make_event, new_calendar, uid_for, update_event

__all__ = ["IcsSchedule"]

#: Cancelled events stay this long after their end, so subscribers see the
#: cancellation before the event leaves the file.
KEEP_CANCELLED = timedelta(days=30)


class IcsSchedule:
    """Keeps one event per scheduled update in the ``.ics`` file at ``path``.

    A withdrawn update stays as ``STATUS:CANCELLED`` (subscribers remove it) until
    :data:`KEEP_CANCELLED` after its end. The file is replaced atomically, so a
    reader sees the old file or the new one.
    """

    def __init__(
        self,
        path: Union[str, Path],
        *,
        name: str = "Site updates",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.path = Path(path)
        self.name = name
        self.clock = clock

    def __repr__(self) -> str:
        return f"IcsSchedule({str(self.path)!r})"

    def calendar(self) -> icalendar.Calendar:
        """The calendar in the file (an empty one if there is no file yet)."""
        if not self.path.exists():
            return new_calendar(self.name)
        return parse_calendar(self.path.read_bytes(), str(self.path))

    def events(self) -> List[icalendar.cal.Component]:
        """The events of the file, cancelled ones included."""
        return list(self.calendar().walk("VEVENT"))

    @hookimpl
    def siteupdates_calendar_update(self, entry: CalendarEntry) -> bool:
        """Add, move or cancel the request's event; write the file if anything changed."""
        now = self.clock()
        cal = self.calendar()
        uid = uid_for(entry.request_id)
        keep = []
        current: Optional[icalendar.cal.Component] = None
        events = list(cal.walk("VEVENT"))
        for event in events:
            if str(event.get("UID")) == uid:
                current = event
            elif _expired(event, now):
                continue
            keep.append(event)
        changed = len(keep) != len(events)
        if entry.action == "withdraw":
            if current is not None:
                start, end = current.decoded("DTSTART"), current.decoded("DTEND")
                changed |= update_event(current, str(current.get("SUMMARY", "")), start, end,
                                        status="CANCELLED", stamp=now)  # fmt: skip
        else:
            if entry.start is None or entry.end is None:
                raise ConfigurationError(
                    f"calendar entry for request {entry.request_id} has no dates"
                )
            if current is None:
                keep.append(make_event(uid, entry.summary, entry.start, entry.end, stamp=now))
                changed = True
            else:
                changed |= update_event(current, entry.summary, entry.start, entry.end, stamp=now)
        if changed:
            out = new_calendar(self.name)
            for event in sorted(keep, key=lambda e: (e.decoded("DTSTART"), str(e.get("UID")))):
                out.add_component(event)
            self._write(serialize(out))
        return True

    def _write(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".ics.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, self.path)
        except BaseException:
            _unlink(tmp)
            raise


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _expired(event: icalendar.cal.Component, now: datetime) -> bool:
    if str(event.get("STATUS", "")).upper() != "CANCELLED":
        return False
    try:
        end = event.decoded("DTEND")
    except (KeyError, ValueError):
        return False
    return isinstance(end, datetime) and end + KEEP_CANCELLED < now
