"""The storage contract on a real PostgreSQL server, discovery, migrations, secrets."""

from __future__ import annotations

import logging
import multiprocessing as mp
from typing import Any, Iterator

import pytest

from siteupdates.errors import ConfigurationError
from siteupdates.plugins import PluginHost
from siteupdates.ports import Storage
from siteupdates.testing import StorageContract
from siteupdates_postgres import PostgresStorage, redact

CTX = mp.get_context("spawn")


class TestPostgresStorage(StorageContract):
    @pytest.fixture
    def storage(self, pg_url: str) -> Iterator[Storage]:
        s = PostgresStorage(pg_url)
        yield s
        s.close()


def test_the_plugin_is_found_through_its_entry_point(pg_url: str) -> None:
    host = PluginHost()
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
    assert versions == [1, 1, 1]


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
