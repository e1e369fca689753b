"""Issue 22: an ``apply`` that removes a tenant, racing a submit for it, leaves no orphan.

Two long-lived processes meet at a barrier each round: one applies a setup
without tenant ``d1`` (and without its contact ``dana``), the other submits
``dana``'s request for ``d1``. Either order is fine; what must never happen is
both succeeding, which leaves an accepted open request for a tenant that no
longer exists. The parent counts those orphans and restores the tenant between
rounds.
"""

from __future__ import annotations

import multiprocessing
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List

import attrs
import pytest

from siteupdates.domain import OPEN
from siteupdates.errors import SiteUpdatesError
from siteupdates.plugins import PluginHost
from siteupdates.ports import Setup
from siteupdates.service import Desk
from siteupdates.testing import sample_setup

from .. import chaos
from .test_concurrency import BACKENDS, _needs

CTX = multiprocessing.get_context("spawn")
ROUNDS = 40


def _without_d1() -> Setup:
    """The sample setup less tenant d1 and its only contact; sam keeps d3 alone."""
    full = sample_setup()
    sam = next(c for c in full.contacts if c.id == "sam")
    return attrs.evolve(
        full,
        tenants=tuple(t for t in full.tenants if t.id != "d1"),
        contacts=(attrs.evolve(sam, tenants=frozenset({"d3"})),),
    )


def _desk(url: str) -> Desk:
    return Desk.open(url, host=PluginHost(entry_points=url.startswith("postgres")))


def _racer(role: str, url: str, rounds: int, barrier: Any, results: Any) -> None:
    desk = _desk(url)
    smaller = _without_d1()
    try:
        for _ in range(rounds):
            barrier.wait()
            try:
                if role == "apply":
                    desk.provider.apply_setup(smaller, by="race")
                else:
                    dana = desk.contact("dana")
                    dana.submit("d1", target="staging", version=None, db_refresh=True,
                                at=datetime(2030, 3, 7, 22))  # fmt: skip
                results.put((role, "ok"))
            except SiteUpdatesError as exc:
                results.put((role, type(exc).__name__))
            except BaseException as exc:  # the parent fails the test with it
                results.put((role, f"unexpected {type(exc).__name__}: {exc}"))
    finally:
        desk.close()


def _reset(desk: Desk) -> int:
    """Restore d1 and dana, cancel d1's open requests; the number of orphans found."""
    orphans = 0
    if desk.storage.tenant("d1") is None:
        orphans = len(desk.storage.requests_for("d1", statuses=tuple(OPEN)).items)
        desk.provider.apply_setup(sample_setup(), by="reset")
    for r in desk.storage.requests_for("d1", statuses=tuple(OPEN)).items:
        desk.contact("dana").cancel(r.id)
    return orphans


def apply_submit_race(backend: str, rounds: int = ROUNDS) -> Dict[str, Any]:
    """``rounds`` rounds of apply (removing d1) against submit (for d1): the orphans."""
    with tempfile.TemporaryDirectory() as tmp, chaos.storage_url(backend, Path(tmp)) as url:
        desk = _desk(url)
        desk.provider.apply_setup(sample_setup(), by="seed")
        barrier, results = CTX.Barrier(3), CTX.Queue()
        procs = [
            CTX.Process(target=_racer, args=(role, url, rounds, barrier, results))
            for role in ("apply", "submit")
        ]
        for p in procs:
            p.start()
        orphans, outcomes = 0, []
        try:
            for _ in range(rounds):
                barrier.wait(timeout=120)
                got = dict(results.get(timeout=120) for _ in range(2))
                outcomes.append((got["apply"], got["submit"]))
                orphans += _reset(desk)
        finally:
            for p in procs:
                p.join(timeout=60)
            desk.close()
    both: List[Any] = [o for o in outcomes if o == ("ok", "ok")]
    return {"orphans": orphans, "both_succeeded": len(both), "outcomes": outcomes}


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_an_apply_removing_a_tenant_and_a_submit_for_it_never_both_succeed(
    backend: str,
) -> None:
    _needs(backend)
    got = apply_submit_race(backend)
    unexpected = [o for o in got["outcomes"] if any(x.startswith("unexpected") for x in o)]
    assert unexpected == []
    assert got["orphans"] == 0 and got["both_succeeded"] == 0, got["outcomes"]
    assert len(got["outcomes"]) == ROUNDS
