"""How often racing submits leave two open version updates of one site (R17).

    python benchmarks/race_submits.py [URL] [ROUNDS]

Two processes, released together by a barrier each round, submit a version
update of the same tenant's staging site (E.1450.4 and E.1505.2); after each
round one of them counts the site's open version updates and cancels them.
Prints the number of rounds that left other than one. Written against the API
that release 0.1.0 already had, so the same script measures that release too
(check it out, install it, run this file): on 0.3 and later it calls the same
use cases through the actor handles (``desk.contact("dana")``,
``desk.provider``), on earlier releases through their flat methods. URL
defaults to a fresh SQLite file; ``postgresql://...?schema=NAME`` uses the
PostgreSQL plugin.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing as mp
import sys
import tempfile
from datetime import datetime
from typing import Any, Callable, List, Tuple

OPEN = ("to-be-scheduled", "scheduled", "not-started", "in-progress", "pending-input", "deferred")


def _desk(url: str) -> Any:
    from siteupdates.plugins import PluginHost
    from siteupdates.service import Desk
    from siteupdates.testing import FixedClock

    plugins: List[object] = []
    if url.startswith("postgresql"):
        import siteupdates_postgres

        plugins.append(siteupdates_postgres)
    return Desk.open(url, host=PluginHost(plugins=plugins, entry_points=False), clock=FixedClock())


def _handles(desk: Any) -> bool:
    """Whether the desk has the actor handles (0.3 and later)."""
    return hasattr(type(desk), "ops")


def _as_dana(desk: Any) -> Tuple[Callable[..., Any], Callable[..., Any]]:
    """Dana's submit and cancel, bound to her: the same use cases on every release."""
    if _handles(desk):
        dana = desk.contact("dana")
        return dana.submit, dana.cancel
    return functools.partial(desk.submit, "dana"), functools.partial(desk.cancel, "dana")


def _worker(url: str, i: int, version: str, rounds: int, barrier: Any, out: Any) -> None:
    from siteupdates.errors import SiteUpdatesError

    desk = _desk(url)
    submit, cancel = _as_dana(desk)
    for n in range(rounds):
        barrier.wait()
        # Refused (R17) or a conflict reported is no violation by itself.
        with contextlib.suppress(SiteUpdatesError):
            submit("d1", target="staging", version=version, at=datetime(2026, 3, 7, 22),
                   idempotency_key=f"race-{i}-{n}")  # fmt: skip
        barrier.wait()
        if i == 0:
            found = [
                r
                for r in desk.storage.requests_for("d1", limit=100_000).items
                if r.version is not None and r.target.value == "staging" and r.status.value in OPEN
            ]
            out.put(len(found))
            for r in found:
                cancel(r.id)
        barrier.wait()
    desk.close()


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tempfile.mkdtemp()}/race.db"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    from siteupdates.testing import sample_setup

    desk = _desk(url)
    (desk.provider.load_setup if _handles(desk) else desk.load_setup)(sample_setup())
    desk.close()
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(url, i, v, rounds, barrier, out))
        for i, v in enumerate(("E.1450.4", "E.1505.2"))
    ]
    for p in procs:
        p.start()
    counts = [out.get(timeout=300) for _ in range(rounds)]
    for p in procs:
        p.join()
    bad = sum(c != 1 for c in counts)
    print(f"{url.split('?')[0].split('://')[0]}: {bad} of {rounds} rounds left other than "
          f"one open version update (counts seen: {sorted(set(counts))})")  # fmt: skip
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
