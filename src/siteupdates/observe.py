"""One seam for what the library does, for metrics, traces and logs: ``observe(event, **labels)``.

The use cases, the worker, the outbox dispatcher and the planner call
:func:`observe` with an event name and labels; observers registered with
:func:`add_observer` (the Prometheus metrics of :mod:`siteupdates.metrics`, a
host's own statsd client, a test) receive each call. With no observer the
call returns at once: a host that watches nothing pays one list check.

The events and their labels (every label is always given):

* ``use_case``: ``name`` (``submit``, ``plan_queue``, ...), ``outcome`` (``ok``,
  ``refused``, ``denied``, ``conflict``, ``error``), ``seconds``;
* ``refusal``: ``rule`` (``R17``) for each rule that refused a request;
* ``claim``: ``reclaimed`` (True when the request's earlier lease had expired:
  its worker died or stalled and this claim took it over);
* ``update``: ``outcome`` (``completed``, ``failed``, ``question``,
  ``handed_back``, ``lost``) when a worker ends one request;
* ``delivery``: ``channel`` (the outbox kind: ``notice``, ``reminder``,
  ``calendar``, ``webhook``), ``outcome`` (``delivered``, ``failed``, ``dead``,
  ``withdrawn``, ``undelivered``, ``lost``) and ``seconds``;
* ``plan``: ``seconds`` and ``scheduled`` (how many requests it placed).

:func:`about` marks the request a block of work is about, so each log line
written meanwhile can carry its ID (:mod:`siteupdates.logformat`) and a trace
span its attribute; :func:`run_use_case` times a use case, opens its span
(:mod:`siteupdates.tracing`) and observes its outcome and refusals.
"""

from __future__ import annotations

import _thread
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, TypeVar

if TYPE_CHECKING:
    import contextvars

__all__ = [
    "EVENTS",
    "Observer",
    "about",
    "active",
    "add_observer",
    "current_request",
    "observe",
    "remove_observer",
    "run_use_case",
]

T = TypeVar("T")

#: An observer: called with the event's name and its labels.
Observer = Callable[[str, Dict[str, Any]], None]

#: The events the library observes, and their labels.
EVENTS: Dict[str, tuple] = {  # type: ignore[type-arg]
    "use_case": ("name", "outcome", "seconds"),
    "refusal": ("rule",),
    "claim": ("reclaimed",),
    "update": ("outcome",),
    "delivery": ("channel", "outcome", "seconds"),
    "plan": ("seconds", "scheduled"),
}

_observers: List[Observer] = []
#: The request the running code is about; made on first use (a read command never needs it).
_request: Optional[contextvars.ContextVar[Optional[str]]] = None
_making = _thread.allocate_lock()


def _var() -> contextvars.ContextVar[Optional[str]]:
    global _request
    with _making:
        if _request is None:
            import contextvars

            _request = contextvars.ContextVar("siteupdates_request", default=None)
        return _request


def add_observer(observer: Observer) -> None:
    """Have ``observer(event, labels)`` called for every observed event (once per observer)."""
    if observer not in _observers:
        _observers.append(observer)


def remove_observer(observer: Observer) -> None:
    """Stop calling ``observer`` (no error when it was not added)."""
    if observer in _observers:
        _observers.remove(observer)


def active() -> bool:
    """Whether anything watches: an observer, or tracing (see :mod:`siteupdates.tracing`)."""
    if _observers:
        return True
    from siteupdates import tracing

    return tracing.enabled()


def observe(event: str, **labels: Any) -> None:
    """Tell every observer that ``event`` happened, with ``labels``.

    An observer that raises is logged and skipped: watching never breaks the work.
    """
    if not _observers:
        return
    for observer in tuple(_observers):
        try:
            observer(event, labels)
        except Exception as exc:  # a broken exporter must not fail an update
            from siteupdates.logs import logger

            logger("siteupdates.observe").warning(
                "observer %r failed on %s: %s: %s", observer, event, type(exc).__name__, exc
            )


def current_request() -> Optional[str]:
    """The ID of the request the running code is about (see :func:`about`), or None."""
    return None if _request is None else _request.get()


@contextmanager
def about(request_id: Optional[str]) -> Iterator[None]:
    """Mark the block as work on ``request_id``: log lines and spans within carry its ID."""
    var = _request if _request is not None else _var()
    token = var.set(request_id)
    try:
        yield
    finally:
        var.reset(token)


def _outcome(exc: BaseException) -> str:
    from siteupdates.errors import AccessDenied, ConflictError, RequestRefused

    if isinstance(exc, RequestRefused):
        return "refused"
    if isinstance(exc, AccessDenied):
        return "denied"
    if isinstance(exc, ConflictError):
        return "conflict"
    return "error"


def run_use_case(name: str, work: Callable[[], T], **attributes: Any) -> T:
    """Run ``work`` as the use case ``name``: one span, its outcome and refusals observed.

    ``attributes`` go on the span (``request_id``). The lead's declaration
    dispatcher and :meth:`siteupdates.app.App.run` call it; with nothing
    watching (:func:`active` false) it is ``work()``.
    """
    if not active():
        return work()
    from siteupdates import tracing

    request_id = attributes.get("request_id") or current_request()
    if request_id is not None:
        attributes["request_id"] = request_id
    start = time.perf_counter()
    with tracing.span(f"siteupdates.{name}", attributes) as span:
        try:
            result = work()
        except BaseException as exc:
            outcome = _outcome(exc)
            rules = tuple(getattr(exc, "rules", ()) or ())
            if outcome == "denied":
                rules = ("R22",)
            span.set("outcome", outcome)
            if rules:
                span.set("rules", ",".join(rules))
            observe("use_case", name=name, outcome=outcome, seconds=time.perf_counter() - start)
            for rule in rules:
                observe("refusal", rule=rule)
            raise
        span.set("outcome", "ok")
        rid = getattr(result, "id", None)
        if isinstance(rid, str) and request_id is None:
            span.set("request_id", rid)
        observe("use_case", name=name, outcome="ok", seconds=time.perf_counter() - start)
        return result
