"""The application layer's scaling, each figure against its own baseline in one run.

    python benchmarks/bench_app.py

1. Submit with history: one submit on a SQLite file whose tenant already has
   5,000 open requests, against the same submit on a file whose tenant has none.
   The reads of a submit go through indexes, so the ratio should stay near 1
   (target at most 1.2).
2. ``plan_queue`` storing a plan of 8,000 queued requests against one of 2,000,
   on SQLite and on ``memory://``. Linear growth gives 4; the target is at most 4.5.

Figures are medians of interleaved rounds (a busy moment of the machine falls
on both sides), measured as process CPU time where the work is in this process.
"""

from __future__ import annotations

import functools
import gc
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, List, Tuple

import attrs

from siteupdates import Desk
from siteupdates.domain import (
    Catalog,
    Contact,
    Site,
    Tenant,
    UpdateRequest,
    WeeklyWindow,
    submitted,
)
from siteupdates.ports import ChangeSet, Setup
from siteupdates.presets import CAMPUS_HOSTING

# A large provider: nightly windows, 50 updates at once, so 8,000 requests fit in weeks.
BIG = attrs.evolve(
    CAMPUS_HOSTING,
    windows=tuple(WeeklyWindow(d, "22:00", "06:00", "America/Chicago") for d in range(7)),
    capacity=50,
)

UTC = timezone.utc
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
PREFERRED = datetime(2026, 3, 9, 4, tzinfo=UTC)


SITES = (
    Site("production", "E.1450.4", T0),
    Site("sandbox", "E.1450.4", T0),
    Site("staging", "E.1450.4", T0),
)


def setup(tenants: int) -> Setup:
    return Setup(
        tenants=tuple(
            Tenant(
                f"t{i:05d}",
                f"Tenant {i}",
                "asp",
                sites=(
                    Site("production", "E.1450.4", T0),
                    Site("sandbox", "E.1450.4", T0),
                    Site("staging", "E.1450.4", T0),
                ),
            )
            for i in range(tenants)
        ),
        contacts=(
            Contact(
                "ops", "Ops", "ops@example.org", "partner", {f"t{i:05d}" for i in range(tenants)}
            ),
        ),
        catalog=Catalog.of("E.1450.4", "E.1505.2"),
    )


def refreshes(tenant: str, n: int, offset: int = 0) -> ChangeSet:
    """``n`` open DB refreshes of ``tenant``, written in one change set."""
    made = [
        UpdateRequest(
            f"{tenant}-{offset + i:07d}",
            tenant,
            "staging",
            None,
            True,
            PREFERRED,
            "America/Chicago",
            "ops",
            T0 + timedelta(seconds=offset + i),
        )
        for i in range(n)
    ]
    return ChangeSet(inserts=tuple(made), history=tuple(submitted(r) for r in made))


def has_handles(desk: Desk) -> bool:
    """Whether the desk has the actor handles (0.3 on); older releases have flat methods."""
    return hasattr(type(desk), "ops")


def provider(desk: Desk) -> Any:
    """The provider's use cases: ``desk.provider``, or an older release's flat desk."""
    return desk.provider if has_handles(desk) else desk


def submitter(desk: Desk, contact_id: str) -> Callable[..., Any]:
    """``submit(tenant_id, target=..., version=..., ...)`` as ``contact_id``, on any release."""
    if has_handles(desk):
        return desk.contact(contact_id).submit
    return functools.partial(desk.submit, contact_id)


def build(path: Path, tenants: int, open_per_tenant: int) -> None:
    with Desk.open(f"sqlite:///{path}", clock=lambda: T0) as desk:
        provider(desk).load_setup(setup(tenants))
        per = open_per_tenant // tenants
        for i in range(tenants):
            if per:
                desk.storage.apply(refreshes(f"t{i:05d}", per))


def cpu(fn: Callable[[], object]) -> float:
    """Process CPU seconds of one call, the collector paused."""
    gc.collect()
    gc.disable()
    try:
        t = time.process_time()
        fn()
        return time.process_time() - t
    finally:
        gc.enable()


