"""The application layer: use cases over a unit of work, and the one bootstrap.

* :mod:`.bootstrap`: :func:`bootstrap` builds an :class:`App` (plugins,
  storage, the stored preset, clock, IDs); :meth:`App.run` runs a use case in
  one unit of work and retries it when it lost a race.
* :mod:`.changes`: the only code that turns an event into a change set.
* :mod:`.contact`, :mod:`.provider`, :mod:`.planning`, :mod:`.automatic`,
  :mod:`.staged`, :mod:`.deferral`: the use cases, each a
  function of the app and plain values.
* :mod:`.worker` and :mod:`.outbox`: the hosting worker and the outbox
  dispatcher, built on the public use cases only.

:class:`siteupdates.Desk` gathers all of them as methods for host programs.
"""

from __future__ import annotations

from .bootstrap import App, bootstrap, new_request_id, system_clock

__all__ = ["App", "bootstrap", "new_request_id", "system_clock"]
