"""The race contract: a storage's invariants under real concurrency, in processes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Callable, Dict, Iterator, List, Tuple

import attrs
import pytest

from siteupdates.domain import Site, Target
from siteupdates.errors import ConflictError
from siteupdates.ports import Setup
from siteupdates.testing.support import T0, FixedClock, make_request, sample_setup, submit_changes

__all__ = ["RACE_ROUNDS", "RaceContract"]

#: How many synchronised rounds each race runs.
RACE_ROUNDS = 40


def _open_desk(url: str, plugins: Tuple[str, ...]) -> Any:
    from siteupdates.plugins import load_plugin
    from siteupdates.service import Desk

    return Desk.open(url, plugins=[load_plugin(p) for p in plugins], clock=FixedClock())


def _race_submitter(
    url: str, plugins: Tuple[str, ...], index: int, version: str, rounds: int,
    barrier: Any, results: Any,
) -> None:  # fmt: skip
    """One submitting process of the R17 race of :class:`RaceContract`."""
    from siteupdates.errors import RequestRefused

    desk = _open_desk(url, plugins)
    try:
        for n in range(rounds):
            barrier.wait(timeout=60)
            try:
                sub = desk.contact("dana").submit(
                    "d1",
                    target="staging",
                    version=version,
                    at=datetime(2026, 3, 7, 22),
                    idempotency_key=f"race-{index}-{n}",
                )
                outcome = "superseded" if sub.superseded else "accepted"
            except RequestRefused as exc:
                outcome = "refused " + ",".join(exc.rules)
            except ConflictError:
                outcome = "conflict"
            barrier.wait(timeout=60)
            if index == 0:
                still_open = desk.storage.open_version_updates("d1", Target.STAGING)
                results.put((n, outcome, len(still_open)))
                for r in still_open:
                    desk.contact("dana").cancel(r.id)
            else:
                results.put((n, outcome, None))
            barrier.wait(timeout=60)
    finally:
        desk.close()


def _race_inserter(
    url: str, plugins: Tuple[str, ...], index: int, rounds: int, barrier: Any, results: Any
) -> None:
    """Writes a second open version update straight through the storage, no lock, no check."""
    desk = _open_desk(url, plugins)
    try:
        for n in range(rounds):
            r = make_request(
                id=f"race-{n}-{index}",
                version="E.1505.2",
                db_refresh=False,
                target="preview",
                tenant_id="d1",
            )
            barrier.wait(timeout=60)
            try:
                desk.storage.apply(submit_changes(r, key=f"race-{n}-{index}"))
                results.put((n, "written"))
            except ConflictError:
                results.put((n, "conflict"))
            barrier.wait(timeout=60)
    finally:
        desk.close()


def _race_cloud_week(
    url: str, plugins: Tuple[str, ...], index: int, rounds: int, barrier: Any, results: Any
) -> None:
    """Books one week's automatic updates, at the same moment as the other process."""
    desk = _open_desk(url, plugins)
    try:
        for n in range(rounds):
            barrier.wait(timeout=60)
            made = desk.provider.cloud_week(
                date(2026, 4, 6) + timedelta(weeks=n), by=f"ops-{index}"
            )
            results.put((n, [r.id for r in made]))
            barrier.wait(timeout=60)
            if index == 0:
                for rid in {r.id for r in made} | {
                    r.id
                    for r in desk.storage.open_version_updates("d3", Target.PRODUCTION_SANDBOX)
                }:
                    desk.provider.fail(rid, "race test: clear the week")
            barrier.wait(timeout=60)
    finally:
        desk.close()


#: Where the contact moves the preferred start to, round by round (a Saturday night, local).
def _moved_to(n: int) -> datetime:
    return datetime(2026, 3, 14, 22) + timedelta(weeks=n % 20)


