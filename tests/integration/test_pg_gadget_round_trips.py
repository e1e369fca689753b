"""The gadget on PostgreSQL waits on the server once per page (issue 24).

The gadget is on every home page a contact opens. Counted from libpq's own
trace of the wire protocol, not timed: the contact, their tenants with their
sites and the shown tenant's booked requests are one statement, one round
trip, whatever the number of tenants; and the web plugin's page asks nothing
more of the server (no session, locale or access read of its own).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pytest

from siteupdates import Desk
from siteupdates.domain import Catalog, Contact, Event, Site, Status, Tenant, submitted
from siteupdates.errors import AccessDenied
from siteupdates.ports import ChangeSet, Setup
from siteupdates.testing import make_request, transition
from tests.pgwire import Wire, round_trips

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


def _setup(n: int) -> Setup:
    sites = tuple(Site(k, "E.1450.4", T0) for k in ("production", "sandbox", "staging"))
    ids = [f"t{i}" for i in range(n)]
    return Setup(
        tenants=tuple(Tenant(i, i.upper(), "asp", sites=sites) for i in ids),
        contacts=(Contact("ops", "Ops", "ops@example.org", "partner", set(ids)),),
        catalog=Catalog.of("E.1450.4"),
    )


@pytest.mark.parametrize("tenants", [1, 2, 3])
def test_r22_the_gadget_is_one_round_trip_for_one_two_or_three_tenants(
    pg_url: str, tenants: int
) -> None:
    import siteupdates_postgres

    with Desk.open(pg_url, plugins=[siteupdates_postgres], clock=lambda: T0) as desk:
        desk.provider.load_setup(_setup(tenants))
        asked = make_request("t0", target="staging")
        booked, step = transition(asked, Event.SCHEDULE, date=T0)
        desk.storage.apply(ChangeSet(inserts=(booked,), history=(submitted(asked), *step.history)))
        wire = Wire(desk)
        for wanted in (None, "t0"):
            with wire.watch() as lines:
                shown = desk.contact("ops").gadget(wanted)
            assert round_trips(lines) == 1, "\n".join(lines)
            assert [t.id for t in shown.tenants] == [f"t{i}" for i in range(tenants)]
            if wanted or tenants == 1:
                assert shown.overview is not None
                assert "SCHEDULED" in [r.label for r in shown.overview.rows]
            else:
                assert shown.overview is None
        # R22: a tenant that is not theirs is refused, in the same one round trip.
        with wire.watch() as lines, pytest.raises(AccessDenied):
            desk.contact("ops").gadget("t9")
        assert round_trips(lines) == 1, "\n".join(lines)


def test_the_web_gadget_page_is_one_round_trip(pg_base: str, monkeypatch: Any) -> None:
    """The figure's library app (benchmarks/gadget_app.py): one round trip per page."""
    pytest.importorskip("flask")
    import psycopg
    from benchmarks import bench_gadget, gadget_app
    from psycopg import sql

    schema = f"su_bench_{uuid.uuid4().hex[:10]}"
    url = f"{pg_base}?schema={schema}"
    monkeypatch.setenv("BENCH_PG_URL", url)
    try:
        bench_gadget.seed(url, count=3)
        app = gadget_app.lib_app()
        desk = app.extensions["bench_desk"]
        try:
            client = app.test_client()
            # psycopg prepares a statement on its sixth run on a connection (one more
            # round trip, once): the pages counted come after that.
            for _ in range(6):
                client.get("/u/gadget/fragment", headers={"X-Contact": "c0002"})
            wire = Wire(desk)
            for _ in range(3):
                with wire.watch() as lines:
                    page = client.get("/u/gadget/fragment", headers={"X-Contact": "c0001"})
                assert page.status_code == 200 and "Tenant 1" in page.get_data(as_text=True)
                assert round_trips(lines) == 1, "\n".join(lines)
            # A 304 asks the same one statement (the tag covers what the page shows).
            with wire.watch() as lines:
                again = client.get(
                    "/u/gadget/fragment",
                    headers={"X-Contact": "c0001", "If-None-Match": page.headers["ETag"]},
                )
            assert again.status_code == 304 and round_trips(lines) == 1
        finally:
            desk.close()
    finally:
        with psycopg.connect(pg_base, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )


def test_the_gadget_read_inside_an_open_unit_keeps_no_copy_on_postgresql(pg_url: str) -> None:
    """Decoded once per reference version, but never from this thread's uncommitted writes."""
    import attrs

    import siteupdates_postgres
    from siteupdates.sql import SqlStorage

    with Desk.open(pg_url, plugins=[siteupdates_postgres], clock=lambda: T0) as desk:
        desk.provider.load_setup(_setup(1))
        storage = desk.storage
        assert isinstance(storage, SqlStorage)
        first = desk.contact("ops").gadget()
        shared = storage._shared_reference
        assert shared is not None and shared.tenants["t0"] == first.tenant
        t0 = _setup(1).tenants[0]
        with pytest.raises(RuntimeError), storage.unit() as uow:
            uow.put_tenants([attrs.evolve(t0, name="Not Committed")], check=False)
            got = storage.contact_tenants_requests("ops", None, [Status.SCHEDULED])
            assert got is not None and got[1][0].name == "Not Committed"  # its own write
            raise RuntimeError("roll back")
        assert storage._shared_reference is shared and shared.tenants["t0"].name == t0.name
        again = desk.contact("ops").gadget()
        assert again.tenant is not None and again.tenant.name == t0.name
