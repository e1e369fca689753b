from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, RecordingNotifier, sample_setup


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture(params=["memory", "sqlite"])
def desk(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock, notifier: RecordingNotifier
) -> Iterator[Desk]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'desk.db'}"
    host = PluginHost(plugins=[notifier], entry_points=False)
    d = Desk.open(url, host=host, clock=clock)
    d.load_setup(sample_setup())
    yield d
    d.close()
