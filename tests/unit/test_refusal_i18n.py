"""Every refusal a contact can meet, in the contact's language (issue 27).

A refusal keeps its English ``message`` (machine output, the provider's views);
its ``template`` and ``params`` write the same sentence through the catalog.
Each rule's refusals are triggered here and checked three ways: the template
written in English is the message byte for byte, a pseudo-locale that rewrites
every catalog message leaves no English word, and German names no rule ID.
"""

from __future__ import annotations

import ast
import gettext
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Dict, Tuple

import attrs
import pytest

from siteupdates.domain import PolicyContext, RequestDraft, Site
from siteupdates.domain import policies as p
from siteupdates.domain.messages import advisory_text, refusal_text, refusals_text
from siteupdates.errors import RequestRefused
from siteupdates.i18n import ENGLISH, Language, language
from siteupdates.presets import CAMPUS_HOSTING
from siteupdates.refusal import Refusal
from tests.factories import CATALOG, NOW, UTC, contact, ctx, district, request

LATER = datetime(2015, 2, 14, 1)
# Request IDs of hex digits: the pseudo-locale check removes them as data.
OPEN_ID = "0a1b2c3d4e5f"


def _draft(
    target: str = "production/sandbox",
    version: str | None = "E.1505.2",
    *,
    db_refresh: bool = False,
    at: datetime | None = LATER,
) -> RequestDraft:
    return RequestDraft("d1", target, version, db_refresh, at)


def _raised(make: Callable[[], object]) -> Tuple[Refusal, ...]:
    with pytest.raises(RequestRefused) as err:
        make()
    return err.value.refusals


def _refresh_interval() -> Tuple[Refusal, ...]:
    d = RequestDraft("d1", "production/sandbox", None, True, LATER)
    planned = request(OPEN_ID, version=None, db_refresh=True,
                      preferred_start=datetime(2015, 2, 10, 7, tzinfo=UTC))  # fmt: skip
    preset = attrs.evolve(CAMPUS_HOSTING, refresh_intervals={"sandbox": timedelta(days=7)})
    c = PolicyContext.build(
        contact=contact(), tenant=district(), draft=d, catalog=CATALOG,
        preset=preset, now=NOW, open_refreshes=(planned,),
    )  # fmt: skip
    return p.refresh_interval(c).refusals


def _cutoff() -> Tuple[Refusal, ...]:
    when = NOW + timedelta(hours=10)
    r = request(OPEN_ID, status="scheduled", scheduled_for=when)
    return p.may_move(r, NOW, timedelta(days=1), "America/Chicago").refusals


OTHER_LINE = district(
    sites=(Site("production", "D.1450.4", NOW), Site("sandbox", "D.1450.4", NOW))
)
ONLY_STAGING = district(sites=(Site("staging", "E.1418.2", NOW),))
APIA = contact(zone="Pacific/Apia")

