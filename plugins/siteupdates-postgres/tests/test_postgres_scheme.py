"""Issue 22: ``postgres://`` opens PostgreSQL exactly as ``postgresql://`` does.

The plugin's README accepts both (libpq does), and its storage hook took both,
but the host looked the plugin up by the URL's scheme and only ``postgresql``
was declared, so ``postgres://`` was refused with "no plugin handles".
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from siteupdates.errors import ConfigurationError
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import sample_setup
from siteupdates_postgres import PostgresStorage


def _short(url: str) -> str:
    assert url.startswith("postgresql://")
    return "postgres://" + url[len("postgresql://") :]


def test_a_postgres_url_opens_postgresql_through_the_entry_point(pg_url: str) -> None:
    host = PluginHost(entry_points=True)
    storage = host.storage(_short(pg_url))
    assert isinstance(storage, PostgresStorage)
    storage.close()


def test_both_schemes_open_the_same_store(pg_url: str) -> None:
    with Desk.open(pg_url, host=PluginHost(entry_points=True)) as desk:
        desk.provider.load_setup(sample_setup())
    with Desk.open(_short(pg_url), host=PluginHost(entry_points=True)) as desk:
        assert sorted(t.id for t in desk.storage.tenants()) == ["d1", "d2", "d3"]


def test_each_scheme_is_blocked_by_its_own_name(pg_url: str) -> None:
    for url, name in ((pg_url, "postgresql"), (_short(pg_url), "postgres")):
        with pytest.raises(ConfigurationError, match="no plugin handles"):
            PluginHost(entry_points=True, blocked=[name]).storage(url)


def test_the_command_line_takes_a_postgres_url(pg_url: str) -> None:
    with Desk.open(pg_url, host=PluginHost(entry_points=True)) as desk:
        desk.provider.load_setup(sample_setup())
    got = subprocess.run(
        [sys.executable, "-m", "siteupdates.cli", "--url", _short(pg_url), "--json",
         "list", "--as", "dana"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
