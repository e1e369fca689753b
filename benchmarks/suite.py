"""Every performance figure of siteupdates against its own baseline, in one run.

    python -m benchmarks                      # everything, 5 rounds, writes bench-results.json
    python -m benchmarks --only transition,cli --rounds 3 --json /tmp/x.json

Each figure times the library and a baseline that does the same job with the
bare tools (attrs, sqlite3, psycopg) in the same process run, in interleaved
rounds (the order alternates each round, so a busy moment of the machine falls
on both sides), and reports the medians and their ratio. In-process figures are
process CPU time with the garbage collector paused; start-up and worker figures
are wall-clock time. The table has one row per figure: what, baseline,
library, ratio, target, met; ``--json`` writes it for comparing runs.

The baselines are the ones the performance issue names: an attrs frozen class
with a dict table and ``attrs.evolve``; ``import attrs, pluggy``; ``python -c
"import attrs, pluggy, sqlite3"``; the one-statement ``UPDATE ... WHERE id =
(SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1)`` loop; building the same rows and
``executemany`` in one transaction; ``INSERT`` request + history + ``COMMIT``.

The suite runs against whatever ``siteupdates`` is importable, so the same file
measures an older checkout too: it calls the actor handles of 0.3
(``desk.contact("ops").submit``) where they exist and the flat ``Desk``
methods of older releases otherwise, and a missing ``submit_many`` falls back
to a loop of submits, which is what that version offers.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import attrs

# One clock for every in-process figure (bench_app.py also runs on its own).
from benchmarks.bench_app import cpu

UTC = timezone.utc
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
PG_BASE = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@attrs.frozen
class Figure:
    """One row of the table."""

    name: str
    baseline: str
    base: float
    lib: float
    unit: str
    target: str
    #: "le": ratio lib/base at most ``limit``; "ge": at least; None: informational.
    kind: Optional[str]
    limit: float
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.lib / self.base if self.base else float("nan")

    @property
    def met(self) -> Optional[bool]:
        if self.kind == "le":
            return self.ratio <= self.limit
        if self.kind == "ge":
            return self.ratio >= self.limit
        return None


# -- timing helpers ---------------------------------------------------------------


def interleaved(sides: Dict[str, Callable[[], float]], rounds: int) -> Dict[str, List[float]]:
    """Run each side once per round, alternating the order; the measurements by side."""
    names = list(sides)
    out: Dict[str, List[float]] = {n: [] for n in names}
    for r in range(rounds):
        for n in names if r % 2 == 0 else reversed(names):
            out[n].append(sides[n]())
    return out


def med(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def startup_env() -> Dict[str, str]:
    """The environment of start-up figures: no SITEUPDATES_* settings, and bytecode caches on.

    An installed package has its modules compiled (pip compiles them; the first
    run writes them for a source checkout), as the baseline's attrs and pluggy
    have. With PYTHONDONTWRITEBYTECODE set (as on some CI machines), a source
    checkout would compile every module of the library on every run while the
    baseline reads its caches: a figure of the machine, not of the library.
    """
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SITEUPDATES_") and k != "PYTHONDONTWRITEBYTECODE"
    }


def wall_of(cmd: List[str], env: Optional[Dict[str, str]] = None) -> Callable[[], float]:
    """Wall seconds of one run of ``cmd`` (in :func:`startup_env` unless ``env`` is given)."""
    env = startup_env() if env is None else env

    def run() -> float:
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, env=env)
        took = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd} failed: {proc.stderr.decode()[-500:]}")
        return took

    return run


# -- 1. one status transition -------------------------------------------------------


@attrs.frozen
class BareRequest:
    """The request's fields in a frozen attrs class without converters."""

    id: str
    tenant_id: str
    target: str
    version: Optional[str]
    db_refresh: bool
    preferred_start: datetime
    zone: str
    requested_by: str
    requested_at: datetime
    status: str = "to-be-scheduled"
    scheduled_for: Optional[datetime] = None
    revision: int = 1
    warnings: Tuple[str, ...] = ()
    reason: Optional[str] = None
    superseded_by: Optional[str] = None
    idempotency_key: Optional[str] = None
    group_plan_id: Optional[str] = None
    automatic: bool = False
    booking: Optional[str] = None


@attrs.frozen
class BareEntry:
    request_id: str
    seq: int
    event: str
    actor: str
    by: str
    at: datetime
    from_status: Optional[str]
    to_status: str
    reason: Optional[str] = None
    old_date: Optional[datetime] = None
    new_date: Optional[datetime] = None


#: (status, event) -> new status: the table the lifecycle would be without checks.
BARE_TABLE = {("scheduled", "pull"): "not-started", ("not-started", "release"): "scheduled"}


def bare_apply(r: BareRequest, event: str, by: str, at: datetime) -> Tuple[BareRequest, BareEntry]:
    target = BARE_TABLE[(r.status, event)]
    new = attrs.evolve(r, status=target, revision=r.revision + 1)
    return new, BareEntry(r.id, new.revision, event, "provider", by, at, r.status, target)


