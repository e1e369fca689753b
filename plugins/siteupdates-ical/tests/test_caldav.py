"""CalDAV against a real Radicale server on 127.0.0.1, with basic authentication."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Tuple

import icalendar
import pytest
import vobject  # type: ignore[import-untyped]

from siteupdates.domain import Status
from siteupdates.notices import CalendarEntry
from siteupdates.plugins import PluginHost
from siteupdates.ports import OutboxState
from siteupdates.service import Desk
from siteupdates.testing import CalendarContract, FixedClock, Published, sample_setup
from siteupdates_ical import (
    BlackoutCalendars,
    BlackoutSource,
    CalDavSchedule,
    DavClient,
    canonical_text,
    contact_feed,
    departure,
)
from siteupdates_ical.caldav import DavResponse

UTC = timezone.utc
HERE = Path(__file__).parent / "calendars"
T = datetime(2026, 3, 8, 9, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_radicale(folder: Path) -> Iterator[str]:
    """A Radicale server on a free port of 127.0.0.1, its data in ``folder``; its base URL."""
    port = _free_port()
    folder.mkdir(parents=True, exist_ok=True)
    users = folder / "users"
    users.write_text("ops:pw\nother:pw2\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", f"--server-hosts=127.0.0.1:{port}",
         "--auth-type=htpasswd", f"--auth-htpasswd-filename={users}",
         "--auth-htpasswd-encryption=plain", "--rights-type=authenticated",
         f"--storage-filesystem-folder={folder / 'collections'}"],
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
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[str]:
    with running_radicale(tmp_path) as url:
        yield url


@pytest.fixture
def cal(radicale: str) -> CalDavSchedule:
    c = CalDavSchedule(f"{radicale}/ops/updates/", client=DavClient(user="ops", password="pw"))
    c.ensure_collection()
    return c


def test_publish_move_twice_and_cancel_on_the_server(cal: CalDavSchedule) -> None:
    desk = Desk.open("memory://", host=PluginHost(plugins=[cal], entry_points=False),
                     clock=FixedClock())  # fmt: skip
    desk.load_setup(sample_setup())
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(rid, T)
    assert desk.deliver().dead == 0
    [e] = cal.events()
    assert str(e["UID"]) == f"{rid}@siteupdates" and e.decoded("DTSTART") == T
    for n, day in enumerate((15, 22), start=1):
        desk.reschedule(rid, T.replace(day=day), "capacity")
        assert desk.deliver().dead == 0
        [moved] = cal.events()
        assert (
            moved.decoded("DTSTART") == T.replace(day=day) and int(moved.decoded("SEQUENCE")) == n
        )
    cal.clock = lambda: T  # the desk's time, not this machine's
    desk.cancel("dana", rid)
    desk.deliver()
    # Cancelled with a higher SEQUENCE, so clients that copied the event remove it too.
    [gone] = cal.events()
    assert str(gone["STATUS"]) == "CANCELLED" and int(gone.decoded("SEQUENCE")) == 3
    assert cal.prune() == 0  # kept while clients may still hold it
    cal.clock = lambda: T + timedelta(days=60)  # 30 days after its end have passed
    assert cal.prune() == 1 and cal.events() == []


def test_a_concurrent_edit_is_kept_and_the_move_retried(
    cal: CalDavSchedule, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = CalendarEntry("k1", "publish", "r1", "d1", "Pine", T, T + timedelta(hours=2))
    assert cal.siteupdates_calendar_update(entry)
    other = DavClient(user="other", password="pw2")
    url = cal.event_url("r1")
    real = cal.client.request
    conflicts: List[int] = []

    def racing(method: str, u: str, body: object = None, headers: object = None) -> DavResponse:
        if method == "PUT" and not conflicts:
            # Another client edits the event between our GET and our PUT.
            fresh = other.request("GET", url)
            edited = fresh.body.replace(b"END:VEVENT", b"LOCATION:Room 12\r\nEND:VEVENT")
            put = other.request("PUT", url, edited, {"If-Match": fresh.etag or "",
                                                     "Content-Type": "text/calendar"})  # fmt: skip
            assert put.status in (201, 204)
        resp = real(method, u, body, headers)  # type: ignore[arg-type]
        if method == "PUT":
            conflicts.append(resp.status)
        return resp

    monkeypatch.setattr(cal.client, "request", racing)
    moved = CalendarEntry("k2", "move", "r1", "d1", "Pine", T.replace(day=15),
                          T.replace(day=15) + timedelta(hours=2))  # fmt: skip
    assert cal.siteupdates_calendar_update(moved)
    assert conflicts == [412, 204] or conflicts[0] == 412
    [e] = cal.events()
    assert e.decoded("DTSTART") == T.replace(day=15) and str(e["LOCATION"]) == "Room 12"


def test_conflicts_every_time_are_reported_not_overwritten(
    cal: CalDavSchedule, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = CalendarEntry("k1", "publish", "r1", "d1", "Pine", T, T + timedelta(hours=2))
    cal.siteupdates_calendar_update(entry)
    real = cal.client.request

    def stale(method: str, u: str, body: object = None, headers: object = None) -> DavResponse:
        resp = real(method, u, body, headers)  # type: ignore[arg-type]
        return DavResponse(resp.status, '"stale"', resp.body) if method == "GET" else resp

    monkeypatch.setattr(cal.client, "request", stale)
    moved = CalendarEntry("k2", "move", "r1", "d1", "Pine", T.replace(day=15),
                          T.replace(day=15) + timedelta(hours=2))  # fmt: skip
    with pytest.raises(Exception, match="changed under every one"):
        cal.siteupdates_calendar_update(moved)
    monkeypatch.undo()
    [e] = cal.events()
    assert e.decoded("DTSTART") == T  # nothing was overwritten blindly


def test_blackouts_on_the_server_one_report_per_calendar(radicale: str) -> None:
    client = DavClient(user="ops", password="pw")
    provider = f"{radicale}/ops/provider/"
    pine = f"{radicale}/ops/pine/"
    for url, name in ((provider, "google.ics"), (pine, "tenant-broken.ics")):
        assert client.request("MKCALENDAR", url).status == 201
        # CalDAV keeps one UID per resource: split the export as a client's import would.
        text = (HERE / name).read_bytes().decode("utf-8")
        head, _, rest = text.partition("BEGIN:VEVENT")
        groups: Dict[str, List[str]] = {}
        for chunk in ("BEGIN:VEVENT" + rest).split("END:VCALENDAR")[0].split("END:VEVENT\r\n"):
            if chunk.strip():
                uid = re.search(r"\r\nUID:(.*)\r\n", chunk)
                assert uid is not None
                groups.setdefault(uid.group(1), []).append(chunk + "END:VEVENT\r\n")
        groups.pop("broken-1", None)  # a server refuses it; the file tests cover it
        for i, chunks in enumerate(groups.values()):
            body = (head + "".join(chunks) + "END:VCALENDAR\r\n").encode("utf-8")
            put = client.request("PUT", f"{url}{i}.ics", body, {"Content-Type": "text/calendar"})
            assert put.status == 201, put.body
    reports: List[str] = []
    real = client.report

    def counting(url: str, start: datetime, end: datetime) -> List[tuple]:  # type: ignore[type-arg]
        reports.append(url)
        return real(url, start, end)

    client.report = counting  # type: ignore[method-assign]
    cals = BlackoutCalendars(
        [BlackoutSource(provider, caldav=True), BlackoutSource(pine, {"d1"}, caldav=True)],
        zone="America/Chicago", client=client,
    )  # fmt: skip
    desk = Desk.open("memory://", host=PluginHost(plugins=[cals], entry_points=False),
                     clock=FixedClock())  # fmt: skip
    desk.load_setup(sample_setup())
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 1)).request.id
    desk.plan_queue()
    r = desk.storage.request(rid)
    assert r is not None and r.status is Status.SCHEDULED
    assert r.scheduled_for == datetime(2026, 3, 15, 9, tzinfo=UTC)  # spring break on d1
    assert sorted(reports) == sorted([provider, pine])
    assert cals.problems == []


def test_a_calendar_server_that_is_down_loses_no_entry() -> None:
    down = CalDavSchedule(f"http://127.0.0.1:{_free_port()}/ops/updates/",
                          client=DavClient(timeout=1))  # fmt: skip
    clock = FixedClock()
    desk = Desk.open("memory://", host=PluginHost(plugins=[down], entry_points=False), clock=clock)
    desk.load_setup(sample_setup())
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(rid, T)
    report = desk.deliver(base_delay=1)
    assert report.retried == 1
    [entry] = [o for o in desk.storage.outbox(request_id=rid) if o.kind == "calendar"]
    assert entry.state is OutboxState.PENDING and entry.attempts == 1
    clock.advance(timedelta(seconds=2))
    assert desk.deliver(base_delay=1).retried == 1


def test_a_blackout_server_that_is_down_stops_the_plan_naming_it() -> None:
    url = f"http://user:secret@127.0.0.1:{_free_port()}/ops/b/"
    cals = BlackoutCalendars([BlackoutSource(url, caldav=True)], client=DavClient(timeout=1))
    with pytest.raises(Exception, match=r"blackout source http://127\.0\.0\.1") as info:
        cals.siteupdates_blackouts(None, T, T + timedelta(days=1))
    assert "secret" not in str(info.value) and "\n" not in str(info.value)


class TestCalDavScheduleContract(CalendarContract):
    """The calendar contract against the CalDAV writer on a real Radicale server.

    A server of each test's own; the calendar is read back with a REPORT through a
    second client, not from the writer's memory.
    """

    @pytest.fixture
    def calendar(self, radicale: str) -> CalDavSchedule:
        url = f"{radicale}/ops/updates/"
        c = CalDavSchedule(url, client=DavClient(user="ops", password="pw"))
        c.ensure_collection()
        return c

    @pytest.fixture
    def published(self, calendar: CalDavSchedule) -> Callable[[], List[Published]]:
        def read() -> List[Published]:
            reader = CalDavSchedule(calendar.url, client=DavClient(user="ops", password="pw"))
            return [
                Published(
                    request_id=str(e["UID"]).split("@", 1)[0],
                    summary=str(e.get("SUMMARY", "")),
                    start=e.decoded("DTSTART"),
                    end=e.decoded("DTEND"),
                    cancelled=str(e.get("STATUS", "")).upper() == "CANCELLED",
                )
                for e in reader.events()
            ]

        return read

    def expected_summary(self, summary: str) -> str:
        # Radicale drops C0 control characters (other than tab and line feed) from
        # the text it stores; the file calendar keeps them.
        return re.sub(r"[\x00-\x08\x0b-\x1f]", "", canonical_text(summary))


# -- Feeds that clients keep in step ----------------------------------------------


def _feeds() -> Tuple[bytes, bytes, str]:
    """Dana's feed before and after a cancellation, and the request's UID."""
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    desk = Desk.open("memory://", host=PluginHost(entry_points=False), clock=clock)
    setup = sample_setup()
    desk.load_setup(setup)
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(rid, T)
    dana = next(c for c in setup.contacts if c.id == "dana")

    def feed() -> bytes:
        requests = desk.storage.requests_for("d1", limit=100).items
        gone = {r.id: departure(desk.history(r.id)) for r in requests if r.scheduled_for is None}
        departed = {k: v for k, v in gone.items() if v is not None}
        return contact_feed(dana, requests, setup.tenants, stamp=clock(), departed=departed)

    before = feed()
    desk.cancel("dana", rid)
    after = feed()
    clock.now = T + timedelta(days=31, hours=3)  # 30 days after its end: it leaves the feed
    assert icalendar.Calendar.from_ical(feed()).walk("VEVENT") == []
    return before, after, f"{rid}@siteupdates"


def _apply(store: Dict[str, icalendar.cal.Component], feed: bytes) -> None:
    """What an importing client does: same UID and higher SEQUENCE replace; CANCELLED removes."""
    for event in icalendar.Calendar.from_ical(feed).walk("VEVENT"):
        uid = str(event["UID"])
        held = store.get(uid)
        if held is not None and int(event.decoded("SEQUENCE")) <= int(held.decoded("SEQUENCE")):
            continue  # an older or equal version: the client keeps what it has
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            store.pop(uid, None)
        else:
            store[uid] = event


def test_a_cancelled_request_reaches_an_importing_client_as_cancelled() -> None:
    before, after, uid = _feeds()
    client: Dict[str, icalendar.cal.Component] = {}
    _apply(client, before)
    assert list(client) == [uid]
    _apply(client, after)
    assert client == {}
    _apply(client, after)  # the same version again changes nothing
    assert client == {}


def test_both_feed_versions_parse_with_icalendar_and_vobject() -> None:
    for data in _feeds()[:2]:
        [ev] = icalendar.Calendar.from_ical(data).walk("VEVENT")
        [cal] = list(vobject.readComponents(data.decode("utf-8")))
        [vev] = cal.vevent_list
        assert vev.uid.value == str(ev["UID"]) and vev.sequence.value == str(
            ev.decoded("SEQUENCE")
        )
        assert vev.status.value == str(ev["STATUS"])


def test_both_feed_versions_are_accepted_by_radicale(radicale: str) -> None:
    client = DavClient(user="ops", password="pw")
    collection = f"{radicale}/ops/feed/"
    assert client.request("MKCALENDAR", collection).status == 201
    before, after, uid = _feeds()
    url = collection + "r.ics"
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    assert client.request("PUT", url, before, headers).status in (201, 204)
    assert client.request("PUT", url, after, headers).status in (201, 204)
    stored = icalendar.Calendar.from_ical(client.request("GET", url).body)
    [event] = stored.walk("VEVENT")
    assert str(event["UID"]) == uid and str(event["STATUS"]) == "CANCELLED"
