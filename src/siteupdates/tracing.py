"""OpenTelemetry spans, when a host asks for them: one per use case and per delivery.

Tracing is off until :func:`enable` is called (or ``SITEUPDATES_TRACING=1`` is
set in the environment of a process that builds an application), and costs
nothing then: :mod:`opentelemetry` is not imported, and
:func:`siteupdates.observe.span` hands out one shared do-nothing span. Once enabled,
spans go to the tracer provider the host configured with the OpenTelemetry SDK
(``opentelemetry.trace.set_tracer_provider``), or the one passed to
:func:`enable`; with ``opentelemetry-api`` absent, :func:`enable` raises
ConfigurationError naming the package to install.

Span names are ``siteupdates.<use case>`` (``siteupdates.submit``) and
``siteupdates.deliver``; attributes are ``siteupdates.request_id``,
``siteupdates.outcome`` and, for a refusal, ``siteupdates.rules`` (the rule
IDs, comma-separated); a delivery adds ``siteupdates.channel`` and
``siteupdates.key``.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator, Mapping, Optional

from siteupdates import observe

__all__ = ["disable", "enable", "enabled", "enable_from_environment"]


def _opener(tracer: Any) -> Any:
    @contextmanager
    def open_span(name: str, attributes: Mapping[str, Any]) -> Iterator[observe.Span]:
        found = {f"siteupdates.{k}": v for k, v in attributes.items() if v is not None}
        with tracer.start_as_current_span(name, attributes=found) as real:
            yield observe.Span(real)

    return open_span


def enable(tracer_provider: Optional[Any] = None) -> None:
    """Turn tracing on: spans go to ``tracer_provider`` (default: the global one)."""
    try:
        from opentelemetry import trace
    except ImportError:
        from siteupdates.errors import ConfigurationError

        raise ConfigurationError(
            "tracing needs opentelemetry-api: pip install 'siteupdates[traces]'"
        ) from None
    from importlib import metadata

    try:
        version: Optional[str] = metadata.version("siteupdates")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree
        version = None
    tracer = trace.get_tracer("siteupdates", version, tracer_provider=tracer_provider)
    observe.set_span_opener(_opener(tracer))


def disable() -> None:
    """Turn tracing off again (spans already open end as usual)."""
    observe.set_span_opener(None)


def enabled() -> bool:
    """Whether spans are recorded."""
    return observe.span_opener() is not None


def enable_from_environment() -> bool:
    """Turn tracing on when ``SITEUPDATES_TRACING`` is set (not ``0``); whether it is on.

    :func:`siteupdates.app.bootstrap` calls it for every application it builds.
    """
    if os.environ.get("SITEUPDATES_TRACING", "") not in ("", "0") and not enabled():
        enable()
    return enabled()
