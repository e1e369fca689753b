"""Test helpers for hosts and plugin authors, including the storage contract suite.

Every storage backend must pass :class:`StorageContract`. Subclass it in your
plugin's tests and provide a ``storage`` fixture that yields a fresh, empty
storage::

    from siteupdates.testing import StorageContract

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage(self, tmp_path):
            s = MyStorage(...)
            yield s
            s.close()

This module imports pytest; import it from tests only.
"""

from __future__ import annotations

import itertools
from contextlib import AbstractContextManager
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import attrs
import pytest

from siteupdates.domain import (
    Actor,
    Catalog,
    Contact,
    Event,
    Group,
    HistoryEntry,
    ScheduledTask,
    Site,
    Status,
    Target,
    Tenant,
    UpdateRequest,
    apply_event,
    submitted,
)
from siteupdates.domain.timeutil import get_zone
from siteupdates.errors import (
    AttemptCancelled,
    ConflictError,
    DeliveryError,
    DuplicateKey,
    LeaseLost,
    PermanentDeliveryError,
    SiteUpdatesError,
    TemporaryDeliveryError,
)
from siteupdates.notices import CalendarEntry, DeliveryAttempt, Notice
from siteupdates.ports import (
    AuditEntry,
    ChangeSet,
    Lease,
    OutboxItem,
    OutboxState,
    ReferenceChange,
    Setup,
    Storage,
)

__all__ = [
    "FixedClock",
    "NotifierContract",
    "Received",
    "RecordingNotifier",
    "StorageContract",
    "sample_notice",
    "sample_setup",
]

UTC = timezone.utc
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


