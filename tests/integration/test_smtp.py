"""R20 by email, through a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any, Callable, Iterator, List

import pytest
from aiosmtpd.controller import Controller

from siteupdates.builtin.smtp import SmtpNotifier
from siteupdates.errors import ConfigurationError, PermanentDeliveryError
from siteupdates.plugins import PluginHost
from siteupdates.ports import OutboxState
from siteupdates.service import Desk
from siteupdates.testing import (
    FixedClock,
    NotifierContract,
    Received,
    sample_notice,
    sample_setup,
)


class Inbox:
    """A mailbox behind a real SMTP server; ``unknown`` recipients get 550, ``busy`` 451."""

    def __init__(self) -> None:
        self.messages: List[EmailMessage] = []
        self.lock = threading.Lock()
        self.unknown: set[str] = set()
        self.busy = False

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.unknown:
            return "550 5.1.1 no such user here"
        if self.busy:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            msg = message_from_bytes(envelope.content, policy=default)
            assert isinstance(msg, EmailMessage)
            self.messages.append(msg)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


def start(inbox: Inbox, port: int) -> Controller:
    c = Controller(inbox, hostname="127.0.0.1", port=port)
    c.start()
    return c


@pytest.fixture
def mail_desk(port: int, tmp_path: Any) -> Iterator[Desk]:
    notifier = SmtpNotifier(f"smtp://127.0.0.1:{port}?from=hosting@provider.example", timeout=3)
    host = PluginHost(plugins=[notifier], entry_points=False)
    desk = Desk.open(f"sqlite:///{tmp_path / 'mail.db'}", host=host, clock=FixedClock())
    desk.load_setup(sample_setup())
    yield desk
    desk.close()


def test_r20_an_accepted_request_is_mailed_to_the_contact(
    mail_desk: Desk, inbox: Inbox, port: int
) -> None:
    server = start(inbox, port)
    try:
        rid = mail_desk.submit(
            "dana", "d1", "production/sandbox", "E.1505.2", at=datetime(2026, 3, 7, 22)
        ).request.id
        report = mail_desk.deliver()
    finally:
        server.stop()
    assert report.delivered == 1
    [msg] = inbox.messages
    assert msg["To"] == "Dana <dana@d1.example>" and msg["From"] == "hosting@provider.example"
    assert msg["Subject"].startswith("Request accepted: Example District")
    assert msg["X-Siteupdates-Key"] == f"{rid}:1:accepted"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Message-ID"] == f"<{rid}.1.accepted@provider.example>"
    body = msg.get_content()
    assert "Hello Dana," in body and "Mar. 7, 2026" in body and "10:00 PM CST" in body


def test_headers_as_delivered_name_the_people_in_rfc_2047(inbox: Inbox, port: int) -> None:
    url = f"smtp://127.0.0.1:{port}?from=hosting@provider.example&from_name=H%C3%B6sting+Team"
    notifier = SmtpNotifier(url, timeout=3)
    server = start(inbox, port)
    try:
        NotifierContract.deliver(notifier, sample_notice())
    finally:
        server.stop()
    [msg] = inbox.messages
    raw = msg.as_string()
    assert "=?utf-8?" in raw  # the names travel encoded (RFC 2047)
    assert str(msg["To"]) == "Dana Müller <dana@d1.example>"
    assert str(msg["From"]) == "Hösting Team <hosting@provider.example>"
    assert msg["Message-ID"] == "<r1.1.accepted@provider.example>"
    assert msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8"
    assert "« ok »" in msg.get_content()


def test_550_unknown_mailbox_is_dead_at_once_and_retried_by_command(
    mail_desk: Desk, inbox: Inbox, port: int
) -> None:
    inbox.unknown.add("dana@d1.example")
    server = start(inbox, port)
    try:
        rid = mail_desk.submit(
            "dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)
        ).request.id
        report = mail_desk.deliver()
        assert report.dead == 1 and report.retried == 0
        [item] = mail_desk.storage.outbox(request_id=rid)
        assert item.state is OutboxState.DEAD and item.attempts == 1
        assert "550" in (item.last_error or "") and "PermanentDeliveryError" in (
            item.last_error or ""
        )
        inbox.unknown.clear()  # the contact's mailbox is fixed
        [again] = mail_desk.retry_outbox(dead=True, by="ops")
        assert again.key == item.key
        assert mail_desk.deliver().delivered == 1
    finally:
        server.stop()
    assert [m["X-Siteupdates-Key"] for m in inbox.messages] == [item.key]
    events = [(e.event, e.by) for e in mail_desk.storage.outbox_log(item.id)]
    assert [e for e, _ in events] == ["dead", "requeued", "delivered"] and events[1][1] == "ops"


def test_451_is_temporary_and_retried_with_backoff(
    mail_desk: Desk, inbox: Inbox, port: int
) -> None:
    inbox.busy = True
    server = start(inbox, port)
    try:
        rid = mail_desk.submit(
            "dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)
        ).request.id
        report = mail_desk.deliver(base_delay=60)
    finally:
        server.stop()
    assert report.retried == 1 and report.dead == 0
    [item] = mail_desk.storage.outbox(request_id=rid)
    assert item.state is OutboxState.PENDING and "451" in (item.last_error or "")
    assert item.next_attempt_at is not None
    wait = (item.next_attempt_at - mail_desk.now()).total_seconds()
    assert 30 <= wait <= 60  # exponential backoff with jitter: half to all of it


class Refusing:
    """An SMTP server whose AUTH always fails with 535."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        return "250 OK"


