"""What each status means to a contact, and the provider's own words for it.

Every :class:`~siteupdates.domain.model.Status` carries a default meaning (the
source document's words, :attr:`Status.meaning`). A provider may replace any of
them in the setup file::

    [notices.statuses]
    pending-input = "We emailed you a question: answer it so that we can go on."

The overrides are stored with the settings (``notices.statuses``) and passed
around as a mapping from status to text; :func:`meaning_of` picks the words.
The text is the contact's: no rule IDs.
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional

from siteupdates.i18n import ENGLISH, Language

from .model import Status

__all__ = ["MAX_MEANING", "Meanings", "from_table", "meaning_of", "meanings", "status_named"]

#: The longest meaning a provider may write, in characters.
MAX_MEANING = 500

#: Overrides: the provider's words by status.
Meanings = Mapping[Status, str]


def from_table(table: Mapping[str, str]) -> Dict[Status, str]:
    """Overrides from a table keyed by status value or label; other keys are left out.

    The setup file checks the table when it is loaded
    (:func:`siteupdates.setupfile.setup_from_dict`); this reads a checked one.
    """
    out: Dict[Status, str] = {}
    for key, text in table.items():
        status = status_named(key)
        if status is not None and isinstance(text, str) and text.strip():
            out[status] = text
    return out


def status_named(name: object) -> Optional[Status]:
    """The status ``name`` names (``pending-input`` or ``Pending Input``), else None."""
    if not isinstance(name, str):
        return None
    wanted = name.strip().lower()
    for s in Status:
        if wanted in (s.value, s.label.lower()):
            return s
    return None


def meaning_of(
    status: Status, overrides: Optional[Meanings] = None, lang: Language = ENGLISH
) -> str:
    """What ``status`` means to a contact: the provider's words if given, else the default.

    The default is in ``lang``; the provider's words are shown as written.
    """
    if overrides:
        found = overrides.get(status)
        if found:
            return found
    return lang.gettext(status.meaning)


def meanings(overrides: Optional[Meanings] = None) -> Dict[str, Dict[str, str]]:
    """Every status with its label and meaning, keyed by status value (for JSON output).

    ``{"pending-input": {"label": "Pending Input", "meaning": "..."}, ...}``
    """
    return {s.value: {"label": s.label, "meaning": meaning_of(s, overrides)} for s in Status}