class FixedClock:
    """A clock that moves only when told to: ``clock()`` and ``clock.advance(...)``."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        self.now += delta


class RecordingNotifier:
    """A notifier plugin that records notices.

    Set ``failing`` to make it fail temporarily (a ConnectionError), or
    ``refusing`` to a reason to make it fail permanently (PermanentDeliveryError).
    """

    def __init__(self) -> None:
        self.delivered: List[Notice] = []
        self.failing = False
        self.refusing: Optional[str] = None
        self.calls = 0

    def siteupdates_deliver_notice(self, notice: Notice, attempt: DeliveryAttempt) -> bool:
        """Record ``notice``, or raise while ``failing`` or ``refusing``."""
        self.calls += 1
        if self.refusing:
            raise PermanentDeliveryError(self.refusing)
        if self.failing:
            raise ConnectionError("mail server unreachable")
        attempt.commit()
        self.delivered.append(notice)
        return True


# pluggy finds the hook through this marker; set here to keep the class import-light.
from siteupdates.hookspecs import hookimpl  # noqa: E402

RecordingNotifier.siteupdates_deliver_notice = hookimpl(  # type: ignore[method-assign]
    RecordingNotifier.siteupdates_deliver_notice
)


def sample_setup() -> Setup:
    """A small provider: a group, three tenants (one in the group), two contacts."""
    berlin = ZoneAware.at(2015, 1, 10, 13, "Europe/Berlin")
    return Setup(
        groups=(Group("state-x", "State X", "state"),),
        tenants=(
            Tenant(
                "d1",
                "Example District",
                "asp",
                sites=(
                    Site("production", "E.1450.4", berlin),
                    Site("sandbox", "E.1450.4", berlin, refreshed_at=T0, automatic=True),
                    Site("staging", "E.1418.2", T0),
                ),
                tasks=(ScheduledTask("nightly export", time(1, 30), "America/Chicago", 6, 45),),
            ),
            Tenant("d2", "Cloud District", "cloud", sites=(Site("production", "E.1505.2", T0),)),
            Tenant(
                "d3",
                "Linked District",
                "cloud-choice",
                sites=(Site("production", "E.1450.4", T0), Site("sandbox", "E.1450.4", T0)),
                group_id="state-x",
            ),
        ),
        contacts=(
            Contact("dana", "Dana", "dana@d1.example", "district", {"d1"}),
            Contact("sam", "Sam", "sam@state.example", "state", {"d1", "d3"}, "Europe/Berlin"),
        ),
        catalog=Catalog.of("E.1418.2", "E.1450.4", "E.1505.1", "E.1505.2"),
        settings={"preset": {"name": "test"}},
    )


class ZoneAware:
    """Build zone-aware instants for tests."""

    @staticmethod
    def at(y: int, m: int, d: int, h: int, zone: str) -> datetime:
        """An aware datetime at a wall-clock time in ``zone``."""
        return datetime(y, m, d, h, tzinfo=get_zone(zone))


_ids = itertools.count(1)


def make_request(tenant_id: str = "d1", **changes: Any) -> UpdateRequest:
    """A valid To Be Scheduled request with a unique ID: a DB refresh of the sandbox.

    A refresh, so that a test may hold many open at once; a version update is
    one per site (give ``version=``, and ``target=`` for a second site).
    """
    base: dict[str, Any] = dict(
        id=f"req-{next(_ids):06d}",
        tenant_id=tenant_id,
        target="production/sandbox",
        version=None,
        db_refresh=True,
        preferred_start=ZoneAware.at(2026, 3, 8, 1, "America/Chicago"),
        zone="America/Chicago",
        requested_by="dana",
        requested_at=T0,
    )
    base.update(changes)
    return UpdateRequest(**base)


def notice_item(request_id: str, key: str, at: datetime = T0) -> OutboxItem:
    """An outbox item for ``request_id``."""
    return OutboxItem(
        id=f"out-{key}",
        key=key,
        kind="notice",
        request_id=request_id,
        payload={"key": key, "n": 1, "nested": {"a": [1, 2]}},
        created_at=at,
    )


def submit_changes(r: UpdateRequest, key: Optional[str] = None) -> ChangeSet:
    """The change set of submitting ``r``: the request, its first entry, one notice."""
    return ChangeSet(
        inserts=(r,), history=(submitted(r),), outbox=(notice_item(r.id, key or f"{r.id}:1"),)
    )


def transition(
    r: UpdateRequest, event: Event, at: datetime = T0, **kw: Any
) -> tuple[UpdateRequest, ChangeSet]:
    """Apply ``event`` as the provider; the change set that stores it."""
    new, entry = apply_event(r, event, actor=Actor.PROVIDER, by="ops", at=at, **kw)
    return new, ChangeSet(
        updates=((new, r.revision),),
        history=(entry,),
        outbox=(notice_item(r.id, f"{r.id}:{entry.seq}"),),
    )


class StorageContract:
    """The behaviour every :class:`~siteupdates.ports.Storage` must have.

    Subclasses provide the ``storage`` fixture: a fresh, empty storage.
    """

    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        """Override: yield a fresh, empty storage."""
        raise NotImplementedError("provide a 'storage' fixture")

    @pytest.fixture
    def loaded(self, storage: Storage) -> Storage:
        """The storage with :func:`sample_setup` saved."""
        storage.save_setup(sample_setup())
        return storage

    # -- reference data --------------------------------------------------------------

    def test_setup_round_trips_every_field(self, loaded: Storage) -> None:
        setup = sample_setup()
        assert loaded.tenants() == sorted(setup.tenants, key=lambda t: t.id)
        assert loaded.tenant("d1") == setup.tenants[0]
        assert loaded.tenant("nope") is None
        assert loaded.contacts() == sorted(setup.contacts, key=lambda c: c.id)
        assert loaded.contact("sam") == setup.contacts[1]
        assert loaded.group("state-x") == setup.groups[0]
        assert loaded.catalog() == setup.catalog
        assert loaded.settings() == {"preset": {"name": "test"}}

    def test_has_tenants_says_whether_a_setup_is_stored(self, storage: Storage) -> None:
        assert storage.has_tenants() is False
        storage.save_setup(sample_setup())
        assert storage.has_tenants() is True

    def test_a_reference_change_upserts_removes_and_audits_in_one_unit(
        self, loaded: Storage
    ) -> None:
        setup = sample_setup()
        d2 = next(t for t in loaded.tenants() if t.id == "d2")
        renamed = attrs.evolve(d2, name="Renamed District")
        entry = AuditEntry(T0, "ops", "tenant", "d2", "changed", {"name": d2.name},
                           {"name": "Renamed District"})  # fmt: skip
        gone = AuditEntry(T0, "ops", "contact", "sam", "removed", {"email": "x"}, None)
        with loaded.unit() as uow:
            uow.change_reference(
                ReferenceChange(
                    upsert=Setup(tenants=(renamed,), catalog=Catalog.of("E.1509.0")),
                    remove_contacts=("sam",),
                    remove_versions=("E.1418.2",),
                    remove_groups=("state-x",),
                    audit=(entry, gone),
                )
            )
        assert loaded.contact("sam") is None and loaded.contact("dana") is not None
        t = loaded.tenant("d2")
        assert t is not None and t.name == "Renamed District" and t.revision == d2.revision + 1
        versions = {str(v) for v in loaded.catalog().versions}
        assert "E.1509.0" in versions and "E.1418.2" not in versions
        assert loaded.groups() == []
        found = loaded.audit()
        assert [(e.kind, e.key, e.action) for e in found] == [
            ("contact", "sam", "removed"), ("tenant", "d2", "changed")]  # fmt: skip
        assert found[1].before == {"name": d2.name} and found[1].by == "ops"
        assert found[0].seq > found[1].seq and found[1].at == T0
        assert loaded.audit(kind="tenant") == [found[1]]
        assert len(setup.contacts) == 2

    def test_a_stale_tenant_in_a_reference_change_writes_nothing(self, loaded: Storage) -> None:
        d2 = next(t for t in loaded.tenants() if t.id == "d2")
        stale = attrs.evolve(d2, name="Stale", revision=d2.revision + 5)
        entry = AuditEntry(T0, "ops", "tenant", "d2", "changed", None, None)
        with pytest.raises(ConflictError), loaded.unit() as uow:
            uow.change_reference(
                ReferenceChange(
                    upsert=Setup(tenants=(stale,)), remove_contacts=("sam",), audit=(entry,)
                )
            )
        assert loaded.contact("sam") is not None and loaded.audit() == []
        assert loaded.tenant("d2") == d2

    def test_saving_a_setup_again_replaces_sites(self, loaded: Storage) -> None:
        d2 = sample_setup().tenants[1]
        moved = attrs.evolve(d2, sites=(Site("production", "E.1505.2", T0 + timedelta(1)),))
        loaded.save_setup(Setup(tenants=(moved,)))
        assert loaded.tenant("d2") == moved
        assert len(loaded.tenants()) == 3

    # -- requests ------------------------------------------------------------------

    def test_a_request_round_trips_every_field_with_zone_aware_times(
        self, loaded: Storage
    ) -> None:
        r = make_request(
            version=None,
            db_refresh=True,
            target="staging",
            zone="Australia/Lord_Howe",
            preferred_start=ZoneAware.at(2026, 10, 4, 3, "Australia/Lord_Howe"),
            requested_at=datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
            warnings=("R14: task 'x'", "R8: window"),
            idempotency_key="k-1",
            group_plan_id="g-1",
            automatic=True,
        )
        loaded.apply(submit_changes(r))
        back = loaded.request(r.id)
        assert back == r
        assert back is not None and back.preferred_start.utcoffset() == timedelta(0)
        scheduled, cs = transition(r, Event.SCHEDULE, date=ZoneAware.at(2026, 3, 9, 4, "UTC"))
        scheduled = attrs.evolve(scheduled, superseded_by="other", reason="why")
        loaded.apply(attrs.evolve(cs, updates=((scheduled, r.revision),)))
        assert loaded.request(r.id) == scheduled
        assert loaded.request("missing") is None

    def test_a_question_and_an_override_round_trip(self, loaded: Storage) -> None:
        r = make_request(warnings=("R14: task 'x'",))
        first = attrs.evolve(
            submitted(r), actor=Actor.PROVIDER, by="ops", overrides=("R5", "REFRESH-INTERVAL")
        )
        loaded.apply(ChangeSet(inserts=(r,), history=(first,)))
        scheduled, cs = transition(r, Event.SCHEDULE, date=T0 + timedelta(days=2))
        loaded.apply(cs)
        asked, cs = transition(scheduled, Event.ASK_INPUT, reason="which copy?")
        loaded.apply(cs)
        assert asked.resume_status is Status.SCHEDULED and asked.scheduled_for is not None
        assert loaded.request(r.id) == asked
        assert loaded.history(r.id)[0] == first
        assert loaded.history(r.id)[0].overrides == ("R5", "REFRESH-INTERVAL")

    def test_history_is_kept_in_order_with_every_field(self, loaded: Storage) -> None:
        r = make_request()
        loaded.apply(submit_changes(r))
        s, cs1 = transition(r, Event.SCHEDULE, date=T0 + timedelta(days=2))
        loaded.apply(cs1)
        _, cs2 = transition(
            s, Event.RESCHEDULE, at=T0 + timedelta(hours=1), date=T0 + timedelta(3), reason="x"
        )
        loaded.apply(cs2)
        h = loaded.history(r.id)
        assert [e.seq for e in h] == [1, 2, 3]
        assert h[0] == submitted(r)
        assert h[2] == cs2.history[0]
        assert h[2].old_date == T0 + timedelta(days=2) and h[2].new_date == T0 + timedelta(3)
        assert loaded.history("missing") == []

    def test_outbox_items_round_trip_and_become_due(self, loaded: Storage) -> None:
        r = make_request()
        loaded.apply(submit_changes(r, key="k"))
        [item] = loaded.outbox(request_id=r.id)
        assert item == notice_item(r.id, "k")
        assert loaded.outbox_due(T0) == [item]
        later = attrs.evolve(
            item, attempts=1, next_attempt_at=T0 + timedelta(minutes=5), last_error="boom"
        )
        loaded.record_attempt(later)
        assert loaded.outbox_due(T0) == []
        assert loaded.outbox_due(T0 + timedelta(minutes=5)) == [later]
        done = attrs.evolve(later, state=OutboxState.DELIVERED, delivered_at=T0, attempts=2)
        loaded.record_attempt(done)
        assert loaded.outbox_due(T0 + timedelta(days=1)) == []
        assert loaded.outbox(state=OutboxState.DELIVERED) == [done]

    # -- units of work --------------------------------------------------------------

    def test_a_stale_revision_is_a_conflict_and_writes_nothing(self, loaded: Storage) -> None:
        r = make_request()
        loaded.apply(submit_changes(r))
        first, cs_first = transition(r, Event.SCHEDULE, date=T0 + timedelta(1))
        _, cs_second = transition(r, Event.DEFER, reason="hold")
        loaded.apply(cs_first)
        with pytest.raises(ConflictError):
            loaded.apply(cs_second)
        assert loaded.request(r.id) == first
        assert [e.event for e in loaded.history(r.id)] == [Event.SUBMIT, Event.SCHEDULE]
        assert len(loaded.outbox(request_id=r.id)) == 2

    def test_a_failure_in_the_middle_of_a_unit_of_work_leaves_nothing(
        self, loaded: Storage
    ) -> None:
        r = make_request()
        loaded.apply(submit_changes(r))
        _, cs = transition(r, Event.SCHEDULE, date=T0 + timedelta(1))
        fresh = make_request()
        clash = notice_item(r.id, f"{r.id}:1")  # the key the submit already used
        broken = ChangeSet(
            inserts=(fresh,),
            updates=cs.updates,
            history=(submitted(fresh), *cs.history),
            outbox=(notice_item(fresh.id, "fresh"), clash),
            tenants=(attrs.evolve(sample_setup().tenants[1], name="Renamed"),),
        )
        with pytest.raises(SiteUpdatesError):
            loaded.apply(broken)
        assert loaded.request(r.id) == r
        assert loaded.request(fresh.id) is None
        assert [e.seq for e in loaded.history(r.id)] == [1]
        assert loaded.history(fresh.id) == []
        assert [o.key for o in loaded.outbox()] == [f"{r.id}:1"]
        d2 = loaded.tenant("d2")
        assert d2 is not None and d2.name == "Cloud District"

    def test_a_history_entry_out_of_sequence_fails_the_whole_unit(self, loaded: Storage) -> None:
        r = make_request()
        loaded.apply(submit_changes(r))
        _, cs = transition(r, Event.SCHEDULE, date=T0 + timedelta(1))
        dup = attrs.evolve(cs, history=(*cs.history, attrs.evolve(cs.history[0], seq=1)))
        with pytest.raises(SiteUpdatesError):
            loaded.apply(dup)
        assert loaded.request(r.id) == r
        assert len(loaded.outbox()) == 1

    def test_every_part_of_a_unit_of_work_is_written(self, loaded: Storage) -> None:
        r = make_request()
        loaded.apply(submit_changes(r))
        new, cs = transition(r, Event.SCHEDULE, date=T0 + timedelta(1))
        d1 = loaded.tenant("d1")
        assert d1 is not None
        renamed = attrs.evolve(d1, name="Renamed District")
        loaded.apply(cs + ChangeSet(tenants=(renamed,)))
        assert loaded.request(r.id) == new
        assert loaded.history(r.id) == [submitted(r), cs.history[0]]
        assert {o.key for o in loaded.outbox(request_id=r.id)} == {f"{r.id}:1", f"{r.id}:2"}
        assert loaded.tenant("d1") == renamed

    def test_a_batch_that_breaks_an_invariant_writes_nothing_and_names_the_request(
        self, loaded: Storage
    ) -> None:
        first = make_request(version="E.1505.2", target="staging")
        second = make_request(version="E.1505.2", target="staging")  # the same site (R17)
        other = [make_request() for _ in range(3)]
        batch = ChangeSet.concat([submit_changes(r) for r in (*other, first, second)])
        with pytest.raises(ConflictError, match=second.id):
            loaded.apply(batch)
        assert all(loaded.request(r.id) is None for r in (*other, first, second))
        loaded.apply(ChangeSet.concat([submit_changes(r) for r in (*other, first)]))
        assert all(loaded.request(r.id) is not None for r in (*other, first))

    def test_an_idempotency_key_is_used_once_per_contact(self, loaded: Storage) -> None:
        a = make_request(idempotency_key="same")
        loaded.apply(submit_changes(a))
        b = make_request(idempotency_key="same")
        with pytest.raises(DuplicateKey):
            loaded.apply(submit_changes(b))
        assert loaded.request(b.id) is None
        assert loaded.by_idempotency_key("dana", "same") == a
        assert loaded.by_idempotency_key("sam", "same") is None
        other = make_request(idempotency_key="same", requested_by="sam")
        loaded.apply(submit_changes(other))
        assert loaded.by_idempotency_key("sam", "same") == other

    # -- queries ---------------------------------------------------------------------

    def test_lists_are_newest_first_paginated_and_filtered(self, loaded: Storage) -> None:
        made = []
        statuses = [Status.TO_BE_SCHEDULED, Status.COMPLETED, Status.CANCELLED, Status.DELETED]
        for i in range(12):
            r = make_request(
                requested_at=T0 + timedelta(minutes=i), status=statuses[i % 4], revision=1
            )
            loaded.apply(ChangeSet(inserts=(r,)))
            made.append(r)
        loaded.apply(ChangeSet(inserts=(make_request("d3"),)))
        hidden = [Status.CANCELLED, Status.DELETED]
        page = loaded.requests_for("d1", exclude=hidden, limit=4)
        visible = [r for r in reversed(made) if r.status not in hidden]
        assert page.total == 6
        assert list(page.items) == visible[:4]
        rest = loaded.requests_for("d1", exclude=hidden, offset=4, limit=4)
        assert list(rest.items) == visible[4:]
        hide_complete = loaded.requests_for("d1", exclude=[*hidden, Status.COMPLETED])
        assert {r.status for r in hide_complete.items} == {Status.TO_BE_SCHEDULED}
        only = loaded.requests_for("d1", statuses=[Status.COMPLETED])
        assert only.total == 3

    def test_the_queue_is_first_come_first_served(self, loaded: Storage) -> None:
        late = make_request(requested_at=T0 + timedelta(hours=2))
        early = make_request(requested_at=T0)
        same_time = make_request(requested_at=T0, id="req-000000")
        done = make_request(requested_at=T0 - timedelta(1), status=Status.SCHEDULED)
        for r in (late, early, same_time, done):
            loaded.apply(ChangeSet(inserts=(r,)))
        queue = loaded.requests_in([Status.TO_BE_SCHEDULED])
        assert [r.id for r in queue] == [same_time.id, early.id, late.id]
        assert len(loaded.requests_in([Status.TO_BE_SCHEDULED], limit=2)) == 2
        both = loaded.requests_in([Status.TO_BE_SCHEDULED, Status.SCHEDULED])
        assert both[0] == done

    def test_tenants_are_read_by_id_and_a_tenants_requests_without_a_count(
        self, loaded: Storage
    ) -> None:
        every = {t.id: t for t in loaded.tenants()}
        assert len(every) >= 2
        some = sorted(every)[:2]
        assert loaded.tenants_by_id([*reversed(some), "no-such-tenant"]) == [
            every[t] for t in some
        ]
        assert loaded.tenants_by_id([]) == []
        older = make_request(requested_at=T0)
        newer = make_request(requested_at=T0 + timedelta(minutes=1))
        done = make_request(requested_at=T0 + timedelta(minutes=2), status=Status.COMPLETED)
        loaded.apply(ChangeSet(inserts=(older, newer, done)))
        listed = loaded.tenant_requests(older.tenant_id, [Status.TO_BE_SCHEDULED])
        assert [r.id for r in listed] == [newer.id, older.id]
        assert loaded.tenant_requests(older.tenant_id, []) == []

    def test_queue_pages_say_whether_more_follow_and_go_on_after_a_request(
        self, loaded: Storage
    ) -> None:
        made = [make_request(requested_at=T0 + timedelta(minutes=i)) for i in range(5)]
        loaded.apply(ChangeSet(inserts=tuple(made)))
        queued = [Status.TO_BE_SCHEDULED]
        first = loaded.page_in(queued, limit=2)
        assert [r.id for r in first] == [made[0].id, made[1].id]
        assert first.more and first.exact and first.total == 5
        second = loaded.page_in(queued, limit=2, after=first[-1].id)
        assert [r.id for r in second] == [made[2].id, made[3].id] and second.more
        # A keyset page goes on from where its request stands, even once it left the queue.
        _booked, step = transition(second[-1], Event.SCHEDULE, date=T0 + timedelta(days=3))
        loaded.apply(step)
        last = loaded.page_in(queued, limit=2, after=second[-1].id)
        assert [r.id for r in last] == [made[4].id] and not last.more
        whole = loaded.page_in(queued, limit=10)
        assert len(whole) == 4 and not whole.more and whole.total == 4 and whole.exact
        beyond = loaded.page_in(queued, offset=10, limit=10)
        assert len(beyond) == 0 and not beyond.more and beyond.total == 4
        assert len(loaded.page_in(queued, after="no-such-request")) == 0

    def test_outbox_claims_lease_each_due_item_to_one_deliverer(self, loaded: Storage) -> None:
        r = make_request()
        loaded.apply(submit_changes(r, key="k1"))
        loaded.apply(ChangeSet(outbox=(notice_item(r.id, "k2", T0 + timedelta(seconds=1)),)))
        first = loaded.claim_outbox("d1", T0, 30, limit=1)
        assert [o.key for o in first] == ["k1"]
        assert first[0].lease_owner == "d1" and first[0].claims == 1
        assert first[0].lease_expires == T0 + timedelta(seconds=30)
        second = loaded.claim_outbox("d2", T0, 30, limit=10)
        assert [o.key for o in second] == ["k2"]
        assert loaded.claim_outbox("d3", T0 + timedelta(seconds=10), 30) == []
        assert loaded.outbox_due(T0) == []
        # d1 keeps its claim alive; d2's lapses and d3 takes the item over.
        assert loaded.renew_outbox("d1", first, T0 + timedelta(seconds=60)) == [first[0].id]
        [taken] = loaded.claim_outbox("d3", T0 + timedelta(seconds=31), 30)
        assert taken.key == "k2" and taken.claims == 2
        # d2's late outcome is refused (fenced); d3's is stored and logged.
        late = attrs.evolve(second[0], state=OutboxState.DELIVERED, attempts=1, delivered_at=T0)
        assert not loaded.settle_outbox(late, event="delivered", by="d2", at=T0)
        assert loaded.renew_outbox("d2", second, T0 + timedelta(hours=1)) == []
        done = attrs.evolve(taken, state=OutboxState.DELIVERED, attempts=1, delivered_at=T0)
        assert loaded.settle_outbox(done, event="delivered", by="d3", at=T0)
        [stored] = loaded.outbox(state=OutboxState.DELIVERED)
        assert stored.key == "k2" and stored.lease_owner is None and stored.claims == 2
        assert [(e.event, e.by) for e in loaded.outbox_log(stored.id)] == [("delivered", "d3")]

    def test_dead_outbox_items_are_requeued_and_logged(self, loaded: Storage) -> None:
        r = make_request()
        loaded.apply(submit_changes(r, key="k1"))
        [item] = loaded.claim_outbox("d1", T0, 30)
        dead = attrs.evolve(
            item, state=OutboxState.DEAD, attempts=1, last_error="550 no such user"
        )
        assert loaded.settle_outbox(dead, event="dead", by="d1", at=T0)
        assert loaded.outbox_due(T0 + timedelta(days=1)) == []
        assert loaded.requeue_outbox(["nope"], by="ops", at=T0) == []
        [again] = loaded.requeue_outbox(dead=True, by="ops", at=T0 + timedelta(hours=1))
        assert again.state is OutboxState.PENDING and again.attempts == 0
        assert loaded.outbox_due(T0 + timedelta(hours=1)) == [again]
        log = loaded.outbox_log(item.id)
        assert [(e.event, e.by) for e in log] == [("dead", "d1"), ("requeued", "ops")]
        assert log[1].detail == "550 no such user"

    def test_a_change_withdraws_the_pending_reminders_of_its_request(
        self, loaded: Storage
    ) -> None:
        r = make_request()
        loaded.apply(submit_changes(r, key="k1"))
        remind = attrs.evolve(
            notice_item(r.id, "k1-remind"), kind="reminder", next_attempt_at=T0 + timedelta(days=1)
        )
        loaded.apply(ChangeSet(outbox=(remind,)))
        _, cs = transition(r, Event.SCHEDULE, date=T0 + timedelta(days=3))
        fresh = attrs.evolve(notice_item(r.id, "k2-remind"), kind="reminder")
        loaded.apply(attrs.evolve(cs, outbox=(*cs.outbox, fresh), withdraw=(r.id,)))
        states = {o.key: o.state for o in loaded.outbox(request_id=r.id)}
        assert states["k1-remind"] is OutboxState.WITHDRAWN
        assert states["k2-remind"] is OutboxState.PENDING  # written by the same change
        assert states["k1"] is OutboxState.PENDING  # only reminders are withdrawn

    # -- hosting workers ----------------------------------------------------------------

    def _booked(self, storage: Storage, when: datetime, **kw: Any) -> UpdateRequest:
        r = make_request(**kw)
        storage.apply(submit_changes(r))
        new, cs = transition(r, Event.SCHEDULE, date=when)
        storage.apply(cs)
        return new

    def test_a_claim_pulls_due_requests_once_with_a_lease(self, loaded: Storage) -> None:
        due = self._booked(loaded, T0 - timedelta(hours=1))
        later = self._booked(loaded, T0 + timedelta(hours=1))
        [claim] = loaded.claim("w1", T0, 60, limit=5)
        assert claim.request.id == due.id and claim.request.status is Status.NOT_STARTED
        assert claim.lease == Lease("w1", T0 + timedelta(seconds=60), 1)
        assert loaded.lease(due.id) == claim.lease
        assert loaded.request(due.id) == claim.request
        assert loaded.history(due.id)[-1] == claim.entry
        assert claim.entry.event is Event.PULL and claim.entry.by == "w1"
        assert loaded.claim("w2", T0, 60) == []
        assert loaded.lease(later.id) is None

    def test_claims_follow_the_scheduled_order(self, loaded: Storage) -> None:
        b = self._booked(loaded, T0 - timedelta(hours=1))
        a = self._booked(loaded, T0 - timedelta(hours=2))
        got = [c.request.id for c in loaded.claim("w", T0, 60, limit=1)]
        got += [c.request.id for c in loaded.claim("w", T0, 60, limit=1)]
        assert got == [a.id, b.id]

    def test_an_expired_lease_is_taken_over_before_due_requests(self, loaded: Storage) -> None:
        started = self._booked(loaded, T0 - timedelta(hours=2))
        [first] = loaded.claim("w1", T0 - timedelta(hours=1), 30)
        assert first.request.id == started.id
        earlier = self._booked(loaded, T0 - timedelta(hours=3))  # due before it, not begun
        got = loaded.claim("w2", T0, 60, limit=1)
        assert [c.request.id for c in got] == [started.id]
        assert got[0].entry.event is Event.RECLAIM
        both = loaded.claim("w3", T0 + timedelta(hours=1), 60, limit=5)
        assert [c.request.id for c in both] == [started.id, earlier.id]
        assert [c.entry.event for c in both] == [Event.RECLAIM, Event.PULL]

    def test_an_expired_lease_is_taken_over_and_the_old_worker_is_fenced_out(
        self, loaded: Storage
    ) -> None:
        r = self._booked(loaded, T0)
        [first] = loaded.claim("w1", T0, 30)
        started, entry = apply_event(first.request, Event.START, actor=Actor.PROVIDER, by="w1",
                                     at=T0)  # fmt: skip
        loaded.apply(ChangeSet(updates=((started, first.request.revision),), history=(entry,),
                               fences=(first.fence,)))  # fmt: skip
        assert loaded.claim("w2", T0 + timedelta(seconds=10), 30) == []
        [second] = loaded.claim("w2", T0 + timedelta(seconds=31), 30)
        assert second.lease.attempts == 2 and second.entry.event is Event.RECLAIM
        assert "w1" in (second.entry.reason or "")
        assert second.request.status is Status.NOT_STARTED
        done, e2 = apply_event(started, Event.COMPLETE, actor=Actor.PROVIDER, by="w1", at=T0)
        with pytest.raises(LeaseLost):
            loaded.apply(ChangeSet(updates=((done, second.request.revision),), history=(e2,),
                                   fences=(first.fence,)))  # fmt: skip
        assert loaded.request(r.id) == second.request
        assert not loaded.renew(first.fence, T0 + timedelta(hours=1))
        assert loaded.renew(second.fence, T0 + timedelta(hours=1))
        lease = loaded.lease(r.id)
        assert lease is not None and lease.expires == T0 + timedelta(hours=1)

    def test_a_released_lease_keeps_the_attempt_count(self, loaded: Storage) -> None:
        r = self._booked(loaded, T0)
        [c] = loaded.claim("w1", T0, 30)
        back, entry = apply_event(c.request, Event.RELEASE, actor=Actor.PROVIDER, by="w1", at=T0)
        loaded.apply(ChangeSet(updates=((back, c.request.revision),), history=(entry,),
                               fences=(c.fence,), release=(r.id,)))  # fmt: skip
        assert loaded.lease(r.id) is None
        [again] = loaded.claim("w2", T0, 30)
        assert again.lease.attempts == 2 and again.entry.event is Event.PULL


def broken_storage(base: Callable[[], Storage], drop: str) -> Storage:
    """A storage that silently drops one part (``history``, ``outbox``...) of each change set.

    Used to show that the contract suite catches such a backend.
    """
    inner = base()

    class Dropping(type(inner)):  # type: ignore[misc]
        def apply(self, changes: ChangeSet) -> None:
            super().apply(attrs.evolve(changes, **{drop: ()}))

    inner.__class__ = Dropping
    return inner


# -- invariants under real concurrency ----------------------------------------------------

#: How many synchronised rounds each race runs.
RACE_ROUNDS = 40


def _open_desk(url: str, plugins: Tuple[str, ...]) -> Any:
    from siteupdates.plugins import load_plugin
    from siteupdates.service import Desk

    return Desk.open(url, plugins=[load_plugin(p) for p in plugins], clock=FixedClock())


def _race_submitter(
    url: str, plugins: Tuple[str, ...], index: int, version: str, rounds: int,
    barrier: Any, results: Any,
) -> None:  # fmt: skip
    """One submitting process of the R17 race of :class:`RaceContract`."""
    from siteupdates.errors import RequestRefused

    desk = _open_desk(url, plugins)
    try:
        for n in range(rounds):
            barrier.wait(timeout=60)
            try:
                sub = desk.submit(
                    "dana",
                    "d1",
                    "staging",
                    version,
                    at=datetime(2026, 3, 7, 22),
                    idempotency_key=f"race-{index}-{n}",
                )
                outcome = "superseded" if sub.superseded else "accepted"
            except RequestRefused as exc:
                outcome = "refused " + ",".join(exc.rules)
            except ConflictError:
                outcome = "conflict"
            barrier.wait(timeout=60)
            if index == 0:
                still_open = desk.storage.open_version_updates("d1", Target.STAGING)
                results.put((n, outcome, len(still_open)))
                for r in still_open:
                    desk.cancel("dana", r.id)
            else:
                results.put((n, outcome, None))
            barrier.wait(timeout=60)
    finally:
        desk.close()


def _race_inserter(
    url: str, plugins: Tuple[str, ...], index: int, rounds: int, barrier: Any, results: Any
) -> None:
    """Writes a second open version update straight through the storage, no lock, no check."""
    desk = _open_desk(url, plugins)
    try:
        for n in range(rounds):
            r = make_request(
                id=f"race-{n}-{index}",
                version="E.1505.2",
                db_refresh=False,
                target="preview",
                tenant_id="d1",
            )
            barrier.wait(timeout=60)
            try:
                desk.storage.apply(submit_changes(r, key=f"race-{n}-{index}"))
                results.put((n, "written"))
            except ConflictError:
                results.put((n, "conflict"))
            barrier.wait(timeout=60)
    finally:
        desk.close()


def _race_cloud_week(
    url: str, plugins: Tuple[str, ...], index: int, rounds: int, barrier: Any, results: Any
) -> None:
    """Books one week's automatic updates, at the same moment as the other process."""
    desk = _open_desk(url, plugins)
    try:
        for n in range(rounds):
            barrier.wait(timeout=60)
            made = desk.cloud_week(date(2026, 4, 6) + timedelta(weeks=n), by=f"ops-{index}")
            results.put((n, [r.id for r in made]))
            barrier.wait(timeout=60)
            if index == 0:
                for rid in {r.id for r in made} | {
                    r.id
                    for r in desk.storage.open_version_updates("d3", Target.PRODUCTION_SANDBOX)
                }:
                    desk.fail(rid, "race test: clear the week")
            barrier.wait(timeout=60)
    finally:
        desk.close()


