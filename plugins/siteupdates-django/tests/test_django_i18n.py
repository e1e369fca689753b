"""Issue 27 under Django: every page in its reader's language, set anew on every request.

Dana's setup-file locale is German; Sam has none (the provider's default). The
views set the locale per request (a thread serves many people), so a page after
a German one is in its own reader's language, a Django 404 under the prefix too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator, Optional

import pytest
from django.test import Client

import siteupdates_django
from django_host import NOW, PREFIX, SETUP, user
from siteupdates import Desk
from siteupdates.setupfile import setup_from_dict, stored_preset

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the library's own dependency there
    import tomli as tomllib

pytestmark = pytest.mark.django_db


def german_desk(where: Path, dana: Optional[str] = "de", provider: Optional[str] = None) -> Desk:
    """The example's desk with Dana's (and the provider's default) locale as given."""
    data = tomllib.loads(SETUP.read_text())
    if provider:
        data["provider"]["default_locale"] = provider
    for contact in data["contacts"]:
        if contact["id"] == "dana" and dana:
            contact["locale"] = dana
    setup = setup_from_dict(data)
    preset = stored_preset(setup.settings)
    desk = Desk.open("sqlite:///" + str(where), clock=lambda: NOW, preset=preset)
    desk.load_setup(setup)
    return desk


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = german_desk(tmp_path / "store.db")
    siteupdates_django.set_desk(d)
    yield d
    siteupdates_django.set_desk(None)
    d.close()


def signed_in(name: str, *, staff: bool = False) -> Client:
    client = Client()
    client.force_login(user(name, staff=staff))
    return client


def page(client: Client, path: str, status: int = 200) -> str:
    resp = client.get(PREFIX + path)
    assert resp.status_code == status, (path, resp.status_code)
    return resp.content.decode()


def test_a_german_contact_reads_the_django_pages_in_german(desk: Desk) -> None:
    dana = signed_in("dana")
    gadget = page(dana, "/")
    assert '<html lang="de">' in gadget
    assert "Update-Anfragen" in gadget and "Anfragen verwalten" in gadget
    assert "Aktualisiert 04:39 CST" in gadget  # the source document's 4:39 AM CST
    new = page(dana, "/t/maple/new")
    assert "Update anfragen" in new and "Gewünschtes Datum und Uhrzeit" in new
    assert "Zeiten werden in Ihrer Zeitzone angezeigt" in page(dana, "/t/maple/requests")
    missing = page(dana, "/t/maple/requests/nothing-here", 404)
    assert "Nicht gefunden" in missing and "Zurück zu Ihren Updates" in missing
    # Sam has no locale of his own: the provider's default, English.
    assert '<html lang="en">' in page(signed_in("sam"), "/")


def test_a_refused_form_says_so_in_the_contacts_language(desk: Desk) -> None:
    dana = Client(enforce_csrf_checks=True)
    dana.force_login(user("dana"))
    refused = dana.post(PREFIX + "/t/maple/hide-complete", {"hide": "1"})
    assert refused.status_code == 400
    text = refused.content.decode()
    assert '<html lang="de">' in text
    assert "The form has expired" not in text


def test_the_gadgets_etag_differs_by_locale(tmp_path: Path) -> None:
    """The same person and data in two languages: a cached English gadget is not German."""
    etags = {}
    for locale in ("de", None):
        d = german_desk(tmp_path / f"store-{locale}.db", dana=locale)
        siteupdates_django.set_desk(d)
        try:
            etags[locale] = signed_in("dana").get(PREFIX + "/")["ETag"]
        finally:
            siteupdates_django.set_desk(None)
            d.close()
    assert etags["de"] != etags[None]


def test_a_404_after_a_german_request_is_in_the_next_readers_language(desk: Desk) -> None:
    """Same thread, next reader: Django's own routing 404 under the prefix is in English."""
    dana, sam = signed_in("dana"), signed_in("sam")
    assert '<html lang="de">' in page(dana, "/")
    for client in (sam, Client()):
        not_found = page(client, "/no/such/page", 404)
        assert '<html lang="en">' in not_found and "Not found" in not_found
        assert "content-security-policy" in {k.lower() for k in client.get(PREFIX + "/x").headers}
    # And Dana's own 404 under the prefix is German.
    assert "Nicht gefunden" in page(dana, "/no/such/page", 404)


def test_provider_pages_follow_the_providers_default_locale(tmp_path: Path) -> None:
    d = german_desk(tmp_path / "store.db", dana="en", provider="de")
    siteupdates_django.set_desk(d)
    try:
        queue = page(signed_in("staff-pat", staff=True), "/provider/")
        assert 'lang="de"' in queue and "Warteschlange der Update-Anfragen" in queue
        assert "Update Requests" in page(signed_in("dana"), "/")  # her own locale wins
        # A signed-out reader: the provider's default.
        assert '<html lang="de">' in page(Client(), "/no/such/page", 404)
    finally:
        siteupdates_django.set_desk(None)
        d.close()


def test_an_unknown_path_without_a_slash_is_redirected_as_django_would(desk: Desk) -> None:
    """The app's catch-all 404 keeps APPEND_SLASH: ``/updates/provider`` -> ``/provider/``."""
    resp = signed_in("dana").get(PREFIX + "/provider")
    assert resp.status_code == 301 and resp["Location"] == PREFIX + "/provider/"
    assert resp["X-Content-Type-Options"] == "nosniff"


def test_the_template_tags_gadget_is_in_the_contacts_language(desk: Desk) -> None:
    """On the host's own Django page: Dana's gadget in German, Sam's in English."""
    home = signed_in("dana").get("/").content.decode()
    assert "Update-Anfragen" in home and "Anfragen verwalten" in home
    assert "Manage Requests" in signed_in("sam").get("/").content.decode()


def test_a_missing_static_file_is_the_apps_404_with_its_headers(desk: Desk) -> None:
    resp = signed_in("dana").get(PREFIX + "/static/no-such.css")
    assert resp.status_code == 404 and "Nicht gefunden" in resp.content.decode()
    assert "default-src 'self'" in resp["Content-Security-Policy"]
    css = Client().get(PREFIX + "/static/site.css")
    assert css.status_code == 200 and css["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in css["Content-Security-Policy"]
