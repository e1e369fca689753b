"""The command line's grammar: every command, option and help text, and the exit statuses."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    NoReturn,
    Optional,
    Sequence,
    Tuple,
    cast,
)

from siteupdates import ports

from . import commands
from .generated import GROUPS, add_group
from .inputs import DATE_FORMS, EXIT

if TYPE_CHECKING:
    pass

__all__ = ["ALIASES", "build_parser", "command_words", "parsers"]

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

    #: The innermost parser that parsed last (a command's own): its options are the
    #: candidates of "did you mean" for an unrecognized option.
    deepest: Optional[argparse.ArgumentParser] = None

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        Parser.deepest = self
        return super().parse_known_args(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        message += _did_you_mean(self, message)
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


def _did_you_mean(parser: argparse.ArgumentParser, message: str) -> str:
    """``; did you mean 'submit'?`` for a mistyped command, choice or option; else ""."""
    import difflib

    chosen = re.search(r"invalid choice: '([^']*)'.*?\(choose from (.*)\)", message)
    if chosen:
        word = chosen.group(1)
        candidates = [c.strip().strip("'\"") for c in chosen.group(2).split(",")]
    else:
        unknown = re.search(r"unrecognized arguments: (.*)", message)
        words = [w for w in (unknown.group(1).split() if unknown else []) if w.startswith("-")]
        if not words:
            return ""
        word = words[0].split("=", 1)[0]
        candidates = []
        for p in (Parser.deepest, parser):
            for action in p._actions if p is not None else ():
                candidates += [o for o in action.option_strings if o.startswith("--")]
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean {found[0]!r}?" if found else ""


def _globals(p: argparse.ArgumentParser, suppress: bool) -> None:
    """The options every command takes, before or after its name.

    They are documented once, at the root. On a command's own parser they are
    accepted but not shown (``siteupdates --help`` lists them), and their
    defaults are suppressed, so that an option given before the command keeps
    its value when it is not repeated after.
    """

    def d(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    def h(text: str) -> str:
        return argparse.SUPPRESS if suppress else text

    p.add_argument(
        "--db",
        default=d(None),
        help=h("SQLite file (default: siteupdates.db, or $SITEUPDATES_URL)"),
    )
    p.add_argument(
        "--url", default=d(None), help=h("storage URL, e.g. sqlite:///x.db or postgresql://...")
    )
    p.add_argument(
        "--json",
        action="store_true",
        default=d(False),
        help=h("print JSON for programs (keys: docs/setup.md); errors as JSON on stderr"),
    )
    p.add_argument(
        "--smtp",
        metavar="URL",
        default=d(None),
        help=h(
            "send notices by email: smtp://host:port?from=sender@example.org "
            "(or $SITEUPDATES_SMTP_URL)"
        ),
    )
    p.add_argument(
        "--plugin",
        action="append",
        default=d([]),
        metavar="MODULE[:ATTR]",
        help=h("also load this plugin (a module, or an object or class in it); repeatable"),
    )
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=d([]),
        metavar="PLUGIN.KEY=VALUE",
        help=h("a plugin setting over the stored [plugins.PLUGIN] table; repeatable"),
    )
    p.add_argument(
        "--log-level",
        default=d(None),
        metavar="LEVEL",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help=h("what the long-running commands log on stderr (default: INFO)"),
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=d(0),
        help=h("log more: -v is --log-level DEBUG"),
    )
    p.add_argument(
        "--now",
        default=d(None),
        help=h("pretend the time is this ISO instant (replays, demos); or $SITEUPDATES_NOW"),
    )


#: The options every command takes that are followed by a value (``--db FILE``).
_VALUED = frozenset({"--db", "--url", "--smtp", "--plugin", "--set", "--now", "--log-level"})
#: The ones that take none.
_FLAGS = frozenset({"--json", "-v", "--verbose", "-vv", "-vvv"})


def command_word(args: Sequence[str]) -> Optional[str]:
    """The command a command line names, when it is certain without parsing; else None.

    Only the global options (spelled in full) may come before it; anything else
    (an abbreviation, ``--help``, ``--version``, no command) is None, and the whole
    grammar is built as before.
    """
    return command_words(args)[0]


def command_words(args: Sequence[str]) -> Tuple[Optional[str], Optional[str]]:
    """The command and, for a group (``contact submit``), its command; None where unsure."""
    skip = False
    found: List[str] = []
    for arg in args:
        if skip:
            skip = False
        elif arg in _VALUED:
            skip = True
        elif arg in _FLAGS or arg.split("=", 1)[0] in _VALUED:
            continue
        elif arg.startswith("-") or arg == "--":
            break
        else:
            found.append(arg)
            if len(found) == 2 or found[0] not in GROUPS:
                break
    first = found[0] if found else None
    return first, (found[1] if len(found) == 2 else None)


class _Unused:
    """Stands in for the parser of a command that is not being run: takes every call."""

    def __getattr__(self, name: str) -> Callable[..., _Unused]:
        return lambda *args, **kwargs: self


def _listed(sub: Any, name: str, help: Optional[str]) -> argparse.ArgumentParser:
    """A command listed but not built (see :func:`build_parser`)."""
    if help is None:  # a 0.2 name: accepted, not listed in the help
        return cast(argparse.ArgumentParser, sub.add_parser(name, listed_only=True))
    return cast(argparse.ArgumentParser, sub.add_parser(name, help=help, listed_only=True))


def _extras(sp: argparse.ArgumentParser, group: str, name: str) -> None:
    """The global options on a group's command, and the arguments of its non-use-case forms."""
    _globals(sp, suppress=True)
    if (group, name) == ("ops", "deliver"):
        sp.add_argument("--loop", action="store_true",
                        help="keep delivering (reminders fire on time) until SIGTERM")  # fmt: skip
        sp.add_argument("--poll", type=seconds, default=30.0,
                        help="seconds between passes (--loop)")  # fmt: skip
        sp.set_defaults(func=commands.cmd_ops_deliver, long_running=True)
    elif (group, name) == ("ops", "dispatch"):
        sp.add_argument("--loop", action="store_true",
                        help="keep dispatching until SIGTERM (else one pass)")  # fmt: skip
        sp.add_argument("--poll", type=seconds, default=5.0,
                        help="seconds between polls when idle (--loop)")  # fmt: skip
        sp.add_argument("--until-idle", action="store_true",
                        help="with --loop: stop when nothing is due")  # fmt: skip
        sp.add_argument("--local", action="store_true",
                        help="run updates here, through the perform_update plugin")  # fmt: skip
        sp.set_defaults(func=commands.cmd_ops_dispatch, long_running=True)
    elif (group, name) == ("ops", "worker"):
        _worker_arguments(sp)
        sp.set_defaults(func=commands.cmd_worker, long_running=True)
    elif (group, name) == ("ops", "feed"):
        sp.add_argument(
            "--as",
            dest="contact",
            metavar="CONTACT",
            help="the contact whose feed it is: only the tenants connected to them",
        )
        sp.set_defaults(func=commands.cmd_feed, reads=True)
    elif (group, name) == ("contact", "submit-many"):
        _submit_many_arguments(sp)
        sp.set_defaults(func=commands.cmd_submit_many)


