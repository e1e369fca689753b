"""The app's configuration."""

from __future__ import annotations

from django.apps import AppConfig


class SiteUpdatesConfig(AppConfig):
    """``siteupdates_django``: no tables of its own, one permission (see :mod:`.models`)."""

    name = "siteupdates_django"
    verbose_name = "Site updates"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        """Close the process's desk when the ``SITEUPDATES`` setting changes (tests)."""
        from django.core.signals import setting_changed

        from . import store

        setting_changed.connect(store.on_setting_changed, dispatch_uid="siteupdates_django")
