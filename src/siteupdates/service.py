""":class:`Desk`: every use case of siteupdates as methods of one object.

A thin facade over :mod:`siteupdates.app`: each method calls one use case
function with the desk's :class:`~siteupdates.app.App`, so host programs,
the command line and the hosting worker run the same code. Each write is one
unit of work: the reads its decision depends on and the writes it makes are
one transaction, and a use case that lost a race runs again on fresh data.

Contact-side methods take the contact's ID first and check R22 before anything
else; their refusals never reveal whether a tenant or request the contact cannot
see exists.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from siteupdates import checks
from siteupdates.app import App, bootstrap, reference
from siteupdates.app import contact as contact_cases
from siteupdates.app import provider as provider_cases
from siteupdates.app.bootstrap import merge_settings, reminder_ladder
from siteupdates.app.boundary import checked, optional, required_text
from siteupdates.app.contact import Submission
from siteupdates.app.reference import SetupReport
from siteupdates.domain.lifecycle import TERMINAL, Event, HistoryEntry
from siteupdates.domain.model import Status, Tenant, UpdateRequest
from siteupdates.domain.timeutil import Ambiguity, require_aware
from siteupdates.errors import InvalidInput
from siteupdates.plugins import PluginHost
from siteupdates.ports import Page, Storage

if TYPE_CHECKING:
    from pathlib import Path

    from siteupdates.app import executors
    from siteupdates.app.bulk import BulkResult
    from siteupdates.app.outbox import DeliveryReport, Dispatcher
    from siteupdates.app.planning import PlanRun, WhatIf
    from siteupdates.app.staged import StagedSubmission
    from siteupdates.domain.planner import Explanation
    from siteupdates.domain.policies import Decision, Policy, RequestDraft
    from siteupdates.domain.preset import ProviderPreset
    from siteupdates.domain.views import Overview
    from siteupdates.ports import AuditEntry, OutboxItem, Setup

# The planner, the outbox and the executors load with the first method that needs
# them (see _scheduling and friends), so a command that only reads does not pay.

__all__ = ["Desk", "SetupReport", "Submission", "is_open"]


class Desk:
    """Every use case of siteupdates, over one storage and one plugin host.

    Build one with :meth:`open` (a storage URL) or :meth:`from_setup` (a setup
    file), or pass a :class:`~siteupdates.ports.Storage`. ``preset`` overrides
    the provider preset stored with the setup; without either, the desk plans
    with :data:`~siteupdates.presets.CAMPUS_HOSTING`.
    """

    @checked
    def __init__(
        self,
        storage: Storage,
        *,
        host: Optional[PluginHost] = None,
        preset: Optional[ProviderPreset] = None,
        clock: Optional[Callable[[], datetime]] = None,
        new_id: Optional[Callable[[], str]] = None,
        plugin_settings: Optional[Mapping[str, Mapping[str, Any]]] = None,
    ) -> None:
        self.app: App = bootstrap(
            storage, host=host, preset=preset, clock=clock, new_id=new_id,
            plugin_settings=plugin_settings,
        )  # fmt: skip
        self._preset_given = preset is not None
        self._plugin_settings = dict(plugin_settings or {})

    @classmethod
    @checked
    def open(
        cls,
        url: str,
        *,
        host: Optional[PluginHost] = None,
        plugins: Iterable[object] = (),
        entry_points: bool = False,
        preset: Optional[ProviderPreset] = None,
        clock: Optional[Callable[[], datetime]] = None,
        plugin_settings: Optional[Mapping[str, Mapping[str, Any]]] = None,
    ) -> Desk:
        """Open a desk on the storage at ``url`` (``sqlite:///siteupdates.db``, ``memory://``).

        The provider settings stored by ``siteupdates init`` apply, exactly as on
        the command line. Installed plugins (``postgresql://`` needs
        siteupdates-postgres) load with ``entry_points=True`` or ``plugins=[...]``.
        """
        host = host or PluginHost(plugins=plugins, entry_points=entry_points)
        return cls(
            host.storage(url), host=host, preset=preset, clock=clock,
            plugin_settings=plugin_settings,
        )  # fmt: skip

    @classmethod
    @checked
    def from_setup(
        cls,
        setup: Union[str, Path, Mapping[str, Any], Setup],
        *,
        url: str = "memory://",
        **options: Any,
    ) -> Desk:
        """Open ``url``, store a setup (a TOML file, its tables, or a Setup), and plan by it.

        ``options`` are those of :meth:`open`. The setup's ``[provider]`` table
        becomes the stored preset, so later ``Desk.open(url)`` and the command
        line plan the same way.
        """
        from siteupdates.setupfile import load_setup

        loaded = load_setup(setup)
        desk = cls.open(url, **options)
        desk.load_setup(loaded)
        return desk

    # -- the parts ----------------------------------------------------------------

    @property
    def storage(self) -> Storage:
        """The storage."""
        return self.app.storage

    @property
    def host(self) -> PluginHost:
        """The plugin host."""
        return self.app.host

    @property
    def preset(self) -> ProviderPreset:
        """The provider preset the desk plans with."""
        return self.app.preset

    @property
    def default_zone(self) -> str:
        """The provider's zone, for readers without one (``preset.default_zone``, read cheaply)."""
        return self.app.default_zone

    @property
    def clock(self) -> Callable[[], datetime]:
        """The clock."""
        return self.app.clock

    @property
    def policies(self) -> Tuple[Policy, ...]:
        """The submission policies of the registered plugins."""
        return self.app.policies

    def now(self) -> datetime:
        """The desk's clock, as a UTC instant."""
        return self.app.now()

    def close(self) -> None:
        """Close the storage."""
        self.app.storage.close()

    def __enter__(self) -> Desk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- setup --------------------------------------------------------------------

    @checked
    def load_setup(
        self, setup: Union[Setup, str, Path, Mapping[str, Any]], *, by: str = "siteupdates"
    ) -> SetupReport:
        """Add the provider's reference data over what is stored (nothing is removed); audited.

        :meth:`apply_setup` makes the storage equal to the setup instead.
        """
        return self._store_setup(setup, by=by, replace=False, dry_run=False)

    @checked
    def apply_setup(
        self,
        setup: Union[Setup, str, Path, Mapping[str, Any]],
        *,
        by: str = "provider",
        dry_run: bool = False,
    ) -> SetupReport:
        """Make the stored reference data equal to ``setup``; every change is audited.

        Removed contacts lose access at once, withdrawn versions are no longer
        offered, removing a tenant with open requests is refused (nothing is
        written); see :mod:`siteupdates.app.reference`. ``dry_run`` reports the
        difference and writes nothing.
        """
        return self._store_setup(setup, by=by, replace=True, dry_run=dry_run)

    def _store_setup(
        self, setup: Union[Setup, str, Path, Mapping[str, Any]], *, by: str, replace: bool,
        dry_run: bool,
    ) -> SetupReport:  # fmt: skip
        from siteupdates.setupfile import load_setup

        loaded = load_setup(setup)
        if "plugins" in loaded.settings:
            # Checked before anything is stored: a table a plugin refuses stores nothing.
            self.app.host.configure(
                merge_settings(loaded.settings["plugins"], self._plugin_settings)
            )
        # One unit of work (App.run retries it while it loses races).
        report = reference.apply_setup(self.app, loaded, by=by, replace=replace, dry_run=dry_run)
        if not dry_run:
            self.app.reminders = reminder_ladder(self.app.storage.settings())
        if not self._preset_given and not dry_run:
            from siteupdates.setupfile import stored_preset

            found = stored_preset(self.app.storage.settings())
            if found is not None:
                self.app.preset = found
        return report

    @checked
    def audit(
        self, *, kind: Optional[str] = None, key: Optional[str] = None, limit: int = 1000
    ) -> List[AuditEntry]:
        """The recorded changes of reference data, newest first (``kind``: tenant, ...)."""
        return self.app.storage.audit(kind=kind, key=key, limit=limit)

    # -- contact side -----------------------------------------------------------------

    @checked
    def tenants_of(self, contact_id: str, *, offset: int = 0, limit: int = 1000) -> Page[Tenant]:
        """The tenants a contact may choose among (R22), by ID.

        A district contact has one; a state, consortium, partner or ESA contact
        picks one of theirs wherever a tenant is asked for.
        """
        return contact_cases.tenants_of(self.app, contact_id, offset=offset, limit=limit)

    @checked
    def evaluate(self, contact_id: str, draft: RequestDraft) -> Decision:
        """Every refusal and warning a submit of ``draft`` would get, without submitting."""
        return contact_cases.try_submit(self.app, contact_id, draft)

    @checked
    def submit(
        self,
        contact_id: str,
        tenant_id: str,
        target: str,
        version: Optional[str],
        *,
        db_refresh: Optional[bool] = None,
        at: datetime,
        zone: Optional[str] = None,
        ambiguity: Union[Ambiguity, str] = Ambiguity.EARLIER,
        idempotency_key: Optional[str] = None,
    ) -> Submission:
        """Submit a request; see :func:`siteupdates.app.contact.submit`.

        ``db_refresh``: True (yes), False (no) or None (not given: the plan's
        preset, yes for a cloud tenant's production/sandbox request, R9).
        """
        return contact_cases.submit(
            self.app, contact_id, tenant_id, target, version, db_refresh=db_refresh, at=at,
            zone=zone, ambiguity=ambiguity, idempotency_key=idempotency_key,
        )  # fmt: skip

    @checked
    def move(
        self,
        contact_id: str,
        request_id: str,
        *,
        at: datetime,
        zone: Optional[str] = None,
        ambiguity: Union[Ambiguity, str] = Ambiguity.EARLIER,
    ) -> UpdateRequest:
        """The contact's reschedule: move the preferred start of their own request.

        Until the provider's cut-off before the scheduled start (``CUTOFF``
        after it); the request keeps its place in the queue and a Scheduled one
        waits for the next plan. See :func:`siteupdates.app.contact.move`.
        """
        return contact_cases.move(
            self.app, contact_id, request_id, at=at, zone=zone, ambiguity=ambiguity
        )

    @checked
    def explain_to(
        self, contact_id: str, request_id: str, *, horizon: Optional[datetime] = None
    ) -> Explanation:
        """Why the contact's own request has, or would get, its date: what a contact may read.

        Its place in the queue and the slots passed over, with nothing named or
        counted about tenants the contact cannot see (R22).
        """
        return contact_cases.explain_to(self.app, contact_id, request_id, horizon=horizon)

    @checked
    def submit_many(
        self,
        contact_id: str,
        drafts: Iterable[RequestDraft],
        *,
        idempotency_keys: Optional[Sequence[Optional[str]]] = None,
    ) -> List[BulkResult]:
        """Submit many drafts in one transaction; see :func:`siteupdates.app.bulk.submit_many`."""
        from siteupdates.app.bulk import submit_many

        return submit_many(self.app, contact_id, drafts, idempotency_keys=idempotency_keys)

    @checked
    def cancel(self, contact_id: str, request_id: str) -> UpdateRequest:
        """Cancel a To Be Scheduled or Scheduled request (R16)."""
        return contact_cases.cancel(self.app, contact_id, request_id)

    @checked
    def delete(self, contact_id: str, request_id: str) -> UpdateRequest:
        """Delete a completed request from the contact's view; its history stays (R18)."""
        return contact_cases.delete(self.app, contact_id, request_id)

    @checked
    def answer(self, contact_id: str, request_id: str, text: str) -> UpdateRequest:
        """Answer the provider's question on a Pending Input request."""
        return contact_cases.answer(self.app, contact_id, request_id, text)

    @checked
    def requests(
        self,
        contact_id: str,
        tenant_id: str,
        *,
        hide_complete: bool = False,
        offset: int = 0,
        limit: int = 50,
    ) -> Page[UpdateRequest]:
        """A tenant's requests, newest first, never cancelled or deleted (R19)."""
        return contact_cases.list_requests(
            self.app, contact_id, tenant_id, hide_complete=hide_complete, offset=offset,
            limit=limit,
        )  # fmt: skip

    @checked
    def resolve_id_for(self, contact_id: str, prefix: str) -> str:
        """Contact side: the ID of one of the contact's requests by a prefix (R22)."""
        return contact_cases.resolve_id(self.app, contact_id, prefix)

    @checked
    def request(self, contact_id: str, request_id: str) -> UpdateRequest:
        """One request, if the contact may see it."""
        return contact_cases.request(self.app, contact_id, request_id)

    @checked
    def overview(self, contact_id: str, tenant_id: str) -> Overview:
        """The overview of a tenant in the contact's zone (R11, R21)."""
        return contact_cases.tenant_overview(self.app, contact_id, tenant_id)

    # -- provider side ------------------------------------------------------------------

    @checked
    def queue(self, *, offset: int = 0, limit: int = 1000) -> Page[UpdateRequest]:
        """The To Be Scheduled requests, first come first served (R13), one page."""
        return provider_cases.queue(self.app, offset=offset, limit=limit)

    # An empty reason reaches the use case, which says that an override needs one.
    @checked(reason=checks.text)
    def override(
        self,
        contact_id: str,
        tenant_id: str,
        target: str,
        version: Optional[str],
        *,
        rules: Sequence[str],
        reason: str,
        by: str = "provider",
        db_refresh: Optional[bool] = None,
        at: datetime,
        zone: Optional[str] = None,
        ambiguity: Union[Ambiguity, str] = Ambiguity.EARLIER,
        idempotency_key: Optional[str] = None,
    ) -> Submission:
        """Provider side: submit for a contact, overriding the rules named, with a reason.

        ``rules`` names exactly the rules to override (one that does not refuse
        is bad input); ``rules`` and ``reason`` stay in the request's first
        history entry, which is the provider's (``by``). R22 and the structural
        rules (R1, R2, R3, R4, R6, R12, R17) cannot be overridden. See
        :func:`siteupdates.app.contact.submit` and ``docs/rules.md``.
        """
        from siteupdates.domain.policies import Override

        return contact_cases.submit(
            self.app, contact_id, tenant_id, target, version, db_refresh=db_refresh, at=at,
            zone=zone, ambiguity=ambiguity, idempotency_key=idempotency_key,
            override=Override(tuple(rules), reason, by),
        )  # fmt: skip

    @checked
    def find(self, request_id: str) -> UpdateRequest:
        """Provider side: any request by ID, deleted ones included; NotFound otherwise."""
        return provider_cases.find(self.app, request_id)

    @checked
    def resolve_id(self, prefix: str) -> str:
        """The one request ID starting with ``prefix`` (people read shortened IDs)."""
        return provider_cases.resolve_id(self.app, prefix)

    @checked
    def tenant(self, tenant_id: str) -> Tenant:
        """Provider side: a tenant by ID; NotFound otherwise."""
        return provider_cases.tenant(self.app, tenant_id)

    @checked
    def history(self, request_id: str) -> List[HistoryEntry]:
        """A request's full history (kept after deletion, R18)."""
        return provider_cases.history(self.app, request_id)

    def _act(self, request_id: str, event: Event, by: str, **kw: Any) -> UpdateRequest:
        return provider_cases.act(self.app, request_id, event, by=by, **kw)

    def _future(self, when: datetime, allow_past: bool) -> datetime:
        """``when``, unless it has passed and the provider did not say it may."""
        when = require_aware("when", when)
        now = self.now()
        if when < now and not allow_past:
            raise InvalidInput(
                f"{when.isoformat()} is in the past (now {now.isoformat()}); a date that has "
                "passed is refused unless allow_past=True (--allow-past) records it anyway",
                when,
            )
        return when

    @checked(reason=optional(required_text))
    def schedule(
        self,
        request_id: str,
        when: datetime,
        *,
        by: str = "provider",
        reason: Optional[str] = None,
        allow_past: bool = False,
    ) -> UpdateRequest:
        """Confirm a date by hand; the contact is told (R20).

        This is the provider's override of the plan (R13): ``reason`` says why,
        and stays in the request's history. A date in the past is refused unless
        ``allow_past``.
        """
        return self._act(
            request_id, Event.SCHEDULE, by, date=self._future(when, allow_past), reason=reason
        )

    @checked
    def reschedule(
        self,
        request_id: str,
        when: datetime,
        reason: str,
        *,
        by: str = "provider",
        allow_past: bool = False,
    ) -> UpdateRequest:
        """Move a scheduled date, with a reason; the contact is told (R13, R20).

        A date in the past is refused unless ``allow_past``.
        """
        return self._act(
            request_id, Event.RESCHEDULE, by, reason=reason, date=self._future(when, allow_past)
        )

    @checked
    def pull(self, request_id: str, *, by: str = "provider") -> UpdateRequest:
        """Take a scheduled request from the queue: Not Started."""
        return self._act(request_id, Event.PULL, by)

    @checked
    def start(self, request_id: str, *, by: str = "provider") -> UpdateRequest:
        """Begin the update: In Progress, the site is offline."""
        return self._act(request_id, Event.START, by)

    @checked
    def complete(self, request_id: str, *, by: str = "provider") -> UpdateRequest:
        """Finish the update; the tenant's sites take the new version or refresh date."""
        return self._act(request_id, Event.COMPLETE, by)

    @checked
    def ask_input(self, request_id: str, question: str, *, by: str = "provider") -> UpdateRequest:
        """Ask the contact a question: Pending Input (R20)."""
        return self._act(request_id, Event.ASK_INPUT, by, reason=question)

    @checked
    def mark_answered(self, request_id: str, note: str, *, by: str = "provider") -> UpdateRequest:
        """Record that the contact answered the provider's question another way.

        The provider asked through a notice (R20) and heard back by phone, say:
        ``note`` says how, and stays in the history. The request leaves Pending
        Input for the status it was asked in (To Be Scheduled, or Scheduled with
        its date), as with :meth:`answer`, and the outbox gets what the contact's
        own answer puts there. TransitionNotAllowed unless the request is
        Pending Input; InvalidInput for an empty note.
        """
        return provider_cases.mark_answered(self.app, request_id, note, by=by)

    @checked
    def defer(self, request_id: str, reason: str, *, by: str = "provider") -> UpdateRequest:
        """Put a request on hold until further notice."""
        return self._act(request_id, Event.DEFER, by, reason=reason)

    @checked
    def resume(self, request_id: str, *, by: str = "provider") -> UpdateRequest:
        """Take a deferred request back into the queue."""
        return self._act(request_id, Event.RESUME, by)

    @checked
    def fail(self, request_id: str, reason: str, *, by: str = "provider") -> UpdateRequest:
        """Give up on a request: Unable to Complete, and the contact is told why (R20)."""
        return self._act(request_id, Event.FAIL, by, reason=reason)

    @checked
    def supersede(self, request_id: str, newer_id: str, *, by: str = "provider") -> UpdateRequest:
        """Mark a request New Version Requested in favour of ``newer_id`` (R17)."""
        return provider_cases.supersede(self.app, request_id, newer_id, by=by)

    # -- scheduling -----------------------------------------------------------------------

    @checked
    def plan_queue(
        self, *, horizon: Optional[datetime] = None, dry_run: bool = False, by: str = "planner"
    ) -> PlanRun:
        """Plan the queue first come, first served, and store it unless ``dry_run`` (R13)."""
        from siteupdates.app import planning

        return planning.plan_queue(self.app, horizon=horizon, dry_run=dry_run, by=by)

    @checked
    def explain(self, request_id: str, *, horizon: Optional[datetime] = None) -> Explanation:
        """Provider side: why a request has, or would get, its date, with every detail."""
        from siteupdates.app import planning

        return planning.explain(self.app, request_id, horizon=horizon)

    @checked
    def group_update(
        self,
        group_id: str,
        target: str,
        version: str,
        *,
        earliest: datetime,
        horizon: Optional[datetime] = None,
        by: str = "provider",
    ) -> Tuple[UpdateRequest, ...]:
        """Plan one version update for a whole group, one request per member (R10)."""
        from siteupdates.app import automatic

        return automatic.group_update(
            self.app, group_id, target, version, earliest=earliest, horizon=horizon, by=by
        )

    @checked
    def cloud_week(self, week_of: date, *, by: str = "provider") -> Tuple[UpdateRequest, ...]:
        """Book the weekly automatic update of the week containing ``week_of`` (R8)."""
        from siteupdates.app import automatic

        return automatic.cloud_week(self.app, week_of, by=by)

    @checked
    def submit_staged(
        self,
        contact_id: str,
        tenant_id: str,
        version: str,
        *,
        at: datetime,
        zone: Optional[str] = None,
        soak: Optional[timedelta] = None,
    ) -> StagedSubmission:
        """Staging, then production at least ``soak`` later, waiting on a gate."""
        from siteupdates.app import staged

        return staged.submit_staged(
            self.app, contact_id, tenant_id, version, at=at, zone=zone, soak=soak
        )

    @checked
    def approve(self, contact_id: str, request_id: str) -> UpdateRequest:
        """The contact lets a staged production update go ahead (staging completed)."""
        from siteupdates.app import staged

        return staged.confirm_stage(self.app, contact_id, request_id, approve=True)

    @checked(reason=optional(required_text))
    def decline(
        self, contact_id: str, request_id: str, reason: Optional[str] = None
    ) -> UpdateRequest:
        """The contact releases a staged production update after staging."""
        from siteupdates.app import staged

        return staged.confirm_stage(self.app, contact_id, request_id, approve=False, reason=reason)

    @checked
    def advance_stages(self, *, by: str = "planner") -> Tuple[UpdateRequest, ...]:
        """Release production whose staging failed; auto-approve soaked ones (a setting)."""
        from siteupdates.app import staged

        return staged.advance_stages(self.app, by=by)

    @checked
    def postpone(
        self,
        contact_id: str,
        request_id: str,
        *,
        days: Optional[int] = None,
        next_window: bool = False,
    ) -> UpdateRequest:
        """The contact defers a Scheduled request, within the provider's limits."""
        from siteupdates.app import deferral

        return deferral.postpone(
            self.app, contact_id, request_id, days=days, next_window=next_window
        )

    def what_if(
        self,
        setup: Union[ProviderPreset, str, Path, Mapping[str, Any]],
        *,
        horizon: Optional[datetime] = None,
    ) -> WhatIf:
        """Plan the queue under a changed setup (a preset or a setup file); store nothing."""
        from siteupdates.domain.preset import ProviderPreset
        from siteupdates.setupfile import load_setup, stored_preset

        preset = (
            setup
            if isinstance(setup, ProviderPreset)
            else stored_preset(load_setup(setup).settings)
        )
        assert preset is not None
        from siteupdates.app import planning

        return planning.what_if(self.app, preset, horizon=horizon)

    # -- outbox ---------------------------------------------------------------------

    @checked(options="siteupdates.app.outbox:Dispatcher")
    def dispatcher(self, **options: Any) -> Dispatcher:
        """A dispatcher for this desk's outbox: :class:`~siteupdates.app.outbox.Dispatcher`."""
        app = self.app
        from siteupdates.app.outbox import Dispatcher

        return Dispatcher(app.storage, app.host, clock=app.clock, **options)

    @checked(options="siteupdates.app.outbox:Dispatcher")
    def deliver(self, **options: Any) -> DeliveryReport:
        """Deliver every due outbox item once; see :meth:`Dispatcher.run_once`."""
        return self.dispatcher(**options).run_once()

    @checked
    def retry_outbox(
        self, keys: Sequence[str] = (), *, dead: bool = False, by: str = "provider"
    ) -> List[OutboxItem]:
        """Requeue dead outbox items (by key, or every dead one); see :meth:`Dispatcher.retry`."""
        return self.dispatcher().retry(keys, dead=dead, by=by)

    # -- executors ------------------------------------------------------------------

    def run_dispatcher(self, dispatcher_id: str, **options: Any) -> executors.RunDispatcher:
        """A dispatcher handing due requests to the executor (``executors.RunDispatcher``)."""
        from siteupdates.app import executors

        return executors.RunDispatcher(self.app, dispatcher_id, **options)

    def dispatch(self, dispatcher_id: str, **options: Any) -> executors.DispatchReport:
        """Claim what is due now and hand it to the executor, once (see ``run_dispatcher``)."""
        return self.run_dispatcher(dispatcher_id, **options).run(until_idle=True)

    def report(
        self,
        run_id: str,
        fencing_token: object,
        outcome: object,
        *,
        contact_reason: Optional[str] = None,
    ) -> executors.Report:
        """An engine's report on a run: ``started``, ``completed``, ``failed`` or ``needs-input``.

        Refused (StaleReport) when the token no longer holds; a repeat is ignored.
        See :func:`siteupdates.app.executors.report`.
        """
        from siteupdates.app import executors

        return executors.report(
            self.app, run_id, fencing_token, outcome, contact_reason=contact_reason
        )

    def heartbeat(self, run_id: str, fencing_token: object, *, lease_seconds: float) -> bool:
        """Keep a run's lease alive; False when the run no longer holds it."""
        from siteupdates.app import executors

        return executors.heartbeat(self.app, run_id, fencing_token, lease_seconds=lease_seconds)

    def execute(
        self, ticket: executors.Ticket, runbook: Callable[[executors.Ticket], object], **kw: Any
    ) -> executors.Execution:
        """Run ``runbook`` for an engine's ticket under its fencing token (engine side)."""
        from siteupdates.app import executors

        return executors.execute(self.app, ticket, runbook, **kw)

    @checked
    def run_status(self, request_id: str) -> Tuple[executors.Run, Optional[str]]:
        """A request's current run and what its engine says of it."""
        from siteupdates.app import executors

        return executors.status(self.app, request_id)

    @checked
    def cancel_run(self, request_id: str, reason: str, *, by: str = "provider") -> UpdateRequest:
        """Stop a request's run in its engine and here; later reports are refused."""
        from siteupdates.app import executors

        return executors.cancel(self.app, request_id, reason, by=by)


def is_open(request: UpdateRequest) -> bool:
    """Whether ``request`` still needs work (neither terminal nor completed)."""
    return request.status not in TERMINAL and request.status is not Status.COMPLETED
