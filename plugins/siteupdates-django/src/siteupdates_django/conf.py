"""The ``SITEUPDATES`` setting, read in one place.

=================== =========================================================
Key                 Meaning
=================== =========================================================
``URL``             the store's URL (``sqlite:///...``, ``postgresql://...``)
``DATABASE``        instead of ``URL``: a ``DATABASES`` alias whose database
                    holds the store: PostgreSQL in the schema ``SCHEMA``
                    (default ``siteupdates``); SQLite in a file beside the
                    alias's (``db.sqlite3`` -> ``db-siteupdates.sqlite3``)
``CONTACT``         dotted path of a callable: ``request.user`` -> the
                    contact's ID, or None (required for the contact's pages)
``PERMISSION``      the permission that opens the provider's pages
                    (default ``siteupdates_django.provider``)
``DESK``            optional dotted path of a callable: store URL -> Desk
                    (default ``Desk.open(url, entry_points=True)``)
``FRAME_ANCESTORS`` origins that may frame the gadget (default ``'self'``)
``LOGIN_URL``       linked from the "Please sign in" page (default
                    ``settings.LOGIN_URL``)
``ACTION_LINKS``    ``{"BASE_URL": "https://.../updates/act", "SECRET": ...}``:
                    the notices carry signed action links served by the app
=================== =========================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

__all__ = [
    "DEFAULT_PERMISSION",
    "contact_source",
    "frame_ancestors",
    "login_url",
    "options",
    "permission",
    "store_url",
]

DEFAULT_PERMISSION = "siteupdates_django.provider"
_KEYS = {
    "URL", "DATABASE", "SCHEMA", "CONTACT", "PERMISSION", "DESK", "FRAME_ANCESTORS",
    "LOGIN_URL", "ACTION_LINKS",
}  # fmt: skip
#: The connection OPTIONS of a PostgreSQL alias that mean the same to libpq.
_PG_OPTIONS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout")


def options() -> Dict[str, Any]:
    """The ``SITEUPDATES`` setting, checked for unknown keys."""
    found = getattr(settings, "SITEUPDATES", None)
    if found is None:
        return {}
    if not isinstance(found, Mapping):
        raise ImproperlyConfigured("SITEUPDATES must be a dict (keys: " + ", ".join(sorted(_KEYS)))
    unknown = sorted(set(found) - _KEYS)
    if unknown:
        raise ImproperlyConfigured(
            f"SITEUPDATES has unknown keys {', '.join(unknown)}; it takes "
            f"{', '.join(sorted(_KEYS))}"
        )
    return dict(found)


def store_url(conf: Optional[Mapping[str, Any]] = None) -> str:
    """The store's URL: ``URL``, or the database of the ``DATABASE`` alias."""
    conf = options() if conf is None else conf
    if "URL" in conf and "DATABASE" in conf:
        raise ImproperlyConfigured("SITEUPDATES takes URL or DATABASE, not both")
    if conf.get("URL"):
        return str(conf["URL"])
    alias = conf.get("DATABASE")
    if not alias:
        raise ImproperlyConfigured(
            'SITEUPDATES needs "URL" (a siteupdates storage URL) or "DATABASE" (a DATABASES '
            "alias whose PostgreSQL or SQLite database holds the store)"
        )
    databases: Mapping[str, Mapping[str, Any]] = settings.DATABASES
    if alias not in databases:
        raise ImproperlyConfigured(
            f"SITEUPDATES DATABASE {alias!r} is not in DATABASES ({', '.join(databases)})"
        )
    db = databases[alias]
    engine = str(db.get("ENGINE", ""))
    if engine.endswith("sqlite3"):
        return _sqlite_url(alias, str(db.get("NAME", "")))
    if engine.endswith(("postgresql", "postgresql_psycopg2", "postgis")):
        return _postgres_url(db, str(conf.get("SCHEMA") or "siteupdates"))
    raise ImproperlyConfigured(
        f"DATABASES[{alias!r}] uses {engine or 'no ENGINE'}; siteupdates stores in PostgreSQL "
        "or SQLite (or give SITEUPDATES a URL)"
    )


def _sqlite_url(alias: str, name: str) -> str:
    """A file beside the alias's: SQLite has no schemas, and the store keeps a file to itself.

    (The SQLite storage refuses a file that holds another program's tables.)
    """
    if not name or name == ":memory:" or "mode=memory" in name:
        raise ImproperlyConfigured(
            f"DATABASES[{alias!r}] is an in-memory SQLite database, which the store cannot "
            "share; name a file, or give SITEUPDATES a URL"
        )
    path = Path(name)
    return "sqlite:///" + str(path.with_name(f"{path.stem}-siteupdates{path.suffix or '.db'}"))


def _postgres_url(db: Mapping[str, Any], schema: str) -> str:
    user = quote(str(db.get("USER") or ""), safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    host = str(db.get("HOST") or "")
    port = str(db.get("PORT") or "")
    query: Dict[str, str] = {"schema": schema}
    if host.startswith("/"):  # a socket directory: libpq reads it from the query
        query["host"], host = host, ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    where = f"{host}:{port}" if port and host else host
    extra = db.get("OPTIONS") or {}
    for key in _PG_OPTIONS:
        if key in extra:
            query[key] = str(extra[key])
    name = quote(str(db.get("NAME") or ""), safe="")
    return f"postgresql://{auth}{where}/{name}?{urlencode(query)}"


def contact_source() -> Callable[[Any], Optional[str]]:
    """The host's callable mapping ``request.user`` to a contact ID (or None)."""
    path = options().get("CONTACT")
    if not path:
        raise ImproperlyConfigured(
            'SITEUPDATES needs "CONTACT": the dotted path of a callable that maps '
            "request.user to the contact's ID, or None for someone who is not a contact"
        )
    if callable(path):
        return path  # type: ignore[no-any-return]
    found = import_string(str(path))
    if not callable(found):
        raise ImproperlyConfigured(f"SITEUPDATES CONTACT {path!r} is not callable")
    return found  # type: ignore[no-any-return]


def permission() -> str:
    """The permission that opens the provider's pages."""
    return str(options().get("PERMISSION") or DEFAULT_PERMISSION)


def frame_ancestors() -> List[str]:
    """The origins that may frame the gadget."""
    return [str(o) for o in options().get("FRAME_ANCESTORS") or ["'self'"]]


def login_url() -> Optional[str]:
    """Where "Please sign in" links to."""
    from django.shortcuts import resolve_url

    found = options().get("LOGIN_URL", getattr(settings, "LOGIN_URL", None))
    return str(resolve_url(found)) if found else None