#: Where the contact moves the preferred start to, round by round (a Saturday night, local).
def _moved_to(n: int) -> datetime:
    return datetime(2026, 3, 14, 22) + timedelta(weeks=n % 20)


def _race_move_or_plan(
    url: str, plugins: Tuple[str, ...], index: int, rounds: int, barrier: Any, results: Any
) -> None:
    """Process 0 is a contact moving their request; process 1 the provider planning the queue.

    Each round the contact submits one request, both are released together, and
    then process 0 reads what was stored: the move must not be lost (the
    preferred start is the moved one), the history is one gap-free chain whose
    last entry is the request's state, and a provider date exists exactly in a
    status that has one. The request is cancelled to free its slot.
    """
    from siteupdates.domain import holds_date
    from siteupdates.errors import RequestRefused

    desk = _open_desk(url, plugins)
    try:
        for n in range(rounds):
            rid = ""
            if index == 0:
                rid = desk.submit(
                    "dana", "d1", "staging", None, db_refresh=True, at=datetime(2026, 3, 7, 22),
                    idempotency_key=f"move-{n}",
                ).request.id  # fmt: skip
            barrier.wait(timeout=60)
            outcome = ""
            try:
                if index == 0:
                    moved = desk.move("dana", rid, at=_moved_to(n))
                    outcome = "moved after the plan" if moved.revision > 2 else "moved first"
                else:
                    run = desk.plan_queue(by="planner")
                    outcome = f"planned {len(run.stored)}"
            except (ConflictError, RequestRefused) as exc:
                outcome = f"lost: {type(exc).__name__}"
            barrier.wait(timeout=60)
            if index == 0:
                r = desk.storage.request(rid)
                history = desk.history(rid)
                want = desk.submit(
                    "dana", "d1", "staging", None, db_refresh=True, at=_moved_to(n),
                    idempotency_key=f"probe-{n}",
                ).request.preferred_start  # fmt: skip
                desk.cancel("dana", desk.storage.by_idempotency_key("dana", f"probe-{n}").id)
                chain = [h.seq for h in history] == list(range(1, len(history) + 1)) and all(
                    b.from_status is a.to_status for a, b in zip(history, history[1:])
                )
                results.put(
                    (
                        n,
                        outcome,
                        r is not None and r.preferred_start == want,
                        r is not None and chain and r.revision == len(history)
                        and history[-1].to_status is r.status,
                        r is not None
                        and (r.scheduled_for is not None) == holds_date(r.status, r.resume_status),
                    )
                )  # fmt: skip
                desk.cancel("dana", rid)
            else:
                results.put((n, outcome, None, None, None))
            barrier.wait(timeout=60)
    finally:
        desk.close()


