"""What a provider decides: its maintenance windows, default zone and plan rules.

The domain reads these values and never hard-codes them; a host builds its own
:class:`ProviderPreset` or starts from one in :mod:`siteupdates.presets`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Iterable, Mapping, Tuple

import attrs

from siteupdates.errors import InvalidInput

from .model import Plan
from .timeutil import require_zone
from .windows import WeeklyWindow

__all__ = ["PlanRules", "ProviderPreset"]


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


def _windows(value: Iterable[WeeklyWindow]) -> Tuple[WeeklyWindow, ...]:
    windows = tuple(value)
    if not windows or not all(isinstance(w, WeeklyWindow) for w in windows):
        raise InvalidInput("a preset needs at least one WeeklyWindow", value)
    return windows


@attrs.frozen
class ProviderPreset:
    """A provider's numbers: windows, default zone, plan rules, update length, capacity.

    ``update_duration`` is how long an update keeps a site offline, and the length
    of the planner's slots; ``capacity`` is how many updates may run at once.
    """

    name: str
    default_zone: str = attrs.field(converter=require_zone)
    windows: Tuple[WeeklyWindow, ...] = attrs.field(converter=_windows)
    plan_rules: Mapping[Plan, PlanRules]
    update_duration: timedelta = timedelta(hours=2)
    capacity: int = 1

    def __attrs_post_init__(self) -> None:
        if self.capacity < 1:
            raise InvalidInput(f"capacity must be at least 1, not {self.capacity}", self.capacity)
        if self.update_duration <= timedelta(0):
            raise InvalidInput("update_duration must be positive", self.update_duration)

    def rules_for(self, plan: Plan) -> PlanRules:
        """The rules of ``plan``; a plan the preset does not mention has no special rules."""
        return self.plan_rules.get(plan, PlanRules())

    @property
    def maintenance_window(self) -> WeeklyWindow:
        """The window of the weekly automatic update (the first window)."""
        return self.windows[0]
