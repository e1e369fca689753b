"""The store from the settings (a URL, or a DATABASES alias) and ``manage.py siteupdates``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

import siteupdates_django
from django_host import PREFIX, ROOT, SETUP, user
from siteupdates_django.conf import store_url
from siteupdates_django.management.commands.siteupdates import command_line

HERE = Path(__file__).resolve().parent
PG = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(autouse=True)
def fresh_desk() -> Iterator[None]:
    """Each test opens the store from its settings, and the desk is closed after."""
    siteupdates_django.set_desk(None)
    yield
    siteupdates_django.close_desk()


def contact_page() -> Any:
    client = Client()
    client.force_login(user("dana"))
    return client.get(PREFIX + "/t/maple/requests")


def test_the_url_setting_opens_the_store_once_per_process(settings: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    settings.SITEUPDATES = {"URL": url, "CONTACT": "django_host.contact_of"}
    assert store_url() == url
    call_command("siteupdates", "apply", str(SETUP))
    desk = siteupdates_django.desk()
    assert siteupdates_django.desk() is desk  # one per process, shared by every request
    assert desk.contact("dana").tenants()[0].id == "maple"


@pytest.mark.django_db
def test_a_sqlite_alias_keeps_the_store_in_a_file_beside_djangos(settings: Any) -> None:
    db = Path(settings.DATABASES["default"]["NAME"])  # the test database, Django's tables
    settings.SITEUPDATES = {"DATABASE": "default", "CONTACT": "django_host.contact_of"}
    store = db.with_name(f"{db.stem}-siteupdates{db.suffix}")
    assert store_url() == f"sqlite:///{store}"
    call_command("siteupdates", "apply", str(SETUP))
    assert contact_page().status_code == 200
    import sqlite3

    with sqlite3.connect(store) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"requests", "tenants", "outbox"} <= tables
    assert not [t for t in tables if t.startswith(("auth_", "django_"))]
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "auth_user" in tables and "requests" not in tables


@pytest.fixture
def pg_schema() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    from psycopg import sql

    try:
        psycopg.connect(PG, connect_timeout=3).close()
    except psycopg.Error as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and not reachable: {exc}")
        pytest.skip(f"no PostgreSQL server ({exc}); start one or set SITEUPDATES_PG_URL")
    name = f"su_django_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_postgresql_alias_keeps_the_store_in_a_schema_of_its_own(
    settings: Any, pg_schema: str
) -> None:
    import psycopg

    settings.SITEUPDATES = {
        "DATABASE": "store_pg", "SCHEMA": pg_schema, "CONTACT": "django_host.contact_of",
    }  # fmt: skip
    url = store_url()
    assert url == f"postgresql://postgres@127.0.0.1:5432/postgres?schema={pg_schema}"
    call_command("siteupdates", "apply", str(SETUP))
    assert contact_page().status_code == 200
    with psycopg.connect(PG) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (pg_schema,),
        ).fetchall()
    assert {"requests", "tenants", "outbox"} <= {r[0] for r in rows}


def test_a_postgresql_alias_with_a_password_and_a_socket_directory() -> None:
    assert store_url({"DATABASE": "store_pg_socket"}) == (
        "postgresql://app:p%40ss%2Fword@/portal%20db?schema=siteupdates"
        "&host=%2Frun%2Fpostgresql&sslmode=require"
    )


@pytest.mark.parametrize(
    ("conf", "words"),
    [
        ({}, "needs"),
        ({"URL": "sqlite:///x.db", "DATABASE": "default"}, "not both"),
        ({"DATABASE": "nope"}, "not in DATABASES"),
    ],
)
def test_a_wrong_store_setting_says_what_is_accepted(conf: Any, words: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=words):
        store_url(conf)


def test_an_in_memory_sqlite_alias_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="in-memory"):
        store_url({"DATABASE": "store_memory"})


# -- manage.py siteupdates --------------------------------------------------------------------


def test_the_short_names_and_every_flag_reach_the_command_line(settings: Any) -> None:
    url = settings.SITEUPDATES["URL"]
    assert command_line(["deliver", "--json"]) == ["--url", url, "ops", "deliver", "--json"]
    assert command_line(["schedule", "--dry-run"]) == [
        "--url",
        url,
        "provider",
        "plan",
        "--dry-run",
    ]
    assert command_line(["worker", "--once", "--id", "w1"])[2:] == [
        "ops", "worker", "--once", "--id", "w1",
    ]  # fmt: skip
    assert command_line(["apply", "x.toml"])[2:] == ["provider", "apply", "x.toml"]
    assert command_line(["dispatch", "--id", "d"])[2:4] == ["ops", "dispatch"]
    assert command_line(["--url", "sqlite:///o.db", "ops", "deliver"]) == [
        "--url", "sqlite:///o.db", "ops", "deliver",
    ]  # fmt: skip


def test_manage_py_applies_a_setup_then_delivers_and_plans_with_its_flags(
    settings: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    settings.SITEUPDATES = {"URL": f"sqlite:///{tmp_path / 's.db'}", "CONTACT": "x.y"}
    call_command("siteupdates", "apply", str(SETUP))
    assert "added catalog E.1505.2" in capfd.readouterr().out
    call_command("siteupdates", "deliver", "--json")
    report = json.loads(capfd.readouterr().out)
    assert report["delivered"] == 0 and report["dead"] == 0
    call_command("siteupdates", "schedule", "--dry-run", "--json")
    assert json.loads(capfd.readouterr().out)["dry_run"] is True
    with pytest.raises(CommandError) as refused:
        call_command("siteupdates", "provider", "find", "no-such")
    assert refused.value.returncode == 3  # the command line's "unknown or not yours"


def test_manage_py_runs_it_as_a_process_with_its_own_help(tmp_path: Path) -> None:
    manage = tmp_path / "manage.py"
    manage.write_text(
        "import sys\nfrom django.conf import settings\n"
        "settings.configure(INSTALLED_APPS=['siteupdates_django'], "
        f"SITEUPDATES={{'URL': 'sqlite:///{tmp_path / 'm.db'}'}})\n"
        "from django.core.management import execute_from_command_line\n"
        "execute_from_command_line(sys.argv)\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
    run = [sys.executable, str(manage), "siteupdates"]
    done = subprocess.run([*run, "apply", str(SETUP)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    helped = subprocess.run([*run, "worker", "--help"], capture_output=True, text=True, env=env)
    assert helped.returncode == 0 and "usage: siteupdates ops worker" in helped.stdout
    bad = subprocess.run([*run, "deliver", "--nope"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "--nope" in bad.stderr
