"""Executors: due updates handed to the engine a hosting team runs, and its reports back.

The library decides *when* an update runs and *tells people*; the runbook that
upgrades a site or copies a database belongs to the hosting team, which may run
it on Celery, AWX, Kubernetes Jobs or Temporal. Four pieces connect the two,
each in its own module and all exported here:

* the values they exchange, :class:`Run`, :class:`Ticket`, :class:`Outcome`,
  :class:`Report`, :class:`Execution` (:mod:`siteupdates.runs`, a leaf beside
  the ports, so the plugin contract imports no use case);
* :class:`RunDispatcher` claims due requests with the same leases as the hosting
  worker and gives each one, as a :class:`Run`, to the executor plugin
  (``siteupdates_executor_dispatch``) (:mod:`siteupdates.app.rundispatch`);
* :func:`report` is how the engine tells the library what became of a run, each
  report fenced by the run's token; :func:`heartbeat` keeps a long run's lease;
  :func:`status` and :func:`cancel` (:mod:`siteupdates.app.reports`);
* :func:`execute` is the engine side for Python engines, and
  :class:`LocalExecutor` the reference executor that runs each run in the
  dispatcher's own process through ``siteupdates_perform_update``
  (:mod:`siteupdates.app.execution`).
"""

from __future__ import annotations

from siteupdates.runs import (
    GENERIC_REASON,
    Execution,
    ExecutionResult,
    Outcome,
    Report,
    Run,
    Ticket,
)

from .execution import LocalExecutor, execute, generic_reason
from .reports import cancel, deadline_for, heartbeat, report, run_for, status
from .rundispatch import DispatchReport, RunDispatcher

__all__ = [
    "GENERIC_REASON",
    "DispatchReport",
    "Execution",
    "ExecutionResult",
    "LocalExecutor",
    "Outcome",
    "Report",
    "Run",
    "RunDispatcher",
    "Ticket",
    "cancel",
    "deadline_for",
    "execute",
    "generic_reason",
    "heartbeat",
    "report",
    "run_for",
    "status",
]
