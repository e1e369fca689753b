"""siteupdates: update requests for hosted sites, from request to completion.

The pure domain lives in :mod:`siteupdates.domain`; the use cases in
:mod:`siteupdates.app`, gathered as methods of :class:`Desk`; plugins meet the
library through :class:`PluginHost` and :data:`hookimpl`; storage plugins build
on :mod:`siteupdates.sql`. This module re-exports the names most hosts need.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from siteupdates.app import App, bootstrap
from siteupdates.app.contact import Submission
from siteupdates.app.reference import SetupReport
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
from siteupdates.ports import AuditEntry, Setup, Storage, Unit
from siteupdates.service import Desk
from siteupdates.setupfile import load_setup, setup_from_dict

try:
    __version__ = version("siteupdates")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "Actor",
    "App",
    "Ambiguity",
    "AuditEntry",
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
    "Setup",
    "SetupReport",
    "Site",
    "SiteKind",
    "Status",
    "Storage",
    "Submission",
    "Target",
    "Tenant",
    "Unit",
    "UpdateRequest",
    "Version",
    "WeeklyWindow",
    "SiteUpdatesError",
    "__version__",
    "apply_event",
    "bootstrap",
    "evaluate",
    "hookimpl",
    "load_setup",
    "overview",
    "request_list",
    "setup_from_dict",
    "to_instant",
]
