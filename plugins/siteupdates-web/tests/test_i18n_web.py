"""Issue 27: every page in the reader's language; no template text outside the catalog.

The coverage test reads each template with Jinja's own lexer: text outside
``{% trans %}`` blocks, and the readable attributes (``aria-label``, ``title``,
``data-label``, ...), must hold no letters, and no string literal that reads as
prose may be shown without ``_()``. The page tests sign a contact in whose
setup-file locale is German and read the pages as served.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
from flask.testing import FlaskClient
from jinja2 import Environment
from webtest_support import PREFIX, SETUP, make_app, sign_in

from siteupdates import Desk
from siteupdates.setupfile import setup_from_dict, stored_preset
from siteupdates_web import i18n

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the library's own dependency there
    import tomli as tomllib

TEMPLATES = Path(i18n.__file__).resolve().parent / "templates"
#: Attributes a person reads (or a screen reader speaks).
READ_ATTRIBUTES = {"aria-label", "title", "alt", "placeholder", "data-label", "data-confirm"}


def _templates() -> List[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def _skeleton(env: Environment, source: str) -> Tuple[str, List[str]]:
    """The template's markup outside trans blocks (code as ``§``) and its shown literals."""
    out: List[str] = []
    prose: List[str] = []
    depth = 0  # inside {% trans %} ... {% endtrans %}
    tokens = [t for t in env.lex(source) if t[1] != "whitespace"]
    for i, (_line, kind, value) in enumerate(tokens):
        if kind == "name" and value == "trans" and tokens[i - 1][1] == "block_begin":
            depth += 1
        elif kind == "name" and value == "endtrans":
            depth -= 1
        if kind == "data":
            # A block that fills an attribute (base.html's body_class) holds markup, not text.
            in_attribute = [t[2] for t in tokens[max(0, i - 3) : i - 1]] == ["block", "body_class"]
            out.append("" if depth or in_attribute else value)
        elif kind in ("variable_begin", "block_begin"):
            # Code as a placeholder; where a tag's name is computed, a tag name.
            out.append("h2" if out and out[-1].endswith(("<", "</")) else "§")
        elif kind == "string" and re.search(r"[A-Z]|[a-z]+ [a-z]+", value):
            # Prose in an expression must be an argument of _(): name "_" then "(".
            before = [t[2] for t in tokens[max(0, i - 2) : i]]
            if before != ["_", "("]:
                prose.append(value)
    return "".join(out), prose


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: List[str] = []

    def handle_data(self, data: str) -> None:
        self.found.append(data)

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, str | None]]) -> None:
        self.found.extend(v or "" for k, v in attrs if k in READ_ATTRIBUTES)


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_text_bypasses_the_catalog(path: Path) -> None:
    env = Environment(extensions=["jinja2.ext.i18n"])
    skeleton, prose = _skeleton(env, path.read_text(encoding="utf-8"))
    parser = _Text()
    parser.feed(skeleton)
    words = [w for text in parser.found for w in re.findall(r"[A-Za-z]{2,}", text)]
    assert words == [], f"text outside {{% trans %}} or _(): {words}"
    assert prose == [], f"string literals shown without _(): {prose}"


def test_the_coverage_check_finds_a_bare_word() -> None:
    env = Environment(extensions=["jinja2.ext.i18n"])
    for bare in ("<p>Hello</p>", '<a title="Delete">§</a>', '{{ "Not yet" }}'):
        skeleton, prose = _skeleton(env, bare)
        parser = _Text()
        parser.feed(skeleton)
        assert prose or any(re.search("[A-Za-z]{2,}", t) for t in parser.found), bare
    skeleton, prose = _skeleton(env, '<p>{% trans %}Hello{% endtrans %} {{ _("Not yet") }}</p>')
    parser = _Text()
    parser.feed(skeleton)
    assert prose == [] and not any(re.search("[A-Za-z]", t) for t in parser.found)


# -- Pages in the contact's locale ---------------------------------------------------------


def _desk(tmp_path: Path, provider_locale: str | None, dana: str | None) -> Desk:
    from webtest_support import NOW

    data = tomllib.loads(SETUP.read_text(encoding="utf-8"))
    if provider_locale:
        data["provider"]["default_locale"] = provider_locale
    for c in data["contacts"]:
        if c["id"] == "dana" and dana:
            c["locale"] = dana
    setup = setup_from_dict(data)
    preset = stored_preset(setup.settings)
    desk = Desk.open("sqlite:///" + str(tmp_path / "i18n.db"), clock=lambda: NOW, preset=preset)
    desk.load_setup(setup)
    return desk


