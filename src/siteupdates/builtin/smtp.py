"""A notifier that sends each notice as an email through an SMTP server (R20).

The built-in plugin :class:`SmtpPlugin` (``siteupdates.notify.smtp``) turns it on
from the ``[plugins.smtp]`` table of the setup file, or from the command line's
``--smtp URL`` (or ``$SITEUPDATES_SMTP_URL``). A host may also register a
configured :class:`SmtpNotifier` itself::

    host = PluginHost(plugins=[SmtpNotifier(
        "smtp://mail.example.org:587?from=hosting@example.org&from_name=Hosting+Team"
        "&starttls=1&cafile=/etc/ssl/provider-ca.pem")])

``smtps://`` connects over TLS; ``user:password@`` logs in; ``starttls=1``
upgrades a plain connection, trusting the system's CAs or ``cafile``.

Every message is one that mail clients and filters accept: ``To: "Dana Smith"
<dana@example.org>`` and ``From: "Hosting Team" <hosting@example.org>`` (names
outside ASCII are RFC 2047 encoded), ``Auto-Submitted: auto-generated`` (RFC
3834: no vacation replies), a plain-text UTF-8 body, and ``Message-ID: <notice
key@sender's domain>`` with ``X-Siteupdates-Key``, both stable across retries,
so a mail system can drop the duplicates that a crash may bring.

Failures are classified: a 5xx reply (550 unknown mailbox, 535 authentication
failed, 554 refused), a certificate that is not trusted or a server without
STARTTLS raise :class:`~siteupdates.errors.PermanentDeliveryError` (dead-lettered
at once, with the reason); a server that is down, a 4xx reply or a timeout raise
:class:`~siteupdates.errors.TemporaryDeliveryError` (retried with backoff). The
recipient is checked (``RCPT TO``) before the attempt is committed, so a
refused address never counts as sent.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from typing import TYPE_CHECKING, Any, List, Mapping, Optional, Tuple

if TYPE_CHECKING:
    import smtplib
    import ssl
    from email.headerregistry import Address
    from email.message import EmailMessage

    from siteupdates.domain.messages import Notice
    from siteupdates.notices import DeliveryAttempt

# smtplib, ssl and the email package load when a message is built or sent: a
# command that sends nothing does not pay for them (about 10 ms).

from siteupdates.errors import (
    AttemptCancelled,
    ConfigurationError,
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from siteupdates.hookspecs import hookimpl

__all__ = ["SmtpNotifier", "SmtpPlugin", "classify", "message_bytes", "message_for"]


def _address(name: str, email: str) -> Address:
    from email.headerregistry import Address

    local, _, domain = email.rpartition("@")
    return Address(display_name=name or "", username=local, domain=domain)


def message_for(notice: Notice, sender: str, sender_name: str = "") -> EmailMessage:
    """The email of ``notice``, from ``sender`` (shown as ``sender_name``)."""
    from email.message import EmailMessage
    from email.utils import formatdate

    domain = sender.rpartition("@")[2] or "localhost"
    msg = EmailMessage()
    msg["From"] = _address(sender_name, sender)
    msg["To"] = _address(notice.contact_name, notice.email)
    msg["Subject"] = notice.subject
    msg["Date"] = formatdate(notice.created_at.timestamp(), usegmt=True)
    msg["Message-ID"] = f"<{re.sub(r'[^A-Za-z0-9.-]', '.', notice.key)}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Siteupdates-Key"] = notice.key
    msg["X-Siteupdates-Request"] = notice.request_id
    msg.set_content(notice.body + "\n", charset="utf-8")
    return msg


def message_bytes(notice: Notice, sender: str, sender_name: str = "") -> bytes:
    """The bytes :func:`message_for`'s message is sent as (CRLF line ends).

    Equal to ``message_for(...).as_bytes(...)``, but most of it is written
    directly instead of parsed back and folded by the email package (see
    :mod:`siteupdates.builtin._mailbytes`).
    """
    from ._mailbytes import message_bytes as direct

    data = direct(notice, sender, sender_name)
    if data is None:
        msg = message_for(notice, sender, sender_name)
        data = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    return data


def classify(exc: BaseException) -> DeliveryError:
    """The delivery error an SMTP or network failure means: permanent or temporary."""
    import smtplib
    import ssl

    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        text = "; ".join(
            f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items()
        )
        kind = PermanentDeliveryError if codes and min(codes) >= 500 else TemporaryDeliveryError
        return kind(f"recipient refused: {text}")
    if isinstance(exc, smtplib.SMTPResponseException):
        code = int(exc.smtp_code)
        what = (
            "authentication failed"
            if isinstance(exc, smtplib.SMTPAuthenticationError)
            else ("the server refused the message")
        )
        kind = PermanentDeliveryError if 500 <= code < 600 else TemporaryDeliveryError
        return kind(f"{what}: {code} {_text(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentDeliveryError(f"the server does not support it: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentDeliveryError(
            f"the server's certificate is not trusted ({exc.verify_message}); "
            "set cafile to the provider's CA"
        )
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        return TemporaryDeliveryError(f"{type(exc).__name__}: {exc}")
    return TemporaryDeliveryError(f"{type(exc).__name__}: {exc}")


def _text(raw: Any) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _check(reply: Tuple[int, Any], what: str, ok: Tuple[int, ...] = (250,)) -> None:
    code, text = reply
    if code not in ok:
        kind = PermanentDeliveryError if 500 <= code < 600 else TemporaryDeliveryError
        raise kind(f"{what}: {code} {_text(text)}")


def _drop(smtp: smtplib.SMTP) -> None:
    """Close a session without a QUIT (it may be broken, or mid-transaction)."""
    with contextlib.suppress(Exception):
        smtp.close()


#: A kept session idle longer than this is closed, not used again: servers end
#: idle sessions after some minutes (RFC 5321 asks for at least five).
IDLE_SECONDS = 30.0
#: Sessions kept for the next notices (one per dispatcher thread sending at once).
MAX_IDLE = 4


class SmtpNotifier:
    """Delivers notices by email; see the module docstring for the URL.

    A session is kept open after a send and used for the next notice (for
    :data:`IDLE_SECONDS` at most); :meth:`close` ends the kept sessions.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        from_name: Optional[str] = None,
        cafile: Optional[str] = None,
    ) -> None:
        from urllib.parse import parse_qs, unquote, urlsplit

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
        from email.utils import parseaddr

        query = parse_qs(parts.query)
        name, sender = parseaddr(query.get("from", [""])[0])
        if not sender or "@" not in sender:
            raise ConfigurationError("the SMTP URL needs ?from=sender@example.org")
        self.host = parts.hostname
        self.port = port or (465 if parts.scheme == "smtps" else 25)
        self.tls = parts.scheme == "smtps"
        self.starttls = query.get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.user: Optional[str] = unquote(parts.username) if parts.username else None
        self._password: Optional[str] = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.sender_name = from_name if from_name is not None else (
            query.get("from_name", [name])[0]
        )  # fmt: skip
        self.cafile = cafile if cafile is not None else query.get("cafile", [None])[0]
        if self.cafile is not None and not os.path.isfile(self.cafile):
            raise ConfigurationError(f"SMTP cafile {self.cafile!r} is not a readable file")
        self.timeout = timeout
        self._lock = threading.Lock()
        self._idle: List[Tuple[smtplib.SMTP, float]] = []
        self._pid = os.getpid()

    def __repr__(self) -> str:
        who = f"{self.user}:***@" if self.user else ""
        scheme = "smtps" if self.tls else "smtp"
        return f"SmtpNotifier('{scheme}://{who}{self.host}:{self.port}')"

    def _context(self) -> ssl.SSLContext:
        import ssl

        return ssl.create_default_context(cafile=self.cafile)

    def _connect(self, timeout: float) -> smtplib.SMTP:
        import smtplib

        if self.tls:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=timeout, context=self._context())
        return smtplib.SMTP(self.host, self.port, timeout=timeout)

    def _open(self, timeout: float) -> smtplib.SMTP:
        """A new session, greeted, upgraded and logged in as the URL says."""
        smtp = self._connect(timeout)
        try:
            smtp.ehlo_or_helo_if_needed()
            if self.starttls:
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if self.user is not None:
                smtp.login(self.user, self._password or "")
        except BaseException:
            _drop(smtp)
            raise
        return smtp

    def _idle_session(self, timeout: float) -> Optional[smtplib.SMTP]:
        """A session left by an earlier send and not idle too long, or None."""
        now = time.monotonic()
        with self._lock:
            if self._pid != os.getpid():
                # A forked child (a prefork server's worker): the parent's sessions
                # are its sockets, not ours to write to or to close.
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                smtp, since = self._idle.pop()
                if now - since <= IDLE_SECONDS:
                    if smtp.sock is not None:
                        smtp.sock.settimeout(timeout)
                    smtp.timeout = timeout
                    return smtp
                _drop(smtp)
        return None

    def _put_back(self, smtp: smtplib.SMTP) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE and self._pid == os.getpid():
                self._idle.append((smtp, time.monotonic()))
                return
        _drop(smtp)

    def close(self) -> None:
        """Close the sessions kept for the next notices (a later send opens a new one)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for smtp, _ in idle:
            _drop(smtp)

    def send(self, notice: Notice, attempt: DeliveryAttempt) -> None:
        """Send ``notice``: the recipient is checked before ``attempt.commit()``.

        The session of an earlier send is used again when there is one (a
        dispatcher's batch is one SMTP session, not one per notice); one the
        server has closed meanwhile is replaced before anything of this notice
        was sent. After any failure the session is closed, not reused.
        """
        import smtplib

        left = attempt.remaining
        timeout = self.timeout if left is None else max(0.1, min(self.timeout, left))
        data = message_bytes(notice, self.sender, self.sender_name)
        smtp = self._idle_session(timeout)
        try:
            reply: Optional[Tuple[int, Any]] = None
            if smtp is not None:
                try:
                    reply = smtp.mail(self.sender)
                except (smtplib.SMTPServerDisconnected, OSError):
                    _drop(smtp)  # closed by the server while idle: nothing of this notice sent
                    smtp = None
                else:
                    if reply[0] == 421:  # the server is closing the idle session
                        _drop(smtp)
                        smtp, reply = None, None
            if smtp is None:
                smtp = self._open(timeout)
                reply = smtp.mail(self.sender)
            assert reply is not None
            _check(reply, "sender refused")
            _check(smtp.rcpt(notice.email), f"recipient {notice.email} refused", (250, 251))
            attempt.commit()
            _check(smtp.data(data), "the server refused the message")
        except BaseException:
            if smtp is not None:
                _drop(smtp)
            raise
        self._put_back(smtp)

    @hookimpl
    def siteupdates_deliver_notice(self, notice: Notice, attempt: DeliveryAttempt) -> bool:
        """Send ``notice``; raise Permanent- or TemporaryDeliveryError when it cannot."""
        try:
            self.send(notice, attempt)
        except (DeliveryError, AttemptCancelled):
            raise
        except Exception as exc:
            raise classify(exc) from exc
        return True


class SmtpPlugin:
    """The built-in plugin ``siteupdates.notify.smtp``: email once configured, else silent.

    It reads the ``[plugins.smtp]`` table of the setup file (or the command
    line's ``--smtp``) through ``siteupdates_configure``::

        [plugins.smtp]
        url_env = "SITEUPDATES_SMTP_URL"   # or url = "smtp://..."; keep passwords out of files
        timeout = 10
        from_name = "Example Hosting"      # the From's display name
        cafile = "/etc/ssl/provider-ca.pem"  # trusted CA for STARTTLS / smtps

    Until configured it declines every notice, so the next notifier is asked.
    """

    def __init__(self) -> None:
        self.notifier: Optional[SmtpNotifier] = None

    @property
    def active(self) -> bool:
        """Whether a mail server is configured."""
        return self.notifier is not None

    @hookimpl
    def siteupdates_configure(self, settings: Mapping[str, Mapping[str, Any]]) -> None:
        """Take the ``smtp`` table: url or url_env, timeout, from_name, cafile.

        The URL may also carry ``from_name`` and ``cafile``; the table's win.
        """
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
        if isinstance(timeout, str):
            with contextlib.suppress(ValueError):
                timeout = float(timeout)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not (0 < timeout <= 3600)
        ):
            raise ConfigurationError(
                f"plugins.smtp.timeout must be seconds between 0 and 3600, not {timeout!r}"
            )
        from_name = table.get("from_name")
        cafile = table.get("cafile")
        self.notifier = SmtpNotifier(
            str(url),
            timeout=float(timeout),
            from_name=None if from_name is None else str(from_name),
            cafile=None if cafile is None else str(cafile),
        )

    @hookimpl
    def siteupdates_deliver_notice(
        self, notice: Notice, attempt: DeliveryAttempt
    ) -> Optional[bool]:
        """Send by email when configured; None (ask the next notifier) otherwise.

        A notice with no address (one for a provider that set no ``email``) is
        left to the other notifiers too.
        """
        if self.notifier is None or not notice.email:
            return None
        return self.notifier.siteupdates_deliver_notice(notice, attempt)
