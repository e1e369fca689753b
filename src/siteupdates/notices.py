"""What contacts are told (R20): the message values, re-exported for plugins.

The values live in :mod:`siteupdates.domain.messages`; notifier and calendar
plugins import them from here or from there.
"""

from __future__ import annotations

from siteupdates.domain.messages import (
    NOTIFYING_EVENTS,
    CalendarEntry,
    Notice,
    notice_for,
)

__all__ = ["NOTIFYING_EVENTS", "CalendarEntry", "Notice", "notice_for"]
