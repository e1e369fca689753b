"""What the Request an Update form offers, and reading what comes back.

Pure functions of domain values: the targets a tenant has, the versions the
rules let it choose, whether DB refresh is preset, the next spring-forward gap
of a zone, and which field a refusal belongs beside.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from siteupdates import Catalog, ProviderPreset, SiteKind, Target, Tenant, Version
from siteupdates.domain import get_zone, to_local
from siteupdates.i18n import N_, language

from .i18n import current, gettext

__all__ = [
    "FIELD_OF_RULE",
    "Gap",
    "FormError",
    "field_for",
    "next_gap",
    "parse_local",
    "refresh_preset",
    "targets_of",
    "version_choices",
]

#: Which form field a refusal is shown beside; rules not listed go above the form.
FIELD_OF_RULE: Mapping[str, str] = {
    "R2": "target",
    "R3": "target",
    "R4": "db_refresh",
    "R5": "version",
    "R6": "db_refresh",
    "R7": "version",
    "R9": "version",
    "R10": "version",
    "R12": "when",
    "R17": "version",
}

_TARGET_LABELS = {
    Target.PRODUCTION_SANDBOX: "Production/Sandbox",
    Target.STAGING: "Staging",
    Target.PREVIEW: "Preview",
}


_SITE_LABELS = {
    SiteKind.PRODUCTION: N_("Production"),
    SiteKind.SANDBOX: N_("Sandbox"),
    SiteKind.STAGING: N_("Staging"),
    SiteKind.PREVIEW: N_("Preview"),
}


class FormError(ValueError):
    """A field the form could not read; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def field_for(rule: str) -> str:
    """The field a refusal by ``rule`` concerns (``general`` when none)."""
    return FIELD_OF_RULE.get(rule, "general")


def target_label(target: Target) -> str:
    """``Production/Sandbox``: the target as the form names it."""
    return gettext(_TARGET_LABELS[target])


def targets_of(tenant: Tenant) -> List[Target]:
    """The targets a tenant may ask for: only sites it has (R3); never the sandbox alone (R2)."""
    found = []
    for target in Target:
        if target.main_site in tenant.kinds:
            found.append(target)
    return found


def _refresh_only(tenant: Tenant, preset: ProviderPreset, target: Target) -> bool:
    if tenant.group_id is not None:
        return True  # R10: the group's version updates are planned for it
    rules = preset.rules_for(tenant.plan)
    return rules.production_refresh_only and target is Target.PRODUCTION_SANDBOX  # R9


def version_choices(
    tenant: Tenant, catalog: Catalog, preset: ProviderPreset
) -> Dict[Target, Tuple[Version, ...]]:
    """For each target, the versions the rules allow, oldest first.

    Only the newest pack of each release (R5), in the site's line and newer than
    what the site runs (R7); none where the plan or group allows refreshes only
    (R9, R10).
    """
    offered = catalog.choosable()
    out: Dict[Target, Tuple[Version, ...]] = {}
    for target in targets_of(tenant):
        site = tenant.site(target.main_site)
        if site is None or _refresh_only(tenant, preset, target):
            out[target] = ()
            continue
        out[target] = tuple(v for v in offered if v.line == site.version.line and v > site.version)
    return out


def refresh_preset(tenant: Tenant, preset: ProviderPreset, target: Target) -> bool:
    """Whether DB refresh starts at yes: where only a refresh may be asked for (R9, R10)."""
    return _refresh_only(tenant, preset, target)


class Gap:
    """A spring-forward gap: wall-clock times from ``start`` up to ``end`` do not exist."""

    def __init__(self, day: date, start: time, end: time) -> None:
        self.day = day
        self.start = start
        self.end = end

    def __str__(self) -> str:
        day = language(current()).day(datetime.combine(self.day, time()))
        return gettext(
            "On %(day)s clocks jump from %(start)s to %(end)s; times in between do not exist."
        ) % {"day": day, "start": f"{self.start:%H:%M}", "end": f"{self.end:%H:%M}"}


def next_gap(zone: str, after: datetime, within_days: int = 370) -> Optional[Gap]:
    """The first spring-forward gap in ``zone`` after ``after`` (an aware instant), if any."""
    tz = get_zone(zone)
    # Hour steps find every transition in use (all fall on whole or half hours
    # in UTC), then a minute search pins it down.
    step = timedelta(hours=1)
    t = after.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    end = t + timedelta(days=within_days)
    before = t.astimezone(tz).utcoffset()
    while t < end:
        nxt = t + step
        off = nxt.astimezone(tz).utcoffset()
        if off != before and off is not None and before is not None:
            if off > before:
                lo = t
                while lo.astimezone(tz).utcoffset() == before:
                    lo += timedelta(minutes=1)
                wall_end = lo.astimezone(tz).replace(tzinfo=None)
                wall_start = wall_end - (off - before)
                return Gap(wall_start.date(), wall_start.time(), wall_end.time())
            before = off
        t = nxt
    return None


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")


def parse_local(day: str, clock: str) -> datetime:
    """A naive wall-clock datetime from an ``<input type=date>`` and ``<input type=time>``."""
    day, clock = day.strip(), clock.strip()
    if not day:
        raise FormError("when", gettext("Choose a preferred date."))
    if not clock:
        raise FormError("when", gettext("Choose a time."))
    if not _DATE.match(day):
        raise FormError("when", gettext("Write the date as YYYY-MM-DD, for example 2015-02-14."))
    if not _TIME.match(clock):
        raise FormError(
            "when", gettext("Write the time as HH:MM on a 24-hour clock, for example 01:00.")
        )
    try:
        return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock.zfill(5)))
    except ValueError:
        raise FormError(
            "when",
            gettext("%(day)s %(clock)s is not a date and time on the calendar.")
            % {"day": day, "clock": clock},
        ) from None


def local_text(instant: Optional[datetime], zone: str) -> str:
    """``Feb. 14, 2015 1:00 AM CST``: an instant as the reader in ``zone`` reads it."""
    if instant is None:
        return ""
    local = to_local(instant, zone)
    hour = local.hour % 12 or 12
    half = "AM" if local.hour < 12 else "PM"
    return (
        f"{local:%b}. {local.day}, {local.year} {hour}:{local.minute:02d} {half} {local.tzname()}"
    )


def day_text(instant: Optional[datetime], zone: str) -> str:
    """``Feb. 14, 2015``: the local date of an instant."""
    if instant is None:
        return ""
    local = to_local(instant, zone)
    return f"{local:%b}. {local.day}, {local.year}"


def site_label(kind: SiteKind) -> str:
    """``Production``: a site kind as a heading."""
    return gettext(_SITE_LABELS[kind])


def sorted_refusals(
    refusals: Sequence[Tuple[str, str]],
) -> Dict[str, List[str]]:
    """Group ``(rule, message)`` pairs by the field they are shown beside."""
    out: Dict[str, List[str]] = {}
    for rule, message in refusals:
        out.setdefault(field_for(rule), []).append(message)
    return out
