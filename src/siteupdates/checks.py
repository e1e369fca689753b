"""The checks every value passes where it enters: text, identifiers, emails, numbers, dates.

One module, used by the three boundaries (the command line, setup files and the
public methods of :class:`~siteupdates.Desk`), so a value is held to the same
rule whichever way it comes in. Each check returns the value (normalized where
that is harmless, such as an instant to UTC) or raises a
:class:`~siteupdates.errors.SiteUpdatesError` subclass whose message says what
was wrong and what would be accepted: :class:`~siteupdates.errors.WrongType`
for a wrong type, :class:`~siteupdates.errors.InvalidInput` for a value out of
range. The domain's own constructors stay as they are; these checks run once,
at the edge, not on every internal copy of a value.

The documented ranges (``docs/setup.md``, "Accepted values"):

* instants and dates: from :data:`FIRST_DAY` (1900-01-01) to :data:`LAST_DAY`
  (2999-12-31), so that every zone conversion and every planning horizon stays
  inside what :class:`datetime.datetime` can hold;
* identifiers: 1 to :data:`MAX_ID` (200) characters, no surrounding spaces;
* text: at most :data:`MAX_TEXT` (2,000) characters;
* neither holds control characters (NUL, CR, LF, TAB, ESC, DEL, C1), text that
  was not valid UTF-8 (surrogate escapes) or bidirectional overrides;
* an email is one RFC 5322 address (``local@domain``), never a list.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timezone
from typing import Any, Optional, Sequence, TypeVar, Union

from siteupdates.errors import InvalidInput, NaiveDatetime, WrongType

__all__ = [
    "FIRST_DAY",
    "LAST_DAY",
    "MAX_ID",
    "MAX_TEXT",
    "bad_character",
    "count",
    "day",
    "email",
    "flag",
    "ident",
    "instant",
    "local_time",
    "number",
    "one_of",
    "optional",
    "text",
]

UTC = timezone.utc
#: The first day an instant or date may fall on.
FIRST_DAY = date(1900, 1, 1)
#: The last day an instant or date may fall on.
LAST_DAY = date(2999, 12, 31)
#: The longest identifier, in characters.
MAX_ID = 200
#: The longest free text (a reason, a question, an answer), in characters.
MAX_TEXT = 2000

_FIRST = datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=UTC)
_AFTER_LAST = datetime(LAST_DAY.year + 1, 1, 1, tzinfo=UTC)
# C0 and C1 controls, DEL, surrogates (undecodable bytes), bidirectional overrides.
_BAD = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_NAMES = {
    "\x00": "a NUL character",
    "\n": "a line break",
    "\r": "a carriage return",
    "\t": "a tab",
    "\x1b": "an escape character",
}

T = TypeVar("T")


def bad_character(value: str) -> Optional[str]:
    """What is wrong with ``value``'s characters, or None when nothing is."""
    # Every character _BAD matches is unprintable (Cc, Cs, Cf): printable text, the
    # usual case, needs no search.
    if value.isprintable():
        return None
    m = _BAD.search(value)
    if m is None:
        return None
    ch = m.group()
    if "\ud800" <= ch <= "\udfff":
        return "bytes that are not valid UTF-8"
    if ch in _NAMES:
        return _NAMES[ch]
    if "\u202a" <= ch <= "\u2069":
        return f"a bidirectional override (U+{ord(ch):04X})"
    return f"a control character (U+{ord(ch):04X})"


def text(name: str, value: Any, *, limit: int = MAX_TEXT, empty: bool = True) -> str:
    """One line of text: a string of at most ``limit`` characters without control characters."""
    if not isinstance(value, str):
        raise WrongType(name, value, f"a string of at most {limit} characters")
    problem = bad_character(value)
    if problem is not None:
        raise InvalidInput(
            f"{name} holds {problem}: give one line of printable text", _shown(value)
        )
    if len(value) > limit:
        raise InvalidInput(
            f"{name} is {len(value)} characters long: at most {limit} are accepted",
            _shown(value),
        )
    if not empty and not value.strip():
        raise InvalidInput(f"{name} is empty: give some text", value)
    return value


def ident(name: str, value: Any) -> str:
    """An identifier: 1 to 200 printable characters, no spaces around it."""
    if not isinstance(value, str):
        raise WrongType(name, value, f"an ID (a string of 1 to {MAX_ID} characters)")
    text(name, value, limit=MAX_ID)
    if not value or value != value.strip():
        raise InvalidInput(
            f"{name} {value!r} is not an ID: expected 1 to {MAX_ID} characters "
            "without spaces around them",
            value,
        )
    return value


