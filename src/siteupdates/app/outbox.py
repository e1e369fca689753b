"""Delivering the outbox: each notice once, with retries, backoff and a dead letter.

Outbox items are written in the same transaction as the change that caused
them, so a notice is never lost with a change, nor sent for a change that did
not happen. A :class:`Dispatcher` delivers due items:

* **Claim first.** Items are claimed in one transaction before anything is sent
  (a lease: owner, expiry, claim count; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
  an immediate transaction on SQLite), and the leases of the batch in hand are
  renewed until each item is settled. Any number of dispatchers, in threads,
  processes or hosts, send each notice once when nothing crashes. An outcome
  is stored only while the claim holds (the claim count is the fence).
* **Fenced notifiers.** The notifier gets a
  :class:`~siteupdates.notices.DeliveryAttempt` and calls ``commit()`` right
  before it sends. An attempt with no answer within ``timeout`` seconds is
  given up, and a notifier that commits after that gets AttemptCancelled and
  sends nothing. One that committed in time is waited for (up to another
  ``timeout``); a notifier that takes no ``attempt`` cannot be cancelled, so it
  is always waited for. Only after a crash (or a committed notifier that never
  answers) can a notice go twice, with the same key and Message-ID.
* **Failures are classified.** PermanentDeliveryError dead-letters the item at
  once with the reason; anything else is temporary: the item is due again after
  ``base_delay * 2 ** (attempts - 1)`` seconds (at most ``max_delay``, with
  jitter: between half and all of it), and dead after ``max_attempts``. A notice
  no notifier accepted is never marked delivered. Dead items wait for a person:
  :meth:`Dispatcher.retry` (``siteupdates outbox retry``) makes them due again.
* **Reminders** are items due at their time (see
  :func:`~siteupdates.domain.messages.reminders_for`). A reminder whose request
  is no longer Scheduled for that start, whose start has passed, or whose next,
  shorter reminder is already due, is withdrawn instead of sent: a late
  dispatcher sends one reminder, not a burst.

A failing notifier never touches the request that caused the item.
"""

from __future__ import annotations

import os
import queue
import random
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import attrs

from siteupdates import logs
from siteupdates.domain import Status
from siteupdates.domain.messages import CalendarEntry, Notice
from siteupdates.domain.timeutil import parse_ts
from siteupdates.errors import AttemptCancelled, InvalidInput, PermanentDeliveryError
from siteupdates.leases import LeaseKeeper
from siteupdates.notices import DeliveryAttempt
from siteupdates.plugins import PluginHost
from siteupdates.ports import OutboxItem, OutboxState, Storage

from .polling import poll as poll_loop

__all__ = ["DeliveryReport", "Dispatcher", "default_owner"]

logger = logs.logger("siteupdates.outbox")


@attrs.frozen
class DeliveryReport:
    """What one pass over the outbox did.

    ``lost`` counts items whose claim another dispatcher took over before the
    outcome was stored (nothing was stored for them); ``withdrawn`` counts
    reminders that were no longer due to anyone; ``undelivered`` counts
    notices that no notifier accepted (they stay pending).
    """

    delivered: int = 0
    retried: int = 0
    dead: int = 0
    errors: Tuple[str, ...] = ()
    withdrawn: int = 0
    lost: int = 0
    undelivered: int = 0

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            *(getattr(self, f.name) + getattr(other, f.name) for f in attrs.fields(DeliveryReport))
        )


def default_owner() -> str:
    """A dispatcher name unique to this process: host, process ID and a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _finite(name: str, value: float, *, low: float, strict: bool = True) -> float:
    v = float(value)
    ok = v == v and v not in (float("inf"), float("-inf")) and (v > low if strict else v >= low)
    if not ok:
        sign = ">" if strict else ">="
        raise InvalidInput(f"{name} must be a finite number {sign} {low:g}, not {value!r}", value)
    return v


class _InDoubt(Exception):
    """A notifier that cannot be cancelled overran: its claim is kept, nothing is stored yet."""


class _Outcome:
    """What a notifier call came to: a result or an exception, once it ended."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Optional[bool] = None
        self.error: Optional[BaseException] = None


