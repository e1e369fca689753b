"""The run dispatcher: due requests claimed and handed to the executor plugin as runs.

:class:`RunDispatcher` claims due requests with the same leases as the hosting
worker (so dispatchers on several machines never hand one request out twice)
and gives each one, as a :class:`~siteupdates.runs.Run`, to the executor plugin
(``siteupdates_executor_dispatch``); its loop is :func:`siteupdates.app.polling.poll`.
Exported by :mod:`siteupdates.app.executors` too.
"""

from __future__ import annotations

import threading
from typing import List, Optional

import attrs

from siteupdates import logs
from siteupdates.domain import Event, HistoryEntry, Status, UpdateRequest
from siteupdates.errors import ConflictError, InvalidInput, LeaseLost
from siteupdates.ports import Claim
from siteupdates.runs import Run

from . import provider
from .bootstrap import App
from .polling import poll as poll_loop
from .reports import run_for

__all__ = ["DispatchReport", "RunDispatcher"]

logger = logs.logger("siteupdates.executors")


@attrs.define
class DispatchReport:
    """What a dispatcher did so far."""

    claimed: int = 0
    dispatched: int = 0
    handed_back: int = 0
    failed: int = 0
    lost: int = 0
    errors: List[str] = attrs.Factory(list)


def _starts_since_scheduled(history: List[HistoryEntry]) -> int:
    starts = 0
    for h in reversed(history):
        if h.event in (Event.SCHEDULE, Event.RESCHEDULE):
            break
        starts += h.event is Event.START
    return starts


class RunDispatcher:
    """Claims due requests and hands each to the configured executor as a :class:`Run`.

    Claims use the storage's leases (``Storage.claim``), so any number of
    dispatchers (and hosting workers) on any number of machines never take one
    request twice. A claimed request stays Not Started, under the dispatcher's
    lease of ``start_within`` seconds (default ``lease_seconds``: size it for
    the wait in the engine's queue), until the engine reports ``started``; from
    then on the engine renews the lease by ``lease_seconds`` at a time
    (:func:`heartbeat`). A run whose engine goes silent loses its lease, and the
    next claim takes the request over with a new fencing token. With
    ``max_waiting``, no dispatcher claims while that many requests (of every
    dispatcher) wait Not Started for their engine: the engine's queue stays
    short enough to start each run within its lease.

    A request that was started ``max_attempts`` times in its current schedule
    without finishing becomes Unable to Complete. When the executor is missing
    or raises, the claimed requests are handed back (Scheduled) and the
    dispatcher waits for its next poll.
    """

    def __init__(
        self,
        app: object,
        dispatcher_id: str,
        *,
        lease_seconds: float = 300.0,
        max_attempts: int = 3,
        batch: int = 10,
        start_within: Optional[float] = None,
        max_waiting: Optional[int] = None,
    ) -> None:
        found = app if isinstance(app, App) else getattr(app, "app", None)
        if not isinstance(found, App):
            raise TypeError(f"RunDispatcher needs an App or a Desk, not {type(app).__name__}")
        if not isinstance(dispatcher_id, str) or not dispatcher_id.strip() or "#" in dispatcher_id:
            raise InvalidInput("a dispatcher ID is a non-empty name without '#'", dispatcher_id)
        start = lease_seconds if start_within is None else start_within
        if max_waiting is not None and max_waiting < 1:
            raise InvalidInput("max_waiting must be at least 1 (or None)", max_waiting)
        if lease_seconds <= 0 or start <= 0 or max_attempts < 1 or batch < 1:
            raise InvalidInput(
                "lease_seconds and start_within must be positive, max_attempts and batch "
                "at least 1",
                (lease_seconds, start_within, max_attempts, batch),
            )
        self.app = found
        self.id = dispatcher_id
        self.lease_seconds = float(lease_seconds)
        self.start_within = float(start)
        self.max_waiting = max_waiting
        self.max_attempts = int(max_attempts)
        self.batch = int(batch)
        self.report = DispatchReport()
        self._stop = threading.Event()
        self._engine_down = False

    def stop(self) -> None:
        """Hand back what is claimed and not yet dispatched, then stop."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stop.is_set()

    def _write(self, claim: Claim, event: Event, reason: Optional[str] = None) -> UpdateRequest:
        return provider.act(
            self.app, claim.request.id, event, by=self.id, reason=reason,
            fence=claim.fence, release=True,
        )  # fmt: skip

    def process(self, claim: Claim, *, hand_back: bool = False) -> Optional[Run]:
        """Dispatch one claimed request; return its run (None if not dispatched)."""
        r = claim.request
        try:
            if hand_back or self.stopping:
                self.report.handed_back += 1
                self._write(claim, Event.RELEASE)
                return None
            # Every start followed a claim, so only a request claimed more often than
            # max_attempts can have used them up: the history is read only then.
            if (
                claim.lease.attempts > self.max_attempts
                and _starts_since_scheduled(self.app.reads.history(r.id)) >= self.max_attempts
            ):
                self.report.failed += 1
                self._write(
                    claim, Event.FAIL,
                    f"the update could not be finished after {self.max_attempts} attempts",
                )  # fmt: skip
                return None
            run = run_for(self.app, claim, self.lease_seconds)
            try:
                taken = self.app.host.executor_dispatch(run)
            except Exception as exc:  # the engine is down: hand back, try at the next poll
                self.report.errors.append(f"{r.id}: {exc}")
                logger.error("dispatcher %s could not dispatch %s: %s", self.id, r.id, exc)
                self._engine_down = True
                return self.process(claim, hand_back=True)
            if taken is None:
                logger.error("no executor took request %s; handed back", r.id)
                self._engine_down = True
                return self.process(claim, hand_back=True)
            self.report.dispatched += 1
            return run
        except (LeaseLost, ConflictError) as exc:
            self.report.lost += 1
            logger.warning("dispatcher %s lost request %s: %s", self.id, r.id, exc)
            return None

    def run_once(self) -> int:
        """Claim what is due now and dispatch it; return how many requests were claimed.

        Returns 0 also when the executor could not take a run (the claims were
        handed back), so a caller waits before the next round.
        """
        if self.stopping:
            return 0
        limit = self.batch
        if self.max_waiting is not None:
            # Back-pressure: what waits in the engine's queue must start within its lease.
            waiting = self.app.reads.requests_in((Status.NOT_STARTED,), limit=self.max_waiting)
            limit = min(limit, self.max_waiting - len(waiting))
            if limit <= 0:
                return 0
        claims = self.app.storage.claim(self.id, self.app.now(), self.start_within, limit=limit)
        self.report.claimed += len(claims)
        self._engine_down = False
        for claim in claims:
            # Once the executor failed, the rest of the batch goes back at once.
            self.process(claim, hand_back=self._engine_down)
        return 0 if self._engine_down else len(claims)

    def run(self, *, poll: float = 5.0, until_idle: bool = False) -> DispatchReport:
        """Dispatch until :meth:`stop` (or, with ``until_idle``, until nothing is due).

        Rounds follow one another while there is work, ``poll`` seconds apart when
        there is none, and further apart while they fail (see
        :func:`siteupdates.app.polling.poll`).
        """
        poll_loop(self.run_once, stop=self._stop, interval=poll, until_idle=until_idle,
                  logger=logger, name=f"dispatcher {self.id}")  # fmt: skip
        return self.report
