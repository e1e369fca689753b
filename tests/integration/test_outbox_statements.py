"""Delivering the outbox costs a fixed number of statements a notice (issue 24).

Counted on SQLite with the connection's trace, not timed: a batch is claimed
in one transaction of one SELECT and one UPDATE, whatever its size; each
notice is then settled in its own transaction (the outcome and its log row)
before the next is sent, so a deliverer killed at any moment has sent at
most the notice in hand without recording it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import List

import attrs

from siteupdates.app.outbox import Dispatcher
from siteupdates.builtin.sqlite import SqliteStorage
from siteupdates.plugins import PluginHost
from siteupdates.ports import OutboxState
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