def _reference_of_round(n: int) -> Setup:
    """The reference data process 1 stores in round ``n``: d1's preview and Dana's zone flip."""
    base = sample_setup()
    d1 = base.tenants[0]
    sites = d1.sites + ((Site("preview", "E.1418.2", T0),) if n % 2 == 0 else ())
    zone = "Europe/Berlin" if n % 2 == 0 else "America/Chicago"
    return Setup(
        tenants=(attrs.evolve(d1, sites=sites),),
        contacts=(attrs.evolve(base.contacts[0], zone=zone),),
    )


def _race_reference(
    url: str, plugins: Tuple[str, ...], index: int, rounds: int, barrier: Any, results: Any
) -> None:
    """Process 0 submits round after round on one desk; process 1 changes the reference data.

    Each round process 1 adds or removes d1's preview site and moves Dana's zone;
    process 0's next submits must see the change: a preview refresh accepted
    or refused (R3), and the request's zone the contact's new one.
    """
    from siteupdates.errors import RequestRefused

    desk = _open_desk(url, plugins)
    try:
        for n in range(rounds):
            barrier.wait(timeout=60)
            if index == 1:
                desk.load_setup(_reference_of_round(n))
                results.put((n, None, None))
            barrier.wait(timeout=60)
            if index == 0:
                at = datetime(2026, 3, 7, 22)
                zone = desk.submit("dana", "d1", "staging", None, db_refresh=True, at=at)
                try:
                    desk.submit("dana", "d1", "preview", None, db_refresh=True, at=at)
                    preview = "accepted"
                except RequestRefused as exc:
                    preview = "refused " + ",".join(exc.rules)
                results.put((n, preview, zone.request.zone))
            barrier.wait(timeout=60)
    finally:
        desk.close()


