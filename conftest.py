"""The suite's shared pytest set-up, for tests/ and every plugin's tests alike."""

from __future__ import annotations

from typing import List

import pytest
from tests import hypothesis_profiles

hypothesis_profiles.load_default()


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """Give the exploratory Hypothesis profile its larger number of examples."""
    hypothesis_profiles.scale_for_exploration(items)
