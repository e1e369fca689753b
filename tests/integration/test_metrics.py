"""Metrics: a running worker process scraped over HTTP, its figures checked against the store.

Also: the counters fed through observe() in one process, the JSON log lines of
a long-running command carrying the request ID, and spans caught by the
OpenTelemetry SDK's in-memory exporter.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from siteupdates import observe, tracing
from siteupdates.cli.ops import long_running
from siteupdates.domain import Status
from siteupdates.errors import RequestRefused
from siteupdates.plugins import PluginHost
from siteupdates.ports import OutboxState
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, RecordingNotifier, sample_setup

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from siteupdates.metrics import Metrics  # noqa: E402

UTC = timezone.utc
ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import sys
from siteupdates.app.worker import Worker
from siteupdates.cli.ops import long_running
from siteupdates.hookspecs import hookimpl
from siteupdates.service import Desk

class Updater:
    @hookimpl
    def siteupdates_perform_update(self, request, tenant, fence):
        if request.target.value == "staging":
            raise RuntimeError("the staging disk is full")
        return True

desk = Desk.open(sys.argv[1], plugins=[Updater()])
worker = Worker(desk, "w-metrics", lease_seconds=30)
import signal
signal.signal(signal.SIGTERM, lambda *_: worker.stop())
with long_running(desk.app, log_format="json", metrics_port=0):
    worker.run(poll=0.2)
"""


def _families(text: str) -> Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]:
    out: Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture
def worker_proc() -> Iterator[List[Any]]:
    procs: List[Any] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.slow
def test_a_running_worker_serves_metrics_that_match_the_store(
    tmp_path: Path, worker_proc: List[Any]
) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    notifier = RecordingNotifier()
    desk = Desk.open(url, host=PluginHost(plugins=[notifier]))
    desk.provider.load_setup(sample_setup())
    soon = datetime.now(UTC) + timedelta(seconds=1)
    ok = desk.contact("dana").submit("d1", target="production/sandbox", version="E.1505.2",
                     at=datetime(2030, 3, 7, 22)).request.id  # fmt: skip
    bad = (
        desk.contact("dana")
        .submit("d1", target="staging", version="E.1505.2", at=datetime(2030, 3, 7, 22))
        .request.id
    )
    desk.provider.schedule(ok, soon)
    desk.provider.schedule(bad, soon)
    desk.contact("sam").submit(
        "d3",
        target="production/sandbox",
        version=None,
        db_refresh=True,
        at=datetime(2030, 3, 9, 22),
    )  # fmt: skip  (stays queued)
    notifier.refusing = "550 unknown mailbox"
    desk.ops.deliver()  # every notice so far is a dead letter
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([sys.executable, "-c", WORKER, url], stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)  # fmt: skip
    worker_proc.append(proc)
    assert proc.stderr is not None
    lines: List[Dict[str, Any]] = []
    port = 0
    while not port:
        line = proc.stderr.readline()
        assert line, "the worker ended before serving metrics"
        record = json.loads(line)
        lines.append(record)
        if record["message"].startswith("metrics on http://"):
            port = int(record["message"].rsplit(":", 1)[1].split("/")[0])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = {r: desk.storage.request(r) for r in (ok, bad)}
        if all(x is not None and x.status in (Status.COMPLETED, Status.UNABLE_TO_COMPLETE)
               for x in done.values()):  # fmt: skip
            break
        time.sleep(0.2)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    m = _families(body.decode())
    store = desk.storage
    for s in Status:
        n = len(store.requests_in((s,), limit=1000))
        assert m[("siteupdates_requests", (("status", s.value),))] == n, s
    assert m[("siteupdates_requests_queued", ())] == 1
    assert m[("siteupdates_claims_total", ())] == 2
    assert m[("siteupdates_leases_reclaimed_total", ())] == 0
    assert m[("siteupdates_updates_total", (("outcome", "completed"),))] == 1
    assert m[("siteupdates_updates_total", (("outcome", "failed"),))] == 1
    dead = len(store.outbox(state=OutboxState.DEAD))
    assert m[("siteupdates_outbox_items", (("channel", "notice"), ("state", "dead")))] == dead
    pending = [o for o in store.outbox(state=OutboxState.PENDING) if o.kind == "notice"]
    assert m[("siteupdates_outbox_items", (("channel", "notice"), ("state", "pending")))] == len(
        pending
    )
    assert m[("siteupdates_use_cases_total", (("name", "start"), ("outcome", "ok")))] >= 2
    # Log lines: timestamps, levels, and the request ID on each line about a request.
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=30)
    lines += [json.loads(x) for x in rest.splitlines() if x.startswith("{")]
    failed = [r for r in lines if "the staging disk is full" in r["message"]]
    assert failed and failed[0]["request_id"] == bad and failed[0]["level"] == "ERROR"
    assert all(r["time"].endswith("Z") for r in lines)
    assert proc.returncode == 0


