"""The process's one :class:`~siteupdates.Desk`, opened on first use and shared by threads.

A desk holds the storage's connections (a pool on PostgreSQL) and the plugins;
opening one per request would be slow, so each process opens one, lazily, from
the ``SITEUPDATES`` setting, and every thread of the WSGI server uses it.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

from django.utils.module_loading import import_string

from siteupdates import Desk
from siteupdates.actionlinks import ActionLinks, install

from . import conf

__all__ = ["action_links", "close_desk", "desk", "set_desk", "store_url"]

store_url = conf.store_url

_lock = threading.Lock()
_desk: Optional[Desk] = None
_ours = False  # whether this module opened the desk (and so closes it)
_links: Optional[ActionLinks] = None


def action_links() -> Optional[ActionLinks]:
    """The signed action links of the notices, when ``ACTION_LINKS`` is set."""
    global _links
    found = conf.options().get("ACTION_LINKS")
    if not found:
        return None
    if _links is None:
        from django.conf import settings

        secret = str(found.get("SECRET") or settings.SECRET_KEY)
        _links = ActionLinks(secret, str(found["BASE_URL"]).rstrip("/"))
    return _links


def desk() -> Desk:
    """The desk of this process (opened on first call, from the settings)."""
    global _desk, _ours
    found = _desk
    if found is not None:
        return found
    with _lock:
        if _desk is None:
            url = conf.store_url()
            factory = conf.options().get("DESK")
            if factory:
                opener: Any = import_string(factory) if isinstance(factory, str) else factory
                opened = opener(url)
            else:
                opened = Desk.open(url, entry_points=True)
            links = action_links()
            if links is not None:
                install(opened, links)
            _desk, _ours = opened, True
        return _desk


def set_desk(value: Optional[Desk]) -> None:
    """Use ``value`` as the process's desk (a host that opens its own, or tests).

    The caller keeps closing it; a desk this module opened is closed first.
    ``None`` goes back to opening one from the settings on next use.
    """
    global _desk, _ours, _links
    with _lock:
        if _ours and _desk is not None and _desk is not value:
            _desk.close()
        _desk, _ours, _links = value, False, None


def close_desk() -> None:
    """Close the desk this module opened (at shutdown; the next use opens a new one)."""
    global _desk, _ours, _links
    with _lock:
        if _ours and _desk is not None:
            _desk.close()
            _desk = None
        _ours, _links = False, None


def on_setting_changed(*, setting: str, **_: Any) -> None:
    """A changed ``SITEUPDATES`` setting opens the store anew on next use."""
    if setting == "SITEUPDATES":
        close_desk()