def test_535_authentication_failed_is_permanent(port: int) -> None:
    def refuse(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        return AuthResult(success=False, handled=False)

    c = Controller(
        Refusing(), hostname="127.0.0.1", port=port, authenticator=refuse,
        auth_require_tls=False,
    )  # fmt: skip
    c.start()
    try:
        notifier = SmtpNotifier(f"smtp://ops:wrong@127.0.0.1:{port}?from=h@provider.example")
        with pytest.raises(PermanentDeliveryError, match="535"):
            NotifierContract.deliver(notifier, sample_notice())
    finally:
        c.stop()


def test_a_ca_file_is_checked_and_used_for_starttls(tmp_path: Any) -> None:
    with pytest.raises(ConfigurationError, match="cafile"):
        SmtpNotifier("smtp://mail.example.org?from=a@b.example&cafile=/nonexistent.pem")
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    n = SmtpNotifier(f"smtp://mail.example.org?from=a@b.example&starttls=1&cafile={ca}")
    assert n.cafile == str(ca) and n.starttls


class TestSmtpNotifierContract(NotifierContract):
    @pytest.fixture
    def server(self, inbox: Inbox, port: int) -> Iterator[Controller]:
        c = start(inbox, port)
        yield c
        if getattr(c, "_thread", None) is not None:
            c.stop()

    @pytest.fixture
    def notifier(self, server: Controller, port: int) -> Any:
        return SmtpNotifier(f"smtp://127.0.0.1:{port}?from=hosting@provider.example", timeout=3)

    @pytest.fixture
    def received(self, inbox: Inbox) -> Callable[[], List[Received]]:
        return lambda: [
            Received(str(m["X-Siteupdates-Key"]), str(m["To"]), str(m["Subject"]),
                     str(m.get_content()))
            for m in inbox.messages
        ]  # fmt: skip

    @pytest.fixture
    def permanent_failure(self, inbox: Inbox) -> Callable[[], Any]:
        @contextmanager
        def unknown() -> Iterator[None]:
            inbox.unknown.add("dana@d1.example")
            yield
            inbox.unknown.clear()

        return unknown

    @pytest.fixture
    def temporary_failure(self, server: Controller) -> Callable[[], Any]:
        @contextmanager
        def down() -> Iterator[None]:
            server.stop()
            yield

        return down


def test_a_mail_server_that_is_down_loses_nothing(
    mail_desk: Desk, inbox: Inbox, port: int
) -> None:
    rid = mail_desk.submit(
        "dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)
    ).request.id
    first = mail_desk.deliver(base_delay=0)
    assert first.retried == 1 and first.delivered == 0
    [item] = mail_desk.storage.outbox(request_id=rid)
    assert item.state is OutboxState.PENDING and "Connection" in (item.last_error or "")
    assert mail_desk.storage.request(rid) is not None
    server = start(inbox, port)
    try:
        again = mail_desk.deliver(base_delay=0)
    finally:
        server.stop()
    assert again.delivered == 1
    assert [m["X-Siteupdates-Key"] for m in inbox.messages] == [f"{rid}:1:accepted"]


def test_smtp_urls_are_checked_and_passwords_never_shown() -> None:
    with pytest.raises(ConfigurationError, match="from="):
        SmtpNotifier("smtp://mail.example.org")
    with pytest.raises(ConfigurationError, match="smtp://host"):
        SmtpNotifier("http://mail.example.org?from=a@b")
    n = SmtpNotifier("smtps://ops:hunter2@mail.example.org?from=a@b.example")
    assert "hunter2" not in repr(n) and n.port == 465
