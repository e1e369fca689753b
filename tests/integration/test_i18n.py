"""Issue 27: every notice in the contact's language (gettext catalogs, Babel dates).

English stays the library's own words and dates ("Feb. 14, 2015", "4:39 AM CST");
German is complete; the locale comes from the setup file, per contact with the
provider's default; a pseudo-locale that rewrites every catalog message shows
that no English sentence of a notice bypasses the catalog.
"""

from __future__ import annotations

import gettext
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List

import attrs
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from siteupdates import i18n
from siteupdates.app.worker import Worker
from siteupdates.domain import Tenant, UpdateRequest
from siteupdates.domain.timeutil import to_local
from siteupdates.errors import ConfigurationError, UnknownLocale
from siteupdates.hookspecs import hookimpl
from siteupdates.i18n import ENGLISH, Language, language
from siteupdates.notices import Notice
from siteupdates.plugins import PluginHost
from siteupdates.ports import Fence
from siteupdates.service import Desk
from siteupdates.setupfile import setup_from_dict
from siteupdates.testing import FixedClock, RecordingNotifier, sample_setup

UTC = timezone.utc
ROOT = Path(__file__).resolve().parents[2]
CATALOGS = [
    (ROOT / "src" / "siteupdates", "siteupdates", ROOT / "babel.cfg"),
    (
        ROOT / "plugins" / "siteupdates-web" / "src" / "siteupdates_web",
        "siteupdates_web",
        ROOT / "plugins" / "siteupdates-web" / "babel.cfg",
    ),
]


class Updater:
    """Performs every update at once (the worker's hook)."""

    @hookimpl
    def siteupdates_perform_update(
        self, request: UpdateRequest, tenant: Tenant, fence: Fence
    ) -> bool:
        return True


def _desk(clock: FixedClock, locales: Dict[str, Any], *plugins: object) -> Desk:
    host = PluginHost(plugins=[*plugins, Updater()])
    desk = Desk.open("memory://", host=host, clock=clock)
    setup = sample_setup()
    desk.load_setup(attrs.evolve(setup, settings={**setup.settings, "locales": locales}))
    return desk


def _every_kind(desk: Desk, clock: FixedClock) -> None:
    """Drive requests through every notice kind a contact receives."""
    dana, provider = desk.contact("dana"), desk.provider
    start = datetime(2026, 3, 8, 4, tzinfo=UTC)
    first = dana.submit(
        "d1", target="production/sandbox", version="E.1505.2", db_refresh=True,
        at=datetime(2026, 3, 7, 22),
    ).request.id  # fmt: skip
    provider.schedule(first, start)  # scheduled (and its reminders)
    provider.reschedule(first, start + timedelta(days=7), reason="ŕéáśóń")  # date-changed
    provider.ask_input(first, "ǫúéśŧíóń")  # input-needed
    provider.fail(first, "ƒáíĺ")  # unable-to-complete
    second = dana.submit("d1", target="staging", version="E.1450.4",
                         at=datetime(2026, 3, 14, 22)).request.id  # fmt: skip
    dana.move(second, at=datetime(2026, 3, 21, 22))  # start-moved
    newer = dana.submit(
        "d1", target="staging", version="E.1505.2", at=datetime(2026, 3, 21, 23)
    ).request.id  # fmt: skip (superseded)
    provider.schedule(newer, start + timedelta(days=14))
    clock.now = start + timedelta(days=14) - timedelta(hours=1)
    desk.ops.deliver()  # the last reminder
    clock.now = start + timedelta(days=14)
    assert Worker(desk, "w1").run_once() == 1  # started, completed
    third = dana.submit("d1", target="staging", version=None, db_refresh=True,
                        at=datetime(2026, 4, 4, 22)).request.id  # fmt: skip
    dana.cancel(third)  # cancelled
    desk.ops.deliver()


def _kinds(notices: List[Notice]) -> set[str]:
    return {n.kind for n in notices}


EVERY_KIND = {
    "accepted", "scheduled", "date-changed", "input-needed", "unable-to-complete",
    "start-moved", "superseded", "started", "completed", "cancelled",
}  # fmt: skip


# -- English: the library's own words, unchanged -------------------------------------


def test_english_dates_and_times_stay_the_source_documents() -> None:
    cst = to_local(datetime(2015, 2, 14, 10, 39, tzinfo=UTC), "America/Chicago")
    assert language(None) is ENGLISH and language("en") is ENGLISH
    assert ENGLISH.day(cst) == "Feb. 14, 2015"
    assert ENGLISH.clock(cst) == "4:39 AM CST"


