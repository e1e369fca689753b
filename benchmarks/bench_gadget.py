"""The web gadget under load: gunicorn (4 sync workers), PostgreSQL, 1,000 tenants.

    python -m benchmarks --only gadget

Both apps (benchmarks/gadget_app.py) run under gunicorn with 4 sync workers on
the same schema: 1,000 tenants of 3 sites, each with one booked request, and
1,000 contacts of one tenant each. The load is 32 client threads (httpx, one
client each) in a process of their own, each asking for the gadget fragment of
a random contact for ``seconds``; requests/s and the 99th percentile latency are
counted over the run. The baseline a skeptic would choose: a bare Flask route
that runs one SELECT (the contact's tenant, its sites and its booked requests)
through psycopg and renders the blueprint's own template from the rows.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Tuple

UTC = timezone.utc
TENANTS = 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str, count: int = TENANTS) -> None:
    """1,000 tenants, 1,000 contacts (one tenant each), one booked request per tenant."""
    # ``count`` fewer for the test that holds the three apps' pages equal.
    from siteupdates.domain import Catalog, Contact, Event, Site, Tenant, submitted
    from siteupdates.ports import ChangeSet, Setup
    from siteupdates.testing import make_request, transition
    from siteupdates_postgres import PostgresStorage

    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    tenants = tuple(
        Tenant(f"t{i:04d}", f"Tenant {i}", "asp", sites=(
            Site("production", "E.1450.4", t0), Site("sandbox", "E.1450.4", t0),
            Site("staging", "E.1450.4", t0)))
        for i in range(count)
    )  # fmt: skip
    contacts = tuple(
        Contact(f"c{i:04d}", f"Contact {i}", f"c{i}@example.org", "district", {f"t{i:04d}"})
        for i in range(count)
    )
    s = PostgresStorage(url)
    s.save_setup(Setup(tenants=tenants, contacts=contacts, catalog=Catalog.of("E.1450.4")))
    parts = []
    for i in range(count):
        r = make_request(f"t{i:04d}", target="staging", requested_at=t0)
        booked, step = transition(r, Event.SCHEDULE, date=t0 + timedelta(days=40 + i % 20))
        parts.append(ChangeSet(inserts=(booked,), history=(submitted(r), *step.history)))
    s.apply(ChangeSet.concat(parts))
    s.close()


def serve(factory: str, url: str) -> Tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "BENCH_PG_URL": url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "4", "-k", "sync", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", f"benchmarks.gadget_app:{factory}()"],
        env=env, start_new_session=True,
    )  # fmt: skip
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn {factory} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def load_main(base: str, path: str, clients: int, seconds: float) -> None:
    """The load generator (its own process): ``clients`` threads, one httpx client each."""
    import json
    import random
    import threading

    import httpx

    lat: List[float] = []
    errors: List[int] = []
    start = time.perf_counter()
    end = start + seconds

    def run(k: int) -> None:
        rnd = random.Random(k)
        with httpx.Client(base_url=base, timeout=30) as c:
            while True:
                t = time.perf_counter()
                if t >= end:
                    return
                r = c.get(path, headers={"X-Contact": f"c{rnd.randrange(TENANTS):04d}"})
                took = time.perf_counter() - t
                if r.status_code != 200 or b"Tenant" not in r.content:
                    errors.append(r.status_code)
                else:
                    lat.append(took)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.perf_counter() - start
    print(json.dumps({"n": len(lat), "secs": secs, "lat": lat, "errors": errors[:5],
                      "n_errors": len(errors)}))  # fmt: skip


def load(port: int, path: str, clients: int, seconds: float) -> Dict[str, float]:
    import json

    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_gadget", "load", f"http://127.0.0.1:{port}",
         path, str(clients), str(seconds)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    got = json.loads(out.stdout)
    assert got["n_errors"] == 0, got
    lat = sorted(got["lat"])
    return {"rps": got["n"] / got["secs"], "p99": lat[int(len(lat) * 0.99)] * 1e3}


def measure(base: str, rounds: int, seconds: float = 20.0, clients: int = 32) -> Dict[str, Any]:
    """Requests/s and p99 (ms) of each side, by round."""
    import psycopg
    from psycopg import sql

    schema = f"su_bench_{uuid.uuid4().hex[:8]}_web"
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}schema={schema}"
    out: Dict[str, Dict[str, List[float]]] = {
        side: {"rps": [], "p99": []} for side in ("bare", "lib", "use_case")
    }
    try:
        seed(url)
        servers = {"bare": serve("bare_app", url), "lib": serve("lib_app", url),
                   "use_case": serve("use_case_app", url)}  # fmt: skip
        paths = {"bare": "/bare/gadget/fragment", "lib": "/u/gadget/fragment",
                 "use_case": "/g/gadget/fragment"}  # fmt: skip
        try:
            for side, (_, port) in servers.items():  # warm: every worker connected
                load(port, paths[side], clients, 2.0)
            order = list(servers)
            for r in range(rounds):
                for side in order if r % 2 == 0 else list(reversed(order)):
                    got = load(servers[side][1], paths[side], clients, seconds)
                    out[side]["rps"].append(got["rps"])
                    out[side]["p99"].append(got["p99"])
        finally:
            for proc, _ in servers.values():
                stop(proc)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )
    return out


if __name__ == "__main__" and sys.argv[1:2] == ["load"]:
    load_main(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
elif __name__ == "__main__":
    pg = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    res = measure(pg, 1, secs)
    b, lib = res["bare"], res["lib"]
    rb, rl = statistics.median(b["rps"]), statistics.median(lib["rps"])
    pb, pl = statistics.median(b["p99"]), statistics.median(lib["p99"])
    print(
        f"bare {rb:.0f} req/s p99 {pb:.1f} ms; lib {rl:.0f} req/s p99 {pl:.1f} ms; "
        f"rps ratio {rl / rb:.2f}, p99 ratio {pl / pb:.2f}"
    )
