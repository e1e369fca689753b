"""Ready-made provider presets.

These hold one provider's numbers; nothing in the domain depends on them.
"""

from __future__ import annotations

from datetime import timedelta

from siteupdates.domain.model import Plan
from siteupdates.domain.preset import PlanRules, ProviderPreset
from siteupdates.domain.windows import WeeklyWindow

__all__ = ["CAMPUS_HOSTING"]

#: The provider of the source document: Sunday 04:00-09:00 Central, Central by default.
CAMPUS_HOSTING = ProviderPreset(
    name="Campus Hosting",
    default_zone="America/Chicago",
    windows=(WeeklyWindow("sunday", "04:00", "09:00", "America/Chicago"),),
    plan_rules={
        Plan.CLOUD: PlanRules(automatic_weekly_update=True, production_refresh_only=True),
        Plan.CLOUD_CHOICE: PlanRules(automatic_weekly_update=True, shows_automatic_updates=True),
        Plan.ASP: PlanRules(),
    },
    update_duration=timedelta(hours=2),
    capacity=4,
)
