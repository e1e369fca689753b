from __future__ import annotations

import os
import uuid
from typing import Iterator

import psycopg
import pytest
from psycopg import sql

BASE = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _reachable() -> str | None:
    try:
        with psycopg.connect(BASE, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@pytest.fixture(scope="session")
def pg_base() -> str:
    problem = _reachable()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and not reachable: {problem}")
        pytest.skip(
            f"no PostgreSQL server ({problem}); start one on 127.0.0.1:5432 "
            "(pg_ctlcluster <version> main start) or set SITEUPDATES_PG_URL"
        )
    return BASE


@pytest.fixture
def pg_schema(pg_base: str) -> Iterator[str]:
    """A schema of this test's own, dropped afterwards."""
    name = f"su_test_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(pg_base, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def pg_url(pg_base: str, pg_schema: str) -> str:
    sep = "&" if "?" in pg_base else "?"
    return f"{pg_base}{sep}schema={pg_schema}&pool_max=4"
