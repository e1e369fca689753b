"""The storage contract on a real PostgreSQL server, discovery, migrations, secrets."""

from __future__ import annotations

import logging
import multiprocessing as mp
import re
from datetime import datetime, timezone
from typing import Any, Iterator, List

import psycopg
import pytest
from psycopg import sql as pgsql

from siteupdates.errors import ConfigurationError
from siteupdates.plugins import PluginHost
from siteupdates.ports import Storage
from siteupdates.sql import MIGRATIONS
from siteupdates.testing import RaceContract, StorageContract
from siteupdates_postgres import (
    _CLAIM_ONE_SQL,
    _CLAIM_SQL,
    _PARAM,
    PostgresStorage,
    redact,
)

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
    # Found by the URL's scheme (entry-point group siteupdates.storage), loaded on use.
    assert "postgresql" not in host.names()
    storage = host.storage(pg_url)
    assert isinstance(storage, PostgresStorage)
    assert "postgresql" in host.names()
    storage.close()
    blocked = PluginHost(entry_points=True, blocked=["postgresql"])
    with pytest.raises(ConfigurationError, match="no plugin handles"):
        blocked.storage(pg_url)


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
    pg_base: str, pg_schema: str, caplog: pytest.LogCaptureFixture
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
    # A schema of the test's own: the shared public schema may hold anything.
    s = PostgresStorage(good + ("&" if "?" in good else "?") + f"schema={pg_schema}")
    assert "unused-secret" not in repr(s) and "unused-secret" not in s.url
    s.close()


def test_a_bad_schema_name_is_refused_before_connecting() -> None:
    with pytest.raises(ConfigurationError, match="plain identifier"):
        PostgresStorage("postgresql://x@127.0.0.1/db?schema=a;drop")


@pytest.mark.parametrize("limit", [1, 3], ids=["claim-one statement", "claim-many statement"])
def test_each_claim_statement_writes_what_the_shared_lifecycle_would(
    pg_url: str, limit: int
) -> None:
    """A pull, then the take-over of an expired lease of work begun: as claim_one builds them."""
    from datetime import timedelta

    from siteupdates.domain import Actor, Event, apply_event
    from siteupdates.leases import claim_one
    from siteupdates.ports import ChangeSet
    from siteupdates.testing import make_request, sample_setup, submit_changes, transition

    t0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
    s = PostgresStorage(pg_url)
    s.save_setup(sample_setup())
    r = make_request(warnings=["R8: maintenance that week"], reason="asked by phone")
    s.apply(submit_changes(r))
    booked, cs = transition(r, Event.SCHEDULE, date=t0)
    s.apply(cs)
    [first] = s.claim("first", t0, 10, limit=limit)
    assert first == claim_one(booked, None, 0, "first", t0, 10)[2]
    started, entry = apply_event(first.request, Event.START, actor=Actor.PROVIDER, by="first",
                                 at=t0)  # fmt: skip
    s.apply(ChangeSet(updates=((started, first.request.revision),), history=(entry,),
                      fences=(first.fence,)))  # fmt: skip
    later = t0 + timedelta(seconds=11)
    [taken] = s.claim("second", later, 10, limit=limit)
    assert taken == claim_one(started, "first", 1, "second", later, 10)[2]
    assert taken.entry.from_status is started.status and taken.entry.event is Event.RECLAIM
    assert s.request(r.id) == taken.request and s.history(r.id)[-1] == taken.entry
    assert s.lease(r.id) == taken.lease
    s.close()


class TestPostgresRaces(RaceContract):
    """Two processes on one PostgreSQL schema (R17, R8, the store's own guard)."""

    race_plugins = ("siteupdates_postgres",)

    @pytest.fixture
    def race_url(self, pg_url: str) -> str:
        return pg_url


