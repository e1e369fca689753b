"""Every use case of siteupdates, declared once.

Each :class:`~siteupdates.usecases.declare.UseCase` below names its actor, its
parameters (kind, help, default), the function that runs it, its result and its
documentation. The Python API (``desk.contact(...)``, ``desk.provider``,
``desk.ops`` and the deprecated flat ``Desk`` methods), the input checks, the
command line (``siteupdates contact submit ...``) and the JSON schema of the
arguments are all derived from this table: adding a use case is one entry here
and one function in :mod:`siteupdates.app`.
"""

from __future__ import annotations

from typing import Dict, Tuple

from siteupdates import checks

from . import kinds as k
from .declare import Kind, Legacy, Param, Role, UseCase

__all__ = ["CATALOG", "by_actor", "by_name"]

CONTACT, PROVIDER, OPS = Role.CONTACT, Role.PROVIDER, Role.OPS

# Handlers by module, so a line below reads "where it runs".
_C = "siteupdates.app.contact:"
_P = "siteupdates.app.provider:"
_A = "siteupdates.app.actions:"
_PL = "siteupdates.app.planning:"
_AU = "siteupdates.app.automatic:"
_ST = "siteupdates.app.staged:"
_DF = "siteupdates.app.deferral:"
_X = "siteupdates.app.executors:"
_B = "siteupdates.app.bulk:"

# An override's reason: an empty one reaches the use case, whose refusal says
# that an override needs a reason (the rule's own words).
_ANY_TEXT = Kind(lambda name, value: checks.text(name, value), {"type": "string"}, "str")


def _p(name: str, kind: Kind, help: str, **kw: object) -> Param:
    return Param(name, kind, help, **kw)  # type: ignore[arg-type]


# -- parameters several use cases share (each is still one value, named once) ---------

REQUEST = _p("request_id", k.ID, "the request's ID", positional=True, flag="")
TENANT = _p("tenant_id", k.ID, "the tenant's ID", positional=True)
BY = _p("by", k.ID, "who acts (kept in the history)", default="provider")
BY_PLANNER = _p("by", k.ID, "who acts (kept in the history)", default="planner")
AT = _p("at", k.LOCAL_TIME, f"the preferred local start, {k.DATE_FORMS}")
ZONE = _p("zone", k.SHORT.or_none(), "the IANA zone AT is read in (default: the contact's)",
          default=None)  # fmt: skip
AMBIGUOUS = _p("ambiguity", k.AMBIGUITY, "which of a wall time that occurs twice at fall-back",
               default="earlier", flag="--ambiguous")  # fmt: skip
KEY = _p("idempotency_key", k.KEY.or_none(), "a retry with the same key returns the first result",
         default=None, flag="--key")  # fmt: skip
HORIZON = _p("horizon", k.INSTANT.or_none(), "plan up to this instant (default: 180 days)",
             default=None)  # fmt: skip
WHEN = _p("when", k.INSTANT, "the scheduled start, an instant", positional=True, flag="--at")
ALLOW_PAST = _p("allow_past", k.FLAG, "accept a date that has passed", default=False)
OFFSET = _p("offset", k.count(0, 1_000_000_000), "skip this many", default=0)


def _limit(default: int) -> Param:
    return _p("limit", k.count(1, 100_000), "at most this many", default=default)


def _reason(help: str) -> Param:
    return _p("reason", k.TEXT, help, positional=True, flag="")


def _provider_step(name: str, doc: str, *extra: Param) -> UseCase:
    """A provider's transition of one request (pull, start, complete, ...)."""
    return UseCase(name, PROVIDER, _A + name, doc, (REQUEST, *extra, BY),
                   result="UpdateRequest",
                   legacy=Legacy(name, ("request_id", *(p.name for p in extra))))  # fmt: skip


