"""The 0.2 flat commands and the long-running ones: each reads its arguments, runs use cases.

Every use case runs through :meth:`siteupdates.Desk.call` with arguments checked
by :meth:`~siteupdates.usecases.declare.UseCase.bind` (:func:`use`), as the
generated actor commands (:mod:`.generated`) do. A flat command with several
forms (``schedule`` with or without REQUEST, ``reschedule --as``, ``dispatch
--status``) maps each form to its use case, and refuses an option the chosen
form would ignore (exit 2). Errors travel up as :class:`SiteUpdatesError` and
:func:`siteupdates.cli.main` turns them into one line and an exit status.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Tuple

import attrs

from siteupdates import checks
from siteupdates.domain import Tenant, UpdateRequest
from siteupdates.domain.timeutil import to_instant
from siteupdates.errors import ConfigurationError, InvalidInput, StaleReport
from siteupdates.service import Desk
from siteupdates.usecases.catalog import by_name
from siteupdates.usecases.declare import Role

from .inputs import EXIT, local_time
from .render import (
    Out,
    audit_json,
    error_json,
    explanation_json,
    history_json,
    outbox_json,
    overview_json,
    page_json,
    request_json,
    request_row,
    short_id,
    table,
    tenant_json,
    when,
    zone_of,
)

if TYPE_CHECKING:
    pass


def use(desk: Desk, actor: str, name: str, lead: Tuple[str, ...] = (), **values: Any) -> Any:
    """Run the use case ``actor.name`` with ``values`` checked by its declaration."""
    uc = by_name(Role(actor), name)
    return desk.call(uc, lead, uc.bind((), values))


def _option(dest: str) -> str:
    return {"contact": "--as", "what_if": "--what-if"}.get(dest, "--" + dest.replace("_", "-"))


def refuse_ignored(a: argparse.Namespace, form: str, **defaults: Any) -> None:
    """Refuse (exit 2) the options the chosen form of a command would ignore.

    ``defaults`` maps each such option's ``dest`` to its value when not given.
    """
    given = [_option(dest) for dest, default in defaults.items()
             if getattr(a, dest, default) != default]  # fmt: skip
    if given:
        raise InvalidInput(f"{form} ignores {', '.join(given)}: leave "
                           f"{'it' if len(given) == 1 else 'them'} out")  # fmt: skip


def _tenant_of(desk: Desk, a: argparse.Namespace) -> str:
    """``--tenant``, or the contact's only tenant (a district contact sees one)."""
    if a.tenant:
        return str(a.tenant)
    mine = use(desk, "contact", "tenants", (a.contact,))
    if len(mine) == 1:
        return str(mine[0].id)
    choices = ", ".join(t.id for t in mine) or "none"
    raise InvalidInput(f"choose --tenant among the tenants connected to you: {choices}", None)


def _refresh(a: argparse.Namespace) -> Optional[bool]:
    """DB refresh as asked: ``--refresh`` yes, ``--no-refresh`` no, neither not given (R9)."""
    value = getattr(a, "refresh", None)
    return None if value is None else bool(value)


def _contact_zone(desk: Desk, contact_id: str) -> str:
    return zone_of(desk, (contact_id,))


