"""The use cases of siteupdates, each declared once; every surface is derived from them.

* :mod:`.declare`: what a declaration is (:class:`UseCase`, :class:`Param`,
  :class:`Kind`, :class:`Role`) and the input boundary (:meth:`UseCase.bind`).
* :mod:`.kinds`: the kinds of parameter, each one check, one JSON schema and
  one command-line form.
* :mod:`.catalog`: the declarations themselves (:data:`CATALOG`).

The Python API (``desk.contact(...)``, ``desk.provider``, ``desk.ops``), the
command line and the web plugins reach every use case through its declaration.
"""

from __future__ import annotations

from .catalog import CATALOG, by_actor, by_name
from .declare import REQUIRED, Kind, Legacy, Param, Role, UseCase

__all__ = ["CATALOG", "REQUIRED", "Role", "Kind", "Legacy", "Param", "UseCase", "by_actor",
           "by_name"]  # fmt: skip
