"""Local times and instants (R12) at each edge a surviving mutant of ``timeutil.py`` moved.

Each test pins what one mutant changed, which the rest of the unit tests let
through (docs/testing.md, "Mutation score"): which value an error names, a gap
across midnight, an offset that is no whole number of minutes, the clock's
twelve o'clocks, and instants that stay UTC whatever the machine's own zone.
"""

from __future__ import annotations

import os
import time as _time
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Iterator, Optional

import pytest

from siteupdates.domain import timeutil as tu
from siteupdates.errors import AmbiguousLocalTime, NaiveDatetime, NonexistentLocalTime, WrongType

UTC = timezone.utc


# -- bad input names the field and the value ------------------------------------------------


def test_r12_a_zone_that_is_no_text_is_a_wrong_type_naming_the_zone() -> None:
    with pytest.raises(WrongType) as caught:
        tu.get_zone(5)  # type: ignore[arg-type]
    assert (caught.value.name, caught.value.value) == ("zone", 5)


@pytest.mark.parametrize("name", ["Mars/Olympus", "America", "", "../etc/passwd"])
def test_r12_an_unknown_zone_names_the_value_given(name: str) -> None:
    from siteupdates.errors import UnknownZone

    with pytest.raises(UnknownZone) as caught:
        tu.get_zone(name)
    assert caught.value.value == name


def test_r12_an_instant_that_is_no_datetime_is_a_wrong_type_naming_the_field() -> None:
    with pytest.raises(WrongType) as caught:
        tu.require_aware("start", "2015-02-01")
    assert (caught.value.name, caught.value.value) == ("start", "2015-02-01")


class _Floating(tzinfo):
    """A tzinfo that knows no offset: the datetime is naive although it has a tzinfo."""

    def utcoffset(self, dt: Optional[datetime]) -> Optional[timedelta]:
        return None

    def dst(self, dt: Optional[datetime]) -> Optional[timedelta]:
        return None

    def tzname(self, dt: Optional[datetime]) -> Optional[str]:
        return None


@pytest.mark.parametrize("tz", [None, _Floating()])
def test_r12_an_instant_without_an_offset_is_naive_and_the_error_holds_it(
    tz: Optional[tzinfo],
) -> None:
    value = datetime(2015, 2, 1, 15, tzinfo=tz)
    with pytest.raises(NaiveDatetime) as caught:
        tu.require_aware("start", value)
    assert caught.value.value is value
    assert str(caught.value).startswith("start 2015-02-01T15:00:00 has no time zone")
    assert str(caught.value).endswith("with a zone through to_instant()")


@pytest.mark.parametrize(
    ("local", "expected"),
    [("2015-02-01 15:00", "a naive datetime (a wall-clock reading)"),
     (datetime(2015, 2, 1, 15, tzinfo=UTC), "a naive datetime; it is read in the zone given "
                                            "separately")],
)  # fmt: skip
def test_r12_a_local_time_that_is_no_naive_datetime_is_a_wrong_type_naming_it(
    local: object, expected: str
) -> None:
    with pytest.raises(WrongType) as caught:
        tu.to_instant(local, "UTC")  # type: ignore[arg-type]
    assert (caught.value.name, caught.value.value, caught.value.expected) == (
        "local time", local, expected,
    )  # fmt: skip


def test_the_module_lends_zoneinfos_class_and_nothing_else() -> None:
    assert isinstance(tu.get_zone("Europe/Berlin"), tu.ZoneInfo)
    with pytest.raises(AttributeError, match="no attribute 'Zoneinfo'"):
        tu.Zoneinfo  # noqa: B018


# -- gaps and repeated hours: the values the errors carry --------------------------------------


