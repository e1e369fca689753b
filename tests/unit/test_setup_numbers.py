"""Issue 22: NaN, infinities and numbers out of range in a setup file are one clear refusal.

``soak_hours = 1e300``, ``max_skip_days = 99999999999999999`` or a notice tier of
that size once ended in "internal error" (exit 70): the timedelta overflowed, or
the planner's date arithmetic did later. Each is now one ConfigurationError
that names the key and the accepted range, before anything is stored.
"""

from __future__ import annotations

import copy
import math
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List

import pytest

from siteupdates.domain import DeferralRules, NoticeTiers, StagingRules
from siteupdates.errors import ConfigurationError, InvalidInput
from siteupdates.setupfile import setup_from_dict
from tests.hostile import census

HOSTILE: List[Any] = [1e300, -1e300, math.inf, -math.inf, math.nan, 99999999999999999, 10**400]
KEYS = [
    ("staging", "soak_hours"),
    ("staging", "min_soak_hours"),
    ("staging", "max_soak_hours"),
    ("deferral", "per_request"),
    ("deferral", "per_period"),
    ("deferral", "period_days"),
    ("deferral", "max_skip_days"),
    ("notice", "tiers"),
]


def _with(part: str, key: str, value: Any) -> Dict[str, Any]:
    data = copy.deepcopy(census._load_example())
    scheduling = data["provider"].setdefault("scheduling", {})
    if key == "tiers":
        scheduling["notice"] = {"default": "normal", "tiers": {"normal": value}}
    else:
        scheduling.setdefault(part, {})[key] = value
    return data


@pytest.mark.parametrize("part,key", KEYS)
@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_a_hostile_number_is_one_configuration_error_naming_key_and_range(
    part: str, key: str, value: Any
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        setup_from_dict(_with(part, key, value))
    message = str(caught.value)
    assert f"provider.scheduling.{part}.{key}" in message
    assert "\n" not in message
    # The accepted range is named (whole-number keys say so, a negative one too).
    assert " to " in message or "finite" in message, message


@pytest.mark.parametrize(
    "part,key,value",
    [("staging", "soak_hours", 48), ("deferral", "max_skip_days", 7), ("notice", "tiers", 28),
     ("deferral", "period_days", 3660), ("staging", "max_soak_hours", 8784)],
)  # fmt: skip
def test_numbers_in_range_still_load(part: str, key: str, value: Any) -> None:
    setup_from_dict(_with(part, key, value))


def test_apply_of_a_file_with_a_huge_number_exits_5_not_70(tmp_path: Path) -> None:
    text = census.SETUP.read_text(encoding="utf-8")
    path = tmp_path / "setup.toml"
    path.write_text(text + "\n[provider.scheduling.deferral]\nmax_skip_days = 99999999999999999\n",
                    encoding="utf-8")  # fmt: skip
    got = census.run_cli(["--db", str(tmp_path / "d.db"), "apply", str(path)])
    assert got.code == 5, got
    assert "max_skip_days" in got.err and "internal error" not in got.err


@pytest.mark.parametrize(
    "build",
    [
        lambda: StagingRules(soak=timedelta(days=999_999), max_soak=timedelta(days=999_999)),
        lambda: DeferralRules(max_skip=timedelta(days=999_999)),
        lambda: DeferralRules(per_request=10**30),
        lambda: NoticeTiers({"late": timedelta(days=999_999)}),
    ],
)
def test_the_domain_values_refuse_spans_the_calendar_cannot_hold(build: Any) -> None:
    with pytest.raises(InvalidInput):
        build()


@pytest.mark.parametrize("table", ["tiers", "tenants"])
def test_a_notice_name_with_a_control_character_is_refused_without_echoing_it(table: str) -> None:
    data = copy.deepcopy(census._load_example())
    tiers: Dict[str, Any] = {"normal": 14}
    tenants: Dict[str, Any] = {}
    (tiers if table == "tiers" else tenants)["a\x1b[2Jb"] = 1 if table == "tiers" else "normal"
    data["provider"]["scheduling"] = {"notice": {"tiers": tiers, "tenants": tenants}}
    with pytest.raises(ConfigurationError) as caught:
        setup_from_dict(data)
    assert f"provider.scheduling.notice.{table}" in str(caught.value)
    assert "\x1b" not in str(caught.value)
    assert "printable" in str(caught.value)
