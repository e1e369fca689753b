"""Log lines for the long-running commands: timestamps, levels and request IDs, as text or JSON.

The library itself only adds a :class:`logging.NullHandler` (:mod:`siteupdates.logs`);
a host or the command line decides where lines go. :func:`handler` builds the
handler the worker, dispatcher and deliverer write to::

    2026-03-08T04:00:01.250Z INFO siteupdates.worker [request 0815c8190a3f]: started
    {"time": "2026-03-08T04:00:01.250Z", "level": "INFO", "logger": "siteupdates.worker",
     "message": "...", "request_id": "0815c8190a3f4e84b0fdcfe59e4abcde"}

Every line written while the library works on one request (a worker's update,
a delivery; see :func:`siteupdates.observe.about`) carries that request's ID;
a host's own line can pass ``extra={"request_id": ...}``.
"""

from __future__ import annotations

import json
import logging
import time
from typing import IO, Any, Dict, Optional

from siteupdates import observe

__all__ = ["FORMATS", "JsonFormatter", "RequestIdFilter", "TextFormatter", "handler"]

#: The formats :func:`handler` writes.
FORMATS = ("text", "json")


def _utc(record: logging.LogRecord) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{stamp}.{int(record.msecs):03d}Z"


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id``: the request the code logging is about, or None."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the attribute (a line with its own ``request_id`` keeps it); never drops one."""
        if getattr(record, "request_id", None) is None:
            record.request_id = observe.current_request()
        return True


class TextFormatter(logging.Formatter):
    """``TIME LEVEL LOGGER [request ID]: message``, the time in UTC to the millisecond."""

    def format(self, record: logging.LogRecord) -> str:
        """One line (and a traceback below it, if any)."""
        rid = getattr(record, "request_id", None)
        about = f" [request {str(rid)[:12]}]" if rid else ""
        line = f"{_utc(record)} {record.levelname} {record.name}{about}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id (and exception)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        data: Dict[str, Any] = {
            "time": _utc(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def handler(
    stream: Optional[IO[str]] = None, fmt: str = "text", level: int = logging.INFO
) -> logging.Handler:
    """A handler writing ``fmt`` lines (``text`` or ``json``) to ``stream`` (standard error)."""
    if fmt not in FORMATS:
        from siteupdates.errors import InvalidInput

        raise InvalidInput(f"log format must be text or json, not {fmt!r}", fmt)
    h = logging.StreamHandler(stream)
    h.setLevel(level)
    h.addFilter(RequestIdFilter())
    h.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    return h
