"""Ready-made provider presets.

These hold one provider's numbers; nothing in the domain depends on them. A
preset is built on first use (PEP 562), so a program that reads its zone alone
(a read command without a zone of its own) does not import the planner's windows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from siteupdates.domain.preset import ProviderPreset

__all__ = ["CAMPUS_HOSTING", "CAMPUS_ZONE"]

#: The zone of the source document's provider (Central): its default for readers.
CAMPUS_ZONE = "America/Chicago"

#: The provider of the source document: Sunday 04:00-09:00 Central, Central by default
#: (a bare annotation: :func:`__getattr__` builds it).
CAMPUS_HOSTING: ProviderPreset


def _campus_hosting() -> ProviderPreset:
    from datetime import timedelta

    from siteupdates.domain.model import Plan
    from siteupdates.domain.preset import PlanRules, ProviderPreset
    from siteupdates.domain.windows import WeeklyWindow

    return ProviderPreset(
        name="Campus Hosting",
        default_zone=CAMPUS_ZONE,
        windows=(WeeklyWindow("sunday", "04:00", "09:00", CAMPUS_ZONE),),
        plan_rules={
            Plan.CLOUD: PlanRules(automatic_weekly_update=True, production_refresh_only=True),
            Plan.CLOUD_CHOICE: PlanRules(
                automatic_weekly_update=True, shows_automatic_updates=True
            ),
            Plan.ASP: PlanRules(),
        },
        update_duration=timedelta(hours=2),
        capacity=4,
    )


def __getattr__(name: str) -> Any:
    """Build a preset on first use, then keep it in the module."""
    if name != "CAMPUS_HOSTING":
        raise AttributeError(f"module 'siteupdates.presets' has no attribute {name!r}")
    value = globals()[name] = _campus_hosting()
    return value
