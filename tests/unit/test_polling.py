"""The one poll loop of the worker, the run dispatcher and the deliverer (issue 22)."""

from __future__ import annotations

import logging
import threading
from typing import Callable, List, Optional

import pytest

from siteupdates.app.polling import poll
from siteupdates.errors import StorageError

LOG = logging.getLogger("tests.polling")


class RecordingStop(threading.Event):
    """A stop event whose waits return at once and are recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: List[float] = []

    def wait(self, timeout: Optional[float] = None) -> bool:
        self.waits.append(float(timeout or 0))
        return self.is_set()


def scripted(stop: RecordingStop, script: List[object]) -> Callable[[], int]:
    """A round that plays ``script`` (counts, or exceptions to raise), then stops the loop."""
    steps = iter(script)

    def round_() -> int:
        step = next(steps, None)
        if step is None:
            stop.set()
            return 0
        if isinstance(step, BaseException):
            raise step
        assert isinstance(step, int)
        return step

    return round_


def test_busy_rounds_follow_at_once_and_idle_ones_wait_the_interval() -> None:
    stop = RecordingStop()
    poll(scripted(stop, [3, 1, 0, 2, 0]), stop=stop, interval=5, logger=LOG, name="t")
    assert stop.waits == [5.0, 5.0, 5.0]  # the last after the script ended


def test_until_idle_stops_at_the_first_round_without_work() -> None:
    stop = RecordingStop()
    calls = scripted(stop, [2, 2, 0, 5])
    poll(calls, stop=stop, interval=5, logger=LOG, name="t", until_idle=True)
    assert stop.waits == [] and not stop.is_set()


def test_failing_rounds_are_logged_and_back_off_until_one_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = RecordingStop()
    down = StorageError("the database is down")
    script: List[object] = [down, down, down, down, 0, down, 0]
    with caplog.at_level(logging.ERROR, logger="tests.polling"):
        poll(scripted(stop, script), stop=stop, interval=2, logger=LOG, name="worker w1",
             max_backoff=10)  # fmt: skip
    assert stop.waits == [2.0, 4.0, 8.0, 10.0, 2.0, 2.0, 2.0, 2.0]
    assert caplog.messages.count("worker w1: the database is down") == 5


def test_a_defect_is_not_swallowed() -> None:
    stop = RecordingStop()
    with pytest.raises(ZeroDivisionError):
        poll(scripted(stop, [ZeroDivisionError()]), stop=stop, interval=1, logger=LOG,
             name="t")  # fmt: skip


def test_a_stop_before_the_first_round_runs_none() -> None:
    stop = RecordingStop()
    stop.set()
    ran: List[int] = []

    def round_() -> int:
        ran.append(1)
        return 0

    poll(round_, stop=stop, interval=1, logger=LOG, name="t")
    assert ran == []


def test_a_long_outage_waits_at_most_max_backoff() -> None:
    stop = RecordingStop()
    down = StorageError("down")
    poll(scripted(stop, [down] * 200), stop=stop, interval=0.5, logger=LOG, name="t",
         max_backoff=60)  # fmt: skip
    assert max(stop.waits) == 60.0 and len(stop.waits) == 201
