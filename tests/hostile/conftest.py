from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Tuple

import pytest

from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, sample_setup
from tests.hostile import census

UTC = timezone.utc


@pytest.fixture(scope="session")
def cli_template(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, str]:
    """A SQLite file set up from examples/district.toml, with one request; and its ID."""
    path = tmp_path_factory.mktemp("cli") / "template.db"
    base = ["--db", str(path), "--now", census.NOW]
    assert census.run_cli([*base, "init", str(census.SETUP)]).code == 0
    made = census.run_cli([*base, "--json", "submit", "--as", "dana", "--target", "staging",
                           "--version", "E.1505.2", "--at", "2015-02-14 01:00"])  # fmt: skip
    return path, json.loads(made.out)["id"]


@pytest.fixture(scope="session")
def api_template(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, str]:
    """A SQLite file with the sample setup and one request; and its ID."""
    path = tmp_path_factory.mktemp("api") / "template.db"
    desk = Desk.open(f"sqlite:///{path}", host=PluginHost(entry_points=False), clock=clock())
    desk.load_setup(sample_setup())
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2015, 2, 14, 1)).request.id
    desk.close()
    return path, rid


def clock() -> FixedClock:
    return FixedClock(datetime(2015, 2, 2, 10, 39, tzinfo=UTC))


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def copy_of(template: Path, where: Path) -> Path:
    where.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, where)
    return where
