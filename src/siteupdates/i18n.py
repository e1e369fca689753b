"""The contact's language: gettext catalogs for words, Babel for dates and times.

Every text a contact reads is written in English in the source and goes
through a :class:`Language`: its :meth:`~Language.gettext` looks the English
up in the locale's compiled catalog (``siteupdates/locale/<code>/LC_MESSAGES/
siteupdates.mo``), and its :meth:`~Language.day` and :meth:`~Language.clock`
write dates and times the locale's way (Babel's CLDR data). English has no
catalog: its words are the source's and its dates keep the library's own form
(``Feb. 14, 2015``, ``4:39 AM CST``), so English output is what it always was.

The locale comes from the setup file: ``locale`` on a contact, else the
provider's ``default_locale``, else English (:func:`check_locale` holds both to
:data:`LOCALES`). Messages are marked for extraction with ``_`` or ``N_`` (a
constant translated where it is shown). The catalogs are extracted, updated
and compiled with Babel's ``pybabel`` (``docs/i18n.md``); the compiled ``.mo``
files are committed, and a test fails when one differs from its ``.po``.
"""

from __future__ import annotations

import gettext
import os.path
import threading
from datetime import datetime
from typing import Any, Dict, Mapping, Optional, Tuple

from siteupdates.errors import UnknownLocale

__all__ = [
    "DEFAULT_LOCALE",
    "DOMAIN",
    "ENGLISH",
    "LOCALES",
    "LOCALE_DIR",
    "Language",
    "N_",
    "locale_for",
    "check_locale",
    "language",
]

#: The gettext domain of the library's catalogs.
DOMAIN = "siteupdates"
#: Where the catalogs live (``<code>/LC_MESSAGES/siteupdates.po`` and ``.mo``). A string:
#: pathlib (and the urllib.parse it imports) would cost every read command its import.
LOCALE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locale")
#: The locale of the source's words, and of every reader without one.
DEFAULT_LOCALE = "en"
#: The locales a contact or provider may choose: English and those with a catalog.
LOCALES: Tuple[str, ...] = ("de", "en")


def N_(message: str) -> str:  # noqa: N802 (the name gettext tools look for)
    """Mark ``message`` for extraction only; it is translated where it is shown."""
    return message


def check_locale(value: Any, where: str = "locale") -> str:
    """``value`` if it names one of :data:`LOCALES`, else :class:`UnknownLocale`."""
    if isinstance(value, str) and value in LOCALES:
        return value
    raise UnknownLocale(value, LOCALES, where)


class Language:
    """The words and the date forms of one locale.

    ``translations`` is a :class:`gettext.NullTranslations` (English: the source's
    words); ``dates`` the Babel locale dates and times are written in, None for
    the library's own English forms.
    """

    def __init__(
        self,
        code: str,
        translations: gettext.NullTranslations,
        dates: Optional[str] = None,
        day_pattern: str = "d. MMM y",
        clock_pattern: str = "HH:mm",
    ) -> None:
        self.code = code
        self.translations = translations
        # The catalog's own bound methods: a notice asks for twenty words, and a
        # method of ours around each would be a second call per word.
        self.gettext = translations.gettext  # type: ignore[method-assign]
        self.ngettext = translations.ngettext  # type: ignore[method-assign, assignment]
        self.dates = dates
        self.day_pattern = day_pattern
        self.clock_pattern = clock_pattern

    def __repr__(self) -> str:
        return f"Language({self.code!r})"

    def gettext(self, message: str) -> str:
        """``message`` in this language."""
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural form of a message for ``n``, in this language."""
        return self.translations.ngettext(singular, plural, n)

    def day(self, local: datetime) -> str:
        """The date of ``local`` (a time in its zone): ``Feb. 14, 2015``, ``14. Feb. 2015``."""
        if self.dates is None:
            return _english_day(local)
        from babel.dates import format_date

        return str(format_date(local, self.day_pattern, locale=self.dates))

    def clock(self, local: datetime) -> str:
        """The time of ``local`` with its zone's abbreviation: ``4:39 AM CST``, ``04:39 CST``."""
        if self.dates is None:
            return _english_clock(local)
        from babel.dates import format_time

        return f"{format_time(local, self.clock_pattern, locale=self.dates)} {local.tzname()}"


def _english_day(local: datetime) -> str:
    global _english_day
    # Bound on first use (the domain's time module is not this module's import),
    # then called straight: an import statement per notice line raised and caught
    # an AttributeError each time (the time module answers ``__path__`` that way).
    from siteupdates.domain.timeutil import format_local_day

    _english_day = format_local_day
    return format_local_day(local)


def _english_clock(local: datetime) -> str:
    global _english_clock
    from siteupdates.domain.timeutil import format_local_clock

    _english_clock = format_local_clock
    return format_local_clock(local)


#: English: the source's words and dates, no catalog read.
ENGLISH = Language(DEFAULT_LOCALE, gettext.NullTranslations())

_LOADED: Dict[str, Language] = {DEFAULT_LOCALE: ENGLISH}
_LOCK = threading.Lock()


def language(code: Optional[str] = None) -> Language:
    """The :class:`Language` of ``code`` (None: English); its catalog is read once."""
    if code is None or code == DEFAULT_LOCALE:
        return ENGLISH
    found = _LOADED.get(code)
    if found is not None:
        return found
    check_locale(code)
    with _LOCK:
        if code not in _LOADED:
            # fallback=False: a wheel without its compiled catalog is a packaging
            # fault to hear about, not a silent switch to English.
            translations = gettext.translation(DOMAIN, LOCALE_DIR, [code])
            _LOADED[code] = Language(code, translations, dates=code)
        return _LOADED[code]


def locale_for(contact_id: Optional[str], locales: Mapping[str, Any]) -> str:
    """The locale of ``contact_id`` in stored ``locales`` settings (its own, else the default).

    ``locales`` is the setup's ``{"default": "de", "contacts": {"c1": "en"}}``.
    """
    contacts = locales.get("contacts") or {}
    own = contacts.get(contact_id) if contact_id is not None else None
    found = own or locales.get("default") or DEFAULT_LOCALE
    return found if found in LOCALES else DEFAULT_LOCALE