def _run_race(target: Callable[..., None], args: Callable[[int], Tuple[Any, ...]],
              rounds: int) -> List[Any]:  # fmt: skip
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args(i), barrier, results)) for i in range(2)]
    for p in procs:
        p.start()
    found = [results.get(timeout=300) for _ in range(2 * rounds)]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0, f"a racing process failed (exit {p.exitcode})"
    return found


class RaceContract:
    """Invariants that must hold when two OS processes race on one store.

    Subclasses provide ``race_url`` (a storage URL, fresh and empty, that two
    processes can open) and may override ``race_plugins`` (plugin specs each
    process loads, such as ``("siteupdates_postgres",)``). Each test runs
    :data:`RACE_ROUNDS` rounds, both processes released together by a barrier.
    """

    race_plugins: Tuple[str, ...] = ()

    @pytest.fixture
    def race_url(self) -> str:
        """Override: the URL of a fresh, empty storage."""
        raise NotImplementedError("provide a 'race_url' fixture")

    @pytest.fixture
    def race_desk(self, race_url: str) -> Iterator[Any]:
        """A desk on the storage with :func:`sample_setup` stored."""
        desk = _open_desk(race_url, self.race_plugins)
        desk.provider.load_setup(sample_setup())
        yield desk
        desk.close()

    def test_r17_racing_submits_leave_one_open_version_update(
        self, race_url: str, race_desk: Any
    ) -> None:
        versions = ("E.1450.4", "E.1505.2")
        found = _run_race(
            _race_submitter,
            lambda i: (race_url, self.race_plugins, i, versions[i], RACE_ROUNDS),
            RACE_ROUNDS,
        )
        counts = [c for _, _, c in found if c is not None]
        outcomes = sorted(o for _, o, _ in found)
        assert len(counts) == RACE_ROUNDS
        assert counts == [1] * RACE_ROUNDS, f"rounds with other than one open: {counts}"
        # Each round: the newer stands; the older was refused (R17) or superseded.
        assert "conflict" not in outcomes
        assert set(outcomes) <= {"accepted", "superseded", "refused R17"}
        assert sum(1 for _, o, _ in found if o in ("accepted", "superseded")) >= RACE_ROUNDS

    def test_reference_data_another_process_changes_is_seen_by_the_next_submit(
        self, race_url: str, race_desk: Any
    ) -> None:
        rounds = RACE_ROUNDS // 2
        found = _run_race(
            _race_reference, lambda i: (race_url, self.race_plugins, i, rounds), rounds
        )
        seen = sorted((n, p, z) for n, p, z in found if p is not None)
        assert seen == [
            (n, "accepted", "Europe/Berlin") if n % 2 == 0
            else (n, "refused R3", "America/Chicago")
            for n in range(rounds)
        ]  # fmt: skip

    def test_the_store_refuses_a_second_open_version_update_without_any_lock(
        self, race_url: str, race_desk: Any
    ) -> None:
        found = _run_race(
            _race_inserter, lambda i: (race_url, self.race_plugins, i, RACE_ROUNDS), RACE_ROUNDS
        )
        by_round: Dict[int, List[str]] = {}
        for n, outcome in found:
            by_round.setdefault(n, []).append(outcome)
        # The first round writes one; every later round finds that one still open.
        assert sorted(by_round[0]) == ["conflict", "written"]
        assert all(v == ["conflict", "conflict"] for n, v in by_round.items() if n > 0)
        assert len(race_desk.storage.open_version_updates("d1", Target.PREVIEW)) == 1

    def test_r13_a_contact_moving_while_the_provider_plans_loses_no_update(
        self, race_url: str, race_desk: Any
    ) -> None:
        found = _run_race(
            _race_move_or_plan, lambda i: (race_url, self.race_plugins, i, RACE_ROUNDS),
            RACE_ROUNDS,
        )  # fmt: skip
        contact = [f for f in found if f[2] is not None]
        assert len(contact) == RACE_ROUNDS
        assert not [f for f in found if f[1].startswith("lost")], found
        assert all(kept for _, _, kept, _, _ in contact), "a move was lost"
        assert all(chain for _, _, _, chain, _ in contact), "a history is not one chain"
        assert all(dated for _, _, _, _, dated in contact), "a date outside a dated status"

    def test_r8_racing_weekly_bookings_book_each_tenant_once_a_week(
        self, race_url: str, race_desk: Any
    ) -> None:
        found = _run_race(
            _race_cloud_week,
            lambda i: (race_url, self.race_plugins, i, RACE_ROUNDS),
            RACE_ROUNDS,
        )
        by_round: Dict[int, List[str]] = {}
        for n, made in found:
            by_round.setdefault(n, []).extend(made)
        assert [len(by_round[n]) for n in range(RACE_ROUNDS)] == [1] * RACE_ROUNDS


