"""Signed webhooks: the events other systems receive, and how a receiver checks them.

Each change of a request that other systems care about becomes one
`CloudEvents 1.0 <https://cloudevents.io>`_ JSON event (structured mode,
``application/cloudevents+json``), sent by the webhook notifier
(:mod:`siteupdates.builtin.webhooks`) through the outbox, and signed per the
`Standard Webhooks <https://www.standardwebhooks.com>`_ specification:

* ``webhook-id``: the outbox key of the delivery, the same on every retry (drop
  duplicates by it; it is also the CloudEvent's ``id``);
* ``webhook-timestamp``: seconds since the epoch when the attempt was made;
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` for
  each current secret, separated by spaces, so a secret can be rotated: the
  sender signs with old and new while receivers move over.

Secrets are ``whsec_`` followed by base64 of 24 to 64 random bytes
(:func:`new_secret`). A receiver calls :func:`verify` with the request's headers,
its body exactly as received, and the secrets it accepts::

    from siteupdates.webhooks import verify
    event = verify(request.headers, request.get_data(), ["whsec_..."])

The signing is written here with :mod:`hmac` and :mod:`hashlib` (a dozen lines):
the Standard Webhooks reference implementation on PyPI (``standardwebhooks``)
needs Python 3.10, and this library supports 3.8. The tests check every
signature made here against that implementation where it is installed.

This module imports only the standard library at run time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Sequence

from siteupdates.errors import ConfigurationError, WebhookVerificationError

if TYPE_CHECKING:
    from siteupdates.domain import HistoryEntry, Tenant, UpdateRequest

__all__ = [
    "CONTENT_TYPE",
    "EVENT_TYPES",
    "SECRET_PREFIX",
    "TOLERANCE",
    "TYPE_PREFIX",
    "cloud_event",
    "event_name",
    "event_names",
    "headers_for",
    "new_secret",
    "rfc3339",
    "secret_bytes",
    "sign",
    "verify",
]

#: The prefix of a Standard Webhooks secret.
SECRET_PREFIX = "whsec_"
#: The CloudEvents ``type`` of each event is this prefix and the event's name.
TYPE_PREFIX = "org.siteupdates.request."
#: The events a subscription may ask for (``events = ["scheduled", "completed"]``).
EVENT_TYPES = (
    "accepted",
    "scheduled",
    "moved",
    "reminder",
    "started",
    "completed",
    "failed",
    "question_asked",
    "cancelled",
)
#: The Content-Type of a structured-mode CloudEvent.
CONTENT_TYPE = "application/cloudevents+json"
#: How far a ``webhook-timestamp`` may lie from the receiver's clock, in seconds.
TOLERANCE = 300

#: The lifecycle event (its value) each event name stands for.
_BY_LIFECYCLE: Mapping[str, str] = {
    "submit": "accepted",
    "schedule": "scheduled",
    "approve": "scheduled",
    "reschedule": "moved",
    "postpone": "moved",
    "move": "moved",
    "follow-staging": "moved",
    "start": "started",
    "complete": "completed",
    "fail": "failed",
    "ask-input": "question_asked",
    "cancel": "cancelled",
    "withdraw": "cancelled",
    "supersede": "cancelled",
}


def event_name(lifecycle_event: str) -> Optional[str]:
    """The webhook event a lifecycle event (``"submit"``) makes (``"accepted"``), or None."""
    return _BY_LIFECYCLE.get(lifecycle_event)


def new_secret(size: int = 32) -> str:
    """A new random secret: ``whsec_`` and base64 of ``size`` random bytes (24 to 64)."""
    import secrets

    if not 24 <= size <= 64:
        raise ConfigurationError(f"a webhook secret has 24 to 64 bytes, not {size!r}")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(size)).decode("ascii")


def secret_bytes(secret: str) -> bytes:
    """The key of a ``whsec_`` secret; ConfigurationError (naming no secret) when malformed."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ConfigurationError("a webhook secret starts with whsec_ (see new_secret())")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError:
        raise ConfigurationError("a webhook secret is whsec_ followed by base64") from None
    if len(key) < 16:
        raise ConfigurationError("a webhook secret needs at least 16 bytes of key")
    return key


