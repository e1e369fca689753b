"""The one poll loop of the long-running services: worker, run dispatcher, deliverer.

Each service has a round (:meth:`~siteupdates.app.worker.Worker.run_once`,
:meth:`~siteupdates.app.executors.RunDispatcher.run_once`,
:meth:`~siteupdates.app.outbox.Dispatcher.run_once`) and a ``stop()`` that sets a
:class:`threading.Event` (the command line calls it on SIGTERM). :func:`poll`
runs the rounds until that event is set:

* a round that did work (returned a true count) is followed at once by the
  next, so a backlog drains without waiting;
* a round that found nothing waits ``interval`` seconds, or stops when
  ``until_idle``;
* a round that raised a :class:`~siteupdates.errors.SiteUpdatesError` (a
  storage that is down, say) is logged and counts as idle; consecutive
  failures wait twice as long each time, up to ``max_backoff`` seconds (never
  less than ``interval``), and the first round that succeeds resets the wait.
  Any other exception is a defect and propagates.

The wait is the stop event's own, so ``stop()`` ends it at once.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from siteupdates.errors import SiteUpdatesError

__all__ = ["MAX_BACKOFF", "poll"]

#: The longest wait after consecutive failed rounds, in seconds.
MAX_BACKOFF = 300.0


def poll(
    round_: Callable[[], int],
    *,
    stop: threading.Event,
    interval: float,
    logger: logging.Logger,
    name: str,
    until_idle: bool = False,
    max_backoff: float = MAX_BACKOFF,
) -> None:
    """Run ``round_`` until ``stop`` is set (see the module doc); ``name`` goes in the logs."""
    failures = 0
    while not stop.is_set():
        try:
            busy = round_()
        except SiteUpdatesError as exc:
            failures += 1
            logger.error("%s: %s", name, exc)
            busy = 0
        else:
            failures = 0
        if busy:
            continue
        if until_idle:
            break
        wait = interval
        if failures > 1:
            # Doubling, but bounded: 2 ** failures would overflow after a long outage.
            wait = min(interval * 2.0 ** min(failures - 1, 30), max(max_backoff, interval))
        stop.wait(wait)
