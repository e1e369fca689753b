from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator, Optional

import pytest

from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, RecordingNotifier, sample_setup

PG_BASE = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


def _pg_problem() -> Optional[str]:
    import psycopg

    try:
        with psycopg.connect(PG_BASE, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@pytest.fixture(scope="session")
def pg_base() -> str:
    """The PostgreSQL server's URL: required under CI, the test skipped without it elsewhere."""
    problem = _pg_problem()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and not reachable: {problem}")
        pytest.skip(f"no PostgreSQL server ({problem}); start one or set SITEUPDATES_PG_URL")
    return PG_BASE


@pytest.fixture
def pg_url(pg_base: str) -> Iterator[str]:
    """A storage URL on a schema of this test's own, dropped afterwards."""
    import psycopg
    from psycopg import sql

    schema = f"su_desk_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in pg_base else "?"
    yield f"{pg_base}{sep}schema={schema}&pool_max=4"
    with psycopg.connect(pg_base, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock, notifier: RecordingNotifier
) -> Iterator[Desk]:
    plugins: list[object] = [notifier]
    if request.param == "postgres":
        import siteupdates_postgres

        url = request.getfixturevalue("pg_url")
        plugins.append(siteupdates_postgres)
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'desk.db'}"
    else:
        url = "memory://"
    d = Desk.open(url, host=PluginHost(plugins=plugins, entry_points=False), clock=clock)
    d.load_setup(sample_setup())
    yield d
    d.close()