def sign(msg_id: str, timestamp: int, body: bytes, secrets: Iterable[str]) -> str:
    """The ``webhook-signature`` header: one ``v1,`` signature per secret, space-separated."""
    signed = f"{msg_id}.{int(timestamp)}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(secret_bytes(s), signed, hashlib.sha256).digest())
        .decode("ascii")
        for s in secrets
    )  # fmt: skip


def headers_for(
    msg_id: str, body: bytes, secrets: Sequence[str], *, timestamp: Optional[int] = None
) -> Dict[str, str]:
    """The headers of one delivery attempt: id, timestamp (now by default), signature, type."""
    when = int(time.time()) if timestamp is None else int(timestamp)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(when),
        "webhook-signature": sign(msg_id, when, body, secrets),
        "content-type": CONTENT_TYPE,
    }


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Iterable[str],
    *,
    tolerance: float = TOLERANCE,
    now: Optional[float] = None,
) -> Dict[str, Any]:
    """Check a received webhook and return its event (the parsed JSON body).

    ``headers`` may use any case (a dict, ``http.client.HTTPMessage``, a web
    framework's headers); ``body`` are the bytes exactly as received; ``secrets``
    every secret currently accepted (during a rotation, old and new). Raises
    :class:`~siteupdates.errors.WebhookVerificationError` when a header is
    missing, the timestamp lies more than ``tolerance`` seconds from ``now``
    (a replay), or no ``v1`` signature matches a secret.
    """
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError(
            "missing webhook-id, webhook-timestamp or webhook-signature header"
        )
    try:
        when = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a whole number") from None
    current = time.time() if now is None else now
    if abs(current - when) > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp is {current - when:+.0f} s from now (tolerance {tolerance:g} s)"
        )
    given = {s for s in signatures.split() if s.startswith("v1,")}
    keys = list(secrets)
    if not keys:
        raise WebhookVerificationError("no secret to verify with")
    for secret in keys:
        expected = sign(msg_id, when, body, [secret])
        if any(hmac.compare_digest(expected, g) for g in given):
            try:
                event = json.loads(body)
            except ValueError:
                raise WebhookVerificationError("the body is not JSON") from None
            if not isinstance(event, dict):
                raise WebhookVerificationError("the body is not a JSON object")
            return event
    raise WebhookVerificationError("no signature matches any of the secrets")


def rfc3339(instant: Optional[datetime]) -> Optional[str]:
    """An instant as CloudEvents writes it (``2026-03-08T04:00:00Z``); None stays None."""
    if instant is None:
        return None
    return instant.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def cloud_event(
    name: str,
    msg_id: str,
    request: UpdateRequest,
    entry: HistoryEntry,
    tenant: Tenant,
    *,
    source: str,
    extra: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """The CloudEvents 1.0 event ``name`` about ``request`` after ``entry``.

    Its data is the request as its tenant's own contacts see it (R22: nothing
    of another tenant): IDs, target, version, status and dates, and the reason
    a contact is told (a failure, a question). ``extra`` adds to the data (a
    reminder's start and lead time).
    """
    data: Dict[str, Any] = {
        "request_id": request.id,
        "tenant_id": tenant.id,
        "tenant_name": tenant.name,
        "target": request.target.value,
        "version": None if request.version is None else str(request.version),
        "db_refresh": request.db_refresh,
        "status": request.status.value,
        "previous_status": None if entry.from_status is None else entry.from_status.value,
        "preferred_start": rfc3339(request.preferred_start),
        "scheduled_for": rfc3339(request.scheduled_for),
        "actor": entry.actor.value,
        "reason": request.reason if name in ("failed", "question_asked", "cancelled") else None,
        "history_seq": entry.seq,
    }
    if extra:
        data.update(extra)
    return {
        "specversion": "1.0",
        "id": msg_id,
        "source": source,
        "type": TYPE_PREFIX + name,
        "subject": request.id,
        "time": rfc3339(entry.at),
        "datacontenttype": "application/json",
        "data": data,
    }


def event_names(events: Iterable[str]) -> List[str]:
    """Event names from a subscription's list (short or full types); ConfigurationError."""
    out = []
    for e in events:
        short = str(e)[len(TYPE_PREFIX) :] if str(e).startswith(TYPE_PREFIX) else str(e)
        if short not in EVENT_TYPES:
            raise ConfigurationError(
                f"unknown webhook event {e!r}; expected some of {', '.join(EVENT_TYPES)}"
            )
        out.append(short)
    return out
