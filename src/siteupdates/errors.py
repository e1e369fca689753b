"""Every exception siteupdates raises.

All of them derive from :class:`SiteUpdatesError`, so a host can catch one type.
Each also derives from the closest built-in exception (``ValueError`` for bad
values, ``TypeError`` for wrong types, ``PermissionError`` for access, ...), so
code that already catches those keeps working. The message always says what was
wrong and what would be accepted; the offending value is kept as an attribute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, Tuple

if TYPE_CHECKING:
    from siteupdates.domain.policies import Refusal


class SiteUpdatesError(Exception):
    """Base class of every error raised by siteupdates."""


class InvalidInput(SiteUpdatesError, ValueError):
    """Raised when a value given to the library is malformed or out of range.

    ``value`` holds what was given.
    """

    def __init__(self, message: str, value: Any = None) -> None:
        super().__init__(message)
        self.value = value


class WrongType(SiteUpdatesError, TypeError):
    """Raised when an argument has the wrong type (``expected`` names the right one)."""

    def __init__(self, name: str, value: Any, expected: str) -> None:
        super().__init__(f"{name} must be {expected}, not {type(value).__name__} {value!r}")
        self.name = name
        self.value = value
        self.expected = expected


class BadCall(SiteUpdatesError, TypeError):
    """Raised when a public method is called with a missing, extra or unknown argument."""


class MalformedVersion(InvalidInput):
    """Raised when a version string is not of the form ``LINE.RELEASE.PACK`` (``E.1505.2``)."""


class IncomparableVersions(SiteUpdatesError, TypeError):
    """Raised when versions of two different release lines are ordered."""


class UnknownName(InvalidInput):
    """Raised when a name is not one of a fixed set (site kind, plan, role, status, event).

    ``accepted`` lists the names that would be accepted.
    """

    def __init__(self, what: str, value: Any, accepted: Sequence[str], hint: str = "") -> None:
        msg = f"unknown {what} {value!r}; expected one of: {', '.join(accepted)}"
        if hint:
            msg = f"{msg} ({hint})"
        super().__init__(msg, value)
        self.what = what
        self.accepted: Tuple[str, ...] = tuple(accepted)


class UnknownZone(InvalidInput):
    """Raised when a time zone name is not in the IANA database (``America/Chicago``)."""


class NaiveDatetime(InvalidInput):
    """Raised when an instant without a time zone is given where one is required."""


class NonexistentLocalTime(InvalidInput):
    """Raised when a local time falls in a spring-forward gap (R12).

    ``gap_start`` and ``gap_end`` are the local wall-clock bounds of the gap.
    """

    def __init__(self, message: str, value: Any, gap_start: Any, gap_end: Any) -> None:
        super().__init__(message, value)
        self.gap_start = gap_start
        self.gap_end = gap_end


class AmbiguousLocalTime(InvalidInput):
    """Raised when a local time occurs twice (fall back) and the caller asked to be told (R12)."""


class RequestRefused(SiteUpdatesError, ValueError):
    """Raised when one or more rules refuse a request.

    ``refusals`` holds every refusal at once, each with its rule ID.
    """

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        self.refusals: Tuple[Refusal, ...] = tuple(refusals)
        super().__init__("; ".join(f"{r.rule}: {r.message}" for r in self.refusals))

    @property
    def rules(self) -> Tuple[str, ...]:
        """The IDs of the rules that refused, in evaluation order."""
        return tuple(r.rule for r in self.refusals)


class TransitionNotAllowed(SiteUpdatesError, ValueError):
    """Raised when an event may not be applied to a request in its status or by that actor."""

    def __init__(self, message: str, status: Any, event: Any, allowed: Sequence[str]) -> None:
        super().__init__(message)
        self.status = status
        self.event = event
        self.allowed: Tuple[str, ...] = tuple(allowed)


class AccessDenied(SiteUpdatesError, PermissionError):
    """Raised when a contact acts on a tenant or request not connected to them (R22).

    The message never says whether the tenant or request exists.
    """


class NotFound(SiteUpdatesError, LookupError):
    """Raised when a tenant, contact or request the provider asked for does not exist."""

    def __init__(self, what: str, key: str) -> None:
        super().__init__(f"no {what} {key!r}")
        self.what = what
        self.key = key


class ConflictError(SiteUpdatesError):
    """Raised when a change lost a race: what it read changed, or an invariant would break.

    A request changed since it was loaded (optimistic concurrency), or the store
    refused a write that would leave two open version updates of one site or two
    requests in one booking. Nothing of the losing change was written; the use
    cases retry on fresh data before they let it reach the caller.
    """

    def __init__(
        self, request_id: str, expected: Optional[int] = None, *, message: Optional[str] = None
    ) -> None:
        detail = f" (expected revision {expected})" if expected is not None else ""
        super().__init__(
            message
            or f"request {request_id} was changed by someone else{detail}; reload it and try again"
        )
        self.request_id = request_id
        self.expected = expected


class ConfigurationError(SiteUpdatesError, ValueError):
    """Raised when a setup file, storage URL or plugin configuration is not usable."""


class StorageError(SiteUpdatesError):
    """Raised when a storage backend fails for a reason other than a conflict."""


class LeaseLost(SiteUpdatesError):
    """Raised when a worker acts on a request whose lease it no longer holds (fencing).

    Nothing of the worker's change was written.
    """

    def __init__(self, request_id: str, worker: str) -> None:
        super().__init__(
            f"worker {worker} no longer holds request {request_id}: its lease was taken over"
        )
        self.request_id = request_id
        self.worker = worker


class DuplicateKey(SiteUpdatesError):
    """Raised by a storage when a submit reuses a contact's idempotency key."""

    def __init__(self, requested_by: str, key: str) -> None:
        super().__init__(f"contact {requested_by} already submitted a request with key {key!r}")
        self.requested_by = requested_by
        self.key = key
