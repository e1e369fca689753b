"""The static types of the actor handles and of the deprecated flat ``Desk`` methods.

Written by :mod:`siteupdates.usecases.typing_gen` from the declarations of
:mod:`siteupdates.usecases.catalog`: do not edit by hand. At run time the
methods are made from the same declarations (``siteupdates.service``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
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

if TYPE_CHECKING:
    from siteupdates.app.bulk import BulkResult
    from siteupdates.app.contact import Gadget, Submission
    from siteupdates.app.health import Health
    from siteupdates.app.executors import (
        DispatchReport,
        Execution,
        Report,
        Run,
        RunDispatcher,
        Ticket,
    )
    from siteupdates.app.outbox import DeliveryReport, Dispatcher
    from siteupdates.app.reference import SetupReport
    from siteupdates.app.planning import PlanRun, WhatIf
    from siteupdates.app.staged import StagedSubmission
    from siteupdates.domain.lifecycle import HistoryEntry
    from siteupdates.domain.model import Catalog, Contact, Status, Tenant, UpdateRequest
    from siteupdates.domain.planner import Explanation
    from siteupdates.domain.policies import Decision, RequestDraft
    from siteupdates.domain.preset import ProviderPreset
    from siteupdates.domain.timeutil import Ambiguity
    from siteupdates.domain.views import Overview
    from siteupdates.ports import AuditEntry, OutboxEvent, OutboxItem, Page, Setup

__all__ = ["ContactAPI", "LegacyDeskAPI", "OpsAPI", "ProviderAPI"]


class ContactAPI:
    """The contact handle's use cases."""

    def tenants(self, *, offset: int = ..., limit: int = ...) -> Page[Tenant]:
        """The tenants the contact may choose among (R22), by ID."""
        raise NotImplementedError

    def gadget(self, tenant_id: Optional[str] = ...) -> Gadget:
        """What the contact's gadget shows: their tenants and the overview of one (R21)."""
        raise NotImplementedError

    def me(self) -> Contact:
        """The contact's own record: name, email, zone, tenants."""
        raise NotImplementedError

    def catalog(self) -> Catalog:
        """The versions on offer."""
        raise NotImplementedError

    def evaluate(self, draft: RequestDraft) -> Decision:
        """Every refusal and warning a submit of the draft would get, without submitting."""
        raise NotImplementedError

    def submit(self, tenant_id: str, *, target: str, version: Optional[str], db_refresh: Optional[bool] = ..., at: datetime, zone: Optional[str] = ..., ambiguity: Union[Ambiguity, str] = ..., idempotency_key: Optional[str] = ...) -> Submission:
        """Submit an update or DB refresh request; every rule is checked (R1-R22)."""
        raise NotImplementedError

    def submit_many(self, drafts: Iterable[RequestDraft], *, idempotency_keys: Optional[Sequence[Optional[str]]] = ...) -> List[BulkResult]:
        """Submit many drafts in one transaction: one answer per draft."""
        raise NotImplementedError

    def move(self, request_id: str, *, at: datetime, zone: Optional[str] = ..., ambiguity: Union[Ambiguity, str] = ...) -> UpdateRequest:
        """Move the preferred start of the contact's own request, until the cut-off (R13)."""
        raise NotImplementedError

    def explain(self, request_id: str, *, horizon: Optional[datetime] = ...) -> Explanation:
        """Why the contact's own request has, or would get, its date (nothing of others, R22)."""
        raise NotImplementedError

    def cancel(self, request_id: str) -> UpdateRequest:
        """Cancel a To Be Scheduled or Scheduled request (R16)."""
        raise NotImplementedError

    def delete(self, request_id: str) -> UpdateRequest:
        """Delete a completed request from the contact's view; its history stays (R18)."""
        raise NotImplementedError

    def answer(self, request_id: str, text: str) -> UpdateRequest:
        """Answer the provider's question on a Pending Input request."""
        raise NotImplementedError

    def requests(self, tenant_id: str, *, hide_complete: bool = ..., offset: int = ..., limit: int = ...) -> Page[UpdateRequest]:
        """A tenant's requests, newest first, never cancelled or deleted (R19)."""
        raise NotImplementedError

    def resolve_id(self, prefix: str) -> str:
        """The ID of one of the contact's requests by a prefix (R22)."""
        raise NotImplementedError

    def request(self, request_id: str) -> UpdateRequest:
        """One request, if the contact may see it."""
        raise NotImplementedError

    def overview(self, tenant_id: str) -> Overview:
        """A tenant's sites in the contact's zone: current and scheduled (R11, R21)."""
        raise NotImplementedError

    def submit_staged(self, tenant_id: str, *, version: str, at: datetime, zone: Optional[str] = ..., soak: Optional[timedelta] = ...) -> StagedSubmission:
        """Staging, then production at least the soak later, waiting on the contact's gate."""
        raise NotImplementedError

    def approve(self, request_id: str) -> UpdateRequest:
        """Let a staged production update go ahead (staging completed)."""
        raise NotImplementedError

    def decline(self, request_id: str, reason: Optional[str] = ...) -> UpdateRequest:
        """Release a staged production update after staging."""
        raise NotImplementedError

    def postpone(self, request_id: str, *, days: Optional[int] = ..., next_window: bool = ...) -> UpdateRequest:
        """Defer a Scheduled request, within the provider's deferral limits."""
        raise NotImplementedError


