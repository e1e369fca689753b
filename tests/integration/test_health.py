"""Health: what `siteupdates status` tells an on-call engineer, and its verdict 0/1/2."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from siteupdates.app.health import Thresholds, status
from siteupdates.app.worker import Worker
from siteupdates.cli.ops import cmd_status
from siteupdates.cli.render import Out
from siteupdates.errors import ConfigurationError
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, RecordingNotifier, sample_setup

UTC = timezone.utc


def _desk(tmp_path: Path, clock: FixedClock, notifier: RecordingNotifier, **health: Any) -> Desk:
    settings: Dict[str, Any] = {"health": health} if health else {}
    desk = Desk.open(
        f"sqlite:///{tmp_path / 'h.db'}",
        host=PluginHost(plugins=[notifier]),
        clock=clock,
        plugin_settings=settings,
    )
    desk.provider.load_setup(sample_setup())
    return desk


def test_a_quiet_store_is_ok_and_says_what_it_runs(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    desk = _desk(tmp_path, clock, RecordingNotifier())
    h = status(desk.app)
    assert h.verdict == 0 and h.label == "ok"
    assert h.schema_version is not None and h.schema_version >= 1
    assert h.versions["siteupdates.notify.webhooks"].startswith("siteupdates ")
    assert h.render().startswith("OK: siteupdates at 2026-03-01 12:00:00 UTC")
    assert json.loads(json.dumps(h.to_dict()))["status"] == "ok"


def test_overdue_updates_stuck_leases_and_dead_letters_turn_the_verdict(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    notifier = RecordingNotifier()
    desk = _desk(tmp_path, clock, notifier, dead_letters=[1, 2], stuck_leases=[1, 1])
    start = datetime(2026, 3, 8, 4, tzinfo=UTC)
    r1 = (
        desk.contact("dana")
        .submit("d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 7, 22))
        .request.id
    )
    desk.provider.schedule(r1, start)
    r2 = (
        desk.contact("dana")
        .submit("d1", target="production/sandbox", version="E.1505.2", at=datetime(2026, 3, 7, 22))
        .request.id
    )
    desk.provider.schedule(r2, start)
    notifier.refusing = "550 unknown mailbox"
    desk.ops.deliver()
    clock.now = start + timedelta(minutes=30)
    h = status(desk.app)
    assert set(h.overdue) == {r1, r2} and set(h.due) == {r1, r2}
    assert sum(h.dead_letters.values()) == 4  # accepted and scheduled, twice
    assert h.verdict == 2
    by_name = {c.name: c for c in h.checks}
    assert by_name["dead_letters"].verdict == 2 and by_name["overdue"].verdict == 1
    # A worker claims one, then dies: its lease expires in hand.
    claims = desk.app.storage.claim("w-dead", clock.now, 60, limit=1)
    assert len(claims) == 1
    clock.advance(timedelta(minutes=5))
    h = status(desk.app)
    assert [s.request_id for s in h.stuck_leases] == [claims[0].request.id]
    assert h.stuck_leases[0].worker == "w-dead"
    assert {c.name: c.verdict for c in h.checks}["stuck_leases"] == 2
    # Another worker takes it over; the store says so too.
    notifier.refusing = None
    assert Worker(desk, "w2").run_once() >= 1
    assert status(desk.app).stuck_leases == ()


def test_status_command_prints_text_or_json_and_exits_with_the_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    notifier = RecordingNotifier()
    desk = _desk(tmp_path, clock, notifier, pending_age_minutes=[10, 1000])
    desk.contact("dana").submit(
        "d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 7, 22)
    )
    clock.advance(timedelta(minutes=20))  # the accepted notice waits, nobody delivers
    assert cmd_status(desk, argparse.Namespace(), Out(False)) == 1
    text = capsys.readouterr().out
    assert text.startswith("WARNING:") and "oldest due item" in text
    assert cmd_status(desk, argparse.Namespace(), Out(True)) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "warning" and data["verdict"] == 1
    assert data["outbox_pending"] == {"notice": 1}
    assert data["oldest_pending_since"] == "2026-03-01T12:00:00+00:00"


def test_bad_thresholds_are_refused_naming_the_key() -> None:
    cases: List[Tuple[Dict[str, Any], str]] = [
        ({"overdue": [5, 1]}, "critical is below warning"),
        ({"overdue": 3}, r"\[warning, critical\]"),
        ({"dead_letters": [1, float("nan")]}, "must be a number"),
        ({"no_such": [1, 2]}, "unknown key"),
    ]
    for table, words in cases:
        with pytest.raises(ConfigurationError, match=words):
            Thresholds.from_table(table)
    assert Thresholds.from_table({"overdue_after_minutes": 5}).overdue_after_minutes == 5


@pytest.mark.postgres
def test_status_reads_a_postgresql_store_the_same_way(tmp_path: Path) -> None:
    from tests.chaos import storage_url

    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    with storage_url("postgres", tmp_path) as url:
        desk = Desk.open(url, host=PluginHost(entry_points=True), clock=clock)
        try:
            desk.provider.load_setup(sample_setup())
            rid = (
                desk.contact("dana")
                .submit("d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 7, 22))
                .request.id
            )
            desk.provider.schedule(rid, datetime(2026, 3, 8, 4, tzinfo=UTC))
            clock.now = datetime(2026, 3, 8, 5, tzinfo=UTC)
            h = status(desk.app)
            assert h.overdue == (rid,) and h.verdict == 2  # and a week-old notice
            assert h.requests["scheduled"] == 1 and h.schema_version is not None
            assert h.outbox_pending["reminder"] == 3
        finally:
            desk.close()
