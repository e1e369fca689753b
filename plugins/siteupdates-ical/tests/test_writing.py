"""The schedule file, hostile text, per-contact feeds and the configuration entry point."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import List, Optional, Set

import attrs
import icalendar
import pytest
import recurring_ical_events
from hypothesis import given, settings
from hypothesis import strategies as st

from siteupdates.errors import ConfigurationError
from siteupdates.notices import CalendarEntry
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, sample_setup
from siteupdates_ical import (
    BlackoutCalendars,
    CalDavSchedule,
    IcsSchedule,
    canonical_text,
    configure_from_settings,
    contact_feed,
    make_event,
    new_calendar,
    provider_feed,
)
from siteupdates_ical import plugin as entry_module
from siteupdates_ical.text import serialize

UTC = timezone.utc
T = datetime(2026, 3, 8, 9, tzinfo=UTC)
OLD_ICALENDAR = int(icalendar.__version__.split(".")[0]) < 7
# icalendar 6 (the Python 3.8 line) reads some backslash pairs back wrongly.
HOSTILE = ["Pine\rEND:VEVENT\rBEGIN:VEVENT\rUID:x", "a\r\nb", "\U0001f600;,:\\n", "\x00\x1b"]
TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=["Cs"], blacklist_characters="\\" if OLD_ICALENDAR else ""
    ),
    max_size=40,
) | st.sampled_from([h for h in HOSTILE if not (OLD_ICALENDAR and "\\" in h)])


def seq(event: icalendar.cal.Component) -> int:
    return int(event.decoded("SEQUENCE"))


def events_of(data: bytes) -> List[icalendar.cal.Component]:
    return list(icalendar.Calendar.from_ical(data).walk("VEVENT"))


def test_the_schedule_file_follows_publish_move_and_withdraw(tmp_path: Path) -> None:
    cal = IcsSchedule(tmp_path / "schedule.ics")
    desk = Desk.open("memory://", host=PluginHost(plugins=[cal], entry_points=False),
                     clock=FixedClock())  # fmt: skip
    desk.load_setup(sample_setup())
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(rid, T)
    desk.deliver()
    [e] = cal.events()
    assert str(e["UID"]) == f"{rid}@siteupdates" and e.decoded("DTSTART") == T
    assert "Example District" in str(e["SUMMARY"]) and seq(e) == 0
    for n, day in enumerate((15, 22), start=1):
        desk.reschedule(rid, T.replace(day=day), "capacity")
        desk.deliver()
        [moved] = cal.events()
        assert moved.decoded("DTSTART") == T.replace(day=day) and seq(moved) == n
    desk.cancel("dana", rid)
    desk.deliver()
    [gone] = cal.events()
    assert str(gone["STATUS"]) == "CANCELLED" and seq(gone) == 3


def test_a_hostile_tenant_name_stays_one_event(tmp_path: Path) -> None:
    cal = IcsSchedule(tmp_path / "s.ics")
    hostile = "Pine\rEND:VEVENT\rBEGIN:VEVENT\rUID:x\r\nDTSTART:20260101T000000Z\r\n"
    cal.siteupdates_calendar_update(CalendarEntry("k1", "publish", "r1", "d1", hostile, T,
                                                  T + timedelta(hours=2)))  # fmt: skip
    data = (tmp_path / "s.ics").read_bytes()
    [event] = events_of(data)
    assert str(event["SUMMARY"]) == canonical_text(hostile)
    assert len(recurring_ical_events.of(icalendar.Calendar.from_ical(data)).at(2026)) == 1
    # The file stays readable: later updates, for any tenant, still work.
    cal.siteupdates_calendar_update(CalendarEntry("k2", "publish", "r2", "d2", "Oak", T,
                                                  T + timedelta(hours=2)))  # fmt: skip
    assert sorted(str(e["UID"]) for e in cal.events()) == ["r1@siteupdates", "r2@siteupdates"]


@settings(max_examples=150, deadline=None)
@given(uid=TEXT, summary=TEXT, description=TEXT)
def test_any_text_in_any_field_reads_back_unchanged(
    uid: str, summary: str, description: str
) -> None:
    cal = new_calendar(summary, None)
    cal.add_component(
        make_event(uid, summary, T, T + timedelta(hours=1), description=description,
                   alarms=[timedelta(minutes=15)])
    )  # fmt: skip
    cal.add_component(make_event("other", "plain", T, T + timedelta(hours=1)))
    [e, other] = events_of(serialize(cal))
    assert str(e["UID"]) == canonical_text(uid)
    assert str(e["SUMMARY"]) == canonical_text(summary)
    assert str(e["DESCRIPTION"]) == canonical_text(description)
    assert str(other["UID"]) == "other"


@attrs.frozen
class Tenant:
    id: str
    name: str


@attrs.frozen
class Contact:
    id: str
    tenants: Set[str]
    zone: Optional[str] = None


@attrs.frozen
class Request:
    id: str
    tenant_id: str
    scheduled_for: Optional[datetime]
    status: str = "scheduled"
    revision: int = 1
    target: str = "staging"
    version: Optional[str] = "E.1505.2"


@settings(max_examples=100, deadline=None)
@given(
    names=st.lists(TEXT, min_size=1, max_size=6),
    data=st.data(),
)
def test_r22_a_contact_feed_holds_only_the_contacts_tenants(
    names: List[str], data: st.DataObject
) -> None:
    tenants = [Tenant(f"t{i}", name) for i, name in enumerate(names)]
    ids = [t.id for t in tenants]
    mine = data.draw(st.sets(st.sampled_from(ids)))
    requests = [
        Request(f"r{i}", data.draw(st.sampled_from(ids)),
                data.draw(st.none() | st.just(T + timedelta(days=i))),
                data.draw(st.sampled_from(["scheduled", "cancelled", "completed", "deferred"])))
        for i in range(data.draw(st.integers(0, 8)))
    ]  # fmt: skip
    feed = contact_feed(Contact("c", mine, "Europe/Berlin"), requests, tenants)
    got = {str(e["UID"]): e for e in events_of(feed)}
    expected = {r.id: r for r in requests if r.tenant_id in mine and r.scheduled_for is not None}
    assert set(got) == {f"{rid}@siteupdates" for rid in expected}
    for rid, r in expected.items():
        e = got[f"{rid}@siteupdates"]
        name = canonical_text(next(t.name for t in tenants if t.id == r.tenant_id))
        assert str(e["SUMMARY"]).startswith(name + ": ")
        assert e.decoded("DTSTART") == r.scheduled_for and e.decoded(
            "DTSTART"
        ).utcoffset() == timedelta(0)
        assert (str(e["STATUS"]) == "CANCELLED") == (r.status == "cancelled")
    everything = provider_feed(requests, tenants)
    assert len(events_of(everything)) == sum(r.scheduled_for is not None for r in requests)


def test_feeds_from_a_real_desk_carry_sequence_and_alarms() -> None:
    desk = Desk.open("memory://", host=PluginHost(entry_points=False), clock=FixedClock())
    setup = sample_setup()
    desk.load_setup(setup)
    rid = desk.submit("dana", "d1", "staging", "E.1505.2", at=datetime(2026, 3, 7, 22)).request.id
    desk.schedule(rid, T)
    first = desk.storage.request(rid)
    desk.reschedule(rid, T.replace(day=15), "capacity")
    moved = desk.storage.request(rid)
    assert first is not None and moved is not None
    sam = next(c for c in setup.contacts if c.id == "sam")
    [e1] = events_of(contact_feed(sam, [first], setup.tenants))
    [e2] = events_of(contact_feed(sam, [moved], setup.tenants, alarms=[timedelta(days=1)]))
    assert seq(e2) > seq(e1)
    assert "(Europe/Berlin)" in str(e2["DESCRIPTION"])
    assert [a.decoded("TRIGGER") for a in e2.walk("VALARM")] == [-timedelta(days=1)]


def test_configure_from_settings_builds_the_plugins(tmp_path: Path) -> None:
    plugins = configure_from_settings(
        {
            "zone": "America/Chicago",
            "schedule": str(tmp_path / "s.ics"),
            "caldav": "https://cal.example.org/ops/updates/",
            "caldav_user": "ops",
            "caldav_password_env": "PW",
            "blackouts": [{"source": "holidays.ics"}, {"source": "pine.ics", "tenant": "d1"},
                          {"caldav": "https://cal.example.org/ops/b/", "tenants": ["d3"]}],
        },
        environ={"PW": "secret"},
    )  # fmt: skip
    ics, dav, blackouts = plugins
    assert isinstance(ics, IcsSchedule) and isinstance(dav, CalDavSchedule)
    assert isinstance(blackouts, BlackoutCalendars)
    assert [sorted(s.tenants) for s in blackouts.sources] == [[], ["d1"], ["d3"]]
    assert "secret" not in repr(plugins)


@pytest.mark.parametrize(
    ("settings_", "message"),
    [
        ({"shedule": "x.ics"}, "unknown key 'shedule'"),
        ({"zone": "Central"}, "unknown time zone"),
        ({"blackouts": [{"tenant": "d1"}]}, "exactly one of"),
        ({"blackouts": [{"source": "a.ics", "tenant": ""}]}, "tenant"),
        ({"caldav_password_env": "NOPE"}, r"\$NOPE is not set"),
    ],
)
def test_bad_settings_are_refused_clearly(settings_: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigurationError, match=message):
        configure_from_settings(settings_, environ={})


def test_the_entry_point_loads_and_the_hook_configures_it(tmp_path: Path) -> None:
    if sys.version_info >= (3, 10):
        eps = metadata.entry_points(group="siteupdates")
    else:  # pragma: no cover
        eps = metadata.entry_points().get("siteupdates", [])
    # Older importlib.metadata may list an editable install twice.
    assert {e.value for e in eps if e.name == "ical"} == {"siteupdates_ical.plugin"}
    host = PluginHost(entry_points=True)  # unconfigured, the plugin does nothing
    assert "ical" in host.names()
    assert host.blackouts(None, T, T + timedelta(days=1)) == []
    (tmp_path / "b.ics").write_bytes(
        serialize(_one(make_event("b", "Exams", T, T + timedelta(hours=3))))
    )
    # Turned on from a setup file's [plugins.ical] table, as the command line does.
    setup = {"plugins": {"ical": {"blackouts": [{"source": str(tmp_path / "b.ics")}]}}}
    desk = Desk.from_setup(setup, url=f"sqlite:///{tmp_path / 'x.db'}", host=host)
    try:
        [b] = desk.host.blackouts(None, T, T + timedelta(days=1))
        assert b.name == "Exams" and b.tenant_id is None
        with Desk.open(f"sqlite:///{tmp_path / 'x.db'}", entry_points=True) as again:
            assert len(again.host.blackouts(None, T, T + timedelta(days=1))) == 1
    finally:
        desk.close()
        entry_module.siteupdates_configure({})


def _one(event: icalendar.cal.Component) -> icalendar.Calendar:
    cal = new_calendar()
    cal.add_component(event)
    return cal
