"""``siteupdates worker``: a real process, stopped with SIGTERM, finishes its update."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from siteupdates.domain import Status
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import sample_setup

UTC = timezone.utc

UPDATER = textwrap.dedent(
    """
    import os, time
    from siteupdates.hookspecs import hookimpl

    class Slow:
        @hookimpl
        def siteupdates_perform_update(self, request, tenant):
            open(os.environ["STARTED_FLAG"], "w").close()
            time.sleep(1.5)
            return True
    """
)


def _seed(db: Path) -> str:
    desk = Desk.open(f"sqlite:///{db}", host=PluginHost(entry_points=False))
    desk.load_setup(sample_setup())
    local = (datetime.now(UTC) + timedelta(days=2)).replace(tzinfo=None, microsecond=0)
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=local).request.id
    desk.schedule(rid, datetime.now(UTC) - timedelta(minutes=1), allow_past=True)
    desk.close()
    return rid


def _start(tmp_path: Path, db: Path) -> subprocess.Popen[str]:
    (tmp_path / "slow_updater.py").write_text(UPDATER)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "STARTED_FLAG": str(tmp_path / "started")}
    return subprocess.Popen(
        [sys.executable, "-m", "siteupdates.cli", "--db", str(db), "--plugin",
         "slow_updater:Slow", "worker", "--id", "w1", "--poll", "0.2", "--lease", "30"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.slow
def test_sigterm_during_an_update_lets_it_finish_then_exits_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    rid = _seed(db)
    proc = _start(tmp_path, db)
    deadline = time.monotonic() + 30
    while not (tmp_path / "started").exists():
        assert time.monotonic() < deadline and proc.poll() is None, (
            proc.stderr.read() if proc.stderr else ""
        )
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "completed 1" in out
    desk = Desk.open(f"sqlite:///{db}", host=PluginHost(entry_points=False))
    r = desk.storage.request(rid)
    assert r is not None and r.status is Status.COMPLETED
    assert desk.storage.lease(rid) is None
    desk.close()


@pytest.mark.slow
def test_sigterm_to_an_idle_worker_stops_it_at_once(tmp_path: Path) -> None:
    db = tmp_path / "idle.db"
    desk = Desk.open(f"sqlite:///{db}", host=PluginHost(entry_points=False))
    desk.load_setup(sample_setup())
    desk.close()
    proc = _start(tmp_path, db)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # the worker says when it is ready (its handler is set)
    assert "worker w1 ready" in line, line
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0 and "claimed 0" in out


def test_an_unknown_plugin_is_one_clear_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "siteupdates.cli", "--db", str(tmp_path / "x.db"),
         "--plugin", "no_such_module", "queue"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 5
    assert proc.stderr.count("\n") == 1 and "cannot import plugin 'no_such_module'" in proc.stderr