def test_a_schema_of_release_0_1_0_migrates_forward(pg_base: str, pg_schema: str) -> None:
    """That release recorded version 1 for the shared schema's version 2."""
    from psycopg import sql as pgsql

    from siteupdates.domain import Status, Target
    from siteupdates.sql import POSTGRES

    with psycopg.connect(pg_base, autocommit=True) as conn:
        conn.execute(pgsql.SQL("CREATE SCHEMA {}").format(pgsql.Identifier(pg_schema)))
        conn.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(pg_schema)))
        for m in MIGRATIONS[:2]:
            for statement in m.sql(POSTGRES):
                conn.execute(statement)
        conn.execute("CREATE TABLE siteupdates_schema (version integer NOT NULL)")
        conn.execute("INSERT INTO siteupdates_schema VALUES (1)")
        conn.execute("INSERT INTO tenants (id, name, plan) VALUES ('d1', 'D', 'asp')")
        for rid, minute in (("old", 0), ("new", 1)):
            conn.execute(
                "INSERT INTO requests (id, tenant_id, target, version, db_refresh, "
                "preferred_start, zone, requested_by, requested_at, status, revision) VALUES "
                "(%s, 'd1', 'staging', 'E.1505.2', false, now(), 'UTC', 'dana', "
                "timestamptz '2026-03-01 12:00+00' + %s * interval '1 minute', "
                "'to-be-scheduled', 1)",
                (rid, minute),
            )
    sep = "&" if "?" in pg_base else "?"
    storage = PostgresStorage(f"{pg_base}{sep}schema={pg_schema}")
    try:
        assert storage.schema_version() == len(MIGRATIONS)
        [kept] = storage.open_version_updates("d1", Target.STAGING)
        assert kept.id == "new"
        old = storage.request("old")
        assert old is not None and old.status is Status.NEW_VERSION_REQUESTED
        assert [h.event.value for h in storage.history("old")] == ["supersede"]
    finally:
        storage.close()


def test_a_schema_at_version_8_gets_the_claim_indexes_without_status(
    pg_base: str, pg_schema: str
) -> None:
    """Version 9 rebuilds both claim indexes; claims on the migrated data keep their order."""
    from siteupdates.sql import POSTGRES

    with psycopg.connect(pg_base, autocommit=True) as conn:
        conn.execute(pgsql.SQL("CREATE SCHEMA {}").format(pgsql.Identifier(pg_schema)))
        conn.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(pg_schema)))
        for m in MIGRATIONS[:8]:
            for statement in m.sql(POSTGRES) + m.sql_after(POSTGRES):
                conn.execute(statement)
        conn.execute("CREATE TABLE siteupdates_schema (version integer NOT NULL)")
        conn.execute("INSERT INTO siteupdates_schema VALUES (8)")
        conn.execute("INSERT INTO tenants (id, name, plan) VALUES ('d1', 'D', 'asp')")
        # Due first in claim order, but the other one's lease ran out: it goes first.
        for rid, status, owner, expires in (
            ("due", "scheduled", None, None),
            ("lapsed", "in-progress", "w0", "2026-03-01 11:00+00"),
        ):
            conn.execute(
                "INSERT INTO requests (id, tenant_id, target, db_refresh, preferred_start, "
                "zone, requested_by, requested_at, status, scheduled_for, revision, "
                "lease_owner, lease_expires, attempts) VALUES (%s, 'd1', 'staging', true, "
                "now(), 'UTC', 'dana', now(), %s, timestamptz '2026-03-01 10:00+00' + "
                "interval '1 minute' * length(%s), 3, %s, %s, 1)",
                (rid, status, rid, owner, expires),
            )
    sep = "&" if "?" in pg_base else "?"
    storage = PostgresStorage(f"{pg_base}{sep}schema={pg_schema}")
    try:
        assert storage.schema_version() == len(MIGRATIONS) == 9
        with storage._pool.connection() as conn:
            found = {
                r["indexname"]: r["indexdef"].split(" USING btree ", 1)[1]
                for r in conn.execute(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = %s AND indexname LIKE 'requests_claim_%%'",
                    (pg_schema,),
                )
            }
        assert found == {
            "requests_claim_expired": "(lease_expires) WHERE (status = ANY "
            "(ARRAY['not-started'::text, 'in-progress'::text]))",
            "requests_claim_due": "(scheduled_for, requested_at, id) "
            "WHERE (status = 'scheduled'::text)",
        }
        at = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
        got = [c.request.id for c in storage.claim("w1", at, 60, limit=1)]
        got += [c.request.id for c in storage.claim("w1", at, 60, limit=1)]
        assert got == ["lapsed", "due"]
        assert storage.claim("w1", at, 60, limit=1) == []
    finally:
        storage.close()


