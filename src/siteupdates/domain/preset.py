"""What a provider decides: its maintenance windows, default zone and plan rules.

The domain reads these values and never hard-codes them; a host builds its own
:class:`ProviderPreset` or starts from one in :mod:`siteupdates.presets`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

import attrs

from siteupdates.errors import InvalidInput, WrongType

from .model import Plan, SiteKind
from .timeutil import require_zone
from .windows import Blackout, RecurringWindow, WeeklyWindow, Window

__all__ = [
    "DEFAULT_MOVE_CUTOFF",
    "DeferralRules",
    "NoticeTiers",
    "PlanRules",
    "ProviderPreset",
    "SchedulingRules",
    "StagingRules",
]


@attrs.frozen
class PlanRules:
    """What a hosting plan means.

    ``automatic_weekly_update``: the provider updates these tenants to the newest
    version every week in its maintenance window (R8).
    ``production_refresh_only``: a production/sandbox request may only be a DB
    refresh (R9). ``shows_automatic_updates``: the overview shows the most recent
    automatic update of each site (R11).
    """

    automatic_weekly_update: bool = False
    production_refresh_only: bool = False
    shows_automatic_updates: bool = False


#: The rules of a plan a preset does not mention (a frozen value, so one is shared).
_NO_RULES = PlanRules()


def _windows(value: Iterable[Window]) -> Tuple[Window, ...]:
    windows = tuple(value)
    if not windows or not all(isinstance(w, (WeeklyWindow, RecurringWindow)) for w in windows):
        raise InvalidInput("a preset needs at least one WeeklyWindow or RecurringWindow", value)
    return windows


#: The longest soak, deferral period, skip or notice lead a preset may hold: ten
#: years. Longer ones would carry the planner's dates past the calendar's end.
MAX_SPAN = timedelta(days=3660)
#: The most deferrals a preset may allow per request or per period.
MAX_TIMES = 1000


def _span(what: str, value: Any) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, timedelta):
        raise InvalidInput(f"{what} must be a timedelta, not {value!r}", value)
    if value < timedelta(0):
        raise InvalidInput(f"{what} must not be negative, not {value}", value)
    if value > MAX_SPAN:
        raise InvalidInput(f"{what} {value} is out of range: expected 0 to {MAX_SPAN}", value)
    return value


@attrs.frozen
class StagingRules:
    """Staging, then production (issue 17): how long staging soaks before production.

    A contact may choose a soak between ``min_soak`` and ``max_soak``; ``soak`` is
    the default. With ``auto_approve`` production goes ahead once staging has
    completed and soaked; without it, the contact confirms.
    """

    soak: timedelta = timedelta(days=2)
    min_soak: timedelta = timedelta(days=1)
    max_soak: timedelta = timedelta(days=14)
    auto_approve: bool = False

    def __attrs_post_init__(self) -> None:
        for what in ("soak", "min_soak", "max_soak"):
            _span(what, getattr(self, what))
        if not self.min_soak <= self.soak <= self.max_soak:
            raise InvalidInput(
                f"the default soak {self.soak} must lie between min_soak {self.min_soak} "
                f"and max_soak {self.max_soak}",
                self.soak,
            )

    def check(self, soak: Optional[timedelta]) -> timedelta:
        """``soak`` (or the default) if within the limits; InvalidInput naming them if not."""
        if soak is None:
            return self.soak
        if isinstance(soak, bool) or not isinstance(soak, timedelta):
            raise InvalidInput(f"soak must be a timedelta, not {soak!r}", soak)
        if not self.min_soak <= soak <= self.max_soak:
            raise InvalidInput(
                f"soak {soak} is outside what the provider allows: from {self.min_soak} "
                f"to {self.max_soak}",
                soak,
            )
        return soak


@attrs.frozen
class DeferralRules:
    """How often a contact may defer a scheduled request, and how far.

    At most ``per_request`` deferrals of one request and at most ``per_period``
    within any ``period`` (None: no limit of that kind); a skip may reach at
    most ``max_skip`` days ahead.
    """

    per_request: Optional[int] = 2
    per_period: Optional[int] = None
    period: timedelta = timedelta(days=30)
    max_skip: timedelta = timedelta(days=30)

    def __attrs_post_init__(self) -> None:
        for what in ("per_request", "per_period"):
            v = getattr(self, what)
            if v is not None and (
                isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_TIMES
            ):
                raise InvalidInput(
                    f"{what} must be a whole number of times from 0 to {MAX_TIMES}", v
                )
        if _span("period", self.period) == timedelta(0):
            raise InvalidInput("period must be positive", self.period)
        _span("max_skip", self.max_skip)


@attrs.frozen
class NoticeTiers:
    """Advance notice: an update is booked at least a tier's lead after it is announced.

    ``tiers`` maps a tier's name to its lead (``{"early": 28 days, "normal": 14
    days, "late": 7 days}``); ``tenants`` picks a tier per tenant, ``default``
    for the others. No tiers: no advance notice is required.
    """

    tiers: Mapping[str, timedelta] = attrs.field(factory=dict)
    default: Optional[str] = None
    tenants: Mapping[str, str] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        for name, lead in self.tiers.items():
            _span(f"notice tier {name!r}", lead)
        names = sorted(self.tiers)
        for who, tier in [("default", self.default), *self.tenants.items()]:
            if tier is not None and tier not in self.tiers:
                raise InvalidInput(
                    f"notice tier {tier!r} of {who} is not defined; tiers: "
                    f"{', '.join(names) or 'none'}",
                    tier,
                )

    def tier_of(self, tenant_id: str) -> Optional[Tuple[str, timedelta]]:
        """The tenant's tier and its lead, or None when no notice is required."""
        name = self.tenants.get(tenant_id, self.default)
        return None if name is None else (name, self.tiers[name])


