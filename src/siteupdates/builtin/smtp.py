"""A notifier that sends each notice as an email through an SMTP server (R20).

The built-in plugin :class:`SmtpPlugin` (``siteupdates.notify.smtp``) turns it on
from the ``[plugins.smtp]`` table of the setup file, or from the command line's
``--smtp URL`` (or ``$SITEUPDATES_SMTP_URL``). A host may also register a
configured :class:`SmtpNotifier` itself::

    host = PluginHost(plugins=[SmtpNotifier("smtp://mail.example.org:587?from=hosting@example.org&starttls=1")])

``smtps://`` connects over TLS; ``user:password@`` logs in. Each message carries
``Message-ID: <notice key@siteupdates>`` and ``X-Siteupdates-Key``, stable across
retries, so a mail system can drop the duplicates that at-least-once delivery may
bring. A server that is down or refuses the message raises, which leaves the
notice pending in the outbox for a later attempt.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Mapping, Optional
from urllib.parse import parse_qs, unquote, urlsplit

from siteupdates.domain.messages import Notice
from siteupdates.errors import ConfigurationError
from siteupdates.hookspecs import hookimpl

__all__ = ["SmtpNotifier", "SmtpPlugin", "message_for"]


def message_for(notice: Notice, sender: str) -> EmailMessage:
    """The email of ``notice``, from ``sender``."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = notice.email
    msg["Subject"] = notice.subject
    msg["Date"] = formatdate(notice.created_at.timestamp(), usegmt=True)
    msg["Message-ID"] = f"<{notice.key.replace(':', '.')}@siteupdates>"
    msg["X-Siteupdates-Key"] = notice.key
    msg["X-Siteupdates-Request"] = notice.request_id
    msg.set_content(notice.body + "\n")
    return msg


class SmtpNotifier:
    """Delivers notices by email; see the module docstring for the URL."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        try:
            parts = urlsplit(str(url))
            port = parts.port
        except ValueError as exc:  # "Invalid IPv6 URL", a port out of range
            raise ConfigurationError(f"malformed SMTP URL: {exc}") from None
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigurationError(
                "SMTP URL must look like smtp://host[:port]?from=sender@example.org "
                "(or smtps:// for TLS)"
            )
        query = parse_qs(parts.query)
        sender = query.get("from", [None])[0]
        if not sender or "@" not in sender:
            raise ConfigurationError("the SMTP URL needs ?from=sender@example.org")
        self.host = parts.hostname
        self.port = port or (465 if parts.scheme == "smtps" else 25)
        self.tls = parts.scheme == "smtps"
        self.starttls = query.get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.user: Optional[str] = unquote(parts.username) if parts.username else None
        self._password: Optional[str] = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    def __repr__(self) -> str:
        who = f"{self.user}:***@" if self.user else ""
        scheme = "smtps" if self.tls else "smtp"
        return f"SmtpNotifier('{scheme}://{who}{self.host}:{self.port}')"

    def _connect(self) -> smtplib.SMTP:
        if self.tls:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    @hookimpl
    def siteupdates_deliver_notice(self, notice: Notice) -> bool:
        """Send ``notice``; raise when the server cannot be reached or refuses it."""
        with self._connect() as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user is not None:
                smtp.login(self.user, self._password or "")
            smtp.send_message(message_for(notice, self.sender))
        return True


class SmtpPlugin:
    """The built-in plugin ``siteupdates.notify.smtp``: email once configured, else silent.

    It reads the ``[plugins.smtp]`` table of the setup file (or the command
    line's ``--smtp``) through ``siteupdates_configure``::

        [plugins.smtp]
        url_env = "SITEUPDATES_SMTP_URL"   # or url = "smtp://..."; keep passwords out of files
        timeout = 10

    Until configured it declines every notice, so the next notifier is asked.
    """

    def __init__(self) -> None:
        self.notifier: Optional[SmtpNotifier] = None

    @hookimpl
    def siteupdates_configure(self, settings: Mapping[str, Mapping[str, Any]]) -> None:
        """Take the ``smtp`` table: ``url`` or ``url_env``, and ``timeout`` (seconds)."""
        table = settings.get("smtp") or {}
        url = table.get("url")
        if url is None and table.get("url_env"):
            url = os.environ.get(str(table["url_env"]))
            if not url:
                raise ConfigurationError(
                    f"plugins.smtp.url_env names {table['url_env']!r}, which is not set"
                )
        if url is None:
            self.notifier = None
            return
        timeout = table.get("timeout", 10.0)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not (0 < timeout <= 3600)
        ):
            raise ConfigurationError(
                f"plugins.smtp.timeout must be seconds between 0 and 3600, not {timeout!r}"
            )
        self.notifier = SmtpNotifier(str(url), timeout=float(timeout))

    @hookimpl
    def siteupdates_deliver_notice(self, notice: Notice) -> Optional[bool]:
        """Send by email when configured; None (ask the next notifier) otherwise."""
        if self.notifier is None:
            return None
        return self.notifier.siteupdates_deliver_notice(notice)