class _Leases(LeaseKeeper):
    """Renews the leases of the claimed items in hand until each is settled."""

    def __init__(self, dispatcher: Dispatcher, items: Sequence[OutboxItem]) -> None:
        self.d = dispatcher
        self.held: Dict[str, OutboxItem] = {o.id: o for o in items}
        self.lost: set[str] = set()
        self.attempts: Dict[str, DeliveryAttempt] = {}
        self._lock = threading.Lock()
        super().__init__(dispatcher.lease, "siteupdates-outbox")

        #: The one thread that runs this batch's notifier calls (see _Runner).
        self.runner: Optional[_Runner] = None

    def __exit__(self, *exc: object) -> None:
        if self.runner is not None:
            self.runner.close()
        super().__exit__(*exc)

    def done(self, item: OutboxItem) -> None:
        with self._lock:
            self.held.pop(item.id, None)
            self.attempts.pop(item.id, None)

    def expires(self, item: OutboxItem) -> Optional[datetime]:
        """When the lease on ``item`` ends, as last stored by this dispatcher."""
        with self._lock:
            held = self.held.get(item.id)
        return None if held is None else held.lease_expires

    def renew(self, items: List[OutboxItem]) -> List[str]:
        until = self.d.clock() + timedelta(seconds=self.d.lease)
        with self.d._db:
            kept = self.d.storage.renew_outbox(self.d.owner, items, until)
        with self._lock:
            for o in items:
                if o.id in kept and o.id in self.held:
                    self.held[o.id] = attrs.evolve(self.held[o.id], lease_expires=until)
                if o.id not in kept:
                    self.lost.add(o.id)
                    attempt = self.attempts.get(o.id)
                    if attempt is not None:
                        attempt.cancel("the claim on the item was lost")
        return kept

    def renew_round(self) -> bool:
        """Renew the leases of the items in hand that have not been lost."""
        with self._lock:
            items = [o for i, o in self.held.items() if i not in self.lost]
        if items:
            try:
                self.renew(items)
            except Exception as exc:  # a storage hiccup: the next round tries again
                logger.warning("renewing outbox leases failed: %s", exc)
        return True


