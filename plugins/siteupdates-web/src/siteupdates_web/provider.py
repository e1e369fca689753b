"""The provider's screens: queue, plan, one request's actions, outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Optional

from siteupdates import Actor, Desk, Event, Status, UpdateRequest
from siteupdates.domain import allowed_events, to_instant
from siteupdates.errors import (
    ConflictError,
    InvalidInput,
    NotFound,
    RequestRefused,
    SiteUpdatesError,
)
from siteupdates.i18n import N_

from . import adapter, forms, i18n
from .base import Screens
from .pages import Page, PageError, PageRequest, Redirect, Result

__all__ = ["ProviderScreens"]

_VIEWS = {
    "queue": (Status.TO_BE_SCHEDULED,),
    "open": (
        Status.TO_BE_SCHEDULED,
        Status.SCHEDULED,
        Status.NOT_STARTED,
        Status.IN_PROGRESS,
        Status.PENDING_INPUT,
        Status.DEFERRED,
    ),
    "done": (
        Status.COMPLETED,
        Status.UNABLE_TO_COMPLETE,
        Status.NEW_VERSION_REQUESTED,
        Status.CANCELLED,
        Status.DELETED,
    ),
}
#: The actions of the request screen: event, whether it takes a date, a reason (for
#: ``answered``, the note of how the contact answered).
_ACTIONS = {
    "schedule": (Event.SCHEDULE, True, False),
    "reschedule": (Event.RESCHEDULE, True, True),
    "ask": (Event.ASK_INPUT, False, True),
    "answered": (Event.ANSWER, False, True),
    "defer": (Event.DEFER, False, True),
    "resume": (Event.RESUME, False, False),
    "fail": (Event.FAIL, False, True),
}
_DONE = {
    "schedule": N_("The date was confirmed; the contact will be told."),
    "reschedule": N_("The date was moved; the contact will be told, with the reason."),
    "ask": N_("The question was sent; the request is Pending Input."),
    "answered": N_("The question is marked answered; the request is back where it was asked."),
    "defer": N_("The request is deferred until further notice."),
    "resume": N_("The request is back in the queue."),
    "fail": N_("The request is marked Unable to Complete; the contact will be told why."),
}
#: What an empty text field is told, by action ("" for every other action).
_MISSING = {
    "": N_("Give a reason; the contact will read it."),
    "answered": N_("Say how the contact answered (by phone, say); it goes into the history."),
}


class ProviderScreens(Screens):
    """The provider side's pages; every one needs a signed-in staff member."""

    def queue(self, rq: PageRequest) -> Result:
        """The queue, first come first served, with filters."""
        self.staff_id(rq)
        desk = self.desk()
        view = rq.args.get("view", "queue")
        if view not in _VIEWS:
            view = "queue"
        tenant = rq.args.get("tenant", "")
        target = rq.args.get("target", "")
        rows = (
            list(desk.provider.queue(limit=adapter.PAGE))
            if view == "queue"
            else adapter.requests_in(desk, _VIEWS[view])
        )
        if tenant:
            rows = [r for r in rows if r.tenant_id == tenant]
        if target:
            rows = [r for r in rows if r.target.value == target]
        context = {"rows": rows, "view": view, "tenant": tenant, "target": target}
        return Page("siteupdates_web/provider/queue.html", {**context, **self._common(desk)})

    def _common(self, desk: Desk) -> Dict[str, object]:
        tenants = adapter.tenants(desk)
        return {
            "zone": adapter.provider_zone(desk),
            "tenants": tenants,
            "names": {t.id: t.name for t in tenants},
            "target_label": forms.target_label,
        }

    def plan(self, rq: PageRequest) -> Result:
        """Plan the queue: a dry run to look at first, then store it."""
        staff = self.staff_id(rq)
        desk = self.desk()
        store = rq.form.get("mode") == "store"
        run = desk.provider.plan_queue(dry_run=not store, by=staff)
        rows, stored, conflicts = adapter.plan_rows(run)
        context = {"rows": rows, "stored": stored, "conflicts": conflicts, "dry_run": not store}
        return Page("siteupdates_web/provider/plan.html", {**context, **self._common(desk)})

    def _find(self, desk: Desk, request_id: str) -> UpdateRequest:
        try:
            return desk.provider.find(request_id)
        except NotFound:
            raise PageError(404) from None

    def detail(self, rq: PageRequest, request_id: str) -> Result:
        """One request: its history, why it has its date, and what may be done with it."""
        self.staff_id(rq)
        desk = self.desk()
        return self._detail(rq, desk, self._find(desk, request_id))

    def _detail(
        self,
        rq: PageRequest,
        desk: Desk,
        req: UpdateRequest,
        *,
        errors: Optional[Dict[str, List[str]]] = None,
        action: str = "",
        notice: Optional[str] = None,
        status: int = 200,
    ) -> Result:
        allowed = set(allowed_events(req.status, Actor.PROVIDER))
        actions = [name for name, (event, _, _) in _ACTIONS.items() if event in allowed]
        why: List[str] = []
        if req.status in (Status.TO_BE_SCHEDULED, Status.SCHEDULED):
            try:
                why = list(i18n.explanation_words(desk.provider.explain(req.id)))
            except SiteUpdatesError:
                why = []
        context = {
            "req": req,
            "history": desk.provider.history(req.id),
            "actions": actions,
            "why": why,
            "errors": errors or {},
            "action": action,
            "notice": notice or i18n.gettext(_DONE.get(rq.args.get("done", ""), "")) or None,
            "form": rq.form,
            **self._common(desk),
        }
        return Page("siteupdates_web/provider/request.html", context, status)

    def act(self, rq: PageRequest, request_id: str, action: str) -> Result:
        """Schedule, move, ask, mark answered, defer, resume or fail one request."""
        staff = self.staff_id(rq)
        desk = self.desk()
        req = self._find(desk, request_id)
        if action not in _ACTIONS:
            raise PageError(404)
        _, needs_date, needs_reason = _ACTIONS[action]
        errors: Dict[str, List[str]] = {}
        reason = rq.form.get("reason", "").strip()
        if needs_reason and not reason:
            errors.setdefault("reason", []).append(
                i18n.gettext(_MISSING.get(action, _MISSING[""]))
            )
        when: Optional[datetime] = None
        if needs_date:
            zone = rq.form.get("zone", "").strip() or adapter.provider_zone(desk)
            try:
                local = forms.parse_local(rq.form.get("date", ""), rq.form.get("time", ""))
                when = to_instant(local, zone)
            except forms.FormError as exc:
                errors.setdefault("when", []).append(exc.message)
            except InvalidInput as exc:
                errors.setdefault("when", []).append(str(exc))
        if errors:
            return self._detail(rq, desk, req, errors=errors, action=action, status=422)
        try:
            if action == "schedule":
                assert when is not None
                desk.provider.schedule(req.id, when, by=staff, reason=reason or None)
            elif action == "reschedule":
                assert when is not None
                desk.provider.reschedule(req.id, when, reason=reason, by=staff)
            elif action == "ask":
                desk.provider.ask_input(req.id, reason, by=staff)
            elif action == "answered":
                desk.provider.mark_answered(req.id, reason, by=staff)
            elif action == "defer":
                desk.provider.defer(req.id, reason, by=staff)
            elif action == "resume":
                desk.provider.resume(req.id, by=staff)
            else:
                desk.provider.fail(req.id, reason, by=staff)
        # RequestRefused: the lifecycle's refusal, or the staging gate's (not a question).
        except (RequestRefused, ConflictError, InvalidInput) as exc:
            errors.setdefault("general", []).append(str(exc))
            return self._detail(rq, desk, self._find(desk, req.id), errors=errors, status=409)
        return Redirect(rq.url_for(".provider_request", request_id=req.id, done=action), 303)

    def outbox(self, rq: PageRequest) -> Result:
        """The outbox: notices and calendar entries, their state, dead ones to retry."""
        self.staff_id(rq)
        desk = self.desk()
        state = rq.args.get("state", "")
        if state not in ("", "pending", "delivered", "dead"):
            state = ""
        context = {
            "items": adapter.outbox(desk, state or None),
            "state": state,
            "notice": _outbox_notice(rq, desk),
            **self._common(desk),
        }
        return Page("siteupdates_web/provider/outbox.html", context)

    def deliver(self, rq: PageRequest) -> Result:
        """Deliver every due item now."""
        self.staff_id(rq)
        report = self.desk().ops.deliver()
        counts: Dict[str, Any] = {
            "delivered": report.delivered,
            "retried": report.retried,
            "dead": report.dead,
        }
        return Redirect(rq.url_for(".provider_outbox", **counts), 303)

    def retry(self, rq: PageRequest, item_id: str) -> Result:
        """Try one item again, a dead one included."""
        self.staff_id(rq)
        row = adapter.retry_outbox_item(self.desk(), item_id)
        if row is None:
            raise PageError(404)
        return Redirect(rq.url_for(".provider_outbox", tried=row.id), 303)


def _outbox_notice(rq: PageRequest, desk: Desk) -> Optional[str]:
    """What the last button did, rebuilt from numbers and IDs (no text taken from the URL)."""
    args = rq.args
    if "delivered" in args:
        try:
            n = [int(args.get(k, "0")) for k in ("delivered", "retried", "dead")]
        except ValueError:
            return None
        return i18n.gettext("Delivered %(sent)d, to retry %(retry)d, dead %(dead)d.") % {
            "sent": n[0],
            "retry": n[1],
            "dead": n[2],
        }
    tried = args.get("tried")
    if tried:
        row = adapter.outbox_item(desk, tried)
        if row is not None:
            error = f": {row.last_error}" if row.last_error else ""
            return i18n.gettext("Tried %(key)s again: %(state)s%(error)s") % {
                "key": row.key,
                "state": row.state,
                "error": error,
            }
    return None
