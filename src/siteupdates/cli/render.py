"""What the command line prints: tables and short IDs for people, JSON for programs.

JSON output (``--json``) has typed values: instants are ISO 8601 strings with
their offset, written in the zone named by the ``zone`` key beside them (the
contact's zone on the contact's side, the provider's default zone on the
provider's); counts are integers, flags booleans, and a missing value is
``null``. The keys of each command are documented in ``docs/setup.md`` and fixed
by the JSON Schema shipped with the package (:func:`output_schema`); a test runs
every command and validates what it prints. In JSON mode an error is one JSON
object on standard error (:func:`error_json`), with the rule IDs of a refusal.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Tuple,
    TypeVar,
)

from siteupdates.domain import Advisory, HistoryEntry, Tenant, UpdateRequest
from siteupdates.domain.timeutil import format_clock, format_day, to_local
from siteupdates.errors import AccessDenied, RequestRefused, SiteUpdatesError
from siteupdates.ports import Page

if TYPE_CHECKING:
    from siteupdates.domain.views import Overview
    from siteupdates.ports import AuditEntry, OutboxItem
    from siteupdates.refusal import Refusal
    from siteupdates.service import Desk

if TYPE_CHECKING:  # the planner loads only for the commands that plan
    from siteupdates.domain.planner import Explanation

__all__ = [
    "SHORT_ID",
    "Out",
    "advisory_json",
    "audit_json",
    "error_json",
    "explanation_json",
    "history_json",
    "instant",
    "output_schema",
    "overview_json",
    "page_json",
    "request_json",
    "request_row",
    "short_id",
    "table",
    "tenant_json",
    "when",
    "zone_of",
]

T = TypeVar("T")

#: How many leading digits of a request ID the tables show.
SHORT_ID = 12


def table(rows: List[Dict[str, str]]) -> str:
    """Rows as a plain-text table with a header."""
    if not rows:
        return "(none)"
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
    head = "  ".join(c.upper().ljust(widths[c]) for c in cols).rstrip()
    lines = ["  ".join(r[c].ljust(widths[c]) for c in cols).rstrip() for r in rows]
    return "\n".join([head, *lines])


def when(value: Optional[datetime], zone: str) -> str:
    """An instant as a day and clock time in ``zone``, or ``-``."""
    if value is None:
        return "-"
    return f"{format_day(value, zone)} {format_clock(value, zone)}"


def instant(value: Optional[datetime], zone: str) -> Optional[str]:
    """An instant as ISO 8601 with the offset it has in ``zone`` (``null`` for none)."""
    return None if value is None else to_local(value, zone).isoformat()


def zone_of(desk: Desk, lead: Tuple[str, ...]) -> str:
    """The zone instants are shown in: the contact's own, else the provider's default."""
    if lead:
        from siteupdates.usecases.catalog import by_name
        from siteupdates.usecases.declare import Role

        me = by_name(Role.CONTACT, "me")
        zone: Optional[str] = desk.call(me, lead, me.bind((), {})).zone
        return zone or desk.default_zone
    return desk.default_zone


def short_id(request_id: str) -> str:
    """A request ID as people read it: the first 12 digits (any unambiguous prefix works)."""
    return request_id[:SHORT_ID]


def request_row(r: UpdateRequest, zone: str) -> Dict[str, str]:
    """One request as a table row, in ``zone``."""
    return {
        "id": short_id(r.id),
        "tenant": r.tenant_id,
        "target": r.target.value,
        "version": "DB refresh only" if r.version is None else str(r.version),
        "refresh": "yes" if r.db_refresh else "no",
        "status": r.status.label,
        "date": when(r.effective_date, zone),
    }


def advisory_json(w: Advisory) -> Dict[str, Any]:
    """A warning: its rule and message."""
    return {"rule": w.rule, "message": w.message}


def refusal_json(r: Refusal) -> Dict[str, Any]:
    """A refusal: its rule, message and what to choose instead (or null)."""
    return {"rule": r.rule, "message": r.message, "suggestion": r.suggestion}


def request_json(r: UpdateRequest, zone: str) -> Dict[str, Any]:
    """One request as JSON data for programs: full ID, instants in ``zone``."""
    return {
        "id": r.id,
        "short_id": short_id(r.id),
        "tenant": r.tenant_id,
        "target": r.target.value,
        "version": None if r.version is None else str(r.version),
        "db_refresh": r.db_refresh,
        "status": r.status.value,
        "status_label": r.status.label,
        # The source document's words; Out.emit puts the provider's in, where it has some.
        "meaning": r.status.meaning,
        "preferred_start": instant(r.preferred_start, zone),
        "scheduled_for": instant(r.scheduled_for, zone),
        "date": instant(r.effective_date, zone),
        "zone": zone,
        "requested_zone": r.zone,
        "requested_by": r.requested_by,
        "requested_at": instant(r.requested_at, zone),
        "revision": r.revision,
        "warnings": [advisory_json(w) for w in r.warnings],
        "reason": r.reason,
        "superseded_by": r.superseded_by,
        "automatic": r.automatic,
        "group_plan_id": r.group_plan_id,
    }


def audit_json(e: AuditEntry, zone: str) -> Dict[str, Any]:
    """One change of reference data as JSON data, its instant in ``zone``."""
    return {
        "seq": e.seq,
        "at": instant(e.at, zone),
        "zone": zone,
        "by": e.by,
        "kind": e.kind,
        "key": e.key,
        "action": e.action,
        "before": None if e.before is None else dict(e.before),
        "after": None if e.after is None else dict(e.after),
    }


def history_json(h: HistoryEntry, zone: str) -> Dict[str, Any]:
    """One history entry as JSON data, instants in ``zone``."""
    return {
        "seq": h.seq,
        "event": h.event.value,
        "actor": h.actor.value,
        "by": h.by,
        "at": instant(h.at, zone),
        "from": None if h.from_status is None else h.from_status.value,
        "to": h.to_status.value,
        "reason": h.reason,
        "old_date": instant(h.old_date, zone),
        "new_date": instant(h.new_date, zone),
        "overrides": list(h.overrides),
        "zone": zone,
    }


def tenant_json(t: Tenant) -> Dict[str, Any]:
    """A tenant as a contact may read it."""
    return {"id": t.id, "name": t.name, "plan": t.plan.value, "group": t.group_id}


def page_json(page: Page[T], item: Callable[[T], Dict[str, Any]]) -> Dict[str, Any]:
    """A page: its items and where they are in the whole list."""
    return {
        "total": page.total,
        "offset": page.offset,
        "limit": page.limit,
        "items": [item(x) for x in page.items],
    }


def overview_json(ov: Overview) -> Dict[str, Any]:
    """The overview (R21), instants in the viewer's zone."""
    return {
        "tenant": ov.tenant_id,
        "name": ov.tenant_name,
        "made_at": instant(ov.made_at, ov.zone),
        "zone": ov.zone,
        "updated": ov.updated_line,
        "rows": [
            {
                "site": r.site.value,
                "text": r.text,
                "label": r.label,
                "when": instant(r.when, ov.zone),
                "automatic": r.automatic,
                "request": r.request_id,
            }
            for r in ov.rows
        ],
    }