#: Each refusing scenario: how it is reached, by rule (and case).
SCENARIOS: Dict[str, Callable[[], Tuple[Refusal, ...]]] = {
    "R1 sandbox": lambda: _raised(lambda: _draft("sandbox", None, db_refresh=True)),
    "R1 production": lambda: _raised(lambda: _draft("production", "E.1505.2")),
    "R2": lambda: _raised(lambda: _draft("sandbox", "E.1505.2")),
    "R4 production": lambda: _raised(lambda: _draft("production", None, db_refresh=True)),
    "R3 one site": lambda: (
        p.r3_site_exists(
            ctx(_draft("staging"), tenant=district(plan="asp", sites=district().sites[:2]))
        ).refusals
    ),
    "R3 two sites": lambda: (
        p.r3_site_exists(ctx(_draft(version=None, db_refresh=True), tenant=ONLY_STAGING)).refusals
    ),
    "R4 no production": lambda: (
        p.r4_refresh_copies_production(
            ctx(_draft("staging", None, db_refresh=True), tenant=ONLY_STAGING)
        ).refusals
    ),
    "R5": lambda: p.r5_latest_pack_only(ctx(_draft(version="E.1505.1"))).refusals,
    "R6": lambda: p.r6_asks_for_something(ctx(_draft(version=None))).refusals,
    "R7 not offered": lambda: p.r7_offered_and_not_older(ctx(_draft(version="E.1600.0"))).refusals,
    "R7 other line": lambda: p.r7_offered_and_not_older(ctx(_draft(), tenant=OTHER_LINE)).refusals,
    "R7 older": lambda: p.r7_offered_and_not_older(ctx(_draft(version="E.1418.2"))).refusals,
    "R7 same": lambda: p.r7_offered_and_not_older(ctx(_draft(version="E.1450.4"))).refusals,
    "R9": lambda: (
        p.r9_cloud_production_refresh_only(ctx(_draft(), tenant=district(plan="cloud"))).refusals
    ),
    "R10": lambda: (
        p.r10_groups_update_together(
            ctx(_draft("staging"), tenant=district(group_id="state-x"))
        ).refusals
    ),
    "R12 no start": lambda: p.r12_start_in_requester_zone(ctx(_draft(at=None))).refusals,
    "R12 gap": lambda: (
        p.r12_start_in_requester_zone(
            ctx(_draft(at=datetime(2027, 3, 14, 2, 30)), now=datetime(2027, 1, 1, tzinfo=UTC))
        ).refusals
    ),
    "R12 skipped day": lambda: (
        p.r12_start_in_requester_zone(
            ctx(
                _draft(at=datetime(2011, 12, 30, 12)),
                who=APIA,
                now=datetime(2011, 1, 1, tzinfo=UTC),
            )
        ).refusals
    ),
    "R12 past": lambda: (
        p.r12_start_in_requester_zone(ctx(_draft(at=datetime(2015, 1, 1, 9)))).refusals
    ),
    "R16": lambda: p.may_cancel(request(OPEN_ID, status="completed")).refusals,
    "R17 same line": lambda: (
        p.r17_newer_version_supersedes(
            ctx(_draft(), open_requests=(request(OPEN_ID, version="E.1509.0"),))
        ).refusals
    ),
    "R17 other line": lambda: (
        p.r17_newer_version_supersedes(
            ctx(_draft(), open_requests=(request(OPEN_ID, version="D.1450.4"),))
        ).refusals
    ),
    "R17 started": lambda: (
        p.r17_newer_version_supersedes(
            ctx(
                _draft(),
                open_requests=(request(OPEN_ID, version="E.1450.4", status="in-progress"),),
            )
        ).refusals
    ),
    "R18": lambda: p.may_delete(request(OPEN_ID, status="scheduled")).refusals,
    "R22": lambda: (
        p.r22_contact_sees_tenant(ctx(_draft(), who=contact(id="c9", tenants={"d2"}))).refusals
    ),
    "REFRESH-INTERVAL": _refresh_interval,
    "CUTOFF": _cutoff,
}

#: English through the template (the English shortcut bypassed): must be the message.
SOURCE = Language("en", gettext.NullTranslations())

_PLACEHOLDER = re.compile(r"(%\([^)]*\)[sd])")


class _Pseudo(gettext.NullTranslations):
    """Every ASCII letter outside a placeholder as its fullwidth twin: no English left."""

    def gettext(self, message: str) -> str:
        return "".join(
            part if _PLACEHOLDER.fullmatch(part) else re.sub(
                r"[A-Za-z]", lambda m: chr(ord(m.group()) + 0xFEE0), part
            )
            for part in _PLACEHOLDER.split(message)
        )  # fmt: skip


PSEUDO = Language("de", _Pseudo(), dates="de", day_pattern="d.M.y")
#: Names, zones and IDs are data, not words of the library.
DATA = ("Example District", "America/Chicago", "Pacific/Apia", "state-x", "cloud", "CST", "CDT")


