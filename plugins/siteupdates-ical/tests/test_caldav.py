"""CalDAV against a real Radicale server on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from siteupdates.domain import Status
from siteupdates.plugins import PluginHost
from siteupdates.ports import OutboxState
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, sample_setup
from siteupdates_ical import CalDavCalendar, format_calendar
from siteupdates_ical.ics import Event

UTC = timezone.utc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", f"--server-hosts=127.0.0.1:{port}",
         "--auth-type=none", "--rights-type=owner_only",
         f"--storage-filesystem-folder={tmp_path / 'collections'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                err = proc.stderr.read() if proc.stderr else ""
                pytest.fail(f"radicale did not start: {err}")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def cal(radicale: str) -> CalDavCalendar:
    c = CalDavCalendar(
        f"{radicale}/ops/updates/",
        user="ops",
        password="x",
        blackouts_url=f"{radicale}/ops/blackouts/",
        zone="America/Chicago",
    )
    c.ensure_collection()
    return c


def test_scheduled_updates_appear_move_and_vanish_on_the_server(cal: CalDavCalendar) -> None:
    desk = Desk.open("memory://", host=PluginHost(plugins=[cal], entry_points=False),
                     clock=FixedClock())  # fmt: skip
    desk.load_setup(sample_setup())
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(rid, datetime(2026, 3, 8, 9, tzinfo=UTC))
    assert desk.deliver().dead == 0
    [e] = cal.events()
    assert e.uid == f"{rid}@siteupdates" and e.start == datetime(2026, 3, 8, 9, tzinfo=UTC)
    desk.reschedule(rid, datetime(2026, 3, 15, 9, tzinfo=UTC), "capacity")
    desk.deliver()
    [moved] = cal.events()
    assert moved.start == datetime(2026, 3, 15, 9, tzinfo=UTC) and moved.sequence > e.sequence
    desk.cancel("dana", rid)
    desk.deliver()
    assert cal.events() == []


def test_blackouts_on_the_server_move_the_plan(cal: CalDavCalendar) -> None:
    assert cal.blackouts_url is not None
    body = format_calendar([Event("sb", "Spring break", datetime(2026, 3, 7, 6, tzinfo=UTC),
                                  datetime(2026, 3, 9, 5, tzinfo=UTC))])  # fmt: skip
    status, _ = cal._request("PUT", cal.blackouts_url + "sb.ics", body,
                             {"Content-Type": "text/calendar"})  # fmt: skip
    assert status in (201, 204)
    desk = Desk.open("memory://", host=PluginHost(plugins=[cal], entry_points=False),
                     clock=FixedClock())  # fmt: skip
    desk.load_setup(sample_setup())
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 1)).request.id
    desk.plan_queue()
    r = desk.storage.request(rid)
    assert r is not None and r.status is Status.SCHEDULED
    assert r.scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)


def test_a_calendar_server_that_is_down_loses_no_entry(tmp_path: Path) -> None:
    down = CalDavCalendar(f"http://127.0.0.1:{_free_port()}/ops/updates/", timeout=1)
    clock = FixedClock()
    desk = Desk.open("memory://", host=PluginHost(plugins=[down], entry_points=False), clock=clock)
    desk.load_setup(sample_setup())
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(rid, datetime(2026, 3, 8, 9, tzinfo=UTC))
    report = desk.deliver(base_delay=1)
    assert report.retried == 1  # the calendar entry; the notices went to the log notifier
    [entry] = [o for o in desk.storage.outbox(request_id=rid) if o.kind == "calendar"]
    assert entry.state is OutboxState.PENDING and entry.attempts == 1
    r = desk.storage.request(rid)
    assert r is not None and r.status is Status.SCHEDULED
    clock.advance(timedelta(seconds=2))
    assert desk.deliver(base_delay=1).retried == 1
