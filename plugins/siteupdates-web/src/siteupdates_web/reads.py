"""The provider's read pages made from the declarations: one page per declared read.

``/provider/read/<name>`` shows a form made from the use case's parameters
(their help texts, kinds and defaults) and its result as a table: a page of
values, a list, or one value's fields. Each is a declared use case run through
``desk.call``, so it is checked as the Python API and the command line are.
A read added to :mod:`siteupdates.usecases.catalog` has its page without a
line here.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import attrs

from siteupdates import Desk, checks
from siteupdates.errors import SiteUpdatesError
from siteupdates.usecases import Param, Role, UseCase, by_actor

from .base import Screens
from .pages import Fields, Page, PageError, PageRequest

__all__ = ["ReadScreens", "provider_reads"]


def provider_reads() -> Dict[str, UseCase]:
    """The provider's reads that a page can show (no Python object among the parameters)."""
    return {
        uc.name: uc
        for uc in by_actor(Role.PROVIDER)
        if not uc.writes and not uc.python_only and not any(p.kind.python_only for p in uc.params)
    }


def _field(p: Param) -> Dict[str, Any]:
    default = None if p.required or p.default in (None, ()) else p.default
    return {
        "name": p.name,
        "help": p.help,
        "required": p.required,
        "switch": p.kind.switch,
        "choices": p.kind.choices,
        "default": "" if default is None else getattr(default, "value", default),
    }


def _values(uc: UseCase, args: Fields) -> Dict[str, Any]:
    """The form's values, read by each parameter's kind (as the command line reads them)."""
    found: Dict[str, Any] = {}
    for p in uc.params:
        if p.kind.many:
            items = [v for v in args.getlist(p.name) if v.strip()]
            if items:
                found[p.name] = [p.kind.parse(v) if p.kind.parse else v for v in items]
            continue
        text = args.get(p.name, "")
        if p.kind.switch:
            if text:
                found[p.name] = text in ("1", "on", "yes", "true")
            continue
        if not text.strip():
            continue
        found[p.name] = p.kind.parse(text) if p.kind.parse else text
    return found


def _printable(text: str) -> str:
    """``text`` with every character a check refuses shown as U+FFFD (never echoed raw)."""
    if checks.bad_character(text) is None:
        return text
    return "".join("\ufffd" if checks.bad_character(ch) else ch for ch in text)


def _cells(value: Any) -> List[Tuple[str, str]]:
    """A value's fields as (name, text) pairs."""
    if attrs.has(type(value)):
        return [(f.name, _text(getattr(value, f.name))) for f in attrs.fields(type(value))]
    return [("value", _text(value))]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return ", ".join(_text(v) for v in value)
    return str(getattr(value, "label", None) or getattr(value, "value", None) or value)


def _rows(result: Any) -> Tuple[List[str], List[List[str]], Optional[int]]:
    """Column names, rows and (for a page) the total of a use case's result."""
    total = getattr(result, "total", None)
    items = getattr(result, "items", None)
    many = items if items is not None else result if isinstance(result, list) else None
    if many is None:
        pairs = _cells(result)
        return ["field", "value"], [[k, v] for k, v in pairs], None
    rows = [_cells(v) for v in many]
    columns = [k for k, _ in rows[0]] if rows else []
    return columns, [[v for _, v in r] for r in rows], total


class ReadScreens(Screens):
    """The provider's read pages; each framework routes :data:`~.pages.ROUTES` to them."""

    def read(self, rq: PageRequest, name: str) -> Page:
        """One declared read: its form, and its result when the form was sent."""
        self.staff_id(rq)
        uc = provider_reads().get(name)
        if uc is None:
            raise PageError(404)
        desk: Desk = self.desk()
        columns: List[str] = []
        rows: List[List[str]] = []
        total: Optional[int] = None
        error = None
        asked = bool(rq.args) or not any(p.required for p in uc.params)
        if asked:
            try:
                result = desk.call(uc, (), uc.bind((), _values(uc, rq.args)))
                columns, rows, total = _rows(result)
            except SiteUpdatesError as exc:
                error = str(exc)
        context = {
            "use_case": uc,
            "reads": sorted(provider_reads()),
            "fields": [_field(p) for p in uc.params],
            "given": {k: _printable(v) for k, v in rq.args.items()},
            "columns": columns,
            "rows": rows,
            "total": total,
            "error": error,
        }
        return Page("siteupdates_web/provider/read.html", context, 400 if error else 200)
