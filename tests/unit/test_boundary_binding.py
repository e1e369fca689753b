"""A declared use case binds and checks a call itself: the same checks for every call shape."""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Dict

import pytest

from siteupdates.errors import BadCall, SiteUpdatesError
from siteupdates.usecases.catalog import CATALOG, by_name
from siteupdates.usecases.declare import Role

AT = datetime(2026, 3, 7, 22)
SUBMIT = by_name(Role.CONTACT, "submit")


def _outcome(call: Callable[[], object]) -> object:
    try:
        return call()
    except BadCall:
        return "BadCall"
    except SiteUpdatesError as exc:
        return type(exc).__name__


def _shown(values: object) -> object:
    assert isinstance(values, dict)
    return (values["tenant_id"], values["target"], values["version"], values.get("db_refresh"),
            values["at"], values.get("zone"))  # fmt: skip


CASES: Dict[str, Callable[[], object]] = {
    "positional": lambda: _shown(
        SUBMIT.bind(("d1",), dict(target="staging", version=None, at=AT))
    ),
    "keywords": lambda: _shown(
        SUBMIT.bind((), dict(tenant_id="d1", target="staging", version=None, at=AT))
    ),
    "missing at": lambda: SUBMIT.bind(("d1",), dict(target="staging", version=None)),
    "one too many": lambda: SUBMIT.bind(("d1", "staging"), dict(version=None, at=AT)),
    "given twice": lambda: SUBMIT.bind(
        ("d1",), dict(tenant_id="d1", target="s", version=None, at=AT)
    ),
    "unknown": lambda: SUBMIT.bind(("d1",), dict(target="s", version=None, at=AT, colour=1)),
    "bad flag": lambda: SUBMIT.bind(
        ("d1",), dict(target="s", version=None, at=AT, db_refresh="yes")
    ),
    "bad time": lambda: SUBMIT.bind(("d1",), dict(target="s", version=None, at="tomorrow")),
    "bad id": lambda: SUBMIT.bind((42,), dict(target="s", version=None, at=AT)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_call_is_checked_the_same_whatever_its_shape(case: str) -> None:
    # Twice: the first call of a shape makes its plan, the second uses it.
    got = [_outcome(CASES[case]), _outcome(CASES[case])]
    expected = {
        "positional": ("d1", "staging", None, None, AT, None),
        "keywords": ("d1", "staging", None, None, AT, None),
        "missing at": "BadCall",
        "one too many": "BadCall",
        "given twice": "BadCall",
        "unknown": "BadCall",
        "bad flag": "WrongType",
        "bad time": "WrongType",
        "bad id": "WrongType",
    }
    assert got == [expected[case]] * 2


def test_every_declared_parameter_has_a_check_a_help_text_and_a_schema() -> None:
    for uc in CATALOG:
        assert uc.doc.strip(), uc.qualname
        for p in uc.params:
            assert callable(p.kind.check), (uc.qualname, p.name)
            assert p.help.strip(), (uc.qualname, p.name)
            assert isinstance(p.kind.schema, dict) and p.kind.schema, (uc.qualname, p.name)


def test_a_default_passes_its_own_check_once() -> None:
    from siteupdates.domain.timeutil import Ambiguity

    values = SUBMIT.bind(("d1",), dict(target="staging", version=None, at=AT))
    assert values["ambiguity"] is Ambiguity.EARLIER
