"""The kinds of parameter a use case takes: each one check, one JSON schema, one text form.

Every check is one of :mod:`siteupdates.checks`, so a value is held to the same
rule whichever way it comes in (Python, the command line, a web form). The
documented ranges are those of ``docs/setup.md`` ("Accepted values").
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from typing import Any, Callable, Mapping, Sequence, Tuple

from siteupdates import checks
from siteupdates.errors import InvalidInput, WrongType

from .declare import Check, Kind

__all__ = [
    "AMBIGUITY",
    "AUDIT_KIND",
    "CALLABLE",
    "DAY",
    "DRAFT",
    "DRAFTS",
    "FLAG",
    "ID",
    "INSTANT",
    "KEY",
    "KEYS",
    "LOCAL_TIME",
    "NAMES",
    "OUTBOX_STATE",
    "OUTCOME",
    "PREFIX",
    "SETUP",
    "SETUP_OR_PRESET",
    "SHORT",
    "SOAK",
    "STATUSES",
    "TARGET",
    "TEXT",
    "TICKET",
    "TOKEN",
    "VERSION",
    "count",
    "seconds",
]

#: The wall-clock forms the command line reads (``--at``).
DATE_FORMS = "YYYY-MM-DD HH:MM (or YYYY-MM-DDTHH:MM)"
_STRING_ID = {"type": "string", "minLength": 1, "maxLength": checks.MAX_ID}


def _text(limit: int, empty: bool) -> Check:
    return lambda name, value: checks.text(name, value, limit=limit, empty=empty)


def parse_local_time(text: str) -> datetime:
    """A wall-clock date and time as typed (read in a zone later), 1900 to 2999."""
    checks.text("date-time", text, limit=64)
    for form in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            value = datetime.strptime(text.strip(), form)
        except ValueError:
            continue
        return checks.local_time("date-time", value)
    raise InvalidInput(f"malformed date-time {text!r}: expected {DATE_FORMS}", text)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with an offset, 1900 to 2999."""
    checks.text("instant", text, limit=64)
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
    return checks.instant("instant", value)


def parse_day(text: str) -> date:
    """A date typed as YYYY-MM-DD, 1900 to 2999."""
    checks.text("date", text, limit=64)
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"malformed date {text!r}: expected YYYY-MM-DD", text) from None
    return checks.day("date", value)


