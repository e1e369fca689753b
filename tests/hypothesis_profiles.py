"""The Hypothesis profiles of the suite, loaded by the repository's root ``conftest.py``.

* ``ci`` (chosen when the ``CI`` environment variable is set): derandomized, so
  each property test tries the same examples on every run; a correct change
  cannot go red on an input no run has tried before. No example database, so a
  failure seen on a developer's machine does not leak into the verdict. No
  deadline and no "too slow" health check: both measure the machine's load.
* ``dev`` (the default elsewhere): Hypothesis's random exploration, with the
  example database, so a failure found once is replayed until fixed.
* ``exploratory`` (``--hypothesis-profile=exploratory``, before each release):
  random, and every property test tries ten times its usual number of examples
  (at least 1,000): see docs/testing.md.
* ``mutation`` (``SITEUPDATES_HYPOTHESIS_PROFILE=mutation``, for ``mutmut run``):
  derandomized, each property test with a tenth of its examples, since a
  mutation run repeats the unit tests for every one of thousands of mutants.

``SITEUPDATES_HYPOTHESIS_PROFILE`` names the profile to load (any of the above).
"""

from __future__ import annotations

import os
from typing import Any, List

from hypothesis import HealthCheck, Phase, settings

#: How many times its own number of examples a test tries in the exploratory profile.
EXPLORATORY_FACTOR = 10
#: What share of its own number of examples a test tries in the mutation profile.
MUTATION_SHARE = 0.1
#: The environment variable that names the profile to load.
PROFILE_ENV = "SITEUPDATES_HYPOTHESIS_PROFILE"

# No timing checks under CI, as no deadline: a loaded machine must not turn a
# correct change red ("data generation is too slow" is a measure of the load).
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    print_blob=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev")
settings.register_profile(
    "mutation", derandomize=True, database=None, deadline=None, max_examples=10
)
settings.register_profile(
    "exploratory",
    derandomize=False,
    max_examples=1000,
    deadline=None,
    phases=list(Phase),
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)


def chosen() -> str:
    """The profile named by the environment: ``ci`` under CI, ``dev`` otherwise."""
    return os.environ.get(PROFILE_ENV) or ("ci" if os.environ.get("CI") else "dev")


def load_default() -> None:
    """Load :func:`chosen`'s profile (``--hypothesis-profile`` overrides it)."""
    settings.load_profile(chosen())


def scale_for_exploration(items: List[Any]) -> None:
    """Scale each collected test's own ``max_examples`` to the profile loaded.

    A test's ``@settings(max_examples=...)`` beats the profile's, so without this the
    exploratory run would try no more than CI on most property tests (and the
    mutation run no fewer).
    """
    current = settings()
    if current.max_examples >= settings.get_profile("exploratory").max_examples:
        factor: float = EXPLORATORY_FACTOR
    elif chosen() == "mutation":
        factor = MUTATION_SHARE
    else:
        return
    for item in items:
        test = getattr(item, "obj", None)
        # Where @given keeps a test's own settings (stable since Hypothesis 3).
        own = getattr(test, "_hypothesis_internal_use_settings", None)
        if isinstance(own, settings):
            scaled = max(int(own.max_examples * factor), 5)
            if factor > 1:
                scaled = max(scaled, current.max_examples)
            test._hypothesis_internal_use_settings = settings(own, max_examples=scaled)  # type: ignore[union-attr]
