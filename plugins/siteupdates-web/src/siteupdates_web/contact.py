"""The contact's screens: the gadget, Manage Requests, Request an Update."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from siteupdates import Ambiguity, Desk, RequestDraft, Status, Target, Tenant, UpdateRequest
from siteupdates.errors import (
    AccessDenied,
    ConflictError,
    InvalidInput,
    MalformedVersion,
    RequestRefused,
    SiteUpdatesError,
    TransitionNotAllowed,
    UnknownName,
)
from siteupdates.i18n import N_

from . import adapter, forms, i18n, why
from .base import Screens
from .pages import Body, Cookie, Page, PageError, PageRequest, Redirect, Result, etag_matches

__all__ = ["ContactScreens"]

HIDE_COOKIE = "siteupdates_hide_complete"
PAGE_SIZE = 25
_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_NOTICES = {
    "submitted": N_(
        "Your request was submitted. The provider will email you when it is scheduled."
    ),
    "cancelled": N_("The request was cancelled and removed from the provider's queue."),
    "deleted": N_("The completed request was deleted from your list."),
    "answered": N_("Your answer was sent; the request goes back to the provider's queue."),
    "moved": N_("Your preferred date was changed; the request keeps its place in the queue."),
    "postponed": N_("The update was postponed; the provider will email you its new date."),
    "approved": N_("Production will be updated as scheduled."),
    "declined": N_("Production will not be updated; the request was released."),
}


class ContactScreens(Screens):
    """The contact side's pages; each framework routes :data:`~.pages.ROUTES` to them."""

    # -- helpers ----------------------------------------------------------------------

    def _contact_tenants(self, rq: PageRequest, desk: Desk) -> Tuple[str, List[Tenant]]:
        cid = self.contact_id(rq)
        try:
            found = list(desk.contact(cid).tenants())
        except AccessDenied:
            found = []
        if not found:
            raise PageError(
                403,
                i18n.gettext(
                    "Your sign-in is not connected to any site. Ask your provider to connect it."
                ),
            )
        return cid, found

    def _has_tenants(self, desk: Desk, cid: str) -> bool:
        try:
            return bool(desk.contact(cid).tenants(limit=1))
        except AccessDenied:
            return False

    def _tenant(
        self, rq: PageRequest, desk: Desk, tenant_id: str
    ) -> Tuple[str, Tenant, List[Tenant]]:
        cid, found = self._contact_tenants(rq, desk)
        for t in found:
            if t.id == tenant_id:
                return cid, t, found
        raise PageError(404)  # R22: the same answer as for a tenant that does not exist

    def _request(self, desk: Desk, cid: str, tenant: Tenant, request_id: str) -> UpdateRequest:
        try:
            req = desk.contact(cid).request(request_id)
        except AccessDenied:
            raise PageError(404) from None
        if req.tenant_id != tenant.id:
            raise PageError(404)  # another of the contact's tenants: not under this URL
        return req

    # -- the gadget --------------------------------------------------------------------

    def _gadget(self, rq: PageRequest, template: str, *, frameable: bool = False) -> Result:
        # The gadget is on every home page a contact opens: its reads are batched
        # (the contact's tenants and their sites in one statement, the overview's
        # requests without a count), and a browser that asks again with the ETag
        # it holds gets 304 when nothing on it changed.
        desk = self.desk()
        cid = self.contact_id(rq)
        wanted = rq.args.get("tenant") or None
        try:
            shown = desk.contact(cid).gadget(wanted)
        except AccessDenied:
            shown = None
        if shown is None and wanted and self._has_tenants(desk, cid):
            raise PageError(404)  # R22: the same answer as for a tenant that does not exist
        if shown is None or not shown.tenants:
            raise PageError(
                403,
                i18n.gettext(
                    "Your sign-in is not connected to any site. Ask your provider to connect it."
                ),
            )
        found, tenant, view = list(shown.tenants), shown.tenant, shown.overview
        # The use case's tag covers what is shown and to whom; the signed-in
        # identity and the template are added, so a tag one person's browser holds
        # never matches another person's page.
        etag = hashlib.sha256(
            repr((rq.identity(), template, shown.etag, i18n.current())).encode()
        ).hexdigest()[:32]
        # Private: a shared cache must never answer one contact with another's page;
        # no-cache: the browser asks each time, and the answer is a 304 when it can be.
        headers = {"ETag": f'"{etag}"', "Cache-Control": "private, no-cache", "Vary": "Cookie"}
        if etag_matches(rq.if_none_match, etag):
            return Body(status=304, headers=headers)
        context = {
            "overview": view,
            "tenant": tenant,
            "many": len(found) > 1,
            "manage_url": rq.url_for(".requests_of", tenant_id=(tenant or found[0]).id),
            "labels": forms.site_label,
        }
        return Page(template, context, headers=headers, frameable=frameable)

    def gadget_page(self, rq: PageRequest) -> Result:
        """The gadget on a page of its own (the home screen of the blueprint)."""
        return self._gadget(rq, "siteupdates_web/gadget_page.html")

    def gadget_frame(self, rq: PageRequest) -> Result:
        """The gadget alone, for an ``<iframe>`` on the host's home page."""
        return self._gadget(rq, "siteupdates_web/gadget_frame.html", frameable=True)

    def gadget_fragment(self, rq: PageRequest) -> Result:
        """The gadget as an HTML fragment, for a host that includes it in its own page."""
        return self._gadget(rq, "siteupdates_web/gadget.html")

    # -- Manage Requests ----------------------------------------------------------------

    def requests_home(self, rq: PageRequest) -> Result:
        """Manage Requests for the tenant picked in the dropdown, else the first one."""
        desk = self.desk()
        _, found = self._contact_tenants(rq, desk)
        wanted = rq.args.get("tenant") or found[0].id
        if not any(t.id == wanted for t in found):
            raise PageError(404)
        return Redirect(rq.url_for(".requests_of", tenant_id=wanted))

    def requests_of(self, rq: PageRequest, tenant_id: str) -> Result:
        """Manage Requests: a tenant's requests, newest first, with Hide Complete (R19)."""
        return self._list(rq, tenant_id)

    def _list(
        self, rq: PageRequest, tenant_id: str, *, error: Optional[str] = None, status: int = 200
    ) -> Result:
        desk = self.desk()
        cid, tenant, found = self._tenant(rq, desk, tenant_id)
        hide = rq.cookies.get(HIDE_COOKIE) == "1"
        try:
            page = max(1, int(rq.args.get("page", "1")))
        except ValueError:
            page = 1
        listing = desk.contact(cid).requests(
            tenant.id, hide_complete=hide, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        notice = _NOTICES.get(rq.args.get("notice", ""))
        notice = i18n.gettext(notice) if notice else notice
        shown: Optional[UpdateRequest] = None
        rid = rq.args.get("rid")
        if notice and rid and rq.args.get("notice") == "submitted":
            try:
                shown = desk.contact(cid).request(rid)
            except AccessDenied:
                shown = None
        zone = adapter.contact_zone(desk, cid)
        context = {
            "tenant": tenant,
            "tenants": found,
            "requests": listing.items,
            "total": listing.total,
            "page": page,
            "pages": max(1, -(-listing.total // PAGE_SIZE)),
            "hide": hide,
            "zone": zone,
            "notice": notice,
            "shown": shown,
            "error": error,
            "target_label": forms.target_label,
        }
        return Page("siteupdates_web/requests.html", context, status)

    def hide_complete(self, rq: PageRequest, tenant_id: str) -> Result:
        """Tick or untick Hide Complete; the choice sticks in a cookie (R19)."""
        desk = self.desk()
        self._tenant(rq, desk, tenant_id)
        hide = "1" in rq.form.getlist("hide")
        cookie = Cookie(
            HIDE_COOKIE,
            "1" if hide else "0",
            max_age=365 * 24 * 3600,
            path=rq.url_for(".gadget_page"),
            samesite="Lax",
            httponly=True,
            secure=rq.is_secure,
        )
        return Redirect(rq.url_for(".requests_of", tenant_id=tenant_id), cookies=[cookie])

    def remove(self, rq: PageRequest, tenant_id: str, request_id: str) -> Result:
        """The trash can: after confirmation, cancel an open request or delete a completed one."""
        desk = self.desk()
        cid, tenant, _ = self._tenant(rq, desk, tenant_id)
        try:
            req = desk.contact(cid).request(request_id)
        except AccessDenied:
            # A second click after a delete: the request is gone from the contact's view.
            if self._deleted_here(desk, tenant, request_id):
                return self._done(rq, tenant, "deleted")
            raise PageError(404) from None
        if req.tenant_id != tenant.id:
            raise PageError(404) from None
        if req.status is Status.CANCELLED:
            return self._done(rq, tenant, "cancelled")  # a repeated click changes nothing
        if rq.form.get("confirmed") != "1":
            zone = adapter.contact_zone(desk, cid)
            context = {
                "tenant": tenant,
                "req": req,
                "zone": zone,
                "target_label": forms.target_label,
            }
            return Page("siteupdates_web/confirm.html", context)
        try:
            if req.status is Status.COMPLETED:
                desk.contact(cid).delete(req.id)
                return self._done(rq, tenant, "deleted")
            desk.contact(cid).cancel(req.id)
            return self._done(rq, tenant, "cancelled")
        except TransitionNotAllowed:
            return self._list(rq, tenant.id, error=why.cannot_cancel(req), status=409)
        except ConflictError:
            return self._list(
                rq,
                tenant.id,
                error=i18n.gettext(
                    "The request changed while you were looking at it; look at it again "
                    "and try once more."
                ),
                status=409,
            )

    def _deleted_here(self, desk: Desk, tenant: Tenant, request_id: str) -> bool:
        try:
            found = desk.provider.find(request_id)
        except SiteUpdatesError:
            return False
        return found.tenant_id == tenant.id and found.status is Status.DELETED

    def _done(self, rq: PageRequest, tenant: Tenant, notice: str, rid: str = "") -> Result:
        args: Dict[str, Any] = {"notice": notice}
        if rid:
            args["rid"] = rid
        return Redirect(rq.url_for(".requests_of", tenant_id=tenant.id, **args), 303)

    def _request_page(
        self,
        desk: Desk,
        cid: str,
        tenant: Tenant,
        req: UpdateRequest,
        error: Optional[str],
        status: int = 200,
    ) -> Page:
        try:
            why: Tuple[str, ...] = i18n.explanation_words(desk.contact(cid).explain(req.id))
        except SiteUpdatesError:
            why = ()  # nothing to explain once a request has left the queue's reach
        context = {
            "tenant": tenant,
            "req": req,
            "zone": adapter.contact_zone(desk, cid),
            "target_label": forms.target_label,
            "error": error,
            "explanation": why,
            "movable": req.status in (Status.TO_BE_SCHEDULED, Status.SCHEDULED),
            "postponable": req.status is Status.SCHEDULED,
            # Staged production waits at its gate in Pending Input, booked "stage:..."
            # (see siteupdates.app.staged): the contact approves or declines it.
            "at_gate": req.status is Status.PENDING_INPUT
            and (req.booking or "").startswith("stage:"),
            "feed": feed_available(),
        }
        return Page("siteupdates_web/request.html", context, status)

    def detail(self, rq: PageRequest, tenant_id: str, request_id: str) -> Result:
        """One request: its dates, why it has them, warnings, a move, the provider's question."""
        desk = self.desk()
        cid, tenant, _ = self._tenant(rq, desk, tenant_id)
        req = self._request(desk, cid, tenant, request_id)
        return self._request_page(desk, cid, tenant, req, None)

    def answer(self, rq: PageRequest, tenant_id: str, request_id: str) -> Result:
        """Answer the provider's question on a Pending Input request."""
        desk = self.desk()
        cid, tenant, _ = self._tenant(rq, desk, tenant_id)
        req = self._request(desk, cid, tenant, request_id)
        text = rq.form.get("answer", "").strip()
        error = None
        if not text:
            error = i18n.gettext("Write an answer first.")
        else:
            try:
                desk.contact(cid).answer(req.id, text)
                return self._done(rq, tenant, "answered")
            except (TransitionNotAllowed, ConflictError):
                error = i18n.gettext("This request no longer waits for an answer.")
            except RequestRefused as exc:  # a staged production waits for approval, not words
                error = i18n.refusals_words(exc.refusals) or str(exc)
            except InvalidInput as exc:
                error = i18n.gettext("The answer cannot be sent: %(why)s") % {"why": exc}
        return self._request_page(desk, cid, tenant, req, error, 400)

    def _gate_action(
        self,
        rq: PageRequest,
        tenant_id: str,
        request_id: str,
        act: Callable[[Any, str], object],
        notice: str,
    ) -> Result:
        """Run one of the contact's actions on their request; the page again with why not."""
        desk = self.desk()
        cid, tenant, _ = self._tenant(rq, desk, tenant_id)
        req = self._request(desk, cid, tenant, request_id)
        try:
            act(desk.contact(cid), req.id)
        except RequestRefused as exc:
            error = why.refused_words(exc) or why.not_now(desk, cid, req)
        except (TransitionNotAllowed, ConflictError, InvalidInput):
            # Its arguments are the request alone: what fails is the request's state.
            error = why.not_now(desk, cid, req)
        else:
            return self._done(rq, tenant, notice, req.id)
        return self._request_page(desk, cid, tenant, req, error, 400)

    def postpone(self, rq: PageRequest, tenant_id: str, request_id: str) -> Result:
        """Postpone a Scheduled request: to the next window, or some days (within limits)."""
        how = rq.form.get("how", "next-window")
        days: Optional[int] = None
        if how == "days":
            try:
                days = int(rq.form.get("days", "").strip())
            except ValueError:
                days = -1  # refused by the use case's own check, in its words
        return self._gate_action(
            rq,
            tenant_id,
            request_id,
            lambda me, rid: me.postpone(rid, days=days, next_window=days is None),
            "postponed",
        )

    def approve(self, rq: PageRequest, tenant_id: str, request_id: str) -> Result:
        """Let a staged production update go ahead (staging completed)."""
        return self._gate_action(
            rq, tenant_id, request_id, lambda me, rid: me.approve(rid), "approved"
        )

    def decline(self, rq: PageRequest, tenant_id: str, request_id: str) -> Result:
        """Release a staged production update after staging."""
        reason = rq.form.get("reason", "").strip() or None
        return self._gate_action(
            rq, tenant_id, request_id, lambda me, rid: me.decline(rid, reason), "declined"
        )

    def move(self, rq: PageRequest, tenant_id: str, request_id: str) -> Result:
        """The contact's reschedule: a new preferred date, until the provider's cut-off."""
        desk = self.desk()
        cid, tenant, _ = self._tenant(rq, desk, tenant_id)
        req = self._request(desk, cid, tenant, request_id)
        try:
            at = forms.parse_local(rq.form.get("date", ""), rq.form.get("time", ""))
            ambiguity = rq.form.get("ambiguity", "earlier")
            if ambiguity not in ("earlier", "later"):
                ambiguity = "earlier"
            moved = desk.contact(cid).move(req.id, at=at, ambiguity=ambiguity)
        except forms.FormError as exc:
            error = exc.message
        except RequestRefused as exc:
            error = why.refused_words(exc) or why.not_now(desk, cid, req)
        except (TransitionNotAllowed, ConflictError):
            error = why.not_now(desk, cid, req)
        except InvalidInput as exc:
            error = i18n.gettext("The date cannot be moved now: %(why)s") % {"why": exc}
        else:
            return self._done(rq, tenant, "moved", moved.id)
        return self._request_page(desk, cid, tenant, req, error, 400)

    def calendar_feed(self, rq: PageRequest) -> Result:
        """The signed-in contact's calendar feed: their tenants' scheduled updates (R22)."""
        if not feed_available():
            raise PageError(404) from None
        from siteupdates_ical import contact_feed, departure

        desk = self.desk()
        cid, found = self._contact_tenants(rq, desk)
        person = adapter.contact(desk, cid)
        if person is None:
            raise PageError(404) from None
        requests = [r for t in found for r in adapter.requests_of(desk, t.id)]
        # A request that lost its date stays in the feed as cancelled for a while, so
        # a client that imported the file removes it (same UID, higher SEQUENCE).
        departed = {}
        for r in requests:
            if r.scheduled_for is None:
                gone = departure(desk.provider.history(r.id))
                if gone is not None:
                    departed[r.id] = gone
        body = contact_feed(
            person, requests, found, default_zone=adapter.contact_zone(desk, cid),
            stamp=desk.now(), alarms=desk.reminders, departed=departed,
        )  # fmt: skip
        headers = {
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": 'inline; filename="site-updates.ics"',
            "Cache-Control": "private, no-cache",
        }
        return Body(body, headers=headers)

    # -- Request an Update --------------------------------------------------------------

    def new_request(self, rq: PageRequest, tenant_id: str) -> Result:
        """Request an Update: the form (GET), a check or a submit (POST)."""
        desk = self.desk()
        cid, tenant, found = self._tenant(rq, desk, tenant_id)
        preset = adapter.preset(desk)
        targets = forms.targets_of(tenant)
        choices = forms.version_choices(tenant, adapter.catalog(desk, cid), preset)
        zone = adapter.contact_zone(desk, cid)
        values: Dict[str, str] = {
            "target": targets[0].value if targets else "",
            "version": "",
            "date": "",
            "time": "",
            "ambiguity": "earlier",
            "key": uuid.uuid4().hex,
        }
        if rq.method == "GET" and rq.args.get("target") in {t.value for t in targets}:
            values["target"] = rq.args["target"]
        first = Target(values["target"]) if values["target"] else None
        values["db_refresh"] = (
            "yes" if first is not None and forms.refresh_preset(tenant, preset, first) else "no"
        )
        errors: Dict[str, List[str]] = {}
        warnings: List[str] = []
        checked = False
        status = 200
        if rq.method == "POST":
            for name in ("target", "version", "db_refresh", "date", "time", "ambiguity", "key"):
                values[name] = rq.form.get(name, "").strip()
            if not _KEY.match(values["key"]):
                values["key"] = uuid.uuid4().hex
            outcome = self._post(rq, desk, cid, tenant, values)
            if isinstance(outcome, Result):
                return outcome
            errors, warnings, checked = outcome.errors, outcome.warnings, outcome.checked
            status = 200 if checked and not errors else 422
        gap = forms.next_gap(zone, desk.now())
        context = {
            "tenant": tenant,
            "tenants": found,
            "targets": targets,
            "choices": choices,
            "offered": {str(v) for vs in choices.values() for v in vs},
            "refresh_only": {t.value: forms.refresh_preset(tenant, preset, t) for t in targets},
            "values": values,
            "errors": errors,
            "warnings": warnings,
            "checked": checked,
            "zone": zone,
            "gap": gap,
            "target_label": forms.target_label,
        }
        return Page("siteupdates_web/new.html", context, status)

    def _post(
        self, rq: PageRequest, desk: Desk, cid: str, tenant: Tenant, values: Dict[str, str]
    ) -> Union[_Outcome, Result]:
        errors: Dict[str, List[str]] = {}
        version: Optional[str] = values["version"] or None
        refresh = values["db_refresh"] == "yes"
        ambiguity = (
            values["ambiguity"] if values["ambiguity"] in ("earlier", "later") else "earlier"
        )
        at = None
        try:
            at = forms.parse_local(values["date"], values["time"])
        except forms.FormError as exc:
            errors.setdefault(exc.field, []).append(exc.message)
        try:
            draft = RequestDraft(
                tenant.id, values["target"], version, refresh, at, None, Ambiguity(ambiguity)
            )
        except UnknownName:
            errors.setdefault("target", []).append(i18n.gettext("Choose one of the sites listed."))
            return _Outcome(errors)
        except MalformedVersion:
            errors.setdefault("version", []).append(
                i18n.gettext("Choose a version from the list.")
            )
            return _Outcome(errors)
        checking = rq.form.get("action") == "check" or at is None
        if checking:
            try:
                decision = desk.contact(cid).evaluate(draft)
            except AccessDenied:
                raise PageError(404) from None
            for r in decision.refusals:
                if r.rule == "R12" and "when" in errors:
                    continue  # the form's own words about the date are clearer
                errors.setdefault(forms.field_for(r.rule), []).append(i18n.refusal_words(r))
            warns = [w.message for w in decision.warnings]
            return _Outcome(errors, warns, checked=at is not None)
        assert at is not None
        try:
            done = desk.contact(cid).submit(
                tenant.id,
                target=draft.target.value,
                version=version,
                db_refresh=refresh,
                at=at,
                ambiguity=ambiguity,
                idempotency_key=values["key"],
            )
        except AccessDenied:
            raise PageError(404) from None
        except RequestRefused as exc:
            for r in exc.refusals:
                errors.setdefault(forms.field_for(r.rule), []).append(i18n.refusal_words(r))
            return _Outcome(errors)
        except InvalidInput as exc:
            errors.setdefault("general", []).append(str(exc))
            return _Outcome(errors)
        return self._done(rq, tenant, "submitted", done.request.id)


class _Outcome:
    """A form that was not submitted: the errors by field, warnings, whether only checked."""

    def __init__(
        self,
        errors: Dict[str, List[str]],
        warnings: Optional[List[str]] = None,
        *,
        checked: bool = False,
    ) -> None:
        self.errors = errors
        self.warnings = warnings or []
        self.checked = checked


def feed_available() -> bool:
    """Whether the calendar plugin is installed, so the feed link can be offered."""
    try:
        import siteupdates_ical  # noqa: F401
    except ImportError:
        return False
    return True
