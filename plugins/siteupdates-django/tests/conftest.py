"""The Django settings of these tests, configured when pytest loads this directory.

Configured here (not by DJANGO_SETTINGS_MODULE), so the rest of the session's
tests are untouched; pytest-django's fixtures use them. The settings and the
host project are :mod:`django_host`'s.
"""

from django_host import configure

configure()
