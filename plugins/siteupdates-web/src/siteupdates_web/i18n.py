"""The screens in the reader's language: one catalog for the templates and the views.

:func:`install` is the one place a Jinja environment learns the screens'
gettext: the Flask blueprint calls it on its app's environment, and a Django
app rendering the same templates calls it on its own. The words come from the
plugin's catalog (``siteupdates_web/locale/<code>/LC_MESSAGES/siteupdates_web.mo``)
and, for what the library names (status labels, site names), from the library's
(:mod:`siteupdates.i18n`). The locale is the signed-in contact's, the
provider's default on the provider screens: a view sets it with :func:`use`
for the rest of the request.
"""

from __future__ import annotations

import contextvars
import gettext as _gettext_module
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

from jinja2 import Environment

from siteupdates.domain.messages import (
    advisory_text,
    explanation_lines,
    refusal_text,
    refusals_text,
)
from siteupdates.domain.timeutil import to_local
from siteupdates.i18n import DEFAULT_LOCALE, LOCALES, N_, language
from siteupdates.refusal import Refusal

__all__ = [
    "DOMAIN",
    "advice_text",
    "explanation_words",
    "refusal_words",
    "refusals_words",
    "LOCALE_DIR",
    "clock_text",
    "current",
    "day_text",
    "gettext",
    "install",
    "local_text",
    "ngettext",
    "row_text",
    "use",
]

#: The gettext domain of the plugin's catalogs.
DOMAIN = "siteupdates_web"
#: Where the plugin's catalogs live.
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_CURRENT: contextvars.ContextVar[str] = contextvars.ContextVar(
    "siteupdates_web_locale", default=DEFAULT_LOCALE
)
_CATALOGS: Dict[str, _gettext_module.NullTranslations] = {}
_LOCK = threading.Lock()

# Words of the library's overview (siteupdates.domain.views) shown by the gadget.
_OVERVIEW_WORDS = (N_("CURRENT"), N_("SCHEDULED"), N_("Refresh"), N_("(auto)"))


def _normal(code: Optional[str]) -> str:
    """``de``, ``de-DE`` or ``de_DE`` as a locale the library has; else English."""
    if not code:
        return DEFAULT_LOCALE
    if code in LOCALES:
        return code
    short = code.replace("-", "_").split("_", 1)[0].lower()
    return short if short in LOCALES else DEFAULT_LOCALE


def use(code: Optional[str]) -> None:
    """Make ``code`` the locale of what follows in this request (or thread, or task)."""
    _CURRENT.set(_normal(code))


def current() -> str:
    """The locale set by :func:`use` (English when none was)."""
    return _CURRENT.get()


def _catalog(code: str) -> _gettext_module.NullTranslations:
    found = _CATALOGS.get(code)
    if found is not None:
        return found
    with _LOCK:
        if code not in _CATALOGS:
            if code == DEFAULT_LOCALE:
                cat: _gettext_module.NullTranslations = _gettext_module.NullTranslations()
            else:
                cat = _gettext_module.translation(DOMAIN, str(LOCALE_DIR), [code])
                # The library's words (status labels, site names) are in its catalog.
                cat.add_fallback(language(code).translations)
            _CATALOGS[code] = cat
        return _CATALOGS[code]


def gettext(message: str, locale: Optional[str] = None) -> str:
    """``message`` in ``locale`` (default: the current one)."""
    return _catalog(_normal(locale) if locale else current()).gettext(message)


def ngettext(singular: str, plural: str, n: int, locale: Optional[str] = None) -> str:
    """The form of a message for ``n`` in ``locale`` (default: the current one)."""
    return _catalog(_normal(locale) if locale else current()).ngettext(singular, plural, n)


def day_text(instant: Optional[datetime], zone: str) -> str:
    """The local date of ``instant`` in the current locale (``Feb. 14, 2015``)."""
    if instant is None:
        return ""
    return language(current()).day(to_local(instant, zone))


def clock_text(instant: Optional[datetime], zone: str) -> str:
    """The local time of ``instant`` in the current locale (``4:39 AM CST``)."""
    if instant is None:
        return ""
    return language(current()).clock(to_local(instant, zone))


def local_text(instant: Optional[datetime], zone: str) -> str:
    """Date and time of ``instant`` in the current locale (``Feb. 14, 2015 1:00 AM CST``)."""
    if instant is None:
        return ""
    lang = language(current())
    local = to_local(instant, zone)
    return f"{lang.day(local)} {lang.clock(local)}"


def row_text(row: Any, zone: str) -> str:
    """An overview row's text (``E.1505.2 - Feb. 14, 2015``) in the current locale."""
    if current() == DEFAULT_LOCALE:
        return str(row.text)
    head = str(row.text).split(" - ", 1)[0]
    if head == "Refresh":
        head = gettext("Refresh")
    text = f"{head} - {day_text(row.when, zone)}"
    return f"{text} {gettext('(auto)')}" if row.automatic else text


def advice_text(message: str) -> str:
    """A warning's text (``Advisory.message``) in the current locale."""
    return advisory_text(message, language(current()))


def refusal_words(refusal: Refusal) -> str:
    """A refusal's message (without its rule ID) in the current locale."""
    return refusal_text(refusal, language(current()))


def explanation_words(explanation: Any) -> Tuple[str, ...]:
    """Why a request has its date (an ``Explanation``'s lines) in the current locale."""
    return explanation_lines(explanation, language(current()))


def refusals_words(refusals: Sequence[Refusal]) -> str:
    """Every refusal's message in the current locale, one after another."""
    return refusals_text(refusals, language(current()))


def install(env: Environment) -> None:
    """Give ``env`` the screens' gettext (``{% trans %}``, ``_()``) and date helpers.

    Words and dates follow the locale :func:`use` set for the request (a Flask
    ``before_request`` does it in the blueprint; a Django middleware would do
    it from the signed-in contact). Idempotent: a second call changes nothing.
    """
    if env.globals.get("su_i18n_installed"):
        return
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: gettext(message),
        lambda singular, plural, n: ngettext(singular, plural, n),
        newstyle=True,
    )
    env.globals.update(
        su_i18n_installed=True,
        su_locale=current,
        day_text=day_text,
        clock_text=clock_text,
        local_text=local_text,
        row_text=row_text,
        advice_text=advice_text,
    )
