"""The storage contract: what every :class:`~siteupdates.ports.Storage` must do."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable, Iterator

import attrs
import pytest

from siteupdates.domain import (
    Actor,
    Catalog,
    Event,
    Site,
    Status,
    UpdateRequest,
    apply_event,
    submitted,
)
from siteupdates.errors import ConflictError, DuplicateKey, LeaseLost, SiteUpdatesError
from siteupdates.ports import (
    AuditEntry,
    ChangeSet,
    Lease,
    OutboxState,
    ReferenceChange,
    Setup,
    Storage,
)
from siteupdates.testing.support import (
    T0,
    UTC,
    ZoneAware,
    make_request,
    notice_item,
    sample_setup,
    submit_changes,
    transition,
)

__all__ = ["StorageContract", "broken_storage"]


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

    def test_a_contact_is_read_with_their_tenants_and_sites(self, loaded: Storage) -> None:
        sam = loaded.contact("sam")
        assert sam is not None and len(sam.tenants) == 2
        got = loaded.contact_tenants("sam")
        assert got is not None
        assert got == (sam, loaded.tenants_by_id(sorted(sam.tenants)))
        assert [t.id for t in got[1]] == sorted(sam.tenants)
        assert all(t.sites for t in got[1])
        # R22 holds in the read: a contact with no tenant sees none, an unknown one is None.
        loaded.save_setup(Setup(contacts=(attrs.evolve(sam, id="nobody", tenants=frozenset()),)))
        alone = loaded.contact_tenants("nobody")
        assert alone is not None and alone[1] == []
        assert loaded.contact_tenants("no-such-contact") is None

    def test_the_gadgets_read_gives_the_shown_tenants_requests_and_no_others(
        self, loaded: Storage
    ) -> None:
        older = make_request("d1", requested_at=T0)
        newer = make_request("d1", requested_at=T0 + timedelta(minutes=1))
        done = make_request("d1", requested_at=T0 + timedelta(minutes=2), status=Status.COMPLETED)
        other = make_request("d3", requested_at=T0)
        loaded.apply(ChangeSet(inserts=(older, newer, done, other)))
        queued = [Status.TO_BE_SCHEDULED]
        for who, wanted, shown in (
            ("dana", None, "d1"),  # their only tenant
            ("dana", "d1", "d1"),
            ("sam", None, None),  # several, none chosen: no requests read
            ("sam", "d1", "d1"),
            ("sam", "d3", "d3"),
            ("sam", "d2", None),  # not theirs (R22): nothing of it read
            ("sam", "no-such-tenant", None),
        ):
            got = loaded.contact_tenants_requests(who, wanted, queued)
            assert got is not None
            assert (got[0], got[1]) == loaded.contact_tenants(who), (who, wanted)
            expected = [] if shown is None else loaded.tenant_requests(shown, queued)
            assert got[2] == expected, (who, wanted)
        assert [r.id for r in loaded.tenant_requests("d1", queued)] == [newer.id, older.id]
        got = loaded.contact_tenants_requests(
            "dana", None, [Status.TO_BE_SCHEDULED, Status.COMPLETED]
        )
        assert got is not None and {r.id for r in got[2]} == {older.id, newer.id, done.id}
        got = loaded.contact_tenants_requests("dana", None, [])
        assert got is not None and got[2] == []
        assert loaded.contact_tenants_requests("no-such-contact", None, queued) is None
        assert loaded.contact_tenants_requests("no-such-contact", "d1", queued) is None

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
