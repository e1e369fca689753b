"""Webhooks through the outbox, against a real receiver on loopback that verifies each one.

Every lifecycle event reaches the subscriptions that want it, signed per Standard
Webhooks (checked by the receiver with our verify() and, on Python 3.10 and
later, with the reference implementation), through a receiver that answers 500,
hangs past the timeout and closes the connection, and a deliverer killed in
the middle of a request: every event arrives, duplicates carry the same
webhook-id and body, none is lost. A tenant's subscription hears nothing of
another tenant (R22).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set

import pytest

from siteupdates.app.worker import Worker
from siteupdates.domain import Tenant, UpdateRequest
from siteupdates.errors import ConfigurationError, WebhookVerificationError
from siteupdates.hookspecs import hookimpl
from siteupdates.plugins import PluginHost
from siteupdates.ports import Fence, OutboxState
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, RecordingNotifier, sample_setup
from siteupdates.webhooks import TYPE_PREFIX, headers_for, new_secret, verify
from tests.chaos import storage_url
from tests.webhook_receiver import Receiver

UTC = timezone.utc
ROOT = Path(__file__).resolve().parents[2]


class Updater:
    @hookimpl
    def siteupdates_perform_update(
        self, request: UpdateRequest, tenant: Tenant, fence: Fence
    ) -> bool:
        return True


def _sub(name: str, url: str, secrets: List[str], **more: Any) -> Dict[str, Any]:
    return {"name": name, "url": url, "secrets": secrets, **more}


def _desk(url: str, subs: List[Dict[str, Any]], clock: Optional[FixedClock] = None) -> Desk:
    host = PluginHost(plugins=[RecordingNotifier(), Updater()])
    desk = Desk.open(
        url, host=host, clock=clock, plugin_settings={"webhooks": {"subscriptions": subs}}
    )
    desk.provider.load_setup(sample_setup())
    return desk


def _webhook_keys(desk: Desk) -> Set[str]:
    return {o.key for o in desk.storage.outbox() if o.kind == "webhook"}


def _drain(desk: Desk, clock: FixedClock, rounds: int = 12) -> None:
    for _ in range(rounds):
        desk.ops.deliver(timeout=1.0, base_delay=1.0, max_delay=2.0)
        clock.advance(timedelta(seconds=5))


def _life(desk: Desk, clock: FixedClock) -> List[str]:
    """Every event once: accepted ... completed, failed, question, cancelled; the request IDs."""
    r1 = (
        desk.contact("dana")
        .submit("d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 7, 22))
        .request.id
    )
    start = datetime(2026, 3, 8, 4, tzinfo=UTC)
    desk.provider.schedule(r1, start)
    desk.provider.reschedule(r1, start + timedelta(days=1), reason="the window was full")
    r2 = (
        desk.contact("dana")
        .submit("d1", target="production/sandbox", version="E.1505.2", at=datetime(2026, 3, 9, 22))
        .request.id
    )
    desk.provider.ask_input(r2, "Which sandbox should we refresh?")
    r3 = (
        desk.contact("sam")
        .submit(
            "d3",
            target="production/sandbox",
            version=None,
            db_refresh=True,
            at=datetime(2026, 3, 9, 22),
        )
        .request.id
    )
    desk.contact("sam").cancel(r3)
    clock.now = start + timedelta(days=1)
    assert Worker(desk, "w1").run_once() == 1
    return [r1, r2, r3]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))


def test_every_lifecycle_event_arrives_signed_as_a_cloudevent(
    tmp_path: Path, clock: FixedClock
) -> None:
    secret = new_secret()
    with Receiver([secret]) as rx:
        desk = _desk(f"sqlite:///{tmp_path / 'w.db'}", [_sub("all", rx.url(), [secret])], clock)
        rids = _life(desk, clock)
        desk.provider.fail(rids[1], "the sandbox is too small")
        _drain(desk, clock)
        items = [o for o in desk.storage.outbox() if o.kind == "webhook"]
        # The reminders of the first date were due before the worker ran: withdrawn, stale.
        assert {o.state for o in items if o.payload.get("reminder")} == {OutboxState.WITHDRAWN}
        keys = {o.key for o in items if not o.payload.get("reminder")}
        assert rx.bad == []
        assert set(rx.acked) == keys
        types = {e["type"][len(TYPE_PREFIX) :] for e in rx.acked.values()}
        assert types == {"accepted", "scheduled", "moved", "started", "completed", "failed",
                         "question_asked", "cancelled"}  # fmt: skip
        for msg_id, event in rx.acked.items():
            assert event["specversion"] == "1.0" and event["id"] == msg_id
            assert event["subject"] == event["data"]["request_id"]
            assert event["datacontenttype"] == "application/json"
        assert all(o.state is OutboxState.DELIVERED for o in desk.storage.outbox()
                   if o.kind == "webhook" and o.next_attempt_at is None)  # fmt: skip


def test_reminders_go_out_at_their_time_and_a_moved_date_withdraws_the_old_ones(
    tmp_path: Path, clock: FixedClock
) -> None:
    secret = new_secret()
    with Receiver([secret]) as rx:
        desk = _desk(f"sqlite:///{tmp_path / 'w.db'}", [_sub("all", rx.url(), [secret])], clock)
        rid = desk.contact("dana").submit("d1", target="staging", version="E.1505.2",
                          at=datetime(2026, 3, 7, 22)).request.id  # fmt: skip
        start = datetime(2026, 3, 8, 4, tzinfo=UTC)
        desk.provider.schedule(rid, start)
        desk.ops.deliver()
        clock.now = start - timedelta(hours=72)
        desk.ops.deliver()
        reminders = [e for e in rx.acked.values() if e["type"] == TYPE_PREFIX + "reminder"]
        assert len(reminders) == 1
        assert reminders[0]["data"]["lead_seconds"] == 72 * 3600
        assert reminders[0]["data"]["starts_at"] == "2026-03-08T04:00:00Z"
        desk.provider.reschedule(rid, start + timedelta(days=7), reason="the window was full")
        clock.now = start - timedelta(hours=1)
        report = desk.ops.deliver()
        assert report.withdrawn >= 2  # the old ladder's webhooks, stale, never sent
        assert len([e for e in rx.acked.values()
                    if e["type"] == TYPE_PREFIX + "reminder"]) == 1  # fmt: skip


def test_a_receiver_that_fails_hangs_or_hangs_up_still_gets_every_event_once_acknowledged(
    tmp_path: Path, clock: FixedClock
) -> None:
    secret = new_secret()
    troubles = ["500", "hang", "close"]

    def script(msg_id: str, nth: int) -> str:
        # Each delivery's first two attempts fail in one of the three ways.
        return "ok" if nth > 2 else troubles[(hash(msg_id) + nth) % 3]

    with Receiver([secret], script, hang=2.5) as rx:
        desk = _desk(f"sqlite:///{tmp_path / 'w.db'}", [_sub("all", rx.url(), [secret])], clock)
        _life(desk, clock)
        _drain(desk, clock, rounds=10)
        keys = _webhook_keys(desk) - {o.key for o in desk.storage.outbox() if o.kind == "webhook"
                                      and o.payload.get("reminder")}  # fmt: skip
        assert rx.bad == []
        assert set(rx.acked) >= keys
        seen = rx.ids()
        assert all(seen.count(k) >= 3 for k in keys)  # two failures, then the delivery
        bodies: Dict[str, bytes] = {}
        for msg_id, body, _ in rx.seen:
            assert bodies.setdefault(msg_id, body) == body  # a retry is the same event


def test_rotated_secrets_sign_with_each_and_a_receiver_with_either_accepts(
    tmp_path: Path, clock: FixedClock
) -> None:
    old, new = new_secret(), new_secret()
    with Receiver([new]) as rx_new, Receiver([old]) as rx_old:
        desk = _desk(
            f"sqlite:///{tmp_path / 'w.db'}",
            [_sub("a", rx_new.url(), [old, new]), _sub("b", rx_old.url(), [old, new])],
            clock,
        )
        desk.contact("dana").submit(
            "d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 7, 22)
        )
        _drain(desk, clock, rounds=2)
        assert rx_new.bad == rx_old.bad == []
        assert len(rx_new.acked) == len(rx_old.acked) == 1
    with Receiver([new_secret()]) as rx_other:
        desk2 = _desk(f"sqlite:///{tmp_path / 'x.db'}", [_sub("c", rx_other.url(), [old])], clock)
        desk2.contact("dana").submit(
            "d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 7, 22)
        )
        _drain(desk2, clock, rounds=1)
        assert rx_other.acked == {} and rx_other.bad  # refused, retried later


def test_a_tenant_subscription_never_receives_another_tenants_events(
    tmp_path: Path, clock: FixedClock
) -> None:
    secret = new_secret()
    with Receiver([secret]) as rx:
        subs = [
            _sub("everyone", rx.url("/all"), [secret]),
            _sub("d1-only", rx.url("/d1"), [secret], tenant="d1"),
            _sub("d2-only", rx.url("/d2"), [secret], tenant="d2"),
            _sub("state-x", rx.url("/group"), [secret], group="state-x"),
            _sub("d1-done", rx.url("/d1done"), [secret], tenant="d1", events=["completed"]),
        ]
        desk = _desk(f"sqlite:///{tmp_path / 'w.db'}", subs, clock)
        _life(desk, clock)
        _drain(desk, clock)
        assert rx.bad == []
        tenants = {p: {e["data"]["tenant_id"] for e in rx.events(p)}
                   for p in ("/all", "/d1", "/d2", "/group", "/d1done")}  # fmt: skip
        assert tenants == {"/all": {"d1", "d3"}, "/d1": {"d1"}, "/d2": set(),
                           "/group": {"d3"}, "/d1done": {"d1"}}  # fmt: skip
        assert {e["type"] for e in rx.events("/d1done")} == {TYPE_PREFIX + "completed"}
        # Nothing of another tenant in a tenant's events, not even a name.
        for _, body, path in rx.seen:
            if path == "/d1":
                text = body.decode()
                assert "Linked District" not in text and '"d3"' not in text


def test_a_removed_subscription_dead_letters_its_items_and_retry_requeues_them(
    tmp_path: Path, clock: FixedClock
) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    secret = new_secret()
    desk = _desk(url, [_sub("gone", "http://127.0.0.1:9/", [secret])], clock)
    desk.contact("dana").submit(
        "d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 7, 22)
    )
    desk.close()
    other = _desk(url, [_sub("other", "http://127.0.0.1:9/", [secret])], clock)
    report = other.ops.deliver(timeout=1.0)
    assert report.dead == 1 and "no longer configured" in report.errors[0]
    assert [o.key for o in other.ops.dispatcher().retry(dead=True)] != []


def test_bad_subscriptions_are_refused_without_echoing_a_secret() -> None:
    cases = [
        ({"name": "a", "url": "http://example.org/", "secrets": [new_secret()]}, "https"),
        ({"name": "a b", "url": "https://example.org/", "secrets": [new_secret()]}, "name"),
        ({"name": "a", "url": "https://example.org/", "secrets": ["whsec_%%%"]}, "base64"),
        ({"name": "a", "url": "https://example.org/", "secrets": ["nope-secret"]}, "whsec_"),
        (
            {
                "name": "a",
                "url": "https://example.org/",
                "secrets": [new_secret()],
                "events": ["exploded"],
            },
            "unknown webhook event",
        ),
        (
            {"name": "a", "url": "https://example.org/", "secrets_env": "NOT_SET_ANYWHERE"},
            "not set",
        ),
        (
            {
                "name": "a",
                "url": "https://example.org/",
                "secrets": [new_secret()],
                "tenant": "d1",
                "group": "g",
            },
            "not both",
        ),
    ]
    for table, words in cases:
        with pytest.raises(ConfigurationError, match=words) as info:
            Desk.open("memory://", plugin_settings={"webhooks": {"subscriptions": [table]}})
        assert "nope-secret" not in str(info.value)


def test_verify_refuses_a_replay_a_forgery_and_missing_headers() -> None:
    secret = new_secret()
    body = b'{"specversion":"1.0"}'
    headers = headers_for("msg_1", body, [secret])
    assert verify(headers, body, [secret]) == {"specversion": "1.0"}
    assert verify({k.upper(): v for k, v in headers.items()}, body, [new_secret(), secret])
    with pytest.raises(WebhookVerificationError, match="no signature"):
        verify(headers, body + b" ", [secret])
    with pytest.raises(WebhookVerificationError, match="no signature"):
        verify(headers, body, [new_secret()])
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(headers, body, [secret], now=time.time() + 3600)
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify({"webhook-id": "x"}, body, [secret])


# -- a deliverer killed in the middle of a request -------------------------------------

DELIVERER = """
import json, sys
from siteupdates.service import Desk
desk = Desk.open(sys.argv[1], plugin_settings=json.loads(sys.argv[2]), entry_points=True)
print("ready", flush=True)
desk.ops.dispatcher(timeout=float(sys.argv[3]), lease=float(sys.argv[4]), base_delay=0.2,
                max_delay=0.5).run(poll=0.2)
