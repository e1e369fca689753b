"""Every declared use case, driven with hostile arguments, on SQLite and PostgreSQL.

The test enumerates :data:`siteupdates.usecases.catalog.CATALOG` itself: a use
case added to the catalog is attacked without a line here. For each, Hypothesis
builds a valid call from the declaration, replaces one or two arguments with
hostile values (wrong types, huge and non-finite numbers, surrogates, NUL,
extreme dates) and calls it through the actor handle on a fresh copy of a set-up
store: only :class:`~siteupdates.errors.SiteUpdatesError` subclasses; a refused
call wrote nothing; no control character is stored; every view still reads.
"""

from __future__ import annotations

import contextlib
import math
import os
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siteupdates.errors import SiteUpdatesError
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, sample_setup
from siteupdates.usecases import kinds as k
from siteupdates.usecases.catalog import CATALOG
from siteupdates.usecases.declare import Param, Role, UseCase

UTC = timezone.utc
NOW = datetime(2015, 2, 2, 10, 39, tzinfo=UTC)
PG_BASE = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

HOSTILE: List[Any] = [
    None, 0, -1, 10**40, -(10**40), 1e300, float("nan"), float("inf"), -float("inf"), True,
    "", " ", "a\x00b", "x\ud800y", "\u202eevil", "line\nbreak", "x" * 5000, "\x1b[31m",
    b"bytes", [], ["a\x00"], {}, {"a": 1}, object(), date(1, 1, 1),
    datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59), datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC), timedelta(days=999_999_999), timedelta(seconds=-1),
    "9999-12-31 23:30", "../../etc/passwd",
]  # fmt: skip


def _valid(uc: UseCase, p: Param, rid: str) -> Any:
    """A value the declaration accepts, for a call that would otherwise go through."""
    names = {"request_id": rid, "run_id": rid, "tenant_id": "d1", "contact_id": "dana",
             "newer_id": rid, "group_id": "g1", "dispatcher_id": "d", "item_id": "x",
             "prefix": rid[:6], "key": "d1", "owner": "o"}  # fmt: skip
    if p.name in names:
        return names[p.name]
    kind = p.kind
    if kind is k.TARGET:
        return "staging"
    if kind is k.VERSION or p.name == "version":
        return "E.1505.2"
    if kind is k.LOCAL_TIME:
        return datetime(2015, 2, 20, 1)
    if kind is k.INSTANT or p.name in ("when", "earliest"):
        return datetime(2015, 2, 20, 9, tzinfo=UTC)
    if kind is k.DAY:
        return date(2015, 2, 16)
    if kind is k.TEXT or p.name in ("reason", "text", "question", "note"):
        return "because"
    if kind is k.OUTCOME:
        return "started"
    if kind is k.TOKEN:
        return 1
    if kind is k.SETUP or kind is k.SETUP_OR_PRESET:
        return sample_setup()
    return p.default if not p.required else "x"


#: Use cases whose valid call needs a Python object the fuzz cannot make up.
_SKIP_VALID = {"contact.evaluate", "contact.submit_many", "ops.execute"}


def _call(desk: Desk, uc: UseCase, args: Dict[str, Any]) -> Any:
    handle: Any
    if uc.actor is Role.CONTACT:
        handle = desk.contact("dana")
    elif uc.actor is Role.PROVIDER:
        handle = desk.provider
    else:
        handle = desk.ops
    return getattr(handle, uc.name)(**args)


def _views_intact(desk: Desk) -> None:
    contact = desk.contact("dana")
    for t in contact.tenants():
        contact.overview(t.id)
        for r in contact.requests(t.id, limit=100):
            desk.provider.history(r.id)
    desk.provider.queue()
    desk.provider.outbox()


def _stored_text(desk: Desk) -> List[str]:
    found: List[str] = []
    for t in desk.provider.tenants():
        for r in desk.provider.requests(tenant_id=t.id, limit=1000):
            for e in desk.provider.history(r.id):
                found.extend(x for x in (e.reason, e.by) if isinstance(x, str))
    return found


