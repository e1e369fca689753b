"""The commands: each reads its arguments, calls one use case of the desk, prints.

A command never reaches below :class:`~siteupdates.Desk`'s public methods and
the storage's read port; errors travel up as :class:`SiteUpdatesError` and
:func:`siteupdates.cli.main` turns them into one line and an exit status.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional

import attrs

from siteupdates import checks, ports
from siteupdates.domain import Tenant, UpdateRequest
from siteupdates.domain.timeutil import to_instant
from siteupdates.errors import ConfigurationError, InvalidInput, StaleReport
from siteupdates.service import Desk

from .inputs import EXIT, local_time
from .render import (
    Out,
    audit_json,
    error_json,
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
    pass


def _tenant_of(desk: Desk, a: argparse.Namespace) -> str:
    """``--tenant``, or the contact's only tenant (a district contact sees one)."""
    if a.tenant:
        return str(a.tenant)
    mine = desk.tenants_of(a.contact)
    if len(mine) == 1:
        return mine[0].id
    choices = ", ".join(t.id for t in mine) or "none"
    raise InvalidInput(f"choose --tenant among the tenants connected to you: {choices}", None)


def _refresh(a: argparse.Namespace) -> Optional[bool]:
    """DB refresh as asked: ``--refresh`` yes, ``--no-refresh`` no, neither not given (R9)."""
    value = getattr(a, "refresh", None)
    return None if value is None else bool(value)


def _contact_zone(desk: Desk, contact_id: str) -> str:
    c = desk.storage.contact(contact_id)
    return (c.zone if c else None) or desk.default_zone


