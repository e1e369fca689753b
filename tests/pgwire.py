"""Round trips to PostgreSQL, counted from libpq's own trace of the wire protocol.

Shared by the tests that hold how often a use case waits on the server (a
number, not a timing). The PostgreSQL plugin's own claim test keeps a copy of
its own: the plugin's sdist ships its tests, which cannot import this package.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import IO, Any, Iterator, List, Optional

from siteupdates import Desk


class Wire:
    """The protocol messages of the connections the storage lends while :meth:`watch` is on.

    Every connection the pool hands out goes through ``getconn`` and comes back
    through ``putconn``, the pool's own ``connection()`` included: traced from
    the first and untraced at the second.
    """

    def __init__(self, desk: Desk) -> None:
        self.path = os.path.join(tempfile.mkdtemp(), "trace")
        self.out: Optional[IO[str]] = None
        pool = desk.storage._pool  # type: ignore[attr-defined]
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

        pool.getconn = getconn
        pool.putconn = putconn

    @contextlib.contextmanager
    def watch(self) -> Iterator[List[str]]:
        """The trace's lines of what ran inside the block (filled in when it ends)."""
        lines: List[str] = []
        with open(self.path, "w") as self.out:
            try:
                yield lines
            finally:
                self.out = None
        with open(self.path) as f:
            lines.extend(line for line in f.read().splitlines() if line.strip())


def round_trips(lines: List[str]) -> int:
    """How many times the client sent (``F``) and then waited for the server (``B``)."""
    trips, last = 0, ""
    for line in lines:
        direction = line.split("\t", 1)[0]
        if direction not in ("F", "B"):
            continue  # the rest of a message spanning lines (a statement's SQL)
        if direction == "F" and last != "F":
            trips += 1
        last = direction
    return trips
