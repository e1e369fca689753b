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

import time
from contextlib import contextmanager
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    ContextManager,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    TypeVar,
)

if TYPE_CHECKING:
    import contextvars

__all__ = [
    "EVENTS",
    "Observer",
    "Span",
    "about",
    "active",
    "add_observer",
    "current_request",
    "desk_observer",
    "observe",
    "remove_observer",
    "run_use_case",
    "set_span_opener",
    "span",
    "span_opener",
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
#: The context variables, made on first use (see _var).
_made: Dict[str, Any] = {}
#: Whether the running code is inside an observed use case; made on first use.
_inside: Optional[contextvars.ContextVar[bool]] = None


def _var() -> contextvars.ContextVar[Optional[str]]:
    global _request
    if _request is None:
        import contextvars

        # setdefault is atomic: two threads making it at once end with the same one.
        _request = _made.setdefault(
            "request", contextvars.ContextVar("siteupdates_request", default=None)
        )
    return _request


def add_observer(observer: Observer) -> None:
    """Have ``observer(event, labels)`` called for every observed event (once per observer)."""
    if observer not in _observers:
        _observers.append(observer)


def remove_observer(observer: Observer) -> None:
    """Stop calling ``observer`` (no error when it was not added)."""
    if observer in _observers:
        _observers.remove(observer)


class Span:
    """The part of a span the library uses: set one attribute (a no-op when tracing is off)."""

    def __init__(self, real: Any = None) -> None:
        self._real = real

    def set(self, key: str, value: Any) -> None:
        """Set ``siteupdates.<key>`` on the span."""
        if self._real is not None:
            self._real.set_attribute(f"siteupdates.{key}", value)


#: What :func:`span` yields while tracing is off.
_NOTHING = Span()
#: Opens a span; set by :func:`siteupdates.tracing.enable`, None while tracing is off.
_spans: Optional[Callable[[str, Mapping[str, Any]], ContextManager[Span]]] = None


def set_span_opener(
    opener: Optional[Callable[[str, Mapping[str, Any]], ContextManager[Span]]],
) -> None:
    """Have :func:`span` open spans with ``opener(name, attributes)``; None turns them off.

    :mod:`siteupdates.tracing` sets an OpenTelemetry one; a host may set its own.
    """
    global _spans
    _spans = opener


def span_opener() -> Optional[Callable[[str, Mapping[str, Any]], ContextManager[Span]]]:
    """What :func:`span` opens spans with, or None while tracing is off."""
    return _spans


def active() -> bool:
    """Whether anything watches: an observer, or tracing (see :mod:`siteupdates.tracing`)."""
    return bool(_observers) or _spans is not None


@contextmanager
def span(name: str, attributes: Optional[Mapping[str, Any]] = None) -> Iterator[Span]:
    """A trace span ``name`` around the block while tracing is on; else a do-nothing one."""
    opener = _spans
    if opener is None:
        yield _NOTHING
        return
    with opener(name, attributes or {}) as s:
        yield s


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
    global _inside
    if _inside is None:
        import contextvars

        _inside = _made.setdefault(
            "inside", contextvars.ContextVar("siteupdates_use_case", default=False)
        )
    if _inside.get():
        # Already inside a use case (the declaration dispatcher's, around App.run's):
        # counted once, by the outermost.
        return work()
    token = _inside.set(True)
    try:
        return _run(name, work, attributes)
    finally:
        _inside.reset(token)


def desk_observer(use_case: Any, lead: Sequence[str], call: Callable[[], T]) -> T:
    """An observer for :attr:`siteupdates.Desk.observers`: each declared use case observed.

    ``desk.observers.append(desk_observer)`` makes every call through the
    declarations one :func:`run_use_case` named after the declaration (the
    contact's ID, if any, a span attribute); the units of work inside it are
    then not counted again.
    """
    return run_use_case(
        str(getattr(use_case, "name", "use_case")), call, contact_id=lead[0] if lead else None
    )


def _run(name: str, work: Callable[[], T], attributes: Dict[str, Any]) -> T:
    request_id = attributes.get("request_id") or current_request()
    if request_id is not None:
        attributes["request_id"] = request_id
    start = time.perf_counter()
    with span(f"siteupdates.{name}", attributes) as current:
        try:
            result = work()
        except BaseException as exc:
            outcome = _outcome(exc)
            rules = tuple(getattr(exc, "rules", ()) or ())
            if outcome == "denied":
                rules = ("R22",)
            current.set("outcome", outcome)
            if rules:
                current.set("rules", ",".join(rules))
            observe("use_case", name=name, outcome=outcome, seconds=time.perf_counter() - start)
            for rule in rules:
                observe("refusal", rule=rule)
            raise
        current.set("outcome", "ok")
        rid = getattr(result, "id", None)
        if isinstance(rid, str) and request_id is None:
            current.set("request_id", rid)
        observe("use_case", name=name, outcome="ok", seconds=time.perf_counter() - start)
        return result