@attrs.frozen
class SchedulingRules:
    """The planner's settings beyond windows: staging, deferral, notice tiers, blackouts."""

    staging: StagingRules = StagingRules()
    deferral: DeferralRules = DeferralRules()
    notice: NoticeTiers = NoticeTiers()
    blackouts: Tuple[Blackout, ...] = ()


def _intervals(value: Mapping[object, timedelta]) -> Mapping[SiteKind, timedelta]:
    if not isinstance(value, Mapping):
        raise WrongType("refresh_intervals", value, "a mapping of site kind to timedelta")
    found: Dict[SiteKind, timedelta] = {}
    for kind, every in value.items():
        k: SiteKind = SiteKind.parse(kind)
        if k is SiteKind.PRODUCTION:
            raise InvalidInput("production is never refreshed (R4): it has no refresh interval", k)
        if not isinstance(every, timedelta) or every <= timedelta(0):
            raise InvalidInput(
                f"the refresh interval of {k.value} must be a positive duration", every
            )
        found[k] = every
    return found


#: The contact's reschedule cut-off when a provider sets none: 48 hours.
DEFAULT_MOVE_CUTOFF = timedelta(hours=48)


@attrs.frozen
class ProviderPreset:
    """A provider's numbers: windows, default zone, plan rules, update length, capacity.

    ``update_duration`` is how long an update keeps a site offline, and the length
    of the planner's slots; ``capacity`` is how many updates may run at once.
    ``windows`` are weekly or recurring; the first is the weekly automatic
    update's (R8). ``scheduling`` holds staging, deferral, notice tiers and the
    provider's own blackouts.
    ``move_cutoff``: a contact may move the preferred start of their own request
    until this long before its scheduled start. ``refresh_intervals``: per site
    kind, how long at least between two DB refreshes (none by default: the
    policy is off). ``email``: where notices meant for the provider go (a
    contact's reschedule); None leaves them to notifiers that need no address.
    """

    name: str
    default_zone: str = attrs.field(converter=require_zone)
    windows: Tuple[Window, ...] = attrs.field(converter=_windows)
    plan_rules: Mapping[Plan, PlanRules]
    update_duration: timedelta = timedelta(hours=2)
    capacity: int = 1
    scheduling: SchedulingRules = SchedulingRules()
    move_cutoff: timedelta = DEFAULT_MOVE_CUTOFF
    refresh_intervals: Mapping[SiteKind, timedelta] = attrs.field(
        factory=dict, converter=_intervals
    )
    email: Optional[str] = None

    def __attrs_post_init__(self) -> None:
        if self.capacity < 1:
            raise InvalidInput(f"capacity must be at least 1, not {self.capacity}", self.capacity)
        if self.update_duration <= timedelta(0):
            raise InvalidInput("update_duration must be positive", self.update_duration)
        if not isinstance(self.move_cutoff, timedelta) or self.move_cutoff < timedelta(0):
            raise InvalidInput("move_cutoff must be a duration of zero or more", self.move_cutoff)

    def rules_for(self, plan: Plan) -> PlanRules:
        """The rules of ``plan``; a plan the preset does not mention has no special rules."""
        found = self.plan_rules.get(plan)
        return _NO_RULES if found is None else found

    @property
    def maintenance_window(self) -> Window:
        """The window of the weekly automatic update (the first window)."""
        return self.windows[0]
