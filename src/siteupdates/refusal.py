"""Why a rule refuses: the value every refusal of the library carries.

A leaf: it imports nothing of siteupdates, so :mod:`siteupdates.errors` (whose
:class:`~siteupdates.errors.RequestRefused` holds these) depends on no layer
above it. Import it as :class:`siteupdates.domain.Refusal`, as before.
"""

from __future__ import annotations

from typing import Optional

import attrs

__all__ = ["Refusal"]


@attrs.frozen
class Refusal:
    """Why a rule refuses: the rule's ID, a message for the contact, and what to do instead."""

    rule: str
    message: str
    suggestion: Optional[str] = None

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"
