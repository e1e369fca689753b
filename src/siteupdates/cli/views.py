"""One view per result type: its JSON, its text for people, and its JSON schema.

Every use case names its result type (``UseCase.result``: ``"UpdateRequest"``,
``"Page[Tenant]"``, ...). :data:`VIEWS` holds one :class:`View` per type, so a
command's ``--json`` output and the schema shipped in ``schema.json`` come from
the same place: :func:`generate_schema` writes the schema of every use case's
command (``$defs["provider schedule"]``) from its result type's view, and the
arguments' schema from :meth:`~siteupdates.usecases.declare.UseCase.arguments_schema`.
``python -m siteupdates.cli.views`` rewrites ``schema.json``; a test checks that
it is up to date.

The 0.2 flat commands print the same JSON as before; their schemas are the
hand-written ``$defs`` kept in ``schema.json`` (``x-commands``).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Tuple

import attrs

from .render import (
    audit_json,
    explanation_json,
    history_json,
    instant,
    outbox_json,
    overview_json,
    page_json,
    request_json,
    request_row,
    short_id,
    table,
    tenant_json,
    when,
)

if TYPE_CHECKING:
    from siteupdates.service import Desk
    from siteupdates.usecases.declare import UseCase

    from .render import Out

__all__ = ["VIEWS", "View", "generate_schema", "show"]


def schema_path() -> Any:
    """The schema file shipped in the package (a Path; pathlib loads only here)."""
    from pathlib import Path

    return Path(__file__).parent / "schema.json"


def _ref(name: str) -> Dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


@attrs.frozen
class View:
    """How one result type is shown: ``data(value, zone)`` for JSON, ``text(value, zone)``."""

    data: Callable[[Any, str], Any]
    text: Callable[[Any, str], str]
    schema: Mapping[str, Any]


def _obj(required: Mapping[str, Any]) -> Dict[str, Any]:
    return {"type": "object", "properties": dict(required), "required": sorted(required),
            "additionalProperties": False}  # fmt: skip


def _done_text(r: Any, zone: str) -> str:
    return f"request {r.id} is {r.status.label} ({when(r.effective_date, zone)})"


def _requests_text(rs: Any, zone: str) -> str:
    return table([request_row(r, zone) for r in rs])


def _page_text(page: Any, zone: str) -> str:
    text = table([request_row(r, zone) for r in page.items])
    if page.more:
        total = f"{page.total}" if page.exact else f"at least {page.total}"  # counted up to a cap
        text += f"\n({len(page.items)} of {total}; use --offset/--limit for more)"
    return text


def submission_data(sub: Any, zone: str) -> Dict[str, Any]:
    """A submission: the request, and whether it replayed, superseded or overrode."""
    return {
        **request_json(sub.request, zone),
        "replayed": sub.replayed,
        "superseded": list(sub.superseded),
        "overridden": list(sub.overridden),
    }


def submission_text(sub: Any, zone: str, by: str = "", reason: str = "") -> str:
    """A submission for people: the request, its warnings, what it superseded."""
    r = sub.request
    lines = [
        f"request {r.id} {'(already submitted) ' if sub.replayed else ''}"
        f"is {r.status.label}, preferred start {when(r.preferred_start, zone)}"
    ]
    if sub.overridden:
        lines.append(f"accepted by {by or r.requested_by}, overriding "
                     f"{', '.join(sub.overridden)}: {reason}")  # fmt: skip
    lines += [f"warning {w}" for w in sub.warnings]
    lines += [f"request {s} is now New Version Requested (R17)" for s in sub.superseded]
    return "\n".join(lines)


def staged_data(made: Any, zone: str) -> Dict[str, Any]:
    """A staged submission: both requests and the soak in hours."""
    return {"staging": request_json(made.staging, zone),
            "production": request_json(made.production, zone),
            "soak_hours": made.soak.total_seconds() / 3600}  # fmt: skip


def staged_text(made: Any, zone: str) -> str:
    """A staged submission for people."""
    return "\n".join([
        f"staging request {made.staging.id} asks for {when(made.staging.preferred_start, zone)}",
        f"production request {made.production.id} follows at least "
        f"{made.soak.total_seconds() / 3600:g} hours after staging, once you approve",
    ])  # fmt: skip


def plan_data(run: Any, zone: str, dry_run: bool) -> Tuple[Dict[str, Any], str]:
    """A planning run: its JSON and its table."""
    rows, data = [], []
    for r in run.requests:
        p = run.plan.placements[r.id]
        rows.append({
            "position": str(p.position), "id": short_id(r.id), "tenant": r.tenant_id,
            "asked": when(r.preferred_start, zone),
            "slot": when(p.start, zone) if p.start else f"not placed: {p.reason}",
            "stored": "yes" if r.id in run.stored else "no",
        })  # fmt: skip
        data.append({
            "position": p.position, "request": r.id, "short_id": short_id(r.id),
            "tenant": r.tenant_id, "asked": instant(r.preferred_start, zone),
            "start": instant(p.start, zone), "end": instant(p.end, zone), "reason": p.reason,
            "stored": r.id in run.stored,
            "warnings": [{"rule": w.rule, "message": w.message} for w in p.warnings],
        })  # fmt: skip
    text = table(rows)
    if dry_run:
        text += "\n(dry run: nothing stored; 'siteupdates explain ID' says why)"
    if run.conflicts:
        text += f"\nchanged meanwhile, not stored: {', '.join(run.conflicts)}"
    return ({"plan": data, "conflicts": list(run.conflicts), "dry_run": bool(dry_run),
             "zone": zone}, text)  # fmt: skip


def what_if_data(result: Any, zone: str) -> Tuple[Dict[str, Any], str]:
    """A what-if: every booking that would move, with its notices; JSON and text."""
    rows = [
        {"id": short_id(m.request.id), "tenant": m.request.tenant_id,
         "status": m.request.status.label, "old": when(m.old, zone) if m.old else "-",
         "new": when(m.new, zone) if m.new else f"not placed: {m.reason}",
         "notices": str(len(m.notices))}
        for m in result.moves
    ]  # fmt: skip
    text = table(rows) if rows else "no booking would move"
    text += (
        f"\n(what-if: {len(result.moves)} would move, {len(result.unchanged)} would stay; "
        "nothing stored, nothing sent)"
    )
    for m in result.moves:
        for n in m.notices:
            text += f"\n\nto {n.email}: {n.subject}\n{n.body}"
    data = {
        "moves": [
            {"request": m.request.id, "short_id": short_id(m.request.id),
             "tenant": m.request.tenant_id, "status": m.request.status.value,
             "old": instant(m.old, zone), "new": instant(m.new, zone), "reason": m.reason,
             "notices": [n.to_payload() for n in m.notices]}
            for m in result.moves
        ],
        "unchanged": list(result.unchanged),
        "zone": zone,
    }  # fmt: skip
    return data, text


def delivery_data(report: Any) -> Dict[str, Any]:
    """A delivery pass's counts (the notifiers are added by the command)."""
    return {"delivered": report.delivered, "retried": report.retried, "dead": report.dead,
            "withdrawn": report.withdrawn, "lost": report.lost,
            "undelivered": report.undelivered, "errors": list(report.errors)}  # fmt: skip


