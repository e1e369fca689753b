"""Zone look-ups that work on Python 3.8 (backports) and later (standard library)."""

from __future__ import annotations

import sys
from datetime import date, datetime, time, timezone
from typing import Union

from siteupdates.errors import ConfigurationError

if sys.version_info >= (3, 9):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
else:  # pragma: no cover - Python 3.8 only
    from backports.zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc

__all__ = ["UTC", "instant", "zone_info"]


def zone_info(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; a ConfigurationError names a bad one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"unknown time zone {name!r}: expected an IANA name") from None


def instant(value: Union[date, datetime], zone: str) -> datetime:
    """``value`` as a UTC instant; dates and floating times are read in ``zone``."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=zone_info(zone))
    return value.astimezone(UTC)
