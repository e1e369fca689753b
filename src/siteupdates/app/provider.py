"""The provider's use cases: the queue, a request's history, and every status change.

:func:`act` is the one way a provider (a person or a hosting worker) changes a
request: it loads the request inside the unit of work, applies the event
through :mod:`siteupdates.app.changes`, and writes it; a worker passes its
lease as a fence, so a worker that lost its lease writes nothing.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, List, Optional, Sequence

from siteupdates.domain import Actor, Event, HistoryEntry, Status, Target, Tenant, UpdateRequest
from siteupdates.domain.timeutil import require_aware
from siteupdates.errors import InvalidInput, LeaseLost, NotFound
from siteupdates.ports import Page, Reads, Unit

from . import changes
from .bootstrap import App

if TYPE_CHECKING:
    from siteupdates.ports import Fence

__all__ = [
    "MIN_PREFIX",
    "act",
    "find",
    "history",
    "id_text",
    "mark_answered",
    "queue",
    "resolve_id",
    "resolve_in",
    "supersede",
    "tenant",
]


#: A staging request's changes after which its staged production is checked again
#: (:func:`siteupdates.app.staged.follow_staging`): a new date, or its completion.
_STAGING_MOVES = frozenset({Event.SCHEDULE, Event.RESCHEDULE, Event.COMPLETE})


def _request(reads: Reads, request_id: str) -> UpdateRequest:
    found = reads.request(request_id)
    if found is None:
        raise NotFound("request", request_id)
    return found


def tenant(app: App, tenant_id: str) -> Tenant:
    """A tenant by ID; NotFound otherwise."""
    found = app.reads.tenant(tenant_id)
    if found is None:
        raise NotFound("tenant", tenant_id)
    return found


def queue(
    app: App, *, offset: int = 0, limit: int = 1000, after: Optional[str] = None
) -> Page[UpdateRequest]:
    """The To Be Scheduled requests, first come first served (R13), one page.

    ``after`` (the last request ID of the page before) asks for a keyset page;
    the page says whether ``more`` follow, and counts the queue only up to
    :data:`~siteupdates.ports.COUNT_CAP` (see :class:`~siteupdates.ports.Page`).
    """
    return app.reads.page_in((Status.TO_BE_SCHEDULED,), offset=offset, limit=limit, after=after)


def find(app: App, request_id: str) -> UpdateRequest:
    """Any request by ID, deleted ones included; NotFound otherwise."""
    return _request(app.reads, request_id)


#: What a request ID (or a prefix of one) may hold: IDs are printable ASCII words.
_ID_TEXT = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.:-]{0,127}")
#: The shortest prefix looked up: shorter ones match too much to mean anything.
MIN_PREFIX = 4


def id_text(prefix: object) -> str:
    """``prefix`` as typed, checked: InvalidInput unless it can be (part of) a request ID."""
    text = prefix.strip() if isinstance(prefix, str) else None
    if text is None or not text.isascii() or not _ID_TEXT.fullmatch(text):
        raise InvalidInput(
            f"{prefix!a} is not a request ID: expected letters and digits such as "
            "6640e1ee4fe9 (the first 12 digits are enough)",
            prefix,
        )
    return text


def resolve_in(reads: Reads, prefix: object, tenants: Optional[Sequence[str]] = None) -> str:
    """The one request ID that is, or starts with, ``prefix`` (IDs are shown shortened).

    With ``tenants``, only requests of those tenants count. NotFound when none
    matches; InvalidInput naming two candidates when several do.
    """
    text = id_text(prefix)
    for candidate in dict.fromkeys((text, text.lower())):
        exact = reads.request(candidate)
        if exact is not None and (tenants is None or exact.tenant_id in tenants):
            return exact.id
    found: List[str] = []
    if len(text) >= MIN_PREFIX:
        for candidate in dict.fromkeys((text, text.lower())):
            found = reads.request_ids(candidate, limit=3, tenants=tenants)
            if found:
                break
    if not found:
        raise NotFound("request", text)
    if len(found) > 1:
        raise InvalidInput(
            f"request ID prefix {text!r} is ambiguous ({', '.join(found[:2])}, ...); "
            "give more of the ID",
            prefix,
        )
    return found[0]


def resolve_id(app: App, prefix: str) -> str:
    """Provider side: the one request ID that is, or starts with, ``prefix``."""
    return resolve_in(app.reads, prefix)


def history(app: App, request_id: str) -> List[HistoryEntry]:
    """A request's full history (kept after deletion, R18)."""
    _request(app.reads, request_id)
    return app.reads.history(request_id)


def act(
    app: App,
    request_id: str,
    event: Event,
    *,
    by: str = "provider",
    reason: Optional[str] = None,
    date: Optional[datetime] = None,
    fence: Optional[Fence] = None,
    release: bool = False,
) -> UpdateRequest:
    """Apply ``event`` as the provider to the request's current state, and store it.

    With ``fence`` (a hosting worker's lease) nothing is written unless the
    worker still holds the request; ``release`` ends the lease with the change.
    """
    when = None if date is None else require_aware("date", date)

    def use_case(uow: Unit) -> UpdateRequest:
        current = _request(uow, request_id)
        if fence is not None:
            # A worker that lost its lease hears so first, whatever became of the request.
            held = uow.lease(request_id)
            if held is None or (held.worker, held.attempts) != (fence.worker, fence.attempts):
                raise LeaseLost(request_id, fence.worker)
        new, cs = changes.transition(
            app, uow, current, event, actor=Actor.PROVIDER, by=by, reason=reason, date=when,
            fence=fence, release=release,
        )  # fmt: skip
        uow.apply(cs)
        if event in _STAGING_MOVES and new.target is Target.STAGING:
            from . import staged  # the planner loads only for the commands that plan

            staged.follow_staging(app, uow, new, by=by)
        return new

    return app.run(use_case, name=event.value)


def mark_answered(app: App, request_id: str, note: str, *, by: str = "provider") -> UpdateRequest:
    """Record that the contact answered the provider's question another way (by phone).

    The contact's own answer, caused by the provider: ``note`` (how the question
    was answered) is the history entry's reason, the request returns to the
    status it was asked in, and the outbox gets what the contact's answer puts
    there: R20 tells the contact when input is needed, not when it was given.
    A staged production update at its gate is refused (rule ``staging``): it
    waits for the contact's approval, not on a question.
    """

    def use_case(uow: Unit) -> UpdateRequest:
        current = _request(uow, request_id)
        from . import staged  # the planner loads only for the commands that plan

        staged.refuse_answer_at_gate(current, Actor.PROVIDER)
        new, cs = changes.transition(
            app, uow, current, Event.ANSWER, actor=Actor.PROVIDER, by=by, reason=note
        )
        uow.apply(cs)
        return new

    return app.run(use_case)


def supersede(app: App, request_id: str, newer_id: str, *, by: str = "provider") -> UpdateRequest:
    """Mark a request New Version Requested in favour of ``newer_id`` (R17)."""

    def use_case(uow: Unit) -> UpdateRequest:
        current = _request(uow, request_id)
        _request(uow, newer_id)
        new, cs = changes.transition(
            app, uow, current, Event.SUPERSEDE, actor=Actor.PROVIDER, by=by,
            reason=f"newer version requested in request {newer_id}", superseded_by=newer_id,
        )  # fmt: skip
        uow.apply(cs)
        return new

    return app.run(use_case)