def _race_move_or_plan(
    url: str, plugins: Tuple[str, ...], index: int, rounds: int, barrier: Any, results: Any
) -> None:
    """Process 0 is a contact moving their request; process 1 the provider planning the queue.

    Each round the contact submits one request, both are released together, and
    then process 0 reads what was stored: the move must not be lost (the
    preferred start is the moved one), the history is one gap-free chain whose
    last entry is the request's state, and a provider date exists exactly in a
    status that has one. The request is cancelled to free its slot.
    """
    from siteupdates.domain import holds_date
    from siteupdates.errors import RequestRefused

    desk = _open_desk(url, plugins)
    try:
        for n in range(rounds):
            rid = ""
            if index == 0:
                rid = desk.contact("dana").submit(
                    "d1", target="staging", version=None, db_refresh=True,
                    at=datetime(2026, 3, 7, 22),
                    idempotency_key=f"move-{n}",
                ).request.id  # fmt: skip
            barrier.wait(timeout=60)
            outcome = ""
            try:
                if index == 0:
                    moved = desk.contact("dana").move(rid, at=_moved_to(n))
                    outcome = "moved after the plan" if moved.revision > 2 else "moved first"
                else:
                    run = desk.provider.plan_queue(by="planner")
                    outcome = f"planned {len(run.stored)}"
            except (ConflictError, RequestRefused) as exc:
                outcome = f"lost: {type(exc).__name__}"
            barrier.wait(timeout=60)
            if index == 0:
                r = desk.storage.request(rid)
                history = desk.provider.history(rid)
                want = desk.contact("dana").submit(
                    "d1", target="staging", version=None, db_refresh=True, at=_moved_to(n),
                    idempotency_key=f"probe-{n}",
                ).request.preferred_start  # fmt: skip
                desk.contact("dana").cancel(
                    desk.storage.by_idempotency_key("dana", f"probe-{n}").id
                )
                chain = [h.seq for h in history] == list(range(1, len(history) + 1)) and all(
                    b.from_status is a.to_status for a, b in zip(history, history[1:])
                )
                results.put(
                    (
                        n,
                        outcome,
                        r is not None and r.preferred_start == want,
                        r is not None and chain and r.revision == len(history)
                        and history[-1].to_status is r.status,
                        r is not None
                        and (r.scheduled_for is not None) == holds_date(r.status, r.resume_status),
                    )
                )  # fmt: skip
                desk.contact("dana").cancel(rid)
            else:
                results.put((n, outcome, None, None, None))
            barrier.wait(timeout=60)
    finally:
        desk.close()


def _reference_of_round(n: int) -> Setup:
    """The reference data process 1 stores in round ``n``: d1's preview and Dana's zone flip."""
    base = sample_setup()
    d1 = base.tenants[0]
    sites = d1.sites + ((Site("preview", "E.1418.2", T0),) if n % 2 == 0 else ())
    zone = "Europe/Berlin" if n % 2 == 0 else "America/Chicago"
    return Setup(
        tenants=(attrs.evolve(d1, sites=sites),),
        contacts=(attrs.evolve(base.contacts[0], zone=zone),),
    )


def _race_reference(
    url: str, plugins: Tuple[str, ...], index: int, rounds: int, barrier: Any, results: Any
) -> None:
    """Process 0 submits round after round on one desk; process 1 changes the reference data.

    Each round process 1 adds or removes d1's preview site and moves Dana's zone;
    process 0's next submits must see the change: a preview refresh accepted
    or refused (R3), and the request's zone the contact's new one.
    """
    from siteupdates.errors import RequestRefused

    desk = _open_desk(url, plugins)
    try:
        for n in range(rounds):
            barrier.wait(timeout=60)
            if index == 1:
                desk.provider.load_setup(_reference_of_round(n))
                results.put((n, None, None))
            barrier.wait(timeout=60)
            if index == 0:
                at = datetime(2026, 3, 7, 22)
                zone = desk.contact("dana").submit(
                    "d1", target="staging", version=None, db_refresh=True, at=at
                )
                try:
                    desk.contact("dana").submit(
                        "d1", target="preview", version=None, db_refresh=True, at=at
                    )
                    preview = "accepted"
                except RequestRefused as exc:
                    preview = "refused " + ",".join(exc.rules)
                results.put((n, preview, zone.request.zone))
            barrier.wait(timeout=60)
    finally:
        desk.close()


def _run_race(target: Callable[..., None], args: Callable[[int], Tuple[Any, ...]],
              rounds: int) -> List[Any]:  # fmt: skip
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args(i), barrier, results)) for i in range(2)]
    for p in procs:
        p.start()
    found = [results.get(timeout=300) for _ in range(2 * rounds)]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0, f"a racing process failed (exit {p.exitcode})"
    return found


