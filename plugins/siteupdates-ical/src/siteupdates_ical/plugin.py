"""The entry point of the plugin: configured from the ``[plugins.ical]`` table.

A host that loads the ``siteupdates`` entry point group registers this module.
Until it is configured it keeps no calendar and reports no blackout, so merely
installing the plugin changes nothing. Settings (every key optional)::

    [plugins.ical]
    zone = "America/Chicago"             # floating times, all-day dates
    schedule = "/srv/feeds/schedule.ics"  # the provider's schedule as a file
    caldav = "https://cal.example.org/ops/updates/"  # ... or in a CalDAV collection
    caldav_user = "ops"
    caldav_password_env = "SITEUPDATES_CALDAV_PASSWORD"  # the password's variable
    blackouts = [
      { source = "/etc/siteupdates/holidays.ics" },              # provider-wide
      { source = "https://example.org/pine.ics", tenant = "d1" },
      { caldav = "https://cal.example.org/ops/blackouts/", tenants = ["d3", "d4"] },
    ]
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, List, Mapping, Optional

from siteupdates.domain.windows import Blackout
from siteupdates.errors import ConfigurationError
from siteupdates.hookspecs import hookimpl
from siteupdates.notices import CalendarEntry

from ._zones import zone_info
from .blackouts import BlackoutCalendars, BlackoutSource
from .caldav import CalDavSchedule, DavClient
from .schedule import IcsSchedule

__all__ = [
    "configure_from_settings",
    "configured",
    "siteupdates_blackouts",
    "siteupdates_calendar_update",
    "siteupdates_configure",
]

_KEYS = {"zone", "schedule", "caldav", "caldav_user", "caldav_password_env", "blackouts",
         "timeout"}  # fmt: skip
_SOURCE_KEYS = {"source", "caldav", "tenant", "tenants", "zone", "honour_transp"}

_plugins: List[object] = []


def _str(settings: Mapping[str, Any], key: str, where: str = "[plugins.ical]") -> Optional[str]:
    value = settings.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(f"{where} {key} must be a string, not {value!r}")
    return value


def _source(item: object, index: int) -> BlackoutSource:
    where = f"[plugins.ical] blackouts[{index}]"
    if not isinstance(item, Mapping):
        raise ConfigurationError(f'{where} must be a table such as {{ source = "x.ics" }}')
    unknown = sorted(set(item) - _SOURCE_KEYS)
    if unknown:
        raise ConfigurationError(f"{where}: unknown key {unknown[0]!r}")
    path, dav = _str(item, "source", where), _str(item, "caldav", where)
    if (path is None) == (dav is None):
        raise ConfigurationError(f"{where} needs exactly one of source = ... or caldav = ...")
    tenants = item.get("tenants", [])
    if "tenant" in item:
        tenants = [item["tenant"]]
    if not isinstance(tenants, list) or not all(isinstance(t, str) and t for t in tenants):
        raise ConfigurationError(f"{where} tenant/tenants must name tenant ids")
    zone = _str(item, "zone", where)
    if zone is not None:
        zone_info(zone)
    location = path if path is not None else dav
    assert location is not None
    honour = item.get("honour_transp", False)
    if not isinstance(honour, bool):
        raise ConfigurationError(f"{where} honour_transp must be true or false, not {honour!r}")
    return BlackoutSource(
        location, frozenset(tenants), zone, caldav=dav is not None, honour_transp=honour
    )


def configure_from_settings(
    settings: Mapping[str, Any], *, environ: Optional[Mapping[str, str]] = None
) -> List[object]:
    """The plugin objects the ``[plugins.ical]`` table asks for (see the module docstring)."""
    env = os.environ if environ is None else environ
    unknown = sorted(set(settings) - _KEYS)
    if unknown:
        raise ConfigurationError(f"[plugins.ical]: unknown key {unknown[0]!r}")
    zone = _str(settings, "zone") or "UTC"
    zone_info(zone)
    timeout = settings.get("timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ConfigurationError("[plugins.ical] timeout must be a positive number of seconds")
    user, var = _str(settings, "caldav_user"), _str(settings, "caldav_password_env")
    password = None
    if var is not None:
        if var not in env:
            raise ConfigurationError(f"[plugins.ical] caldav_password_env: ${var} is not set")
        password = env[var]
    client = DavClient(user=user, password=password, timeout=float(timeout))
    out: List[object] = []
    schedule = _str(settings, "schedule")
    if schedule is not None:
        out.append(IcsSchedule(schedule))
    caldav = _str(settings, "caldav")
    if caldav is not None:
        out.append(CalDavSchedule(caldav, client=client))
    items = settings.get("blackouts", [])
    if not isinstance(items, list):
        raise ConfigurationError("[plugins.ical] blackouts must be a list of tables")
    sources = [_source(item, i) for i, item in enumerate(items)]
    if sources:
        out.append(BlackoutCalendars(sources, zone=zone, client=client))
    return out


def configured() -> List[object]:
    """The plugin objects of the last :func:`siteupdates_configure` call."""
    return list(_plugins)


@hookimpl
def siteupdates_configure(settings: Mapping[str, Mapping[str, Any]]) -> None:
    """Configure the plugin from the ``ical`` table of the plugin settings (``[plugins.ical]``).

    The module is the plugin (entry points register modules), so its configuration
    is the process's: the last host configured wins.
    """
    _plugins[:] = configure_from_settings(settings.get("ical") or {})


@hookimpl
def siteupdates_calendar_update(entry: CalendarEntry) -> Optional[bool]:
    """Apply ``entry`` to every configured schedule; None when none is configured."""
    handlers = [p for p in _plugins if isinstance(p, (IcsSchedule, CalDavSchedule))]
    for plugin in handlers:
        plugin.siteupdates_calendar_update(entry)
    return True if handlers else None


@hookimpl
def siteupdates_blackouts(
    tenant_id: Optional[str], start: datetime, end: datetime
) -> List[Blackout]:
    """The blackouts of the configured sources (none when unconfigured)."""
    return [
        b
        for p in _plugins
        if isinstance(p, BlackoutCalendars)
        for b in p.siteupdates_blackouts(tenant_id, start, end)
    ]
