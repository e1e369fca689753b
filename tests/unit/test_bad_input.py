"""Bad input raises one catchable type with a message naming what would be accepted."""

from __future__ import annotations

from datetime import datetime

import pytest

from siteupdates.domain import Contact, Site, SiteKind, Status, Tenant, WeeklyWindow
from siteupdates.errors import SiteUpdatesError, WrongType
from tests.factories import NOW, request


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: SiteKind.parse("live"), "production, sandbox, staging, preview"),
        (lambda: Status.parse("done"), "to-be-scheduled"),
        (lambda: Site("production", "E.1", NOW), "LINE.RELEASE.PACK"),
        (lambda: Site("production", "E.1.0", datetime(2015, 1, 1)), "no time zone"),
        (lambda: Tenant("t", "T", "gold"), "cloud, cloud-choice, asp"),
        (lambda: Contact("c", "C", "c@x", "district", {"a", "b"}), "exactly one tenant"),
        (lambda: Contact("c", "C", "c@x", "district", {"a"}, zone="CST"), "IANA zone"),
        (lambda: WeeklyWindow("funday", "04:00", "09:00", "UTC"), "monday"),
        (lambda: WeeklyWindow("sunday", "4 am", "09:00", "UTC"), "HH:MM"),
        (lambda: request(requested_at="yesterday"), "timezone-aware datetime"),
        (
            lambda: Tenant("t", "T", "asp", sites=(Site("staging", "E.1.0", NOW),) * 2),
            "one site of each kind",
        ),
    ],
)
def test_bad_values_are_refused_with_what_would_be_accepted(build: object, expected: str) -> None:
    with pytest.raises(SiteUpdatesError) as err:
        build()  # type: ignore[operator]
    assert expected in str(err.value)


def test_wrong_types_are_also_type_errors() -> None:
    with pytest.raises(TypeError) as err:
        SiteKind.parse(3)
    assert isinstance(err.value, WrongType)