def _worker_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--id", required=True, help="this worker's name, kept in the history")
    sp.add_argument("--lease", type=seconds, default=300.0, help="lease seconds (renewed)")
    sp.add_argument("--max-attempts", type=count, default=3, help="starts before giving up")
    sp.add_argument("--batch", type=count, default=1, help="requests claimed at a time")
    sp.add_argument("--poll", type=seconds, default=5.0, help="seconds between polls when idle")
    sp.add_argument("--until-idle", action="store_true", help="stop when nothing is due")


def _submit_many_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--as", dest="contact", required=True, metavar="CONTACT",
                    help="the contact acting (R22)")  # fmt: skip
    sp.add_argument(
        "file",
        help="columns or keys: tenant, target, version, refresh, at, zone, ambiguous, key "
        "(.csv with a header row; .jsonl one object a line; - reads JSON lines from stdin)",
    )


#: The 0.2 commands that only read (they never create a store).
_READS = frozenset({"tenants", "list", "overview", "queue", "show", "explain", "audit", "feed",
                    "outbox"})  # fmt: skip


def print_completion(desk: object, a: argparse.Namespace, out: object) -> int:
    """``completion SHELL``: the shell's completion script, generated from the whole grammar.

    shtab writes it from the argparse tree (every group, command, option and
    choice); no storage is opened.
    """
    import shtab

    print(shtab.complete(build_parser(), shell=a.shell))
    return 0