def delivery_text(report: Any) -> str:
    """A delivery pass for people."""
    text = f"delivered {report.delivered}, to retry {report.retried}, dead {report.dead}"
    if report.withdrawn:
        text += f", reminders withdrawn {report.withdrawn}"
    if report.lost:
        text += f", taken over by another deliverer {report.lost}"
    return text + "".join(f"\n  {e}" for e in report.errors)


def history_rows(hist: Any, zone: str) -> List[Dict[str, str]]:
    """A request's history as table rows."""
    rows = [
        {"seq": str(h.seq), "event": h.event.value, "by": h.by, "at": when(h.at, zone),
         "from": h.from_status.label if h.from_status else "-", "to": h.to_status.label,
         "reason": h.reason or ""}
        for h in hist
    ]  # fmt: skip
    for row, h in zip(rows, hist):
        if h.overrides:
            row["reason"] = row["reason"] or f"override of {', '.join(h.overrides)}"
    return rows


def _audit_text(entries: Any, zone: str) -> str:
    return table([{"seq": str(e.seq), "at": when(e.at, zone), "by": e.by,
                   "change": e.describe()} for e in entries])  # fmt: skip


def outbox_table(items: Any, zone: str) -> str:
    """Outbox items as a table."""
    from siteupdates.ports import OutboxState

    return table([
        {"key": o.key, "kind": o.kind, "state": o.state.value, "attempts": str(o.attempts),
         "subject": str(o.payload.get("subject") or o.payload.get("summary") or ""),
         "next": when(o.next_attempt_at, zone) if o.state is OutboxState.PENDING else "-",
         "error": o.last_error or "" if o.state is not OutboxState.DELIVERED else ""}
        for o in items
    ])  # fmt: skip


