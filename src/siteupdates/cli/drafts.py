"""Reading a file of drafts for ``submit-many``: CSV with a header row, or JSON lines.

Each row or object names ``tenant`` and ``target``, then ``version`` (empty or
absent for DB refresh only), ``refresh`` (yes/no, true/false, 1/0), ``at`` (a
wall-clock date and time, read in ``zone`` or the contact's zone),
``ambiguous`` (earlier, later or raise) and ``key`` (an idempotency key). A
malformed row stops the command before anything is submitted, naming its line.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from siteupdates.domain import Ambiguity, RequestDraft
from siteupdates.errors import InvalidInput, SiteUpdatesError

from .inputs import local_time

__all__ = ["read_drafts"]

_FIELDS = ("tenant", "target", "version", "refresh", "at", "zone", "ambiguous", "key")
_YES = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False,
        "false": False, "0": False, "": False}  # fmt: skip


def _rows(name: str, text: str) -> Iterator[Tuple[int, Dict[str, Any]]]:
    if name.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text))
        unknown = set(reader.fieldnames or ()) - set(_FIELDS)
        if unknown:
            raise InvalidInput(
                f"{name}: unknown columns {sorted(unknown)}; expected {', '.join(_FIELDS)}",
                sorted(unknown),
            )
        for row in reader:
            yield reader.line_num, {k: v for k, v in row.items() if k is not None}
        return
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise InvalidInput(f"{name} line {number}: not JSON ({exc})", line) from None
        if not isinstance(value, dict):
            raise InvalidInput(f"{name} line {number}: expected an object", value)
        yield number, value


def _draft(row: Dict[str, Any]) -> Tuple[RequestDraft, Optional[str]]:
    unknown = set(row) - set(_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown keys {sorted(unknown)}; expected {', '.join(_FIELDS)}", row)
    if not row.get("tenant") or not row.get("target"):
        raise InvalidInput("tenant and target are required", row)
    refresh = row.get("refresh", False)
    if not isinstance(refresh, bool):
        if str(refresh).strip().lower() not in _YES:
            raise InvalidInput(f"refresh is yes or no, not {refresh!r}", refresh)
        refresh = _YES[str(refresh).strip().lower()]
    at = row.get("at")
    draft = RequestDraft(
        str(row["tenant"]),
        row["target"],
        row.get("version") or None,
        refresh,
        local_time(str(at)) if at else None,
        row.get("zone") or None,
        Ambiguity(row.get("ambiguous") or Ambiguity.EARLIER.value),
    )
    return draft, (str(row["key"]) if row.get("key") else None)


def read_drafts(path: str) -> Tuple[List[RequestDraft], List[Optional[str]]]:
    """The drafts of a CSV (``.csv``) or JSON-lines file (``-``: standard input), and keys."""
    name = "standard input" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", path) from None
    drafts: List[RequestDraft] = []
    keys: List[Optional[str]] = []
    for number, row in _rows(name, text):
        try:
            draft, key = _draft(row)
        except (SiteUpdatesError, ValueError) as exc:
            raise InvalidInput(f"{name} line {number}: {exc}", row) from None
        drafts.append(draft)
        keys.append(key)
    if not drafts:
        raise InvalidInput(f"{name} has no drafts", path)
    return drafts, keys
