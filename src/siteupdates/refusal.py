"""Why a rule refuses: the value every refusal of the library carries.

A leaf: it imports nothing of siteupdates, so :mod:`siteupdates.errors` (whose
:class:`~siteupdates.errors.RequestRefused` holds these) depends on no layer
above it. Import it as :class:`siteupdates.domain.Refusal`, as before.

A refusal's ``message`` is English, as it always was (machine output, the
provider's views, logs). A refusal a contact may read also carries its
sentence as a catalog message id (``template``) and the values to fill in
(``params``), so :func:`siteupdates.domain.messages.refusal_text` can write it
in the contact's language without reading the English back.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Tuple

import attrs

__all__ = ["Listing", "Phrase", "Refusal"]


def _frozen_params(value: Optional[Mapping[str, Any]]) -> Mapping[str, Any]:
    return dict(value) if value else {}


@attrs.frozen
class Phrase:
    """Part of a refusal's sentence that is itself translated: a message id and its values.

    Used as a value in :attr:`Refusal.params` where the filled-in part is words
    (``last refreshed …``, ``28 days``), not a name or a number.
    """

    template: str
    params: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_params, eq=False)


@attrs.frozen
class Listing:
    """Values of a refusal's sentence written one after another, ``sep`` between them."""

    items: Tuple[Any, ...]
    sep: str = ", "


@attrs.frozen
class Refusal:
    """Why a rule refuses: the rule's ID, a message for the contact, and what to do instead.

    ``template`` and ``params`` (not compared) let the message be written in
    another language; without a template the message is shown as written.
    """

    rule: str
    message: str
    suggestion: Optional[str] = None
    template: Optional[str] = attrs.field(default=None, eq=False, repr=False)
    params: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_params, eq=False, repr=False
    )

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"
