"""One SMTP session carries many notices, and a stale one loses nothing (issue 24)."""

from __future__ import annotations

from typing import Any, List

import attrs
from aiosmtpd.controller import Controller

from siteupdates.builtin.smtp import SmtpNotifier
from siteupdates.testing import NotifierContract, sample_notice

from .test_smtp import Inbox, free_port


class CountingInbox(Inbox):
    """An Inbox that notes the client address of each message's session."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: List[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


def test_notices_one_after_another_share_one_session() -> None:
    inbox, port = CountingInbox(), free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    notifier = SmtpNotifier(f"smtp://127.0.0.1:{port}?from=hosting@provider.example", timeout=3)
    try:
        for i in range(3):
            NotifierContract.deliver(notifier, attrs.evolve(sample_notice(), key=f"r1:{i}:a"))
    finally:
        notifier.close()
        server.stop()
    assert [str(m["X-Siteupdates-Key"]) for m in inbox.messages] == [f"r1:{i}:a" for i in range(3)]
    assert len(set(inbox.peers)) == 1  # one connection, three messages


def test_a_session_the_server_dropped_is_replaced_and_the_notice_still_goes() -> None:
    inbox, port = CountingInbox(), free_port()
    first = Controller(inbox, hostname="127.0.0.1", port=port)
    first.start()
    notifier = SmtpNotifier(f"smtp://127.0.0.1:{port}?from=hosting@provider.example", timeout=3)
    NotifierContract.deliver(notifier, attrs.evolve(sample_notice(), key="r1:1:a"))
    first.stop()  # the kept session is dead now
    again = Controller(inbox, hostname="127.0.0.1", port=port)
    again.start()
    try:
        assert NotifierContract.deliver(notifier, attrs.evolve(sample_notice(), key="r1:2:a"))
    finally:
        notifier.close()
        again.stop()
    assert [str(m["X-Siteupdates-Key"]) for m in inbox.messages] == ["r1:1:a", "r1:2:a"]
    assert len(set(inbox.peers)) == 2


def test_after_a_refused_recipient_the_next_notice_goes_on_a_fresh_session() -> None:
    inbox, port = CountingInbox(), free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    notifier = SmtpNotifier(f"smtp://127.0.0.1:{port}?from=hosting@provider.example", timeout=3)
    try:
        inbox.unknown.add("dana@d1.example")
        try:
            NotifierContract.deliver(notifier, sample_notice())
        except Exception as exc:
            assert "550" in str(exc)
        else:  # pragma: no cover - the server refuses it
            raise AssertionError("a refused recipient was taken")
        inbox.unknown.clear()
        assert NotifierContract.deliver(notifier, attrs.evolve(sample_notice(), key="r1:9:a"))
    finally:
        notifier.close()
        server.stop()
    assert [str(m["X-Siteupdates-Key"]) for m in inbox.messages] == ["r1:9:a"]