__all__ += ["RACE_ROUNDS", "HistoryEntry", "RaceContract", "broken_storage", "make_request"]


# -- notifiers --------------------------------------------------------------------------


@attrs.frozen
class Received:
    """What a person at the other end of a notifier's channel got."""

    key: str
    to: str
    subject: str
    body: str


def sample_notice(key: str = "r1:1:accepted", **changes: Any) -> Notice:
    """A notice to a contact whose name needs RFC 2047 and whose text is not ASCII."""
    base = Notice(
        key=key,
        kind="accepted",
        request_id="r1",
        tenant_id="d1",
        contact_id="dana",
        email="dana@d1.example",
        subject="Request accepted: Example District, request r1",
        body="Hello Dana Müller,\n\nExample District: update of staging to E.1505.2.\n"
        "Preferred start: Mar. 7, 2026 at 10:00 PM CST — « ok ».",
        created_at=T0,
        contact_name="Dana Müller",
    )
    return attrs.evolve(base, **changes)


class NotifierContract:
    """The behaviour every notifier plugin must have (like :class:`StorageContract`).

    Subclass it in your plugin's tests and provide fixtures:

    * ``notifier``: the plugin object, ready to deliver;
    * ``received``: a callable returning what the channel got so far, as
      :class:`Received` values (read the mailbox, the log, the chat);
    * optionally ``permanent_failure`` and ``temporary_failure``: callables
      returning a context manager inside which the channel refuses every notice
      for good (an unknown mailbox) or for now (the server is down). Tests that
      need one are skipped when it is None.
    """

    @pytest.fixture
    def notifier(self) -> Any:
        """Override: the notifier plugin under test."""
        raise NotImplementedError("provide a notifier fixture")

    @pytest.fixture
    def received(self) -> Callable[[], List[Received]]:
        """Override: a function that lists what the notifier's channel received."""
        raise NotImplementedError("provide a received fixture")

    @pytest.fixture
    def permanent_failure(self) -> Optional[Callable[[], AbstractContextManager[Any]]]:
        """Override: a context in which the channel fails permanently (None: it cannot)."""
        return None

    @pytest.fixture
    def temporary_failure(self) -> Optional[Callable[[], AbstractContextManager[Any]]]:
        """Override: a context in which the channel fails for now (None: it cannot)."""
        return None

    @staticmethod
    def deliver(notifier: Any, notice: Notice, attempt: Optional[DeliveryAttempt] = None) -> bool:
        """Deliver through a host that has only ``notifier`` (the built-in ones blocked)."""
        from siteupdates.plugins import PluginHost

        host = PluginHost(
            plugins=[notifier], blocked=["siteupdates.notify.log", "siteupdates.notify.smtp"]
        )
        return host.deliver_notice(notice, attempt or DeliveryAttempt(notice.key))

    def test_a_notice_reaches_the_contact_by_name_with_its_text(
        self, notifier: Any, received: Callable[[], List[Received]]
    ) -> None:
        notice = sample_notice()
        assert self.deliver(notifier, notice) is True
        [got] = received()
        assert got.key == notice.key
        assert "dana@d1.example" in got.to and "Dana Müller" in got.to
        assert got.subject == notice.subject
        assert "« ok »" in got.body and "Hello Dana Müller" in got.body

    def test_a_given_up_attempt_sends_nothing(
        self, notifier: Any, received: Callable[[], List[Received]]
    ) -> None:
        attempt = DeliveryAttempt("r1:1:accepted", 30)
        assert attempt.cancel("the dispatcher gave up")
        with pytest.raises(AttemptCancelled):
            self.deliver(notifier, sample_notice(), attempt)
        assert received() == []

    def test_an_attempt_whose_claim_was_lost_sends_nothing(
        self, notifier: Any, received: Callable[[], List[Received]]
    ) -> None:
        attempt = DeliveryAttempt("r1:1:accepted", 30, check_claim=lambda: False)
        with pytest.raises(AttemptCancelled):
            self.deliver(notifier, sample_notice(), attempt)
        assert received() == []

    def test_a_notice_sent_again_carries_the_same_key(
        self, notifier: Any, received: Callable[[], List[Received]]
    ) -> None:
        notice = sample_notice()
        self.deliver(notifier, notice)
        self.deliver(notifier, notice)
        assert [r.key for r in received()] == [notice.key, notice.key]

    def test_a_permanent_failure_is_reported_as_permanent(
        self,
        notifier: Any,
        received: Callable[[], List[Received]],
        permanent_failure: Optional[Callable[[], AbstractContextManager[Any]]],
    ) -> None:
        if permanent_failure is None:
            pytest.skip("this channel cannot fail permanently")
        with permanent_failure(), pytest.raises(PermanentDeliveryError) as info:
            self.deliver(notifier, sample_notice())
        assert info.value.reason
        assert received() == []

    def test_a_temporary_failure_is_not_reported_as_permanent(
        self,
        notifier: Any,
        received: Callable[[], List[Received]],
        temporary_failure: Optional[Callable[[], AbstractContextManager[Any]]],
    ) -> None:
        if temporary_failure is None:
            pytest.skip("this channel cannot fail temporarily")
        with temporary_failure(), pytest.raises(Exception) as info:
            self.deliver(notifier, sample_notice())
        assert not isinstance(info.value, PermanentDeliveryError)
        assert isinstance(info.value, (TemporaryDeliveryError, OSError)) or not isinstance(
            info.value, DeliveryError
        )
        assert received() == []


