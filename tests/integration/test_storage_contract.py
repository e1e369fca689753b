"""The storage contract suite against memory and SQLite, and against a broken storage."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from siteupdates.builtin.memory import MemoryStorage
from siteupdates.builtin.sqlite import SqliteStorage
from siteupdates.domain import Target
from siteupdates.ports import Storage
from siteupdates.testing import RaceContract, StorageContract, broken_storage, sample_setup


class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        yield MemoryStorage()


class TestSqliteStorage(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[Storage]:
        s = SqliteStorage(f"sqlite:///{tmp_path / 'contract.db'}")
        yield s
        s.close()


@pytest.mark.parametrize("drop", ["history", "outbox", "tenants", "updates"])
def test_the_contract_fails_a_storage_that_drops_one_write(drop: str) -> None:
    suite = StorageContract()
    store = broken_storage(MemoryStorage, drop)
    store.save_setup(sample_setup())
    with pytest.raises(AssertionError):
        suite.test_every_part_of_a_unit_of_work_is_written(store)


class TestSqliteRaces(RaceContract):
    """Two processes on one SQLite file (R17, R8, the store's own guard)."""

    @pytest.fixture
    def race_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'race.db'}"


def test_the_race_contract_fails_a_store_without_its_own_guard(tmp_path: Path) -> None:
    """A self-test: the R17 guard dropped from the schema, the race contract notices.

    Two OS processes write a second open version update straight through the
    storage; a store that lets both in must fail the contract, or the contract
    proves nothing about the stores that pass it.
    """
    import sqlite3

    from siteupdates import Desk
    from siteupdates.testing.support import FixedClock

    url = f"sqlite:///{tmp_path / 'unguarded.db'}"
    desk = Desk.open(url, clock=FixedClock())
    desk.provider.load_setup(sample_setup())
    with sqlite3.connect(tmp_path / "unguarded.db") as raw:
        raw.execute("DROP INDEX requests_one_open_version")
    suite = TestSqliteRaces()
    try:
        with pytest.raises(AssertionError):
            suite.test_the_store_refuses_a_second_open_version_update_without_any_lock(url, desk)
        # It failed on what the processes wrote (two open at once), not on a crash.
        assert len(desk.storage.open_version_updates("d1", Target.PREVIEW)) > 1
    finally:
        desk.close()
