"""The templates' environment and helpers, the same for every framework.

The Flask blueprint and the Django app render the same Jinja templates
(``templates/siteupdates_web``). :func:`configure_environment` is the one place
that prepares a Jinja environment for them, and :func:`template_globals` the
one place of the names the templates use besides ``url_for``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Optional

from jinja2 import Environment

from siteupdates import Desk

from . import i18n

__all__ = ["TEMPLATES", "configure_environment", "template_globals"]

#: The folder of the templates (``siteupdates_web/...`` names inside it).
TEMPLATES = Path(__file__).resolve().parent / "templates"


def configure_environment(env: Environment) -> Environment:
    """Prepare ``env`` to render the screens' templates; return it.

    Both frameworks call this on the environment that renders the templates
    (Flask: the application's; Django: :func:`siteupdates_django.jinja.environment`),
    so an extension the templates need is installed here, once.
    """
    if env.autoescape is False:
        # Every name and note in the pages is someone's input: rendered raw it
        # would be stored XSS.
        raise ValueError("the siteupdates templates need a Jinja environment with autoescape on")
    i18n.install(env)  # {% trans %}, _() and the locale's dates (siteupdates_web.i18n)
    return env


def template_globals(
    *,
    desk: Callable[[], Desk],
    csrf_field: str,
    csrf_token: Callable[[], str],
    login_url: Optional[str],
    is_staff: bool,
) -> Dict[str, Any]:
    """The names the templates use (``url_for`` aside, which each framework has)."""
    return {
        "csrf_field": csrf_field,
        "csrf_token": csrf_token,
        "local_text": i18n.local_text,
        "day_text": i18n.day_text,
        # What a status means to a contact, in the provider's words where it has some,
        # in the page's locale (i18n.use).
        "status_meaning": lambda status: desk().meaning(status, i18n.current()),
        "login_url": login_url,
        "is_staff": is_staff,
    }
