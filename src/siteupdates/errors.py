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
    # A leaf module: the errors depend on nothing above them, not even for types.
    from siteupdates.refusal import Refusal


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
    """Raised when one or more rules refuse what was asked: the one shape of every refusal.

    ``refusals`` holds every refusal at once, each with its rule ID (``rules``):
    a submit's policies (R3, R5, ...), a target that no request can have (R1, R2,
    R4), a change the lifecycle forbids (R16 cancel, R18 delete, R15 otherwise,
    see :class:`TransitionNotAllowed`), a contact's reschedule after the cut-off
    (``CUTOFF``), a refresh too soon after the last (``REFRESH-INTERVAL``).
    """

    def __init__(self, refusals: Sequence[Refusal], message: Optional[str] = None) -> None:
        self.refusals: Tuple[Refusal, ...] = tuple(refusals)
        super().__init__(message or "; ".join(f"{r.rule}: {r.message}" for r in self.refusals))

    @property
    def rules(self) -> Tuple[str, ...]:
        """The IDs of the rules that refused, in evaluation order."""
        return tuple(r.rule for r in self.refusals)


class TransitionNotAllowed(RequestRefused):
    """Raised when an event may not be applied to a request in its status or by that actor.

    A :class:`RequestRefused` whose refusal cites the lifecycle's rule (R16 for
    cancel, R18 for delete, R13 for a date change, R15 otherwise); ``allowed``
    lists the events that are allowed instead.
    """

    def __init__(
        self,
        message: str,
        status: Any,
        event: Any,
        allowed: Sequence[str],
        refusals: Sequence[Refusal] = (),
    ) -> None:
        super().__init__(refusals, message)
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


class UnknownLocale(ConfigurationError):
    """Raised for a locale the library has no catalog for (a setup file's ``locale``).

    ``value`` is what was asked for, ``accepted`` the locales there are.
    """

    def __init__(self, value: object, accepted: tuple[str, ...], where: str = "locale") -> None:
        self.value = value
        self.accepted = accepted
        super().__init__(f"{where}: unknown locale {value!r}; locales: {', '.join(accepted)}")


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


class DeliveryError(SiteUpdatesError):
    """Raised by a notifier that could not deliver a notice (base of the two kinds below).

    ``reason`` says why, in words an operator can act on (never a password).
    Any other exception a notifier raises counts as temporary.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TemporaryDeliveryError(DeliveryError):
    """The notice may go through later (server down, 4xx reply, timeout): retried with backoff."""


class PermanentDeliveryError(DeliveryError):
    """The notice will never go through as it is: it is dead-lettered at once, with the reason.

    A 5xx reply such as 550 unknown mailbox or 535 authentication failed. A person
    fixes the cause, then requeues it (``siteupdates outbox retry``).
    """


class WebhookVerificationError(SiteUpdatesError, ValueError):
    """Raised by :func:`siteupdates.webhooks.verify`: a webhook is not to be trusted.

    A header is missing or malformed, the timestamp is outside the tolerance (a
    replay), or no signature matches any of the secrets. Answer it with a 4xx.
    """


class AttemptCancelled(SiteUpdatesError):
    """Raised by ``DeliveryAttempt.commit()``: the notifier must not send.

    The dispatcher gave the attempt up (timeout) or lost its claim on the item.
    """

    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"delivery attempt of {key} was given up: {why}")
        self.key = key
        self.why = why


class UpdateFailed(SiteUpdatesError, RuntimeError):
    """Raised by an update hook (before, perform, after) to end an update with an outcome.

    ``reason`` is what the contact reads (R20): plain words, no internal detail.
    ``internal`` is for the provider's log only. With ``ask=True`` the request
    becomes Pending Input and ``reason`` is the question to the contact; otherwise
    it becomes Unable to Complete. Any other exception from a hook makes the
    request Unable to Complete with a generic reason, and its text goes to the log.
    """

    def __init__(self, reason: str, *, internal: Optional[str] = None, ask: bool = False) -> None:
        super().__init__(internal or reason)
        self.reason = reason
        self.internal = internal
        self.ask = ask


# -- Executors ---------------------------------------------------------------------


class StaleReport(LeaseLost):
    """Raised when an engine reports on a run whose fencing token no longer holds.

    Another attempt took the request over (or the run already ended and this
    report says something else than what was recorded): nothing was written.
    ``token`` is the refused fencing token.
    """

    def __init__(self, request_id: str, token: int, detail: str) -> None:
        SiteUpdatesError.__init__(
            self,
            f"report on request {request_id} with fencing token {token} refused: {detail}; "
            "only the run holding the newest token may report",
        )
        self.request_id = request_id
        self.worker = f"#{token}"
        self.token = token


class NeedsInput(UpdateFailed):
    """Raised by a runbook that cannot go on without the contact: ``question`` is sent (R20).

    The same as ``UpdateFailed(question, ask=True)``: the request becomes Pending Input.
    """

    def __init__(self, question: str, *, internal: Optional[str] = None) -> None:
        super().__init__(question, internal=internal, ask=True)
        self.question = question
