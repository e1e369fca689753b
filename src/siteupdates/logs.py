"""The library's loggers, all under ``siteupdates``.

A library adds only a :class:`logging.NullHandler` to its own logger: the host
program (or the command line) decides where logs go. It is added here, when a
module that logs asks for its logger, rather than when the package is imported,
so that a command that logs nothing does not import :mod:`logging` at all.
"""

from __future__ import annotations

import logging

__all__ = ["logger"]

_ROOT = logging.getLogger("siteupdates")
if not any(isinstance(h, logging.NullHandler) for h in _ROOT.handlers):
    _ROOT.addHandler(logging.NullHandler())


def logger(name: str) -> logging.Logger:
    """The logger ``name`` (``siteupdates.worker``, say), below the library's own."""
    if name != "siteupdates" and not name.startswith("siteupdates."):
        raise ValueError(f"the library's loggers are named siteupdates.*, not {name!r}")
    return logging.getLogger(name)