@pytest.fixture
def german_dana(tmp_path: Path) -> Iterator[Tuple[Desk, FlaskClient]]:
    desk = _desk(tmp_path, None, "de")
    with make_app(desk).test_client() as client:
        yield desk, client
    desk.close()


def _html(client: FlaskClient, path: str, status: int = 200) -> str:
    resp = client.get(PREFIX + path)
    assert resp.status_code == status, (path, resp.status_code)
    return resp.get_data(as_text=True)


def test_a_german_contact_reads_every_contact_page_in_german(
    german_dana: Tuple[Desk, FlaskClient],
) -> None:
    _, client = german_dana
    sign_in(client, contact="dana")
    gadget = _html(client, "/")
    assert '<html lang="de">' in gadget
    assert "Update-Anfragen" in gadget and "Anfragen verwalten" in gadget
    assert "Aktualisiert 04:39 CST" in gadget  # the source document's 4:39 AM CST
    assert "E.1450.4 - 10. Jan. 2015" in gadget and "AKTUELL" in gadget
    new = _html(client, "/t/maple/new")
    assert "Update anfragen" in new and "Gewünschtes Datum und Uhrzeit" in new
    listing = _html(client, "/t/maple/requests")
    assert "Zeiten werden in Ihrer Zeitzone angezeigt" in listing
    missing = _html(client, "/t/maple/requests/nothing-here", 404)
    assert "Nicht gefunden" in missing and "Zurück zu Ihren Updates" in missing
    # A contact without a locale of their own reads English, as before.
    sign_in(client, contact="sam")
    assert '<html lang="en">' in _html(client, "/")


def test_routing_404_and_405_under_the_prefix_are_in_the_readers_locale(tmp_path: Path) -> None:
    """Pages no route matched run no blueprint hook; they still speak the reader's language."""
    desk = _desk(tmp_path, None, "de")
    try:
        with make_app(desk).test_client() as client:
            sign_in(client, contact="dana")
            # The very first request of the app is one no route matches.
            page = _html(client, "/no/such/page", 404)
            assert '<html lang="de">' in page and "Nicht gefunden" in page
            wrong = client.post(PREFIX + "/requests")
            assert wrong.status_code == 405 and "Nicht erlaubt" in wrong.get_data(as_text=True)
            sign_in(client, contact="sam")  # the same thread, the next reader
            page = _html(client, "/no/such/page", 404)
            assert '<html lang="en">' in page and "Not found" in page
    finally:
        desk.close()


def test_provider_pages_follow_the_providers_default_locale(tmp_path: Path) -> None:
    desk = _desk(tmp_path, "de", "en")
    try:
        with make_app(desk).test_client() as client:
            sign_in(client, staff="pat")
            queue = _html(client, "/provider/")
            assert "Warteschlange der Update-Anfragen" in queue and 'lang="de"' in queue
            sign_in(client, contact="dana")  # her own locale wins over the default
            assert "Update Requests" in _html(client, "/")
    finally:
        desk.close()


def test_install_is_the_one_call_another_framework_makes() -> None:
    env = Environment(autoescape=True)
    i18n.install(env)
    i18n.install(env)  # twice is harmless
    template = env.from_string(
        '{% trans %}Manage Requests{% endtrans %}|{{ _("Yes") }}|{{ su_locale() }}'
    )
    i18n.use("de-DE")
    try:
        assert template.render() == "Anfragen verwalten|Ja|de"
    finally:
        i18n.use(None)
    assert template.render() == "Manage Requests|Yes|en"


# -- Refusals in the contact's language ------------------------------------------------------


def _errors(html: str) -> dict[str, str]:
    return {
        m.group(1): re.sub(r"<[^>]+>", " ", m.group(2))
        for m in re.finditer(r'id="err-([a-z_]+)" role="alert">(.*?)</ul>', html, re.S)
    }


@pytest.mark.parametrize("action", ["submit", "check"])
def test_r5_r6_r12_refusals_reach_a_german_contact_in_german_without_rule_ids(
    german_dana: Tuple[Desk, FlaskClient], action: str
) -> None:
    from webtest_support import token

    desk, client = german_dana
    sign_in(client, contact="dana")
    form = {
        "key": f"k-refused-{action}",
        "target": "staging",
        "version": "E.1505.1",
        "db_refresh": "no",
        "date": "2015-03-08",
        "time": "02:30",
        "ambiguity": "earlier",
        "action": action,
        "csrf_token": token(client),
    }
    resp = client.post(PREFIX + "/t/maple/new", data=form)
    errors = _errors(resp.get_data(as_text=True))
    assert "E.1505.1 ist nicht das neueste Update" in errors["version"]
    assert "wählen Sie E.1505.2" in errors["version"]
    assert "2015-03-08 02:30 gibt es in America/Chicago nicht" in errors["when"]
    refresh_only = {**form, "key": f"k-refresh-{action}", "version": "", "time": "09:00"}
    resp = client.post(PREFIX + "/t/maple/new", data=refresh_only)
    errors.update(_errors(resp.get_data(as_text=True)))
    assert "reine Datenbankauffrischung" in errors["db_refresh"]
    for text in errors.values():
        assert not re.search(r"\bR\d+\b", text), text
        for english in ("choose", "does not exist", "is not the most recent", "refresh only"):
            assert english not in text, text
    assert desk.requests("dana", "maple").total == 0


