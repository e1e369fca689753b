"""What one interactive submit costs, held as counts rather than times (issue 24).

A benchmark measures the time (``python -m benchmarks --only interactive``);
these tests hold the causes found there, which do not depend on the machine:
no exception raised and caught on the way, yes/no columns bound as sqlite3
binds them without an adapter search, an instant encoded once per change.
"""

from __future__ import annotations

import builtins
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import FrameType
from typing import Any, List, Optional

import pytest

from siteupdates.builtin.sqlite import SqliteStorage
from siteupdates.domain import timeutil
from siteupdates.service import Desk
from siteupdates.sql import codec
from siteupdates.testing import FixedClock, make_request, sample_setup

UTC = timezone.utc


def _desk(tmp_path: Path) -> Desk:
    storage = SqliteStorage(f"sqlite:///{tmp_path / 'path.db'}")
    storage.save_setup(sample_setup())
    return Desk(storage, clock=FixedClock())


def _submit(desk: Desk, k: int) -> None:
    desk.submit(
        "dana", "d1", "staging" if k % 2 else "production/sandbox", None, db_refresh=True,
        at=datetime(2026, 3, 7, 22) + timedelta(days=k),
    )  # fmt: skip


def test_a_submit_raises_and_catches_no_exception(tmp_path: Path) -> None:
    """An import inside a function of a module with ``__getattr__`` raised one per call."""
    desk = _desk(tmp_path)
    _submit(desk, 0)  # the first submit loads what the change path imports lazily
    raised: List[str] = []

    def trace(frame: FrameType, event: str, arg: Any) -> Optional[Any]:
        if event == "exception":
            raised.append(f"{arg[0].__name__} at {frame.f_code.co_filename}:{frame.f_lineno}")
        return trace

    sys.settrace(trace)
    try:
        for k in range(1, 5):
            _submit(desk, k)
    finally:
        sys.settrace(None)
    desk.close()
    assert raised == []


def test_a_submit_runs_no_from_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``from module import name`` in a function looks for ``module.__path__`` per call.

    On Python 3.8 to 3.11 that lookup builds and drops an AttributeError each
    time (three times the cost of ``import module as m``); the submit path
    imports what it loads lazily as modules.
    """
    desk = _desk(tmp_path)
    _submit(desk, 0)
    real = builtins.__import__
    named: List[str] = []

    def counting(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                 level: int = 0) -> Any:  # fmt: skip
        if fromlist:
            named.append(f"from {name} import {', '.join(fromlist)}")
        return real(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", counting)
    for k in range(1, 5):
        _submit(desk, k)
    monkeypatch.setattr(builtins, "__import__", real)
    desk.close()
    assert named == [], named


def test_sqlite_binds_the_yes_no_columns_as_integers_and_reads_them_back_as_bools(
    tmp_path: Path,
) -> None:
    desk = _desk(tmp_path)
    storage = desk.storage
    assert isinstance(storage, SqliteStorage)
    with storage.unit() as uow:
        values = codec.request_values(make_request("d1", db_refresh=True), uow._instant, uow._flag)
    flags = [values[codec.REQUEST_COLUMNS.index(c)] for c in ("db_refresh", "automatic")]
    assert [type(f) for f in flags] == [int, int] and flags == [1, 0]
    got = desk.submit("dana", "d1", "staging", None, db_refresh=True, at=datetime(2026, 3, 7, 22))
    stored = desk.storage.request(got.request.id)
    assert stored is not None and stored.db_refresh is True and stored.automatic is False
    desk.close()


def test_the_codec_keeps_bools_for_a_driver_with_a_boolean_type() -> None:
    values = codec.request_values(make_request("d1", db_refresh=True))
    assert values[codec.REQUEST_COLUMNS.index("db_refresh")] is True


@pytest.mark.parametrize(
    "instants",
    [
        # the same object twice, then another object of the same value, then a new value
        lambda: (
            [datetime(2026, 1, 1, tzinfo=UTC)] * 2
            + [datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)]
        ),
        # an aware instant in another zone: converted, and its cached text is of UTC
        lambda: [datetime(2026, 1, 1, 5, tzinfo=timezone(timedelta(hours=5)))] * 2,
    ],
)
def test_an_instant_written_again_has_the_same_text(instants: Any) -> None:
    for value in instants():
        expected = value.astimezone(UTC).isoformat(timespec="microseconds")
        assert timeutil.ts(value) == expected


def test_instants_written_by_many_threads_each_get_their_own_text() -> None:
    """The last-instant cache is swapped whole: a thread never reads another's text."""
    wrong: List[str] = []

    def write(offset: int) -> None:
        for k in range(2000):
            value = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=offset * 10_000 + k)
            for _ in range(2):
                if timeutil.ts(value) != value.isoformat(timespec="microseconds"):
                    wrong.append(str(value))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []
