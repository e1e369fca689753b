"""The health of a store: what an on-call engineer asks first, with a verdict.

:func:`status` reads the store once and returns a :class:`Health` value: requests
queued, due and overdue (past their date, not started), leases that expired in
hand, dead letters, the oldest notice waiting to go out, when the planner last
scheduled something, the store's schema version and each plugin's version, and
a verdict in the convention monitoring checks use (Nagios, Icinga, Sensu):
``0`` ok, ``1`` warning, ``2`` critical. The thresholds come from the
``[plugins.health]`` table of the setup file (see :class:`Thresholds`).

It only reads: a status check never changes the store, and may run beside the
workers as often as the monitoring asks.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, Dict, List, Mapping, Optional, Tuple

import attrs

from siteupdates.domain import Event, Status
from siteupdates.errors import ConfigurationError
from siteupdates.ports import OutboxItem, OutboxState

from .bootstrap import App

__all__ = [
    "CRITICAL",
    "OK",
    "VERDICTS",
    "WARNING",
    "ChannelStats",
    "Check",
    "Health",
    "StuckLease",
    "Thresholds",
    "outbox_stats",
    "status",
]

#: The verdict "ok": the exit status 0 of a monitoring check.
OK = 0
#: The verdict "warning": exit status 1.
WARNING = 1
#: The verdict "critical": exit status 2.
CRITICAL = 2
#: A verdict's word.
VERDICTS = ("ok", "warning", "critical")
#: How many requests of one status are read for the per-request checks.
_SAMPLE = 10_000


def _limit(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigurationError(f"plugins.health.{where} must be a number, not {value!r}")
    if not 0 <= value <= 10**9:
        raise ConfigurationError(f"plugins.health.{where} must be between 0 and 1e9")
    return float(value)


@attrs.frozen
class Thresholds:
    """When a figure turns the verdict to warning or critical (``[plugins.health]``).

    Each pair is (warning, critical); a figure at or above it gives that verdict::

        [plugins.health]
        overdue_after_minutes = 15     # a due update not started by then is overdue
        overdue = [1, 5]               # overdue updates
        stuck_leases = [1, 3]          # claimed requests whose lease expired in hand
        dead_letters = [1, 10]         # dead outbox items
        pending_age_minutes = [15, 60] # the oldest due outbox item has waited this long
        queued_age_hours = [48, 168]   # the oldest To Be Scheduled request has waited this long
    """

    overdue_after_minutes: float = 15.0
    overdue: Tuple[float, float] = (1, 5)
    stuck_leases: Tuple[float, float] = (1, 3)
    dead_letters: Tuple[float, float] = (1, 10)
    pending_age_minutes: Tuple[float, float] = (15, 60)
    queued_age_hours: Tuple[float, float] = (48, 168)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Thresholds:
        """Thresholds from a ``[plugins.health]`` table; ConfigurationError naming the key."""
        names = {f.name for f in attrs.fields(cls)}
        unknown = sorted(set(table) - names)
        if unknown:
            raise ConfigurationError(
                f"plugins.health: unknown key {unknown[0][:40]!r}; "
                f"expected {', '.join(sorted(names))}"
            )
        values: Dict[str, Any] = {}
        for name, value in table.items():
            if name == "overdue_after_minutes":
                values[name] = _limit(name, value)
                continue
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise ConfigurationError(
                    f"plugins.health.{name} must be [warning, critical], not {value!r}"
                )
            warn, crit = _limit(name, value[0]), _limit(name, value[1])
            if crit < warn:
                raise ConfigurationError(f"plugins.health.{name}: critical is below warning")
            values[name] = (warn, crit)
        return cls(**values)


@attrs.frozen
class StuckLease:
    """A claimed request whose worker's lease expired before it finished."""

    request_id: str
    status: str
    worker: str
    expired_at: datetime
    claims: int


@attrs.frozen
class Check:
    """One figure judged against its thresholds: name, value, verdict and a sentence."""

    name: str
    value: float
    verdict: int
    detail: str