class ProviderAPI:
    """The provider handle's use cases."""

    def queue(self, *, offset: int = ..., limit: int = ..., after: Optional[str] = ...) -> Page[UpdateRequest]:
        """The To Be Scheduled requests, first come first served (R13), one page."""
        raise NotImplementedError

    def requests(self, *, tenant_id: Optional[str] = ..., statuses: Sequence[Union[Status, str]] = ..., since: Optional[datetime] = ..., until: Optional[datetime] = ..., offset: int = ..., limit: int = ...) -> Page[UpdateRequest]:
        """Requests of one tenant or of some statuses, optionally in a date range, one page."""
        raise NotImplementedError

    def tenants(self, *, offset: int = ..., limit: int = ...) -> Page[Tenant]:
        """Every tenant, by ID, one page."""
        raise NotImplementedError

    def catalog(self) -> Catalog:
        """The versions on offer."""
        raise NotImplementedError

    def override(self, contact_id: str, *, tenant_id: str, target: str, version: Optional[str], rules: Sequence[str], reason: str, by: str = ..., db_refresh: Optional[bool] = ..., at: datetime, zone: Optional[str] = ..., ambiguity: Union[Ambiguity, str] = ..., idempotency_key: Optional[str] = ...) -> Submission:
        """Submit for a contact, overriding exactly the rules named, with a reason."""
        raise NotImplementedError

    def find(self, request_id: str) -> UpdateRequest:
        """Any request by ID, deleted ones included."""
        raise NotImplementedError

    def resolve_id(self, prefix: str) -> str:
        """The one request ID starting with a prefix (people read shortened IDs)."""
        raise NotImplementedError

    def tenant(self, tenant_id: str) -> Tenant:
        """A tenant by ID."""
        raise NotImplementedError

    def history(self, request_id: str) -> List[HistoryEntry]:
        """A request's full history (kept after deletion)."""
        raise NotImplementedError

    def schedule(self, request_id: str, when: datetime, *, by: str = ..., reason: Optional[str] = ..., allow_past: bool = ...) -> UpdateRequest:
        """Confirm a date by hand: the provider's override of the plan (R13); told (R20)."""
        raise NotImplementedError

    def reschedule(self, request_id: str, when: datetime, *, reason: str, by: str = ..., allow_past: bool = ...) -> UpdateRequest:
        """Move a scheduled date, with a reason; the contact is told (R13, R20)."""
        raise NotImplementedError

    def pull(self, request_id: str, *, by: str = ...) -> UpdateRequest:
        """Take a scheduled request from the queue: Not Started."""
        raise NotImplementedError

    def start(self, request_id: str, *, by: str = ...) -> UpdateRequest:
        """Begin the update: In Progress, the site is offline."""
        raise NotImplementedError

    def complete(self, request_id: str, *, by: str = ...) -> UpdateRequest:
        """Finish the update: the sites take the new version."""
        raise NotImplementedError

    def ask_input(self, request_id: str, question: str, *, by: str = ...) -> UpdateRequest:
        """Ask the contact a question: Pending Input (R20)."""
        raise NotImplementedError

    def mark_answered(self, request_id: str, note: str, *, by: str = ...) -> UpdateRequest:
        """Record the answer the contact gave another way (by phone): back to where it was."""
        raise NotImplementedError

    def defer(self, request_id: str, reason: str, *, by: str = ...) -> UpdateRequest:
        """Put a request on hold until further notice: Deferred."""
        raise NotImplementedError

    def resume(self, request_id: str, *, by: str = ...) -> UpdateRequest:
        """Take a deferred request back into the queue."""
        raise NotImplementedError

    def fail(self, request_id: str, reason: str, *, by: str = ...) -> UpdateRequest:
        """Give up on a request: Unable to Complete; the contact is told why."""
        raise NotImplementedError

    def supersede(self, request_id: str, newer_id: str, *, by: str = ...) -> UpdateRequest:
        """Mark a request New Version Requested in favour of a newer one (R17)."""
        raise NotImplementedError

    def plan_queue(self, *, horizon: Optional[datetime] = ..., dry_run: bool = ..., by: str = ...) -> PlanRun:
        """Plan the queue first come, first served, and store it unless a dry run (R13)."""
        raise NotImplementedError

    def explain(self, request_id: str, *, horizon: Optional[datetime] = ...) -> Explanation:
        """Why a request has, or would get, its date, with every detail."""
        raise NotImplementedError

    def what_if(self, setup: Union[ProviderPreset, str, Path, Mapping[str, Any]], *, horizon: Optional[datetime] = ...) -> WhatIf:
        """Plan the queue under a changed setup (its [provider] table); store nothing."""
        raise NotImplementedError

    def group_update(self, group_id: str, *, target: str, version: str, earliest: datetime, horizon: Optional[datetime] = ..., by: str = ...) -> Tuple[UpdateRequest, ...]:
        """Plan one version update for a whole group, one request per member (R10)."""
        raise NotImplementedError

    def cloud_week(self, week_of: date, *, by: str = ...) -> Tuple[UpdateRequest, ...]:
        """Book the weekly automatic updates of the week containing a day (R8)."""
        raise NotImplementedError

    def advance_stages(self, *, by: str = ...) -> Tuple[UpdateRequest, ...]:
        """Release production whose staging failed; approve soaked ones (a setting)."""
        raise NotImplementedError

    def audit(self, *, kind: Optional[str] = ..., key: Optional[str] = ..., limit: int = ...) -> List[AuditEntry]:
        """The recorded changes of reference data, newest first."""
        raise NotImplementedError

    def apply_setup(self, setup: Union[Setup, str, Path, Mapping[str, Any]], *, by: str = ..., dry_run: bool = ...) -> SetupReport:
        """Make the stored reference data equal to a setup; every change is audited."""
        raise NotImplementedError

    def load_setup(self, setup: Union[Setup, str, Path, Mapping[str, Any]], *, by: str = ...) -> SetupReport:
        """Add a setup's reference data over what is stored (nothing removed); audited."""
        raise NotImplementedError

    def outbox(self, *, state: Optional[str] = ..., request_id: Optional[str] = ..., offset: int = ..., limit: int = ...) -> Page[OutboxItem]:
        """Outgoing notices and their delivery state, oldest first, one page."""
        raise NotImplementedError

    def outbox_item(self, item_id: str) -> Tuple[OutboxItem, List[OutboxEvent]]:
        """One outbox item and its delivery log."""
        raise NotImplementedError

    def retry_outbox(self, keys: Sequence[str] = ..., *, dead: bool = ..., by: str = ...) -> List[OutboxItem]:
        """Requeue dead outbox items (by key, or every dead one): due at once, logged."""
        raise NotImplementedError

    def run_status(self, request_id: str) -> Tuple[Run, Optional[str]]:
        """A request's current run and what its engine says of it."""
        raise NotImplementedError

    def cancel_run(self, request_id: str, reason: str, *, by: str = ...) -> UpdateRequest:
        """Stop a request's run in its engine and here; later reports are refused."""
        raise NotImplementedError


