"""``manage.py siteupdates COMMAND ...``: the siteupdates command line on the settings' store.

``worker``, ``deliver``, ``dispatch``, ``apply`` and ``schedule`` are short for
``ops worker``, ``ops deliver``, ``ops dispatch``, ``provider apply`` and
``provider plan``; any other command of ``siteupdates --help`` runs as it is
(``manage.py siteupdates provider queue``). The store is the ``SITEUPDATES``
setting's unless ``--url`` or ``--db`` is given. Everything after the command
goes to the command line unchanged, so its options, output and exit statuses
are the same.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Sequence

from django.core.management.base import BaseCommand, CommandParser

from ... import conf

__all__ = ["SHORT", "Command", "command_line"]

#: The long-running parts by the names the issue gives them.
SHORT: Dict[str, List[str]] = {
    "worker": ["ops", "worker"],
    "deliver": ["ops", "deliver"],
    "dispatch": ["ops", "dispatch"],
    "apply": ["provider", "apply"],
    "schedule": ["provider", "plan"],
}


def command_line(argv: Sequence[str]) -> List[str]:
    """The ``siteupdates`` arguments that ``manage.py siteupdates ARGV`` runs."""
    args = list(argv)
    if args and args[0] in SHORT:
        args = SHORT[args[0]] + args[1:]
    given = {a.split("=", 1)[0] for a in args}
    if not {"--url", "--db"} & given and args and args[0] not in ("-h", "--help", "--version"):
        args = ["--url", conf.store_url(), *args]
    return args


class Command(BaseCommand):
    """Run a siteupdates command on the store of the ``SITEUPDATES`` setting."""

    help = (
        "Run the siteupdates command line on the SITEUPDATES store: worker, deliver, dispatch, "
        "apply, schedule (ops worker, ops deliver, ops dispatch, provider apply, provider "
        "plan), or any siteupdates command."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Everything after the command goes to the command line as it is."""
        parser.add_argument("command", help="worker, deliver, dispatch, apply, schedule, ...")
        parser.add_argument("args", nargs="...", help="the command's own arguments")

    def run_from_argv(self, argv: List[str]) -> None:
        """Pass the arguments through untouched (Django's own options included)."""
        # argv: [manage.py, siteupdates, ...]; Django's parser would take --help and
        # --settings for itself, and the command line's options are its own.
        code = self.run(argv[2:])
        if code:
            sys.exit(code)

    def handle(self, *args: Any, **options: Any) -> None:
        """``call_command("siteupdates", "deliver", ...)``: exit status other than 0 raises."""
        code = self.run([options["command"], *args])
        if code:
            from django.core.management.base import CommandError

            raise CommandError(f"siteupdates exited with status {code}", returncode=code)

    @staticmethod
    def run(argv: Sequence[str]) -> int:
        """Run the command line; return its exit status."""
        from siteupdates.cli import main

        return main(command_line(argv))
