"""Issue 27, R13: a real desk's explanations (queued, booked, staged with a soak) translate.

Each line written from its phrase in English must be the line itself; in German
no line is left as the English one except the parts still written as they are.
"""

from __future__ import annotations

import gettext
from datetime import datetime, timedelta, timezone
from typing import List

import attrs

from siteupdates.domain import SchedulingRules, StagingRules
from siteupdates.domain.messages import explanation_lines
from siteupdates.domain.planner import Explanation
from siteupdates.i18n import Language, language
from siteupdates.plugins import PluginHost
from siteupdates.presets import CAMPUS_HOSTING
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, sample_setup

UTC = timezone.utc
SOURCE = Language("en", gettext.NullTranslations())


def _explanations() -> List[Explanation]:
    clock = FixedClock(datetime(2026, 2, 20, 12, tzinfo=UTC))
    preset = attrs.evolve(
        CAMPUS_HOSTING, scheduling=SchedulingRules(staging=StagingRules(soak=timedelta(hours=72)))
    )
    desk = Desk.open("memory://", host=PluginHost(entry_points=False), clock=clock, preset=preset)
    desk.load_setup(sample_setup())
    queued = desk.submit_staged("dana", "d1", "E.1505.2", at=datetime(2026, 3, 1, 4))
    out = [desk.explain(queued.production.id), desk.explain_to("dana", queued.production.id)]
    desk.plan_queue(horizon=clock.now + timedelta(days=60))
    desk.reschedule(queued.staging.id, datetime(2026, 3, 5, 19, tzinfo=UTC), "staff away")
    for rid in (queued.staging.id, queued.production.id):
        out += [desk.explain(rid), desk.explain_to("dana", rid)]
    desk.close()
    return out


def test_r13_a_desks_explanations_written_from_their_phrases_are_the_english_lines() -> None:
    found = _explanations()
    assert any("soak" in line for e in found for line in e.lines)
    assert any("the provider set" in line for e in found for line in e.lines)
    german = language("de")
    for e in found:
        assert len(e.phrases) == len(e.lines) and None not in e.phrases, e.lines
        assert explanation_lines(e, SOURCE) == e.lines
        for english, line in zip(e.lines, explanation_lines(e, german)):
            assert line != english, line
            assert "soak" not in line and "passed over" not in line, line
