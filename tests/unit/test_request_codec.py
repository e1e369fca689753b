"""The two decoders of a stored request: by column name, and by position without converters."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siteupdates.domain import Advisory, Status, Target, UpdateRequest, Version
from siteupdates.domain.timeutil import get_zone
from siteupdates.errors import StorageError
from siteupdates.sql import codec
from siteupdates.testing import make_request

UTC = timezone.utc
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)

instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
requests = st.builds(
    make_request,
    target=st.sampled_from(list(Target)),
    version=st.sampled_from([None, "E.1505.2", "F.1601.10"]),
    db_refresh=st.booleans(),
    preferred_start=instants,
    zone=st.sampled_from(["UTC", "America/Chicago", "Asia/Kolkata"]),
    requested_at=instants,
    status=st.sampled_from(list(Status)),
    scheduled_for=st.none() | instants,
    revision=st.integers(1, 10_000),
    warnings=st.lists(
        st.sampled_from(["R8: maintenance that week", "a note", "R14: backup at 02:00"]),
        max_size=3,
    ),
    reason=st.none() | st.text(max_size=20),
    superseded_by=st.none() | st.just("req-x"),
    idempotency_key=st.none() | st.text(min_size=1, max_size=8),
    group_plan_id=st.none() | st.just("plan-1"),
    automatic=st.booleans(),
    booking=st.none() | st.just("cloud-week:2015-02-08"),
    resume_status=st.none() | st.sampled_from(list(Status)),
)


def _as_driver_returns(row: Dict[str, Any]) -> Dict[str, Any]:
    """The row as PostgreSQL's driver gives it: instants as datetimes in the session's zone."""
    zone = get_zone("Europe/Berlin")
    out = dict(row)
    for c in ("preferred_start", "requested_at", "scheduled_for"):
        if out[c] is not None:
            out[c] = datetime.fromisoformat(out[c]).astimezone(zone)
    return out


def _both(row: Dict[str, Any]) -> Tuple[UpdateRequest, UpdateRequest]:
    values = (*(row[c] for c in codec.REQUEST_COLUMNS), 3, "scheduled")  # more columns
    return codec.request_from(row), codec.request_from_values(values)


@settings(max_examples=200, deadline=None)
@given(requests, st.booleans())
def test_the_positional_decoder_builds_what_the_validated_one_builds(
    r: UpdateRequest, as_datetimes: bool
) -> None:
    row = codec.request_row(r)
    if as_datetimes:
        row = _as_driver_returns(row)
    validated, trusted = _both(row)
    assert trusted == validated == r
    # Equal field by field in type too: the converters would not have changed any of them.
    for a in attrs.fields(UpdateRequest):
        assert type(getattr(trusted, a.name)) is type(getattr(validated, a.name)), a.name
        assert type(getattr(trusted, a.name)) is type(getattr(r, a.name)), a.name
    for instant in (trusted.preferred_start, trusted.requested_at, trusted.scheduled_for):
        assert instant is None or instant.tzinfo is UTC
    assert isinstance(trusted.target, Target) and isinstance(trusted.status, Status)
    assert all(isinstance(w, Advisory) for w in trusted.warnings)
    assert trusted.version is None or isinstance(trusted.version, Version)
    assert hash(trusted) == hash(validated)


@pytest.mark.parametrize(
    "column, value",
    [
        ("target", "mainframe"),
        ("status", "lost"),
        ("resume_status", "lost"),
        ("version", "not a version"),
        ("zone", "Mars/Olympus"),
        ("preferred_start", None),
        ("requested_at", "999-01-01T00:00:00+00:00"),
        ("scheduled_for", "yesterday"),
        ("revision", "many"),
        ("warnings", "{not json"),
        ("warnings", json.dumps("one string")),
    ],
)
def test_a_damaged_row_is_a_storage_error_for_both_decoders(column: str, value: Any) -> None:
    r = make_request(status="scheduled", scheduled_for=T0 + timedelta(days=1))
    row = codec.request_row(r)
    row[column] = value
    values = tuple(row[c] for c in codec.REQUEST_COLUMNS)
    outcomes: List[Optional[UpdateRequest]] = []
    decoders: List[Callable[[], UpdateRequest]] = [
        lambda: codec.request_from(row),
        lambda: codec.request_from_values(values),
    ]
    for decode in decoders:
        try:
            outcomes.append(decode())
        except StorageError as exc:
            assert f"stored request {r.id} cannot be read" in str(exc)
            outcomes.append(None)
    assert outcomes[0] == outcomes[1]
