"""Blackout sources named in the setup file, and the hook that reads them.

The scope of a blackout comes from configuration, never from the data: a source
without tenants is the provider's and blocks everyone; a source with tenants
(one district, or the members of a group) blocks only those. A tenant's own
calendar therefore cannot block anybody else, whatever it contains.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

import attrs

from siteupdates.domain.windows import Blackout
from siteupdates.errors import ConfigurationError, SiteUpdatesError
from siteupdates.hookspecs import hookimpl

from .caldav import DavClient, public_url
from .reading import Period, Problem, decode_calendar, parse_calendars, periods_in

__all__ = ["BlackoutCalendars", "BlackoutSource"]

log = logging.getLogger("siteupdates_ical")


def _tenants(value: Iterable[str]) -> FrozenSet[str]:
    return frozenset(value)


@attrs.frozen
class BlackoutSource:
    """One calendar of blackouts.

    ``location`` is a file path or an ``http(s)://`` address of an ``.ics`` feed;
    with ``caldav`` it is a CalDAV collection, read by a time-range REPORT.
    ``tenants`` empty means provider-wide. ``zone`` reads floating times and
    all-day dates (default: the plugin's zone). Every event blocks but cancelled
    ones, whatever its free/busy flag; with ``honour_transp`` events marked free
    (``TRANSP:TRANSPARENT``) do not block either.
    """

    location: str
    tenants: FrozenSet[str] = attrs.field(converter=_tenants, factory=frozenset)
    zone: Optional[str] = None
    caldav: bool = False
    honour_transp: bool = False

    @property
    def label(self) -> str:
        """The source as messages name it (no password)."""
        if "://" in self.location:
            return public_url(self.location)
        return self.location

    def covers(self, tenant_id: Optional[str]) -> bool:
        """Whether this source answers for ``tenant_id`` (None: provider-wide)."""
        return not self.tenants if tenant_id is None else tenant_id in self.tenants


class BlackoutCalendars:
    """The ``siteupdates_blackouts`` hook over configured :class:`BlackoutSource` values.

    The scheduler asks once provider-wide and once per tenant, each time for the
    same range; each source is read at most once per range (and again only after
    ``cache_seconds``), so a plan costs one request per calendar. A source that
    cannot be read raises a one-line error naming it: the provider must not
    schedule into a blackout it could not see.
    """

    def __init__(
        self,
        sources: Sequence[BlackoutSource],
        *,
        zone: str = "UTC",
        client: Optional[DavClient] = None,
        cache_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sources = tuple(sources)
        self.zone = zone
        self.client = client or DavClient()
        self.cache_seconds = cache_seconds
        self.monotonic = monotonic
        self.problems: List[Problem] = []
        self.reads = 0
        self._cache: Dict[Tuple[BlackoutSource, datetime, datetime], Tuple[float, List[Period]]]
        self._cache = {}

    def __repr__(self) -> str:
        return f"BlackoutCalendars({[s.label for s in self.sources]!r})"

    @hookimpl
    def siteupdates_blackouts(
        self, tenant_id: Optional[str], start: datetime, end: datetime
    ) -> List[Blackout]:
        """The blackouts of the sources that cover ``tenant_id`` (None: provider-wide)."""
        out: List[Blackout] = []
        for source in self.sources:
            if not source.covers(tenant_id):
                continue
            zone = source.zone or self.zone
            for p in self.periods(source, start, end):
                out.append(Blackout(p.name, p.start, p.end, tenant_id, False, zone))
        return out

    def periods(self, source: BlackoutSource, start: datetime, end: datetime) -> List[Period]:
        """The blocking periods of ``source`` overlapping ``start``..``end`` (cached)."""
        key = (source, start, end)
        now = self.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.cache_seconds:
            return hit[1]
        # Ranges of earlier plans are never asked again; drop them.
        self._cache = {k: v for k, v in self._cache.items() if now - v[0] < self.cache_seconds}
        periods = self._read(source, start, end)
        self._cache[key] = (now, periods)
        return periods

    def _read(self, source: BlackoutSource, start: datetime, end: datetime) -> List[Period]:
        self.reads += 1
        zone = source.zone or self.zone
        try:
            blobs: List[Tuple[bytes, str, Optional[str]]]
            if source.caldav:
                hits = self.client.report(source.location, start, end)
                blobs = [(data, f"{source.label} {href}", None) for href, data in hits]
            else:
                data, charset = _fetch(source.location, self.client.timeout)
                blobs = [(data, source.label, charset)]
            periods: List[Period] = []
            for data, name, charset in blobs:
                text, note = decode_calendar(data, charset)
                if note:
                    self._report(Problem(name, "", None, note))
                for cal in parse_calendars(text, name):
                    found, problems = periods_in(
                        cal, source=name, zone=zone, start=start, end=end, text=text,
                        honour_transp=source.honour_transp,
                    )  # fmt: skip
                    periods.extend(found)
                    self.problems.extend(problems)
        except SiteUpdatesError as exc:
            raise ConfigurationError(f"blackout source {source.label}: {exc}") from None
        return periods

    def _report(self, problem: Problem) -> None:
        log.warning("blackout calendar %s", problem)
        self.problems.append(problem)


def _fetch(location: str, timeout: float) -> Tuple[bytes, Optional[str]]:
    """The bytes of a file or feed, and the charset its server named (None: none named)."""
    if location.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(location, timeout=timeout) as resp:
                return bytes(resp.read()), resp.headers.get_content_charset()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConfigurationError(f"cannot fetch: {reason}") from None
    if "://" in location:
        raise ConfigurationError("expected a file path or an http(s):// address")
    try:
        return Path(location).read_bytes(), None
    except OSError as exc:
        raise ConfigurationError(f"cannot read: {exc.strerror or exc}") from None
