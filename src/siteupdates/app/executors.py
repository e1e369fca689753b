"""Executors: due updates handed to the engine a hosting team runs, and its reports back.

The library decides *when* an update runs and *tells people*; the runbook that
upgrades a site or copies a database belongs to the hosting team, which may run
it on Celery, AWX, Kubernetes Jobs or Temporal. Three pieces connect the two:

* :class:`RunDispatcher` claims due requests with the same leases as the hosting
  worker (so dispatchers on several machines never hand one request out twice)
  and gives each one, as a :class:`Run`, to the executor plugin
  (``siteupdates_executor_dispatch``).
* :func:`report` is how the engine tells the library what became of a run:
  ``started`` (In Progress), ``completed``, ``failed`` (Unable to Complete, with
  the reason the contact reads) or ``needs-input`` (Pending Input, with the
  question). Each report carries the run's **fencing token** and goes through
  :func:`siteupdates.app.provider.act` with the lease as its fence: a report of
  an attempt that was taken over is refused (:class:`~siteupdates.errors.StaleReport`)
  and a report repeated by the same attempt is ignored, so nothing is applied
  twice. :func:`heartbeat` keeps the lease of a long run alive.
* :func:`execute` is the engine side for Python engines: report ``started``
  (the gate: a second delivery of the same run stops there), renew the lease
  while the runbook works, report the outcome.

:class:`LocalExecutor` is the reference executor: it runs each run in the
dispatcher's own process through the ``siteupdates_perform_update`` hook, by the
same reports as any other engine.
"""

from __future__ import annotations

import enum
import math
import threading
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, TypeVar

import attrs

from siteupdates import logs
from siteupdates.domain import (
    Event,
    HistoryEntry,
    ProviderPreset,
    SiteKind,
    Status,
    Target,
    UpdateRequest,
    Version,
)
from siteupdates.domain.timeutil import require_aware
from siteupdates.errors import (
    ConflictError,
    InvalidInput,
    LeaseLost,
    SiteUpdatesError,
    StaleReport,
    TransitionNotAllowed,
    UnknownName,
    UpdateFailed,
)
from siteupdates.hookspecs import hookimpl
from siteupdates.leases import LeaseKeeper
from siteupdates.ports import Claim, Fence

from . import provider
from .bootstrap import App

__all__ = [
    "DispatchReport",
    "Execution",
    "LocalExecutor",
    "Outcome",
    "Report",
    "Run",
    "RunDispatcher",
    "Ticket",
    "cancel",
    "deadline_for",
    "execute",
    "heartbeat",
    "report",
    "run_for",
    "status",
]

logger = logs.logger("siteupdates.executors")
T = TypeVar("T")

#: What a run that raised anything but UpdateFailed tells the contact: an
#: exception's text may hold host names or paths a customer should not read.
GENERIC_REASON = "the update could not be completed; the hosting team has been told"


class Outcome(str, enum.Enum):
    """What an engine reports about a run."""

    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    NEEDS_INPUT = "needs-input"

    @classmethod
    def parse(cls, value: object) -> Outcome:
        """The outcome named ``value``; UnknownName otherwise."""
        if isinstance(value, cls):
            return value
        text = str(value).strip().lower().replace("_", "-") if isinstance(value, str) else ""
        for member in cls:
            if member.value == text:
                return member
        raise UnknownName("outcome", value, [m.value for m in cls])


_EVENT = {
    Outcome.STARTED: Event.START,
    Outcome.COMPLETED: Event.COMPLETE,
    Outcome.FAILED: Event.FAIL,
    Outcome.NEEDS_INPUT: Event.ASK_INPUT,
}


def deadline_for(preset: ProviderPreset, at: datetime) -> datetime:
    """When a run starting at ``at`` must be finished: the close of the window it is in.

    A run outside every window (a provider's override, or one taken over after
    its window closed) gets the preset's ``update_duration`` from ``at``.
    """
    at = require_aware("at", at)
    # A recurring window past its effective range has no next occurrence.
    found = [w.next_occurrence(at) for w in preset.windows]
    closes = [c for o, c in (f for f in found if f is not None) if o <= at]
    return max(closes) if closes else at + preset.update_duration


def _field(name: str, parse: Callable[[Any], T], value: object) -> T:
    """``parse(value)``, its refusal naming the ticket field."""
    try:
        return parse(value)
    except SiteUpdatesError as exc:
        raise InvalidInput(f"run ticket field {name!r}: {exc}", value) from None


