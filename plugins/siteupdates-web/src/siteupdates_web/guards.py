"""Checks of a request's raw parts that any web framework can run: no Flask, no Django here.

* :func:`plausible`: whether a path parameter could name anything at all. A
  value that cannot (a control character, over 200 characters, spaces around
  it) answers the one 404 page, as another contact's tenant does (R22), before
  a view hands it to the library.
* :func:`malformed`: what is wrong with a query string or form body's
  encoding. Frameworks keep a malformed percent-escape as its literal text and
  replace bytes that are not UTF-8, so either would be stored as text nobody
  typed: the request is refused (400) instead.

The HTTP status of a library error no view answered is
:func:`siteupdates_web.pages.status_for`.
"""

from __future__ import annotations

import re
from typing import Any, Optional
from urllib.parse import unquote_to_bytes

from siteupdates import checks
from siteupdates.errors import SiteUpdatesError

__all__ = ["ID_PARAMS", "ID_QUERY", "MAX_FORM", "malformed", "plausible"]

#: The path parameters that are IDs.
ID_PARAMS = ("tenant_id", "request_id", "item_id", "name", "action", "tenant")
#: The query parameters that name a tenant: checked as a path's IDs are.
ID_QUERY = ("tenant",)
#: The largest form body whose encoding is checked (the pages' forms are small); larger: 413.
MAX_FORM = 256 * 1024
#: The action link's token: longer than an ID, but printable text all the same.
_TOKEN_LIMIT = 2000
#: A percent sign not followed by two hexadecimal digits: never made by a browser.
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def plausible(name: str, value: Any) -> bool:
    """Whether path parameter ``name`` could name anything: an ID, or a link's printable token."""
    if not isinstance(value, str):
        return True  # a converter's value (none of the pages' routes has one)
    if name == "token":
        return 0 < len(value) <= _TOKEN_LIMIT and checks.bad_character(value) is None
    if name not in ID_PARAMS:
        return True
    try:
        checks.ident(name, value)
    except SiteUpdatesError:
        return False
    return True


def malformed(raw: bytes) -> Optional[str]:
    """What is wrong with an ``application/x-www-form-urlencoded`` text, or None."""
    if not raw:
        return None
    if _BAD_ESCAPE.search(raw):
        return "The form held a malformed character escape."
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return "The form held bytes that are not UTF-8 text."
    return None
