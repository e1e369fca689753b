"""Real-process scenarios of issue 10, runnable alone to print their figures.

    python -m tests.chaos deliver-race [--backend sqlite|postgres] [--notices N] [--deliverers K]
    python -m tests.chaos workers [--backend sqlite|postgres] [--requests N]
    python -m tests.chaos slow-notifier
    python -m tests.chaos crash-after-send

Each seeds a fresh SQLite file (or PostgreSQL schema, dropped after), starts
``siteupdates`` command processes with the plugins of
:mod:`tests.notifier_plugin`, and counts what reached the outside world from
the files those plugins append to. ``--legacy`` uses the first release's hook
signatures, so the same scenario runs on an older checkout (put its ``src``
first on ``PYTHONPATH``) for a before/after comparison. The tests in
``tests/integration/test_concurrency.py`` assert on these figures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from siteupdates.domain import Event, Status, submitted
from siteupdates.plugins import PluginHost
from siteupdates.ports import ChangeSet
from siteupdates.service import Desk
from siteupdates.testing import make_request, sample_setup, transition

from .notifier_plugin import read_lines

ROOT = Path(__file__).resolve().parent.parent
UTC = timezone.utc
PG_BASE = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def storage_url(backend: str, workdir: Path) -> Iterator[str]:
    """A fresh storage URL: a SQLite file in ``workdir``, or a PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'chaos.db'}"
        return
    import psycopg
    from psycopg import sql

    schema = f"su_chaos_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in PG_BASE else "?"
    try:
        yield f"{PG_BASE}{sep}schema={schema}&pool_max=4"
    finally:
        with psycopg.connect(PG_BASE, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )


def _desk(url: str) -> Desk:
    return Desk.open(url, host=PluginHost(entry_points=url.startswith("postgres")))


def _env(**extra: str) -> Dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (path, str(ROOT)) if p),
            **extra}  # fmt: skip


def _cli(url: str, plugin: str, *args: str) -> List[str]:
    return [sys.executable, "-m", "siteupdates.cli", "--url", url, "--plugin", plugin, *args]


def seed_notices(url: str, n: int) -> List[str]:
    """``n`` submitted requests: ``n`` due notices (no calendar entry, no reminder)."""
    desk = _desk(url)
    desk.load_setup(sample_setup())
    keys = []
    for i in range(n):
        sub = desk.submit("dana", "d1", "staging", None, db_refresh=True,
                          at=datetime(2030, 3, 7, 22), idempotency_key=f"n{i}")  # fmt: skip
        keys.append(f"{sub.request.id}:1:accepted")
    desk.close()
    return keys