@attrs.frozen
class Health:
    """The state of one store, as :func:`status` found it at ``checked_at``."""

    checked_at: datetime
    verdict: int
    checks: Tuple[Check, ...]
    requests: Mapping[str, int]
    queued: int
    oldest_queued_at: Optional[datetime]
    due: Tuple[str, ...]
    overdue: Tuple[str, ...]
    stuck_leases: Tuple[StuckLease, ...]
    outbox_pending: Mapping[str, int]
    dead_letters: Mapping[str, int]
    oldest_pending_key: Optional[str]
    oldest_pending_since: Optional[datetime]
    last_plan: Optional[datetime]
    schema_version: Optional[int]
    versions: Mapping[str, str]

    @property
    def label(self) -> str:
        """The verdict's word: ok, warning or critical."""
        return VERDICTS[self.verdict]

    def to_dict(self) -> Dict[str, Any]:
        """The health as JSON-safe data (instants in ISO 8601 UTC)."""

        def value(v: Any) -> Any:
            if isinstance(v, datetime):
                return v.isoformat()
            if isinstance(v, (tuple, list)):
                return [value(x) for x in v]
            if isinstance(v, Mapping):
                return {str(k): value(x) for k, x in v.items()}
            if attrs.has(type(v)):
                return {f.name: value(getattr(v, f.name)) for f in attrs.fields(type(v))}
            return v

        data = {f.name: value(getattr(self, f.name)) for f in attrs.fields(Health)}
        data["status"] = self.label
        return data

    def render(self) -> str:
        """The health as text for a person: the verdict, then one line per check and figure."""
        lines = [f"{self.label.upper()}: siteupdates at {self.checked_at:%Y-%m-%d %H:%M:%S} UTC"]
        lines += [f"  [{VERDICTS[c.verdict]:8}] {c.detail}" for c in self.checks]
        lines.append(
            "  requests: " + ", ".join(f"{k} {v}" for k, v in self.requests.items() if v)
            if any(self.requests.values())
            else "  requests: none"
        )
        for lease in self.stuck_leases:
            lines.append(
                f"  stuck: request {lease.request_id[:12]} ({lease.status}) held by "
                f"{lease.worker}, lease expired {lease.expired_at:%Y-%m-%d %H:%M:%S} UTC, "
                f"claim {lease.claims}"
            )
        if self.overdue:
            lines.append("  overdue: " + ", ".join(r[:12] for r in self.overdue[:10]))
        pending = ", ".join(f"{k} {v}" for k, v in self.outbox_pending.items()) or "none"
        dead = ", ".join(f"{k} {v}" for k, v in self.dead_letters.items()) or "none"
        lines.append(f"  outbox pending: {pending}; dead: {dead}")
        if self.oldest_pending_key is not None and self.oldest_pending_since is not None:
            lines.append(
                f"  oldest due item: {self.oldest_pending_key}, waiting since "
                f"{self.oldest_pending_since:%Y-%m-%d %H:%M:%S} UTC"
            )
        plan = f"{self.last_plan:%Y-%m-%d %H:%M:%S} UTC" if self.last_plan else "never"
        lines.append(f"  last date set (by a plan or by hand): {plan}")
        lines.append(f"  schema version: {self.schema_version}")
        lines += [f"  plugin {name}: {version}" for name, version in self.versions.items()]
        return "\n".join(lines)


@attrs.frozen
class ChannelStats:
    """One outbox channel (kind): items pending, due now, dead, and since when the oldest due."""

    pending: int = 0
    due: int = 0
    dead: int = 0
    oldest_due_since: Optional[datetime] = None
    oldest_due_key: Optional[str] = None


def _due_since(o: OutboxItem) -> datetime:
    # A retried item has waited since it was written; a reminder since it fell due.
    since: datetime = o.created_at if o.attempts else (o.next_attempt_at or o.created_at)
    return max(since, o.created_at)


def outbox_stats(reads: Any, now: datetime) -> Dict[str, ChannelStats]:
    """Per outbox kind (``notice``, ``reminder``, ``calendar``, ``webhook``): its figures."""
    found: Dict[str, Dict[str, Any]] = {}
    for o in reads.outbox(state=OutboxState.PENDING):
        c = found.setdefault(o.kind, {"pending": 0, "due": 0, "dead": 0, "since": None})
        c["pending"] += 1
        if o.next_attempt_at is None or o.next_attempt_at <= now:
            c["due"] += 1
            since = _due_since(o)
            if c["since"] is None or since < c["since"]:
                c["since"], c["key"] = since, o.key
    for o in reads.outbox(state=OutboxState.DEAD):
        c = found.setdefault(o.kind, {"pending": 0, "due": 0, "dead": 0, "since": None})
        c["dead"] += 1
    return {
        k: ChannelStats(c["pending"], c["due"], c["dead"], c["since"], c.get("key"))
        for k, c in sorted(found.items())
    }


def _judge(name: str, value: float, pair: Tuple[float, float], detail: str) -> Check:
    warn, crit = pair
    verdict = CRITICAL if value >= crit else WARNING if value >= warn else OK
    return Check(name, value, verdict, detail)


