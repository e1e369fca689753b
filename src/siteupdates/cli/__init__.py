"""The ``siteupdates`` command: every use case on a storage (SQLite by default).

Exit status: 0 done; 1 refused by a rule or not allowed in the request's status;
2 bad input or usage; 3 unknown or not yours (R22); 4 changed by someone else
(conflict, try again); 5 setup or storage problem; 70 an error siteupdates did
not foresee (a bug: please report it). Errors print one line on standard error,
never a traceback (``SITEUPDATES_DEBUG=1`` shows the traceback of a status 70);
with ``--json`` that line is a JSON object with the rule IDs of a refusal
(:func:`.render.error_json`).

Commands are grouped by who acts (``siteupdates contact submit``,
``siteupdates provider schedule``, ``siteupdates ops deliver``), one per
declared use case (:mod:`siteupdates.usecases.catalog`). The 0.2 flat names
(``submit``, ``schedule``, ...) still work for one release; after a successful
run they print a note on standard error naming the command that replaces them.

The package is split by what changes together: :mod:`.parser` (the root
grammar, global options, "did you mean"), :mod:`.flat` (the 0.2 commands'
grammar), :mod:`.generated` (the actor groups, derived from the declarations),
:mod:`.commands` (the 0.2 and long-running commands), :mod:`.views` (one view
per result type: JSON, text, schema), :mod:`.render` (tables and JSON pieces),
:mod:`.logging_setup` (where logs go) and :mod:`.inputs` (exit statuses, date
forms).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

from siteupdates import checks
from siteupdates.errors import (
    AccessDenied,
    ConfigurationError,
    ConflictError,
    NotFound,
    RequestRefused,
    SiteUpdatesError,
    StorageError,
    TransitionNotAllowed,
)
from siteupdates.plugins import PluginHost, load_plugin
from siteupdates.service import Desk

from .inputs import EXIT, check_arguments, instant, one_line
from .parser import ALIASES, Parser, build_parser, command_words
from .render import Out, error_json

__all__ = ["EXIT", "build_parser", "main"]


def plugin_settings(a: argparse.Namespace) -> Dict[str, Dict[str, Any]]:
    """The plugin settings the command line lays over the stored ones."""
    found: Dict[str, Dict[str, Any]] = {}
    smtp = a.smtp or os.environ.get("SITEUPDATES_SMTP_URL")
    if smtp:
        checks.text("the SMTP URL", smtp, limit=4096)
        found.setdefault("smtp", {})["url"] = smtp
    for item in a.settings:
        name_key, sep, value = item.partition("=")
        name, dot, key = name_key.partition(".")
        if not (sep and dot and name.strip() and key.strip()):
            raise ConfigurationError(
                f"--set takes PLUGIN.KEY=VALUE (such as smtp.timeout=5), not {item!r}"
            )
        found.setdefault(name.strip(), {})[key.strip()] = _scalar(value)
    return found


def _scalar(text: str) -> Any:
    """A ``--set`` value as TOML reads it (``5``, ``true``, ``"x"``), else the text itself."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on older Pythons
        import tomli as tomllib
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def open_desk(a: argparse.Namespace) -> Desk:
    """The desk the command acts on: storage, stored preset, every installed plugin."""
    url = a.url or (f"sqlite:///{a.db}" if a.db else None)
    url = url or os.environ.get("SITEUPDATES_URL") or "sqlite:///siteupdates.db"
    now_text = a.now or os.environ.get("SITEUPDATES_NOW")
    fixed = instant(now_text) if now_text else None
    checks.text("the storage URL", url, limit=4096)
    extra: List[object] = [load_plugin(spec) for spec in a.plugin]
    # A command that only reads registers the built-in notifiers only if it needs them.
    host = PluginHost(plugins=extra, entry_points=True, lazy_builtins=_reads(a))
    overrides = plugin_settings(a)
    unknown = sorted(set(overrides) - host.setting_names()) if overrides else []
    if unknown:
        raise ConfigurationError(
            f"--set names no loaded plugin: {', '.join(unknown)}; "
            f"plugins that take settings: {', '.join(sorted(host.setting_names()))}"
        )
    if _reads(a):
        _refuse_missing_file(url)
    desk = Desk.open(
        url, host=host, clock=(lambda: fixed) if fixed else None, plugin_settings=overrides
    )
    if (
        a.command not in ("init", "apply")
        and not getattr(a, "setup", False)
        and not desk.storage.has_tenants()
    ):
        desk.close()
        raise ConfigurationError(
            f"{url.split('://')[0]} storage has no setup yet; run: siteupdates apply SETUP.toml"
        )
    return desk


