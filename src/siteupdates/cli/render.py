"""What the command line prints: tables and short IDs for people, JSON for programs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Dict, List, Optional

from siteupdates.domain import HistoryEntry, UpdateRequest
from siteupdates.domain.views import format_clock, format_day
from siteupdates.ports import AuditEntry

__all__ = [
    "SHORT_ID",
    "Out",
    "audit_json",
    "history_json",
    "request_json",
    "request_row",
    "short_id",
    "table",
    "when",
]

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


def request_json(r: UpdateRequest) -> Dict[str, Any]:
    """One request as JSON data for programs (full IDs, ISO instants)."""
    return {
        "id": r.id,
        "tenant": r.tenant_id,
        "target": r.target.value,
        "version": None if r.version is None else str(r.version),
        "db_refresh": r.db_refresh,
        "status": r.status.value,
        "status_label": r.status.label,
        "preferred_start": r.preferred_start.isoformat(),
        "scheduled_for": None if r.scheduled_for is None else r.scheduled_for.isoformat(),
        "zone": r.zone,
        "requested_by": r.requested_by,
        "requested_at": r.requested_at.isoformat(),
        "revision": r.revision,
        "warnings": list(r.warnings),
        "reason": r.reason,
        "superseded_by": r.superseded_by,
    }


def audit_json(e: AuditEntry) -> Dict[str, Any]:
    """One change of reference data as JSON data."""
    return {
        "seq": e.seq,
        "at": e.at.isoformat(),
        "by": e.by,
        "kind": e.kind,
        "key": e.key,
        "action": e.action,
        "before": None if e.before is None else dict(e.before),
        "after": None if e.after is None else dict(e.after),
    }


def history_json(h: HistoryEntry) -> Dict[str, Any]:
    """One history entry as JSON data."""
    return {
        "seq": h.seq,
        "event": h.event.value,
        "actor": h.actor.value,
        "by": h.by,
        "at": h.at.isoformat(),
        "from": None if h.from_status is None else h.from_status.value,
        "to": h.to_status.value,
        "reason": h.reason,
        "old_date": None if h.old_date is None else h.old_date.isoformat(),
        "new_date": None if h.new_date is None else h.new_date.isoformat(),
    }


class Out:
    """Prints either text for people or JSON for programs."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def emit(self, data: Any, text: str) -> None:
        """Print ``data`` as JSON or ``text``, as chosen."""
        if self.as_json:
            print(json.dumps(data, indent=2, sort_keys=True))
        else:
            print(text)
