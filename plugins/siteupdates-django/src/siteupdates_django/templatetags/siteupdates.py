"""``{% load siteupdates %}{% siteupdates_gadget %}``: the gadget on a host's Django page.

It needs ``request`` in the template's context (the ``request`` context
processor, on by default in new projects); someone who is not a contact sees
nothing.
"""

from __future__ import annotations

from typing import Any, Dict

from django import template
from django.utils.safestring import SafeString, mark_safe

from ..views import gadget

register = template.Library()


@register.simple_tag(takes_context=True)
def siteupdates_gadget(context: Dict[str, Any]) -> SafeString:
    """The signed-in contact's gadget, as HTML."""
    request = context.get("request")
    if request is None:
        return mark_safe("")
    return gadget(request)
