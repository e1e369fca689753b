"""Hosting workers: take due requests off the queue and run them (R15, R20).

A :class:`Worker` claims due Scheduled requests with a lease (Not Started),
moves each to In Progress, calls the ``siteupdates_perform_update`` hook while
renewing its lease in the background, then completes it, or makes it Unable to
Complete with the hook's error as the reason the contact reads.

Safety:

* **Leases.** A worker that dies leaves its lease to expire; another worker
  then takes the request over (``reclaim``) with the attempt count raised.
  After ``max_attempts`` claims the request becomes Unable to Complete instead
  of looping.
* **Fencing.** Every change a worker writes carries its lease (worker, attempt);
  once another worker has taken the request over, the old worker's writes are
  refused with :class:`~siteupdates.errors.LeaseLost` and nothing of them is
  written.
* **Stopping.** :meth:`Worker.stop` (the command line calls it on SIGTERM) lets
  the update in hand finish; a request claimed but not yet started is handed
  back (``release``) to be claimed again at once.

On SQLite, workers of several processes on one machine take turns on the file's
single writer; for workers on several machines use PostgreSQL, where claims use
``SELECT ... FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Optional

import attrs

from siteupdates.domain import Event, UpdateRequest
from siteupdates.errors import ConflictError, LeaseLost, SiteUpdatesError
from siteupdates.ports import Claim, Fence

from . import provider
from .bootstrap import App

__all__ = ["Worker", "WorkReport"]

logger = logging.getLogger("siteupdates.worker")


@attrs.define
class WorkReport:
    """What a worker did so far."""

    claimed: int = 0
    completed: int = 0
    failed: int = 0
    released: int = 0
    lost: int = 0


class _Renewer:
    """Renews a lease every ``every`` seconds until stopped, or until it is lost."""

    def __init__(self, app: App, fence: Fence, lease_seconds: float) -> None:
        self.app = app
        self.fence = fence
        self.lease_seconds = lease_seconds
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="siteupdates-lease", daemon=True)

    def __enter__(self) -> _Renewer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        every = max(self.lease_seconds / 3, 0.01)
        while not self._stop.wait(every):
            until = self.app.now() + timedelta(seconds=self.lease_seconds)
            if not self.app.storage.renew(self.fence, until):
                self.lost.set()
                return


class Worker:
    """One hosting worker over an application's storage and plugins.

    ``app`` is an :class:`~siteupdates.app.App` or anything with one as ``.app``
    (a :class:`~siteupdates.Desk`).
    """

    def __init__(
        self,
        app: object,
        worker_id: str,
        *,
        lease_seconds: float = 300.0,
        max_attempts: int = 3,
        batch: int = 1,
    ) -> None:
        found = app if isinstance(app, App) else getattr(app, "app", None)
        if not isinstance(found, App):
            raise TypeError(f"Worker needs an App or a Desk, not {type(app).__name__}")
        self.app = found
        self.id = worker_id
        self.lease_seconds = float(lease_seconds)
        self.max_attempts = int(max_attempts)
        self.batch = int(batch)
        self.report = WorkReport()
        self._stop = threading.Event()

    def stop(self) -> None:
        """Finish the update in hand, hand back what was not started, then stop."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stop.is_set()

    def _write(
        self,
        claim: Claim,
        event: Event,
        *,
        reason: Optional[str] = None,
        release: bool = False,
    ) -> UpdateRequest:
        return provider.act(
            self.app, claim.request.id, event, by=self.id, reason=reason,
            fence=claim.fence, release=release,
        )  # fmt: skip

    def process(self, claim: Claim) -> Optional[UpdateRequest]:
        """Run one claimed request to its end; return its final state (None if lost)."""
        r = claim.request
        try:
            if claim.lease.attempts > self.max_attempts:
                self.report.failed += 1
                return self._write(
                    claim, Event.FAIL, release=True,
                    reason=f"the update could not be finished after {self.max_attempts} attempts",
                )  # fmt: skip
            if self.stopping or not self.app.host.performs_updates():
                if not self.stopping:
                    logger.error("no plugin performs updates; request %s handed back", r.id)
                self.report.released += 1
                return self._write(claim, Event.RELEASE, release=True)
            tenant = provider.tenant(self.app, r.tenant_id)
            r = self._write(claim, Event.START)
            error: Optional[str] = None
            with _Renewer(self.app, claim.fence, self.lease_seconds) as renewer:
                try:
                    done = self.app.host.perform_update(r, tenant)
                except Exception as exc:  # the hook's failure is the contact's reason
                    error = str(exc) or type(exc).__name__
                    done = False
            if renewer.lost.is_set():
                raise LeaseLost(r.id, self.id)
            if error is not None or done is not True:
                self.report.failed += 1
                return self._write(
                    claim, Event.FAIL, reason=error or "the update reported failure",
                    release=True,
                )  # fmt: skip
            self.report.completed += 1
            return self._write(claim, Event.COMPLETE, release=True)
        except (LeaseLost, ConflictError) as exc:
            self.report.lost += 1
            logger.warning("worker %s lost request %s: %s", self.id, r.id, exc)
            return None

    def run_once(self) -> int:
        """Claim and run what is due now; return how many requests were claimed."""
        if self.stopping:
            return 0
        claims = self.app.storage.claim(
            self.id, self.app.now(), self.lease_seconds, limit=self.batch
        )
        self.report.claimed += len(claims)
        for claim in claims:
            self.process(claim)
        return len(claims)

    def run(self, *, poll: float = 5.0, until_idle: bool = False) -> WorkReport:
        """Work until :meth:`stop` (or, with ``until_idle``, until nothing is due)."""
        while not self.stopping:
            try:
                got = self.run_once()
            except SiteUpdatesError as exc:
                logger.error("worker %s: %s", self.id, exc)
                got = 0
            if got == 0:
                if until_idle:
                    break
                self._stop.wait(poll)
        return self.report
