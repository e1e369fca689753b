"""The rules a request must pass, each a pure, separately testable policy.

A policy takes a :class:`PolicyContext` and returns a :class:`Decision`: allowed,
or refused with the rule's ID and a message a contact understands, plus any
warnings. :func:`evaluate` runs a set of policies and returns every refusal at
once. R22 (access) runs first; when it refuses, nothing else is evaluated so the
answer reveals nothing about a tenant the contact cannot see.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

import attrs

from siteupdates.errors import (
    AccessDenied,
    InvalidInput,
    NonexistentLocalTime,
    RequestRefused,
    SiteUpdatesError,
    UnknownName,
    WrongType,
)
from siteupdates.i18n import N_
from siteupdates.refusal import Listing, Phrase

from .daycount import days_later, within_days
from .lifecycle import OPEN, WAITING, allowed_events
from .lifecycle import Event as _Event
from .model import (
    Advisory,
    Catalog,
    Contact,
    Refusal,
    ScheduledTask,
    SiteKind,
    Status,
    Target,
    Tenant,
    UpdateRequest,
    Version,
    optional_version,
)
from .timeutil import Ambiguity, local_fields, stamp, to_instant, to_local
from .views import format_clock, format_day

if TYPE_CHECKING:
    from .preset import ProviderPreset

__all__ = [
    "CUTOFF",
    "DEFAULT_POLICIES",
    "NOT_OVERRIDABLE",
    "REFRESH_INTERVAL",
    "Advisory",
    "Decision",
    "Override",
    "Policy",
    "PolicyContext",
    "Refusal",
    "RequestDraft",
    "apply_override",
    "check_submission",
    "evaluate",
    "may_cancel",
    "may_delete",
    "may_move",
    "overlapping_tasks",
    "queue_order",
    "refresh_preset",
    "superseded_by",
    "target_refusals",
]

#: The rule ID of the contact's reschedule cut-off (a provider setting, not in the SPEC).
CUTOFF = "CUTOFF"
#: The rule ID of the refresh interval limits (a provider setting, off by default).
REFRESH_INTERVAL = "REFRESH-INTERVAL"
#: Rules a provider can never override: access (R22) and the structural rules, without
#: which there is no request to run (R1, R2, R3, R4, R6, R12) or which the store
#: itself enforces (R17, one open version update per site).
NOT_OVERRIDABLE = frozenset({"R1", "R2", "R3", "R4", "R6", "R12", "R17", "R22"})


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
        if not warnings and cls is Decision:
            return _ALLOWED  # most checks pass without a word: one shared value
        return cls((), tuple(warnings))

    @classmethod
    def refuse(
        cls,
        rule: str,
        message: str,
        suggestion: Optional[str] = None,
        *,
        template: Optional[str] = None,
        params: Optional[Mapping[str, object]] = None,
    ) -> Decision:
        """A refusal by ``rule``; ``template`` and ``params`` let it be shown in any language."""
        return cls((Refusal(rule, message, suggestion, template, params or {}),), ())

    def __add__(self, other: Decision) -> Decision:
        return Decision(self.refusals + other.refusals, self.warnings + other.warnings)


#: What Decision.ok() gives: the rules below return it directly (one call fewer each).
_ALLOWED = Decision()

_START_REQUIRED = N_("a preferred date and time is required")
_CANCEL_FIRST = N_("cancel it first to ask for %(new)s")
#: Where a list of things is empty: the word, translated where it is shown.
_NONE = Phrase(N_("none"))


def _value_of(kind: SiteKind) -> str:
    return kind.value


def _either(kinds: Sequence[SiteKind]) -> object:
    """One site, or two joined by "or" (a request needs at most two sites)."""
    if len(kinds) == 1:
        return kinds[0]
    return Phrase(N_("%(first)s or %(second)s"), {"first": kinds[0], "second": kinds[1]})


def _local(instant: datetime, zone: str) -> datetime:
    """``instant`` in ``zone``: a refusal's date, written the reader's way where shown."""
    return to_local(instant, zone)


def target_refusals(
    kind: SiteKind, version: Optional[object], db_refresh: Optional[bool]
) -> Tuple[Refusal, ...]:
    """Why a site kind that is no target (``sandbox``, ``production``) cannot be asked for.

    R2 for a version update of the sandbox alone, R1 for a refresh asked as
    ``sandbox`` or a version update of production without its sandbox, R4 for a
    refresh of production.
    """
    pair = Target.PRODUCTION_SANDBOX.value
    if kind is SiteKind.SANDBOX:
        if version is not None:
            return (
                Refusal(
                    "R2",
                    "no version update targets the sandbox alone: it runs production's "
                    f"version; choose {pair}",
                    suggestion=pair,
                    template=N_(
                        "no version update targets the sandbox alone: it runs production's "
                        "version; choose %(pair)s"
                    ),
                    params={"pair": Target.PRODUCTION_SANDBOX},
                ),
            )
        return (
            Refusal(
                "R1",
                f"the sandbox is asked for through {pair}: choose {pair} with DB refresh only "
                "to copy production's data into it",
                suggestion=pair,
                template=N_(
                    "the sandbox is asked for through %(pair)s: choose %(pair)s with DB refresh "
                    "only to copy production's data into it"
                ),
                params={"pair": Target.PRODUCTION_SANDBOX},
            ),
        )
    found = []
    if version is not None or not db_refresh:
        found.append(
            Refusal(
                "R1",
                f"production is always updated together with its sandbox; choose {pair}",
                suggestion=pair,
                template=N_(
                    "production is always updated together with its sandbox; choose %(pair)s"
                ),
                params={"pair": Target.PRODUCTION_SANDBOX},
            )
        )
    if db_refresh:
        found.append(
            Refusal(
                "R4",
                "production is the source of every DB refresh and is never refreshed; "
                f"choose the site to copy its data into ({pair} for the sandbox, staging "
                "or preview)",
                template=N_(
                    "production is the source of every DB refresh and is never refreshed; "
                    "choose the site to copy its data into (%(pair)s for the sandbox, staging "
                    "or preview)"
                ),
                params={"pair": Target.PRODUCTION_SANDBOX},
            )
        )
    return tuple(found)


def _draft_target(value: object) -> Target:
    try:
        return Target.parse(value)  # type: ignore[no-any-return]
    except UnknownName as unknown:
        try:
            kind = SiteKind.parse(value)
        except UnknownName:
            raise unknown from None  # a typo (``prod``) stays bad input
        return kind  # type: ignore[no-any-return]  # refused by RequestDraft, below


def _refresh_flag(value: object) -> Optional[bool]:
    if value is None or isinstance(value, bool):
        return value
    raise WrongType("db_refresh", value, "True (yes), False (no) or None (not given)")


@attrs.frozen
class RequestDraft:
    """What a contact asks for, before it becomes a request.

    ``local_start`` is a naive wall-clock time read in ``zone`` (the contact's
    zone when None, then the provider's default). ``version`` None means DB refresh only.
    ``db_refresh`` is yes (True), no (False) or not given (None): not given takes
    the plan's preset, yes for a cloud tenant's production/sandbox request (R9).

    A site kind that is no target refuses at once, with every rule it breaks
    (:func:`target_refusals`: R1, R2, R4): a RequestRefused, like every refusal.
    An unknown word (``prod``) is an UnknownName, bad input.
    """

    tenant_id: str
    target: Target = attrs.field(converter=_draft_target)
    version: Optional[Version] = attrs.field(default=None, converter=optional_version)
    db_refresh: Optional[bool] = attrs.field(default=None, converter=_refresh_flag)
    local_start: Optional[datetime] = None
    zone: Optional[str] = None
    ambiguity: Ambiguity = Ambiguity.EARLIER

    def __attrs_post_init__(self) -> None:
        kind: object = self.target
        if isinstance(kind, SiteKind):
            raise RequestRefused(target_refusals(kind, self.version, self.db_refresh))


def refresh_preset(tenant: Tenant, target: Target, preset: ProviderPreset) -> bool:
    """DB refresh when not given: yes for a production/sandbox request under R9, else no."""
    return (
        preset.rules_for(tenant.plan).production_refresh_only
        and target is Target.PRODUCTION_SANDBOX
    )


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
    open_refreshes: Tuple[UpdateRequest, ...] = ()
    #: A start in a spring-forward gap: the local time asked for and the gap's bounds.
    start_gap: Optional[Tuple[datetime, datetime, datetime]] = None

    @property
    def db_refresh(self) -> bool:
        """Whether the request refreshes a database (the draft's value, preset resolved)."""
        return bool(self.draft.db_refresh)

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
        open_refreshes: Iterable[UpdateRequest] = (),
    ) -> PolicyContext:
        """Resolve the requester's zone, the preferred start instant (R12) and DB refresh.

        A DB refresh not given (None) becomes the plan's preset (R9).
        ``open_refreshes`` are the tenant's open DB refreshes of the site the
        draft refreshes (read only when a refresh interval applies).
        """
        if draft.db_refresh is None:
            draft = attrs.evolve(draft, db_refresh=refresh_preset(tenant, draft.target, preset))
        zone = draft.zone or contact.zone or preset.default_zone
        start: Optional[datetime] = None
        error: Optional[str] = None
        gap: Optional[Tuple[datetime, datetime, datetime]] = None
        if draft.local_start is None:
            error = _START_REQUIRED
        else:
            try:
                start = to_instant(draft.local_start, zone, draft.ambiguity)
            except NonexistentLocalTime as exc:
                error = str(exc)
                gap = (draft.local_start, exc.gap_start, exc.gap_end)
            except SiteUpdatesError as exc:
                error = str(exc)
        return cls(
            contact=contact,
            tenant=tenant,
            draft=draft,
            catalog=catalog,
            preset=preset,
            now=now,
            # Most submits have neither: no generator for an empty tuple or list.
            open_requests=tuple(r for r in open_requests if r.tenant_id == tenant.id)
            if open_requests
            else (),
            zone=zone,
            start=start,
            start_error=error,
            start_gap=gap,
            open_refreshes=tuple(r for r in open_refreshes if r.tenant_id == tenant.id)
            if open_refreshes
            else (),
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
        return _ALLOWED
    return Decision.refuse(
        "R22",
        "no such tenant among the tenants connected to you",
        template=N_("no such tenant among the tenants connected to you"),
    )


# -- Sites --------------------------------------------------------------------


@policy("R3")
def r3_site_exists(ctx: PolicyContext) -> Decision:
    """A request for a site kind the tenant does not have is refused."""
    target = ctx.draft.target
    kinds = ctx.tenant.kinds
    if target.main_site in kinds and (not ctx.db_refresh or target.refresh_site in kinds):
        return _ALLOWED  # every submit passes here: no set, no sort
    needed = {target.main_site}
    if ctx.db_refresh:
        needed.add(target.refresh_site)
    missing = sorted(k.value for k in needed if k not in kinds)
    if not missing:
        return _ALLOWED
    have = ", ".join(sorted(k.value for k in ctx.tenant.kinds)) or "none"
    return Decision.refuse(
        "R3",
        f"{ctx.tenant.name} has no {' or '.join(missing)} site (its sites: {have})",
        template=N_("%(tenant)s has no %(missing)s site (its sites: %(have)s)"),
        params={
            "tenant": ctx.tenant.name,
            "missing": _either(sorted((k for k in needed if k not in kinds), key=_value_of)),
            "have": Listing(tuple(sorted(kinds, key=_value_of))) if kinds else _NONE,
        },
    )


@policy("R4")
def r4_refresh_copies_production(ctx: PolicyContext) -> Decision:
    """A DB refresh copies production's data; production itself is never refreshed."""
    if not ctx.db_refresh:
        return _ALLOWED
    if SiteKind.PRODUCTION not in ctx.tenant.kinds:
        return Decision.refuse(
            "R4",
            "a DB refresh copies production's data, and this tenant has no production site",
            template=N_(
                "a DB refresh copies production's data, and this tenant has no production site"
            ),
        )
    return _ALLOWED


# -- Versions -----------------------------------------------------------------


@policy("R5")
def r5_latest_pack_only(ctx: PolicyContext) -> Decision:
    """Only the most recent pack of a release may be chosen."""
    v = ctx.draft.version
    if v is None:
        return _ALLOWED
    latest = ctx.catalog.latest_pack(v)
    if latest is None or latest == v:
        return _ALLOWED
    return Decision.refuse(
        "R5",
        f"{v} is not the most recent update of release {v.line}.{v.release}; "
        f"choose {latest}, which contains every pack before it",
        suggestion=str(latest),
        template=N_(
            "%(version)s is not the most recent update of release %(release)s; "
            "choose %(latest)s, which contains every pack before it"
        ),
        params={"version": v, "release": f"{v.line}.{v.release}", "latest": latest},
    )


@policy("R6")
def r6_asks_for_something(ctx: PolicyContext) -> Decision:
    """DB refresh only needs DB refresh = yes; a request must ask for something."""
    if ctx.draft.version is None and not ctx.db_refresh:
        return Decision.refuse(
            "R6",
            "DB refresh only needs DB refresh set to yes; choose a version or set DB refresh",
            template=N_(
                "DB refresh only needs DB refresh set to yes; choose a version or set DB refresh"
            ),
        )
    return _ALLOWED


@policy("R7")
def r7_offered_and_not_older(ctx: PolicyContext) -> Decision:
    """A version must be in the catalog and not older than what the site runs."""
    v = ctx.draft.version
    if v is None:
        return _ALLOWED
    if not ctx.catalog.offers(v):
        choosable = ctx.catalog.choosable()
        offered = ", ".join(str(x) for x in choosable) or "none"
        return Decision.refuse(
            "R7",
            f"{v} is not offered; versions offered: {offered}",
            template=N_("%(version)s is not offered; versions offered: %(offered)s"),
            params={"version": v, "offered": Listing(tuple(choosable)) if choosable else _NONE},
        )
    site = ctx.tenant.site(ctx.draft.target.main_site)
    if site is None:
        return Decision.ok()  # R3 speaks for a missing site
    if site.version.line != v.line:
        return Decision.refuse(
            "R7",
            f"{ctx.draft.target.main_site.value} runs line {site.version.line} "
            f"({site.version}); choose a version of line {site.version.line}",
            template=N_(
                "%(site)s runs line %(line)s (%(current)s); choose a version of line %(line)s"
            ),
            params={
                "site": ctx.draft.target.main_site,
                "line": site.version.line,
                "current": site.version,
            },
        )
    if v < site.version:
        return Decision.refuse(
            "R7",
            f"{ctx.draft.target.main_site.value} already runs {site.version}, "
            f"newer than {v}; choose {site.version} or later",
            template=N_(
                "%(site)s already runs %(current)s, newer than %(version)s; "
                "choose %(current)s or later"
            ),
            params={"site": ctx.draft.target.main_site, "current": site.version, "version": v},
        )
    if v == site.version and not ctx.db_refresh:
        return Decision.refuse(
            "R7",
            f"{ctx.draft.target.main_site.value} already runs {v}; "
            "choose a newer version, or DB refresh only",
            template=N_(
                "%(site)s already runs %(version)s; choose a newer version, or DB refresh only"
            ),
            params={"site": ctx.draft.target.main_site, "version": v},
        )
    return _ALLOWED


# -- Plans and groups -------------------------------------------------------------


@policy("R8")
def r8_weekly_maintenance(ctx: PolicyContext) -> Decision:
    """Warn when a tenant updated weekly asks for a time inside the maintenance window."""
    if ctx.start is None or not ctx.preset.rules_for(ctx.tenant.plan).automatic_weekly_update:
        return _ALLOWED
    window = ctx.preset.maintenance_window
    if window.contains(ctx.start):
        return Decision.ok(
            Advisory(
                "R8",
                f"the requested time falls in the weekly maintenance window ({window}), "
                "when the automatic update runs and every service is unavailable",
            )
        )
    return _ALLOWED


@policy("R9")
def r9_cloud_production_refresh_only(ctx: PolicyContext) -> Decision:
    """For cloud tenants production/sandbox may only be a DB refresh."""
    rules = ctx.preset.rules_for(ctx.tenant.plan)
    d = ctx.draft
    if not rules.production_refresh_only or d.target is not Target.PRODUCTION_SANDBOX:
        return _ALLOWED
    if d.version is not None or not ctx.db_refresh:
        return Decision.refuse(
            "R9",
            f"{ctx.tenant.name} is on the {ctx.tenant.plan.value} plan and updated to the "
            "newest version every week; production/sandbox may only be a DB refresh",
            suggestion="db refresh only",
            template=N_(
                "%(tenant)s is on the %(plan)s plan and updated to the newest version every "
                "week; production/sandbox may only be a DB refresh"
            ),
            params={"tenant": ctx.tenant.name, "plan": ctx.tenant.plan.value},
        )
    return _ALLOWED


@policy("R10")
def r10_groups_update_together(ctx: PolicyContext) -> Decision:
    """Tenants linked to a group may request DB refreshes, not version updates."""
    if ctx.tenant.group_id is None or ctx.draft.version is None:
        return _ALLOWED
    return Decision.refuse(
        "R10",
        f"{ctx.tenant.name} is updated with its group ({ctx.tenant.group_id}); "
        "it may request DB refreshes only",
        suggestion="db refresh only",
        template=N_(
            "%(tenant)s is updated with its group (%(group)s); it may request DB refreshes only"
        ),
        params={"tenant": ctx.tenant.name, "group": ctx.tenant.group_id},
    )


# -- Time -----------------------------------------------------------------------


@policy("R12")
def r12_start_in_requester_zone(ctx: PolicyContext) -> Decision:
    """The preferred start must exist in the requester's zone and lie in the future."""
    if ctx.start_error is not None:
        if ctx.start_error == _START_REQUIRED:
            return Decision.refuse("R12", _START_REQUIRED, template=_START_REQUIRED)
        if ctx.start_gap is not None:
            return Decision.refuse("R12", ctx.start_error, **_gap_words(ctx.start_gap, ctx.zone))
        return Decision.refuse("R12", ctx.start_error)
    assert ctx.start is not None
    if ctx.start <= ctx.now:
        shown = local_fields(ctx.now, ctx.zone)
        return Decision.refuse(
            "R12",
            f"the preferred start has passed; choose a time after {shown:%Y-%m-%d %H:%M} "
            f"({ctx.zone})",
            template=N_("the preferred start has passed; choose a time after %(now)s (%(zone)s)"),
            params={"now": f"{shown:%Y-%m-%d %H:%M}", "zone": ctx.zone},
        )
    return _ALLOWED


def _gap_words(gap: Tuple[datetime, datetime, datetime], zone: str) -> Dict[str, Any]:
    """The template and values of a start in a spring-forward gap (to_instant's words)."""
    local, start, end = gap
    if end - start >= timedelta(days=1) or start.date() != end.date():
        return {
            "template": N_(
                "%(local)s does not exist in %(zone)s: clocks jump from %(start)s to %(end)s; "
                "choose a time before %(start)s or from %(end)s"
            ),
            "params": {
                "local": stamp(local),
                "zone": zone,
                "start": stamp(start),
                "end": stamp(end),
            },
        }
    return {
        "template": N_(
            "%(local)s does not exist in %(zone)s: clocks jump from %(start)s to %(end)s "
            "that day; choose a time before %(start)s or from %(end)s"
        ),
        "params": {
            "local": stamp(local),
            "zone": zone,
            "start": f"{start:%H:%M}",
            "end": f"{end:%H:%M}",
        },
    }


def overlapping_tasks(
    tasks: Sequence[ScheduledTask], start: datetime, duration: timedelta
) -> Tuple[ScheduledTask, ...]:
    """The tasks that would run, or still be running, during ``[start, start + duration)``."""
    end = start + duration
    # The windows load with the first task checked; the module, not a name from it
    # (on Python 3.11 and older ``from`` builds and drops an error per call).
    import siteupdates.domain.windows as windows

    hits = []
    for task in tasks:
        run = timedelta(minutes=task.duration_minutes)
        first = local_fields(start - run, task.zone).date() - timedelta(days=1)
        last = local_fields(end, task.zone).date() + timedelta(days=1)
        day: date = first
        while day <= last:
            if task.weekday is None or day.weekday() == task.weekday:
                t0 = windows.resolve_local(datetime.combine(day, task.at), task.zone)
                if t0 < end and t0 + run > start:
                    hits.append(task)
                    break
            day += timedelta(days=1)
    return tuple(hits)


@policy("R14")
def r14_scheduled_tasks(ctx: PolicyContext) -> Decision:
    """Warn, naming them, about scheduled tasks that the update would interrupt."""
    if ctx.start is None or not ctx.tenant.tasks:
        return _ALLOWED
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


# -- Refresh limits -----------------------------------------------------------------


def _span_phrase(every: timedelta) -> Phrase:
    days, rest = divmod(every, timedelta(days=1))
    if not rest and days >= 3:
        return Phrase(N_("%(num)s days"), {"num": days})
    hours = every / timedelta(hours=1)
    if hours == 1:
        return Phrase(N_("1 hour"))
    return Phrase(N_("%(num)s hours"), {"num": f"{hours:g}"})


def _span(every: timedelta) -> str:
    days, rest = divmod(every, timedelta(days=1))
    if not rest and days >= 3:
        return f"{days} days"
    hours = every / timedelta(hours=1)
    return f"{hours:g} hour{'s' if hours != 1 else ''}"


def _when(instant: datetime, zone: str) -> str:
    return f"{format_day(instant, zone)} {format_clock(instant, zone)}"


@policy(REFRESH_INTERVAL)
def refresh_interval(ctx: PolicyContext) -> Decision:
    """A site is refreshed at most once per the provider's interval for its kind.

    Off unless the preset sets an interval for the kind (``refresh_intervals``).
    The preferred start must lie at least the interval after the site's last
    refresh and away from every open refresh of the same site; the refusal names
    the last refresh and the first date allowed.
    """
    if not ctx.db_refresh or ctx.start is None:
        return _ALLOWED
    kind = ctx.draft.target.refresh_site
    every = ctx.preset.refresh_intervals.get(kind)
    if every is None:
        return _ALLOWED
    start = ctx.start
    site = ctx.tenant.site(kind)
    last = site.refreshed_at if site is not None else None
    planned = sorted(
        (r.effective_date, r)
        for r in ctx.open_refreshes
        if r.db_refresh and r.target.refresh_site is kind
    )
    # Calendar days in the requester's zone (docs/time.md): "once every 28 days" is
    # the same wall time 28 dates later, whatever clock change lies between.
    zone = ctx.zone
    recent = last is not None and start < days_later(last, every, zone)
    clashes = [f"last refreshed {_when(last, zone)}"] if last and recent else []
    clashes += [
        f"request {r.short_id} refreshes it {_when(when, ctx.zone)}"
        for when, r in planned
        if within_days(start, when, every, zone)
    ]
    said = (
        [Phrase(N_("last refreshed %(when)s"), {"when": _local(last, zone)})]
        if last and recent
        else []
    )
    said += [
        Phrase(
            N_("request %(id)s refreshes it %(when)s"),
            {"id": r.short_id, "when": _local(when, zone)},
        )
        for when, r in planned
        if within_days(start, when, every, zone)
    ]
    if not clashes:
        return _ALLOWED
    first = max(start, days_later(last, every, zone)) if last else start
    moved = True
    while moved:  # past every planned refresh that is too close
        moved = False
        for when, _ in planned:
            if within_days(first, when, every, zone):
                first, moved = days_later(when, every, zone), True
    return Decision.refuse(
        REFRESH_INTERVAL,
        f"the {kind.value} of {ctx.tenant.name} is refreshed at most once every "
        f"{_span(every)} ({'; '.join(clashes)}); the first date allowed is "
        f"{_when(first, ctx.zone)} ({ctx.zone})",
        suggestion=local_fields(first, ctx.zone).strftime("%Y-%m-%d %H:%M"),
        template=N_(
            "the %(site)s of %(tenant)s is refreshed at most once every %(span)s (%(clashes)s); "
            "the first date allowed is %(first)s (%(zone)s)"
        ),
        params={
            "site": kind,
            "tenant": ctx.tenant.name,
            "span": _span_phrase(every),
            "clashes": Listing(tuple(said), "; "),
            "first": _local(first, ctx.zone),
            "zone": ctx.zone,
        },
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
        return _ALLOWED
    stands = blocking_version_update(v, ctx.draft.target, ctx.open_requests)
    if stands is not None:
        assert stands.version is not None
        them = {"id": stands.id, "version": stands.version, "status": stands.status, "new": v}
        if stands.status in WAITING and stands.version.line == v.line:
            why = f"request {stands.id} for {stands.version} is already open"
            fix = f"cancel it first to ask for {v}"
            said = (N_("request %(id)s for %(version)s is already open"), _CANCEL_FIRST)
        elif stands.status in WAITING:
            why = f"request {stands.id} for {stands.version} (another release line) is open"
            fix = f"cancel it first to ask for {v}"
            said = (
                N_("request %(id)s for %(version)s (another release line) is open"),
                _CANCEL_FIRST,
            )
        else:
            why = f"request {stands.id} for {stands.version} is {stands.status.label}"
            fix = f"ask for {v} once it has finished"
            said = (
                N_("request %(id)s for %(version)s is %(status)s"),
                N_("ask for %(new)s once it has finished"),
            )
        return Decision.refuse(
            "R17",
            f"{why} for {ctx.draft.target.value}; a site has one open version update: {fix}",
            template=N_("%(why)s for %(target)s; a site has one open version update: %(fix)s"),
            params={
                "why": Phrase(said[0], them),
                "target": ctx.draft.target,
                "fix": Phrase(said[1], them),
            },
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
        return _ALLOWED
    return Decision.refuse(
        "R16",
        f"request {request.id} is {request.status.label}; only To Be Scheduled or "
        "Scheduled requests can be cancelled",
        template=N_(
            "request %(id)s is %(status)s; only To Be Scheduled or Scheduled requests can be "
            "cancelled"
        ),
        params={"id": request.id, "status": request.status},
    )


def may_delete(request: UpdateRequest) -> Decision:
    """R18: only completed requests may be deleted."""
    if request.status is Status.COMPLETED:
        return _ALLOWED
    return Decision.refuse(
        "R18",
        f"request {request.id} is {request.status.label}; only Completed requests can be "
        "deleted (cancel an open one instead)",
        template=N_(
            "request %(id)s is %(status)s; only Completed requests can be deleted "
            "(cancel an open one instead)"
        ),
        params={"id": request.id, "status": request.status},
    )


def may_move(request: UpdateRequest, now: datetime, cutoff: timedelta, zone: str) -> Decision:
    """The contact's reschedule: allowed until ``cutoff`` before the scheduled start.

    A To Be Scheduled request has no scheduled start and may be moved any time; a
    Scheduled one until ``cutoff`` before its date (``CUTOFF`` after that: only
    the provider moves it then, R13). Other statuses are the lifecycle's to refuse.
    """
    when = request.scheduled_for
    if request.status is not Status.SCHEDULED or when is None or now <= when - cutoff:
        return _ALLOWED
    return Decision.refuse(
        CUTOFF,
        f"request {request.short_id} is scheduled for {_when(when, zone)}; its preferred start "
        f"may be moved until {_span(cutoff)} before ({_when(when - cutoff, zone)}); "
        "ask the provider to move it",
        template=N_(
            "request %(id)s is scheduled for %(when)s; its preferred start may be moved until "
            "%(span)s before (%(deadline)s); ask the provider to move it"
        ),
        params={
            "id": request.short_id,
            "when": _local(when, zone),
            "span": _span_phrase(cutoff),
            "deadline": _local(when - cutoff, zone),
        },
    )


def _rule_ids(values: object) -> Tuple[str, ...]:
    if isinstance(values, str):
        values = values.split(",")
    if not isinstance(values, Iterable):
        raise WrongType("rules", values, "rule IDs such as ('R5', 'R9')")
    found = []
    for v in values:
        if not isinstance(v, str) or not v.strip():
            raise WrongType("rule", v, "a rule ID such as 'R5'")
        found.append(v.strip().upper())
    return tuple(dict.fromkeys(found))


@attrs.frozen
class Override:
    """A provider's exception to rules that refuse a request: which rules, why, by whom.

    Rules in :data:`NOT_OVERRIDABLE` (R22 and the structural ones) stay refused.
    """

    rules: Tuple[str, ...] = attrs.field(converter=_rule_ids)
    reason: str = attrs.field()
    by: str = "provider"

    @reason.validator
    def _check(self, _: object, value: object) -> None:
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput("an override needs a reason (kept in the history)", value)
        if not self.rules:
            raise InvalidInput("an override names at least one rule, such as R5", self.rules)


def apply_override(decision: Decision, override: Override) -> Tuple[Decision, Tuple[Refusal, ...]]:
    """The decision once ``override`` is applied, and the refusals it overrode.

    Raises RequestRefused with every refusal left (a rule of
    :data:`NOT_OVERRIDABLE` stays, saying so), and InvalidInput when the override
    names a rule that does not refuse the request: an override is exact.
    """
    left = []
    for r in decision.refusals:
        if r.rule not in override.rules:
            left.append(r)
        elif r.rule in NOT_OVERRIDABLE:
            left.append(
                attrs.evolve(
                    r, message=f"{r.message} ({r.rule} cannot be overridden)", template=None
                )
            )
    if left:
        raise RequestRefused(left)
    refused = {r.rule for r in decision.refusals}
    extra = [rule for rule in override.rules if rule not in refused]
    if extra:
        raise InvalidInput(
            f"{', '.join(extra)} do{'es' if len(extra) == 1 else ''} not refuse this request; "
            "override only the rules that refuse it"
            + (f" ({', '.join(sorted(refused))})" if refused else " (none does)"),
            extra,
        )
    return Decision((), decision.warnings), decision.refusals


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
    refresh_interval,
    r17_newer_version_supersedes,
)


def evaluate(ctx: PolicyContext, policies: Sequence[Policy] = DEFAULT_POLICIES) -> Decision:
    """Run every policy and return every refusal and warning at once.

    Access (R22) is checked first and alone: its refusal hides every other answer.
    """
    access = r22_contact_sees_tenant(ctx)
    if not access.allowed:
        return access
    refusals: List[Refusal] = []
    warnings: List[Advisory] = []
    for p in policies:
        if p is r22_contact_sees_tenant:
            continue
        # A plain Policy's check is called directly (its __call__ is one more frame
        # per rule); a subclass may have its own __call__.
        found = p.check(ctx) if type(p) is Policy else p(ctx)
        if found is _ALLOWED:  # what most rules say: nothing to collect
            continue
        refusals += found.refusals
        warnings += found.warnings
    if not refusals and not warnings:
        return _ALLOWED
    return Decision(tuple(refusals), tuple(warnings))


def check_submission(
    ctx: PolicyContext,
    policies: Sequence[Policy] = DEFAULT_POLICIES,
    override: Optional[Override] = None,
) -> Decision:
    """Like :func:`evaluate` but raise: AccessDenied for R22, RequestRefused for the rest.

    With a provider's ``override``, the rules it names are accepted
    (:func:`apply_override`); R22 never is.
    """
    decision = evaluate(ctx, policies)
    if decision.refusals and decision.refusals[0].rule == "R22":
        raise AccessDenied(decision.refusals[0].message)
    if override is not None:
        return apply_override(decision, override)[0]
    if decision.refusals:
        raise RequestRefused(decision.refusals)
    return decision