def test_counters_follow_use_cases_refusals_deliveries_and_plans() -> None:
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    desk = Desk.open("memory://", host=PluginHost(plugins=[RecordingNotifier()]), clock=clock)
    desk.provider.load_setup(sample_setup())
    metrics = Metrics(app=desk.app).install()
    try:
        desk.contact("dana").submit(
            "d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 7, 22)
        )
        with pytest.raises(RequestRefused):
            desk.contact("dana").submit(
                "d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 8, 22)
            )
        desk.provider.plan_queue()
        desk.ops.deliver()
    finally:
        metrics.uninstall()
    m = _families(prometheus_client.generate_latest(metrics.registry).decode())
    assert m[("siteupdates_use_cases_total", (("name", "submit"), ("outcome", "ok")))] == 1
    assert m[("siteupdates_use_cases_total", (("name", "submit"), ("outcome", "refused")))] == 1
    assert m[("siteupdates_refusals_total", (("rule", "R17"),))] == 1
    assert m[("siteupdates_plan_runs_total", ())] == 1
    assert m[("siteupdates_plan_scheduled_total", ())] == 1
    assert (
        m[("siteupdates_deliveries_total", (("channel", "notice"), ("outcome", "delivered")))] == 2
    )
    assert m[("siteupdates_delivery_seconds_count", (("channel", "notice"),))] == 2
    assert m[("siteupdates_requests", (("status", "scheduled"),))] == 1
    assert m[("siteupdates_requests_due", ())] == 0
    # Uninstalled, it counts nothing more.
    desk.ops.deliver()
    m2 = _families(prometheus_client.generate_latest(metrics.registry).decode())
    assert m2[("siteupdates_plan_runs_total", ())] == 1


def test_a_contacts_transitions_are_counted_under_their_own_names() -> None:
    """Cancel, delete and answer share one helper; each is still its own use case."""
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    desk = Desk.open("memory://", host=PluginHost(plugins=[RecordingNotifier()]), clock=clock)
    desk.provider.load_setup(sample_setup())
    metrics = Metrics(app=desk.app).install()
    try:
        dana = desk.contact("dana")
        sub = dana.submit("d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 7, 22))
        dana.cancel(sub.request.id)
    finally:
        metrics.uninstall()
    m = _families(prometheus_client.generate_latest(metrics.registry).decode())
    assert m[("siteupdates_use_cases_total", (("name", "cancel"), ("outcome", "ok")))] == 1
    names = {dict(labels).get("name") for (family, labels) in m if "use_cases" in family}
    assert "_act" not in names


def test_a_broken_observer_never_breaks_the_work() -> None:
    def broken(event: str, labels: Dict[str, Any]) -> None:
        raise RuntimeError("exporter down")

    desk = Desk.open("memory://", clock=FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC)))
    desk.provider.load_setup(sample_setup())
    observe.add_observer(broken)
    try:
        desk.contact("dana").submit(
            "d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 7, 22)
        )
    finally:
        observe.remove_observer(broken)


def test_text_log_lines_carry_time_level_and_request() -> None:
    stream = io.StringIO()
    desk = Desk.open("memory://")
    with long_running(desk.app, stream=stream), observe.about("0123456789abcdef"):
        from siteupdates.logs import logger

        logger("siteupdates.worker").warning("lease renewal failed")
    line = stream.getvalue().strip()
    assert line.endswith("WARNING siteupdates.worker [request 0123456789ab]: lease renewal failed")
    assert line[:4].isdigit() and line[23] == "Z"


