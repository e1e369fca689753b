"""Issue 27: the command line says what a status means (``show``, every ``--json`` request)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from siteupdates.cli import main
from siteupdates.domain import Status

ROOT = Path(__file__).resolve().parents[2]
NOW = "2015-02-02T10:39:00Z"
OWN = "We have it and will give it a date soon."


def _setup(tmp_path: Path) -> Path:
    text = (ROOT / "examples" / "district.toml").read_text(encoding="utf-8")
    # [notices.statuses] after the provider table: the provider's words for one status.
    text += f'\n[notices.statuses]\nto-be-scheduled = "{OWN}"\n'
    path = tmp_path / "setup.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> str:
    assert main(["--db", str(db), "--now", NOW, *args]) == 0
    return capsys.readouterr().out


def test_show_and_json_output_say_what_the_status_means_in_the_providers_words(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "m.db"
    _run(capsys, db, "apply", str(_setup(tmp_path)))
    made = json.loads(_run(capsys, db, "--json", "submit", "--as", "dana", "--tenant", "maple",
                           "--target", "staging", "--version", "E.1505.2",
                           "--at", "2015-02-14 01:00"))  # fmt: skip
    assert made["meaning"] == OWN  # the provider's words, not the document's
    rid = made["id"]
    text = _run(capsys, db, "show", rid[:12])
    assert f"To Be Scheduled: {OWN}" in text
    shown = json.loads(_run(capsys, db, "--json", "show", rid[:12]))
    assert shown["meaning"] == OWN and shown["status"] == "to-be-scheduled"
    _run(capsys, db, "schedule", rid[:12], "--at", "2015-02-15 04:00")
    listed = json.loads(_run(capsys, db, "--json", "list", "--as", "dana"))
    (item,) = listed["items"]
    assert item["status"] == "scheduled" and item["meaning"] == Status.SCHEDULED.meaning
