"""A submit reads a constant amount through indexes, whatever the tenant's history."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import List

from siteupdates.builtin.sqlite import SqliteStorage
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, make_request, sample_setup, submit_changes


def _statements(desk: Desk, storage: SqliteStorage, version: str) -> List[str]:
    seen: List[str] = []
    storage._db.set_trace_callback(seen.append)
    try:
        desk.submit("dana", "d1", "staging", version, at=datetime(2026, 3, 7, 22))
    finally:
        storage._db.set_trace_callback(None)
    return [s for s in seen if s.split()[0].upper() in ("SELECT", "INSERT", "UPDATE")]


def test_r17_a_submit_sends_the_same_statements_with_500_open_requests_as_with_none(
    tmp_path: Path,
) -> None:
    counts = []
    plans = []
    for n in (0, 500):
        storage = SqliteStorage(f"sqlite:///{tmp_path / f'h{n}.db'}")
        storage.save_setup(sample_setup())
        for _ in range(n):
            storage.apply(submit_changes(make_request("d1", target="staging")))
        desk = Desk(storage, clock=FixedClock())
        statements = _statements(desk, storage, "E.1450.4")
        counts.append(len(statements))
        for s in statements:
            if s.upper().startswith("SELECT") and "requests" in s:
                detail = " ".join(
                    str(row[-1]) for row in storage._db.execute(f"EXPLAIN QUERY PLAN {s}")
                )
                plans.append(detail)
        desk.close()
    assert counts[0] == counts[1]
    # Reads: the reference counter, contact, tenant with its sites (one statement),
    # catalog, the site's open update; then 3 inserts.
    assert counts[0] == 8
    # Every read of the requests table goes through an index, never a scan of the table.
    assert plans and not [p for p in plans if "SCAN requests" in p and "INDEX" not in p]
    assert all("requests_one_open_version" in p for p in plans)


def test_a_second_submit_reads_the_reference_counter_instead_of_the_reference_rows(
    tmp_path: Path,
) -> None:
    storage = SqliteStorage(f"sqlite:///{tmp_path / 'again.db'}")
    storage.save_setup(sample_setup())
    desk = Desk(storage, clock=FixedClock())
    _statements(desk, storage, "E.1450.4")
    again = _statements(desk, storage, "E.1505.2")
    desk.close()
    reads = [s for s in again if s.upper().startswith("SELECT")]
    assert reads[0] == "SELECT n FROM reference_version"
    tables = ("contacts", "tenants", "sites", "catalog")
    assert not [s for s in reads if any(t in s for t in tables)]
    # The counter and the site's open version update (R17 reads it, never cached).
    assert len(reads) == 2 and "requests" in reads[1]


def test_a_claim_reads_two_partial_indexes_and_sorts_nothing(tmp_path: Path) -> None:
    storage = SqliteStorage(f"sqlite:///{tmp_path / 'claims.db'}")
    seen: List[str] = []
    storage._db.set_trace_callback(seen.append)
    try:
        storage.claim("w1", datetime(2026, 3, 7, 22, tzinfo=timezone.utc), 60, limit=1)
    finally:
        storage._db.set_trace_callback(None)
    reads = [s for s in seen if s.upper().startswith("SELECT") and "requests" in s]
    assert len(reads) == 2
    plans = [
        " ".join(str(row[-1]) for row in storage._db.execute(f"EXPLAIN QUERY PLAN {s}"))
        for s in reads
    ]
    assert "requests_claim_expired" in plans[0] and "requests_claim_due" in plans[1]
    # The due part is read in claim order: no sort of the backlog (the expired
    # part sorts the few requests whose lease ran out).
    assert "TEMP B-TREE" not in plans[1], plans
    storage.close()


def test_r22_the_gadget_sends_the_same_statements_for_one_two_or_three_tenants(
    tmp_path: Path,
) -> None:
    """Issue 24: the hottest read costs one statement, whatever the number of tenants.

    The contact with their tenants and their sites, and the shown tenant's
    booked requests, in one read: no statement per tenant, no count.
    """
    from siteupdates.domain import Catalog, Contact, Site, Tenant
    from siteupdates.ports import Setup

    t0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
    counts = []
    for n in (1, 2, 3):
        ids = [f"t{i}" for i in range(n)]
        sites = (Site("production", "E.1450.4", t0), Site("staging", "E.1450.4", t0))
        setup = Setup(
            tenants=tuple(Tenant(i, i.upper(), "asp", sites=sites) for i in ids),
            contacts=(Contact("ops", "Ops", "ops@example.org", "partner", set(ids)),),
            catalog=Catalog.of("E.1450.4"),
        )
        with Desk.open(f"sqlite:///{tmp_path / f'g{n}.db'}", clock=FixedClock()) as desk:
            desk.provider.load_setup(setup)
            storage = desk.storage
            assert isinstance(storage, SqliteStorage)
            seen: List[str] = []
            storage._db.set_trace_callback(seen.append)
            try:
                shown = desk.contact("ops").gadget("t0")
            finally:
                storage._db.set_trace_callback(None)
            assert [t.id for t in shown.tenants] == ids and shown.overview is not None
            counts.append(len(seen))
    assert counts == [1, 1, 1]
