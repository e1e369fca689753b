"""Hypothesis strategies for hostile input: text, numbers, dates and wrongly typed values."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from tests.hostile import census

UTC = timezone.utc

#: Text a careless or hostile user types: controls, bad UTF-8 (surrogate escapes), long.
hostile_text = st.one_of(
    st.sampled_from(census.TEXT),
    st.text(
        alphabet=st.characters(codec=None, categories=("Cc", "Cs", "Lu", "Ll", "Nd", "Po", "Zs")),
        max_size=40,
    ),
    st.text(max_size=20).map(lambda t: t + census.BAD_UTF8),
    st.integers(min_value=2000, max_value=6000).map(lambda n: "x" * n),
)

#: Numbers as typed on a command line: huge, negative, not finite, not numbers at all.
hostile_number = st.one_of(
    st.sampled_from(census.NUMBERS),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    hostile_text,
)

#: Dates at the edges of the calendar and beyond, as typed.
hostile_date = st.one_of(
    st.sampled_from(census.DATES),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)).map(
        lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}"
    ),
    st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d} 10:00",
        st.integers(0, 99999),
        st.integers(0, 14),
        st.integers(0, 40),
    ),
    hostile_text,
)

hostile_instant = st.one_of(
    st.sampled_from(census.INSTANTS),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
        lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:00Z"
    ),
)

hostile_week = st.one_of(
    st.sampled_from(census.WEEKS),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(
        lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
    ),
)

BY_KIND = {
    "id": hostile_text,
    "text": hostile_text,
    "num": hostile_number,
    "date": hostile_date,
    "instant": hostile_instant,
    "week": hostile_week,
}

#: Values of the wrong type (or right type, wrong range) for any Python API argument.
wrong_value: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(census.WRONG),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=8),
    hostile_text,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
    st.dates(),
    st.timedeltas(),
    st.just(math.inf),
    st.just(datetime.max.replace(tzinfo=timezone(timedelta(hours=-12)))),
)

#: Values a hostile setup file holds where something else belongs.
toml_value: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),  # left out: TOML has no null (the writer drops the key)
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=True, allow_infinity=True),
        hostile_text,
        st.sampled_from(["0001-01-01 00:00", "9999-12-31 23:59", "E.1", "funday", "25:00"]),
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
        st.dates(min_value=date(1, 1, 1)),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