"""


def _deliverer(url: str, settings: Dict[str, Any], timeout: float, lease: float) -> Any:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", DELIVERER, url, json.dumps(settings), str(timeout), str(lease)],
        stdout=subprocess.PIPE, env=env, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    return proc


@pytest.fixture
def processes() -> Iterator[List[Any]]:
    started: List[Any] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_deliverer_killed_mid_request_loses_nothing_and_repeats_the_same_webhook_id(
    tmp_path: Path, processes: List[Any], backend: str
) -> None:
    secret = new_secret()
    held: Set[str] = set()

    def script(msg_id: str, nth: int) -> str:
        if not held:  # the first request that arrives is held while its sender is killed
            held.add(msg_id)
            return "hold"
        return "ok"

    with storage_url(backend, tmp_path) as url, Receiver([secret], script) as rx:
        sub = _sub("all", rx.url(), [secret], events=["accepted", "cancelled"])
        settings = {"webhooks": {"subscriptions": [sub]}}
        desk = Desk.open(url, plugin_settings=settings, entry_points=True)
        desk.provider.load_setup(sample_setup())
        for day in range(10, 13):
            rid = desk.contact("dana").submit("d1", target="staging", version="E.1505.2",
                              at=datetime(2027, 3, day, 22)).request.id  # fmt: skip
            desk.contact("dana").cancel(rid)
        keys = _webhook_keys(desk)
        assert len(keys) == 6
        first = _deliverer(url, settings, timeout=5.0, lease=2.0)
        processes.append(first)
        assert rx.arrived.wait(20), "no webhook arrived"
        first.send_signal(signal.SIGKILL)  # in the middle of the request
        first.wait()
        rx.release.set()
        processes.append(_deliverer(url, settings, timeout=5.0, lease=2.0))
        deadline = time.monotonic() + 30
        while set(rx.acked) != keys and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rx.bad == []
        assert set(rx.acked) == keys  # none lost
        (killed,) = held
        seen = rx.ids()
        assert seen.count(killed) == 2  # the killed attempt, then once more, same webhook-id
        assert all(seen.count(k) == 1 for k in keys - held)
        bodies = [b for i, b, _ in rx.seen if i == killed]
        assert bodies[0] == bodies[1]
        pending = [o for o in desk.storage.outbox() if o.kind == "webhook"
                   and o.state is not OutboxState.DELIVERED]  # fmt: skip
        deadline = time.monotonic() + 10
        while pending and time.monotonic() < deadline:
            time.sleep(0.1)
            pending = [o for o in desk.storage.outbox() if o.kind == "webhook"
                       and o.state is not OutboxState.DELIVERED]  # fmt: skip
        assert pending == []
        for p in processes:
            p.kill()
            p.wait()
        desk.close()
