"""The storage contract on a real PostgreSQL server, discovery, migrations, secrets."""

from __future__ import annotations

import logging
import multiprocessing as mp
from typing import Any, Iterator

import pytest

from siteupdates.errors import ConfigurationError
from siteupdates.plugins import PluginHost
from siteupdates.ports import Storage
from siteupdates.sql import MIGRATIONS
from siteupdates.testing import RaceContract, StorageContract
from siteupdates_postgres import PostgresStorage, redact

CTX = mp.get_context("spawn")


class TestPostgresStorage(StorageContract):
    @pytest.fixture
    def storage(self, pg_url: str) -> Iterator[Storage]:
        s = PostgresStorage(pg_url)
        yield s
        s.close()


def test_the_plugin_is_found_through_its_entry_point(pg_url: str) -> None:
    with pytest.raises(ConfigurationError, match="entry_points=True"):
        PluginHost().storage(pg_url)  # a bare host loads nothing it was not asked for
    host = PluginHost(entry_points=True)
    assert "postgres" in host.names()
    storage = host.storage(pg_url)
    assert isinstance(storage, PostgresStorage)
    storage.close()


def _open(url: str, results: Any) -> None:
    s = PostgresStorage(url)
    results.put(s.schema_version())
    s.close()


def test_two_processes_opening_a_new_schema_at_once_both_succeed(pg_url: str) -> None:
    results = CTX.Queue()
    procs = [CTX.Process(target=_open, args=(pg_url, results)) for _ in range(3)]
    for p in procs:
        p.start()
    versions = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert versions == [len(MIGRATIONS)] * 3


def test_no_password_in_repr_errors_or_logs(
    pg_base: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = "postgresql://postgres:s3cr3t-pw@127.0.0.1:1/postgres?connect_timeout=1"
    assert "s3cr3t-pw" not in redact(url) and "***" in redact(url)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigurationError) as err:
        PostgresStorage(url)
    assert "s3cr3t-pw" not in str(err.value)
    assert "127.0.0.1" in str(err.value)
    assert "s3cr3t-pw" not in caplog.text
    good = pg_base.replace("postgres@", "postgres:unused-secret@", 1)
    s = PostgresStorage(good + ("&" if "?" in good else "?") + "schema=public")
    assert "unused-secret" not in repr(s) and "unused-secret" not in s.url
    s.close()


def test_a_bad_schema_name_is_refused_before_connecting() -> None:
    with pytest.raises(ConfigurationError, match="plain identifier"):
        PostgresStorage("postgresql://x@127.0.0.1/db?schema=a;drop")


def test_the_one_statement_claim_writes_what_the_shared_lifecycle_would(pg_url: str) -> None:
    from datetime import datetime, timedelta, timezone

    from siteupdates.domain import Event
    from siteupdates.leases import reclaim_reason
    from siteupdates.testing import make_request, sample_setup, submit_changes, transition

    t0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
    s = PostgresStorage(pg_url)
    s.save_setup(sample_setup())
    r = make_request()
    s.apply(submit_changes(r))
    _, cs = transition(r, Event.SCHEDULE, date=t0)
    s.apply(cs)
    s.claim("first", t0, 10)
    [taken] = s.claim("second", t0 + timedelta(seconds=11), 10)
    assert taken.entry.reason == reclaim_reason("first", 2)
    assert s.request(r.id) == taken.request and s.history(r.id)[-1] == taken.entry
    s.close()


class TestPostgresRaces(RaceContract):
    """Two processes on one PostgreSQL schema (R17, R8, the store's own guard)."""

    race_plugins = ("siteupdates_postgres",)

    @pytest.fixture
    def race_url(self, pg_url: str) -> str:
        return pg_url
