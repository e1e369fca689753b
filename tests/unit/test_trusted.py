"""The converter-free constructors of the submit build the values the validated ones build.

:meth:`siteupdates.domain.UpdateRequest.trusted` (and the history entry of
:func:`siteupdates.domain.submitted`) skip the converters for fields the caller
has converted already; given the converted form of any valid input, they must
give a value equal to the class's own constructor, field by field and type by
type. The encoders of the SQL codec are checked against their column lists.
"""

from __future__ import annotations

import types
from datetime import datetime, timedelta, timezone
from typing import Any, Dict

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from siteupdates.domain import Actor, Event, HistoryEntry, Status, Target, UpdateRequest, Version
from siteupdates.domain.lifecycle import submitted
from siteupdates.domain.messages import Notice
from siteupdates.domain.model import Advisory, trusted_constructor
from siteupdates.sql import codec
from tests.factories import NOW

UTC = timezone.utc
ZONES = ["UTC", "America/Chicago", "Europe/Berlin", "Asia/Kolkata", "Pacific/Apia"]

ids = st.text(st.characters(min_codepoint=48, max_codepoint=122), min_size=1, max_size=40)
instants = st.datetimes(
    min_value=datetime(1950, 1, 1), max_value=datetime(2900, 1, 1), timezones=st.just(UTC)
)
versions = st.builds(
    Version, st.sampled_from(["E", "F", "L2"]), st.integers(0, 3000), st.integers(0, 20)
)
advisories = st.builds(Advisory, st.sampled_from(["R8", "R14", "X1"]), st.text(max_size=30))


@st.composite
def request_fields(draw: Any) -> Dict[str, Any]:
    """Every field of a request in its converted form; optional ones only sometimes."""
    fields: Dict[str, Any] = {
        "id": draw(ids),
        "tenant_id": draw(ids),
        "target": draw(st.sampled_from(list(Target))),
        "version": draw(st.none() | versions),
        "db_refresh": draw(st.booleans()),
        "preferred_start": draw(instants),
        "zone": draw(st.sampled_from(ZONES)),
        "requested_by": draw(ids),
        "requested_at": draw(instants),
    }
    optional = {
        "status": st.sampled_from(list(Status)),
        "scheduled_for": st.none() | instants,
        "revision": st.integers(1, 10_000),
        # Deduplicated, as the validated constructor keeps them.
        "warnings": st.lists(advisories, max_size=3, unique=True).map(tuple),
        "reason": st.none() | st.text(max_size=20),
        "superseded_by": st.none() | ids,
        "idempotency_key": st.none() | ids,
        "group_plan_id": st.none() | ids,
        "automatic": st.booleans(),
        "booking": st.none() | ids,
        "resume_status": st.none() | st.sampled_from(list(Status)),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            fields[name] = draw(strategy)
    return fields


def _same(a: object, b: object) -> None:
    assert a == b
    assert repr(a) == repr(b)
    for f in attrs.fields(type(a)):  # type: ignore[arg-type]
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert type(x) is type(y), f.name
        if isinstance(x, datetime):
            assert x.tzinfo is y.tzinfo, f.name


@given(request_fields())
def test_trusted_request_equals_the_validated_one(fields: Dict[str, Any]) -> None:
    _same(UpdateRequest.trusted(**fields), UpdateRequest(**fields))


@given(request_fields())
def test_trusted_request_takes_the_same_positions(fields: Dict[str, Any]) -> None:
    names = [f.name for f in attrs.fields(UpdateRequest)]
    args = [fields[n] for n in names[:9]]
    rest = {n: v for n, v in fields.items() if n not in names[:9]}
    _same(UpdateRequest.trusted(*args, **rest), UpdateRequest(*args, **rest))


@given(request_fields(), st.sampled_from([None, "because"]), st.sampled_from([(), ("R5",)]))
def test_trusted_history_entry_equals_the_validated_one(
    fields: Dict[str, Any], reason: Any, overrides: Any
) -> None:
    fields.update(status=Status.TO_BE_SCHEDULED, revision=1)
    r = UpdateRequest(**fields)
    entry = dict(
        request_id=r.id, seq=1, event=Event.SUBMIT, actor=Actor.CONTACT, by=r.requested_by,
        at=r.requested_at, from_status=None, to_status=Status.TO_BE_SCHEDULED, reason=reason,
        new_date=r.preferred_start, overrides=overrides,
    )  # fmt: skip
    _same(trusted_constructor(HistoryEntry)(**entry), HistoryEntry(**entry))
    del entry["reason"], entry["overrides"]
    _same(submitted(r), HistoryEntry(**entry))


def test_trusted_refuses_classes_that_check_more_than_converters() -> None:
    @attrs.frozen
    class Checked:
        n: int = attrs.field(validator=attrs.validators.instance_of(int))

    @attrs.frozen
    class Posted:
        n: int

        def __attrs_post_init__(self) -> None:
            pass

    for cls in (Checked, Posted):
        with pytest.raises(TypeError, match="checks more than its converters"):
            trusted_constructor(cls)


def _upper(text: str) -> str:
    return text.upper()


def test_trusted_stores_through_slots_and_through_setattr_where_a_base_holds_the_slot() -> None:
    """A slotted class's own fields go through their slots' setters, a base class's
    through ``object.__setattr__``: either way the value equals the class-built one."""

    @attrs.frozen
    class Base:
        a: int

    @attrs.frozen
    class Child(Base):
        b: str = "x"
        c: str = attrs.field(default="q", converter=_upper)

    make = trusted_constructor(Child)
    assert "a" not in vars(Child) and isinstance(vars(Child)["b"], types.MemberDescriptorType)
    _same(make(1, "y", "Z"), Child(1, "y", "Z"))
    _same(make(1), Child(1))
    r = UpdateRequest("r1", "t1", "staging", None, True, NOW, "UTC", "c1", NOW)
    _same(UpdateRequest.trusted_copy(r, revision=2), attrs.evolve(r, revision=2))


def test_codec_encoders_follow_their_column_lists() -> None:
    r = UpdateRequest(
        "r1", "t1", "staging", "E.1.2", True, NOW, "UTC", "c1", NOW,
        scheduled_for=NOW + timedelta(days=1), warnings=["R8: late"], resume_status="scheduled",
    )  # fmt: skip
    row = codec.request_row(r)
    assert tuple(row) == codec.REQUEST_COLUMNS
    assert row["target"] == "staging" and row["version"] == "E.1.2"
    assert row["scheduled_for"] == codec.ts(NOW + timedelta(days=1))
    assert row["warnings"] == '["R8: late"]' and row["resume_status"] == "scheduled"
    assert codec.request_from(row) == r
    h = submitted(attrs.evolve(r, status="to-be-scheduled", scheduled_for=None))
    hrow = codec.history_row(h)
    assert tuple(hrow) == codec.HISTORY_COLUMNS
    assert codec.history_from(hrow) == h
    # The instants go through the given encoder, and only them.
    raw = codec.request_values(r, lambda v: v)
    assert raw[codec.REQUEST_COLUMNS.index("preferred_start")] is r.preferred_start


def test_notice_payload_has_every_field() -> None:
    n = Notice("k", "accepted", "r1", "t1", "c1", "c@x.example", "s", "b", NOW, "Dana")
    payload = n.to_payload()
    assert set(payload) == {f.name for f in attrs.fields(Notice)}
    assert payload["created_at"] == codec.ts(NOW)
    assert Notice.from_payload(payload) == n
