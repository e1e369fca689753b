"""The provider permission's home: a model with no table.

Django keeps permissions per model; ``ProviderAccess`` is unmanaged, so
migrating creates no table for it (the store is siteupdates', never the ORM's),
only the permission ``siteupdates_django.provider`` that opens the provider's
pages. Grant it to a user or a group in the admin or with
``user.user_permissions.add(...)``.
"""

from __future__ import annotations

from django.db import models


class ProviderAccess(models.Model):
    """Carries the ``provider`` permission; never stored."""

    class Meta:
        """No table; one permission, none of the default add/change/delete/view."""

        managed = False
        default_permissions = ()
        permissions = (("provider", "Can use the hosting provider's update pages"),)
        verbose_name = "provider access"
