"""The rules a request must pass, each a pure, separately testable policy.

A policy takes a :class:`PolicyContext` and returns a :class:`Decision`: allowed,
or refused with the rule's ID and a message a contact understands, plus any
warnings. :func:`evaluate` runs a set of policies and returns every refusal at
once. R22 (access) runs first; when it refuses, nothing else is evaluated so the
answer reveals nothing about a tenant the contact cannot see.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Callable, Iterable, Optional, Sequence, Tuple

import attrs

from siteupdates.errors import AccessDenied, RequestRefused, SiteUpdatesError

from .lifecycle import OPEN, WAITING, allowed_events
from .lifecycle import Event as _Event
from .model import (
    Catalog,
    Contact,
    ScheduledTask,
    SiteKind,
    Status,
    Target,
    Tenant,
    UpdateRequest,
    Version,
    _target,
    _version_or_none,
)
from .preset import ProviderPreset
from .timeutil import Ambiguity, local_fields, to_instant
from .windows import resolve_local

__all__ = [
    "DEFAULT_POLICIES",
    "Advisory",
    "Decision",
    "Policy",
    "PolicyContext",
    "Refusal",
    "RequestDraft",
    "check_submission",
    "evaluate",
    "may_cancel",
    "may_delete",
    "overlapping_tasks",
    "queue_order",
    "superseded_by",
]


@attrs.frozen
class Refusal:
    """Why a rule refuses: the rule's ID, a message for the contact, and what to do instead."""

    rule: str
    message: str
    suggestion: Optional[str] = None


@attrs.frozen
class Advisory:
    """A warning that does not refuse the request (R8's maintenance, R14's tasks)."""

    rule: str
    message: str


@attrs.frozen
class Decision:
    """The outcome of one or more policies."""

    refusals: Tuple[Refusal, ...] = ()
    warnings: Tuple[Advisory, ...] = ()

    @property
    def allowed(self) -> bool:
        """True when no policy refused."""
        return not self.refusals

    @classmethod
    def ok(cls, *warnings: Advisory) -> Decision:
        """An allowed decision, with optional warnings."""
        return cls((), tuple(warnings))

    @classmethod
    def refuse(cls, rule: str, message: str, suggestion: Optional[str] = None) -> Decision:
        """A refusal by ``rule``."""
        return cls((Refusal(rule, message, suggestion),), ())

    def __add__(self, other: Decision) -> Decision:
        return Decision(self.refusals + other.refusals, self.warnings + other.warnings)


@attrs.frozen
class RequestDraft:
    """What a contact asks for, before it becomes a request.

    ``local_start`` is a naive wall-clock time read in ``zone`` (the contact's
    zone when None, then the provider's default). ``version`` None means DB refresh only.
    """

    tenant_id: str
    target: Target = attrs.field(converter=_target)
    version: Optional[Version] = attrs.field(default=None, converter=_version_or_none)
    db_refresh: bool = False
    local_start: Optional[datetime] = None
    zone: Optional[str] = None
    ambiguity: Ambiguity = Ambiguity.EARLIER


@attrs.frozen
class PolicyContext:
    """Everything a policy may look at. Build it with :meth:`build`."""

    contact: Contact
    tenant: Tenant
    draft: RequestDraft
    catalog: Catalog
    preset: ProviderPreset
    now: datetime
    open_requests: Tuple[UpdateRequest, ...] = ()
    zone: str = "UTC"
    start: Optional[datetime] = None
    start_error: Optional[str] = None

    @classmethod
    def build(
        cls,
        *,
        contact: Contact,
        tenant: Tenant,
        draft: RequestDraft,
        catalog: Catalog,
        preset: ProviderPreset,
        now: datetime,
        open_requests: Iterable[UpdateRequest] = (),
    ) -> PolicyContext:
        """Resolve the requester's zone and the preferred start instant (R12)."""
        zone = draft.zone or contact.zone or preset.default_zone
        start: Optional[datetime] = None
        error: Optional[str] = None
        if draft.local_start is None:
            error = "a preferred date and time is required"
        else:
            try:
                start = to_instant(draft.local_start, zone, draft.ambiguity)
            except SiteUpdatesError as exc:
                error = str(exc)
        return cls(
            contact=contact,
            tenant=tenant,
            draft=draft,
            catalog=catalog,
            preset=preset,
            now=now,
            open_requests=tuple(r for r in open_requests if r.tenant_id == tenant.id),
            zone=zone,
            start=start,
            start_error=error,
        )


