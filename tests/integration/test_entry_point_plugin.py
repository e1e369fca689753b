"""The example plugin is found through its entry point; no host code names it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "siteupdates-freeze"

HOST = textwrap.dedent(
    """
    from datetime import datetime
    from siteupdates.errors import RequestRefused
    from siteupdates.plugins import PluginHost
    from siteupdates.service import Desk
    from siteupdates.testing import FixedClock, sample_setup

    host = PluginHost(entry_points=True)
    print("registered", "freeze" in host.names())
    print("policies", ",".join(p.rule for p in host.policies()))
    desk = Desk.open("memory://", host=host, clock=FixedClock())
    desk.load_setup(sample_setup())
    try:  # 2026-03-06 is a Friday
        desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 6, 22))
    except RequestRefused as exc:
        print("refused", exc.rules)
    blocked = PluginHost(blocked=["freeze"], entry_points=True)
    print("blocked", "FREEZE" in [p.rule for p in blocked.policies()])
    """
)


@pytest.mark.slow
def test_the_installed_example_plugin_is_discovered_and_used(tmp_path: Path) -> None:
    target = tmp_path / "site"
    source = tmp_path / "plugin"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(PLUGIN, source)
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run(
        [sys.executable, "-c", HOST], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(" ", 1) for line in proc.stdout.strip().splitlines())
    assert lines["registered"] == "True"
    assert lines["policies"].endswith(",FREEZE")
    assert "FREEZE" in lines["refused"]
    assert lines["blocked"] == "False"


def test_without_the_plugin_the_same_request_is_accepted(tmp_path: Path) -> None:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        distribution("siteupdates-freeze")
        pytest.skip("siteupdates-freeze is installed in this environment")
    except PackageNotFoundError:
        pass
    proc = subprocess.run(
        [sys.executable, "-c", HOST], capture_output=True, text=True, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "refused" not in proc.stdout
    assert "registered False" in proc.stdout
