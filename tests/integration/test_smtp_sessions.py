"""One SMTP session carries many notices, and a stale one loses nothing (issue 24)."""

from __future__ import annotations

from typing import Any, List

import attrs
from aiosmtpd.controller import Controller

from siteupdates.app.outbox import Dispatcher
from siteupdates.builtin.memory import MemoryStorage
from siteupdates.builtin.smtp import SmtpNotifier
from siteupdates.plugins import PluginHost
from siteupdates.testing import (
    FixedClock,
    NotifierContract,
    make_request,
    sample_notice,
    submit_changes,
)

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


def test_a_deliverer_sends_every_batch_of_a_pass_over_one_session() -> None:
    inbox, port = CountingInbox(), free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    storage = MemoryStorage()
    for _ in range(10):
        r = make_request("d1", target="staging")
        changes = submit_changes(r)
        payload = sample_notice(f"{r.id}:1", request_id=r.id).to_payload()
        storage.apply(
            attrs.evolve(changes, outbox=(attrs.evolve(changes.outbox[0], payload=payload),))
        )
    notifier = SmtpNotifier(f"smtp://127.0.0.1:{port}?from=hosting@provider.example", timeout=3)
    host = PluginHost(plugins=[notifier], entry_points=False, blocked=["siteupdates.notify.log"])
    try:
        report = Dispatcher(storage, host, clock=FixedClock(), batch=4).run_once()
    finally:
        notifier.close()
        server.stop()
    assert report.delivered == 10 and len(inbox.messages) == 10
    assert len(set(inbox.peers)) == 1  # three batches, one SMTP connection
