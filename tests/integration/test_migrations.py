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


def _old_file_with(tmp_path: Path, rows: list) -> str:  # type: ignore[type-arg]
    """A SQLite file at schema 2 (release 0.1.0) holding the given requests of d1."""
    import sqlite3

    from siteupdates.testing import sample_setup

    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.row_factory = sqlite3.Row
    for m in MIGRATIONS[:2]:
        for statement in m.sql(SQLITE):
            db.execute(statement)
    db.execute("PRAGMA user_version = 2")
    storage = SqliteStorage.__new__(SqliteStorage)
    storage.url = f"sqlite:///{path}"
    unit = SqlUnit(storage, db.cursor())  # type: ignore[arg-type]
    tenant = sample_setup().tenants[0]
    db.execute("INSERT INTO tenants (id, name, plan) VALUES (:id, :name, :plan)",
               {"id": tenant.id, "name": tenant.name, "plan": tenant.plan.value})  # fmt: skip
    contact = sample_setup().contacts[0]
    db.execute("INSERT INTO contacts (id, name, email, role, zone, tenants) VALUES "
               "('dana', 'Dana', 'dana@d1.example', 'district', NULL, '[\"d1\"]')")  # fmt: skip
    assert contact.id == "dana"
    for r in rows:
        values = {
            k: v
            for k, v in unit._request_values(r).items()
            if k not in ("booking", "resume_status")  # columns of later schemas
        }
        db.execute(
            f"INSERT INTO requests ({', '.join(values)}) VALUES "
            f"({', '.join(':' + k for k in values)})",
            values,
        )
    db.close()
    return f"sqlite:///{path}"


def _req(rid: str, version: str, minute: int, status: str = "to-be-scheduled") -> object:
    return make_request(
        "d1", id=rid, version=version, db_refresh=False, target="staging", status=status,
        requested_at=NOW.replace(hour=1, minute=minute),
    )  # fmt: skip


def test_r17_the_repair_keeps_what_r17_would_and_tells_the_contacts(tmp_path: Path) -> None:
    url = _old_file_with(
        tmp_path,
        [
            _req("newer-early", "E.1505.2", 1),  # the newest of its line stands
            _req("older-late", "E.1450.4", 2),  # older, requested later: superseded
            _req("other-line", "F.2001.1", 0),  # another line: ended with a reason
        ],
    )
    with Desk.open(url, clock=lambda: NOW) as desk:
        get = desk.storage.request
        assert [r.id for r in desk.storage.open_version_updates("d1", Target.STAGING)] == [
            "newer-early"
        ]
        older, other = get("older-late"), get("other-line")
        assert older is not None and older.status is Status.NEW_VERSION_REQUESTED
        assert older.superseded_by == "newer-early"
        assert other is not None and other.status is Status.UNABLE_TO_COMPLETE
        assert "one open version update" in (other.reason or "")
        told = {o.request_id for o in desk.storage.outbox() if o.kind == "notice"}
        assert told == {"older-late", "other-line"}


def test_r17_two_updates_under_way_are_repaired_not_refused(tmp_path: Path) -> None:
    url = _old_file_with(
        tmp_path,
        [_req("a", "E.1505.2", 1, "in-progress"), _req("b", "E.1505.2", 2, "not-started")],
    )
    with Desk.open(url, clock=lambda: NOW) as desk:
        a, b = desk.storage.request("a"), desk.storage.request("b")
        assert a is not None and a.status is Status.IN_PROGRESS  # the earlier one stands
        assert b is not None and b.status is Status.UNABLE_TO_COMPLETE
        assert [h.event for h in desk.history("b")] == [Event.FAIL]


def test_an_older_file_keeps_its_dates_only_where_a_status_has_one(tmp_path: Path) -> None:
    slot = datetime(2026, 3, 8, 9, tzinfo=UTC)
    rows = {
        "asked-when-scheduled": ("pending-input", slot),
        "asked-when-queued": ("pending-input", None),
        "cancelled": ("cancelled", slot),
        "scheduled": ("scheduled", slot),
    }
    url = _old_file_with(
        tmp_path,
        [make_request("d1", id=rid, status=st, scheduled_for=when)
         for rid, (st, when) in rows.items()],
    )  # fmt: skip
    with Desk.open(url, clock=lambda: NOW) as desk:
        got = {rid: desk.storage.request(rid) for rid in rows}
        assert {rid: (r.resume_status, r.scheduled_for) for rid, r in got.items() if r} == {
            "asked-when-scheduled": (Status.SCHEDULED, slot),
            "asked-when-queued": (Status.TO_BE_SCHEDULED, None),
            "cancelled": (None, None),
            "scheduled": (None, slot),
        }
        back = desk.answer("dana", "asked-when-scheduled", "yes")
        assert back.status is Status.SCHEDULED and back.scheduled_for == slot
