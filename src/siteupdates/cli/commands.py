"""The commands: each reads its arguments, calls one use case of the desk, prints.

A command never reaches below :class:`~siteupdates.Desk`'s public methods and
the storage's read port; errors travel up as :class:`SiteUpdatesError` and
:func:`siteupdates.cli.main` turns them into one line and an exit status.
"""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import date, datetime, timedelta
from typing import Callable

import attrs

from siteupdates import checks
from siteupdates.app.worker import Worker
from siteupdates.domain import UpdateRequest
from siteupdates.domain.timeutil import to_instant
from siteupdates.errors import AccessDenied, InvalidInput, NotFound
from siteupdates.ports import OutboxState
from siteupdates.service import Desk
from siteupdates.setupfile import load_setup

from .inputs import EXIT, local_time
from .render import (
    Out,
    audit_json,
    history_json,
    request_json,
    request_row,
    short_id,
    table,
    when,
)


def _tenant_of(desk: Desk, a: argparse.Namespace) -> str:
    """``--tenant``, or the contact's only tenant (a district contact sees one)."""
    if a.tenant:
        return str(a.tenant)
    mine = desk.tenants_of(a.contact)
    if len(mine) == 1:
        return mine[0].id
    choices = ", ".join(t.id for t in mine) or "none"
    raise InvalidInput(f"choose --tenant among the tenants connected to you: {choices}", None)


def _contact_zone(desk: Desk, contact_id: str) -> str:
    c = desk.storage.contact(contact_id)
    return (c.zone if c else None) or desk.preset.default_zone


