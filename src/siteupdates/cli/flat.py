"""The 0.2 flat commands' grammar (``submit``, ``schedule``, ``outbox retry``, ...).

Kept for one release as aliases of the grouped commands (:mod:`.generated`),
with their options as they were; :mod:`.parser` adds each through its ``add``
(which lists a command without building it unless it is the one being run).
"""

from __future__ import annotations

import argparse
from typing import Callable, Dict, Optional

from siteupdates import ports

from . import commands
from .inputs import DATE_FORMS

__all__ = ["ALIASES", "READS", "add_flat_commands", "count", "delay", "seconds"]

#: The 0.2 flat commands, kept for one release, and what replaces each.
ALIASES: Dict[str, str] = {
    "apply": "provider apply", "init": "provider apply", "audit": "provider audit",
    "tenants": "contact tenants", "submit": "contact submit (provider override with --override)",
    "submit-many": "contact submit-many", "list": "contact requests",
    "overview": "contact overview", "cancel": "contact cancel", "delete": "contact delete",
    "answer": "contact answer", "stage": "contact stage", "approve": "contact approve",
    "decline": "contact decline", "postpone": "contact postpone", "stages": "provider stages",
    "queue": "provider queue", "show": "provider find and provider history",
    "schedule": "provider plan, provider schedule or provider what-if",
    "reschedule": "provider reschedule (a contact: contact move)",
    "pull": "provider pull", "start": "provider start", "complete": "provider complete",
    "ask": "provider ask-input", "answered": "provider answered", "defer": "provider defer",
    "resume": "provider resume", "fail": "provider fail",
    "explain": "provider explain (a contact: contact explain)", "feed": "ops feed",
    "group-update": "provider group-update", "cloud-week": "provider cloud-week",
    "worker": "ops worker", "deliver": "ops deliver",
    "outbox": "provider outbox (outbox retry: provider retry)",
    "dispatch": "ops dispatch (--status: provider run-status; --cancel: provider cancel-run)",
    "report": "ops report",
}  # fmt: skip


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return value


def seconds(text: str) -> float:
    """A finite number of seconds above 0 (``--timeout``, ``--lease``, ``--poll``)."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be seconds above 0, not {text!r}")
    return value


def delay(text: str) -> float:
    """A finite number of seconds, 0 or more (``--base-delay``)."""
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be seconds, 0 or more, not {text!r}")
    return value


def count(text: str) -> int:
    """A whole number of 1 or more (``--batch``, ``--max-attempts``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text!r}")
    return value


def worker_arguments(sp: argparse.ArgumentParser) -> None:
    """The worker's options (``worker`` and ``ops worker``)."""
    sp.add_argument("--id", required=True, help="this worker's name, kept in the history")
    sp.add_argument("--lease", type=seconds, default=300.0, help="lease seconds (renewed)")
    sp.add_argument("--max-attempts", type=count, default=3, help="starts before giving up")
    sp.add_argument("--batch", type=count, default=1, help="requests claimed at a time")
    sp.add_argument("--poll", type=seconds, default=5.0, help="seconds between polls when idle")
    sp.add_argument("--until-idle", action="store_true", help="stop when nothing is due")


def submit_many_arguments(sp: argparse.ArgumentParser) -> None:
    """``submit-many``'s arguments (the 0.2 name and ``contact submit-many``)."""
    sp.add_argument("--as", dest="contact", required=True, metavar="CONTACT",
                    help="the contact acting (R22)")  # fmt: skip
    sp.add_argument(
        "file",
        help="columns or keys: tenant, target, version, refresh, at, zone, ambiguous, key "
        "(.csv with a header row; .jsonl one object a line; - reads JSON lines from stdin)",
    )


#: The 0.2 commands that only read (they never create a store).
READS = frozenset({"tenants", "list", "overview", "queue", "show", "explain", "audit", "feed",
                    "outbox"})  # fmt: skip