def test_cutoff_a_refused_move_reads_in_german_with_german_dates(
    german_dana: Tuple[Desk, FlaskClient],
) -> None:
    from datetime import datetime, timezone

    from webtest_support import token

    desk, client = german_dana
    rid = desk.submit(
        "dana", "maple", "staging", None, db_refresh=True, at=datetime(2015, 2, 10, 22)
    ).request.id
    desk.schedule(rid, datetime(2015, 2, 3, 10, tzinfo=timezone.utc))  # inside the cut-off
    sign_in(client, contact="dana")
    resp = client.post(
        PREFIX + f"/t/maple/requests/{rid}/move",
        data={"csrf_token": token(client), "date": "2015-02-20", "time": "22:00"},
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "bitten Sie den Anbieter, sie zu verschieben" in page
    assert "3. Feb. 2015 04:00 CST" in page  # Babel's German date, the zone's clock
    assert "ask the provider to move it" not in page and "CUTOFF" not in page


@pytest.mark.parametrize("action", ["approve", "decline", "postpone", "move"])
def test_an_action_the_request_no_longer_allows_reads_in_german(
    german_dana: Tuple[Desk, FlaskClient], action: str
) -> None:
    """A stale page's button: the status now, in German, not the library's English."""
    from datetime import datetime

    from webtest_support import token

    desk, client = german_dana
    dana = desk.contact("dana")
    rid = dana.submit(
        "maple", target="staging", version=None, db_refresh=True, at=datetime(2015, 2, 10, 22)
    ).request.id
    dana.cancel(rid)  # meanwhile, in another tab
    sign_in(client, contact="dana")
    resp = client.post(
        PREFIX + f"/t/maple/requests/{rid}/{action}",
        data={"csrf_token": token(client), "date": "2015-02-20", "time": "22:00"},
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code in (400, 404), resp.status_code
    if resp.status_code == 400:
        (alert,) = re.findall(r'<div class="su-alert" role="alert">(.*?)</div>', page, re.S)
        assert "Das ist nicht möglich, solange die Anfrage den Status Storniert hat." in alert
        for english in ("cannot", "event", "Cancelled", "R16", "request"):
            assert english not in alert, alert


def _explanation(page: str) -> List[str]:
    """The lines of the request page's "why this date" list, as text."""
    found = re.search(r'<ul class="su-explanation">(.*?)</ul>', page, re.S)
    assert found, "the page has no explanation"
    parser = _Text()
    parser.feed(found.group(1))
    return [t for t in parser.found if t.strip()]


def test_a_german_contact_reads_why_this_date_in_german(
    german_dana: Tuple[Desk, FlaskClient],
) -> None:
    from datetime import datetime

    desk, client = german_dana
    at = datetime(2015, 2, 10, 22)
    desk.submit("sam", "birch", "staging", None, db_refresh=True, at=at)
    rid = desk.submit("dana", "maple", "staging", None, db_refresh=True, at=at).request.id
    sign_in(client, contact="dana")
    english = desk.explain_to("dana", rid).lines
    queued = _explanation(_html(client, f"/t/maple/requests/{rid}"))
    desk.contact("dana").cancel(rid)
    cancelled = _explanation(_html(client, f"/t/maple/requests/{rid}"))
    for lines in (queued, cancelled):
        assert len(lines) >= 3, lines
        text = " ".join(lines)
        # As written: the request's ID, the tenant, the zone; and words German shares.
        kept = {"maple", "america", "chicago", "cst", "staging", "db", "feb", "in", "position"}
        words = set(re.findall(r"[a-z]{2,}", text.replace(rid, "").lower())) - kept
        english_words = set(re.findall(r"[a-z]{2,}", " ".join(english).replace(rid, "").lower()))
        assert not words & english_words, (words & english_words, lines)
    assert queued[0].startswith(f"Anfrage {rid}") and "Warteschlange" in queued[0]
    assert "Storniert" in cancelled[0] or "nicht in der Warteschlange" in cancelled[0]
    assert any("außerhalb jedes Wartungsfensters" in line for line in queued), queued
