"""The Jinja environment that renders siteupdates-web's templates in Django.

:func:`environment` is the one place it is built: the Django app renders its
pages with it, and a host whose own pages are Jinja can name it as its Jinja2
backend's environment (``"OPTIONS": {"environment":
"siteupdates_django.jinja.environment"}``) to call ``siteupdates_gadget(request)``
in them. It prepares the environment exactly as the Flask blueprint prepares
Flask's (:func:`siteupdates_web.templating.configure_environment`).
"""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader

from siteupdates_web.templating import TEMPLATES, configure_environment

__all__ = ["environment", "pages_environment"]


def environment(**options: Any) -> Environment:
    """A Jinja environment that finds the siteupdates templates (after ``loader``'s own)."""
    ours = FileSystemLoader(str(TEMPLATES))
    given: BaseLoader | None = options.pop("loader", None)
    options["loader"] = ChoiceLoader([given, ours]) if given is not None else ours
    options.setdefault("autoescape", True)
    env = configure_environment(Environment(**options))
    from .views import gadget  # the views render with this module's environment

    env.globals["siteupdates_gadget"] = gadget
    return env


@functools.lru_cache(maxsize=None)
def pages_environment() -> Environment:
    """The environment the app's own pages are rendered with (one per process)."""
    return environment()
