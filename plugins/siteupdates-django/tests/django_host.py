"""The host project of the tests: its URLs, a development sign-in, a home page with the gadget."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Union

from django.contrib.auth import get_user_model, login
from django.contrib.auth.models import Permission
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

from siteupdates import Desk
from siteupdates.plugins import PluginHost
from siteupdates.setupfile import load_setup, stored_preset

ROOT = Path(__file__).resolve().parents[3]
SETUP = ROOT / "examples" / "district.toml"
#: The moment of the source document's overview ("Updated 4:39 AM CST").
NOW = datetime(2015, 2, 2, 10, 39, tzinfo=timezone.utc)
PREFIX = "/updates"


def contact_of(user: Any) -> Optional[str]:
    """The host's mapping: a user named ``staff-...`` is no contact, anyone else is by name."""
    name = str(user.get_username())
    return None if name.startswith("staff-") else name


def user(name: str, *, staff: bool = False) -> Any:
    """The user ``name`` (made on first use), with the provider permission when ``staff``."""
    found, _ = get_user_model().objects.get_or_create(username=name)
    if staff:
        found.user_permissions.add(
            Permission.objects.get(codename="provider", content_type__app_label="siteupdates_django")
        )
    return found


def sign_in(request: HttpRequest) -> HttpResponse:
    """``/_signin?user=dana&staff=1``: the development sign-in of the browser walk."""
    who = user(request.GET["user"], staff=request.GET.get("staff") == "1")
    login(request, who, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponse("ok")


def home(request: HttpRequest) -> HttpResponse:
    """The host's home page, in Django's own template language, with the gadget in it."""
    page = engines["django"].from_string(
        "{% load siteupdates %}<!doctype html><title>Portal</title>"
        "<main id=portal>{% siteupdates_gadget %}</main>"
    )
    return HttpResponse(page.render({}, request))


urlpatterns = [
    path("", home),
    path("_signin", sign_in),
    path("updates/", include("siteupdates_django.urls")),
]


def open_desk(where: Union[Path, str]) -> Desk:
    """A desk on a SQLite file (a path) or a storage URL, set up from the example, clock fixed."""
    setup = load_setup(SETUP)
    preset = stored_preset(setup.settings)
    assert preset is not None
    url = "sqlite:///" + str(where) if isinstance(where, Path) else where
    desk = Desk.open(url, host=PluginHost(entry_points=True), clock=lambda: NOW, preset=preset)
    desk.load_setup(setup)
    return desk
