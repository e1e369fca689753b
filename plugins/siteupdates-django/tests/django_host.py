"""The host project of the tests: its URLs, a development sign-in, a home page with the gadget."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

from siteupdates import Desk
from siteupdates.plugins import PluginHost
from siteupdates.setupfile import load_setup, stored_preset

if TYPE_CHECKING:  # the models load once the settings are configured (below)
    from django.contrib.auth.models import User

ROOT = Path(__file__).resolve().parents[3]
SETUP = ROOT / "examples" / "district.toml"
#: The moment of the source document's overview ("Updated 4:39 AM CST").
NOW = datetime(2015, 2, 2, 10, 39, tzinfo=timezone.utc)
PREFIX = "/updates"
PG = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def configure() -> None:
    """Configure the tests' Django settings, unless something configured them before."""
    if settings.configured:
        return
    _work = Path(tempfile.mkdtemp(prefix="siteupdates-django-tests-"))
    settings.configure(
        DEBUG=False,
        SECRET_KEY="siteupdates-django-tests",
        ALLOWED_HOSTS=["testserver", "127.0.0.1", "localhost"],
        ROOT_URLCONF="django_host",
        USE_TZ=True,
        STATIC_URL="/static/",  # the live server serves STATIC_URL (the app serves its own)
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "siteupdates_django",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
            }
        ],
        DATABASES={
            # Django's own tables (users, sessions); a file, so the live server shares it.
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(_work / "django.db"),
                "TEST": {"NAME": str(_work / "django-test.db")},
            },
            # Aliases whose databases hold a store (SITEUPDATES = {"DATABASE": ...}).
            "store_pg": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "postgres",
                "USER": "postgres",
                "HOST": "127.0.0.1",
                "PORT": "5432",
            },
            # Only read by store_url(): never connected to.
            "store_pg_socket": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "portal db",
                "USER": "app",
                "PASSWORD": "p@ss/word",
                "HOST": "/run/postgresql",
                "OPTIONS": {"sslmode": "require"},
            },
            "store_memory": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        SITEUPDATES={
            "URL": f"sqlite:///{_work / 'store.db'}",
            "CONTACT": "django_host.contact_of",
        },
    )


def contact_of(user: Any) -> Optional[str]:
    """The host's mapping: a user named ``staff-...`` is no contact, anyone else is by name."""
    name = str(user.get_username())
    return None if name.startswith("staff-") else name


def user(name: str, *, staff: bool = False) -> User:
    """The user ``name`` (made on first use), with the provider permission when ``staff``."""
    from django.contrib.auth.models import Permission, User

    found, _ = User.objects.get_or_create(username=name)
    if staff:
        found.user_permissions.add(
            Permission.objects.get(
                codename="provider", content_type__app_label="siteupdates_django"
            )
        )
    return found


def sign_in(request: HttpRequest) -> HttpResponse:
    """``/_signin?user=dana&staff=1``: the development sign-in of the browser walk."""
    who = user(request.GET["user"], staff=request.GET.get("staff") == "1")
    login(request, who, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponse("ok")


def sign_out(request: HttpRequest) -> HttpResponse:
    """``/_signout``: Django's own sign-out (the session is flushed)."""
    logout(request)
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
    path("_signout", sign_out),
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
