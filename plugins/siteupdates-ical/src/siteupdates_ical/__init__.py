"""Calendar plugins for siteupdates, built on ``icalendar`` and ``recurring-ical-events``.

- :class:`IcsSchedule` and :class:`CalDavSchedule` publish the provider's schedule
  (hook ``siteupdates_calendar_update``) to a file or a CalDAV collection.
- :class:`BlackoutCalendars` reads blackout periods (hook ``siteupdates_blackouts``)
  from the calendars named in configuration, each provider-wide or for tenants.
- :func:`contact_feed` and :func:`provider_feed` render feeds to subscribe to.
- :func:`configure_from_settings` builds all of these from the ``[plugins.ical]``
  table of the setup file; :mod:`siteupdates_ical.plugin` is the entry point.

A calendar that cannot be reached raises; the outbox keeps the entry and tries
again later, so a failing calendar never loses a scheduled update.
"""

from __future__ import annotations

from .blackouts import BlackoutCalendars, BlackoutSource
from .caldav import CalDavSchedule, DavClient
from .feed import contact_feed, departure, provider_feed
from .plugin import configure_from_settings
from .reading import (
    Period,
    Problem,
    decode_calendar,
    parse_calendar,
    parse_calendars,
    periods_in,
)
from .schedule import IcsSchedule
from .text import canonical_text
from .writing import make_event, new_calendar, uid_for

__all__ = [
    "BlackoutCalendars",
    "BlackoutSource",
    "CalDavSchedule",
    "DavClient",
    "IcsSchedule",
    "Period",
    "Problem",
    "canonical_text",
    "configure_from_settings",
    "contact_feed",
    "departure",
    "make_event",
    "new_calendar",
    "decode_calendar",
    "parse_calendar",
    "parse_calendars",
    "periods_in",
    "provider_feed",
    "uid_for",
]
