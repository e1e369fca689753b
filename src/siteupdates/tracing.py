"""OpenTelemetry spans, when a host asks for them: one per use case and per delivery.

Tracing is off until :func:`enable` is called (or ``SITEUPDATES_TRACING=1`` is
set in the environment), and costs nothing then: :mod:`opentelemetry` is not
imported, and :func:`span` hands out one shared do-nothing span. Once enabled,
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

__all__ = ["Span", "disable", "enable", "enabled", "span"]

#: The tracer once enabled; None while tracing is off.
_tracer: Any = None
_checked_env = False


class Span:
    """The part of a span the library uses: set one attribute (a no-op when off)."""

    def __init__(self, real: Any = None) -> None:
        self._real = real

    def set(self, key: str, value: Any) -> None:
        """Set ``siteupdates.<key>`` on the span."""
        if self._real is not None:
            self._real.set_attribute(f"siteupdates.{key}", value)


_NOTHING = Span()


def enable(tracer_provider: Optional[Any] = None) -> None:
    """Turn tracing on: spans go to ``tracer_provider`` (default: the global one)."""
    global _tracer
    try:
        from opentelemetry import trace
    except ImportError:
        from siteupdates.errors import ConfigurationError

        raise ConfigurationError(
            "tracing needs opentelemetry-api: pip install 'siteupdates[traces]'"
        ) from None
    from importlib import metadata

    try:
        version = metadata.version("siteupdates")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree
        version = None
    _tracer = trace.get_tracer("siteupdates", version, tracer_provider=tracer_provider)


def disable() -> None:
    """Turn tracing off again (spans already open end as usual)."""
    global _tracer, _checked_env
    _tracer = None
    _checked_env = True


def enabled() -> bool:
    """Whether spans are recorded (checks ``SITEUPDATES_TRACING`` once)."""
    global _checked_env
    if _tracer is None and not _checked_env:
        _checked_env = True
        if os.environ.get("SITEUPDATES_TRACING", "") not in ("", "0"):
            enable()
    return _tracer is not None


@contextmanager
def span(name: str, attributes: Optional[Mapping[str, Any]] = None) -> Iterator[Span]:
    """A span ``name`` around the block, with ``siteupdates.*`` ``attributes``; errors recorded."""
    if not enabled():
        yield _NOTHING
        return
    attrs = {f"siteupdates.{k}": v for k, v in (attributes or {}).items() if v is not None}
    with _tracer.start_as_current_span(name, attributes=attrs) as real:
        yield Span(real)
