"""Your Updates in a Django site: the contact's and the provider's pages as a reusable app.

A host adds ``"siteupdates_django"`` to ``INSTALLED_APPS``, includes
``siteupdates_django.urls`` under a prefix of its choosing and says in the
``SITEUPDATES`` setting where the store is and who is a contact::

    SITEUPDATES = {
        "DATABASE": "default",            # or "URL": "postgresql://...?schema=siteupdates"
        "CONTACT": "portal.people.contact_of",   # request.user -> contact ID or None
    }

The pages, their templates and their logic are siteupdates-web's, shared with
the Flask blueprint (:mod:`siteupdates_web.pages`); Django supplies who is
signed in, sessions and CSRF. :func:`desk` is the process's one
:class:`~siteupdates.Desk`; :func:`gadget` renders the gadget for a host's page.
"""

from __future__ import annotations

from .store import close_desk, desk, set_desk, store_url
from .views import gadget

__all__ = ["close_desk", "desk", "gadget", "set_desk", "store_url"]