# -- traces ---------------------------------------------------------------------------


def test_one_span_per_use_case_and_per_delivery_with_the_request_and_rules() -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    desk = Desk.open("memory://", host=PluginHost(plugins=[RecordingNotifier()]), clock=clock)
    desk.provider.load_setup(sample_setup())
    tracing.enable(provider)
    try:
        rid = desk.contact("dana").submit(
            "d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 7, 22)
        )
        with pytest.raises(RequestRefused):
            desk.contact("dana").submit(
                "d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 8, 22)
            )
        desk.ops.deliver()
    finally:
        tracing.disable()
    spans = exporter.get_finished_spans()
    names = [s.name for s in spans]
    assert names.count("siteupdates.submit") == 2
    assert names.count("siteupdates.deliver") == 1
    ok, refused = [s for s in spans if s.name == "siteupdates.submit"]
    assert ok.attributes is not None and ok.attributes["siteupdates.outcome"] == "ok"
    assert refused.attributes is not None
    assert refused.attributes["siteupdates.outcome"] == "refused"
    assert refused.attributes["siteupdates.rules"] == "R17"
    (deliver,) = [s for s in spans if s.name == "siteupdates.deliver"]
    assert deliver.attributes is not None
    assert deliver.attributes["siteupdates.request_id"] == rid.request.id
    assert deliver.attributes["siteupdates.channel"] == "notice"
    assert deliver.attributes["siteupdates.outcome"] == "delivered"
    exporter.clear()
    desk.ops.deliver()
    assert exporter.get_finished_spans() == ()  # off again: nothing recorded


COUNTING = """
import sys
from siteupdates import observe
from siteupdates.metrics import Metrics
Metrics().install()
for _ in range(int(sys.argv[1])):
    observe.observe("claim", reclaimed=False)
observe.observe("claim", reclaimed=True)
"""

SERVING = """
import prometheus_client
from siteupdates.metrics import multiprocess_registry
print(prometheus_client.generate_latest(multiprocess_registry()).decode())
"""


@pytest.mark.slow
def test_counters_of_several_processes_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    shared = tmp_path / "prom"
    shared.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    for n in (3, 4):
        subprocess.run([sys.executable, "-c", COUNTING, str(n)], env=env, check=True)
    out = subprocess.run(
        [sys.executable, "-c", SERVING], env=env, check=True, capture_output=True, text=True
    ).stdout
    m = _families(out)
    assert m[("siteupdates_claims_total", ())] == 3 + 4 + 2
    assert m[("siteupdates_leases_reclaimed_total", ())] == 2


def test_the_desks_observer_counts_each_declared_use_case_once() -> None:
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    desk = Desk.open("memory://", host=PluginHost(plugins=[RecordingNotifier()]), clock=clock)
    desk.provider.load_setup(sample_setup())
    desk.observers.append(observe.desk_observer)
    metrics = Metrics().install()
    try:
        dana = desk.contact("dana")
        rid = dana.submit("d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 7, 22))
        with pytest.raises(RequestRefused):
            dana.submit("d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 8, 22))
        desk.provider.schedule(rid.request.id, datetime(2026, 3, 8, 4, tzinfo=UTC))
    finally:
        metrics.uninstall()
    m = _families(prometheus_client.generate_latest(metrics.registry).decode())
    assert m[("siteupdates_use_cases_total", (("name", "submit"), ("outcome", "ok")))] == 1
    assert m[("siteupdates_use_cases_total", (("name", "submit"), ("outcome", "refused")))] == 1
    assert m[("siteupdates_use_cases_total", (("name", "schedule"), ("outcome", "ok")))] == 1
    assert m[("siteupdates_refusals_total", (("rule", "R17"),))] == 1
    assert not any(
        k[0] == "siteupdates_use_cases_total" and ("name", "load_setup") in k[1] for k in m
    )  # fmt: skip  (before the observer was added)