def deliver_race(
    backend: str = "sqlite", notices: int = 60, deliverers: int = 3, legacy: bool = False
) -> Dict[str, Any]:
    """K ``deliver`` processes started together over one outbox: sends per notice."""
    with tempfile.TemporaryDirectory() as tmp, storage_url(backend, Path(tmp)) as url:
        keys = seed_notices(url, notices)
        sent = str(Path(tmp) / "sent.jsonl")
        plugin = "tests.notifier_plugin:" + ("LegacyFileNotifier" if legacy else "FileNotifier")
        extra = [] if legacy else ["--batch", "2"]  # small claims, so the deliverers interleave
        procs = [
            subprocess.Popen(
                _cli(url, plugin, "deliver", "--timeout", "10", *extra),
                env=_env(SU_TEST_SENT=sent),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(deliverers)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        lines = read_lines(sent)
        counts = Counter(r["key"] for r in lines)
        desk = _desk(url)
        states = Counter(o.state.value for o in desk.storage.outbox())
        desk.close()
    return {
        "backend": backend,
        "deliverers": deliverers,
        "notices": notices,
        "sends": sum(counts.values()),
        "sent_once": sum(1 for k in keys if counts[k] == 1),
        "duplicated": sum(1 for k in keys if counts[k] > 1),
        "max_sends_of_one": max(counts.values(), default=0),
        "lost": sum(1 for k in keys if counts[k] == 0),
        "states": dict(states),
        "exit_codes": [p.returncode for p in procs],
        "processes_that_sent": len({r["pid"] for r in lines}),
        "stderr": [e[-500:] for _, e in outs if e.strip() and "notice" not in e[-500:]],
    }


def slow_notifier(legacy: bool = False) -> Dict[str, Any]:
    """A notifier slower (1.5 s) than the timeout (0.5 s), in a process that lives on.

    One pass gives the attempt up; 2 s later (the given-up call has had time to
    finish) a second pass delivers. Counts the sends of the one notice.
    """
    from .notifier_plugin import FileNotifier, LegacyFileNotifier

    with tempfile.TemporaryDirectory() as tmp, storage_url("sqlite", Path(tmp)) as url:
        [key] = seed_notices(url, 1)
        sent = str(Path(tmp) / "sent.jsonl")
        notifier = (LegacyFileNotifier if legacy else FileNotifier)(sent)
        notifier.slow = 1.5
        desk = Desk.open(url, host=PluginHost(plugins=[notifier]))
        first = desk.deliver(timeout=0.5, base_delay=0)
        time.sleep(2.0)
        notifier.slow = 0
        second = desk.deliver(timeout=5)
        desk.close()
        sends = [r for r in read_lines(sent) if r["key"] == key]
    return {
        "first": [first.delivered, first.retried],
        "second": [second.delivered, second.retried],
        "sends": len(sends),
    }


def crash_after_send() -> Dict[str, Any]:
    """A deliverer killed between send and mark; another takes over: sends, and their keys."""
    with tempfile.TemporaryDirectory() as tmp, storage_url("sqlite", Path(tmp)) as url:
        [key] = seed_notices(url, 1)
        sent = str(Path(tmp) / "sent.jsonl")
        plugin = "tests.notifier_plugin:FileNotifier"
        first = subprocess.run(
            _cli(url, plugin, "deliver", "--lease", "4"),
            env=_env(SU_TEST_SENT=sent, SU_TEST_DIE_AFTER_SEND="1"), capture_output=True,
            text=True, timeout=60,
        )  # fmt: skip
        killed_at = time.monotonic()
        early = subprocess.run(_cli(url, plugin, "deliver"), env=_env(SU_TEST_SENT=sent),
                               capture_output=True, text=True, timeout=60)  # fmt: skip
        time.sleep(max(0.0, 4.2 - (time.monotonic() - killed_at)))  # the dead one's lease ends
        late = subprocess.run(_cli(url, plugin, "deliver"), env=_env(SU_TEST_SENT=sent),
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        sends = read_lines(sent)
    return {
        "killed": first.returncode == -signal.SIGKILL,
        "while_leased": early.stdout.strip().splitlines()[:1],
        "after_lease": late.stdout.strip().splitlines()[:1],
        "sends": len(sends),
        "keys": sorted({r["key"] for r in sends}),
        "key": key,
        "tokens": [r["token"] for r in sends],
    }


def seed_requests(url: str, n: int) -> List[str]:
    """``n`` Scheduled requests, all due now, written in one batch."""
    desk = _desk(url)
    desk.load_setup(sample_setup())
    past = datetime.now(UTC) - timedelta(minutes=5)
    cs, ids = ChangeSet(), []
    for i in range(n):
        r = make_request(requested_at=past + timedelta(milliseconds=i))
        booked, step = transition(r, Event.SCHEDULE, date=past)
        cs = cs + ChangeSet(inserts=(booked,), history=(submitted(r), *step.history))
        ids.append(r.id)
    desk.storage.apply(cs)
    desk.close()
    return ids


def workers(
    backend: str = "sqlite",
    requests: int = 200,
    legacy: bool = False,
    lease: float = 1.0,
    batch: int = 4,
    update_seconds: float = 0.5,
    stop_for: float = 2.5,
) -> Dict[str, Any]:
    """4 workers (lease 1 s, batch 4, 0.5 s updates); w0 SIGKILLed, w1 SIGSTOPped 2.5 s."""
    with tempfile.TemporaryDirectory() as tmp, storage_url(backend, Path(tmp)) as url:
        ids = seed_requests(url, requests)
        performed = str(Path(tmp) / "performed.jsonl")
        plugin = "tests.notifier_plugin:" + ("LegacyUpdater" if legacy else "FencedUpdater")
        procs = []
        for k in range(4):
            env = _env(SU_TEST_PERFORMED=performed, SU_TEST_UPDATE_SECONDS=str(update_seconds),
                       SU_TEST_WORKER=f"w{k}")  # fmt: skip
            procs.append(subprocess.Popen(
                _cli(url, plugin, "worker", "--id", f"w{k}", "--lease", str(lease),
                     "--batch", str(batch), "--poll", "0.1"),
                env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            ))  # fmt: skip
        started = time.monotonic()
        # Let every worker get going, then kill one and stall another mid-batch.
        while len({r["worker"] for r in read_lines(performed)}) < 4:
            if time.monotonic() - started > 60:
                break
            time.sleep(0.05)
        killed_at = time.time()
        os.kill(procs[0].pid, signal.SIGKILL)
        os.kill(procs[1].pid, signal.SIGSTOP)
        time.sleep(stop_for)
        os.kill(procs[1].pid, signal.SIGCONT)
        desk = _desk(url)
        # Generous: under a loaded machine 200 runs take minutes; the loop ends when done.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            open_ = desk.storage.requests_in(
                [Status.SCHEDULED, Status.NOT_STARTED, Status.IN_PROGRESS], limit=1
            )
            if not open_:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        for p in procs[1:]:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        statuses = Counter(desk.storage.request(i).status.value for i in ids)  # type: ignore[union-attr]
        # Reclaims of the victims' requests: how long after the kill/stop.
        reclaims = []
        for i in ids:
            for h in desk.storage.history(i):
                if h.event is Event.RECLAIM:
                    reclaims.append(h.at.timestamp() - killed_at)
        desk.close()
        lines = read_lines(performed)
    accepted: Dict[str, List[str]] = {}
    for r in lines:
        if r["accepted"]:
            accepted.setdefault(r["request"], []).append(r["worker"])
    victims = {"w0", "w1"}
    twice = {k: v for k, v in accepted.items() if len(v) > 1}
    twice_live = {k: v for k, v in twice.items() if len([w for w in v if w not in victims]) > 1}
    return {
        "backend": backend,
        "requests": requests,
        "completed": statuses.get("completed", 0),
        "statuses": dict(statuses),
        "performed": len(accepted),
        "performed_twice": len(twice),
        "performed_twice_by_live_workers": len(twice_live),
        "stale_refused": sum(1 for r in lines if not r["accepted"]),
        "lost": sum(1 for i in ids if i not in accepted),
        "reclaimed": len(reclaims),
        "reclaim_after_kill_max_s": round(max(reclaims, default=0.0), 2),
        "reclaim_after_kill_min_s": round(min(reclaims, default=0.0), 2),
        "seconds": round(elapsed, 1),
    }


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.chaos")
    p.add_argument("scenario", choices=["deliver-race", "workers", "slow-notifier",
                                        "crash-after-send"])  # fmt: skip
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--notices", type=int, default=12)
    p.add_argument("--deliverers", type=int, default=3)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--legacy", action="store_true", help="the first release's hook signatures")
    a = p.parse_args(argv)
    if a.scenario == "deliver-race":
        result = deliver_race(a.backend, a.notices, a.deliverers, a.legacy)
    elif a.scenario == "workers":
        result = workers(a.backend, a.requests, a.legacy)
    elif a.scenario == "slow-notifier":
        result = slow_notifier(a.legacy)
    else:
        result = crash_after_send()
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