@attrs.frozen
class Policy:
    """A named rule check; ``rule`` is its SPEC ID and ``name`` the name to block it by."""

    rule: str
    name: str
    check: Callable[[PolicyContext], Decision]

    def __call__(self, ctx: PolicyContext) -> Decision:
        """Run the check."""
        return self.check(ctx)


def policy(rule: str) -> Callable[[Callable[[PolicyContext], Decision]], Policy]:
    """Decorate a check function as the policy of ``rule``."""

    def wrap(fn: Callable[[PolicyContext], Decision]) -> Policy:
        return Policy(rule, fn.__name__, fn)

    return wrap


# -- Access -------------------------------------------------------------------


@policy("R22")
def r22_contact_sees_tenant(ctx: PolicyContext) -> Decision:
    """A contact acts only on the tenants connected to them."""
    if ctx.contact.sees(ctx.tenant.id):
        return Decision.ok()
    return Decision.refuse("R22", "no such tenant among the tenants connected to you")


# -- Sites --------------------------------------------------------------------


@policy("R3")
def r3_site_exists(ctx: PolicyContext) -> Decision:
    """A request for a site kind the tenant does not have is refused."""
    target = ctx.draft.target
    needed = {target.main_site}
    if ctx.draft.db_refresh:
        needed.add(target.refresh_site)
    missing = sorted(k.value for k in needed if k not in ctx.tenant.kinds)
    if not missing:
        return Decision.ok()
    have = ", ".join(sorted(k.value for k in ctx.tenant.kinds)) or "none"
    return Decision.refuse(
        "R3",
        f"{ctx.tenant.name} has no {' or '.join(missing)} site (its sites: {have})",
    )


@policy("R4")
def r4_refresh_copies_production(ctx: PolicyContext) -> Decision:
    """A DB refresh copies production's data; production itself is never refreshed."""
    if not ctx.draft.db_refresh:
        return Decision.ok()
    if SiteKind.PRODUCTION not in ctx.tenant.kinds:
        return Decision.refuse(
            "R4", "a DB refresh copies production's data, and this tenant has no production site"
        )
    return Decision.ok()


# -- Versions -----------------------------------------------------------------


@policy("R5")
def r5_latest_pack_only(ctx: PolicyContext) -> Decision:
    """Only the most recent pack of a release may be chosen."""
    v = ctx.draft.version
    if v is None:
        return Decision.ok()
    latest = ctx.catalog.latest_pack(v)
    if latest is None or latest == v:
        return Decision.ok()
    return Decision.refuse(
        "R5",
        f"{v} is not the most recent update of release {v.line}.{v.release}; "
        f"choose {latest}, which contains every pack before it",
        suggestion=str(latest),
    )


@policy("R6")
def r6_asks_for_something(ctx: PolicyContext) -> Decision:
    """DB refresh only needs DB refresh = yes; a request must ask for something."""
    if ctx.draft.version is None and not ctx.draft.db_refresh:
        return Decision.refuse(
            "R6",
            "DB refresh only needs DB refresh set to yes; choose a version or set DB refresh",
        )
    return Decision.ok()


@policy("R7")
def r7_offered_and_not_older(ctx: PolicyContext) -> Decision:
    """A version must be in the catalog and not older than what the site runs."""
    v = ctx.draft.version
    if v is None:
        return Decision.ok()
    if not ctx.catalog.offers(v):
        offered = ", ".join(str(x) for x in ctx.catalog.choosable()) or "none"
        return Decision.refuse("R7", f"{v} is not offered; versions offered: {offered}")
    site = ctx.tenant.site(ctx.draft.target.main_site)
    if site is None:
        return Decision.ok()  # R3 speaks for a missing site
    if site.version.line != v.line:
        return Decision.refuse(
            "R7",
            f"{ctx.draft.target.main_site.value} runs line {site.version.line} "
            f"({site.version}); choose a version of line {site.version.line}",
        )
    if v < site.version:
        return Decision.refuse(
            "R7",
            f"{ctx.draft.target.main_site.value} already runs {site.version}, "
            f"newer than {v}; choose {site.version} or later",
        )
    if v == site.version and not ctx.draft.db_refresh:
        return Decision.refuse(
            "R7",
            f"{ctx.draft.target.main_site.value} already runs {v}; "
            "choose a newer version, or DB refresh only",
        )
    return Decision.ok()


