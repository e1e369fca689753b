"""The ``framework`` fixture: each adapter of :data:`framework.ADAPTERS` in turn."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from .framework import ADAPTERS, Framework, Unavailable


def make_framework(name: str, where: Path) -> Framework:
    """The adapter ``name`` on a fresh world in ``where``; skips when it is unavailable."""
    try:
        module: Any = importlib.import_module(f"tests.web_security.{name}_adapter")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("tests.web_security"):
            pytest.skip(f"no security adapter for {name} yet")
        pytest.skip(f"{name} is not installed: {exc}")
    try:
        found: Framework = module.make(where)
    except Unavailable as exc:
        pytest.skip(str(exc))
    return found


@pytest.fixture(params=ADAPTERS)
def framework(request: pytest.FixtureRequest, tmp_path: Path) -> Framework:
    """A framework's host with the pages mounted, on a fresh hostile world."""
    return make_framework(str(request.param), tmp_path)
