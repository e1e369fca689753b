"""Wrongly typed Python API calls: only SiteUpdatesError subclasses, and the store unchanged.

Hypothesis calls every public :class:`~siteupdates.Desk` method with one or
more arguments replaced by values of the wrong type or out of range, on a copy
of a set-up SQLite store: the call raises a ``SiteUpdatesError`` subclass (a
wrong type is ``WrongType`` or ``BadCall``, both also ``TypeError``) and writes
nothing, or it succeeds with a value that is right after all; either way every
view of every tenant still reads.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siteupdates.errors import BadCall, SiteUpdatesError, WrongType
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.usecases.catalog import CATALOG
from tests.hostile import census
from tests.hostile.conftest import clock
from tests.hostile.strategies import wrong_value

CALLS = census._api_calls("<rid>")
#: Parameters declared with a default of None (see siteupdates.usecases.catalog).
_DEFAULT_NONE = {p.name for uc in CATALOG for p in uc.params if p.default is None}


def _desk(path: Path) -> Desk:
    return Desk.open(f"sqlite:///{path}", host=PluginHost(entry_points=False), clock=clock())


def _fill(kwargs: Dict[str, Any], rid: str) -> Dict[str, Any]:
    return {k: rid if isinstance(v, str) and v == "<rid>" else v for k, v in kwargs.items()}


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_wrongly_typed_calls_raise_only_siteupdates_errors_and_store_nothing(
    api_template: Tuple[Path, str], data: st.DataObject
) -> None:
    template, rid = api_template
    method, kwargs = data.draw(st.sampled_from(CALLS))
    args = _fill(kwargs, rid)
    names = data.draw(st.lists(st.sampled_from(sorted(args)), min_size=1, max_size=2,
                               unique=True))  # fmt: skip
    for name in names:
        args[name] = data.draw(wrong_value)
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "work.db"
        shutil.copy(template, db)
        before = census.dump(db)
        desk = _desk(db)
        try:
            try:
                getattr(desk, method)(**args)
            except SiteUpdatesError:
                assert census.dump(db) == before, f"{method}({args!r}) failed but wrote"
            except Exception as exc:  # pragma: no cover - what this test exists to catch
                pytest.fail(f"{method}({args!r}) raised {type(exc).__name__}: {exc}")
            else:
                changed = census.dump(db) != before
                right = all(census._acceptable(n, args[n]) or _right(n, args[n]) for n in names)
                assert not changed or right, f"{method}({args!r}) stored"
            assert census._views_break(desk) is None
        finally:
            desk.close()


def _right(name: str, value: Any) -> bool:
    """A drawn value that happens to be right for the parameter."""
    if value is None and name in _DEFAULT_NONE:
        return True  # None leaves an optional parameter at its default
    if name in ("contact_id", "tenant_id", "request_id", "group_id", "by", "prefix"):
        return isinstance(value, str)
    if name == "week_of":  # any day in range books that week's automatic updates
        from datetime import date, datetime

        return isinstance(value, date) and not isinstance(value, datetime)
    return name in ("text", "question", "reason", "note", "idempotency_key") and isinstance(
        value, str
    )


@pytest.mark.parametrize(("method", "kwargs"), CALLS, ids=[m for m, _ in CALLS])
def test_a_missing_or_unknown_argument_is_a_bad_call(
    api_template: Tuple[Path, str], method: str, kwargs: Dict[str, Any], tmp_path: Path
) -> None:
    template, rid = api_template
    db = tmp_path / "work.db"
    shutil.copy(template, db)
    desk = _desk(db)
    try:
        with pytest.raises(BadCall):
            getattr(desk, method)(**_fill(kwargs, rid), no_such_argument=1)
        if kwargs:
            first = sorted(kwargs)[0]
            args = {k: v for k, v in _fill(kwargs, rid).items() if k != first}
            with contextlib.suppress(SiteUpdatesError):
                getattr(desk, method)(**args)
    finally:
        desk.close()


def test_wrong_types_are_wrong_type_errors_and_type_errors(tmp_path: Path) -> None:
    desk = Desk.from_setup(census._load_example(), url=f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(WrongType) as err:
        desk.requests(["dana"], "maple")  # type: ignore[arg-type]
    assert isinstance(err.value, TypeError) and "contact_id must be an ID" in str(err.value)
    with pytest.raises(WrongType):
        desk.queue(limit=1e26)  # type: ignore[arg-type]
    with pytest.raises(SiteUpdatesError, match="out of range"):
        desk.queue(limit=10**26)
    desk.close()
