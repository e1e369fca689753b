"""The calendar contract: what every calendar backend must do."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Optional, Tuple

import attrs
import pytest

from siteupdates.notices import CalendarEntry
from siteupdates.testing.support import T0

__all__ = ["HOSTILE_SUMMARIES", "CalendarContract", "Published", "calendar_entry"]


@attrs.frozen
class Published:
    """One event as a calendar backend holds it, read back through the backend's own channel."""

    request_id: str
    summary: str
    start: datetime
    end: datetime
    cancelled: bool = False


#: Summaries that broke hand-written calendar files: line breaks that try to open a
#: new event, separators of the format, characters outside the Basic Multilingual
#: Plane, control characters. (No backslashes: older iCalendar readers garble them.)
HOSTILE_SUMMARIES: Tuple[str, ...] = (
    "Pine\rEND:VEVENT\rBEGIN:VEVENT\rUID:x@siteupdates",
    "Oak\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART:20260101T000000Z",
    "a\nb;c,d:e",
    "\U0001f600 \U0001d11e Élève",
    "\x00\x1b\x7f",
    "x" * 300,
)


def calendar_entry(
    request_id: str = "r1",
    action: str = "publish",
    *,
    key: Optional[str] = None,
    summary: str = "Example District: update of staging to E.1505.2",
    start: Optional[datetime] = T0,
    hours: float = 2,
) -> CalendarEntry:
    """A calendar entry as the outbox hands it to a calendar backend."""
    end = None if start is None else start + timedelta(hours=hours)
    if action == "withdraw":
        start = end = None
    return CalendarEntry(
        key=key or f"{request_id}:{action}:{start}",
        action=action,
        request_id=request_id,
        tenant_id="d1",
        summary=summary,
        start=start,
        end=end,
    )


class CalendarContract:
    """The behaviour every calendar backend must have (like :class:`NotifierContract`).

    Subclass it in your plugin's tests and provide fixtures:

    * ``calendar``: the plugin object, implementing ``siteupdates_calendar_update``,
      on a fresh, empty calendar;
    * ``published``: a callable returning what the calendar holds now, as
      :class:`Published` values, read through the backend (the file, the server).

    Override :meth:`expected_summary` when the format cannot carry some text as
    given (iCalendar has no carriage return: it reads back as a line feed).
    """

    @pytest.fixture
    def calendar(self) -> Any:
        """Override: the calendar plugin under test."""
        raise NotImplementedError("provide a calendar fixture")

    @pytest.fixture
    def published(self) -> Callable[[], List[Published]]:
        """Override: a function that reads back what the calendar publishes."""
        raise NotImplementedError("provide a published fixture")

    def expected_summary(self, summary: str) -> str:
        """The summary as the backend reads it back (the text itself by default)."""
        return summary

    @staticmethod
    def update(calendar: Any, entry: CalendarEntry) -> None:
        """Hand ``entry`` to the backend, as the outbox's delivery does."""
        calendar.siteupdates_calendar_update(entry=entry)

    @staticmethod
    def active(found: List[Published]) -> Dict[str, Published]:
        """The events that are not cancelled, by request ID (one each, or the test fails)."""
        live = [p for p in found if not p.cancelled]
        ids = [p.request_id for p in live]
        assert len(ids) == len(set(ids)), f"more than one live event for a request: {ids}"
        return {p.request_id: p for p in live}

    def test_a_published_update_is_one_event_with_its_dates(
        self, calendar: Any, published: Callable[[], List[Published]]
    ) -> None:
        entry = calendar_entry()
        self.update(calendar, entry)
        [event] = published()
        assert event.request_id == "r1" and not event.cancelled
        assert event.summary == self.expected_summary(entry.summary)
        assert (event.start, event.end) == (entry.start, entry.end)

    def test_the_same_entry_delivered_twice_is_one_event(
        self, calendar: Any, published: Callable[[], List[Published]]
    ) -> None:
        entry = calendar_entry()
        self.update(calendar, entry)
        first = published()
        self.update(calendar, entry)  # the outbox delivers at least once
        assert published() == first and len(first) == 1

    def test_a_move_changes_the_one_event_of_the_request(
        self, calendar: Any, published: Callable[[], List[Published]]
    ) -> None:
        self.update(calendar, calendar_entry())
        for days in (7, 14):
            later = T0 + timedelta(days=days)
            moved = calendar_entry(action="move", start=later, summary=f"moved {days}")
            self.update(calendar, moved)
            self.update(calendar, moved)
            live = self.active(published())
            assert list(live) == ["r1"]
            assert (live["r1"].start, live["r1"].end) == (later, later + timedelta(hours=2))
            assert live["r1"].summary == self.expected_summary(f"moved {days}")

    def test_a_withdrawn_update_leaves_no_live_event(
        self, calendar: Any, published: Callable[[], List[Published]]
    ) -> None:
        self.update(calendar, calendar_entry("r1"))
        self.update(calendar, calendar_entry("r2", start=T0 + timedelta(days=1)))
        withdraw = calendar_entry("r1", "withdraw")
        self.update(calendar, withdraw)
        self.update(calendar, withdraw)
        assert list(self.active(published())) == ["r2"]
        # Withdrawing what the calendar never had is not an error and adds nothing.
        self.update(calendar, calendar_entry("r9", "withdraw"))
        assert {p.request_id for p in published()} <= {"r1", "r2"}

    def test_a_move_after_a_withdrawal_of_another_request_touches_only_its_own(
        self, calendar: Any, published: Callable[[], List[Published]]
    ) -> None:
        self.update(calendar, calendar_entry("r1"))
        self.update(calendar, calendar_entry("r2"))
        self.update(calendar, calendar_entry("r2", "withdraw"))
        later = T0 + timedelta(days=3)
        self.update(calendar, calendar_entry("r1", "move", start=later))
        live = self.active(published())
        assert list(live) == ["r1"] and live["r1"].start == later

    @pytest.mark.parametrize("summary", HOSTILE_SUMMARIES)
    def test_a_hostile_summary_stays_text_in_one_event(
        self, calendar: Any, published: Callable[[], List[Published]], summary: str
    ) -> None:
        self.update(calendar, calendar_entry("r1", summary=summary))
        self.update(calendar, calendar_entry("r2", summary="plain"))
        live = self.active(published())
        assert sorted(live) == ["r1", "r2"], "the summary added or hid an event"
        got, want = live["r1"].summary, self.expected_summary(summary)
        assert got == want, f"the summary {want!r} reads back as {got!r}"
        assert live["r2"].summary == "plain"
