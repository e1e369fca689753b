"""The gadget figure compares like with like, and its apps still run (issue 24).

``python -m benchmarks --only gadget`` serves three Flask apps under gunicorn:
the web plugin's blueprint, the use case read straight, and the bare baseline
(one SELECT and the blueprint's own template). A baseline that renders less
than the library would flatter it, and an app broken by a template change
would only be found by the next person to measure; so each app is asked for
the same contacts here, through Flask's test client, and the sites table of
every page must be the same.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Dict, Iterator, Tuple

import pytest

pytestmark = pytest.mark.postgres


@pytest.fixture
def bench_url(pg_base: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    schema = f"su_bench_{uuid.uuid4().hex[:10]}"
    url = f"{pg_base}?schema={schema}"  # the bare app reads the schema after "?schema="
    monkeypatch.setenv("BENCH_PG_URL", url)
    yield url
    with psycopg.connect(pg_base, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def test_the_gadget_figures_three_apps_show_each_contact_the_same_sites(bench_url: str) -> None:
    pytest.importorskip("flask")
    from benchmarks import bench_gadget, gadget_app

    bench_gadget.seed(bench_url, count=4)
    apps = {
        "library": (gadget_app.lib_app(), "/u/gadget/fragment"),
        "use case": (gadget_app.use_case_app(), "/g/gadget/fragment"),
        "bare": (gadget_app.bare_app(), "/bare/gadget/fragment"),
    }
    try:
        _same_sites(apps)
    finally:
        for app, _ in apps.values():
            if "bench_desk" in app.extensions:
                app.extensions["bench_desk"].close()  # its pool's threads and connections


def _same_sites(apps: Dict[str, Tuple[Any, str]]) -> None:
    for contact, tenant in (("c0000", "Tenant 0"), ("c0003", "Tenant 3")):
        tables = {}
        for side, (app, path) in apps.items():
            page = app.test_client().get(path, headers={"X-Contact": contact})
            assert page.status_code == 200, (side, page.get_data(as_text=True)[:400])
            html = page.get_data(as_text=True)
            assert f'<p class="su-tenant">{tenant}</p>' in html, side
            found = re.search(r"<tbody>.*</tbody>", html, re.S)
            assert found is not None, side
            tables[side] = found.group(0)
        # Three sites and the booked staging update, the same words on every side.
        assert tables["library"].count("<tr") == 4
        assert tables["library"] == tables["use case"] == tables["bare"]
