"""The SQLite URL's plain form is read without urllib, exactly as urllib reads it."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siteupdates.builtin.sqlite import _path_of, _plain_path
from siteupdates.errors import ConfigurationError


def _urllib_path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme == "sqlite" and not parts.netloc
    return parts.path[1:] if parts.path.startswith("/") else parts.path


@given(st.text(min_size=0, max_size=40))
def test_a_plain_path_is_what_urllib_reads(rest: str) -> None:
    url = "sqlite:///" + rest
    plain = _plain_path(url)
    if plain is not None:
        assert plain == _urllib_path(url)


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///x.db", "x.db"),
        ("sqlite:////srv/x.db", "/srv/x.db"),
        ("sqlite:///x.db?synchronous=FULL", "x.db"),  # a query goes through urllib
        ("sqlite:///a%20b.db", "a%20b.db"),  # as urllib leaves it
    ],
)
def test_sqlite_urls_name_their_file(url: str, path: str) -> None:
    assert _path_of(url) == path


@pytest.mark.parametrize("url", ["sqlite://host/x.db", "sqlite:///", "sqlite:///?x=1"])
def test_a_url_without_a_file_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        _path_of(url)
