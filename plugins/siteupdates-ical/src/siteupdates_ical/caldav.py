"""A small CalDAV client: conditional writes, time-range reports, basic and digest auth.

Why not the ``caldav`` package: siteupdates needs exactly four requests (GET,
conditional PUT, conditional DELETE, a time-range ``calendar-query``), each with
its ETag in hand so that another client's edit is never overwritten, and this
keeps the plugin on the standard library's HTTP client on Python 3.8 and later.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import attrs
import icalendar

from siteupdates.errors import ConfigurationError, StorageError
from siteupdates.hookspecs import hookimpl
from siteupdates.notices import CalendarEntry

from ._zones import UTC
from .reading import parse_calendar, utc_range
from .text import serialize
from .writing import make_event, new_calendar, uid_for, update_event

__all__ = ["CalDavSchedule", "DavClient", "DavResponse", "public_url"]

_NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}

#: How often a write is tried again against a fresh copy after a 412.
CONFLICT_RETRIES = 3


def public_url(url: str) -> str:
    """``url`` without user name and password, fit for a message or a log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@attrs.frozen
class DavResponse:
    """A response: status, ETag (None if the server sent none) and body."""

    status: int
    etag: Optional[str]
    body: bytes


class DavClient:
    """HTTP for CalDAV with basic or digest authentication (whichever the server asks)."""

    def __init__(
        self,
        *,
        user: Optional[str] = None,
        password: Optional[str] = None,
        timeout: float = 10.0,
        preemptive_basic: bool = True,
    ) -> None:
        self.timeout = timeout
        self._basic: Optional[str] = None
        if user is not None and preemptive_basic:
            # Saves the 401 round trip (and servers' delay after a failed login) on
            # every request; a server that wants digest still gets it after its challenge.
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode("ascii")
            self._basic = f"Basic {token}"
        self._user = user
        self._password = password or ""
        self._passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        handlers: List[urllib.request.BaseHandler] = []
        if user is not None:
            # The server's challenge picks the scheme; the password is sent only then.
            handlers += [
                urllib.request.HTTPBasicAuthHandler(self._passwords),
                urllib.request.HTTPDigestAuthHandler(self._passwords),
            ]
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        return f"DavClient(user={self._user!r})"

    def request(
        self,
        method: str,
        url: str,
        body: Optional[bytes] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> DavResponse:
        """Send one request; any HTTP status comes back, a network failure raises."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise ConfigurationError(f"a CalDAV URL is http:// or https://, not {public_url(url)}")
        if self._user is not None:
            parts = urlsplit(url)
            self._passwords.add_password(
                None, f"{parts.scheme}://{parts.netloc}/", self._user, self._password
            )
        all_headers = dict(headers or {})
        if self._basic is not None:
            all_headers["Authorization"] = self._basic
        req = urllib.request.Request(url, data=body, method=method, headers=all_headers)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return DavResponse(resp.status, resp.headers.get("ETag"), resp.read())
        except urllib.error.HTTPError as err:
            with err:
                return DavResponse(err.code, err.headers.get("ETag"), err.read())
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StorageError(f"CalDAV {method} {public_url(url)}: {reason}") from None

    def report(self, url: str, start: datetime, end: datetime) -> List[Tuple[str, bytes]]:
        """The (href, calendar data) of every event overlapping ``start``..``end``."""
        lo, hi = utc_range(start, end)
        query = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
            '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
            f'<C:time-range start="{lo}" end="{hi}"/>'
            "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
        )
        headers = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
        resp = self.request("REPORT", url, query.encode("utf-8"), headers)
        if resp.status != 207:
            raise StorageError(f"CalDAV REPORT {public_url(url)} answered HTTP {resp.status}")
        try:
            root = ET.fromstring(resp.body)
        except ET.ParseError as exc:
            raise StorageError(f"CalDAV REPORT {public_url(url)}: bad XML ({exc})") from None
        out = []
        for node in root.iterfind("D:response", _NS):
            href = node.findtext("D:href", "", _NS)
            data = node.find(".//C:calendar-data", _NS)
            if data is not None and data.text:
                out.append((href, data.text.encode("utf-8")))
        return out


class CalDavSchedule:
    """Keeps one event per scheduled update in the CalDAV collection at ``url``.

    Every write is conditional: ``If-None-Match: *`` creates, ``If-Match: <etag>``
    changes or deletes. On 412 (someone changed the event meanwhile) the event is
    read again and the change applied to that fresh copy, keeping the other
    client's edits; after :data:`CONFLICT_RETRIES` conflicts it raises, and the
    outbox tries again later.

    A withdrawn update stays as ``STATUS:CANCELLED`` with a higher SEQUENCE, so
    clients that copied it (an export, a subscription to the collection) remove
    it too; :meth:`prune`, run with every withdrawal, deletes the cancelled events
    that ended :data:`~siteupdates_ical.schedule.KEEP_CANCELLED` ago.
    """

    def __init__(
        self,
        url: str,
        *,
        client: Optional[DavClient] = None,
        name: str = "Site updates",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ConfigurationError(f"a CalDAV URL is http:// or https://, not {public_url(url)}")
        self.url = url if url.endswith("/") else url + "/"
        self.client = client or DavClient()
        self.name = name
        self.clock = clock

    def __repr__(self) -> str:
        return f"CalDavSchedule({public_url(self.url)!r})"

    def event_url(self, request_id: str) -> str:
        """Where the request's event lives in the collection."""
        return urljoin(self.url, quote(request_id, safe="") + ".ics")

    def ensure_collection(self) -> None:
        """Create the collection (MKCALENDAR) if the server lacks it."""
        status = self.client.request("MKCALENDAR", self.url).status
        if status not in (201, 405):  # 405: it exists already
            raise StorageError(f"cannot create calendar {public_url(self.url)}: HTTP {status}")

    def events(self) -> List[icalendar.cal.Component]:
        """Every event of the collection (for checks and tests)."""
        far = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))
        out: List[icalendar.cal.Component] = []
        for href, data in self.client.report(self.url, *far):
            out.extend(parse_calendar(data, href).walk("VEVENT"))
        return out

    @hookimpl
    def siteupdates_calendar_update(self, entry: CalendarEntry) -> bool:
        """Create, move or delete the request's event with conditional requests."""
        url = self.event_url(entry.request_id)
        if entry.action != "withdraw" and (entry.start is None or entry.end is None):
            raise ConfigurationError(f"calendar entry for request {entry.request_id} has no dates")
        for _ in range(CONFLICT_RETRIES):
            current = self.client.request("GET", url)
            if current.status not in (200, 404):
                raise StorageError(f"CalDAV GET {public_url(url)} answered HTTP {current.status}")
            if current.status == 200 and current.etag is None:
                raise StorageError(
                    f"CalDAV server gives no ETag for {public_url(url)}; "
                    "refusing to overwrite without one"
                )
            if entry.action == "withdraw":
                done = self._cancel(url, entry.request_id, current)
            else:
                done = self._put(url, entry, current)
            if done:
                if entry.action == "withdraw":
                    self.prune()
                return True
        raise StorageError(
            f"CalDAV event {public_url(url)} changed under every one of {CONFLICT_RETRIES} "
            "attempts; will try again later"
        )

    def prune(self) -> int:
        """Delete the cancelled events that ended ``KEEP_CANCELLED`` ago; how many went."""
        from .schedule import KEEP_CANCELLED

        cutoff = self.clock() - KEEP_CANCELLED
        gone = 0
        for href, data in self.client.report(self.url, datetime(1970, 1, 1, tzinfo=UTC), cutoff):
            events = parse_calendar(data, href).walk("VEVENT")
            if not events or any(not _cancelled_before(e, cutoff) for e in events):
                continue
            url = urljoin(self.url, href)
            current = self.client.request("GET", url)
            if current.status == 200 and self._delete(url, current):
                gone += 1
        return gone

    def _cancel(self, url: str, request_id: str, current: DavResponse) -> bool:
        if current.status == 404:
            return True  # never published, or pruned: nothing for a client to remove
        assert current.etag is not None
        cal = parse_calendar(current.body, public_url(url))
        uid = uid_for(request_id)
        events = [e for e in cal.walk("VEVENT") if str(e.get("UID")) == uid]
        if not events:
            raise StorageError(f"CalDAV resource {public_url(url)} holds no event {uid}")
        event = events[0]
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        if not update_event(event, str(event.get("SUMMARY", "")), start, end,
                            status="CANCELLED", stamp=self.clock()):  # fmt: skip
            return True  # cancelled already: a repeated delivery
        headers = {"Content-Type": "text/calendar; charset=utf-8", "If-Match": current.etag}
        status = self.client.request("PUT", url, serialize(cal), headers).status
        if status == 412:
            return False
        if status not in (200, 201, 204):
            raise StorageError(f"CalDAV PUT {public_url(url)} answered HTTP {status}")
        return True

    def _delete(self, url: str, current: DavResponse) -> bool:
        if current.status == 404:
            return True  # gone already, which is the goal
        assert current.etag is not None
        status = self.client.request("DELETE", url, headers={"If-Match": current.etag}).status
        if status == 412:
            return False
        if status not in (200, 204, 404):
            raise StorageError(f"CalDAV DELETE {public_url(url)} answered HTTP {status}")
        return True

    def _put(self, url: str, entry: CalendarEntry, current: DavResponse) -> bool:
        assert entry.start is not None and entry.end is not None
        headers: Dict[str, str] = {"Content-Type": "text/calendar; charset=utf-8"}
        uid = uid_for(entry.request_id)
        if current.status == 404:
            cal = new_calendar()
            cal.add_component(make_event(uid, entry.summary, entry.start, entry.end))
            headers["If-None-Match"] = "*"
        else:
            assert current.etag is not None
            cal = parse_calendar(current.body, public_url(url))
            events = [e for e in cal.walk("VEVENT") if str(e.get("UID")) == uid]
            if not events:
                raise StorageError(f"CalDAV resource {public_url(url)} holds no event {uid}")
            if not update_event(events[0], entry.summary, entry.start, entry.end):
                return True  # a repeated delivery of a change already made
            headers["If-Match"] = current.etag
        status = self.client.request("PUT", url, serialize(cal), headers).status
        if status == 412:
            return False
        if status not in (200, 201, 204):
            raise StorageError(f"CalDAV PUT {public_url(url)} answered HTTP {status}")
        return True


def _cancelled_before(event: icalendar.cal.Component, cutoff: datetime) -> bool:
    if str(event.get("STATUS", "")).upper() != "CANCELLED":
        return False
    try:
        end = event.decoded("DTEND")
    except (KeyError, ValueError):
        return False
    return isinstance(end, datetime) and end < cutoff
