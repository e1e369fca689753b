"""The two WSGI apps of the gadget figure, served by gunicorn (see bench_gadget.py).

``lib_app()`` mounts the web plugin's blueprint over a Desk on PostgreSQL
(``BENCH_PG_URL``, the schema in its query); the contact is named by the
``X-Contact`` header. ``bare_app()`` is the baseline: a Flask route that runs
one SELECT for the contact's tenant, its sites and its booked requests through
psycopg and renders the blueprint's own gadget template from the rows.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from flask import Flask, request

UTC = timezone.utc


def lib_app() -> Flask:
    """The web plugin's gadget over the library (one Desk per worker process)."""
    from siteupdates import Desk
    from siteupdates_web import mount

    app = Flask("bench_lib")
    app.secret_key = "bench"
    desk = Desk.open(os.environ["BENCH_PG_URL"], entry_points=True)
    app.extensions["bench_desk"] = desk  # for a caller that closes it (the test)
    mount(app, contact=lambda: request.headers.get("X-Contact"), desk=desk, url_prefix="/u")
    return app


def use_case_app() -> Flask:
    """The blueprint's template fed by ``siteupdates.app.contact.gadget`` (one read, 2 statements).

    What the web plugin's route would do once the facade declares that read:
    measured beside the route that goes through the contact's handle today.
    """
    from flask import render_template, url_for

    from siteupdates import Desk
    from siteupdates.app.contact import gadget
    from siteupdates_web import forms, mount
    from siteupdates_web.templating import configure_environment

    app = Flask("bench_use_case")
    # The blueprint does this before its own pages; this route is the app's.
    configure_environment(app.jinja_env)
    app.secret_key = "bench"
    desk = Desk.open(os.environ["BENCH_PG_URL"], entry_points=True)
    app.extensions["bench_desk"] = desk  # for a caller that closes it (the test)
    mount(app, contact=lambda: request.headers.get("X-Contact"), desk=desk, url_prefix="/u")

    # The blueprint's helpers serve its own routes; this route is the app's.
    app.context_processor(lambda: {"status_meaning": desk.meaning})

    @app.route("/g/gadget/fragment")
    def fragment() -> Any:
        got = gadget(desk.app, request.headers.get("X-Contact") or "")
        return render_template(
            "siteupdates_web/gadget.html", overview=got.overview, tenant=got.tenant,
            many=len(got.tenants) > 1,
            manage_url=url_for("siteupdates_web.requests_of",
                               tenant_id=(got.tenant or got.tenants[0]).id),
            labels=forms.site_label,
        )  # fmt: skip

    return app


BARE_SELECT = """
WITH c AS (SELECT zone, tenants::json->>0 AS tid FROM contacts WHERE id = %(cid)s)
SELECT 0 AS part, t.id, t.name, s.kind, s.version, s.since, s.refreshed_at,
       NULL::text AS target, NULL::boolean AS db_refresh, NULL::timestamptz AS at, c.zone,
       NULL::text AS status
  FROM c JOIN tenants t ON t.id = c.tid JOIN sites s ON s.tenant_id = t.id
UNION ALL
SELECT 1, r.tenant_id, NULL, NULL, r.version, NULL, NULL, r.target, r.db_refresh,
       r.scheduled_for, NULL, r.status
  FROM c JOIN requests r ON r.tenant_id = c.tid
 WHERE r.status IN ('scheduled', 'not-started', 'in-progress')
"""

#: The overview's site order (the source document's: Production, staging, Sandbox).
SITE_ORDER = {"production": 0, "staging": 1, "sandbox": 2}

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Row:
    """The fields of an overview row the template reads (``row_text`` in English uses ``text``)."""

    def __init__(self, site: Any, text: str, label: str, when: datetime, status: Any = None):
        self.site, self.text, self.label, self.when, self.status = site, text, label, when, status
        self.automatic = False


class View:
    """The fields of an overview the template reads."""

    def __init__(self, name: str, made_at: datetime, zone: str, rows: List[Row]) -> None:
        self.tenant_name, self.made_at, self.zone, self.rows = name, made_at, zone, rows


def _no_desk() -> Any:
    raise RuntimeError("the baseline's route does not use the desk")


def bare_app() -> Flask:
    """One SELECT and the blueprint's template: what a hand-written page would do."""
    import psycopg
    from flask import render_template, url_for

    try:
        from zoneinfo import ZoneInfo
    except ImportError:  # Python 3.8
        from backports.zoneinfo import ZoneInfo  # type: ignore[no-redef]

    from siteupdates.domain.model import SiteKind, Status
    from siteupdates_web import forms, mount
    from siteupdates_web.templating import configure_environment

    app = Flask("bench_bare")
    # The template's {% trans %} and date helpers, as the blueprint installs them.
    configure_environment(app.jinja_env)
    app.secret_key = "bench"
    # The blueprint is mounted for its templates and URLs; the route below is the baseline.
    mount(app, contact=lambda: request.headers.get("X-Contact"), desk=_no_desk, url_prefix="/u")
    # Each scheduled row shows its status's meaning, as the library's page does.
    app.context_processor(lambda: {"status_meaning": lambda status: status.meaning})
    url, schema = os.environ["BENCH_PG_URL"].split("?schema=")
    conn: Dict[str, Any] = {}

    def connection() -> Any:
        if "c" not in conn:
            c = psycopg.connect(url, autocommit=True)
            c.execute(f'SET search_path TO "{schema}"')
            conn["c"] = c
        return conn["c"]

    zones: Dict[str, Any] = {}

    def day(d: datetime, zone: str) -> str:
        z = zones.get(zone) or zones.setdefault(zone, ZoneInfo(zone))
        local = d.astimezone(z)
        return f"{MONTHS[local.month - 1]}. {local.day}, {local.year}"

    @app.route("/bare/gadget/fragment")
    def gadget() -> Any:
        cid = request.headers.get("X-Contact")
        rows = connection().execute(BARE_SELECT, {"cid": cid}).fetchall()
        zone = next((r[10] for r in rows if r[0] == 0 and r[10]), None) or "America/Chicago"
        sites = sorted((r for r in rows if r[0] == 0), key=lambda r: SITE_ORDER.get(r[3], 3))
        booked = sorted((r for r in rows if r[0] == 1), key=lambda r: r[9])
        out: List[Row] = []
        for s in sites:
            kind = SiteKind(s[3])
            out.append(Row(kind, f"{s[4]} - {day(s[5], zone)}", "CURRENT", s[5]))
            for b in booked:
                main, _, refresh = b[7].partition("/")
                status = Status(b[11])
                when = b[9]
                if b[4] is not None and main == s[3]:
                    out.append(Row(kind, f"{b[4]} - {day(when, zone)}", "SCHEDULED", when, status))
                if b[8] and (refresh or main) == s[3]:
                    text = f"Refresh - {day(when, zone)}"
                    out.append(Row(kind, text, "SCHEDULED", when, status))
        view: Optional[View] = None
        if sites:
            view = View(sites[0][2], datetime.now(UTC), zone, out)
        return render_template(
            "siteupdates_web/gadget.html", overview=view, tenant=None, many=False,
            manage_url=url_for("siteupdates_web.requests_of",
                               tenant_id=rows[0][1] if rows else "-"),
            labels=forms.site_label,
        )  # fmt: skip

    return app