# -- Plans and groups -------------------------------------------------------------


@policy("R8")
def r8_weekly_maintenance(ctx: PolicyContext) -> Decision:
    """Warn when a tenant updated weekly asks for a time inside the maintenance window."""
    if ctx.start is None or not ctx.preset.rules_for(ctx.tenant.plan).automatic_weekly_update:
        return Decision.ok()
    window = ctx.preset.maintenance_window
    if window.contains(ctx.start):
        return Decision.ok(
            Advisory(
                "R8",
                f"the requested time falls in the weekly maintenance window ({window}), "
                "when the automatic update runs and every service is unavailable",
            )
        )
    return Decision.ok()


@policy("R9")
def r9_cloud_production_refresh_only(ctx: PolicyContext) -> Decision:
    """For cloud tenants production/sandbox may only be a DB refresh."""
    rules = ctx.preset.rules_for(ctx.tenant.plan)
    d = ctx.draft
    if not rules.production_refresh_only or d.target is not Target.PRODUCTION_SANDBOX:
        return Decision.ok()
    if d.version is not None or not d.db_refresh:
        return Decision.refuse(
            "R9",
            f"{ctx.tenant.name} is on the {ctx.tenant.plan.value} plan and updated to the "
            "newest version every week; production/sandbox may only be a DB refresh",
            suggestion="db refresh only",
        )
    return Decision.ok()


@policy("R10")
def r10_groups_update_together(ctx: PolicyContext) -> Decision:
    """Tenants linked to a group may request DB refreshes, not version updates."""
    if ctx.tenant.group_id is None or ctx.draft.version is None:
        return Decision.ok()
    return Decision.refuse(
        "R10",
        f"{ctx.tenant.name} is updated with its group ({ctx.tenant.group_id}); "
        "it may request DB refreshes only",
        suggestion="db refresh only",
    )


# -- Time -----------------------------------------------------------------------


@policy("R12")
def r12_start_in_requester_zone(ctx: PolicyContext) -> Decision:
    """The preferred start must exist in the requester's zone and lie in the future."""
    if ctx.start_error is not None:
        return Decision.refuse("R12", ctx.start_error)
    assert ctx.start is not None
    if ctx.start <= ctx.now:
        shown = local_fields(ctx.now, ctx.zone)
        return Decision.refuse(
            "R12",
            f"the preferred start has passed; choose a time after {shown:%Y-%m-%d %H:%M} "
            f"({ctx.zone})",
        )
    return Decision.ok()


def overlapping_tasks(
    tasks: Sequence[ScheduledTask], start: datetime, duration: timedelta
) -> Tuple[ScheduledTask, ...]:
    """The tasks that would run, or still be running, during ``[start, start + duration)``."""
    end = start + duration
    hits = []
    for task in tasks:
        run = timedelta(minutes=task.duration_minutes)
        first = local_fields(start - run, task.zone).date() - timedelta(days=1)
        last = local_fields(end, task.zone).date() + timedelta(days=1)
        day: date = first
        while day <= last:
            if task.weekday is None or day.weekday() == task.weekday:
                t0 = resolve_local(datetime.combine(day, task.at), task.zone)
                if t0 < end and t0 + run > start:
                    hits.append(task)
                    break
            day += timedelta(days=1)
    return tuple(hits)


@policy("R14")
def r14_scheduled_tasks(ctx: PolicyContext) -> Decision:
    """Warn, naming them, about scheduled tasks that the update would interrupt."""
    if ctx.start is None or not ctx.tenant.tasks:
        return Decision.ok()
    hits = overlapping_tasks(ctx.tenant.tasks, ctx.start, ctx.preset.update_duration)
    return Decision.ok(
        *(
            Advisory(
                "R14",
                f"scheduled task {t.name!r} would run during the update and will not "
                "complete; it runs again at its next set time",
            )
            for t in hits
        )
    )


# -- Lifecycle --------------------------------------------------------------------


def superseded_by(
    version: Optional[Version], target: Target, open_requests: Iterable[UpdateRequest]
) -> Tuple[UpdateRequest, ...]:
    """The open requests for ``target`` that a request for ``version`` supersedes (R17)."""
    if version is None:
        return ()
    return tuple(
        r
        for r in open_requests
        if r.target is target
        and r.status in WAITING
        and r.version is not None
        and r.version.line == version.line
        and r.version < version
    )


