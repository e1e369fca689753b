"""Claim throughput of K worker processes: the library against a bare SKIP LOCKED loop.

    python benchmarks/bench_claims.py [N] [K]

Both runs use the same table on the same PostgreSQL server (``SITEUPDATES_PG_URL``,
default ``postgresql://postgres@127.0.0.1:5432/postgres``), in a schema made for
the run and dropped after it. The library's claim does what the domain needs (the
row locked with ``FOR UPDATE SKIP LOCKED``, the lifecycle applied, a history entry
written, a lease set); the bare loop only locks a row and marks it taken. Prints
claims per second for each, their ratio, and how many requests were claimed more
than once (must be zero).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from typing import Any, List, Tuple

import psycopg
from psycopg import sql

from siteupdates.domain import Event, submitted
from siteupdates.ports import ChangeSet
from siteupdates.testing import make_request, sample_setup, transition
from siteupdates_postgres import PostgresStorage

UTC = timezone.utc
BASE = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CTX = mp.get_context("spawn")
PAST = datetime(2026, 1, 1, tzinfo=UTC)

BARE_PICK = (
    "SELECT id FROM requests WHERE status = 'scheduled' AND scheduled_for <= now() "
    "ORDER BY scheduled_for, requested_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
)
BARE_TAKE = (
    "UPDATE requests SET status = 'not-started', lease_owner = %s, "
    "lease_expires = now() + interval '300 seconds', attempts = attempts + 1, "
    "revision = revision + 1 WHERE id = %s"
)


def seed(url: str, n: int) -> None:
    s = PostgresStorage(url)
    s.save_setup(sample_setup())
    cs = ChangeSet()
    for _ in range(n):
        r = make_request(requested_at=PAST)
        booked, step = transition(r, Event.SCHEDULE, date=PAST)
        cs = cs + ChangeSet(inserts=(booked,), history=(submitted(r), *step.history))
    s.apply(cs)
    s.close()


def library_worker(url: str, name: str, barrier: Any, out: Any) -> None:
    storage = PostgresStorage(url + "&pool_max=1")
    storage.lease("warm-up")  # connect before the clock starts
    barrier.wait()
    start = time.time()
    got: List[str] = []
    while True:
        claims = storage.claim(name, datetime.now(UTC), 300, limit=1)
        if not claims:
            break
        got.append(claims[0].request.id)
    out.put((start, time.time(), got))
    storage.close()


def bare_worker(url: str, name: str, barrier: Any, out: Any) -> None:
    conninfo, schema = url.split("?")[0], url.split("schema=")[1].split("&")[0]
    conn = psycopg.connect(conninfo)
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    conn.commit()
    barrier.wait()
    start = time.time()
    got: List[str] = []
    while True:
        with conn.transaction():
            row = conn.execute(BARE_PICK).fetchone()
            if row is None:
                break
            conn.execute(BARE_TAKE, (name, row[0]))
        got.append(row[0])
    out.put((start, time.time(), got))
    conn.close()


def run(target: Any, url: str, k: int) -> Tuple[float, int, int]:
    barrier, out = CTX.Barrier(k), CTX.Queue()
    procs = [CTX.Process(target=target, args=(url, f"w{i}", barrier, out)) for i in range(k)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    begin = min(r[0] for r in results)
    end = max(r[1] for r in results)
    counts = Counter(i for r in results for i in r[2])
    doubles = sum(1 for c in counts.values() if c > 1)
    total = sum(counts.values())
    return total / (end - begin), total, doubles


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    schema = f"su_bench_{uuid.uuid4().hex[:8]}"
    url = f"{BASE}{'&' if '?' in BASE else '?'}schema={schema}"
    try:
        results: dict[str, tuple[float, int]] = {}
        for name, target in (("bare", bare_worker), ("library", library_worker)) * 2:
            with psycopg.connect(BASE, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
            seed(url, n)
            rate, total, doubles = run(target, url, k)
            print(f"{name:>8}: {rate:8.0f} claims/s  ({total} claimed by {k} workers, "
                  f"{doubles} claimed twice)")  # fmt: skip
            assert total == n, f"{name}: {total} of {n} claimed"
            best = results.get(name, (0.0, 0))
            results[name] = (max(best[0], rate), best[1] + doubles)
        ratio = results["library"][0] / results["bare"][0]
        print(f"library/bare claim throughput ratio: {ratio:.2f} (best of two runs each)")
        print(f"double claims: library {results['library'][1]}, bare {results['bare'][1]}")
    finally:
        with psycopg.connect(BASE, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )


if __name__ == "__main__":
    main()
