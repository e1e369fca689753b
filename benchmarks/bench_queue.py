"""The provider's queue page at 1,000,000 queued requests against the same page at 10,000.

    python -m benchmarks --only queue

The page is ``desk.provider.queue(limit=100)``: the first 100 To Be Scheduled requests,
first come first served, with whether more follow and the (capped) count. The
baseline a skeptic would choose is the library's own page on a store of
10,000: a page that grows with the queue is the defect, so the ratio is the
library against itself (flat: 1.0; the goal at most 1.3). SQLite is process
CPU time, PostgreSQL wall time (it is round trips and the server's scan).
The requests are copied from one real submit by ``INSERT ... SELECT``, so a
store of a million builds in seconds.
"""

from __future__ import annotations

import statistics
import time
from datetime import timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

UTC = timezone.utc
SIZES = (10_000, 1_000_000)
CALLS = 40


def _template_changes() -> Any:
    from benchmarks.bench_app import refreshes

    return refreshes("t00000", 1)


def sqlite_store(path: Path, n: int) -> str:
    import sqlite3

    from benchmarks.bench_app import build

    build(path, 1, 0)
    url = f"sqlite:///{path}"
    from siteupdates.builtin.sqlite import SqliteStorage

    s = SqliteStorage(url)
    s.apply(_template_changes())
    s.close()
    con = sqlite3.connect(path)
    cols = [r[1] for r in con.execute("PRAGMA table_info(requests)")]
    pick = ", ".join(
        "printf('q%08d', n)" if c == "id" else c for c in cols
    )  # same requested_at: the id orders them
    con.execute(
        f"INSERT INTO requests ({', '.join(cols)}) "
        f"WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {n - 1}) "
        f"SELECT {pick} FROM requests, c"
    )
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return url


def postgres_store(base: str, schema: str, n: int) -> str:
    import psycopg
    from psycopg import sql

    from siteupdates_postgres import PostgresStorage

    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}schema={schema}"
    from benchmarks.bench_app import setup

    s = PostgresStorage(url)
    s.save_setup(setup(1))
    s.apply(_template_changes())
    s.close()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        cols = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                "AND table_name = 'requests' ORDER BY ordinal_position",
                (schema,),
            )
        ]
        pick = sql.SQL(", ").join(
            sql.SQL("'q' || lpad(g::text, 8, '0')") if c == "id" else sql.Identifier(c)
            for c in cols
        )
        conn.execute(
            sql.SQL(
                "INSERT INTO requests ({}) SELECT {} FROM requests, generate_series(1, {}) g"
            ).format(sql.SQL(", ").join(map(sql.Identifier, cols)), pick, sql.Literal(n - 1))
        )
        conn.execute("VACUUM ANALYZE requests")
    return url


def measure(urls: Dict[int, str], rounds: int, clock: str) -> Dict[int, List[float]]:
    """Seconds per page, by store size, in interleaved rounds."""
    from benchmarks.bench_app import T0, cpu
    from siteupdates import Desk

    desks = {n: Desk.open(u, clock=lambda: T0, entry_points=True) for n, u in urls.items()}
    # The provider's handle where the facade has one (the flat Desk.queue before it).
    pages = {
        n: getattr(getattr(d, "provider", None), "queue", None) or d.queue
        for n, d in desks.items()
    }
    try:
        for n in desks:
            page = pages[n](limit=100)
            assert len(page) == 100 and page.more, n

        def side(n: int) -> Callable[[], float]:
            def run() -> None:
                for _ in range(CALLS):
                    pages[n](limit=100)

            def timed() -> float:
                if clock == "cpu":
                    return cpu(run) / CALLS
                t = time.perf_counter()
                run()
                return (time.perf_counter() - t) / CALLS

            return timed

        out: Dict[int, List[float]] = {n: [] for n in urls}
        sides = [(n, side(n)) for n in urls]
        for _, f in sides:
            f()
        for r in range(rounds):
            for n, f in sides if r % 2 == 0 else list(reversed(sides)):
                out[n].append(f())
        return out
    finally:
        for d in desks.values():
            d.close()


def run_sqlite(work: Path, rounds: int) -> Tuple[float, float]:
    urls = {n: sqlite_store(work / f"queue-page-{n}.db", n) for n in SIZES}
    got = measure(urls, rounds, "cpu")
    return statistics.median(got[SIZES[0]]), statistics.median(got[SIZES[1]])


def run_postgres(base: str, rounds: int) -> Tuple[float, float]:
    import uuid

    import psycopg
    from psycopg import sql

    tag = uuid.uuid4().hex[:8]
    schemas = {n: f"su_bench_{tag}_q{n}" for n in SIZES}
    try:
        urls = {n: postgres_store(base, schemas[n], n) for n in SIZES}
        got = measure(urls, rounds, "wall")
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            for s in schemas.values():
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(s)))
    return statistics.median(got[SIZES[0]]), statistics.median(got[SIZES[1]])


if __name__ == "__main__":
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        a, b = run_sqlite(Path(tmp), 5)
        print(f"SQLite: 10k {a * 1e3:.3f} ms, 1M {b * 1e3:.3f} ms, ratio {b / a:.2f}")
    pg = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    a, b = run_postgres(pg, 5)
    print(f"PostgreSQL: 10k {a * 1e3:.3f} ms, 1M {b * 1e3:.3f} ms, ratio {b / a:.2f}")
