"""One interactive submit on PostgreSQL, against bare psycopg (issue 24).

    python -m benchmarks --only pgsubmit

The library side is ``desk.contact("ops").submit(...)`` of a DB refresh on a
schema of its own (one tenant, the catalog, no other requests), one pooled
connection. The baselines, on the same schema and server, through one psycopg
connection and nothing else:

* the issue's: ``BEGIN``; ``INSERT`` request; ``INSERT`` history; ``COMMIT``,
  one round trip each (four);
* the library's own statements sent the same way: ``BEGIN``; the tenant's
  advisory lock and the reference counter in one pipeline; the request,
  history and notice rows in one ``INSERT ... WITH``; ``COMMIT`` (four).

The figure is wall time per submit (the server's work is in another process),
medians of interleaved rounds. The round trips of one library submit are
counted from libpq's trace as well: a number, not a timing.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterator, List, Tuple

UTC = timezone.utc
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
LOCAL = datetime(2026, 3, 8, 22)

_REQ = (
    "id", "tenant_id", "target", "version", "db_refresh", "preferred_start", "zone",
    "requested_by", "requested_at", "status", "scheduled_for", "revision", "warnings",
)  # fmt: skip
_HIS = ("request_id", "seq", "event", "actor", "by_whom", "at", "from_status", "to_status")
_OUT = ("id", "key", "kind", "request_id", "payload", "created_at", "state")


def _values(cols: Tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(f"%({prefix}{c})s" for c in cols)


INSERT_REQUEST = f"INSERT INTO requests ({', '.join(_REQ)}) VALUES ({_values(_REQ)})"
INSERT_HISTORY = f"INSERT INTO history ({', '.join(_HIS)}) VALUES ({_values(_HIS)})"
INSERT_TOGETHER = (
    f"WITH r AS (INSERT INTO requests ({', '.join(_REQ)}) VALUES ({_values(_REQ, 'r_')})), "
    f"h AS (INSERT INTO history ({', '.join(_HIS)}) VALUES ({_values(_HIS, 'h_')})) "
    f"INSERT INTO outbox ({', '.join(_OUT)}) VALUES ({_values(_OUT, 'o_')})"
)


def rows(target: str) -> Tuple[Dict[str, Any], Dict[str, Any], Dict[str, Any]]:
    """The request, history and notice rows of one refresh-only submit, from plain values."""
    rid = uuid.uuid4().hex
    start = datetime(2026, 3, 9, 4, tzinfo=UTC)
    request = dict(zip(_REQ, (rid, "t00000", target, None, True, start, "America/Chicago",
                              "ops", T0, "to-be-scheduled", None, 1, "[]")))  # fmt: skip
    history = dict(zip(_HIS, (rid, 1, "submit", "contact", "ops", T0, None, "to-be-scheduled")))
    body = f"Your request for {target} was received."
    payload = json.dumps({"key": f"{rid}:1:ops", "request_id": rid, "to": "ops",
                          "subject": f"Update request {rid[:12]} received",
                          "body": body}, sort_keys=True)  # fmt: skip
    notice = dict(zip(_OUT, (uuid.uuid4().hex, f"{rid}:1:ops", "notice", rid, payload, T0,
                             "pending")))  # fmt: skip
    return request, history, notice


def round_trips(lines: List[str]) -> int:
    """Sends followed by a wait, in a libpq trace (``F`` client, ``B`` server lines)."""
    trips, last = 0, ""
    for line in lines:
        d = line.split("\t", 1)[0]
        if d == "F" and last != "F":
            trips += 1
        last = d
    return trips


@contextlib.contextmanager
def traced(conn: Any) -> Iterator[List[str]]:
    from psycopg import pq

    path = os.path.join(tempfile.mkdtemp(), "trace")
    lines: List[str] = []
    with open(path, "w") as out:
        conn.pgconn.trace(out.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield lines
        finally:
            conn.pgconn.untrace()
    with open(path) as f:
        lines.extend(x for x in f.read().splitlines() if x.strip())


def measure(base_url: str, rounds: int, n: int = 200) -> Dict[str, Any]:
    """Seconds per submit by side (lists, one per round) and the library's round trips."""
    import psycopg
    from psycopg import sql

    import siteupdates_postgres
    from benchmarks.bench_app import setup
    from siteupdates import Desk
    from siteupdates.presets import CAMPUS_HOSTING

    schema = f"su_pgsubmit_{uuid.uuid4().hex[:8]}"
    sep = "&" if "?" in base_url else "?"
    desk = Desk.open(f"{base_url}{sep}schema={schema}&pool_min=1&pool_max=1",
                     plugins=[siteupdates_postgres], clock=lambda: T0,
                     preset=CAMPUS_HOSTING)  # fmt: skip
    bare = psycopg.connect(base_url, autocommit=True)
    bare.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    try:
        desk.provider.load_setup(setup(1))
        submit = desk.contact("ops").submit

        def lib_one(k: int) -> None:
            submit("t00000", target="production/sandbox" if k % 2 else "staging",
                   version=None, db_refresh=True, at=LOCAL)  # fmt: skip

        def base_one(k: int) -> None:
            request, history, _ = rows("production/sandbox" if k % 2 else "staging")
            bare.execute("BEGIN")
            bare.execute(INSERT_REQUEST, request, prepare=True)
            bare.execute(INSERT_HISTORY, history, prepare=True)
            bare.execute("COMMIT")

        def own_one(k: int) -> None:
            request, history, notice = rows("production/sandbox" if k % 2 else "staging")
            params = {**{f"r_{c}": v for c, v in request.items()},
                      **{f"h_{c}": v for c, v in history.items()},
                      **{f"o_{c}": v for c, v in notice.items()}}  # fmt: skip
            bare.execute("BEGIN")
            counter = bare.cursor()
            with bare.pipeline():
                bare.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("siteupdates:t",))
                counter.execute("SELECT n FROM reference_version")
            counter.fetchall()
            bare.execute(INSERT_TOGETHER, params, prepare=True)
            bare.execute("COMMIT")

        def timed(one: Callable[[int], None]) -> Callable[[], float]:
            def side() -> float:
                t = time.perf_counter()
                for k in range(n):
                    one(k)
                return (time.perf_counter() - t) / n

            return side

        sides = {"base": timed(base_one), "lib": timed(lib_one), "own": timed(own_one)}
        for s in sides.values():  # prepared statements, decoded reference rows
            s()
        got: Dict[str, List[float]] = {k: [] for k in sides}
        names = list(sides)
        for r in range(rounds):
            for name in names if r % 2 == 0 else reversed(names):
                got[name].append(sides[name]())
        pool = desk.storage._pool  # type: ignore[attr-defined]
        with pool.connection() as conn, traced(conn) as lines:
            # The desk's one pooled connection: trace it while a submit borrows it.
            lend = pool.connection

            @contextlib.contextmanager
            def same(*a: Any, **k: Any) -> Iterator[Any]:
                yield conn

            pool.connection = same
            try:
                lib_one(1)
            finally:
                pool.connection = lend
        return {**got, "trips": round_trips(lines)}
    finally:
        desk.close()
        bare.close()
        with psycopg.connect(base_url, autocommit=True) as conn:
            drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            conn.execute(drop)


if __name__ == "__main__":  # pragma: no cover - a measurement, run by hand
    import sys

    url = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    out = measure(url, int(sys.argv[1]) if len(sys.argv) > 1 else 5)
    base = statistics.median(out["base"])
    for side in ("base", "own", "lib"):
        m = statistics.median(out[side])
        print(f"{side:5s} {m * 1e6:8.0f} us/submit  {m / base:.2f}x")
    print("library round trips per submit:", out["trips"])
