"""Many submits in one unit of work: every rule for each draft, one batched write.

:func:`submit_many` is :func:`~siteupdates.app.contact.submit` for a list of
drafts from one contact (a CSV or JSON-lines file, an import from another
system). Each draft gets its own answer, accepted or refused with every
refusal, in the order given; the accepted ones are written together in one
transaction, with their history entries and notices, through batched
statements. The rules are the same as for one submit:

* R22 first: a tenant the contact does not see is refused with the same message
  as a tenant that does not exist;
* every policy of the app (the built-in rules and the plugins');
* R17 across the batch too: a draft sees the open version updates of the
  store *and* those accepted before it in the same batch, supersedes an older
  waiting one (in the same transaction) and is refused when another stands;
* idempotency keys: a key seen before (stored, or earlier in the batch) returns
  the earlier request instead of making a second.

The transaction holds the lock of every tenant in the batch (taken in ID
order, so two batches cannot deadlock), and the store's unique indexes still
guard the invariants: a lost race runs the whole batch again on fresh data.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import attrs

from siteupdates.domain import (
    Actor,
    Catalog,
    Contact,
    Event,
    HistoryEntry,
    PolicyContext,
    Refusal,
    RequestDraft,
    Target,
    Tenant,
    UpdateRequest,
    evaluate,
    submitted,
    superseded_by,
)
from siteupdates.errors import ConflictError, DuplicateKey, InvalidInput
from siteupdates.ports import ChangeSet, OutboxItem, Unit

from . import changes
from .access import NO_ACCESS, contact
from .bootstrap import App
from .contact import Submission, accepted_request

__all__ = ["BulkResult", "submit_many"]

_NO_ACCESS = Refusal("R22", NO_ACCESS.format(what="tenant"))


@attrs.frozen
class BulkResult:
    """The answer to one draft of a batch: its submission, or every refusal."""

    #: The draft's position in the batch (0-based).
    index: int
    draft: RequestDraft
    submission: Optional[Submission] = None
    refusals: Tuple[Refusal, ...] = ()

    @property
    def accepted(self) -> bool:
        """Whether the draft became a request (or replayed one, by its key)."""
        return self.submission is not None

    @property
    def request(self) -> Optional[UpdateRequest]:
        """The request made (or replayed), or None when refused."""
        return None if self.submission is None else self.submission.request


class _Batch:
    """What one run of the batch has decided so far, and the writes it holds back."""

    def __init__(self, app: App, uow: Unit, who: Contact) -> None:
        self.app, self.uow, self.who = app, uow, who
        self.tenants: Dict[str, Optional[Tenant]] = {}
        self.catalog: Optional[Catalog] = None
        #: The open version updates of each site, as they stand after the drafts so far.
        self.open: Dict[Tuple[str, Target], List[UpdateRequest]] = {}
        self.keys: Dict[str, Submission] = {}
        self.pending: Dict[str, UpdateRequest] = {}  # inserted by this batch, not yet written
        self.inserts: List[UpdateRequest] = []
        self.history: List[HistoryEntry] = []
        self.outbox: List[OutboxItem] = []
        self.parts: List[ChangeSet] = []

    def tenant(self, tenant_id: str) -> Optional[Tenant]:
        if tenant_id not in self.tenants:
            self.tenants[tenant_id] = self.uow.tenant(tenant_id)
        return self.tenants[tenant_id]

    def open_updates(self, tenant_id: str, target: Target) -> List[UpdateRequest]:
        site = (tenant_id, target)
        if site not in self.open:
            self.open[site] = list(self.uow.open_version_updates(tenant_id, target))
        return self.open[site]

    def flush(self) -> None:
        """Write what is held back (before a draft supersedes a request of this batch)."""
        held = ChangeSet(
            inserts=tuple(self.inserts), history=tuple(self.history), outbox=tuple(self.outbox)
        )
        self.uow.apply(ChangeSet.concat([*self.parts, held]))
        self.inserts, self.history, self.outbox, self.parts = [], [], [], []
        self.pending.clear()

    def one(self, index: int, draft: RequestDraft, key: Optional[str]) -> BulkResult:
        app, who = self.app, self.who
        if key is not None:
            earlier = self.keys.get(key)
            if earlier is None:
                stored = self.uow.by_idempotency_key(who.id, key)
                if stored is not None:
                    earlier = Submission(stored, stored.warnings, replayed=True)
            if earlier is not None:
                replay = attrs.evolve(earlier, replayed=True, superseded=())
                return BulkResult(index, draft, replay)
        tenant = self.tenant(draft.tenant_id) if who.sees(draft.tenant_id) else None
        if tenant is None:
            return BulkResult(index, draft, refusals=(_NO_ACCESS,))
        if self.catalog is None:
            self.catalog = self.uow.catalog()
        # R17 reads this site's open version updates; a DB refresh only touches none.
        site_open = self.open_updates(tenant.id, draft.target) if draft.version else []
        ctx = PolicyContext.build(
            contact=who, tenant=tenant, draft=draft, catalog=self.catalog, preset=app.preset,
            now=app.now(), open_requests=site_open,
        )  # fmt: skip
        decision = evaluate(ctx, app.policies)
        if decision.refusals:
            return BulkResult(index, draft, refusals=decision.refusals)
        request = accepted_request(app, who, ctx, decision, key)
        older = superseded_by(draft.version, draft.target, ctx.open_requests)
        if any(o.id in self.pending for o in older):
            self.flush()  # the older one must be stored before it can be superseded
        first = submitted(request)
        self.inserts.append(request)
        self.pending[request.id] = request
        self.history.append(first)
        self.outbox.extend(changes.outbox_items(app, request, first, tenant, [who], False))
        for old in older:  # R17, in the same transaction
            _, cs = changes.transition(
                app, self.uow, old, Event.SUPERSEDE, actor=Actor.PROVIDER, by="siteupdates",
                reason=f"newer version {draft.version} requested in request {request.id}",
                tenant=tenant, known=[who], superseded_by=request.id,
            )  # fmt: skip
            self.parts.append(cs)
        if draft.version is not None:
            gone = {o.id for o in older}
            site_open[:] = [r for r in site_open if r.id not in gone] + [request]
        submission = Submission(request, request.warnings, tuple(o.id for o in older))
        if key is not None:
            self.keys[key] = submission
        return BulkResult(index, draft, submission)


def submit_many(
    app: App,
    contact_id: str,
    drafts: Iterable[RequestDraft],
    *,
    idempotency_keys: Optional[Sequence[Optional[str]]] = None,
) -> List[BulkResult]:
    """Submit ``drafts`` for one contact in one transaction; one result per draft.

    Raises AccessDenied for an unknown contact (R22) and InvalidInput for input
    that is not a list of drafts; a draft a rule refuses is answered, not
    raised. ``idempotency_keys`` (one per draft, None for none) makes a retried
    batch return the first requests instead of making new ones.
    """
    batch = list(drafts)
    if not all(isinstance(d, RequestDraft) for d in batch):
        raise InvalidInput("submit_many takes RequestDraft values", None)
    keys = list(idempotency_keys) if idempotency_keys is not None else [None] * len(batch)
    if len(keys) != len(batch):
        raise InvalidInput(
            f"{len(keys)} idempotency keys for {len(batch)} drafts: give one per draft",
            len(keys),
        )
    for d in batch:
        if d.local_start is not None and d.local_start.tzinfo is not None:
            raise InvalidInput(
                "the preferred start is a wall-clock time read in the requester's zone; "
                "give a naive datetime and the zone separately",
                d.local_start,
            )

    def use_case(uow: Unit) -> List[BulkResult]:
        who = contact(uow, contact_id)
        # One writer per tenant, as for one submit; in ID order, so batches never deadlock.
        locked = sorted({d.tenant_id for d in batch if who.sees(d.tenant_id)})
        for tenant_id in locked:
            uow.lock(f"tenant:{tenant_id}")
        # Read again under the locks: an apply that changed the contact meanwhile
        # (it takes the tenants' locks too) is wholly before this batch, or it is
        # run again when the contact now sees a tenant it did not lock.
        who = contact(uow, contact_id)
        if not {d.tenant_id for d in batch if who.sees(d.tenant_id)} <= set(locked):
            raise ConflictError(contact_id, message="the contact changed; run the batch again")
        run = _Batch(app, uow, who)
        results = [run.one(i, d, k) for i, (d, k) in enumerate(zip(batch, keys))]
        run.flush()
        return results

    for _ in range(app.attempts):
        try:
            return app.run(use_case)
        except DuplicateKey:
            # Another process stored one of the keys meanwhile: run again, and that
            # draft replays its request.
            continue
    return app.run(use_case)
