"""The ``framework`` fixture: each adapter of :data:`framework.ADAPTERS` in turn."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any, Iterator

import pytest

from .framework import ADAPTERS, Framework, Unavailable

# Django's settings are configured once per process, when a suite is collected (as the
# Django app's own tests do it, with the same helper): pytest-django then sets up its
# test environment and database for whichever suite runs first.
try:
    from . import django_adapter
except ImportError:  # pragma: no cover - the adapter imports nothing optional at the top
    pass
else:
    django_adapter.configure()


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


def _param(name: str) -> Any:
    # pytest-django sets up only the databases its marked tests ask for; Django's
    # tests are transactional, so the live server's threads see the users and sessions.
    if name == "django" and importlib.util.find_spec("pytest_django") is not None:
        return pytest.param(name, marks=pytest.mark.django_db(transaction=True))
    return name


@pytest.fixture(params=[_param(name) for name in ADAPTERS])
def framework(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Framework]:
    """A framework's host with the pages mounted, on a fresh hostile world."""
    found = make_framework(str(request.param), tmp_path)
    yield found
    close = getattr(found, "close", None)
    if close is not None:
        close()  # the adapter gives back what it changed (Django: its settings)