# -- calendars --------------------------------------------------------------------------


@attrs.frozen
class Published:
    """One event as a calendar backend holds it, read back through the backend's own channel."""

    request_id: str
    summary: str
    start: datetime
    end: datetime
    cancelled: bool = False


#: Summaries that broke hand-written calendar files: line breaks that try to open a
#: new event, separators of the format, characters outside the Basic Multilingual
#: Plane, control characters. (No backslashes: older iCalendar readers garble them.)
HOSTILE_SUMMARIES: Tuple[str, ...] = (
    "Pine\rEND:VEVENT\rBEGIN:VEVENT\rUID:x@siteupdates",
    "Oak\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART:20260101T000000Z",
    "a\nb;c,d:e",
    "\U0001f600 \U0001d11e Élève",
    "\x00\x1b\x7f",
    "x" * 300,
)


def calendar_entry(
    request_id: str = "r1",
    action: str = "publish",
    *,
    key: Optional[str] = None,
    summary: str = "Example District: update of staging to E.1505.2",
    start: Optional[datetime] = T0,
    hours: float = 2,
) -> CalendarEntry:
    """A calendar entry as the outbox hands it to a calendar backend."""
    end = None if start is None else start + timedelta(hours=hours)
    if action == "withdraw":
        start = end = None
    return CalendarEntry(
        key=key or f"{request_id}:{action}:{start}",
        action=action,
        request_id=request_id,
        tenant_id="d1",
        summary=summary,
        start=start,
        end=end,
    )


