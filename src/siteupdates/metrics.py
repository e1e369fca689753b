"""Prometheus metrics (``pip install 'siteupdates[metrics]'``): counters and the store's figures.

Nothing here is imported unless a host or a command asks for metrics, and
:mod:`prometheus_client` only then. Two kinds of figures:

* **Counters and histograms** of what this process did, fed through the
  :func:`siteupdates.observe.observe` seam: ``siteupdates_use_cases_total{name,
  outcome}`` and ``siteupdates_use_case_seconds{name}``,
  ``siteupdates_refusals_total{rule}``, ``siteupdates_claims_total`` and
  ``siteupdates_leases_reclaimed_total`` (claims that took over an expired
  lease), ``siteupdates_updates_total{outcome}``,
  ``siteupdates_deliveries_total{channel, outcome}`` and
  ``siteupdates_delivery_seconds{channel}``, ``siteupdates_plan_runs_total``,
  ``siteupdates_plan_seconds`` and ``siteupdates_plan_scheduled_total``.
* **The store's figures**, read at scrape time by :class:`StoreCollector`:
  ``siteupdates_requests{status}``, ``siteupdates_open_requests{status, target}``,
  ``siteupdates_requests_queued``, ``siteupdates_requests_due``,
  ``siteupdates_requests_overdue``, ``siteupdates_leases_stuck``,
  ``siteupdates_outbox_items{channel, state}`` (pending, due, dead) and
  ``siteupdates_outbox_oldest_due_age_seconds{channel}``. Every process reading
  one store reports the same values: scrape one of them, or aggregate with
  ``max``.

A long-running command serves them with :func:`serve` on a loopback port; a
host exposes them from its own endpoint::

    metrics = Metrics(app=desk.app)        # its own registry, the store collector on it
    metrics.install()                      # counters start counting
    body = prometheus_client.generate_latest(metrics.registry)

**Several processes** (the host runs workers under a process manager, or a web
server with workers): set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory
shared by them, as prometheus_client documents; each process's counters are
written there, and :func:`serve` (or a host's endpoint through
:func:`multiprocess_registry`) adds them up. Clear the directory when the
processes start.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional, Tuple

from siteupdates import observe
from siteupdates.errors import ConfigurationError

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from siteupdates.app import App

__all__ = ["Metrics", "StoreCollector", "multiprocess_registry", "serve"]

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_PLAN = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300)


def _client() -> Any:
    try:
        import prometheus_client
    except ImportError:
        raise ConfigurationError(
            "metrics need prometheus_client: pip install 'siteupdates[metrics]'"
        ) from None
    return prometheus_client


class StoreCollector:
    """Reads the store's figures at each scrape (see the module docstring).

    ``overdue_after`` is how long past its date a Scheduled request may wait to be
    started before it counts as overdue (default: the ``[plugins.health]`` table's
    ``overdue_after_minutes``, else 15 minutes).
    """

    def __init__(self, app: App, *, overdue_after: Optional[timedelta] = None) -> None:
        self.app = app
        self.overdue_after = overdue_after

    def describe(self) -> Iterator[Any]:
        """Nothing ahead of time: the figures are read at scrape time."""
        return iter(())

    def collect(self) -> Iterator[Any]:
        """The store's figures now, as gauge families."""
        from prometheus_client.core import GaugeMetricFamily

        from siteupdates.app.health import Thresholds, outbox_stats
        from siteupdates.domain import Status
        from siteupdates.domain.lifecycle import OPEN

        app = self.app
        reads = app.reads
        now = app.now()
        late = self.overdue_after
        if late is None:
            minutes = Thresholds.from_table(app.host.table("health")).overdue_after_minutes
            late = timedelta(minutes=minutes)
        total = GaugeMetricFamily(
            "siteupdates_requests", "Requests in the store by status", labels=["status"]
        )
        for s in Status:
            total.add_metric([s.value], reads.page_in((s,), limit=0).total)
        yield total
        open_by: Dict[Tuple[str, str], int] = {}
        opened = reads.requests_in(tuple(OPEN), limit=1_000_000)
        for r in opened:
            key = (r.status.value, r.target.value)
            open_by[key] = open_by.get(key, 0) + 1
        family = GaugeMetricFamily(
            "siteupdates_open_requests",
            "Open requests by status and target site",
            labels=["status", "target"],
        )
        for (status, target), n in sorted(open_by.items()):
            family.add_metric([status, target], n)
        yield family
        queued = sum(1 for r in opened if r.status is Status.TO_BE_SCHEDULED)
        yield GaugeMetricFamily(
            "siteupdates_requests_queued", "Requests To Be Scheduled", value=queued
        )
        due = [r.scheduled_for for r in opened
               if r.status is Status.SCHEDULED and r.scheduled_for is not None
               and r.scheduled_for <= now]  # fmt: skip
        yield GaugeMetricFamily(
            "siteupdates_requests_due",
            "Scheduled requests whose date has come, not started",
            value=len(due),
        )
        yield GaugeMetricFamily(
            "siteupdates_requests_overdue",
            "Scheduled requests not started long after their date (overdue_after_minutes)",
            value=sum(1 for d in due if d <= now - late),
        )
        stuck = 0
        for r in opened:
            if r.status in (Status.NOT_STARTED, Status.IN_PROGRESS):
                lease = reads.lease(r.id)
                stuck += lease is not None and lease.expires < now
        yield GaugeMetricFamily(
            "siteupdates_leases_stuck",
            "Claimed requests whose worker's lease has expired",
            value=stuck,
        )
        items = GaugeMetricFamily(
            "siteupdates_outbox_items",
            "Outbox items by channel and state (pending, due, dead)",
            labels=["channel", "state"],
        )
        age = GaugeMetricFamily(
            "siteupdates_outbox_oldest_due_age_seconds",
            "How long the oldest due outbox item of a channel has waited",
            labels=["channel"],
        )
        for channel, c in outbox_stats(reads, now).items():
            items.add_metric([channel, "pending"], c.pending)
            items.add_metric([channel, "due"], c.due)
            items.add_metric([channel, "dead"], c.dead)
            since = c.oldest_due_since
            age.add_metric([channel], 0.0 if since is None else (now - since).total_seconds())
        yield items
        yield age


