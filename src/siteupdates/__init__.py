"""siteupdates: update requests for hosted sites, from request to completion.

The pure domain lives in :mod:`siteupdates.domain`; the use cases in
:mod:`siteupdates.app`, gathered as methods of :class:`Desk`; plugins meet the
library through :class:`PluginHost` and :data:`hookimpl`; storage plugins build
on :mod:`siteupdates.sql`. This module re-exports the names most hosts need.

The names load on first use (PEP 562): ``import siteupdates`` costs little, and
a program that uses the domain alone never imports the application layer. The
version is read from the installed metadata when asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

if TYPE_CHECKING:
    from siteupdates.app.bootstrap import App, bootstrap
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


#: The installed distribution's version (one place: ``pyproject.toml``), read from
#: the metadata on first use (a bare annotation: :func:`__getattr__` supplies it).
__version__: str

#: Where each public name lives; :func:`__getattr__` imports it on first use.
_WHERE: Dict[str, str] = {
    **dict.fromkeys(("App", "bootstrap"), "siteupdates.app"),
    "Submission": "siteupdates.app.contact",
    "SetupReport": "siteupdates.app.reference",
    **dict.fromkeys(
        (
            "Actor", "Ambiguity", "Catalog", "Contact", "Decision", "Event", "Group",
            "HistoryEntry", "Plan", "PlanRules", "ProviderPreset", "RequestDraft", "Role",
            "ScheduledTask", "Site", "SiteKind", "Status", "Target", "Tenant", "UpdateRequest",
            "Version", "WeeklyWindow", "apply_event", "evaluate", "overview", "request_list",
            "to_instant",
        ),
        "siteupdates.domain",
    ),
    "SiteUpdatesError": "siteupdates.errors",
    "hookimpl": "siteupdates.hookspecs",
    "PluginHost": "siteupdates.plugins",
    **dict.fromkeys(("AuditEntry", "Setup", "Storage", "Unit"), "siteupdates.ports"),
    "Desk": "siteupdates.service",
    **dict.fromkeys(("load_setup", "setup_from_dict"), "siteupdates.setupfile"),
}  # fmt: skip


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("siteupdates")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def __getattr__(name: str) -> Any:
    """Import a public name on first use, then keep it in the module."""
    if name == "__version__":
        value: Any = _version()
    elif name in _WHERE:
        import importlib

        value = getattr(importlib.import_module(_WHERE[name]), name)
    else:
        raise AttributeError(f"module 'siteupdates' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))


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
