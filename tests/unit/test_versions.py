from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siteupdates.domain import Catalog, Version
from siteupdates.errors import IncomparableVersions, MalformedVersion, SiteUpdatesError

lines = st.from_regex(r"[A-Z][A-Z0-9]{0,2}", fullmatch=True)
numbers = st.integers(min_value=0, max_value=10**6)


def test_parses_the_source_documents_version() -> None:
    v = Version.parse("E.1505.2")
    assert (v.line, v.release, v.pack) == ("E", 1505, 2)
    assert str(v) == "E.1505.2"


@pytest.mark.parametrize("text", ["", "E", "E.1505", "E.1505.2.1", "1505.2", "E.15a5.2", "E.01.2"])
def test_malformed_versions_name_the_expected_form(text: str) -> None:
    with pytest.raises(MalformedVersion) as err:
        Version.parse(text)
    assert "E.1505.2" in str(err.value)
    assert err.value.value == text
    assert isinstance(err.value, ValueError)


def test_versions_of_two_lines_are_not_ordered() -> None:
    with pytest.raises(IncomparableVersions):
        assert Version.parse("E.1.0") < Version.parse("F.2.0")


def test_a_non_string_is_a_wrong_type() -> None:
    with pytest.raises(SiteUpdatesError, match=r"string like 'E\.1505\.2'"):
        Version.parse(1505)


@given(lines, numbers, numbers)
def test_format_and_parse_round_trip(line: str, release: int, pack: int) -> None:
    v = Version(line, release, pack)
    assert Version.parse(str(v)) == v


@given(st.lists(st.tuples(numbers, numbers), min_size=1, max_size=20))
def test_order_within_a_line_is_total_and_numeric(pairs: list[tuple[int, int]]) -> None:
    versions = [Version("E", r, p) for r, p in pairs]
    ordered = sorted(versions)
    assert [(v.release, v.pack) for v in ordered] == sorted(pairs)
    for a in versions:
        for b in versions:
            assert (a < b) + (a == b) + (a > b) == 1


def test_r5_catalog_offers_only_the_highest_pack_of_each_release() -> None:
    cat = Catalog.of("E.1505.1", "E.1505.2", "E.1450.4", "E.1450.3")
    assert [str(v) for v in cat.choosable()] == ["E.1450.4", "E.1505.2"]
    assert str(cat.latest_pack(Version.parse("E.1505.1"))) == "E.1505.2"
    assert str(cat.newest("E")) == "E.1505.2"
    assert cat.newest("F") is None
