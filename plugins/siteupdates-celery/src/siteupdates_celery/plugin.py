"""The entry point of the plugin: a Celery executor configured from ``[plugins.celery]``.

Until it is configured it takes no run, so merely installing the plugin changes
nothing. Settings::

    [plugins.celery]
    broker = "redis://127.0.0.1:6379/0"   # or broker_env = "SITEUPDATES_BROKER_URL"
    backend = "redis://127.0.0.1:6379/0"  # optional: lets `dispatch --status` ask
    task = "siteupdates.run"              # optional: the task name of the team's worker
    queue = "siteupdates"                 # optional: the queue the team's worker reads
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, List, Mapping, Optional

from celery import Celery

from siteupdates.errors import ConfigurationError
from siteupdates.hookspecs import hookimpl

from .executor import TASK_NAME, CeleryExecutor

if TYPE_CHECKING:
    from siteupdates.runs import Run

__all__ = [
    "executor_from_settings",
    "siteupdates_configure",
    "siteupdates_executor_cancel",
    "siteupdates_executor_dispatch",
    "siteupdates_executor_status",
]

_KEYS = {"broker", "broker_env", "backend", "task", "queue"}
_configured: List[CeleryExecutor] = []


def _text(settings: Mapping[str, Any], key: str) -> Optional[str]:
    value = settings.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigurationError(f"[plugins.celery] {key} must be a non-empty string")
    return value


def executor_from_settings(
    settings: Mapping[str, Any], *, environ: Optional[Mapping[str, str]] = None
) -> Optional[CeleryExecutor]:
    """The executor the ``[plugins.celery]`` table asks for; None for an empty table."""
    env = os.environ if environ is None else environ
    unknown = sorted(set(settings) - _KEYS)
    if unknown:
        raise ConfigurationError(
            f"[plugins.celery]: unknown key {unknown[0]!r}; expected {', '.join(sorted(_KEYS))}"
        )
    broker, var = _text(settings, "broker"), _text(settings, "broker_env")
    if broker is not None and var is not None:
        raise ConfigurationError("[plugins.celery] takes broker or broker_env, not both")
    if var is not None:
        if var not in env:
            raise ConfigurationError(f"[plugins.celery] broker_env: ${var} is not set")
        broker = env[var]
    if broker is None:
        if settings:
            raise ConfigurationError("[plugins.celery] needs broker = URL (or broker_env)")
        return None
    app = Celery("siteupdates-dispatch", broker=broker, backend=_text(settings, "backend"))
    return CeleryExecutor(
        app, task=_text(settings, "task") or TASK_NAME, queue=_text(settings, "queue")
    )


@hookimpl
def siteupdates_configure(settings: Mapping[str, Mapping[str, Any]]) -> None:
    """Configure the executor from the ``celery`` table (the module is the plugin)."""
    found = executor_from_settings(settings.get("celery") or {})
    _configured[:] = [found] if found is not None else []


@hookimpl
def siteupdates_executor_dispatch(run: Run) -> Optional[str]:
    """Send ``run`` to Celery; None when the plugin is not configured."""
    return _configured[0].siteupdates_executor_dispatch(run) if _configured else None


@hookimpl
def siteupdates_executor_status(run: Run) -> Optional[str]:
    """The task's state; None when not configured or without a result backend."""
    return _configured[0].siteupdates_executor_status(run) if _configured else None


@hookimpl
def siteupdates_executor_cancel(run: Run) -> Optional[bool]:
    """Revoke the run's task; None when not configured."""
    return _configured[0].siteupdates_executor_cancel(run) if _configured else None
