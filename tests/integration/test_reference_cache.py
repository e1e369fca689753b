"""Units of work keep decoded contacts, tenants and the catalog while nothing changed them.

The copies are valid while ``reference_version`` holds the value they were read
at; triggers bump it in every transaction that writes those tables, whoever
writes (this library, another process, another program). The race with a
second OS process is in :class:`siteupdates.testing.RaceContract`.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Iterator

import attrs
import pytest

from siteupdates import Desk
from siteupdates.domain import Status
from siteupdates.errors import AccessDenied, RequestRefused
from siteupdates.ports import Setup
from siteupdates.sql import SqlStorage, SqlUnit
from siteupdates.testing import FixedClock, sample_setup

AT = datetime(2026, 3, 7, 22)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ref.db'}"


@pytest.fixture
def desk(url: str) -> Iterator[Desk]:
    d = Desk.open(url, clock=FixedClock())
    d.load_setup(sample_setup())
    # A first submit decodes Dana, d1 and the catalog into the storage's copies.
    d.submit("dana", "d1", "staging", None, db_refresh=True, at=AT)
    yield d
    d.close()


def _counter(storage: object) -> int:
    assert isinstance(storage, SqlStorage)
    return int(storage._fetch("SELECT n FROM reference_version")[0]["n"])


def test_a_change_by_another_program_is_seen_by_the_next_submit(desk: Desk, url: str) -> None:
    path = url[len("sqlite:///") :]
    with sqlite3.connect(path) as other:  # not this library: raw SQL on the file
        other.execute("UPDATE contacts SET zone = 'Europe/Berlin' WHERE id = 'dana'")
        other.execute("DELETE FROM catalog WHERE version = 'E.1505.2'")
    sub = desk.submit("dana", "d1", "staging", None, db_refresh=True, at=AT)
    assert sub.request.zone == "Europe/Berlin"
    with pytest.raises(RequestRefused) as refused:
        desk.submit("dana", "d1", "production/sandbox", "E.1505.2", at=AT)
    assert "R7" in refused.value.rules


def test_a_change_through_another_storage_is_seen_by_the_next_submit(desk: Desk, url: str) -> None:
    with Desk.open(url, clock=FixedClock()) as other:
        dana = sample_setup().contacts[0]
        other.load_setup(Setup(contacts=(attrs.evolve(dana, tenants={"d2"}),)))
    with pytest.raises(AccessDenied):
        desk.submit("dana", "d1", "staging", None, db_refresh=True, at=AT)


@pytest.mark.parametrize("table", ["contacts", "tenants", "sites", "catalog"])
def test_every_write_of_a_reference_table_bumps_the_counter(desk: Desk, table: str) -> None:
    before = _counter(desk.storage)
    column = "version" if table == "catalog" else "rowid"
    with desk.storage.unit() as uow:
        assert isinstance(uow, SqlUnit)
        uow._x(f"UPDATE {table} SET {column} = {column}")
    assert _counter(desk.storage) > before


def test_a_submit_does_not_bump_the_counter(desk: Desk) -> None:
    before = _counter(desk.storage)
    desk.submit("dana", "d1", "staging", None, db_refresh=True, at=AT)
    assert _counter(desk.storage) == before


def test_a_unit_that_writes_reference_data_and_rolls_back_leaves_the_copies_right(
    desk: Desk,
) -> None:
    d1 = sample_setup().tenants[0]
    with pytest.raises(RuntimeError), desk.storage.unit() as uow:
        assert isinstance(uow, SqlUnit)
        # Reads its own write, then rolls it back: nothing of it may be kept.
        uow.put_tenants([attrs.evolve(d1, sites=d1.sites[:2])], check=False)
        seen = uow.tenant("d1")
        assert seen is not None and [s.kind.value for s in seen.sites] == [
            "production", "sandbox",
        ]  # fmt: skip
        raise RuntimeError("roll back")
    sub = desk.submit("dana", "d1", "staging", None, db_refresh=True, at=AT)
    assert sub.request.target.value == "staging"


def test_copies_are_shared_only_after_commit(desk: Desk, url: str) -> None:
    storage = desk.storage
    assert isinstance(storage, SqlStorage)
    with Desk.open(url, clock=FixedClock()) as other:
        other.load_setup(Setup(contacts=(attrs.evolve(sample_setup().contacts[0],
                                                      zone="Asia/Tokyo"),)))  # fmt: skip
    with pytest.raises(RuntimeError), storage.unit() as uow:
        found = uow.contact("dana")
        assert found is not None and found.zone == "Asia/Tokyo"
        raise RuntimeError("roll back")
    shared = storage._shared_reference
    assert shared is None or shared.version != _counter(storage) or "dana" not in shared.contacts


def test_the_gadget_decodes_a_contact_and_tenant_once_per_counter_value(
    desk: Desk, url: str
) -> None:
    """Issue 24: the gadget's read keeps what it decoded in the storage's copies."""
    storage = desk.storage
    assert isinstance(storage, SqlStorage)
    first = desk.contact("dana").gadget()
    shared = storage._shared_reference
    assert shared is not None and shared.version == _counter(storage)
    assert shared.contacts["dana"].id == "dana" and shared.tenants["d1"] == first.tenant
    assert desk.contact("dana").gadget() == first
    # Another program renames the tenant: the counter moves, the page shows the new name.
    path = url[len("sqlite:///") :]
    with sqlite3.connect(path) as other:
        other.execute("UPDATE tenants SET name = 'Renamed District' WHERE id = 'd1'")
    again = desk.contact("dana").gadget()
    assert again.tenant is not None and again.tenant.name == "Renamed District"
    assert again.overview is not None and again.overview.tenant_name == "Renamed District"
    assert again.etag != first.etag


def test_the_gadget_read_inside_an_open_unit_keeps_no_copy(desk: Desk) -> None:
    """A read on the connection of this thread's open unit may see its uncommitted writes."""
    storage = desk.storage
    assert isinstance(storage, SqlStorage)
    d1 = sample_setup().tenants[0]
    storage._shared_reference = None
    with pytest.raises(RuntimeError), storage.unit() as uow:
        uow.put_tenants([attrs.evolve(d1, name="Not Committed")], check=False)
        got = storage.contact_tenants_requests("dana", None, [])
        assert got is not None
        got = storage.contact_tenants_requests("dana", "d1", list(Status))
        assert got is not None and got[1][0].name == "Not Committed"  # its own write
        raise RuntimeError("roll back")
    assert storage._shared_reference is None
    shown = desk.contact("dana").gadget()
    assert shown.tenant is not None and shown.tenant.name == d1.name
