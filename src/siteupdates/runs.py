"""The values an engine and the library exchange about a run: the executors' wire values.

A leaf beside :mod:`siteupdates.ports`: it imports the domain's values and the
errors, nothing of the use cases, so the plugin contract
(:mod:`siteupdates.hookspecs`, :mod:`siteupdates.plugins`) names :class:`Run`
without depending on :mod:`siteupdates.app`. The use cases that make and
read these values are in :mod:`siteupdates.app.executors`, which exports them
too (``from siteupdates.app.executors import Run`` works as before).
"""

from __future__ import annotations

import enum
import math
from datetime import datetime
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, TypeVar

import attrs

from siteupdates.domain.model import SiteKind, Target, UpdateRequest, Version
from siteupdates.domain.timeutil import require_aware
from siteupdates.errors import InvalidInput, SiteUpdatesError, UnknownName

__all__ = [
    "GENERIC_REASON",
    "Execution",
    "ExecutionResult",
    "Outcome",
    "Report",
    "Run",
    "Ticket",
]

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


@attrs.frozen
class Report:
    """What a report did: the request now, and whether this report changed it.

    ``applied`` is False for a repeat of a report already recorded for the same
    fencing token: it was ignored.
    """

    request: UpdateRequest
    applied: bool


class ExecutionResult(str, enum.Enum):
    """How :func:`~siteupdates.app.executors.execute` ended."""

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
    """What :func:`~siteupdates.app.executors.execute` did with one ticket."""

    result: ExecutionResult
    ran: bool
    reason: Optional[str] = None