def cmd_apply(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``apply`` command (and its other name, ``init``)."""
    from siteupdates.setupfile import load_setup

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
    zone = desk.default_zone
    data = {
        **counts,
        "storage": desk.storage.url,
        "dry_run": a.dry_run,
        "changes": [audit_json(c, zone) for c in report.changes],
    }
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
    zone = desk.default_zone
    rows = [
        {"seq": str(e.seq), "at": when(e.at, zone), "by": e.by, "change": e.describe()}
        for e in entries
    ]
    out.emit([audit_json(e, zone) for e in entries], table(rows))
    return 0


def cmd_tenants(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``tenants`` command."""
    ts = desk.tenants_of(a.contact)
    rows = [{"id": t.id, "name": t.name, "plan": t.plan.value} for t in ts]
    out.emit(page_json(ts, tenant_json), table(rows))
    return 0


def cmd_submit(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``submit`` command."""
    version = None if a.refresh_only else a.version
    if version is None and not a.refresh_only:
        raise InvalidInput("choose --version VERSION, or --refresh-only (DB refresh only)", None)
    if a.reason is not None and not a.override:
        raise InvalidInput("--reason goes with --override RULE (the provider's exception)")
    tenant = _tenant_of(desk, a)
    when_ = local_time(a.at)
    if a.override:
        if not a.reason:
            raise InvalidInput("--override needs --reason: why the provider makes an exception")
        sub = desk.override(
            a.contact, tenant, a.target, version, rules=a.override, reason=a.reason, by=a.by,
            db_refresh=_refresh(a), at=when_, zone=a.zone, ambiguity=a.ambiguous,
            idempotency_key=a.key,
        )  # fmt: skip
    else:
        sub = desk.submit(
            a.contact, tenant, a.target, version, db_refresh=_refresh(a), at=when_,
            zone=a.zone, ambiguity=a.ambiguous, idempotency_key=a.key,
        )  # fmt: skip
    zone = _contact_zone(desk, a.contact)
    r = sub.request
    lines = [
        f"request {r.id} {'(already submitted) ' if sub.replayed else ''}"
        f"is {r.status.label}, preferred start {when(r.preferred_start, zone)}"
    ]
    if sub.overridden:
        lines.append(f"accepted by {a.by}, overriding {', '.join(sub.overridden)}: {a.reason}")
    lines += [f"warning {w}" for w in sub.warnings]
    lines += [f"request {s} is now New Version Requested (R17)" for s in sub.superseded]
    data = {
        **request_json(sub.request, zone),
        "replayed": sub.replayed,
        "superseded": list(sub.superseded),
        "overridden": list(sub.overridden),
    }
    out.emit(data, "\n".join(lines))
    return 0


def cmd_submit_many(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``submit-many`` command: a CSV or JSON-lines file of drafts, in one transaction."""
    from .drafts import read_drafts

    drafts, keys = read_drafts(a.file)
    results = desk.submit_many(a.contact, drafts, idempotency_keys=keys)
    zone = _contact_zone(desk, a.contact)
    rows = [
        {
            "line": str(r.index + 1),
            "tenant": r.draft.tenant_id,
            "result": (
                ("replayed " if r.submission.replayed else "accepted ")
                + short_id(r.submission.request.id)
                if r.submission is not None
                else "refused"
            ),
            "why": "; ".join(f"{x.rule}: {x.message}" for x in r.refusals),
        }
        for r in results
    ]
    data = [
        {
            "line": r.index + 1,
            "accepted": r.accepted,
            "request": None if r.submission is None else request_json(r.submission.request, zone),
            "replayed": bool(r.submission and r.submission.replayed),
            "superseded": [] if r.submission is None else list(r.submission.superseded),
            "refusals": [
                {"rule": x.rule, "message": x.message, "suggestion": x.suggestion}
                for x in r.refusals
            ],
        }
        for r in results
    ]
    accepted = sum(1 for r in results if r.accepted)
    text = table(rows) + f"\n{accepted} of {len(results)} accepted, in one transaction"
    out.emit(data, text)
    return 0 if accepted == len(results) else EXIT["refused"]


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
    out.emit(page_json(page, lambda r: request_json(r, zone)), text)
    return 0


def cmd_overview(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``overview`` command."""
    ov = desk.overview(a.contact, _tenant_of(desk, a))
    out.emit(overview_json(ov), ov.render())
    return 0


def _done(out: Out, r: UpdateRequest, zone: str) -> int:
    out.emit(
        request_json(r, zone),
        f"request {r.id} is {r.status.label} ({when(r.effective_date, zone)})",
    )
    return 0


def _contact_request(desk: Desk, a: argparse.Namespace) -> str:
    """The full ID of a request the contact names by a prefix; never says what others hold."""
    return desk.resolve_id_for(a.contact, a.request)


def cmd_contact_action(action: str) -> Callable[[Desk, argparse.Namespace, Out], int]:
    """The command of a contact's change of one request (cancel, delete, answer, move)."""

    def run(desk: Desk, a: argparse.Namespace, out: Out) -> int:
        rid = _contact_request(desk, a)
        if action == "answer":
            r = desk.answer(a.contact, rid, a.text)
        elif action in ("approve", "decline"):
            r = getattr(desk, action)(a.contact, rid)
        elif action == "move":
            r = desk.move(a.contact, rid, at=local_time(a.at), zone=a.zone,
                          ambiguity=a.ambiguous)  # fmt: skip
        else:
            r = getattr(desk, action)(a.contact, rid)
        return _done(out, r, _contact_zone(desk, a.contact))

    return run


def cmd_stage(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``stage`` command: staging, then production."""
    soak = None if a.soak_hours is None else timedelta(hours=a.soak_hours)
    made = desk.submit_staged(
        a.contact, _tenant_of(desk, a), a.version, at=local_time(a.at), zone=a.zone, soak=soak
    )
    zone = _contact_zone(desk, a.contact)
    lines = [
        f"staging request {made.staging.id} asks for {when(made.staging.preferred_start, zone)}",
        f"production request {made.production.id} follows at least "
        f"{made.soak.total_seconds() / 3600:g} hours after staging, once you approve",
    ]
    out.emit(
        {"staging": request_json(made.staging, zone),
         "production": request_json(made.production, zone),
         "soak_hours": made.soak.total_seconds() / 3600},
        "\n".join(lines),
    )  # fmt: skip
    return 0


def cmd_postpone(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``postpone`` command: a contact's limited deferral."""
    rid = _contact_request(desk, a)
    r = desk.postpone(a.contact, rid, days=a.days, next_window=a.next_window)
    return _done(out, r, _contact_zone(desk, a.contact))


def cmd_stages(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``stages`` command."""
    moved = desk.advance_stages(by=a.by)
    zone = desk.default_zone
    out.emit(
        {"requests": [request_json(r, zone) for r in moved]},
        table([request_row(r, zone) for r in moved]),
    )
    return 0


def cmd_queue(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``queue`` command."""
    q = desk.queue(offset=a.offset, limit=a.limit)
    zone = desk.default_zone
    text = table([request_row(r, zone) for r in q])
    if q.total > q.offset + len(q):
        text += f"\n({len(q)} of {q.total}; use --offset/--limit for more)"
    out.emit(page_json(q, lambda r: request_json(r, zone)), text)
    return 0


def cmd_show(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``show`` command."""
    rid = desk.resolve_id(a.request)
    r = desk.find(rid)
    hist = desk.history(rid)
    zone = desk.default_zone
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
    for row, h in zip(rows, hist):
        if h.overrides:
            row["reason"] = row["reason"] or f"override of {', '.join(h.overrides)}"
    head = table([request_row(r, zone)])
    warn = "".join(f"\nwarning {w}" for w in r.warnings)
    out.emit(
        {**request_json(r, zone), "history": [history_json(h, zone) for h in hist]},
        f"{head}{warn}\n\n{table(rows)}",
    )
    return 0


def _providerwhen(desk: Desk, a: argparse.Namespace) -> datetime:
    return to_instant(local_time(a.at), a.zone or desk.default_zone, a.ambiguous)


def cmd_provider_action(action: str) -> Callable[[Desk, argparse.Namespace, Out], int]:
    """The command of a provider's change of one request (or of planning the queue)."""

    def run(desk: Desk, a: argparse.Namespace, out: Out) -> int:
        by = a.by
        if action == "schedule" and a.request is None:
            return _plan(desk, a, out)
        if action == "reschedule" and a.contact is not None:
            if a.reason is not None or by != "provider":
                raise InvalidInput("reschedule --as CONTACT takes no --reason or --by: "
                                   "those are the provider's")  # fmt: skip
            return cmd_contact_action("move")(desk, a, out)
        if action == "reschedule" and a.reason is None:
            raise InvalidInput(
                "the provider's reschedule needs --reason, told to the contact (R13); "
                "a contact moves their own request with --as CONTACT"
            )
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
        elif action in ("ask_input", "mark_answered", "defer", "fail"):
            r = getattr(desk, action)(a.request, a.text, by=by)
        else:
            r = getattr(desk, action)(a.request, by=by)
        return _done(out, r, desk.default_zone)

    return run


def _what_if(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    horizon = desk.now() + timedelta(days=a.horizon_days)
    result = desk.what_if(a.what_if, horizon=horizon)
    zone = desk.default_zone
    rows = [
        {
            "id": short_id(m.request.id),
            "tenant": m.request.tenant_id,
            "status": m.request.status.label,
            "old": when(m.old, zone) if m.old else "-",
            "new": when(m.new, zone) if m.new else f"not placed: {m.reason}",
            "notices": str(len(m.notices)),
        }
        for m in result.moves
    ]
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
    out.emit(data, text)
    return 0


def _plan(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    if a.what_if:
        return _what_if(desk, a, out)
    horizon = desk.now() + timedelta(days=a.horizon_days)
    run = desk.plan_queue(horizon=horizon, dry_run=a.dry_run, by=a.by)
    zone = desk.default_zone
    rows = []
    data = []
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
        data.append(
            {
                "position": p.position,
                "request": r.id,
                "short_id": short_id(r.id),
                "tenant": r.tenant_id,
                "asked": instant(r.preferred_start, zone),
                "start": instant(p.start, zone),
                "end": instant(p.end, zone),
                "reason": p.reason,
                "stored": r.id in run.stored,
                "warnings": [{"rule": w.rule, "message": w.message} for w in p.warnings],
            }
        )
    text = table(rows)
    if a.dry_run:
        text += "\n(dry run: nothing stored; 'siteupdates explain ID' says why)"
    if run.conflicts:
        text += f"\nchanged meanwhile, not stored: {', '.join(run.conflicts)}"
    out.emit(
        {"plan": data, "conflicts": list(run.conflicts), "dry_run": bool(a.dry_run),
         "zone": zone},
        text,
    )  # fmt: skip
    return 0


def cmd_explain(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``explain`` command: the provider's, or with ``--as`` the contact's own view."""
    horizon = desk.now() + timedelta(days=a.horizon_days)
    if a.contact is not None:
        e = desk.explain_to(a.contact, _contact_request(desk, a), horizon=horizon)
        zone = _contact_zone(desk, a.contact)
    else:
        e = desk.explain(desk.resolve_id(a.request), horizon=horizon)
        zone = desk.default_zone
    out.emit(explanation_json(e, zone), e.render())
    return 0


def _requests_of(desk: Desk, tenants: List[Tenant]) -> List[UpdateRequest]:
    """Every request of ``tenants``, whatever its status (a feed shows cancellations too)."""
    return [r for t in tenants for r in desk.storage.requests_for(t.id, limit=1_000_000).items]


def _departed(desk: Desk, requests: List[UpdateRequest], departure: Any) -> Dict[str, Any]:
    """The last date of each request that lost it: the feed keeps it as cancelled a while."""
    found = {r.id: departure(desk.history(r.id)) for r in requests if r.scheduled_for is None}
    return {rid: d for rid, d in found.items() if d is not None}


def cmd_feed(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``feed`` command: the iCalendar feed of a contact's tenants (R22), or the provider's.

    The reminder ladder's leads become alarms, so a subscribed calendar reminds
    as the notices do. With ``--json`` the calendar travels as a string.
    """
    try:
        from siteupdates_ical import contact_feed, departure, provider_feed
    except ImportError:
        raise ConfigurationError(
            "feed needs the calendar plugin, which is not installed: pip install siteupdates-ical"
        ) from None
    stamp, alarms = desk.now(), desk.app.reminders
    if a.contact is not None:
        tenants = list(desk.tenants_of(a.contact))  # refuses an unknown contact (R22)
        contact = desk.storage.contact(a.contact)
        assert contact is not None
        zone = _contact_zone(desk, a.contact)
        requests = _requests_of(desk, tenants)
        gone = _departed(desk, requests, departure)
        data = contact_feed(contact, requests, tenants, default_zone=zone, stamp=stamp,
                            alarms=alarms, departed=gone)  # fmt: skip
    else:
        tenants = desk.storage.tenants()
        zone = desk.default_zone
        requests = _requests_of(desk, tenants)
        data = provider_feed(requests, tenants, zone=zone, stamp=stamp, alarms=alarms,
                             departed=_departed(desk, requests, departure))  # fmt: skip
    events = sum(1 for r in requests if r.scheduled_for is not None)
    if out.as_json:
        out.emit(
            {"contact": a.contact, "zone": zone, "events": events,
             "calendar": data.decode("utf-8")},
            "",
        )  # fmt: skip
    else:
        # The bytes as rendered: CRLF line ends are part of RFC 5545.
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def cmd_group(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``group`` command."""
    earliest = _providerwhen(desk, a)
    made = desk.group_update(
        a.group, a.target, a.version, earliest=earliest, by=a.by,
        horizon=desk.now() + timedelta(days=a.horizon_days),
    )  # fmt: skip
    zone = desk.default_zone
    out.emit(
        {"requests": [request_json(r, zone) for r in made]},
        table([request_row(r, zone) for r in made]),
    )
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
    zone = desk.default_zone
    out.emit(
        {"requests": [request_json(r, zone) for r in made]},
        table([request_row(r, zone) for r in made]),
    )
    return 0


@contextmanager
def _logs_on_stderr() -> Iterator[None]:
    """Show the library's INFO logs (notices, workers, the outbox) on standard error.

    The library only adds a NullHandler; the command line decides where logs go.
    """
    import logging

    from siteupdates.logs import logger

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    log = logger("siteupdates")
    before = log.level
    log.addHandler(handler)
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(before)


def cmd_worker(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``worker`` command."""
    from siteupdates.app.worker import Worker  # loaded here: other commands do not need it
    from siteupdates.logs import logger

    worker = Worker(desk, a.id, lease_seconds=a.lease, max_attempts=a.max_attempts, batch=a.batch)
    # SIGTERM: finish the update in hand, hand back what was not started, exit 0.
    import signal

    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    if not desk.host.performs_updates():
        print("siteupdates: warning: no plugin performs updates; claimed requests are "
              "handed back (install one, or pass --plugin)", file=sys.stderr)  # fmt: skip
    with _logs_on_stderr():
        logger("siteupdates.worker").info(
            "worker %s ready: lease %g s, batch %d, polling every %g s",
            a.id, a.lease, a.batch, a.poll,
        )  # fmt: skip
        report = worker.run(poll=a.poll, until_idle=a.until_idle)
    data = attrs.asdict(report)
    out.emit(data, f"worker {a.id}: " + ", ".join(f"{k} {v}" for k, v in data.items()))
    return 0


def cmd_deliver(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``deliver`` command: one pass over the outbox, or passes until SIGTERM (``--loop``)."""
    dispatcher = desk.dispatcher(
        max_attempts=a.max_attempts, timeout=a.timeout, base_delay=a.base_delay,
        batch=a.batch, lease=a.lease,
    )  # fmt: skip
    notifiers = desk.host.notifiers()
    log_only = notifiers == ["siteupdates.notify.log"]
    with _logs_on_stderr():
        if a.loop:
            import signal

            signal.signal(signal.SIGTERM, lambda *_: dispatcher.stop())
            report = dispatcher.run(poll=a.poll)
        else:
            report = dispatcher.run_once()
    data = {
        "delivered": report.delivered,
        "retried": report.retried,
        "dead": report.dead,
        "withdrawn": report.withdrawn,
        "lost": report.lost,
        "undelivered": report.undelivered,
        "errors": list(report.errors),
        "notifiers": notifiers,
    }
    text = f"delivered {report.delivered}, to retry {report.retried}, dead {report.dead}"
    if report.withdrawn:
        text += f", reminders withdrawn {report.withdrawn}"
    if report.lost:
        text += f", taken over by another deliverer {report.lost}"
    text += "".join(f"\n  {e}" for e in report.errors)
    if log_only and report.delivered:
        text += ("\nnote: no mail notifier is configured: notices went to standard error only "
                 "(pass --smtp URL, or a notifier plugin)")  # fmt: skip
    if report.undelivered:
        text += (f"\nno notifier accepted {report.undelivered} notice(s); they stay pending "
                 "(pass --smtp URL, or a notifier plugin)")  # fmt: skip
    out.emit(data, text)
    if report.undelivered:
        return EXIT["setup"]
    return 0 if not report.dead else EXIT["refused"]


def cmd_outbox(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``outbox`` command."""
    state = None if a.state is None else ports.OutboxState(a.state)
    rid = None if a.request is None else desk.resolve_id(a.request)
    items = desk.storage.outbox(request_id=rid, state=state)
    zone = desk.default_zone
    rows = [
        {
            "key": o.key,
            "kind": o.kind,
            "state": o.state.value,
            "attempts": str(o.attempts),
            "subject": str(o.payload.get("subject") or o.payload.get("summary") or ""),
            "next": when(o.next_attempt_at, zone) if o.state is ports.OutboxState.PENDING else "-",
            "error": o.last_error or "" if o.state is not ports.OutboxState.DELIVERED else "",
        }
        for o in items
    ]
    out.emit({"items": [outbox_json(o, zone) for o in items], "zone": zone}, table(rows))
    return 0


def cmd_outbox_retry(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``outbox retry`` command: requeue dead items by key, or every dead one."""
    if not a.keys and not a.dead:
        raise InvalidInput("outbox retry needs KEY... or --dead", None)
    found = desk.retry_outbox(a.keys, dead=a.dead, by=a.by)
    missing = sorted(set(a.keys) - {o.key for o in found})
    data = {"requeued": [o.key for o in found], "missing": missing}
    text = f"requeued {len(found)}" + "".join(f"\n  {o.key}" for o in found)
    if missing:
        text += f"\nno dead or pending item with key: {', '.join(missing)}"
    out.emit(data, text)
    return EXIT["access"] if missing else 0


# -- executors: dispatch and report ----------------------------------------------------


def cmd_dispatch(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``dispatch`` command: the due-dispatcher loop, or one run's status or cancel."""
    if a.status is not None:
        run, said = desk.run_status(desk.resolve_id(a.status))
        data = {**run.ticket().to_json(), "engine_status": said}
        out.emit(data, f"run {run.idempotency_key}: {said or 'no executor can tell'}")
        return 0
    if a.cancel is not None:
        if not a.reason:
            raise InvalidInput("dispatch --cancel REQUEST needs --reason (told to the contact)")
        r = desk.cancel_run(desk.resolve_id(a.cancel), a.reason, by=a.by)
        return _done(out, r, desk.default_zone)
    if not a.id:
        raise InvalidInput("dispatch needs --id NAME (or --status/--cancel REQUEST)")
    if a.local:
        from siteupdates.app.executors import LocalExecutor

        desk.host.register(LocalExecutor(desk.app), name="siteupdates.executor.local")
    dispatcher = desk.run_dispatcher(
        a.id, lease_seconds=a.lease, max_attempts=a.max_attempts, batch=a.batch,
        start_within=a.start_within, max_waiting=a.max_waiting,
    )  # fmt: skip
    # SIGTERM: hand back what is claimed and not dispatched, exit 0.
    import signal

    signal.signal(signal.SIGTERM, lambda *_: dispatcher.stop())
    report = dispatcher.run(poll=a.poll, until_idle=a.until_idle)
    data = attrs.asdict(report)
    counts = ", ".join(f"{k} {v}" for k, v in data.items() if k != "errors")
    errors = "".join(f"\n  {e}" for e in report.errors)
    out.emit(data, f"dispatcher {a.id}: {counts}{errors}")
    return 0


def cmd_report(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``report`` command: an engine tells what became of a run."""
    try:
        done = desk.report(desk.resolve_id(a.request), a.token, a.outcome, contact_reason=a.reason)
    except StaleReport as exc:
        # Refused, not a conflict to retry: a newer attempt owns the request.
        if out.as_json:
            print(json.dumps(error_json(exc, EXIT["refused"]), sort_keys=True), file=sys.stderr)
        else:
            print(f"siteupdates: {exc}", file=sys.stderr)
        return EXIT["refused"]
    r = done.request
    note = "" if done.applied else " (already reported; ignored)"
    out.emit(
        {**request_json(r, desk.default_zone), "applied": done.applied},
        f"request {r.id} is {r.status.label}{note}",
    )
    return 0
