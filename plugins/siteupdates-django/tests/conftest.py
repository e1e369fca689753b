"""The Django settings of these tests: configured here, so other tests in the session are untouched.

pytest-django reads them once they are configured (its fixtures need them); the
host project of the tests is :mod:`django_host`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from django.conf import settings

HERE = Path(__file__).resolve().parent
PG = os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

if not settings.configured:
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
            "store_sqlite": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(_work / "store.db"),
            },
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
        SITEUPDATES={"URL": f"sqlite:///{_work / 'store.db'}", "CONTACT": "django_host.contact_of"},
    )