class RaceContract:
    """Invariants that must hold when two OS processes race on one store.

    Subclasses provide ``race_url`` (a storage URL, fresh and empty, that two
    processes can open) and may override ``race_plugins`` (plugin specs each
    process loads, such as ``("siteupdates_postgres",)``). Each test runs
    :data:`RACE_ROUNDS` rounds, both processes released together by a barrier.
    """

    race_plugins: Tuple[str, ...] = ()

    @pytest.fixture
    def race_url(self) -> str:
        """Override: the URL of a fresh, empty storage."""
        raise NotImplementedError("provide a 'race_url' fixture")

    @pytest.fixture
    def race_desk(self, race_url: str) -> Iterator[Any]:
        """A desk on the storage with :func:`sample_setup` stored."""
        desk = _open_desk(race_url, self.race_plugins)
        desk.provider.load_setup(sample_setup())
        yield desk
        desk.close()

    def test_r17_racing_submits_leave_one_open_version_update(
        self, race_url: str, race_desk: Any
    ) -> None:
        versions = ("E.1450.4", "E.1505.2")
        found = _run_race(
            _race_submitter,
            lambda i: (race_url, self.race_plugins, i, versions[i], RACE_ROUNDS),
            RACE_ROUNDS,
        )
        counts = [c for _, _, c in found if c is not None]
        outcomes = sorted(o for _, o, _ in found)
        assert len(counts) == RACE_ROUNDS
        assert counts == [1] * RACE_ROUNDS, f"rounds with other than one open: {counts}"
        # Each round: the newer stands; the older was refused (R17) or superseded.
        assert "conflict" not in outcomes
        assert set(outcomes) <= {"accepted", "superseded", "refused R17"}
        assert sum(1 for _, o, _ in found if o in ("accepted", "superseded")) >= RACE_ROUNDS

    def test_reference_data_another_process_changes_is_seen_by_the_next_submit(
        self, race_url: str, race_desk: Any
    ) -> None:
        rounds = RACE_ROUNDS // 2
        found = _run_race(
            _race_reference, lambda i: (race_url, self.race_plugins, i, rounds), rounds
        )
        seen = sorted((n, p, z) for n, p, z in found if p is not None)
        assert seen == [
            (n, "accepted", "Europe/Berlin") if n % 2 == 0
            else (n, "refused R3", "America/Chicago")
            for n in range(rounds)
        ]  # fmt: skip

    def test_the_store_refuses_a_second_open_version_update_without_any_lock(
        self, race_url: str, race_desk: Any
    ) -> None:
        found = _run_race(
            _race_inserter, lambda i: (race_url, self.race_plugins, i, RACE_ROUNDS), RACE_ROUNDS
        )
        by_round: Dict[int, List[str]] = {}
        for n, outcome in found:
            by_round.setdefault(n, []).append(outcome)
        # The first round writes one; every later round finds that one still open.
        assert sorted(by_round[0]) == ["conflict", "written"]
        assert all(v == ["conflict", "conflict"] for n, v in by_round.items() if n > 0)
        assert len(race_desk.storage.open_version_updates("d1", Target.PREVIEW)) == 1

    def test_r13_a_contact_moving_while_the_provider_plans_loses_no_update(
        self, race_url: str, race_desk: Any
    ) -> None:
        found = _run_race(
            _race_move_or_plan, lambda i: (race_url, self.race_plugins, i, RACE_ROUNDS),
            RACE_ROUNDS,
        )  # fmt: skip
        contact = [f for f in found if f[2] is not None]
        assert len(contact) == RACE_ROUNDS
        assert not [f for f in found if f[1].startswith("lost")], found
        assert all(kept for _, _, kept, _, _ in contact), "a move was lost"
        assert all(chain for _, _, _, chain, _ in contact), "a history is not one chain"
        assert all(dated for _, _, _, _, dated in contact), "a date outside a dated status"

    def test_r8_racing_weekly_bookings_book_each_tenant_once_a_week(
        self, race_url: str, race_desk: Any
    ) -> None:
        found = _run_race(
            _race_cloud_week,
            lambda i: (race_url, self.race_plugins, i, RACE_ROUNDS),
            RACE_ROUNDS,
        )
        by_round: Dict[int, List[str]] = {}
        for n, made in found:
            by_round.setdefault(n, []).extend(made)
        assert [len(by_round[n]) for n in range(RACE_ROUNDS)] == [1] * RACE_ROUNDS