class Store:
    """A fresh set-up store per example: a SQLite file or a PostgreSQL schema."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind, self.tmp = kind, tmp

    def open(self) -> Tuple[Desk, str, Callable[[], None]]:
        if self.kind == "sqlite":
            url = f"sqlite:///{self.tmp / (uuid.uuid4().hex + '.db')}"
            drop: Callable[[], None] = lambda: None  # noqa: E731
        else:
            schema = "fz_" + uuid.uuid4().hex[:12]
            url = f"{PG_BASE}?schema={schema}"

            def drop() -> None:
                import psycopg

                with psycopg.connect(PG_BASE, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

        desk = Desk.open(url, host=PluginHost(entry_points=self.kind != "sqlite"),
                         clock=FixedClock(NOW))  # fmt: skip
        desk.provider.load_setup(sample_setup())
        rid = desk.contact("dana").submit("d1", target="staging", version="E.1505.2",
                                          at=datetime(2015, 2, 14, 1)).request.id  # fmt: skip
        return desk, rid, drop


def _pg_ready() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_BASE, connect_timeout=2):
            return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgresql" and not _pg_ready():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI: none at {PG_BASE}")
        pytest.skip(f"no PostgreSQL at {PG_BASE}")
    yield Store(request.param, tmp_path)


def _snapshot(desk: Desk) -> Any:
    return (
        [(r.id, r.status, r.scheduled_for, r.revision) for t in desk.provider.tenants()
         for r in desk.provider.requests(tenant_id=t.id, limit=1000)],
        [(o.id, o.state) for o in desk.provider.outbox(limit=100_000)],
    )  # fmt: skip


@pytest.fixture
def opened(store: Store) -> Iterator[Tuple[Desk, str]]:
    desk, rid, drop = store.open()
    try:
        yield desk, rid
    finally:
        desk.close()
        drop()


@pytest.mark.parametrize("uc", CATALOG, ids=lambda uc: uc.qualname)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_r22_every_declared_use_case_refuses_hostile_arguments_with_a_library_error(
    opened: Tuple[Desk, str], uc: UseCase, data: st.DataObject
) -> None:
    # One store per use case: each example is checked against a snapshot taken
    # just before its call, so what an earlier example was allowed to write
    # does not hide what this one writes.
    desk, rid = opened
    args = {p.name: _valid(uc, p, rid) for p in uc.params
            if p.required or data.draw(st.booleans())}  # fmt: skip
    if not uc.params:
        args = {"unexpected": data.draw(st.sampled_from(HOSTILE))}
    else:
        names = data.draw(st.lists(st.sampled_from([p.name for p in uc.params]),
                                   min_size=1, max_size=2, unique=True))  # fmt: skip
        for name in names:
            args[name] = data.draw(st.sampled_from(HOSTILE), label=name)
    before = _snapshot(desk)
    try:
        _call(desk, uc, args)
    except SiteUpdatesError as exc:
        assert _snapshot(desk) == before, f"{uc.qualname}({args!r}) refused but wrote"
        message = str(exc)
        assert not any(ch in message for ch in "\x00\ud800\x1b"), message
    except Exception as exc:  # pragma: no cover - what this test exists to catch
        pytest.fail(f"{uc.qualname}({args!r}) raised {type(exc).__name__}: {exc}")
    for text in _stored_text(desk):
        assert not any(ch in text for ch in "\x00\ud800\n\x1b"), (uc.qualname, text)
    _views_intact(desk)


@pytest.mark.parametrize("uc", [uc for uc in CATALOG if uc.qualname not in _SKIP_VALID],
                         ids=lambda uc: uc.qualname)  # fmt: skip
def test_every_declared_use_case_runs_from_its_declaration(uc: UseCase, tmp_path: Path) -> None:
    """A census: each use case is reachable from Python with arguments its declaration accepts.

    A valid call either succeeds or is refused by a rule of the domain (a
    SiteUpdatesError): never a TypeError from a declaration that drifted from
    its function.
    """
    desk, rid, drop = Store("sqlite", tmp_path).open()
    try:
        args = {p.name: _valid(uc, p, rid) for p in uc.params if p.required}
        with contextlib.suppress(SiteUpdatesError):
            _call(desk, uc, args)
    finally:
        desk.close()
        drop()


def test_no_hostile_number_is_finite_and_in_every_range() -> None:
    # The list above must keep reaching the range checks: a guard against editing it blind.
    assert any(isinstance(v, float) and math.isnan(v) for v in HOSTILE)
    assert any(isinstance(v, int) and not isinstance(v, bool) and v > 2**62 for v in HOSTILE)
