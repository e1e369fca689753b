"""Where the command line's logs go: the one place the command line configures logging.

The library only adds a :class:`logging.NullHandler` (:mod:`siteupdates.logs`);
the long-running commands (``ops worker``, ``ops deliver --loop``, ``ops
dispatch --loop``, and their 0.2 names) call :func:`configure_logging`, which
puts one line per record on standard error: an ISO 8601 UTC timestamp, the
level, the logger and the message. ``--log-level LEVEL`` and ``-v`` at the root
choose the level (:func:`choose`). A later ``--log-format json`` passes its
format here: :func:`configure_logging` is the seam.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    import logging

__all__ = ["choose", "configure_logging", "level", "utc_formatter"]

_CHOSEN = ["INFO"]


def choose(log_level: Optional[str], verbose: int) -> None:
    """Record the level the command line asked for (``-v`` is DEBUG)."""
    _CHOSEN[0] = "DEBUG" if verbose else (log_level or "INFO")


def level() -> str:
    """The level chosen on the command line (INFO unless asked)."""
    return _CHOSEN[0]


def utc_formatter() -> logging.Formatter:
    """``2026-12-05T10:39:00.123Z INFO siteupdates.worker: message`` (logging loads here)."""
    import logging
    import time

    class UtcFormatter(logging.Formatter):
        def formatTime(self, record: logging.LogRecord, datefmt: Optional[str] = None) -> str:  # noqa: N802
            """The record's instant in UTC, ISO 8601 with milliseconds and ``Z``."""
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            return f"{stamp}.{int(record.msecs):03d}Z"

    return UtcFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def configure_logging(
    log_level: Optional[str] = None, log_format: str = "text"
) -> Callable[[], None]:
    """Send the library's logs to standard error; return the function that undoes it.

    ``log_level`` defaults to the one chosen on the command line; ``log_format``
    is ``"text"`` (the only one so far).
    """
    import logging

    from siteupdates.logs import logger

    if log_format != "text":  # pragma: no cover - the seam for --log-format json
        raise ValueError(f"unknown log format {log_format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(utc_formatter())
    wanted: Any = getattr(logging, log_level or level())
    handler.setLevel(wanted)
    log = logger("siteupdates")
    before = log.level
    log.addHandler(handler)
    log.setLevel(wanted)

    def undo() -> None:
        log.removeHandler(handler)
        log.setLevel(before)

    return undo
