"""What contacts are told (R20): the message values, and the attempt a notifier is handed.

The values live in :mod:`siteupdates.domain.messages`; notifier and calendar
plugins import them from here or from there. :class:`DeliveryAttempt` is the
fence between the outbox dispatcher and a notifier: a notifier calls
:meth:`DeliveryAttempt.commit` right before the step it cannot take back (the
SMTP ``DATA``, the chat API's POST), and a dispatcher that has given the
attempt up (timeout, or its claim on the item lost) makes that call raise
:class:`~siteupdates.errors.AttemptCancelled` instead, so nothing is sent.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any, Callable, Dict, Optional

import attrs

from siteupdates.domain.messages import (
    NOTIFYING_EVENTS,
    CalendarEntry,
    Notice,
    notice_for,
)
from siteupdates.errors import AttemptCancelled

__all__ = [
    "NOTIFYING_EVENTS",
    "CalendarEntry",
    "DeliveryAttempt",
    "Notice",
    "OutboxMessage",
    "notice_for",
]


@attrs.frozen
class OutboxMessage:
    """A message a plugin adds to the outbox for a change (``siteupdates_change_messages``).

    ``key`` must be stable for the change and unique (request, history sequence,
    kind, recipient): it is the outbox key and a receiver's duplicate check.
    ``kind`` names the channel (``webhook``); the dispatcher hands the item to
    ``siteupdates_deliver_outbox`` with that kind. ``payload`` is JSON-safe data;
    ``due_at`` delays the first attempt (a reminder). A payload with
    ``"reminder": True`` and the reminder's ``start`` and ``next_at`` is withdrawn
    instead of sent when it has gone stale, as a reminder notice is.
    """

    key: str
    kind: str
    payload: Dict[str, Any]
    due_at: Optional[datetime] = None


class DeliveryAttempt:
    """One attempt to deliver one notice, as the notifier sees it.

    ``key`` is the notice's key; ``token`` the claim count of the outbox item (the
    fencing token: a receiver that records it can refuse a lower one);
    :attr:`remaining` the seconds left before the dispatcher gives up, to use
    as a network timeout. ``check_claim`` (the dispatcher's) renews the claim
    and says whether it still holds. ``DeliveryAttempt("key")`` alone, as in
    tests or a direct call, never expires and is never cancelled.
    """

    def __init__(
        self,
        key: str,
        timeout: Optional[float] = None,
        *,
        token: int = 0,
        check_claim: Callable[[], bool] = lambda: True,
    ) -> None:
        self.key = key
        self.token = token
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._check_claim = check_claim
        self._lock = threading.Lock()
        self._state = "running"
        self._why = ""

    @property
    def remaining(self) -> Optional[float]:
        """Seconds left before the dispatcher gives the attempt up (None: no limit)."""
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - time.monotonic())

    @property
    def cancelled(self) -> bool:
        """Whether the dispatcher gave the attempt up."""
        return self._state == "cancelled"

    @property
    def committed(self) -> bool:
        """Whether the notifier passed its point of no return."""
        return self._state == "committed"

    def check(self) -> None:
        """Raise AttemptCancelled if the attempt was given up (call between steps)."""
        if self._state == "cancelled":
            raise AttemptCancelled(self.key, self._why)

    def commit(self) -> None:
        """Pass the point of no return: after this the dispatcher waits for the outcome.

        Raises AttemptCancelled, and the notifier must then not send, when the
        attempt was given up or the dispatcher's claim on the item is lost
        (another deliverer may hold it). Calling it again is harmless.
        """
        with self._lock:
            if self._state == "committed":
                return
            if self._state == "running" and not self._check_claim():
                self._state, self._why = "cancelled", "the claim on the item was lost"
            if self._state == "cancelled":
                raise AttemptCancelled(self.key, self._why)
            self._state = "committed"

    def cancel(self, why: str) -> bool:
        """Give the attempt up unless the notifier committed; True when it is given up."""
        with self._lock:
            if self._state == "committed":
                return False
            if self._state == "running":
                self._state, self._why = "cancelled", why
            return True
