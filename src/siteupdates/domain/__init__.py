"""The pure domain of siteupdates: values, lifecycle, policies, time and views.

Nothing here does I/O or knows about plugins; every function can be unit-tested
on its own with plain values.
"""

from .lifecycle import (
    TERMINAL,
    TRANSITIONS,
    Actor,
    Event,
    HistoryEntry,
    Transition,
    allowed_events,
    submitted,
)
from .lifecycle import apply as apply_event
from .model import (
    Catalog,
    Contact,
    Group,
    Plan,
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
    Advisory,
    Decision,
    Policy,
    PolicyContext,
    Refusal,
    RequestDraft,
    check_submission,
    evaluate,
    may_cancel,
    may_delete,
    overlapping_tasks,
    queue_order,
    superseded_by,
)
from .preset import PlanRules, ProviderPreset
from .timeutil import Ambiguity, get_zone, to_instant, to_local
from .views import Overview, OverviewRow, overview, request_list
from .windows import WeeklyWindow

__all__ = [
    "DEFAULT_POLICIES",
    "TERMINAL",
    "TRANSITIONS",
    "Actor",
    "Advisory",
    "Ambiguity",
    "Catalog",
    "Contact",
    "Decision",
    "Event",
    "Group",
    "HistoryEntry",
    "Overview",
    "OverviewRow",
    "Plan",
    "PlanRules",
    "Policy",
    "PolicyContext",
    "ProviderPreset",
    "Refusal",
    "RequestDraft",
    "Role",
    "ScheduledTask",
    "Site",
    "SiteKind",
    "Status",
    "Target",
    "Tenant",
    "Transition",
    "UpdateRequest",
    "Version",
    "WeeklyWindow",
    "allowed_events",
    "apply_event",
    "check_submission",
    "evaluate",
    "get_zone",
    "may_cancel",
    "may_delete",
    "overlapping_tasks",
    "overview",
    "queue_order",
    "request_list",
    "submitted",
    "superseded_by",
    "to_instant",
    "to_local",
]
