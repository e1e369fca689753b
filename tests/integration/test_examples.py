"""The examples the README points to keep working."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_domain_story_prints_the_overview() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "story.py")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "refused, R5" in proc.stdout and "choose E.1505.2" in proc.stdout
    assert "E.1505.2 - Feb. 14, 2015    SCHEDULED" in proc.stdout


@pytest.mark.slow
def test_the_readme_session_runs_on_sqlite(tmp_path: Path) -> None:
    wrapper = tmp_path / "siteupdates"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m siteupdates.cli "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    proc = subprocess.run(
        ["bash", str(ROOT / "examples" / "session.sh"), str(tmp_path / "demo.db")],
        capture_output=True, text=True, env={**os.environ, "SITEUPDATES": str(wrapper)},
        cwd=tmp_path,
    )  # fmt: skip
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr
    for needle in [
        "refused: R5: E.1505.1 is not the most recent update",
        "R9: Birch Cloud District is on the cloud plan",
        "refused: R10: Aspen Linked District is updated with its group",
        "refused: R3: Cedar ASP District has no staging site",
        "no such tenant among the tenants connected to you",
        "malformed date-time '2015-02-10 25:00'",
        "warning R14: scheduled task 'nightly attendance export'",
        "Production E.1505.2 - Feb. 14, 2015    SCHEDULED",
        "Updated 4:39 AM CST",
        # R9: DB refresh not given is the cloud plan's preset; the provider's override (R10).
        "birch   production/sandbox  DB refresh only  yes      To Be Scheduled",
        "accepted by hosting, overriding R10: agreed with the state",
        # The contact moves their request before the cut-off; the next plan places it.
        "is To Be Scheduled (Feb. 21, 2015 10:00 PM EST)",
        "Scheduled  Feb. 22, 2015 4:00 AM CST",
        "3    move      sam",
    ]:
        assert needle in out, needle
    assert "Traceback" not in out
