"""The app's configuration."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class SiteUpdatesConfig(AppConfig):
    """``siteupdates_django``: no tables of its own, one permission (see :mod:`.models`)."""

    name = "siteupdates_django"
    verbose_name = "Site updates"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        """Close the desk when ``SITEUPDATES`` changes (tests); new CSRF token at sign-out."""
        from django.contrib.auth.signals import user_logged_out
        from django.core.signals import setting_changed

        from . import store

        setting_changed.connect(store.on_setting_changed, dispatch_uid="siteupdates_django")
        user_logged_out.connect(rotate_csrf_at_sign_out, dispatch_uid="siteupdates_django_csrf")


def rotate_csrf_at_sign_out(sender: Any, request: Any = None, **_: Any) -> None:
    """A new CSRF secret when someone signs out (Django makes one at sign-in only).

    Django's ``logout`` flushes the session but keeps the CSRF cookie, so a form
    shown before sign-out would still post afterwards: a token must end with the
    session it was shown in.
    """
    if request is not None:
        from django.middleware.csrf import rotate_token

        rotate_token(request)
