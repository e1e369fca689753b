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
from typing import TYPE_CHECKING, Optional

import attrs

from siteupdates.domain import Actor, Event, UpdateRequest
from siteupdates.errors import ConflictError, LeaseLost, SiteUpdatesError
from siteupdates.ports import ChangeSet, Claim, Fence

if TYPE_CHECKING:
    from siteupdates.service import Desk

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

    def __init__(self, desk: Desk, fence: Fence, lease_seconds: float) -> None:
        self.desk = desk
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
            until = self.desk.now() + timedelta(seconds=self.lease_seconds)
            if not self.desk.storage.renew(self.fence, until):
                self.lost.set()
                return


class Worker:
    """One hosting worker over a desk's storage and plugins."""

    def __init__(
        self,
        desk: Desk,
        worker_id: str,
        *,
        lease_seconds: float = 300.0,
        max_attempts: int = 3,
        batch: int = 1,
    ) -> None:
        self.desk = desk
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
        request: UpdateRequest,
        event: Event,
        *,
        reason: Optional[str] = None,
        release: bool = False,
    ) -> UpdateRequest:
        new, cs = self.desk._transition(request, event, Actor.PROVIDER, self.id, reason=reason)
        if event is Event.COMPLETE:
            cs = cs + ChangeSet(tenants=(self.desk._completed_sites(new),))
        cs = cs + ChangeSet(fences=(claim.fence,), release=(new.id,) if release else ())
        self.desk.storage.apply(cs)
        return new

    def process(self, claim: Claim) -> Optional[UpdateRequest]:
        """Run one claimed request to its end; return its final state (None if lost)."""
        r = claim.request
        try:
            if claim.lease.attempts > self.max_attempts:
                self.report.failed += 1
                return self._write(
                    claim, r, Event.FAIL, release=True,
                    reason=f"the update could not be finished after {self.max_attempts} attempts",
                )  # fmt: skip
            if self.stopping or not self.desk.host.performs_updates():
                if not self.stopping:
                    logger.error("no plugin performs updates; request %s handed back", r.id)
                self.report.released += 1
                return self._write(claim, r, Event.RELEASE, release=True)
            tenant = self.desk._tenant(r.tenant_id)
            r = self._write(claim, r, Event.START)
            error: Optional[str] = None
            with _Renewer(self.desk, claim.fence, self.lease_seconds) as renewer:
                try:
                    done = self.desk.host.perform_update(r, tenant)
                except Exception as exc:  # the hook's failure is the contact's reason
                    error = str(exc) or type(exc).__name__
                    done = False
            if renewer.lost.is_set():
                raise LeaseLost(r.id, self.id)
            if error is not None or done is not True:
                self.report.failed += 1
                return self._write(
                    claim, r, Event.FAIL, reason=error or "the update reported failure",
                    release=True,
                )  # fmt: skip
            self.report.completed += 1
            return self._write(claim, r, Event.COMPLETE, release=True)
        except (LeaseLost, ConflictError) as exc:
            self.report.lost += 1
            logger.warning("worker %s lost request %s: %s", self.id, r.id, exc)
            return None

    def run_once(self) -> int:
        """Claim and run what is due now; return how many requests were claimed."""
        if self.stopping:
            return 0
        claims = self.desk.storage.claim(
            self.id, self.desk.now(), self.lease_seconds, limit=self.batch
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
