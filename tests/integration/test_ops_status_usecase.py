"""ops.status: the health of a store as a declared use case (issue 26 through issue 22)."""

from __future__ import annotations

from datetime import datetime

import pytest

from siteupdates.errors import BadCall
from siteupdates.service import Desk
from siteupdates.testing import FixedClock


def test_status_is_a_declared_ops_read_that_counts_what_is_queued(
    desk: Desk, clock: FixedClock
) -> None:
    before = desk.ops.status()
    assert before.verdict == 0 and before.queued == 0 and before.label == "ok"
    rid = desk.contact("dana").submit("d1", target="staging", version="E.1505.2",
                                      at=datetime(2026, 3, 7, 22)).request.id  # fmt: skip
    after = desk.ops.status()
    assert after.queued == 1 and after.requests.get("to-be-scheduled") == 1
    assert after.checked_at == desk.now()
    assert rid not in after.overdue


def test_status_takes_no_arguments(desk: Desk) -> None:
    with pytest.raises(BadCall, match="unknown argument 'verbose'"):
        desk.ops.status(verbose=True)  # type: ignore[call-arg]
