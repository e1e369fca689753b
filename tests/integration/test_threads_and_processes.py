"""One Desk shared by 16 threads, and 4 more processes with Desks of their own, on one store.

The supported arrangement for web hosts (``docs/concurrency.md``): one
:class:`~siteupdates.Desk` per process, shared by the process's threads. For
``SITEUPDATES_SOAK_SECONDS`` (20 under ``CI``, 6 otherwise) 16 threads of this
process on ONE desk, and 4 spawned processes of 4 threads each on theirs,
submit, cancel, move and plan on one SQLite file (WAL) or one fresh PostgreSQL
schema. Every worker counts what the library told it succeeded; afterwards the
store must show exactly that:

* R17: at most one open version update per site;
* every request's history is one gap-free chain ending in its status, its
  revision is the chain's length and it has a provider date exactly when its
  status holds one;
* no lost update: the requests stored are those whose submit succeeded, the
  cancelled ones are those whose cancel succeeded, every move and plan shows
  in the history, each request keeps the preferred start its last successful
  submit or move returned, and a supersede (R17) for every one reported;
* no connection leaked: on PostgreSQL each process's connections stay within
  its ``pool_max`` while it runs (16 threads on a pool of 4: a thread never
  holds two connections, or they would deadlock), none is left inside a
  transaction, and none is left after ``close()``; on SQLite a desk holds the
  file open once (3 descriptors) and none after ``close()``.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import random
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from siteupdates.domain import OPEN, Event, Status, holds_date
from siteupdates.errors import ConflictError, RequestRefused
from siteupdates.metrics import Metrics
from siteupdates.service import Desk

UTC = timezone.utc
CTX = mp.get_context("spawn")

#: How long the threads and processes work; the CI run does the full 20 s.
SECONDS = float(
    os.environ.get("SITEUPDATES_SOAK_SECONDS") or (20.0 if os.environ.get("CI") else 6.0)
)
THREADS = 16
PROCESSES = 4
PROCESS_THREADS = 4
#: The shared desk's pool is smaller than its threads: waiting is fine, deadlock is not.
POOL_MAX = {"main": 4, "child": 2}
PG_BASE = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

NOW = datetime(2026, 3, 2, 15, tzinfo=UTC)  # a Monday
TENANTS = tuple(f"t{i}" for i in range(6))
TARGETS = ("production/sandbox", "staging", "preview")
VERSIONS = ("E.1505.2", "E.1600.3", "E.1700.1")
SETUP: Dict[str, Any] = {
    "catalog": ["E.1450.4", *VERSIONS],
    "tenants": [
        {
            "id": t,
            "name": f"District {t}",
            "plan": "asp",
            "sites": [
                {"kind": kind, "version": "E.1450.4", "since": "2025-01-10 06:00"}
                for kind in ("production", "sandbox", "staging", "preview")
            ],
        }
        for t in TENANTS
    ],
    "contacts": [
        {"id": "ops", "name": "Ops", "email": "ops@example.org", "role": "partner",
         "tenants": list(TENANTS)},
    ],
}  # fmt: skip


def _now() -> datetime:
    return NOW


def _preferred(rng: random.Random) -> datetime:
    """A preferred start after the spring-forward gap of 2026-03-08, local to the contact."""
    return datetime(2026, 3, 9, 22) + timedelta(days=rng.randrange(28), hours=rng.choice((0, 1)))


def soak(desk: Desk, name: str, seconds: float, seed: int) -> Dict[str, Any]:
    """One worker: random submits, cancels, moves, plans and reads; what succeeded, counted."""
    rng = random.Random(seed)
    contact, provider = desk.contact("ops"), desk.provider
    expected: Dict[str, str] = {}  # request -> preferred start its last success returned
    waiting: List[str] = []  # this worker's requests it may still cancel or move
    cancelled: List[str] = []
    moved: List[str] = []
    planned = superseded = calls = 0
    outcomes: Counter[str] = Counter()
    errors: List[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        calls += 1
        roll = rng.random()
        action = ("submit" if roll < 0.45 or not waiting else "cancel" if roll < 0.65
                  else "move" if roll < 0.85 else "plan" if roll < 0.93 else "read")  # fmt: skip
        rid = rng.choice(waiting) if waiting else ""
        try:
            if action == "submit":
                version: Optional[str] = rng.choice((*VERSIONS, None))
                sub = contact.submit(
                    rng.choice(TENANTS), target=rng.choice(TARGETS), version=version,
                    db_refresh=True if version is None else None, at=_preferred(rng),
                    idempotency_key=f"{name}-{calls}",
                )  # fmt: skip
                assert not sub.replayed
                expected[sub.request.id] = sub.request.preferred_start.isoformat()
                waiting.append(sub.request.id)
                superseded += len(sub.superseded)
            elif action == "cancel":
                contact.cancel(rid)
                waiting.remove(rid)
                cancelled.append(rid)
            elif action == "move":
                r = contact.move(rid, at=_preferred(rng))
                expected[rid] = r.preferred_start.isoformat()
                moved.append(rid)
            elif action == "plan":
                planned += len(provider.plan_queue(by=f"plan-{name}").stored)
            else:
                contact.requests(rng.choice(TENANTS), limit=20)
            outcomes[f"{action} ok"] += 1
        except RequestRefused as exc:
            outcomes[f"{action} refused {','.join(exc.rules)}"] += 1
            if rid and action in ("cancel", "move"):
                status = provider.find(rid).status
                if status not in (Status.TO_BE_SCHEDULED, Status.SCHEDULED):
                    waiting.remove(rid)
        except ConflictError:
            outcomes[f"{action} conflict"] += 1
        except Exception as exc:  # anything else is a failure the test reports
            errors.append(f"{name} {action}: {type(exc).__name__}: {exc}")
    return {
        "expected": expected, "cancelled": cancelled, "moved": moved, "planned": planned,
        "planner": f"plan-{name}", "superseded": superseded, "outcomes": dict(outcomes),
        "errors": errors, "calls": calls,
    }  # fmt: skip


def threaded(desk: Desk, prefix: str, threads: int, seconds: float) -> List[Dict[str, Any]]:
    """``threads`` workers on the one ``desk``, released together."""
    found: List[Dict[str, Any]] = []
    gate = threading.Barrier(threads)

    def work(i: int) -> None:
        gate.wait(timeout=60)
        try:
            found.append(soak(desk, f"{prefix}{i}", seconds, seed=hash((prefix, i))))
        except BaseException as exc:  # a worker that dies is reported, not lost
            found.append({"errors": [f"{prefix}{i} died: {exc!r}"]})

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(seconds + 120)
    assert not any(w.is_alive() for w in workers), "a worker thread hangs"
    return found


def open_fds(path: str) -> int:
    """How many of this process's descriptors are open on ``path`` (its -wal, -shm too)."""
    fd_dir = Path("/proc/self/fd")
    n = 0
    for fd in os.listdir(fd_dir):
        with contextlib.suppress(OSError):  # closed meanwhile (the listing's own one)
            n += os.readlink(fd_dir / fd).startswith(path)
    return n