def measure_submit(work: Path, rounds: int = 7, submits: int = 200) -> Tuple[float, float]:
    """CPU seconds per submit: tenant with no open requests, with 5,000 (medians)."""
    empty, full = work / "empty.db", work / "full.db"
    build(empty, 1, 0)
    build(full, 1, 5000)
    times = {empty: [], full: []}  # type: dict[Path, List[float]]
    for r in range(rounds):
        for base in (empty, full) if r % 2 == 0 else (full, empty):
            copy = work / f"round-{base.name}"
            shutil.copy(base, copy)
            desk = Desk.open(f"sqlite:///{copy}", clock=lambda: T0, preset=CAMPUS_HOSTING)

            def run(submit: Callable[..., Any] = submitter(desk, "ops")) -> None:
                for k in range(submits):
                    submit(
                        "t00000",
                        target="production/sandbox" if k % 2 else "staging",
                        version=None,
                        db_refresh=True,
                        at=datetime(2026, 3, 8, 22),
                    )

            times[base].append(cpu(run) / submits)
            desk.close()
    return statistics.median(times[empty]), statistics.median(times[full])


def bench_submit(work: Path, rounds: int = 7, submits: int = 200) -> float:
    a, b = measure_submit(work, rounds, submits)
    print(f"submit, tenant with no open requests:    {a * 1e3:.3f} ms CPU per submit")
    print(f"submit, tenant with 5,000 open requests: {b * 1e3:.3f} ms CPU per submit")
    print(f"ratio 5,000 / none: {b / a:.2f} (target <= 1.2)")
    return b / a


def measure_plan(work: Path, rounds: int = 5, store: str = "sqlite") -> Tuple[float, float]:
    """CPU seconds of plan_queue storing 2,000 and 8,000 queued requests (medians).

    ``store`` is ``sqlite`` (a copy of a built file each round) or ``memory``
    (the in-memory storage, filled again each round).
    """
    sizes = (2000, 8000)
    bases = {}
    if store == "sqlite":
        for n in sizes:
            bases[n] = work / f"queue-{n}.db"
            build(bases[n], 200, n)
    times = {n: [] for n in sizes}  # type: dict[int, List[float]]
    for r in range(rounds):
        for n in sizes if r % 2 == 0 else tuple(reversed(sizes)):
            if store == "sqlite":
                copy = work / f"plan-{n}.db"
                shutil.copy(bases[n], copy)
                desk = Desk.open(f"sqlite:///{copy}", clock=lambda: T0, preset=BIG)
            else:
                desk = Desk.open("memory://", clock=lambda: T0, preset=BIG)
                desk.load_setup(setup(200))
                for i in range(200):
                    desk.storage.apply(refreshes(f"t{i:05d}", n // 200))
            horizon = T0 + timedelta(days=365)
            done: List[object] = []

            def run(d: Desk = desk, h: datetime = horizon, out: List[object] = done) -> None:
                out.append(provider(d).plan_queue(horizon=h))

            times[n].append(cpu(run))
            assert len(done[0].stored) == n, "every queued request is placed"  # type: ignore[attr-defined]
            desk.close()
    return statistics.median(times[2000]), statistics.median(times[8000])


def bench_plan(work: Path, rounds: int = 5) -> float:
    worst = 0.0
    for store in ("sqlite", "memory"):
        a, b = measure_plan(work, rounds, store)
        print(f"plan_queue storing 2,000 ({store}): {a:.3f} s CPU")
        print(f"plan_queue storing 8,000 ({store}): {b:.3f} s CPU")
        print(f"ratio 8k / 2k ({store}): {b / a:.2f} (linear 4.0, target <= 4.5)")
        worst = max(worst, b / a)
    return worst


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        submit_ratio = bench_submit(work)
        plan_ratio = bench_plan(work)
    ok = submit_ratio <= 1.2 and plan_ratio <= 4.5
    print("within targets" if ok else "OUTSIDE TARGETS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
