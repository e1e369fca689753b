"""The command line's root grammar: the groups, the global options, "did you mean", lazily built.

The groups' commands come from the declarations (:mod:`.generated`), the 0.2
commands from :mod:`.flat`; only the command being run is built.
"""

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
    List,
    NoReturn,
    Optional,
    Sequence,
    Tuple,
    cast,
)

from . import commands
from .flat import (
    ALIASES,
    READS,
    add_flat_commands,
    count,
    delay,
    seconds,
    submit_many_arguments,
    worker_arguments,
)
from .generated import GROUPS, add_group
from .inputs import EXIT

if TYPE_CHECKING:
    pass

__all__ = ["ALIASES", "build_parser", "command_words", "count", "delay", "parsers", "seconds"]


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
        "--log-format",
        default=d("text"),
        choices=["text", "json"],
        help=h("the long-running commands' log lines: text, or one JSON object a line"),
    )
    p.add_argument(
        "--metrics-port",
        default=d(None),
        type=_port,
        metavar="PORT",
        help=h("long-running commands: serve Prometheus metrics on this port (needs "
               "siteupdates[metrics]; 0 picks a free one)"),
    )  # fmt: skip
    p.add_argument(
        "--metrics-addr",
        default=d("127.0.0.1"),
        metavar="ADDRESS",
        help=h("the address --metrics-port binds (default: 127.0.0.1, loopback only)"),
    )
    p.add_argument(
        "--now",
        default=d(None),
        help=h("pretend the time is this ISO instant (replays, demos); or $SITEUPDATES_NOW"),
    )


def _port(text: str) -> int:
    """A TCP port, 0 to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, not {text!r}")
    return value


#: The options every command takes that are followed by a value (``--db FILE``).
_VALUED = frozenset({"--db", "--url", "--smtp", "--plugin", "--set", "--now", "--log-level",
                     "--log-format", "--metrics-port", "--metrics-addr"})  # fmt: skip
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
        worker_arguments(sp)
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
        submit_many_arguments(sp)
        sp.set_defaults(func=commands.cmd_submit_many)


def print_completion(desk: object, a: argparse.Namespace, out: object) -> int:
    """``completion SHELL``: the shell's completion script, generated from the whole grammar.

    shtab writes it from the argparse tree (every group, command, option and
    choice); no storage is opened.
    """
    import shtab

    if a.shell not in shtab.SUPPORTED_SHELLS:
        # shtab gained fish in releases that need Python 3.9 or newer.
        from siteupdates.errors import ConfigurationError

        raise ConfigurationError(
            f"completion for {a.shell} needs a newer shtab than the one installed "
            f"({', '.join(shtab.SUPPORTED_SHELLS)} only): pip install -U shtab (Python 3.9+)"
        )
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
        sp.set_defaults(func=fn, alias=name, reads=name in READS)
        return sp

    add_flat_commands(add)
    return p
