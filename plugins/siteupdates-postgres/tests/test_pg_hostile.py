"""Hostile input on PostgreSQL: wrongly typed calls raise SiteUpdatesError and write nothing.

The same property as ``tests/hostile/test_api_fuzz.py`` on SQLite, against a
schema of this test's own; and a NUL character never reaches the server as a
driver's ``DataError``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Iterator, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.hostile import census
from tests.hostile.strategies import wrong_value

from siteupdates.errors import InvalidInput, SiteUpdatesError
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, sample_setup
from siteupdates_postgres import PostgresStorage

UTC = timezone.utc
pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_desk(pg_url: str) -> Iterator[Tuple[Desk, str]]:
    clock = FixedClock(datetime(2015, 2, 2, 10, 39, tzinfo=UTC))
    desk = Desk(PostgresStorage(pg_url), host=PluginHost(entry_points=False), clock=clock)
    desk.load_setup(sample_setup())
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2015, 2, 14, 1)).request.id
    yield desk, rid
    desk.close()


def _fingerprint(desk: Desk) -> Any:
    s = desk.storage
    ids = [r.id for t in s.tenants() for r in s.requests_for(t.id, limit=1000).items]
    return (
        s.tenants(), s.contacts(), s.catalog(), s.settings(), s.audit(),
        [(s.request(i), s.history(i)) for i in sorted(ids)], len(s.outbox()),
    )  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_wrongly_typed_calls_on_postgresql_raise_only_siteupdates_errors(
    pg_desk: Tuple[Desk, str], data: st.DataObject
) -> None:
    desk, rid = pg_desk
    method, kwargs = data.draw(st.sampled_from(census._api_calls(rid)))
    args: Dict[str, Any] = dict(kwargs)
    for name in data.draw(st.lists(st.sampled_from(sorted(args)), min_size=1, max_size=2,
                                   unique=True)):  # fmt: skip
        args[name] = data.draw(wrong_value)
    before = _fingerprint(desk)
    try:
        getattr(desk, method)(**args)
    except SiteUpdatesError:
        assert _fingerprint(desk) == before, f"{method}({args!r}) failed but wrote"
    assert census._views_break(desk) is None


def test_a_nul_character_never_reaches_postgresql(pg_desk: Tuple[Desk, str]) -> None:
    desk, rid = pg_desk
    before = _fingerprint(desk)
    for call in (
        lambda: desk.defer(rid, "on\x00hold"),
        lambda: desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2015, 2, 14, 1),
                            idempotency_key="k\x00"),
        lambda: desk.tenants_of("da\x00na"),
        lambda: desk.apply_setup({"catalog": ["E.1505.2"], "groups": [{"id": "g\x00"}]}),
    ):  # fmt: skip
        with pytest.raises(SiteUpdatesError) as err:
            call()
        assert isinstance(err.value, InvalidInput) or "NUL" in str(err.value)
    assert _fingerprint(desk) == before
