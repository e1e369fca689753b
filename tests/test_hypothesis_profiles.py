"""The suite's verdict does not depend on luck: Hypothesis under CI is derandomized."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# Two runs of one property test in a fresh interpreter, the profile chosen as the
# root conftest.py chooses it; prints the examples each run tried.
PROBE = """
import json
from hypothesis import given, strategies as st
from tests import hypothesis_profiles
hypothesis_profiles.load_default()
runs = []
for _ in range(2):
    seen = []
    @given(st.text())
    def probe(s):
        seen.append(s)
    probe()
    runs.append(seen)
print(json.dumps(runs))
"""


def _runs(ci: bool) -> List[List[str]]:
    env: Dict[str, Any] = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    runs: List[List[str]] = json.loads(done.stdout)
    return runs


def test_under_ci_every_run_tries_the_same_examples() -> None:
    first, second = _runs(ci=True)
    assert len(first) > 50 and first == second


def test_the_exploratory_profile_tries_many_more_examples_than_ci() -> None:
    ci, exploratory = settings.get_profile("ci"), settings.get_profile("exploratory")
    assert ci.derandomize and ci.database is None
    assert not exploratory.derandomize and exploratory.max_examples >= 10 * ci.max_examples