@attrs.frozen
class Ticket:
    """What an engine receives: a :class:`Run` as plain, JSON-friendly values.

    ``run_id`` is the request ID; ``fencing_token`` goes with every report;
    ``idempotency_key`` names this attempt (a Celery task ID, a Kubernetes Job
    name); ``deadline`` is when the work must be finished (the window's close).
    """

    run_id: str
    fencing_token: int
    idempotency_key: str
    tenant_id: str
    target: str
    targets: Tuple[str, ...]
    version: Optional[str]
    db_refresh: bool
    deadline: datetime
    lease_seconds: float

    def to_json(self) -> Dict[str, Any]:
        """The ticket as a JSON object (instants as ISO 8601 text)."""
        data = attrs.asdict(self)
        data["targets"] = list(self.targets)
        data["deadline"] = self.deadline.isoformat()
        return data

    @classmethod
    def from_json(cls, data: object) -> Ticket:
        """A ticket from a JSON object, checked field by field; keys it does not know are ignored.

        Raises InvalidInput naming the first field that is missing or malformed
        and what it accepts.
        """
        if not isinstance(data, Mapping):
            raise InvalidInput(f"a run ticket is a JSON object, not {type(data).__name__}", data)

        def text(key: str, optional: bool = False) -> Any:
            value = data.get(key)
            if value is None and optional:
                return None
            if not isinstance(value, str) or not value.strip() or len(value) > 500:
                raise InvalidInput(f"run ticket field {key!r} must be a non-empty text", value)
            return value

        token = data.get("fencing_token")
        if isinstance(token, bool) or not isinstance(token, int) or token < 1:
            raise InvalidInput(
                "run ticket field 'fencing_token' must be a whole number >= 1", token
            )
        targets = data.get("targets")
        if not isinstance(targets, (list, tuple)) or not targets:
            raise InvalidInput("run ticket field 'targets' must be a list of site kinds", targets)
        kinds = tuple(_field("targets", SiteKind.parse, t).value for t in targets)
        refresh = data.get("db_refresh")
        if not isinstance(refresh, bool):
            raise InvalidInput("run ticket field 'db_refresh' must be true or false", refresh)
        lease = data.get("lease_seconds")
        if (
            isinstance(lease, bool)
            or not isinstance(lease, (int, float))
            or not math.isfinite(lease)
            or lease <= 0
        ):
            raise InvalidInput("run ticket field 'lease_seconds' must be a positive number", lease)
        deadline_text = text("deadline")
        try:
            deadline = require_aware("deadline", datetime.fromisoformat(deadline_text))
        except ValueError:
            raise InvalidInput(
                "run ticket field 'deadline' must be an ISO 8601 instant with its offset",
                deadline_text,
            ) from None
        version = text("version", optional=True)
        return cls(
            run_id=text("run_id"),
            fencing_token=token,
            idempotency_key=text("idempotency_key"),
            tenant_id=text("tenant_id"),
            target=_field("target", Target.parse, text("target")).value,
            targets=kinds,
            version=None if version is None else str(_field("version", Version.parse, version)),
            db_refresh=refresh,
            deadline=deadline,
            lease_seconds=float(lease),
        )


@attrs.frozen
class Run:
    """One attempt at a request, handed to an executor.

    ``fencing_token`` is the claim's attempt count: it grows with every claim of
    the request, so a report carrying an older token is recognisably stale.
    ``owner`` is the dispatcher whose lease the run works under.
    """

    request: UpdateRequest
    fencing_token: int
    owner: str
    deadline: datetime
    lease_seconds: float

    @property
    def id(self) -> str:
        """The run's ID for reports: the request's ID."""
        return self.request.id

    @property
    def targets(self) -> Tuple[SiteKind, ...]:
        """The sites the run changes: the version's sites (R1) and the refreshed one (R4)."""
        r = self.request
        sites = list(r.target.version_sites) if r.version is not None else []
        if r.db_refresh and r.target.refresh_site not in sites:
            sites.append(r.target.refresh_site)
        return tuple(sites)

    @property
    def idempotency_key(self) -> str:
        """Names this attempt: the same for a redelivered dispatch, new after a take-over."""
        return f"siteupdates-{self.request.id}-{self.fencing_token}"

    def ticket(self) -> Ticket:
        """The run as the plain values an engine receives."""
        r = self.request
        return Ticket(
            run_id=r.id,
            fencing_token=self.fencing_token,
            idempotency_key=self.idempotency_key,
            tenant_id=r.tenant_id,
            target=r.target.value,
            targets=tuple(k.value for k in self.targets),
            version=None if r.version is None else str(r.version),
            db_refresh=r.db_refresh,
            deadline=self.deadline,
            lease_seconds=self.lease_seconds,
        )


