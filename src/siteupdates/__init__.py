"""siteupdates: update requests for hosted sites, from request to completion.

The pure domain lives in :mod:`siteupdates.domain`; the use cases in
:class:`Desk`; plugins meet the library through :class:`PluginHost` and
:data:`hookimpl`. This module re-exports the names most hosts need.
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
from siteupdates.hookspecs import hookimpl
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk

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
    "Desk",
    "Event",
    "Group",
    "HistoryEntry",
    "Plan",
    "PlanRules",
    "PluginHost",
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
    "hookimpl",
    "overview",
    "request_list",
    "to_instant",
]
