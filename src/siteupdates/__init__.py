"""siteupdates: update requests for hosted sites, from request to completion.

The pure domain lives in :mod:`siteupdates.domain`; this module re-exports the
names most hosts need.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from siteupdates.domain import (
    Actor,
    Ambiguity,
    Catalog,
    Contact,
    Decision,
    Event,
    Group,
    HistoryEntry,
    Plan,
    PlanRules,
    ProviderPreset,
    RequestDraft,
    Role,
    ScheduledTask,
    Site,
    SiteKind,
    Status,
    Target,
    Tenant,
    UpdateRequest,
    Version,
    WeeklyWindow,
    apply_event,
    evaluate,
    overview,
    request_list,
    to_instant,
)
from siteupdates.errors import SiteUpdatesError

try:
    __version__ = version("siteupdates")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "Actor",
    "Ambiguity",
    "Catalog",
    "Contact",
    "Decision",
    "Event",
    "Group",
    "HistoryEntry",
    "Plan",
    "PlanRules",
    "ProviderPreset",
    "RequestDraft",
    "Role",
    "ScheduledTask",
    "Site",
    "SiteKind",
    "Status",
    "Target",
    "Tenant",
    "UpdateRequest",
    "Version",
    "WeeklyWindow",
    "SiteUpdatesError",
    "__version__",
    "apply_event",
    "evaluate",
    "overview",
    "request_list",
    "to_instant",
]
