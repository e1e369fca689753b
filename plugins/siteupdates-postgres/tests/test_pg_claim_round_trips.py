"""A worker's claim on PostgreSQL waits on the server once (issue 24).

Counted from libpq's own trace of the wire protocol, not timed: a round trip is
the client sending one or more messages and then reading the answer. Picking
the request, updating it and writing its history entry are one statement,
prepared once per connection; a claim that finds nothing is one round trip too.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from typing import IO, Any, Iterator, List, Optional

import pytest

from siteupdates.domain import Event, Status, submitted
from siteupdates.ports import ChangeSet
from siteupdates.testing import make_request, sample_setup, transition
from siteupdates_postgres import PostgresStorage

UTC = timezone.utc
PAST = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 1, tzinfo=UTC)


class Wire:
    """The protocol messages of the connections the storage takes while :meth:`watch` is on."""

    def __init__(self, storage: PostgresStorage) -> None:
        self.path = os.path.join(tempfile.mkdtemp(), "trace")
        self.out: Optional[IO[str]] = None
        pool = storage._pool
        take, give = pool.getconn, pool.putconn

        def getconn(*args: Any, **kwargs: Any) -> Any:
            from psycopg import pq

            conn = take(*args, **kwargs)
            if self.out is not None:
                conn.pgconn.trace(self.out.fileno())
                conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            return conn

        def putconn(conn: Any) -> None:
            conn.pgconn.untrace()
            give(conn)

        pool.getconn = getconn  # type: ignore[method-assign]
        pool.putconn = putconn  # type: ignore[method-assign]

    @contextlib.contextmanager
    def watch(self) -> Iterator[List[str]]:
        lines: List[str] = []
        with open(self.path, "w") as self.out:
            try:
                yield lines
            finally:
                self.out = None
        with open(self.path) as f:
            lines.extend(line for line in f.read().splitlines() if line.strip())


def round_trips(lines: List[str]) -> int:
    """How many times the client sent (``F``) and then waited for the server (``B``).

    A message's text may span lines (a statement's SQL): only a line that starts
    with a direction starts a message.
    """
    trips, last = 0, ""
    for line in lines:
        direction = line.split("\t", 1)[0]
        if direction not in ("F", "B"):
            continue
        if direction == "F" and last != "F":
            trips += 1
        last = direction
    return trips


@pytest.fixture
def storage(pg_url: str) -> Iterator[PostgresStorage]:
    s = PostgresStorage(pg_url.replace("pool_max=4", "pool_max=1"))
    s.save_setup(sample_setup())
    parts = []
    for i in range(4):
        r = make_request(requested_at=PAST + timedelta(seconds=i))
        booked, step = transition(r, Event.SCHEDULE, date=PAST + timedelta(seconds=i))
        parts.append(ChangeSet(inserts=(booked,), history=(submitted(r), *step.history)))
    s.apply(ChangeSet.concat(parts))
    yield s
    s.close()


def test_a_claim_is_one_round_trip_and_a_prepared_statement(storage: PostgresStorage) -> None:
    [first] = storage.claim("w1", NOW, 60)  # prepares the statement on the connection
    wire = Wire(storage)
    with wire.watch() as lines:
        [claim] = storage.claim("w1", NOW, 60)
    assert round_trips(lines) == 1, "\n".join(lines)
    assert not any("\tParse\t" in line for line in lines), "\n".join(lines)
    assert claim.entry.event is Event.PULL and claim.request.status is Status.NOT_STARTED
    assert claim.request.id != first.request.id
    history = storage.history(claim.request.id)
    assert history[-1] == claim.entry  # committed with the claim, in the same statement


def test_a_reclaim_and_an_empty_claim_are_one_round_trip_each(storage: PostgresStorage) -> None:
    claims = storage.claim("w1", NOW, 60)  # prepares the one-request statement
    claims += storage.claim("w1", NOW, 60, limit=3)
    assert len(claims) == 4
    wire = Wire(storage)
    with wire.watch() as lines:
        assert storage.claim("w2", NOW + timedelta(seconds=30), 60) == []
    assert round_trips(lines) == 1, "\n".join(lines)
    with wire.watch() as lines:
        [again] = storage.claim("w2", NOW + timedelta(seconds=61), 60)
    assert round_trips(lines) == 1, "\n".join(lines)
    assert again.entry.event is Event.RECLAIM and again.lease.attempts == 2
    assert again.request.id == claims[0].request.id
    assert storage.history(again.request.id)[-1] == again.entry


#: Where generated code says it comes from: the trusted constructors (``exec``) and
#: attrs' own ``__init__`` of the values.
GENERATED = ("<string>", "<attrs generated")


def _calls_of_our_code(run: Any) -> List[str]:
    """The Python functions of siteupdates and of its values' classes ``run`` calls.

    psycopg's and the pool's own calls are left out: their count is theirs.
    """
    import siteupdates
    import siteupdates_postgres

    roots = tuple(
        os.path.dirname(m.__file__ or "") + os.sep for m in (siteupdates, siteupdates_postgres)
    )
    seen: List[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        code = frame.f_code
        name = code.co_filename
        if event == "call" and (name.startswith(roots) or name.startswith(GENERATED)):
            seen.append(code.co_name)

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return seen


def test_a_claim_builds_its_request_lease_and_entry_in_few_python_calls(
    storage: PostgresStorage,
) -> None:
    """Issue 24: counted, not timed. A pull decodes the row and builds four values.

    The claim, its cursor, the decoder (and the wrapper that names a damaged row),
    two required instants already UTC datetimes (no parse), the date, the zone,
    and one converter-free constructor each for the request, the entry, the lease
    and the claim: 13 calls (20 before the constructors and the codec's look-ups).
    """
    storage.claim("w1", NOW, 60)  # the statement prepared, the cursor made
    got: List[Any] = []
    calls = _calls_of_our_code(lambda: got.extend(storage.claim("w1", NOW, 60)))
    [claim] = got
    assert claim.entry.event is Event.PULL
    assert storage.history(claim.request.id)[-1] == claim.entry
    assert calls.count("make") == 4, calls
    assert len(calls) <= 13, calls