def _event_json(e: Any, zone: str) -> Dict[str, Any]:
    return {"at": instant(e.at, zone), "event": e.event, "by": e.by, "detail": e.detail}


_STR = {"type": "string"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_STRS = {"type": "array", "items": _STR}
_COUNTS = {"type": "object", "additionalProperties": True,
           "properties": {"errors": _STRS}, "required": ["errors"]}  # fmt: skip


def _page_schema(item: Mapping[str, Any]) -> Dict[str, Any]:
    return _obj({"total": _INT, "offset": _INT, "limit": _INT,
                 "items": {"type": "array", "items": dict(item)}})  # fmt: skip


_TENANT = _ref("tenant")
_REQUESTS = {"type": "object", "properties": {"requests": {"type": "array",
             "items": _ref("request")}}, "required": ["requests"],
             "additionalProperties": False}  # fmt: skip

#: One view per result type named by a use case (``UseCase.result``).
VIEWS: Dict[str, View] = {
    "UpdateRequest": View(request_json, _done_text, _ref("request")),
    "Page[UpdateRequest]": View(
        lambda p, z: page_json(p, lambda r: request_json(r, z)), _page_text, _ref("request_page")
    ),
    "Tuple[UpdateRequest, ...]": View(
        lambda rs, z: {"requests": [request_json(r, z) for r in rs]}, _requests_text, _REQUESTS
    ),
    "Page[Tenant]": View(
        lambda p, z: page_json(p, tenant_json),
        lambda p, z: table([{"id": t.id, "name": t.name, "plan": t.plan.value} for t in p.items]),
        _page_schema(_TENANT),
    ),
    "Tenant": View(
        lambda t, z: tenant_json(t),
        lambda t, z: table([{"id": t.id, "name": t.name, "plan": t.plan.value}]),
        _TENANT,
    ),
    "Contact": View(
        lambda c, z: {
            "id": c.id,
            "name": c.name,
            "email": c.email,
            "role": c.role.value,
            "zone": c.zone or z,
            "tenants": sorted(c.tenants),
        },
        lambda c, z: (
            f"{c.id}: {c.name} <{c.email}>, {c.zone or z}, tenants "
            f"{', '.join(sorted(c.tenants)) or 'none'}"
        ),
        _obj(
            {
                "id": _STR,
                "name": _STR,
                "email": _STR,
                "role": _STR,
                "zone": _ref("zone"),
                "tenants": _STRS,
            }
        ),
    ),
    "Catalog": View(
        lambda c, z: {"versions": sorted(str(v) for v in c.versions)},
        lambda c, z: "\n".join(sorted(str(v) for v in c.versions)) or "(none)",
        _obj({"versions": _STRS}),
    ),
    "Gadget": View(
        lambda g, z: {
            "contact": g.contact_id,
            "tenants": [tenant_json(t) for t in g.tenants],
            "tenant": None if g.tenant is None else tenant_json(g.tenant),
            "overview": None if g.overview is None else overview_json(g.overview),
            "etag": g.etag,
        },
        lambda g, z: (
            str(g.overview.render())
            if g.overview is not None
            else table([{"id": t.id, "name": t.name, "plan": t.plan.value} for t in g.tenants])
        ),
        _obj(
            {
                "contact": _STR,
                "tenants": {"type": "array", "items": _TENANT},
                "tenant": {"anyOf": [_TENANT, {"type": "null"}]},
                "overview": {"anyOf": [_ref("overview"), {"type": "null"}]},
                "etag": _STR,
            }
        ),
    ),
    # The health of the store (siteupdates.app.health); the command exits with its verdict.
    "Health": View(
        lambda h, z: h.to_dict(),
        lambda h, z: str(h.render()),
        {"type": "object", "required": ["status", "verdict"]},
    ),
    "Submission": View(submission_data, submission_text, _ref("submit")),
    "StagedSubmission": View(staged_data, staged_text, _ref("stage")),
    "Explanation": View(explanation_json, lambda e, z: str(e.render()), _ref("explain")),
    "Overview": View(
        lambda o, z: overview_json(o), lambda o, z: str(o.render()), _ref("overview")
    ),
    "str": View(lambda s, z: {"id": s}, lambda s, z: str(s), _obj({"id": _STR})),
    "bool": View(
        lambda b, z: {"held": bool(b)},
        lambda b, z: "lease renewed" if b else "lease lost: stop the run",
        _obj({"held": _BOOL}),
    ),
    "List[HistoryEntry]": View(
        lambda hs, z: {"history": [history_json(h, z) for h in hs]},
        lambda hs, z: table(history_rows(hs, z)),
        _obj({"history": {"type": "array", "items": _ref("history_entry")}}),
    ),
    # The command passes dry_run (a planning run does not say): see show().
    "PlanRun": View(
        lambda r, z: plan_data(r, z, False)[0],
        lambda r, z: plan_data(r, z, False)[1],
        {"type": "object", "required": ["plan", "conflicts", "dry_run", "zone"]},
    ),
    "WhatIf": View(
        lambda w, z: what_if_data(w, z)[0],
        lambda w, z: what_if_data(w, z)[1],
        {"type": "object", "required": ["moves", "unchanged", "zone"]},
    ),
    "List[AuditEntry]": View(
        lambda es, z: [audit_json(e, z) for e in es], _audit_text, _ref("audit")
    ),
    "SetupReport": View(
        lambda r, z: {"applied": r.applied, "changes": [audit_json(c, z) for c in r.changes]},
        lambda r, z: str(r.render()),
        _obj({"applied": _BOOL, "changes": {"type": "array", "items": _ref("audit_entry")}}),
    ),
    "Page[OutboxItem]": View(
        lambda p, z: page_json(p, lambda o: outbox_json(o, z)),
        lambda p, z: outbox_table(p.items, z),
        _page_schema(_ref("outbox_item")),
    ),
    "Tuple[OutboxItem, List[OutboxEvent]]": View(
        lambda t, z: {"item": outbox_json(t[0], z), "events": [_event_json(e, z) for e in t[1]]},
        lambda t, z: (
            outbox_table([t[0]], z)
            + "\n\n"
            + table(
                [
                    {"at": when(e.at, z), "event": e.event, "by": e.by, "detail": e.detail or ""}
                    for e in t[1]
                ]
            )
        ),
        _obj(
            {
                "item": _ref("outbox_item"),
                "events": {
                    "type": "array",
                    "items": {"type": "object", "required": ["at", "event", "by", "detail"]},
                },
            }
        ),
    ),
    "List[OutboxItem]": View(
        lambda os, z: {"requeued": [o.key for o in os]},
        lambda os, z: f"requeued {len(os)}" + "".join(f"\n  {o.key}" for o in os),
        _obj({"requeued": _STRS}),
    ),
    "Tuple[Run, Optional[str]]": View(
        lambda t, z: {**t[0].ticket().to_json(), "engine_status": t[1]},
        lambda t, z: f"run {t[0].idempotency_key}: {t[1] or 'no executor can tell'}",
        {"type": "object", "required": ["run_id", "fencing_token", "engine_status"]},
    ),
    "DeliveryReport": View(
        lambda r, z: delivery_data(r), lambda r, z: delivery_text(r), _ref("deliver")
    ),
    "DispatchReport": View(
        lambda r, z: attrs.asdict(r),
        lambda r, z: (
            ", ".join(f"{k} {v}" for k, v in attrs.asdict(r).items() if k != "errors")
            + "".join(f"\n  {e}" for e in r.errors)
        ),
        _COUNTS,
    ),
    "Report": View(
        lambda r, z: {**request_json(r.request, z), "applied": r.applied},
        lambda r, z: (
            f"request {r.request.id} is {r.request.status.label}"
            + ("" if r.applied else " (already reported; ignored)")
        ),
        _ref("report"),
    ),
}


def show(
    desk: Desk,
    uc: UseCase,
    lead: Tuple[str, ...],
    values: Mapping[str, Any],
    result: Any,
    out: Out,
) -> int:
    """Print ``result`` by its view; the exit status (0)."""
    from .render import zone_of

    view = VIEWS[uc.result]
    zone = zone_of(desk, lead)
    if uc.result == "PlanRun":
        data, text = plan_data(result, zone, bool(values.get("dry_run")))
        out.emit(data, text)
    elif out.as_json:
        out.emit(view.data(result, zone), "")
    else:
        out.emit(None, view.text(result, zone))
    # A health check exits with its verdict (0 ok, 1 warning, 2 critical), as monitors expect.
    return int(result.verdict) if uc.result == "Health" else 0


def command_key(uc: UseCase) -> str:
    """The schema's name of a use case's command: ``"provider.schedule"``."""
    return f"{uc.actor.value}.{uc.command_name}"


DESCRIPTION = (
    "What each command prints with --json: $defs holds one schema per command, named as the "
    "command: 'contact.submit', 'provider.schedule', 'ops.deliver' for the commands of the "
    "actor groups (listed in 'x-use-cases'; a use case's refers to the view of its result "
    "type, 'result_...'), the 0.2 names ('submit', 'schedule', listed in 'x-commands') as before, "
    "and 'error' for standard error in JSON mode. 'x-arguments' holds the JSON schema of each "
    "use case's arguments. Instants are ISO 8601 strings with their offset, in the zone named "
    "by the 'zone' key beside them; counts are integers, flags booleans, missing values null. "
    "Keys are stable: a key is added only with a new release noted in the changelog, never "
    "renamed or removed without one. Generated: python -m siteupdates.cli.views."
)


#: The group commands that are not one use case, and the 0.2 command whose JSON they print.
EXTRA_SCHEMAS = {"contact.submit-many": "submit-many", "ops.worker": "worker", "ops.feed": "feed"}


def result_key(result: str) -> str:
    """The schema's name of a result type's view: ``"result_Page_Tenant"``."""
    return "result_" + re.sub(r"[^A-Za-z0-9]+", "_", result).strip("_")


def generate_schema(base: Mapping[str, Any]) -> Dict[str, Any]:
    """``base`` (the schema file) with every use case's output and arguments written in."""
    from siteupdates.usecases.catalog import CATALOG

    defs = {k: v for k, v in base["$defs"].items() if not k.startswith("result_")
            and "." not in k}  # fmt: skip
    defs["tenant"] = _obj({"id": _STR, "name": _STR, "plan": {"enum": ["cloud", "cloud-choice",
                                                                       "asp"]},
                           "group": {"type": ["string", "null"]}})  # fmt: skip
    defs["outbox_item"] = base["$defs"]["outbox"]["anyOf"][0]["properties"]["items"]["items"]
    for name, view in VIEWS.items():
        defs[result_key(name)] = dict(view.schema)
    commands, arguments = [], {}
    for uc in CATALOG:
        if uc.python_only:
            continue
        key = command_key(uc)
        commands.append(key)
        defs[key] = {"$ref": f"#/$defs/{result_key(uc.result)}",
                     "description": uc.doc.strip().splitlines()[0]}  # fmt: skip
        arguments[key] = uc.arguments_schema()
    for key, flat in EXTRA_SCHEMAS.items():
        commands.append(key)
        defs[key] = {"$ref": f"#/$defs/{flat}", "description": f"As '{flat}' (not a use case)."}
    found = {k: v for k, v in base.items() if k not in ("x-use-cases", "x-arguments")}
    found["description"] = DESCRIPTION
    found["$defs"] = defs
    return {**found, "x-use-cases": commands, "x-arguments": arguments}


def write_schema() -> bool:
    """Rewrite ``schema.json`` from the views; True when it changed."""
    before: str = schema_path().read_text(encoding="utf-8")
    after: str = (
        json.dumps(generate_schema(json.loads(before)), indent=2, ensure_ascii=False) + "\n"
    )
    if after != before:
        schema_path().write_text(after, encoding="utf-8")
    return after != before


if __name__ == "__main__":  # pragma: no cover
    print("schema.json " + ("rewritten" if write_schema() else "up to date"))