def explanation_json(e: Explanation, zone: str) -> Dict[str, Any]:
    """Why a request has, or would get, its date; instants in ``zone``."""
    return {
        "id": e.id,
        "position": e.position,
        "preferred": instant(e.preferred, zone),
        "slot": instant(e.placement.start, zone),
        "slot_end": instant(e.placement.end, zone),
        "reason": e.placement.reason,
        "warnings": [advisory_json(w) for w in e.placement.warnings],
        "passed_over": [
            {
                "start": instant(c.start, zone),
                "end": instant(c.end, zone),
                "why": c.why,
                "ahead": list(c.ahead),
            }
            for c in e.passed_over
        ],
        "lines": list(e.lines),
        "zone": zone,
    }


def outbox_json(o: OutboxItem, zone: str) -> Dict[str, Any]:
    """An outbox item, instants in ``zone``."""
    return {
        "id": o.id,
        "key": o.key,
        "kind": o.kind,
        "request": o.request_id,
        "state": o.state.value,
        "attempts": o.attempts,
        "subject": str(o.payload.get("subject") or o.payload.get("summary") or ""),
        "created_at": instant(o.created_at, zone),
        "next_attempt_at": instant(o.next_attempt_at, zone),
        "delivered_at": instant(o.delivered_at, zone),
        "last_error": o.last_error,
        "payload": dict(o.payload),
        "zone": zone,
    }


def error_json(exc: BaseException, code: int) -> Dict[str, Any]:
    """An error as JSON for standard error: its type, exit status, message and rules."""
    refusals: Iterable[Refusal] = ()
    rules: List[str] = []
    if isinstance(exc, RequestRefused):
        refusals = exc.refusals
        rules = list(exc.rules)
    elif isinstance(exc, AccessDenied):
        rules = ["R22"]
    kind = type(exc).__name__ if isinstance(exc, SiteUpdatesError) else "UsageError"
    return {
        "error": {
            "type": kind,
            "exit": code,
            "message": str(exc),
            "rules": rules,
            "refusals": [refusal_json(r) for r in refusals],
        }
    }


def output_schema() -> Mapping[str, Any]:
    """The JSON Schema of every command's ``--json`` output, shipped with the package.

    ``$defs`` holds one schema per command (``list``, ``submit``, ...) and
    ``error`` for what an error prints on standard error.
    """
    from pathlib import Path

    text = (Path(__file__).parent / "schema.json").read_text(encoding="utf-8")
    data: Mapping[str, Any] = json.loads(text)
    return data


class Out:
    """Prints either text for people or JSON for programs.

    ``meaning`` (the desk's :meth:`~siteupdates.Desk.meaning`, set once the desk is
    open) puts the provider's words for a status into every request printed.
    """

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.meaning: Optional[Callable[[str], str]] = None

    def emit(self, data: Any, text: str) -> None:
        """Print ``data`` as JSON or ``text``, as chosen."""
        if self.as_json:
            if self.meaning is not None:
                data = _with_meanings(data, self.meaning)
            print(json.dumps(data, indent=2, sort_keys=True))
        else:
            print(text)


def _with_meanings(data: Any, meaning: Callable[[str], str]) -> Any:
    """``data`` with the ``meaning`` of each request in it (a dict with ``status``) redone."""
    if isinstance(data, dict):
        out = {k: _with_meanings(v, meaning) for k, v in data.items()}
        if "meaning" in out and isinstance(out.get("status"), str):
            out["meaning"] = meaning(out["status"])
        return out
    if isinstance(data, list):
        return [_with_meanings(v, meaning) for v in data]
    return data
