"""What each status means to a contact: the document's words, the provider's own, everywhere."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict

import attrs
import pytest

from siteupdates.domain import Status
from siteupdates.domain.meanings import meaning_of, meanings
from siteupdates.errors import ConfigurationError
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.setupfile import setup_from_dict
from siteupdates.testing import FixedClock, RecordingNotifier, sample_setup

UTC = timezone.utc
OWN = "We emailed you a question: answer it and we go on."


def _desk(notifier: RecordingNotifier, statuses: Dict[str, Any]) -> Desk:
    desk = Desk.open(
        "memory://",
        host=PluginHost(plugins=[notifier]),
        clock=FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC)),
    )
    setup = sample_setup()
    if statuses:
        notices = setup_from_dict({"notices": {"statuses": statuses}}).settings["notices"]
        setup = attrs.evolve(setup, settings={**setup.settings, "notices": notices})
    desk.load_setup(setup)
    return desk


def test_every_status_has_a_meaning_in_the_contacts_words() -> None:
    for status in Status:
        assert status.meaning and not status.meaning.startswith("R")
    assert Status.DEFERRED.meaning == "The request is on hold until further notice."
    assert "so that work may proceed" in Status.PENDING_INPUT.meaning
    table = meanings()
    assert set(table) == {s.value for s in Status}
    assert table["in-progress"]["label"] == "In Progress"
    assert meaning_of(Status.DEFERRED, {Status.DEFERRED: "Paused."}) == "Paused."
    assert meaning_of(Status.SCHEDULED, {Status.DEFERRED: "Paused."}) == Status.SCHEDULED.meaning


def test_the_setup_file_overrides_a_meaning_and_refuses_what_is_not_a_status() -> None:
    settings = setup_from_dict(
        {"notices": {"statuses": {"Pending Input": OWN, "deferred": "Paused."}}}
    ).settings
    assert settings["notices"] == {"statuses": {"pending-input": OWN, "deferred": "Paused."}}
    with pytest.raises(ConfigurationError, match=r"notices\.statuses\.postponed: not a status"):
        setup_from_dict({"notices": {"statuses": {"postponed": "x"}}})
    with pytest.raises(ConfigurationError, match=r"notices\.statuses\.deferred"):
        setup_from_dict({"notices": {"statuses": {"deferred": "on\x00hold"}}})
    with pytest.raises(ConfigurationError, match=r"notices\.statuses\.deferred"):
        setup_from_dict({"notices": {"statuses": {"deferred": "  "}}})
    with pytest.raises(ConfigurationError, match=r"notices\.statuses"):
        setup_from_dict({"notices": {"statuses": "Paused."}})


def test_every_notice_reports_the_status_with_the_providers_meaning() -> None:
    notifier = RecordingNotifier()
    desk = _desk(notifier, {"pending-input": OWN})
    rid = desk.submit("dana", "d1", "production/sandbox", "E.1505.2",
                      at=datetime(2026, 3, 7, 22)).request.id  # fmt: skip
    desk.provider.ask_input(rid, "Which sandbox?")
    desk.deliver()
    accepted, asked = notifier.delivered
    assert accepted.body.endswith("Status: To Be Scheduled. " + Status.TO_BE_SCHEDULED.meaning), (
        accepted.body
    )
    assert asked.body.endswith(f"Status: Pending Input. {OWN}"), asked.body
    assert desk.meaning("pending-input") == OWN
    assert desk.meanings()["deferred"]["meaning"] == Status.DEFERRED.meaning


def test_a_contacts_notice_shows_warnings_without_rule_ids() -> None:
    notifier = RecordingNotifier()
    desk = _desk(notifier, {})
    rid = desk.submit("dana", "d1", "production/sandbox", "E.1505.2",
                      at=datetime(2026, 3, 8, 1, 45)).request.id  # fmt: skip
    request = desk.storage.request(rid)
    assert request is not None and request.warnings  # the sample tenant's tasks (R14)
    desk.deliver()
    (accepted,) = notifier.delivered
    for w in request.warnings:
        assert f"Note: {w.message}" in accepted.body
        assert f"{w.rule}:" not in accepted.body
