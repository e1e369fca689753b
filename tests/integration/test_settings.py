"""One stored setup, one plan: a host program and the command line read the same settings."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest

from siteupdates import Desk, load_setup
from siteupdates.cli import main
from siteupdates.errors import ConfigurationError
from siteupdates.hookspecs import hookimpl

ROOT = Path(__file__).resolve().parents[2]
NOW = "2015-02-02T10:39:00Z"
FIXED = datetime(2015, 2, 2, 10, 39, tzinfo=timezone.utc)

# Capacity 1 and a Saturday window: unlike the built-in preset in both respects.
SETUP = (
    (ROOT / "examples" / "district.toml")
    .read_text(encoding="utf-8")
    .replace('windows = [{ day = "sunday", start = "04:00", end = "09:00",',
             'capacity = 1\nwindows = [{ day = "saturday", start = "01:00", end = "03:00",')
)  # fmt: skip
assert "saturday" in SETUP


def cli(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> Any:
    code = main(["--db", str(db), "--now", NOW, "--json", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def initialised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    setup = tmp_path / "setup.toml"
    setup.write_text(SETUP, encoding="utf-8")
    db = tmp_path / "host.db"
    cli(capsys, db, "init", str(setup))
    for tenant, contact, target in (
        ("maple", "dana", "staging"),
        ("birch", "sam", "production/sandbox"),
        ("cedar", "sam", "production/sandbox"),
    ):
        cli(capsys, db, "submit", "--as", contact, "--tenant", tenant, "--target",
            target, "--refresh-only", "--refresh", "--at", "2015-02-10 22:00")  # fmt: skip
    return db


def test_r13_a_host_program_plans_a_file_made_by_init_exactly_like_the_command_line(
    initialised: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    by_cli = cli(capsys, initialised, "schedule", "--dry-run")["plan"]
    with Desk.open(f"sqlite:///{initialised}", clock=lambda: FIXED) as desk:
        assert desk.preset.capacity == 1
        assert [str(w)[:8] for w in desk.preset.windows] == ["Saturday"]
        run = desk.plan_queue(dry_run=True)
        by_host: List[Dict[str, str]] = [
            {"id": r.id, "start": run.plan.placements[r.id].start.isoformat()}  # type: ignore[union-attr]
            for r in run.requests
        ]
    assert [row["request"] for row in by_cli] == [row["id"] for row in by_host]
    starts = [row["start"] for row in by_host]
    assert len(set(starts)) == 3  # capacity 1: one slot each, Saturdays 01:00 Central
    assert all(datetime.fromisoformat(s).weekday() == 5 for s in starts)
    # The same instants; the command line writes them in the provider's zone (offset -06:00).
    assert [datetime.fromisoformat(row["start"]) for row in by_cli] == [
        datetime.fromisoformat(s) for s in starts
    ]
    assert all(row["start"].endswith("-06:00") for row in by_cli)


def test_from_setup_loads_a_file_from_python_and_stores_its_preset(tmp_path: Path) -> None:
    setup = tmp_path / "setup.toml"
    setup.write_text(SETUP, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with Desk.from_setup(setup, url=url, clock=lambda: FIXED) as desk:
        assert desk.preset.capacity == 1
    with Desk.open(url) as again:
        assert again.preset.capacity == 1 and str(again.preset.windows[0]).startswith("Saturday")
    assert load_setup(setup).settings["provider"]["capacity"] == 1


class _Recorder:
    def __init__(self) -> None:
        self.seen: List[Any] = []

    @hookimpl
    def siteupdates_configure(self, settings: Any) -> None:
        self.seen.append(settings)


def test_plugins_receive_their_stored_tables_with_the_hosts_over_them(tmp_path: Path) -> None:
    text = SETUP + '\n[plugins.example]\ncolour = "blue"\nsize = 1\n'
    rec = _Recorder()
    desk = Desk.from_setup(
        load_setup(_toml(text)), url=f"sqlite:///{tmp_path / 'p.db'}", plugins=[rec]
    )
    desk.close()
    again = Desk.open(
        f"sqlite:///{tmp_path / 'p.db'}", plugins=[rec], plugin_settings={"example": {"size": 2}}
    )
    again.close()
    assert rec.seen[-1]["example"] == {"colour": "blue", "size": 2}


def test_smtp_is_turned_on_from_the_setup_file_and_refuses_a_bad_table(tmp_path: Path) -> None:
    ok = SETUP + '\n[plugins.smtp]\nurl = "smtp://127.0.0.1:1?from=ops@example.org"\n'
    with Desk.from_setup(_toml(ok), url=f"sqlite:///{tmp_path / 'a.db'}") as desk:
        plugin = desk.host.pm.get_plugin("siteupdates.notify.smtp")
        assert plugin is not None and plugin.notifier is not None
    bad = SETUP + '\n[plugins.smtp]\nurl = "http://nope"\n'
    with pytest.raises(ConfigurationError, match="SMTP URL"):
        Desk.from_setup(_toml(bad), url=f"sqlite:///{tmp_path / 'b.db'}")


def _toml(text: str) -> Dict[str, Any]:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib.loads(text)