def email(name: str, value: Any) -> str:
    """One email address (RFC 5322 ``local@domain``): no list, no display name, no CR/LF."""
    if not isinstance(value, str):
        raise WrongType(name, value, "one email address such as 'dana@maple.example'")
    text(name, value, limit=320)
    from email.errors import HeaderParseError
    from email.headerregistry import Address

    try:
        addr = Address(addr_spec=value.strip())
    except (ValueError, IndexError, HeaderParseError, AttributeError):
        # AttributeError: the standard library's parser trips over some junk ("@[").
        addr = None
    if addr is None or not addr.username or not addr.domain or value != value.strip():
        raise InvalidInput(
            f"{name} {value!r} is not one email address: expected one address such as "
            "'dana@maple.example' (a list or a display name is not accepted)",
            value,
        )
    return value


def flag(name: str, value: Any) -> bool:
    """True or False, and nothing else (not 0, 1, 'yes' or None)."""
    if not isinstance(value, bool):
        raise WrongType(name, value, "True or False")
    return value


def count(name: str, value: Any, lo: int, hi: int) -> int:
    """A whole number from ``lo`` to ``hi``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise WrongType(name, value, f"a whole number from {lo} to {hi}")
    if not lo <= value <= hi:
        raise InvalidInput(f"{name} {_num(value)} is out of range: expected {lo} to {hi}", value)
    return value


def number(name: str, value: Any, lo: float, hi: float, *, above: bool = False) -> float:
    """A finite number from ``lo`` (exclusive with ``above``) to ``hi``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WrongType(name, value, f"a number from {lo:g} to {hi:g}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{name} must be a finite number, not {value}", value)
    low_ok = value > lo if above else value >= lo
    if not (low_ok and value <= hi):
        bound = f"above {lo:g}" if above else f"from {lo:g}"
        raise InvalidInput(
            f"{name} {_num(value)} is out of range: expected {bound} up to {hi:g}", value
        )
    return float(value)


def instant(name: str, value: Any) -> datetime:
    """A timezone-aware datetime between 1900-01-01 and 2999-12-31, returned in UTC."""
    if not isinstance(value, datetime):
        raise WrongType(name, value, "a timezone-aware datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetime(
            f"{name} {value.isoformat()} has no time zone: give an aware datetime "
            "(for example with tzinfo=timezone.utc)",
            value,
        )
    try:
        u = value.astimezone(UTC)
    except (OverflowError, ValueError):
        u = None
    if u is None or not _FIRST <= u < _AFTER_LAST:
        raise InvalidInput(f"{name} {value.isoformat()} is {_out_of_range()}", value)
    return u


def local_time(name: str, value: Any) -> datetime:
    """A naive (wall-clock) datetime between 1900-01-01 and 2999-12-31."""
    if not isinstance(value, datetime):
        raise WrongType(name, value, "a naive datetime (a wall-clock reading)")
    _in_range(name, value.date(), value)
    return value


def day(name: str, value: Any) -> date:
    """A date (not a datetime) between 1900-01-01 and 2999-12-31."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise WrongType(name, value, "a date such as date(2015, 2, 8)")
    _in_range(name, value, value)
    return value


def optional(check: Any, name: str, value: Any, *args: Any, **kw: Any) -> Any:
    """``check(name, value, ...)``, or None when ``value`` is None."""
    return None if value is None else check(name, value, *args, **kw)


def one_of(name: str, value: Any, accepted: Sequence[T]) -> T:
    """``value`` when it is one of ``accepted`` (compared as strings for str enums)."""
    shown = [str(getattr(a, "value", a)) for a in accepted]
    for a, text_ in zip(accepted, shown):
        if value is a or (isinstance(value, str) and value == text_):
            return a
    names = ", ".join(shown)
    if not isinstance(value, str):
        raise WrongType(name, value, f"one of {names}")
    raise InvalidInput(f"{name} {value!r} is not one of {names}", value)


def _in_range(name: str, d: date, given: date) -> None:
    # ``given`` is shown only in the refusal: its isoformat is not made for every call.
    if not FIRST_DAY <= d <= LAST_DAY:
        raise InvalidInput(f"{name} {given.isoformat()} is {_out_of_range()}", d)


def _out_of_range() -> str:
    return f"out of range: dates from {FIRST_DAY} to {LAST_DAY} are accepted"


def _num(value: Union[int, float]) -> str:
    text_ = str(value)
    return text_ if len(text_) <= 24 else f"{text_[:10]}...({len(text_)} digits)"


def _shown(value: str) -> str:
    return value if len(value) <= 60 else value[:57] + "..."
