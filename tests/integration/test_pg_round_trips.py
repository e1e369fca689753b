"""A submit on PostgreSQL waits on the server at most five times (issue 24).

Counted from libpq's own trace of the wire protocol, not timed: a round trip
is the client sending one or more messages and then reading the answer, so a
run of messages sent before reading (pipeline mode) counts once. The lock and
the reference counter go in one pipeline, the request, history and notice rows
in one statement.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator, Optional

import attrs
import pytest

from siteupdates import Desk
from siteupdates.domain import Catalog, Contact, Site, Tenant, UpdateRequest, submitted
from siteupdates.errors import ConflictError, DuplicateKey
from siteupdates.ports import ChangeSet, Setup
from tests.pgwire import Wire, round_trips

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
AT = datetime(2026, 3, 8, 22)


def _setup() -> Setup:
    sites = tuple(Site(k, "E.1450.4", T0) for k in ("production", "sandbox", "staging"))
    return Setup(
        tenants=(Tenant("t1", "Tenant 1", "asp", sites=sites),),
        contacts=(Contact("ops", "Ops", "ops@example.org", "partner", {"t1"}),),
        catalog=Catalog.of("E.1450.4", "E.1505.2"),
    )


@pytest.fixture
def pg_desk(pg_url: str) -> Iterator[Desk]:
    import siteupdates_postgres

    with Desk.open(pg_url, plugins=[siteupdates_postgres], clock=lambda: T0) as desk:
        desk.provider.load_setup(_setup())
        # The first submit decodes the contact, tenant and catalog once per counter value.
        desk.contact("ops").submit("t1", target="staging", version=None, db_refresh=True, at=AT)
        yield desk


def test_a_refresh_submit_is_four_round_trips(pg_desk: Desk) -> None:
    wire = Wire(pg_desk)
    with wire.watch() as lines:
        pg_desk.contact("ops").submit(
            "t1", target="production/sandbox", version=None, db_refresh=True, at=AT
        )
    # BEGIN; the lock with the counter after it; the three inserts; COMMIT.
    assert 0 < round_trips(lines) <= 4, "\n".join(lines)


def test_r17_a_version_submit_is_at_most_five_round_trips(pg_desk: Desk) -> None:
    wire = Wire(pg_desk)
    with wire.watch() as lines:
        done = pg_desk.contact("ops").submit(
            "t1", target="production/sandbox", version="E.1505.2", db_refresh=False, at=AT
        )
    # ... and the site's open version updates (R17), read under the lock.
    assert 0 < round_trips(lines) <= 5, "\n".join(lines)
    rows = pg_desk.storage.history(done.request.id)
    assert [h.to_status.value for h in rows] == ["to-be-scheduled"]
    notices = pg_desk.storage.outbox(request_id=done.request.id)
    assert notices and all(n.request_id == done.request.id for n in notices)


def _open_update(rid: str, key: Optional[str] = None) -> UpdateRequest:
    return UpdateRequest(rid, "t1", "production/sandbox", "E.1505.2", False, T0, "UTC", "ops",
                         T0, idempotency_key=key)  # fmt: skip


def test_r17_the_one_statement_insert_is_refused_by_the_one_open_version_index(
    pg_desk: Desk,
) -> None:
    storage = pg_desk.storage
    first = _open_update("first")
    storage.apply(ChangeSet(inserts=(first,), history=(submitted(first),)))
    second = _open_update("second")
    with pytest.raises(ConflictError, match="R17"):
        storage.apply(ChangeSet(inserts=(second,), history=(submitted(second),)))
    assert storage.request("second") is None and storage.history("second") == []


def test_a_duplicate_idempotency_key_in_the_one_statement_insert_is_duplicate_key(
    pg_desk: Desk,
) -> None:
    storage = pg_desk.storage
    first = _open_update("first", key="k-9")
    storage.apply(ChangeSet(inserts=(first,), history=(submitted(first),)))
    twin = attrs.evolve(_open_update("twin", key="k-9"), target="staging", version=None,
                        db_refresh=True)  # fmt: skip
    with pytest.raises(DuplicateKey):
        storage.apply(ChangeSet(inserts=(twin,), history=(submitted(twin),)))


def test_a_replayed_idempotency_key_is_one_request_with_the_one_statement_insert(
    pg_desk: Desk,
) -> None:
    contact = pg_desk.contact("ops")
    first = contact.submit("t1", target="staging", version=None, db_refresh=True, at=AT,
                           idempotency_key="k-1")  # fmt: skip
    again = contact.submit("t1", target="staging", version=None, db_refresh=True, at=AT,
                           idempotency_key="k-1")  # fmt: skip
    assert again.replayed and again.request.id == first.request.id
