"""The facade binds plain calls itself (no inspect): the same checks and the same refusals."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Dict, Optional, Tuple

import pytest

from siteupdates.app.boundary import checked
from siteupdates.errors import BadCall, SiteUpdatesError

AT = datetime(2026, 3, 7, 22)


class Facade:
    @checked
    def submit(
        self, contact_id: str, tenant_id: str, target: str, version: Optional[str], *,
        db_refresh: Optional[bool] = None, at: datetime, zone: Optional[str] = None,
    ) -> Tuple[Any, ...]:  # fmt: skip
        return (contact_id, tenant_id, target, version, db_refresh, at, zone)


def _outcome(call: Callable[[], object]) -> object:
    try:
        return call()
    except BadCall:
        return "BadCall"
    except SiteUpdatesError as exc:
        return type(exc).__name__


f = Facade()
CASES: Dict[str, Callable[[], object]] = {
    "positional": lambda: f.submit("dana", "d1", "staging", None, at=AT),
    "keywords": lambda: f.submit(
        contact_id="dana", tenant_id="d1", target="staging", version=None, at=AT
    ),
    "missing at": lambda: f.submit("dana", "d1", "staging", None),  # type: ignore[call-arg]
    "one too many": lambda: f.submit("dana", "d1", "staging", None, 1, at=AT),  # type: ignore[call-arg, arg-type]
    "given twice": lambda: f.submit("dana", "d1", "staging", None, at=AT, version="x"),  # type: ignore[misc]
    "unknown": lambda: f.submit("dana", "d1", "staging", None, at=AT, colour=1),  # type: ignore[call-arg]
    "bad flag": lambda: f.submit("dana", "d1", "staging", None, at=AT, db_refresh="yes"),  # type: ignore[arg-type]
    "bad time": lambda: f.submit("dana", "d1", "staging", None, at="tomorrow"),  # type: ignore[arg-type]
    "bad id": lambda: f.submit(42, "d1", "staging", None, at=AT),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_plain_call_is_checked_like_a_bound_one(case: str) -> None:
    got = _outcome(CASES[case])
    expected = {
        "positional": ("dana", "d1", "staging", None, None, AT, None),
        "keywords": ("dana", "d1", "staging", None, None, AT, None),
        "missing at": "BadCall",
        "one too many": "BadCall",
        "given twice": "BadCall",
        "unknown": "BadCall",
    }
    if case in expected:
        assert got == expected[case]
    else:  # refused by the parameter's own check before the method runs
        assert isinstance(got, str), got


def test_every_facade_method_checks_every_parameter() -> None:
    """Each checked Desk method has a rule for each of its parameters (bound lazily)."""
    from siteupdates.service import Desk

    bound = []
    for name, member in vars(Desk).items():
        fn = getattr(member, "__func__", member)  # a classmethod's function
        if callable(getattr(fn, "binding", None)):
            assert fn.binding().table is not None, name
            bound.append(name)
    assert len(bound) >= 50
