"""The ``siteupdates`` command: every use case on a storage (SQLite by default).

Exit status: 0 done; 1 refused by a rule or not allowed in the request's status;
2 bad input or usage; 3 unknown or not yours (R22); 4 changed by someone else
(conflict, try again); 5 setup or storage problem. Errors print one line on
standard error, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
from datetime import date, datetime, timedelta
from typing import Any, Callable, Dict, List, NoReturn, Optional, Sequence

import attrs

from siteupdates.domain import HistoryEntry, UpdateRequest
from siteupdates.domain.timeutil import to_instant
from siteupdates.domain.views import format_clock, format_day
from siteupdates.errors import (
    AccessDenied,
    ConfigurationError,
    ConflictError,
    InvalidInput,
    NotFound,
    RequestRefused,
    SiteUpdatesError,
    StorageError,
    TransitionNotAllowed,
)
from siteupdates.plugins import PluginHost
from siteupdates.ports import OutboxState
from siteupdates.service import Desk
from siteupdates.setupfile import load_setup, stored_preset

__all__ = ["EXIT", "main"]

EXIT = {
    "ok": 0,
    "refused": 1,
    "usage": 2,
    "access": 3,
    "conflict": 4,
    "setup": 5,
}
DATE_FORMS = "YYYY-MM-DD HH:MM (or YYYY-MM-DDTHH:MM)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT["usage"], f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _local(text: str) -> datetime:
    for form in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text.strip(), form)
        except ValueError:
            continue
    raise InvalidInput(f"malformed date-time {text!r}: expected {DATE_FORMS}", text)


def _instant(text: str) -> datetime:
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


# -- output -------------------------------------------------------------------------


def _table(rows: List[Dict[str, str]]) -> str:
    if not rows:
        return "(none)"
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
    head = "  ".join(c.upper().ljust(widths[c]) for c in cols).rstrip()
    lines = ["  ".join(r[c].ljust(widths[c]) for c in cols).rstrip() for r in rows]
    return "\n".join([head, *lines])


def _when(value: Optional[datetime], zone: str) -> str:
    if value is None:
        return "-"
    return f"{format_day(value, zone)} {format_clock(value, zone)}"


def _request_row(r: UpdateRequest, zone: str) -> Dict[str, str]:
    return {
        "id": r.id,
        "tenant": r.tenant_id,
        "target": r.target.value,
        "version": "DB refresh only" if r.version is None else str(r.version),
        "refresh": "yes" if r.db_refresh else "no",
        "status": r.status.label,
        "date": _when(r.effective_date, zone),
    }


def _request_json(r: UpdateRequest) -> Dict[str, Any]:
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


def _history_json(h: HistoryEntry) -> Dict[str, Any]:
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


class _Out:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def emit(self, data: Any, text: str) -> None:
        if self.as_json:
            print(json.dumps(data, indent=2, sort_keys=True))
        else:
            print(text)


# -- commands -------------------------------------------------------------------------


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


def cmd_init(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
    setup = load_setup(a.file)
    desk.load_setup(setup)
    counts = {
        "tenants": len(setup.tenants),
        "contacts": len(setup.contacts),
        "groups": len(setup.groups),
        "versions": len(setup.catalog.versions),
    }
    out.emit(
        counts,
        f"loaded {a.file} into {desk.storage.url}: "
        + ", ".join(f"{v} {k}" for k, v in counts.items()),
    )
    return 0


def cmd_tenants(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
    ts = desk.tenants_of(a.contact)
    rows = [{"id": t.id, "name": t.name, "plan": t.plan.value} for t in ts]
    out.emit(rows, _table(rows))
    return 0


def cmd_submit(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
    version = None if a.refresh_only else a.version
    if version is None and not a.refresh_only:
        raise InvalidInput("choose --version VERSION, or --refresh-only with --refresh", None)
    sub = desk.submit(
        a.contact,
        _tenant_of(desk, a),
        a.target,
        version,
        db_refresh=a.refresh,
        at=_local(a.at),
        zone=a.zone,
        ambiguity=a.ambiguous,
        idempotency_key=a.key,
    )
    zone = _contact_zone(desk, a.contact)
    r = sub.request
    lines = [
        f"request {r.id} {'(already submitted) ' if sub.replayed else ''}"
        f"is {r.status.label}, preferred start {_when(r.preferred_start, zone)}"
    ]
    lines += [f"warning {w}" for w in sub.warnings]
    lines += [f"request {s} is now New Version Requested (R17)" for s in sub.superseded]
    data = {**_request_json(sub.request), "replayed": sub.replayed, "superseded": sub.superseded}
    out.emit(data, "\n".join(lines))
    return 0


def cmd_list(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
    page = desk.requests(
        a.contact,
        _tenant_of(desk, a),
        hide_complete=a.hide_complete,
        offset=a.offset,
        limit=a.limit,
    )
    zone = _contact_zone(desk, a.contact)
    text = _table([_request_row(r, zone) for r in page.items])
    if page.total > len(page.items):
        text += f"\n({len(page.items)} of {page.total}; use --offset/--limit for more)"
    out.emit({"total": page.total, "items": [_request_json(r) for r in page.items]}, text)
    return 0


def cmd_overview(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
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


def _done(out: _Out, r: UpdateRequest, zone: str) -> int:
    out.emit(
        _request_json(r), f"request {r.id} is {r.status.label} ({_when(r.effective_date, zone)})"
    )
    return 0


def cmd_contact_action(action: str) -> Callable[[Desk, argparse.Namespace, _Out], int]:
    def run(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
        if action == "answer":
            r = desk.answer(a.contact, a.request, a.text)
        else:
            r = getattr(desk, action)(a.contact, a.request)
        return _done(out, r, _contact_zone(desk, a.contact))

    return run


def cmd_queue(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
    q = desk.queue(limit=a.limit)
    zone = desk.preset.default_zone
    out.emit([_request_json(r) for r in q], _table([_request_row(r, zone) for r in q]))
    return 0


def cmd_show(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
    r = desk.find(a.request)
    hist = desk.history(a.request)
    zone = desk.preset.default_zone
    rows = [
        {
            "seq": str(h.seq),
            "event": h.event.value,
            "by": h.by,
            "at": _when(h.at, zone),
            "from": h.from_status.label if h.from_status else "-",
            "to": h.to_status.label,
            "reason": h.reason or "",
        }
        for h in hist
    ]
    head = _table([_request_row(r, zone)])
    warn = "".join(f"\nwarning {w}" for w in r.warnings)
    out.emit(
        {**_request_json(r), "history": [_history_json(h) for h in hist]},
        f"{head}{warn}\n\n{_table(rows)}",
    )
    return 0


def _provider_when(desk: Desk, a: argparse.Namespace) -> datetime:
    return to_instant(_local(a.at), a.zone or desk.preset.default_zone, a.ambiguous)


def cmd_provider_action(action: str) -> Callable[[Desk, argparse.Namespace, _Out], int]:
    def run(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
        by = a.by
        if action == "schedule" and a.request is None:
            return _plan(desk, a, out)
        if action == "schedule":
            if a.at is None:
                raise InvalidInput(
                    "schedule REQUEST needs --at; without REQUEST it plans the queue"
                )
            r = desk.schedule(a.request, _provider_when(desk, a), by=by, reason=a.reason)
        elif action == "reschedule":
            r = desk.reschedule(a.request, _provider_when(desk, a), a.reason, by=by)
        elif action in ("ask_input", "defer", "fail"):
            r = getattr(desk, action)(a.request, a.text, by=by)
        else:
            r = getattr(desk, action)(a.request, by=by)
        return _done(out, r, desk.preset.default_zone)

    return run


def _plan(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
    horizon = desk.now() + timedelta(days=a.horizon_days)
    run = desk.plan_queue(horizon=horizon, dry_run=a.dry_run, by=a.by)
    zone = desk.preset.default_zone
    rows = []
    for r in run.requests:
        p = run.plan.placements[r.id]
        rows.append(
            {
                "position": str(p.position),
                "id": r.id,
                "tenant": r.tenant_id,
                "asked": _when(r.preferred_start, zone),
                "slot": _when(p.start, zone) if p.start else f"not placed: {p.reason}",
                "stored": "yes" if r.id in run.stored else "no",
            }
        )
    text = _table(rows)
    if a.dry_run:
        text += "\n(dry run: nothing stored; 'siteupdates explain ID' says why)"
    if run.conflicts:
        text += f"\nchanged meanwhile, not stored: {', '.join(run.conflicts)}"
    out.emit({"plan": rows, "conflicts": list(run.conflicts)}, text)
    return 0


def cmd_explain(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
    e = desk.explain(a.request, horizon=desk.now() + timedelta(days=a.horizon_days))
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


def cmd_group(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
    earliest = _provider_when(desk, a)
    made = desk.group_update(
        a.group, a.target, a.version, earliest=earliest, by=a.by,
        horizon=desk.now() + timedelta(days=a.horizon_days),
    )  # fmt: skip
    zone = desk.preset.default_zone
    out.emit([_request_json(r) for r in made], _table([_request_row(r, zone) for r in made]))
    return 0


def cmd_cloud(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
    try:
        week = date.fromisoformat(a.week_of)
    except ValueError:
        raise InvalidInput(
            f"malformed date {a.week_of!r}: expected YYYY-MM-DD", a.week_of
        ) from None
    made = desk.cloud_week(week, by=a.by)
    zone = desk.preset.default_zone
    out.emit([_request_json(r) for r in made], _table([_request_row(r, zone) for r in made]))
    return 0


def cmd_worker(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
    from siteupdates.worker import Worker

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


def cmd_deliver(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
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


def cmd_outbox(desk: Desk, a: argparse.Namespace, out: _Out) -> int:
    state = None if a.state is None else OutboxState(a.state)
    items = desk.storage.outbox(request_id=a.request, state=state)
    zone = desk.preset.default_zone
    rows = [
        {
            "key": o.key,
            "kind": o.kind,
            "state": o.state.value,
            "attempts": str(o.attempts),
            "subject": str(o.payload.get("subject") or o.payload.get("summary") or ""),
            "next": _when(o.next_attempt_at, zone) if o.state is OutboxState.PENDING else "-",
        }
        for o in items
    ]
    data = [{**r, "payload": dict(o.payload)} for r, o in zip(rows, items)]
    out.emit(data, _table(rows))
    return 0


# -- parser -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with ``--help`` on every command."""
    p = _Parser(
        prog="siteupdates",
        description="Update requests for hosted sites: submit, schedule, run, tell.",
        epilog="Exit status: 0 done, 1 refused, 2 bad input, 3 unknown or not yours, "
        "4 conflict (try again), 5 setup or storage problem.",
    )
    p.add_argument("--db", help="SQLite file (default: siteupdates.db, or $SITEUPDATES_URL)")
    p.add_argument("--url", help="storage URL, e.g. sqlite:///x.db or postgresql://...")
    p.add_argument("--json", action="store_true", help="print JSON for programs")
    p.add_argument(
        "--smtp",
        metavar="URL",
        help="send notices by email: smtp://host:port?from=sender@example.org "
        "(or $SITEUPDATES_SMTP_URL)",
    )
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE[:ATTR]",
        help="also load this plugin (a module, or an object or class in it); repeatable",
    )
    p.add_argument(
        "--now", help="pretend the time is this ISO instant (replays, demos); or $SITEUPDATES_NOW"
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def add(name: str, fn: Callable[..., int], help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(func=fn)
        return sp

    def who(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--as", dest="contact", required=True, metavar="CONTACT",
                        help="the contact acting (R22)")  # fmt: skip

    def when(sp: argparse.ArgumentParser, required: bool = True) -> None:
        sp.add_argument("--at", required=required, help=f"local time, {DATE_FORMS}")
        sp.add_argument("--zone", help="IANA zone the time is read in (default: yours)")
        sp.add_argument(
            "--ambiguous",
            choices=["earlier", "later", "raise"],
            default="earlier",
            help="which of a time that occurs twice at fall-back (default: earlier)",
        )

    sp = add("init", cmd_init, "load a provider setup (TOML) into the storage")
    sp.add_argument("file", help="setup file, see docs/setup.md")

    sp = add("tenants", cmd_tenants, "list the tenants a contact may act on")
    who(sp)

    sp = add("submit", cmd_submit, "submit an update or DB refresh request")
    who(sp)
    sp.add_argument("--tenant", help="tenant ID (default: the contact's only tenant)")
    sp.add_argument("--target", required=True, help="production/sandbox, staging or preview")
    sp.add_argument("--version", help="version to update to, e.g. E.1505.2")
    sp.add_argument("--refresh-only", action="store_true", help="no version change (R6)")
    sp.add_argument("--refresh", action="store_true", help="DB refresh = yes")
    sp.add_argument("--key", help="idempotency key: a retry returns the first request")
    when(sp)

    sp = add("list", cmd_list, "a tenant's requests, newest first (R19)")
    who(sp)
    sp.add_argument("--tenant", help="tenant ID (default: the contact's only tenant)")
    sp.add_argument("--hide-complete", action="store_true")
    sp.add_argument("--offset", type=int, default=0)
    sp.add_argument("--limit", type=int, default=50)

    sp = add("overview", cmd_overview, "a tenant's sites: current and scheduled (R21)")
    who(sp)
    sp.add_argument("--tenant", help="tenant ID (default: the contact's only tenant)")

    for name, help_ in (
        ("cancel", "cancel a To Be Scheduled or Scheduled request (R16)"),
        ("delete", "delete a completed request from view (R18)"),
    ):
        sp = add(name, cmd_contact_action(name), help_)
        who(sp)
        sp.add_argument("request")
    sp = add("answer", cmd_contact_action("answer"), "answer a Pending Input question")
    who(sp)
    sp.add_argument("request")
    sp.add_argument("text")

    sp = add("queue", cmd_queue, "provider: the To Be Scheduled queue, first come first served")
    sp.add_argument("--limit", type=int, default=1000)

    sp = add("show", cmd_show, "provider: a request and its full history")
    sp.add_argument("request")

    def provider(name: str, action: str, help_: str, text: Optional[str] = None) -> None:
        sp = add(name, cmd_provider_action(action), f"provider: {help_}")
        if action == "schedule":
            sp.add_argument("request", nargs="?", help="a request to place by hand (override)")
            sp.add_argument("--dry-run", action="store_true", help="show the plan, store nothing")
            sp.add_argument("--horizon-days", type=int, default=180, help="how far to plan")
            sp.add_argument("--reason", help="why the provider overrides the plan (R13)")
        else:
            sp.add_argument("request")
        sp.add_argument("--by", default="provider", help="who acts (kept in the history)")
        if text:
            sp.add_argument("text", metavar=text)
        if action in ("schedule", "reschedule"):
            when(sp, required=action == "reschedule")
        if action == "reschedule":
            sp.add_argument("--reason", required=True, help="told to the contact (R13)")

    provider(
        "schedule",
        "schedule",
        "plan the queue first come first served (no REQUEST), or place one request by hand",
    )
    provider("reschedule", "reschedule", "move a scheduled date, with a reason")
    provider("pull", "pull", "take a scheduled request from the queue (Not Started)")
    provider("start", "start", "begin the update (In Progress)")
    provider("complete", "complete", "finish the update (Completed)")
    provider("ask", "ask_input", "ask the contact a question (Pending Input)", "QUESTION")
    provider("defer", "defer", "put on hold (Deferred)", "REASON")
    provider("resume", "resume", "take a deferred request back into the queue")
    provider("fail", "fail", "give up, telling the contact why (Unable to Complete)", "REASON")

    sp = add("explain", cmd_explain, "provider: why a request has, or would get, its date")
    sp.add_argument("request")
    sp.add_argument("--horizon-days", type=int, default=180)

    sp = add("group-update", cmd_group, "provider: one version update for a whole group (R10)")
    sp.add_argument("group")
    sp.add_argument("--target", required=True)
    sp.add_argument("--version", required=True)
    sp.add_argument("--by", default="provider")
    sp.add_argument("--horizon-days", type=int, default=180)
    when(sp)

    sp = add("cloud-week", cmd_cloud, "provider: book the weekly automatic updates (R8)")
    sp.add_argument("--week-of", required=True, help="a date in the week, YYYY-MM-DD")
    sp.add_argument("--by", default="provider")

    sp = add("worker", cmd_worker, "run a hosting worker until stopped (SIGTERM)")
    sp.add_argument("--id", required=True, help="this worker's name, kept in the history")
    sp.add_argument("--lease", type=float, default=300.0, help="lease seconds (renewed)")
    sp.add_argument("--max-attempts", type=int, default=3)
    sp.add_argument("--batch", type=int, default=1, help="requests claimed at a time")
    sp.add_argument("--poll", type=float, default=5.0, help="seconds between polls when idle")
    sp.add_argument("--until-idle", action="store_true", help="stop when nothing is due")

    sp = add("deliver", cmd_deliver, "deliver due notices and calendar entries from the outbox")
    sp.add_argument("--max-attempts", type=int, default=8)
    sp.add_argument("--timeout", type=float, default=30.0, help="seconds per delivery")
    sp.add_argument("--base-delay", type=float, default=30.0, help="first retry delay, seconds")

    sp = add("outbox", cmd_outbox, "provider: outgoing notices and their delivery state")
    sp.add_argument("--request")
    sp.add_argument("--state", choices=[s.value for s in OutboxState])
    return p


def _open(a: argparse.Namespace) -> Desk:
    url = a.url or (f"sqlite:///{a.db}" if a.db else None)
    url = url or os.environ.get("SITEUPDATES_URL") or "sqlite:///siteupdates.db"
    now_text = a.now or os.environ.get("SITEUPDATES_NOW")
    fixed = _instant(now_text) if now_text else None
    extra = [_load_plugin(spec) for spec in a.plugin]
    smtp = a.smtp or os.environ.get("SITEUPDATES_SMTP_URL")
    if smtp:
        from siteupdates.builtin.smtp import SmtpNotifier

        extra.append(SmtpNotifier(smtp))
    host = PluginHost(plugins=extra)
    desk = Desk.open(url, host=host, clock=(lambda: fixed) if fixed else _real_now)
    settings = desk.storage.settings()
    preset = stored_preset(settings)
    if preset is not None:
        desk.preset = preset
    elif a.command != "init" and not desk.storage.tenants():
        desk.close()
        raise ConfigurationError(
            f"{url.split('://')[0]} storage has no setup yet; run: siteupdates init SETUP.toml"
        )
    return desk


def _load_plugin(spec: str) -> object:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import plugin {module_name!r}: {exc}") from None
    if not attr:
        return module
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise ConfigurationError(f"plugin module {module_name!r} has no {attr!r}") from None
    return obj() if isinstance(obj, type) else obj


def _real_now() -> datetime:
    from datetime import timezone

    return datetime.now(timezone.utc)


def _exit_code(exc: SiteUpdatesError) -> int:
    if isinstance(exc, (RequestRefused, TransitionNotAllowed)):
        return EXIT["refused"]
    if isinstance(exc, (AccessDenied, NotFound)):
        return EXIT["access"]
    if isinstance(exc, ConflictError):
        return EXIT["conflict"]
    if isinstance(exc, (ConfigurationError, StorageError)):
        return EXIT["setup"]
    return EXIT["usage"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    a = parser.parse_args(argv)
    out = _Out(a.json)
    try:
        desk = _open(a)
        try:
            return int(a.func(desk, a, out))
        finally:
            desk.close()
    except RequestRefused as exc:
        # One line, every refusal: scripts read one line, people see every reason.
        print("refused: " + "; ".join(f"{r.rule}: {r.message}" for r in exc.refusals),
              file=sys.stderr)  # fmt: skip
        return EXIT["refused"]
    except SiteUpdatesError as exc:
        print(f"siteupdates: {exc}", file=sys.stderr)
        return _exit_code(exc)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
