"""The command line's grammar: every command, option and help text, and the exit statuses."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Optional, Sequence, cast

from siteupdates import ports

from . import commands
from .inputs import DATE_FORMS, EXIT

if TYPE_CHECKING:
    pass

__all__ = ["build_parser"]


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


class _Version(argparse.Action):
    """``--version``: reads the installed metadata only when asked (it costs ~15 ms)."""

    def __init__(self, option_strings: Any, dest: str, **kw: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kw)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(f"siteupdates {package_version()}")  # stdout, as argparse's own action
        parser.exit(0)


def package_version() -> str:
    """The installed version of siteupdates."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("siteupdates")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def _columns() -> int:
    """The terminal's width, found as :func:`shutil.get_terminal_size` finds it.

    $COLUMNS, else the terminal's, else 80; without importing shutil, which costs
    ~4 ms of every start.
    """
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Help(argparse.HelpFormatter):
    """argparse's own help layout, its width found by :func:`_columns`."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: Optional[int] = None,
    ) -> None:
        super().__init__(
            prog, indent_increment, max_help_position, _columns() - 2 if width is None else width
        )


class Parser(argparse.ArgumentParser):
    """Usage errors exit with the documented status 2, in one line (JSON with ``--json``)."""

    #: Set by :func:`siteupdates.cli.main` when ``--json`` is on the command line.
    json_errors = False

    def __init__(self, *args: Any, listed_only: bool = False, **kwargs: Any) -> None:
        if listed_only:
            # A command listed but not built (see build_parser): it never parses, and
            # skipping argparse's set-up (its gettext look-ups) saves ~0.4 ms each.
            self.prog = kwargs.get("prog", "")
            return
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if Parser.json_errors:
            body = {
                "error": {
                    "type": "UsageError",
                    "exit": EXIT["usage"],
                    "message": message,
                    "rules": [],
                    "refusals": [],
                }
            }
            self.exit(EXIT["usage"], json.dumps(body, sort_keys=True) + "\n")
        self.exit(EXIT["usage"], f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _globals(p: argparse.ArgumentParser, suppress: bool) -> None:
    """The options every command takes, before or after its name.

    On a command's own parser their defaults are suppressed, so that an option
    given before the command keeps its value when it is not repeated after.
    """

    def d(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    p.add_argument(
        "--db", default=d(None), help="SQLite file (default: siteupdates.db, or $SITEUPDATES_URL)"
    )
    p.add_argument(
        "--url", default=d(None), help="storage URL, e.g. sqlite:///x.db or postgresql://..."
    )
    p.add_argument(
        "--json",
        action="store_true",
        default=d(False),
        help="print JSON for programs (keys: docs/setup.md); errors as JSON on stderr",
    )
    p.add_argument(
        "--smtp",
        metavar="URL",
        default=d(None),
        help="send notices by email: smtp://host:port?from=sender@example.org "
        "(or $SITEUPDATES_SMTP_URL)",
    )
    p.add_argument(
        "--plugin",
        action="append",
        default=d([]),
        metavar="MODULE[:ATTR]",
        help="also load this plugin (a module, or an object or class in it); repeatable",
    )
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=d([]),
        metavar="PLUGIN.KEY=VALUE",
        help="a plugin setting over the stored [plugins.PLUGIN] table; repeatable",
    )
    p.add_argument(
        "--now",
        default=d(None),
        help="pretend the time is this ISO instant (replays, demos); or $SITEUPDATES_NOW",
    )


#: The options every command takes that are followed by a value (``--db FILE``).
_VALUED = frozenset({"--db", "--url", "--smtp", "--plugin", "--set", "--now"})
#: The ones that take none.
_FLAGS = frozenset({"--json"})


def command_word(args: Sequence[str]) -> Optional[str]:
    """The command a command line names, when it is certain without parsing; else None.

    Only the global options (spelled in full) may come before it; anything else
    (an abbreviation, ``--help``, ``--version``, no command) is None, and the whole
    grammar is built as before.
    """
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _VALUED:
            skip = True
        elif arg in _FLAGS or arg.split("=", 1)[0] in _VALUED:
            continue
        elif arg.startswith("-"):
            return None
        else:
            return arg
    return None


class _Unused:
    """Stands in for the parser of a command that is not being run: takes every call."""

    def __getattr__(self, name: str) -> Callable[..., _Unused]:
        return lambda *args, **kwargs: self


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The argument parser, with ``--help`` on every command.

    With ``command`` (see :func:`command_word`), only that command's grammar is
    built; the others are listed, so usage and "invalid choice" read the same,
    but get no arguments: a run builds one command's grammar, not forty (about
    15 ms of every start).
    """
    p = Parser(
        prog="siteupdates",
        description="Update requests for hosted sites: submit, schedule, run, tell. "
        "The options below may also follow the command.",
        epilog="Exit status: 0 done, 1 refused by a rule (every refusal names its rule), "
        "2 bad input or usage, 3 unknown or not yours (R22), 4 conflict (try again), "
        "5 setup or storage problem.",
    )
    p.add_argument("--version", action=_Version, help="print the installed version and exit")
    _globals(p, suppress=False)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    def add(name: str, fn: Callable[..., int], help: str) -> argparse.ArgumentParser:
        if command is not None and name != command:
            sub.add_parser(name, help=help, listed_only=True)
            return cast(argparse.ArgumentParser, _Unused())
        sp = sub.add_parser(name, help=help, description=help)
        _globals(sp, suppress=True)
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
        sp.add_argument("request")
    sp = add("postpone", commands.cmd_postpone, "defer a scheduled request (limited)")
    who(sp)
    sp.add_argument("request")
    how = sp.add_mutually_exclusive_group(required=True)
    how.add_argument("--next-window", action="store_true", help="to the next available window")
    how.add_argument("--days", type=int, help="skip this many days")

    sp = add(
        "stages",
        commands.cmd_stages,
        "provider: release production whose staging failed, approve soaked ones (setting)",
    )
    sp.add_argument("--by", default="planner")

    sp = add(
        "queue", commands.cmd_queue, "provider: the To Be Scheduled queue, first come first served"
    )
    sp.add_argument("--offset", type=int, default=0)
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
            sp.add_argument(
                "--what-if",
                metavar="SETUP_FILE",
                help="plan the queue under this setup's [provider] table; store nothing and "
                "show every booking that would move, with the notices it would send",
            )
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
    sp.add_argument("request")
    sp.add_argument("--horizon-days", type=int, default=180)
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
    sp.add_argument("--lease", type=seconds, default=300.0, help="lease seconds (renewed)")
    sp.add_argument("--max-attempts", type=count, default=3)
    sp.add_argument("--batch", type=count, default=1, help="requests claimed at a time")
    sp.add_argument("--poll", type=seconds, default=5.0, help="seconds between polls when idle")
    sp.add_argument("--until-idle", action="store_true", help="stop when nothing is due")

    sp = add(
        "deliver",
        commands.cmd_deliver,
        "deliver due notices, reminders and calendar entries from the outbox "
        "(each claimed first: any number of deliverers may run)",
    )
    sp.add_argument("--max-attempts", type=count, default=8)
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

    _executor_commands(add)

    sp = add("outbox", commands.cmd_outbox, "provider: outgoing notices and their delivery state")
    sp.add_argument("--request")
    if not isinstance(sp, _Unused):  # the states' enum loads the outbox values: not for others
        sp.add_argument("--state", choices=[s.value for s in ports.OutboxState])
    osub = sp.add_subparsers(dest="outbox_command", metavar="ACTION", parser_class=Parser)
    rp = osub.add_parser(
        "retry",
        help="requeue dead items (by key, or every dead one with --dead)",
        description="Requeue dead outbox items: due at once, attempts reset; logged.",
    )
    rp.set_defaults(func=commands.cmd_outbox_retry)
    rp.add_argument(
        "keys", nargs="*", metavar="KEY", help="outbox keys (see 'outbox --state dead')"
    )
    rp.add_argument("--dead", action="store_true", help="every dead item")
    rp.add_argument("--by", default="provider", help="who requeues (kept in the item's log)")
    return p


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
