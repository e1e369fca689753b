"""The app's URLs: ``path("updates/", include("siteupdates_django.urls"))``.

The same routes as the Flask blueprint (:data:`siteupdates_web.pages.ROUTES`),
named alike in the ``siteupdates`` namespace (``reverse("siteupdates:gadget_page")``).
"""

from __future__ import annotations

from typing import List

from django.urls import URLPattern, path, re_path

from siteupdates_web.pages import ROUTES

from .views import APP_NAME, not_found, route_view, static

app_name = APP_NAME

urlpatterns: List[URLPattern] = [
    path(route.rule.lstrip("/"), route_view(route), name=route.endpoint) for route in ROUTES
]
urlpatterns.append(path("static/<path:filename>", static, name="static"))
# Last: any other path under the prefix is the app's 404 page, with its headers (R22).
urlpatterns.append(re_path(r"^(?P<rest>.*)$", not_found, name="not_found"))
