"""Calendar plugins for siteupdates: iCalendar files and CalDAV servers.

:class:`IcsCalendar` and :class:`CalDavCalendar` implement the calendar hooks
(``siteupdates_calendar_update`` and ``siteupdates_blackouts``). A calendar that
cannot be reached raises; the outbox keeps the entry and tries again later, so a
failing calendar never loses a scheduled update.
"""

from __future__ import annotations

import base64
import http.client
import os
import tempfile
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Tuple
from urllib.parse import quote, urljoin, urlsplit

from siteupdates.domain.windows import Blackout
from siteupdates.errors import ConfigurationError, StorageError
from siteupdates.hookspecs import hookimpl
from siteupdates.notices import CalendarEntry

from .ics import Event, blackouts_from, format_calendar, parse_events

__all__ = ["CalDavCalendar", "Event", "IcsCalendar", "format_calendar", "parse_events"]

UTC = timezone.utc


def _uid(request_id: str) -> str:
    return f"{request_id}@siteupdates"


def _overlapping(blackouts: List[Blackout], tenant_id: Optional[str], start: datetime,
                 end: datetime) -> List[Blackout]:  # fmt: skip
    return [
        b
        for b in blackouts
        if (b.tenant_id is None or b.tenant_id == tenant_id)
        and (b.yearly or (b.start < end and b.end > start))
        and (tenant_id is None) == (b.tenant_id is None)
    ]


class IcsCalendar:
    """Publishes the schedule to ``schedule`` (an .ics file) and reads ``blackouts``.

    ``zone`` reads floating and all-day times of the blackout file.
    """

    def __init__(
        self,
        schedule: Optional[str | Path] = None,
        *,
        blackouts: Optional[str | Path] = None,
        zone: str = "UTC",
    ) -> None:
        self.schedule = None if schedule is None else Path(schedule)
        self.blackouts_path = None if blackouts is None else Path(blackouts)
        self.zone = zone

    def events(self) -> List[Event]:
        """The events of the schedule file."""
        if self.schedule is None or not self.schedule.exists():
            return []
        return parse_events(self.schedule.read_text(encoding="utf-8"), zone=self.zone)

    @hookimpl
    def siteupdates_calendar_update(self, entry: CalendarEntry) -> Optional[bool]:
        """Upsert or remove the request's event, writing the file atomically."""
        if self.schedule is None:
            return None
        events = {e.uid: e for e in self.events()}
        uid = _uid(entry.request_id)
        old = events.pop(uid, None)
        if entry.action != "withdraw":
            if entry.start is None or entry.end is None:
                raise ConfigurationError(f"calendar entry {entry.key} has no dates")
            events[uid] = Event(uid, entry.summary, entry.start, entry.end,
                                sequence=0 if old is None else old.sequence + 1)  # fmt: skip
        text = format_calendar(sorted(events.values(), key=lambda e: (e.start, e.uid)))
        self.schedule.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.schedule.parent, suffix=".ics.tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, self.schedule)  # readers see the old file or the new one
        return True

    @hookimpl
    def siteupdates_blackouts(
        self, tenant_id: Optional[str], start: datetime, end: datetime
    ) -> List[Blackout]:
        """The blackouts of the blackout file for ``tenant_id`` (None: provider-wide)."""
        if self.blackouts_path is None:
            return []
        text = self.blackouts_path.read_text(encoding="utf-8")
        return _overlapping(blackouts_from(parse_events(text, zone=self.zone), self.zone),
                            tenant_id, start, end)  # fmt: skip


_ALL = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter>
  </C:filter>
</C:calendar-query>"""


class CalDavCalendar:
    """Keeps one event per scheduled update in a CalDAV collection; reads blackouts.

    ``url`` is the collection of the schedule (``https://host/user/updates/``);
    ``blackouts_url`` the collection of blackout events (default: none).
    """

    def __init__(
        self,
        url: str,
        *,
        user: Optional[str] = None,
        password: Optional[str] = None,
        blackouts_url: Optional[str] = None,
        zone: str = "UTC",
        timeout: float = 10.0,
    ) -> None:
        for u in (url, blackouts_url):
            if u is not None and urlsplit(u).scheme not in ("http", "https"):
                raise ConfigurationError(f"a CalDAV URL is http:// or https://, not {u!r}")
        self.url = url if url.endswith("/") else url + "/"
        self.blackouts_url = blackouts_url
        self.zone = zone
        self.timeout = timeout
        self._auth: Optional[str] = None
        if user is not None:
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self._auth = f"Basic {token}"

    def __repr__(self) -> str:
        return f"CalDavCalendar({self.url!r})"

    def _request(
        self,
        method: str,
        url: str,
        body: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[int, bytes]:
        parts = urlsplit(url)
        conn_type = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        conn = conn_type(parts.hostname or "", parts.port, timeout=self.timeout)
        all_headers = dict(headers or {})
        if self._auth:
            all_headers["Authorization"] = self._auth
        try:
            conn.request(method, parts.path or "/", body=body.encode("utf-8") if body else None,
                         headers=all_headers)  # fmt: skip
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def _event_url(self, request_id: str) -> str:
        return urljoin(self.url, quote(request_id, safe="") + ".ics")

    def ensure_collection(self) -> None:
        """Create the schedule collection (MKCALENDAR) if the server lacks it."""
        for url in filter(None, (self.url, self.blackouts_url)):
            status, _ = self._request("MKCALENDAR", url)
            if status not in (201, 405):  # 405: it exists already
                raise StorageError(f"cannot create calendar {url}: HTTP {status}")

    @hookimpl
    def siteupdates_calendar_update(self, entry: CalendarEntry) -> bool:
        """PUT the request's event, or DELETE it; raise on any other answer."""
        url = self._event_url(entry.request_id)
        if entry.action == "withdraw":
            status, _ = self._request("DELETE", url)
            if status not in (200, 204, 404):  # 404: gone already, which is the goal
                raise StorageError(f"CalDAV DELETE {url} answered HTTP {status}")
            return True
        if entry.start is None or entry.end is None:
            raise ConfigurationError(f"calendar entry {entry.key} has no dates")
        sequence = int(entry.key.split(":")[1]) if entry.key.count(":") >= 2 else 0
        body = format_calendar(
            [Event(_uid(entry.request_id), entry.summary, entry.start, entry.end, sequence)]
        )
        status, _ = self._request(
            "PUT", url, body, {"Content-Type": "text/calendar; charset=utf-8"}
        )
        if status not in (200, 201, 204):
            raise StorageError(f"CalDAV PUT {url} answered HTTP {status}")
        return True

    def events(self, url: Optional[str] = None) -> List[Event]:
        """Every event of a collection (the schedule by default)."""
        return self._report(url or self.url, _ALL)

    def _report(self, url: str, query: str) -> List[Event]:
        status, data = self._request(
            "REPORT", url, query, {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
        )
        if status != 207:
            raise StorageError(f"CalDAV REPORT {url} answered HTTP {status}")
        events: List[Event] = []
        ns = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}
        for node in ET.fromstring(data).iterfind(".//C:calendar-data", ns):
            if node.text:
                events.extend(parse_events(node.text, zone=self.zone))
        return events

    @hookimpl
    def siteupdates_blackouts(
        self, tenant_id: Optional[str], start: datetime, end: datetime
    ) -> List[Blackout]:
        """Blackout events of the blackout collection (yearly ones whatever their year)."""
        if self.blackouts_url is None:
            return []
        events = self._report(self.blackouts_url, _ALL)
        return _overlapping(blackouts_from(events, self.zone), tenant_id, start, end)