def fig_transition(rounds: int, n: int = 20_000) -> Figure:
    from siteupdates.domain import Actor, Event, apply_event
    from siteupdates.testing import make_request

    lib0 = make_request(status="scheduled", scheduled_for=T0)
    bare0 = BareRequest(**{a.name: getattr(lib0, a.name) for a in attrs.fields(BareRequest)})
    bare0 = attrs.evolve(bare0, target=lib0.target.value, status=lib0.status.value)
    pull, release, provider = Event.PULL, Event.RELEASE, Actor.PROVIDER

    def lib() -> float:
        def run() -> None:
            r = lib0
            for _ in range(n // 2):
                r, _e = apply_event(r, pull, actor=provider, by="w1", at=T0)
                r, _e = apply_event(r, release, actor=provider, by="w1", at=T0)

        return cpu(run) / n

    def base() -> float:
        def run() -> None:
            r = bare0
            for _ in range(n // 2):
                r, _e = bare_apply(r, "pull", "w1", T0)
                r, _e = bare_apply(r, "release", "w1", T0)

        return cpu(run) / n

    got = interleaved({"base": base, "lib": lib}, rounds)
    return Figure(
        "one status transition (apply_event)",
        "attrs frozen class + dict table + attrs.evolve + history entry",
        med(got["base"]) * 1e6, med(got["lib"]) * 1e6, "us CPU", "<= 1.3x", "le", 1.3,
    )  # fmt: skip


# -- 2, 3. start-up ----------------------------------------------------------------


def fig_import(rounds: int) -> List[Figure]:
    py = sys.executable
    sides = {
        "base": wall_of([py, "-c", "import attrs, pluggy"]),
        "lib": wall_of([py, "-c", "import siteupdates"]),
        "desk": wall_of([py, "-c", "from siteupdates import Desk"]),
    }
    for s in sides.values():  # compile caches, warm file cache
        s()
    got = interleaved(sides, max(rounds * 4, 10))
    base = med(got["base"]) * 1e3
    return [
        Figure("import siteupdates", "import attrs, pluggy", base, med(got["lib"]) * 1e3,
               "ms wall", "<= 1.3x", "le", 1.3),
        Figure("from siteupdates import Desk (everything a host uses)", "import attrs, pluggy",
               base, med(got["desk"]) * 1e3, "ms wall", "<= 1.3x", "le", 1.3),
    ]  # fmt: skip


def small_db(path: Path, requests: int = 20) -> None:
    from benchmarks.bench_app import build

    build(path, 1, requests)


def fig_cli(rounds: int, work: Path) -> List[Figure]:
    py = sys.executable
    db = work / "cli.db"
    small_db(db)
    script = Path(py).parent / "siteupdates"
    cli = [str(script)] if script.exists() else [py, "-m", "siteupdates.cli"]
    env = startup_env()
    sides = {
        "base": wall_of([py, "-c", "import attrs, pluggy, sqlite3"], env),
        "list": wall_of([*cli, "--db", str(db), "list", "--as", "ops", "--tenant", "t00000"],
                        env),
        "overview": wall_of([*cli, "--db", str(db), "overview", "--as", "ops"], env),
    }  # fmt: skip
    for s in sides.values():
        s()
    got = interleaved(sides, max(rounds * 4, 10))
    base = med(got["base"]) * 1e3
    return [
        Figure(f"one CLI read command ({name}) on a small SQLite file",
               'python -c "import attrs, pluggy, sqlite3"', base, med(got[name]) * 1e3,
               "ms wall", "<= 2x", "le", 2.0)
        for name in ("list", "overview")
    ]  # fmt: skip


# -- 4. worker claims on PostgreSQL -----------------------------------------------------

BARE_CLAIM = (
    "UPDATE requests SET status = 'not-started', lease_owner = %s, "
    "lease_expires = now() + interval '300 seconds', attempts = attempts + 1, "
    "revision = revision + 1 "
    "WHERE id = (SELECT id FROM requests WHERE status = 'scheduled' AND scheduled_for <= now() "
    "ORDER BY scheduled_for LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id"
)


# The bare claim and the history entry every claim must write, in one statement
# (one round trip): what the library's claim does, without a library. The
# baseline a skeptic picks for "history committed with the claim".
BARE_CLAIM_HISTORY = (
    "WITH c AS (" + BARE_CLAIM.replace("RETURNING id", "RETURNING id, revision, status") + "), "
    "h AS (INSERT INTO history (request_id, seq, event, actor, by_whom, at, from_status, "
    "to_status, reason, old_date, new_date) SELECT id, revision, 'pull', 'provider', %s, now(), "
    "'scheduled', status, NULL, NULL, NULL FROM c) SELECT id FROM c"
)


def claim_worker_library(url: str, name: str, barrier: Any, out: Any) -> None:
    from siteupdates_postgres import PostgresStorage

    storage = PostgresStorage(url + "&pool_max=1")
    storage.lease("warm-up")  # connected before the clock starts
    barrier.wait()
    start = time.perf_counter()
    got: List[str] = []
    while True:
        claims = storage.claim(name, datetime.now(UTC), 300, limit=1)
        if not claims:
            break
        got.append(claims[0].request.id)
    out.put((start, time.perf_counter(), got))
    storage.close()


def claim_worker_bare(
    url: str, name: str, barrier: Any, out: Any, statement: str = BARE_CLAIM
) -> None:
    import psycopg
    from psycopg import sql

    conninfo, schema = url.split("?")[0], url.split("schema=")[1].split("&")[0]
    conn = psycopg.connect(conninfo, autocommit=True)
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    barrier.wait()
    start = time.perf_counter()
    got: List[str] = []
    while True:
        row = conn.execute(statement, (name,) * statement.count("%s")).fetchone()
        if row is None:
            break
        got.append(row[0])
    out.put((start, time.perf_counter(), got))
    conn.close()


def claim_worker_bare_history(url: str, name: str, barrier: Any, out: Any) -> None:
    claim_worker_bare(url, name, barrier, out, BARE_CLAIM_HISTORY)


def _claim_run(target: Callable[..., None], url: str, k: int) -> Tuple[float, int, int]:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(k), ctx.Queue()
    procs = [ctx.Process(target=target, args=(url, f"w{i}", barrier, out)) for i in range(k)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    begin, end = min(r[0] for r in results), max(r[1] for r in results)
    counts = Counter(i for r in results for i in r[2])
    return (
        sum(counts.values()) / (end - begin),
        sum(counts.values()),
        sum(1 for c in counts.values() if c > 1),
    )


def _seed_template(url: str, n: int) -> None:
    from siteupdates.domain import Event, submitted
    from siteupdates.ports import ChangeSet
    from siteupdates.testing import make_request, sample_setup, transition
    from siteupdates_postgres import PostgresStorage

    past = datetime(2026, 1, 1, tzinfo=UTC)
    s = PostgresStorage(url)
    s.save_setup(sample_setup())
    for lo in range(0, n, 1000):
        parts = []
        for i in range(lo, min(n, lo + 1000)):
            r = make_request(requested_at=past + timedelta(microseconds=i))
            booked, step = transition(r, Event.SCHEDULE, date=past + timedelta(seconds=i))
            parts.append(ChangeSet(inserts=(booked,), history=(submitted(r), *step.history)))
        s.apply(ChangeSet.concat(parts))
    s.close()


def fig_claims(rounds: int, k: int = 4, sizes: Sequence[int] = (600, 3000, 12000)) -> List[Figure]:
    try:
        import psycopg
        from psycopg import sql

        from siteupdates_postgres import PostgresStorage
    except ImportError as exc:
        print(f"claims: skipped ({exc})", file=sys.stderr)
        return []
    try:
        psycopg.connect(PG_BASE, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"claims: skipped, no PostgreSQL ({exc})", file=sys.stderr)
        return []
    tag = uuid.uuid4().hex[:8]
    sep = "&" if "?" in PG_BASE else "?"
    work = f"su_bench_{tag}"
    url = f"{PG_BASE}{sep}schema={work}"
    schemas = [work] + [f"su_bench_{tag}_t{n}" for n in sizes]
    rates: Dict[Tuple[str, int], List[float]] = {}
    doubles = 0
    try:
        for n in sizes:
            _seed_template(f"{PG_BASE}{sep}schema=su_bench_{tag}_t{n}", n)
        PostgresStorage(url).close()  # the working schema, at this version's migrations

        def refill(n: int) -> None:
            with psycopg.connect(PG_BASE, autocommit=True) as conn:
                w = sql.Identifier(work)
                t = sql.Identifier(f"su_bench_{tag}_t{n}")
                conn.execute(sql.SQL("TRUNCATE {}.history, {}.requests").format(w, w))
                for table in ("requests", "history"):
                    conn.execute(sql.SQL("INSERT INTO {}.{} SELECT * FROM {}.{}").format(
                        w, sql.Identifier(table), t, sql.Identifier(table)))  # fmt: skip
                conn.execute(sql.SQL("ANALYZE {}.requests").format(w))
                conn.execute(sql.SQL("ANALYZE {}.history").format(w))

        for r in range(rounds):
            for n in sizes:
                order = [("bare", claim_worker_bare), ("library", claim_worker_library)]
                if n == sizes[1]:
                    order.insert(1, ("bare+history", claim_worker_bare_history))
                for name, target in order if r % 2 == 0 else reversed(order):
                    refill(n)
                    rate, total, twice = _claim_run(target, url, k)
                    assert total == n, f"{name}: {total} of {n} claimed"
                    doubles += twice
                    rates.setdefault((name, n), []).append(rate)
    finally:
        with psycopg.connect(PG_BASE, autocommit=True) as conn:
            for s in schemas:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(s)))
    m = {key: med(v) for key, v in rates.items()}
    lo, mid, hi = sizes
    return [
        Figure(f"worker claims/s, {k} processes, {mid:,} due, PostgreSQL",
               "one-statement UPDATE ... WHERE id = (SELECT ... SKIP LOCKED LIMIT 1) loop",
               m[("bare", mid)], m[("library", mid)], "claims/s", ">= 0.8x", "ge", 0.8,
               f"double claims: {doubles}"),
        Figure(f"worker claims/s, {k} processes, {mid:,} due, PostgreSQL",
               "the same loop, its UPDATE and the history INSERT in one WITH statement",
               m[("bare+history", mid)], m[("library", mid)], "claims/s", ">= 0.95x", "ge", 0.95),
        Figure(f"claims/s flat with the backlog: {hi:,} due vs {lo:,} due (library)",
               f"library at {lo:,} due", m[("library", lo)], m[("library", hi)], "claims/s",
               ">= 0.75x (within 25%)", "ge", 0.75,
               f"bare: {m[('bare', lo)]:.0f} at {lo:,}, {m[('bare', hi)]:.0f} at {hi:,}"),
    ]  # fmt: skip


# -- 5, 6. submits on SQLite --------------------------------------------------------------

_REQUEST_COLUMNS = (
    "id", "tenant_id", "target", "version", "db_refresh", "preferred_start", "zone",
    "requested_by", "requested_at", "status", "scheduled_for", "revision", "warnings", "reason",
    "superseded_by", "idempotency_key", "group_plan_id", "automatic", "booking",
)  # fmt: skip
_HISTORY_COLUMNS = (
    "request_id", "seq", "event", "actor", "by_whom", "at", "from_status", "to_status",
    "reason", "old_date", "new_date",
)  # fmt: skip
_OUTBOX_COLUMNS = ("id", "key", "kind", "request_id", "payload", "created_at", "state")


def _insert(table: str, cols: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def _ts(d: datetime) -> str:
    return d.astimezone(UTC).isoformat(timespec="microseconds")


def bare_rows(
    tenant: str, target: str, local: datetime, zone: Any, contact: str, now: datetime
) -> Tuple[tuple, tuple, tuple]:  # type: ignore[type-arg]
    """The request, history and notice rows of one refresh-only submit, from plain values."""
    rid = uuid.uuid4().hex
    start = _ts(local.replace(tzinfo=zone))
    at = _ts(now)
    request = (rid, tenant, target, None, True, start, "America/Chicago", contact, at,
               "to-be-scheduled", None, 1, "[]", None, None, None, None, False, None)  # fmt: skip
    history = (
        rid,
        1,
        "submit",
        "contact",
        contact,
        at,
        None,
        "to-be-scheduled",
        None,
        None,
        start,
    )
    payload = json.dumps({
        "key": f"{rid}:1:{contact}", "request_id": rid, "tenant_id": tenant, "to": contact,
        "subject": f"Update request {rid[:12]} received: To Be Scheduled",
        "body": f"Your request for {target} (DB refresh) was received and waits to be "
                f"scheduled. Preferred start: {start} (America/Chicago).",
    }, sort_keys=True)  # fmt: skip
    notice = (uuid.uuid4().hex, f"{rid}:1:{contact}", "notice", rid, payload, at, "pending")
    return request, history, notice


def _open_bare(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("PRAGMA foreign_keys = ON")
    return con


def fig_interactive(rounds: int, work: Path, n: int = 300) -> List[Figure]:
    from benchmarks.bench_app import build, submitter
    from siteupdates import Desk
    from siteupdates.domain.timeutil import get_zone
    from siteupdates.presets import CAMPUS_HOSTING

    base_db = work / "interactive.db"
    build(base_db, 1, 0)
    chicago = get_zone("America/Chicago")
    local = datetime(2026, 3, 8, 22)
    ins_r, ins_h = _insert("requests", _REQUEST_COLUMNS), _insert("history", _HISTORY_COLUMNS)

    def lib() -> float:
        copy = work / "interactive-lib.db"
        shutil.copy(base_db, copy)
        desk = Desk.open(f"sqlite:///{copy}", clock=lambda: T0, preset=CAMPUS_HOSTING)
        submit = submitter(desk, "ops")

        def run() -> None:
            for k in range(n):
                submit("t00000", target="production/sandbox" if k % 2 else "staging",
                       version=None, db_refresh=True, at=local)  # fmt: skip

        took = cpu(run) / n
        desk.close()
        return took

    def app_layer() -> float:
        """The use case without the facade (whose per-call checks are the lead's to rewrite)."""
        from siteupdates.app.contact import submit

        copy = work / "interactive-app.db"
        shutil.copy(base_db, copy)
        desk = Desk.open(f"sqlite:///{copy}", clock=lambda: T0, preset=CAMPUS_HOSTING)
        app = desk.app

        def run() -> None:
            for k in range(n):
                submit(app, "ops", "t00000", "production/sandbox" if k % 2 else "staging", None,
                       db_refresh=True, at=local)  # fmt: skip

        took = cpu(run) / n
        desk.close()
        return took

    def bare(name: str, body: Callable[..., None]) -> Callable[[], float]:
        """A side that sends ``body``'s statements for each submit's rows, through sqlite3."""

        def side() -> float:
            copy = work / f"interactive-{name}.db"
            shutil.copy(base_db, copy)
            con = _open_bare(copy)

            def run() -> None:
                for k in range(n):
                    target = "production/sandbox" if k % 2 else "staging"
                    body(con, *bare_rows("t00000", target, local, chicago, "ops", T0))

            took = cpu(run) / n
            con.close()
            return took

        return side

    def base_body(con: sqlite3.Connection, request: Any, history: Any, _: Any) -> None:
        con.execute("BEGIN IMMEDIATE")
        con.execute(ins_r, request)
        con.execute(ins_h, history)
        con.execute("COMMIT")

    ins_o = _insert("outbox", _OUTBOX_COLUMNS)

    def sql_body(con: sqlite3.Connection, request: Any, history: Any, notice: Any) -> None:
        """The statements a refresh-only submit sends, through sqlite3 and nothing else."""
        con.execute("BEGIN IMMEDIATE")
        con.execute("SELECT * FROM contacts WHERE id = ?", ("ops",)).fetchall()
        con.execute("SELECT * FROM tenants WHERE id = ?", ("t00000",)).fetchall()
        con.execute("SELECT * FROM sites WHERE tenant_id = ?", ("t00000",)).fetchall()
        con.execute("SELECT version FROM catalog").fetchall()
        con.execute(ins_r, request)
        con.execute(ins_h, history)
        con.execute(ins_o, notice)
        con.execute("COMMIT")

    with sqlite3.connect(base_db) as probe:
        counted = probe.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'reference_version'"
        ).fetchone()[0]

    def writes_body(con: sqlite3.Connection, request: Any, history: Any, notice: Any) -> None:
        """What a submit must send with cached reference rows, through sqlite3 alone."""
        con.execute("BEGIN IMMEDIATE")
        if counted:
            con.execute("SELECT n FROM reference_version").fetchall()
        con.execute(ins_r, request)
        con.execute(ins_h, history)
        con.execute(ins_o, notice)
        con.execute("COMMIT")

    base, same_sql = bare("base", base_body), bare("sql", sql_body)
    same_writes = bare("writes", writes_body)
    got = interleaved(
        {"base": base, "lib": lib, "app": app_layer, "sql": same_sql, "writes": same_writes,
         "domain": _domain_floor(work, base_db, n)},
        rounds,
    )  # fmt: skip
    return [
        Figure(
            "one interactive submit at the app layer (app.contact.submit), SQLite WAL",
            "BEGIN IMMEDIATE; INSERT request; INSERT history; COMMIT",
            med(got["base"]) * 1e6, med(got["app"]) * 1e6, "us CPU", "<= 2.0x", "le", 2.0,
        ),
        Figure(
            "one interactive submit at the app layer, against its own statements",
            "the statements it sends (counter read + 3 inserts) through bare sqlite3",
            med(got["writes"]) * 1e6, med(got["app"]) * 1e6, "us CPU", "<= 1.3x", "le", 1.3,
        ),
        Figure(
            "one interactive submit through Desk, SQLite WAL",
            "BEGIN IMMEDIATE; INSERT request; INSERT history; COMMIT",
            med(got["base"]) * 1e6, med(got["lib"]) * 1e6, "us CPU", "<= 2.0x", "le", 2.0,
            "the library also reads contact, tenant (and sites) and catalog, and writes "
            "the notice to the outbox",
        ),
        Figure(
            "one interactive submit (where the time goes)",
            "the same 4 reads + 3 inserts through bare sqlite3",
            med(got["sql"]) * 1e6, med(got["lib"]) * 1e6, "us CPU", "(informational)", None,
            0.0, f"the same SQL alone is {med(got['sql']) / med(got['base']):.2f}x the baseline",
        ),
        Figure(
            "one interactive submit (its domain work alone, no layers)",
            "BEGIN IMMEDIATE; INSERT request; INSERT history; COMMIT",
            med(got["base"]) * 1e6, med(got["domain"]) * 1e6, "us CPU", "(informational)",
            None, 0.0,
            "the rules, the request, its history entry and notice and their rows, sent "
            "through bare sqlite3 with the counter read: the floor the facade, the use case "
            "and the unit of work add to",
        ),
        Figure(
            "one interactive submit (the writes it cannot drop)",
            "reference counter read + request, history and notice inserts through bare sqlite3",
            med(got["writes"]) * 1e6, med(got["lib"]) * 1e6, "us CPU", "(informational)",
            None, 0.0,
            f"these writes alone are {med(got['writes']) / med(got['base']):.2f}x the baseline "
            "(the notice is committed with the request)",
        ),
    ]  # fmt: skip


def _domain_floor(work: Path, base_db: Path, n: int) -> Callable[[], float]:
    """A side that does a submit's domain work with none of the library's layers.

    The same calls the use case makes for a refresh-only submit (the draft, the
    policy context with its zone and start, every built-in rule, the request,
    its first history entry, the contact's notice, the rows of all three),
    with the contact, tenant and catalog decoded once beforehand, as the
    reference cache holds them, and the statements sent through bare sqlite3.
    No facade checks, unit of work, change set, outbox assembly or plugin hooks:
    what is left when all of those cost nothing.
    """
    from siteupdates import Desk
    from siteupdates.domain import UpdateRequest, submitted
    from siteupdates.domain.messages import notice_for
    from siteupdates.domain.policies import (
        DEFAULT_POLICIES,
        PolicyContext,
        RequestDraft,
        evaluate,
    )
    from siteupdates.domain.timeutil import Ambiguity
    from siteupdates.ports import OutboxItem
    from siteupdates.presets import CAMPUS_HOSTING
    from siteupdates.sql import codec

    with Desk.open(f"sqlite:///{base_db}", clock=lambda: T0, preset=CAMPUS_HOSTING) as desk:
        who, tenant = desk.storage.contact("ops"), desk.storage.tenant("t00000")
        catalog = desk.storage.catalog()
    assert who is not None and tenant is not None
    preset = CAMPUS_HOSTING
    local = datetime(2026, 3, 8, 22)
    inserts = [
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        for table, cols in (("requests", codec.REQUEST_COLUMNS),
                            ("history", codec.HISTORY_COLUMNS),
                            ("outbox", codec.OUTBOX_COLUMNS))
    ]  # fmt: skip

    def one(con: sqlite3.Connection, target: str) -> None:
        con.execute("BEGIN IMMEDIATE")
        con.execute("SELECT n FROM reference_version").fetchall()
        draft = RequestDraft(tenant.id, target, None, True, local, None, Ambiguity.EARLIER)
        ctx = PolicyContext.build(contact=who, tenant=tenant, draft=draft, catalog=catalog,
                                  preset=preset, now=T0)  # fmt: skip
        decision = evaluate(ctx, DEFAULT_POLICIES)
        assert ctx.start is not None and not decision.refusals
        request = UpdateRequest.trusted(
            id=uuid.uuid4().hex, tenant_id=tenant.id, target=ctx.draft.target, version=None,
            db_refresh=True, preferred_start=ctx.start, zone=ctx.zone, requested_by=who.id,
            requested_at=T0,
        )  # fmt: skip
        first = submitted(request)
        notice = notice_for(request, first, tenant, who, preset.default_zone,
                            duration=preset.update_duration)  # fmt: skip
        assert notice is not None
        item = OutboxItem(uuid.uuid4().hex, notice.key, "notice", request.id,
                          notice.to_payload(), T0)  # fmt: skip
        rows = (codec.request_values(request, codec.ts, int), codec.history_values(first),
                codec.outbox_values(item))  # fmt: skip
        for statement, row in zip(inserts, rows):
            con.execute(statement, row)
        con.execute("COMMIT")

    def side() -> float:
        copy = work / "interactive-domain.db"
        shutil.copy(base_db, copy)
        con = _open_bare(copy)

        def run() -> None:
            for k in range(n):
                one(con, "production/sandbox" if k % 2 else "staging")

        took = cpu(run) / n
        con.close()
        return took

    return side


def fig_bulk(rounds: int, work: Path, n: int = 10_000, tenants: int = 100) -> Figure:
    from benchmarks.bench_app import build, has_handles, submitter
    from siteupdates import Desk
    from siteupdates.domain import RequestDraft
    from siteupdates.domain.timeutil import get_zone
    from siteupdates.presets import CAMPUS_HOSTING

    base_db = work / "bulk.db"
    build(base_db, tenants, 0)
    chicago = get_zone("America/Chicago")
    local = datetime(2026, 3, 8, 22)
    specs = [
        (f"t{i % tenants:05d}", "production/sandbox" if (i // tenants) % 2 else "staging")
        for i in range(n)
    ]
    drafts = [RequestDraft(t, target, None, True, local) for t, target in specs]

    def lib() -> float:
        copy = work / "bulk-lib.db"
        shutil.copy(base_db, copy)
        desk = Desk.open(f"sqlite:///{copy}", clock=lambda: T0, preset=CAMPUS_HOSTING)
        ops: Any = desk.contact("ops") if has_handles(desk) else None
        many = ops.submit_many if ops is not None else getattr(desk, "submit_many", None)
        flat = ops is None and many is not None  # 0.2: the contact's ID first
        submit = submitter(desk, "ops")

        def run() -> None:
            if many is not None:
                results = many("ops", drafts) if flat else many(drafts)
                assert sum(1 for r in results if r.accepted) == n
                return
            for d in drafts:  # the version at the branch start has no batch submit
                submit(d.tenant_id, target=d.target.value, version=None, db_refresh=True,
                       at=local)  # fmt: skip

        took = cpu(run)
        desk.close()
        return took

    def base() -> float:
        copy = work / "bulk-base.db"
        shutil.copy(base_db, copy)
        con = _open_bare(copy)

        def run() -> None:
            rows = [bare_rows(t, target, local, chicago, "ops", T0) for t, target in specs]
            con.execute("BEGIN IMMEDIATE")
            con.executemany(_insert("requests", _REQUEST_COLUMNS), [r[0] for r in rows])
            con.executemany(_insert("history", _HISTORY_COLUMNS), [r[1] for r in rows])
            con.executemany(_insert("outbox", _OUTBOX_COLUMNS), [r[2] for r in rows])
            con.execute("COMMIT")

        took = cpu(run)
        con.close()
        return took

    got = interleaved({"base": base, "lib": lib}, rounds)
    return Figure(
        f"{n:,} submits (refresh-only, {tenants} tenants), SQLite",
        "building the request, history and notice rows + executemany in one transaction",
        med(got["base"]) * 1e3, med(got["lib"]) * 1e3, "ms CPU", "<= 5x", "le", 5.0,
    )  # fmt: skip


# -- 7. decoding --------------------------------------------------------------------------


def fig_decode(rounds: int, work: Path, n: int = 1000) -> Figure:
    from benchmarks.bench_app import build
    from siteupdates.builtin.sqlite import SqliteStorage
    from siteupdates.domain import Status

    db = work / "decode.db"
    build(db, 1, n)
    storage = SqliteStorage(f"sqlite:///{db}")
    con = sqlite3.connect(db)
    query = (
        f"SELECT {', '.join(_REQUEST_COLUMNS)} FROM requests WHERE status IN ('to-be-scheduled') "
        "ORDER BY requested_at, id LIMIT :limit"
    )
    parse = datetime.fromisoformat

    def lib() -> float:
        def run() -> None:
            assert len(storage.requests_in([Status.TO_BE_SCHEDULED], limit=n)) == n

        return cpu(run)

    def base() -> float:
        def run() -> None:
            out = [
                BareRequest(
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    bool(r[4]),
                    parse(r[5]),
                    r[6],
                    r[7],
                    parse(r[8]),
                    r[9],
                    None if r[10] is None else parse(r[10]),
                    r[11],
                    tuple(json.loads(r[12])),
                    r[13],
                    r[14],
                    r[15],
                    r[16],
                    bool(r[17]),
                    r[18],
                )
                for r in con.execute(query, {"limit": n}).fetchall()
            ]
            assert len(out) == n

        return cpu(run)

    got = interleaved({"base": base, "lib": lib}, max(rounds * 3, 9))
    storage.close()
    con.close()
    return Figure(
        f"read {n:,} requests (SQLite, one query)",
        "the same SELECT + attrs values built from the tuples",
        med(got["base"]) * 1e3, med(got["lib"]) * 1e3, "ms CPU", "<= 3x", "le", 3.0,
    )  # fmt: skip


# -- 8. notices to a local SMTP server --------------------------------------------------


def fig_notices(rounds: int, work: Path) -> Figure:
    from benchmarks import bench_notices

    n = 500
    got = bench_notices.measure(work, rounds, n)
    return Figure(
        f"notices delivered/s to a local SMTP server ({n} from a SQLite outbox)",
        "one smtplib connection, a send_message loop (messages built in the loop)",
        med(got["base"]), med(got["lib"]), "notices/s", ">= 0.8x", "ge", 0.8,
        "the library claims, fences each attempt, and stores each outcome with its log row",
    )  # fmt: skip


# -- 9. the provider's queue page at a million -------------------------------------------


def fig_queue(rounds: int, work: Path) -> List[Figure]:
    from benchmarks import bench_queue

    figures = []
    a, b = bench_queue.run_sqlite(work, rounds)
    figures.append(
        Figure("provider's queue page (100), 1,000,000 queued, SQLite",
               "the same page at 10,000 queued", a * 1e3, b * 1e3, "ms CPU", "<= 1.3x", "le",
               1.3)
    )  # fmt: skip
    try:
        import psycopg

        psycopg.connect(PG_BASE, connect_timeout=3).close()
    except Exception as exc:  # no driver or no server: the SQLite row stands alone
        print(f"queue (PostgreSQL): skipped ({exc})", file=sys.stderr)
        return figures
    a, b = bench_queue.run_postgres(PG_BASE, rounds)
    figures.append(
        Figure("provider's queue page (100), 1,000,000 queued, PostgreSQL",
               "the same page at 10,000 queued", a * 1e3, b * 1e3, "ms wall", "<= 1.3x", "le",
               1.3)
    )  # fmt: skip
    return figures


# -- 9b. one interactive submit on PostgreSQL ------------------------------------------------


def fig_pgsubmit(rounds: int) -> List[Figure]:
    try:
        import psycopg

        psycopg.connect(PG_BASE, connect_timeout=3).close()
    except Exception as exc:  # no driver or no server: no figure
        print(f"pgsubmit: skipped ({exc})", file=sys.stderr)
        return []
    from benchmarks import bench_pgsubmit

    got = bench_pgsubmit.measure(PG_BASE, rounds)
    base, own, lib = med(got["base"]) * 1e6, med(got["own"]) * 1e6, med(got["lib"]) * 1e6
    return [
        Figure("one interactive submit (DB refresh), PostgreSQL",
               "BEGIN; INSERT request; INSERT history; COMMIT (one round trip each), psycopg",
               base, lib, "us wall", "<= 2.0x", "le", 2.0,
               f"{got['trips']} round trips per library submit (goal <= 5; libpq's trace)"),
        Figure("one interactive submit on PostgreSQL, against its own statements",
               "BEGIN; lock + counter (one pipeline); one INSERT ... WITH; COMMIT, psycopg",
               own, lib, "us wall", "<= 1.3x", "le", 1.3),
    ]  # fmt: skip


# -- 10. the web gadget under load ----------------------------------------------------------


def fig_gadget(rounds: int) -> List[Figure]:
    try:
        import importlib.util

        import psycopg

        for needed in ("gunicorn", "httpx"):
            if importlib.util.find_spec(needed) is None:
                raise ImportError(f"no {needed}")
        psycopg.connect(PG_BASE, connect_timeout=3).close()
    except Exception as exc:  # no server, driver, gunicorn or httpx: no figure
        print(f"gadget: skipped ({exc})", file=sys.stderr)
        return []
    from benchmarks import bench_gadget

    got = bench_gadget.measure(PG_BASE, rounds)
    bare, lib = got["bare"], got["lib"]
    base = "bare Flask route: one SELECT + the blueprint's template (gunicorn, 4 sync workers)"
    return [
        Figure("web gadget requests/s, 32 clients, 1,000 tenants, PostgreSQL", base,
               med(bare["rps"]), med(lib["rps"]), "req/s", ">= 0.7x", "ge", 0.7),
        Figure("web gadget p99 latency, same run", base, med(bare["p99"]), med(lib["p99"]),
               "ms", "<= 2x", "le", 2.0),
        Figure("web gadget requests/s through app.contact.gadget (not declared yet)", base,
               med(bare["rps"]), med(got["use_case"]["rps"]), "req/s", "(informational)",
               None, 0.0, f"p99 {med(got['use_case']['p99']) / med(bare['p99']):.2f}x the bare"),
    ]  # fmt: skip


# -- 11. the existing scaling figures --------------------------------------------------------


def fig_scaling(rounds: int, work: Path) -> List[Figure]:
    from benchmarks import bench_app, bench_planner

    none, full = bench_app.measure_submit(work, rounds=rounds)
    small, large = bench_app.measure_plan(work, rounds=max(rounds - 2, 3))
    m_small, m_large = bench_app.measure_plan(work, max(rounds - 2, 3), "memory")
    p10k, p100k = bench_planner.measure(rounds=max(rounds - 2, 3))
    return [
        Figure("submit, tenant with 5,000 open requests", "the same submit, tenant with none",
               none * 1e3, full * 1e3, "ms CPU", "<= 1.2x", "le", 1.2),
        Figure("plan_queue storing 8,000 queued, SQLite", "storing 2,000 (linear: 4x)", small,
               large, "s CPU", "<= 4.5x", "le", 4.5),
        Figure("plan_queue storing 8,000 queued, memory://", "storing 2,000 (linear: 4x)",
               m_small, m_large, "s CPU", "<= 4.5x", "le", 4.5),
        Figure("plan 100,000 requests (pure planner)", "plan 10,000 (n log n: ~11.5x)", p10k,
               p100k, "s CPU", "(informational: n log n 11.5, quadratic 100)", None, 0.0),
    ]  # fmt: skip


# -- the run -----------------------------------------------------------------------------------

FIGURES = (
    "transition", "import", "cli", "claims", "bulk", "interactive", "pgsubmit", "decode",
    "notices", "queue", "gadget", "scaling",
)  # fmt: skip


def table(figures: Sequence[Figure]) -> str:
    head = ("figure", "baseline", "baseline value", "library", "ratio", "target", "met")
    rows = [head]
    for f in figures:
        met = {True: "yes", False: "NO", None: "-"}[f.met]
        rows.append((f.name, f.baseline, f"{f.base:,.2f} {f.unit}", f"{f.lib:,.2f} {f.unit}",
                     f"{f.ratio:.2f}x", f.target, met))  # fmt: skip
    widths = [min(max(len(r[i]) for r in rows), 60) for i in range(len(head))]
    lines = []
    for i, r in enumerate(rows):
        lines.append(" | ".join(c.ljust(w) for c, w in zip(r, widths)))
        if i == 0:
            lines.append("-+-".join("-" * w for w in widths))
    notes = [f"  {f.name}: {f.note}" for f in figures if f.note]
    return "\n".join(lines + (["notes:", *notes] if notes else []))


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    p.add_argument("--only", default=",".join(FIGURES), help=f"comma list of {FIGURES}")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    p.add_argument("--json", default="bench-results.json", help="where to write the table")
    a = p.parse_args(argv)
    chosen = [x.strip() for x in a.only.split(",") if x.strip()]
    unknown = set(chosen) - set(FIGURES)
    if unknown:
        p.error(f"unknown figures {sorted(unknown)}; choose among {FIGURES}")
    figures: List[Figure] = []
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in FIGURES:
            if name not in chosen:
                continue
            t = time.time()
            print(f"== {name} ...", file=sys.stderr, flush=True)
            if name == "transition":
                got: Any = fig_transition(a.rounds)
            elif name == "import":
                got = fig_import(a.rounds)
            elif name == "cli":
                got = fig_cli(a.rounds, work)
            elif name == "claims":
                got = fig_claims(max(a.rounds - 2, 1))
            elif name == "bulk":
                got = fig_bulk(max(a.rounds - 2, 1), work)
            elif name == "interactive":
                got = fig_interactive(a.rounds, work)
            elif name == "pgsubmit":
                got = fig_pgsubmit(a.rounds)
            elif name == "decode":
                got = fig_decode(a.rounds, work)
            elif name == "notices":
                got = fig_notices(a.rounds, work)
            elif name == "queue":
                got = fig_queue(a.rounds, work)
            elif name == "gadget":
                got = fig_gadget(max(a.rounds - 2, 1))
            else:
                got = fig_scaling(a.rounds, work)
            figures.extend(got if isinstance(got, list) else [got])
            print(f"   {time.time() - t:.0f} s", file=sys.stderr, flush=True)
    print(table(figures))
    import siteupdates

    record = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.time() - started),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "siteupdates": str(Path(siteupdates.__file__).parent),
        "rounds": a.rounds,
        "figures": [
            {**attrs.asdict(f), "ratio": round(f.ratio, 3), "met": f.met} for f in figures
        ],
    }
    Path(a.json).write_text(json.dumps(record, indent=2) + "\n")
    print(f"written: {a.json}")
    return 0 if all(f.met is not False for f in figures) else 1
