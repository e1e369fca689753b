"""``siteupdates feed``: a contact's iCalendar feed holds their tenants' updates only (R22).

The feed is parsed back with ``icalendar``, the library a subscriber's tools use,
rather than searched as text, so an event another tenant slipped in through an
escaping mistake would be counted too.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import icalendar
import pytest

from siteupdates.cli import EXIT, main

pytest.importorskip("siteupdates_ical")

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "examples" / "district.toml"
NOW = "2015-02-02T10:39:00Z"


class Run:
    """``siteupdates`` in this process on one SQLite file, standard output as bytes."""

    def __init__(self, capsys: pytest.CaptureFixture[bytes], db: Path) -> None:
        self.capsys, self.db = capsys, db

    def raw(self, *args: str) -> Tuple[int, bytes, bytes]:
        try:
            code = main(["--db", str(self.db), "--now", NOW, *args])
        except SystemExit as stop:  # pragma: no cover - usage errors only
            code = int(stop.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str) -> Dict[str, Any]:
        code, out, err = self.raw("--json", *args)
        assert code == 0, err
        data: Dict[str, Any] = json.loads(out)
        return data


@pytest.fixture
def run(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> Run:
    setup = tmp_path / "setup.toml"
    # A ladder of our own, so the alarms are shown to come from the setup, not a default.
    setup.write_text(
        SETUP.read_text(encoding="utf-8") + '\n[notices]\nreminders = ["48h", "30m"]\n',
        encoding="utf-8",
    )
    r = Run(capsysbinary, tmp_path / "feed.db")
    r.json("init", str(setup))
    return r


def _submit(run: Run, contact: str, tenant: str, at: str) -> str:
    made = run.json("submit", "--as", contact, "--tenant", tenant, "--target",
                    "production/sandbox", "--refresh-only", "--refresh", "--at", at)  # fmt: skip
    return str(made["id"])


def _events(data: bytes) -> List[icalendar.cal.Component]:
    return list(icalendar.Calendar.from_ical(data).walk("VEVENT"))


def _uids(data: bytes) -> Set[str]:
    return {str(e["UID"]).split("@")[0] for e in _events(data)}


@pytest.fixture
def booked(run: Run) -> Dict[str, str]:
    """One scheduled request for each tenant, and one of dana's left unscheduled."""
    ids = {
        "maple": _submit(run, "dana", "maple", "2015-02-14 01:00"),
        "birch": _submit(run, "sam", "birch", "2015-02-10 22:00"),
        "cedar": _submit(run, "sam", "cedar", "2015-02-10 22:00"),
    }
    run.json("schedule")
    ids["maple-unscheduled"] = _submit(run, "dana", "maple", "2015-03-14 01:00")
    return ids


def test_r22_a_contacts_feed_holds_exactly_their_tenants_scheduled_updates(
    run: Run, booked: Dict[str, str]
) -> None:
    code, out, err = run.raw("feed", "--as", "dana")
    assert code == 0, err
    assert _uids(out) == {booked["maple"]}  # scheduled only; nothing of sam's tenants
    for other in ("birch", "cedar", "Birch", "Cedar", booked["birch"], booked["cedar"]):
        assert other.encode() not in out
    code, out, err = run.raw("feed", "--as", "sam")
    assert code == 0, err
    assert _uids(out) == {booked["birch"], booked["cedar"]}
    assert b"Maple" not in out and booked["maple"].encode() not in out


def test_the_providers_feed_holds_every_tenant_with_the_reminder_ladder_as_alarms(
    run: Run, booked: Dict[str, str]
) -> None:
    code, out, err = run.raw("feed")
    assert code == 0, err
    assert _uids(out) == {booked["maple"], booked["birch"], booked["cedar"]}
    for event in _events(out):
        triggers = sorted(a.decoded("TRIGGER") for a in event.walk("VALARM"))
        assert triggers == [-timedelta(hours=48), -timedelta(minutes=30)]


def test_r16_a_cancelled_update_stays_in_the_feed_as_cancelled_with_a_higher_sequence(
    run: Run, booked: Dict[str, str]
) -> None:
    # Cancelling clears the date; a client that imported the feed removes the event
    # only when it sees the same UID with STATUS:CANCELLED and a higher SEQUENCE.
    code, before, err = run.raw("feed", "--as", "dana")
    [was] = _events(before)
    run.json("cancel", "--as", "dana", booked["maple"])
    code, out, err = run.raw("feed", "--as", "dana")
    assert code == 0, err
    [event] = _events(out)
    assert str(event["UID"]) == str(was["UID"]) and str(event["STATUS"]) == "CANCELLED"
    assert int(event.decoded("SEQUENCE")) > int(was.decoded("SEQUENCE"))
    assert event.decoded("DTSTART") == was.decoded("DTSTART")
    assert event.walk("VALARM") == []
    code, provider, err = run.raw("feed")
    assert code == 0, err
    mine = [e for e in _events(provider) if str(e["UID"]) == str(was["UID"])]
    assert [str(e["STATUS"]) for e in mine] == ["CANCELLED"]


def test_r22_an_unknown_contact_is_refused_in_one_line(run: Run) -> None:
    code, out, err = run.raw("feed", "--as", "nobody")
    assert code == EXIT["access"] and out == b""
    assert len(err.splitlines()) == 1 and b"Traceback" not in err


def test_feed_without_the_calendar_plugin_says_so_in_one_line(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "siteupdates_ical", None)  # import fails as if missing
    code, out, err = run.raw("feed", "--as", "dana")
    assert code == EXIT["setup"] and out == b""
    [line] = err.decode().splitlines()
    assert "siteupdates-ical" in line
