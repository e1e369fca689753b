"""Delivering the outbox costs a fixed number of statements a notice (issue 24).

Counted on SQLite with the connection's trace, not timed: a batch is claimed
in one transaction of one SELECT and one UPDATE, whatever its size; each
notice is then settled in its own transaction (the outcome and its log row)
before the next is sent, so a deliverer killed at any moment has sent at
most the notice in hand without recording it. On PostgreSQL the settle and its
log row are one statement: three round trips (BEGIN, it, COMMIT).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import List

import attrs
import pytest

from siteupdates.app.outbox import Dispatcher
from siteupdates.builtin.sqlite import SqliteStorage
from siteupdates.plugins import PluginHost
from siteupdates.ports import OutboxState
from siteupdates.service import Desk
from siteupdates.testing import (
    FixedClock,
    RecordingNotifier,
    make_request,
    sample_notice,
    submit_changes,
)


def _kind(statement: str) -> str:
    words = statement.split()
    if words[0] in ("BEGIN", "COMMIT"):
        return words[0]
    if words[0] == "UPDATE" and "claims = claims + 1" in statement:
        return "claim UPDATE"
    return " ".join(words[:3])


def test_a_delivered_notice_costs_four_statements_and_a_batch_two_more(tmp_path: Path) -> None:
    storage = SqliteStorage(f"sqlite:///{tmp_path / 'outbox.db'}")
    for _ in range(10):
        r = make_request("d1", target="staging")
        [item] = submit_changes(r).outbox
        payload = sample_notice(f"{r.id}:1", request_id=r.id).to_payload()
        storage.apply(
            attrs.evolve(submit_changes(r), outbox=(attrs.evolve(item, payload=payload),))
        )
    notifier = RecordingNotifier()
    host = PluginHost(plugins=[notifier], entry_points=False)
    dispatcher = Dispatcher(storage, host, clock=FixedClock(), batch=4)
    seen: List[str] = []
    storage._db.set_trace_callback(seen.append)
    try:
        report = dispatcher.run_once()
    finally:
        storage._db.set_trace_callback(None)
    assert report.delivered == 10 and len(notifier.delivered) == 10
    # Three batches (4, 4, 2) and the claim that finds nothing left.
    assert Counter(_kind(s) for s in seen) == {
        "BEGIN": 3 + 1 + 10,
        "SELECT * FROM": 3 + 1,
        "claim UPDATE": 3,
        "UPDATE outbox SET": 10,  # the outcome, fenced by owner and claim count
        "INSERT INTO outbox_log": 10,
        "COMMIT": 3 + 1 + 10,
    }
    items = storage.outbox()
    assert {o.state for o in items} == {OutboxState.DELIVERED}
    assert {o.claims for o in items} == {1}  # each claimed once, in one statement per batch
    assert all([e.event for e in storage.outbox_log(o.id)] == ["delivered"] for o in items)
    storage.close()


@pytest.mark.postgres
def test_on_postgresql_a_settle_and_its_log_row_are_one_statement(pg_url: str) -> None:
    import siteupdates_postgres
    from tests.pgwire import Wire, round_trips

    t0 = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    with Desk.open(pg_url, plugins=[siteupdates_postgres], clock=lambda: t0) as desk:
        storage = desk.storage
        for key in ("k1", "k2"):
            storage.apply(submit_changes(make_request(), key=key))
        first, second = storage.claim_outbox("d1", t0, 30, limit=2)
        done = attrs.evolve(first, state=OutboxState.DELIVERED, attempts=1, delivered_at=t0)
        wire = Wire(desk)
        with wire.watch() as lines:
            assert storage.settle_outbox(done, event="delivered", by="d1", at=t0)
        assert round_trips(lines) == 3, "\n".join(lines)  # BEGIN; the statement; COMMIT
        assert [e.event for e in storage.outbox_log(first.id)] == ["delivered"]
        # A lost claim writes neither the outcome nor a log row.
        late = attrs.evolve(second, claims=0, state=OutboxState.DELIVERED, delivered_at=t0)
        assert not storage.settle_outbox(late, event="delivered", by="d1", at=t0)
        assert storage.outbox_log(second.id) == []
