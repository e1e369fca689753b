"""The ``siteupdates`` command: every use case on a storage (SQLite by default).

Exit status: 0 done; 1 refused by a rule or not allowed in the request's status;
2 bad input or usage; 3 unknown or not yours (R22); 4 changed by someone else
(conflict, try again); 5 setup or storage problem; 70 an error siteupdates did
not foresee (a bug: please report it). Errors print one line on standard error,
never a traceback (``SITEUPDATES_DEBUG=1`` shows the traceback of a status 70);
with ``--json`` that line is a JSON object with the rule IDs of a refusal
(:func:`.render.error_json`).

The package is split by what changes together: :mod:`.parser` (the grammar),
:mod:`.commands` (one function per command, each calling the desk),
:mod:`.render` (tables and JSON) and :mod:`.inputs` (exit statuses, date forms).
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
from .parser import Parser, build_parser, command_word
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
    host = PluginHost(plugins=extra, entry_points=True)
    overrides = plugin_settings(a)
    unknown = sorted(set(overrides) - host.setting_names()) if overrides else []
    if unknown:
        raise ConfigurationError(
            f"--set names no loaded plugin: {', '.join(unknown)}; "
            f"plugins that take settings: {', '.join(sorted(host.setting_names()))}"
        )
    desk = Desk.open(
        url, host=host, clock=(lambda: fixed) if fixed else None, plugin_settings=overrides
    )
    if a.command not in ("init", "apply") and not desk.storage.has_tenants():
        desk.close()
        raise ConfigurationError(
            f"{url.split('://')[0]} storage has no setup yet; run: siteupdates apply SETUP.toml"
        )
    return desk


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
    parser = build_parser(command_word(args))
    # Usage errors are found while parsing: they follow --json wherever it stands.
    Parser.json_errors = "--json" in args[: args.index("--")] if "--" in args else "--json" in args
    try:
        a = parser.parse_args(args)
    finally:
        Parser.json_errors = False
    out = Out(a.json)
    try:
        check_arguments(a)
        desk = open_desk(a)
        try:
            return int(a.func(desk, a, out))
        finally:
            desk.close()
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
