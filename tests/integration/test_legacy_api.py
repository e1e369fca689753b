"""The flat Desk methods of 0.2: made from the declarations, deprecated, still working."""

from __future__ import annotations

from datetime import datetime

import pytest

from siteupdates.errors import BadCall, WrongType
from siteupdates.service import ContactDesk, Desk
from siteupdates.usecases.catalog import CATALOG
from siteupdates.usecases.typing_gen import TARGET, render


def test_every_flat_method_of_0_2_warns_and_names_its_replacement(desk: Desk) -> None:
    with pytest.warns(DeprecationWarning, match=r"Desk\.tenants_of\(\) is deprecated.*"
                      r"desk\.contact\(contact_id\)\.tenants\(\)"):  # fmt: skip
        found = desk.tenants_of("dana")
    assert [t.id for t in found] == [t.id for t in desk.contact("dana").tenants()]


def test_a_flat_method_and_its_handle_give_the_same_answer(desk: Desk) -> None:
    at = datetime(2026, 3, 7, 22)
    with pytest.warns(DeprecationWarning):
        old = desk.submit("dana", "d1", "staging", "E.1505.2", at=at, idempotency_key="k1")
    new = desk.contact("dana").submit(
        "d1", target="staging", version="E.1505.2", at=at, idempotency_key="k1"
    )
    assert new.replayed and new.request.id == old.request.id


def test_every_declared_legacy_name_is_a_desk_method() -> None:
    names = {uc.legacy.name for uc in CATALOG if uc.legacy is not None}
    assert len(names) >= 50
    for name in names:
        assert callable(getattr(Desk, name)), name


def test_the_contact_handle_is_bound_to_its_contact_r22(desk: Desk) -> None:
    with pytest.raises(WrongType):
        desk.contact(42)  # type: ignore[arg-type]
    handle = desk.contact("dana")
    assert isinstance(handle, ContactDesk) and handle.contact_id == "dana"
    with pytest.raises(BadCall, match="unknown argument 'contact_id'"):
        handle.cancel("r1", contact_id="erin")  # type: ignore[call-arg]


def test_arguments_beyond_the_first_two_are_keyword_only(desk: Desk) -> None:
    with pytest.raises(BadCall, match="positional"):
        desk.contact("dana").submit("d1", "staging", "E.1505.2")  # type: ignore[call-arg]


def test_the_static_types_are_written_from_the_current_catalog() -> None:
    # python -m siteupdates.usecases.typing_gen rewrites the file.
    assert TARGET.read_text(encoding="utf-8") == render(CATALOG)
