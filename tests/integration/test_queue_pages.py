"""The provider's queue page counts its list only up to a cap, and says so (issue 24)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import List

import pytest

from siteupdates import ports
from siteupdates.builtin.memory import MemoryStorage
from siteupdates.builtin.sqlite import SqliteStorage
from siteupdates.domain import Status
from siteupdates.ports import ChangeSet, Storage
from siteupdates.sql import base
from siteupdates.testing import T0, make_request, sample_setup


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_queue_longer_than_the_cap_is_counted_as_at_least_the_cap(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ports, "COUNT_CAP", 5)
    monkeypatch.setattr(base, "COUNT_CAP", 5)
    storage: Storage = (
        MemoryStorage() if kind == "memory" else SqliteStorage(f"sqlite:///{tmp_path / 'q.db'}")
    )
    storage.save_setup(sample_setup())
    made = [make_request(requested_at=T0 + timedelta(minutes=i)) for i in range(8)]
    storage.apply(ChangeSet(inserts=tuple(made)))
    page = storage.page_in([Status.TO_BE_SCHEDULED], limit=3)
    assert [r.id for r in page] == [r.id for r in made[:3]]
    assert page.more and not page.exact and page.total == 5  # "at least 5"
    rest = storage.page_in([Status.TO_BE_SCHEDULED], limit=10, after=page[-1].id)
    assert [r.id for r in rest] == [r.id for r in made[3:]] and not rest.more
    storage.close()


@pytest.mark.parametrize("command", [["queue"], ["provider", "queue"]])
def test_the_command_line_says_at_least_when_the_queue_was_counted_up_to_the_cap(
    command: List[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from siteupdates.cli import main

    monkeypatch.setattr(ports, "COUNT_CAP", 5)
    monkeypatch.setattr(base, "COUNT_CAP", 5)
    db = tmp_path / "q.db"
    storage = SqliteStorage(f"sqlite:///{db}")
    storage.save_setup(sample_setup())
    storage.apply(
        ChangeSet(
            inserts=tuple(make_request(requested_at=T0 + timedelta(minutes=i)) for i in range(8))
        )
    )
    storage.close()
    assert main(["--db", str(db), *command, "--limit", "3"]) == 0
    assert "(3 of at least 5; use --offset/--limit for more)" in capsys.readouterr().out
    assert main(["--db", str(db), *command, "--limit", "6", "--offset", "2"]) == 0
    assert "of at least" not in capsys.readouterr().out  # the last page: nothing follows