@pytest.mark.parametrize("statement", [_CLAIM_SQL, _CLAIM_ONE_SQL], ids=["many", "one"])
def test_a_claim_reads_each_part_through_its_index_without_sorting_the_backlog(
    pg_url: str, statement: str
) -> None:
    storage = PostgresStorage(pg_url)
    with storage._pool.connection() as conn:
        # A backlog: 3,000 due requests and 3,000 in work whose leases run.
        conn.execute(
            "INSERT INTO requests (id, tenant_id, target, db_refresh, preferred_start, zone, "
            "requested_by, requested_at, status, scheduled_for, revision, lease_owner, "
            "lease_expires, attempts) SELECT 'r' || g, 'd1', 'staging', true, now(), 'UTC', "
            "'dana', now(), CASE WHEN g % 2 = 0 THEN 'scheduled' ELSE 'not-started' END, "
            "now() - interval '1 hour', 2, CASE WHEN g % 2 = 1 THEN 'w' END, "
            "CASE WHEN g % 2 = 1 THEN now() + interval '1 hour' END, g % 2 "
            "FROM generate_series(1, 6000) AS g"
        )
        conn.execute("ANALYZE requests")
        # The generic plan, which a prepared statement keeps for every claim.
        names: List[str] = []

        def number(m: Any) -> str:
            if m.group(1) not in names:
                names.append(m.group(1))
            return f"${names.index(m.group(1)) + 1}"

        types = {"now": "timestamptz", "expires": "timestamptz", "limit": "integer"}
        values = {"now": datetime.now(timezone.utc), "limit": 1, "worker": "w"}
        values["expires"] = values["now"]
        text = _PARAM.sub(number, statement)
        conn.execute(f"PREPARE claim ({', '.join(types.get(n, 'text') for n in names)}) AS {text}")
        conn.execute("SET plan_cache_mode = force_generic_plan")
        args = ", ".join(pgsql.Literal(values[n]).as_string(conn) for n in names)
        plan = "\n".join(
            r["QUERY PLAN"] for r in conn.execute(f"EXPLAIN EXECUTE claim({args})").fetchall()
        )
        conn.execute("DEALLOCATE claim")
        conn.execute("RESET plan_cache_mode")
    storage.close()
    assert "requests_claim_due" in plan and "requests_claim_expired" in plan, plan
    # The due part's scan is in claim order: its LockRows/Limit sit on the index scan
    # (a sort is only allowed in the expired part: the few whose lease ran out).
    lines = plan.splitlines()
    due = next(i for i, line in enumerate(lines) if "requests_claim_due" in line)
    head = max(i for i in range(due) if "CTE due" in lines[i] or "InitPlan" in lines[i])
    assert not any("Sort" in line for line in lines[head:due]), plan
    assert "Seq Scan" not in plan, plan
    # Schema version 9: neither index holds the status its predicate fixes, so the
    # expired part is one range on lease_expires (not one descent per status) and
    # the due part's key is the claim order alone.
    expired = next(i for i, line in enumerate(lines) if "requests_claim_expired" in line)
    assert re.search(r"Index Cond: \(lease_expires < \$\d+\)$", lines[expired + 1]), plan
    assert re.search(r"Index Cond: \(scheduled_for <= \$\d+\)$", lines[due + 1]), plan


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE contacts SET zone = 'Europe/Berlin' WHERE id = 'dana'",
        "DELETE FROM catalog WHERE version = 'E.1505.2'",
        "UPDATE sites SET version = 'E.1450.4' WHERE tenant_id = 'd1' AND kind = 'staging'",
        "TRUNCATE catalog",
    ],
)
def test_reference_changed_by_another_program_is_seen_by_the_next_submit(
    pg_base: str, pg_schema: str, pg_url: str, change: str
) -> None:
    """Another connection's raw SQL bumps ``reference_version`` by trigger, whoever writes."""
    from siteupdates import Desk
    from siteupdates.errors import RequestRefused
    from siteupdates.plugins import load_plugin
    from siteupdates.testing import FixedClock, sample_setup

    at = datetime(2026, 3, 7, 22)
    desk = Desk.open(pg_url, plugins=[load_plugin("siteupdates_postgres")], clock=FixedClock())
    try:
        desk.load_setup(sample_setup())
        desk.submit("dana", "d1", "staging", None, db_refresh=True, at=at)  # copies decoded
        with psycopg.connect(pg_base, autocommit=True) as other:  # no search_path set
            other.execute(change.replace(" catalog", f" {pg_schema}.catalog")
                          .replace("contacts ", f"{pg_schema}.contacts ")
                          .replace("sites ", f"{pg_schema}.sites "))  # fmt: skip
        if "zone" in change:
            sub = desk.submit("dana", "d1", "staging", None, db_refresh=True, at=at)
            assert sub.request.zone == "Europe/Berlin"
        elif "sites" in change:
            # Staging now runs E.1450.4: asking for the older E.1418.2 is refused (R7).
            with pytest.raises(RequestRefused) as refused:
                desk.submit("dana", "d1", "staging", "E.1418.2", at=at)
            assert "R7" in refused.value.rules
        else:
            with pytest.raises(RequestRefused) as refused:
                desk.submit("dana", "d1", "production/sandbox", "E.1505.2", at=at)
            assert "R7" in refused.value.rules
    finally:
        desk.close()