def cmd_apply(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``apply`` command (and its other name, ``init``)."""
    setup = load_setup(a.file)
    report = desk.apply_setup(setup, by=a.by or _operator(), dry_run=a.dry_run)
    counts = {
        "tenants": len(setup.tenants),
        "contacts": len(setup.contacts),
        "groups": len(setup.groups),
        "versions": len(setup.catalog.versions),
    }
    head = (
        f"{'checked' if a.dry_run else 'applied'} {a.file} "
        f"{'against' if a.dry_run else 'to'} {desk.storage.url}: "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
    )
    data = {**counts, "dry_run": a.dry_run, "changes": [audit_json(c) for c in report.changes]}
    out.emit(data, f"{head}\n{report.render()}")
    return 0


def _operator() -> str:
    """Who runs the command, for the audit: $USER, else the login name, else "provider"."""
    import getpass

    try:
        name = getpass.getuser()
    except Exception:  # no user database in a container
        name = ""
    return name if name and checks.bad_character(name) is None else "provider"


def cmd_audit(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``audit`` command."""
    entries = desk.audit(kind=a.kind, key=a.key, limit=a.limit)
    zone = desk.preset.default_zone
    rows = [
        {"seq": str(e.seq), "at": when(e.at, zone), "by": e.by, "change": e.describe()}
        for e in entries
    ]
    out.emit([audit_json(e) for e in entries], table(rows))
    return 0


def cmd_tenants(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``tenants`` command."""
    ts = desk.tenants_of(a.contact)
    rows = [{"id": t.id, "name": t.name, "plan": t.plan.value} for t in ts]
    out.emit(rows, table(rows))
    return 0


def cmd_submit(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``submit`` command."""
    version = None if a.refresh_only else a.version
    if version is None and not a.refresh_only:
        raise InvalidInput("choose --version VERSION, or --refresh-only with --refresh", None)
    sub = desk.submit(
        a.contact,
        _tenant_of(desk, a),
        a.target,
        version,
        db_refresh=a.refresh,
        at=local_time(a.at),
        zone=a.zone,
        ambiguity=a.ambiguous,
        idempotency_key=a.key,
    )
    zone = _contact_zone(desk, a.contact)
    r = sub.request
    lines = [
        f"request {r.id} {'(already submitted) ' if sub.replayed else ''}"
        f"is {r.status.label}, preferred start {when(r.preferred_start, zone)}"
    ]
    lines += [f"warning {w}" for w in sub.warnings]
    lines += [f"request {s} is now New Version Requested (R17)" for s in sub.superseded]
    data = {**request_json(sub.request), "replayed": sub.replayed, "superseded": sub.superseded}
    out.emit(data, "\n".join(lines))
    return 0


def cmd_list(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``list`` command."""
    page = desk.requests(
        a.contact,
        _tenant_of(desk, a),
        hide_complete=a.hide_complete,
        offset=a.offset,
        limit=a.limit,
    )
    zone = _contact_zone(desk, a.contact)
    text = table([request_row(r, zone) for r in page.items])
    if page.total > len(page.items):
        text += f"\n({len(page.items)} of {page.total}; use --offset/--limit for more)"
    out.emit({"total": page.total, "items": [request_json(r) for r in page.items]}, text)
    return 0


def cmd_overview(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``overview`` command."""
    ov = desk.overview(a.contact, _tenant_of(desk, a))
    data = {
        "tenant": ov.tenant_id,
        "name": ov.tenant_name,
        "made_at": ov.made_at.isoformat(),
        "zone": ov.zone,
        "updated": ov.updated_line,
        "rows": [
            {"site": r.site.value, "text": r.text, "label": r.label, "request": r.request_id}
            for r in ov.rows
        ],
    }
    out.emit(data, ov.render())
    return 0


def _done(out: Out, r: UpdateRequest, zone: str) -> int:
    out.emit(
        request_json(r), f"request {r.id} is {r.status.label} ({when(r.effective_date, zone)})"
    )
    return 0


def _contact_request(desk: Desk, a: argparse.Namespace) -> str:
    """The full ID of a request the contact names by a prefix; never says what others hold."""
    try:
        return desk.resolve_id(a.request)
    except (NotFound, InvalidInput):
        raise AccessDenied("no such request among the tenants connected to you") from None


def cmd_contact_action(action: str) -> Callable[[Desk, argparse.Namespace, Out], int]:
    """The command of a contact's change of one request (cancel, delete, answer)."""

    def run(desk: Desk, a: argparse.Namespace, out: Out) -> int:
        rid = _contact_request(desk, a)
        if action == "answer":
            r = desk.answer(a.contact, rid, a.text)
        else:
            r = getattr(desk, action)(a.contact, rid)
        return _done(out, r, _contact_zone(desk, a.contact))

    return run


def cmd_queue(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``queue`` command."""
    q = desk.queue(limit=a.limit)
    zone = desk.preset.default_zone
    out.emit([request_json(r) for r in q], table([request_row(r, zone) for r in q]))
    return 0


def cmd_show(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``show`` command."""
    rid = desk.resolve_id(a.request)
    r = desk.find(rid)
    hist = desk.history(rid)
    zone = desk.preset.default_zone
    rows = [
        {
            "seq": str(h.seq),
            "event": h.event.value,
            "by": h.by,
            "at": when(h.at, zone),
            "from": h.from_status.label if h.from_status else "-",
            "to": h.to_status.label,
            "reason": h.reason or "",
        }
        for h in hist
    ]
    head = table([request_row(r, zone)])
    warn = "".join(f"\nwarning {w}" for w in r.warnings)
    out.emit(
        {**request_json(r), "history": [history_json(h) for h in hist]},
        f"{head}{warn}\n\n{table(rows)}",
    )
    return 0


def _providerwhen(desk: Desk, a: argparse.Namespace) -> datetime:
    return to_instant(local_time(a.at), a.zone or desk.preset.default_zone, a.ambiguous)


def cmd_provider_action(action: str) -> Callable[[Desk, argparse.Namespace, Out], int]:
    """The command of a provider's change of one request (or of planning the queue)."""

    def run(desk: Desk, a: argparse.Namespace, out: Out) -> int:
        by = a.by
        if action == "schedule" and a.request is None:
            return _plan(desk, a, out)
        a.request = desk.resolve_id(a.request)
        if action == "schedule":
            if a.at is None:
                raise InvalidInput(
                    "schedule REQUEST needs --at; without REQUEST it plans the queue"
                )
            r = desk.schedule(
                a.request, _providerwhen(desk, a), by=by, reason=a.reason,
                allow_past=a.allow_past,
            )  # fmt: skip
        elif action == "reschedule":
            r = desk.reschedule(
                a.request, _providerwhen(desk, a), a.reason, by=by, allow_past=a.allow_past
            )
        elif action in ("ask_input", "defer", "fail"):
            r = getattr(desk, action)(a.request, a.text, by=by)
        else:
            r = getattr(desk, action)(a.request, by=by)
        return _done(out, r, desk.preset.default_zone)

    return run


def _plan(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    horizon = desk.now() + timedelta(days=a.horizon_days)
    run = desk.plan_queue(horizon=horizon, dry_run=a.dry_run, by=a.by)
    zone = desk.preset.default_zone
    rows = []
    for r in run.requests:
        p = run.plan.placements[r.id]
        rows.append(
            {
                "position": str(p.position),
                "id": short_id(r.id),
                "tenant": r.tenant_id,
                "asked": when(r.preferred_start, zone),
                "slot": when(p.start, zone) if p.start else f"not placed: {p.reason}",
                "stored": "yes" if r.id in run.stored else "no",
            }
        )
    text = table(rows)
    if a.dry_run:
        text += "\n(dry run: nothing stored; 'siteupdates explain ID' says why)"
    if run.conflicts:
        text += f"\nchanged meanwhile, not stored: {', '.join(run.conflicts)}"
    data = [
        {**row, "request": r.id, "start": None if p.start is None else p.start.isoformat()}
        for row, r, p in (
            (row, r, run.plan.placements[r.id]) for row, r in zip(rows, run.requests)
        )
    ]
    out.emit({"plan": data, "conflicts": list(run.conflicts)}, text)
    return 0


def cmd_explain(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``explain`` command."""
    e = desk.explain(
        desk.resolve_id(a.request), horizon=desk.now() + timedelta(days=a.horizon_days)
    )
    data = {
        "id": e.id,
        "position": e.position,
        "preferred": e.preferred.isoformat(),
        "slot": None if e.placement.start is None else e.placement.start.isoformat(),
        "reason": e.placement.reason,
        "passed_over": [
            {"start": c.start.isoformat(), "why": c.why, "ahead": list(c.ahead)}
            for c in e.passed_over
        ],
        "lines": list(e.lines),
    }
    out.emit(data, e.render())
    return 0


def cmd_group(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``group`` command."""
    earliest = _providerwhen(desk, a)
    made = desk.group_update(
        a.group, a.target, a.version, earliest=earliest, by=a.by,
        horizon=desk.now() + timedelta(days=a.horizon_days),
    )  # fmt: skip
    zone = desk.preset.default_zone
    out.emit([request_json(r) for r in made], table([request_row(r, zone) for r in made]))
    return 0


def cmd_cloud(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``cloud`` command."""
    try:
        week = date.fromisoformat(a.week_of)
    except ValueError:
        raise InvalidInput(
            f"malformed date {a.week_of!r}: expected YYYY-MM-DD", a.week_of
        ) from None
    made = desk.cloud_week(week, by=a.by)
    zone = desk.preset.default_zone
    out.emit([request_json(r) for r in made], table([request_row(r, zone) for r in made]))
    return 0


def cmd_worker(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``worker`` command."""
    worker = Worker(desk, a.id, lease_seconds=a.lease, max_attempts=a.max_attempts, batch=a.batch)
    # SIGTERM: finish the update in hand, hand back what was not started, exit 0.
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    if not desk.host.performs_updates():
        print("siteupdates: warning: no plugin performs updates; claimed requests are "
              "handed back (install one, or pass --plugin)", file=sys.stderr)  # fmt: skip
    report = worker.run(poll=a.poll, until_idle=a.until_idle)
    data = attrs.asdict(report)
    out.emit(data, f"worker {a.id}: " + ", ".join(f"{k} {v}" for k, v in data.items()))
    return 0


def cmd_deliver(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``deliver`` command."""
    report = desk.deliver(max_attempts=a.max_attempts, timeout=a.timeout, base_delay=a.base_delay)
    out.emit(
        {
            "delivered": report.delivered,
            "retried": report.retried,
            "dead": report.dead,
            "errors": list(report.errors),
        },
        f"delivered {report.delivered}, to retry {report.retried}, dead {report.dead}"
        + "".join(f"\n  {e}" for e in report.errors),
    )
    return 0 if not report.dead else EXIT["refused"]


def cmd_outbox(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``outbox`` command."""
    state = None if a.state is None else OutboxState(a.state)
    rid = None if a.request is None else desk.resolve_id(a.request)
    items = desk.storage.outbox(request_id=rid, state=state)
    zone = desk.preset.default_zone
    rows = [
        {
            "key": o.key,
            "kind": o.kind,
            "state": o.state.value,
            "attempts": str(o.attempts),
            "subject": str(o.payload.get("subject") or o.payload.get("summary") or ""),
            "next": when(o.next_attempt_at, zone) if o.state is OutboxState.PENDING else "-",
        }
        for o in items
    ]
    data = [{**r, "payload": dict(o.payload)} for r, o in zip(rows, items)]
    out.emit(data, table(rows))
    return 0
