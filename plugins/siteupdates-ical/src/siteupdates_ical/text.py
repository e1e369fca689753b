r"""Text as an iCalendar TEXT value can carry it, and a check of every file written.

RFC 5545 TEXT has one line-break escape (``\n``) and no way to carry a carriage
return, so CR LF and a lone CR become LF before any text reaches the library.
``icalendar`` reads a backslash followed by a capital N as a line break; that
pair is turned into a line break here too, so what is written is exactly what
any reader gets back.
"""

from __future__ import annotations

from typing import List, Tuple

import icalendar

from siteupdates.errors import StorageError

__all__ = ["canonical_text", "serialize"]


def canonical_text(text: str) -> str:
    r"""``text`` as it reads back from a calendar: CR LF, CR and ``\N`` become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\\N", "\n")


def _fingerprint(cal: icalendar.Calendar) -> List[Tuple[str, str, str]]:
    return [
        (str(e.get("UID", "")), str(e.get("SUMMARY", "")), str(e.get("DESCRIPTION", "")))
        for e in cal.walk("VEVENT")
    ]


def serialize(cal: icalendar.Calendar) -> bytes:
    """``cal`` as bytes, after checking that it parses back to the same events.

    Whatever a library version does with odd text, a file that would read back
    with other events or other text is refused here, before anything is written.
    """
    data: bytes = cal.to_ical()
    try:
        back = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise StorageError(f"refusing to write a calendar that does not parse: {exc}") from None
    if _fingerprint(back) != _fingerprint(cal):
        raise StorageError("refusing to write a calendar that reads back differently")
    return data
