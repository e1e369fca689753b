"""Zone look-ups that work on Python 3.8 (backports) and later (standard library)."""

from __future__ import annotations

import importlib
import sys
from datetime import date, datetime, time, timezone
from typing import Dict, Union

from siteupdates.errors import ConfigurationError

if sys.version_info >= (3, 9):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
else:  # pragma: no cover - Python 3.8 only
    from backports.zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc


def _windows_names() -> Dict[str, str]:
    """Icalendar's map of Windows zone names (Outlook's) to IANA names."""
    for module in ("icalendar.timezone.windows_to_olson", "icalendar.windows_to_olson"):
        try:
            return dict(importlib.import_module(module).WINDOWS_TO_OLSON)
        except (ImportError, AttributeError):  # pragma: no cover - other icalendar lines
            continue
    return {}  # pragma: no cover


#: Windows zone names (``Central Standard Time``) and the IANA zone each means.
WINDOWS_TO_OLSON: Dict[str, str] = _windows_names()

__all__ = ["UTC", "WINDOWS_TO_OLSON", "instant", "known_zone", "zone_info"]


def known_zone(name: str) -> bool:
    """Whether ``name`` is an IANA zone name."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


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