class _Runner:
    """A thread that runs notifier calls one after another, for one batch.

    The dispatcher waits on each call with a timeout, so the call cannot run
    on the dispatcher's own thread; one thread per batch instead of one per
    attempt. A call that overruns keeps its runner: the dispatcher closes it
    (the thread ends after that call) and starts another for the next item.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Optional[Callable[[], None]]] = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="siteupdates-deliver", daemon=True).start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job()

    def run(self, job: Callable[[], None]) -> None:
        """Run ``job`` after the ones handed over before it."""
        self._jobs.put(job)

    def close(self) -> None:
        """End the thread once the calls handed over so far are done."""
        self._jobs.put(None)


class Dispatcher:
    """Delivers due outbox items through a plugin host's hooks.

    ``owner`` names this dispatcher in the leases (default: host, process and a
    random tag); ``lease`` is the claim's length in seconds (renewed while the
    item is in hand; default three timeouts, at least 30 s); ``batch`` how many
    items one claim takes.
    """

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
        lease: Optional[float] = None,
        owner: Optional[str] = None,
    ) -> None:
        self.storage = storage
        self.host = host
        self.clock = clock
        if isinstance(max_attempts, bool) or int(max_attempts) != max_attempts or max_attempts < 1:
            raise InvalidInput(f"max_attempts must be a whole number >= 1, not {max_attempts!r}")
        if isinstance(batch, bool) or int(batch) != batch or batch < 1:
            raise InvalidInput(f"batch must be a whole number >= 1, not {batch!r}", batch)
        self.max_attempts = int(max_attempts)
        self.base_delay = _finite("base_delay", base_delay, low=0, strict=False)
        self.max_delay = _finite("max_delay", max_delay, low=0, strict=False)
        self.timeout = _finite("timeout", timeout, low=0)
        self.batch = int(batch)
        self.lease = _finite(
            "lease", lease if lease is not None else max(30.0, 3 * self.timeout), low=0
        )
        self.owner = owner or default_owner()
        self._db = threading.RLock()  # one storage call at a time from this dispatcher
        self._stop = threading.Event()

    # -- policy --------------------------------------------------------------------

    def backoff(self, attempts: int) -> timedelta:
        """The wait before the next attempt after ``attempts`` failures (with jitter)."""
        full = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
        return timedelta(seconds=full * random.uniform(0.5, 1.0))

    # -- one item --------------------------------------------------------------------

    def _call(self, item: OutboxItem, attempt: DeliveryAttempt) -> Optional[bool]:
        if item.kind in ("notice", "reminder"):
            return self.host.deliver_notice(Notice.from_payload(item.payload), attempt)
        if item.kind == "calendar":
            self.host.calendar_update(CalendarEntry.from_payload(item.payload))
            return True  # no calendar plugin means nothing to keep in step
        raise PermanentDeliveryError(f"unknown outbox kind {item.kind!r}")

    def _stale_reminder(self, item: OutboxItem, now: datetime) -> Optional[str]:
        """Why a reminder must not go out now, or None."""
        start = parse_ts(item.payload.get("start"))
        next_at = parse_ts(item.payload.get("next_at"))
        if start is None or start <= now:
            return "the scheduled start has passed"
        if next_at is not None and next_at <= now:
            return "a later reminder of the ladder is due already"
        with self._db:
            r = None if item.request_id is None else self.storage.request(item.request_id)
        if r is None or r.status is not Status.SCHEDULED or r.scheduled_for != start:
            return "the request is no longer scheduled for that start"
        return None

    def _run_notifier(
        self, item: OutboxItem, leases: _Leases
    ) -> Tuple[Optional[bool], Optional[BaseException]]:
        def still_held() -> bool:
            # The keeper renews every third of the lease and cancels the attempt
            # if a renewal finds the claim gone; a lease that outlasts the whole
            # attempt (two timeouts from now) needs no write here. A shorter one
            # is renewed, and the renewal says whether the claim still holds.
            expires = leases.expires(item)
            now = self.clock()
            if expires is not None and expires - now > timedelta(seconds=2 * self.timeout):
                return item.id not in leases.lost
            until = now + timedelta(seconds=self.lease)
            with self._db:
                return bool(self.storage.renew_outbox(self.owner, [item], until))

        attempt = DeliveryAttempt(
            item.key, self.timeout, token=item.claims, check_claim=still_held
        )
        with leases._lock:
            leases.attempts[item.id] = attempt
        outcome = _Outcome()

        def run() -> None:
            try:
                outcome.result = self._call(item, attempt)
            except BaseException as exc:  # reported to the dispatcher below
                outcome.error = exc
            finally:
                outcome.done.set()

        cancellable = item.kind != "calendar" and self.host.notifiers_cancellable()
        if leases.runner is None:
            leases.runner = _Runner()
        leases.runner.run(run)
        if outcome.done.wait(self.timeout):
            return outcome.result, outcome.error
        # The call overran: the next item gets a runner of its own.
        leases.runner.close()
        leases.runner = None
        if cancellable and attempt.cancel(f"no answer within {self.timeout:g} s"):
            return None, AttemptCancelled(
                item.key, f"no answer within {self.timeout:g} s; cancelled before it sent"
            )
        # Committed (or not cancellable): it may be sending now; wait for its answer.
        if outcome.done.wait(self.timeout):
            return outcome.result, outcome.error
        self._keep(item, outcome)
        return None, _InDoubt(
            f"no answer within {2 * self.timeout:g} s after it may have begun sending; "
            "the claim is kept until the notifier answers"
        )

    def _keep(self, item: OutboxItem, outcome: _Outcome) -> None:
        """Hold the claim of an item whose notifier may still send, and settle it when it ends.

        While this process lives no other dispatcher can claim the item, so the
        late send is not doubled; if the process ends first, the lease runs out
        and the item is tried again (at least once, with the same key).
        """

        def keep() -> None:
            while not outcome.done.wait(max(self.lease / 3, 0.01)):
                until = self.clock() + timedelta(seconds=self.lease)
                with self._db:
                    if not self.storage.renew_outbox(self.owner, [item], until):
                        return
            now = self.clock()
            if outcome.error is None and outcome.result:
                done = attrs.evolve(
                    item, state=OutboxState.DELIVERED, attempts=item.attempts + 1,
                    delivered_at=now, next_attempt_at=None, last_error=None,
                )  # fmt: skip
                event = "delivered"
            else:
                why = outcome.error or "no notifier accepted it"
                done = attrs.evolve(
                    item, attempts=item.attempts + 1, last_error=f"late answer: {why}",
                    next_attempt_at=now + self.backoff(item.attempts + 1),
                )  # fmt: skip
                event = "failed"
            with self._db:
                self.storage.settle_outbox(done, event=event, by=self.owner, at=now)

        threading.Thread(target=keep, name="siteupdates-keep", daemon=True).start()

    def _attempt(self, item: OutboxItem, leases: _Leases) -> Tuple[str, OutboxItem]:
        """Try one claimed item once and store the outcome; return (event, item as settled).

        The event is ``delivered``, ``failed`` (due again later), ``dead``,
        ``withdrawn``, ``undelivered`` (no notifier accepted it) or ``lost``
        (the claim was taken over; nothing stored).
        """
        now = self.clock()
        if item.kind == "reminder":
            why = self._stale_reminder(item, now)
            if why is not None:
                done = attrs.evolve(item, state=OutboxState.WITHDRAWN, last_error=why)
                return self._settle(done, "withdrawn", now, leases)
        result, error = self._run_notifier(item, leases)
        now = self.clock()
        if isinstance(error, _InDoubt):
            leases.done(item)  # the keeper renews it from here
            logger.warning("outbox %s: %s", item.key, error)
            return "failed", attrs.evolve(item, last_error=str(error))
        attempts = item.attempts + 1
        if error is None and result:
            done = attrs.evolve(
                item, state=OutboxState.DELIVERED, attempts=attempts, delivered_at=now,
                next_attempt_at=None, last_error=None,
            )  # fmt: skip
            return self._settle(done, "delivered", now, leases)
        if error is None:
            # No notifier took it: not the notice's fault. It stays pending, its
            # attempts untouched, until one is configured.
            reason = "no notifier accepted it (configure one: --smtp URL, or a notifier plugin)"
            done = attrs.evolve(
                item, last_error=reason, next_attempt_at=now + self.backoff(max(1, item.attempts))
            )
            return self._settle(done, "undelivered", now, leases)
        reason = f"{type(error).__name__}: {error}"
        event = "failed"
        if isinstance(error, PermanentDeliveryError) or attempts >= self.max_attempts:
            logger.error("outbox %s is dead after %d attempts: %s", item.key, attempts, reason)
            done = attrs.evolve(item, state=OutboxState.DEAD, attempts=attempts, last_error=reason)
            return self._settle(done, "dead", now, leases)
        logger.warning("outbox %s failed (attempt %d): %s", item.key, attempts, reason)
        done = attrs.evolve(
            item, attempts=attempts, last_error=reason,
            next_attempt_at=now + self.backoff(attempts),
        )  # fmt: skip
        return self._settle(done, event, now, leases)

    def _settle(
        self, done: OutboxItem, event: str, now: datetime, leases: _Leases
    ) -> Tuple[str, OutboxItem]:
        with self._db:
            stored = self.storage.settle_outbox(
                done, event="failed" if event == "undelivered" else event, by=self.owner, at=now
            )
        leases.done(done)
        if not stored:
            logger.warning("outbox %s: claim lost to another dispatcher; nothing stored", done.key)
            return "lost", done
        return event, done

    # -- passes ------------------------------------------------------------------------

    def run_once(self) -> DeliveryReport:
        """Claim and deliver every item due now, one batch at a time."""
        counts = {"delivered": 0, "failed": 0, "dead": 0, "withdrawn": 0, "lost": 0,
                  "undelivered": 0}  # fmt: skip
        errors: List[str] = []
        seen: set[str] = set()
        while not self._stop.is_set():
            with self._db:
                claimed = self.storage.claim_outbox(
                    self.owner, self.clock(), self.lease, limit=self.batch
                )
            fresh = [o for o in claimed if o.id not in seen]
            again = [o for o in claimed if o.id in seen]
            if again:
                # Due again within this pass (no backoff): leave them to the next pass.
                with self._db:
                    self.storage.renew_outbox(
                        self.owner, again, self.clock() - timedelta(seconds=1)
                    )
            if not fresh:
                break
            with _Leases(self, fresh) as leases:
                for item in fresh:
                    seen.add(item.id)
                    if self._stop.is_set() or item.id in leases.lost:
                        if item.id in leases.lost:
                            counts["lost"] += 1
                        continue
                    event, done = self._attempt(item, leases)
                    counts[event] += 1
                    if event in ("failed", "dead", "undelivered"):
                        errors.append(f"{item.key}: {done.last_error}")
            if self._stop.is_set():
                # Hand back what was claimed but not tried, at once.
                rest = [o for o in fresh if o.id in leases.held]
                if rest:
                    with self._db:
                        self.storage.renew_outbox(
                            self.owner, rest, self.clock() - timedelta(seconds=1)
                        )
        return DeliveryReport(
            delivered=counts["delivered"],
            retried=counts["failed"],
            dead=counts["dead"],
            errors=tuple(errors),
            withdrawn=counts["withdrawn"],
            lost=counts["lost"],
            undelivered=counts["undelivered"],
        )

    def run(self, *, poll: float = 30.0) -> DeliveryReport:
        """Deliver until :meth:`stop`, a pass every ``poll`` seconds (reminders fire here).

        A pass delivers everything due, so the next one waits ``poll`` seconds
        whatever it did; a pass that failed (the storage is down) is logged and
        the waits grow while they fail (see :func:`siteupdates.app.polling.poll`).
        """
        poll = _finite("poll", poll, low=0)
        total = DeliveryReport()

        def one_pass() -> int:
            nonlocal total
            total = total + self.run_once()
            return 0  # drained: wait for the next pass

        poll_loop(one_pass, stop=self._stop, interval=poll, logger=logger,
                  name=f"deliverer {self.owner}")  # fmt: skip
        return total

    def stop(self) -> None:
        """Finish the item in hand, hand back the rest of the batch, and stop."""
        self._stop.set()

    # -- people ------------------------------------------------------------------------

    def retry(
        self, keys: Sequence[str] = (), *, dead: bool = False, by: str = "provider"
    ) -> List[OutboxItem]:
        """Make dead items (by key, or all with ``dead``) due now; logged in their history.

        Returns the items requeued; a key that names no dead or pending item is
        left out (compare with ``keys``).
        """
        if not keys and not dead:
            raise InvalidInput("name the items to retry by key, or ask for every dead one", None)
        with self._db:
            return self.storage.requeue_outbox(keys, dead=dead, by=by, at=self.clock())
