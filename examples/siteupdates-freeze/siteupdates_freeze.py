"""An example siteupdates plugin: no updates start on a frozen weekday.

Installing this distribution is all it takes: its entry point in the
``siteupdates`` group makes every :class:`siteupdates.plugins.PluginHost` load it,
and its rule ``FREEZE`` joins the built-in ones. Block it by name
(``PluginHost(blocked=["freeze"])``) like any plugin.
"""

from __future__ import annotations

import os

from siteupdates.domain import Decision, PolicyContext
from siteupdates.domain.policies import policy
from siteupdates.domain.timeutil import to_local
from siteupdates.hookspecs import hookimpl
from siteupdates.plugins import PolicyRegistry

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def frozen_days() -> frozenset[int]:
    """The frozen weekdays: $SITEUPDATES_FREEZE_DAYS (comma-separated), Friday by default."""
    names = os.environ.get("SITEUPDATES_FREEZE_DAYS", "friday").lower().split(",")
    return frozenset(DAYS.index(n.strip()) for n in names if n.strip() in DAYS)


@policy("FREEZE")
def freeze_weekdays(ctx: PolicyContext) -> Decision:
    """Refuse a start on a frozen weekday, in the requester's zone."""
    if ctx.start is None:
        return Decision.ok()
    day = to_local(ctx.start, ctx.zone).weekday()
    if day in frozen_days():
        return Decision.refuse(
            "FREEZE", f"no updates start on a {DAYS[day].capitalize()} (change freeze)"
        )
    return Decision.ok()


@hookimpl
def siteupdates_register_policies(registry: PolicyRegistry) -> None:
    """Add the freeze rule."""
    registry.register(freeze_weekdays)