def _open(url: str, backend: str) -> Desk:
    return Desk.open(url, plugins=_plugins(backend), clock=_now)


def _connections(desk: Desk) -> Dict[str, int]:
    """The storage's own account of its connections: pool sizes, or open descriptors."""
    storage: Any = desk.storage
    if hasattr(storage, "pool_stats"):
        # The pool may be opening a connection it decided to add while the threads
        # waited: counted in its size, not yet available. Let it finish.
        for _ in range(50):
            stats = dict(storage.pool_stats())
            if stats["pool_available"] == stats["pool_size"]:
                break
            time.sleep(0.1)
        return stats
    path = storage.url[len("sqlite:///") :]
    return {"fds": open_fds(path) if Path("/proc/self/fd").exists() else -1}


def _process(url: str, backend: str, index: int, seconds: float, ready: Any, go: Any,
             results: Any) -> None:  # fmt: skip
    """One of the other processes: its own desk, shared by its threads."""
    desk = _open(url, backend)
    ready.put(index)
    go.wait(120)
    tallies = threaded(desk, f"p{index}.", PROCESS_THREADS, seconds)
    during = _connections(desk)
    desk.close()
    after = {} if backend == "postgres" else _connections_after(url)
    results.put({"tallies": tallies, "during": during, "after": after})