_DISPATCHER = (
    _p("max_attempts", k.count(1, 1000).or_none(), "attempts before an item is dead (8)",
       default=None),
    _p("base_delay", k.seconds(0, 86_400).or_none(), "first retry delay, seconds (30)",
       default=None),
    _p("max_delay", k.seconds(0, 86_400).or_none(), "longest retry delay, seconds (3600)",
       default=None),
    _p("timeout", k.seconds(0.1, 3600).or_none(), "seconds per delivery (30)", default=None),
    _p("batch", k.count(1, 10_000).or_none(), "items claimed at a time (100)", default=None),
    _p("lease", k.seconds(1, 86_400).or_none(),
       "seconds a claim lasts unless renewed (3 timeouts, at least 30)", default=None),
    _p("owner", k.ID.or_none(), "this deliverer's name in the items' log", default=None),
    _p("clock", k.CALLABLE.or_none(), "the clock (tests)", default=None),
)  # fmt: skip
_RUNS = (
    _p("dispatcher_id", k.ID, "this dispatcher's name, kept in the history (no '#')",
       positional=True, flag="--id"),
    _p("lease_seconds", k.seconds(1, 86_400).or_none(),
       "lease seconds a running update renews (300)", default=None, flag="--lease"),
    _p("max_attempts", k.count(1, 1000).or_none(), "starts before giving up (3)", default=None),
    _p("batch", k.count(1, 10_000).or_none(), "requests claimed at a time (10)", default=None),
    _p("start_within", k.seconds(1, 86_400).or_none(),
       "seconds the engine has to start a run (default: the lease)", default=None),
    _p("max_waiting", k.count(1, 1_000_000).or_none(),
       "claim nothing while this many runs wait to start", default=None),
)  # fmt: skip

