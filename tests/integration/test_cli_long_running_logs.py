"""The long-running commands' logs: timestamps, levels, JSON lines; metrics options (issue 26)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "examples" / "district.toml"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "siteupdates", *args], capture_output=True, text=True, timeout=120
    )


def test_a_worker_logs_json_lines_with_a_utc_timestamp_and_a_level(tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")
    assert _cli("--db", db, "provider", "apply", str(SETUP)).returncode == 0
    done = _cli("--db", db, "--log-format", "json", "ops", "worker", "--id", "w1", "--until-idle")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in done.stderr.splitlines() if x.startswith("{")]
    assert lines, done.stderr
    ready = lines[0]
    assert ready["level"] == "INFO" and ready["logger"] == "siteupdates.worker"
    assert ready["time"].endswith("Z") and "T" in ready["time"]
    assert "worker w1 ready" in ready["message"]


def test_a_log_format_the_command_line_does_not_know_is_a_usage_error(tmp_path: Path) -> None:
    done = _cli("--db", str(tmp_path / "x.db"), "--log-format", "xml", "ops", "status")
    assert done.returncode == 2 and "xml" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_metrics_port_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    done = _cli("--db", str(tmp_path / "x.db"), "--metrics-port", "70000", "ops", "status")
    assert done.returncode == 2 and "65535" in done.stderr
