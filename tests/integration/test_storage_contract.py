"""The storage contract suite against memory and SQLite, and against a broken storage."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from siteupdates.builtin.memory import MemoryStorage
from siteupdates.builtin.sqlite import SqliteStorage
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