def _last_plan(app: App, booked: List[Any]) -> Optional[datetime]:
    """When the planner last scheduled one of the requests still booked (newest 200)."""
    latest: Optional[datetime] = None
    for r in sorted(booked, key=lambda r: r.scheduled_for or r.requested_at)[-200:]:
        for entry in app.reads.history(r.id):
            if entry.event is Event.SCHEDULE and (latest is None or entry.at > latest):
                latest = entry.at
    return latest


def status(app: App, thresholds: Optional[Thresholds] = None) -> Health:
    """Read the store and judge it; ``thresholds`` default to ``[plugins.health]``'s.

    ``due`` are Scheduled requests whose date has come; ``overdue`` those still
    not started ``overdue_after_minutes`` after it. A stuck lease is a request
    Not Started or In Progress whose worker's lease has expired: its worker died
    or stalled, and another will take it over (``reclaim``) when it claims.
    """
    if thresholds is None:
        thresholds = Thresholds.from_table(app.host.table("health"))
    now = app.now()
    reads = app.reads
    counts = {s.value: reads.page_in((s,), limit=0).total for s in Status}
    scheduled = reads.requests_in((Status.SCHEDULED,), limit=_SAMPLE)
    due = [r for r in scheduled if r.scheduled_for is not None and r.scheduled_for <= now]
    late = now - timedelta(minutes=thresholds.overdue_after_minutes)
    overdue = [r for r in due if r.scheduled_for is not None and r.scheduled_for <= late]
    queued = reads.requests_in((Status.TO_BE_SCHEDULED,), limit=1)
    oldest_queued = queued[0].requested_at if queued else None
    stuck: List[StuckLease] = []
    for r in reads.requests_in((Status.NOT_STARTED, Status.IN_PROGRESS), limit=_SAMPLE):
        lease = reads.lease(r.id)
        if lease is not None and lease.expires < now:
            stuck.append(
                StuckLease(r.id, r.status.value, lease.worker, lease.expires, lease.attempts)
            )
    channels = outbox_stats(reads, now)
    pending = {k: c.pending for k, c in channels.items() if c.pending}
    dead = {k: c.dead for k, c in channels.items() if c.dead}
    dues = sorted(
        (c.oldest_due_since, c.oldest_due_key)
        for c in channels.values()
        if c.oldest_due_since is not None
    )
    oldest_since, oldest_key = dues[0] if dues else (None, None)
    waited = (now - oldest_since).total_seconds() / 60 if oldest_since is not None else 0.0
    queued_hours = (
        (now - oldest_queued).total_seconds() / 3600 if oldest_queued is not None else 0.0
    )
    checks = (
        _judge("overdue", len(overdue), thresholds.overdue,
               f"{len(overdue)} overdue update(s) ({len(due)} due, not started)"),
        _judge("stuck_leases", len(stuck), thresholds.stuck_leases,
               f"{len(stuck)} stuck lease(s)"),
        _judge("dead_letters", sum(dead.values()), thresholds.dead_letters,
               f"{sum(dead.values())} dead letter(s)"),
        _judge("pending_age_minutes", waited, thresholds.pending_age_minutes,
               f"the oldest due outbox item has waited {waited:.0f} min"),
        _judge("queued_age_hours", queued_hours, thresholds.queued_age_hours,
               f"{counts[Status.TO_BE_SCHEDULED.value]} request(s) to be scheduled, "
               f"the oldest for {queued_hours:.0f} h"),
    )  # fmt: skip
    booked = reads.requests_in(
        (Status.SCHEDULED, Status.NOT_STARTED, Status.IN_PROGRESS), limit=_SAMPLE
    )
    version = getattr(app.storage, "schema_version", None)
    return Health(
        checked_at=now,
        verdict=max(c.verdict for c in checks),
        checks=checks,
        requests=counts,
        queued=counts[Status.TO_BE_SCHEDULED.value],
        oldest_queued_at=oldest_queued,
        due=tuple(r.id for r in due),
        overdue=tuple(r.id for r in overdue),
        stuck_leases=tuple(stuck),
        outbox_pending=dict(sorted(pending.items())),
        dead_letters=dict(sorted(dead.items())),
        oldest_pending_key=oldest_key,
        oldest_pending_since=oldest_since,
        last_plan=_last_plan(app, booked),
        schema_version=int(version()) if callable(version) else None,
        versions=app.host.versions(),
    )
