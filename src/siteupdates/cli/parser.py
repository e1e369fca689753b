"""The command line's grammar: every command, option and help text, and the exit statuses."""

from __future__ import annotations

import argparse
from typing import Callable, NoReturn, Optional

from siteupdates.ports import OutboxState

from . import commands
from .inputs import DATE_FORMS, EXIT

__all__ = ["build_parser"]


class _Parser(argparse.ArgumentParser):
    """Usage errors exit with the documented status 2, in one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT["usage"], f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with ``--help`` on every command."""
    p = _Parser(
        prog="siteupdates",
        description="Update requests for hosted sites: submit, schedule, run, tell.",
        epilog="Exit status: 0 done, 1 refused, 2 bad input, 3 unknown or not yours, "
        "4 conflict (try again), 5 setup or storage problem.",
    )
    p.add_argument("--db", help="SQLite file (default: siteupdates.db, or $SITEUPDATES_URL)")
    p.add_argument("--url", help="storage URL, e.g. sqlite:///x.db or postgresql://...")
    p.add_argument("--json", action="store_true", help="print JSON for programs")
    p.add_argument(
        "--smtp",
        metavar="URL",
        help="send notices by email: smtp://host:port?from=sender@example.org "
        "(or $SITEUPDATES_SMTP_URL)",
    )
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE[:ATTR]",
        help="also load this plugin (a module, or an object or class in it); repeatable",
    )
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="PLUGIN.KEY=VALUE",
        help="a plugin setting over the stored [plugins.PLUGIN] table; repeatable",
    )
    p.add_argument(
        "--now", help="pretend the time is this ISO instant (replays, demos); or $SITEUPDATES_NOW"
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def add(name: str, fn: Callable[..., int], help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(func=fn)
        return sp

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
    sp.add_argument("--kind", choices=["tenant", "contact", "group", "catalog", "settings"])
    sp.add_argument("--key", help="one tenant, contact, group, version or setting")
    sp.add_argument("--limit", type=int, default=50)

    sp = add("tenants", commands.cmd_tenants, "list the tenants a contact may act on")
    who(sp)

    sp = add("submit", commands.cmd_submit, "submit an update or DB refresh request")
    who(sp)
    sp.add_argument("--tenant", help="tenant ID (default: the contact's only tenant)")
    sp.add_argument("--target", required=True, help="production/sandbox, staging or preview")
    sp.add_argument("--version", help="version to update to, e.g. E.1505.2")
    sp.add_argument("--refresh-only", action="store_true", help="no version change (R6)")
    sp.add_argument("--refresh", action="store_true", help="DB refresh = yes")
    sp.add_argument("--key", help="idempotency key: a retry returns the first request")
    when(sp)

    sp = add("list", commands.cmd_list, "a tenant's requests, newest first (R19)")
    who(sp)
    sp.add_argument("--tenant", help="tenant ID (default: the contact's only tenant)")
    sp.add_argument("--hide-complete", action="store_true")
    sp.add_argument("--offset", type=int, default=0)
    sp.add_argument("--limit", type=int, default=50)

    sp = add("overview", commands.cmd_overview, "a tenant's sites: current and scheduled (R21)")
    who(sp)
    sp.add_argument("--tenant", help="tenant ID (default: the contact's only tenant)")

    for name, help_ in (
        ("cancel", "cancel a To Be Scheduled or Scheduled request (R16)"),
        ("delete", "delete a completed request from view (R18)"),
    ):
        sp = add(name, commands.cmd_contact_action(name), help_)
        who(sp)
        sp.add_argument("request")
    sp = add("answer", commands.cmd_contact_action("answer"), "answer a Pending Input question")
    who(sp)
    sp.add_argument("request")
    sp.add_argument("text")

    sp = add(
        "queue", commands.cmd_queue, "provider: the To Be Scheduled queue, first come first served"
    )
    sp.add_argument("--limit", type=int, default=1000)

    sp = add("show", commands.cmd_show, "provider: a request and its full history")
    sp.add_argument("request")

    def provider(name: str, action: str, help_: str, text: Optional[str] = None) -> None:
        sp = add(name, commands.cmd_provider_action(action), f"provider: {help_}")
        if action == "schedule":
            sp.add_argument("request", nargs="?", help="a request to place by hand (override)")
            sp.add_argument("--dry-run", action="store_true", help="show the plan, store nothing")
            sp.add_argument("--horizon-days", type=int, default=180, help="how far to plan")
            sp.add_argument("--reason", help="why the provider overrides the plan (R13)")
        else:
            sp.add_argument("request")
        sp.add_argument("--by", default="provider", help="who acts (kept in the history)")
        if text:
            sp.add_argument("text", metavar=text)
        if action in ("schedule", "reschedule"):
            when(sp, required=action == "reschedule")
            sp.add_argument(
                "--allow-past", action="store_true", help="accept a date that has passed"
            )
        if action == "reschedule":
            sp.add_argument("--reason", required=True, help="told to the contact (R13)")

    provider(
        "schedule",
        "schedule",
        "plan the queue first come first served (no REQUEST), or place one request by hand",
    )
    provider("reschedule", "reschedule", "move a scheduled date, with a reason")
    provider("pull", "pull", "take a scheduled request from the queue (Not Started)")
    provider("start", "start", "begin the update (In Progress)")
    provider("complete", "complete", "finish the update (Completed)")
    provider("ask", "ask_input", "ask the contact a question (Pending Input)", "QUESTION")
    provider("defer", "defer", "put on hold (Deferred)", "REASON")
    provider("resume", "resume", "take a deferred request back into the queue")
    provider("fail", "fail", "give up, telling the contact why (Unable to Complete)", "REASON")

    sp = add(
        "explain", commands.cmd_explain, "provider: why a request has, or would get, its date"
    )
    sp.add_argument("request")
    sp.add_argument("--horizon-days", type=int, default=180)

    sp = add(
        "group-update", commands.cmd_group, "provider: one version update for a whole group (R10)"
    )
    sp.add_argument("group")
    sp.add_argument("--target", required=True)
    sp.add_argument("--version", required=True)
    sp.add_argument("--by", default="provider")
    sp.add_argument("--horizon-days", type=int, default=180)
    when(sp)

    sp = add("cloud-week", commands.cmd_cloud, "provider: book the weekly automatic updates (R8)")
    sp.add_argument("--week-of", required=True, help="a date in the week, YYYY-MM-DD")
    sp.add_argument("--by", default="provider")

    sp = add("worker", commands.cmd_worker, "run a hosting worker until stopped (SIGTERM)")
    sp.add_argument("--id", required=True, help="this worker's name, kept in the history")
    sp.add_argument("--lease", type=float, default=300.0, help="lease seconds (renewed)")
    sp.add_argument("--max-attempts", type=int, default=3)
    sp.add_argument("--batch", type=int, default=1, help="requests claimed at a time")
    sp.add_argument("--poll", type=float, default=5.0, help="seconds between polls when idle")
    sp.add_argument("--until-idle", action="store_true", help="stop when nothing is due")

    sp = add(
        "deliver", commands.cmd_deliver, "deliver due notices and calendar entries from the outbox"
    )
    sp.add_argument("--max-attempts", type=int, default=8)
    sp.add_argument("--timeout", type=float, default=30.0, help="seconds per delivery")
    sp.add_argument("--base-delay", type=float, default=30.0, help="first retry delay, seconds")

    sp = add("outbox", commands.cmd_outbox, "provider: outgoing notices and their delivery state")
    sp.add_argument("--request")
    sp.add_argument("--state", choices=[s.value for s in OutboxState])
    return p
