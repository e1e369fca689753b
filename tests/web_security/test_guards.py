"""The framework-free checks every framework's pages run on a request's raw parts."""

from __future__ import annotations

import pytest

from siteupdates.errors import (
    AccessDenied,
    ConflictError,
    InvalidInput,
    RequestRefused,
    StorageError,
    WrongType,
)

guards = pytest.importorskip("siteupdates_web.guards")


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("request_id", "9e1f0c", True),
        ("request_id", "\x00x", False),
        ("request_id", "a" * 201, False),
        ("request_id", " 9e1f0c", False),
        ("tenant_id", "\u202emaple", False),
        ("token", "x" * 1500, True),
        ("token", "x\x00", False),
        ("filename", " site.css", True),  # not an ID: the static route checks its own
    ],
)
def test_r22_only_a_possible_id_reaches_a_view(name: str, value: str, ok: bool) -> None:
    assert guards.plausible(name, value) is ok


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"answer=by+phone&x=%C3%A9", None),
        (b"answer=%ZZ", "malformed"),
        (b"answer=ok%2", "malformed"),
        (b"answer=100%", "malformed"),
        (b"answer=caf%E9", "UTF-8"),
        (b"answer=caf\xe9", "UTF-8"),
        (b"", None),
    ],
)
def test_a_malformed_form_is_named(raw: bytes, problem: str) -> None:
    found = guards.malformed(raw)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_each_library_error_has_its_status() -> None:
    from siteupdates_web.pages import status_for

    assert status_for(InvalidInput("x")) == 400
    assert status_for(WrongType("x", 1, "a string")) == 400
    assert status_for(AccessDenied("x")) == 404
    assert status_for(ConflictError("x")) == 409
    assert status_for(RequestRefused([])) == 422
    assert status_for(StorageError("x")) == 503