class Metrics:
    """The counters of this process on ``registry`` (a new one by default), fed by observe().

    With ``app``, a :class:`StoreCollector` of its store is registered too.
    :meth:`install` starts counting; :meth:`uninstall` stops.
    """

    def __init__(self, registry: Optional[CollectorRegistry] = None, *,
                 app: Optional[App] = None) -> None:  # fmt: skip
        pc = _client()
        self.registry: CollectorRegistry = registry or pc.CollectorRegistry()
        on = {"registry": self.registry}
        self.use_cases = pc.Counter(
            "siteupdates_use_cases", "Use cases run", ["name", "outcome"], **on
        )
        self.use_case_seconds = pc.Histogram(
            "siteupdates_use_case_seconds", "Use case duration", ["name"], buckets=_LATENCY, **on
        )
        self.refusals = pc.Counter(
            "siteupdates_refusals", "Requests refused, by rule", ["rule"], **on
        )
        self.claims = pc.Counter("siteupdates_claims", "Requests claimed by workers", **on)
        self.reclaimed = pc.Counter(
            "siteupdates_leases_reclaimed",
            "Claims that took over a request whose lease had expired",
            **on,
        )
        self.updates = pc.Counter(
            "siteupdates_updates", "Updates a worker ended, by outcome", ["outcome"], **on
        )
        self.deliveries = pc.Counter(
            "siteupdates_deliveries", "Outbox delivery attempts", ["channel", "outcome"], **on
        )
        self.delivery_seconds = pc.Histogram(
            "siteupdates_delivery_seconds", "Delivery attempt duration", ["channel"],
            buckets=_LATENCY, **on,
        )  # fmt: skip
        self.plans = pc.Counter("siteupdates_plan_runs", "Plans of the queue run", **on)
        self.plan_seconds = pc.Histogram(
            "siteupdates_plan_seconds", "Plan duration", buckets=_PLAN, **on
        )
        self.plan_scheduled = pc.Counter(
            "siteupdates_plan_scheduled", "Requests scheduled by plans", **on
        )
        self.collector: Optional[StoreCollector] = None
        if app is not None:
            self.collector = StoreCollector(app)
            self.registry.register(self.collector)

    def __call__(self, event: str, labels: Dict[str, Any]) -> None:
        """The observer: count ``event`` (see :data:`siteupdates.observe.EVENTS`)."""
        if event == "use_case":
            self.use_cases.labels(labels["name"], labels["outcome"]).inc()
            self.use_case_seconds.labels(labels["name"]).observe(labels["seconds"])
        elif event == "refusal":
            self.refusals.labels(labels["rule"]).inc()
        elif event == "claim":
            self.claims.inc()
            if labels["reclaimed"]:
                self.reclaimed.inc()
        elif event == "update":
            self.updates.labels(labels["outcome"]).inc()
        elif event == "delivery":
            self.deliveries.labels(labels["channel"], labels["outcome"]).inc()
            self.delivery_seconds.labels(labels["channel"]).observe(labels["seconds"])
        elif event == "plan":
            self.plans.inc()
            self.plan_seconds.observe(labels["seconds"])
            self.plan_scheduled.inc(labels["scheduled"])

    def install(self) -> Metrics:
        """Start counting what this process does; returns itself."""
        observe.add_observer(self)
        return self

    def uninstall(self) -> None:
        """Stop counting."""
        observe.remove_observer(self)


def multiprocess_registry(app: Optional[App] = None) -> CollectorRegistry:
    """A registry adding up the counters of every process (``PROMETHEUS_MULTIPROC_DIR``).

    With ``app``, the store's figures are on it too. For a host's own endpoint
    when it runs several processes.
    """
    _client()
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        raise ConfigurationError("multi-process metrics need PROMETHEUS_MULTIPROC_DIR set")
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    if app is not None:
        registry.register(StoreCollector(app))
    return registry


def serve(app: App, port: int, addr: str = "127.0.0.1") -> Tuple[Metrics, Any]:
    """Count this process's work and serve every figure on ``http://addr:port/metrics``.

    Returns the installed :class:`Metrics` and the server (``server.shutdown()``
    stops it). ``port`` 0 picks a free one (``server.server_address[1]``). With
    ``PROMETHEUS_MULTIPROC_DIR`` set, the counters of every process writing
    there are served, added up.
    """
    pc = _client()
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigurationError(f"the metrics port must be 0 to 65535, not {port!r}")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics = Metrics().install()  # written to the shared directory
        served = multiprocess_registry(app)
    else:
        metrics = Metrics(app=app).install()
        served = metrics.registry
    server, _thread = pc.start_http_server(port, addr=addr, registry=served)
    return metrics, server