class OpsAPI:
    """The ops handle's use cases."""

    def deliver(self, *, max_attempts: Optional[int] = ..., base_delay: Optional[float] = ..., max_delay: Optional[float] = ..., timeout: Optional[float] = ..., batch: Optional[int] = ..., lease: Optional[float] = ..., owner: Optional[str] = ..., clock: Optional[Callable[..., Any]] = ...) -> DeliveryReport:
        """Deliver every due outbox item once (each claimed first: any number may run)."""
        raise NotImplementedError

    def dispatcher(self, *, max_attempts: Optional[int] = ..., base_delay: Optional[float] = ..., max_delay: Optional[float] = ..., timeout: Optional[float] = ..., batch: Optional[int] = ..., lease: Optional[float] = ..., owner: Optional[str] = ..., clock: Optional[Callable[..., Any]] = ...) -> Dispatcher:
        """A dispatcher of the outbox, for a loop of its own (Dispatcher.run)."""
        raise NotImplementedError

    def dispatch(self, dispatcher_id: str, *, lease_seconds: Optional[float] = ..., max_attempts: Optional[int] = ..., batch: Optional[int] = ..., start_within: Optional[float] = ..., max_waiting: Optional[int] = ...) -> DispatchReport:
        """Claim the updates due now and hand them to the executor (Celery, ...), once."""
        raise NotImplementedError

    def run_dispatcher(self, dispatcher_id: str, *, lease_seconds: Optional[float] = ..., max_attempts: Optional[int] = ..., batch: Optional[int] = ..., start_within: Optional[float] = ..., max_waiting: Optional[int] = ...) -> RunDispatcher:
        """A dispatcher handing due requests to the executor, for a loop of its own."""
        raise NotImplementedError

    def report(self, run_id: str, fencing_token: Union[int, str], outcome: str, *, contact_reason: Optional[str] = ...) -> Report:
        """An engine's report on a run (started, completed, failed, needs-input), fenced."""
        raise NotImplementedError

    def heartbeat(self, run_id: str, fencing_token: Union[int, str], *, lease_seconds: float) -> bool:
        """Keep a run's lease alive; False when the run no longer holds it."""
        raise NotImplementedError

    def status(self) -> Health:
        """What an on-call engineer asks first: due, overdue, stuck, dead; a verdict 0/1/2."""
        raise NotImplementedError

    def execute(self, ticket: Ticket, runbook: Callable[..., Any], *, reason_of: Optional[Callable[..., Any]] = ...) -> Execution:
        """Run a runbook for an engine's ticket under its fencing token (engine side)."""
        raise NotImplementedError


