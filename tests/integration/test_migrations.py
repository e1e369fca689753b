"""Databases written by earlier versions open, migrate forward and work."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from siteupdates.builtin.sqlite import SqliteStorage
from siteupdates.domain import Event, Status, Target
from siteupdates.errors import ConflictError
from siteupdates.service import Desk
from siteupdates.sql import MIGRATIONS, SQLITE, SqlUnit
from siteupdates.testing import make_request, submit_changes

OLD = Path(__file__).parent.parent / "data" / "siteupdates-0.1.0.db"
UTC = timezone.utc
NOW = datetime(2015, 2, 2, 12, tzinfo=UTC)


@pytest.fixture
def old_file(tmp_path: Path) -> str:
    copy = tmp_path / "old.db"
    shutil.copy(OLD, copy)
    return f"sqlite:///{copy}"


def test_a_file_of_release_0_1_0_opens_migrated_with_its_preset(old_file: str) -> None:
    with Desk.open(old_file, clock=lambda: NOW) as desk:
        assert isinstance(desk.storage, SqliteStorage)
        assert desk.storage.schema_version() == len(MIGRATIONS)
        assert desk.preset.name == "Campus Hosting" and desk.preset.capacity == 4
        ov = desk.overview("dana", "maple")
        assert "E.1505.2 - Feb. 14, 2015" in ov.render()


def test_r17_the_migration_supersedes_duplicates_an_old_race_left(old_file: str) -> None:
    with Desk.open(old_file, clock=lambda: NOW) as desk:
        [kept] = desk.storage.open_version_updates("maple", Target.STAGING)
        assert kept.id == "0ld5ec0nd0pe"
        older = [
            r
            for r in desk.storage.requests_for("maple", limit=50).items
            if r.target is Target.STAGING and r.id != kept.id
        ]
        assert [r.status for r in older] == [Status.NEW_VERSION_REQUESTED]
        assert older[0].superseded_by == kept.id
        last = desk.history(older[0].id)[-1]
        assert last.event is Event.SUPERSEDE and last.seq == older[0].revision


def test_old_short_ids_and_new_full_ids_both_work(old_file: str) -> None:
    with Desk.open(old_file, clock=lambda: NOW) as desk:
        assert desk.resolve_id("0ld5ec0n") == "0ld5ec0nd0pe"
        sub = desk.submit("dana", "maple", "production/sandbox", None, db_refresh=True,
                          at=datetime(2015, 2, 20, 22))  # fmt: skip
        assert len(sub.request.id) == 32
        assert desk.resolve_id(sub.request.short_id) == sub.request.id


def test_after_migration_the_store_guards_the_invariant(old_file: str) -> None:
    with Desk.open(old_file, clock=lambda: NOW) as desk:
        second = make_request("maple", version="E.1505.2", db_refresh=False, target="staging")
        with pytest.raises(ConflictError, match="R17"):
            desk.storage.apply(submit_changes(second))


def test_a_migration_that_cannot_repair_stops_with_one_clear_error(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "two-running.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.row_factory = sqlite3.Row
    storage = SqliteStorage.__new__(SqliteStorage)
    storage.url = f"sqlite:///{path}"
    unit = SqlUnit(storage, db.cursor())  # type: ignore[arg-type]
    for m in MIGRATIONS[:2]:
        for statement in m.sql(SQLITE):
            db.execute(statement)
    db.execute("PRAGMA user_version = 2")
    for rid in ("a", "b"):
        r = make_request("d1", id=rid, version="E.1505.2", db_refresh=False, status="in-progress")
        db.execute(
            "INSERT INTO requests (id, tenant_id, target, version, db_refresh, preferred_start, "
            "zone, requested_by, requested_at, status, revision) VALUES (:id, :tenant_id, "
            ":target, :version, :db_refresh, :preferred_start, :zone, :requested_by, "
            ":requested_at, :status, :revision)",
            {k: v for k, v in unit._request_values(r).items() if k not in ("booking",)},
        )
    db.close()
    from siteupdates.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="both under way"):
        SqliteStorage(f"sqlite:///{path}")