def parsers(parser: argparse.ArgumentParser) -> List[argparse.ArgumentParser]:
    """``parser`` and every parser below it (groups, commands, ``outbox retry``)."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action.choices, dict):
            for child in action.choices.values():
                if isinstance(child, argparse.ArgumentParser) and hasattr(child, "_actions"):
                    found += parsers(child)
    return found


def build_parser(
    command: Optional[str] = None, subcommand: Optional[str] = None
) -> argparse.ArgumentParser:
    """The argument parser, with ``--help`` on every command.

    With ``command`` (see :func:`command_words`), only that command's grammar is
    built (for a group, only ``subcommand``'s, when given); the others are
    listed, so usage and "invalid choice" read the same, but get no arguments: a
    run builds one command's grammar, not sixty (about 15 ms of every start).
    """
    p = Parser(
        prog="siteupdates",
        description="Update requests for hosted sites: submit, schedule, run, tell. "
        "Commands are grouped by who acts: 'siteupdates contact --help', "
        "'siteupdates provider --help', 'siteupdates ops --help'. "
        "The options below may also follow the command.",
        epilog="Exit status: 0 done, 1 refused by a rule (every refusal names its rule), "
        "2 bad input or usage, 3 unknown or not yours (R22), 4 conflict (try again), "
        "5 setup or storage problem. The 0.2 commands (submit, schedule, list, ...) still "
        "work for this release and print a note naming the command that replaces them.",
    )
    p.add_argument("--version", action=_Version, help="print the installed version and exit")
    _globals(p, suppress=False)
    sub = p.add_subparsers(
        dest="command",
        metavar="COMMAND",
        parser_class=Parser,
        help="a group of commands (siteupdates GROUP --help lists them)",
    )
    sub.required = True
    for group, help_ in GROUPS.items():
        if command is not None and group != command:
            _listed(sub, group, help_)
        else:
            add_group(
                sub, group, subcommand if command == group else None, _listed, _extras, Parser
            )
    if command is None or command == "completion":
        cp = sub.add_parser("completion", help="print a shell completion script",
                            description="Print the completion script of a shell; for example "
                            "'siteupdates completion bash > ~/.local/share/bash-completion/"
                            "completions/siteupdates'.")  # fmt: skip
        cp.add_argument("shell", choices=["bash", "zsh", "fish"], help="the shell")
        cp.set_defaults(func=print_completion, no_desk=True)
    else:
        _listed(sub, "completion", "print a shell completion script")

    def add(name: str, fn: Callable[..., int], help: str) -> argparse.ArgumentParser:
        if command is not None and name != command:
            _listed(sub, name, None)
            return cast(argparse.ArgumentParser, _Unused())
        sp = sub.add_parser(
            name,
            description=f"{help[:1].upper()}{help[1:]}. (The 0.2 name, "
            f"kept for one release: use 'siteupdates {ALIASES[name]}'.)",
            epilog="Global options (--db, --json, ...): see siteupdates --help.",
        )
        _globals(sp, suppress=True)
        sp.set_defaults(func=fn, alias=name, reads=name in _READS)
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
    _worker_arguments(sp)
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
    if not isinstance(sp, _Unused):  # the states' enum loads the outbox values: not for others
        sp.add_argument("--state", choices=[s.value for s in ports.OutboxState],
                        help="only items in this state")  # fmt: skip
    osub = sp.add_subparsers(
        dest="outbox_command",
        metavar="ACTION",
        parser_class=Parser,
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