class LegacyDeskAPI:
    """The flat methods of 0.2, deprecated: use the actor handles."""

    def advance_stages(self, *, by: str = ...) -> Tuple[UpdateRequest, ...]:
        """Release production whose staging failed; approve soaked ones (a setting)."""
        raise NotImplementedError

    def answer(self, contact_id: str, request_id: str, text: str) -> UpdateRequest:
        """Answer the provider's question on a Pending Input request."""
        raise NotImplementedError

    def apply_setup(self, setup: Union[Setup, str, Path, Mapping[str, Any]], *, by: str = ..., dry_run: bool = ...) -> SetupReport:
        """Make the stored reference data equal to a setup; every change is audited."""
        raise NotImplementedError

    def approve(self, contact_id: str, request_id: str) -> UpdateRequest:
        """Let a staged production update go ahead (staging completed)."""
        raise NotImplementedError

    def ask_input(self, request_id: str, question: str, *, by: str = ...) -> UpdateRequest:
        """Ask the contact a question: Pending Input (R20)."""
        raise NotImplementedError

    def audit(self, *, kind: Optional[str] = ..., key: Optional[str] = ..., limit: int = ...) -> List[AuditEntry]:
        """The recorded changes of reference data, newest first."""
        raise NotImplementedError

    def cancel(self, contact_id: str, request_id: str) -> UpdateRequest:
        """Cancel a To Be Scheduled or Scheduled request (R16)."""
        raise NotImplementedError

    def cancel_run(self, request_id: str, reason: str, *, by: str = ...) -> UpdateRequest:
        """Stop a request's run in its engine and here; later reports are refused."""
        raise NotImplementedError

    def cloud_week(self, week_of: date, *, by: str = ...) -> Tuple[UpdateRequest, ...]:
        """Book the weekly automatic updates of the week containing a day (R8)."""
        raise NotImplementedError

    def complete(self, request_id: str, *, by: str = ...) -> UpdateRequest:
        """Finish the update: the sites take the new version."""
        raise NotImplementedError

    def decline(self, contact_id: str, request_id: str, reason: Optional[str] = ...) -> UpdateRequest:
        """Release a staged production update after staging."""
        raise NotImplementedError

    def defer(self, request_id: str, reason: str, *, by: str = ...) -> UpdateRequest:
        """Put a request on hold until further notice: Deferred."""
        raise NotImplementedError

    def delete(self, contact_id: str, request_id: str) -> UpdateRequest:
        """Delete a completed request from the contact's view; its history stays (R18)."""
        raise NotImplementedError

    def deliver(self, *, max_attempts: Optional[int] = ..., base_delay: Optional[float] = ..., max_delay: Optional[float] = ..., timeout: Optional[float] = ..., batch: Optional[int] = ..., lease: Optional[float] = ..., owner: Optional[str] = ..., clock: Optional[Callable[..., Any]] = ...) -> DeliveryReport:
        """Deliver every due outbox item once (each claimed first: any number may run)."""
        raise NotImplementedError

    def dispatch(self, dispatcher_id: str, *, lease_seconds: Optional[float] = ..., max_attempts: Optional[int] = ..., batch: Optional[int] = ..., start_within: Optional[float] = ..., max_waiting: Optional[int] = ...) -> DispatchReport:
        """Claim the updates due now and hand them to the executor (Celery, ...), once."""
        raise NotImplementedError

    def dispatcher(self, *, max_attempts: Optional[int] = ..., base_delay: Optional[float] = ..., max_delay: Optional[float] = ..., timeout: Optional[float] = ..., batch: Optional[int] = ..., lease: Optional[float] = ..., owner: Optional[str] = ..., clock: Optional[Callable[..., Any]] = ...) -> Dispatcher:
        """A dispatcher of the outbox, for a loop of its own (Dispatcher.run)."""
        raise NotImplementedError

    def evaluate(self, contact_id: str, draft: RequestDraft) -> Decision:
        """Every refusal and warning a submit of the draft would get, without submitting."""
        raise NotImplementedError

    def execute(self, ticket: Ticket, runbook: Callable[..., Any], *, reason_of: Optional[Callable[..., Any]] = ...) -> Execution:
        """Run a runbook for an engine's ticket under its fencing token (engine side)."""
        raise NotImplementedError

    def explain(self, request_id: str, *, horizon: Optional[datetime] = ...) -> Explanation:
        """Why a request has, or would get, its date, with every detail."""
        raise NotImplementedError

    def explain_to(self, contact_id: str, request_id: str, *, horizon: Optional[datetime] = ...) -> Explanation:
        """Why the contact's own request has, or would get, its date (nothing of others, R22)."""
        raise NotImplementedError

    def fail(self, request_id: str, reason: str, *, by: str = ...) -> UpdateRequest:
        """Give up on a request: Unable to Complete; the contact is told why."""
        raise NotImplementedError

    def find(self, request_id: str) -> UpdateRequest:
        """Any request by ID, deleted ones included."""
        raise NotImplementedError

    def group_update(self, group_id: str, target: str, version: str, *, earliest: datetime, horizon: Optional[datetime] = ..., by: str = ...) -> Tuple[UpdateRequest, ...]:
        """Plan one version update for a whole group, one request per member (R10)."""
        raise NotImplementedError

    def heartbeat(self, run_id: str, fencing_token: Union[int, str], *, lease_seconds: float) -> bool:
        """Keep a run's lease alive; False when the run no longer holds it."""
        raise NotImplementedError

    def history(self, request_id: str) -> List[HistoryEntry]:
        """A request's full history (kept after deletion)."""
        raise NotImplementedError

    def load_setup(self, setup: Union[Setup, str, Path, Mapping[str, Any]], *, by: str = ...) -> SetupReport:
        """Add a setup's reference data over what is stored (nothing removed); audited."""
        raise NotImplementedError

    def mark_answered(self, request_id: str, note: str, *, by: str = ...) -> UpdateRequest:
        """Record the answer the contact gave another way (by phone): back to where it was."""
        raise NotImplementedError

    def move(self, contact_id: str, request_id: str, *, at: datetime, zone: Optional[str] = ..., ambiguity: Union[Ambiguity, str] = ...) -> UpdateRequest:
        """Move the preferred start of the contact's own request, until the cut-off (R13)."""
        raise NotImplementedError

    def override(self, contact_id: str, tenant_id: str, target: str, version: Optional[str], *, rules: Sequence[str], reason: str, by: str = ..., db_refresh: Optional[bool] = ..., at: datetime, zone: Optional[str] = ..., ambiguity: Union[Ambiguity, str] = ..., idempotency_key: Optional[str] = ...) -> Submission:
        """Submit for a contact, overriding exactly the rules named, with a reason."""
        raise NotImplementedError

    def overview(self, contact_id: str, tenant_id: str) -> Overview:
        """A tenant's sites in the contact's zone: current and scheduled (R11, R21)."""
        raise NotImplementedError

    def plan_queue(self, *, horizon: Optional[datetime] = ..., dry_run: bool = ..., by: str = ...) -> PlanRun:
        """Plan the queue first come, first served, and store it unless a dry run (R13)."""
        raise NotImplementedError

    def postpone(self, contact_id: str, request_id: str, *, days: Optional[int] = ..., next_window: bool = ...) -> UpdateRequest:
        """Defer a Scheduled request, within the provider's deferral limits."""
        raise NotImplementedError

    def pull(self, request_id: str, *, by: str = ...) -> UpdateRequest:
        """Take a scheduled request from the queue: Not Started."""
        raise NotImplementedError

    def queue(self, *, offset: int = ..., limit: int = ..., after: Optional[str] = ...) -> Page[UpdateRequest]:
        """The To Be Scheduled requests, first come first served (R13), one page."""
        raise NotImplementedError

    def report(self, run_id: str, fencing_token: Union[int, str], outcome: str, *, contact_reason: Optional[str] = ...) -> Report:
        """An engine's report on a run (started, completed, failed, needs-input), fenced."""
        raise NotImplementedError

    def request(self, contact_id: str, request_id: str) -> UpdateRequest:
        """One request, if the contact may see it."""
        raise NotImplementedError

    def requests(self, contact_id: str, tenant_id: str, *, hide_complete: bool = ..., offset: int = ..., limit: int = ...) -> Page[UpdateRequest]:
        """A tenant's requests, newest first, never cancelled or deleted (R19)."""
        raise NotImplementedError

    def reschedule(self, request_id: str, when: datetime, reason: str, *, by: str = ..., allow_past: bool = ...) -> UpdateRequest:
        """Move a scheduled date, with a reason; the contact is told (R13, R20)."""
        raise NotImplementedError

    def resolve_id(self, prefix: str) -> str:
        """The one request ID starting with a prefix (people read shortened IDs)."""
        raise NotImplementedError

    def resolve_id_for(self, contact_id: str, prefix: str) -> str:
        """The ID of one of the contact's requests by a prefix (R22)."""
        raise NotImplementedError

    def resume(self, request_id: str, *, by: str = ...) -> UpdateRequest:
        """Take a deferred request back into the queue."""
        raise NotImplementedError

    def retry_outbox(self, keys: Sequence[str] = ..., *, dead: bool = ..., by: str = ...) -> List[OutboxItem]:
        """Requeue dead outbox items (by key, or every dead one): due at once, logged."""
        raise NotImplementedError

    def run_dispatcher(self, dispatcher_id: str, *, lease_seconds: Optional[float] = ..., max_attempts: Optional[int] = ..., batch: Optional[int] = ..., start_within: Optional[float] = ..., max_waiting: Optional[int] = ...) -> RunDispatcher:
        """A dispatcher handing due requests to the executor, for a loop of its own."""
        raise NotImplementedError

    def run_status(self, request_id: str) -> Tuple[Run, Optional[str]]:
        """A request's current run and what its engine says of it."""
        raise NotImplementedError

    def schedule(self, request_id: str, when: datetime, *, by: str = ..., reason: Optional[str] = ..., allow_past: bool = ...) -> UpdateRequest:
        """Confirm a date by hand: the provider's override of the plan (R13); told (R20)."""
        raise NotImplementedError

    def start(self, request_id: str, *, by: str = ...) -> UpdateRequest:
        """Begin the update: In Progress, the site is offline."""
        raise NotImplementedError

    def submit(self, contact_id: str, tenant_id: str, target: str, version: Optional[str], *, db_refresh: Optional[bool] = ..., at: datetime, zone: Optional[str] = ..., ambiguity: Union[Ambiguity, str] = ..., idempotency_key: Optional[str] = ...) -> Submission:
        """Submit an update or DB refresh request; every rule is checked (R1-R22)."""
        raise NotImplementedError

    def submit_many(self, contact_id: str, drafts: Iterable[RequestDraft], *, idempotency_keys: Optional[Sequence[Optional[str]]] = ...) -> List[BulkResult]:
        """Submit many drafts in one transaction: one answer per draft."""
        raise NotImplementedError

    def submit_staged(self, contact_id: str, tenant_id: str, version: str, *, at: datetime, zone: Optional[str] = ..., soak: Optional[timedelta] = ...) -> StagedSubmission:
        """Staging, then production at least the soak later, waiting on the contact's gate."""
        raise NotImplementedError

    def supersede(self, request_id: str, newer_id: str, *, by: str = ...) -> UpdateRequest:
        """Mark a request New Version Requested in favour of a newer one (R17)."""
        raise NotImplementedError

    def tenant(self, tenant_id: str) -> Tenant:
        """A tenant by ID."""
        raise NotImplementedError

    def tenants_of(self, contact_id: str, *, offset: int = ..., limit: int = ...) -> Page[Tenant]:
        """The tenants the contact may choose among (R22), by ID."""
        raise NotImplementedError

    def what_if(self, setup: Union[ProviderPreset, str, Path, Mapping[str, Any]], *, horizon: Optional[datetime] = ...) -> WhatIf:
        """Plan the queue under a changed setup (its [provider] table); store nothing."""
        raise NotImplementedError