def add_flat_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Every 0.2 command, each through ``add(name, function, help)``."""

    def who(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--as", dest="contact", required=True, metavar="CONTACT",
                        help="the contact acting (R22)")  # fmt: skip

    def when(sp: argparse.ArgumentParser, required: bool = True) -> None:
        sp.add_argument("--at", required=required, help=f"local time, {DATE_FORMS}")
        sp.add_argument("--zone", help="IANA zone the time is read in (default: yours)")
        sp.add_argument(
            "--ambiguous",
            choices=["earlier", "later", "raise"],
            default="earlier",
            help="which of a time that occurs twice at fall-back (default: earlier)",
        )

    for name in ("apply", "init"):
        sp = add(name, commands.cmd_apply, "make the stored reference data equal to a setup "
                 "file (TOML); init is another name for apply")  # fmt: skip
        sp.add_argument("file", help="setup file, see docs/setup.md")
        sp.add_argument("--dry-run", action="store_true", help="print the changes, store none")
        sp.add_argument("--by", default=None, help="who applies it (kept in the audit)")

    sp = add("audit", commands.cmd_audit, "provider: every change of reference data, newest first")
    sp.add_argument("--kind", choices=["tenant", "contact", "group", "catalog", "settings"],
                    help="one kind of reference data")  # fmt: skip
    sp.add_argument("--key", help="one tenant, contact, group, version or setting")
    sp.add_argument("--limit", type=int, default=50, help="at most this many (default: 50)")

    sp = add("tenants", commands.cmd_tenants, "list the tenants a contact may act on")
    who(sp)

    sp = add("submit", commands.cmd_submit, "submit an update or DB refresh request")
    who(sp)
    sp.add_argument("--tenant", help="tenant ID (default: the contact's only tenant)")
    sp.add_argument("--target", required=True, help="production/sandbox, staging or preview")
    sp.add_argument("--version", help="version to update to, e.g. E.1505.2")
    sp.add_argument("--refresh-only", action="store_true", help="no version change (R6)")
    refresh = sp.add_mutually_exclusive_group()
    refresh.add_argument(
        "--refresh",
        dest="refresh",
        action="store_const",
        const=True,
        default=None,
        help="DB refresh = yes (neither flag: the plan's preset, yes for a cloud tenant's "
        "production/sandbox, R9)",
    )
    refresh.add_argument(
        "--no-refresh", dest="refresh", action="store_const", const=False, help="DB refresh = no"
    )
    sp.add_argument("--key", help="idempotency key: a retry returns the first request")
    sp.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="RULE",
        help="provider only: accept the request although RULE refuses it (repeatable; "
        "never R22 or the structural R1, R2, R3, R4, R6, R12, R17); needs --reason",
    )
    sp.add_argument("--reason", help="provider only: why the rules are overridden (history)")
    sp.add_argument("--by", default="provider", help="provider only: who overrides (history)")
    when(sp)

    sp = add(
        "submit-many",
        commands.cmd_submit_many,
        "submit a CSV or JSON-lines file of drafts in one transaction (one answer per line)",
    )
    who(sp)
    sp.add_argument(
        "file",
        help="columns or keys: tenant, target, version, refresh, at, zone, ambiguous, key "
        "(.csv with a header row; .jsonl one object a line; - reads JSON lines from stdin)",
    )

    sp = add("list", commands.cmd_list, "a tenant's requests, newest first (R19)")
    who(sp)
    sp.add_argument("--tenant", help="tenant ID (default: the contact's only tenant)")
    sp.add_argument("--hide-complete", action="store_true", help="leave out completed requests")
    sp.add_argument("--offset", type=int, default=0, help="skip this many (default: 0)")
    sp.add_argument("--limit", type=int, default=50, help="at most this many (default: 50)")

    sp = add("overview", commands.cmd_overview, "a tenant's sites: current and scheduled (R21)")
    who(sp)
    sp.add_argument("--tenant", help="tenant ID (default: the contact's only tenant)")

    for name, help_ in (
        ("cancel", "cancel a To Be Scheduled or Scheduled request (R16)"),
        ("delete", "delete a completed request from view (R18)"),
    ):
        sp = add(name, commands.cmd_contact_action(name), help_)
        who(sp)
        sp.add_argument("request", help="the request's ID (any unambiguous prefix)")
    sp = add("answer", commands.cmd_contact_action("answer"), "answer a Pending Input question")
    who(sp)
    sp.add_argument("request", help="the request's ID (any unambiguous prefix)")
    sp.add_argument("text", help="the answer")

    sp = add(
        "stage",
        commands.cmd_stage,
        "update staging, then production after a soak and your confirmation",
    )
    who(sp)
    sp.add_argument("--tenant", help="tenant ID (default: the contact's only tenant)")
    sp.add_argument("--version", required=True, help="version for both, e.g. E.1505.2")
    sp.add_argument("--soak-hours", type=float, help="hours between staging and production")
    when(sp)
    for name, help_ in (
        ("approve", "let a staged production update go ahead (staging completed)"),
        ("decline", "release a staged production update after staging"),
    ):
        sp = add(name, commands.cmd_contact_action(name), help_)
        who(sp)
        sp.add_argument("request", help="the request's ID (any unambiguous prefix)")
    sp = add("postpone", commands.cmd_postpone, "defer a scheduled request (limited)")
    who(sp)
    sp.add_argument("request", help="the request's ID (any unambiguous prefix)")
    how = sp.add_mutually_exclusive_group(required=True)
    how.add_argument("--next-window", action="store_true", help="to the next available window")
    how.add_argument("--days", type=int, help="skip this many days")

    sp = add(
        "stages",
        commands.cmd_stages,
        "provider: release production whose staging failed, approve soaked ones (setting)",
    )
    sp.add_argument("--by", default="planner", help="who acts (kept in the history)")

    sp = add(
        "queue", commands.cmd_queue, "provider: the To Be Scheduled queue, first come first served"
    )
    sp.add_argument("--offset", type=int, default=0, help="skip this many (default: 0)")
    sp.add_argument("--limit", type=int, default=1000, help="at most this many (default: 1000)")

    sp = add("show", commands.cmd_show, "provider: a request and its full history")
    sp.add_argument("request", help="the request's ID (any unambiguous prefix)")

    def provider(name: str, action: str, help_: str, text: Optional[str] = None) -> None:
        sp = add(name, commands.cmd_provider_action(action), f"provider: {help_}")
        if action == "schedule":
            sp.add_argument("request", nargs="?", help="a request to place by hand (override)")
            sp.add_argument("--dry-run", action="store_true", help="show the plan, store nothing")
            sp.add_argument("--horizon-days", type=int, default=180, help="how far to plan")
            sp.add_argument("--reason", help="why the provider overrides the plan (R13)")
            sp.add_argument(
                "--what-if",
                metavar="SETUP_FILE",
                help="plan the queue under this setup's [provider] table; store nothing and "
                "show every booking that would move, with the notices it would send",
            )
        else:
            sp.add_argument("request", help="the request's ID (any unambiguous prefix)")
        sp.add_argument("--by", default="provider", help="who acts (kept in the history)")
        if text:
            said = {"QUESTION": "the question", "NOTE": "how it was answered",
                    "REASON": "why (told to the contact)"}  # fmt: skip
            sp.add_argument("text", metavar=text, help=said[text])
        if action in ("schedule", "reschedule"):
            when(sp, required=action == "reschedule")
            sp.add_argument(
                "--allow-past", action="store_true", help="accept a date that has passed"
            )
        if action == "reschedule":
            sp.add_argument("--reason", help="the provider's: told to the contact (R13)")
            sp.add_argument(
                "--as",
                dest="contact",
                metavar="CONTACT",
                help="a contact moves the preferred start of their own request, until the "
                "provider's cut-off (48 h by default) before its scheduled start",
            )

    provider(
        "schedule",
        "schedule",
        "plan the queue first come first served (no REQUEST), or place one request by hand",
    )
    provider(
        "reschedule",
        "reschedule",
        "move a scheduled date with a reason; with --as CONTACT, the contact moves "
        "their request's preferred start (it keeps its place in the queue)",
    )
    provider("pull", "pull", "take a scheduled request from the queue (Not Started)")
    provider("start", "start", "begin the update (In Progress)")
    provider("complete", "complete", "finish the update (Completed)")
    provider("ask", "ask_input", "ask the contact a question (Pending Input)", "QUESTION")
    provider(
        "answered",
        "mark_answered",
        "record the answer to a question the contact gave another way, e.g. by phone "
        "(back to the status it was asked in)",
        "NOTE",
    )
    provider("defer", "defer", "put on hold (Deferred)", "REASON")
    provider("resume", "resume", "take a deferred request back into the queue")
    provider("fail", "fail", "give up, telling the contact why (Unable to Complete)", "REASON")

    sp = add(
        "explain",
        commands.cmd_explain,
        "why a request has, or would get, its date (with --as CONTACT: the contact's view)",
    )
    sp.add_argument("request", help="the request's ID (any unambiguous prefix)")
    sp.add_argument("--horizon-days", type=int, default=180,
                    help="how far ahead to plan, in days (default: 180)")  # fmt: skip
    sp.add_argument(
        "--as",
        dest="contact",
        metavar="CONTACT",
        help="explain to this contact: their own request only, nothing about other tenants",
    )

    sp = add(
        "feed",
        commands.cmd_feed,
        "print an iCalendar feed (needs siteupdates-ical): with --as CONTACT their tenants' "
        "updates only (R22), else every tenant's; reminders as alarms",
    )
    sp.add_argument(
        "--as",
        dest="contact",
        metavar="CONTACT",
        help="the contact whose feed it is: only the tenants connected to them",
    )

    sp = add(
        "group-update", commands.cmd_group, "provider: one version update for a whole group (R10)"
    )
    sp.add_argument("group", help="the group")
    sp.add_argument("--target", required=True, help="production/sandbox, staging or preview")
    sp.add_argument("--version", required=True, help="the version, e.g. E.1505.2")
    sp.add_argument("--by", default="provider", help="who acts (kept in the history)")
    sp.add_argument("--horizon-days", type=int, default=180,
                    help="how far ahead to plan, in days (default: 180)")  # fmt: skip
    when(sp)

    sp = add("cloud-week", commands.cmd_cloud, "provider: book the weekly automatic updates (R8)")
    sp.add_argument("--week-of", required=True, help="a date in the week, YYYY-MM-DD")
    sp.add_argument("--by", default="provider", help="who acts (kept in the history)")

    sp = add("worker", commands.cmd_worker, "run a hosting worker until stopped (SIGTERM)")
    worker_arguments(sp)
    sp.set_defaults(long_running=True)

    sp = add(
        "deliver",
        commands.cmd_deliver,
        "deliver due notices, reminders and calendar entries from the outbox "
        "(each claimed first: any number of deliverers may run)",
    )
    sp.add_argument("--max-attempts", type=count, default=8,
                    help="attempts before an item is dead (default: 8)")  # fmt: skip
    sp.add_argument("--timeout", type=seconds, default=30.0, help="seconds per delivery")
    sp.add_argument("--base-delay", type=delay, default=30.0, help="first retry delay, seconds")
    sp.add_argument("--batch", type=count, default=100, help="items claimed at a time")
    sp.add_argument(
        "--lease", type=seconds, default=None,
        help="seconds a claim lasts unless renewed (default: 3 timeouts, at least 30)",
    )  # fmt: skip
    sp.add_argument(
        "--loop", action="store_true",
        help="keep delivering (reminders fire on time) until SIGTERM",
    )  # fmt: skip
    sp.add_argument("--poll", type=seconds, default=30.0, help="seconds between passes (--loop)")
    sp.set_defaults(long_running=True)

    _executor_commands(add)

    sp = add("outbox", commands.cmd_outbox, "provider: outgoing notices and their delivery state")
    sp.add_argument("--request", help="only this request's items")
    if isinstance(sp, argparse.ArgumentParser):  # the states' enum loads the outbox values
        sp.add_argument("--state", choices=[s.value for s in ports.OutboxState],
                        help="only items in this state")  # fmt: skip
    osub = sp.add_subparsers(
        dest="outbox_command",
        metavar="ACTION",
        parser_class=type(sp),
        help="retry: requeue dead items (without: list the items)",
    )
    rp = osub.add_parser(
        "retry",
        help="requeue dead items (by key, or every dead one with --dead)",
        description="Requeue dead outbox items: due at once, attempts reset; logged.",
    )
    rp.set_defaults(func=commands.cmd_outbox_retry, reads=False)
    rp.add_argument(
        "keys", nargs="*", metavar="KEY", help="outbox keys (see 'outbox --state dead')"
    )
    rp.add_argument("--dead", action="store_true", help="every dead item")
    rp.add_argument("--by", default="provider", help="who requeues (kept in the item's log)")


def _executor_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """``dispatch`` and ``report``: due updates handed to an engine, and its reports back."""
    sp = add(
        "dispatch",
        commands.cmd_dispatch,
        "hand due updates to the executor (Celery, ...) until stopped (SIGTERM)",
    )
    sp.add_argument("--id", help="this dispatcher's name, kept in the history (no '#')")
    sp.add_argument("--lease", type=float, default=300.0,
                    help="lease seconds a running update renews (heartbeat)")  # fmt: skip
    sp.add_argument("--start-within", type=float,
                    help="seconds the engine has to start a run (default: --lease)")  # fmt: skip
    sp.add_argument("--max-attempts", type=int, default=3, help="starts before giving up")
    sp.add_argument("--max-waiting", type=int,
                    help="claim nothing while this many runs wait to start")  # fmt: skip
    sp.add_argument("--batch", type=int, default=10, help="requests claimed at a time")
    sp.add_argument("--poll", type=float, default=5.0, help="seconds between polls when idle")
    sp.add_argument("--until-idle", action="store_true", help="stop when nothing is due")
    sp.add_argument(
        "--local", action="store_true", help="run updates here, through the perform_update plugin"
    )
    sp.add_argument("--status", metavar="REQUEST", help="ask the engine about a run; no loop")
    sp.add_argument("--cancel", metavar="REQUEST", help="stop a run (needs --reason); no loop")
    sp.add_argument("--reason", help="with --cancel: told to the contact")
    sp.add_argument("--by", default="provider", help="with --cancel: who acts")

    sp = add("report", commands.cmd_report, "an engine reports on a run, with its fencing token")
    sp.add_argument("request", help="the run's ID (the request ID)")
    sp.add_argument("token", help="the run's fencing token")
    sp.add_argument("outcome", help="started, completed, failed or needs-input")
    sp.add_argument(
        "--reason", help="failed: why; needs-input: the question (told to the contact)"
    )