#: Every use case of siteupdates, in the order the docs and the command line list them.
CATALOG: Tuple[UseCase, ...] = (
    # -- the contact's side (R22: every one is bound to the contact) --------------------
    UseCase("tenants", CONTACT, _C + "tenants_of",
            "The tenants the contact may choose among (R22), by ID.",
            (OFFSET, _limit(1000)), result="Page[Tenant]", writes=False,
            legacy=Legacy("tenants_of", ("contact_id",))),
    UseCase("gadget", CONTACT, _C + "gadget",
            "What the contact's gadget shows: their tenants and the overview of one (R21).",
            (_p("tenant_id", k.ID.or_none(), "the tenant shown (default: the only one)",
                default=None, positional=True, flag="--tenant"),),
            result="Gadget", writes=False),
    UseCase("me", CONTACT, _A + "me", "The contact's own record: name, email, zone, tenants.",
            result="Contact", writes=False),
    UseCase("catalog", CONTACT, _A + "catalog_for", "The versions on offer.",
            result="Catalog", writes=False),
    UseCase("evaluate", CONTACT, _C + "try_submit",
            "Every refusal and warning a submit of the draft would get, without submitting.",
            (_p("draft", k.DRAFT, "the request not yet submitted", positional=True),),
            result="Decision", writes=False, legacy=Legacy("evaluate", ("contact_id", "draft")),
            python_only="takes a RequestDraft; the command line's submit refuses the same way"),
    UseCase("submit", CONTACT, _C + "submit",
            "Submit an update or DB refresh request; every rule is checked (R1-R22).",
            (TENANT,
             _p("target", k.TARGET, "production (with its sandbox), staging or preview"),
             _p("version", k.VERSION.or_none(),
                "the version to update to, such as E.1505.2; None for a DB refresh only (R6)"),
             _p("db_refresh", k.FLAG.or_none(),
                "DB refresh: True, False, or None for the plan's preset (R9)", default=None,
                flag="--refresh"),
             AT, ZONE, AMBIGUOUS, KEY),
            result="Submission",
            legacy=Legacy("submit", ("contact_id", "tenant_id", "target", "version"))),
    UseCase("submit_many", CONTACT, _B + "submit_many",
            "Submit many drafts in one transaction: one answer per draft.",
            (_p("drafts", k.DRAFTS, "the drafts", positional=True),
             _p("idempotency_keys", k.KEYS.or_none(), "one key (or None) per draft",
                default=None)),
            result="List[BulkResult]", legacy=Legacy("submit_many", ("contact_id", "drafts")),
            python_only="takes RequestDrafts; the command line reads them from a file"),
    UseCase("move", CONTACT, _C + "move",
            "Move the preferred start of the contact's own request, until the cut-off (R13).",
            (REQUEST, AT, ZONE, AMBIGUOUS), result="UpdateRequest",
            legacy=Legacy("move", ("contact_id", "request_id"))),
    UseCase("explain", CONTACT, _C + "explain_to",
            "Why the contact's own request has, or would get, its date (nothing of others, R22).",
            (REQUEST, HORIZON), result="Explanation", writes=False,
            legacy=Legacy("explain_to", ("contact_id", "request_id"))),
    UseCase("cancel", CONTACT, _C + "cancel",
            "Cancel a To Be Scheduled or Scheduled request (R16).", (REQUEST,),
            result="UpdateRequest", legacy=Legacy("cancel", ("contact_id", "request_id"))),
    UseCase("delete", CONTACT, _C + "delete",
            "Delete a completed request from the contact's view; its history stays (R18).",
            (REQUEST,), result="UpdateRequest",
            legacy=Legacy("delete", ("contact_id", "request_id"))),
    UseCase("answer", CONTACT, _C + "answer",
            "Answer the provider's question on a Pending Input request.",
            (REQUEST, _p("text", k.TEXT, "the answer", positional=True, flag="")),
            result="UpdateRequest",
            legacy=Legacy("answer", ("contact_id", "request_id", "text"))),
    UseCase("requests", CONTACT, _C + "list_requests",
            "A tenant's requests, newest first, never cancelled or deleted (R19).",
            (TENANT, _p("hide_complete", k.FLAG, "leave out completed requests", default=False),
             OFFSET, _limit(50)),
            result="Page[UpdateRequest]", writes=False,
            legacy=Legacy("requests", ("contact_id", "tenant_id"))),
    UseCase("resolve_id", CONTACT, _C + "resolve_id",
            "The ID of one of the contact's requests by a prefix (R22).",
            (_p("prefix", k.PREFIX, "the start of the ID", positional=True, flag=""),),
            result="str", writes=False, legacy=Legacy("resolve_id_for", ("contact_id", "prefix"))),
    UseCase("request", CONTACT, _C + "request", "One request, if the contact may see it.",
            (REQUEST,), result="UpdateRequest", writes=False,
            legacy=Legacy("request", ("contact_id", "request_id"))),
    UseCase("overview", CONTACT, _C + "tenant_overview",
            "A tenant's sites in the contact's zone: current and scheduled (R11, R21).",
            (TENANT,), result="Overview", writes=False,
            legacy=Legacy("overview", ("contact_id", "tenant_id"))),
    UseCase("submit_staged", CONTACT, _ST + "submit_staged",
            "Staging, then production at least the soak later, waiting on the contact's gate.",
            (TENANT, _p("version", k.VERSION, "the version for both"), AT, ZONE,
             _p("soak", k.SOAK.or_none(), "how long production waits after staging",
                default=None, flag="--soak-hours")),
            result="StagedSubmission", command="stage",
            legacy=Legacy("submit_staged", ("contact_id", "tenant_id", "version"))),
    UseCase("approve", CONTACT, _A + "approve",
            "Let a staged production update go ahead (staging completed).", (REQUEST,),
            result="UpdateRequest", legacy=Legacy("approve", ("contact_id", "request_id"))),
    UseCase("decline", CONTACT, _A + "decline",
            "Release a staged production update after staging.",
            (REQUEST, _p("reason", k.TEXT.or_none(), "why (kept in the history)",
                         default=None, positional=True)),
            result="UpdateRequest",
            legacy=Legacy("decline", ("contact_id", "request_id", "reason"))),
    UseCase("postpone", CONTACT, _DF + "postpone",
            "Defer a Scheduled request, within the provider's deferral limits.",
            (REQUEST,
             _p("days", k.count(0, 1_000_000).or_none(), "skip this many days", default=None),
             _p("next_window", k.FLAG, "to the next available window", default=False)),
            result="UpdateRequest", legacy=Legacy("postpone", ("contact_id", "request_id"))),
    # -- the provider's side ------------------------------------------------------------
    UseCase("queue", PROVIDER, _P + "queue",
            "The To Be Scheduled requests, first come first served (R13), one page.",
            (OFFSET, _limit(1000),
             _p("after", k.ID.or_none(), "the last request ID of the page before (keyset)",
                default=None)),
            result="Page[UpdateRequest]", writes=False,
            legacy=Legacy("queue")),
    UseCase("requests", PROVIDER, _A + "requests",
            "Requests of one tenant or of some statuses, optionally in a date range, one page.",
            (_p("tenant_id", k.ID.or_none(), "one tenant's requests", default=None,
                flag="--tenant"),
             _p("statuses", k.STATUSES, "only these statuses (repeatable)", default=(),
                flag="--status"),
             _p("since", k.INSTANT.or_none(), "dated at or after this instant", default=None),
             _p("until", k.INSTANT.or_none(), "dated before this instant", default=None),
             OFFSET, _limit(100)),
            result="Page[UpdateRequest]", writes=False),
    UseCase("tenants", PROVIDER, _A + "tenants", "Every tenant, by ID, one page.",
            (OFFSET, _limit(100)), result="Page[Tenant]", writes=False),
    UseCase("catalog", PROVIDER, _A + "catalog", "The versions on offer.",
            result="Catalog", writes=False),
    UseCase("override", PROVIDER, _A + "override",
            "Submit for a contact, overriding exactly the rules named, with a reason.",
            (_p("contact_id", k.ID, "the contact the request is for", positional=True,
                flag="--for"),
             _p("tenant_id", k.ID, "the tenant's ID"),
             _p("target", k.TARGET, "production (with its sandbox), staging or preview"),
             _p("version", k.VERSION.or_none(), "the version; None for a DB refresh only"),
             _p("rules", k.NAMES, "the rules to override (never R22 or a structural rule)",
                flag="--rule"),
             _p("reason", _ANY_TEXT, "why the provider makes an exception (history)"),
             BY,
             _p("db_refresh", k.FLAG.or_none(), "DB refresh: True, False or None (R9)",
                default=None, flag="--refresh"),
             AT, ZONE, AMBIGUOUS, KEY),
            result="Submission",
            legacy=Legacy("override", ("contact_id", "tenant_id", "target", "version"))),
    UseCase("find", PROVIDER, _P + "find", "Any request by ID, deleted ones included.",
            (REQUEST,), result="UpdateRequest", writes=False,
            legacy=Legacy("find", ("request_id",))),
    UseCase("resolve_id", PROVIDER, _P + "resolve_id",
            "The one request ID starting with a prefix (people read shortened IDs).",
            (_p("prefix", k.PREFIX, "the start of the ID", positional=True, flag=""),),
            result="str", writes=False, legacy=Legacy("resolve_id", ("prefix",))),
    UseCase("tenant", PROVIDER, _P + "tenant", "A tenant by ID.",
            (_p("tenant_id", k.ID, "the tenant's ID", positional=True, flag=""),),
            result="Tenant", writes=False, legacy=Legacy("tenant", ("tenant_id",))),
    UseCase("history", PROVIDER, _P + "history", "A request's full history (kept after deletion).",
            (REQUEST,), result="List[HistoryEntry]", writes=False,
            legacy=Legacy("history", ("request_id",))),
    UseCase("schedule", PROVIDER, _A + "schedule",
            "Confirm a date by hand: the provider's override of the plan (R13); told (R20).",
            (REQUEST, WHEN, BY,
             _p("reason", k.TEXT.or_none(), "why the provider overrides the plan", default=None),
             ALLOW_PAST),
            result="UpdateRequest", legacy=Legacy("schedule", ("request_id", "when"))),
    UseCase("reschedule", PROVIDER, _A + "reschedule",
            "Move a scheduled date, with a reason; the contact is told (R13, R20).",
            (REQUEST, WHEN, _p("reason", k.TEXT, "why: told to the contact"), BY, ALLOW_PAST),
            result="UpdateRequest",
            legacy=Legacy("reschedule", ("request_id", "when", "reason"))),
    _provider_step("pull", "Take a scheduled request from the queue: Not Started."),
    _provider_step("start", "Begin the update: In Progress, the site is offline."),
    _provider_step("complete", "Finish the update: the sites take the new version."),
    _provider_step("ask_input", "Ask the contact a question: Pending Input (R20).",
                   _p("question", k.TEXT, "the question", positional=True, flag="")),
    UseCase("mark_answered", PROVIDER, _P + "mark_answered",
            "Record the answer the contact gave another way (by phone): back to where it was.",
            (REQUEST, _p("note", k.TEXT, "how it was answered", positional=True, flag=""), BY),
            result="UpdateRequest", command="answered",
            legacy=Legacy("mark_answered", ("request_id", "note"))),
    _provider_step("defer", "Put a request on hold until further notice: Deferred.",
                   _reason("why (told to the contact)")),
    _provider_step("resume", "Take a deferred request back into the queue."),
    _provider_step("fail", "Give up on a request: Unable to Complete; the contact is told why.",
                   _reason("why (told to the contact)")),
    UseCase("supersede", PROVIDER, _P + "supersede",
            "Mark a request New Version Requested in favour of a newer one (R17).",
            (REQUEST, _p("newer_id", k.ID, "the newer request", positional=True, flag=""), BY),
            result="UpdateRequest", legacy=Legacy("supersede", ("request_id", "newer_id"))),
    UseCase("plan_queue", PROVIDER, _PL + "plan_queue",
            "Plan the queue first come, first served, and store it unless a dry run (R13).",
            (HORIZON, _p("dry_run", k.FLAG, "show the plan, store nothing", default=False),
             BY_PLANNER),
            result="PlanRun", command="plan", legacy=Legacy("plan_queue")),
    UseCase("explain", PROVIDER, _PL + "explain",
            "Why a request has, or would get, its date, with every detail.",
            (REQUEST, HORIZON), result="Explanation", writes=False,
            legacy=Legacy("explain", ("request_id",))),
    UseCase("what_if", PROVIDER, _A + "what_if",
            "Plan the queue under a changed setup (its [provider] table); store nothing.",
            (_p("setup", k.SETUP_OR_PRESET, "the setup file (or a ProviderPreset)",
                positional=True, flag=""), HORIZON),
            result="WhatIf", writes=False, legacy=Legacy("what_if", ("setup",))),
    UseCase("group_update", PROVIDER, _AU + "group_update",
            "Plan one version update for a whole group, one request per member (R10).",
            (_p("group_id", k.ID, "the group", positional=True, flag=""),
             _p("target", k.TARGET, "production (with its sandbox), staging or preview"),
             _p("version", k.VERSION, "the version"),
             _p("earliest", k.INSTANT, "not before this instant"), HORIZON, BY),
            result="Tuple[UpdateRequest, ...]",
            legacy=Legacy("group_update", ("group_id", "target", "version"))),
    UseCase("cloud_week", PROVIDER, _AU + "cloud_week",
            "Book the weekly automatic updates of the week containing a day (R8).",
            (_p("week_of", k.DAY, "a day of the week", positional=True), BY),
            result="Tuple[UpdateRequest, ...]", legacy=Legacy("cloud_week", ("week_of",))),
    UseCase("advance_stages", PROVIDER, _ST + "advance_stages",
            "Release production whose staging failed; approve soaked ones (a setting).",
            (BY_PLANNER,), result="Tuple[UpdateRequest, ...]", command="stages",
            legacy=Legacy("advance_stages")),
    UseCase("audit", PROVIDER, _A + "audit",
            "The recorded changes of reference data, newest first.",
            (_p("kind", k.AUDIT_KIND.or_none(), "one kind of reference data", default=None),
             _p("key", k.ID.or_none(), "one tenant, contact, group, version or setting",
                default=None),
             _limit(1000)),
            result="List[AuditEntry]", writes=False, legacy=Legacy("audit")),
    UseCase("apply_setup", PROVIDER, _A + "apply_setup",
            "Make the stored reference data equal to a setup; every change is audited.",
            (_p("setup", k.SETUP, "the setup file (TOML), its tables, or a Setup",
                positional=True, flag=""), BY,
             _p("dry_run", k.FLAG, "print the changes, store none", default=False)),
            result="SetupReport", command="apply", legacy=Legacy("apply_setup", ("setup",))),
    UseCase("load_setup", PROVIDER, _A + "load_setup",
            "Add a setup's reference data over what is stored (nothing removed); audited.",
            (_p("setup", k.SETUP, "the setup file (TOML), its tables, or a Setup",
                positional=True, flag=""),
             _p("by", k.ID, "who loads it (kept in the audit)", default="siteupdates")),
            result="SetupReport", command="load", legacy=Legacy("load_setup", ("setup",))),
    UseCase("outbox", PROVIDER, _A + "outbox",
            "Outgoing notices and their delivery state, oldest first, one page.",
            (_p("state", k.OUTBOX_STATE.or_none(), "only items in this state", default=None),
             _p("request_id", k.ID.or_none(), "only this request's items", default=None,
                flag="--request"),
             OFFSET, _limit(100)),
            result="Page[OutboxItem]", writes=False),
    UseCase("outbox_item", PROVIDER, _A + "outbox_item",
            "One outbox item and its delivery log.",
            (_p("item_id", k.ID, "the item's ID", positional=True, flag=""),),
            result="Tuple[OutboxItem, List[OutboxEvent]]", writes=False),
    UseCase("retry_outbox", PROVIDER, _A + "retry_outbox",
            "Requeue dead outbox items (by key, or every dead one): due at once, logged.",
            (_p("keys", k.NAMES, "outbox keys", default=(), positional=True, flag=""),
             _p("dead", k.FLAG, "every dead item", default=False), BY),
            result="List[OutboxItem]", command="retry", legacy=Legacy("retry_outbox", ("keys",))),
    UseCase("run_status", PROVIDER, _X + "status",
            "A request's current run and what its engine says of it.", (REQUEST,),
            result="Tuple[Run, Optional[str]]", writes=False,
            legacy=Legacy("run_status", ("request_id",))),
    UseCase("cancel_run", PROVIDER, _X + "cancel",
            "Stop a request's run in its engine and here; later reports are refused.",
            (REQUEST, _reason("why (told to the contact)"), BY),
            result="UpdateRequest", legacy=Legacy("cancel_run", ("request_id", "reason"))),
    # -- operations ---------------------------------------------------------------------
    UseCase("deliver", OPS, _A + "deliver",
            "Deliver every due outbox item once (each claimed first: any number may run).",
            _DISPATCHER, result="DeliveryReport", legacy=Legacy("deliver")),
    UseCase("dispatcher", OPS, _A + "dispatcher",
            "A dispatcher of the outbox, for a loop of its own (Dispatcher.run).",
            _DISPATCHER, result="Dispatcher", legacy=Legacy("dispatcher"),
            python_only="returns a long-lived object; the command line runs 'ops deliver'"),
    UseCase("dispatch", OPS, _A + "dispatch",
            "Claim the updates due now and hand them to the executor (Celery, ...), once.",
            _RUNS, result="DispatchReport", legacy=Legacy("dispatch", ("dispatcher_id",))),
    UseCase("run_dispatcher", OPS, _A + "run_dispatcher",
            "A dispatcher handing due requests to the executor, for a loop of its own.",
            _RUNS, result="RunDispatcher", legacy=Legacy("run_dispatcher", ("dispatcher_id",)),
            python_only="returns a long-lived object; the command line runs 'ops dispatch'"),
    UseCase("report", OPS, _X + "report",
            "An engine's report on a run (started, completed, failed, needs-input), fenced.",
            (_p("run_id", k.ID, "the run's ID (the request ID)", positional=True, flag=""),
             _p("fencing_token", k.TOKEN, "the run's fencing token", positional=True, flag=""),
             _p("outcome", k.OUTCOME, "what happened", positional=True, flag=""),
             _p("contact_reason", k.TEXT.or_none(),
                "failed: why; needs-input: the question (told to the contact)", default=None,
                flag="--reason")),
            result="Report",
            legacy=Legacy("report", ("run_id", "fencing_token", "outcome"))),
    UseCase("heartbeat", OPS, _X + "heartbeat",
            "Keep a run's lease alive; False when the run no longer holds it.",
            (_p("run_id", k.ID, "the run's ID (the request ID)", positional=True, flag=""),
             _p("fencing_token", k.TOKEN, "the run's fencing token", positional=True, flag=""),
             _p("lease_seconds", k.seconds(1, 86_400), "seconds from now", flag="--lease")),
            result="bool", legacy=Legacy("heartbeat", ("run_id", "fencing_token"))),
    UseCase("status", OPS, "siteupdates.app.health:status",
            "What an on-call engineer asks first: due, overdue, stuck, dead; a verdict 0/1/2.",
            result="Health", writes=False),
    UseCase("execute", OPS, _X + "execute",
            "Run a runbook for an engine's ticket under its fencing token (engine side).",
            (_p("ticket", k.TICKET, "the engine's ticket", positional=True),
             _p("runbook", k.CALLABLE, "the function that updates the site", positional=True),
             _p("reason_of", k.CALLABLE.or_none(), "the contact's words for an exception",
                default=None)),
            result="Execution", legacy=Legacy("execute", ("ticket", "runbook")),
            python_only="runs a Python function"),
)  # fmt: skip


def _index() -> Dict[Tuple[Role, str], UseCase]:
    found: Dict[Tuple[Role, str], UseCase] = {}
    for uc in CATALOG:
        if (uc.actor, uc.name) in found:
            raise ValueError(f"{uc.qualname} is declared twice")
        found[(uc.actor, uc.name)] = uc
    return found


_BY_NAME = _index()


def by_name(actor: Role, name: str) -> UseCase:
    """The use case ``name`` of ``actor``; KeyError when none is declared."""
    return _BY_NAME[(actor, name)]


def by_actor(actor: Role) -> Tuple[UseCase, ...]:
    """The use cases of ``actor``, in declaration order."""
    return tuple(uc for uc in CATALOG if uc.actor is actor)
