"""The calendar contract suite against the schedule file, and against broken calendars."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest

from siteupdates.notices import CalendarEntry
from siteupdates.testing import CalendarContract, Published
from siteupdates_ical import IcsSchedule, canonical_text

SUFFIX = "@siteupdates"


class TestIcsScheduleContract(CalendarContract):
    """The ``.ics`` file a provider's calendar clients subscribe to."""

    @pytest.fixture
    def calendar(self, tmp_path: Path) -> IcsSchedule:
        return IcsSchedule(tmp_path / "schedule.ics")

    @pytest.fixture
    def published(self, calendar: IcsSchedule) -> Callable[[], List[Published]]:
        def read() -> List[Published]:
            # A fresh reader on the file, not the writer's memory.
            return [
                Published(
                    request_id=str(e["UID"])[: -len(SUFFIX)],
                    summary=str(e.get("SUMMARY", "")),
                    start=e.decoded("DTSTART"),
                    end=e.decoded("DTEND"),
                    cancelled=str(e.get("STATUS", "")).upper() == "CANCELLED",
                )
                for e in IcsSchedule(calendar.path).events()
            ]

        return read

    def expected_summary(self, summary: str) -> str:
        return canonical_text(summary)


class _Naive:
    """A calendar kept in memory, wrong in the ways the contract is there to catch."""

    def __init__(self, flaw: str) -> None:
        self.flaw = flaw
        self.events: List[Published] = []

    def siteupdates_calendar_update(self, entry: CalendarEntry) -> bool:
        mine = [e for e in self.events if e.request_id == entry.request_id]
        if entry.action == "withdraw":
            if self.flaw != "ignores-withdraw":
                self.events = [e for e in self.events if e.request_id != entry.request_id]
            return True
        assert entry.start is not None and entry.end is not None
        if mine and self.flaw != "appends":
            self.events.remove(mine[0])
        summary = entry.summary.splitlines()[0] if entry.summary else ""
        if self.flaw != "cuts-lines":
            summary = entry.summary
        self.events.append(Published(entry.request_id, summary, entry.start, entry.end))
        return True


FLAWS: Dict[str, Tuple[str, ...]] = {
    "appends": (
        "test_the_same_entry_delivered_twice_is_one_event",
        "test_a_move_changes_the_one_event_of_the_request",
    ),
    "ignores-withdraw": ("test_a_withdrawn_update_leaves_no_live_event",),
    "cuts-lines": ("test_a_hostile_summary_stays_text_in_one_event",),
}


@pytest.mark.parametrize("flaw", sorted(FLAWS))
def test_the_contract_fails_a_calendar_that_is_wrong(flaw: str) -> None:
    suite = CalendarContract()
    for name in FLAWS[flaw]:
        cal = _Naive(flaw)

        def published(cal: _Naive = cal) -> List[Published]:
            return list(cal.events)

        args = {"calendar": cal, "published": published}
        if name.startswith("test_a_hostile"):
            args["summary"] = "a\nb"
        with pytest.raises(AssertionError):
            getattr(suite, name)(**args)


def test_a_correct_calendar_in_memory_passes_the_contract() -> None:
    # The suite's own check: a calendar without flaws passes every test.
    suite = CalendarContract()
    for name in dir(suite):
        if not name.startswith("test_"):
            continue
        cal = _Naive("none")
        args = {"calendar": cal, "published": lambda cal=cal: list(cal.events)}
        if name.startswith("test_a_hostile"):
            args["summary"] = "Pine\rEND:VEVENT"
        getattr(suite, name)(**args)
