"""R20 by email, through a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import socket
import threading
from datetime import datetime
from email import message_from_bytes
from email.message import Message
from typing import Any, Iterator, List

import pytest
from aiosmtpd.controller import Controller

from siteupdates.builtin.smtp import SmtpNotifier
from siteupdates.errors import ConfigurationError
from siteupdates.plugins import PluginHost
from siteupdates.ports import OutboxState
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, sample_setup


class Inbox:
    def __init__(self) -> None:
        self.messages: List[Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
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
    assert msg["To"] == "dana@d1.example" and msg["From"] == "hosting@provider.example"
    assert msg["Subject"].startswith("Request accepted: Example District")
    assert msg["X-Siteupdates-Key"] == f"{rid}:1:accepted"
    body = msg.get_payload()
    assert isinstance(body, str) and "Mar. 7, 2026" in body and "10:00 PM CST" in body


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
