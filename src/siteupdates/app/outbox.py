"""Delivering the outbox: at least once, with retries, backoff and a dead letter.

Outbox items are written in the same transaction as the change that caused
them, so a notice is never lost with a change, nor sent for a change that did
not happen. The :class:`Dispatcher` hands each due item to the notification or
calendar hook. A hook that raises, or does not answer within ``timeout``
seconds, leaves the item pending with its next attempt pushed back
exponentially (``base_delay * 2 ** (attempts - 1)``, at most ``max_delay``);
after ``max_attempts`` the item is *dead* and waits for a person. A failing hook
never touches the request that caused the item.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Callable, List, Optional

import attrs

from siteupdates.domain.messages import CalendarEntry, Notice
from siteupdates.plugins import PluginHost
from siteupdates.ports import OutboxItem, OutboxState, Storage

__all__ = ["DeliveryReport", "Dispatcher"]

logger = logging.getLogger("siteupdates.outbox")


@attrs.frozen
class DeliveryReport:
    """What one pass over the outbox did."""

    delivered: int = 0
    retried: int = 0
    dead: int = 0
    errors: tuple[str, ...] = ()


class _Timeout(Exception):
    pass


def _call_with_timeout(fn: Callable[[], bool], timeout: float) -> bool:
    """Run ``fn`` in a daemon thread; a hang becomes a failure, not a stuck dispatcher."""
    result: List[bool] = []
    error: List[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # reported to the caller below
            error.append(exc)

    t = threading.Thread(target=run, name="siteupdates-deliver", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise _Timeout(f"no answer within {timeout:g} s")
    if error:
        raise error[0]
    return result[0]


class Dispatcher:
    """Delivers due outbox items through a plugin host's hooks."""

    def __init__(
        self,
        storage: Storage,
        host: PluginHost,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        max_attempts: int = 8,
        base_delay: float = 30.0,
        max_delay: float = 3600.0,
        timeout: float = 30.0,
        batch: int = 100,
    ) -> None:
        self.storage = storage
        self.host = host
        self.clock = clock
        self.max_attempts = int(max_attempts)
        self.base_delay = float(base_delay)
        self.max_delay = float(max_delay)
        self.timeout = float(timeout)
        self.batch = int(batch)

    def backoff(self, attempts: int) -> timedelta:
        """The wait before the next attempt after ``attempts`` failures."""
        return timedelta(seconds=min(self.max_delay, self.base_delay * 2 ** (attempts - 1)))

    def _send(self, item: OutboxItem) -> bool:
        if item.kind == "notice":
            notice = Notice.from_payload(item.payload)
            return self.host.deliver_notice(notice)
        if item.kind == "calendar":
            entry = CalendarEntry.from_payload(item.payload)
            self.host.calendar_update(entry)
            return True  # no calendar plugin means nothing to keep in step
        raise ValueError(f"unknown outbox kind {item.kind!r}")

    def deliver(self, item: OutboxItem) -> OutboxItem:
        """Try one item once and store the outcome; return the item as stored."""
        now = self.clock()
        error: Optional[str] = None
        try:
            if not _call_with_timeout(lambda: self._send(item), self.timeout):
                error = "no notifier accepted it"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempts = item.attempts + 1
        if error is None:
            done = attrs.evolve(
                item,
                state=OutboxState.DELIVERED,
                attempts=attempts,
                delivered_at=now,
                next_attempt_at=None,
                last_error=None,
            )
        elif attempts >= self.max_attempts:
            logger.error("outbox %s is dead after %d attempts: %s", item.key, attempts, error)
            done = attrs.evolve(item, state=OutboxState.DEAD, attempts=attempts, last_error=error)
        else:
            logger.warning("outbox %s failed (attempt %d): %s", item.key, attempts, error)
            done = attrs.evolve(
                item,
                attempts=attempts,
                last_error=error,
                next_attempt_at=now + self.backoff(attempts),
            )
        self.storage.record_attempt(done)
        return done

    def run_once(self) -> DeliveryReport:
        """Deliver every item due now, one batch at a time."""
        delivered = retried = dead = 0
        errors: List[str] = []
        seen: set[str] = set()
        while True:
            due = [o for o in self.storage.outbox_due(self.clock(), limit=self.batch)]
            due = [o for o in due if o.id not in seen]
            if not due:
                break
            for item in due:
                seen.add(item.id)
                done = self.deliver(item)
                if done.state is OutboxState.DELIVERED:
                    delivered += 1
                elif done.state is OutboxState.DEAD:
                    dead += 1
                    errors.append(f"{item.key}: {done.last_error}")
                else:
                    retried += 1
                    errors.append(f"{item.key}: {done.last_error}")
        return DeliveryReport(delivered, retried, dead, tuple(errors))
