"""What the command line reads: exit statuses and the date and time forms it accepts."""

from __future__ import annotations

from datetime import datetime

from siteupdates.errors import InvalidInput

__all__ = ["DATE_FORMS", "EXIT", "instant", "local_time"]

EXIT = {
    "ok": 0,
    "refused": 1,
    "usage": 2,
    "access": 3,
    "conflict": 4,
    "setup": 5,
}
DATE_FORMS = "YYYY-MM-DD HH:MM (or YYYY-MM-DDTHH:MM)"


def local_time(text: str) -> datetime:
    """A wall-clock date and time as typed (read in a zone later)."""
    for form in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text.strip(), form)
        except ValueError:
            continue
    raise InvalidInput(f"malformed date-time {text!r}: expected {DATE_FORMS}", text)


def instant(text: str) -> datetime:
    """An ISO 8601 instant with an offset."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise InvalidInput(
            f"malformed instant {text!r}: expected ISO 8601 with an offset, "
            "such as 2015-02-02T10:39:00Z",
            text,
        )
    return value
