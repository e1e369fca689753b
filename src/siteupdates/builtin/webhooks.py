"""A notifier channel that posts signed CloudEvents to other systems' webhooks.

The built-in plugin :class:`WebhookPlugin` (``siteupdates.notify.webhooks``)
reads the ``[plugins.webhooks]`` table of the setup file::

    [plugins.webhooks]
    source = "https://hosting.example.org"   # the CloudEvents source (default: siteupdates)
    timeout = 10                             # seconds per attempt (at most the deliverer's)

    [[plugins.webhooks.subscriptions]]
    name = "status-page"                     # unique; part of each delivery's webhook-id
    url = "https://status.example.org/hooks/siteupdates"
    secrets_env = "STATUS_PAGE_WEBHOOK_SECRETS"  # or secrets = ["whsec_..."]
    events = ["scheduled", "started", "completed", "failed"]   # default: every event
    tenant = "acme"                          # or group = "cloud"; neither: every tenant

For every change of a request, each subscription that wants the event and
covers the request's tenant gets one outbox item of kind ``webhook``, written
with the change. A tenant's (or group's) subscription never hears of another
tenant's requests (R22), and an event carries only its own request's data.
The outbox dispatcher delivers the items like notices: claimed, retried with
backoff, dead-lettered after its attempts, requeued with ``outbox retry``.

Each delivery is an HTTP POST of the event (``application/cloudevents+json``),
signed per Standard Webhooks (see :mod:`siteupdates.webhooks`): ``webhook-id``
is the item's key, the same on every retry. Secrets are read when an item is
delivered, never stored in the outbox, so rotating them (list the new secret
beside the old, then drop the old) applies to items already pending. A 2xx
answer delivers; 410 Gone dead-letters the item at once; anything else (a
5xx, a timeout, a closed connection, a redirect) is retried. URLs must be
``https://`` except on loopback (``insecure = true`` allows plain HTTP).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

import attrs

from siteupdates.errors import (
    ConfigurationError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from siteupdates.hookspecs import hookimpl

if TYPE_CHECKING:
    from siteupdates.domain import HistoryEntry, Tenant, UpdateRequest
    from siteupdates.domain.messages import Reminder
    from siteupdates.notices import DeliveryAttempt, OutboxMessage

__all__ = ["KIND", "HealthSettings", "Subscription", "WebhookPlugin", "post"]

#: The outbox kind of a webhook delivery.
KIND = "webhook"
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@attrs.frozen
class Subscription:
    """Who receives which events: ``events`` empty means all; ``tenant``/``group`` narrow it."""

    name: str
    url: str
    secrets: Tuple[str, ...]
    events: Tuple[str, ...] = ()
    tenant: Optional[str] = None
    group: Optional[str] = None

    def wants(self, event: str, tenant: Tenant) -> bool:
        """Whether this subscription receives ``event`` about a request of ``tenant`` (R22)."""
        if self.events and event not in self.events:
            return False
        if self.tenant is not None and tenant.id != self.tenant:
            return False
        return self.group is None or tenant.group_id == self.group


def _secrets(where: str, table: Mapping[str, Any]) -> Tuple[str, ...]:
    from siteupdates.webhooks import secret_bytes

    raw: Any = table.get("secrets")
    if raw is None and table.get("secrets_env"):
        value = os.environ.get(str(table["secrets_env"]))
        if not value:
            raise ConfigurationError(
                f"{where}.secrets_env names {table['secrets_env']!r}, which is not set"
            )
        raw = value.replace(",", " ").split()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        raise ConfigurationError(
            f'{where} needs secrets = ["whsec_..."] or secrets_env = "VARIABLE"'
        )
    for s in raw:
        try:
            secret_bytes(s)
        except ConfigurationError as exc:  # the message names no secret
            raise ConfigurationError(f"{where}.secrets: {exc}") from None
    return tuple(raw)


def _ident(where: str, value: Any) -> str:
    from siteupdates import checks
    from siteupdates.errors import SiteUpdatesError

    try:
        return checks.ident(where, value)
    except SiteUpdatesError as exc:
        raise ConfigurationError(str(exc)) from None


def subscription_from(where: str, table: Any) -> Subscription:
    """A subscription from its setup table; ConfigurationError naming the key."""
    from urllib.parse import urlsplit

    from siteupdates.webhooks import event_names

    if not isinstance(table, Mapping):
        raise ConfigurationError(f"{where} must be a table")
    known = {"name", "url", "secrets", "secrets_env", "events", "tenant", "group", "insecure"}
    extra = sorted(set(table) - known)
    if extra:
        raise ConfigurationError(f"{where}: unknown key {extra[0][:40]!r}")
    name = table.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", name):
        # It goes into every webhook-id header: plain ASCII only.
        raise ConfigurationError(
            f"{where}.name must be 1 to 64 letters, digits, dots, dashes or underscores"
        )
    url = table.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{where}.url must be an https:// URL")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK and not table.get("insecure"):
        raise ConfigurationError(
            f"{where}.url must be https:// (plain HTTP only on loopback, or with insecure = true)"
        )
    events = table.get("events", [])
    if not isinstance(events, list):
        raise ConfigurationError(f"{where}.events must be a list of event names")
    tenant, group = table.get("tenant"), table.get("group")
    if tenant is not None and group is not None:
        raise ConfigurationError(f"{where}: name a tenant or a group, not both")
    return Subscription(
        name=name,
        url=str(url),
        secrets=_secrets(where, table),
        events=tuple(event_names(events)),
        tenant=None if tenant is None else _ident(f"{where}.tenant", tenant),
        group=None if group is None else _ident(f"{where}.group", group),
    )


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float,
         attempt: DeliveryAttempt) -> int:  # fmt: skip
    """POST ``body`` to ``url``; the status of a 2xx answer, else a delivery error.

    Connects first, then ``attempt.commit()``, then sends: a receiver that
    cannot be reached never counts as sent.
    """
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname or "", parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        try:
            conn.connect()
        except OSError as exc:
            raise TemporaryDeliveryError(f"cannot connect to the receiver: {exc}") from None
        attempt.commit()
        try:
            conn.request("POST", path, body=body, headers=dict(headers))
            response = conn.getresponse()
            response.read(65536)
        except (OSError, http.client.HTTPException) as exc:
            raise TemporaryDeliveryError(
                f"the receiver did not answer: {type(exc).__name__}: {exc}"
            ) from None
    finally:
        conn.close()
    status = int(response.status)
    if 200 <= status < 300:
        return status
    if status == 410:
        raise PermanentDeliveryError("the receiver answered 410 Gone: it wants no more events")
    raise TemporaryDeliveryError(f"the receiver answered {status} {response.reason}")


class WebhookPlugin:
    """The built-in plugin ``siteupdates.notify.webhooks``: see the module docstring."""

    def __init__(self) -> None:
        self.subscriptions: Dict[str, Subscription] = {}
        self.source = "siteupdates"
        self.timeout = 10.0

    @property
    def active(self) -> bool:
        """Whether any subscription is configured (else changes cost nothing here)."""
        return bool(self.subscriptions)

    @hookimpl
    def siteupdates_configure(self, settings: Mapping[str, Mapping[str, Any]]) -> None:
        """Take the ``webhooks`` table: source, timeout and subscriptions."""
        table = settings.get("webhooks") or {}
        subs = table.get("subscriptions", [])
        if not isinstance(subs, list):
            raise ConfigurationError("plugins.webhooks.subscriptions must be a list of tables")
        found: Dict[str, Subscription] = {}
        for i, raw in enumerate(subs):
            sub = subscription_from(f"plugins.webhooks.subscriptions[{i}]", raw)
            if sub.name in found:
                raise ConfigurationError(
                    f"plugins.webhooks.subscriptions[{i}].name {sub.name!r} is taken"
                )
            found[sub.name] = sub
        timeout = table.get("timeout", 10.0)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 < timeout <= 3600
        ):
            raise ConfigurationError(
                f"plugins.webhooks.timeout must be seconds between 0 and 3600, not {timeout!r}"
            )
        source = table.get("source", "siteupdates")
        if not isinstance(source, str) or not source:
            raise ConfigurationError("plugins.webhooks.source must be a non-empty URI")
        self.subscriptions, self.timeout, self.source = found, float(timeout), source

    def _message(
        self,
        sub: Subscription,
        name: str,
        key: str,
        request: UpdateRequest,
        entry: HistoryEntry,
        tenant: Tenant,
        extra: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        import json

        from siteupdates.webhooks import cloud_event

        event = cloud_event(name, key, request, entry, tenant, source=self.source, extra=extra)
        body = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return {
            "subscription": sub.name,
            "event": name,
            "tenant_id": tenant.id,
            # What the outbox listings show for the item (they read "summary").
            "summary": f"webhook {name} to {sub.name}",
            "body": body,
        }

    @hookimpl
    def siteupdates_change_messages(
        self,
        request: UpdateRequest,
        entry: HistoryEntry,
        tenant: Tenant,
        reminders: List[Reminder],
    ) -> List[OutboxMessage]:
        """One message per subscription that wants this change (and its reminders)."""
        if not self.subscriptions:
            return []
        from siteupdates.domain.messages import lead_label
        from siteupdates.domain.timeutil import ts
        from siteupdates.notices import OutboxMessage
        from siteupdates.webhooks import event_name, rfc3339

        out: List[OutboxMessage] = []
        name = event_name(entry.event.value)
        base = f"{request.id}:{entry.seq}:webhook"
        if name is not None:
            for sub in self.subscriptions.values():
                if sub.wants(name, tenant):
                    key = f"{base}:{name}:{sub.name}"
                    payload = self._message(sub, name, key, request, entry, tenant)
                    out.append(OutboxMessage(key, KIND, payload))
        rungs = {r.lead: r for r in reminders}  # one per rung, not one per recipient
        for lead, r in sorted(rungs.items(), reverse=True):
            for sub in self.subscriptions.values():
                if not sub.wants("reminder", tenant):
                    continue
                key = f"{base}:reminder-{lead_label(lead)}:{sub.name}"
                extra = {"starts_at": rfc3339(r.start), "lead_seconds": int(lead.total_seconds())}
                payload = self._message(sub, "reminder", key, request, entry, tenant, extra)
                payload.update(reminder=True, start=ts(r.start), next_at=ts(r.next_at))
                out.append(OutboxMessage(key, KIND, payload, due_at=r.fires_at))
        return out

    @hookimpl
    def siteupdates_deliver_outbox(
        self, kind: str, key: str, payload: Mapping[str, Any], attempt: DeliveryAttempt
    ) -> Optional[bool]:
        """POST one webhook item, signed with the subscription's current secrets."""
        if kind != KIND:
            return None
        if not self.subscriptions:
            raise TemporaryDeliveryError(
                "no webhook subscriptions are configured in this deliverer ([plugins.webhooks])"
            )
        sub = self.subscriptions.get(str(payload.get("subscription")))
        if sub is None:
            raise PermanentDeliveryError(
                f"webhook subscription {payload.get('subscription')!r} is no longer configured"
            )
        from siteupdates.webhooks import headers_for

        body = str(payload["body"]).encode("utf-8")
        left = attempt.remaining
        timeout = self.timeout if left is None else max(0.1, min(self.timeout, left))
        headers = dict(headers_for(key, body, sub.secrets))
        headers["user-agent"] = "siteupdates-webhooks"
        post(sub.url, body, headers, timeout, attempt)
        return True


class HealthSettings:
    """The built-in plugin ``siteupdates.ops.health``: holds the ``[plugins.health]`` table.

    The thresholds of ``siteupdates status`` (see
    :class:`siteupdates.app.health.Thresholds`); the table is checked when the
    status is asked for.
    """

    def __init__(self) -> None:
        self.table: Dict[str, Any] = {}

    @hookimpl
    def siteupdates_configure(self, settings: Mapping[str, Mapping[str, Any]]) -> None:
        """Keep the ``health`` table."""
        self.table = dict(settings.get("health") or {})