def cmd_apply(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``apply`` command (and its other name, ``init``)."""
    from siteupdates.setupfile import load_setup

    setup = load_setup(a.file)
    report = use(desk, "provider", "apply_setup", setup=setup, by=a.by or _operator(),
                 dry_run=a.dry_run)  # fmt: skip
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
    entries = use(desk, "provider", "audit", kind=a.kind, key=a.key, limit=a.limit)
    zone = desk.default_zone
    rows = [
        {"seq": str(e.seq), "at": when(e.at, zone), "by": e.by, "change": e.describe()}
        for e in entries
    ]
    out.emit([audit_json(e, zone) for e in entries], table(rows))
    return 0


def cmd_tenants(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``tenants`` command."""
    ts = use(desk, "contact", "tenants", (a.contact,))
    rows = [{"id": t.id, "name": t.name, "plan": t.plan.value} for t in ts]
    out.emit(page_json(ts, tenant_json), table(rows))
    return 0


def cmd_submit(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``submit`` command."""
    from .views import submission_data, submission_text

    version = None if a.refresh_only else a.version
    if version is None and not a.refresh_only:
        raise InvalidInput("choose --version VERSION, or --refresh-only (DB refresh only)", None)
    if a.reason is not None and not a.override:
        raise InvalidInput("--reason goes with --override RULE (the provider's exception)")
    if not a.override:
        refuse_ignored(a, "submit without --override", by="provider")
    tenant = _tenant_of(desk, a)
    when_ = local_time(a.at)
    if a.override:
        if not a.reason:
            raise InvalidInput("--override needs --reason: why the provider makes an exception")
        sub = use(
            desk, "provider", "override", contact_id=a.contact, tenant_id=tenant,
            target=a.target, version=version, rules=tuple(a.override), reason=a.reason, by=a.by,
            db_refresh=_refresh(a), at=when_, zone=a.zone, ambiguity=a.ambiguous,
            idempotency_key=a.key,
        )  # fmt: skip
    else:
        sub = use(
            desk, "contact", "submit", (a.contact,), tenant_id=tenant, target=a.target,
            version=version, db_refresh=_refresh(a), at=when_, zone=a.zone,
            ambiguity=a.ambiguous, idempotency_key=a.key,
        )  # fmt: skip
    zone = _contact_zone(desk, a.contact)
    out.emit(submission_data(sub, zone), submission_text(sub, zone, a.by, a.reason or ""))
    return 0


def cmd_submit_many(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``submit-many`` command: a CSV or JSON-lines file of drafts, in one transaction."""
    from .drafts import read_drafts

    drafts, keys = read_drafts(a.file)
    results = use(desk, "contact", "submit_many", (a.contact,), drafts=drafts,
                  idempotency_keys=keys)  # fmt: skip
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
    page = use(desk, "contact", "requests", (a.contact,), tenant_id=_tenant_of(desk, a),
               hide_complete=a.hide_complete, offset=a.offset, limit=a.limit)  # fmt: skip
    zone = _contact_zone(desk, a.contact)
    text = table([request_row(r, zone) for r in page.items])
    if page.total > len(page.items):
        text += f"\n({len(page.items)} of {page.total}; use --offset/--limit for more)"
    out.emit(page_json(page, lambda r: request_json(r, zone)), text)
    return 0


def cmd_overview(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``overview`` command."""
    ov = use(desk, "contact", "overview", (a.contact,), tenant_id=_tenant_of(desk, a))
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
    return str(use(desk, "contact", "resolve_id", (a.contact,), prefix=a.request))


def cmd_contact_action(action: str) -> Callable[[Desk, argparse.Namespace, Out], int]:
    """The command of a contact's change of one request (cancel, delete, answer, move)."""

    def run(desk: Desk, a: argparse.Namespace, out: Out) -> int:
        rid = _contact_request(desk, a)
        lead = (a.contact,)
        if action == "answer":
            r = use(desk, "contact", "answer", lead, request_id=rid, text=a.text)
        elif action == "move":
            r = use(desk, "contact", "move", lead, request_id=rid, at=local_time(a.at),
                    zone=a.zone, ambiguity=a.ambiguous)  # fmt: skip
        else:
            r = use(desk, "contact", action, lead, request_id=rid)
        return _done(out, r, _contact_zone(desk, a.contact))

    return run


def cmd_stage(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``stage`` command: staging, then production."""
    from .views import staged_data, staged_text

    soak = None if a.soak_hours is None else timedelta(hours=a.soak_hours)
    made = use(desk, "contact", "submit_staged", (a.contact,), tenant_id=_tenant_of(desk, a),
               version=a.version, at=local_time(a.at), zone=a.zone, soak=soak)  # fmt: skip
    zone = _contact_zone(desk, a.contact)
    out.emit(staged_data(made, zone), staged_text(made, zone))
    return 0


def cmd_postpone(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``postpone`` command: a contact's limited deferral."""
    rid = _contact_request(desk, a)
    r = use(desk, "contact", "postpone", (a.contact,), request_id=rid, days=a.days,
            next_window=a.next_window)  # fmt: skip
    return _done(out, r, _contact_zone(desk, a.contact))


def cmd_stages(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``stages`` command."""
    moved = use(desk, "provider", "advance_stages", by=a.by)
    zone = desk.default_zone
    out.emit(
        {"requests": [request_json(r, zone) for r in moved]},
        table([request_row(r, zone) for r in moved]),
    )
    return 0


def cmd_queue(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``queue`` command."""
    q = use(desk, "provider", "queue", offset=a.offset, limit=a.limit)
    zone = desk.default_zone
    text = table([request_row(r, zone) for r in q])
    if q.more:
        total = f"{q.total}" if q.exact else f"at least {q.total}"  # counted up to a cap
        text += f"\n({len(q)} of {total}; use --offset/--limit for more)"
    out.emit(page_json(q, lambda r: request_json(r, zone)), text)
    return 0


def cmd_show(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``show`` command."""
    from .views import history_rows

    rid = _provider_request(desk, a.request)
    r = use(desk, "provider", "find", request_id=rid)
    hist = use(desk, "provider", "history", request_id=rid)
    zone = desk.default_zone
    rows = history_rows(hist, zone)
    head = table([request_row(r, zone)])
    meaning = f"\n{r.status.label}: {desk.meaning(r.status)}"
    warn = "".join(f"\nwarning {w}" for w in r.warnings)
    out.emit(
        {**request_json(r, zone), "history": [history_json(h, zone) for h in hist]},
        f"{head}{meaning}{warn}\n\n{table(rows)}",
    )
    return 0


def _provider_request(desk: Desk, prefix: str) -> str:
    """The full ID of the one request starting with ``prefix``."""
    return str(use(desk, "provider", "resolve_id", prefix=prefix))


def _providerwhen(desk: Desk, a: argparse.Namespace) -> datetime:
    return to_instant(local_time(a.at), a.zone or desk.default_zone, a.ambiguous)


def cmd_provider_action(action: str) -> Callable[[Desk, argparse.Namespace, Out], int]:
    """The command of a provider's change of one request (or of planning the queue)."""

    def run(desk: Desk, a: argparse.Namespace, out: Out) -> int:
        by = a.by
        if action == "schedule" and a.request is None:
            refuse_ignored(
                a,
                "schedule without REQUEST (planning the queue)",
                at=None,
                zone=None,
                ambiguous="earlier",
                allow_past=False,
                reason=None,
            )
            if a.what_if:
                refuse_ignored(a, "schedule --what-if (stores nothing)", dry_run=False)
            return _plan(desk, a, out)
        if action == "schedule":
            refuse_ignored(a, "schedule REQUEST (placing one request)", dry_run=False,
                           horizon_days=180, what_if=None)  # fmt: skip
        if action == "reschedule" and a.contact is not None:
            if a.reason is not None or by != "provider":
                raise InvalidInput("reschedule --as CONTACT takes no --reason or --by: "
                                   "those are the provider's")  # fmt: skip
            refuse_ignored(a, "reschedule --as CONTACT", allow_past=False)
            return cmd_contact_action("move")(desk, a, out)
        if action == "reschedule" and a.reason is None:
            raise InvalidInput(
                "the provider's reschedule needs --reason, told to the contact (R13); "
                "a contact moves their own request with --as CONTACT"
            )
        rid = _provider_request(desk, a.request)
        if action == "schedule":
            if a.at is None:
                raise InvalidInput(
                    "schedule REQUEST needs --at; without REQUEST it plans the queue"
                )
            r = use(desk, "provider", "schedule", request_id=rid, when=_providerwhen(desk, a),
                    by=by, reason=a.reason, allow_past=a.allow_past)  # fmt: skip
        elif action == "reschedule":
            r = use(desk, "provider", "reschedule", request_id=rid,
                    when=_providerwhen(desk, a), reason=a.reason, by=by,
                    allow_past=a.allow_past)  # fmt: skip
        elif action in ("ask_input", "mark_answered", "defer", "fail"):
            text = {"ask_input": "question", "mark_answered": "note"}.get(action, "reason")
            r = use(desk, "provider", action, request_id=rid, by=by, **{text: a.text})
        else:
            r = use(desk, "provider", action, request_id=rid, by=by)
        return _done(out, r, desk.default_zone)

    return run


def _what_if(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    from .views import what_if_data

    horizon = desk.now() + timedelta(days=a.horizon_days)
    result = use(desk, "provider", "what_if", setup=a.what_if, horizon=horizon)
    data, text = what_if_data(result, desk.default_zone)
    out.emit(data, text)
    return 0


def _plan(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    from .views import plan_data

    if a.what_if:
        return _what_if(desk, a, out)
    horizon = desk.now() + timedelta(days=a.horizon_days)
    run = use(desk, "provider", "plan_queue", horizon=horizon, dry_run=a.dry_run, by=a.by)
    data, text = plan_data(run, desk.default_zone, a.dry_run)
    out.emit(data, text)
    return 0


def cmd_explain(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``explain`` command: the provider's, or with ``--as`` the contact's own view."""
    horizon = desk.now() + timedelta(days=a.horizon_days)
    if a.contact is not None:
        e = use(desk, "contact", "explain", (a.contact,), request_id=_contact_request(desk, a),
                horizon=horizon)  # fmt: skip
        zone = _contact_zone(desk, a.contact)
    else:
        e = use(desk, "provider", "explain", request_id=_provider_request(desk, a.request),
                horizon=horizon)  # fmt: skip
        zone = desk.default_zone
    out.emit(explanation_json(e, zone), e.render())
    return 0


def _requests_of(desk: Desk, tenants: List[Tenant]) -> List[UpdateRequest]:
    """Every request of ``tenants``, whatever its status (a feed shows cancellations too)."""
    found: List[UpdateRequest] = []
    for t in tenants:
        offset = 0
        while True:  # page by page through the declared read
            page = use(desk, "provider", "requests", tenant_id=t.id, offset=offset, limit=1000)
            found.extend(page)
            offset += len(page)
            if not len(page) or offset >= page.total:
                break
    return found


def _departed(desk: Desk, requests: List[UpdateRequest], departure: Any) -> Dict[str, Any]:
    """The last date of each request that lost it: the feed keeps it as cancelled a while."""
    found = {r.id: departure(use(desk, "provider", "history", request_id=r.id))
             for r in requests if r.scheduled_for is None}  # fmt: skip
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
    stamp, alarms = desk.now(), desk.reminders
    if a.contact is not None:
        # refuses an unknown contact (R22)
        tenants = list(use(desk, "contact", "tenants", (a.contact,), limit=100_000).items)
        contact = use(desk, "contact", "me", (a.contact,))
        zone = _contact_zone(desk, a.contact)
        requests = _requests_of(desk, tenants)
        gone = _departed(desk, requests, departure)
        data = contact_feed(contact, requests, tenants, default_zone=zone, stamp=stamp,
                            alarms=alarms, departed=gone)  # fmt: skip
    else:
        tenants = list(use(desk, "provider", "tenants", limit=100_000).items)
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
    made = use(
        desk, "provider", "group_update", group_id=a.group, target=a.target, version=a.version,
        earliest=earliest, by=a.by, horizon=desk.now() + timedelta(days=a.horizon_days),
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
    made = use(desk, "provider", "cloud_week", week_of=week, by=a.by)
    zone = desk.default_zone
    out.emit(
        {"requests": [request_json(r, zone) for r in made]},
        table([request_row(r, zone) for r in made]),
    )
    return 0


@contextmanager
def _logs_on_stderr(desk: Desk, a: argparse.Namespace) -> Iterator[None]:
    """Show the library's logs on standard error, and serve metrics if asked.

    The library only adds a NullHandler; the long-running commands log one line
    per record (``--log-format text`` or ``json``, at ``--log-level``) with a
    UTC timestamp and the request ID where there is one, and serve Prometheus
    metrics with ``--metrics-port`` (:func:`.ops.long_running`).
    """
    import logging

    from . import logging_setup
    from .ops import long_running

    with long_running(
        desk.app,
        log_format=getattr(a, "log_format", "text") or "text",
        metrics_port=getattr(a, "metrics_port", None),
        metrics_addr=getattr(a, "metrics_addr", "127.0.0.1") or "127.0.0.1",
    ):
        log = logging.getLogger("siteupdates")
        before = log.level
        log.setLevel(getattr(logging, logging_setup.level()))
        try:
            yield
        finally:
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
    with _logs_on_stderr(desk, a):
        logger("siteupdates.worker").info(
            "worker %s ready: lease %g s, batch %d, polling every %g s",
            a.id, a.lease, a.batch, a.poll,
        )  # fmt: skip
        report = worker.run(poll=a.poll, until_idle=a.until_idle)
    data = attrs.asdict(report)
    out.emit(data, f"worker {a.id}: " + ", ".join(f"{k} {v}" for k, v in data.items()))
    return 0


def _deliver(
    desk: Desk, a: argparse.Namespace, out: Out, loop: bool, poll: float, **values: Any
) -> int:
    """Deliver the outbox: one pass, or passes until SIGTERM; the exit status."""
    from .views import delivery_data, delivery_text

    dispatcher = use(desk, "ops", "dispatcher", **values)
    notifiers = desk.host.notifiers()
    log_only = notifiers == ["siteupdates.notify.log"]
    with _logs_on_stderr(desk, a):
        if loop:
            import signal

            signal.signal(signal.SIGTERM, lambda *_: dispatcher.stop())
            report = dispatcher.run(poll=poll)
        else:
            report = dispatcher.run_once()
    data = {**delivery_data(report), "notifiers": notifiers}
    text = delivery_text(report)
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


def cmd_deliver(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``deliver`` command: one pass over the outbox, or passes until SIGTERM (``--loop``)."""
    if not a.loop:
        refuse_ignored(a, "deliver without --loop (one pass)", poll=30.0)
    return _deliver(desk, a, out, a.loop, a.poll, max_attempts=a.max_attempts, timeout=a.timeout,
                    base_delay=a.base_delay, batch=a.batch, lease=a.lease)  # fmt: skip


def cmd_ops_deliver(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """``ops deliver``: the use case's options; ``--loop`` keeps delivering until SIGTERM."""
    from .generated import values_of

    if not a.loop:
        refuse_ignored(a, "ops deliver without --loop (one pass)", poll=30.0)
    values = values_of(by_name(Role.OPS, "deliver"), a)
    return _deliver(desk, a, out, a.loop, a.poll, **values)


def cmd_outbox(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``outbox`` command."""
    from .views import outbox_table

    rid = None if a.request is None else _provider_request(desk, a.request)
    items = use(desk, "provider", "outbox", state=a.state, request_id=rid, limit=100_000).items
    zone = desk.default_zone
    out.emit({"items": [outbox_json(o, zone) for o in items], "zone": zone},
             outbox_table(items, zone))  # fmt: skip
    return 0


def cmd_outbox_retry(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``outbox retry`` command: requeue dead items by key, or every dead one."""
    refuse_ignored(a, "outbox retry", request=None, state=None)
    if not a.keys and not a.dead:
        raise InvalidInput("outbox retry needs KEY... or --dead", None)
    found = use(desk, "provider", "retry_outbox", keys=tuple(a.keys), dead=a.dead, by=a.by)
    missing = sorted(set(a.keys) - {o.key for o in found})
    data = {"requeued": [o.key for o in found], "missing": missing}
    text = f"requeued {len(found)}" + "".join(f"\n  {o.key}" for o in found)
    if missing:
        text += f"\nno dead or pending item with key: {', '.join(missing)}"
    out.emit(data, text)
    return EXIT["access"] if missing else 0


# -- executors: dispatch and report ----------------------------------------------------

_LOOP = {
    "id": None,
    "lease": 300.0,
    "start_within": None,
    "max_attempts": 3,
    "max_waiting": None,
    "batch": 10,
    "poll": 5.0,
    "until_idle": False,
    "local": False,
}


def cmd_dispatch(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``dispatch`` command: the due-dispatcher loop, or one run's status or cancel."""
    if a.status is not None:
        refuse_ignored(a, "dispatch --status", cancel=None, reason=None, by="provider", **_LOOP)
        run, said = use(desk, "provider", "run_status",
                        request_id=_provider_request(desk, a.status))  # fmt: skip
        data = {**run.ticket().to_json(), "engine_status": said}
        out.emit(data, f"run {run.idempotency_key}: {said or 'no executor can tell'}")
        return 0
    if a.cancel is not None:
        refuse_ignored(a, "dispatch --cancel", **_LOOP)
        if not a.reason:
            raise InvalidInput("dispatch --cancel REQUEST needs --reason (told to the contact)")
        r = use(desk, "provider", "cancel_run", request_id=_provider_request(desk, a.cancel),
                reason=a.reason, by=a.by)  # fmt: skip
        return _done(out, r, desk.default_zone)
    refuse_ignored(a, "dispatch (the loop)", reason=None, by="provider")
    if not a.id:
        raise InvalidInput("dispatch needs --id NAME (or --status/--cancel REQUEST)")
    return _dispatch_loop(desk, a, out, True, dispatcher_id=a.id, lease_seconds=a.lease,
                          max_attempts=a.max_attempts, batch=a.batch,
                          start_within=a.start_within, max_waiting=a.max_waiting)  # fmt: skip


def _dispatch_loop(desk: Desk, a: argparse.Namespace, out: Out, loop: bool, **values: Any) -> int:
    if a.local:
        from siteupdates.app.executors import LocalExecutor

        desk.host.register(LocalExecutor(desk.app), name="siteupdates.executor.local")
    if not loop:
        report = use(desk, "ops", "dispatch", **values)
    else:
        dispatcher = use(desk, "ops", "run_dispatcher", **values)
        # SIGTERM: hand back what is claimed and not dispatched, exit 0.
        import signal

        signal.signal(signal.SIGTERM, lambda *_: dispatcher.stop())
        with _logs_on_stderr(desk, a):
            report = dispatcher.run(poll=a.poll, until_idle=a.until_idle)
    data = attrs.asdict(report)
    counts = ", ".join(f"{k} {v}" for k, v in data.items() if k != "errors")
    errors = "".join(f"\n  {e}" for e in report.errors)
    out.emit(data, f"dispatcher {values['dispatcher_id']}: {counts}{errors}")
    return 0


def cmd_ops_dispatch(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """``ops dispatch``: one pass (the use case), or with ``--loop`` until SIGTERM."""
    from .generated import values_of

    if not a.loop:
        refuse_ignored(a, "ops dispatch without --loop (one pass)", poll=5.0, until_idle=False)
    values = values_of(by_name(Role.OPS, "dispatch"), a)
    values.setdefault("dispatcher_id", None)
    return _dispatch_loop(desk, a, out, a.loop, **values)


def cmd_report(desk: Desk, a: argparse.Namespace, out: Out) -> int:
    """The ``report`` command: an engine tells what became of a run."""
    try:
        done = use(desk, "ops", "report", run_id=_provider_request(desk, a.request),
                   fencing_token=a.token, outcome=a.outcome, contact_reason=a.reason)  # fmt: skip
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