def test_german_dates_and_times_come_from_babel() -> None:
    cst = to_local(datetime(2015, 2, 14, 10, 39, tzinfo=UTC), "America/Chicago")
    de = language("de")
    assert de.day(cst) == "14. Feb. 2015"
    assert de.clock(cst) == "04:39 CST"


# -- The locale from the setup file ----------------------------------------------------


def test_a_contact_and_the_provider_name_their_locale_in_the_setup_file() -> None:
    setup = setup_from_dict({
        "provider": {"default_locale": "de"},
        "tenants": [{"id": "d1", "plan": "asp"}],
        "contacts": [
            {"id": "dana", "email": "dana@d1.example", "role": "district", "tenants": ["d1"],
             "locale": "en"},
            {"id": "kai", "email": "kai@d1.example", "role": "state", "tenants": ["d1"]},
        ],
    })  # fmt: skip
    assert setup.settings["locales"] == {"default": "de", "contacts": {"dana": "en"}}
    assert i18n.locale_for("dana", setup.settings["locales"]) == "en"
    assert i18n.locale_for("kai", setup.settings["locales"]) == "de"
    assert i18n.locale_for(None, setup.settings["locales"]) == "de"
    assert "locales" not in setup_from_dict({}).settings  # nothing said: nothing stored


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"provider": {"default_locale": "fr"}}, "provider.default_locale"),
        (
            {
                "tenants": [{"id": "d1", "plan": "asp"}],
                "contacts": [{"id": "c", "email": "c@d1.example", "role": "district",
                              "tenants": ["d1"], "locale": "klingon"}],
            },
            "contacts[0].locale",
        ),
    ],
)  # fmt: skip
def test_an_unknown_locale_is_one_clear_error_naming_the_accepted_ones(
    data: Dict[str, Any], where: str
) -> None:
    with pytest.raises(UnknownLocale) as caught:
        setup_from_dict(data)
    assert isinstance(caught.value, ConfigurationError)
    assert str(caught.value).startswith(f"{where}: unknown locale ")
    assert str(caught.value).endswith("locales: de, en")


def test_a_setup_built_in_python_is_held_to_the_same_locales() -> None:
    from siteupdates.setupfile import check_setup

    setup = sample_setup()
    good = attrs.evolve(setup, settings={"locales": {"default": "de", "contacts": {"dana": "en"}}})
    assert check_setup(good) is good
    with pytest.raises(UnknownLocale, match=r"settings\.locales\.contacts\.dana: unknown locale"):
        check_setup(attrs.evolve(setup, settings={"locales": {"contacts": {"dana": "xx"}}}))
    with pytest.raises(ConfigurationError, match=r"settings\.locales: expected"):
        check_setup(attrs.evolve(setup, settings={"locales": {"fallback": "de"}}))


# -- Notices in the recipient's locale ------------------------------------------------


def test_every_notice_goes_to_a_german_contact_in_german_and_to_others_in_english() -> None:
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    notifier = RecordingNotifier()
    desk = _desk(clock, {"contacts": {"dana": "de"}}, notifier)
    _every_kind(desk, clock)
    sent = [n for n in notifier.delivered if n.contact_id == "dana"]
    assert _kinds(sent) >= EVERY_KIND | {"reminder"}
    (for_provider,) = [n for n in notifier.delivered if n.contact_id == "provider"]
    assert for_provider.body.startswith("Example District: contact dana moved")  # its default
    for n in sent:
        assert n.body.startswith("Guten Tag Dana,"), n.body
        assert "Status: " in n.body or n.kind == "reminder"
    by_kind = {n.kind: n for n in sent}
    assert by_kind["scheduled"].subject.startswith("Update geplant: Example District, Anfrage ")
    everything = "\n".join(n.body for n in sent)
    assert "Geplant für 7. März 2026 um 22:00 CST." in everything
    assert "Status: Geplant. Die Anfrage wurde bestätigt" in by_kind["scheduled"].body
    assert "Frage: ǫúéśŧíóń" in by_kind["input-needed"].body
    assert "Erledigt: Staging läuft jetzt mit E.1505.2." in by_kind["completed"].body
    assert any(re.search(r"beginnt in \d+ (Stunden?|Tagen?)", n.subject) for n in sent
               if n.kind == "reminder")  # fmt: skip


def test_the_provider_default_locale_reaches_contacts_without_one() -> None:
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    notifier = RecordingNotifier()
    desk = _desk(clock, {"default": "de", "contacts": {"sam": "en"}}, notifier)
    desk.contact("dana").submit("d1", target="staging", version="E.1505.2",
                                at=datetime(2026, 3, 7, 22))  # fmt: skip
    desk.deliver()
    (notice,) = notifier.delivered
    assert notice.subject.startswith("Anfrage angenommen: Example District, Anfrage ")
    assert "Gewünschter Beginn: 7. März 2026 um 22:00 CST." in notice.body
    assert desk.locale_of("dana") == "de" and desk.locale_of("sam") == "en"
    assert desk.meaning("deferred", "de") == "Die Anfrage ruht bis auf Weiteres."


