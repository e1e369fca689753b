"""The operations commands: ``status`` and what the long-running commands share.

:func:`cmd_status` is the ``status`` command (see :mod:`siteupdates.app.health`):
the health of the store as text, or as JSON with ``--json``, and the verdict as
the exit status: 0 ok, 1 warning, 2 critical, as monitoring checks expect.

:func:`long_running` is what ``worker``, ``dispatch`` and ``deliver --loop`` run
inside: log lines with timestamps, levels and request IDs on standard error
(``--log-format text|json``), and, with ``--metrics-port PORT``, Prometheus
metrics served on loopback (``--metrics-addr`` to bind elsewhere).
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Optional

if TYPE_CHECKING:
    from siteupdates.app import App

    from .render import Out

__all__ = ["cmd_status", "long_running"]


def cmd_status(desk: Any, a: argparse.Namespace, out: Out) -> int:
    """The ``status`` command: the store's health; exit 0 ok, 1 warning, 2 critical."""
    from siteupdates.app.health import Health

    health: Health = desk.ops.status()
    out.emit(health.to_dict(), health.render())
    return health.verdict


@contextmanager
def long_running(
    app: App,
    *,
    log_format: str = "text",
    metrics_port: Optional[int] = None,
    metrics_addr: str = "127.0.0.1",
    stream: Any = None,
) -> Iterator[Optional[Any]]:
    """Logs on standard error (and metrics on ``metrics_port``) while the block runs.

    Yields the installed :class:`~siteupdates.metrics.Metrics` (None without a
    port). The library's INFO lines are shown; the handler and the metrics
    server are removed when the block ends.
    """
    import logging

    from siteupdates.logformat import handler
    from siteupdates.logs import logger

    h = handler(stream if stream is not None else sys.stderr, log_format)
    log = logger("siteupdates")
    before = log.level
    log.addHandler(h)
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    metrics, server = None, None
    try:
        if metrics_port is not None:
            from siteupdates.metrics import serve

            metrics, server = serve(app, metrics_port, metrics_addr)
            logger("siteupdates.metrics").info(
                "metrics on http://%s:%d/metrics", metrics_addr, server.server_address[1]
            )
        yield metrics
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if metrics is not None:
            metrics.uninstall()
        log.removeHandler(h)
        log.setLevel(before)