class CalendarContract:
    """The behaviour every calendar backend must have (like :class:`NotifierContract`).

    Subclass it in your plugin's tests and provide fixtures:

    * ``calendar``: the plugin object, implementing ``siteupdates_calendar_update``,
      on a fresh, empty calendar;
    * ``published``: a callable returning what the calendar holds now, as
      :class:`Published` values, read through the backend (the file, the server).

    Override :meth:`expected_summary` when the format cannot carry some text as
    given (iCalendar has no carriage return: it reads back as a line feed).
    """

    @pytest.fixture
    def calendar(self) -> Any:
        """Override: the calendar plugin under test."""
        raise NotImplementedError("provide a calendar fixture")

    @pytest.fixture
    def published(self) -> Callable[[], List[Published]]:
        """Override: a function that reads back what the calendar publishes."""
        raise NotImplementedError("provide a published fixture")

    def expected_summary(self, summary: str) -> str:
        """The summary as the backend reads it back (the text itself by default)."""
        return summary

    @staticmethod
    def update(calendar: Any, entry: CalendarEntry) -> None:
        """Hand ``entry`` to the backend, as the outbox's delivery does."""
        calendar.siteupdates_calendar_update(entry=entry)

    @staticmethod
    def active(found: List[Published]) -> Dict[str, Published]:
        """The events that are not cancelled, by request ID (one each, or the test fails)."""
        live = [p for p in found if not p.cancelled]
        ids = [p.request_id for p in live]
        assert len(ids) == len(set(ids)), f"more than one live event for a request: {ids}"
        return {p.request_id: p for p in live}

    def test_a_published_update_is_one_event_with_its_dates(
        self, calendar: Any, published: Callable[[], List[Published]]
    ) -> None:
        entry = calendar_entry()
        self.update(calendar, entry)
        [event] = published()
        assert event.request_id == "r1" and not event.cancelled
        assert event.summary == self.expected_summary(entry.summary)
        assert (event.start, event.end) == (entry.start, entry.end)

    def test_the_same_entry_delivered_twice_is_one_event(
        self, calendar: Any, published: Callable[[], List[Published]]
    ) -> None:
        entry = calendar_entry()
        self.update(calendar, entry)
        first = published()
        self.update(calendar, entry)  # the outbox delivers at least once
        assert published() == first and len(first) == 1

    def test_a_move_changes_the_one_event_of_the_request(
        self, calendar: Any, published: Callable[[], List[Published]]
    ) -> None:
        self.update(calendar, calendar_entry())
        for days in (7, 14):
            later = T0 + timedelta(days=days)
            moved = calendar_entry(action="move", start=later, summary=f"moved {days}")
            self.update(calendar, moved)
            self.update(calendar, moved)
            live = self.active(published())
            assert list(live) == ["r1"]
            assert (live["r1"].start, live["r1"].end) == (later, later + timedelta(hours=2))
            assert live["r1"].summary == self.expected_summary(f"moved {days}")

    def test_a_withdrawn_update_leaves_no_live_event(
        self, calendar: Any, published: Callable[[], List[Published]]
    ) -> None:
        self.update(calendar, calendar_entry("r1"))
        self.update(calendar, calendar_entry("r2", start=T0 + timedelta(days=1)))
        withdraw = calendar_entry("r1", "withdraw")
        self.update(calendar, withdraw)
        self.update(calendar, withdraw)
        assert list(self.active(published())) == ["r2"]
        # Withdrawing what the calendar never had is not an error and adds nothing.
        self.update(calendar, calendar_entry("r9", "withdraw"))
        assert {p.request_id for p in published()} <= {"r1", "r2"}

    def test_a_move_after_a_withdrawal_of_another_request_touches_only_its_own(
        self, calendar: Any, published: Callable[[], List[Published]]
    ) -> None:
        self.update(calendar, calendar_entry("r1"))
        self.update(calendar, calendar_entry("r2"))
        self.update(calendar, calendar_entry("r2", "withdraw"))
        later = T0 + timedelta(days=3)
        self.update(calendar, calendar_entry("r1", "move", start=later))
        live = self.active(published())
        assert list(live) == ["r1"] and live["r1"].start == later

    @pytest.mark.parametrize("summary", HOSTILE_SUMMARIES)
    def test_a_hostile_summary_stays_text_in_one_event(
        self, calendar: Any, published: Callable[[], List[Published]], summary: str
    ) -> None:
        self.update(calendar, calendar_entry("r1", summary=summary))
        self.update(calendar, calendar_entry("r2", summary="plain"))
        live = self.active(published())
        assert sorted(live) == ["r1", "r2"], "the summary added or hid an event"
        assert live["r1"].summary == self.expected_summary(summary)
        assert live["r2"].summary == "plain"


__all__ += ["HOSTILE_SUMMARIES", "CalendarContract", "Published", "calendar_entry"]
