"""Test helpers for hosts and plugin authors, and the contract suites.

Every storage backend must pass :class:`StorageContract`. Subclass it in your
plugin's tests and provide a ``storage`` fixture that yields a fresh, empty
storage::

    from siteupdates.testing import StorageContract

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage(self, tmp_path):
            s = MyStorage(...)
            yield s
            s.close()

One module per contract suite (``storage``, ``races``, ``notifier``,
``calendar``) and one of the helpers they share (``support``); import every name
from this package.

This package imports pytest; import it from tests only.
"""

from __future__ import annotations

from siteupdates.domain import HistoryEntry
from siteupdates.testing.calendar import (
    HOSTILE_SUMMARIES,
    CalendarContract,
    Published,
    calendar_entry,
)
from siteupdates.testing.notifier import NotifierContract, Received, sample_notice
from siteupdates.testing.races import RACE_ROUNDS, RaceContract
from siteupdates.testing.storage import StorageContract, broken_storage
from siteupdates.testing.support import T0 as T0  # the sample data's "now", as before
from siteupdates.testing.support import UTC as UTC
from siteupdates.testing.support import (
    FixedClock,
    RecordingNotifier,
    ZoneAware,
    make_request,
    notice_item,
    sample_setup,
    submit_changes,
    transition,
)

__all__ = [
    "HOSTILE_SUMMARIES",
    "RACE_ROUNDS",
    "CalendarContract",
    "FixedClock",
    "HistoryEntry",
    "NotifierContract",
    "Published",
    "RaceContract",
    "Received",
    "RecordingNotifier",
    "StorageContract",
    "ZoneAware",
    "broken_storage",
    "calendar_entry",
    "make_request",
    "notice_item",
    "sample_notice",
    "sample_setup",
    "submit_changes",
    "transition",
]
