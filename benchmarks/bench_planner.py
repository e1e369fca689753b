"""Planner growth: plan 10,000 and 100,000 requests and compare, in one run.

    python benchmarks/bench_planner.py

Prints the 100k/10k time ratio (n log n growth gives about 11.5, quadratic 100)
and the 100k plan time against sorting the same requests with sorted().
Each figure is the best of several runs with the garbage collector paused while
timing, as :mod:`timeit` does, so a collection that happens to fall inside one
run does not decide the ratio.
"""

from __future__ import annotations

import gc
import random
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

from siteupdates.domain import WeeklyWindow
from siteupdates.domain.planner import Demand, Plan, plan
from siteupdates.domain.windows import Blackout

UTC = timezone.utc
START = datetime(2026, 1, 1, tzinfo=UTC)
# Nightly windows every day of the week, a 2-hour slot length, 50 at once.
WINDOWS = [WeeklyWindow(d, "22:00", "06:00", "America/Chicago") for d in range(7)]


def demands(n: int, seed: int = 7) -> list[Demand]:
    rnd = random.Random(seed)
    tenants = max(n // 4, 1)
    spread = timedelta(days=n // 500 + 1).total_seconds()
    out = [
        Demand(f"r{i:07d}", (f"t{rnd.randrange(tenants)}",),
               START + timedelta(seconds=rnd.uniform(0, spread)), "America/Chicago")
        for i in range(n)
    ]  # fmt: skip
    return out


def blackouts(n: int) -> list[Blackout]:
    rnd = random.Random(3)
    days = n // 500 + 30
    out = []
    for i in range(n // 100):
        s = START + timedelta(hours=rnd.uniform(0, days * 24))
        out.append(Blackout(f"b{i}", s, s + timedelta(hours=6), f"t{rnd.randrange(n // 4)}"))
    return out


def _timed(fn: Callable[[], object], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        gc.disable()
        try:
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        finally:
            gc.enable()
    return best


def timed_plan(n: int) -> float:
    ds = demands(n)
    bs = blackouts(n)
    horizon = START + timedelta(days=n // 100 + 60)

    plans: list[Plan] = []

    def run() -> None:
        plans[:] = [
            plan(ds, windows=WINDOWS, capacity=50, slot_length=timedelta(hours=2),
                 horizon=horizon, start=START, blackouts=bs)
        ]  # fmt: skip

    best = _timed(run, 7 if n <= 10_000 else 3)
    placed = sum(1 for x in plans[0].placements.values() if x.placed)
    print(f"plan {n:>7,} requests: {best:8.3f} s  ({placed:,} placed)")
    return best


def timed_sort(n: int) -> float:
    ds = demands(n)
    best = _timed(lambda: sorted(ds, key=lambda d: (d.earliest, d.id)), 3)
    print(f"sorted() {n:>7,} requests: {best:8.3f} s")
    return best


def main() -> None:
    small = timed_plan(10_000)
    large = timed_plan(100_000)
    sort = timed_sort(100_000)
    print(f"ratio 100k/10k plan time: {large / small:.1f}  (n log n ~ 11.5, quadratic 100)")
    print(f"ratio 100k plan / 100k sorted(): {large / sort:.0f}")


if __name__ == "__main__":
    main()