def _connections_after(url: str) -> Dict[str, int]:
    path = url[len("sqlite:///") :]
    return {"fds": open_fds(path) if Path("/proc/self/fd").exists() else -1}


class Monitor:
    """Samples pg_stat_activity: the most connections each application held at once."""

    def __init__(self, names: List[str]) -> None:
        import psycopg

        self.names = names
        self.most: Counter[str] = Counter()
        self._stop = threading.Event()
        self._conn = psycopg.connect(PG_BASE, autocommit=True)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def count(self) -> Dict[str, Counter[str]]:
        """Per application: its connections by state."""
        rows = self._conn.execute(
            "SELECT application_name, coalesce(state, '') FROM pg_stat_activity "
            "WHERE application_name = ANY(%s)",
            (self.names,),
        ).fetchall()
        found: Dict[str, Counter[str]] = {n: Counter() for n in self.names}
        for name, state in rows:
            found[name][state] += 1
        return found

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for name, states in self.count().items():
                self.most[name] = max(self.most[name], sum(states.values()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def close(self) -> None:
        self._conn.close()


@pytest.fixture
def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Tuple[str, Callable[[str], str]]]:
    """``(backend, url_for(process_name))`` on a fresh SQLite file or PostgreSQL schema."""
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
        yield backend, lambda name: url
        return
    psycopg = pytest.importorskip("psycopg")
    pytest.importorskip("siteupdates_postgres")
    try:
        psycopg.connect(PG_BASE, connect_timeout=3).close()
    except psycopg.Error as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI: {exc}")
        pytest.skip(f"no PostgreSQL server: {str(exc).strip().splitlines()[0]}")
    tag = uuid.uuid4().hex[:10]
    schema = f"su_soak_{tag}"
    sep = "&" if "?" in PG_BASE else "?"

    def url_for(name: str) -> str:
        size = POOL_MAX["main" if name == "main" else "child"]
        return f"{PG_BASE}{sep}schema={schema}&pool_max={size}&application_name=su_{tag}_{name}"

    yield backend, url_for
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def check_store(desk: Desk, tallies: List[Dict[str, Any]]) -> List[str]:
    """Every invariant of the module docstring, as a list of what broke (empty: none)."""
    problems: List[str] = []
    storage = desk.storage
    requests = {r.id: r for t in TENANTS for r in storage.requests_for(t, limit=1_000_000).items}
    expected: Dict[str, str] = {}
    for tally in tallies:
        expected.update(tally["expected"])
    # No lost or phantom submit.
    if set(requests) != set(expected):
        problems.append(
            f"submits: {len(expected)} succeeded, {len(requests)} stored; "
            f"lost {sorted(set(expected) - set(requests))[:5]}, "
            f"unreported {sorted(set(requests) - set(expected))[:5]}"
        )
    # R17: one open version update per site.
    open_versions = Counter(
        (r.tenant_id, r.target.value) for r in requests.values()
        if r.version is not None and r.status in OPEN
    )  # fmt: skip
    problems += [f"R17: {n} open version updates of {site}" for site, n in open_versions.items()
                 if n > 1]  # fmt: skip
    events: Counter[Tuple[str, str]] = Counter()
    cancelled_in_store = set()
    for r in requests.values():
        history = storage.history(r.id)
        chain = [h.seq for h in history] == list(range(1, len(history) + 1)) and all(
            b.from_status is a.to_status for a, b in zip(history, history[1:])
        )
        if not (history and chain and history[0].event is Event.SUBMIT
                and history[-1].to_status is r.status and r.revision == len(history)):  # fmt: skip
            steps = [(h.seq, h.event.value, h.to_status.value) for h in history]
            problems.append(f"history of {r.id} is not one chain to {r.status.value}: {steps}")
        if (r.scheduled_for is not None) != holds_date(r.status, r.resume_status):
            problems.append(f"{r.id} is {r.status.value} with date {r.scheduled_for}")
        for h in history:
            events[(h.event.value, h.by if h.event is Event.SCHEDULE else "")] += 1
            if h.event is Event.CANCEL:
                cancelled_in_store.add(r.id)
        if r.id in expected and r.preferred_start.isoformat() != expected[r.id]:
            problems.append(f"{r.id}: preferred start {r.preferred_start.isoformat()}, "
                            f"the last success returned {expected[r.id]}")  # fmt: skip
    cancelled = [rid for tally in tallies for rid in tally["cancelled"]]
    if sorted(cancelled) != sorted(cancelled_in_store):
        problems.append(f"cancels: {len(cancelled)} succeeded, {len(cancelled_in_store)} stored")
    problems += [f"{rid} was cancelled and is {requests[rid].status.value}"
                 for rid in cancelled if rid in requests
                 and requests[rid].status is not Status.CANCELLED]  # fmt: skip
    moves = sum(len(tally["moved"]) for tally in tallies)
    if events[("move", "")] != moves:
        problems.append(f"moves: {moves} succeeded, {events[('move', '')]} stored")
    for tally in tallies:
        if events[("schedule", tally["planner"])] != tally["planned"]:
            problems.append(f"{tally['planner']} stored {tally['planned']} dates, the store "
                            f"shows {events[('schedule', tally['planner'])]}")  # fmt: skip
    supersedes = sum(tally["superseded"] for tally in tallies)
    if events[("supersede", "")] != supersedes:
        problems.append(f"R17 supersedes: {supersedes} reported, {events[('supersede', '')]} "
                        "stored")  # fmt: skip
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sqlite", "postgres"], indirect=True)
def test_r17_one_desk_per_process_shared_by_threads_keeps_every_invariant(
    store: Tuple[str, Callable[[str], str]],
) -> None:
    backend, url_for = store
    desk = Desk.from_setup(SETUP, url=url_for("main"), plugins=_plugins(backend), clock=_now)
    names = ["main"] + [f"p{i}" for i in range(PROCESSES)]
    monitor = None
    if backend == "postgres":
        monitor = Monitor([url_for(n).rsplit("application_name=", 1)[1] for n in names])
    ready, go, results = CTX.Queue(), CTX.Event(), CTX.Queue()
    procs = [
        CTX.Process(
            target=_process, args=(url_for(f"p{i}"), backend, i, SECONDS, ready, go, results)
        )
        for i in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            ready.get(timeout=120)
        go.set()
        began = time.monotonic()
        metrics = Metrics().install()
        try:
            tallies = threaded(desk, "m.", THREADS, SECONDS)
        finally:
            metrics.uninstall()
        children = [results.get(timeout=SECONDS + 180) for _ in procs]
        elapsed = time.monotonic() - began
    finally:
        for p in procs:
            p.join(60)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    every = tallies + [t for child in children for t in child["tallies"]]
    errors = [e for t in every for e in t["errors"]]
    assert not errors, errors[:10]
    assert elapsed >= SECONDS
    outcomes: Counter[str] = Counter()
    for t in every:
        outcomes.update(t["outcomes"])
    # Enough of each kind of call for the invariants to mean something.
    for action in ("submit", "cancel", "move", "plan"):
        assert outcomes[f"{action} ok"] >= 5, outcomes
    problems = check_store(desk, every)
    assert not problems, problems[:10]
    # The metrics this process's 16 threads fed lost no count either.
    sample = metrics.registry.get_sample_value
    assert sample("siteupdates_plan_runs_total") == sum(
        t["outcomes"].get("plan ok", 0) for t in tallies
    )
    assert sample("siteupdates_plan_scheduled_total") == sum(t["planned"] for t in tallies)
    assert sample("siteupdates_use_cases_total", {"name": "submit", "outcome": "ok"}) == sum(
        t["outcomes"].get("submit ok", 0) for t in tallies
    )

    during = _connections(desk)
    if backend == "postgres":
        assert monitor is not None
        monitor.stop()
        by_name = dict(zip(names, [monitor.most[n] for n in monitor.names]))
        for name, most in by_name.items():
            assert most <= POOL_MAX["main" if name == "main" else "child"], by_name
        # Every connection is back in its pool, none inside a transaction.
        assert during["pool_available"] == during["pool_size"] <= POOL_MAX["main"], during
        for child in children:
            assert child["during"]["pool_available"] == child["during"]["pool_size"], child
        main_name = monitor.names[0]
        for _ in range(50):  # a server process shows its new connection a moment late
            states = monitor.count()
            if sum(states[main_name].values()) == during["pool_size"]:
                break
            time.sleep(0.1)
        assert set(states[main_name]) <= {"idle"}, states
        assert sum(states[main_name].values()) == during["pool_size"], states
        desk.close()
        # A server process leaves pg_stat_activity a moment after its client hung up.
        for _ in range(50):
            left = {n: sum(s.values()) for n, s in monitor.count().items()}
            if not any(left.values()):
                break
            time.sleep(0.1)
        monitor.close()
        assert left == {n: 0 for n in monitor.names}, left
    else:
        if during["fds"] >= 0:
            # One connection for the 16 threads: the file, its WAL and shared memory.
            assert during["fds"] <= 3, during
            for child in children:
                assert 0 < child["during"]["fds"] <= 3 and child["after"]["fds"] == 0, child
        desk.close()
        assert _connections_after(url_for("main"))["fds"] in (0, -1)
    print(f"{backend}: {sum(t['calls'] for t in every)} calls in {elapsed:.1f} s "
          f"by {THREADS} + {PROCESSES}x{PROCESS_THREADS} threads: {dict(outcomes)}")  # fmt: skip


def _plugins(backend: str) -> List[Any]:
    if backend != "postgres":
        return []
    import siteupdates_postgres

    return [siteupdates_postgres]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def shared_desk(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Tuple[Desk, Dict[str, str]]]:
    """A desk with :func:`sample_setup` on each store, and how its URL was made."""
    from siteupdates.testing import sample_setup

    backend = request.param
    if backend == "memory":
        url = "memory://"
    elif backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'one.db'}"
    else:
        psycopg = pytest.importorskip("psycopg")
        try:
            psycopg.connect(PG_BASE, connect_timeout=3).close()
        except psycopg.Error as exc:
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL is required under CI: {exc}")
            pytest.skip(f"no PostgreSQL server: {str(exc).strip().splitlines()[0]}")
        schema = f"su_one_{uuid.uuid4().hex[:10]}"
        sep = "&" if "?" in PG_BASE else "?"
        # One connection, and little patience: a thread asking for a second one
        # while holding the first would wait for itself.
        url = f"{PG_BASE}{sep}schema={schema}&pool_max=1&connect_timeout=2"
    desk = _open(url, "postgres" if backend == "postgres" else backend)
    desk.provider.load_setup(sample_setup())
    yield desk, {"backend": backend}
    desk.close()
    if backend == "postgres":
        with psycopg.connect(PG_BASE, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_a_read_inside_a_threads_own_unit_needs_no_second_connection(
    shared_desk: Tuple[Desk, Dict[str, str]],
) -> None:
    from siteupdates.testing.support import make_request, submit_changes

    desk, _ = shared_desk
    r = make_request(tenant_id="d1")
    with desk.storage.unit() as uow:
        uow.apply(submit_changes(r, key="inside"))
        # The storage, not the unit: on PostgreSQL with pool_max=1 this waited for
        # the unit's own connection until the pool gave up.
        seen = desk.storage.request(r.id)
    assert seen is not None and seen.id == r.id
    assert desk.storage.request(r.id) is not None


def test_a_thread_never_reads_another_threads_uncommitted_unit(
    shared_desk: Tuple[Desk, Dict[str, str]],
) -> None:
    from siteupdates.testing.support import make_request, submit_changes

    desk, _ = shared_desk
    r = make_request(tenant_id="d1")
    written, read = threading.Event(), threading.Event()
    seen: List[Any] = []

    def reader() -> None:
        written.wait(10)
        seen.append(desk.storage.request(r.id))
        read.set()

    thread = threading.Thread(target=reader)
    thread.start()
    with pytest.raises(RuntimeError), desk.storage.unit() as uow:
        uow.apply(submit_changes(r, key="rolled-back"))
        written.set()
        # The reader either waits for this unit (one connection behind a lock) or
        # reads what was committed; it must not see the request this unit undoes.
        read.wait(0.3)
        raise RuntimeError("the use case failed after writing")
    thread.join(10)
    assert seen == [None]
    assert desk.storage.request(r.id) is None