# -- No English sentence bypasses the catalog ----------------------------------------------

_PLACEHOLDER = re.compile(r"(%\([^)]*\)[sd])")


def _pseudo(text: str) -> str:
    """Every ASCII letter outside a placeholder as its fullwidth twin: no English left."""
    parts = _PLACEHOLDER.split(text)
    return "".join(
        p if _PLACEHOLDER.fullmatch(p) else re.sub(
            r"[A-Za-z]", lambda m: chr(ord(m.group()) + 0xFEE0), p
        )
        for p in parts
    )  # fmt: skip


class PseudoTranslations(gettext.NullTranslations):
    """A locale whose catalog rewrites every message (a test's pseudo-locale)."""

    def gettext(self, message: str) -> str:
        return _pseudo(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return _pseudo(msgid1 if n == 1 else msgid2)


def test_every_notice_kind_in_a_pseudo_locale_keeps_no_english_word(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Numeric dates: a month's abbreviation would read as an English word.
    pseudo = Language("de", PseudoTranslations(), dates="de", day_pattern="d.M.y")

    def every_locale_is_pseudo(code: Any = None) -> Language:
        return pseudo

    monkeypatch.setattr(i18n, "language", every_locale_is_pseudo)  # what the app layer asks
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    notifier = RecordingNotifier()
    desk = _desk(clock, {"contacts": {"dana": "de"}}, notifier)
    _every_kind(desk, clock)
    assert _kinds(notifier.delivered) >= EVERY_KIND | {"reminder"}
    data = {"Example District", "Dana", "dana", "CST", "CDT"}  # names, IDs, zones: data
    for n in notifier.delivered:
        for text in (n.subject, n.body):
            for value in data:
                text = text.replace(value, "")
            text = re.sub(r"\b[0-9a-f]{8,}\b|E\.\d+\.\d+", "", text)  # request IDs, versions
            assert re.findall(r"[A-Za-z]{2,}", text) == [], (n.kind, text)


# -- The catalogs: complete, current, compiled ------------------------------------------


def _extracted(package: Path, config: Path) -> set[str]:
    from babel.messages.frontend import parse_mapping_cfg

    with config.open() as f:
        method_map, options_map = parse_mapping_cfg(f)  # type: ignore[no-untyped-call]
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(package), method_map, options_map, keywords={"_": None, "gettext": None,
                                                         "ngettext": (1, 2), "N_": None}
    ):  # fmt: skip
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def _catalogs() -> Iterator[Any]:
    for package, domain, config in CATALOGS:
        yield pytest.param(package, domain, config, id=domain)


@pytest.mark.parametrize(("package", "domain", "config"), list(_catalogs()))
def test_the_german_catalog_translates_every_message_of_the_source(
    package: Path, domain: str, config: Path
) -> None:
    with (package / "locale" / "de" / "LC_MESSAGES" / f"{domain}.po").open("rb") as f:
        catalog = read_po(f)
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    missing = sorted(_extracted(package, config) - translated)
    assert missing == [], f"not in {domain}.po (run pybabel extract/update, docs/i18n.md)"
    empty = [m.id for m in catalog if m.id and not all(m.string if isinstance(m.string, tuple)
                                                       else (m.string,))]  # fmt: skip
    assert empty == []
    problems = [(m.id, p) for m, p in ((m, m.check(catalog)) for m in catalog) if p]
    assert problems == []  # placeholders of msgid and msgstr agree


@pytest.mark.parametrize(("package", "domain", "config"), list(_catalogs()))
def test_the_committed_mo_is_the_po_compiled(package: Path, domain: str, config: Path) -> None:
    # Compared message by message: the bytes carry the compiling Babel's version.
    where = package / "locale" / "de" / "LC_MESSAGES"
    with (where / f"{domain}.po").open("rb") as f:
        catalog = read_po(f)
    with (where / f"{domain}.mo").open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    fix = f"run: pybabel compile -d {package / 'locale'} -D {domain}"
    for m in catalog:
        if not m.id:
            continue
        if isinstance(m.id, (tuple, list)):
            assert isinstance(m.string, (tuple, list))
            for n, form in enumerate(m.string):
                assert compiled.ngettext(m.id[0], m.id[1], 1 if n == 0 else 2) == form, fix
        else:
            assert compiled.gettext(str(m.id)) == m.string, fix
