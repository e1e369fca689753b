"""Hosting workers: take due requests off the queue and run them (R15, R20).

A :class:`Worker` claims due Scheduled requests with a lease (Not Started),
moves each to In Progress, runs the update hooks (``siteupdates_before_update``,
``siteupdates_perform_update``, ``siteupdates_after_refresh`` for a DB refresh,
``siteupdates_after_update``), then completes it. A hook that raises
:class:`~siteupdates.errors.UpdateFailed` ends the request as it says (Pending
Input with ``ask=True``, else Unable to Complete) with the reason it gives the
contact; any other error makes it Unable to Complete with a generic reason, and
its text goes to the provider's log only.

Safety:

* **Leases.** Every claim in hand is renewed in the background every third of
  the lease, the ones waiting their turn in a batch too; starting an update
  renews it at once. A worker checks its lease right before it performs an
  update and never performs one whose lease it lost.
* **Take-over.** A worker that dies (or stalls) stops renewing; when its lease
  expires another worker takes the request over (``reclaim``) with the attempt
  count raised. After ``max_attempts`` claims the request becomes Unable to
  Complete instead of looping.
* **Fencing.** Every change a worker writes carries its lease (worker, attempt);
  once another worker has taken the request over, the old worker's writes are
  refused with :class:`~siteupdates.errors.LeaseLost` and nothing of them is
  written. The attempt is also the fencing token every update hook receives
  (``fence.token``): the systems an update touches can refuse a stalled actor.
* **Stopping.** :meth:`Worker.stop` (the command line calls it on SIGTERM) lets
  the update in hand finish; a request claimed but not yet started is handed
  back (``release``) to be claimed again at once.

On SQLite, workers of several processes on one machine take turns on the file's
single writer; for workers on several machines use PostgreSQL, where claims use
``SELECT ... FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Dict, Optional, Sequence, Set, Tuple

import attrs

from siteupdates import logs
from siteupdates.domain import Event, Tenant, UpdateRequest
from siteupdates.errors import ConflictError, LeaseLost, SiteUpdatesError, UpdateFailed
from siteupdates.leases import LeaseKeeper
from siteupdates.ports import Claim, Fence

from . import provider
from .bootstrap import App
from .polling import poll as poll_loop

__all__ = ["GENERIC_REASON", "WorkReport", "Worker"]

#: What the contact reads when an update hook fails without saying what to tell them.
GENERIC_REASON = (
    "the update could not be completed; the hosting team has been told and will contact you"
)

logger = logs.logger("siteupdates.worker")


@attrs.define
class WorkReport:
    """What a worker did so far."""

    claimed: int = 0
    completed: int = 0
    failed: int = 0
    released: int = 0
    lost: int = 0


class _Leases(LeaseKeeper):
    """Renews the lease of every claim in hand, batch or not, until each is done.

    A claim waiting its turn in a batch keeps its lease like the one running; a
    renewal that fails marks the claim lost, and the worker never starts it.
    """

    def __init__(self, app: App, claims: Sequence[Claim], lease_seconds: float) -> None:
        self.app = app
        self.lease_seconds = lease_seconds
        self.held: Dict[str, Fence] = {c.request.id: c.fence for c in claims}
        self.lost: Set[str] = set()
        self._lock = threading.Lock()
        super().__init__(lease_seconds, "siteupdates-lease")

    def renew(self, fence: Fence) -> bool:
        """Extend one lease now; False (and the claim marked lost) when it no longer holds."""
        with self._lock:
            if fence.request_id in self.lost:
                return False
        until = self.app.now() + timedelta(seconds=self.lease_seconds)
        ok = self.app.storage.renew(fence, until)
        if not ok:
            with self._lock:
                self.lost.add(fence.request_id)
        return ok

    def holds(self, request_id: str) -> bool:
        """Whether no renewal of ``request_id`` has failed so far."""
        with self._lock:
            return request_id not in self.lost

    def done(self, request_id: str) -> None:
        """Stop renewing ``request_id`` (finished, failed or handed back)."""
        with self._lock:
            self.held.pop(request_id, None)

    def renew_round(self) -> bool:
        """Renew every lease in hand that has not been lost."""
        with self._lock:
            fences = [f for rid, f in self.held.items() if rid not in self.lost]
        for fence in fences:
            try:
                self.renew(fence)
            except SiteUpdatesError as exc:  # the next round tries again
                logger.warning("renewing the lease of %s failed: %s", fence.request_id, exc)
        return True


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

    def process(self, claim: Claim, leases: Optional[_Leases] = None) -> Optional[UpdateRequest]:
        """Run one claimed request to its end; return its final state (None if lost)."""
        if leases is None:
            with _Leases(self.app, [claim], self.lease_seconds) as own:
                return self.process(claim, own)
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
            # Starting extends the lease: the update gets a whole lease from here.
            if not leases.renew(claim.fence):
                raise LeaseLost(r.id, self.id)
            r = self._write(claim, Event.START)
            outcome = self._run_hooks(claim, r, tenant, leases)
            if not leases.holds(r.id) or not leases.renew(claim.fence):
                raise LeaseLost(r.id, self.id)
            if outcome is not None:
                event, reason = outcome
                self.report.failed += 1
                return self._write(claim, event, reason=reason, release=True)
            self.report.completed += 1
            return self._write(claim, Event.COMPLETE, release=True)
        except (LeaseLost, ConflictError) as exc:
            self.report.lost += 1
            logger.warning("worker %s lost request %s: %s", self.id, r.id, exc)
            return None
        finally:
            leases.done(claim.request.id)

    def _run_hooks(
        self, claim: Claim, r: UpdateRequest, tenant: Tenant, leases: _Leases
    ) -> Optional[Tuple[Event, str]]:
        """Before, perform, after: None when all went well, else the event and contact reason."""
        host, fence = self.app.host, claim.fence
        step = "before_update"
        try:
            host.before_update(r, tenant, fence)
            # Never perform a request whose lease was lost meanwhile.
            if not leases.holds(r.id) or not leases.renew(fence):
                raise LeaseLost(r.id, self.id)
            step = "perform_update"
            if host.perform_update(r, tenant, fence) is not True:
                raise RuntimeError("the update hook reported failure")
            if not leases.holds(r.id):
                raise LeaseLost(r.id, self.id)
            if r.db_refresh:
                step = "after_refresh"
                site = tenant.site(r.target.refresh_site)
                if site is not None:
                    host.after_refresh(r, tenant, site, fence)
            step = "after_update"
            host.after_update(r, tenant, fence)
        except LeaseLost:
            raise
        except UpdateFailed as exc:
            logger.error("request %s: %s failed: %s", r.id, step, exc.internal or exc.reason)
            return (Event.ASK_INPUT if exc.ask else Event.FAIL), exc.reason
        except Exception as exc:  # the provider reads the error; the contact a plain reason
            logger.error("request %s: %s failed: %s: %s", r.id, step, type(exc).__name__, exc)
            return Event.FAIL, GENERIC_REASON
        return None

    def run_once(self) -> int:
        """Claim and run what is due now; return how many requests were claimed."""
        if self.stopping:
            return 0
        claims = self.app.storage.claim(
            self.id, self.app.now(), self.lease_seconds, limit=self.batch
        )
        self.report.claimed += len(claims)
        if claims:
            with _Leases(self.app, claims, self.lease_seconds) as leases:
                for claim in claims:
                    self.process(claim, leases)
        return len(claims)

    def run(self, *, poll: float = 5.0, until_idle: bool = False) -> WorkReport:
        """Work until :meth:`stop` (or, with ``until_idle``, until nothing is due).

        Rounds follow one another while there is work, ``poll`` seconds apart when
        there is none, and further apart while they fail (see
        :func:`siteupdates.app.polling.poll`).
        """
        poll_loop(self.run_once, stop=self._stop, interval=poll, until_idle=until_idle,
                  logger=logger, name=f"worker {self.id}")  # fmt: skip
        return self.report