def blocking_version_update(
    version: Optional[Version], target: Target, open_requests: Iterable[UpdateRequest]
) -> Optional[UpdateRequest]:
    """An open version update of ``target`` that a request for ``version`` may not replace.

    One site has at most one open version update (R17), and the store enforces it:
    a newer version supersedes an older waiting one; anything else (an equal or
    newer version, another release line, an update already pulled or running)
    stands, and the new request is refused.
    """
    if version is None:
        return None
    replaceable = set(map(id, superseded_by(version, target, open_requests)))
    for r in open_requests:
        if (
            r.target is target
            and r.version is not None
            and r.status in OPEN
            and id(r) not in replaceable
        ):
            return r
    return None


@policy("R17")
def r17_newer_version_supersedes(ctx: PolicyContext) -> Decision:
    """A newer version supersedes an older open request; any other open one is kept."""
    v = ctx.draft.version
    if v is None:
        return Decision.ok()
    stands = blocking_version_update(v, ctx.draft.target, ctx.open_requests)
    if stands is not None:
        assert stands.version is not None
        if stands.status in WAITING and stands.version.line == v.line:
            why = f"request {stands.id} for {stands.version} is already open"
            fix = f"cancel it first to ask for {v}"
        elif stands.status in WAITING:
            why = f"request {stands.id} for {stands.version} (another release line) is open"
            fix = f"cancel it first to ask for {v}"
        else:
            why = f"request {stands.id} for {stands.version} is {stands.status.label}"
            fix = f"ask for {v} once it has finished"
        return Decision.refuse(
            "R17", f"{why} for {ctx.draft.target.value}; a site has one open version update: {fix}"
        )
    older = superseded_by(v, ctx.draft.target, ctx.open_requests)
    return Decision.ok(
        *(
            Advisory("R17", f"request {r.id} for {r.version} becomes New Version Requested")
            for r in older
        )
    )


def may_cancel(request: UpdateRequest) -> Decision:
    """R16: only To Be Scheduled and Scheduled requests may be cancelled."""
    if _Event.CANCEL in allowed_events(request.status):
        return Decision.ok()
    return Decision.refuse(
        "R16",
        f"request {request.id} is {request.status.label}; only To Be Scheduled or "
        "Scheduled requests can be cancelled",
    )


def may_delete(request: UpdateRequest) -> Decision:
    """R18: only completed requests may be deleted."""
    if request.status is Status.COMPLETED:
        return Decision.ok()
    return Decision.refuse(
        "R18",
        f"request {request.id} is {request.status.label}; only Completed requests can be "
        "deleted (cancel an open one instead)",
    )


def queue_order(requests: Iterable[UpdateRequest]) -> Tuple[UpdateRequest, ...]:
    """R13: the provider's queue, first come first served (submission time, then ID)."""
    return tuple(
        sorted(
            (r for r in requests if r.status is Status.TO_BE_SCHEDULED),
            key=lambda r: (r.requested_at, r.id),
        )
    )


#: Every built-in submission policy, in evaluation order (R22 first).
DEFAULT_POLICIES: Tuple[Policy, ...] = (
    r22_contact_sees_tenant,
    r3_site_exists,
    r4_refresh_copies_production,
    r5_latest_pack_only,
    r6_asks_for_something,
    r7_offered_and_not_older,
    r8_weekly_maintenance,
    r9_cloud_production_refresh_only,
    r10_groups_update_together,
    r12_start_in_requester_zone,
    r14_scheduled_tasks,
    r17_newer_version_supersedes,
)


def evaluate(ctx: PolicyContext, policies: Sequence[Policy] = DEFAULT_POLICIES) -> Decision:
    """Run every policy and return every refusal and warning at once.

    Access (R22) is checked first and alone: its refusal hides every other answer.
    """
    access = r22_contact_sees_tenant(ctx)
    if not access.allowed:
        return access
    result = Decision()
    for p in policies:
        if p is r22_contact_sees_tenant:
            continue
        result = result + p(ctx)
    return result


def check_submission(
    ctx: PolicyContext, policies: Sequence[Policy] = DEFAULT_POLICIES
) -> Decision:
    """Like :func:`evaluate` but raise: AccessDenied for R22, RequestRefused for the rest."""
    decision = evaluate(ctx, policies)
    if decision.refusals and decision.refusals[0].rule == "R22":
        raise AccessDenied(decision.refusals[0].message)
    if decision.refusals:
        raise RequestRefused(decision.refusals)
    return decision