def _parse_number(kind: Callable[[str], Any], words: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        checks.text("number", text, limit=64)
        try:
            return kind(text.strip())
        except ValueError:
            raise InvalidInput(f"not {words}: {text!r}", text) from None

    return parse


def count(lo: int, hi: int) -> Kind:
    """A whole number from ``lo`` to ``hi``."""
    return Kind(
        check=lambda name, value: checks.count(name, value, lo, hi),
        schema={"type": "integer", "minimum": lo, "maximum": hi},
        annotation="int",
        metavar="N",
        parse=_parse_number(int, "a whole number"),
    )


def seconds(lo: float, hi: float, *, above: bool = False) -> Kind:
    """A finite number of seconds from ``lo`` (exclusive with ``above``) to ``hi``."""
    bound = {"exclusiveMinimum": lo} if above else {"minimum": lo}
    return Kind(
        check=lambda name, value: checks.number(name, value, lo, hi, above=above),
        schema={"type": "number", **bound, "maximum": hi},
        annotation="float",
        metavar="SECONDS",
        parse=_parse_number(float, "a number"),
    )


def _target(name: str, value: Any) -> Any:
    if type(value) is str:  # the usual spelling: no import to look up (a Target is a str subclass)
        return checks.text(name, value, limit=64)
    from siteupdates.domain.model import Target

    return value if isinstance(value, Target) else checks.text(name, value, limit=64)


def _version(name: str, value: Any) -> Any:
    if type(value) is str:
        return checks.text(name, value, limit=64)
    from siteupdates.domain.model import Version

    return value if isinstance(value, Version) else checks.text(name, value, limit=64)


def _ambiguity(name: str, value: Any) -> Any:
    from siteupdates.domain.timeutil import Ambiguity

    return checks.one_of(name, value, list(Ambiguity))


def _draft(name: str, value: Any) -> Any:
    # The policies load with the first draft, not with the facade.
    from siteupdates.domain.policies import RequestDraft

    if not isinstance(value, RequestDraft):
        raise WrongType(name, value, "a RequestDraft")
    checks.ident(f"{name}.tenant_id", value.tenant_id)
    if value.local_start is not None:
        checks.local_time(f"{name}.local_start", value.local_start)
    if value.zone is not None:
        checks.text(f"{name}.zone", value.zone, limit=64)
    if value.db_refresh is not None:
        checks.flag(f"{name}.db_refresh", value.db_refresh)
    return value


def _drafts(name: str, value: Any) -> Any:
    from siteupdates.domain.policies import RequestDraft

    if isinstance(value, (str, bytes, Mapping, RequestDraft)) or not hasattr(value, "__iter__"):
        raise WrongType(name, value, "a list of RequestDraft")
    return value


def _list_of(item: Check, words: str) -> Check:
    def check(name: str, value: Any) -> Tuple[Any, ...]:
        if not isinstance(value, (list, tuple, set, frozenset)):
            raise WrongType(name, value, words)
        return tuple(item(f"{name}[{i}]", v) for i, v in enumerate(value))

    return check


def _optional_key(name: str, value: Any) -> Any:
    return None if value is None else checks.text(name, value, limit=checks.MAX_ID, empty=False)


def _setup(name: str, value: Any) -> Any:
    from siteupdates import ports

    if isinstance(value, (ports.Setup, Mapping)):
        return value
    if isinstance(value, (str, os.PathLike)):
        checks.text(name, str(value), limit=4096, empty=False)
        return value
    raise WrongType(name, value, "a Setup, a setup file's path or its tables")


def _setup_or_preset(name: str, value: Any) -> Any:
    from siteupdates.domain.preset import ProviderPreset

    return value if isinstance(value, ProviderPreset) else _setup(name, value)


def _soak(name: str, value: Any) -> timedelta:
    if not isinstance(value, timedelta):
        raise WrongType(name, value, "a timedelta")
    if not timedelta(0) <= value <= timedelta(days=3660):
        raise InvalidInput(f"{name} {value} is out of range: expected 0 to 3660 days", None)
    return value


def _parse_hours(text: str) -> timedelta:
    hours = checks.number("hours", _parse_number(float, "a number of hours")(text), 0, 87_840)
    return timedelta(hours=hours)


def _token(name: str, value: Any) -> int:
    if isinstance(value, str):
        checks.text(name, value, limit=32, empty=False)
        if value.strip().isdigit() and value.strip().isascii():
            value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**62:
        raise InvalidInput(
            f"{name} is the whole number (1 or more) the run was given, not {value!r}", None
        )
    return value


def _instance(path: str, words: str) -> Check:
    """An instance of the class at ``"module:Class"`` (imported at the first call)."""
    found: list[Any] = []

    def check(name: str, value: Any) -> Any:
        if not found:
            from .declare import resolve

            found.append(resolve(path))
        if not isinstance(value, found[0]):
            raise WrongType(name, value, words)
        return value

    return check


def _callable(name: str, value: Any) -> Any:
    if not callable(value):
        raise WrongType(name, value, "a function")
    return value


def _choices(accepted: Sequence[str]) -> Check:
    return lambda name, value: checks.one_of(name, value, list(accepted))


#: An identifier (a contact, tenant, request, group or person): 1 to 200 characters.
ID = Kind(checks.ident, _STRING_ID, "str", metavar="ID")
#: The start of a request ID, as people paste it (the use case strips spaces).
PREFIX = Kind(_text(checks.MAX_ID, False), _STRING_ID, "str", metavar="PREFIX")
#: Text a person reads (a reason, a question, an answer): one non-empty line.
TEXT = Kind(_text(checks.MAX_TEXT, False),
            {"type": "string", "minLength": 1, "maxLength": checks.MAX_TEXT}, "str")  # fmt: skip
#: A short name (a zone): at most 64 characters.
SHORT = Kind(_text(64, True), {"type": "string", "maxLength": 64}, "str", metavar="NAME")
#: The site to update: production (and its sandbox), staging or preview.
TARGET = Kind(_target, {"type": "string", "maxLength": 64}, "str", metavar="TARGET")
#: A version of the catalog, such as E.1505.2.
VERSION = Kind(_version, {"type": "string", "maxLength": 64}, "str", metavar="VERSION")
#: True or False.
FLAG = Kind(checks.flag, {"type": "boolean"}, "bool", switch=True)
#: A wall-clock date and time, read in a zone (a naive datetime).
LOCAL_TIME = Kind(checks.local_time, {"type": "string", "format": "date-time"}, "datetime",
                  metavar="TIME", parse=parse_local_time)  # fmt: skip
#: An instant (a timezone-aware datetime), 1900 to 2999.
INSTANT = Kind(checks.instant, {"type": "string", "format": "date-time"}, "datetime",
               metavar="INSTANT", parse=parse_instant)  # fmt: skip
#: A day, 1900 to 2999.
DAY = Kind(checks.day, {"type": "string", "format": "date"}, "date", metavar="YYYY-MM-DD",
           parse=parse_day)  # fmt: skip
#: Which of a wall time that occurs twice: earlier, later, or refuse (raise).
AMBIGUITY = Kind(_ambiguity, {"type": "string", "enum": ["earlier", "later", "raise"]},
                 "Union[Ambiguity, str]", metavar="WHICH",
                 choices=("earlier", "later", "raise"))  # fmt: skip
#: An idempotency key: a retry with the same key returns the first result.
KEY = Kind(_text(checks.MAX_ID, False), _STRING_ID, "str", metavar="KEY")
#: Names (rule IDs, outbox keys): a list.
NAMES = Kind(_list_of(checks.ident, "a list of names"), {"type": "array", "items": _STRING_ID},
             "Sequence[str]", metavar="NAME", many=True)  # fmt: skip
#: One idempotency key (or None) per draft of a batch.
KEYS = Kind(_list_of(_optional_key, "a list of idempotency keys (or None for each)"),
            {"type": "array", "items": {"anyOf": [_STRING_ID, {"type": "null"}]}},
            "Sequence[Optional[str]]", python_only=True)  # fmt: skip
#: A request not yet submitted (:class:`~siteupdates.domain.policies.RequestDraft`).
DRAFT = Kind(_draft, {"type": "object"}, "RequestDraft", python_only=True)
#: Drafts to submit in one transaction.
DRAFTS = Kind(_drafts, {"type": "array", "items": {"type": "object"}}, "Iterable[RequestDraft]",
              python_only=True)  # fmt: skip
#: A setup: a TOML file's path, its tables, or a :class:`~siteupdates.ports.Setup`.
SETUP = Kind(_setup, {"type": "string", "maxLength": 4096},
             "Union[Setup, str, Path, Mapping[str, Any]]", metavar="FILE")  # fmt: skip
#: A setup file (its ``[provider]`` table) or a :class:`~siteupdates.domain.preset.ProviderPreset`.
SETUP_OR_PRESET = Kind(
    _setup_or_preset, {"type": "string", "maxLength": 4096},
    "Union[ProviderPreset, str, Path, Mapping[str, Any]]", metavar="SETUP_FILE",
)  # fmt: skip
#: How long production waits after staging: hours on the command line.
SOAK = Kind(_soak, {"type": "number", "minimum": 0, "maximum": 87_840}, "timedelta",
            metavar="HOURS", parse=_parse_hours)  # fmt: skip
_AUDIT_KINDS = ("tenant", "contact", "group", "catalog", "settings")
#: A kind of reference data in the audit.
AUDIT_KIND = Kind(_choices(_AUDIT_KINDS), {"type": "string", "enum": list(_AUDIT_KINDS)}, "str",
                  metavar="KIND", choices=_AUDIT_KINDS)  # fmt: skip
#: An outbox item's state.
OUTBOX_STATE = Kind(_choices(("pending", "delivered", "dead")),
                    {"type": "string", "enum": ["pending", "delivered", "dead"]}, "str",
                    metavar="STATE", choices=("pending", "delivered", "dead"))  # fmt: skip


def _outcome(name: str, value: Any) -> Any:
    # The engine's spelling is forgiving (COMPLETED, needs_input): the wire value's rule.
    from siteupdates.app.executors import Outcome

    if not isinstance(value, str):
        raise WrongType(name, value, "one of started, completed, failed, needs-input")
    checks.text(name, value, limit=32)
    return Outcome.parse(value)


def _status(name: str, value: Any) -> Any:
    from siteupdates.domain.model import Status

    return checks.one_of(name, value, list(Status))


_STATUS_NAMES = (
    "to-be-scheduled", "scheduled", "not-started", "in-progress", "completed", "pending-input",
    "deferred", "new-version-requested", "unable-to-complete", "cancelled", "deleted",
)  # fmt: skip
#: Request statuses (R15): a list of their names, such as ``scheduled``.
STATUSES = Kind(_list_of(_status, "a list of statuses"),
                {"type": "array", "items": {"type": "string", "enum": list(_STATUS_NAMES)}},
                "Sequence[Union[Status, str]]", metavar="STATUS", many=True,
                choices=_STATUS_NAMES)  # fmt: skip

#: What an engine says of a run.
OUTCOME = Kind(_outcome,
               {"type": "string", "enum": ["started", "completed", "failed", "needs-input"]},
               "str", metavar="OUTCOME",
               choices=("started", "completed", "failed", "needs-input"))  # fmt: skip
#: A run's fencing token: the whole number the run was given.
TOKEN = Kind(_token, {"type": "integer", "minimum": 1}, "Union[int, str]", metavar="TOKEN",
             parse=lambda text: text)  # fmt: skip
#: An engine's ticket for a run.
TICKET = Kind(_instance("siteupdates.app.executors:Ticket", "a Ticket"), {"type": "object"},
              "Ticket", python_only=True)  # fmt: skip
#: A function (a runbook, a clock).
CALLABLE = Kind(_callable, {"type": "object"}, "Callable[..., Any]", python_only=True)
