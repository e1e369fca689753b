"""Issue 10 with real processes: each notice once, fenced notifiers, workers that die or stall.

The scenarios live in :mod:`tests.chaos` (``python -m tests.chaos ...`` prints
the same figures); these tests assert on them, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os

import psycopg
import pytest

from tests import chaos

BACKENDS = ["sqlite", "postgres"]


def _needs(backend: str) -> None:
    if backend != "postgres":
        return
    try:
        with psycopg.connect(chaos.PG_BASE, connect_timeout=3):
            pass
    except psycopg.Error as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI: {exc}")
        pytest.skip(f"no PostgreSQL server: {str(exc).strip().splitlines()[0]}")


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_three_deliverers_racing_send_each_notice_exactly_once(backend: str) -> None:
    _needs(backend)
    got = chaos.deliver_race(backend, notices=60, deliverers=3)
    assert got["exit_codes"] == [0, 0, 0], got["stderr"]
    assert got["sends"] == 60 and got["sent_once"] == 60
    assert got["duplicated"] == 0 and got["lost"] == 0
    assert got["states"] == {"delivered": 60}


@pytest.mark.slow
def test_a_notifier_slower_than_the_timeout_cannot_send_after_it_was_given_up() -> None:
    got = chaos.slow_notifier()
    assert got["first"] == [0, 1]  # given up
    assert got["second"] == [1, 0]  # delivered by the next pass
    assert got["sends"] == 1


@pytest.mark.slow
def test_a_notifier_that_cannot_be_cancelled_keeps_its_claim_and_sends_once() -> None:
    got = chaos.slow_notifier(legacy=True)
    assert got["sends"] == 1


@pytest.mark.slow
def test_a_deliverer_killed_between_send_and_mark_duplicates_once_with_the_same_key() -> None:
    got = chaos.crash_after_send()
    assert got["killed"]
    assert got["while_leased"] == ["delivered 0, to retry 0, dead 0"]  # the claim still holds
    assert got["after_lease"] == ["delivered 1, to retry 0, dead 0"]
    assert got["sends"] == 2 and got["keys"] == [got["key"]]
    assert got["tokens"] == [1, 2]  # the receiver can tell the claims apart


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_workers_one_killed_one_stalled_perform_nothing_twice_and_lose_nothing(
    backend: str,
) -> None:
    _needs(backend)
    got = chaos.workers(backend, requests=200)
    assert got["completed"] == 200 and got["statuses"] == {"completed": 200}
    assert got["lost"] == 0
    assert got["performed_twice_by_live_workers"] == 0
    # A request held by the stalled worker may run again after the take-over (at least
    # once); the tokens let the system refuse the stale one when it comes last.
    assert got["performed_twice"] <= 4
    assert got["reclaimed"] >= 1
    # Lease 1 s, renewed every third of it: reclaimable within ~1 lease of the kill;
    # taken as soon as a live worker finishes its batch (4 x 0.5 s at most).
    assert got["reclaim_after_kill_max_s"] <= 1.0 + 2.0 + 1.0
