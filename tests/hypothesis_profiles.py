"""The Hypothesis profiles of the suite, loaded by the repository's root ``conftest.py``.

* ``ci`` (chosen when the ``CI`` environment variable is set): derandomized, so
  each property test tries the same examples on every run; a correct change
  cannot go red on an input no run has tried before. No example database, so a
  failure seen on a developer's machine does not leak into the verdict.
* ``dev`` (the default elsewhere): Hypothesis's random exploration, with the
  example database, so a failure found once is replayed until fixed.
* ``exploratory`` (``--hypothesis-profile=exploratory``, before each release):
  random, and every property test tries ten times its usual number of examples
  (at least 1,000): see docs/testing.md.
"""

from __future__ import annotations

import os
from typing import Any, List

from hypothesis import HealthCheck, Phase, settings

#: How many times its own number of examples a test tries in the exploratory profile.
EXPLORATORY_FACTOR = 10

settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
settings.register_profile("dev")
settings.register_profile(
    "exploratory",
    max_examples=1000,
    deadline=None,
    phases=list(Phase),
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)


def load_default() -> None:
    """Load ``ci`` under CI and ``dev`` otherwise (``--hypothesis-profile`` overrides)."""
    settings.load_profile("ci" if os.environ.get("CI") else "dev")


def scale_for_exploration(items: List[Any]) -> None:
    """In the exploratory profile, multiply each collected test's own ``max_examples``.

    A test's ``@settings(max_examples=...)`` beats the profile's, so without this the
    exploratory run would try no more than CI on most property tests.
    """
    current = settings()
    if current.max_examples < settings.get_profile("exploratory").max_examples:
        return
    for item in items:
        test = getattr(item, "obj", None)
        # Where @given keeps a test's own settings (stable since Hypothesis 3).
        own = getattr(test, "_hypothesis_internal_use_settings", None)
        if isinstance(own, settings):
            more = max(own.max_examples * EXPLORATORY_FACTOR, current.max_examples)
            test._hypothesis_internal_use_settings = settings(own, max_examples=more)  # type: ignore[union-attr]