def run_for(app: App, claim: Claim, lease_seconds: float) -> Run:
    """The run of a fresh claim."""
    return Run(
        request=claim.request,
        fencing_token=claim.lease.attempts,
        owner=claim.lease.worker,
        deadline=deadline_for(app.preset, app.now()),
        lease_seconds=float(lease_seconds),
    )


# -- reports -------------------------------------------------------------------------


@attrs.frozen
class Report:
    """What a report did: the request now, and whether this report changed it.

    ``applied`` is False for a repeat of a report already recorded for the same
    fencing token: it was ignored.
    """

    request: UpdateRequest
    applied: bool


def _token(value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(
            f"a fencing token is the whole number (1 or more) the run was given, not {value!r}",
            value,
        )
    return value


_CLAIMS = (Event.PULL, Event.RECLAIM)


def _reporter(owner: str, token: int) -> str:
    """Who a report is by, in the history: the lease's owner and the token."""
    return f"{owner}#{token}"


def _by_token(entry: HistoryEntry) -> Optional[int]:
    owner, sep, token = entry.by.rpartition("#")
    return int(token) if sep and owner and token.isdigit() else None


def _reported(app: App, run_id: str, token: int, event: Event) -> bool:
    """Whether the run with ``token`` already reported ``event`` and is still the newest.

    A start counts as reported once the run reported anything. A run whose
    request was claimed again after its last report is not repeating: it is stale.
    """
    hist = app.reads.history(run_id)
    mine = [i for i, h in enumerate(hist) if _by_token(h) == token]
    if not mine or any(h.event in _CLAIMS for h in hist[mine[-1] + 1 :]):
        return False
    return event is Event.START or any(hist[i].event is event for i in mine)


def _reason(outcome: Outcome, contact_reason: Optional[str]) -> Optional[str]:
    reason = contact_reason.strip() if isinstance(contact_reason, str) else None
    if contact_reason is not None and not isinstance(contact_reason, str):
        raise InvalidInput("contact_reason must be text", contact_reason)
    if outcome in (Outcome.FAILED, Outcome.NEEDS_INPUT) and not reason:
        what = "the reason" if outcome is Outcome.FAILED else "the question"
        raise InvalidInput(
            f"a {outcome.value} report needs {what} the contact reads (contact_reason)",
            contact_reason,
        )
    return reason or None


def report(
    app: App,
    run_id: str,
    fencing_token: object,
    outcome: object,
    *,
    contact_reason: Optional[str] = None,
) -> Report:
    """Record what an engine says about a run, if the run still holds its fencing token.

    ``outcome`` is ``started``, ``completed`` (a run that never said ``started``
    is started and completed), ``failed`` or ``needs-input``; the last two need
    ``contact_reason``, which the contact is told (R20). Every change goes
    through :func:`~siteupdates.app.provider.act` with the run's lease as fence,
    and every outcome but ``started`` ends the lease.

    A report repeated by the same attempt is ignored (``applied`` False). A
    report of an attempt that no longer holds the request raises
    :class:`~siteupdates.errors.StaleReport` and writes nothing. Bad input raises
    InvalidInput or UnknownName; an unknown run raises NotFound.
    """
    out = Outcome.parse(outcome)
    token = _token(fencing_token)
    reason = _reason(out, contact_reason)
    event = _EVENT[out]
    current = provider.find(app, run_id)
    held = app.reads.lease(run_id)
    refusal: Optional[SiteUpdatesError] = None
    if held is not None and held.attempts == token:
        fence = Fence(run_id, held.worker, token)
        by = _reporter(held.worker, token)
        try:
            if out is Outcome.COMPLETED and current.status is Status.NOT_STARTED:
                provider.act(app, run_id, Event.START, by=by, fence=fence)
            new = provider.act(
                app, run_id, event, by=by, reason=reason, fence=fence,
                release=out is not Outcome.STARTED,
            )  # fmt: skip
            return Report(new, applied=True)
        except (LeaseLost, TransitionNotAllowed) as exc:
            refusal = exc
    if _reported(app, run_id, token, event):
        return Report(provider.find(app, run_id), applied=False)
    if isinstance(refusal, TransitionNotAllowed):
        raise refusal
    newest = held.attempts if held is not None else None
    detail = (
        f"the request was taken over (newest token {newest})"
        if newest is not None and newest != token
        else "the run no longer holds the request"
    )
    raise StaleReport(run_id, token, detail)


def heartbeat(app: App, run_id: str, fencing_token: object, *, lease_seconds: float) -> bool:
    """Extend the run's lease by ``lease_seconds`` from now; False when it no longer holds.

    A run renews only the lease it was given: a heartbeat with an old token
    changes nothing, whoever holds the request now.
    """
    token = _token(fencing_token)
    held = app.reads.lease(run_id)
    if held is None or held.attempts != token:
        return False
    until = app.now() + timedelta(seconds=float(lease_seconds))
    return app.storage.renew(Fence(run_id, held.worker, token), until)


# -- the engine side ---------------------------------------------------------------


class ExecutionResult(str, enum.Enum):
    """How :func:`execute` ended."""

    COMPLETED = "completed"
    FAILED = "failed"
    NEEDS_INPUT = "needs-input"
    #: Another delivery of the same run started it: the runbook was not run again.
    DUPLICATE = "duplicate"
    #: The run's token no longer held when it began: not run.
    STALE = "stale"
    #: The runbook ran, but another attempt took the request over meanwhile; its
    #: outcome was refused.
    LOST = "lost"


@attrs.frozen
class Execution:
    """What :func:`execute` did with one ticket."""

    result: ExecutionResult
    ran: bool
    reason: Optional[str] = None


class _Heartbeat(LeaseKeeper):
    """Renews a run's lease every third of its length until stopped, or until it is lost."""

    def __init__(self, app: App, ticket: Ticket) -> None:
        self.app = app
        self.ticket = ticket
        self.lost = threading.Event()
        super().__init__(ticket.lease_seconds, "siteupdates-run")

    def renew_round(self) -> bool:
        """One heartbeat; False (and ``lost`` set) once the run's lease is gone."""
        t = self.ticket
        try:
            alive = heartbeat(self.app, t.run_id, t.fencing_token, lease_seconds=t.lease_seconds)
        except SiteUpdatesError as exc:  # a storage hiccup: try again next beat
            logger.warning("heartbeat of run %s failed: %s", t.run_id, exc)
            return True
        if not alive:
            self.lost.set()
        return alive


def generic_reason(exc: BaseException) -> str:
    """The contact's reason for a runbook's exception: its own for UpdateFailed, else generic."""
    if isinstance(exc, UpdateFailed):
        return exc.reason
    return GENERIC_REASON


def execute(
    app: App,
    ticket: Ticket,
    runbook: Callable[[Ticket], object],
    *,
    reason_of: Callable[[BaseException], str] = generic_reason,
) -> Execution:
    """Run ``runbook`` for ``ticket`` under its fencing token: the engine side of a run.

    Reports ``started`` first; when that is ignored (another delivery of the
    same run started it) or refused (the run was taken over), the runbook is not
    run. While it runs, the lease is renewed with the ticket's token only. Then
    reports ``completed``; or ``failed`` with ``reason_of(exc)`` when it raised
    (:class:`~siteupdates.errors.UpdateFailed` carries the contact's reason); or
    ``needs-input`` when it raised :class:`~siteupdates.errors.NeedsInput`.
    """
    try:
        began = report(app, ticket.run_id, ticket.fencing_token, Outcome.STARTED)
    except (StaleReport, TransitionNotAllowed):
        return Execution(ExecutionResult.STALE, ran=False)
    if not began.applied:
        return Execution(ExecutionResult.DUPLICATE, ran=False)
    # The lease was sized for the wait in the engine's queue: renew it for the
    # work now, and give up if it was taken over just as the run started.
    if not heartbeat(app, ticket.run_id, ticket.fencing_token, lease_seconds=ticket.lease_seconds):
        return Execution(ExecutionResult.STALE, ran=False)
    outcome, reason = Outcome.COMPLETED, None
    with _Heartbeat(app, ticket):
        try:
            runbook(ticket)
        except UpdateFailed as exc:
            if exc.ask:  # NeedsInput, or UpdateFailed(..., ask=True): a question
                outcome, reason = Outcome.NEEDS_INPUT, exc.reason
            else:
                outcome, reason = Outcome.FAILED, exc.reason
        except Exception as exc:
            logger.warning("run %s failed: %r", ticket.run_id, exc)
            outcome, reason = Outcome.FAILED, reason_of(exc) or GENERIC_REASON
    try:
        report(app, ticket.run_id, ticket.fencing_token, outcome, contact_reason=reason)
    except (StaleReport, ConflictError, TransitionNotAllowed) as exc:
        logger.warning("run %s ended but its report was refused: %s", ticket.run_id, exc)
        return Execution(ExecutionResult.LOST, ran=True, reason=reason)
    return Execution(ExecutionResult(outcome.value), ran=True, reason=reason)


class LocalExecutor:
    """The reference executor: runs each dispatched run here, through ``perform_update``.

    Register it on the dispatcher's host (``host.register(LocalExecutor(app))``);
    it takes a run only when some plugin implements
    ``siteupdates_perform_update``, and the hook's exception text is the
    contact's reason, as with the hosting worker.
    """

    def __init__(self, app: App) -> None:
        self.app = app

    def _runbook(self, ticket: Ticket) -> None:
        request = provider.find(self.app, ticket.run_id)
        tenant = provider.tenant(self.app, request.tenant_id)
        lease = self.app.storage.lease(request.id)
        # The runbook sees the run's own fencing token, as under the hosting worker.
        fence = Fence(request.id, lease.worker if lease else "-", ticket.fencing_token)
        if self.app.host.perform_update(request, tenant, fence) is not True:
            raise UpdateFailed("the update reported failure")

    @hookimpl
    def siteupdates_executor_dispatch(self, run: Run) -> Optional[str]:
        """Run ``run`` to its end in this process; None when no plugin performs updates."""
        if not self.app.host.performs_updates():
            return None
        execute(
            self.app, run.ticket(), self._runbook,
            reason_of=lambda exc: str(exc) or type(exc).__name__,
        )  # fmt: skip
        return run.idempotency_key


# -- the dispatcher ------------------------------------------------------------------


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
        """Dispatch until :meth:`stop` (or, with ``until_idle``, until nothing is due)."""
        while not self.stopping:
            try:
                got = self.run_once()
            except SiteUpdatesError as exc:
                logger.error("dispatcher %s: %s", self.id, exc)
                got = 0
            if got == 0:
                if until_idle:
                    break
                self._stop.wait(poll)
        return self.report


# -- status and cancel ---------------------------------------------------------------


def _current_run(app: App, request_id: str) -> Run:
    request = provider.find(app, request_id)
    held = app.reads.lease(request_id)
    if held is None:
        raise InvalidInput(
            f"request {request_id} is not with an executor (it is {request.status.label}); "
            "only Not Started and In Progress requests under a lease have a run",
            request_id,
        )
    return Run(
        request=request,
        fencing_token=held.attempts,
        owner=held.worker,
        deadline=deadline_for(app.preset, app.now()),
        lease_seconds=max((held.expires - app.now()).total_seconds(), 1.0),
    )


def status(app: App, request_id: str) -> Tuple[Run, Optional[str]]:
    """The request's current run and what its engine says of it (None: it cannot tell)."""
    run = _current_run(app, request_id)
    return run, app.host.executor_status(run)


def cancel(app: App, request_id: str, reason: str, *, by: str = "provider") -> UpdateRequest:
    """Stop the request's run: ask the engine to cancel it, then end the run here.

    A run not yet started is put on hold (Deferred); one In Progress becomes
    Unable to Complete. Either way ``reason`` is recorded (and told to the
    contact, R20) and the lease ends, so any later report of the run is refused.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("cancelling a run needs a reason the contact can read", reason)
    run = _current_run(app, request_id)
    if app.host.executor_cancel(run) is None:
        logger.warning("no executor could cancel run %s; ending it here only", run.idempotency_key)
    event = Event.DEFER if run.request.status is Status.NOT_STARTED else Event.FAIL
    fence = Fence(run.id, run.owner, run.fencing_token)
    return provider.act(
        app, run.id, event, by=by, reason=reason.strip(), fence=fence, release=True
    )
