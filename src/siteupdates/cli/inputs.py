"""What the command line reads: exit statuses, the ranges of its options, date and time forms.

:func:`check_arguments` is the command line's input boundary: it runs on the
parsed arguments before any storage is opened, so a bad value never reaches the
store. Every text argument is held to :func:`siteupdates.checks.text` (one line,
no control characters, valid UTF-8); every number to the range in
:data:`RANGES`; dates to :data:`siteupdates.checks.FIRST_DAY` ..
:data:`~siteupdates.checks.LAST_DAY`. A refusal is an
:class:`~siteupdates.errors.InvalidInput`, printed as one line with exit status 2.
"""

from __future__ import annotations

import argparse
from typing import Any, Mapping, Tuple

from siteupdates import checks
from siteupdates.usecases.kinds import DATE_FORMS
from siteupdates.usecases.kinds import parse_instant as instant
from siteupdates.usecases.kinds import parse_local_time as local_time

__all__ = ["DATE_FORMS", "EXIT", "RANGES", "check_arguments", "instant", "local_time", "one_line"]

EXIT = {
    "ok": 0,
    "refused": 1,
    "usage": 2,
    "access": 3,
    "conflict": 4,
    "setup": 5,
    # Never expected: an error the library did not foresee (a bug), still one line.
    "internal": 70,
}

#: The accepted range of every numeric option, by its ``dest``: (lowest, highest).
RANGES: Mapping[str, Tuple[float, float]] = {
    "offset": (0, 1_000_000_000),
    "limit": (1, 100_000),
    "horizon_days": (1, 3660),
    "lease": (1, 86_400),
    "max_attempts": (1, 1000),
    "batch": (1, 1000),
    "poll": (0.01, 3600),
    "timeout": (0.1, 3600),
    "base_delay": (0, 86_400),
}
#: Arguments that may be longer than free text: paths and URLs. (A generated
#: command's arguments, ``uc_*``, are read and checked by their use case's kinds.)
_LONG = {"file": 4096, "db": 4096, "url": 4096, "smtp": 4096}
#: How options are named in messages when their ``dest`` differs.
_SHOWN = {"contact": "--as", "settings": "--set", "file": "FILE", "request": "REQUEST",
          "text": "the text", "group": "GROUP", "week_of": "--week-of"}  # fmt: skip
_SKIP = {"func", "command", "group_command", "alias"}


def _name(dest: str) -> str:
    return _SHOWN.get(dest, "--" + dest.replace("_", "-"))


def check_arguments(a: argparse.Namespace) -> None:
    """Refuse the parsed arguments unless every one is in its documented form and range."""
    for dest, value in sorted(vars(a).items()):
        if dest in _SKIP or dest.startswith("uc_") or value is None or isinstance(value, bool):
            continue
        for item in value if isinstance(value, list) else [value]:
            _check(dest, item)


def _check(dest: str, value: Any) -> None:
    name = _name(dest)
    if isinstance(value, str):
        checks.text(name, value, limit=_LONG.get(dest, checks.MAX_TEXT))
    elif isinstance(value, int) and dest in RANGES:
        lo, hi = RANGES[dest]
        checks.count(name, value, int(lo), int(hi))
    elif isinstance(value, float) and dest in RANGES:
        lo, hi = RANGES[dest]
        checks.number(name, value, lo, hi)


def one_line(message: str) -> str:
    """``message`` as one printable line: line breaks and control characters escaped."""
    flat = " ".join(part.strip() for part in str(message).splitlines() if part.strip())
    if checks.bad_character(flat) is None:
        return flat
    return "".join(ch if checks.bad_character(ch) is None else repr(ch)[1:-1] for ch in flat)