def _reads(a: argparse.Namespace) -> bool:
    """Whether the command only reads (it must never create a store)."""
    if getattr(a, "reads", False):
        return True
    if a.command == "schedule":
        return a.request is None and bool(a.dry_run or a.what_if)
    return a.command == "dispatch" and a.status is not None


def sqlite_file(url: str) -> Optional[str]:
    """The file a ``sqlite:`` URL names, read as the SQLite plugin reads it; else None.

    (The command line does not import the built-in plugin: built-ins load as
    plugins do. A URL the plugin would refuse is left for it to refuse.)
    """
    if not url.startswith("sqlite:///"):
        return None
    rest = url[len("sqlite:///") :]
    if rest.isprintable() and rest.strip() == rest and not set("?#%\\;[]@") & set(rest):
        return rest or None
    from urllib.parse import urlsplit

    path = urlsplit(url).path
    return (path[1:] if path.startswith("/") else path) or None


def _refuse_missing_file(url: str) -> None:
    """A read on a SQLite file that does not exist: say so (exit 5), create nothing."""
    path = sqlite_file(url)
    if path is not None and path != ":memory:" and not os.path.exists(path):
        raise ConfigurationError(
            f"no SQLite file at {path!r}: a read command never creates one (a mistyped "
            "--db?); a new store starts with: siteupdates provider apply SETUP.toml"
        )


def _exit_code(exc: SiteUpdatesError) -> int:
    if isinstance(exc, (RequestRefused, TransitionNotAllowed)):
        return EXIT["refused"]
    if isinstance(exc, (AccessDenied, NotFound)):
        return EXIT["access"]
    if isinstance(exc, ConflictError):
        return EXIT["conflict"]
    if isinstance(exc, (ConfigurationError, StorageError)):
        return EXIT["setup"]
    return EXIT["usage"]


def _say(message: str) -> None:
    print(one_line(message), file=sys.stderr)


def _report(exc: SiteUpdatesError, code: int, as_json: bool) -> int:
    """Print ``exc`` as one line on standard error (JSON with ``--json``); return ``code``."""
    if as_json:
        print(json.dumps(error_json(exc, code), sort_keys=True), file=sys.stderr)
    elif isinstance(exc, RequestRefused) and exc.refusals:
        # One line, every refusal: scripts read one line, people see every reason.
        _say("refused: " + "; ".join(f"{r.rule}: {r.message}" for r in exc.refusals))
    else:
        _say(f"siteupdates: {exc}")
    return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; return the exit status (usage errors exit through argparse)."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(*command_words(args))
    # Usage errors are found while parsing: they follow --json wherever it stands.
    Parser.json_errors = "--json" in args[: args.index("--")] if "--" in args else "--json" in args
    try:
        a = parser.parse_args(args)
    finally:
        Parser.json_errors = False
    out = Out(a.json)
    if a.log_level or a.verbose or __name__ + ".logging_setup" in sys.modules:
        # (loaded only when asked, or to reset an earlier in-process run's choice)
        from . import logging_setup

        logging_setup.choose(a.log_level, a.verbose)
    if getattr(a, "no_desk", False):
        try:
            return int(a.func(None, a, out))
        except SiteUpdatesError as exc:
            return _report(exc, _exit_code(exc), a.json)
    try:
        check_arguments(a)
        desk = open_desk(a)
        out.meaning = desk.meaning
        try:
            code = int(a.func(desk, a, out))
        finally:
            desk.close()
        alias = getattr(a, "alias", None)
        if code == 0 and alias:
            _say(f"siteupdates: note: '{alias}' is the 0.2 name of this command, kept for one "
                 f"release; use: siteupdates {ALIASES[alias]}")  # fmt: skip
        return code
    except SiteUpdatesError as exc:
        return _report(exc, _exit_code(exc), a.json)
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a disk, a socket or a file outside siteupdates' control
        _say(f"siteupdates: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
        return EXIT["setup"]
    except Exception as exc:
        if os.environ.get("SITEUPDATES_DEBUG"):
            raise
        _say(
            f"siteupdates: internal error {type(exc).__name__}: {exc} (a bug; please report "
            "it with the output of SITEUPDATES_DEBUG=1 siteupdates ...)"
        )
        return EXIT["internal"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
