"""The app's URLs: ``path("updates/", include("siteupdates_django.urls"))``.

The same routes as the Flask blueprint (:data:`siteupdates_web.pages.ROUTES`),
named alike in the ``siteupdates`` namespace (``reverse("siteupdates:gadget_page")``).
"""

from __future__ import annotations

from typing import List

from django.urls import URLPattern, path

from siteupdates_web.pages import ROUTES

from .views import APP_NAME, route_view, static

app_name = APP_NAME

urlpatterns: List[URLPattern] = [
    path(route.rule.lstrip("/"), route_view(route), name=route.endpoint) for route in ROUTES
]
urlpatterns.append(path("static/<path:filename>", static, name="static"))