def _refused(name: str) -> Tuple[Refusal, ...]:
    found = SCENARIOS[name]()
    assert found, f"{name} did not refuse"
    return found


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_r1_to_r22_every_refusal_written_from_its_template_is_the_english_message(
    name: str,
) -> None:
    for r in _refused(name):
        assert r.template is not None, name
        assert refusal_text(r, SOURCE) == r.message
        assert refusal_text(r) == r.message  # English: the message itself, byte for byte
        assert refusal_text(r, ENGLISH) == r.message


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_r1_to_r22_every_refusal_in_a_pseudo_locale_keeps_no_english_word(name: str) -> None:
    for r in _refused(name):
        text = refusal_text(r, PSEUDO)
        for value in DATA:
            text = text.replace(value, "")
        text = re.sub(r"\b[0-9a-f]{8,}\b|[A-Z]\.\d+(\.\d+)?", "", text)  # IDs, versions
        assert re.findall(r"[A-Za-z]{2,}", text) == [], (name, text)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_r1_to_r22_every_refusal_reads_in_german_without_its_rule_id(name: str) -> None:
    de = language("de")
    for r in _refused(name):
        text = refusal_text(r, de)
        assert text != r.message, text
        assert r.rule not in text and not re.search(r"\bR\d+\b", text), text
        assert "%(" not in text


def test_german_refusals_use_german_site_words_and_dates() -> None:
    de = language("de")
    (r3,) = SCENARIOS["R3 two sites"]()
    assert refusal_text(r3, de) == (
        "Example District hat keine Website Produktion oder Sandbox (vorhandene Websites: Staging)"
    )
    (interval,) = _refresh_interval()
    text = refusal_text(interval, de)
    assert "höchstens einmal je 7 Tage" in text and "Feb. 2015" in text, text
    assert refusals_text((r3, interval), de).startswith("Example District hat keine")


def test_a_refusal_without_a_template_is_shown_as_written() -> None:
    written = Refusal("R13", "no free slot: the provider's words")
    assert refusal_text(written, language("de")) == written.message


def test_template_and_params_do_not_change_equality_or_the_english_message() -> None:
    plain = Refusal("R6", "text")
    assert plain == Refusal("R6", "text", template="text", params={"a": 1})
    assert hash(plain) == hash(Refusal("R6", "text", template="other"))
    assert str(Refusal("R6", "text", template="x")) == "R6: text"


def _refusal_calls() -> Any:
    source = Path(p.__file__).read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        if name == "refuse" or name == "Refusal":
            yield node


def test_every_refusal_of_the_policies_carries_a_catalog_template() -> None:
    if "mutmut" in Path(p.__file__).read_text(encoding="utf-8"):
        pytest.skip("a mutation run's rewritten copy of the source: its AST is not the code's")
    # The one exception: to_instant's other errors (a wrong type), never a form's.
    missing = []
    for call in _refusal_calls():
        keys = {k.arg for k in call.keywords}
        if "template" in keys or None in keys or len(call.args) >= 4:  # None: **words
            continue
        last = call.args[-1] if call.args else None
        if isinstance(last, ast.Attribute) and last.attr == "start_error":
            continue
        missing.append(call.lineno)
    assert missing == []
    assert len(list(_refusal_calls())) >= 24


@pytest.mark.parametrize(
    "reason",
    [
        "deferred by the contact to the next available window",
        "deferred by the contact to the next available window (1 of 2 deferrals left)",
        "deferred by the contact by 1 day",
        "deferred by the contact by 1 day (0 of 2 deferrals left)",
        "deferred by the contact by 8 days",
        "deferred by the contact by 8 days (0 of 2 deferrals left)",
    ],
)
def test_a_postpones_stored_reason_reads_in_the_contacts_language(reason: str) -> None:
    assert advisory_text(reason) == reason
    assert advisory_text(reason, SOURCE) == reason
    german = advisory_text(reason, language("de"))
    assert german.startswith("vom Kontakt") and "deferred" not in german
    pseudo = re.sub(r"\d+", "", advisory_text(reason, PSEUDO))
    assert re.findall(r"[A-Za-z]{2,}", pseudo) == [], pseudo
