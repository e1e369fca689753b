"""The pure domain of siteupdates: values, lifecycle, policies, time and views.

Nothing here does I/O or knows about plugins; every function can be unit-tested
on its own with plain values.

The names load on first use (PEP 562): importing one module of the domain (or
``siteupdates.domain.model`` for the values alone) does not import the policies,
the planner's windows or the views, so a command that only reads pays for none
of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Tuple

if TYPE_CHECKING:
    from .lifecycle import (
        BOOKED,
        CLAIMABLE,
        DATED,
        OPEN,
        TERMINAL,
        TRANSITIONS,
        WAITING,
        Actor,
        Event,
        HistoryEntry,
        Transition,
        allowed_events,
        holds_date,
        submitted,
    )
    from .lifecycle import apply as apply_event
    from .model import (
        Advisory,
        Catalog,
        Contact,
        Group,
        Plan,
        Refusal,
        Role,
        ScheduledTask,
        Site,
        SiteKind,
        Status,
        Target,
        Tenant,
        UpdateRequest,
        Version,
    )
    from .policies import (
        DEFAULT_POLICIES,
        NOT_OVERRIDABLE,
        Decision,
        Override,
        Policy,
        PolicyContext,
        RequestDraft,
        check_submission,
        evaluate,
        may_cancel,
        may_delete,
        may_move,
        overlapping_tasks,
        queue_order,
        superseded_by,
    )
    from .preset import (
        DeferralRules,
        NoticeTiers,
        PlanRules,
        ProviderPreset,
        SchedulingRules,
        StagingRules,
    )
    from .timeutil import (
        Ambiguity,
        get_zone,
        to_instant,
        to_local,
    )
    from .views import (
        Overview,
        OverviewRow,
        overview,
        request_list,
    )
    from .windows import (
        Blackout,
        RecurringWindow,
        WeeklyWindow,
        WorkKind,
    )

#: Where each public name lives (module, and the name there when it differs).
_WHERE: Dict[str, Tuple[str, str]] = {
    "Actor": (".lifecycle", "Actor"),
    "Advisory": (".model", "Advisory"),
    "Ambiguity": (".timeutil", "Ambiguity"),
    "BOOKED": (".lifecycle", "BOOKED"),
    "Blackout": (".windows", "Blackout"),
    "CLAIMABLE": (".lifecycle", "CLAIMABLE"),
    "Catalog": (".model", "Catalog"),
    "Contact": (".model", "Contact"),
    "DATED": (".lifecycle", "DATED"),
    "DEFAULT_POLICIES": (".policies", "DEFAULT_POLICIES"),
    "Decision": (".policies", "Decision"),
    "DeferralRules": (".preset", "DeferralRules"),
    "Event": (".lifecycle", "Event"),
    "Group": (".model", "Group"),
    "HistoryEntry": (".lifecycle", "HistoryEntry"),
    "NOT_OVERRIDABLE": (".policies", "NOT_OVERRIDABLE"),
    "NoticeTiers": (".preset", "NoticeTiers"),
    "OPEN": (".lifecycle", "OPEN"),
    "Override": (".policies", "Override"),
    "Overview": (".views", "Overview"),
    "OverviewRow": (".views", "OverviewRow"),
    "Plan": (".model", "Plan"),
    "PlanRules": (".preset", "PlanRules"),
    "Policy": (".policies", "Policy"),
    "PolicyContext": (".policies", "PolicyContext"),
    "ProviderPreset": (".preset", "ProviderPreset"),
    "RecurringWindow": (".windows", "RecurringWindow"),
    "Refusal": (".model", "Refusal"),
    "RequestDraft": (".policies", "RequestDraft"),
    "Role": (".model", "Role"),
    "ScheduledTask": (".model", "ScheduledTask"),
    "SchedulingRules": (".preset", "SchedulingRules"),
    "Site": (".model", "Site"),
    "SiteKind": (".model", "SiteKind"),
    "StagingRules": (".preset", "StagingRules"),
    "Status": (".model", "Status"),
    "TERMINAL": (".lifecycle", "TERMINAL"),
    "TRANSITIONS": (".lifecycle", "TRANSITIONS"),
    "Target": (".model", "Target"),
    "Tenant": (".model", "Tenant"),
    "Transition": (".lifecycle", "Transition"),
    "UpdateRequest": (".model", "UpdateRequest"),
    "Version": (".model", "Version"),
    "WAITING": (".lifecycle", "WAITING"),
    "WeeklyWindow": (".windows", "WeeklyWindow"),
    "WorkKind": (".windows", "WorkKind"),
    "allowed_events": (".lifecycle", "allowed_events"),
    "apply_event": (".lifecycle", "apply"),
    "check_submission": (".policies", "check_submission"),
    "evaluate": (".policies", "evaluate"),
    "get_zone": (".timeutil", "get_zone"),
    "holds_date": (".lifecycle", "holds_date"),
    "may_cancel": (".policies", "may_cancel"),
    "may_delete": (".policies", "may_delete"),
    "may_move": (".policies", "may_move"),
    "overlapping_tasks": (".policies", "overlapping_tasks"),
    "overview": (".views", "overview"),
    "queue_order": (".policies", "queue_order"),
    "request_list": (".views", "request_list"),
    "submitted": (".lifecycle", "submitted"),
    "superseded_by": (".policies", "superseded_by"),
    "to_instant": (".timeutil", "to_instant"),
    "to_local": (".timeutil", "to_local"),
}


def __getattr__(name: str) -> Any:
    """Import a public name on first use, then keep it in the package."""
    try:
        module, attr = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module 'siteupdates.domain' has no attribute {name!r}") from None
    # __import__ rather than importlib: the domain imports nothing beyond its own needs.
    value = getattr(__import__(__name__ + module, fromlist=(attr,)), attr)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "BOOKED",
    "CLAIMABLE",
    "DATED",
    "DEFAULT_POLICIES",
    "NOT_OVERRIDABLE",
    "OPEN",
    "TERMINAL",
    "WAITING",
    "TRANSITIONS",
    "Actor",
    "Advisory",
    "Blackout",
    "Ambiguity",
    "Catalog",
    "Contact",
    "Decision",
    "DeferralRules",
    "Event",
    "Group",
    "HistoryEntry",
    "NoticeTiers",
    "Overview",
    "Override",
    "OverviewRow",
    "Plan",
    "PlanRules",
    "Policy",
    "PolicyContext",
    "RecurringWindow",
    "ProviderPreset",
    "Refusal",
    "RequestDraft",
    "Role",
    "SchedulingRules",
    "ScheduledTask",
    "Site",
    "SiteKind",
    "StagingRules",
    "Status",
    "Target",
    "Tenant",
    "Transition",
    "UpdateRequest",
    "Version",
    "WeeklyWindow",
    "WorkKind",
    "allowed_events",
    "apply_event",
    "check_submission",
    "evaluate",
    "get_zone",
    "holds_date",
    "may_cancel",
    "may_delete",
    "may_move",
    "overlapping_tasks",
    "overview",
    "queue_order",
    "request_list",
    "submitted",
    "superseded_by",
    "to_instant",
    "to_local",
]