def test_r12_a_gap_across_midnight_names_both_dates() -> None:
    # Nuuk springs forward at 23:00 local: 23:00-24:00 on 28 March 2026 does not exist.
    with pytest.raises(NonexistentLocalTime) as caught:
        tu.to_instant(datetime(2026, 3, 28, 23, 30), "America/Nuuk")
    assert "clocks jump from 2026-03-28 23:00 to 2026-03-29 00:00;" in str(caught.value)
    assert (caught.value.gap_start, caught.value.gap_end) == (
        datetime(2026, 3, 28, 23), datetime(2026, 3, 29),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("local", "zone", "start", "end"),
    [
        (datetime(2011, 12, 30, 12), "Pacific/Apia", datetime(2011, 12, 30),
         datetime(2011, 12, 31)),
        (datetime(2026, 3, 8, 2, 30), "America/Chicago", datetime(2026, 3, 8, 2),
         datetime(2026, 3, 8, 3)),
    ],
)  # fmt: skip
def test_r12_a_gap_error_holds_the_time_asked_and_the_gaps_bounds(
    local: datetime, zone: str, start: datetime, end: datetime
) -> None:
    with pytest.raises(NonexistentLocalTime) as caught:
        tu.to_instant(local, zone)
    assert (caught.value.value, caught.value.gap_start, caught.value.gap_end) == (
        local,
        start,
        end,
    )


def test_r12_an_ambiguity_error_holds_the_time_asked() -> None:
    local = datetime(2026, 11, 1, 1, 30)
    with pytest.raises(AmbiguousLocalTime) as caught:
        tu.to_instant(local, "America/Chicago", tu.Ambiguity.RAISE)
    assert caught.value.value == local


def test_r12_an_offset_with_seconds_is_shown_in_whole_minutes_rounded_down() -> None:
    # Local mean times have seconds (Chicago's was -05:50:36); rounded down, that
    # shows as -05:51. to_instant reads no year before 1900 now, so the helper is
    # asked directly.
    assert tu._fmt_off(-timedelta(hours=5, minutes=50, seconds=36)) == "-05:51"
    assert tu._fmt_off(timedelta(minutes=53, seconds=28)) == "+00:53"
    assert tu._fmt_off(None) == "+00:00"


# -- instants are UTC, whatever the machine's own zone ------------------------------------------


@pytest.fixture
def machine_in_chicago() -> Iterator[None]:
    """The process's local zone (``TZ``) set to Chicago for the test, then restored."""
    if not hasattr(_time, "tzset"):
        pytest.skip("the local zone cannot be changed on this platform (no time.tzset)")
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/Chicago"
    _time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        _time.tzset()


@pytest.mark.parametrize("rule", ["earlier", "later"])
def test_r12_an_instant_read_from_a_local_time_is_utc_on_any_machine(
    machine_in_chicago: None, rule: str
) -> None:
    for local in (datetime(2026, 11, 1, 1, 30), datetime(2026, 7, 1, 9)):
        instant = tu.to_instant(local, "Europe/Berlin" if local.month == 7 else "America/Chicago",
                                rule)  # fmt: skip
        assert instant.tzinfo is UTC


def test_stored_instants_are_utc_text_on_any_machine(machine_in_chicago: None) -> None:
    berlin = datetime(2026, 3, 8, 12, tzinfo=tu.get_zone("Europe/Berlin"))
    assert tu.ts(berlin) == "2026-03-08T11:00:00.000000+00:00"
    assert tu.ts(None) is None
    assert tu.parse_ts(datetime(2026, 3, 8, 11)) == datetime(2026, 3, 8, 11, tzinfo=UTC)


# -- the clock, in twelve-hour time -------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "text"),
    [(0, 30, "12:30 AM UTC"), (11, 59, "11:59 AM UTC"), (12, 0, "12:00 PM UTC"),
     (13, 5, "1:05 PM UTC"), (23, 0, "11:00 PM UTC")],
)  # fmt: skip
def test_the_clock_shows_noon_and_midnight_as_twelve(hour: int, minute: int, text: str) -> None:
    assert tu.format_clock(datetime(2015, 2, 1, hour, minute, tzinfo=UTC), "UTC") == text
